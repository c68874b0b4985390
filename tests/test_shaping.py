"""Hessian shaping: regularization, symmetric pruning, sparsity d, and their composition."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from hybridsim.errors import ModelDomainError
from hybridsim.linalg.shaping import (
    ShapedMatrix,
    prune_k,
    prune_symmetric,
    regularize,
    regularized_kappa_singular_psd,
    shape_hessian,
    sparsity,
)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # Multithreaded OpenBLAS on a small shared machine can be 100x slower when another process
    # holds a core; one thread keeps these tests fast and changes no result.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def fisher(n: int, batch: int, seed: int) -> np.ndarray:
    """Empirical Fisher (1/B)·Σ g gᵀ from B per-sample gradients: PSD, rank <= B."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((batch, n)) * rng.lognormal(0.0, 1.0, n)
    return g.T @ g / batch


# --- regularize --------------------------------------------------------------------------------


def test_regularize_by_hand():
    h = np.array([[1.0, -3.0], [-3.0, 2.0]])
    out = regularize(h, 0.5, damping=1.0)  # 0.5 * (3 + 1) = 2 on the diagonal
    assert out.tolist() == [[3.0, -3.0], [-3.0, 4.0]]
    assert h.tolist() == [[1.0, -3.0], [-3.0, 2.0]]  # input untouched


def test_regularize_sigma_max_variant():
    h = np.array([[2.0, 1.0], [1.0, 2.0]])  # eigenvalues 1 and 3
    out = regularize(h, 1.0, damping=0.0, scale="sigma_max")
    assert np.allclose(np.diag(out), [5.0, 5.0])


def test_regularize_default_damping_matches_public_code():
    h = np.zeros((3, 3))
    out = regularize(h, 5e-3)
    assert np.allclose(out, 5e-3 * 1e-10 * np.eye(3), rtol=0, atol=1e-30)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_regularize_rejects_bad_eps(bad):
    with pytest.raises(ModelDomainError):
        regularize(np.eye(2), bad)


def test_regularize_rejects_unknown_scale_and_non_square():
    with pytest.raises(ModelDomainError):
        regularize(np.eye(2), 1.0, scale="frobenius")
    with pytest.raises(ModelDomainError):
        regularize(np.ones((2, 3)), 1.0)


# --- the singular-PSD identity -----------------------------------------------------------------


@pytest.mark.parametrize("eps_norm", [1e-3, 5e-3, 1.0, 1e4])
@pytest.mark.parametrize("damping", [0.0, 1e-10])
def test_regularized_singular_psd_kappa_identity(eps_norm, damping):
    f = fisher(40, 8, seed=7)  # rank 8 < 40: singular PSD
    lam_max = np.linalg.eigvalsh(f)[-1]
    s = np.linalg.svd(regularize(f, eps_norm, damping=damping), compute_uv=False)
    expected = regularized_kappa_singular_psd(lam_max, np.abs(f).max(), eps_norm, damping)
    assert s[0] / s[-1] == pytest.approx(expected, rel=1e-8)
    assert expected <= 1 + 40 / eps_norm  # λmax <= N·max|H|


def test_regularized_kappa_helper_by_hand_and_vectorized():
    assert regularized_kappa_singular_psd(2.0, 1.0, 0.5) == 5.0
    out = regularized_kappa_singular_psd(np.array([2.0, 8.0]), 1.0, np.array([0.5, 2.0]))
    assert out.tolist() == [5.0, 5.0]
    with pytest.raises(ModelDomainError):
        regularized_kappa_singular_psd(1.0, 0.0, 1.0)


# --- pruning -----------------------------------------------------------------------------------


def test_prune_k_guards_float_floor():
    assert prune_k(100, 0.29) == 29  # 0.29 * 100 == 28.999999999999996
    assert prune_k(10, 0.01) == 1  # at least one entry per row
    assert prune_k(10, 1.0) == 10
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ModelDomainError):
            prune_k(10, bad)


def test_prune_by_hand_union_and_intersection():
    h = np.array([[4.0, 1.0, 3.0], [1.0, 5.0, 2.0], [3.0, 2.0, 6.0]])
    # top-2 per row: row0 {0, 2}, row1 {1, 2}, row2 {2, 0}; symmetric already up to (1,2)/(2,1)
    union = prune_symmetric(h, 0.67, mask="union")
    assert union.tolist() == [[4.0, 0.0, 3.0], [0.0, 5.0, 2.0], [3.0, 2.0, 6.0]]
    inter = prune_symmetric(h, 0.67, mask="intersection")
    assert inter.tolist() == [[4.0, 0.0, 3.0], [0.0, 5.0, 0.0], [3.0, 0.0, 6.0]]


