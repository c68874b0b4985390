"""Fault-tolerant QPUs in the simulation (issue 13, item 4): the scenario keys and their bad
input, the cost model's fault-tolerant path and its refusals, capacity-aware routing, failed
attempts on a forced route, the executed-circuit counts, the job and summary outputs, the
scenario file and the ``costs.ft_backend`` option."""

from __future__ import annotations

import copy
import csv
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic

from hybridsim import cli, run
from hybridsim.costs import ft, logical
from hybridsim.costs.model import CostModel
from hybridsim.costs.specs import QpuSpec, model_group_keys
from hybridsim.errors import ScenarioError
from hybridsim.execution import execute
from hybridsim.metrics import peak_physical_qubits
from hybridsim.presets import QPU_PRESETS
from hybridsim.records import JobRecord
from hybridsim.scenario import load_scenario
from hybridsim.scheduling.base import SolveJob
from hybridsim.timebase import to_ticks

ROOT = Path(__file__).resolve().parent.parent
AZURE = [m for m in ft.QUBIT_MODELS]


def ft_group(name="q", model="qubit_gate_ns_e3", qubits=4_000_000, **ft_keys):
    return {
        "name": name,
        "link_latency": 0,
        "qubits": qubits,
        "fault_tolerance": {"qubit_model": model, **ft_keys},
    }


def modelled(qpu, *, gpu=True, jobs=2, n=64, d=4, kappa=20.0, pool=None, **extra):
    """Synthetic jobs whose service comes from the cost model, on GPUs and ``qpu`` groups."""
    data = synthetic(
        jobs=jobs,
        gpu=[{"name": "g", "link_latency": 0}] if gpu else [],
        qpu=qpu,
        service={"dist": "model"},
        pool=pool,
        n=n,
        d=d,
        kappa=kappa,
    )
    if pool is None:
        del data["workload"]["pool"]
    data["costs"] = {"accounting": "paper"}
    for k, v in extra.items():
        data[k] = v
    return data


def with_qpu(qpu):
    """A scenario of one GPU (running the jobs) and the QPU groups ``qpu`` (to validate)."""
    return synthetic(gpu=[{"name": "g", "link_latency": 0}], qpu=qpu, pool="gpu")


def refused(data) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(data)
    return info.value


# -- the scenario keys ------------------------------------------------------------------------


@pytest.mark.parametrize("model", AZURE)
def test_each_azure_preset_is_its_model(model):
    """The six presets hold the estimator's physical values, name their model, and build the
    model's spec (the qubit model the estimate runs on is the named one)."""
    sc = load_scenario(with_qpu([{"name": "q", "preset": model}]))
    g = sc.cluster.qpu[0]
    assert g.fault_tolerance.qubit_model == model
    for k, v in model_group_keys(model, ticks=True).items():
        assert getattr(g, k) == v, k
    spec = QpuSpec.from_group(g)
    assert spec.fault_tolerant and spec.qubit_model == ft.QUBIT_MODELS[model]
    assert spec.error_budget == 1e-3 and spec.job_qubits == QPU_PRESETS[model]["qubits"]
    expected = "floquet_code" if "maj" in model else "surface_code"
    assert spec.qec.name == expected == g.fault_tolerance.qec
    assert load_scenario(sc.to_dict()) == sc


def test_named_model_fills_the_physical_keys_and_refuses_contradictions():
    sc = load_scenario(with_qpu([ft_group(model="qubit_gate_us_e3")]))
    g = sc.cluster.qpu[0]
    assert g.gate_time_2q == to_ticks("100 us") and g.readout_error == 1e-3
    e = refused(with_qpu([{**ft_group(), "gate_time_2q": "84 ns"}]))
    assert e.key == "cluster.qpu.q.gate_time_2q" and "differs from qubit model" in str(e)
    # the same value written out is accepted (a saved scenario.toml reloads)
    assert load_scenario(with_qpu([{**ft_group(), "gate_time_2q": "50 ns"}]))


def test_a_preset_table_is_merged_key_by_key():
    g = {"name": "q", "preset": "qubit_gate_ns_e4", "fault_tolerance": {"error_budget": 1e-5}}
    sc = load_scenario(with_qpu([g]))
    f = sc.cluster.qpu[0].fault_tolerance
    assert (f.qubit_model, f.qec, f.error_budget) == ("qubit_gate_ns_e4", "surface_code", 1e-5)


