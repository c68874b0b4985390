"""Run outputs: the one place that knows their format.

The files of a run directory (docs/reference/outputs.md) are declared, written and read here:

:mod:`~hybridsim.outputs.columns`  the columns of ``jobs.csv``, ``intervals.csv``, ``queues.csv``
                                   and ``steps.csv`` (one :class:`~columns.Table` per file), how a
                                   chunk of records becomes rows and rows become records again;
:mod:`~hybridsim.outputs.files`    file names, deterministic gzip, chunked CSV writers, readers
                                   over open file descriptors;
:mod:`~hybridsim.outputs.writer`   writing a run directory from a ``RunResult``;
:mod:`~hybridsim.outputs.reader`   reading one back (:func:`read_run`), small files into lists,
                                   long ones as lazy sequences;
:mod:`~hybridsim.outputs.stream`   the recorder whose lists spill to disk during a run.

:class:`hybridsim.results.RunResult` is the public face: ``run`` returns one, ``RunResult.load``
reads one back, ``RunResult.write`` writes one, and the report draws from one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybridsim._lazy import lazy_attributes

__all__ = [
    "Table",
    "TABLES",
    "JOB_COLUMNS",
    "INTERVAL_COLUMNS",
    "QUEUE_COLUMNS",
    "STEP_COLUMNS",
    "RecordFile",
    "RunFiles",
    "read_records",
    "read_run",
    "Saved",
    "write_run",
    "Spill",
    "StreamingRecorder",
]

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.outputs.columns import (
        INTERVAL_COLUMNS,
        JOB_COLUMNS,
        QUEUE_COLUMNS,
        STEP_COLUMNS,
        TABLES,
        Table,
    )
    from hybridsim.outputs.reader import RecordFile, RunFiles, read_records, read_run
    from hybridsim.outputs.stream import Spill, StreamingRecorder
    from hybridsim.outputs.writer import Saved, write_run

_LAZY = {
    "Table": "hybridsim.outputs.columns",
    "TABLES": "hybridsim.outputs.columns",
    "JOB_COLUMNS": "hybridsim.outputs.columns",
    "INTERVAL_COLUMNS": "hybridsim.outputs.columns",
    "QUEUE_COLUMNS": "hybridsim.outputs.columns",
    "STEP_COLUMNS": "hybridsim.outputs.columns",
    "RecordFile": "hybridsim.outputs.reader",
    "RunFiles": "hybridsim.outputs.reader",
    "read_records": "hybridsim.outputs.reader",
    "read_run": "hybridsim.outputs.reader",
    "Saved": "hybridsim.outputs.writer",
    "write_run": "hybridsim.outputs.writer",
    "Spill": "hybridsim.outputs.stream",
    "StreamingRecorder": "hybridsim.outputs.stream",
}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
