"""Pure functions over a run's records: spans, makespan, waits, utilization, queue lengths; and
the same metrics as exact aggregates fed in chunks (:class:`RunTotals`), for runs whose records
stream to disk.

Nothing here touches the simulation; every function takes rows and returns numbers, so metrics can
be recomputed from saved outputs and tested on hand-made rows. Instants and spans are exact integer
ticks; averages are returned in float seconds.

Streaming. A run's summary comes from :class:`RunTotals`, which sees every record once, in chunks
of any size, and keeps only aggregates: counts and exact integer sums of ticks, the running
makespan, per-device busy ticks, the queue-length area, each tenant's last step, and the waits of
completed jobs as float seconds in one array (8 bytes per job). The percentiles are exact with
that array: a wait's seconds are ``ticks / TICKS_PER_SECOND`` correctly rounded, a non-decreasing
function of the ticks, so the k-th smallest of the seconds is the seconds of the k-th smallest
of the ticks (what :func:`wait_stats` computes). Feeding the records in one chunk or in many
gives the same numbers, to the last bit, as the functions below (tests/test_outputs.py).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter

import numpy as np

from hybridsim.records import IntervalRecord, JobRecord, QueueRecord, StepRecord
from hybridsim.timebase import TICKS_PER_SECOND

__all__ = [
    "wait_ticks",
    "service_ticks",
    "transfer_ticks",
    "response_ticks",
    "makespan_ticks",
    "job_intervals",
    "device_intervals",
    "busy_ticks",
    "utilization",
    "utilization_of_busy",
    "mean_queue_length",
    "peak_physical_qubits",
    "qubit_events",
    "peaks_of_events",
    "wait_stats",
    "span_means",
    "training_metrics",
    "seconds",
    "INTERVAL_ORDER",
    "RunTotals",
    "StepTotals",
    "QueueArea",
    "WaitSample",
]

#: Sort key of intervals.csv rows: (start_at, resource, job_id, kind). Sorts are stable, so rows
#: with equal keys keep their record order.
INTERVAL_ORDER = itemgetter(2, 0, 4, 1)


def seconds(ticks: int) -> float:
    """Ticks to float seconds (correctly rounded)."""
    return ticks / TICKS_PER_SECOND


def wait_ticks(job: JobRecord) -> int:
    """Queue wait: submission to device assignment."""
    return job.dispatched_at - job.submitted_at


def service_ticks(job: JobRecord) -> int:
    """Service: payload arrived to service end."""
    return job.finished_at - job.started_at


def transfer_ticks(job: JobRecord) -> int:
    """Network time: payload to the device plus result back to the origin."""
    return (job.started_at - job.dispatched_at) + (job.completed_at - job.finished_at)


def response_ticks(job: JobRecord) -> int:
    """Submission to result back at the origin."""
    return job.completed_at - job.submitted_at


def makespan_ticks(jobs: Iterable[JobRecord], intervals: Iterable[IntervalRecord] = ()) -> int:
    """Instant the last recorded activity ended (jobs completed, intervals closed), from t = 0."""
    end = 0
    for j in jobs:
        if j.completed_at > end:
            end = j.completed_at
    for iv in intervals:
        if iv.end_at > end:
            end = iv.end_at
    return end


def job_intervals(jobs: Iterable[JobRecord]) -> list[IntervalRecord]:
    """Device busy intervals of job service (kind ``"job"``), derived from job rows.

    Only completed jobs have one: the last attempt of a job that failed for good is already
    recorded as a ``failed`` interval by the engine, like its earlier attempts (one record per
    attempt).
    """
    return [
        IntervalRecord(j.device, "job", j.started_at, j.finished_at, j.job_id, j.route)
        for j in jobs
        if j.finished_at > j.started_at and j.status == "completed"
    ]


def device_intervals(
    jobs: Iterable[JobRecord], intervals: Iterable[IntervalRecord]
) -> list[IntervalRecord]:
    """All intervals (job service and recorded ones), sorted by start, resource, job id."""
    out = job_intervals(jobs) + list(intervals)
    out.sort(key=INTERVAL_ORDER)
    return out


def busy_ticks(jobs: Iterable[JobRecord]) -> dict[str, int]:
    """Total service ticks per device."""
    busy: dict[str, int] = defaultdict(int)
    for j in jobs:
        busy[j.device] += j.finished_at - j.started_at
    return dict(busy)


def utilization(
    jobs: Iterable[JobRecord], capacities: Mapping[str, int], horizon: int
) -> dict[str, float]:
    """Time-weighted utilization per device over [0, horizon].

    Utilization is service time divided by ``capacity × horizon``: the fraction of slot-time
    spent serving jobs. (A device is also held while its job's payload is in transit; that time
    is reported as transfer, not as utilization.)
    """
    return utilization_of_busy(busy_ticks(jobs), capacities, horizon)


def utilization_of_busy(
    busy: Mapping[str, int], capacities: Mapping[str, int], horizon: int
) -> dict[str, float]:
    """:func:`utilization` from the service ticks per device (:func:`busy_ticks`)."""
    if horizon <= 0:
        return {dev: 0.0 for dev in capacities}
    return {dev: busy.get(dev, 0) / (cap * horizon) for dev, cap in capacities.items()}


def mean_queue_length(
    queues: Sequence[QueueRecord], pools: Iterable[str], horizon: int
) -> dict[str, float]:
    """Time-weighted mean number of waiting jobs per pool over [0, horizon].

    The queue length is a step function that starts at 0 and changes at each record.
    """
    area: dict[str, int] = {p: 0 for p in pools}
    last_at: dict[str, int] = {p: 0 for p in area}
    last_len: dict[str, int] = {p: 0 for p in area}
    for q in queues:
        if q.at > horizon:
            break
        area[q.pool] += last_len[q.pool] * (q.at - last_at[q.pool])
        last_at[q.pool], last_len[q.pool] = q.at, q.length
    if horizon <= 0:
        return {p: 0.0 for p in area}
    return {p: (area[p] + last_len[p] * (horizon - last_at[p])) / horizon for p in area}


def peak_physical_qubits(jobs: Iterable[JobRecord], groups: Sequence[str]) -> dict[str, int]:
    """Most physical qubits in use at once in each of ``groups`` (QPU groups), over all its QPUs.

    Each job occupies its ``physical_qubits`` during the service of its recorded attempt, the
    half-open span [started_at, finished_at): a job ending at an instant frees its qubits before
    one starting then takes them, and a refused job (zero service) takes none. 0 for a group that
    served no QPU job. Earlier failed attempts are not in the job rows and are not counted.

    Examples
    --------
    >>> from hybridsim.records import JobRecord
    >>> def job(i, start, end, q):
    ...     return JobRecord(i, 0, 0, "", 4, 4, 0, "quantum", "ft", "ft-0", "completed",
    ...                      0, 0, start, end, end, physical_qubits=q)
    >>> peak_physical_qubits([job(0, 0, 10, 500), job(1, 5, 20, 300), job(2, 20, 30, 900)],
    ...                      ["ft"])
    {'ft': 900}
    """
    return peaks_of_events(sorted(qubit_events(jobs, groups)), groups)


def qubit_events(jobs: Iterable[JobRecord], groups: Iterable[str]) -> list[tuple[str, int, int]]:
    """The ``(group, at, dq)`` changes of physical qubits in use that :func:`peak_physical_qubits`
    sweeps: ``+q`` when a job's service starts, ``-q`` when it ends (jobs of other groups, without
    a qubit count or with zero service take none)."""
    wanted = set(groups)
    out = []
    for j in jobs:
        q = j.physical_qubits
        if q is None or j.group not in wanted or j.finished_at <= j.started_at:
            continue
        out.append((j.group, j.started_at, q))
        out.append((j.group, j.finished_at, -q))
    return out


def peaks_of_events(
    events: Iterable[tuple[str, int, int]], groups: Sequence[str]
) -> dict[str, int]:
    """Peak qubits per group from :func:`qubit_events` rows sorted as tuples (by group, then
    instant, releases first at an instant); 0 for a group without events."""
    out = dict.fromkeys(groups, 0)
    group = None
    in_use = peak = 0
    for g, _, dq in events:
        if g != group:
            if group is not None:
                out[group] = peak
            group, in_use, peak = g, 0, 0
        in_use += dq
        if in_use > peak:
            peak = in_use
    if group is not None:
        out[group] = peak
    return out


def wait_stats(jobs: Sequence[JobRecord]) -> dict[str, float | None]:
    """Mean, median, 95th percentile and maximum queue wait in seconds (None without jobs)."""
    if not jobs:
        return {"mean_wait_s": None, "median_wait_s": None, "p95_wait_s": None, "max_wait_s": None}
    waits = sorted([j.dispatched_at - j.submitted_at for j in jobs])
    n = len(waits)
    # Nearest-rank 95th percentile: an actual observed wait, exact in ticks.
    p95 = waits[min(n - 1, max(0, -(-95 * n // 100) - 1))]
    return {
        "mean_wait_s": seconds(sum(waits)) / n,
        "median_wait_s": seconds(int(statistics.median_low(waits))),
        "p95_wait_s": seconds(p95),
        "max_wait_s": seconds(waits[-1]),
    }


def span_means(jobs: Sequence[JobRecord]) -> dict[str, float | None]:
    """Mean service, transfer and response times in seconds, in one pass (None without jobs)."""
    n = len(jobs)
    if not n:
        return {"mean_service_s": None, "mean_transfer_s": None, "mean_response_s": None}
    service = sum([j.finished_at - j.started_at for j in jobs])
    response = sum([j.completed_at - j.submitted_at for j in jobs])
    waits = sum([j.dispatched_at - j.submitted_at for j in jobs])
    # response = wait + transfer + service, exactly, in ticks
    transfer = response - waits - service
    return {
        "mean_service_s": seconds(service) / n,
        "mean_transfer_s": seconds(transfer) / n,
        "mean_response_s": seconds(response) / n,
    }


def _mean_of_all(xs: list[float | None]) -> float | None:
    """The mean of the tenants' values, or None unless every tenant has one (a summary's final
    loss and accuracies: a mean over some tenants would read as the run's)."""
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals and len(vals) == len(xs) else None


