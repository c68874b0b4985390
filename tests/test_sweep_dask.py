"""Sweeps on Dask: a real scheduler and two workers, each a separate process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hybridsim
from hybridsim.cli import main as cli_main
from hybridsim.errors import HybridSimError
from hybridsim.tomlio import dumps

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
MMC = str(ROOT / "scenarios" / "mmc.toml")
_ADDRESS = re.compile(r"Scheduler at:\s+(tcp://127\.0\.0\.1:\d+)")


def _dask(*args: str, log: Path) -> subprocess.Popen:
    # Each in its own session so the whole process group (a worker and its nanny) can be ended.
    return subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),  # closed with the process
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


#: Generous bounds that only catch a hang: on a loaded 2-core machine starting a cluster and
#: its first runs can take minutes; the tests wait for conditions, never for fixed times.
HANG_S = 300.0


def _wait_for(predicate, what: str, timeout: float = HANG_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class _Cluster:
    """A scheduler and single-threaded workers, each a separate process (group)."""

    def __init__(self, tmp_path: Path, workers: int = 2):
        self.procs: list[subprocess.Popen] = []
        sched_log = tmp_path / "scheduler.log"
        self.scheduler = _dask(
            "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", log=sched_log
        )
        self.procs.append(self.scheduler)
        try:
            self.address = _wait_for(
                lambda: (m := _ADDRESS.search(sched_log.read_text())) and m.group(1),
                "the scheduler",
            )
            self.workers = [
                _dask(
                    "worker", self.address, "--nworkers", "1", "--nthreads", "1",
                    "--no-dashboard", "--death-timeout", "60", log=tmp_path / f"worker{i}.log",
                )
                for i in range(workers)
            ]  # fmt: skip
            self.procs.extend(self.workers)
            if workers:
                from distributed import Client

                with Client(self.address, timeout=HANG_S) as client:
                    client.wait_for_workers(workers, timeout=HANG_S)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two workers; yields the :class:`_Cluster`."""
    c = _Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def dask_cluster(cluster):
    """The address of a scheduler with two single-threaded workers."""
    return cluster.address


def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(
        dumps(
            {
                "base": MMC,
                "seeds": [1, 2],
                "set": {"workload.jobs": 500},
                "factors": {
                    "cluster.qpu.q.count": [2, 3, 4],
                    "cluster.qpu.q.link_latency": {"logspace": ["1 ms", "1 ns"], "num": 3},
                },
            }
        )
    )
    return path


def test_cluster_gives_the_same_results_csv_as_serial(tmp_path, dask_cluster):
    path = sweep_file(tmp_path)
    serial = hybridsim.run_sweep(path, tmp_path / "serial", serial=True, progress=False)
    rc = cli_main(["sweep", str(path), "--out", str(tmp_path / "dask"), "--cluster",
                     dask_cluster, "--quiet"])  # fmt: skip
    assert rc == 0
    assert (tmp_path / "dask" / "results.csv").read_bytes() == serial.results_csv.read_bytes()
    import sqlite3

    conn = sqlite3.connect(tmp_path / "dask" / "results.sqlite")
    workers = {w for (w,) in conn.execute("SELECT worker FROM results")}
    conn.close()
    assert len(workers) == 2  # both worker processes ran points, neither is this process
    assert not any(w.endswith(f":{os.getpid()}") for w in workers)


def test_unreachable_scheduler_is_one_line_error():
    with pytest.raises(HybridSimError, match=r"--cluster tcp://127.0.0.1:9: cannot reach"):
        from hybridsim.sweep.backends import DaskBackend

        with DaskBackend("tcp://127.0.0.1:9", timeout=2):
            pass


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_results(tmp_path):
    path = sweep_file(tmp_path)
    serial = hybridsim.run_sweep(path, tmp_path / "serial", serial=True, progress=False)
    local = hybridsim.run_sweep(path, tmp_path / "local", dask_local=2, progress=False)
    assert local.backend == "Dask LocalCluster of 2"
    assert local.results_csv.read_bytes() == serial.results_csv.read_bytes()


# -- failures of the cluster (issues 17.4, 18.8) ------------------------------------------------


