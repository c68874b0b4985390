"""The `floor` κ estimator: a certified upper bound, cheaper than the paper's norm/det bound."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridsim.linalg.conditioning import (
    estimator_work,
    factor_lambda_max_bound,
    kappa_exact,
    kappa_floor,
    kappa_floor_factor,
)
from hybridsim.linalg.shaping import regularized_kappa_singular_psd, shape_hessian


def _factor(n, r, seed, spread):
    rng = np.random.default_rng(seed)
    # Rows of very different sizes, as per-sample gradients of real layers have.
    return rng.standard_normal((n, r)) * rng.lognormal(0.0, spread, (n, 1))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 50),
    r=st.integers(1, 60),
    eps_norm=st.floats(1e-4, 10.0),
    spread=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_floor_from_the_factor_is_an_upper_bound(n, r, eps_norm, spread, seed):
    U = _factor(n, r, seed, spread)
    F = U @ U.T
    shaped = shape_hessian(0.5 * (F + F.T), eps_norm=eps_norm)
    exact = kappa_exact(shaped.matrix).kappa
    est = kappa_floor_factor(U, shaped.shift)
    assert est.kappa >= exact * (1 - 1e-9)
    # Its eigenvalue bounds bracket the spectrum (the HHL executor's window).
    ev = np.linalg.eigvalsh(shaped.matrix)
    assert est.lambda_min <= ev[0] * (1 + 1e-9) and est.lambda_max >= ev[-1] * (1 - 1e-9)
    # And the certified λmax really bounds the factor's largest eigenvalue.
    assert factor_lambda_max_bound(U) >= np.linalg.norm(U, 2) ** 2 * (1 - 1e-9)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(3, 40),
    r=st.integers(1, 40),
    eps_norm=st.floats(1e-3, 10.0),
    ratio=st.floats(0.05, 1.0),
    order=st.sampled_from(["prune_then_regularize", "regularize_then_prune"]),
    mask=st.sampled_from(["union", "intersection"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_floor_on_a_pruned_block_is_an_upper_bound_or_inf(n, r, eps_norm, ratio, order, mask, seed):
    U = _factor(n, r, seed, 1.0)
    F = U @ U.T
    shaped = shape_hessian(
        0.5 * (F + F.T), eps_norm=eps_norm, prune_ratio=ratio, order=order, mask=mask
    )
    est = kappa_floor(shaped.matrix, shift=shaped.shift, removed_fro=shaped.removed_fro)
    exact = kappa_exact(shaped.matrix).kappa
    if math.isfinite(est.kappa):
        assert est.kappa >= exact * (1 - 1e-9)
        ev = np.linalg.eigvalsh(shaped.matrix)
        assert ev[0] > 0  # a finite floor certifies positive definiteness
    else:
        assert est.lambda_min is None


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 30),
    seed=st.integers(0, 2**32 - 1),
    shift=st.floats(1e-6, 1e3),
)
def test_floor_of_any_symmetric_matrix_never_undercuts_kappa(n, seed, shift):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n))
    A = A + A.T + shift * n * np.eye(n)  # sometimes diagonally dominant, sometimes not
    est = kappa_floor(A)
    if math.isfinite(est.kappa):
        assert est.kappa >= kappa_exact(A).kappa * (1 - 1e-9)


def test_floor_is_exact_for_a_rank_one_block_and_matches_the_paper_formula():
    u = np.array([[3.0], [4.0]])  # U·Uᵀ has λmax = 25 = ‖u‖²: the trace bound is tight
    est = kappa_floor_factor(u, 5.0)
    assert est.kappa == 6.0 == regularized_kappa_singular_psd(25.0, 1.0, 5.0)


def test_floor_is_cheaper_than_norm_det():
    for n, r in [(64, 32), (1024, 256), (23520, 2048)]:
        floor_dense, _ = estimator_work("floor", n, n)
        floor_factor, _ = estimator_work("floor", n, n, rank=r)
        paper, _ = estimator_work("norm_det", n, n)
        assert floor_factor < floor_dense < paper
        # A pruned block (d < n) has no usable factor: the dense bound, still O(N²).
        assert estimator_work("floor", n, n // 4, rank=r)[0] == floor_dense
    # The real estimate reports the same counts as the shape model.
    U = _factor(300, 40, 1, 1.0)
    assert kappa_floor_factor(U, 0.1).flops == estimator_work("floor", 300, 300, rank=40)[0]
    A = U @ U.T + 0.1 * np.eye(300)
    assert kappa_floor(A).flops == estimator_work("floor", 300, 300)[0]


def test_floor_refuses_a_non_positive_shift():
    with pytest.raises(ValueError):
        kappa_floor_factor(np.ones((3, 1)), 0.0)
    with pytest.raises(ValueError):
        kappa_floor(np.eye(3), shift=-1.0)