def training_metrics(
    steps: Sequence[StepRecord], run: str, target_accuracy: float | None
) -> dict[str, float | None]:
    """Training time, final loss and accuracy, and time to a target test accuracy of one run.

    With several tenants: the training time is the last tenant's end, the time to target the
    last tenant's first reach (None if any tenant never reaches it), and the final loss and
    accuracies are means over tenants.
    """
    rows = [s for s in steps if s.run == run]
    keys = (
        "training_time_s",
        "final_loss",
        "final_accuracy",
        "final_train_accuracy",
        "time_to_target_s",
        "training_steps",
    )
    if not rows:
        return dict.fromkeys(keys)
    tenants = sorted({s.tenant for s in rows})
    last = [max((s for s in rows if s.tenant == t), key=lambda s: s.step) for t in tenants]
    reach: list[int] = []  # one instant per tenant that reached the target
    for t in tenants:
        hits = [
            s.at
            for s in rows
            if s.tenant == t
            and target_accuracy is not None
            and s.test_accuracy is not None
            and s.test_accuracy >= target_accuracy
        ]
        if hits:
            reach.append(min(hits))

    return {
        "training_time_s": seconds(max(s.at for s in last)),
        "final_loss": _mean_of_all([s.loss for s in last]),
        "final_accuracy": _mean_of_all([s.test_accuracy for s in last]),
        "final_train_accuracy": _mean_of_all([s.train_accuracy for s in last]),
        "time_to_target_s": seconds(max(reach)) if len(reach) == len(tenants) else None,
        "training_steps": max(s.step for s in last),
    }


