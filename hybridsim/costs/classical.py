"""Classical linear-solve cost model: LU, Cholesky and conjugate gradient on a GPU (or CPU) spec.

Every function is vectorized: arguments may be Python floats or numpy arrays (broadcast together)
and results are floats for scalar input, arrays otherwise.

Model (sources in docs/background/costs.md):

* flops: LU 2/3·N³, Cholesky 1/3·N³, plus 2·N² for the two triangular solves (Golub & Van Loan,
  *Matrix Computations*, 4th ed., §3.2, §4.2); CG k = ⌈½·√κ·ln(2/ε)⌉ iterations (the classical
  A-norm error bound 2·((√κ−1)/(√κ+1))ᵏ ≤ ε, with ln((√κ+1)/(√κ−1)) ≥ 2/√κ), each one mat-vec
  (2·nnz flops) plus two dot products and three axpys (10·N flops).
* time: a roofline, max(flops / sustained rate, bytes / memory bandwidth), plus a fixed launch
  latency per library call. Call count model: a direct solve is **one** call (one LAPACK
  ``gesv``/``posv``-style call, as ``numpy.linalg.solve`` makes; this is also what
  :func:`calibrate` measures); CG is ``cg_calls_per_iteration`` calls per iteration (default 1, a
  fused or graph-captured iteration; an unfused GPU CG launches ~6 kernels per iteration).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybridsim.costs.specs import (
    GPU_KEYWORDS,
    GpuSpec,
    _no_unknown_keywords,
    _spec_from_keywords,
    _warn_deprecated,
)
from hybridsim.errors import ModelDomainError

__all__ = [
    "METHODS",
    "lu_flops",
    "cholesky_flops",
    "cg_iterations",
    "cg_flops",
    "solve_bytes",
    "solve_calls",
    "ClassicalCost",
    "classical_solve_time",
    "host_device_transfer_s",
    "payload_bytes",
    "result_bytes",
    "CpuCalibration",
    "calibrate",
]

#: Classical solve methods understood by :func:`classical_solve_time`.
METHODS = ("lu", "cholesky", "cg")
#: Bytes a textbook CG iteration moves on top of the mat-vec: 14 vector reads/writes of 8·N bytes
#: (q = Ap writes q and reads p; p·q; x += αp; r -= αq; r·r; p = r + βp).
_CG_VECTOR_BYTES_PER_N = 112.0


def _out(x):
    """0-d results as Python floats, arrays as float arrays."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _check_nd(n, d=None):
    n = np.asarray(n, dtype=float)
    if np.any(~np.isfinite(n)) or np.any(n < 1):
        raise ModelDomainError("matrix size n must be finite and >= 1")
    if d is None:
        return n, None
    d = np.asarray(d, dtype=float)
    if np.any(d < 1) or np.any(d > n):
        raise ModelDomainError("row sparsity d must satisfy 1 <= d <= n")
    return n, d


def lu_flops(n):
    """Flops of an LU solve: 2/3·N³ (``getrf``) + 2·N² (forward and back substitution).

    Examples
    --------
    >>> lu_flops(3)
    36.0
    """
    n, _ = _check_nd(n)
    return _out(2.0 / 3.0 * n**3 + 2.0 * n**2)


def cholesky_flops(n):
    """Flops of a Cholesky solve: 1/3·N³ (``potrf``) + 2·N² (two triangular solves).

    Examples
    --------
    >>> cholesky_flops(3)
    27.0
    """
    n, _ = _check_nd(n)
    return _out(1.0 / 3.0 * n**3 + 2.0 * n**2)


def cg_iterations(kappa, eps):
    """CG iterations to reduce the A-norm error by ε on an SPD system: ⌈½·√κ·ln(2/ε)⌉.

    Valid for κ >= 1 and 0 < ε < 1. An upper bound from the Chebyshev argument; a real run
    usually needs fewer (it adapts to the spectrum), and finite termination at N iterations
    (exact arithmetic only) is not modelled.

    Examples
    --------
    >>> cg_iterations(100.0, 1e-6)  # 0.5 * 10 * ln(2e6) = 72.5
    73.0
    """
    if kappa is None or eps is None:
        raise ModelDomainError("CG needs a condition number kappa and a tolerance eps")
    k = np.asarray(kappa, dtype=float)
    e = np.asarray(eps, dtype=float)
    if np.any(~(k >= 1.0)) or np.any(~np.isfinite(k)):
        raise ModelDomainError("CG needs a finite condition number kappa >= 1")
    if np.any(~((e > 0.0) & (e < 1.0))):
        raise ModelDomainError("CG tolerance eps must be in (0, 1)")
    return _out(np.ceil(0.5 * np.sqrt(k) * np.log(2.0 / e)))


