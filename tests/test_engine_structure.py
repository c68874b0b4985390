"""The engine's structure (issue 19, items 5 and 6): what trainers may use of the simulation, the
workload starters' table, the API layer's home, records built by field name, and the κ replay
resolved when the scenario is loaded."""

import ast
import warnings
from pathlib import Path

import pytest

import hybridsim
import hybridsim.api as api
import hybridsim.sim.engine as engine
from hybridsim.execution import Outcome
from hybridsim.records import JobRecord
from hybridsim.scenario import WORKLOADS, load_scenario
from hybridsim.scheduling.base import Decision, SolveJob
from hybridsim.sim.devices import Flight
from hybridsim.sim.lifecycle import job_record
from hybridsim.sim.training import TrainingHost
from hybridsim.sim.workloads import STARTERS

ROOT = Path(__file__).resolve().parent.parent
SIM = ROOT / "hybridsim" / "sim"
MMC = {
    "cluster": {"gpu": [{"name": "g"}]},
    "workload": {
        "kind": "synthetic",
        "jobs": 2,
        "pool": "gpu",
        "arrival": {"dist": "deterministic", "interval_s": 1},
        "service": {"dist": "deterministic", "value_s": 0.5},
    },
}


def _protocol_members(proto) -> set[str]:
    return {n for n in vars(proto) if not n.startswith("_")}


def test_trainers_use_only_what_the_training_host_declares():
    """Every ``host.<member>`` the training module reads is declared by TrainingHost, and no
    function of it takes the Simulation under another name."""
    declared = _protocol_members(TrainingHost)
    assert declared == {
        "env",
        "scenario",
        "streams",
        "costs",
        "uses_estimate",
        "home_gpu",
        "next_job_id",
        "decide",
        "solve",
        "compute",
        "record_step",
        "timed",
    }
    tree = ast.parse((SIM / "training.py").read_text())
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "host"
    }
    assert used and used <= declared, used - declared
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef) and fn.args.args:
            assert fn.args.args[0].arg != "sim", f"{fn.name} takes the simulation as 'sim'"


def test_the_simulation_provides_the_training_host():
    sim = engine.Simulation(load_scenario(MMC), 1)
    for name in _protocol_members(TrainingHost):
        assert hasattr(sim, name), name
    assert sim.uses_estimate is sim.scheduler.uses_estimate


def test_every_workload_kind_has_a_starter_and_there_is_no_isinstance_chain():
    assert set(STARTERS) == set(WORKLOADS)
    source = (SIM / "engine.py").read_text()
    assert "isinstance(" not in source
    assert "_start_workload" not in source


def test_the_engine_module_stays_small():
    assert len((SIM / "engine.py").read_text().splitlines()) < 450


def test_run_lives_in_the_api_layer_and_the_old_names_warn():
    assert hybridsim.run is api.run
    with pytest.warns(DeprecationWarning, match="hybridsim.sim.engine.run moved to hybridsim.api"):
        old = engine.run
    assert old is api.run
    with pytest.warns(DeprecationWarning, match="baseline_scenarios moved"):
        from hybridsim.sim.engine import baseline_scenarios
    assert baseline_scenarios is api.baseline_scenarios
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            engine.Executor  # noqa: B018 - renamed ServiceFn (the sweep's Executor is another)
    assert engine.ServiceFn is not None


def test_a_run_through_the_old_name_gives_the_same_result():
    with pytest.warns(DeprecationWarning):
        old = engine.run(MMC)
    assert old.summary["jobs_completed"] == 2
    assert old.jobs == api.run(MMC).jobs


class _Device:
    name = "q-7"


