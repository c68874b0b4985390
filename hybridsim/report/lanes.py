"""What the timeline draws, computed exactly in ticks before any drawing happens.

A timeline has one lane per device (GPUs, then QPUs, then any other device) and one per network
link direction. Each lane holds *bars* (work: job service, transfers, local compute and any kind
not known to mean unavailability), *windows* (calibration, outages: the device cannot work) and
*failure marks* (jobs that ended in ``status != "completed"``). Each device lane carries two
numbers: its *utilization* (solve-job service over slots × makespan, exactly the summary's
``utilization_<device>``) and its *busy* share (the union of all its work intervals, local
compute and transfers included, over the makespan).

Everything here is a pure function of the records, in integer ticks, so busy fractions are exact
at both ends of the time scale (an attosecond job in a one-second run is busy 1e-18 of the time,
not 0). Drawing-only simplifications are explicit: when a lane holds more bars of one colour than
can be seen, it is drawn as its *busy fraction per pixel column* (exact busy ticks per column,
drawn as the height of the lane's band), so a lane 80 % busy looks 80 % busy rather than solid;
the plan records how many intervals each lane stands for. Dense calibration windows are merged
where less than a pixel apart. The records are never changed.

One pass. The plan reads the intervals once, in order of start (the order of ``intervals.csv``),
one instant at a time (:func:`hybridsim.report.passes.start_groups`): each lane's intervals then
arrive as a sort of the lane by (start, end) would give them, so bars, windows, busy unions and
the zoom's pick come out as they would from the lane's sorted list, which is never built. A
colour with more bars than are drawn one by one keeps its busy ticks per pixel column instead of
its spans; the zoom's window is read in a second pass. What the plan holds is what it draws:
windows, failure marks and at most ``max_bars_per_lane`` spans per colour.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from heapq import heappop, heappush
from operator import itemgetter
from typing import Any

from hybridsim import metrics as M
from hybridsim.records import IntervalRecord
from hybridsim.report.data import RunData
from hybridsim.report.passes import in_memory, jobs_by_id, slot_stream, start_groups
from hybridsim.report.series import BusyBins, bin_edges
from hybridsim.report.style import is_window_kind

__all__ = [
    "Lane",
    "Bars",
    "LanePlan",
    "Zoom",
    "TimelinePlan",
    "lanes_of",
    "union_ticks",
    "merge_spans",
    "assign_slots",
    "in_start_order",
    "plan_timeline",
]

Span = tuple[int, int]
_START_END = itemgetter(
    IntervalRecord._fields.index("start_at"), IntervalRecord._fields.index("end_at")
)

#: A zoom panel is drawn when some interval is narrower than 1/ZOOM_BELOW_PX of a pixel.
ZOOM_BELOW_PX = 10


@dataclass(frozen=True, slots=True)
class Lane:
    """One row of the timeline: a device (``kind`` ``"gpu"``, ``"qpu"``, ``"device"``) or a link."""

    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Bars:
    """Bars of one colour in one lane.

    ``spans`` are the intervals drawn one bar each (ticks); ``count`` is how many recorded
    intervals the entry shows. A dense entry has no spans but ``density``: the fraction of each
    pixel column (``TimelinePlan.edges``) the lane's slots spent on these intervals.
    """

    key: str
    spans: tuple[Span, ...]
    count: int
    density: tuple[float, ...] = ()

    @property
    def binned(self) -> bool:
        """Whether this entry is drawn as a per-pixel busy fraction rather than as bars."""
        return bool(self.density)


@dataclass(frozen=True, slots=True)
class LanePlan:
    """Everything drawn in one lane, plus its exact busy time."""

    lane: Lane
    bars: tuple[Bars, ...]
    windows: tuple[tuple[str, int, int], ...]  # (kind, start, end), merged like bars if dense
    window_count: int
    failures: tuple[int, ...]  # instants of failed jobs on this device
    busy_ticks: int  # union of the lane's work intervals (overlapping slots counted once)
    tiny: int  # work intervals narrower than one pixel of the main axis
    #: Solve-job service over slots × makespan (the summary's ``utilization_<device>``, from
    #: :func:`hybridsim.metrics.utilization`); None for links, which serve no jobs.
    utilization: float | None = None


@dataclass(frozen=True, slots=True)
class Zoom:
    """A tiny interval shown to scale in a zoom panel, with its lane's neighbours in the window."""

    lane: str
    interval: IntervalRecord
    start: int  # window, ticks
    end: int
    intervals: tuple[IntervalRecord, ...]  # the lane's intervals overlapping the window
    slots: tuple[int, ...] = ()  # slot of each of ``intervals`` (as in trace.json)


