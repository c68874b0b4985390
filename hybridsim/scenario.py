"""Scenario files: frozen, validated descriptions of a cluster, its network and its workload.

A scenario is a TOML file. :func:`load_scenario` reads it, applies ``--set`` overrides, validates
every key in one place (unknown keys with a suggestion, wrong types, impossible values, links to
nodes that do not exist, jobs routed to a pool that has no devices) and returns a frozen
:class:`Scenario`. Every default lives here and nowhere else. :meth:`Scenario.to_dict` gives TOML
data that loads back to an equal scenario; it is saved with every run.

All durations are stored as integer ticks (see :mod:`hybridsim.timebase`); bandwidths as bytes/s.
The reference page ``docs/reference/scenario.md`` is generated from the declarations below.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridsim import tomlio
from hybridsim.errors import ScenarioError
from hybridsim.schema import Ctx, build, key, unbuild
from hybridsim.sizing import RunSize, check_size, run_size

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.workload.mlp import Kind, Partition

__all__ = [
    "Scenario",
    "ClusterConfig",
    "GpuGroup",
    "QpuGroup",
    "FaultTolerance",
    "NetworkConfig",
    "LinkConfig",
    "SyntheticWorkload",
    "OutputConfig",
    "load_scenario",
    "load_raw",
    "run_size",
    "RunSize",
    "apply_override",
    "parse_override",
    "DISCIPLINES",
    "DEVICE_KINDS",
]

DISCIPLINES = ("fifo", "priority", "shortest_predicted_first")
DEVICE_KINDS = ("gpu", "qpu")
# Used with fullmatch: "$" alone matches before a trailing newline, which let "q\n" through.
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NAME_DOC = "letters, digits and underscores, starting with a letter"


def _check_name(value: str, ctx: Ctx) -> None:
    if not _NAME_RE.fullmatch(value):
        raise ctx.error(f"invalid name {value!r}", _NAME_DOC)


# ---------------------------------------------------------------------------------------------
# cluster

#: Largest condition number a scenario may give (a κ, a κ start, a threshold, a replayed κ): far
#: beyond any matrix in double precision (1/ε ≈ 4.5e15 is already numerically singular), yet
#: every cost model stays finite with it (queries grow about linearly in κ).
MAX_KAPPA = 1e100
#: Largest matrix size a scenario may name (a dense 10^7 x 10^7 matrix is 800 TB).
MAX_MATRIX_N = 10**7
#: Largest step size / learning rate: beyond it every optimizer here diverges at once.
MAX_STEP_SIZE = 10.0

#: Gate, readout and reset times given as a bare number above this many seconds get a warning:
#: no qubit needs a second per gate, so ``gate_time_2q = 84`` was almost surely "84 ns".
BARE_SECONDS_MAX = 1.0


@dataclass(frozen=True, slots=True)
class FailureModel:
    """Random outages: up for a time to failure, then down for a time to repair."""

    mtbf: int | None = key(
        None,
        kind="duration",
        gt=0,
        optional=True,
        doc="Mean time between failures (exponential times to failure).",
    )
    at: tuple[int, ...] = key(
        (),
        kind="durations",
        min=0,
        doc="Explicit failure instants (instead of mtbf), e.g. to replay an outage log.",
    )
    mttr: int = key(kind="duration", gt=0, doc="Mean time to repair.")
    repair: str = key(
        "exponential",
        kind="choice",
        choices=("exponential", "deterministic"),
        doc="Distribution of repair times (deterministic: always mttr).",
    )

    def _validate(self, ctx: Ctx) -> None:
        if (self.mtbf is None) == (not self.at):
            raise ctx.child("mtbf").error("give exactly one of mtbf and at")


@dataclass(frozen=True, slots=True)
class GpuGroup:
    """A group of identical GPU nodes sharing one queue (a pool)."""

    name: str = key(kind="str", doc="Name of the group; devices are named NAME-0, NAME-1, ...")
    count: int = key(1, kind="int", min=1, max=100_000, doc="Number of GPU nodes in the group.")
    capacity: int = key(
        1, kind="int", min=1, max=1024, doc="Jobs one node runs at the same time (its slots)."
    )
    tflops: float = key(
        14.0,
        kind="float",
        min=1e-6,
        max=1e6,
        unit="TFLOP/s",
        doc="Sustained dense linear-algebra rate (A100 ≈ 14, H100 ≈ 26: Top500 HPL per GPU, "
        "inferred; docs/background/references.md#gpu-rates).",
    )
    launch_latency: int = key(
        "20 us",
        kind="duration",
        min=0,
        doc="Fixed cost per kernel call; small solves are latency bound "
        "(docs/background/references.md#gpu-launch-latency).",
    )
    memory_gb: float = key(80.0, kind="float", min=1e-3, max=1e6, unit="GB", doc="Device memory.")
    memory_bandwidth: float = key(
        "2 TB/s", kind="bandwidth", doc="Device memory bandwidth (A100 80 GB: about 2 TB/s)."
    )
    discipline: str = key(
        "fifo", kind="choice", choices=DISCIPLINES, doc="Queue discipline of the pool."
    )
    link_latency: int = key(
        "2 us",
        kind="duration",
        min=0,
        doc="Latency of the node's link to the switch in the default star network "
        "(InfiniBand-class, assumed).",
    )
    link_bandwidth: float = key(
        "200 Gbps", kind="bandwidth", doc="Bandwidth of that link (InfiniBand HDR)."
    )
    failures: FailureModel | None = key(
        None,
        kind="table",
        schema=FailureModel,
        optional=True,
        doc="Random node outages; the jobs running on a failing node fail (unset: none).",
    )

    def _validate(self, ctx: Ctx) -> None:
        _check_name(self.name, ctx.child("name"))

    @property
    def kind(self) -> str:
        return "gpu"


#: Qubit models a fault-tolerant QPU group may name: the six of the Azure resource estimator
#: (:data:`hybridsim.costs.ft.QUBIT_MODELS`), or ``custom`` (the group's own physical numbers).
FT_QUBIT_MODELS = (
    "qubit_gate_ns_e3",
    "qubit_gate_ns_e4",
    "qubit_gate_us_e3",
    "qubit_gate_us_e4",
    "qubit_maj_ns_e4",
    "qubit_maj_ns_e6",
    "custom",
)
FT_QEC_SCHEMES = ("surface_code", "floquet_code")
#: Smallest code distance a fault-tolerant group must hold one logical qubit at.
FT_MIN_DISTANCE = 3
_TIME_KEYS = ("gate_time_1q", "gate_time_2q", "measure_time")


@dataclass(frozen=True, slots=True)
class FaultTolerance:
    """An error-corrected QPU: its jobs run on logical qubits of this physical model and code.

    Each job's logical counts are estimated on the model (docs/background/fault-tolerance.md,
    "In the simulator"): its service is the estimated runtime, its footprint the estimate's
    physical qubits, which must fit in the group's ``qubits``.
    """

    qubit_model: str = key(
        kind="choice",
        choices=FT_QUBIT_MODELS,
        doc="Physical qubit model: one of the Azure resource estimator's six, whose times and "
        "error rates fill the group's gate_time_1q, gate_time_2q, measure_time, error_1q, "
        "error_2q and readout_error (values given there must agree; "
        "docs/background/references.md#beverland-2022), or custom: a gate-based model of "
        "those six keys of the group.",
    )
    qec: str = key(
        "surface_code",
        kind="choice",
        choices=FT_QEC_SCHEMES,
        doc="QEC scheme: surface_code (any model) or floquet_code (Majorana models only).",
    )
    error_budget: float = key(
        1e-3,
        kind="float",
        min=1e-15,
        lt=1.0,
        doc="Probability of failure allowed per job, split between logical errors, T "
        "distillation and rotation synthesis as the estimator does; a job fails (a failed "
        "attempt, 'gate or readout error') with the probability its estimate reaches.",
    )
    t_error: float | None = key(
        None,
        kind="float",
        gt=0,
        lt=1.0,
        optional=True,
        doc="custom only: error rate of a physical T state, the input of T distillation "
        "(unset: error_1q).",
    )

    def _validate(self, ctx: Ctx) -> None:
        if self.t_error is not None and self.qubit_model != "custom":
            raise ctx.child("t_error").error(
                f"does not apply to qubit model {self.qubit_model!r} (it has its own T error)",
                "t_error only with qubit_model = 'custom'",
            )


@dataclass(frozen=True, slots=True)
class QpuGroup:
    """A group of identical QPUs sharing one queue (a pool). Defaults are IBM Heron-like."""

    name: str = key(kind="str", doc="Name of the group; devices are named NAME-0, NAME-1, ...")
    preset: str | None = key(
        None,
        kind="str",
        optional=True,
        doc="Hardware preset filling in the keys below (keys given here win): "
        "ibm_heron, ionq_aria, neutral_atom, azure_ns, azure_us, surface_code, attosecond, "
        "and the fault-tolerant qubit_gate_ns_e3, qubit_gate_ns_e4, qubit_gate_us_e3, "
        "qubit_gate_us_e4, qubit_maj_ns_e4, qubit_maj_ns_e6 "
        "(docs/howto/add-a-hardware-preset.md).",
    )
    count: int = key(1, kind="int", min=1, max=100_000, doc="Number of QPUs in the group.")
    capacity: int = key(1, kind="int", min=1, max=1024, doc="Jobs one QPU runs at the same time.")
    qubits: int = key(
        156,
        kind="int",
        min=1,
        max=10**12,
        doc="Physical qubits of one QPU (IBM Heron r2: 156), shared equally by the jobs it runs "
        "at once (capacity). A job needing more than its share cannot run here "
        "(insufficient_qubits): its logical qubits, or on a fault-tolerant group the physical "
        "qubits of its estimate. Required on a fault-tolerant group.",
    )
    gate_time_1q: int = key(
        "32 ns",
        kind="duration",
        bare_max_s=BARE_SECONDS_MAX,
        gt=0,
        doc="Single-qubit gate time (typical IBM sx gate length, assumed; "
        "docs/background/references.md#ibm-heron).",
    )
    gate_time_2q: int = key(
        "84 ns",
        kind="duration",
        bare_max_s=BARE_SECONDS_MAX,
        gt=0,
        doc="Two-qubit gate time (IBM Heron ibm_fez CZ).",
    )
    measure_time: int = key(
        "1.56 us",
        kind="duration",
        bare_max_s=BARE_SECONDS_MAX,
        gt=0,
        doc="Readout (measurement) time (IBM Heron).",
    )
    reset_time: int = key(
        "250 us",
        kind="duration",
        bare_max_s=BARE_SECONDS_MAX,
        min=0,
        doc="Reset / repetition delay between shots (IBM default rep delay).",
    )
    max_shots: int = key(
        100000,
        kind="int",
        min=1,
        max=10**12,
        doc="Maximum shots in one job; more runs need more jobs.",
    )
    job_overhead: int = key(
        "0 s",
        kind="duration",
        min=0,
        doc="Fixed cost per QPU job (circuit loading, submission), charged under accountings "
        "that include it; a solve needs ceil(runs / max_shots) jobs.",
    )
    calibration_period: int | None = key(
        None,
        kind="duration",
        gt=0,
        optional=True,
        doc="Time between the starts of calibration windows; unset means no calibration.",
    )
    calibration_duration: int | None = key(
        None,
        kind="duration",
        gt=0,
        optional=True,
        doc="Length of each calibration window (the QPU accepts no work meanwhile).",
    )
    calibration_offset: int = key(
        "0 s",
        kind="duration",
        min=0,
        doc="Start of the first calibration window.",
    )
    calibration_times: tuple[int, ...] = key(
        (),
        kind="durations",
        min=0,
        doc="Explicit starts of calibration windows (each calibration_duration long), "
        "instead of or besides the periodic ones.",
    )
    failures: FailureModel | None = key(
        None,
        kind="table",
        schema=FailureModel,
        optional=True,
        doc="Random QPU outages; the jobs running on a failing QPU fail (unset: none).",
    )
    error_1q: float = key(
        0.0, kind="float", min=0, max=0.5, doc="Error probability of one single-qubit gate."
    )
    error_2q: float = key(
        0.0, kind="float", min=0, max=0.5, doc="Error probability of one two-qubit gate."
    )
    readout_error: float = key(
        0.0, kind="float", min=0, max=0.5, doc="Error probability of measuring one qubit."
    )
    discipline: str = key(
        "fifo", kind="choice", choices=DISCIPLINES, doc="Queue discipline of the pool."
    )
    link_latency: int = key(
        "1 ms",
        kind="duration",
        min=0,
        doc="Latency of the QPU's link to the switch in the default star network "
        "(same-rack control stack; docs/background/references.md#link-latency).",
    )
    link_bandwidth: float = key(
        "10 Gbps", kind="bandwidth", doc="Bandwidth of that link (assumed Ethernet)."
    )
    fault_tolerance: FaultTolerance | None = key(
        None,
        kind="table",
        schema=FaultTolerance,
        optional=True,
        doc="Make the group fault-tolerant: its jobs run error-corrected, timed and sized by "
        "the fault-tolerant estimate of their logical counts (unset: a physical QPU).",
    )

    @classmethod
    def _expand(cls, raw: Mapping[str, Any], ctx: Ctx) -> Mapping[str, Any]:
        """Fill in a named preset's keys under the ones written in the group (the preset's
        ``fault_tolerance`` table key by key), then a named qubit model's physical keys."""
        name = raw.get("preset")
        if name is not None:
            from hybridsim.presets import QPU_PRESETS
            from hybridsim.schema import suggest

            if not isinstance(name, str) or name not in QPU_PRESETS:
                hint = suggest(name, list(QPU_PRESETS)) if isinstance(name, str) else ""
                raise ctx.child("preset").error(
                    f"unknown preset {name!r}{hint}", "one of " + ", ".join(QPU_PRESETS)
                )
            preset = QPU_PRESETS[name]
            merged = {**preset, **raw}
            if isinstance(preset.get("fault_tolerance"), Mapping) and isinstance(
                raw.get("fault_tolerance"), Mapping
            ):
                merged["fault_tolerance"] = {**preset["fault_tolerance"], **raw["fault_tolerance"]}
            raw = merged
        ft = raw.get("fault_tolerance")
        if not isinstance(ft, Mapping):
            return raw
        if "qubits" not in raw:
            raise ctx.child("qubits").error(
                "missing: a fault-tolerant group needs its number of physical qubits",
                "an integer, e.g. 4000000",
            )
        model = ft.get("qubit_model")
        if isinstance(model, str) and model in FT_QUBIT_MODELS and model != "custom":
            from hybridsim.costs.specs import model_group_keys

            raw = {**model_group_keys(model), **raw}
        return raw

    def _validate(self, ctx: Ctx) -> None:
        _check_name(self.name, ctx.child("name"))
        if self.fault_tolerance is not None:
            _validate_fault_tolerance(self, self.fault_tolerance, ctx)
        period, length = self.calibration_period, self.calibration_duration
        if self.calibration_times and length is None:
            raise ctx.child("calibration_duration").error(
                "missing: calibration_times need a calibration_duration"
            )
        if period is not None and length is None:
            raise ctx.child("calibration_duration").error(
                "missing: calibration needs both a period and a duration"
            )
        if length is not None and period is None and not self.calibration_times:
            raise ctx.child("calibration_period").error(
                "missing: calibration needs a period (or calibration_times) and a duration"
            )
        if period is not None and length is not None and length >= period:
            raise ctx.child("calibration_duration").error(
                "not shorter than calibration_period: the QPU would never be available",
                "a duration shorter than the period",
            )

    @property
    def kind(self) -> str:
        return "qpu"


