"""Tiny scenarios whose every instant is computed by hand."""

import pytest
from conftest import check_run_invariants, synthetic

from hybridsim import run
from hybridsim.sim.network import LinkState
from hybridsim.timebase import to_ticks as T


def log(result):
    return [
        (
            j.job_id,
            j.device,
            j.submitted_at,
            j.dispatched_at,
            j.started_at,
            j.finished_at,
            j.completed_at,
        )
        for j in sorted(result.jobs, key=lambda j: j.job_id)
    ]


def test_two_jobs_one_device_fifo():
    # arrivals at 1 s and 2 s, 1.5 s of service each, no network delay
    r = run(synthetic(jobs=2))
    assert log(r) == [
        (0, "g-0", T("1 s"), T("1 s"), T("1 s"), T("2.5 s"), T("2.5 s")),
        (1, "g-0", T("2 s"), T("2.5 s"), T("2.5 s"), T("4 s"), T("4 s")),
    ]
    s = r.summary
    assert s["makespan_ticks"] == T("4 s")
    assert s["mean_wait_s"] == 0.25
    assert s["utilization_g-0"] == 0.75
    assert s["jobs_completed"] == 2 and s["routed_classical"] == 2
    # the queue held one job from 2 s to 2.5 s: time-weighted mean 0.5/4
    assert s["mean_queue_g"] == 0.125
    assert [(q.at, q.length) for q in r.queues] == [(T("2 s"), 1), (T("2.5 s"), 0)]


def test_transfer_across_two_links():
    # host -(1 GB/s, 1 us)- switch -(1 GB/s, 2 us)- g-0; n = 10 dense: 800 B matrix + 80 B
    # right-hand side = 880 B payload, 80 B result (costs.classical.solve_payload_bytes)
    data = synthetic(
        jobs=1,
        gpu=[{"name": "g", "link_latency": "2 us", "link_bandwidth": "1 GB/s"}],
        network={"host_latency": "1 us", "host_bandwidth": "1 GB/s"},
        n=10,
    )
    r = run(data)
    (job,) = r.jobs
    t0 = T("1 s")
    started = t0 + T("880 ns") + T("1 us") + T("880 ns") + T("2 us")
    finished = started + T("1.5 s")
    completed = finished + T("80 ns") + T("2 us") + T("80 ns") + T("1 us")
    assert (job.dispatched_at, job.started_at, job.finished_at, job.completed_at) == (
        t0,
        started,
        finished,
        completed,
    )
    links = [(iv.resource, iv.start_at, iv.end_at) for iv in r.intervals if iv.kind == "transfer"]
    assert links == [
        ("link:host->switch", t0, t0 + T("880 ns")),
        ("link:switch->g-0", t0 + T("1.88 us"), t0 + T("2.76 us")),
        ("link:g-0->switch", finished, finished + T("80 ns")),
        ("link:switch->host", finished + T("2.08 us"), finished + T("2.16 us")),
    ]


def test_concurrent_transfers_queue_on_a_shared_link():
    # two GPUs behind one host link; both jobs arrive at 1 s: the second payload waits for the
    # first to leave the host->switch link (FIFO), then the links to the GPUs are separate.
    data = synthetic(
        jobs=2,
        gpu=[{"name": "g", "count": 2, "link_latency": 0, "link_bandwidth": "1 GB/s"}],
        network={"host_latency": 0, "host_bandwidth": "1 GB/s"},
        arrival={"dist": "trace", "values_s": [1, 0]},
        n=100,  # 80 000 B matrix + 800 B right-hand side -> 80.8 us per hop
    )
    r = run(data)
    a, b = sorted(r.jobs, key=lambda j: j.job_id)
    assert a.device == "g-0" and b.device == "g-1"
    # 80.8 us in float seconds rounds up by a few zeptoseconds (a transfer is never shorter
    # than its bytes): the network's own rounding of one hop.
    hop = LinkState("a", "b", 0, 1e9).serialization_ticks(80_800)
    assert T("80.8 us") <= hop < T("80.8 us") + 100
    assert a.started_at == T("1 s") + 2 * hop
    assert b.started_at == T("1 s") + 3 * hop  # waited one hop for the shared link


