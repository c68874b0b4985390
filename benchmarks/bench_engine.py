"""Engine throughput: the M/M/3 scenario through ``hybridsim.run`` against a plain,
hand-written SimPy M/M/3 model of the same arrivals, timed alternately in the same process.

Targets: hybridsim at least 0.8x the plain SimPy throughput with full records kept and the
summary computed (issue 15; 0.5x in issue 2). Memory (peak RSS of 10**6 and 10**7 jobs) is
``benchmarks/bench_memory.py``. The row ``mmc_engine_unkept`` runs the same simulation with a
recorder that builds every row and drops it at once: what keeping the rows in memory costs (the
plain SimPy model keeps one float per customer).

Where the run's time goes is measured in the same process (the rows ``mmc_engine_parts``): making
the synthetic jobs (sampling, ``SolveJob``), the engine (events, dispatch, transfers, records),
the summary, and the floor of SimPy's own event queue for the same number of events (four per
job: arrival, payload, service, result). The row ``record`` times the ways to build a
``JobRecord`` (the engine builds it by field name, as one tuple), and the row ``construct`` a
``SolveJob`` (through :func:`hybridsim.frozen.fast_init`'s constructor, against the one
``dataclasses`` generates for the same fields).
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import simpy

from benchmarks.harness import Row, interleaved_medians
from hybridsim.api import run as hs_run
from hybridsim.execution import Outcome
from hybridsim.records import JobRecord, Recorder
from hybridsim.results import RunResult
from hybridsim.rng import Streams
from hybridsim.scenario import load_scenario
from hybridsim.scheduling.base import Decision, SolveJob
from hybridsim.sim.devices import Flight
from hybridsim.sim.engine import Simulation
from hybridsim.sim.lifecycle import job_record
from hybridsim.timebase import TICKS_PER_SECOND
from hybridsim.workload.synthetic import sample_ticks, synthetic_jobs


def mmc_scenario(jobs: int) -> dict:
    """The issue's M/M/3 scenario (rho = 0.8) with ``jobs`` jobs."""
    return {
        "cluster": {"qpu": [{"name": "q", "count": 3}]},
        "workload": {
            "kind": "synthetic",
            "jobs": jobs,
            "arrival": {"dist": "exponential", "rate_per_s": 2.4},
            "service": {"dist": "exponential", "mean_s": 1.0},
            "pool": "qpu",
        },
    }


def plain_simpy_mmc(gaps: list[float], services: list[float], servers: int = 3) -> list[float]:
    """A textbook SimPy M/M/c model: a source process, a Resource, one process per customer.

    It records each customer's wait, the least a useful model keeps.
    """
    env = simpy.Environment()
    server = simpy.Resource(env, servers)
    waits: list[float] = []

    def customer(service: float):
        arrived = env.now
        with server.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def source():
        for gap, service in zip(gaps, services, strict=True):
            yield env.timeout(gap)
            env.process(customer(service))

    env.process(source())
    env.run()
    return waits


def same_samples(jobs: int, seed: int = 1) -> tuple[list[float], list[float]]:
    """The exact inter-arrival and service samples hybridsim draws, in float seconds."""
    sc = load_scenario(mmc_scenario(jobs))
    streams = Streams(seed)
    wl = sc.workload
    gaps = [t / TICKS_PER_SECOND for t in sample_ticks(wl.arrival, jobs, streams["arrivals"])]
    svc = [t / TICKS_PER_SECOND for t in sample_ticks(wl.service, jobs, streams["service"])]
    return gaps, svc


def simpy_queue_floor(events: int, pending: int = 4) -> None:
    """SimPy's own cost for ``events`` timeouts whose callback queues the next one: what any
    model with that many events pays (a floor under the engine's four events per job).

    ``pending`` chains run side by side, so the queue holds about as many events as an M/M/3 run
    at rho = 0.8 does (an arrival and up to three services). Queuing all the events up front
    instead would time a heap of 4 * jobs entries and the collector walking that many objects,
    which no run has (that version measured three times the plain SimPy model).
    """
    env = simpy.Environment()
    left = events - pending

    def tick(_ev):
        nonlocal left
        if left > 0:
            left -= 1
            env.timeout(1).callbacks.append(tick)

    for i in range(pending):
        env.timeout(i).callbacks.append(tick)
    env.run()