def _validate_fault_tolerance(g: QpuGroup, spec: FaultTolerance, ctx: Ctx) -> None:
    """A fault-tolerant group's model, code and budget work, and it holds one logical qubit.

    The rule for the qubits: a job's share (``qubits // capacity``) must hold one logical qubit
    at code distance max(3, d₀), d₀ the distance the error budget needs for the smallest
    computation (one logical qubit measured once, laid out as the estimator does).
    """
    from hybridsim.costs import ft
    from hybridsim.costs.specs import QpuSpec, model_group_keys
    from hybridsim.errors import ModelDomainError
    from hybridsim.timebase import format_duration

    fctx = ctx.child("fault_tolerance")
    model = ft.QUBIT_MODELS.get(spec.qubit_model)
    if spec.qec == "floquet_code" and model is not None and model.instruction_set != "majorana":
        raise fctx.child("qec").error(
            f"floquet_code needs a Majorana qubit model; {spec.qubit_model!r} is gate-based",
            "surface_code, or a qubit_maj_* model",
        )
    if spec.qec == "floquet_code" and model is None:
        raise fctx.child("qec").error(
            "floquet_code needs a Majorana qubit model; a custom model is gate-based",
            "surface_code",
        )
    if spec.qubit_model == "custom":
        for k in ("error_1q", "error_2q", "readout_error"):
            if not getattr(g, k) > 0:
                raise ctx.child(k).error(
                    f"{getattr(g, k)!r}: a custom fault-tolerant qubit model needs error rates > 0",
                    "a number > 0 and <= 0.5",
                )
    else:
        own = model_group_keys(spec.qubit_model, ticks=True)
        text = model_group_keys(spec.qubit_model)
        for k, v in own.items():
            have = getattr(g, k)
            if have != v:
                given = format_duration(have, exact=True) if k in _TIME_KEYS else repr(have)
                raise ctx.child(k).error(
                    f"{given} differs from qubit model {spec.qubit_model!r} ({text[k]})",
                    f"{text[k]!r}, or fault_tolerance.qubit_model = 'custom'",
                )
    try:
        qpu = QpuSpec.from_group(g)
    except ModelDomainError as exc:
        # the physical error rate is not below the code's threshold (custom models only)
        worst = max(("error_1q", "error_2q", "readout_error"), key=lambda k: getattr(g, k))
        raise ctx.child(worst).error(str(exc), "a rate below the code's threshold") from None
    try:
        ft.check_model(qpu.qubit_model, qpu.qec)
    except ModelDomainError as exc:
        raise fctx.child("qubit_model").error(str(exc)) from None
    assert qpu.error_budget is not None  # a fault-tolerant spec has one (QpuSpec checks)
    try:
        smallest = ft.estimate(
            {"numQubits": 1, "measurementCount": 1},
            qubit=qpu.qubit_model,
            qec=qpu.qec,
            error_budget=qpu.error_budget,
        )
    except ModelDomainError as exc:
        raise fctx.child("error_budget").error(str(exc), "a larger error budget") from None
    d = max(FT_MIN_DISTANCE, smallest.code_distance)
    need = qpu.qec.physical_qubits(d)
    share = g.qubits // g.capacity
    if share < need:
        per = (
            f"{share} per job ({g.qubits} over capacity {g.capacity})"
            if g.capacity > 1
            else (f"{g.qubits}")
        )
        raise ctx.child("qubits").error(
            f"{per} physical qubits cannot hold one logical qubit: {spec.qec} at code distance "
            f"{d} needs {need}",
            f"at least {need * g.capacity}",
        )


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """The devices of the cluster, in groups."""

    host: str = key(
        "host", kind="str", doc="Name of the network node where jobs originate (the host)."
    )
    gpu: tuple[GpuGroup, ...] = key((), kind="tables", schema=GpuGroup, doc="GPU groups.")
    qpu: tuple[QpuGroup, ...] = key((), kind="tables", schema=QpuGroup, doc="QPU groups.")

    def _validate(self, ctx: Ctx) -> None:
        _check_name(self.host, ctx.child("host"))
        if not self.gpu and not self.qpu:
            raise ctx.error("no devices", "at least one [[cluster.gpu]] or [[cluster.qpu]]")
        seen: dict[str, str] = {}
        for kind, groups in (("gpu", self.gpu), ("qpu", self.qpu)):
            for g in groups:
                if g.name in seen or g.name == self.host or g.name in DEVICE_KINDS:
                    raise (
                        ctx.child(kind)
                        .child(g.name)
                        .child("name")
                        .error(
                            f"name {g.name!r} is already used", "a name unique across the cluster"
                        )
                    )
                seen[g.name] = kind

    @property
    def groups(self) -> tuple[GpuGroup | QpuGroup, ...]:
        """All device groups, GPUs first, in file order."""
        return (*self.gpu, *self.qpu)

    def group(self, name: str) -> GpuGroup | QpuGroup:
        """The group called ``name`` (KeyError if none)."""
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def groups_for(self, pool: str) -> tuple[GpuGroup | QpuGroup, ...]:
        """Groups a job routed to ``pool`` may use: a kind (``gpu``/``qpu``) or one group name."""
        if pool in DEVICE_KINDS:
            return tuple(g for g in self.groups if g.kind == pool)
        return tuple(g for g in self.groups if g.name == pool)


