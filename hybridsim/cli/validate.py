"""``hybridsim validate SCENARIO.toml [--set KEY.PATH=VALUE ...]``: check a scenario, run nothing.

Prints ``ok: FILE: GROUPS; workload KIND`` and the run's estimated size
(:func:`hybridsim.scenario.run_size`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hybridsim.cli.options import add_overrides

__all__ = ["add_parser", "command"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``validate`` sub-command to ``subparsers`` and return its parser."""
    p = subparsers.add_parser("validate", help="check a scenario without running it")
    p.add_argument("scenario", type=Path)
    add_overrides(p)
    return p


def _describe(sc) -> str:
    groups = ", ".join(f"{g.count}×{g.kind} {g.name}" for g in sc.cluster.groups)
    return f"{groups}; workload {sc.workload.kind}"


def command(args: argparse.Namespace) -> int:
    """Run ``hybridsim validate`` with parsed ``args``; return the exit code."""
    from hybridsim.scenario import load_scenario, run_size

    sc = load_scenario(args.scenario, args.overrides)
    print(f"ok: {args.scenario}: {_describe(sc)}")
    print(f"size: {run_size(sc).describe()}")
    return 0
