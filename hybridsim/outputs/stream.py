"""Records that stream to disk as a run goes: a recorder whose lists spill.

The simulation appends rows with ``recorder.jobs.append(row)`` (and ``intervals``, ``queues``,
``steps``) and reads only their lengths. :class:`StreamingRecorder` gives it lists that do just
that: while a run is small every row stays in memory, exactly as with a plain
:class:`~hybridsim.records.Recorder`; when one list has reached
:data:`~hybridsim.records.SPILL_ROWS` rows at one of the simulation's checkpoints (every
:data:`~hybridsim.records.CHECKPOINT_EVENTS` events: :meth:`Recorder.checkpoint
<hybridsim.records.Recorder.checkpoint>`), all four are *spilled*: their rows are fed to the run's
aggregates
(:class:`hybridsim.metrics.RunTotals`, which give the summary), written to the output files and
dropped. Memory then stays bounded by one chunk of rows plus the aggregates, whatever the length
of the run.

What a spill writes, into the spill directory (the output's staging directory for
``hybridsim run``, else a private temporary directory):

``jobs.csv``, ``queues.csv``, ``steps.csv``
    appended chunk by chunk, with the same bytes as writing every row at the end (the writer is
    column-wise per chunk, and a gzip stream's bytes do not depend on how its input is split);
``intervals.csv``
    sorted by (start, resource, job id, kind) with ties in record order, job service intervals
    (derived from the job rows) first. Each spill sorts its chunk and stores it as a *run* in a
    temporary file; :meth:`StreamingRecorder.finish` merges the runs (``heapq.merge``, stable:
    on equal keys the earlier run wins), job-interval runs before recorded ones, which is the
    stable sort of all job intervals followed by all recorded intervals: the in-memory order.

A run killed midway leaves its files in the staging directory, which the next write to the same
output removes (:mod:`hybridsim.outdir`), or in a private ``hybridsim-records-*`` directory under
the system's temporary directory; never a half-written file where a complete one is expected.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import pickle
import secrets
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridsim import metrics as M
from hybridsim.outputs.columns import INTERVALS, JOBS, QUEUES, STEPS, TABLES, Table
from hybridsim.outputs.files import CsvSink, Stored, csv_name
from hybridsim.outputs.reader import RecordFile
from hybridsim.records import SPILL_ROWS, Recorder

__all__ = [
    "Spill",
    "SpillList",
    "StreamingRecorder",
    "Finished",
    "merge_intervals",
    "recorder_for",
]

# Intervals per stored block of a sorted run: the merge holds one block of each run, so a block
# is a small share of a chunk (512 of the default 131,072 rows: 150 runs, ~15 MB at 10**7 jobs).
_MERGE_BLOCK = 512
_MERGE_SHARE = 256
_SMALL_ROWS = 4  # interval, queue and step rows are 3-5 times smaller than job rows
_WRITE_CHUNK = 8192  # rows formatted and written at a time


@dataclass(frozen=True)
class Spill:
    """Where and when a run's records spill to disk.

    Parameters
    ----------
    directory : path, optional
        Where the files go (an existing directory: for ``hybridsim run``, the staging directory
        of ``--out``, so the files are written once, where they end up). Default: a private
        temporary directory, created at the first spill and removed once the run's files are
        finished (they stay readable through the open :class:`RunResult`).
    rows : int, optional
        Job rows held in memory before every kind spills (or four times as many rows of one of
        the smaller kinds: intervals, queue changes, steps). Default:
        :data:`~hybridsim.records.SPILL_ROWS`.
    """

    directory: str | os.PathLike | None = None
    rows: int | None = None

    def __post_init__(self) -> None:
        if self.rows is not None and self.rows < 1:
            raise ValueError(f"Spill.rows must be at least 1, got {self.rows}")

    @property
    def limit(self) -> int:
        """Job rows held before a spill."""
        return self.rows if self.rows is not None else SPILL_ROWS


class SpillList(list):
    """An append-only list of rows that tells its owner when it holds ``limit`` rows.

    A ``list``, so the engine's appends (a few per job) are the C ``list.append``; the owner
    looks at :attr:`due` at each of the simulation's checkpoints
    (:meth:`StreamingRecorder.checkpoint`) and takes the rows away. ``len`` counts every row
    appended, taken or not. Iterating and indexing are for the rows still in memory, i.e. only
    before any were taken (afterwards, read the finished result).
    """

    __slots__ = ("spilled", "_limit")

    def __init__(self, limit: int):
        super().__init__()
        self.spilled = 0
        self._limit = limit

    @property
    def due(self) -> bool:
        """Whether it holds ``limit`` rows or more."""
        return list.__len__(self) >= self._limit

    def take(self) -> list[Any]:
        """The rows in memory, which leave it."""
        rows = list.copy(self)
        list.clear(self)
        self.spilled += len(rows)
        return rows

    def __len__(self) -> int:
        return self.spilled + list.__len__(self)

    def __iter__(self) -> Iterator[Any]:
        if self.spilled:
            raise RuntimeError("these records were spilled to disk; read the finished run's")
        return list.__iter__(self)

    def __getitem__(self, index: Any) -> Any:
        if self.spilled:
            raise RuntimeError("these records were spilled to disk; read the finished run's")
        return list.__getitem__(self, index)


@dataclass
class Finished:
    """What a finished recorder holds: the aggregates, and each kind of record (lists, or lazy
    sequences over the files written).

    ``intervals`` are the recorded (non-job) intervals in ``intervals.csv`` order;
    ``all_intervals`` every row of ``intervals.csv`` (None when the run stayed in memory: it is
    then derived on demand). ``stored`` maps a kind to its finished file.
    """

    totals: M.RunTotals
    jobs: Sequence[Any]
    intervals: Sequence[Any]
    queues: Sequence[Any]
    steps: Sequence[Any]
    all_intervals: Sequence[Any] | None = None
    stored: dict[str, Stored] = field(default_factory=dict)
    directory: Path | None = None


class _Runs:
    """Sorted runs of rows in one temporary file, read back a block at a time.

    Rows are intervals (sorted by :data:`~hybridsim.metrics.INTERVAL_ORDER`, job-interval runs
    merged before recorded ones) or, with ``make=None``, plain tuples in their natural order
    (the qubit events of :meth:`hybridsim.metrics.RunTotals.take_qubit_events`).
    """

    def __init__(self, path: Path, block: int, make: Any = INTERVALS.record._make):
        self.path = path
        self.block = block
        self._make = make
        self._key = M.INTERVAL_ORDER if make is not None else None
        self._fh = open(path, "w+b")  # noqa: SIM115 - closed in close()
        self.job_runs: list[list[tuple[int, int]]] = []
        self.recorded_runs: list[list[tuple[int, int]]] = []
        self.rows = 0

    def add(self, records: list[Any], *, jobs: bool) -> None:
        if not records:
            return
        records.sort(key=self._key)
        blocks = []
        fh = self._fh
        step = self.block
        for i in range(0, len(records), step):
            data = pickle.dumps([tuple(r) for r in records[i : i + step]], pickle.HIGHEST_PROTOCOL)
            blocks.append((fh.tell(), len(data)))
            fh.write(data)
        (self.job_runs if jobs else self.recorded_runs).append(blocks)
        self.rows += len(records)

    def _read(self, blocks: list[tuple[int, int]]) -> Iterator[Any]:
        fd = self._fh.fileno()
        make = self._make
        for offset, length in blocks:
            rows = pickle.loads(os.pread(fd, length, offset))
            yield from (rows if make is None else map(make, rows))

    def merged(self) -> Iterator[Any]:
        """Every row stored, in order (the stable merge: on equal keys the earlier run's row)."""
        self._fh.flush()
        runs = [self._read(b) for b in (*self.job_runs, *self.recorded_runs)]
        if len(runs) == 1:
            return runs[0]
        return heapq.merge(*runs, key=self._key)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
        self.path.unlink(missing_ok=True)


def merge_intervals(jobs: Iterable[Any], intervals: Iterable[Any]) -> list[Any]:
    """All intervals of in-memory records in intervals.csv order (as
    :func:`hybridsim.metrics.device_intervals`)."""
    return M.device_intervals(jobs, intervals)


def _cleanup(sinks: dict[str, CsvSink], runs: list[_Runs], private: list[Path]) -> None:
    for sink in sinks.values():
        sink.abandon()
    for r in runs:
        with contextlib.suppress(OSError):  # best effort at exit
            r.close()
    for d in private:
        shutil.rmtree(d, ignore_errors=True)


class StreamingRecorder(Recorder):
    """A :class:`~hybridsim.records.Recorder` whose lists spill to disk (see the module
    docstring).

    Parameters
    ----------
    scenario : Scenario
        The run's scenario: pools and target accuracy for the aggregates, ``output.compress``
        for the files.
    spill : Spill, optional
        Where and when to spill (default: a private temporary directory, at
        :data:`~hybridsim.records.SPILL_ROWS` rows).
    expected_jobs : int
        Room reserved for the waits of completed jobs (the run's size estimate).
    """

    __slots__ = (
        "scenario",
        "totals",
        "compress",
        "_spill",
        "_dir",
        "_sinks",
        "_runs",
        "_kept",
        "_keep_rows",
        "_private",
        "_finished",
        "_finalizer",
        "__weakref__",
    )

    def __init__(self, scenario: Any, spill: Spill | None = None, expected_jobs: int = 0):
        spill = spill if spill is not None else Spill()
        rows = spill.limit
        small = _SMALL_ROWS * rows
        super().__init__(SpillList(rows), SpillList(small), SpillList(small), SpillList(small))
        self.scenario = scenario
        self.compress = bool(getattr(scenario.output, "compress", False))
        pools = [g.name for g in scenario.cluster.groups]
        target = getattr(scenario.workload, "target_accuracy", None)
        qpus = [g.name for g in scenario.cluster.qpu]
        self.totals = M.RunTotals(pools, target, expected_jobs, qpus)
        self._spill = spill
        self._dir: Path | None = None
        self._sinks: dict[str, CsvSink] = {}
        self._runs: list[_Runs] = []
        # Rows of each kind also kept in memory while there are few (a short list is cheaper to
        # hold than to read back): dropped once a kind has more than an eighth of its limit.
        self._kept: dict[str, list[Any] | None] = {k: [] for k in TABLES}
        self._keep_rows = {
            "jobs": rows // 8,
            **{k: small // 8 for k in ("intervals", "queues", "steps")},
        }
        self._private: list[Path] = []
        self._finished: Finished | None = None
        self._finalizer = weakref.finalize(self, _cleanup, self._sinks, self._runs, self._private)

    @property
    def spilled(self) -> bool:
        """Whether any rows have left memory."""
        return self._dir is not None

    def _open(self) -> Path:
        if self._dir is None:
            if self._spill.directory is None:
                d = Path(tempfile.mkdtemp(prefix="hybridsim-records-"))
                self._private.append(d)
            else:
                d = Path(self._spill.directory)
            self._dir = d
            block = max(16, min(_MERGE_BLOCK, self.jobs._limit // _MERGE_SHARE))  # type: ignore[attr-defined]
            self._runs.append(_Runs(d / f".intervals.runs.{secrets.token_hex(8)}.tmp", block))
            # Qubit events of QPU jobs (peak_physical_qubits_<group>), sorted the same way.
            self._runs.append(
                _Runs(d / f".qubits.runs.{secrets.token_hex(8)}.tmp", block, make=None)
            )
            for kind in ("jobs", "queues", "steps"):
                table = TABLES[kind]
                self._sinks[kind] = CsvSink(
                    d / csv_name(table.name, self.compress), table.columns, self.compress
                )
        return self._dir

    def checkpoint(self) -> None:
        """Spill if one of the lists holds its limit of rows (the simulation calls this every
        :data:`~hybridsim.records.CHECKPOINT_EVENTS` events)."""
        if self.jobs.due or self.intervals.due or self.queues.due or self.steps.due:  # type: ignore[attr-defined]
            self.spill()

    def spill(self) -> None:
        """Move every row still in memory to the aggregates and the files."""
        if self._finished is not None:
            raise RuntimeError("the recorder is finished")
        self._open()
        self._consume(
            self.jobs.take(),  # type: ignore[attr-defined]
            self.intervals.take(),  # type: ignore[attr-defined]
            self.queues.take(),  # type: ignore[attr-defined]
            self.steps.take(),  # type: ignore[attr-defined]
        )

    def _keep(self, kind: str, rows: list[Any]) -> None:
        kept = self._kept[kind]
        if kept is not None:
            if len(kept) + len(rows) > self._keep_rows[kind]:
                self._kept[kind] = None
            else:
                kept.extend(rows)

    def _consume(self, jobs: list, intervals: list, queues: list, steps: list) -> None:
        totals = self.totals
        totals.add_jobs(jobs)
        totals.add_intervals(intervals)
        totals.add_queues(queues)
        totals.add_steps(steps)
        for kind, rows in (("jobs", jobs), ("queues", queues), ("steps", steps)):
            _write(self._sinks[kind], TABLES[kind], rows)
            self._keep(kind, rows)
        self._keep("intervals", intervals)
        runs = self._runs[0]
        runs.add(M.job_intervals(jobs), jobs=True)
        runs.add(list(intervals), jobs=False)
        self._runs[1].add(totals.take_qubit_events(), jobs=True)

    def finish(self, extra_steps: Iterable[Any] = ()) -> Finished:
        """End the recording: aggregate what is left and, if anything spilled, finish the files.

        Parameters
        ----------
        extra_steps : iterable of StepRecord
            Rows appended to the steps after this run's own (the baselines' training steps), not
            part of this run's aggregates.

        Returns
        -------
        Finished
            The same object on every call.
        """
        if self._finished is not None:
            return self._finished
        jobs = self.jobs.take()  # type: ignore[attr-defined]
        intervals = self.intervals.take()  # type: ignore[attr-defined]
        queues = self.queues.take()  # type: ignore[attr-defined]
        steps = self.steps.take()  # type: ignore[attr-defined]
        extra = list(extra_steps)
        if self._dir is None:
            totals = self.totals
            totals.add_jobs(jobs)
            totals.add_intervals(intervals)
            totals.add_queues(queues)
            totals.add_steps(steps)
            intervals.sort(key=M.INTERVAL_ORDER)
            self._finished = Finished(totals, jobs, intervals, queues, steps + extra)
            return self._finished
        self._consume(jobs, intervals, queues, steps)
        _write(self._sinks["steps"], STEPS, extra)
        if self._kept["steps"] is not None:
            self._keep("steps", extra)
        self._finished = self._close(len(extra))
        return self._finished

    def _close(self, extra_steps: int) -> Finished:
        d = self._dir
        assert d is not None
        for sink in self._sinks.values():
            sink.close()
        qubits = self._runs[1]
        try:
            self.totals.fold_qubit_events(qubits.merged())
        finally:
            qubits.close()
        runs = self._runs[0]
        ivs = CsvSink(d / csv_name(INTERVALS.name, self.compress), INTERVALS.columns, self.compress)
        try:
            merged = runs.merged()
            while chunk := list(itertools.islice(merged, _WRITE_CHUNK)):
                ivs.write(INTERVALS.rows(chunk))
        finally:
            ivs.close()
            runs.close()
        stored = {
            "jobs": Stored(self._sinks["jobs"].path),
            "intervals": Stored(ivs.path),
            "queues": Stored(self._sinks["queues"].path),
            "steps": Stored(self._sinks["steps"].path),
        }
        totals = self.totals
        counts = {
            "jobs": totals.jobs,
            "queues": len(self.queues),
            "steps": len(self.steps) + extra_steps,
        }

        def records(kind: str, table: Table) -> Sequence[Any]:
            kept = self._kept[kind]
            if kept is not None:
                return kept
            return RecordFile(stored[kind], table, count=counts[kind])

        recorded = self._kept["intervals"]
        if recorded is not None:
            recorded.sort(key=M.INTERVAL_ORDER)
            intervals: Sequence[Any] = recorded
        else:
            # The engine records no interval of kind "job": those are derived from job rows.
            intervals = RecordFile(
                stored["intervals"], INTERVALS, count=totals.intervals, keep=_recorded
            )
        finished = Finished(
            totals,
            records("jobs", JOBS),
            intervals,
            records("queues", QUEUES),
            records("steps", STEPS),
            all_intervals=RecordFile(stored["intervals"], INTERVALS, count=runs.rows),
            stored=stored,
            directory=d,
        )
        if self._private and hasattr(os, "pread"):
            # The files stay readable through their open descriptors; nothing is left behind.
            for p in self._private:
                shutil.rmtree(p, ignore_errors=True)
            self._private.clear()
        return finished


def _recorded(iv: Any) -> bool:
    return iv.kind != "job"


def _write(sink: CsvSink, table: Table, rows: list[Any]) -> None:
    for i in range(0, len(rows), _WRITE_CHUNK):
        sink.write(table.rows(rows[i : i + _WRITE_CHUNK]))


def recorder_for(
    scenario: Any, spill: Spill | str | os.PathLike | None = None
) -> StreamingRecorder:
    """The recorder of one simulation of ``scenario``: streaming, spilling to ``spill`` (a
    :class:`Spill` or a directory; default: a private temporary directory), with room for the
    waits of the jobs the scenario's size estimate expects."""
    from hybridsim.sizing import run_size

    if not isinstance(spill, Spill):
        spill = Spill(spill)
    size = run_size(scenario)
    expected = size.jobs // max(size.simulations, 1)
    return StreamingRecorder(scenario, spill, expected_jobs=min(expected, 1 << 31))
