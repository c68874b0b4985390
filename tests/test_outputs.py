"""Run outputs (issues 15 and 19): one module declares, writes and reads them; records stream to
disk with the same bytes and the same summary as a run held in memory; compressed outputs read
back like plain ones; RunResult.load returns what run returned."""

from __future__ import annotations

import gzip
import heapq
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import tomllib
import tracemalloc
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hybridsim
from hybridsim import metrics as M
from hybridsim.errors import OutputError
from hybridsim.outputs import columns
from hybridsim.outputs.files import Stored
from hybridsim.outputs.reader import RecordFile, read_records
from hybridsim.outputs.stream import Spill, StreamingRecorder
from hybridsim.records import IntervalRecord, JobRecord, QueueRecord, StepRecord
from hybridsim.results import RunResult
from hybridsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))
CSVS = ("jobs.csv", "intervals.csv", "queues.csv", "steps.csv")

#: Overrides that keep each run scenario small (as tests/test_scenarios.py does).
SHORTEN = {
    "mmc.toml": ["workload.jobs=400"],
    "faults.toml": [],
    "quickstart.toml": ["workload.steps=3"],
    "paper-mlp.toml": ["workload.epochs=0.3"],
    "paper-bert-tiny.toml": ["workload.steps=12"],
    "paper-mistral-tiny.toml": ["workload.steps=6"],
    "multi-tenant.toml": ["workload.epochs=0.2"],
    "fault-tolerant.toml": [],  # two steps already
}
#: Per workload kind, for the base scenario of a sweep file.
SHORTEN_KIND = {
    "mlp": ["workload.steps=2"],
    "shapes": ["workload.steps=5"],
    "synthetic": ["workload.jobs=200"],
}


def _small(name: str):
    """A small variant of every scenario file: run files shortened, sweep files as their first
    point (the base with the sweep's settings and the first value of each factor), shortened."""
    path = ROOT / "scenarios" / name
    raw = tomllib.loads(path.read_text())
    if "base" not in raw:
        return load_scenario(path, SHORTEN.get(name, []))
    from hybridsim.sweep.spec import load_sweep

    point = load_sweep(path).points[0].scenario
    sc = load_scenario(point)
    return load_scenario(sc, SHORTEN_KIND[sc.workload.kind])


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _without_wall(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "wall"}


def _same_records(a: RunResult, b: RunResult) -> None:
    assert a.jobs == b.jobs
    assert a.intervals == b.intervals
    assert a.all_intervals() == b.all_intervals()
    assert a.queues == b.queues
    assert a.steps == b.steps


# -- RunResult.load --------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_load_round_trips_every_scenario_files_outputs(name, tmp_path):
    """RunResult.load gives back the records, summary and scenario run returned, and writing
    the loaded result again gives the same bytes (issue 19, done-means)."""
    result = hybridsim.run(_small(name))
    out = result.write(tmp_path / "run")
    back = RunResult.load(out)
    _same_records(back, result)
    assert back.summary == result.summary  # wall included: summary.json holds it
    assert back.scenario == result.scenario and back.seed == result.seed
    assert {n: r.steps for n, r in back.baselines.items()} == {
        n: list(r.steps) for n, r in result.baselines.items()
    }
    assert back.summary_table() == result.summary_table()
    again = back.write(tmp_path / "again")
    assert _files(again) == _files(out)


def test_load_docstring_example_runs(monkeypatch):
    import doctest

    from hybridsim import results

    monkeypatch.chdir(ROOT)  # the example names scenarios/mmc.toml
    assert doctest.testmod(results).failed == 0


def test_load_of_a_compressed_directory(tmp_path):
    sc = load_scenario(ROOT / "scenarios/faults.toml", ["output.compress=true"])
    result = hybridsim.run(sc)
    out = result.write(tmp_path / "run")
    assert sorted(os.listdir(out)) == sorted(
        [*(f"{c}.gz" for c in CSVS), "scenario.toml", "summary.json"]
    )
    back = RunResult.load(out)
    _same_records(back, result)
    assert back.summary == result.summary
    # the same content as the plain files of the same run
    plain = hybridsim.run(load_scenario(sc, ["output.compress=false"])).write(tmp_path / "plain")
    for name in CSVS:
        assert gzip.decompress((out / f"{name}.gz").read_bytes()) == (plain / name).read_bytes()
    assert _files(back.write(tmp_path / "again")) == _files(out)


