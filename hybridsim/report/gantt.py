"""The timeline (Gantt) figure: one lane per device and per network link.

Readable at both ends of the time scale. The main axis is linear over the whole run, so a bar
narrower than a pixel would vanish: such bars are *drawn* at a minimum visible width (the legend
says so), each lane carries its exact busy fraction on the right (``1.6e-09 %`` for attosecond
jobs in a millisecond run), and a zoom panel shows one tiny interval to scale, with its start as an
exact decimal. Lanes too dense to draw bar by bar show their exact busy fraction per pixel column
as the height of the band (:mod:`.lanes`); the records are never altered.
"""

from __future__ import annotations

from typing import Any

from hybridsim.report.data import RunData, as_run
from hybridsim.report.lanes import TimelinePlan, lanes_of, plan_timeline
from hybridsim.report.style import (
    FIG_WIDTH_IN,
    color,
    exact_seconds,
    is_failure_kind,
    is_window_kind,
    new_figure,
    percent,
    time_unit,
    unit_label,
)
from hybridsim.timebase import format_duration

__all__ = ["timeline"]

_BAR_H = 0.62
_WINDOW_H = 0.9
_ZOOM_H = 1.9  # inches


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
        fig = new_figure(FIG_WIDTH_IN, _lanes_height(data))
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
    return fig


def _lanes_height(data: RunData) -> float:
    return 1.6 + 0.32 * max(len(lanes_of(data)), 2)


def _draw_lanes(ax, data: RunData, plan: TimelinePlan, color_by: str, min_px: float) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    unit, size = time_unit(plan.horizon)
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
                # from the lane's bottom edge (y is inverted); several keys stack.
                bottom = y + _BAR_H / 2
                base = stacked if stacked is not None else [bottom] * len(bars.density)
                top = [b - _BAR_H * f for b, f in zip(base, bars.density, strict=True)]
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
        ax.text(
            1.005,
            y,
            percent(lp.busy_ticks / plan.horizon),
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8,
        )
    n = len(plan.lanes)
    ax.text(
        1.005,
        -0.75 if n else 0,
        "busy",
        transform=ax.get_yaxis_transform(),
        fontsize=8,
        va="bottom",
        weight="bold",
    )
    ax.set_yticks(range(n), [lp.lane.name for lp in plan.lanes], fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, plan.horizon / size)
    ax.set_xlabel(f"simulated time ({unit_label(unit)})")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for y in _group_breaks(plan):
        ax.axhline(y, color="0.6", linewidth=0.6)
    title = f"{data.label}: timeline, {format_duration(plan.horizon)}"
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
    for kind in window_kinds:
        handles.append(
            Patch(
                facecolor=color(kind),
                alpha=0.3,
                hatch="xx" if is_failure_kind(kind) else "//",
                label=kind,
            )
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
                "pixel column",
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


def _windows(ax, spans, y: float, kind: str, gid: str) -> None:
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
    out = []
    for i in range(1, len(plan.lanes)):
        if plan.lanes[i].lane.kind != plan.lanes[i - 1].lane.kind:
            out.append(i - 0.5)
    return out


def _draw_zoom(zax, plan: TimelinePlan) -> None:
    z = plan.zoom
    assert z is not None
    iv = z.interval
    dur = iv.end_at - iv.start_at
    unit, size = time_unit(max(dur, 1))
    t0 = iv.start_at
    groups: dict[str, list[tuple[float, float]]] = {}
    for x in z.intervals:
        # Same colour keys as the main lanes: job bars by route label, the rest by kind.
        key = (x.label or "job") if x.kind == "job" else x.kind
        s, e = max(x.start_at, z.start), min(x.end_at, z.end)
        # Offsets from t0 are exact integers before the one division: to scale at any t0.
        groups.setdefault(key, []).append(((s - t0) / size, (e - s) / size))
    for key in sorted(groups):
        if is_window_kind(key):
            _windows(zax, groups[key], 0, key, gid=f"zoom:{key}")
        else:
            zax.broken_barh(
                groups[key],
                (-_BAR_H / 2, _BAR_H),
                facecolors=color(key),
                linewidth=0,
                gid=f"zoom:{key}",
            )
    zax.set_xlim((z.start - t0) / size, (z.end - t0) / size)
    zax.set_ylim(-0.6, 0.6)
    zax.set_yticks([0], [z.lane], fontsize=8)
    zax.set_xlabel(
        f"time − t0 ({unit_label(unit)}), t0 = {exact_seconds(t0)} s (exact)", fontsize=8
    )
    zax.tick_params(labelsize=8)
    what = f"job {iv.job_id}" if iv.job_id >= 0 else iv.kind
    zax.set_title(
        f"zoom, to scale: {z.lane}, {what} lasts {format_duration(dur)}",
        loc="left",
        fontsize=9,
    )
    zax.grid(axis="x", alpha=0.3)
    zax.set_axisbelow(True)


def _mark_zoom(ax, plan: TimelinePlan) -> None:
    z = plan.zoom
    assert z is not None
    y = next(i for i, lp in enumerate(plan.lanes) if lp.lane.name == z.lane)
    _, size = time_unit(plan.horizon)
    ax.plot(
        [z.interval.start_at / size],
        [y - 0.45],
        linestyle="none",
        marker="v",
        color="black",
        markersize=6,
        gid="zoom:mark",
    )
