"""Valid input never crashes a run (issue 16, "What to build", second bullet).

Hypothesis generates scenarios at the engine's edges (zero-length services, zero latencies,
capacity > 1, every discipline, calibration and failures at the same instants as arrivals,
huge and tiny magnitudes) and solve jobs whose blocks are positive definite, indefinite,
singular, non-finite, zero, huge or tiny, on clusters with tiny shot budgets. Every run either
is refused up front (ScenarioError from validation, before any simulation) or completes with
every job ended exactly once and no device over its capacity (``check_run_invariants``).
Bounded for the default suite: few examples of small runs.
"""

import numpy as np
import pytest
from conftest import check_run_invariants
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hybridsim.errors import ScenarioError
from hybridsim.results import RunResult
from hybridsim.scenario import load_scenario
from hybridsim.scheduling.base import SolveJob
from hybridsim.sim.engine import Simulation

durations = st.sampled_from([0, "0 s", "1 as", "1 ns", "1 s", "2 s", "1e6 s", "1e9 s"])
bandwidths = st.sampled_from(["1e-3 B/s", "1 KB/s", "1 GB/s", "1e15 B/s"])


@st.composite
def clusters(draw, both=False):
    groups = {"gpu": [], "qpu": []}
    n_groups = draw(st.integers(2 if both else 1, 3))
    for i in range(n_groups):
        kind = draw(st.sampled_from(["gpu", "qpu"]))
        if both and i < 2:
            kind = ("qpu", "gpu")[i]
        g = {
            "name": f"{kind}{i}",
            "count": draw(st.integers(1, 2)),
            "capacity": draw(st.integers(1, 3)),
            "discipline": draw(st.sampled_from(["fifo", "priority", "shortest_predicted_first"])),
            "link_latency": draw(durations),
            "link_bandwidth": draw(bandwidths),
        }
        if kind == "qpu":
            g["gate_time_1q"] = draw(st.sampled_from(["1 as", "1 ns", "1 us"]))
            g["gate_time_2q"] = g["gate_time_1q"]
            g["error_2q"] = draw(st.sampled_from([0.0, 1e-6, 0.5]))
            if draw(st.booleans()):
                g["calibration_duration"] = draw(st.sampled_from(["1 ns", "1 s"]))
                if draw(st.booleans()):
                    g["calibration_period"] = draw(st.sampled_from(["2 s", "1e7 s"]))
                else:
                    g["calibration_times"] = draw(
                        st.lists(st.sampled_from([0, "1 s", "2 s"]), min_size=1, max_size=3)
                    )
        if draw(st.booleans()):
            if draw(st.booleans()):
                g["failures"] = {
                    "at": draw(
                        st.lists(st.sampled_from([0, "1 s", "2 s", "3 s"]), min_size=1, max_size=3)
                    ),
                    "mttr": draw(st.sampled_from(["1 ns", "1 s", "1e9 s"])),
                    "repair": "deterministic",
                }
            else:
                g["failures"] = {
                    "mtbf": draw(st.sampled_from(["0.5 s", "1e6 s"])),
                    "mttr": draw(st.sampled_from(["1 ms", "1 s"])),
                    "repair": draw(st.sampled_from(["exponential", "deterministic"])),
                }
        groups[kind].append(g)
    return groups


def faults_policy(draw):
    return {
        "max_attempts": draw(st.integers(1, 3)),
        "reroute_after": draw(st.integers(1, 2)),
        "fallback": draw(st.sampled_from(["classical", "fail"])),
    }


@st.composite
def synthetic_scenarios(draw):
    cluster = draw(clusters())
    names = [g["name"] for k in ("gpu", "qpu") for g in cluster[k]]
    kinds = [k for k in ("gpu", "qpu") if cluster[k]]
    jobs = draw(st.integers(1, 30))
    values = st.sampled_from([0.0, 0.0, 1.0, 0.5, 1e-18, 1e6])
    if draw(st.booleans()):
        service = {
            "dist": "trace",
            "values_s": draw(st.lists(values, min_size=jobs, max_size=jobs)),
        }
    else:
        service = {"dist": "deterministic", "value_s": draw(durations)}
    wl = {
        "kind": "synthetic",
        "jobs": jobs,
        "arrival": {
            "dist": "trace",
            "values_s": draw(st.lists(values, min_size=jobs, max_size=jobs)),
        },
        "service": service,
        "pool": draw(st.sampled_from(kinds + names)),
        "n": draw(st.integers(0, 64)),
        "priorities": draw(st.lists(st.integers(-2, 2), min_size=1, max_size=3)),
    }
    network = {"host_latency": draw(durations), "host_bandwidth": draw(bandwidths)}
    if draw(st.booleans()):
        network["link_failures"] = {
            "at": draw(st.lists(st.sampled_from([0, "1 s"]), min_size=1, max_size=2)),
            "mttr": "1 s",
            "repair": "deterministic",
        }
    return {
        "cluster": cluster,
        "network": network,
        "workload": wl,
        "costs": {"accounting": draw(st.sampled_from(["paper", "full"]))},
        "faults": faults_policy(draw),
    }


