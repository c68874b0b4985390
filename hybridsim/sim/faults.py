"""Fault injection and recovery: outage processes of devices and links, generated lazily over
the run, and what happens to an attempt that fails.

Outages. A resource (a device, or both directions of a link) fails and is repaired: at
exponential times to failure of mean ``mtbf`` and/or at the explicit instants ``at``, each outage
lasting ``mttr`` (deterministic) or an exponential time of that mean. Draws come from the stream
``faults/<name>``, so outages never depend on the workload or the scheduler. A device that fails
aborts the jobs it holds (:meth:`Pool.fail <hybridsim.sim.devices.Pool.fail>`); transfers
reaching a down link wait for its repair (:meth:`Network.link_repaired
<hybridsim.sim.network.Network.link_repaired>`). :func:`device_outages` and
:func:`link_outages` wire a resource's process to it.

Outage schedules are lazy: what one costs is what happens during the run, not the simulated
span:

* explicit instants are scheduled one at a time (the next when the previous fires), so a long
  ``at`` list costs one pending event;
* a resource that stays idle (it holds and awaits no work, and nothing looked at it) for
  :data:`DORMANT_AFTER` consecutive cycles stops generating events: its process goes *dormant*.
  When the engine next needs its state (a job offered to its pool, a scheduler decision, a
  transfer reaching the link, an explicit instant), the process *wakes*: over a gap of at most
  :data:`DORMANT_AFTER` mean cycles it replays the cycles it skipped with the same draws (and
  records them); over a longer gap it draws the state from the process's stationary law
  (down with probability E[repair]/(mtbf + E[repair]), the remaining repair from its
  equilibrium residual: uniform for a deterministic repair, exponential for an exponential one;
  up: the next failure an exponential time away, exact since times to failure are memoryless).
  The outages of such a long idle stretch are not recorded one by one, and no event is spent
  on them: a run that waits 10¹² s for one repair does not simulate 10⁹ outages of idle QPUs.

A resource that is busy, or awaited, never goes dormant, so every outage that can touch a job is
simulated event by event, and runs whose resources are never idle that long (every scenario
file) are unchanged by the laziness.

Recovery (:class:`Recovery`, the ``[faults]`` section). An attempt fails when its device fails
under it, when the block gave no answer (``Outcome.failure``) or when a gate or readout error
corrupts it (probability ``Outcome.p_fail``, drawn from ``faults/jobs/<device>``). It is recorded
as a ``failed`` interval; the job is then retried, rerouted, sent to GPUs or failed for good.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hybridsim.records import IntervalRecord, Recorder
from hybridsim.sim.devices import DORMANT_AFTER, END_PRIORITY, START_PRIORITY, Clock
from hybridsim.timebase import TICKS_PER_SECOND, to_ticks

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.execution import Outcome
    from hybridsim.rng import Streams
    from hybridsim.scenario import FailureModel, FaultPolicy
    from hybridsim.scheduling.base import Decision, Scheduler
    from hybridsim.sim.devices import Device, Flight, Pool
    from hybridsim.sim.lifecycle import JobPath
    from hybridsim.sim.network import LinkState, Network
    from hybridsim.sim.routing import ClusterView, FixedRoutes

__all__ = ["OutageProcess", "DORMANT_AFTER", "device_outages", "link_outages", "Recovery"]


class OutageProcess:
    """The up/down history of one resource (see the module docstring).

    Parameters
    ----------
    clock : Clock
        The run's clock (failures at START_PRIORITY, repairs at END_PRIORITY).
    rng : numpy.random.Generator
        The stream ``faults/<name>``.
    model : FailureModel
        ``mtbf``, ``mttr``, ``repair``, ``at`` (ticks).
    resource : str
        The name outage intervals are recorded under.
    recorder : Recorder
    down, up : callable
        Take the resource down now (aborting what it holds) / bring it back.
    idle : callable
        Whether the resource holds and awaits no work right now.
    touched : callable
        The last instant the engine looked at the resource (offered it work, showed it to the
        scheduler, sent a transfer over it).
    sleepers : dict, optional
        Where the process registers itself while dormant (its pool's, so that an offer can wake
        it); links are observed through their ``faults`` attribute instead.
    """

    __slots__ = (
        "clock",
        "env",
        "rng",
        "model",
        "resource",
        "recorder",
        "_down_fn",
        "_up_fn",
        "_idle",
        "_touched",
        "down",
        "down_since",
        "_explicit",
        "_next_explicit",
        "_cycle_end",
        "_idle_cycles",
        "dormant_since",
        "_gen",
        "_sleepers",
    )

    def __init__(
        self,
        clock: Clock,
        rng: Any,
        model: Any,
        resource: str,
        recorder: Recorder,
        down: Callable[[], None],
        up: Callable[[], None],
        idle: Callable[[], bool],
        touched: Callable[[], int],
        sleepers: dict | None = None,
    ):
        self.clock = clock
        self.env = clock.env
        self.rng = rng
        self.model = model
        self.resource = resource
        self.recorder = recorder
        self._down_fn, self._up_fn = down, up
        self._idle, self._touched = idle, touched
        self.down = False
        self.down_since = -1
        self._explicit = sorted(model.at)
        self._next_explicit = 0
        self._cycle_end = 0  # end of the previous up/down cycle (its repair)
        self._idle_cycles = 0
        self.dormant_since = -1  # >= 0 while dormant: the instant it was last known up
        self._gen = 0  # generation of the pending random failure (a failure cancels it)
        self._sleepers = sleepers

    # -- draws (in the same order as when every cycle is an event: repair at failure, then the
    # next time to failure at the repair) --------------------------------------------------------
    def _repair_ticks(self) -> int:
        m = self.model
        if m.repair == "deterministic":
            return m.mttr
        return max(1, to_ticks(float(self.rng.exponential(m.mttr / TICKS_PER_SECOND))))

    def _ttf_ticks(self) -> int:
        return max(1, to_ticks(float(self.rng.exponential(self.model.mtbf / TICKS_PER_SECOND))))

    # -- the event-by-event process --------------------------------------------------------------
    def start(self) -> None:
        """Schedule the first failures (at time 0, before the workload starts)."""
        if self.model.mtbf is not None:
            self._next_random(self._ttf_ticks())
        self._schedule_explicit(at_start=True)

    def _next_random(self, delay: int) -> None:
        gen = self._gen

        def fire(_ev) -> None:
            if gen == self._gen:  # else an explicit failure came first and renewed the clock
                self._fail()

        self.clock.call_in(delay, START_PRIORITY, fire)

    def _schedule_explicit(self, at_start: bool = False) -> None:
        if self._next_explicit >= len(self._explicit):
            return
        instant = self._explicit[self._next_explicit]
        self._next_explicit += 1
        delay = instant - self.env.now
        if delay <= 0 and at_start:
            self._explicit_failure()  # at time 0, before anything runs
        else:
            self.clock.call_in(max(0, delay), START_PRIORITY, self._explicit_failure)

    def _explicit_failure(self, _ev=None) -> None:
        self.observe()
        self._fail()  # an instant inside an outage is absorbed by it
        self._schedule_explicit()

    def _fail(self) -> None:
        if self.down:
            return
        self.down = True
        self.down_since = self.env.now
        self._gen += 1  # the time to the next random failure restarts at the repair (renewal)
        self._down_fn()
        self.clock.call_in(self._repair_ticks(), END_PRIORITY, self._repair)

    def _repair(self, _ev=None) -> None:
        now = self.env.now
        self.down = False
        self.recorder.intervals.append(
            IntervalRecord(self.resource, "outage", self.down_since, now, -1, "down")
        )
        self._up_fn()
        if self.model.mtbf is None:
            return
        # A cycle counts as idle when the resource is idle now and nobody looked at it since
        # the previous cycle ended.
        if self._idle() and self._touched() < self._cycle_end:
            self._idle_cycles += 1
        else:
            self._idle_cycles = 0
        self._cycle_end = now
        if self._idle_cycles >= DORMANT_AFTER:
            self.dormant_since = now  # up, and its next time to failure is not drawn yet
            if self._sleepers is not None:
                self._sleepers[self] = None  # a dict: wakes go in a deterministic order
            return
        self._next_random(self._ttf_ticks())

    # -- laziness --------------------------------------------------------------------------------
    @property
    def dormant(self) -> bool:
        return self.dormant_since >= 0

    def observe(self) -> None:
        """The engine needs the resource's state now: wake the process if it is dormant."""
        if self.dormant_since >= 0:
            self._wake()

    def _wake(self) -> None:
        now = self.env.now
        since, self.dormant_since = self.dormant_since, -1
        if self._sleepers is not None:
            self._sleepers.pop(self, None)
        self._idle_cycles = 0
        self._cycle_end = now
        m = self.model
        mean_repair = m.mttr  # deterministic or exponential, the mean is mttr
        if now - since <= DORMANT_AFTER * (m.mtbf + mean_repair):
            self._replay(since, now)
            return
        # A long gap: the stationary law of the alternating renewal process.
        if float(self.rng.random()) < mean_repair / (m.mtbf + mean_repair):
            if m.repair == "deterministic":
                age = min(m.mttr - 1, int(float(self.rng.random()) * m.mttr))
                remaining = m.mttr - age
            else:
                age = to_ticks(float(self.rng.exponential(m.mttr / TICKS_PER_SECOND)))
                remaining = self._repair_ticks()
            self._go_down(max(since, now - age), max(1, remaining))
        else:
            self._next_random(self._ttf_ticks())

    def _replay(self, since: int, now: int) -> None:
        """Run the skipped cycles from ``since`` (up, fresh) to ``now`` with the same draws."""
        t = since + self._ttf_ticks()
        while t <= now:
            r = self._repair_ticks()
            if t + r > now:
                self._go_down(t, t + r - now)
                return
            self.recorder.intervals.append(
                IntervalRecord(self.resource, "outage", t, t + r, -1, "down")
            )
            t = t + r + self._ttf_ticks()
        self._next_random(t - now)

    def _go_down(self, started: int, remaining: int) -> None:
        """Down since ``started`` (in the past), repaired ``remaining`` ticks from now."""
        self.down = True
        self.down_since = started
        self._gen += 1
        self._down_fn()
        self.clock.call_in(remaining, END_PRIORITY, self._repair)