def test_load_refuses_what_is_not_a_run_directory(tmp_path):
    with pytest.raises(OutputError, match="no such directory"):
        RunResult.load(tmp_path / "missing")
    with pytest.raises(OutputError, match=r"not a run directory \(no summary.json\)"):
        RunResult.load(tmp_path)
    out = hybridsim.run(ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=20"]).write(
        tmp_path / "r"
    )
    (out / "scenario.toml").unlink()
    back = RunResult.load(out)  # the summary's copy of the scenario stands in
    assert back.scenario.workload.jobs == 20
    (out / "summary.json").write_text('{"seed": 1}')
    with pytest.raises(OutputError, match="no scenario.toml and no scenario"):
        RunResult.load(out)


# -- streaming --------------------------------------------------------------------------------

STREAMED = {
    "mmc": ("scenarios/mmc.toml", ["workload.jobs=2000"]),
    "faults": ("scenarios/faults.toml", []),
    "quickstart": ("scenarios/quickstart.toml", ["workload.steps=3"]),
    "multi-tenant": ("scenarios/multi-tenant.toml", ["workload.epochs=0.2"]),
    # QPU jobs with physical qubits: peak_physical_qubits_<group> from the merged event runs
    "fault-tolerant": ("scenarios/fault-tolerant.toml", ["workload.steps=6"]),
}


@pytest.mark.parametrize("name", sorted(STREAMED))
@pytest.mark.parametrize("rows", [2, 9])
def test_streamed_run_writes_the_bytes_and_summary_of_an_in_memory_run(name, rows, tmp_path):
    """Records spilled in chunks of a few rows give byte-identical files (intervals.csv's order
    from the external merge included) and the same summary to the last bit (issue 15.1)."""
    path, sets = STREAMED[name]
    sc = load_scenario(ROOT / path, sets)
    memory = hybridsim.run(sc)
    assert memory.saved is None  # small: held in memory, as before
    streamed = hybridsim.run(sc, spill=Spill(rows=rows))
    assert streamed.saved is not None  # it spilled
    assert _without_wall(streamed.summary) == _without_wall(memory.summary)
    if name == "fault-tolerant":  # the peak was taken over the merged event runs, and is real
        assert streamed.summary["peak_physical_qubits_big"] > 0
    _same_records(streamed, memory)
    a, b = memory.write(tmp_path / "memory"), streamed.write(tmp_path / "streamed")
    fa, fb = _files(a), _files(b)
    fa.pop("summary.json"), fb.pop("summary.json")
    assert fa == fb


def test_streamed_compressed_run_is_byte_identical_too(tmp_path):
    sc = load_scenario(ROOT / "scenarios/faults.toml", ["output.compress=true"])
    a = hybridsim.run(sc).write(tmp_path / "memory")
    b = hybridsim.run(sc, spill=Spill(rows=9)).write(tmp_path / "streamed")
    fa, fb = _files(a), _files(b)
    fa.pop("summary.json"), fb.pop("summary.json")
    assert fa == fb and "jobs.csv.gz" in fa


def test_run_streams_into_the_given_directory_and_write_keeps_those_files(tmp_path):
    sc = load_scenario(ROOT / "scenarios/mmc.toml", ["workload.jobs=500"])
    stage = tmp_path / "stage"
    stage.mkdir()
    r = hybridsim.run(sc, spill=Spill(stage, rows=50))
    inode = (stage / "jobs.csv").stat().st_ino
    assert sorted(os.listdir(stage)) == sorted(CSVS)  # the merge's temporary file is gone
    r.write_into(stage)
    assert (stage / "jobs.csv").stat().st_ino == inode  # not rewritten
    assert _files(stage) == _files(hybridsim.run(sc).write(tmp_path / "memory")) | {
        "summary.json": (stage / "summary.json").read_bytes()
    }
    # the records stay readable wherever the directory goes
    moved = tmp_path / "moved"
    stage.rename(moved)
    assert len(r.jobs) == 500 and r.jobs[-1].job_id == r.jobs[len(r.jobs) - 1].job_id


