"""The command line: outputs, determinism, and one-line errors with exit code 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybridsim.cli import main
from hybridsim.tomlio import dumps

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--set", "workload.jobs=300"]


def write(tmp_path, data, name="s.toml"):
    path = tmp_path / name
    path.write_text(dumps(data))
    return path


def test_run_writes_every_output(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(ROOT / "scenarios/mmc.toml"), "--out", str(out), *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "jobs_completed" in printed and "300" in printed
    for name in ("summary.json", "jobs.csv", "intervals.csv", "queues.csv", "scenario.toml"):
        assert (out / name).exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["tick_s"] == 1e-21
    assert summary["seed"] == 1
    assert summary["jobs_completed"] == 300
    assert summary["scenario"]["workload"]["jobs"] == 300
    assert set(summary["versions"]) >= {"hybridsim", "simpy", "numpy", "qutip"}
    lines = (out / "jobs.csv").read_text().splitlines()
    assert len(lines) == 301
    # the saved scenario reproduces the run
    out2 = tmp_path / "again"
    assert main(["run", str(out / "scenario.toml"), "--out", str(out2), "--quiet"]) == 0
    assert (out2 / "jobs.csv").read_bytes() == (out / "jobs.csv").read_bytes()


def test_same_seed_gives_byte_identical_outputs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, "5"), (b, "5"), (c, "6")):
        assert (
            main(
                [
                    "run",
                    str(ROOT / "scenarios/mmc.toml"),
                    "--out",
                    str(out),
                    "--seed",
                    seed,
                    "--quiet",
                    *SMALL,
                ]
            )
            == 0
        )
    for name in ("jobs.csv", "intervals.csv", "queues.csv", "scenario.toml"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
    sa.pop("wall"), sb.pop("wall")
    assert sa == sb
    assert (a / "jobs.csv").read_bytes() != (c / "jobs.csv").read_bytes()


def test_validate_ok(capsys):
    assert main(["validate", str(ROOT / "scenarios/mmc.toml")]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda d: d["cluster"]["qpu"][0].update(count=0), "cluster.qpu.q.count"),
        (
            lambda d: d["cluster"]["qpu"][0].update(gate_time_2q="-84 ns"),
            "cluster.qpu.q.gate_time_2q",
        ),
        (lambda d: d["cluster"]["qpu"][0].update(gate_tme_2q="84 ns"), "cluster.qpu.q.gate_tme_2q"),
        (lambda d: d["workload"].update(jobs="many"), "workload.jobs"),
        (lambda d: d["workload"].update(pool="gpu"), "workload.pool"),
    ],
)
def test_bad_scenarios_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, mutate, key):
    import tomllib

    data = tomllib.loads((ROOT / "scenarios/mmc.toml").read_text())
    mutate(data)
    path = write(tmp_path, data)
    out = tmp_path / "out"
    for cmd in (["validate", str(path)], ["run", str(path), "--out", str(out)]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith(f"error: {path}: {key}: ")
    assert not out.exists()


def test_bad_set_value_exit_2(tmp_path, capsys):
    out = tmp_path / "o"
    assert (
        main(
            [
                "run",
                str(ROOT / "scenarios/mmc.toml"),
                "--out",
                str(out),
                "--set",
                "cluster.qpu.q.count=-1",
            ]
        )
        == 2
    )
    assert "cluster.qpu.q.count" in capsys.readouterr().err
    assert not out.exists()


def test_console_script_has_no_traceback_on_bad_input(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b"\x00\x01\x02 not toml")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "hybridsim.cli", "run", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_negative_seed_is_exit_2(capsys):
    assert main(["run", str(ROOT / "scenarios/mmc.toml"), "--seed", "-3"]) == 2
    assert "seed" in capsys.readouterr().err


@pytest.mark.parametrize("estimator", ["norm_det", "hager_higham"])
def test_outputs_do_not_depend_on_the_hash_seed(tmp_path, estimator):
    """Same scenario + seed => byte-identical outputs with PYTHONHASHSEED varied (training
    scenario with HHL-executed blocks, so data order, shots and routing are all covered)."""
    outs = []
    for hs in ("0", "4242"):
        out = tmp_path / f"hs{hs}"
        env = {**os.environ, "PYTHONHASHSEED": hs, "PYTHONPATH": str(ROOT)}
        cmd = [
            sys.executable,
            "-m",
            "hybridsim.cli",
            "run",
            str(ROOT / "scenarios/quickstart.toml"),
            "--out",
            str(out),
            "--quiet",
            "--no-report",
            "--set",
            "workload.steps=2",
            "--set",
            "workload.baselines=['sgd']",
            "--set",
            f"scheduler.estimator={estimator}",
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        outs.append(out)
    a, b = outs
    for name in ("jobs.csv", "steps.csv", "intervals.csv", "queues.csv", "scenario.toml"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in outs)
    sa.pop("wall"), sb.pop("wall")
    assert sa == sb
