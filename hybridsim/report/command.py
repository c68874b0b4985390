"""Deprecated (one release): ``hybridsim report``'s logic moved to :mod:`hybridsim.cli.report`.

Every command lives in the ``hybridsim.cli`` package; ``report_command`` is now
``hybridsim.cli.report.report_dirs`` (same arguments, same result) and ``COMPARISON_FILE`` moved
with it. To draw reports from Python, call :func:`hybridsim.report.write_report`,
:func:`~hybridsim.report.write_comparison` or :func:`hybridsim.report.sweep.write_sweep_report`.
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []

_MOVED = {"report_command": "report_dirs", "COMPARISON_FILE": "COMPARISON_FILE"}


def __getattr__(name: str) -> Any:
    new = _MOVED.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import warnings

    warnings.warn(
        f"hybridsim.report.command.{name} is deprecated; use hybridsim.cli.report.{new}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module("hybridsim.cli.report"), new)