def _parts(scenario, repeats: int) -> dict[str, float]:
    """Median seconds of the run's parts: job generation, simulation, summary."""
    wl, host = scenario.workload, scenario.cluster.host
    out: dict[str, list[float]] = {"jobs": [], "simulate": [], "summary": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _pair in synthetic_jobs(wl, Streams(1), host):
            pass
        out["jobs"].append(time.perf_counter() - t0)
        sim = Simulation(scenario, 1)
        rec = sim.run()
        out["simulate"].append(sim.wall["simulate_s"])
        t0 = time.perf_counter()
        RunResult.from_records(scenario, 1, rec, sim)
        out["summary"].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in out.items()}


def _flight() -> Flight:
    """A finished flight of a modelled quantum job (every record field set)."""
    job = SolveJob(job_id=11, n=13, d=12, tenant=3, step=4, block="b", kappa_est=1e2)
    decision = Decision(route="quantum", group="q", predicted_s=1.5, predicted_quantum_s=1.5)
    flight = Flight(job, decision, seq=0, submitted_at=1, predicted_ticks=0, on_done=None)
    flight.dispatched_at, flight.started_at, flight.finished_at = 2, 3, 4

    class Dev:
        name = "q-0"

    flight.device = Dev()
    flight.outcome = Outcome(service_s=1.0, solver="modelled", method="jennings", queries=1e6)
    return flight


def _by_keywords(f: Flight, status: str, now: int) -> JobRecord:
    """The record built with one keyword per field (the form the engine does not use)."""
    j, d, o = f.job, f.decision, f.outcome
    return JobRecord(
        job_id=j.job_id,
        tenant=j.tenant,
        step=j.step,
        block=j.block,
        n=j.n,
        d=j.d,
        priority=j.priority,
        route=d.route,
        group=d.group,
        device=f.device.name,
        status=status,
        submitted_at=f.submitted_at,
        dispatched_at=f.dispatched_at,
        started_at=f.started_at,
        finished_at=f.finished_at,
        completed_at=now,
        kappa_est=j.kappa_est,
        kappa_true=j.kappa_true,
        estimator=j.estimator,
        predicted_s=d.predicted_s,
        predicted_classical_s=d.predicted_classical_s,
        predicted_quantum_s=d.predicted_quantum_s,
        solver=o.solver,
        method=o.method,
        matrix=o.matrix,
        assembly_s=o.assembly_s,
        factor_reused=o.factor_reused,
        compute_s=o.compute_s,
        state_prep_s=o.state_prep_s,
        readout_s=o.readout_s,
        overhead_s=o.overhead_s,
        queries=o.queries,
        shots=o.shots,
        n_qubits=o.n_qubits,
        success_probability=o.success_probability,
        fidelity=o.fidelity,
        solution_error=o.solution_error,
        attempts=f.attempts,
        fail_reason="",
        logical_qubits=o.logical_qubits,
        t_count=o.t_count,
        code_distance=o.code_distance,
        physical_qubits=o.physical_qubits,
    )


def record_costs(n: int = 100_000) -> dict[str, float]:
    """Seconds per JobRecord of a finished flight: the engine's ``job_record`` (each value read
    by its field's name, one tuple) against one keyword argument per field."""
    f = _flight()
    assert job_record(f, "completed", 5) == _by_keywords(f, "completed", 5)
    fns = {
        "job_record": lambda: [job_record(f, "completed", 5) for _ in range(n)],
        "keywords": lambda: [_by_keywords(f, "completed", 5) for _ in range(n)],
    }
    return {k: v / n for k, v in interleaved_medians(fns, 5).items()}


class _Dropped(list):
    """A record list that forgets every row appended (the row is still built)."""

    __slots__ = ()

    def append(self, _row: object) -> None:
        pass


def _simulate_unkept(scenario) -> None:
    """The simulation alone, every job and queue row built and dropped at once."""
    Simulation(scenario, 1, recorder=Recorder(jobs=_Dropped(), queues=_Dropped())).run()


def _simulate(scenario) -> None:
    """The simulation alone, the rows kept (as ``hybridsim.run`` keeps them)."""
    Simulation(scenario, 1).run()


