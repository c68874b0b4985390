"""A run's outputs as records again: read a saved run directory (or wrap a :class:`RunResult`).

The report draws from :class:`RunData`, never from the simulation, so ``hybridsim report DIR``
redraws exactly what ``hybridsim run`` drew. The CSV files are read back into the same
``NamedTuple`` rows the simulation appended (:mod:`hybridsim.records`): instants are exact integer
ticks again (Python ints, which may exceed 2**63), floats round-trip exactly because the writer
uses ``repr``, and empty cells become ``None`` where a field is optional.

Columns are matched by name, so files with extra columns (written by a newer hybridsim) still
load, and columns missing from older files take the record's default when it has one.
"""

from __future__ import annotations

import csv
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import NoneType, UnionType
from typing import Any

from hybridsim import metrics as M
from hybridsim.errors import HybridSimError
from hybridsim.records import IntervalRecord, JobRecord, QueueRecord, StepRecord

__all__ = [
    "ReportError",
    "RunData",
    "DeviceInfo",
    "load_run",
    "from_result",
    "as_run",
    "as_runs",
    "read_records",
]

#: Summary keys that are not scalar metrics (shown elsewhere in the report, or not at all).
NESTED_KEYS = ("scenario", "versions", "wall")

_REQUIRED_FILES = ("summary.json", "jobs.csv")


class ReportError(HybridSimError):
    """A directory is not a readable run directory (missing or malformed outputs)."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A device the scenario declares: its name, kind (``"gpu"``/``"qpu"``), group and slots."""

    name: str
    kind: str
    group: str
    capacity: int = 1


@dataclass(frozen=True)
class RunData:
    """Everything the report draws from one run.

    Attributes
    ----------
    label : str
        Short name of the run in legends and tables (the directory name, or the scenario name).
    summary : Mapping
        ``summary.json`` as loaded (JSON types only).
    scenario_text : str
        ``scenario.toml`` as written.
    jobs, intervals, queues, steps : tuple of records
        ``intervals`` holds every interval, job service included (as in ``intervals.csv``).
    source : Path or None
        The directory the run was read from.
    """

    label: str
    summary: Mapping[str, Any] = field(repr=False)
    scenario_text: str = field(repr=False)
    jobs: tuple[JobRecord, ...] = field(repr=False)
    intervals: tuple[IntervalRecord, ...] = field(repr=False)
    queues: tuple[QueueRecord, ...] = field(repr=False)
    steps: tuple[StepRecord, ...] = field(repr=False)
    source: Path | None = None

    @cached_property
    def horizon(self) -> int:
        """Makespan in ticks: the end of the last recorded activity (at least 1 tick)."""
        ticks = self.summary.get("makespan_ticks")
        if not isinstance(ticks, int) or ticks <= 0:
            ticks = M.makespan_ticks(self.jobs, self.intervals)
            if self.steps:
                ticks = max(ticks, max(s.at for s in self.steps))
        return max(int(ticks), 1)

    @cached_property
    def title(self) -> str:
        """Name of the run in figure titles: the scenario's ``name`` (the label if it has none)."""
        return str(self.summary.get("scenario_name") or self.label)

    @cached_property
    def scenario(self) -> Mapping[str, Any]:
        """The resolved scenario as a dict (from ``summary.json``; empty if absent)."""
        sc = self.summary.get("scenario")
        return sc if isinstance(sc, Mapping) else {}

    @cached_property
    def policy(self) -> str:
        """Name of the routing policy (``""`` when unknown)."""
        sched = self.scenario.get("scheduler")
        return str(sched.get("policy", "")) if isinstance(sched, Mapping) else ""

    @cached_property
    def devices(self) -> tuple[DeviceInfo, ...]:
        """Devices declared by the scenario, GPUs first, in declaration order."""
        cluster = self.scenario.get("cluster")
        out: list[DeviceInfo] = []
        if not isinstance(cluster, Mapping):
            return ()
        for kind in ("gpu", "qpu"):
            groups = cluster.get(kind) or []
            for grp in groups if isinstance(groups, list) else []:
                if not isinstance(grp, Mapping) or "name" not in grp:
                    continue
                count = grp.get("count", 1)
                cap = grp.get("capacity", 1)
                count = count if isinstance(count, int) else 1
                cap = cap if isinstance(cap, int) and cap > 0 else 1
                # Device naming mirrors hybridsim.scenario.device_names (NAME-0 ... NAME-(c-1)).
                out.extend(
                    DeviceInfo(f"{grp['name']}-{i}", kind, str(grp["name"]), cap)
                    for i in range(count)
                )
        return tuple(out)

    @cached_property
    def capacities(self) -> dict[str, int]:
        """Slots per device: declared ones, plus 1 for any device seen only in the records."""
        caps = {d.name: d.capacity for d in self.devices}
        for j in self.jobs:
            if j.device and j.device not in caps:
                caps[j.device] = 1
        return caps

    @cached_property
    def pools(self) -> tuple[str, ...]:
        """Pool (device group) names: declared groups first, then any seen in queue records."""
        names = list(dict.fromkeys(d.group for d in self.devices))
        for q in self.queues:
            if q.pool not in names:
                names.append(q.pool)
        return tuple(names)

    def runs(self) -> list[str]:
        """Names in the ``run`` column of the training steps, ``"main"`` first."""
        names = list(dict.fromkeys(s.run for s in self.steps))
        return [n for n in names if n == "main"] + [n for n in names if n != "main"]


