"""Sweep files: loading, validation of every point, and the definition's fingerprint.

A sweep file is TOML::

    base = "quickstart.toml"          # relative to this file
    seeds = [1, 2, 3]
    [factors]
    "cluster.qpu.atto.gate_time_2q" = { logspace = ["1 us", "1 as"], num = 13 }
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

The size comes first: points (from the factors' lengths) and runs (points × seeds) are counted
before any point is generated, and a sweep of more than :data:`MAX_POINTS` points or
:data:`MAX_RUNS` runs is refused in one line. Points are then built one at a time; the returned
:class:`SweepSpec` keeps each point's resolved scenario as compact JSON text (about 2 KB) and
hands out :class:`Point` objects on access. A point's scenario is plain TOML data: that is what
workers receive, never a file path.

:func:`looks_like_scenario` and :func:`looks_like_sweep` tell the two kinds of file apart from
their top-level keys, so each command can name the other when given the wrong one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from hybridsim.errors import ScenarioError
from hybridsim.schema import SEED_MAX, Ctx, build, fields_of, key
from hybridsim.sweep.factors import (
    MAX_POINTS,
    MODES,
    Factor,
    count_points,
    expand_factor,
    iter_points,
    point_values,
    toml_literal,
)
from hybridsim.timebase import TICKS_PER_SECOND

__all__ = [
    "SweepSpec",
    "Point",
    "PointList",
    "FactorInfo",
    "SweepOptions",
    "SweepHeader",
    "load_sweep",
    "looks_like_scenario",
    "looks_like_sweep",
    "MAX_POINTS",
    "MAX_RUNS",
    "MAX_SEED",
]

#: Bumped when the fingerprint's inputs change meaning, so old stores are not silently reused.
DEFINITION_VERSION = 1
#: Most runs (points × seeds) a sweep may have: one results row each (a few KB of metrics),
#: which keeps results.sqlite and results.csv within a few hundred MB.
MAX_RUNS = 100_000
#: Largest seed of a sweep (the schema's ``seed``/``seeds`` kinds enforce it): seeds are a
#: primary-key column of results.sqlite, a signed 64-bit INTEGER, and the scenario's own bound.
MAX_SEED = SEED_MAX
#: Top-level keys of sweep files that scenarios do not have.
SWEEP_ONLY_KEYS = ("base", "seeds", "factors", "set", "options")


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
        kind="seeds",
        min_items=1,
        optional=True,
        doc="Root seeds; every point runs once per seed (unset: the base scenario's seed).",
    )
    options: SweepOptions = key({}, kind="table", schema=SweepOptions, doc="[options]")

    def _validate(self, ctx: Ctx) -> None:
        if self.seeds is None:
            return
        if len(set(self.seeds)) != len(self.seeds):
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


class PointList(Sequence[Point]):
    """The points of a sweep, each made on access from what validation kept.

    Validation keeps, per point, only its numeric factor values and its resolved scenario as
    compact JSON text; the factor values come from the point's index. Indexing gives a fresh
    :class:`Point` (its scenario a new dict); :meth:`values`, :meth:`numeric` and
    :meth:`scenario_json` give the parts without building the rest.
    """

    __slots__ = ("_factors", "_mode", "_numeric", "_scenarios")

    def __init__(
        self,
        factors: Sequence[Factor],
        mode: str,
        numeric: Sequence[tuple[float | None, ...]],
        scenarios: Sequence[str],
    ):
        self._factors = tuple(factors)
        self._mode = mode
        self._numeric = tuple(numeric)
        self._scenarios = tuple(scenarios)

    def __len__(self) -> int:
        return len(self._numeric)

    def _index(self, index: int) -> int:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"point {index} out of range (0-{len(self) - 1})")
        return index

    @overload
    def __getitem__(self, index: int) -> Point: ...

    @overload
    def __getitem__(self, index: slice) -> list[Point]: ...

    def __getitem__(self, index: int | slice) -> Point | list[Point]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = self._index(index)
        return Point(i, self.values(i), self._numeric[i], json.loads(self._scenarios[i]))

    def values(self, index: int) -> tuple[Any, ...]:
        """Factor values of point ``index``, as written."""
        return point_values(self._factors, self._mode, self._index(index))

    def numeric(self, index: int) -> tuple[float | None, ...]:
        """Factor values of point ``index`` in base units (None where not numeric)."""
        return self._numeric[self._index(index)]

    def scenario_json(self, index: int) -> str:
        """The resolved scenario of point ``index`` as compact JSON text."""
        return self._scenarios[self._index(index)]


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
    points : PointList
        A sequence of :class:`Point`, made on access.
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
    points: PointList
    digest: str

    @property
    def runs(self) -> int:
        """Number of runs: points × seeds."""
        return len(self.points) * len(self.seeds)

    def size_text(self) -> str:
        """``9 points × 3 seeds = 27 runs``: the sweep's size, for headers."""

        def n(count: int, word: str) -> str:
            return f"{count} {word}{'s' if count != 1 else ''}"

        return (
            f"{n(len(self.points), 'point')} × {n(len(self.seeds), 'seed')} = {n(self.runs, 'run')}"
        )

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
        pts = self.points
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
                {"point": i, "values": list(pts.values(i)), "numeric": list(pts.numeric(i))}
                for i in range(len(pts))
            ],
            "digest": self.digest,
        }


