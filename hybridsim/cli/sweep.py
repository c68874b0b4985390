"""``hybridsim sweep SWEEP.toml --out DIR [--workers N | --cluster tcp://HOST:PORT | --dask-local N
| --serial] [--keep-runs] [--quiet]``: run a parameter sweep, or resume it.

Errors are :class:`~hybridsim.errors.HybridSimError`, which :func:`hybridsim.cli.main` turns into
one ``error: ...`` line and exit code 2 (bad input, a backend that cannot start, a Dask scheduler
lost mid-sweep). Exit codes of ``sweep``: 0 when every run is ok, 1 when some runs failed (their
rows hold the errors), 130 when interrupted (finished runs are saved; the same command resumes).
Unless ``--quiet``, it first prints the sweep's size: ``NAME: 9 points × 3 seeds = 27 runs on
BACKEND -> DIR``. ``hybridsim report DIR`` draws a sweep directory's report
(:mod:`hybridsim.cli.report`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser", "command"]

_MAX_LISTED_FAILURES = 3


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
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


def command(args: argparse.Namespace) -> int:
    """Run ``hybridsim sweep`` with parsed ``args``; return the exit code.

    Raises
    ------
    HybridSimError
        For bad input (the caller prints it as one line and exits with 2).
    """
    from hybridsim.sweep.backends import make_backend
    from hybridsim.sweep.runner import SweepInterrupted, run_sweep
    from hybridsim.sweep.spec import load_sweep

    backend = make_backend(
        serial=args.serial, workers=args.workers, cluster=args.cluster, dask_local=args.dask_local
    )
    spec = load_sweep(args.sweep)
    if not args.quiet:
        # The size, known before anything runs (and refused during validation if too large).
        print(f"{spec.name}: {spec.size_text()} on {backend.description} -> {args.out}", flush=True)
    try:
        result = run_sweep(
            spec, args.out, backend, keep_runs=args.keep_runs, progress=not args.quiet
        )
    except SweepInterrupted as stop:
        # Not an error: the saved runs are a result, and the message says how to resume.
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
            how = f"{result.ran} run now on {result.backend}"
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
