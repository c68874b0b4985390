"""Running a validated sweep: resume from the store, feed an executor, record, export.

The loop is the only writer of the store: workers return outcomes and this process commits each
one as it arrives, so there is no cross-process locking and a kill loses only runs in flight.

Order of work: check ``out`` (writing nothing), start the executor, then open or create the store.
An executor that cannot start (an unreachable scheduler, a local cluster that fails) therefore
leaves nothing behind, and one that is lost mid-sweep (:class:`ExecutorLost`) ends the call with
one error line after the saved rows are exported.
"""

from __future__ import annotations

import contextlib
import csv
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridsim.errors import HybridSimError
from hybridsim.sweep.executors import Executor, ExecutorLost
from hybridsim.sweep.spec import SweepSpec
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
    executor : str
        Which executor ran this call's runs.
    """

    out: Path
    name: str
    runs: int
    ran: int
    reused: int
    ok: int
    failed: int
    interrupted: bool
    executor: str

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
    # Lazily: executors keep a bounded window in flight, so at most that many scenarios exist.
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


def _progress_bar(spec: SweepSpec, done: int, enabled: bool, executor: Executor) -> Any:
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
        postfix={"failed": 0, "on": executor.description},
    )


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    executor: Executor,
    *,
    keep_runs: bool = False,
    progress: bool = True,
) -> SweepResult:
    """Run the runs of ``spec`` that ``out`` does not hold yet, and export results.csv.

    Parameters
    ----------
    spec : SweepSpec
        A validated sweep (:func:`~hybridsim.sweep.spec.load_sweep`).
    out : path
        Results directory; a store from an earlier call of the same sweep is resumed (finished
        runs kept, missing and failed ones run).
    executor : Executor
        Where the runs happen (:func:`~hybridsim.sweep.executors.make_executor`).
    keep_runs : bool
        Also write each run's full outputs to ``out/runs/p<point>_s<seed>``.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    SweepResult

    Raises
    ------
    SweepInterrupted
        On Ctrl-C, after saving every finished run and the CSV.
    HybridSimError
        If ``out`` is unusable, holds another sweep's results or another sweep is writing
        there; if the executor cannot start (nothing is written then); or if it is lost
        mid-sweep (a Dask scheduler that died: the finished runs are saved and exported).
    """
    out = Path(out)
    interrupted = False
    lost: ExecutorLost | None = None
    ran = 0
    done = check_out_dir(out, spec)  # a bad --out is reported before any executor starts
    with contextlib.ExitStack() as stack:
        started = False
        if len(done) < spec.runs:
            # Started before the store is created: if it cannot start, nothing is written.
            # (And a pool forks its workers before the progress bar starts its thread.)
            stack.enter_context(executor)
            started = True
        store = stack.enter_context(ResultStore(out, spec))
        done = store.finished()
        if len(done) < spec.runs:
            if not started:  # another call finished fewer runs than the check saw: unusual
                stack.enter_context(executor)
            bar = _progress_bar(spec, len(done), progress, executor)
            failed = 0
            try:
                for outcome in executor.run(_tasks(spec, done, keep_runs)):
                    if outcome.result is not None:
                        _keep(out, spec, outcome)
                    store.record(outcome)
                    ran += 1
                    if outcome.status != "ok":
                        failed += 1
                        bar.set_postfix(failed=failed, on=executor.description)
                    bar.update()
            except KeyboardInterrupt:
                interrupted = True
                executor.cancel()
            except ExecutorLost as exc:
                lost = exc
                executor.cancel()
            except BaseException:
                executor.cancel()
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
        executor=executor.description,
    )
    if interrupted:
        raise SweepInterrupted(result)
    return result
