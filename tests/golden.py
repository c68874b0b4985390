"""Golden summaries: the key figures of every scenario file in scenarios/, run at a reduced size,
checked in under tests/golden/<scenario>.json. tests/test_scenarios.py compares a fresh run with
them, so a change of behaviour (a job routed elsewhere, a longer makespan, another final
accuracy) fails there and, once the files are regenerated, shows in review as a diff.

Regenerate after a change that is meant to move the figures (review the diff before committing)::

    python -m tests.golden --update                 # every scenario file
    python -m tests.golden --update mmc.toml        # some of them
    python -m tests.golden                          # compare only, as the test does

What is pinned, and how exactly (values must be the same on every machine, whatever its BLAS):

- counts (jobs per route, group, solver and status; step records per training run; recorded
  intervals per kind; attempts), exactly;
- every number of the run's summary but the host-dependent ones (wall-clock times, versions) and
  the redundant ones (``makespan_s`` beside ``makespan_ticks``), floats and ``*_ticks`` counts
  rounded to 6 significant digits (a training run's simulated times depend on κ estimates, which
  depend on the last bits of a BLAS result) and compared within 2e-5 relative, so that a value on
  a rounding boundary cannot flip the test;
- for a sweep file, the same summary numbers of each row of a reduced sweep (first and last value
  of each factor, one seed, few steps or jobs), and each row's point, seed, factor values and
  status.

This module is a helper, not a test file (pytest collects only ``test_*.py``); the test imports it
as ``golden`` (tests/ is on ``sys.path`` under pytest) and ``python -m tests.golden`` runs it from
the repository root. The data directory tests/golden/ has no ``__init__.py``, so the module wins
the import.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "scenarios"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SCENARIOS = sorted(p.name for p in SCENARIO_DIR.glob("*.toml"))

DIGITS = 6  # significant digits kept of a float or a tick count
REL_TOL = 2e-5  # two golden values agree within this (one unit in the 6th digit, plus margin)

# Overrides that keep each scenario to a few seconds in the default test run.
SHORTEN = {
    "mmc.toml": ["workload.jobs=500"],
    "quickstart.toml": ["workload.steps=4"],
    "paper-mlp.toml": ["workload.epochs=0.5"],
    "paper-bert-tiny.toml": ["workload.steps=20"],
    "paper-mistral-tiny.toml": ["workload.steps=20"],
    "multi-tenant.toml": ["workload.epochs=0.2"],
}

# Summary entries that are not the simulation's behaviour: host timings and versions, the
# resolved scenario (the file itself), what the run was asked (name, seed, tick length), and
# makespan_s, which is makespan_ticks in seconds.
NOT_PINNED = frozenset(
    {"wall", "versions", "scenario", "scenario_name", "seed", "tick_s", "makespan_s"}
)


def is_sweep(name: str) -> bool:
    """Whether scenarios/<name> is a sweep file (it names a base scenario) rather than a run."""
    return "base" in tomllib.loads((SCENARIO_DIR / name).read_text())


def reduced_sweep(name: str) -> dict[str, Any]:
    """The sweep scenarios/<name> cut to a few runs: the first and last value of each factor
    (only the first factor varies in a grid), one seed, and a short base run."""
    path = SCENARIO_DIR / name
    raw = tomllib.loads(path.read_text())
    reduced = {k: v for k, v in raw.items() if k not in ("seeds", "factors", "set")}
    reduced["seeds"] = [1]
    factors = {}
    for key, values in raw.get("factors", {}).items():
        if isinstance(values, dict):  # a logspace/linspace range: keep its two ends
            values = [values[k] for k in ("logspace", "linspace") if k in values][0]
        factors[key] = [values[0], values[-1]] if len(values) > 1 else values
    if raw.get("options", {}).get("mode") == "grid":
        first = next(iter(factors))
        factors = {k: (v if k == first else v[:1]) for k, v in factors.items()}
    reduced["factors"] = factors
    base = tomllib.loads((SCENARIO_DIR / raw["base"]).read_text())
    kind = base["workload"]["kind"]
    shorten = {"mlp": {"workload.steps": 2}, "shapes": {"workload.steps": 5}}.get(kind, {})
    if kind == "synthetic":
        shorten = {"workload.jobs": 200}
    reduced["set"] = {**raw.get("set", {}), **shorten}
    reduced["base"] = str(SCENARIO_DIR / raw["base"])
    return reduced


def rounded(value: Any, key: str = "") -> Any:
    """``value`` as pinned: floats and ``*_ticks`` integers to DIGITS significant digits,
    non-finite floats as their text (JSON has no infinity), everything else as it is."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if key.endswith("_ticks") and value:
            return round(value, DIGITS - 1 - int(math.log10(abs(value))))
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return float(f"{value:.{DIGITS}g}")
    raise TypeError(f"{key}: cannot pin a {type(value).__name__}")


def _summary_figures(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: rounded(v, k) for k, v in sorted(summary.items()) if k not in NOT_PINNED}


