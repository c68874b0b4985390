"""Routing policies on crafted cases, with a hand-built read-only cluster view; the scheduler
protocol's declared facts (needs, uses_estimate) and the registry, scoped registration included."""

import dataclasses
import math
import threading
from pathlib import Path

import pytest
from conftest import synthetic

from hybridsim import run
from hybridsim.costs.model import CostModel
from hybridsim.scenario import load_scenario
from hybridsim.scheduling import base as scheduling_base
from hybridsim.scheduling.base import (
    BaseScheduler,
    ClusterView,
    Decision,
    DeviceView,
    GroupView,
    Scheduler,
    SolveJob,
)
from hybridsim.scheduling.policies import QNewton
from hybridsim.scheduling.registry import (
    BUILTIN,
    make_scheduler,
    policy_needs,
    register_scheduler,
    registry_snapshot,
    scheduler_names,
    scoped_registry,
)

QUICKSTART = Path(__file__).resolve().parent.parent / "scenarios" / "quickstart.toml"


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


#: What each built-in policy declares: (needs, uses_estimate).
DECLARED = {
    "classical_only": ({"gpu"}, False),
    "quantum_only": ({"qpu"}, True),
    "qnewton": ({"gpu", "qpu"}, True),
    "kappa_threshold": ({"gpu", "qpu"}, True),
    "earliest_finish": (set(), True),
    "oracle": (set(), False),
    "qnewton_free_kappa": ({"gpu", "qpu"}, False),
}


def only(view, kind):
    """The same view with the groups of one kind only."""
    return FakeView([g for g in view._groups if g.kind == kind])


def test_builtin_policies_are_listed_with_their_declared_facts():
    assert set(BUILTIN) == set(DECLARED)
    assert set(DECLARED) <= set(scheduler_names())
    sc, view = cluster()
    assert isinstance(view, ClusterView)
    for name, (needs, uses_estimate) in DECLARED.items():
        assert policy_needs(name) == needs, name
        p = policy(name, sc)
        assert isinstance(p, Scheduler)
        assert (p.name, p.needs, p.uses_estimate) == (name, needs, uses_estimate)
    assert policy_needs("no_such_policy") == frozenset()


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_a_policy_decides_on_a_cluster_with_only_the_kinds_it_needs(name):
    needs, _ = DECLARED[name]
    sc, view = cluster(gate="1 as", accounting="paper")
    job = SolveJob(0, n=256, d=4, kappa_est=10.0, kappa_true=10.0)
    kinds = sorted(needs) if needs else ["gpu", "qpu"]
    for kind in [None] if len(kinds) == 2 and needs else kinds:
        v = view if kind is None else only(view, kind)
        d = policy(name, sc).decide(job, v)
        present = {g.kind for g in v.groups()}
        assert {"classical": "gpu", "quantum": "qpu"}[d.route] in present
        assert d.group in {g.name for g in v.groups()}


@pytest.mark.parametrize("name", [n for n, (_, uses) in DECLARED.items() if not uses])
def test_a_policy_not_using_the_estimate_ignores_it(name):
    sc, view = cluster(gate="1 as", accounting="paper")
    decisions = {
        policy(name, sc).decide(SolveJob(0, n=256, d=4, kappa_est=k, kappa_true=10.0), view)
        for k in (None, 1.0, 10.0, 1e9, math.inf)
    }
    assert len(decisions) == 1


@pytest.mark.parametrize("name", ["qnewton", "kappa_threshold", "earliest_finish"])
def test_a_policy_using_the_estimate_changes_its_route_with_it(name):
    sc, view = cluster(gate="1 as", accounting="paper")
    routes = {
        k: policy(name, sc).decide(SolveJob(0, n=256, d=4, kappa_est=k), view).route
        for k in (10.0, math.inf)
    }
    assert routes == {10.0: "quantum", math.inf: "classical"}


class TrueKappaQNewton(QNewton):
    """qnewton deciding on the true κ (declares that it needs no estimate)."""

    name = "test_true_kappa_qnewton"
    uses_estimate = False

    def decide(self, job, view):
        return super().decide(dataclasses.replace(job, kappa_est=job.kappa_true), view)


def test_the_workload_estimates_kappa_only_for_policies_that_use_it():
    overrides = ["workload.steps=1", "workload.baselines=[]"]
    with scoped_registry({TrueKappaQNewton.name: TrueKappaQNewton}):
        free = run(
            QUICKSTART,
            overrides=[*overrides, f"scheduler.policy={TrueKappaQNewton.name}"],
        )
    paid = run(QUICKSTART, overrides=[*overrides, "scheduler.policy=qnewton"])
    assert free.jobs and all(j.kappa_est is None and j.estimator is None for j in free.jobs)
    assert all(j.kappa_est is not None and j.estimator == "norm_det" for j in paid.jobs)
    assert len(free.jobs) == len(paid.jobs)
    # the estimation task (an LU per block for the paper's bound) is charged only when used
    assert free.summary["training_time_s"] < paid.summary["training_time_s"]


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


def test_qnewton_free_kappa_is_qnewton_on_the_true_kappa():
    sc, view = cluster(gate="1 as", accounting="paper")
    for k_true in (10.0, 1e6):
        job = SolveJob(0, n=256, d=4, kappa_est=math.inf, kappa_true=k_true)
        free = policy("qnewton_free_kappa", sc).decide(job, view)
        paid = policy("qnewton", sc).decide(dataclasses.replace(job, kappa_est=k_true), view)
        assert (free.route, free.reason) == (paid.route, paid.reason)
        assert free.predicted_quantum_s == paid.predicted_quantum_s
    assert policy("qnewton_free_kappa", sc).decide(job, view).reason == "kappa above threshold"


