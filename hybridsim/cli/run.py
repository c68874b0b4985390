"""``hybridsim run SCENARIO.toml [--out DIR] [--force] [--seed N] [--set KEY.PATH=VALUE ...]
[--quiet] [--no-report]``: run a scenario and write its outputs and report.

Every check of ``--out`` happens before the simulation (a bad one costs no work); the outputs
are staged and swapped in whole (:func:`hybridsim.outdir.replacing`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hybridsim.cli.options import add_force, add_overrides

__all__ = ["add_parser", "command"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``run`` sub-command to ``subparsers`` and return its parser."""
    p = subparsers.add_parser("run", help="run a scenario")
    p.add_argument("scenario", type=Path, help="scenario TOML file")
    # --out is a str, not a Path: Path("") is ".", and an empty --out must be refused.
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/<scenario name>)")
    add_force(p, "replace an existing run directory (whole: no file of the old run survives)")
    p.add_argument("--seed", type=int, help="root seed (default: the scenario's seed)")
    add_overrides(p)
    p.add_argument("--quiet", action="store_true", help="no header, progress bar or summary table")
    p.add_argument(
        "--no-report",
        action="store_true",
        help="do not write report.html, timeline.png and trace.json",
    )
    return p


def command(args: argparse.Namespace) -> int:
    """Run ``hybridsim run`` with parsed ``args``; return the exit code."""
    from hybridsim.api import run
    from hybridsim.cli.progress import ProgressBar, header_size
    from hybridsim.errors import HybridSimError
    from hybridsim.outdir import replacing, safe_name
    from hybridsim.scenario import load_scenario

    if args.seed is not None and args.seed < 0:
        raise HybridSimError(f"--seed: must be non-negative, got {args.seed}")
    sc = load_scenario(args.scenario, args.overrides)
    seed = sc.seed if args.seed is None else args.seed
    # Without --out, the name only picks a directory under runs/: never a path of its own.
    out = args.out if args.out is not None else f"runs/{safe_name(sc.name or args.scenario.stem)}"
    # Every check of --out happens here, before the simulation: a bad one costs no work.
    with replacing(out, force=args.force) as stage:
        if not args.quiet:
            print(f"{args.scenario} (seed {seed}) -> {out}: {header_size(sc)}", flush=True)
        bar = ProgressBar(sc) if not args.quiet and sys.stderr.isatty() else None
        try:
            # Records that outgrow memory stream straight into the staging directory.
            result = run(sc, seed=args.seed, progress=bar, spill=stage)
        finally:
            if bar is not None:
                bar.close()
        result.write_into(stage)
        if not args.no_report:
            from hybridsim.report import from_result, write_report

            # Labelled by the final directory's name, as `hybridsim report DIR` labels it.
            label = Path(os.path.realpath(out)).name
            write_report(from_result(result, label=label, source=stage), stage)
    if not args.quiet:
        print(result.summary_table(), end="")
    return 0
