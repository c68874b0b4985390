"""Passes over a run's records that hold no per-job rows: what the report's figures and trace
read from a run of any length.

A long run's records are lazy sequences over its files
(:class:`~hybridsim.outputs.reader.RecordFile`): each pass reads a file again, in chunks. The
report therefore never builds a list, a dict or a sort of every job or interval. What it needs
from the records comes from a few passes, each keeping only aggregates or a window of rows:

- :func:`digest_jobs`, one pass over the jobs, gathers the devices seen, the busy ticks of
  completed jobs, the per-route cost sums, and the failed jobs (one small tuple each: the
  trace and the timeline mark every failure);
- :func:`digest_intervals`, one pass over the intervals, gathers the resources seen, whether the
  intervals are in order of start (as ``intervals.csv`` is), and the trace's slots per resource;
- :func:`start_groups` and :func:`slot_stream` walk intervals in order of start one instant at a
  time, which is how the timeline and the trace reproduce what a sort of every interval gave;
- :class:`JobsInOrder` looks job rows up by id in the order the job intervals need them, a
  merge of ``jobs.csv`` (in completion order) against ``intervals.csv`` (in start order) that
  holds only the jobs read ahead of their interval: those that started after a job and
  finished before it, a few per slot in a queueing run;
- :class:`RunningSum` adds floats one at a time to the very bits ``sum`` gives over a list.

Records held in memory (lists and tuples: a short run, or records built in Python) are indexed
with a dict as before: they are in memory already, and hand-built records need not follow the
files' invariants (job ids unique, intervals sorted by start).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from heapq import heappop, heappush
from math import fabs, isfinite
from typing import Any

from hybridsim import metrics as M
from hybridsim.records import IntervalRecord, JobRecord

__all__ = [
    "RunningSum",
    "RouteCosts",
    "Failure",
    "JobDigest",
    "IntervalDigest",
    "digest_jobs",
    "digest_intervals",
    "OutOfOrder",
    "start_groups",
    "slot_stream",
    "JobsInOrder",
    "jobs_by_id",
    "in_memory",
]

# CPython 3.12 made ``sum`` of floats compensated (Neumaier); earlier versions add plainly. An
# int among floats is added plainly before 3.14, compensated from 3.14 on.
_COMPENSATED = sys.version_info >= (3, 12)
_COMPENSATED_INTS = sys.version_info >= (3, 14)
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


class RunningSum:
    """``sum(values)`` computed one value at a time: the same result, to the last bit.

    The report's means were ``sum([...]) / n`` over a list per route; a pass that feeds each
    value to its route's ``RunningSum`` gives the same floats without the lists. It follows
    CPython's ``sum``: Python ints add exactly while every value is an int; from the first float
    on, floats add plainly (CPython < 3.12) or with Neumaier's compensation (3.12 and later);
    any other value (a numpy scalar, say) is added with ``+`` from there on, as ``sum`` does.

    Examples
    --------
    >>> s = RunningSum()
    >>> for x in [0.1, 0.2, 0.3]:
    ...     s.add(x)
    >>> s.value() == sum([0.1, 0.2, 0.3])
    True
    """

    __slots__ = ("_mode", "_int", "_hi", "_lo", "_any")

    def __init__(self) -> None:
        self._mode = 0  # 0: ints, 1: floats (C doubles), 2: generic (``+`` on objects)
        self._int = 0
        self._hi = 0.0
        self._lo = 0.0
        self._any: Any = 0

    def add(self, x: Any) -> None:
        """Add one value."""
        mode = self._mode
        if mode == 1:
            if type(x) is float:
                self._add_float(x)
                return
            if isinstance(x, int) and (_COMPENSATED_INTS or _LONG_MIN <= x <= _LONG_MAX):
                if _COMPENSATED_INTS:
                    self._add_float(float(x))
                else:
                    self._hi += float(x)
                return
            self._mode = 2
            self._any = self._float() + x
            return
        if mode == 0:
            if type(x) is int or type(x) is bool:
                total = self._int + x
                if _LONG_MIN <= x <= _LONG_MAX and _LONG_MIN <= total <= _LONG_MAX:
                    self._int = total
                    return
                self._mode = 2
                self._any = total
                return
            first = self._int + x
            if type(first) is float:
                self._mode, self._hi, self._lo = 1, first, 0.0
            else:
                self._mode, self._any = 2, first
            return
        self._any = self._any + x

    def _add_float(self, x: float) -> None:
        hi = self._hi
        if _COMPENSATED:
            t = hi + x
            if fabs(hi) >= fabs(x):
                self._lo += (hi - t) + x
            else:
                self._lo += (x - t) + hi
            self._hi = t
        else:
            self._hi = hi + x

    def _float(self) -> float:
        # Avoid losing the sign of a negative result, and keep an overflowed sum infinite.
        lo = self._lo
        return self._hi + lo if lo and isfinite(lo) else self._hi

    def value(self) -> Any:
        """The sum so far (``0`` when nothing, or only ints, were added)."""
        if self._mode == 0:
            return self._int
        if self._mode == 1:
            return self._float()
        return self._any


@dataclass(slots=True)
class RouteCosts:
    """Sums over the completed jobs of one route, for the cost breakdown's means."""

    jobs: int = 0
    service: int = 0  # ticks of service, for jobs without a compute_s breakdown
    compute: RunningSum = field(default_factory=RunningSum)  # compute_s, where given
    transfer: int = 0
    wait: int = 0
    state_prep: RunningSum = field(default_factory=RunningSum)
    readout: RunningSum = field(default_factory=RunningSum)
    overhead: RunningSum = field(default_factory=RunningSum)

    def add(self, j: JobRecord) -> None:
        self.jobs += 1
        if j.compute_s is None:
            self.service += j.finished_at - j.started_at
        else:
            self.compute.add(j.compute_s)
        self.transfer += M.transfer_ticks(j)
        self.wait += M.wait_ticks(j)
        self.state_prep.add(j.state_prep_s or 0.0)
        self.readout.add(j.readout_s or 0.0)
        self.overhead.add(j.overhead_s or 0.0)


