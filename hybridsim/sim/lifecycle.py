"""The life of a job on the cluster, from the slot it was given to its record.

``submitted_at``  the job is admitted (:meth:`JobPath.admit`) and waits in its pool's queue;
``dispatched_at`` a device slot is assigned (:meth:`JobPath.dispatched`, the pools' hook); the
                  payload starts moving from the job's origin;
``started_at``    the payload has arrived; service begins (the device is held from dispatch on);
``finished_at``   service ends; the slot is released; the result starts moving back;
``completed_at``  the result has arrived at the origin; the job's record is appended.

What the service is comes from a :data:`ServiceFn` (by default the job's explicit ticks, or the
device's executor, :func:`hybridsim.execution.execute`). A failed attempt (the device failed
under it, the block gave no answer, a gate or readout error) goes to the run's
:class:`~hybridsim.sim.faults.Recovery`.

A zero-length service finishes within its instant and frees its slot again: the starts it
dispatches are run by a loop (:meth:`JobPath.dispatched`), not by recursion, so a backlog of any
length drains (docs/background/simulation.md, "Ties").

The per-job path reads the clock as ``env._now`` (what the ``Environment.now`` property returns):
eight reads per job, and the property's call was a measurable share of the engine's time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from hybridsim.execution import Outcome, execute
from hybridsim.records import IntervalRecord, JobRecord, Recorder
from hybridsim.sim.devices import Device, Flight
from hybridsim.timebase import to_ticks

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.costs.model import CostModel
    from hybridsim.rng import Streams
    from hybridsim.scenario import QuantumConfig
    from hybridsim.scheduling.base import Decision, SolveJob
    from hybridsim.sim.clock import Clock
    from hybridsim.sim.devices import Pool
    from hybridsim.sim.faults import Recovery
    from hybridsim.sim.network import Network

__all__ = ["JobPath", "ServiceFn", "device_service", "job_record"]

#: What a device does with a dispatched flight: ``(service ticks, outcome or None)``.
ServiceFn = Callable[[Flight, Device], tuple[int, Any]]


def device_service(
    costs: CostModel, quantum: QuantumConfig, streams: Streams, wall: dict[str, float]
) -> ServiceFn:
    """The default :data:`ServiceFn`: a job's explicit ticks, else the device executes it
    (adding the executor's wall time to ``wall["solve_s"]`` or ``wall["circuit_s"]``)."""

    def service(flight: Flight, dev: Device) -> tuple[int, Outcome | None]:
        job = flight.job
        if job.service_ticks is not None:
            return job.service_ticks, None
        outcome = execute(job, dev.config, costs, quantum, streams[f"exec/{dev.name}"])
        key = "circuit_s" if outcome.solver.startswith("hhl") else "solve_s"
        wall[key] += outcome.wall_s
        return to_ticks(outcome.service_s), outcome

    return service


# -- the job record ----------------------------------------------------------------------------
# A JobRecord is built once per job, so it is made from one tuple (keyword
# construction costs twice as much: benchmarks/bench_engine.py, "record"). Each value is read by
# its field's name: the groups below name the attributes read, and their concatenation must be
# JobRecord's fields in order (checked at import), so no two fields can be swapped unnoticed.
_JOB_IDS = ("job_id", "tenant", "step", "block", "n", "d", "priority")  # from the SolveJob
_ROUTE = ("route", "group")  # from the Decision
_INSTANTS = ("submitted_at", "dispatched_at", "started_at", "finished_at")  # from the Flight
_ESTIMATES = ("kappa_est", "kappa_true", "estimator")  # from the SolveJob
_PREDICTIONS = ("predicted_s", "predicted_classical_s", "predicted_quantum_s")  # the Decision
_OUTCOME = (  # from the Outcome
    "solver",
    "method",
    "matrix",
    "assembly_s",
    "factor_reused",
    "compute_s",
    "state_prep_s",
    "readout_s",
    "overhead_s",
    "queries",
    "shots",
    "n_qubits",
    "success_probability",
    "fidelity",
    "solution_error",
)
# From the Outcome too: the job's size on a QPU (None for GPU jobs and jobs without an outcome).
_RESOURCES = ("logical_qubits", "t_count", "code_distance", "physical_qubits")
_LAYOUT = (
    *_JOB_IDS,
    *_ROUTE,
    "device",
    "status",
    *_INSTANTS,
    "completed_at",
    *_ESTIMATES,
    *_PREDICTIONS,
    *_OUTCOME,
    "attempts",
    "fail_reason",
    *_RESOURCES,
)
if JobRecord._fields != _LAYOUT:  # pragma: no cover - fails at import, in every test
    raise ImportError(f"job_record's layout differs from JobRecord's fields: {_LAYOUT}")

_job_ids = attrgetter(*_JOB_IDS)
_route = attrgetter(*_ROUTE)
_instants = attrgetter(*_INSTANTS)
_estimates = attrgetter(*_ESTIMATES)
_predictions = attrgetter(*_PREDICTIONS)
_outcome = attrgetter(*_OUTCOME)
_resources = attrgetter(*_RESOURCES)
_NO_RESOURCES = tuple(JobRecord._field_defaults[f] for f in _RESOURCES)
_NO_OUTCOME = tuple(JobRecord._field_defaults[f] for f in _OUTCOME[1:])
_EXPLICIT = ("explicit", *_NO_OUTCOME)  # a job with explicit service ticks
_MODEL_LESS = (None, *_NO_OUTCOME)  # a job that ended before any service
# JobRecord._make is tuple.__new__ behind a classmethod and a length check; the layout check
# above makes the check redundant, so the record is made by tuple.__new__ itself.
_new = tuple.__new__


def job_record(flight: Flight, status: str, now: int) -> JobRecord:
    """The record of ``flight``, which ended with ``status`` at ``now``."""
    job, decision, outcome, dev = flight.job, flight.decision, flight.outcome, flight.device
    assert dev is not None  # a job is recorded once it has ended on a device
    if outcome is not None:
        served, size = _outcome(outcome), _resources(outcome)
    else:
        served = _EXPLICIT if job.service_ticks is not None else _MODEL_LESS
        size = _NO_RESOURCES
    return _new(
        JobRecord,
        (
            *_job_ids(job),
            *_route(decision),
            dev.name,  # device
            status,  # status
            *_instants(flight),
            now,  # completed_at
            *_estimates(job),
            *_predictions(decision),
            *served,
            flight.attempts,  # attempts
            flight.fail_reason if status == "failed" else "",  # fail_reason
            *size,
        ),
    )


class JobPath:
    """Moves admitted flights through dispatch, transfer, service, release and record.

    Parameters
    ----------
    clock : Clock
        The run's clock.
    pools : dict of str to Pool
        The pools by group name.
    network : Network
    recorder : Recorder
    charge_network : bool
        Whether payloads and results move over the network (else they arrive at once).
    service : ServiceFn
        What a device does with a dispatched flight.

    Attributes
    ----------
    recovery : Recovery
        Where failed attempts go (set by the simulation once built).
    finished : simpy.Event
        Succeeds when the workload is done (:meth:`workload_done`) and no flight is left.
    """

    __slots__ = (
        "env",
        "clock",
        "pools",
        "network",
        "recorder",
        "charge_network",
        "service",
        "recovery",
        "finished",
        "_seq",
        "_outstanding",
        "_workload_done",
        "_in_region",
        "_pending",
    )

    def __init__(
        self,
        clock: Clock,
        pools: dict[str, Pool],
        network: Network,
        recorder: Recorder,
        charge_network: bool,
        service: ServiceFn,
    ):
        self.env = env = clock.env
        self.clock = clock
        self.pools = pools
        self.network = network
        self.recorder = recorder
        self.charge_network = charge_network
        self.service = service
        self.recovery: Recovery | None = None
        self.finished = env.event()
        self._seq = 0
        self._outstanding = 0
        self._workload_done = False
        self._in_region = False  # a start or a finish is on the stack (see dispatched)
        self._pending: deque[tuple[Flight, Device, int]] = deque()

    # -- admission and the end of the run ----------------------------------------------------------
    def admit(
        self,
        job: SolveJob,
        decision: Decision,
        predicted_ticks: int,
        on_done: Callable[[Flight], object] | None,
        label: str | None = None,
    ) -> None:
        """Offer a new flight of ``job`` to its decision's pool at the current instant."""
        seq = self._seq
        self._seq = seq + 1
        self._outstanding += 1
        flight = Flight(job, decision, seq, self.env._now, predicted_ticks, on_done, label)
        self.pools[decision.group].offer(flight)

    def workload_done(self) -> None:
        """The workload submits nothing more: the run ends when the last flight has."""
        self._workload_done = True
        self._check_done()

    def _check_done(self) -> None:
        if self._workload_done and self._outstanding == 0 and not self.finished.triggered:
            self.finished.succeed()

    # -- the dispatch loop -------------------------------------------------------------------------
    # A zero-length service finishes at once, and the slot it releases takes the next waiting job
    # within the same call. Done by recursion, every queued zero-length job added about eight
    # stack frames, and a backlog of 124 exceeded Python's limit. So a start dispatched while a
    # start or a finish is already on the stack ("in the region") is queued, and the outermost
    # call runs the queue in dispatch order, after the job that freed the slot has completed.
    # Every instant is unchanged: the loop runs inside the same simulated instant.
    def dispatched(self, flight: Flight, dev: Device) -> None:
        """The pools' hook: ``flight`` was given a slot of ``dev``; move it there."""
        if self._in_region:
            self._pending.append((flight, dev, flight.token))
            return
        self._in_region = True
        try:
            self._move_payload(flight, dev)
            if self._pending:
                self._drain()
        finally:
            self._in_region = False

    def _drain(self) -> None:
        pending = self._pending
        try:
            while pending:
                flight, dev, token = pending.popleft()
                if flight.token == token:  # not aborted in the meantime
                    self._move_payload(flight, dev)
        except BaseException:
            pending.clear()
            raise

    # -- transfer, service, release, record ------------------------------------------------------
    # The clock and the network call back with one argument: the flight and the token of the
    # attempt that scheduled the call (a pair), or the flight. Bound methods and a pair cost less
    # than a closure per job, and a stale call (the attempt was aborted meanwhile) is told by
    # its token.
    def _move_payload(self, flight: Flight, dev: Device) -> None:
        if not self.charge_network:
            self._serve(flight, dev)
            return
        job = flight.job
        nbytes = job.payload_for(flight.decision.route)
        self.network.transfer(
            job.origin, dev.name, nbytes, self._arrived, job.job_id, (flight, flight.token)
        )

    def _arrived(self, attempt: tuple[Flight, int]) -> None:
        """The payload of ``attempt`` reached its device."""
        flight, token = attempt
        if flight.token != token:  # the attempt was aborted in transit
            return
        dev = flight.device
        assert dev is not None  # set at dispatch, for this attempt
        if self._in_region:  # the payload took no time: still in the dispatching call
            self._serve(flight, dev)
            return
        self._in_region = True  # (as in dispatched, inlined: once per job)
        try:
            self._serve(flight, dev)
            if self._pending:
                self._drain()
        finally:
            self._in_region = False

    def _serve(self, flight: Flight, dev: Device) -> None:
        now = flight.started_at = self.env._now
        service, outcome = self.service(flight, dev)
        flight.outcome = outcome
        if service == 0:
            self._finish(flight, dev)
            return
        flight.end_at = now + service
        self.clock.after(service, self._served, (flight, flight.token))

    def _served(self, attempt: tuple[Flight, int]) -> None:
        """The service of ``attempt`` ended."""
        flight, token = attempt
        if flight.token != token:  # the attempt was aborted
            return
        dev = flight.device
        assert dev is not None
        self._in_region = True  # (as in dispatched, inlined: once per job)
        try:
            self._finish(flight, dev)
            if self._pending:
                self._drain()
        finally:
            self._in_region = False

    def _finish(self, flight: Flight, dev: Device) -> None:
        flight.finished_at = self.env._now
        dev.pool.release(dev, flight)
        outcome = flight.outcome
        if outcome is not None and (outcome.failure or outcome.p_fail > 0.0):
            recovery = self.recovery
            assert recovery is not None  # the engine sets it before the run
            if recovery.outcome_failed(flight, dev, outcome):
                return
        if not self.charge_network:
            self.complete(flight)
            return
        job = flight.job
        self.network.transfer(
            dev.name, job.origin, job.result_bytes, self.complete, job.job_id, flight
        )

    def complete(self, flight: Flight, status: str = "completed") -> None:
        """``flight`` has ended (its result is back, or it failed for good): record it."""
        flight.status = status
        if flight.label is None:
            self.recorder.jobs.append(job_record(flight, status, self.env._now))
        else:
            # A device-local compute task: an interval, not a solve job.
            assert flight.device is not None  # it ended on its GPU
            self.recorder.intervals.append(
                IntervalRecord(
                    flight.device.name,
                    "compute",
                    flight.started_at,
                    flight.finished_at,
                    -1,
                    flight.label,
                )
            )
        on_done = flight.on_done
        if on_done is not None:
            flight.on_done = None  # it holds the event that holds the flight: free both now
            on_done(flight)
        self._outstanding -= 1
        if self._workload_done and self._outstanding == 0:
            self._check_done()
