"""Training-step processes: the workloads that emit Hessian-block solve jobs.

One SimPy process per tenant. A Newton step of the real MLP workload:

1. forward/backward pass over the batch on the tenant's home GPU (time from its FLOPs);
2. the curvature *factors* of the batch (per-sample rows U with block = U·Uᵀ), charged every
   step; the dense N×N blocks are charged only where something needs them (below);
3. each block shaped (regularized, pruned) and, when the policy reads it, its κ estimated with the
   scheduler's estimator (time from the estimator's own flop and byte counts). An estimator that
   reads the dense (pruned) block needs it formed first: that assembly and pruning are charged
   here, before the decision, with the factors. ``floor`` on an unpruned block works from U;
4. one solve job per block handed to the scheduler, carrying both forms of its block: the pruned
   one for a QPU (``matrix``, ``d``) and the unpruned regularized one with its factor for a GPU
   (``structure``). A GPU method that needs the dense block and finds none formed assembles it
   inside its service; a QPU job whose block was not formed before the decision waits for its
   origin GPU to form and prune it (``quantum_prep_s``, an ``assemble`` interval). The blocks run
   concurrently wherever they were routed, and the step waits for all of them;
5. the Newton update applied with whatever came back (the GPU method's solve, HHL circuit output,
   or a modelled QLSA output with its error); a block whose solve failed for good is skipped (its
   parameters are unchanged this step); then the model is evaluated (monitoring only: it costs
   no simulated time).

First-order baselines (SGD, Adam) run steps 1 and 5 only; K-FAC runs step 1, then its factors
(every ``kfac_update_interval`` steps) and preconditioned gradient on the home GPU, then step 5.
The shape-only workload replays the paper's block lists with modelled κ: jobs carry sizes, κ and
each block's structure (rank r = the batch size, the width of a per-example empirical Fisher's
factor) but no matrices, and are charged by the same rules.

Each tenant draws from its own streams (``data/<t>``, ``init/<t>``, ``batches/<t>``), so the
scheduler or the optimizer never changes which data a tenant sees.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from hybridsim.costs.classical import (
    METHODS,
    ClassicalForm,
    solve_payload_bytes,
    solve_result_bytes,
)
from hybridsim.errors import ModelDomainError
from hybridsim.linalg.structure import BlockStructure
from hybridsim.records import StepRecord
from hybridsim.scheduling.base import SolveJob

if TYPE_CHECKING:  # pragma: no cover
    import simpy

    from hybridsim.costs.model import CostModel
    from hybridsim.rng import Streams
    from hybridsim.scenario import Scenario
    from hybridsim.scheduling.base import Decision
    from hybridsim.sim.clock import TickEnvironment
    from hybridsim.sim.devices import Device

__all__ = ["TrainingHost", "mlp_trainer", "shapes_trainer", "step_stats", "TRAINERS"]


class TrainingHost(Protocol):
    """What a trainer uses of the simulation it runs in, and nothing else
    (:class:`hybridsim.sim.engine.Simulation` provides it; tests/test_engine_structure.py checks
    that the trainers read no other member)."""

    @property
    def env(self) -> TickEnvironment:
        """The run's environment: trainers are its processes (``now``, ``all_of``,
        ``process``)."""

    @property
    def scenario(self) -> Scenario: ...

    @property
    def streams(self) -> Streams: ...

    @property
    def costs(self) -> CostModel: ...

    @property
    def uses_estimate(self) -> bool:
        """Whether the policy reads κ estimates (else the trainer neither estimates nor is
        charged for it)."""

    def home_gpu(self, tenant: int) -> Device:
        """The GPU ``tenant`` runs its own kernels on."""

    def next_job_id(self) -> int: ...

    def decide(self, job: SolveJob) -> Decision:
        """The scheduler's decision for ``job`` now (for a job submitted later with it)."""

    def solve(self, job: SolveJob, decision: Decision | None = None) -> simpy.Event:
        """Submit ``job``; the event fires with its flight when the result is back."""

    def compute(
        self, device: Device, *, flops: float, nbytes: float = 0.0, label: str
    ) -> simpy.Event:
        """Occupy a slot of ``device`` for a kernel; the event fires when it is done."""

    def record_step(self, step: StepRecord) -> None: ...

    def timed(self, key: str) -> AbstractContextManager[None]:
        """Add the wall time of a ``with`` body to the run's ``wall[key]``."""


