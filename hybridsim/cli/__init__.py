"""Command-line interface: a thin argparse layer over the Python API.

``hybridsim run SCENARIO.toml [--out DIR] [--force] [--seed N] [--set key.path=value ...]``
``hybridsim validate SCENARIO.toml [--set ...]``
``hybridsim report DIR [DIR ...] [--out DIR] [--force]``
``hybridsim sweep SWEEP.toml --out DIR [--workers N | --cluster tcp://HOST:PORT | --dask-local N]``

One module per command (:mod:`~hybridsim.cli.run`, :mod:`~hybridsim.cli.validate`,
:mod:`~hybridsim.cli.report`, :mod:`~hybridsim.cli.sweep`), each with ``add_parser(subparsers)``
and ``command(args) -> int``; :mod:`~hybridsim.cli.options` holds the options they share and
:mod:`~hybridsim.cli.progress` what ``run`` shows while it works. Commands raise; :func:`main` is
the one place that turns what they raise into output and an exit code:

- bad input (:class:`~hybridsim.errors.HybridSimError`): one line ``error: FILE: key.path:
  problem (expected ...)``, exit 2, never a traceback;
- interrupted (Ctrl-C): ``error: interrupted``, exit 130 (``sweep`` says how many runs it saved
  and exits 130 itself);
- anything else is a bug: the traceback and a request to report it, exit 1.

``hybridsim`` is the console script ``hybridsim.cli:main``; ``python -m hybridsim.cli`` runs the
same. Building the parser imports argparse and these small modules only: every command imports
what it needs when it runs, so ``hybridsim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from hybridsim import __version__
from hybridsim.errors import HybridSimError, ScenarioWarning

__all__ = ["main"]

#: The commands, in the order ``hybridsim --help`` lists them (one module each).
COMMANDS = ("run", "report", "validate", "sweep")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hybridsim",
        description="Discrete-event simulator of hybrid quantum-classical clusters.",
    )
    p.add_argument("--version", action="version", version=f"hybridsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"hybridsim.cli.{name}")
        module.add_parser(sub).set_defaults(handler=module.command)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG001 - warnings.showwarning's signature
    # Scenario warnings are one line like errors; anything else keeps Python's format.
    if issubclass(category, ScenarioWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        print(
            warnings.formatwarning(message, category, filename, lineno, line),
            end="",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hybridsim`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    with warnings.catch_warnings():  # restores the process's warning state on return
        warnings.simplefilter("default", ScenarioWarning)
        warnings.showwarning = _show_warning
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command; the one error-handling path of every command."""
    try:
        return args.handler(args)
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
