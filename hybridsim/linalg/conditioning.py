"""Condition-number (κ) estimators, each reporting the work it cost.

The simulator charges estimation time on the device that does it, so every estimator returns a
:class:`KappaEstimate` with the estimate *and* the floating-point operations and memory traffic it
needed. Shape-only workloads (no matrix in memory) get the same numbers from
:func:`estimator_work`.

Estimators (names as in :data:`ESTIMATORS`):

``"norm_det"``
    The Q-Newton paper's bound from the Frobenius norm and the determinant (Merikoski et al. 1997),
    computed in log space. An upper bound on κ₂, exact for 2×2, exponentially loose beyond.
``"hager_higham"``
    LAPACK ``gecon`` after an LU (Hager 1984, Higham 1988): an estimate of κ₁ (not κ₂) in O(N²)
    on top of the LU a direct solve needs anyway.
``"lanczos"``
    Extreme eigenvalues of a symmetric matrix with ARPACK (``scipy.sparse.linalg.eigsh``):
    Lanczos for |λ|max, shift-invert at σ = 0 for |λ|min. Returns eigenvalue bounds too.
``"exact"``
    κ₂ = σmax/σmin from the singular values (SVD). The oracle used in tests.
``"floor"``
    A rigorous upper bound on κ₂ of a symmetric block without any factorization: the
    regularization's shift bounds λmin from below (minus what pruning removed, by Weyl's
    inequality, or by Gershgorin), and cheap norms bound |λ|max from above. O(N²) on a dense
    block, O(r·N) from the factor U of an unpruned low-rank block (:func:`kappa_floor`,
    :func:`kappa_floor_factor`).

``norm_det`` and ``hager_higham`` keep their LU (``KappaEstimate.factor``) so a GPU solve of the
same block can reuse it (two triangular solves instead of a factorization).

Cost models (flop counts from Golub & Van Loan, *Matrix Computations*, 4th ed.; memory traffic is
counted as whole passes over an 8-byte N×N array and is (inferred)):

========================  ==================================  ==========================
method                    flops                               bytes
========================  ==================================  ==========================
norm_det                  2/3·N³ (LU) + 2·N² (‖A‖_F, scaling)  16·N² (LU) + 16·N²
hager_higham              2/3·N³ + N² (‖A‖₁) + 5 solves·2·N²   16·N² + 8·N² + 5·8·N²
lanczos (N ≥ 512)         2/3·N³ + m_min·2·N² +                16·N² + m_min·8·N² +
                          m_max·2·N·d + ARPACK 4·N·ncv/step    m_max·(matvec bytes)
lanczos (N < 512, dense)  4/3·N³ (tridiagonalization)          16·N²
exact                     8/3·N³ (Golub–Kahan, values only)    16·N²
floor, dense              7·N² (norms, Gershgorin, pruned part) 24·N²
floor, from U (N×r)       5·N·r + 2·N                          16·N·r
========================  ==================================  ==========================
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg import lapack

from hybridsim.errors import ModelDomainError

__all__ = [
    "KappaEstimate",
    "kappa_norm_det_bound",
    "log_kappa_norm_det_bound",
    "kappa_paper",
    "kappa_hager_higham",
    "kappa_lanczos",
    "kappa_exact",
    "kappa_floor",
    "kappa_floor_factor",
    "kappa_exact_factor",
    "factor_lambda_max_bound",
    "ESTIMATORS",
    "FACTORING_ESTIMATORS",
    "estimate_kappa",
    "estimator_work",
    "LANCZOS_DENSE_BELOW",
    "LANCZOS_MODEL_STEPS_MAX",
    "LANCZOS_MODEL_STEPS_MIN",
    "HAGER_HIGHAM_MODEL_SOLVES",
]

#: Below this size :func:`kappa_lanczos` uses a dense ``eigvalsh``. Two reasons: ARPACK needs a
#: Krylov space larger than the wanted eigenvalues (k < N − 1) and is fragile for tiny N, and on
#: dense Hessian-like blocks a dense eigvalsh is faster than the ARPACK path (LU for shift-invert
#: plus the iterations) up to N ≈ 512 (measured with one BLAS thread: 2.5 ms vs 3–48 ms at
#: N = 256, 15–24 ms vs 14–28 ms at N = 512; see docs/background/conditioning.md).
LANCZOS_DENSE_BELOW = 512
#: Operator applications :func:`estimator_work` assumes for the λmax Lanczos run and for the
#: shift-invert λmin run: typical counts measured on regularized and pruned Fisher blocks
#: (N = 512 … 2048, tol 1e-3; docs/background/conditioning.md); (inferred).
LANCZOS_MODEL_STEPS_MAX = 21
LANCZOS_MODEL_STEPS_MIN = 41
#: Triangular-solve pairs gecon typically needs (Higham 1988: "usually 4 or 5"); (inferred).
HAGER_HIGHAM_MODEL_SOLVES = 5
#: ARPACK's default Krylov dimension for k = 1 (scipy: ncv = max(2k + 1, 20)).
_ARPACK_NCV = 20
#: Matrices with at most this fraction of nonzeros are applied in CSR form by the Lanczos run.
_CSR_DENSITY = 0.25


@dataclass(frozen=True, slots=True)
class KappaEstimate:
    """A condition-number estimate and what it cost.

    Parameters
    ----------
    kappa : float
        The estimate (``inf`` for a singular matrix).
    method : str
        Estimator name, a key of :data:`ESTIMATORS`.
    flops : float
        Floating-point operations the estimate needed (model counts, see the module docstring).
    bytes_touched : float
        Memory traffic in bytes (model, (inferred)).
    lambda_min, lambda_max : float or None
        Smallest and largest eigenvalue *magnitudes* |λ| when the method yields them (Lanczos, and
        the SVD for symmetric matrices, whose singular values are the |λ|). For a positive definite
        matrix these are the extreme eigenvalues; the HHL executor uses them for the evolution time.
    norm : int
        Which κ is estimated: 2 (spectral) or 1 (Hager–Higham). κ₁/N ≤ κ₂ ≤ N·κ₁.
    factor : hybridsim.linalg.solvers.LUFactor or None
        The LU the estimator computed (``norm_det``, ``hager_higham``), for a solve of the same
        matrix to reuse; not part of equality or the repr.
    """

    kappa: float
    method: str
    flops: float
    bytes_touched: float
    lambda_min: float | None = None
    lambda_max: float | None = None
    norm: int = 2
    factor: Any = field(default=None, compare=False, repr=False)


def _square(A: Any, *, finite: bool = True) -> np.ndarray:
    """A dense array-like or a scipy.sparse matrix as a square float array (checked; the
    entries' finiteness only with ``finite``, for a caller that checks max|A| instead)."""
    if sp.issparse(A):
        A = A.toarray()
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise ModelDomainError(f"expected a non-empty square matrix, got shape {A.shape}")
    if finite and not np.all(np.isfinite(A)):
        raise _non_finite()
    return A


def _non_finite() -> ModelDomainError:
    return ModelDomainError("matrix has non-finite entries")


def _max_abs(A: np.ndarray) -> float:
    """max|A| as ``np.max(np.abs(A))`` gives it (NaN if A has one, inf if it has one), from two
    reductions and no |A| temporary (a max is exact, so the same number)."""
    return max(float(A.max()), -float(A.min()))


def _power_of_two_scaled(A: np.ndarray, amax: float | None = None) -> tuple[np.ndarray, int]:
    """``(A·2⁻ᵉ, e)`` with max|A·2⁻ᵉ| in [0.5, 1).

    κ is scale-invariant, but LAPACK's and ARPACK's intermediate quantities are not: on a
    subnormal matrix (1e-310·diag(1, 2)) ``gecon``'s reciprocal condition number underflows to 0
    (κ = inf) and ARPACK's shift-invert solves overflow. Scaling by a power of two is exact, so
    for a matrix of ordinary magnitude every factorization, solve and estimate is the same, bit
    for bit, as without it. ``amax`` is max|A| when the caller has it already.
    """
    if amax is None:
        amax = float(np.max(np.abs(A)))
    if amax == 0.0:
        return A, 0
    e = math.frexp(amax)[1]
    return np.ldexp(A, -e), e


def _norm_det_with_lu(
    A: np.ndarray, *, checked: bool = False, symmetric: bool = False
) -> tuple[float, Any]:
    """Log of the norm/determinant bound and the LU it was computed from (None if singular).

    y is invariant under A -> A·s, so the LU is taken of the power-of-two scaled A·2⁻ᵉ
    (:func:`_power_of_two_scaled`; exact), which keeps ‖A‖_F² and det away from overflow and
    lets a solve reuse the factors exactly. log|det| is the sum of log|uᵢᵢ| of ``getrf``'s U in
    row order, as ``numpy.linalg.slogdet`` accumulates it. ``checked``: A passed
    :func:`_square` already (its finiteness may be left to the max|A| taken here).

    Two arrays of N² are written, not four: max|A| comes from two reductions (no |A|), A·2⁻ᵉ is
    copied once into the Fortran-ordered array ``getrf`` factors in place (it would copy a C
    array itself), and its squares overwrite the scaled array, in A's layout, before they are
    summed. With ``symmetric`` (A = Aᵀ exactly, the caller's guarantee) the row-major scaled
    array *is* the column-major one: ``getrf`` factors it in place through its transpose view,
    and the transposing copy (as long as the max, the scaling and the squares together at
    N = 1024) is not made. ‖A‖_F², the LU and the bound are the same bits as from
    ``np.sum(As * As)`` and ``getrf(As)`` either way (tests/test_training_reuse.py compares them).
    """
    from hybridsim.linalg.solvers import LUFactor

    if not checked:
        A = _square(A, finite=False)
    n = A.shape[0]
    amax = _max_abs(A)
    if not math.isfinite(amax):
        raise _non_finite()
    if amax == 0.0:
        return math.inf, None
    As, e = _power_of_two_scaled(A, amax)  # a new array in A's layout (e = 0 copies too)
    if symmetric and (As.flags.c_contiguous or As.flags.f_contiguous):
        F = As.T if As.flags.c_contiguous else As  # column-major and equal to As: no copy
        fro2 = float(np.sum(As * As))  # before getrf overwrites As
    else:
        F = np.asfortranarray(As)  # what getrf would factor: the same values, column-major
        if F is As:  # A was column-major already: keep the scaled copy apart from the factored
            F = As.copy(order="F")
        np.multiply(As, As, out=As)
        fro2 = float(np.sum(As))
    getrf = lapack.get_lapack_funcs("getrf", (F,))
    lu, piv, info = getrf(F, overwrite_a=True)
    if info != 0:  # info > 0: an exactly zero pivot, A is singular
        return math.inf, None
    diag = np.abs(np.diagonal(lu))
    with np.errstate(divide="ignore"):
        logabsdet = float(np.cumsum(np.log(diag))[-1])
    if not math.isfinite(logabsdet):
        return math.inf, None
    log_y = n * (math.log(n) - math.log(fro2)) + 2.0 * logabsdet
    # AM-GM on the σᵢ² gives y <= 1; rounding can push it a hair above.
    log_y = min(log_y, 0.0)
    one_minus_y = -math.expm1(log_y)  # accurate 1 - y when y is close to 1
    bound = math.log1p(math.sqrt(one_minus_y)) - 0.5 * log_y
    return bound, LUFactor(lu, piv, e)


def log_kappa_norm_det_bound(A: np.ndarray) -> float:
    """Natural log of the paper's norm/determinant bound on κ₂; never overflows.

    See :func:`kappa_norm_det_bound`. Returns ``inf`` for a singular matrix.
    """
    return _norm_det_with_lu(A)[0]


def kappa_norm_det_bound(A: np.ndarray) -> float:
    """The Q-Newton paper's upper bound on κ₂ from the Frobenius norm and the determinant.

    With y = (N/‖A‖_F²)ᴺ · det(A)², κ₂(A) ≤ (1 + √(1 − y)) / √y (Merikoski, Urpala, Virtanen and
    Tossavainen 1997; close to Guggenheimer, Edelman and Johnson 1995). Computed in log space with
    ``slogdet`` on A/max|A| (a plain ``det`` under/overflows by N ≈ 500).

    Exact for 2×2; never below the true κ₂; exponentially loose for larger N (a κ = 10 matrix of
    size 32 gives ≈ 1e5–1e6). Costs an O(N³) LU (LAPACK ``getrf`` on A·2⁻ᵉ, the
    factorization ``slogdet`` would make). The public Q-Newton code has a typo
    (``(1 - n/‖A‖_F)**n``) and returns NaN; this is the published formula.

    Parameters
    ----------
    A : (N, N) array_like
        Any real square matrix.

    Returns
    -------
    float
        The bound; ``inf`` for a singular matrix or when the bound exceeds the float range.

    Examples
    --------
    >>> round(kappa_norm_det_bound([[1.0, 2.0], [3.0, 4.0]]), 3)
    14.933
    """
    return _bound_from_log(log_kappa_norm_det_bound(A))


def _bound_from_log(log_bound: float) -> float:
    if log_bound > 709.0:  # exp overflows past ~709.78
        return math.inf
    return math.exp(log_bound)


def _work_norm_det(n, _d):
    n = np.asarray(n, dtype=float)
    return 2.0 / 3.0 * n**3 + 2.0 * n**2, 32.0 * n**2


def _work_hager_higham(n, _d):
    n = np.asarray(n, dtype=float)
    s = HAGER_HIGHAM_MODEL_SOLVES
    return 2.0 / 3.0 * n**3 + n**2 + s * 2.0 * n**2, (16.0 + 8.0 + 8.0 * s) * n**2


def _work_exact(n, _d):
    n = np.asarray(n, dtype=float)
    return 8.0 / 3.0 * n**3, 16.0 * n**2


def _lanczos_sparse_work(n, nnz, steps_max, steps_min):
    """Flops and bytes of the ARPACK path for given operator-application counts."""
    n = np.asarray(n, dtype=float)
    nnz = np.asarray(nnz, dtype=float)
    ncv = np.minimum(n, _ARPACK_NCV)
    steps = steps_max + steps_min
    flops = (
        2.0 / 3.0 * n**3  # dense LU for shift-invert
        + steps_min * 2.0 * n**2  # two triangular solves per shift-invert step
        + steps_max * 2.0 * nnz  # mat-vecs for |λ|max
        + steps * 4.0 * n * ncv  # ARPACK's re-orthogonalization against the Krylov basis
    )
    csr = nnz <= _CSR_DENSITY * n**2
    matvec_bytes = np.where(csr, 12.0 * nnz + 4.0 * (n + 1), 8.0 * n**2)
    bytes_ = 16.0 * n**2 + steps_min * 8.0 * n**2 + steps_max * matvec_bytes
    return flops, bytes_


def _work_lanczos(n, d):
    n = np.asarray(n, dtype=float)
    d = np.asarray(d, dtype=float)
    sparse_f, sparse_b = _lanczos_sparse_work(
        n, n * d, LANCZOS_MODEL_STEPS_MAX, LANCZOS_MODEL_STEPS_MIN
    )
    dense = n < LANCZOS_DENSE_BELOW
    return np.where(dense, 4.0 / 3.0 * n**3, sparse_f), np.where(dense, 16.0 * n**2, sparse_b)


def kappa_paper(A: np.ndarray, *, symmetric: bool = False) -> KappaEstimate:
    """:func:`kappa_norm_det_bound` wrapped with its cost (method ``"norm_det"``), keeping its
    LU in ``factor`` (None for a singular matrix). ``symmetric``: see :func:`estimate_kappa`."""
    A = _square(A, finite=False)  # _norm_det_with_lu checks max|A| instead
    n = A.shape[0]
    flops, bytes_ = _work_norm_det(n, n)
    log_bound, factor = _norm_det_with_lu(A, checked=True, symmetric=symmetric)
    return KappaEstimate(
        _bound_from_log(log_bound), "norm_det", float(flops), float(bytes_), factor=factor
    )


def kappa_hager_higham(A: np.ndarray, *, symmetric: bool = False) -> KappaEstimate:
    """1-norm condition number estimate from LU + LAPACK ``gecon`` (Hager 1984; Higham 1988).

    Returns an estimate of κ₁(A) = ‖A‖₁·‖A⁻¹‖₁ (``norm=1`` in the record). The estimate of
    ‖A⁻¹‖₁ is a lower bound, almost always within a factor 3 (Higham 1988); κ₁ and κ₂ differ by at
    most a factor N. Costs the LU (which a direct solve computes anyway) plus a handful of
    triangular solves. ``symmetric``: see :func:`estimate_kappa` (the scaled copy is factored
    in place through its transpose view; the same LU).

    Examples
    --------
    >>> est = kappa_hager_higham([[2.0, 0.0], [0.0, 0.5]])
    >>> est.kappa, est.norm
    (4.0, 1)
    """
    from hybridsim.linalg.solvers import LUFactor

    given = _square(A)
    A, e = _power_of_two_scaled(given)  # κ₁ is scale-invariant; LAPACK's rcond is not
    n = A.shape[0]
    flops, bytes_ = _work_hager_higham(n, n)
    anorm = float(np.linalg.norm(A, 1))
    getrf, gecon = lapack.get_lapack_funcs(("getrf", "gecon"), (A,))
    if symmetric and A is not given and A.flags.c_contiguous:  # the scaled copy is ours
        lu, piv, info = getrf(A.T, overwrite_a=True)
    else:
        lu, piv, info = getrf(A)
    factor = None
    if info > 0 or anorm == 0.0:  # info > 0: U[info-1, info-1] is exactly zero, A is singular
        kappa = math.inf
    else:
        factor = LUFactor(lu, piv, e)
        rcond, info2 = gecon(lu, anorm, norm="1")
        if info2 != 0:
            raise ModelDomainError(f"LAPACK gecon failed with info={info2}")
        # gecon's last bit depends on where its internal work arrays land in memory (seen:
        # identical inputs and LU, rcond differing in the last bit between processes), which
        # would break byte-identical run outputs. The estimate is only good to a factor ~3, so
        # rounding it to 10 significant digits loses nothing and makes it reproducible.
        kappa = math.inf if rcond == 0.0 else float(f"{1.0 / float(rcond):.10g}")
    return KappaEstimate(kappa, "hager_higham", float(flops), float(bytes_), norm=1, factor=factor)


#: Rows per tile of :func:`_max_asymmetry`.
_SYMMETRY_TILE = 128


def _max_asymmetry(A: np.ndarray) -> float:
    """max |Aᵢⱼ − Aⱼᵢ|, the same number as ``np.max(np.abs(A - A.T))``.

    |A − Aᵀ| is symmetric, so the upper triangle (tile rows i… against tile columns i…) holds its
    maximum; tiles keep the transposed read inside the cache (a whole-matrix ``A - A.T`` at
    N = 1024 took 17 ms against 2.6 ms tiled). Each entry is one exact subtraction and a max does
    not depend on order, so the value is bit for bit the whole-matrix one.
    """
    n = A.shape[0]
    b = _SYMMETRY_TILE
    if n <= b:
        return float(np.max(np.abs(A - A.T)))
    worst = 0.0
    for i in range(0, n, b):
        tile = A[i : i + b, i:] - A[i:, i : i + b].T
        np.abs(tile, out=tile)
        worst = max(worst, float(tile.max()))
    return worst


def _check_symmetric(A: np.ndarray, scale: float | None = None) -> None:
    if scale is None:
        scale = float(np.max(np.abs(A)))
    if _max_asymmetry(A) > 1e-10 * scale:
        raise ModelDomainError("the Lanczos estimator needs a symmetric matrix")


def _dense_eig_estimate(A: np.ndarray, flops: float, bytes_: float) -> KappaEstimate:
    absev = np.abs(np.linalg.eigvalsh(A))
    lmin, lmax = float(absev.min()), float(absev.max())
    kappa = math.inf if lmin == 0.0 else lmax / lmin
    return KappaEstimate(kappa, "lanczos", flops, bytes_, lmin, lmax)


def kappa_lanczos(
    A: np.ndarray,
    *,
    tol: float = 1e-3,
    rng: np.random.Generator | None = None,
    dense_below: int = LANCZOS_DENSE_BELOW,
    factor: Any = None,
    symmetric: bool = False,
) -> KappaEstimate:
    """κ₂ of a symmetric matrix from its extreme eigenvalue magnitudes (Lanczos / ARPACK).

    |λ|max comes from ``eigsh(which="LM")``; |λ|min from shift-invert at σ = 0 (``eigsh`` with an
    ``OPinv`` built from a dense LU), because plain Lanczos converges slowly to the small end of a
    clustered spectrum. κ₂ = |λ|max/|λ|min holds for any symmetric matrix (its singular values are
    the |λ|), definite or not. The flops and bytes are counted from the operator applications
    ARPACK actually requested.

    Parameters
    ----------
    A : (N, N) array_like
        A symmetric matrix (checked to relative 1e-10).
    tol : float
        ARPACK's relative tolerance. ARPACK stops on the Ritz *vector* residual, but a Ritz value
        (a Rayleigh quotient) is accurate to roughly the square of that residual, so 1e-3 gives
        eigenvalues to about 1e-4 on Hessian-like blocks, where 1e-4 needs 2–10× more solves.
    rng : numpy.random.Generator, optional
        Source of ARPACK's starting vector; a fixed-seed generator when omitted, so the result is
        reproducible.
    dense_below : int
        Below this N, use a dense ``eigvalsh`` (see :data:`LANCZOS_DENSE_BELOW` for why).
    factor : hybridsim.linalg.solvers.LUFactor, optional
        An LU of this same A that another estimator made (``KappaEstimate.factor`` of
        ``norm_det`` or ``hager_higham``: ``getrf`` of A·2⁻ᵉ, the power-of-two scaling used here
        too). The shift-invert solves then reuse it instead of factoring A again; the factor is
        the one ``scipy.linalg.lu_factor`` would compute (the same LAPACK call on the same
        array), so the result is the same bits. A factor of another scaling is not used.
    symmetric : bool
        The caller guarantees A = Aᵀ exactly: the symmetry check is skipped (see
        :func:`estimate_kappa`).

    Raises
    ------
    ModelDomainError
        If A is not symmetric (checked unless ``symmetric``).
    """
    A = _square(A)
    amax = _max_abs(A)  # one max serves the symmetry check and the scaling
    if not symmetric:
        _check_symmetric(A, amax)
    n = A.shape[0]
    if n < dense_below:
        flops, bytes_ = _work_lanczos(n, n)
        return _dense_eig_estimate(A, float(flops), float(bytes_))

    # ARPACK on A/2ᵉ: its shift-invert solves overflow on a subnormal A (see
    # _power_of_two_scaled); eigenvalues are scaled back exactly.
    A, e = _power_of_two_scaled(A, amax)
    nnz = int(np.count_nonzero(A))
    applied = A if nnz > _CSR_DENSITY * n * n else sp.csr_matrix(A)
    counts = {"matvec": 0, "solve": 0}  # local tallies, read after ARPACK returns

    def matvec(x):
        counts["matvec"] += 1
        return applied @ x

    if factor is not None and factor.exponent == e and factor.n == n:
        lu = (factor.lu, factor.piv)  # getrf of this A·2⁻ᵉ, as lu_factor would compute it
    else:
        with warnings.catch_warnings():
            # A singular A is an answer here (κ = inf), not a problem to warn about.
            warnings.simplefilter("ignore", sla.LinAlgWarning)
            lu = sla.lu_factor(A, check_finite=False)
    lmin = 0.0 if np.any(np.diag(lu[0]) == 0.0) else None  # exactly singular: |λ|min = 0

    def solve(x):
        counts["solve"] += 1
        return sla.lu_solve(lu, x, check_finite=False)

    gen = rng if rng is not None else np.random.default_rng(0x5EED)
    v0 = gen.standard_normal(n)
    op = spla.LinearOperator((n, n), matvec=matvec, dtype=float)
    try:
        lmax = float(
            abs(spla.eigsh(op, k=1, which="LM", tol=tol, v0=v0, return_eigenvectors=False)[0])
        )
        if lmin is None:
            opinv = spla.LinearOperator((n, n), matvec=solve, dtype=float)
            lmin = float(
                abs(
                    spla.eigsh(
                        op,
                        k=1,
                        sigma=0.0,
                        which="LM",
                        OPinv=opinv,
                        tol=tol,
                        v0=v0,
                        return_eigenvectors=False,
                    )[0]
                )
            )
    except spla.ArpackNoConvergence:
        # Rare (e.g. a huge eigenvalue cluster); pay for the dense answer on top of what was spent.
        f, b = _lanczos_sparse_work(n, nnz, counts["matvec"], counts["solve"])
        est = _dense_eig_estimate(A, float(f) + 4.0 / 3.0 * n**3, float(b) + 16.0 * n**2)
        assert est.lambda_min is not None and est.lambda_max is not None  # the dense path sets both
        lmin, lmax = math.ldexp(est.lambda_min, e), math.ldexp(est.lambda_max, e)
        return replace(est, lambda_min=lmin, lambda_max=lmax)
    flops, bytes_ = _lanczos_sparse_work(n, nnz, counts["matvec"], counts["solve"])
    kappa = math.inf if lmin == 0.0 else lmax / lmin
    lmin, lmax = math.ldexp(lmin, e), math.ldexp(lmax, e)
    return KappaEstimate(kappa, "lanczos", float(flops), float(bytes_), lmin, lmax)


def kappa_exact(A: np.ndarray, *, symmetric: bool = False) -> KappaEstimate:
    """Exact κ₂ = σmax/σmin from the singular values (LAPACK ``gesdd``, values only).

    For a symmetric matrix the singular values are the eigenvalue magnitudes, so the record also
    carries ``lambda_min``/``lambda_max``; for a non-symmetric one those are ``None``.

    Examples
    --------
    >>> kappa_exact([[3.0, 0.0], [0.0, -0.5]]).kappa
    6.0
    """
    A = _square(A)
    n = A.shape[0]
    flops, bytes_ = _work_exact(n, n)
    s = np.linalg.svd(A, compute_uv=False)
    smax, smin = float(s[0]), float(s[-1])
    kappa = math.inf if smin == 0.0 else smax / smin
    symmetric = symmetric or bool(np.array_equal(A, A.T))  # the caller's word, else a look
    return KappaEstimate(
        kappa,
        "exact",
        float(flops),
        float(bytes_),
        smin if symmetric else None,
        smax if symmetric else None,
    )


#: :func:`kappa_exact_factor` scales U by a power of two only when max|U| lies outside
#: [2⁻⁴⁰⁰, 2⁴⁰⁰]: inside, no entry of UᵀU overflows (N·r·2⁸⁰⁰ is far below the float range)
#: and a product that underflows is below 2⁻¹⁰²² against a largest entry above 2⁻⁸⁰⁰ (relative
#: 2⁻²²², nothing an eigenvalue notices), so the common path copies nothing.
_GRAM_SAFE_EXPONENT = 400


def _ldexp_or_inf(x: float, exp: int) -> float:
    """x·2ᵉˣᵖ, ``inf`` where that exceeds the float range (``math.ldexp`` raises there)."""
    try:
        return math.ldexp(x, exp)
    except OverflowError:
        return math.inf


def _work_exact_factor(n, r):
    n = np.asarray(n, dtype=float)
    r = np.asarray(r, dtype=float)
    # syrk (one triangle of UᵀU) and a values-only tridiagonal eigensolve of the r×r Gram
    return n * r * (r + 1.0) + 4.0 / 3.0 * r**3, 8.0 * n * r + 16.0 * r**2


def kappa_exact_factor(U: np.ndarray, shift: float) -> KappaEstimate:
    """Exact κ₂ of H̃ = U·Uᵀ + c·I from its N×r factor U, through the r×r Gram matrix UᵀU.

    U·Uᵀ and UᵀU have the same nonzero eigenvalues (U = QΣVᵀ: both are Σ² in another basis), so
    the spectrum of H̃ is {μᵢ + c} for the eigenvalues μ₁ ≥ … ≥ μᵣ of UᵀU, plus c itself
    N − r times when r < N. Hence

        κ₂(H̃) = (μ₁ + c) / c                 (r < N: U·Uᵀ is singular),
        κ₂(H̃) = (μ₁ + c) / (μ_N + c)         (r ≥ N: the N largest μ are U·Uᵀ's spectrum).

    This is the exact κ₂, not an estimate: its error is the rounding of forming UᵀU (syrk) and
    of a dense symmetric eigensolve (LAPACK ``syevd``), about N·ε relative on μ₁ in the worst
    case and √N·ε typically (Golub & Van Loan §8.1,
    docs/background/references.md#golub-van-loan-2013). On an N = 1024, r = 256 Fisher block it
    agrees with ``eigvalsh`` of the dense N×N block to 1e-14 and costs N·r² + 4/3·r³ flops
    (≈ 4 ms with one BLAS thread) instead of the dense 4/3·N³ (≈ 90 ms) or a Lanczos run to
    relative 1e-4 (≈ 17 ms, 60 operator applications on the dense block). Worth it for r well
    below N; for r ≥ N the dense block is the smaller problem.

    Parameters
    ----------
    U : (N, r) array_like
        The factor.
    shift : float
        c > 0, everything added to the diagonal of U·Uᵀ (regularization and any L2 term).

    Returns
    -------
    KappaEstimate
        Method ``"exact"``, with ``lambda_min``/``lambda_max`` the extreme eigenvalues of H̃.

    Examples
    --------
    >>> U = np.array([[3.0], [4.0]])  # U·Uᵀ has eigenvalues 25 and 0
    >>> kappa_exact_factor(U, 5.0).kappa  # (25 + 5) / 5
    6.0
    >>> est = kappa_exact_factor(np.eye(2), 1.0)  # r = N: H̃ = 2·I
    >>> est.kappa, est.lambda_min, est.lambda_max
    (1.0, 2.0, 2.0)
    """
    U = np.asarray(U, dtype=float)
    if U.ndim != 2 or U.size == 0:
        raise ModelDomainError(f"expected a non-empty N×r factor, got shape {U.shape}")
    if not (math.isfinite(shift) and shift > 0.0):
        raise ModelDomainError(f"the exact factor route needs a shift c > 0, got {shift}")
    amax = max(float(U.max()), -float(U.min()))  # no |U| temporary; NaN and inf propagate
    if not math.isfinite(amax):
        raise ModelDomainError("factor has non-finite entries")
    n, r = U.shape
    c = float(shift)
    e = 0
    if amax != 0.0 and abs(math.frexp(amax)[1]) > _GRAM_SAFE_EXPONENT:
        U, e = _power_of_two_scaled(U, amax)  # UᵀU would over- or underflow; exact scaling
    mu = np.linalg.eigvalsh(U.T @ U)  # ascending; U.T @ U is one syrk (numpy sees Uᵀ·U)
    top = max(float(mu[-1]), 0.0)  # a PSD Gram: only rounding could make it negative
    bottom = 0.0 if r < n else max(float(mu[r - n]), 0.0)
    if e == 0:
        kappa = (top + c) / (bottom + c)
    else:
        # κ = (μ₁' + c')/(μ_N' + c') with c' = c·2⁻²ᵉ, the shift at U's scale; c' overflows
        # when U is tiny against c (then κ = 1) and underflows when U is huge (κ from μ alone)
        cs = _ldexp_or_inf(c, -2 * e)
        if math.isinf(cs):
            kappa = 1.0
        elif cs == 0.0:
            kappa = math.inf if bottom == 0.0 else top / bottom
        else:
            kappa = (top + cs) / (bottom + cs)
    lo, hi = _ldexp_or_inf(bottom, 2 * e) + c, _ldexp_or_inf(top, 2 * e) + c
    flops, bytes_ = _work_exact_factor(n, r)
    return KappaEstimate(kappa, "exact", float(flops), float(bytes_), lo, hi)


def factor_lambda_max_bound(U: np.ndarray) -> float:
    """An upper bound on λmax(U·Uᵀ) = ‖U‖₂² from U (N×r) alone, in O(N·r).

    The minimum of three bounds, each valid for any U: ‖U‖_F² (the trace of U·Uᵀ), ‖U‖₁·‖U‖_∞
    (Hölder: ‖U‖₂² ≤ ‖U‖₁‖U‖_∞) and N·maxᵢ‖uᵢ‖² (the largest entry of the PSD matrix U·Uᵀ is a
    diagonal one, and λmax ≤ N·max|entry|) (Golub & Van Loan §2.3,
    docs/background/references.md#golub-van-loan-2013).

    Examples
    --------
    >>> factor_lambda_max_bound(np.array([[3.0], [4.0]]))  # U·Uᵀ has λmax = 25
    25.0
    """
    U = np.asarray(U, dtype=float)
    if U.ndim != 2 or U.size == 0:
        raise ModelDomainError(f"expected a non-empty N×r factor, got shape {U.shape}")
    absU = np.abs(U)
    row_sq = np.einsum("ij,ij->i", U, U)
    fro2 = float(np.sum(row_sq))
    holder = float(absU.sum(axis=0).max() * absU.sum(axis=1).max())
    gersh = float(U.shape[0] * row_sq.max())
    return min(fro2, holder, gersh)


def _work_floor_factor(n, r):
    n = np.asarray(n, dtype=float)
    r = np.asarray(r, dtype=float)
    return 5.0 * n * r + 2.0 * n, 16.0 * n * r


def _work_floor(n, _d):
    n = np.asarray(n, dtype=float)
    return 7.0 * n**2, 24.0 * n**2


def kappa_floor_factor(U: np.ndarray, shift: float) -> KappaEstimate:
    """The ``floor`` bound for an unpruned low-rank block H̃ = U·Uᵀ + c·I, from U alone.

    λmin(H̃) ≥ c (U·Uᵀ is PSD) and λmax(H̃) ≤ :func:`factor_lambda_max_bound` (U) + c, so

        κ₂(H̃) ≤ 1 + λ̂max / c,

    the regularized-singular-PSD formula (:func:`hybridsim.linalg.shaping.
    regularized_kappa_singular_psd`) with a *certified* λ̂max ≥ λmax. A power iteration would give
    λmax from below, and its residual only says that *some* eigenvalue lies near its Rayleigh
    quotient (diag(10, 1) started at e₂ has residual 0 at λ = 1), so it cannot certify an upper
    bound; the norm bounds can, at O(N·r) (docs/background/conditioning.md).

    Parameters
    ----------
    U : (N, r) array_like
        The factor.
    shift : float
        c > 0, everything added to the diagonal of U·Uᵀ (regularization and any L2 term).

    Examples
    --------
    >>> kappa_floor_factor(np.array([[3.0], [4.0]]), 5.0).kappa  # exact: (25 + 5)/5
    6.0
    """
    U = np.asarray(U, dtype=float)
    if not (math.isfinite(shift) and shift > 0.0):
        raise ModelDomainError(f"the floor estimator needs a shift c > 0, got {shift}")
    if not np.all(np.isfinite(U)):
        raise ModelDomainError("factor has non-finite entries")
    lam = factor_lambda_max_bound(U)
    flops, bytes_ = _work_floor_factor(U.shape[0], U.shape[1])
    return KappaEstimate(
        1.0 + lam / shift, "floor", float(flops), float(bytes_), float(shift), lam + shift
    )


def kappa_floor(
    A: np.ndarray,
    *,
    shift: float | None = None,
    removed_fro: float = 0.0,
    symmetric: bool = False,
) -> KappaEstimate:
    """A rigorous upper bound on κ₂ of a symmetric matrix, in O(N²) and without a factorization.

    Upper side: |λ|max ≤ min(‖A‖_∞, ‖A‖_F) (every eigenvalue lies in a Gershgorin disc; the
    2-norm is at most the Frobenius norm). Lower side, the larger of

    * Gershgorin: λmin ≥ minᵢ (aᵢᵢ − Σ_{j≠i} |aᵢⱼ|);
    * with ``shift`` c: the caller states that A = P + c·I − E with P positive semi-definite and
      ‖E‖_F = ``removed_fro`` (a regularized PSD block from which pruning removed E), so by
      Weyl's inequality λmin ≥ c − ‖E‖₂ ≥ c − ‖E‖_F (Golub & Van Loan §8.1,
      docs/background/references.md#golub-van-loan-2013).

    A positive lower bound makes A positive definite and κ₂ ≤ upper/lower; otherwise the
    estimate is ``inf`` (nothing could be certified). The bound is never below the true κ₂
    (tests/test_floor.py checks it with hypothesis).

    Parameters
    ----------
    A : (N, N) array_like
        A symmetric matrix (checked to relative 1e-10).
    shift : float, optional
        c > 0 as above; None uses Gershgorin alone.
    removed_fro : float
        ‖E‖_F, 0 for an unpruned block.
    symmetric : bool
        The caller guarantees A = Aᵀ exactly: the symmetry check is skipped.

    Examples
    --------
    >>> kappa_floor([[2.0, 0.0], [0.0, 1.0]]).kappa
    2.0
    """
    A = _square(A)
    if not symmetric:
        _check_symmetric(A)
    n = A.shape[0]
    # Norms of a subnormal or huge A under/overflow; scaling by a power of two is exact.
    A, e = _power_of_two_scaled(A)
    absA = np.abs(A)
    row = absA.sum(axis=1)
    upper = min(float(row.max()), float(np.sqrt(np.sum(A * A))))
    diag = np.diagonal(A)
    lower = float(np.min(diag - (row - np.abs(diag))))
    if shift is not None:
        if not (math.isfinite(shift) and shift > 0.0 and removed_fro >= 0.0):
            raise ModelDomainError("need a shift c > 0 and removed_fro >= 0")
        lower = max(lower, math.ldexp(float(shift) - float(removed_fro), -e))
    flops, bytes_ = _work_floor(n, n)
    hi = math.ldexp(upper, e)
    if not lower > 0.0:
        return KappaEstimate(math.inf, "floor", float(flops), float(bytes_), None, hi)
    kappa = max(1.0, upper / lower)
    return KappaEstimate(kappa, "floor", float(flops), float(bytes_), math.ldexp(lower, e), hi)


#: Estimators by name: ``"norm_det"``, ``"hager_higham"``, ``"lanczos"``, ``"exact"``, ``"floor"``.
#: Each takes the matrix and a keyword ``symmetric`` (see :func:`estimate_kappa`).
ESTIMATORS: Mapping[str, Callable[..., KappaEstimate]] = MappingProxyType(
    {
        "norm_det": kappa_paper,
        "hager_higham": kappa_hager_higham,
        "lanczos": kappa_lanczos,
        "exact": kappa_exact,
        "floor": kappa_floor,
    }
)

#: Estimators that compute an LU of the estimated matrix (``KappaEstimate.factor``), reusable by
#: an LU solve of the same matrix.
FACTORING_ESTIMATORS = frozenset({"norm_det", "hager_higham"})

# Flops and bytes of each estimator from (n, d); an entry whose work does not depend on d names
# it _d.
_WORK = MappingProxyType(
    {
        "norm_det": _work_norm_det,
        "hager_higham": _work_hager_higham,
        "lanczos": _work_lanczos,
        "exact": _work_exact,
        "floor": _work_floor,
    }
)


def _method(method: str) -> str:
    if method not in ESTIMATORS:
        raise ModelDomainError(
            f"unknown kappa estimator {method!r} (expected one of {', '.join(ESTIMATORS)})"
        )
    return method


def estimate_kappa(A: np.ndarray, method: str, *, symmetric: bool = False) -> KappaEstimate:
    """Estimate κ of ``A`` with the named estimator (a key of :data:`ESTIMATORS`).

    ``symmetric`` is the caller's guarantee that A = Aᵀ exactly (a training block is symmetric
    by construction: a symmetrized Gram matrix, a diagonal shift, a symmetric pruning mask). It
    saves work that only restates it, never changes an estimate: Lanczos and floor skip their
    symmetry check, exact its ``A == Aᵀ`` look, and norm_det and hager_higham let ``getrf``
    factor the row-major scaled copy of A as column-major (for a symmetric A the same matrix)
    instead of transposing it first (3.5–8 ms of a 30 ms LU at N = 1024). For a matrix that is
    not exactly symmetric the answer is undefined.

    Examples
    --------
    >>> estimate_kappa([[1.0, 2.0], [3.0, 4.0]], "norm_det").kappa > 14.9
    True
    """
    return ESTIMATORS[_method(method)](A, symmetric=symmetric)


def estimator_work(
    method: str, n, d, *, rank=None
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Predicted (flops, bytes) of an estimator on an N×N matrix with row sparsity d.

    For workloads that carry shapes but no matrices. Vectorized: ``n`` and ``d`` may be numpy
    arrays (broadcast); returns floats for scalar input. Only the Lanczos mat-vecs see ``d``; the
    other estimators factor the matrix densely. The Lanczos model assumes
    :data:`LANCZOS_MODEL_STEPS_MAX` and :data:`LANCZOS_MODEL_STEPS_MIN` operator applications.
    ``rank`` (the width r of a low-rank factor; NaN where none) lets ``floor`` work from the
    factor, O(r·N), on unpruned blocks (d = n); elsewhere it is ignored.

    Examples
    --------
    >>> estimator_work("exact", 3, 3)
    (72.0, 144.0)
    """
    n_arr = np.asarray(n, dtype=float)
    d_arr = np.asarray(d, dtype=float)
    if np.any(n_arr < 1) or np.any(d_arr < 1) or np.any(d_arr > n_arr):
        raise ModelDomainError("estimator_work needs n >= 1 and 1 <= d <= n")
    flops, bytes_ = _WORK[_method(method)](n_arr, d_arr)
    if method == "floor" and rank is not None:
        r = np.asarray(rank, dtype=float)
        use = np.isfinite(r) & (d_arr == n_arr)
        with np.errstate(invalid="ignore"):
            ff, fb = _work_floor_factor(n_arr, np.where(use, r, 1.0))
        flops, bytes_ = np.where(use, ff, flops), np.where(use, fb, bytes_)
    flops, bytes_ = np.broadcast_arrays(flops, bytes_)
    if flops.ndim == 0:
        return float(flops), float(bytes_)
    return flops.astype(float), bytes_.astype(float)
