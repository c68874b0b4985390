"""RunResult: the summary, records and provenance of one run, and the files written for it.

Files (in ``--out DIR``), all deterministic for a given scenario and seed except the ``wall`` key
of ``summary.json``:

``summary.json``   flat metrics with units in their names, the resolved scenario, seed, versions;
``jobs.csv``       one row per solve job (instants in exact ticks and in seconds);
``intervals.csv``  device and link busy intervals (job service, calibration, transfers);
``queues.csv``     every change of each pool's queue length;
``steps.csv``      the training steps of the main run and its baselines;
``scenario.toml``  the resolved scenario, runnable as is.

The format (columns, compression, reading back) is owned by :mod:`hybridsim.outputs`; this
module holds the result object and its summary. ``DIR`` is written whole
(:func:`hybridsim.outdir.replacing`): the files go to a fresh staging directory next to it,
which then replaces ``DIR`` in one rename, so a failed or killed run leaves the previous
directory as it was and never a mix of two runs' files.

Large runs. A run's records stream to disk as it goes (:mod:`hybridsim.outputs.stream`): its
``jobs``, ``queues``, ``steps`` and intervals are then lazy sequences over the files written (an
iteration reads the file), and the summary comes from aggregates computed while streaming, equal
to the last bit to the in-memory computation.
"""

from __future__ import annotations

import functools
import io
import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from hybridsim import __version__
from hybridsim import metrics as M
from hybridsim.records import IntervalRecord, JobRecord, QueueRecord, Recorder, StepRecord
from hybridsim.scenario import Scenario, device_names
from hybridsim.timebase import TICK_S

__all__ = ["RunResult", "package_versions", "summarize", "totals_of"]

