"""The timeline (Gantt) figure: one lane per device and per network link.

Readable at both ends of the time scale. The main axis is linear over the whole run, so a bar
narrower than a pixel would vanish: such bars are *drawn* at a minimum visible width (the legend
says so), each lane carries two exact numbers on the right, its utilization (solve-job service
over slots × makespan, the summary's ``utilization_<device>``) and its busy share (any work:
jobs, local compute, transfers; ``1.6e-09 %`` for attosecond jobs in a millisecond run), and a
zoom panel shows one tiny interval to scale, each job with its edges, with its start as an exact
decimal. Lanes too dense to draw bar by bar show their exact busy fraction per pixel column as the
height of the band (:mod:`.lanes`), never less than a visible sliver where a column holds any work,
so a lane with work is never drawn empty; the records are never altered.
"""

from __future__ import annotations

from typing import Any

from hybridsim.report.data import RunData, as_run
from hybridsim.report.lanes import TimelinePlan, lanes_of, plan_timeline
from hybridsim.report.style import (
    FIG_WIDTH_IN,
    color,
    fit_layout,
    is_failure_kind,
    is_window_kind,
    new_figure,
    percent,
    plain_text,
    unit_label,
)
from hybridsim.timebase import SI_UNITS, duration_unit, format_duration

__all__ = ["timeline"]

_BAR_H = 0.62
_WINDOW_H = 0.9
_ZOOM_H = 1.9  # inches
#: A dense lane's band is drawn at least this share of the bar height in every pixel column that
#: holds any work: femtosecond jobs in an hour-long run are 1e-17 of a column, and a band of that
#: height would draw a lane with 26,623 jobs as empty.
MIN_BAND = 0.15
#: The two numbers right of each lane, x offsets from the axes' right edge (inches), and headers.
_COLUMNS = ((0.08, "utilization\n(solve jobs)"), (0.86, "busy\n(any work)"))


def _axis_px(ax) -> int:
    fig = ax.figure
    return max(50, int(ax.get_position().width * fig.get_figwidth() * fig.dpi))


