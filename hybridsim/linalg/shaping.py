"""Hessian shaping before a solve: regularization, symmetric magnitude pruning, sparsity d.

The Q-Newton code (arXiv:2405.00252, UNITES-Lab/q-newton) shapes each Hessian block before
inverting it:

* regularization H̃ = H + ε_norm·(max|Hᵢⱼ| + damping)·I, with ε_norm = 5e-3 for the MLP and 1 for
  BERT/Mistral, damping 1e-10 (``approx-hessian``; the ``real-hessian`` variant adds 1e-6);
* magnitude pruning to k = ⌊r·N⌋ entries per row, so the QLSA's sparse-access oracle sees row
  sparsity d = k (r swept 0.025 … 1).

The MLP path of the public code prunes first and regularizes second; the ``real-hessian`` path does
the reverse. Both orders are offered. Row-wise top-k breaks symmetry (the paper calls its pruning
"symmetry-aware"), so the mask is symmetrized here (union or intersection) and d is the maximum
nonzero count over rows *and* columns (inferred, docs/background/references.md#qnewton-pruning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from hybridsim.errors import ModelDomainError

__all__ = [
    "regularize",
    "regularization_shift",
    "prune_symmetric",
    "sparsity",
    "ShapedMatrix",
    "shape_hessian",
    "regularized_kappa_singular_psd",
    "prune_k",
]

_SCALES = ("max_abs", "sigma_max")
_MASKS = ("union", "intersection")
_ORDERS = ("prune_then_regularize", "regularize_then_prune")


def _square(H) -> np.ndarray:
    H = np.asarray(H, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise ModelDomainError(f"expected a non-empty square matrix, got shape {H.shape}")
    return H


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ModelDomainError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def regularization_shift(
    H: np.ndarray, eps_norm: float, *, damping: float = 1e-10, scale: str = "max_abs"
) -> float:
    """The c that :func:`regularize` adds to the diagonal: ε_norm·(s + damping).

    Examples
    --------
    >>> regularization_shift([[0.0, 2.0], [2.0, 0.0]], 0.5, damping=0.0)
    1.0
    """
    H = _square(H)
    _choice("scale", scale, _SCALES)
    if not (math.isfinite(eps_norm) and eps_norm >= 0.0):
        raise ModelDomainError(f"eps_norm must be finite and >= 0, got {eps_norm}")
    if not (math.isfinite(damping) and damping >= 0.0):
        raise ModelDomainError(f"damping must be finite and >= 0, got {damping}")
    s = float(np.max(np.abs(H))) if scale == "max_abs" else float(np.linalg.norm(H, 2))
    return eps_norm * (s + damping)


def regularize(
    H: np.ndarray, eps_norm: float, *, damping: float = 1e-10, scale: str = "max_abs"
) -> np.ndarray:
    """Add a scaled identity: H + ε_norm·(s + damping)·I.

    Parameters
    ----------
    H : (N, N) array_like
        The block to regularize (not modified).
    eps_norm : float
        Relative strength ε_norm >= 0 (Q-Newton: 5e-3 for the MLP, 1 for BERT/Mistral).
    damping : float
        Added to the scale so an all-zero block still becomes invertible (public code: 1e-10).
    scale : {"max_abs", "sigma_max"}
        s = max|Hᵢⱼ| as in the public code, or s = σmax(H) = ‖H‖₂ (for symmetric H, |λ|max), the
        variant the code's own ``todo`` comment asks for. σmax costs an SVD.

    Returns
    -------
    numpy.ndarray
        A new array.

    Examples
    --------
    >>> regularize([[0.0, 2.0], [2.0, 0.0]], 0.5, damping=0.0).tolist()
    [[1.0, 2.0], [2.0, 1.0]]
    """
    H = _square(H)
    out = H.copy()
    out[np.diag_indices_from(out)] += regularization_shift(
        H, eps_norm, damping=damping, scale=scale
    )
    return out


def prune_k(n: int, ratio: float) -> int:
    """Entries kept per row for a pruning ratio: k = max(1, ⌊ratio·N⌋).

    A 1e-9 guard makes ``0.29 * 100`` (= 28.999999999999996 in binary) give 29, not 28; the public
    code's ``floor(ratio * N)`` gets those cases one short.

    Examples
    --------
    >>> prune_k(100, 0.29), prune_k(10, 0.01)
    (29, 1)
    """
    if not (0.0 < ratio <= 1.0):
        raise ModelDomainError(f"prune ratio must be in (0, 1], got {ratio}")
    return max(1, min(n, math.floor(ratio * n + 1e-9)))


def prune_symmetric(H: np.ndarray, ratio: float, *, mask: str = "union") -> np.ndarray:
    """Keep the k largest-magnitude entries of each row under a symmetric mask.

    k = max(1, ⌊ratio·N⌋) (see :func:`prune_k`). The row-wise top-k mask M of the public code is
    not symmetric; here it becomes M ∪ Mᵀ (``"union"``: keeps every entry some row wanted, rows may
    end with more than k nonzeros) or M ∩ Mᵀ (``"intersection"``: at most k per row, plus the
    diagonal). The diagonal is always kept: a symmetric matrix with a zero diagonal entry and a
    nonzero off-diagonal in that row is indefinite, so dropping diagonal entries (which happens
    when a row's off-diagonals are larger, common in rank-deficient Fisher blocks) destroys the
    positive definiteness regularization was meant to give, and in the regularize-then-prune
    order it would delete the regularization itself. Ties in |value| are broken by column order
    (stable sort), so the result is deterministic. With ratio = 1 the matrix is returned unchanged
    (as a copy). The result is symmetric whenever H is.

    Examples
    --------
    >>> H = [[4.0, 1.0, 3.0], [1.0, 5.0, 2.0], [3.0, 2.0, 6.0]]
    >>> prune_symmetric(H, 0.34, mask="intersection").tolist()
    [[4.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 6.0]]
    >>> prune_symmetric(H, 0.67, mask="union").tolist()
    [[4.0, 0.0, 3.0], [0.0, 5.0, 2.0], [3.0, 2.0, 6.0]]
    """
    H = _square(H)
    _choice("mask", mask, _MASKS)
    n = H.shape[0]
    k = prune_k(n, ratio)
    if k >= n:
        return H.copy()
    # Stable argsort on -|H| picks, among equal magnitudes, the lower column index.
    top = np.argsort(-np.abs(H), axis=1, kind="stable")[:, :k]
    keep = np.zeros((n, n), dtype=bool)
    np.put_along_axis(keep, top, True, axis=1)
    keep = (keep | keep.T) if mask == "union" else (keep & keep.T)
    np.fill_diagonal(keep, True)
    return np.where(keep, H, 0.0)


def sparsity(A) -> int:
    """Row/column sparsity d: the largest number of nonzeros in any row or column.

    This is the d a sparse-access QLSA oracle sees (it must enumerate the nonzeros of a row *and*,
    for the adjoint, of a column).

    Examples
    --------
    >>> sparsity([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    3
    """
    if sp.issparse(A):
        nz = sp.csr_matrix(A)
        nz.eliminate_zeros()
        pattern = nz != 0
        rows = np.asarray(pattern.sum(axis=1)).ravel()
        cols = np.asarray(pattern.sum(axis=0)).ravel()
    else:
        pattern = np.asarray(A) != 0
        if pattern.ndim != 2:
            raise ModelDomainError(f"expected a matrix, got shape {pattern.shape}")
        rows = pattern.sum(axis=1)
        cols = pattern.sum(axis=0)
    return int(max(rows.max(initial=0), cols.max(initial=0)))


@dataclass(frozen=True, slots=True)
class ShapedMatrix:
    """A Hessian block after shaping.

    Parameters
    ----------
    matrix : numpy.ndarray
        The shaped block.
    d : int
        Its row/column sparsity (:func:`sparsity`), what the QLSA cost model sees.
    eps_norm : float
        Regularization strength used.
    prune_ratio : float
        Pruning ratio used (1.0 = not pruned).
    order : str
        ``"prune_then_regularize"`` or ``"regularize_then_prune"``.
    mask : str
        Pruning mask symmetrization (``"union"`` or ``"intersection"``).
    scale : str
        Regularization scale (``"max_abs"`` or ``"sigma_max"``).
    shift : float
        The c the regularization added to the diagonal (the same for both orders).
    unpruned : numpy.ndarray or None
        H + c·I, the regularized block *without* pruning, when pruning changed something (the
        classical route solves it; the pruned ``matrix`` is the quantum route's); None when
        ``matrix`` is that block already.
    removed_fro : float
        ‖(H + c·I) − matrix‖_F, what pruning removed (0 when unpruned): the ``floor`` κ
        estimator's Weyl term.
    """

    matrix: np.ndarray
    d: int
    eps_norm: float
    prune_ratio: float
    order: str
    mask: str = "union"
    scale: str = "max_abs"
    shift: float = 0.0
    unpruned: np.ndarray | None = None
    removed_fro: float = 0.0

    @property
    def pruned(self) -> bool:
        """Whether pruning changed the block (the routes then solve different matrices)."""
        return self.unpruned is not None

    @property
    def regularized(self) -> np.ndarray:
        """H + c·I, the unpruned regularized block (``matrix`` when nothing was pruned)."""
        return self.matrix if self.unpruned is None else self.unpruned


def shape_hessian(
    H: np.ndarray,
    *,
    eps_norm: float,
    prune_ratio: float = 1.0,
    order: str = "prune_then_regularize",
    mask: str = "union",
    scale: str = "max_abs",
    damping: float = 1e-10,
) -> ShapedMatrix:
    """Regularize and prune a Hessian block in the chosen order.

    ``"prune_then_regularize"`` is what the public code does for the MLP (``approx-hessian``);
    ``"regularize_then_prune"`` is its ``real-hessian`` path. With ``scale="max_abs"`` both orders
    use the same scale, because the largest entry of a matrix is the top entry of its row and
    survives pruning. The diagonal always survives pruning (see :func:`prune_symmetric`).

    Examples
    --------
    >>> s = shape_hessian([[4.0, 1.0, 3.0], [1.0, 5.0, 2.0], [3.0, 2.0, 6.0]],
    ...                   eps_norm=0.5, prune_ratio=0.34, mask="intersection", damping=0.0)
    >>> s.d, s.matrix.diagonal().tolist()
    (1, [7.0, 8.0, 9.0])
    """
    _choice("order", order, _ORDERS)
    H = _square(H)
    if order == "prune_then_regularize":
        pruned = H if prune_ratio == 1.0 else prune_symmetric(H, prune_ratio, mask=mask)
        shift = regularization_shift(pruned, eps_norm, damping=damping, scale=scale)
        out = pruned.copy()
        out[np.diag_indices_from(out)] += shift
    else:
        shift = regularization_shift(H, eps_norm, damping=damping, scale=scale)
        reg = H.copy()
        reg[np.diag_indices_from(reg)] += shift
        out = reg if prune_ratio == 1.0 else prune_symmetric(reg, prune_ratio, mask=mask)
    unpruned = None
    removed = 0.0
    if prune_ratio != 1.0:
        # The classical route's matrix: the same regularization strength, nothing removed.
        full = H.copy()
        full[np.diag_indices_from(full)] += shift
        if not np.array_equal(full, out):
            unpruned = full
            removed = float(np.linalg.norm(full - out))
    return ShapedMatrix(
        out,
        sparsity(out),
        float(eps_norm),
        float(prune_ratio),
        order,
        mask,
        scale,
        float(shift),
        unpruned,
        removed,
    )


def regularized_kappa_singular_psd(lambda_max, max_abs, eps_norm, damping=0.0):
    """κ₂ of a regularized singular PSD block: 1 + λmax / (ε_norm·(max|H| + damping)).

    For symmetric positive semi-definite H with λmin = 0, adding c·I shifts every eigenvalue by
    c = ε_norm·(max|H| + damping), so κ₂(H + cI) = (λmax + c)/c exactly. Since λmax ≤ N·max|H|,
    κ ≤ 1 + N/ε_norm (inferred, docs/background/references.md#singular-psd-kappa). Vectorized over
    numpy arrays.

    Examples
    --------
    >>> regularized_kappa_singular_psd(2.0, 1.0, 0.5)
    5.0
    """
    lam = np.asarray(lambda_max, dtype=float)
    m = np.asarray(max_abs, dtype=float)
    e = np.asarray(eps_norm, dtype=float)
    c = e * (m + damping)
    if np.any(c <= 0) or np.any(lam < 0):
        raise ModelDomainError("need eps_norm*(max_abs + damping) > 0 and lambda_max >= 0")
    out = 1.0 + lam / c
    return float(out) if out.ndim == 0 else out
