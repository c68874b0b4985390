"""Device specs: what the cost models know about a GPU and a QPU, in seconds and SI units.

A scenario group (``[[cluster.gpu]]``, ``[[cluster.qpu]]``) holds durations in exact ticks and
everything else a run needs (counts, queues, faults); a spec holds only what the pure cost models
read, converted once. :meth:`GpuSpec.from_group` and :meth:`QpuSpec.from_group` are the one
mapping from a group to a spec: the run's :class:`~hybridsim.costs.model.CostModel`, the
executors, the break-even figures of sweeps and the study all go through them.

Specs are frozen and validated when built, so the models that take them
(:func:`hybridsim.costs.classical.classical_solve_time`, :func:`hybridsim.costs.quantum.qlsa_cost`,
:func:`hybridsim.costs.breakeven.break_even`) do not re-check device numbers on every call.
New device properties are added as fields with defaults, read from the group in ``from_group``:
a QPU's qubits per job and, for a fault-tolerant QPU, its physical qubit model, QEC scheme and
error budget per job (:class:`QpuSpec`).

Examples
--------
>>> gpu = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=1.5e12)
>>> qpu = QpuSpec(gate_time_1q_s=32e-9, gate_time_2q_s=84e-9, measure_time_s=1.56e-6,
...               reset_time_s=250e-6, max_shots_per_job=1e5)
>>> round(qpu.gate_time_ratio_1q, 4)
0.381
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, fields
from typing import Any

from hybridsim.errors import ModelDomainError
from hybridsim.timebase import to_seconds

__all__ = ["GpuSpec", "QpuSpec", "model_group_keys"]


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """A GPU (or CPU) as the classical cost model sees it.

    Parameters
    ----------
    tflops : float
        Sustained rate in TFLOP/s (> 0).
    launch_latency_s : float
        Fixed cost per library call (>= 0).
    mem_bandwidth_Bps : float
        Memory bandwidth in bytes/s (> 0; ``inf`` ignores the memory side of the roofline).

    Raises
    ------
    ModelDomainError
        A value outside the ranges above.
    """

    tflops: float
    launch_latency_s: float
    mem_bandwidth_Bps: float = math.inf

    def __post_init__(self) -> None:
        if not (self.tflops > 0 and self.launch_latency_s >= 0 and self.mem_bandwidth_Bps > 0):
            raise ModelDomainError("need tflops > 0, launch_latency_s >= 0, mem_bandwidth_Bps > 0")

    @classmethod
    def from_group(cls, group: Any) -> GpuSpec:
        """The spec of one node of a scenario's GPU group (a ``GpuGroup``; durations in ticks)."""
        return cls(
            tflops=float(group.tflops),
            launch_latency_s=to_seconds(group.launch_latency),
            mem_bandwidth_Bps=float(group.memory_bandwidth),
        )


