"""Training-step processes: the workloads that emit Hessian-block solve jobs.

One SimPy process per tenant. A Newton step of the real MLP workload:

1. forward/backward pass over the batch on the tenant's home GPU (time from its FLOPs);
2. curvature blocks built from the batch (real matrices, time from their FLOPs);
3. each block shaped (regularized, pruned) and, when the policy reads it, its κ estimated with the
   scheduler's estimator (time from the estimator's own flop and byte counts);
4. one solve job per block handed to the scheduler; the blocks run concurrently wherever they were
   routed, and the step waits for all of them;
5. the Newton update applied with whatever came back (numpy solve, HHL circuit output, or a
   modelled QLSA output with its error); a block whose solve failed for good is skipped (its
   parameters are unchanged this step); then the model is evaluated (monitoring only: it costs
   no simulated time).

First-order baselines (SGD, Adam) run steps 1 and 5 only. The shape-only workload replays the
paper's block lists with modelled κ: jobs carry sizes and κ but no matrices.

Each tenant draws from its own streams (``data/<t>``, ``init/<t>``, ``batches/<t>``), so the
scheduler or the optimizer never changes which data a tenant sees.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from hybridsim.errors import ModelDomainError
from hybridsim.records import StepRecord
from hybridsim.scenario import replay_path
from hybridsim.scheduling.base import SolveJob
from hybridsim.schema import Ctx
from hybridsim.workload.synthetic import payload_bytes, result_bytes

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.scenario import MLPWorkload, ShapesWorkload
    from hybridsim.sim.engine import Simulation

__all__ = ["mlp_trainer", "shapes_trainer", "step_stats"]


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
    k_true = [j.kappa_true for j in jobs if j.kappa_true is not None]
    k_est = [j.kappa_est for j in jobs if j.kappa_est is not None]
    errors = [
        f.outcome.solution_error
        for f in flights
        if f.outcome is not None and f.outcome.solution_error is not None
    ]

    def med(xs: list[float]) -> float | None:
        return float(np.median(xs)) if xs else None

    return {
        "blocks": len(flights),
        "routed_quantum": sum(1 for f in flights if f.decision.route == "quantum"),
        "hhl_jobs": sum(
            1 for f in flights if f.outcome is not None and f.outcome.solver.startswith("hhl")
        ),
        "kappa_true_median": med(k_true),
        "kappa_est_median": med(k_est),
        "kappa_true_max": max(k_true) if k_true else None,
        "kappa_est_max": max(k_est) if k_est else None,
        "d_median": med([float(j.d) for j in jobs]),
        "solution_error_max": max(errors) if errors else None,
        "failed_blocks": sum(1 for f in flights if f.status == "failed"),
    }


def _true_kappa(S: np.ndarray) -> float:
    """κ₂ of a shaped (symmetric) block for the records: all eigenvalues below N = 512, Lanczos
    extreme eigenvalues (relative tolerance 1e-3) above, where a dense eigensolver per block and
    step would dominate the run's wall time. Infinite for a singular block."""
    from hybridsim.linalg.conditioning import kappa_lanczos

    try:
        return float(kappa_lanczos(S).kappa)
    except (ModelDomainError, np.linalg.LinAlgError, ArithmeticError):
        return math.inf


