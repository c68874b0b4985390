"""The run's cost model: predicted service time of a solve on a device group.

Binds the scenario's ``[costs]`` section to the pure formulas of :mod:`hybridsim.costs.classical`
and :mod:`hybridsim.costs.quantum`. Schedulers call it with the estimated κ̂ to *predict*; the
simulation calls it with the true κ (when known) to charge the *actual* service of modelled jobs,
so a poor κ estimate shows up as prediction error, as it would on a real cluster.

Device groups (the scenario's ``GpuGroup`` / ``QpuGroup``, durations in ticks) become typed
specs (:class:`~hybridsim.costs.specs.GpuSpec`, :class:`~hybridsim.costs.specs.QpuSpec`, in
seconds) once per group, at the model boundary; the formulas only ever see specs.

A fault-tolerant QPU group (``fault_tolerance`` set) is priced by the fault-tolerant layer instead
of gate times: the job's logical counts per solve (:mod:`hybridsim.costs.logical`, under the
accounting's oracle, readout and state preparation) are estimated on the group's qubit model,
QEC scheme and error budget (:mod:`hybridsim.costs.ft`, or the reference estimator with
``costs.ft_backend = "qdk"``); the service is the estimated runtime and the footprint its
physical qubits. On every QPU group a job whose footprint exceeds its share of the QPU's qubits
is *refused* (``ServiceEstimate.refusal``): policies route around the group, and an executor
made to run it there fails the attempt with that reason.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from typing import Any, NamedTuple, TypeVar

import numpy as np

from hybridsim.costs import ft, logical
from hybridsim.costs.classical import (
    CG_METHODS,
    DENSE_METHODS,
    FACTOR_METHODS,
    METHODS,
    ClassicalForm,
    classical_solve_time,
    method_costs,
    solve_payload_bytes,
)
from hybridsim.costs.quantum import ACCOUNTING, Accounting, qlsa_cost
from hybridsim.costs.specs import GpuSpec, QpuSpec
from hybridsim.errors import ModelDomainError

__all__ = ["ServiceEstimate", "CostModel", "REFUSALS"]

#: Why a QPU group cannot run a job (``ServiceEstimate.refusal``, a job's ``fail_reason``).
#: ``insufficient_qubits``: its footprint exceeds the QPU's qubits per job; ``code_distance``:
#: no code distance up to the scheme's maximum meets the error budget (the estimator refused);
#: ``estimator_limit``: counts beyond what the reference estimator takes (2^64, qdk backend).
REFUSALS = ("insufficient_qubits", "code_distance", "estimator_limit")


class ServiceEstimate(NamedTuple):
    """Predicted (or charged) service of one solve on one device group, in seconds.

    ``total_s = compute_s + state_prep_s + readout_s + overhead_s + assembly_s``; network
    transfers are charged by the simulation separately. ``method`` is the classical method
    (``lu``, ``woodbury``...) that was priced; ``assembly_s`` the part of a classical service
    spent forming the dense block from its factor first.

    QPU estimates also carry the job's size on the device: ``logical_qubits`` (its logical
    counts' ``numQubits``, the algorithm's and the oracle's registers before any layout) and
    ``physical_qubits`` (the qubits it occupies: the logical ones on a physical QPU, the
    estimate's on a fault-tolerant one, factories included); on a fault-tolerant group also
    ``t_count`` (T states consumed per solve), ``code_distance`` and ``failure_probability``
    (the estimate's bound, at most the budget). ``refusal`` names why the group cannot run
    the job (one of :data:`REFUSALS`), empty when it can.

    A ``NamedTuple`` (immutable, like the run's records): a shape run builds one per job and
    group, and a frozen dataclass paid one ``object.__setattr__`` per field (2 µs for these 17,
    a tenth of a shape run's per-job time; a NamedTuple made from a tuple takes 0.2 µs).
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
    method: str | None = None
    assembly_s: float = 0.0
    logical_qubits: int | None = None
    physical_qubits: int | None = None
    t_count: int | None = None
    code_distance: int | None = None
    failure_probability: float | None = None
    refusal: str = ""


_new_estimate = partial(tuple.__new__, ServiceEstimate)


def _estimates(count: int, **columns: Any) -> list[ServiceEstimate]:
    """``count`` estimates from columns by field name: a list holds one value per estimate,
    anything else is every estimate's value; missing fields take their defaults.

    Made from plain tuples (``tuple.__new__``, what a NamedTuple's constructor ends in) in one
    pass over the columns: the primed path builds an estimate per job and group."""
    unknown = columns.keys() - set(ServiceEstimate._fields)
    if unknown:
        raise TypeError(f"not ServiceEstimate fields: {sorted(unknown)}")
    defaults = ServiceEstimate._field_defaults
    cols: list[Any] = []
    for name in ServiceEstimate._fields:
        value = columns[name] if name in columns else defaults[name]
        if isinstance(value, list):
            if len(value) != count:
                raise ValueError(f"column {name!r} has {len(value)} values, expected {count}")
            cols.append(value)
        else:
            cols.append(repeat(value, count))
    return list(map(_new_estimate, zip(*cols, strict=True)))


_V = TypeVar("_V")

#: Bound on memoized predictions; the cache is dropped when it grows past this.
_CACHE_LIMIT = 200_000
#: The QLSA cost fields a quantum :class:`ServiceEstimate` takes from the cost arrays.
_QUANTUM_FIELDS = (
    "total_s",
    "compute_s",
    "state_prep_s",
    "readout_s",
    "overhead_s",
    "queries",
    "runs",
    "n_qubits",
)


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
    _specs: dict = field(default_factory=dict, compare=False, repr=False)
    _static: dict = field(default_factory=dict, compare=False, repr=False)
    _ideal: bool = field(default=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # The accounting with overrides is read on every prediction: resolve it once.
        object.__setattr__(self, "_acc", self._resolve_accounting())
        object.__setattr__(self, "_ideal", self._acc.block_encoding == "ideal")

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
        if cfg.block_encoding is not None:
            changes["block_encoding"] = cfg.block_encoding
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
        """Relative block-encoding normalization α/‖A‖ for the accounting's block encoding
        (``costs.block_encoding`` overrides it): 1 when ideal, else the job's α or d."""
        if self._ideal:
            return 1.0
        return float(job_alpha) if job_alpha is not None else float(d)

    def gpu_spec(self, group: Any) -> GpuSpec:
        """The :class:`GpuSpec` of a GPU group (built once per group name)."""
        key = ("gpu", group.name)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = GpuSpec.from_group(group)
        return spec

    def qpu_spec(self, group: Any) -> QpuSpec:
        """The :class:`QpuSpec` of a QPU group (built once per group name)."""
        key = ("qpu", group.name)
        spec = self._specs.get(key)
        if spec is None:
            spec = self._specs[key] = QpuSpec.from_group(group)
        return spec

    def gpu_kernel_s(self, gpu: Any, flops: float, nbytes: float = 0.0, calls: int = 1) -> float:
        """Roofline time of a local kernel on one node of GPU group ``gpu``: max(flops / rate,
        bytes / bandwidth) + calls × launch latency."""
        spec = self.gpu_spec(gpu)
        compute = flops / (spec.tflops * 1e12)
        memory = nbytes / spec.mem_bandwidth_Bps
        return max(compute, memory) + calls * spec.launch_latency_s

    def _classical_arrays(self, n, d, kappa, gpu: Any):
        """Legacy pricing (a job without structure): the configured method on a dense block
        that exists; ``auto`` and the factor methods price ``lu``, the one method that applies
        to an arbitrary matrix."""
        method = self.config.classical_method
        if method == "auto" or method in FACTOR_METHODS:
            method = "lu"
        return classical_solve_time(
            method, n, d, kappa, self.config.epsilon, gpu=self.gpu_spec(gpu)
        )

    def _choose_arrays(
        self, n, d, kappa, rank, spd, assembled, factored, gpu: Any, static_key=None
    ):
        """The configured method (or ``auto``'s choice) for blocks with structure, vectorized.

        Returns (methods, totals, assembly_s) as arrays. A fixed method that does not apply to a
        block (or a CG method without a κ for it) prices ``lu`` instead; ``auto`` takes the
        cheapest applicable method. The same code serves the scalar and the primed paths, so
        their numbers agree bit for bit. ``static_key`` names a set of blocks whose κ-free
        method costs (everything but CG) may be reused from an earlier call: a shape run's
        blocks are the same every step, only their κ changes.
        """
        spec = self.gpu_spec(gpu)
        eps = self.config.epsilon
        kw = dict(rank=rank, spd=spd, assembled=assembled, factored=factored)
        method = self.config.classical_method
        wanted = METHODS if method == "auto" else tuple(dict.fromkeys((method, "lu")))
        fixed = tuple(m for m in wanted if m not in CG_METHODS)
        static = self._static.get(static_key) if static_key is not None else None
        if static is None:
            static = method_costs(n, d, kappa, eps, gpu=spec, methods=fixed, **kw)
            if static_key is not None:
                if len(self._static) >= 64:
                    self._static.clear()
                self._static[static_key] = static
        iterative = tuple(m for m in wanted if m in CG_METHODS)
        dynamic = method_costs(n, d, kappa, eps, gpu=spec, methods=iterative, **kw)
        costs = {m: static[m] if m in static else dynamic[m] for m in wanted}
        if method == "auto":
            # cheapest() on the two fields a prediction needs (the same minimum, fewer stacks).
            totals = np.stack(
                np.broadcast_arrays(*(np.asarray(costs[m].total_s, float) for m in wanted))
            )
            idx = np.argmin(totals, axis=0)  # first minimum: METHODS order breaks ties
            asm = np.stack(
                np.broadcast_arrays(*(np.asarray(costs[m].assembly_s, float) for m in wanted))
            )
            pick = idx[None, ...]
            names = np.asarray(np.asarray(wanted)[idx])
            return (
                names,
                np.take_along_axis(totals, pick, axis=0)[0],
                np.take_along_axis(asm, pick, axis=0)[0],
            )
        t_m = np.asarray(costs[method].total_s, float)
        t_lu = np.asarray(costs["lu"].total_s, float)
        ok = np.isfinite(t_m)
        names = np.where(ok, method, "lu")
        totals = np.where(ok, t_m, t_lu)
        asm = np.where(
            ok, np.asarray(costs[method].assembly_s, float), np.asarray(costs["lu"].assembly_s)
        )
        return names, totals, asm

    def _quantum_arrays(self, n, d, kappa, qpu: Any, alpha, queries=None):
        cfg = self.config
        return qlsa_cost(
            n,
            d,
            kappa,
            cfg.epsilon,
            accounting=self.accounting,
            qpu=self.qpu_spec(qpu),
            algorithm=cfg.algorithm,
            alpha=alpha,
            jennings_success_constant=cfg.jennings_success_constant,
            jennings_alpha_power=cfg.jennings_alpha_power,
            costa_constant=cfg.costa_constant,
            clamp=cfg.kappa_clamp,
            queries=queries,
        )

    def _remember(self, key: tuple, value: _V) -> _V:
        # The memo holds predictions, fault-tolerant estimates (or refusals) and qubit counts.
        if len(self._memo) >= _CACHE_LIMIT:
            self._memo.clear()
        self._memo[key] = value
        return value

    @staticmethod
    def _classical_estimate(c, i=None) -> ServiceEstimate:
        total = float(c.total_s if i is None else c.total_s[i])
        return ServiceEstimate("classical", total, total, method=c.method)

    @staticmethod
    def _chosen_estimate(names, totals, asm, i=None) -> ServiceEstimate:
        def g(x):
            return x[()] if i is None else x[i]

        total, assembly = float(g(totals)), float(g(asm))
        return ServiceEstimate(
            "classical", total, total - assembly, method=str(g(names)), assembly_s=assembly
        )

    @staticmethod
    def _quantum_estimate(c, i=None, logical_qubits=None, job_qubits=math.inf) -> ServiceEstimate:
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
            logical_qubits=logical_qubits,
            physical_qubits=logical_qubits,
            refusal=_footprint_refusal(logical_qubits, job_qubits),
        )

    def logical_qubits(self, n: int, d: int, kappa: float | None) -> int:
        """The job's logical qubits under the accounting's oracle (memoized): its logical counts'
        ``numQubits`` (:func:`hybridsim.costs.logical.qlsa_logical_qubits`; HHL needs κ)."""
        hhl = self.config.algorithm == "hhl"
        key = ("lq", n, d, kappa if hhl else None)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = logical.qlsa_logical_qubits(
                self.config.algorithm, self._acc.oracle, n, d, kappa, self.config.epsilon
            )
        return hit

    def oracle_cost(self, n: int, d: int) -> logical.OracleCost:
        """Non-Clifford cost and registers of one query under the accounting's oracle."""
        return logical.oracle_cost(self._acc.oracle, n, d)

    def _logical_counts(self, n, d, kappa, alpha) -> logical.LogicalCounts:
        cfg, acc = self.config, self._acc
        return logical.qlsa_logical_counts(
            cfg.algorithm,
            acc.oracle,
            int(n),
            int(d),
            float(kappa),
            cfg.epsilon,
            acc.readout,
            alpha=float(alpha),
            state_prep=acc.state_prep,
            jennings_success_constant=cfg.jennings_success_constant,
            costa_constant=cfg.costa_constant,
            clamp=cfg.kappa_clamp,
        )

    def fault_tolerant(
        self,
        qpu: Any,
        counts: dict[str, int],
        *,
        runs: float,
        queries: float | None = None,
        n_qubits: float | None = None,
    ) -> ServiceEstimate:
        """Service of logical ``counts`` (a whole solve) on one QPU of fault-tolerant group ``qpu``.

        The estimate (memoized on the counts) gives the time (its runtime, plus ``runs /
        max_shots`` jobs' overhead where the accounting charges it), the footprint (its physical
        qubits), the code distance, the T states and the failure probability. ``runs``,
        ``queries`` and ``n_qubits`` are reported as they are (runs of the readout, queries per
        run, the circuit's qubits). An estimate the estimator refuses is a refusal
        (``code_distance`` or ``estimator_limit``) with an infinite time.
        """
        spec = self.qpu_spec(qpu)
        if not spec.fault_tolerant:
            raise ValueError(f"QPU group {qpu.name!r} is not fault-tolerant")
        key = tuple(int(counts.get(k, 0)) for k in ft.COUNT_KEYS)
        mkey = ("ft", qpu.name, key)
        e = self._memo.get(mkey)
        if e is None:
            e = self._remember(mkey, self._estimate(spec, counts))
        return self._ft_estimate(e, key[0], spec, runs, queries, n_qubits)

    def _estimate(self, spec: QpuSpec, counts) -> ft.FtEstimate | str:
        """The estimate of one count set, or the refusal when the estimator refuses it."""
        backend = self.config.ft_backend
        assert spec.error_budget is not None  # a fault-tolerant spec has one (QpuSpec checks)
        if backend == "qdk" and max(counts.values()) > ft.U64_MAX:
            return "estimator_limit"
        try:
            return ft.estimate(
                counts,
                qubit=spec.qubit_model,
                qec=spec.qec,
                error_budget=spec.error_budget,
                backend=backend,
            )
        except ModelDomainError:
            return "code_distance"

    def _ft_estimate(self, e, num_qubits, spec, runs, queries, n_qubits) -> ServiceEstimate:
        if isinstance(e, str):  # refused
            return ServiceEstimate(
                "quantum",
                math.inf,
                math.inf,
                queries=queries,
                runs=runs,
                n_qubits=n_qubits,
                logical_qubits=num_qubits,
                refusal=e,
            )
        overhead = 0.0
        if self._acc.charge_job_overhead:
            overhead = math.ceil(runs / spec.max_shots_per_job - 1e-9) * spec.job_overhead_s
        runtime = e.runtime_s
        return ServiceEstimate(
            "quantum",
            runtime + overhead,
            runtime,
            overhead_s=overhead,
            queries=queries,
            runs=runs,
            n_qubits=n_qubits,
            logical_qubits=num_qubits,
            physical_qubits=e.physical_qubits,
            t_count=e.t_states,
            code_distance=e.code_distance,
            failure_probability=e.failure_probability,
            refusal=_footprint_refusal(e.physical_qubits, spec.job_qubits),
        )

    def _ft_quantum(self, n, d, kappa, qpu, alpha) -> ServiceEstimate:
        """A modelled job on a fault-tolerant group: its logical counts per solve, estimated."""
        c = self._logical_counts(n, d, kappa, alpha)
        return self.fault_tolerant(
            qpu,
            c.per_solve(),
            runs=float(c.readout_runs),
            queries=c.queries / c.success_probability,
            n_qubits=float(c.num_qubits),
        )

    def classical(
        self,
        n: int,
        d: int,
        kappa: float | None,
        gpu: Any,
        *,
        form: ClassicalForm | None = None,
    ) -> ServiceEstimate:
        """Service of a classical solve on one node of GPU group ``gpu``.

        ``form`` is the block's structure (:class:`~hybridsim.costs.classical.ClassicalForm`):
        with it, ``auto`` picks the cheapest applicable method and a fixed method that does not
        apply falls back to ``lu``; ``n`` and ``d`` are then those of the form. Without it the
        block is an arbitrary dense matrix (see :meth:`_classical_arrays`). The priced method is
        ``ServiceEstimate.method``.
        """
        key = ("c", gpu.name, n, d, kappa, form)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        if form is None:
            return self._remember(
                key, self._classical_estimate(self._classical_arrays(n, d, kappa, gpu))
            )
        names, totals, asm = self._choose_arrays(
            form.n,
            form.d,
            np.nan if kappa is None else kappa,
            np.nan if form.rank is None else form.rank,
            form.spd,
            form.assembled,
            form.factored,
            gpu,
        )
        return self._remember(key, self._chosen_estimate(names, totals, asm))

    def classical_for(self, job: Any, gpu: Any, *, true_kappa: bool = False) -> ServiceEstimate:
        """Predicted service of ``job``'s classical route on GPU group ``gpu``.

        A job with a ``structure`` is priced on its classical form (the unpruned block) with that
        form's κ: the estimate, or the true value when ``true_kappa`` (the oracle policy). A job
        without one is priced on its matrix with ``job.kappa_est`` (``kappa_true`` when asked).
        """
        s = job.structure
        if s is None:
            k = job.kappa_true if true_kappa and job.kappa_true is not None else job.kappa_est
            return self.classical(job.n, job.d, k, gpu)
        k = s.kappa_true if true_kappa and s.kappa_true is not None else s.kappa_est
        f = s.form
        # the memo lookup of classical(), inline: every decision (and GPU charge) comes here
        hit = self._memo.get(("c", gpu.name, f.n, f.d, k, f))
        return hit if hit is not None else self.classical(f.n, f.d, k, gpu, form=f)

    def classical_charge(self, job: Any, gpu: Any) -> ServiceEstimate:
        """What a GPU of group ``gpu`` is charged for ``job``: the method the prediction chose
        (from the estimate, as a real executor must choose it), priced with the true κ where it
        is known (it matters for the CG methods only)."""
        pred = self.classical_for(job, gpu)
        s = job.structure
        k_true = s.kappa_true if s is not None else job.kappa_true
        if pred.method not in CG_METHODS or k_true is None:
            return pred
        if s is None:
            return self.classical(job.n, job.d, k_true, gpu)
        key = ("c!", gpu.name, pred.method, k_true, s.form)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        f = s.form
        c = method_costs(
            f.n,
            f.d,
            k_true,
            self.config.epsilon,
            gpu=self.gpu_spec(gpu),
            rank=f.rank,
            spd=f.spd,
            assembled=f.assembled,
            factored=f.factored,
            methods=(pred.method,),
        )[pred.method]
        total, assembly = float(c.total_s), float(c.assembly_s)
        est = ServiceEstimate(
            "classical", total, total - assembly, method=pred.method, assembly_s=assembly
        )
        return self._remember(key, est)

    def classical_payload_bytes(self, form: ClassicalForm, method: str) -> int:
        """Bytes a GPU job on this block moves in: the factor U when ``method`` works from it or
        must assemble the block on the device, else the existing matrix (plus b either way:
        :func:`~hybridsim.costs.classical.solve_payload_bytes`)."""
        ships_factor = form.rank is not None and (
            method in FACTOR_METHODS or (method in DENSE_METHODS and not form.assembled)
        )
        rank = form.rank if ships_factor else None
        return int(solve_payload_bytes(form.n, form.d, factor_rank=rank))

    def quantum(
        self,
        n: int,
        d: int,
        kappa: float | None,
        qpu: Any,
        *,
        job_alpha: float | None = None,
        queries: float | None = None,
    ) -> ServiceEstimate:
        """Service of a QLSA solve on one QPU of group ``qpu``.

        ``queries`` replaces the algorithm's query count (e.g. counted from a built circuit; not
        on a fault-tolerant group, which counts logical operations: see
        :meth:`fault_tolerant`). On a fault-tolerant group the job's logical counts per solve are
        estimated (see the module docstring); on every group the estimate carries the job's
        qubits and a refusal when they exceed the QPU's share per job. A κ that is None or
        infinite has no QLSA cost (``ModelDomainError``).
        """
        alpha = self.alpha(d, job_alpha)
        key = ("q", qpu.name, n, d, kappa, alpha, queries)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        spec = self.qpu_spec(qpu)
        if spec.fault_tolerant:
            if queries is not None:
                raise ValueError("queries= does not apply to a fault-tolerant QPU group")
            return self._remember(key, self._ft_quantum(n, d, kappa, qpu, alpha))
        c = self._quantum_arrays(n, d, kappa, qpu, alpha, queries)
        lq = self.logical_qubits(n, d, kappa)
        return self._remember(key, self._quantum_estimate(c, None, lq, spec.job_qubits))

    def cached_quantum(
        self,
        n: int,
        d: int,
        kappa: float,
        qpu: Any,
        *,
        job_alpha: float | None = None,
        queries: float | None = None,
    ) -> ServiceEstimate | None:
        """What :meth:`quantum` would return, when it is memoized already; else None (nothing
        is computed). Lets a hot caller skip the numpy error-state setup a computation needs."""
        # (α as :meth:`alpha` gives it, inline: two lookups per job come here)
        a = 1.0 if self._ideal else float(job_alpha) if job_alpha is not None else float(d)
        return self._memo.get(("q", qpu.name, n, d, kappa, a, queries))

    def _prime_forms(self, forms, kappas, grp) -> list[ServiceEstimate]:
        """The classical half of :meth:`prime` for jobs with structure; returns the estimates
        in job order.

        Each distinct (form, κ) is priced once: a shape run's blocks whose κ trajectory is
        clipped at its bound repeat the same κ every step (85 % of BERT-tiny's block-steps),
        and an estimate is a pure function of them (numpy gives an element the same bits
        whatever else the array holds)."""
        rows = list(zip(forms, kappas, strict=True))
        first: dict[tuple, int] = {}
        pos = [first.setdefault(r, len(first)) for r in rows]
        if len(first) == len(rows):
            return self._prime_distinct_forms(forms, kappas, grp)
        ests = self._prime_distinct_forms([f for f, _ in first], [k for _, k in first], grp)
        return list(map(ests.__getitem__, pos))

    def _prime_distinct_forms(self, forms, kappas, grp) -> list[ServiceEstimate]:
        """:meth:`_prime_forms` of distinct (form, κ) pairs."""
        f_l = tuple(forms)
        static_key = ("methods", grp.name, f_l)  # not ("columns", f_l): a group may be "columns"
        columns = self._static.get(("columns", f_l))
        if columns is None:
            columns = self._static[("columns", f_l)] = (
                np.array([f.n for f in f_l], dtype=float),
                np.array([f.d for f in f_l], dtype=float),
                np.array([np.nan if f.rank is None else f.rank for f in f_l], dtype=float),
                np.array([f.spd for f in f_l], dtype=bool),
                np.array([f.assembled for f in f_l], dtype=bool),
                np.array([f.factored for f in f_l], dtype=bool),
                [f.n for f in f_l],  # the memo keys' n and d
                [f.d for f in f_l],
            )
        n, d, rank, spd, assembled, factored, n_l, d_l = columns
        if None in kappas:
            k = np.array([np.nan if x is None else x for x in kappas], dtype=float)
        else:
            k = np.array(kappas, dtype=float)
        names, totals, asm = self._choose_arrays(
            n, d, k, rank, spd, assembled, factored, grp, static_key
        )
        compute = (totals - asm).tolist()  # what ``total - assembly`` gives per element
        ests = _estimates(
            len(f_l),
            route="classical",
            total_s=totals.tolist(),
            compute_s=compute,
            method=names.tolist(),
            assembly_s=asm.tolist(),
        )
        memo = self._memo  # (room made by prime)
        m = len(f_l)
        keys = zip(repeat("c", m), repeat(grp.name, m), n_l, d_l, kappas, f_l, strict=True)
        memo.update(zip(keys, ests, strict=True))
        return ests

    def prime(
        self, n, d, kappa, groups, *, forms=None, classical_kappa=None
    ) -> dict[str, list[ServiceEstimate]]:
        """Predict many solves at once (vectorized) so later scalar calls hit the memo.

        Parameters
        ----------
        n, d, kappa : sequences of equal length
            The jobs about to be submitted (κ may contain None for classical-only use).
        groups : iterable of GpuGroup / QpuGroup
            The groups the jobs may be predicted on.
        forms : sequence of ClassicalForm, optional
            The jobs' classical forms: the GPU predictions are then those of
            :meth:`classical` with ``form=`` and κ from ``classical_kappa``.
        classical_kappa : sequence, optional
            κ of each classical form (default ``kappa``).

        Returns
        -------
        dict
            With ``forms``: each GPU group's estimates, in job order, by group name (what
            :meth:`classical` with ``form=`` returns for them); otherwise empty.
        """
        n_l, d_l, k_l = list(n), list(d), list(kappa)
        primed: dict[str, list[ServiceEstimate]] = {}
        if not n_l:
            return primed
        groups = list(groups)
        # Room for everything this call adds (at most two entries per job and group), made
        # before any of it is added: a clear between the GPU and the QPU halves dropped the
        # GPU estimates just primed, and each was then recomputed alone.
        if len(self._memo) + 2 * len(n_l) * len(groups) >= _CACHE_LIMIT:
            self._memo.clear()
        for grp in groups:
            if grp.kind == "gpu" and forms is not None:
                ck = list(classical_kappa) if classical_kappa is not None else k_l
                primed[grp.name] = self._prime_forms(forms, ck, grp)
            elif grp.kind == "gpu":
                # CG's iteration count needs a finite κ: other entries are left to scalar calls
                idx = [
                    i
                    for i, k in enumerate(k_l)
                    if (k is not None and np.isfinite(k))
                    or self.config.classical_method not in CG_METHODS
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
                    ckey = ("c", grp.name, n_l[i], d_l[i], k_l[i], None)
                    self._remember(ckey, self._classical_estimate(c, j))
            elif self.qpu_spec(grp).fault_tolerant:
                self._prime_fault_tolerant(n_l, d_l, k_l, grp)
            else:
                self._prime_quantum(n_l, d_l, k_l, grp)
        return primed

    def _prime_quantum(self, n_l: list, d_l: list, k_l: list, grp: Any) -> None:
        """The gate-model QPU half of :meth:`prime`: one vectorized QLSA cost for the jobs with
        a finite κ, memoized as :meth:`quantum` would (the same arrays' elements, the same
        logical qubits and refusals, which do not depend on κ except for HHL's clock). Each
        distinct (n, d, κ) is priced once (see :meth:`_prime_forms`)."""
        distinct = dict.fromkeys(zip(n_l, d_l, k_l, strict=True))
        if len(distinct) < len(k_l):
            n_l, d_l, k_l = (list(column) for column in zip(*distinct, strict=True))
        ka = np.array(k_l, dtype=float) if None not in k_l else None
        if ka is not None and np.isfinite(ka).all() and max(k_l) < 1e300:
            n_s, d_s, k_s = n_l, d_l, k_l  # every job has a usable κ (a shape run's steps)
        else:
            idx = [i for i, k in enumerate(k_l) if k is not None and math.isfinite(k) and k < 1e300]
            if not idx:
                return
            n_s, d_s, k_s = [n_l[i] for i in idx], [d_l[i] for i in idx], [k_l[i] for i in idx]
            ka = np.array(k_s, dtype=float)
        m = len(k_s)
        alphas = [1.0] * m if self._ideal else [float(d) for d in d_s]  # alpha(d, None)
        with np.errstate(over="ignore", invalid="ignore"):
            c = self._quantum_arrays(np.array(n_s), np.array(d_s), ka, grp, np.array(alphas))
        # Each field as a list of Python floats once (float(x[i]) per field and job was most
        # of a primed step's time); the values are the same.
        total, compute, prep, readout, overhead, queries, runs, qubits = (
            np.broadcast_to(np.asarray(getattr(c, f), dtype=float), (m,)).tolist()
            for f in _QUANTUM_FIELDS
        )
        # Logical qubits per distinct (n, d), or (n, d, κ) for HHL, whose clock reads κ; each
        # computed in job order, so an error is raised for the first job it concerns.
        hhl = self.config.algorithm == "hhl"
        size_keys = list(zip(n_s, d_s, k_s if hhl else repeat(None, m), strict=True))
        qubits_of = dict.fromkeys(size_keys)
        for key in qubits_of:
            qubits_of[key] = self.logical_qubits(*key)
        lq = list(map(qubits_of.__getitem__, size_keys))
        job_qubits = self.qpu_spec(grp).job_qubits
        refusal_of = {q: _footprint_refusal(q, job_qubits) for q in set(lq)}
        ests = _estimates(
            m,
            route="quantum",
            total_s=total,
            compute_s=compute,
            state_prep_s=prep,
            readout_s=readout,
            overhead_s=overhead,
            queries=queries,
            runs=runs,
            n_qubits=qubits,
            logical_qubits=lq,
            physical_qubits=lq,
            refusal=list(map(refusal_of.__getitem__, lq)),
        )
        memo = self._memo  # (room made by prime)
        name = grp.name
        keys = zip(
            repeat("q", m), repeat(name, m), n_s, d_s, k_s, alphas, repeat(None, m), strict=True
        )
        memo.update(zip(keys, ests, strict=True))

    def _prime_fault_tolerant(self, n_l, d_l, k_l, grp) -> None:
        """The fault-tolerant half of :meth:`prime`: the jobs' count sets estimated together
        (:func:`hybridsim.costs.ft.estimate_many`, once per distinct set)."""
        spec = self.qpu_spec(grp)
        todo: dict[tuple, tuple] = {}
        for n, d, k in zip(n_l, d_l, k_l, strict=True):
            if k is None or not math.isfinite(k):
                continue
            alpha = self.alpha(d, None)
            if ("q", grp.name, n, d, k, alpha, None) in self._memo:
                continue
            try:
                c = self._logical_counts(n, d, k, alpha)
            except ModelDomainError:
                continue  # left to the scalar call, which raises it to its caller
            todo[(n, d, k, alpha)] = (c, c.per_solve())
        fresh: dict[tuple, dict] = {}
        for _c, counts in todo.values():
            key = tuple(counts[k] for k in ft.COUNT_KEYS)
            if ("ft", grp.name, key) not in self._memo:
                fresh[key] = counts
        if fresh and self.config.ft_backend == "builtin":
            assert spec.error_budget is not None  # a fault-tolerant spec has one (QpuSpec checks)
            keys = list(fresh)
            estimates: Sequence[ft.FtEstimate | str]
            try:
                estimates = ft.estimate_many(
                    [fresh[k] for k in keys],
                    qubit=spec.qubit_model,
                    qec=spec.qec,
                    error_budget=spec.error_budget,
                )
            except ModelDomainError:
                estimates = [self._estimate(spec, fresh[k]) for k in keys]  # find the refused
            for k, e in zip(keys, estimates, strict=True):
                self._remember(("ft", grp.name, k), e)
        for (n, d, k, alpha), (c, counts) in todo.items():
            est = self.fault_tolerant(
                grp,
                counts,
                runs=float(c.readout_runs),
                queries=c.queries / c.success_probability,
                n_qubits=float(c.num_qubits),
            )
            self._remember(("q", grp.name, n, d, k, alpha, None), est)

    def service(
        self, n: int, d: int, kappa: float | None, group: Any, job_alpha: float | None = None
    ) -> ServiceEstimate:
        """Service on ``group`` (dispatching on its kind)."""
        if group.kind == "gpu":
            return self.classical(n, d, kappa, group)  # a bare matrix: no structure known
        if kappa is None:
            raise ValueError("a quantum cost needs a condition number")
        return self.quantum(n, d, kappa, group, job_alpha=job_alpha)


def _footprint_refusal(qubits: int | None, job_qubits: float) -> str:
    """``insufficient_qubits`` when a job of ``qubits`` does not fit in the QPU's share."""
    return "insufficient_qubits" if qubits is not None and qubits > job_qubits else ""
