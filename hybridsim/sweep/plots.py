"""Figures of a sweep: metrics against factors, heatmaps over two factors, break-even maps.

Figures are built on :class:`matplotlib.figure.Figure` with no pyplot, so drawing a report
never switches the backend of the user's session (saving a PNG uses the Agg canvas). matplotlib
is imported inside the functions: ``import hybridsim`` stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hybridsim.sweep.analysis import FactorAxis, SweepTable, crossing

__all__ = [
    "metrics_figure",
    "heatmap_figure",
    "breakeven_inputs",
    "breakeven_figure",
]

_PANEL_W, _PANEL_H, _COLS = 4.2, 3.0, 3
#: Resolution of the sweep's figures, fixed on the figure (not read from the user's rcParams),
#: so the same sweep draws the same pixels anywhere.
DPI = 110


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # No layout engine: constrained layout triples the drawing time of a many-panel figure.
    # Margins are set once, in inches (_margins) or by one tight-layout pass (metrics_figure).
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _margins(fig: Any, *, left=0.75, right=0.25, bottom=0.6, top=0.6, **space: float) -> None:
    """Figure margins given in inches (so they hold whatever the figure's size)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h, **space
    )


def save_png(fig: Any, path: Any, dpi: int = DPI) -> None:
    """Deprecated (one release): write ``fig`` as a PNG with matplotlib's ``savefig``.

    The sweep report encodes its figures with the report's PNG writer (fixed metadata, so a
    redrawn report is byte-identical); call ``fig.savefig(path)`` for a PNG of your own.
    """
    import warnings

    warnings.warn(
        "hybridsim.sweep.plots.save_png is deprecated; use fig.savefig(path)",
        DeprecationWarning,
        stacklevel=2,
    )
    fig.savefig(path, format="png", dpi=dpi)


def _x_positions(axis: FactorAxis, idx: np.ndarray) -> np.ndarray:
    if axis.is_numeric:
        return np.array([axis.numeric[i] for i in idx], dtype=float)
    return idx.astype(float)


def _format_axis(ax: Any, axis: FactorAxis) -> None:
    unit = f" [{axis.unit}]" if axis.unit else ""
    ax.set_xlabel(axis.key + unit, fontsize=8)
    if axis.log_scale:
        ax.set_xscale("log")
    elif axis.is_numeric and len(axis.labels) <= 10:
        # Few numeric levels (QPU counts, rates): tick exactly the values that were run.
        ax.set_xticks([v for v in axis.numeric if v is not None])
        ax.set_xticklabels(axis.labels, fontsize=7)
    if not axis.is_numeric:
        ax.set_xticks(range(len(axis.labels)))
        ax.set_xticklabels(axis.labels, rotation=30, ha="right", fontsize=7)


def _log_y(values: Sequence[np.ndarray]) -> bool:
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    return bool(finite.size and finite.min() > 0 and finite.max() / finite.min() >= 1e3)


