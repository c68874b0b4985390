"""Progress of long runs: the engine's progress hook changes nothing, ``hybridsim run`` prints
its header first and draws a bar only on a terminal (issue 17.3)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

import hybridsim
from hybridsim.cli import main
from hybridsim.cli.progress import header_size
from hybridsim.scenario import load_scenario
from hybridsim.sim.engine import Progress, Simulation

ROOT = Path(__file__).resolve().parent.parent
MMC = str(ROOT / "scenarios/mmc.toml")
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("until", [None, "40 s"])
def test_progress_hook_changes_no_record(monkeypatch, until):
    sets = ["workload.jobs=400"] + ([f'until="{until}"'] if until else [])
    plain = hybridsim.run(MMC, overrides=sets)
    monkeypatch.setattr(Simulation, "PROGRESS_INTERVAL_S", 0.0)  # report after every batch
    seen: list[Progress] = []
    hooked = hybridsim.run(MMC, overrides=sets, progress=seen.append)
    assert hooked.jobs == plain.jobs and hooked.intervals == plain.intervals
    assert hooked.queues == plain.queues
    assert len(seen) > 3
    assert [p.now_ticks for p in seen] == sorted(p.now_ticks for p in seen)
    assert [p.jobs_done for p in seen] == sorted(p.jobs_done for p in seen)
    assert seen[-1] == Progress("main", seen[-1].now_ticks, len(plain.jobs), 0)
    if until:  # stopped exactly where env.run(until=...) stops
        assert len(plain.jobs) < 400 and seen[-1].now_ticks <= 40 * 10**21


def test_progress_reports_training_steps_of_every_run():
    sets = ["workload.steps=2", "workload.baselines=['sgd']"]
    seen: list[Progress] = []
    r = hybridsim.run(ROOT / "scenarios/quickstart.toml", overrides=sets, progress=seen.append)
    assert [p.run for p in seen][-1] == "sgd" and seen[0].run == "main"
    main_last = [p for p in seen if p.run == "main"][-1]
    assert main_last.steps_done == 3 and main_last.jobs_done == len(r.jobs)  # steps 0, 1, 2


def test_header_comes_before_the_simulation(monkeypatch, capsys, tmp_path):
    import hybridsim.api as api

    real = api.run
    printed = []

    def spy(*a, **k):
        printed.append(capsys.readouterr().out)
        return real(*a, **k)

    monkeypatch.setattr(api, "run", spy)
    out = tmp_path / "o"
    assert main(["run", MMC, "--out", str(out), "--no-report", "--set", "workload.jobs=30"]) == 0
    assert len(printed) == 1 and printed[0].endswith(" written\n"), printed
    assert printed[0].startswith(f"{MMC} (seed 1) -> {out}: workload synthetic: 1 run, 30 jobs, ")
    assert "jobs_completed" in capsys.readouterr().out


def test_the_header_gives_the_size_validation_estimated():
    from hybridsim.scenario import run_size

    q = load_scenario(ROOT / "scenarios/quickstart.toml")
    assert header_size(q) == f"workload mlp: {run_size(q).describe()}"
    assert f", {3 * q.workload.steps} steps, " in header_size(q)  # main run and two baselines
    b = load_scenario(ROOT / "scenarios/paper-bert-tiny.toml", ["workload.steps=7"])
    assert header_size(b).startswith("workload shapes: 1 run, 7 steps, 273 jobs (39 per Newton")
    m = load_scenario(MMC, ['until="1 h"'])
    assert header_size(m).startswith("workload synthetic: 1 run, ")
    assert header_size(m).endswith(", until 1 h simulated")


def _run_on_pty(*args: str) -> tuple[int, str, str]:
    """Run ``hybridsim run`` with stderr on a pseudo-terminal; return (code, stdout, stderr)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybridsim.cli", "run", MMC, *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=ENV,
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 300)  # a hang guard, not a time limit
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read().decode()
    proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, out, b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal_only(tmp_path):
    sets = ["--no-report", "--set", "workload.jobs=2000"]
    code, out, err = _run_on_pty("--out", str(tmp_path / "tty"), *sets)
    assert code == 0
    assert "main: 100%" in err and "2000/2000" in err and "job" in err
    assert out.startswith(f"{MMC} (seed 1) -> {tmp_path / 'tty'}: workload synthetic")
    # --quiet on a terminal: nothing at all
    code, out, err = _run_on_pty("--out", str(tmp_path / "quiet"), "--quiet", *sets)
    assert code == 0 and out == "" and err == ""
    # stderr not a terminal: no bar
    proc = subprocess.run(
        [sys.executable, "-m", "hybridsim.cli", "run", MMC, "--out", str(tmp_path / "pipe"), *sets],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith(f"{MMC} (seed 1) -> ")
