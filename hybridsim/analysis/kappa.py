"""κ over training: per-block histories, drop factors, and the regularization bound.

The Q-Newton paper reports that κ drops about 1000× during training. The paper's regularization
H + ε_norm·(max|H| + damping)·I is relative to the block's own scale, so for a positive
semidefinite H the smallest eigenvalue is at least ε_norm·max|H| and the largest at most
N·max|H|: κ ≤ 1 + N/ε_norm whatever the gradients do (:func:`kappa_bound`, the same bound the
shape workloads clip their trajectories at: :func:`hybridsim.workload.shapes.kappa_bound`).

Examples
--------
>>> drop_factor([100.0, 90.0, 80.0, 20.0, 10.0, 12.0], window=3)
7.5
>>> largest_drop([5.0, 100.0, 50.0, 10.0, 40.0])
10.0
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any, TypeGuard

from hybridsim.records import JobRecord

__all__ = [
    "kappa_bound",
    "window_median",
    "drop_factor",
    "largest_drop",
    "block_histories",
    "bound_ratio",
    "estimate_errors",
    "trajectory",
]


def kappa_bound(n: Any, eps_norm: float) -> Any:
    """1 + N/ε_norm: the largest κ a block regularized relative to its own scale can have.

    Examples
    --------
    >>> kappa_bound(1024, 0.1)
    10241.0
    """
    from hybridsim.workload.shapes import kappa_bound as bound

    return bound(n, eps_norm)


def _ok(x: Any) -> TypeGuard[float]:
    return x is not None and isinstance(x, int | float) and math.isfinite(x) and x > 0


def window_median(values: Sequence[Any], window: int, first: bool) -> float | None:
    """Median of the first (or last) ``window`` finite positive values (None if there are none)."""
    vals = [x for x in values if _ok(x)]
    part = vals[:window] if first else vals[-window:]
    return float(statistics.median(part)) if part else None


def drop_factor(values: Sequence[Any], window: int) -> float | None:
    """Median of the first ``window`` values over the median of the last ``window``.

    Above 1: κ dropped; below 1: it rose. None without values.
    """
    a, b = window_median(values, window, True), window_median(values, window, False)
    return a / b if a and b else None


def largest_drop(values: Iterable[Any]) -> float | None:
    """max over i < j of values[i] / values[j]: the most generous reading of "κ dropped by".

    Non-finite and non-positive values are skipped; None with fewer than two values.
    """
    best = peak = None
    for x in values:
        if not _ok(x):
            continue
        if peak is not None:
            r = peak / x
            best = r if best is None else max(best, r)
        peak = x if peak is None else max(peak, x)
    return best


def block_histories(jobs: Iterable[JobRecord]) -> dict[str, dict[str, list[Any]]]:
    """Per block (by decreasing N): its size and the step, true κ and estimate of every solve."""
    from hybridsim.analysis.records import by_block

    return {
        name: {
            "n": [js[0].n],
            "step": [j.step for j in js],
            "kappa_true": [j.kappa_true for j in js],
            "kappa_est": [j.kappa_est for j in js],
        }
        for name, js in by_block(jobs).items()
    }


def bound_ratio(jobs: Iterable[JobRecord], eps_norm: float) -> float | None:
    """The largest κ_true / (1 + N/ε_norm) over ``jobs`` (≤ 1 when the bound holds).

    Examples
    --------
    >>> from hybridsim.records import JobRecord
    >>> j = JobRecord(0, 0, 1, "W", 10, 10, 0, "classical", "g", "g-0", "completed",
    ...               0, 0, 0, 0, 0, kappa_true=25.5)
    >>> bound_ratio([j], 0.2)
    0.5
    """
    ratios = [j.kappa_true / kappa_bound(j.n, eps_norm) for j in jobs if _ok(j.kappa_true)]
    return max(ratios) if ratios else None


def estimate_errors(jobs: Iterable[JobRecord]) -> tuple[list[float], int]:
    """log₁₀(κ̂/κ) of every job with both an estimate and a true κ, and how many κ̂ were ∞.

    Examples
    --------
    >>> from hybridsim.records import JobRecord
    >>> js = [JobRecord(i, 0, 1, "W", 10, 10, 0, "classical", "g", "g-0", "completed",
    ...                 0, 0, 0, 0, 0, kappa_true=10.0, kappa_est=est)
    ...       for i, est in enumerate([100.0, math.inf, None])]
    >>> estimate_errors(js)
    ([1.0], 1)
    """
    errors, infinite = [], 0
    for j in jobs:
        if j.kappa_est is None or not _ok(j.kappa_true):
            continue
        if math.isfinite(j.kappa_est):
            errors.append(math.log10(j.kappa_est / j.kappa_true))
        else:
            infinite += 1
    return errors, infinite


def trajectory(run: Any, eps_norm: float, window: int) -> dict[str, Any]:
    """How κ moved over one training run, up to the step before the loss diverged (if it did).

    Parameters
    ----------
    run : run
        Anything with ``steps`` and ``jobs`` whose jobs carry ``kappa_true``.
    eps_norm : float
        The run's ε_norm, for :func:`bound_ratio`.
    window : int
        Steps averaged at each end for :func:`drop_factor`.

    Returns
    -------
    dict
        ``diverged_at`` (first step whose loss exceeds the initial loss, or None), ``analysed``
        (steps analysed), ``drop`` and ``largest_drop`` of the per-step median κ, its ``low`` and
        ``high``, and ``bound_ratio`` over the analysed jobs.
    """
    from hybridsim.analysis.records import accuracy_stats, main_steps

    diverged = accuracy_stats(run.steps, 1.0).diverged_at
    last = diverged - 1 if diverged else math.inf
    med = [x for s in main_steps(run.steps) if 0 < s.step <= last if _ok(x := s.kappa_true_median)]
    return {
        "diverged_at": diverged,
        "analysed": len(med),
        "drop": drop_factor(med, window),
        "largest_drop": largest_drop(med),
        "low": min(med, default=None),
        "high": max(med, default=None),
        "bound_ratio": bound_ratio((j for j in run.jobs if j.step <= last), eps_norm),
    }
