"""hybridsim.analysis: statistics over seeds, record extractors, reference decisions, κ analysis,
blocks and break-even, fault-tolerant tables, improvement search, and runs through sweeps."""

import doctest
import math

import pytest

import hybridsim
import hybridsim.errors
from hybridsim.analysis import (
    blocks,
    decisions,
    faulttolerant,
    improvements,
    kappa,
    records,
    runs,
    stats,
)
from hybridsim.records import JobRecord, StepRecord
from hybridsim.scheduling import policies

S = 10**21  # ticks per second

MODULES = [stats, records, decisions, kappa, blocks, faulttolerant, improvements]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def job(job_id, step, block, n, route="classical", **kw):
    t = {
        "submitted_at": step * S,
        "dispatched_at": step * S + 2,
        "started_at": step * S + 5,
        "finished_at": step * S + 15,
        "completed_at": step * S + 20,
    }
    t.update({k: kw.pop(k) for k in list(kw) if k.endswith("_at")})
    return JobRecord(job_id, 0, step, block, n, n, 0, route, "g", "g-0", "completed", **t, **kw)


# -- stats ----------------------------------------------------------------------------------------


def test_spread_ignores_missing_and_non_finite_values_but_counts_them():
    s = stats.spread([2.0, None, math.nan, math.inf, 1.0, 4.0])
    assert (s.median, s.low, s.high, s.n, s.missing) == (2.0, 1.0, 4.0, 3, 3)
    assert s.values[1] is None and s.as_dict()["values"][0] == 2.0
    even = stats.spread([1, 2, 3, 4])
    assert even.median == 2.5


def test_paired_ratios_need_equal_lengths_and_skip_zero_baselines():
    assert stats.paired([1.0, 2.0], [2.0, 0.0]).values == (0.5, None)
    with pytest.raises(ValueError):
        stats.paired([1.0], [1.0, 2.0])
    assert stats.change(1.5, 1.0) == 0.5 and stats.change(None, 1.0) is None


# -- records --------------------------------------------------------------------------------------


def test_route_totals_sum_the_jobs_spans_and_breakdowns():
    jobs = [
        job(0, 1, "W", 4, compute_s=1.0),
        job(1, 1, "b", 2, route="quantum", readout_s=2.0, assembly_s=0.5),
        job(2, 2, "W", 4, compute_s=3.0),
    ]
    t = records.route_totals(jobs)
    assert list(t) == ["classical", "quantum"]
    c, q = t["classical"], t["quantum"]
    assert c.count == 2 and c.compute_s == 4.0 and q.readout_s == 2.0 and q.assembly_s == 0.5
    # wait 2 ticks, service 10, transfer 3 + 5 per job
    assert c.wait_s == pytest.approx(4e-21) and c.service_s == pytest.approx(20e-21)
    assert c.transfer_s == pytest.approx(16e-21)
    assert list(records.by_block(jobs)) == ["W", "b"]
    assert [j.step for j in records.by_block(jobs)["W"]] == [1, 2]


def test_step_breakdown_of_a_real_run_sums_to_the_step_and_names_its_phases():
    r = hybridsim.run(
        "scenarios/quickstart.toml",
        overrides=["workload.steps=2", "workload.baselines=[]", "scheduler.policy=qnewton"],
    )
    b = records.step_breakdown(r)
    assert b.steps == 2
    assert b.step_s == pytest.approx(r.summary["training_time_s"] / 2)
    assert sum(b.phases.values()) == pytest.approx(b.step_s, rel=1e-12)
    assert {"forward_backward", "hessian", "estimate", "solves", "update"} <= set(b.phases)
    assert list(b.phases) == [p for p in records.PHASES if p in b.phases]
    assert 0 < b.share("estimate") < 1 and b.share("kfac") == 0.0
    comp = records.compute_by_label(r.intervals)
    assert b.phases["estimate"] == pytest.approx(comp["estimate"] / 2)
    series = records.step_series(r.steps)
    assert series["step"] == [0, 1, 2] and len(series["test_accuracy"]) == 3