def metrics_figure(table: SweepTable, x: FactorAxis, metrics: Sequence[str]) -> Any:
    """Every metric against factor ``x``: mean over seeds, 95 % band, one line per hue group.

    Parameters
    ----------
    table : SweepTable
    x : FactorAxis
        The factor on the horizontal axis (log scale for durations and bandwidths).
    metrics : sequence of str
        One panel each.

    Returns
    -------
    matplotlib.figure.Figure
    """
    hue, averaged = table.hue_axes(x)
    rows = max(1, math.ceil(len(metrics) / _COLS))
    cols = min(_COLS, max(1, len(metrics)))
    fig = _figure(_PANEL_W * cols, _PANEL_H * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, metric in enumerate(metrics):
        ax = axes[k // cols][k % cols]
        series = table.series(metric, x, hue)
        for s in series:
            xs = _x_positions(x, s.x)
            (line,) = ax.plot(xs, s.mean, marker="o", ms=3, lw=1.2, label=s.label or None)
            if np.any(s.n > 1):
                ax.fill_between(xs, s.lo, s.hi, color=line.get_color(), alpha=0.2, lw=0)
        if _log_y([s.mean for s in series]):
            ax.set_yscale("log")
        _format_axis(ax, x)
        ax.set_title(metric, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, alpha=0.3)
        if k == 0 and any(s.label for s in series):
            ax.legend(fontsize=6, loc="best")
    for k in range(len(metrics), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    note = f"; mean over {', '.join(a.key for a in averaged)}" if averaged else ""
    # The title sits a fixed 0.1 in below the top edge (a fraction of the height would slide it
    # into the first row's titles on a tall figure); one tight-layout pass then keeps it, the
    # panel titles and the (rotated) tick labels apart and inside the figure.
    fig.suptitle(
        f"metrics against {x.key} (mean over seeds, 95 % band clipped to each metric's "
        f"range{note})",
        fontsize=10,
        y=1 - 0.1 / fig.get_figheight(),
        va="top",
    )
    fig.tight_layout(pad=0.5, h_pad=1.0, w_pad=1.0)
    return fig


def heatmap_figure(table: SweepTable, x: FactorAxis, y: FactorAxis, metric: str) -> Any:
    """Mean of ``metric`` over every run in each cell of factors ``x`` × ``y``."""
    grid = table.grid(metric, x, y)
    fig = _figure(max(4.5, 0.7 * len(x.labels) + 2.5), max(3.5, 0.45 * len(y.labels) + 1.8))
    ax = fig.subplots()
    finite = grid[np.isfinite(grid)]
    use_log = bool(finite.size and finite.min() > 0 and finite.max() / finite.min() >= 1e3)
    shown = np.log10(grid) if use_log else grid
    im = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis")
    bar = fig.colorbar(im, ax=ax)
    bar.set_label(f"log10 {metric}" if use_log else metric, fontsize=8)
    ax.set_xticks(range(len(x.labels)))
    ax.set_xticklabels(x.labels, rotation=30, ha="right", fontsize=7)
    ax.set_yticks(range(len(y.labels)))
    ax.set_yticklabels(y.labels, fontsize=7)
    ax.set_xlabel(x.key, fontsize=8)
    ax.set_ylabel(y.key, fontsize=8)
    if grid.size <= 144:
        lo, hi = (np.nanmin(shown), np.nanmax(shown)) if finite.size else (0.0, 1.0)
        for a in range(grid.shape[0]):
            for b in range(grid.shape[1]):
                if np.isfinite(grid[a, b]):
                    # Dark text on the light (yellow) end of viridis, light text elsewhere.
                    light = hi > lo and (shown[a, b] - lo) / (hi - lo) > 0.6
                    ax.text(
                        b,
                        a,
                        f"{grid[a, b]:.3g}",
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="black" if light else "white",
                    )
    ax.set_title(f"{metric}: mean over seeds and other factors", fontsize=9)
    _margins(fig, left=1.3, right=0.2, bottom=1.0, top=0.4)
    return fig


# -- break-even ----------------------------------------------------------------------------------


def breakeven_inputs(scenario: Mapping[str, Any]) -> dict[str, Any] | None:
    """Keyword arguments of :func:`hybridsim.costs.breakeven.break_even` for a scenario.

    The first GPU group and the first QPU group are compared, under the scenario's ``[costs]``
    (accounting with its overrides, algorithm, ε, classical method). Returns None when the
    cluster lacks a GPU or a QPU. Also returns the reference system (``n``, ``d``, ``kappa``):
    a synthetic workload's own n and κ; for paper shapes the largest block and the geometric
    middle of the κ trajectory; else N = 1024 and κ = 1000. d follows ``d`` or ``prune_ratio``.
    """
    from hybridsim.costs.model import CostModel
    from hybridsim.costs.specs import GpuSpec, QpuSpec
    from hybridsim.scenario import load_scenario

    sc = load_scenario(scenario)
    if not sc.cluster.gpu or not sc.cluster.qpu:
        return None
    gpu, qpu, costs = sc.cluster.gpu[0], sc.cluster.qpu[0], sc.costs
    n, kappa = _reference_system(sc.workload)
    ratio = getattr(sc.workload, "prune_ratio", 1.0)
    d = getattr(sc.workload, "d", None) or max(1, math.floor(ratio * n))
    qpu_spec = QpuSpec.from_group(qpu)
    return {
        "reference": {"n": float(n), "d": float(d), "kappa": float(kappa)},
        "gate_time_2q_s": qpu_spec.gate_time_2q_s,
        "qpu": qpu.name,
        "gpu": gpu.name,
        "kwargs": dict(
            accounting=CostModel(costs).accounting,
            classical_method=costs.classical_method,
            gpu=GpuSpec.from_group(gpu),
            qpu=qpu_spec,
            gate_time_ratio_1q=qpu.gate_time_1q / qpu.gate_time_2q,  # exact, from the ticks
            algorithm=costs.algorithm,
            jennings_success_constant=costs.jennings_success_constant,
            jennings_alpha_power=costs.jennings_alpha_power,
            costa_constant=costs.costa_constant,
            clamp=costs.kappa_clamp,
        ),
        "epsilon": costs.epsilon,
        "alpha": None if CostModel(costs).accounting.block_encoding == "ideal" else "d",
    }


def _reference_system(wl: Any) -> tuple[int, float]:
    """(N, κ) drawn as dotted lines: the workload's own where it has them."""
    if wl.kind == "synthetic":
        return (wl.n or 1024), (wl.kappa if wl.kappa is not None else 1000.0)
    if wl.kind == "shapes":
        from hybridsim.workload.shapes import paper_model

        # The largest block dominates the solve time; κ at the geometric middle of training.
        n = max(b.n for b in paper_model(wl.model, batch_size=wl.batch_size).blocks)
        km = wl.kappa
        return n, (km.start / math.sqrt(km.total_drop) if km.kind == "geometric" else 1000.0)
    return 1024, 1000.0


def _speedup_map(inputs: Mapping[str, Any], gate_times: np.ndarray, n, d, kappa) -> np.ndarray:
    """T_classical / T_quantum(t) on the grid (rows: the varying system, columns: gate times)."""
    from hybridsim.costs.breakeven import break_even

    n, d, kappa = np.broadcast_arrays(*(np.asarray(v, float) for v in (n, d, kappa)))
    alpha = d if inputs["alpha"] == "d" else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        be = break_even(n, d, kappa, inputs["epsilon"], alpha=alpha, **inputs["kwargs"])
        t_c = np.asarray(be.classical_s, float).reshape(-1, 1)
        fixed = np.asarray(be.quantum_fixed_s, float).reshape(-1, 1)
        slope = np.asarray(be.gate_equivalents, float).reshape(-1, 1)
        return t_c / (slope * gate_times.reshape(1, -1) + fixed)


def _breakeven_panel(ax, fig, gate_times, ys, speedup, ylabel, ref_y, swept, measured) -> None:
    from matplotlib.colors import TwoSlopeNorm

    # Log axes first: contour labels cut their gap in display space, which must be final.
    ax.set_xscale("log")
    ax.set_yscale("log")
    logs = np.log10(speedup)
    finite = logs[np.isfinite(logs)]
    span = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    mesh = ax.pcolormesh(
        gate_times,
        ys,
        logs,
        shading="auto",
        cmap="RdBu",
        norm=TwoSlopeNorm(vcenter=0.0, vmin=-span, vmax=span),
    )
    bar = fig.colorbar(mesh, ax=ax)
    bar.set_label("log10 speedup (GPU time / QPU time)", fontsize=7)
    if finite.size and finite.min() < 0 < finite.max():
        cs = ax.contour(gate_times, ys, logs, levels=[0.0], colors="black", linewidths=1.6)
        ax.clabel(cs, fmt={0.0: "speedup = 1"}, fontsize=7)
    elif finite.size and finite.max() < 0:
        ax.text(
            0.5,
            0.5,
            "no gate time breaks even:\nfixed QPU costs exceed the GPU time",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.8},
        )
    ax.axhline(ref_y, color="0.3", lw=0.8, ls=":")
    for t in swept:
        ax.axvline(t, color="0.2", lw=0.6, ls="--", alpha=0.6)
    if measured is not None:
        ax.axvline(measured, color="orange", lw=2.0, label="simulated break-even")
        ax.legend(fontsize=6, loc="lower left")
    ax.set_xlabel("2q gate time [s]", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)


def breakeven_figure(
    inputs: Mapping[str, Any],
    *,
    swept_gate_times: Sequence[float] = (),
    measured: float | None = None,
) -> Any:
    """Where a QPU solve beats a GPU solve: speedup = 1 over gate time × κ and gate time × N.

    The closed-form model of :mod:`hybridsim.costs.breakeven` (QPU time affine in the gate time)
    on the scenario's devices and ``[costs]``; dashed lines mark the swept gate times, an orange
    line the gate time where the simulated speedup crosses 1 (when the sweep measured one).

    Parameters
    ----------
    inputs : mapping
        From :func:`breakeven_inputs`.
    swept_gate_times : sequence of float
        Gate times of the sweep, in seconds.
    measured : float, optional
        Simulated break-even gate time, in seconds.
    """
    ref = inputs["reference"]
    lo = min([1e-19, *(t / 10 for t in swept_gate_times)])
    hi = max([1e-5, *(t * 10 for t in swept_gate_times)])
    gate_times = np.logspace(math.log10(lo), math.log10(hi), 120)
    kappas = np.logspace(math.log10(math.sqrt(12)), 7, 90)  # Jennings' bound holds for κ >= √12
    sizes = np.logspace(1, 5, 90)
    fig = _figure(11.0, 4.2)
    ax_k, ax_n = fig.subplots(1, 2)
    by_kappa = _speedup_map(inputs, gate_times, ref["n"], ref["d"], kappas)
    d_of_n = np.maximum(1.0, np.floor(sizes * min(1.0, ref["d"] / ref["n"])))
    by_size = _speedup_map(inputs, gate_times, sizes, d_of_n, ref["kappa"])
    _breakeven_panel(
        ax_k,
        fig,
        gate_times,
        kappas,
        by_kappa,
        "condition number κ",
        ref["kappa"],
        swept_gate_times,
        measured,
    )
    ax_k.set_title(f"N = {ref['n']:g}, d = {ref['d']:g}", fontsize=9)
    _breakeven_panel(
        ax_n, fig, gate_times, sizes, by_size, "matrix size N", ref["n"], swept_gate_times, measured
    )
    ax_n.set_title(f"κ = {ref['kappa']:g}, d/N = {ref['d'] / ref['n']:.3g}", fontsize=9)
    _margins(fig, left=0.7, right=0.1, bottom=0.55, top=0.6, wspace=0.3)
    acc = getattr(inputs["kwargs"]["accounting"], "name", inputs["kwargs"]["accounting"])
    fig.suptitle(
        f"break-even (closed form): QPU {inputs['qpu']} vs GPU {inputs['gpu']}, "
        f"{acc} accounting, {inputs['kwargs']['algorithm']}, ε = {inputs['epsilon']:g}",
        fontsize=10,
    )
    return fig


def measured_breakeven(table: SweepTable) -> tuple[FactorAxis | None, float | None, str | None]:
    """The gate-time factor, and where the simulated speedup crosses 1 along it (if it does).

    Uses ``speedup_vs_classical_newton`` (time to the target accuracy), else
    ``training_time_ratio_vs_classical_newton`` (time for the same steps), else any
    ``speedup*`` metric, averaged over seeds and other factors.
    """
    gate = next(
        (a for a in table.varying_axes if a.kind == "duration" and a.key.endswith("gate_time_2q")),
        None,
    )
    if gate is None:
        return None, None, None
    have = table.metrics()
    preferred = ("speedup_vs_classical_newton", "training_time_ratio_vs_classical_newton")
    metric = next((m for m in preferred if m in have), None)
    metric = metric or next((m for m in have if m.startswith("speedup")), None)
    if metric is None:
        return gate, None, None
    (series,) = table.series(metric, gate, []) or (None,)
    if series is None:
        return gate, None, metric
    xs = np.array([gate.numeric[i] for i in series.x], dtype=float)
    return gate, crossing(xs, series.mean, 1.0, log_x=True, log_y=True), metric
