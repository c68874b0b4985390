"""The simulation engine: one run of a scenario on a SimPy environment.

:class:`Simulation` builds the run from a :class:`~hybridsim.scenario.Scenario` (environment,
network, pools, cost model, scheduler, fault processes), starts its workload and runs it to the
end; the records it returns become a :class:`~hybridsim.results.RunResult` in the API layer
(:func:`hybridsim.run`, :mod:`hybridsim.api`). The pieces it wires together:

* :mod:`~hybridsim.sim.devices` and :mod:`~hybridsim.sim.network`: pools, queues, slots,
  calibration windows; links and transfers;
* :mod:`~hybridsim.sim.routing`: the scheduler's view of the pools, fixed routes;
* :mod:`~hybridsim.sim.lifecycle`: a job's path from dispatch to its record;
* :mod:`~hybridsim.sim.faults`: outages of devices and links, and recovery of failed attempts;
* :mod:`~hybridsim.sim.workloads` and :mod:`~hybridsim.sim.training`: what submits the jobs
  (trainers use the run through :class:`~hybridsim.sim.training.TrainingHost`, which
  :class:`Simulation` provides).

Ties at one instant follow one rule, never the order events happened to be scheduled in
(docs/background/simulation.md, "Ties"; implemented in :mod:`hybridsim.sim.devices`). Every run
is deterministic for a given seed.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from heapq import heappop
from typing import Any, NamedTuple

import networkx as nx
import simpy

from hybridsim.costs.model import CostModel
from hybridsim.errors import ScenarioError
from hybridsim.records import CHECKPOINT_EVENTS, Recorder, StepRecord
from hybridsim.rng import Streams
from hybridsim.scenario import Scenario, device_names
from hybridsim.scheduling.base import Decision, SolveJob
from hybridsim.scheduling.registry import make_scheduler
from hybridsim.sim.clock import TickEnvironment
from hybridsim.sim.devices import Clock, Device, Flight, Pool
from hybridsim.sim.faults import Recovery, device_outages, link_outages
from hybridsim.sim.lifecycle import JobPath, ServiceFn, device_service
from hybridsim.sim.network import Network, build_graph
from hybridsim.sim.routing import ClusterView, FixedRoutes
from hybridsim.sim.workloads import STARTERS, arrivals
from hybridsim.timebase import to_ticks

__all__ = ["Simulation", "Progress", "ServiceFn"]


class Progress(NamedTuple):
    """What a ``progress`` callback of :meth:`Simulation.run` is given: the run's name (``main``
    or a baseline's), the simulated time in ticks, and the job and step records so far."""

    run: str
    now_ticks: int
    jobs_done: int
    steps_done: int


