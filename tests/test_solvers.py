"""The classical solvers GPU jobs run: every method against a dense solve of the same block."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridsim.errors import ModelDomainError, SolverError
from hybridsim.linalg import solvers
from hybridsim.linalg.conditioning import kappa_hager_higham, kappa_paper
from hybridsim.linalg.shaping import shape_hessian


def fisher_block(n, r, rng, eps_norm=0.05, scale=1.0):
    """A regularized empirical-Fisher-like block U·Uᵀ + c·I, its factor and shift."""
    U = rng.standard_normal((n, r)) * scale * rng.lognormal(0.0, 1.0, (n, 1)) / np.sqrt(r)
    F = U @ U.T
    F = 0.5 * (F + F.T)
    shaped = shape_hessian(F, eps_norm=eps_norm)
    return shaped.matrix, U, shaped.shift


def rel(x, ref):
    s = 1.0 / np.max(np.abs(ref))  # norms of tiny or huge vectors under/overflow
    return float(np.linalg.norm((x - ref) * s) / np.linalg.norm(ref * s))


@pytest.mark.parametrize("n,r", [(40, 8), (200, 32), (120, 150), (64, 1)])
def test_every_method_agrees_with_a_dense_solve(n, r):
    rng = np.random.default_rng(n + r)
    H, U, c = fisher_block(n, r, rng)
    b = rng.standard_normal(n)
    ref = np.linalg.solve(H, b)
    tight = 1e-13  # CG's tolerance: the cost model's ε; tight here to compare answers
    answers = {
        "lu": solvers.solve_lu(H, b),
        "cholesky": solvers.solve_cholesky(H, b),
        "cg": solvers.solve_cg(H, b, rtol=tight),
        "woodbury": solvers.solve_woodbury(U, c, b),
        "cg_matrix_free": solvers.solve_cg_matrix_free(U, c, b, rtol=tight),
    }
    for name, x in answers.items():
        assert rel(x, ref) < 1e-8, name


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 60),
    r=st.integers(1, 40),
    log_c=st.floats(-3.0, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_woodbury_matches_dense_for_any_shift_and_rank(n, r, log_c, seed):
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n, r))
    c = 10.0**log_c
    H = U @ U.T + c * np.eye(n)
    b = rng.standard_normal(n)
    ref = np.linalg.solve(H, b)
    # Agreement to a few ulps of the conditioning involved: the block's own κ(H), and Woodbury's
    # r×r capacitance matrix c·I + UᵀU, whose condition (σ_max² + c)/c exceeds κ(H) when r > n
    # (UᵀU is then singular): its Cholesky solve is where Woodbury's rounding error enters.
    kappa = max(np.linalg.cond(H), np.linalg.cond(c * np.eye(r) + U.T @ U))
    assert rel(solvers.solve_woodbury(U, c, b), ref) < 1e-13 * kappa + 1e-12


def test_cg_stops_at_its_relative_residual():
    rng = np.random.default_rng(1)
    H, _, _ = fisher_block(100, 20, rng)
    b = rng.standard_normal(100)
    x, its = solvers.conjugate_gradient(lambda v: H @ v, b, rtol=1e-6)
    assert np.linalg.norm(b - H @ x) <= 1e-6 * np.linalg.norm(b)
    assert 1 <= its <= 100
    assert solvers.conjugate_gradient(lambda v: H @ v, np.zeros(100), rtol=1e-6)[1] == 0


def test_cg_refuses_an_indefinite_matrix_and_cholesky_raises():
    A = np.diag([1.0, -1.0, 2.0])
    b = np.array([0.0, 1.0, 0.0])
    with pytest.raises(SolverError, match="not positive definite"):
        solvers.solve_cg(A, b, rtol=1e-8)
    with pytest.raises(np.linalg.LinAlgError):
        solvers.solve_cholesky(A, b)
    with pytest.raises(SolverError, match="did not reach"):
        solvers.conjugate_gradient(
            lambda v: v * np.array([1.0, 1e12]), np.ones(2), rtol=1e-15, maxiter=1
        )


def test_factor_methods_check_their_inputs():
    U = np.ones((3, 1))
    with pytest.raises(ModelDomainError, match="shift"):
        solvers.solve_woodbury(U, 0.0, np.ones(3))
    with pytest.raises(ModelDomainError, match="right-hand side"):
        solvers.solve_woodbury(U, 1.0, np.ones(4))
    with pytest.raises(ModelDomainError, match="N×r"):
        solvers.solve_cg_matrix_free(np.ones(3), 1.0, np.ones(3), rtol=1e-6)


@pytest.mark.parametrize("estimator", [kappa_paper, kappa_hager_higham])
@pytest.mark.parametrize("scale", [1.0, 3e-9, 7e150])
def test_reusing_an_estimators_lu_gives_the_same_bits(estimator, scale):
    rng = np.random.default_rng(7)
    H, _, _ = fisher_block(150, 30, rng, scale=scale)
    b = rng.standard_normal(150)
    factor = estimator(H).factor
    assert factor is not None and factor.n == 150
    fresh = solvers.solve_lu(H, b)
    reused = solvers.solve_lu(None, b, factor=factor)
    assert np.array_equal(fresh, reused)
    assert rel(reused, np.linalg.solve(H, b)) < 1e-10


def test_singular_blocks_leave_no_factor():
    assert kappa_paper(np.array([[1.0, 2.0], [2.0, 4.0]])).factor is None
    assert kappa_hager_higham(np.zeros((3, 3))).factor is None
