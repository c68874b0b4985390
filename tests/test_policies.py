"""Routing policies on crafted cases, with a hand-built read-only cluster view."""

import math

import pytest
from conftest import synthetic

from hybridsim import run
from hybridsim.costs.model import CostModel
from hybridsim.scenario import load_scenario
from hybridsim.scheduling.base import (
    ClusterView,
    DeviceView,
    GroupView,
    SolveJob,
    make_scheduler,
    register_scheduler,
    scheduler_names,
)


class FakeView:
    def __init__(self, groups, now=0.0, net=0.0):
        self._groups, self.now_s, self._net = groups, now, net

    def groups(self, kind=None):
        return [g for g in self._groups if kind is None or g.kind == kind]

    def transfer_time_s(self, src, dst, nbytes):
        return self._net


def cluster(gate="84 ns", accounting="full", qpu_backlog=(0.0,), qpu_queued=0):
    sc = load_scenario(
        synthetic(
            gpu=[{"name": "g"}],
            qpu=[
                {"name": "q", "count": len(qpu_backlog), "gate_time_1q": gate, "gate_time_2q": gate}
            ],
            pool=None,
            kappa=10.0,
        ),
        [f"costs.accounting={accounting}"],
    )
    g, q = sc.cluster.gpu[0], sc.cluster.qpu[0]
    gv = GroupView("g", "gpu", g, 0, 0.0, (DeviceView("g-0", "g", "gpu", 1, 0, True, 0, 0.0),))
    qdevs = tuple(
        DeviceView(f"q-{i}", "q", "qpu", 1, 1 if b else 0, True, qpu_queued if b else 0, b)
        for i, b in enumerate(qpu_backlog)
    )
    qv = GroupView("q", "qpu", q, 0, 0.0, qdevs)
    return sc, FakeView([gv, qv])


def policy(name, sc):
    return make_scheduler(name, config=sc.scheduler, costs=CostModel(sc.costs))


def test_fake_view_satisfies_protocol():
    assert isinstance(cluster()[1], ClusterView)


def test_builtin_policies_registered():
    assert {
        "classical_only",
        "quantum_only",
        "qnewton",
        "kappa_threshold",
        "earliest_finish",
        "oracle",
    } <= set(scheduler_names())


def test_dense_large_ill_conditioned_block_goes_classical_at_84ns():
    # the paper's own example: a dense 10^4 x 10^4 matrix with kappa = 10^4 is not faster on a QPU
    sc, view = cluster(gate="84 ns", accounting="paper")
    job = SolveJob(0, n=10_000, d=10_000, kappa_est=1e4)
    d = policy("qnewton", sc).decide(job, view)
    assert d.route == "classical"
    assert d.predicted_quantum_s > d.predicted_classical_s


def test_sparse_well_conditioned_block_quantum_at_attoseconds_paper_but_classical_full():
    job = SolveJob(0, n=1024, d=8, kappa_est=20.0)
    sc, view = cluster(gate="1 as", accounting="paper")
    d = policy("qnewton", sc).decide(job, view)
    assert d.route == "quantum" and d.group == "q"
    assert d.predicted_quantum_s < d.predicted_classical_s
    sc, view = cluster(gate="1 as", accounting="full")
    d = policy("qnewton", sc).decide(job, view)
    assert d.route == "classical"
    # under full accounting the readout runs alone exceed the classical solve
    assert d.predicted_quantum_s > d.predicted_classical_s


def test_qnewton_keeps_kappa_above_threshold_classical_even_if_quantum_is_cheaper():
    sc, view = cluster(gate="1 zs", accounting="paper")
    job = SolveJob(0, n=4096, d=4, kappa_est=2e4)
    d = policy("qnewton", sc).decide(job, view)
    assert d.route == "classical" and "threshold" in d.reason


def test_kappa_threshold_routes_on_kappa_only():
    sc, view = cluster(gate="1 s", accounting="full")
    p = policy("kappa_threshold", sc)
    assert p.decide(SolveJob(0, n=16, d=16, kappa_est=5.0), view).route == "quantum"
    assert p.decide(SolveJob(1, n=16, d=16, kappa_est=5e4), view).route == "classical"