# -- wiring outages to devices and links --------------------------------------------------------
def device_outages(
    pool: Pool,
    model: FailureModel,
    clock: Clock,
    streams: Streams,
    recorder: Recorder,
) -> None:
    """Each device of ``pool`` fails and is repaired; the jobs it holds when it fails are
    aborted (the pool's abort hook: :meth:`Recovery.aborted`)."""
    for dev in pool.devices:
        _device_outage(pool, dev, model, clock, streams, recorder)


def _device_outage(pool, dev, model, clock, streams, recorder) -> None:
    def idle() -> bool:
        return dev.running == 0 and not len(dev.own) and not len(pool.queue)

    proc = OutageProcess(
        clock,
        streams[f"faults/{dev.name}"],
        model,
        dev.name,
        recorder,
        down=lambda: pool.fail(dev, "outage"),
        up=lambda: pool.repair(dev),
        idle=idle,
        touched=lambda: pool.touched_at,
        sleepers=pool.sleepers,
    )
    dev.faults = proc
    proc.start()


def link_outages(
    network: Network, model: FailureModel, clock: Clock, streams: Streams, recorder: Recorder
) -> None:
    """Both directions of every link fail and are repaired together; transfers reaching a down
    link wait for the repair."""
    network.fast_path = False  # zero-byte messages must see outages too
    for link in network.undirected_links():
        _link_outage(network, link, model, clock, streams, recorder)


