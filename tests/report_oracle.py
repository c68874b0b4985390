"""The report's per-row computations as they were before the report streamed (commit c59f986):
the reference the streamed report must match byte for byte.

Each function here is the old one verbatim, except that ``run.capacities`` (now from the run's
job digest) is :func:`capacities` (the old property's loop over the jobs) and the series helpers
are the old list-based ones below. They hold a list, dict or sort of every job and interval,
which is what the report no longer does: :func:`patched` swaps them in, so a test can draw a
report the old way and compare its files with the new ones.
"""

from __future__ import annotations

import contextlib
import math
import statistics
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from hybridsim import metrics as M
from hybridsim.records import IntervalRecord, JobRecord, QueueRecord
from hybridsim.report import blocks, figures, gantt, trace
from hybridsim.report.blocks import _block, _has_steps, _panels
from hybridsim.report.data import RunData, as_run, as_runs
from hybridsim.report.figures import (
    _RASTER_POINTS,
    _axes,
    _device_color,
    _finish,
    _no_data,
    _pool_color,
    _secs,
)
from hybridsim.report.lanes import (
    ZOOM_BELOW_PX,
    Bars,
    Lane,
    LanePlan,
    Span,
    TimelinePlan,
    Zoom,
    assign_slots,
    merge_spans,
    union_ticks,
)
from hybridsim.report.series import Envelope, Steps
from hybridsim.report.style import (
    color,
    distinct_colors,
    is_window_kind,
    log_ticks,
    percent,
    plain_text,
    unit_label,
)
from hybridsim.report.trace import (
    _JOB_ARGS,
    _PROCESSES,
    _QUEUES_PID,
    _job_args,
    _jsonable,
    _us,
)
from hybridsim.timebase import SI_UNITS, duration_unit, format_duration

_START_END = itemgetter(
    IntervalRecord._fields.index("start_at"), IntervalRecord._fields.index("end_at")
)


def capacities(run: RunData) -> dict[str, int]:
    """The old ``RunData.capacities``."""
    caps = {d.name: d.capacity for d in run.devices}
    for j in run.jobs:
        if j.device and j.device not in caps:
            caps[j.device] = 1
    return caps


@contextlib.contextmanager
def patched(monkeypatch: Any):
    """Draw reports the old way inside the block."""
    with monkeypatch.context() as m:
        m.setattr(trace, "trace_events", trace_events)
        m.setattr(gantt, "plan_timeline", plan_timeline)
        m.setattr(gantt, "lanes_of", lanes_of)
        for name in ("queue_lengths", "utilization_over_time", "cost_rows", "predicted_vs_actual"):
            m.setattr(figures, name, globals()[name])
        m.setattr(blocks, "_shared_figures", _shared_figures)
        yield


def _shared_figures(runs: list[RunData]) -> list[Any]:
    F = figures
    out = []
    if _has_steps(runs, "loss") or _has_steps(runs, "test_accuracy"):
        draw = [lambda ax: F.loss_curves(runs, ax), lambda ax: F.accuracy_curves(runs, ax)]
        out.append(_block("training", _panels(draw, 4.0)))
    if _has_steps(runs, "test_accuracy") and any(F.target_accuracy(r) is not None for r in runs):
        draw = [lambda ax: F.time_to_accuracy(runs, ax)]
        out.append(_block("target", _panels(draw, 4.0)))
    if any(s.blocks > 0 for r in runs for s in r.steps):
        draw = [lambda ax: F.kappa_curves(runs, ax), lambda ax: F.routed_fraction(runs, ax)]
        out.append(_block("kappa", _panels(draw, 4.0)))
    if any(j.status == "completed" for r in runs for j in r.jobs):
        rows = F.cost_rows(runs)  # once for both panels: a pass over every job
        draw = [
            lambda ax: F.draw_costs(ax, rows, normalize=False),
            lambda ax: F.draw_costs(ax, rows, normalize=True),
        ]
        out.append(_block("costs", _panels(draw, 1.8 + 0.45 * max(len(rows), 2))))
    if any(j.predicted_s for r in runs for j in r.jobs):
        out.append(_block("predicted", _panels([lambda ax: F.predicted_vs_actual(runs, ax)], 5.0)))
    return out