def test_custom_model_is_built_from_the_groups_own_numbers():
    g = {
        **ft_group(model="custom", t_error=2e-4),
        "gate_time_1q": "20 ns",
        "gate_time_2q": "40 ns",
        "measure_time": "200 ns",
        "error_1q": 1e-4,
        "error_2q": 5e-4,
        "readout_error": 5e-4,
    }
    spec = QpuSpec.from_group(load_scenario(with_qpu([g])).cluster.qpu[0])
    m = spec.qubit_model
    assert m.instruction_set == "gate_based"
    assert (m.one_qubit_gate_time, m.two_qubit_gate_time) == (to_ticks("20 ns"), to_ticks("40 ns"))
    assert m.one_qubit_measurement_time == to_ticks("200 ns")
    assert (m.two_qubit_gate_error_rate, m.t_gate_error_rate) == (5e-4, 2e-4)
    # the cycle the estimator sees: (4 t_2q + 2 t_meas) d
    assert spec.qec.cycle_ticks(m, 3) == 3 * (4 * to_ticks("40 ns") + 2 * to_ticks("200 ns"))


def test_the_qubit_rule_is_one_logical_qubit_at_the_budgets_distance():
    """The documented rule: a job's share must hold one logical qubit at max(3, d0), d0 the
    distance of the smallest computation (one qubit measured once) at the budget. On
    qubit_gate_ns_e3 at 1e-3 that is d = 5 (2·5² = 50 qubits); at capacity 2, twice that."""
    d0 = ft.estimate(
        {"numQubits": 1, "measurementCount": 1}, qubit="qubit_gate_ns_e3", error_budget=1e-3
    ).code_distance
    need = 2 * max(3, d0) ** 2
    assert need == 50
    assert load_scenario(with_qpu([ft_group(qubits=need)]))
    e = refused(with_qpu([ft_group(qubits=need - 1)]))
    assert e.key == "cluster.qpu.q.qubits" and "one logical qubit" in str(e)
    e = refused(with_qpu([{**ft_group(qubits=need), "capacity": 2}]))
    assert e.key == "cluster.qpu.q.qubits" and f"at least {2 * need}" in str(e)
    # a generous budget needs d0 = 1: the floor d = 3 holds (18 qubits)
    assert (
        ft.estimate(
            {"numQubits": 1, "measurementCount": 1}, qubit="qubit_gate_ns_e4", error_budget=0.5
        ).code_distance
        == 1
    )
    lax = ft_group(model="qubit_gate_ns_e4", qubits=17, error_budget=0.5)
    assert refused(with_qpu([lax])).key == "cluster.qpu.q.qubits"
    assert load_scenario(with_qpu([{**lax, "qubits": 18}]))


BAD = [
    ({"qubit_model": "qubit_gate_nse3"}, "fault_tolerance.qubit_model", "did you mean"),
    ({"qubit_model": "qubit_gate_ns_e3", "qec": "color_code"}, "fault_tolerance.qec", None),
    ({"qubit_model": "qubit_gate_ns_e3", "qec": "floquet_code"}, "fault_tolerance.qec", "Majorana"),
    ({"qubit_model": "custom", "qec": "floquet_code"}, "fault_tolerance.qec", "Majorana"),
    (
        {"qubit_model": "qubit_gate_ns_e3", "error_budget": 0.0},
        "fault_tolerance.error_budget",
        None,
    ),
    (
        {"qubit_model": "qubit_gate_ns_e3", "error_budget": 1.0},
        "fault_tolerance.error_budget",
        "< 1",
    ),
    (
        {"qubit_model": "qubit_gate_ns_e3", "error_budget": -0.1},
        "fault_tolerance.error_budget",
        None,
    ),
    (
        {"qubit_model": "qubit_gate_ns_e3", "error_budget": 2.0},
        "fault_tolerance.error_budget",
        None,
    ),
    ({"qubit_model": "qubit_gate_ns_e3", "t_error": 1e-4}, "fault_tolerance.t_error", "custom"),
    ({"qec": "surface_code"}, "fault_tolerance.qubit_model", "missing"),
    ({"qubit_model": "custom"}, "error_1q", "error rates > 0"),
]


