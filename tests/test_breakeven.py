"""Break-even gate time: closed form checked against the two cost models it balances."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hybridsim.costs.breakeven import (
    BreakEvenRow,
    break_even,
    break_even_gate_time,
    break_even_table,
)
from hybridsim.costs.classical import classical_solve_time, payload_bytes, result_bytes
from hybridsim.costs.quantum import ACCOUNTING, Accounting, qlsa_cost
from hybridsim.costs.specs import GpuSpec, QpuSpec

GPU = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=1.5e12)
QPU_READOUT = dict(measure_time_s=1.56e-6, reset_time_s=0.0, max_shots_per_job=1e5)


def qpu(t2q=1.0, ratio=1.0, **kw):
    """A QPU with the readout above; break-even reads only its ratio t_1q / t_2q and the rest."""
    return QpuSpec(gate_time_1q_s=ratio * t2q, gate_time_2q_s=t2q, **QPU_READOUT, **kw)


QPU = qpu()


def quantum_time(
    n,
    d,
    kappa,
    eps,
    t2q,
    *,
    accounting,
    ratio=1.0,
    link_latency_s=0.0,
    link_bandwidth_Bps=math.inf,
    job_overhead_s=0.0,
    algorithm="jennings",
):
    """The QPU time assembled independently from qlsa_cost plus the link terms."""
    acc = ACCOUNTING[accounting] if isinstance(accounting, str) else accounting
    c = qlsa_cost(
        n,
        d,
        kappa,
        eps,
        accounting=acc,
        algorithm=algorithm,
        qpu=qpu(t2q, ratio, job_overhead_s=job_overhead_s),
    )
    t = c.total_s
    if acc.charge_link_latency:
        t += 2 * link_latency_s
    if acc.charge_transfer:
        t += (payload_bytes(n, d, sparse=True) + 2 * result_bytes(n)) / link_bandwidth_Bps
    return t


CASES = [
    # (n, d, kappa, eps, accounting, classical method, extra keyword arguments)
    (1e4, 1e4, 1e4, 1e-2, "paper", "lu", {}),
    (32, 32, 10.0, 1e-2, "paper", "lu", {}),
    (4096, 8, 100.0, 1e-3, "paper", "cg", {}),
    # full accounting only breaks even against a slow classical side (a 50 ms call overhead):
    # 9600 runs of 1.56 µs readout already cost 15 ms
    (
        64,
        4,
        20.0,
        0.2,
        "full",
        "lu",
        dict(
            link_latency_s=1e-6,
            link_bandwidth_Bps=1e10,
            job_overhead_s=1e-4,
            ratio=0.3,
            gpu=dict(launch_latency_s=5e-2),
        ),
    ),
    (1e5, 16, 50.0, 1e-2, "paper", "cholesky", dict(algorithm="costa", ratio=0.25)),
]


@pytest.mark.parametrize("n,d,kappa,eps,acc,method,extra", CASES)
def test_costs_equal_at_break_even_and_quantum_cheaper_below(n, d, kappa, eps, acc, method, extra):
    extra = dict(extra)
    ratio = extra.pop("ratio", 1.0)
    gpu = dataclasses.replace(GPU, **extra.pop("gpu", {}))
    link = {
        k: extra[k]
        for k in ("link_latency_s", "link_bandwidth_Bps", "job_overhead_s")
        if k in extra
    }
    kw = dict(
        accounting=acc,
        classical_method=method,
        gate_time_ratio_1q=ratio,
        gpu=gpu,
        qpu=qpu(**link),
        algorithm=extra.get("algorithm", "jennings"),
    )
    t_star = break_even_gate_time(n, d, kappa, eps, **kw)
    assert math.isfinite(t_star) and t_star > 0
    classical = classical_solve_time(method, n, d, kappa, eps, gpu=gpu).total_s
    q_at = quantum_time(n, d, kappa, eps, t_star, accounting=acc, ratio=ratio, **extra)
    assert q_at == pytest.approx(classical, rel=1e-9)
    assert (
        quantum_time(n, d, kappa, eps, 0.5 * t_star, accounting=acc, ratio=ratio, **extra)
        < classical
    )
    assert (
        quantum_time(n, d, kappa, eps, 2.0 * t_star, accounting=acc, ratio=ratio, **extra)
        > classical
    )


def test_papers_dense_example_stays_classical_at_84ns():
    # arXiv:2405.00252: a dense 10⁴×10⁴ matrix with κ = 10⁴ is not solved faster by a QLSA.
    t_star = break_even_gate_time(1e4, 1e4, 1e4, 1e-2, accounting="paper", gpu=GPU, qpu=QPU)
    assert t_star < 84e-9
    assert t_star == pytest.approx(
        classical_solve_time("lu", 1e4, 1e4, None, None, gpu=GPU).total_s
        / qlsa_cost(1e4, 1e4, 1e4, 1e-2, accounting="paper", qpu=qpu(1.0)).total_s,
        rel=1e-12,
    )


def test_no_gate_time_suffices_gives_nan():
    # Full accounting with signed tomography: 3.2e5·5 runs × 1.56 µs of readout alone is ~2.5 s,
    # far more than a 32×32 LU; no gate time can make up for it.
    res = break_even(32, 32, 10.0, 1e-2, accounting="full", gpu=GPU, qpu=QPU)
    assert math.isnan(res.gate_time_s)
    assert res.quantum_fixed_s > res.classical_s
    assert res.quantum_fixed_s == pytest.approx(32 * 5 / 1e-4 * 1.56e-6)


def test_fixed_part_is_charged_only_when_accounting_says_so():
    base = dict(gpu=GPU, qpu=qpu(link_latency_s=1e-3, link_bandwidth_Bps=1e9))
    no_link = Accounting("a", "unit", False, "none", False, False)
    link = Accounting("b", "unit", False, "none", False, True)
    both = Accounting("c", "unit", False, "none", True, True)
    f0 = break_even(64, 4, 10.0, 1e-2, accounting=no_link, **base).quantum_fixed_s
    f1 = break_even(64, 4, 10.0, 1e-2, accounting=link, **base).quantum_fixed_s
    f2 = break_even(64, 4, 10.0, 1e-2, accounting=both, **base).quantum_fixed_s
    assert f0 == 0.0
    assert f1 == pytest.approx(2e-3)
    assert f2 == pytest.approx(2e-3 + (64 * 4 * 12 + 2 * 64 * 8) / 1e9)


def test_break_even_vectorized_with_nan_entries():
    n = np.array([32.0, 1e4])
    out = break_even_gate_time(
        n, n, np.array([10.0, 1e4]), 1e-2, accounting="paper", gpu=GPU, qpu=QPU
    )
    assert out.shape == (2,)
    assert out[1] == pytest.approx(
        break_even_gate_time(1e4, 1e4, 1e4, 1e-2, accounting="paper", gpu=GPU, qpu=QPU)
    )
    mixed = break_even_gate_time(
        np.array([32.0, 32.0]), 32, 10.0, 1e-2, accounting="full", gpu=GPU, qpu=QPU
    )
    assert np.all(np.isnan(mixed))


def test_break_even_table_rows():
    rows = break_even_table(
        [16, 256], [8, 64], [10.0, 1e3], 1e-2, accounting="paper", gpu=GPU, qpu=QPU
    )
    assert len(rows) == 2 * 2 * 2 - 2  # (16, 64, ·) skipped: d > n
    assert all(isinstance(r, BreakEvenRow) for r in rows)
    assert [(r.n, r.d, r.kappa) for r in rows[:2]] == [(16, 8, 10.0), (16, 8, 1e3)]
    for r in rows:
        assert r.accounting == "paper" and r.classical_method == "lu"
        assert r.gate_time_s == pytest.approx(
            break_even_gate_time(r.n, r.d, r.kappa, r.eps, accounting="paper", gpu=GPU, qpu=QPU),
            rel=1e-12,
        )
    with pytest.raises(dataclasses.FrozenInstanceError):
        rows[0].gate_time_s = 1.0
    assert break_even_table([4], [8], [10.0], 1e-2, accounting="paper", gpu=GPU, qpu=QPU) == []
