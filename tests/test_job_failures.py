"""A block's structure and a finite shot budget are facts of the workload: indefinite, singular
and non-finite blocks and failed postselection never abort a run. Indefinite blocks run in HHL's
sign-qubit mode; the others are failed attempts with a reason, handled by ``[faults]``."""

from pathlib import Path

import numpy as np
import pytest
from conftest import check_run_invariants

from hybridsim import run
from hybridsim.costs.model import CostModel
from hybridsim.execution import execute
from hybridsim.quantum.readout import PostselectionError, estimate_from_shots
from hybridsim.records import Recorder
from hybridsim.results import RunResult
from hybridsim.scenario import load_scenario
from hybridsim.scheduling.base import SolveJob
from hybridsim.sim.engine import Simulation

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "scenarios" / "quickstart.toml"
# a placeholder workload: these tests hand the engine their own jobs
SYNTH = {
    "kind": "synthetic",
    "jobs": 1,
    "arrival": {"dist": "deterministic", "interval_s": 1},
    "service": {"dist": "model"},
    "kappa": 10.0,
    "n": 2,
}


def _groups(sc):
    return {g.kind: g for g in sc.cluster.groups}


def _job(A, b, **kw):
    A = np.asarray(A, dtype=float)
    return SolveJob(job_id=0, n=A.shape[0], d=A.shape[0], matrix=A, rhs=np.asarray(b, float), **kw)


@pytest.fixture(scope="module")
def sc():
    return load_scenario(
        {
            "cluster": {"gpu": [{"name": "g"}], "qpu": [{"name": "q"}]},
            "workload": SYNTH,
            "costs": {"accounting": "paper"},
        }
    )


INDEFINITE = np.array([[2.0, 0.5, 0.0], [0.5, -1.0, 0.3], [0.0, 0.3, 1.5]])
SINGULAR = np.array([[1.0, 1.0], [1.0, 1.0]])


def test_indefinite_block_runs_in_sign_qubit_mode(sc):
    """Issue 16.2: the QPU executor refused indefinite blocks ("HHL needs a positive definite
    matrix") and the run aborted; now its pre-check picks the sign-qubit mode."""
    b = np.array([1.0, -0.5, 0.25])
    out = execute(
        _job(INDEFINITE, b),
        _groups(sc)["qpu"],
        CostModel(sc.costs),
        sc.quantum,
        np.random.default_rng(0),
    )
    assert out.solver == "hhl_signed" and not out.failure
    assert out.fidelity > 0.999
    np.testing.assert_allclose(out.solution, np.linalg.solve(INDEFINITE, b), rtol=0.05)


def test_positive_definite_block_keeps_the_plain_circuit(sc):
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    out = execute(
        _job(A, [1.0, 0.0]),
        _groups(sc)["qpu"],
        CostModel(sc.costs),
        sc.quantum,
        np.random.default_rng(0),
    )
    assert out.solver == "hhl" and not out.failure and out.fidelity > 0.999


@pytest.mark.parametrize("kind", ["gpu", "qpu"])
@pytest.mark.parametrize("execute_max_n", [32, 0], ids=["circuit", "modelled"])
def test_singular_block_is_a_failed_attempt(sc, kind, execute_max_n):
    """A block that is exactly singular (LU meets a zero pivot) used to raise LinAlgError from
    numpy inside the engine (exit 1); now every route returns a failed attempt ``singular``
    that still took its service time."""
    import dataclasses

    quantum = dataclasses.replace(sc.quantum, execute_max_n=execute_max_n)
    out = execute(
        _job(SINGULAR, [1.0, 0.0]),
        _groups(sc)[kind],
        CostModel(sc.costs),
        quantum,
        np.random.default_rng(0),
    )
    assert out.failure == "singular" and out.solution is None
    if kind == "qpu" and execute_max_n == 0:
        # a modelled QLSA is charged from κ, infinite here: no finite schedule, it ends at once
        assert out.service_s == 0
    else:
        assert out.service_s > 0  # the LU (or the circuit) ran before the answer was known


