"""Devices and pools: queues, disciplines, slots, calibration windows.

Each device group of the scenario is a :class:`Pool` with one shared queue; its devices take jobs
from it when they have a free slot. A job may also be pinned to one device (its own queue), which
the device serves in the same discipline order as the shared queue.

Dispatch rules (see docs/background/simulation.md):

* A free slot is a token in the pool's ``free`` deque; a job arriving at a pool with a token takes
  the token of the device that has been free longest (fair and deterministic).
* When a slot frees, the device takes the best-ranked job among the pool queue and its own queue;
  if there is none, its token goes to the back of the deque.
* Calibration: at each window's start a QPU stops taking work. If it is running jobs, it drains
  first (jobs are never pre-empted), then calibrates for the full window length; windows are
  therefore never shorter than configured, and no job runs during one.
* Outages: a failing device goes down at once; the jobs it holds are aborted (the engine retries,
  reroutes or fails them) and it takes no work until repaired. A calibration window due while a
  device is down is skipped (repair includes recalibration); a window already running continues.
* Availability changes go through one place, :meth:`Pool._refresh`, which removes the device's
  slot tokens and, if it is available, gives them back (free slots go to waiting jobs in the
  instant's dispatch step).

Ties: what happens at one instant (see docs/background/simulation.md, "Ties"):

1. calibration windows and outages that end at the instant end (:data:`END_PRIORITY`);
2. calibration windows that are due begin (the device stops taking work and drains) and devices
   and links that fail go down (:data:`START_PRIORITY`); a failure aborts only the jobs whose
   service has not ended by then (busy spans are half-open);
3. everything else, in the order it was scheduled: services that end release their slots, jobs
   arrive (new, retried, rerouted), transfers move;
4. dispatch: free slots go to waiting jobs in discipline order, each slot (the one free longest
   first) to the best-ranked job it can take (:data:`DISPATCH_PRIORITY`).

In a ``fifo`` pool, step 4 is carried out at once when a slot frees or a job arrives in step 3:
a job arriving later in the same instant has a later submission number, so it can never outrank
the one served, and steps 1-2 are over. Otherwise (another discipline, or slots freed in steps
1-2, or a job arriving during them) the pool defers its dispatch to the end of the instant.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import Any

from hybridsim.records import IntervalRecord, QueueRecord, Recorder
from hybridsim.scheduling.base import Decision, SolveJob
from hybridsim.sim.clock import (
    DISPATCH_PRIORITY,
    END_PRIORITY,
    START_PRIORITY,
    Clock,
    TickEnvironment,
)

__all__ = [
    "Flight",
    "JobQueue",
    "Device",
    "Pool",
    "Clock",
    "END_PRIORITY",
    "START_PRIORITY",
    "DISPATCH_PRIORITY",
    "DORMANT_AFTER",
]

_new = tuple.__new__  # a QueueRecord (at, pool, length) is made once per queue change:
_QUEUE = QueueRecord  # by tuple.__new__, as JobRecord._make does without its length check

#: Consecutive idle cycles (outages) or periods (calibration windows) after which a fault or
#: calibration process of an idle resource stops generating events (see hybridsim.sim.faults).
DORMANT_AFTER = 64


class Flight:
    """Mutable state of one job in flight (internal; becomes a frozen JobRecord at the end)."""

    __slots__ = (
        "job",
        "decision",
        "seq",
        "submitted_at",
        "dispatched_at",
        "started_at",
        "finished_at",
        "end_at",
        "device",
        "pool",
        "predicted_ticks",
        "outcome",
        "on_done",
        "key",
        "label",
        "attempts",
        "token",
        "failed_on",
        "fail_reason",
        "status",
    )

    def __init__(
        self,
        job: SolveJob,
        decision: Decision,
        seq: int,
        submitted_at: int,
        predicted_ticks: int,
        on_done: Callable[[Flight], object] | None,
        label: str | None = None,
    ):
        self.job = job
        self.label = label  # set for device-local compute tasks (not solve jobs)
        self.attempts = 1
        self.token = 0  # bumped when an attempt is aborted: stale callbacks compare it
        self.failed_on: tuple[str, ...] = ()
        self.fail_reason = ""
        self.status = ""  # "completed" or "failed" once the job has ended
        self.decision = decision
        self.seq = seq
        self.submitted_at = submitted_at
        self.dispatched_at = -1
        self.started_at = -1
        self.finished_at = -1
        self.end_at = -1  # instant the current attempt's service ends (-1: not in service)
        self.device: Device | None = None
        self.pool: Pool | None = None
        self.predicted_ticks = predicted_ticks
        self.outcome: Any = None
        self.on_done = on_done
        self.key: tuple = ()


class JobQueue:
    """A queue of flights in one discipline: ``fifo``, ``priority`` or ``shortest_predicted_first``.

    Ties always fall back to submission order (``seq``), so every discipline is deterministic.
    """

    __slots__ = ("discipline", "_items", "_fifo", "predicted_ticks")

    def __init__(self, discipline: str):
        if discipline not in ("fifo", "priority", "shortest_predicted_first"):
            raise ValueError(f"unknown discipline {discipline!r}")
        self.discipline = discipline
        self._fifo = discipline == "fifo"
        self._items: Any = deque() if self._fifo else []
        self.predicted_ticks = 0  # sum over queued flights, for backlog estimates

    def rank(self, flight: Flight) -> tuple:
        """The ordering key of ``flight`` in this discipline (smaller is served first)."""
        if self.discipline == "fifo":
            return (flight.seq,)
        if self.discipline == "priority":
            return (flight.job.priority, flight.seq)
        return (flight.predicted_ticks, flight.seq)

    def push(self, flight: Flight) -> None:
        self.predicted_ticks += flight.predicted_ticks
        if self._fifo:  # its key is (seq,): made only when compared (peek_key)
            self._items.append(flight)
        else:
            flight.key = self.rank(flight)
            heapq.heappush(self._items, (flight.key, flight.seq, flight))

    def peek_key(self) -> tuple:
        """The first flight's ordering key (the queue is not empty: callers look first)."""
        return (self._items[0].seq,) if self._fifo else self._items[0][0]

    def pop(self) -> Flight:
        flight = self._items.popleft() if self._fifo else heapq.heappop(self._items)[2]
        self.predicted_ticks -= flight.predicted_ticks
        return flight

    def __len__(self) -> int:
        return len(self._items)


