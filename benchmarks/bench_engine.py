"""Engine throughput and memory: the M/M/3 scenario through ``hybridsim.run`` against a plain,
hand-written SimPy M/M/3 model of the same arrivals, timed alternately in the same process.

Targets (issue 2): hybridsim at least 0.5x the plain SimPy throughput with full records kept;
10**6 jobs in one run with peak RSS under 1.5 GB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import simpy

from benchmarks.harness import Row, interleaved_medians
from hybridsim.api import run as hs_run
from hybridsim.rng import Streams
from hybridsim.scenario import load_scenario
from hybridsim.timebase import TICKS_PER_SECOND
from hybridsim.workload.synthetic import sample_ticks


def mmc_scenario(jobs: int) -> dict:
    """The issue's M/M/3 scenario (rho = 0.8) with ``jobs`` jobs."""
    return {
        "cluster": {"qpu": [{"name": "q", "count": 3}]},
        "workload": {
            "kind": "synthetic",
            "jobs": jobs,
            "arrival": {"dist": "exponential", "rate_per_s": 2.4},
            "service": {"dist": "exponential", "mean_s": 1.0},
            "pool": "qpu",
        },
    }


def plain_simpy_mmc(gaps: list[float], services: list[float], servers: int = 3) -> list[float]:
    """A textbook SimPy M/M/c model: a source process, a Resource, one process per customer.

    It records each customer's wait, the least a useful model keeps.
    """
    env = simpy.Environment()
    server = simpy.Resource(env, servers)
    waits: list[float] = []

    def customer(service: float):
        arrived = env.now
        with server.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def source():
        for gap, service in zip(gaps, services, strict=True):
            yield env.timeout(gap)
            env.process(customer(service))

    env.process(source())
    env.run()
    return waits


def same_samples(jobs: int, seed: int = 1) -> tuple[list[float], list[float]]:
    """The exact inter-arrival and service samples hybridsim draws, in float seconds."""
    sc = load_scenario(mmc_scenario(jobs))
    streams = Streams(seed)
    wl = sc.workload
    gaps = [t / TICKS_PER_SECOND for t in sample_ticks(wl.arrival, jobs, streams["arrivals"])]
    svc = [t / TICKS_PER_SECOND for t in sample_ticks(wl.service, jobs, streams["service"])]
    return gaps, svc


_MEMORY_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    sys.path.insert(0, {root!r})
    from benchmarks.bench_engine import mmc_scenario
    import hybridsim
    t0 = time.perf_counter()
    r = hybridsim.run(mmc_scenario({jobs}), seed=1)
    wall = time.perf_counter() - t0
    assert r.summary["jobs_completed"] == {jobs}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({{"rss_mb": rss_mb, "wall_s": wall, "records": len(r.jobs)}}))
    """
)


def _peak_rss_child(jobs: int) -> dict:
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    code = _MEMORY_CHILD.format(root=root, jobs=jobs)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _baseline_rss_child() -> float:
    code = (
        "import resource, hybridsim.sim.engine; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def run(quick: bool) -> list[Row]:
    jobs = 20_000 if quick else 100_000
    repeats = 3 if quick else 5
    gaps, svc = same_samples(jobs)
    scenario = load_scenario(mmc_scenario(jobs))
    med = interleaved_medians(
        {
            "hybridsim": lambda: hs_run(scenario, seed=1),
            "simpy": lambda: plain_simpy_mmc(gaps, svc),
        },
        repeats,
    )
    ours, base = jobs / med["hybridsim"], jobs / med["simpy"]
    rows = [
        Row(
            "mmc_engine",
            "jobs/s (M/M/3, full records + summary)",
            ours,
            baseline=base,
            target="ratio >= 0.5",
            ok=ours / base >= 0.5,
            note=f"{jobs} jobs, median of {repeats}, baseline: plain SimPy M/M/3",
        )
    ]
    mem_jobs = 100_000 if quick else 1_000_000
    child = _peak_rss_child(mem_jobs)
    base_rss = _baseline_rss_child()
    target_ok = child["rss_mb"] < 1536 if mem_jobs == 1_000_000 else None
    rows.append(
        Row(
            "mmc_engine",
            f"peak RSS MB ({mem_jobs} jobs in one run)",
            child["rss_mb"],
            baseline=base_rss,
            target="< 1536 MB at 10^6 jobs",
            ok=target_ok,
            note=f"baseline: interpreter + import only; run took {child['wall_s']:.1f} s",
        )
    )
    return rows
