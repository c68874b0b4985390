"""Shared pieces of the benchmark runner: result rows and robust timing.

A benchmark module is ``benchmarks/bench_<topic>.py`` with a function
``run(quick: bool) -> list[Row]``. Machines here are noisy, so every timed quantity is a median
over repeats and, wherever a baseline exists, it is measured in the same process right next to
the subject and reported as a ratio.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the benchmark table.

    Parameters
    ----------
    bench : str
        Benchmark name (``"mmc_engine"``...).
    metric : str
        What was measured (``"jobs/s"``, ``"peak RSS MB"``...).
    value : float
        The measured value (a median where repeated).
    baseline : float or None
        The same metric for the baseline, measured in the same run.
    target : str
        The target in words, e.g. ``"ratio >= 0.5"``.
    ok : bool or None
        Whether the target is met (None where there is no target).
    note : str
        Anything a reader needs to interpret the row.
    """

    bench: str
    metric: str
    value: float
    baseline: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, in seconds."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def interleaved_medians(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall times of several functions timed alternately (A B A B ...).

    Alternating spreads slow phases of a noisy machine over every subject instead of one.
    """
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in samples.items()}
