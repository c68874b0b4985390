"""HHL executor: a real qutip-qip circuit that solves small Hermitian systems ``A x = b``.

The circuit (Harrow, Hassidim, Lloyd 2009; layout of Dervovic et al. 2018, Fig. 5) on
``Q = 1 + n_c + n`` qubits, qutip order, qubit 0 most significant::

    qubit 0          ancilla  ─────────────────────── R_y(θ_k) ─────────────────── (measure 1)
    qubits 1 … n_c   clock    ─ H ─ ●(U^2^j) ─ QFT† ─── ●(k) ─── QFT ─ ●(U^-2^j) ─ H ─ (measure 0)
    qubits n_c+1 …   system   ─ prep(b) ─ U ───────────────────────── U† ───────── x/‖x‖

1. ``prep(b)``: Möttönen state preparation of ``b/‖b‖`` (uniformly controlled R_y, plus R_z for
   complex ``b``).
2. Phase estimation: Hadamards on the clock, ``controlled-U^(2^j)`` with ``U = e^{iAt}``
   (:mod:`hybridsim.quantum.evolution`: exact, or Trotterized), inverse QFT. Clock qubit ``1 + i``
   controls ``U^(2^i)``: this bit-reversed wiring replaces the QFT's final SWAPs.
3. Eigenvalue inversion: one uniformly controlled ``R_y`` on the ancilla with
   ``θ_k = 2·asin(f(k))``, ``f(0) = 0``, ``f(k) = min(1, C/k)``; it stays one gate (block-diagonal),
   never a dense ``2^(n_c+1)`` matrix.
4. Uncomputation: QFT, ``controlled-U^(−2^j)``, Hadamards.
5. Postselection on ancilla = 1 and clock = 0, done on the final state (the circuit holds no
   measurement gates: qutip-qip would draw their outcomes from global random state).

The postselected system amplitudes equal the closed form of :func:`closed_form_hhl`
(docs/background/references.md#hhl-closed-form):
``x_HHL = Σ_j <u_j|b̂> g(λ_j) u_j`` with ``g(λ) = Σ_k |α_k(λt/2π)|² f(k)`` and
``p_success = ‖x_HHL‖²``. Since ``f(k) ≈ C/k`` and ``k ≈ λtD/2π``, ``x_HHL ≈ (2πC/tD)·A⁻¹b̂`` and the
norm is recovered as ``‖x‖ ≈ ‖b‖·√p·t·D/(2πC)``.

Parameter choices (all documented on :func:`hhl_solve`): ``t`` maps the upper eigenvalue bound to
clock value ``0.75·D`` (the headroom keeps the phase-estimation tails of the largest eigenvalues
from wrapping round to small clock values, where ``f`` is largest); ``C`` is ``0.75`` of the clock
value of the lower bound (a smaller ``C`` clips fewer smeared small eigenvalues at ``f = 1`` but
lowers the success probability, which scales as ``C²``). Both fractions were chosen by a sweep over
random SPD systems (docs/background/hhl.md).

References
----------
A. W. Harrow, A. Hassidim, S. Lloyd, "Quantum algorithm for linear systems of equations",
Phys. Rev. Lett. 103, 150502 (2009).
D. Dervovic, M. Herbster, P. Mountney, S. Severini, N. Usher, L. Wossnig, "Quantum linear systems
algorithms: a primer", arXiv:1802.08227 (2018).
R. Cleve, A. Ekert, C. Macchiavello, M. Mosca, "Quantum algorithms revisited", Proc. R. Soc. A 454,
339 (1998) (phase-estimation amplitudes).
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hybridsim.errors import SolverError
from hybridsim.quantum.noise import NoiseModel, apply_readout_error
from hybridsim.quantum.readout import SIGN_MODES

__all__ = [
    "QLSAResult",
    "HHLOptions",
    "hhl_solve",
    "hhl_resources",
    "closed_form_hhl",
    "fidelity",
    "default_clock_qubits",
    "build_hhl_circuit",
    "MAX_N",
    "MAX_QUBITS",
    "PHASE_FRACTION",
    "C_FRACTION",
]

MAX_N = 64
"""Largest system size ``hhl_solve`` accepts (6 system qubits)."""

MAX_QUBITS = 24
"""Largest total qubit count simulated (a 2^24 state vector is 256 MB; every gate copies it)."""

PHASE_FRACTION = 0.75
"""The upper eigenvalue bound lands on clock value ``PHASE_FRACTION·D`` (``D = 2^n_c``)."""

C_FRACTION = 0.75
"""``C`` is this fraction of the clock value of the lower eigenvalue bound."""

_MIN_CLOCK = 2
_INDEFINITE_MODES = ("refuse", "sign_qubit")
_EVOLUTIONS = ("exact", "trotter")


def fidelity(x: np.ndarray, x_ref: np.ndarray) -> float:
    """``|<x̂, x̂_ref>|²`` of the normalized vectors (1 = same direction up to a phase).

    Examples
    --------
    >>> fidelity(np.array([1.0, 0.0]), np.array([-2.0, 0.0]))
    1.0
    """
    x = np.asarray(x).reshape(-1)
    y = np.asarray(x_ref).reshape(-1)
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    if nx == 0 or ny == 0:
        return 0.0
    return float(abs(np.vdot(x, y)) ** 2 / (nx * nx * ny * ny))


@dataclass(frozen=True, slots=True, eq=False)
class QLSAResult:
    """Outcome of one simulated HHL solve.

    Attributes
    ----------
    x : numpy.ndarray
        Solution estimate of length ``N``, norm recovered from the success probability:
        ``‖x‖ = ‖b‖·√p·t·D/(2πC)``. Real when ``A`` and ``b`` are real.
    state : numpy.ndarray
        Normalized postselected system amplitudes (the unpadded ``N`` entries, renormalized).
    success_probability : float
        Probability of ancilla = 1 and clock = 0 (estimated from shots when ``shots`` is set).
    n_qubits : int
        ``1 + clock_qubits + system qubits``.
    gate_counts : dict
        Hardware-form counts, see :func:`hybridsim.quantum.circuits.count_gates`: gate name → count
        (``SNOT``, ``CPHASE``, ``RY``, ``RZ``, ``CNOT``, ``CU``), ``n_1q``, ``n_2q`` (the circuit's
        native basis: uniformly controlled rotations counted as their CNOT + rotation
        decomposition, CPHASE as one two-qubit gate), ``n_1q_cx``, ``n_2q_cx`` (CX basis: a CPHASE
        is two CNOTs and three phase gates; the counts the simulator charges), ``n_oracle``
        (controlled-U calls, each counted once and in neither two-qubit count),
        ``u_applications`` (total applications of ``U = e^{iAt}``, ``2(D−1)``) and ``depth``.
    circuit : qutip_qip.circuit.QubitCircuit
        The circuit that was simulated.
    clock_qubits : int
    evolution_time : float
        ``t`` in ``U = e^{iAt}``.
    C : float
        Inversion constant.
    shots : int or None
        Circuit executions (None for the exact state).
    kappa, lambda_min, lambda_max : float
        The condition number and eigenvalue bounds the circuit was tuned to (magnitudes for
        ``indefinite="sign_qubit"``).
    spectrum_source : str
        ``"exact"`` (computed from A) or ``"caller"`` (from the caller's estimates).
    evolution : str
        ``"exact"`` or ``"trotter"``.
    trotter_steps : int or None
        Trotter steps per ``U``.
    signs : str or None
        Sign-readout mode when ``shots`` is set.
    noise : NoiseModel or None
    build_wall_s, simulate_wall_s : float
        Wall-clock seconds spent building the circuit and simulating it (incl. readout). They vary
        between runs: keep them out of outputs that must be byte-identical.
    extra : dict
        Diagnostics: ``p_success_exact`` (the simulated state's postselection probability, before
        shot noise) and, with shots, ``magnitude_shots``, ``sign_shots``, ``successes``,
        ``executions`` (failed ones included).
    """

    x: np.ndarray
    state: np.ndarray
    success_probability: float
    n_qubits: int
    gate_counts: dict
    circuit: Any
    clock_qubits: int
    evolution_time: float
    C: float
    shots: int | None
    kappa: float
    lambda_min: float
    lambda_max: float
    spectrum_source: str
    evolution: str = "exact"
    trotter_steps: int | None = None
    signs: str | None = None
    noise: Any = None
    build_wall_s: float = 0.0
    simulate_wall_s: float = 0.0
    extra: dict = field(default_factory=dict)

    def fidelity(self, x_ref: np.ndarray) -> float:
        """``|<x̂, x̂_ref>|²`` of this result's ``x`` against a reference solution."""
        return fidelity(self.x, x_ref)


def _positive_finite(v: Any) -> bool:
    return bool(
        isinstance(v, int | float | np.floating | np.integer) and math.isfinite(v) and v > 0
    )


@dataclass(frozen=True, slots=True)
class HHLOptions:
    """How :func:`hhl_solve` tunes and reads out the circuit, validated once when built.

    As with QuTiP's solver options, one validated record can serve many solves; fields are those
    :func:`hhl_solve` documents (and also accepts as keywords).

    Parameters
    ----------
    kappa, lambda_min, lambda_max : float, optional
        The caller's estimates of the condition number and eigenvalue bounds (finite, > 0;
        ``kappa >= 1``). ``lambda_max`` alone is refused (the lower bound would be unknown).
    eps : float
        Target relative error of ``x`` for the default clock size (and Trotter step count), in
        (0, 1).
    evolution : {"exact", "trotter"}
        How ``U = e^{iAt}`` is computed.
    trotter_steps : int, optional
        Trotter steps per ``U`` (only with ``evolution="trotter"``).
    signs : {"interference", "exact_state"}
        Sign readout with shots.
    indefinite : {"refuse", "sign_qubit"}
        What to do with a matrix that is not positive definite.
    noise : NoiseModel, optional
        Gate and readout noise.

    Raises
    ------
    SolverError
        An option outside the ranges above, or inconsistent options.

    Examples
    --------
    >>> opts = HHLOptions(eps=0.05, evolution="trotter")
    >>> r = hhl_solve(np.diag([1.0, 2.0]), np.ones(2), options=opts)
    >>> r.evolution, r.clock_qubits
    ('trotter', 5)
    """

    kappa: float | None = None
    lambda_min: float | None = None
    lambda_max: float | None = None
    eps: float = 0.01
    evolution: str = "exact"
    trotter_steps: int | None = None
    signs: str = "interference"
    indefinite: str = "refuse"
    noise: NoiseModel | None = None

    def __post_init__(self) -> None:
        if self.indefinite not in _INDEFINITE_MODES:
            raise SolverError(
                f"indefinite must be one of {_INDEFINITE_MODES}, got {self.indefinite!r}"
            )
        if self.evolution not in _EVOLUTIONS:
            raise SolverError(f"evolution must be one of {_EVOLUTIONS}, got {self.evolution!r}")
        steps = self.trotter_steps
        if steps is not None and (
            isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1
        ):
            raise SolverError(f"trotter_steps must be a positive integer, got {steps!r}")
        if steps is not None and self.evolution != "trotter":
            raise SolverError("trotter_steps is only meaningful with evolution='trotter'")
        if not (isinstance(self.eps, int | float) and 0.0 < self.eps < 1.0):
            raise SolverError(f"eps must be in (0, 1), got {self.eps!r}")
        if self.signs not in SIGN_MODES:
            raise SolverError(f"signs must be one of {SIGN_MODES}, got {self.signs!r}")
        if self.noise is not None and not isinstance(self.noise, NoiseModel):
            raise SolverError(
                f"noise must be a hybridsim.quantum.noise.NoiseModel, got {self.noise!r}"
            )
        for name in ("kappa", "lambda_min", "lambda_max"):
            v = getattr(self, name)
            if v is not None and not _positive_finite(v):
                raise SolverError(f"{name} must be a finite positive number, got {v!r}")
        if self.kappa is not None and self.kappa < 1.0:
            raise SolverError(
                f"kappa is a condition number, so it must be >= 1, got {self.kappa!r}"
            )
        if self.lambda_max is not None and self.lambda_min is None and self.kappa is None:
            raise SolverError(
                "with lambda_max alone the lower bound is unknown: also pass kappa or lambda_min"
            )
        if (
            self.lambda_min is not None
            and self.lambda_max is not None
            and float(self.lambda_min) > float(self.lambda_max)
        ):
            raise SolverError(
                f"lambda_min = {float(self.lambda_min)} exceeds "
                f"lambda_max = {float(self.lambda_max)}"
            )

    @property
    def signed(self) -> bool:
        """Whether the clock is two's complement (``indefinite="sign_qubit"``)."""
        return self.indefinite == "sign_qubit"


def default_clock_qubits(kappa: float, eps: float = 0.01, *, signed: bool = False) -> int:
    """Clock size ``n_c = max(2, ⌈log2(κ / (2ε))⌉)`` (+1 with a sign bit).

    ``ε`` is the target relative 2-norm error of the recovered ``x`` (direction and norm). HHL's
    eigenvalue error is about ``1/k_min`` with ``k_min ≈ 0.75·D/κ``, so ``D ∝ κ/ε`` (Harrow et al.
    2009, ``t0 = O(κ/ε)``); the constant was calibrated with :func:`closed_form_hhl` on 1500 random
    SPD systems (``N ≤ 32``, ``κ ∈ [1.5, 100]``, three spectrum shapes, ``ε ∈ [0.003, 0.1]``): the
    worst error was ``0.58·ε``. At the default ``ε = 0.01`` and ``κ ≤ 10`` that is ``n_c = 9`` and
    fidelity ≥ 0.9999. In sign-qubit mode the top clock bit holds the sign, so one more bit keeps
    the resolution.

    Examples
    --------
    >>> default_clock_qubits(10.0, 0.01)
    9
    """
    if not (kappa >= 1.0 and math.isfinite(kappa)):
        raise SolverError(f"kappa must be a finite number >= 1, got {kappa!r}")
    if not (0.0 < eps < 1.0):
        raise SolverError(f"eps must be in (0, 1), got {eps!r}")
    n_c = max(_MIN_CLOCK, math.ceil(math.log2(kappa / (2.0 * eps)) - 1e-12))
    return n_c + (1 if signed else 0)


def _inversion_values(clock_qubits: int, C: float, signed: bool) -> np.ndarray:
    """``f(k)`` for every clock value: ``C/k`` clipped to [−1, 1], ``f(0) = 0``."""
    d = 2**clock_qubits
    k = np.arange(d, dtype=float)
    if signed:
        # Two's complement: values >= D/2 are the negative eigenvalues (the top bit is the sign).
        k = np.where(k >= d // 2, k - d, k)
    f = np.zeros(d)
    nz = k != 0
    f[nz] = np.clip(C / k[nz], -1.0, 1.0)
    return f


def _qpe_probabilities(phi: np.ndarray, d: int) -> np.ndarray:
    """``|α_k(φ)|²`` for each phase (rows) and clock value (columns).

    ``α_k(φ) = (1/D) Σ_y e^{2πi y(φ − k/D)}`` sums to ``sin²(πDδ) / (D² sin²(πδ))`` with
    ``δ = φ − k/D`` (Cleve et al. 1998), and to 1 where ``δ`` is an integer.
    """
    delta = phi[:, None] - np.arange(d)[None, :] / d
    s = np.sin(np.pi * delta)
    num = np.sin(np.pi * d * delta)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (num / (d * s)) ** 2
    return np.where(np.abs(s) < 1e-13, 1.0, out)


def closed_form_hhl(
    A: np.ndarray, b: np.ndarray, clock_qubits: int, t: float, C: float, *, signed: bool = False
) -> tuple[np.ndarray, float]:
    """Analytic postselected HHL output, the oracle the circuit is tested against.

    Source: docs/background/references.md#hhl-closed-form.

    With ``φ_j = λ_j t / 2π``, ``D = 2^n_c``: ``x_HHL = Σ_j <u_j|b̂> g(λ_j) u_j``,
    ``g(λ) = Σ_k |α_k(φ)|² f(k)``, ``p_succ = ‖x_HHL‖²``. Exact for the ideal circuit (exact ``U``),
    independent of padding.

    Parameters
    ----------
    A : numpy.ndarray
        Hermitian matrix.
    b : numpy.ndarray
        Right-hand side (normalized internally).
    clock_qubits : int
    t : float
        Evolution time.
    C : float
        Inversion constant.
    signed : bool
        Two's-complement clock (``indefinite="sign_qubit"``).

    Returns
    -------
    x_hhl : numpy.ndarray
        Unnormalized postselected system amplitudes.
    p_succ : float
    """
    A = np.asarray(A)
    b = np.asarray(b)
    w, v = np.linalg.eigh(A)
    bh = b / np.linalg.norm(b)
    d = 2**clock_qubits
    g = _qpe_probabilities(w * t / (2.0 * np.pi), d) @ _inversion_values(clock_qubits, C, signed)
    x = v @ ((v.conj().T @ bh) * g)
    if not (np.iscomplexobj(A) or np.iscomplexobj(b)):
        x = x.real
    return x, float(np.vdot(x, x).real)


def build_hhl_circuit(
    n_system: int,
    clock_qubits: int,
    *,
    b: np.ndarray | None = None,
    powers: list[np.ndarray] | None = None,
    inversion: np.ndarray | None = None,
    complex_b: bool = False,
):
    """The HHL ``QubitCircuit`` (layout in the module docstring).

    With ``b``, ``powers`` and ``inversion`` left ``None`` it builds the same structure with
    placeholder data, which can be counted (:func:`hhl_resources`) but not simulated.

    Parameters
    ----------
    n_system : int
        System qubits ``n`` (``A`` is ``2^n``-square).
    clock_qubits : int
    b : numpy.ndarray, optional
        Padded right-hand side of length ``2^n``.
    powers : list of numpy.ndarray, optional
        ``[U^(2^0), …, U^(2^(n_c−1))]``.
    inversion : numpy.ndarray, optional
        ``f(k)`` for every clock value.
    complex_b : bool
        With ``b=None``: include the phase part of state preparation.
    """
    from qutip_qip.circuit import QubitCircuit
    from qutip_qip.operations import Gate

    from hybridsim.quantum.circuits import qft_gates, state_preparation_gates
    from hybridsim.quantum.gates import ControlledUnitary, UniformlyControlledRotation

    m, n = clock_qubits, n_system
    anc, clock = 0, list(range(1, 1 + m))
    system = list(range(1 + m, 1 + m + n))
    qc = QubitCircuit(1 + m + n)
    qc.add_gates(state_preparation_gates(b, system, complex_b=complex_b))
    for q in clock:
        qc.add_gate(Gate("SNOT", targets=[q], arg_label="H"))
    for i, q in enumerate(clock):
        # Clock qubit 1+i controls U^(2^i): bit-reversed wiring, so the inverse QFT needs no SWAPs.
        u = None if powers is None else powers[i]
        qc.add_gate(ControlledUnitary(q, system, u, power=2**i))
    qc.add_gates(qft_gates(clock, swaps=False, inverse=True))
    f = np.zeros(2**m) if inversion is None else np.asarray(inversion, dtype=float)
    qc.add_gate(
        UniformlyControlledRotation(clock, anc, 2.0 * np.arcsin(f), axis="y", arg_label="Ry(C/k)")
    )
    qc.add_gates(qft_gates(clock, swaps=False, inverse=False))
    for i in reversed(range(m)):
        u = None if powers is None else powers[i].conj().T
        qc.add_gate(ControlledUnitary(clock[i], system, u, power=2**i, dagger=True))
    for q in clock:
        qc.add_gate(Gate("SNOT", targets=[q], arg_label="H"))
    return qc


def _system_qubits(n: int) -> int:
    return max(1, math.ceil(math.log2(n)))


def hhl_resources(n: int, clock_qubits: int, *, complex_b: bool = False) -> dict:
    """Qubit count and gate counts of the HHL circuit for an ``n × n`` system, without simulating.

    Parameters
    ----------
    n : int
        Matrix size ``N`` (padded to a power of two like :func:`hhl_solve` does).
    clock_qubits : int
    complex_b : bool
        Whether ``b`` is complex (adds the R_z phase cascade of state preparation).

    Returns
    -------
    dict
        ``{"n_qubits", "system_qubits", "clock_qubits", "gate_counts"}``; ``gate_counts`` is exactly
        what :func:`hhl_solve` reports for the same sizes.

    Examples
    --------
    >>> r = hhl_resources(4, 3)
    >>> r["n_qubits"], r["gate_counts"]["n_oracle"], r["gate_counts"]["u_applications"]
    (6, 6, 14)
    """
    from hybridsim.quantum.circuits import count_gates

    if not (isinstance(n, int | np.integer) and 1 <= n <= MAX_N):
        raise SolverError(f"n must be an integer in [1, {MAX_N}], got {n!r}")
    if not (isinstance(clock_qubits, int | np.integer) and clock_qubits >= 1):
        raise SolverError(f"clock_qubits must be a positive integer, got {clock_qubits!r}")
    ns = _system_qubits(int(n))
    qc = build_hhl_circuit(ns, int(clock_qubits), complex_b=complex_b)
    return {
        "n_qubits": qc.N,
        "system_qubits": ns,
        "clock_qubits": int(clock_qubits),
        "gate_counts": count_gates(qc),
    }


def _validate_inputs(A, b) -> tuple[np.ndarray, np.ndarray, bool]:
    try:
        a = np.asarray(A)
        bb = np.asarray(b)
    except Exception as exc:  # anything unconvertible is a refused input
        raise SolverError(f"A and b must be numeric arrays: {exc}") from exc
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise SolverError(f"A must be a non-empty square matrix, got shape {a.shape}")
    n = a.shape[0]
    if n > MAX_N:
        raise SolverError(f"hhl_solve simulates at most N = {MAX_N}, got N = {n}")
    if bb.shape not in ((n,), (n, 1)):
        raise SolverError(f"b must have length {n}, got shape {bb.shape}")
    if not (np.issubdtype(a.dtype, np.number) and np.issubdtype(bb.dtype, np.number)):
        raise SolverError("A and b must be numeric")
    bb = bb.reshape(-1)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(bb))):
        raise SolverError("A and b must be finite (no NaN or inf)")
    is_complex = np.iscomplexobj(a) or np.iscomplexobj(bb)
    a = a.astype(complex if is_complex else float)
    bb = bb.astype(complex if is_complex else float)
    scale = max(np.abs(a).max(), np.finfo(float).tiny)
    if np.abs(a - a.conj().T).max() > 1e-10 * scale:
        raise SolverError("A must be Hermitian (real symmetric); HHL simulates e^{iAt}")
    if not float(np.linalg.norm(bb)) > 0.0:
        # also catches subnormal entries whose norm underflows to 0: |b> cannot be normalized
        raise SolverError("b must be nonzero")
    return (a + a.conj().T) / 2.0, bb, is_complex


