"""What schedulers see and return: jobs, a read-only view of the cluster, decisions, a registry.

A scheduler is a small object with one method, :meth:`Scheduler.decide`, called once per job at
submission time. It sees the job's metadata (size, sparsity, κ estimate) and a read-only
:class:`ClusterView`; it never touches simpy objects, so policies stay testable as plain functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "SolveJob",
    "Decision",
    "DeviceView",
    "GroupView",
    "ClusterView",
    "Scheduler",
    "register_scheduler",
    "make_scheduler",
    "scheduler_names",
    "policy_needs",
]


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


@dataclass(frozen=True, slots=True)
class Decision:
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
        Predicted service time on the chosen route, in seconds.
    predicted_classical_s, predicted_quantum_s : float, optional
        Predictions for both routes where the policy computed them.
    policy : str
        Name of the policy that decided.
    reason : str
        Short human-readable reason (shown in reports).
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


class Scheduler(Protocol):
    """A routing policy: one decision per job."""

    name: str

    def decide(self, job: SolveJob, view: ClusterView) -> Decision:
        """Choose the route and device group for ``job``."""


SchedulerFactory = Callable[..., Scheduler]
_REGISTRY: dict[str, SchedulerFactory] = {}


def register_scheduler(name: str) -> Callable[[SchedulerFactory], SchedulerFactory]:
    """Class decorator registering a scheduler factory under ``name``.

    The factory is called as ``factory(config=..., costs=...)`` with the scenario's scheduler
    section and the run's :class:`~hybridsim.costs.model.CostModel`. Registering a name twice is
    an error.

    Examples
    --------
    >>> @register_scheduler("always_first_gpu_doc_example")
    ... class AlwaysGpu:
    ...     name = "always_first_gpu_doc_example"
    ...     def __init__(self, config=None, costs=None):
    ...         pass
    ...     def decide(self, job, view):
    ...         return Decision("classical", view.groups("gpu")[0].name)
    >>> "always_first_gpu_doc_example" in scheduler_names()
    True
    """

    def deco(factory: SchedulerFactory) -> SchedulerFactory:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise ValueError(f"scheduler {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return deco


def scheduler_names() -> tuple[str, ...]:
    """Names of all registered schedulers (built-in policies included), sorted."""
    _load_builtin()
    return tuple(sorted(_REGISTRY))


def make_scheduler(name: str, **kwargs: Any) -> Scheduler:
    """Instantiate the scheduler registered as ``name``."""
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown scheduler {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None
    return factory(**kwargs)


def _load_builtin() -> None:
    # Importing the policies module registers the built-in policies (import is idempotent).
    import importlib

    importlib.import_module("hybridsim.scheduling.policies")


def policy_needs(name: str) -> frozenset[str]:
    """Device kinds (``"gpu"``, ``"qpu"``) the policy ``name`` routes to (empty if unknown)."""
    _load_builtin()
    return frozenset(getattr(_REGISTRY.get(name), "needs", ()))


def registry_snapshot() -> Mapping[str, SchedulerFactory]:
    """A read-only copy of the registry (for docs and tests)."""
    _load_builtin()
    return dict(_REGISTRY)
