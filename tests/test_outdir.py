"""Where ``run`` and ``report`` write: checked before any work, written whole, one writer at a
time, never through a planted symlink, never where a scenario's name points (issues 17 and 18)."""

from __future__ import annotations

import html.parser
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

import hybridsim
from hybridsim import outdir
from hybridsim.cli import main
from hybridsim.errors import HybridSimError
from hybridsim.tomlio import dumps

ROOT = Path(__file__).resolve().parent.parent
MMC = str(ROOT / "scenarios/mmc.toml")
RUN_FILES = {
    "summary.json",
    "scenario.toml",
    "jobs.csv",
    "intervals.csv",
    "queues.csv",
    "steps.csv",
}
REPORT = {"report.html", "timeline.png", "trace.json"}
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(out, *extra, jobs=20, report=False):
    args = ["run", MMC, "--quiet", "--set", f"workload.jobs={jobs}", *extra]
    if out is not None:
        args += ["--out", str(out)]
    if not report:
        args.append("--no-report")
    return main(args)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every entry under ``root`` (symlinks not followed), with file contents."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            out[rel] = p.read_bytes() if p.is_file() and not p.is_symlink() else None
    return out


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a simulation starts."""
    import hybridsim.api as api

    def refuse(*_a, **_k):
        raise AssertionError("the simulation ran before --out was checked")

    monkeypatch.setattr(api, "run", refuse)


# -- 17.1: an existing run directory is refused without --force, replaced whole with it ----------


def test_existing_run_directory_is_refused_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(out) == 0
    before = tree(out)
    assert run(out, "--seed", "2") == 2
    err = one_error_line(capsys)
    assert "already holds a run's outputs" in err and "--force" in err
    assert tree(out) == before


@pytest.mark.parametrize("flag", ["--force", "--overwrite"])
def test_force_replaces_the_directory_whole(tmp_path, flag):
    out = tmp_path / "run"
    assert run(out, report=True) == 0
    assert set(os.listdir(out)) == RUN_FILES | REPORT
    assert run(out, flag, "--seed", "2") == 0  # --no-report: the old report must not survive
    assert set(os.listdir(out)) == RUN_FILES
    assert json.loads((out / "summary.json").read_text())["seed"] == 2
    assert sorted(os.listdir(tmp_path)) == ["run"]  # no staging directory or lock left


def test_default_output_directory_is_refused_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(None) == 0
    assert (tmp_path / "runs/mmc/summary.json").is_file()
    assert run(None, "--seed", "3") == 2
    assert "runs/mmc: already holds" in one_error_line(capsys)


def test_force_never_replaces_a_directory_with_other_files(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert run(out, "--force") == 2
    assert "not a hybridsim run directory" in one_error_line(capsys)
    assert tree(out) == {"notes.txt": b"keep me"}


def test_a_run_into_a_sweeps_directory_is_refused(tmp_path, capsys):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(dumps({"base": MMC, "seeds": [1], "factors": {"workload.jobs": [5, 6]}}))
    assert hybridsim.run_sweep(sweep, tmp_path / "s", serial=True, progress=False).ok == 2
    before = tree(tmp_path / "s")
    for extra in ((), ("--force",)):
        assert run(tmp_path / "s", *extra) == 2
        assert "is a sweep's results directory" in one_error_line(capsys)
    assert tree(tmp_path / "s") == before


def test_the_current_directory_is_never_replaced(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert run(out) == 0
    monkeypatch.chdir(out)
    assert run(".", "--force") == 2
    assert "is the current directory" in one_error_line(capsys)
    assert set(os.listdir(out)) == RUN_FILES


def test_python_api_write_replaces_whole_and_refuses_foreign_directories(tmp_path):
    r = hybridsim.run(MMC, overrides=["workload.jobs=5"])
    out = tmp_path / "api"
    r.write(out)
    (out / "report.html").write_text("stale")
    r.write(out)
    assert set(os.listdir(out)) == RUN_FILES
    (out / "notes.txt").write_text("x")
    with pytest.raises(HybridSimError, match="not a hybridsim run directory"):
        r.write(out)


def test_a_symlinked_out_replaces_its_target_and_keeps_the_link(tmp_path):
    real = tmp_path / "real"
    assert run(real) == 0
    link = tmp_path / "link"
    link.symlink_to(real)
    assert run(link, "--force", "--seed", "3") == 0
    assert link.is_symlink() and json.loads((real / "summary.json").read_text())["seed"] == 3
    assert sorted(os.listdir(tmp_path)) == ["link", "real"]


def test_report_of_a_missing_run_writes_nothing(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "x" / "y")]) == 2
    assert "no such directory" in one_error_line(capsys)
    assert os.listdir(tmp_path) == []


def test_without_an_atomic_exchange_two_renames_do(tmp_path, monkeypatch):
    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    out = tmp_path / "run"
    assert run(out) == 0
    assert run(out, "--force", "--seed", "4") == 0
    assert json.loads((out / "summary.json").read_text())["seed"] == 4
    assert sorted(os.listdir(tmp_path)) == ["run"]


# -- 17.2: a bad --out is one line and exit 2 before any work; nothing written -------------------


def _bad_outs(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "file").write_text("x")
    return {
        "": "empty path",
        str(tmp_path / "file"): "is a file, not a directory",
        str(tmp_path / "file" / "sub"): "is a file, not a directory",
    }


@pytest.mark.usefixtures("no_simulation")
@pytest.mark.parametrize("case", [0, 1, 2])
def test_bad_out_is_refused_before_the_simulation(tmp_path, capsys, case):
    out, message = list(_bad_outs(tmp_path).items())[case]
    before = tree(tmp_path)
    assert main(["run", MMC, "--out", out]) == 2  # no_simulation: refused before any work
    assert message in one_error_line(capsys)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("case", [0, 1, 2])
def test_bad_report_out_is_refused_before_reading_the_runs(tmp_path, capsys, monkeypatch, case):
    import hybridsim.report.data as data

    assert run(tmp_path / "r") == 0
    out, message = list(_bad_outs(tmp_path).items())[case]
    monkeypatch.setattr(data, "load_run", lambda p: pytest.fail("runs read before --out check"))
    before = tree(tmp_path)
    assert main(["report", str(tmp_path / "r"), "--out", out]) == 2
    assert message in one_error_line(capsys)
    assert tree(tmp_path) == before


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs sysfs")
def test_an_unwritable_place_is_refused_before_the_simulation(tmp_path, capsys, monkeypatch):
    # sysfs refuses mkdir even to root
    assert run(tmp_path / "r") == 0
    import hybridsim.api as api
    import hybridsim.report.data as data

    monkeypatch.setattr(api, "run", lambda *a, **k: pytest.fail("simulated"))
    monkeypatch.setattr(data, "load_run", lambda p: pytest.fail("runs read before --out check"))
    assert main(["run", MMC, "--out", "/sys/hybridsim-test/out"]) == 2
    assert "/sys/hybridsim-test/out: cannot write" in one_error_line(capsys)
    assert main(["report", str(tmp_path / "r"), "--out", "/sys/hybridsim-test/out"]) == 2
    assert "/sys/hybridsim-test/out: cannot write" in one_error_line(capsys)
    assert not os.path.exists("/sys/hybridsim-test")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
@pytest.mark.usefixtures("no_simulation")
def test_a_read_only_directory_is_refused_before_the_simulation(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    try:
        assert main(["run", MMC, "--out", str(ro / "out")]) == 2
        assert "permission denied" in one_error_line(capsys)
        assert os.listdir(ro) == []
    finally:
        ro.chmod(0o700)


def test_a_run_that_fails_at_run_time_leaves_nothing(tmp_path, capsys):
    # A custom network that leaves the QPU unconnected: only the engine finds out.
    bad = tmp_path / "bad.toml"
    data = {
        "cluster": {"qpu": [{"name": "q"}]},
        "network": {"topology": "custom", "links": [{"a": "host", "b": "switch"}]},
        "workload": {
            "kind": "synthetic",
            "jobs": 2,
            "pool": "qpu",
            "arrival": {"dist": "deterministic", "interval_s": 1},
            "service": {"dist": "deterministic", "value_s": 1},
        },
    }
    bad.write_text(dumps(data))
    before = tree(tmp_path)
    assert main(["run", str(bad), "--out", str(tmp_path / "a" / "b")]) == 2
    one_error_line(capsys)
    assert tree(tmp_path) == before


# -- 18.1: without --out, a sanitized name under runs/ ------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("/tmp/hybridsim-elsewhere", "tmp_hybridsim-elsewhere"),
        ("../../up", "up"),
        ("..", "run"),
        (".hidden", "hidden"),
        ("a\nb\x1b[31m", "a_b__31m"),
    ],
)
def test_default_directory_is_a_sanitized_name_under_runs(tmp_path, monkeypatch, name, expected):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    data = {
        "name": name,
        "cluster": {"gpu": [{"name": "g"}]},
        "workload": {
            "kind": "synthetic",
            "jobs": 2,
            "pool": "gpu",
            "arrival": {"dist": "deterministic", "interval_s": 1},
            "service": {"dist": "deterministic", "value_s": 1},
        },
    }
    path = work / "s.toml"
    path.write_text(dumps(data))
    assert main(["run", str(path), "--quiet", "--no-report"]) == 0
    assert os.listdir(work / "runs") == [expected]
    assert sorted(os.listdir(tmp_path)) == ["a"]  # nothing outside the working directory
    assert not Path("/tmp/hybridsim-elsewhere").exists()
    # the same from the command line
    assert main(["run", MMC, "--quiet", "--no-report", "--set", f"name={json.dumps(name)}",
                 "--set", "workload.jobs=3", "--force"]) == 0  # fmt: skip
    assert os.listdir(work / "runs") == [expected]


def test_safe_name_is_one_plain_component():
    for name in ["", "/", "../..", "a/../../b", "C:\\x\\y", "é🙂", "x" * 500, "\u202eevil"]:
        s = outdir.safe_name(name)
        assert s and "/" not in s and "\\" not in s and not s.startswith(".")
        assert len(s) <= 100 and s.isprintable() and "\u202e" not in s


# -- 18.6: whole or not at all, one writer, leftovers cleaned, no symlink followed --------------


def _holder(out: Path) -> subprocess.Popen:
    """A process inside ``replacing(out)``, as a run is while it simulates."""
    code = (
        "import sys, time\n"
        "from hybridsim.outdir import replacing\n"
        "with replacing(sys.argv[1]) as stage:\n"
        "    (stage / 'jobs.csv').write_text('half')\n"
        "    print(stage, flush=True)\n"
        "    time.sleep(60)\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True, env=ENV
    )


def test_a_second_run_into_the_same_out_is_refused_and_a_kill_leaves_the_old_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(out) == 0
    before = tree(out)
    holder = _holder(out)
    try:
        stage = Path(holder.stdout.readline().strip())
        assert stage.parent == tmp_path and stage.name.startswith(".run.")
        assert run(out, "--force") == 2
        err = one_error_line(capsys)
        assert f"another run is writing to this directory (pid {holder.pid})" in err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # killed mid-write: the old directory, complete (plus the released lock file) ...
    assert {k: v for k, v in tree(out).items() if k != outdir.LOCK_NAME} == before
    assert stage.is_dir()  # ... and the half-written staging directory beside it
    assert run(out, "--force", "--seed", "5") == 0  # the next run takes over and cleans up
    assert sorted(os.listdir(tmp_path)) == ["run"]
    assert set(os.listdir(out)) == RUN_FILES


def _kill_when(out: Path, cmd: list[str], ready) -> bool:
    """Start ``cmd``; SIGKILL it as soon as ``ready(staging directories)`` holds. Returns
    whether it was killed (False: it ended first)."""
    proc = subprocess.Popen(cmd, env=ENV, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            stages = list(out.parent.glob(f".{out.name}.*.tmp"))
            if ready(stages):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.002)
        return False
    finally:
        if proc.poll() is None:  # pragma: no cover - a failed assertion above
            proc.kill()
            proc.wait()


def _check_whole(out: Path, old: dict) -> int:
    files = {k: v for k, v in tree(out).items() if k != outdir.LOCK_NAME}
    seed = json.loads(files["summary.json"])["seed"]
    if seed == 1:
        assert files == old  # the old run, intact
    else:
        assert set(files) == RUN_FILES | REPORT  # the new run, complete
    return seed


def _has(name):
    return lambda stages: any((s / name).exists() for s in stages)


KILL_POINTS = {
    "staged": lambda stages: bool(stages),
    "writing": _has("jobs.csv"),
    "reporting": _has("summary.json"),
    "report written": _has("report.html"),
}


@pytest.mark.parametrize("point", ["reporting", pytest.param("all", marks=pytest.mark.slow)])
def test_sigkill_leaves_the_old_or_the_new_directory_never_a_mix(tmp_path, point):
    """A real ``hybridsim run`` SIGKILLed while it simulates, writes its CSVs, draws its report:
    the directory always holds one complete run (the old seed or the new), and the next run
    removes what the killed one left."""
    out = tmp_path / "run"
    assert run(out, jobs=200) == 0
    old = tree(out)
    cmd = [sys.executable, "-m", "hybridsim.cli", "run", MMC, "--out", str(out), "--force",
           "--quiet", "--seed", "9", "--set", "workload.jobs=3000"]  # fmt: skip
    points = list(KILL_POINTS) if point == "all" else [point]
    for name in points:
        killed = _kill_when(out, cmd, KILL_POINTS[name])
        # the last point is a window of microseconds before the swap: it may be missed
        assert killed or name == "report written", name
        assert _check_whole(out, old) == (1 if killed else 9), name
    assert run(out, "--force", jobs=200) == 0
    assert sorted(os.listdir(tmp_path)) == ["run"]


def test_leftovers_of_killed_writes_are_removed_by_the_next_run(tmp_path):
    out = tmp_path / "run"
    assert run(out) == 0
    stage = tmp_path / ".run.0123456789abcdef.tmp"
    stage.mkdir()
    (stage / "jobs.csv").write_text("half")
    legacy = tmp_path / ".run.ab_c1234"  # tempfile.mkdtemp of the earlier RunResult.write
    legacy.mkdir()
    (legacy / "jobs.csv").write_text("half")
    keep = tmp_path / ".run.settings"  # looks like one, but holds the user's own file
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    link = tmp_path / ".run.fedcba9876543210.tmp"
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("x")
    link.symlink_to(victim)
    assert run(out, "--force") == 0
    assert sorted(os.listdir(tmp_path)) == [".run.settings", "run", "victim"]
    assert (victim / "precious").read_text() == "x"


def test_a_symlinked_lock_is_never_followed(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(out) == 0
    target = tmp_path / "created-by-the-lock"
    (out / outdir.LOCK_NAME).symlink_to(target)
    assert run(out, "--force") == 2
    assert "symbolic link" in one_error_line(capsys)
    assert not target.exists() and not target.is_symlink()


def test_sweep_lock_symlink_is_not_followed_and_no_lock_is_left(tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(dumps({"base": MMC, "seeds": [1], "factors": {"workload.jobs": [5]}}))
    out = tmp_path / "s"
    out.mkdir()
    target = tmp_path / "victim"
    (out / outdir.LOCK_NAME).symlink_to(target)
    with pytest.raises(HybridSimError, match="symbolic link"):
        hybridsim.run_sweep(sweep, out, serial=True, progress=False)
    assert not target.exists()
    (out / outdir.LOCK_NAME).unlink()
    (out / ".sweep.lock").symlink_to(target)  # the lock's old name: no longer even opened
    assert hybridsim.run_sweep(sweep, out, serial=True, progress=False).ok == 1
    assert not target.exists()
    assert not (out / outdir.LOCK_NAME).exists()  # removed after a successful sweep


def test_lock_names_its_holder_and_a_killed_holders_file_is_taken_over(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    code = (
        "import sys, time\n"
        "from hybridsim.outdir import DirLock\n"
        "with DirLock(sys.argv[1], what='sweep'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(d)], stdout=subprocess.PIPE, text=True, env=ENV
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        msg = rf"another sweep is writing to this directory \(pid {holder.pid}\)"
        with pytest.raises(HybridSimError, match=msg):
            outdir.DirLock(d).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (d / outdir.LOCK_NAME).read_text() == f"sweep {holder.pid}\n"  # what a kill leaves
    with outdir.DirLock(d):
        assert (d / outdir.LOCK_NAME).read_text() == f"run {os.getpid()}\n"
    assert os.listdir(d) == []  # removed on release


def test_a_lock_file_removed_by_its_holder_meanwhile_is_not_trusted(tmp_path, monkeypatch):
    """A writer that opened the lock file just before its holder removed it (and released the
    lock) can lock the nameless old file: it must notice and lock the file now at the name."""
    import fcntl

    d = tmp_path / "d"
    d.mkdir()
    real_lockf = fcntl.lockf
    calls = []

    def lockf(fd, op):
        if not calls:  # the holder finishes between our open and our lock
            os.unlink(d / outdir.LOCK_NAME)
        calls.append(os.fstat(fd).st_ino)
        return real_lockf(fd, op)

    monkeypatch.setattr(fcntl, "lockf", lockf)
    lock = outdir.DirLock(d)
    lock.acquire()
    assert len(calls) == 2  # it tried again
    assert calls[1] == os.stat(d / outdir.LOCK_NAME).st_ino
    lock.release()
    assert os.listdir(d) == []


# -- report files: unpredictable temporary names, no symlink followed, leftovers cleaned --------


def test_report_temp_files_are_unpredictable_and_never_follow_symlinks(tmp_path, monkeypatch):
    from hybridsim import fileio as files

    victim = tmp_path / "victim.txt"
    names = iter(["0" * 16, "0" * 16, "1" * 16])
    monkeypatch.setattr(files.secrets, "token_hex", lambda n: next(names))
    planted = tmp_path / f".report.html.{'0' * 16}.tmp"
    planted.symlink_to(victim)
    files.write_text(tmp_path / "report.html", "page")
    assert not victim.exists() and planted.is_symlink()
    assert (tmp_path / "report.html").read_text() == "page"
    # a symlink at the final name is replaced, not written through
    monkeypatch.undo()
    (tmp_path / "trace.json").symlink_to(victim)
    files.write_text(tmp_path / "trace.json", "{}")
    assert not victim.exists() and not (tmp_path / "trace.json").is_symlink()
    # and the names are not the old predictable ones
    seen = set()
    real_create = files._create_temp

    def spy(path):
        tmp, fd = real_create(path)
        seen.add(tmp.name)
        return tmp, fd

    monkeypatch.setattr(files, "_create_temp", spy)
    files.write_text(tmp_path / "a", "1")
    files.write_text(tmp_path / "a", "2")
    assert len(seen) == 2 and f".a.{os.getpid()}.tmp" not in seen


def test_sweep_results_csv_export_never_follows_a_planted_temp_name(tmp_path):
    """results.csv went through the predictable ``.results.csv.<pid>.tmp`` (issue 18.6): a
    symlink planted there had the export write through it, outside --out."""
    from hybridsim.sweep.store import export_csv

    sweep = tmp_path / "sweep.toml"
    sweep.write_text(dumps({"base": MMC, "seeds": [1], "factors": {"workload.jobs": [5]}}))
    out = tmp_path / "s"
    assert hybridsim.run_sweep(sweep, out, serial=True, progress=False).ok == 1
    victim = tmp_path / "victim.csv"
    planted = out / f".results.csv.{os.getpid()}.tmp"
    planted.symlink_to(victim)
    path = export_csv(out)
    assert not victim.exists()
    assert path.read_text().startswith("point,seed,")
    assert not planted.exists() and not planted.is_symlink()  # an old leftover is removed


def test_report_removes_temp_files_of_killed_reports(tmp_path):
    out = tmp_path / "r"
    assert run(out) == 0
    old = out / ".report.html.4242.tmp"
    new = out / ".trace.json.0123456789abcdef.tmp"
    old.write_text("half")
    new.write_text("half")
    assert main(["report", str(out), "--quiet"]) == 0
    assert set(os.listdir(out)) == RUN_FILES | REPORT


# -- report --out: only a report of the same runs is overwritten without --force ----------------


def test_report_out_overwrites_only_a_report_of_the_same_runs(tmp_path, capsys):
    a, b, x = tmp_path / "a", tmp_path / "b", tmp_path / "x"
    assert run(a) == 0 and run(b, "--seed", "2") == 0
    assert main(["report", str(a), "--out", str(x), "--quiet"]) == 0
    assert main(["report", str(a), "--out", str(x), "--quiet"]) == 0  # same run: fine
    page = (x / "report.html").read_bytes()
    assert main(["report", str(b), "--out", str(x), "--quiet"]) == 2
    assert "report.html of other runs" in one_error_line(capsys)
    assert (x / "report.html").read_bytes() == page
    assert main(["report", str(b), "--out", str(x), "--quiet", "--force"]) == 0
    assert (x / "report.html").read_bytes() != page
    # into another run's directory
    assert main(["report", str(a), "--out", str(b), "--quiet"]) == 2
    assert "another run" in one_error_line(capsys)
    # comparisons: the same pair again is fine, another pair is not
    assert main(["report", str(a), str(b), "--quiet"]) == 0
    assert main(["report", str(b), str(a), "--quiet"]) == 0
    assert run(tmp_path / "c") == 0
    assert main(["report", str(a), str(tmp_path / "c"), "--quiet"]) == 2
    assert "comparison.html of other runs" in one_error_line(capsys)
    assert (tmp_path / outdir.LOCK_NAME).exists() is False


# -- 18.7: links in comparison pages are local relative paths only ------------------------------


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [v for k, v in attrs if k in ("href", "src") and v is not None]


def test_comparison_links_are_never_javascript(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("javascript:alert(1)", report=True) == 0
    assert run("other", "--seed", "2") == 0
    assert main(["report", "javascript:alert(1)", "other", "--out", ".", "--quiet"]) == 0
    assert main(["report", "javascript:alert(1)", "--out", "single", "--quiet"]) == 0
    for page in (tmp_path / "comparison.html", tmp_path / "single/report.html"):
        p = _Links()
        p.feed(page.read_text())
        links = [h for h in p.hrefs if not h.startswith(("#", "data:image/png;base64,"))]
        assert links, page
        for href in links:
            parts = urllib.parse.urlsplit(href)
            assert not parts.scheme and not parts.netloc, href
            assert (page.parent / urllib.parse.unquote(href)).is_file(), href
    assert "javascript%3Aalert%281%29/report.html" in (tmp_path / "comparison.html").read_text()