def cg_flops(n, d, kappa, eps):
    """Flops of CG: iterations × (2·N·d mat-vec + 10·N vector work).

    Examples
    --------
    >>> cg_flops(10, 3, 100.0, 1e-6)  # 73 * (60 + 100)
    11680.0
    """
    n, d = _check_nd(n, d)
    return _out(cg_iterations(kappa, eps) * (2.0 * n * d + 10.0 * n))


def solve_calls(method: str, kappa=None, eps=None, *, cg_calls_per_iteration: float = 1.0):
    """Library calls (each paying the launch latency) a solve makes; see the module docstring."""
    if method in ("lu", "cholesky"):
        return 1.0
    if method == "cg":
        return _out(cg_iterations(kappa, eps) * cg_calls_per_iteration)
    raise ModelDomainError(f"unknown classical method {method!r} (expected one of {METHODS})")


def solve_bytes(method: str, n, d=None, kappa=None, eps=None):
    """Memory traffic of a solve in bytes (the roofline's memory side; (inferred) pass counts).

    LU: read A, write the factors, read L and U once in the two solves: 8·(3·N² + 2·N).
    Cholesky: the same on one triangle: 8·(2·N² + 2·N). CG: each iteration reads the CSR matrix
    (12 bytes per nonzero + 4·(N+1) row pointers) and moves 112·N bytes of vectors.

    Examples
    --------
    >>> solve_bytes("lu", 2)
    128.0
    """
    if method == "lu":
        n, _ = _check_nd(n)
        return _out(8.0 * (3.0 * n**2 + 2.0 * n))
    if method == "cholesky":
        n, _ = _check_nd(n)
        return _out(8.0 * (2.0 * n**2 + 2.0 * n))
    if method == "cg":
        n, d = _check_nd(n, d)
        per_iter = 12.0 * n * d + 4.0 * (n + 1.0) + _CG_VECTOR_BYTES_PER_N * n
        return _out(cg_iterations(kappa, eps) * per_iter)
    raise ModelDomainError(f"unknown classical method {method!r} (expected one of {METHODS})")


@dataclass(frozen=True, slots=True)
class ClassicalCost:
    """Predicted cost of one classical solve (floats, or arrays when the inputs were arrays).

    Parameters
    ----------
    method : str
        ``"lu"``, ``"cholesky"`` or ``"cg"``.
    flops, bytes : float or numpy.ndarray
        Work and memory traffic.
    calls : float or numpy.ndarray
        Library calls, each paying the launch latency.
    compute_s, memory_s, launch_s : float or numpy.ndarray
        flops / rate, bytes / bandwidth, calls × latency.
    total_s : float or numpy.ndarray
        max(compute_s, memory_s) + launch_s.
    """

    method: str
    flops: float | np.ndarray
    bytes: float | np.ndarray
    calls: float | np.ndarray
    compute_s: float | np.ndarray
    memory_s: float | np.ndarray
    launch_s: float | np.ndarray
    total_s: float | np.ndarray


