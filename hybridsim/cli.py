"""Command-line interface: a thin argparse layer over the Python API.

``hybridsim run SCENARIO.toml [--out DIR] [--force] [--seed N] [--set key.path=value ...]``
``hybridsim validate SCENARIO.toml [--set ...]``
``hybridsim report DIR [DIR ...] [--out DIR] [--force]``
``hybridsim sweep SWEEP.toml --out DIR [--workers N | --cluster tcp://HOST:PORT | --dask-local N]``

Bad input exits with code 2 and one line ``error: FILE: key.path: problem (expected ...)``;
never a traceback. Anything else raised is a bug: exit 1, the traceback, and a request to report it.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from hybridsim import __version__
from hybridsim.errors import HybridSimError, ScenarioWarning

__all__ = ["main"]


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a scenario key (TOML literal; repeatable)",
    )


def _add_force(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--force",
        "--overwrite",
        dest="force",
        action="store_true",
        help=what,
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hybridsim",
        description="Discrete-event simulator of hybrid quantum-classical clusters.",
    )
    p.add_argument("--version", action="version", version=f"hybridsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario")
    run.add_argument("scenario", type=Path, help="scenario TOML file")
    # --out is a str, not a Path: Path("") is ".", and an empty --out must be refused.
    run.add_argument(
        "--out", metavar="DIR", help="output directory (default: runs/<scenario name>)"
    )
    _add_force(run, "replace an existing run directory (whole: no file of the old run survives)")
    run.add_argument("--seed", type=int, help="root seed (default: the scenario's seed)")
    _add_overrides(run)
    run.add_argument(
        "--quiet", action="store_true", help="no header, progress bar or summary table"
    )
    run.add_argument(
        "--no-report",
        action="store_true",
        help="do not write report.html, timeline.png and trace.json",
    )

    rep = sub.add_parser("report", help="draw the report of saved run directories")
    rep.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="run output directory")
    rep.add_argument(
        "--out",
        metavar="DIR",
        help="output directory (default: the run's own; for several runs, the first's parent)",
    )
    _add_force(rep, "overwrite report files that are not a report of the same runs")
    rep.add_argument("--quiet", action="store_true", help="do not print the files written")

    val = sub.add_parser("validate", help="check a scenario without running it")
    val.add_argument("scenario", type=Path)
    _add_overrides(val)

    from hybridsim.sweep.command import add_sweep_parser

    add_sweep_parser(sub)
    return p


def _cmd_validate(args: argparse.Namespace) -> int:
    from hybridsim.scenario import load_scenario, run_size

    sc = load_scenario(args.scenario, args.overrides)
    print(f"ok: {args.scenario}: {_describe(sc)}")
    print(f"size: {run_size(sc).describe()}")
    return 0


def _describe(sc) -> str:
    groups = ", ".join(f"{g.count}×{g.kind} {g.name}" for g in sc.cluster.groups)
    return f"{groups}; workload {sc.workload.kind}"


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


class _ProgressBar:
    """The ``hybridsim run`` progress bar on stderr: training steps for training workloads, jobs
    (or simulated seconds, with ``until``) for synthetic ones; one bar per run (main, then each
    baseline)."""

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

        if p.run != self._run:
            self.close()
            from tqdm import tqdm

            self._run = p.run
            self._bar = tqdm(
                total=self.total,
                desc=p.run,
                unit=self.unit,
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=0.5,
            )
        bar = self._bar
        bar.set_postfix_str(
            f"jobs {p.jobs_done:,}, t {to_seconds(p.now_ticks):.6g} s", refresh=False
        )
        bar.update(self._value(p) - bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _cmd_run(args: argparse.Namespace) -> int:
    from hybridsim.outdir import replacing, safe_name
    from hybridsim.scenario import load_scenario
    from hybridsim.sim.engine import run

    if args.seed is not None and args.seed < 0:
        raise HybridSimError(f"--seed: must be non-negative, got {args.seed}")
    sc = load_scenario(args.scenario, args.overrides)
    seed = sc.seed if args.seed is None else args.seed
    # Without --out, the name only picks a directory under runs/: never a path of its own.
    out = args.out if args.out is not None else f"runs/{safe_name(sc.name or args.scenario.stem)}"
    # Every check of --out happens here, before the simulation: a bad one costs no work.
    with replacing(out, force=args.force) as stage:
        if not args.quiet:
            print(f"{args.scenario} (seed {seed}) -> {out}: {header_size(sc)}", flush=True)
        bar = _ProgressBar(sc) if not args.quiet and sys.stderr.isatty() else None
        try:
            # Records that outgrow memory stream straight into the staging directory.
            result = run(sc, seed=args.seed, progress=bar, spill=stage)
        finally:
            if bar is not None:
                bar.close()
        result.write_into(stage)
        if not args.no_report:
            from hybridsim.report import from_result, write_report

            # Labelled by the final directory's name, as `hybridsim report DIR` labels it.
            label = Path(os.path.realpath(out)).name
            write_report(from_result(result, label=label, source=stage), stage)
    if not args.quiet:
        print(result.summary_table(), end="")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from hybridsim.report import report_command

    for path in report_command(args.dirs, args.out, force=args.force):
        if not args.quiet:
            print(path)
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # Scenario warnings are one line like errors; anything else keeps Python's format.
    if issubclass(category, ScenarioWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        print(
            warnings.formatwarning(message, category, filename, lineno, line),
            end="",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hybridsim`` console script."""
    args = _parser().parse_args(argv)
    with warnings.catch_warnings():  # restores the process's warning state on return
        warnings.simplefilter("default", ScenarioWarning)
        warnings.showwarning = _show_warning
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if args.command == "validate":
            return _cmd_validate(args)
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "sweep":
            from hybridsim.sweep.command import sweep_command

            return sweep_command(args)
    except HybridSimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - anything else is a bug: show it, ask for a report
        import traceback

        traceback.print_exc()
        print(
            f"hybridsim {__version__}: this is a bug in hybridsim, not a problem with your input;"
            " please report it with the traceback above, the command line and the scenario file",
            file=sys.stderr,
        )
        return 1
    raise AssertionError(args.command)  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
