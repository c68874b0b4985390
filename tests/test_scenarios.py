"""Every scenario file in scenarios/ runs (shortened where it would take long), and every sweep
file validates and runs a reduced version of itself."""

import tomllib
from pathlib import Path

import pytest

from hybridsim import run

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))


def is_sweep(name):
    return "base" in tomllib.loads((ROOT / "scenarios" / name).read_text())


# Overrides that keep each scenario to a few seconds in the default test run.
SHORTEN = {
    "mmc.toml": ["workload.jobs=500"],
    "quickstart.toml": ["workload.steps=4"],
    "paper-mlp.toml": ["workload.epochs=0.5"],
    "paper-bert-tiny.toml": ["workload.steps=20"],
    "paper-mistral-tiny.toml": ["workload.steps=20"],
    "multi-tenant.toml": ["workload.epochs=0.2"],
}


@pytest.mark.parametrize("name", [n for n in SCENARIOS if not is_sweep(n)])
def test_scenario_runs(name):
    r = run(ROOT / "scenarios" / name, overrides=SHORTEN.get(name, []))
    s = r.summary
    assert s["jobs_completed"] > 0 and s["jobs_failed"] == 0
    assert s["makespan_s"] > 0


def test_every_scenario_has_a_header_comment():
    for name in SCENARIOS:
        first = (ROOT / "scenarios" / name).read_text().lstrip().splitlines()[0]
        assert first.startswith("#"), f"{name}: start with a comment saying what it answers"


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in SCENARIOS if not is_sweep(n)])
def test_scenario_runs_in_full(name):
    r = run(ROOT / "scenarios" / name)
    assert r.summary["jobs_completed"] > 0