@pytest.mark.parametrize("table, key, words", BAD)
def test_bad_fault_tolerance_input_is_one_line_naming_the_key(table, key, words):
    g = {"name": "q", "qubits": 10**6, "fault_tolerance": table}
    e = refused(with_qpu([g]))
    assert e.key == f"cluster.qpu.q.{key}", str(e)
    assert "\n" not in str(e)
    if words:
        assert words in str(e)


def test_a_custom_model_above_the_threshold_names_its_worst_rate():
    g = {**ft_group(model="custom"), "error_1q": 1e-3, "error_2q": 0.02, "readout_error": 1e-3}
    e = refused(with_qpu([g]))
    assert e.key == "cluster.qpu.q.error_2q" and "threshold" in str(e)


def test_a_fault_tolerant_group_needs_its_qubits():
    g = {"name": "q", "fault_tolerance": {"qubit_model": "qubit_gate_ns_e3"}}
    e = refused(with_qpu([g]))
    assert e.key == "cluster.qpu.q.qubits" and "missing" in str(e)


def test_durations_no_factory_table_holds_are_refused_up_front():
    g = {
        **ft_group(model="custom"),
        "gate_time_1q": "1 zs",
        "measure_time": "1e11 s",
        "error_1q": 1e-3,
        "error_2q": 1e-3,
        "readout_error": 1e-3,
    }
    assert refused(with_qpu([g])).key == "cluster.qpu.q.fault_tolerance.qubit_model"


def test_cli_refuses_bad_fault_tolerance_with_exit_2_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[cluster.gpu]]\nname = "g"\n[[cluster.qpu]]\nname = "q"\nqubits = 1000000\n'
        '[cluster.qpu.fault_tolerance]\nqubit_model = "qubit_gate_ns_e3"\nqec = "floquet_code"\n'
        '[workload]\nkind = "synthetic"\njobs = 1\npool = "gpu"\n'
        'arrival = { dist = "deterministic", interval_s = 1 }\n'
        'service = { dist = "deterministic", value_s = 1 }\n'
    )
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: {path}: cluster.qpu.q.fault_tolerance.qec: ")
    assert not out.exists()


def test_error_budget_bound_is_exclusive_below_one():
    """The schema's new exclusive upper bound: 0.999 is a budget, 1 is not."""
    ok = load_scenario(with_qpu([ft_group(error_budget=0.999)]))
    assert ok.cluster.qpu[0].fault_tolerance.error_budget == 0.999


# -- the cost model -----------------------------------------------------------------------------


def costs_and_group(qpu, **extra):
    sc = load_scenario(modelled(qpu, **extra))
    return sc, CostModel(sc.costs), {g.name: g for g in sc.cluster.groups}


def test_fault_tolerant_service_is_the_estimated_runtime_of_the_solves_counts():
    sc, costs, groups = costs_and_group([ft_group()])
    est = costs.quantum(512, 8, 30.0, groups["q"])
    c = logical.qlsa_logical_counts(
        "jennings",
        "sparse_access",
        512,
        8,
        30.0,
        0.01,
        "none",
        alpha=8.0,
        state_prep=False,
        clamp=True,
    )  # the paper accounting: sparse-access oracle, alpha = d, no readout nor |b> preparation
    e = ft.estimate(c.per_solve(), qubit="qubit_gate_ns_e3", qec="surface_code", error_budget=1e-3)
    assert est.total_s == est.compute_s == e.runtime_s
    assert (est.code_distance, est.physical_qubits, est.t_count) == (
        e.code_distance,
        e.physical_qubits,
        e.t_states,
    )
    assert est.logical_qubits == c.num_qubits and est.refusal == ""
    assert 0 < est.failure_probability <= 1e-3
    # a physical QPU of the same gate times charges queries × gates × t_2q instead
    sc2, costs2, groups2 = costs_and_group([{"name": "q", "preset": "azure_ns"}])
    assert costs2.quantum(512, 8, 30.0, groups2["q"]).total_s < est.total_s / 100


def test_estimates_are_memoized_on_their_counts(monkeypatch):
    sc, costs, groups = costs_and_group([ft_group()])
    calls = []
    real = ft.estimate

    def counting(*a, **k):
        calls.append(a)
        return real(*a, **k)

    monkeypatch.setattr(ft, "estimate", counting)
    a = costs.quantum(256, 8, 30.0, groups["q"])
    b = costs.quantum(256, 8, 30.0, groups["q"])
    assert a is b and len(calls) == 1
    # another (n, d, κ) with the same counts reuses the estimate
    counts = costs._logical_counts(256, 8, 30.0, 8.0).per_solve()
    costs.fault_tolerant(groups["q"], dict(counts), runs=1.0)
    assert len(calls) == 1