def test_private_spill_directory_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    r = hybridsim.run(
        ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=300"], spill=Spill(rows=40)
    )
    assert os.listdir(tmp_path) == []  # removed once the files were finished
    assert len(r.jobs) == 300 and sum(1 for _ in r.jobs) == 300  # read through open files
    copy = r.write(tmp_path / "out")
    assert (copy / "jobs.csv").stat().st_size > 300 * 100


def test_memory_stays_flat_as_the_run_grows(monkeypatch):
    """Records spilled every 200 rows: four times the jobs cost about the 8 bytes per job of
    the waits kept for exact percentiles (8 more for their reserved array, and the merge's block
    index), where a run held in memory takes ~600 B per job. The write chunk and the workload's
    sampling block are made small so that every other buffer is full at both sizes."""
    import hybridsim.outputs.stream as stream
    import hybridsim.workload.synthetic as synthetic_workload

    monkeypatch.setattr(stream, "_WRITE_CHUNK", 256)
    monkeypatch.setattr(synthetic_workload, "_CHUNK", 512)

    def peak(jobs: int) -> int:
        sc = load_scenario(ROOT / "scenarios/mmc.toml", [f"workload.jobs={jobs}"])
        tracemalloc.start()
        try:
            r = hybridsim.run(sc, spill=Spill(rows=200))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert r.summary["jobs_completed"] == jobs

    peak(300)  # imports and caches
    small, large = peak(2000), peak(8000)
    assert large - small < 6000 * 60, (small, large)