# -- the same metrics, as aggregates fed in chunks ---------------------------------------------


def _nearest_rank_95(n: int) -> int:
    """Index of the nearest-rank 95th percentile in n sorted values."""
    return min(n - 1, max(0, -(-95 * n // 100) - 1))


class WaitSample:
    """Queue waits as float seconds in one growable float64 array: 8 bytes per wait.

    Parameters
    ----------
    capacity : int
        Expected number of waits (the array is reserved, untouched, at this size; it grows by
        half when exceeded).
    """

    def __init__(self, capacity: int = 0):
        self._buf = np.empty(max(int(capacity), 1024))
        self.n = 0

    def extend(self, waits_s: Sequence[float]) -> None:
        k = len(waits_s)
        need = self.n + k
        if need > len(self._buf):
            grown = np.empty(max(need, len(self._buf) * 3 // 2))
            grown[: self.n] = self._buf[: self.n]
            self._buf = grown
        self._buf[self.n : need] = waits_s
        self.n = need

    def order_statistics(self, ranks: Sequence[int]) -> list[float]:
        """The values of the given ranks (0 = smallest) in sorted order (partitions in place)."""
        a = self._buf[: self.n]
        a.partition(sorted(set(ranks)))
        return [float(a[k]) for k in ranks]

    def max(self) -> float:
        return float(self._buf[: self.n].max())


class QueueArea:
    """The time integral of each pool's queue length, fed rows in time order.

    The result over ``[0, horizon]`` needs the horizon, known only at the end: rows up to the
    ``bound`` given with them (never more than the final horizon) are folded in at once, later
    ones wait (they are the few queue changes after the last recorded completion).
    """

    def __init__(self, pools: Iterable[str]):
        self.area: dict[str, int] = {p: 0 for p in pools}
        self.last_at: dict[str, int] = {p: 0 for p in self.area}
        self.last_len: dict[str, int] = {p: 0 for p in self.area}
        self.pending: list[QueueRecord] = []

    def add(self, queues: Iterable[QueueRecord], bound: int) -> None:
        rows = [*self.pending, *queues] if self.pending else queues
        area, last_at, last_len = self.area, self.last_at, self.last_len
        rest: list[QueueRecord] = []
        it = iter(rows)
        for q in it:
            if q.at > bound:
                rest.append(q)
                rest.extend(it)
                break
            area[q.pool] += last_len[q.pool] * (q.at - last_at[q.pool])
            last_at[q.pool], last_len[q.pool] = q.at, q.length
        self.pending = rest

    def means(self, horizon: int) -> dict[str, float]:
        """Time-weighted mean lengths over [0, horizon] (as :func:`mean_queue_length`)."""
        self.add((), horizon)
        area, last_at, last_len = self.area, self.last_at, self.last_len
        if horizon <= 0:
            return {p: 0.0 for p in area}
        return {p: (area[p] + last_len[p] * (horizon - last_at[p])) / horizon for p in area}


class StepTotals:
    """Each (run, tenant)'s last step and first time at the target accuracy, fed in chunks;
    :meth:`metrics` is :func:`training_metrics`."""

    def __init__(self, target_accuracy: float | None = None):
        self.target = target_accuracy
        self.last: dict[tuple[str, int], StepRecord] = {}
        self.reach: dict[tuple[str, int], int] = {}
        self.rows: dict[str, int] = defaultdict(int)
        self.clipped: dict[str, int] = defaultdict(int)

    def add(self, steps: Iterable[StepRecord]) -> None:
        last, reach, target = self.last, self.reach, self.target
        for s in steps:
            key = (s.run, s.tenant)
            cur = last.get(key)
            if cur is None or s.step > cur.step:  # the first of equal maxima, as max() keeps
                last[key] = s
            if target is not None and s.test_accuracy is not None and s.test_accuracy >= target:
                r = reach.get(key)
                if r is None or s.at < r:
                    reach[key] = s.at
            self.rows[s.run] += 1
            self.clipped[s.run] += s.kappa_clipped

    def metrics(self, run: str) -> dict[str, float | None]:
        """As :func:`training_metrics` over every step fed so far."""
        keys = (
            "training_time_s",
            "final_loss",
            "final_accuracy",
            "final_train_accuracy",
            "time_to_target_s",
            "training_steps",
        )
        tenants = sorted(t for r, t in self.last if r == run)
        if not tenants:
            return dict.fromkeys(keys)
        last = [self.last[(run, t)] for t in tenants]
        reach = [self.reach.get((run, t)) for t in tenants]
        reached = [r for r in reach if r is not None]

        return {
            "training_time_s": seconds(max(s.at for s in last)),
            "final_loss": _mean_of_all([s.loss for s in last]),
            "final_accuracy": _mean_of_all([s.test_accuracy for s in last]),
            "final_train_accuracy": _mean_of_all([s.train_accuracy for s in last]),
            "time_to_target_s": (
                seconds(max(reached)) if reach and len(reached) == len(reach) else None
            ),
            "training_steps": max(s.step for s in last),
        }

    def clipped_block_steps(self, run: str) -> int | None:
        """Sum of ``kappa_clipped`` over the run's steps (None without steps)."""
        return self.clipped[run] if self.rows.get(run) else None


class RunTotals:
    """Exact aggregates of one run's records, fed in chunks of any size.

    Feed jobs and intervals before the queue rows of the same stretch of the run (the queue
    area folds rows up to the makespan seen so far). Every method returns what the pure
    function of the same name computes over all records fed.

    Parameters
    ----------
    pools : iterable of str
        Pool names (queue rows of other pools are an error, as in :func:`mean_queue_length`).
    target_accuracy : float, optional
        For :meth:`StepTotals.metrics`.
    expected_jobs : int
        Room reserved for the waits (see :class:`WaitSample`).
    qpu_groups : iterable of str
        QPU group names, for :meth:`peak_physical_qubits`.

    Attributes
    ----------
    qubit_events : list
        The :func:`qubit_events` of the jobs fed and not yet taken. A caller that streams a
        long run takes them (:meth:`take_qubit_events`), keeps them sorted on disk and hands
        the merged, sorted stream back to :meth:`fold_qubit_events` at the end; the peaks are
        then those of every event, in bounded memory.
    """

    def __init__(
        self,
        pools: Iterable[str] = (),
        target_accuracy: float | None = None,
        expected_jobs: int = 0,
        qpu_groups: Iterable[str] = (),
    ):
        self.jobs = 0
        self.completed = 0
        self.failed = 0
        self.routed: dict[str, int] = defaultdict(int)
        self.horizon = 0
        self.busy: dict[str, int] = defaultdict(int)  # service ticks of completed jobs
        self.wait_sum = 0
        self.service_sum = 0
        self.response_sum = 0
        self.waits = WaitSample(expected_jobs)
        self.calibration = 0
        self.intervals = 0
        self.queues = QueueArea(pools)
        self.steps = StepTotals(target_accuracy)
        self.qpu_groups = list(qpu_groups)
        self.qubit_events: list[tuple[str, int, int]] = []
        self._peaks: dict[str, int] | None = None

    def add_jobs(self, jobs: Iterable[JobRecord]) -> None:
        if not isinstance(jobs, Sequence):  # read twice below
            jobs = list(jobs)
        horizon, busy, routed = self.horizon, self.busy, self.routed
        waits: list[int] = []
        n = failed = service = response = 0
        for j in jobs:
            n += 1
            if j.completed_at > horizon:
                horizon = j.completed_at
            routed[j.route] += 1
            status = j.status
            if status == "completed":
                s = j.finished_at - j.started_at
                busy[j.device] += s
                service += s
                response += j.completed_at - j.submitted_at
                waits.append(j.dispatched_at - j.submitted_at)
            elif status == "failed":
                failed += 1
        self.jobs += n
        self.failed += failed
        self.completed += len(waits)
        self.horizon = horizon
        self.service_sum += service
        self.response_sum += response
        self.wait_sum += sum(waits)
        self.waits.extend([w / TICKS_PER_SECOND for w in waits])
        if self.qpu_groups:
            self.qubit_events.extend(qubit_events(jobs, self.qpu_groups))

    def take_qubit_events(self) -> list[tuple[str, int, int]]:
        """The qubit events fed since the last take, sorted (they leave the aggregates)."""
        events, self.qubit_events = self.qubit_events, []
        events.sort()
        return events

    def fold_qubit_events(self, events: Iterable[tuple[str, int, int]]) -> None:
        """Set the peaks from every event of the run, sorted (the taken ones merged with those
        still held); call once, at the end."""
        self._peaks = peaks_of_events(events, self.qpu_groups)
        self.qubit_events = []

    def add_intervals(self, intervals: Iterable[IntervalRecord]) -> None:
        horizon = self.horizon
        calibration = n = 0
        for iv in intervals:
            n += 1
            if iv.end_at > horizon:
                horizon = iv.end_at
            if iv.kind == "calibration":
                calibration += iv.end_at - iv.start_at
        self.horizon = horizon
        self.calibration += calibration
        self.intervals += n

    def add_queues(self, queues: Iterable[QueueRecord]) -> None:
        self.queues.add(queues, self.horizon)

    def add_steps(self, steps: Iterable[StepRecord]) -> None:
        self.steps.add(steps)

    def wait_stats(self) -> dict[str, float | None]:
        """As :func:`wait_stats` of the completed jobs."""
        n = self.completed
        if not n:
            return {
                "mean_wait_s": None,
                "median_wait_s": None,
                "p95_wait_s": None,
                "max_wait_s": None,
            }
        median, p95 = self.waits.order_statistics([(n - 1) // 2, _nearest_rank_95(n)])
        return {
            "mean_wait_s": seconds(self.wait_sum) / n,
            "median_wait_s": median,
            "p95_wait_s": p95,
            "max_wait_s": self.waits.max(),
        }

    def span_means(self) -> dict[str, float | None]:
        """As :func:`span_means` of the completed jobs."""
        n = self.completed
        if not n:
            return {"mean_service_s": None, "mean_transfer_s": None, "mean_response_s": None}
        transfer = self.response_sum - self.wait_sum - self.service_sum
        return {
            "mean_service_s": seconds(self.service_sum) / n,
            "mean_transfer_s": seconds(transfer) / n,
            "mean_response_s": seconds(self.response_sum) / n,
        }

    def utilization(self, capacities: Mapping[str, int]) -> dict[str, float]:
        """As :func:`utilization` of the completed jobs over the makespan."""
        return utilization_of_busy(self.busy, capacities, self.horizon)

    def peak_physical_qubits(self) -> dict[str, int]:
        """As :func:`peak_physical_qubits` of the jobs fed (see :meth:`fold_qubit_events`)."""
        if self._peaks is not None:
            return dict(self._peaks)
        return peaks_of_events(sorted(self.qubit_events), self.qpu_groups)

    def mean_queue_length(self) -> dict[str, float]:
        """As :func:`mean_queue_length` over the makespan (call once, at the end)."""
        return self.queues.means(self.horizon)
