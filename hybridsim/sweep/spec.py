"""Sweep files: loading, validation of every point, and the definition's fingerprint.

A sweep file is TOML::

    base = "quickstart.toml"          # relative to this file
    seeds = [1, 2, 3]
    [factors]
    "cluster.qpu.q.gate_time_2q" = { logspace = ["1 us", "1 as"], num = 13 }
    "scheduler.policy" = ["classical_only", "qnewton"]
    [set]                             # overrides applied to every point
    "workload.jobs" = 500
    [options]
    mode = "grid"                     # or "zip"

:func:`load_sweep` validates the file with the same declarative schema as scenarios (unknown keys
with a suggestion, wrong types), expands the factors into points, and builds the scenario of
*every* point before anything runs, so a bad key or value is reported up front, naming the point
and the key: ``sweep.toml: point 3 (cluster.qpu.q.gate_time_2q="5 nss"):
cluster.qpu.q.gate_time_2q: ...``. Points are numbered from 0, as in the results table.

The returned :class:`SweepSpec` holds each point's resolved scenario as plain TOML data: that is
what workers receive, never a file path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridsim.errors import ScenarioError
from hybridsim.schema import Ctx, build, fields_of, key
from hybridsim.sweep.factors import MODES, Factor, combine, expand_factor, toml_literal
from hybridsim.timebase import TICKS_PER_SECOND

__all__ = ["SweepSpec", "Point", "FactorInfo", "SweepOptions", "SweepHeader", "load_sweep"]

#: Bumped when the fingerprint's inputs change meaning, so old stores are not silently reused.
DEFINITION_VERSION = 1


@dataclass(frozen=True, slots=True)
class SweepOptions:
    """How the factors combine into points."""

    mode: str = key(
        "grid",
        kind="choice",
        choices=MODES,
        doc="grid: every combination of the factor values (first factor varies slowest); "
        "zip: the i-th values of all factors together (factors of equal length).",
    )


@dataclass(frozen=True, slots=True)
class SweepHeader:
    """A sweep file's keys other than ``[factors]`` and ``[set]`` (keyed by scenario key paths)."""

    name: str = key("", kind="str", doc="Short name shown in reports (default: the file name).")
    description: str = key("", kind="str", doc="What the sweep is for.")
    base: str = key(
        kind="str",
        doc="Scenario file every point starts from, relative to the sweep file.",
    )
    seeds: tuple[int, ...] | None = key(
        None,
        kind="ints",
        min=0,
        min_items=1,
        optional=True,
        doc="Root seeds; every point runs once per seed (unset: the base scenario's seed).",
    )
    options: SweepOptions = key({}, kind="table", schema=SweepOptions, doc="[options]")

    def _validate(self, ctx: Ctx) -> None:
        if self.seeds is not None and len(set(self.seeds)) != len(self.seeds):
            raise ctx.child("seeds").error("repeats a seed", "distinct seeds")


@dataclass(frozen=True, slots=True)
class FactorInfo:
    """A factor with what its key is in the scenario schema.

    Parameters
    ----------
    key : str
        Scenario key path.
    values : tuple
        The values as written (or generated), in order.
    kind : str
        ``"duration"``, ``"bandwidth"``, ``"number"`` or ``"category"`` (strings, booleans,
        tables), from the schema of the key.
    unit : str or None
        Unit of :attr:`Point.numeric` values: ``"s"`` for durations, ``"B/s"`` for bandwidths.
    """

    key: str
    values: tuple[Any, ...]
    kind: str
    unit: str | None = None

    @property
    def numeric_column(self) -> str | None:
        """Name of the companion column holding the value in base units, if any."""
        if self.kind == "duration":
            return f"{self.key}_s"
        if self.kind == "bandwidth":
            return f"{self.key}_Bps"
        return None