def _resolve_spectrum(a, opts: HHLOptions):
    """Eigenvalue bounds the circuit is tuned to: the caller's when given, else the exact ones.

    The options were validated when built: values positive and finite, ``kappa >= 1``, never
    ``lambda_max`` alone, ``lambda_min <= lambda_max`` when both are given; what is left to check
    depends on ``A`` (a ``lambda_min`` given alone above the Gershgorin bound).
    """
    kappa, lambda_min, lambda_max = opts.kappa, opts.lambda_min, opts.lambda_max
    if kappa is None and lambda_min is None and lambda_max is None:
        w = np.abs(np.linalg.eigvalsh(a)) if opts.signed else np.linalg.eigvalsh(a)
        lo, hi = float(w.min()), float(w.max())
        if lo <= 0.0:
            raise SolverError("A is singular (an eigenvalue is 0): HHL cannot invert it")
        return lo, hi, "exact"
    if lambda_max is not None:
        upper = float(lambda_max)
    elif lambda_min is not None and kappa is not None:
        upper = float(lambda_min * kappa)
    else:
        # Only κ̂ given: take the Gershgorin bound max_i Σ_j |a_ij| ≥ |λ|_max, which hardware
        # pre-processing can compute in O(N·d) without knowing the spectrum.
        upper = float(np.abs(a).sum(axis=1).max())
    if lambda_min is not None:
        lower = float(lambda_min)
    elif kappa is not None:
        lower = float(upper / kappa)
    else:  # pragma: no cover - HHLOptions refuses lambda_max alone
        raise SolverError("the lower eigenvalue bound is unknown")
    if lower > upper:  # lambda_min alone, above the Gershgorin bound
        raise SolverError(f"lambda_min = {lower} exceeds lambda_max = {upper}")
    return lower, upper, "caller"