@dataclass(frozen=True, slots=True)
class TimelinePlan:
    """The whole timeline: lanes in drawing order, the time range and the pixel size in ticks."""

    lanes: tuple[LanePlan, ...]
    horizon: int
    px_ticks: int  # ticks per pixel of the main axis (>= 1)
    zoom: Zoom | None
    failed_jobs: int  # failed jobs in the run (those with no device have no lane mark)
    edges: tuple[int, ...] = ()  # pixel columns of binned lanes (ticks)

    @property
    def binned(self) -> bool:
        """Whether any lane is drawn as busy fractions per pixel column."""
        return any(b.binned for lp in self.lanes for b in lp.bars)

    @property
    def merged_windows(self) -> bool:
        """Whether any lane's windows were merged for drawing."""
        return any(lp.window_count != len(lp.windows) for lp in self.lanes)

    @property
    def tiny(self) -> int:
        """Number of work intervals narrower than one pixel."""
        return sum(lp.tiny for lp in self.lanes)


def union_ticks(spans: Iterable[Span]) -> int:
    """Exact length of the union of ``[start, end)`` spans, in ticks.

    Examples
    --------
    >>> union_ticks([(0, 10), (5, 15), (20, 21)])
    16
    """
    ordered = sorted(spans)
    if not ordered:
        return 0
    total = 0
    cur_start, cur_end = ordered[0]
    for start, end in ordered[1:]:
        if start > cur_end:
            total += cur_end - cur_start
            cur_start, cur_end = start, end
        elif end > cur_end:
            cur_end = end
    return total + cur_end - cur_start


def merge_spans(spans: Sequence[Span], gap: int) -> list[Span]:
    """Join sorted spans whose gap is below ``gap`` ticks (drawing only: one pixel apart).

    Examples
    --------
    >>> merge_spans([(0, 1), (2, 3), (10, 12)], gap=2)
    [(0, 3), (10, 12)]
    """
    out: list[Span] = []
    for start, end in spans:
        if out and start - out[-1][1] < gap:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def assign_slots(spans: Sequence[Span]) -> list[int]:
    """The slot (track) of each span, so that no two spans of one slot overlap.

    Spans are taken in order of start (then end, then position); each gets the lowest slot that
    is free at its start, a slot being free once its last span has ended (``end <= start``, so
    back-to-back spans share a slot). A device of capacity c needs at most c slots for its jobs;
    anything overlapping beyond that (local compute next to jobs, say) opens a further slot
    rather than overlapping. Deterministic: a function of the spans alone.

    Examples
    --------
    >>> assign_slots([(0, 10), (5, 15), (10, 20), (12, 13)])
    [0, 1, 0, 2]
    """
    order = sorted(range(len(spans)), key=lambda i: (spans[i][0], spans[i][1], i))
    out = [0] * len(spans)
    free: list[int] = []  # heap of free slot numbers
    busy: list[tuple[int, int]] = []  # heap of (end, slot) of running spans
    n_slots = 0
    for i in order:
        start, end = spans[i]
        while busy and busy[0][0] <= start:
            heappush(free, heappop(busy)[1])
        if free:
            slot = heappop(free)
        else:
            slot = n_slots
            n_slots += 1
        out[i] = slot
        heappush(busy, (end, slot))
    return out


