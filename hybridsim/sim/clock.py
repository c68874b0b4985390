"""The run's clock: callbacks scheduled on SimPy's event queue, at the tie rule's priorities.

SimPy runs the events of one instant by priority, then in the order they were scheduled; its own
priorities are URGENT = 0 (process starts, interrupts) and NORMAL = 1 (timeouts, triggered
events). The engine adds three (docs/background/simulation.md, "Ties"): ends of calibration
windows and outages (:data:`END_PRIORITY`), their starts and failures (:data:`START_PRIORITY`),
and a pool's deferred dispatch after everything else (:data:`DISPATCH_PRIORITY`).

Most of a run's events are plain delays: a job's arrival, a hop of its payload, its service, its
result's way back. Each is one :meth:`Clock.after` call: one entry on the queue carrying the
callback and its argument, in place of a :class:`simpy.Timeout` (whose construction, checks and
``Environment.schedule`` call cost more than the entry), queued exactly as ``env.timeout(delay)``
would queue it (same instant, priority and sequence number), so the order of events is unchanged
(tests/test_engine_clock.py).

The entry is a plain pair ``(fn, arg)``, processed as ``fn(arg)``: making a tuple is one cheap C
call, where an event-like object (an ``__init__`` frame and a callback list, or even a tuple
subclass) cost a few hundred nanoseconds, times four per job. SimPy's own ``Environment.step``
does not know such entries: an environment that has them is run by the engine's loop
(:meth:`Simulation._loop <hybridsim.sim.engine.Simulation._loop>`), or by :meth:`Clock.run`
(tests, scripts).

The run's environment is a :class:`TickEnvironment`: SimPy's, with the clock typed as what it
is in this engine, an int.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import NORMAL

__all__ = ["Clock", "TickEnvironment", "END_PRIORITY", "START_PRIORITY", "DISPATCH_PRIORITY"]

END_PRIORITY = -3  # a calibration window or an outage ends
START_PRIORITY = -2  # a calibration window is due; a device or a link fails
DISPATCH_PRIORITY = 2  # a pool's deferred dispatch, after everything else at the instant


class TickEnvironment(simpy.Environment):
    """A :class:`simpy.Environment` whose clock is an integer tick count (for the type checker).

    SimPy allows float time, so its hints type ``now`` as ``int | float``. The engine starts at
    tick 0 and schedules only integer delays (:meth:`Clock.after`, :meth:`Clock.call_in` and
    ``env.timeout`` all take ticks, timebase.py), so its clock is always an int, which the
    records' tick fields rely on. This is the one place that says so: the class adds nothing at
    run time (same clock, same queue, same ``now`` property).
    """

    if TYPE_CHECKING:
        _now: int
        # Queue entries are (instant, priority, sequence, event); the engine's own entries
        # carry an (fn, arg) pair, which SimPy's hint (an Event) does not cover. (A list's item
        # type cannot be narrowed or widened in a subclass, hence the one ignore.)
        _queue: list[tuple[int, int, int, Any]]  # type: ignore[assignment]

        @property
        def now(self) -> int: ...


class Clock:
    """Schedules the engine's callbacks on the run's environment.

    ``device_phase`` is true while a callback at a negative priority runs (steps 1-2 of the tie
    rule: ends and starts of windows and outages): a pool dispatches nothing then, since a
    device may still change state at this instant.
    """

    __slots__ = ("env", "device_phase", "_queue", "_eid")

    def __init__(self, env: TickEnvironment):
        self.env = env
        self.device_phase = False
        # SimPy's queue and sequence counter, as Environment.schedule uses them
        self._queue = env._queue
        self._eid = env._eid

    def after(self, delay: int, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Call ``fn(arg)`` ``delay`` ticks from now, at NORMAL priority: where
        ``env.timeout(delay).callbacks.append(lambda _ev: fn(arg))`` would call it.

        ``arg`` spares the caller a closure per call (the job path passes its flight)."""
        env = self.env
        heappush(self._queue, (env._now + delay, NORMAL, next(self._eid), (fn, arg)))

    def call_in(self, delay: int, priority: int, fn: Callable[[Any], None]) -> None:
        """Call ``fn(None)`` ``delay`` ticks from now, at ``priority`` among that instant's
        events."""
        call: Callable[[Any], None] = fn
        if priority < 0:

            def call(event) -> None:
                self.device_phase = True
                try:
                    fn(event)
                finally:
                    self.device_phase = False

        heappush(self._queue, (self.env._now + delay, priority, next(self._eid), (call, None)))

    def run(self) -> None:
        """Process every event until none is left: ``env.run()`` for an environment that holds
        the clock's ``(fn, arg)`` entries (which SimPy's own loop does not know).

        The engine runs its simulations with its own loop (the same processing, with a stop
        event and progress reports); this one is for tests and scripts that use a clock alone.
        """
        env, queue = self.env, self._queue
        while queue:
            env._now, _, _, event = heappop(queue)
            if event.__class__ is tuple:
                fn, arg = event
                fn(arg)
                continue
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                raise event._value