def test_killed_streaming_run_leaves_the_old_directory_and_no_complete_looking_file(tmp_path):
    """A run killed (SIGKILL) while its records stream into the staging directory leaves --out
    as it was; the next write removes what the killed one left."""
    out = tmp_path / "out"
    hybridsim.run(ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=50"]).write(out)
    before = _files(out)
    code = textwrap.dedent(
        f"""
        import os, signal, hybridsim
        from hybridsim.outdir import replacing
        from hybridsim.outputs.stream import Spill

        def kill(p):
            if p.jobs_done > 1500:
                os.kill(os.getpid(), signal.SIGKILL)

        with replacing({str(out)!r}) as stage:
            hybridsim.run({str(ROOT / "scenarios/mmc.toml")!r}, overrides=["workload.jobs=5000"],
                          spill=Spill(stage, rows=100), progress=kill)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    after = _files(out)
    after.pop(".hybridsim.lock")  # the dead writer's (its lock went with it)
    assert after == before
    stages = [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert stages and (stages[0] / "jobs.csv").stat().st_size > 0  # it was streaming there
    # what it left is not a run: summary.json is written last, so nothing reads it as complete
    assert not (stages[0] / "summary.json").exists()
    with pytest.raises(OutputError, match=r"not a run directory \(no summary.json\)"):
        RunResult.load(stages[0])
    hybridsim.run(ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=60"]).write(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_spill_list_speaks_only_append_and_len_once_spilled():
    sc = load_scenario(ROOT / "scenarios/mmc.toml", ["workload.jobs=10"])
    rec = StreamingRecorder(sc, Spill(rows=3))
    rec.steps.append(StepRecord("main", 0, 0, 0, *([None] * 3), 0, 0, 0, *([None] * 6)))
    assert len(rec.steps) == 1 and list(rec.steps) == [rec.steps[0]]
    for k in range(4):
        rec.jobs.append(JobRecord(k, 0, -1, "", 0, 0, 0, "quantum", "q", "q-0", "completed",
                                  0, 0, 0, 1, 1))  # fmt: skip
    assert not rec.spilled and len(rec.jobs) == 4  # the rows leave at the next checkpoint
    rec.checkpoint()
    assert rec.spilled and len(rec.jobs) == 4 and len(rec.steps) == 1
    with pytest.raises(RuntimeError, match="spilled"):
        list(rec.jobs)
    done = rec.finish()
    assert done is rec.finish() and len(done.jobs) == 4 and done.totals.completed == 4
    with pytest.raises(ValueError, match="at least 1"):
        Spill(rows=0)


# -- aggregates -------------------------------------------------------------------------------

_ticks = st.integers(0, 2**70)


@st.composite
def _jobs(draw):
    out = []
    for k in range(draw(st.integers(0, 30))):
        t = sorted(draw(st.lists(_ticks, min_size=5, max_size=5)))
        device = draw(st.sampled_from(["q-0", "q-1", "g-0"]))
        out.append(
            JobRecord(
                k, 0, -1, "", 0, 0, 0,
                draw(st.sampled_from(["quantum", "classical"])),
                device[0],
                device,
                draw(st.sampled_from(["completed", "completed", "failed"])),
                *t,
                physical_qubits=draw(st.one_of(st.none(), st.integers(0, 10**6))),
            )
        )  # fmt: skip
    return out


@st.composite
def _steps(draw):
    out = []
    for _ in range(draw(st.integers(0, 12))):
        acc = draw(st.one_of(st.none(), st.floats(0, 1)))
        out.append(
            StepRecord(
                draw(st.sampled_from(["main", "sgd"])), draw(st.integers(0, 2)),
                draw(st.integers(0, 5)), draw(_ticks), draw(st.one_of(st.none(), st.floats(0, 9))),
                acc, acc, 1, 0, 0, None, None, None, None, None, None, 0, draw(st.integers(0, 3)),
            )
        )  # fmt: skip
    return out


def _chunks(rows: list, cuts: list[int]) -> list[list]:
    bounds = sorted({0, len(rows), *(c % (len(rows) + 1) for c in cuts)})
    return [rows[a:b] for a, b in zip(bounds, bounds[1:], strict=False)] or [[]]


@settings(max_examples=150, deadline=None)
@given(
    _jobs(),
    st.lists(st.tuples(_ticks, _ticks, st.sampled_from(["calibration", "transfer"]))),
    st.lists(st.tuples(st.integers(0, 2**70), st.sampled_from(["q", "g"]), st.integers(0, 9))),
    _steps(),
    st.lists(st.integers(0, 100), max_size=4),
    st.one_of(st.none(), st.floats(0, 1)),
)
def test_totals_in_any_chunks_equal_the_pure_metrics(jobs, ivs, qs, steps, cuts, target):
    intervals = [IntervalRecord("q-0", k, min(a, b), max(a, b)) for a, b, k in ivs]
    queues = [QueueRecord(at, pool, n) for at, pool, n in sorted(qs)]
    totals = M.RunTotals(["q", "g"], target, qpu_groups=["q", "x"])
    taken = []
    # chunks of each kind, fed in lockstep (jobs and intervals of a stretch before its queues)
    parts = [_chunks(x, cuts) for x in (jobs, intervals, queues, steps)]
    for k in range(max(map(len, parts))):
        j, i, q, s = (p[k] if k < len(p) else [] for p in parts)
        totals.add_jobs(j), totals.add_intervals(i), totals.add_queues(q), totals.add_steps(s)
        if k % 2:  # some chunks' qubit events leave as a sorted run, as a streamed run's do
            taken.append(totals.take_qubit_events())
    completed = [j for j in jobs if j.status == "completed"]
    horizon = M.makespan_ticks(jobs, intervals)
    caps = {"q-0": 1, "q-1": 2, "g-0": 3}
    assert totals.horizon == horizon
    assert (totals.completed, totals.failed) == (len(completed), len(jobs) - len(completed))
    assert totals.wait_stats() == M.wait_stats(completed)
    assert totals.span_means() == M.span_means(completed)
    assert totals.utilization(caps) == M.utilization(completed, caps, horizon)
    assert totals.mean_queue_length() == M.mean_queue_length(queues, ["q", "g"], horizon)
    for run in ("main", "sgd", "adam"):
        assert totals.steps.metrics(run) == M.training_metrics(steps, run, target)
    peaks = M.peak_physical_qubits(jobs, ["q", "x"])
    if taken:
        merged = heapq.merge(*taken, totals.take_qubit_events())
        totals.fold_qubit_events(merged)
    assert totals.peak_physical_qubits() == peaks


# -- the format: columns, reader, files -------------------------------------------------------


def test_one_table_per_file_and_no_generated_code():
    assert [t.name for t in columns.TABLES.values()] == list(CSVS)
    for table in columns.TABLES.values():
        # every column is a record field or derived from them, and every field is read back
        fields = set(table.record._fields)
        assert set(table.columns) - set(table.derived) <= fields
        assert {f.name for f in table.fields} == fields
    for path in [*(ROOT / "hybridsim/outputs").glob("*.py"), ROOT / "hybridsim/report/data.py"]:
        assert "exec(" not in path.read_text(), path


def test_old_import_paths_warn_and_still_work():
    from hybridsim import results
    from hybridsim.report import data

    with pytest.warns(DeprecationWarning, match="hybridsim.outputs.columns"):
        assert results.JOB_COLUMNS == columns.JOB_COLUMNS
    with pytest.warns(DeprecationWarning, match="hybridsim.outputs.reader"):
        assert data.read_records is read_records
    assert data.ReportError is OutputError


def test_reader_names_the_bad_cell_in_plain_and_compressed_files(tmp_path):
    header = ",".join(columns.QUEUE_COLUMNS)
    text = f"{header}\n5,5e-21,q,1\n6,6e-21,q,two\n"
    (tmp_path / "queues.csv").write_text(text)
    with gzip.open(tmp_path / "queues.csv.gz", "wt") as fh:
        fh.write(text)
    for name in ("queues.csv", "queues.csv.gz"):
        with pytest.raises(OutputError, match=rf"{name}: line 3: column 'length': cannot read"):
            read_records(tmp_path / name, QueueRecord)
    (tmp_path / "short.csv").write_text(f"{header}\n5,5e-21,q\n")
    with pytest.raises(OutputError, match=r"short.csv: line 2: 3 cells \(expected 4\)"):
        read_records(tmp_path / "short.csv", QueueRecord)
    (tmp_path / "bad.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(OutputError, match="bad.csv.gz: cannot read"):
        read_records(tmp_path / "bad.csv.gz", QueueRecord)


@pytest.mark.parametrize("value", ["3", '"yes"', "[true]"])
def test_output_compress_must_be_a_boolean(value, tmp_path, capsys):
    """A bad ``output.compress`` is bad input: one line naming the key, exit 2, nothing run or
    written."""
    from hybridsim.cli import main

    out = tmp_path / "run"
    args = ["run", str(ROOT / "scenarios/mmc.toml"), "--out", str(out), "--quiet"]
    assert main([*args, "--set", f"output.compress={value}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("(expected true or false)\n"), err
    assert err.startswith(f"error: {ROOT / 'scenarios/mmc.toml'}: output.compress: wrong type")
    assert not out.exists()
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "scenarios/mmc.toml").read_text() + f"\n[output]\ncompress = {value}\n")
    assert main(["validate", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {bad}: output.compress: wrong type")


def test_gzip_files_are_deterministic(tmp_path):
    sc = load_scenario(ROOT / "scenarios/mmc.toml", ["workload.jobs=100", "output.compress=true"])
    a = hybridsim.run(sc).write(tmp_path / "a")
    b = hybridsim.run(sc).write(tmp_path / "b")
    for name in CSVS:
        data = (a / f"{name}.gz").read_bytes()
        assert data == (b / f"{name}.gz").read_bytes()
        # RFC 1952 header: no FNAME flag, MTIME 0
        assert data[3] & 0x08 == 0 and data[4:8] == b"\0\0\0\0"


def test_lazy_records_index_slice_compare_and_pickle_as_lists():
    r = hybridsim.run(
        ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=120"], spill=Spill(rows=10)
    )
    lazy = r.jobs
    full = list(lazy)
    assert isinstance(lazy, RecordFile) and len(lazy) == 120
    assert lazy[0] == full[0] and lazy[-1] == full[-1] and lazy[5:9] == full[5:9]
    assert lazy[::-7] == full[::-7] and lazy[100:3:-5] == full[100:3:-5]
    with pytest.raises(IndexError):
        lazy[120]
    assert lazy == full and full == lazy and lazy != full[:-1] and lazy == r.jobs
    # two iterations at once do not disturb each other
    assert [a == b for a, b in zip(lazy, lazy, strict=True)] == [True] * 120
    assert pickle.loads(pickle.dumps(lazy)) == full


@pytest.mark.parametrize("compress", [False, True])
def test_reading_a_long_file_back_parses_none_of_its_rows(compress, tmp_path, monkeypatch):
    """A file of more than EAGER_ROWS rows is a RecordFile, told by counting its line breaks:
    none of its rows is parsed (before, its first EAGER_ROWS rows were, and held, to find out);
    one of exactly EAGER_ROWS rows is a list; a long file missing a column still fails at once."""
    from hybridsim.outputs import reader

    sets = ["workload.jobs=60", f"output.compress={str(compress).lower()}"]
    saved = hybridsim.run(ROOT / "scenarios/mmc.toml", overrides=sets).write(tmp_path / "run")
    monkeypatch.setattr(reader, "EAGER_ROWS", 59)
    parsed = []
    chunks = RecordFile.chunks
    monkeypatch.setattr(RecordFile, "chunks", lambda self: parsed.append(self) or chunks(self))
    files = reader.read_run(saved)
    assert isinstance(files.jobs, RecordFile) and files.jobs.table.name == "jobs.csv"
    assert not [f for f in parsed if f.table.name == "jobs.csv"]
    assert len(files.jobs) == 60 and list(files.jobs) == list(RunResult.load(saved).jobs)
    monkeypatch.setattr(reader, "EAGER_ROWS", 60)
    assert isinstance(reader.read_run(saved).jobs, list)
    monkeypatch.setattr(reader, "EAGER_ROWS", 5)
    name = "jobs.csv.gz" if compress else "jobs.csv"
    text = (gzip.decompress if compress else bytes)((saved / name).read_bytes()).decode()
    bad = text.replace("job_id,", "id,", 1).encode()
    (saved / name).write_bytes(gzip.compress(bad) if compress else bad)
    with pytest.raises(OutputError, match="job_id"):
        reader.read_run(saved)


def test_stored_file_copies_into_either_form(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    s = Stored(tmp_path / "a.csv")
    s.copy_to(tmp_path / "b.csv.gz", compress=True)
    t = Stored(tmp_path / "b.csv.gz")
    t.copy_to(tmp_path / "c.csv", compress=False)
    assert (tmp_path / "c.csv").read_text() == "x\n1\n"
    assert s.is_file(tmp_path / "a.csv") and not s.is_file(tmp_path / "c.csv")
    s.close(), t.close()


# -- sizing -----------------------------------------------------------------------------------


def test_run_size_memory_is_flat_for_streamed_runs():
    from hybridsim.scenario import run_size

    sizes = {
        n: run_size(load_scenario(ROOT / "scenarios/mmc.toml", [f"workload.jobs={n}"]))
        for n in (10**5, 10**6, 10**7)
    }
    # held in memory: about a chunk of rows plus 8 bytes per job; written: every row
    assert sizes[10**7].record_bytes < 400 * 10**6
    assert sizes[10**7].record_bytes - sizes[10**6].record_bytes < 9e6 * 8 * 1.5
    assert sizes[10**7].output_bytes > 9 * sizes[10**6].output_bytes
    compressed = run_size(
        load_scenario(ROOT / "scenarios/mmc.toml", ["workload.jobs=1000", "output.compress=true"])
    )
    assert compressed.output_bytes == pytest.approx(sizes[10**5].output_bytes / 100 * 0.4)


# -- the report reads the same through RunResult ----------------------------------------------


def test_report_of_a_streamed_run_equals_the_report_of_the_run_in_memory(tmp_path):
    from hybridsim.report import write_report

    sc = load_scenario(ROOT / "scenarios/faults.toml")
    # Same directory name: the report is labelled by it.
    a = write_report(hybridsim.run(sc), tmp_path / "a" / "run")
    b = write_report(hybridsim.run(sc, spill=Spill(rows=11)), tmp_path / "b" / "run")
    assert [p.name for p in a] == [p.name for p in b] == ["timeline.png", "trace.json",
                                                          "report.html"]  # fmt: skip
    assert {p.name: p.read_bytes() for p in a} == {p.name: p.read_bytes() for p in b}


def test_compressed_run_has_a_compressed_trace_and_reports_again_byte_identical(tmp_path):
    from hybridsim.cli import main

    out = tmp_path / "run"
    args = ["run", str(ROOT / "scenarios/mmc.toml"), "--out", str(out), "--quiet"]
    assert main([*args, "--set", "workload.jobs=300", "--set", "output.compress=true"]) == 0
    names = sorted(os.listdir(out))
    assert "trace.json.gz" in names and "trace.json" not in names and "jobs.csv.gz" in names
    first = _files(out)
    assert "jobs.csv.gz" in (out / "report.html").read_text()  # linked
    assert main(["report", str(out), "--quiet"]) == 0
    assert _files(out) == first


def test_large_trace_is_compressed_and_replaces_a_stale_plain_one(tmp_path, monkeypatch):
    from hybridsim.report import trace

    run = hybridsim.run(ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=300"])
    small = trace.write_trace(run, tmp_path / "trace.json")
    assert small.name == "trace.json"
    text = small.read_bytes()
    monkeypatch.setattr(trace, "PLAIN_MAX_BYTES", len(text) - 1)
    big = trace.write_trace(run, tmp_path / "trace.json")
    assert big.name == "trace.json.gz" and not small.exists()
    assert gzip.decompress(big.read_bytes()) == text
    monkeypatch.setattr(trace, "PLAIN_MAX_BYTES", len(text))
    assert trace.write_trace(run, tmp_path / "trace.json").name == "trace.json"
    assert not big.exists()


def test_run_cli_streams_a_long_run_into_its_output(tmp_path, monkeypatch):
    """``hybridsim run`` hands its staging directory to the run: a run past the spill size
    writes its CSVs there as it goes, with the bytes of a run held in memory."""
    import hybridsim.outputs.stream as stream
    from hybridsim.cli import main

    monkeypatch.setattr(stream, "SPILL_ROWS", 64)
    out = tmp_path / "run"
    sets = ["--set", "workload.jobs=700"]
    assert main(["run", str(ROOT / "scenarios/mmc.toml"), "--out", str(out), "--quiet",
                 "--no-report", *sets]) == 0  # fmt: skip
    memory = hybridsim.run(ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=700"])
    assert memory.saved is not None  # the patched size applies here too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = RunResult.load(out)
    _same_records(back, memory)


def test_rows_held_between_checkpoints_stay_bounded_by_the_limit_and_one_interval():
    """The lists are plain appends between the engine's checkpoints (every CHECKPOINT_EVENTS
    events): what a streaming recorder holds never exceeds its limit by more than the rows of
    one interval of events, and it spills during the run, not only at the end."""
    from hybridsim.records import CHECKPOINT_EVENTS
    from hybridsim.sim.engine import Simulation

    held, spills = [], []

    class Watching(StreamingRecorder):
        __slots__ = ()

        def checkpoint(self):
            held.append(max(list.__len__(x) for x in (self.jobs, self.queues, self.intervals)))
            before = self.spilled
            super().checkpoint()
            spills.append(self.spilled and not before)

    sc = load_scenario(ROOT / "scenarios/mmc.toml", ["workload.jobs=3000"])
    rec = Watching(sc, Spill(rows=50))
    Simulation(sc, 1, recorder=rec).run()
    done = rec.finish()
    assert done.totals.jobs == 3000 and len(held) > 100
    # queue rows spill at four times the job limit; an event appends at most two rows
    assert max(held) <= 4 * 50 + 2 * CHECKPOINT_EVENTS
    assert spills.index(True) < len(spills) - 1  # the first spill came well before the end
