"""The exact simulation clock: integer ticks of one zeptosecond.

Why integers: in floating point ``3600.0 + 1e-18 == 3600.0``, so a simulator with attosecond gates
and hour-long runs would silently drop events' order and durations. hybridsim keeps every instant as
a Python ``int`` count of ticks (arbitrary precision, exact addition). One tick is 1 zs = 1e-21 s,
which represents any duration written with up to three decimals in attoseconds exactly
("1.3 as" is 1300 ticks) and leaves headroom below the fastest gate anyone has proposed.

Durations become ticks here and only here (:func:`to_ticks`, :func:`parse_duration`), and text
here too (:func:`format_duration`, the one duration formatter); model code works in seconds
(floats) and the simulation converts at its boundary. Conversion rounds to the
nearest tick, ties to even, which is documented in ``docs/background/simulation.md``.

This module imports nothing of ours.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

__all__ = [
    "TICK_S",
    "TICK_SECONDS",
    "TICKS_PER_SECOND",
    "UNITS",
    "parse_duration",
    "to_ticks",
    "to_seconds",
    "DURATION_UNITS",
    "SI_UNITS",
    "duration_unit",
    "format_duration",
]

#: Ticks per second (10**21: one tick is a zeptosecond).
TICKS_PER_SECOND: int = 10**21
#: Exact size of one tick in seconds.
TICK_SECONDS: Fraction = Fraction(1, TICKS_PER_SECOND)
_TICKS_PER_SECOND_F: float = 1e21
#: Size of one tick in seconds as a float, as reported in ``summary.json`` (``tick_s``).
TICK_S: float = 1e-21

#: Duration units accepted in scenario strings, as exact fractions of a second.
UNITS: dict[str, Fraction] = {
    "zs": Fraction(1, 10**21),
    "as": Fraction(1, 10**18),
    "fs": Fraction(1, 10**15),
    "ps": Fraction(1, 10**12),
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6),
    "ms": Fraction(1, 10**3),
    "s": Fraction(1),
    "min": Fraction(60),
    "h": Fraction(3600),
    "d": Fraction(86400),
}

_DURATION_RE = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([^\s\d]+)?\s*")
#: Most significant digits a duration string may have. A tick is 1e-21 s and no duration exceeds
#: 1e12 s, so 33 digits already write any duration exactly; longer numbers are not durations.
MAX_DURATION_DIGITS = 100
#: Largest decimal exponent (of the leading digit) a duration string may have, either sign. Far
#: beyond any representable duration, and small enough that the exact fraction costs microseconds:
#: without it "1e10000000 s" builds a ten-million-digit integer before being refused (issue 16.4).
MAX_DURATION_EXPONENT = 100


def _round_half_even(value: Fraction) -> int:
    # Python's round() on a Fraction rounds half to even and returns an exact int.
    return round(value)


def parse_duration(value: str | int | float) -> Fraction:
    """Parse a duration into exact seconds.

    Parameters
    ----------
    value : str, int or float
        A number of seconds, or a string ``"<number> <unit>"`` with a unit from :data:`UNITS`
        (``"84 ns"``, ``"1.56 us"``, ``"1 as"``, ``"2 h"``). Decimal strings are read exactly,
        so ``"1.3 as"`` is exactly 13/10 attoseconds.

    Returns
    -------
    fractions.Fraction
        The duration in seconds, exact.

    Raises
    ------
    ValueError
        For an unknown unit, a malformed number, NaN or infinity, more than
        :data:`MAX_DURATION_DIGITS` digits, or a nonzero number whose decimal exponent exceeds
        :data:`MAX_DURATION_EXPONENT` in magnitude (checked before any exact arithmetic, so a
        huge exponent is refused at once). The message says what is accepted; the scenario
        loader adds the file and key.

    Examples
    --------
    >>> parse_duration("1.3 as") == Fraction(13, 10**19)
    True
    >>> parse_duration(2)
    Fraction(2, 1)
    """
    if isinstance(value, bool):
        raise ValueError(f"a duration cannot be a boolean, got {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a duration must be finite, got {value!r}")
        # Go through the shortest repr so 1e-18 means the decimal the user wrote, not the binary
        # neighbour 1.0000000000000000715e-18.
        return Fraction(Decimal(repr(value)))
    if not isinstance(value, str):
        raise ValueError(f"a duration must be a number of seconds or a string, got {value!r}")
    if len(value) > 2 * MAX_DURATION_DIGITS:  # before the regex: no time spent on a giant string
        raise ValueError(f"duration string too long: {_clip(value)!r}")
    m = _DURATION_RE.fullmatch(value)
    if not m:
        raise ValueError(f"cannot read duration {_clip(value)!r}")
    number, unit = m.group(1), m.group(2) or "s"
    if unit not in UNITS:
        raise ValueError(f"unknown time unit {_clip(unit)!r} in {_clip(value)!r}")
    try:
        exact = Decimal(number)
    except (InvalidOperation, ValueError) as exc:  # pragma: no cover - regex guards this
        raise ValueError(f"cannot read duration {_clip(value)!r}") from exc
    # Bound the size before building the exact fraction: Decimal parsing is linear, but the
    # fraction of 1e10000000 is a ten-million-digit integer.
    if len(exact.as_tuple().digits) > MAX_DURATION_DIGITS:
        raise ValueError(
            f"too many digits in duration {_clip(value)!r} (at most {MAX_DURATION_DIGITS})"
        )
    if exact and abs(exact.adjusted()) > MAX_DURATION_EXPONENT:
        raise ValueError(
            f"exponent out of range in duration {_clip(value)!r} "
            f"(numbers from 1e-{MAX_DURATION_EXPONENT} to 1e{MAX_DURATION_EXPONENT}, or 0)"
        )
    return Fraction(exact) * UNITS[unit]


def _clip(text: str, limit: int = 60) -> str:
    """``text`` shortened for an error message (a giant value must not make a giant line)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_ticks(seconds: Fraction | int | float | str) -> int:
    """Convert a duration to integer ticks, rounding to the nearest tick (ties to even).

    Parameters
    ----------
    seconds : Fraction, int, float or str
        Seconds, or a duration string. Fractions, ints and strings convert exactly; floats are
        computed quantities and convert with one rounded multiply (error below 1 ulp of the float).

    Returns
    -------
    int
        Number of ticks.

    Examples
    --------
    >>> to_ticks("1 as")
    1000
    >>> to_ticks(1e-18)
    1000
    """
    # Floats first: the engine converts one or two per job, and ``isinstance(x, Fraction)`` is
    # an ABC check (~0.3 µs for a float). The two kinds are disjoint, so the order is free.
    if isinstance(seconds, float):
        if not math.isfinite(seconds):
            raise ValueError(f"a duration must be finite, got {seconds!r}")
        # Computed durations (cost models, sampled service times) are floats whose binary value
        # *is* the quantity; one correctly rounded multiply is accurate to 1 ulp and ~20x faster
        # than an exact Fraction. Durations typed by users go through parse_duration instead.
        return round(seconds * _TICKS_PER_SECOND_F)
    if isinstance(seconds, Fraction):
        return _round_half_even(seconds * TICKS_PER_SECOND)
    return _round_half_even(parse_duration(seconds) * TICKS_PER_SECOND)


