"""Generate the κ-estimator table of docs/background/conditioning.md.

Usage::

    python docs/background/make_estimator_table.py            # sizes 16 … 2048 (a few minutes)
    python docs/background/make_estimator_table.py --max-n 256

Hessian-like test matrices, one family per row group, built from real data bundled with
hybridsim (no download):

``fisher_reg``
    Empirical Fisher F = (1/B)·Σ gₙgₙᵀ of the weight row of one class of a softmax layer on
    N random tanh features of the digits images, B = 256 samples (rank <= 256, so singular
    for N > 256 before regularization), regularized with ε_norm = 5e-3 (the public Q-Newton MLP
    setting).
``fisher_eps1``
    The same block regularized with ε_norm = 1 (the BERT/Mistral setting).
``fisher_pruned``
    The same block pruned to ratio 0.1 (union mask) and then regularized with ε_norm = 5e-3 (the
    public code's MLP order).
``fisher_pruned_x``
    As ``fisher_pruned`` with the intersection mask (d <= ⌊0.1·N⌋ + 1).

Truth is κ₂ from the SVD. Errors are log10(κ̂/κ₂) (0 is exact; the Hager–Higham estimate is of
κ₁, so part of its error is κ₁ ≠ κ₂). The norm/det bound overflows a float beyond N ≈ 128 on
these blocks; its error is computed from ``log_kappa_norm_det_bound``, which does not. Times
are medians of wall-clock runs with BLAS limited to one thread (see benchmarks/bench_costs.py
for why). "Gflop" is the estimator's own work count.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from hybridsim.linalg.conditioning import (
    estimator_work,
    kappa_exact,
    kappa_hager_higham,
    kappa_lanczos,
    kappa_paper,
    log_kappa_norm_det_bound,
)
from hybridsim.linalg.shaping import shape_hessian, sparsity
from hybridsim.workload.datasets import load_arrays

ESTIMATORS = {
    "norm_det": kappa_paper,
    "hager_higham": kappa_hager_higham,
    "lanczos": kappa_lanczos,
    "exact": kappa_exact,
}


def fisher_block(n: int, rng: np.random.Generator, batch: int = 256) -> np.ndarray:
    """Empirical Fisher of one softmax output row on N random features of the digits images."""
    x, y = load_arrays("digits")
    idx = rng.choice(len(x), size=batch, replace=False)
    x, y = x[idx] / 16.0, y[idx]
    w_in = rng.standard_normal((x.shape[1], n)) / math.sqrt(x.shape[1])
    phi = np.tanh(x @ w_in + rng.standard_normal(n) * 0.5)  # (B, N) features
    w_out = rng.standard_normal((n, 10)) * 0.1
    logits = phi @ w_out
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    residual = p[:, 0] - (y == 0)  # ∂loss/∂logit of class 0
    g = residual[:, None] * phi  # per-sample gradients of the class-0 weight row
    return g.T @ g / batch


def matrices(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    f = fisher_block(n, rng)
    return {
        "fisher_reg": shape_hessian(f, eps_norm=5e-3).matrix,
        "fisher_eps1": shape_hessian(f, eps_norm=1.0).matrix,
        "fisher_pruned": shape_hessian(f, eps_norm=5e-3, prune_ratio=0.1).matrix,
        "fisher_pruned_x": shape_hessian(
            f, eps_norm=5e-3, prune_ratio=0.1, mask="intersection"
        ).matrix,
    }


def timed(fn, repeats: int):
    out = None
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - t0)
    return out, statistics.median(samples)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=2048)
    args = parser.parse_args(argv)
    sizes = [n for n in (16, 32, 64, 128, 256, 512, 1024, 2048) if n <= args.max_n]
    rng = np.random.default_rng(20240500252)

    err_lines = [
        "| N | matrix | d | κ₂ | norm_det | hager_higham | lanczos |",
        "|---|---|---|---|---|---|---|",
    ]
    cost_lines = [
        "| N | matrix | norm_det ms (Gflop) | hager_higham ms (Gflop) | lanczos ms (Gflop) "
        "| exact ms (Gflop) | lanczos flops / model |",
        "|---|---|---|---|---|---|---|",
    ]
    with threadpool_limits(limits=1, user_api="blas"):
        for n in sizes:
            repeats = 3 if n <= 512 else 1
            for name, a in matrices(n, rng).items():
                d = sparsity(a)
                res = {m: timed(lambda f=f, a=a: f(a), repeats) for m, f in ESTIMATORS.items()}
                truth = res["exact"][0].kappa

                def err(m, res=res, truth=truth, a=a):
                    if m == "norm_det":  # the bound itself may exceed the float range
                        log_k = log_kappa_norm_det_bound(a)
                    else:
                        log_k = math.log(res[m][0].kappa)
                    if not math.isfinite(log_k):
                        return "inf"
                    return f"{(log_k - math.log(truth)) / math.log(10):+.2f}"

                err_lines.append(
                    f"| {n} | {name} | {d} | {truth:.3g} | {err('norm_det')} "
                    f"| {err('hager_higham')} | {err('lanczos')} |"
                )

                def cost(m, res=res):
                    est, t = res[m]
                    return f"{t * 1e3:.3g} ({est.flops / 1e9:.2g})"

                model, _ = estimator_work("lanczos", n, d)
                cost_lines.append(
                    f"| {n} | {name} | {cost('norm_det')} | {cost('hager_higham')} "
                    f"| {cost('lanczos')} | {cost('exact')} "
                    f"| {res['lanczos'][0].flops / model:.2f} |"
                )
    print(f"machine: {platform.machine()}, python {platform.python_version()}, "
          f"numpy {np.__version__}, 1 BLAS thread\n")
    print("Estimation error, log10(κ̂ / κ₂):\n")
    print("\n".join(err_lines))
    print("\nCost, median wall time in ms (work in Gflop):\n")
    print("\n".join(cost_lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
