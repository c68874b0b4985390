"""Fault schedules cost what happens during the run, not the simulated span (issue 18.2)."""

import tracemalloc

import pytest
from conftest import check_run_invariants, synthetic

import hybridsim.sim.devices as devices
import hybridsim.sim.faults as faults
from hybridsim import run
from hybridsim.scenario import load_scenario
from hybridsim.sim.engine import Simulation
from hybridsim.timebase import to_ticks as T

K = faults.DORMANT_AFTER


def long_outage_scenario():
    """One GPU down from 1 s for 10^12 s, the only device the jobs may use, while two idle QPUs
    fail and calibrate and every link fails, each once every ~10^7 s."""
    return synthetic(
        jobs=3,
        gpu=[
            {
                "name": "g",
                "link_latency": 0,
                "failures": {"at": ["1 s"], "mttr": "1e12 s", "repair": "deterministic"},
            }
        ],
        qpu=[
            {
                "name": "q",
                "count": 2,
                "link_latency": 0,
                "failures": {"mtbf": "1e7 s", "mttr": "1e5 s", "repair": "exponential"},
                "calibration_period": "1e7 s",
                "calibration_duration": "1e4 s",
            }
        ],
        network={
            "host_latency": 0,
            "link_failures": {"mtbf": "1e7 s", "mttr": "1e3 s", "repair": "deterministic"},
        },
        pool="g",
        arrival={"dist": "trace", "values_s": [0.5, 0.5, 0.5]},
        service={"dist": "deterministic", "value_s": 1},
    )


