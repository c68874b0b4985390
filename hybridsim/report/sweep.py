"""The report of a sweep directory: PNG figures in ``DIR/plots/`` and a self-contained
``DIR/report.html`` (figures embedded, no network access needed to view it).

Drawn from ``results.sqlite`` alone, so ``hybridsim report DIR`` works on a finished,
interrupted or still running sweep, on any machine the directory is copied to.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from hybridsim.errors import HybridSimError
from hybridsim.sweep.analysis import SweepTable
from hybridsim.sweep.store import export_csv, point_scenario, read_sweep

__all__ = ["write_sweep_report", "REPORT_NAME", "PLOTS_DIR"]

REPORT_NAME = "report.html"
PLOTS_DIR = "plots"
_MAX_HEATMAP_PAIRS = 3
_TABLE_METRICS = 5
_MAX_TABLE_POINTS = 500  # a longer table belongs in results.csv, not in a page

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
.note { color: #555; font-size: 0.9em; } .failed { color: #a00; }
"""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "x"


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _img(data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _fmt(value: float) -> str:
    return "" if not np.isfinite(value) else f"{value:.4g}"


def _table(head: list[str], rows: list[list[str]], numeric_from: int = 99) -> str:
    out = ["<table><tr>", *(f"<th>{html.escape(h)}</th>" for h in head), "</tr>"]
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            cls = ' class="num"' if i >= numeric_from else ""
            out.append(f"<td{cls}>{html.escape(str(cell))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def _definition_html(definition: dict[str, Any], counts: dict[str, int]) -> str:
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
    for k, v in definition.get("set", {}).items():
        rows.append([f"set {k}", toml_literal(v)])
    for f in definition["factors"]:
        rows.append([f"factor {f['key']}", ", ".join(toml_literal(v) for v in f["values"])])
    return _table(["", ""], rows)


def _failures_html(stored) -> str:
    failed = [r for r in stored.rows if r["status"] == "failed"]
    if not failed:
        return ""
    rows = [[str(r["point"]), str(r["seed"]), r["error"]] for r in failed[:200]]
    more = f"<p class='note'>… and {len(failed) - 200} more.</p>" if len(failed) > 200 else ""
    return "<h2 class='failed'>Failed runs</h2>" + _table(["point", "seed", "error"], rows) + more


def _points_html(stored, table: SweepTable) -> str:
    """Mean over seeds of a few headline metrics, per point."""
    metrics = table.metrics()
    primary = table.primary_metric()
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
            cells.append(_fmt(float(np.nanmean(vals))) if np.isfinite(vals).any() else "")
        rows.append(cells)
    head = ["point", *keys, "ok runs", *(f"mean {m}" for m in chosen)]
    more = len(stored.definition["points"]) - _MAX_TABLE_POINTS
    note = f"<p class='note'>… and {more} more points (results.csv).</p>" if more > 0 else ""
    return _table(head, rows, numeric_from=len(keys) + 1) + note


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
    table = SweepTable(stored)
    definition = stored.definition
    counts: dict[str, int] = {}
    for r in stored.rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    plots = out / PLOTS_DIR
    try:
        plots.mkdir(exist_ok=True)
    except OSError as exc:
        raise HybridSimError(f"{plots}: cannot create directory: {exc}") from None

    sections: list[str] = []

    def figure(fig: Any, name: str, alt: str) -> str:
        data = _png(fig)
        (plots / f"{name}.png").write_bytes(data)
        return _img(data, alt)

    metrics = table.metrics()
    axes = table.varying_axes
    if not table.n_rows:
        sections.append("<p class='note'>No run finished ok yet: nothing to plot.</p>")
    elif not axes:
        sections.append("<p class='note'>No factor has two levels: nothing to plot against.</p>")
    if table.n_rows and axes and metrics:
        sections.append("<h2>Metrics against each factor</h2>")
        for axis in axes:
            fig = metrics_figure(table, axis, metrics)
            sections.append(figure(fig, f"metrics_{_slug(axis.key)}", axis.key))
        primary = table.primary_metric()
        pairs = [(axes[i], axes[j]) for i in range(len(axes)) for j in range(i + 1, len(axes))]
        if primary and pairs:
            sections.append(f"<h2>Heatmaps of {html.escape(primary)}</h2>")
            for x, y in pairs[:_MAX_HEATMAP_PAIRS]:
                fig = heatmap_figure(table, x, y, primary)
                name = f"heatmap_{_slug(x.key)}__{_slug(y.key)}"
                sections.append(figure(fig, name, f"{primary} over {x.key} and {y.key}"))

    inputs = breakeven_inputs(point_scenario(out, 0)) if definition["points"] else None
    sections.append("<h2>Break-even</h2>")
    if inputs is None:
        sections.append(
            "<p class='note'>The base cluster lacks a GPU or a QPU group: no "
            "break-even to draw.</p>"
        )
    else:
        gate, measured, metric = measured_breakeven(table) if table.n_rows else (None,) * 3
        swept = [v for v in gate.numeric if v is not None] if gate is not None else []
        fig = breakeven_figure(inputs, swept_gate_times=swept, measured=measured)
        sections.append(figure(fig, "breakeven", "break-even gate time"))
        ref = inputs["reference"]
        text = (
            f"Closed-form model (hybridsim.costs.breakeven) for the first QPU and GPU groups of "
            f"point 0 at N = {ref['n']:g}, d = {ref['d']:g}, κ = {ref['kappa']:g} (dotted "
            "lines); dashed lines are the swept gate times. Blue: the QPU is faster."
        )
        if metric is not None:
            where = (
                f"crosses 1 at a gate time of {measured:.3g} s"
                if measured is not None
                else "does not cross 1 over the swept gate times"
            )
            text += f" Simulated {html.escape(metric)} (mean over seeds) {where}."
        sections.append(f"<p class='note'>{text}</p>")

    sections.append("<h2>Points</h2>")
    sections.append(_points_html(stored, table))
    title = html.escape(definition.get("name") or out.name)
    doc = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>sweep {title}</title><style>{_CSS}</style></head><body>",
        f"<h1>Sweep {title}</h1>",
        f"<p>{html.escape(definition.get('description', ''))}</p>",
        _definition_html(definition, counts),
        _failures_html(stored),
        *sections,
        "<p class='note'>Data: results.sqlite, results.csv (one row per point and seed).</p>",
        "</body></html>",
    ]
    path = out / REPORT_NAME
    tmp = path.with_name(f".{REPORT_NAME}.tmp")
    tmp.write_text("\n".join(doc), encoding="utf-8")
    tmp.replace(path)
    return path
