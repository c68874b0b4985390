"""The report of a sweep directory: PNG figures in ``DIR/plots/`` and a self-contained
``DIR/report.html`` (figures embedded, no network access needed to view it).

Drawn from ``results.sqlite`` alone, so ``hybridsim report DIR`` works on a finished,
interrupted or still running sweep, on any machine the directory is copied to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hybridsim.errors import HybridSimError
from hybridsim.report.blocks import FigureBlock
from hybridsim.report.files import write_bytes, write_text
from hybridsim.report.formats import slug, value_text
from hybridsim.report.page import render
from hybridsim.report.style import png_bytes
from hybridsim.report.tables import Table, table
from hybridsim.sweep.analysis import SweepTable
from hybridsim.sweep.store import StoredSweep, export_csv, point_scenario, read_sweep
from hybridsim.timebase import format_duration, to_ticks

__all__ = ["write_sweep_report", "REPORT_NAME", "PLOTS_DIR"]

REPORT_NAME = "report.html"
PLOTS_DIR = "plots"
_MAX_HEATMAP_PAIRS = 3
_TABLE_METRICS = 5
_MAX_FAILURES = 200
_MAX_TABLE_POINTS = 500  # a longer table belongs in results.csv, not in a page
#: Significant digits of the points table's means (a summary of seeds, not a measurement).
_MEAN_DIGITS = 4


def _definition(definition: dict[str, Any], counts: dict[str, int]) -> Table:
    from hybridsim.sweep.factors import toml_literal

    runs = len(definition["points"]) * len(definition["seeds"])
    missing = runs - counts.get("ok", 0) - counts.get("failed", 0)
    rows = [
        ["sweep file", definition["file"]],
        ["base scenario", definition["base"]],
        ["mode", definition["mode"]],
        ["seeds", ", ".join(map(str, definition["seeds"]))],
        ["points × seeds", f"{len(definition['points'])} × {len(definition['seeds'])} = {runs}"],
        [
            "runs ok / failed / not run",
            f"{counts.get('ok', 0)} / {counts.get('failed', 0)} / {missing}",
        ],
    ]
    rows += [[f"set {k}", toml_literal(v)] for k, v in definition.get("set", {}).items()]
    rows += [
        [f"factor {f['key']}", ", ".join(toml_literal(v) for v in f["values"])]
        for f in definition["factors"]
    ]
    return table(["", ""], rows, numeric=())


def _failures(stored: StoredSweep) -> tuple[Table, int]:
    """The failed runs (the first :data:`_MAX_FAILURES`) and how many more there are."""
    failed = [r for r in stored.rows if r["status"] == "failed"]
    rows = [[r["point"], r["seed"], r["error"]] for r in failed[:_MAX_FAILURES]]
    return table(["point", "seed", "error"], rows, numeric=()), len(failed) - len(rows)


def _points(stored: StoredSweep, sweep: SweepTable) -> tuple[Table, int]:
    """Mean over seeds of a few headline metrics, per point."""
    metrics = sweep.metrics()
    primary = sweep.primary_metric()
    chosen = ([primary] if primary else []) + [m for m in metrics if m != primary]
    chosen = chosen[:_TABLE_METRICS]
    by_point: dict[int, list[dict[str, Any]]] = {}
    for r in stored.rows:
        if r["status"] == "ok":
            by_point.setdefault(r["point"], []).append(r["metrics"])
    keys = [f["key"] for f in stored.definition["factors"]]
    rows = []
    for p in stored.definition["points"][:_MAX_TABLE_POINTS]:
        runs = by_point.get(p["point"], [])
        cells = [str(p["point"]), *(str(v) for v in p["values"]), str(len(runs))]
        for m in chosen:
            vals = np.array(
                [float(x[m]) if isinstance(x.get(m), int | float) else np.nan for x in runs]
            )
            mean = float(np.nanmean(vals)) if np.isfinite(vals).any() else None
            cells.append(value_text(mean, digits=_MEAN_DIGITS))
        rows.append(cells)
    head = ["point", *keys, "ok runs", *(f"mean {m}" for m in chosen)]
    more = len(stored.definition["points"]) - _MAX_TABLE_POINTS
    return table(head, rows, numeric=range(len(keys) + 1, len(head))), more


def write_sweep_report(directory: str | Path) -> Path:
    """Draw the figures of the sweep in ``directory`` and write its ``report.html``.

    Figures: each metric against each factor (mean over seeds with a 95 % band, one line per
    policy or per level of the other factors, log axes for durations), a heatmap of the headline
    metric for pairs of factors, and the break-even map of the base scenario's QPU against its
    GPU (speedup = 1 over gate time × κ and gate time × N). ``results.csv`` is re-exported too.

    Parameters
    ----------
    directory : path
        A sweep's ``--out`` directory.

    Returns
    -------
    Path
        The report file.

    Raises
    ------
    HybridSimError
        If the directory holds no readable sweep results.
    """
    from hybridsim.sweep.plots import (
        breakeven_figure,
        breakeven_inputs,
        heatmap_figure,
        measured_breakeven,
        metrics_figure,
    )

    out = Path(directory)
    stored = read_sweep(out)
    export_csv(out)
    sweep = SweepTable(stored)
    definition = stored.definition
    counts: dict[str, int] = {}
    for r in stored.rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    plots = out / PLOTS_DIR
    try:
        plots.mkdir(exist_ok=True)
    except OSError as exc:
        raise HybridSimError(f"{plots}: cannot create directory: {exc}") from None

    def figure(fig: Any, name: str, alt: str, caption: str = "") -> FigureBlock:
        # The report's PNG writer: fixed metadata, so a redrawn report is byte-identical.
        block = FigureBlock(name, alt, png_bytes(fig), caption)
        write_bytes(plots / f"{name}.png", block.png)
        return block

    metrics = sweep.metrics()
    axes = sweep.varying_axes
    nothing_to_plot = ""
    if not sweep.n_rows:
        nothing_to_plot = "No run finished ok yet: nothing to plot."
    elif not axes:
        nothing_to_plot = "No factor has two levels: nothing to plot against."
    sections: list[tuple[str, list[FigureBlock]]] = []
    if sweep.n_rows and axes and metrics:
        sections.append(
            (
                "Metrics against each factor",
                [
                    figure(
                        metrics_figure(sweep, axis, metrics),
                        f"metrics_{slug(axis.key, '_')}",
                        axis.key,
                    )
                    for axis in axes
                ],
            )
        )
        primary = sweep.primary_metric()
        pairs = [(axes[i], axes[j]) for i in range(len(axes)) for j in range(i + 1, len(axes))]
        if primary and pairs:
            maps = []
            for x, y in pairs[:_MAX_HEATMAP_PAIRS]:
                name = f"heatmap_{slug(x.key, '_')}__{slug(y.key, '_')}"
                alt = f"{primary} over {x.key} and {y.key}"
                maps.append(figure(heatmap_figure(sweep, x, y, primary), name, alt))
            sections.append((f"Heatmaps of {primary}", maps))

    inputs = breakeven_inputs(point_scenario(out, 0)) if definition["points"] else None
    breakeven = None
    if inputs is not None:
        gate, measured, metric = measured_breakeven(sweep) if sweep.n_rows else (None,) * 3
        swept = [v for v in gate.numeric if v is not None] if gate is not None else []
        ref = inputs["reference"]
        text = (
            f"Closed-form model (hybridsim.costs.breakeven) for the first QPU and GPU groups of "
            f"point 0 at N = {value_text(ref['n'])}, d = {value_text(ref['d'])}, "
            f"κ = {value_text(ref['kappa'])} (dotted lines); dashed lines are the swept gate "
            "times. Blue: the QPU is faster."
        )
        if metric is not None:
            where = (
                f"crosses 1 at a gate time of {format_duration(to_ticks(measured), digits=3)}"
                if measured is not None
                else "does not cross 1 over the swept gate times"
            )
            text += f" Simulated {metric} (mean over seeds) {where}."
        fig = breakeven_figure(inputs, swept_gate_times=swept, measured=measured)
        breakeven = figure(fig, "breakeven", "break-even gate time", text)

    points, more_points = _points(stored, sweep)
    failures, more_failures = _failures(stored)
    name = definition.get("name") or out.name
    page = render(
        "sweep.html.j2",
        title=f"sweep {name}",
        runs_meta=None,
        heading=f"Sweep {name}",
        description=definition.get("description", ""),
        definition=_definition(definition, counts),
        failures=failures,
        more_failures=more_failures,
        nothing_to_plot=nothing_to_plot,
        sections=sections,
        breakeven=breakeven,
        points=points,
        more_points=more_points,
    )
    return write_text(out / REPORT_NAME, page)
