"""Logical counts of a QLSA job: qubits, T, Toffoli (CCZ), rotations, measurements.

The fault-tolerant layer (:mod:`hybridsim.costs.ft`) takes *logical counts*, the reference
estimator's ``LogicalCounts`` keys (:data:`hybridsim.costs.ft.COUNT_KEYS`). This module produces
them, as integers, from what the simulator knows about a job, with every formula and source in
docs/background/fault-tolerance.md §2:

:func:`qlsa_logical_counts`
    From a modelled job's (algorithm, oracle, N, d, κ, ε, readout): the algorithm's U_A and U_b
    query counts per run (:mod:`hybridsim.costs.quantum`: Jennings et al., Costa et al., HHL),
    times the non-Clifford cost of one query under the oracle model (``unit``, ``structured``,
    ``qrom``, ``select_swap``), plus the rotations of preparing |b⟩.
:func:`circuit_counts`
    From an executed HHL circuit (:func:`hybridsim.quantum.hhl.build_hhl_circuit`), decomposed to
    Clifford + T + rotations: a rotation by a multiple of π/2 is Clifford (free), by an odd
    multiple of π/4 a T gate, anything else an arbitrary rotation.

Runs. A *run* is one execution of the circuit (one attempt). A run succeeds with probability
``p`` (Jennings: p = 0.39 − 0.204·ε; Costa: 1 − ε₀² of the eigenstate filter; an executed HHL
circuit: its postselection probability), so one usable output costs 1/p runs on average, the same
expectation the time model charges; the readout needs ``readout_runs`` usable outputs
(:func:`hybridsim.costs.quantum.readout_runs`). A *solve* is therefore ``runs = readout_runs / p``
runs on average, and per-solve counts are the per-run counts times ``runs``, rounded up.

No simpy here; everything is a pure function of its arguments, memoized where it is called often.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hybridsim.costs import quantum as q
from hybridsim.errors import ModelDomainError

__all__ = [
    "ORACLE_MODELS",
    "OracleCost",
    "oracle_cost",
    "LogicalCounts",
    "qlsa_logical_counts",
    "qlsa_logical_qubits",
    "CircuitCounts",
    "circuit_counts",
    "executed_counts",
    "classify_angle",
    "scale_counts",
]

#: Oracle models (the same names as :data:`hybridsim.costs.quantum.ORACLES`).
ORACLE_MODELS = q.ORACLES
#: Default bits of precision of a loaded matrix entry (as :func:`~hybridsim.costs.quantum.
#: gates_per_query`).
DEFAULT_BITS = 32


def _clog2(x: int) -> int:
    """⌈log₂ x⌉ for x >= 1 (0 for x = 1)."""
    return (int(x) - 1).bit_length()


def _check_int(value: Any, name: str, low: int = 1) -> int:
    if isinstance(value, bool):
        raise ModelDomainError(f"{name} must be an integer >= {low}, got {value!r}")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ModelDomainError(f"{name} must be an integer >= {low}, got {value!r}") from None
    if not math.isfinite(f) or f != math.floor(f) or f < low:
        raise ModelDomainError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(f)


@dataclass(frozen=True, slots=True)
class OracleCost:
    """Non-Clifford cost of one query to the block encoding U_A, and the registers it needs.

    Attributes
    ----------
    t_count, ccz_count, measurement_count : int
        T gates, Toffolis (as CCZ, 4 T states each) and mid-circuit measurements per query.
    qubits : int
        Extra logical qubits the oracle holds (QROM data and unary-iteration registers,
        arithmetic work space).
    entries : int
        Data items a QROM lookup reads (N·d), 0 for the other models.
    lam : int
        The select-swap trade-off parameter λ (1 for the other models).
    """

    t_count: int
    ccz_count: int
    measurement_count: int
    qubits: int
    entries: int = 0
    lam: int = 1


def oracle_cost(oracle: str, n: int, d: int, *, bits: int = DEFAULT_BITS) -> OracleCost:
    """The cost of one U_A query under an oracle model (docs/background/fault-tolerance.md §2.2).

    ``"unit"``
        One T gate: a query counts as one non-Clifford gate (the Q-Newton paper's accounting).
    ``"sparse_access"``
        ⌈log₂N⌉ T gates: the sparse-access oracles of the ``paper`` accounting, O(log N)
        non-Clifford gates per query on the block encoding's own index register (no extra
        qubits), the count :func:`~hybridsim.costs.quantum.gates_per_query` charges in time
        (inferred, as there).
    ``"structured"``
        ⌈log₂N⌉² Toffolis and ⌈log₂N⌉ work qubits: entries computed from their indices by
        reversible arithmetic, polylog(N) per query (inferred, as
        :func:`~hybridsim.costs.quantum.gates_per_query`).
    ``"qrom"``
        Unary-iteration QROM over L = N·d entries: L − 1 Toffolis (4L − 4 T), one measurement per
        Toffoli for the measurement-based uncomputation of its temporary AND, ⌈log₂L⌉ iteration
        ancillas and a ``bits``-wide data register (Babbush et al. 2018,
        docs/background/references.md#babbush-2018).
    ``"select_swap"``
        Select-swap QROM with λ a power of two near √(L/b): ⌈L/λ⌉ − 1 Toffolis to select a block
        of λ entries, b·(λ − 1) controlled swaps (one Toffoli each) to bring one to the output,
        λ·b data qubits and ⌈log₂⌈L/λ⌉⌉ + ⌈log₂λ⌉ index qubits (Low, Kliuchnikov and Schaeffer,
        docs/background/references.md#low-2018).

    Examples
    --------
    >>> oracle_cost("qrom", 32, 4)  # L = 128: 127 Toffolis, ⌈log₂128⌉ + 32 = 39 qubits
    OracleCost(t_count=0, ccz_count=127, measurement_count=127, qubits=39, entries=128, lam=1)
    """
    n = _check_int(n, "n")
    d = _check_int(d, "d")
    if d > n:
        raise ModelDomainError(f"row sparsity d must satisfy 1 <= d <= n, got d = {d} > n = {n}")
    bits = _check_int(bits, "bits")
    if oracle == "unit":
        return OracleCost(1, 0, 0, 0)
    s = max(1, _clog2(n))
    if oracle == "sparse_access":
        return OracleCost(s, 0, 0, 0)
    if oracle == "structured":
        return OracleCost(0, s * s, 0, s)
    entries = n * d
    if oracle == "qrom":
        return OracleCost(0, entries - 1, entries - 1, _clog2(entries) + bits, entries)
    if oracle == "select_swap":
        lam = 1 << max(0, min(_clog2(entries), round(0.5 * math.log2(entries / bits))))
        blocks = -(-entries // lam)
        toffolis = (blocks - 1) + bits * (lam - 1)
        qubits = lam * bits + _clog2(blocks) + _clog2(lam)
        return OracleCost(0, toffolis, blocks - 1, qubits, entries, lam)
    raise ModelDomainError(
        f"unknown oracle {oracle!r} (expected one of {', '.join(ORACLE_MODELS)})"
    )


@dataclass(frozen=True, slots=True)
class LogicalCounts:
    """Logical counts of one QLSA job, per run and per solve.

    Attributes
    ----------
    algorithm, oracle, readout : str
    n, d : int
    kappa, eps : float
    system_qubits : int
        ⌈log₂N⌉ (at least 1).
    block_encoding_ancillas : int
        ⌈log₂N⌉ + 3 (the sparse-access block encoding of Gilyén et al. 2019).
    algorithm_ancillas : int
        Jennings/Costa: 6 (Jennings et al. Thm 1); HHL: clock + 1 rotation ancilla.
    oracle_qubits : int
        :attr:`OracleCost.qubits`.
    num_qubits : int
        The sum of the four.
    queries, state_prep_queries : int
        U_A and U_b queries of one run (⌈Q*⌉ and 2⌈Q*⌉ for Jennings).
    t_count, ccz_count, rotation_count, rotation_depth, measurement_count : int
        Per run.
    success_probability : float
        Probability that one run gives a usable output.
    readout_runs : int
        Usable outputs the readout needs.
    runs : float
        Expected runs per solve, ``readout_runs / success_probability``.
    """

    algorithm: str
    oracle: str
    readout: str
    n: int
    d: int
    kappa: float
    eps: float
    system_qubits: int
    block_encoding_ancillas: int
    algorithm_ancillas: int
    oracle_qubits: int
    num_qubits: int
    queries: int
    state_prep_queries: int
    t_count: int
    ccz_count: int
    rotation_count: int
    rotation_depth: int
    measurement_count: int
    success_probability: float
    readout_runs: int
    runs: float

    def per_run(self) -> dict[str, int]:
        """The reference estimator's ``LogicalCounts`` of one run."""
        return {
            "numQubits": self.num_qubits,
            "tCount": self.t_count,
            "rotationCount": self.rotation_count,
            "rotationDepth": self.rotation_depth,
            "cczCount": self.ccz_count,
            "ccixCount": 0,
            "measurementCount": self.measurement_count,
        }

    def per_solve(self) -> dict[str, int]:
        """Counts of a whole solve run back to back on the same qubits: per-run × ``runs``, up."""
        return _scale(self.per_run(), self.runs)


def scale_counts(counts: Mapping[str, int], runs: float) -> dict[str, int]:
    """Counts of ``runs`` executions back to back on the same qubits: every count but
    ``numQubits`` times ``runs``, rounded up (exact for integral ``runs``).

    Examples
    --------
    >>> scale_counts({"numQubits": 5, "tCount": 3, "measurementCount": 5}, 2.5)
    {'numQubits': 5, 'tCount': 8, 'measurementCount': 13}
    """
    return _scale(counts, runs)


def _scale(counts: Mapping[str, int], runs: float) -> dict[str, int]:
    """Every count but ``numQubits`` times ``runs``, rounded up (exact for integral ``runs``)."""
    frac = _fraction(runs)
    out = {}
    for k, v in counts.items():
        out[k] = v if k == "numQubits" else -(-(v * frac.numerator) // frac.denominator)
    return out


def _fraction(x: float):
    from fractions import Fraction

    return Fraction(x)


def _hhl_clock(kappa: float, eps: float) -> int:
    """HHL's clock register: ⌈log₂κ⌉ + ⌈log₂(1/ε)⌉ (κ floored at 2), as in costs.quantum."""
    return math.ceil(math.log2(max(kappa, 2.0))) + math.ceil(math.log2(1.0 / eps))


def qlsa_logical_qubits(
    algorithm: str,
    oracle: str,
    n: int,
    d: int,
    kappa: float | None = None,
    eps: float = 0.01,
    *,
    bits: int = DEFAULT_BITS,
) -> int:
    """Logical qubits of a QLSA job, ``numQubits`` of :func:`qlsa_logical_counts`, alone.

    System ⌈log₂N⌉, block-encoding ancillas ⌈log₂N⌉ + 3, the algorithm's ancillas (6 for
    Jennings and Costa; clock + 1 for HHL, which needs ``kappa``) and the oracle's registers
    (:func:`oracle_cost`). Cheap: no query count is computed.

    Examples
    --------
    >>> qlsa_logical_qubits("jennings", "qrom", 32, 4)  # 5 + 8 + 6 + 39
    58
    """
    if algorithm not in q.ALGORITHMS:
        raise ModelDomainError(
            f"unknown algorithm {algorithm!r} (expected one of {', '.join(q.ALGORITHMS)})"
        )
    cost = oracle_cost(oracle, n, d, bits=bits)
    s = max(1, _clog2(int(n)))
    if algorithm == "hhl":
        if kappa is None or not math.isfinite(float(kappa)) or float(kappa) < 1.0:
            raise ModelDomainError(f"kappa must be finite and >= 1, got {kappa!r}")
        if not 0.0 < float(eps) < 1.0:
            raise ModelDomainError(f"eps must be in (0, 1), got {eps!r}")
        ancillas = _hhl_clock(float(kappa), float(eps)) + 1
    else:
        ancillas = 6
    return s + (s + 3) + ancillas + cost.qubits


@lru_cache(maxsize=4096)
def qlsa_logical_counts(
    algorithm: str,
    oracle: str,
    n: int,
    d: int,
    kappa: float,
    eps: float,
    readout: str = "none",
    *,
    alpha: float = 1.0,
    bits: int = DEFAULT_BITS,
    state_prep: bool = True,
    jennings_success_constant: float = 0.204,
    costa_constant: str | float = "measured",
    costa_adiabatic_eps: float = 0.1,
    clamp: bool = False,
) -> LogicalCounts:
    """Logical counts of one QLSA job (docs/background/fault-tolerance.md §2).

    Per run (one attempt):

    * queries ``Q``: Jennings ⌈Q*⌉ (Theorem 1, without the 1/p: that is the run count); Costa
      ⌈C·κ/ε₀ + √2·κ·ln(2/ε)⌉ (walk plus eigenstate filter, without the 1/(1 − ε₀²)); HHL
      ⌈log₂N·d²κ²/ε⌉ (the whole amplified algorithm, p = 1), from
      :mod:`hybridsim.costs.quantum`;
    * U_b queries: 2Q (Jennings Thm 1; Costa (inferred)), ⌈κ⌉ for HHL (one per amplitude-
      amplification round, (inferred));
    * T, CCZ, measurements: Q × :func:`oracle_cost`;
    * rotations: with ``state_prep``, 2·N_pad rotations per U_b query (Möttönen et al. 2004
      uniformly controlled rotations, N_pad = 2^⌈log₂N⌉), all on one target per level and
      counted as sequential (rotation depth = rotation count); HHL adds 2^clock rotations of the
      eigenvalue inversion per amplification round;
    * measurements: every logical qubit once at the end, plus the oracle's.

    Parameters
    ----------
    algorithm : {"jennings", "costa", "hhl"}
    oracle : {"unit", "sparse_access", "structured", "qrom", "select_swap"}
    n, d : int
        Matrix size and row sparsity (1 <= d <= n).
    kappa, eps : float
        Condition number and target error.
    readout : {"none", "tomography", "signed_tomography"}
        How many usable outputs a solve needs (:func:`~hybridsim.costs.quantum.readout_runs`).
    alpha : float
        Relative block-encoding normalization (>= 1; 1 is an ideal encoding).
    bits : int
        Bits per loaded entry (QROM oracles).
    state_prep : bool
        Count the rotations of preparing |b⟩.
    jennings_success_constant, costa_constant, costa_adiabatic_eps, clamp
        As in :mod:`hybridsim.costs.quantum`.

    Returns
    -------
    LogicalCounts

    Raises
    ------
    ModelDomainError
        An unknown algorithm, oracle or readout, or inputs outside a formula's range.

    Examples
    --------
    >>> c = qlsa_logical_counts("jennings", "qrom", 32, 4, 10.0, 0.01)
    >>> c.queries, c.ccz_count == 127 * c.queries, c.num_qubits  # 5 + 8 + 6 + 39 qubits
    (2209, True, 58)
    """
    if algorithm not in q.ALGORITHMS:
        raise ModelDomainError(
            f"unknown algorithm {algorithm!r} (expected one of {', '.join(q.ALGORITHMS)})"
        )
    if readout not in q.READOUTS:
        raise ModelDomainError(
            f"unknown readout {readout!r} (expected one of {', '.join(q.READOUTS)})"
        )
    n = _check_int(n, "n")
    d = _check_int(d, "d")
    cost = oracle_cost(oracle, n, d, bits=bits)
    kappa = float(kappa)
    eps = float(eps)
    if not math.isfinite(kappa) or kappa < 1.0:
        raise ModelDomainError(f"kappa must be finite and >= 1, got {kappa!r}")
    if not 0.0 < eps < 1.0:
        raise ModelDomainError(f"eps must be in (0, 1), got {eps!r}")
    s = max(1, _clog2(n))
    be = s + 3
    n_pad = 1 << s
    rotations = 0
    if algorithm == "jennings":
        queries = math.ceil(q.jennings_q_star(kappa, eps, alpha, clamp=clamp))
        p = float(q.jennings_success_probability(eps, jennings_success_constant))
        prep = 2 * queries
        ancillas = 6
    elif algorithm == "costa":
        expected = q.costa_queries(
            kappa * alpha, eps, constant=costa_constant, adiabatic_eps=costa_adiabatic_eps
        )
        p = 1.0 - costa_adiabatic_eps**2
        queries = math.ceil(expected * p)
        prep = 2 * queries
        ancillas = 6
    else:
        queries = math.ceil(q.hhl_queries(n, d, kappa, eps))
        p = 1.0
        clock = _hhl_clock(kappa, eps)
        rounds = math.ceil(kappa)
        prep = rounds
        ancillas = clock + 1
        rotations += rounds * (1 << clock)
    if state_prep:
        rotations += prep * 2 * n_pad
    num_qubits = s + be + ancillas + cost.qubits
    readout_runs = int(q.readout_runs(readout, n, eps))
    return LogicalCounts(
        algorithm=algorithm,
        oracle=oracle,
        readout=readout,
        n=n,
        d=d,
        kappa=kappa,
        eps=eps,
        system_qubits=s,
        block_encoding_ancillas=be,
        algorithm_ancillas=ancillas,
        oracle_qubits=cost.qubits,
        num_qubits=num_qubits,
        queries=queries,
        state_prep_queries=prep if state_prep else 0,
        t_count=queries * cost.t_count,
        ccz_count=queries * cost.ccz_count,
        rotation_count=rotations,
        rotation_depth=rotations,
        measurement_count=queries * cost.measurement_count + num_qubits,
        success_probability=p,
        readout_runs=readout_runs,
        runs=readout_runs / p,
    )


# -- executed circuits --------------------------------------------------------------------------

_CLIFFORD_1Q = {"SNOT", "X", "Y", "Z", "S", "SQRTNOT", "IDLE"}
_CLIFFORD_2Q = {"CNOT", "CSIGN", "CZ", "SWAP", "CX"}
_ROTATIONS = {"RX", "RY", "RZ", "PHASEGATE"}
#: Controlled rotations in a CX basis (OpenQASM 2.0 qelib1.inc,
#: docs/background/references.md#openqasm), as their rotations in order: (on control?, angle
#: factor) with a CNOT after each but the last. cu1(λ) = u1(λ/2) c; cx; u1(−λ/2) t; cx;
#: u1(λ/2) t. crz(θ), cry(θ), crx(θ): ±θ/2 rotations on the target around two CNOTs (crx also
#: has Clifford basis changes).
_CONTROLLED = {
    "CPHASE": ((True, 0.5), (False, -0.5), (False, 0.5)),
    "CRZ": ((False, 0.5), (False, -0.5)),
    "CRY": ((False, 0.5), (False, -0.5)),
    "CRX": ((False, 0.5), (False, -0.5)),
}


def classify_angle(theta: float, *, tol: float = 1e-9) -> str:
    """``"clifford"``, ``"t"`` or ``"rotation"`` for a single-qubit rotation by ``theta``.

    R(θ) = exp(−iθP/2) for a Pauli P is a Clifford gate when θ is a multiple of π/2, a T gate
    (up to Cliffords) when θ is an odd multiple of π/4, and an arbitrary rotation otherwise.

    Examples
    --------
    >>> classify_angle(math.pi / 2), classify_angle(-math.pi / 4), classify_angle(0.3)
    ('clifford', 't', 'rotation')
    """
    k = theta / (math.pi / 4.0)
    m = round(k)
    if abs(k - m) > tol:
        return "rotation"
    return "clifford" if m % 2 == 0 else "t"


@dataclass(frozen=True, slots=True)
class CircuitCounts:
    """Clifford + T + rotation counts of an executed circuit (one run).

    Attributes
    ----------
    num_qubits : int
    t_count, rotation_count, rotation_depth : int
        Rotation depth: the longest chain of arbitrary rotations along the circuit's qubit
        dependencies (Clifford and T gates pass dependencies on and add nothing).
    clifford_count : int
        Clifford gates after decomposition (free in the estimate; reported for reference).
    measurement_count : int
        Every qubit measured once at the end (ancilla and clock for postselection, the system
        for readout).
    oracle_calls, u_applications : int
        Controlled-U calls and total applications of U = e^{iAt} (not decomposed: their cost
        depends on how A is accessed).
    success_probability : float
        Postselection probability of one run; ``runs = 1 / p`` runs per usable output.
    """

    num_qubits: int
    t_count: int
    rotation_count: int
    rotation_depth: int
    clifford_count: int
    measurement_count: int
    oracle_calls: int
    u_applications: int
    success_probability: float = 1.0

    @property
    def runs(self) -> float:
        """Expected runs per usable output, 1/p."""
        return 1.0 / self.success_probability

    def per_run(self, per_application: Mapping[str, int] | None = None) -> dict[str, int]:
        """``LogicalCounts`` of one run; ``per_application`` counts are added per U application."""
        out = {
            "numQubits": self.num_qubits,
            "tCount": self.t_count,
            "rotationCount": self.rotation_count,
            "rotationDepth": self.rotation_depth,
            "cczCount": 0,
            "ccixCount": 0,
            "measurementCount": self.measurement_count,
        }
        for k, v in (per_application or {}).items():
            if k not in out or k == "numQubits":
                raise ModelDomainError(f"per_application cannot add {k!r}")
            out[k] += int(v) * self.u_applications
        return out

    def per_output(self, per_application: Mapping[str, int] | None = None) -> dict[str, int]:
        """Counts of one usable output: per run × 1/p, rounded up."""
        return _scale(self.per_run(per_application), self.runs)


def circuit_counts(
    circuit: Any,
    n_qubits: int | None = None,
    *,
    success_probability: float = 1.0,
    tol: float = 1e-9,
) -> CircuitCounts:
    """Decompose an executed circuit to Clifford + T + rotations and count.

    Parameters
    ----------
    circuit : qutip_qip.circuit.QubitCircuit or iterable of gates
        What :func:`hybridsim.quantum.hhl.build_hhl_circuit` (or ``QLSAResult.circuit``) holds.
        Uniformly controlled rotations are expanded into their CNOT + rotation circuit with the
        actual angles; controlled phases and controlled rotations into their CX-basis
        decompositions; each resulting rotation is classified by :func:`classify_angle`.
    n_qubits : int, optional
        Required with a plain gate list.
    success_probability : float
        Postselection probability of one run (``QLSAResult.success_probability``), in (0, 1].
    tol : float
        Angle tolerance, in units of π/4.

    Returns
    -------
    CircuitCounts

    Raises
    ------
    ModelDomainError
        A gate without a counting rule, or ``success_probability`` outside (0, 1].
    """
    from hybridsim.quantum.gates import ControlledUnitary, UniformlyControlledRotation

    if not 0.0 < success_probability <= 1.0:
        raise ModelDomainError(f"success_probability must be in (0, 1], got {success_probability}")
    gates: Iterable = getattr(circuit, "gates", circuit)
    if n_qubits is None:
        n_qubits = getattr(circuit, "N", None)
        if n_qubits is None:
            raise ModelDomainError("circuit_counts of a gate list needs n_qubits")
    n_qubits = int(n_qubits)
    level = [0] * n_qubits  # arbitrary-rotation layers before each qubit's next gate
    t = rot = cliff = calls = apps = 0

    def rotation(theta: float, qubit: int) -> None:
        nonlocal t, rot, cliff
        kind = classify_angle(float(theta), tol=tol)
        if kind == "rotation":
            rot += 1
            level[qubit] += 1
        elif kind == "t":
            t += 1
        else:
            cliff += 1

    def join(qubits) -> None:
        top = max(level[i] for i in qubits)
        for i in qubits:
            level[i] = top

    def expand(g):
        return g.decompose() if isinstance(g, UniformlyControlledRotation) else [g]

    for outer in gates:
        for g in expand(outer):
            name = g.name
            if name == "GLOBALPHASE":
                continue
            qubits = list(g.get_all_qubits())
            if isinstance(g, ControlledUnitary):
                calls += 1
                apps += g.power
                join(qubits)
            elif name in _ROTATIONS and len(qubits) == 1:
                rotation(g.arg_value, qubits[0])
            elif name == "T" and len(qubits) == 1:
                t += 1
            elif name in _CLIFFORD_1Q and len(qubits) == 1:
                cliff += 1
            elif name in _CLIFFORD_2Q and len(qubits) == 2:
                cliff += 1
                join(qubits)
            elif name in _CONTROLLED and len(qubits) == 2:
                control, target = g.controls[0], g.targets[0]
                for i, (on_control, factor) in enumerate(_CONTROLLED[name]):
                    if i:
                        join(qubits)  # a CNOT between consecutive rotations
                    rotation(g.arg_value * factor, control if on_control else target)
                join(qubits)
                cliff += 2  # the two CNOTs of each of these decompositions
            else:
                raise ModelDomainError(
                    f"circuit_counts: no counting rule for gate {name} on qubits {qubits}"
                )
    return CircuitCounts(
        num_qubits=n_qubits,
        t_count=t,
        rotation_count=rot,
        rotation_depth=max(level, default=0),
        clifford_count=cliff,
        measurement_count=n_qubits,
        oracle_calls=calls,
        u_applications=apps,
        success_probability=float(success_probability),
    )


def executed_counts(
    circuit: CircuitCounts,
    oracle: OracleCost,
    executions: float,
    *,
    passes: int = 1,
    reflection_toffolis: int = 0,
) -> dict[str, int]:
    """``LogicalCounts`` of an executed circuit's whole solve: ``executions`` back to back.

    One execution is ``passes`` passes of the circuit (1, or 2k + 1 with k rounds of amplitude
    amplification), each with every application of U = e^{iAt} charged one query of ``oracle``
    (its T gates, Toffolis and measurements, and its registers added to the qubits), plus
    ``reflection_toffolis`` Toffolis of the amplification's reflections, and one measurement of
    every qubit at its end.

    Examples
    --------
    >>> cc = CircuitCounts(4, 10, 3, 2, 0, 4, 2, 6)
    >>> c = executed_counts(cc, OracleCost(1, 0, 0, 0), 2.5)  # (10 + 6 T) × 2.5, up
    >>> c["numQubits"], c["tCount"], c["rotationCount"], c["measurementCount"]
    (4, 40, 8, 10)
    """
    if not (executions > 0 and math.isfinite(executions)):
        raise ModelDomainError(f"executions must be finite and > 0, got {executions!r}")
    apps = circuit.u_applications
    one = {
        "numQubits": circuit.num_qubits + oracle.qubits,
        "tCount": passes * (circuit.t_count + apps * oracle.t_count),
        "rotationCount": passes * circuit.rotation_count,
        "rotationDepth": passes * circuit.rotation_depth,
        "cczCount": passes * apps * oracle.ccz_count + reflection_toffolis,
        "ccixCount": 0,
        "measurementCount": passes * apps * oracle.measurement_count + circuit.measurement_count,
    }
    return _scale(one, executions)
