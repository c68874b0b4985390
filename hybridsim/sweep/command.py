"""The ``hybridsim sweep`` command and ``hybridsim report`` on a sweep directory.

``hybridsim sweep SWEEP.toml --out DIR [--workers N | --cluster tcp://HOST:PORT | --dask-local N
| --serial] [--keep-runs] [--quiet]``

:mod:`hybridsim.cli` wires these in; errors are :class:`~hybridsim.errors.HybridSimError`, which
it turns into one ``error: ...`` line and exit code 2 (bad input, an executor that cannot start,
a Dask scheduler lost mid-sweep). Exit codes of ``sweep``: 0 when every run is ok, 1 when some
runs failed (their rows hold the errors), 130 when interrupted (finished runs are saved; the same
command resumes). Unless ``--quiet``, it first prints the sweep's size: ``NAME: 9 points × 3 seeds
= 27 runs on EXECUTOR -> DIR``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_sweep_parser", "sweep_command", "sweep_report_command"]

_MAX_LISTED_FAILURES = 3


def add_sweep_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``sweep`` sub-command to ``subparsers`` and return its parser."""
    p = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep (re-run with the same --out to resume)",
        description="Run every point of a sweep file for every seed and store one row per run "
        "in DIR/results.sqlite and DIR/results.csv. Re-running with the same --out keeps "
        "finished runs and runs the missing and failed ones.",
    )
    p.add_argument("sweep", type=Path, help="sweep TOML file (docs/reference/sweep-files.md)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="results directory")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, metavar="N", help="local worker processes (default: all cores)"
    )
    where.add_argument(
        "--cluster", metavar="tcp://HOST:PORT", help="run on the Dask scheduler at this address"
    )
    where.add_argument(
        "--dask-local",
        type=int,
        metavar="N",
        help="start a Dask LocalCluster of N workers for this sweep",
    )
    where.add_argument("--serial", action="store_true", help="run in this process, one by one")
    p.add_argument(
        "--keep-runs",
        action="store_true",
        help="also write every run's full outputs to DIR/runs/p<point>_s<seed>/",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")
    return p


def sweep_command(args: argparse.Namespace) -> int:
    """Run ``hybridsim sweep`` with parsed ``args``; return the exit code.

    Raises
    ------
    HybridSimError
        For bad input (the caller prints it as one line and exits with 2).
    """
    from hybridsim.sweep import SweepInterrupted
    from hybridsim.sweep.executors import make_executor
    from hybridsim.sweep.runner import run_sweep
    from hybridsim.sweep.spec import load_sweep

    executor = make_executor(
        serial=args.serial, workers=args.workers, cluster=args.cluster, dask_local=args.dask_local
    )
    spec = load_sweep(args.sweep)
    if not args.quiet:
        # The size, known before anything runs (and refused during validation if too large).
        print(
            f"{spec.name}: {spec.size_text()} on {executor.description} -> {args.out}", flush=True
        )
    try:
        result = run_sweep(
            spec, args.out, executor, keep_runs=args.keep_runs, progress=not args.quiet
        )
    except SweepInterrupted as stop:
        r = stop.result
        print(
            f"interrupted: {r.ok + r.failed} of {r.runs} runs saved in {r.out}; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    if not args.quiet:
        if result.ran == 0:
            how = "all finished before"
        else:
            how = f"{result.ran} run now on {result.executor}"
            if result.reused:
                how += f", {result.reused} kept from before"
        print(
            f"{result.name}: {result.runs} runs ({how}): {result.ok} ok, "
            f"{result.failed} failed -> {result.results_csv}"
        )
    if result.failed:
        failures = result.failures()
        for point, seed, error in failures[:_MAX_LISTED_FAILURES]:
            print(f"failed: point {point} seed {seed}: {error}", file=sys.stderr)
        more = len(failures) - _MAX_LISTED_FAILURES
        if more > 0:
            print(f"failed: ... and {more} more (the error column of results.csv)", file=sys.stderr)
        return 1
    return 0


def sweep_report_command(directory: str | Path) -> None:
    """``hybridsim report DIR`` for a sweep directory: draw the plots and write report.html.

    Raises
    ------
    HybridSimError
        If ``directory`` holds no readable sweep results.
    """
    from hybridsim.report.sweep import write_sweep_report

    path = write_sweep_report(directory)
    print(f"{directory}: sweep report -> {path}")


def main(argv: list[str] | None = None) -> int:
    """``python -m hybridsim.sweep.command sweep ...``: the sweep command on its own.

    The same parser and error handling as ``hybridsim sweep`` (one ``error:`` line, exit 2),
    for scripts and tests that should not depend on the rest of the CLI.
    """
    from hybridsim.errors import HybridSimError

    parser = argparse.ArgumentParser(prog="python -m hybridsim.sweep.command")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sweep_parser(sub)
    report = sub.add_parser("report", help="draw the report of a sweep directory")
    report.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "report":
            sweep_report_command(args.dir)
            return 0
        return sweep_command(args)
    except HybridSimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