def test_infinite_kappa_estimate_never_goes_quantum():
    sc, view = cluster(gate="1 zs", accounting="paper")
    for name in ("qnewton", "kappa_threshold", "earliest_finish"):
        d = policy(name, sc).decide(SolveJob(0, n=64, d=64, kappa_est=math.inf), view)
        assert d.route == "classical"
        assert d.predicted_quantum_s is None


def test_earliest_finish_avoids_a_qpu_whose_queue_is_long():
    job = SolveJob(0, n=256, d=4, kappa_est=10.0)
    # paper accounting at 1 as: quantum is far cheaper than the GPU...
    sc, view = cluster(gate="1 as", accounting="paper", qpu_backlog=(0.0, 0.0))
    d = policy("earliest_finish", sc).decide(job, view)
    assert d.route == "quantum" and d.device == "q-0"
    # ...but q-0 has an hour of backlog: pick the idle q-1
    sc, view = cluster(gate="1 as", accounting="paper", qpu_backlog=(3600.0, 0.0))
    d = policy("earliest_finish", sc).decide(job, view)
    assert d.device == "q-1"
    # both QPUs backed up for an hour: the GPU finishes first
    sc, view = cluster(gate="1 as", accounting="paper", qpu_backlog=(3600.0, 3600.0))
    d = policy("earliest_finish", sc).decide(job, view)
    assert d.route == "classical" and d.device == "g-0"


def test_oracle_uses_true_kappa():
    sc, view = cluster(gate="1 as", accounting="paper")
    job = SolveJob(0, n=256, d=4, kappa_est=math.inf, kappa_true=10.0)
    assert policy("earliest_finish", sc).decide(job, view).route == "classical"
    assert policy("oracle", sc).decide(job, view).route == "quantum"


def test_unknown_policy_is_a_scenario_error_with_suggestion():
    from hybridsim.errors import ScenarioError

    with pytest.raises(
        ScenarioError, match="scheduler.policy: unknown policy 'qnewtn'; did you mean 'qnewton'"
    ):
        load_scenario(synthetic(pool=None, kappa=5.0), ["scheduler.policy=qnewtn"])


def test_policy_needing_a_missing_kind_is_a_scenario_error():
    from hybridsim.errors import ScenarioError

    with pytest.raises(
        ScenarioError, match="scheduler.policy: policy 'quantum_only' routes jobs to QPUs"
    ):
        load_scenario(synthetic(pool=None, kappa=5.0), ["scheduler.policy=quantum_only"])


def test_user_registered_policy_runs_in_the_engine():
    @register_scheduler("test_always_gpu")
    class AlwaysGpu:
        name = "test_always_gpu"
        needs = frozenset({"gpu"})

        def __init__(self, config=None, costs=None):
            pass

        def decide(self, job, view):
            from hybridsim.scheduling.base import Decision

            return Decision("classical", view.groups("gpu")[0].name, policy=self.name)

    data = synthetic(qpu=[{"name": "q"}], gpu=[{"name": "g"}], pool=None, kappa=3.0, jobs=5)
    r = run(data, overrides=["scheduler.policy=test_always_gpu"])
    assert r.summary["routed_classical"] == 5


def test_modelled_jobs_through_the_scheduler_record_predictions():
    # Poisson solve jobs routed by qnewton at attosecond gates under the paper's accounting
    data = synthetic(
        jobs=50,
        gpu=[{"name": "g"}],
        qpu=[{"name": "q", "gate_time_1q": "1 as", "gate_time_2q": "1 as"}],
        pool=None,
        kappa=50.0,
        n=512,
        d=8,
        service={"dist": "model"},
        arrival={"dist": "exponential", "rate_per_s": 100},
    )
    r = run(data, overrides=["costs.accounting=paper"])
    assert r.summary["routed_quantum"] == 50
    for j in r.jobs:
        assert j.solver == "modelled"
        # true kappa = estimate, so the prediction equals the charged service up to tick rounding
        assert j.predicted_s == pytest.approx((j.finished_at - j.started_at) / 1e21, rel=1e-9)
    # paper accounting moves nothing over the network
    assert r.summary["mean_transfer_s"] == 0.0
    r_full = run(data)
    assert r_full.summary["routed_classical"] == 50
    assert r_full.summary["mean_transfer_s"] > 0.0