def _link_outage(network, link: Sequence[LinkState], model, clock, streams, recorder) -> None:
    env = clock.env
    name = f"link:{link[0].src}<->{link[0].dst}"

    def idle() -> bool:
        return all(not d.blocked and d.free_at <= env.now for d in link)

    def down() -> None:
        for direction in link:
            direction.up = False

    def up() -> None:
        for direction in link:
            direction.up = True
        network.link_repaired(link)

    proc = OutageProcess(
        clock,
        streams[f"faults/{name}"],
        model,
        name,
        recorder,
        down=down,
        up=up,
        idle=idle,
        touched=lambda: max(d.touched_at for d in link),
    )
    for direction in link:
        direction.faults = proc
    proc.start()


# -- recovery ----------------------------------------------------------------------------------
class Recovery:
    """Retry, reroute, fall back to GPUs or fail a job whose attempt failed (``[faults]``).

    Up to ``max_attempts`` attempts; from ``reroute_after`` failures on, the scheduler re-decides
    without the devices the job failed on; after the last attempt a quantum job runs classically
    (``fallback = "classical"``) or fails with its reason. A device-local compute task (a
    training kernel) waits for its device and runs again.

    Parameters
    ----------
    policy : FaultPolicy
        The scenario's ``[faults]``.
    path : JobPath
        Where retried flights go back to, and failed ones end.
    routes : FixedRoutes
    scheduler : Scheduler
    view : ClusterView
        The scheduler's view (reroutes see it without the failed devices).
    streams : Streams
        ``faults/jobs/<device>`` draws gate and readout errors.
    """

    def __init__(
        self,
        policy: FaultPolicy,
        path: JobPath,
        routes: FixedRoutes,
        scheduler: Scheduler,
        view: ClusterView,
        streams: Streams,
    ):
        self.policy = policy
        self.path = path
        self.routes = routes
        self.scheduler = scheduler
        self.view = view
        self.streams = streams

    def aborted(self, flight: Flight, dev: Device, reason: str) -> None:
        """The pools' hook: ``dev`` failed under ``flight`` (the pool already freed the slot)."""
        flight.token += 1  # callbacks already scheduled for this attempt become no-ops
        self.attempt_failed(flight, dev, reason)

    def outcome_failed(self, flight: Flight, dev: Device, outcome: Outcome) -> bool:
        """Whether the finished attempt failed: the block gave no answer (see
        :mod:`hybridsim.execution`), or a gate or readout error corrupted it."""
        if outcome.failure:
            self.attempt_failed(flight, dev, outcome.failure)
            return True
        # (the stream is drawn from only when the attempt can fail: same draws as before)
        if (
            outcome.p_fail > 0.0
            and self.streams[f"faults/jobs/{dev.name}"].random() < outcome.p_fail
        ):
            self.attempt_failed(flight, dev, "gate or readout error")
            return True
        return False

    def attempt_failed(self, flight: Flight, dev: Device, reason: str) -> None:
        """Record a failed attempt, then retry, reroute, fall back or fail the job."""
        path = self.path
        now = path.env.now
        path.recorder.intervals.append(
            IntervalRecord(dev.name, "failed", flight.dispatched_at, now, flight.job.job_id, reason)
        )
        if flight.label is not None:
            # A compute task is local to its GPU: it waits for the device and runs again.
            self._resubmit(flight, flight.decision)
            return
        policy = self.policy
        flight.failed_on = (*flight.failed_on, dev.name)
        flight.fail_reason = reason
        failures = len(flight.failed_on)
        if failures < policy.max_attempts:
            if failures >= policy.reroute_after and flight.job.pool is None:
                decision = self.scheduler.decide(flight.job, self.view.excluding(flight.failed_on))
            else:
                decision = flight.decision._replace(device=None)
            self._resubmit(flight, decision)
            return
        if policy.fallback == "classical" and flight.decision.route == "quantum":
            fallback = self.routes.least_loaded("gpu")
            if fallback is not None:
                self._resubmit(flight, fallback)
                return
        if flight.started_at < 0:  # aborted while its payload was still in transit
            flight.started_at = now
        flight.finished_at = now
        path.complete(flight, status="failed")

    def _resubmit(self, flight: Flight, decision: Decision) -> None:
        flight.attempts += 1
        flight.decision = decision
        flight.dispatched_at = flight.started_at = flight.finished_at = -1
        flight.device = None
        flight.outcome = None
        self.path.pools[decision.group].offer(flight)
