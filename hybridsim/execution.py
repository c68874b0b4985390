"""What a device does with a solve job: its service time and, with a matrix, its answer.

Pure functions (no simpy): the engine calls :func:`execute` when a job's payload has arrived and
turns the returned seconds into ticks. Three kinds of execution:

``numpy``     GPU job with a matrix: a real ``numpy.linalg.solve``; time from the classical cost
              model (deterministic, not wall-clock).
``hhl``       QPU job with a matrix and n <= ``quantum.execute_max_n``: a QuTiP-simulated HHL
              circuit (:func:`hybridsim.quantum.hhl_solve`) tuned to the *estimator's* eigenvalue
              bounds; its output is the answer, its QPU time comes from its own gate counts
              (``hhl_signed``: the same in HHL's sign-qubit mode, for an indefinite block).
``trivial``   QPU job whose right-hand side is zero: the answer is 0 at no cost.
``modelled``  everything else: time from the cost model with the true κ when known; a QPU answer is
              the classical solution perturbed by the accounting's output error ε (a random
              direction of norm ε·‖x‖), so larger blocks still feed honest-looking errors into
              training.

Failed attempts. A block's structure is a fact of the workload, so an executor never raises on
it; it returns an Outcome whose ``failure`` names why the attempt gave no answer, and the engine
records a failed attempt that the ``[faults]`` policy retries, reroutes or sends to a GPU:

``singular``       the matrix is exactly singular (LU meets a zero pivot), on any route;
``non-finite``     the matrix, right-hand side or answer holds NaN or infinity;
``postselection``  an executed circuit's finite shots found no postselected outcome.

A failed attempt still takes its full service time (the device ran). An *indefinite* block is
not a failure: the QPU controller's classical pre-check (a Cholesky attempt, not charged) picks
HHL's sign-qubit mode for it, as the GPU's LU solves it too.

Executed-circuit time (see docs/background/hhl.md): one run costs
``n_1q·t_1q + n_2q·t_2q + u_applications·g·t_2q`` with ``g`` the accounting's gates per query
(each application of U = e^{iAt} is one query to the matrix), i.e. gates executed one after the
other, an upper bound on a layered schedule. Runs: the configured shots, else the accounting's
readout model; each run pays measurement and reset unless the readout is ``none``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybridsim.costs.model import CostModel
from hybridsim.costs.quantum import gates_per_query, readout_runs
from hybridsim.errors import ModelDomainError
from hybridsim.scheduling.base import SolveJob
from hybridsim.timebase import to_seconds

__all__ = ["Outcome", "execute", "perturb"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Service of one job on one device, and its answer where one was computed."""

    service_s: float
    solver: str
    compute_s: float | None = None
    state_prep_s: float | None = None
    readout_s: float | None = None
    overhead_s: float | None = None
    queries: float | None = None
    shots: int | None = None
    n_qubits: int | None = None
    success_probability: float | None = None
    fidelity: float | None = None
    solution_error: float | None = None
    solution: np.ndarray | None = None
    wall_s: float = 0.0  # wall-clock time spent computing the answer (not simulated time)
    p_fail: float = 0.0  # probability that the attempt is corrupted by gate or readout errors
    failure: str = ""  # why the attempt gave no answer ("" when it did), see the module docstring


def failure_probability(qpu: Any, n_1q: float, n_2q: float, n_measured: float) -> float:
    """Probability that one run suffers at least one gate or readout error.

    1 − (1−e₁)^{n₁}·(1−e₂)^{n₂}·(1−e_r)^{n_m}: the complement of the *estimated success
    probability* used to compare NISQ compilations (Nishio et al., ACM JETC 16, 2020), with
    independent errors per gate (inferred as a job-failure model: an errored run yields a wrong
    state, which the simulator counts as a failed attempt). Computed with log1p/expm1 so tiny
    rates over billions of gates stay accurate.
    """
    log_ok = 0.0
    for rate, count in (
        (qpu.error_1q, n_1q),
        (qpu.error_2q, n_2q),
        (qpu.readout_error, n_measured),
    ):
        if rate > 0.0 and count > 0:
            log_ok += count * math.log1p(-rate)
    return float(-math.expm1(log_ok))


def perturb(x: np.ndarray, eps: float, rng: np.random.Generator) -> np.ndarray:
    """``x`` plus a uniformly random direction of norm ``eps·‖x‖`` (relative error exactly ε)."""
    u = rng.standard_normal(x.shape)
    norm = float(np.linalg.norm(u))
    if norm == 0.0:  # pragma: no cover - probability zero
        return x.copy()
    return x + (eps * float(np.linalg.norm(x)) / norm) * u