def test_prime_estimates_each_distinct_count_set_once_and_agrees_with_scalar_calls(monkeypatch):
    sc, costs, groups = costs_and_group([ft_group()])
    seen = []
    real = ft.estimate_many

    def spy(counts, **k):
        seen.append(len(counts))
        return real(counts, **k)

    monkeypatch.setattr(ft, "estimate_many", spy)
    n, d, k = [64, 64, 128, 64], [4, 4, 8, 4], [20.0, 20.0, 50.0, 35.0]
    costs.prime(n, d, k, [groups["q"]])
    assert seen == [3]  # two of the four jobs are the same job
    primed = [costs.quantum(*x, groups["q"]) for x in zip(n, d, k, strict=True)]
    fresh = CostModel(sc.costs)
    assert primed == [fresh.quantum(*x, groups["q"]) for x in zip(n, d, k, strict=True)]


def test_a_job_larger_than_the_qpu_is_refused_on_both_kinds_of_group():
    _, costs, groups = costs_and_group([ft_group(qubits=60_000), {"name": "p", "qubits": 20}])
    big = costs.quantum(4096, 64, 50.0, groups["q"])
    assert big.physical_qubits > 60_000 and big.refusal == "insufficient_qubits"
    assert math.isfinite(big.total_s)  # the estimate is still what it would take
    # a physical QPU: its qubits against the job's logical qubits (2·12 + 3 + 6 = 33 for N=4096)
    phys = costs.quantum(4096, 64, 50.0, groups["p"])
    assert phys.logical_qubits == phys.physical_qubits == 33 > 20
    assert phys.refusal == "insufficient_qubits"
    assert costs.quantum(16, 4, 50.0, groups["p"]).refusal == ""  # 4 + 7 + 6 = 17


def test_an_unreachable_code_distance_is_a_refusal_not_an_error():
    # a minute budget and a readout of ~10^10 runs: no distance <= 50 meets it
    _, costs, groups = costs_and_group([ft_group(error_budget=1e-15)], costs={"accounting": "full"})
    est = costs.quantum(4096, 4096, 1e4, groups["q"])
    assert est.refusal == "code_distance" and est.total_s == math.inf


def test_hand_built_specs_keep_their_behaviour():
    spec = QpuSpec(
        gate_time_1q_s=1e-9, gate_time_2q_s=1e-9, measure_time_s=1e-6, reset_time_s=0.0,
        max_shots_per_job=1e5,
    )  # fmt: skip
    assert spec.job_qubits == math.inf and not spec.fault_tolerant
    from hybridsim.errors import ModelDomainError

    with pytest.raises(ModelDomainError):
        QpuSpec(**{**_fields(spec), "qec": ft.QEC_SCHEMES["surface_code"]["gate_based"]})
    with pytest.raises(ModelDomainError):
        QpuSpec(**{**_fields(spec), "job_qubits": 0.5})


def _fields(spec):
    from dataclasses import fields

    return {f.name: getattr(spec, f.name) for f in fields(spec)}


def test_sparse_access_oracle_has_logical_counts():
    """The paper accounting's oracle had no logical-count rule (logical.oracle_cost raised)."""
    assert logical.oracle_cost("sparse_access", 1024, 8) == logical.OracleCost(10, 0, 0, 0)
    c = logical.qlsa_logical_counts("jennings", "sparse_access", 1024, 8, 10.0, 0.01)
    assert c.t_count == 10 * c.queries and c.num_qubits == 10 + 13 + 6


# -- routing around groups that cannot hold a job ------------------------------------------------


def two_qpus(policy, **kw):
    """A small group that cannot hold the jobs (listed first, so it would win ties) and a big
    one that can; a GPU only for the policy that needs one (else earliest_finish takes it)."""
    return modelled(
        [ft_group("small", qubits=60_000), ft_group("big")],
        gpu=policy == "kappa_threshold",
        n=4096,
        d=64,
        kappa=50.0,
        scheduler={"policy": policy, "kappa_threshold": 1e4},
        **kw,
    )


