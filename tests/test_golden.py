"""The golden-summary machinery (tests/golden.py) itself: it notices a change, tolerates only a
rounding flip, and its command rewrites and checks the files."""

from __future__ import annotations

import json

import golden
import pytest

from hybridsim import run


def test_a_changed_run_differs_from_the_golden_summary():
    # mmc.toml is pinned at 500 jobs; 499 is a change of behaviour the comparison must name
    figs = golden.figures_of(
        "mmc.toml", run(golden.SCENARIO_DIR / "mmc.toml", overrides=["workload.jobs=499"])
    )
    diff = golden.compare("mmc.toml", figs)
    assert "summary.jobs_completed: golden 500, now 499" in diff
    assert "attempts: golden 500, now 499" in diff
    assert "jobs.quantum/q/explicit/completed: golden 500, now 499" in diff


def test_rounding_and_tolerance():
    assert golden.rounded(0.1 + 0.2) == 0.3
    assert golden.rounded(123456789, "makespan_ticks") == 123457000
    assert golden.rounded(123456789, "jobs_completed") == 123456789  # counts stay exact
    assert golden.rounded(float("inf")) == "inf"
    # a value on a rounding boundary may come out one unit apart in the 6th digit: accepted
    assert golden.differences({"x": 1.23456}, {"x": 1.23457}) == []
    assert golden.differences({"x": 1.23456}, {"x": 1.23459}) == ["x: golden 1.23456, now 1.23459"]
    # counts, texts and shapes exactly
    assert golden.differences({"n": 3}, {"n": 4}) == ["n: golden 3, now 4"]
    assert golden.differences({"s": "ok"}, {"s": "failed"}) == ["s: golden 'ok', now 'failed'"]
    assert golden.differences({"a": None}, {"a": 0.0}) == ["a: golden None, now 0.0"]
    assert golden.differences({"r": [1, 2]}, {"r": [1]}) == ["r: golden 2 entries, now 1"]
    assert golden.differences({"a": 1}, {"b": 1}) == [
        "a: golden 1, now missing",
        "b: not in the golden file, now 1",
    ]


def test_the_command_rewrites_and_checks_the_files(tmp_path, monkeypatch, capsys):
    checked_in = golden.golden_path("mmc.toml").read_text(encoding="utf-8")
    monkeypatch.setattr(golden, "GOLDEN_DIR", tmp_path)
    assert golden.main(["mmc.toml"]) == 1  # no file yet
    assert "no golden file" in capsys.readouterr().out
    assert golden.main(["--update", "mmc.toml"]) == 0
    assert "mmc.json: new" in capsys.readouterr().out
    # a synthetic run uses no BLAS: its file comes out byte for byte as checked in
    assert (tmp_path / "mmc.json").read_text(encoding="utf-8") == checked_in
    assert golden.main(["mmc.toml"]) == 0
    figs = json.loads(checked_in)
    figs["summary"]["routed_quantum"] += 1
    (tmp_path / "mmc.json").write_text(golden.dump(figs), encoding="utf-8")
    assert golden.main(["mmc.toml"]) == 1
    out = capsys.readouterr().out
    assert "mmc.toml: 1 difference\n" in out and "summary.routed_quantum: golden 501" in out
    with pytest.raises(SystemExit):
        golden.main(["no-such.toml"])
