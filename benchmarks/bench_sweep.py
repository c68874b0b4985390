"""Sweep machinery: parallel speedup of the local pool, and the cost of a sweep per point.

40-point sweeps of the M/M/c scenario (QPU count × arrival rate, one seed):

* speedup of the 2-worker process pool over the serial executor (issue 7: >= 1.7x on a 2-core
  machine), pool start-up included;
* per-point overhead of a sweep beyond the runs themselves (issue 7: < 50 ms): the serial
  executor's wall time minus that of calling ``hybridsim.run`` on the same resolved scenarios in
  a plain loop in this process (the baseline), divided by the points, on short runs so the
  difference is not lost in their noise. It covers validation of every point, the results
  database (one commit per run), the progress bar and the CSV export.

Timings are medians over repeats, subjects interleaved so a noisy neighbour slows all alike.
"""

from __future__ import annotations

import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.harness import Row

ROOT = Path(__file__).resolve().parent.parent


def _sweep(jobs: int) -> dict:
    return {
        "name": "bench",
        "base": str(ROOT / "scenarios" / "mmc.toml"),
        "seeds": [1],
        "set": {"workload.jobs": jobs},
        "factors": {
            "cluster.qpu.q.count": [3, 4, 5, 6],
            "workload.arrival.rate_per_s": [1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8],
        },
    }


def _timed(subjects: dict, repeats: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {k: [] for k in subjects}
    for _ in range(repeats):
        for name, fn in subjects.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in samples.items()}


def run(quick: bool) -> list[Row]:
    from threadpoolctl import threadpool_limits

    import hybridsim
    from hybridsim.sweep import load_sweep

    def loop(spec) -> None:
        with threadpool_limits(limits=1):  # as every executor runs them
            for p in spec.points:
                for seed in spec.seeds:
                    hybridsim.run(p.scenario, seed=seed)

    def sweep_with(sweep: dict, **kw) -> None:
        out = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
        try:
            hybridsim.run_sweep(sweep, out, progress=False, **kw)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    # Speedup: runs long enough that a pool can pay for itself (~0.25 s each; quick ~0.1 s).
    heavy_jobs = 3000 if quick else 8000
    heavy = _sweep(heavy_jobs)
    heavy_spec = load_sweep(heavy)
    points = len(heavy_spec.points)
    hybridsim.run(heavy_spec.points[0].scenario, seed=1)  # imports and first-call costs, untimed
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    repeats = 1 if quick else 3
    t = _timed(
        {
            "serial": lambda: sweep_with(heavy, serial=True),
            "pool": lambda: sweep_with(heavy, workers=2),
        },
        repeats,
    )
    # Cores the pool's workers actually got (CPU time / wall time): near 1 means another
    # process held a core, and the speedup measures the machine, not the pool.
    cores = (resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu0) / (repeats * t["pool"])
    speedup = t["serial"] / t["pool"]
    heavy_ms = t["serial"] / points * 1e3

    # Overhead: short runs (~7 ms), so the sweep's own costs are not lost in the runs' noise.
    light = _sweep(200)
    light_spec = load_sweep(light)
    o = _timed(
        {"loop": lambda: loop(light_spec), "serial": lambda: sweep_with(light, serial=True)},
        3 if quick else 7,
    )
    overhead_ms = (o["serial"] - o["loop"]) / points * 1e3
    run_ms = o["loop"] / points * 1e3
    return [
        Row("sweep_pool_2_workers", "s per sweep", t["pool"], t["serial"],
            "speedup >= 1.7x (value/baseline <= 0.59)", speedup >= 1.7,
            f"{points} points of mmc.toml, {heavy_jobs} jobs (~{heavy_ms:.0f} ms per run); "
            f"speedup {speedup:.2f}x incl. pool start-up, workers got {cores:.2f} cores; "
            "baseline: serial executor"),
        Row("sweep_overhead", "ms per point", overhead_ms, run_ms, "< 50 ms",
            overhead_ms < 50.0,
            f"{points} points of mmc.toml, 200 jobs; serial sweep (validation, SQLite commit "
            "per run, CSV) minus a plain hybridsim.run loop; baseline: run time per point"),
    ]  # fmt: skip
