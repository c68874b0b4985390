"""Valid scenarios at the engine's edges: zero-length backlogs and ties at one instant."""

import pytest
from conftest import check_run_invariants, synthetic

from hybridsim import run
from hybridsim.timebase import to_ticks as T

# --- issue 16.1: zero-length jobs behind a busy device ------------------------------------------


def test_zero_length_backlog_behind_a_calibration_drains_without_recursion():
    """Issue 16.1: 200 zero-length jobs queued behind a calibration window used to raise
    RecursionError (each job finished at once and started the next inside the same call).
    Now they drain in a loop, all at the window's end, and complete in dispatch order."""
    data = {
        "cluster": {
            "qpu": [
                {
                    "name": "q",
                    "link_latency": 0,
                    "calibration_times": [0],
                    "calibration_duration": 1,
                }
            ]
        },
        "network": {"host_latency": 0},
        "workload": {
            "kind": "synthetic",
            "jobs": 200,
            "pool": "q",
            "arrival": {"dist": "deterministic", "interval_s": 0},
            "service": {"dist": "deterministic", "value_s": 0},
        },
    }
    r = run(data)
    assert r.summary["jobs_completed"] == 200
    assert {(j.dispatched_at, j.started_at, j.finished_at) for j in r.jobs} == {(T("1 s"),) * 3}
    # completion order is dispatch order (it used to be reversed)
    assert [j.job_id for j in r.jobs] == list(range(200))
    check_run_invariants(r)


@pytest.mark.parametrize("accounting", ["paper", "full"])
@pytest.mark.parametrize("capacity", [1, 2])
def test_zero_length_backlog_behind_a_long_job(accounting, capacity):
    """Issue 16.1: one 1 s job, then 500 zero-length jobs at the same instant; with and without
    network charges (zero latencies, zero bytes) and with two slots."""
    n = 501
    data = synthetic(
        jobs=n,
        gpu=[{"name": "g", "link_latency": 0, "capacity": capacity}],
        arrival={"dist": "trace", "values_s": [0.0] * n},
        service={"dist": "trace", "values_s": [1.0] + [0.0] * (n - 1)},
    )
    data["costs"] = {"accounting": accounting}
    r = run(data)
    assert r.summary["jobs_completed"] == n
    by_id = {j.job_id: j for j in r.jobs}
    assert by_id[0].finished_at == T("1 s")
    # with two slots the zero-length jobs pass the long one at time 0; with one they wait for it
    expect = 0 if capacity == 2 else T("1 s")
    assert all(by_id[i].started_at == expect for i in range(1, n))
    check_run_invariants(r)