@pytest.mark.parametrize("kind", ["gpu", "qpu"])
def test_non_finite_block_is_a_failed_attempt(sc, kind):
    A = np.array([[1.0, np.nan], [np.nan, 1.0]])
    out = execute(
        _job(A, [1.0, 0.0]),
        _groups(sc)[kind],
        CostModel(sc.costs),
        sc.quantum,
        np.random.default_rng(0),
    )
    assert out.failure == "non-finite" and out.solution is None


def test_cg_on_an_indefinite_block_falls_back_to_lu(sc):
    """A fixed ``classical_method = "cg"`` meeting an indefinite block (CG breaks down) solves it
    by LU and is charged as LU, as a Cholesky that fails does; it used to raise SolverError and
    abort the run (found by tests/test_run_properties.py)."""
    cg = load_scenario(sc, ['costs.classical_method="cg"'])
    A = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    out = execute(_job(A, [1.0, 0.0]), _groups(cg)["gpu"], CostModel(cg.costs), cg.quantum,
                  np.random.default_rng(0))  # fmt: skip
    assert out.failure == "" and out.method == "lu"
    np.testing.assert_array_equal(out.solution, np.linalg.solve(A, [1.0, 0.0]))


def test_readout_with_no_success_raises_postselection_error():
    """Issue 16.3: zero successes is a PostselectionError (a SolverError subclass) carrying the
    execution count, so the executor can tell it from refused input."""
    probs = np.array([1e-9, 1e-9])
    with pytest.raises(PostselectionError) as info:
        estimate_from_shots(probs, np.array([0.6, 0.8]), 10, np.random.default_rng(0))
    assert info.value.executions == 5 and info.value.success_probability == pytest.approx(2e-9)


def test_tiny_postselection_probability_never_aborts_an_executed_job(sc):
    """Issue 16.3: with finite shots and a tiny success probability the executor used to raise
    SolverError (exit 2, run lost). ``quantum.shots`` now counts usable (postselected) samples,
    each charged 1/p executions (issue 12), so such a job always answers and pays for the
    executions its samples need; a circuit whose raw shots find no success is a
    PostselectionError at the library level (below), which the executor would record as a
    failed attempt ``postselection``."""
    import dataclasses

    from hybridsim.quantum import hhl_solve

    quantum = dataclasses.replace(sc.quantum, shots=2, clock_qubits=8)
    # a wide eigenvalue window (kappa estimate 1e4) puts almost no weight on the inversion
    A = np.diag([1.0, 2.0])
    job = _job(A, [1.0, 1.0], kappa_est=1e4, eigen_bounds=(1e-4, 1.0))
    raw = 0
    for seed in range(20):
        out = execute(
            job, _groups(sc)["qpu"], CostModel(sc.costs), quantum, np.random.default_rng(seed)
        )
        assert out.failure == "" and out.solution is not None
        # two usable samples cost 2/p executions, p < 0.1 the exact postselection probability
        assert out.shots > 2 * 10
        try:  # the same circuit sampled with 2 raw shots
            hhl_solve(A, np.array([1.0, 1.0]), clock_qubits=8, shots=2,
                      rng=np.random.default_rng(seed), kappa=1e4, lambda_min=1e-4,
                      lambda_max=1.0)  # fmt: skip
        except PostselectionError:
            raw += 1
    assert raw > 0


# --- the engine records them as failed attempts and the run goes on ----------------------------


def _run_jobs(data, jobs, overrides=()):
    """Run ``jobs`` (SolveJobs with matrices), all submitted at time 0, on ``data``'s cluster."""
    data = {**data, "workload": {**data["workload"], "jobs": len(jobs)}}
    sc = load_scenario(data, list(overrides))
    sim = Simulation(sc, sc.seed)
    sim.run(jobs=[(0, j) for j in jobs])
    rec: Recorder = sim.recorder
    return RunResult.from_records(sc, sc.seed, rec, sim)


