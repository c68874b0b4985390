"""Options several commands share, spelled the same everywhere."""

from __future__ import annotations

import argparse

__all__ = ["add_overrides", "add_force"]


def add_overrides(parser: argparse.ArgumentParser) -> None:
    """``--set KEY.PATH=VALUE`` (repeatable), collected in ``args.overrides``."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a scenario key (TOML literal; repeatable)",
    )


def add_force(parser: argparse.ArgumentParser, what: str) -> None:
    """``--force`` (alias ``--overwrite``), in ``args.force``; ``what`` is its help text."""
    parser.add_argument(
        "--force",
        "--overwrite",
        dest="force",
        action="store_true",
        help=what,
    )
