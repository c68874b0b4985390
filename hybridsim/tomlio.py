"""A minimal TOML writer for scenario data (``tomllib`` only reads).

Handles exactly what :meth:`Scenario.to_dict` produces: tables, arrays of tables, arrays of
scalars, strings, integers, floats and booleans. Output is deterministic (insertion order).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["dumps"]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # JSON string escapes are valid TOML basic-string escapes.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _key(k: str) -> str:
    if k and all(c.isalnum() or c in "_-" for c in k):
        return k
    return json.dumps(k)


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value)
    )


def dumps(data: Mapping[str, Any]) -> str:
    """Serialize ``data`` to TOML text that ``tomllib.loads`` reads back equal.

    Examples
    --------
    >>> import tomllib
    >>> d = {"a": 1, "t": {"x": "84 ns"}, "arr": [{"name": "q"}]}
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