class Device:
    """One GPU node or QPU: slots, availability (up, calibrating, draining), pinned queue."""

    __slots__ = (
        "name",
        "pool",
        "index",
        "capacity",
        "running",
        "up",
        "calibrating",
        "draining",
        "own",
        "active",
        "config",
        "calibration_length",
        "faults",
        "windows",
    )

    def __init__(self, name: str, pool: Pool, index: int, capacity: int, config: Any):
        self.name = name
        self.pool = pool
        self.index = index
        self.capacity = capacity
        self.config = config
        self.running = 0
        self.up = True
        self.calibrating = False
        self.draining = False  # a calibration window is due: finish running jobs, take no more
        self.own = JobQueue(pool.queue.discipline)
        self.active: list[Flight] = []  # flights dispatched here and not yet finished
        self.calibration_length = 0
        self.faults: Any = None  # its OutageProcess, when the group has failures
        self.windows: Any = None  # its periodic calibration clock, when it has one

    @property
    def available(self) -> bool:
        """Up, not calibrating and not draining for a calibration: it may start work."""
        return self.up and not (self.calibrating or self.draining)

    def backlog_ticks(self, now: int) -> int:
        """Predicted ticks until a new job could start here (running work plus pinned queue,
        spread over the slots)."""
        own = self.own
        if self.running < self.capacity and not own._items:
            return own.predicted_ticks // self.capacity  # a free slot: running work is no wait
        remaining = 0
        for f in self.active:
            end = (f.started_at if f.started_at >= 0 else f.dispatched_at) + f.predicted_ticks
            remaining += max(0, end - now)
        return (remaining + own.predicted_ticks) // self.capacity


