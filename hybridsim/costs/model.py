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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

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


#: Bound on memoized predictions; the cache is dropped when it grows past this.
_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class CostModel:
    """Cost predictions under one ``[costs]`` configuration.

    Predictions are memoized on their exact inputs (group, n, d, κ, α): a scheduler's prediction
    and the executor's charge for the same job are computed once, and :meth:`prime` fills the
    memo for a whole training step with one vectorized call (the formulas cost ~0.5 ms per
    scalar call in numpy, ~1 µs per element vectorized). Nothing is approximated.

    Parameters
    ----------
    config : CostsConfig
        The scenario's ``[costs]`` section.
    """

    config: Any
    _memo: dict = field(default_factory=dict, compare=False, repr=False)
    _acc: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # The accounting with overrides is read on every prediction: resolve it once.
        object.__setattr__(self, "_acc", self._resolve_accounting())

    def _resolve_accounting(self) -> Accounting:
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
    def accounting(self) -> Accounting:
        """The accounting preset with the scenario's overrides applied."""
        return self._acc

    @property
    def charges_transfer(self) -> bool:
        """Whether the simulation moves payloads over the network (else transfers take 0)."""
        return self._acc.charge_transfer

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

    def _classical_arrays(self, n, d, kappa, gpu: Any):
        return classical_solve_time(
            self.config.classical_method,
            n,
            d,
            kappa,
            self.config.epsilon,
            tflops=gpu.tflops,
            launch_latency_s=to_seconds(gpu.launch_latency),
            mem_bandwidth_Bps=gpu.memory_bandwidth,
        )

    def _quantum_arrays(self, n, d, kappa, qpu: Any, alpha, queries=None):
        cfg = self.config
        return qlsa_cost(
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
            alpha=alpha,
            job_overhead_s=to_seconds(qpu.job_overhead),
            jennings_success_constant=cfg.jennings_success_constant,
            jennings_alpha_power=cfg.jennings_alpha_power,
            costa_constant=cfg.costa_constant,
            clamp=cfg.kappa_clamp,
            queries=queries,
        )

    def _remember(self, key: tuple, value: ServiceEstimate) -> ServiceEstimate:
        if len(self._memo) >= _CACHE_LIMIT:
            self._memo.clear()
        self._memo[key] = value
        return value

    @staticmethod
    def _classical_estimate(c, i=None) -> ServiceEstimate:
        total = float(c.total_s if i is None else c.total_s[i])
        return ServiceEstimate("classical", total, total)

    @staticmethod
    def _quantum_estimate(c, i=None) -> ServiceEstimate:
        def g(x):
            return float(x if i is None else x[i])

        return ServiceEstimate(
            "quantum",
            g(c.total_s),
            g(c.compute_s),
            g(c.state_prep_s),
            g(c.readout_s),
            g(c.overhead_s),
            g(c.queries),
            g(c.runs),
            g(c.n_qubits),
        )

    def classical(self, n: int, d: int, kappa: float | None, gpu: Any) -> ServiceEstimate:
        """Service of a classical solve on one node of GPU group ``gpu``."""
        key = ("c", gpu.name, n, d, kappa)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        return self._remember(
            key, self._classical_estimate(self._classical_arrays(n, d, kappa, gpu))
        )

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
        alpha = self.alpha(d, job_alpha)
        key = ("q", qpu.name, n, d, kappa, alpha, queries)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        c = self._quantum_arrays(n, d, kappa, qpu, alpha, queries)
        return self._remember(key, self._quantum_estimate(c))

    def prime(self, n, d, kappa, groups) -> None:
        """Predict many solves at once (vectorized) so later scalar calls hit the memo.

        Parameters
        ----------
        n, d, kappa : sequences of equal length
            The jobs about to be submitted (κ may contain None for classical-only use).
        groups : iterable of GpuGroup / QpuGroup
            The groups the jobs may be predicted on.
        """
        n_l, d_l, k_l = list(n), list(d), list(kappa)
        if not n_l:
            return
        for grp in groups:
            if grp.kind == "gpu":
                # CG's iteration count needs a finite κ: other entries are left to scalar calls
                idx = [
                    i
                    for i, k in enumerate(k_l)
                    if self.config.classical_method != "cg" or (k is not None and np.isfinite(k))
                ]
                if not idx:
                    continue
                kk = [k_l[i] if k_l[i] is not None else 1.0 for i in idx]
                c = self._classical_arrays(
                    np.array([n_l[i] for i in idx]),
                    np.array([d_l[i] for i in idx]),
                    np.array(kk, dtype=float),
                    grp,
                )
                for j, i in enumerate(idx):
                    key = ("c", grp.name, n_l[i], d_l[i], k_l[i])
                    self._remember(key, self._classical_estimate(c, j))
            else:
                idx = [
                    i for i, k in enumerate(k_l) if k is not None and np.isfinite(k) and k < 1e300
                ]
                if not idx:
                    continue
                alphas = [self.alpha(d_l[i], None) for i in idx]
                with np.errstate(over="ignore", invalid="ignore"):
                    c = self._quantum_arrays(
                        np.array([n_l[i] for i in idx]),
                        np.array([d_l[i] for i in idx]),
                        np.array([k_l[i] for i in idx], dtype=float),
                        grp,
                        np.array(alphas),
                    )
                for j, i in enumerate(idx):
                    key = ("q", grp.name, n_l[i], d_l[i], k_l[i], alphas[j], None)
                    self._remember(key, self._quantum_estimate(c, j))

    def service(
        self, n: int, d: int, kappa: float | None, group: Any, job_alpha: float | None = None
    ) -> ServiceEstimate:
        """Service on ``group`` (dispatching on its kind)."""
        if group.kind == "gpu":
            return self.classical(n, d, kappa, group)
        if kappa is None:
            raise ValueError("a quantum cost needs a condition number")
        return self.quantum(n, d, kappa, group, job_alpha=job_alpha)
