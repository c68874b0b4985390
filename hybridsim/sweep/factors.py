"""Sweep factors: a scenario key path and the values it takes, and how factors combine into points.

A factor is written in a sweep file's ``[factors]`` table as either an array of values::

    "cluster.qpu.q.gate_time_2q" = ["100 ns", "1 ns", "1 as"]

or a range table that expands to one::

    "cluster.qpu.q.gate_time_2q" = { logspace = ["1 us", "1 as"], num = 13 }
    "workload.prune_ratio" = { linspace = [0.1, 1.0], num = 10 }

Range endpoints are durations (strings with a unit) or plain numbers. Generated durations are
rounded to six significant digits and written with the unit that keeps them readable
(``"46.4159 ns"``), so the values in the results table are the ones the runs used, not binary
neighbours of them. Integer endpoints of a number range give integers.

Nothing here builds a list of points: :func:`count_points` computes a sweep's size from the
factors' lengths alone, and :func:`iter_points` / :func:`point_values` produce one combination at a
time, so a grid too large to run is refused before anything is generated (:data:`MAX_POINTS`).

Everything here is a pure function of TOML data; nothing runs a simulation.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hybridsim.schema import Ctx, suggest
from hybridsim.timebase import parse_duration

__all__ = [
    "Factor",
    "MODES",
    "RANGE_KINDS",
    "MAX_POINTS",
    "expand_factor",
    "count_points",
    "iter_points",
    "point_values",
    "combine",
    "format_seconds",
    "toml_literal",
]

MODES = ("grid", "zip")
#: Most points a sweep may have. Every point is validated (about 5 ms) and its resolved scenario
#: kept (about 2 KB) before anything runs, so this bounds validation to about a minute and the
#: definition to about 20 MB; larger studies are several sweeps.
MAX_POINTS = 10_000
RANGE_KINDS = ("logspace", "linspace")
_RANGE_KEYS = (*RANGE_KINDS, "num")
# Largest unit first: a generated duration is written in the largest unit it is at least one of.
_UNITS = (
    ("s", Decimal(1)),
    ("ms", Decimal("1e-3")),
    ("us", Decimal("1e-6")),
    ("ns", Decimal("1e-9")),
    ("ps", Decimal("1e-12")),
    ("fs", Decimal("1e-15")),
    ("as", Decimal("1e-18")),
    ("zs", Decimal("1e-21")),
)
_SIGNIFICANT = 6  # digits kept in generated durations
_NUMBER_DIGITS = 12  # digits kept in generated floats (hides 10**x round-off like 999.9999999)


@dataclass(frozen=True, slots=True)
class Factor:
    """One swept key and its values.

    Parameters
    ----------
    key : str
        Scenario key path, as given to ``--set`` (``"cluster.qpu.q.gate_time_2q"``).
    values : tuple
        The values in order, as TOML data (strings for durations, numbers, booleans, tables).
    """

    key: str
    values: tuple[Any, ...]


def toml_literal(value: Any) -> str:
    """``value`` written as a TOML literal, for messages and table labels.

    Examples
    --------
    >>> toml_literal("5 nss"), toml_literal(2), toml_literal(True), toml_literal(1e-9)
    ('"5 nss"', '2', 'true', '1e-09')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON escapes are TOML basic-string escapes
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {toml_literal(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    return repr(value)  # pragma: no cover - TOML data holds nothing else


def format_seconds(seconds: float | Fraction | Decimal) -> str:
    """A duration string with six significant digits in the largest fitting unit.

    Examples
    --------
    >>> format_seconds(9.999999999e-08), format_seconds(4.641588833612782e-08)
    ('100 ns', '46.4159 ns')
    >>> format_seconds(0), format_seconds(120.0)
    ('0 s', '120 s')
    """
    if isinstance(seconds, Fraction):
        seconds = Decimal(seconds.numerator) / Decimal(seconds.denominator)
    value = Decimal(f"{seconds:.{_SIGNIFICANT}g}")
    if value == 0:
        return "0 s"
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit, size in _UNITS:
        if value >= size or unit == "zs":
            text = format((value / size).normalize(), "f")
            return f"{sign}{text} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _range_values(spec: Mapping[str, Any], ctx: Ctx) -> tuple[Any, ...]:
    for k in spec:
        if k not in _RANGE_KEYS:
            raise ctx.child(str(k)).error(f"unknown key{suggest(str(k), _RANGE_KEYS)}")
    kinds = [k for k in RANGE_KINDS if k in spec]
    if len(kinds) != 1:
        raise ctx.error(
            "a range table needs exactly one of logspace and linspace",
            '{ logspace = ["1 us", "1 as"], num = 13 }',
        )
    kind = kinds[0]
    num = spec.get("num")
    if num is None:
        raise ctx.child("num").error("missing required key", "the number of values, >= 1")
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ctx.child("num").error(f"invalid value {toml_literal(num)}", "an integer >= 1")
    if num > MAX_POINTS:
        # Refused before generating anything: a factor cannot have more values than a sweep has
        # points, and generating 10**7 formatted durations alone takes minutes.
        raise ctx.child("num").error(
            f"{num} values, more than a sweep may have points",
            f"num <= {MAX_POINTS}, the most points per sweep",
        )
    ends = spec[kind]
    ectx = ctx.child(kind)
    if isinstance(ends, str | Mapping) or not isinstance(ends, Sequence) or len(ends) != 2:
        raise ectx.error(f"invalid value {toml_literal(ends)}", "[start, stop]")
    if all(isinstance(e, str) for e in ends):
        return _duration_range(kind, ends, num, ectx)
    if all(_is_number(e) for e in ends):
        return _number_range(kind, ends, num, ectx)
    raise ectx.error(
        f"mixed endpoints {toml_literal(ends)}",
        'two durations ("1 us") or two numbers',
    )


def _duration_range(kind: str, ends: Sequence[str], num: int, ctx: Ctx) -> tuple[str, ...]:
    bounds = []
    for i, e in enumerate(ends):
        try:
            bounds.append(parse_duration(e))
        except ValueError as exc:
            raise ctx.child(str(i)).error(str(exc), 'a duration like "84 ns"') from None
    start, stop = bounds
    if num == 1:
        return (ends[0],)
    if kind == "logspace":
        if start <= 0 or stop <= 0:
            raise ctx.error("logspace endpoints must be positive", "two durations > 0")
        lo, hi = math.log10(float(start)), math.log10(float(stop))
        inner = [format_seconds(10 ** (lo + (hi - lo) * i / (num - 1))) for i in range(1, num - 1)]
    else:
        step = (stop - start) / (num - 1)  # exact: durations are Fractions
        inner = [format_seconds(start + step * i) for i in range(1, num - 1)]
    # The endpoints are kept exactly as written.
    values = (ends[0], *inner, ends[1])
    _no_duplicates(values, ctx, "duration")
    return values


def _number_range(kind: str, ends: Sequence[float], num: int, ctx: Ctx) -> tuple[Any, ...]:
    start, stop = ends
    integers = all(isinstance(e, int) for e in ends)
    if num == 1:
        return (start,)
    if kind == "logspace":
        if start <= 0 or stop <= 0:
            raise ctx.error("logspace endpoints must be positive", "two numbers > 0")
        lo, hi = math.log10(start), math.log10(stop)
        raw = [10 ** (lo + (hi - lo) * i / (num - 1)) for i in range(num)]
    else:
        raw = [start + (stop - start) * i / (num - 1) for i in range(num)]
    if integers:
        values: list[Any] = [round(v) for v in raw]
        values[0], values[-1] = start, stop
    else:
        values = [float(f"{v:.{_NUMBER_DIGITS}g}") for v in raw]
        values[0], values[-1] = float(start), float(stop)
    out = tuple(values)
    _no_duplicates(out, ctx, "integer" if integers else "number")
    return out


def _no_duplicates(values: Sequence[Any], ctx: Ctx, what: str) -> None:
    seen: set[str] = set()
    for v in values:
        text = toml_literal(v)
        if text in seen:
            raise ctx.error(
                f"gives the {what} {text} twice (too many values for the range)",
                "fewer values (num) or a wider range",
            )
        seen.add(text)


def expand_factor(key: str, raw: Any, ctx: Ctx) -> Factor:
    """Validate one ``[factors]`` entry and expand a range table into its values.

    Parameters
    ----------
    key : str
        The factor's key path.
    raw : Any
        Its TOML value: an array of values or a range table.
    ctx : Ctx
        Where it sits in the sweep file, for errors.

    Raises
    ------
    ScenarioError
        For an empty array, repeated values, or a malformed range.

    Examples
    --------
    >>> f = expand_factor("t", {"logspace": ["1 us", "1 as"], "num": 5}, Ctx("s.toml"))
    >>> f.values
    ('1 us', '1 ns', '1 ps', '1 fs', '1 as')
    """
    if isinstance(raw, Mapping):
        return Factor(key, _range_values(raw, ctx))
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise ctx.error(
            f"wrong value {toml_literal(raw)}",
            'an array of values, or { logspace = ["1 us", "1 as"], num = 13 }',
        )
    if not raw:
        raise ctx.error("no values", "at least one value")
    values = tuple(raw)
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        text = toml_literal(v)
        if text in seen:
            raise ctx.child(str(i)).error(
                f"repeats value {text} (item {seen[text]})", "distinct values"
            )
        seen[text] = i
    return Factor(key, values)


def _check_zip(factors: Sequence[Factor], ctx: Ctx) -> None:
    first = factors[0]
    for f in factors[1:]:
        if len(f.values) != len(first.values):
            raise (
                ctx.child("factors")
                .child(f'"{f.key}"')
                .error(
                    f"has {len(f.values)} values but {first.key!r} has {len(first.values)}",
                    'factors of equal length (mode = "zip" pairs values by position)',
                )
            )


def count_points(
    factors: Sequence[Factor], mode: str, ctx: Ctx, *, limit: int | None = MAX_POINTS
) -> int:
    """Number of points of a sweep, from the factors' lengths alone (nothing is generated).

    Parameters
    ----------
    factors : sequence of Factor
    mode : str
        ``"grid"`` (product of the lengths) or ``"zip"`` (the common length).
    ctx : Ctx
        The sweep file, for errors.
    limit : int or None
        Refuse more points than this (default :data:`MAX_POINTS`; None: no limit).

    Raises
    ------
    ScenarioError
        For zip factors of unequal length, or more points than ``limit``, naming the factors
        and the size.

    Examples
    --------
    >>> a, b = Factor("a", (1, 2, 3)), Factor("b", ("x", "y"))
    >>> count_points([a, b], "grid", Ctx("s")), count_points([a, a], "zip", Ctx("s"))
    (6, 3)
    """
    if not factors:
        return 1
    if mode == "zip":
        _check_zip(factors, ctx)
        n = len(factors[0].values)
    elif mode == "grid":
        n = math.prod(len(f.values) for f in factors)  # exact: Python ints
    else:  # pragma: no cover - the options schema admits only these
        raise ctx.child("options").child("mode").error(f"invalid mode {mode!r}")
    if limit is not None and n > limit:
        sizes = " × ".join(f'"{f.key}" ({len(f.values)})' for f in factors)
        how = "grid of" if mode == "grid" else "zip of"
        raise ctx.child("factors").error(
            f"{how} {sizes} gives {n} points, more than a sweep may have",
            f"at most {limit} points: fewer factors or values, or several sweeps",
        )
    return n


def iter_points(factors: Sequence[Factor], mode: str) -> Iterator[tuple[Any, ...]]:
    """The points' factor values, one tuple at a time, in point order.

    ``grid`` is the Cartesian product with the first factor varying slowest; ``zip`` pairs the
    i-th values of every factor. No factors give one point (the base scenario). Call
    :func:`count_points` first: this checks nothing.
    """
    if not factors:
        return iter([()])
    if mode == "grid":
        return itertools.product(*(f.values for f in factors))
    return zip(*(f.values for f in factors), strict=True)


def point_values(factors: Sequence[Factor], mode: str, index: int) -> tuple[Any, ...]:
    """The factor values of point ``index`` alone (grid: mixed-radix digits of the index).

    Examples
    --------
    >>> a, b = Factor("a", (1, 2)), Factor("b", ("x", "y", "z"))
    >>> point_values([a, b], "grid", 4), point_values([a, b], "zip", 1)
    ((2, 'y'), (2, 'y'))
    """
    if mode == "zip":
        return tuple(f.values[index] for f in factors)
    digits = []
    for f in reversed(factors):  # the last factor varies fastest
        index, d = divmod(index, len(f.values))
        digits.append(f.values[d])
    return tuple(reversed(digits))


def combine(factors: Sequence[Factor], mode: str, ctx: Ctx) -> list[tuple[Any, ...]]:
    """The points of a sweep as a list: one tuple of values (in factor order) per point.

    :func:`count_points` (which this calls first, refusing more than :data:`MAX_POINTS`) and
    :func:`iter_points` without the list.

    Examples
    --------
    >>> a, b = Factor("a", (1, 2)), Factor("b", ("x", "y"))
    >>> combine([a, b], "grid", Ctx("s"))
    [(1, 'x'), (1, 'y'), (2, 'x'), (2, 'y')]
    >>> combine([a, b], "zip", Ctx("s"))
    [(1, 'x'), (2, 'y')]
    """
    count_points(factors, mode, ctx)
    return list(iter_points(factors, mode))
