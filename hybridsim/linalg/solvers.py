"""The classical solvers a GPU job really runs (numpy/scipy), one per cost-model method.

Each function solves H̃x = g for one curvature block and returns x; the GPU executor
(:mod:`hybridsim.execution`) picks the function of the job's method, so the answer that drives
the Newton update is the one the charged method computes. The cost models of the same methods
are in :mod:`hybridsim.costs.classical` (docs/background/costs.md).

Forms of the block:

* dense: the N×N matrix itself (``lu``, ``cholesky``, ``cg``);
* low-rank plus shift: H̃ = U·Uᵀ + c·I with the N×r factor U and c > 0 (``woodbury``,
  ``cg_matrix_free``); the N×N matrix is never formed.

Woodbury (Hager 1989, docs/background/references.md#hager-1989) in its stable form:

    H̃⁻¹g = (g − U·C⁻¹·Uᵀg)/c,   C = c·I_r + UᵀU  (r×r, SPD),

with a Cholesky of the capacitance matrix C. The eigenvalues of C are c + σᵢ(U)², those of H̃
the same plus c repeated, so κ(C) ≤ κ(H̃): the factorization is no worse conditioned than the
block, and the subtraction g − U·C⁻¹Uᵀg cancels only as far as κ(H̃) is large, as for any solver
(inferred; tested against a dense solve to 1e-8 in tests/test_solvers.py).

CG (Hestenes and Stiefel 1952, docs/background/references.md#hestenes-stiefel-1952) stops when
‖g − H̃x‖ ≤ rtol·‖g‖, the relative residual the cost model's iteration count is bounded for; the
matrix-free variant applies H̃ as U·(Uᵀp) + c·p.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.linalg as sla

from hybridsim.errors import ModelDomainError, SolverError

__all__ = [
    "LUFactor",
    "solve_lu",
    "solve_cholesky",
    "solve_cg",
    "solve_woodbury",
    "solve_cg_matrix_free",
    "conjugate_gradient",
    "fisher_matvec",
]


class LUFactor:
    """An LU factorization of ``A·2^-exponent`` (LAPACK ``getrf`` output), for reuse by a solve.

    κ estimators factor a power-of-two scaled copy of the block (exact, see
    :func:`hybridsim.linalg.conditioning._power_of_two_scaled`); the scale is kept so that
    :func:`solve_lu` recovers the solution of the unscaled system exactly.

    Parameters
    ----------
    lu, piv : numpy.ndarray
        ``scipy.linalg.lu_factor`` / ``getrf`` output.
    exponent : int
        The factored matrix is A·2^-exponent.
    """

    __slots__ = ("lu", "piv", "exponent")

    def __init__(self, lu: np.ndarray, piv: np.ndarray, exponent: int = 0):
        self.lu = lu
        self.piv = piv
        self.exponent = int(exponent)

    @property
    def n(self) -> int:
        return int(self.lu.shape[0])


def _vector(b, n: int | None = None) -> np.ndarray:
    b = np.asarray(b, dtype=float)
    if b.ndim != 1 or (n is not None and b.shape[0] != n):
        raise ModelDomainError(f"right-hand side must be a vector of length {n}, got {b.shape}")
    return b


def solve_lu(A: np.ndarray | None, b, *, factor: LUFactor | None = None) -> np.ndarray:
    """x = A⁻¹b by LU with partial pivoting (LAPACK ``getrf`` + ``getrs``), or by the two
    triangular solves of an existing ``factor`` (``getrs``) when one is given.

    Both paths use scipy's LAPACK, and a factor of A·2⁻ᵉ is exactly 2⁻ᵉ times a factor of A
    (same pivots; scaling by a power of two is exact), so reusing an estimator's factor gives
    the same bits as factoring afresh: the answer does not depend on which estimator ran.

    Examples
    --------
    >>> solve_lu(np.array([[2.0, 0.0], [0.0, 4.0]]), [2.0, 2.0]).tolist()
    [1.0, 0.5]
    """
    if factor is not None:
        b = _vector(b, factor.n)
        x = sla.lu_solve((factor.lu, factor.piv), b, check_finite=False)
        # (A·2^-e)·y = b  =>  x = A⁻¹b = 2^-e·y (exact: a power of two).
        return np.ldexp(x, -factor.exponent)
    A = np.asarray(A, dtype=float)
    b = _vector(b, A.shape[0])
    lu, piv = sla.lu_factor(A, check_finite=False)
    return sla.lu_solve((lu, piv), b, check_finite=False)


def solve_cholesky(A: np.ndarray, b) -> np.ndarray:
    """x = A⁻¹b by Cholesky (LAPACK ``potrf`` + ``potrs``) of a symmetric positive definite A.

    Raises
    ------
    numpy.linalg.LinAlgError
        A is not positive definite (the caller falls back to LU).

    Examples
    --------
    >>> solve_cholesky(np.array([[4.0, 2.0], [2.0, 3.0]]), [2.0, 1.0]).round(6).tolist()
    [0.5, 0.0]
    """
    A = np.asarray(A, dtype=float)
    b = _vector(b, A.shape[0])
    try:
        c = sla.cho_factor(A, lower=True, check_finite=False)
    except sla.LinAlgError as exc:  # scipy raises numpy's LinAlgError subclass
        raise np.linalg.LinAlgError(str(exc)) from exc
    return sla.cho_solve(c, b, check_finite=False)


def conjugate_gradient(
    apply: Callable[[np.ndarray], np.ndarray],
    b: np.ndarray,
    *,
    rtol: float,
    maxiter: int | None = None,
) -> tuple[np.ndarray, int]:
    """Textbook CG from x₀ = 0 until ‖b − Ax‖ ≤ rtol·‖b‖ (Hestenes and Stiefel 1952).

    Deterministic (no randomness, a fixed operation order), so a run's answers are byte-identical.

    Parameters
    ----------
    apply : callable
        x ↦ A·x for a symmetric positive definite A.
    b : numpy.ndarray
        Right-hand side.
    rtol : float
        Relative residual tolerance, 0 < rtol < 1.
    maxiter : int, optional
        Iteration cap (default 10·N + 100: CG on an SPD system converges in N steps in exact
        arithmetic; the margin absorbs rounding).

    Returns
    -------
    x, iterations

    Raises
    ------
    SolverError
        No convergence within ``maxiter`` (A is not SPD or is numerically singular).
    """
    if not 0.0 < rtol < 1.0:
        raise ModelDomainError(f"CG tolerance must be in (0, 1), got {rtol}")
    n = b.shape[0]
    cap = 10 * n + 100 if maxiter is None else int(maxiter)
    x = np.zeros(n)
    bnorm = float(np.linalg.norm(b))
    if bnorm == 0.0:
        return x, 0
    r = b.copy()
    p = r.copy()
    rr = float(r @ r)
    target = (rtol * bnorm) ** 2
    for it in range(1, cap + 1):
        q = apply(p)
        pq = float(p @ q)
        if not pq > 0.0:
            raise SolverError(
                f"CG breakdown at iteration {it}: the matrix is not positive definite"
            )
        alpha = rr / pq
        x += alpha * p
        r -= alpha * q
        rr_new = float(r @ r)
        if rr_new <= target:
            return x, it
        p *= rr_new / rr
        p += r
        rr = rr_new
    raise SolverError(f"CG did not reach rtol={rtol} in {cap} iterations")


def solve_cg(A, b, *, rtol: float) -> np.ndarray:
    """x ≈ A⁻¹b by CG on a symmetric positive definite A (dense or scipy sparse).

    Examples
    --------
    >>> x = solve_cg(np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([1.0, 2.0]), rtol=1e-12)
    >>> np.allclose(x, [1 / 11, 7 / 11])
    True
    """
    b = _vector(b, A.shape[0])
    x, _ = conjugate_gradient(lambda v: A @ v, b, rtol=rtol)
    return x


def _check_factor(U: np.ndarray, shift: float, b) -> tuple[np.ndarray, np.ndarray]:
    U = np.asarray(U, dtype=float)
    if U.ndim != 2:
        raise ModelDomainError(f"the factor U must be an N×r matrix, got shape {U.shape}")
    if not (math.isfinite(shift) and shift > 0.0):
        raise ModelDomainError(f"the shift c must be finite and > 0, got {shift}")
    return U, _vector(b, U.shape[0])


def fisher_matvec(U: np.ndarray, shift: float) -> Callable[[np.ndarray], np.ndarray]:
    """p ↦ U·(Uᵀp) + c·p: the block U·Uᵀ + c·I applied in 4·N·r + 2·N flops, never formed."""
    Ut = U.T  # a view; both products run as BLAS gemv

    def apply(p: np.ndarray) -> np.ndarray:
        out = U @ (Ut @ p)
        out += shift * p
        return out

    return apply


def solve_woodbury(U: np.ndarray, shift: float, b) -> np.ndarray:
    """x = (U·Uᵀ + c·I)⁻¹b by the Woodbury identity with a Cholesky of C = c·I_r + UᵀU.

    Examples
    --------
    >>> U = np.array([[1.0], [2.0]])
    >>> x = solve_woodbury(U, 0.5, np.array([1.0, 1.0]))
    >>> np.allclose((U @ U.T + 0.5 * np.eye(2)) @ x, [1.0, 1.0])
    True
    """
    U, b = _check_factor(U, shift, b)
    C = U.T @ U
    C[np.diag_indices_from(C)] += shift
    c = sla.cho_factor(C, lower=True, check_finite=False)
    y = sla.cho_solve(c, U.T @ b, check_finite=False)
    return (b - U @ y) / shift


def solve_cg_matrix_free(U: np.ndarray, shift: float, b, *, rtol: float) -> np.ndarray:
    """x ≈ (U·Uᵀ + c·I)⁻¹b by CG with Fisher-vector products (:func:`fisher_matvec`)."""
    U, b = _check_factor(U, shift, b)
    x, _ = conjugate_gradient(fisher_matvec(U, shift), b, rtol=rtol)
    return x