@dataclass(frozen=True, slots=True)
class QpuSpec:
    """A QPU as the quantum cost model sees it.

    Parameters
    ----------
    gate_time_1q_s, gate_time_2q_s : float
        Single- and two-qubit gate times (finite, >= 0).
    measure_time_s, reset_time_s : float
        Paid once per run when the accounting has a readout (finite, >= 0).
    max_shots_per_job : float
        Runs one job may hold (>= 1); a solve needs ⌈runs / max_shots_per_job⌉ jobs.
    job_overhead_s : float
        Fixed cost per job, charged when the accounting says so (finite, >= 0).
    link_latency_s, link_bandwidth_Bps : float
        The QPU's own network link (latency >= 0, bandwidth > 0), charged by the break-even
        helpers when the accounting charges link latency or transfers.
    job_qubits : float
        Physical qubits one job may occupy: the QPU's qubits shared equally among the jobs it
        runs at once (``qubits // capacity`` of the group; >= 1, ``inf`` for no limit). A job
        needing more cannot run on the QPU.
    qubit_model : hybridsim.costs.ft.QubitModel, optional
        Set for a fault-tolerant QPU: its physical qubit model. Its jobs then take the time and
        the physical qubits of :func:`hybridsim.costs.ft.estimate` on their logical counts
        (``qec`` and ``error_budget`` are then required).
    qec : hybridsim.costs.ft.QecScheme, optional
        The QEC scheme, resolved for the qubit model.
    error_budget : float, optional
        Probability of failure allowed per job, in (0, 1).

    Raises
    ------
    ModelDomainError
        A value outside the ranges above.
    """

    gate_time_1q_s: float
    gate_time_2q_s: float
    measure_time_s: float
    reset_time_s: float
    max_shots_per_job: float
    job_overhead_s: float = 0.0
    link_latency_s: float = 0.0
    link_bandwidth_Bps: float = math.inf
    job_qubits: float = math.inf
    qubit_model: Any = None
    qec: Any = None
    error_budget: float | None = None

    def __post_init__(self) -> None:
        for name in (
            "gate_time_1q_s",
            "gate_time_2q_s",
            "measure_time_s",
            "reset_time_s",
            "job_overhead_s",
        ):
            v = getattr(self, name)
            if not (v >= 0 and math.isfinite(v)):
                raise ModelDomainError(f"{name} must be finite and >= 0, got {v}")
        if not self.max_shots_per_job >= 1:
            raise ModelDomainError(f"max_shots_per_job must be >= 1, got {self.max_shots_per_job}")
        if not (self.link_latency_s >= 0 and self.link_bandwidth_Bps > 0):
            raise ModelDomainError("need link_latency_s >= 0, link_bandwidth_Bps > 0")
        if not self.job_qubits >= 1:
            raise ModelDomainError(f"job_qubits must be >= 1, got {self.job_qubits}")
        if self.qubit_model is not None:
            if self.qec is None or self.error_budget is None:
                raise ModelDomainError("a fault-tolerant QPU needs qec and error_budget")
            if not 0.0 < self.error_budget < 1.0:
                raise ModelDomainError(f"error_budget must be in (0, 1), got {self.error_budget}")
        elif self.qec is not None or self.error_budget is not None:
            raise ModelDomainError("qec and error_budget need a qubit_model (fault tolerance)")

    @property
    def fault_tolerant(self) -> bool:
        """Whether the QPU runs its jobs error-corrected (a qubit model is set)."""
        return self.qubit_model is not None

    @property
    def gate_time_ratio_1q(self) -> float:
        """t_1q / t_2q, the ratio the break-even helpers hold fixed while t_2q varies."""
        if not self.gate_time_2q_s > 0:
            raise ModelDomainError("the gate-time ratio needs gate_time_2q_s > 0")
        return self.gate_time_1q_s / self.gate_time_2q_s

    @classmethod
    def from_group(cls, group: Any) -> QpuSpec:
        """The spec of one QPU of a scenario's QPU group (a ``QpuGroup``; durations in ticks)."""
        return cls(
            gate_time_1q_s=to_seconds(group.gate_time_1q),
            gate_time_2q_s=to_seconds(group.gate_time_2q),
            measure_time_s=to_seconds(group.measure_time),
            reset_time_s=to_seconds(group.reset_time),
            max_shots_per_job=float(group.max_shots),
            job_overhead_s=to_seconds(group.job_overhead),
            link_latency_s=to_seconds(group.link_latency),
            link_bandwidth_Bps=float(group.link_bandwidth),
            job_qubits=float(group.qubits // group.capacity),
            **_fault_tolerance(group),
        )


def model_group_keys(qubit_model: str, *, ticks: bool = False) -> dict[str, Any]:
    """The physical keys of a QPU group that a named fault-tolerant qubit model sets.

    Gate-based models: ``gate_time_1q``, ``gate_time_2q``, ``measure_time`` and the error rates
    ``error_1q``, ``error_2q``, ``readout_error`` of their gates and measurement. Majorana
    models have no gates: the one-qubit "gate" is their T gate, the two-qubit one their joint
    measurement (times and process error rates), the readout error their readout rate. In the
    file representation (``"50 ns"``) or, with ``ticks``, as a built group holds them.

    Examples
    --------
    >>> model_group_keys("qubit_gate_ns_e3")["gate_time_2q"]
    '50 ns'
    """
    from hybridsim.costs import ft
    from hybridsim.timebase import format_duration

    m = ft.qubit_model(qubit_model)
    if m.instruction_set == "gate_based":
        times = (m.one_qubit_gate_time, m.two_qubit_gate_time, m.one_qubit_measurement_time)
        rates = (
            m.one_qubit_gate_error_rate,
            m.two_qubit_gate_error_rate,
            m.one_qubit_measurement_error_rate,
        )
    else:
        times = (m.t_gate_time, m.two_qubit_joint_measurement_time, m.one_qubit_measurement_time)
        rates = (
            m.one_qubit_measurement_error_rate,
            m.two_qubit_joint_measurement_error_rate,
            m.readout_error_rate,
        )
    out: dict[str, Any] = {}
    for name, t in zip(("gate_time_1q", "gate_time_2q", "measure_time"), times, strict=True):
        out[name] = int(t) if ticks else format_duration(int(t), exact=True)
    for name, r in zip(("error_1q", "error_2q", "readout_error"), rates, strict=True):
        out[name] = float(r)
    return out


def _fault_tolerance(group: Any) -> dict[str, Any]:
    """The FT fields of a QPU group's spec: none for a group without ``fault_tolerance``.

    A named qubit model is the estimator's (:data:`hybridsim.costs.ft.QUBIT_MODELS`); ``custom``
    is a gate-based model of the group's own physical numbers: one- and two-qubit gate times and
    error rates, measurement time and readout error rate, T gates as long as one-qubit gates
    with error ``t_error`` (or the one-qubit gate error), idle errors at the readout rate (the
    estimator's default rule).
    """
    spec = getattr(group, "fault_tolerance", None)
    if spec is None:
        return {}
    from hybridsim.costs import ft

    if spec.qubit_model == "custom":
        model = ft.QubitModel(
            f"{group.name}_custom",
            "gate_based",
            one_qubit_measurement_time=int(group.measure_time),
            one_qubit_gate_time=int(group.gate_time_1q),
            two_qubit_gate_time=int(group.gate_time_2q),
            one_qubit_measurement_error_rate=float(group.readout_error),
            one_qubit_gate_error_rate=float(group.error_1q),
            two_qubit_gate_error_rate=float(group.error_2q),
            t_gate_error_rate=float(group.error_1q if spec.t_error is None else spec.t_error),
        )
    else:
        model = ft.qubit_model(spec.qubit_model)
    return {
        "qubit_model": model,
        "qec": ft.qec_scheme(spec.qec, model),
        "error_budget": float(spec.error_budget),
    }


#: Keyword arguments the cost functions took before the specs, by spec (deprecated).
GPU_KEYWORDS = ("tflops", "launch_latency_s", "mem_bandwidth_Bps")
QPU_KEYWORDS = (
    "gate_time_1q_s",
    "gate_time_2q_s",
    "measure_time_s",
    "reset_time_s",
    "max_shots_per_job",
    "job_overhead_s",
    "link_latency_s",
    "link_bandwidth_Bps",
)


def _spec_from_keywords(
    func: str,
    cls: type,
    argument: str,
    given: Any,
    legacy: dict[str, Any],
    keys: tuple[str, ...],
    *,
    fill: dict[str, Any] | None = None,
) -> tuple[Any, list[str]]:
    """Deprecation shim (one release): the spec passed as ``argument``, or one built from the
    old keyword arguments in ``legacy`` (popped from it); also the old keywords it used.

    ``fill`` supplies fields the old signature did not take (the break-even helpers had no gate
    times). The caller warns once for all of them (:func:`_warn_deprecated`).
    """
    old = {k: legacy.pop(k) for k in keys if k in legacy}
    if given is not None:
        if old:
            raise TypeError(
                f"{func}() got {argument}= and the keywords it replaces: {', '.join(old)}"
            )
        return given, []
    if not old:
        raise TypeError(f"{func}() missing required keyword argument {argument!r}")
    have = {**(fill or {}), **old}
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in have]
    if missing:  # say it as the old signature did
        raise TypeError(f"{func}() missing required keyword arguments: {missing}")
    return cls(**have), list(old)


def _warn_deprecated(func: str, used: list[str], replacement: str, stacklevel: int) -> None:
    """One DeprecationWarning for a call that used the old device keywords ``used``."""
    if not used:
        return
    import warnings

    warnings.warn(
        f"{func}({', '.join(f'{k}=' for k in used)}...) is deprecated and will be removed in the "
        f"next release: pass {replacement} (hybridsim.costs.specs)",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )


def _no_unknown_keywords(func: str, legacy: dict[str, Any]) -> None:
    if legacy:
        raise TypeError(f"{func}() got an unexpected keyword argument {next(iter(legacy))!r}")
