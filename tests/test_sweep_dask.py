"""Sweeps on Dask: a real scheduler and two workers, each a separate process on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hybridsim
from hybridsim.errors import HybridSimError
from hybridsim.sweep.command import main as sweep_main
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
        stderr=open(log, "w"),  # noqa: SIM115 - closed with the process
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _wait_for(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def dask_cluster(tmp_path):
    """A scheduler and two single-threaded workers, each a separate process; yields the address."""
    procs = []
    sched_log = tmp_path / "scheduler.log"
    procs.append(
        _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", log=sched_log)
    )
    try:
        address = _wait_for(
            lambda: (m := _ADDRESS.search(sched_log.read_text())) and m.group(1), "the scheduler"
        )
        for i in range(2):
            procs.append(
                _dask(
                    "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                    "--death-timeout", "60", log=tmp_path / f"worker{i}.log",
                )
            )  # fmt: skip
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


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
    serial = hybridsim.sweep(path, tmp_path / "serial", serial=True, progress=False)
    rc = sweep_main(["sweep", str(path), "--out", str(tmp_path / "dask"), "--cluster",
                     dask_cluster, "--quiet"])  # fmt: skip
    assert rc == 0
    assert (tmp_path / "dask" / "results.csv").read_bytes() == serial.results_csv.read_bytes()
    import sqlite3

    conn = sqlite3.connect(tmp_path / "dask" / "results.sqlite")
    workers = {w for (w,) in conn.execute("SELECT worker FROM results")}
    conn.close()
    assert len(workers) == 2  # both worker processes ran points, neither is this process
    assert not any(w.endswith(f":{os.getpid()}") for w in workers)


def test_unreachable_scheduler_is_one_line_error(tmp_path, capsys):
    with pytest.raises(HybridSimError, match=r"--cluster tcp://127.0.0.1:9: cannot reach"):
        from hybridsim.sweep.executors import DaskExecutor

        with DaskExecutor("tcp://127.0.0.1:9", timeout=2):
            pass


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_results(tmp_path):
    path = sweep_file(tmp_path)
    serial = hybridsim.sweep(path, tmp_path / "serial", serial=True, progress=False)
    local = hybridsim.sweep(path, tmp_path / "local", dask_local=2, progress=False)
    assert local.executor == "Dask LocalCluster of 2"
    assert local.results_csv.read_bytes() == serial.results_csv.read_bytes()
