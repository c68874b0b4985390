"""The results store of a sweep: ``results.sqlite`` with one row per (point, seed), and its CSV.

Tables of ``results.sqlite``:

``meta``     ``key``/``value`` text pairs: ``format``, ``digest`` (the sweep definition's
             fingerprint), ``definition`` (JSON: factors, seeds, points), ``created_at``, ...
``points``   ``point``, ``factors`` (JSON), ``scenario`` (JSON: the resolved scenario it ran).
``results``  primary key (``point``, ``seed``); one column per factor (the value as written) and
             ``<factor>_s`` / ``<factor>_Bps`` for duration / bandwidth factors; ``status``
             (``ok``/``failed``), ``error``, ``wall_s``, ``worker``, ``finished_at``,
             ``versions`` (JSON), ``metrics`` (the flat summary as JSON, exact and in order), then
             one column per metric, added as new metrics appear.

Every row is committed as soon as its run finishes, so a crash or a kill loses at most the runs in
flight; the SQLite journal (WAL) makes each commit atomic. A store belongs to one sweep
definition: opening it for a different one is refused, so a table never mixes two sweeps.

The store is created whole or not at all: its tables and points are written to a fresh temporary
file in the same directory, which is then renamed to ``results.sqlite``. A sweep killed while
creating it leaves only the temporary file, removed by the next sweep in that directory; a
``results.sqlite`` without any table (left by a version that created it in place) is rebuilt.

Integers beyond SQLite's 64 bits (tick counts) are stored as decimal text in their metric
column; the ``metrics`` JSON keeps every value exactly.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import secrets
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hybridsim.errors import HybridSimError
from hybridsim.fileio import remove_temp_files, write_text
from hybridsim.outdir import LOCK_NAME as LOCK_NAME  # the directory lock, shared with runs
from hybridsim.outdir import DirLock
from hybridsim.sweep.spec import SweepSpec
from hybridsim.sweep.worker import RunOutcome

__all__ = [
    "DB_NAME",
    "CSV_NAME",
    "FORMAT",
    "ResultStore",
    "StoredSweep",
    "read_sweep",
    "export_csv",
    "is_sweep_dir",
    "csv_columns",
    "point_scenario",
    "check_out_dir",
]

DB_NAME = "results.sqlite"
CSV_NAME = "results.csv"
#: Temporary files a store is built in before it is renamed into place: ``.results.sqlite.*.tmp``.
_BUILD_PREFIX, _BUILD_SUFFIX = f".{DB_NAME}.", ".tmp"
FORMAT = "hybridsim-sweep/1"
#: Columns every results row has, after ``point``/``seed`` and the factor columns.
RUN_COLUMNS = ("status", "error", "wall_s", "worker", "finished_at", "versions", "metrics")
#: Columns left out of results.csv: wall-clock facts differ between identical runs, and
#: provenance is kept in the database.
CSV_EXCLUDED = frozenset({"wall_s", "worker", "finished_at", "versions", "metrics"})
_INT64 = (-(2**63), 2**63 - 1)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_value(value: Any) -> Any:
    if value is None or isinstance(value, str | float):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    return json.dumps(value, ensure_ascii=False)


def _json(value: Any) -> str:
    # allow_nan: a metric may be NaN (e.g. no gate time breaks even); Python's json reads it back.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def factor_columns(spec_or_def: SweepSpec | Mapping[str, Any]) -> list[str]:
    """Factor columns in order: each factor key, followed by its numeric companion if any."""
    factors = (
        spec_or_def["factors"]
        if isinstance(spec_or_def, Mapping)
        else [{"key": f.key, "kind": f.kind} for f in spec_or_def.factors]
    )
    out = []
    for f in factors:
        out.append(f["key"])
        if f["kind"] == "duration":
            out.append(f"{f['key']}_s")
        elif f["kind"] == "bandwidth":
            out.append(f"{f['key']}_Bps")
    return out


def _reserved(definition: Mapping[str, Any]) -> set[str]:
    return {"point", "seed", *factor_columns(definition), *RUN_COLUMNS}


def metric_column(name: str, reserved: set[str]) -> str:
    """The column of metric ``name``: the name itself unless a fixed column has it already."""
    return name if name not in reserved else f"summary.{name}"


def is_sweep_dir(path: str | Path) -> bool:
    """True if ``path`` holds a sweep's ``results.sqlite``."""
    return (Path(path) / DB_NAME).is_file()