def test_accuracy_stats_of_a_run_that_never_reaches_its_target():
    rows = [StepRecord("main", 0, k, k * S, 1.0, None, 0.5, 1, 0, 0, *[None] * 6) for k in range(3)]
    a = records.accuracy_stats(rows, 0.9)
    assert a.steps_to_target is None and a.time_to_target_s is None and a.diverged_at is None
    assert records.accuracy_stats(rows, 0.9, run="sgd").final is None


def test_accuracy_summary_pairs_time_to_target_with_the_baseline_seed_for_seed():
    from types import SimpleNamespace

    def fake(acc, total):
        rows = [StepRecord("main", 0, k, k * S, 1.0, None, a, 1, 0, 0, *[None] * 6)
                for k, a in enumerate(acc)]  # fmt: skip
        return SimpleNamespace(steps=rows, summary={"training_time_s": total})

    runs_ = [fake([0.1, 0.95], 1.0), fake([0.1, 0.2, 0.5], 2.0)]
    base = [fake([0.1, 0.5, 0.91], 2.0), fake([0.1, 0.95], 1.0)]
    s = records.accuracy_summary(runs_, 0.9, base)
    assert s["reached"] == 1 and s["seeds"] == 2 and s["diverged"] == 0
    assert s["time_to_target_s"]["median"] == 1.0 and s["time_to_target_s"]["missing"] == 1
    assert s["ttt_ratio"]["values"] == [0.5, None]  # seed 2 never reached the target
    assert s["training_time_s"]["high"] == 2.0 and s["curve"]["step"] == [0, 1]
    assert "ttt_ratio" not in records.accuracy_summary(runs_, 0.9)


def test_quantum_share_and_blocks():
    assert records.quantum_share({"routed_quantum": 1, "routed_classical": 3}) == 0.25
    assert records.quantum_share({"routed_quantum": 0, "routed_classical": 0}) == 0.0
    js = [job(0, 1, "b", 2, route="quantum"), job(1, 1, "W", 4), job(2, 2, "b", 2, route="quantum")]
    assert records.quantum_blocks(js) == ["b"]


# -- reference decisions --------------------------------------------------------------------------


def test_the_reference_rule_is_the_policys_own_function():
    assert decisions.qnewton_route is policies.qnewton_route


@pytest.fixture(scope="module")
def free_run():
    return hybridsim.run(
        "scenarios/quickstart.toml",
        overrides=["workload.steps=2", "workload.baselines=[]",
                   "scheduler.policy=qnewton_free_kappa"],
    )  # fmt: skip


def test_reference_decisions_reproduce_a_run_that_decided_on_the_true_kappa(free_run):
    refs = decisions.reference_decisions(free_run.jobs, free_run.scenario)
    assert len(refs) == len(free_run.jobs)
    q = decisions.routing_quality(refs)
    assert q.agreement == 1.0 and q.missed_quantum == q.wrong_quantum == 0 and q.lost_s == 0.0


def test_reference_decisions_judge_the_papers_bound():
    r = hybridsim.run(
        "scenarios/quickstart.toml",
        overrides=["workload.steps=2", "workload.baselines=[]", "scheduler.policy=qnewton"],
    )
    refs = decisions.reference_decisions(r.jobs, r.scenario)
    q = decisions.routing_quality(refs)
    # the norm/det bound overestimates κ: its errors can only keep blocks classical
    assert q.wrong_quantum == 0 and q.missed_quantum > 0 and q.lost_s > 0
    assert q.agreement == pytest.approx(1 - q.missed_quantum / q.judged)
    assert all(d.classical_s > 0 and d.quantum_s > 0 for d in refs)


def test_reference_decisions_need_a_qpu():
    sc = hybridsim.load_scenario(
        "scenarios/quickstart.toml",
        ["cluster.qpu=[]", "scheduler.policy=classical_only", "workload.baselines=[]"],
    )
    with pytest.raises(ValueError, match="QPU"):
        decisions.reference_decisions([], sc)


# -- κ --------------------------------------------------------------------------------------------


def test_drop_factors_skip_non_finite_values():
    assert kappa.drop_factor([math.inf, 10.0, None, 5.0], window=1) == 2.0
    assert kappa.drop_factor([], window=3) is None and kappa.largest_drop([3.0]) is None
    assert kappa.largest_drop([1.0, 2.0, 4.0]) == 0.5  # κ only rose
    assert kappa.window_median([0.0, -1.0, 3.0], 2, True) == 3.0