def device_names(group: GpuGroup | QpuGroup) -> list[str]:
    """Names of the devices of ``group``: ``NAME-0`` ... ``NAME-(count-1)``."""
    return [f"{group.name}-{i}" for i in range(group.count)]


# ---------------------------------------------------------------------------------------------
# network


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """A network link between two nodes (full duplex: each direction is its own FIFO)."""

    a: str = key(kind="str", doc="One end: the host, a switch, a device (g-0) or a group (g).")
    b: str = key(kind="str", doc="The other end (same choices as a).")
    latency: int = key("1 us", kind="duration", min=0, doc="Propagation latency.")
    bandwidth: float = key("100 Gbps", kind="bandwidth", doc="Link bandwidth.")


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """The network joining the host and the devices."""

    topology: str = key(
        "star",
        kind="choice",
        choices=("star", "custom"),
        doc="star: host and every device linked to one switch; custom: the links below.",
    )
    switch: str = key("switch", kind="str", doc="Name of the switch of the star topology.")
    host_latency: int = key(
        "2 us", kind="duration", min=0, doc="Latency of the host's link to the star switch."
    )
    host_bandwidth: float = key(
        "200 Gbps", kind="bandwidth", doc="Bandwidth of the host's link to the star switch."
    )
    nodes: tuple[str, ...] = key(
        (), kind="strs", doc="Extra node names (switches, routers) of a custom topology."
    )
    links: tuple[LinkConfig, ...] = key(
        (), kind="tables", schema=LinkConfig, doc="Links of a custom topology."
    )
    link_failures: FailureModel | None = key(
        None,
        kind="table",
        schema=FailureModel,
        optional=True,
        doc="Random outages of every link (both directions); transfers wait for the repair.",
    )

    def _validate(self, ctx: Ctx) -> None:
        _check_name(self.switch, ctx.child("switch"))
        for i, n in enumerate(self.nodes):
            _check_name(n, ctx.child("nodes").child(str(i)))
        if self.topology == "star" and (self.links or self.nodes):
            which = "links" if self.links else "nodes"
            raise ctx.child(which).error(
                'given with topology = "star"', 'topology = "custom" to describe links'
            )
        if self.topology == "custom" and not self.links:
            raise ctx.child("links").error('missing: topology = "custom" needs links')


# ---------------------------------------------------------------------------------------------
# distributions (synthetic workloads)


@dataclass(frozen=True, slots=True)
class ExponentialDist:
    """Exponentially distributed durations (Poisson arrivals when used for inter-arrival times)."""

    dist: str = key("exponential", kind="str", doc="exponential")
    rate_per_s: float | None = key(
        None,
        kind="float",
        min=1e-12,
        max=1e21,
        optional=True,
        unit="1/s",
        doc="Rate (give this or mean_s); its mean 1/rate is a duration (1 zs to 1e12 s).",
    )
    mean_s: int | None = key(
        None, kind="duration", gt=0, optional=True, doc="Mean (give this or rate_per_s)."
    )

    def _validate(self, ctx: Ctx) -> None:
        if (self.rate_per_s is None) == (self.mean_s is None):
            raise ctx.error("give exactly one of rate_per_s and mean_s")


