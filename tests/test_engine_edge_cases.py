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


# --- issue 16.6: ties at one instant -------------------------------------------------------------


def _with_priorities(monkeypatch, prios):
    import dataclasses

    import hybridsim.workload.synthetic as syn

    real = syn.synthetic_jobs
    it = iter(prios)

    def jobs(wl, streams, origin):
        for gap, job in real(wl, streams, origin):
            yield gap, dataclasses.replace(job, priority=next(it))

    monkeypatch.setattr(syn, "synthetic_jobs", jobs)


# Job 0 holds the only slot until 2 s; job 1 (priority 9) waits from 1 s; job 2 (priority 1)
# arrives at 2 s, the instant the slot frees. "release first": job 0's end was scheduled at 0 s,
# before job 2's arrival (scheduled at 1 s, when job 1 arrived). "arrival first": job 0's
# payload takes 1.5 s to arrive, so its 0.5 s service (ending at 2 s) is scheduled at 1.5 s.
ORDERS = {
    "release first": ({"link_latency": 0}, [2.0, 1.0, 1.0]),
    "arrival first": ({"link_latency": "1.5 s"}, [0.5, 1.0, 1.0]),
}


def _tie_scenario(order, discipline):
    link, services = ORDERS[order]
    data = synthetic(
        jobs=3,
        gpu=[{"name": "g", "discipline": discipline, **link}],
        arrival={"dist": "trace", "values_s": [0.0, 1.0, 1.0]},
        service={"dist": "trace", "values_s": services},
    )
    data["costs"] = {"accounting": "full"}  # charge the (zero-byte) link latency
    return data


@pytest.mark.parametrize("order", list(ORDERS))
def test_arrival_at_the_instant_a_slot_frees_competes_by_priority(order, monkeypatch):
    """Issue 16.6: a job arriving at the instant a slot frees was served before the waiting job
    or after it depending on which event had been scheduled first. Rule: at one instant,
    releases, then arrivals, then dispatch, so the freed slot goes to the best-ranked of all
    waiting jobs, the newcomer included, whatever the event history."""
    _with_priorities(monkeypatch, [5, 9, 1])
    r = run(_tie_scenario(order, "priority"))
    by_id = {j.job_id: j for j in r.jobs}
    assert by_id[0].finished_at == T("2 s")
    assert by_id[2].dispatched_at == T("2 s")  # the newcomer ranks first
    assert by_id[1].dispatched_at == by_id[2].finished_at
    check_run_invariants(r)


@pytest.mark.parametrize("order", list(ORDERS))
def test_arrival_at_the_instant_a_slot_frees_queues_behind_under_fifo(order):
    """Issue 16.6, FIFO: the job already waiting takes the freed slot, in both event orders."""
    r = run(_tie_scenario(order, "fifo"))
    by_id = {j.job_id: j for j in r.jobs}
    assert by_id[1].dispatched_at == T("2 s")
    assert by_id[2].dispatched_at == by_id[1].finished_at
    check_run_invariants(r)


def test_window_due_at_the_instant_a_job_ends_starts_before_the_waiting_job():
    """Issue 16.6, rule: at one instant, calibration windows begin before freed slots are handed
    out, so a window due at the instant a service ends starts then (the ending job no longer
    holds the QPU) and the waiting job starts after the window."""
    data = synthetic(
        jobs=2,
        gpu=[],
        qpu=[
            {
                "name": "q",
                "link_latency": 0,
                "calibration_duration": "1 s",
                "calibration_times": ["4 s"],
            }
        ],
        pool="q",
        arrival={"dist": "trace", "values_s": [0.5, 0.5]},
        service={"dist": "trace", "values_s": [3.5, 1.0]},
    )
    r = run(data)
    by_id = {j.job_id: j for j in r.jobs}
    assert by_id[0].finished_at == T("4 s")
    cal = [(iv.start_at, iv.end_at) for iv in r.intervals if iv.kind == "calibration"]
    assert cal == [(T("4 s"), T("5 s"))]
    assert by_id[1].dispatched_at == T("5 s")
    check_run_invariants(r)


def test_arrival_at_the_instant_a_window_ends_queues_behind_the_waiting_job(monkeypatch):
    """Issue 16.6, rule: a slot freed by the end of a calibration window goes to the best job
    waiting at the end of the instant, newcomers included (priority discipline)."""
    _with_priorities(monkeypatch, [9, 1])
    data = synthetic(
        jobs=2,
        gpu=[],
        qpu=[
            {
                "name": "q",
                "link_latency": 0,
                "discipline": "priority",
                "calibration_duration": "2 s",
                "calibration_times": ["0 s"],
            }
        ],
        pool="q",
        arrival={"dist": "trace", "values_s": [1.0, 1.0]},  # at 1 s (waits) and 2 s (window end)
        service={"dist": "deterministic", "value_s": 1.0},
    )
    r = run(data)
    by_id = {j.job_id: j for j in r.jobs}
    assert by_id[1].dispatched_at == T("2 s") and by_id[0].dispatched_at == T("3 s")
    check_run_invariants(r)


def test_failure_at_the_instant_a_service_ends_does_not_abort_it():
    """Issue 16.6: busy spans are half-open, so a job whose service ends at the instant its
    device fails has ended: it completes (it used to be aborted when the failure's event had
    been scheduled first, as an explicit failure instant always is)."""
    data = synthetic(
        jobs=1,
        gpu=[
            {
                "name": "g",
                "link_latency": 0,
                "failures": {"at": ["2.5 s"], "mttr": "1 s", "repair": "deterministic"},
            }
        ],
    )
    r = run(data)
    (job,) = r.jobs
    assert job.status == "completed" and job.attempts == 1
    assert job.finished_at == T("2.5 s")
    assert not [iv for iv in r.intervals if iv.kind == "failed"]
    check_run_invariants(r)