@dataclass(frozen=True, slots=True)
class Point:
    """One combination of factor values with its resolved scenario.

    Parameters
    ----------
    index : int
        Position in the sweep (0-based; the ``point`` column of the results).
    values : tuple
        One value per factor, in factor order, as written.
    numeric : tuple of float or None
        Each value as a number in base units (seconds, bytes/s) where it is one.
    scenario : dict
        The resolved scenario as TOML data (:meth:`Scenario.to_dict`), ready for a worker.
    """

    index: int
    values: tuple[Any, ...]
    numeric: tuple[float | None, ...]
    scenario: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """A validated sweep: its factors, points and seeds.

    Attributes
    ----------
    file : str
        The sweep file (``"<dict>"`` for in-memory sweeps), for messages.
    name, description : str
    base : str
        The base scenario's file (``"<dict>"`` when given inline).
    mode : str
    seeds : tuple of int
    fixed : tuple of (str, value)
        The ``[set]`` overrides applied to every point.
    factors : tuple of FactorInfo
    points : tuple of Point
    digest : str
        SHA-256 of the resolved definition (seeds, factors and every point's scenario): two
        sweeps with the same digest produce the same results table.
    """

    file: str
    name: str
    description: str
    base: str
    mode: str
    seeds: tuple[int, ...]
    fixed: tuple[tuple[str, Any], ...]
    factors: tuple[FactorInfo, ...]
    points: tuple[Point, ...]
    digest: str

    @property
    def runs(self) -> int:
        """Number of runs: points × seeds."""
        return len(self.points) * len(self.seeds)

    def label(self, point: Point) -> str:
        """``key=value, ...`` for a point, as used in messages.

        Examples
        --------
        ``cluster.qpu.q.gate_time_2q="5 nss", scheduler.policy="qnewton"``
        """
        return ", ".join(
            f"{f.key}={toml_literal(v)}" for f, v in zip(self.factors, point.values, strict=True)
        )

    def definition(self) -> dict[str, Any]:
        """JSON-ready description saved with the results (everything but the scenarios)."""
        return {
            "version": DEFINITION_VERSION,
            "file": self.file,
            "name": self.name,
            "description": self.description,
            "base": self.base,
            "mode": self.mode,
            "seeds": list(self.seeds),
            "set": {k: v for k, v in self.fixed},
            "factors": [
                {"key": f.key, "values": list(f.values), "kind": f.kind, "unit": f.unit}
                for f in self.factors
            ],
            "points": [
                {"point": p.index, "values": list(p.values), "numeric": list(p.numeric)}
                for p in self.points
            ],
            "digest": self.digest,
        }


def load_sweep(
    sweep: str | Path | Mapping[str, Any], *, base_dir: str | Path | None = None
) -> SweepSpec:
    """Load and validate a sweep, building the scenario of every point.

    Parameters
    ----------
    sweep : path or mapping
        A sweep TOML file, or data shaped like one. In a mapping, ``base`` may also be a mapping
        (an inline scenario).
    base_dir : path, optional
        Directory a relative ``base`` is read from when ``sweep`` is a mapping (default: the
        current directory). For a file it is always the file's directory.

    Returns
    -------
    SweepSpec

    Raises
    ------
    ScenarioError
        One line naming the sweep file and key path, or the point and the key, of the first
        problem found.
    """
    from hybridsim.scenario import load_raw

    if isinstance(sweep, Mapping):
        file, raw = "<dict>", dict(sweep)
        here = Path(base_dir) if base_dir is not None else Path()
    else:
        file, raw = str(sweep), load_raw(sweep)
        here = Path(sweep).parent
    ctx = Ctx(file)
    factors_raw = raw.pop("factors", {})
    set_raw = raw.pop("set", {})
    inline_base = raw.get("base")
    if isinstance(inline_base, Mapping) and file == "<dict>":
        raw["base"] = "<dict>"
    header = build(SweepHeader, raw, ctx)
    if not isinstance(factors_raw, Mapping):
        raise ctx.child("factors").error("wrong type", "a table of key path = values")
    factors = _factors(factors_raw, ctx)
    fixed = _fixed(set_raw, factors, ctx)

    if isinstance(inline_base, Mapping) and file == "<dict>":
        base_file, base_raw = "<dict>", dict(inline_base)
    else:
        base_path = here / header.base
        if not base_path.is_file():
            raise ctx.child("base").error(
                f"no scenario file {str(base_path)!r}",
                "a scenario file, relative to the sweep file",
            )
        base_file, base_raw = str(base_path), load_raw(base_path)
    combos = combine(factors, header.options.mode, ctx)
    points, scenarios = _points(file, base_file, base_raw, fixed, factors, combos)
    infos = tuple(_factor_info(f, scenarios[0]) for f in factors)
    points = tuple(
        dataclasses.replace(p, numeric=_numeric(infos, scenarios[p.index])) for p in points
    )
    seeds = header.seeds if header.seeds is not None else (scenarios[0].seed,)
    digest = _digest(seeds, factors, points)
    base_label = base_file
    return SweepSpec(
        file=file,
        name=header.name or (Path(file).stem if file != "<dict>" else "sweep"),
        description=header.description,
        base=base_label,
        mode=header.options.mode,
        seeds=tuple(seeds),
        fixed=tuple(fixed),
        factors=infos,
        points=points,
        digest=digest,
    )


def _factors(raw: Mapping[str, Any], ctx: Ctx) -> list[Factor]:
    out = []
    for k, v in raw.items():
        fctx = ctx.child("factors").child(f'"{k}"')
        parts = k.split(".")
        if not k or any(not p.strip() for p in parts):
            raise fctx.error("empty part in the key path", "a scenario key path like a.b.c")
        if k == "seed":
            raise fctx.error("the seed is not a factor", "seeds = [...] at the top level")
        for other in out:
            if k.startswith(other.key + ".") or other.key.startswith(k + "."):
                raise fctx.error(f"overlaps factor {other.key!r}", "factors on disjoint keys")
        out.append(expand_factor(k, v, fctx))
    return out