def step_stats(flights: list[Any]) -> dict[str, Any]:
    """κ, sparsity, routing and error statistics of one step's finished solve flights."""
    if not flights:
        return {
            "blocks": 0,
            "routed_quantum": 0,
            "hhl_jobs": 0,
            "kappa_true_median": None,
            "kappa_est_median": None,
            "kappa_true_max": None,
            "kappa_est_max": None,
            "d_median": None,
            "solution_error_max": None,
        }
    jobs = [f.job for f in flights]
    return _step_stats(
        flights,
        [k for j in jobs if (k := j.kappa_true) is not None],
        [k for j in jobs if (k := j.kappa_est) is not None],
        _median([float(j.d) for j in jobs]),
    )


def _step_stats(
    flights: list[Any], k_true: list[float], k_est: list[float], d_median: float | None
) -> dict[str, Any]:
    """:func:`step_stats` of ``flights`` (not empty) given their jobs' known true and estimated
    κ in job order and the median of their sparsities: what a shape step knows before its jobs
    run (its κ, one list for both, and its blocks' d), so it is not read back from 39 jobs."""
    # One loop over the flights (generator expressions per statistic cost twice as much).
    routed = hhl = failed = 0
    errors = []
    for f in flights:
        if f.decision.route == "quantum":
            routed += 1
        if f.status == "failed":
            failed += 1
        o = f.outcome
        if o is not None:
            if o.solver.startswith("hhl"):
                hhl += 1
            if o.solution_error is not None:
                errors.append(o.solution_error)
    med_true = _median(k_true)
    max_true = max(k_true) if k_true else None
    if k_est is k_true or (
        len(k_est) == len(k_true) and all(map(operator.is_, k_est, k_true))
    ):  # the same values (a shape run's estimates are its true κ): the same statistics
        med_est, max_est = med_true, max_true
    else:
        med_est, max_est = _median(k_est), max(k_est) if k_est else None
    return {
        "blocks": len(flights),
        "routed_quantum": routed,
        "hhl_jobs": hhl,
        "kappa_true_median": med_true,
        "kappa_est_median": med_est,
        "kappa_true_max": max_true,
        "kappa_est_max": max_est,
        "d_median": d_median,
        "solution_error_max": max(errors) if errors else None,
        "failed_blocks": failed,
    }


