"""``hybridsim report DIR [DIR ...] [--out DIR] [--force] [--quiet]``: draw saved runs' reports.

One directory: rebuild its ``report.html``, ``timeline.png`` and ``trace.json`` from the saved
outputs (into ``--out`` if given); a sweep's directory (``results.sqlite``): its sweep report.
Several: write ``comparison.html`` into ``--out`` or the first directory's parent. Bad
directories raise :class:`~hybridsim.report.data.ReportError`, which :func:`hybridsim.cli.main`
prints as one ``error:`` line with exit code 2. Prints the files written (unless ``--quiet``).

This module is the command's glue: where a report may be written, and which drawing function of
:mod:`hybridsim.report` to call. Where a report may be written (checked before anything is read
or drawn): the output directory must be creatable (not ``''``, a file or under a file). Without
``force`` it is refused when writing would overwrite something that is not a report of the same
runs: a page (or figure) there that reports other runs (pages name their runs in a ``<meta>``),
or another run's or a sweep's directory. The run's own directory is always fine. ``force``
overwrites the report's files only; nothing else in the directory is touched.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from hybridsim.cli.options import add_force

__all__ = ["add_parser", "command", "report_dirs", "COMPARISON_FILE"]

#: File name of the comparison page.
COMPARISON_FILE = "comparison.html"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``report`` sub-command to ``subparsers`` and return its parser."""
    p = subparsers.add_parser("report", help="draw the report of saved run directories")
    p.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="run output directory")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="output directory (default: the run's own; for several runs, the first's parent)",
    )
    add_force(p, "overwrite report files that are not a report of the same runs")
    p.add_argument("--quiet", action="store_true", help="do not print the files written")
    return p


def command(args: argparse.Namespace) -> int:
    """Run ``hybridsim report`` with parsed ``args``; return the exit code."""
    for path in report_dirs(args.dirs, args.out, force=args.force):
        if not args.quiet:
            print(path)
    return 0


def _refusal(target, sources: set[Path], files: Sequence[str], comparison: bool) -> str | None:
    """Why writing ``files`` (the page first) into ``target`` needs ``--force``, or None."""
    from hybridsim.report.html import page_runs

    where = target.path
    if target.kind in ("missing", "empty"):
        return None
    own = where in sources
    if target.kind == "sweep" and not own:
        return "is a sweep's results directory (its report.html is the sweep's)"
    if target.kind == "run" and not own and (where / "summary.json").exists():
        return "holds the outputs of another run"
    page = where / files[0]
    present = [f for f in files if (where / f).exists()]
    if not present or (own and not comparison):
        return None
    if page.exists():
        runs = page_runs(page)
        if runs == sources:
            return None
        return f"holds a {files[0]} of other runs" if runs is not None else f"holds a {files[0]}"
    return f"holds a {present[0]} that is not part of a report of these runs"


def report_dirs(
    dirs: Sequence[str | Path], out: str | Path | None = None, *, force: bool = False
) -> list[Path]:
    """Build the report of one run (or sweep) directory, or a comparison of several runs.

    Parameters
    ----------
    dirs : sequence of str or Path
        Run directories (each with ``summary.json`` and ``jobs.csv``), or one sweep directory
        (with ``results.sqlite``).
    out : str or Path, optional
        Output directory. Default: the run's own directory (one run) or the first directory's
        parent (comparison).
    force : bool
        Overwrite report files even if they are not a report of the same runs.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ReportError
        If no directory is given, or one is missing or is not a readable run directory.
    HybridSimError
        For a bad ``out``, or one that holds other things than a report of the same runs
        (without ``force``).
    """
    from hybridsim.errors import HybridSimError
    from hybridsim.outdir import inspect, writing_into
    from hybridsim.report.data import ReportError, load_run
    from hybridsim.report.files import remove_temp_files
    from hybridsim.report.html import REPORT_FILES

    paths = [Path(d) for d in dirs]
    if not paths:
        raise ReportError("report: no run directory given")
    from hybridsim.sweep.store import is_sweep_dir

    if len(paths) == 1 and is_sweep_dir(paths[0]):
        # A sweep directory (results.sqlite): metrics against factors, not a run timeline.
        from hybridsim.report.sweep import write_sweep_report

        return [write_sweep_report(paths[0])]
    single = len(paths) == 1
    if out is not None:
        where: str | Path = out
    else:
        where = paths[0] if single else paths[0].resolve().parent
    # Report.html first: it is the page whose <meta> vouches for the figures beside it.
    files = ("report.html", *(f for f in REPORT_FILES if f != "report.html"))
    if not single:
        files = (COMPARISON_FILE,)
    target = inspect(where, option="--out", replace=False)
    sources = {Path(os.path.realpath(p)) for p in paths}
    why = None if force else _refusal(target, sources, files, not single)
    if why is not None:
        raise HybridSimError(
            f"{target.shown}: {why}; pass --force to overwrite, or choose another --out"
        )
    # A new output directory is created and locked before the runs are read, so a place that
    # cannot be written fails first (and is removed again if a run then cannot be read). The
    # run's own directory is read first: it must exist, and is never created.
    in_place = single and out is None
    runs = [load_run(p) for p in paths] if in_place else []
    with writing_into(where) as directory:
        runs = runs or [load_run(p) for p in paths]
        remove_temp_files(directory, files)
        if single:
            from hybridsim.report.html import write_report

            return write_report(runs[0], Path(where) if out is not None else None)
        from hybridsim.report.html import write_comparison

        return [write_comparison(runs, Path(where) / COMPARISON_FILE)]
