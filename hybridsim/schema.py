"""A small declarative schema for frozen config dataclasses.

Scenario sections are frozen dataclasses whose fields are declared with :func:`key`, which records
the key's kind, default, bounds and documentation. One generic walker (:func:`build`) then turns raw
TOML data into validated instances, naming the exact key path of any problem; :func:`unbuild` turns
an instance back into TOML-ready data that loads to an equal instance; and the reference docs are
generated from the same metadata, so the documentation cannot drift from the validator.

Only ``scenario.py`` (and the sweep loader) should need this module.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hybridsim.errors import ScenarioError, ScenarioWarning
from hybridsim.timebase import format_duration, parse_duration, to_ticks

__all__ = ["key", "Spec", "build", "unbuild", "parse_bandwidth", "Ctx"]

_MISSING = dataclasses.MISSING
#: Longest duration a scenario may give (about 31,700 years): anything longer is a typo, and it
#: keeps every tick count convertible to float seconds.
MAX_DURATION_S = 10**12
#: Domain of every bandwidth (bytes/s): from 1 bps to 1 EB/s. Outside it a transfer time is no
#: longer a finite float (1e-320 B/s) or the number is a slip; a key may narrow it.
BANDWIDTH_MIN = 0.125
BANDWIDTH_MAX = 1e18
#: Domain of every integer key without a tighter one: exact in a float and in numpy's int64.
INT_LIMIT = 2**53
#: Largest seed: seeds are stored as SQLite integers (signed 64-bit) by sweeps.
SEED_MAX = 2**63 - 1

KINDS = (
    "str",
    "int",
    "float",
    "bool",
    "duration",
    "bandwidth",
    "choice",
    "table",
    "tables",
    "union",
    "floats",
    "ints",
    "strs",
    "durations",
    "seed",
    "seeds",
)


@dataclass(frozen=True, slots=True)
class Spec:
    """Metadata of one scenario key (stored in the dataclass field's metadata)."""

    kind: str
    doc: str
    unit: str | None = None
    choices: tuple[str, ...] | None = None
    min: float | None = None  # inclusive
    gt: float | None = None  # exclusive lower bound
    max: float | None = None  # inclusive
    lt: float | None = None  # exclusive upper bound (an error rate in (0, 1))
    schema: Any = None  # dataclass for "table"/"tables"
    union: Mapping[str, Any] | None = None  # tag value -> dataclass, for "union"
    tag: str | None = None  # discriminating key for "union"
    optional: bool = False  # None allowed (and is the default)
    required: bool = False
    min_items: int = 0
    # A bare number of seconds above this is probably a unit slip ("gate_time_2q = 84"): valid,
    # but warned about (ScenarioWarning). None: no warning for this key.
    bare_max_s: float | None = None


def key(default: Any = _MISSING, *, kind: str, doc: str, **spec: Any) -> Any:
    """Declare a schema field; see :class:`Spec` for the keyword arguments.

    ``default`` is given in the *file* representation (e.g. ``"84 ns"``); it is converted with the
    same code that converts user input, so a default can never be invalid unnoticed.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    meta = {"spec": Spec(kind=kind, doc=doc, **spec), "file_default": default}
    required = spec.get("required", False) or default is _MISSING
    if required:
        meta["spec"] = dataclasses.replace(meta["spec"], required=True)
        return dataclasses.field(metadata=meta, kw_only=True)
    if kind in ("table", "union", "tables") and default is not None:
        # Mutable defaults are not allowed in dataclasses: build the default section on demand,
        # through the same validator that checks user input.
        meta_spec = meta["spec"]
        return dataclasses.field(
            default_factory=lambda: _convert(default, meta_spec, Ctx("<defaults>")),
            metadata=meta,
            kw_only=True,
        )
    # Code that constructs sections directly passes internal values (ticks, bytes/s, tuples), so
    # the dataclass default is the converted file default.
    internal = None if default is None else _convert(default, meta["spec"], Ctx("<defaults>"))
    return dataclasses.field(default=internal, metadata=meta, kw_only=True)


# ---------------------------------------------------------------------------------------------
# units


_BANDWIDTH_UNITS = {
    "B/s": 1.0,
    "KB/s": 1e3,
    "MB/s": 1e6,
    "GB/s": 1e9,
    "TB/s": 1e12,
    "bps": 1 / 8,
    "Kbps": 1e3 / 8,
    "Mbps": 1e6 / 8,
    "Gbps": 1e9 / 8,
    "Tbps": 1e12 / 8,
}


def parse_bandwidth(value: Any) -> float:
    """Parse a bandwidth (``"100 Gbps"``, ``"25 GB/s"`` or a number of bytes/s) into bytes/s.

    Examples
    --------
    >>> parse_bandwidth("100 Gbps")
    12500000000.0
    """
    if isinstance(value, bool):
        raise ValueError(f"a bandwidth cannot be a boolean, got {value!r}")
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer beyond the float range
            return math.inf
    if not isinstance(value, str):
        raise ValueError(f"a bandwidth must be a number of bytes/s or a string, got {value!r}")
    parts = value.strip().split()
    if len(parts) != 2 or parts[1] not in _BANDWIDTH_UNITS:
        raise ValueError(f"cannot read bandwidth {value!r} (units: {', '.join(_BANDWIDTH_UNITS)})")
    try:
        number = float(parts[0])
    except ValueError:
        raise ValueError(f"cannot read bandwidth {value!r}") from None
    return number * _BANDWIDTH_UNITS[parts[1]]


def format_ticks(ticks: int) -> str:
    """Deprecated (one release): ``hybridsim.timebase.format_duration(ticks, exact=True)``."""
    import warnings

    warnings.warn(
        "hybridsim.schema.format_ticks is deprecated; use "
        "hybridsim.timebase.format_duration(ticks, exact=True)",
        DeprecationWarning,
        stacklevel=2,
    )
    return format_duration(ticks, exact=True)


# ---------------------------------------------------------------------------------------------
# building


@dataclass(frozen=True, slots=True)
class Ctx:
    """Where a value came from, for error messages."""

    file: str
    path: tuple[str, ...] = ()

    def child(self, name: str) -> Ctx:
        return Ctx(self.file, (*self.path, name))

    def error(self, problem: str, expected: str | None = None) -> ScenarioError:
        return ScenarioError(self.file, ".".join(self.path), problem, expected)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, Sequence):
        return "an array"
    return type(value).__name__


def _bounds_text(spec: Spec) -> str:
    parts = []
    if spec.gt is not None:
        parts.append(f"> {spec.gt:g}")
    if spec.min is not None:
        parts.append(f">= {spec.min:g}")
    if spec.max is not None:
        parts.append(f"<= {spec.max:g}")
    if spec.lt is not None:
        parts.append(f"< {spec.lt:g}")
    return " and ".join(parts)


def _check_bounds(value: float, spec: Spec, ctx: Ctx, what: str) -> None:
    ok = True
    if spec.gt is not None and not value > spec.gt:
        ok = False
    if spec.min is not None and not value >= spec.min:
        ok = False
    if spec.max is not None and not value <= spec.max:
        ok = False
    if spec.lt is not None and not value < spec.lt:
        ok = False
    if not ok:
        raise ctx.error(f"out of range: {value!r}", f"{what} {_bounds_text(spec)}")


def _number(value: Any, spec: Spec, ctx: Ctx, *, integer: bool) -> int | float:
    if integer:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.error(f"wrong type: got {_type_name(value)} {value!r}", "an integer")
        _check_bounds(value, spec, ctx, "an integer")
        if not -INT_LIMIT <= value <= INT_LIMIT:
            raise ctx.error(f"out of range: {value!r}", "an integer of magnitude <= 2**53")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.error(f"wrong type: got {_type_name(value)} {value!r}", "a number")
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the float range
        raise ctx.error(f"out of range: {value!r}", f"a number {_bounds_text(spec)}") from None
    if not math.isfinite(value):
        raise ctx.error(f"not a finite number: {value!r}", "a finite number")
    _check_bounds(value, spec, ctx, "a number")
    return value


def _warn_bare_seconds(value: Any, spec: Spec, ctx: Ctx) -> None:
    """Warn when a bare number makes an absurd number of seconds for this key (a unit slip)."""
    if (
        spec.bare_max_s is None
        or isinstance(value, bool)
        or not isinstance(value, int | float)
        or not value > spec.bare_max_s
    ):
        return
    warnings.warn(
        ScenarioWarning(
            ctx.file,
            ".".join(ctx.path),
            f"a bare number is seconds: {value!r} s is implausibly long for this key (more than "
            f'{spec.bare_max_s:g} s); write the unit, e.g. "{value!r} ns" or "{value!r} s"',
        ),
        stacklevel=2,
    )


def _duration(value: Any, spec: Spec, ctx: Ctx) -> int:
    _warn_bare_seconds(value, spec, ctx)
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ctx.error(str(exc), 'a duration like "84 ns" or a number of seconds') from None
    lower_ok = True
    if spec.gt is not None and not seconds > Fraction(spec.gt):
        lower_ok = False
    if spec.min is not None and not seconds >= Fraction(spec.min):
        lower_ok = False
    if not lower_ok:
        words = "a positive duration" if spec.gt == 0 else f"a duration {_bounds_text(spec)} s"
        raise ctx.error(f"out of range: {value!r}", words)
    hi = Fraction(MAX_DURATION_S if spec.max is None else min(spec.max, MAX_DURATION_S))
    if seconds > hi:
        raise ctx.error(f"out of range: {value!r}", f"a duration of at most {float(hi):g} s")
    ticks = to_ticks(seconds)
    if spec.gt == 0 and ticks == 0:
        raise ctx.error(f"shorter than one tick (1 zs): {value!r}", "a duration of at least 1 zs")
    return ticks


def _convert(value: Any, spec: Spec, ctx: Ctx) -> Any:
    kind = spec.kind
    if value is None:
        if spec.optional:
            return None
        raise ctx.error("missing value")
    if kind == "str":
        if not isinstance(value, str):
            raise ctx.error(f"wrong type: got {_type_name(value)} {value!r}", "a string")
        if spec.min_items and len(value) < spec.min_items:
            raise ctx.error("empty string", "a non-empty string")
        return value
    if kind == "seed":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ctx.error(f"wrong type: got {_type_name(value)} {value!r}", "an integer")
        if not 0 <= value <= SEED_MAX:
            raise ctx.error(f"out of range: {value!r}", "a non-negative integer up to 2**63 - 1")
        return value
    if kind == "int":
        return _number(value, spec, ctx, integer=True)
    if kind == "float":
        return _number(value, spec, ctx, integer=False)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ctx.error(f"wrong type: got {_type_name(value)} {value!r}", "true or false")
        return value
    if kind == "duration":
        return _duration(value, spec, ctx)
    if kind == "bandwidth":
        try:
            bw = parse_bandwidth(value)
        except ValueError as exc:
            raise ctx.error(str(exc), 'a bandwidth like "100 Gbps"') from None
        lo = BANDWIDTH_MIN if spec.min is None else spec.min
        hi = BANDWIDTH_MAX if spec.max is None else spec.max
        if not (math.isfinite(bw) and lo <= bw <= hi):
            raise ctx.error(
                f"out of range: {value!r}", f"a bandwidth from {lo:g} B/s (1 bps) to {hi:g} B/s"
            )
        return bw
    if kind == "choice":
        assert spec.choices is not None
        if not isinstance(value, str) or value not in spec.choices:
            hint = suggest(value, spec.choices) if isinstance(value, str) else ""
            raise ctx.error(
                f"invalid value {value!r}{hint}", "one of " + ", ".join(map(repr, spec.choices))
            )
        return value
    if kind in ("floats", "ints", "strs", "durations", "seeds"):
        if isinstance(value, str | Mapping) or not isinstance(value, Sequence):
            raise ctx.error(f"wrong type: got {_type_name(value)} {value!r}", "an array")
        if len(value) < spec.min_items:
            raise ctx.error(f"needs at least {spec.min_items} item(s)", "a longer array")
        item_kind = {
            "floats": "float",
            "ints": "int",
            "strs": "str",
            "durations": "duration",
            "seeds": "seed",
        }[kind]
        item_spec = dataclasses.replace(spec, kind=item_kind, optional=False)
        return tuple(_convert(v, item_spec, ctx.child(str(i))) for i, v in enumerate(value))
    if kind == "table":
        return build(spec.schema, value, ctx)
    if kind == "union":
        return _build_union(value, spec, ctx)
    if kind == "tables":
        return _build_tables(value, spec, ctx)
    raise AssertionError(kind)  # pragma: no cover


def suggest(word: str, options: Sequence[str]) -> str:
    """'; did you mean X?' for the closest option, or ''."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _build_union(value: Any, spec: Spec, ctx: Ctx) -> Any:
    assert spec.union is not None and spec.tag is not None
    if not isinstance(value, Mapping):
        raise ctx.error(f"wrong type: got {_type_name(value)} {value!r}", "a table")
    tag_value = value.get(spec.tag)
    if tag_value is None:
        raise ctx.child(spec.tag).error("missing", "one of " + ", ".join(map(repr, spec.union)))
    if not isinstance(tag_value, str) or tag_value not in spec.union:
        hint = suggest(tag_value, list(spec.union)) if isinstance(tag_value, str) else ""
        raise ctx.child(spec.tag).error(
            f"invalid value {tag_value!r}{hint}", "one of " + ", ".join(map(repr, spec.union))
        )
    return build(spec.union[tag_value], value, ctx)


def _build_tables(value: Any, spec: Spec, ctx: Ctx) -> tuple[Any, ...]:
    if isinstance(value, Mapping | str) or not isinstance(value, Sequence):
        raise ctx.error(f"wrong type: got {_type_name(value)}", "an array of tables")
    out = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        item_ctx = ctx.child(str(item.get("name", i)) if isinstance(item, Mapping) else str(i))
        built = build(spec.schema, item, item_ctx)
        name = getattr(built, "name", None)
        if name is not None:
            if name in seen:
                raise item_ctx.child("name").error(f"duplicate name {name!r}", "unique names")
            seen.add(name)
        out.append(built)
    if len(out) < spec.min_items:
        raise ctx.error(f"needs at least {spec.min_items} entr(ies)")
    return tuple(out)


_SECTION_KINDS = ("table", "tables", "union")


def _is_section_value(value: Any) -> bool:
    if isinstance(value, Mapping):
        return True
    return isinstance(value, list | tuple) and bool(value) and isinstance(value[0], Mapping)


def _unknown_key(name: str, value: Any, known, ctx: Ctx) -> ScenarioError:
    """The error for an unknown key, suggesting only keys of the same level: a table given under
    an unknown name is compared with the section names, a value with the plain keys."""
    section = _is_section_value(value)
    same_level = [n for n, spec, _ in known if (spec.kind in _SECTION_KINDS) == section]
    hint = suggest(name, same_level)
    if section:
        expected = "a section: " + ", ".join(same_level) if same_level and not hint else None
        return ctx.child(name).error(f"unknown key{hint}", expected)
    return ctx.child(name).error(f"unknown key{hint}")


def fields_of(cls: Any) -> list[tuple[str, Spec, Any]]:
    """(name, spec, file default) for every schema field of ``cls``."""
    return [
        (f.name, f.metadata["spec"], f.metadata["file_default"])
        for f in dataclasses.fields(cls)
        if "spec" in f.metadata
    ]


def build(cls: Any, raw: Any, ctx: Ctx) -> Any:
    """Validate ``raw`` (TOML data) against dataclass ``cls`` and build it.

    Raises
    ------
    ScenarioError
        Naming the file and key path, for unknown keys (with a suggestion), missing required keys,
        wrong types and out-of-range values.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ctx.error(f"wrong type: got {_type_name(raw)} {raw!r}", "a table")
    expand = getattr(cls, "_expand", None)
    if expand is not None:
        raw = expand(raw, ctx)  # e.g. a hardware preset filling in defaults
    known = fields_of(cls)
    names = [n for n, _, _ in known]
    for k in raw:
        if k not in names:
            raise _unknown_key(str(k), raw[k], known, ctx)
    values: dict[str, Any] = {}
    for name, spec, file_default in known:
        sub = ctx.child(name)
        if name in raw:
            values[name] = _convert(raw[name], spec, sub)
        elif spec.required:
            raise sub.error("missing required key", spec.doc.split(".")[0].lower())
        else:
            values[name] = None if file_default is None else _convert(file_default, spec, sub)
    obj = cls(**values)
    check = getattr(obj, "_validate", None)
    if check is not None:
        check(ctx)
    return obj


def unbuild(obj: Any) -> dict[str, Any]:
    """Turn a built dataclass back into TOML data that :func:`build` maps to an equal object."""
    out: dict[str, Any] = {}
    for name, spec, _ in fields_of(type(obj)):
        value = getattr(obj, name)
        if value is None:
            continue  # TOML has no null; absence means the (None) default
        out[name] = _unconvert(value, spec)
    return out


def _unconvert(value: Any, spec: Spec) -> Any:
    kind = spec.kind
    if kind == "duration":
        return format_duration(value, exact=True)
    if kind == "durations":
        return [format_duration(v, exact=True) for v in value]
    if kind in ("floats", "ints", "strs", "seeds"):
        return list(value)
    if kind in ("table", "union"):
        return unbuild(value)
    if kind == "tables":
        return [unbuild(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# reference documentation


def _default_text(spec: Spec, file_default: Any) -> str:
    if spec.required:
        return "required"
    if file_default is None:
        return "unset"
    if spec.kind in ("table", "union"):
        return "see below"
    if spec.kind == "tables":
        return "none" if not file_default else "see below"
    if isinstance(file_default, bool):
        return "true" if file_default else "false"
    if isinstance(file_default, str):
        return f'"{file_default}"'
    if isinstance(file_default, list | tuple):
        return "[" + ", ".join(map(str, file_default)) + "]"
    return f"{file_default!r}"


def _type_text(spec: Spec) -> str:
    base = {
        "str": "string",
        "int": "integer",
        "seed": "integer",
        "float": "number",
        "bool": "boolean",
        "duration": "duration",
        "bandwidth": "bandwidth",
        "choice": "string",
        "floats": "array of numbers",
        "ints": "array of integers",
        "seeds": "array of integers",
        "strs": "array of strings",
        "durations": "array of durations",
        "table": "table",
        "tables": "array of tables",
        "union": "table",
    }[spec.kind]
    extra = []
    if spec.choices:
        extra.append("one of " + ", ".join(f"`{c}`" for c in spec.choices))
    bounds = _bounds_text(spec)
    if spec.kind == "bandwidth":
        lo = BANDWIDTH_MIN if spec.min is None else spec.min
        hi = BANDWIDTH_MAX if spec.max is None else spec.max
        bounds = f"{lo:g} B/s to {hi:g} B/s"
    elif spec.kind in ("seed", "seeds"):
        bounds = "0 to 2**63 - 1"
    elif spec.kind in ("duration", "durations"):
        hi = MAX_DURATION_S if spec.max is None else min(spec.max, MAX_DURATION_S)
        lower = _bounds_text(dataclasses.replace(spec, max=None))
        bounds = " and ".join(p for p in (lower, f"<= {hi:g} s") if p)
    if bounds and spec.kind not in ("table", "tables", "union"):
        extra.append(bounds)
    if spec.unit:
        extra.append(spec.unit)
    if spec.bare_max_s is not None:
        extra.append(f"a bare number above {spec.bare_max_s:g} s is warned about as a unit slip")
    return base + (f" ({'; '.join(extra)})" if extra else "")


def reference_markdown(cls: Any, prefix: str = "") -> str:
    """Markdown reference of every key of schema ``cls`` and its sub-tables, recursively.

    A table type used in several places (e.g. the distributions of arrival and service) is
    documented once; later places point to the first.
    """
    sections: list[str] = []
    _reference(cls, prefix, sections, {})
    return "\n".join(sections)


def _reference(cls: Any, prefix: str, out: list[str], seen: dict[Any, str]) -> None:
    title = prefix or "(top level)"
    if cls in seen:
        out.append(f"### `{title}`\n")
        out.append(f"Same keys as `{seen[cls]}`.\n")
        return
    seen[cls] = title
    out.append(f"### `{title}`\n")
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    out.append(" ".join(doc.split()) + "\n")
    out.append("| key | type | default | meaning |")
    out.append("|---|---|---|---|")
    nested: list[tuple[Any, str]] = []
    for name, spec, file_default in fields_of(cls):
        path = f"{prefix}.{name}" if prefix else name
        out.append(
            f"| `{name}` | {_type_text(spec)} | {_default_text(spec, file_default)} | "
            f"{' '.join(spec.doc.split())} |"
        )
        if spec.kind == "table":
            nested.append((spec.schema, path))
        elif spec.kind == "tables":
            nested.append((spec.schema, f"{path}[]"))
        elif spec.kind == "union":
            assert spec.union is not None
            for tag, member in spec.union.items():
                nested.append((member, f'{path} ({spec.tag} = "{tag}")'))
    out.append("")
    for schema, path in nested:
        _reference(schema, path, out, seen)
