"""Exact κ₂ of a low-rank-plus-shift block H̃ = U·Uᵀ + c·I from its factor (kappa_exact_factor),
against independent references: LAPACK's dense symmetric eigensolver (numpy.linalg.eigvalsh) and
singular values (kappa_exact, gesdd) of the formed N×N block; and the records' true κ of a
training run, which takes this route for the large unpruned blocks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hybridsim
from hybridsim.errors import ModelDomainError
from hybridsim.linalg.conditioning import (
    LANCZOS_DENSE_BELOW,
    kappa_exact,
    kappa_exact_factor,
    kappa_lanczos,
)
from hybridsim.linalg.shaping import shape_hessian
from hybridsim.sim import training

ROOT = Path(__file__).resolve().parent.parent
EPS = np.finfo(float).eps


def _factor(n, r, seed, spread, rank=None):
    """An N×r factor with rows of very different sizes (as per-sample gradients have) and, with
    ``rank``, only that many independent columns."""
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n, r)) * rng.lognormal(0.0, spread, (n, 1))
    if rank is not None and rank < r:
        U = U[:, :rank] @ rng.standard_normal((rank, r))
    return U


def _dense(U, c):
    H = U @ U.T
    H = 0.5 * (H + H.T)
    H[np.diag_indices_from(H)] += c
    return H


def _reference(U, c):
    """(κ₂, λmin, λmax) of the formed block from LAPACK's dense eigensolver, and the tolerance
    such a reference itself carries: its eigenvalues are off by ~N·ε·‖H̃‖ absolute, so λmin (≥ c)
    and κ by ~N·ε·κ relative."""
    ev = np.linalg.eigvalsh(_dense(U, c))
    kappa = ev[-1] / ev[0]
    return kappa, ev[0], ev[-1], 1e-12 + 64 * U.shape[0] * EPS * kappa


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(1, 60),
    r=st.integers(1, 80),
    rel_shift=st.floats(1e-4, 10.0),
    spread=st.floats(0.0, 2.0),
    rank=st.one_of(st.none(), st.integers(1, 80)),
    scale=st.integers(-40, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_exact_factor_matches_the_dense_eigensolver(n, r, rel_shift, spread, rank, scale, seed):
    U = np.ldexp(_factor(n, r, seed, spread, rank), scale)
    c = rel_shift * float(np.max(np.abs(U))) ** 2 + 2.0 ** (2 * scale - 60)  # never 0
    est = kappa_exact_factor(U, c)
    kappa, lo, hi, tol = _reference(U, c)
    assert est.method == "exact" and est.norm == 2
    assert est.kappa == pytest.approx(kappa, rel=tol)
    assert est.lambda_min == pytest.approx(lo, rel=tol)
    assert est.lambda_max == pytest.approx(hi, rel=1e-12 + 64 * n * EPS)
    # the singular values (another LAPACK route) agree too
    assert est.kappa == pytest.approx(kappa_exact(_dense(U, c)).kappa, rel=tol)
    if r < n:  # U·Uᵀ is singular: the bottom of the spectrum is the shift itself, exactly
        assert est.lambda_min == c


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 40),
    r=st.integers(1, 40),
    rel_shift=st.floats(1e-3, 10.0),
    k=st.integers(-500, 500),
    seed=st.integers(0, 2**32 - 1),
)
def test_exact_factor_is_scale_invariant_far_out_of_range(n, r, rel_shift, k, seed):
    """κ(2ᵏ·U, 4ᵏ·c) = κ(U, c): U·Uᵀ would overflow (k = 500) or underflow (k = −500) if formed
    as is; the power-of-two scaling inside keeps it exact."""
    U = _factor(n, r, seed, 1.0)
    c = rel_shift * float(np.max(np.abs(U))) ** 2
    base = kappa_exact_factor(U, c)
    far = kappa_exact_factor(np.ldexp(U, k), math.ldexp(c, 2 * k))
    assert far.kappa == pytest.approx(base.kappa, rel=1e-13)
    assert far.lambda_min == pytest.approx(math.ldexp(base.lambda_min, 2 * k), rel=1e-13)
    assert far.lambda_max == pytest.approx(math.ldexp(base.lambda_max, 2 * k), rel=1e-13)


def test_exact_factor_limits_of_the_float_range():
    U = _factor(20, 5, 3, 1.0)
    # U negligible against c: H̃ = c·I to the last bit
    tiny = kappa_exact_factor(np.ldexp(U, -1060), 1.0)
    assert (tiny.kappa, tiny.lambda_min, tiny.lambda_max) == (1.0, 1.0, 1.0)
    # U·Uᵀ beyond the float range against an ordinary c: κ overflows
    huge = kappa_exact_factor(np.ldexp(U, 600), 1.0)
    assert huge.kappa == math.inf and huge.lambda_max == math.inf and huge.lambda_min == 1.0
    # r ≥ N and U huge against c: κ = λmax/λmin of U·Uᵀ alone, which is finite
    W = _factor(5, 20, 4, 0.0)
    ev = np.linalg.eigvalsh(W @ W.T)
    assert kappa_exact_factor(np.ldexp(W, 600), 1e-300).kappa == pytest.approx(
        ev[-1] / ev[0], rel=1e-10
    )
    assert kappa_exact_factor(np.zeros((4, 2)), 0.5).kappa == 1.0  # H̃ = c·I


def test_exact_factor_small_cases_by_hand():
    assert kappa_exact_factor(np.array([[3.0], [4.0]]), 5.0).kappa == 6.0  # (25 + 5)/5
    # r = N = 2, U = diag(2, 1): H̃ = diag(4 + c, 1 + c)
    est = kappa_exact_factor(np.diag([2.0, 1.0]), 1.0)
    assert (est.kappa, est.lambda_min, est.lambda_max) == (2.5, 2.0, 5.0)
    # r > N: U·Uᵀ = diag(1 + 4, 9) from the columns (1, 0), (2, 0), (0, 3)
    est = kappa_exact_factor(np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]]), 1.0)
    assert est.kappa == pytest.approx(10.0 / 6.0, rel=1e-15)


def test_exact_factor_refuses_bad_input():
    for U, c in [
        (np.ones((3, 1)), 0.0),
        (np.ones((3, 1)), -1.0),
        (np.ones((3, 1)), math.nan),
        (np.ones((3, 1)), math.inf),
        (np.array([[1.0], [math.nan]]), 1.0),
        (np.array([[1.0], [math.inf]]), 1.0),
        (np.ones((0, 2)), 1.0),
        (np.ones(3), 1.0),
    ]:
        with pytest.raises(ModelDomainError):
            kappa_exact_factor(U, c)


def test_exact_factor_work_is_far_below_the_dense_and_lanczos_routes():
    est = kappa_exact_factor(_factor(1024, 256, 1, 1.0), 1.0)
    assert est.flops == 1024 * 256 * 257 + 4.0 / 3.0 * 256**3
    assert est.flops < 0.2 * (4.0 / 3.0 * 1024**3)  # a dense eigvalsh of the N×N block
    assert est.bytes_touched == 8.0 * 1024 * 256 + 16.0 * 256**2


def test_exact_factor_is_far_closer_than_lanczos_on_a_fisher_like_block():
    """The route it replaces in the records was good to ~1e-4; this one to ~1e-13."""
    U = _factor(LANCZOS_DENSE_BELOW + 88, 150, 7, 1.0)
    c = 0.1 * float(np.max(np.abs(U @ U.T)))
    kappa, _, _, _ = _reference(U, c)
    exact = kappa_exact_factor(U, c).kappa
    assert exact == pytest.approx(kappa, rel=1e-12)
    assert abs(exact - kappa) <= abs(kappa_lanczos(_dense(U, c)).kappa - kappa)


# --- the records' true κ in a training run ---------------------------------------------------


def _digits_step_one_blocks():
    """The quickstart's first Newton step's blocks (tenant 0, seed 1), as the trainer builds
    them: the same streams and initial parameters."""
    from hybridsim.rng import stream
    from hybridsim.workload.datasets import batches, load_dataset
    from hybridsim.workload.mlp import MLPSpec, hessian_blocks, init_params

    ds = load_dataset("digits", rng=stream(1, "data/0"))
    spec = MLPSpec((ds.n_features, 16, ds.n_classes), "tanh")
    params = init_params(spec, stream(1, "init/0"))
    idx = next(iter(batches(len(ds.y_train), 256, stream(1, "batches/0"))))
    return hessian_blocks(spec, params, ds.X_train[idx], ds.y_train[idx], kind="fisher")


def test_true_kappa_factor_takes_the_factor_route_only_where_it_replaces_lanczos():
    blocks = {b.name: b for b in _digits_step_one_blocks()}
    w1 = blocks["W1"]  # N = 1024, r = 256
    assert (w1.n, w1.rank) == (1024, 256)
    shaped = shape_hessian(w1.matrix, eps_norm=0.1)
    shift = w1.diag_shift + shaped.shift
    got = training._true_kappa_factor(w1, shift)
    ev = np.linalg.eigvalsh(shaped.matrix)  # the independent reference: all 1024 eigenvalues
    assert got == float(f"{ev[-1] / ev[0]:.10g}")  # every recorded digit is right
    # below N = 512 (dense eigvalsh already) and for r >= N the other routes stay
    for name in ("W2", "b1", "b2"):
        assert training._true_kappa_factor(blocks[name], shift) is None


def test_a_training_run_records_the_exact_true_kappa_of_the_large_block():
    """Regression: the quickstart's W1 (N = 1024) was recorded from a Lanczos run, 52.388921…
    at step 1 where the block's κ₂ is 52.388925…"""
    result = hybridsim.run(
        ROOT / "scenarios/quickstart.toml",
        overrides=["workload.steps=1", "workload.baselines=[]"],
    )
    (job,) = [j for j in result.jobs if j.block == "W1" and j.step == 1]
    w1 = next(b for b in _digits_step_one_blocks() if b.name == "W1")
    ev = np.linalg.eigvalsh(shape_hessian(w1.matrix, eps_norm=0.1).matrix)
    assert job.kappa_true == float(f"{ev[-1] / ev[0]:.10g}") == 52.38892573
    # the small blocks keep their dense-eigvalsh values, unrounded
    small = [j for j in result.jobs if j.step == 1 and j.n < LANCZOS_DENSE_BELOW]
    assert small and all(j.kappa_true != float(f"{j.kappa_true:.10g}") for j in small)


def test_a_pruned_block_keeps_lanczos_for_its_quantum_form_and_the_exact_route_for_its_classical(
    monkeypatch,
):
    jobs = []
    submit = training._submit_all

    def spy(host, step_jobs, home, quantum_work):
        jobs.extend(step_jobs)
        return submit(host, step_jobs, home, quantum_work)

    monkeypatch.setattr(training, "_submit_all", spy)
    hybridsim.run(
        ROOT / "scenarios/quickstart.toml",
        overrides=["workload.steps=1", "workload.baselines=[]", "workload.prune_ratio=0.5"],
    )
    (job,) = [j for j in jobs if j.block == "W1"]
    s = job.structure
    assert s.pruned and s.shift is not None
    # the pruned matrix the QPU would see has no factor: Lanczos, as before
    assert job.kappa_true == training._true_kappa(job.matrix)
    # the classical form is U·Uᵀ + c·I: exact from the factor, checked against all eigenvalues
    ev = np.linalg.eigvalsh(s.dense())
    assert s.kappa_true == float(f"{ev[-1] / ev[0]:.10g}")
