"""Colours, units and the figure plumbing every plot shares.

Colours are a pure function of a name, so a route or interval kind has the same colour in every
figure and every run, and kinds added later (``"outage"``, ``"down"``...) get a stable colour of
their own without a code change. Python's ``hash`` is salted per process, so names are hashed with
CRC-32 instead.

Figures are built with :class:`matplotlib.figure.Figure` on an explicit Agg canvas, never through
``pyplot``: no global backend or figure registry is touched, which keeps the report headless and
safe inside notebooks, threads and sweeps. matplotlib is imported only inside functions.

Speed. A report draws each figure once. Its figures carry no layout engine: with one, matplotlib
measures every axes twice (constrained layout iterates) and then draws the whole figure once more
with drawing disabled before the real draw. :func:`fit_layout` instead measures each axes once
and sets the margins, and :func:`png_bytes` renders once and encodes RGB. Tick labels on log axes
are plain text (``10⁻³``, :func:`log_ticks`) rather than mathtext, whose parser costs more than
the rest of a small figure.
"""

from __future__ import annotations

import io
import re
import zlib
from fractions import Fraction
from typing import Any, Literal

from hybridsim.timebase import SI_UNITS, duration_unit, format_duration

__all__ = [
    "color",
    "distinct_colors",
    "percent",
    "is_window_kind",
    "is_failure_kind",
    "new_figure",
    "fit_layout",
    "log_ticks",
    "power_of_ten",
    "plain_text",
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
    "kfac": "#17becf",  # by name it would share sgd's green
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
# Colours told apart at a glance, in order, for runs and baselines of a comparison (Tableau 20
# without its reds, which mean failure here).
_DISTINCT = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#9edae5",
    "#dbdb8d",
    "#c7c7c7",
)
# Interval kinds that make a device unavailable rather than busy: drawn as lane-wide hatched
# windows and left out of the busy fraction. Matched by substring so "qpu_down" or
# "link_outage" need no change here. A "failed" interval (an aborted attempt) is work that was
# lost: a red bar, not a window.
_FAILURE_WORDS = ("fail", "outage", "down", "crash", "fault")
_WINDOW_WORDS = ("calibration", "maint", "repair", "outage", "down", "crash")


def color(name: str) -> str:
    """A stable colour for a route, interval kind or run name."""
    if name in _FIXED:
        return _FIXED[name]
    if is_failure_kind(name):
        return _FIXED["failed"]
    return _PALETTE[zlib.crc32(name.encode()) % len(_PALETTE)]


def distinct_colors(n: int) -> list[str]:
    """``n`` colours, all different: a fixed list of 18, then hues spread by the golden ratio.

    Examples
    --------
    >>> distinct_colors(2)
    ['#1f77b4', '#ff7f0e']
    >>> len(set(distinct_colors(40)))
    40
    """
    import colorsys

    out = list(_DISTINCT[:n])
    k = 0
    while len(out) < n:
        r, g, b = colorsys.hsv_to_rgb((0.11 + 0.618034 * k) % 1.0, 0.55 + 0.3 * (k % 2), 0.75)
        k += 1
        c = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
        if c not in out:
            out.append(c)
    return out


def is_failure_kind(kind: str) -> bool:
    """Whether an interval kind (or job status) means something failed or was down."""
    k = kind.lower()
    return any(w in k for w in _FAILURE_WORDS)


def is_window_kind(kind: str) -> bool:
    """Whether an interval kind marks unavailability (calibration, outage...) rather than work."""
    k = kind.lower()
    return any(w in k for w in _WINDOW_WORDS)


def unit_label(unit: str) -> str:
    """The unit as printed on axes (µ instead of u)."""
    return "µs" if unit == "us" else unit


def percent(fraction: float | Fraction) -> str:
    """A fraction as a percentage readable at both ends: ``'81.6 %'``, ``'1.6e-09 %'``."""
    pct = float(fraction) * 100
    if pct == 0:
        return "0 %"
    if pct >= 0.1:
        return f"{pct:.1f} %"
    return f"{pct:.2g} %"


