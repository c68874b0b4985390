"""The report of a long run holds no row per job (issue 15): its figures and trace come from passes
over the records, and its files are byte-identical to those the report drew when it held every
row (the old computations, kept in tests/report_oracle.py), for runs in memory, spilled to disk,
and read back lazily from a directory."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import report_oracle as old
from conftest import synthetic
from hypothesis import given, settings
from hypothesis import strategies as st

import hybridsim
from hybridsim import metrics as M
from hybridsim.outputs import reader
from hybridsim.outputs.stream import Spill
from hybridsim.records import IntervalRecord, JobRecord, QueueRecord
from hybridsim.report import from_result, load_run, trace, write_report
from hybridsim.report.data import RunData
from hybridsim.report.figures import cost_rows
from hybridsim.report.lanes import assign_slots, plan_timeline
from hybridsim.report.passes import JobsInOrder, RunningSum, slot_stream
from hybridsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent

#: Runs whose reports hold every kind of lane and mark: queues, failures and outages (faults),
#: slots of devices serving two jobs at once, attosecond QPU jobs beside calibration windows,
#: transfers and predictions (a zoom panel, links, the predicted-vs-actual scatter).
SCENARIOS: dict[str, Any] = {
    "mmc": (ROOT / "scenarios/mmc.toml", ["workload.jobs=400"]),
    "faults": (ROOT / "scenarios/faults.toml", []),
    "slots": (
        synthetic(
            jobs=150,
            gpu=[{"name": "g", "count": 2, "capacity": 3, "link_latency": 0}],
            arrival={"dist": "exponential", "rate_per_s": 4.0},
            service={"dist": "exponential", "mean_s": 1.0},
            pool="gpu",
            n=8,
        ),
        [],
    ),
    "atto": (
        {
            "name": "atto",
            "cluster": {
                "gpu": [{"name": "g", "count": 2}],
                "qpu": [
                    {
                        "name": "q",
                        "gate_time_1q": "1 as",
                        "gate_time_2q": "1 as",
                        "calibration_period": "2 ms",
                        "calibration_duration": "0.2 ms",
                    }
                ],
            },
            "workload": {"kind": "mlp", "steps": 2, "eps_norm": 0.1, "baselines": ["sgd"]},
            "costs": {"accounting": "paper_unit", "charge_transfer": True},
            "quantum": {"execute_max_n": 0},
        },
        [],
    ),
}


def _run(name: str, spill: Spill | None = None):
    path, sets = SCENARIOS[name]
    return hybridsim.run(load_scenario(path, sets) if sets else path, spill=spill)


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    return {name: _run(name) for name in SCENARIOS}


def _data(name: str, result: Any, how: str, tmp: Path, monkeypatch) -> RunData:
    """The run's RunData: in memory, spilled (lazy over the spilled files), or read back
    lazily from its directory."""
    if how == "memory":
        return from_result(result, label="run")
    if how == "spilled":
        spilled = _run(name, Spill(rows=7))
        assert not isinstance(spilled.jobs, list | tuple)  # lazy over the spilled files
        return from_result(spilled, label="run")
    saved = result.write(tmp / name / "run")
    with monkeypatch.context() as m:
        m.setattr(reader, "EAGER_ROWS", 3)  # every file read lazily, as a long run's are
        lazy = load_run(saved, label="run")
    assert isinstance(lazy.jobs, reader.RecordFile)
    assert isinstance(lazy.intervals, reader.RecordFile)
    return lazy


HOW = ("memory", "spilled", "lazy")


def _files(paths: list[Path]) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in paths}


# -- byte for byte against the old computations ---------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_trace_timeline_and_costs_equal_the_old_computations(name, runs, tmp_path, monkeypatch):
    """Every trace event, timeline plan (each colouring, bars drawn one by one or binned,
    windows merged, the zoom) and cost row equals what the old list-holding code computed."""
    for how in HOW:
        data = _data(name, runs[name], how, tmp_path, monkeypatch)
        assert list(trace.trace_events(data)) == list(old.trace_events(data)), how
        horizon = data.horizon
        for px, bars, color_by in [
            (-(-horizon // 800), 2000, "route"),
            (-(-horizon // 800), 3, "step"),
            (max(1, horizon // 50), 2, "kind"),
            (max(1, horizon // 7), 1, "route"),
        ]:
            new = plan_timeline(data, px_ticks=px, color_by=color_by, max_bars_per_lane=bars)
            ref = old.plan_timeline(data, px_ticks=px, color_by=color_by, max_bars_per_lane=bars)
            assert new == ref, (how, px, bars, color_by)
            if ref.zoom is not None:
                assert new.zoom is not None
                assert new.zoom.interval in new.zoom.intervals  # outlined by identity
                assert any(x is new.zoom.interval for x in new.zoom.intervals)
        assert cost_rows([data]) == old.cost_rows([data]), how


@pytest.mark.parametrize(
    ("name", "how"), [("faults", "spilled"), ("atto", "lazy"), ("slots", "memory")]
)
def test_report_files_are_byte_identical_to_the_old_report(name, how, runs, tmp_path, monkeypatch):
    """report.html (every figure's PNG inside), timeline.png and the trace: the same bytes as
    the report drawn by the old code from the same records."""
    data = _data(name, runs[name], how, tmp_path, monkeypatch)
    new = _files(write_report(data, tmp_path / "new" / "run"))
    with old.patched(monkeypatch):
        ref = _files(write_report(data, tmp_path / "old" / "run"))
    assert list(new) == list(ref)
    for file in ref:
        assert new[file] == ref[file], file


def test_a_dense_queue_and_dense_lanes_draw_as_before(tmp_path, monkeypatch):
    """Past the figures' thresholds (queues drawn as envelopes, lanes as busy per pixel
    column) on a long run read lazily: the same PNGs as the old code drew."""
    from hybridsim.report import figures, timeline
    from hybridsim.report.style import png_bytes

    result = hybridsim.run(ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=1000"])
    saved = result.write(tmp_path / "run")
    monkeypatch.setattr(reader, "EAGER_ROWS", 100)
    data = load_run(saved)
    draw = [
        lambda: timeline(data, max_bars_per_lane=50),
        lambda: figures.queue_lengths(data, max_points=200),
        lambda: figures.queue_lengths(data),
        lambda: figures.utilization_over_time(data, bins=37),
    ]
    new = [png_bytes(f()) for f in draw]
    with old.patched(monkeypatch):
        ref = [png_bytes(f()) for f in draw]
    assert new == ref


# -- no row per job held --------------------------------------------------------------------


class _Counted:
    """Records of one kind, made afresh each time they are iterated and counted while alive:
    ``peak`` is the most held at once by whoever reads them. Random access is refused."""

    def __init__(self, record: type, rows: Sequence[tuple]):
        counter = self

        class Counted(record):  # type: ignore[misc, valid-type]
            def __new__(cls, *args: Any):
                counter.alive += 1
                counter.peak = max(counter.peak, counter.alive)
                return super().__new__(cls, *args)

            def __del__(self) -> None:
                counter.alive -= 1

        self._make = Counted
        self._rows = rows
        self.alive = 0
        self.peak = 0

    def __iter__(self) -> Iterator[Any]:
        make = self._make
        for row in self._rows:
            yield make(*row)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: Any) -> Any:
        raise AssertionError("the report indexed the records")


def _counted_run(result: Any) -> tuple[RunData, _Counted, _Counted]:
    data = from_result(result, label="run")
    jobs = _Counted(JobRecord, [tuple(j) for j in result.jobs])
    intervals = _Counted(IntervalRecord, [tuple(iv) for iv in result.all_intervals()])
    queues = _Counted(QueueRecord, [tuple(q) for q in result.queues])
    lazy = RunData(
        "run",
        data.summary,
        data.scenario_text,
        jobs,
        intervals,
        queues,
        data.steps,  # type: ignore[arg-type]
    )
    return lazy, jobs, intervals


def test_the_report_of_a_long_run_holds_no_row_per_job(tmp_path, monkeypatch):
    """Drawing the whole report (figures, trace, page) of 2000 jobs read as a long run's lazy
    records holds a few dozen job and interval rows at a time, where the old code held every
    one (a dict of the jobs, each lane's intervals); the files are those of the run in memory."""
    result = hybridsim.run(ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=2000"])
    n = len(result.jobs)
    data, jobs, intervals = _counted_run(result)
    streamed = _files(write_report(data, tmp_path / "streamed"))
    assert jobs.peak < 50, jobs.peak
    assert intervals.peak < 50, intervals.peak
    assert jobs.alive == intervals.alive == 0
    assert streamed == _files(write_report(from_result(result, label="run"), tmp_path / "memory"))

    # The count catches a report that holds the rows: the old code's peaks are the run's size.
    data, jobs, intervals = _counted_run(result)
    with old.patched(monkeypatch):
        write_report(data, tmp_path / "old")
    assert jobs.peak >= n and intervals.peak >= n


def test_job_lookups_in_interval_order_hold_only_the_jobs_read_ahead():
    """jobs.csv (completion order) joined to the job intervals (start order): a lookup reads
    on to its job, keeping the completed jobs it passes; an id that is not ahead indexes all."""
    result = hybridsim.run(ROOT / "scenarios/mmc.toml", overrides=["workload.jobs=2000"])
    jobs = tuple(result.jobs)
    lookup = JobsInOrder(jobs)
    held = 0
    for iv in M.device_intervals(jobs, ()):
        assert lookup.get(iv.job_id) == next(j for j in jobs if j.job_id == iv.job_id)
        held = max(held, lookup.held)
    # M/M/3: the jobs two servers finish while the third serves one long job (22 here)
    assert held < 60
    assert lookup.get(-5) is None and lookup.held == len(jobs)  # not ahead: indexed
    assert lookup.get(jobs[0].job_id) == jobs[0]


# -- the streaming pieces against their list-based definitions ------------------------------

_spans = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 8)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=40,
)


