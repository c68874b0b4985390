"""Classical methods on low-rank curvature blocks: measured numpy time against the cost model.

For N ∈ {256, 1024, 4096} and r ∈ {32, 256}, a block H̃ = U·Uᵀ + c·I is given as its factor U
(N×r) and shift c (κ(H̃) = 100, the right-hand side random), as a training step hands it to a
GPU job that found no dense block formed. Two spectra: ``geometric`` (U = Q·diag(s) with Q
orthonormal, the r eigenvalues c + sᵢ² spaced geometrically from c to κ·c: the case CG's
iteration bound is built for) and ``lognormal`` (Gaussian U with rows scaled by lognormal
factors, like per-sample gradients of a real layer: CG adapts to the clustered spectrum and
needs fewer iterations than the bound). Each method of :mod:`hybridsim.linalg.solvers` runs
from there (the dense ones form U·Uᵀ + c·I first, which the model charges as their assembly), is
timed with one BLAS thread (the median of repeats, methods interleaved), and is predicted by
:func:`hybridsim.costs.classical.classical_solve_time` on *this* CPU: the rate and per-call
latency from :func:`hybridsim.costs.classical.calibrate` (LU solves, N = 32 … 512), the memory
bandwidth from timing a dense mat-vec at N = 4096 (bytes / time). CG runs to the cost model's
tolerance ε = 10⁻²; the model charges its iteration bound, the run reports how many it took.
The CPU spec is the calibration's (:attr:`hybridsim.costs.classical.CpuCalibration.spec`, no
memory side); the bandwidth of a DRAM-bound mat-vec (N = 4096) is measured and reported only.

Rows: per (N, r, method) the measured seconds, with the prediction as baseline (ratio = measured
/ predicted); per (N, r) whether the model ranks the methods in the measured order, with the
two rankings in the note. The target is the ranking, not the absolute times: the model knows a
single rate for every kernel (LU-fitted), while numpy's GEMM, triangular solves and mat-vecs run
at different fractions of peak.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.harness import Row, interleaved_medians
from hybridsim.costs.classical import METHODS, calibrate, classical_solve_time
from hybridsim.linalg import solvers

SIZES = (256, 1024, 4096)
RANKS = (32, 256)
SPECTRA = ("geometric", "lognormal")
KAPPA = 100.0
EPS = 1e-2
BOUND = math.ceil(0.5 * math.sqrt(KAPPA) * math.log(2 / EPS))  # cg_iterations(KAPPA, EPS)


def _block(n: int, r: int, spectrum: str, rng: np.random.Generator):
    if spectrum == "geometric":
        q, _ = np.linalg.qr(rng.standard_normal((n, r)))
        c = 1.0
        s2 = c * (KAPPA ** (np.arange(1, r + 1) / r) - 1.0)  # eigenvalues c·κ^(i/r), i = 1..r
        return q * np.sqrt(s2), c, rng.standard_normal(n)
    U = rng.standard_normal((n, r)) * rng.lognormal(0.0, 0.5, (n, 1)) / math.sqrt(r)
    lam_max = float(np.linalg.eigvalsh(U.T @ U)[-1])  # = λmax(U·Uᵀ), from the r×r Gram
    c = lam_max / (KAPPA - 1.0)  # κ(U·Uᵀ + c·I) = 1 + λmax/c = KAPPA exactly
    return U, c, rng.standard_normal(n)


def _dense(U: np.ndarray, c: float) -> np.ndarray:
    H = U @ U.T
    H[np.diag_indices_from(H)] += c
    return H


def _subjects(U, c, b, iterations: dict[str, int]):
    def counted_cg(name, A_apply):
        x, its = solvers.conjugate_gradient(A_apply, b, rtol=EPS)
        iterations[name] = its
        return x

    return {
        "lu": lambda: solvers.solve_lu(_dense(U, c), b),
        "cholesky": lambda: solvers.solve_cholesky(_dense(U, c), b),
        "cg": lambda: counted_cg("cg", (lambda H: lambda v: H @ v)(_dense(U, c))),
        "woodbury": lambda: solvers.solve_woodbury(U, c, b),
        "cg_matrix_free": lambda: counted_cg("cg_matrix_free", solvers.fisher_matvec(U, c)),
    }


def _bandwidth(rng: np.random.Generator) -> float:
    n = 4096
    A = rng.standard_normal((n, n))
    x = rng.standard_normal(n)
    t = interleaved_medians({"gemv": lambda: A @ x}, 7)["gemv"]
    return 8.0 * n * n / t


def _rank(times: dict[str, float]) -> list[str]:
    return sorted(times, key=times.get)


def _kendall_tau(a: list[str], b: list[str]) -> float:
    pos = {m: i for i, m in enumerate(b)}
    n = len(a)
    concordant = discordant = 0
    for i in range(n):
        for j in range(i + 1, n):
            if pos[a[i]] < pos[a[j]]:
                concordant += 1
            else:
                discordant += 1
    return (concordant - discordant) / (n * (n - 1) / 2)


def run(quick: bool) -> list[Row]:
    """Benchmark rows (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(12)
    sizes = SIZES[:2] if quick else SIZES
    rows: list[Row] = []
    with threadpool_limits(limits=1, user_api="blas"):
        cal = calibrate(rng=np.random.default_rng(1), threads=1)
        bw = _bandwidth(rng)
        # The calibration's own spec: rate and latency, no memory side. A DRAM bandwidth (measured
        # below, reported) would price in-cache working sets (U at N = 256 is 0.5 MB) as if
        # they streamed from memory, 5-10x too slow here.
        cpu = cal.spec
        spec_note = (
            f"this CPU: {cal.tflops * 1e3:.1f} GFLOP/s, {cal.launch_latency_s * 1e6:.1f} us/call, "
            f"no memory side (DRAM mat-vec measured {bw / 1e9:.1f} GB/s)"
        )
        for spectrum, n, r in ((s_, n_, r_) for s_ in SPECTRA for n_ in sizes for r_ in RANKS):
            repeats = 1 if n >= 4096 else (3 if quick else 5)
            U, c, b = _block(n, r, spectrum, rng)
            iterations: dict[str, int] = {}
            measured = interleaved_medians(_subjects(U, c, b, iterations), repeats)
            costs = {
                m: classical_solve_time(m, n, n, KAPPA, EPS, gpu=cpu, rank=r, assembled=False)
                for m in METHODS
            }
            predicted = {m: float(costs[m].total_s) for m in METHODS}
            # The same model told how many iterations CG really took (the per-iteration part
            # scales with the count; the assembly does not).
            told = dict(predicted)
            for m, its in iterations.items():
                asm = float(costs[m].assembly_s)
                told[m] = asm + (predicted[m] - asm) / BOUND * its
            rows.extend(
                Row(
                    "classical_methods",
                    f"{spectrum} N={n} r={r} {m} s",
                    measured[m],
                    predicted[m],
                    "",
                    None,
                    "baseline: the cost model's prediction on " + spec_note,
                )
                for m in METHODS
            )
            got, want, with_its = _rank(measured), _rank(predicted), _rank(told)
            rows.append(
                Row(
                    "classical_ranking",
                    f"{spectrum} N={n} r={r} Kendall tau (model vs measured)",
                    _kendall_tau(got, want),
                    None,
                    "best method agrees",
                    got[0] == want[0],
                    f"measured: {' < '.join(got)}; model: {' < '.join(want)}; "
                    f"CG took {iterations['cg']} (matrix-free {iterations['cg_matrix_free']}) "
                    f"iterations, the model's bound {BOUND}; told the counts, the model ranks "
                    f"{' < '.join(with_its)} (tau {_kendall_tau(got, with_its):.2f})",
                )
            )
    return rows
