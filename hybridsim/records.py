"""Immutable rows the simulation appends, and the append-only :class:`Recorder`.

Rows are ``typing.NamedTuple`` classes: immutable, slotted (no per-row ``__dict__``) and about ten
times faster to create than a frozen dataclass, whose ``__init__`` pays an ``object.__setattr__``
per field (7 µs for a job row, a quarter of the engine's per-job budget). See docs/design.md.

The simulation never edits a row after appending it; every metric and output file is a pure
function of these rows. Instants end in ``_at`` and spans in ``_time``; both are integer ticks
(:mod:`hybridsim.timebase`). Predicted costs and model outputs are float seconds (``_s``).

Job rows deliberately hold no matrices. A run's rows stream to disk as it goes
(:mod:`hybridsim.outputs.stream`): each list holds about :data:`SPILL_ROWS` rows at most before
they are written out (at the simulation's next checkpoint, every :data:`CHECKPOINT_EVENTS`
events), so a run of 10**7 jobs fits in flat memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

__all__ = [
    "JobRecord",
    "IntervalRecord",
    "QueueRecord",
    "StepRecord",
    "Recorder",
    "column_names",
    "SPILL_ROWS",
    "CHECKPOINT_EVENTS",
]

#: Job rows a streaming recorder holds in memory before it writes its rows out (about 70 MB;
#: four times as many of the smaller interval, queue and step rows); a run that never reaches
#: it keeps every record in memory (an M/M/3 run of 10**5 jobs does).
SPILL_ROWS = 2**17

#: Events between the simulation's calls of :meth:`Recorder.checkpoint` (where a streaming
#: recorder spills): the lists are plain appends in between, and no event appends more than a
#: few rows, so a list overshoots its limit by a few hundred rows at most.
CHECKPOINT_EVENTS = 64


class JobRecord(NamedTuple):
    """One solve job, from submission to its result arriving back at its origin.

    Derived spans (``wait``, ``transfer``, ``service``) are computed from the instants by
    :mod:`hybridsim.metrics`; they are not stored twice.
    """

    job_id: int
    tenant: int
    step: int
    block: str
    n: int
    d: int
    priority: int
    route: str  # "classical" or "quantum"
    group: str  # device group (pool) the job ran in
    device: str
    status: str  # "completed" or "failed"
    submitted_at: int  # job handed to the scheduler
    dispatched_at: int  # a device was assigned (end of queue wait)
    started_at: int  # payload arrived, service began
    finished_at: int  # service ended, device released
    completed_at: int  # result arrived back at the origin
    kappa_est: float | None = None
    kappa_true: float | None = None
    estimator: str | None = None
    predicted_s: float | None = None  # predicted service time on the chosen route
    predicted_classical_s: float | None = None
    predicted_quantum_s: float | None = None
    solver: str | None = None  # "explicit", "numpy", "hhl", "hhl_signed", "modelled", "trivial"
    method: str | None = None  # classical method (lu, woodbury, ...) or QLSA that solved it
    matrix: str | None = None  # "pruned" or "unpruned": which form of the block was solved
    assembly_s: float | None = None  # forming (and pruning) the block for this route
    factor_reused: bool = False  # the κ estimator's LU replaced the factorization
    compute_s: float | None = None  # service breakdown (model seconds, before tick rounding)
    state_prep_s: float | None = None
    readout_s: float | None = None
    overhead_s: float | None = None  # per-job QPU overhead (circuit loading, submission)
    queries: float | None = None
    shots: int | None = None
    n_qubits: int | None = None
    success_probability: float | None = None
    fidelity: float | None = None
    solution_error: float | None = None  # relative l2 error against the classical solution
    attempts: int = 1
    fail_reason: str = ""
    # The job's size on a QPU (None for GPU jobs): its logical qubits; on a fault-tolerant QPU
    # the T states its solve consumes and the code distance; the physical qubits it occupies.
    logical_qubits: int | None = None
    t_count: int | None = None
    code_distance: int | None = None
    physical_qubits: int | None = None


class IntervalRecord(NamedTuple):
    """A span during which a device or link was busy with something other than a job's service.

    Job service intervals are derived from :class:`JobRecord` rows (see
    :func:`hybridsim.metrics.device_intervals`) rather than stored twice.
    """

    resource: str  # device name, or "link:A->B" for a network link direction
    kind: str  # "calibration", "transfer", ...
    start_at: int
    end_at: int
    job_id: int = -1
    label: str = ""


class QueueRecord(NamedTuple):
    """The number of jobs waiting in a pool changed to ``length`` at ``at``."""

    at: int
    pool: str
    length: int


class StepRecord(NamedTuple):
    """One training step of one tenant, recorded when its update has been applied.

    Loss and accuracies are None for shape-only workloads (no model is trained); κ statistics
    are over the step's solve jobs (None when the optimizer emits none).
    """

    run: str  # "main" or the baseline's name
    tenant: int
    step: int
    at: int  # simulated instant the step ended
    loss: float | None
    train_accuracy: float | None
    test_accuracy: float | None
    blocks: int
    routed_quantum: int
    hhl_jobs: int
    kappa_true_median: float | None
    kappa_est_median: float | None
    kappa_true_max: float | None
    kappa_est_max: float | None
    d_median: float | None
    solution_error_max: float | None
    failed_blocks: int = 0  # solves that failed for good: those blocks were not updated
    kappa_clipped: int = 0  # shape blocks whose κ trajectory exceeded 1 + N/eps_norm (clipped)


@dataclass(slots=True)
class Recorder:
    """Append-only lists of rows for one run.

    The simulation only calls ``append`` and ``len`` on them, and :meth:`checkpoint` every few
    events, so a recorder whose lists write their rows to disk as they grow
    (:class:`hybridsim.outputs.stream.StreamingRecorder`) can stand in for this one.
    """

    jobs: list[JobRecord] = field(default_factory=list)
    intervals: list[IntervalRecord] = field(default_factory=list)
    queues: list[QueueRecord] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)

    def checkpoint(self) -> None:
        """Called by the simulation every :data:`CHECKPOINT_EVENTS` events and at the end; a
        recorder that streams its rows to disk moves them there when due. This one keeps every
        row in memory: nothing to do."""


class _RecordType(Protocol):
    """A record class (a NamedTuple): what :func:`column_names` reads of it."""

    _fields: tuple[str, ...]


def column_names(record_type: _RecordType) -> list[str]:
    """Field names of a record type, in declaration order."""
    return list(record_type._fields)