class Pool:
    """A device group with its shared queue.

    Parameters
    ----------
    env : hybridsim.sim.clock.TickEnvironment
    name, kind : str
        Group name and ``"gpu"``/``"qpu"``.
    config : GpuGroup or QpuGroup
        The scenario section (frozen).
    devices : list of str
        Device names.
    recorder : Recorder
    on_dispatch : callable
        ``on_dispatch(flight, device)``: called when a flight is given a slot of ``device``
        (the run's :meth:`JobPath.dispatched <hybridsim.sim.lifecycle.JobPath.dispatched>`).
    on_abort : callable
        ``on_abort(flight, device, reason)``: called for a flight whose device failed under it
        (the run's :meth:`Recovery.aborted <hybridsim.sim.faults.Recovery.aborted>`).
    record_queue : bool
        Record a :class:`QueueRecord` at every change of the waiting count.
    clock : Clock, optional
        The run's clock for prioritized callbacks (one is made when omitted).
    """

    __slots__ = (
        "env",
        "clock",
        "name",
        "kind",
        "config",
        "recorder",
        "_on_dispatch",
        "_on_abort",
        "_record_queue",
        "queue",
        "_fifo",
        "_phase_at",
        "devices",
        "by_name",
        "free",
        "waiting",
        "running",
        "touched_at",
        "sleepers",
    )

    def __init__(
        self,
        env: TickEnvironment,
        name: str,
        kind: str,
        config: Any,
        devices: list[str],
        recorder: Recorder,
        on_dispatch: Callable[[Flight, Device], None],
        on_abort: Callable[[Flight, Device, str], None] | None = None,
        record_queue: bool = True,
        clock: Clock | None = None,
    ):
        self.env = env
        self.clock = clock if clock is not None else Clock(env)
        self.name = name
        self.kind = kind
        self.config = config
        self.recorder = recorder
        self._on_dispatch = on_dispatch
        self._on_abort = on_abort
        self._record_queue = record_queue
        self.queue = JobQueue(config.discipline)
        self._fifo = config.discipline == "fifo"
        self._phase_at = -1  # instant of a pending deferred dispatch (-1: none)
        self.devices = [Device(n, self, i, config.capacity, config) for i, n in enumerate(devices)]
        self.by_name = {d.name: d for d in self.devices}
        self.free: deque[Device] = deque()
        for _ in range(config.capacity):
            self.free.extend(self.devices)
        self.waiting = 0  # shared + pinned queues
        self.running = 0
        self.touched_at = -1  # last instant a job was offered or the scheduler looked
        self.sleepers: dict = {}  # dormant fault/calibration processes of its devices (ordered)

    def load(self) -> float:
        """Jobs waiting or running per slot: how the engine picks among groups (least first)."""
        return (self.waiting + self.running) / (len(self.devices) * self.config.capacity)

    # -- queue bookkeeping ---------------------------------------------------------------------
    def _queue_changed(self, delta: int) -> None:
        self.waiting += delta
        if self._record_queue:
            self.recorder.queues.append(_new(_QUEUE, (self.env._now, self.name, self.waiting)))

    # -- arrivals ------------------------------------------------------------------------------
    def observe(self) -> None:
        """The engine needs its devices' state now: wake their dormant processes."""
        self.touched_at = self.env.now
        if self.sleepers:
            for sleeper in list(self.sleepers):
                sleeper.observe()

    def offer(self, flight: Flight) -> None:
        """A job arrives at this pool: start it on a free slot or queue it.

        It starts at once only where the tie rule allows (a ``fifo`` pool outside steps 1-2 and
        with no dispatch pending at this instant); otherwise it waits for the dispatch step.
        """
        t = self.touched_at = self.env._now  # (the per-job path reads _now: see sim/lifecycle.py)
        if self.sleepers:
            self.observe()
        flight.pool = self
        pinned = flight.decision.device
        # dispatch now only where the tie rule allows it (inlined: this runs once per job)
        now = self._fifo and self._phase_at != t and not self.clock.device_phase
        if pinned is None:
            if now and self.free:
                self._dispatch(flight, self.free.popleft())
                return
            self.queue.push(flight)
        else:
            dev = self.by_name[pinned]
            if now and dev.available and dev.running < dev.capacity and self._take_token(dev):
                self._dispatch(flight, dev)
                return
            dev.own.push(flight)
        self._queue_changed(+1)
        if not now and self.free:
            self._request_dispatch()

    def _take_token(self, dev: Device) -> bool:
        try:
            self.free.remove(dev)
        except ValueError:
            return False
        return True

    def _dispatch(self, flight: Flight, dev: Device) -> None:
        dev.running += 1
        dev.active.append(flight)
        self.running += 1
        flight.device = dev
        flight.dispatched_at = self.env._now
        self._on_dispatch(flight, dev)

    # -- departures ----------------------------------------------------------------------------
    def release(self, dev: Device, flight: Flight) -> None:
        """``flight`` left ``dev``: calibrate if due, else take the next job."""
        dev.active.remove(flight)
        dev.running -= 1
        self.running -= 1
        flight.end_at = -1
        if dev.draining:
            if dev.running == 0:
                self._begin_calibration(dev)
            return
        if dev.up and not dev.calibrating:  # available (it is not draining)
            if self._fifo and self._phase_at != self.env._now and not self.clock.device_phase:
                if not self._take_next(dev):
                    self.free.append(dev)
            else:
                self.free.append(dev)
                if self.waiting:
                    self._request_dispatch()

    def _take_next(self, dev: Device) -> bool:
        """Dispatch the best-ranked job ``dev`` can take (pinned or shared); False if none."""
        own, shared = dev.own, self.queue
        if not own._items:  # nothing pinned here (the usual case): the shared queue's first
            if not shared._items:
                return False
            flight = shared.pop()
        elif not shared._items:
            flight = own.pop()
        else:
            flight = own.pop() if own.peek_key() < shared.peek_key() else shared.pop()
        self._queue_changed(-1)
        self._dispatch(flight, dev)
        return True

    def _request_dispatch(self) -> None:
        """Hand out free slots at the end of this instant (step 4 of the tie rule), once."""
        now = self.env.now
        if self._phase_at != now:
            self._phase_at = now
            self.clock.call_in(0, DISPATCH_PRIORITY, self._dispatch_step)

    def _dispatch_step(self, _ev) -> None:
        """Every free slot, the one free longest first, takes the best job it can take."""
        self._phase_at = -1
        for _ in range(len(self.free)):
            if not self.free:
                break
            dev = self.free.popleft()
            if not self._take_next(dev):
                self.free.append(dev)

    def _refresh(self, dev: Device) -> None:
        """Re-derive ``dev``'s slot tokens from its state; free slots of an available device go
        back to the deque, for waiting jobs at the end of the instant."""
        while self._take_token(dev):
            pass
        if dev.available:
            for _ in range(dev.capacity - dev.running):
                self.free.append(dev)
            if self.waiting:
                self._request_dispatch()

    # -- calibration ---------------------------------------------------------------------------
    def start_calibration_clocks(self) -> None:
        """Open the group's calibration windows on each of its devices (when it has any)."""
        cfg = self.config
        if self.kind != "qpu" or cfg.calibration_duration is None:  # GPUs never calibrate
            return
        for dev in self.devices:
            self.start_calibration_clock(
                dev,
                cfg.calibration_duration,
                cfg.calibration_offset,
                cfg.calibration_period,
                cfg.calibration_times,
            )

    def start_calibration_clock(
        self, dev: Device, length: int, offset: int, period: int | None, times: tuple[int, ...]
    ) -> None:
        """Open calibration windows on ``dev``: at ``offset + k·period`` (k >= 0) when a period
        is given, and at each instant of ``times`` (scheduled one at a time)."""
        dev.calibration_length = length

        def due(_ev=None) -> None:
            if dev.faults is not None:
                dev.faults.observe()  # whether it is down decides
            # A window due while one is pending or running merges into it; a down device skips it.
            if dev.up and not (dev.calibrating or dev.draining):
                dev.draining = True
                self._refresh(dev)
                if dev.running == 0:
                    self._begin_calibration(dev)

        if period is not None:
            dev.windows = _PeriodicWindows(self, dev, offset, period, due)
            dev.windows.start()
        pending = iter(sorted(times))

        def explicit(_ev=None) -> None:
            due()
            nxt = next(pending, None)
            if nxt is not None:
                self.clock.call_in(max(0, nxt - self.env.now), START_PRIORITY, explicit)

        first = next(pending, None)
        if first is not None:
            self._at(first, explicit)

    def _at(self, instant: int, fn: Callable[..., None]) -> None:
        delay = instant - self.env.now
        if delay <= 0:
            fn()
        else:
            self.clock.call_in(delay, START_PRIORITY, fn)

    def _begin_calibration(self, dev: Device, start: int | None = None) -> None:
        """Calibrate ``dev`` for its window length from ``start`` (default: now; a window a
        dormant clock finds already open began in the past)."""
        dev.draining = False
        dev.calibrating = True
        now = self.env.now
        start = now if start is None else start

        def end(_ev) -> None:
            dev.calibrating = False
            self.recorder.intervals.append(
                IntervalRecord(dev.name, "calibration", start, self.env.now)
            )
            self._refresh(dev)
            if dev.windows is not None:
                dev.windows.resume()

        self.clock.call_in(start + dev.calibration_length - now, END_PRIORITY, end)

    # -- outages -------------------------------------------------------------------------------
    def fail(self, dev: Device, reason: str) -> None:
        """``dev`` goes down now: abort what it holds, take no work until :meth:`repair`.

        A job whose service ends at this very instant is not aborted: busy spans are half-open,
        so it has ended, and its completion (later in the instant) releases the slot as usual.
        """
        dev.up = False
        dev.draining = False  # a pending calibration is absorbed by the outage
        self._refresh(dev)
        now = self.env.now
        aborted = [f for f in dev.active if f.end_at != now]
        if not aborted:
            return
        dev.active = [f for f in dev.active if f.end_at == now]
        self.running -= len(aborted)
        dev.running -= len(aborted)
        on_abort = self._on_abort
        assert on_abort is not None, "a pool whose devices fail has on_abort (Recovery.aborted)"
        for flight in aborted:
            flight.end_at = -1
            on_abort(flight, dev, reason)

    def repair(self, dev: Device) -> None:
        """``dev`` is back up: free slots go to waiting jobs."""
        dev.up = True
        self._refresh(dev)
        if dev.windows is not None:
            dev.windows.resume()