def _minor_faults(fn, scenario) -> int:
    """Minor page faults of the process during ``fn(scenario)`` (the memory it touched fresh)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn(scenario)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def construct_costs(n: int = 100_000) -> dict[str, float]:
    """Seconds per ``SolveJob`` of a synthetic job's fields: its constructor (``fast_init``)
    against the one ``dataclasses`` generates for the same frozen, slotted fields."""
    plain = dataclasses.make_dataclass(
        "PlainSolveJob",
        [
            (f.name, f.type, dataclasses.field(default=f.default))
            for f in dataclasses.fields(SolveJob)
        ],
        frozen=True,
        slots=True,
    )

    def make(cls):
        def loop() -> None:
            for i in range(n):  # each job dropped at once, as the engine drops a finished job's
                cls(job_id=i, n=64, d=64, origin="host", service_ticks=10**21, pool="qpu")

        return loop

    fns = {"fast_init": make(SolveJob), "dataclass": make(plain)}
    return {k: v / n for k, v in interleaved_medians(fns, 5).items()}


def run(quick: bool) -> list[Row]:
    jobs = 20_000 if quick else 100_000
    repeats = 3 if quick else 5
    gaps, svc = same_samples(jobs)
    scenario = load_scenario(mmc_scenario(jobs))
    med = interleaved_medians(
        {
            "hybridsim": lambda: hs_run(scenario, seed=1),
            "simpy": lambda: plain_simpy_mmc(gaps, svc),
            "floor": lambda: simpy_queue_floor(4 * jobs),
        },
        repeats,
    )
    ours, base = jobs / med["hybridsim"], jobs / med["simpy"]
    rows = [
        Row(
            "mmc_engine",
            "jobs/s (M/M/3, full records + summary)",
            ours,
            baseline=base,
            target="ratio >= 0.8",
            ok=ours / base >= 0.8,
            note=f"{jobs} jobs, median of {repeats}, baseline: plain SimPy M/M/3",
        )
    ]
    parts = _parts(scenario, repeats)
    per_job = {k: v / jobs * 1e6 for k, v in parts.items()}
    engine_us = per_job["simulate"] - per_job["jobs"]
    simpy_us = med["simpy"] / jobs * 1e6
    floor_us = med["floor"] / jobs * 1e6
    for what, us, note in (
        ("making the jobs (sampling, SolveJob)", per_job["jobs"], "workload/synthetic.py"),
        ("engine (events, dispatch, transfers, records)", engine_us, "hybridsim/sim/"),
        ("summary", per_job["summary"], "results.py, metrics.py"),
        ("SimPy queue, 4 timeouts per job (4 chains)", floor_us, "the floor under 4 events/job"),
    ):
        rows.append(
            Row(
                "mmc_engine_parts",
                f"us per job: {what}",
                us,
                baseline=simpy_us,
                note=f"{note}; baseline: plain SimPy M/M/3 us per job; median of {repeats}",
            )
        )
    kept = interleaved_medians(
        {"kept": lambda: _simulate(scenario), "unkept": lambda: _simulate_unkept(scenario)},
        repeats,
    )
    rows.append(
        Row(
            "mmc_engine_unkept",
            "us per job: simulation, rows built and dropped (vs kept)",
            kept["unkept"] / jobs * 1e6,
            baseline=kept["kept"] / jobs * 1e6,
            note=f"Simulation.run alone, interleaved, median of {repeats}; the difference is what "
            "keeping the job and queue rows in memory costs (allocation of fresh memory)",
        )
    )
    faults = {
        k: _minor_faults(fn, scenario)
        for k, fn in (("kept", _simulate), ("unkept", _simulate_unkept))
    }
    rows.append(
        Row(
            "mmc_engine_unkept",
            "minor page faults per job: rows dropped (vs kept)",
            faults["unkept"] / jobs,
            baseline=faults["kept"] / jobs,
            note="one more run of each, ru_minflt of the process: memory the run touched fresh",
        )
    )
    made = construct_costs(20_000 if quick else 100_000)
    rows.append(
        Row(
            "construct",
            "us per SolveJob: fast_init (slot descriptors)",
            made["fast_init"] * 1e6,
            baseline=made["dataclass"] * 1e6,
            note="baseline: the __init__ dataclasses generates for the same frozen, slotted fields",
        )
    )
    rec = record_costs(20_000 if quick else 100_000)
    rows.append(
        Row(
            "record",
            "us per JobRecord: job_record (by field name, one tuple)",
            rec["job_record"] * 1e6,
            baseline=rec["keywords"] * 1e6,
            note="baseline: the same record with one keyword argument per field",
        )
    )
    return rows