def run_figures(result: Any) -> dict[str, Any]:
    """The pinned figures of one run (a :class:`hybridsim.results.RunResult`)."""
    jobs = Counter(f"{j.route}/{j.group}/{j.solver}/{j.status}" for j in result.jobs)
    return {
        "jobs": dict(sorted(jobs.items())),
        "attempts": sum(j.attempts for j in result.jobs),
        "steps": dict(sorted(Counter(s.run for s in result.steps).items())),
        "intervals": dict(sorted(Counter(iv.kind for iv in result.intervals).items())),
        "summary": _summary_figures(result.summary),
    }


def _cell(text: str) -> Any:
    """A results.csv cell back as the value it was written from."""
    if text == "":
        return None
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def sweep_figures(result: Any) -> dict[str, Any]:
    """The pinned figures of a sweep (a :class:`hybridsim.sweep.runner.SweepResult`): per row of
    results.csv, its point, seed, factor values and status, and its summary numbers."""
    rows = []
    for row in result.rows():
        values = {k: _cell(v) for k, v in row.items() if k != "error" and v != ""}
        rows.append({"point": values["point"], "seed": values["seed"], **_summary_figures(values)})
    return {"runs": result.runs, "ok": result.ok, "failed": result.failed, "rows": rows}


def run_reduced(name: str, scratch: Path) -> Any:
    """Run scenarios/<name> at its reduced size: a RunResult, or for a sweep file the
    SweepResult of its reduced sweep (written under ``scratch``)."""
    import hybridsim

    if is_sweep(name):
        return hybridsim.run_sweep(
            reduced_sweep(name), out=scratch / "sweep", serial=True, progress=False
        )
    return hybridsim.run(SCENARIO_DIR / name, overrides=SHORTEN.get(name, []))


def figures_of(name: str, result: Any) -> dict[str, Any]:
    """The pinned figures of ``result``, what :func:`run_reduced` gave for scenarios/<name>."""
    if is_sweep(name):
        return {"reduced": "first and last value of each factor, seed 1", **sweep_figures(result)}
    return {"overrides": SHORTEN.get(name, []), **run_figures(result)}


def figures(name: str, scratch: Path) -> dict[str, Any]:
    """Run scenarios/<name> at its reduced size and return its pinned figures."""
    return figures_of(name, run_reduced(name, scratch))


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / (Path(name).stem + ".json")


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def load(name: str) -> dict[str, Any]:
    return json.loads(golden_path(name).read_text(encoding="utf-8"))


def dump(figs: dict[str, Any]) -> str:
    """The golden file's text: sorted keys, one value a line, so that a change is a small diff."""
    return json.dumps(figs, indent=2, sort_keys=True, allow_nan=False) + "\n"


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` differs from ``expected`` (golden), one line each; floats and integers
    agree within REL_TOL (both are rounded), everything else exactly."""
    where = path or "(top)"
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{sub}: golden {expected[key]!r}, now missing")
            elif key not in expected:
                out.append(f"{sub}: not in the golden file, now {actual[key]!r}")
            else:
                out += differences(expected[key], actual[key], sub)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: golden {len(expected)} entries, now {len(actual)}"]
        return [
            line
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for line in differences(e, a, f"{path}[{i}]")
        ]
    numbers = (int, float)
    if (
        isinstance(expected, numbers)
        and isinstance(actual, numbers)
        and not isinstance(expected, bool)
        and not isinstance(actual, bool)
    ):
        if expected == actual or math.isclose(expected, actual, rel_tol=REL_TOL):
            return []
    elif expected == actual and type(expected) is type(actual):
        return []
    return [f"{where}: golden {expected!r}, now {actual!r}"]


def compare(name: str, figs: dict[str, Any]) -> list[str]:
    """How fresh figures of scenarios/<name> differ from its golden file (empty: they agree)."""
    target = golden_path(name)
    if not target.exists():
        return [f"no golden file {_shown(target)} (python -m tests.golden --update)"]
    return differences(load(name), json.loads(dump(figs)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.golden",
        description="Compare (or with --update rewrite) the golden summaries in tests/golden/.",
    )
    parser.add_argument("names", nargs="*", help="scenario files (default: all of scenarios/)")
    parser.add_argument("--update", action="store_true", help="rewrite the golden files")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(SCENARIOS))
    if unknown:
        parser.error(f"not in scenarios/: {', '.join(unknown)}")
    from threadpoolctl import threadpool_limits

    GOLDEN_DIR.mkdir(exist_ok=True)
    failed = 0
    # one BLAS thread, as the test suite runs (repository conftest.py)
    with threadpool_limits(limits=1), tempfile.TemporaryDirectory() as scratch:
        for name in args.names or SCENARIOS:
            figs = figures(name, Path(scratch) / Path(name).stem)
            target = golden_path(name)
            if args.update:
                old = target.read_text(encoding="utf-8") if target.exists() else None
                text = dump(figs)
                target.write_text(text, encoding="utf-8")
                state = "new" if old is None else ("unchanged" if old == text else "updated")
                print(f"{_shown(target)}: {state}")
                continue
            diff = compare(name, figs)
            failed += bool(diff)
            print(
                f"{name}: " + (f"{len(diff)} difference{'s' * (len(diff) > 1)}" if diff else "ok")
            )
            for line in diff:
                print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
