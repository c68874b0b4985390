"""What a device does with a solve job: its service time and, with a matrix, its answer.

Pure functions (no simpy): the engine calls :func:`execute` when a job's payload has arrived and
turns the returned seconds into ticks. Three kinds of execution:

``numpy``     GPU job with a matrix: the solve of the job's classical method really runs
              (:mod:`hybridsim.linalg.solvers`: LU, Cholesky, CG, Woodbury from the factor U,
              matrix-free CG) on the block's classical form (the unpruned regularized block);
              time from that method's cost model (deterministic, not wall-clock).
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
``postselection``  an executed circuit's finite shots found no postselected outcome;
``insufficient_qubits``  the job needs more qubits than the QPU has per job (its logical qubits,
                   or on a fault-tolerant QPU the physical qubits of its estimate);
``code_distance``  (fault-tolerant QPU) no code distance up to the scheme's maximum meets the
                   job's error budget; ``estimator_limit``: counts beyond the reference
                   estimator's 64-bit range (``costs.ft_backend = "qdk"``).

A failed attempt still takes its full service time (the device ran), except a refused one
(``insufficient_qubits``, ``code_distance``, ``estimator_limit``): the controller refuses the
job before it starts, in zero time. An *indefinite* block is
not a failure: the QPU controller's classical pre-check (a Cholesky attempt, not charged) picks
HHL's sign-qubit mode for it, as the GPU's LU solves it too.

Executed-circuit time (see docs/background/hhl.md): one run costs
``n_1q·t_1q + n_2q·t_2q + u_applications·g·t_2q`` with the gates counted in a CX basis
(``n_1q_cx``, ``n_2q_cx``: a controlled phase is two CNOTs) and ``g`` the accounting's gates per
query (each application of U = e^{iAt} is one query to the matrix), i.e. gates executed one after
the other, an upper bound on a layered schedule. Usable outputs: the configured shots (successful,
postselected samples), else the accounting's readout model. The circuit's postselection succeeds
with probability p, so each usable output costs 1/p runs on average, and the job is charged
``usable / p`` runs; with ``quantum.amplitude_amplification`` an execution is instead k ≈ π/(4√p)
rounds (2k + 1 circuit passes and 2k reflections) that succeeds with probability ≈ 1
(:func:`hybridsim.costs.quantum.amplitude_amplification`). Each run pays measurement and reset
unless the readout is ``none`` and no shots are taken.

Fault-tolerant QPUs (a group with ``fault_tolerance``): a modelled job's service is the
fault-tolerant estimate of its logical counts per solve (:meth:`CostModel.quantum`); an executed
circuit's counts come from the circuit itself (:func:`hybridsim.costs.logical.circuit_counts`,
each application of U charged one query of the accounting's oracle), times the same executions
as above (:func:`hybridsim.costs.logical.executed_counts`), estimated the same way. Either way
the attempt fails (``gate or readout error``) with the estimate's failure probability (at most
the error budget) instead of the per-gate error model, and the outcome carries the job's logical
qubits, T states, code distance and physical qubits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from hybridsim.costs import logical
from hybridsim.costs.classical import ClassicalForm
from hybridsim.costs.model import CostModel, ServiceEstimate
from hybridsim.costs.quantum import (
    amplitude_amplification,
    gates_per_query,
    readout_runs,
    reflection_gates,
)
from hybridsim.errors import ModelDomainError, SolverError
from hybridsim.scheduling.base import SolveJob

__all__ = [
    "Outcome",
    "PostselectionCharge",
    "execute",
    "perturb",
    "postselection_charge",
]


class Outcome(NamedTuple):
    """Service of one job on one device, and its answer where one was computed.

    A ``NamedTuple`` (immutable, like the job record it feeds): one is built per job, and a
    frozen dataclass paid one ``object.__setattr__`` per field (6 µs for these 26, as much as
    the rest of a modelled QPU job's execution; a NamedTuple takes a fifth of that).
    """

    service_s: float
    solver: str
    method: str | None = None  # classical method, or the QLSA, that solved the job
    matrix: str | None = None  # "pruned" / "unpruned": which form of the block was solved
    assembly_s: float | None = None  # forming (and pruning) the block, for this route
    factor_reused: bool = False  # an LU from the κ estimator replaced the factorization
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
    aa_rounds: int | None = None  # amplitude-amplification rounds per execution (executed HHL)
    failure: str = ""  # why the attempt gave no answer ("" when it did), see the module docstring
    logical_qubits: int | None = None  # QPU jobs: the job's logical qubits (numQubits)
    t_count: int | None = None  # fault-tolerant QPU: T states the solve consumes
    code_distance: int | None = None  # fault-tolerant QPU
    physical_qubits: int | None = None  # QPU jobs: qubits occupied (the estimate's on an FT QPU)

    @property
    def resources(self) -> tuple[int | None, int | None, int | None, int | None]:
        """(logical_qubits, t_count, code_distance, physical_qubits), the job record's tail."""
        return (self.logical_qubits, self.t_count, self.code_distance, self.physical_qubits)


def _resources(est: ServiceEstimate) -> dict[str, Any]:
    """The size fields of an Outcome from a QPU estimate."""
    return {
        "logical_qubits": est.logical_qubits,
        "t_count": est.t_count,
        "code_distance": est.code_distance,
        "physical_qubits": est.physical_qubits,
    }


def failure_probability(qpu: Any, n_1q: float, n_2q: float, n_measured: float) -> float:
    """Probability that one run suffers at least one gate or readout error.

    1 − (1−e₁)^{n₁}·(1−e₂)^{n₂}·(1−e_r)^{n_m}: the complement of the *estimated success
    probability* used to compare NISQ compilations (Nishio et al., ACM JETC 16, 2020), with
    independent errors per gate (inferred as a job-failure model: an errored run yields a wrong
    state, which the simulator counts as a failed attempt). Computed with log1p/expm1 so tiny
    rates over billions of gates stay accurate.
    """
    # (three terms written out, not a loop over pairs: once per modelled QPU job)
    log_ok = 0.0
    rate = qpu.error_1q
    if rate > 0.0 and n_1q > 0:
        log_ok += n_1q * math.log1p(-rate)
    rate = qpu.error_2q
    if rate > 0.0 and n_2q > 0:
        log_ok += n_2q * math.log1p(-rate)
    rate = qpu.readout_error
    if rate > 0.0 and n_measured > 0:
        log_ok += n_measured * math.log1p(-rate)
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
    if job.matrix is None and job.rhs is None:
        # No arrays (a shape run's jobs): _execute's dispatch taken directly, and no answer
        # to check (a Python call less for every modelled job).
        if group.kind != "gpu":
            return _modelled_quantum(job, group, costs, rng)
        if job.structure is not None:
            return _structured_classical(job, group, costs)
    outcome = _execute(job, group, costs, quantum, rng)
    if outcome.solution is not None and not np.all(np.isfinite(outcome.solution)):
        return outcome._replace(solution=None, failure="non-finite")
    return outcome


def _finite(*arrays: np.ndarray | None) -> bool:
    return all(a is None or bool(np.all(np.isfinite(a))) for a in arrays)


def _reference(job: SolveJob) -> tuple[np.ndarray | None, str]:
    """The exact solution of ``job``'s system, or None and the failure reason."""
    assert job.matrix is not None and job.rhs is not None  # only jobs that really run come here
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
        return Outcome(
            0.0,
            "trivial",
            **_quantum_tags(job, None),
            solution=np.zeros(job.n),
            solution_error=0.0,
        )
    if job.matrix is not None and 0 < job.n <= quantum.execute_max_n:
        return _hhl(job, group, costs, quantum, rng)
    return _modelled_quantum(job, group, costs, rng)


def _classical(job: SolveJob, group: Any, costs: CostModel) -> Outcome:
    if job.structure is not None:
        return _structured_classical(job, group, costs)

    def estimate(kappa):
        return costs.classical(job.n, job.d, kappa, group)

    if job.matrix is None:
        est = estimate(_kappa_for_charge(job))
        return Outcome(est.total_s, "modelled", method=est.method, compute_s=est.compute_s)
    assert job.rhs is not None  # a block that runs comes with its right-hand side
    t0 = time.perf_counter()
    # A block that cannot be solved at all (non-finite entries, exactly singular) is a structural
    # fact of the workload: reported as a failed attempt, never raised.
    failure = "" if _finite(job.matrix, job.rhs) else "non-finite"
    try:
        est = _charged(job, estimate)
    except ModelDomainError:
        _, failure = _reference(job)
        if not failure:
            raise
        # a failed solve whose time depends on an infinite κ (CG on a singular block): no finite
        # schedule exists, the attempt ends at once
        return Outcome(0.0, "numpy", failure=failure, wall_s=time.perf_counter() - t0)
    method = est.method
    x = None
    if not failure:
        # imported here: scipy.linalg stays out of ``import hybridsim; hybridsim.run``
        from hybridsim.linalg import solvers

        try:
            if method == "lu":
                x = np.linalg.solve(job.matrix, job.rhs)
            elif method == "cholesky":
                try:
                    x = solvers.solve_cholesky(job.matrix, job.rhs)
                except np.linalg.LinAlgError:
                    # Not positive definite after all: a real code falls back to LU, and so does
                    # the charge (a form not known to be SPD prices a fixed cholesky as lu).
                    form = ClassicalForm(job.n, job.d)
                    est = costs.classical(job.n, job.d, None, group, form=form)
                    method = est.method
                    x = np.linalg.solve(job.matrix, job.rhs)
            else:  # cg: an exactly singular block is one on every route (LU meets a zero pivot)
                ref, failure = _reference(job)
                if not failure:
                    try:
                        x = solvers.solve_cg(job.matrix, job.rhs, rtol=costs.config.epsilon)
                    except SolverError:
                        # CG broke down: not positive definite after all. As for Cholesky, a
                        # real code falls back to LU, and so does the charge.
                        form = ClassicalForm(job.n, job.d)
                        est = costs.classical(job.n, job.d, None, group, form=form)
                        method = est.method
                        x = ref
        except np.linalg.LinAlgError:
            failure = "singular"
    return Outcome(
        est.total_s,
        "numpy",
        method=method,
        compute_s=est.compute_s,
        solution=x,
        wall_s=time.perf_counter() - t0,
        failure=failure,
    )


def _structured_classical(job: SolveJob, group: Any, costs: CostModel) -> Outcome:
    """A job with a classical form: its method's numerics on the unpruned block."""
    s = job.structure
    est = costs.classical_charge(job, group)
    method = est.method
    matrix = "unpruned"
    reused = method == "lu" and s.form.factored
    if job.rhs is None or (s.matrix is None and s.factor_rows is None):
        return Outcome(
            est.total_s,
            "modelled",
            method=method,
            matrix=matrix,
            assembly_s=est.assembly_s,
            factor_reused=reused,
            compute_s=est.compute_s,
        )
    from hybridsim.linalg import solvers  # scipy.linalg: only when a solve really runs

    t0 = time.perf_counter()
    eps = costs.config.epsilon
    b = job.rhs
    if method == "woodbury":
        x = solvers.solve_woodbury(s.factor, s.shift, b)
    elif method == "cg_matrix_free":
        x = solvers.solve_cg_matrix_free(s.factor, s.shift, b, rtol=eps)
    elif method == "lu":
        x = solvers.solve_lu(None if reused else s.dense(), b, factor=s.lu if reused else None)
    elif method == "cholesky":
        x = solvers.solve_cholesky(s.dense(), b)
    else:  # cg
        x = solvers.solve_cg(s.dense(), b, rtol=eps)
    return Outcome(
        est.total_s,
        "numpy",
        method=method,
        matrix=matrix,
        assembly_s=est.assembly_s,
        factor_reused=reused,
        compute_s=est.compute_s,
        solution=x,
        wall_s=time.perf_counter() - t0,
    )


def _quantum_tags(job: SolveJob, method: str | None) -> dict[str, Any]:
    """The ``method``/``matrix``/``assembly_s`` of a QPU outcome: the QLSA, which form of the
    block it solved, and the preparation charged on the origin GPU before submission."""
    s = job.structure
    if s is None:
        return {"method": method}
    return {
        "method": method,
        "matrix": "pruned" if s.pruned else "unpruned",
        "assembly_s": job.quantum_prep_s,
    }


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
    # A primed step's estimate is memoized: read it without entering np.errstate (what
    # _charged's first attempt returns for it; its fallbacks only run when that attempt raises).
    k = job.kappa_true if job.kappa_true is not None else job.kappa_est  # _kappa_for_charge
    est = costs.cached_quantum(job.n, job.d, k, group) if k is not None else None
    try:
        if est is None:
            est = _charged(job, lambda x: costs.quantum(job.n, job.d, x, group, job_alpha=None))
    except ModelDomainError:
        if not failure:
            raise
        # a failed solve of an infinite-κ block: a QLSA has no finite schedule for it
        return Outcome(
            0.0, "modelled", **_quantum_tags(job, costs.config.algorithm), failure=failure,
            wall_s=wall,
        )  # fmt: skip
    if est.refusal:
        # the QPU cannot hold (or error-correct) the job: refused before it starts
        return Outcome(
            0.0,
            "modelled",
            **_quantum_tags(job, costs.config.algorithm),
            queries=est.queries,
            n_qubits=int(est.n_qubits) if est.n_qubits is not None else None,
            wall_s=wall,
            failure=est.refusal,
            **_resources(est),
        )
    if ref is not None:
        t0 = time.perf_counter()
        solution = perturb(ref, costs.config.epsilon, rng)
        fidelity, error = _fidelity(solution, ref), _rel_error(solution, ref)
        wall += time.perf_counter() - t0
    # Two-qubit gates of one run: every query's gates plus, when charged, state preparation
    # (2·N_pad CNOTs per U_b query, see costs.quantum.state_prep_gates).
    spec = costs.qpu_spec(group)
    if spec.fault_tolerant:
        assert est.failure_probability is not None  # a fault-tolerant estimate has its bound
        p_fail = float(est.failure_probability)
    else:
        t2 = spec.gate_time_2q_s
        runs = est.runs
        n_2q = est.compute_s / runs / t2 if t2 and runs else 0.0
        n_2q += est.state_prep_s / runs / (t2 + spec.gate_time_1q_s) if runs else 0.0
        p_fail = failure_probability(group, 0.0, n_2q, est.n_qubits or 0.0)
    s = job.structure
    # One Outcome per modelled QPU job, made from a tuple in field order (_MODELLED_LAYOUT,
    # checked against Outcome's fields at import): keywords and merged dicts cost as much again.
    return _new_outcome(
        (
            est.total_s,  # service_s
            "modelled",  # solver
            costs.config.algorithm,  # method
            None if s is None else ("pruned" if s.pruned else "unpruned"),  # matrix
            None if s is None else job.quantum_prep_s,  # assembly_s (_quantum_tags)
            False,  # factor_reused
            est.compute_s,
            est.state_prep_s,
            est.readout_s,
            est.overhead_s,
            est.queries,
            int(est.runs) if est.runs is not None else None,  # shots
            int(est.n_qubits) if est.n_qubits is not None else None,  # n_qubits
            None,  # success_probability
            fidelity,
            error,  # solution_error
            solution,
            wall,  # wall_s
            p_fail,
            None,  # aa_rounds
            failure,
            est.logical_qubits,
            est.t_count,
            est.code_distance,
            est.physical_qubits,
        )
    )


_new_outcome = partial(tuple.__new__, Outcome)
#: The order of the modelled QPU outcome's tuple above (Outcome's fields).
_MODELLED_LAYOUT = (
    "service_s",
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
    "success_probability",
    "fidelity",
    "solution_error",
    "solution",
    "wall_s",
    "p_fail",
    "aa_rounds",
    "failure",
    "logical_qubits",
    "t_count",
    "code_distance",
    "physical_qubits",
)
if Outcome._fields != _MODELLED_LAYOUT:  # pragma: no cover - fails at import, in every test
    raise ImportError(
        f"the modelled outcome's layout differs from Outcome's fields: {Outcome._fields}"
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
        # A clock that resolves less than κ = 1 (a tiny ε) is tuned to κ = 1: the window must
        # stay a window (λ_min <= λ_max; it once became λ_max / 2e-9 at ε = 1e-12).
        kappa = max(resolvable, 1.0)
        if lam_max is not None:
            lam_min = lam_max / kappa
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

    assert job.matrix is not None  # _execute runs HHL only on a block that is there
    eps = costs.config.epsilon
    t0 = time.perf_counter()
    ref, failure = _reference(job)
    # The controller's pre-check: HHL inverts an indefinite block in its sign-qubit mode.
    signed = ref is not None and not _positive_definite(job.matrix)
    kappa, lam_min, lam_max, clock = hhl_tuning(job, eps, quantum, signed=signed)
    spec = costs.qpu_spec(group)
    oracle = costs.oracle_cost(job.n, job.d)
    width = 1 + clock + max(1, math.ceil(math.log2(job.n)))  # ancilla, clock, system
    if not spec.fault_tolerant and width + oracle.qubits > spec.job_qubits:
        # A physical QPU too small for the circuit and its oracle: refused before it runs.
        qubits = width + oracle.qubits
        return Outcome(
            0.0,
            "hhl_signed" if signed else "hhl",
            **_quantum_tags(job, "hhl"),
            n_qubits=width,
            logical_qubits=qubits,
            physical_qubits=qubits,
            wall_s=time.perf_counter() - t0,
            failure="insufficient_qubits",
        )
    res = None
    if not failure:
        try:
            res = hhl_solve(
                job.matrix,
                job.rhs,
                clock_qubits=clock,
                shots=quantum.shots,
                rng=rng if quantum.shots else None,
                postselected_shots=True,
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
        gc, n_qubits, clock = res.gate_counts, int(res.n_qubits), int(res.clock_qubits)
        p_success = float(res.extra["p_success_exact"])
        circuit = res.circuit
    else:
        # The attempt ran (or would have run) the same circuit: time it from its exact counts.
        # Without an answer its postselection probability is unknown: charged as if every run
        # succeeded (p = 1), a lower bound on what the failed attempt cost.
        info = hhl_resources(job.n, clock)
        gc, n_qubits, p_success = info["gate_counts"], int(info["n_qubits"]), 1.0
        circuit = None
    acc = costs.accounting
    if quantum.shots:
        usable = float(quantum.shots)
    else:
        usable = float(readout_runs(acc.readout, job.n, costs.config.epsilon))
    charge = postselection_charge(
        gc,
        p_success,
        usable,
        gates_per_query=float(gates_per_query(acc.oracle, job.n, job.d)),
        n_qubits=n_qubits,
        flag_qubits=1 + clock,
        amplify=bool(quantum.amplitude_amplification),
    )
    runs = charge.executions
    solver = "hhl_signed" if signed else "hhl"
    if spec.fault_tolerant:
        est = _fault_tolerant_circuit(
            costs, group, job, clock, circuit, oracle, charge, usable, n_qubits
        )
        compute_s, readout_s, overhead_s = est.compute_s, 0.0, est.overhead_s
        sizes = _resources(est)
        if est.refusal:
            failure, compute_s, overhead_s, res = est.refusal, 0.0, 0.0, None
    else:
        compute_s = runs * (charge.n_1q * spec.gate_time_1q_s + charge.n_2q * spec.gate_time_2q_s)
        readout_s = (
            0.0
            if (acc.readout == "none" and not quantum.shots)
            else runs * (spec.measure_time_s + spec.reset_time_s)
        )
        overhead_s = (
            math.ceil(runs / spec.max_shots_per_job - 1e-9) * spec.job_overhead_s
            if acc.charge_job_overhead
            else 0.0
        )
        qubits = n_qubits + oracle.qubits
        sizes = {"logical_qubits": qubits, "physical_qubits": qubits}
    timing: dict[str, Any] = {  # Outcome fields, as keywords
        "compute_s": compute_s,
        "state_prep_s": 0.0,  # inside the circuit's gate counts
        "readout_s": readout_s,
        "overhead_s": overhead_s,
        "queries": float(gc["u_applications"]) * charge.passes,
        "shots": math.ceil(runs - 1e-9),
        "n_qubits": n_qubits,
        "wall_s": wall,
        "aa_rounds": charge.rounds,
        **sizes,
    }
    if res is None:
        return Outcome(
            compute_s + readout_s + overhead_s,
            solver,
            **_quantum_tags(job, "hhl"),
            failure=failure,
            **timing,
        )
    assert ref is not None  # an answer implies the reference solve succeeded
    x = np.real_if_close(res.x)
    if spec.fault_tolerant:
        assert est.failure_probability is not None  # a fault-tolerant estimate has its bound
        p_fail = float(est.failure_probability)
    else:
        p_fail = failure_probability(group, charge.n_1q, charge.n_2q, n_qubits)
    return Outcome(
        compute_s + readout_s + overhead_s,
        solver,
        **_quantum_tags(job, "hhl"),
        p_fail=p_fail,
        success_probability=float(res.success_probability),
        fidelity=_fidelity(x, ref),
        solution_error=_rel_error(x, ref),
        solution=np.asarray(x, dtype=float),
        **timing,
    )


def _fault_tolerant_circuit(
    costs: CostModel,
    group: Any,
    job: SolveJob,
    clock: int,
    circuit: Any,
    oracle: logical.OracleCost,
    charge: PostselectionCharge,
    usable: float,
    n_qubits: int,
) -> ServiceEstimate:
    """The fault-tolerant estimate of an executed circuit's solve: its own Clifford + T +
    rotation counts (the circuit that ran; for an attempt without an answer, the same circuit
    without its data, a lower bound), each U application one query of the accounting's oracle,
    over the executions and passes the postselection charges, plus the amplification's
    reflections (2(m − 2) Toffolis about m ≥ 3 qubits, as :func:`~hybridsim.costs.quantum.
    reflection_gates`)."""
    if circuit is None:
        from hybridsim.quantum.hhl import build_hhl_circuit

        circuit = build_hhl_circuit(max(1, math.ceil(math.log2(job.n))), clock)
    cc = logical.circuit_counts(circuit)

    def toffolis(m: int) -> int:
        return 2 * (m - 2) if m >= 3 else 0

    reflections = charge.rounds * (toffolis(1 + clock) + toffolis(n_qubits))
    counts = logical.executed_counts(
        cc, oracle, charge.executions, passes=charge.passes, reflection_toffolis=reflections
    )
    return costs.fault_tolerant(
        group,
        counts,
        runs=usable,
        queries=float(cc.u_applications * charge.passes),
        n_qubits=float(n_qubits),
    )


@dataclass(frozen=True, slots=True)
class PostselectionCharge:
    """What an executed circuit is charged for its usable outputs (:func:`postselection_charge`).

    Parameters
    ----------
    executions : float
        Expected executions (runs) in total: usable / p, or usable / p_k with amplification.
    n_1q, n_2q : float
        One- and two-qubit gates of one execution in a CX basis, the oracle's queries included.
    rounds : int
        Amplitude-amplification rounds per execution (0 without amplification).
    passes : int
        Circuit passes per execution, 2·rounds + 1.
    """

    executions: float
    n_1q: float
    n_2q: float
    rounds: int
    passes: int


def postselection_charge(
    gate_counts: dict,
    p: float,
    usable: float,
    *,
    gates_per_query: float,
    n_qubits: int,
    flag_qubits: int,
    amplify: bool = False,
) -> PostselectionCharge:
    """Executions and gates per execution of an executed HHL circuit with postselection.

    A run succeeds (ancilla = 1, clock = 0) with probability p, so ``usable`` outputs cost
    ``usable / p`` runs on average (the expectation is charged, as the query counts of the cost
    models are). One run is the circuit's CX-basis gates plus ``u_applications ×
    gates_per_query`` two-qubit gates for the oracle. With ``amplify`` an execution is k rounds
    of amplitude amplification (:func:`hybridsim.costs.quantum.amplitude_amplification`):
    2k + 1 passes, k reflections about the flag (``flag_qubits`` = ancilla + clock) and k about
    the all-zero input (``n_qubits``), succeeding with probability sin²((2k+1)θ).

    Examples
    --------
    >>> gc = {"n_1q_cx": 100, "n_2q_cx": 50, "u_applications": 10}
    >>> c = postselection_charge(gc, 0.01, 1.0, gates_per_query=1.0, n_qubits=8, flag_qubits=4)
    >>> round(c.executions, 6), c.n_2q, c.rounds
    (100.0, 60.0, 0)
    """
    if not 0.0 < p <= 1.0:
        raise ValueError(f"postselection probability must be in (0, 1], got {p!r}")
    one_1q = float(gate_counts["n_1q_cx"])
    one_2q = float(gate_counts["n_2q_cx"]) + float(gate_counts["u_applications"]) * gates_per_query
    if not amplify:
        return PostselectionCharge(usable / p, one_1q, one_2q, 0, 1)
    aa = amplitude_amplification(p)
    flag_2q, flag_1q = reflection_gates(flag_qubits)
    zero_2q, zero_1q = reflection_gates(n_qubits)
    return PostselectionCharge(
        usable * aa.executions_per_output,
        aa.passes * one_1q + aa.rounds * (flag_1q + zero_1q),
        aa.passes * one_2q + aa.rounds * (flag_2q + zero_2q),
        aa.rounds,
        aa.passes,
    )