def test_bound_holds_for_real_blocks(free_run):
    eps = free_run.scenario.workload.eps_norm
    ratio = kappa.bound_ratio(free_run.jobs, eps)
    assert 0 < ratio <= 1.0
    hist = kappa.block_histories(free_run.jobs)
    assert list(hist) == ["W1", "W2", "b1", "b2"]
    assert all(len(h["step"]) == 2 for h in hist.values())


def test_estimate_errors_count_overflowed_estimates_apart():
    js = [job(0, 1, "W", 4, kappa_true=10.0, kappa_est=1000.0),
          job(1, 1, "b", 2, kappa_true=10.0, kappa_est=math.inf),
          job(2, 2, "W", 4, kappa_true=None, kappa_est=5.0),
          job(3, 2, "b", 2, kappa_true=10.0)]  # fmt: skip
    assert kappa.estimate_errors(js) == ([2.0], 1)


def test_trajectory_stops_before_the_loss_diverges():
    losses, kappas = [1.0, 0.5, 0.4, 3.0], [None, 100.0, 10.0, 1.0]
    pairs = enumerate(zip(losses, kappas, strict=True))
    rows = [StepRecord("main", 0, k, k * S, loss, None, 0.5, 1, 0, 0, kap, None, None, None,
                       None, None) for k, (loss, kap) in pairs]  # fmt: skip
    js = [job(k, k, "W", 4, kappa_true=kap) for k, kap in enumerate(kappas) if kap]
    from types import SimpleNamespace

    t = kappa.trajectory(SimpleNamespace(steps=rows, jobs=js), eps_norm=1.0, window=1)
    assert t["diverged_at"] == 3 and t["analysed"] == 2
    assert (t["drop"], t["low"], t["high"]) == (10.0, 10.0, 100.0)
    assert t["bound_ratio"] == pytest.approx(100.0 / 5.0)  # step 3's κ = 1 is left out


# -- blocks and break-even ------------------------------------------------------------------------


def test_shape_blocks_cover_the_model_and_clip_kappa_at_the_bound():
    from hybridsim.workload.shapes import paper_model

    sc = hybridsim.load_scenario("scenarios/paper-bert-tiny.toml")
    bl = blocks.shape_blocks(sc)
    model = paper_model("bert-tiny")
    assert sum(b.count for b in bl) == len(model.blocks)
    assert [b.n for b in bl] == sorted({b.n for b in model.blocks}, reverse=True)
    for b in bl:
        assert b.kappa <= kappa.kappa_bound(b.n, model.eps_norm) and b.rank == model.batch_size
    small = blocks.shape_blocks(sc, kappa=10.0)
    assert {b.kappa for b in small} == {10.0}


def test_break_even_rows_take_the_cheapest_method_as_best(free_run):
    sc = free_run.scenario
    gpu, qpu = blocks.device_specs(sc)
    bl = blocks.run_blocks(free_run.jobs, rank=sc.workload.batch_size)
    assert [b.name for b in bl] == ["W1", "W2", "b1", "b2"] and bl[0].rank == 256
    rows = blocks.break_even_rows(bl, sc.costs.epsilon, accounting="paper", gpu=gpu, qpu=qpu)
    for r in rows:
        methods = {m: t for m, t in r.classical_s.items() if m != "best"}
        assert r.classical_s["best"] == pytest.approx(min(methods.values()))
        assert r.best_method == min(methods, key=methods.get)
        assert r.breaks_even_at(1e-18) == (r.gate_time_s["best"] >= 1e-18)
    full = blocks.break_even_rows(bl, sc.costs.epsilon, accounting="full", gpu=gpu, qpu=qpu)
    assert all(math.isnan(r.gate_time_s["best"]) for r in full)


# -- fault tolerance ------------------------------------------------------------------------------


