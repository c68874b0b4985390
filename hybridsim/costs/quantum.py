"""Quantum linear-solver (QLSA) cost model: query counts, and queries → seconds on a QPU.

Every numeric function is vectorized: arguments may be floats or numpy arrays (broadcast), results
are floats for scalar input and arrays otherwise. Sources and validity ranges are listed in
docs/background/costs.md; anything marked (inferred) is a derivation, not a published statement.

Query counts
    :func:`jennings_queries` (Jennings et al., arXiv:2305.11352, Theorem 1: the formula the
    Q-Newton code uses), :func:`costa_queries` (Costa et al., PRX Quantum 3, 040303, 2022, with the
    constant measured in arXiv:2312.07690), :func:`hhl_queries` (Harrow–Hassidim–Lloyd 2009
    scaling, constants (inferred)).
Seconds
    :func:`qlsa_cost`: runs × (queries × gates per query × gate time + state preparation) +
    readout (measure + reset per run) + per-job overhead, under an :class:`Accounting` that says
    which of these to charge. ``ACCOUNTING["paper"]`` is the paper's sparse-access form
    (O(d·κ·log(Nκ/ε)): α = d, ⌈log₂N⌉ gates per query, queries × gate time and nothing else);
    ``ACCOUNTING["paper_unit"]`` is the earlier reading of it (one gate per query, α = 1);
    ``ACCOUNTING["full"]`` charges everything.
Postselection
    :func:`amplitude_amplification`: rounds and expected executions when a circuit's
    postselection (success probability p) is boosted by amplitude amplification instead of
    repeated, and :func:`reflection_gates`, the gates of its reflections.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from hybridsim.costs.specs import (
    QpuSpec,
    _no_unknown_keywords,
    _spec_from_keywords,
    _warn_deprecated,
)
from hybridsim.errors import ModelDomainError

__all__ = [
    "JENNINGS_KAPPA_MIN",
    "JENNINGS_EPS_MAX",
    "COSTA_CONSTANTS",
    "ORACLES",
    "READOUTS",
    "ALGORITHMS",
    "jennings_q_star",
    "jennings_success_probability",
    "jennings_queries",
    "jennings_state_prep_queries",
    "jennings_qubits",
    "costa_queries",
    "hhl_queries",
    "block_encoding_alpha",
    "block_encoding_alpha_pauli",
    "sparse_block_encoding_qubits",
    "gates_per_query",
    "state_prep_gates",
    "readout_runs",
    "reflection_gates",
    "AmplitudeAmplification",
    "amplitude_amplification",
    "BLOCK_ENCODINGS",
    "Accounting",
    "ACCOUNTING",
    "QuantumCost",
    "qlsa_cost",
]

#: Jennings et al. Theorem 1 holds for κ >= √12 ...
JENNINGS_KAPPA_MIN = math.sqrt(12.0)
#: ... and ε <= 0.24.
JENNINGS_EPS_MAX = 0.24
#: Costa et al. walk-step constant C in C·κ/ε: the proven bound (PRX Quantum 3, 040303) and the
#: value measured on random matrices (arXiv:2312.07690, "about 1,200 times smaller").
COSTA_CONSTANTS: Mapping[str, float] = MappingProxyType({"proven": 2305.0, "measured": 1.84})
#: Oracle models for :func:`gates_per_query`.
ORACLES = ("unit", "sparse_access", "structured", "qrom", "select_swap")
#: Block-encoding normalizations an :class:`Accounting` can charge when no α is given:
#: ``"ideal"`` α = 1; ``"sparse_access"`` α = d (the bound d·max|aᵢⱼ|/‖A‖ ≤ d).
BLOCK_ENCODINGS = ("ideal", "sparse_access")
#: Readout models for :func:`readout_runs`.
READOUTS = ("none", "tomography", "signed_tomography")
#: Algorithms for :func:`qlsa_cost`.
ALGORITHMS = ("jennings", "costa", "hhl")
#: Leading T-count per data item of unary-iteration QROM (Babbush et al. 2018: 4L − 4 T gates
#: for L items; the −4 is dropped).
QROM_GATES_PER_ITEM = 4.0
#: Prefactor of the select-swap QROM cost 2·√(L·b) (Low, Kliuchnikov and Schaeffer 2018: cost
#: ~ L/λ + λ·b, minimized at λ = √(L/b)); the prefactor is (inferred).
SELECT_SWAP_PREFACTOR = 2.0


def _out(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _arr(x, name: str) -> np.ndarray:
    if x is None:
        raise ModelDomainError(f"{name} is required (got None)")
    a = np.asarray(x, dtype=float)
    if np.any(np.isnan(a)):
        raise ModelDomainError(f"{name} contains NaN")
    return a


def _check_nd(n, d):
    n = _arr(n, "n")
    d = _arr(d, "d")
    if np.any(~np.isfinite(n)) or np.any(n < 1):
        raise ModelDomainError("matrix size n must be finite and >= 1")
    if np.any(d < 1) or np.any(d > n):
        raise ModelDomainError("row sparsity d must satisfy 1 <= d <= n")
    return n, d


def _log2_ceil(n: np.ndarray) -> np.ndarray:
    """Qubits to index n items: ⌈log₂ n⌉, at least 1."""
    return np.maximum(1.0, np.ceil(np.log2(n) - 1e-12))


def _jennings_inputs(kappa, eps, alpha, clamp: bool):
    k = _arr(kappa, "kappa")
    e = _arr(eps, "eps")
    a = _arr(alpha, "alpha")
    if np.any(~((e > 0.0) & (e <= JENNINGS_EPS_MAX))):
        raise ModelDomainError(
            f"Jennings et al. Theorem 1 needs 0 < eps <= {JENNINGS_EPS_MAX}; got eps outside it"
        )
    if np.any(~np.isfinite(k)):
        raise ModelDomainError("kappa must be finite (a singular matrix has no QLSA cost)")
    if clamp:
        k = np.maximum(k, JENNINGS_KAPPA_MIN)
    elif np.any(k < JENNINGS_KAPPA_MIN):
        raise ModelDomainError(
            f"Jennings et al. Theorem 1 needs kappa >= sqrt(12) = {JENNINGS_KAPPA_MIN:.4f}; "
            f"got min kappa {float(np.min(k)):.4g} (pass clamp=True to clamp it up explicitly)"
        )
    if np.any(~(a > 0.0)):
        raise ModelDomainError("block-encoding normalization alpha must be > 0")
    return k, e, a


def jennings_q_star(kappa, eps, alpha=1.0, *, clamp: bool = False):
    """Q*, the query bound of one run of the randomized adiabatic QLSA (Jennings et al. Thm 1).

    With L = ln(2κ + 3) (natural logs throughout)::

        Q* = (1741·α·e/500)·√(κ²+1)·[(133/125 + 4/(25·κ^(1/3)))·π·L + 1]
           + (351/50)·L²·[ln(451·L²/ε) + 1]
           + α·κ·ln(32/ε)

    Valid for κ >= √12 and 0 < ε <= 0.24 (``clamp=True`` raises κ below √12 to √12, which
    over-estimates the cost of those easier systems, instead of raising ModelDomainError).
    """
    k, e, a = _jennings_inputs(kappa, eps, alpha, clamp)
    return _out(_jennings_q_star_unchecked(k, e, a))


def _jennings_q_star_unchecked(k: np.ndarray, e: np.ndarray, a: np.ndarray) -> np.ndarray:
    L = np.log(2.0 * k + 3.0)
    L2 = L * L
    return (
        (1741.0 * math.e / 500.0)
        * a
        * np.sqrt(k * k + 1.0)
        * ((133.0 / 125.0 + 4.0 / (25.0 * np.cbrt(k))) * math.pi * L + 1.0)
        + (351.0 / 50.0) * L2 * (np.log(451.0 * L2 / e) + 1.0)
        + a * k * np.log(32.0 / e)
    )


def jennings_success_probability(eps, success_constant: float = 0.204):
    """Lower bound 0.39 − c·ε on one run's success probability (Jennings et al. Thm 1).

    c = 0.204 is the default (the Q-Newton code; docs/background/references.md#jennings-2023);
    some public copies of the theorem print 0.201, which lowers the query count by
    0.003·ε/(0.39 − 0.201·ε): 0.0077 % at ε = 0.01, 0.21 % at ε = 0.24.
    """
    e = _arr(eps, "eps")
    if not success_constant > 0:
        raise ModelDomainError("success_constant must be > 0")
    p = 0.39 - success_constant * e
    if np.any(~(p > 0)):
        raise ModelDomainError("success probability bound 0.39 - c*eps must be > 0")
    return _out(p)


def jennings_queries(
    kappa,
    eps,
    alpha=1.0,
    *,
    success_constant: float = 0.204,
    alpha_power: int = 1,
    clamp: bool = False,
):
    """Expected queries to the block encoding U_A: Q* / (0.39 − c·ε) (Jennings et al. Thm 1).

    Parameters
    ----------
    kappa : float or array
        Condition number of A/‖A‖ (κ >= √12).
    eps : float or array
        Target error of the output state (0 < ε <= 0.24).
    alpha : float or array
        Block-encoding normalization *relative to* ‖A‖ (U_A encodes A/α with ‖A‖ = 1), so α >= 1;
        for sparse access α = d·max|aᵢⱼ|/‖A‖ ∈ [1, d] (see :func:`block_encoding_alpha`).
    success_constant : float
        c in the success bound 0.39 − c·ε: 0.204 (default) or 0.201.
    alpha_power : {1, 2}
        1 is the theorem. 2 reproduces the Q-Newton code, which multiplies the result by α once
        more (``return alpha * query_cost / (...)``).
    clamp : bool
        Clamp κ up to √12 explicitly instead of raising ModelDomainError.

    Returns
    -------
    float or numpy.ndarray
        Expected number of U_A queries (including the repetitions until success).

    Raises
    ------
    ModelDomainError
        Outside κ >= √12 (unless ``clamp``), 0 < ε <= 0.24, α > 0.

    Examples
    --------
    >>> f"{jennings_queries(10.0, 1e-2):.3g}", f"{jennings_queries(1e4, 1e-2):.3g}"
    ('5.69e+03', '8.61e+06')
    """
    if alpha_power not in (1, 2):
        raise ModelDomainError(f"alpha_power must be 1 or 2, got {alpha_power}")
    q = np.asarray(jennings_q_star(kappa, eps, alpha, clamp=clamp))
    p = np.asarray(jennings_success_probability(eps, success_constant))
    if alpha_power == 2:
        q = q * np.asarray(alpha, dtype=float)
    return _out(q / p)


def jennings_state_prep_queries(
    kappa,
    eps,
    alpha=1.0,
    *,
    success_constant: float = 0.204,
    clamp: bool = False,
    expected: bool = True,
):
    """Queries to U_b (the preparation of |b⟩): 2·Q* per run (Jennings et al. Thm 1).

    With ``expected=True`` (default) the count is divided by the same success probability as
    :func:`jennings_queries`, so both are expected counts per successful output and can be added;
    ``expected=False`` gives the per-attempt 2·Q* as printed in the theorem.

    Examples
    --------
    >>> round(jennings_state_prep_queries(10.0, 1e-2) / jennings_queries(10.0, 1e-2), 12)
    2.0
    """
    q = np.asarray(jennings_q_star(kappa, eps, alpha, clamp=clamp))
    if not expected:
        return _out(2.0 * q)
    return _out(2.0 * q / np.asarray(jennings_success_probability(eps, success_constant)))


def jennings_qubits(block_encoding_qubits):
    """Logical qubits of the Jennings et al. algorithm: block-encoding qubits + 6 (Thm 1).

    Examples
    --------
    >>> jennings_qubits(13)
    19.0
    """
    return _out(_arr(block_encoding_qubits, "block_encoding_qubits") + 6.0)


def costa_queries(
    kappa,
    eps,
    *,
    constant: str | float = "measured",
    filtering: bool = True,
    adiabatic_eps: float = 0.1,
):
    """Queries of the discrete-adiabatic QLSA of Costa et al. (PRX Quantum 3, 040303, 2022).

    The adiabatic walk reaches error ε after T = C·κ/ε walk steps (one query each), with
    C = 2305 proven (Costa et al. 2022) and C ≈ 1.84 measured on random matrices (Costa, An,
    Babbush and Berry, arXiv:2312.07690). The optimal O(κ·log(1/ε)) algorithm runs the walk to a
    fixed error ε₀ and then applies eigenstate filtering (Lin and Tong 2020, minimax polynomial of
    degree 2ℓ with error 2·exp(−√2·ℓ/κ)), giving (inferred)::

        filtering=False:  Q = C·κ/ε
        filtering=True:   Q = (C·κ/ε₀ + √2·κ·ln(2/ε)) / (1 − ε₀²)

    where 1 − ε₀² bounds the filter's success probability (the overlap² of the walk's output with
    the solution). That C multiplies κ/ε is our reading of both papers (inferred; the fitted
    formula of arXiv:2312.07690 was not available to check). Valid for κ >= 1, 0 < ε < 1.

    Parameters
    ----------
    constant : {"measured", "proven"} or float
        C, by name (:data:`COSTA_CONSTANTS`) or value.
    filtering : bool
        Add the eigenstate-filtering stage (default) or run the walk to ε directly.
    adiabatic_eps : float
        ε₀, the walk's target error before filtering (0 < ε₀ < 1; (inferred) default 0.1).

    Examples
    --------
    >>> costa_queries(100.0, 0.01, filtering=False)  # 1.84 * 100 / 0.01
    18400.0
    """
    c = COSTA_CONSTANTS.get(constant) if isinstance(constant, str) else float(constant)
    if c is None or not c > 0:
        raise ModelDomainError(f"constant must be 'measured', 'proven' or > 0, got {constant!r}")
    k = _arr(kappa, "kappa")
    e = _arr(eps, "eps")
    if np.any(~(k >= 1.0)) or np.any(~np.isfinite(k)) or np.any(~((e > 0) & (e < 1))):
        raise ModelDomainError("Costa et al. model needs finite kappa >= 1 and 0 < eps < 1")
    if not filtering:
        return _out(c * k / e)
    if not 0.0 < adiabatic_eps < 1.0:
        raise ModelDomainError("adiabatic_eps must be in (0, 1)")
    walk = c * k / adiabatic_eps
    filt = math.sqrt(2.0) * k * np.log(2.0 / e)
    return _out((walk + filt) / (1.0 - adiabatic_eps**2))


def hhl_queries(n, d, kappa, eps):
    """HHL cost in oracle queries: log₂N · d²·κ²/ε (Harrow, Hassidim and Lloyd 2009).

    The published complexity is Õ(log N · d²κ²/ε); every constant and the polylog factors hidden
    by Õ are set to 1 here (inferred). log₂N is floored at 1. Valid for κ >= 1, 0 < ε < 1. When
    an HHL circuit was actually built, pass its own count to :func:`qlsa_cost` (``queries=``).

    Examples
    --------
    >>> hhl_queries(16, 2, 10.0, 0.1)  # 4 * 4 * 100 / 0.1
    16000.0
    """
    n, d = _check_nd(n, d)
    k = _arr(kappa, "kappa")
    e = _arr(eps, "eps")
    if np.any(~(k >= 1.0)) or np.any(~np.isfinite(k)) or np.any(~((e > 0) & (e < 1))):
        raise ModelDomainError("HHL model needs finite kappa >= 1 and 0 < eps < 1")
    return _out(np.maximum(1.0, np.log2(n)) * d * d * k * k / e)


def block_encoding_alpha(d, max_abs):
    """Normalization of the sparse-access block encoding: α = d·max|aᵢⱼ|.

    Gilyén, Su, Low and Wiebe (2019). Divide by ‖A‖₂ to get the relative α the query formulas
    take; d·max|a| / ‖A‖₂ lies in [1, d].

    Examples
    --------
    >>> block_encoding_alpha(4, 0.5)
    2.0
    """
    d = _arr(d, "d")
    m = _arr(max_abs, "max_abs")
    if np.any(d < 1) or np.any(m < 0):
        raise ModelDomainError("need d >= 1 and max_abs >= 0")
    return _out(d * m)


def block_encoding_alpha_pauli(weights):
    """Normalization of an LCU (Pauli-sum) block encoding: α = Σ|wᵢ| (the ℓ1 norm).

    Examples
    --------
    >>> block_encoding_alpha_pauli([0.5, -0.25, 0.25])
    1.0
    """
    w = _arr(weights, "weights")
    if w.ndim != 1 or w.size == 0:
        raise ModelDomainError("weights must be a non-empty 1-D sequence")
    return float(np.sum(np.abs(w)))


def sparse_block_encoding_qubits(n):
    """Qubits of a sparse-access block encoding of an N×N matrix: 2·⌈log₂N⌉ + 3 (inferred).

    ⌈log₂N⌉ system qubits plus ⌈log₂N⌉ + 3 ancillas, the register layout of the d-sparse block
    encoding of Gilyén, Su, Low and Wiebe (2019). The data register of a QROM oracle is not
    counted.

    Examples
    --------
    >>> sparse_block_encoding_qubits(32)
    13.0
    """
    n = _arr(n, "n")
    return _out(2.0 * _log2_ceil(n) + 3.0)


def gates_per_query(oracle: str, n, d, *, bits: int = 32):
    """Gates one query to U_A costs under an oracle model.

    ``"unit"``
        1: one query is one gate (the earlier reading of the Q-Newton paper, ``paper_unit``).
    ``"sparse_access"``
        ⌈log₂N⌉: sparse-access oracles (column index and entry of the j-th nonzero of a row)
        on ⌈log₂N⌉-qubit indices, O(log N) gates per query, the log N of the paper's stated
        O(d·κ·log(Nκ/ε)); the constant 1 is (inferred). The ``paper`` accounting's oracle.
    ``"structured"``
        ⌈log₂N⌉²: a matrix whose entries are computed from their indices by reversible
        arithmetic, polylog(N) per query; the square is (inferred).
    ``"qrom"``
        4·N·d: an arbitrary matrix loaded from a table of L = N·d entries by unary-iteration
        QROM, 4L − 4 T gates per lookup (Babbush et al., PRX 8, 041015, 2018).
    ``"select_swap"``
        2·√(N·d·bits): select-swap QROM trading qubits for gates, cost ∝ L/λ + λ·b minimized at
        λ = √(L/b) (Low, Kliuchnikov and Schaeffer, arXiv:1812.00954); prefactor (inferred).

    Every gate is charged the two-qubit gate time in :func:`qlsa_cost` (T gates and Toffolis
    dominate these circuits; magic-state distillation is not modelled, which flatters the QPU).

    Examples
    --------
    >>> gates_per_query("qrom", 32, 4), gates_per_query("structured", 32, 4)
    (512.0, 25.0)
    >>> gates_per_query("sparse_access", 1024, 8)
    10.0
    """
    n, d = _check_nd(n, d)
    if oracle == "unit":
        return _out(np.ones(np.broadcast_shapes(n.shape, d.shape)))
    if oracle == "sparse_access":
        return _out(np.broadcast_to(_log2_ceil(n), np.broadcast_shapes(n.shape, d.shape)))
    if oracle == "structured":
        return _out(np.broadcast_to(_log2_ceil(n) ** 2, np.broadcast_shapes(n.shape, d.shape)))
    if oracle == "qrom":
        return _out(QROM_GATES_PER_ITEM * n * d)
    if oracle == "select_swap":
        if not bits >= 1:
            raise ModelDomainError("bits must be >= 1")
        return _out(SELECT_SWAP_PREFACTOR * np.sqrt(n * d * float(bits)))
    raise ModelDomainError(f"unknown oracle {oracle!r} (expected one of {ORACLES})")


def state_prep_gates(n):
    """(two-qubit, one-qubit) gates to prepare an arbitrary N-amplitude state without ancillas.

    2·N_pad CNOTs and 2·N_pad single-qubit rotations with N_pad = 2^⌈log₂N⌉: the ~2ⁿ⁺¹ CNOTs of
    uniformly controlled rotations (Möttönen et al. 2004); equal rotation count (inferred).

    Examples
    --------
    >>> state_prep_gates(5)
    (16.0, 16.0)
    """
    n = _arr(n, "n")
    g = 2.0 * np.exp2(_log2_ceil(n))
    return _out(g), _out(g)


def readout_runs(kind: str, n, eps):
    """Runs (QLSA copies, each measured once) to read the solution out classically.

    ``"none"``: 1 (the output stays a quantum state; the paper's accounting).
    ``"tomography"``: ⌈N/ε²⌉ (Haah et al. 2017, pure-state tomography to ε, up to constants).
    ``"signed_tomography"``: ⌈N·log₂N/ε²⌉ (Kerenidis and Prakash 2020, ℓ2 tomography with signs),
    log₂N floored at 1.

    Examples
    --------
    >>> readout_runs("tomography", 32, 0.01), readout_runs("signed_tomography", 32, 0.1)
    (320000.0, 16000.0)
    """
    n = _arr(n, "n")
    e = _arr(eps, "eps")
    if np.any(n < 1) or np.any(~((e > 0) & (e < 1))):
        raise ModelDomainError("readout needs n >= 1 and 0 < eps < 1")
    if kind == "none":
        return _out(np.ones(np.broadcast_shapes(n.shape, e.shape)))
    if kind == "tomography":
        return _out(np.ceil(n / (e * e) - 1e-9))
    if kind == "signed_tomography":
        return _out(np.ceil(n * np.maximum(1.0, np.log2(n)) / (e * e) - 1e-9))
    raise ModelDomainError(f"unknown readout {kind!r} (expected one of {READOUTS})")


#: A Toffoli in a CX basis: 6 CNOTs (Nielsen and Chuang, Fig. 4.9) and 9 one-qubit gates, the
#: 2 H and 7 T/T† of its T-count-7 form (the one-qubit count is (inferred)).
TOFFOLI_CX = (6.0, 9.0)


def reflection_gates(m):
    """(two-qubit, one-qubit) gates of a reflection about one basis state of ``m`` qubits.

    I − 2|s⟩⟨s| is X gates on the qubits where s is 0 (at most 2m, all counted), around a
    multi-controlled Z, C^(m−1)(Z): with m − 2 clean work qubits that is 2(m − 2) Toffolis and
    one CZ (Nielsen and Chuang §4.3, Fig. 4.10), a CZ being one CNOT and two Hadamards; m = 2 is
    one CZ, m = 1 a Z gate. The work qubits are not counted in the circuit's width (inferred:
    hardware keeps a few spare qubits; a Toffoli's 6 CNOTs and 9 one-qubit gates as in
    :data:`TOFFOLI_CX`).

    Examples
    --------
    >>> reflection_gates(1), reflection_gates(2), reflection_gates(5)
    ((0.0, 3.0), (1.0, 6.0), (37.0, 66.0))
    """
    m = _arr(m, "m")
    if np.any(m < 1):
        raise ModelDomainError("a reflection needs m >= 1 qubits")
    tof = np.maximum(0.0, 2.0 * (m - 2.0))
    two = np.where(m >= 2, tof * TOFFOLI_CX[0] + 1.0, 0.0)
    one = 2.0 * m + np.where(m >= 2, tof * TOFFOLI_CX[1] + 2.0, 1.0)
    return _out(two), _out(one)


@dataclass(frozen=True, slots=True)
class AmplitudeAmplification:
    """Amplitude amplification of a circuit whose postselection succeeds with probability p.

    Parameters
    ----------
    p : float
        Success probability of one plain run.
    rounds : int
        k = ⌊π/(4θ)⌋ Grover iterations, θ = asin √p (≈ π/(4√p) for small p).
    success_probability : float
        sin²((2k + 1)·θ) ≥ 1 − p, the success probability of one amplified execution.
    passes : int
        Circuit passes per amplified execution: 2k + 1 (each round runs the circuit backwards
        and forwards once).
    executions_per_output : float
        1 / success_probability: expected amplified executions per usable output.
    plain_runs_per_output : float
        1 / p: expected plain runs per usable output without amplification, for comparison.
    """

    p: float
    rounds: int
    success_probability: float
    passes: int
    executions_per_output: float
    plain_runs_per_output: float


def amplitude_amplification(p: float) -> AmplitudeAmplification:
    """Rounds and expected executions of amplitude amplification at success probability ``p``.

    Brassard, Høyer, Mosca and Tapp (2002), Theorem 2: with θ = asin √p, k = ⌊π/(4θ)⌋ rounds of
    the iterate −A·S₀·A†·S_χ make one execution succeed with probability sin²((2k+1)θ) ≥ 1 − p.
    Each round costs one backward and one forward pass of the circuit A plus the two
    reflections S_χ (about the flag) and S₀ (about the all-zero input), see
    :func:`reflection_gates`. When the amplified circuit would need as many passes per usable
    output as plain repetition, (2k+1)/sin²((2k+1)θ) ≥ 1/p (p > 0.317), k = 0:
    amplification is not used. p must be known (here: the circuit's own postselection
    probability); for an unknown p the exponential search of the same paper costs a constant
    factor more, not modelled.

    Examples
    --------
    >>> aa = amplitude_amplification(1e-3)
    >>> aa.rounds, aa.passes, round(aa.success_probability, 4), aa.plain_runs_per_output
    (24, 49, 0.9996, 1000.0)
    >>> amplitude_amplification(0.9).rounds  # nothing to amplify
    0
    """
    p = float(p)
    if not 0.0 < p <= 1.0:
        raise ModelDomainError(f"success probability must be in (0, 1], got {p!r}")
    theta = math.asin(math.sqrt(p))
    k = math.floor(math.pi / (4.0 * theta))
    success = math.sin((2 * k + 1) * theta) ** 2
    if (2 * k + 1) / success >= 1.0 / p:
        # Amplifying would not save circuit passes (p > 0.317): plain repetition is cheaper.
        k, success = 0, p
    return AmplitudeAmplification(p, k, success, 2 * k + 1, 1.0 / success, 1.0 / p)


@dataclass(frozen=True, slots=True)
class Accounting:
    """Which costs a QPU solve is charged.

    Parameters
    ----------
    name : str
        Preset name.
    oracle : str
        Oracle model for :func:`gates_per_query` (``"unit"`` = one query is one gate).
    state_prep : bool
        Charge the preparation of |b⟩ (2 U_b queries per U_A query for Jennings/Costa).
    readout : str
        Readout model for :func:`readout_runs`; ``"none"`` also charges no measurement time.
    charge_transfer : bool
        The simulator charges moving the matrix and vectors over the network (read by the engine
        and by :mod:`hybridsim.costs.breakeven`).
    charge_link_latency : bool
        The simulator charges the link latency to and from the QPU (same readers).
    charge_job_overhead : bool
        Charge ``job_overhead_s`` once per job (a job holds at most ``max_shots_per_job`` runs).
    block_encoding : {"ideal", "sparse_access"}
        The block-encoding normalization α charged when :func:`qlsa_cost` is given none:
        ``"ideal"`` α = 1, ``"sparse_access"`` α = d (see :data:`BLOCK_ENCODINGS`).
    """

    name: str
    oracle: str
    state_prep: bool
    readout: str
    charge_transfer: bool
    charge_link_latency: bool
    charge_job_overhead: bool = False
    block_encoding: str = "ideal"

    def __post_init__(self) -> None:
        if self.oracle not in ORACLES:
            raise ModelDomainError(f"unknown oracle {self.oracle!r} (expected one of {ORACLES})")
        if self.readout not in READOUTS:
            raise ModelDomainError(f"unknown readout {self.readout!r} (expected one of {READOUTS})")
        if self.block_encoding not in BLOCK_ENCODINGS:
            raise ModelDomainError(
                f"unknown block encoding {self.block_encoding!r} "
                f"(expected one of {BLOCK_ENCODINGS})"
            )


#: ``"paper"``: the Q-Newton paper's stated complexity O(d·κ·log(Nκ/ε)) in its sparse-access
#: form: α = d, ⌈log₂N⌉ two-qubit gates per query, queries × gate time and nothing else.
#: ``"paper_unit"``: the earlier reading of the paper kept as a named variant (one query counted
#: as one two-qubit gate with α = 1, so neither N nor d enters). ``"full"``: QROM oracle, state
#: preparation, signed tomography readout with measurement and reset per run, per-job overhead,
#: transfer and link latency.
ACCOUNTING: Mapping[str, Accounting] = MappingProxyType(
    {
        "paper": Accounting(
            "paper", "sparse_access", False, "none", False, False, False, "sparse_access"
        ),
        "paper_unit": Accounting("paper_unit", "unit", False, "none", False, False, False),
        "full": Accounting("full", "qrom", True, "signed_tomography", True, True, True),
    }
)


@dataclass(frozen=True, slots=True)
class QuantumCost:
    """Predicted cost of one QPU linear solve (floats, or arrays for array inputs).

    Time fields are totals over all runs of the solve.

    Parameters
    ----------
    accounting, algorithm : str
        What was charged and which QLSA.
    queries : float or numpy.ndarray
        Expected U_A queries per run (one successful QLSA output).
    state_prep_queries : float or numpy.ndarray
        Expected U_b queries per run (0 when not charged).
    runs : float or numpy.ndarray
        Runs needed by the readout (1 without readout).
    jobs : float or numpy.ndarray
        ⌈runs / max_shots_per_job⌉.
    gates_per_query : float or numpy.ndarray
        From the accounting's oracle model.
    compute_s : float or numpy.ndarray
        runs × queries × gates_per_query × gate_time_2q_s.
    state_prep_s : float or numpy.ndarray
        runs × state_prep_queries × (2q gates × t_2q + 1q gates × t_1q).
    readout_s : float or numpy.ndarray
        runs × (measure_time_s + reset_time_s); 0 when readout is ``"none"``.
    overhead_s : float or numpy.ndarray
        jobs × job_overhead_s when charged.
    total_s : float or numpy.ndarray
        Sum of the four times above (transfer and link latency are charged by the simulator).
    n_qubits : float or numpy.ndarray
        Logical qubits of the algorithm (the QROM data register not counted).
    """

    accounting: str
    algorithm: str
    queries: float | np.ndarray
    state_prep_queries: float | np.ndarray
    runs: float | np.ndarray
    jobs: float | np.ndarray
    gates_per_query: float | np.ndarray
    compute_s: float | np.ndarray
    state_prep_s: float | np.ndarray
    readout_s: float | np.ndarray
    overhead_s: float | np.ndarray
    total_s: float | np.ndarray
    n_qubits: float | np.ndarray


def _accounting(accounting: Accounting | str) -> Accounting:
    if isinstance(accounting, Accounting):
        return accounting
    try:
        return ACCOUNTING[accounting]
    except KeyError:
        raise ModelDomainError(
            f"unknown accounting {accounting!r} (expected one of {', '.join(ACCOUNTING)})"
        ) from None


#: The device keywords :func:`qlsa_cost` took before :class:`QpuSpec` (deprecated).
_QLSA_LEGACY_KEYWORDS = (
    "gate_time_1q_s",
    "gate_time_2q_s",
    "measure_time_s",
    "reset_time_s",
    "max_shots_per_job",
    "job_overhead_s",
)


def qlsa_cost(
    n,
    d,
    kappa,
    eps,
    *,
    accounting: Accounting | str,
    qpu: QpuSpec | None = None,
    algorithm: str = "jennings",
    alpha=None,
    jennings_success_constant: float = 0.204,
    jennings_alpha_power: int = 1,
    costa_constant: str | float = "measured",
    clamp: bool = False,
    queries=None,
    **legacy: Any,
) -> QuantumCost:
    """Predicted time of one QPU linear solve.

    ::

        total = runs × queries × gates_per_query × t_2q                (compute_s)
              + runs × state_prep_queries × (g2·t_2q + g1·t_1q)         (state_prep_s)
              + runs × (t_measure + t_reset)                            (readout_s)
              + ⌈runs / max_shots_per_job⌉ × job_overhead_s             (overhead_s)

    where queries is the algorithm's expected query count, gates_per_query comes from the
    accounting's oracle, (g2, g1) = :func:`state_prep_gates`, runs = :func:`readout_runs`. Each
    term is charged only if the accounting says so. Total time is affine in the gate times,
    which :mod:`hybridsim.costs.breakeven` uses. Vectorized over n, d, kappa, eps, alpha.

    Parameters
    ----------
    n, d, kappa, eps : float or array
        Matrix size, row sparsity, condition number, target error.
    accounting : Accounting or {"paper", "paper_unit", "full"}
        What to charge (:data:`ACCOUNTING`).
    qpu : QpuSpec
        The device (:class:`hybridsim.costs.specs.QpuSpec`). Queries are charged the 2q gate
        time (see :func:`gates_per_query`); the paper's one "gate time" per query is the
        device's entangling gate time (e.g. 84 ns CZ on IBM Heron), the conservative choice
        among the two. Measurement and reset are paid once per run when there is a readout
        (all qubits measured in parallel); a job holds at most ``max_shots_per_job`` runs; the
        per-job overhead (loading the circuit, submission) is charged only when
        ``accounting.charge_job_overhead``. Its link is charged by the simulator, not here.
    algorithm : {"jennings", "costa", "hhl"}
        Query-count model.
    alpha : float or array, optional
        Relative block-encoding normalization (see :func:`jennings_queries`); ``None`` takes the
        accounting's ``block_encoding``: 1 (``"ideal"``) or d (``"sparse_access"``, the bound
        d·max|aᵢⱼ|/‖A‖ ≤ d). Ignored by the HHL model.
    jennings_success_constant, jennings_alpha_power : see :func:`jennings_queries`.
    costa_constant : see :func:`costa_queries`.
    clamp : bool
        Clamp κ below √12 up to √12 for the Jennings model (explicit, never silent).
    queries : float or array, optional
        Use this per-run U_A query count instead of the algorithm's formula (for example
        counted from an HHL circuit that was actually built).
    **legacy
        Deprecated: ``gate_time_1q_s``, ``gate_time_2q_s``, ``measure_time_s``,
        ``reset_time_s``, ``max_shots_per_job``, ``job_overhead_s`` instead of ``qpu`` (a
        DeprecationWarning; removed in the next release).

    Examples
    --------
    >>> qpu = QpuSpec(gate_time_1q_s=1e-18, gate_time_2q_s=1e-18, measure_time_s=1.56e-6,
    ...               reset_time_s=0.0, max_shots_per_job=1e5)
    >>> c = qlsa_cost(32, 32, 10.0, 0.01, accounting="paper_unit", qpu=qpu)
    >>> f"{c.total_s:.3g}"
    '5.69e-15'

    The paper's sparse-access form charges α = d = 32 and ⌈log₂32⌉ = 5 gates per query:

    >>> c = qlsa_cost(32, 32, 10.0, 0.01, accounting="paper", qpu=qpu)
    >>> f"{c.total_s:.3g}", c.gates_per_query
    ('5.25e-13', 5.0)
    """
    qpu, used = _spec_from_keywords("qlsa_cost", QpuSpec, "qpu", qpu, legacy, _QLSA_LEGACY_KEYWORDS)
    _no_unknown_keywords("qlsa_cost", legacy)
    _warn_deprecated("qlsa_cost", used, "qpu=QpuSpec(...)", stacklevel=2)
    acc = _accounting(accounting)
    if algorithm not in ALGORITHMS:
        raise ModelDomainError(f"unknown algorithm {algorithm!r} (expected one of {ALGORITHMS})")
    gate_time_1q_s, gate_time_2q_s = qpu.gate_time_1q_s, qpu.gate_time_2q_s
    n_arr, d_arr = _check_nd(n, d)
    if alpha is not None:
        a = alpha
    elif acc.block_encoding == "sparse_access":
        a = d_arr
    else:
        a = 1.0

    # Query counts per run.
    if queries is not None:
        q = _arr(queries, "queries")
        if np.any(~(q > 0)):
            raise ModelDomainError("queries must be > 0")
        sp_q = 2.0 * q if algorithm != "hhl" else np.ones_like(q)
    elif algorithm == "jennings":
        # Q* once for both U_A and U_b counts: it is the bulk of the arithmetic.
        if jennings_alpha_power not in (1, 2):
            raise ModelDomainError(f"alpha_power must be 1 or 2, got {jennings_alpha_power}")
        k, e, a_arr = _jennings_inputs(kappa, eps, a, clamp)
        q_star = _jennings_q_star_unchecked(k, e, a_arr)
        p = np.asarray(jennings_success_probability(e, jennings_success_constant))
        q = q_star / p
        sp_q = 2.0 * q
        if jennings_alpha_power == 2:
            q = q * a_arr
    elif algorithm == "costa":
        # α rescales κ_eff = α·κ for a walk built on A/α (inferred); 1 for an ideal encoding.
        q = np.asarray(
            costa_queries(
                np.asarray(kappa, float) * np.asarray(a, float), eps, constant=costa_constant
            )
        )
        sp_q = 2.0 * q  # each walk step reflects about |b⟩: U_b and U_b† (inferred)
    else:
        q = np.asarray(hhl_queries(n_arr, d_arr, kappa, eps))
        sp_q = np.ones_like(q)  # HHL prepares |b⟩ once per run

    gpq = np.asarray(gates_per_query(acc.oracle, n_arr, d_arr))
    runs = np.asarray(readout_runs(acc.readout, n_arr, eps))
    jobs = np.ceil(runs / float(qpu.max_shots_per_job))

    compute_s = runs * q * gpq * gate_time_2q_s
    index_qubits = _log2_ceil(n_arr)
    if acc.state_prep:
        g = 2.0 * np.exp2(index_qubits)  # state_prep_gates: 2·N_pad CNOTs and rotations
        state_prep_s = runs * sp_q * (g * (gate_time_2q_s + gate_time_1q_s))
    else:
        sp_q = np.zeros_like(q)
        state_prep_s = np.zeros_like(compute_s)
    if acc.readout == "none":
        readout_s = np.zeros_like(runs)
    else:
        readout_s = runs * (qpu.measure_time_s + qpu.reset_time_s)
    overhead_s = jobs * qpu.job_overhead_s if acc.charge_job_overhead else np.zeros_like(jobs)
    total_s = compute_s + state_prep_s + readout_s + overhead_s

    be = 2.0 * index_qubits + 3.0  # sparse-access block encoding
    if algorithm == "hhl":
        # system + clock (⌈log2 κ⌉ + ⌈log2 1/ε⌉, inferred) + 1 rotation ancilla + oracle ancillas
        clock = np.ceil(np.log2(np.maximum(np.asarray(kappa, float), 2.0))) + np.ceil(
            np.log2(1.0 / np.asarray(eps, float))
        )
        n_qubits = be + clock + 1.0
    else:
        n_qubits = be + 6.0  # Jennings et al.; the same register layout assumed for Costa

    shape = np.broadcast_shapes(
        np.shape(total_s), np.shape(q), np.shape(runs), np.shape(n_qubits), np.shape(gpq)
    )

    def f(x):
        return _out(np.broadcast_to(np.asarray(x, float), shape))

    return QuantumCost(
        acc.name,
        algorithm,
        f(q),
        f(sp_q),
        f(runs),
        f(jobs),
        f(gpq),
        f(compute_s),
        f(state_prep_s),
        f(readout_s),
        f(overhead_s),
        f(total_s),
        f(n_qubits),
    )
