"""Running a sweep: validate, resume from the store, feed a run backend, record, export.

:func:`run_sweep` is the public entry (``hybridsim.run_sweep``). The loop is the only writer of
the store: workers return outcomes and this process commits each one as it arrives, so there is
no cross-process locking and a kill loses only runs in flight.

Order of work: validate every point, check ``out`` (writing nothing), start the backend, then
open or create the store. A backend that cannot start (an unreachable scheduler, a local cluster
that fails) therefore leaves nothing behind, and one that is lost mid-sweep
(:class:`~hybridsim.sweep.backends.BackendLost`) ends the call with one error line after the
saved rows are exported.
"""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridsim.errors import HybridSimError
from hybridsim.sweep.backends import BackendLost, RunBackend, make_backend
from hybridsim.sweep.spec import SweepSpec, load_sweep
from hybridsim.sweep.store import (
    CSV_NAME,
    DB_NAME,
    ResultStore,
    check_out_dir,
    export_csv,
    read_sweep,
)
from hybridsim.sweep.worker import RunOutcome, RunTask

__all__ = ["SweepResult", "SweepInterrupted", "run_sweep", "run_dir_name"]


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What a sweep call did and where its results are.

    Attributes
    ----------
    out : Path
        The results directory.
    name : str
        The sweep's name.
    runs : int
        Runs in the sweep (points × seeds).
    ran : int
        Runs executed by this call.
    reused : int
        Finished runs found in the store from an earlier call, kept as they were.
    ok, failed : int
        Rows of each status in the store at the end.
    interrupted : bool
        True if the call was stopped (Ctrl-C) before every run finished.
    backend : str
        Which backend ran this call's runs, as its description (``"2 local workers"``).
    """

    out: Path
    name: str
    runs: int
    ran: int
    reused: int
    ok: int
    failed: int
    interrupted: bool
    backend: str

    @property
    def executor(self) -> str:
        """Deprecated (one release): :attr:`backend`."""
        import warnings

        warnings.warn(
            "SweepResult.executor is deprecated; use SweepResult.backend",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.backend

    @property
    def missing(self) -> int:
        """Runs with no row yet (an interrupted sweep); re-running resumes them."""
        return self.runs - self.ok - self.failed

    @property
    def results_db(self) -> Path:
        return self.out / DB_NAME

    @property
    def results_csv(self) -> Path:
        return self.out / CSV_NAME

    def rows(self) -> list[dict[str, str]]:
        """The rows of results.csv (every value a string, as in the file)."""
        with open(self.results_csv, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    def failures(self) -> list[tuple[int, int, str]]:
        """(point, seed, error) of every failed run in the store."""
        return [
            (r["point"], r["seed"], r["error"])
            for r in read_sweep(self.out).rows
            if r["status"] == "failed"
        ]


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep; every run that finished is saved. ``result`` says how far it got."""

    def __init__(self, result: SweepResult):
        super().__init__("sweep interrupted")
        self.result = result


def run_dir_name(spec: SweepSpec, point: int, seed: int) -> str:
    """Name of a kept run's directory under ``OUT/runs``: ``p0003_s1``."""
    width = max(4, len(str(len(spec.points) - 1)))
    return f"p{point:0{width}d}_s{seed}"


def _tasks(spec: SweepSpec, done: set[tuple[int, int]], keep: bool) -> Iterator[RunTask]:
    # Lazily: backends keep a bounded window in flight, so at most that many scenarios exist.
    for i in range(len(spec.points)):
        if all((i, seed) in done for seed in spec.seeds):
            continue
        point = spec.points[i]
        for seed in spec.seeds:
            if (i, seed) not in done:
                yield RunTask(i, seed, point.scenario, keep)


def _keep(out: Path, spec: SweepSpec, outcome: RunOutcome) -> None:
    path = out / "runs" / run_dir_name(spec, outcome.point, outcome.seed)
    try:
        outcome.result.write(path)
    except OSError as exc:
        raise HybridSimError(f"{path}: cannot write the run directory: {exc}") from None


def _progress_bar(spec: SweepSpec, done: int, enabled: bool, backend: RunBackend) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=spec.runs,
        initial=done,
        unit="run",
        desc=spec.name,
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        mininterval=0.5,
        postfix={"failed": 0, "on": backend.description},
    )


#: The keywords that choose a backend, as :func:`run_sweep` names them.
_CHOICES = ("serial", "workers", "cluster", "dask_local")


