"""Paper-scale shapes, job counts, the sparsity model and κ trajectories."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hybridsim.errors import ScenarioError
from hybridsim.workload.mlp import MLPSpec, block_sizes
from hybridsim.workload.shapes import (
    PAPER_MODELS,
    WIKITEXT103_SEQUENCES,
    BlockShape,
    KappaTrajectory,
    job_count,
    kappa_at,
    kappa_grid,
    kappa_step,
    load_kappa_replay,
    paper_model,
    sparsity_d,
)


def test_mlp_blocks_match_reference_and_the_real_mlp():
    m = paper_model("mlp")
    assert m.block_sizes == (23520, 30, 900, 30, 300, 10)  # references.md#qnewton-shapes
    assert m.blocks[0] == BlockShape("fc_layers.0.weight", 23520)
    # The metadata agrees with the real numpy MLP's layer partition of the same architecture.
    assert m.block_sizes == block_sizes(MLPSpec((784, 30, 30, 10), "relu"), "layer")
    assert m.batch_size == 2048 and m.n_train == 60000
    assert m.steps_per_epoch == 30  # ceil(60000 / 2048), DataLoader keeps the last 612
    assert m.eps_norm == 5e-3


def test_bert_tiny_blocks():
    m = paper_model("bert-tiny")
    sizes = {b.name: b.n for b in m.blocks}
    assert sizes["bert.embeddings.projector.weight"] == 49152
    assert "bert.embeddings.projector.bias" not in sizes
    for i in range(3):
        p = f"bert.encoder.layer.{i}"
        for q in ("query", "key", "value"):
            assert sizes[f"{p}.attention.self.{q}.weight"] == 4096
            assert sizes[f"{p}.attention.self.{q}.bias"] == 64
        assert sizes[f"{p}.attention.output.dense.weight"] == 4096
        assert sizes[f"{p}.intermediate.dense.weight"] == 16384
        assert sizes[f"{p}.intermediate.dense.bias"] == 256
        assert sizes[f"{p}.output.dense.weight"] == 16384
    assert sizes["cls.predictions.transform.dense.weight"] == 4096
    assert m.n_blocks == 1 + 3 * 12 + 2 == 39
    assert max(m.block_sizes) == 49152  # nothing above the code's 65 792-parameter layer limit
    assert m.batch_size == 128 and m.eps_norm == 1.0


def test_mistral_tiny_blocks():
    m = paper_model("mistral-tiny")
    per_layer = (4096, 1024, 1024, 4096, 16384, 16384, 16384)
    assert m.block_sizes == per_layer * 3
    assert all(not b.name.endswith("bias") for b in m.blocks)


def test_bert_tiny_one_epoch_job_count_is_steps_times_blocks():
    m = paper_model("bert-tiny")
    # ceil(262 100 / 128) = 2048 steps (inferred n_train), 39 blocks each.
    assert m.steps_per_epoch == -(-WIKITEXT103_SEQUENCES // 128) == 2048
    assert job_count(m, 1) == m.steps_per_epoch * m.n_blocks == 79_872
    # Emitting the jobs step by step (one κ per block per step) gives the same count.
    traj = KappaTrajectory("geometric", kappa_start=1e5, scatter_sigma=0.3)
    rng = np.random.default_rng(0)
    emitted = sum(
        kappa_step(traj, s, m.steps_per_epoch, m.n_blocks, rng).size
        for s in range(m.steps_per_epoch)
    )
    assert emitted == job_count(m, 1)
    assert job_count(m, 3) == 3 * job_count(m, 1)


def test_paper_model_overrides_and_errors():
    m = paper_model("bert-tiny", batch_size=256, n_train=1000)
    assert m.steps_per_epoch == 4 and m.batch_size == 256
    assert paper_model("mlp", batch_size=4096).steps_per_epoch == 15
    assert set(PAPER_MODELS) == {"mlp", "bert-tiny", "mistral-tiny"}
    with pytest.raises(ValueError):
        paper_model("gpt-2")
    with pytest.raises(ValueError):
        paper_model("mlp", batch_size=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.steps_per_epoch = 1  # type: ignore[misc]


def test_sparsity_d():
    assert sparsity_d(23520, 1.0) == 23520
    assert sparsity_d(23520, 0.025) == 588
    assert sparsity_d(10, 0.01) == 1  # floored at 1
    assert sparsity_d(100, 0.29) == 29  # not 28 from 0.29*100 = 28.999999999999996
    assert sparsity_d(7, 0.5) == 3
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError):
            sparsity_d(10, bad)


def test_geometric_trajectory_drops_by_total_drop():
    t = KappaTrajectory("geometric", kappa_start=2e5)
    assert t.total_drop == 1000.0
    k = kappa_grid(t, 101, 2)
    assert k[0, 0] == pytest.approx(2e5) and k[-1, 1] == pytest.approx(200.0)
    assert np.all(np.diff(k[:, 0]) < 0)
    assert k[50, 0] == pytest.approx(2e5 / np.sqrt(1000.0))  # geometric: halfway in log
    assert kappa_at(t, 0, 1, 0) == 2e5  # a one-step run stays at the start


def test_kappa_is_floored_at_one():
    t = KappaTrajectory("geometric", kappa_start=10.0, total_drop=1000.0, scatter_sigma=2.0)
    assert kappa_grid(t, 20, 50, np.random.default_rng(0)).min() == 1.0


def test_scatter_is_lognormal_around_the_median():
    t = KappaTrajectory("geometric", kappa_start=1e4, total_drop=1.0, scatter_sigma=0.5)
    k = kappa_grid(t, 200, 100, np.random.default_rng(1))
    logs = np.log(k / 1e4)
    assert abs(np.median(logs)) < 0.02
    assert np.std(logs) == pytest.approx(0.5, rel=0.03)


def test_scalar_step_and_grid_agree_with_the_same_generator():
    t = KappaTrajectory("geometric", kappa_start=1e4, scatter_sigma=0.7)
    g = kappa_grid(t, 6, 4, np.random.default_rng(3))
    r = np.random.default_rng(3)
    s = np.array([[kappa_at(t, i, 6, j, r) for j in range(4)] for i in range(6)])
    r = np.random.default_rng(3)
    v = np.stack([kappa_step(t, i, 6, 4, r) for i in range(6)])
    np.testing.assert_array_equal(g, s)
    np.testing.assert_array_equal(g, v)
    # Different streams give different scatter; no scatter needs no Generator at all.
    assert not np.array_equal(g, kappa_grid(t, 6, 4, np.random.default_rng(4)))
    with pytest.raises(ValueError):
        kappa_grid(t, 6, 4, None)


def test_replay_exact_when_lengths_match_and_interpolates_in_log_space():
    vals = (1000.0, 100.0, 10.0)
    t = KappaTrajectory("replay", values=vals)
    np.testing.assert_allclose(kappa_grid(t, 3, 2)[:, 0], vals)
    stretched = kappa_grid(t, 5, 1)[:, 0]
    np.testing.assert_allclose(stretched, [1000.0, 10**2.5, 100.0, 10**1.5, 10.0])


def test_replay_per_block_values():
    t = KappaTrajectory("replay", values=((10.0, 20.0), (30.0, 40.0)))
    assert kappa_at(t, 1, 2, 1) == pytest.approx(40.0)
    np.testing.assert_allclose(kappa_step(t, 0, 2, 2), [10.0, 20.0])
    with pytest.raises(ValueError):
        kappa_step(t, 0, 2, 3)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "geometric"},
        {"kind": "geometric", "kappa_start": 0.5},
        {"kind": "geometric", "kappa_start": 10.0, "total_drop": 0.5},
        {"kind": "geometric", "kappa_start": 10.0, "scatter_sigma": -1.0},
        {"kind": "replay"},
        {"kind": "replay", "values": (1.0, -2.0)},
        {"kind": "cosine", "kappa_start": 10.0},
    ],
)
def test_trajectory_validation(kwargs):
    with pytest.raises(ValueError):
        KappaTrajectory(**kwargs)


def test_step_out_of_range():
    t = KappaTrajectory("geometric", kappa_start=10.0)
    with pytest.raises(ValueError):
        kappa_at(t, 5, 5, 0)


def test_load_kappa_replay(tmp_path):
    p = tmp_path / "steps.csv"
    p.write_text(
        "step,loss,kappa_true_median,kappa_est_median\n"
        "0,2.3,1200.5,9.1e5\n"
        "1,1.9,,8e5\n"
        "2,1.5,300,7e5\n"
    )
    assert load_kappa_replay(p, "kappa_true_median") == (1200.5, 300.0)
    assert load_kappa_replay(p, "kappa_est_median") == (9.1e5, 8e5, 7e5)
    t = KappaTrajectory("replay", values=load_kappa_replay(p))
    assert kappa_at(t, 0, 2, 0) == pytest.approx(1200.5)
    with pytest.raises(ScenarioError, match="kappa_max"):
        load_kappa_replay(p, "kappa_max")
    bad = tmp_path / "bad.csv"
    bad.write_text("step,kappa_true_median\n0,abc\n")
    with pytest.raises(ScenarioError, match="line 2"):
        load_kappa_replay(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("step,kappa_true_median\n0,\n")
    with pytest.raises(ScenarioError, match="no values"):
        load_kappa_replay(empty)
    with pytest.raises(ScenarioError):
        load_kappa_replay(tmp_path / "missing.csv")


# -- language-model flops per example and κ clipping (issue 12) ----------------------------------


def test_lm_flops_per_token_against_a_hand_count():
    from hybridsim.workload.shapes import flops_per_token

    attention = 6 * 3 * 512 * 64  # 3 layers, 512 tokens of context, d_attn = 4 heads × 16
    # BERT-tiny: the projector, 3 layers of Q/K/V/O (+ biases), 2 LayerNorms, FFN 64→256→64,
    # the MLM head's transform + LayerNorm, and its 64 × 30 522 decoder with bias; the
    # bert-base-uncased embeddings (lookups) are frozen.
    layer = 4 * (64 * 64 + 64) + 2 * 128 + (64 * 256 + 256) + (256 * 64 + 64)
    bert = 768 * 64 + 3 * layer + (64 * 64 + 64) + 128 + 64 * 30522 + 30522
    assert bert == 2_187_322
    m = paper_model("bert-tiny")
    assert m.params.trainable == bert and m.params.frozen_matmul == 0
    assert flops_per_token(m.params) == 6 * bert + attention == 13_713_756
    assert m.flops_per_example == 512 * 13_713_756
    # Mistral-tiny: q/o 64×64, k/v 64×16, gate/up/down 64×256, two RMSNorms per layer and a final
    # one; the frozen 64 → 32 000 lm_head is multiplied forward and back-propagated through.
    mistral = 3 * (2 * 64 * 64 + 2 * 64 * 16 + 3 * 64 * 256 + 2 * 64) + 64
    assert mistral == 178_624
    m = paper_model("mistral-tiny")
    assert m.params.trainable == mistral and m.params.frozen_matmul == 64 * 32000
    assert flops_per_token(m.params) == 6 * mistral + 4 * 64 * 32000 + attention == 9_853_568
    assert m.flops_per_example == 512 * 9_853_568
    # The old figure, 6 × block parameters per example, was too small by more than 500×.
    for name in ("bert-tiny", "mistral-tiny"):
        m = paper_model(name)
        assert m.flops_per_example > 500 * 6 * sum(m.block_sizes)
    # An MLP example is one token: unchanged, 6 × its 24 790 parameters.
    assert paper_model("mlp").flops_per_example == 6 * 24790


SHAPES = {
    "cluster": {"gpu": [{"name": "g", "tflops": 10.0}], "qpu": [{"name": "q"}]},
    "workload": {"kind": "shapes", "model": "mistral-tiny", "steps": 2},
    "scheduler": {"policy": "classical_only"},
}


def test_shape_runs_charge_the_lm_forward_backward_flops():
    import hybridsim
    from hybridsim.costs.model import CostModel
    from hybridsim.timebase import to_ticks

    r = hybridsim.run(SHAPES)
    m = paper_model("mistral-tiny")
    want = to_ticks(
        CostModel(r.scenario.costs).gpu_kernel_s(
            r.scenario.cluster.gpu[0], m.flops_per_example * m.batch_size
        )
    )
    fb = [iv.end_at - iv.start_at for iv in r.intervals if iv.label == "forward_backward"]
    assert fb == [want, want]


def test_kappa_trajectory_is_clipped_at_the_regularizers_bound():
    import hybridsim
    from hybridsim.workload.shapes import clip_kappas, kappa_bound

    data = {
        **SHAPES,
        "workload": {
            **SHAPES["workload"],
            "kappa": {"start": 1e9, "total_drop": 1, "scatter_sigma": 0},
        },
    }
    r = hybridsim.run(data)
    m = paper_model("mistral-tiny")
    assert r.summary["kappa_clipped_block_steps"] == 2 * m.n_blocks
    assert [s.kappa_clipped for s in r.steps] == [m.n_blocks] * 2
    for j in r.jobs:
        assert j.kappa_est == 1.0 + j.n / 1.0  # ε_norm = 1 for the language models
    # Below every bound nothing is clipped; a larger ε_norm lowers the bounds.
    low = {
        **data,
        "workload": {
            **data["workload"],
            "kappa": {"start": 10.0, "total_drop": 1, "scatter_sigma": 0},
        },
    }
    r_low = hybridsim.run(low)
    assert r_low.summary["kappa_clipped_block_steps"] == 0
    assert all(j.kappa_est == pytest.approx(10.0) for j in r_low.jobs)
    tight = {**low, "workload": {**low["workload"], "eps_norm": 1e3}}
    r_tight = hybridsim.run(tight)
    small = sum(1 for b in m.blocks if 1 + b.n / 1e3 < 10.0)  # the 1024-blocks: bound 2.024
    assert small > 0 and r_tight.summary["kappa_clipped_block_steps"] == 2 * small
    k, n = clip_kappas([5.0, 100.0], kappa_bound([64, 64], 1.0))
    assert k.tolist() == [5.0, 65.0] and n == 1


def test_mlp_runs_report_no_clipping():
    import hybridsim

    r = hybridsim.run(
        {
            "cluster": {"gpu": [{"name": "g"}]},
            "workload": {"kind": "mlp", "hidden": [4], "steps": 1, "baselines": []},
            "scheduler": {"policy": "classical_only"},
        }
    )
    assert r.summary["kappa_clipped_block_steps"] == 0
