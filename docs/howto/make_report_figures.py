"""Regenerate the pictures of docs/howto/read-the-report.md (and the README's timeline).

Run from the project root::

    python docs/howto/make_report_figures.py

Runs ``scenarios/quickstart.toml`` (the demo scenario: Newton training on two GPUs and an
attosecond QPU) into a temporary directory named ``quickstart``, builds its report
with the same code as ``hybridsim run``, and writes:

* ``docs/img/timeline-demo.png``: the report's ``timeline.png`` (femtosecond QPU jobs inside a
  run of milliseconds, with the to-scale zoom);
* ``docs/howto/img/report-target.png``: test accuracy against log time, time to target accuracy;
* ``docs/howto/img/report-kappa.png``: κ (true and estimated) and the fraction routed to QPUs;
* ``docs/howto/img/report-costs.png``: the cost breakdown per route.

Everything is seeded and the PNGs carry no timestamp, so re-running gives the same files.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import hybridsim
from hybridsim.report import write_report
from hybridsim.report.blocks import run_figures
from hybridsim.report.data import load_run

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "quickstart.toml"


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="report_figures."))
    try:
        out = hybridsim.run(SCENARIO).write(tmp / "quickstart")
        write_report(out)
        blocks = {b.key: b.png for b in run_figures(load_run(out))}
        demo = ROOT / "docs" / "img" / "timeline-demo.png"
        demo.parent.mkdir(parents=True, exist_ok=True)
        demo.write_bytes((out / "timeline.png").read_bytes())
        howto = ROOT / "docs" / "howto" / "img"
        howto.mkdir(parents=True, exist_ok=True)
        names = ("target", "kappa", "costs")
        for name in names:
            (howto / f"report-{name}.png").write_bytes(blocks[name])
        for path in (demo, *(howto / f"report-{name}.png" for name in names)):
            print(path.relative_to(ROOT))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
