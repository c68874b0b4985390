"""Speed of the cost models and κ estimators, each against a baseline timed in the same run.

* ``qlsa_cost`` on 10⁶ (N, d, κ, ε) tuples (issue 3 asks for under a second), against a bare numpy
  expression of the Jennings formula on the same arrays (the floor any implementation pays);
* ``classical_solve_time`` (CG, the most involved classical model) and ``break_even_gate_time`` on
  10⁶ tuples, against the same bare Jennings expression;
* the κ estimators on a regularized Fisher block, against the numpy call of equal asymptotic cost
  (``numpy.linalg.solve`` for the LU-based ones, ``numpy.linalg.cond`` for the SVD), with BLAS
  limited to one thread: on a small shared machine a multithreaded OpenBLAS can be 100× slower
  when another process holds a core, which would measure the neighbours, not the code.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.harness import Row, interleaved_medians
from hybridsim.costs.breakeven import break_even_gate_time
from hybridsim.costs.classical import classical_solve_time
from hybridsim.costs.quantum import qlsa_cost
from hybridsim.costs.specs import GpuSpec, QpuSpec
from hybridsim.linalg.conditioning import (
    kappa_exact,
    kappa_hager_higham,
    kappa_lanczos,
    kappa_paper,
)
from hybridsim.linalg.shaping import regularize

GPU = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=1.5e12)
QPU = QpuSpec(
    gate_time_1q_s=2.4e-8,
    gate_time_2q_s=8.4e-8,
    measure_time_s=1.56e-6,
    reset_time_s=0.0,
    max_shots_per_job=1e5,
)


def _tuples(count: int, rng: np.random.Generator):
    n = np.floor(np.exp(rng.uniform(np.log(16), np.log(1e5), count)))
    d = np.minimum(n, np.floor(np.exp(rng.uniform(0.0, np.log(1e3), count))) + 1)
    kappa = np.exp(rng.uniform(np.log(4.0), np.log(1e6), count))
    eps = np.exp(rng.uniform(np.log(1e-4), np.log(0.2), count))
    return n, d, kappa, eps


def _bare_jennings(kappa, eps):
    L = np.log(2 * kappa + 3)
    q = (
        (1741 * math.e / 500)
        * np.sqrt(kappa**2 + 1)
        * ((133 / 125 + 4 / (25 * np.cbrt(kappa))) * math.pi * L + 1)
        + (351 / 50) * L**2 * (np.log(451 * L**2 / eps) + 1)
        + kappa * np.log(32 / eps)
    )
    return q / (0.39 - 0.204 * eps)


def _vectorized_rows(quick: bool) -> list[Row]:
    count = 10**6
    repeats = 3 if quick else 7
    n, d, kappa, eps = _tuples(count, np.random.default_rng(2024))
    times = interleaved_medians(
        {
            "bare": lambda: _bare_jennings(kappa, eps),
            "paper": lambda: qlsa_cost(n, d, kappa, eps, accounting="paper", qpu=QPU),
            "full": lambda: qlsa_cost(n, d, kappa, eps, accounting="full", qpu=QPU),
            "cg": lambda: classical_solve_time("cg", n, d, kappa, eps, gpu=GPU),
            "breakeven": lambda: break_even_gate_time(
                n,
                d,
                kappa,
                eps,
                accounting="full",
                classical_method="cg",
                gpu=GPU,
                qpu=QPU,
                gate_time_ratio_1q=1.0,
            ),
        },
        repeats,
    )
    base = times["bare"]
    note = "10^6 tuples; baseline: bare numpy Jennings expression on the same arrays"
    return [
        Row(
            "qlsa_cost_paper",
            "s per 1e6 tuples",
            times["paper"],
            base,
            "< 1 s",
            times["paper"] < 1.0,
            note,
        ),
        Row(
            "qlsa_cost_full",
            "s per 1e6 tuples",
            times["full"],
            base,
            "< 1 s",
            times["full"] < 1.0,
            note,
        ),
        Row(
            "classical_cg", "s per 1e6 tuples", times["cg"], base, "< 1 s", times["cg"] < 1.0, note
        ),
        Row(
            "break_even_full_cg",
            "s per 1e6 tuples",
            times["breakeven"],
            base,
            "< 2 s",
            times["breakeven"] < 2.0,
            note,
        ),
    ]


def _fisher_block(n: int, rng: np.random.Generator) -> np.ndarray:
    g = rng.standard_normal((n, max(8, n // 4))) * rng.lognormal(0.0, 1.0, (n, 1))
    return regularize(g @ g.T / g.shape[1], 5e-3)


def _estimator_rows(quick: bool) -> list[Row]:
    from threadpoolctl import threadpool_limits

    n = 256 if quick else 1024
    repeats = 3 if quick else 5
    rng = np.random.default_rng(7)
    a = _fisher_block(n, rng)
    b = rng.standard_normal(n)
    with threadpool_limits(limits=1, user_api="blas"):
        t = interleaved_medians(
            {
                "solve": lambda: np.linalg.solve(a, b),
                "cond": lambda: np.linalg.cond(a),
                "norm_det": lambda: kappa_paper(a),
                "hager_higham": lambda: kappa_hager_higham(a),
                "lanczos": lambda: kappa_lanczos(a),
                "exact": lambda: kappa_exact(a),
            },
            repeats,
        )
    note = f"regularized Fisher block N={n}, 1 BLAS thread"
    return [
        Row(
            "kappa_norm_det",
            "s",
            t["norm_det"],
            t["solve"],
            "ratio <= 3 (one LU)",
            t["norm_det"] <= 3 * t["solve"],
            note + "; baseline numpy.linalg.solve",
        ),
        Row(
            "kappa_hager_higham",
            "s",
            t["hager_higham"],
            t["solve"],
            "ratio <= 3 (one LU)",
            t["hager_higham"] <= 3 * t["solve"],
            note + "; baseline numpy.linalg.solve",
        ),
        Row(
            "kappa_lanczos",
            "s",
            t["lanczos"],
            t["cond"],
            "ratio <= 1 (cheaper than SVD)",
            t["lanczos"] <= t["cond"],
            note + "; baseline numpy.linalg.cond",
        ),
        Row(
            "kappa_exact",
            "s",
            t["exact"],
            t["cond"],
            "ratio <= 1.5",
            t["exact"] <= 1.5 * t["cond"],
            note + "; baseline numpy.linalg.cond",
        ),
    ]


def run(quick: bool) -> list[Row]:
    """Benchmark rows (see the module docstring)."""
    return _vectorized_rows(quick) + _estimator_rows(quick)