# -- CSV -> records ---------------------------------------------------------------------------


def _bool(text: str) -> bool:
    if text in ("True", "true", "1"):
        return True
    if text in ("False", "false", "0", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


_BASIC: dict[Any, Callable[[str], Any]] = {int: int, float: float, str: str, bool: _bool}


@dataclass(frozen=True, slots=True)
class _Field:
    """How one record field is read from a cell: ``base(text)``, or None for an empty cell when
    the field is optional (``float | None``...)."""

    name: str
    base: Callable[[str], Any]
    optional: bool

    def read(self, text: str) -> Any:
        return None if self.optional and text == "" else self.base(text)


def _fields(record_type: type) -> list[_Field]:
    hints = typing.get_type_hints(record_type)
    out = []
    for name in record_type._fields:
        ann = hints[name]
        if ann in _BASIC:
            out.append(_Field(name, _BASIC[ann], False))
            continue
        args = [a for a in typing.get_args(ann) if a is not NoneType]
        optional = typing.get_origin(ann) in (typing.Union, UnionType) and len(args) == 1
        out.append(_Field(name, _BASIC.get(args[0], str) if optional else str, optional))
    return out


def _row_reader(record_type: type, fields: list[_Field], header: list[str], path: Path):
    """A function turning one CSV row into a ``record_type``, generated for this header.

    Generated code (as ``collections.namedtuple`` and ``dataclasses`` do) inlines every cell's
    conversion into one tuple display: at 10**5 jobs x 35 fields this is the reader's hot loop,
    about twice as fast as calling a converter per cell.
    """
    index = {name: i for i, name in enumerate(header)}
    defaults = record_type._field_defaults
    ns: dict[str, Any] = {"_new": tuple.__new__, "_cls": record_type}
    exprs = []
    for k, f in enumerate(fields):
        if f.name not in index:
            if f.name not in defaults:
                raise ReportError(f"{path}: missing column {f.name!r}")
            ns[f"d{k}"] = defaults[f.name]  # an older file: the record's default
            exprs.append(f"d{k}")
            continue
        cell = f"r[{index[f.name]}]"
        if f.base is str:
            expr = f"({cell} or None)" if f.optional else cell
        else:
            ns[f"c{k}"] = f.base
            expr = f'(None if {cell} == "" else c{k}({cell}))' if f.optional else f"c{k}({cell})"
        exprs.append(expr)
    src = "def read_row(r):\n    return _new(_cls, (" + ", ".join(exprs) + ",))\n"
    exec(src, ns)  # noqa: S102 - source built above from field names and column indices only
    return ns["read_row"]


def read_records(path: Path, record_type: type, *, required: bool = True) -> list[Any]:
    """Read a CSV written by :class:`hybridsim.results.RunResult` back into ``record_type`` rows.

    Parameters
    ----------
    path : Path
        The CSV file.
    record_type : type
        A ``NamedTuple`` row type of :mod:`hybridsim.records`.
    required : bool
        If False, a missing file reads as no rows.

    Returns
    -------
    list
        Rows of ``record_type``, in file order.

    Raises
    ------
    ReportError
        Missing file (when required), a missing column without default, or an unreadable cell
        (the message names the file, line and column).
    """
    if not path.exists():
        if required:
            raise ReportError(f"{path}: missing (is this a hybridsim run directory?)")
        return []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReportError(f"{path}: cannot read: {exc}") from exc
    if header is None:
        raise ReportError(f"{path}: empty file (expected a header row)")
    fields = _fields(record_type)
    read_row = _row_reader(record_type, fields, header, path)
    try:
        return list(map(read_row, rows))
    except (ValueError, IndexError):
        pass
    # Slow path, only to name the bad cell.
    index = {name: i for i, name in enumerate(header)}
    for n, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ReportError(f"{path}: line {n}: {len(row)} cells (expected {len(header)})")
        for f in fields:
            if f.name in index:
                try:
                    f.read(row[index[f.name]])
                except ValueError:
                    cell = row[index[f.name]]
                    raise ReportError(
                        f"{path}: line {n}: column {f.name!r}: cannot read {cell!r}"
                    ) from None
    raise ReportError(f"{path}: cannot read")  # pragma: no cover - the loop finds the cell


# -- building RunData -------------------------------------------------------------------------


def load_run(directory: str | Path, label: str | None = None) -> RunData:
    """Read a run directory written by ``hybridsim run`` (or :meth:`RunResult.write`).

    Parameters
    ----------
    directory : str or Path
        Directory holding ``summary.json``, ``jobs.csv`` and (optionally) ``intervals.csv``,
        ``queues.csv``, ``steps.csv`` and ``scenario.toml``.
    label : str, optional
        Name of the run in the report (default: the directory's name).

    Returns
    -------
    RunData

    Raises
    ------
    ReportError
        If the directory is missing, is not a run directory, or holds malformed files.
    """
    d = Path(directory)
    if not d.exists():
        raise ReportError(f"{d}: no such directory")
    if not d.is_dir():
        raise ReportError(f"{d}: not a directory")
    for name in _REQUIRED_FILES:
        if not (d / name).is_file():
            raise ReportError(f"{d}: not a run directory (no {name})")
    try:
        summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{d / 'summary.json'}: cannot read: {exc}") from exc
    if not isinstance(summary, dict):
        raise ReportError(f"{d / 'summary.json'}: expected a JSON object")
    toml_path = d / "scenario.toml"
    scenario_text = toml_path.read_text(encoding="utf-8") if toml_path.is_file() else ""
    return RunData(
        label=label or d.resolve().name,
        summary=summary,
        scenario_text=scenario_text,
        jobs=tuple(read_records(d / "jobs.csv", JobRecord)),
        intervals=tuple(read_records(d / "intervals.csv", IntervalRecord, required=False)),
        queues=tuple(read_records(d / "queues.csv", QueueRecord, required=False)),
        steps=tuple(read_records(d / "steps.csv", StepRecord, required=False)),
        source=d,
    )


def from_result(result: Any, label: str | None = None, source: Path | None = None) -> RunData:
    """Wrap an in-memory :class:`hybridsim.results.RunResult` without writing it.

    The summary goes through a JSON round trip so that it holds exactly what ``summary.json``
    would (lists, not tuples): the report built from a result and the one rebuilt from its saved
    directory are then byte-identical.
    """
    from hybridsim.tomlio import dumps as toml_dumps

    summary = json.loads(json.dumps(result.summary))
    name = label or (Path(source).resolve().name if source else None)
    return RunData(
        label=name or str(summary.get("scenario_name") or "run"),
        summary=summary,
        scenario_text=toml_dumps(result.scenario.to_dict()),
        jobs=tuple(result.jobs),
        intervals=tuple(result.all_intervals()),
        queues=tuple(result.queues),
        steps=tuple(result.steps),
        source=Path(source) if source else None,
    )


def as_run(run: Any) -> RunData:
    """Coerce a :class:`RunData`, a ``RunResult`` or a run directory path to :class:`RunData`."""
    if isinstance(run, RunData):
        return run
    if isinstance(run, str | Path):
        return load_run(run)
    if hasattr(run, "all_intervals") and hasattr(run, "summary"):
        return from_result(run)
    raise TypeError(f"expected RunData, RunResult or a directory, got {type(run).__name__}")


def as_runs(runs: Any) -> list[RunData]:
    """One run or a sequence of runs, as a list of :class:`RunData` with distinct labels."""
    if isinstance(runs, RunData | str | Path) or hasattr(runs, "all_intervals"):
        items = [as_run(runs)]
    else:
        items = [as_run(r) for r in runs]
    seen: dict[str, int] = {}
    out = []
    for r in items:
        n = seen.get(r.label, 0)
        seen[r.label] = n + 1
        if n:
            # Two directories with one name (a/run, b/run): keep legends unambiguous.
            r = RunData(
                f"{r.label} ({n + 1})",
                r.summary,
                r.scenario_text,
                r.jobs,
                r.intervals,
                r.queues,
                r.steps,
                r.source,
            )
        out.append(r)
    return out
