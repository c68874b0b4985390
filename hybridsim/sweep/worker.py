"""What a worker does with one (point, seed): run it and return a picklable outcome.

Workers (this process, a local process pool or Dask workers on other machines) receive a
:class:`RunTask` holding the resolved scenario as plain TOML data and the seed, never a file path,
so any machine with hybridsim installed can run it. Every failure of the run itself is caught and
returned as a ``failed`` outcome with a one-line message: one bad point must not stop a sweep.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hybridsim.errors import HybridSimError, ScenarioError

__all__ = ["RunTask", "RunOutcome", "run_point", "flatten_summary", "SKIPPED_SUMMARY_KEYS"]

#: Nested summary entries that are not metrics: provenance is stored in its own columns, and
#: wall-clock times would make tables differ between identical runs.
SKIPPED_SUMMARY_KEYS = frozenset({"scenario", "versions", "wall"})


@dataclass(frozen=True, slots=True)
class RunTask:
    """One run of a sweep.

    Parameters
    ----------
    point, seed : int
        Which run.
    scenario : dict
        The point's resolved scenario (TOML data).
    keep : bool
        Return the full :class:`~hybridsim.results.RunResult` too (for ``--keep-runs``).
    """

    point: int
    seed: int
    scenario: dict[str, Any] = field(repr=False)
    keep: bool = False


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The result of one :class:`RunTask`.

    Parameters
    ----------
    point, seed : int
    status : str
        ``"ok"`` or ``"failed"``.
    error : str
        One-line message when failed, else ``""``.
    metrics : dict
        Flat summary metrics (:func:`flatten_summary`), in the summary's order; empty if failed.
    wall_s : float
        Wall time of the run in the worker.
    versions : dict
        Package versions of the worker.
    worker : str
        ``host:pid`` of the process that ran it.
    result : RunResult or None
        The full result when the task asked to keep it.
    """

    point: int
    seed: int
    status: str
    error: str
    metrics: dict[str, Any] = field(repr=False)
    wall_s: float
    versions: dict[str, str] = field(repr=False)
    worker: str
    result: Any = field(default=None, repr=False)


def flatten_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The metrics of a run summary as one flat dict.

    Drops ``scenario``, ``versions`` and ``wall`` (:data:`SKIPPED_SUMMARY_KEYS`) and the seed
    (a column of its own); any other nested table is flattened as ``parent.child``.

    Examples
    --------
    >>> flatten_summary({"seed": 1, "makespan_s": 2.0, "wall": {"x": 1}, "extra": {"a": 1}})
    {'makespan_s': 2.0, 'extra.a': 1}
    """
    out: dict[str, Any] = {}
    for k, v in summary.items():
        if k in SKIPPED_SUMMARY_KEYS or k == "seed":
            continue
        if isinstance(v, Mapping):
            for sub, x in flatten_summary(v).items():
                out[f"{k}.{sub}"] = x
        else:
            out[k] = v
    return out


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ScenarioError) and exc.file == "<dict>":
        # The worker got the scenario as data: "<dict>" names no file, the key path is what helps.
        text = f"{exc.key}: {exc.problem}" if exc.key else exc.problem
        if exc.expected:
            text += f" (expected {exc.expected})"
    elif isinstance(exc, HybridSimError):
        text = str(exc)
    else:
        # Not an input error: keep the type, it is the first clue to a bug.
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split()) or type(exc).__name__


def run_point(task: RunTask) -> RunOutcome:
    """Run one point with one seed; never raises for a failing run.

    Parameters
    ----------
    task : RunTask

    Returns
    -------
    RunOutcome
        ``status="ok"`` with the flat metrics, or ``status="failed"`` with the error message.
    """
    from hybridsim.api import run
    from hybridsim.results import package_versions

    worker = f"{socket.gethostname()}:{os.getpid()}"
    t0 = time.perf_counter()
    try:
        result = run(task.scenario, seed=task.seed)
    except Exception as exc:  # noqa: BLE001 - a failing point is recorded, the sweep goes on
        return RunOutcome(
            task.point,
            task.seed,
            "failed",
            _one_line(exc),
            {},
            time.perf_counter() - t0,
            package_versions(),
            worker,
        )
    wall = time.perf_counter() - t0
    return RunOutcome(
        task.point,
        task.seed,
        "ok",
        "",
        flatten_summary(result.summary),
        wall,
        package_versions(),
        worker,
        result if task.keep else None,
    )
