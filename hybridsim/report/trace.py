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
nanoseconds, so an attosecond job shows as zero width there. ``ts`` and ``dur`` are therefore
for the viewer only; the exact instants are in each event's ``args`` as decimal strings of ticks
(``start_at``, ``end_at``, ``duration_ticks``; one tick is 1e-21 s), because tick counts exceed
2**53 (and 2**63) and JSON readers would round them as numbers.

Reference: "Trace Event Format", https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

from hybridsim.records import JobRecord
from hybridsim.report.data import RunData, as_run
from hybridsim.report.files import atomic_open
from hybridsim.report.lanes import assign_slots, lanes_of
from hybridsim.timebase import format_duration

__all__ = ["trace_events", "write_trace", "TICKS_PER_US"]

#: Ticks per microsecond, the trace format's time unit.
TICKS_PER_US = 10**15

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
    by_lane: dict[str, list[int]] = {}
    for k, iv in enumerate(data.intervals):
        by_lane.setdefault(iv.resource, []).append(k)
    slot_of = [0] * len(data.intervals)
    n_slots: dict[str, int] = {}
    for name, idx in by_lane.items():
        spans = [(data.intervals[k].start_at, data.intervals[k].end_at) for k in idx]
        for k, slot in zip(idx, assign_slots(spans), strict=True):
            slot_of[k] = slot
        n_slots[name] = max(slot_of[k] for k in idx) + 1
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

    jobs: dict[int, JobRecord] = {j.job_id: j for j in data.jobs}
    last_slot: dict[int, tuple[str, int]] = {}  # job id -> (resource, slot) of its last interval
    for k, iv in enumerate(data.intervals):
        slot = slot_of[k]
        pid, tid = tids[(iv.resource, slot)]
        if iv.job_id >= 0:
            last_slot[iv.job_id] = (iv.resource, slot)
        job = jobs.get(iv.job_id) if iv.job_id >= 0 else None
        if iv.kind == "job":
            name = f"job {iv.job_id}" + (f" {job.block}" if job is not None and job.block else "")
        elif iv.job_id >= 0:
            name = f"{iv.kind} job {iv.job_id}"
        else:
            name = iv.label or iv.kind
        dur = iv.end_at - iv.start_at
        args: dict[str, Any] = {
            "start_at": str(iv.start_at),
            "end_at": str(iv.end_at),
            "duration_ticks": str(dur),
            "duration": format_duration(dur),
            "kind": iv.kind,
        }
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

    for j in data.jobs:
        if j.status == "completed" or (j.device, 0) not in tids:
            continue
        # On the track of the job's last interval on its device (slot 0 if it never ran).
        where = last_slot.get(j.job_id)
        pid, tid = tids[where if where is not None and where[0] == j.device else (j.device, 0)]
        at = max(j.submitted_at, j.dispatched_at, j.started_at, j.finished_at)
        yield {
            "ph": "i",
            "s": "t",
            "name": f"job {j.job_id} {j.status}",
            "cat": "failure",
            "pid": pid,
            "tid": tid,
            "ts": _us(at),
            "args": {
                "at": str(at),
                "job_id": j.job_id,
                "status": j.status,
                "fail_reason": j.fail_reason,
                "attempts": j.attempts,
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


def write_trace(run: Any, path: str | Path) -> Path:
    """Write ``trace.json`` (one event per line, deterministic) and return its path.

    The file is written next to its destination and renamed into place, so a reader never sees
    half a trace.
    """
    data: RunData = as_run(run)
    path = Path(path)
    with atomic_open(path, "w") as fh:
        fh.write('{"displayTimeUnit":"ns","otherData":')
        fh.write(
            json.dumps(
                {
                    "generator": "hybridsim",
                    "run": data.label,
                    "tick_s": "1e-21",
                    "time_note": "ts/dur are microseconds for display; exact instants are the args "
                    "start_at/end_at/duration_ticks, in ticks of 1e-21 s",
                },
                separators=(",", ":"),
                ensure_ascii=False,
            )
        )
        fh.write(',"traceEvents":[\n')
        encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
        names: dict[str, str] = {}
        lines: list[str] = []
        for ev in trace_events(data):
            if len(lines) >= 20000:  # write in chunks: one write call per event is slow
                fh.write(",\n".join(lines) + ",\n")
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
        fh.write(",\n".join(lines) + "\n]}\n")
    return path
