"""Classical linear-solve cost models on a GPU (or CPU) spec: dense LU, Cholesky and CG, and the
structure-aware Woodbury and matrix-free CG for low-rank-plus-shift curvature blocks.

Every function is vectorized: arguments may be Python floats or numpy arrays (broadcast together)
and results are floats for scalar input, arrays otherwise.

Model (sources in docs/background/costs.md):

* flops: LU 2/3·N³, Cholesky 1/3·N³, plus 2·N² for the two triangular solves (Golub & Van Loan,
  *Matrix Computations*, 4th ed., §3.2, §4.2); CG k = ⌈½·√κ·ln(2/ε)⌉ iterations (the classical
  A-norm error bound 2·((√κ−1)/(√κ+1))ᵏ ≤ ε, with ln((√κ+1)/(√κ−1)) ≥ 2/√κ), each one mat-vec
  (2·nnz flops) plus two dot products and three axpys (10·N flops).
* low-rank blocks H̃ = U·Uᵀ + c·I (U of shape N×r): Woodbury
  H̃⁻¹g = (g − U·(c·I_r + UᵀU)⁻¹·Uᵀg)/c with a Cholesky of the r×r capacitance matrix,
  2·N·r² + r³/3 + 4·N·r + 2·r² + r + 2·N flops (Hager 1989,
  docs/background/references.md#hager-1989);
  matrix-free CG, k iterations of a Fisher-vector product U·(Uᵀp) + c·p (4·N·r + 2·N flops).
  The dense methods on such a block first *assemble* it, U·Uᵀ (2·r·N² flops), unless it already
  exists; an LU the κ estimator computed is reused (two triangular solves, 2·N², only).
* time: a roofline, max(flops / sustained rate, bytes / memory bandwidth), plus a fixed launch
  latency per library call. Call count model: a direct solve is **one** call (one LAPACK
  ``gesv``/``posv``-style call, as ``numpy.linalg.solve`` makes; this is also what
  :func:`calibrate` measures); CG is ``cg_calls_per_iteration`` calls per iteration (default 1, a
  fused or graph-captured iteration; an unfused GPU CG launches ~6 kernels per iteration);
  Woodbury is :data:`WOODBURY_CALLS` calls; an assembly one more call.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

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
    "CHOICES",
    "DENSE_METHODS",
    "FACTOR_METHODS",
    "CG_METHODS",
    "WOODBURY_CALLS",
    "ClassicalForm",
    "applicable_methods",
    "assembly_flops",
    "assembly_bytes",
    "prune_work",
    "preparation_work",
    "kernel_s",
    "woodbury_flops",
    "cg_matrix_free_flops",
    "method_costs",
    "best_method",
    "cheapest",
    "solve_payload_bytes",
    "solve_result_bytes",
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

#: Classical solve methods understood by :func:`classical_solve_time`, in the order
#: :func:`best_method` breaks ties in.
METHODS = ("lu", "cholesky", "cg", "woodbury", "cg_matrix_free")
#: What ``costs.classical_method`` accepts: a method, or ``"auto"`` (the cheapest that applies).
CHOICES = (*METHODS, "auto")
#: Methods that need the dense N×N block (assembled from the factor if it does not exist yet).
DENSE_METHODS = ("lu", "cholesky", "cg")
#: Methods that work from the factor U and the shift c, never forming the N×N block.
FACTOR_METHODS = ("woodbury", "cg_matrix_free")
#: Iterative methods: their cost needs κ (the iteration count).
CG_METHODS = ("cg", "cg_matrix_free")
#: Library calls of a Woodbury solve: UᵀU (``syrk``/``gemm``), ``potrf``, Uᵀg (``gemv``),
#: ``potrs``, U·y (``gemv``); the shift and the final axpy fuse into neighbours (inferred).
WOODBURY_CALLS = 5.0
#: Bytes a textbook CG iteration moves on top of the mat-vec: 14 vector reads/writes of 8·N bytes
#: (q = Ap writes q and reads p; p·q; x += αp; r -= αq; r·r; p = r + βp).
_CG_VECTOR_BYTES_PER_N = 112.0


def _out(x):
    """0-d results as Python floats, arrays as float arrays."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _masked(x, ok):
    """:func:`_out` of ``x`` where ``ok``, infinity elsewhere."""
    return _out(np.where(ok, np.asarray(x, float), np.inf))


