"""Export a run as a Chrome trace-event file (``trace.json``) for Perfetto or chrome://tracing.

Layout: one process per device kind (GPUs, QPUs, other devices, network links) and one thread,
i.e. one track, per *slot* of each device or link direction, in the timeline's lane order; queue
lengths are counter tracks under a "queues" process. Every interval (job service, transfer,
calibration, local compute, and any kind added later) is one complete ("X") event; failed jobs
are instant ("i") events.

Slots. Trace viewers require the complete events of one track to nest, never to overlap
partially, so a device serving two jobs at once cannot draw them on one track. Each interval is
given a slot with :func:`hybridsim.report.lanes.assign_slots` (in record order, the lowest slot
free at its start): a device of capacity c gets at most c tracks for its jobs, named
``"<device> slot <k>"`` when it needs more than one, and each event's args carry its ``slot``.

Time. The trace format counts microseconds, and viewers store them as doubles or integer
nanoseconds, so an attosecond job shows as zero width there. ``ts`` and ``dur`` are for the
viewer; each slice's ``args`` say its ``duration`` in words (``"1.3 as"``). The exact instants,
in ticks, are those of the ``intervals.csv`` row the slice stands for: the complete events are
the rows of ``intervals.csv``, in the same order. (Exact tick strings in every event made up
three quarters of a compressed trace: 7.4 MB at 10**5 jobs, against 4.4 MB without them.)

Streaming. The events are written as they are made, from passes over the records that hold no
row per job, so the trace of a run of any length is written in flat memory: the slots come from
one pass over the intervals in file order (by start, so only the intervals of one instant are
ever sorted: :func:`hybridsim.report.passes.slot_stream`), each job slice's details from a merge
of ``jobs.csv`` against ``intervals.csv`` (:class:`hybridsim.report.passes.JobsInOrder`), and
the failures from the run's job digest. Records built in memory are read as before (a dict of
the jobs; slots assigned in memory when the intervals are not in order of start).

Size. A trace of more than :data:`PLAIN_MAX_BYTES` is written gzip-compressed as
``trace.json.gz`` (Perfetto and chrome://tracing open it as it is), deterministically (no name
or time in the gzip header), as is every trace of a run with ``output.compress = true``.

Reference: "Trace Event Format", https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
"""

from __future__ import annotations

import gzip
import io
import json
import math
from collections.abc import Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from hybridsim.records import IntervalRecord, JobRecord
from hybridsim.report.data import RunData, as_run
from hybridsim.report.files import atomic_open
from hybridsim.report.lanes import in_start_order, lanes_of
from hybridsim.report.passes import jobs_by_id, slot_stream
from hybridsim.timebase import format_duration

__all__ = ["trace_events", "write_trace", "trace_name", "TICKS_PER_US", "PLAIN_MAX_BYTES"]

#: Ticks per microsecond, the trace format's time unit.
TICKS_PER_US = 10**15
#: Largest trace written uncompressed (4 MiB: a run of about 10**4 jobs); a larger one is
#: ``trace.json.gz``.
PLAIN_MAX_BYTES = 4 * 2**20

_PROCESSES = (("gpu", "GPUs"), ("qpu", "QPUs"), ("device", "other devices"), ("link", "network"))
_QUEUES_PID = len(_PROCESSES) + 1
_JOB_ARGS = (
    "step",
    "block",
    "n",
    "d",
    "route",
    "group",
    "solver",
    "kappa_est",
    "kappa_true",
    "predicted_s",
    "queries",
    "shots",
    "status",
    "fail_reason",
)


# The job fields shown in a job slice's args, fetched in one C call per job.
_job_args = itemgetter(*(JobRecord._fields.index(k) for k in _JOB_ARGS))


def _us(ticks: int) -> float:
    # int / int true division is correctly rounded: the nearest double to the exact value.
    return ticks / TICKS_PER_US


def _jsonable(v: Any) -> Any:
    # Trace readers reject NaN/Infinity literals; keep them readable as strings.
    if isinstance(v, float) and not math.isfinite(v):
        return repr(v)
    return v


