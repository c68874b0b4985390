"""The run's cost model: predicted service time of a solve on a device group.

Binds the scenario's ``[costs]`` section to the pure formulas of :mod:`hybridsim.costs.classical`
and :mod:`hybridsim.costs.quantum`. Schedulers call it with the estimated κ̂ to *predict*; the
simulation calls it with the true κ (when known) to charge the *actual* service of modelled jobs,
so a poor κ estimate shows up as prediction error, as it would on a real cluster.

Device groups are read duck-typed (GPU: ``tflops``, ``launch_latency``, ``memory_bandwidth``;
QPU: gate, measurement and reset times, ``max_shots``, ``job_overhead``), durations in ticks,
converted to seconds here at the model boundary.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hybridsim.costs.classical import classical_solve_time
from hybridsim.costs.quantum import ACCOUNTING, Accounting, qlsa_cost
from hybridsim.timebase import to_seconds

__all__ = ["ServiceEstimate", "CostModel"]


@dataclass(frozen=True, slots=True)
class ServiceEstimate:
    """Predicted (or charged) service of one solve on one device group, in seconds.

    ``total_s = compute_s + state_prep_s + readout_s + overhead_s``; network transfers are
    charged by the simulation separately.
    """

    route: str
    total_s: float
    compute_s: float
    state_prep_s: float = 0.0
    readout_s: float = 0.0
    overhead_s: float = 0.0
    queries: float | None = None
    runs: float | None = None
    n_qubits: float | None = None


@dataclass(frozen=True, slots=True)
class CostModel:
    """Cost predictions under one ``[costs]`` configuration.

    Parameters
    ----------
    config : CostsConfig
        The scenario's ``[costs]`` section.
    """

    config: Any

    @property
    def accounting(self) -> Accounting:
        """The accounting preset with the scenario's overrides applied."""
        cfg = self.config
        acc = ACCOUNTING[cfg.accounting]
        changes: dict[str, Any] = {}
        if cfg.oracle is not None:
            changes["oracle"] = cfg.oracle
        if cfg.readout is not None:
            changes["readout"] = cfg.readout
        if cfg.state_prep is not None:
            changes["state_prep"] = cfg.state_prep
        if cfg.charge_transfer is not None:
            changes["charge_transfer"] = cfg.charge_transfer
            changes["charge_link_latency"] = cfg.charge_transfer
        if changes:
            acc = dataclasses.replace(acc, name=f"{acc.name}+overrides", **changes)
        return acc

    @property
    def charges_transfer(self) -> bool:
        """Whether the simulation moves payloads over the network (else transfers take 0)."""
        return self.accounting.charge_transfer

    def alpha(self, d: int, job_alpha: float | None) -> float:
        """Relative block-encoding normalization α/‖A‖ for the configured block encoding."""
        if self.config.block_encoding == "ideal":
            return 1.0
        return float(job_alpha) if job_alpha is not None else float(d)

    @staticmethod
    def gpu_kernel_s(gpu: Any, flops: float, nbytes: float = 0.0, calls: int = 1) -> float:
        """Roofline time of a local kernel on one node of ``gpu``: max(flops / rate,
        bytes / bandwidth) + calls × launch latency."""
        compute = flops / (gpu.tflops * 1e12)
        memory = nbytes / gpu.memory_bandwidth
        return max(compute, memory) + calls * to_seconds(gpu.launch_latency)

    def classical(self, n: int, d: int, kappa: float | None, gpu: Any) -> ServiceEstimate:
        """Service of a classical solve on one node of GPU group ``gpu``."""
        c = classical_solve_time(
            self.config.classical_method,
            n,
            d,
            kappa,
            self.config.epsilon,
            tflops=gpu.tflops,
            launch_latency_s=to_seconds(gpu.launch_latency),
            mem_bandwidth_Bps=gpu.memory_bandwidth,
        )
        return ServiceEstimate("classical", float(c.total_s), float(c.total_s))

    def quantum(
        self,
        n: int,
        d: int,
        kappa: float,
        qpu: Any,
        *,
        job_alpha: float | None = None,
        queries: float | None = None,
    ) -> ServiceEstimate:
        """Service of a QLSA solve on one QPU of group ``qpu``.

        ``queries`` replaces the algorithm's query count (e.g. counted from a built circuit).
        """
        cfg = self.config
        c = qlsa_cost(
            n,
            d,
            kappa,
            cfg.epsilon,
            accounting=self.accounting,
            algorithm=cfg.algorithm,
            gate_time_1q_s=to_seconds(qpu.gate_time_1q),
            gate_time_2q_s=to_seconds(qpu.gate_time_2q),
            measure_time_s=to_seconds(qpu.measure_time),
            reset_time_s=to_seconds(qpu.reset_time),
            max_shots_per_job=qpu.max_shots,
            alpha=self.alpha(d, job_alpha),
            job_overhead_s=to_seconds(qpu.job_overhead),
            jennings_success_constant=cfg.jennings_success_constant,
            jennings_alpha_power=cfg.jennings_alpha_power,
            costa_constant=cfg.costa_constant,
            clamp=cfg.kappa_clamp,
            queries=queries,
        )
        return ServiceEstimate(
            "quantum",
            float(c.total_s),
            float(c.compute_s),
            float(c.state_prep_s),
            float(c.readout_s),
            float(c.overhead_s),
            float(c.queries),
            float(c.runs),
            float(c.n_qubits),
        )

    def service(
        self, n: int, d: int, kappa: float | None, group: Any, job_alpha: float | None = None
    ) -> ServiceEstimate:
        """Service on ``group`` (dispatching on its kind)."""
        if group.kind == "gpu":
            return self.classical(n, d, kappa, group)
        if kappa is None:
            raise ValueError("a quantum cost needs a condition number")
        return self.quantum(n, d, kappa, group, job_alpha=job_alpha)