def test_engine_retries_a_singular_block_then_fails_it_with_its_reason():
    data = {
        "cluster": {"gpu": [{"name": "g"}]},
        "workload": SYNTH,
        "costs": {"accounting": "paper"},
        "scheduler": {"policy": "classical_only"},
        "faults": {"max_attempts": 2, "fallback": "fail"},
    }
    good = np.array([[2.0, 0.0], [0.0, 1.0]])
    jobs = [
        _job(SINGULAR, [1.0, 0.0], pool="gpu"),
        SolveJob(job_id=1, n=2, d=2, matrix=good, rhs=np.ones(2), pool="gpu"),
    ]
    r = _run_jobs(data, jobs)
    by_id = {j.job_id: j for j in r.jobs}
    assert by_id[0].status == "failed" and by_id[0].fail_reason == "singular"
    assert by_id[0].attempts == 2
    assert by_id[1].status == "completed"
    labels = [iv.label for iv in r.intervals if iv.kind == "failed"]
    assert labels == ["singular", "singular"]
    check_run_invariants(r)


def test_quantum_singular_block_falls_back_to_a_gpu():
    data = {
        "cluster": {"gpu": [{"name": "g"}], "qpu": [{"name": "q"}]},
        "workload": SYNTH,
        "costs": {"accounting": "paper"},
        "faults": {"max_attempts": 1, "fallback": "classical"},
    }
    r = _run_jobs(data, [_job(SINGULAR, [1.0, 0.0], pool="qpu")])
    (job,) = r.jobs
    # the QPU attempt failed, the GPU fallback failed too: a singular block has no answer
    assert job.status == "failed" and job.fail_reason == "singular" and job.attempts == 2
    assert [iv.resource for iv in r.intervals if iv.kind == "failed"] == ["q-0", "g-0"]
    check_run_invariants(r)


# --- the reproducers ---------------------------------------------------------------------


def test_quickstart_with_pruning_runs_its_indefinite_blocks():
    """Issue 16.2 reproducer: ``hybridsim run scenarios/quickstart.toml --seed 4 --set
    workload.prune_ratio=0.2`` exited 2 ("HHL needs a positive definite matrix")."""
    r = run(
        QUICKSTART,
        seed=4,
        overrides=["workload.prune_ratio=0.2", "workload.steps=3", "workload.baselines=[]"],
    )
    solvers = {j.solver for j in r.jobs}
    assert "hhl_signed" in solvers
    assert r.summary["jobs_completed"] == len(r.jobs)
    signed = [j for j in r.jobs if j.solver == "hhl_signed"]
    assert all(j.fidelity > 0.9 for j in signed)


@pytest.mark.parametrize("seed", [1, 2])
def test_quickstart_exact_estimator_at_small_eps_norm(seed):
    """Issue 16.2 reproducer: ``eps_norm = 0.001`` with ``estimator = "exact"`` aborted 5 of 6
    seeds."""
    over = [
        "workload.eps_norm=0.001",
        "scheduler.estimator=exact",
        "workload.steps=3",
        "workload.baselines=[]",
    ]
    r = run(QUICKSTART, seed=seed, overrides=over)
    # 3 steps × 4 blocks, every one answered (HHL-executed ones among them: the aborting path)
    s = r.summary
    assert (len(r.jobs), s["jobs_completed"], s["jobs_failed"]) == (12, 12, 0)
    assert "hhl" in {j.solver for j in r.jobs}
    assert [st.failed_blocks for st in r.steps if st.step > 0] == [0, 0, 0]
    check_run_invariants(r)


def test_quickstart_with_2000_shots_runs_to_the_end():
    """Issue 16.3 reproducer: ``quantum.shots = 2000`` found no success for a block with
    p ≈ 7e-4 and raised SolverError, losing the run. Shots now count usable samples, each charged
    1/p executions: the run completes, no attempt fails, and every executed QPU job is charged at
    least its 2000 samples."""
    over = ["quantum.shots=2000", "workload.steps=8", "workload.baselines=[]"]
    r = run(QUICKSTART, overrides=over)
    assert r.summary["jobs_failed"] == 0
    assert not [iv for iv in r.intervals if iv.kind == "failed"]
    executed = [j for j in r.jobs if j.solver in ("hhl", "hhl_signed")]
    assert executed
    # each usable sample costs 1/p > 1 executions (p the circuit's exact success probability)
    assert all(j.shots > 2000 for j in executed)