def mlp_trainer(sim: Simulation, tenant: int, run_name: str) -> Generator:
    """SimPy process: train the scenario's MLP for ``workload.steps`` steps."""
    from hybridsim.workload.datasets import batches, load_dataset
    from hybridsim.workload.mlp import (
        MLPSpec,
        accuracy,
        forward_backward_flops,
        hessian_blocks,
        hessian_flops,
        init_params,
        loss_and_grad,
        update_flops,
    )
    from hybridsim.workload.optimizers import SGD, Adam, newton_update

    wl: MLPWorkload = sim.scenario.workload
    streams = sim.streams
    ds = load_dataset(wl.dataset, test_fraction=wl.test_fraction, rng=streams[f"data/{tenant}"])
    spec = MLPSpec((ds.n_features, *wl.hidden, ds.n_classes), wl.activation)
    params = init_params(spec, streams[f"init/{tenant}"])
    home = sim.home_gpu(tenant)
    batch_rng = streams[f"batches/{tenant}"]
    n_train = len(ds.y_train)
    opt: Any = None
    if wl.optimizer == "sgd":
        opt = SGD(lr=wl.sgd_lr, momentum=wl.momentum)
    elif wl.optimizer == "adam":
        opt = Adam(lr=wl.adam_lr)
    opt_state = opt.init(params) if opt is not None else None

    def record(step: int, flights: list[Any]) -> None:
        with sim.timed("evaluate_s"):
            _record(step, flights)

    def _record(step: int, flights: list[Any]) -> None:
        loss, _ = loss_and_grad(spec, params, ds.X_train, ds.y_train, l2=wl.l2)
        sim.recorder.steps.append(
            StepRecord(
                run_name,
                tenant,
                step,
                sim.env.now,
                float(loss),
                accuracy(spec, params, ds.X_train, ds.y_train),
                accuracy(spec, params, ds.X_test, ds.y_test),
                **step_stats(flights),
            )
        )

    record(0, [])
    batch_iter = iter(())
    for step in range(1, wl.steps + 1):
        idx = next(batch_iter, None)
        if idx is None:
            batch_iter = iter(batches(n_train, wl.batch_size, batch_rng))
            idx = next(batch_iter)
        X, y = ds.X_train[idx], ds.y_train[idx]
        B = len(idx)
        yield sim.compute(home, flops=forward_backward_flops(spec, B), label="forward_backward")
        flights: list[Any] = []
        if opt is not None:
            _, grads = loss_and_grad(spec, params, X, y, l2=wl.l2)
            params, opt_state = opt.step(params, grads, opt_state)
            yield sim.compute(home, flops=update_flops(spec), label="update")
            record(step, flights)
            continue
        chunk = wl.chunk_size if wl.partition == "chunk" else None
        with sim.timed("hessian_s"):
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
        yield sim.compute(
            home,
            flops=hessian_flops(spec, B, wl.curvature, wl.partition, chunk),
            label="hessian",
        )
        with sim.timed("shape_estimate_s"):
            jobs, est_flops, est_bytes = _shape_and_estimate(sim, wl, blocks, tenant, step, home)
        if sim.policy_uses_estimate:
            yield sim.compute(home, flops=est_flops, nbytes=est_bytes, label="estimate")
        groups = sim.scenario.cluster.groups
        for kappas in ([j.kappa_est for j in jobs], [j.kappa_true for j in jobs]):
            sim.costs.prime([j.n for j in jobs], [j.d for j in jobs], kappas, groups)
        done = [sim.solve(job) for job in jobs]
        yield sim.env.all_of(done)
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
        with sim.timed("update_s"):
            params = newton_update(
                params, [b for b, _ in solved], [x for _, x in solved], lr=wl.lr, clip=wl.clip
            )
        yield sim.compute(home, flops=update_flops(spec, clip=wl.clip is not None), label="update")
        record(step, flights)


def _shape_and_estimate(sim, wl, blocks, tenant: int, step: int, home) -> tuple[list, float, float]:
    """Shape every block, estimate its κ (when the policy reads it) and build its solve job.

    Returns the jobs and the estimation's total flops and bytes (charged as one GPU task).
    """
    from hybridsim.linalg.conditioning import estimate_kappa
    from hybridsim.linalg.shaping import shape_hessian

    uses_estimate = sim.policy_uses_estimate
    estimator = sim.scenario.scheduler.estimator
    jobs = []
    est_flops = est_bytes = 0.0
    for block in blocks:
        shaped = shape_hessian(
            block.matrix,
            eps_norm=wl.eps_norm,
            prune_ratio=wl.prune_ratio,
            order=wl.shaping_order,
            mask=wl.prune_mask,
            damping=wl.damping,
        )
        S = shaped.matrix
        kappa_est = bounds = None
        if uses_estimate:
            est = estimate_kappa(S, estimator)
            est_flops += est.flops
            est_bytes += est.bytes_touched
            kappa_est = est.kappa
            if est.lambda_min is not None and est.lambda_max is not None:
                bounds = (est.lambda_min, est.lambda_max)
        n = block.n
        jobs.append(
            SolveJob(
                job_id=sim.next_job_id(),
                n=n,
                d=shaped.d,
                tenant=tenant,
                step=step,
                block=block.name,
                origin=home.name,
                payload_bytes=payload_bytes(n, shaped.d),
                result_bytes=result_bytes(n),
                kappa_est=kappa_est,
                kappa_true=_true_kappa(S) if wl.kappa_true else None,
                estimator=estimator if uses_estimate else None,
                eigen_bounds=bounds,
                matrix=S,
                rhs=np.asarray(block.grad, dtype=float),
            )
        )
    return jobs, est_flops, est_bytes


