"""hybridsim.costs.logical: logical counts of modelled QLSA jobs and of executed HHL circuits."""

import doctest
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridsim.costs import ft, logical, quantum
from hybridsim.costs.logical import circuit_counts, classify_angle, oracle_cost, qlsa_logical_counts
from hybridsim.errors import HybridSimError


def test_doctests():
    assert doctest.testmod(logical).failed == 0


def test_oracle_costs_by_hand():
    """N = 32, d = 4: L = 128 entries.

    qrom: 127 Toffolis and 127 measurements, ⌈log₂128⌉ = 7 iteration qubits + 32 data = 39.
    select_swap: λ = 2^round(½·log₂(128/32)) = 2; 64 blocks: 63 + 32·(2 − 1) = 95 Toffolis,
    2·32 + ⌈log₂64⌉ + ⌈log₂2⌉ = 71 qubits. structured: ⌈log₂32⌉² = 25 Toffolis, 5 qubits.
    """
    assert oracle_cost("unit", 32, 4) == logical.OracleCost(1, 0, 0, 0)
    assert oracle_cost("structured", 32, 4) == logical.OracleCost(0, 25, 0, 5)
    assert oracle_cost("qrom", 32, 4) == logical.OracleCost(0, 127, 127, 39, 128, 1)
    assert oracle_cost("select_swap", 32, 4) == logical.OracleCost(0, 95, 63, 71, 128, 2)
    # the QROM T count is the 4L − 4 of Babbush et al. (4 T states per Toffoli)
    assert 4 * oracle_cost("qrom", 32, 4).ccz_count == 4 * 128 - 4


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 10**6), frac=st.floats(0, 1), bits=st.integers(1, 64))
def test_select_swap_never_costs_more_toffolis_than_qrom(n, frac, bits):
    d = max(1, min(n, int(round(frac * n))))
    ss, qr = oracle_cost("select_swap", n, d, bits=bits), oracle_cost("qrom", n, d, bits=bits)
    assert ss.ccz_count <= qr.ccz_count + bits
    assert ss.lam & (ss.lam - 1) == 0 and ss.lam <= max(1, ss.entries)


def test_jennings_counts_follow_the_query_model():
    c = qlsa_logical_counts("jennings", "qrom", 32, 4, 10.0, 0.01)
    q_star = quantum.jennings_q_star(10.0, 0.01)
    assert c.queries == math.ceil(q_star) and c.state_prep_queries == 2 * c.queries
    assert c.success_probability == pytest.approx(0.39 - 0.204 * 0.01)
    # queries per usable output: per-run queries × 1/p, the expectation jennings_queries charges
    assert c.queries / c.success_probability == pytest.approx(
        quantum.jennings_queries(10.0, 0.01), rel=1e-3
    )
    assert c.ccz_count == 127 * c.queries and c.t_count == 0
    assert c.rotation_count == 2 * c.queries * 2 * 32  # 2·N_pad rotations per U_b query
    assert c.num_qubits == 5 + (5 + 3) + 6 + 39
    assert c.measurement_count == 127 * c.queries + c.num_qubits
    assert (c.readout_runs, c.runs) == (1, pytest.approx(1 / c.success_probability))


def test_per_solve_is_per_run_times_the_expected_runs_rounded_up():
    c = qlsa_logical_counts("jennings", "structured", 64, 8, 50.0, 0.05, "tomography")
    assert c.readout_runs == math.ceil(64 / 0.05**2)
    run, solve = c.per_run(), c.per_solve()
    assert solve["numQubits"] == run["numQubits"]
    for k in ("tCount", "cczCount", "rotationCount", "measurementCount"):
        exact = run[k] * c.readout_runs / c.success_probability
        assert exact <= solve[k] < exact + 1 + 1e-6 * exact
    assert set(run) == set(ft.COUNT_KEYS)


def test_costa_and_hhl_counts():
    c = qlsa_logical_counts("costa", "unit", 16, 2, 100.0, 0.01)
    # per run × 1/(1 − ε₀²) is the expected count of costa_queries
    assert c.queries / c.success_probability == pytest.approx(
        quantum.costa_queries(100.0, 0.01), rel=1e-3
    )
    assert c.t_count == c.queries and c.ccz_count == 0
    h = qlsa_logical_counts("hhl", "unit", 16, 2, 10.0, 0.1)
    assert h.queries == math.ceil(quantum.hhl_queries(16, 2, 10.0, 0.1))
    assert h.success_probability == 1.0
    clock = math.ceil(math.log2(10)) + math.ceil(math.log2(10))
    assert h.algorithm_ancillas == clock + 1
    assert h.rotation_count == 10 * 2**clock + h.state_prep_queries * 2 * 16