@dataclass(frozen=True, slots=True)
class DeterministicDist:
    """A constant duration."""

    dist: str = key("deterministic", kind="str", doc="deterministic")
    value_s: int | None = key(
        None, kind="duration", min=0, optional=True, doc="The constant (service times)."
    )
    interval_s: int | None = key(
        None, kind="duration", min=0, optional=True, doc="The constant (inter-arrival times)."
    )

    def _validate(self, ctx: Ctx) -> None:
        if (self.value_s is None) == (self.interval_s is None):
            raise ctx.error("give exactly one of value_s and interval_s")


@dataclass(frozen=True, slots=True)
class LognormalDist:
    """Lognormal durations with a given mean and log-space standard deviation."""

    dist: str = key("lognormal", kind="str", doc="lognormal")
    mean_s: int = key(kind="duration", gt=0, doc="Mean of the distribution (not of its log).")
    sigma: float = key(
        1.0,
        kind="float",
        gt=0,
        max=10,
        doc="Standard deviation of the log (beyond 10 nearly all the mean sits in a few "
        "astronomically long samples).",
    )


@dataclass(frozen=True, slots=True)
class ModelDist:
    """Service times from the cost model of the device the job runs on (service only)."""

    dist: str = key("model", kind="str", doc="model")


@dataclass(frozen=True, slots=True)
class TraceDist:
    """Durations replayed from a list, one per job, in order."""

    dist: str = key("trace", kind="str", doc="trace")
    values_s: tuple[int, ...] = key(
        kind="durations", min=0, min_items=1, doc="The durations, one per job."
    )


DISTRIBUTIONS = {
    "exponential": ExponentialDist,
    "deterministic": DeterministicDist,
    "lognormal": LognormalDist,
    "trace": TraceDist,
}
SERVICE_DISTRIBUTIONS = {**DISTRIBUTIONS, "model": ModelDist}
Distribution = ExponentialDist | DeterministicDist | LognormalDist | TraceDist | ModelDist


# ---------------------------------------------------------------------------------------------
# workloads


@dataclass(frozen=True, slots=True)
class SyntheticWorkload:
    """Jobs with explicit arrival and service times, for validating the queueing engine."""

    kind: str = key("synthetic", kind="str", doc="synthetic")
    jobs: int = key(kind="int", min=1, max=10**8, doc="Number of jobs to submit.")
    arrival: Distribution = key(
        kind="union", union=DISTRIBUTIONS, tag="dist", doc="Inter-arrival time distribution."
    )
    service: Distribution = key(
        kind="union",
        union=SERVICE_DISTRIBUTIONS,
        tag="dist",
        doc='Service time distribution; "model" charges the cost model of the device.',
    )
    pool: str | None = key(
        None,
        kind="str",
        optional=True,
        doc='Fixed routing: "gpu", "qpu" (any group of that kind) or a group name; unset: '
        "the scheduler routes every job.",
    )
    kappa: float | None = key(
        None,
        kind="float",
        min=1,
        max=MAX_KAPPA,
        optional=True,
        doc="Condition number of every job's matrix (its estimate too); needed by the "
        "scheduler and by model service times.",
    )
    n: int = key(
        0,
        kind="int",
        min=0,
        max=MAX_MATRIX_N,
        doc="Matrix size, for payload bytes (0: the job carries no data).",
    )
    d: int | None = key(
        None,
        kind="int",
        min=1,
        max=MAX_MATRIX_N,
        optional=True,
        doc="Row sparsity for payload (default n: dense).",
    )
    priorities: tuple[int, ...] = key(
        (0,),
        kind="ints",
        min=-(10**9),
        max=10**9,
        min_items=1,
        doc="Priorities drawn uniformly per job (smaller is served first under 'priority').",
    )

    def _validate(self, ctx: Ctx) -> None:
        for name in ("arrival", "service"):
            dist = getattr(self, name)
            if isinstance(dist, TraceDist) and len(dist.values_s) != self.jobs:
                raise (
                    ctx.child(name)
                    .child("values_s")
                    .error(
                        f"has {len(dist.values_s)} values but workload.jobs = {self.jobs}",
                        "one value per job",
                    )
                )
        if self.d is not None and self.d > max(self.n, 1):
            raise ctx.child("d").error(f"larger than n = {self.n}", "d <= n")
        if isinstance(self.arrival, ModelDist):
            raise (
                ctx.child("arrival")
                .child("dist")
                .error(
                    '"model" is for service times only',
                    "exponential, deterministic, lognormal, trace",
                )
            )
        needs_kappa = isinstance(self.service, ModelDist) or self.pool is None
        if needs_kappa and self.kappa is None:
            why = (
                "the scheduler routes the jobs (pool unset)"
                if self.pool is None
                else "service is modelled"
            )
            raise ctx.child("kappa").error(f"missing: {why}", "a condition number >= 1")
        if isinstance(self.service, ModelDist) and self.n < 1:
            raise ctx.child("n").error("must be >= 1 when service is modelled", "n >= 1")


DATASET_NAMES = ("digits", "wine", "breast_cancer", "iris")
#: Largest curvature block a real (matrix-holding) training run may build: 4096² doubles are
#: 134 MB, and a step holds a few of them (block, shaped copy, factorization).
MAX_BLOCK_N = 4096
BASELINES = ("classical_newton", "sgd", "adam", "kfac")