def to_seconds(ticks: int) -> float:
    """Convert ticks to float seconds for display and analysis (not for arithmetic on instants)."""
    return ticks / TICKS_PER_SECOND


#: The units durations are written in, largest first (each one a key of :data:`UNITS`).
DURATION_UNITS: tuple[str, ...] = ("d", "h", "min", "s", "ms", "us", "ns", "ps", "fs", "as", "zs")
#: The SI units from the second down to the tick: a scale for plot axes, and the units in which
#: :func:`format_duration` writes an exact decimal.
SI_UNITS: tuple[str, ...] = ("s", "ms", "us", "ns", "ps", "fs", "as", "zs")
# Unit sizes in ticks as exact ints (every unit is a whole number of ticks), so formatting takes
# no Fraction arithmetic: the trace formats one duration per event.
_UNIT_TICKS: dict[str, int] = {u: int(UNITS[u] * TICKS_PER_SECOND) for u in DURATION_UNITS}
_DECIMALS: dict[str, int] = {u: len(str(_UNIT_TICKS[u])) - 1 for u in SI_UNITS}
_LADDER: tuple[tuple[str, int], ...] = tuple((u, _UNIT_TICKS[u]) for u in DURATION_UNITS)


def duration_unit(ticks: int, units: tuple[str, ...] = DURATION_UNITS) -> tuple[str, int]:
    """The largest of ``units`` of which a span of ``ticks`` holds at least one, and its size.

    The one rule for choosing a unit: :func:`format_duration` writes in it, report axes scale by
    it (with ``units=SI_UNITS``). A span shorter than every unit gets the smallest.

    Parameters
    ----------
    ticks : int
        The span (its magnitude is used).
    units : tuple of str
        Candidate units, largest first, each one of :data:`DURATION_UNITS`.

    Returns
    -------
    (str, int)
        The unit and its size in ticks.

    Examples
    --------
    >>> duration_unit(2 * 10**18, SI_UNITS)
    ('ms', 1000000000000000000)
    >>> duration_unit(5000)
    ('as', 1000)
    >>> duration_unit(90 * 10**21)
    ('min', 60000000000000000000000)
    """
    magnitude = -ticks if ticks < 0 else ticks
    for unit in units:
        size = _UNIT_TICKS[unit]
        if magnitude >= size:
            return unit, size
    return units[-1], _UNIT_TICKS[units[-1]]


