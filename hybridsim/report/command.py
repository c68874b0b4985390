"""``hybridsim report DIR [DIR ...]``: the command's logic, kept out of the thin CLI layer.

One directory: rebuild its ``report.html``, ``timeline.png`` and ``trace.json`` from the saved
outputs (into ``--out`` if given). Several: write ``comparison.html`` into ``--out`` or the first
directory's parent. Bad directories raise :class:`~hybridsim.report.data.ReportError`, which the
CLI prints as one ``error:`` line with exit code 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hybridsim.report.data import ReportError, load_run

__all__ = ["report_command", "COMPARISON_FILE"]

#: File name of the comparison page.
COMPARISON_FILE = "comparison.html"


def report_command(dirs: Sequence[str | Path], out: str | Path | None = None) -> list[Path]:
    """Build the report of one run directory, or a comparison of several.

    Parameters
    ----------
    dirs : sequence of str or Path
        Run directories (each with ``summary.json`` and ``jobs.csv``).
    out : str or Path, optional
        Output directory. Default: the run's own directory (one run) or the first directory's
        parent (comparison).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ReportError
        If no directory is given, or one is missing or is not a readable run directory.
    """
    paths = [Path(d) for d in dirs]
    if not paths:
        raise ReportError("report: no run directory given")
    from hybridsim.sweep.store import is_sweep_dir

    if len(paths) == 1 and is_sweep_dir(paths[0]):
        # A sweep directory (results.sqlite): metrics against factors, not a run timeline.
        from hybridsim.sweep.report import write_sweep_report

        return [write_sweep_report(paths[0])]
    runs = [load_run(p) for p in paths]
    if len(runs) == 1:
        from hybridsim.report.html import write_report

        return write_report(runs[0], Path(out) if out is not None else None)
    from hybridsim.report.html import write_comparison

    target = Path(out) if out is not None else paths[0].resolve().parent
    return [write_comparison(runs, target / COMPARISON_FILE)]
