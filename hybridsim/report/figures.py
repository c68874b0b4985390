"""The report's figures besides the timeline, one panel per function.

Every function takes a run (or, where runs are compared, one run or a sequence of runs: each a
:class:`~hybridsim.report.data.RunData`, a ``RunResult`` or an output directory) and an optional
``ax``; it draws one panel and returns the figure. Without ``ax`` a figure of its own is created
on an Agg canvas. Artists carry gids (``"line:<run>:<series>"``, ``"scatter:<group>"`` ...) so
scripts and tests can find what was drawn.

Metric arithmetic is not redone here: overall utilizations and mean queue lengths come from
:mod:`hybridsim.metrics`, spans from its tick functions, exact series from :mod:`.series`.

Long runs. Every figure reads the records in passes that hold no list of rows (a long run's
records are lazy sequences over its files): per-job sums come from the run's job digest
(:attr:`~hybridsim.report.data.RunData.job_digest`), series are accumulated as the rows go, a
dense queue's envelope is gathered in a second pass once its extent is known. The one figure that
keeps a value per job is the predicted-vs-actual scatter, which draws every job: two float64
arrays (16 B per job) while it draws.

Colours. In one run's figures a route, device or baseline has its fixed colour (:func:`color`).
Across several runs every run, and every distinct baseline run, gets a colour of its own
(:func:`distinct_colors`), the same in every figure of the comparison; a baseline shared by
several runs (identical steps) is drawn once.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from typing import Any

from hybridsim import metrics as M
from hybridsim.records import StepRecord
from hybridsim.report.data import RunData, as_run, as_runs
from hybridsim.report.passes import RouteCosts
from hybridsim.report.series import (
    BusyBins,
    EnvelopeBins,
    Steps,
    bin_edges,
    pool_changes,
    steps_end,
)
from hybridsim.report.style import (
    color,
    distinct_colors,
    fit_layout,
    log_ticks,
    new_figure,
    percent,
    plain_text,
    power_of_ten,
    unit_label,
)
from hybridsim.timebase import SI_UNITS, TICKS_PER_SECOND, duration_unit, format_duration

__all__ = [
    "queue_lengths",
    "utilization_over_time",
    "loss_curves",
    "accuracy_curves",
    "time_to_accuracy",
    "target_accuracy",
    "kappa_curves",
    "routed_fraction",
    "cost_breakdown",
    "predicted_vs_actual",
    "COST_COMPONENTS",
    "cost_rows",
    "draw_costs",
    "run_colors",
]

#: Stacked cost components, in drawing order: (label, how the value is obtained).
COST_COMPONENTS = (
    ("compute", "compute_s; the whole service time where the job has no breakdown"),
    ("transfer", "payload to the device plus result back (ticks)"),
    ("queue wait", "submission to dispatch (ticks)"),
    ("state preparation", "state_prep_s"),
    ("readout", "readout_s"),
    ("overhead", "overhead_s"),
)
_COST_COLORS = ("#2ca02c", "#8c8c8c", "#ff7f0e", "#17becf", "#e377c2", "#bcbd22")

# Above this many points per group a scatter is rasterized inside the vector artist list: the
# PNG is the same, the figure object stays light.
_RASTER_POINTS = 5000


def _axes(ax: Any, height: float = 3.6):
    """(figure, axes, whether the figure is ours): a new figure when no axes is given."""
    if ax is not None:
        return ax.figure, ax, False
    fig = new_figure(height_in=height, layout=None)
    return fig, fig.add_subplot(), True


def _finish(fig: Any, own: bool):
    # A figure of our own gets its margins fitted once its content is final; a caller's axes
    # belong to the caller's layout.
    if own:
        fit_layout(fig)
    return fig


def run_colors(runs: list[RunData]) -> dict[str, str]:
    """The colour of each run in a comparison (by label): distinct, in order."""
    return dict(zip([r.label for r in runs], distinct_colors(len(runs)), strict=True))


def _no_data(ax: Any, text: str) -> None:
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4", gid="no-data"
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _secs(ticks: int) -> float:
    return ticks / TICKS_PER_SECOND


# -- queues and utilization -------------------------------------------------------------------


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
    for pool, steps, env in _queue_series(data, limit, px):
        if steps is not None and len(steps.values) <= 1 and not any(steps.values):
            continue
        label = f"{pool} (mean {means.get(pool, 0.0):.3g})"
        c = _pool_color(pool, data)
        if env is not None:
            x = [e / size for e in env.edges]
            ax.stairs(
                env.high, x, baseline=env.low, fill=True, alpha=0.3, color=c, gid=f"envelope:{pool}"
            )
            ax.stairs(
                env.mean, x, color=c, label=f"{label}, binned: min–max, mean", gid=f"line:{pool}"
            )
        else:
            assert steps is not None
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


def _queue_series(data: RunData, limit: int, bins: int):
    """(pool, steps, None) per pool whose step function has at most ``limit`` steps, else
    (pool, None, its :func:`~hybridsim.report.series.envelope` in ``bins`` bins).

    One pass over the queue records counts each pool's steps, keeping at most ``limit`` of
    them; a second pass, for the pools with more, feeds their envelopes (whose bins depend on
    where the step function ends, known after the first pass).
    """
    horizon = data.horizon
    pools = data.pools
    kept: dict[str, list[tuple[int, int]]] = {p: [] for p in pools}
    count = dict.fromkeys(pools, 0)
    last = dict.fromkeys(pools, 0)
    for pool, change in pool_changes(data.queues, pools, horizon):
        count[pool] += 1
        last[pool] = change[0]
        if count[pool] <= limit:
            kept[pool].append(change)
    envelopes = {
        p: EnvelopeBins(steps_end(last[p], horizon), bins) for p in pools if count[p] > limit
    }
    if envelopes:
        prev: dict[str, tuple[int, int]] = {}
        for pool, change in pool_changes(data.queues, list(envelopes), horizon):
            before = prev.get(pool)
            if before is not None:
                envelopes[pool].add(before[0], change[0], before[1])
            prev[pool] = change
        for pool, acc in envelopes.items():
            at, length = prev[pool]
            acc.add(at, acc.edges[-1], length)
    for pool in pools:
        if pool in envelopes:
            yield pool, None, envelopes[pool].result()
        else:
            edges = tuple(e for e, _ in kept[pool])
            values = tuple(v for _, v in kept[pool])
            yield pool, Steps(edges + (steps_end(edges[-1], horizon),), values), None


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
    caps = data.capacities
    overall = M.utilization_of_busy(data.job_digest.busy, caps, data.horizon)
    edges = bin_edges(data.horizon, bins)
    per_dev = {dev: BusyBins(edges) for dev in caps}
    for iv in data.intervals:
        if iv.kind == "job":
            acc = per_dev.get(iv.resource)
            if acc is not None:
                acc.add(iv.start_at, iv.end_at)
    x = [e / size for e in edges]
    for dev in caps:
        busy = per_dev[dev].busy
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


def _shade(name: str, kind: str, siblings: list[str]) -> str:
    """The route colour of ``kind`` (gpu: classical, qpu: quantum), lightened per sibling, so
    devices or pools of one kind share a hue and stay distinguishable."""
    import matplotlib.colors as mcolors

    base = {"gpu": "classical", "qpu": "quantum"}.get(kind)
    if base is None or name not in siblings:
        return color(name)
    i = siblings.index(name)
    r, g, b = mcolors.to_rgb(color(base))
    f = 0.6 * i / max(len(siblings) - 1, 1)
    return mcolors.to_hex((r + (1 - r) * f, g + (1 - g) * f, b + (1 - b) * f))


def _device_color(dev: str, data: RunData) -> str:
    kinds = {d.name: d.kind for d in data.devices}
    kind = kinds.get(dev, "")
    return _shade(dev, kind, [d.name for d in data.devices if d.kind == kind])


def _pool_color(pool: str, data: RunData) -> str:
    kinds = {d.group: d.kind for d in data.devices}
    kind = kinds.get(pool, "")
    return _shade(pool, kind, [p for p in data.pools if kinds.get(p) == kind])


# -- training ---------------------------------------------------------------------------------


def _series(runs: list[RunData]):
    """(run, run name, label, steps of one tenant, colour) for every line.

    A baseline run appears once per distinct set of steps: two directories whose ``sgd``
    baselines are identical (same data and seed) share one line, different ones get a line each.
    """
    several = len(runs) > 1
    run_colour = run_colors(runs) if several else {}
    drawn: dict[tuple[str, tuple], list[str]] = {}  # (baseline, its steps) -> run labels
    lines = []
    for data in runs:
        for name in data.runs():
            rows = tuple(s for s in data.steps if s.run == name)
            if name != "main" and several:
                owners = drawn.setdefault((name, rows), [])
                owners.append(data.label)
                if len(owners) > 1:
                    continue
            lines.append((data, name, rows))
    extra = iter(distinct_colors(len(runs) + len(lines))[len(runs) :])
    out = []
    for data, name, rows in lines:
        if not several:
            colour = color(name)
        elif name == "main":
            colour = run_colour[data.label]
        else:
            colour = next(extra)
        tenants = sorted({s.tenant for s in rows})
        for t in tenants:
            mine = sorted((s for s in rows if s.tenant == t), key=lambda s: s.step)
            if name == "main":
                label = data.label if several else "main"
                if data.policy:
                    label += f" ({data.policy})"
            elif several:
                owners = drawn[(name, rows)]
                label = f"{name} (baseline of {', '.join(owners)})"
            else:
                label = f"{name} (baseline)"
            if len(tenants) > 1:
                label += f", tenant {t}"
            out.append((data, name, plain_text(label), mine, colour))
    return out


def _series_line(
    ax: Any, pts: list[tuple[float, Any]], data: Any, name: str, label: str, colour: Any
) -> None:
    """One training series as the panels draw it: dots joined, solid for the run's own
    training, dashed for a baseline, with the gid ``line:<run>:<series>`` the tests read."""
    ax.plot(
        [p[0] for p in pts],
        [p[1] for p in pts],
        marker="o",
        markersize=3,
        linestyle="-" if name == "main" else "--",
        color=colour,
        label=label,
        gid=f"line:{data.label}:{name}",
    )


def _training_panel(runs_in: Any, ax: Any, field: str, ylabel: str, title: str, log: bool):
    runs = as_runs(runs_in)
    fig, ax, own = _axes(ax)
    horizon = max((s.at for r in runs for s in r.steps), default=1) or 1
    unit, size = duration_unit(horizon, SI_UNITS)
    n = 0
    for data, name, label, rows, colour in _series(runs):
        pts = [(s.at / size, getattr(s, field)) for s in rows if getattr(s, field) is not None]
        if not pts:
            continue
        _series_line(ax, pts, data, name, label, colour)
        n += 1
    if not n:
        _no_data(ax, f"no {ylabel} recorded (no model was trained)")
    else:
        if log:
            ax.set_yscale("log")
            log_ticks(ax.yaxis)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    ax.set_xlabel(f"simulated time ({unit_label(unit)})")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left", fontsize=10)
    return _finish(fig, own)


def loss_curves(runs: Any, ax: Any = None, *, log: bool = True):
    """Training loss against simulated time: one line per run (main and baselines).

    With several runs, one line per run directory (labelled with its policy), each in its own
    colour, and one line per distinct baseline run (shared by the runs it is identical for).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return _training_panel(runs, ax, "loss", "loss", "training loss vs simulated time", log)


