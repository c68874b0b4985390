"""Cost of the real-MLP workload: curvature blocks against a plain forward/backward pass.

Model: digits MLP 64→32→10 (tanh), batch 256, random standardized-like inputs (the values do
not change the cost). Every subject is timed interleaved with its baseline in the same run; rows
report per-call medians in milliseconds, the ratio to the baseline and, in the note, the rate
implied by the FLOP model in :mod:`hybridsim.workload.mlp` (which the simulator charges).
"""

from __future__ import annotations

import numpy as np

from benchmarks.harness import Row, interleaved_medians
from hybridsim.workload.mlp import (
    MLPSpec,
    forward_backward_flops,
    hessian_blocks,
    hessian_flops,
    init_params,
    loss_and_grad,
    newton_update,
)
from hybridsim.workload.optimizers import SGD

SIZES = (64, 32, 10)
BATCH = 256


def _problem():
    rng = np.random.default_rng(0)
    spec = MLPSpec(SIZES, "tanh")
    params = init_params(spec, rng)
    X = rng.standard_normal((BATCH, SIZES[0]))
    y = rng.integers(0, SIZES[-1], BATCH)
    return spec, params, X, y


def _newton_step(spec, params, X, y, kind, partition):
    blocks = hessian_blocks(spec, params, X, y, kind=kind, partition=partition)
    sols = []
    for b in blocks:
        m = b.matrix + 0.1 * (np.abs(b.matrix).max() + 1e-10) * np.eye(b.n)
        sols.append(np.linalg.solve(m, b.grad))
    return newton_update(params, blocks, sols, lr=0.1)


def run(quick: bool) -> list[Row]:
    spec, params, X, y = _problem()
    repeats = 5 if quick else 21
    fb_flops = forward_backward_flops(spec, BATCH)
    rows: list[Row] = []

    cases = [("fisher", "neuron"), ("gauss_newton", "neuron"), ("fisher", "layer")]
    if not quick:
        cases.append(("gauss_newton", "layer"))
    for kind, partition in cases:
        t = interleaved_medians(
            {
                "fwd_bwd": lambda: loss_and_grad(spec, params, X, y),
                "hess": lambda k=kind, p=partition: hessian_blocks(
                    spec, params, X, y, kind=k, partition=p
                ),
            },
            repeats if partition == "neuron" else max(3, repeats // 3),
        )
        hf = hessian_flops(spec, BATCH, kind, partition)
        rows.append(
            Row(
                bench="mlp_hessian",
                metric=f"{kind}/{partition} ms",
                value=t["hess"] * 1e3,
                baseline=t["fwd_bwd"] * 1e3,
                note=(
                    f"64-32-10 B={BATCH}; model {hf / 1e6:.1f} MFLOP -> "
                    f"{hf / t['hess'] / 1e9:.2f} GFLOP/s (fwd/bwd {fb_flops / 1e6:.2f} MFLOP -> "
                    f"{fb_flops / t['fwd_bwd'] / 1e9:.2f} GFLOP/s)"
                ),
            )
        )

    # A whole training step, Newton (neuron GN blocks, 42 numpy solves) against SGD-momentum.
    opt = SGD(lr=1.0, momentum=0.9)
    state = opt.init(params)

    def sgd_step():
        _, g = loss_and_grad(spec, params, X, y)
        return opt.step(params, g, state)

    t = interleaved_medians(
        {
            "sgd": sgd_step,
            "newton": lambda: _newton_step(spec, params, X, y, "gauss_newton", "neuron"),
        },
        repeats,
    )
    rows.append(
        Row(
            bench="mlp_step",
            metric="newton(GN/neuron) step ms",
            value=t["newton"] * 1e3,
            baseline=t["sgd"] * 1e3,
            note="baseline: SGD-momentum step; Newton = blocks + 42 numpy solves + update",
        )
    )
    return rows
