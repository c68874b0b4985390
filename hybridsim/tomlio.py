"""TOML for scenario data: a guarded reader over ``tomllib`` and a writer on ``tomli-w``.

Reading (:func:`loads`): ``tomllib`` recurses once per level of inline nesting and Python refuses
to convert integers of more than 4300 digits, so a 2000-deep inline array or a 5000-digit integer
would end in a ``RecursionError`` or a bare ``ValueError``. :func:`loads` scans the nesting depth
before parsing, and raises :class:`TomlLimitError` (a ``ValueError`` with a one-line message) for
either limit; syntax errors stay ``tomllib.TOMLDecodeError``.

Writing (:func:`dumps`): every key and value is encoded by ``tomli-w``, the writer that pairs with
``tomllib`` (quoting, escapes, non-ASCII keys such as ``κ``, floats, infinities); this module only
lays the document out the way a person writes a scenario file: tables as ``[section]`` headers,
``[[arrays of tables]]``, arrays of scalars on one line and small flat tables (distributions)
inline. That layout is what every run's ``scenario.toml`` has always looked like, so its bytes do
not change. Output is deterministic (insertion order).
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Mapping
from typing import Any

import tomli_w

__all__ = ["dumps", "loads", "check_depth", "TomlLimitError", "MAX_NESTING"]

#: Deepest nesting of tables and arrays a scenario or sweep file may have (headers, dotted keys
#: and inline values alike). Real files use at most 4 levels; tomllib itself fails near 400.
MAX_NESTING = 32


class TomlLimitError(ValueError):
    """TOML text that is valid but beyond what hybridsim reads (nesting depth, integer digits)."""


# Strings and comments, whose brackets do not nest (multi-line forms first). An unterminated
# string simply stops matching: the scan may then over-count, and tomllib reports the syntax.
_NOT_CODE = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*',
    re.DOTALL,
)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


_UNIFORM = str.maketrans("{}", "[]")


def _nests_deeper(text: str, limit: int) -> bool:
    """Whether ``[``/``{`` nest deeper than ``limit`` outside strings and comments.

    Runs at regex/``str.replace`` speed: each pass deletes the innermost ``[]`` pairs, i.e. one
    level of a balanced text, so ``limit`` passes empty any text nested at most that deep.
    """
    brackets = _NOT_BRACKET.sub("", _NOT_CODE.sub("", text)).translate(_UNIFORM)
    rest = brackets
    for _ in range(limit):
        if not rest:
            return False
        rest = rest.replace("[]", "")
    if not rest:
        return False
    # Something is left: deeper than the limit, or unbalanced (a syntax error tomllib reports).
    depth = 0
    for c in brackets:
        depth = depth + 1 if c == "[" else max(depth - 1, 0)
        if depth > limit:
            return True
    return False


_CONTAINERS = (dict, list, tuple)  # concrete types: an ABC isinstance per scalar costs seconds


def check_depth(data: Any, limit: int = MAX_NESTING) -> None:
    """Raise :class:`TomlLimitError` if nested tables/arrays in ``data`` go deeper than ``limit``.

    Iterative, so it cannot itself overflow the stack on the data it rejects.
    """
    if not isinstance(data, Mapping | list | tuple):
        return
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth >= limit:
            raise TomlLimitError(f"nested deeper than {limit} levels of tables and arrays")
        children = value.values() if isinstance(value, Mapping) else value
        # only containers are pushed: a flat array of two million numbers costs one pass
        stack.extend((v, depth + 1) for v in children if isinstance(v, _CONTAINERS))


def loads(text: str) -> dict[str, Any]:
    """Parse TOML ``text`` like ``tomllib.loads``, with one-line errors for parser limits.

    Raises
    ------
    tomllib.TOMLDecodeError
        Invalid TOML.
    TomlLimitError
        Nesting deeper than :data:`MAX_NESTING`, or an integer with more digits than Python
        converts (``sys.get_int_max_str_digits()``, 4300 by default).

    Examples
    --------
    >>> loads("a = [[1]]")
    {'a': [[1]]}
    >>> try:
    ...     loads("a = " + "[" * 100 + "]" * 100)
    ... except TomlLimitError as exc:
    ...     print(exc)
    nested deeper than 32 levels of tables and arrays
    """
    if _nests_deeper(text, MAX_NESTING):
        raise TomlLimitError(f"nested deeper than {MAX_NESTING} levels of tables and arrays")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except RecursionError:  # pragma: no cover - the scan above refuses such text first
        raise TomlLimitError(
            f"nested deeper than {MAX_NESTING} levels of tables and arrays"
        ) from None
    except ValueError as exc:
        if "digits" not in str(exc):  # pragma: no cover - tomllib raises no other ValueError
            raise
        raise TomlLimitError(
            f"an integer has more than {sys.get_int_max_str_digits()} digits"
        ) from None
    check_depth(data)
    return data


#: What tomli-w writes around a single value, ``v = <value>\n``; we keep the ``<value>``.
_PREFIX, _SUFFIX = "v = ", "\n"


def _scalar(value: Any) -> str:
    """One value in TOML; arrays on one line and tables inline (tomli-w spreads them over lines)."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items()) + " }"
    text = tomli_w.dumps({"v": value})
    return text[len(_PREFIX) : -len(_SUFFIX)]


def _key(k: str) -> str:
    """A key, bare when TOML allows it, else quoted (``"κ"``, ``"a.b"``), as tomli-w writes it."""
    text = tomli_w.dumps({k: 0})
    return text[: -len(" = 0\n")]


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def dumps(data: Mapping[str, Any]) -> str:
    """Serialize ``data`` to TOML text that ``tomllib.loads`` reads back equal.

    Raises
    ------
    TypeError
        A value TOML cannot hold (None, an object), from tomli-w.

    Examples
    --------
    >>> import tomllib
    >>> d = {"a": 1, "t": {"x": "84 ns"}, "arr": [{"name": "q"}], "κ": {"start": 1e3}}
    >>> print(dumps(d), end="")
    a = 1
    t = { x = "84 ns" }
    "κ" = { start = 1000.0 }
    <BLANKLINE>
    [[arr]]
    name = "q"
    >>> tomllib.loads(dumps(d)) == d
    True
    """
    lines: list[str] = []
    _emit(data, (), lines)
    return "\n".join(lines).strip() + "\n"


def _emit(table: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    subtables = []
    for k, v in table.items():
        if (isinstance(v, Mapping) and not _is_inline(v)) or _is_table_array(v):
            subtables.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_scalar(v)}")
    for k, v in subtables:
        sub = (*path, _key(k))
        if isinstance(v, Mapping):
            lines.append("")
            lines.append(f"[{'.'.join(sub)}]")
            _emit(v, sub, lines)
        else:
            for item in v:
                lines.append("")
                lines.append(f"[[{'.'.join(sub)}]]")
                _emit(item, sub, lines)


def _is_inline(v: Mapping[str, Any]) -> bool:
    # Small flat tables (distributions) read best inline: { dist = "exponential", ... }.
    return (
        bool(v)
        and len(v) <= 4
        and all(not isinstance(x, Mapping) and not _is_table_array(x) for x in v.values())
    )
