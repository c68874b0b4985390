"""What schedulers see and return: jobs, a read-only view of the cluster, decisions, the protocol.

A scheduler is a small object with one method, :meth:`Scheduler.decide`, called once per job at
submission time, and two declared facts (``needs``, ``uses_estimate``). It sees the job's metadata
(size, sparsity, κ estimate) and a read-only :class:`ClusterView`; it never touches simpy objects,
so policies stay testable as plain functions. Policies are registered by name in
:mod:`hybridsim.scheduling.registry`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import numpy as np

from hybridsim.frozen import fast_init

__all__ = [
    "SolveJob",
    "SOLVE_JOB_FIELDS",
    "Decision",
    "DeviceView",
    "GroupView",
    "GroupHead",
    "ClusterView",
    "Scheduler",
    "SchedulerFactory",
    "BaseScheduler",
]


@fast_init  # built once per job: see hybridsim/frozen.py
@dataclass(frozen=True, slots=True, eq=False)
class SolveJob:
    """A Hessian-block solve (or any job) handed to the cluster.

    Parameters
    ----------
    job_id : int
        Unique within a run, assigned by the submitter in submission order.
    n, d : int
        Matrix size and row sparsity (d = n for dense).
    tenant, step, block : int, int, str
        Which training, step and parameter block emitted the job (0, -1, "" for synthetic jobs).
    priority : int
        Smaller is served first under the ``priority`` discipline.
    origin : str
        Network node the payload comes from and the result returns to.
    payload_bytes, result_bytes : int
        Bytes moved to the device before service and back after it.
    service_ticks : int, optional
        Explicit service time (synthetic workloads); when None the device's executor computes it.
    pool : str, optional
        Fixed routing (``"gpu"``, ``"qpu"`` or a group name) that bypasses the scheduler.
    kappa_est, kappa_true : float, optional
        Estimated and (when known) true condition number of the shaped matrix.
    estimator : str, optional
        Name of the κ estimator that produced ``kappa_est``.
    eigen_bounds : (float, float), optional
        The estimator's (λ_min, λ_max), passed to the quantum executor as its spectrum guess.
    matrix, rhs : ndarray, optional
        The shaped matrix and right-hand side, present when the job really runs. Never recorded.
        In training runs ``matrix`` is the *quantum* form (regularized, then pruned when the
        workload prunes); the classical route solves ``structure``.
    structure : hybridsim.linalg.structure.BlockStructure, optional
        The block's classical form: the unpruned regularized block with its factor, shift and
        what exists of it already (None for jobs that carry only a matrix, or nothing).
    classical_payload_bytes : int, optional
        Bytes a GPU job moves when they differ from ``payload_bytes`` (the factor U instead of
        the matrix: :func:`hybridsim.costs.classical.solve_payload_bytes`); None means the same.
        Fixed when the job is built, for the method its origin's GPU group would use (a group
        with another spec could pick another method; its bytes are then approximate).
    quantum_prep_s : float
        Seconds the origin GPU spends forming (and pruning) the quantum form before a QPU job can
        be submitted, when nothing formed it before the decision; included in the quantum
        route's predictions.
    """

    job_id: int
    n: int
    d: int
    tenant: int = 0
    step: int = -1
    block: str = ""
    priority: int = 0
    origin: str = "host"
    payload_bytes: int = 0
    result_bytes: int = 0
    service_ticks: int | None = None
    pool: str | None = None
    kappa_est: float | None = None
    kappa_true: float | None = None
    estimator: str | None = None
    eigen_bounds: tuple[float, float] | None = None
    matrix: np.ndarray | None = None
    rhs: np.ndarray | None = None
    structure: Any = None
    classical_payload_bytes: int | None = None
    quantum_prep_s: float = 0.0

    def payload_for(self, route: str) -> int:
        """Bytes moved to the device on ``route`` (``"classical"`` or ``"quantum"``)."""
        if route == "classical" and self.classical_payload_bytes is not None:
            return self.classical_payload_bytes
        return self.payload_bytes


#: SolveJob's fields, in order. The hot paths that make jobs (synthetic workloads,
#: hybridsim.workload.synthetic; shape steps, hybridsim.sim.training) pass them positionally,
#: since keyword matching cost a third of a job's construction; a reordering of SolveJob's
#: fields fails here, at import, before it could shift their arguments.
SOLVE_JOB_FIELDS = (
    "job_id",
    "n",
    "d",
    "tenant",
    "step",
    "block",
    "priority",
    "origin",
    "payload_bytes",
    "result_bytes",
    "service_ticks",
    "pool",
    "kappa_est",
    "kappa_true",
    "estimator",
    "eigen_bounds",
    "matrix",
    "rhs",
    "structure",
    "classical_payload_bytes",
    "quantum_prep_s",
)
if tuple(f.name for f in dataclasses.fields(SolveJob)) != SOLVE_JOB_FIELDS:  # pragma: no cover
    raise ImportError(f"SolveJob's fields are no longer {SOLVE_JOB_FIELDS}: update its callers")


class Decision(NamedTuple):
    """Where a job goes and why.

    Parameters
    ----------
    route : str
        ``"classical"`` (a GPU group) or ``"quantum"`` (a QPU group).
    group : str
        The device group (pool) whose queue receives the job.
    device : str, optional
        Pin the job to one device of the group (its own queue); None lets any device take it.
    predicted_s : float, optional
        Predicted service time on the chosen route's device, in seconds.
    predicted_classical_s, predicted_quantum_s : float, optional
        Predictions for both routes where the policy computed them: everything the route needs
        (for the quantum route including ``SolveJob.quantum_prep_s``; a GPU's assembly of the
        block is part of its service).
    policy : str
        Name of the policy that decided.
    reason : str
        Short human-readable reason (shown in reports).

    A ``NamedTuple`` (immutable; a changed copy is ``decision._replace(device=None)``): one is
    made per job, and the policies make theirs from a plain tuple (``tuple.__new__``), a
    quarter of a frozen dataclass's construction even with :func:`hybridsim.frozen.fast_init`.
    """

    route: str
    group: str
    device: str | None = None
    predicted_s: float | None = None
    predicted_classical_s: float | None = None
    predicted_quantum_s: float | None = None
    policy: str = ""
    reason: str = ""


class DeviceView(NamedTuple):
    """A snapshot of one device as a scheduler may see it (a NamedTuple: built for every
    device at every decision, so it must be cheap)."""

    name: str
    group: str
    kind: str
    capacity: int
    running: int
    available: bool  # up, not calibrating, not draining for calibration
    queued: int  # jobs pinned to this device and waiting
    backlog_s: float  # predicted seconds until this device could start a new job


class GroupView(NamedTuple):
    """A snapshot of one device group (pool)."""

    name: str
    kind: str
    config: Any  # the scenario's GpuGroup / QpuGroup (frozen)
    queued: int  # jobs waiting in the shared queue
    queued_predicted_s: float  # sum of their predicted service times
    devices: tuple[DeviceView, ...]


class GroupHead(NamedTuple):
    """What identifies a device group, without its state: the part of a :class:`GroupView`
    a policy reads to route to a group it did not have to compare with others (the engine's
    view gives it for a kind with one group, see ``ClusterView.sole_group`` in
    :mod:`hybridsim.sim.routing`; an optional extension, not part of the protocol)."""

    name: str
    kind: str
    config: Any  # the scenario's GpuGroup / QpuGroup (frozen)


@runtime_checkable
class ClusterView(Protocol):
    """Read-only view of the cluster at the moment of a decision."""

    @property
    def now_s(self) -> float:
        """Current simulated time in seconds."""

    def groups(self, kind: str | None = None) -> Sequence[GroupView]:
        """Snapshots of the device groups (optionally only ``"gpu"`` or ``"qpu"`` ones)."""

    def transfer_time_s(self, src: str, dst: str, nbytes: float) -> float:
        """Uncontended transfer time from ``src`` to ``dst`` (latency + bytes/bandwidth per hop)."""


@runtime_checkable
class Scheduler(Protocol):
    """A routing policy: one decision per job, plus two facts the run reads before any job.

    Attributes
    ----------
    name : str
        The name the policy is registered under (recorded in every :class:`Decision`).
    needs : frozenset of {"gpu", "qpu"}
        Device kinds the policy routes to; the scenario check refuses a cluster without them.
    uses_estimate : bool
        Whether :meth:`decide` reads ``job.kappa_est``; when False the workload skips (and is
        not charged for) κ estimation.
    """

    @property
    def name(self) -> str: ...

    @property
    def needs(self) -> frozenset[str]: ...

    @property
    def uses_estimate(self) -> bool: ...

    def decide(self, job: SolveJob, view: ClusterView) -> Decision:
        """Choose the route and device group for ``job``."""


class SchedulerFactory(Protocol):
    """What the registry holds: a callable (usually the policy class) building a Scheduler.

    Called as ``factory(config=..., costs=...)`` with the scenario's ``[scheduler]`` section and
    the run's :class:`~hybridsim.costs.model.CostModel`. ``needs`` and ``uses_estimate`` are read
    from the factory before any instance exists (the scenario check runs at load time), so a
    policy class declares them as class attributes.
    """

    @property
    def needs(self) -> frozenset[str]: ...

    @property
    def uses_estimate(self) -> bool: ...

    def __call__(self, *, config: Any = ..., costs: Any = ...) -> Scheduler: ...


class BaseScheduler:
    """Convenient base for policies: the protocol's defaults and the factory signature.

    ``needs`` defaults to no particular kind and ``uses_estimate`` to True (the safe choice: the
    workload estimates κ). Subclasses set ``name`` and implement :meth:`decide`.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()
    uses_estimate: ClassVar[bool] = True

    def __init__(self, config: Any = None, costs: Any = None):
        self.config = config
        self.costs = costs

    def decide(self, job: SolveJob, view: ClusterView) -> Decision:
        raise NotImplementedError(f"{type(self).__name__} must implement decide(job, view)")


#: Names that moved to :mod:`hybridsim.scheduling.registry` (deprecated here for one release).
_MOVED = frozenset(
    {"register_scheduler", "make_scheduler", "scheduler_names", "policy_needs", "registry_snapshot"}
)


def __getattr__(name: str) -> Any:
    # Deprecation shim (one release): the registry lives in its own module now, which imports
    # the built-in policies explicitly; this module cannot import it (policies import this one).
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(
            f"hybridsim.scheduling.base.{name} is deprecated; "
            f"import it from hybridsim.scheduling.registry",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("hybridsim.scheduling.registry"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
