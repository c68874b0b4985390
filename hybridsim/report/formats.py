"""How values are written in report pages: table cells, and slugs for anchors and file names.

One rule each, for run, comparison and sweep pages alike. Durations are written by
:func:`hybridsim.timebase.format_duration` (the one duration formatter), percentages by
:func:`hybridsim.report.style.percent`.

Prose pages (the study, written in Markdown) round every number to the digits that are stable
and say so: :func:`number_text`, :func:`percent_text`, :func:`change_text`, :func:`duration_text`
and :func:`spread_text` take the significant digits to print, write huge and tiny magnitudes as
``3.2×10⁻⁹`` and missing values as ``—``.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "MISSING",
    "value_text",
    "slug",
    "number_text",
    "percent_text",
    "change_text",
    "duration_text",
    "spread_text",
]

#: How a missing value (None, or a float that is not finite: a mean over no runs) is shown.
MISSING = "—"

_NOT_SLUG = re.compile(r"[^A-Za-z0-9_-]+")


def value_text(value: Any, digits: int = 6) -> str:
    """A value as a table cell: floats to ``digits`` significant digits, booleans as in JSON.

    Parameters
    ----------
    value : any
        A JSON value from a summary, or a number computed for the page.
    digits : int
        Significant digits of a float.

    Returns
    -------
    str
        ``"—"`` for None and for NaN or an infinity (a value that was not measured), ``"true"`` /
        ``"false"`` for booleans, ``str`` of anything else.

    Examples
    --------
    >>> value_text(2 / 3), value_text(2 / 3, digits=4), value_text(3), value_text(True)
    ('0.666667', '0.6667', '3', 'true')
    >>> value_text(None), value_text(float("nan"))
    ('—', '—')
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.{digits}g}" if math.isfinite(value) else MISSING
    return str(value)


def slug(text: str, sep: str = "-", fallback: str = "x") -> str:
    """``text`` reduced to ASCII letters, digits, ``-`` and ``_``, for an anchor or a file name.

    Each run of other characters becomes one ``sep``; ``sep`` is stripped from both ends, and an
    empty result is ``fallback``. Anchors use ``-`` (``timeline-seed2``), the sweep's PNG names
    ``_`` (``metrics_cluster_qpu_q_count.png``).

    Examples
    --------
    >>> slug("seed 2"), slug("cluster.qpu.q.count", "_"), slug("κ", fallback="run")
    ('seed-2', 'cluster_qpu_q_count', 'run')
    >>> slug("../javascript:alert(1)")
    'javascript-alert-1'
    """
    return _NOT_SLUG.sub(sep, text).strip(sep) or fallback


_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")
_EXPONENT = re.compile(r"(-?\d+(?:\.\d+)?)e([+-]\d+)")


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _pow10(text: str) -> str:
    """``'3.2e-09'`` → ``'3.2×10⁻⁹'`` (a mantissa of 1 is dropped: ``'10⁶'``)."""

    def sub(m: re.Match) -> str:
        mantissa, exp = m.group(1), int(m.group(2))
        power = "10" + str(exp).translate(_SUPERSCRIPT)
        return power if mantissa == "1" else f"{mantissa}×{power}"

    return _EXPONENT.sub(sub, text)


