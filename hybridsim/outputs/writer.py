"""Writing a run's files: the four CSVs, ``scenario.toml`` and ``summary.json``.

A CSV the result already has on disk (its rows streamed there during the run, or it was read
from a directory) is copied byte for byte, or left alone when it already is the target file
(``hybridsim run`` streams into the output's staging directory); the others are written from the
records in memory, in chunks. Either way the bytes are the same for the same run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridsim.outputs.columns import TABLES, Table
from hybridsim.outputs.files import CsvSink, Stored, csv_name

__all__ = ["Saved", "write_run", "write_csv", "summary_text", "scenario_text"]

_CHUNK = 8192


@dataclass(frozen=True)
class Saved:
    """Where a result's records are kept on disk.

    Attributes
    ----------
    stored : mapping
        Finished files by kind (``jobs``, ``intervals``, ``queues``, ``steps``).
    all_intervals : sequence, optional
        Every row of ``intervals.csv`` (None: derive them from the records).
    scenario_text : str, optional
        ``scenario.toml`` as it was read (None: written from the scenario).
    directory : Path, optional
        The directory the files were read from or streamed to.
    """

    stored: Mapping[str, Stored] = field(default_factory=dict)
    all_intervals: Sequence[Any] | None = None
    scenario_text: str | None = None
    directory: Path | None = None


def write_csv(path: Path, table: Table, records: Sequence[Any] | Any, compress: bool) -> None:
    """Write ``records`` (any iterable) as ``table``'s CSV at ``path``, in chunks."""
    sink = CsvSink(path, table.columns, compress)
    try:
        chunks = getattr(records, "chunks", None)
        if chunks is not None:  # a lazy sequence: its own chunks
            for chunk in chunks():
                sink.write(table.rows(chunk))
        elif isinstance(records, list | tuple):
            for i in range(0, len(records), _CHUNK):
                sink.write(table.rows(records[i : i + _CHUNK]))
        else:
            it = iter(records)
            while chunk := [r for _, r in zip(range(_CHUNK), it, strict=False)]:
                sink.write(table.rows(chunk))
    finally:
        sink.close()


def summary_text(summary: Mapping[str, Any]) -> str:
    """``summary.json`` as written."""
    return json.dumps(summary, indent=2) + "\n"


def scenario_text(scenario: Any) -> str:
    """``scenario.toml`` as written: the resolved scenario, runnable as is."""
    from hybridsim.tomlio import dumps

    return dumps(scenario.to_dict())


def write_run(directory: str | Path, result: Any) -> None:
    """Write every file of ``result`` (a :class:`~hybridsim.results.RunResult`) into
    ``directory``, which exists (no staging, no lock: see :meth:`RunResult.write`).

    CSVs are gzip-compressed (``jobs.csv.gz`` ...) when the scenario says
    ``output.compress = true``.
    """
    d = Path(directory)
    compress = bool(getattr(result.scenario.output, "compress", False))
    saved: Saved | None = result.saved
    stored = saved.stored if saved is not None else {}
    records = {
        "jobs": result.jobs,
        "intervals": None,
        "queues": result.queues,
        "steps": result.steps,
    }
    for kind, table in TABLES.items():
        target = d / csv_name(table.name, compress)
        src = stored.get(kind)
        if src is not None:
            if not src.is_file(target):
                src.copy_to(target, compress)
            continue
        rows = records[kind] if kind != "intervals" else result.all_intervals()
        write_csv(target, table, rows, compress)
    (d / "scenario.toml").write_text(scenario_text(result.scenario), encoding="utf-8")
    (d / "summary.json").write_text(summary_text(result.summary), encoding="utf-8")