def test_qnewton_decides_with_the_pure_rule(monkeypatch):
    """QNewton.decide delegates to qnewton_route (the analysis reuses the same function)."""
    from hybridsim.scheduling import policies

    sc, view = cluster(gate="1 as", accounting="paper")
    job = SolveJob(0, n=256, d=4, kappa_est=10.0, kappa_true=10.0)
    assert policy("qnewton", sc).decide(job, view).route == "quantum"
    monkeypatch.setattr(policies, "qnewton_route", lambda *a: ("classical", "patched"))
    d = policy("qnewton", sc).decide(job, view)
    assert (d.route, d.reason) == ("classical", "patched")


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


class AlwaysGpu(BaseScheduler):
    name = "test_always_gpu"
    needs = frozenset({"gpu"})

    def decide(self, job, view):
        return Decision("classical", view.groups("gpu")[0].name, policy=self.name)


def test_user_registered_policy_runs_in_the_engine():
    data = synthetic(qpu=[{"name": "q"}], gpu=[{"name": "g"}], pool=None, kappa=3.0, jobs=5)
    with scoped_registry():
        register_scheduler("test_always_gpu")(AlwaysGpu)
        r = run(data, overrides=["scheduler.policy=test_always_gpu"])
    assert r.summary["routed_classical"] == 5
    assert "test_always_gpu" not in scheduler_names()


def test_scoped_registration_never_leaks():
    before = dict(registry_snapshot())
    with scoped_registry({"test_scoped_a": AlwaysGpu}):
        register_scheduler("test_scoped_b", AlwaysGpu)
        assert {"test_scoped_a", "test_scoped_b"} <= set(scheduler_names())
        with scoped_registry():  # scopes nest and see the enclosing registrations
            register_scheduler("test_scoped_c")(AlwaysGpu)
            assert {"test_scoped_a", "test_scoped_c"} <= set(scheduler_names())
        assert "test_scoped_c" not in scheduler_names()
        assert policy_needs("test_scoped_a") == {"gpu"}
    assert dict(registry_snapshot()) == before
    with pytest.raises(RuntimeError, match="boom"), scoped_registry({"test_scoped_d": AlwaysGpu}):
        raise RuntimeError("boom")
    assert dict(registry_snapshot()) == before
    with pytest.raises(KeyError, match="unknown scheduler 'test_scoped_a'"):
        make_scheduler("test_scoped_a")


def test_a_scope_is_local_to_its_thread():
    seen = []
    with scoped_registry({"test_scoped_thread": AlwaysGpu}):
        t = threading.Thread(target=lambda: seen.append("test_scoped_thread" in scheduler_names()))
        t.start()
        t.join()
        assert "test_scoped_thread" in scheduler_names()
    assert seen == [False]


def test_registration_conflicts_and_bad_factories_are_refused():
    with scoped_registry():
        with pytest.raises(ValueError, match="'qnewton' is a built-in policy"):
            register_scheduler("qnewton", AlwaysGpu)
        register_scheduler("test_twice", AlwaysGpu)
        register_scheduler("test_twice", AlwaysGpu)  # the same factory again: a no-op
        with pytest.raises(ValueError, match="already registered"):
            register_scheduler("test_twice", TrueKappaQNewton)

        class BadNeeds(AlwaysGpu):
            needs = frozenset({"tpu"})

        with pytest.raises(TypeError, match="needs must be a frozenset"):
            register_scheduler("test_bad_needs", BadNeeds)
        with pytest.warns(DeprecationWarning, match="does not declare"):
            register_scheduler("test_not_a_scheduler", lambda **kw: object())
        with pytest.raises(TypeError, match="has no decide"):
            make_scheduler("test_not_a_scheduler")


def test_policy_without_declared_facts_is_deprecated_but_still_runs():
    class Legacy:  # written before the protocol declared needs and uses_estimate
        name = "test_legacy"

        def __init__(self, config=None, costs=None):
            pass

        def decide(self, job, view):
            return Decision("classical", view.groups("gpu")[0].name, policy=self.name)

    with scoped_registry():
        with pytest.warns(DeprecationWarning, match="does not declare 'needs'") as rec:
            register_scheduler("test_legacy", Legacy)
        assert rec[0].filename == __file__  # the warning points at the registering line
        assert policy_needs("test_legacy") == frozenset()
        p = make_scheduler("test_legacy")
        assert isinstance(p, Scheduler) and p.uses_estimate is True

        class Bare:
            name = "test_legacy_function"

            def decide(self, job, view):
                return Decision("classical", view.groups("gpu")[0].name)

        # A plain function building a bare object (called with the factories' keywords).
        def legacy_factory(config=None, costs=None):  # noqa: ARG001
            return Bare()

        legacy_factory.needs = frozenset({"gpu"})
        legacy_factory.uses_estimate = False
        register_scheduler("test_legacy_function", legacy_factory)
        with pytest.warns(DeprecationWarning, match="does not declare 'needs'") as rec:
            q = make_scheduler("test_legacy_function")
        assert rec[0].filename == __file__
        assert (q.needs, q.uses_estimate) == ({"gpu"}, False)


def test_registry_functions_in_base_are_deprecated_aliases():
    with pytest.warns(DeprecationWarning, match="import it from hybridsim.scheduling.registry"):
        names = scheduling_base.scheduler_names
    assert names is scheduler_names
    with pytest.warns(DeprecationWarning):
        assert scheduling_base.make_scheduler is make_scheduler
    with pytest.raises(AttributeError):
        scheduling_base.no_such_name  # noqa: B018


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
