"""Quantum cost model: query counts, oracle/readout models, accounting presets, qlsa_cost."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hybridsim.costs.quantum import (
    ACCOUNTING,
    JENNINGS_KAPPA_MIN,
    Accounting,
    QuantumCost,
    block_encoding_alpha,
    block_encoding_alpha_pauli,
    costa_queries,
    gates_per_query,
    hhl_queries,
    jennings_q_star,
    jennings_qubits,
    jennings_queries,
    jennings_state_prep_queries,
    jennings_success_probability,
    qlsa_cost,
    readout_runs,
    sparse_block_encoding_qubits,
    state_prep_gates,
)
from hybridsim.costs.specs import QpuSpec
from hybridsim.errors import ModelDomainError


def sig3(x: float) -> float:
    return float(f"{x:.3g}")


# --- Jennings et al. ---------------------------------------------------------------------------

# Expected queries to U_A for α = 1, ε = 1e-2, to 3 significant digits
# (docs/background/references.md#jennings-reference-values). The project brief listed 5.70e4 for
# κ = 1e2, but the formula gives 56 947.1, which is 5.69e4 to 3 digits (5.70e4 is 5.695e4 rounded
# twice). The other four reference values reproduce as written.
JENNINGS_REFERENCE = {10.0: 5.69e3, 1e2: 5.69e4, 1e3: 6.91e5, 1e4: 8.61e6, 1e6: 1.23e9}


@pytest.mark.parametrize("kappa,expected", sorted(JENNINGS_REFERENCE.items()))
def test_jennings_reference_values_three_digits(kappa, expected):
    assert sig3(jennings_queries(kappa, 1e-2)) == expected


def test_jennings_kappa_100_is_56947():
    assert jennings_queries(1e2, 1e-2) == pytest.approx(56947.1, abs=0.1)


def test_jennings_q_star_by_hand_at_kappa_10():
    # Independent term-by-term evaluation of Theorem 1 with κ = 10, ε = 0.01, α = 1.
    L = math.log(23.0)
    t1 = (
        1741
        * math.e
        / 500
        * math.sqrt(101.0)
        * ((133 / 125 + 4 / (25 * 10 ** (1 / 3))) * math.pi * L + 1)
    )
    t2 = 351 / 50 * L**2 * (math.log(451 * L**2 / 0.01) + 1)
    t3 = 10 * math.log(3200.0)
    assert jennings_q_star(10.0, 0.01) == pytest.approx(t1 + t2 + t3, rel=1e-13)
    assert jennings_queries(10.0, 0.01) == pytest.approx(
        (t1 + t2 + t3) / (0.39 - 0.00204), rel=1e-13
    )


def test_jennings_vectorized_matches_scalar():
    kappas = np.array(sorted(JENNINGS_REFERENCE))
    out = jennings_queries(kappas, 1e-2)
    assert isinstance(out, np.ndarray)
    assert out.tolist() == [jennings_queries(k, 1e-2) for k in kappas]


def test_jennings_alpha_variants():
    base = jennings_queries(100.0, 1e-2, 2.0)
    assert jennings_queries(100.0, 1e-2, 2.0, alpha_power=2) == pytest.approx(2.0 * base)
    assert base > jennings_queries(100.0, 1e-2, 1.0)  # α enters the first and third terms
    with pytest.raises(ModelDomainError):
        jennings_queries(100.0, 1e-2, alpha_power=3)
    with pytest.raises(ModelDomainError):
        jennings_queries(100.0, 1e-2, 0.0)


def test_jennings_success_constant_variant():
    eps = 0.2
    ratio = jennings_queries(100.0, eps, success_constant=0.201) / jennings_queries(100.0, eps)
    assert ratio == pytest.approx((0.39 - 0.204 * eps) / (0.39 - 0.201 * eps))
    assert jennings_success_probability(0.1) == pytest.approx(0.39 - 0.0204)


def test_jennings_validity_enforced():
    with pytest.raises(ModelDomainError, match="sqrt"):
        jennings_queries(3.0, 1e-2)
    with pytest.raises(ModelDomainError):
        jennings_queries(10.0, 0.25)
    with pytest.raises(ModelDomainError):
        jennings_queries(10.0, 0.0)
    with pytest.raises(ModelDomainError):
        jennings_queries(np.array([10.0, 2.0]), 1e-2)  # one bad entry is enough
    with pytest.raises(ModelDomainError):
        jennings_queries(math.inf, 1e-2)
    # the boundaries are valid: E[Q] = Q*/(0.39 − 0.204·ε) there too (Q* checked by hand above)
    assert jennings_queries(10.0, 0.24) == pytest.approx(
        jennings_q_star(10.0, 0.24) / (0.39 - 0.204 * 0.24), rel=1e-13
    )
    assert jennings_queries(JENNINGS_KAPPA_MIN, 1e-2) == pytest.approx(
        jennings_q_star(JENNINGS_KAPPA_MIN, 1e-2) / (0.39 - 0.00204), rel=1e-13
    )


def test_jennings_clamp_is_explicit():
    at_min = jennings_queries(JENNINGS_KAPPA_MIN, 1e-2)
    assert jennings_queries(1.0, 1e-2, clamp=True) == at_min
    out = jennings_queries(np.array([1.0, 10.0]), 1e-2, clamp=True)
    assert out[0] == at_min and out[1] == jennings_queries(10.0, 1e-2)


def test_jennings_state_prep_and_qubits():
    q = jennings_queries(1e3, 1e-2)
    assert jennings_state_prep_queries(1e3, 1e-2) == pytest.approx(2 * q, rel=1e-14)
    assert jennings_state_prep_queries(1e3, 1e-2, expected=False) == pytest.approx(
        2 * jennings_q_star(1e3, 1e-2), rel=1e-14
    )
    assert jennings_qubits(13) == 19.0


# --- Costa et al. and HHL ----------------------------------------------------------------------


def test_costa_by_hand():
    assert costa_queries(100.0, 0.01, filtering=False) == pytest.approx(18400.0)
    assert costa_queries(100.0, 0.01, constant="proven", filtering=False) == pytest.approx(
        2305 * 100 / 0.01
    )
    expected = (1.84 * 100 / 0.1 + math.sqrt(2) * 100 * math.log(200.0)) / (1 - 0.01)
    assert costa_queries(100.0, 0.01) == pytest.approx(expected)
    assert costa_queries(100.0, 0.01, constant=3.0, filtering=False) == pytest.approx(30000.0)


def test_costa_scales_kappa_log_inverse_eps_with_filtering():
    a = costa_queries(1e4, 1e-3)
    b = costa_queries(1e4, 1e-9)
    assert b / a < 2.0  # logarithmic in 1/ε, unlike the 1/ε of the bare walk
    assert costa_queries(2e4, 1e-3) == pytest.approx(2 * a)  # linear in κ
    assert costa_queries(1e4, 1e-2) < jennings_queries(1e4, 1e-2)  # arXiv:2312.07690's claim
    with pytest.raises(ModelDomainError):
        costa_queries(0.5, 0.01)
    with pytest.raises(ModelDomainError):
        costa_queries(10.0, 0.01, constant="guessed")


def test_hhl_by_hand():
    assert hhl_queries(16, 2, 10.0, 0.1) == pytest.approx(16000.0)
    assert hhl_queries(1, 1, 1.0, 0.5) == pytest.approx(2.0)  # log2 N floored at 1
    with pytest.raises(ModelDomainError):
        hhl_queries(16, 20, 10.0, 0.1)


# --- block encodings, oracles, state preparation, readout --------------------------------------


def test_block_encoding_alphas():
    assert block_encoding_alpha(4, 0.5) == 2.0
    assert block_encoding_alpha(np.array([1.0, 8.0]), 0.25).tolist() == [0.25, 2.0]
    assert block_encoding_alpha_pauli([0.5, -0.25, 0.25]) == 1.0
    with pytest.raises(ModelDomainError):
        block_encoding_alpha_pauli([])


def test_gates_per_query_models_by_hand():
    assert gates_per_query("unit", 32, 4) == 1.0
    assert gates_per_query("structured", 32, 4) == 25.0  # ⌈log2 32⌉² = 5²
    assert gates_per_query("structured", 33, 4) == 36.0
    assert gates_per_query("qrom", 32, 4) == 4 * 32 * 4
    assert gates_per_query("select_swap", 32, 4, bits=8) == pytest.approx(2 * math.sqrt(1024))
    out = gates_per_query("unit", np.array([4.0, 8.0]), 2)
    assert out.tolist() == [1.0, 1.0]
    with pytest.raises(ModelDomainError):
        gates_per_query("magic", 32, 4)


def test_state_prep_and_block_encoding_qubits_by_hand():
    assert state_prep_gates(32) == (64.0, 64.0)
    assert state_prep_gates(5) == (16.0, 16.0)  # padded to 8
    assert sparse_block_encoding_qubits(32) == 13.0
    assert sparse_block_encoding_qubits(1) == 5.0


def test_readout_runs_by_hand():
    assert readout_runs("none", 32, 0.01) == 1.0
    assert readout_runs("tomography", 32, 0.01) == 320000.0  # references.md#qlsa-worked-example
    assert readout_runs("signed_tomography", 32, 0.1) == 32 * 5 * 100
    assert readout_runs("signed_tomography", 1, 0.5) == 4.0  # log2 N floored at 1
    assert readout_runs("tomography", 3, 0.3) == math.ceil(3 / 0.09 - 1e-9) == 34
    with pytest.raises(ModelDomainError):
        readout_runs("shadow", 32, 0.1)


# --- accounting and qlsa_cost ------------------------------------------------------------------


def test_accounting_presets():
    paper, unit, full = ACCOUNTING["paper"], ACCOUNTING["paper_unit"], ACCOUNTING["full"]
    assert (paper.oracle, paper.state_prep, paper.readout) == ("sparse_access", False, "none")
    assert paper.block_encoding == "sparse_access"
    assert (unit.oracle, unit.state_prep, unit.readout, unit.block_encoding) == (
        "unit",
        False,
        "none",
        "ideal",
    )
    for acc in (paper, unit):
        assert not (acc.charge_transfer or acc.charge_link_latency or acc.charge_job_overhead)
    assert full.block_encoding == "ideal"
    with pytest.raises(ModelDomainError):
        Accounting("x", "unit", False, "none", False, False, False, "dense")
    assert (full.oracle, full.state_prep, full.readout) == ("qrom", True, "signed_tomography")
    assert full.charge_transfer and full.charge_link_latency
    with pytest.raises(ModelDomainError):
        Accounting("x", "magic", False, "none", False, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        paper.oracle = "qrom"


QPU_FIELDS = dict(
    gate_time_1q_s=2e-9,
    gate_time_2q_s=1e-8,
    measure_time_s=1.5e-6,
    reset_time_s=5e-7,
    max_shots_per_job=1000,
)
QPU = QpuSpec(**QPU_FIELDS)


def test_paper_unit_accounting_is_queries_times_gate_time():
    # The named variant keeps the earlier paper accounting's numbers exactly: one gate per query,
    # α = 1, so neither N nor d enters.
    for n, d in ((1e4, 1e4), (64.0, 2.0), (23520.0, 588.0)):
        c = qlsa_cost(n, d, 1e4, 1e-2, accounting="paper_unit", qpu=QPU)
        assert isinstance(c, QuantumCost)
        assert c.total_s == jennings_queries(1e4, 1e-2) * 1e-8
        assert (c.runs, c.jobs, c.gates_per_query, c.readout_s, c.state_prep_s) == (1, 1, 1, 0, 0)


def test_paper_accounting_is_the_sparse_access_form():
    # O(d·κ·log(Nκ/ε)): α = d in the query count and ⌈log2 N⌉ gates per query.
    n, d, kappa, eps = 4096.0, 64.0, 1e3, 1e-2
    c = qlsa_cost(n, d, kappa, eps, accounting="paper", qpu=QPU)
    assert c.gates_per_query == 12.0
    assert c.queries == jennings_queries(kappa, eps, alpha=d)
    assert c.total_s == pytest.approx(jennings_queries(kappa, eps, alpha=d) * 12 * 1e-8, rel=1e-14)
    assert (c.runs, c.readout_s, c.state_prep_s, c.overhead_s) == (1, 0, 0, 0)


@pytest.mark.parametrize("kappa", [1e3, 1e4, 1e6])
def test_paper_accounting_doubling_d_doubles_the_prediction(kappa):
    # Under the earlier accounting (today's paper_unit) pruning could not matter: d never entered.
    one = qlsa_cost(4096.0, 32.0, kappa, 1e-2, accounting="paper", qpu=QPU).total_s
    two = qlsa_cost(4096.0, 64.0, kappa, 1e-2, accounting="paper", qpu=QPU).total_s
    # Twice, up to the α-free term (351/50)·L²·(…) of Jennings et al.'s bound: < 0.1 %.
    assert two / one == pytest.approx(2.0, rel=1e-3)
    assert two / one < 2.0
    unit = [
        qlsa_cost(4096.0, d, kappa, 1e-2, accounting="paper_unit", qpu=QPU).total_s
        for d in (32.0, 64.0)
    ]
    assert unit[0] == unit[1]


def test_paper_accounting_n_enters_through_log_n():
    # Same d and κ: the time grows as ⌈log2 N⌉, nothing else in N.
    t = {
        n: qlsa_cost(float(n), 16.0, 100.0, 1e-2, accounting="paper", qpu=QPU).total_s
        for n in (256, 1024, 4096, 5000)
    }
    assert t[1024] / t[256] == pytest.approx(10 / 8, rel=1e-14)
    assert t[4096] / t[256] == pytest.approx(12 / 8, rel=1e-14)
    assert t[5000] / t[4096] == pytest.approx(13 / 12, rel=1e-14)  # ⌈log2 5000⌉ = 13


def test_explicit_alpha_overrides_the_accountings_block_encoding():
    a = qlsa_cost(256.0, 16.0, 100.0, 1e-2, accounting="paper", qpu=QPU, alpha=1.0)
    b = qlsa_cost(256.0, 16.0, 100.0, 1e-2, accounting="paper_unit", qpu=QPU)
    assert a.total_s == pytest.approx(8 * b.total_s, rel=1e-14)  # only the 8 gates per query


def test_full_accounting_assembled_by_hand():
    n, d, kappa, eps = 16, 4, 20.0, 0.1
    c = qlsa_cost(
        n, d, kappa, eps, accounting="full", qpu=dataclasses.replace(QPU, job_overhead_s=0.25)
    )
    q = jennings_queries(kappa, eps)
    runs = 16 * 4 / 0.01  # N log2 N / ε²
    gpq = 4 * 16 * 4
    assert c.runs == pytest.approx(runs) and c.jobs == math.ceil(runs / 1000) == 7
    assert c.compute_s == pytest.approx(runs * q * gpq * 1e-8)
    assert c.state_prep_s == pytest.approx(runs * 2 * q * (32 * 1e-8 + 32 * 2e-9))
    assert c.readout_s == pytest.approx(runs * 2e-6)
    assert c.overhead_s == pytest.approx(7 * 0.25)
    assert c.total_s == pytest.approx(c.compute_s + c.state_prep_s + c.readout_s + c.overhead_s)
    assert c.n_qubits == 2 * 4 + 3 + 6


def test_reference_worked_example_readout_bound():
    # references.md#qlsa-worked-example: N = 32, κ = 10, ε = 0.01, tomography, attosecond gates,
    # 1.56 µs readout: ~3.2e5 runs × ~5.7e3 queries, ~0.5 s in total, dominated by readout.
    acc = Accounting("tomo", "unit", False, "tomography", False, False)
    c = qlsa_cost(
        32,
        32,
        10.0,
        0.01,
        accounting=acc,
        qpu=QpuSpec(
            gate_time_1q_s=1e-18,
            gate_time_2q_s=1e-18,
            measure_time_s=1.56e-6,
            reset_time_s=0.0,
            max_shots_per_job=1e5,
        ),
    )
    assert c.runs == 3.2e5 and sig3(c.queries) == 5.69e3
    assert c.total_s == pytest.approx(0.4992, rel=1e-3)
    assert c.readout_s / c.total_s > 0.999


def test_qlsa_cost_vectorized():
    n = np.array([64.0, 256.0, 1024.0])
    c = qlsa_cost(
        n,
        np.array([4.0, 8.0, 16.0]),
        np.array([10.0, 100.0, 1000.0]),
        1e-2,
        accounting=ACCOUNTING["full"],
        qpu=QPU,
    )
    for field in (
        "queries",
        "runs",
        "jobs",
        "gates_per_query",
        "compute_s",
        "total_s",
        "n_qubits",
        "state_prep_queries",
        "overhead_s",
    ):
        assert np.shape(getattr(c, field)) == (3,)
    assert np.all(np.diff(c.total_s) > 0)
    single = qlsa_cost(256.0, 8.0, 100.0, 1e-2, accounting="full", qpu=QPU)
    assert c.total_s[1] == pytest.approx(single.total_s, rel=1e-14)


def test_qlsa_cost_algorithms_and_overrides():
    costa = qlsa_cost(64, 4, 100.0, 1e-2, accounting="paper_unit", algorithm="costa", qpu=QPU)
    assert costa.queries == pytest.approx(costa_queries(100.0, 1e-2))
    hhl = qlsa_cost(64, 4, 100.0, 1e-2, accounting="paper_unit", algorithm="hhl", qpu=QPU)
    assert hhl.queries == pytest.approx(hhl_queries(64, 4, 100.0, 1e-2))
    fixed = qlsa_cost(64, 4, 100.0, 1e-2, accounting="paper_unit", queries=123.0, qpu=QPU)
    assert fixed.total_s == pytest.approx(123.0 * 1e-8)
    with pytest.raises(ModelDomainError):
        qlsa_cost(64, 4, 100.0, 1e-2, accounting="paper_unit", algorithm="vqe", qpu=QPU)
    with pytest.raises(ModelDomainError):
        qlsa_cost(64, 4, 100.0, 1e-2, accounting="optimistic", qpu=QPU)


def test_qlsa_cost_validity_and_clamp():
    with pytest.raises(ModelDomainError):
        qlsa_cost(64, 4, 2.0, 1e-2, accounting="paper_unit", qpu=QPU)
    clamped = qlsa_cost(64, 4, 2.0, 1e-2, accounting="paper_unit", clamp=True, qpu=QPU)
    assert clamped.queries == jennings_queries(JENNINGS_KAPPA_MIN, 1e-2)
    with pytest.raises(ModelDomainError):
        qlsa_cost(
            64,
            4,
            10.0,
            1e-2,
            accounting="paper_unit",
            qpu=QpuSpec(**{**QPU_FIELDS, "max_shots_per_job": 0}),
        )
    with pytest.raises(ModelDomainError):
        qlsa_cost(
            64,
            4,
            10.0,
            1e-2,
            accounting="paper_unit",
            qpu=QpuSpec(**{**QPU_FIELDS, "gate_time_2q_s": -1.0}),
        )
    with pytest.raises(ModelDomainError, match="kappa"):
        qlsa_cost(64, 4, None, 1e-2, accounting="paper_unit", qpu=QPU)
