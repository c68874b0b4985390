"""Parameter sweeps: points × seeds run serially, on a local process pool or on Dask.

::

    import hybridsim
    result = hybridsim.sweep("scenarios/sweep-demo.toml", out="runs/demo")
    print(result.ok, "runs ok;", result.results_csv)

Modules: :mod:`~hybridsim.sweep.factors` (factor values, ranges, grid/zip),
:mod:`~hybridsim.sweep.spec` (sweep files, validation of every point),
:mod:`~hybridsim.sweep.worker` (one run, in any process), :mod:`~hybridsim.sweep.executors`
(serial, pool, Dask), :mod:`~hybridsim.sweep.store` (results.sqlite, resume, results.csv),
:mod:`~hybridsim.sweep.runner` (the loop), :mod:`~hybridsim.sweep.plots` (figures; the report
package draws the page, report.html), :mod:`~hybridsim.sweep.command` (CLI).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

__all__ = ["sweep", "load_sweep", "SweepSpec", "SweepResult", "SweepInterrupted"]

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.sweep.runner import SweepInterrupted, SweepResult
    from hybridsim.sweep.spec import SweepSpec, load_sweep

# Loaded on first use (PEP 562): ``hybridsim --help`` imports hybridsim.sweep.command, and with
# it this package; the runner pulls in multiprocessing, sqlite3 and the schema (~0.15 s).
_LAZY = {
    "load_sweep": "hybridsim.sweep.spec",
    "SweepSpec": "hybridsim.sweep.spec",
    "SweepResult": "hybridsim.sweep.runner",
    "SweepInterrupted": "hybridsim.sweep.runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hybridsim.sweep' has no attribute {name!r}")


def sweep(
    sweep_file_or_dict: str | Path | Mapping[str, Any],
    out: str | Path,
    *,
    workers: int | None = None,
    cluster: str | None = None,
    dask_local: int | None = None,
    keep_runs: bool = False,
    serial: bool = False,
    progress: bool = True,
) -> SweepResult:
    """Run a sweep, or resume it, and write ``results.sqlite`` and ``results.csv`` to ``out``.

    Every point is validated before anything runs. Re-running with the same ``out`` keeps the
    finished runs and runs the missing and failed ones; a different sweep in the same directory
    is refused.

    Parameters
    ----------
    sweep_file_or_dict : path or mapping
        A sweep TOML file (docs/reference/sweep-files.md) or data shaped like one; in a mapping,
        ``base`` may be a scenario mapping, and a relative ``base`` path is read from the
        current directory.
    out : path
        Results directory (created if needed).
    workers : int, optional
        Size of the local process pool (default: the usable cores).
    cluster : str, optional
        Address of a running Dask scheduler (``"tcp://HOST:PORT"``).
    dask_local : int, optional
        Start a ``distributed.LocalCluster`` with this many workers.
    keep_runs : bool
        Also write every run's full outputs to ``out/runs/p<point>_s<seed>/``.
    serial : bool
        Run in this process, one run after another.
    progress : bool
        Show a progress bar (runs done, failures, ETA) on stderr.

    Give at most one of ``workers``, ``cluster``, ``dask_local`` and ``serial``. Results are
    identical whichever executor runs them.

    Returns
    -------
    SweepResult

    Raises
    ------
    ScenarioError
        For an invalid sweep file or point, naming the point and the key.
    HybridSimError
        For an unusable ``out`` or executor.
    SweepInterrupted
        On Ctrl-C (a KeyboardInterrupt); finished runs are saved, ``.result`` says how many.

    Examples
    --------
    >>> import hybridsim, tempfile
    >>> base = {"cluster": {"gpu": [{"name": "g"}]},
    ...         "workload": {"kind": "synthetic", "jobs": 5, "pool": "gpu",
    ...                      "arrival": {"dist": "exponential", "rate_per_s": 1.0},
    ...                      "service": {"dist": "deterministic", "value_s": 0.5}}}
    >>> spec = {"base": base, "seeds": [1, 2],
    ...         "factors": {"cluster.gpu.g.count": [1, 2]}}
    >>> r = hybridsim.sweep(spec, tempfile.mkdtemp(), serial=True, progress=False)
    >>> r.runs, r.ok, r.failed
    (4, 4, 0)
    """
    from hybridsim.sweep.executors import make_executor
    from hybridsim.sweep.runner import run_sweep
    from hybridsim.sweep.spec import load_sweep

    executor = make_executor(serial=serial, workers=workers, cluster=cluster, dask_local=dask_local)
    spec = load_sweep(sweep_file_or_dict)
    return run_sweep(spec, out, executor, keep_runs=keep_runs, progress=progress)


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`sweep`.

    ``hybridsim.sweep`` is both the public function (mapped lazily by ``hybridsim/__init__``) and
    this package. Importing any ``hybridsim.sweep.*`` module makes Python bind the *package* to
    the ``hybridsim.sweep`` attribute, which would shadow the function for the rest of the
    process; calling the package runs the function, so ``hybridsim.sweep(...)`` always works.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> SweepResult:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
