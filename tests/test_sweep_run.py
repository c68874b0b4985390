"""Running sweeps: backends agree, failures are recorded, resume, kills, Ctrl-C, the CLI."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hybridsim
from hybridsim.cli import main as cli_main
from hybridsim.errors import HybridSimError
from hybridsim.sweep import SweepInterrupted, load_sweep
from hybridsim.sweep.store import read_sweep
from hybridsim.tomlio import dumps

ROOT = Path(__file__).resolve().parent.parent
MMC = str(ROOT / "scenarios" / "mmc.toml")


def write_sweep(tmp_path: Path, *, jobs: int = 300, seeds=(1, 2), counts=(2, 3), **extra) -> Path:
    data = {
        "name": "t",
        "base": MMC,
        "seeds": list(seeds),
        "set": {"workload.jobs": jobs},
        "factors": {"cluster.qpu.q.count": list(counts), "workload.arrival.rate_per_s": [1.5, 2.4]},
        **extra,
    }
    path = tmp_path / "sweep.toml"
    path.write_text(dumps(data))
    return path


def failing_sweep() -> dict:
    """Three points; the middle one names a device the custom network leaves unconnected, which
    only the engine detects, at run time."""
    base = {
        "cluster": {"qpu": [{"name": "q", "count": 1}]},
        "network": {"topology": "custom", "links": [{"a": "host", "b": "q-0"}]},
        "workload": {
            "kind": "synthetic",
            "jobs": 20,
            "pool": "qpu",
            "arrival": {"dist": "exponential", "rate_per_s": 1.0},
            "service": {"dist": "deterministic", "value_s": 0.5},
        },
    }
    return {
        "base": base,
        "seeds": [1, 2],
        "factors": {"cluster.qpu.q.count": [1, 2], "workload.jobs": [10, 20]},
    }


def db_rows(out: Path, sql: str = "SELECT point, seed, status FROM results ORDER BY point, seed"):
    conn = sqlite3.connect(out / "results.sqlite")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_serial_and_pool_give_byte_identical_tables(tmp_path):
    path = write_sweep(tmp_path)
    a = hybridsim.run_sweep(path, tmp_path / "serial", serial=True, progress=False)
    b = hybridsim.run_sweep(path, tmp_path / "pool", workers=2, progress=False)
    assert (a.runs, a.ok, a.failed, a.ran, a.reused) == (8, 8, 0, 8, 0)
    assert b.backend == "2 local workers" and a.backend == "serial"
    assert a.results_csv.read_bytes() == b.results_csv.read_bytes()
    rows = a.rows()
    assert [(r["point"], r["seed"]) for r in rows] == [
        (str(p), str(s)) for p in range(4) for s in (1, 2)
    ]
    header = list(rows[0])
    assert header[:6] == [
        "point", "seed", "cluster.qpu.q.count", "workload.arrival.rate_per_s", "status", "error",
    ]  # fmt: skip
    assert {"mean_wait_s", "makespan_s", "jobs_completed", "utilization_q-2"} <= set(header)
    assert not {"wall_s", "versions", "worker", "scenario", "wall.simulate_s"} & set(header)
    # The same run outside a sweep gives the same numbers.
    direct = hybridsim.run(
        MMC,
        seed=2,
        overrides=["workload.jobs=300", "cluster.qpu.q.count=3", "workload.arrival.rate_per_s=1.5"],
    )
    row = next(r for r in rows if r["point"] == "2" and r["seed"] == "2")
    assert row["mean_wait_s"] == repr(direct.summary["mean_wait_s"])
    assert row["makespan_ticks"] == str(direct.summary["makespan_ticks"])


def test_results_database_holds_every_column(tmp_path):
    path = write_sweep(
        tmp_path, factors={"cluster.qpu.q.gate_time_2q": ["84 ns", "1 as"]}, counts=(3,)
    )
    r = hybridsim.run_sweep(path, tmp_path / "out", serial=True, progress=False)
    conn = sqlite3.connect(r.results_db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM results ORDER BY point, seed").fetchall()
    assert len(rows) == 4
    row = rows[1]
    assert row["cluster.qpu.q.gate_time_2q"] == "84 ns"
    assert row["cluster.qpu.q.gate_time_2q_s"] == pytest.approx(8.4e-8)
    assert row["status"] == "ok" and row["error"] is None and row["wall_s"] > 0
    assert json.loads(row["versions"])["hybridsim"] == hybridsim.__version__
    metrics = json.loads(row["metrics"])
    assert row["mean_wait_s"] == metrics["mean_wait_s"]
    # Tick counts exceed SQLite's 64-bit integers: stored exactly, as text.
    assert row["makespan_ticks"] == str(metrics["makespan_ticks"])
    assert metrics["makespan_ticks"] > 2**63
    points = conn.execute("SELECT point, factors, scenario FROM points").fetchall()
    assert len(points) == 2
    assert json.loads(points[1]["scenario"])["cluster"]["qpu"][0]["gate_time_2q"] == "1 as"
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    conn.close()
    assert meta["digest"] == load_sweep(path).digest


def test_a_failing_point_is_recorded_and_the_others_finish(tmp_path):
    r = hybridsim.run_sweep(failing_sweep(), tmp_path / "out", workers=2, progress=False)
    assert (r.runs, r.ok, r.failed) == (8, 4, 4)
    failures = r.failures()
    assert [(p, s) for p, s, _ in failures] == [(2, 1), (2, 2), (3, 1), (3, 2)]
    for _, _, message in failures:
        assert message == (
            "network.links: device 'q-1' is not connected to the host 'host' "
            "(expected a path of links from the host to every device)"
        )
    rows = r.rows()
    assert [row["status"] for row in rows] == ["ok"] * 4 + ["failed"] * 4
    assert rows[0]["jobs_completed"] == "10" and rows[4]["jobs_completed"] == ""
    assert rows[4]["error"].startswith("network.links: device 'q-1'")


def test_resume_runs_only_missing_and_failed_rows(tmp_path):
    path = write_sweep(tmp_path)
    out = tmp_path / "out"
    first = hybridsim.run_sweep(path, out, serial=True, progress=False)
    before = first.results_csv.read_bytes()
    conn = sqlite3.connect(out / "results.sqlite")
    conn.execute("DELETE FROM results WHERE point = 1 AND seed = 2")
    conn.execute("UPDATE results SET status = 'failed', error = 'x' WHERE point = 3 AND seed = 1")
    finished_at = conn.execute(
        "SELECT finished_at FROM results WHERE point = 0 AND seed = 1"
    ).fetchone()
    conn.commit()
    conn.close()
    again = hybridsim.run_sweep(path, out, serial=True, progress=False)
    assert (again.ran, again.reused, again.ok, again.failed) == (2, 6, 8, 0)
    assert again.results_csv.read_bytes() == before
    kept = db_rows(out, "SELECT finished_at FROM results WHERE point = 0 AND seed = 1")
    assert kept == [finished_at]  # untouched
    third = hybridsim.run_sweep(path, out, serial=True, progress=False)
    assert third.ran == 0 and third.reused == 8


def test_resume_refuses_a_different_sweep(tmp_path, capsys):
    out = tmp_path / "out"
    hybridsim.run_sweep(write_sweep(tmp_path, seeds=(1,)), out, serial=True, progress=False)
    other = write_sweep(tmp_path, seeds=(1, 2))
    with pytest.raises(HybridSimError, match="holds the results of a different sweep"):
        hybridsim.run_sweep(other, out, serial=True, progress=False)
    assert cli_main(["sweep", str(other), "--out", str(out), "--serial"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out}: holds the results of a different sweep")
    assert err.count("\n") == 1
    assert len(db_rows(out)) == 4  # the old table is intact


def test_a_second_sweep_process_in_the_same_directory_is_refused(tmp_path):
    path = write_sweep(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from hybridsim.sweep import load_sweep\n"
         "from hybridsim.sweep.store import ResultStore\n"
         "with ResultStore(sys.argv[2], load_sweep(sys.argv[1])):\n"
         "    print('locked', flush=True)\n"
         "    time.sleep(60)\n",
         str(path), str(tmp_path / "out")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(HybridSimError, match="another sweep is writing"):
            hybridsim.run_sweep(path, tmp_path / "out", serial=True, progress=False)
    finally:
        holder.kill()
        holder.wait()
    # The kernel drops the lock of a killed process: no stale lock.
    assert hybridsim.run_sweep(path, tmp_path / "out", serial=True, progress=False).ok == 8


def test_keep_runs_writes_each_run_directory(tmp_path):
    path = write_sweep(tmp_path, seeds=(1,), counts=(2,))
    r = hybridsim.run_sweep(path, tmp_path / "out", workers=2, keep_runs=True, progress=False)
    runs = sorted(p.name for p in (tmp_path / "out" / "runs").iterdir())
    assert runs == ["p0000_s1", "p0001_s1"]
    summary = json.loads((tmp_path / "out" / "runs" / "p0001_s1" / "summary.json").read_text())
    assert summary["scenario"]["workload"]["arrival"]["rate_per_s"] == 2.4
    assert repr(summary["mean_wait_s"]) == r.rows()[1]["mean_wait_s"]


def test_python_api_from_a_dict_and_callable_package(tmp_path):
    import hybridsim.sweep.store  # binds the package to hybridsim.sweep

    r = hybridsim.run_sweep(failing_sweep(), out=tmp_path / "out", serial=True, progress=False)
    assert r.ok == 4
    with pytest.raises(HybridSimError, match="choose one executor"):
        hybridsim.run_sweep(failing_sweep(), tmp_path / "x", workers=2, serial=True)
    with pytest.raises(HybridSimError, match="--workers: must be at least 1"):
        hybridsim.run_sweep(failing_sweep(), tmp_path / "x", workers=0)


def test_cli_exit_codes_and_output(tmp_path, capsys):
    path = write_sweep(tmp_path, seeds=(1,))
    assert cli_main(["sweep", str(path), "--out", str(tmp_path / "a"), "--workers", "2"]) == 0
    cap = capsys.readouterr()
    header, summary = cap.out.splitlines()
    # The size comes first, before anything runs.
    assert header == f"t: 4 points × 1 seed = 4 runs on 2 local workers -> {tmp_path / 'a'}"
    assert summary.startswith("t: 4 runs (4 run now on 2 local workers): 4 ok, 0 failed -> ")
    assert "4/4" in cap.err  # the progress bar
    assert cli_main(["sweep", str(path), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    bad = tmp_path / "bad.toml"
    bad.write_text(dumps(failing_sweep()["base"]))
    failing = tmp_path / "failing.toml"
    failing.write_text(dumps({**failing_sweep(), "base": "bad.toml"}))
    assert cli_main(["sweep", str(failing), "--out", str(tmp_path / "f"), "--serial"]) == 1
    err = capsys.readouterr().err
    assert "failed: point 2 seed 1: network.links: device 'q-1'" in err
    assert "... and 1 more" in err
    broken = write_sweep(tmp_path, factors={"cluster.qpu.q.gate_time_2q": ["1 ns", "5 nss"]})
    assert cli_main(["sweep", str(broken), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {broken}: point 1 (")
    assert err.count("\n") == 1 and not (tmp_path / "b").exists()


# -- kills and interrupts (real processes) --------------------------------------------------------


def _sweep_process(path: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hybridsim.cli", "sweep", str(path), "--out", str(out),
         "--quiet", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A normal SIGINT disposition even if the test runner's shell ignores it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


#: Generous bounds that only catch a hang: on a loaded 2-core machine a sweep of a few seconds
#: can take minutes, and a test that waits for a condition never needs a tight one.
HANG_S = 300.0


def _wait_for_rows(out: Path, count: int, proc: subprocess.Popen, timeout: float = HANG_S) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            n = len(db_rows(out))
        except sqlite3.Error:
            n = 0
        if n >= count:
            return n
        time.sleep(0.05)
    raise AssertionError("the sweep made no progress")


@pytest.mark.parametrize("backend", [["--serial"], ["--workers", "2"]])
def test_sigkill_midway_then_resume_equals_an_uninterrupted_run(tmp_path, backend):
    psutil = pytest.importorskip("psutil")
    path = write_sweep(tmp_path, jobs=3000, seeds=(1, 2, 3), counts=(2, 3))  # 12 runs
    reference = hybridsim.run_sweep(path, tmp_path / "ref", serial=True, progress=False)
    out = tmp_path / "out"
    proc = _sweep_process(path, out, *backend)
    _wait_for_rows(out, 3, proc)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    # Orphaned pool workers notice their parent is gone (they check twice a second) and exit:
    # wait for that, however long a loaded machine takes to schedule them.
    _, alive = psutil.wait_procs(children, timeout=HANG_S)
    assert not alive
    saved = db_rows(out)
    assert 3 <= len(saved) < 12
    resumed = _sweep_process(path, out, *backend)
    stdout, stderr = resumed.communicate(timeout=HANG_S)
    assert resumed.returncode == 0, stderr
    rows = db_rows(out)
    assert len(rows) == 12 == len(set(rows))
    assert set(saved) <= set(rows)
    assert (out / "results.csv").read_bytes() == reference.results_csv.read_bytes()


def test_ctrl_c_stops_cleanly_and_keeps_what_finished(tmp_path):
    path = write_sweep(tmp_path, jobs=3000, seeds=(1, 2, 3), counts=(2, 3, 4))  # 18 runs
    out = tmp_path / "out"
    proc = _sweep_process(path, out, "--workers", "2")
    _wait_for_rows(out, 2, proc)
    proc.send_signal(signal.SIGINT)
    # It stops without running the other runs (fewer than 18 rows below); the timeout only
    # catches a hang, it is no measure of how promptly it stops.
    stdout, stderr = proc.communicate(timeout=HANG_S)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    assert "runs saved in" in stderr and "run the same command again to resume" in stderr
    saved = db_rows(out)
    assert 2 <= len(saved) < 18 and all(status == "ok" for _, _, status in saved)
    lines = (out / "results.csv").read_text().splitlines()
    assert len(lines) == len(saved) + 1
    r = hybridsim.run_sweep(path, out, workers=2, progress=False)
    assert (r.ok, r.reused) == (18, len(saved))


def test_keyboard_interrupt_in_the_api_saves_and_raises(tmp_path, monkeypatch):
    from hybridsim.sweep import worker

    calls = []
    real = worker.run_point

    def interrupt_third(task):
        calls.append(task)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr("hybridsim.sweep.backends.run_point", interrupt_third)
    with pytest.raises(SweepInterrupted) as stop:
        hybridsim.run_sweep(write_sweep(tmp_path), tmp_path / "out", serial=True, progress=False)
    r = stop.value.result
    assert (r.interrupted, r.ok, r.missing) == (True, 2, 6)
    assert len(read_sweep(tmp_path / "out").rows) == 2
    assert len((tmp_path / "out" / "results.csv").read_text().splitlines()) == 3


def _die_on_point_1(task):
    from hybridsim.sweep.worker import run_point

    if task.point == 1:
        os._exit(3)  # a worker killed mid-run (the OOM killer, a segfault)
    return run_point(task)


@pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork", reason="patching workers needs fork"
)
def test_a_worker_that_dies_is_retried_once_then_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr("hybridsim.sweep.backends.run_point", _die_on_point_1)
    r = hybridsim.run_sweep(
        write_sweep(tmp_path, seeds=(1,)), tmp_path / "out", workers=2, progress=False
    )
    assert (r.ok, r.failed) == (3, 1)
    ((point, seed, message),) = r.failures()
    assert (point, seed) == (1, 1) and message.startswith("the worker process died")


# -- the store is created whole or not at all (issue 18.6) --------------------------------------

_KILL_DURING_CREATION = """
import os, signal, sqlite3, sys