@dataclass(frozen=True, slots=True)
class Failure:
    """A job that did not complete: what the timeline and the trace show of it."""

    job_id: int
    device: str
    status: str
    at: int  # the last instant the job reached
    fail_reason: Any
    attempts: Any


@dataclass(frozen=True)
class JobDigest:
    """What the report needs from every job row, gathered in one pass (:func:`digest_jobs`).

    Attributes
    ----------
    devices : tuple of str
        Devices named by the job rows, in order of first appearance.
    completed : int
        Completed jobs.
    busy : dict
        Service ticks of completed jobs per device (the summary's utilization numerator).
    costs : dict
        :class:`RouteCosts` of completed jobs per route, in order of first appearance.
    failures : tuple of Failure
        Jobs with ``status != "completed"``, in job order.
    any_predicted : bool
        Whether some job has a (truthy) ``predicted_s``.
    """

    devices: tuple[str, ...]
    completed: int
    busy: Mapping[str, int]
    costs: Mapping[str, RouteCosts]
    failures: tuple[Failure, ...]
    any_predicted: bool

    def failed_ids(self) -> frozenset[int]:
        """Ids of the failed jobs."""
        return frozenset(f.job_id for f in self.failures)


def digest_jobs(jobs: Iterable[JobRecord]) -> JobDigest:
    """One pass over the job rows: see :class:`JobDigest`."""
    devices: dict[str, None] = {}
    busy: dict[str, int] = {}
    costs: dict[str, RouteCosts] = {}
    failures: list[Failure] = []
    completed = 0
    any_predicted = False
    for j in jobs:
        if j.device and j.device not in devices:
            devices[j.device] = None
        if j.predicted_s and not any_predicted:
            any_predicted = True
        if j.status == "completed":
            completed += 1
            busy[j.device] = busy.get(j.device, 0) + (j.finished_at - j.started_at)
            route = costs.get(j.route)
            if route is None:
                route = costs[j.route] = RouteCosts()
            route.add(j)
        else:
            at = max(j.submitted_at, j.dispatched_at, j.started_at, j.finished_at)
            failures.append(Failure(j.job_id, j.device, j.status, at, j.fail_reason, j.attempts))
    return JobDigest(tuple(devices), completed, busy, costs, tuple(failures), any_predicted)


@dataclass(frozen=True)
class IntervalDigest:
    """What the report needs from every interval row, gathered in one pass.

    Attributes
    ----------
    resources : tuple of str
        Resources (devices, link directions) of the intervals, in order of first appearance.
    by_start : bool
        Whether the intervals are in order of start (``intervals.csv`` is).
    slots : dict or None
        Tracks each resource needs in the trace (:func:`slot_stream`); None when the intervals
        are not in order of start (then the trace assigns slots in memory).
    count : int
        Number of intervals.
    """

    resources: tuple[str, ...]
    by_start: bool
    slots: Mapping[str, int] | None
    count: int


def digest_intervals(intervals: Iterable[IntervalRecord]) -> IntervalDigest:
    """One pass over the intervals: see :class:`IntervalDigest`."""
    resources: dict[str, None] = {}
    count = 0

    def noted() -> Iterator[IntervalRecord]:
        nonlocal count
        for iv in intervals:
            count += 1
            if iv.resource not in resources:
                resources[iv.resource] = None
            yield iv

    rows = noted()
    slots: dict[str, int] | None = {}
    try:
        for _, iv, slot in slot_stream((None, iv) for iv in rows):
            if slot >= slots.get(iv.resource, 0):  # type: ignore[union-attr]
                slots[iv.resource] = slot + 1  # type: ignore[index]
    except OutOfOrder:
        slots = None
        for _ in rows:  # the rest of the resources and the count
            pass
    return IntervalDigest(tuple(resources), slots is not None, slots, count)


