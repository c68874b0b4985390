"""Every scenario file in scenarios/ runs at a reduced size and gives the key figures pinned in
its golden file (tests/golden.py says what and how to regenerate them); every sweep file
validates in full."""

from pathlib import Path

import pytest
from conftest import check_run_invariants
from golden import SCENARIOS, compare, figures_of, is_sweep, reduced_sweep, run_reduced

from hybridsim import run

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_matches_its_golden_summary(name, tmp_path):
    """Each scenario file, at the reduced size of tests/golden.py, keeps every run invariant and
    gives the key figures pinned in tests/golden/<scenario>.json (job counts per route, makespan,
    waits, the training's results, ...). A difference means behaviour changed: if it was meant
    to, regenerate with ``python -m tests.golden --update`` and let the diff be reviewed."""
    result = run_reduced(name, tmp_path)
    if is_sweep(name):
        assert result.failed == 0 and result.ok == len(result.rows()) >= 2
    else:
        check_run_invariants(result)
        assert result.summary["jobs_completed"] > 0
    diff = compare(name, figures_of(name, result))
    assert not diff, f"{name} differs from its golden summary:\n  " + "\n  ".join(diff)


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
def test_sweep_file_validates_every_point(name):
    """The sweep validates in full (its reduced version runs in the golden-summary test)."""
    from hybridsim.sweep.spec import load_sweep

    spec = load_sweep(ROOT / "scenarios" / name)  # builds and validates the scenario of every point
    assert len(spec.points) >= 2
    assert len(load_sweep(reduced_sweep(name)).points) >= 2
