"""The public API layer: run a scenario (and the baselines it asks for) and get a
:class:`~hybridsim.results.RunResult`.

``hybridsim.run`` is :func:`run`. The engine (:mod:`hybridsim.sim.engine`) runs one simulation;
this layer loads the scenario, runs the main simulation and each baseline on the same seed, and
summarizes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridsim.outputs.stream import Spill, recorder_for
from hybridsim.results import RunResult
from hybridsim.scenario import MLPWorkload, Scenario, load_scenario

# Imported here, not in run: reaching hybridsim.run loads the simulator (as it did when run lived
# in sim.engine; benchmarks/bench_imports.py times that, tests/test_lazy.py checks it).
from hybridsim.sim.engine import Simulation

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.sim.engine import Progress

__all__ = ["run", "baseline_scenarios"]


def run(
    scenario: str | Path | dict[str, Any] | Scenario,
    *,
    seed: int | None = None,
    overrides: Iterable[str] = (),
    progress: Callable[[Progress], None] | None = None,
    spill: str | Path | Spill | None = None,
) -> RunResult:
    """Run a scenario and return its :class:`~hybridsim.results.RunResult`.

    Parameters
    ----------
    scenario : path, dict or Scenario
        What to run.
    seed : int, optional
        Root seed; defaults to the scenario's ``seed``.
    overrides : iterable of str
        ``key.path=value`` overrides, as ``--set`` takes them.
    progress : callable, optional
        Called with a :class:`~hybridsim.sim.engine.Progress` now and then during the main run
        and each baseline run (see :meth:`Simulation.run
        <hybridsim.sim.engine.Simulation.run>`); the results do not depend on it.
    spill : path or hybridsim.outputs.Spill, optional
        Where records go once a run outgrows memory (:mod:`hybridsim.outputs.stream`): a
        directory, where the output files are then written as the run goes (``hybridsim run``
        passes its staging directory). Default: a private temporary directory.

    Examples
    --------
    >>> import hybridsim
    >>> r = hybridsim.run({
    ...     "cluster": {"gpu": [{"name": "g"}]},
    ...     "workload": {"kind": "synthetic", "jobs": 2, "pool": "gpu",
    ...                  "arrival": {"dist": "deterministic", "interval_s": 1},
    ...                  "service": {"dist": "deterministic", "value_s": 0.5}}})
    >>> r.summary["jobs_completed"]
    2
    """
    sc = load_scenario(scenario, overrides)
    if seed is not None:
        sc = sc.with_seed(seed)
    sim = Simulation(sc, sc.seed, recorder=recorder_for(sc, spill))
    records = sim.run(progress)
    sim.close()  # the records are ours now: they go with the RunResult (see Simulation.close)
    baselines = {}
    for name, variant in baseline_scenarios(sc).items():
        bsim = Simulation(variant, sc.seed, run_name=name, recorder=recorder_for(variant))
        baselines[name] = bsim.run(progress)
        bsim.close()
        for k, v in bsim.wall.items():
            sim.wall[f"{name}_{k}"] = v
    return RunResult.from_records(sc, sc.seed, records, sim, baselines=baselines)


_BASELINE_OVERRIDES = {
    "classical_newton": (("workload.optimizer", "newton"), ("scheduler.policy", "classical_only")),
    "sgd": (("workload.optimizer", "sgd"),),
    "adam": (("workload.optimizer", "adam"),),
    "kfac": (("workload.optimizer", "kfac"),),
}


def baseline_scenarios(sc: Scenario) -> dict[str, Scenario]:
    """The comparison runs a training scenario asks for, each on the same data and seed.

    A baseline identical to the main run (e.g. ``classical_newton`` when the main run already
    routes everything classically) is skipped. Baseline runs record no true κ (it costs only
    wall time and is not compared).
    """
    wl = sc.workload
    if not isinstance(wl, MLPWorkload):
        return {}
    out = {}
    for name in wl.baselines:
        if name == "classical_newton" and wl.optimizer == "newton":
            if sc.scheduler.policy == "classical_only":
                continue
        elif name in ("sgd", "adam", "kfac") and wl.optimizer == name:
            continue
        extra: tuple[tuple[str, Any], ...] = (
            ("workload.baselines", []),
            ("workload.kappa_true", False),
        )
        out[name] = load_scenario(sc, [*_BASELINE_OVERRIDES[name], *extra])
    return out