# Moved to hybridsim.outputs.columns (deprecated here for one release).
_MOVED = {
    "JOB_COLUMNS": "JOB_COLUMNS",
    "INTERVAL_COLUMNS": "INTERVAL_COLUMNS",
    "QUEUE_COLUMNS": "QUEUE_COLUMNS",
    "STEP_COLUMNS": "STEP_COLUMNS",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        from hybridsim.outputs import columns

        warnings.warn(
            f"hybridsim.results.{name} is deprecated; import it from hybridsim.outputs.columns",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(columns, _MOVED[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def totals_of(
    rec: Recorder, scenario: Scenario, target_accuracy: float | None = None
) -> M.RunTotals:
    """The aggregates of a plain recorder's rows (all of them at once)."""
    pools = [g.name for g in scenario.cluster.groups]
    if target_accuracy is None:
        target_accuracy = getattr(scenario.workload, "target_accuracy", None)
    qpus = [g.name for g in scenario.cluster.qpu]
    totals = M.RunTotals(pools, target_accuracy, len(rec.jobs), qpus)
    totals.add_jobs(rec.jobs)
    totals.add_intervals(rec.intervals)
    totals.add_queues(rec.queues)
    totals.add_steps(rec.steps)
    return totals


def summarize(
    scenario: Scenario,
    seed: int,
    totals: M.RunTotals,
    wall: dict[str, float],
    baselines: Mapping[str, M.RunTotals] | None = None,
) -> dict[str, Any]:
    """The flat summary of a run (see docs/reference/outputs.md for every key), from the
    aggregates of its records (and of its baseline runs')."""
    horizon = totals.horizon
    capacities = {}
    kind_of = {}
    for grp in scenario.cluster.groups:
        for dev in device_names(grp):
            capacities[dev] = grp.capacity
            kind_of[dev] = grp.kind
    util = totals.utilization(capacities)
    out: dict[str, Any] = {
        "scenario_name": scenario.name,
        "seed": seed,
        "tick_s": TICK_S,
        "jobs_completed": totals.completed,
        "jobs_failed": totals.failed,
        "routed_quantum": totals.routed.get("quantum", 0),
        "routed_classical": totals.routed.get("classical", 0),
        "makespan_ticks": horizon,
        "makespan_s": M.seconds(horizon),
        **totals.wait_stats(),
        **totals.span_means(),
        "calibration_time_s": M.seconds(totals.calibration),
    }
    train = totals.steps.metrics("main")
    out.update(train)
    out["kappa_clipped_block_steps"] = totals.steps.clipped_block_steps("main")
    baselines = baselines or {}
    # Every baseline the workload asks for gets its keys: one identical to the main run (e.g.
    # classical_newton when the main run routes everything classically) was not run again and
    # reports the main run's numbers.
    names = list(getattr(scenario.workload, "baselines", ()))
    names += [b for b in baselines if b not in names]
    for name in names:
        btotals = baselines.get(name)
        b = train if btotals is None else btotals.steps.metrics(name)
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
    out.update({f"peak_physical_qubits_{g}": q for g, q in totals.peak_physical_qubits().items()})
    for pool, q in totals.mean_queue_length().items():
        out[f"mean_queue_{pool}"] = q if scenario.output.queue_levels else None
    out["versions"] = package_versions()
    out["scenario"] = scenario.to_dict()
    out["wall"] = dict(wall)
    return out


def _finished(rec: Recorder, scenario: Scenario, extra_steps: Any = ()) -> Any:
    """A recorder's records and aggregates, streamed or not (see
    :class:`hybridsim.outputs.stream.Finished`)."""
    from hybridsim.outputs.stream import Finished, StreamingRecorder

    if isinstance(rec, StreamingRecorder):
        return rec.finish(extra_steps)
    totals = totals_of(rec, scenario)
    intervals = sorted(rec.intervals, key=M.INTERVAL_ORDER)
    steps = [*rec.steps, *extra_steps]
    return Finished(totals, rec.jobs, intervals, rec.queues, steps)


@dataclass(frozen=True)
class RunResult:
    """Everything one run produced.

    Records are lists for a run that stayed in memory; for a run whose records streamed to disk
    (or one read back with :meth:`load` from long files) they are lazy sequences over the files
    (:class:`hybridsim.outputs.RecordFile`: iterating reads the file, ``len`` and indexing work,
    and they compare equal to lists of the same records).

    Attributes
    ----------
    scenario : Scenario
        The resolved scenario (seed included).
    seed : int
    summary : dict
        As written to summary.json.
    jobs : sequence of JobRecord
        In completion order (jobs.csv order).
    intervals : sequence of IntervalRecord
        Recorded (non-job) intervals, in intervals.csv order (by start, resource, job id, kind;
        ties in record order); :meth:`all_intervals` adds job service intervals.
    queues : sequence of QueueRecord
    steps : sequence of StepRecord
        The main run's training steps, then each baseline's.
    baselines : dict of str to Recorder
        The records of each baseline run (a result read back with :meth:`load` has only their
        steps: baseline jobs are not written).
    saved : Saved, optional
        Where the records are kept on disk (None for a run held in memory).
    """

    scenario: Scenario
    seed: int
    summary: dict[str, Any]
    jobs: Sequence[JobRecord] = field(repr=False)
    intervals: Sequence[IntervalRecord] = field(repr=False)
    queues: Sequence[QueueRecord] = field(repr=False)
    steps: Sequence[StepRecord] = field(repr=False, default_factory=list)
    baselines: dict[str, Recorder] = field(repr=False, default_factory=dict)
    saved: Any = field(repr=False, default=None, compare=False, kw_only=True)

    @classmethod
    def from_records(
        cls,
        scenario: Scenario,
        seed: int,
        rec: Recorder,
        sim: Any = None,
        baselines: dict[str, Recorder] | None = None,
    ) -> RunResult:
        """Summarize a finished simulation (and its baseline runs) into a RunResult.

        ``rec`` and the baselines' recorders may be plain :class:`~hybridsim.records.Recorder`
        objects or :class:`~hybridsim.outputs.StreamingRecorder` ones (which are finished here).
        """
        from hybridsim.outputs.writer import Saved

        wall = dict(getattr(sim, "wall", {}) or {})
        done = {name: _finished(b, scenario) for name, b in (baselines or {}).items()}
        extra = itertools.chain.from_iterable(f.steps for f in done.values())
        main = _finished(rec, scenario, extra)
        summary = summarize(
            scenario, seed, main.totals, wall, {n: f.totals for n, f in done.items()}
        )
        saved = None
        if main.stored:
            saved = Saved(main.stored, main.all_intervals, None, main.directory)
        return cls(
            scenario,
            seed,
            summary,
            main.jobs,
            main.intervals,
            main.queues,
            main.steps,
            {n: Recorder(f.jobs, f.intervals, f.queues, f.steps) for n, f in done.items()},
            saved=saved,
        )

    @classmethod
    def load(cls, directory: str | Path) -> RunResult:
        """Read a run directory back: the records, summary and scenario ``run`` returned.

        Parameters
        ----------
        directory : str or Path
            Written by ``hybridsim run`` or :meth:`write` (plain or compressed CSVs).

        Returns
        -------
        RunResult
            Equal records, summary (``wall`` included) and scenario; long files are read lazily.
            Baseline runs come back with their training steps only.

        Raises
        ------
        OutputError
            A missing directory or file, or a malformed one.
        ScenarioError
            ``scenario.toml`` (or, without it, the summary's ``scenario``) is not a valid scenario.

        Examples
        --------
        >>> import hybridsim, tempfile
        >>> r = hybridsim.run("scenarios/mmc.toml", overrides=["workload.jobs=50"])
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     back = RunResult.load(r.write(f"{tmp}/run"))
        ...     print(back.jobs == r.jobs, back.summary == r.summary, len(back.jobs))
        True True 50
        """
        from hybridsim.outputs.reader import RecordFile, read_run
        from hybridsim.outputs.writer import Saved

        files = read_run(directory)
        scenario = _saved_scenario(files)
        seed = files.summary.get("seed", scenario.seed)
        if isinstance(files.intervals, RecordFile):
            intervals: Sequence[Any] = RecordFile(
                files.intervals.stored, files.intervals.table, keep=_recorded
            )
        else:
            intervals = [iv for iv in files.intervals if iv.kind != "job"]
        baselines: dict[str, Recorder] = {}
        for s in files.steps:
            if s.run != "main":
                baselines.setdefault(s.run, Recorder()).steps.append(s)
        saved = Saved(files.stored, files.intervals, files.scenario_text or None, files.directory)
        return cls(
            scenario,
            int(seed),
            files.summary,
            files.jobs,
            intervals,
            files.queues,
            files.steps,
            baselines,
            saved=saved,
        )

    def all_intervals(self) -> Sequence[IntervalRecord]:
        """Job service intervals and recorded intervals, in intervals.csv order."""
        if self.saved is not None and self.saved.all_intervals is not None:
            return self.saved.all_intervals
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
        callers that stage the directory themselves, like ``hybridsim run``). Files the run
        already streamed into this directory are kept as they are."""
        from hybridsim.outputs.writer import write_run

        write_run(directory, self)

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


def _recorded(iv: IntervalRecord) -> bool:
    return iv.kind != "job"


def _saved_scenario(files: Any) -> Scenario:
    """The scenario of a run directory: its scenario.toml, else the summary's ``scenario``."""
    from hybridsim.errors import OutputError, ScenarioWarning
    from hybridsim.scenario import load_scenario
    from hybridsim.tomlio import loads

    path = files.directory / "scenario.toml"
    with warnings.catch_warnings():
        # Warnings about the scenario were shown when it ran; reading it back is not the place.
        warnings.simplefilter("ignore", ScenarioWarning)
        if files.scenario_text:
            try:
                data = loads(files.scenario_text)
            except ValueError as exc:
                raise OutputError(f"{path}: cannot read: {exc}") from None
            return load_scenario(data, source=path)
        data = files.summary.get("scenario")
        if not isinstance(data, dict):
            raise OutputError(
                f"{files.directory}: no scenario.toml and no scenario in summary.json"
            )
        return load_scenario(data, source=files.directory / "summary.json")