def accuracy_curves(runs: Any, ax: Any = None):
    """Test accuracy against simulated time: one line per run (main and baselines).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return _training_panel(
        runs, ax, "test_accuracy", "test accuracy", "test accuracy vs simulated time", False
    )


def target_accuracy(data: RunData) -> float | None:
    """The run's ``workload.target_accuracy`` (None for a workload without one)."""
    wl = data.scenario.get("workload")
    value = wl.get("target_accuracy") if isinstance(wl, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _reach_key(name: str) -> str:
    """The summary key holding the time to target of run ``name`` (main or a baseline)."""
    return "time_to_target_s" if name == "main" else f"{name}_time_to_target_s"


def _reach(data: RunData, name: str) -> tuple[bool, float | None]:
    """(whether the summary has the key, its value when it is a time)."""
    if _reach_key(name) not in data.summary:
        return False, None
    value = data.summary[_reach_key(name)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True, None
    return True, float(value)


def _reach_text(reached: float | None) -> str:
    if reached is None:
        return "target not reached"
    return f"target at {format_duration(round(reached * TICKS_PER_SECOND))}"


def _not_rerun(data: RunData) -> list[str]:
    """Baselines the summary reports but steps.csv does not hold: identical to the main run,
    they were not run again and report the main run's numbers."""
    wl = data.scenario.get("workload")
    asked = wl.get("baselines") if isinstance(wl, Mapping) else None
    ran = set(data.runs())
    names = [b for b in asked if isinstance(b, str)] if isinstance(asked, list) else []
    return [b for b in dict.fromkeys(names) if b not in ran and _reach_key(b) in data.summary]


def time_to_accuracy(runs: Any, ax: Any = None):
    """Test accuracy against simulated time on a log axis, with the target accuracy and where
    each run first reached it: the time-to-target comparison of Q-Newton and its baselines.

    One line per run, as in :func:`accuracy_curves` (main solid, baselines dashed, the same
    colours), without step 0 (at t = 0, which a log axis cannot show). A dotted horizontal line
    at ``workload.target_accuracy``; on it a diamond at each run's ``time_to_target_s`` (the
    main run) or ``<baseline>_time_to_target_s``, read from the summary, and the time in the
    legend ("target not reached" when it was not). A baseline the summary reports without
    steps (identical to the main run, so not run again) is listed as "= main" with an open
    circle at the main run's time.

    Returns
    -------
    matplotlib.figure.Figure
        Lines have gids ``"line:<run>:<series>"``, the target line ``"target"``, the markers
        ``"reach:<run>:<series>"`` (x: the summary's time in seconds, y: the target; no point
        when the target was not reached).
    """
    runs = as_runs(runs)
    several = len(runs) > 1
    mains = run_colors(runs) if several else {}
    fig, ax, own = _axes(ax)
    targets: dict[float, list[str]] = {}
    for data in runs:
        target = target_accuracy(data)
        if target is not None:
            targets.setdefault(target, []).append(data.label)
    marked: set[tuple[str, str]] = set()
    n = 0
    for data, name, label, rows, colour in _series(runs):
        pts = [
            (M.seconds(s.at), s.test_accuracy)
            for s in rows
            if s.test_accuracy is not None and s.at > 0
        ]
        if not pts:
            continue
        target = target_accuracy(data)
        has_key, reached = _reach(data, name)
        first = (data.label, name) not in marked  # a run's other tenants share its marker
        if target is not None and has_key and first:
            label += f": {_reach_text(reached)}"
        _series_line(ax, pts, data, name, label, colour)
        n += 1
        if target is not None and has_key and first:
            marked.add((data.label, name))
            ax.plot(
                [reached] if reached is not None else [],
                [target] if reached is not None else [],
                linestyle="none",
                marker="D",
                markersize=7,
                markeredgecolor="white",
                color=colour,
                label="_reach",  # the time is in the line's legend entry
                gid=f"reach:{data.label}:{name}",
                zorder=3,
            )
    if not n:
        _no_data(ax, "no test accuracy recorded after t = 0 (no model was trained)")
        return _finish(fig, own)
    for data in runs:
        target = target_accuracy(data)
        if target is None:
            continue
        for name in _not_rerun(data):
            _, reached = _reach(data, name)
            of = f" of {data.label}" if several else ""
            label = f"{name} (baseline{of}) = main: {_reach_text(reached)}"
            ax.plot(
                [reached] if reached is not None else [],
                [target] if reached is not None else [],
                linestyle="none",
                marker="o",
                markersize=11,
                markerfacecolor="none",
                markeredgewidth=1.5,
                # a single run's baselines have their fixed colours; in a comparison the
                # baseline is that run's main line, so it takes the run's colour
                color=mains[data.label] if several else color(name),
                label=plain_text(label),
                gid=f"reach:{data.label}:{name}",
                zorder=3,
            )
    for target, labels in targets.items():
        which = f" ({', '.join(labels)})" if len(targets) > 1 else ""
        ax.axhline(
            target,
            color="0.3",
            linewidth=1,
            linestyle=":",
            label=plain_text(f"target accuracy {target:g}{which}"),
            gid="target",
            zorder=1,
        )
    ax.set_xscale("log")
    log_ticks(ax.xaxis)
    ax.set_ylim(top=1.0 + 0.02)
    # Beside the axes: the curves fill the panel's corners, the legend would hide one.
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.grid(alpha=0.3, which="major")
    ax.set_xlabel("simulated time (s, log scale; step 0 at t = 0 not drawn)")
    ax.set_ylabel("test accuracy")
    ax.set_title(
        "time to target accuracy: ◆ where each run first reached it", loc="left", fontsize=10
    )
    return _finish(fig, own)


def _main_steps(data: RunData) -> list[StepRecord]:
    return sorted((s for s in data.steps if s.run == "main"), key=lambda s: (s.tenant, s.step))


def kappa_curves(runs: Any, ax: Any = None):
    """Median κ over each step's blocks, true (solid) and estimated (dashed), against step.

    The y axis is log10 κ on a linear scale, labelled in powers of ten: the paper's
    norm/determinant bound reaches 1e300, where a matplotlib log axis overflows computing its
    ticks. Estimates that overflowed to infinity are marked ▲ at the top edge.

    Returns
    -------
    matplotlib.figure.Figure
        Lines have gids ``"line:<run>:kappa_true_median"`` / ``"...kappa_est_median"`` and hold
        log10 κ as y data.
    """
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    runs = as_runs(runs)
    colours = run_colors(runs) if len(runs) > 1 else {}
    fig, ax, own = _axes(ax)
    n = 0
    for data in runs:
        rows = _main_steps(data)
        est = _estimator(data)
        prefix = f"{plain_text(data.label)}: " if len(runs) > 1 else ""
        for field, style, what in (
            ("kappa_true_median", "-", "κ true"),
            ("kappa_est_median", "--", f"κ̂ estimated ({est})" if est else "κ̂ estimated"),
        ):
            pts = [(s.step, getattr(s, field)) for s in rows if getattr(s, field) is not None]
            if not pts:
                continue
            finite = [(x, math.log10(y)) for x, y in pts if math.isfinite(y) and y > 0]
            infinite = [x for x, y in pts if math.isinf(y)]
            line = ax.plot(
                [p[0] for p in finite],
                [p[1] for p in finite],
                linestyle=style,
                marker="o",
                markersize=3,
                color=colours.get(data.label),
                label=f"{prefix}{what}, median",
                gid=f"line:{data.label}:{field}",
            )[0]
            if infinite:
                ax.plot(
                    infinite,
                    [0.97] * len(infinite),
                    linestyle="none",
                    marker="^",
                    color=line.get_color(),
                    transform=ax.get_xaxis_transform(),
                    label=f"{prefix}{what} = inf (overflow)",
                    gid=f"inf:{data.label}:{field}",
                )
            n += 1
    if not n:
        _no_data(ax, "no κ recorded (no training steps with solve jobs)")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: power_of_ten(v)))
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    ax.set_xlabel("training step")
    ax.set_ylabel("condition number κ (log scale)")
    ax.set_title("κ of the Hessian blocks over training", loc="left", fontsize=10)
    return _finish(fig, own)