def new_figure(
    width_in: float = FIG_WIDTH_IN,
    height_in: float = 4.0,
    layout: Literal["constrained", "compressed", "tight"] | None = "constrained",
    **kwargs: Any,
):
    """A figure on its own Agg canvas (no pyplot state).

    ``layout`` is matplotlib's layout engine; the report's own figures pass ``None`` and call
    :func:`fit_layout` once their content is final, which draws each figure once instead of
    several times.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout=layout, **kwargs)
    FigureCanvasAgg(fig)
    return fig


def fit_layout(fig, *, pad_in: float = 0.08, top_in: float = 0.0) -> None:
    """Set the margins and spacing of ``fig``'s subplot grid so every axes' decorations fit.

    One measuring pass: each axes' tight box (tick labels, axis labels, titles, legends and texts
    placed outside it) is measured once, and the figure's subplot parameters are set so that the
    outermost decorations sit ``pad_in`` inches inside the figure and neighbouring axes do not
    touch. Axes outside the figure's main grid (insets, colour bars) are left alone.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    pad_in : float
        Space kept around and between decorations, inches.
    top_in : float
        Extra space reserved at the top (a figure title placed there), inches.
    """
    from matplotlib.gridspec import GridSpec

    grid = []
    for ax in fig.axes:
        ss = ax.get_subplotspec()
        if ss is not None and type(ss.get_gridspec()) is GridSpec:
            grid.append((ax, ss))
    if not grid:
        return
    gs = grid[0][1].get_gridspec()
    grid = [(ax, ss) for ax, ss in grid if ss.get_gridspec() is gs]
    nrows, ncols = gs.get_geometry()
    renderer = fig.canvas.get_renderer()
    width, height = fig.get_figwidth() * fig.dpi, fig.get_figheight() * fig.dpi
    pad = pad_in * fig.dpi
    left = [0.0] * (ncols + 1)  # decoration left of the axes starting at column c
    right = [0.0] * (ncols + 1)  # right of the axes ending at column c
    above = [0.0] * (nrows + 1)
    below = [0.0] * (nrows + 1)
    for ax, ss in grid:
        if not ax.get_visible():
            continue
        # Only what can stick out: axis decorations (always measured), texts, the legend and
        # insets. Bars, lines and patches are clipped to the axes; measuring their thousands of
        # paths would cost more than the drawing.
        extra = [*ax.texts, *ax.child_axes, *([ax.legend_] if ax.legend_ is not None else [])]
        box = ax.get_tightbbox(renderer, bbox_extra_artists=extra, for_layout_only=True)
        pos = ax.get_window_extent(renderer)
        if box is None:
            continue
        c0, c1, r0, r1 = ss.colspan.start, ss.colspan.stop, ss.rowspan.start, ss.rowspan.stop
        left[c0] = max(left[c0], pos.x0 - box.x0)
        right[c1] = max(right[c1], box.x1 - pos.x1)
        above[r0] = max(above[r0], box.y1 - pos.y1)
        below[r1] = max(below[r1], pos.y0 - box.y0)
    l_px, r_px = left[0] + pad, right[ncols] + pad
    t_px, b_px = above[0] + pad + top_in * fig.dpi, below[nrows] + pad
    w_gap = max([right[c] + left[c] + pad for c in range(1, ncols)], default=0.0)
    h_gap = max([below[r] + above[r] + pad for r in range(1, nrows)], default=0.0)
    # Keep at least a fifth of the figure for the axes whatever the labels ask for.
    l_px, r_px = min(l_px, 0.4 * width), min(r_px, 0.4 * width)
    t_px, b_px = min(t_px, 0.4 * height), min(b_px, 0.4 * height)
    cell_w = (width - l_px - r_px - (ncols - 1) * w_gap) / ncols
    cell_h = (height - t_px - b_px - (nrows - 1) * h_gap) / nrows
    fig.subplots_adjust(
        left=l_px / width,
        right=1 - r_px / width,
        top=1 - t_px / height,
        bottom=b_px / height,
        wspace=w_gap / cell_w if cell_w > 0 and ncols > 1 else 0.2,
        hspace=h_gap / cell_h if cell_h > 0 and nrows > 1 else 0.2,
    )


_SUPERSCRIPT = str.maketrans("0123456789-−.+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻·⁺")


def _plain_math(text: str) -> str:
    """``$\\mathdefault{2\\times10^{-3}}$`` -> ``2×10⁻³``; anything else unchanged."""
    if not (len(text) > 1 and text[0] == "$" and text[-1] == "$"):
        return text
    body = text[1:-1].replace(r"\mathdefault", "").replace(r"\times", "×")
    body = re.sub(r"\^\{([^{}]*)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), body)
    body = body.replace("{", "").replace("}", "")
    return text if "\\" in body or "^" in body else body


def power_of_ten(exponent: float) -> str:
    """``10`` with a superscript exponent, as plain text.

    Examples
    --------
    >>> power_of_ten(-3), power_of_ten(300)
    ('10⁻³', '10³⁰⁰')
    """
    return "10" + f"{exponent:g}".translate(_SUPERSCRIPT)


def log_ticks(axis) -> None:
    """Label a log-scaled axis like matplotlib does (``10⁻³``, ``2×10⁻³``), as plain text.

    Call after ``set_xscale("log")``/``set_yscale("log")``, which installs mathtext formatters.
    """
    from matplotlib.ticker import LogFormatterSciNotation

    class PlainLogFormatter(LogFormatterSciNotation):
        def __call__(self, x, pos=None):
            return _plain_math(super().__call__(x, pos))

    axis.set_major_formatter(PlainLogFormatter(10))
    axis.set_minor_formatter(PlainLogFormatter(10, labelOnlyBase=False))


def plain_text(text: str) -> str:
    """``text`` with its dollar signs escaped, so a name is never parsed as mathtext."""
    return text.replace("$", r"\$")


def png_bytes(fig) -> bytes:
    """Render ``fig`` once as PNG bytes (RGB, fixed metadata: the same figure gives the same bytes).

    The figure is drawn at its own dpi and encoded without an alpha channel (report figures are
    opaque) and without matplotlib's ``Software`` stamp, so reports stay byte-identical across
    matplotlib patch releases of the same drawing.
    """
    from PIL import Image

    canvas = fig.canvas
    canvas.draw()
    size = canvas.get_width_height(physical=True)
    rgba = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    rgba.convert("RGB").save(buf, format="png", dpi=(fig.dpi, fig.dpi), compress_level=6)
    return buf.getvalue()


def _time_unit(ticks: int) -> tuple[str, int]:
    return duration_unit(ticks, SI_UNITS)


def _exact_seconds(ticks: int) -> str:
    return format_duration(ticks, unit="s", exact=True)[: -len(" s")]


#: Deprecated names (one release) and what replaces them in :mod:`hybridsim.timebase`.
_MOVED = {
    "time_unit": (_time_unit, "duration_unit(ticks, SI_UNITS)"),
    "exact_seconds": (_exact_seconds, 'format_duration(ticks, unit="s", exact=True)'),
}


def __getattr__(name: str) -> Any:
    # Deprecation shim: durations are written by hybridsim.timebase alone.
    if name in _MOVED:
        import warnings

        function, instead = _MOVED[name]
        warnings.warn(
            f"hybridsim.report.style.{name} is deprecated; use hybridsim.timebase.{instead}",
            DeprecationWarning,
            stacklevel=2,
        )
        return function
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
