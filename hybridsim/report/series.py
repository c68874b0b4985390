"""Time series the figures plot, computed exactly in ticks: queue lengths and busy time per bin.

Queue length is a step function (0 at t = 0, changed by each :class:`QueueRecord`); utilization
over time is busy ticks per time bin over ``capacity × bin width``. Both are exact integer
arithmetic; floats appear only in the returned values.

A queue with more steps than the axis has pixels is summarised per bin by its minimum, maximum
and time-weighted mean (:func:`envelope`): drawing the envelope shows every excursion a pixel
could show, without thinning the data.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hybridsim.records import QueueRecord

__all__ = ["Steps", "Envelope", "queue_steps", "envelope", "bin_edges", "busy_per_bin"]


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


def queue_steps(queues: Iterable[QueueRecord], pool: str, horizon: int) -> Steps:
    """The queue length of ``pool`` as a step function over ``[0, horizon]``.

    Examples
    --------
    >>> from hybridsim.records import QueueRecord
    >>> queue_steps([QueueRecord(2, "q", 1), QueueRecord(5, "q", 0)], "q", 9)
    Steps(edges=(0, 2, 5, 9), values=(0, 1, 0))
    """
    edges = [0]
    values = [0]
    for q in queues:
        if q.pool != pool or q.at > horizon:
            continue
        if q.at == edges[-1]:
            values[-1] = q.length  # several changes at one instant: the last one holds
        else:
            edges.append(q.at)
            values.append(q.length)
    end = max(horizon, edges[-1] + 1)
    return Steps(tuple(edges) + (end,), tuple(values))


def bin_edges(horizon: int, bins: int) -> tuple[int, ...]:
    """``bins + 1`` integer edges splitting ``[0, horizon]`` as evenly as ticks allow."""
    bins = max(1, min(bins, horizon)) if horizon > 0 else 1
    return tuple(horizon * k // bins for k in range(bins + 1))


def envelope(steps: Steps, bins: int) -> Envelope:
    """Minimum, maximum and time-weighted mean of a step function in ``bins`` equal bins."""
    edges = bin_edges(steps.edges[-1], bins)
    nb = len(edges) - 1
    low: list[int | None] = [None] * nb
    high: list[int | None] = [None] * nb
    area = [0] * nb
    for i, v in enumerate(steps.values):
        a, b = steps.edges[i], steps.edges[i + 1]
        if b <= a:
            continue
        k = max(0, bisect_right(edges, a) - 1)
        while k < nb and edges[k] < b:
            lo, hi = max(a, edges[k]), min(b, edges[k + 1])
            if hi > lo:
                area[k] += v * (hi - lo)
                lo_k, hi_k = low[k], high[k]
                low[k] = v if lo_k is None else min(lo_k, v)
                high[k] = v if hi_k is None else max(hi_k, v)
            k += 1
    widths = [edges[k + 1] - edges[k] for k in range(nb)]
    return Envelope(
        edges,
        tuple(x if x is not None else 0 for x in low),
        tuple(x if x is not None else 0 for x in high),
        tuple(area[k] / widths[k] if widths[k] else 0.0 for k in range(nb)),
    )


def busy_per_bin(spans: Iterable[tuple[int, int]], edges: Sequence[int]) -> list[int]:
    """Exact busy ticks of ``(start, end)`` spans inside each bin (overlaps add: slot-time).

    Examples
    --------
    >>> busy_per_bin([(0, 15), (18, 20)], (0, 10, 20))
    [10, 7]
    """
    nb = len(edges) - 1
    busy = [0] * nb
    for a, b in spans:
        k = max(0, bisect_right(edges, a) - 1)
        while k < nb and edges[k] < b:
            lo, hi = max(a, edges[k]), min(b, edges[k + 1])
            if hi > lo:
                busy[k] += hi - lo
            k += 1
    return busy