def _fixed(raw: Any, factors: list[Factor], ctx: Ctx) -> list[tuple[str, Any]]:
    """The ``[set]`` table: overrides applied to every point before the factors."""
    sctx = ctx.child("set")
    if not isinstance(raw, Mapping):
        raise sctx.error("wrong type", "a table of key path = value")
    out = []
    for k, v in raw.items():
        kctx = sctx.child(f'"{k}"')
        if not k or any(not p.strip() for p in k.split(".")):
            raise kctx.error("empty part in the key path", "a scenario key path like a.b.c")
        for f in factors:
            if k == f.key or k.startswith(f.key + ".") or f.key.startswith(k + "."):
                raise kctx.error(f"also a factor ({f.key!r})", "a key that no factor sets")
        out.append((k, v))
    return out


def _problem(exc: ScenarioError) -> str:
    # apply_override words its errors for --set; in a sweep the value came from the sweep file.
    return exc.problem.replace(" (set on the command line)", "")


def _points(file, base_file, base_raw, fixed, factors, combos):
    from hybridsim.scenario import load_scenario

    # Where the data is broken with no factor applied: the base file, or the [set] table.
    common_error: ScenarioError | None = None
    try:
        load_scenario(base_raw, fixed, source=base_file)
    except ScenarioError as exc:
        common_error = exc
    points, scenarios = [], []
    keys = [f.key for f in factors]
    for i, values in enumerate(combos):
        try:
            # source: the base file's relative references resolve against it, as in a run
            sc = load_scenario(
                base_raw, [*fixed, *zip(keys, values, strict=True)], source=base_file
            )
        except ScenarioError as exc:
            if common_error is not None and (exc.key, exc.problem) == (
                common_error.key,
                common_error.problem,
            ):
                raise _common(file, base_file, base_raw, fixed, exc) from None
            label = ", ".join(f"{k}={toml_literal(v)}" for k, v in zip(keys, values, strict=True))
            where = f"point {i} ({label})" if label else f"point {i}"
            raise ScenarioError(
                file, f"{where}: {exc.key}" if exc.key else where, _problem(exc), exc.expected
            ) from None
        scenarios.append(sc)
        points.append(Point(i, tuple(values), (), sc.to_dict()))
    return points, scenarios


def _common(file, base_file, base_raw, fixed, exc: ScenarioError) -> ScenarioError:
    """The error every point shares, located in the base file or in the ``[set]`` table."""
    from hybridsim.scenario import load_scenario

    try:
        load_scenario(base_raw, source=base_file)
    except ScenarioError as base_exc:
        if (base_exc.key, base_exc.problem) == (exc.key, exc.problem):
            return ScenarioError(base_file, exc.key, exc.problem, exc.expected)
    culprit = next(
        (
            k
            for k, _ in fixed
            if exc.key == k or exc.key.startswith(k + ".") or k.startswith(exc.key + ".")
        ),
        None,
    )
    where = f'set."{culprit}"' if culprit else "set"
    return ScenarioError(file, f"{where}: {exc.key}", _problem(exc), exc.expected)


def _leaf(scenario: Any, path: str) -> tuple[Any, str] | None:
    """The object holding the last key of ``path`` in a built scenario, and that key."""
    parts = path.split(".")
    cur = scenario
    for part in parts[:-1]:
        if isinstance(cur, tuple):  # an array of tables, addressed by name
            cur = next((t for t in cur if getattr(t, "name", None) == part), None)
        else:
            cur = getattr(cur, part, None)
        if cur is None:
            return None
    return cur, parts[-1]


def _factor_info(factor: Factor, scenario: Any) -> FactorInfo:
    found = _leaf(scenario, factor.key)
    spec = None
    if found is not None and dataclasses.is_dataclass(found[0]):
        spec = next((s for n, s, _ in fields_of(type(found[0])) if n == found[1]), None)
    kind = spec.kind if spec is not None else None
    if kind == "duration":
        return FactorInfo(factor.key, factor.values, "duration", "s")
    if kind == "bandwidth":
        return FactorInfo(factor.key, factor.values, "bandwidth", "B/s")
    if kind in ("int", "float", "seed") and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in factor.values
    ):
        return FactorInfo(factor.key, factor.values, "number")
    return FactorInfo(factor.key, factor.values, "category")


def _numeric(infos: Sequence[FactorInfo], scenario: Any) -> tuple[float | None, ...]:
    out: list[float | None] = []
    for info in infos:
        if info.kind == "category":
            out.append(None)
            continue
        obj, leaf = _leaf(scenario, info.key)
        value = getattr(obj, leaf)
        if info.kind == "duration":
            # The ticks the run used, in seconds (exact ticks, correctly rounded float).
            out.append(None if value is None else value / TICKS_PER_SECOND)
        else:
            out.append(None if value is None else float(value))
    return tuple(out)


def _digest(seeds: Sequence[int], factors: Sequence[Factor], points: Sequence[Point]) -> str:
    def canonical(sc: dict[str, Any]) -> dict[str, Any]:
        # The description documents; it changes no result, so editing it keeps a sweep resumable.
        return {k: v for k, v in sc.items() if k != "description"}

    payload = {
        "version": DEFINITION_VERSION,
        "seeds": list(seeds),
        "factors": [[f.key, list(f.values)] for f in factors],
        "points": [canonical(p.scenario) for p in points],
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
