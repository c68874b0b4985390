"""The engine's cluster view (hybridsim.sim.routing): its snapshots and the one-group shortcut.

The shortcut (``ClusterView.sole_group``) lets built-in policies route to a kind's only group
without building its snapshot; these tests pin that it changes no decision and no record.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridsim import run
from hybridsim.scenario import load_scenario
from hybridsim.scheduling import policies
from hybridsim.scheduling.base import DeviceView, GroupHead, GroupView
from hybridsim.sim.engine import Simulation

ROOT = Path(__file__).resolve().parent.parent
BERT = ROOT / "scenarios/paper-bert-tiny.toml"


def _rows(result) -> list[tuple]:
    return [tuple(r) for r in result.jobs]


@pytest.mark.parametrize(
    "policy", ["qnewton", "kappa_threshold", "classical_only", "quantum_only", "earliest_finish"]
)
def test_the_one_group_shortcut_changes_no_decision(policy, monkeypatch):
    over = ["workload.steps=6", f'scheduler.policy="{policy}"']
    with_shortcut = run(load_scenario(BERT, overrides=over))
    monkeypatch.setattr(policies, "_sole_group", lambda view, kind: None)
    without = run(load_scenario(BERT, overrides=over))
    assert len(with_shortcut.jobs) == 6 * 39
    assert _rows(with_shortcut) == _rows(without)


def _sim(extra: list[str]) -> Simulation:
    return Simulation(load_scenario(BERT, overrides=["workload.steps=1", *extra]), 1)


def test_sole_group_is_the_head_of_the_only_group_of_its_kind_and_observes_it():
    sim = _sim([])
    view = sim.view
    (gpu,) = view.groups("gpu")
    head = view.sole_group("gpu")
    assert isinstance(head, GroupHead)
    assert (head.name, head.kind, head.config) == (gpu.name, gpu.kind, gpu.config)
    pool = sim.pools[head.name]
    pool.touched_at = -1
    sim.env._now = 7
    assert view.sole_group("gpu") is head  # made once, then reused
    assert pool.touched_at == 7  # observed as groups() observes
    assert view.sole_group("tpu") is None


def test_sole_group_is_none_with_two_groups_of_a_kind_and_observes_nothing():
    sim = _sim(['cluster.gpu=[{name="a", count=1}, {name="b", count=1}]'])
    for pool in sim.pools.values():
        pool.touched_at = -1
    assert sim.view.sole_group("gpu") is None
    assert all(pool.touched_at == -1 for pool in sim.pools.values())
    assert sim.view.sole_group("qpu") is not None


def test_group_snapshots_are_the_named_tuples_with_every_field():
    sim = _sim([])
    for g in sim.view.groups():
        assert type(g) is GroupView
        assert g == GroupView(*g) and g._fields == GroupView._fields
        assert g.queued == 0 and g.queued_predicted_s == 0.0
        for d in g.devices:
            assert type(d) is DeviceView
            assert d == DeviceView(d.name, g.name, g.kind, d.capacity, 0, True, 0, 0.0)
    excluded = sim.view.excluding(["a100-0"]).groups("gpu")[0].devices
    assert [d.available for d in excluded] == [d.name != "a100-0" for d in excluded]