def test_ft_rows_cover_every_block_and_model_and_say_why_an_estimate_is_missing():
    bl = [blocks.Block("small", 16, 16, 20.0), blocks.Block("huge", 49152, 4915, 1e3)]
    rows = faulttolerant.ft_rows(bl, eps=0.01)
    assert len(rows) == 2 * 6
    assert {r.qec for r in rows if "maj" in r.qubit} == {"floquet_code"}
    huge_e3 = next(r for r in rows if r.block.name == "huge" and r.qubit == "qubit_gate_ns_e3")
    assert huge_e3.code_distance is None and "code distance" in huge_e3.error
    ok = [r for r in rows if r.code_distance is not None]
    assert all(r.physical_qubits > r.logical_qubits > r.algorithm_qubits for r in ok)


def test_the_ft_runtime_is_proportional_to_the_time_scale():
    from hybridsim.costs import ft
    from hybridsim.costs.logical import qlsa_logical_counts

    counts = qlsa_logical_counts("jennings", "qrom", 10, 10, 15.0, 0.05, "signed_tomography")
    base = ft.estimate(counts.per_solve(), qubit=faulttolerant.scaled_qubit(1e-4, 1.0))
    for f in (1e-6, 0.3, 7.0):
        e = ft.estimate(counts.per_solve(), qubit=faulttolerant.scaled_qubit(1e-4, f))
        assert e.code_distance == base.code_distance
        assert e.runtime_s == pytest.approx(f * base.runtime_s, rel=1e-6)


def test_ft_break_even_improves_with_the_error_rate():
    b = blocks.Block("b", 10, 10, 15.0)
    rows = faulttolerant.ft_break_even(b, 4e-5, eps=0.05, error_rates=(1e-3, 1e-6))
    assert rows[0].code_distance > rows[1].code_distance
    assert rows[1].gate_time_needed_s > rows[0].gate_time_needed_s
    with pytest.raises(ValueError, match="gate-based"):
        faulttolerant.scaled_qubit(1e-4, base="qubit_maj_ns_e4")


# -- improvements ---------------------------------------------------------------------------------


def test_block_table_rows_agree_with_ft_rows_and_break_even(free_run):
    bs = blocks.run_blocks(free_run.jobs, rank=free_run.scenario.workload.batch_size)[-2:]
    be = blocks.break_even_table(bs, free_run.scenario, "full", clamp=True)
    assert [r["block"]["name"] for r in be] == [b.name for b in bs]
    assert all(r["classical_s"]["best"] == r["classical_s"][r["best_method"]] for r in be)
    cls = {r["block"]["name"]: (r["best_method"], r["classical_s"]["best"]) for r in be}
    t = faulttolerant.block_table(bs, cls, eps=0.05, error_rates=(1e-4,), clamp=True)
    rows = faulttolerant.ft_rows(bs, eps=0.05, clamp=True)
    for b, row in zip(bs, t, strict=True):
        mine = {r.qubit: r for r in rows if r.block == b}
        assert set(row["models"]) == set(mine)
        for q, m in row["models"].items():
            assert m["physical_qubits"] == mine[q].physical_qubits
        ok = {q: m["runtime_s"] for q, m in row["models"].items() if m["runtime_s"] is not None}
        assert row["fastest"] == min(ok, key=ok.get)
        (x,) = row["break_even"]
        assert x["classical_s"] == cls[b.name][1] and x["block"] is None


def test_the_standard_improvements_change_what_they_say():
    from hybridsim.costs.specs import QpuSpec

    qpu = QpuSpec(gate_time_1q_s=1e-18, gate_time_2q_s=1e-18, measure_time_s=1e-6,
                  reset_time_s=1e-4, max_shots_per_job=10**5, link_latency_s=1e-3)  # fmt: skip
    base = improvements.Setting("full", qpu, 0.05)
    by = {i.name: i.apply(base) for i in improvements.STANDARD}
    assert by["fast readout"].qpu.measure_time_s == pytest.approx(1e-9)
    assert by["looser ε"].eps == 0.24  # 10× capped below the QLSA's limit
    assert by["cheap loading"].accounting.oracle == "unit"
    assert by["no readout"].accounting.readout == "none"
    near = by["co-located"].accounting
    assert not near.charge_transfer and not near.charge_link_latency


