"""Colours, units and the figure plumbing every plot shares.

Colours are a pure function of a name, so a route or interval kind has the same colour in every
figure and every run, and kinds added later (``"outage"``, ``"down"``...) get a stable colour of
their own without a code change. Python's ``hash`` is salted per process, so names are hashed with
CRC-32 instead.

Figures are built with :class:`matplotlib.figure.Figure` on an explicit Agg canvas, never through
``pyplot``: no global backend or figure registry is touched, which keeps the report headless and
safe inside notebooks, threads and sweeps. matplotlib is imported only inside functions.
"""

from __future__ import annotations

import io
import zlib
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hybridsim.timebase import TICKS_PER_SECOND, UNITS

__all__ = [
    "color",
    "time_unit",
    "exact_seconds",
    "percent",
    "is_window_kind",
    "is_failure_kind",
    "new_figure",
    "png_bytes",
    "FIG_WIDTH_IN",
    "DPI",
]

#: Width of the report's figures (inches) and their resolution: 1200 px wide PNGs.
FIG_WIDTH_IN = 12.0
DPI = 100

# Fixed colours for the names every run has; anything else is picked from _PALETTE by name.
_FIXED = {
    "classical": "#1f77b4",
    "quantum": "#9467bd",
    "transfer": "#8c8c8c",
    "compute": "#2ca02c",
    "calibration": "#bcbd22",
    "failed": "#d62728",
    "main": "#1f77b4",
    "classical_newton": "#ff7f0e",
    "sgd": "#2ca02c",
    "adam": "#8c564b",
}
_PALETTE = (
    "#17becf",
    "#e377c2",
    "#ff7f0e",
    "#8c564b",
    "#7f7f7f",
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#bcbd22",
    "#aec7e8",
)
# Interval kinds that make a device unavailable rather than busy: drawn as lane-wide hatched
# windows and left out of the busy fraction. Matched by substring so "qpu_down" or
# "link_outage" need no change here. A "failed" interval (an aborted attempt) is work that was
# lost: a red bar, not a window.
_FAILURE_WORDS = ("fail", "outage", "down", "crash", "fault")
_WINDOW_WORDS = ("calibration", "maint", "repair", "outage", "down", "crash")

# SI units from seconds down to the tick, for axes and labels.
_AXIS_UNITS = ("s", "ms", "us", "ns", "ps", "fs", "as", "zs")


def color(name: str) -> str:
    """A stable colour for a route, interval kind or run name."""
    if name in _FIXED:
        return _FIXED[name]
    if is_failure_kind(name):
        return _FIXED["failed"]
    return _PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]


def is_failure_kind(kind: str) -> bool:
    """Whether an interval kind (or job status) means something failed or was down."""
    k = kind.lower()
    return any(w in k for w in _FAILURE_WORDS)


def is_window_kind(kind: str) -> bool:
    """Whether an interval kind marks unavailability (calibration, outage...) rather than work."""
    k = kind.lower()
    return any(w in k for w in _WINDOW_WORDS)


def time_unit(ticks: int) -> tuple[str, int]:
    """The largest SI unit in which a span of ``ticks`` is at least 1, and its size in ticks.

    Examples
    --------
    >>> time_unit(2 * 10**18)
    ('ms', 1000000000000000000)
    >>> time_unit(5000)
    ('as', 1000)
    """
    for unit in _AXIS_UNITS:
        size = int(UNITS[unit] * TICKS_PER_SECOND)
        if ticks >= size:
            return unit, size
    return "zs", 1


def unit_label(unit: str) -> str:
    """The unit as printed on axes (µ instead of u)."""
    return "µs" if unit == "us" else unit


def exact_seconds(ticks: int) -> str:
    """An instant in ticks as an exact decimal number of seconds.

    Examples
    --------
    >>> exact_seconds(200000000004253000)
    '0.000200000000004253'
    """
    text = format(Decimal(ticks).scaleb(-21), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def percent(fraction: float | Fraction) -> str:
    """A fraction as a percentage readable at both ends: ``'81.6 %'``, ``'1.6e-09 %'``."""
    pct = float(fraction) * 100
    if pct == 0:
        return "0 %"
    if pct >= 0.1:
        return f"{pct:.1f} %"
    return f"{pct:.2g} %"


def new_figure(width_in: float = FIG_WIDTH_IN, height_in: float = 4.0, **kwargs: Any):
    """A figure on its own Agg canvas with constrained layout (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig) -> bytes:
    """Render ``fig`` as PNG bytes with fixed metadata, so the same figure gives the same bytes.

    matplotlib writes its version into the PNG ``Software`` field by default; dropping it keeps
    reports byte-identical across matplotlib patch releases of the same drawing.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