class Dying(sqlite3.Connection):
    def execute(self, sql, *args):
        if sql.startswith("CREATE TABLE results"):
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of creating the store
        return super().execute(sql, *args)

real = sqlite3.connect
sqlite3.connect = lambda *a, **k: real(*a, factory=Dying, **k)
from hybridsim.cli import main
main(["sweep", sys.argv[1], "--out", sys.argv[2], "--serial", "--quiet"])
"""


def test_a_kill_while_the_store_is_created_leaves_a_usable_directory(tmp_path):
    path = write_sweep(tmp_path, seeds=(1,))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_DURING_CREATION, str(path), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (out / "results.sqlite").exists()  # only a temporary file was being built
    r = hybridsim.run_sweep(path, out, serial=True, progress=False)
    assert (r.ok, r.failed) == (4, 0)
    assert not list(out.glob(".results.sqlite.*"))  # the killed build is cleaned up


@pytest.mark.parametrize("kind", ["empty file", "no tables"])
def test_a_results_sqlite_without_tables_is_rebuilt(tmp_path, kind):
    out = tmp_path / "out"
    out.mkdir()
    if kind == "empty file":
        (out / "results.sqlite").touch()
    else:  # what a store created in place and killed before its first commit looks like
        conn = sqlite3.connect(out / "results.sqlite")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()
    r = hybridsim.run_sweep(write_sweep(tmp_path, seeds=(1,)), out, serial=True, progress=False)
    assert (r.ok, r.failed) == (4, 0)


def test_a_foreign_results_sqlite_is_refused_and_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.sqlite").write_bytes(b"not a database, but someone's file")
    with pytest.raises(HybridSimError, match="not a readable results database"):
        hybridsim.run_sweep(write_sweep(tmp_path), out, serial=True, progress=False)
    assert (out / "results.sqlite").read_bytes() == b"not a database, but someone's file"


# -- nothing is written before the backend has started (issue 17.4) ---------------------------


class _BackendThatCannotStart:
    name = "broken"
    description = "broken"

    def __init__(self):
        self.entered = 0

    def __enter__(self):
        self.entered += 1
        raise HybridSimError("--cluster tcp://nowhere:1: cannot reach the Dask scheduler")

    def __exit__(self, *exc):
        pass


def test_a_backend_that_cannot_start_leaves_nothing_written(tmp_path):
    from hybridsim.sweep.runner import run_sweep

    spec = load_sweep(write_sweep(tmp_path))
    for out in (tmp_path / "new" / "out", tmp_path / "existing"):
        if out.name == "existing":
            out.mkdir()
        with pytest.raises(HybridSimError, match="cannot reach"):
            run_sweep(spec, out, _BackendThatCannotStart(), progress=False)
        assert not (tmp_path / "new").exists()
        if out.name == "existing":
            assert list(out.iterdir()) == []  # the directory the user made, left empty


def test_a_bad_out_is_reported_before_the_backend_starts(tmp_path):
    from hybridsim.sweep.runner import run_sweep

    spec = load_sweep(write_sweep(tmp_path))
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out, message in [(afile, "not a directory"), (afile / "sub", "is not one")]:
        backend = _BackendThatCannotStart()
        with pytest.raises(HybridSimError, match=message):
            run_sweep(spec, out, backend, progress=False)
        assert backend.entered == 0
    other = tmp_path / "other"
    hybridsim.run_sweep(write_sweep(tmp_path, seeds=(1,)), other, serial=True, progress=False)
    backend = _BackendThatCannotStart()
    with pytest.raises(HybridSimError, match="holds the results of a different sweep"):
        run_sweep(spec, other, backend, progress=False)
    assert backend.entered == 0


def test_a_finished_sweep_does_not_start_its_backend_again(tmp_path):
    from hybridsim.sweep.runner import run_sweep

    path = write_sweep(tmp_path, seeds=(1,))
    hybridsim.run_sweep(path, tmp_path / "out", serial=True, progress=False)
    r = run_sweep(load_sweep(path), tmp_path / "out", _BackendThatCannotStart(), progress=False)
    assert (r.ran, r.reused, r.ok) == (0, 4, 4)


def test_seeds_beyond_sqlite_are_refused_and_a_rerun_works(tmp_path, capsys):
    path = write_sweep(tmp_path, seeds=(1, 2**64))
    out = tmp_path / "out"
    assert cli_main(["sweep", str(path), "--out", str(out), "--serial"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: seeds.1: out of range: {2**64}") and err.count("\n") == 1
    assert not out.exists()
    assert cli_main(["sweep", str(write_sweep(tmp_path, seeds=(1,))), "--out", str(out),
                       "--serial", "--quiet"]) == 0  # fmt: skip


def test_a_scenario_file_given_to_sweep_names_hybridsim_run(tmp_path, capsys):
    scenario = ROOT / "scenarios" / "mmc.toml"
    assert cli_main(["sweep", str(scenario), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {scenario}: this is a scenario, not a sweep")
    assert f"`hybridsim run {scenario}`" in err and "did you mean" not in err
    assert not (tmp_path / "o").exists()
