"""What ``hybridsim run`` shows while it works: the header's size and the progress bar."""

from __future__ import annotations

import sys

__all__ = ["header_size", "ProgressBar"]


def header_size(sc) -> str:
    """The run's size for the header ``hybridsim run`` prints first: the workload kind and the
    estimate validation made (:func:`hybridsim.scenario.run_size`; nothing is built)."""
    from hybridsim.scenario import run_size

    text = f"workload {sc.workload.kind}: {run_size(sc).describe()}"
    if sc.until is not None:
        from hybridsim.timebase import format_duration

        text += f", until {format_duration(sc.until)} simulated"
    return text


def _shape_steps(wl) -> tuple[int, int]:
    from hybridsim.workload.shapes import paper_model

    model = paper_model(wl.model, batch_size=wl.batch_size)
    # As the shapes trainer counts them (hybridsim.sim.training.shapes_trainer).
    steps = wl.steps if wl.steps is not None else max(1, round(model.steps_per_epoch * wl.epochs))
    return steps, model.n_blocks


class ProgressBar:
    """The ``hybridsim run`` progress bar on stderr: training steps for training workloads, jobs
    (or simulated seconds, with ``until``) for synthetic ones; one bar per run (main, then each
    baseline). Called with the engine's ``Progress`` reports (``Simulation.run(progress=...)``)."""

    def __init__(self, sc):
        wl = sc.workload
        self._bar = None
        self._run = None
        tenants = getattr(wl, "tenants", 1)
        if wl.kind == "synthetic" and sc.until is None:
            self.unit, self.total = "job", wl.jobs
            self._value = lambda p: p.jobs_done
        elif wl.kind == "synthetic":
            from hybridsim.timebase import to_seconds

            self.unit, self.total = "s", to_seconds(sc.until)
            self._value = lambda p: min(to_seconds(p.now_ticks), self.total)
        elif wl.kind == "mlp":
            self.unit, self.total = "step", wl.steps * tenants
            # each tenant records its untrained model as step 0
            self._value = lambda p: max(0, p.steps_done - tenants)
        else:
            self.unit, self.total = "step", _shape_steps(wl)[0] * tenants
            self._value = lambda p: p.steps_done

    def __call__(self, p) -> None:
        from hybridsim.timebase import to_seconds

        bar = self._bar
        if bar is None or p.run != self._run:
            self.close()
            from tqdm import tqdm

            self._run = p.run
            bar = self._bar = tqdm(
                total=self.total,
                desc=p.run,
                unit=self.unit,
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.5,
            )
        bar.set_postfix_str(
            f"jobs {p.jobs_done:,}, t {to_seconds(p.now_ticks):.6g} s", refresh=False
        )
        bar.update(self._value(p) - bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
