"""Work reused or computed ahead in the training path (issue 15, items 3 and 4) gives exactly
the numbers computed the plain way: every cache, shortcut and batched draw here is compared bit
for bit with what it replaces."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import lapack

import hybridsim
from hybridsim.costs.classical import ClassicalForm
from hybridsim.costs.model import CostModel
from hybridsim.linalg import conditioning
from hybridsim.linalg.conditioning import (
    _max_asymmetry,
    estimate_kappa,
    kappa_hager_higham,
    kappa_lanczos,
    kappa_paper,
)
from hybridsim.linalg.solvers import LUFactor
from hybridsim.scenario import load_scenario
from hybridsim.sim import training
from hybridsim.workload.shapes import KappaTrajectory, kappa_step, kappa_steps

ROOT = Path(__file__).resolve().parent.parent


# --- κ drawn many steps ahead ------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    first=st.integers(0, 30),
    count=st.integers(0, 12),
    n_blocks=st.integers(1, 9),
    sigma=st.sampled_from([0.0, 0.3, 1.5]),
    seed=st.integers(0, 2**32 - 1),
    replay=st.booleans(),
)
def test_kappa_steps_rows_are_kappa_step_calls(first, count, n_blocks, sigma, seed, replay):
    n_steps = first + count + 3
    if replay:
        values = tuple(tuple(10.0 ** (3 - 0.1 * s + 0.01 * b) for b in range(9)) for s in range(7))
        traj = KappaTrajectory("replay", values=values, scatter_sigma=sigma)
    else:
        traj = KappaTrajectory("geometric", kappa_start=1e5, total_drop=300.0, scatter_sigma=sigma)
    ahead, one = np.random.default_rng(seed), np.random.default_rng(seed)
    grid = kappa_steps(traj, first, count, n_steps, n_blocks, ahead)
    assert grid.shape == (count, n_blocks)
    for i in range(count):
        row = kappa_step(traj, first + i, n_steps, n_blocks, one)
        assert grid[i].tobytes() == row.tobytes()
    # the stream is left where step-by-step draws leave it
    assert ahead.bit_generator.state == one.bit_generator.state


def _shape_run(steps: int, **workload) -> hybridsim.RunResult:
    sc = load_scenario(
        ROOT / "scenarios/paper-bert-tiny.toml",
        overrides=[f"workload.steps={steps}", *(f"workload.{k}={v}" for k, v in workload.items())],
    )
    return hybridsim.run(sc)


@pytest.mark.parametrize("ahead", [1, 5])
def test_shape_run_records_do_not_depend_on_how_far_ahead_kappa_is_priced(monkeypatch, ahead):
    reference = _shape_run(12, tenants=2)
    monkeypatch.setattr(training, "_PRIME_STEPS", ahead)
    other = _shape_run(12, tenants=2)
    assert other.jobs == reference.jobs
    assert other.steps == reference.steps
    assert (
        other.summary["kappa_clipped_block_steps"] == reference.summary["kappa_clipped_block_steps"]
    )


# --- primed predictions --------------------------------------------------------------------------


def _cost_scenario(**costs):
    return load_scenario(
        {
            "cluster": {"gpu": [{"name": "g"}], "qpu": [{"name": "q", "preset": "attosecond"}]},
            "workload": {"kind": "shapes", "model": "bert-tiny", "steps": 1},
            "costs": costs,
        }
    )


def _same(a, b) -> bool:
    """Field-by-field equality, NaN equal to NaN (an infinite κ gives inf − inf in both paths)."""
    fa, fb = [getattr(a, f.name) for f in fields(a)], [getattr(b, f.name) for f in fields(b)]
    return all(x == y or (x != x and y != y) for x, y in zip(fa, fb, strict=True))


@settings(max_examples=40, deadline=None)
@given(
    kappas=st.lists(
        st.one_of(st.floats(1.0, 1e12), st.just(math.inf), st.none()), min_size=1, max_size=40
    ),
    accounting=st.sampled_from(["paper", "full"]),
    method=st.sampled_from(["auto", "lu", "cg", "woodbury"]),
)
def test_primed_predictions_equal_scalar_ones(kappas, accounting, method):
    sc = _cost_scenario(accounting=accounting, classical_method=method)
    g, q = sc.cluster.gpu[0], sc.cluster.qpu[0]
    sizes = [64, 4096, 300, 49152]
    forms = [
        ClassicalForm(
            sizes[i % 4],
            sizes[i % 4],
            rank=128 if i % 3 else None,
            spd=i % 5 != 0,
            assembled=i % 2 == 0,
            factored=i % 7 == 0,
        )
        for i in range(len(kappas))
    ]
    n = [f.n for f in forms]
    d = [max(1, f.n // 10) for f in forms]
    primed = CostModel(sc.costs)
    for k_i, n_i, d_i in zip(kappas, n, d, strict=True):
        if k_i is not None:
            assert primed.cached_quantum(n_i, d_i, k_i, q) is None  # nothing computed yet
    out = primed.prime(n, d, kappas, sc.cluster.groups, forms=forms)
    fresh = CostModel(sc.costs)
    for i, (f, k) in enumerate(zip(forms, kappas, strict=True)):
        try:
            want = fresh.classical(f.n, f.d, k, g, form=f)
        except Exception as exc:  # noqa: BLE001 - the scalar call's error is the reference
            with pytest.raises(type(exc)):
                primed.classical(f.n, f.d, k, g, form=f)
            continue
        assert _same(primed.classical(f.n, f.d, k, g, form=f), want)
        assert _same(out[g.name][i], want)
    for k, n_i, d_i in zip(kappas, n, d, strict=True):
        if k is None or not math.isfinite(k):
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            want = fresh.quantum(n_i, d_i, k, q)
        assert _same(primed.cached_quantum(n_i, d_i, k, q), want)
        assert _same(primed.quantum(n_i, d_i, k, q), want)


# --- one factorization per block -----------------------------------------------------------------


def _fisher_like(n: int, r: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n, r)) * rng.lognormal(0.0, 1.0, n)[:, None]
    H = U @ U.T
    H[np.diag_indices_from(H)] += 0.1 * float(np.max(np.abs(H)))
    return H


@pytest.mark.parametrize("estimator", [kappa_paper, kappa_hager_higham])
@pytest.mark.parametrize("scale", [1.0, 2.0**-40, 3.0e7])
def test_lanczos_reusing_an_estimators_lu_gives_the_same_estimate(estimator, scale):
    A = _fisher_like(544, 40, 3) * scale  # above LANCZOS_DENSE_BELOW: the shift-invert path
    factor = estimator(A).factor
    assert factor is not None
    plain = kappa_lanczos(A)
    reused = kappa_lanczos(A, factor=factor)
    assert reused == plain
    assert (reused.lambda_min, reused.lambda_max) == (plain.lambda_min, plain.lambda_max)


def test_lanczos_ignores_a_factor_of_another_scaling():
    A = _fisher_like(520, 30, 5)
    f = kappa_paper(A).factor
    wrong = LUFactor(np.eye(A.shape[0]), np.arange(A.shape[0], dtype=np.int32), f.exponent + 1)
    assert kappa_lanczos(A, factor=wrong) == kappa_lanczos(A)


@pytest.mark.parametrize("name", ["norm_det", "hager_higham", "lanczos", "exact", "floor"])
def test_true_kappa_reusing_the_estimate_is_the_plain_true_kappa(name):
    for n in (40, 530):
        S = _fisher_like(n, 24, n)
        est = estimate_kappa(S, name)
        assert training._true_kappa_reusing(S, est, name) == training._true_kappa(S)
    assert training._true_kappa_reusing(S, None, name) == training._true_kappa(S)


def _norm_det_plainly(A: np.ndarray):
    """The norm/det bound and LU as first written: |A| for the max, getrf copying A·2⁻ᵉ itself,
    ‖A·2⁻ᵉ‖_F² from a squares temporary."""
    n = A.shape[0]
    amax = float(np.max(np.abs(A)))
    if amax == 0.0:
        return math.inf, None
    e = math.frexp(amax)[1]
    As = np.ldexp(A, -e)
    lu, piv, info = lapack.dgetrf(As)
    if info != 0:
        return math.inf, None
    with np.errstate(divide="ignore"):
        logabsdet = float(np.cumsum(np.log(np.abs(np.diagonal(lu))))[-1])
    if not math.isfinite(logabsdet):
        return math.inf, None
    log_y = min(n * (math.log(n) - math.log(float(np.sum(As * As)))) + 2.0 * logabsdet, 0.0)
    return math.log1p(math.sqrt(-math.expm1(log_y))) - 0.5 * log_y, (lu, piv, e)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 120),
    layout=st.sampled_from(["C", "F", "strided", "symmetric"]),
    exponent=st.integers(-1060, 1000),
    singular=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_norm_det_writes_fewer_arrays_and_gives_the_same_bits(n, layout, exponent, singular, seed):
    rng = np.random.default_rng(seed)
    A = (
        rng.standard_normal((2 * n, 2 * n))[::2, ::2]
        if layout == "strided"
        else rng.standard_normal((n, n))
    )
    if layout == "symmetric":
        A = A + A.T
    if singular and n > 1:
        A[-1] = A[0]
    A = np.ldexp(A, exponent)
    if layout == "F":
        A = np.asfortranarray(A)
    bound, factor = conditioning._norm_det_with_lu(A)
    ref_bound, ref = _norm_det_plainly(A)
    assert bound == ref_bound
    assert (factor is None) == (ref is None)
    if ref is not None:
        assert factor.lu.tobytes(order="A") == ref[0].tobytes(order="A")
        assert np.array_equal(factor.piv, ref[1]) and factor.exponent == ref[2]
    assert kappa_paper(A).kappa == (math.inf if bound > 709.0 else math.exp(bound))


def test_norm_det_refuses_non_finite_matrices_and_bounds_a_zero_one_by_inf():
    for bad in (math.nan, math.inf, -math.inf):
        A = np.eye(3)
        A[1, 2] = bad
        with pytest.raises(ValueError, match="non-finite"):
            kappa_paper(A)
    assert kappa_paper(np.zeros((3, 3))).kappa == math.inf


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
    kick=st.floats(0.0, 1.0),
)
def test_tiled_asymmetry_is_the_whole_matrix_one(n, seed, kick):
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n, 5))
    A = U @ U.T
    if n > 1:
        i, j = rng.integers(0, n, 2)
        A[i, j] += kick
    assert _max_asymmetry(A) == float(np.max(np.abs(A - A.T)))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        # what a step's medians are of: κ, sparsity d, solution errors (never -0.0, whose place
        # among equal zeros a sort may choose differently)
        st.one_of(st.floats(allow_nan=False).map(abs), st.integers(0, 10**6).map(float)),
        max_size=41,
    )
)
def test_step_median_is_numpys(xs):
    got = training._median(xs)
    if not xs:
        assert got is None
        return
    want = float(np.median(xs))
    assert got == want or (math.isnan(got) and math.isnan(want))


def test_step_median_with_nan_is_numpys():
    assert math.isnan(training._median([1.0, float("nan"), 3.0]))


# --- what a symmetric block spares -----------------------------------------------------------


def _same_estimate(a, b) -> bool:
    """Two KappaEstimates are the same bits, their LUs included."""
    if a != b or (a.factor is None) != (b.factor is None):
        return False
    if a.factor is None:
        return True
    return (
        a.factor.lu.tobytes(order="A") == b.factor.lu.tobytes(order="A")
        and np.array_equal(a.factor.piv, b.factor.piv)
        and a.factor.exponent == b.factor.exponent
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 140),
    name=st.sampled_from(["norm_det", "hager_higham", "lanczos", "exact", "floor"]),
    layout=st.sampled_from(["C", "F"]),
    exponent=st.integers(-1060, 1000),
    singular=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_symmetric_matrix_said_so_gets_the_same_estimate(
    n, name, layout, exponent, singular, seed
):
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((n, max(1, n // 3 if singular else n)))
    A = np.ldexp(U @ U.T + (0.0 if singular else 0.1) * np.eye(n), exponent)
    A = 0.5 * (A + A.T)
    if layout == "F":
        A = np.asfortranarray(A)
    kept = A.copy()
    said = estimate_kappa(A, name, symmetric=True)
    looked = estimate_kappa(A, name)
    assert _same_estimate(said, looked)
    assert np.array_equal(A, kept)  # nobody's in-place factorization reached the caller's array


def test_the_symmetric_lanczos_path_gives_the_same_bits_above_the_dense_size():
    A = _fisher_like(560, 40, 9)
    f = kappa_paper(A, symmetric=True).factor
    assert (
        kappa_lanczos(A, factor=f, symmetric=True)
        == kappa_lanczos(A, factor=f)
        == (kappa_lanczos(A))
    )
    assert training._true_kappa(A, f) == training._true_kappa(A)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    r=st.integers(1, 30),
    eps_norm=st.floats(0.0, 10.0),
    ratio=st.floats(0.05, 1.0),
    order=st.sampled_from(["prune_then_regularize", "regularize_then_prune"]),
    mask=st.sampled_from(["union", "intersection"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_shaped_blocks_are_exactly_symmetric(n, r, eps_norm, ratio, order, mask, seed):
    """What the trainer's ``symmetric=True`` rests on: a training block (a symmetrized Gram
    matrix) stays exactly symmetric through regularization and pruning in every order."""
    from hybridsim.linalg.shaping import shape_hessian
    from hybridsim.workload.mlp import _make_block

    rng = np.random.default_rng(seed)
    R = rng.standard_normal((r, n)) * rng.lognormal(0.0, 1.0, n)
    g = [np.zeros(n)]
    block = _make_block("W", [(0, np.arange(n))], R.T @ R, g, 0.01 * (seed % 2))
    assert np.array_equal(block.matrix, block.matrix.T)
    shaped = shape_hessian(
        block.matrix, eps_norm=eps_norm, prune_ratio=ratio, order=order, mask=mask
    )
    for S in (shaped.matrix, shaped.regularized):
        assert np.array_equal(S, S.T)