def _flags(x) -> np.ndarray:
    return np.asarray(x, dtype=bool)


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


def _check_rank(r):
    r = np.asarray(r, dtype=float)
    if np.any(~np.isfinite(r)) or np.any(r < 1):
        raise ModelDomainError("factor rank r must be finite and >= 1")
    return r


def assembly_flops(n, r):
    """Flops to form the N×N block U·Uᵀ from its N×r factor: 2·r·N² (one GEMM, as the public
    Q-Newton code's ``einsum('ni,nj->ij')``; a ``syrk`` would halve it).

    Examples
    --------
    >>> assembly_flops(4, 2)
    64.0
    """
    n, _ = _check_nd(n)
    return _out(2.0 * _check_rank(r) * n**2)


def assembly_bytes(n, r):
    """Memory traffic of the assembly: read U (8·N·r bytes), write the block (8·N²) (inferred).

    Examples
    --------
    >>> assembly_bytes(4, 2)
    192.0
    """
    n, _ = _check_nd(n)
    return _out(8.0 * (n * _check_rank(r) + n**2))


def prune_work(n):
    """Modelled (flops, bytes) of pruning an N×N block on a GPU: 4·N² operations (magnitudes, a
    per-row top-k selection, the symmetrized mask, applying it) and 32·N² bytes (read the block
    twice, write mask and result) (inferred: a radix top-k is linear in the row length; the
    numpy implementation in :mod:`hybridsim.linalg.shaping` sorts, which a GPU would not).

    Examples
    --------
    >>> prune_work(10)
    (400.0, 3200.0)
    """
    n, _ = _check_nd(n)
    return _out(4.0 * n**2), _out(32.0 * n**2)


def preparation_work(n, r, pruned):
    """(flops, bytes) to form a block from its N×r factor and, where ``pruned``, prune it: what
    a QPU job needs done on a GPU when nothing formed the block before (one kernel's work).

    :func:`assembly_flops` + :func:`assembly_bytes`, plus :func:`prune_work` where pruned.

    Examples
    --------
    >>> preparation_work(10, 2, True)
    (800.0, 4160.0)
    """
    p_flops, p_bytes = prune_work(n)
    mask = _flags(pruned)
    flops = np.asarray(assembly_flops(n, r)) + np.where(mask, p_flops, 0.0)
    bytes_ = np.asarray(assembly_bytes(n, r)) + np.where(mask, p_bytes, 0.0)
    return _out(flops), _out(bytes_)


def kernel_s(flops, nbytes, *, gpu: GpuSpec):
    """One kernel on ``gpu``: max(flops / rate, bytes / bandwidth) + one launch latency.

    Examples
    --------
    >>> kernel_s(2e12, 0.0, gpu=GpuSpec(tflops=1.0, launch_latency_s=1e-5))
    2.00001
    """
    f = np.asarray(flops, dtype=float)
    b = np.asarray(nbytes, dtype=float)
    return _out(
        np.maximum(f / (gpu.tflops * 1e12), b / gpu.mem_bandwidth_Bps) + gpu.launch_latency_s
    )


def woodbury_flops(n, r):
    """Flops of a Woodbury solve of (U·Uᵀ + c·I)x = g from the N×r factor U.

    2·N·r² (C = UᵀU) + r (C += c·I) + r³/3 (Cholesky of C) + 2·N·r (w = Uᵀg) + 2·r² (y = C⁻¹w,
    two triangular solves) + 2·N·r (U·y) + 2·N (x = (g − U·y)/c).

    Examples
    --------
    >>> woodbury_flops(10, 3)  # 180 + 3 + 9 + 60 + 18 + 60 + 20
    350.0
    """
    n, _ = _check_nd(n)
    r = _check_rank(r)
    return _out(2.0 * n * r**2 + r + r**3 / 3.0 + 4.0 * n * r + 2.0 * r**2 + 2.0 * n)