def test_calibration_window_delays_a_job():
    # window every 10 s from 1 s for 2 s. Job 0 arrives at 0.5 s (service 1 s) and is running
    # at 1 s: the QPU drains, calibrates 1.5 s - 3.5 s. Job 1 arrives at 1.2 s and waits.
    data = synthetic(
        jobs=2,
        gpu=[],
        qpu=[
            {
                "name": "q",
                "link_latency": 0,
                "calibration_period": "10 s",
                "calibration_duration": "2 s",
                "calibration_offset": "1 s",
            }
        ],
        pool="qpu",
        arrival={"dist": "trace", "values_s": [0.5, 0.7]},
        service={"dist": "deterministic", "value_s": 1},
    )
    r = run(data)
    assert log(r) == [
        (0, "q-0", T("0.5 s"), T("0.5 s"), T("0.5 s"), T("1.5 s"), T("1.5 s")),
        (1, "q-0", T("1.2 s"), T("3.5 s"), T("3.5 s"), T("4.5 s"), T("4.5 s")),
    ]
    cal = [(iv.start_at, iv.end_at) for iv in r.intervals if iv.kind == "calibration"]
    assert cal == [(T("1.5 s"), T("3.5 s"))]
    assert r.summary["calibration_time_s"] == 2.0


def test_idle_qpu_calibrates_on_time():
    data = synthetic(
        jobs=1,
        gpu=[],
        qpu=[
            {
                "name": "q",
                "link_latency": 0,
                "calibration_period": "10 s",
                "calibration_duration": "2 s",
            }
        ],
        pool="q",
        arrival={"dist": "trace", "values_s": [1]},
    )
    r = run(data)
    (job,) = r.jobs
    # window [0, 2 s) at time zero; the job arriving at 1 s starts when it closes
    assert (job.dispatched_at, job.finished_at) == (T("2 s"), T("3.5 s"))


@pytest.mark.parametrize(
    "discipline, order",
    [
        ("fifo", [0, 1, 2, 3]),
        ("priority", [0, 3, 2, 1]),
        ("shortest_predicted_first", [0, 2, 3, 1]),
    ],
)
def test_queue_disciplines(discipline, order, monkeypatch):
    # job 0 occupies the GPU; jobs 1-3 queue behind it, then drain in discipline order
    import hybridsim.workload.synthetic as syn

    prios = iter([5, 9, 4, 1])
    real = syn.synthetic_jobs

    def with_prios(wl, streams, origin):
        import dataclasses

        for gap, job in real(wl, streams, origin):
            yield gap, dataclasses.replace(job, priority=next(prios))

    monkeypatch.setattr(syn, "synthetic_jobs", with_prios)
    data = synthetic(
        jobs=4,
        gpu=[{"name": "g", "link_latency": 0, "discipline": discipline}],
        arrival={"dist": "trace", "values_s": [0, 0.1, 0.1, 0.1]},
        service={"dist": "trace", "values_s": [1, 3, 1, 2]},
    )
    r = run(data)
    started = [j.job_id for j in sorted(r.jobs, key=lambda j: j.started_at)]
    assert started == order


def test_until_stops_the_run():
    # By hand: job k arrives at (k + 1) s and, FIFO on the one GPU, runs 1.5 s from
    # 1 + 1.5·k s; it completes at 2.5 + 1.5·k s, which is <= 10 s for k = 0..5. Job 5 ends at
    # exactly 10 s and counts: the stop at `until` comes after the events of that instant.
    r = run(synthetic(jobs=100), overrides=["until='10 s'"])
    assert log(r) == [
        (k, "g-0", T(f"{k + 1} s"), *[T(f"{1 + 1.5 * k} s")] * 2, *[T(f"{2.5 + 1.5 * k} s")] * 2)
        for k in range(6)
    ]
    s = r.summary
    assert (s["jobs_completed"], s["jobs_failed"], s["makespan_ticks"]) == (6, 0, T("10 s"))
    # jobs 6.. arrived (at 7, 8, 9, 10 s) but did not finish: they leave no record
    assert s["routed_classical"] == 6
    check_run_invariants(r)


def test_unconnected_device_is_a_scenario_error():
    from hybridsim.errors import ScenarioError

    data = synthetic(
        gpu=[{"name": "g", "count": 2}],
        network={
            "topology": "custom",
            "nodes": ["sw"],
            "links": [{"a": "host", "b": "sw"}, {"a": "sw", "b": "g-0"}],
        },
    )
    with pytest.raises(ScenarioError, match="g-1.*not connected"):
        run(data)