@pytest.mark.parametrize("policy", ["kappa_threshold", "earliest_finish", "quantum_only"])
def test_policies_route_around_a_group_too_small(policy):
    r = run(two_qpus(policy))
    assert [j.group for j in r.jobs] == ["big", "big"]
    assert all(j.status == "completed" and j.code_distance for j in r.jobs)


def test_qnewton_keeps_a_job_no_qpu_holds_classical():
    data = modelled(
        [ft_group("small", qubits=60_000)], n=4096, d=64, kappa=50.0,
        scheduler={"policy": "qnewton"}, costs={"accounting": "paper"},
    )  # fmt: skip
    # make the QPU the faster route if it could hold the job: the GPU very slow
    data["cluster"]["gpu"][0]["tflops"] = 1e-6
    sc = load_scenario(data)
    from hybridsim.sim.engine import Simulation

    sim = Simulation(sc, 1)
    job = SolveJob(job_id=0, n=4096, d=64, kappa_est=50.0)
    decision = sim.scheduler.decide(job, sim.view)
    assert decision.route == "classical" and decision.reason == "no QPU group holds the job"
    # with room it goes quantum (the GPU is slower)
    roomy = load_scenario(data, ["cluster.qpu.small.qubits=4000000"])
    sim = Simulation(roomy, 1)
    assert sim.scheduler.decide(job, sim.view).route == "quantum"


def test_kappa_threshold_keeps_a_job_no_qpu_holds_classical():
    data = modelled(
        [ft_group("small", qubits=60_000)], n=4096, d=64, kappa=50.0,
        scheduler={"policy": "kappa_threshold"},
    )  # fmt: skip
    r = run(data)
    assert {j.route for j in r.jobs} == {"classical"}


@pytest.mark.parametrize("fallback", ["fail", "classical"])
def test_a_forced_route_fails_the_attempt_with_insufficient_qubits(fallback):
    data = modelled(
        [ft_group("small", qubits=60_000)], n=4096, d=64, kappa=50.0,
        scheduler={"policy": "quantum_only"},
        faults={"max_attempts": 2, "fallback": fallback},
    )  # fmt: skip
    r = run(data)
    failed = [iv for iv in r.intervals if iv.kind == "failed"]
    assert {iv.label for iv in failed} == {"insufficient_qubits"}
    assert all(iv.end_at == iv.start_at for iv in failed)  # refused before it started
    if fallback == "fail":
        assert {(j.status, j.fail_reason, j.attempts) for j in r.jobs} == {
            ("failed", "insufficient_qubits", 2)
        }
        j = r.jobs[0]
        assert j.physical_qubits > 60_000 and j.code_distance  # why: the estimate it needed
    else:
        assert {(j.status, j.route) for j in r.jobs} == {("completed", "classical")}


def test_a_pinned_pool_fails_with_insufficient_qubits():
    data = modelled(
        [{"name": "p", "qubits": 20, "link_latency": 0}], gpu=False, n=4096, d=64, kappa=50.0,
        pool="qpu", faults={"max_attempts": 1, "fallback": "fail"},
    )  # fmt: skip
    r = run(data)
    assert {(j.status, j.fail_reason) for j in r.jobs} == {("failed", "insufficient_qubits")}
    assert r.jobs[0].logical_qubits == 33


def test_an_executed_circuit_too_wide_for_a_physical_qpu_is_refused_before_it_runs():
    sc = load_scenario(
        modelled([{"name": "p", "qubits": 8, "link_latency": 0}], n=4, kappa=5.0, pool="qpu")
    )
    costs = CostModel(sc.costs)
    a = np.array([[2.0, 0.5, 0, 0], [0.5, 2.0, 0, 0], [0, 0, 3.0, 0], [0, 0, 0, 4.0]])
    job = SolveJob(0, 4, 2, matrix=a, rhs=np.ones(4), kappa_est=2.5)
    out = execute(job, sc.cluster.qpu[0], costs, sc.quantum, np.random.default_rng(0))
    assert out.failure == "insufficient_qubits" and out.service_s == 0.0
    assert out.logical_qubits == out.n_qubits > 8 and out.solution is None
    ok = load_scenario(sc, ["cluster.qpu.p.qubits=156"])
    out = execute(job, ok.cluster.qpu[0], CostModel(ok.costs), ok.quantum, np.random.default_rng(0))
    assert out.failure == "" and out.logical_qubits == out.n_qubits  # sparse access: no registers