def cg_matrix_free_flops(n, r, kappa, eps):
    """Flops of CG with Fisher-vector products: k × (4·N·r + 2·N + 10·N).

    Each iteration applies U·(Uᵀp) + c·p (two ``gemv`` of 2·N·r flops, a scaled add of 2·N) and
    does CG's two dot products and three axpys (10·N); k from :func:`cg_iterations`.

    Examples
    --------
    >>> cg_matrix_free_flops(10, 3, 100.0, 1e-6)  # 73 * (120 + 20 + 100)
    17520.0
    """
    n, _ = _check_nd(n)
    r = _check_rank(r)
    return _out(cg_iterations(kappa, eps) * (4.0 * n * r + 12.0 * n))


def solve_calls(method: str, kappa=None, eps=None, *, cg_calls_per_iteration: float = 1.0):
    """Library calls (each paying the launch latency) a solve makes; see the module docstring.

    The assembly of a block a dense method needs is one more call, counted by
    :func:`classical_solve_time` with the assembly.
    """
    if method in ("lu", "cholesky"):
        return 1.0
    if method in ("cg", "cg_matrix_free"):
        return _out(cg_iterations(kappa, eps) * cg_calls_per_iteration)
    if method == "woodbury":
        return WOODBURY_CALLS
    raise ModelDomainError(f"unknown classical method {method!r} (expected one of {METHODS})")