def _remove_stale_builds(directory: Path) -> None:
    """Remove temporary databases left by sweeps killed while creating their store.

    Called with the directory lock held, so no other sweep is building one now.
    """
    for tmp in directory.glob(f"{_BUILD_PREFIX}*{_BUILD_SUFFIX}"):
        if tmp.is_file() and not tmp.is_symlink():
            tmp.unlink(missing_ok=True)


def _holds_nothing(path: Path) -> bool:
    """True if ``path`` is an empty file or an SQLite database without a single table."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        if path.stat().st_size == 0:
            return True
        conn = sqlite3.connect(path)
        try:
            (tables,) = conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except (OSError, sqlite3.DatabaseError):
        return False  # not ours to judge: opening it reports what is wrong
    return tables == 0


def _check_store(conn: sqlite3.Connection, directory: Path, spec: SweepSpec) -> None:
    """Refuse a database that is not a sweep store, or holds another sweep's results."""
    path = directory / DB_NAME
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
    except sqlite3.OperationalError:
        meta = {}
    if meta.get("format") != FORMAT:
        raise HybridSimError(
            f"{path}: not a hybridsim sweep results database; choose another --out"
        )
    if meta.get("digest") != spec.digest:
        old = meta.get("sweep_file", "another sweep")
        raise HybridSimError(
            f"{directory}: holds the results of a different sweep ({old}, definition "
            f"{meta.get('digest', '?')[:12]}; this one is {spec.digest[:12]}): the "
            "sweep file or its base scenario changed. Use another --out, or delete "
            f"{path} to start over"
        )


def check_out_dir(directory: str | Path, spec: SweepSpec) -> set[tuple[int, int]]:
    """Check, writing nothing, that a sweep can use ``directory``; its finished runs if any.

    Run before a backend starts (a cluster takes seconds to reach or to start), so that a bad
    ``--out`` is reported first, and a backend that cannot start leaves nothing behind.

    Returns
    -------
    set of (point, seed)
        The runs an existing store of this sweep holds as ``ok`` (empty for a new directory).

    Raises
    ------
    HybridSimError
        If ``directory`` cannot be created or written, or holds something that is not this
        sweep's store.
    """
    directory = Path(directory)
    if directory.exists() or directory.is_symlink():
        if not directory.is_dir():
            raise HybridSimError(f"{directory}: not a directory; choose another --out")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise HybridSimError(f"{directory}: not writable; choose another --out")
    else:
        parent = directory.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise HybridSimError(f"{directory}: cannot create directory: {parent} is not one")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise HybridSimError(f"{directory}: cannot create directory: {parent} is not writable")
        return set()
    path = directory / DB_NAME
    if not path.exists() or _holds_nothing(path):
        return set()
    try:
        conn = sqlite3.connect(path)
        try:
            _check_store(conn, directory, spec)
            rows = conn.execute("SELECT point, seed FROM results WHERE status = 'ok'")
            return {(p, s) for p, s in rows}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise HybridSimError(f"{path}: not a readable results database: {exc}") from None