@dataclass(frozen=True, slots=True)
class MLPWorkload:
    """Real Newton training of a numpy MLP on a bundled dataset (docs/background/training.md)."""

    kind: str = key("mlp", kind="str", doc="mlp")
    dataset: str = key(
        "digits",
        kind="choice",
        choices=DATASET_NAMES,
        doc="Dataset bundled with hybridsim (no download; see docs/background/training.md).",
    )
    hidden: tuple[int, ...] = key(
        (16,),
        kind="ints",
        min=1,
        max=4096,
        doc="Hidden layer sizes ([] is logistic regression).",
    )
    activation: str = key(
        "tanh",
        kind="choice",
        choices=("tanh", "relu", "sigmoid", "identity"),
        doc="Hidden-layer activation.",
    )
    optimizer: str = key(
        "newton",
        kind="choice",
        choices=("newton", "sgd", "adam", "kfac"),
        doc="newton emits solve jobs every step; sgd and adam are first-order baselines; kfac "
        "is Kronecker-factored curvature per layer (Martens & Grosse 2015), computed on the "
        "home GPU.",
    )
    steps: int = key(30, kind="int", min=1, max=10**6, doc="Training steps (one batch each).")
    batch_size: int = key(256, kind="int", min=1, max=10**6, doc="Examples per step.")
    test_fraction: float = key(
        0.25, kind="float", gt=0, max=0.9, doc="Share of the dataset held out for testing."
    )
    curvature: Kind = key(
        "fisher",
        kind="choice",
        choices=("fisher", "gauss_newton"),
        doc="Curvature blocks: empirical Fisher (the paper's code) or exact Gauss-Newton.",
    )
    partition: Partition = key(
        "layer",
        kind="choice",
        choices=("layer", "neuron", "chunk"),
        doc="One block per weight tensor and bias (the paper's), per output neuron, or chunks.",
    )
    chunk_size: int | None = key(
        None,
        kind="int",
        min=1,
        max=MAX_BLOCK_N,
        optional=True,
        doc="Block size for partition = chunk.",
    )
    eps_norm: float = key(
        5e-3,
        kind="float",
        min=1e-12,
        max=1e12,
        doc="Regularization H + eps_norm·(max|H| + damping)·I (the paper's MLP default 5e-3).",
    )
    damping: float = key(
        1e-10, kind="float", min=0, max=1e12, doc="Damping inside the regularization."
    )
    prune_ratio: float = key(
        1.0,
        kind="float",
        gt=0,
        max=1,
        doc="Keep the top floor(r·N) entries per row (1: no pruning).",
    )
    prune_mask: str = key(
        "union",
        kind="choice",
        choices=("union", "intersection"),
        doc="How the row-wise top-k mask is symmetrized.",
    )
    shaping_order: str = key(
        "prune_then_regularize",
        kind="choice",
        choices=("prune_then_regularize", "regularize_then_prune"),
        doc="Order of pruning and regularization (the public code prunes first).",
    )
    lr: float = key(1.0, kind="float", gt=0, max=MAX_STEP_SIZE, doc="Newton step size (beta).")
    clip: float | None = key(
        100.0,
        kind="float",
        gt=0,
        max=1e6,
        optional=True,
        doc="Clip every entry of the Newton direction to [-clip, clip] (the public code's 100).",
    )
    l2: float = key(0.0, kind="float", min=0, max=1e6, doc="L2 penalty added to the loss.")
    sgd_lr: float = key(
        0.1, kind="float", gt=0, max=MAX_STEP_SIZE, doc="Learning rate of the sgd optimizer."
    )
    momentum: float = key(0.9, kind="float", min=0, max=0.999, doc="SGD momentum.")
    adam_lr: float = key(
        0.01, kind="float", gt=0, max=MAX_STEP_SIZE, doc="Learning rate of the adam optimizer."
    )
    kfac_lr: float = key(
        1.0, kind="float", gt=0, max=MAX_STEP_SIZE, doc="Step size of the kfac optimizer."
    )
    kfac_damping: float = key(
        0.1,
        kind="float",
        gt=0,
        max=1e6,
        doc="Tikhonov damping lambda of kfac (sqrt(lambda) split between the two factors).",
    )
    kfac_update_interval: int = key(
        10,
        kind="int",
        min=1,
        max=10**6,
        doc="Steps between refreshes of the kfac factors and their inverses.",
    )
    target_accuracy: float = key(
        0.9,
        kind="float",
        gt=0,
        max=1,
        doc="Test accuracy whose first reach defines time_to_target_s.",
    )
    tenants: int = key(
        1,
        kind="int",
        min=1,
        max=1000,
        doc="Independent trainings sharing the cluster (own seed streams).",
    )
    baselines: tuple[str, ...] = key(
        ("classical_newton", "sgd"),
        kind="strs",
        doc="Extra runs on the same data and seed to compare with: classical_newton "
        "(every solve on GPUs), sgd, adam, kfac.",
    )
    kappa_true: bool = key(
        True,
        kind="bool",
        doc="Compute each shaped block's exact condition number for the records (wall time only).",
    )

    def _validate(self, ctx: Ctx) -> None:
        from hybridsim.workload.datasets import DATASET_SHAPES
        from hybridsim.workload.mlp import MLPSpec, block_sizes

        # first: the block layout below refuses a chunk_size without partition = chunk
        if (self.partition == "chunk") != (self.chunk_size is not None):
            raise ctx.child("chunk_size").error(
                "chunk_size goes with partition = chunk (and only with it)"
            )
        n_in, n_out = DATASET_SHAPES[self.dataset]
        if self.partition != "chunk" or self.chunk_size is not None:
            spec = MLPSpec((n_in, *self.hidden, n_out), self.activation)
            largest = max(block_sizes(spec, self.partition, self.chunk_size))
            if largest > MAX_BLOCK_N:
                raise ctx.child("hidden").error(
                    f"the largest curvature block would be {largest}x{largest} "
                    f"({largest * largest * 8 / 1e9:.1f} GB per matrix per step)",
                    f"blocks of at most {MAX_BLOCK_N} (smaller hidden layers, or partition = "
                    '"neuron" / "chunk"; paper-scale sizes belong in kind = "shapes")',
                )
        for i, b in enumerate(self.baselines):
            if b not in BASELINES:
                from hybridsim.schema import suggest

                raise (
                    ctx.child("baselines")
                    .child(str(i))
                    .error(
                        f"unknown baseline {b!r}{suggest(b, BASELINES)}",
                        "one of " + ", ".join(BASELINES),
                    )
                )


#: Most κ values a replay may hold: the values are part of the resolved scenario (summary.json,
#: scenario.toml, each sweep point), and a real run's steps.csv has one row per step.
MAX_REPLAY_VALUES = 100_000
#: Largest replay file read (a steps.csv row is a few hundred bytes).
MAX_REPLAY_BYTES = 100 * 2**20


@dataclass(frozen=True, slots=True)
class KappaModel:
    """Condition numbers of shape-only blocks over training (docs/background/training.md)."""

    kind: str = key(
        "geometric",
        kind="choice",
        choices=("geometric", "replay"),
        doc="geometric: median drops by total_drop over the run; replay: medians from a "
        "steps.csv (replay) or given inline (values).",
    )
    start: float = key(
        1e5, kind="float", min=1, max=MAX_KAPPA, doc="Median kappa at the first step."
    )
    total_drop: float = key(
        1000.0,
        kind="float",
        min=1,
        max=MAX_KAPPA,
        doc="First / last median (the paper: about 1000x).",
    )
    scatter_sigma: float = key(
        0.5,
        kind="float",
        min=0,
        max=10,
        doc="Per-block lognormal scatter of kappa around the median (log-space sigma).",
    )
    replay: str | None = key(
        None,
        kind="str",
        optional=True,
        doc="steps.csv of a real run for kind = replay: relative to the scenario file, and "
        "inside the scenario's directory tree (after resolving symlinks). Read when the "
        "scenario is loaded: the resolved scenario carries its values instead of the path.",
    )
    replay_column: str = key(
        "kappa_true_median", kind="str", doc="Column of that steps.csv to replay."
    )
    values: tuple[float, ...] | None = key(
        None,
        kind="floats",
        min=1,
        max=MAX_KAPPA,
        min_items=1,
        optional=True,
        doc=f"Medians to replay, spread over the run's steps (at most {MAX_REPLAY_VALUES:,}); "
        "filled from the replay file when one is given.",
    )

    @classmethod
    def _expand(cls, raw: Mapping[str, Any], ctx: Ctx) -> Mapping[str, Any]:
        """Read the replay file now, so a bad path or file is refused before any run."""
        replay = raw.get("replay")
        if not isinstance(replay, str):
            return raw  # absent, or a wrong type the schema reports
        if raw.get("kind", "geometric") != "replay":
            raise ctx.child("replay").error("replay goes with kind = replay (and only with it)")
        if raw.get("values") is not None:
            raise ctx.child("values").error("give either replay or values, not both")
        column = raw.get("replay_column", "kappa_true_median")
        if not isinstance(column, str):
            return raw
        path = replay_path(ctx.file, replay, ctx)
        if path.stat().st_size > MAX_REPLAY_BYTES:
            raise ctx.child("replay").error(
                f"{replay!r} has {path.stat().st_size:,} bytes",
                f"a steps.csv of at most {MAX_REPLAY_BYTES:,} bytes",
            )
        from hybridsim.workload.shapes import load_kappa_replay

        try:
            values = load_kappa_replay(path, column)
        except ScenarioError as exc:
            where = f"column {exc.key!r}: " if exc.key else ""
            raise ctx.child("replay").error(
                f"{replay!r}: {where}{exc.problem}", exc.expected
            ) from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ctx.child("replay").error(
                f"{replay!r} is not a readable CSV text file ({exc})", "a steps.csv of a real run"
            ) from None
        return {k: v for k, v in raw.items() if k != "replay"} | {"values": list(values)}

    @property
    def kappa_start(self) -> float:
        """``start`` under the name :class:`hybridsim.workload.shapes.Trajectory` reads."""
        return self.start

    def _validate(self, ctx: Ctx) -> None:
        if self.kind == "replay" and self.values is None:
            raise ctx.child("replay").error("missing: kind = replay needs a replay file or values")
        if self.kind != "replay" and self.values is not None:
            raise ctx.child("values").error("values go with kind = replay (and only with it)")
        if self.values is not None and len(self.values) > MAX_REPLAY_VALUES:
            raise ctx.child("values").error(
                f"{len(self.values):,} values", f"at most {MAX_REPLAY_VALUES:,}"
            )