def _validated(data):
    try:
        sc = load_scenario(data)
    except ScenarioError as exc:
        event(f"refused up front: {exc.key}")
        return None  # nothing ran
    event("ran")
    return sc


@settings(max_examples=60, deadline=20000, suppress_health_check=list(HealthCheck))
@given(synthetic_scenarios(), st.integers(0, 2**32 - 1))
def test_valid_synthetic_scenarios_always_complete(data, seed):
    _synthetic_run(data, seed)


@pytest.mark.slow
@settings(max_examples=1500, deadline=60000, suppress_health_check=list(HealthCheck))
@given(synthetic_scenarios(), st.integers(0, 2**32 - 1))
def test_valid_synthetic_scenarios_always_complete_thorough(data, seed):
    _synthetic_run(data, seed)


def _synthetic_run(data, seed):
    sc = _validated(data)
    if sc is None:
        return
    sim = Simulation(sc, seed)
    rec = sim.run()
    check_run_invariants(RunResult.from_records(sc, seed, rec, sim))


# --- solve jobs whose blocks are anything a workload can produce -----------------------------


def _block(kind, n, rng):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = rng.uniform(0.5, 2.0, n)
    if kind == "indefinite":
        lam[rng.integers(0, n)] *= -1.0
    elif kind == "singular":
        lam[0] = 0.0
    A = (q * lam) @ q.T
    A = (A + A.T) / 2.0
    if kind == "singular":
        A = np.ones((n, n)) if n > 1 else np.zeros((1, 1))  # LU meets an exact zero pivot
    if kind == "huge":
        A *= 1e150
    if kind == "tiny":
        A *= 1e-150
    if kind == "nan":
        A[0, 0] = np.nan
    return A


@st.composite
def matrix_runs(draw):
    cluster = draw(clusters(both=True))
    for g in cluster["qpu"] + cluster["gpu"]:
        g.pop("failures", None)  # faults are covered above; keep these runs about the blocks
    specs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["pd", "indefinite", "singular", "huge", "tiny", "nan", "zero_b"]),
                st.integers(1, 6),
                st.sampled_from([None, "gpu", "qpu"]),
                st.sampled_from([None, 1.0, 10.0, 1e12, float("inf")]),
            ),
            min_size=1,
            max_size=5,
        )
    )
    data = {
        "cluster": cluster,
        "network": {"host_latency": 0},
        "workload": {
            "kind": "synthetic",
            "jobs": len(specs),
            "arrival": {"dist": "deterministic", "interval_s": 0},
            "service": {"dist": "model"},
            "kappa": 10.0,
            "n": 2,
        },
        "scheduler": {
            "policy": draw(st.sampled_from(["qnewton", "quantum_only", "earliest_finish"]))
        },
        "costs": {
            "accounting": draw(st.sampled_from(["paper", "full"])),
            "classical_method": draw(st.sampled_from(["lu", "cholesky", "cg"])),
        },
        "quantum": {
            "execute_max_n": draw(st.sampled_from([0, 8])),
            "shots": draw(st.sampled_from([None, 2, 16, 2000])),
        },
        "faults": faults_policy(draw),
    }
    return data, specs


@settings(max_examples=40, deadline=20000, suppress_health_check=list(HealthCheck))
@given(matrix_runs(), st.integers(0, 2**32 - 1))
def test_any_block_ends_as_a_completed_or_failed_job(run_spec, seed):
    _matrix_run(run_spec, seed)


@pytest.mark.slow
@settings(max_examples=600, deadline=60000, suppress_health_check=list(HealthCheck))
@given(matrix_runs(), st.integers(0, 2**32 - 1))
def test_any_block_ends_as_a_completed_or_failed_job_thorough(run_spec, seed):
    _matrix_run(run_spec, seed)


def _matrix_run(run_spec, seed):
    data, specs = run_spec
    sc = _validated(data)
    if sc is None:
        return
    rng = np.random.default_rng(seed)
    jobs = []
    kinds = {g.kind for g in sc.cluster.groups}
    for i, (kind, n, pool, kappa) in enumerate(specs):
        pool = pool if pool in kinds else None  # a fixed pool the cluster has (as validated)
        A = _block(kind, n, rng)
        b = np.zeros(n) if kind == "zero_b" else rng.standard_normal(n)
        jobs.append(
            SolveJob(
                job_id=i,
                n=n,
                d=n,
                matrix=A,
                rhs=b,
                pool=pool,
                kappa_est=kappa,
                estimator="exact" if kappa is not None else None,
            )
        )
    sim = Simulation(sc, seed)
    sim.run(jobs=[(0, j) for j in jobs])
    r = RunResult.from_records(sc, seed, sim.recorder, sim)
    check_run_invariants(r)
    for j in r.jobs:
        if j.status == "failed":
            assert j.fail_reason in {
                "singular",
                "non-finite",
                "postselection",
                "gate or readout error",
            }
    bad = {i for i, (kind, *_rest) in enumerate(specs) if kind in ("singular", "nan")}
    assert all(j.status == "failed" for j in r.jobs if j.job_id in bad)