def _is_positive_definite(a: np.ndarray) -> bool:
    # A Cholesky attempt: the check any classical pre-processing does; it only refuses, never tunes.
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return False
    return True


def _check_call(shots, rng, clock_qubits, opts: HHLOptions) -> None:
    """The per-call arguments (the options were checked when built)."""
    if clock_qubits is not None and (
        isinstance(clock_qubits, bool)
        or not isinstance(clock_qubits, int | np.integer)
        or clock_qubits < 1
    ):
        raise SolverError(f"clock_qubits must be a positive integer, got {clock_qubits!r}")
    if shots is not None:
        if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
            raise SolverError(f"shots must be a positive integer or None, got {shots!r}")
        if not isinstance(rng, np.random.Generator):
            raise SolverError(
                "shots need rng: pass the caller's numpy Generator "
                "(hybridsim never uses global random state)"
            )
    if opts.noise is not None and opts.noise.p_readout > 0 and shots is None:
        raise SolverError("readout error acts on measured outcomes: it needs shots")


def _options(options: HHLOptions | None, keywords: dict[str, Any]) -> HHLOptions:
    """The options of one call: ``options`` (default ones if None) with ``keywords`` replacing
    fields; every name checked, the result validated once."""
    if options is not None and not isinstance(options, HHLOptions):
        raise SolverError(f"options must be a hybridsim.quantum.hhl.HHLOptions, got {options!r}")
    unknown = [k for k in keywords if k not in HHLOptions.__dataclass_fields__]
    if unknown:
        raise TypeError(f"hhl_solve() got an unexpected keyword argument {unknown[0]!r}")
    if options is None:
        return HHLOptions(**keywords)
    return dataclasses.replace(options, **keywords) if keywords else options


