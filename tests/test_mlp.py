"""The numpy MLP: gradients, curvature blocks, FLOP counts and Newton training on real data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

from hybridsim.workload.datasets import batches, load_dataset
from hybridsim.workload.mlp import (
    ACTIVATIONS,
    MLPSpec,
    accuracy,
    block_sizes,
    forward,
    forward_backward_flops,
    hessian_blocks,
    hessian_flops,
    init_params,
    loss_and_accuracy,
    loss_and_grad,
    newton_update,
    per_sample_grads,
    predict_proba,
    update_flops,
)
from hybridsim.workload.optimizers import SGD

# ---------------------------------------------------------------------------------------------
# helpers


def _flat(params):
    return np.concatenate([np.ravel(p) for p in params])


def _unflat(spec, v):
    out, i = [], 0
    for s in spec.param_shapes:
        n = int(np.prod(s))
        out.append(v[i : i + n].reshape(s))
        i += n
    return tuple(out)


def _offsets(spec):
    return np.cumsum([0] + [int(np.prod(s)) for s in spec.param_shapes])


def _global_indices(spec, block):
    off = _offsets(spec)
    return np.concatenate([off[pi] + idx for pi, idx in block.segments])


def _problem(sizes=(3, 4, 2), activation="tanh", batch=6, seed=0):
    rng = np.random.default_rng(seed)
    spec = MLPSpec(sizes, activation)
    params = tuple(p + 0.2 * rng.standard_normal(p.shape) for p in init_params(spec, rng))
    X = rng.standard_normal((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], batch)
    return spec, params, X, y


def _shape(M, eps):
    """The paper's regularization H + eps·(max|H| + 1e-10)·I, written here so the test does not
    depend on hybridsim.linalg."""
    return M + eps * (np.abs(M).max() + 1e-10) * np.eye(M.shape[0])


# ---------------------------------------------------------------------------------------------
# forward, loss, gradients


def test_forward_matches_explicit_formula():
    spec, params, X, _ = _problem((3, 4, 5, 2), "sigmoid")
    W1, b1, W2, b2, W3, b3 = params
    s = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    expected = s(s(X @ W1 + b1) @ W2 + b2) @ W3 + b3
    np.testing.assert_allclose(forward(spec, params, X), expected, rtol=1e-13)
    np.testing.assert_allclose(predict_proba(spec, params, X).sum(axis=1), 1.0)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_finite_differences(activation):
    spec, params, X, y = _problem((3, 5, 4, 3), activation, batch=7)
    l2 = 0.03
    _, grads = loss_and_grad(spec, params, X, y, l2=l2)
    theta = _flat(params)
    f = lambda v: loss_and_grad(spec, _unflat(spec, v), X, y, l2=l2)[0]  # noqa: E731
    h = 1e-6
    fd = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    np.testing.assert_allclose(_flat(grads), fd, rtol=0, atol=1e-8)


def test_loss_is_mean_cross_entropy_plus_l2():
    spec, params, X, y = _problem((3, 2), "identity", batch=4)
    z = X @ params[0] + params[1]
    ce = np.mean(logsumexp(z, axis=1) - z[np.arange(4), y])
    l2 = 0.5
    expected = ce + 0.25 * (np.sum(params[0] ** 2) + np.sum(params[1] ** 2))
    assert loss_and_grad(spec, params, X, y, l2=l2)[0] == pytest.approx(expected, rel=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    classes=st.integers(2, 6),
    activation=st.sampled_from(ACTIVATIONS),
    batch=st.integers(1, 30),
    l2=st.sampled_from([0.0, 1e-3, 0.7]),
    seed=st.integers(0, 2**32 - 1),
)
def test_loss_and_accuracy_are_loss_and_grad_and_accuracy_bit_for_bit(
    sizes, classes, activation, batch, l2, seed
):
    """The per-step evaluation's one forward pass gives the numbers of the two calls it replaces
    (a training run records them, and its outputs must not move)."""
    spec = MLPSpec((*sizes, classes), activation)
    rng = np.random.default_rng(seed)
    params = init_params(spec, rng)
    X = rng.standard_normal((batch, sizes[0])) * 3.0
    y = rng.integers(0, classes, batch)
    loss, acc = loss_and_accuracy(spec, params, X, y, l2=l2)
    assert loss.hex() == loss_and_grad(spec, params, X, y, l2=l2)[0].hex()
    assert acc.hex() == accuracy(spec, params, X, y).hex()
    with pytest.raises(ValueError):
        loss_and_accuracy(spec, params, X, y + classes)


def test_per_sample_grads_average_to_the_batch_gradient():
    spec, params, X, y = _problem((4, 6, 5, 3), "relu", batch=9)
    ps = per_sample_grads(spec, params, X, y)
    _, g = loss_and_grad(spec, params, X, y)
    for a, b, p in zip(ps, g, params, strict=True):
        assert a.shape == (9, *p.shape)
        np.testing.assert_allclose(a.sum(axis=0) / 9, b, rtol=0, atol=1e-15)
    # And each slice is that sample's own gradient.
    _, g3 = loss_and_grad(spec, params, X[3:4], y[3:4])
    for a, b in zip(ps, g3, strict=True):
        np.testing.assert_allclose(a[3], b, rtol=0, atol=1e-15)


def test_accuracy_and_input_validation():
    spec, params, X, y = _problem((3, 2), "identity", batch=5)
    pred = forward(spec, params, X).argmax(axis=1)
    assert accuracy(spec, params, X, pred) == 1.0
    with pytest.raises(ValueError):
        forward(spec, params, X[:, :2])
    with pytest.raises(ValueError):
        loss_and_grad(spec, params, X, y + 5)
    with pytest.raises(ValueError):
        forward(spec, params[:1], X)
    with pytest.raises(ValueError):
        MLPSpec((3, 2), "gelu")
    with pytest.raises(ValueError):
        MLPSpec((3,), "tanh")


def test_init_is_deterministic_and_uses_only_the_generator():
    spec = MLPSpec((64, 32, 10), "relu")
    a = init_params(spec, np.random.default_rng(7))
    b = init_params(spec, np.random.default_rng(7))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[0].std() == pytest.approx(np.sqrt(2 / 64), rel=0.1)  # He
    assert np.all(a[1] == 0)


# ---------------------------------------------------------------------------------------------
# curvature blocks


def _fd_hessian_of_loss(spec, params, X, y, l2, h=1e-4):
    """Hessian of the loss by second differences of loss *values* only."""
    theta = _flat(params)
    n = theta.size
    f = lambda v: loss_and_grad(spec, _unflat(spec, v), X, y, l2=l2)[0]  # noqa: E731
    E = np.eye(n) * h
    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            H[i, j] = H[j, i] = (
                f(theta + E[i] + E[j])
                - f(theta + E[i] - E[j])
                - f(theta - E[i] + E[j])
                + f(theta - E[i] - E[j])
            ) / (4 * h * h)
    return H


@pytest.mark.parametrize("l2", [0.0, 0.1])
def test_gauss_newton_equals_finite_difference_hessian_for_linear_softmax(l2):
    # No hidden layer: the logits are linear in θ, so Gauss–Newton is the exact Hessian.
    spec, params, X, y = _problem((4, 3), "identity", batch=8, seed=2)
    H = _fd_hessian_of_loss(spec, params, X, y, l2)
    for partition in ("full", "layer", "neuron"):
        blocks = hessian_blocks(spec, params, X, y, kind="gauss_newton", partition=partition, l2=l2)
        for b in blocks:
            gi = _global_indices(spec, b)
            np.testing.assert_allclose(b.matrix, H[np.ix_(gi, gi)], rtol=0, atol=1e-6)
    full = hessian_blocks(spec, params, X, y, kind="gauss_newton", partition="full", l2=l2)[0]
    assert np.abs(full.matrix - H).max() < 1e-6
    # The Fisher is *not* the Hessian (it would make this test pass vacuously otherwise).
    fisher = hessian_blocks(spec, params, X, y, kind="fisher", partition="full", l2=l2)[0]
    assert np.abs(fisher.matrix - H).max() > 1e-3


def test_gauss_newton_matches_its_definition_with_hidden_layers():
    spec, params, X, y = _problem((3, 4, 3), "tanh", batch=5, seed=4)
    theta = _flat(params)
    h = 1e-6
    G = np.zeros((theta.size, theta.size))
    for n in range(X.shape[0]):
        z = lambda v, n=n: forward(spec, _unflat(spec, v), X[n : n + 1])[0]  # noqa: E731
        J = np.stack(
            [(z(theta + h * e) - z(theta - h * e)) / (2 * h) for e in np.eye(theta.size)], axis=1
        )
        p = predict_proba(spec, params, X[n : n + 1])[0]
        G += J.T @ (np.diag(p) - np.outer(p, p)) @ J / X.shape[0]
    full = hessian_blocks(spec, params, X, y, kind="gauss_newton", partition="full")[0]
    np.testing.assert_allclose(full.matrix, G, rtol=0, atol=1e-8)


def test_fisher_block_hand_checked_tiny_case():
    # Two samples, zero weights: p = (1/2, 1/2); per-sample gradients are outer(x, p - e_y).
    spec = MLPSpec((2, 2), "identity")
    params = (np.zeros((2, 2)), np.zeros(2))
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1])
    W, b = hessian_blocks(spec, params, X, y, kind="fisher", partition="layer")
    q = 0.125  # (1/2)·(0.5·0.5)
    np.testing.assert_allclose(
        W.matrix,
        [[q, -q, 0, 0], [-q, q, 0, 0], [0, 0, q, -q], [0, 0, -q, q]],
        rtol=0,
        atol=1e-15,
    )
    np.testing.assert_allclose(b.matrix, [[0.25, -0.25], [-0.25, 0.25]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(W.grad, [-0.25, 0.25, 0.25, -0.25], rtol=0, atol=1e-15)
    assert (W.name, W.param_index, b.name, b.param_index) == ("W1", 0, "b1", 1)


def test_fisher_is_mean_outer_product_of_per_sample_grads():
    spec, params, X, y = _problem((3, 4, 3), "relu", batch=7, seed=5)
    ps = per_sample_grads(spec, params, X, y)
    for b in hessian_blocks(spec, params, X, y, kind="fisher", partition="layer"):
        g = ps[b.param_index].reshape(7, -1)
        np.testing.assert_allclose(b.matrix, g.T @ g / 7, rtol=1e-12, atol=1e-15)
        assert np.linalg.matrix_rank(b.matrix) <= 7


@pytest.mark.parametrize("kind", ["fisher", "gauss_newton"])
@pytest.mark.parametrize(
    "partition,cs", [("layer", None), ("neuron", None), ("chunk", 5), ("chunk", 1000)]
)
def test_blocks_are_principal_submatrices_covering_all_params(kind, partition, cs):
    spec, params, X, y = _problem((3, 4, 3), "tanh", batch=6, seed=6)
    full = hessian_blocks(spec, params, X, y, kind=kind, partition="full", l2=0.01)[0]
    blocks = hessian_blocks(
        spec, params, X, y, kind=kind, partition=partition, chunk_size=cs, l2=0.01
    )
    seen = np.concatenate([_global_indices(spec, b) for b in blocks])
    np.testing.assert_array_equal(np.sort(seen), np.arange(spec.n_params))
    _, g = loss_and_grad(spec, params, X, y, l2=0.01)
    gflat = _flat(g)
    for b in blocks:
        gi = _global_indices(spec, b)
        np.testing.assert_allclose(b.matrix, full.matrix[np.ix_(gi, gi)], rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(b.grad, gflat[gi])
        np.testing.assert_array_equal(b.matrix, b.matrix.T)
        assert np.linalg.eigvalsh(b.matrix).min() > -1e-12
        assert not b.matrix.flags.writeable and not b.grad.flags.writeable
    assert block_sizes(spec, partition, cs) == tuple(b.n for b in blocks)


def test_partition_sizes():
    spec = MLPSpec((64, 32, 10), "tanh")
    assert block_sizes(spec, "layer") == (2048, 32, 320, 10)
    assert block_sizes(spec, "neuron") == (65,) * 32 + (33,) * 10
    assert block_sizes(spec, "chunk", 1000) == (1000, 1000, 48, 32, 320, 10)
    assert block_sizes(spec, "full") == (spec.n_params,)
    with pytest.raises(ValueError):
        block_sizes(spec, "chunk")
    with pytest.raises(ValueError):
        block_sizes(spec, "layer", 10)
    with pytest.raises(ValueError):
        block_sizes(spec, "row")  # type: ignore[arg-type]


def test_neuron_block_is_incoming_weights_then_bias():
    spec, params, X, y = _problem((3, 4, 2), "tanh")
    b = hessian_blocks(spec, params, X, y, partition="neuron")[5]  # layer 2, neuron 1
    assert b.name == "L2.n1" and b.param_index == 2
    np.testing.assert_array_equal(b.flat_indices, [1, 3, 5, 7])  # column 1 of a 4x2 W
    ((pi, idx),) = b.extra
    assert pi == 3 and list(idx) == [1]


# ---------------------------------------------------------------------------------------------
# FLOP counts


def test_flop_counts_by_hand():
    spec = MLPSpec((3, 4, 2), "tanh")
    # forward 120+20+20 + 80+10, softmax-CE 60, backward 120+20 + 80+10+80+40
    assert forward_backward_flops(spec, 5) == 660
    # factors 5·(12+8); Gram 2·5·(12²+4²+8²+2²)
    assert hessian_flops(spec, 5, "fisher", "layer") == 100 + 2280
    # seeds 3·5·2²; backprop of 2 seeds 2·5·2·4·2 + 2·5·2·4; factors 5·2·20; Gram 2·10·228
    assert hessian_flops(spec, 5, "gauss_newton", "layer") == 60 + 240 + 200 + 4560
    # neuron, per layer 2·B·K·n_out + B·(n_in+1)² + 2·B·n_out·(n_in+1)²:
    # layer 1: 40 + 80 + 640; layer 2: 20 + 125 + 500
    assert hessian_flops(spec, 5, "fisher", "neuron") == 760 + 645
    assert update_flops(spec) == 2 * spec.n_params
    assert update_flops(spec, clip=True, max_norm=True) == 6 * spec.n_params


def test_flops_scale_as_expected():
    spec = MLPSpec((64, 32, 10), "tanh")
    assert forward_backward_flops(spec, 200) == 2 * forward_backward_flops(spec, 100)
    f_layer = hessian_flops(spec, 256, "fisher", "layer")
    assert hessian_flops(spec, 256, "gauss_newton", "layer") > 9 * f_layer
    assert hessian_flops(spec, 256, "fisher", "neuron") < f_layer / 10
    with pytest.raises(ValueError):
        hessian_flops(spec, 0)


# ---------------------------------------------------------------------------------------------
# Newton training


def _scipy_logreg_optimum(X, y, n_classes, l2):
    """Multinomial logistic regression + (l2/2)·‖θ‖², written independently of hybridsim."""
    n, f = X.shape
    Y = np.eye(n_classes)[y]

    def fun(v):
        W, b = v[: f * n_classes].reshape(f, n_classes), v[f * n_classes :]
        Z = X @ W + b
        lse = logsumexp(Z, axis=1)
        loss = np.mean(lse - np.sum(Z * Y, axis=1)) + 0.5 * l2 * v @ v
        P = np.exp(Z - lse[:, None])
        gW = X.T @ (P - Y) / n
        gb = (P - Y).mean(axis=0)
        return loss, np.concatenate([gW.ravel(), gb]) + l2 * v

    res = scipy.optimize.minimize(
        fun,
        np.zeros(f * n_classes + n_classes),
        jac=True,
        method="L-BFGS-B",
        options={"ftol": 0.0, "gtol": 1e-12, "maxiter": 10000},
    )
    return res.fun, res.x


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_newton_logistic_regression_reaches_scipy_optimum(name):
    ds = load_dataset(name, rng=np.random.default_rng(0))
    X, y, l2 = ds.X_train, ds.y_train, 1e-2
    spec = MLPSpec((ds.n_features, ds.n_classes), "identity")
    f_opt, x_opt = _scipy_logreg_optimum(X, y, ds.n_classes, l2)

    # Full Newton (one block = the exact Hessian): quadratic convergence, at the optimum in <= 8.
    params = tuple(np.zeros(s) for s in spec.param_shapes)
    gaps = []
    for _ in range(8):
        blocks = hessian_blocks(spec, params, X, y, kind="gauss_newton", partition="full", l2=l2)
        params = newton_update(params, blocks, [np.linalg.solve(b.matrix, b.grad) for b in blocks])
        gaps.append(loss_and_grad(spec, params, X, y, l2=l2)[0] - f_opt)
    assert abs(gaps[-1]) < 1e-12
    np.testing.assert_allclose(_flat(params), x_opt, rtol=0, atol=1e-6)

    # The paper's layer blocks (W and b separately): block-diagonal Newton, linear convergence.
    params = tuple(np.zeros(s) for s in spec.param_shapes)
    for _ in range(25):
        blocks = hessian_blocks(spec, params, X, y, kind="gauss_newton", partition="layer", l2=l2)
        params = newton_update(params, blocks, [np.linalg.solve(b.matrix, b.grad) for b in blocks])
    assert loss_and_grad(spec, params, X, y, l2=l2)[0] - f_opt < 1e-7


# Settings of the digits comparison (also quoted in docs/background/training.md).
DIGITS_SIZES = (64, 32, 10)
DIGITS_BATCH = 256
SGD_LRS = (0.1, 0.3, 1.0, 2.0, 3.0)  # momentum 0.9; the best of these is the baseline


def _steps_to_target(seed, step_fn, init_state, max_steps, target=0.9):
    ds = load_dataset("digits", rng=np.random.default_rng(seed))
    spec = MLPSpec(DIGITS_SIZES, "tanh")
    params = init_params(spec, np.random.default_rng(seed + 1))
    data_rng = np.random.default_rng(seed + 2)
    state = init_state(params)
    step = 0
    while step < max_steps:
        for idx in batches(ds.y_train.size, DIGITS_BATCH, data_rng):
            params, state = step_fn(spec, params, state, ds.X_train[idx], ds.y_train[idx])
            step += 1
            if accuracy(spec, params, ds.X_test, ds.y_test) >= target:
                return step
            if step >= max_steps:
                break
    return max_steps + 1  # not reached


def _newton_step(kind, partition, eps, lr):
    def step(spec, params, state, X, y):
        blocks = hessian_blocks(spec, params, X, y, kind=kind, partition=partition)
        sols = [np.linalg.solve(_shape(b.matrix, eps), b.grad) for b in blocks]
        return newton_update(params, blocks, sols, lr=lr), state

    return step


def _sgd_step(lr):
    opt = SGD(lr=lr, momentum=0.9)

    def step(spec, params, state, X, y):
        _, g = loss_and_grad(spec, params, X, y)
        return opt.step(params, g, state)

    return step, opt.init


def _best_sgd_median(seeds, max_steps=40):
    medians = []
    for lr in SGD_LRS:
        fn, init = _sgd_step(lr)
        medians.append(np.median([_steps_to_target(s, fn, init, max_steps) for s in seeds]))
    return min(medians)


def test_digits_newton_beats_sgd_in_steps_to_90_percent():
    """Digits MLP 64→32→10 (tanh), batch 256, 90 % test accuracy, seeds 0, 1, 2.

    Newton: Gauss–Newton blocks per neuron (incoming weights + bias), each solved with
    numpy.linalg.solve on H + 0.1·(max|H| + 1e-10)·I, step lr = 0.1. Baseline: SGD with momentum
    0.9, the best median over lr ∈ {0.1, 0.3, 1, 2, 3}. Measured when written: Newton needs
    2, 2, 2 steps (median 2); the best SGD (lr = 2) 5, 5, 4 (median 5; lr = 1: 8, 8, 5).
    Both configurations were picked from small grids on these seeds.
    """
    seeds = (0, 1, 2)
    newton = _newton_step("gauss_newton", "neuron", eps=0.1, lr=0.1)
    newton_steps = [_steps_to_target(s, newton, lambda p: None, 20) for s in seeds]
    # Exact, as measured: a "not reached" (max_steps + 1) on either side can no longer pass.
    assert newton_steps == [2, 2, 2]
    assert _best_sgd_median(seeds) == 5


@pytest.mark.slow
def test_digits_paper_layer_blocks_against_sgd():
    """The paper's partition (one block per weight tensor and bias; W1 is 2048×2048).

    Measured when written (seeds 0–4, same data/settings as above): Gauss–Newton, eps 0.1,
    lr 0.3: 3, 3, 3, 2, 3 steps, faster than SGD. Empirical Fisher, eps 0.1, lr 1.0:
    5, 6, 5, 7, 4, about as fast as the best SGD (5, 5, 4, 8, 4) and no better: the empirical
    Fisher is a poor curvature model away from the optimum (Kunstner et al., NeurIPS 2019).
    """
    seeds = (0, 1, 2)
    best_sgd = _best_sgd_median(seeds)
    gn = _newton_step("gauss_newton", "layer", eps=0.1, lr=0.3)
    fisher = _newton_step("fisher", "layer", eps=0.1, lr=1.0)
    gn_med = np.median([_steps_to_target(s, gn, lambda p: None, 20) for s in seeds])
    fi_med = np.median([_steps_to_target(s, fisher, lambda p: None, 20) for s in seeds])
    # Exact, as measured (seeds 0-2 of the lists above): a "not reached" cannot pass.
    assert (gn_med, fi_med, best_sgd) == (3, 5, 5)


def test_training_is_deterministic_per_seed():
    def curve(seed):
        ds = load_dataset("iris", rng=np.random.default_rng(seed))
        spec = MLPSpec((4, 6, 3), "tanh")
        params = init_params(spec, np.random.default_rng(seed + 1))
        data_rng = np.random.default_rng(seed + 2)
        losses = []
        for _ in range(3):
            for idx in batches(ds.y_train.size, 32, data_rng):
                X, y = ds.X_train[idx], ds.y_train[idx]
                loss, _ = loss_and_grad(spec, params, X, y)
                blocks = hessian_blocks(spec, params, X, y, kind="fisher", partition="layer")
                sols = [np.linalg.solve(_shape(b.matrix, 0.05), b.grad) for b in blocks]
                params = newton_update(params, blocks, sols, lr=0.5, clip=100.0)
                losses.append(loss)
        return losses, params

    l1, p1 = curve(11)
    l2, p2 = curve(11)
    l3, _ = curve(12)
    assert l1 == l2
    assert all(np.array_equal(a, b) for a, b in zip(p1, p2, strict=True))
    assert l1 != l3
