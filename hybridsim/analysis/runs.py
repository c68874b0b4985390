"""Named grids of runs, executed through :mod:`hybridsim.sweep`: parallel, resumable, Dask-capable.

A study is a few *grids*: a base scenario, overrides for every run (``set``), factors whose
values combine into points (a grid, the first factor varying slowest), and seeds. Each grid is
one sweep (:func:`hybridsim.run_sweep`) in its own directory ``OUT/<name>`` with ``keep_runs``, so

* the runs go to a local process pool, a Dask cluster or this process, with identical results;
* running the same grids into the same ``OUT`` again resumes: finished runs are kept;
* every run's full outputs (``summary.json``, ``jobs.csv``, ``steps.csv``...) stay on disk, at
  ``OUT/<name>/runs/p<point>_s<seed>``, for analysis.

:func:`run_grids` returns one :class:`GridRun` per run with its factor values and directory.

Examples
--------
>>> import tempfile
>>> from hybridsim.analysis.runs import Grid, run_grids
>>> g = Grid("policies", "scenarios/quickstart.toml", seeds=(1,),
...          set={"workload.steps": 1, "workload.baselines": []},
...          factors={"scheduler.policy": ["classical_only", "qnewton_free_kappa"]})
>>> runs = run_grids([g], tempfile.mkdtemp(), serial=True, progress=False)["policies"]
>>> [(r.values["scheduler.policy"], r.seed, (r.path / "jobs.csv").is_file()) for r in runs]
[('classical_only', 1, True), ('qnewton_free_kappa', 1, True)]
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hybridsim.errors import HybridSimError

__all__ = ["Grid", "GridRun", "run_grids", "select", "pick", "one"]


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Grid:
    """A named grid of runs of one base scenario.

    Parameters
    ----------
    name : str
        Directory name under ``OUT`` (letters, digits, ``-``, ``_``).
    base : str or Path
        Base scenario file; a relative path is taken from ``root`` in :func:`run_grids`.
    seeds : tuple of int
    set : mapping
        Scenario key path → value, applied to every run (TOML values: ``[]``, ``"lu"``, 30).
    factors : mapping
        Scenario key path → list of distinct values; points are their grid, the first factor
        varying slowest (the sweep's ``grid`` mode), or with ``mode="zip"`` the i-th values of
        every factor together (factors of equal length).
    mode : {"grid", "zip"}
    """

    name: str
    base: str | Path
    seeds: tuple[int, ...] = (1,)
    set: Mapping[str, Any] = field(default_factory=dict)
    factors: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    mode: str = "grid"

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_" for c in self.name):
            raise ValueError(f"grid name {self.name!r}: use letters, digits, '-' and '_'")
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "set", _frozen(self.set))
        object.__setattr__(
            self, "factors", _frozen({k: tuple(v) for k, v in (self.factors or {}).items()})
        )
        if self.mode not in ("grid", "zip"):
            raise ValueError(f"grid {self.name!r}: mode must be 'grid' or 'zip', got {self.mode!r}")
        if self.mode == "zip" and len({len(v) for v in self.factors.values()}) > 1:
            raise ValueError(f"grid {self.name!r}: zip needs factors of equal length")

    def points(self) -> list[dict[str, Any]]:
        """Factor values of every point, in the sweep's point order."""
        keys = list(self.factors)
        columns = [self.factors[k] for k in keys]
        combos = zip(*columns, strict=True) if self.mode == "zip" else itertools.product(*columns)
        return [dict(zip(keys, combo, strict=True)) for combo in combos]

    @property
    def runs(self) -> int:
        """Runs of the grid (points × seeds)."""
        return len(self.points()) * len(self.seeds)

    def sweep_definition(self, root: str | Path = ".") -> dict[str, Any]:
        """The grid as a sweep definition (what ``hybridsim sweep`` reads from a file)."""
        base = Path(self.base)
        if not base.is_absolute():
            base = Path(root) / base
        spec: dict[str, Any] = {
            "name": self.name,
            "base": str(base.resolve()),
            "seeds": list(self.seeds),
            "set": dict(self.set),
        }
        if self.factors:
            spec["factors"] = {k: list(v) for k, v in self.factors.items()}
            spec["options"] = {"mode": self.mode}
        return spec


@dataclass(frozen=True, slots=True)
class GridRun:
    """One finished run of a grid.

    Attributes
    ----------
    grid : str
    point, seed : int
    values : mapping
        The point's factor values.
    path : Path
        The run's output directory.
    """

    grid: str
    point: int
    seed: int
    values: Mapping[str, Any]
    path: Path


def _warm() -> None:
    import contextlib
    import importlib

    for name in (
        "hybridsim.sim.engine",
        "hybridsim.sim.training",
        "hybridsim.execution",
        "hybridsim.quantum.hhl",
        "hybridsim.quantum.gates",
        "qutip_qip.circuit",
    ):
        with contextlib.suppress(ImportError):  # the circuit simulator is a dependency
            importlib.import_module(name)


def run_grids(
    grids: Sequence[Grid],
    out: str | Path,
    *,
    root: str | Path = ".",
    workers: int | None = None,
    cluster: str | None = None,
    dask_local: int | None = None,
    serial: bool = False,
    progress: bool = True,
    warm: bool = True,
) -> dict[str, list[GridRun]]:
    """Run (or resume) every grid as a sweep into ``out/<name>`` and list its runs.

    Parameters
    ----------
    grids : sequence of Grid
        Distinct names.
    out : path
        Parent directory of the grids' sweep directories.
    root : path
        Directory that relative ``base`` paths are taken from.
    workers, cluster, dask_local, serial, progress
        The run backend, as :func:`hybridsim.run_sweep` takes it (default: a local pool of the
        usable cores).
    warm : bool
        Import the simulator and the circuit simulator in this process first. A local pool forks
        its workers from this process for every grid, so they start with those modules loaded;
        a cold worker pays their import (about 5 s, most of it QuTiP) in every grid.

    Returns
    -------
    dict
        Grid name → its :class:`GridRun` list, in point then seed order.

    Raises
    ------
    HybridSimError
        When a run failed (its one-line error is quoted; running again retries failed runs).
    """
    # The one entry point into the sweep machinery (a rename there is a one-line change here).
    from hybridsim.sweep.runner import run_dir_name, run_sweep
    from hybridsim.sweep.spec import load_sweep

    names = [g.name for g in grids]
    if len(set(names)) != len(names):
        raise ValueError(f"grid names repeat: {names}")
    if warm:
        _warm()
    out = Path(out)
    result: dict[str, list[GridRun]] = {}
    for g in grids:
        definition = g.sweep_definition(root)
        res = run_sweep(
            definition,
            out / g.name,
            workers=workers,
            cluster=cluster,
            dask_local=dask_local,
            serial=serial,
            keep_runs=True,
            progress=progress,
        )
        failures = res.failures()
        if failures:
            point, seed, error = failures[0]
            raise HybridSimError(
                f"{out / g.name}: {len(failures)} run(s) failed, first point {point} seed "
                f"{seed}: {error}"
            )
        spec = load_sweep(definition)
        result[g.name] = [
            GridRun(
                g.name,
                i,
                seed,
                MappingProxyType(values),
                out / g.name / "runs" / run_dir_name(spec, i, seed),
            )  # fmt: skip
            for i, values in enumerate(g.points())
            for seed in g.seeds
        ]
    return result


def select(grid_runs: Sequence[GridRun], values: Mapping[str, Any] | None = None, *,
           seed: int | None = None) -> list[GridRun]:  # fmt: skip
    """The runs of a grid whose factor values include ``values`` (and of ``seed``, if given).

    Examples
    --------
    >>> from pathlib import Path
    >>> rs = [GridRun("g", 0, 1, {"m": "lu"}, Path("a")),
    ...       GridRun("g", 1, 1, {"m": "auto"}, Path("b"))]
    >>> [r.path.name for r in select(rs, {"m": "auto"})]
    ['b']
    """
    want = dict(values or {})
    return [
        r for r in grid_runs
        if (seed is None or r.seed == seed) and all(r.values.get(k) == v for k, v in want.items())
    ]  # fmt: skip


def pick(grid_runs: Sequence[GridRun], seed: int | None = None, **values: Any) -> list[GridRun]:
    """:func:`select` with the factor values as keywords, a key's dots written as ``__``
    (``costs__classical_method="lu"`` for ``costs.classical_method``).

    Read a run's records back from its ``path`` with ``load_run`` (the report package's
    ``data`` module, which reads any saved run directory).

    Examples
    --------
    >>> from pathlib import Path
    >>> rs = [GridRun("g", 0, s, {"costs.classical_method": m}, Path(f"{m}{s}"))
    ...       for m in ("lu", "auto") for s in (1, 2)]
    >>> [r.path.name for r in pick(rs, costs__classical_method="auto")]
    ['auto1', 'auto2']
    """
    want = {k.replace("__", "."): v for k, v in values.items()}
    return select(grid_runs, want, seed=seed)


def one(grid_runs: Sequence[GridRun], **values: Any) -> GridRun:
    """The one run of the lowest seed whose factor values match (see :func:`pick`).

    Raises
    ------
    ValueError
        When no run, or more than one, matches.

    Examples
    --------
    >>> from pathlib import Path
    >>> rs = [GridRun("g", 0, s, {"m": "lu"}, Path(f"lu{s}")) for s in (2, 1)]
    >>> one(rs, m="lu").path.name
    'lu1'
    """
    found = pick(grid_runs, seed=min(r.seed for r in grid_runs), **values)
    if len(found) != 1:
        raise ValueError(f"{len(found)} runs match {values}, expected one")
    return found[0]