def lanes_of(run: RunData) -> list[Lane]:
    """Lanes in drawing order: declared GPUs, declared QPUs, other devices, then links.

    Declared devices get a lane even when idle (an idle QPU is worth seeing); links appear when
    anything crossed them.
    """
    lanes = [Lane(d.name, d.kind) for d in run.devices]
    known = {ln.name for ln in lanes}
    others: set[str] = set()
    links: set[str] = set()
    for name in run.interval_digest.resources:
        if name not in known:
            (links if name.startswith("link:") else others).add(name)
    for device in run.job_digest.devices:
        if device not in known:
            others.add(device)
    lanes += [Lane(n, "device") for n in sorted(others)]
    lanes += [Lane(n, "link") for n in sorted(links)]
    return lanes


def in_start_order(run: RunData) -> Iterable[tuple[int, IntervalRecord]]:
    """``(position, interval)`` of the run's intervals in order of start, ties in record order.

    The intervals as they are when they are in that order (``intervals.csv`` is: one pass over
    the file); a stable sort of them, in memory, when not (records built by hand).
    """
    if run.interval_digest.by_start:
        return enumerate(run.intervals)
    return sorted(enumerate(run.intervals), key=lambda p: p[1].start_at)


def _bar_key(iv: IntervalRecord, jobs: Any, color_by: str) -> str:
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


def _bar_keys(run: RunData, color_by: str) -> Callable[[IntervalRecord], str]:
    """The colour key of each work interval (:func:`_bar_key`), without a dict of every job
    for a long run: its failed jobs' ids are enough unless bars are coloured by step."""
    if in_memory(run.jobs) or color_by == "step":
        jobs = jobs_by_id(run.jobs)
        return lambda iv: _bar_key(iv, jobs, color_by)
    failed = run.job_digest.failed_ids()
    plain = "job" if color_by == "kind" else None

    def key(iv: IntervalRecord) -> str:
        if iv.kind != "job":
            return iv.kind
        if iv.job_id in failed:
            return "failed"
        return plain or iv.label or "job"

    return key


class _Bars:
    """One colour of one lane: its spans, until there are more than are drawn one by one, then
    its busy ticks per pixel column."""

    __slots__ = ("spans", "count", "busy")

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.count = 0
        self.busy: BusyBins | None = None

    def add(self, span: Span, limit: int, edges: Sequence[int]) -> None:
        self.count += 1
        busy = self.busy
        if busy is not None:
            busy.add(*span)
            return
        self.spans.append(span)
        if len(self.spans) > limit:
            busy = self.busy = BusyBins(edges)
            for s in self.spans:
                busy.add(*s)
            self.spans = []


class _Lane:
    """What one lane's plan gathers as its intervals arrive in (start, end) order."""

    __slots__ = ("windows", "bars", "union", "busy", "tiny", "pick")

    def __init__(self) -> None:
        self.windows: list[tuple[str, int, int]] = []
        self.bars: dict[str, _Bars] = {}
        self.union: list[int] | None = None  # [start, end] of the union's current span
        self.busy = 0  # ticks of the union's closed spans
        self.tiny = 0
        # (duration, start, position, interval) of the lane's shortest sub-pixel interval
        self.pick: tuple[int, int, int, IntervalRecord] | None = None

    def work(self, k: int, iv: IntervalRecord, key: str, px: int, limit: int, edges) -> None:
        s, e = iv.start_at, iv.end_at
        bars = self.bars.get(key)
        if bars is None:
            bars = self.bars[key] = _Bars()
        bars.add((s, e), limit, edges)
        # union_ticks of spans in (start, end) order, one span at a time
        u = self.union
        if u is None:
            self.union = [s, e]
        elif s > u[1]:
            self.busy += u[1] - u[0]
            u[0], u[1] = s, e
        elif e > u[1]:
            u[1] = e
        if e - s < px:
            self.tiny += 1
            pick = self.pick
            if pick is None or (e - s, s) < pick[:2]:
                self.pick = (e - s, s, k, iv)

    def busy_ticks(self) -> int:
        u = self.union
        return self.busy + (u[1] - u[0] if u is not None else 0)