def trace_events(run: Any) -> Iterator[dict[str, Any]]:
    """The trace events of a run, in file order: metadata, intervals, failures, queue counters.

    Parameters
    ----------
    run : RunData, RunResult or path

    Yields
    ------
    dict
        One trace event each.
    """
    data = as_run(run)
    pids = {kind: i + 1 for i, (kind, _) in enumerate(_PROCESSES)}
    lanes = lanes_of(data)
    # One track per slot: each lane's intervals in record order, lowest free slot at each start.
    slotted, n_slots = _slotted(data)
    tids: dict[tuple[str, int], tuple[int, int]] = {}
    used_kinds = {ln.kind for ln in lanes}
    for kind, name in _PROCESSES:
        if kind in used_kinds:
            pid = pids[kind]
            yield {"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}}
            yield {
                "ph": "M",
                "name": "process_sort_index",
                "pid": pid,
                "tid": 0,
                "args": {"sort_index": pid},
            }
    tid = 0
    for lane in lanes:
        pid = pids[lane.kind]
        slots = n_slots.get(lane.name, 1)
        for slot in range(slots):
            tid += 1
            tids[(lane.name, slot)] = (pid, tid)
            name = lane.name if slots == 1 else f"{lane.name} slot {slot}"
            yield {"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}}
            yield {
                "ph": "M",
                "name": "thread_sort_index",
                "pid": pid,
                "tid": tid,
                "args": {"sort_index": tid},
            }

    failures = data.job_digest.failures
    failed = {f.job_id for f in failures}
    jobs = jobs_by_id(data.jobs)  # looked up in interval order: a merge for a long run
    # failed job -> (resource, slot) of its last interval
    last_slot: dict[int, tuple[str, int]] = {}
    for iv, slot in slotted:
        pid, tid = tids[(iv.resource, slot)]
        if iv.job_id in failed:
            last_slot[iv.job_id] = (iv.resource, slot)
        job = jobs.get(iv.job_id) if iv.kind == "job" and iv.job_id >= 0 else None
        if iv.kind == "job":
            name = f"job {iv.job_id}" + (f" {job.block}" if job is not None and job.block else "")
        elif iv.job_id >= 0:
            name = f"{iv.kind} job {iv.job_id}"
        else:
            name = iv.label or iv.kind
        dur = iv.end_at - iv.start_at
        args: dict[str, Any] = {"duration": format_duration(dur), "kind": iv.kind}
        if iv.job_id >= 0:
            args["job_id"] = iv.job_id
        if n_slots[iv.resource] > 1:
            args["slot"] = slot
        if iv.label:
            args["label"] = iv.label
        if iv.kind == "job" and job is not None:
            for key, value in zip(_JOB_ARGS, _job_args(job), strict=True):
                if value is not None and value != "":
                    args[key] = _jsonable(value)
        yield {
            "ph": "X",
            "name": name,
            "cat": iv.kind,
            "pid": pid,
            "tid": tid,
            "ts": _us(iv.start_at),
            "dur": _us(dur),
            "args": args,
        }

    for f in failures:
        if (f.device, 0) not in tids:
            continue
        # On the track of the job's last interval on its device (slot 0 if it never ran).
        where = last_slot.get(f.job_id)
        pid, tid = tids[where if where is not None and where[0] == f.device else (f.device, 0)]
        yield {
            "ph": "i",
            "s": "t",
            "name": f"job {f.job_id} {f.status}",
            "cat": "failure",
            "pid": pid,
            "tid": tid,
            "ts": _us(f.at),
            "args": {
                "at": str(f.at),
                "job_id": f.job_id,
                "status": f.status,
                "fail_reason": f.fail_reason,
                "attempts": f.attempts,
            },
        }

    if data.queues:
        yield {
            "ph": "M",
            "name": "process_name",
            "pid": _QUEUES_PID,
            "tid": 0,
            "args": {"name": "queues"},
        }
        yield {
            "ph": "M",
            "name": "process_sort_index",
            "pid": _QUEUES_PID,
            "tid": 0,
            "args": {"sort_index": _QUEUES_PID},
        }
    for q in data.queues:
        yield {
            "ph": "C",
            "name": f"queue {q.pool}",
            "pid": _QUEUES_PID,
            "ts": _us(q.at),
            "args": {"length": q.length},
        }


def _slotted(data: RunData) -> tuple[Iterable[tuple[IntervalRecord, int]], dict[str, int]]:
    """(interval, slot) in record order, and the slots each resource needs.

    Intervals in order of start (``intervals.csv``) are slotted as they are read, the slot
    counts coming from the run's interval digest; others (records built in memory) get their
    slots from a stable sort by start, in memory.
    """
    digest = data.interval_digest
    if digest.slots is not None:
        stream = ((iv, slot) for _, iv, slot in slot_stream(enumerate(data.intervals)))
        return stream, dict(digest.slots)
    slot_of = [0] * digest.count
    n_slots: dict[str, int] = {}
    for k, iv, slot in slot_stream(in_start_order(data)):
        slot_of[k] = slot
        if slot >= n_slots.get(iv.resource, 0):
            n_slots[iv.resource] = slot + 1
    return zip(data.intervals, slot_of, strict=True), n_slots


def trace_name(compressed: bool) -> str:
    """``trace.json`` or ``trace.json.gz``."""
    return "trace.json.gz" if compressed else "trace.json"


def _chunks(data: RunData) -> Iterator[str]:
    """The file's text in pieces (a few thousand events each)."""
    yield '{"displayTimeUnit":"ns","otherData":'
    yield json.dumps(
        {
            "generator": "hybridsim",
            "run": data.label,
            "tick_s": "1e-21",
            "time_note": "ts/dur are microseconds for display; the exact instants (ticks of "
            "1e-21 s) are those of the intervals.csv row of each complete event, in file order",
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )
    yield ',"traceEvents":[\n'
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
    names: dict[str, str] = {}
    lines: list[str] = []
    for ev in trace_events(data):
        if len(lines) >= 4096:  # write in chunks: one write call per event is slow
            yield ",\n".join(lines) + ",\n"
            lines.clear()
        if ev["ph"] == "C":
            # Queue counters are most of the events of a long run and all alike: formatted
            # directly (a finite float's repr is valid JSON), same text as the encoder's.
            name = names.get(ev["name"])
            if name is None:
                name = names[ev["name"]] = encode(ev["name"])
            lines.append(
                f'{{"ph":"C","name":{name},"pid":{ev["pid"]},"ts":{ev["ts"]!r},'
                f'"args":{{"length":{ev["args"]["length"]}}}}}'
            )
        else:
            lines.append(encode(ev))
    yield ",\n".join(lines) + "\n]}\n"


def write_trace(run: Any, path: str | Path, *, compress: bool | None = None) -> Path:
    """Write the trace (one event per line, deterministic) and return the path written.

    Parameters
    ----------
    run : RunData, RunResult or path
    path : str or Path
        ``.../trace.json`` (or a name ending in ``.gz``: always compressed).
    compress : bool, optional
        True: write ``path`` + ``.gz`` compressed; False: ``path`` as is; None (default):
        compressed when the text exceeds :data:`PLAIN_MAX_BYTES`.

    The file is written next to its destination and renamed into place, so a reader never sees
    half a trace; the other form of the same trace (``trace.json`` beside a new
    ``trace.json.gz``, or the reverse), left by an earlier report, is removed.
    """
    from hybridsim.outputs.files import gzip_writer

    data: RunData = as_run(run)
    path = Path(path)
    if path.name.endswith(".gz"):
        plain, compress = path.with_name(path.name[: -len(".gz")]), True
    else:
        plain = path
    packed = plain.with_name(plain.name + ".gz")
    pieces = _chunks(data)
    head: list[str] = []
    size = 0
    if compress is None:
        # Hold the text until it is known to fit (then it is written plain) or not.
        for piece in pieces:
            head.append(piece)
            size += len(piece.encode("utf-8"))
            if size > PLAIN_MAX_BYTES:
                compress = True
                break
        else:
            compress = False
    target, other = (packed, plain) if compress else (plain, packed)
    with atomic_open(target, "wb") as raw:
        out: IO[bytes] | gzip.GzipFile = gzip_writer(raw) if compress else raw
        text = io.TextIOWrapper(out, encoding="utf-8", newline="\n")
        for piece in head:
            text.write(piece)
        head.clear()
        for piece in pieces:
            text.write(piece)
        text.flush()
        text.detach()
        if compress:
            out.close()
    other.unlink(missing_ok=True)
    return target
