"""Built-in routing policies (registered by name in :mod:`hybridsim.scheduling.registry`).

Every policy predicts service times with the run's :class:`~hybridsim.costs.model.CostModel` and
records both routes' predictions in its :class:`~hybridsim.scheduling.base.Decision`, so each
job's row shows predicted against actual time whichever policy ran.

``classical_only`` / ``quantum_only``
    Every job to the least-loaded GPU / QPU group.
``qnewton``
    The Q-Newton paper's rule (arXiv:2405.00252): blocks whose estimated κ exceeds the threshold
    (default 10⁴) stay classical; the others go to the QPU when its predicted solve time beats the
    classical one. Not queue-aware.
``kappa_threshold``
    κ̂ at or below the threshold goes to the QPU, above it to a GPU, regardless of cost.
``earliest_finish``
    Queue-aware: for every available device, predicted backlog + transfer in + service +
    transfer out; the job is pinned to the device that would return its result first.
``oracle``
    ``earliest_finish`` with the true κ instead of the estimate, and no estimation charged: an
    upper bound on what better (and free) κ estimation could give.
``qnewton_free_kappa``
    ``qnewton`` deciding on the true κ, with no estimation charged: the paper's rule as the paper
    counts it (κ known, for free).

:func:`qnewton_route` is the paper's rule itself, a pure function of κ and the two routes'
predicted times; ``qnewton`` and ``qnewton_free_kappa`` decide with it, and
:mod:`hybridsim.analysis.decisions` applies it to job records (the reference decision at the
true κ).

QPU capacity. A QPU group whose cost model *refuses* a job (its qubits per job cannot hold the
job's footprint: ``insufficient_qubits``; or, fault-tolerant, no code distance meets the error
budget) has no finite prediction for it. ``qnewton``, ``kappa_threshold`` and
``earliest_finish`` (and ``oracle``) choose among the QPU groups that can hold the job and keep
it classical when none can; ``quantum_only`` is a forced route: it prefers a group that holds
the job, and with none sends it to the least-loaded QPU group, whose executor fails the attempt
with the refusal as its reason (retried, rerouted or sent to a GPU per ``[faults]``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import numpy as np

from hybridsim.errors import ModelDomainError
from hybridsim.scheduling.base import (
    BaseScheduler,
    ClusterView,
    Decision,
    GroupHead,
    GroupView,
    SolveJob,
)

__all__ = [
    "ClassicalOnly",
    "QuantumOnly",
    "QNewton",
    "KappaThreshold",
    "EarliestFinish",
    "Oracle",
    "QNewtonFreeKappa",
    "least_loaded",
    "qnewton_route",
]


def least_loaded(groups: Sequence[GroupView]) -> GroupView:
    """The group with the least work per available slot (waiting + running); groups with no
    available device (down, calibrating, or excluded after a failure) come last; ties go to
    file order."""

    def load(g: GroupView) -> tuple[bool, float]:
        slots = sum(d.capacity for d in g.devices if d.available)
        queued = g.queued + sum(d.queued for d in g.devices)
        work = queued + sum(d.running for d in g.devices)
        return (slots == 0, work / slots if slots else work)

    if isinstance(groups, (list, tuple)) and len(groups) == 1:
        return groups[0]  # what min() returns for one group, without computing its load
    return min(groups, key=load)


#: A group a policy routes to: a full snapshot, or only its head when it is the one group of
#: its kind (the helpers below read only ``name`` and ``config`` of the group they price).
_Group = GroupView | GroupHead


def _sole_group(view: ClusterView, kind: str) -> GroupHead | None:
    """The only group of ``kind`` when the view offers that shortcut (the engine's does), else
    None: with one group the policies route to it without reading its state, so they need not
    have its snapshot built."""
    sole = getattr(view, "sole_group", None)
    return None if sole is None else sole(kind)


def _least_loaded_of(view: ClusterView, kind: str) -> _Group:
    """``least_loaded(view.groups(kind))``, through the view's one-group shortcut when it has
    one (the same group: least_loaded of one group is that group)."""
    sole = _sole_group(view, kind)
    return sole if sole is not None else least_loaded(view.groups(kind))


class _Policy(BaseScheduler):
    """Shared plumbing: the cost model, the configuration and prediction helpers.

    ``needs`` (device kinds the scenario must have) and ``uses_estimate`` (whether decisions
    read κ̂; if not, workloads skip estimating it) are set by each policy.

    Route predictions include everything the route needs: a GPU's service covers its method's
    assembly of the block when it needs the dense matrix; the quantum route adds
    ``job.quantum_prep_s`` (forming and pruning the block on the origin GPU) when nothing formed
    it before the decision. ``predicted_s`` stays the chosen device's service (what its queue
    waits for).
    """

    #: Price the classical route with the true κ of the block (the oracle policy).
    _true_kappa = False

    def _classical(self, job: SolveJob, group: _Group, kappa: float | None) -> float:
        """Predicted GPU time; infinite where the model has no finite answer (CG with an
        infinite or missing κ̂)."""
        try:
            if job.structure is not None:
                return self.costs.classical_for(
                    job, group.config, true_kappa=self._true_kappa
                ).total_s
            return self.costs.classical(job.n, job.d, kappa, group.config).total_s
        except ModelDomainError:
            return math.inf

    def _quantum(self, job: SolveJob, group: _Group, kappa: float | None) -> float:
        """Predicted QPU time; infinite where the model has no finite answer (κ̂ = inf) or the
        group refuses the job (too few qubits, no code distance for its error budget)."""
        return self._quantum_holds(job, group, kappa)[0]

    def _holds(self, job: SolveJob, group: _Group, kappa: float | None) -> bool:
        """Whether QPU group ``group`` can hold ``job`` (its cost model does not refuse it).

        Decided on the prediction's κ; without a usable κ̂ nothing is known against the group
        (its footprint needs the job's counts), so it is taken to hold the job.
        """
        return self._quantum_holds(job, group, kappa)[1]

    def _quantum_holds(
        self, job: SolveJob, group: _Group, kappa: float | None
    ) -> tuple[float, bool]:
        """(:meth:`_quantum`, :meth:`_holds`) from one estimate: a decision needs both, and
        looking the estimate up twice was a tenth of a decision."""
        if kappa is None or not math.isfinite(kappa):
            return math.inf, True
        # the primed estimate first, as _quantum_estimate reads it (one call less per decision)
        est = self.costs.cached_quantum(job.n, job.d, kappa, group.config)
        if est is None:
            try:
                est = self._quantum_estimate(job, group, kappa)
            except ModelDomainError:
                return math.inf, True
        if est.refusal:
            return math.inf, False
        t = est.total_s
        return (t if math.isfinite(t) else math.inf), True

    def _quantum_estimate(self, job: SolveJob, group: _Group, kappa: float):
        """The cost model's QPU estimate for ``job`` on ``group``: the memoized one when the
        step primed it (no numpy runs, so no error state to set: entering ``np.errstate`` cost
        more than the rest of a decision), else computed. κ̂ from the paper's bound can be
        astronomically large: an overflow to inf is the right answer there, not a warning."""
        hit = self.costs.cached_quantum(job.n, job.d, kappa, group.config)
        if hit is not None:
            return hit
        with np.errstate(over="ignore", invalid="ignore"):
            return self.costs.quantum(job.n, job.d, kappa, group.config, job_alpha=None)

    def _qpu_group(self, job: SolveJob, view: ClusterView, kappa: float | None) -> _Group:
        """The least-loaded QPU group that can hold ``job``; the least-loaded of all when none
        can (its prediction is then infinite)."""
        sole = _sole_group(view, "qpu")
        if sole is not None:
            return sole
        return self._holding_group(job, view.groups("qpu"), kappa)

    def _holding_group(
        self, job: SolveJob, groups: Sequence[GroupView], kappa: float | None
    ) -> GroupView:
        """:meth:`_qpu_group` among ``groups``, the view's QPU groups."""
        if len(groups) == 1:
            return groups[0]  # least_loaded(holding or groups) of one group is that group
        holding = [g for g in groups if self._holds(job, g, kappa)]
        return least_loaded(holding or groups)

    def _both(
        self, job: SolveJob, view: ClusterView, kappa: float | None
    ) -> tuple[_Group, float, _Group, float, bool]:
        """Least-loaded GPU group and QPU group holding the job, each route's predicted total
        (the quantum one including the job's preparation on its origin; infinite when no QPU
        group holds the job), and whether that QPU group holds it."""
        # _least_loaded_of(view, "gpu") and _qpu_group, with the view's shortcut read once
        sole = getattr(view, "sole_group", None)
        gc = sole("gpu") if sole is not None else None
        if gc is None:
            gc = least_loaded(view.groups("gpu"))
        gq = sole("qpu") if sole is not None else None
        if gq is None:
            gq = self._holding_group(job, view.groups("qpu"), kappa)
        tq, holds = self._quantum_holds(job, gq, kappa)
        return gc, self._classical(job, gc, kappa), gq, tq + job.quantum_prep_s, holds

    def _decision(
        self,
        route: str,
        group: _Group,
        pc: float | None,
        pq: float | None,
        reason: str,
        device: str | None = None,
        chosen: float | None = None,
        job_prep: float = 0.0,
    ) -> Decision:
        if chosen is None:
            # The device's share of the route: the quantum preparation runs on the origin GPU.
            chosen = pq - job_prep if (route == "quantum" and pq is not None) else pc
        # One per job: made from a tuple in Decision's field order (checked at import), with
        # _finite inline, which halves the cost of building it.
        isfinite = math.isfinite
        return _new_decision(
            (
                route,
                group.name,
                device,
                chosen if chosen is not None and isfinite(chosen) else None,  # predicted_s
                pc if pc is not None and isfinite(pc) else None,  # predicted_classical_s
                pq if pq is not None and isfinite(pq) else None,  # predicted_quantum_s
                self.name,  # policy
                reason,
            )
        )


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


_new_decision = partial(tuple.__new__, Decision)
_DECISION = (
    "route",
    "group",
    "device",
    "predicted_s",
    "predicted_classical_s",
    "predicted_quantum_s",
    "policy",
    "reason",
)
if Decision._fields != _DECISION:  # pragma: no cover - fails at import, in every test
    raise ImportError(
        f"_Policy._decision's layout differs from Decision's fields: {Decision._fields}"
    )


class ClassicalOnly(_Policy):
    """Every solve on a GPU (classical Newton)."""

    name = "classical_only"
    needs = frozenset({"gpu"})
    uses_estimate = False

    def decide(self, job: SolveJob, view: ClusterView) -> Decision:
        g = _least_loaded_of(view, "gpu")
        return self._decision(
            "classical", g, self._classical(job, g, job.kappa_est), None, "policy"
        )


class QuantumOnly(_Policy):
    """Every solve on a QPU."""

    name = "quantum_only"
    needs = frozenset({"qpu"})

    def decide(self, job: SolveJob, view: ClusterView) -> Decision:
        g = self._qpu_group(job, view, job.kappa_est)
        pq = self._quantum(job, g, job.kappa_est) + job.quantum_prep_s
        return self._decision("quantum", g, None, pq, "policy", job_prep=job.quantum_prep_s)


def qnewton_route(
    kappa: float | None, classical_s: float, quantum_s: float, threshold: float
) -> tuple[str, str]:
    """The Q-Newton paper's routing rule (arXiv:2405.00252): a pure function.

    A block whose κ is unknown or above ``threshold`` stays classical; otherwise it goes to the
    QPU when the QPU's predicted time beats the GPU's (a tie stays classical).

    Parameters
    ----------
    kappa : float or None
        The κ the rule reads (an estimate in a run; the true κ for a reference decision).
    classical_s, quantum_s : float
        Predicted times of the two routes (``inf`` where a route has no finite prediction).
    threshold : float
        ``scheduler.kappa_threshold``.

    Returns
    -------
    (route, reason) : tuple of str
        ``route`` is ``"classical"`` or ``"quantum"``; ``reason`` the rule's clause.

    Examples
    --------
    >>> qnewton_route(50.0, 2e-5, 1e-9, 1e4)
    ('quantum', 'quantum predicted faster')
    >>> qnewton_route(1e6, 2e-5, 1e-9, 1e4)
    ('classical', 'kappa above threshold')
    >>> qnewton_route(50.0, 2e-5, 3e-5, 1e4)
    ('classical', 'classical predicted faster')
    """
    if kappa is None or not kappa <= threshold:
        return "classical", "kappa above threshold"
    if quantum_s < classical_s:
        return "quantum", "quantum predicted faster"
    return "classical", "classical predicted faster"


class QNewton(_Policy):
    """The paper's rule (:func:`qnewton_route`) on the estimate κ̂."""

    name = "qnewton"
    needs = frozenset({"gpu", "qpu"})

    def _rule_kappa(self, job: SolveJob) -> float | None:
        return job.kappa_est

    def decide(self, job: SolveJob, view: ClusterView) -> Decision:
        kappa = self._rule_kappa(job)
        gc, pc, gq, pq, holds = self._both(job, view, kappa)
        route, reason = qnewton_route(kappa, pc, pq, self.config.kappa_threshold)
        if reason != "kappa above threshold" and not holds:
            return self._decision("classical", gc, pc, pq, "no QPU group holds the job")
        if route == "quantum":
            return self._decision("quantum", gq, pc, pq, reason, job_prep=job.quantum_prep_s)
        return self._decision("classical", gc, pc, pq, reason)


class QNewtonFreeKappa(QNewton):
    """``qnewton`` deciding on the true κ, with no estimation charged.

    The paper counts no time for estimating κ; hybridsim charges an estimator's work on the
    trainer's GPU. This policy routes as ``qnewton`` would with a perfect and free estimate: it
    declares ``uses_estimate = False`` (the workload then neither runs nor charges an estimator)
    and reads the true κ that training workloads compute (``workload.kappa_true``, on by
    default) and shape workloads know by construction, for both routes' predictions. A job
    without a true κ falls back to its estimate.
    """

    name = "qnewton_free_kappa"
    uses_estimate = False
    _true_kappa = True

    def _rule_kappa(self, job: SolveJob) -> float | None:
        return job.kappa_true if job.kappa_true is not None else job.kappa_est


class KappaThreshold(_Policy):
    """κ̂ at or below the threshold to the QPU, regardless of predicted cost."""

    name = "kappa_threshold"
    needs = frozenset({"gpu", "qpu"})

    def decide(self, job: SolveJob, view: ClusterView) -> Decision:
        kappa = job.kappa_est
        gc, pc, gq, pq, holds = self._both(job, view, kappa)
        if kappa is not None and kappa <= self.config.kappa_threshold:
            if not holds:
                return self._decision("classical", gc, pc, pq, "no QPU group holds the job")
            return self._decision(
                "quantum", gq, pc, pq, "kappa at or below threshold", job_prep=job.quantum_prep_s
            )
        return self._decision("classical", gc, pc, pq, "kappa above threshold")


class EarliestFinish(_Policy):
    """Queue-aware: pin the job to the device predicted to return its result first."""

    name = "earliest_finish"
    needs = frozenset()

    def _kappa(self, job: SolveJob) -> float | None:
        return job.kappa_est

    def decide(self, job: SolveJob, view: ClusterView) -> Decision:
        kappa = self._kappa(job)
        charge_net = self.costs.charges_transfer
        best: tuple[float, int] | None = None
        choice: tuple[GroupView, str] | None = None
        predicted = {"gpu": math.inf, "qpu": math.inf}
        groups = list(view.groups())
        devices = [(g, d) for g in groups for d in g.devices if d.available]
        if not devices:  # everything is calibrating: consider all, backlog still ranks them
            devices = [(g, d) for g in groups for d in g.devices]
        service: dict[str, float] = {}
        prep = {"gpu": 0.0, "qpu": job.quantum_prep_s}
        for g in groups:
            if g.kind == "gpu":
                service[g.name] = self._classical(job, g, kappa)
            else:
                service[g.name] = self._quantum(job, g, kappa)
            predicted[g.kind] = min(predicted[g.kind], service[g.name] + prep[g.kind])
        for order, (g, d) in enumerate(devices):
            svc = service[g.name]
            if not math.isfinite(svc):
                continue
            net = 0.0
            route = "quantum" if g.kind == "qpu" else "classical"
            if charge_net:
                net = view.transfer_time_s(job.origin, d.name, job.payload_for(route))
                net += view.transfer_time_s(d.name, job.origin, job.result_bytes)
            slots = sum(x.capacity for x in g.devices)
            wait = d.backlog_s + g.queued_predicted_s / slots
            finish = prep[g.kind] + wait + net + svc
            if best is None or (finish, order) < best:
                best, choice = (finish, order), (g, d.name)
        if choice is None:
            # No finite prediction anywhere (κ̂ infinite or missing, with CG and QLSA costs
            # that need it): the block is still a fact to solve. Send it to the least loaded GPU
            # group (its solve has a real cost there), or a QPU group when there is no GPU.
            gpus = [g for g in groups if g.kind == "gpu"]
            g = least_loaded(gpus or groups)
            route = "classical" if g.kind == "gpu" else "quantum"
            return self._decision(route, g, None, None, "no finite prediction")
        g, dev = choice
        route = "quantum" if g.kind == "qpu" else "classical"
        return self._decision(
            route,
            g,
            predicted["gpu"] if math.isfinite(predicted["gpu"]) else None,
            predicted["qpu"] if math.isfinite(predicted["qpu"]) else None,
            f"earliest predicted finish on {dev}",
            device=dev,
            chosen=service[g.name],
        )


class Oracle(EarliestFinish):
    """``earliest_finish`` with the true κ (an upper bound on better estimation).

    It reads the workload's true κ (``workload.kappa_true``, on by default) and no estimate, so
    the workload skips (and is not charged for) κ estimation.
    """

    name = "oracle"
    uses_estimate = False
    _true_kappa = True

    def _kappa(self, job: SolveJob) -> float | None:
        return job.kappa_true if job.kappa_true is not None else job.kappa_est