def test_a_10_to_the_12_s_outage_costs_bounded_memory():
    """Issue 18.2: a GPU outage lasting 1e12 s grew a run to 2 GB, because the other resources'
    fault processes generated (and recorded) every cycle over the whole span: here 10^5 cycles
    per process, over 100 MB of records. Idle resources now go dormant after DORMANT_AFTER
    cycles; the run ends when the workload does. Bound: 16 MB of Python allocations at peak."""
    data = long_outage_scenario()
    tracemalloc.start()
    try:
        r = run(data, overrides=["costs.accounting=full"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MB"
    by_id = {j.job_id: j for j in r.jobs}
    repaired = T("1 s") + T("1e12 s")
    # job 0 ran 0.5-1 s, was aborted by the outage and ran again after the repair
    assert by_id[0].attempts == 2 and by_id[0].dispatched_at == repaired
    assert r.summary["jobs_completed"] == 3
    assert r.summary["makespan_ticks"] == repaired + 3 * T("1 s")
    outages = [iv for iv in r.intervals if iv.kind == "outage"]
    assert len(outages) < 20 * K  # not 10^5 per process
    check_run_invariants(r)


def test_explicit_instants_are_scheduled_one_at_a_time():
    """Issue 18.2: every instant of ``failures.at`` and ``calibration_times`` used to be a
    pending event from the start; now only the next one is."""
    instants = [f"{k} s" for k in range(1, 20001)]
    data = synthetic(
        jobs=1,
        gpu=[],
        qpu=[
            {
                "name": "q",
                "link_latency": 0,
                "failures": {"at": instants, "mttr": "0.1 s", "repair": "deterministic"},
                "calibration_times": instants,
                "calibration_duration": "0.2 s",
            }
        ],
        pool="q",
        arrival={"dist": "trace", "values_s": [0.5]},
        service={"dist": "deterministic", "value_s": 0.1},
    )
    sc = load_scenario(data)
    sim = Simulation(sc, sc.seed)
    assert len(sim.env._queue) <= 4  # the next failure and the next window of one QPU
    sim.run()
    (job,) = sim.recorder.jobs
    assert job.completed_at == T("0.6 s")


def _dormant_then_observed(pool_at_s):
    """An idle QPU failing every ~1 s, observed again (a job offered to it) at ``pool_at_s``."""
    return synthetic(
        jobs=2,
        gpu=[],
        qpu=[
            {
                "name": "q",
                "link_latency": 0,
                "failures": {"mtbf": "1 s", "mttr": "0.1 s", "repair": "exponential"},
            }
        ],
        pool="q",
        arrival={"dist": "trace", "values_s": [0.5, pool_at_s - 0.5]},
        service={"dist": "deterministic", "value_s": "1 ms"},
    )


def _no_dormancy(monkeypatch):
    monkeypatch.setattr(faults, "DORMANT_AFTER", 10**9)
    monkeypatch.setattr(devices, "DORMANT_AFTER", 10**9)


def _outages(r):
    return sorted((iv.start_at, iv.end_at) for iv in r.intervals if iv.kind == "outage")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_waking_after_a_short_gap_replays_the_same_outages(seed, monkeypatch):
    """Dormant after 64 idle cycles (~70 s), woken at 100 s: the skipped cycles are replayed
    with the same draws, so records and jobs equal those of a run that never went dormant."""
    replays = []
    real = faults.OutageProcess._replay
    monkeypatch.setattr(
        faults.OutageProcess, "_replay", lambda self, *a: replays.append(a) or real(self, *a)
    )
    lazy = run(_dormant_then_observed(100.0), seed=seed)
    assert len(replays) == 1  # it did go dormant, and woke at 100 s
    _no_dormancy(monkeypatch)
    eager = run(_dormant_then_observed(100.0), seed=seed)
    assert _outages(lazy) == _outages(eager)
    assert lazy.jobs == eager.jobs
    assert len(_outages(lazy)) > K
    check_run_invariants(lazy)


def test_waking_after_a_long_gap_draws_the_stationary_state():
    """After a gap of more than DORMANT_AFTER mean cycles the state at the wake is drawn from
    the stationary law: down with probability mttr/(mtbf + mttr) (here 1/11)."""
    down = 0
    seeds = range(400)
    for seed in seeds:
        r = run(_dormant_then_observed(10_000.0), seed=seed)
        late = r.jobs[-1] if r.jobs[-1].job_id == 1 else r.jobs[0]
        down += late.dispatched_at > late.submitted_at
        check_run_invariants(r)
    # binomial(400, 1/11): mean 36.4, sd 5.8
    assert 15 <= down <= 60


def test_periodic_calibration_of_an_idle_qpu_goes_dormant_and_resumes_on_its_grid():
    """A QPU idle for 10^6 windows used to generate (and record) each; now 64, and a job
    offered during a window that opened meanwhile waits for that window's end."""
    data = synthetic(
        jobs=2,
        gpu=[],
        qpu=[
            {
                "name": "q",
                "link_latency": 0,
                "calibration_period": "1 s",
                "calibration_duration": "0.5 s",
            }
        ],
        pool="q",
        # the second job arrives 0.25 s into the window opened at 10^6 s
        arrival={"dist": "trace", "values_s": [0.75, 1e6 - 0.5]},
        service={"dist": "deterministic", "value_s": 0.1},
    )
    r = run(data)
    late = max(r.jobs, key=lambda j: j.submitted_at)
    assert late.submitted_at == T("1000000.25 s")
    assert late.dispatched_at == T("1000000.5 s")
    windows = [iv for iv in r.intervals if iv.kind == "calibration"]
    assert len(windows) < 3 * K
    assert (T("1000000 s"), T("1000000.5 s")) in [(w.start_at, w.end_at) for w in windows]
    check_run_invariants(r)


def test_periodic_windows_do_not_tick_while_a_qpu_drains_for_one():
    """A window due while a 10^5 s job runs waits for it (the QPU drains) and every window due
    meanwhile merges into it. The clock used to tick through all of them (5·10^4 idle events
    here, 5·10^8 for a 10^9 s job); now it resumes on its grid when the window ends."""
    data = synthetic(
        jobs=2,
        gpu=[],
        qpu=[
            {
                "name": "q",
                "link_latency": 0,
                "calibration_period": "2 s",
                "calibration_duration": "1 s",
                "calibration_offset": "1 s",
            }
        ],
        pool="q",
        arrival={"dist": "trace", "values_s": [0.5, 0.5]},
        service={"dist": "trace", "values_s": [1e5, 0.1]},
    )
    sc = load_scenario(data)
    sim = Simulation(sc, sc.seed)
    sim.run()
    jobs = {j.job_id: j for j in sim.recorder.jobs}
    end = T("0.5 s") + T("1e5 s")
    assert jobs[0].finished_at == end
    windows = [(iv.start_at, iv.end_at) for iv in sim.recorder.intervals]
    assert windows[0] == (end, end + T("1 s"))  # the 1 s window, delayed by the drain
    # the clock resumed on its grid (1 s + 2k s): the next window is due at end + 1 s
    assert jobs[1].dispatched_at == end + T("1 s")
    assert next(sim.env._eid) < 100  # events scheduled in the whole run