# -- executed circuits on a fault-tolerant QPU ------------------------------------------------


def test_an_executed_circuit_is_estimated_from_its_own_counts():
    sc = load_scenario(modelled([ft_group()], n=4, kappa=5.0, pool="qpu"))
    costs = CostModel(sc.costs)
    g = sc.cluster.qpu[0]
    a = np.array([[2.0, 0.5, 0, 0], [0.5, 2.0, 0, 0], [0, 0, 3.0, 0], [0, 0, 0, 4.0]])
    job = SolveJob(0, 4, 2, matrix=a, rhs=np.ones(4), kappa_est=8.0)
    out = execute(job, g, costs, sc.quantum, np.random.default_rng(0))
    assert out.solver == "hhl" and out.failure == "" and out.solution is not None
    # recount by hand: the circuit that ran, its usable / p executions, sparse-access queries
    from hybridsim.execution import hhl_tuning
    from hybridsim.quantum import hhl_solve

    kappa, lo, hi, clock = hhl_tuning(job, 0.01, sc.quantum)
    res = hhl_solve(a, np.ones(4), clock_qubits=clock, kappa=kappa, lambda_min=lo,
                    lambda_max=hi, eps=0.01)  # fmt: skip
    cc = logical.circuit_counts(res.circuit)
    p = float(res.extra["p_success_exact"])
    counts = logical.executed_counts(cc, logical.oracle_cost("sparse_access", 4, 2), 1.0 / p)
    e = ft.estimate(counts, qubit="qubit_gate_ns_e3", error_budget=1e-3)
    assert out.service_s == e.runtime_s
    assert (out.code_distance, out.physical_qubits, out.t_count) == (
        e.code_distance,
        e.physical_qubits,
        e.t_states,
    )
    assert out.logical_qubits == cc.num_qubits == res.n_qubits
    assert out.p_fail == e.failure_probability


def test_executed_counts_scale_passes_and_add_reflections():
    cc = logical.CircuitCounts(6, 10, 4, 3, 0, 6, 2, 8)
    oracle = logical.OracleCost(0, 5, 5, 3)
    one = logical.executed_counts(cc, oracle, 1.0)
    assert one["numQubits"] == 9 and one["cczCount"] == 40 and one["measurementCount"] == 46
    amp = logical.executed_counts(cc, oracle, 2.0, passes=3, reflection_toffolis=7)
    assert amp["tCount"] == 2 * 3 * 10 and amp["cczCount"] == 2 * (3 * 40 + 7)
    assert amp["rotationDepth"] == 2 * 3 * 3 and amp["measurementCount"] == 2 * (3 * 40 + 6)


# -- outputs -------------------------------------------------------------------------------------


def test_peak_physical_qubits_counts_overlapping_services_half_open():
    def job(i, group, start, end, q):
        return JobRecord(i, 0, 0, "", 4, 4, 0, "quantum", group, f"{group}-0", "completed",
                         0, 0, start, end, end, physical_qubits=q)  # fmt: skip

    jobs = [
        job(0, "a", 0, 10, 100),
        job(1, "a", 5, 15, 50),  # overlaps job 0: 150
        job(2, "a", 15, 20, 120),  # starts as job 1 ends: not 170
        job(3, "b", 0, 0, 10**9),  # refused: no service, no qubits
        job(4, "c", 0, 5, None),  # a GPU job
    ]
    assert peak_physical_qubits(jobs, ["a", "b", "d"]) == {"a": 150, "b": 0, "d": 0}


def test_run_outputs_carry_the_sizes_of_qpu_jobs(tmp_path):
    r = run(two_qpus("earliest_finish", jobs=3))
    out = r.write(tmp_path / "o")
    with open(out / "jobs.csv") as f:
        rows = list(csv.DictReader(f))
    for row, j in zip(rows, r.jobs, strict=True):
        assert row["code_distance"] == str(j.code_distance) and j.code_distance >= 3
        assert int(row["physical_qubits"]) == j.physical_qubits > 60_000
        assert int(row["logical_qubits"]) == j.logical_qubits
        assert int(row["t_count"]) == j.t_count > 0
    assert r.summary["peak_physical_qubits_big"] == max(j.physical_qubits for j in r.jobs)
    assert r.summary["peak_physical_qubits_small"] == 0
    assert "peak_physical_qubits_big" in r.summary_table()
    # GPU rows leave them empty
    g = run(modelled([ft_group()], pool="gpu"))
    assert all(j.logical_qubits is None and j.physical_qubits is None for j in g.jobs)
    from hybridsim.report import load_run

    back = load_run(out)
    assert [j.physical_qubits for j in back.jobs] == [j.physical_qubits for j in r.jobs]