class _PeriodicWindows:
    """The periodic calibration clock of one QPU, lazy like the outage processes.

    * While the QPU cannot open a window (it drains for one, calibrates, or is down), the windows
      due merge into the pending one or are skipped; the clock therefore stops ticking and
      resumes at the first grid instant ``offset + k·period`` at or after the QPU is available
      again (a 10⁹ s job under a 2 s period used to cost 5·10⁸ idle events).
    * After :data:`DORMANT_AFTER` windows in a row on an idle, unobserved QPU it stops too; when
      its pool is next observed it resumes on the same grid: if a window that opened meanwhile is
      still running, the QPU calibrates until that window's end (recorded from its start); the
      windows in between are not recorded.
    """

    __slots__ = (
        "pool",
        "dev",
        "offset",
        "period",
        "due",
        "idle_windows",
        "last",
        "since",
        "suspended",
    )

    def __init__(self, pool: Pool, dev: Device, offset: int, period: int, due):
        self.pool, self.dev, self.due = pool, dev, due
        self.offset, self.period = offset, period
        self.idle_windows = 0
        self.last = 0  # the previous window's instant
        self.since = -1  # >= 0 while dormant: the instant of the last window it opened
        self.suspended = False  # waiting for the QPU to be available again

    def start(self) -> None:
        self.pool._at(self.offset, self.fire)

    def _next_at(self, now: int) -> int:
        """The first grid instant at or after ``now``."""
        if now <= self.offset:
            return self.offset
        k = -((self.offset - now) // self.period)  # ceil((now - offset) / period)
        return self.offset + k * self.period

    def fire(self, _ev=None) -> None:
        pool, dev = self.pool, self.dev
        now = pool.env.now
        self.due()
        idle = dev.running == 0 and not len(dev.own) and not len(pool.queue)
        if idle and pool.touched_at < self.last:
            self.idle_windows += 1
        else:
            self.idle_windows = 0
        self.last = now
        if self.idle_windows >= DORMANT_AFTER:
            self.since = now
            pool.sleepers[self] = None
            return
        if not dev.available:
            # draining for this window, calibrating, or down: the next windows merge or are
            # skipped until it is available again (resume)
            self.suspended = True
            return
        pool.clock.call_in(self.period, START_PRIORITY, self.fire)

    def resume(self) -> None:
        """The QPU may be available again (a window ended, a repair): restart the clock."""
        if not self.suspended or not self.dev.available:
            return
        self.suspended = False
        now = self.pool.env.now
        # a window due at this very instant opens now: it is a start, after this end
        self.pool.clock.call_in(self._next_at(now) - now, START_PRIORITY, self.fire)

    def observe(self) -> None:
        if self.since < 0:
            return
        pool, dev = self.pool, self.dev
        pool.sleepers.pop(self, None)
        since, self.since = self.since, -1
        self.idle_windows = 0
        now = pool.env.now
        self.last = now
        opened = self.offset + (now - self.offset) // self.period * self.period
        if opened > since and now < opened + dev.calibration_length:
            if dev.faults is not None:
                dev.faults.observe()
            if dev.up and not (dev.calibrating or dev.draining) and dev.running == 0:
                dev.draining = True
                pool._refresh(dev)  # its slots leave the free deque
                pool._begin_calibration(dev, start=opened)
                self.suspended = True  # resumes when that window ends
                return
        pool.clock.call_in(opened + self.period - now, START_PRIORITY, self.fire)
