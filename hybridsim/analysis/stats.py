"""Statistics over seeds: the median and the range, and the ratios studies compare.

Newton trajectories are chaotic: a last-bit difference in a BLAS reduction (another machine,
another OpenBLAS kernel) can move a late step's loss, and with it a time to target or a final
accuracy. A single run's number is then not reproducible to the digits printed, while the median
and the range over a few seeds move far less. Studies report those (:class:`Spread`) and round
them to what is stable.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Spread", "spread", "paired", "ratio", "change", "finite", "json_ready"]


def finite(x: Any) -> bool:
    """Whether ``x`` is a real number that is not NaN or infinite (None is not).

    Examples
    --------
    >>> finite(1.0), finite(None), finite(float("inf")), finite(3)
    (True, False, False, True)
    """
    if x is None or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except TypeError:
        return False


@dataclass(frozen=True, slots=True)
class Spread:
    """The values of one quantity over seeds: their median, smallest and largest.

    Attributes
    ----------
    median, low, high : float or None
        Over the finite values (None when there are none).
    n : int
        Number of finite values.
    missing : int
        Values that were None or not finite (a target never reached, a run without the metric).
    values : tuple
        Every value as given, in seed order.
    """

    median: float | None
    low: float | None
    high: float | None
    n: int
    missing: int
    values: tuple[Any, ...]

    def as_dict(self) -> dict[str, Any]:
        """The spread as JSON-ready data (``values`` as a list)."""
        return {
            "median": self.median,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "missing": self.missing,
            "values": list(self.values),
        }


def spread(values: Iterable[Any]) -> Spread:
    """:class:`Spread` of ``values`` (None and non-finite entries are counted as missing).

    Examples
    --------
    >>> s = spread([3.0, 1.0, None, 2.0])
    >>> s.median, s.low, s.high, s.n, s.missing
    (2.0, 1.0, 3.0, 3, 1)
    >>> spread([]).median is None
    True
    """
    vals = tuple(values)
    ok = [float(v) for v in vals if finite(v)]
    if not ok:
        return Spread(None, None, None, 0, len(vals), vals)
    return Spread(
        float(statistics.median(ok)), min(ok), max(ok), len(ok), len(vals) - len(ok), vals
    )


def ratio(a: Any, b: Any) -> float | None:
    """``a / b``, or None when either is missing or ``b`` is 0.

    Examples
    --------
    >>> ratio(3.0, 2.0), ratio(None, 2.0), ratio(1.0, 0.0)
    (1.5, None, None)
    """
    if not (finite(a) and finite(b)) or b == 0:
        return None
    return float(a) / float(b)


def change(a: Any, b: Any) -> float | None:
    """Relative change of ``a`` against ``b``: ``a / b − 1`` (−0.9 is "90 % less").

    Examples
    --------
    >>> change(1.0, 10.0)
    -0.9
    """
    r = ratio(a, b)
    return None if r is None else r - 1.0


def paired(values: Sequence[Any], baseline: Sequence[Any], op: Any = ratio) -> Spread:
    """:func:`spread` of ``op(v, b)`` over paired values (the same seed on both sides).

    Examples
    --------
    >>> paired([2.0, 6.0], [1.0, 2.0]).values
    (2.0, 3.0)
    """
    if len(values) != len(baseline):
        raise ValueError(f"{len(values)} values against {len(baseline)} baseline values")
    return spread(op(v, b) for v, b in zip(values, baseline, strict=True))


def json_ready(x: Any, digits: int = 12) -> Any:
    """A copy of ``x`` that :func:`json.dumps` writes the same way on every machine.

    Mappings (keys as strings), lists and tuples are copied recursively; numpy scalars become
    Python numbers; floats are rounded to ``digits`` significant digits (some LAPACK paths differ
    in the last bit between processes, and a results file must not); NaN becomes None and the
    infinities the strings ``"inf"`` and ``"-inf"`` (JSON has neither).

    Examples
    --------
    >>> import numpy as np
    >>> json_ready({"a": (np.float64(1 / 3), float("nan")), 2: [float("-inf")]})
    {'a': [0.333333333333, None], '2': ['-inf']}
    """
    if isinstance(x, Mapping):
        return {str(k): json_ready(v, digits) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_ready(v, digits) for v in x]
    if hasattr(x, "item") and not isinstance(x, str | bytes):
        x = x.item()
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return float(f"{x:.{digits}g}")
    return x