def _fidelity(x: np.ndarray, ref: np.ndarray) -> float:
    nx, nr = float(np.linalg.norm(x)), float(np.linalg.norm(ref))
    if nx == 0.0 or nr == 0.0:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        f = float(abs(np.vdot(x, ref)) ** 2 / (nx * nx * nr * nr))
    if not np.isfinite(f):  # huge or tiny magnitudes: the same ratio of unit vectors
        f = float(abs(np.vdot(x / nx, ref / nr)) ** 2)
    return f


def _rel_error(x: np.ndarray, ref: np.ndarray) -> float:
    nr = float(np.linalg.norm(ref))
    return float(np.linalg.norm(x - ref) / nr) if nr else float(np.linalg.norm(x))


def _kappa_for_charge(job: SolveJob) -> float | None:
    return job.kappa_true if job.kappa_true is not None else job.kappa_est


def _charged(job: SolveJob, estimate: Callable[[float | None], Any]) -> Any:
    """``estimate(κ)`` with the κ a solve's time depends on: the true one when known, else the
    estimate. Where that κ gives the model no answer (CG or a QLSA with κ̂ = inf or none, e.g.
    the paper's bound overflowed and true κ is not recorded) and the job has its matrix, the
    true κ is computed and used (wall time only: the solver meets the matrix, not the
    estimate)."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            return estimate(_kappa_for_charge(job))
    except ModelDomainError:
        if job.matrix is None or job.kappa_true is not None:
            raise
        with np.errstate(over="ignore", invalid="ignore"):
            return estimate(_matrix_kappa(job.matrix))


def _matrix_kappa(a: np.ndarray) -> float:
    from hybridsim.linalg.conditioning import kappa_lanczos

    try:
        return float(kappa_lanczos(a).kappa)
    except (ModelDomainError, np.linalg.LinAlgError, ArithmeticError, ValueError):
        return math.inf


def execute(
    job: SolveJob,
    group: Any,
    costs: CostModel,
    quantum: Any,
    rng: np.random.Generator,
) -> Outcome:
    """Run ``job`` on a device of ``group`` (a GpuGroup or QpuGroup).

    Parameters
    ----------
    job : SolveJob
    group : GpuGroup or QpuGroup
    costs : CostModel
    quantum : QuantumConfig
        ``execute_max_n``, ``clock_qubits``, ``shots``.
    rng : numpy.random.Generator
        The device's stream (shot sampling, modelled output error).
    """
    outcome = _execute(job, group, costs, quantum, rng)
    if outcome.solution is not None and not np.all(np.isfinite(outcome.solution)):
        return dataclasses.replace(outcome, solution=None, failure="non-finite")
    return outcome


def _finite(*arrays: np.ndarray | None) -> bool:
    return all(a is None or bool(np.all(np.isfinite(a))) for a in arrays)


def _reference(job: SolveJob) -> tuple[np.ndarray | None, str]:
    """The exact solution of ``job``'s system, or None and the failure reason."""
    if not _finite(job.matrix, job.rhs):
        return None, "non-finite"
    try:
        x = np.linalg.solve(job.matrix, job.rhs)
    except np.linalg.LinAlgError:
        return None, "singular"
    if not _finite(x):
        return None, "non-finite"
    return x, ""


def _positive_definite(a: np.ndarray) -> bool:
    """A Cholesky attempt: what the QPU controller checks to pick HHL's mode."""
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return False
    return True


def _execute(
    job: SolveJob, group: Any, costs: CostModel, quantum: Any, rng: np.random.Generator
) -> Outcome:
    if group.kind == "gpu":
        return _classical(job, group, costs)
    if job.rhs is not None and not float(np.linalg.norm(job.rhs)) > 0.0:
        # b = 0 (or so small its norm underflows) has the solution 0, and |b> cannot even be
        # prepared: a QPU's controller answers without running anything (a vanished gradient).
        return Outcome(0.0, "trivial", solution=np.zeros(job.n), solution_error=0.0)
    if job.matrix is not None and 0 < job.n <= quantum.execute_max_n:
        return _hhl(job, group, costs, quantum, rng)
    return _modelled_quantum(job, group, costs, rng)


