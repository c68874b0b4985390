"""Newton update scattering/clipping, SGD with momentum, Adam and the warm-up schedule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hybridsim.errors import SolverError
from hybridsim.workload.mlp import MLPSpec, hessian_blocks, init_params
from hybridsim.workload.optimizers import (
    QNEWTON_CLIP,
    SGD,
    Adam,
    linear_warmup_decay,
    newton_direction,
    newton_update,
)


def _setup(partition="neuron", chunk_size=None):
    rng = np.random.default_rng(0)
    spec = MLPSpec((3, 4, 2), "tanh")
    params = init_params(spec, rng)
    X = rng.standard_normal((5, 3))
    y = rng.integers(0, 2, 5)
    blocks = hessian_blocks(spec, params, X, y, partition=partition, chunk_size=chunk_size)
    return spec, params, blocks


@pytest.mark.parametrize(
    "partition,cs", [("layer", None), ("neuron", None), ("chunk", 3), ("full", None)]
)
def test_newton_update_scatters_each_solution_entry(partition, cs):
    _, params, blocks = _setup(partition, cs)
    # Distinct values per (block, row) so a mis-scatter cannot go unnoticed.
    sols = [100.0 * k + np.arange(b.n) for k, b in enumerate(blocks)]
    new = newton_update(params, blocks, sols, lr=0.5)
    for k, b in enumerate(blocks):
        row = 0
        for pi, idx in b.segments:
            got = (params[pi].ravel()[idx] - new[pi].ravel()[idx]) / 0.5
            np.testing.assert_allclose(got, sols[k][row : row + idx.size], rtol=0, atol=1e-9)
            row += idx.size
    assert [p.shape for p in new] == [p.shape for p in params]


def test_uncovered_entries_unchanged_and_inputs_untouched():
    _, params, blocks = _setup("layer")
    copies = [p.copy() for p in params]
    keep = [b for b in blocks if b.param_index != 0]  # W1 not covered
    new = newton_update(params, keep, [np.ones(b.n) for b in keep])
    np.testing.assert_array_equal(new[0], params[0])
    np.testing.assert_array_equal(new[1], params[1] - 1.0)
    for a, b in zip(params, copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_elementwise_clip_like_qnewton_code():
    _, params, blocks = _setup("layer")
    sols = [np.full(b.n, 250.0) * (-1) ** k for k, b in enumerate(blocks)]
    d = newton_direction(params, blocks, sols, clip=QNEWTON_CLIP)
    assert QNEWTON_CLIP == 100.0
    assert all(np.all(np.abs(x) == 100.0) for x in d)
    np.testing.assert_array_equal(d[0], np.full(params[0].shape, 100.0))
    np.testing.assert_array_equal(d[1], np.full(params[1].shape, -100.0))


def test_max_norm_rescales_globally():
    _, params, blocks = _setup("layer")
    sols = [np.full(b.n, 3.0) for b in blocks]
    n_total = sum(b.n for b in blocks)
    d = newton_direction(params, blocks, sols, max_norm=1.0)
    norm = np.sqrt(sum(float(np.sum(x * x)) for x in d))
    assert norm == pytest.approx(1.0)
    assert d[0].ravel()[0] == pytest.approx(1.0 / np.sqrt(n_total))
    # Below the bound: untouched.
    d2 = newton_direction(params, blocks, sols, max_norm=1e6)
    assert d2[0].ravel()[0] == 3.0


def test_newton_update_rejects_bad_input():
    _, params, blocks = _setup("layer")
    good = [np.zeros(b.n) for b in blocks]
    with pytest.raises(ValueError, match="solutions"):
        newton_update(params, blocks, good[:-1])
    with pytest.raises(ValueError, match="entries"):
        newton_update(params, blocks, [np.zeros(b.n + 1) for b in blocks])
    with pytest.raises(ValueError, match="overlap"):
        newton_update(params, blocks + blocks[:1], good + good[:1])
    bad = list(good)
    bad[2] = np.full(blocks[2].n, np.nan)
    with pytest.raises(SolverError):
        newton_update(params, blocks, bad)
    with pytest.raises(ValueError):
        newton_update(params, blocks, good, clip=0.0)


def test_sgd_momentum_matches_hand_recursion():
    opt = SGD(lr=0.1, momentum=0.5, weight_decay=0.2)
    p = (np.array([1.0, -2.0]),)
    state = opt.init(p)
    grads = [np.array([1.0, 0.0]), np.array([0.5, 1.0]), np.array([-1.0, 2.0])]
    theta, v = np.array([1.0, -2.0]), np.zeros(2)
    for g in grads:
        p, state = opt.step(p, (g,), state)
        gg = g + 0.2 * theta
        v = 0.5 * v + gg
        theta = theta - 0.1 * v
        np.testing.assert_allclose(p[0], theta, rtol=0, atol=1e-15)
    assert not state.velocity[0].flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.velocity = ()  # type: ignore[misc]


def test_sgd_nesterov_and_lr_override():
    opt = SGD(lr=1.0, momentum=0.9, nesterov=True)
    p = (np.array([0.0]),)
    s = opt.init(p)
    p, s = opt.step(p, (np.array([1.0]),), s, lr=0.1)
    # v = 1, d = g + 0.9 v = 1.9
    assert p[0][0] == pytest.approx(-0.19)


def test_adam_matches_reference_formulas():
    opt = Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6)
    p = (np.array([0.3, -0.7]),)
    s = opt.init(p)
    theta, m, v = np.array([0.3, -0.7]), np.zeros(2), np.zeros(2)
    rng = np.random.default_rng(1)
    for t in range(1, 6):
        g = rng.standard_normal(2)
        p, s = opt.step(p, (g,), s)
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g * g
        theta = theta - 0.01 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-6)
        np.testing.assert_allclose(p[0], theta, rtol=1e-13)
    assert s.step == 5


def test_first_order_optimizers_minimize_a_quadratic():
    A = np.diag([1.0, 10.0])
    for opt in (SGD(lr=0.05, momentum=0.9), Adam(lr=0.05)):
        p = (np.array([3.0, -2.0]),)
        s = opt.init(p)
        for _ in range(500):
            p, s = opt.step(p, (A @ p[0],), s)
        assert np.linalg.norm(p[0]) < 1e-3, type(opt).__name__


@pytest.mark.parametrize("kwargs", [{"lr": 0.0}, {"momentum": 1.0}, {"weight_decay": -1.0}])
def test_sgd_validation(kwargs):
    with pytest.raises(ValueError):
        SGD(**kwargs)


def test_shape_mismatch_is_an_error():
    opt = SGD()
    p = (np.zeros(2),)
    with pytest.raises(ValueError):
        opt.step(p, (np.zeros(3),), opt.init(p))


def test_linear_warmup_decay():
    lrs = [linear_warmup_decay(s, peak_lr=0.2, warmup_steps=4, total_steps=12) for s in range(14)]
    assert lrs[0] == 0.0 and lrs[4] == pytest.approx(0.2) and lrs[12] == 0.0 and lrs[13] == 0.0
    assert lrs[2] == pytest.approx(0.1) and lrs[8] == pytest.approx(0.1)
    with pytest.raises(ValueError):
        linear_warmup_decay(0, peak_lr=1.0, warmup_steps=5, total_steps=3)
