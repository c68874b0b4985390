"""Classical cost model: flops, CG iterations vs a real CG, roofline, transfers, calibration."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from threadpoolctl import threadpool_limits

from hybridsim.costs.classical import (
    ClassicalCost,
    calibrate,
    cg_flops,
    cg_iterations,
    cholesky_flops,
    classical_solve_time,
    host_device_transfer_s,
    lu_flops,
    payload_bytes,
    result_bytes,
    solve_bytes,
)
from hybridsim.costs.specs import GpuSpec
from hybridsim.errors import ModelDomainError

# --- flop counts -------------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    # Multithreaded OpenBLAS on a small shared machine can be 100x slower when another process
    # holds a core; one thread keeps these tests fast and changes no result.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def test_direct_flops_by_hand():
    assert lu_flops(3) == 2 / 3 * 27 + 18 == 36.0
    assert cholesky_flops(3) == 9 + 18 == 27.0
    assert lu_flops(1000) == pytest.approx(2 / 3 * 1e9 + 2e6)


def test_flops_vectorized():
    out = lu_flops(np.array([3.0, 6.0]))
    assert isinstance(out, np.ndarray) and out.tolist() == [36.0, 216.0]
    assert isinstance(lu_flops(3), float)


def test_cg_iterations_by_hand():
    assert cg_iterations(100.0, 1e-6) == math.ceil(0.5 * 10 * math.log(2e6)) == 73
    assert cg_iterations(1.0, 0.5) == math.ceil(0.5 * math.log(4.0)) == 1
    out = cg_iterations(np.array([1e2, 1e4]), 1e-2)
    assert out.tolist() == [math.ceil(5 * math.log(200)), math.ceil(50 * math.log(200))]


@pytest.mark.parametrize(
    "kappa,eps", [(0.5, 1e-3), (float("inf"), 1e-3), (10.0, 0.0), (10.0, 1.0), (float("nan"), 0.1)]
)
def test_cg_iterations_rejects_outside_validity(kappa, eps):
    with pytest.raises(ModelDomainError):
        cg_iterations(kappa, eps)


def test_cg_without_kappa_is_a_domain_error():
    with pytest.raises(ModelDomainError, match="condition number"):
        classical_solve_time("cg", 10, 3, None, 1e-3, gpu=GpuSpec(1.0, 0.0))


def test_cg_flops_by_hand():
    # 73 iterations × (2·10·3 mat-vec + 10·10 vector ops)
    assert cg_flops(10, 3, 100.0, 1e-6) == 73 * 160
    with pytest.raises(ModelDomainError):
        cg_flops(10, 11, 100.0, 1e-6)  # d > n


def _scipy_cg_iterations(a, b, rtol):
    count = [0]

    def cb(_xk):
        count[0] += 1

    _x, info = spla.cg(a, b, rtol=rtol, maxiter=100_000, callback=cb)
    assert info == 0
    return count[0]


@pytest.mark.parametrize("kappa", [1e2, 1e3, 1e4])
@pytest.mark.parametrize("eps", [1e-4, 1e-8])
def test_cg_iterations_match_real_cg_on_spd(kappa, eps):
    # CG is invariant under orthogonal similarity, so a diagonal SPD matrix with a chosen
    # spectrum behaves like any dense matrix with that spectrum.
    rng = np.random.default_rng(int(kappa))
    n = 3000
    b = rng.standard_normal(n)
    predicted = cg_iterations(kappa, eps)
    # Geometric spectrum: the Chebyshev bound is close to tight.
    geo = _scipy_cg_iterations(sp.diags(np.geomspace(1.0, kappa, n)), b, eps)
    assert 0.75 < predicted / geo < 1.33
    # Uniform spectrum: CG does better than the bound, but within an order of magnitude.
    lin = _scipy_cg_iterations(sp.diags(np.linspace(1.0, kappa, n)), b, eps)
    assert 1.0 <= predicted / lin < 10.0


def test_cg_iterations_on_a_dense_rotated_spd_matrix():
    rng = np.random.default_rng(11)
    n = 150  # > the 73 iterations the bound predicts, so finite termination does not interfere
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    a = (q * np.geomspace(1.0, 100.0, n)) @ q.T
    real = _scipy_cg_iterations((a + a.T) / 2, rng.standard_normal(n), 1e-6)
    assert 0.5 < cg_iterations(100.0, 1e-6) / real < 2.0


# --- roofline ----------------------------------------------------------------------------------


def test_lu_time_compute_bound_by_hand():
    c = classical_solve_time(
        "lu", 1000, 1000, None, None, gpu=GpuSpec(1.0, 1e-5, mem_bandwidth_Bps=1e12)
    )
    flops = 2 / 3 * 1e9 + 2e6
    assert c.flops == pytest.approx(flops)
    assert c.compute_s == pytest.approx(flops / 1e12)
    assert c.memory_s == pytest.approx(8 * (3e6 + 2e3) / 1e12)
    assert c.calls == 1.0 and c.launch_s == 1e-5
    assert c.total_s == pytest.approx(flops / 1e12 + 1e-5)


def test_cg_time_memory_bound_by_hand():
    n, d, kappa, eps = 1000, 5, 100.0, 1e-6
    c = classical_solve_time(
        "cg", n, d, kappa, eps, gpu=GpuSpec(100.0, 2e-6, mem_bandwidth_Bps=1e9)
    )
    k = 73
    assert c.calls == k and c.launch_s == pytest.approx(k * 2e-6)
    bytes_ = k * (12 * n * d + 4 * (n + 1) + 112 * n)
    assert c.bytes == solve_bytes("cg", n, d, kappa, eps) == bytes_
    assert c.memory_s > c.compute_s
    assert c.total_s == pytest.approx(bytes_ / 1e9 + k * 2e-6)


def test_cholesky_is_half_the_lu_work():
    kw = dict(gpu=GpuSpec(tflops=1.0, launch_latency_s=0.0))
    big = 10_000
    lu = classical_solve_time("lu", big, big, None, None, **kw)
    ch = classical_solve_time("cholesky", big, big, None, None, **kw)
    assert ch.compute_s / lu.compute_s == pytest.approx(0.5, rel=1e-3)


def test_solve_time_vectorized_broadcasts():
    c = classical_solve_time(
        "cg",
        np.array([100.0, 1000.0]),
        4,
        np.array([[10.0], [1e4]]),
        1e-3,
        gpu=GpuSpec(tflops=1.0, launch_latency_s=1e-5, mem_bandwidth_Bps=1e11),
    )
    assert isinstance(c, ClassicalCost)
    for field in ("flops", "bytes", "calls", "compute_s", "memory_s", "launch_s", "total_s"):
        assert np.shape(getattr(c, field)) == (2, 2)
    assert np.all(np.asarray(c.total_s)[1] > np.asarray(c.total_s)[0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.total_s = 0.0


def test_solve_time_rejects_bad_input():
    kw = dict(gpu=GpuSpec(tflops=1.0, launch_latency_s=1e-5))
    with pytest.raises(ModelDomainError):
        classical_solve_time("qr", 10, 10, None, None, **kw)
    with pytest.raises(ModelDomainError):
        classical_solve_time("lu", 0, 1, None, None, **kw)
    with pytest.raises(ModelDomainError):
        classical_solve_time(
            "lu", 10, 10, None, None, gpu=GpuSpec(tflops=0.0, launch_latency_s=0.0)
        )


# --- transfers and payloads --------------------------------------------------------------------


def test_transfer_and_payload_by_hand():
    assert host_device_transfer_s(8e9, bandwidth_Bps=16e9, latency_s=1e-5) == 0.5 + 1e-5
    assert payload_bytes(4, 2, sparse=False) == 128.0
    assert payload_bytes(4, 2, sparse=True) == 96.0
    assert result_bytes(4) == 32.0
    assert payload_bytes(np.array([4.0, 8.0]), 2, sparse=True).tolist() == [96.0, 192.0]
    with pytest.raises(ModelDomainError):
        host_device_transfer_s(-1.0, bandwidth_Bps=1.0, latency_s=0.0)


# --- calibration -------------------------------------------------------------------------------


def test_calibrate_recovers_a_known_machine(monkeypatch):
    """The fit, on timings of a machine with known constants (3 µs per call, 20 GFLOP/s): exact
    timings give back exactly those constants. The real timings are measured below; how well the
    model predicts this CPU is a benchmark (benchmarks/bench_classical.py), not a test."""
    from hybridsim.costs import classical

    def known(A, _b, _repeats):  # stands in for _time_solve(A, b, repeats)
        return 3e-6 + lu_flops(A.shape[0]) / 2e10

    monkeypatch.setattr(classical, "_time_solve", known)
    cal = calibrate(sizes=(16, 64, 256, 384), repeats=1)
    assert cal.tflops == pytest.approx(0.02, rel=1e-9)
    assert cal.launch_latency_s == pytest.approx(3e-6, rel=1e-9)
    assert cal.samples == tuple((n, known(np.empty((n, n)), None, 1)) for n in (16, 64, 256, 384))
    assert cal.predict_s(1000) == pytest.approx(3e-6 + lu_flops(1000) / 2e10, rel=1e-9)


def test_calibrate_measures_this_machine():
    cal = calibrate(sizes=(16, 64, 256, 384), repeats=3, rng=np.random.default_rng(0), threads=1)
    assert math.isfinite(cal.tflops) and cal.tflops > 0
    assert math.isfinite(cal.launch_latency_s) and cal.launch_latency_s >= 0
    assert [s[0] for s in cal.samples] == [16, 64, 256, 384]
    assert all(math.isfinite(t) and t > 0 for _, t in cal.samples)


def test_calibrate_rejects_degenerate_sizes():
    with pytest.raises(ModelDomainError):
        calibrate(sizes=(32,), repeats=1)
