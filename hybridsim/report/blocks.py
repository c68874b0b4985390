"""Which figures a report holds, drawn and rendered to PNG, each with a heading and a caption.

One run's report: the timeline, queues and utilization, then the figures shared with comparisons
(training curves, time to target accuracy, κ and routing, cost breakdown, predicted vs actual),
each only when the run has the data for it. A comparison: the shared figures across runs, then
each run's timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hybridsim.report.data import RunData
from hybridsim.report.formats import slug
from hybridsim.report.style import FIG_WIDTH_IN, fit_layout, new_figure, png_bytes

__all__ = ["FigureBlock", "run_figures", "comparison_figures"]


@dataclass(frozen=True, slots=True)
class FigureBlock:
    """One figure of the report: an anchor, a heading, the PNG and how to read it."""

    key: str
    title: str
    png: bytes
    caption: str


def _panels(draw: Sequence[Callable[[Any], Any]], height: float, ncols: int | None = None):
    """A figure with one panel per drawing function, side by side (or stacked if ncols=1)."""
    n = len(draw)
    ncols = ncols or n
    nrows = -(-n // ncols)
    fig = new_figure(FIG_WIDTH_IN, height * nrows, layout=None)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for fn, ax in zip(draw, axes, strict=False):
        fn(ax)
    fit_layout(fig)
    return fig


def _has_steps(runs: Sequence[RunData], field: str) -> bool:
    return any(getattr(s, field) is not None for r in runs for s in r.steps)


# Heading and how-to-read caption of each figure, by anchor.
_CAPTIONS = {
    "timeline": (
        "Timeline",
        "One lane per device and per network link. Bars are job service (coloured by route), "
        "transfers, local compute; hatched windows are calibration (or outages, red); × marks "
        "a failed job. Right of each lane, two exact numbers: utilization, solve-job service "
        "time over slots × makespan (the summary's utilization_<device>, local compute and "
        "transfers not counted), and busy, the share of the run in which the lane did any work "
        "(solve jobs, local compute, transfers; parallel slots counted once). Bars narrower "
        "than a pixel are drawn a pixel wide; dense lanes show the busy fraction of each pixel "
        "column as the band's height, at least a sliver wherever there is work; the zoom panel "
        "shows the shortest interval to scale, each job outlined.",
    ),
    "queues": (
        "Queues and utilization",
        "Top: jobs waiting in each pool (time-weighted mean in the legend). Bottom: "
        "utilization of each device per time bin, solve-job service time over slots × bin "
        "width (whole-run utilization_<device> in the legend); a log axis is used when some "
        "device is utilized less than 0.1 % of the time.",
    ),
    "training": (
        "Training curves",
        "Loss (log scale) and test accuracy at the end of each step against simulated "
        "time; one line per run: the main run and each baseline (dashed).",
    ),
    "target": (
        "Time to target accuracy",
        "Test accuracy at the end of each step against simulated time on a log axis (step 0, "
        "at t = 0, is not drawn): one line per run, the main run and each baseline (dashed), "
        "coloured as in the training curves. The dotted line is workload.target_accuracy; a ◆ "
        "on it marks the first instant each run reached it, the summary's time_to_target_s "
        '(main run) and <baseline>_time_to_target_s, whose values the legend prints ("target '
        'not reached" when the run never got there). A baseline identical to the main run '
        "(e.g. classical_newton when the main run routes every block classically) was not run "
        'again: it is listed as "= main", an open circle at the main run\'s time.',
    ),
    "kappa": (
        "Condition numbers and routing",
        "Left: median over each step's blocks of the true κ (solid) and of the estimate the "
        "scheduler used (dashed); estimates that overflowed are marked ▲ at the top. "
        "Right: the fraction of each step's blocks sent to QPUs.",
    ),
    "costs": (
        "Cost breakdown per route",
        "Mean time per completed job, stacked: compute, transfer, queue wait, state "
        "preparation, readout, overhead. Left in time (total printed at the bar's end), "
        "right as shares, so that a route costing attoseconds still shows its composition.",
    ),
    "predicted": (
        "Predicted vs actual job time",
        "Each point is a job: the service time the scheduler predicted against the one "
        "charged. On the dotted line the cost model was exact; the legend gives the median "
        "ratio.",
    ),
}


def _block(key: str, fig) -> FigureBlock:
    title, caption = _CAPTIONS[key]
    return FigureBlock(key, title, png_bytes(fig), caption)


def _shared_figures(runs: list[RunData]) -> list[FigureBlock]:
    """Figures drawn for one run or across several (training, κ, costs, predictions)."""
    from hybridsim.report import figures as F

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
    # From each run's job digest (one pass over its jobs, shared by the figures).
    if any(r.job_digest.completed for r in runs):
        rows = F.cost_rows(runs)  # once for both panels: a pass over every job
        draw = [
            lambda ax: F.draw_costs(ax, rows, normalize=False),
            lambda ax: F.draw_costs(ax, rows, normalize=True),
        ]
        out.append(_block("costs", _panels(draw, 1.8 + 0.45 * max(len(rows), 2))))
    if any(r.job_digest.any_predicted for r in runs):
        out.append(_block("predicted", _panels([lambda ax: F.predicted_vs_actual(runs, ax)], 5.0)))
    return out


def run_figures(run: RunData) -> list[FigureBlock]:
    """The figures of one run's report, timeline first."""
    from hybridsim.report import figures as F
    from hybridsim.report.gantt import timeline

    blocks = [_block("timeline", timeline(run))]
    draw = [lambda ax: F.queue_lengths(run, ax), lambda ax: F.utilization_over_time(run, ax)]
    blocks.append(_block("queues", _panels(draw, 3.4, ncols=1)))
    return blocks + _shared_figures([run])


def comparison_figures(runs: list[RunData]) -> list[FigureBlock]:
    """The figures of a comparison report: shared figures, then each run's timeline."""
    from hybridsim.report.gantt import timeline

    blocks = _shared_figures(runs)
    for r in runs:
        name = r.label if r.title == r.label else f"{r.label} (scenario {r.title})"
        blocks.append(
            FigureBlock(
                f"timeline-{slug(r.label, fallback='run')}",
                f"Timeline: {name}",
                png_bytes(timeline(r)),
                "As in the run's own report.",
            )
        )
    return blocks