def test_job_records_read_each_field_by_its_name():
    """Distinct values everywhere: a value landing in another field's place fails."""
    job = SolveJob(
        job_id=11,
        n=13,
        d=12,
        tenant=3,
        step=4,
        block="layer1",
        priority=5,
        kappa_est=101.0,
        kappa_true=102.0,
        estimator="exact",
    )
    decision = Decision(
        route="quantum",
        group="q",
        predicted_s=1.5,
        predicted_classical_s=2.5,
        predicted_quantum_s=3.5,
    )
    outcome = Outcome(
        service_s=9.0,
        solver="hhl",
        method="jennings",
        matrix="pruned",
        assembly_s=0.25,
        factor_reused=True,
        compute_s=0.5,
        state_prep_s=0.75,
        readout_s=1.25,
        overhead_s=1.75,
        queries=1e6,
        shots=1000,
        n_qubits=14,
        success_probability=0.125,
        fidelity=0.875,
        solution_error=0.0625,
        logical_qubits=15,
        t_count=16,
        code_distance=17,
        physical_qubits=18,
    )
    flight = Flight(job, decision, seq=0, submitted_at=100, predicted_ticks=0, on_done=None)
    flight.dispatched_at, flight.started_at, flight.finished_at = 200, 300, 400
    flight.device, flight.outcome, flight.attempts = _Device(), outcome, 2
    flight.fail_reason = "outage"
    expected = {
        "job_id": 11,
        "tenant": 3,
        "step": 4,
        "block": "layer1",
        "n": 13,
        "d": 12,
        "priority": 5,
        "route": "quantum",
        "group": "q",
        "device": "q-7",
        "status": "failed",
        "submitted_at": 100,
        "dispatched_at": 200,
        "started_at": 300,
        "finished_at": 400,
        "completed_at": 500,
        "kappa_est": 101.0,
        "kappa_true": 102.0,
        "estimator": "exact",
        "predicted_s": 1.5,
        "predicted_classical_s": 2.5,
        "predicted_quantum_s": 3.5,
        "solver": "hhl",
        "method": "jennings",
        "matrix": "pruned",
        "assembly_s": 0.25,
        "factor_reused": True,
        "compute_s": 0.5,
        "state_prep_s": 0.75,
        "readout_s": 1.25,
        "overhead_s": 1.75,
        "queries": 1e6,
        "shots": 1000,
        "n_qubits": 14,
        "success_probability": 0.125,
        "fidelity": 0.875,
        "solution_error": 0.0625,
        "attempts": 2,
        "fail_reason": "outage",
        "logical_qubits": 15,
        "t_count": 16,
        "code_distance": 17,
        "physical_qubits": 18,
    }
    rec = job_record(flight, "failed", 500)
    assert type(rec) is JobRecord and rec._asdict() == expected
    # no outcome: explicit service ticks, or none at all; a completed job has no fail reason
    flight.outcome = None
    blank = job_record(flight, "completed", 500)
    assert blank.solver is None and blank.fail_reason == "" and blank.factor_reused is False
    assert blank == JobRecord(**{**expected, **_NO_OUTCOME, "status": "completed", "solver": None})
    explicit = SolveJob(job_id=1, n=0, d=0, service_ticks=7)
    flight.job = explicit
    assert job_record(flight, "completed", 500).solver == "explicit"


_FIELDS = JobRecord._fields
_NO_OUTCOME = {
    f: JobRecord._field_defaults[f]
    for f in _FIELDS[_FIELDS.index("method") : _FIELDS.index("attempts")]
} | {"fail_reason": ""}
_NO_OUTCOME |= {f: None for f in _FIELDS[_FIELDS.index("logical_qubits") :]}


def test_a_kappa_replay_is_not_revalidated_when_the_run_starts(monkeypatch):
    """The scenario's [workload.kappa] is the trajectory: checked at load, used as it is."""
    from hybridsim.workload import shapes

    data = {
        "cluster": {"gpu": [{"name": "g"}], "qpu": [{"name": "q"}]},
        "workload": {
            "kind": "shapes",
            "steps": 3,
            "kappa": {"kind": "replay", "values": [100.0, 50.0, 10.0], "scatter_sigma": 0.0},
        },
    }
    expected = hybridsim.run(data)

    def refuse(_self):
        raise AssertionError("a replay trajectory was built (and re-validated) during the run")

    monkeypatch.setattr(shapes.KappaTrajectory, "__post_init__", refuse)
    again = hybridsim.run(data)
    assert again.steps == expected.steps and again.jobs == expected.jobs
    medians = [s.kappa_true_median for s in again.steps]
    assert medians == pytest.approx([100.0, 50.0, 10.0])


def test_a_runs_records_belong_to_its_result_alone():
    """After hybridsim.run nothing of the (cyclic) simulation holds the records, so they are
    freed with the result rather than in a later full garbage-collector pass."""
    import gc
    import types

    gc.disable()  # a collection between the run and the look would hide a leftover holder
    try:
        r = api.run({**MMC, "workload": {**MMC["workload"], "jobs": 3}})
        fields = vars(r)
        for name in ("jobs", "intervals", "queues"):
            holders = [
                h
                for h in gc.get_referrers(fields[name])
                if h is not r and h is not fields and not isinstance(h, types.FrameType)
            ]
            assert holders == [], name
    finally:
        gc.enable()
