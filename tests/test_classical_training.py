"""The classical methods inside training runs: every method's answer drives the update, each
route solves the form of the block it needs, assembly is charged to the routes that need it,
and the issue's done-means (a structure-aware classical Newton at the paper's shapes)."""

from pathlib import Path

import numpy as np
import pytest

from hybridsim import run
from hybridsim.costs.classical import METHODS, classical_solve_time
from hybridsim.costs.specs import GpuSpec
from hybridsim.linalg.shaping import shape_hessian
from hybridsim.linalg.structure import BlockStructure

ROOT = Path(__file__).resolve().parent.parent


def mlp(**workload):
    # No launch latency: at these sizes a 20 us launch per call would decide every choice.
    return {
        "cluster": {"gpu": [{"name": "g", "count": 2, "launch_latency": 0}]},
        "workload": {
            "kind": "mlp",
            "dataset": "wine",
            "hidden": [8],
            "steps": 4,
            "batch_size": 32,  # rank 32 < N = 104 for W1: Woodbury applies to it
            "eps_norm": 0.1,
            "baselines": [],
            "kappa_true": False,
            **workload,
        },
        "scheduler": {"policy": "classical_only"},
        "costs": {"accounting": "paper", "epsilon": 1e-12},  # CG as tight as the direct solves
    }


def losses(result):
    return [s.loss for s in result.steps]


def with_method(data, method, **costs):
    data = {**data, "costs": {**data["costs"], "classical_method": method, **costs}}
    return run(data)


def test_every_method_drives_the_same_training():
    # A GPU-only queue-aware policy estimates κ (floor: from the factor, O(r·N)), which the CG
    # methods need for their iteration count; every block still runs on a GPU.
    data = mlp()
    data["scheduler"] = {"policy": "earliest_finish", "estimator": "floor"}
    runs = {m: with_method(data, m) for m in (*METHODS, "auto")}
    ref = np.array(losses(runs["lu"]))
    for m, r in runs.items():
        used = {j.method for j in r.jobs}
        if m in ("lu", "cholesky", "cg", "cg_matrix_free"):
            assert used == {m}, m  # applies to every block (SPD, with a factor)
        elif m == "woodbury":
            # Only the blocks with rank < N; the full-rank ones fall back to LU.
            assert used == {"woodbury", "lu"}
            assert all((j.method == "woodbury") == (j.n > 32) for j in r.jobs)
        # The update comes from the method's own answer, and they all agree.
        assert np.allclose(losses(r), ref, rtol=1e-8, atol=0), m
        assert all(j.matrix == "unpruned" and j.solver == "numpy" for j in r.jobs)
    # Without a κ (classical_only estimates nothing) a CG method cannot be priced: LU instead.
    assert {j.method for j in with_method(mlp(), "cg").jobs} == {"lu"}


def test_each_method_solves_the_regularized_block_to_1e8():
    # One real block through every solver the executor can pick.
    from hybridsim.linalg import solvers
    from hybridsim.workload.datasets import load_dataset
    from hybridsim.workload.mlp import MLPSpec, hessian_blocks, init_params

    rng = np.random.default_rng(0)
    ds = load_dataset("wine", test_fraction=0.25, rng=rng)
    spec = MLPSpec((ds.n_features, 8, ds.n_classes), "tanh")
    params = init_params(spec, rng)
    (w1, *_rest) = hessian_blocks(spec, params, ds.X_train[:32], ds.y_train[:32], l2=1e-3)
    shaped = shape_hessian(w1.matrix, eps_norm=0.1)
    U, c, b = w1.factor, w1.diag_shift + shaped.shift, w1.grad
    ref = np.linalg.solve(shaped.matrix, b)
    for x in (
        solvers.solve_lu(shaped.matrix, b),
        solvers.solve_cholesky(shaped.matrix, b),
        solvers.solve_cg(shaped.matrix, b, rtol=1e-12),
        solvers.solve_woodbury(U, c, b),
        solvers.solve_cg_matrix_free(U, c, b, rtol=1e-12),
    ):
        assert np.linalg.norm(x - ref) <= 1e-8 * np.linalg.norm(ref)