def _median(xs: list[float]) -> float | None:
    """``float(np.median(xs))`` (None for no values) without numpy's per-call overhead (three
    medians per step were a tenth of a shape run's trainer time): the middle value, or the two
    middle values summed as numpy's mean sums them (``lo + (0.0 + hi)``) and halved. Lists
    with a NaN go to numpy."""
    if not xs:
        return None
    if any(map(operator.ne, xs, xs)):  # x != x: a NaN
        return float(np.median(xs))
    n = len(xs)
    s = sorted(xs)
    if n % 2:
        return float(s[n // 2])
    return (float(s[n // 2 - 1]) + (0.0 + float(s[n // 2]))) / 2.0


def _true_kappa(S: np.ndarray, factor: Any = None) -> float:
    """κ₂ of a shaped (symmetric) block for the records: all eigenvalues below N = 512, Lanczos
    extreme eigenvalues (relative tolerance 1e-3) above, where a dense eigensolver per block and
    step would dominate the run's wall time. Infinite for a singular block.

    ``factor`` is an LU of ``S`` a κ estimator already made (``KappaEstimate.factor``); the
    Lanczos shift-invert reuses it rather than factoring ``S`` a second time (same bits). A
    shaped block is symmetric by construction, so its symmetry is not checked again."""
    from hybridsim.linalg.conditioning import kappa_lanczos

    try:
        return float(kappa_lanczos(S, factor=factor, symmetric=True).kappa)
    except (ModelDomainError, np.linalg.LinAlgError, ArithmeticError):
        return math.inf


def mlp_trainer(host: TrainingHost, tenant: int, run_name: str) -> Generator:
    """SimPy process: train the scenario's MLP for ``workload.steps`` steps."""
    from hybridsim.scenario import MLPWorkload
    from hybridsim.workload.datasets import batches, load_dataset
    from hybridsim.workload.kfac import KFAC, kfac_step_flops
    from hybridsim.workload.mlp import (
        MLPSpec,
        accuracy,
        block_assembly_flops,
        factor_flops,
        forward_backward_flops,
        hessian_blocks,
        init_params,
        loss_and_accuracy,
        loss_and_grad,
        update_flops,
    )
    from hybridsim.workload.optimizers import SGD, Adam, newton_update

    wl = host.scenario.workload
    assert isinstance(wl, MLPWorkload)  # TRAINERS runs this trainer for kind "mlp" only
    streams = host.streams
    ds = load_dataset(wl.dataset, test_fraction=wl.test_fraction, rng=streams[f"data/{tenant}"])
    spec = MLPSpec((ds.n_features, *wl.hidden, ds.n_classes), wl.activation)
    params = init_params(spec, streams[f"init/{tenant}"])
    home = host.home_gpu(tenant)
    batch_rng = streams[f"batches/{tenant}"]
    n_train = len(ds.y_train)
    opt: Any = None
    if wl.optimizer == "sgd":
        opt = SGD(lr=wl.sgd_lr, momentum=wl.momentum)
    elif wl.optimizer == "adam":
        opt = Adam(lr=wl.adam_lr)
    elif wl.optimizer == "kfac":
        opt = KFAC(
            spec,
            lr=wl.kfac_lr,
            damping=wl.kfac_damping,
            update_interval=wl.kfac_update_interval,
        )
    opt_state: Any = opt.init(params) if opt is not None else None

    def record(step: int, flights: list[Any]) -> None:
        with host.timed("evaluate_s"):
            _record(step, flights)

    def _record(step: int, flights: list[Any]) -> None:
        loss, train_acc = loss_and_accuracy(spec, params, ds.X_train, ds.y_train, l2=wl.l2)
        host.record_step(
            StepRecord(
                run_name,
                tenant,
                step,
                host.env.now,
                float(loss),
                train_acc,
                accuracy(spec, params, ds.X_test, ds.y_test),
                **step_stats(flights),
            )
        )

    record(0, [])
    batch_iter: Iterator[np.ndarray] = iter(())
    for step in range(1, wl.steps + 1):
        idx = next(batch_iter, None)
        if idx is None:
            batch_iter = iter(batches(n_train, wl.batch_size, batch_rng))
            idx = next(batch_iter)
        X, y = ds.X_train[idx], ds.y_train[idx]
        B = len(idx)
        yield host.compute(home, flops=forward_backward_flops(spec, B), label="forward_backward")
        flights: list[Any] = []
        if opt is not None:
            _, grads = loss_and_grad(spec, params, X, y, l2=wl.l2)
            if isinstance(opt, KFAC):
                kfac_flops = kfac_step_flops(spec, B, refresh=opt.refreshes(opt_state))
                params, opt_state = opt.step(params, grads, opt_state, X=X, y=y)
                yield host.compute(home, flops=kfac_flops, label="kfac")
            else:
                params, opt_state = opt.step(params, grads, opt_state)
            yield host.compute(home, flops=update_flops(spec), label="update")
            record(step, flights)
            continue
        chunk = wl.chunk_size if wl.partition == "chunk" else None
        with host.timed("hessian_s"):
            blocks = hessian_blocks(
                spec,
                params,
                X,
                y,
                kind=wl.curvature,
                partition=wl.partition,
                chunk_size=chunk,
                l2=wl.l2,
            )
        asm = block_assembly_flops(spec, B, wl.curvature, wl.partition, chunk)
        with host.timed("shape_estimate_s"):
            prep = _shape_and_estimate(host, wl, blocks, asm, tenant, step, home)
        # The factors every step; the dense blocks only where the estimator needs them.
        yield host.compute(
            home,
            flops=factor_flops(spec, B, wl.curvature, wl.partition, chunk) + prep.pre_flops,
            nbytes=prep.pre_bytes,
            label="hessian",
        )
        if host.uses_estimate:
            yield host.compute(home, flops=prep.est_flops, nbytes=prep.est_bytes, label="estimate")
        jobs = prep.jobs
        _prime(host, jobs, estimates_primed=True)
        done = _submit_all(host, jobs, home, prep.quantum_work)
        yield host.env.all_of(done)
        flights = [ev.value for ev in done]
        # A block whose solve failed for good (all attempts, fallback = "fail") has no answer:
        # its parameters keep their values this step (a zero Newton direction for that block,
        # the others are independent blocks of the block-diagonal step). The step records how
        # many were skipped (failed_blocks); the summary's jobs_failed counts them.
        solved = [
            (b, f.outcome.solution)
            for b, f in zip(blocks, flights, strict=True)
            if f.status != "failed"
        ]
        if not solved:
            record(step, flights)
            continue
        with host.timed("update_s"):
            params = newton_update(
                params, [b for b, _ in solved], [x for _, x in solved], lr=wl.lr, clip=wl.clip
            )
        yield host.compute(home, flops=update_flops(spec, clip=wl.clip is not None), label="update")
        record(step, flights)


class _StepPrep(NamedTuple):
    """One Newton step's jobs and the work charged for them before the decisions."""

    jobs: list[SolveJob]
    pre_flops: float  # blocks formed (and pruned) before the decision, for the estimator
    pre_bytes: float
    est_flops: float
    est_bytes: float
    quantum_work: list[tuple[float, float]]  # (flops, bytes) a QPU route still needs per job


def _prime(host, jobs: list[SolveJob], *, estimates_primed: bool = False) -> None:
    """One vectorized prediction per κ set (estimate, truth) so decisions and charges hit the
    cost model's memo. ``estimates_primed``: the estimate set was primed already (by
    :func:`_shape_and_estimate`, which needs its classical methods); a truth set identical to
    the estimate set is not primed twice."""
    groups = host.scenario.cluster.groups
    forms = [j.structure.form for j in jobs]
    n, d = [j.n for j in jobs], [j.d for j in jobs]
    est = ([j.kappa_est for j in jobs], [j.structure.kappa_est for j in jobs])
    true = ([j.kappa_true for j in jobs], [j.structure.kappa_true for j in jobs])
    sets = [true] if true != est else []
    if not estimates_primed:
        sets.insert(0, est)
    for kappas, classical in sets:
        host.costs.prime(n, d, kappas, groups, forms=forms, classical_kappa=classical)


def _submit_all(host, jobs: list[SolveJob], home, quantum_work) -> list:
    """Submit the step's jobs in order; a job whose QPU route needs its block formed first gets
    its decision now and, if it goes to a QPU, waits for its origin GPU to prepare it."""
    done = []
    for job, (flops, nbytes) in zip(jobs, quantum_work, strict=True):
        if job.quantum_prep_s > 0.0 and job.pool is None:
            decision = host.decide(job)
            if decision.route == "quantum":
                done.append(
                    host.env.process(_prepare_then_solve(host, home, job, decision, flops, nbytes))
                )
            else:
                done.append(host.solve(job, decision))
        else:
            done.append(host.solve(job))
    return done


def _prepare_then_solve(host, home, job: SolveJob, decision, flops: float, nbytes: float):
    """SimPy process: form (and prune) a QPU job's block on its origin GPU, then submit it."""
    yield host.compute(home, flops=flops, nbytes=nbytes, label="assemble")
    flight = yield host.solve(job, decision)
    return flight


def _shape_and_estimate(host, wl, blocks, assembly, tenant: int, step: int, home) -> _StepPrep:
    """Shape every block, estimate its κ (when the policy reads it) and build its solve job.

    ``assembly`` is each block's flops to form the dense block from its factor
    (:func:`hybridsim.workload.mlp.block_assembly_flops`).
    """
    from hybridsim.costs.classical import assembly_bytes, prune_work
    from hybridsim.linalg.conditioning import (
        FACTORING_ESTIMATORS,
        estimate_kappa,
        kappa_floor,
        kappa_floor_factor,
    )
    from hybridsim.linalg.shaping import shape_hessian, sparsity

    uses_estimate = host.uses_estimate
    estimator = host.scenario.scheduler.estimator
    shaped_blocks = []  # (block, shaped, kappa_est, bounds, form, structure, q_flops, q_bytes)
    pre_flops = pre_bytes = est_flops = est_bytes = 0.0
    for block, a_flops in zip(blocks, assembly, strict=True):
        shaped = shape_hessian(
            block.matrix,
            eps_norm=wl.eps_norm,
            prune_ratio=wl.prune_ratio,
            order=wl.shaping_order,
            mask=wl.prune_mask,
            damping=wl.damping,
        )
        S = shaped.matrix
        n = block.n
        shift = block.diag_shift + shaped.shift  # H̃ = U·Uᵀ + shift·I
        has_factor = block.rank is not None and shift > 0.0
        # Forming the dense block (and pruning it) as one GPU kernel's work.
        p_flops, p_bytes = prune_work(n) if shaped.pruned else (0.0, 0.0)
        if block.rank is not None:
            p_bytes += assembly_bytes(n, block.rank)
        kappa_est = bounds = cl_est = lu = None
        est = None
        formed = False  # the dense block exists before the decision
        if uses_estimate:
            if estimator == "floor" and has_factor and not shaped.pruned:
                est = kappa_floor_factor(block.factor, shift)  # O(r·N): nothing formed
            else:
                formed = True
                # S is symmetric by construction (a symmetrized Gram matrix, a diagonal shift,
                # a symmetric mask): the estimators skip what only restates that (same bits)
                if estimator == "floor":  # S = PSD + shift·I − (what pruning removed)
                    est = kappa_floor(
                        S,
                        shift=shift if shift > 0 else None,
                        removed_fro=shaped.removed_fro,
                        symmetric=True,
                    )
                else:
                    est = estimate_kappa(S, estimator, symmetric=True)
            est_flops += est.flops
            est_bytes += est.bytes_touched
            kappa_est = est.kappa
            if est.lambda_min is not None and est.lambda_max is not None:
                bounds = (est.lambda_min, est.lambda_max)
            if not shaped.pruned:  # the estimate is of the classical form too
                cl_est = est.kappa
                if estimator in FACTORING_ESTIMATORS:
                    lu = est.factor
            elif estimator == "floor" and has_factor:
                cl = kappa_floor_factor(block.factor, shift)
                est_flops += cl.flops
                est_bytes += cl.bytes_touched
                cl_est = cl.kappa
        if formed:
            pre_flops += a_flops + p_flops
            pre_bytes += p_bytes
        kappa_true = cl_true = None
        if wl.kappa_true:
            # H̃ = U·Uᵀ + shift·I exactly from its factor where that is the cheap route
            exact = _true_kappa_factor(block, shift) if has_factor else None
            if shaped.pruned:
                kappa_true = _true_kappa_reusing(S, est, estimator)
                cl_true = exact if exact is not None else _true_kappa(shaped.regularized)
            else:  # S is H̃
                kappa_true = exact if exact is not None else _true_kappa_reusing(S, est, estimator)
                cl_true = kappa_true
        d_cl = sparsity(shaped.regularized) if shaped.pruned else shaped.d
        form = ClassicalForm(
            n,
            d_cl,
            rank=block.rank if has_factor else None,
            spd=shift > 0.0,
            assembled=formed or not has_factor,
            factored=lu is not None,
        )
        structure = BlockStructure(
            form,
            pruned=shaped.pruned,
            shift=shift,
            factor_rows=block.factor_rows if has_factor else None,
            factor_weights=block.factor_weights if has_factor else None,
            matrix=shaped.regularized,
            lu=lu,
            kappa_est=cl_est,
            kappa_true=cl_true,
        )
        q_flops, q_bytes = (0.0, 0.0) if formed else (a_flops + p_flops, p_bytes)
        shaped_blocks.append(
            (block, shaped, kappa_est, kappa_true, bounds, structure, q_flops, q_bytes)
        )
    # Every block's predictions from its estimate in one vectorized call (the classical method
    # each job ships its payload for, then the scheduler's predictions, hit this memo).
    host.costs.prime(
        [b.n for b, *_ in shaped_blocks],
        [sh.d for _, sh, *_ in shaped_blocks],
        [k for _, _, k, *_ in shaped_blocks],
        host.scenario.cluster.groups,
        forms=[st.form for *_, st, _, _ in shaped_blocks],
        classical_kappa=[st.kappa_est for *_, st, _, _ in shaped_blocks],
    )
    jobs: list[SolveJob] = []
    quantum_work: list[tuple[float, float]] = []
    for block, shaped, kappa_est, kappa_true, bounds, structure, q_flops, q_bytes in shaped_blocks:
        n, form = block.n, structure.form
        method = host.costs.classical(n, form.d, structure.kappa_est, home.config, form=form).method
        jobs.append(
            SolveJob(
                job_id=host.next_job_id(),
                n=n,
                d=shaped.d,
                tenant=tenant,
                step=step,
                block=block.name,
                origin=home.name,
                payload_bytes=int(solve_payload_bytes(n, shaped.d)),
                result_bytes=int(solve_result_bytes(n)),
                kappa_est=kappa_est,
                kappa_true=kappa_true,
                estimator=estimator if uses_estimate else None,
                eigen_bounds=bounds,
                matrix=shaped.matrix,
                rhs=np.asarray(block.grad, dtype=float),
                structure=structure,
                classical_payload_bytes=host.costs.classical_payload_bytes(form, method),
                quantum_prep_s=(
                    host.costs.gpu_kernel_s(home.config, q_flops, q_bytes) if q_flops else 0.0
                ),
            )
        )
        quantum_work.append((q_flops, q_bytes))
    return _StepPrep(jobs, pre_flops, pre_bytes, est_flops, est_bytes, quantum_work)


def _true_kappa_factor(block: Any, shift: float) -> float | None:
    """κ₂ of a block's H̃ = U·Uᵀ + shift·I (unpruned) from its N×r factor, where that replaces
    a Lanczos run (N ≥ :data:`~hybridsim.linalg.conditioning.LANCZOS_DENSE_BELOW`) and is
    cheaper (r < N); None elsewhere (the other routes of :func:`_true_kappa` then apply).

    :func:`~hybridsim.linalg.conditioning.kappa_exact_factor` is exact to about 1e-13 relative
    (the rounding of UᵀU and of an r×r eigensolve), where Lanczos was good to ~1e-4. The value
    is recorded to 10 significant digits, every one of them correct, so that it does not depend
    on the last bits of a BLAS product (as the Hager–Higham estimate, docs/design.md)."""
    from hybridsim.linalg.conditioning import LANCZOS_DENSE_BELOW, kappa_exact_factor

    n, r = block.n, block.rank
    if r is None or n < LANCZOS_DENSE_BELOW or r >= n:
        return None
    try:
        kappa = kappa_exact_factor(block.factor, shift).kappa
    except (ModelDomainError, np.linalg.LinAlgError, ArithmeticError):
        return math.inf
    return float(f"{kappa:.10g}")


def _true_kappa_reusing(S: np.ndarray, est: Any, estimator: str) -> float:
    """:func:`_true_kappa` of the block ``S`` whose κ the policy just estimated (``est``, or
    None): the Lanczos estimator's answer *is* that value (the same call on the same matrix,
    with the same fixed starting vector), and a factoring estimator's LU of ``S`` serves the
    shift-invert solves."""
    if est is None:
        return _true_kappa(S)
    if estimator == "lanczos":
        return float(est.kappa)
    from hybridsim.linalg.conditioning import FACTORING_ESTIMATORS

    return _true_kappa(S, est.factor if estimator in FACTORING_ESTIMATORS else None)


class _ShapeWork(NamedTuple):
    """Per-step work of a shape-only model, by where it is charged (arrays over blocks)."""

    formed: np.ndarray  # the dense block is formed before the decision (the estimator needs it)
    factored: np.ndarray  # ... and the estimator's LU of it is reusable (unpruned)
    pre_flops: float  # forming and pruning those blocks, charged with the step
    pre_bytes: float
    est_flops: float
    est_bytes: float
    quantum_flops: np.ndarray  # what a QPU route still needs formed per block (0 if formed)
    quantum_bytes: np.ndarray


def _shape_block_work(sizes, ds, rank: int, estimator: str, uses_estimate: bool) -> _ShapeWork:
    """Where a shape-only step's assembly and pruning are charged (the MLP trainer's rules).

    An estimator that reads the dense block (all but ``floor`` on an unpruned block, which works
    from U) needs every block formed, 2·B·N² (a Gram product, the public code's einsum;
    inferred), and pruned, before the decision. Otherwise nothing is formed up front: a GPU
    method that needs the dense block assembles it in its service, a QPU job waits for its origin
    to form and prune it.
    """
    from hybridsim.costs.classical import preparation_work
    from hybridsim.linalg.conditioning import FACTORING_ESTIMATORS, estimator_work

    pruned = ds < sizes
    need, p_bytes = preparation_work(sizes, rank, pruned)
    if uses_estimate:
        formed = pruned | (estimator != "floor")
        w_flops, w_bytes = estimator_work(estimator, sizes, ds, rank=np.full(len(sizes), rank))
        est_flops, est_bytes = float(np.sum(w_flops)), float(np.sum(w_bytes))
    else:
        formed = np.zeros(len(sizes), dtype=bool)
        est_flops = est_bytes = 0.0
    factored = formed & ~pruned & (estimator in FACTORING_ESTIMATORS) & uses_estimate
    return _ShapeWork(
        formed,
        factored,
        float(np.sum(np.where(formed, need, 0.0))),
        float(np.sum(np.where(formed, p_bytes, 0.0))),
        est_flops,
        est_bytes,
        np.where(formed, 0.0, need),
        np.where(formed, 0.0, p_bytes),
    )


def shapes_trainer(host: TrainingHost, tenant: int, run_name: str) -> Generator:
    """SimPy process: the paper's block shapes for the configured epochs (no matrices)."""
    from hybridsim.scenario import ShapesWorkload
    from hybridsim.workload.shapes import (
        kappa_bound,
        kappa_steps,
        paper_model,
        sparsity_d,
    )

    wl = host.scenario.workload
    assert isinstance(wl, ShapesWorkload)  # TRAINERS runs this trainer for kind "shapes" only
    model = paper_model(wl.model, batch_size=wl.batch_size)
    n_steps = wl.steps if wl.steps is not None else max(1, round(model.steps_per_epoch * wl.epochs))
    # The scenario's [workload.kappa] is the trajectory: validated when the scenario was loaded
    # (a replay file read into its values then), so nothing is re-checked or re-read here.
    traj = wl.kappa
    rng = host.streams[f"kappa/{tenant}"]
    home = host.home_gpu(tenant)
    n_params = sum(b.n for b in model.blocks)
    # Forward + backward per example from the model's parameter inventory: 6 flops per trainable
    # parameter and token, frozen heads and attention on top (workload/shapes.py).
    fb_flops = (wl.flops_per_example or model.flops_per_example) * model.batch_size
    sizes = np.array([b.n for b in model.blocks])
    # The relative regularizer bounds every block's κ; a trajectory above it is clipped.
    bounds = kappa_bound(sizes, wl.eps_norm if wl.eps_norm is not None else model.eps_norm)
    ds = np.array([sparsity_d(int(n), wl.prune_ratio) for n in sizes])
    estimator = host.scenario.scheduler.estimator
    uses_estimate = host.uses_estimate
    # Every block is a per-example empirical Fisher block: its factor U has one column per
    # example, r = B (docs/background/training.md, "Block structure").
    rank = model.batch_size
    work = _shape_block_work(sizes, ds, rank, estimator, uses_estimate)
    forms = [
        ClassicalForm(n, n, rank=rank, spd=True, assembled=bool(a), factored=bool(f))
        for n, a, f in zip(
            sizes.tolist(), work.formed.tolist(), work.factored.tolist(), strict=True
        )
    ]
    prep_s = [
        host.costs.gpu_kernel_s(home.config, float(f), float(b)) if f else 0.0
        for f, b in zip(work.quantum_flops.tolist(), work.quantum_bytes.tolist(), strict=True)
    ]
    # Bytes per block: fixed for the run (the classical ones per method, which κ may change).
    q_payload = [
        int(solve_payload_bytes(n, d)) for n, d in zip(sizes.tolist(), ds.tolist(), strict=True)
    ]
    results = [int(solve_result_bytes(n)) for n in sizes.tolist()]
    # Everything about a block but its κ is the same every step: computed once here, with the
    # bytes a GPU job moves for each method its κ may pick.
    groups = host.scenario.cluster.groups
    n_blocks = len(sizes)
    size_l, d_l = sizes.tolist(), ds.tolist()
    names = [b.name for b in model.blocks]
    pruned = [d < n for n, d in zip(size_l, d_l, strict=True)]
    c_payload = [{m: host.costs.classical_payload_bytes(f, m) for m in METHODS} for f in forms]
    blocks = list(
        zip(size_l, d_l, names, q_payload, results, forms, pruned, prep_s, c_payload, strict=True)
    )
    quantum_work = list(zip(work.quantum_flops.tolist(), work.quantum_bytes.tolist(), strict=True))
    any_prep = any(p > 0.0 for p in prep_s)  # else every job is submitted without a decision
    d_median = _median([float(d) for d in d_l])  # each step's jobs are the blocks, in order
    est_name = estimator if uses_estimate else None
    origin = home.name
    next_id = host.next_job_id
    step = 0
    while step < n_steps:
        # κ of the next steps drawn ahead (the same draws, in the same order, from the tenant's
        # own stream) and priced in one vectorized call: the per-step numpy overhead of a
        # 39-block prediction was most of a shape run's wall time.
        count = min(_PRIME_STEPS, n_steps - step)
        grid = kappa_steps(traj, step, count, n_steps, n_blocks, rng)
        over = grid > bounds
        grid = np.where(over, bounds, grid)  # clip_kappas, row by row
        clipped_rows = np.count_nonzero(over, axis=1).tolist()
        k_flat = grid.ravel().tolist()
        primed = host.costs.prime(
            size_l * count, d_l * count, k_flat, groups, forms=forms * count
        ).get(home.config.name)
        for row in range(count):
            step += 1
            yield host.compute(home, flops=fb_flops, label="forward_backward")
            if work.pre_flops:
                yield host.compute(
                    home, flops=work.pre_flops, nbytes=work.pre_bytes, label="hessian"
                )
            if uses_estimate:
                yield host.compute(
                    home, flops=work.est_flops, nbytes=work.est_bytes, label="estimate"
                )
            base = row * n_blocks
            k_list = k_flat[base : base + n_blocks]
            if primed is not None:
                methods = [e.method for e in primed[base : base + n_blocks]]
            else:  # the home group was not among the cluster's groups: price it alone
                methods = [
                    host.costs.classical(n, n, k, home.config, form=f).method
                    for n, k, f in zip(size_l, k_list, forms, strict=True)
                ]
            assert None not in methods  # a classical estimate names its method
            # Every field positionally, in the order of scheduling.base.SOLVE_JOB_FIELDS
            # (checked at import): keyword matching cost a third of the job's construction.
            jobs = [
                SolveJob(
                    next_id(),  # job_id
                    n,
                    d,
                    tenant,
                    step,
                    name,  # block
                    0,  # priority
                    origin,
                    q_bytes,  # payload_bytes
                    r_bytes,  # result_bytes
                    None,  # service_ticks
                    None,  # pool
                    kappa,  # kappa_est: no matrix to estimate from, estimates are exact here
                    kappa,  # kappa_true
                    est_name,  # estimator
                    None,  # eigen_bounds
                    None,  # matrix
                    None,  # rhs
                    _shape_structure(form, prn, kappa),  # structure
                    c_bytes[method],  # classical_payload_bytes
                    prep,  # quantum_prep_s
                )
                for kappa, method, (n, d, name, q_bytes, r_bytes, form, prn, prep, c_bytes) in zip(
                    k_list, methods, blocks, strict=True
                )
            ]
            if any_prep:
                done = _submit_all(host, jobs, home, quantum_work)
            else:  # what _submit_all does for jobs that need no preparation
                done = list(map(host.solve, jobs))
            yield host.env.all_of(done)
            flights = [ev.value for ev in done]
            yield host.compute(home, flops=2.0 * n_params, label="update")
            host.record_step(
                StepRecord(
                    run_name,
                    tenant,
                    step,
                    host.env.now,
                    None,
                    None,
                    None,
                    **_step_stats(flights, k_list, k_list, d_median),
                    kappa_clipped=clipped_rows[row],
                )
            )


#: Steps of a shape run whose κ are drawn and priced together (one vectorized prediction).
_PRIME_STEPS = 64

_new_structure = partial(tuple.__new__, BlockStructure)
_SHAPE_STRUCTURE = ("form", "pruned", "shift", "factor_rows", "factor_weights", "matrix", "lu")
if BlockStructure._fields != (*_SHAPE_STRUCTURE, "kappa_est", "kappa_true"):  # pragma: no cover
    raise ImportError(f"_shape_structure's layout differs from {BlockStructure._fields}")


def _shape_structure(form: ClassicalForm, pruned: bool, kappa: float) -> BlockStructure:
    """``BlockStructure(form, pruned=pruned, kappa_est=kappa, kappa_true=kappa)`` of a shape
    block (no arrays), made from a tuple in the record's field order (a third of a keyword
    construction, once per job; the order is checked against the fields at import)."""
    return _new_structure((form, pruned, None, None, None, None, None, kappa, kappa))


#: The training processes by workload kind (one per tenant; see hybridsim.sim.workloads).
TRAINERS = {"mlp": mlp_trainer, "shapes": shapes_trainer}