@dataclass(frozen=True, slots=True)
class ShapesWorkload:
    """The paper's models as block shapes only: time, not accuracy (no matrices)."""

    kind: str = key("shapes", kind="str", doc="shapes")
    model: str = key(
        "mlp",
        kind="choice",
        choices=("mlp", "bert-tiny", "mistral-tiny"),
        doc="Q-Newton model: MLP-30 on MNIST, BERT-tiny or Mistral-tiny "
        "(docs/background/references.md#qnewton-shapes).",
    )
    epochs: float = key(1.0, kind="float", gt=0, max=10_000, doc="Epochs to simulate.")
    steps: int | None = key(
        None, kind="int", min=1, max=10**7, optional=True, doc="Override the number of steps."
    )
    batch_size: int | None = key(
        None, kind="int", min=1, max=10**6, optional=True, doc="Override the model's batch size."
    )
    prune_ratio: float = key(
        1.0, kind="float", gt=0, max=1, doc="Row sparsity d = max(1, floor(r·N))."
    )
    kappa: KappaModel = key({}, kind="table", schema=KappaModel, doc="[workload.kappa]")
    eps_norm: float | None = key(
        None,
        kind="float",
        gt=0,
        optional=True,
        doc="Relative regularizer eps_norm of the blocks (unset: the model's code default, 5e-3 "
        "mlp, 1 bert-tiny and mistral-tiny); kappa trajectories are clipped at 1 + N/eps_norm.",
    )
    flops_per_example: float | None = key(
        None,
        kind="float",
        min=1,
        max=1e18,
        optional=True,
        doc="Forward+backward flops per example (unset: the model's count, 6 × trainable "
        "parameters × tokens + 4 × frozen head parameters × tokens + attention; 512 tokens per "
        "language-model example).",
    )
    tenants: int = key(
        1, kind="int", min=1, max=1000, doc="Independent trainings sharing the cluster."
    )


WORKLOADS = {"synthetic": SyntheticWorkload, "mlp": MLPWorkload, "shapes": ShapesWorkload}
Workload = SyntheticWorkload | MLPWorkload | ShapesWorkload


# ---------------------------------------------------------------------------------------------
# costs, scheduler, quantum execution

ACCOUNTINGS = ("paper", "paper_unit", "full")
ALGORITHMS = ("jennings", "costa", "hhl")
ORACLES = ("unit", "sparse_access", "structured", "qrom", "select_swap")
READOUTS = ("none", "tomography", "signed_tomography")
CLASSICAL_METHODS = ("lu", "cholesky", "cg", "woodbury", "cg_matrix_free", "auto")
ESTIMATOR_NAMES = ("norm_det", "hager_higham", "lanczos", "exact", "floor")


@dataclass(frozen=True, slots=True)
class CostsConfig:
    """How solve times are predicted and charged (docs/background/costs.md)."""

    accounting: str = key(
        "full",
        kind="choice",
        choices=ACCOUNTINGS,
        doc="paper: queries × gate time only, in the sparse-access form of the Q-Newton paper's "
        "O(d·kappa·log(N·kappa/eps)) (alpha = d, ceil(log2 N) gates per query); paper_unit: the "
        "earlier reading (one gate per query, alpha = 1); full: oracle loading, state "
        "preparation, readout runs, per-job overhead, transfers and link latency.",
    )
    algorithm: str = key(
        "jennings", kind="choice", choices=ALGORITHMS, doc="QLSA query-count model."
    )
    epsilon: float = key(
        0.01,
        kind="float",
        min=1e-12,
        max=0.24,
        doc="Target error of the QLSA output state (and relative tolerance of CG).",
    )
    oracle: str | None = key(
        None,
        kind="choice",
        choices=ORACLES,
        optional=True,
        doc="Override the accounting's oracle model (gates per query).",
    )
    readout: str | None = key(
        None,
        kind="choice",
        choices=READOUTS,
        optional=True,
        doc="Override the accounting's readout model (runs per solve).",
    )
    state_prep: bool | None = key(
        None, kind="bool", optional=True, doc="Override: charge the preparation of |b>."
    )
    charge_transfer: bool | None = key(
        None,
        kind="bool",
        optional=True,
        doc="Override: charge network transfers and link latency for every job "
        "(paper: false, full: true).",
    )
    classical_method: str = key(
        "auto",
        kind="choice",
        choices=CLASSICAL_METHODS,
        doc="Classical solver on GPUs: lu, cholesky (SPD), cg (SPD), woodbury and "
        "cg_matrix_free (low-rank block from its factor), or auto: per block the cheapest "
        "that applies (docs/background/costs.md). A fixed method that does not apply to a "
        "block solves it with lu.",
    )
    block_encoding: str | None = key(
        None,
        kind="choice",
        choices=("ideal", "sparse_access"),
        optional=True,
        doc="Override the accounting's block-encoding normalization: ideal alpha = 1; "
        "sparse_access alpha = d, the bound d·max|a_ij|/||A|| <= d (unset: the accounting's, "
        "sparse_access under paper, ideal otherwise).",
    )
    jennings_success_constant: float = key(
        0.204,
        kind="float",
        gt=0,
        max=1.6,
        doc="c in the success bound 0.39 - c·eps (0.204 in arXiv:2305.11352 v1; "
        "some copies 0.201); at most 1.6 so the bound stays positive for every epsilon.",
    )
    jennings_alpha_power: int = key(
        1,
        kind="int",
        min=1,
        max=2,
        doc="1: the theorem; 2: the Q-Newton code's extra factor alpha.",
    )
    costa_constant: str = key(
        "measured",
        kind="choice",
        choices=("measured", "proven"),
        doc="Costa et al. walk constant: measured 1.84 (arXiv:2312.07690) or proven 2305.",
    )
    kappa_clamp: bool = key(
        True,
        kind="bool",
        doc="Charge kappa below sqrt(12) as sqrt(12) (the Jennings bound's validity limit) "
        "instead of failing the job.",
    )
    ft_backend: str = key(
        "builtin",
        kind="choice",
        choices=("builtin", "qdk"),
        doc="Estimator of fault-tolerant QPUs' jobs: builtin (hybridsim.costs.ft) or qdk (the "
        "Azure Quantum Resource Estimator itself, the optional extra: pip install "
        "'hybridsim[ft]'; whole-nanosecond qubit models only).",
    )

    def _validate(self, ctx: Ctx) -> None:
        if self.ft_backend == "qdk":
            try:
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # its deprecation notice of the old API
                    import qdk.estimator  # noqa: F401
            except ImportError:
                raise ctx.child("ft_backend").error(
                    "'qdk' needs the reference estimator, which is not installed",
                    "pip install 'hybridsim[ft]' (the ft extra, package qdk), or 'builtin'",
                ) from None


SCHEDULER_DOC = (
    "Routing policy: classical_only, quantum_only, qnewton (the paper's rule), "
    "kappa_threshold, earliest_finish, oracle, qnewton_free_kappa (the paper's rule on the true "
    "kappa, estimation not charged), or a registered name."
)


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """Which policy routes solve jobs, and its parameters."""

    policy: str = key("qnewton", kind="str", doc=SCHEDULER_DOC)
    kappa_threshold: float = key(
        1e4,
        kind="float",
        gt=0,
        max=MAX_KAPPA,
        doc="Blocks with estimated kappa above this stay classical (qnewton, kappa_threshold).",
    )
    estimator: str = key(
        "norm_det",
        kind="choice",
        choices=ESTIMATOR_NAMES,
        doc="kappa estimator the workload runs on each block (norm_det is the paper's bound; "
        "floor a certified O(N^2), or O(rN) from the factor, upper bound).",
    )

    def _validate(self, ctx: Ctx) -> None:
        from hybridsim.scheduling.registry import scheduler_names

        names = scheduler_names()
        if self.policy not in names:
            from hybridsim.schema import suggest

            raise ctx.child("policy").error(
                f"unknown policy {self.policy!r}{suggest(self.policy, names)}",
                "one of " + ", ".join(names),
            )


