"""Writing scenario data as TOML (``tomllib`` only reads).

Every key and value is encoded by ``tomli-w``, the writer that pairs with ``tomllib`` (quoting,
escapes, non-ASCII keys such as ``κ``, floats, infinities); this module only lays the document out
the way a person writes a scenario file: tables as ``[section]`` headers, ``[[arrays of
tables]]``, arrays of scalars on one line and small flat tables (distributions) inline. That
layout is what every run's ``scenario.toml`` has always looked like, so its bytes do not change.
Output is deterministic (insertion order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import tomli_w

__all__ = ["dumps"]

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
        if isinstance(v, Mapping) and not _is_inline(v):
            subtables.append((k, v))
        elif _is_table_array(v):
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