@given(_spans, st.lists(st.sampled_from(["a", "b", "c"]), min_size=40, max_size=40))
def test_slot_stream_gives_assign_slots_slots(spans, resources):
    """Spans by start, a resource each: slot_stream's slots are assign_slots' per resource."""
    ivs = sorted(
        (IntervalRecord(r, "job", s, e) for (s, e), r in zip(spans, resources, strict=False)),
        key=lambda iv: iv.start_at,
    )
    got = [slot for _, _, slot in slot_stream(enumerate(ivs))]
    want = [0] * len(ivs)
    for r in "abc":
        idx = [k for k, iv in enumerate(ivs) if iv.resource == r]
        for k, slot in zip(idx, assign_slots([ivs[k][2:4] for k in idx]), strict=True):
            want[k] = slot
    assert got == want


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.sampled_from(["p", "q", "r"]), st.integers(0, 4)),
        max_size=40,
    ),
    st.integers(1, 40),
    st.integers(1, 8),
    st.integers(1, 12),
)
def test_queue_series_are_the_step_functions_and_envelopes_of_every_record(
    rows, horizon, limit, bins
):
    """Each pool's steps (up to ``limit``) or envelope, from two passes, equal queue_steps and
    envelope over all of its records: changes at one instant, after the horizon, at the
    horizon itself (where the step function ends one tick later), records in any order."""
    from hybridsim.report.figures import _queue_series

    queues = [QueueRecord(*r) for r in rows]
    summary = {"makespan_ticks": horizon, "scenario": {}}
    data = RunData("q", summary, "", (), (), _Lazy(queues), ())
    for pool, steps, env in _queue_series(data, limit, bins):
        ref = old.queue_steps(queues, pool, horizon)
        if len(ref.values) > limit:
            assert steps is None and env == old.envelope(ref, bins)
        else:
            assert env is None and steps == ref


