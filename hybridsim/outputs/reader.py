"""Reading a run's files back into the simulation's own records.

The CSV files become the same ``NamedTuple`` rows the simulation appended
(:mod:`hybridsim.records`): instants are exact integer ticks again (Python ints, which may exceed
2**63), floats round-trip exactly because the writer uses ``repr``, and empty cells become
``None`` where a field is optional. Plain and gzip-compressed files (``jobs.csv.gz``) read alike.

Small files are read into lists. A file of more than :data:`EAGER_ROWS` rows is not held in
memory: it is a :class:`RecordFile`, a lazy sequence that reads the file again, in chunks, each
time it is iterated (``len`` counts the rows once; indexing reads up to the index). Which of the
two a file is, is told by counting its line breaks (bytes, unparsed), so a long file is never
held, not even its first :data:`EAGER_ROWS` rows.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridsim.errors import OutputError
from hybridsim.outputs.columns import TABLES, Table
from hybridsim.outputs.files import Stored, csv_rows, find
from hybridsim.records import SPILL_ROWS

__all__ = ["EAGER_ROWS", "CHUNK_ROWS", "RecordFile", "RunFiles", "read_records", "read_run"]

#: Most rows of one file read into a list; a longer file is read lazily (the job rows a run
#: holds in memory before it spills them, :data:`hybridsim.records.SPILL_ROWS`).
EAGER_ROWS = SPILL_ROWS
#: Rows parsed and converted at a time. A chunk of job rows is converted column by column, so it
#: is held about four times over while it is (cells, columns, values, records): 2048 rows keep
#: that near 10 MB, and read as fast as larger chunks (the report reads several files at once).
CHUNK_ROWS = 2048

_BY_RECORD = {t.record: t for t in TABLES.values()}


class RecordFile(Sequence):
    """The records of one CSV file, read lazily: a sequence that holds no rows.

    Iterating reads the file from the start, in chunks of :data:`CHUNK_ROWS`; ``len`` is the
    known count (a streamed run knows it) or one counting pass; ``seq[i]`` and slices read up to
    where they end. Equal to any sequence with equal records in the same order. Pickled as a
    list (the file descriptor means nothing in another process).

    Parameters
    ----------
    stored : Stored
        The open file.
    table : Table
        Its columns and record type.
    count : int, optional
        Number of records, when known.
    keep : callable, optional
        Only records for which ``keep(record)`` is true (e.g. the recorded intervals among all).
    """

    def __init__(
        self,
        stored: Stored,
        table: Table,
        *,
        count: int | None = None,
        keep: Callable[[Any], bool] | None = None,
    ):
        self.stored = stored
        self.table = table
        self._count = count
        self._keep = keep

    def _open(self) -> tuple[Iterator[list[str]], Callable[[list, int], list]]:
        """The file's rows after the header, and the converter its header calls for."""
        where = str(self.stored.path)
        rows = csv_rows(self.stored, where)
        header = next(rows, None)
        if header is None:
            raise OutputError(f"{where}: empty file (expected a header row)")
        return rows, self.table.reader(header, where)

    def check_header(self) -> None:
        """Read the header only: raise :class:`OutputError` as iterating would for a file that
        is empty or lacks a column."""
        rows, _ = self._open()
        rows.close()  # type: ignore[attr-defined]

    def chunks(self) -> Iterator[list]:
        """The records in chunks (lists of up to :data:`CHUNK_ROWS`), in file order."""
        rows, read = self._open()
        line = 2
        keep = self._keep
        while True:
            chunk = list(itertools.islice(rows, CHUNK_ROWS))
            if not chunk:
                return
            records = read(chunk, line)
            line += len(chunk)
            del chunk  # the cells' strings go before the records are handed out (half a chunk)
            yield records if keep is None else [r for r in records if keep(r)]

    def __iter__(self) -> Iterator[Any]:
        for chunk in self.chunks():
            yield from chunk

    def __len__(self) -> int:
        if self._count is None:
            self._count = sum(map(len, self.chunks()))
        return self._count

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            r = range(len(self))[index]
            if r.step > 0:
                return list(itertools.islice(self, r.start, r.stop, r.step))
            if not r:
                return []
            # Backwards: read the span once, forwards, and pick.
            span = list(itertools.islice(self, r[-1], r[0] + 1))
            return [span[i - r[-1]] for i in r]
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError("record index out of range")
        return next(itertools.islice(self, i, None))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        if len(self) != len(other):
            return False
        return all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple:
        return (list, (list(self),))

    def __repr__(self) -> str:
        n = "?" if self._count is None else self._count
        return f"<RecordFile {self.stored.path} ({n} {self.table.record.__name__})>"


