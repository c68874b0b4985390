"""The simulation engine: builds a SimPy environment, the cluster and the workload from a
Scenario, runs it and returns a :class:`~hybridsim.results.RunResult`.

Life of a job (every instant an integer tick):

``submitted_at``  the workload hands the job over; the scheduler (or the job's fixed pool) picks a
                  device group, and the job waits in that pool's queue;
``dispatched_at`` a device slot is assigned; the payload starts moving from the job's origin;
``started_at``    the payload has arrived; service begins (the device is held from dispatch on);
``finished_at``   service ends; the slot is released; the result starts moving back;
``completed_at``  the result has arrived at the origin; the job's record is appended.

Ties at one instant follow one rule, never the order events happened to be scheduled in
(docs/background/simulation.md, "Ties"; implemented in :mod:`hybridsim.sim.devices`):

1. calibration windows and outages that end at the instant end;
2. windows that are due begin (the QPU drains) and devices and links that fail go down (a job
   whose service ends at that instant has ended and completes);
3. services that end release their slots, jobs arrive (new, retried, rerouted), transfers move,
   in scheduling order;
4. free slots go to waiting jobs in discipline order, the slot free longest first.

A zero-length service finishes within its instant and frees its slot again: the starts it
dispatches are run by a loop (:meth:`Simulation._start`), not by recursion, so a backlog of any
length drains. Every run is deterministic for a given seed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import networkx as nx
import simpy

from hybridsim.costs.model import CostModel
from hybridsim.errors import ScenarioError
from hybridsim.execution import Outcome, execute
from hybridsim.records import IntervalRecord, JobRecord, Recorder
from hybridsim.rng import Streams
from hybridsim.scenario import (
    MLPWorkload,
    Scenario,
    ShapesWorkload,
    SyntheticWorkload,
    device_names,
    load_scenario,
)
from hybridsim.scheduling.base import Decision, DeviceView, GroupView, SolveJob
from hybridsim.scheduling.registry import make_scheduler
from hybridsim.sim.devices import Clock, Device, Flight, Pool
from hybridsim.sim.faults import OutageProcess
from hybridsim.sim.network import Network, build_graph
from hybridsim.timebase import TICKS_PER_SECOND, to_ticks

__all__ = ["Simulation", "run", "Progress"]


class Progress(NamedTuple):
    """What a ``progress`` callback of :meth:`Simulation.run` is given: the run's name (``main``
    or a baseline's), the simulated time in ticks, and the job and step records so far."""

    run: str
    now_ticks: int
    jobs_done: int
    steps_done: int


class _View:
    """The read-only :class:`~hybridsim.scheduling.base.ClusterView` over live pools."""

    __slots__ = ("_sim", "_exclude")

    def __init__(self, sim: Simulation, exclude: set[str] | frozenset[str] = frozenset()):
        self._sim = sim
        self._exclude = exclude  # devices shown as unavailable (a job's failed devices)

    @property
    def now_s(self) -> float:
        return self._sim.env.now / TICKS_PER_SECOND

    def groups(self, kind: str | None = None) -> list[GroupView]:
        now = self._sim.env.now
        out = []
        for pool in self._sim.pools.values():
            if kind is not None and pool.kind != kind:
                continue
            pool.observe()  # the scheduler reads availability: wake dormant fault processes
            devices = tuple(
                [
                    DeviceView(
                        d.name,
                        pool.name,
                        pool.kind,
                        d.capacity,
                        d.running,
                        d.available and d.name not in self._exclude,
                        len(d.own),
                        d.backlog_ticks(now) / TICKS_PER_SECOND,
                    )
                    for d in pool.devices
                ]
            )
            out.append(
                GroupView(
                    name=pool.name,
                    kind=pool.kind,
                    config=pool.config,
                    queued=len(pool.queue),
                    queued_predicted_s=pool.queue.predicted_ticks / TICKS_PER_SECOND,
                    devices=devices,
                )
            )
        return out

    def transfer_time_s(self, src: str, dst: str, nbytes: float) -> float:
        return self._sim.network.uncontended_ticks(src, dst, nbytes) / TICKS_PER_SECOND


