"""Work reused or computed ahead in the training path (issue 15, items 3 and 4) gives exactly
the numbers computed the plain way: every cache, shortcut and batched draw here is compared bit
for bit with what it replaces."""

from __future__ import annotations

import math
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
from hybridsim.linalg.structure import BlockStructure
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
    """Field-by-field equality of two records of one type, NaN equal to NaN (an infinite κ
    gives inf − inf in both paths), each value of the same type (an int where a float was
    would be written differently)."""
    assert type(a) is type(b)
    return all(
        (x == y or (x != x and y != y)) and type(x) is type(y) for x, y in zip(a, b, strict=True)
    )


@settings(max_examples=60, deadline=None)
@given(
    # drawn from a few values too, so that jobs repeat a κ (each distinct one is priced once)
    kappas=st.one_of(
        st.lists(
            st.one_of(st.floats(1.0, 1e12), st.just(math.inf), st.none()), min_size=1, max_size=40
        ),
        st.lists(st.sampled_from([2.0, 2.0**20, math.inf, None]), min_size=1, max_size=40),
    ),
    accounting=st.sampled_from(["paper", "full"]),
    method=st.sampled_from(["auto", "lu", "cg", "woodbury"]),
    period=st.sampled_from([1, 4, 420]),  # blocks repeat every `period` jobs (a shape step)
)
def test_primed_predictions_equal_scalar_ones(kappas, accounting, method, period):
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
        for i in (j % period for j in range(len(kappas)))
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


def test_prime_keeps_what_it_primed_when_the_memo_is_full(monkeypatch):
    """A memo near its bound is cleared before a prime adds to it, never between the GPU half
    and the QPU half, so every estimate a prime made is then read from the memo (regression:
    the QPU half's clear dropped the GPU estimates just primed, each recomputed alone)."""
    from hybridsim.costs import model

    monkeypatch.setattr(model, "_CACHE_LIMIT", 100)
    sc = _cost_scenario()
    g, q = sc.cluster.gpu[0], sc.cluster.qpu[0]
    costs = CostModel(sc.costs)
    form = ClassicalForm(64, 64, rank=128, spd=True, assembled=False)
    costs.prime(
        [64] * 30, [7] * 30, [1e3 + i for i in range(30)], sc.cluster.groups, forms=[form] * 30
    )
    kappas = [10.0 + i for i in range(20)]
    costs.prime([64] * 20, [7] * 20, kappas, sc.cluster.groups, forms=[form] * 20)

    def computed(*_args, **_kwargs):
        raise AssertionError("a primed estimate was computed again")

    monkeypatch.setattr(CostModel, "_choose_arrays", computed)
    monkeypatch.setattr(CostModel, "_quantum_arrays", computed)
    for k in kappas:
        costs.classical(64, 64, k, g, form=form)
        costs.quantum(64, 7, k, q)


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


# --- step statistics ------------------------------------------------------------------------------


def _plain_step_stats(flights):
    """The statistics as first written: one generator expression per statistic."""
    jobs = [f.job for f in flights]
    k_true = [j.kappa_true for j in jobs if j.kappa_true is not None]
    k_est = [j.kappa_est for j in jobs if j.kappa_est is not None]
    errors = [
        f.outcome.solution_error
        for f in flights
        if f.outcome is not None and f.outcome.solution_error is not None
    ]

    def med(xs):
        return float(np.median(xs)) if xs else None

    return {
        "blocks": len(flights),
        "routed_quantum": sum(1 for f in flights if f.decision.route == "quantum"),
        "hhl_jobs": sum(
            1 for f in flights if f.outcome is not None and f.outcome.solver.startswith("hhl")
        ),
        "kappa_true_median": med(k_true),
        "kappa_est_median": med(k_est),
        "kappa_true_max": max(k_true) if k_true else None,
        "kappa_est_max": max(k_est) if k_est else None,
        "d_median": med([float(j.d) for j in jobs]),
        "solution_error_max": max(errors) if errors else None,
        "failed_blocks": sum(1 for f in flights if f.status == "failed"),
    }