def _noisy_output(qc, post_ideal, npad, m, noise):
    """Density-matrix run with gate noise.

    Returns the outcome probabilities of all qubits, the coherent (dominant) postselected vector,
    the postselection probability and the postselected outcome probabilities per system state.
    """
    from hybridsim.quantum.simulate import MAX_DENSITY_QUBITS, run_density

    if qc.N > MAX_DENSITY_QUBITS:
        raise SolverError(
            f"gate noise uses density matrices, limited to {MAX_DENSITY_QUBITS} "
            f"qubits; this circuit has {qc.N} (use fewer clock qubits or no noise)"
        )
    rho0 = np.zeros((2**qc.N, 2**qc.N), dtype=complex)
    rho0[0, 0] = 1.0
    rho = run_density(qc, rho0, p1=noise.p_1q, p2=noise.p_2q)
    probs = np.clip(np.real(np.diag(rho)), 0.0, None)
    d = 2**m
    block = rho.reshape(2, d, npad, 2, d, npad)[1, 0, :, 1, 0, :]
    _, v = np.linalg.eigh((block + block.conj().T) / 2.0)
    top = v[:, -1]
    # The dominant eigenvector carries the coherent part of the noisy output; its global phase is
    # not observable in ρ, so take the one an interference measurement would see: depolarizing noise
    # shrinks the coherent part towards the maximally mixed state but does not rotate its phase,
    # which is the noiseless run's.
    ov = np.vdot(top, post_ideal)
    if abs(ov) > 0:
        top = top * (ov / abs(ov))
    return probs, top, float(np.real(np.trace(block))), np.clip(np.real(np.diag(block)), 0.0, None)