def _scenario_only_keys() -> tuple[str, ...]:
    from hybridsim.scenario import Scenario

    sweep_keys = {n for n, _, _ in fields_of(SweepHeader)} | set(SWEEP_ONLY_KEYS)
    return tuple(n for n, _, _ in fields_of(Scenario) if n not in sweep_keys)


def looks_like_scenario(raw: Any) -> bool:
    """True if ``raw`` (a file's top-level TOML data) is a scenario rather than a sweep.

    It is when it has none of a sweep's own keys (``base``, ``seeds``, ``factors``, ``set``,
    ``options``) and at least one key only scenarios have (``seed``, ``cluster``, ``workload``,
    ...). Used by ``hybridsim sweep`` to name ``hybridsim run`` instead of listing unknown keys.

    Examples
    --------
    >>> looks_like_scenario({"name": "q", "cluster": {}, "workload": {"kind": "mlp"}})
    True
    >>> looks_like_scenario({"base": "q.toml", "seed": 1})  # a sweep with a typo
    False
    """
    if not isinstance(raw, Mapping) or any(k in raw for k in SWEEP_ONLY_KEYS):
        return False
    return any(k in raw for k in _scenario_only_keys())


def looks_like_sweep(raw: Any) -> bool:
    """True if ``raw`` (a file's top-level TOML data) is a sweep rather than a scenario.

    It is when it has ``base`` or ``factors`` and no key only scenarios have. Meant for
    ``hybridsim run`` (scenario loading), to name ``hybridsim sweep`` when given a sweep file.

    Examples
    --------
    >>> looks_like_sweep({"base": "quickstart.toml", "factors": {}})
    True
    >>> looks_like_sweep({"cluster": {}, "workload": {"kind": "mlp"}})
    False
    """
    if not isinstance(raw, Mapping) or not ("base" in raw or "factors" in raw):
        return False
    return not any(k in raw for k in _scenario_only_keys())


def _not_a_sweep(file: str, raw: Mapping[str, Any]) -> ScenarioError:
    found = [k for k in _scenario_only_keys() if k in raw]
    shown = ", ".join(f"[{k}]" if isinstance(raw[k], Mapping) else k for k in found[:3])
    how = "hybridsim.run(...)" if file == "<dict>" else f"hybridsim run {file}"
    return ScenarioError(
        file,
        "",
        f"this is a scenario, not a sweep (it has {shown} and no base or [factors]): "
        f"run it with `{how}`",
        'a sweep file: base = "SCENARIO.toml", seeds and [factors]',
    )


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
    if looks_like_scenario(raw):
        raise _not_a_sweep(file, raw)
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
    mode = header.options.mode
    # The size before anything is generated: refuse what cannot be run, in milliseconds.
    n_points = count_points(factors, mode, ctx)
    if header.seeds is not None and n_points * len(header.seeds) > MAX_RUNS:
        raise ctx.child("seeds").error(
            f"{len(header.seeds)} seeds × {n_points} points = {n_points * len(header.seeds)} "
            "runs, more than a sweep may have",
            f"at most {MAX_RUNS} runs (points × seeds): fewer seeds or points, or several sweeps",
        )

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
    base_dir_abs = Path(base_file).parent if base_file != "<dict>" else None
    infos, numeric, texts, digest, seed0 = _points(
        file, base_file, base_raw, fixed, factors, mode, header.seeds, base_dir_abs
    )
    seeds = header.seeds if header.seeds is not None else (seed0,)
    return SweepSpec(
        file=file,
        name=header.name or (Path(file).stem if file != "<dict>" else "sweep"),
        description=header.description,
        base=base_file,
        mode=mode,
        seeds=tuple(seeds),
        fixed=tuple(fixed),
        factors=infos,
        points=PointList(factors, mode, numeric, texts),
        digest=digest,
    )


