"""Hypothesis properties of the engine over random clusters and synthetic workloads."""

from collections import defaultdict

from conftest import check_run_invariants
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridsim import run

durations = st.sampled_from(["0 s", "1 ns", "3 us", "0.2 s", "1 s", "1.3 as"])


@st.composite
def dists(draw, arrival: bool):
    kind = draw(st.sampled_from(["exponential", "deterministic", "lognormal"]))
    if kind == "exponential":
        return {"dist": kind, "mean_s": draw(st.sampled_from(["1 ms", "0.5 s", "2 s"]))}
    if kind == "lognormal":
        return {"dist": kind, "mean_s": "0.3 s", "sigma": draw(st.sampled_from([0.2, 1.5]))}
    key = "interval_s" if arrival else "value_s"
    return {"dist": kind, key: draw(durations)}


@st.composite
def scenarios(draw):
    groups = []
    for i in range(draw(st.integers(1, 3))):
        g = {
            "name": f"g{i}",
            "count": draw(st.integers(1, 3)),
            "capacity": draw(st.integers(1, 2)),
            "discipline": draw(st.sampled_from(["fifo", "priority", "shortest_predicted_first"])),
            "link_latency": draw(durations),
            "link_bandwidth": draw(st.sampled_from(["1 GB/s", "10 MB/s"])),
        }
        if draw(st.booleans()):
            g["calibration_period"] = draw(st.sampled_from(["1 s", "3 s"]))
            g["calibration_duration"] = draw(st.sampled_from(["0.1 s", "0.5 s"]))
            g["calibration_offset"] = draw(st.sampled_from(["0 s", "0.25 s"]))
        groups.append(g)
    kinds = [draw(st.sampled_from(["gpu", "qpu"])) for _ in groups]
    cluster = {
        "gpu": [g for g, k in zip(groups, kinds, strict=True) if k == "gpu"],
        "qpu": [g for g, k in zip(groups, kinds, strict=True) if k == "qpu"],
    }
    for g, k in zip(groups, kinds, strict=True):
        if k == "gpu":
            g.pop("calibration_period", None)
            g.pop("calibration_duration", None)
            g.pop("calibration_offset", None)
    pool = draw(st.sampled_from([*{k for k in kinds}, *[g["name"] for g in groups]]))
    return {
        "cluster": cluster,
        "network": {"host_latency": draw(durations), "host_bandwidth": "1 GB/s"},
        "workload": {
            "kind": "synthetic",
            "jobs": draw(st.integers(1, 40)),
            "arrival": draw(dists(True)),
            "service": draw(dists(False)),
            "pool": pool,
            "n": draw(st.integers(0, 40)),
            "priorities": draw(st.lists(st.integers(-3, 3), min_size=1, max_size=3)),
        },
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 2**32))
def test_engine_invariants(data, seed):
    r = run(data, seed=seed)
    # no job lost or duplicated, causality, capacity, nothing during calibration, totals
    check_run_invariants(r)
    n = data["workload"]["jobs"]
    # queue lengths never negative and end empty
    levels = defaultdict(int)
    for q in r.queues:
        assert q.length >= 0
        levels[q.pool] = q.length
    assert all(v == 0 for v in levels.values())
    # without faults every job completes, and utilization is a fraction
    s = r.summary
    assert s["jobs_completed"] == n
    devices = [
        f"{g['name']}-{i}"
        for k in ("gpu", "qpu")
        for g in data["cluster"][k]
        for i in range(g["count"])
    ]
    assert all(0.0 <= s[f"utilization_{d}"] <= 1.0 for d in devices)
