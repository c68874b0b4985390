"""Deprecated (one release): the sweep report moved to :mod:`hybridsim.report.sweep`.

Report pages are drawn by one toolkit under ``hybridsim/report/`` (templates, tables, formats,
the fixed-metadata PNG writer), and nothing outside ``report/`` imports it; so the sweep's page
lives there too. ``hybridsim report DIR`` on a sweep directory is unchanged.
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []

_MOVED = frozenset({"write_sweep_report", "REPORT_NAME", "PLOTS_DIR"})


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(
            f"hybridsim.sweep.report.{name} is deprecated; import it from hybridsim.report.sweep",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("hybridsim.report.sweep"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