def test_counts_feed_the_estimator():
    c = qlsa_logical_counts("jennings", "qrom", 1024, 32, 100.0, 0.01)
    e = ft.estimate(c.per_run(), qubit="qubit_gate_ns_e4", error_budget=1e-3)
    assert e.logical_qubits == 2 * c.num_qubits + math.ceil(math.sqrt(8 * c.num_qubits)) + 1
    assert e.t_states >= 4 * c.ccz_count


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("grover", "qrom", 32, 4, 10.0, 0.01), "unknown algorithm 'grover'"),
        (("jennings", "qram", 32, 4, 10.0, 0.01), "unknown oracle 'qram'"),
        (("jennings", "qrom", 32, 64, 10.0, 0.01), "1 <= d <= n"),
        (("jennings", "qrom", 0, 1, 10.0, 0.01), "n must be an integer >= 1"),
        (("jennings", "qrom", 32, 4, 0.5, 0.01), "kappa must be finite and >= 1"),
        (("jennings", "qrom", 32, 4, 10.0, 1.5), r"eps must be in \(0, 1\)"),
        (("jennings", "qrom", 32, 4, 10.0, 0.01, "shadow"), "unknown readout 'shadow'"),
        (("jennings", "qrom", 32, 4, 2.0, 0.01), r"kappa >= sqrt\(12\)"),
    ],
)
def test_bad_jobs_are_one_line_errors(args, match):
    with pytest.raises(HybridSimError, match=match) as info:
        qlsa_logical_counts(*args)
    assert "\n" not in str(info.value)


# -- executed circuits -----------------------------------------------------------------------------


def test_classify_angle():
    pi = math.pi
    assert [classify_angle(x) for x in (0.0, pi / 2, pi, -3 * pi / 2, 2 * pi)] == ["clifford"] * 5
    assert [classify_angle(x) for x in (pi / 4, -pi / 4, 3 * pi / 4, 9 * pi / 4)] == ["t"] * 4
    assert [classify_angle(x) for x in (pi / 8, 0.3, 1e-3)] == ["rotation"] * 3


def _two_by_two_circuit():
    from scipy.linalg import expm

    from hybridsim.quantum.hhl import build_hhl_circuit

    u = expm(1j * np.diag([1.0, 2.0]))
    return build_hhl_circuit(
        1,
        2,
        b=np.array([1.0, 2.0]) / math.sqrt(5.0),
        powers=[u, u @ u],
        inversion=np.array([0.0, 1.0, 0.0, 0.0]),
    )


def test_a_two_by_two_hhl_circuit_by_hand():
    """A 2×2 system, 2 clock qubits, qubits: ancilla, 2 clock, 1 system = 4.

    * prep(b), b ∝ (1, 2): one R_y(2·atan 2) = R_y(2.214): 1 arbitrary rotation.
    * H on both clocks, 2 controlled-U calls (U¹, U²): oracle calls, U applied 3 times.
    * inverse QFT on 2 qubits: H, CPHASE(−π/2), H. A controlled phase by λ is u1(λ/2) on the
      control and u1(∓λ/2), u1(λ/2) on the target around two CNOTs: three rotations by π/4 = 3 T.
    * inversion: a uniformly controlled R_y with angles 2·asin(f), f = (0, 1, 0, 0), i.e.
      α = (0, π, 0, 0); its Gray-code circuit has 4 rotations θ = WHT(α)/4 = ±π/4 each: 4 T
      (and 4 CNOTs).
    * QFT: 3 T again; 2 controlled-U† calls (3 applications); H on both clocks.

    Totals: T = 3 + 4 + 3 = 10, arbitrary rotations 1, rotation depth 1, oracle calls 4,
    U applications 6, measurements 4 (every qubit once).
    """
    c = circuit_counts(_two_by_two_circuit(), success_probability=0.25)
    assert (c.num_qubits, c.t_count, c.rotation_count, c.rotation_depth) == (4, 10, 1, 1)
    assert (c.oracle_calls, c.u_applications, c.measurement_count) == (4, 6, 4)
    assert c.runs == 4.0
    assert c.per_run()["tCount"] == 10
    assert c.per_output() == {k: (v if k == "numQubits" else 4 * v) for k, v in c.per_run().items()}
    # an oracle model per application of U adds its counts
    per = c.per_run({"cczCount": 100})
    assert per["cczCount"] == 600


def test_the_gate_list_form_and_a_real_solve():
    from hybridsim.quantum.hhl import hhl_solve

    qc = _two_by_two_circuit()
    assert circuit_counts(qc.gates, qc.N) == circuit_counts(qc)
    with pytest.raises(HybridSimError, match="needs n_qubits"):
        circuit_counts(qc.gates)
    r = hhl_solve(np.array([[2.0, 0.5], [0.5, 1.0]]), np.array([1.0, 0.0]), clock_qubits=4)
    c = circuit_counts(r.circuit, success_probability=r.success_probability)
    g = r.gate_counts
    assert c.num_qubits == r.n_qubits and c.oracle_calls == g["n_oracle"]
    assert c.u_applications == g["u_applications"]
    # every QFT controlled phase is three phase gates; the rest are the circuit's rotations
    assert c.t_count + c.rotation_count <= 3 * g["CPHASE"] + g["RY"] + g.get("RZ", 0)
    assert c.rotation_count >= 1 and 1 <= c.rotation_depth <= c.rotation_count
    assert c.runs == pytest.approx(1 / r.success_probability)


def test_unknown_gates_and_bad_probabilities_are_refused():
    from qutip_qip.operations import Gate

    with pytest.raises(HybridSimError, match="no counting rule for gate TOFFOLI"):
        circuit_counts([Gate("TOFFOLI", targets=[2], controls=[0, 1])], 3)
    with pytest.raises(HybridSimError, match=r"success_probability must be in \(0, 1\]"):
        circuit_counts([], 1, success_probability=0.0)