def timeline(
    run: Any,
    ax: Any = None,
    *,
    color_by: str = "route",
    min_px: float = 1.0,
    max_bars_per_lane: int = 2000,
    zoom: bool = True,
):
    """Draw the timeline of a run.

    Parameters
    ----------
    run : RunData, RunResult or path
        The run (or its output directory).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into. Without one a figure is created, with a zoom panel below the lanes
        when some interval is narrower than a tenth of a pixel; with one, the zoom is an inset.
    color_by : {"route", "step", "kind"}
        Colour job bars by route (classical/quantum), training step, or not at all. Other
        intervals are coloured by kind (transfer, compute, ...).
    min_px : float
        Minimum drawn width of a bar, in pixels. Only the drawing is widened, never the data.
    max_bars_per_lane : int
        Lanes with more bars of one colour are drawn as their busy fraction per pixel column.
    zoom : bool
        Show one sub-pixel interval to scale.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Each lane's bar collection has the gid ``"bars:<lane>:<key>"`` (dense lanes
    ``"density:<lane>:<key>"``, windows ``"windows:..."``, failure marks ``"failures:<lane>"``),
    so scripts and tests can find what was drawn.

    Examples
    --------
    >>> from hybridsim.report import timeline                # doctest: +SKIP
    >>> timeline("runs/quickstart").savefig("timeline.pdf")  # doctest: +SKIP
    """
    data = as_run(run)
    own = ax is None
    if own:
        fig = new_figure(FIG_WIDTH_IN, _lanes_height(data), layout=None)
        ax = fig.add_subplot()
    fig = ax.figure
    plan = plan_timeline(
        data,
        px_ticks=-(-data.horizon // _axis_px(ax)),
        color_by=color_by,
        max_bars_per_lane=max_bars_per_lane,
        zoom=zoom,
    )
    _draw_lanes(ax, data, plan, color_by, min_px)
    if plan.zoom is not None:
        if own:
            # Grow the figure by a zoom panel below the lanes (the lanes keep their height).
            height = fig.get_figheight()
            fig.set_figheight(height + _ZOOM_H)
            gs = fig.add_gridspec(2, 1, height_ratios=[height, _ZOOM_H])
            ax.set_subplotspec(gs[0])
            zax = fig.add_subplot(gs[1])
        else:
            zax = ax.inset_axes([0.56, 0.58, 0.42, 0.38])
        _draw_zoom(zax, plan)
        _mark_zoom(ax, plan)
    if own:
        fit_layout(fig)
    return fig


def _lanes_height(data: RunData) -> float:
    return 1.6 + 0.32 * max(len(lanes_of(data)), 2)


def _draw_lanes(ax, data: RunData, plan: TimelinePlan, color_by: str, min_px: float) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.transforms import ScaledTranslation

    # Right of the axes, a fixed distance in inches (whatever the figure's width), at lane y.
    columns = {
        what: ax.get_yaxis_transform() + ScaledTranslation(dx, 0, ax.figure.dpi_scale_trans)
        for (dx, _), what in zip(_COLUMNS, ("utilization", "busy"), strict=True)
    }

    unit, size = duration_unit(plan.horizon, SI_UNITS)
    min_w = plan.px_ticks * min_px / size
    step_colors = _step_colors(plan) if color_by == "step" else {}
    keys: dict[str, None] = {}
    window_kinds: dict[str, None] = {}
    any_failure = False
    drawn_tiny = 0
    edges_x = [e / size for e in plan.edges]
    for y, lp in enumerate(plan.lanes):
        name = lp.lane.name
        for kind in sorted({w[0] for w in lp.windows}):
            spans = [(s / size, max((e - s) / size, min_w)) for k, s, e in lp.windows if k == kind]
            _windows(ax, spans, y, kind, gid=f"windows:{name}:{kind}")
            window_kinds[kind] = None
        stacked = None
        for bars in lp.bars:
            if not bars.key.startswith("step "):
                keys[bars.key] = None
            if bars.binned:
                # Busy fraction per pixel column as the height of the band, growing upwards
                # from the lane's bottom edge (y is inverted); several keys stack. A column
                # with any work is at least MIN_BAND tall, so sparse work stays visible.
                bottom = y + _BAR_H / 2
                base = stacked if stacked is not None else [bottom] * len(bars.density)
                ceiling = y - _BAR_H / 2
                top = [
                    max(ceiling, b - _BAR_H * (max(f, MIN_BAND) if f > 0 else 0.0))
                    for b, f in zip(base, bars.density, strict=True)
                ]
                ax.stairs(
                    top,
                    edges_x,
                    baseline=base,
                    fill=True,
                    color=step_colors.get(bars.key) or color(bars.key),
                    linewidth=0,
                    gid=f"density:{name}:{bars.key}",
                )
                stacked = top
                continue
            spans = [(s / size, max((e - s) / size, min_w)) for s, e in bars.spans]
            drawn_tiny += sum(1 for s, e in bars.spans if e - s < plan.px_ticks * min_px)
            ax.broken_barh(
                spans,
                (y - _BAR_H / 2, _BAR_H),
                facecolors=step_colors.get(bars.key) or color(bars.key),
                linewidth=0,
                gid=f"bars:{name}:{bars.key}",
            )
        if lp.failures:
            ax.plot(
                [t / size for t in lp.failures],
                [y] * len(lp.failures),
                linestyle="none",
                marker="x",
                color=color("failed"),
                markersize=7,
                gid=f"failures:{name}",
            )
            any_failure = True
        util = "—" if lp.utilization is None else percent(lp.utilization)
        for what, value in (("utilization", util), ("busy", percent(lp.busy_ticks / plan.horizon))):
            ax.text(
                1.0,
                y,
                value,
                transform=columns[what],
                va="center",
                fontsize=8,
                gid=f"{what}:{name}",
            )
    n = len(plan.lanes)
    for (_, header), what in zip(_COLUMNS, ("utilization", "busy"), strict=True):
        ax.text(
            1.0,
            -0.5,
            header,
            transform=columns[what] + ScaledTranslation(0, 3 / 72, ax.figure.dpi_scale_trans),
            fontsize=7.5,
            va="bottom",
            weight="bold",
            gid=f"header:{what}",
        )
    ax.set_yticks(range(n), [lp.lane.name for lp in plan.lanes], fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, plan.horizon / size)
    ax.set_xlabel(f"simulated time ({unit_label(unit)})")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for y_break in _group_breaks(plan):
        ax.axhline(y_break, color="0.6", linewidth=0.6)
    title = f"{plain_text(data.title)}: timeline, {format_duration(plan.horizon)}"
    if plan.failed_jobs:
        title += f", {plan.failed_jobs} failed job(s)"

    handles: list[Any] = [Patch(facecolor=color(k), label=k) for k in keys]
    if step_colors:
        handles.append(
            Patch(
                facecolor=next(iter(step_colors.values())),
                label="jobs coloured by training step (dark → light)",
            )
        )
    handles.extend(
        Patch(
            facecolor=color(kind),
            alpha=0.3,
            hatch="xx" if is_failure_kind(kind) else "//",
            label=kind,
        )
        for kind in window_kinds
    )
    if any_failure:
        handles.append(
            Line2D([], [], linestyle="none", marker="x", color=color("failed"), label="failed job")
        )
    if drawn_tiny:
        handles.append(
            Patch(
                fill=False,
                edgecolor="none",
                label=f"{drawn_tiny} bar{'s' if drawn_tiny != 1 else ''} < {min_px:g} px drawn "
                f"{min_px:g} px wide (true widths: busy %, zoom, trace.json)",
            )
        )
    if plan.binned:
        count = sum(b.count for lp in plan.lanes for b in lp.bars if b.binned)
        handles.append(
            Patch(
                fill=False,
                edgecolor="none",
                label=f"dense lanes ({count} intervals): band height = busy fraction of each "
                f"pixel column, at least {MIN_BAND * 100:.0f} % where any work",
            )
        )
    if plan.merged_windows:
        handles.append(
            Patch(fill=False, edgecolor="none", label="windows < 1 px apart merged for drawing")
        )
    ncols = 4
    if handles:
        ax.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0, 1.02),
            ncols=ncols,
            fontsize=8,
            frameon=False,
            borderaxespad=0,
        )
    # The legend sits between the title and the lanes: lift the title over its rows.
    rows = -(-len(handles) // ncols)
    ax.set_title(title, loc="left", fontsize=10, pad=6 + 13 * rows)


def _windows(ax, spans, y: float, kind: str, gid: str | None) -> None:
    # Unavailability is drawn behind the bars, full lane height and hatched: planned windows
    # (calibration) with //, failures and outages in red with xx.
    red = is_failure_kind(kind)
    ax.broken_barh(
        spans,
        (y - _WINDOW_H / 2, _WINDOW_H),
        facecolors=color(kind),
        alpha=0.35 if red else 0.25,
        hatch="xx" if red else "//",
        edgecolor=color(kind),
        linewidth=0,
        gid=gid,
    )


def _step_colors(plan: TimelinePlan) -> dict[str, Any]:
    import matplotlib

    steps = sorted(
        {int(b.key.split()[1]) for lp in plan.lanes for b in lp.bars if b.key.startswith("step ")}
    )
    if not steps:
        return {}
    cmap = matplotlib.colormaps["viridis"]
    span = max(steps[-1] - steps[0], 1)
    return {f"step {s}": cmap(0.1 + 0.8 * (s - steps[0]) / span) for s in steps}


def _group_breaks(plan: TimelinePlan) -> list[float]:
    lanes = plan.lanes
    return [i - 0.5 for i in range(1, len(lanes)) if lanes[i].lane.kind != lanes[i - 1].lane.kind]


def _draw_zoom(zax, plan: TimelinePlan) -> None:
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Rectangle

    z = plan.zoom
    assert z is not None
    iv = z.interval
    dur = iv.end_at - iv.start_at
    unit, size = duration_unit(max(dur, 1), SI_UNITS)
    t0 = iv.start_at
    slots = z.slots or (0,) * len(z.intervals)
    rows = sorted(set(slots)) or [0]
    row_of = {s: i for i, s in enumerate(rows)}
    window_w = (z.end - z.start) / size
    groups: dict[str, list[tuple[float, float, int]]] = {}
    focus = None
    labels: list[tuple[float, float, str, bool]] = []  # x, y, text, inside the bar
    for x, slot in zip(z.intervals, slots, strict=True):
        # Same colour keys as the main lanes: job bars by route label, the rest by kind.
        key = (x.label or "job") if x.kind == "job" else x.kind
        s, e = max(x.start_at, z.start), min(x.end_at, z.end)
        # Offsets from t0 are exact integers before the one division: to scale at any t0.
        left, width, row = (s - t0) / size, (e - s) / size, row_of[slot]
        groups.setdefault(key, []).append((left, width, row))
        if x is iv:
            focus = (left, width, row)
        elif x.job_id >= 0 and not is_window_kind(x.kind) and width > 0.12 * window_w:
            labels.append((left + width / 2, row, f"job {x.job_id}", True))
    for key in sorted(groups):
        if is_window_kind(key):
            # Unavailability covers the whole device: every slot row.
            spans = [(left, width) for left, width, _ in groups[key]]
            for row in range(len(rows)):
                _windows(zax, spans, row, key, gid=f"zoom:{key}" if row == 0 else None)
            continue
        # One rectangle per interval with a dark edge: back-to-back jobs stay separate bars.
        h = _BAR_H / 2
        verts = [
            [(a, r - h), (a, r + h), (a + w, r + h), (a + w, r - h)] for a, w, r in groups[key]
        ]
        zax.add_collection(
            PolyCollection(
                verts,
                facecolors=color(key),
                edgecolors="black",
                linewidths=0.7,
                gid=f"zoom:{key}",
            )
        )
    if focus is not None:
        # The interval the title names, outlined and labelled (above the bar if it is narrow).
        left, width, row = focus
        zax.add_patch(
            Rectangle(
                (left, row - _BAR_H / 2 - 0.06),
                width,
                _BAR_H + 0.12,
                fill=False,
                edgecolor="black",
                linewidth=2.0,
                gid="zoom:focus",
            )
        )
        name = f"job {iv.job_id}" if iv.job_id >= 0 else iv.kind
        if width > 0.12 * window_w:
            labels.append((left + width / 2, row, name, True))
        else:
            labels.append((left + width / 2, row - _BAR_H / 2 - 0.08, name, False))
    for lx, ly, text, inside in labels:
        zax.text(
            lx,
            ly,
            text,
            ha="center",
            va="center" if inside else "bottom",
            fontsize=7,
            color="white" if inside else "black",
            gid=f"zoom:label:{text}",
        )
    zax.set_xlim((z.start - t0) / size, (z.end - t0) / size)
    zax.set_ylim(len(rows) - 0.4, -0.6 - (0.25 if focus is not None else 0.0))
    names = [z.lane] if len(rows) == 1 else [f"{z.lane} slot {s}" for s in rows]
    zax.set_yticks(range(len(rows)), names, fontsize=8)
    zax.set_xlabel(
        f"time − t0 ({unit_label(unit)}), t0 = {format_duration(t0, unit='s', exact=True)} (exact)",
        fontsize=8,
    )
    zax.tick_params(labelsize=8)
    what = f"job {iv.job_id}" if iv.job_id >= 0 else iv.kind
    others = len(z.intervals) - 1
    title = f"zoom, to scale: {z.lane}, {what} (outlined) lasts {format_duration(dur)}"
    if others:
        title += f"; {others} neighbouring interval{'s' if others != 1 else ''} in view"
    zax.set_title(title, loc="left", fontsize=9)
    zax.grid(axis="x", alpha=0.3)
    zax.set_axisbelow(True)


def _mark_zoom(ax, plan: TimelinePlan) -> None:
    z = plan.zoom
    assert z is not None
    y = next(i for i, lp in enumerate(plan.lanes) if lp.lane.name == z.lane)
    _, size = duration_unit(plan.horizon, SI_UNITS)
    ax.plot(
        [z.interval.start_at / size],
        [y - 0.45],
        linestyle="none",
        marker="v",
        color="black",
        markersize=6,
        gid="zoom:mark",
    )
