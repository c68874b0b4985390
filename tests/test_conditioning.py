"""κ estimators: the paper's bound, Hager–Higham, Lanczos, exact, and their work models."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from hybridsim.errors import ModelDomainError
from hybridsim.linalg import conditioning as C
from hybridsim.linalg.conditioning import (
    ESTIMATORS,
    KappaEstimate,
    estimate_kappa,
    estimator_work,
    kappa_exact,
    kappa_hager_higham,
    kappa_lanczos,
    kappa_norm_det_bound,
    kappa_paper,
    log_kappa_norm_det_bound,
)


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # Multithreaded OpenBLAS on a small shared machine can be 100x slower when another process
    # holds a core; one thread keeps these tests fast and changes no result.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def spd_with_spectrum(eigs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(eigs)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (q * eigs) @ q.T
    return (a + a.T) / 2


def true_kappa2(a: np.ndarray) -> float:
    s = np.linalg.svd(a, compute_uv=False)
    return float(s[0] / s[-1])


# --- the paper's norm/determinant bound -------------------------------------------------------


def test_norm_det_2x2_reference_value():
    assert kappa_norm_det_bound([[1.0, 2.0], [3.0, 4.0]]) == pytest.approx(14.933, abs=5e-4)


def test_norm_det_exact_for_2x2_by_hand():
    # [[2, 0], [0, 1]]: ‖A‖_F² = 5, det = 2, y = (2/5)²·4 = 16/25, bound = (1 + 3/5)/(4/5) = 2.
    assert kappa_norm_det_bound([[2.0, 0.0], [0.0, 1.0]]) == pytest.approx(2.0, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(1e-6, 1e6))
def test_norm_det_exact_for_random_2x2(seed, scale):
    a = np.random.default_rng(seed).standard_normal((2, 2)) * scale
    if abs(np.linalg.det(a)) < 1e-8 * scale**2:
        return  # too close to singular for a 1e-7 comparison
    assert kappa_norm_det_bound(a) == pytest.approx(true_kappa2(a), rel=1e-7)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(2, 40),
    seed=st.integers(0, 2**32 - 1),
    log_kappa=st.floats(0.0, 8.0),
    kind=st.sampled_from(["spd", "nonsymmetric"]),
)
def test_norm_det_never_below_true_kappa(n, seed, log_kappa, kind):
    rng = np.random.default_rng(seed)
    if kind == "spd":
        a = spd_with_spectrum(np.geomspace(1.0, 10.0**log_kappa, n), rng)
    else:
        a = rng.standard_normal((n, n))
    kappa = true_kappa2(a)
    # The SVD's σmin carries a relative rounding error of order κ·u, the 2×2 bound is tight, so
    # the comparison allows that much. Near κ = 1 the bound itself is ill-conditioned: 1 - y is
    # about (κ - 1)², below the rounding of log y, so √(1 - y) is only good to about √u.
    u = np.finfo(float).eps
    slack = kappa * (1e-9 + 64 * kappa * u) + 4 * np.sqrt(u)
    assert kappa_norm_det_bound(a) >= kappa - slack


def test_norm_det_finite_for_well_conditioned_1000():
    rng = np.random.default_rng(0)
    a = np.eye(1000) + 1e-3 * rng.uniform(-1, 1, (1000, 1000))
    bound = kappa_norm_det_bound(a)
    # The published formula evaluated independently: numpy's slogdet on A itself (no scaling,
    # no LU reuse), y = (N/‖A‖_F²)ᴺ·det², bound = (1 + √(1 − y))/√y; here y ≈ 0.716.
    sign, logdet = np.linalg.slogdet(a)
    y = math.exp(1000 * math.log(1000 / np.sum(a * a)) + 2 * logdet)
    assert sign == 1.0 and 0.5 < y < 0.9
    assert bound == pytest.approx((1 + math.sqrt(1 - y)) / math.sqrt(y), rel=1e-9)
    assert bound >= true_kappa2(a)  # ≈ 1.81 against κ₂ ≈ 1.05


def test_norm_det_singular_is_inf():
    assert kappa_norm_det_bound([[1.0, 2.0], [2.0, 4.0]]) == math.inf
    assert kappa_norm_det_bound(np.zeros((3, 3))) == math.inf


def test_norm_det_log_space_does_not_overflow():
    # det(diag(geomspace(1, 1e6, 600))) = 1e1800 overflows a plain det; the bound itself
    # (e^3156) is past the float range, so the log is finite and the bound is inf.
    a = np.diag(np.geomspace(1.0, 1e6, 600))
    log_b = log_kappa_norm_det_bound(a)
    assert math.isfinite(log_b) and log_b > math.log(1e6)
    assert log_b > 709 and kappa_norm_det_bound(a) == math.inf
    small = np.diag(np.geomspace(1.0, 10.0, 50))
    assert kappa_norm_det_bound(small) == pytest.approx(math.exp(log_kappa_norm_det_bound(small)))


def test_norm_det_is_scale_invariant():
    a = np.array([[3.0, 1.0, 0.5], [1.0, 2.0, 0.1], [0.5, 0.1, 1.0]])
    assert kappa_norm_det_bound(a * 1e-200) == pytest.approx(kappa_norm_det_bound(a), rel=1e-12)


def test_kappa_paper_wraps_bound_with_cost():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    est = kappa_paper(a)
    assert est.method == "norm_det"
    assert est.kappa == kappa_norm_det_bound(a)
    assert (est.flops, est.bytes_touched) == estimator_work("norm_det", 2, 2)


# --- Hager–Higham ------------------------------------------------------------------------------


def test_hager_higham_diagonal_is_exact():
    est = kappa_hager_higham(np.diag([4.0, 1.0, 0.5]))
    assert est.kappa == pytest.approx(8.0)
    assert est.norm == 1 and est.lambda_min is None


@pytest.mark.parametrize("seed", range(5))
def test_hager_higham_estimates_kappa1_from_below_within_factor_3(seed):
    a = np.random.default_rng(seed).standard_normal((30, 30))
    kappa1 = np.linalg.norm(a, 1) * np.linalg.norm(np.linalg.inv(a), 1)
    est = kappa_hager_higham(a).kappa
    assert kappa1 / 3 <= est <= kappa1 * (1 + 1e-9)


def test_hager_higham_singular_is_inf():
    assert kappa_hager_higham([[1.0, 2.0], [2.0, 4.0]]).kappa == math.inf


# --- extreme magnitudes: κ is scale-invariant, the estimators must be too ----------------------


@pytest.mark.parametrize("scale", [1e-310, 1e-320, 2.0**-1070, 1e-300, 1e300, 1e307])
@pytest.mark.parametrize("method", sorted(ESTIMATORS))
def test_estimators_on_subnormal_and_huge_matrices(method, scale):
    # 1e-310·diag(1, 2) is subnormal: gecon's reciprocal condition number used to underflow to 0
    # and Hager–Higham returned inf instead of 2.
    est = estimate_kappa(scale * np.diag([1.0, 2.0]), method)
    assert est.kappa == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("scale", [1e-310, 1e300])
def test_hager_higham_overflowing_norm(scale):
    a = scale * np.array([[1.0, 1.0], [0.0, 1.0]])  # ‖A‖₁ = 2·scale overflows for 1e308-ish
    assert kappa_hager_higham(a).kappa == pytest.approx(4.0)
    assert kappa_hager_higham(np.array([[1e308, 1e308], [0.0, 1e308]])).kappa == pytest.approx(4.0)


def test_scaling_by_powers_of_two_changes_no_bit():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((40, 40))
    base = kappa_hager_higham(a).kappa
    for e in (-900, -3, 7, 900):  # scaled entries stay normal numbers
        assert kappa_hager_higham(np.ldexp(a, e)).kappa == base


def test_lanczos_arpack_path_on_a_subnormal_matrix():
    # N >= LANCZOS_DENSE_BELOW takes the ARPACK path, whose shift-invert solves used to overflow
    # (ArpackError) on a subnormal matrix; eigenvalue bounds come back in the matrix's own scale.
    rng = np.random.default_rng(1)
    n = C.LANCZOS_DENSE_BELOW
    a = spd_with_spectrum(np.linspace(1.0, 10.0, n), rng)
    a = (a + a.T) / 2
    ref = kappa_lanczos(a)
    for scale in (1e-310, 2.0**-1000, 1e300):
        est = kappa_lanczos(a * scale)
        assert est.kappa == pytest.approx(ref.kappa, rel=1e-9)
        assert est.lambda_min == pytest.approx(ref.lambda_min * scale, rel=1e-9)
        assert est.lambda_max == pytest.approx(ref.lambda_max * scale, rel=1e-9)


# --- Lanczos -----------------------------------------------------------------------------------


# dense_below=64 sends the N = 200 cases through ARPACK while keeping the tests small.
@pytest.mark.parametrize("n", [20, 200])  # dense fallback and ARPACK path
def test_lanczos_matches_exact_on_spd(n):
    rng = np.random.default_rng(n)
    eigs = np.geomspace(1e-2, 10.0, n)
    a = spd_with_spectrum(eigs, rng)
    est = kappa_lanczos(a, rng=np.random.default_rng(0), dense_below=64)
    dense_path = est.flops == pytest.approx(4 / 3 * n**3)
    assert dense_path == (n < 64)
    assert est.kappa == pytest.approx(1e3, rel=1e-3)
    assert est.lambda_min == pytest.approx(1e-2, rel=1e-3)
    assert est.lambda_max == pytest.approx(10.0, rel=1e-3)


def test_lanczos_indefinite_uses_magnitudes():
    rng = np.random.default_rng(3)
    eigs = np.concatenate([-np.geomspace(0.5, 5.0, 100), np.geomspace(0.1, 2.0, 100)])
    est = kappa_lanczos(spd_with_spectrum(eigs, rng), dense_below=64)
    assert est.kappa == pytest.approx(50.0, rel=1e-3)
    assert est.lambda_min == pytest.approx(0.1, rel=1e-3)


def test_lanczos_sparse_pruned_matrix_counts_matvecs():
    rng = np.random.default_rng(4)
    n = 300
    a = np.diag(np.linspace(1.0, 100.0, n))
    i = rng.integers(0, n, 300)
    j = rng.integers(0, n, 300)
    a[i, j] += 0.01
    a[j, i] += 0.01
    est = kappa_lanczos(a, dense_below=64)
    assert est.kappa == pytest.approx(kappa_exact(a).kappa, rel=1e-3)
    lu = 2 / 3 * n**3
    # LU for shift-invert plus at least one solve and one sparse mat-vec, far below a dense SVD.
    assert lu + 2 * n**2 < est.flops < kappa_exact(a).flops


def test_lanczos_rejects_nonsymmetric():
    with pytest.raises(ModelDomainError):
        kappa_lanczos(np.array([[1.0, 2.0], [0.0, 1.0]]))


@pytest.mark.parametrize("n", [5, 200])
def test_lanczos_singular_is_inf(n):
    a = np.diag(np.arange(n, dtype=float))  # eigenvalue 0
    assert kappa_lanczos(a, dense_below=64).kappa == math.inf


# --- exact, registry, work model ---------------------------------------------------------------


def test_exact_symmetric_carries_eigen_bounds():
    est = kappa_exact(np.diag([3.0, -0.5]))
    assert est.kappa == pytest.approx(6.0)
    assert (est.lambda_min, est.lambda_max) == (pytest.approx(0.5), pytest.approx(3.0))
    assert kappa_exact([[1.0, 2.0], [3.0, 4.0]]).lambda_min is None


def test_registry_and_dispatch():
    assert set(ESTIMATORS) == {"norm_det", "hager_higham", "lanczos", "exact", "floor"}
    a = np.diag([1.0, 2.0, 4.0])
    for name in ESTIMATORS:
        est = estimate_kappa(a, name)
        assert isinstance(est, KappaEstimate) and est.method == name
        if name == "norm_det":  # an upper bound, exact only for 2×2
            assert est.kappa > 4.0
        else:  # on a diagonal matrix κ₁ = κ₂ and every other estimator is exact
            assert est.kappa == pytest.approx(4.0, rel=1e-6)
    with pytest.raises(ModelDomainError):
        estimate_kappa(a, "magic")
    with pytest.raises(TypeError):
        ESTIMATORS["x"] = kappa_exact  # read-only mapping


def test_kappa_estimate_is_frozen():
    est = kappa_exact(np.eye(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        est.kappa = 3.0


def test_estimator_work_hand_values():
    assert estimator_work("exact", 3, 3) == (72.0, 144.0)
    assert estimator_work("norm_det", 3, 1) == (36.0, 288.0)
    # 2/3·27 + 9 + 5·2·9 = 117 flops; (16 + 8 + 40)·9 = 576 bytes
    assert estimator_work("hager_higham", 3, 2) == (117.0, 576.0)
    assert estimator_work("lanczos", 3, 3) == (36.0, 144.0)  # dense path: 4/3·N³


def test_estimator_work_vectorized_and_matches_deterministic_estimators():
    n = np.array([16.0, 256.0, 2048.0])
    flops, bytes_ = estimator_work("lanczos", n, np.array([4.0, 16.0, 2048.0]))
    assert flops.shape == (3,) and np.all(np.diff(flops) > 0)
    a = np.random.default_rng(5).standard_normal((7, 7))
    for name in ("norm_det", "hager_higham", "exact"):
        est = estimate_kappa(a, name)
        assert (est.flops, est.bytes_touched) == estimator_work(name, 7, 7)
    with pytest.raises(ModelDomainError):
        estimator_work("exact", 4, 5)


def test_lanczos_model_constants_are_documented_assumptions():
    # The shape-only model and a real run agree within a small factor on a Fisher block at the
    # smallest size that takes the ARPACK path by default.
    n = C.LANCZOS_DENSE_BELOW
    rng = np.random.default_rng(6)
    g = rng.standard_normal((n, 64)) * rng.lognormal(0, 1, (n, 1))
    fisher = g @ g.T / 64 + 5e-3 * np.abs(g @ g.T / 64).max() * np.eye(n)
    real = kappa_lanczos(fisher).flops
    model, _ = estimator_work("lanczos", n, n)
    assert 0.5 < real / model < 2.0
