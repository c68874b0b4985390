"""Figures, HTML reports and trace exports of hybridsim runs.

Everything here reads a run's records (a ``RunResult`` in memory or an output directory on disk)
and draws; nothing in the simulation imports this package. Names are loaded lazily, and
matplotlib is imported only inside the functions that draw, so ``import hybridsim.report`` is
cheap::

    from hybridsim.report import timeline, write_report
    fig = timeline("runs/quickstart")          # a matplotlib Figure (Agg, headless)
    fig.savefig("timeline.pdf")
    write_report("runs/quickstart")            # report.html, timeline.png, trace.json

Figure functions take a run (``RunData``, ``RunResult`` or a directory) and an optional ``ax``
and return the figure: :func:`timeline`, :func:`queue_lengths`, :func:`utilization_over_time`,
:func:`loss_curves`, :func:`accuracy_curves`, :func:`time_to_accuracy`, :func:`kappa_curves`,
:func:`routed_fraction`, :func:`cost_breakdown`, :func:`predicted_vs_actual` (the last seven also
accept several runs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hybridsim._lazy import lazy_attributes

__all__ = [
    "timeline",
    "queue_lengths",
    "utilization_over_time",
    "loss_curves",
    "accuracy_curves",
    "time_to_accuracy",
    "kappa_curves",
    "routed_fraction",
    "cost_breakdown",
    "predicted_vs_actual",
    "write_report",
    "write_comparison",
    "write_trace",
    "load_run",
    "from_result",
    "RunData",
    "ReportError",
]

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.report.data import ReportError, RunData, from_result, load_run
    from hybridsim.report.figures import (
        accuracy_curves,
        cost_breakdown,
        kappa_curves,
        loss_curves,
        predicted_vs_actual,
        queue_lengths,
        routed_fraction,
        time_to_accuracy,
        utilization_over_time,
    )
    from hybridsim.report.gantt import timeline
    from hybridsim.report.html import write_comparison, write_report
    from hybridsim.report.trace import write_trace

_LAZY = {
    "timeline": "hybridsim.report.gantt",
    "queue_lengths": "hybridsim.report.figures",
    "utilization_over_time": "hybridsim.report.figures",
    "loss_curves": "hybridsim.report.figures",
    "accuracy_curves": "hybridsim.report.figures",
    "time_to_accuracy": "hybridsim.report.figures",
    "kappa_curves": "hybridsim.report.figures",
    "routed_fraction": "hybridsim.report.figures",
    "cost_breakdown": "hybridsim.report.figures",
    "predicted_vs_actual": "hybridsim.report.figures",
    "write_report": "hybridsim.report.html",
    "write_comparison": "hybridsim.report.html",
    "write_trace": "hybridsim.report.trace",
    "load_run": "hybridsim.report.data",
    "from_result": "hybridsim.report.data",
    "RunData": "hybridsim.report.data",
    "ReportError": "hybridsim.report.data",
}


# PEP 562: submodules (and through them matplotlib, at draw time) load on first use.
_lazy_getattr, __dir__ = lazy_attributes(__name__, _LAZY, globals())


def __getattr__(name: str) -> Any:
    if name == "report_command":
        # Deprecated (one release): the command's logic is CLI code, in the cli package.
        import importlib
        import warnings

        warnings.warn(
            "hybridsim.report.report_command is deprecated; use hybridsim.cli.report.report_dirs",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module("hybridsim.cli.report").report_dirs
    return _lazy_getattr(name)