def test_auto_picks_by_structure_and_records_it():
    r = with_method(mlp(), "auto", epsilon=0.05)
    by_block = {j.block: j for j in r.jobs if j.step == 1}
    # W1 is 104 unknowns with a rank-32 factor: Woodbury; the biases are full rank.
    assert by_block["W1"].method == "woodbury" and by_block["W1"].assembly_s == 0.0
    # b1: 8 unknowns, a rank-32 factor (full rank): a dense method, Cholesky (the block is SPD),
    # which forms the block inside the job. By hand: 2·r·N² = 4096 flops (0.29 ns at 14 TFLOP/s)
    # against 8·(N·r + N²) = 2560 bytes at 2 TB/s, 1.28 ns: memory-bound, no launch latency here.
    assert by_block["b1"].method == "cholesky"
    assert by_block["b1"].assembly_s == pytest.approx(8 * (8 * 32 + 8 * 8) / 2e12, rel=1e-12)


def test_the_classical_route_solves_the_unpruned_block_the_quantum_route_the_pruned_one():
    data = mlp(prune_ratio=0.3)
    data["cluster"]["qpu"] = [{"name": "q", "gate_time_1q": "1 as", "gate_time_2q": "1 as"}]
    data["scheduler"] = {"policy": "kappa_threshold", "kappa_threshold": 1e100}
    data["costs"] = {"accounting": "paper", "epsilon": 0.05}
    data["quantum"] = {"execute_max_n": 0}
    q = run(data)
    assert {j.route for j in q.jobs} == {"quantum"}
    big = [j for j in q.jobs if j.n > 8]
    assert big and all(j.matrix == "pruned" and j.d < j.n for j in big)
    data["scheduler"] = {"policy": "classical_only"}
    c = run(data)
    assert all(j.matrix == "unpruned" for j in c.jobs)


def test_assembly_is_charged_to_the_routes_that_need_it():
    # classical_only estimates nothing: no dense block is formed up front ("hessian" charges the
    # factors only), a dense method assembles it in its service, Woodbury never does.
    base = mlp()
    base["costs"]["epsilon"] = 0.05
    lu = with_method(base, "lu", epsilon=0.05)
    wb = with_method(base, "woodbury", epsilon=0.05)
    hess = {
        name: sum(iv.end_at - iv.start_at for iv in r.intervals if iv.label == "hessian")
        for name, r in (("lu", lu), ("wb", wb))
    }
    assert hess["lu"] == hess["wb"]  # the same factors every step, whatever the method
    big_lu = [j for j in lu.jobs if j.block == "W1"]
    big_wb = [j for j in wb.jobs if j.block == "W1"]
    # W1 (104 unknowns, rank 32) formed for LU: 8·(N·r + N²) bytes at 2 TB/s, above its
    # 2·r·N² flops at 14 TFLOP/s (memory-bound); Woodbury works on the factor itself.
    formed = 8 * (104 * 32 + 104**2) / 2e12
    assert big_lu and all(j.assembly_s == pytest.approx(formed, rel=1e-12) for j in big_lu)
    assert big_wb and all(j.assembly_s == 0 for j in big_wb)
    # With the paper's estimator every block is formed (and factored) before the decision: the
    # jobs assemble nothing, and an LU solve reuses the estimator's factor.
    est = mlp()
    est["cluster"]["qpu"] = [{"name": "q", "gate_time_1q": "1 as", "gate_time_2q": "1 as"}]
    est["scheduler"] = {"policy": "qnewton", "estimator": "norm_det", "kappa_threshold": 1.0}
    est["costs"] = {"accounting": "paper", "epsilon": 0.05, "classical_method": "lu"}
    r = run(est)
    assert all(j.route == "classical" for j in r.jobs)
    assert all(j.assembly_s == 0.0 and j.factor_reused for j in r.jobs)


def test_factor_reuse_charges_the_triangular_solves_only():
    est = mlp()
    est["cluster"]["qpu"] = [{"name": "q", "gate_time_1q": "1 as", "gate_time_2q": "1 as"}]
    est["costs"] = {"accounting": "paper", "epsilon": 0.05, "classical_method": "lu"}
    common = {"policy": "qnewton", "kappa_threshold": 1.0}  # everything stays classical
    reuse = run({**est, "scheduler": {**common, "estimator": "hager_higham"}})
    fresh = run({**est, "scheduler": {**common, "estimator": "lanczos"}})  # leaves no LU
    r = {j.block: j for j in reuse.jobs if j.step == 1}
    f = {j.block: j for j in fresh.jobs if j.step == 1}
    gpu = GpuSpec(tflops=14.0, launch_latency_s=0.0, mem_bandwidth_Bps=2e12)
    for name, job in r.items():
        n = job.n
        assert job.factor_reused and not f[name].factor_reused
        tri = classical_solve_time("lu", n, n, None, None, gpu=gpu, factored=True)
        full = classical_solve_time("lu", n, n, None, None, gpu=gpu)
        assert tri.flops == 2 * n * n
        assert job.compute_s == pytest.approx(tri.total_s, rel=1e-12)
        assert f[name].compute_s == pytest.approx(full.total_s, rel=1e-12)
    assert losses(reuse) == losses(fresh)  # same answers: a reused factor changes no bit