def _classical(job: SolveJob, group: Any, costs: CostModel) -> Outcome:
    def estimate(kappa):
        return costs.classical(job.n, job.d, kappa, group)

    if job.matrix is None:
        est = estimate(_kappa_for_charge(job))
        return Outcome(est.total_s, "modelled", compute_s=est.compute_s)
    t0 = time.perf_counter()
    x, failure = _reference(job)
    wall = time.perf_counter() - t0
    try:
        est = _charged(job, estimate)
    except ModelDomainError:
        if not failure:
            raise
        # a failed solve whose time depends on an infinite κ (CG on a singular block): no finite
        # schedule exists, the attempt ends at once
        return Outcome(0.0, "numpy", failure=failure, wall_s=wall)
    return Outcome(
        est.total_s, "numpy", compute_s=est.compute_s, solution=x, wall_s=wall, failure=failure
    )


def _modelled_quantum(
    job: SolveJob, group: Any, costs: CostModel, rng: np.random.Generator
) -> Outcome:
    solution = fidelity = error = ref = None
    wall = 0.0
    failure = ""
    if job.matrix is not None:
        t0 = time.perf_counter()
        ref, failure = _reference(job)
        wall = time.perf_counter() - t0
    try:
        est = _charged(job, lambda k: costs.quantum(job.n, job.d, k, group, job_alpha=None))
    except ModelDomainError:
        if not failure:
            raise
        # a failed solve of an infinite-κ block: a QLSA has no finite schedule for it
        return Outcome(0.0, "modelled", failure=failure, wall_s=wall)
    if ref is not None:
        t0 = time.perf_counter()
        solution = perturb(ref, costs.config.epsilon, rng)
        fidelity, error = _fidelity(solution, ref), _rel_error(solution, ref)
        wall += time.perf_counter() - t0
    # Two-qubit gates of one run: every query's gates plus, when charged, state preparation
    # (2·N_pad CNOTs per U_b query, see costs.quantum.state_prep_gates).
    t2 = to_seconds(group.gate_time_2q)
    n_2q = est.compute_s / est.runs / t2 if t2 and est.runs else 0.0
    n_2q += est.state_prep_s / est.runs / (t2 + to_seconds(group.gate_time_1q)) if est.runs else 0.0
    p_fail = failure_probability(group, 0.0, n_2q, est.n_qubits or 0.0)
    return Outcome(
        est.total_s,
        "modelled",
        p_fail=p_fail,
        compute_s=est.compute_s,
        state_prep_s=est.state_prep_s,
        readout_s=est.readout_s,
        overhead_s=est.overhead_s,
        queries=est.queries,
        shots=int(est.runs) if est.runs is not None else None,
        n_qubits=int(est.n_qubits) if est.n_qubits is not None else None,
        fidelity=fidelity,
        solution_error=error,
        solution=solution,
        wall_s=wall,
        failure=failure,
    )


def hhl_tuning(
    job: SolveJob, eps: float, quantum: Any, *, signed: bool = False
) -> tuple[float, float | None, float | None, int]:
    """The κ, eigenvalue window and clock size an HHL circuit is built for, from the *estimate*.

    The clock follows the executor's default rule n_c = ⌈log2(κ̂ / 2ε)⌉ (see
    :func:`hybridsim.quantum.hhl.default_clock_qubits`) but never exceeds
    ``quantum.max_clock_qubits`` (or equals ``quantum.clock_qubits`` when set). A clock of n_c
    qubits resolves κ up to 2ε·2^n_c; a larger or unusable (infinite) κ̂ is tuned to that window,
    as an experimenter with that register would have to, and the eigenvalues below it are
    inverted wrongly: the error shows up in the job's fidelity, not as a crash.

    A job without any estimate (policies that skip estimation, such as ``oracle`` or
    ``quantum_only`` with a custom workload) is treated like an unusable one: the circuit gets the
    largest clock and the widest window it can resolve, which is what an experimenter with no
    knowledge of the spectrum would build.

    With ``signed`` (an indefinite block, run in HHL's sign-qubit mode) the top clock bit holds
    the eigenvalue's sign: the rule gains one bit, the largest register still bounds it, so one
    bit fewer resolves |λ|, and at least 2 clock qubits are used. The estimators' bounds are
    eigenvalue magnitudes, which is what that mode is tuned to.

    Returns
    -------
    kappa, lambda_min, lambda_max, clock_qubits
        ``lambda_min``/``lambda_max`` are the estimator's bounds when it gave them (None
        otherwise: the executor then takes the Gershgorin bound for λ_max).
    """
    from hybridsim.quantum.hhl import default_clock_qubits

    max_clock = quantum.clock_qubits or quantum.max_clock_qubits
    if signed:
        max_clock = max(2, max_clock)
    resolvable = 2.0 * eps * 2.0 ** (max_clock - (1 if signed else 0))
    lam_min, lam_max = job.eigen_bounds if job.eigen_bounds is not None else (None, None)
    kappa = job.kappa_est
    if lam_min is not None and lam_max is not None and lam_min > 0:
        kappa = lam_max / lam_min  # the circuit's κ must agree with its eigenvalue window
    if kappa is None or not math.isfinite(kappa) or kappa > resolvable:
        kappa = resolvable
        if lam_max is not None:
            lam_min = lam_max / resolvable
    kappa = max(float(kappa), 1.0)
    if lam_min is not None and lam_max is not None and lam_min <= 0:
        lam_min = lam_max / kappa
    if quantum.clock_qubits:
        clock = max_clock
    else:
        clock = min(default_clock_qubits(kappa, eps, signed=signed), max_clock)
    return kappa, lam_min, lam_max, clock


