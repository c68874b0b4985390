"""Pure functions over a run's records: spans, makespan, waits, utilization, queue lengths.

Nothing here touches the simulation; every function takes rows and returns numbers, so metrics can
be recomputed from saved outputs and tested on hand-made rows. Instants and spans are exact integer
ticks; averages are returned in float seconds.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

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
    "mean_queue_length",
    "peak_physical_qubits",
    "wait_stats",
    "span_means",
    "training_metrics",
    "seconds",
]


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
    out.sort(key=lambda iv: (iv.start_at, iv.resource, iv.job_id, iv.kind))
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
    busy = busy_ticks(jobs)
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
    events: dict[str, list[tuple[int, int]]] = defaultdict(list)
    wanted = set(groups)
    for j in jobs:
        q = j.physical_qubits
        if q is None or j.group not in wanted or j.finished_at <= j.started_at:
            continue
        events[j.group].append((j.started_at, q))
        events[j.group].append((j.finished_at, -q))
    out = {}
    for g in groups:
        in_use = peak = 0
        for _, dq in sorted(events.get(g, ())):  # at one instant, releases (dq < 0) come first
            in_use += dq
            peak = max(peak, in_use)
        out[g] = peak
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

    def mean(xs: list[float | None]) -> float | None:
        vals = [x for x in xs if x is not None]
        return sum(vals) / len(vals) if vals and len(vals) == len(xs) else None

    return {
        "training_time_s": seconds(max(s.at for s in last)),
        "final_loss": mean([s.loss for s in last]),
        "final_accuracy": mean([s.test_accuracy for s in last]),
        "final_train_accuracy": mean([s.train_accuracy for s in last]),
        "time_to_target_s": seconds(max(reach)) if len(reach) == len(tenants) else None,
        "training_steps": max(s.step for s in last),
    }