#: ``(controller, len(sys.modules))``: the process's ``threadpoolctl.ThreadpoolController`` and
#: the number of imported modules when it was made. Building a controller scans every loaded
#: shared library (3.5 ms, an eighth of a 10×10 HHL run); limiting through one costs 20 µs. A
#: library is loaded by an import (the first HHL run loads scipy's OpenBLAS with qutip), so the
#: controller is rebuilt whenever modules were imported since; in a run that soon stops.
_BLAS_CONTROLLER: tuple[Any, int] | None = None


def _single_thread_blas():
    """Context limiting BLAS to one thread.

    The simulation is a long chain of small GEMMs (a 2^n-square oracle on a few thousand rows);
    multithreaded OpenBLAS turns each 0.1 ms product into 5-10 ms on a busy 2-core machine.
    threadpoolctl is one of hybridsim's own dependencies (setup.cfg). The same limit as
    ``threadpool_limits(1, user_api="blas")``, through a cached controller.
    """
    global _BLAS_CONTROLLER
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a declared dependency
        from contextlib import nullcontext

        return nullcontext()
    imported = len(sys.modules)
    if _BLAS_CONTROLLER is None or _BLAS_CONTROLLER[1] != imported:
        _BLAS_CONTROLLER = (ThreadpoolController(), imported)
    return _BLAS_CONTROLLER[0].limit(limits=1, user_api="blas")


