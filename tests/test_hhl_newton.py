"""A Newton solve whose linear systems are solved by the simulated HHL circuit (issue 4).

Until the training workload lands, the end-to-end check is a small L2-regularized logistic
regression on the bundled breast-cancer data (no download): Newton with HHL solves must
reach an accuracy within 1 percentage point of Newton with numpy solves.
"""

from __future__ import annotations

import numpy as np
import pytest

from hybridsim.quantum import hhl_solve

# Texture, smoothness, symmetry, fractal dimension (means), texture and smoothness errors, worst
# radius: informative but not collinear, so the regularized Hessian stays well conditioned (κ ≈ 9).
FEATURES = [1, 4, 8, 9, 11, 14, 20]
REG = 1e-2


def data():
    from hybridsim.workload.datasets import load_arrays

    x, y = load_arrays("breast_cancer")
    x = x[:, FEATURES]
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return np.hstack([x, np.ones((len(x), 1))]), y.astype(float)


def newton(x, y, solve, steps):
    w = np.zeros(x.shape[1])
    kappas = []
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        g = x.T @ (p - y) / len(y) + REG * w
        h = (x.T * (p * (1 - p))) @ x / len(y) + REG * np.eye(x.shape[1])
        kappas.append(np.linalg.cond(h))
        w = w - solve(h, g)
    accuracy = float(np.mean(((x @ w) > 0) == (y > 0.5)))
    return w, accuracy, kappas


@pytest.mark.parametrize("steps", [2, 6])
def test_newton_with_hhl_matches_numpy_accuracy(steps):
    x, y = data()
    solves = []

    def hhl(h, g):
        r = hhl_solve(h, g)
        solves.append(r)
        return r.x

    w_np, acc_np, kappas = newton(x, y, np.linalg.solve, steps)
    w_q, acc_q, _ = newton(x, y, hhl, steps)
    assert max(kappas) < 10.0
    assert abs(acc_q - acc_np) <= 0.01
    assert acc_np > 0.9
    assert len(solves) == steps and all(r.n_qubits == 1 + r.clock_qubits + 3 for r in solves)
    assert np.linalg.norm(w_q - w_np) / np.linalg.norm(w_np) < 0.02
    # Each step is HHL's answer, close to but not exactly the numpy solve (no silent fallback).
    h0, g0 = _system(x, y, np.zeros(x.shape[1]))
    exact0 = np.linalg.solve(h0, g0)
    assert solves[0].fidelity(exact0) > 0.999
    assert 1e-9 < np.linalg.norm(solves[0].x - exact0) / np.linalg.norm(exact0) < 0.02


def _system(x, y, w):
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    g = x.T @ (p - y) / len(y) + REG * w
    h = (x.T * (p * (1 - p))) @ x / len(y) + REG * np.eye(x.shape[1])
    return h, g