def run_sweep(
    sweep: str | Path | Mapping[str, Any] | SweepSpec,
    out: str | Path,
    backend: RunBackend | None = None,
    *,
    workers: int | None = None,
    cluster: str | None = None,
    dask_local: int | None = None,
    serial: bool = False,
    keep_runs: bool = False,
    progress: bool = True,
) -> SweepResult:
    """Run a sweep, or resume it, and write ``results.sqlite`` and ``results.csv`` to ``out``.

    Every point is validated before anything runs. Re-running with the same ``out`` keeps the
    finished runs and runs the missing and failed ones; a different sweep in the same directory
    is refused.

    Parameters
    ----------
    sweep : path, mapping or SweepSpec
        A sweep TOML file (docs/reference/sweep-files.md), data shaped like one (``base`` may
        be a scenario mapping, and a relative ``base`` path is read from the current
        directory), or a sweep already loaded by :func:`~hybridsim.sweep.spec.load_sweep`.
    out : path
        Results directory (created if needed).
    backend : RunBackend, optional
        Where the runs happen, built by the caller (:mod:`hybridsim.sweep.backends`); entered
        here, and only if some run is missing. Default: the one ``workers``, ``cluster``,
        ``dask_local`` or ``serial`` choose (:func:`~hybridsim.sweep.backends.make_backend`).
    workers : int, optional
        Size of the local process pool (default: the usable cores).
    cluster : str, optional
        Address of a running Dask scheduler (``"tcp://HOST:PORT"``).
    dask_local : int, optional
        Start a ``distributed.LocalCluster`` with this many workers.
    serial : bool
        Run in this process, one run after another.
    keep_runs : bool
        Also write every run's full outputs to ``out/runs/p<point>_s<seed>/``.
    progress : bool
        Show a progress bar (runs done, failures, ETA) on stderr.

    Give at most one of ``backend``, ``workers``, ``cluster``, ``dask_local`` and ``serial``.
    Results are identical whichever backend runs them.

    Returns
    -------
    SweepResult

    Raises
    ------
    ScenarioError
        For an invalid sweep file or point, naming the point and the key.
    HybridSimError
        If ``out`` is unusable, holds another sweep's results or another sweep is writing
        there; if more than one backend is chosen or the backend cannot start (nothing is
        written then); or if it is lost mid-sweep (a Dask scheduler that died: the finished
        runs are saved and exported).
    SweepInterrupted
        On Ctrl-C (a KeyboardInterrupt), after saving every finished run and the CSV;
        ``.result`` says how many.

    Examples
    --------
    >>> import hybridsim, tempfile
    >>> base = {"cluster": {"gpu": [{"name": "g"}]},
    ...         "workload": {"kind": "synthetic", "jobs": 5, "pool": "gpu",
    ...                      "arrival": {"dist": "exponential", "rate_per_s": 1.0},
    ...                      "service": {"dist": "deterministic", "value_s": 0.5}}}
    >>> spec = {"base": base, "seeds": [1, 2],
    ...         "factors": {"cluster.gpu.g.count": [1, 2]}}
    >>> r = hybridsim.run_sweep(spec, tempfile.mkdtemp(), serial=True, progress=False)
    >>> r.runs, r.ok, r.failed, r.backend
    (4, 4, 0, 'serial')
    """
    if backend is None:
        # Before the sweep is loaded, as before: a contradictory choice costs no validation.
        backend = make_backend(
            serial=serial, workers=workers, cluster=cluster, dask_local=dask_local
        )
    else:
        choices = (serial or None, workers, cluster, dask_local)
        given = [k for k, v in zip(_CHOICES, choices, strict=True) if v is not None]
        if given:
            raise HybridSimError(
                f"choose one executor: a backend and {' and '.join(given)} given together"
            )
    spec = sweep if isinstance(sweep, SweepSpec) else load_sweep(sweep)
    return _run(spec, Path(out), backend, keep_runs=keep_runs, progress=progress)


def _run(
    spec: SweepSpec, out: Path, backend: RunBackend, *, keep_runs: bool, progress: bool
) -> SweepResult:
    """Run the runs of ``spec`` that ``out`` does not hold yet on ``backend``; export the CSV."""
    interrupted = False
    lost: BackendLost | None = None
    ran = 0
    done = check_out_dir(out, spec)  # a bad --out is reported before any backend starts
    with contextlib.ExitStack() as stack:
        started = False
        if len(done) < spec.runs:
            # Started before the store is created: if it cannot start, nothing is written.
            # (And a pool forks its workers before the progress bar starts its thread.)
            stack.enter_context(backend)
            started = True
        store = stack.enter_context(ResultStore(out, spec))
        done = store.finished()
        if len(done) < spec.runs:
            if not started:  # another call finished fewer runs than the check saw: unusual
                stack.enter_context(backend)
            bar = _progress_bar(spec, len(done), progress, backend)
            failed = 0
            try:
                for outcome in backend.run(_tasks(spec, done, keep_runs)):
                    if outcome.result is not None:
                        _keep(out, spec, outcome)
                    store.record(outcome)
                    ran += 1
                    if outcome.status != "ok":
                        failed += 1
                        bar.set_postfix(failed=failed, on=backend.description)
                    bar.update()
            except KeyboardInterrupt:
                interrupted = True
                backend.cancel()
            except BackendLost as exc:
                lost = exc
                backend.cancel()
            except BaseException:
                backend.cancel()
                raise
            finally:
                bar.close()
        counts = store.counts()
    export_csv(out)
    if lost is not None:
        saved = counts.get("ok", 0) + counts.get("failed", 0)
        raise HybridSimError(
            f"{lost}; {saved} of {spec.runs} runs are saved in {out}: run the same command "
            "again to resume (with any executor)"
        )
    result = SweepResult(
        out=out,
        name=spec.name,
        runs=spec.runs,
        ran=ran,
        reused=len(done),
        ok=counts.get("ok", 0),
        failed=counts.get("failed", 0),
        interrupted=interrupted,
        backend=backend.description,
    )
    if interrupted:
        raise SweepInterrupted(result)
    return result
