"""Shared helpers for the test suite. The configuration shared with the package's doctests (one
BLAS thread, Hypothesis's storage outside the repository) is in the repository's conftest.py."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any


def synthetic(
    *,
    jobs: int = 2,
    arrival: dict | None = None,
    service: dict | None = None,
    pool: str = "gpu",
    gpu: list[dict] | None = None,
    qpu: list[dict] | None = None,
    network: dict | None = None,
    **workload: Any,
) -> dict[str, Any]:
    """A small synthetic scenario as a dict, with a zero-latency network unless given."""
    cluster: dict[str, Any] = {}
    if gpu is None and qpu is None:
        gpu = [{"name": "g", "link_latency": 0}]
    if gpu:
        cluster["gpu"] = copy.deepcopy(gpu)
    if qpu:
        cluster["qpu"] = copy.deepcopy(qpu)
    return {
        "cluster": cluster,
        "network": network if network is not None else {"host_latency": 0},
        "workload": {
            "kind": "synthetic",
            "jobs": jobs,
            "arrival": arrival or {"dist": "deterministic", "interval_s": 1},
            "service": service or {"dist": "deterministic", "value_s": 1.5},
            "pool": pool,
            **workload,
        },
    }


def check_run_invariants(r):
    """Invariants every run must satisfy, faults or not (see docs/background/faults.md).

    ``r`` is a RunResult; capacities and the job count come from its resolved scenario.
    """
    from hybridsim.metrics import device_intervals
    from hybridsim.scenario import device_names

    jobs = r.jobs
    wl = r.scenario.workload
    # every emitted job ends exactly once, completed or failed with a reason
    ids = sorted(j.job_id for j in jobs)
    until = r.scenario.until
    if until is not None:  # stopped early: the jobs that ended by then, each once
        assert len(ids) == len(set(ids))
        assert all(j.completed_at <= until for j in jobs)
        if getattr(wl, "jobs", None) is not None:
            assert set(ids) <= set(range(wl.jobs))
    elif getattr(wl, "jobs", None) is not None:
        assert ids == list(range(wl.jobs))
    else:
        assert ids == list(range(len(ids)))
    n = len(ids)
    for j in jobs:
        assert j.status in ("completed", "failed")
        assert (j.status == "failed") == bool(j.fail_reason)
        assert j.submitted_at <= j.dispatched_at <= j.started_at <= j.finished_at <= j.completed_at
    capacity = {}
    for g in r.scenario.cluster.groups:
        for dev in device_names(g):
            capacity[dev] = g.capacity
    # no device holds more jobs than its capacity (final attempts and failed attempts)
    held = defaultdict(list)
    for j in jobs:
        if j.status == "completed":
            held[j.device].append((j.dispatched_at, j.finished_at))
    for iv in r.intervals:
        if iv.kind in ("failed", "compute"):
            held[iv.resource].append((iv.start_at, iv.end_at))
    _check_levels(held, capacity)
    # the same over what intervals.csv holds: one record per attempt, never more than capacity
    served = defaultdict(int)
    failed = defaultdict(int)
    busy = defaultdict(list)
    for iv in device_intervals(jobs, r.intervals):
        if iv.kind in ("job", "failed", "compute") and iv.resource in capacity:
            busy[iv.resource].append((iv.start_at, iv.end_at))
        if iv.kind == "job":
            served[iv.job_id] += 1
        elif iv.kind == "failed":
            failed[iv.job_id] += 1
    _check_levels(busy, capacity)
    for j in jobs:
        # every failed attempt is one `failed` interval; a completed job's last attempt is one
        # `job` interval (none when its service lasted zero ticks); a failed job has none
        ok = j.status == "completed"
        assert failed[j.job_id] == j.attempts - ok, (j.job_id, failed[j.job_id], j.attempts)
        assert served[j.job_id] == (ok and j.finished_at > j.started_at), j.job_id
    # nothing runs on a device while it is down or calibrating
    blocked = defaultdict(list)
    for iv in r.intervals:
        if iv.kind in ("outage", "calibration") and iv.resource in capacity:
            blocked[iv.resource].append((iv.start_at, iv.end_at))
    for dev, spans in held.items():
        for s, e in spans:
            for bs, be in blocked[dev]:
                assert e <= bs or s >= be, (dev, s, e, bs, be)
    # totals in the summary equal the rows
    s = r.summary
    assert s["jobs_completed"] == sum(j.status == "completed" for j in jobs)
    assert s["jobs_failed"] == sum(j.status == "failed" for j in jobs)
    assert s["routed_quantum"] + s["routed_classical"] == n


def _check_levels(spans_by_device, capacity):
    """At every instant, at most ``capacity`` of a device's [start, end) spans overlap."""
    for dev, spans in spans_by_device.items():
        level = 0
        # at one instant ends come before starts (-1 sorts first): spans are half-open
        for at, delta in sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans]):
            level += delta
            assert level <= capacity[dev], (dev, at, level)
