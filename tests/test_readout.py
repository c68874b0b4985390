"""Finite-shot readout of the HHL output (issue 4): statistics, signs, randomness discipline."""

from __future__ import annotations

import random

import numpy as np
import pytest

from hybridsim.errors import SolverError
from hybridsim.quantum import hhl_solve
from hybridsim.quantum.readout import estimate_from_shots


def small_system():
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    a = (q * np.array([1.0, 2.0, 3.5, 5.0])) @ q.T
    # b = A x with no tiny component in x: a component |x_i| ≪ 1/√shots is unresolved and its
    # O(|x_i|) error would mask the 1/√shots law over the shot range tested.
    b = a @ np.array([1.0, -1.0, 0.5, -0.8])
    return a, b


def test_shot_error_converges_as_inverse_sqrt_shots():
    a, b = small_system()
    exact = hhl_solve(a, b, clock_qubits=5)
    root = np.random.default_rng(2024)
    shot_levels = [10**3, 10**4, 10**5, 10**6]
    errors = []
    for shots in shot_levels:
        gens = root.spawn(16)
        e = [
            np.linalg.norm(hhl_solve(a, b, clock_qubits=5, shots=shots, rng=g).state - exact.state)
            for g in gens
        ]
        errors.append(np.mean(e))
    slope = np.polyfit(np.log(shot_levels), np.log(errors), 1)[0]
    assert -0.65 < slope < -0.35, (slope, errors)
    assert errors[-1] < 0.01
    # Ten times the accuracy for a hundred times the shots, within statistical slack.
    assert 5.0 < errors[1] / errors[3] < 20.0


def test_success_probability_estimate_is_binomial():
    a, b = small_system()
    exact = hhl_solve(a, b, clock_qubits=5)
    shots = 40_000
    r = hhl_solve(a, b, clock_qubits=5, shots=shots, rng=np.random.default_rng(1))
    m = r.extra["magnitude_shots"]
    sigma = np.sqrt(exact.success_probability * (1 - exact.success_probability) / m)
    assert abs(r.success_probability - exact.success_probability) < 5 * sigma
    assert r.extra["magnitude_shots"] + r.extra["sign_shots"] == shots == r.shots
    assert r.signs == "interference"
    # The norm is recovered from the *estimated* success probability.
    d = 2**r.clock_qubits
    expected = (
        np.linalg.norm(b)
        * np.sqrt(r.success_probability)
        * r.evolution_time
        * d
        / (2 * np.pi * r.C)
    )
    assert np.linalg.norm(r.x) == pytest.approx(expected, rel=1e-12)


def test_interference_recovers_every_sign():
    psi = np.array([0.5, -0.4, 0.3, -0.3, 0.2, -0.5, 0.2, -0.25])
    psi = psi / np.linalg.norm(psi)
    est = estimate_from_shots(0.3 * psi**2, psi, 200_000, np.random.default_rng(3))
    np.testing.assert_array_equal(np.sign(est.state), np.sign(psi))
    assert np.linalg.norm(est.state - psi) < 0.02


def test_exact_state_flag_copies_signs_and_spends_all_shots_on_magnitudes():
    psi = np.array([0.6, -0.8, 0.0, 0.0])
    est = estimate_from_shots(psi**2, psi, 1000, np.random.default_rng(0), signs="exact_state")
    assert est.sign_shots == 0 and est.magnitude_shots == 1000
    assert est.state[1] < 0 < est.state[0]
    assert est.success_probability == 1.0


def test_complex_phases_from_two_interference_rounds():
    rng = np.random.default_rng(8)
    psi = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    psi = psi / np.linalg.norm(psi)
    est = estimate_from_shots(np.abs(psi) ** 2, psi, 400_000, np.random.default_rng(9), real=False)
    assert np.iscomplexobj(est.state)
    assert np.linalg.norm(est.state - psi) < 0.03


def test_same_seed_same_answer_and_seeds_matter():
    a, b = small_system()
    r1 = hhl_solve(a, b, clock_qubits=4, shots=5000, rng=np.random.default_rng(77))
    r2 = hhl_solve(a, b, clock_qubits=4, shots=5000, rng=np.random.default_rng(77))
    r3 = hhl_solve(a, b, clock_qubits=4, shots=5000, rng=np.random.default_rng(78))
    np.testing.assert_array_equal(r1.x, r2.x)
    assert not np.array_equal(r1.x, r3.x)


def test_no_global_random_state_is_touched():
    a, b = small_system()
    np.random.seed(12345)  # noqa: NPY002 - the legacy global state is what is being watched
    random.seed(12345)
    before_np, before_py = np.random.get_state(), random.getstate()  # noqa: NPY002
    hhl_solve(a, b, clock_qubits=4, shots=2000, rng=np.random.default_rng(0))
    after_np = np.random.get_state()  # noqa: NPY002
    assert random.getstate() == before_py
    assert before_np[0] == after_np[0] and before_np[2:] == after_np[2:]
    np.testing.assert_array_equal(before_np[1], after_np[1])


@pytest.mark.parametrize("bad_rng", [None, 42, np.random.RandomState(0)])
def test_shots_require_a_generator(bad_rng):
    a, b = small_system()
    with pytest.raises(SolverError, match="rng"):
        hhl_solve(a, b, clock_qubits=3, shots=100, rng=bad_rng)


def test_bad_shot_arguments():
    psi = np.array([1.0, 0.0])
    g = np.random.default_rng(0)
    with pytest.raises(SolverError, match="positive integer"):
        estimate_from_shots(psi**2, psi, 0, g)
    with pytest.raises(SolverError, match="shots >= 2"):
        estimate_from_shots(psi**2, psi, 1, g)
    with pytest.raises(SolverError, match="signs"):
        estimate_from_shots(psi**2, psi, 10, g, signs="guess")
    with pytest.raises(SolverError, match="postselection"):
        estimate_from_shots(1e-12 * psi**2, psi, 10, g)
