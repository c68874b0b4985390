"""Starting a scenario's workload: one starter per workload kind, looked up in :data:`STARTERS`.

A starter sets the workload going at time 0 and tells the run when it will submit nothing more
(``done``); the run then ends when the last job has. Synthetic workloads submit ``(gap, job)``
pairs (:func:`arrivals`); training workloads run one process per tenant
(:data:`hybridsim.sim.training.TRAINERS`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from hybridsim.scheduling.base import SolveJob

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.sim.clock import Clock
    from hybridsim.sim.engine import Simulation

__all__ = ["Starter", "STARTERS", "arrivals", "start_synthetic", "start_training"]

#: ``starter(sim, done)``: start the scenario's workload on ``sim``; call ``done()`` once it has
#: submitted everything.
Starter = Callable[["Simulation", Callable[[], None]], None]


def arrivals(
    clock: Clock,
    submit: Callable[[SolveJob], None],
    jobs: Iterable[tuple[int, SolveJob]],
    done: Callable[[], None],
) -> None:
    """Submit ``(gap, job)`` pairs, each ``gap`` ticks after the previous one, then ``done()``.

    A callback chain rather than a generator process: one queue entry per arrival
    (:meth:`Clock.after`, which hands the job due back to the chain) and no process resumption,
    which is a measurable share of the per-job cost.
    """
    pairs = iter(jobs)

    def step(due: SolveJob | None) -> None:
        if due is not None:
            submit(due)
        for gap, nxt in pairs:
            if gap:
                clock.after(gap, step, nxt)
                return
            submit(nxt)
        done()

    step(None)


def start_synthetic(sim: Simulation, done: Callable[[], None]) -> None:
    """Jobs with explicit (or modelled) service times at sampled instants, from the host."""
    from hybridsim.scenario import SyntheticWorkload
    from hybridsim.workload.synthetic import synthetic_jobs

    wl = sim.scenario.workload
    assert isinstance(wl, SyntheticWorkload)  # STARTERS runs this starter for kind "synthetic"
    jobs = synthetic_jobs(wl, sim.streams, sim.scenario.cluster.host)
    arrivals(sim.clock, sim.submit, jobs, done)


def start_training(sim: Simulation, done: Callable[[], None]) -> None:
    """One training process per tenant; done when every tenant has finished."""
    from hybridsim.scenario import SyntheticWorkload
    from hybridsim.sim.training import TRAINERS

    wl = sim.scenario.workload
    assert not isinstance(wl, SyntheticWorkload)  # a training kind: "mlp" or "shapes"
    trainer = TRAINERS[wl.kind]
    procs = [sim.env.process(trainer(sim, t, sim.run_name)) for t in range(wl.tenants)]
    sim.env.all_of(procs).callbacks.append(lambda _ev: done())


#: The starter of each ``workload.kind`` (the schema admits no other kind).
STARTERS: dict[str, Starter] = {
    "synthetic": start_synthetic,
    "mlp": start_training,
    "shapes": start_training,
}
