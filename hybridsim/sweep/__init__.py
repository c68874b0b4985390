"""Parameter sweeps: points × seeds run serially, on a local process pool or on Dask.

::

    import hybridsim
    result = hybridsim.run_sweep("scenarios/sweep-demo.toml", out="runs/demo")
    print(result.ok, "runs ok;", result.results_csv)

Modules: :mod:`~hybridsim.sweep.factors` (factor values, ranges, grid/zip),
:mod:`~hybridsim.sweep.spec` (sweep files, validation of every point),
:mod:`~hybridsim.sweep.worker` (one run, in any process), :mod:`~hybridsim.sweep.backends`
(where runs happen: serial, pool, Dask), :mod:`~hybridsim.sweep.store` (results.sqlite, resume,
results.csv), :mod:`~hybridsim.sweep.runner` (:func:`run_sweep`, the loop),
:mod:`~hybridsim.sweep.plots` (figures; the report package draws the page, report.html). The
``hybridsim sweep`` command is :mod:`hybridsim.cli.sweep`.

The function that runs a sweep is :func:`run_sweep`: this package is ``hybridsim.sweep``, and a
package cannot also be a function (``hybridsim.sweep(...)`` worked until issue 19 only by
rewriting this module's class). ``from hybridsim.sweep import sweep`` still gives
:func:`run_sweep` for one release, with a ``DeprecationWarning``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hybridsim._lazy import lazy_attributes

__all__ = ["run_sweep", "load_sweep", "SweepSpec", "SweepResult", "SweepInterrupted"]

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.sweep.runner import SweepInterrupted, SweepResult, run_sweep
    from hybridsim.sweep.spec import SweepSpec, load_sweep

# Loaded on first use (PEP 562): the runner pulls in multiprocessing, sqlite3 and the schema.
_LAZY = {
    "run_sweep": "hybridsim.sweep.runner",
    "load_sweep": "hybridsim.sweep.spec",
    "SweepSpec": "hybridsim.sweep.spec",
    "SweepResult": "hybridsim.sweep.runner",
    "SweepInterrupted": "hybridsim.sweep.runner",
}

_lazy_getattr, __dir__ = lazy_attributes(__name__, _LAZY, globals())


def __getattr__(name: str) -> Any:
    if name == "sweep":  # deprecated alias (one release): the function shared the package's name
        import warnings

        warnings.warn(
            "hybridsim.sweep.sweep is deprecated; use hybridsim.run_sweep "
            "(or hybridsim.sweep.run_sweep)",
            DeprecationWarning,
            stacklevel=2,
        )
        return _lazy_getattr("run_sweep")
    return _lazy_getattr(name)
