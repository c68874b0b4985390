"""Analysis of hybridsim runs for studies: the pieces an experiment script would otherwise copy.

Every function here is pure (or, for :mod:`~hybridsim.analysis.runs`, a thin layer over
:mod:`hybridsim.sweep`), documented and tested, and works on any *run* object that has
``summary``, ``jobs``, ``intervals`` and ``steps`` (a :class:`hybridsim.results.RunResult`, or a
saved run directory read back into records). The Q-Newton study (``studies/qnewton/study.py``)
is built from them; docs/reference/analysis.md shows each in use.

Modules (import the one you need; nothing is imported with the package):

:mod:`~hybridsim.analysis.stats`
    Statistics over seeds: :class:`~hybridsim.analysis.stats.Spread` (median and range).
:mod:`~hybridsim.analysis.records`
    Job and step extractors: route totals, compute time by phase, the per-step breakdown,
    accuracy and time to a target.
:mod:`~hybridsim.analysis.decisions`
    The reference decision: the paper's rule (``qnewton``'s own
    :func:`~hybridsim.scheduling.policies.qnewton_route`) at the true κ, and routing quality.
:mod:`~hybridsim.analysis.kappa`
    κ over training: window medians, drop factors, the regularization bound 1 + N/ε_norm.
:mod:`~hybridsim.analysis.blocks`
    The blocks of a workload as closed-form inputs (n, d, κ, rank) and break-even tables
    against every classical method.
:mod:`~hybridsim.analysis.faulttolerant`
    Fault-tolerant resources per block and qubit model, and the physical error rate and cycle
    time at which a block breaks even.
:mod:`~hybridsim.analysis.improvements`
    The smallest sets of model improvements under which some block breaks even.
:mod:`~hybridsim.analysis.runs`
    Named grids of runs through :mod:`hybridsim.sweep` (parallel, resumable, Dask-capable).
"""

from __future__ import annotations

__all__ = [
    "stats",
    "records",
    "decisions",
    "kappa",
    "blocks",
    "faulttolerant",
    "improvements",
    "runs",
]