def shapes_trainer(sim: Simulation, tenant: int, run_name: str) -> Generator:
    """SimPy process: the paper's block shapes for the configured epochs (no matrices)."""
    from hybridsim.linalg.conditioning import estimator_work
    from hybridsim.workload.shapes import (
        KappaTrajectory,
        kappa_step,
        load_kappa_replay,
        paper_model,
        sparsity_d,
    )

    wl: ShapesWorkload = sim.scenario.workload
    model = paper_model(wl.model, batch_size=wl.batch_size)
    n_steps = wl.steps if wl.steps is not None else max(1, round(model.steps_per_epoch * wl.epochs))
    km = wl.kappa
    if km.kind == "replay":
        path = replay_path(
            sim.scenario.source, km.replay, Ctx(sim.scenario.source, ("workload", "kappa"))
        )
        values = load_kappa_replay(path, km.replay_column)
        traj = KappaTrajectory("replay", values=values, scatter_sigma=km.scatter_sigma)
    else:
        traj = KappaTrajectory(
            "geometric",
            kappa_start=km.start,
            total_drop=km.total_drop,
            scatter_sigma=km.scatter_sigma,
        )
    rng = sim.streams[f"kappa/{tenant}"]
    home = sim.home_gpu(tenant)
    n_params = sum(b.n for b in model.blocks)
    # Forward + backward ≈ 6 flops per parameter per example (2 forward, 4 backward), the usual
    # transformer estimate (Kaplan et al. 2020) (inferred for these models).
    fb_flops = (wl.flops_per_example or 6.0 * n_params) * model.batch_size
    sizes = np.array([b.n for b in model.blocks])
    ds = np.array([sparsity_d(int(n), wl.prune_ratio) for n in sizes])
    estimator = sim.scenario.scheduler.estimator
    uses_estimate = sim.policy_uses_estimate
    est_flops, est_bytes = (
        (float(np.sum(w)) for w in estimator_work(estimator, sizes, ds))
        if uses_estimate
        else (0.0, 0.0)
    )
    # Fisher blocks: a Gram product 2·B·N² per block (the public code's einsum), inferred.
    hess_flops = float(np.sum(2.0 * model.batch_size * sizes.astype(float) ** 2))
    for step in range(1, n_steps + 1):
        yield sim.compute(home, flops=fb_flops, label="forward_backward")
        yield sim.compute(home, flops=hess_flops, label="hessian")
        if uses_estimate:
            yield sim.compute(home, flops=est_flops, nbytes=est_bytes, label="estimate")
        kappas = kappa_step(traj, step - 1, n_steps, len(sizes), rng)
        # One vectorized prediction for the whole step; the scheduler and executors then hit
        # the cost model's memo (identical numbers, far fewer numpy calls).
        sim.costs.prime(sizes.tolist(), ds.tolist(), kappas.tolist(), sim.scenario.cluster.groups)
        done = []
        for b, n, d, kappa in zip(
            model.blocks, sizes.tolist(), ds.tolist(), kappas.tolist(), strict=True
        ):
            job = SolveJob(
                job_id=sim.next_job_id(),
                n=n,
                d=d,
                tenant=tenant,
                step=step,
                block=b.name,
                origin=home.name,
                payload_bytes=payload_bytes(n, d),
                result_bytes=result_bytes(n),
                kappa_est=kappa,  # no matrix to estimate from: estimates are exact here
                kappa_true=kappa,
                estimator=estimator if uses_estimate else None,
            )
            done.append(sim.solve(job))
        yield sim.env.all_of(done)
        flights = [ev.value for ev in done]
        yield sim.compute(home, flops=2.0 * n_params, label="update")
        sim.recorder.steps.append(
            StepRecord(run_name, tenant, step, sim.env.now, None, None, None, **step_stats(flights))
        )
