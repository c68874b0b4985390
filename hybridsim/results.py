"""RunResult: the summary, records and provenance of one run, and the files written for it.

Files (in ``--out DIR``), all deterministic for a given scenario and seed except the ``wall`` key
of ``summary.json``:

``summary.json``   flat metrics with units in their names, the resolved scenario, seed, versions;
``jobs.csv``       one row per solve job (instants in exact ticks and in seconds);
``intervals.csv``  device and link busy intervals (job service, calibration, transfers);
``queues.csv``     every change of each pool's queue length;
``scenario.toml``  the resolved scenario, runnable as is.

``DIR`` is written whole (:func:`hybridsim.outdir.replacing`): the files go to a fresh staging
directory next to it, which then replaces ``DIR`` in one rename, so a failed or killed run leaves
the previous directory as it was and never a mix of two runs' files.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from hybridsim import __version__
from hybridsim import metrics as M
from hybridsim.records import IntervalRecord, JobRecord, QueueRecord, Recorder, StepRecord
from hybridsim.scenario import Scenario, device_names
from hybridsim.timebase import TICK_S
from hybridsim.tomlio import dumps as toml_dumps

__all__ = ["RunResult", "JOB_COLUMNS", "INTERVAL_COLUMNS", "QUEUE_COLUMNS", "package_versions"]

_INSTANTS = ("submitted_at", "dispatched_at", "started_at", "finished_at", "completed_at")

#: Columns of jobs.csv, in order (documented in docs/reference/outputs.md).
JOB_COLUMNS = [
    "job_id",
    "tenant",
    "step",
    "block",
    "n",
    "d",
    "priority",
    "route",
    "group",
    "device",
    "status",
    *_INSTANTS,
    *(c.replace("_at", "_s") for c in _INSTANTS),
    "wait_s",
    "transfer_s",
    "service_s",
    "response_s",
    "kappa_est",
    "kappa_true",
    "estimator",
    "predicted_s",
    "predicted_classical_s",
    "predicted_quantum_s",
    "solver",
    "method",
    "matrix",
    "assembly_s",
    "factor_reused",
    "compute_s",
    "state_prep_s",
    "readout_s",
    "overhead_s",
    "queries",
    "shots",
    "n_qubits",
    # -- issue 13: the job's size on a QPU (fault tolerance) --
    "logical_qubits",
    "t_count",
    "code_distance",
    "physical_qubits",
    # --
    "success_probability",
    "fidelity",
    "solution_error",
    "attempts",
    "fail_reason",
]
INTERVAL_COLUMNS = [
    "resource",
    "kind",
    "start_at",
    "end_at",
    "start_s",
    "end_s",
    "duration_s",
    "job_id",
    "label",
]
QUEUE_COLUMNS = ["at", "at_s", "pool", "length"]
STEP_COLUMNS = [
    "run",
    "tenant",
    "step",
    "at",
    "at_s",
    "loss",
    "train_accuracy",
    "test_accuracy",
    "blocks",
    "routed_quantum",
    "hhl_jobs",
    "kappa_true_median",
    "kappa_est_median",
    "kappa_true_max",
    "kappa_est_max",
    "d_median",
    "solution_error_max",
    "failed_blocks",
    "kappa_clipped",
]
# jobs.csv columns copied verbatim from JobRecord fields (everything after the derived spans).
_RECORD_TAIL = JOB_COLUMNS[JOB_COLUMNS.index("kappa_est") :]


@functools.cache
def _versions() -> tuple[tuple[str, str], ...]:
    out = [("hybridsim", __version__)]
    for pkg in ("simpy", "numpy", "scipy", "networkx", "qutip", "qutip-qip"):
        try:
            out.append((pkg, metadata.version(pkg)))
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out.append((pkg, "not installed"))
    return tuple(out)


def package_versions() -> dict[str, str]:
    """Versions of hybridsim and the packages that shape its results (read from metadata, so
    nothing heavy is imported; cached because installed versions cannot change in a process)."""
    return dict(_versions())


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def _job_row(j: JobRecord) -> list[Any]:
    s = M.seconds
    return [
        j.job_id,
        j.tenant,
        j.step,
        j.block,
        j.n,
        j.d,
        j.priority,
        j.route,
        j.group,
        j.device,
        j.status,
        j.submitted_at,
        j.dispatched_at,
        j.started_at,
        j.finished_at,
        j.completed_at,
        repr(s(j.submitted_at)),
        repr(s(j.dispatched_at)),
        repr(s(j.started_at)),
        repr(s(j.finished_at)),
        repr(s(j.completed_at)),
        repr(s(M.wait_ticks(j))),
        repr(s(M.transfer_ticks(j))),
        repr(s(M.service_ticks(j))),
        repr(s(M.response_ticks(j))),
        *(_cell(getattr(j, c)) for c in _RECORD_TAIL),
    ]


def _interval_row(iv: IntervalRecord) -> list[Any]:
    s = M.seconds
    return [
        iv.resource,
        iv.kind,
        iv.start_at,
        iv.end_at,
        repr(s(iv.start_at)),
        repr(s(iv.end_at)),
        repr(s(iv.end_at - iv.start_at)),
        iv.job_id,
        iv.label,
    ]


def _queue_row(q: QueueRecord) -> list[Any]:
    return [q.at, repr(M.seconds(q.at)), q.pool, q.length]


def _step_row(s: StepRecord) -> list[Any]:
    return [
        s.run,
        s.tenant,
        s.step,
        s.at,
        repr(M.seconds(s.at)),
        *(_cell(getattr(s, c)) for c in STEP_COLUMNS[5:]),
    ]


def summarize(
    scenario: Scenario,
    seed: int,
    rec: Recorder,
    wall: dict[str, float],
    baselines: dict[str, Recorder] | None = None,
) -> dict[str, Any]:
    """The flat summary of a run (see docs/reference/outputs.md for every key)."""
    jobs = rec.jobs
    completed = [j for j in jobs if j.status == "completed"]
    horizon = M.makespan_ticks(jobs, rec.intervals)
    capacities = {}
    kind_of = {}
    for grp in scenario.cluster.groups:
        for dev in device_names(grp):
            capacities[dev] = grp.capacity
            kind_of[dev] = grp.kind
    util = M.utilization(completed, capacities, horizon)
    out: dict[str, Any] = {
        "scenario_name": scenario.name,
        "seed": seed,
        "tick_s": TICK_S,
        "jobs_completed": len(completed),
        "jobs_failed": sum(1 for j in jobs if j.status == "failed"),
        "routed_quantum": sum(1 for j in jobs if j.route == "quantum"),
        "routed_classical": sum(1 for j in jobs if j.route == "classical"),
        "makespan_ticks": horizon,
        "makespan_s": M.seconds(horizon),
        **M.wait_stats(completed),
        **M.span_means(completed),
        "calibration_time_s": M.seconds(
            sum(iv.end_at - iv.start_at for iv in rec.intervals if iv.kind == "calibration")
        ),
    }
    target = getattr(scenario.workload, "target_accuracy", None)
    train = M.training_metrics(rec.steps, "main", target)
    out.update(train)
    main_steps = [s for s in rec.steps if s.run == "main"]
    out["kappa_clipped_block_steps"] = (
        sum(s.kappa_clipped for s in main_steps) if main_steps else None
    )
    baselines = baselines or {}
    # Every baseline the workload asks for gets its keys: one identical to the main run (e.g.
    # classical_newton when the main run routes everything classically) was not run again and
    # reports the main run's numbers.
    names = list(getattr(scenario.workload, "baselines", ()))
    names += [b for b in baselines if b not in names]
    for name in names:
        brec = baselines.get(name)
        b = train if brec is None else M.training_metrics(brec.steps, name, target)
        for key in ("training_time_s", "time_to_target_s", "final_loss", "final_accuracy"):
            out[f"{name}_{key}"] = b[key]
        ours, theirs = train["time_to_target_s"], b["time_to_target_s"]
        out[f"speedup_vs_{name}"] = theirs / ours if ours and theirs else None
        ours, theirs = train["training_time_s"], b["training_time_s"]
        out[f"training_time_ratio_vs_{name}"] = theirs / ours if ours and theirs else None
    for kind in ("gpu", "qpu"):
        devs = [d for d in capacities if kind_of[d] == kind]
        total_cap = sum(capacities[d] for d in devs)
        out[f"utilization_{kind}"] = (
            sum(util[d] * capacities[d] for d in devs) / total_cap if total_cap else None
        )
    for dev, u in util.items():
        out[f"utilization_{dev}"] = u
    qpus = [g.name for g in scenario.cluster.qpu]
    out.update(
        {f"peak_physical_qubits_{g}": q for g, q in M.peak_physical_qubits(jobs, qpus).items()}
    )
    pools = [g.name for g in scenario.cluster.groups]
    for pool, q in M.mean_queue_length(rec.queues, pools, horizon).items():
        out[f"mean_queue_{pool}"] = q if scenario.output.queue_levels else None
    out["versions"] = package_versions()
    out["scenario"] = scenario.to_dict()
    out["wall"] = dict(wall)
    return out


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced.

    Attributes
    ----------
    scenario : Scenario
        The resolved scenario (seed included).
    seed : int
    summary : dict
        As written to summary.json.
    jobs : list of JobRecord
    intervals : list of IntervalRecord
        Recorded (non-job) intervals; :meth:`all_intervals` adds job service intervals.
    queues : list of QueueRecord
    """

    scenario: Scenario
    seed: int
    summary: dict[str, Any]
    jobs: list[JobRecord] = field(repr=False)
    intervals: list[IntervalRecord] = field(repr=False)
    queues: list[QueueRecord] = field(repr=False)
    steps: list[StepRecord] = field(repr=False, default_factory=list)
    baselines: dict[str, Recorder] = field(repr=False, default_factory=dict)

    @classmethod
    def from_records(
        cls,
        scenario: Scenario,
        seed: int,
        rec: Recorder,
        sim: Any = None,
        baselines: dict[str, Recorder] | None = None,
    ) -> RunResult:
        """Summarize a finished simulation (and its baseline runs) into a RunResult."""
        wall = dict(getattr(sim, "wall", {}) or {})
        baselines = dict(baselines or {})
        summary = summarize(scenario, seed, rec, wall, baselines)
        steps = list(rec.steps)
        for brec in baselines.values():
            steps.extend(brec.steps)
        return cls(scenario, seed, summary, rec.jobs, rec.intervals, rec.queues, steps, baselines)

    def all_intervals(self) -> list[IntervalRecord]:
        """Job service intervals and recorded intervals, sorted."""
        return M.device_intervals(self.jobs, self.intervals)

    # -- writing -------------------------------------------------------------------------------
    def write(self, out_dir: str | Path) -> Path:
        """Write every output file into ``out_dir`` and return its path.

        The directory is replaced whole (created if needed): files of an earlier run there do
        not survive, and a failure or a kill leaves the earlier content intact. Refused with a
        :class:`~hybridsim.errors.HybridSimError`: a sweep's directory, a directory holding
        files that are not a run's, the current directory, and a directory another process is
        writing to (see :mod:`hybridsim.outdir`).
        """
        from hybridsim.outdir import replacing

        with replacing(out_dir, force=True) as stage:
            self.write_into(stage)
        return Path(out_dir)

    def write_into(self, directory: str | Path) -> None:
        """Write the output files into an existing directory, without staging or locking (for
        callers that stage the directory themselves, like ``hybridsim run``)."""
        d = Path(directory)
        self._write_csv(d / "jobs.csv", JOB_COLUMNS, map(_job_row, self.jobs))
        self._write_csv(
            d / "intervals.csv", INTERVAL_COLUMNS, map(_interval_row, self.all_intervals())
        )
        self._write_csv(d / "queues.csv", QUEUE_COLUMNS, map(_queue_row, self.queues))
        self._write_csv(d / "steps.csv", STEP_COLUMNS, map(_step_row, self.steps))
        (d / "scenario.toml").write_text(toml_dumps(self.scenario.to_dict()))
        (d / "summary.json").write_text(json.dumps(self.summary, indent=2) + "\n")

    @staticmethod
    def _write_csv(path: Path, header: list[str], rows) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)

    def _baseline_names(self) -> list[str]:
        """The baselines the summary reports: those asked for (run or identical to the main
        run), then any other that ran."""
        names = list(getattr(self.scenario.workload, "baselines", ()))
        return names + [b for b in self.baselines if b not in names]

    def summary_table(self) -> str:
        """A short human-readable table of the main metrics (printed by ``hybridsim run``)."""
        keys = [
            "jobs_completed",
            "jobs_failed",
            "routed_classical",
            "routed_quantum",
            "makespan_s",
            "mean_wait_s",
            "p95_wait_s",
            "mean_service_s",
            "mean_transfer_s",
            "utilization_gpu",
            "utilization_qpu",
            "training_time_s",
            "final_loss",
            "final_accuracy",
            "time_to_target_s",
            *(
                f"{b}_{k}"
                for b in self._baseline_names()
                for k in ("time_to_target_s", "final_accuracy")
            ),
            *(f"speedup_vs_{b}" for b in self._baseline_names()),
            *(
                f"peak_physical_qubits_{g.name}"
                for g in self.scenario.cluster.qpu
                if g.fault_tolerance
            ),
        ]
        buf = io.StringIO()
        width = max(len(k) for k in keys)
        for k in keys:
            v = self.summary.get(k)
            if v is None:
                training = self.summary.get("final_accuracy") is not None
                if training and (k.endswith("time_to_target_s") or k.startswith("speedup_vs")):
                    buf.write(f"{k:<{width}}  not reached\n")
                continue
            text = f"{v:.6g}" if isinstance(v, float) else str(v)
            buf.write(f"{k:<{width}}  {text}\n")
        return buf.getvalue()