def number_text(x: Any, digits: int = 3) -> str:
    """A number to ``digits`` significant digits, for prose.

    Integers below 10⁶ are written exactly, other numbers from 0.001 to below 10⁶ rounded
    (thousands separated by a narrow no-break space: ``'1 024'``), the rest as ``'3.2×10⁻⁹'``.
    Missing values are ``'—'``.

    Examples
    --------
    >>> print(number_text(1024), number_text(0.123456), number_text(3.2e-9, 2), number_text(5e6))
    1 024 0.123 3.2×10⁻⁹ 5×10⁶
    >>> number_text(None), number_text(float("inf")), number_text(-0.5)
    ('—', '—', '-0.5')
    """
    if not _is_number(x):
        return MISSING
    if isinstance(x, int) and abs(x) < 10**6:
        return f"{x:,}".replace(",", "\u202f")
    v = float(x)
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e6:
        text = f"{v:.{digits}g}"
        if "e" in text:  # 123456 at 3 digits: write it out, rounded
            text = f"{float(text):.0f}"
        whole, dot, frac = text.partition(".")
        sign = "-" if whole.startswith("-") else ""
        whole = f"{int(whole.lstrip('-')):,}".replace(",", "\u202f")
        return sign + whole + dot + frac
    mantissa, _, exp = f"{v:.{digits - 1}e}".partition("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return _pow10(f"{mantissa}e{int(exp):+d}")


def percent_text(fraction: Any, digits: int = 2) -> str:
    """A fraction as a percentage to ``digits`` significant digits (``'19 %'``, ``'0.12 %'``).

    Examples
    --------
    >>> percent_text(0.1893), percent_text(0.0012), percent_text(1.0), percent_text(None)
    ('19 %', '0.12 %', '100 %', '—')
    """
    if not _is_number(fraction):
        return MISSING
    pct = float(fraction) * 100
    if pct == 0:
        return "0 %"
    if abs(pct) >= 10**digits:
        return f"{pct:.0f} %"
    return f"{number_text(pct, digits)} %"


def change_text(ratio: Any, digits: int = 2) -> str:
    """A ratio against a baseline as a signed change: 1.43 → ``'+43 %'``, 0.01 → ``'−99 %'``.

    Examples
    --------
    >>> change_text(1.43), change_text(0.01), change_text(1.0), change_text(250.0)
    ('+43 %', '−99 %', '±0 %', '×250')
    """
    if not _is_number(ratio):
        return MISSING
    if ratio >= 10:  # "+24 900 %" reads worse than a factor
        return "×" + number_text(float(ratio), digits)
    pct = (float(ratio) - 1.0) * 100
    text = number_text(abs(pct), digits) if abs(pct) >= 0.5 else "0"
    if text == "0":
        return "±0 %"
    return ("+" if pct > 0 else "−") + text + " %"


def duration_text(seconds: Any, digits: int = 3) -> str:
    """Float seconds as a duration in the unit :func:`hybridsim.timebase.duration_unit` picks,
    the number written by :func:`number_text` (``'180 µs'``, days beyond 10⁶ as ``'4.2×10¹² d'``).

    Examples
    --------
    >>> duration_text(1.56e-6), duration_text(0.0), duration_text(1.8e-4, 2)
    ('1.56 µs', '0 s', '180 µs')
    >>> duration_text(3.6e17, 2), duration_text(None)
    ('4.2×10¹² d', '—')
    """
    from hybridsim.timebase import TICKS_PER_SECOND, duration_unit, to_ticks

    if not _is_number(seconds):
        return MISSING
    s = float(seconds)
    if s == 0:
        return "0 s"
    if abs(s) < 1e-18:  # below the attosecond: no unit prefix reads better than a power of ten
        return f"{number_text(s, digits)} s"
    # The unit from the exact clock's rule; the number from the float itself (no tick rounding).
    unit, size = duration_unit(to_ticks(abs(s)))
    sign = "-" if s < 0 else ""
    value = abs(s) / (size / TICKS_PER_SECOND)
    return f"{sign}{number_text(value, digits)} {'µs' if unit == 'us' else unit}"


def spread_text(spread: Any, fmt: Any = number_text, **kwargs: Any) -> str:
    """A median with its range: ``'5.8 (3 … 9)'`` (the median alone when the range is one value).

    ``spread`` is a mapping with ``median``, ``low`` and ``high`` (as
    :meth:`hybridsim.analysis.stats.Spread.as_dict` writes it); ``fmt`` formats each value.

    Examples
    --------
    >>> spread_text({"median": 5.8, "low": 3, "high": 9})
    '5.8 (3 … 9)'
    >>> spread_text({"median": 0.5, "low": 0.5, "high": 0.5}, percent_text)
    '50 %'
    """
    if spread is None or not _is_number(spread.get("median")):
        return MISSING
    mid, lo, hi = (fmt(spread[k], **kwargs) for k in ("median", "low", "high"))
    if lo == hi == mid:
        return mid
    return f"{mid} ({lo} … {hi})"
