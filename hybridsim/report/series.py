"""Time series the figures plot, computed exactly in ticks: queue lengths and busy time per bin.

Queue length is a step function (0 at t = 0, changed by each :class:`QueueRecord`); utilization
over time is busy ticks per time bin over ``capacity × bin width``. Both are exact integer
arithmetic; floats appear only in the returned values.

A queue with more steps than the axis has pixels is summarised per bin by its minimum, maximum
and time-weighted mean (:func:`envelope`): drawing the envelope shows every excursion a pixel
could show, without thinning the data.

Each series is also an accumulator fed one record at a time (:class:`BusyBins`,
:class:`EnvelopeBins`, :func:`queue_changes`), so a long run's figures come from passes over its
lazy records; the functions over whole sequences are these accumulators run to the end.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from hybridsim.records import QueueRecord

__all__ = [
    "Steps",
    "Envelope",
    "queue_changes",
    "pool_changes",
    "queue_steps",
    "steps_end",
    "envelope",
    "EnvelopeBins",
    "bin_edges",
    "busy_per_bin",
    "BusyBins",
]


@dataclass(frozen=True, slots=True)
class Steps:
    """A step function on ``[edges[0], edges[-1])``: ``values[i]`` on ``[edges[i], edges[i+1])``."""

    edges: tuple[int, ...]
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Envelope:
    """Per-bin minimum, maximum and time-weighted mean of a step function."""

    edges: tuple[int, ...]
    low: tuple[int, ...]
    high: tuple[int, ...]
    mean: tuple[float, ...]


def queue_changes(
    queues: Iterable[QueueRecord], pool: str, horizon: int
) -> Iterator[tuple[int, int]]:
    """The queue length of ``pool`` as ``(instant, length)`` changes, from ``(0, length at 0)``.

    The step function of :func:`queue_steps` one step at a time (several changes at one instant:
    the last one holds; records after ``horizon`` are left out).

    Examples
    --------
    >>> from hybridsim.records import QueueRecord
    >>> list(queue_changes([QueueRecord(2, "q", 1), QueueRecord(5, "q", 0)], "q", 9))
    [(0, 0), (2, 1), (5, 0)]
    """
    return (change for _, change in pool_changes(queues, [pool], horizon))


def pool_changes(
    queues: Iterable[QueueRecord], pools: Iterable[str], horizon: int
) -> Iterator[tuple[str, tuple[int, int]]]:
    """``(pool, change)``: :func:`queue_changes` of each of ``pools`` in one pass over the
    records, in record order (each pool's last step after the records)."""
    state = {p: [0, 0] for p in pools}  # pool -> [instant, length] of its current step
    for q in queues:
        cur = state.get(q.pool)
        if cur is None or q.at > horizon:
            continue
        if q.at == cur[0]:
            cur[1] = q.length  # several changes at one instant: the last one holds
        else:
            yield q.pool, (cur[0], cur[1])
            cur[0], cur[1] = q.at, q.length
    for pool, (at, length) in state.items():  # noqa: UP028 - (pool, tuple), not the state's list
        yield pool, (at, length)


def steps_end(last_edge: int, horizon: int) -> int:
    """The end of a queue's step function whose last change is at ``last_edge``."""
    return max(horizon, last_edge + 1)


def queue_steps(queues: Iterable[QueueRecord], pool: str, horizon: int) -> Steps:
    """The queue length of ``pool`` as a step function over ``[0, horizon]``.

    Examples
    --------
    >>> from hybridsim.records import QueueRecord
    >>> queue_steps([QueueRecord(2, "q", 1), QueueRecord(5, "q", 0)], "q", 9)
    Steps(edges=(0, 2, 5, 9), values=(0, 1, 0))
    """
    changes = list(queue_changes(queues, pool, horizon))
    edges = tuple(e for e, _ in changes)
    return Steps(edges + (steps_end(edges[-1], horizon),), tuple(v for _, v in changes))


def bin_edges(horizon: int, bins: int) -> tuple[int, ...]:
    """``bins + 1`` integer edges splitting ``[0, horizon]`` as evenly as ticks allow."""
    bins = max(1, min(bins, horizon)) if horizon > 0 else 1
    return tuple(horizon * k // bins for k in range(bins + 1))


class EnvelopeBins:
    """The :class:`Envelope` of a step function over ``[0, end)``, fed one step at a time.

    Parameters
    ----------
    end : int
        The end of the step function (``steps.edges[-1]``).
    bins : int
        Number of equal bins (as :func:`bin_edges` makes them).
    """

    __slots__ = ("edges", "_low", "_high", "_area")

    def __init__(self, end: int, bins: int):
        self.edges = bin_edges(end, bins)
        nb = len(self.edges) - 1
        self._low: list[int | None] = [None] * nb
        self._high: list[int | None] = [None] * nb
        self._area = [0] * nb

    def add(self, a: int, b: int, v: int) -> None:
        """The function is ``v`` on ``[a, b)``."""
        if b <= a:
            return
        edges, low, high, area = self.edges, self._low, self._high, self._area
        nb = len(area)
        k = max(0, bisect_right(edges, a) - 1)
        while k < nb and edges[k] < b:
            lo, hi = max(a, edges[k]), min(b, edges[k + 1])
            if hi > lo:
                area[k] += v * (hi - lo)
                lo_k, hi_k = low[k], high[k]
                low[k] = v if lo_k is None else min(lo_k, v)
                high[k] = v if hi_k is None else max(hi_k, v)
            k += 1

    def result(self) -> Envelope:
        """The envelope of what was fed."""
        edges, area = self.edges, self._area
        nb = len(area)
        widths = [edges[k + 1] - edges[k] for k in range(nb)]
        return Envelope(
            edges,
            tuple(x if x is not None else 0 for x in self._low),
            tuple(x if x is not None else 0 for x in self._high),
            tuple(area[k] / widths[k] if widths[k] else 0.0 for k in range(nb)),
        )


def envelope(steps: Steps, bins: int) -> Envelope:
    """Minimum, maximum and time-weighted mean of a step function in ``bins`` equal bins."""
    acc = EnvelopeBins(steps.edges[-1], bins)
    for i, v in enumerate(steps.values):
        acc.add(steps.edges[i], steps.edges[i + 1], v)
    return acc.result()


class BusyBins:
    """Exact busy ticks per bin of spans fed one at a time (see :func:`busy_per_bin`)."""

    __slots__ = ("edges", "busy")

    def __init__(self, edges: Sequence[int]):
        self.edges = edges
        self.busy = [0] * (len(edges) - 1)

    def add(self, a: int, b: int) -> None:
        """Add the span ``[a, b)``."""
        edges, busy = self.edges, self.busy
        nb = len(busy)
        k = max(0, bisect_right(edges, a) - 1)
        while k < nb and edges[k] < b:
            lo, hi = max(a, edges[k]), min(b, edges[k + 1])
            if hi > lo:
                busy[k] += hi - lo
            k += 1


def busy_per_bin(spans: Iterable[tuple[int, int]], edges: Sequence[int]) -> list[int]:
    """Exact busy ticks of ``(start, end)`` spans inside each bin (overlaps add: slot-time).

    Examples
    --------
    >>> busy_per_bin([(0, 15), (18, 20)], (0, 10, 20))
    [10, 7]
    """
    acc = BusyBins(edges)
    for a, b in spans:
        acc.add(a, b)
    return acc.busy