def _estimator(data: RunData) -> str:
    sched = data.scenario.get("scheduler")
    return str(sched.get("estimator", "")) if isinstance(sched, dict) else ""


def routed_fraction(runs: Any, ax: Any = None):
    """Fraction of each step's blocks routed to QPUs, against step (one line per run).

    Returns
    -------
    matplotlib.figure.Figure
    """
    runs = as_runs(runs)
    colours = run_colors(runs) if len(runs) > 1 else {}
    fig, ax, own = _axes(ax)
    n = 0
    for data in runs:
        rows = [s for s in _main_steps(data) if s.blocks > 0]
        if not rows:
            continue
        label = data.label if len(runs) > 1 else "main"
        if data.policy:
            label += f" ({data.policy})"
        ax.plot(
            [s.step for s in rows],
            [s.routed_quantum / s.blocks for s in rows],
            marker="o",
            markersize=3,
            color=colours.get(data.label),
            label=plain_text(label),
            gid=f"line:{data.label}:routed",
        )
        n += 1
    if not n:
        _no_data(ax, "no training steps with solve jobs")
    else:
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    ax.set_xlabel("training step")
    ax.set_ylabel("fraction of blocks on QPUs")
    ax.set_title("fraction routed to QPUs", loc="left", fontsize=10)
    return _finish(fig, own)


