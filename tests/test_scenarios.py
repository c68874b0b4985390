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


def test_faults_scenario_records_every_kind_of_fault_and_reports_them(tmp_path):
    from hybridsim.report import write_report

    r = run(ROOT / "scenarios/faults.toml")
    kinds = {iv.kind for iv in r.intervals}
    assert {"calibration", "outage", "failed"} <= kinds
    assert any(iv.resource.startswith("link:") for iv in r.intervals if iv.kind == "outage")
    assert r.summary["jobs_failed"] == 0  # every failed attempt was retried or rerouted
    assert max(j.attempts for j in r.jobs) > 1
    r.write(tmp_path)
    written = write_report(r, tmp_path)
    assert (tmp_path / "timeline.png").stat().st_size > 10_000
    assert "outage" in (tmp_path / "report.html").read_text()
    assert written


@pytest.mark.parametrize("name", [n for n in SCENARIOS if is_sweep(n)])
def test_sweep_file_validates_every_point_and_runs_reduced(name, tmp_path):
    """The sweep validates in full; a reduced version (first and last value of each factor, one
    seed, few steps or jobs) runs through the sweep machinery and leaves no failed row."""
    import hybridsim
    from hybridsim.sweep.spec import load_sweep

    path = ROOT / "scenarios" / name
    spec = load_sweep(path)  # builds and validates the scenario of every point
    assert len(spec.points) >= 2
    raw = tomllib.loads(path.read_text())
    reduced = {k: v for k, v in raw.items() if k not in ("seeds", "factors", "set")}
    reduced["seeds"] = [1]
    factors = {}
    for key, values in raw.get("factors", {}).items():
        if isinstance(values, dict):  # a logspace/linspace range: keep its two ends
            values = [values[k] for k in ("logspace", "linspace") if k in values][0]
        factors[key] = [values[0], values[-1]] if len(values) > 1 else values
    if raw.get("options", {}).get("mode") == "grid":
        # keep the grid small: only the first factor varies
        first = next(iter(factors))
        factors = {k: (v if k == first else v[:1]) for k, v in factors.items()}
    reduced["factors"] = factors
    base = tomllib.loads((ROOT / "scenarios" / raw["base"]).read_text())
    shorten = {"workload.steps": 2} if base["workload"]["kind"] == "mlp" else {}
    if base["workload"]["kind"] == "shapes":
        shorten = {"workload.steps": 5}
    if base["workload"]["kind"] == "synthetic":
        shorten = {"workload.jobs": 200}
    reduced["set"] = {**raw.get("set", {}), **shorten}
    reduced["base"] = str(ROOT / "scenarios" / raw["base"])
    result = hybridsim.run_sweep(reduced, out=tmp_path / "out", serial=True, progress=False)
    assert result.failed == 0 and result.ok == len(result.rows()) >= 2