def _factors(raw: Mapping[str, Any], ctx: Ctx) -> list[Factor]:
    out: list[Factor] = []
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


def _dumps_canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _points(file, base_file, base_raw, fixed, factors, mode, seeds, base_dir):
    """Build and check every point, one at a time, keeping only what the sweep needs.

    Returns the factor infos, each point's numeric values and resolved scenario (compact JSON,
    replay paths made absolute), the digest, and the scenarios' seed.
    """
    from hybridsim.scenario import load_scenario

    # Where the data is broken with no factor applied: the base file, or the [set] table.
    common_error: ScenarioError | None = None
    try:
        load_scenario(base_raw, fixed, source=base_file)
    except ScenarioError as exc:
        common_error = exc
    keys = [f.key for f in factors]
    infos: tuple[FactorInfo, ...] = ()
    numeric: list[tuple[float | None, ...]] = []
    texts: list[str] = []
    seed0 = 0
    # The digest is SHA-256 of one canonical JSON document (keys sorted): factors, points,
    # seeds, version. It is fed piece by piece, so no list of all scenarios is ever held.
    digest = hashlib.sha256()
    digest.update(b'{"factors":')
    digest.update(_dumps_canonical([[f.key, list(f.values)] for f in factors]).encode())
    digest.update(b',"points":[')
    for i, values in enumerate(iter_points(factors, mode)):
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
        if i == 0:
            infos = tuple(_factor_info(f, sc) for f in factors)
            seed0 = sc.seed
        numeric.append(_numeric(infos, sc))
        data = sc.to_dict()
        # The description documents; it changes no result, so editing it keeps a sweep resumable.
        canonical = {k: v for k, v in data.items() if k != "description"}
        digest.update((b"," if i else b"") + _dumps_canonical(canonical).encode())
        if base_dir is not None:
            data = _absolute_paths(data, base_dir)
        texts.append(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    digest.update(b'],"seeds":')
    digest.update(_dumps_canonical(list(seeds) if seeds is not None else [seed0]).encode())
    digest.update(f',"version":{DEFINITION_VERSION}}}'.encode())
    return infos, numeric, texts, digest.hexdigest(), seed0


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
        found = _leaf(scenario, info.key)
        assert found is not None  # only a factor on a scenario key is numeric (_factor_info)
        obj, leaf = found
        value = getattr(obj, leaf)
        if info.kind == "duration":
            # The ticks the run used, in seconds (exact ticks, correctly rounded float).
            out.append(None if value is None else value / TICKS_PER_SECOND)
        else:
            out.append(None if value is None else float(value))
    return tuple(out)


def _absolute_paths(scenario: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Make file references inside a scenario absolute: workers may run in another directory.

    Only ``workload.kappa.replay`` (a steps.csv, relative to the scenario file) is one today.
    """
    kappa = scenario.get("workload", {}).get("kappa")
    if not isinstance(kappa, dict) or not isinstance(kappa.get("replay"), str):
        return scenario
    replay = Path(kappa["replay"])
    if replay.is_absolute():
        return scenario
    scenario = json.loads(json.dumps(scenario))  # a deep copy of plain TOML data
    scenario["workload"]["kappa"]["replay"] = str((base_dir / replay).resolve())
    return scenario