# -- costs ------------------------------------------------------------------------------------


def _route_means(costs: RouteCosts) -> tuple[float, ...]:
    """Mean seconds per job of each :data:`COST_COMPONENTS` entry (spans summed in ticks)."""
    n = costs.jobs
    # compute_s where the cost model gave a breakdown, else the whole (explicit) service time
    compute = costs.compute.value() + _secs(costs.service)
    return (
        compute / n,
        _secs(costs.transfer) / n,
        _secs(costs.wait) / n,
        costs.state_prep.value() / n,
        costs.readout.value() / n,
        costs.overhead.value() / n,
    )


def cost_rows(runs: list[RunData]) -> list[tuple[str, int, tuple[float, ...]]]:
    """Mean seconds per completed job of each :data:`COST_COMPONENTS` entry, per run and route.

    Returns
    -------
    list of (row label, number of jobs, component means)
    """
    out = []
    for data in runs:
        by_route = data.job_digest.costs
        order = sorted(by_route, key=lambda r: (r not in ("classical", "quantum"), r))
        for route in order:
            costs = by_route[route]
            label = f"{data.label}: {route}" if len(runs) > 1 else route
            out.append((label, costs.jobs, _route_means(costs)))
    return out


def cost_breakdown(runs: Any, ax: Any = None, *, normalize: bool = False):
    """Stacked mean cost per job of each route: compute, transfer, queue wait, state preparation,
    readout, overhead (one horizontal bar per route, per run when several are given).

    Parameters
    ----------
    runs : run or sequence of runs
    ax : matplotlib.axes.Axes, optional
    normalize : bool
        Draw shares of each bar's total instead of seconds, so that a route whose total is
        attoseconds still shows its composition next to one that takes milliseconds.

    Returns
    -------
    matplotlib.figure.Figure
        One ``BarContainer`` per component (in ``ax.containers``, labelled by component; its
        patches have gid ``"cost:<component>"``), one bar per row.
    """
    rows = cost_rows(as_runs(runs))
    fig, ax, own = _axes(ax, height=1.6 + 0.45 * max(len(rows), 2))
    draw_costs(ax, rows, normalize=normalize)
    return _finish(fig, own)


