"""How values are written in report pages: table cells, and slugs for anchors and file names.

One rule each, for run, comparison and sweep pages alike. Durations are written by
:func:`hybridsim.timebase.format_duration` (the one duration formatter), percentages by
:func:`hybridsim.report.style.percent`.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["MISSING", "value_text", "slug"]

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
