"""Report speed and size: ``hybridsim report DIR`` on an M/M/3 run of 10**5 jobs, and on a small
run of 20 jobs.

The subject is the whole command from disk: read the CSVs back into records, draw every figure,
write ``timeline.png``, ``trace.json`` and the self-contained ``report.html``. Two baselines are
measured in the same process, alternately with the subject:

- writing the same run's outputs (``RunResult.write``: the CSVs and summary), the cost of
  producing the data the report reads;
- plain matplotlib drawing the same number of rectangles (one ``broken_barh`` per device lane,
  every job a bar, saved as a PNG), the cost of a naive timeline.

Targets (issue 6): under 15 s for 10**5 jobs, and report.html under 10 MB.

The small run (issue 17: "every report costs 6-7 s, even for a 20-job run") is measured twice:

- in this process (matplotlib already imported, as after ``hybridsim run``), against writing
  the same run's CSVs: the report must take well under a second;
- as the command a user types, ``hybridsim report DIR`` in a fresh interpreter, against a fresh
  interpreter that only imports what drawing needs (``matplotlib.figure`` and the Agg backend):
  what is left above that floor is the report's own work.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_engine import mmc_scenario
from benchmarks.harness import Row, interleaved_medians
from hybridsim.api import run as hs_run
from hybridsim.scenario import load_scenario


def plain_matplotlib_timeline(result, path: Path) -> None:
    """The naive timeline: every job one rectangle in its device's lane, no downsampling."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    lanes: dict[str, list[tuple[float, float]]] = {}
    for j in result.jobs:
        lanes.setdefault(j.device, []).append(
            (j.started_at / 1e21, (j.finished_at - j.started_at) / 1e21)
        )
    for y, dev in enumerate(sorted(lanes)):
        ax.broken_barh(lanes[dev], (y - 0.3, 0.6))
    fig.savefig(path, format="png")


def _phases(directory: Path) -> dict[str, float]:
    """Wall time of each phase of one report, for the notes."""
    from hybridsim.report.blocks import run_figures
    from hybridsim.report.data import load_run
    from hybridsim.report.html import render_report
    from hybridsim.report.trace import write_trace

    t0 = time.perf_counter()
    data = load_run(directory)
    t1 = time.perf_counter()
    blocks = run_figures(data)
    t2 = time.perf_counter()
    write_trace(data, directory / "trace.json")
    t3 = time.perf_counter()
    render_report(data, blocks, base=directory)
    t4 = time.perf_counter()
    return {"read": t1 - t0, "figures": t2 - t1, "trace": t3 - t2, "html": t4 - t3}


def small_run_rows(tmp: Path, quick: bool) -> list[Row]:
    """The report of a 20-job run: in process, and as a fresh ``hybridsim report`` command."""
    from hybridsim.report import write_report

    small = hs_run(load_scenario(mmc_scenario(20)), seed=1)
    out = small.write(tmp / "small")
    write_report(out)  # warm-up (imports, font cache)
    repeats = 3 if quick else 7
    floor = [sys.executable, "-c", "import matplotlib.figure, matplotlib.backends.backend_agg"]
    command = [sys.executable, "-m", "hybridsim.cli", "report", "--quiet", str(out)]
    med = interleaved_medians(
        {
            "report": lambda: write_report(out),
            "write_csv": lambda: small.write(tmp / "small2"),
            "command": lambda: subprocess.run(command, check=True),
            "floor": lambda: subprocess.run(floor, check=True),
        },
        repeats,
    )
    return [
        Row(
            "report_small",
            "report wall s, 20 jobs, in process (vs a fresh matplotlib import)",
            med["report"],
            med["floor"],
            "ratio <= 1",
            med["report"] <= med["floor"],
            f"3 figures (timeline, queues + utilization, costs), trace.json, report.html; "
            f"writing the run's CSVs takes {med['write_csv']:.3f} s",
        ),
        Row(
            "report_small",
            "`hybridsim report DIR` wall s, 20 jobs (vs a fresh matplotlib import)",
            med["command"],
            med["floor"],
            "ratio <= 2.5",
            med["command"] <= 2.5 * med["floor"],
            "fresh interpreter each; baseline: python -c 'import matplotlib.figure, "
            "matplotlib.backends.backend_agg'",
        ),
    ]


def run(quick: bool) -> list[Row]:
    from hybridsim.report import write_report

    jobs = 20_000 if quick else 100_000
    repeats = 1 if quick else 3
    result = hs_run(load_scenario(mmc_scenario(jobs)), seed=1)
    tmp = Path(tempfile.mkdtemp(prefix="bench_report."))
    try:
        out = result.write(tmp / "run")
        write_report(out)  # warm-up: imports matplotlib, fills font caches
        med = interleaved_medians(
            {
                "report": lambda: write_report(out),
                "write_csv": lambda: result.write(tmp / "csv"),
                "plain_mpl": lambda: plain_matplotlib_timeline(result, tmp / "plain.png"),
            },
            repeats,
        )
        html_mb = (out / "report.html").stat().st_size / 2**20
        trace_mb = (out / "trace.json").stat().st_size / 2**20
        phases = _phases(out)
        small = small_run_rows(tmp, quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    note = f"{jobs} jobs; " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items())
    full = not quick
    return [
        Row(
            "report",
            "report wall s (vs writing the CSVs)",
            med["report"],
            med["write_csv"],
            "< 15 s at 1e5 jobs" if full else "",
            med["report"] < 15 if full else None,
            note,
        ),
        Row(
            "report",
            "report wall s (vs plain mpl, 1 rect/job)",
            med["report"],
            med["plain_mpl"],
            "",
            None,
            "plain: one broken_barh per lane, every job drawn, PNG only",
        ),
        Row(
            "report",
            "report.html MB",
            html_mb,
            None,
            "< 10 MB",
            html_mb < 10,
            f"self-contained (PNG figures embedded); trace.json {trace_mb:.1f} MB",
        ),
        *small,
    ]