def _by_end(pair: tuple[int, IntervalRecord]) -> int:
    return pair[1].end_at


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
    limit = max_bars_per_lane
    failures: dict[str, list[int]] = defaultdict(list)
    digest = run.job_digest
    for f in digest.failures:
        if f.device:
            failures[f.device].append(f.at)

    capacity = run.capacities
    utilization = M.utilization_of_busy(digest.busy, capacity, run.horizon)
    edges = bin_edges(run.horizon, max(1, run.horizon // px))
    lanes = lanes_of(run)
    state = {lane.name: _Lane() for lane in lanes}
    key_of = _bar_keys(run, color_by)
    kinds: dict[str, bool] = {}  # kind -> is a window (memo: one lookup per interval)
    for group in start_groups(in_start_order(run)):
        if len(group) > 1:
            group.sort(key=_by_end)  # each lane's spans of one instant by end, ties in order
        for k, iv in group:
            lane_state = state[iv.resource]
            window = kinds.get(iv.kind)
            if window is None:
                window = kinds[iv.kind] = is_window_kind(iv.kind)
            if window:
                lane_state.windows.append((iv.kind, iv.start_at, iv.end_at))
            else:
                lane_state.work(k, iv, key_of(iv), px, limit, edges)

    binned_any = False
    plans: list[LanePlan] = []
    zoom_pick: tuple[int, int, int, str, int, IntervalRecord] | None = None
    for order, lane in enumerate(lanes):
        ls = state[lane.name]
        bars = []
        for key in sorted(ls.bars):
            acc = ls.bars[key]
            if acc.busy is not None:
                n_slots = capacity.get(lane.name, 1)
                density = tuple(
                    min(1.0, b / (n_slots * (edges[k + 1] - edges[k]))) if b else 0.0
                    for k, b in enumerate(acc.busy.busy)
                )
                bars.append(Bars(key, (), acc.count, density))
                binned_any = True
            else:
                bars.append(Bars(key, tuple(acc.spans), acc.count))
        windows = ls.windows
        n_windows = len(windows)
        if n_windows > limit:
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
                ls.busy_ticks(),
                ls.tiny,
                utilization.get(lane.name) if lane.kind != "link" else None,
            )
        )
        if ls.pick is not None:
            # The zoom shows the shortest interval of the run (earliest, then first lane, on
            # ties): the far end of the time scale.
            dur, start, k, iv = ls.pick
            if zoom_pick is None or (dur, start, order) < zoom_pick[:3]:
                zoom_pick = (dur, start, order, lane.name, k, iv)

    zoom_plan = None
    # Bars of a tenth of a pixel or more are fairly shown by the minimum width; a zoom is for
    # intervals orders of magnitude below the pixel (attosecond jobs in a millisecond run).
    if zoom and zoom_pick is not None and zoom_pick[0] * ZOOM_BELOW_PX < px:
        zoom_plan = _zoom(run, zoom_pick[3], zoom_pick[4], zoom_pick[5])
    return TimelinePlan(
        tuple(plans),
        run.horizon,
        px,
        zoom_plan,
        failed_jobs=len(digest.failures),
        edges=edges if binned_any else (),
    )


def _zoom(run: RunData, lane_name: str, pick: int, iv: IntervalRecord) -> Zoom:
    """The zoom on interval ``iv`` (position ``pick``) of lane ``lane_name``: the lane's
    intervals overlapping the window, in record order, with their slots (as in trace.json)."""
    dur = iv.end_at - iv.start_at
    pad = max(2 * dur, 1)
    lo, hi = iv.start_at - pad, iv.end_at + pad
    near: list[tuple[int, IntervalRecord, int]] = []
    lane = ((k, x) for k, x in in_start_order(run) if x.resource == lane_name)
    for k, x, slot in slot_stream(lane):
        if x.start_at > hi:
            break  # by start: nothing later is in the window
        if x.end_at >= lo:
            near.append((k, x, slot))
    near.sort(key=itemgetter(0))
    # The picked interval as read in this pass (the panel outlines it by identity).
    focus = next(x for k, x, _ in near if k == pick)
    return Zoom(
        lane_name, focus, lo, hi, tuple(x for _, x, _ in near), tuple(s for _, _, s in near)
    )
