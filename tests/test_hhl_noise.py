"""Optional noise of the HHL executor (issue 4 item 4): density-matrix mode and readout flips."""

from __future__ import annotations

import numpy as np
import pytest

from hybridsim.errors import SolverError
from hybridsim.quantum import NoiseModel, hhl_solve
from hybridsim.quantum.noise import apply_readout_error

A = np.array([[2.0, 0.5], [0.5, 1.0]])
B = np.array([1.0, -0.5])
X_REF = np.linalg.solve(A, B)


def test_zero_noise_density_path_equals_state_vector():
    pure = hhl_solve(A, B, clock_qubits=4)
    dens = hhl_solve(A, B, clock_qubits=4, noise=NoiseModel(p_1q=0.0, p_2q=1e-300))
    np.testing.assert_allclose(dens.x, pure.x, atol=1e-9)
    assert dens.success_probability == pytest.approx(pure.success_probability, abs=1e-9)


def test_density_matrix_path_applies_the_same_unitaries():
    from hybridsim.quantum.simulate import run_density, run_statevector

    qc = hhl_solve(A, B, clock_qubits=3).circuit
    psi0 = np.zeros(2**qc.N, dtype=complex)
    psi0[0] = 1.0
    psi = run_statevector(qc, psi0)
    rho = run_density(qc, np.outer(psi0, psi0))
    np.testing.assert_allclose(rho, np.outer(psi, psi.conj()), atol=1e-12)


def test_depolarizing_noise_degrades_the_answer_monotonically():
    # Measured against the noiseless circuit's output: against the exact solution a little noise
    # can happen to cancel part of HHL's own discretization error.
    pure = hhl_solve(A, B, clock_qubits=4)
    infid, norm_err = [], []
    for p in (1e-4, 1e-3, 1e-2, 5e-2):
        r = hhl_solve(A, B, clock_qubits=4, noise=NoiseModel(p_1q=p / 10, p_2q=p))
        infid.append(1 - r.fidelity(pure.x))
        norm_err.append(abs(np.linalg.norm(r.x) / np.linalg.norm(pure.x) - 1))
    assert infid[0] < infid[1] < infid[2] < infid[3]
    assert norm_err[0] < norm_err[1] < norm_err[2] < norm_err[3]
    assert infid[0] < 1e-6 and infid[3] > 1e-3 and norm_err[3] > 0.1


def test_density_state_is_physical():
    from hybridsim.quantum.simulate import run_density

    qc = hhl_solve(A, B, clock_qubits=3).circuit
    rho0 = np.zeros((2**qc.N, 2**qc.N), dtype=complex)
    rho0[0, 0] = 1.0
    rho = run_density(qc, rho0, p1=0.01, p2=0.05)
    assert np.trace(rho).real == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(rho, rho.conj().T, atol=1e-12)
    assert np.linalg.eigvalsh(rho).min() > -1e-12


def test_readout_error_channel():
    p = np.array([1.0, 0.0, 0.0, 0.0])  # |00>
    np.testing.assert_allclose(apply_readout_error(p, 2, 0.1), [0.81, 0.09, 0.09, 0.01])
    q = np.random.default_rng(0).dirichlet(np.ones(8))
    assert apply_readout_error(q, 3, 0.2).sum() == pytest.approx(1.0)


def test_readout_error_changes_shot_estimates_only():
    kw = dict(clock_qubits=4, shots=200_000)
    clean = hhl_solve(A, B, rng=np.random.default_rng(5), **kw)
    noisy = hhl_solve(A, B, rng=np.random.default_rng(5), noise=NoiseModel(p_readout=0.05), **kw)
    # Misread clock/ancilla bits let failures through and reject successes: p changes.
    assert abs(noisy.success_probability - clean.success_probability) > 0.005
    assert 1 - noisy.fidelity(X_REF) > 1 - clean.fidelity(X_REF)


def test_noise_limits_and_validation():
    with pytest.raises(SolverError, match="density"):
        hhl_solve(np.eye(4) + 0.1, np.ones(4), clock_qubits=8, noise=NoiseModel(p_2q=1e-3))
    with pytest.raises(SolverError, match="needs shots"):
        hhl_solve(A, B, noise=NoiseModel(p_readout=0.01))
    with pytest.raises(SolverError, match="NoiseModel"):
        hhl_solve(A, B, noise={"p_2q": 0.1})
    with pytest.raises(ValueError, match="p_2q"):
        NoiseModel(p_2q=1.5)
    with pytest.raises(ValueError, match="p_readout"):
        NoiseModel(p_readout=0.7)
