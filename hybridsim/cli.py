"""Command-line interface: a thin argparse layer over the Python API.

``hybridsim run SCENARIO.toml [--out DIR] [--seed N] [--set key.path=value ...]``
``hybridsim validate SCENARIO.toml [--set ...]``
``hybridsim report DIR [DIR ...] [--out DIR]``
``hybridsim sweep SWEEP.toml --out DIR [--workers N | --cluster tcp://HOST:PORT | --dask-local N]``

Bad input exits with code 2 and one line ``error: FILE: key.path: problem (expected ...)``;
never a traceback. Anything else raised is a bug: exit 1, the traceback, and a request to report it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hybridsim import __version__
from hybridsim.errors import HybridSimError

__all__ = ["main"]


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a scenario key (TOML literal; repeatable)",
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hybridsim",
        description="Discrete-event simulator of hybrid quantum-classical clusters.",
    )
    p.add_argument("--version", action="version", version=f"hybridsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario")
    run.add_argument("scenario", type=Path, help="scenario TOML file")
    run.add_argument("--out", type=Path, help="output directory (default: runs/<scenario name>)")
    run.add_argument("--seed", type=int, help="root seed (default: the scenario's seed)")
    _add_overrides(run)
    run.add_argument("--quiet", action="store_true", help="do not print the summary table")
    run.add_argument(
        "--no-report",
        action="store_true",
        help="do not write report.html, timeline.png and trace.json",
    )

    rep = sub.add_parser("report", help="draw the report of saved run directories")
    rep.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="run output directory")
    rep.add_argument(
        "--out",
        type=Path,
        help="output directory (default: the run's own; for several runs, the first's parent)",
    )
    rep.add_argument("--quiet", action="store_true", help="do not print the files written")

    val = sub.add_parser("validate", help="check a scenario without running it")
    val.add_argument("scenario", type=Path)
    _add_overrides(val)

    from hybridsim.sweep.command import add_sweep_parser

    add_sweep_parser(sub)
    return p


def _cmd_validate(args: argparse.Namespace) -> int:
    from hybridsim.scenario import load_scenario

    sc = load_scenario(args.scenario, args.overrides)
    print(f"ok: {args.scenario}: {_describe(sc)}")
    return 0


def _describe(sc) -> str:
    groups = ", ".join(f"{g.count}×{g.kind} {g.name}" for g in sc.cluster.groups)
    return f"{groups}; workload {sc.workload.kind}"


def _cmd_run(args: argparse.Namespace) -> int:
    from hybridsim.scenario import load_scenario
    from hybridsim.sim.engine import run

    if args.seed is not None and args.seed < 0:
        raise HybridSimError(f"--seed: must be non-negative, got {args.seed}")
    sc = load_scenario(args.scenario, args.overrides)
    out = args.out or Path("runs") / (sc.name or args.scenario.stem)
    result = run(sc, seed=args.seed)
    result.write(out)
    if not args.no_report:
        from hybridsim.report import write_report

        write_report(result, out)
    if not args.quiet:
        print(f"{args.scenario} (seed {result.seed}) -> {out}")
        print(result.summary_table(), end="")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from hybridsim.report import report_command

    for path in report_command(args.dirs, args.out):
        if not args.quiet:
            print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hybridsim`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _cmd_validate(args)
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "report":
            return _cmd_report(args)
        if args.command == "sweep":
            from hybridsim.sweep.command import sweep_command

            return sweep_command(args)
    except HybridSimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - anything else is a bug: show it, ask for a report
        import traceback

        traceback.print_exc()
        print(
            f"hybridsim {__version__}: this is a bug in hybridsim, not a problem with your input;"
            " please report it with the traceback above, the command line and the scenario file",
            file=sys.stderr,
        )
        return 1
    raise AssertionError(args.command)  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