def test_floor_estimator_needs_no_dense_block_and_qpu_jobs_prepare_after_the_decision():
    data = mlp()
    data["cluster"]["qpu"] = [{"name": "q", "gate_time_1q": "1 as", "gate_time_2q": "1 as"}]
    data["scheduler"] = {"policy": "kappa_threshold", "estimator": "floor", "kappa_threshold": 1e9}
    data["costs"] = {"accounting": "paper", "epsilon": 0.05}
    data["quantum"] = {"execute_max_n": 0}
    r = run(data)
    quantum = [j for j in r.jobs if j.route == "quantum"]
    assert quantum and all(j.assembly_s > 0 for j in quantum)
    assemble = [iv for iv in r.intervals if iv.label == "assemble"]
    assert len(assemble) == len(quantum)
    # Each QPU job is submitted when its origin GPU has formed its block.
    ends = sorted(iv.end_at for iv in assemble)
    assert sorted(j.submitted_at for j in quantum) == ends
    # The decision saw the preparation: predicted_quantum_s = QPU service + preparation.
    for j in quantum:
        assert j.predicted_quantum_s == pytest.approx(j.predicted_s + j.assembly_s, rel=1e-12)


def test_block_structure_rebuilds_the_dense_block_from_its_factor():
    from hybridsim.costs.classical import ClassicalForm

    rng = np.random.default_rng(3)
    U = rng.standard_normal((6, 2))
    s = BlockStructure(
        ClassicalForm(6, 6, rank=2, spd=True, assembled=False), shift=0.5, factor_rows=U.T
    )
    assert np.allclose(s.dense(), U @ U.T + 0.5 * np.eye(6))
    with pytest.raises(ValueError):
        BlockStructure(ClassicalForm(6, 6)).dense()


def test_paper_bert_tiny_auto_is_at_least_ten_times_faster_than_lu():
    # The done-means: three BERT-tiny steps, every block on GPUs.
    def time(method):
        r = run(
            ROOT / "scenarios/paper-bert-tiny.toml",
            overrides=[
                "workload.steps=3",
                "scheduler.policy=classical_only",
                f'costs.classical_method="{method}"',
            ],
        )
        return r.summary["training_time_s"], r

    t_lu, r_lu = time("lu")
    t_auto, r_auto = time("auto")
    assert t_lu >= 10 * t_auto
    assert {j.method for j in r_lu.jobs} == {"lu"}
    assert "woodbury" in {j.method for j in r_auto.jobs}


@pytest.mark.slow
def test_digits_quickstart_with_auto_reaches_the_accuracy_of_lu():
    def final(method):
        r = run(
            ROOT / "scenarios/quickstart.toml",
            overrides=[f'costs.classical_method="{method}"', "workload.baselines=[]"],
        )
        return r.summary["final_accuracy"], r

    acc_lu, r_lu = final("lu")
    acc_auto, r = final("auto")
    assert acc_auto == acc_lu
    # The paper's estimator leaves an LU of every unpruned block: auto reuses it (the cheapest).
    classical = [j for j in r.jobs if j.route == "classical"]
    assert classical and all(j.method == "lu" and j.factor_reused for j in classical)
    assert r.summary["training_time_s"] <= r_lu.summary["training_time_s"]


def test_digits_quickstart_classical_newton_with_auto_matches_lu():
    # The quickstart's classical Newton (its baseline), a few steps: auto's answers drive the
    # same training as LU's, to the last digit of accuracy.
    def final(method):
        return run(
            ROOT / "scenarios/quickstart.toml",
            overrides=[
                f'costs.classical_method="{method}"',
                "scheduler.policy=classical_only",
                "workload.baselines=[]",
                "workload.steps=8",
                "workload.kappa_true=false",
            ],
        )

    a, b = final("lu"), final("auto")
    assert [s.test_accuracy for s in a.steps] == [s.test_accuracy for s in b.steps]
    assert np.allclose([s.loss for s in a.steps], [s.loss for s in b.steps], rtol=1e-9)
    assert {j.method for j in b.jobs} - {"lu"}  # auto chose something else (Cholesky here)