def test_prune_keeps_diagonal_even_when_off_diagonals_dominate():
    h = np.array([[0.1, 5.0, 4.0], [5.0, 0.2, 3.0], [4.0, 3.0, 0.3]])
    out = prune_symmetric(h, 0.34, mask="intersection")
    assert np.diag(out).tolist() == [0.1, 0.2, 0.3]


def test_prune_ratio_one_is_identity():
    h = fisher(10, 3, seed=1)
    out = prune_symmetric(h, 1.0)
    assert np.array_equal(out, h) and out is not h


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 30),
    ratio=st.floats(0.01, 1.0),
    mask=st.sampled_from(["union", "intersection"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_pruned_matrices_stay_symmetric_and_keep_row_tops(n, ratio, mask, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    h = a + a.T
    out = prune_symmetric(h, ratio, mask=mask)
    assert np.array_equal(out, out.T)
    assert np.array_equal(np.diag(out), np.diag(h))
    kept = out != 0
    assert np.all((out == h) | ~kept)  # kept entries unchanged
    k = prune_k(n, ratio)
    per_row = kept.sum(axis=1)
    if mask == "intersection":
        assert per_row.max() <= k + 1  # k plus possibly the forced diagonal
    else:
        # every row keeps at least its own top-k magnitudes
        kth = -np.sort(-np.abs(h), axis=1)[:, k - 1]
        assert np.all((np.abs(h) < kth[:, None]) | kept)


# --- sparsity ----------------------------------------------------------------------------------


def test_sparsity_counts_rows_and_columns():
    a = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])  # col 0 has 3, rows <= 2
    assert sparsity(a) == 3
    assert sparsity(a.T) == 3
    assert sparsity(np.eye(4)) == 1
    assert sparsity(np.zeros((2, 2))) == 0


def test_sparsity_of_scipy_sparse_ignores_stored_zeros():
    m = sp.csr_matrix(np.array([[1.0, 2.0], [0.0, 3.0]]))
    m.data[1] = 0.0  # an explicitly stored zero is not a nonzero
    assert sparsity(m) == 1


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 25), density=st.floats(0.0, 1.0), seed=st.integers(0, 2**32 - 1))
def test_sparsity_equals_max_row_col_nonzeros(n, density, seed):
    rng = np.random.default_rng(seed)
    a = np.where(rng.random((n, n)) < density, rng.standard_normal((n, n)), 0.0)
    nz = a != 0
    assert sparsity(a) == max(nz.sum(axis=0).max(), nz.sum(axis=1).max())
    assert sparsity(sp.csr_matrix(a)) == sparsity(a)


# --- shape_hessian -----------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["prune_then_regularize", "regularize_then_prune"])
@pytest.mark.parametrize("mask", ["union", "intersection"])
def test_shape_hessian_d_is_sparsity_and_symmetric(order, mask):
    h = fisher(50, 10, seed=3)
    shaped = shape_hessian(h, eps_norm=5e-3, prune_ratio=0.1, order=order, mask=mask)
    assert isinstance(shaped, ShapedMatrix)
    assert shaped.d == sparsity(shaped.matrix)
    assert np.array_equal(shaped.matrix, shaped.matrix.T)
    assert (shaped.order, shaped.mask, shaped.prune_ratio) == (order, mask, 0.1)
    if mask == "intersection":
        assert shaped.d <= prune_k(50, 0.1) + 1


def test_shape_hessian_orders_agree_on_diagonal_with_max_abs_scale():
    h = fisher(30, 5, seed=4)
    a = shape_hessian(h, eps_norm=1.0, prune_ratio=0.2, order="prune_then_regularize")
    b = shape_hessian(h, eps_norm=1.0, prune_ratio=0.2, order="regularize_then_prune")
    assert np.allclose(np.diag(a.matrix), np.diag(b.matrix))


def test_shape_hessian_without_pruning_is_regularization():
    h = fisher(20, 4, seed=5)
    shaped = shape_hessian(h, eps_norm=5e-3)
    assert np.array_equal(shaped.matrix, regularize(h, 5e-3))
    assert shaped.d == 20


def test_shape_hessian_by_hand_and_frozen():
    h = np.array([[4.0, 1.0, 3.0], [1.0, 5.0, 2.0], [3.0, 2.0, 6.0]])
    s = shape_hessian(h, eps_norm=0.5, prune_ratio=0.34, mask="intersection", damping=0.0)
    assert s.d == 1 and np.diag(s.matrix).tolist() == [7.0, 8.0, 9.0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.d = 3
    with pytest.raises(ModelDomainError):
        shape_hessian(h, eps_norm=0.5, order="sideways")