Executor = Callable[[Flight, Device], tuple[int, Any]]


class Simulation:
    """One run of a scenario.

    Parameters
    ----------
    scenario : Scenario
    seed : int
        Root seed of every random stream of the run.

    Attributes
    ----------
    env : simpy.Environment
        Its clock counts integer ticks.
    recorder : Recorder
    pools : dict of str to Pool
    network : Network
    """

    def __init__(self, scenario: Scenario, seed: int, run_name: str = "main"):
        self.scenario = scenario
        self.run_name = run_name
        self.seed = seed
        self.streams = Streams(seed)
        self.env = simpy.Environment(initial_time=0)
        self.recorder = Recorder()
        graph = build_graph(scenario)
        self._check_connected(graph)
        self.network = Network(self.env, graph, self.recorder)
        self.clock = Clock(self.env)  # fault and calibration callbacks at their tie-rule priority
        self.pools: dict[str, Pool] = {}
        for grp in scenario.cluster.groups:
            self.pools[grp.name] = Pool(
                self.env,
                grp.name,
                grp.kind,
                grp,
                device_names(grp),
                self.recorder,
                self._start,
                self._abort,
                record_queue=scenario.output.queue_levels,
                clock=self.clock,
            )
        self.view = _View(self)
        self.costs = CostModel(scenario.costs)
        self.scheduler = make_scheduler(
            scenario.scheduler.policy, config=scenario.scheduler, costs=self.costs
        )
        self._charge_network = self.costs.charges_transfer
        self.policy_uses_estimate = self.scheduler.uses_estimate
        self._job_ids = 0
        # Decisions are frozen: one shared instance per group serves every fixed-route job.
        self._fixed_decisions = {
            p.name: Decision(
                route="quantum" if p.kind == "qpu" else "classical", group=p.name, policy="fixed"
            )
            for p in self.pools.values()
        }
        self._pool_candidates: dict[str, list[Pool]] = {}
        self.executor: Executor = self._execute
        self._in_region = False  # a start or a finish is on the stack (see _start)
        self._pending_starts: deque[tuple[Flight, Device, int]] = deque()
        self._seq = 0
        self._outstanding = 0
        self._workload_done = False
        self._finished = self.env.event()
        self.wall: dict[str, float] = {"solve_s": 0.0, "circuit_s": 0.0}
        for pool in self.pools.values():
            cfg = pool.config
            if getattr(cfg, "calibration_duration", None) is not None:
                for dev in pool.devices:
                    pool.start_calibration_clock(
                        dev,
                        cfg.calibration_duration,
                        cfg.calibration_offset,
                        cfg.calibration_period,
                        cfg.calibration_times,
                    )
            if cfg.failures is not None:
                for dev in pool.devices:
                    self._device_outages(pool, dev, cfg.failures)
        if scenario.network.link_failures is not None:
            self.network.fast_path = False  # zero-byte messages must see outages too
            for link in self.network.undirected_links():
                self._link_outages(link, scenario.network.link_failures)

    # -- construction helpers ------------------------------------------------------------------
    def _check_connected(self, graph: nx.Graph) -> None:
        host = self.scenario.cluster.host
        reachable = nx.node_connected_component(graph, host)
        for grp in self.scenario.cluster.groups:
            for dev in device_names(grp):
                if dev not in reachable:
                    raise ScenarioError(
                        self.scenario.source,
                        "network.links",
                        f"device {dev!r} is not connected to the host {host!r}",
                        "a path of links from the host to every device",
                    )

    # -- faults --------------------------------------------------------------------------------
    def _device_outages(self, pool: Pool, dev: Device, model) -> None:
        """``dev`` fails and is repaired (see :mod:`hybridsim.sim.faults`); the jobs it holds
        when it fails are aborted."""

        def idle() -> bool:
            return dev.running == 0 and not len(dev.own) and not len(pool.queue)

        proc = OutageProcess(
            self.clock,
            self.streams[f"faults/{dev.name}"],
            model,
            dev.name,
            self.recorder,
            down=lambda: pool.fail(dev, "outage"),
            up=lambda: pool.repair(dev),
            idle=idle,
            touched=lambda: pool.touched_at,
            sleepers=pool.sleepers,
        )
        dev.faults = proc
        proc.start()

    def _link_outages(self, link: tuple, model) -> None:
        """Both directions of ``link`` fail and are repaired together; transfers reaching a
        down link wait for the repair."""
        env = self.env
        name = f"link:{link[0].src}<->{link[0].dst}"

        def idle() -> bool:
            return all(not d.blocked and d.free_at <= env.now for d in link)

        proc = OutageProcess(
            self.clock,
            self.streams[f"faults/{name}"],
            model,
            name,
            self.recorder,
            down=lambda: self._link_down(link),
            up=lambda: self._link_up(link),
            idle=idle,
            touched=lambda: max(d.touched_at for d in link),
        )
        for direction in link:
            direction.faults = proc
        proc.start()

    def _link_down(self, link) -> None:
        for direction in link:
            direction.up = False

    def _link_up(self, link) -> None:
        for direction in link:
            direction.up = True
        self.network.link_repaired(link)

    def _abort(self, flight: Flight, dev: Device, reason: str) -> None:
        """A device failed under ``flight``: its attempt ends now (the pool already freed it)."""
        flight.token += 1  # callbacks already scheduled for this attempt become no-ops
        self._attempt_failed(flight, dev, reason)

    def _attempt_failed(self, flight: Flight, dev: Device, reason: str) -> None:
        """Record a failed attempt, then retry, reroute, fall back to GPUs or fail the job.

        See ``[faults]``: up to ``max_attempts`` attempts; from ``reroute_after`` failures on,
        the scheduler re-decides without the devices the job failed on; after the last attempt
        a quantum job runs classically (``fallback = "classical"``) or fails with its reason.
        """
        now = self.env.now
        self.recorder.intervals.append(
            IntervalRecord(dev.name, "failed", flight.dispatched_at, now, flight.job.job_id, reason)
        )
        if flight.label is not None:
            # A compute task is local to its GPU: it waits for the device and runs again.
            self._resubmit(flight, flight.decision)
            return
        policy = self.scenario.faults
        flight.failed_on = (*flight.failed_on, dev.name)
        flight.fail_reason = reason
        failures = len(flight.failed_on)
        if failures < policy.max_attempts:
            if failures >= policy.reroute_after and flight.job.pool is None:
                decision = self.scheduler.decide(flight.job, _View(self, set(flight.failed_on)))
            else:
                decision = dataclasses.replace(flight.decision, device=None)
            self._resubmit(flight, decision)
            return
        if policy.fallback == "classical" and flight.decision.route == "quantum":
            gpus = [p for p in self.pools.values() if p.kind == "gpu"]
            if gpus:
                pool = min(gpus, key=Pool.load)
                self._resubmit(flight, self._fixed_decisions[pool.name])
                return
        if flight.started_at < 0:  # aborted while its payload was still in transit
            flight.started_at = now
        flight.finished_at = now
        self._complete(flight, status="failed")

    def _resubmit(self, flight: Flight, decision: Decision) -> None:
        flight.attempts += 1
        flight.decision = decision
        flight.dispatched_at = flight.started_at = flight.finished_at = -1
        flight.device = None
        flight.outcome = None
        self.pools[decision.group].offer(flight)

    # -- routing -------------------------------------------------------------------------------
    def _static_decision(self, job: SolveJob) -> Decision:
        """Fixed routing for jobs that name a pool: the group with the least work per slot."""
        pool_name = job.pool
        candidates = self._pool_candidates.get(pool_name)
        if candidates is None:
            candidates = self._pool_candidates[pool_name] = [
                p for p in self.pools.values() if pool_name in (p.kind, p.name)
            ]
        if len(candidates) == 1:
            best = candidates[0]
        else:
            # Join the least loaded group (waiting + running per slot); ties go to file order.
            best = min(candidates, key=Pool.load)
        return self._fixed_decisions[best.name]

    # -- job lifecycle -------------------------------------------------------------------------
    def submit(
        self,
        job: SolveJob,
        on_done: Callable[[Flight], None] | None = None,
        decision: Decision | None = None,
    ) -> None:
        """Hand a job to the cluster at the current instant.

        Jobs that name a pool bypass the scheduler; the others get its decision, or
        ``decision`` when the submitter already obtained one (a QPU job whose block was prepared
        after the decision). ``on_done`` is called with the flight when the result is back at the
        job's origin.
        """
        if decision is None and job.pool is not None:
            decision = self._static_decision(job)
        elif decision is None:
            decision = self.scheduler.decide(job, self.view)
        if job.service_ticks is not None:
            predicted = job.service_ticks
        elif decision.predicted_s is not None:
            predicted = to_ticks(decision.predicted_s)
        else:
            predicted = 0
        flight = Flight(job, decision, self._seq, self.env.now, predicted, on_done)
        self._seq += 1
        self._outstanding += 1
        self.pools[decision.group].offer(flight)

    @contextlib.contextmanager
    def timed(self, key: str):
        """Add the wall-clock time of the ``with`` body to ``wall[key]`` (reported in the
        summary's ``wall``, the only non-deterministic values of a run)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.wall[key] = self.wall.get(key, 0.0) + time.perf_counter() - t0

    def next_job_id(self) -> int:
        """A fresh solve-job id (ids count up in submission order)."""
        self._job_ids += 1
        return self._job_ids - 1

    def home_gpu(self, tenant: int) -> Device:
        """The GPU a training tenant runs its forward/backward passes on (round robin)."""
        gpus = [d for p in self.pools.values() if p.kind == "gpu" for d in p.devices]
        return gpus[tenant % len(gpus)]

    def solve(self, job: SolveJob, decision: Decision | None = None) -> simpy.Event:
        """Submit ``job``; the returned event fires with its flight when the result is back."""
        ev = self.env.event()
        self.submit(job, on_done=ev.succeed, decision=decision)
        return ev

    def compute(
        self, device: Device, *, flops: float, nbytes: float = 0.0, label: str
    ) -> simpy.Event:
        """Occupy a slot of GPU ``device`` for a local kernel of ``flops`` / ``nbytes``.

        The time is the roofline max(flops / rate, bytes / bandwidth) plus one launch latency;
        the task queues with the device's other work and is recorded as an interval.
        """
        ticks = to_ticks(self.costs.gpu_kernel_s(device.config, flops, nbytes))
        job = SolveJob(job_id=-1, n=0, d=0, origin=device.name, service_ticks=ticks)
        decision = Decision(
            route="classical", group=device.pool.name, device=device.name, policy="compute"
        )
        ev = self.env.event()
        flight = Flight(job, decision, self._seq, self.env.now, ticks, ev.succeed, label=label)
        self._seq += 1
        self._outstanding += 1
        device.pool.offer(flight)
        return ev

    def _execute(self, flight: Flight, dev: Device) -> tuple[int, Outcome | None]:
        """Service ticks and outcome: explicit for synthetic jobs, else the device executes."""
        job = flight.job
        if job.service_ticks is not None:
            return job.service_ticks, None
        outcome = execute(
            job, dev.config, self.costs, self.scenario.quantum, self.streams[f"exec/{dev.name}"]
        )
        key = "circuit_s" if outcome.solver.startswith("hhl") else "solve_s"
        self.wall[key] += outcome.wall_s
        return to_ticks(outcome.service_s), outcome

    # -- the dispatch loop ---------------------------------------------------------------------
    # A zero-length service finishes at once, and the slot it releases takes the next waiting job
    # within the same call. Done by recursion, every queued zero-length job added about eight
    # stack frames, and a backlog of 124 exceeded Python's limit. So a start dispatched while a
    # start or a finish is already on the stack ("in the region") is queued, and the outermost
    # call runs the queue in dispatch order, after the job that freed the slot has completed.
    # Every instant is unchanged: the loop runs inside the same simulated instant.
    def _start(self, flight: Flight, dev: Device) -> None:
        """The pools' hook for a dispatched flight: move it to its device."""
        if self._in_region:
            self._pending_starts.append((flight, dev, flight.token))
            return
        self._in_region = True
        try:
            self._begin(flight, dev)
            if self._pending_starts:
                self._drain_starts()
        finally:
            self._in_region = False

    def _region(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` from an event callback, then the starts it dispatched."""
        self._in_region = True
        try:
            fn(*args)
            if self._pending_starts:
                self._drain_starts()
        finally:
            self._in_region = False

    def _drain_starts(self) -> None:
        pending = self._pending_starts
        try:
            while pending:
                flight, dev, token = pending.popleft()
                if flight.token == token:  # not aborted in the meantime
                    self._begin(flight, dev)
        except BaseException:
            pending.clear()
            raise

    def _begin(self, flight: Flight, dev: Device) -> None:
        job = flight.job
        if not self._charge_network:
            self._serve(flight, dev)
            return
        token = flight.token

        def arrived() -> None:
            if flight.token == token:  # else the attempt was aborted in transit
                if self._in_region:
                    self._serve(flight, dev)
                else:
                    self._region(self._serve, flight, dev)

        nbytes = job.payload_for(flight.decision.route)
        self.network.transfer(job.origin, dev.name, nbytes, arrived, job.job_id)

    def _serve(self, flight: Flight, dev: Device) -> None:
        flight.started_at = self.env.now
        service, outcome = self.executor(flight, dev)
        flight.outcome = outcome
        if service == 0:
            self._finish(flight, dev)
        else:
            flight.end_at = flight.started_at + service
            token = flight.token

            def done(_ev) -> None:
                if flight.token == token:
                    self._region(self._finish, flight, dev)

            self.env.timeout(service).callbacks.append(done)

    def _finish(self, flight: Flight, dev: Device) -> None:
        flight.finished_at = self.env.now
        dev.pool.release(dev, flight)
        outcome = flight.outcome
        if outcome is not None:
            if outcome.failure:  # the block gave no answer (see hybridsim.execution)
                self._attempt_failed(flight, dev, outcome.failure)
                return
            if outcome.p_fail > 0.0:
                if self.streams[f"faults/jobs/{dev.name}"].random() < outcome.p_fail:
                    self._attempt_failed(flight, dev, "gate or readout error")
                    return
        job = flight.job
        if not self._charge_network:
            self._complete(flight)
            return
        self.network.transfer(
            dev.name, job.origin, job.result_bytes, lambda: self._complete(flight), job.job_id
        )

    def _complete(self, flight: Flight, status: str = "completed") -> None:
        flight.status = status
        if flight.label is not None:
            # A device-local compute task: an interval, not a solve job.
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
            flight.on_done(flight)
            self._outstanding -= 1
            self._check_done()
            return
        job, decision, dev = flight.job, flight.decision, flight.device
        # Positional construction: this runs once per job and keyword passing costs ~40 %.
        self.recorder.jobs.append(
            JobRecord(
                job.job_id,
                job.tenant,
                job.step,
                job.block,
                job.n,
                job.d,
                job.priority,
                decision.route,
                decision.group,
                dev.name,
                status,
                flight.submitted_at,
                flight.dispatched_at,
                flight.started_at,
                flight.finished_at,
                self.env.now,
                job.kappa_est,
                job.kappa_true,
                job.estimator,
                decision.predicted_s,
                decision.predicted_classical_s,
                decision.predicted_quantum_s,
                *_outcome_fields(flight.outcome, job.service_ticks is not None),
                flight.attempts,
                flight.fail_reason if status == "failed" else "",
                *(flight.outcome.resources if flight.outcome is not None else (None,) * 4),
            )
        )
        if flight.on_done is not None:
            flight.on_done(flight)
        self._outstanding -= 1
        self._check_done()

    def _check_done(self) -> None:
        if self._workload_done and self._outstanding == 0 and not self._finished.triggered:
            self._finished.succeed()

    # -- workloads -----------------------------------------------------------------------------
    def _arrivals(self, jobs: Iterator[tuple[int, SolveJob]]) -> None:
        """Submit ``(gap, job)`` pairs, each ``gap`` ticks after the previous one.

        A callback chain rather than a generator process: one Timeout per arrival and no
        process resumption, which is a measurable share of the per-job cost.
        """
        env = self.env

        def step(_ev=None, job: SolveJob | None = None) -> None:
            if job is not None:
                self.submit(job)
            for gap, nxt in jobs:
                if gap:
                    env.timeout(gap).callbacks.append(lambda ev, j=nxt: step(ev, j))
                    return
                self.submit(nxt)
            self._workload_done = True
            self._check_done()

        step()

    def _start_workload(self) -> None:
        wl = self.scenario.workload
        if isinstance(wl, SyntheticWorkload):
            from hybridsim.workload.synthetic import synthetic_jobs

            self._arrivals(synthetic_jobs(wl, self.streams, self.scenario.cluster.host))
            return
        if isinstance(wl, MLPWorkload | ShapesWorkload):
            from hybridsim.sim.training import mlp_trainer, shapes_trainer

            trainer = mlp_trainer if isinstance(wl, MLPWorkload) else shapes_trainer
            procs = [self.env.process(trainer(self, t, self.run_name)) for t in range(wl.tenants)]

            def all_trained(_ev) -> None:
                self._workload_done = True
                self._check_done()

            self.env.all_of(procs).callbacks.append(all_trained)
            return
        raise ScenarioError(  # pragma: no cover - the schema admits no other kind yet
            self.scenario.source, "workload.kind", f"unsupported workload {wl.kind!r}"
        )

    # -- running -------------------------------------------------------------------------------
    def run(self, progress: Callable[[Progress], None] | None = None) -> Recorder:
        """Run to the end of the workload (or to ``scenario.until``) and return the records.

        ``progress``, if given, is called with a :class:`Progress` about every
        ``PROGRESS_INTERVAL_S`` of wall-clock time and once at the end. It only reads counters,
        so the records are the same with or without it.
        """
        from threadpoolctl import threadpool_limits

        t0 = time.perf_counter()
        # One BLAS thread: multithreaded reductions may round differently from run to run and
        # machine to machine (breaking byte-identical outputs), and on a busy 2-core machine they
        # make the many small solves of a run 10-50x slower, not faster.
        with threadpool_limits(limits=1):
            self._start_workload()
            stop = self._finished
            if self.scenario.until is not None:
                deadline = self.env.timeout(self.scenario.until)
                stop = self.env.any_of([self._finished, deadline])
            if progress is None:
                self.env.run(until=stop)
            else:
                self._run_reporting(stop, progress)
        self.wall["simulate_s"] = time.perf_counter() - t0
        return self.recorder

    PROGRESS_INTERVAL_S = 0.2
    _PROGRESS_EVERY = 64  # events between looks at the wall clock

    def _run_reporting(self, stop: simpy.Event, progress: Callable[[Progress], None]) -> None:
        """``env.run(until=stop)``, stepping in batches and calling ``progress`` between them.

        The same loop as SimPy's ``Environment.run`` (stop through ``StopSimulation`` raised by
        ``stop``'s callback, so no event past ``stop`` is processed): the simulation cannot
        tell the difference, and the path without progress stays ``env.run`` itself.
        """
        from simpy.core import EmptySchedule, StopSimulation

        env, rec = self.env, self.recorder

        def report() -> None:
            progress(Progress(self.run_name, env.now, len(rec.jobs), len(rec.steps)))

        if stop.callbacks is not None:  # not processed yet
            stop.callbacks.append(StopSimulation.callback)
            step, clock, every = env.step, time.monotonic, self._PROGRESS_EVERY
            due = clock() + self.PROGRESS_INTERVAL_S
            try:
                while True:
                    for _ in range(every):
                        step()
                    if clock() >= due:
                        report()
                        due = clock() + self.PROGRESS_INTERVAL_S
            except StopSimulation:
                pass
            except EmptySchedule:
                raise RuntimeError(  # pragma: no cover - as env.run: the workload always ends
                    f'No scheduled events left but "until" event was not triggered: {stop}'
                ) from None
        report()


_NO_OUTCOME = (None,) * 10


def _outcome_fields(o: Outcome | None, explicit: bool) -> tuple:
    """JobRecord fields from ``solver`` to ``solution_error``, in declaration order."""
    if o is None:
        return ("explicit" if explicit else None, None, None, None, False, *_NO_OUTCOME)
    return (
        o.solver,
        o.method,
        o.matrix,
        o.assembly_s,
        o.factor_reused,
        o.compute_s,
        o.state_prep_s,
        o.readout_s,
        o.overhead_s,
        o.queries,
        o.shots,
        o.n_qubits,
        o.success_probability,
        o.fidelity,
        o.solution_error,
    )


def run(
    scenario: str | Path | dict | Scenario,
    *,
    seed: int | None = None,
    overrides=(),
    progress: Callable[[Progress], None] | None = None,
):
    """Run a scenario and return its :class:`~hybridsim.results.RunResult`.

    Parameters
    ----------
    scenario : path, dict or Scenario
        What to run.
    seed : int, optional
        Root seed; defaults to the scenario's ``seed``.
    overrides : iterable of str
        ``key.path=value`` overrides, as ``--set`` takes them.
    progress : callable, optional
        Called with a :class:`Progress` now and then during the main run and each baseline
        run (see :meth:`Simulation.run`); the results do not depend on it.

    Examples
    --------
    >>> import hybridsim
    >>> r = hybridsim.run({
    ...     "cluster": {"gpu": [{"name": "g"}]},
    ...     "workload": {"kind": "synthetic", "jobs": 2, "pool": "gpu",
    ...                  "arrival": {"dist": "deterministic", "interval_s": 1},
    ...                  "service": {"dist": "deterministic", "value_s": 0.5}}})
    >>> r.summary["jobs_completed"]
    2
    """
    from hybridsim.results import RunResult

    sc = load_scenario(scenario, overrides)
    if seed is not None:
        sc = sc.with_seed(seed)
    sim = Simulation(sc, sc.seed)
    records = sim.run(progress)
    baselines = {}
    for name, variant in baseline_scenarios(sc).items():
        bsim = Simulation(variant, sc.seed, run_name=name)
        baselines[name] = bsim.run(progress)
        for k, v in bsim.wall.items():
            sim.wall[f"{name}_{k}"] = v
    return RunResult.from_records(sc, sc.seed, records, sim, baselines=baselines)


_BASELINE_OVERRIDES = {
    "classical_newton": (("workload.optimizer", "newton"), ("scheduler.policy", "classical_only")),
    "sgd": (("workload.optimizer", "sgd"),),
    "adam": (("workload.optimizer", "adam"),),
    "kfac": (("workload.optimizer", "kfac"),),
}


def baseline_scenarios(sc: Scenario) -> dict[str, Scenario]:
    """The comparison runs a training scenario asks for, each on the same data and seed.

    A baseline identical to the main run (e.g. ``classical_newton`` when the main run already
    routes everything classically) is skipped. Baseline runs record no true κ (it costs only
    wall time and is not compared).
    """
    wl = sc.workload
    if not isinstance(wl, MLPWorkload):
        return {}
    out = {}
    for name in wl.baselines:
        if name == "classical_newton" and wl.optimizer == "newton":
            if sc.scheduler.policy == "classical_only":
                continue
        elif name in ("sgd", "adam", "kfac") and wl.optimizer == name:
            continue
        extra = (("workload.baselines", []), ("workload.kappa_true", False))
        out[name] = load_scenario(sc, [*_BASELINE_OVERRIDES[name], *extra])
    return out