@dataclass(frozen=True, slots=True)
class QuantumConfig:
    """When QPU jobs really run as simulated circuits."""

    execute_max_n: int = key(
        32,
        kind="int",
        min=0,
        max=64,
        doc="QPU jobs with n <= this run as QuTiP-simulated HHL circuits; larger ones are "
        "modelled (0 disables circuit execution).",
    )
    clock_qubits: int | None = key(
        None,
        kind="int",
        min=1,
        max=12,
        optional=True,
        doc="HHL clock register size (unset: chosen from kappa and epsilon).",
    )
    max_clock_qubits: int = key(
        10,
        kind="int",
        min=1,
        max=14,
        doc="Largest clock register the executor builds; a kappa estimate beyond what it "
        "resolves (2·epsilon·2^n) is tuned to that range, and the answer is as inaccurate "
        "as it would be on hardware.",
    )
    shots: int | None = key(
        None,
        kind="int",
        min=2,
        max=10**12,
        optional=True,
        doc="Estimate executed outputs from this many usable (postselected) samples, each "
        "charged 1/p executions (unset: exact state, charged the readout model's runs × 1/p); "
        "at least 2, as half go to the sign-estimation round.",
    )
    amplitude_amplification: bool = key(
        False,
        kind="bool",
        doc="Executed circuits boost their postselection by amplitude amplification "
        "(about pi/(4·sqrt(p)) rounds, each two circuit passes and two reflections) instead "
        "of repeating 1/p times.",
    )


@dataclass(frozen=True, slots=True)
class FaultPolicy:
    """What happens to a job whose attempt failed (device outage or gate/readout errors)."""

    max_attempts: int = key(
        3,
        kind="int",
        min=1,
        max=100,
        doc="Attempts on QPUs (or on the job's pool) before giving up.",
    )
    reroute_after: int = key(
        1,
        kind="int",
        min=1,
        max=100,
        doc="From this many failures on, the scheduler re-decides the job without the devices "
        "it failed on (before that it retries in the same pool).",
    )
    fallback: str = key(
        "classical",
        kind="choice",
        choices=("classical", "fail"),
        doc="After max_attempts: run the job on GPUs (classical) or fail it with its reason.",
    )


# ---------------------------------------------------------------------------------------------
# output


@dataclass(frozen=True, slots=True)
class OutputConfig:
    """What a run records and writes besides the always-written files."""

    queue_levels: bool = key(
        True, kind="bool", doc="Record every change of each pool's queue length (queues.csv)."
    )
    compress: bool = key(
        False,
        kind="bool",
        doc="Write the CSV files gzip-compressed (jobs.csv.gz, intervals.csv.gz, queues.csv.gz, "
        "steps.csv.gz) and trace.json.gz; deterministic (no name or time in the gzip header), "
        "read back as the plain files are (docs/reference/outputs.md#compression).",
    )


# ---------------------------------------------------------------------------------------------
# the scenario


@dataclass(frozen=True, slots=True)
class Scenario:
    """A complete, validated scenario.

    Build one with :func:`load_scenario`; sections are frozen dataclasses. ``source`` is the file
    the scenario came from (``"<dict>"`` for in-memory data) and is not part of :meth:`to_dict`.
    """

    name: str = key("", kind="str", doc="Short name shown in reports.")
    description: str = key("", kind="str", doc="What the scenario is for.")
    seed: int = key(1, kind="seed", doc="Root seed (overridden by run --seed).")
    until: int | None = key(
        None,
        kind="duration",
        gt=0,
        optional=True,
        doc="Stop the simulation at this simulated time (unset: when the workload is done).",
    )
    cluster: ClusterConfig = key({}, kind="table", schema=ClusterConfig, doc="[cluster]")
    network: NetworkConfig = key({}, kind="table", schema=NetworkConfig, doc="[network]")
    workload: Workload = key(
        kind="union", union=WORKLOADS, tag="kind", doc="[workload] (see its kinds)."
    )
    costs: CostsConfig = key({}, kind="table", schema=CostsConfig, doc="[costs]")
    scheduler: SchedulerConfig = key({}, kind="table", schema=SchedulerConfig, doc="[scheduler]")
    quantum: QuantumConfig = key({}, kind="table", schema=QuantumConfig, doc="[quantum]")
    faults: FaultPolicy = key({}, kind="table", schema=FaultPolicy, doc="[faults]")
    output: OutputConfig = key({}, kind="table", schema=OutputConfig, doc="[output]")
    source: str = field(default="<dict>", compare=False)

    def _validate(self, ctx: Ctx) -> None:
        _validate_network(self, ctx)
        _validate_ft_backend(self, ctx)
        wl = self.workload
        if isinstance(wl, SyntheticWorkload) and wl.pool is not None:
            if not self.cluster.groups_for(wl.pool):
                have = ", ".join(g.name for g in self.cluster.groups)
                raise (
                    ctx.child("workload")
                    .child("pool")
                    .error(
                        f"no devices in pool {wl.pool!r} (groups: {have})",
                        '"gpu", "qpu" or a group name that has devices',
                    )
                )
        else:
            _validate_policy_needs(self, ctx)
        if isinstance(wl, MLPWorkload | ShapesWorkload) and not self.cluster.gpu:
            raise (
                ctx.child("cluster")
                .child("gpu")
                .error(
                    "missing: training runs its forward/backward passes on a GPU",
                    "at least one [[cluster.gpu]] group",
                )
            )
        # Last: the size needs a consistent scenario. Refuses what this machine cannot run.
        check_size(self, ctx.file)

    def to_dict(self) -> dict[str, Any]:
        """TOML-ready data; ``load_scenario(s.to_dict()) == s``."""
        return unbuild(self)

    def with_seed(self, seed: int) -> Scenario:
        """The same scenario with another root seed."""
        return dataclasses.replace(self, seed=seed)


def scenario_tree(source: str) -> Path:
    """The directory a scenario's file references must stay inside: its file's directory, or the
    current directory for in-memory data (``"<dict>"``), after resolving symlinks."""
    if source in ("<dict>", "--set", "<defaults>"):
        return Path.cwd().resolve()
    return Path(source).resolve().parent


def replay_path(source: str, replay: str, ctx: Ctx) -> Path:
    """Resolve a file named in a scenario: relative to the file that names it, and inside that
    file's directory tree after resolving symlinks (scenario files are data: they cannot reach
    into the rest of the disk, by ``..``, an absolute path or a symlink)."""
    base = scenario_tree(source)
    if "\x00" in replay or not replay.strip():
        raise ctx.child("replay").error(f"invalid path {replay!r}", "a file name")
    try:
        path = (base / replay).resolve()  # an absolute replay replaces base here
    except (OSError, RuntimeError) as exc:  # a symlink loop, an unreadable component
        raise ctx.child("replay").error(f"cannot resolve {replay!r}: {exc}") from None
    if not path.is_relative_to(base):
        raise ctx.child("replay").error(
            f"path {replay!r} leaves the scenario's directory ({path})",
            f"a file inside {base}",
        )
    try:
        regular = path.is_file()  # a FIFO or device is not: reading it could block
    except OSError as exc:  # e.g. a name too long
        raise ctx.child("replay").error(f"cannot read {replay!r}: {exc.strerror}") from None
    if not regular:
        raise ctx.child("replay").error(f"no such file: {replay!r}", "a steps.csv of a real run")
    return path


def _validate_policy_needs(sc: Scenario, ctx: Ctx) -> None:
    """The scheduler must have a device of every kind its policy routes to."""
    from hybridsim.scheduling.registry import policy_needs

    for kind in sorted(policy_needs(sc.scheduler.policy)):
        if not sc.cluster.groups_for(kind):
            raise (
                ctx.child("scheduler")
                .child("policy")
                .error(
                    f"policy {sc.scheduler.policy!r} routes jobs to {kind.upper()}s "
                    "but the cluster "
                    f"has no [[cluster.{kind}]] group",
                    f"a [[cluster.{kind}]] group or another policy",
                )
            )


