"""Shared helpers for the test suite."""

from __future__ import annotations

import copy
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
