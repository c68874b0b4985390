"""Training workloads end to end (issue 5).

1. A digits MLP Newton run (64→16→10, Fisher layer blocks, the quickstart's cluster) through the
   simulator: wall time, and the share spent building Hessian blocks, shaping and estimating κ,
   solving (numpy), simulating HHL circuits and everything else (the event engine, scheduling,
   records). Baseline: the same number of Newton steps in a plain numpy loop (blocks, shaping,
   numpy solves, update), no simulator — the ratio is the simulator's overhead.
2. The paper's BERT-tiny as shapes for one epoch (≈ 8·10⁴ jobs): jobs/s, against plain SimPy
   processing the same number of timeouts in the same process (target: the epoch in < 10 s).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import simpy
from threadpoolctl import threadpool_limits

from benchmarks.harness import Row
from hybridsim.api import run as hs_run

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


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    steps = 10 if quick else 30
    overrides = [f"workload.steps={steps}", "workload.baselines=[]"]
    t0 = time.perf_counter()
    result = hs_run(ROOT / "scenarios/quickstart.toml", overrides=overrides)
    total = time.perf_counter() - t0
    wall = result.summary["wall"]
    with threadpool_limits(limits=1):  # the simulator runs BLAS single-threaded too
        base = plain_newton_loop(steps)
    rows.append(
        Row(
            "digits_newton",
            f"wall s ({steps} steps, simulated)",
            total,
            baseline=base,
            target="",
            note="baseline: the same Newton steps in a plain numpy loop",
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
    t0 = time.perf_counter()
    r = hs_run(ROOT / "scenarios/paper-bert-tiny.toml", overrides=over)
    dt = time.perf_counter() - t0
    jobs = r.summary["jobs_completed"]
    base_s = plain_simpy_timeouts(jobs)
    rows.append(
        Row(
            "bert_tiny_shapes",
            f"jobs/s ({jobs} jobs{', 1 epoch' if not quick else ''})",
            jobs / dt,
            baseline=jobs / base_s,
            target="epoch < 10 s" if not quick else "",
            ok=(dt < 10.0) if not quick else None,
            note=f"run took {dt:.1f} s; baseline: plain SimPy timeouts/s",
        )
    )
    return rows
