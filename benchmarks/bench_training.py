"""Training workloads end to end (issue 5).

1. A digits MLP Newton run (64→16→10, Fisher layer blocks, the quickstart's cluster) through the
   simulator: wall time, and the share spent building Hessian blocks, shaping and estimating κ,
   solving (numpy), simulating HHL circuits and everything else (the event engine, scheduling,
   records). Baseline: the same number of Newton steps in a plain numpy loop (blocks, shaping,
   numpy solves, update), no simulator — the ratio is the simulator's overhead.
   Target (issue 15): wall ≤ 2× the plain loop. The simulated run is timed in a warm process
   (QuTiP imported, as in a sweep worker after its first run); the one-off cold import of
   qutip-qip (which pulls in matplotlib and IPython) is measured separately and reported. Both
   sides run BLAS on one thread (as sweep workers do) and are timed alternately, the median of
   a few pairs reported with the pairs' range (``digits_newton``; ``python -c "from
   benchmarks.bench_training import digits_newton; print(digits_newton(30, 5))"`` runs it alone).
2. The paper's BERT-tiny as shapes for one epoch (≈ 8·10⁴ jobs): jobs/s against the engine's
   own M/M/3 jobs/s (fixed pool, explicit service times: no scheduler, no cost model) for the
   same number of jobs in the same process (target, issue 15: ≥ 0.7×), and against plain SimPy
   processing as many timeouts (the epoch in < 10 s).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import simpy
from threadpoolctl import threadpool_limits

from benchmarks.bench_engine import mmc_scenario
from benchmarks.harness import Row, interleaved_medians
from hybridsim.api import run as hs_run
from hybridsim.scenario import load_scenario
from hybridsim.sizing import run_size

ROOT = Path(__file__).resolve().parent.parent


def plain_newton_loop(steps: int) -> float:
    """The quickstart's Newton steps without the simulator (same data, blocks and shaping)."""
    from hybridsim.linalg.shaping import shape_hessian
    from hybridsim.rng import stream
    from hybridsim.workload.datasets import batches, load_dataset
    from hybridsim.workload.mlp import MLPSpec, hessian_blocks, init_params
    from hybridsim.workload.optimizers import newton_update

    ds = load_dataset("digits", rng=stream(1, "data/0"))
    spec = MLPSpec((ds.n_features, 16, ds.n_classes), "tanh")
    params = init_params(spec, stream(1, "init/0"))
    order = iter(batches(len(ds.y_train), 256, stream(1, "batches/0")))
    t0 = time.perf_counter()
    for _ in range(steps):
        idx = next(order, None)
        if idx is None:
            order = iter(batches(len(ds.y_train), 256, stream(1, "batches/0")))
            idx = next(order)
        blocks = hessian_blocks(spec, params, ds.X_train[idx], ds.y_train[idx], kind="fisher")
        sols = []
        for b in blocks:
            S = shape_hessian(b.matrix, eps_norm=0.1).matrix
            sols.append(np.linalg.solve(S, b.grad))
        params = newton_update(params, blocks, sols, clip=100.0)
    return time.perf_counter() - t0