class Simulation:
    """One run of a scenario.

    Parameters
    ----------
    scenario : Scenario
    seed : int
        Root seed of every random stream of the run.
    run_name : str
        ``"main"``, or the baseline's name (recorded in the step rows).
    recorder : Recorder, optional
        Where the records go (default: a new in-memory :class:`~hybridsim.records.Recorder`).
        Anything with the Recorder's four lists and its ``checkpoint`` method works: the
        simulation only appends to the lists, reads their lengths and calls ``checkpoint`` every
        few events (:class:`hybridsim.outputs.stream.StreamingRecorder` streams them to disk).

    Attributes
    ----------
    env : hybridsim.sim.clock.TickEnvironment
        Its clock counts integer ticks.
    recorder : Recorder
    pools : dict of str to Pool
    network : Network
    costs : CostModel
    scheduler : Scheduler
    view : ClusterView
        What the scheduler sees.
    path : JobPath
        The job path; ``path.service`` is the :data:`ServiceFn` devices serve jobs with.
    wall : dict of str to float
        Wall-clock seconds by activity (the summary's ``wall``).
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        run_name: str = "main",
        recorder: Recorder | None = None,
    ):
        self.scenario = scenario
        self.run_name = run_name
        self.seed = seed
        self.streams = Streams(seed)
        self.env = env = TickEnvironment(initial_time=0)
        self.recorder = recorder if recorder is not None else Recorder()
        graph = build_graph(scenario)
        _check_connected(scenario, graph)
        self.clock = clock = Clock(env)  # every callback, at its tie-rule priority
        self.network = Network(clock, graph, self.recorder)
        self.costs = CostModel(scenario.costs)
        self.scheduler = make_scheduler(
            scenario.scheduler.policy, config=scenario.scheduler, costs=self.costs
        )
        self.uses_estimate: bool = self.scheduler.uses_estimate
        self.wall: dict[str, float] = {"solve_s": 0.0, "circuit_s": 0.0}
        self.pools: dict[str, Pool] = {}  # filled below; the parts hold the live dict
        service = device_service(self.costs, scenario.quantum, self.streams, self.wall)
        self.path = JobPath(
            clock, self.pools, self.network, self.recorder, self.costs.charges_transfer, service
        )
        self.view = ClusterView(lambda: env.now, self.pools, self.network.uncontended_ticks)
        self.routes = FixedRoutes(self.pools)
        self.path.recovery = recovery = Recovery(
            scenario.faults, self.path, self.routes, self.scheduler, self.view, self.streams
        )
        for grp in scenario.cluster.groups:
            self.pools[grp.name] = Pool(
                env,
                grp.name,
                grp.kind,
                grp,
                device_names(grp),
                self.recorder,
                self.path.dispatched,
                recovery.aborted,
                record_queue=scenario.output.queue_levels,
                clock=self.clock,
            )
        self._job_ids = 0
        # Calibration and fault processes start at time 0, in file order (their first events'
        # order at an instant is their scheduling order).
        for pool in self.pools.values():
            pool.start_calibration_clocks()
            if pool.config.failures is not None:
                device_outages(pool, pool.config.failures, self.clock, self.streams, self.recorder)
        if scenario.network.link_failures is not None:
            link_outages(
                self.network,
                scenario.network.link_failures,
                self.clock,
                self.streams,
                self.recorder,
            )

    # -- submitting work (the workloads' interface; trainers: TrainingHost) ----------------------
    def submit(
        self,
        job: SolveJob,
        on_done: Callable[[Flight], object] | None = None,
        decision: Decision | None = None,
    ) -> None:
        """Hand a job to the cluster at the current instant.

        Jobs that name a pool bypass the scheduler; the others get its decision, or
        ``decision`` when the submitter already obtained one (a QPU job whose block was prepared
        after the decision). ``on_done`` is called with the flight when the result is back at the
        job's origin.
        """
        if decision is None:
            if job.pool is not None:
                decision = self.routes.decide(job)
            else:
                decision = self.scheduler.decide(job, self.view)
        if job.service_ticks is not None:
            predicted = job.service_ticks
        elif decision.predicted_s is not None:
            predicted = to_ticks(decision.predicted_s)
        else:
            predicted = 0
        self.path.admit(job, decision, predicted, on_done)

    def decide(self, job: SolveJob) -> Decision:
        """The scheduler's decision for ``job`` at the current instant."""
        return self.scheduler.decide(job, self.view)

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
        self.path.admit(job, decision, ticks, ev.succeed, label=label)
        return ev

    def next_job_id(self) -> int:
        """A fresh solve-job id (ids count up in submission order)."""
        self._job_ids += 1
        return self._job_ids - 1

    def home_gpu(self, tenant: int) -> Device:
        """The GPU a training tenant runs its forward/backward passes on (round robin)."""
        gpus = [d for p in self.pools.values() if p.kind == "gpu" for d in p.devices]
        return gpus[tenant % len(gpus)]

    def record_step(self, step: StepRecord) -> None:
        """Append a training step's record."""
        self.recorder.steps.append(step)

    @contextlib.contextmanager
    def timed(self, key: str) -> Iterator[None]:
        """Add the wall-clock time of the ``with`` body to ``wall[key]`` (reported in the
        summary's ``wall``, the only non-deterministic values of a run)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.wall[key] = self.wall.get(key, 0.0) + time.perf_counter() - t0

    # -- running ---------------------------------------------------------------------------------
    def run(
        self,
        progress: Callable[[Progress], None] | None = None,
        *,
        jobs: Iterable[tuple[int, SolveJob]] | None = None,
    ) -> Recorder:
        """Run to the end of the workload (or to ``scenario.until``) and return the records.

        Parameters
        ----------
        progress : callable, optional
            Called with a :class:`Progress` about every ``PROGRESS_INTERVAL_S`` of wall-clock
            time and once at the end. It only reads counters, so the records are the same with
            or without it.
        jobs : iterable of (int, SolveJob), optional
            Submit these ``(gap ticks, job)`` pairs instead of the scenario's workload (for
            tests and scripts that build their own jobs).
        """
        from threadpoolctl import threadpool_limits

        t0 = time.perf_counter()
        # One BLAS thread: multithreaded reductions may round differently from run to run and
        # machine to machine (breaking byte-identical outputs), and on a busy 2-core machine they
        # make the many small solves of a run 10-50x slower, not faster.
        with threadpool_limits(limits=1):
            done = self.path.workload_done
            if jobs is None:
                STARTERS[self.scenario.workload.kind](self, done)
            else:
                arrivals(self.clock, self.submit, jobs, done)
            stop = self.path.finished
            if self.scenario.until is not None:
                deadline = self.env.timeout(self.scenario.until)
                stop = self.env.any_of([stop, deadline])
            self._loop(stop, progress)
        self.wall["simulate_s"] = time.perf_counter() - t0
        return self.recorder

    def close(self) -> None:
        """Let go of the records (after :meth:`run`, once they have been taken).

        The run's parts refer to each other (pools and their devices, the job path, the fault
        processes), so Python frees them only in a full garbage-collector pass, and with them
        the records they hold: in a process that runs many simulations (a sweep worker) the
        records of earlier runs stayed in memory until then and made that pass slow. After
        ``close`` the records belong to whoever kept them and go when they do. The simulation
        cannot run again.
        """
        holders: list[Any] = [self, self.network, self.path, *self.pools.values()]
        for pool in self.pools.values():
            holders += [d.faults for d in pool.devices if d.faults is not None]
        for link in self.network.undirected_links():
            holders += [d.faults for d in link if d.faults is not None]
        for holder in holders:
            holder.recorder = None

    PROGRESS_INTERVAL_S = 0.2

    def _loop(self, stop: simpy.Event, progress: Callable[[Progress], None] | None) -> None:
        """Process events until ``stop`` has been processed: ``env.run(until=stop)``, inlined.

        The loop body is SimPy's ``Environment.step`` (pop the next event, run its callbacks,
        crash on a failed event nobody defused) without a method call per event, which is a
        tenth of an event's cost; the engine's own delays (the clock's ``(fn, arg)`` pairs, most
        of a run's events: :mod:`hybridsim.sim.clock`) are called directly. Events are
        processed in the same order, and no event after ``stop`` is. Every
        :data:`~hybridsim.records.CHECKPOINT_EVENTS` events it calls the recorder's
        ``checkpoint`` (where a streaming recorder spills; once more at the end) and, with
        ``progress``, looks at the wall clock: ``progress`` is called about every
        ``PROGRESS_INTERVAL_S`` and once at the end. It only reads counters, so the run is the
        same with or without it.
        """
        env, rec = self.env, self.recorder
        queue = env._queue
        if stop.callbacks is not None:  # not processed yet
            stopped: list = []
            stop.callbacks.append(stopped.append)
            clock = time.monotonic
            due = clock() + self.PROGRESS_INTERVAL_S
            every = CHECKPOINT_EVENTS
            checkpoint = rec.checkpoint
            count = 0
            while not stopped:
                try:
                    env._now, _, _, event = heappop(queue)
                except IndexError:
                    raise RuntimeError(  # pragma: no cover - the workload always ends
                        f'No scheduled events left but "until" event was not triggered: {stop}'
                    ) from None
                if event.__class__ is tuple:  # the clock's (fn, arg) delays: fn(arg), nothing else
                    fn, arg = event
                    fn(arg)
                else:
                    callbacks, event.callbacks = event.callbacks, None
                    for callback in callbacks:
                        callback(event)
                    if not event._ok and not hasattr(event, "_defused"):
                        # as Environment.step: a failed event nobody handled crashes the run
                        exc = type(event._value)(*event._value.args)
                        exc.__cause__ = event._value
                        raise exc
                count += 1
                if count == every:
                    count = 0
                    checkpoint()
                    if progress is not None and clock() >= due:
                        progress(Progress(self.run_name, env.now, len(rec.jobs), len(rec.steps)))
                        due = clock() + self.PROGRESS_INTERVAL_S
        rec.checkpoint()
        if progress is not None:
            progress(Progress(self.run_name, env.now, len(rec.jobs), len(rec.steps)))


def _check_connected(scenario: Scenario, graph: nx.Graph) -> None:
    host = scenario.cluster.host
    reachable = nx.node_connected_component(graph, host)
    for grp in scenario.cluster.groups:
        for dev in device_names(grp):
            if dev not in reachable:
                raise ScenarioError(
                    scenario.source,
                    "network.links",
                    f"device {dev!r} is not connected to the host {host!r}",
                    "a path of links from the host to every device",
                )


# -- deprecated: the API layer's functions, under their old home (one release; CHANGELOG.md) ----
_MOVED = {"run": "hybridsim.api", "baseline_scenarios": "hybridsim.api"}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"hybridsim.sim.engine.{name} moved to {module}.{name} (use hybridsim.{name} or "
        f"{module}.{name}); the old name goes in the next release",
        DeprecationWarning,
        stacklevel=2,
    )
    import importlib

    return getattr(importlib.import_module(module), name)