def _hhl(
    job: SolveJob, group: Any, costs: CostModel, quantum: Any, rng: np.random.Generator
) -> Outcome:
    from hybridsim.quantum.hhl import hhl_resources, hhl_solve
    from hybridsim.quantum.readout import PostselectionError

    eps = costs.config.epsilon
    t0 = time.perf_counter()
    ref, failure = _reference(job)
    # The controller's pre-check: HHL inverts an indefinite block in its sign-qubit mode.
    signed = ref is not None and not _positive_definite(job.matrix)
    kappa, lam_min, lam_max, clock = hhl_tuning(job, eps, quantum, signed=signed)
    res = None
    if not failure:
        try:
            res = hhl_solve(
                job.matrix,
                job.rhs,
                clock_qubits=clock,
                shots=quantum.shots,
                rng=rng if quantum.shots else None,
                kappa=kappa,
                lambda_min=lam_min,
                lambda_max=lam_max,
                eps=eps,
                indefinite="sign_qubit" if signed else "refuse",
            )
        except PostselectionError:
            failure = "postselection"
    wall = time.perf_counter() - t0
    if res is not None:
        gc, n_qubits = res.gate_counts, res.n_qubits
    else:  # the attempt ran (or would have) the same circuit: time it from its exact counts
        info = hhl_resources(job.n, clock)
        gc, n_qubits = info["gate_counts"], info["n_qubits"]

    acc = costs.accounting
    t1, t2 = to_seconds(group.gate_time_1q), to_seconds(group.gate_time_2q)
    g_query = float(gates_per_query(acc.oracle, job.n, job.d))
    run_s = gc["n_1q"] * t1 + gc["n_2q"] * t2 + gc["u_applications"] * g_query * t2
    if quantum.shots:
        runs = int(quantum.shots)
    else:
        runs = int(readout_runs(acc.readout, job.n, costs.config.epsilon))
    compute_s = runs * run_s
    readout_s = (
        0.0
        if (acc.readout == "none" and not quantum.shots)
        else runs * (to_seconds(group.measure_time) + to_seconds(group.reset_time))
    )
    overhead_s = (
        math.ceil(runs / group.max_shots) * to_seconds(group.job_overhead)
        if acc.charge_job_overhead
        else 0.0
    )
    p_fail = failure_probability(
        group,
        gc["n_1q"],
        gc["n_2q"] + gc["u_applications"] * g_query,
        n_qubits,
    )
    timing = {
        "compute_s": compute_s,
        "state_prep_s": 0.0,  # inside the circuit's gate counts
        "readout_s": readout_s,
        "overhead_s": overhead_s,
        "queries": float(gc["u_applications"]),
        "shots": runs,
        "n_qubits": int(n_qubits),
        "wall_s": wall,
    }
    solver = "hhl_signed" if signed else "hhl"
    if res is None:
        return Outcome(compute_s + readout_s + overhead_s, solver, failure=failure, **timing)
    x = np.real_if_close(res.x)
    return Outcome(
        compute_s + readout_s + overhead_s,
        solver,
        p_fail=p_fail,
        success_probability=float(res.success_probability),
        fidelity=_fidelity(x, ref),
        solution_error=_rel_error(x, ref),
        solution=np.asarray(x, dtype=float),
        **timing,
    )
