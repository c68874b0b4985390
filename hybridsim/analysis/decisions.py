"""The reference decision: what the paper's rule decides for a job at its *true* κ.

A run routed on an estimate κ̂ records, for every job, its route and both routes' predicted
times at κ̂ (``predicted_classical_s``, ``predicted_quantum_s``). The reference route is the rule
of ``qnewton`` itself, :func:`hybridsim.scheduling.policies.qnewton_route` (not a copy of it),
applied to the job's true κ with the QPU's time repriced at that κ:

* quantum: the run's cost model at the true κ (:meth:`hybridsim.costs.model.CostModel.quantum`)
  plus the job's QPU preparation (forming and pruning the block on its origin GPU when nothing
  formed it before the decision). The preparation is the job's own ``assembly_s`` when it went to
  a QPU, else the recorded quantum prediction minus the QPU time at κ̂, else that of another job
  of the same block in the run (the preparation depends on the block, not the step), else 0
  (blocks whose κ estimator formed them need none);
* classical: the run's own prediction, the method the run chose for the block (κ enters only
  the CG methods' iteration counts; for them this is the κ̂-priced time), or, when the run had
  none, the cost model's dense-matrix price at the true κ.

:func:`routing_quality` then counts agreements and the solve time lost to each disagreement
(the chosen route's time minus the reference route's, both at the true κ).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from hybridsim.errors import ModelDomainError
from hybridsim.records import JobRecord
from hybridsim.scheduling.policies import qnewton_route

__all__ = ["ReferenceDecision", "reference_decisions", "RoutingQuality", "routing_quality"]


@dataclass(frozen=True, slots=True)
class ReferenceDecision:
    """One job's route against the rule's route at its true κ.

    Attributes
    ----------
    job_id, step : int
    block : str
    route : str
        What the run decided.
    reference : str
        What :func:`~hybridsim.scheduling.policies.qnewton_route` decides at the true κ.
    classical_s, quantum_s : float
        Both routes' times at the true κ (``inf`` where a route has no finite time).
    """

    job_id: int
    step: int
    block: str
    route: str
    reference: str
    classical_s: float
    quantum_s: float

    @property
    def agrees(self) -> bool:
        return self.route == self.reference

    @property
    def lost_s(self) -> float:
        """Solve time lost by the run's route against the reference route (0 when they agree)."""
        if self.agrees:
            return 0.0
        chosen = self.quantum_s if self.route == "quantum" else self.classical_s
        best = self.quantum_s if self.reference == "quantum" else self.classical_s
        return chosen - best


def _finite(x: Any) -> TypeGuard[float]:
    return x is not None and math.isfinite(x)


def reference_decisions(jobs: Sequence[JobRecord], scenario: Any) -> list[ReferenceDecision]:
    """The reference decision of every job with a finite true κ (see the module docstring).

    Parameters
    ----------
    jobs : sequence of JobRecord
        A run's jobs (all of them: the QPU preparation of a block is looked up across steps).
    scenario : Scenario
        The run's resolved scenario (its ``[costs]``, first QPU and GPU groups and
        ``scheduler.kappa_threshold``).

    Returns
    -------
    list of ReferenceDecision
        In job order; jobs without a finite true κ are left out.

    Raises
    ------
    ValueError
        When the scenario has no QPU group (there is no decision to make).
    """
    from hybridsim.costs.model import CostModel

    qpus = [g for g in scenario.cluster.groups if g.kind == "qpu"]
    gpus = [g for g in scenario.cluster.groups if g.kind == "gpu"]
    if not qpus:
        raise ValueError("reference decisions need a QPU group in the scenario")
    costs = CostModel(scenario.costs)
    threshold = scenario.scheduler.kappa_threshold

    def quantum(j: JobRecord, kappa: float | None) -> float:
        if not _finite(kappa):
            return math.inf
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                t = costs.quantum(j.n, j.d, kappa, qpus[0]).total_s
        except ModelDomainError:
            return math.inf
        return t if math.isfinite(t) else math.inf

    def prep_of(j: JobRecord) -> float | None:
        if j.route == "quantum" and j.assembly_s is not None:
            return float(j.assembly_s)
        if _finite(j.predicted_quantum_s):
            q = quantum(j, j.kappa_est)
            if math.isfinite(q):
                return max(0.0, float(j.predicted_quantum_s) - q)
        return None

    block_prep: dict[str, float] = {}
    for j in jobs:
        p = prep_of(j)
        if p is not None:
            block_prep.setdefault(j.block, p)

    out = []
    for j in jobs:
        if not _finite(j.kappa_true):
            continue
        prep = prep_of(j)
        if prep is None:
            prep = block_prep.get(j.block, 0.0)
        pq = quantum(j, j.kappa_true) + prep
        pc = j.predicted_classical_s
        if not _finite(pc):
            pc = math.inf
            if gpus:
                with contextlib.suppress(ModelDomainError):  # no GPU price: stays infinite
                    pc = costs.classical(j.n, j.d, j.kappa_true, gpus[0]).total_s
        route, _ = qnewton_route(j.kappa_true, pc, pq, threshold)
        out.append(ReferenceDecision(j.job_id, j.step, j.block, j.route, route, pc, pq))
    return out


@dataclass(frozen=True, slots=True)
class RoutingQuality:
    """How a run's decisions compare with the reference decisions.

    Attributes
    ----------
    judged : int
        Jobs with a reference decision.
    agreement : float or None
        Share that agree.
    missed_quantum : int
        The rule at the true κ would have used the QPU; the run did not.
    wrong_quantum : int
        The run used the QPU; the rule at the true κ would not have.
    lost_s : float
        Solve time lost to the disagreements, summed (seconds).
    """

    judged: int
    agreement: float | None
    missed_quantum: int
    wrong_quantum: int
    lost_s: float


def routing_quality(decisions: Iterable[ReferenceDecision]) -> RoutingQuality:
    """:class:`RoutingQuality` of a list of :class:`ReferenceDecision`.

    Examples
    --------
    >>> d = [ReferenceDecision(0, 1, "W", "classical", "quantum", 2e-5, 1e-9),
    ...      ReferenceDecision(1, 1, "b", "quantum", "quantum", 2e-5, 1e-9)]
    >>> q = routing_quality(d)
    >>> q.agreement, q.missed_quantum, q.wrong_quantum, round(q.lost_s, 12)
    (0.5, 1, 0, 1.9999e-05)
    """
    ds = list(decisions)
    missed = sum(1 for d in ds if d.route == "classical" and d.reference == "quantum")
    wrong = sum(1 for d in ds if d.route == "quantum" and d.reference == "classical")
    lost = sum(d.lost_s for d in ds if math.isfinite(d.lost_s))
    agree = sum(1 for d in ds if d.agrees)
    return RoutingQuality(len(ds), agree / len(ds) if ds else None, missed, wrong, float(lost))