def test_training_skips_only_the_blocks_that_failed(monkeypatch):
    """A block whose solve failed for good (fallback = "fail") is skipped; the other blocks of
    the step are still updated (a step used to apply no update at all)."""
    import hybridsim.workload.optimizers as opt

    updated = []
    real = opt.newton_update

    def spy(params, blocks, solutions, **kw):
        updated.append(sorted(b.name for b in blocks))
        return real(params, blocks, solutions, **kw)

    monkeypatch.setattr(opt, "newton_update", spy)
    data = {
        "cluster": {
            "gpu": [{"name": "g"}],
            "qpu": [{"name": "q", "gate_time_1q": "1 as", "gate_time_2q": "1 as", "error_2q": 0.5}],
        },
        "workload": {
            "kind": "mlp",
            "dataset": "wine",
            "hidden": [4],
            "steps": 3,
            "batch_size": 64,
            "eps_norm": 0.1,
            "baselines": [],
        },
        "costs": {"accounting": "paper"},
        "scheduler": {"policy": "qnewton", "kappa_threshold": 1e4},
        "faults": {"fallback": "fail", "max_attempts": 1},
        "quantum": {"execute_max_n": 0},
    }
    r = run(data)
    failed = {j.block for j in r.jobs if j.status == "failed"}
    assert failed == {"b1", "b2"}  # the small blocks went to the failing QPU
    assert updated == [["W1", "W2"]] * 3
    steps = [s for s in r.steps if s.run == "main"]
    assert all(s.failed_blocks == 2 for s in steps[1:])
    assert steps[-1].loss < steps[0].loss
    assert r.summary["jobs_failed"] == 6


@pytest.mark.parametrize(
    "over",
    [
        ["costs.classical_method=cg"],
        ["costs.classical_method=cg", "workload.kappa_true=false"],
        ["scheduler.policy=quantum_only", "workload.kappa_true=false"],
    ],
    ids=["cg", "cg-no-true-kappa", "quantum-only-no-true-kappa"],
)
def test_infinite_kappa_estimate_is_charged_with_the_true_kappa(over):
    """The paper's bound overflows to κ̂ = inf on the 1024-entry quickstart block. CG (whose
    iteration count needs κ) and a modelled QLSA used to raise ModelDomainError from the cost
    model ("CG needs a finite condition number", "kappa must be finite") and abort the run;
    predictions now say "no finite answer" and the charge uses the matrix's true κ."""
    r = run(QUICKSTART, overrides=[*over, "workload.steps=1", "workload.baselines=[]"])
    big = [j for j in r.jobs if j.n == 1024]
    assert big and all(j.kappa_est == float("inf") for j in big)
    assert all(j.status == "completed" and j.finished_at > j.started_at for j in big)
    assert r.summary["jobs_completed"] == len(r.jobs)


def test_sweep_over_prune_ratio_eps_norm_and_shots_completes_every_point(tmp_path):
    """Issue 16, "Done means": a sweep over prune ratios, ε_norm and shot counts that includes
    the aborting cases (prune 0.2 at seed 4, ε_norm = 1e-3 with the exact estimator, 2000 shots)
    completes every point."""
    import hybridsim

    spec = {
        "name": "edge-sweep",
        "base": str(QUICKSTART),
        "seeds": [4],
        "set": {
            "workload.steps": 1,
            "workload.baselines": [],
            "scheduler.estimator": "exact",
            "quantum.shots": 2000,
        },
        "factors": {"workload.prune_ratio": [0.2, 1.0], "workload.eps_norm": [0.1, 0.001]},
    }
    result = hybridsim.run_sweep(spec, out=tmp_path / "out", serial=True, progress=False)
    assert result.failed == 0 and result.ok == 4


@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_fidelity_of_huge_and_tiny_answers_is_finite(sc, scale):
    """A block scaled by 1e±150 gives answers whose squared norms over- or underflow; the
    recorded fidelity used to be NaN (0/0 or inf/inf), now it is the unit vectors' overlap."""
    import dataclasses

    quantum = dataclasses.replace(sc.quantum, execute_max_n=0)
    A = np.diag([2.0, 1.0]) * scale
    out = execute(
        _job(A, [1.0, 1.0], kappa_est=2.0),
        _groups(sc)["qpu"],
        CostModel(sc.costs),
        quantum,
        np.random.default_rng(0),
    )
    assert not out.failure and np.isfinite(out.fidelity) and 0.99 < out.fidelity <= 1.0 + 1e-12
