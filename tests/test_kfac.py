"""K-FAC (Martens & Grosse 2015) as an optimizer and as a baseline run charged by its flops."""

import math

import numpy as np
import pytest

import hybridsim
from hybridsim.costs.model import CostModel
from hybridsim.errors import ScenarioError
from hybridsim.timebase import to_ticks
from hybridsim.workload.datasets import batches, load_dataset
from hybridsim.workload.kfac import KFAC, kfac_factors, kfac_step_flops
from hybridsim.workload.mlp import (
    MLPSpec,
    forward_backward_flops,
    init_params,
    loss_and_grad,
    per_sample_grads,
    update_flops,
)


def _digits_run(opt, spec, ds, steps=20, seed=3):
    p = init_params(spec, np.random.default_rng(2))
    s = opt.init(p)
    rng = np.random.default_rng(seed)
    it = iter(())
    losses = [loss_and_grad(spec, p, ds.X_train, ds.y_train)[0]]
    for _ in range(steps):
        idx = next(it, None)
        if idx is None:
            it = iter(batches(len(ds.y_train), 256, rng))
            idx = next(it)
        X, y = ds.X_train[idx], ds.y_train[idx]
        _, g = loss_and_grad(spec, p, X, y)
        p, s = opt.step(p, g, s, X=X, y=y)
        losses.append(loss_and_grad(spec, p, ds.X_train, ds.y_train)[0])
    return losses, s


def test_kfac_lowers_the_loss_on_digits():
    ds = load_dataset("digits", test_fraction=0.25, rng=np.random.default_rng(1))
    spec = MLPSpec((ds.n_features, 16, ds.n_classes), "tanh")
    losses, state = _digits_run(KFAC(spec), spec, ds)
    assert losses[-1] < 0.2 * losses[0]
    assert state.step == 20


def test_kfac_factors_are_the_kronecker_parts_of_the_empirical_fisher():
    # For one layer with a single example, the per-example gradient is ā ⊗ δ exactly, so
    # F = A ⊗ G; for a batch A ⊗ G is the Kronecker approximation of F = E[g gᵀ].
    rng = np.random.default_rng(0)
    spec = MLPSpec((3, 4), "identity")
    p = init_params(spec, rng)
    X, y = rng.standard_normal((1, 3)), np.array([2])
    ((A, G),) = kfac_factors(spec, p, X, y)
    gw, gb = per_sample_grads(spec, p, X, y)
    g = np.vstack([gw[0], gb[0][None, :]]).ravel()  # W̄ = [W; b], row-major
    assert np.allclose(np.kron(A, G), np.outer(g, g), atol=1e-14)


def test_kfac_step_is_the_damped_kronecker_solve():
    rng = np.random.default_rng(1)
    spec = MLPSpec((3, 4), "identity")
    p = init_params(spec, rng)
    X, y = rng.standard_normal((32, 3)), rng.integers(0, 4, 32)
    _, g = loss_and_grad(spec, p, X, y)
    lam = 0.05
    new, _ = KFAC(spec, lr=1.0, damping=lam).step(p, g, KFAC(spec).init(p), X=X, y=y)
    ((A, G),) = kfac_factors(spec, p, X, y)
    pi = math.sqrt((np.trace(A) / 4) / (np.trace(G) / 4))
    Ad, Gd = A + pi * math.sqrt(lam) * np.eye(4), G + math.sqrt(lam) / pi * np.eye(4)
    grad = np.vstack([g[0], g[1][None, :]]).ravel()
    delta = np.linalg.solve(np.kron(Ad, Gd), grad).reshape(4, 4)
    assert np.allclose(p[0] - new[0], delta[:-1], rtol=1e-10, atol=1e-12)
    assert np.allclose(p[1] - new[1], delta[-1], rtol=1e-10, atol=1e-12)


def test_kfac_refreshes_every_update_interval():
    ds = load_dataset("digits", test_fraction=0.25, rng=np.random.default_rng(1))
    spec = MLPSpec((ds.n_features, 8, ds.n_classes), "tanh")
    opt = KFAC(spec, update_interval=3)
    p = init_params(spec, np.random.default_rng(2))
    s = opt.init(p)
    seen = []
    for i in range(7):
        X, y = ds.X_train[i * 50 : (i + 1) * 50], ds.y_train[i * 50 : (i + 1) * 50]
        seen.append(opt.refreshes(s))
        before = s.a_inv
        _, g = loss_and_grad(spec, p, X, y)
        p, s = opt.step(p, g, s, X=X, y=y)
        assert (s.a_inv is before) == (not seen[-1])
    assert seen == [True, False, False, True, False, False, True]


