"""Shared helpers for the test suite."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    # Tests solve many small systems: multithreaded BLAS only adds contention on a 2-core machine
    # (seen: an N=128 solve 370x slower with both cores busy), and one thread keeps results
    # bitwise reproducible across machines with different core counts.
    with threadpool_limits(limits=1):
        yield


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


@pytest.fixture
def tiny():
    return synthetic


def check_run_invariants(r, data):
    """Invariants every run must satisfy, faults or not (see docs/background/faults.md)."""
    jobs = r.jobs
    n = data["workload"]["jobs"]
    # every emitted job ends exactly once, completed or failed with a reason
    assert sorted(j.job_id for j in jobs) == list(range(n))
    for j in jobs:
        assert j.status in ("completed", "failed")
        assert (j.status == "failed") == bool(j.fail_reason)
        assert j.submitted_at <= j.dispatched_at <= j.started_at <= j.finished_at <= j.completed_at
    capacity = {}
    for kind in ("gpu", "qpu"):
        for g in data["cluster"][kind]:
            for i in range(g["count"]):
                capacity[f"{g['name']}-{i}"] = g["capacity"]
    # no device holds more jobs than its capacity (final attempts and failed attempts)
    held = defaultdict(list)
    for j in jobs:
        if j.status == "completed":
            held[j.device].append((j.dispatched_at, j.finished_at))
    for iv in r.intervals:
        if iv.kind == "failed":
            held[iv.resource].append((iv.start_at, iv.end_at))
    for dev, spans in held.items():
        level = 0
        for _, delta in sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans]):
            level += delta
            assert level <= capacity[dev], dev
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
