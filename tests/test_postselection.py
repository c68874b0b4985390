"""Executed HHL jobs pay their postselection: 1/p runs per usable output, or amplification."""

import math

import numpy as np
import pytest

from hybridsim.costs.model import CostModel
from hybridsim.costs.quantum import amplitude_amplification, readout_runs, reflection_gates
from hybridsim.execution import execute, hhl_tuning, postselection_charge
from hybridsim.quantum.hhl import hhl_solve
from hybridsim.quantum.readout import estimate_from_shots
from hybridsim.scenario import load_scenario
from hybridsim.scheduling.base import SolveJob

GATES = {
    "gate_time_1q": "3 ns",
    "gate_time_2q": "7 ns",
    "measure_time": "1 us",
    "job_overhead": "1 ms",
}


def _system(n=8, kappa=20.0, seed=3):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    # One small eigenvalue, the rest near κ: their inverted amplitudes ≈ C/k are small, so the
    # postselection rarely succeeds, as for HHL on an ill-conditioned block.
    A = q @ np.diag([1.0, *np.linspace(kappa / 2, kappa, n - 1)]) @ q.T
    b = q[:, 1:] @ rng.standard_normal(n - 1) + 0.01 * q[:, 0]
    return (A + A.T) / 2.0, b


def _setup(accounting="paper", **quantum):
    sc = load_scenario(
        {
            "cluster": {"qpu": [{"name": "q", **GATES}], "gpu": [{"name": "g"}]},
            "workload": {
                "kind": "synthetic",
                "jobs": 1,
                "pool": "q",
                "arrival": {"dist": "deterministic", "interval_s": 1},
                "service": {"dist": "deterministic", "value_s": 1},
            },
            "costs": {"accounting": accounting, "epsilon": 0.05},
            "quantum": quantum,
        }
    )
    return sc, CostModel(sc.costs), sc.cluster.qpu[0]


def _job(A, b):
    return SolveJob(
        0, n=A.shape[0], d=A.shape[0], kappa_est=20.0, eigen_bounds=(1.0, 20.0), matrix=A, rhs=b
    )


def _reference(job, costs, quantum):
    """The circuit the executor builds, solved once more: its gates and its p."""
    kappa, lo, hi, clock = hhl_tuning(job, costs.config.epsilon, quantum)
    r = hhl_solve(
        job.matrix,
        job.rhs,
        clock_qubits=clock,
        kappa=kappa,
        lambda_min=lo,
        lambda_max=hi,
        eps=costs.config.epsilon,
    )
    return r, float(r.extra["p_success_exact"])


def _one_run_s(r, costs, group, job):
    from hybridsim.costs.quantum import gates_per_query

    spec = costs.qpu_spec(group)
    gc = r.gate_counts
    g = float(gates_per_query(costs.accounting.oracle, job.n, job.d))
    return (
        gc["n_1q_cx"] * spec.gate_time_1q_s
        + (gc["n_2q_cx"] + gc["u_applications"] * g) * spec.gate_time_2q_s
    )


def test_executed_hhl_without_shots_is_charged_one_over_p_runs():
    sc, costs, group = _setup()
    A, b = _system()
    job = _job(A, b)
    out = execute(job, group, costs, sc.quantum, np.random.default_rng(0))
    r, p = _reference(job, costs, sc.quantum)
    assert out.solver == "hhl" and 0.0 < p < 0.05  # a small postselection probability
    # One usable output (readout "none") costs 1/p runs; the old charge was one run.
    assert out.shots == math.ceil(1.0 / p - 1e-9) > 1
    assert out.compute_s == pytest.approx(_one_run_s(r, costs, group, job) / p, rel=1e-12)
    assert out.readout_s == 0.0  # paper accounting charges no measurement
    assert out.aa_rounds == 0


def test_executed_hhl_with_a_readout_model_pays_runs_over_p():
    sc, costs, group = _setup(accounting="full")
    A, b = _system()
    job = _job(A, b)
    out = execute(job, group, costs, sc.quantum, np.random.default_rng(0))
    r, p = _reference(job, costs, sc.quantum)
    usable = float(readout_runs(costs.accounting.readout, job.n, costs.config.epsilon))
    runs = usable / p
    spec = costs.qpu_spec(group)
    assert out.shots == math.ceil(runs - 1e-9)
    assert out.compute_s == pytest.approx(runs * _one_run_s(r, costs, group, job), rel=1e-12)
    assert out.readout_s == pytest.approx(runs * (spec.measure_time_s + spec.reset_time_s))
    jobs = math.ceil(runs / spec.max_shots_per_job)
    assert out.overhead_s == pytest.approx(jobs * spec.job_overhead_s)