_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e300, 1e300),
    st.sampled_from([0.0, -0.0, 1e-300, 0.1, 1e16, -1e16]),
)


@settings(max_examples=300)
@given(
    st.lists(st.integers(-(2**70), 2**70), max_size=3),
    st.lists(st.one_of(_floats, _floats.map(np.float64), st.integers(-10, 10)), max_size=30),
)
def test_running_sum_is_sum_to_the_last_bit(ints, values):
    items = [*ints, *values]
    try:
        want = sum(items)
    except OverflowError:
        return
    s = RunningSum()
    for x in items:
        s.add(x)
    got = s.value()
    assert type(got) is type(want)
    if isinstance(want, float) and math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == want and str(got) == str(want)  # str: -0.0 and 0.0 differ


# -- records built by hand: any order, any ids ----------------------------------------------

_RESOURCES = ["g-0", "g-1", "q-0", "x-0", "link:a->b"]
_KINDS = ["job", "job", "transfer", "calibration", "compute", "outage"]


@st.composite
def _hand_built(draw) -> tuple[dict, list[JobRecord], list[IntervalRecord]]:
    n_jobs = draw(st.integers(0, 12))
    jobs = []
    for job_id in draw(st.permutations(range(n_jobs))):
        t = sorted(draw(st.lists(st.integers(0, 60), min_size=5, max_size=5)))
        jobs.append(
            JobRecord(
                job_id,
                0,
                draw(st.integers(0, 2)),
                draw(st.sampled_from(["", "b0", "b1"])),
                2,
                2,
                0,
                draw(st.sampled_from(["classical", "quantum"])),
                "g",
                draw(st.sampled_from(["g-0", "g-1", "q-0", "x-0", ""])),
                draw(st.sampled_from(["completed", "completed", "failed"])),
                *t,
                predicted_s=draw(st.sampled_from([None, 0.5, 2.0])),
                compute_s=draw(st.sampled_from([None, 0.25, 1e-18])),
            )  # fmt: skip
        )
    intervals = []
    for _ in range(draw(st.integers(0, 25))):
        start = draw(st.integers(0, 12))  # few instants: rows sharing a start, on one lane
        intervals.append(
            IntervalRecord(
                draw(st.sampled_from(_RESOURCES)),
                draw(st.sampled_from(_KINDS)),
                start,
                start + draw(st.integers(0, 15)),
                draw(st.integers(-1, n_jobs)),
                draw(st.sampled_from(["", "quantum"])),
            )  # fmt: skip
        )
    if draw(st.booleans()):
        intervals.sort(key=M.INTERVAL_ORDER)  # as intervals.csv is
    summary = {
        "makespan_ticks": 70,
        "scenario": {
            "cluster": {
                "gpu": [{"name": "g", "count": 2, "capacity": 2}],
                "qpu": [{"name": "q", "count": 1}],
            }
        },
    }
    return summary, jobs, intervals


class _Lazy(Sequence):
    """Records as a lazy sequence (iterated afresh, no random access): the report's long-run
    path, on any records."""

    def __init__(self, rows: list):
        self._rows = rows

    def __iter__(self):
        return iter(list(self._rows))

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):
        raise AssertionError("the report indexed the records")


@settings(max_examples=150, deadline=None)
@given(
    _hand_built(), st.integers(1, 30), st.integers(1, 4), st.sampled_from(["route", "step", "kind"])
)
def test_hand_built_records_in_any_order_report_as_before(built, px, bars, color_by):
    """Intervals out of start order, job intervals of failed or missing jobs, jobs in any
    order: in memory or as lazy sequences, the trace and the plan are the old ones."""
    summary, jobs, intervals = built
    for wrap in (tuple, _Lazy):
        data = RunData("hand", summary, "", wrap(jobs), wrap(intervals), (), ())
        assert list(trace.trace_events(data)) == list(old.trace_events(data))
        for colour in (color_by, "kind"):
            kw = {"px_ticks": px, "max_bars_per_lane": bars, "color_by": colour}
            assert plan_timeline(data, **kw) == old.plan_timeline(data, **kw)
        assert cost_rows([data]) == old.cost_rows([data])
