"""The engine's clock and loop (issue 15.2): a delay scheduled with ``Clock.after`` is processed
exactly where a SimPy timeout would be, and the inlined loop processes events as
``Environment.run`` does."""

import random

import pytest
import simpy

from hybridsim.errors import ScenarioError
from hybridsim.scenario import load_scenario
from hybridsim.scheduling.base import SolveJob
from hybridsim.sim.clock import DISPATCH_PRIORITY, END_PRIORITY, START_PRIORITY, Clock
from hybridsim.sim.engine import Simulation
from hybridsim.timebase import to_ticks


def _order(schedule_with_clock: bool, plan) -> list:
    env = simpy.Environment()
    clock = Clock(env)
    seen = []

    def note(tag):
        def cb(_ev):
            seen.append((env.now, tag))
            for delay, child in plan.get(tag, ()):  # callbacks schedule more, as the engine's do
                if schedule_with_clock:
                    clock.after(delay, note(child))
                else:
                    env.timeout(delay).callbacks.append(note(child))

        return cb

    for delay, tag in plan["roots"]:
        if schedule_with_clock:
            clock.after(delay, note(tag))
        else:
            env.timeout(delay).callbacks.append(note(tag))
    if schedule_with_clock:
        clock.run()  # SimPy's env.run() does not know the clock's (fn, arg) entries
    else:
        env.run()
    return seen


@pytest.mark.parametrize("seed", range(20))
def test_after_orders_events_as_timeouts_do_ties_included(seed):
    rng = random.Random(seed)
    plan = {"roots": [(rng.choice([0, 1, 2, 3]), f"r{i}") for i in range(12)]}
    for i in range(12):
        plan[f"r{i}"] = [(rng.choice([0, 1, 2]), f"r{i}.{k}") for k in range(rng.randint(0, 3))]
    assert _order(True, plan) == _order(False, plan)


def test_priorities_at_one_instant_follow_the_tie_rule():
    env = simpy.Environment()
    clock = Clock(env)
    seen = []
    clock.call_in(5, DISPATCH_PRIORITY, lambda _ev: seen.append("dispatch"))
    clock.after(5, lambda _ev: seen.append("release"))
    env.timeout(5).callbacks.append(lambda _ev: seen.append("timeout"))
    clock.call_in(5, START_PRIORITY, lambda _ev: seen.append(("start", clock.device_phase)))
    clock.call_in(5, END_PRIORITY, lambda _ev: seen.append(("end", clock.device_phase)))
    clock.run()
    assert seen == [("end", True), ("start", True), "release", "timeout", "dispatch"]
    assert clock.device_phase is False


def test_after_passes_its_argument_and_clock_run_processes_simpy_events_as_env_run():
    def model(env, clock, seen):
        def proc():
            yield env.timeout(2)
            seen.append(("proc", env.now))
            if clock is not None:
                clock.after(1, seen.append, ("arg", 3))
            yield env.timeout(1)
            seen.append(("proc", env.now))

        env.process(proc())
        env.timeout(1).callbacks.append(lambda _ev: seen.append(("timeout", env.now)))

    runs = []
    for with_clock in (False, True):
        env, seen = simpy.Environment(), []
        clock = Clock(env) if with_clock else None
        model(env, clock, seen)
        (clock.run if clock else env.run)()
        runs.append(seen)
    assert runs[0] == [("timeout", 1), ("proc", 2), ("proc", 3)]
    assert runs[1] == [("timeout", 1), ("proc", 2), ("arg", 3), ("proc", 3)]


def test_clock_run_raises_a_failed_event_nobody_handled():
    env = simpy.Environment()
    clock = Clock(env)
    env.event().fail(ValueError("boom"))
    with pytest.raises(ValueError, match="boom"):
        clock.run()


MMC = {
    "cluster": {"gpu": [{"name": "g"}]},
    "workload": {
        "kind": "synthetic",
        "jobs": 4,
        "pool": "gpu",
        "arrival": {"dist": "deterministic", "interval_s": 1},
        "service": {"dist": "deterministic", "value_s": 0.5},
    },
}


def test_the_loop_stops_at_until_and_processes_nothing_after_it():
    sc = load_scenario(MMC, ['until="2.25 s"', 'costs.accounting="paper"'])
    sim = Simulation(sc, 1)
    rec = sim.run()
    # arrivals at 1 and 2 s (3 s is after until), each served for 0.5 s
    assert [j.completed_at for j in rec.jobs] == [to_ticks(1.5)]
    assert sim.env.now == to_ticks(2.25)
    assert len(sim.env._queue) >= 1  # the job served at 2.0-2.5 s is still in service


def test_a_failed_event_nobody_handles_crashes_the_run_with_its_error():
    sc = load_scenario(MMC)
    sim = Simulation(sc, 1)

    def broken():
        yield sim.env.timeout(1)
        raise ScenarioError("f.toml", "k", "bad", "good")

    sim.env.process(broken())
    with pytest.raises(ScenarioError) as info:
        sim.run()
    assert str(info.value) == "f.toml: k: bad (expected good)"
    assert isinstance(info.value.__cause__, ScenarioError)  # a copy, as Environment.step makes


def test_a_run_of_given_jobs_is_the_scenario_run_with_those_jobs():
    sc = load_scenario(MMC, ['costs.accounting="paper"'])
    jobs = [
        (0, SolveJob(job_id=i, n=0, d=0, pool="gpu", service_ticks=to_ticks(1))) for i in range(3)
    ]
    rec = Simulation(sc, 1).run(jobs=jobs)
    assert [(j.job_id, j.started_at, j.completed_at) for j in rec.jobs] == [
        (i, to_ticks(i), to_ticks(i + 1)) for i in range(3)
    ]