def classical_solve_time(
    method: str,
    n,
    d,
    kappa,
    eps,
    *,
    gpu: GpuSpec | None = None,
    cg_calls_per_iteration: float = 1.0,
    **legacy: Any,
) -> ClassicalCost:
    """Roofline time of a linear solve on one device.

    total = max(flops / (tflops·10¹²), bytes / mem_bandwidth_Bps) + calls·launch_latency_s.

    Parameters
    ----------
    method : {"lu", "cholesky", "cg"}
        Dense LU (any invertible matrix), dense Cholesky (SPD), or CG on a CSR matrix (SPD).
    n, d : float or array
        Matrix size and row sparsity (d is used by CG only; 1 <= d <= n).
    kappa, eps : float or array
        Condition number and target relative accuracy (CG only; ignored, may be None, for the
        direct methods).
    gpu : GpuSpec
        The device: sustained rate (dense LU ≈ 14 TFLOP/s per A100, ≈ 26 per H100, inferred
        from Top500 HPL per GPU: docs/background/references.md#gpu-rates), launch latency per
        library call (tens of µs on a GPU) and memory bandwidth (``inf`` ignores the memory side).
    cg_calls_per_iteration : float
        Calls per CG iteration (1 = fused iteration).
    **legacy
        Deprecated: ``tflops``, ``launch_latency_s``, ``mem_bandwidth_Bps`` instead of ``gpu``
        (a DeprecationWarning; removed in the next release).

    Examples
    --------
    >>> c = classical_solve_time("lu", 3, 3, None, None,
    ...                          gpu=GpuSpec(tflops=1e-12, launch_latency_s=1.0))
    >>> c.flops, c.compute_s, c.total_s
    (36.0, 36.0, 37.0)
    """
    gpu, used = _spec_from_keywords(
        "classical_solve_time", GpuSpec, "gpu", gpu, legacy, GPU_KEYWORDS
    )
    _no_unknown_keywords("classical_solve_time", legacy)
    _warn_deprecated("classical_solve_time", used, "gpu=GpuSpec(...)", stacklevel=2)
    if method not in METHODS:
        raise ModelDomainError(f"unknown classical method {method!r} (expected one of {METHODS})")
    if method == "lu":
        flops = lu_flops(n)
    elif method == "cholesky":
        flops = cholesky_flops(n)
    else:
        flops = cg_flops(n, d, kappa, eps)
    bytes_ = solve_bytes(method, n, d, kappa, eps)
    calls = solve_calls(method, kappa, eps, cg_calls_per_iteration=cg_calls_per_iteration)
    flops, bytes_, calls = np.broadcast_arrays(
        np.asarray(flops, float), np.asarray(bytes_, float), np.asarray(calls, float)
    )
    compute_s = flops / (gpu.tflops * 1e12)
    memory_s = bytes_ / gpu.mem_bandwidth_Bps
    launch_s = calls * gpu.launch_latency_s
    total_s = np.maximum(compute_s, memory_s) + launch_s
    return ClassicalCost(
        method,
        _out(flops),
        _out(bytes_),
        _out(calls),
        _out(compute_s),
        _out(memory_s),
        _out(launch_s),
        _out(total_s),
    )


def host_device_transfer_s(nbytes, *, bandwidth_Bps: float, latency_s: float):
    """Time to move ``nbytes`` across a link: latency_s + nbytes / bandwidth_Bps.

    Examples
    --------
    >>> host_device_transfer_s(8e9, bandwidth_Bps=16e9, latency_s=1e-5)
    0.50001
    """
    b = np.asarray(nbytes, dtype=float)
    if np.any(b < 0) or not (bandwidth_Bps > 0 and latency_s >= 0):
        raise ModelDomainError("need nbytes >= 0, bandwidth_Bps > 0 and latency_s >= 0")
    return _out(latency_s + b / bandwidth_Bps)


def payload_bytes(n, d, *, sparse: bool):
    """Bytes of a matrix payload: dense N²·8, or sparse N·d·(8 + 4) (float64 value + int32 index).

    The right-hand side is not included: add :func:`result_bytes` (same size) for it.

    Examples
    --------
    >>> payload_bytes(4, 2, sparse=False), payload_bytes(4, 2, sparse=True)
    (128.0, 96.0)
    """
    n, d = _check_nd(n, d)
    return _out(n * d * 12.0 if sparse else n * n * 8.0)


def result_bytes(n):
    """Bytes of a solution (or right-hand side) vector: N·8.

    Examples
    --------
    >>> result_bytes(4)
    32.0
    """
    n, _ = _check_nd(n)
    return _out(8.0 * n)