def format_duration(
    ticks: int, *, digits: int = 4, unit: str | None = None, exact: bool = False
) -> str:
    """A duration in ticks as text: ``"<number> <unit>"``, which :func:`parse_duration` reads.

    The one duration formatter: run summaries on the command line, report titles and captions,
    trace slices and the ``scenario.toml`` every run writes all use it. The unit, unless given,
    is the largest of :data:`DURATION_UNITS` in which the number is at least 1
    (:func:`duration_unit`); zero is ``"0 s"``.

    Parameters
    ----------
    ticks : int
        The duration.
    digits : int
        Significant digits of a rounded number (``exact=False``).
    unit : str, optional
        Write in this unit (one of :data:`DURATION_UNITS`; with ``exact``, one of
        :data:`SI_UNITS`) instead of choosing one.
    exact : bool
        Write the duration exactly, so that it parses back to the same ticks: as a whole number
        of the largest unit that divides it (``"1560 ns"``), or, with ``unit``, as the exact
        decimal in that unit (``"0.000200000000004253 s"``).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For an unknown ``unit``, or a non-SI one with ``exact``.

    Examples
    --------
    >>> format_duration(1300)
    '1.3 as'
    >>> format_duration(84 * 10**12)
    '84 ns'
    >>> format_duration(1560 * 10**12), format_duration(1560 * 10**12, exact=True)
    ('1.56 us', '1560 ns')
    >>> format_duration(200000000004253000, unit="s", exact=True)
    '0.000200000000004253 s'
    >>> format_duration(5400 * 10**21, digits=2)
    '1.5 h'
    """
    if ticks < 0:
        return "-" + format_duration(-ticks, digits=digits, unit=unit, exact=exact)
    if exact:
        return _exact_text(ticks, unit)
    if unit is not None:
        return f"{ticks / _unit_size(unit, DURATION_UNITS):.{digits}g} {unit}"
    if ticks == 0:
        return "0 s"
    # duration_unit's rule, inlined (the trace formats one duration per event). int / int true
    # division is correctly rounded, as float(Fraction(ticks, size)) is.
    for name, size in _LADDER:
        if ticks >= size:
            return f"{ticks / size:.{digits}g} {name}"
    raise AssertionError("unreachable: the tick is the smallest unit")  # pragma: no cover


def _unit_size(unit: str, allowed: tuple[str, ...]) -> int:
    if unit not in allowed:
        raise ValueError(f"unit must be one of {', '.join(allowed)}, got {unit!r}")
    return _UNIT_TICKS[unit]


def _exact_text(magnitude: int, unit: str | None) -> str:
    if unit is None:
        if magnitude == 0:
            return "0 s"
        # The tick (zs, size 1) divides everything: the generator always finds a unit.
        unit, size = next((u, n) for u, n in _LADDER if magnitude % n == 0)
        return f"{magnitude // size} {unit}"
    size = _unit_size(unit, SI_UNITS)
    whole, rest = divmod(magnitude, size)
    # Integer digits, not Decimal: a Decimal context would round instants past 28 digits.
    fraction = str(rest).rjust(_DECIMALS[unit], "0").rstrip("0") if rest else ""
    return f"{whole}.{fraction} {unit}" if fraction else f"{whole} {unit}"