def hhl_solve(
    A,
    b,
    *,
    clock_qubits: int | None = None,
    shots: int | None = None,
    rng: np.random.Generator | None = None,
    options: HHLOptions | None = None,
    postselected_shots: bool = False,
    **keywords: Any,
) -> QLSAResult:
    """Solve ``A x = b`` by simulating the HHL circuit (Harrow, Hassidim, Lloyd 2009).

    Parameters
    ----------
    A : array_like
        Hermitian ``N × N`` matrix, ``N ≤ 64``, positive definite unless
        ``indefinite="sign_qubit"``. Padded to ``2^n`` with a diagonal block whose eigenvalue is
        the midpoint of the eigenvalue bounds in use and ``b`` padded with zeros: the pad lies
        inside the bounds, so κ and the clock tuning are unchanged, and since ``b`` has no weight
        there it does not change the solution.
    b : array_like
        Right-hand side, length ``N``, nonzero.
    clock_qubits : int, optional
        Clock size ``n_c``; default :func:`default_clock_qubits` of κ and ``eps``.
    shots : int, optional
        Number of circuit executions to estimate the output from (see
        :mod:`hybridsim.quantum.readout`); ``None`` returns the exact postselected state.
    rng : numpy.random.Generator, optional
        Required with ``shots``; the only source of randomness.
    postselected_shots : bool
        Count ``shots`` as *successful* (postselected) executions: the readout gets exactly that
        many usable samples, and the failed executions before them are drawn as well
        (``extra["executions"]``, ``shots/p`` on average), as an experiment repeating until it
        has its samples would (:mod:`hybridsim.quantum.readout`).
    options : HHLOptions, optional
        The options below as one validated record (reusable across calls). Keywords given
        with it replace its fields for this call.
    kappa, lambda_min, lambda_max : float, optional
        The caller's estimates of the condition number and eigenvalue bounds (for
        ``indefinite="sign_qubit"``: bounds on ``|λ|``). When any is given, ``t``, ``C`` and the
        default clock size come from them, *not* from the true spectrum, so a bad estimate gives a
        bad answer as on hardware. Missing ones are filled in: ``λmax = λmin·κ`` or, with ``κ``
        alone, the Gershgorin bound ``max_i Σ_j |a_ij|``; ``λmin = λmax/κ``. When none is given the
        exact spectrum of ``A`` is used (``eigvalsh``), reported as ``spectrum_source="exact"``.
    eps : float
        Target relative error of ``x`` for the default clock size (and Trotter step count).
    evolution : {"exact", "trotter"}
        How ``U = e^{iAt}`` is computed (:mod:`hybridsim.quantum.evolution`).
    trotter_steps : int, optional
        Trotter steps per ``U``; default from the commutator bound.
    signs : {"interference", "exact_state"}
        With ``shots``: estimate signs by an interference round (costs half the shots) or copy them
        from the exact state (documented shortcut).
    indefinite : {"refuse", "sign_qubit"}
        What to do when ``A`` is not positive definite: raise :class:`SolverError`, or run with a
        two's-complement clock whose top bit is the eigenvalue's sign (one extra clock qubit by
        default), so ``f(k) = C/k`` keeps the sign of negative eigenvalues.
    noise : NoiseModel, optional
        Depolarizing gate noise (density matrices, ≤ 10 qubits, slow) and/or readout bit flips
        (needs ``shots``), see :mod:`hybridsim.quantum.noise`. Under gate noise the output is what
        the readout of :mod:`hybridsim.quantum.readout` gives (in the infinite-shot limit when
        ``shots`` is None): magnitudes from the noisy postselected outcome frequencies, signs from
        interference with the dominant eigenvector of the noisy postselected state.

    Returns
    -------
    QLSAResult

    Raises
    ------
    SolverError
        Refused input: not Hermitian, not positive definite (with ``indefinite="refuse"``),
        ``N > 64``, more than ``MAX_QUBITS`` qubits, ``shots`` without ``rng``, inconsistent bounds…
    PostselectionError
        (a SolverError) No postselected outcome: probability 0, or no success among the shots.

    Notes
    -----
    ``t = 2π·0.75/λmax`` (``/2`` in sign mode), ``C = 0.75·λmin·t·D/2π``. The state vector is
    simulated by :func:`hybridsim.quantum.simulate.run_statevector`, which applies the circuit's own
    gate objects (tested equal to ``QubitCircuit.run``). Nothing falls back to a classical solve.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 0.5], [0.5, 1.0]]); b = np.array([1.0, 0.0])
    >>> r = hhl_solve(A, b)
    >>> bool(r.fidelity(np.linalg.solve(A, b)) > 0.999), r.n_qubits
    (True, 10)
    """
    opts = _options(options, keywords)
    with _single_thread_blas():
        return _hhl_solve(
            A,
            b,
            clock_qubits=clock_qubits,
            shots=shots,
            rng=rng,
            opts=opts,
            postselected_shots=bool(postselected_shots),
        )