def draw_costs(ax: Any, rows: list[tuple[str, int, tuple[float, ...]]], *, normalize: bool) -> None:
    """Draw :func:`cost_rows` output as stacked bars (the body of :func:`cost_breakdown`, for
    callers that draw the same rows twice, as the report does)."""
    if not rows:
        _no_data(ax, "no completed jobs")
        return
    totals = [sum(vals) for _, _, vals in rows]
    unit, size = duration_unit(max(1, round(max(totals) * TICKS_PER_SECOND)), SI_UNITS)
    scale = TICKS_PER_SECOND / size  # seconds -> axis unit
    y = list(range(len(rows)))
    left = [0.0] * len(rows)
    for k, (name, _) in enumerate(COST_COMPONENTS):
        widths = []
        for i, (_, _, vals) in enumerate(rows):
            if normalize:
                widths.append(vals[k] / totals[i] if totals[i] > 0 else 0.0)
            else:
                widths.append(vals[k] * scale)
        bars = ax.barh(y, widths, left=left, color=_COST_COLORS[k], label=name, height=0.6)
        for patch in bars:
            patch.set_gid(f"cost:{name}")
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for i, total in enumerate(totals):
        # The total as text: on a linear axis an attosecond bar next to a millisecond one is
        # invisible, its number is not.
        ax.text(
            left[i],
            i,
            f"  {format_duration(round(total * TICKS_PER_SECOND))}/job",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(y, [f"{label} ({n} jobs)" for label, n, _ in rows], fontsize=8)
    ax.invert_yaxis()
    if normalize:
        ax.set_xlim(0, 1.25)
        ax.set_xlabel("share of the mean cost per job")
    else:
        ax.set_xlim(0, max(left) * 1.25 if max(left) > 0 else 1)
        ax.set_xlabel(f"mean time per job ({unit_label(unit)})")
    ax.legend(
        fontsize=8,
        ncols=3,
        loc="lower left",
        bbox_to_anchor=(0, 1.02),
        borderaxespad=0,
        frameon=False,
        handlelength=1.2,
    )
    ax.set_title(
        "cost breakdown per route" + (" (shares)" if normalize else ""),
        loc="left",
        fontsize=10,
        pad=34,  # above the legend's two rows
    )


def _median(values: Any) -> float:
    """:func:`statistics.median` of a float64 array: the middle value, or the mean of the two
    middle ones."""
    import numpy as np

    ordered = np.sort(values)
    n = len(ordered)
    if n % 2 == 1:
        return float(ordered[n // 2])
    return (float(ordered[n // 2 - 1]) + float(ordered[n // 2])) / 2


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
    import numpy as np

    # Two float64 columns per group: 16 B per job drawn (the scatter's own arrays).
    groups: dict[str, tuple[array, array]] = {}
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
            pts = groups.get(key)
            if pts is None:
                pts = groups[key] = (array("d"), array("d"))
            pts[0].append(j.predicted_s)
            pts[1].append(actual)
    if not groups:
        _no_data(ax, "no predicted times recorded (explicit service times?)")
        return _finish(fig, own)
    columns = {
        k: (np.frombuffer(p, dtype=float), np.frombuffer(a, dtype=float))
        for k, (p, a) in groups.items()
    }
    lo = min(float(np.minimum(p, a).min()) for p, a in columns.values())
    hi = max(float(np.maximum(p, a).max()) for p, a in columns.values())
    for key in sorted(columns):
        predicted, actual_s = columns[key]
        n = len(predicted)
        ax.scatter(
            predicted,
            actual_s,
            s=10,
            alpha=0.6,
            color=color(key) if len(runs) == 1 else colours[key],
            label=plain_text(
                f"{key}: {n} jobs, median actual/predicted {_median(actual_s / predicted):.3g}"
            ),
            rasterized=n > _RASTER_POINTS,
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