def test_kfac_step_flops_by_hand():
    spec = MLPSpec((5, 3, 2), "tanh")
    m1, k1, m2, k2 = 6, 3, 4, 2
    every = 2 * m1 * m1 * k1 + 2 * m1 * k1 * k1 + 2 * m2 * m2 * k2 + 2 * m2 * k2 * k2
    refresh = sum(2 * 10 * m * m + 2 * 10 * k * k + m**3 + k**3 for m, k in ((6, 3), (4, 2)))
    assert kfac_step_flops(spec, 10, refresh=False) == every
    assert kfac_step_flops(spec, 10, refresh=True) == every + refresh
    with pytest.raises(ValueError):
        kfac_step_flops(spec, 0, refresh=True)


def test_kfac_rejects_bad_settings():
    spec = MLPSpec((2, 2), "identity")
    for bad in (dict(lr=0), dict(damping=0), dict(update_interval=0), dict(clip=-1.0)):
        with pytest.raises(ValueError):
            KFAC(spec, **bad)


QUICK = {
    "cluster": {"gpu": [{"name": "g", "tflops": 10.0}], "qpu": [{"name": "q"}]},
    "workload": {
        "kind": "mlp",
        "dataset": "digits",
        "hidden": [8],
        "steps": 6,
        "batch_size": 128,
        "target_accuracy": 0.5,
        "kfac_update_interval": 4,
        "baselines": ["kfac", "sgd"],
    },
    "scheduler": {"policy": "classical_only"},
}


def test_kfac_runs_as_a_baseline_charged_by_its_flops():
    r = hybridsim.run(QUICK)
    s = r.summary
    for key in ("training_time_s", "time_to_target_s", "final_loss", "final_accuracy"):
        assert s[f"kfac_{key}"] is not None, key
    assert s["speedup_vs_kfac"] == pytest.approx(s["kfac_time_to_target_s"] / s["time_to_target_s"])
    steps = [st for st in r.steps if st.run == "kfac"]
    assert [st.step for st in steps] == list(range(7))
    assert steps[-1].loss < 0.5 * steps[0].loss
    assert all(st.blocks == 0 for st in steps)  # K-FAC emits no solve jobs
    # Every step on the home GPU: forward/backward, the K-FAC work, the update, each charged
    # its roofline time from its flop count, like every other step.
    sc = r.scenario
    spec = MLPSpec((64, 8, 10), "tanh")
    gpu = sc.cluster.gpu[0]
    costs = CostModel(sc.costs)
    rec = r.baselines["kfac"]
    kfac = [iv.end_at - iv.start_at for iv in rec.intervals if iv.label == "kfac"]
    want = [
        to_ticks(costs.gpu_kernel_s(gpu, kfac_step_flops(spec, 128, refresh=i % 4 == 0)))
        for i in range(6)
    ]
    assert kfac == want
    fb = [iv.end_at - iv.start_at for iv in rec.intervals if iv.label == "forward_backward"]
    assert fb == [to_ticks(costs.gpu_kernel_s(gpu, forward_backward_flops(spec, 128)))] * 6
    upd = [iv.end_at - iv.start_at for iv in rec.intervals if iv.label == "update"]
    assert upd == [to_ticks(costs.gpu_kernel_s(gpu, update_flops(spec)))] * 6
    assert steps[-1].at == sum(kfac) + sum(fb) + sum(upd)  # one GPU, nothing else running


def test_every_asked_baseline_reports_time_to_target():
    # A baseline identical to the main run is not run again but still reported (its numbers are
    # the main run's).
    data = {**QUICK, "workload": {**QUICK["workload"], "optimizer": "kfac"}}
    data["workload"]["baselines"] = ["kfac", "classical_newton"]
    r = hybridsim.run(data)
    s = r.summary
    assert set(r.baselines) == {"classical_newton"}
    assert s["kfac_time_to_target_s"] == s["time_to_target_s"] is not None
    assert s["speedup_vs_kfac"] == 1.0
    assert s["classical_newton_time_to_target_s"] is not None
    assert "kfac_time_to_target_s" in r.summary_table()


def test_kfac_keys_validate():
    with pytest.raises(ScenarioError, match="kfac_damping"):
        hybridsim.load_scenario({**QUICK, "workload": {**QUICK["workload"], "kfac_damping": 0}})
    with pytest.raises(ScenarioError, match="kfac"):
        hybridsim.load_scenario({**QUICK, "workload": {**QUICK["workload"], "baselines": ["kfa"]}})
