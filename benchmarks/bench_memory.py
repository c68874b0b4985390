"""Memory and output size of long runs (issue 15, items 1 and 5): records stream to disk, so a
run's peak RSS stays flat as it grows; a long run's trace is written compressed.

Each run is a fresh interpreter (a child process), so its peak RSS is its own; the baseline is
a fresh interpreter that only imports hybridsim and reaches ``hybridsim.run`` (which loads the
simulator), measured in the same benchmark run.

Rows:

- ``hybridsim.run`` of the M/M/3 scenario (rho = 0.8) with 10**6 jobs, records read back lazily
  (the Python API: the rows spill to a private temporary directory);
- ``hybridsim run SCENARIO --out DIR --no-report`` with 10**6 and 10**7 jobs: the rows stream
  into the output's staging directory as the run goes (the command line's path);
- ``hybridsim report DIR`` on the 10**6-job directory the row above wrote (its figures, page and
  trace drawn from the files, read in passes that hold no row per job);
- the trace of a 10**5-job run: ``trace.json.gz`` against the plain text of the same trace.

Targets: 10**6 jobs < 250 MB peak RSS (the run, and its report), 10**7 jobs < 400 MB and
complete, trace < 5 MB.

The 10**7-job run takes about 13 minutes; ``HYBRIDSIM_BENCH_MEMORY_LARGE=0`` leaves its row out
(a quicker measure of the others).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.bench_engine import mmc_scenario
from benchmarks.harness import Row

ROOT = Path(__file__).resolve().parent.parent

_BASELINE = (
    "import resource, hybridsim; hybridsim.run; "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
)

_API_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    sys.path.insert(0, {root!r})
    from benchmarks.bench_engine import mmc_scenario
    import hybridsim
    t0 = time.perf_counter()
    r = hybridsim.run(mmc_scenario({jobs}), seed=1)
    wall = time.perf_counter() - t0
    assert r.summary["jobs_completed"] == {jobs}
    assert len(r.jobs) == {jobs}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({{"rss_mb": rss_mb, "wall_s": wall, "lazy": type(r.jobs).__name__}}))
    """
)

_TRACE_CHILD = textwrap.dedent(
    """
    import gzip, json, sys
    sys.path.insert(0, {root!r})
    from benchmarks.bench_engine import mmc_scenario
    import hybridsim
    from hybridsim.report.trace import write_trace
    r = hybridsim.run(mmc_scenario({jobs}), seed=1)
    path = write_trace(r, {out!r})
    size = path.stat().st_size
    plain = len(gzip.decompress(path.read_bytes())) if path.name.endswith(".gz") else size
    print(json.dumps({{"name": path.name, "bytes": size, "plain_bytes": plain}}))
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def _child(argv: list[str]) -> tuple[str, float, float]:
    """Run ``argv`` to completion; its stdout, peak RSS in MB (its own, from ``wait4``) and
    wall seconds."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the largest of all so far).
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.stdout.close(), proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:4]} exited {proc.returncode}: {err.strip()[-2000:]}")
    return out, usage.ru_maxrss / 1024, wall


def baseline_rss() -> float:
    """Peak RSS (MB) of a fresh interpreter with hybridsim imported and ``hybridsim.run``
    reached."""
    out, _, _ = _child([sys.executable, "-c", _BASELINE])
    return float(out.strip())


def api_run(jobs: int) -> dict:
    """``hybridsim.run`` of ``jobs`` M/M/3 jobs in a fresh interpreter."""
    out, rss, _ = _child([sys.executable, "-c", _API_CHILD.format(root=str(ROOT), jobs=jobs)])
    return {**json.loads(out.strip().splitlines()[-1]), "rss_mb": rss}


def cli_run(jobs: int, work: Path, *, keep: bool = False) -> dict:
    """``hybridsim run --out DIR --no-report`` of ``jobs`` M/M/3 jobs; the output is checked
    (summary and row count) and removed, unless ``keep`` (then ``"dir"`` is its path)."""
    from hybridsim.tomlio import dumps

    scenario = work / f"mmc-{jobs}.toml"
    scenario.write_text(dumps(mmc_scenario(jobs)), encoding="utf-8")
    out_dir = work / f"run-{jobs}"
    argv = [sys.executable, "-m", "hybridsim.cli", "run", str(scenario), "--out", str(out_dir)]
    _, rss, wall = _child([*argv, "--no-report", "--quiet", "--seed", "1"])
    try:
        summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
        assert summary["jobs_completed"] == jobs, summary["jobs_completed"]
        with open(out_dir / "jobs.csv", "rb") as fh:
            rows = sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b"")) - 1
        assert rows == jobs, rows
        written = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    if not keep:
        shutil.rmtree(out_dir, ignore_errors=True)
    return {"rss_mb": rss, "wall_s": wall, "written_mb": written / 1e6, "dir": out_dir}