def test_executed_hhl_shots_are_usable_samples_each_costing_one_over_p():
    sc, costs, group = _setup(shots=2000)
    A, b = _system()
    job = _job(A, b)
    out = execute(job, group, costs, sc.quantum, np.random.default_rng(5))
    r, p = _reference(job, costs, sc.quantum)
    spec = costs.qpu_spec(group)
    runs = 2000 / p
    assert out.shots == math.ceil(runs - 1e-9)
    assert out.compute_s == pytest.approx(runs * _one_run_s(r, costs, group, job), rel=1e-12)
    assert out.readout_s == pytest.approx(runs * (spec.measure_time_s + spec.reset_time_s))
    assert out.fidelity > 0.9  # 2000 usable samples, however small p is


def test_amplitude_amplification_rounds_and_gate_cost():
    sc, costs, group = _setup(amplitude_amplification=True)
    plain_sc, plain_costs, _ = _setup()
    A, b = _system()
    job = _job(A, b)
    out = execute(job, group, costs, sc.quantum, np.random.default_rng(0))
    plain = execute(job, group, plain_costs, plain_sc.quantum, np.random.default_rng(0))
    r, p = _reference(job, costs, sc.quantum)
    aa = amplitude_amplification(p)
    assert out.aa_rounds == aa.rounds == math.floor(math.pi / (4 * math.asin(math.sqrt(p))))
    assert aa.rounds == pytest.approx(math.pi / (4 * math.sqrt(p)), abs=1.0)
    assert aa.success_probability >= 1 - p
    # Cost of one amplified execution: 2k+1 passes and k reflections about the flag (ancilla +
    # clock) and about the all-zero input, all qubits.
    spec = costs.qpu_spec(group)
    f2, f1 = reflection_gates(1 + r.clock_qubits)
    z2, z1 = reflection_gates(r.n_qubits)
    one = _one_run_s(r, costs, group, job)
    refl = (f1 + z1) * spec.gate_time_1q_s + (f2 + z2) * spec.gate_time_2q_s
    expected = (aa.passes * one + aa.rounds * refl) / aa.success_probability
    assert out.compute_s == pytest.approx(expected, rel=1e-12)
    assert out.shots == math.ceil(1 / aa.success_probability - 1e-9) == 2
    # Quadratically fewer passes: (2k+1) ≈ π/(2√p) against 1/p.
    assert out.compute_s < plain.compute_s
    assert np.allclose(out.solution, plain.solution)  # the answer does not change


def test_postselection_charge_by_hand():
    gc = {"n_1q_cx": 100, "n_2q_cx": 50, "u_applications": 10}
    c = postselection_charge(gc, 0.04, 3.0, gates_per_query=2.0, n_qubits=6, flag_qubits=3)
    assert (c.executions, c.n_1q, c.n_2q, c.rounds, c.passes) == (75.0, 100.0, 70.0, 0, 1)
    aa = postselection_charge(
        gc, 0.04, 3.0, gates_per_query=2.0, n_qubits=6, flag_qubits=3, amplify=True
    )
    # θ = asin(0.2) = 0.2014, k = ⌊π/(4θ)⌋ = 3, success sin²(7θ) = 0.98...
    assert (aa.rounds, aa.passes) == (3, 7)
    (f2, f1), (z2, z1) = reflection_gates(3), reflection_gates(6)
    assert (f2, f1, z2, z1) == (13.0, 26.0, 49.0, 86.0)
    assert aa.n_2q == 7 * 70 + 3 * (13 + 49) and aa.n_1q == 7 * 100 + 3 * (26 + 86)
    assert aa.executions == pytest.approx(3.0 / math.sin(7 * math.asin(0.2)) ** 2)
    with pytest.raises(ValueError):
        postselection_charge(gc, 0.0, 1.0, gates_per_query=1.0, n_qubits=6, flag_qubits=3)


def test_postselected_readout_draws_the_failed_executions():
    x = np.array([0.6, -0.8])
    p = 0.01
    est = estimate_from_shots(p * x**2, x, 4000, np.random.default_rng(1), postselected=True)
    assert est.successes == est.magnitude_shots == 2000 and est.sign_shots == 2000
    # 4000 usable samples need about 4000/p executions; p̂ from the magnitude round.
    assert est.executions == pytest.approx(4000 / p, rel=0.05)
    assert est.success_probability == pytest.approx(p, rel=0.1)
    assert np.allclose(est.state, x, atol=0.03)
    plain = estimate_from_shots(p * x**2, x, 4000, np.random.default_rng(1))
    assert plain.executions == 4000 and plain.successes < 60  # the old meaning: executions


def test_amplitude_amplification_is_skipped_when_it_would_not_pay():
    for p in (0.32, 0.5, 0.9, 1.0):
        aa = amplitude_amplification(p)
        assert aa.rounds == 0 and aa.executions_per_output == pytest.approx(1 / p)
    small = amplitude_amplification(0.3)
    assert small.rounds == 1 and small.passes / small.success_probability < 1 / 0.3