class OutOfOrder(ValueError):
    """Intervals that were expected in order of start are not."""


def start_groups(pairs: Iterable[tuple[Any, IntervalRecord]]) -> Iterator[list]:
    """``(key, interval)`` pairs in order of start, as lists of the pairs that share a start.

    Raises
    ------
    OutOfOrder
        When a start is earlier than the one before it (nothing of that group is yielded).
    """
    group: list[tuple[Any, IntervalRecord]] = []
    current = None
    for pair in pairs:
        start = pair[1].start_at
        if start != current:
            if group:
                if start < current:  # type: ignore[operator]
                    raise OutOfOrder(f"interval starting at {start} after one at {current}")
                yield group
                group = []
            current = start
        group.append(pair)
    if group:
        yield group


def _by_end(pair: tuple[Any, IntervalRecord]) -> int:
    return pair[1].end_at


def slot_stream(
    pairs: Iterable[tuple[Any, IntervalRecord]],
) -> Iterator[tuple[Any, IntervalRecord, int]]:
    """``(key, interval, slot)`` for ``(key, interval)`` pairs in order of start, in their order.

    The slots are those of :func:`hybridsim.report.lanes.assign_slots` over each resource's
    intervals: spans are taken by start, then end, then position, each given the lowest slot
    free at its start. Intervals arriving by start, only those of one instant need sorting (by
    end, stably), so the state is each resource's running spans and free slots.

    Raises
    ------
    OutOfOrder
        When a start is earlier than the one before it.
    """
    lanes: dict[str, tuple[list[int], list[tuple[int, int]], list[int]]] = {}

    def assign(iv: IntervalRecord) -> int:
        lane = lanes.get(iv.resource)
        if lane is None:
            lane = lanes[iv.resource] = ([], [], [0])
        free, busy, opened = lane
        start = iv.start_at
        while busy and busy[0][0] <= start:
            heappush(free, heappop(busy)[1])
        if free:
            slot = heappop(free)
        else:
            slot = opened[0]
            opened[0] = slot + 1
        heappush(busy, (iv.end_at, slot))
        return slot

    for group in start_groups(pairs):
        if len(group) == 1:
            key, iv = group[0]
            yield key, iv, assign(iv)
            continue
        # Lanes are independent, so one stable sort by end orders each lane's spans as
        # assign_slots does (start is shared, ties keep their position).
        slot_of = {id(pair): assign(pair[1]) for pair in sorted(group, key=_by_end)}
        for pair in group:
            yield pair[0], pair[1], slot_of[id(pair)]


def in_memory(records: Any) -> bool:
    """Whether records are held in memory (a list or tuple) rather than read lazily."""
    return isinstance(records, list | tuple)


class JobsInOrder:
    """Job rows by id, for lookups made in the order of the job intervals (by start).

    ``jobs.csv`` lists jobs as they complete; job intervals come by start. Each lookup reads the
    job rows on until it meets the id, keeping the rows it passes that have a job interval
    (completed, with service) until theirs comes: the jobs that started after the one looked up
    and finished before it. A lookup of an id that is not ahead (a job without a job interval,
    or looked up twice: records not as the engine writes them) indexes every row once, as a
    dict of all jobs would (the last row of an id wins), and serves the rest from the index.

    Parameters
    ----------
    jobs : sequence of JobRecord
        Re-iterable (a lazy sequence over ``jobs.csv``, say); job ids are unique in a run.
    """

    def __init__(self, jobs: Sequence[JobRecord]):
        self._jobs = jobs
        self._ahead: dict[int, JobRecord] = {}
        self._rows: Iterator[JobRecord] | None = iter(jobs)
        self._index: dict[int, JobRecord] | None = None

    @property
    def held(self) -> int:
        """Rows held: those read ahead, or every row once indexed."""
        return len(self._index) if self._index is not None else len(self._ahead)

    def get(self, job_id: int) -> JobRecord | None:
        """The job row of ``job_id``, or None if there is none."""
        if self._index is not None:
            return self._index.get(job_id)
        job = self._ahead.pop(job_id, None)
        if job is not None:
            return job
        rows = self._rows
        if rows is not None:
            ahead = self._ahead
            for j in rows:
                if j.job_id == job_id:
                    return j
                # the jobs whose service is an interval of kind "job" (metrics.job_intervals)
                if j.finished_at > j.started_at and j.status == "completed":
                    ahead[j.job_id] = j
            self._rows = None
        self._index = {j.job_id: j for j in self._jobs}
        self._ahead = {}
        return self._index.get(job_id)


def jobs_by_id(jobs: Sequence[JobRecord]) -> Any:
    """An object with ``get(job_id)``: a dict for records in memory, else :class:`JobsInOrder`
    (lookups then must come in the order of the job intervals)."""
    if in_memory(jobs):
        return {j.job_id: j for j in jobs}
    return JobsInOrder(jobs)
