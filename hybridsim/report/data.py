"""What the report draws from: a view of a :class:`~hybridsim.results.RunResult`.

The report draws from :class:`RunData`, never from the simulation, so ``hybridsim report DIR``
redraws exactly what ``hybridsim run`` drew: :func:`load_run` reads the directory with
:meth:`RunResult.load` (the one reader of run outputs, :mod:`hybridsim.outputs`), and
:func:`from_result` wraps a result in memory; both give the same records and summary. A long
run's records stay lazy sequences over its files, and what the figures need from every row comes
from one pass over each kind (:attr:`RunData.job_digest`, :attr:`RunData.interval_digest`; see
:mod:`hybridsim.report.passes`), never from a list of every row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from hybridsim import metrics as M
from hybridsim.errors import OutputError
from hybridsim.records import IntervalRecord, JobRecord, QueueRecord, StepRecord
from hybridsim.report.passes import IntervalDigest, JobDigest, digest_intervals, digest_jobs

__all__ = [
    "ReportError",
    "RunData",
    "DeviceInfo",
    "load_run",
    "from_result",
    "as_run",
    "as_runs",
]

#: Summary keys that are not scalar metrics (shown elsewhere in the report, or not at all).
NESTED_KEYS = ("scenario", "versions", "wall")

#: A directory is not a readable run directory (missing or malformed outputs): the reader's
#: :class:`~hybridsim.errors.OutputError`, under the name the report has always used.
ReportError = OutputError


def __getattr__(name: str) -> Any:
    if name == "read_records":
        import warnings

        from hybridsim.outputs.reader import read_records

        warnings.warn(
            "hybridsim.report.data.read_records is deprecated; import it from "
            "hybridsim.outputs.reader",
            DeprecationWarning,
            stacklevel=2,
        )
        return read_records
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    jobs, intervals, queues, steps : sequence of records
        Tuples, or lazy sequences over the files of a long run. ``intervals`` holds every
        interval, job service included (as in ``intervals.csv``).
    source : Path or None
        The directory the run was read from.
    """

    label: str
    summary: Mapping[str, Any] = field(repr=False)
    scenario_text: str = field(repr=False)
    jobs: Sequence[JobRecord] = field(repr=False)
    intervals: Sequence[IntervalRecord] = field(repr=False)
    queues: Sequence[QueueRecord] = field(repr=False)
    steps: Sequence[StepRecord] = field(repr=False)
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
    def job_digest(self) -> JobDigest:
        """What the figures need from every job row, from one pass over them."""
        return digest_jobs(self.jobs)

    @cached_property
    def interval_digest(self) -> IntervalDigest:
        """What the figures need from every interval row, from one pass over them."""
        return digest_intervals(self.intervals)

    @cached_property
    def capacities(self) -> dict[str, int]:
        """Slots per device: declared ones, plus 1 for any device seen only in the records."""
        caps = {d.name: d.capacity for d in self.devices}
        for device in self.job_digest.devices:
            if device not in caps:
                caps[device] = 1
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


# -- building RunData -------------------------------------------------------------------------


def load_run(directory: str | Path, label: str | None = None) -> RunData:
    """Read a run directory written by ``hybridsim run`` (or :meth:`RunResult.write`).

    Parameters
    ----------
    directory : str or Path
        Directory holding ``summary.json``, ``jobs.csv`` and (optionally) ``intervals.csv``,
        ``queues.csv``, ``steps.csv`` and ``scenario.toml`` (CSVs plain or ``.gz``).
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
    from hybridsim.results import RunResult

    d = Path(directory)
    return from_result(RunResult.load(d), label=label or d.resolve().name, source=d)


def _records(seq: Sequence[Any]) -> Sequence[Any]:
    # Lists become tuples (a RunData is immutable); lazy sequences stay lazy.
    return tuple(seq) if isinstance(seq, list | tuple) else seq


def from_result(result: Any, label: str | None = None, source: Path | None = None) -> RunData:
    """A view of a :class:`hybridsim.results.RunResult` (in memory or read back).

    The summary goes through a JSON round trip so that it holds exactly what ``summary.json``
    would (lists, not tuples): the report built from a result and the one rebuilt from its saved
    directory are then byte-identical.
    """
    from hybridsim.outputs.writer import scenario_text

    summary = json.loads(json.dumps(result.summary))
    name = label or (Path(source).resolve().name if source else None)
    saved = getattr(result, "saved", None)
    text = saved.scenario_text if saved is not None else None
    return RunData(
        label=name or str(summary.get("scenario_name") or "run"),
        summary=summary,
        scenario_text=text if text is not None else scenario_text(result.scenario),
        jobs=_records(result.jobs),
        intervals=_records(result.all_intervals()),
        queues=_records(result.queues),
        steps=_records(result.steps),
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