@dataclass(frozen=True, slots=True)
class CpuCalibration:
    """Constants of the LU model fitted to ``numpy.linalg.solve`` on this machine.

    Parameters
    ----------
    tflops : float
        Fitted sustained rate (TFLOP/s).
    launch_latency_s : float
        Fitted fixed cost per call (s).
    samples : tuple of (int, float)
        (N, median seconds per solve) pairs the fit used.
    """

    tflops: float
    launch_latency_s: float
    samples: tuple[tuple[int, float], ...]

    @property
    def spec(self) -> GpuSpec:
        """This machine as a device spec (no memory side), for the cost models."""
        return GpuSpec(tflops=self.tflops, launch_latency_s=self.launch_latency_s)

    def predict_s(self, n):
        """Predicted ``numpy.linalg.solve`` time for size ``n`` (the LU model, no memory side)."""
        return classical_solve_time("lu", n, n, None, None, gpu=self.spec).total_s


def _blas_threads(threads: int | None):
    """Context manager limiting BLAS threads (a no-op context for ``None``)."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits  # lazy: only calibration needs it

    return threadpool_limits(limits=int(threads), user_api="blas")


def _time_solve(A: np.ndarray, b: np.ndarray, repeats: int) -> float:
    """Median seconds per ``numpy.linalg.solve`` call, looping small sizes to beat timer noise."""
    t0 = time.perf_counter()
    np.linalg.solve(A, b)
    first = time.perf_counter() - t0
    inner = int(min(1000, max(1, math.ceil(2e-3 / max(first, 1e-9)))))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            np.linalg.solve(A, b)
        samples.append((time.perf_counter() - t0) / inner)
    return float(np.median(samples))


def calibrate(
    sizes=(32, 64, 128, 256, 512),
    repeats: int = 5,
    rng: np.random.Generator | None = None,
    *,
    threads: int | None = None,
) -> CpuCalibration:
    """Measure ``numpy.linalg.solve`` here and fit time ≈ latency + lu_flops(N)/rate.

    The fit minimizes *relative* residuals (each equation divided by its measured time) with
    non-negative least squares, so the microsecond-scale small sizes pin the latency and the large
    ones the rate, and neither constant can come out negative. Takes about 0.1–0.5 s with the
    default sizes.

    Parameters
    ----------
    sizes : sequence of int
        Matrix sizes to time (at least two distinct ones).
    repeats : int
        Timed repeats per size; the median is used.
    rng : numpy.random.Generator, optional
        Source of the test matrices (diagonally dominant, so well conditioned); a fixed-seed
        generator when omitted.
    threads : int, optional
        Limit the BLAS thread pool to this many threads while measuring (``threadpoolctl``, a
        hybridsim dependency). ``None`` measures the machine as configured. On a small shared
        machine a multithreaded OpenBLAS can be 100× slower at N ≈ 128 when another process holds
        a core (measured here: 48 ms instead of 0.13 ms), so pass ``threads=1`` for stable
        numbers and remember to run the modelled workload the same way.

    Returns
    -------
    CpuCalibration
    """
    sizes = sorted({int(s) for s in sizes})
    if len(sizes) < 2 or sizes[0] < 1 or repeats < 1:
        raise ModelDomainError("calibrate needs >= 2 distinct sizes >= 1 and repeats >= 1")
    gen = rng if rng is not None else np.random.default_rng(12345)
    samples = []
    with _blas_threads(threads):
        for n in sizes:
            A = gen.standard_normal((n, n)) + n * np.eye(n)
            b = gen.standard_normal(n)
            samples.append((n, _time_solve(A, b, repeats)))
    t = np.array([s[1] for s in samples])
    flops = np.asarray(lu_flops(np.array(sizes, dtype=float)))
    design = np.column_stack([np.ones_like(t), flops]) / t[:, None]
    # Imported here: scipy.optimize costs ~0.4 s to import, and only calibration needs it.
    from scipy.optimize import nnls

    (latency, inv_rate), _ = nnls(design, np.ones_like(t))
    if inv_rate <= 0:  # timings did not grow with N at all; cannot identify a rate
        raise ModelDomainError("calibration failed: solve time does not grow with N")
    return CpuCalibration(
        tflops=float(1.0 / inv_rate / 1e12),
        launch_latency_s=float(latency),
        samples=tuple(samples),
    )