def _hhl_solve(
    A, b, *, clock_qubits, shots, rng, opts: HHLOptions, postselected_shots: bool = False
) -> QLSAResult:
    t0 = time.perf_counter()
    _check_call(shots, rng, clock_qubits, opts)
    eps, evolution, signs, noise = opts.eps, opts.evolution, opts.signs, opts.noise
    a, bb, is_complex = _validate_inputs(A, b)
    n = a.shape[0]
    signed = opts.signed
    if not signed and not _is_positive_definite(a):
        raise SolverError(
            "HHL needs a positive definite matrix, but A is indefinite or singular (Cholesky "
            "failed): regularize it (H + εI) or pass indefinite='sign_qubit'"
        )
    lo, hi, source = _resolve_spectrum(a, opts)
    kap = hi / lo
    m = (
        int(clock_qubits)
        if clock_qubits is not None
        else default_clock_qubits(kap, eps, signed=signed)
    )
    if signed and m < 2:
        raise SolverError("sign_qubit mode needs at least 2 clock qubits")
    ns = _system_qubits(n)
    npad = 2**ns
    n_qubits = 1 + m + ns
    if n_qubits > MAX_QUBITS:
        raise SolverError(
            f"the circuit needs {n_qubits} qubits ({m} clock for κ = {kap:.3g}, eps = {eps}), more "
            f"than the {MAX_QUBITS} simulated: pass clock_qubits, a larger eps or a smaller κ"
        )
    d = 2**m
    # λmax lands on clock value 0.75·D (0.75·D/2 in sign mode: the top bit is the sign).
    phase_max = PHASE_FRACTION / (2.0 if signed else 1.0)
    t = 2.0 * np.pi * phase_max / hi
    C = C_FRACTION * lo * t * d / (2.0 * np.pi)

    # Pad to a power of two with eigenvalue (lo + hi)/2: inside the bounds, so κ is unchanged, and b
    # has no weight on the pad, so it never reaches the output (exactly so for exact evolution).
    a_pad = np.zeros((npad, npad), dtype=a.dtype)
    a_pad[:n, :n] = a
    a_pad[n:, n:] = np.eye(npad - n) * (lo + hi) / 2.0
    b_pad = np.zeros(npad, dtype=bb.dtype)
    b_pad[:n] = bb

    from hybridsim.quantum.circuits import count_gates
    from hybridsim.quantum.evolution import default_trotter_steps, evolution_powers
    from hybridsim.quantum.simulate import run_statevector

    r_steps = None
    if evolution == "trotter":
        r_steps = (
            int(opts.trotter_steps)
            if opts.trotter_steps is not None
            else default_trotter_steps(a_pad, t, m, eps)
        )
    powers = evolution_powers(a_pad, t, m, method=evolution, trotter_steps=r_steps)
    f = _inversion_values(m, C, signed)
    qc = build_hhl_circuit(ns, m, b=b_pad, powers=powers, inversion=f)
    counts = count_gates(qc)
    t1 = time.perf_counter()

    psi0 = np.zeros(2**n_qubits, dtype=complex)
    psi0[0] = 1.0
    psi = run_statevector(qc, psi0)
    post = psi.reshape(2, d, npad)[1, 0, :]
    p_exact = float(np.vdot(post, post).real)
    if p_exact <= 1e-300:
        from hybridsim.quantum.readout import PostselectionError

        raise PostselectionError(
            "postselection probability is 0: no eigenvalue reached the inversion "
            "(check the eigenvalue bounds)",
            success_probability=p_exact,
        )
    coherent = post / math.sqrt(p_exact)
    exact_state = coherent
    if noise is not None and noise.has_gate_noise:
        probs, coherent, p_exact, diag = _noisy_output(qc, coherent, npad, m, noise)
        # The infinite-shot limit of the readout below: magnitudes from the (noisy) outcome
        # frequencies, signs/phases from interference with the coherent part.
        exact_state = np.sqrt(diag / diag.sum()) * np.exp(1j * np.angle(coherent))
    else:
        probs = np.abs(psi) ** 2
    extra: dict = {"p_success_exact": p_exact}
    if shots is None:
        state_pad, p_succ = exact_state, p_exact
    else:
        from hybridsim.quantum.readout import estimate_from_shots

        if noise is not None and noise.p_readout > 0:
            probs = apply_readout_error(probs, n_qubits, noise.p_readout)
        success_probs = probs.reshape(2, d, npad)[1, 0, :]
        est = estimate_from_shots(
            success_probs,
            coherent,
            int(shots),
            rng,
            signs=signs,
            real=not is_complex,
            postselected=postselected_shots,
        )
        state_pad, p_succ = est.state, est.success_probability
        extra.update(
            magnitude_shots=est.magnitude_shots,
            sign_shots=est.sign_shots,
            successes=est.successes,
            executions=est.executions,
        )
    state = state_pad[:n]
    norm_state = np.linalg.norm(state)
    if norm_state == 0:
        from hybridsim.quantum.readout import PostselectionError

        # every success landed on the padding: no sample of the system's output
        raise PostselectionError(
            "the estimated output has no weight on the unpadded system", success_probability=p_succ
        )
    state = state / norm_state
    if not is_complex:
        state = np.real(state)
    # ‖A⁻¹b‖ ≈ ‖b‖·√p·t·D/(2πC) because x_HHL ≈ (2πC/tD)·A⁻¹b̂
    # (docs/background/references.md#hhl-norm-recovery).
    x_norm = np.linalg.norm(bb) * math.sqrt(p_succ) * t * d / (2.0 * np.pi * C)
    t2 = time.perf_counter()
    return QLSAResult(
        x=x_norm * state,
        state=state,
        success_probability=p_succ,
        n_qubits=n_qubits,
        gate_counts=counts,
        circuit=qc,
        clock_qubits=m,
        evolution_time=float(t),
        C=float(C),
        shots=None if shots is None else int(shots),
        kappa=float(kap),
        lambda_min=lo,
        lambda_max=hi,
        spectrum_source=source,
        evolution=evolution,
        trotter_steps=r_steps,
        signs=None if shots is None else signs,
        noise=noise,
        build_wall_s=t1 - t0,
        simulate_wall_s=t2 - t1,
        extra=extra,
    )