def _slow_sweep(tmp_path: Path, runs: int = 12) -> Path:
    """Runs of a fraction of a second each (more on a busy machine): a kill lands mid-sweep."""
    path = tmp_path / "slow.toml"
    path.write_text(
        dumps(
            {
                "base": MMC,
                "seeds": list(range(1, runs // 3 + 1)),
                "set": {"workload.jobs": 20_000},
                "factors": {"cluster.qpu.q.count": [2, 3, 4]},
            }
        )
    )
    return path


def _uneven_sweep(tmp_path: Path) -> Path:
    """Two runs of a few milliseconds and two of many seconds: whatever the engine's speed and
    the order the workers take them in, the first row is saved while a long run still runs."""
    path = tmp_path / "uneven.toml"
    path.write_text(
        dumps({"base": MMC, "seeds": [1, 2], "factors": {"workload.jobs": [500, 2_000_000]}})
    )
    return path


def _rows(out: Path) -> list[tuple[int, int, str]]:
    import sqlite3

    try:
        conn = sqlite3.connect(out / "results.sqlite")
        try:
            return conn.execute("SELECT point, seed, status FROM results").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def _sweep_process(path: Path, out: Path, *extra: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hybridsim.cli", "sweep", str(path), "--out", str(out),
         "--quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        # A normal SIGINT disposition even if the test runner ignores it (a shell starts a
        # background job with SIGINT ignored, and a child inherits that): as test_sweep_run's.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kwargs,
    )  # fmt: skip


def test_a_scheduler_that_dies_mid_sweep_is_one_error_line_then_resume_completes(tmp_path, cluster):
    path, out = _slow_sweep(tmp_path), tmp_path / "out"
    proc = _sweep_process(path, out, "--cluster", cluster.address)
    try:
        _wait_for(lambda: _rows(out), "the first saved run")
        cluster.kill(cluster.scheduler)
        _, stderr = proc.communicate(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, stderr
    assert stderr.startswith(f"error: Dask scheduler {cluster.address}: lost the connection")
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    saved = _rows(out)
    assert saved and all(status == "ok" for *_, status in saved)  # cancelled runs not recorded
    assert f"{len(saved)} of 12 runs are saved in {out}" in stderr
    assert len((out / "results.csv").read_text().splitlines()) == len(saved) + 1
    # Any executor finishes it, and keeps the rows saved before.
    r = hybridsim.run_sweep(path, out, serial=True, progress=False)
    assert (r.ok, r.reused, r.failed) == (12, len(saved), 0)


@pytest.mark.slow  # Dask's own retry; about 15 s
def test_a_worker_that_dies_mid_sweep_has_its_runs_rescheduled(tmp_path, cluster):
    path, out = _slow_sweep(tmp_path), tmp_path / "out"
    proc = _sweep_process(path, out, "--cluster", cluster.address)
    try:
        _wait_for(lambda: _rows(out), "the first saved run")
        cluster.kill(cluster.workers[0])
        _, stderr = proc.communicate(timeout=HANG_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and stderr == ""
    rows = _rows(out)
    assert len(rows) == 12 and all(status == "ok" for *_, status in rows)


def test_a_cluster_without_workers_gives_up_with_one_error(tmp_path):
    from hybridsim.sweep.backends import DaskBackend
    from hybridsim.sweep.runner import run_sweep
    from hybridsim.sweep.spec import load_sweep

    lonely = _Cluster(tmp_path, workers=0)
    try:
        executor = DaskBackend(lonely.address, no_workers_timeout=1.5)
        with pytest.raises(HybridSimError) as err:
            run_sweep(load_sweep(sweep_file(tmp_path)), tmp_path / "out", executor, progress=False)
    finally:
        lonely.close()
    assert "has had no workers for 1.5 s; 0 of 18 runs are saved" in str(err.value)


def test_an_unreachable_scheduler_writes_nothing(tmp_path):
    from hybridsim.sweep.backends import DaskBackend
    from hybridsim.sweep.runner import run_sweep
    from hybridsim.sweep.spec import load_sweep

    spec = load_sweep(sweep_file(tmp_path))
    with pytest.raises(HybridSimError, match=r"--cluster tcp://127.0.0.1:9: cannot reach"):
        run_sweep(spec, tmp_path / "out", DaskBackend("tcp://127.0.0.1:9", timeout=2))
    assert not (tmp_path / "out").exists()  # no results.sqlite, no .sweep.lock


def test_ctrl_c_on_a_local_cluster_prints_one_line_and_no_worker_tracebacks(tmp_path):
    path, out = _uneven_sweep(tmp_path), tmp_path / "out"
    # Dask's default HTTP port taken (as by another cluster): that was a warning on stderr too.
    held = socket.socket()
    with contextlib.suppress(OSError):
        held.bind(("", 8787))
    # Its own session, so the SIGINT below reaches the whole process group, as a terminal's
    # Ctrl-C does: the sweep and the local cluster's worker processes.
    proc = _sweep_process(path, out, "--dask-local", "2", start_new_session=True)
    try:
        _wait_for(lambda: _rows(out), "the first saved run")
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=HANG_S)
    finally:
        held.close()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    # It was about 105 lines of worker tracebacks and Dask log records before this one.
    assert stderr.startswith("interrupted: ") and stderr.count("\n") == 1, stderr
    assert len(_rows(out)) == len((out / "results.csv").read_text().splitlines()) - 1


@pytest.mark.slow  # starts (and fails to start) local clusters; about 10 s
def test_a_script_without_the_main_guard_fails_in_one_message_and_leaves_nothing(tmp_path):
    """The how-to's snippet without ``if __name__ == "__main__":``: the local cluster's workers
    import the script and try to start a sweep of their own. That used to leave results.sqlite
    and .sweep.lock behind; now the cluster starts before anything is written."""
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import hybridsim\n"
        'hybridsim.run_sweep("scenarios/sweep-demo.toml", out="runs/demo", dask_local=2,'
        " progress=False)\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("hybridsim.errors.HybridSimError: --dask-local 2: cannot start")
    assert 'if __name__ == "__main__":' in last
    assert not (tmp_path / "runs").exists()
