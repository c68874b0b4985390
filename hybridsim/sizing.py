"""The size of a run, known before it starts: jobs, steps, events, bytes and simulated span.

:func:`run_size` estimates, from the scenario alone and in closed form (no simulation), how big a
run will be: its solve jobs (training steps × blocks, or synthetic jobs) over the main run and
its baselines, the simulation events, the records held in memory and the bytes written, and
the simulated span: arrivals, local computes, and every solve on the route its policy takes at
the start, middle and end of training (queueing, estimation and retries only add to it, so it
is low rather than high; for real MLP blocks, whose κ is unknown before they are built, it is a
lower bound). :func:`check_size` refuses, during validation and naming the
key to change, any run beyond the limits below; ``hybridsim validate`` prints
:meth:`RunSize.describe`.

The limits are properties of this program on an ordinary machine, not of the model:

- :data:`MAX_SPAN_S`: no run may span more simulated time than the longest duration a scenario
  may write (about 31,700 years): beyond it a derived time (a solve at 1 MFLOP/s, a transfer at
  1 B/s) is a slip, and tick counts would outgrow float seconds' precision for reports.
- :data:`MAX_RECORD_BYTES`: what a run holds in memory. Records stream to disk as the run goes
  (:mod:`hybridsim.outputs.stream`): a run holds at most one chunk of rows of each kind
  (:data:`~hybridsim.records.SPILL_ROWS` job rows, four times as many of the others), the read
  buffers of the interval merge and its aggregates, of which only the waits grow with the run
  (:data:`WAIT_BYTES` per job), so the output limit binds long before this one.
- :data:`MAX_OUTPUT_BYTES`: the files a run writes, with its report (gzip-compressed CSVs with
  ``output.compress``; the trace is compressed past 4 MiB).
- :data:`MAX_EVENTS`: simulation events, about 5-100 µs of wall time each.

Estimates use the per-row sizes measured on the bundled scenarios (constants below); they are
meant to be right within a factor of about two, which is what a refusal needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hybridsim.errors import ScenarioError
from hybridsim.records import SPILL_ROWS
from hybridsim.timebase import TICKS_PER_SECOND

__all__ = [
    "RunSize",
    "run_size",
    "check_size",
    "MAX_SPAN_S",
    "MAX_RECORD_BYTES",
    "MAX_OUTPUT_BYTES",
    "MAX_EVENTS",
    "MAX_DEVICES",
    "MAX_NUMERIC_FLOPS",
]

#: Longest simulated span a run may have, in seconds (the longest duration a scenario may give).
MAX_SPAN_S = 1e12
#: Most bytes of records and aggregates a run may hold in memory (4 GB).
MAX_RECORD_BYTES = 4 * 10**9
#: Most bytes a run may write: CSV traces, trace.json and the report (8 GB).
MAX_OUTPUT_BYTES = 8 * 10**9
#: Most simulation events a run may process (at 5-100 µs each: minutes to hours).
MAX_EVENTS = 2 * 10**8
#: Most floating-point work a real (matrix-holding) training may do: about 1-2 hours on one
#: core at the 20-50 GFLOP/s a single BLAS thread reaches on the block sizes allowed.
MAX_NUMERIC_FLOPS = 1e14
#: Most devices in a cluster: the engine builds each (about 0.5 ms) and finds each route by a
#: shortest path over all of them (about 70 ms per route at this size).
MAX_DEVICES = 10_000

# Measured per-row sizes (bundled scenarios, CPython 3.11): in memory, and written.
JOB_RECORD_BYTES = 450  # a JobRecord (34 fields) in memory
INTERVAL_RECORD_BYTES = 150  # a device interval (local compute, outage, calibration)
QUEUE_RECORD_BYTES = 80  # a queue-level change
STEP_RECORD_BYTES = 250  # a training step row
WAIT_BYTES = 8  # a completed job's wait, kept for exact percentiles (float64)
MERGE_BLOCK_BYTES = 512 * INTERVAL_RECORD_BYTES  # one sorted run's read buffer in the merge
# jobs.csv row (synthetic jobs leave the model columns empty; training jobs fill them) + its
# intervals.csv row + its trace events (compressed: a run with enough jobs to matter has a
# trace past the 4 MiB at which it is written as trace.json.gz, about 45 B per job).
SYNTHETIC_JOB_OUTPUT_BYTES = 400 + 140 + 60
JOB_OUTPUT_BYTES = 550 + 140 + 60
INTERVAL_OUTPUT_BYTES = 140 + 60
QUEUE_OUTPUT_BYTES = 50 + 10
STEP_OUTPUT_BYTES = 300
#: Share of the CSV bytes left by gzip (``output.compress``; 0.1-0.4 on the bundled scenarios).
COMPRESSED_SHARE = 0.4
# Events per solve job (arrival or submission, dispatch, transfers, service, return) and per
# training step (forward/backward, curvature, estimate, update), upper-ish counts.
EVENTS_PER_JOB = 8
EVENTS_PER_STEP = 6
QUEUE_ROWS_PER_JOB = 2  # enqueue and dequeue, when the job waits


@dataclass(frozen=True, slots=True)
class RunSize:
    """How big a run is, estimated from its scenario (see the module docstring).

    Attributes
    ----------
    simulations : int
        The main run plus its baseline runs.
    jobs : int
        Solve jobs over all simulations.
    steps : int
        Training steps over all simulations and tenants (0 for synthetic workloads).
    blocks_per_step : int
        Solve jobs per Newton step and tenant (0 for synthetic workloads).
    events : int
        Simulation events, estimated.
    record_bytes : int
        Records held in memory, estimated.
    output_bytes : int
        Bytes written with the report, estimated.
    span_s : float
        Estimated simulated span of the longest of the simulations, in seconds.
    numeric_flops : float
        Floating-point work really done by numpy (real MLP training: the blocks are built,
        shaped, estimated and solved); 0 for shape-only and synthetic workloads.
    """

    simulations: int
    jobs: int
    steps: int
    blocks_per_step: int
    events: int
    record_bytes: int
    output_bytes: int
    span_s: float
    numeric_flops: float = 0.0

    def describe(self) -> str:
        """One line, e.g. ``2 runs, 240 jobs (30 steps × 4 blocks), ~2.1k events, ...``.

        Examples
        --------
        >>> print(RunSize(1, 20000, 0, 0, 80000, 9_000_000, 24_000_000, 8333.0).describe())
        1 run, 20,000 jobs, ~80k events, ~8.33e+03 s simulated, ~9 MB in memory, ~24 MB written
        """
        runs = f"{self.simulations} run" + ("s" if self.simulations != 1 else "")
        jobs = f"{self.jobs:,} jobs"
        if self.blocks_per_step:
            jobs += f" ({self.blocks_per_step} per Newton step)"
        if self.steps:
            jobs = f"{self.steps:,} steps, {jobs}"
        work = f", ~{self.numeric_flops:.2g} flops of numerics" if self.numeric_flops else ""
        return (
            f"{runs}, {jobs}, ~{_count(self.events)} events, "
            f"~{self.span_s:.3g} s simulated{work}, ~{_bytes(self.record_bytes)} in memory, "
            f"~{_bytes(self.output_bytes)} written"
        )


def _count(n: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:.3g}{suffix}"
    return f"{n:.0f}"


def _bytes(n: float) -> str:
    for size, suffix in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if n >= size:
            return f"{n / size:.3g} {suffix}"
    return f"{n:.0f} B"


# ---------------------------------------------------------------------------------------------
# pieces: each estimate carries the key a user would change to shrink it


@dataclass(frozen=True, slots=True)
class _Term:
    value: float
    key: str


def _largest(terms: list[_Term]) -> _Term:
    return max(terms, key=lambda t: t.value if t.value == t.value else math.inf)


def _s(ticks: int | None) -> float:
    return 0.0 if ticks is None else ticks / TICKS_PER_SECOND


def _group_key(group: Any, name: str) -> str:
    return f"cluster.{group.kind}.{group.name}.{name}"


def _costs(sc: Any) -> Any:
    from hybridsim.costs.model import CostModel

    return CostModel(sc.costs)


def _on_faulty(group: Any, seconds: Any, attempts: int | None = None) -> tuple[Any, str | None]:
    """Expected time to get ``seconds`` of work done on a device of ``group``, and the key that
    stretches it (None when nothing does much).

    Random failures (``mtbf``) restart the task: with exponential times to failure the expected
    completion time is ``expm1(T / mtbf) · (mtbf + mttr)``, which explodes once a task is much
    longer than the mean time between failures. A solve job tries at most ``attempts`` times
    (``faults.max_attempts``) before it falls back or fails, so its time there is also at most
    ``attempts · (T + mttr)``; a local compute task (``attempts=None``) restarts until it
    succeeds. Calibration windows take the share ``duration / period`` of the time away.
    """
    import numpy as np

    t = np.asarray(seconds, dtype=float)
    out, key = t, None
    f = group.failures
    if f is not None and f.mtbf is not None:
        mtbf, mttr = _s(f.mtbf), _s(f.mttr)
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.expm1(np.minimum(t / mtbf, 800.0)) * (mtbf + mttr)
            if attempts is not None:
                out = np.minimum(out, attempts * (t + mttr))
        out = np.maximum(out, t)
        key = _group_key(group, "failures.mtbf")
    if group.kind == "qpu" and group.calibration_period is not None:
        share = _s(group.calibration_duration) / _s(group.calibration_period)
        out = out / (1.0 - share)
        if share > 0.5 and key is None:
            key = _group_key(group, "calibration_duration")
    if key is not None and not np.any(out > 2.0 * t):
        key = None
    return out, key


def _transfer_s(sc: Any, origin: Any, group: Any, n: Any, d: Any) -> tuple[Any, str | None]:
    """Round trip of a job's payload and result between ``origin`` (a group, or None for the
    host) and a device of ``group`` in a star network, when the accounting charges transfers;
    with the key of its largest part. Zero for custom topologies (not estimated)."""
    import numpy as np

    if not _costs(sc).charges_transfer or sc.network.topology != "star" or origin is group:
        return 0.0, None
    net = sc.network
    n = np.asarray(n, dtype=float)
    d = np.asarray(d, dtype=float)
    nbytes = np.minimum(n * n * 8.0, n * d * 12.0) + n * 8.0  # payload there, result back
    if origin is None:
        ends = [(net.host_latency, net.host_bandwidth, "network.host")]
    else:
        ends = [
            (
                origin.link_latency,
                origin.link_bandwidth,
                f"cluster.{origin.kind}.{origin.name}.link",
            )
        ]
    ends.append((group.link_latency, group.link_bandwidth, _group_key(group, "link")))
    parts = {}
    for latency, bandwidth, where in ends:
        parts[f"{where}_latency"] = 2.0 * _s(latency)  # both directions
        parts[f"{where}_bandwidth"] = nbytes / bandwidth
    total: np.ndarray | float = sum(
        np.broadcast_to(np.asarray(v, dtype=float), n.shape) for v in parts.values()
    )
    lf = net.link_failures
    if lf is not None and lf.mtbf is not None:
        total = total * (_s(lf.mtbf) + _s(lf.mttr)) / _s(lf.mtbf)  # transfers wait for repairs
    biggest = max(parts, key=lambda k: float(np.max(parts[k])))
    return total, biggest


def _cheapest_service(
    sc: Any,
    costs: Any,
    n: Any,
    d: Any,
    kappa: Any,
    kinds,
    origin=None,
    slowest: bool = False,
    only: set[str] | None = None,
) -> list[_Term]:
    """Per job (arrays n, d, κ): the smallest (or with ``slowest`` the largest) service over the
    groups of ``kinds`` (and in ``only``, if given), failures, calibration and charged transfers
    included, with the key of its dominant term. Zero where no group can take the job."""
    import numpy as np

    from hybridsim.errors import ModelDomainError

    n = np.asarray(n, dtype=float)
    d = np.asarray(d, dtype=float)
    best = np.full(n.shape, -math.inf if slowest else math.inf)
    keys = np.full(n.shape, "", dtype=object)
    for g in sc.cluster.groups:
        if g.kind not in kinds or (only is not None and g.name not in only):
            continue
        try:
            with np.errstate(all="ignore"):
                if g.kind == "gpu":
                    c = costs._classical_arrays(n, d, np.asarray(kappa, dtype=float), g)
                    parts = {
                        "tflops": c.compute_s,
                        "memory_bandwidth": c.memory_s,
                        "launch_latency": c.launch_s,
                    }
                elif g.fault_tolerance is not None:
                    # the fault-tolerant estimate per job; a job the group refuses never runs
                    # there (routed around, or refused in zero time): it bounds nothing
                    k = np.maximum(np.asarray(kappa, dtype=float), math.sqrt(12))
                    k = np.broadcast_to(k, n.shape)
                    runtime = np.empty(n.shape)
                    refused = np.zeros(n.shape, dtype=bool)
                    for i, (ni, di, ki) in enumerate(zip(n.flat, d.flat, k.flat, strict=True)):
                        try:
                            est = costs.quantum(int(ni), int(di), float(ki), g)
                            t = est.total_s if not est.refusal else math.inf
                        except ModelDomainError:
                            t = math.inf
                        refused.flat[i] = not math.isfinite(t)
                        runtime.flat[i] = t if math.isfinite(t) else (-t if slowest else t)
                    parts = {"fault_tolerance.qubit_model": runtime}
                    c = None
                else:
                    # the cheapest κ a QLSA is charged (the Jennings bound's sqrt(12) floor)
                    k = np.maximum(np.asarray(kappa, dtype=float), math.sqrt(12))
                    c = costs._quantum_arrays(n, d, k, g, np.ones_like(n))
                    readout = "measure_time" if g.measure_time >= g.reset_time else "reset_time"
                    parts = {
                        "gate_time_2q": np.asarray(c.compute_s) + np.asarray(c.state_prep_s),
                        readout: c.readout_s,
                        "job_overhead": c.overhead_s,
                    }
                total = (
                    parts["fault_tolerance.qubit_model"]
                    if c is None
                    else np.asarray(c.total_s, dtype=float) * np.ones_like(n)
                )
        except ModelDomainError:
            continue  # this route cannot take the job: it does not bound the others
        names = list(parts)
        stacked = np.stack([np.broadcast_to(np.asarray(parts[k], float), n.shape) for k in names])
        dominant = np.array([_group_key(g, names[i]) for i in np.argmax(stacked, axis=0)])
        if c is None:  # a fault-tolerant group: the jobs it refuses name no key
            dominant = np.where(refused, "", dominant)
        stretched, fault_key = _on_faulty(g, total, sc.faults.max_attempts)
        if fault_key is not None:
            dominant = np.where(stretched > 2.0 * total, fault_key, dominant)
        moved, net_key = _transfer_s(sc, origin, g, n, d)
        if net_key is not None:
            dominant = np.where(np.asarray(moved) > stretched, net_key, dominant)
        total = stretched + moved
        # NaN compares false either way: a NaN cost replaces the best and stays visible
        better = ~(total <= best) if slowest else ~(total >= best)
        best = np.where(better, total, best)
        keys = np.where(better, dominant, keys)
    best = np.where(np.isneginf(best) | (np.isposinf(best) & (keys == "")), 0.0, best)
    return [_Term(float(b), str(k)) for b, k in zip(best.tolist(), keys.tolist(), strict=True)]


def _route_kinds(sc: Any, policy: str) -> set[str]:
    from hybridsim.scheduling.registry import policy_needs

    present = {g.kind for g in sc.cluster.groups}
    needs = set(policy_needs(policy)) & present
    return needs or present


def _kernel(gpu: Any, flops: float, nbytes: float = 0.0) -> float:
    return (
        max(flops / (gpu.tflops * 1e12), nbytes / gpu.memory_bandwidth)
        + gpu.launch_latency / TICKS_PER_SECOND
    )


def _local_compute(sc: Any, flops: list[float], flops_key: str | None) -> _Term:
    """Per-step local work (forward/backward, curvature, update) on the fastest GPU group."""
    best = None
    for g in sc.cluster.gpu:
        tasks = [_kernel(g, f) for f in flops]
        compute = sum(f / (g.tflops * 1e12) for f in flops)
        launch = len(flops) * g.launch_latency / TICKS_PER_SECOND
        key = (
            flops_key
            if flops_key and compute >= launch
            else _group_key(g, "tflops" if compute >= launch else "launch_latency")
        )
        stretched, fault_key = _on_faulty(g, tasks)  # each kernel restarts on its own
        t = float(sum(stretched.tolist()))
        if fault_key is not None and t > 2.0 * sum(tasks):
            key = fault_key
        if best is None or not t >= best.value:
            best = _Term(t, key)
    return best if best is not None else _Term(0.0, "cluster.gpu")


# ---------------------------------------------------------------------------------------------
# the workloads


@dataclass(frozen=True, slots=True)
class _Sim:
    """One simulation of the run (the main one or a baseline)."""

    jobs: int
    steps: int
    span: _Term
    jobs_key: str
    flops: float = 0.0  # numeric work really done (real MLP training only)


def _mean_gap_s(dist: Any, count: int) -> float:
    kind = type(dist).__name__
    if kind == "ExponentialDist":
        return _s(dist.mean_s) if dist.mean_s is not None else 1.0 / dist.rate_per_s
    if kind == "DeterministicDist":
        return _s(dist.value_s if dist.value_s is not None else dist.interval_s)
    if kind == "LognormalDist":
        return _s(dist.mean_s)
    if kind == "TraceDist":
        vals = dist.values_s[:count]
        return sum(vals) / TICKS_PER_SECOND / max(len(vals), 1)
    return 0.0  # model service: the cost model's, computed by the caller


def _synthetic(sc: Any) -> list[_Sim]:
    wl = sc.workload
    arrival_field = next(
        (
            f
            for f in ("rate_per_s", "mean_s", "interval_s", "value_s", "values_s")
            if getattr(wl.arrival, f, None) is not None
        ),
        "dist",
    )
    arrivals = _Term(
        wl.jobs * _mean_gap_s(wl.arrival, wl.jobs), f"workload.arrival.{arrival_field}"
    )
    groups = sc.cluster.groups_for(wl.pool) if wl.pool is not None else sc.cluster.groups
    slots = sum(g.count * g.capacity for g in groups) or 1
    n = max(wl.n, 1)
    d = wl.d if wl.d is not None else n
    if type(wl.service).__name__ == "ModelDist":
        kinds = {g.kind for g in groups} if wl.pool is not None else None
        kinds = kinds or _route_kinds(sc, sc.scheduler.policy)
        only = {g.name for g in groups}
        svc = _routed(sc, _costs(sc), [n], [d], wl.kappa or 1.0, kinds, None, only)[0]
    else:
        # explicit service times, stretched by each group's faults, plus charged transfers;
        # a job may land on any group of its pool, so the slowest one counts
        mean = _mean_gap_s(wl.service, wl.jobs)
        svc = _Term(0.0, "workload.service")
        for g in groups:
            t, key = _on_faulty(g, mean)
            moved, net_key = _transfer_s(sc, None, g, n, d) if wl.n else (0.0, None)
            total = float(t) + float(moved)
            if not total <= svc.value:
                key = net_key if float(moved) > float(t) else key
                svc = _Term(total, key or "workload.service")
    work = _Term(wl.jobs * svc.value / slots, svc.key)
    return [_Sim(wl.jobs, 0, _largest([arrivals, work]), "workload.jobs")]


def _routed(
    sc, costs, sizes, ds, kappa: float, kinds: set[str], origin=None, only=None
) -> list[_Term]:
    """Each block's service on the route its policy would take at condition number ``kappa``:
    the κ rules of ``kappa_threshold`` and ``qnewton`` as the schedulers apply them, the
    cheaper route for cost-based policies (and for unknown ones)."""
    kappas = [kappa] * len(sizes)
    policy, threshold = sc.scheduler.policy, sc.scheduler.kappa_threshold
    # The κ-rule policies pick the least loaded group of a kind by job count, whatever its
    # speed: a step's jobs land on every group of the kind, so the slowest one counts.
    slowest = policy in ("classical_only", "quantum_only", "kappa_threshold", "qnewton")
    by_kind = {
        k: _cheapest_service(sc, costs, sizes, ds, kappas, {k}, origin, slowest, only)
        for k in sorted(kinds)
    }
    if len(by_kind) == 1:
        return next(iter(by_kind.values()))
    out = []
    for c, q in zip(by_kind["gpu"], by_kind["qpu"], strict=True):
        if policy == "kappa_threshold":
            out.append(q if kappa <= threshold else c)
        elif policy == "qnewton":
            out.append(q if kappa <= threshold and q.value < c.value else c)
        else:
            out.append(q if q.value < c.value else c)
    return out


def _training_span(sc, costs, sizes, ds, kappas, kinds, local: _Term, steps: int, tenants: int):
    """Estimated span: per step, the local computes plus the step's solves (the longest one, or
    all of the tenants' work spread over the slots, whichever is longer), averaged over the
    representative condition numbers ``kappas`` (start, middle and end of training)."""
    slots = sum(g.count * g.capacity for g in sc.cluster.groups if g.kind in kinds) or 1
    solves = []
    for kappa in kappas:
        if not sizes or not kinds:
            solves.append(_Term(0.0, local.key))
            continue
        # a trainer's jobs start on its home GPU (the first group's, round robin)
        svc = _routed(sc, costs, sizes, ds, kappa, kinds, sc.cluster.gpu[0])
        longest = _largest(svc)
        shared = _Term(tenants * sum(t.value for t in svc) / slots, longest.key)
        solves.append(_largest([longest, shared]))
    solve = _Term(sum(t.value for t in solves) / len(solves), _largest(solves).key)
    per_step = local.value + solve.value
    return _Term(steps * per_step, (solve if solve.value > local.value else local).key)


def _kappa_samples(km: Any) -> list[float]:
    """Median κ at the start, middle and end of a shapes run."""
    if km.kind == "replay" and km.values:
        v = km.values
        return [v[0], v[len(v) // 2], v[-1]]
    return [km.start, km.start / math.sqrt(km.total_drop), km.start / km.total_drop]


def _mlp(sc: Any) -> list[_Sim]:
    from hybridsim.workload.datasets import DATASET_SHAPES
    from hybridsim.workload.mlp import (
        MLPSpec,
        block_sizes,
        forward_backward_flops,
        hessian_flops,
        update_flops,
    )

    wl = sc.workload
    n_in, n_out = DATASET_SHAPES[wl.dataset]
    spec = MLPSpec((n_in, *wl.hidden, n_out), wl.activation)
    sizes = list(block_sizes(spec, wl.partition, wl.chunk_size))
    ds = [max(1, math.floor(round(wl.prune_ratio * n, 9))) for n in sizes]
    fb = float(forward_backward_flops(spec, wl.batch_size))
    upd = float(update_flops(spec, clip=wl.clip is not None))
    hess = float(hessian_flops(spec, wl.batch_size, wl.curvature, wl.partition, wl.chunk_size))
    costs = _costs(sc)
    # A real block's κ is known only when it is built; at the estimator's first guess
    # (kappa 1) every route is at its cheapest, so the span is a lower bound here.
    kappas = [1.0]
    steps_key = "workload.tenants" if wl.tenants > wl.steps else "workload.steps"

    def newton(kinds) -> _Sim:
        local = _local_compute(sc, [fb, hess, upd], None)
        span = _training_span(sc, costs, sizes, ds, kappas, kinds, local, wl.steps, wl.tenants)
        # Really computed per block and step: shaping, the κ estimate, the exact κ for the
        # records and the solve, about 3·N³ flops together (LU 2/3, symmetric eigenvalues 4/3).
        work = wl.tenants * wl.steps * (fb + hess + upd + sum(3.0 * n**3 for n in sizes))
        return _Sim(
            wl.tenants * wl.steps * len(sizes), wl.tenants * wl.steps, span, steps_key, work
        )

    def first_order() -> _Sim:
        local = _local_compute(sc, [fb, upd], None)
        span = _Term(wl.steps * local.value, local.key)
        return _Sim(0, wl.tenants * wl.steps, span, steps_key, wl.tenants * wl.steps * (fb + upd))

    sims = [
        newton(_route_kinds(sc, sc.scheduler.policy)) if wl.optimizer == "newton" else first_order()
    ]
    for name in wl.baselines:  # as hybridsim.api.baseline_scenarios runs them
        if name == "classical_newton":
            if not (wl.optimizer == "newton" and sc.scheduler.policy == "classical_only"):
                sims.append(newton({"gpu"}))
        elif name != wl.optimizer:
            sims.append(first_order())
    return sims


def _shapes(sc: Any) -> list[_Sim]:
    from hybridsim.workload.shapes import paper_model, sparsity_d

    wl = sc.workload
    model = paper_model(wl.model, batch_size=wl.batch_size)
    steps = wl.steps if wl.steps is not None else max(1, round(model.steps_per_epoch * wl.epochs))
    steps_key = "workload.steps" if wl.steps is not None else "workload.epochs"
    sizes = [b.n for b in model.blocks]
    ds = [sparsity_d(n, wl.prune_ratio) for n in sizes]
    n_params = sum(sizes)
    fb = (wl.flops_per_example or 6.0 * n_params) * model.batch_size
    hess = sum(2.0 * model.batch_size * float(n) ** 2 for n in sizes)
    fb_key = "workload.flops_per_example" if wl.flops_per_example is not None else None
    local = _local_compute(sc, [fb, hess, 2.0 * n_params], fb_key)
    kinds = _route_kinds(sc, sc.scheduler.policy)
    kappas = _kappa_samples(wl.kappa)
    span = _training_span(sc, _costs(sc), sizes, ds, kappas, kinds, local, steps, wl.tenants)
    return [_Sim(wl.tenants * steps * len(sizes), wl.tenants * steps, span, steps_key)]


def _faults(sc: Any, span_s: float) -> tuple[list[_Term], list[_Term]]:
    """(outages, calibrations) expected over ``span_s``, per driving key."""
    outages, calibrations = [], []

    def failing(model, count: int, key: str) -> None:
        if model is None:
            return
        if model.at:
            outages.append(_Term(count * len(model.at), f"{key}.at"))
        else:
            cycle = _s(model.mtbf) + _s(model.mttr)
            outages.append(_Term(count * span_s / cycle, f"{key}.mtbf"))

    devices = 0
    for g in sc.cluster.groups:
        devices += g.count
        failing(g.failures, g.count, _group_key(g, "failures"))
        if g.kind == "qpu":
            if g.calibration_times:
                calibrations.append(
                    _Term(g.count * len(g.calibration_times), _group_key(g, "calibration_times"))
                )
            if g.calibration_period is not None:
                window = max(span_s - _s(g.calibration_offset), 0.0)
                calibrations.append(
                    _Term(
                        g.count * window / _s(g.calibration_period),
                        _group_key(g, "calibration_period"),
                    )
                )
    links = 1 + devices if sc.network.topology == "star" else len(sc.network.links)
    failing(sc.network.link_failures, links, "network.link_failures")
    return outages, calibrations


# ---------------------------------------------------------------------------------------------
# the run


def _estimate(sc: Any) -> tuple[RunSize, list[_Sim], list[_Term], list[_Term]]:
    kind = sc.workload.kind
    sims = {"synthetic": _synthetic, "mlp": _mlp, "shapes": _shapes}[kind](sc)
    until = None if sc.until is None else _s(sc.until)
    jobs = steps = 0
    flops = 0.0
    outages: list[_Term] = []
    calibrations: list[_Term] = []
    spans = []
    for sim in sims:
        span = sim.span.value
        share = 1.0
        if until is not None:
            # the run stops at `until`: only the share of the work that fits is done
            share = 1.0 if not span > until else until / span
            span = min(span, until)
        spans.append(span)
        jobs += math.ceil(sim.jobs * share)
        steps += math.ceil(sim.steps * share)
        flops += sim.flops * share
        o, c = _faults(sc, span if math.isfinite(span) else MAX_SPAN_S)
        outages += o
        calibrations += c
    n_outages = sum(t.value for t in outages)
    n_calib = sum(t.value for t in calibrations)
    queue_rows = QUEUE_ROWS_PER_JOB * jobs if sc.output.queue_levels else 0
    local = steps * 4 if kind != "synthetic" else 0  # local-compute intervals per step
    # Star: 2 links there, 2 back; a transfer is recorded only when it moves bytes (synthetic
    # jobs of n = 0 move none).
    moves = kind != "synthetic" or sc.workload.n > 0
    hops = 4 * jobs if moves and _costs(sc).charges_transfer else 0
    intervals = local + hops + n_outages + n_calib
    events = EVENTS_PER_JOB * jobs + EVENTS_PER_STEP * steps + 2 * (n_outages + n_calib)
    record_bytes = (
        _held(jobs, JOB_RECORD_BYTES, SPILL_ROWS)
        + _held(intervals, INTERVAL_RECORD_BYTES)
        + _held(queue_rows, QUEUE_RECORD_BYTES)
        + _held(steps, STEP_RECORD_BYTES)
        + WAIT_BYTES * jobs
        + _merge_bytes(jobs, intervals, queue_rows, steps)
    )
    output_bytes = _written_share(sc) * (
        _job_output_bytes(sc) * jobs
        + INTERVAL_OUTPUT_BYTES * intervals
        + QUEUE_OUTPUT_BYTES * queue_rows
        + STEP_OUTPUT_BYTES * steps
    )
    blocks = sims[0].jobs // sims[0].steps if kind != "synthetic" and sims[0].steps else 0
    size = RunSize(
        simulations=len(sims),
        jobs=jobs,
        steps=steps,
        blocks_per_step=blocks,
        events=_int(events),
        record_bytes=_int(record_bytes),
        output_bytes=_int(output_bytes),
        span_s=max(spans),
        numeric_flops=flops,
    )
    return size, sims, outages, calibrations


def _held(rows: float, per_row: int, limit: int = 4 * SPILL_ROWS) -> float:
    """Bytes of one kind of record in memory: every row of a run that never spills, else at most
    the chunk filling up (``limit`` rows: SPILL_ROWS job rows, four times as many others)."""
    return per_row * min(rows, limit)


def _merge_bytes(jobs: float, *others: float) -> float:
    """Read buffers of the interval merge at the end of a run that spilled: two sorted runs (job
    intervals and recorded ones) per spill, a spill every SPILL_ROWS jobs or four times as many
    rows of another kind."""
    spills = max(jobs / SPILL_ROWS, *(n / (4 * SPILL_ROWS) for n in others))
    if not spills > 1:
        return 0.0
    return 2 * math.ceil(spills) * MERGE_BLOCK_BYTES


def _job_output_bytes(sc: Any) -> int:
    return SYNTHETIC_JOB_OUTPUT_BYTES if sc.workload.kind == "synthetic" else JOB_OUTPUT_BYTES


def _written_share(sc: Any) -> float:
    return COMPRESSED_SHARE if sc.output.compress else 1.0


def _int(x: float) -> int:
    return int(x) if math.isfinite(x) else 2**63


def run_size(sc: Any) -> RunSize:
    """Estimate the size of the run of a validated scenario (pure; milliseconds).

    Parameters
    ----------
    sc : Scenario

    Returns
    -------
    RunSize

    Examples
    --------
    >>> from hybridsim.scenario import load_scenario
    >>> sc = load_scenario({
    ...     "cluster": {"gpu": [{"name": "g"}]},
    ...     "workload": {"kind": "synthetic", "jobs": 1000, "pool": "gpu",
    ...                  "arrival": {"dist": "deterministic", "interval_s": 1},
    ...                  "service": {"dist": "deterministic", "value_s": 0.5}}})
    >>> size = run_size(sc)
    >>> size.jobs, size.span_s
    (1000, 1000.0)
    """
    return _estimate(sc)[0]


def check_size(sc: Any, file: str) -> RunSize:
    """Refuse a run beyond the limits of this module, naming the key to change.

    Returns the size when it fits.

    Raises
    ------
    ScenarioError
        For a span beyond :data:`MAX_SPAN_S` (naming the key of its largest term), or records,
        output or events beyond :data:`MAX_RECORD_BYTES`, :data:`MAX_OUTPUT_BYTES`,
        :data:`MAX_EVENTS` (naming the workload's length, the fault or calibration key that
        contributes most, or ``output.queue_levels``).
    """
    groups = sc.cluster.groups
    devices = sum(g.count for g in groups)
    if devices > MAX_DEVICES:
        big = max(groups, key=lambda g: g.count)
        raise ScenarioError(
            file,
            _group_key(big, "count"),
            f"the cluster would have {devices:,} devices",
            f"at most {MAX_DEVICES:,} devices in all (docs/reference/scenario.md#run-size)",
        )
    size, sims, outages, calibrations = _estimate(sc)
    for sim in sims:
        if not sim.span.value <= MAX_SPAN_S and sc.until is None:
            span = sim.span.value
            how_long = (
                f"about {span:.3g} s of simulated time ({span / 3.15576e7:.3g} years)"
                if math.isfinite(span)
                else "forever (an unbounded expected time)"
            )
            raise ScenarioError(
                file,
                sim.span.key,
                f"the run would span {how_long}, this key's term being the largest",
                f"a run of at most {MAX_SPAN_S:g} s (docs/reference/scenario.md#run-size)",
            )
    why = sims[0].jobs_key
    queue = sc.output.queue_levels
    # What grows with each key: in memory only the waits (a job's), on disk every row.
    held = [
        _Term(WAIT_BYTES * size.jobs, why),
        *(_Term(INTERVAL_RECORD_BYTES * t.value, t.key) for t in outages + calibrations),
    ]
    written = [
        _Term(_job_output_bytes(sc) * size.jobs, why),
        *(_Term(INTERVAL_OUTPUT_BYTES * t.value, t.key) for t in outages + calibrations),
    ]
    if queue:
        written.append(_Term(QUEUE_OUTPUT_BYTES * QUEUE_ROWS_PER_JOB * size.jobs, why))
    # (compression scales every term alike: the largest stays the largest)
    for total, limit, what, terms in (
        (size.output_bytes, MAX_OUTPUT_BYTES, "of output files", written),
        (size.record_bytes, MAX_RECORD_BYTES, "of records in memory", held),
    ):
        if total > limit:
            culprit = _largest(terms)
            raise ScenarioError(
                file,
                culprit.key,
                f"the run would hold about {_bytes(total)} {what} ({size.describe()})",
                f"at most {_bytes(limit)} (docs/reference/scenario.md#run-size)",
            )
    if size.numeric_flops > MAX_NUMERIC_FLOPS:
        raise ScenarioError(
            file,
            why,
            f"the training would compute about {size.numeric_flops:.2g} flops of real numerics "
            f"(hours beyond the limit; {size.describe()})",
            f"at most {MAX_NUMERIC_FLOPS:.0e} flops (fewer steps or tenants, smaller blocks, or "
            'kind = "shapes"; docs/reference/scenario.md#run-size)',
        )
    if size.events > MAX_EVENTS:
        culprit = _largest([_Term(EVENTS_PER_JOB * size.jobs, why), *outages, *calibrations])
        raise ScenarioError(
            file,
            culprit.key,
            f"the run would process about {_count(size.events)} simulation events "
            f"({size.describe()})",
            f"at most {_count(MAX_EVENTS)} (docs/reference/scenario.md#run-size)",
        )
    return size