def cli_report(run_dir: Path) -> dict:
    """``hybridsim report DIR`` of a run directory in a fresh interpreter; the report's files
    are checked (page, timeline, trace) and their sizes returned."""
    argv = [sys.executable, "-m", "hybridsim.cli", "report", str(run_dir), "--quiet"]
    _, rss, wall = _child(argv)
    names = {p.name: p.stat().st_size for p in run_dir.iterdir()}
    trace = names.get("trace.json.gz", names.get("trace.json"))
    assert "report.html" in names and "timeline.png" in names and trace, sorted(names)
    return {"rss_mb": rss, "wall_s": wall, "html_mb": names["report.html"] / 1e6,
            "trace_mb": trace / 1e6}  # fmt: skip


def trace_size(jobs: int, work: Path) -> dict:
    """The trace of a ``jobs``-job run as ``write_trace`` writes it, and its plain text size."""
    code = _TRACE_CHILD.format(root=str(ROOT), jobs=jobs, out=str(work / "trace.json"))
    out, _, _ = _child([sys.executable, "-c", code])
    return json.loads(out.strip().splitlines()[-1])


def run(quick: bool) -> list[Row]:
    small, large = (10**5, 3 * 10**5) if quick else (10**6, 10**7)
    trace_jobs = 10**4 if quick else 10**5
    rows = []
    with tempfile.TemporaryDirectory(prefix="hybridsim-bench-memory-") as tmp:
        work = Path(tmp)
        base = baseline_rss()
        api = api_run(small)
        rows.append(
            Row(
                "memory",
                f"peak RSS MB, hybridsim.run of {small} M/M/3 jobs",
                api["rss_mb"],
                baseline=base,
                target="< 250 MB at 10^6 jobs",
                ok=api["rss_mb"] < 250 if not quick else None,
                note=f"run took {api['wall_s']:.1f} s; RunResult.jobs is a {api['lazy']}; "
                "baseline: interpreter + import hybridsim, hybridsim.run",
            )
        )
        sizes = [(small, 250, "< 250 MB at 10^6 jobs")]
        if os.environ.get("HYBRIDSIM_BENCH_MEMORY_LARGE", "1") != "0":
            sizes.append((large, 400, "< 400 MB at 10^7 jobs, completes"))
        for jobs, limit, target in sizes:
            cli = cli_run(jobs, work, keep=jobs == small)
            rows.append(
                Row(
                    "memory",
                    f"peak RSS MB, `hybridsim run --out DIR --no-report`, {jobs} M/M/3 jobs",
                    cli["rss_mb"],
                    baseline=base,
                    target=target,
                    ok=cli["rss_mb"] < limit if not quick else None,
                    note=f"run + files took {cli['wall_s']:.0f} s; "
                    f"wrote {cli['written_mb']:.0f} MB (rows streamed into the staging "
                    "directory); baseline as above",
                )
            )
            if jobs != small:
                continue
            # The report of the directory just written (no second run): figures, page, trace.
            try:
                rep = cli_report(cli["dir"])
            finally:
                shutil.rmtree(cli["dir"], ignore_errors=True)
            rows.append(
                Row(
                    "memory",
                    f"peak RSS MB, `hybridsim report DIR` of that {jobs}-job run",
                    rep["rss_mb"],
                    baseline=base,
                    target="< 250 MB at 10^6 jobs",
                    ok=rep["rss_mb"] < 250 if not quick else None,
                    note=f"report took {rep['wall_s']:.0f} s (the run's own RSS: "
                    f"{cli['rss_mb']:.0f} MB); report.html {rep['html_mb']:.2f} MB, trace "
                    f"{rep['trace_mb']:.0f} MB; baseline as above",
                )
            )
        tr = trace_size(trace_jobs, work)
        rows.append(
            Row(
                "memory",
                f"trace MB of a {trace_jobs}-job run ({tr['name']})",
                tr["bytes"] / 1e6,
                baseline=tr["plain_bytes"] / 1e6,
                target="< 5 MB at 10^5 jobs",
                ok=tr["bytes"] < 5e6 if not quick else None,
                note="baseline: the same trace as plain text (trace.json, written plain up to "
                "4 MiB)",
            )
        )
    return rows