class ResultStore:
    """Open (or create) the results store of ``spec`` in ``directory``.

    Parameters
    ----------
    directory : path
        The sweep's ``--out`` directory (created if needed).
    spec : SweepSpec
        The sweep the store belongs to.

    Raises
    ------
    HybridSimError
        If the directory holds the results of a different sweep, or another sweep process is
        writing to it.
    """

    def __init__(self, directory: str | Path, spec: SweepSpec):
        self.directory = Path(directory)
        self.spec = spec
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HybridSimError(f"{self.directory}: cannot create directory: {exc}") from None
        self._lock = DirLock(self.directory, what="sweep")
        self._lock.acquire()
        try:
            self._conn = self._open()
        except BaseException:
            self._lock.release()
            raise
        self._definition = spec.definition()
        self._reserved = _reserved(self._definition)
        self._columns = {row[1] for row in self._conn.execute("PRAGMA table_info(results)")}

    @property
    def path(self) -> Path:
        return self.directory / DB_NAME

    def _open(self) -> sqlite3.Connection:
        path = self.path
        _remove_stale_builds(self.directory)
        if path.exists() and _holds_nothing(path):
            # Left by a sweep killed while creating it in place (before creation was atomic):
            # no table, no row, nothing to lose. Build it again.
            for p in (path, path.with_name(DB_NAME + "-wal"), path.with_name(DB_NAME + "-shm")):
                p.unlink(missing_ok=True)
        try:
            if not path.exists():
                self._build()
            conn = sqlite3.connect(path, isolation_level=None)
            # WAL: a commit is one append, atomic across a crash or kill, without an fsync of
            # the whole database per row.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            _check_store(conn, self.directory, self.spec)
        except sqlite3.DatabaseError as exc:
            raise HybridSimError(f"{path}: not a readable results database: {exc}") from None
        return conn

    def _build(self) -> None:
        """Create the database under a fresh temporary name, then rename it into place."""
        tmp = self.directory / f"{_BUILD_PREFIX}{secrets.token_hex(8)}{_BUILD_SUFFIX}"
        try:
            # O_EXCL | O_NOFOLLOW: a new file of ours, never a planted one or a link's target.
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(tmp, flags, 0o666)  # as sqlite3 would create it (less the umask)
            os.close(fd)
        except OSError as exc:
            raise HybridSimError(f"{self.directory}: cannot create {DB_NAME}: {exc}") from None
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                # No journal: nothing reads this file before the rename, which is what makes
                # creation atomic. (A journal would also leave files named after tmp.)
                conn.execute("PRAGMA journal_mode=OFF")
                self._create(conn)
            finally:
                conn.close()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())  # the tables are on disk before the name points at them
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _create(self, conn: sqlite3.Connection) -> None:
        spec = self.spec
        factor_cols = ", ".join(_quote(c) for c in factor_columns(spec))
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute(
            "CREATE TABLE results (point INTEGER NOT NULL, seed INTEGER NOT NULL, "
            + (factor_cols + ", " if factor_cols else "")
            + "status TEXT NOT NULL, error TEXT, wall_s REAL, worker TEXT, finished_at TEXT, "
            "versions TEXT, metrics TEXT, PRIMARY KEY (point, seed))"
        )
        from hybridsim import __version__

        meta = {
            "format": FORMAT,
            "digest": spec.digest,
            "definition": _json(spec.definition()),
            "sweep_file": spec.file,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "created_by": f"hybridsim {__version__}",
        }
        conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        # Every point's resolved scenario: any row can be re-run exactly from the database.
        conn.execute(
            "CREATE TABLE points (point INTEGER PRIMARY KEY, factors TEXT NOT NULL, "
            "scenario TEXT NOT NULL)"
        )
        keys = [f.key for f in spec.factors]
        points = spec.points
        conn.executemany(
            "INSERT INTO points VALUES (?, ?, ?)",
            (
                (
                    i,
                    _json(dict(zip(keys, points.values(i), strict=True))),
                    points.scenario_json(i),
                )
                for i in range(len(points))
            ),
        )
        conn.execute("COMMIT")

    # -- reading ---------------------------------------------------------------------------------
    def finished(self) -> set[tuple[int, int]]:
        """(point, seed) of the runs that finished ok (failed ones are run again on resume)."""
        rows = self._conn.execute("SELECT point, seed FROM results WHERE status = 'ok'")
        return {(p, s) for p, s in rows}

    def counts(self) -> dict[str, int]:
        """Number of stored rows per status."""
        return dict(self._conn.execute("SELECT status, COUNT(*) FROM results GROUP BY status"))

    # -- writing ---------------------------------------------------------------------------------
    def record(self, outcome: RunOutcome) -> None:
        """Insert (or replace) the row of one finished run and commit it."""
        points = self.spec.points
        row: dict[str, Any] = {"point": outcome.point, "seed": outcome.seed}
        values, numeric = points.values(outcome.point), points.numeric(outcome.point)
        for info, value, num in zip(self.spec.factors, values, numeric, strict=True):
            row[info.key] = _sql_value(value)
            if info.numeric_column:
                row[info.numeric_column] = num
        row.update(
            status=outcome.status,
            error=outcome.error or None,
            wall_s=outcome.wall_s,
            worker=outcome.worker,
            finished_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            versions=_json(outcome.versions),
            metrics=_json(outcome.metrics),
        )
        for name, value in outcome.metrics.items():
            row[metric_column(name, self._reserved)] = _sql_value(value)
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for col in row:
                if col not in self._columns:
                    conn.execute(f"ALTER TABLE results ADD COLUMN {_quote(col)}")
            cols = ", ".join(_quote(c) for c in row)
            marks = ", ".join("?" for _ in row)
            conn.execute(
                f"INSERT OR REPLACE INTO results ({cols}) VALUES ({marks})", list(row.values())
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._columns.update(row)

    def close(self) -> None:
        """Close the database and release the directory."""
        try:
            self._conn.close()
        finally:
            self._lock.release()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- reading a finished (or partial) store ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredSweep:
    """What a results store holds, read back for the CSV export and the report.

    Attributes
    ----------
    definition : dict
        The sweep definition saved at creation (:meth:`SweepSpec.definition`).
    rows : list of dict
        One per stored run, ordered by point then seed: ``point``, ``seed``, ``status``,
        ``error``, ``wall_s``, ``worker``, ``versions`` (dict) and ``metrics`` (dict, in the
        summary's order).
    """

    definition: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def factors(self) -> list[dict[str, Any]]:
        return list(self.definition["factors"])

    def point(self, index: int) -> dict[str, Any]:
        """The definition of point ``index`` (``values``, ``numeric``)."""
        return self.definition["points"][index]


def read_sweep(directory: str | Path) -> StoredSweep:
    """Read the results store in ``directory`` (only reads; a running sweep may keep writing).

    Raises
    ------
    HybridSimError
        If there is no store, or it is not one.
    """
    path = Path(directory) / DB_NAME
    if not path.is_file():
        raise HybridSimError(f"{directory}: no {DB_NAME} (not a sweep directory)")
    try:
        # Not mode=ro: a reader of a WAL database must be able to create its -shm index.
        conn = sqlite3.connect(path)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            if meta.get("format") != FORMAT:
                raise HybridSimError(f"{path}: not a hybridsim sweep results database")
            cur = conn.execute(
                "SELECT point, seed, status, error, wall_s, worker, versions, metrics "
                "FROM results ORDER BY point, seed"
            )
            rows = [
                {
                    "point": p,
                    "seed": s,
                    "status": st,
                    "error": err or "",
                    "wall_s": wall,
                    "worker": worker,
                    "versions": json.loads(versions) if versions else {},
                    "metrics": json.loads(metrics) if metrics else {},
                }
                for p, s, st, err, wall, worker, versions, metrics in cur
            ]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise HybridSimError(f"{path}: not a readable results database: {exc}") from None
    return StoredSweep(json.loads(meta["definition"]), rows)


def point_scenario(directory: str | Path, point: int) -> dict[str, Any]:
    """The resolved scenario (TOML data) that point ``point`` of the sweep in ``directory`` ran."""
    path = Path(directory) / DB_NAME
    try:
        conn = sqlite3.connect(path)
        try:
            row = conn.execute("SELECT scenario FROM points WHERE point = ?", (point,)).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise HybridSimError(f"{path}: not a readable results database: {exc}") from None
    if row is None:
        raise HybridSimError(f"{path}: no point {point}")
    return json.loads(row[0])


def csv_columns(stored: StoredSweep) -> list[str]:
    """Columns of results.csv: point, seed, factors, status, error, then metrics.

    Metrics keep the summaries' order: walking the rows by point then seed, a metric not seen
    before is placed right after the metric that precedes it in its row (``utilization_q-2``
    after ``utilization_q-1``). The same rows give the same header, whichever backend ran them.
    """
    definition = stored.definition
    reserved = _reserved(definition)
    metrics: list[str] = []
    known: set[str] = set()
    for row in stored.rows:
        after = -1  # a new metric goes right after the one before it in its row
        for name in row["metrics"]:
            col = metric_column(name, reserved)
            if col in known:
                after = metrics.index(col)
                continue
            after += 1
            metrics.insert(after, col)
            known.add(col)
    return ["point", "seed", *factor_columns(definition), "status", "error", *metrics]


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    if isinstance(value, Mapping | list):
        return _json(value)
    return value


def csv_rows(stored: StoredSweep) -> Iterable[list[Any]]:
    """Rows of results.csv matching :func:`csv_columns`."""
    definition = stored.definition
    reserved = _reserved(definition)
    columns = csv_columns(stored)
    for row in stored.rows:
        point = stored.point(row["point"])
        cells: dict[str, Any] = {"point": row["point"], "seed": row["seed"]}
        for f, value, num in zip(
            definition["factors"], point["values"], point["numeric"], strict=True
        ):
            cells[f["key"]] = value
            if f["kind"] in ("duration", "bandwidth"):
                cells[factor_columns({"factors": [f]})[1]] = num
        cells["status"] = row["status"]
        cells["error"] = row["error"]
        for name, value in row["metrics"].items():
            cells[metric_column(name, reserved)] = value
        yield [_csv_cell(cells.get(c)) for c in columns]


def export_csv(directory: str | Path) -> Path:
    """Write ``results.csv`` (tidy: one row per run) from the store in ``directory``.

    Deterministic: rows by point then seed, no wall-clock columns, floats written exactly
    (``repr``), so serial, pool and Dask runs of a sweep give byte-identical files. The file is
    replaced atomically.
    """
    stored = read_sweep(directory)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(csv_columns(stored))
    w.writerows(csv_rows(stored))
    path = Path(directory) / CSV_NAME
    remove_temp_files(path.parent, [CSV_NAME])  # left by a killed export
    return write_text(path, buf.getvalue())