def solve_bytes(method: str, n, d=None, kappa=None, eps=None, *, rank=None):
    """Memory traffic of a solve in bytes (the roofline's memory side; (inferred) pass counts).

    LU: read A, write the factors, read L and U once in the two solves: 8·(3·N² + 2·N).
    Cholesky: the same on one triangle: 8·(2·N² + 2·N). CG: each iteration reads the matrix,
    CSR (12 bytes per nonzero + 4·(N+1) row pointers) or dense (8·N²) whichever is smaller, and
    moves 112·N bytes of vectors. Woodbury: U read three times (UᵀU, Uᵀg, U·y), the r×r
    capacitance matrix written, factored and read, four N-vectors: 8·(3·N·r + 3·r² + 4·N).
    Matrix-free CG: each iteration reads U twice and an r-vector twice, and moves the CG vectors
    plus the shifted term: 16·N·r + 16·r + 128·N.

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
        matrix = np.minimum(12.0 * n * d + 4.0 * (n + 1.0), 8.0 * n**2)
        per_iter = matrix + _CG_VECTOR_BYTES_PER_N * n
        return _out(cg_iterations(kappa, eps) * per_iter)
    if method == "woodbury":
        n, _ = _check_nd(n)
        r = _check_rank(rank)
        return _out(8.0 * (3.0 * n * r + 3.0 * r**2 + 4.0 * n))
    if method == "cg_matrix_free":
        n, _ = _check_nd(n)
        r = _check_rank(rank)
        return _out(cg_iterations(kappa, eps) * (16.0 * n * r + 16.0 * r + 128.0 * n))
    raise ModelDomainError(f"unknown classical method {method!r} (expected one of {METHODS})")


@dataclass(frozen=True, slots=True)
class ClassicalCost:
    """Predicted cost of one classical solve (floats, or arrays when the inputs were arrays).

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    flops, bytes : float or numpy.ndarray
        Work and memory traffic of the solve (the assembly excluded).
    calls : float or numpy.ndarray
        Library calls of the solve, each paying the launch latency.
    compute_s, memory_s, launch_s : float or numpy.ndarray
        flops / rate, bytes / bandwidth, calls × latency.
    total_s : float or numpy.ndarray
        max(compute_s, memory_s) + launch_s + assembly_s.
    assembly_s : float or numpy.ndarray
        Time to form the dense block from its factor first (a dense method on a block that
        does not exist yet), its own roofline plus one launch; 0 otherwise.
    """

    method: str
    flops: float | np.ndarray
    bytes: float | np.ndarray
    calls: float | np.ndarray
    compute_s: float | np.ndarray
    memory_s: float | np.ndarray
    launch_s: float | np.ndarray
    total_s: float | np.ndarray
    assembly_s: float | np.ndarray = 0.0


def classical_solve_time(
    method: str,
    n,
    d,
    kappa,
    eps,
    *,
    gpu: GpuSpec | None = None,
    rank=None,
    assembled=True,
    factored=False,
    cg_calls_per_iteration: float = 1.0,
    **legacy: Any,
) -> ClassicalCost:
    """Roofline time of a linear solve on one device.

    total = max(flops / (tflops·10¹²), bytes / mem_bandwidth_Bps) + calls·launch_latency_s
    (+ the assembly of the block, when a dense method needs a block that does not exist yet).

    Parameters
    ----------
    method : str
        ``"lu"`` (any invertible matrix), ``"cholesky"`` (SPD), ``"cg"`` (SPD; CSR or dense
        mat-vecs), ``"woodbury"`` or ``"cg_matrix_free"`` (a block U·Uᵀ + c·I given by its N×r
        factor U, c > 0).
    n, d : float or array
        Matrix size and row sparsity (d is used by CG only; 1 <= d <= n).
    kappa, eps : float or array
        Condition number and target relative accuracy (CG methods only; ignored, may be None, for
        the direct methods).
    gpu : GpuSpec
        The device: sustained rate (dense LU ≈ 14 TFLOP/s per A100, ≈ 26 per H100, inferred
        from Top500 HPL per GPU: docs/background/references.md#gpu-rates), launch latency per
        library call (tens of µs on a GPU) and memory bandwidth (``inf`` ignores the memory side).
    rank : float or array, optional
        Width r of the factor U: needed by the factor methods, and by the dense methods when the
        block is not ``assembled``.
    assembled : bool or array
        Whether the dense N×N block already exists (default True, the dense methods' classic
        setting). When False a dense method first forms U·Uᵀ: 2·r·N² flops, 8·(N·r + N²) bytes,
        one more call (``assembly_s``).
    factored : bool or array
        Whether an LU of the block already exists (a κ estimator computed it); ``lu`` then costs
        its two triangular solves only: 2·N² flops, 8·(N² + 2·N) bytes, one call.
    cg_calls_per_iteration : float
        Calls per CG iteration (1 = fused iteration), both CG methods.
    **legacy
        Deprecated: ``tflops``, ``launch_latency_s``, ``mem_bandwidth_Bps`` instead of ``gpu``
        (a DeprecationWarning; removed in the next release).

    Examples
    --------
    >>> c = classical_solve_time("lu", 3, 3, None, None,
    ...                          gpu=GpuSpec(tflops=1e-12, launch_latency_s=1.0))
    >>> c.flops, c.compute_s, c.total_s
    (36.0, 36.0, 37.0)
    >>> w = classical_solve_time("woodbury", 10, 10, None, None, rank=3,
    ...                          gpu=GpuSpec(tflops=1e-12, launch_latency_s=1.0))
    >>> w.flops, w.total_s
    (350.0, 355.0)
    """
    gpu, used = _spec_from_keywords(
        "classical_solve_time", GpuSpec, "gpu", gpu, legacy, GPU_KEYWORDS
    )
    _no_unknown_keywords("classical_solve_time", legacy)
    _warn_deprecated("classical_solve_time", used, "gpu=GpuSpec(...)", stacklevel=2)
    if method not in METHODS:
        raise ModelDomainError(f"unknown classical method {method!r} (expected one of {METHODS})")
    if method in FACTOR_METHODS and rank is None:
        raise ModelDomainError(f"{method} needs the rank r of the block's factor")
    if method == "lu":
        flops = np.where(_flags(factored), 2.0 * np.asarray(n, float) ** 2, lu_flops(n))
        bytes_ = np.where(
            _flags(factored),
            8.0 * (np.asarray(n, float) ** 2 + 2.0 * np.asarray(n, float)),
            solve_bytes("lu", n),
        )
    elif method == "cholesky":
        flops, bytes_ = cholesky_flops(n), solve_bytes("cholesky", n)
    elif method == "cg":
        flops, bytes_ = cg_flops(n, d, kappa, eps), solve_bytes("cg", n, d, kappa, eps)
    elif method == "woodbury":
        flops, bytes_ = woodbury_flops(n, rank), solve_bytes("woodbury", n, rank=rank)
    else:
        flops = cg_matrix_free_flops(n, rank, kappa, eps)
        bytes_ = solve_bytes("cg_matrix_free", n, kappa=kappa, eps=eps, rank=rank)
    calls = solve_calls(method, kappa, eps, cg_calls_per_iteration=cg_calls_per_iteration)
    rate = gpu.tflops * 1e12
    assembly_s: Any = 0.0
    if method in DENSE_METHODS:
        needs = ~_flags(assembled)
        if np.any(needs):
            if rank is None:
                raise ModelDomainError("assembling a block needs the rank r of its factor")
            r = np.where(needs, np.asarray(rank, dtype=float), 1.0)
            a_flops = np.asarray(assembly_flops(n, r), float)
            a_bytes = np.asarray(assembly_bytes(n, r), float)
            a_time = np.maximum(a_flops / rate, a_bytes / gpu.mem_bandwidth_Bps)
            assembly_s = np.where(needs, a_time + gpu.launch_latency_s, 0.0)
    flops, bytes_, calls, assembly_s = np.broadcast_arrays(
        np.asarray(flops, float),
        np.asarray(bytes_, float),
        np.asarray(calls, float),
        np.asarray(assembly_s, float),
    )
    compute_s = flops / rate
    memory_s = bytes_ / gpu.mem_bandwidth_Bps
    launch_s = calls * gpu.launch_latency_s
    total_s = np.maximum(compute_s, memory_s) + launch_s + assembly_s
    return ClassicalCost(
        method,
        _out(flops),
        _out(bytes_),
        _out(calls),
        _out(compute_s),
        _out(memory_s),
        _out(launch_s),
        _out(total_s),
        _out(assembly_s),
    )


class ClassicalForm(NamedTuple):
    """What the classical cost models know of a block's structure (hashable: a memo key).

    A ``NamedTuple``: it is hashed at every cost-model lookup (several per job), and a frozen
    dataclass hashes in Python (0.4 µs), a tuple in C.

    Parameters
    ----------
    n, d : int
        Size and row sparsity of the matrix the classical route solves (the *unpruned*
        regularized block in training runs, so d = n there).
    rank : int, optional
        Width r of a factor U with block = U·Uᵀ + c·I (c > 0); None when no factor is known
        (a pruned or arbitrary matrix).
    spd : bool
        Whether the block is known to be symmetric positive definite (Cholesky and CG apply).
    assembled : bool
        Whether the dense block already exists where the job starts (a κ estimator formed it).
    factored : bool
        Whether an LU of exactly this block exists (the κ estimator's, reusable by ``lu``).

    Examples
    --------
    >>> applicable_methods(ClassicalForm(1024, 1024, rank=256, spd=True, assembled=False))
    ('lu', 'cholesky', 'cg', 'woodbury', 'cg_matrix_free')
    >>> applicable_methods(ClassicalForm(100, 10, spd=True))
    ('lu', 'cholesky', 'cg')
    """

    n: int
    d: int
    rank: int | None = None
    spd: bool = False
    assembled: bool = True
    factored: bool = False


def _applicable_mask(method: str, n, rank, spd) -> np.ndarray:
    """Where ``method`` applies (vectorized; ``rank`` NaN where no factor is known)."""
    n = np.asarray(n, dtype=float)
    spd = _flags(spd)
    has_factor = np.isfinite(np.asarray(np.nan if rank is None else rank, dtype=float))
    if method == "lu":
        return np.ones(np.broadcast(n, spd, has_factor).shape, dtype=bool)
    if method in ("cholesky", "cg"):
        return np.broadcast_to(spd, np.broadcast(n, spd, has_factor).shape).copy()
    r = np.asarray(np.nan if rank is None else rank, dtype=float)
    with np.errstate(invalid="ignore"):
        if method == "woodbury":
            # Low rank only: with r >= N the capacitance matrix is no smaller than the block.
            return has_factor & spd & (r < n)
        if method == "cg_matrix_free":
            return has_factor & spd
    raise ModelDomainError(f"unknown classical method {method!r} (expected one of {METHODS})")


def applicable_methods(form: ClassicalForm) -> tuple[str, ...]:
    """The methods that apply to a block of this structure, in :data:`METHODS` order.

    ``lu`` always; ``cholesky`` and ``cg`` on SPD blocks; ``woodbury`` on an SPD block with a
    factor of rank r < N (never on a pruned or full-rank block); ``cg_matrix_free`` on an SPD
    block with a factor.
    """
    return tuple(
        m
        for m in METHODS
        if bool(_applicable_mask(m, form.n, form.rank, form.spd))  # scalar masks
    )


def method_costs(
    n,
    d,
    kappa,
    eps,
    *,
    gpu: GpuSpec,
    rank=None,
    spd=False,
    assembled=True,
    factored=False,
    methods: tuple[str, ...] = METHODS,
    cg_calls_per_iteration: float = 1.0,
) -> dict[str, ClassicalCost]:
    """Every method's cost for the same blocks, ``total_s = inf`` where a method does not apply.

    Vectorized over ``n``, ``d``, ``kappa``, ``rank``, ``spd``, ``assembled``, ``factored``.
    ``rank`` may hold NaN (no factor known); ``kappa`` NaN or None, or ``eps`` None, leave the CG
    methods out (their iteration count needs κ).
    """
    out: dict[str, ClassicalCost] = {}
    k = np.asarray(np.nan if kappa is None else kappa, dtype=float)
    r = np.asarray(np.nan if rank is None else rank, dtype=float)
    assembled_f = _flags(assembled)
    for method in methods:
        ok = _applicable_mask(method, n, r, spd)
        if method in DENSE_METHODS:
            # Assembly needs the factor: a block that neither exists nor has one cannot be solved.
            ok = ok & (assembled_f | np.isfinite(r))
        cg = method in ("cg", "cg_matrix_free")
        if cg:
            ok = ok & np.isfinite(k) & (k >= 1.0) & (eps is not None)
        shape = np.broadcast(np.asarray(n, float), np.asarray(d, float), k, r, ok).shape
        ok = np.broadcast_to(ok, shape)
        if not np.any(ok):
            inf = np.full(shape, np.inf)
            out[method] = ClassicalCost(method, *(_out(inf) for _ in range(8)))
            continue
        # Evaluate with harmless stand-ins where the method does not apply, then mask.
        kk = np.where(np.broadcast_to(np.isfinite(k) & (k >= 1.0), shape), k, 1.0)
        rr = np.where(np.broadcast_to(np.isfinite(r), shape), r, 1.0)
        nn = np.broadcast_to(np.asarray(n, float), shape)
        dd = np.broadcast_to(np.asarray(d, float), shape)
        c = classical_solve_time(
            method,
            nn,
            dd,
            kk if cg else None,
            eps if cg else None,
            gpu=gpu,
            rank=rr,
            assembled=np.broadcast_to(assembled_f | ~np.isfinite(r), shape),
            factored=np.broadcast_to(_flags(factored), shape) & (method == "lu"),
            cg_calls_per_iteration=cg_calls_per_iteration,
        )
        out[method] = ClassicalCost(
            method,
            flops=_masked(c.flops, ok),
            bytes=_masked(c.bytes, ok),
            calls=_masked(c.calls, ok),
            compute_s=_masked(c.compute_s, ok),
            memory_s=_masked(c.memory_s, ok),
            launch_s=_masked(c.launch_s, ok),
            total_s=_masked(c.total_s, ok),
            assembly_s=_masked(c.assembly_s, ok),
        )
    return out


def best_method(
    n,
    d,
    kappa,
    eps,
    *,
    gpu: GpuSpec,
    rank=None,
    spd=False,
    assembled=True,
    factored=False,
    methods: tuple[str, ...] = METHODS,
    cg_calls_per_iteration: float = 1.0,
) -> tuple[Any, ClassicalCost]:
    """The cheapest applicable method for each block (``auto``), and its cost.

    Predicts every method of ``methods`` (:func:`method_costs`) and takes the minimum total;
    ties go to the earlier method of :data:`METHODS`. ``lu`` always applies, so a block always
    has a method (unless it neither exists nor has a factor).

    Returns
    -------
    method : str or numpy.ndarray of str
        The chosen method (an array for array input).
    cost : ClassicalCost
        Its cost (``method`` field ``"auto"`` for array input, where methods differ).

    Examples
    --------
    >>> gpu = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=2e12)
    >>> best_method(4096, 4096, None, None, gpu=gpu, rank=128, spd=True, assembled=False)[0]
    'woodbury'
    >>> best_method(4096, 4096, None, None, gpu=gpu, spd=True)[0]
    'cholesky'
    """
    costs = method_costs(
        n,
        d,
        kappa,
        eps,
        gpu=gpu,
        rank=rank,
        spd=spd,
        assembled=assembled,
        factored=factored,
        methods=methods,
        cg_calls_per_iteration=cg_calls_per_iteration,
    )
    return cheapest(costs)


def cheapest(costs: dict[str, ClassicalCost]) -> tuple[Any, ClassicalCost]:
    """The cheapest of several methods' costs for the same blocks (see :func:`best_method`):
    per element the minimum ``total_s``, ties to the method listed first."""
    names = list(costs)
    totals = np.stack(np.broadcast_arrays(*(np.asarray(costs[m].total_s, float) for m in names)))
    idx = np.argmin(totals, axis=0)  # first minimum: the listing order breaks ties
    fields_ = ("flops", "bytes", "calls", "compute_s", "memory_s", "launch_s", "total_s")
    picked = []
    for f in (*fields_, "assembly_s"):
        stack = np.stack(
            np.broadcast_arrays(*(np.asarray(getattr(costs[m], f), float) for m in names))
        )
        picked.append(_out(np.take_along_axis(stack, idx[None, ...], axis=0)[0]))
    chosen = np.asarray(names, dtype=object)[idx]
    if np.ndim(idx) == 0:
        method = str(chosen)
        return method, ClassicalCost(method, *picked)
    return chosen.astype(str), ClassicalCost("auto", *picked)


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
    """Bytes of a matrix alone: dense N²·8, or sparse N·d·(8 + 4) (float64 value + int32 index).

    The building block of :func:`solve_payload_bytes`, the payload the simulator and the
    break-even helpers both charge.

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


def solve_payload_bytes(n, d, *, factor_rank=None):
    """Bytes a solve job moves to its device: the matrix in the form its method needs, plus b.

    The one definition of a job's payload (the simulator's jobs and
    :mod:`hybridsim.costs.breakeven` both use it):

    * without ``factor_rank``: the N×N matrix, dense (8·N²) or CSR (12·N·d, a float64 value and
      an int32 column index per nonzero; row pointers not counted) whichever is smaller, plus
      the right-hand side (8·N). A QPU job, or a dense method on a block that already exists;
    * with ``factor_rank`` r: the factor U (8·N·r) plus b. Woodbury, matrix-free CG, or a dense
      method that assembles the block on the device.

    N = 0 (a job without a system: synthetic jobs with explicit service times) moves nothing.

    Examples
    --------
    >>> solve_payload_bytes(100, 100)  # dense 80,000 < CSR 120,000; + b
    80800.0
    >>> solve_payload_bytes(1000, 1000, factor_rank=32)
    264000.0
    """
    if np.all(np.asarray(n) == 0):
        return _out(np.zeros(np.shape(n)))
    n, d = _check_nd(n, d)
    if factor_rank is not None:
        return _out(8.0 * n * _check_rank(factor_rank) + 8.0 * n)
    return _out(np.minimum(8.0 * n * n, 12.0 * n * d) + 8.0 * n)


def solve_result_bytes(n):
    """Bytes a solve job returns: the solution vector, 8·N (the other half of
    :func:`solve_payload_bytes`' one definition).

    Examples
    --------
    >>> solve_result_bytes(100)
    800.0
    """
    if np.all(np.asarray(n) == 0):
        return _out(np.zeros(np.shape(n)))
    return result_bytes(n)


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