def read_records(path: str | Path, record_type: type, *, required: bool = True) -> list[Any]:
    """Read a CSV written for a run (plain or ``.gz``) back into ``record_type`` rows.

    Parameters
    ----------
    path : str or Path
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
    OutputError
        Missing file (when required), a missing column without default, or an unreadable cell
        (the message names the file, line and column).
    """
    path = Path(path)
    if not path.exists():
        if required:
            raise OutputError(f"{path}: missing (is this a hybridsim run directory?)")
        return []
    stored = Stored(path)
    try:
        return list(RecordFile(stored, _BY_RECORD[record_type]))
    finally:
        stored.close()


def _more_lines(stored: Stored, limit: int) -> bool:
    """Whether the file's text has more than ``limit`` line breaks (a quoted line break in a
    cell counts too: such a file is only read lazily a little sooner). False for a file that
    cannot be read, so that reading it reports the error."""
    count = 0
    try:
        with stored.binary() as raw:
            src = gzip.GzipFile(fileobj=raw, mode="rb") if stored.compressed else raw
            while block := src.read(1 << 20):
                count += block.count(b"\n")
                if count > limit:
                    return True
    except (OSError, EOFError, gzip.BadGzipFile):
        return False
    return False


def _sequence(stored: Stored, table: Table) -> Sequence[Any]:
    """The file's records: a list when it has at most :data:`EAGER_ROWS`, else lazy."""
    lazy = RecordFile(stored, table)
    # The header's line and each row's: more than EAGER_ROWS + 1 line breaks is a long file.
    if _more_lines(stored, EAGER_ROWS + 1):
        lazy.check_header()
        return lazy
    return list(lazy)


@dataclass(frozen=True)
class RunFiles:
    """The files of one run directory, read.

    Attributes
    ----------
    directory : Path
    summary : dict
        ``summary.json`` as loaded (JSON types only).
    scenario_text : str
        ``scenario.toml`` as written ("" when absent).
    jobs, intervals, queues, steps : sequence of records
        Lists, or :class:`RecordFile` for long files. ``intervals`` is every row of
        ``intervals.csv`` (job service included).
    stored : dict
        The open files by kind (``jobs``...), to copy them without parsing.
    """

    directory: Path
    summary: dict[str, Any] = field(repr=False)
    scenario_text: str = field(repr=False)
    jobs: Sequence[Any] = field(repr=False)
    intervals: Sequence[Any] = field(repr=False)
    queues: Sequence[Any] = field(repr=False)
    steps: Sequence[Any] = field(repr=False)
    stored: dict[str, Stored] = field(repr=False, default_factory=dict)


_REQUIRED = ("summary.json", "jobs.csv")


def read_run(directory: str | Path) -> RunFiles:
    """Read a run directory written by ``hybridsim run`` or :meth:`RunResult.write`.

    Parameters
    ----------
    directory : str or Path
        Holds ``summary.json``, ``jobs.csv`` and (optionally) ``intervals.csv``, ``queues.csv``,
        ``steps.csv`` and ``scenario.toml``; each CSV may be gzip-compressed (``.csv.gz``).

    Raises
    ------
    OutputError
        If the directory is missing, is not a run directory, or holds malformed files.
    """
    d = Path(directory)
    if not d.exists():
        raise OutputError(f"{d}: no such directory")
    if not d.is_dir():
        raise OutputError(f"{d}: not a directory")
    for name in _REQUIRED:
        if not (d / name).is_file() and not (name.endswith(".csv") and find(d, name)):
            raise OutputError(f"{d}: not a run directory (no {name})")
    try:
        summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OutputError(f"{d / 'summary.json'}: cannot read: {exc}") from exc
    if not isinstance(summary, dict):
        raise OutputError(f"{d / 'summary.json'}: expected a JSON object")
    toml_path = d / "scenario.toml"
    try:
        scenario_text = toml_path.read_text(encoding="utf-8") if toml_path.is_file() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"{toml_path}: cannot read: {exc}") from exc
    stored: dict[str, Stored] = {}
    records: dict[str, Sequence[Any]] = {}
    for kind, table in TABLES.items():
        path = find(d, table.name)
        if path is None:
            records[kind] = []
            continue
        stored[kind] = Stored(path)
        records[kind] = _sequence(stored[kind], table)
    return RunFiles(d, summary, scenario_text, stored=stored, **records)