def plain_simpy_timeouts(n: int) -> float:
    """Wall time of plain SimPy processing ``n`` timeouts (one process, one per event)."""
    env = simpy.Environment()

    def proc():
        for _ in range(n):
            yield env.timeout(1)

    env.process(proc())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def _cold_qutip_import_s() -> float:
    """Wall time of importing what the HHL executor needs, in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter(); import qutip_qip.circuit, qutip_qip.operations; "
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


class DigitsTiming(NamedTuple):
    """The digits Newton run against the plain loop, timed alternately (medians, seconds)."""

    simulated: float
    plain: float
    pair_ratios: list[float]  # simulated / plain of each pair, in order
    wall: dict[str, Any]  # the last simulated run's summary["wall"] (where its time went)


def digits_newton(steps: int, repeats: int, overrides: Sequence[str] = ()) -> DigitsTiming:
    """Time the quickstart's ``steps`` Newton steps through the simulator and as a plain numpy
    loop, alternately ``repeats`` times, both with one BLAS thread, in a warm process
    (``overrides``: further ``--set`` items for the simulated run, e.g.
    ``["workload.kappa_true=false"]``)."""
    import qutip_qip.circuit
    import qutip_qip.operations  # noqa: F401

    overrides = [f"workload.steps={steps}", "workload.baselines=[]", *overrides]
    sims: list[float] = []
    plains: list[float] = []
    wall: dict[str, Any] = {}
    with threadpool_limits(limits=1):  # BLAS on one thread on both sides, as sweep workers run
        hs_run(ROOT / "scenarios/quickstart.toml", overrides=["workload.steps=1", *overrides[1:]])
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = hs_run(ROOT / "scenarios/quickstart.toml", overrides=overrides)
            sims.append(time.perf_counter() - t0)
            wall = result.summary["wall"]
            plains.append(plain_newton_loop(steps))
    return DigitsTiming(
        statistics.median(sims),
        statistics.median(plains),
        [a / b for a, b in zip(sims, plains, strict=True)],
        wall,
    )


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    steps = 10 if quick else 30
    repeats = 1 if quick else 3
    cold = _cold_qutip_import_s()
    timing = digits_newton(steps, repeats)
    total, base, wall = timing.simulated, timing.plain, timing.wall
    pairs = timing.pair_ratios
    rows.append(
        Row(
            "digits_newton",
            f"wall s ({steps} steps, simulated)",
            total,
            baseline=base,
            target="ratio <= 2",
            ok=total / base <= 2.0,
            note=(
                "baseline: the same Newton steps in a plain numpy loop; both with one BLAS "
                f"thread, warm process, median of {repeats} alternating pairs (pair ratios "
                f"{min(pairs):.2f}-{max(pairs):.2f}); a cold qutip-qip import adds {cold:.1f} s "
                "once per process"
            ),
        )
    )
    parts = {
        "hessian": wall.get("hessian_s", 0.0),
        "shape+estimate": wall.get("shape_estimate_s", 0.0),
        "numpy solves": wall.get("solve_s", 0.0),
        "HHL circuits": wall.get("circuit_s", 0.0),
        "evaluation": wall.get("evaluate_s", 0.0),
    }
    sim = wall["simulate_s"]
    parts["engine+scheduling+rest"] = max(0.0, sim - sum(parts.values()))
    for name, seconds in parts.items():
        rows.append(Row("digits_newton", f"share: {name}", seconds / sim, note=f"{seconds:.2f} s"))

    model_steps = 200 if quick else None
    over = [f"workload.steps={model_steps}"] if model_steps else []
    bert = load_scenario(ROOT / "scenarios/paper-bert-tiny.toml", overrides=over)
    jobs = run_size(bert).jobs
    mmc = load_scenario(mmc_scenario(jobs))
    hs_run(load_scenario(bert, overrides=["workload.steps=20"]))  # warm: imports, first calls
    med = interleaved_medians(
        {"shapes": lambda: hs_run(bert), "mmc": lambda: hs_run(mmc, seed=1)}, 1 if quick else 2
    )
    dt = med["shapes"]
    rows.append(
        Row(
            "bert_tiny_shapes",
            f"jobs/s ({jobs} jobs{', 1 epoch' if not quick else ''}) vs the engine's M/M/3",
            jobs / dt,
            baseline=jobs / med["mmc"],
            target="ratio >= 0.7",
            ok=(jobs / dt) / (jobs / med["mmc"]) >= 0.7,
            note=(
                f"run took {dt:.1f} s; baseline: hybridsim M/M/3 (fixed pool, explicit service "
                f"times) with as many jobs, {med['mmc']:.1f} s; median of "
                f"{1 if quick else 2}, interleaved"
            ),
        )
    )
    base_s = plain_simpy_timeouts(jobs)
    rows.append(
        Row(
            "bert_tiny_shapes",
            f"jobs/s ({jobs} jobs{', 1 epoch' if not quick else ''}) vs plain SimPy timeouts",
            jobs / dt,
            baseline=jobs / base_s,
            target="epoch < 10 s" if not quick else "",
            ok=(dt < 10.0) if not quick else None,
            note=f"run took {dt:.1f} s; baseline: plain SimPy timeouts/s",
        )
    )
    return rows