def _flights(draws, shared):
    """Finished flights from ``draws`` (κ, second κ, d, route, status, solver, error); with
    ``shared`` every job's estimate is its true κ, the same object, as in a shape run."""
    from hybridsim.execution import Outcome
    from hybridsim.scheduling.base import Decision, SolveJob
    from hybridsim.sim.devices import Flight

    flights = []
    for i, (k, k2, d, route, status, solver, err) in enumerate(draws):
        job = SolveJob(job_id=i, n=64, d=d, kappa_est=k if shared else k2, kappa_true=k)
        f = Flight(job, Decision(route, "g"), i, 0, 0, None)
        f.outcome = None if solver is None else Outcome(1.0, solver, solution_error=err)
        f.status = status
        flights.append(f)
    return flights


_kappas = st.one_of(st.none(), st.floats(1.0, 1e12), st.just(math.inf), st.just(math.nan))


@settings(max_examples=80, deadline=None)
@given(
    draws=st.lists(
        st.tuples(
            _kappas,
            _kappas,
            st.integers(1, 5000),
            st.sampled_from(["classical", "quantum"]),
            st.sampled_from(["done", "failed"]),
            st.sampled_from([None, "modelled", "numpy", "hhl", "hhl_signed", "trivial"]),
            st.one_of(st.none(), st.floats(0.0, 1.0)),
        ),
        max_size=45,
    ),
    shared=st.booleans(),
)
def test_step_stats_are_the_plain_statistics(draws, shared):
    flights = _flights(draws, shared)
    got, want = training.step_stats(flights), _plain_step_stats(flights)
    if not flights:
        want.pop("failed_blocks")
    assert got.keys() == want.keys()
    for key in want:
        assert _same_value(got[key], want[key]), key


@settings(max_examples=60, deadline=None)
@given(
    draws=st.lists(
        st.tuples(
            st.floats(1.0, 1e12),
            st.none(),
            st.integers(1, 5000),
            st.sampled_from(["classical", "quantum"]),
            st.sampled_from(["done", "failed"]),
            st.sampled_from([None, "modelled"]),
            st.none(),
        ),
        min_size=1,
        max_size=45,
    )
)
def test_a_shape_steps_statistics_from_what_it_knows_are_step_stats(draws):
    """The shape trainer passes its step's κ list (estimates = truth) and its blocks' d median
    instead of reading them back from the flights: the same statistics."""
    flights = _flights(draws, shared=True)
    kappas = [f.job.kappa_true for f in flights]
    d_median = training._median([float(d) for _, _, d, *_ in draws])
    got = training._step_stats(flights, kappas, kappas, d_median)
    want = training.step_stats(flights)
    assert got.keys() == want.keys()
    for key in want:
        assert _same_value(got[key], want[key]), key


def _same_value(a, b) -> bool:
    return type(a) is type(b) and (a == b or (a != a and b != b))


# --- records built from tuples --------------------------------------------------------------------


@given(pruned=st.booleans(), kappa=st.floats(1.0, 1e12), rank=st.sampled_from([None, 128]))
def test_a_shape_structure_is_the_keyword_built_one(pruned, kappa, rank):
    form = ClassicalForm(64, 64, rank=rank, spd=True)
    got = training._shape_structure(form, pruned, kappa)
    want = BlockStructure(form, pruned=pruned, kappa_est=kappa, kappa_true=kappa)
    assert type(got) is BlockStructure
    assert tuple.__eq__(got, want)  # field by field (BlockStructure compares by identity)


def test_block_structures_compare_and_hash_by_identity():
    """As the dataclass (eq=False) did: a structure's arrays have no equality, so comparing two
    structures (or the jobs holding them) must not compare arrays."""
    form = ClassicalForm(3, 3)
    a = BlockStructure(form, matrix=np.eye(3))
    b = BlockStructure(form, matrix=np.eye(3))
    assert a == a and a != b and (a == b) is False
    assert {a: 1, b: 2}[a] == 1 and hash(a) != hash(b)


def test_a_gpu_group_named_columns_prices_like_any_other():
    """Regression: the cost model kept the columns of a set of forms and a GPU group's κ-free
    method costs for that set under colliding keys when the group was named ``columns`` (a
    shape run then failed in its first prime)."""

    def rows(name):
        r = hybridsim.run(
            {
                "cluster": {
                    "gpu": [{"name": name}],
                    "qpu": [{"name": "q", "preset": "attosecond"}],
                },
                "workload": {"kind": "shapes", "model": "bert-tiny", "steps": 2},
            }
        )
        return [(j.route, j.method, j.predicted_classical_s, j.finished_at) for j in r.jobs]

    assert rows("columns") == rows("g")


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
