"""Extractors over a run's records: route totals, compute time by phase, step breakdowns, accuracy.

A *run* here is anything with the record lists of a run: ``jobs`` (:class:`~hybridsim.records.
JobRecord`), ``intervals`` (:class:`~hybridsim.records.IntervalRecord`), ``steps``
(:class:`~hybridsim.records.StepRecord`) and a ``summary`` mapping: a
:class:`hybridsim.results.RunResult` in memory, or a saved run directory read back into the same
rows. Durations come back as float seconds (records keep exact ticks; :func:`hybridsim.metrics.
seconds` converts).

Examples
--------
>>> import hybridsim
>>> from hybridsim.analysis import records
>>> r = hybridsim.run("scenarios/quickstart.toml",
...                   overrides=["workload.steps=2", "workload.baselines=[]",
...                              "scheduler.policy=classical_only"])
>>> sorted(records.route_totals(r.jobs))
['classical']
>>> b = records.step_breakdown(r)
>>> abs(sum(b.phases.values()) - b.step_s) < 1e-12
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hybridsim import metrics as M
from hybridsim.records import IntervalRecord, JobRecord, StepRecord

__all__ = [
    "PHASES",
    "RouteTotals",
    "route_totals",
    "compute_by_label",
    "StepBreakdown",
    "step_breakdown",
    "main_steps",
    "step_series",
    "AccuracyStats",
    "accuracy_stats",
    "accuracy_summary",
    "job_rows",
    "by_block",
    "quantum_share",
    "quantum_blocks",
]

#: Phases of a training step, in the order the trainer runs them (compute interval labels, then
#: the solve phase: the rest of the step, which includes transfers and waiting for solves).
PHASES = ("forward_backward", "hessian", "estimate", "assemble", "kfac", "solves", "update")


@dataclass(frozen=True, slots=True)
class RouteTotals:
    """Sums over a run's solve jobs on one route, in seconds.

    Attributes
    ----------
    count : int
    service_s, transfer_s, wait_s : float
        From the jobs' instants (:mod:`hybridsim.metrics`).
    compute_s, state_prep_s, readout_s, overhead_s, assembly_s : float
        The charged breakdown of the services (model seconds).
    """

    count: int = 0
    service_s: float = 0.0
    transfer_s: float = 0.0
    wait_s: float = 0.0
    compute_s: float = 0.0
    state_prep_s: float = 0.0
    readout_s: float = 0.0
    overhead_s: float = 0.0
    assembly_s: float = 0.0


def route_totals(jobs: Iterable[JobRecord]) -> dict[str, RouteTotals]:
    """:class:`RouteTotals` per route (``"classical"``, ``"quantum"``), routes sorted."""
    acc: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
    for j in jobs:
        a = acc[j.route]
        a["count"] += 1
        a["service_s"] += M.seconds(M.service_ticks(j))
        a["transfer_s"] += M.seconds(M.transfer_ticks(j))
        a["wait_s"] += M.seconds(M.wait_ticks(j))
        for f in ("compute_s", "state_prep_s", "readout_s", "overhead_s", "assembly_s"):
            a[f] += getattr(j, f) or 0.0
    return {
        route: RouteTotals(
            count=int(a["count"]),
            **{k: float(a[k]) for k in RouteTotals.__slots__ if k != "count"},
        )
        for route, a in sorted(acc.items())
    }


def compute_by_label(intervals: Iterable[IntervalRecord]) -> dict[str, float]:
    """Seconds of ``compute`` intervals per label (``forward_backward``, ``hessian``...)."""
    out: defaultdict[str, float] = defaultdict(float)
    for iv in intervals:
        if iv.kind == "compute":
            out[iv.label] += M.seconds(iv.end_at - iv.start_at)
    return {k: float(v) for k, v in sorted(out.items())}


@dataclass(frozen=True, slots=True)
class StepBreakdown:
    """Mean time per training step in each phase of a single-tenant run.

    Attributes
    ----------
    steps : int
        Steps averaged over.
    step_s : float
        Mean step time (training time / steps).
    phases : dict
        Seconds per step for each of :data:`PHASES` the run has; ``solves`` is the step minus
        the recorded compute intervals, so the phases sum to ``step_s``.
    """

    steps: int
    step_s: float
    phases: Mapping[str, float] = field(default_factory=dict)

    def share(self, phase: str) -> float:
        """Fraction of the step spent in ``phase`` (0 for a phase the run does not have)."""
        return self.phases.get(phase, 0.0) / self.step_s if self.step_s else 0.0


def main_steps(steps: Iterable[StepRecord], run: str = "main") -> list[StepRecord]:
    """The step rows of one run (``"main"`` or a baseline's name), tenant 0, in step order."""
    return sorted((s for s in steps if s.run == run and s.tenant == 0), key=lambda s: s.step)


def _training_steps(rows: Sequence[StepRecord]) -> int:
    # MLP runs record step 0 (the model before training, no solves); shape runs start at 1.
    return sum(1 for s in rows if s.step > 0)


def step_breakdown(run: Any) -> StepBreakdown:
    """:class:`StepBreakdown` of a run from its compute intervals and training time.

    The trainer's phases are sequential within a step (forward/backward, Hessian factors,
    estimation, then the solves, then the update), so what the compute intervals do not cover
    is the solve phase: transfers, queueing and waiting for the slowest block. The QPU route's
    block assembly (``assemble``) runs in that phase, on the trainer's GPU.

    Parameters
    ----------
    run : RunResult or a run read back from disk
        A single-tenant training run.
    """
    rows = main_steps(run.steps)
    n = _training_steps(rows)
    total = float(run.summary["training_time_s"])
    comp = compute_by_label(run.intervals)
    if n == 0:
        return StepBreakdown(0, 0.0, {})
    phases = {k: comp[k] / n for k in PHASES if k in comp}
    phases["solves"] = (total - sum(comp.values())) / n
    ordered = {k: phases[k] for k in PHASES if k in phases}
    return StepBreakdown(n, total / n, ordered)


def step_series(steps: Iterable[StepRecord], run: str = "main") -> dict[str, list[Any]]:
    """Columns of one run's steps (tenant 0): step, end time (s), loss, test accuracy, blocks,
    routed_quantum, routed share and the κ medians."""
    rows = main_steps(steps, run)
    return {
        "step": [s.step for s in rows],
        "at_s": [M.seconds(s.at) for s in rows],
        "loss": [s.loss for s in rows],
        "test_accuracy": [s.test_accuracy for s in rows],
        "blocks": [s.blocks for s in rows],
        "routed_quantum": [s.routed_quantum for s in rows],
        "routed_share": [s.routed_quantum / s.blocks if s.blocks else None for s in rows],
        "kappa_true_median": [s.kappa_true_median for s in rows],
        "kappa_est_median": [s.kappa_est_median for s in rows],
        "kappa_clipped": [s.kappa_clipped for s in rows],
    }


@dataclass(frozen=True, slots=True)
class AccuracyStats:
    """How one training run went against a target test accuracy.

    Attributes
    ----------
    final, best : float or None
        Test accuracy after the last step, and the best reached.
    steps_to_target : int or None
        First step at or above the target (None: never).
    time_to_target_s : float or None
        Simulated time at the end of that step.
    diverged_at : int or None
        First step whose training loss exceeds the loss before training (None: never).
    """

    final: float | None
    best: float | None
    steps_to_target: int | None
    time_to_target_s: float | None
    diverged_at: int | None


def accuracy_stats(steps: Iterable[StepRecord], target: float, run: str = "main") -> AccuracyStats:
    """:class:`AccuracyStats` of one run's steps (tenant 0).

    Examples
    --------
    >>> from hybridsim.records import StepRecord
    >>> rows = [StepRecord("main", 0, k, 10**21 * k, loss, None, acc, 1, 0, 0,
    ...                    None, None, None, None, None, None)
    ...         for k, loss, acc in [(0, 2.0, 0.1), (1, 1.0, 0.95), (2, 3.0, 0.5)]]
    >>> a = accuracy_stats(rows, 0.9)
    >>> a.final, a.best, a.steps_to_target, a.time_to_target_s, a.diverged_at
    (0.5, 0.95, 1, 1.0, 2)
    """
    rows = main_steps(steps, run)
    trained = [s for s in rows if s.step > 0]
    acc = [s.test_accuracy for s in trained if s.test_accuracy is not None]
    hit = next(
        (s for s in trained if s.test_accuracy is not None and s.test_accuracy >= target), None
    )
    loss0 = rows[0].loss if rows and rows[0].step == 0 else None
    diverged = None
    if loss0 is not None:
        diverged = next((s.step for s in trained if s.loss is not None and s.loss > loss0), None)
    return AccuracyStats(
        final=trained[-1].test_accuracy if trained else None,
        best=max(acc) if acc else None,
        steps_to_target=hit.step if hit else None,
        time_to_target_s=M.seconds(hit.at) if hit else None,
        diverged_at=diverged,
    )


def accuracy_summary(
    runs: Sequence[Any], target: float, baseline: Sequence[Any] | None = None
) -> dict[str, Any]:
    """Accuracy and time to ``target`` over the seeds of one configuration, as median and range.

    Parameters
    ----------
    runs : sequence of runs
        One run per seed (anything with ``steps`` and ``summary``).
    target : float
        Test accuracy to reach.
    baseline : sequence of runs, optional
        The same seeds of a reference configuration: adds ``ttt_ratio``, the time to target
        over the baseline's, seed for seed (:func:`hybridsim.analysis.stats.paired`).

    Returns
    -------
    dict
        ``time_to_target_s``, ``steps_to_target``, ``final``, ``best``, ``training_time_s``
        (each :meth:`~hybridsim.analysis.stats.Spread.as_dict`), ``reached`` and ``diverged``
        (how many seeds), ``seeds``, ``curve`` (the first run's :func:`step_series`) and, with a
        baseline, ``ttt_ratio``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from hybridsim.records import StepRecord
    >>> def fake(acc):
    ...     rows = [StepRecord("main", 0, k, 10**21 * k, 1.0, None, a, 1, 0, 0,
    ...                        None, None, None, None, None, None) for k, a in enumerate(acc)]
    ...     return SimpleNamespace(steps=rows, summary={"training_time_s": len(acc) - 1.0})
    >>> s = accuracy_summary([fake([0.1, 0.95]), fake([0.1, 0.5, 0.92])], 0.9)
    >>> s["time_to_target_s"]["median"], s["reached"], s["seeds"]
    (1.5, 2, 2)
    """
    from hybridsim.analysis.stats import paired, spread

    st = [accuracy_stats(r.steps, target) for r in runs]
    row: dict[str, Any] = {
        "time_to_target_s": spread(a.time_to_target_s for a in st).as_dict(),
        "steps_to_target": spread(a.steps_to_target for a in st).as_dict(),
        "final": spread(a.final for a in st).as_dict(),
        "best": spread(a.best for a in st).as_dict(),
        "training_time_s": spread(float(r.summary["training_time_s"]) for r in runs).as_dict(),
        "reached": sum(a.steps_to_target is not None for a in st),
        "seeds": len(runs),
        "diverged": sum(a.diverged_at is not None for a in st),
        "curve": step_series(runs[0].steps) if runs else {},
    }
    if baseline is not None:
        base = [accuracy_stats(r.steps, target).time_to_target_s for r in baseline]
        row["ttt_ratio"] = paired([a.time_to_target_s for a in st], base).as_dict()
    return row


def job_rows(jobs: Iterable[JobRecord]) -> list[dict[str, Any]]:
    """Every job as a dict of its fields plus ``service_s``, ``transfer_s`` and ``wait_s``."""
    out = []
    for j in jobs:
        row = j._asdict()
        row["service_s"] = M.seconds(M.service_ticks(j))
        row["transfer_s"] = M.seconds(M.transfer_ticks(j))
        row["wait_s"] = M.seconds(M.wait_ticks(j))
        out.append(row)
    return out


def by_block(jobs: Iterable[JobRecord]) -> dict[str, list[JobRecord]]:
    """Jobs grouped by block name, each list in step order, blocks by decreasing size N."""
    groups: dict[str, list[JobRecord]] = defaultdict(list)
    for j in jobs:
        groups[j.block].append(j)
    for js in groups.values():
        js.sort(key=lambda j: (j.step, j.job_id))
    return dict(sorted(groups.items(), key=lambda kv: (-kv[1][0].n, kv[0])))


def quantum_share(summary: Mapping[str, Any]) -> float:
    """The share of a run's routed solves that went to a QPU (0 when nothing was routed)."""
    q, c = summary["routed_quantum"], summary["routed_classical"]
    return q / max(1, q + c)


def quantum_blocks(jobs: Iterable[JobRecord]) -> list[str]:
    """Names of the blocks that some job solved on a QPU, sorted."""
    return sorted({j.block for j in jobs if j.route == "quantum"})