def queue_steps(queues: Iterable[QueueRecord], pool: str, horizon: int) -> Steps:
    """The queue length of ``pool`` as a step function over ``[0, horizon]``.

    Examples
    --------
    >>> from hybridsim.records import QueueRecord
    >>> queue_steps([QueueRecord(2, "q", 1), QueueRecord(5, "q", 0)], "q", 9)
    Steps(edges=(0, 2, 5, 9), values=(0, 1, 0))
    """
    edges = [0]
    values = [0]
    for q in queues:
        if q.pool != pool or q.at > horizon:
            continue
        if q.at == edges[-1]:
            values[-1] = q.length  # several changes at one instant: the last one holds
        else:
            edges.append(q.at)
            values.append(q.length)
    end = max(horizon, edges[-1] + 1)
    return Steps(tuple(edges) + (end,), tuple(values))


def bin_edges(horizon: int, bins: int) -> tuple[int, ...]:
    """``bins + 1`` integer edges splitting ``[0, horizon]`` as evenly as ticks allow."""
    bins = max(1, min(bins, horizon)) if horizon > 0 else 1
    return tuple(horizon * k // bins for k in range(bins + 1))


def envelope(steps: Steps, bins: int) -> Envelope:
    """Minimum, maximum and time-weighted mean of a step function in ``bins`` equal bins."""
    edges = bin_edges(steps.edges[-1], bins)
    nb = len(edges) - 1
    low: list[int | None] = [None] * nb
    high: list[int | None] = [None] * nb
    area = [0] * nb
    for i, v in enumerate(steps.values):
        a, b = steps.edges[i], steps.edges[i + 1]
        if b <= a:
            continue
        k = max(0, bisect_right(edges, a) - 1)
        while k < nb and edges[k] < b:
            lo, hi = max(a, edges[k]), min(b, edges[k + 1])
            if hi > lo:
                area[k] += v * (hi - lo)
                lo_k, hi_k = low[k], high[k]
                low[k] = v if lo_k is None else min(lo_k, v)
                high[k] = v if hi_k is None else max(hi_k, v)
            k += 1
    widths = [edges[k + 1] - edges[k] for k in range(nb)]
    return Envelope(
        edges,
        tuple(x if x is not None else 0 for x in low),
        tuple(x if x is not None else 0 for x in high),
        tuple(area[k] / widths[k] if widths[k] else 0.0 for k in range(nb)),
    )


def busy_per_bin(spans: Iterable[tuple[int, int]], edges: Sequence[int]) -> list[int]:
    """Exact busy ticks of ``(start, end)`` spans inside each bin (overlaps add: slot-time).

    Examples
    --------
    >>> busy_per_bin([(0, 15), (18, 20)], (0, 10, 20))
    [10, 7]
    """
    nb = len(edges) - 1
    busy = [0] * nb
    for a, b in spans:
        k = max(0, bisect_right(edges, a) - 1)
        while k < nb and edges[k] < b:
            lo, hi = max(a, edges[k]), min(b, edges[k + 1])
            if hi > lo:
                busy[k] += hi - lo
            k += 1
    return busy


def lanes_of(run: RunData) -> list[Lane]:
    """Lanes in drawing order: declared GPUs, declared QPUs, other devices, then links.

    Declared devices get a lane even when idle (an idle QPU is worth seeing); links appear when
    anything crossed them.
    """
    lanes = [Lane(d.name, d.kind) for d in run.devices]
    known = {ln.name for ln in lanes}
    others: set[str] = set()
    links: set[str] = set()
    for iv in run.intervals:
        if iv.resource not in known:
            (links if iv.resource.startswith("link:") else others).add(iv.resource)
    for j in run.jobs:
        if j.device and j.device not in known:
            others.add(j.device)
    lanes += [Lane(n, "device") for n in sorted(others)]
    lanes += [Lane(n, "link") for n in sorted(links)]
    return lanes


def _bar_key(iv: IntervalRecord, jobs: dict[int, JobRecord], color_by: str) -> str:
    if iv.kind != "job":
        return iv.kind
    job = jobs.get(iv.job_id)
    if job is not None and job.status != "completed":
        return "failed"
    if color_by == "step" and job is not None:
        return f"step {job.step}"
    if color_by == "kind":
        return "job"
    return iv.label or "job"


def _failure_instant(j: JobRecord) -> int:
    # The last instant the job reached: where it failed (finished_at may be unset on failure).
    return max(j.submitted_at, j.dispatched_at, j.started_at, j.finished_at)


def plan_timeline(
    run: RunData,
    *,
    px_ticks: int,
    color_by: str = "route",
    max_bars_per_lane: int = 2000,
    zoom: bool = True,
) -> TimelinePlan:
    """Plan the timeline of ``run``.

    Parameters
    ----------
    run : RunData
    px_ticks : int
        Width of one pixel of the main time axis, in ticks.
    color_by : {"route", "step", "kind"}
        Key that colours job bars: the job's route, its training step, or just ``"job"``.
    max_bars_per_lane : int
        Above this many bars of one colour, a lane is drawn as its busy fraction per pixel
        column (and above this many windows, windows less than a pixel apart are merged).
    zoom : bool
        Whether to pick a tiny interval for a to-scale zoom panel.

    Returns
    -------
    TimelinePlan
    """
    if color_by not in ("route", "step", "kind"):
        raise ValueError(f"color_by must be 'route', 'step' or 'kind', got {color_by!r}")
    px = max(1, int(px_ticks))
    jobs = {j.job_id: j for j in run.jobs}
    by_lane: dict[str, list[IntervalRecord]] = defaultdict(list)
    for iv in run.intervals:
        by_lane[iv.resource].append(iv)
    failures: dict[str, list[int]] = defaultdict(list)
    failed_jobs = 0
    for j in run.jobs:
        if j.status != "completed":
            failed_jobs += 1
            if j.device:
                failures[j.device].append(_failure_instant(j))

    capacity = capacities(run)
    utilization = M.utilization(
        [j for j in run.jobs if j.status == "completed"], capacity, run.horizon
    )
    edges = bin_edges(run.horizon, max(1, run.horizon // px))
    binned_any = False
    kinds: dict[str, bool] = {}  # kind -> is a window (memo: one lookup per interval)
    plans: list[LanePlan] = []
    zoom_pick: tuple[int, int, int, str, IntervalRecord] | None = None
    for order, lane in enumerate(lanes_of(run)):
        # Records are tuples: itemgetter keeps the sort key in C (10**5 intervals per lane).
        ivs = sorted(by_lane.get(lane.name, ()), key=_START_END)
        groups: dict[str, list[Span]] = defaultdict(list)
        windows: list[tuple[str, int, int]] = []
        work: list[Span] = []
        tiny: list[IntervalRecord] = []
        for iv in ivs:
            window = kinds.get(iv.kind)
            if window is None:
                window = kinds[iv.kind] = is_window_kind(iv.kind)
            if window:
                windows.append((iv.kind, iv.start_at, iv.end_at))
                continue
            key = _bar_key(iv, jobs, color_by)
            groups[key].append((iv.start_at, iv.end_at))
            work.append((iv.start_at, iv.end_at))
            if iv.end_at - iv.start_at < px:
                tiny.append(iv)
        bars = []
        for key in sorted(groups):
            spans = groups[key]
            if len(spans) > max_bars_per_lane:
                n_slots = capacity.get(lane.name, 1)
                busy = busy_per_bin(spans, edges)
                density = tuple(
                    min(1.0, b / (n_slots * (edges[k + 1] - edges[k]))) if b else 0.0
                    for k, b in enumerate(busy)
                )
                bars.append(Bars(key, (), len(spans), density))
                binned_any = True
            else:
                bars.append(Bars(key, tuple(spans), len(spans)))
        n_windows = len(windows)
        if n_windows > max_bars_per_lane:
            merged: list[tuple[str, int, int]] = []
            for kind in sorted({w[0] for w in windows}):
                spans = [(s, e) for k, s, e in windows if k == kind]
                merged += [(kind, s, e) for s, e in merge_spans(spans, px)]
            windows = merged
        plans.append(
            LanePlan(
                lane,
                tuple(bars),
                tuple(windows),
                n_windows,
                tuple(sorted(failures.get(lane.name, ()))),
                union_ticks(work),
                len(tiny),
                utilization.get(lane.name) if lane.kind != "link" else None,
            )
        )
        for iv in tiny:
            # The zoom shows the shortest interval of the run (earliest, then first lane, on
            # ties): the far end of the time scale.
            cand = (iv.end_at - iv.start_at, iv.start_at, order, lane.name, iv)
            if zoom_pick is None or cand[:3] < zoom_pick[:3]:
                zoom_pick = cand

    zoom_plan = None
    # Bars of a tenth of a pixel or more are fairly shown by the minimum width; a zoom is for
    # intervals orders of magnitude below the pixel (attosecond jobs in a millisecond run).
    if zoom and zoom_pick is not None and zoom_pick[0] * ZOOM_BELOW_PX < px:
        lane_name, iv = zoom_pick[3], zoom_pick[4]
        dur = iv.end_at - iv.start_at
        pad = max(2 * dur, 1)
        lo, hi = iv.start_at - pad, iv.end_at + pad
        # Slots over the lane's intervals in record order: the same assignment as trace.json.
        every = by_lane[lane_name]
        slots = assign_slots([(x.start_at, x.end_at) for x in every])
        near = [
            (x, k) for x, k in zip(every, slots, strict=True) if x.end_at >= lo and x.start_at <= hi
        ]
        zoom_plan = Zoom(
            lane_name, iv, lo, hi, tuple(x for x, _ in near), tuple(k for _, k in near)
        )
    return TimelinePlan(
        tuple(plans), run.horizon, px, zoom_plan, failed_jobs, edges if binned_any else ()
    )


def trace_events(run: Any) -> Iterator[dict[str, Any]]:
    """The trace events of a run, in file order: metadata, intervals, failures, queue counters.

    Parameters
    ----------
    run : RunData, RunResult or path

    Yields
    ------
    dict
        One trace event each.
    """
    data = as_run(run)
    pids = {kind: i + 1 for i, (kind, _) in enumerate(_PROCESSES)}
    lanes = lanes_of(data)
    # One track per slot: each lane's intervals in record order, lowest free slot at each start.
    # One pass over the intervals (a long run's are a lazy sequence over intervals.csv, where
    # indexing reads the file up to the index).
    by_lane: dict[str, list[int]] = {}
    span_of: dict[str, list[tuple[int, int]]] = {}
    for k, iv in enumerate(data.intervals):
        by_lane.setdefault(iv.resource, []).append(k)
        span_of.setdefault(iv.resource, []).append((iv.start_at, iv.end_at))
    slot_of = [0] * sum(map(len, by_lane.values()))
    n_slots: dict[str, int] = {}
    for name, idx in by_lane.items():
        for k, slot in zip(idx, assign_slots(span_of.pop(name)), strict=True):
            slot_of[k] = slot
        n_slots[name] = max(slot_of[k] for k in idx) + 1
    tids: dict[tuple[str, int], tuple[int, int]] = {}
    used_kinds = {ln.kind for ln in lanes}
    for kind, name in _PROCESSES:
        if kind in used_kinds:
            pid = pids[kind]
            yield {"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}}
            yield {
                "ph": "M",
                "name": "process_sort_index",
                "pid": pid,
                "tid": 0,
                "args": {"sort_index": pid},
            }
    tid = 0
    for lane in lanes:
        pid = pids[lane.kind]
        slots = n_slots.get(lane.name, 1)
        for slot in range(slots):
            tid += 1
            tids[(lane.name, slot)] = (pid, tid)
            name = lane.name if slots == 1 else f"{lane.name} slot {slot}"
            yield {"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}}
            yield {
                "ph": "M",
                "name": "thread_sort_index",
                "pid": pid,
                "tid": tid,
                "args": {"sort_index": tid},
            }

    jobs: dict[int, JobRecord] = {j.job_id: j for j in data.jobs}
    last_slot: dict[int, tuple[str, int]] = {}  # job id -> (resource, slot) of its last interval
    for k, iv in enumerate(data.intervals):
        slot = slot_of[k]
        pid, tid = tids[(iv.resource, slot)]
        if iv.job_id >= 0:
            last_slot[iv.job_id] = (iv.resource, slot)
        job = jobs.get(iv.job_id) if iv.job_id >= 0 else None
        if iv.kind == "job":
            name = f"job {iv.job_id}" + (f" {job.block}" if job is not None and job.block else "")
        elif iv.job_id >= 0:
            name = f"{iv.kind} job {iv.job_id}"
        else:
            name = iv.label or iv.kind
        dur = iv.end_at - iv.start_at
        args: dict[str, Any] = {"duration": format_duration(dur), "kind": iv.kind}
        if iv.job_id >= 0:
            args["job_id"] = iv.job_id
        if n_slots[iv.resource] > 1:
            args["slot"] = slot
        if iv.label:
            args["label"] = iv.label
        if iv.kind == "job" and job is not None:
            for key, value in zip(_JOB_ARGS, _job_args(job), strict=True):
                if value is not None and value != "":
                    args[key] = _jsonable(value)
        yield {
            "ph": "X",
            "name": name,
            "cat": iv.kind,
            "pid": pid,
            "tid": tid,
            "ts": _us(iv.start_at),
            "dur": _us(dur),
            "args": args,
        }

    for j in data.jobs:
        if j.status == "completed" or (j.device, 0) not in tids:
            continue
        # On the track of the job's last interval on its device (slot 0 if it never ran).
        where = last_slot.get(j.job_id)
        pid, tid = tids[where if where is not None and where[0] == j.device else (j.device, 0)]
        at = max(j.submitted_at, j.dispatched_at, j.started_at, j.finished_at)
        yield {
            "ph": "i",
            "s": "t",
            "name": f"job {j.job_id} {j.status}",
            "cat": "failure",
            "pid": pid,
            "tid": tid,
            "ts": _us(at),
            "args": {
                "at": str(at),
                "job_id": j.job_id,
                "status": j.status,
                "fail_reason": j.fail_reason,
                "attempts": j.attempts,
            },
        }

    if data.queues:
        yield {
            "ph": "M",
            "name": "process_name",
            "pid": _QUEUES_PID,
            "tid": 0,
            "args": {"name": "queues"},
        }
        yield {
            "ph": "M",
            "name": "process_sort_index",
            "pid": _QUEUES_PID,
            "tid": 0,
            "args": {"sort_index": _QUEUES_PID},
        }
    for q in data.queues:
        yield {
            "ph": "C",
            "name": f"queue {q.pool}",
            "pid": _QUEUES_PID,
            "ts": _us(q.at),
            "args": {"length": q.length},
        }


def queue_lengths(run: Any, ax: Any = None, *, max_points: int | None = None):
    """Queue length of every pool over simulated time (one step line per pool).

    Parameters
    ----------
    run : RunData, RunResult or path
    ax : matplotlib.axes.Axes, optional
    max_points : int, optional
        Above this many changes a pool is drawn as its per-bin envelope (min to max, with the
        time-weighted mean as the line). Default: two per pixel of the axis.

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = as_run(run)
    fig, ax, own = _axes(ax)
    unit, size = duration_unit(data.horizon, SI_UNITS)
    px = max(50, int(ax.get_position().width * fig.get_figwidth() * fig.dpi))
    limit = max_points if max_points is not None else 2 * px
    means = M.mean_queue_length(data.queues, data.pools, data.horizon)
    drawn = 0
    for pool in data.pools:
        steps = queue_steps(data.queues, pool, data.horizon)
        if len(steps.values) <= 1 and not any(steps.values):
            continue
        label = f"{pool} (mean {means.get(pool, 0.0):.3g})"
        c = _pool_color(pool, data)
        if len(steps.values) > limit:
            env = envelope(steps, px)
            x = [e / size for e in env.edges]
            ax.stairs(
                env.high, x, baseline=env.low, fill=True, alpha=0.3, color=c, gid=f"envelope:{pool}"
            )
            ax.stairs(
                env.mean, x, color=c, label=f"{label}, binned: min–max, mean", gid=f"line:{pool}"
            )
        else:
            ax.stairs(
                steps.values,
                [e / size for e in steps.edges],
                color=c,
                label=label,
                gid=f"line:{pool}",
            )
        drawn += 1
    if not drawn:
        _no_data(ax, "no queueing recorded (no job ever waited)")
    else:
        ax.set_xlim(0, data.horizon / size)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel(f"simulated time ({unit_label(unit)})")
    ax.set_ylabel("jobs waiting")
    ax.set_title(f"{plain_text(data.title)}: queue length per pool", loc="left", fontsize=10)
    return _finish(fig, own)


def utilization_over_time(run: Any, ax: Any = None, *, bins: int = 100, log: bool | None = None):
    """Time-weighted utilization of every device per time bin (one step line per device).

    Utilization in a bin is job service time inside the bin over ``capacity × bin width``, the
    same definition as :func:`hybridsim.metrics.utilization`, whose whole-run value is in the
    legend.

    Parameters
    ----------
    run : RunData, RunResult or path
    ax : matplotlib.axes.Axes, optional
    bins : int
        Number of equal time bins.
    log : bool, optional
        Logarithmic y axis. Default: on when some device's utilization is below 0.1 % but not
        zero (attosecond QPU jobs next to busy GPUs).

    Returns
    -------
    matplotlib.figure.Figure
    """
    data = as_run(run)
    fig, ax, own = _axes(ax)
    unit, size = duration_unit(data.horizon, SI_UNITS)
    caps = capacities(data)
    completed = [j for j in data.jobs if j.status == "completed"]
    overall = M.utilization(completed, caps, data.horizon)
    edges = bin_edges(data.horizon, bins)
    per_dev: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for iv in data.intervals:
        if iv.kind == "job" and iv.resource in caps:
            per_dev[iv.resource].append((iv.start_at, iv.end_at))
    x = [e / size for e in edges]
    for dev in caps:
        busy = busy_per_bin(per_dev.get(dev, []), edges)
        vals = [
            b / (caps[dev] * (edges[k + 1] - edges[k])) if edges[k + 1] > edges[k] else 0.0
            for k, b in enumerate(busy)
        ]
        ax.stairs(
            vals,
            x,
            label=f"{dev} ({percent(overall.get(dev, 0.0))})",
            color=_device_color(dev, data),
            gid=f"line:{dev}",
        )
    if not caps:
        _no_data(ax, "no devices")
        return _finish(fig, own)
    positive = [u for u in overall.values() if u > 0]
    if log is None:
        log = bool(positive) and min(positive) < 1e-3
    if log:
        ax.set_yscale("log")
        log_ticks(ax.yaxis)
        ax.set_ylim(top=1.5)
        ax.set_ylabel("utilization (log; 0 not drawn)")
    else:
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("utilization")
    ax.set_xlim(0, data.horizon / size)
    ax.set_xlabel(f"simulated time ({unit_label(unit)}); {len(edges) - 1} bins")
    ax.legend(fontsize=8, loc="upper right", ncols=max(1, len(caps) // 8))
    ax.set_title(
        f"{plain_text(data.title)}: utilization of each device's slots by solve jobs "
        "(whole-run value in legend)",
        loc="left",
        fontsize=10,
    )
    return _finish(fig, own)


def _route_means(jobs: list[JobRecord]) -> tuple[float, ...]:
    """Mean seconds per job of each :data:`COST_COMPONENTS` entry (spans summed in ticks)."""
    n = len(jobs)
    service = sum([j.finished_at - j.started_at for j in jobs if j.compute_s is None])
    # compute_s where the cost model gave a breakdown, else the whole (explicit) service time
    compute = sum([j.compute_s for j in jobs if j.compute_s is not None]) + _secs(service)
    transfer = sum([M.transfer_ticks(j) for j in jobs])
    wait = sum([M.wait_ticks(j) for j in jobs])
    return (
        compute / n,
        _secs(transfer) / n,
        _secs(wait) / n,
        sum([j.state_prep_s or 0.0 for j in jobs]) / n,
        sum([j.readout_s or 0.0 for j in jobs]) / n,
        sum([j.overhead_s or 0.0 for j in jobs]) / n,
    )


def cost_rows(runs: list[RunData]) -> list[tuple[str, int, tuple[float, ...]]]:
    """Mean seconds per completed job of each :data:`COST_COMPONENTS` entry, per run and route.

    Returns
    -------
    list of (row label, number of jobs, component means)
    """
    out = []
    for data in runs:
        by_route: dict[str, list[JobRecord]] = defaultdict(list)
        for j in data.jobs:
            if j.status == "completed":
                by_route[j.route].append(j)
        order = sorted(by_route, key=lambda r: (r not in ("classical", "quantum"), r))
        for route in order:
            jobs = by_route[route]
            label = f"{data.label}: {route}" if len(runs) > 1 else route
            out.append((label, len(jobs), _route_means(jobs)))
    return out


def predicted_vs_actual(runs: Any, ax: Any = None):
    """Predicted against actual service time of every job, log–log, with the y = x line.

    One scatter per route for one run; one per run (policy) when several are given. Jobs without
    a prediction, or with a zero time (which a log axis cannot show), are counted in the title.

    Returns
    -------
    matplotlib.figure.Figure
        One ``PathCollection`` per group (gid ``"scatter:<group>"``), one point per job drawn.
    """
    runs = as_runs(runs)
    fig, ax, own = _axes(ax, height=4.5)
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    colours: dict[str, str] = {}
    if len(runs) > 1:
        for data, c in zip(runs, distinct_colors(len(runs)), strict=True):
            colours[f"{data.label} ({data.policy})" if data.policy else data.label] = c
    skipped = 0
    for data in runs:
        for j in data.jobs:
            actual = _secs(M.service_ticks(j))
            key = (
                j.route
                if len(runs) == 1
                else (f"{data.label} ({data.policy})" if data.policy else data.label)
            )
            if (
                j.predicted_s is None
                or not j.predicted_s > 0
                or not actual > 0
                or (not math.isfinite(j.predicted_s))
            ):
                skipped += 1
                continue
            groups[key].append((j.predicted_s, actual))
    if not groups:
        _no_data(ax, "no predicted times recorded (explicit service times?)")
        return _finish(fig, own)
    lo = min(min(p, a) for pts in groups.values() for p, a in pts)
    hi = max(max(p, a) for pts in groups.values() for p, a in pts)
    for key in sorted(groups):
        pts = groups[key]
        ratio = statistics.median(a / p for p, a in pts)
        ax.scatter(
            [p for p, _ in pts],
            [a for _, a in pts],
            s=10,
            alpha=0.6,
            color=color(key) if len(runs) == 1 else colours[key],
            label=plain_text(f"{key}: {len(pts)} jobs, median actual/predicted {ratio:.3g}"),
            rasterized=len(pts) > _RASTER_POINTS,
            gid=f"scatter:{key}",
            linewidths=0,
        )
    ax.plot(
        [lo / 2, hi * 2],
        [lo / 2, hi * 2],
        color="0.4",
        linewidth=0.8,
        linestyle=":",
        label="actual = predicted",
        gid="diagonal",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    log_ticks(ax.xaxis)
    log_ticks(ax.yaxis)
    ax.set_xlabel("predicted service time (s)")
    ax.set_ylabel("actual service time (s)")
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=8, loc="upper left")
    title = "predicted vs actual job time"
    if skipped:
        title += f" ({skipped} jobs without a positive prediction or time not shown)"
    ax.set_title(title, loc="left", fontsize=10)
    return _finish(fig, own)
