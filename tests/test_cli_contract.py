"""The CLI's contract (issue 16, last bullet of "What to build"): bad input exits 2 with one
line, job failures are results (exit 0), anything else is a bug (exit 1, traceback, a request to
report it)."""

from pathlib import Path

import pytest

from hybridsim import cli
from hybridsim.errors import HybridSimError

ROOT = Path(__file__).resolve().parent.parent


def test_a_bug_exits_1_with_the_traceback_and_a_request_to_report_it(tmp_path, monkeypatch, capsys):
    """A failure inside a run that is not a HybridSimError used to escape main (a bare
    traceback); now main prints it and asks for a report."""
    import hybridsim.api as api

    def broken(*_a, **_k):
        raise RuntimeError("simulated internal failure")

    monkeypatch.setattr(api, "run", broken)
    rc = cli.main(["run", str(ROOT / "scenarios" / "mmc.toml"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" in err and "RuntimeError: simulated internal failure" in err
    assert (
        err.rstrip()
        .splitlines()[-1]
        .endswith(
            "please report it with the traceback above, the command line and the scenario file"
        )
    )
    assert "this is a bug" in err
    assert not (tmp_path / "o").exists()


def test_job_failures_are_results_not_errors(tmp_path, capsys):
    """A run whose jobs fail for good (gate errors, fallback = "fail") exits 0."""
    data = tmp_path / "s.toml"
    data.write_text(
        """
[[cluster.gpu]]
name = "g"
link_latency = 0
[[cluster.qpu]]
name = "q"
link_latency = 0
gate_time_1q = "1 as"
gate_time_2q = "1 as"
error_2q = 0.5
[workload]
kind = "synthetic"
jobs = 3
kappa = 10.0
n = 64
d = 4
arrival = { dist = "deterministic", interval_s = 1 }
service = { dist = "model" }
[scheduler]
policy = "quantum_only"
[costs]
accounting = "paper"
[faults]
fallback = "fail"
"""
    )
    rc = cli.main(["run", str(data), "--out", str(tmp_path / "o"), "--no-report"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "jobs_failed" in out and "3" in out
    assert (tmp_path / "o" / "summary.json").exists()


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    rc = cli.main(
        [
            "run",
            str(ROOT / "scenarios" / "mmc.toml"),
            "--set",
            "workload.jobs=0",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert not (tmp_path / "o").exists()


# -- one error-handling path for every command (issue 19: the commands live in hybridsim/cli/) --

# What each command calls first, to make it fail there: (module, attribute).
FIRST_CALL = {
    "run": ("hybridsim.scenario", "load_scenario"),
    "validate": ("hybridsim.scenario", "load_scenario"),
    "report": ("hybridsim.sweep.store", "is_sweep_dir"),
    "sweep": ("hybridsim.sweep.spec", "load_sweep"),
}


def _argv(command, tmp_path):
    return {
        "run": ["run", "x.toml", "--out", str(tmp_path / "o")],
        "validate": ["validate", "x.toml"],
        "report": ["report", str(tmp_path)],
        "sweep": ["sweep", "x.toml", "--out", str(tmp_path / "o"), "--serial"],
    }[command]


@pytest.mark.parametrize("command", sorted(FIRST_CALL))
@pytest.mark.parametrize(
    "raised, code, last_line",
    [
        (HybridSimError("x.toml: workload.jobs: bad"), 2, "error: x.toml: workload.jobs: bad"),
        (KeyboardInterrupt(), 130, "error: interrupted"),
        (RuntimeError("internal"), 1, "please report it with the traceback above"),
    ],
    ids=["bad-input", "interrupted", "bug"],
)
def test_every_command_shares_the_one_error_path(
    command, raised, code, last_line, tmp_path, monkeypatch, capsys
):
    import importlib

    module, name = FIRST_CALL[command]
    # Imported before the patch: a module imported meanwhile would keep the failing function.
    for loaded in ("hybridsim.sweep.runner", "hybridsim.outdir", "hybridsim.report.data"):
        importlib.import_module(loaded)

    def fail(*_a, **_k):
        raise raised

    monkeypatch.setattr(importlib.import_module(module), name, fail)
    assert cli.main(_argv(command, tmp_path)) == code
    err = capsys.readouterr().err
    assert last_line in err.rstrip().splitlines()[-1]
    if code == 1:
        assert "Traceback" in err and "RuntimeError: internal" in err
    else:
        assert err.count("\n") == 1  # one line, no traceback
    assert not (tmp_path / "o").exists()
