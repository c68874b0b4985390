"""The columns of a run's CSV files, declared once: what each column holds, how a chunk of
records becomes rows, and how rows become records again.

Each file has one :class:`Table`: its record type and its columns in file order. A column is
either a field of the record, copied as is, or a *derived* column (the seconds of an instant, a
span in seconds), computed from the record's fields; derived columns are not read back, because
the exact ticks they come from are in the file too. To add a column, add the field to the record
type (:mod:`hybridsim.records`) and its name to the table's column list here; a derived column
also gets an entry in the table's ``derived`` mapping. docs/reference/outputs.md documents every
column (tests/test_report.py checks that).

Writing is column-wise: a chunk of records is transposed once (``zip(*records)``, in C) and each
derived column computed over its whole column, so formatting costs a few C-level passes per
chunk instead of a Python call per cell. Cells are written by :mod:`csv` as they are: integers
in decimal (exact, of any size), floats as their shortest round-tripping ``repr``, ``None`` as an
empty cell, booleans as ``True``/``False``.

Reading is column-wise too, with one converter per field chosen from the record's type
annotations (no generated code): ``int``, ``float``, ``bool`` and ``str`` fields, each possibly
optional (``float | None``: an empty cell reads as None). Columns are matched by name, so files
with extra columns (written by a newer hybridsim) still load, and a column missing from an older
file takes the record's default when it has one.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import NoneType, UnionType
from typing import Any

from hybridsim.errors import OutputError
from hybridsim.records import IntervalRecord, JobRecord, QueueRecord, StepRecord
from hybridsim.timebase import TICKS_PER_SECOND

__all__ = [
    "Table",
    "JOBS",
    "INTERVALS",
    "QUEUES",
    "STEPS",
    "TABLES",
    "JOB_COLUMNS",
    "INTERVAL_COLUMNS",
    "QUEUE_COLUMNS",
    "STEP_COLUMNS",
]

Columns = Mapping[str, Sequence[Any]]  # a chunk, transposed: field name -> its values


def _seconds(field_name: str) -> Callable[[Columns], list[float]]:
    """The column of an instant in float seconds (int / int: correctly rounded)."""

    def derive(cols: Columns) -> list[float]:
        return [t / TICKS_PER_SECOND for t in cols[field_name]]

    return derive


def _span(start: str, end: str) -> Callable[[Columns], list[float]]:
    """The column ``end - start`` (exact in ticks) in float seconds."""

    def derive(cols: Columns) -> list[float]:
        return [(b - a) / TICKS_PER_SECOND for a, b in zip(cols[start], cols[end], strict=True)]

    return derive


def _transfer(cols: Columns) -> list[float]:
    """Network time: (started - dispatched) + (completed - finished), in seconds."""
    return [
        ((s - d) + (c - f)) / TICKS_PER_SECOND
        for d, s, f, c in zip(
            cols["dispatched_at"],
            cols["started_at"],
            cols["finished_at"],
            cols["completed_at"],
            strict=True,
        )
    ]


_INSTANTS = ("submitted_at", "dispatched_at", "started_at", "finished_at", "completed_at")

#: Columns of jobs.csv, in order (documented in docs/reference/outputs.md).
JOB_COLUMNS = [
    "job_id",
    "tenant",
    "step",
    "block",
    "n",
    "d",
    "priority",
    "route",
    "group",
    "device",
    "status",
    *_INSTANTS,
    *(c.replace("_at", "_s") for c in _INSTANTS),
    "wait_s",
    "transfer_s",
    "service_s",
    "response_s",
    "kappa_est",
    "kappa_true",
    "estimator",
    "predicted_s",
    "predicted_classical_s",
    "predicted_quantum_s",
    "solver",
    "method",
    "matrix",
    "assembly_s",
    "factor_reused",
    "compute_s",
    "state_prep_s",
    "readout_s",
    "overhead_s",
    "queries",
    "shots",
    "n_qubits",
    # the job's size on a QPU (issue 13, fault tolerance)
    "logical_qubits",
    "t_count",
    "code_distance",
    "physical_qubits",
    "success_probability",
    "fidelity",
    "solution_error",
    "attempts",
    "fail_reason",
]
_JOB_DERIVED = {
    **{c.replace("_at", "_s"): _seconds(c) for c in _INSTANTS},
    "wait_s": _span("submitted_at", "dispatched_at"),
    "transfer_s": _transfer,
    "service_s": _span("started_at", "finished_at"),
    "response_s": _span("submitted_at", "completed_at"),
}

#: Columns of intervals.csv, in order.
INTERVAL_COLUMNS = [
    "resource",
    "kind",
    "start_at",
    "end_at",
    "start_s",
    "end_s",
    "duration_s",
    "job_id",
    "label",
]
_INTERVAL_DERIVED = {
    "start_s": _seconds("start_at"),
    "end_s": _seconds("end_at"),
    "duration_s": _span("start_at", "end_at"),
}

#: Columns of queues.csv, in order.
QUEUE_COLUMNS = ["at", "at_s", "pool", "length"]
_QUEUE_DERIVED = {"at_s": _seconds("at")}

#: Columns of steps.csv, in order.
STEP_COLUMNS = [
    "run",
    "tenant",
    "step",
    "at",
    "at_s",
    "loss",
    "train_accuracy",
    "test_accuracy",
    "blocks",
    "routed_quantum",
    "hhl_jobs",
    "kappa_true_median",
    "kappa_est_median",
    "kappa_true_max",
    "kappa_est_max",
    "d_median",
    "solution_error_max",
    "failed_blocks",
    "kappa_clipped",
]
_STEP_DERIVED = {"at_s": _seconds("at")}


# -- reading cells ----------------------------------------------------------------------------


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

    def read_column(self, cells: Sequence[str]) -> list[Any]:
        """Every cell of one column (raises ValueError at the first unreadable cell)."""
        base = self.base
        if base is str:
            return [c or None for c in cells] if self.optional else list(cells)
        if self.optional:
            return [None if c == "" else base(c) for c in cells]
        return list(map(base, cells))


def _fields(record_type: type[Any]) -> tuple[_Field, ...]:
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
    return tuple(out)


# -- tables -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One CSV file of a run: its name, record type and columns.

    Parameters
    ----------
    name : str
        The file's name without compression suffix (``jobs.csv``).
    record : type
        The ``NamedTuple`` row type of :mod:`hybridsim.records`.
    columns : sequence of str
        Column names in file order: record fields, or keys of ``derived``.
    derived : mapping
        Derived column name -> function of a transposed chunk (field name -> values) returning
        the column's values.
    """

    name: str
    record: type[Any]  # a NamedTuple class: _fields, _field_defaults, _make
    columns: tuple[str, ...]
    derived: Mapping[str, Callable[[Columns], Sequence[Any]]] = field(repr=False)

    def __post_init__(self) -> None:
        fields = set(self.record._fields)
        unknown = [c for c in self.columns if c not in fields and c not in self.derived]
        if unknown:  # pragma: no cover - a slip in the tables above
            raise ValueError(f"{self.name}: columns {unknown} are neither fields nor derived")

    @functools.cached_property
    def fields(self) -> tuple[_Field, ...]:
        """How each record field is read back (in field order)."""
        return _fields(self.record)

    def rows(self, records: Sequence[Any]) -> Iterator[tuple[Any, ...]]:
        """The CSV rows of a chunk of records, in order (cells as :mod:`csv` writes them)."""
        if not records:
            return iter(())
        cols = dict(zip(self.record._fields, zip(*records, strict=True), strict=True))
        return zip(
            *(cols[c] if c in cols else self.derived[c](cols) for c in self.columns), strict=True
        )

    def reader(self, header: Sequence[str], where: str) -> Callable[[list[list[str]], int], list]:
        """A function turning a chunk of rows (lists of cells) of a file with ``header`` into
        records; its second argument is the file line of the chunk's first row (for messages).

        Raises
        ------
        OutputError
            A field without default missing from ``header`` (now), a row of the wrong length or
            an unreadable cell (when a chunk is read; the message names ``where``, the line and
            the column).
        """
        index = {name: i for i, name in enumerate(header)}
        defaults = self.record._field_defaults
        plan: list[tuple[_Field, int | None, Any]] = []
        for f in self.fields:
            if f.name in index:
                plan.append((f, index[f.name], None))
            elif f.name in defaults:
                plan.append((f, None, defaults[f.name]))  # an older file: the record's default
            else:
                raise OutputError(f"{where}: missing column {f.name!r}")
        width = len(header)
        make = functools.partial(tuple.__new__, self.record)

        def read(rows: list[list[str]], first_line: int) -> list:
            if not rows:
                return []
            if any(len(r) != width for r in rows):
                n = next(k for k, r in enumerate(rows) if len(r) != width)
                raise OutputError(
                    f"{where}: line {first_line + n}: {len(rows[n])} cells (expected {width})"
                )
            cells = list(zip(*rows, strict=True))
            columns = []
            for f, i, default in plan:
                if i is None:
                    columns.append([default] * len(rows))
                    continue
                try:
                    columns.append(f.read_column(cells[i]))
                except ValueError:
                    raise _bad_cell(where, first_line, f, cells[i]) from None
            return list(map(make, zip(*columns, strict=True)))

        return read


def _bad_cell(where: str, first_line: int, f: _Field, cells: Sequence[str]) -> OutputError:
    for n, cell in enumerate(cells):
        try:
            f.read(cell)
        except ValueError:
            return OutputError(
                f"{where}: line {first_line + n}: column {f.name!r}: cannot read {cell!r}"
            )
    return OutputError(f"{where}: column {f.name!r}: cannot read")  # pragma: no cover


JOBS = Table("jobs.csv", JobRecord, tuple(JOB_COLUMNS), _JOB_DERIVED)
INTERVALS = Table("intervals.csv", IntervalRecord, tuple(INTERVAL_COLUMNS), _INTERVAL_DERIVED)
QUEUES = Table("queues.csv", QueueRecord, tuple(QUEUE_COLUMNS), _QUEUE_DERIVED)
STEPS = Table("steps.csv", StepRecord, tuple(STEP_COLUMNS), _STEP_DERIVED)
#: The four tables by kind of record.
TABLES = {"jobs": JOBS, "intervals": INTERVALS, "queues": QUEUES, "steps": STEPS}