def _validate_ft_backend(sc: Scenario, ctx: Ctx) -> None:
    """The qdk backend takes whole nanoseconds: every fault-tolerant group's durations must be."""
    if sc.costs.ft_backend != "qdk":
        return
    from hybridsim.timebase import TICKS_PER_SECOND

    ns = TICKS_PER_SECOND // 10**9
    for g in sc.cluster.qpu:
        if g.fault_tolerance is None:
            continue
        for k in ("gate_time_1q", "gate_time_2q", "measure_time"):
            if getattr(g, k) % ns:
                raise (
                    ctx.child("cluster")
                    .child("qpu")
                    .child(g.name)
                    .child(k)
                    .error(
                        "not a whole number of nanoseconds, which costs.ft_backend = 'qdk' needs",
                        "whole nanoseconds, or costs.ft_backend = 'builtin'",
                    )
                )


def _validate_network(sc: Scenario, ctx: Ctx) -> None:
    net, cluster = sc.network, sc.cluster
    known = {cluster.host}
    for g in cluster.groups:
        known.add(g.name)
        known.update(device_names(g))
    if net.topology == "star":
        if net.switch in known:
            raise (
                ctx.child("network")
                .child("switch")
                .error(f"name {net.switch!r} is already used by the cluster")
            )
        return
    for i, n in enumerate(net.nodes):
        if n in known:
            raise (
                ctx.child("network")
                .child("nodes")
                .child(str(i))
                .error(f"name {n!r} is already used by the cluster")
            )
    known.update(net.nodes)
    for i, link in enumerate(net.links):
        for end in ("a", "b"):
            node = getattr(link, end)
            if node not in known:
                raise (
                    ctx.child("network")
                    .child("links")
                    .child(str(i))
                    .child(end)
                    .error(
                        f"unknown node {node!r}",
                        "the host, a node from network.nodes, a device or a group name",
                    )
                )


# ---------------------------------------------------------------------------------------------
# loading and overrides


#: Largest scenario or sweep file read (the largest bundled one is a few kB).
MAX_FILE_BYTES = 64 * 2**20

_LIMITS_HINT = (
    f"at most {tomlio.MAX_NESTING} levels of nested tables and arrays, integers of at most "
    "4300 digits"
)


def load_raw(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning every I/O or syntax problem into a one-line ScenarioError."""
    file = str(path)
    try:
        # stat first: reading a FIFO or a device would block or never end
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise ScenarioError(file, "", f"cannot read file: {what}", "a TOML file")
        if info.st_size > MAX_FILE_BYTES:
            raise ScenarioError(
                file,
                "",
                f"file too large ({info.st_size:,} bytes)",
                f"a TOML file of at most {MAX_FILE_BYTES:,} bytes",
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(file, "", f"cannot read file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(file, "", "not a text file (invalid UTF-8)", "a TOML file") from None
    try:
        return tomlio.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(file, "", f"invalid TOML: {exc}") from None
    except tomlio.TomlLimitError as exc:
        raise ScenarioError(file, "", f"beyond the parser's limits: {exc}", _LIMITS_HINT) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key.path=value``; the value is a TOML literal, or a bare string if it is not one.

    Values are data, never code: ``tomllib`` parses them, nothing is evaluated.

    Examples
    --------
    >>> parse_override("cluster.qpu.q.count=4")
    ('cluster.qpu.q.count', 4)
    >>> parse_override("scheduler.policy=qnewton")
    ('scheduler.policy', 'qnewton')
    """
    if "=" not in text:
        raise ScenarioError("--set", text, "missing '='", "key.path=value")
    path, value_text = text.split("=", 1)
    path = path.strip()
    if not path or any(not part for part in path.split(".")):
        raise ScenarioError("--set", path, "empty key path", "key.path=value")
    try:
        value = tomlio.loads(f"v = {value_text}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()
    except tomlio.TomlLimitError as exc:
        raise ScenarioError(
            "--set", path, f"beyond the parser's limits: {exc}", _LIMITS_HINT
        ) from None
    return path, value


def apply_override(raw: dict[str, Any], path: str, value: Any, file: str) -> None:
    """Set ``path`` in raw scenario data, addressing array-of-table entries by their ``name``.

    Raises
    ------
    ScenarioError
        If the path walks through a non-table value or names an array entry that does not exist.
    """
    parts = path.split(".")
    cur: Any = raw
    walked: list[str] = []
    for part in parts[:-1]:
        walked.append(part)
        if isinstance(cur, list):
            matches = [t for t in cur if isinstance(t, Mapping) and t.get("name") == part]
            if not matches:
                names = ", ".join(str(t.get("name")) for t in cur if isinstance(t, Mapping))
                raise ScenarioError(
                    file,
                    ".".join(walked),
                    f"no entry named {part!r} (set on the command line)",
                    f"one of: {names}" if names else "an existing entry",
                )
            cur = matches[0]
        elif isinstance(cur, dict):
            nxt = cur.get(part)
            if nxt is None:
                nxt = cur[part] = {}
            elif not isinstance(nxt, dict | list):
                raise ScenarioError(
                    file, ".".join(walked), "is not a table (set on the command line)"
                )
            cur = nxt
        else:  # pragma: no cover - guarded by the isinstance checks above
            raise ScenarioError(file, ".".join(walked), "is not a table")
    if not isinstance(cur, dict):
        raise ScenarioError(file, path, "cannot set an array entry itself; name a key inside it")
    cur[parts[-1]] = value


def load_scenario(
    scenario: str | Path | Mapping[str, Any] | Scenario,
    overrides: Iterable[str | tuple[str, Any]] = (),
    *,
    source: str | Path | None = None,
) -> Scenario:
    """Load, override and validate a scenario.

    Parameters
    ----------
    scenario : path, mapping or Scenario
        A TOML file, raw data shaped like one, or an existing Scenario (re-validated through its
        :meth:`~Scenario.to_dict` when overrides are given).
    overrides : iterable of str or (path, value)
        ``"key.path=value"`` strings (as given to ``--set``) or already parsed pairs.
    source : path, optional
        For a mapping: the file it was read from. Errors name it, and files the scenario
        references (``workload.kappa.replay``) resolve against it and must lie inside its
        directory tree. Without it a mapping is ``"<dict>"`` and references resolve against,
        and must lie inside, the current directory.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        One line naming the file and key path of the first problem found.
    """
    overrides = list(overrides)
    if isinstance(scenario, Scenario):
        if not overrides:
            return scenario
        file, raw = scenario.source, scenario.to_dict()
    elif isinstance(scenario, Mapping):
        file = "<dict>" if source is None else str(source)
        try:
            tomlio.check_depth(scenario)
        except tomlio.TomlLimitError as exc:
            raise ScenarioError(file, "", str(exc), _LIMITS_HINT) from None
        raw = _deep_copy(scenario)
    else:
        file, raw = str(scenario), load_raw(scenario)
        _refuse_sweep_file(file, raw)
    for item in overrides:
        path, value = parse_override(item) if isinstance(item, str) else item
        apply_override(raw, path, value, file)
    built = build(Scenario, raw, Ctx(file))
    return dataclasses.replace(built, source=file)


#: Top-level keys of a sweep file (hybridsim.sweep.spec); a file with ``base`` and only these is
#: a sweep, whatever else is wrong with it.
_SWEEP_KEYS = frozenset({"name", "description", "base", "seeds", "factors", "set", "options"})


def _refuse_sweep_file(file: str, raw: Mapping[str, Any]) -> None:
    """A sweep file given where a scenario is expected: say so, and name the command."""
    if "base" in raw and set(raw) <= _SWEEP_KEYS:
        raise ScenarioError(
            file,
            "",
            "this is a sweep file (it has a base scenario), not a scenario",
            f"a scenario file; run sweeps with: hybridsim sweep {file} --out DIR",
        )


def _deep_copy(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_deep_copy(v) for v in data]
    return data