def test_search_tries_every_subset_smallest_first():
    from hybridsim.costs.specs import GpuSpec, QpuSpec

    gpu = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=2e12)
    qpu = QpuSpec(gate_time_1q_s=1e-18, gate_time_2q_s=1e-18, measure_time_s=1.56e-6,
                  reset_time_s=2.5e-4, max_shots_per_job=10**5, link_latency_s=1e-3)  # fmt: skip
    base = improvements.Setting("full", qpu, 0.01)
    imps = [
        improvements.Improvement("a", "", lambda s: s.with_accounting(readout="none")),
        improvements.Improvement("b", "", lambda s: s.with_qpu(link_latency_s=0.0)),
        improvements.Improvement("c", "", lambda s: s.with_accounting(
            charge_transfer=False, charge_link_latency=False)),
    ]  # fmt: skip
    out = improvements.search([blocks.Block("x", 10, 10, 20.0)], base, imps, gpu=gpu)
    assert len(out) == 8 and [len(o.names) for o in out] == [0, 1, 1, 1, 2, 2, 2, 3]
    cheap = improvements.cheapest(out)
    assert {o.names for o in cheap} == {("a", "b"), ("a", "c")}
    assert all(o.margin >= 1 for o in cheap)
    assert improvements.cheapest(out[:4]) == []
    assert base.with_accounting(readout="none").accounting.name == "full+"


# -- runs -----------------------------------------------------------------------------------------


def test_grids_are_validated_and_enumerate_points_in_sweep_order():
    with pytest.raises(ValueError):
        runs.Grid("bad name", "x.toml")
    with pytest.raises(ValueError):
        runs.Grid("z", "x.toml", factors={"a": [1, 2], "b": [1]}, mode="zip")
    g = runs.Grid("g", "x.toml", factors={"a": [1, 2], "b": ["p", "q"]})
    assert g.points() == [{"a": 1, "b": "p"}, {"a": 1, "b": "q"}, {"a": 2, "b": "p"},
                          {"a": 2, "b": "q"}]  # fmt: skip
    z = runs.Grid("z", "x.toml", seeds=(1, 2), factors={"a": [1, 2], "b": ["p", "q"]}, mode="zip")
    assert z.points() == [{"a": 1, "b": "p"}, {"a": 2, "b": "q"}] and z.runs == 4
    d = z.sweep_definition("/root")
    assert d["options"] == {"mode": "zip"} and d["base"].endswith("x.toml")
    with pytest.raises(ValueError, match="repeat"):
        runs.run_grids([g, g], "/nonexistent")


def test_run_grids_resumes_and_reports_failed_runs(tmp_path):
    g = runs.Grid("one", "scenarios/quickstart.toml", set={"workload.steps": 1,
                  "workload.baselines": [], "scheduler.policy": "classical_only",
                  "workload.kappa_true": False})  # fmt: skip
    (r,) = runs.run_grids([g], tmp_path, serial=True, progress=False)["one"]
    first = (r.path / "summary.json").stat().st_mtime_ns
    (r2,) = runs.run_grids([g], tmp_path, serial=True, progress=False)["one"]
    assert r2.path == r.path and (r.path / "summary.json").stat().st_mtime_ns == first


def test_pick_and_one_select_by_keyword_values():
    from pathlib import Path

    rs = [runs.GridRun("m", i, s, {"costs.classical_method": m}, Path(f"{m}{s}"))
          for i, m in enumerate(("lu", "cholesky")) for s in (2, 1)]  # fmt: skip
    assert [r.seed for r in runs.pick(rs, costs__classical_method="lu")] == [2, 1]
    assert [r.path.name for r in runs.pick(rs, seed=1)] == ["lu1", "cholesky1"]
    assert runs.one(rs, costs__classical_method="cholesky").path.name == "cholesky1"
    with pytest.raises(ValueError, match="2 runs match"):
        runs.one(rs)
    with pytest.raises(ValueError, match="0 runs match"):
        runs.one(rs, costs__classical_method="auto")


def test_run_grids_stops_on_a_failed_run(tmp_path, monkeypatch):
    import hybridsim.api

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(hybridsim.api, "run", broken)  # what the sweep's worker calls
    g = runs.Grid("one", "scenarios/quickstart.toml", set={"workload.steps": 1})
    with pytest.raises(hybridsim.errors.HybridSimError, match="1 run.*failed.*boom"):
        runs.run_grids([g], tmp_path, serial=True, progress=False)