def test_fault_tolerant_scenario_file_shows_distance_and_qubits_per_qpu_job(tmp_path):
    out = tmp_path / "o"
    assert cli.main(["run", str(ROOT / "scenarios/fault-tolerant.toml"), "--out", str(out),
                     "--no-report"]) == 0  # fmt: skip
    with open(out / "jobs.csv") as f:
        rows = list(csv.DictReader(f))
    qpu = [r for r in rows if r["route"] == "quantum"]
    assert qpu and {r["group"] for r in qpu} == {"big", "small"}
    for r in qpu:
        assert int(r["code_distance"]) >= 3 and int(r["physical_qubits"]) > 0
        limit = 4_000_000 if r["group"] == "big" else 100_000
        assert int(r["physical_qubits"]) <= limit
    # same scenario, same seed: the same bytes
    again = tmp_path / "p"
    assert cli.main(["run", str(ROOT / "scenarios/fault-tolerant.toml"), "--out", str(again),
                     "--no-report"]) == 0  # fmt: skip
    assert (out / "jobs.csv").read_bytes() == (again / "jobs.csv").read_bytes()


# -- costs.ft_backend -------------------------------------------------------------------------


def test_qdk_backend_without_the_extra_is_one_line_naming_key_and_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "qdk", None)  # as if not installed: import raises
    monkeypatch.setitem(sys.modules, "qdk.estimator", None)
    data = modelled([ft_group()], costs={"accounting": "paper", "ft_backend": "qdk"})
    e = refused(data)
    assert e.key == "costs.ft_backend"
    assert "hybridsim[ft]" in str(e) and "\n" not in str(e)


def test_qdk_backend_refuses_sub_nanosecond_models():
    pytest.importorskip("qdk.estimator")
    g = {
        **ft_group(model="custom"),
        "gate_time_1q": "0.5 ns",
        "error_1q": 1e-3,
        "error_2q": 1e-3,
        "readout_error": 1e-3,
    }
    e = refused(modelled([g], costs={"accounting": "paper", "ft_backend": "qdk"}))
    assert e.key == "cluster.qpu.q.gate_time_1q" and "nanoseconds" in str(e)


def test_qdk_backend_runs_the_reference_estimator_inside_a_run():
    pytest.importorskip("qdk.estimator")
    data = modelled([ft_group()], pool="qpu", jobs=1, n=64, d=4, kappa=20.0)
    builtin = run(data).jobs[0]
    data = copy.deepcopy(data)
    data["costs"]["ft_backend"] = "qdk"
    ref = run(data).jobs[0]
    assert ref.code_distance == builtin.code_distance
    assert ref.physical_qubits == builtin.physical_qubits
    assert math.isclose(ref.finished_at - ref.started_at, builtin.finished_at - builtin.started_at)


# -- found on the way ---------------------------------------------------------------------------


def test_a_clock_resolving_less_than_kappa_one_keeps_a_window():
    """At ε = 1e-12 the largest clock resolves κ up to 2ε·2^10 ≈ 2e-9; the window became
    λ_min = λ_max / 2e-9 > λ_max and the HHL executor raised (found by the magnitude test of
    scenarios/fault-tolerant.toml, costs.epsilon = 1e-12; on main with any executed job)."""
    from hybridsim.execution import hhl_tuning

    sc = load_scenario(
        modelled([ft_group()], pool="qpu", costs={"accounting": "paper", "epsilon": 1e-12})
    )
    a = np.diag([1.0, 3.0])
    job = SolveJob(0, 2, 2, matrix=a, rhs=np.ones(2), kappa_est=3.0, eigen_bounds=(1.0, 3.0))
    kappa, lo, hi, clock = hhl_tuning(job, 1e-12, sc.quantum)
    assert kappa == 1.0 and lo == hi == 3.0 and clock == sc.quantum.max_clock_qubits
    out = execute(job, sc.cluster.qpu[0], CostModel(sc.costs), sc.quantum, np.random.default_rng(0))
    assert out.solver == "hhl" and out.failure == ""
