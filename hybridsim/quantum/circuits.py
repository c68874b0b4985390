"""Circuit building blocks for the HHL executor, on top of qutip-qip's ``QubitCircuit``:

* QFT / inverse QFT as lists of qutip-qip ``SNOT`` and ``CPHASE`` gates. ``reverse_circuit()`` is
  not an inverse (docs/background/references.md#qutip-qip-traps): the inverse reverses the order
  *and* negates every phase.
* State preparation of ``b`` from uniformly controlled rotations (Möttönen et al. 2005).
* Hardware-form decomposition and gate counting (used for ``QLSAResult.gate_counts``).

The gate classes live in :mod:`hybridsim.quantum.gates`; qutip / qutip-qip are imported inside the
functions here, never at module level.

Qubit order is qutip's: qubit 0 is the most significant tensor factor, and a register of qubits
``[q0, q1, ...]`` reads its integer value big-endian (``q0`` is the high bit).

References
----------
M. Möttönen, J. J. Vartiainen, V. Bergholm, M. M. Salomaa, "Quantum circuits for general
multiqubit gates", Phys. Rev. Lett. 93, 130502 (2004); and "Transformation of quantum states using
uniformly controlled rotations", Quantum Inf. Comput. 5, 467 (2005).
M. A. Nielsen, I. L. Chuang, *Quantum Computation and Quantum Information*, §5.1 (QFT).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "qft_gates",
    "qft_circuit",
    "state_preparation_gates",
    "decompose",
    "count_gates",
]

# Gate names after decomposition that act on one / two qubits. Anything else with more qubits is an
# oracle call (ControlledUnitary) and is counted separately: its cost depends on how A is accessed.
_ONE_QUBIT = {"SNOT", "RY", "RZ", "RX", "X", "Y", "Z", "S", "T", "PHASEGATE", "QASMU"}
_TWO_QUBIT = {"CNOT", "CPHASE", "CSIGN", "CZ", "SWAP", "CRY", "CRZ", "CRX"}
#: (CNOTs, single-qubit gates) of each two-qubit gate in a CX basis, from the definitions in
#: OpenQASM 2.0's qelib1.inc (docs/background/references.md#openqasm): cu1(λ) = u1(λ/2) a; cx;
#: u1(−λ/2) b; cx; u1(λ/2) b — a controlled phase costs *two* CNOTs; cz = h b; cx; h b;
#: swap = three cx; crz and cry = two cx and two rotations; crx = two cx and three gates.
_CX_BASIS = {
    "CNOT": (1, 0),
    "CPHASE": (2, 3),
    "CSIGN": (1, 2),
    "CZ": (1, 2),
    "SWAP": (3, 0),
    "CRY": (2, 2),
    "CRZ": (2, 2),
    "CRX": (2, 3),
}


def qft_gates(qubits: Sequence[int], *, swaps: bool = True, inverse: bool = False) -> list:
    """The QFT on ``qubits`` as qutip-qip gates (Nielsen & Chuang §5.1).

    Parameters
    ----------
    qubits : sequence of int
        The register, high bit first.
    swaps : bool
        Append the final bit-reversal SWAPs. Without them the output register is bit-reversed;
        HHL avoids the swaps by wiring the controlled powers accordingly.
    inverse : bool
        Return QFT† instead: the same gates in reverse order with every phase negated
        (``reverse_circuit()`` alone would not invert it).

    Returns
    -------
    list of qutip_qip.operations.Gate
    """
    from qutip_qip.operations import Gate

    q = list(qubits)
    m = len(q)
    gates = []
    for i in range(m):
        gates.append(Gate("SNOT", targets=[q[i]], arg_label="H"))
        for j in range(i + 1, m):
            # Controlled phase 2π/2^(j-i+1) from the lower bit q[j] onto q[i].
            theta = np.pi / 2 ** (j - i)
            gates.append(
                Gate(
                    "CPHASE",
                    targets=[q[i]],
                    controls=[q[j]],
                    arg_value=theta,
                    arg_label=f"π/{2 ** (j - i)}",
                )
            )
    if swaps:
        gates.extend(Gate("SWAP", targets=[q[i], q[m - 1 - i]]) for i in range(m // 2))
    if inverse:
        inv = []
        for g in reversed(gates):
            if g.name == "CPHASE":
                inv.append(
                    Gate(
                        "CPHASE",
                        targets=g.targets,
                        controls=g.controls,
                        arg_value=-g.arg_value,
                        arg_label="-" + g.arg_label,
                    )
                )
            else:
                inv.append(g)
        gates = inv
    return gates


def qft_circuit(n: int, *, swaps: bool = True, inverse: bool = False):
    """A ``QubitCircuit`` with the (inverse) QFT on ``n`` qubits; see :func:`qft_gates`."""
    from qutip_qip.circuit import QubitCircuit

    qc = QubitCircuit(n)
    qc.add_gates(qft_gates(range(n), swaps=swaps, inverse=inverse))
    return qc


def state_preparation_gates(
    b: np.ndarray | None, qubits: Sequence[int], *, complex_b: bool = False
):
    """Gates mapping ``|0…0>`` to ``b/‖b‖`` on ``qubits`` (Möttönen et al. 2005).

    A cascade of uniformly controlled ``R_y`` rotations sets the magnitudes (real signed vectors
    need nothing else: the last level's angles carry the signs); complex vectors get a cascade of
    uniformly controlled ``R_z`` rotations and a global phase for the phases.

    Parameters
    ----------
    b : numpy.ndarray or None
        Vector of length ``2^len(qubits)``; ``None`` builds the structure with zero angles (for
        resource counting).
    qubits : sequence of int
        Target register, high bit first.
    complex_b : bool
        With ``b=None``: whether to include the phase cascade.
    """
    from qutip_qip.operations import Gate

    from hybridsim.quantum.gates import UniformlyControlledRotation as ucr

    q = list(qubits)
    n = len(q)
    dim = 2**n
    if b is None:
        amps = np.ones(dim) / np.sqrt(dim)
        phases = np.zeros(dim) if complex_b else None
    else:
        b = np.asarray(b)
        if b.shape != (dim,):
            raise ValueError(f"b must have length {dim}, got shape {b.shape}")
        b = b / np.linalg.norm(b)
        if np.iscomplexobj(b) and np.any(np.abs(b.imag) > 0):
            amps, phases = np.abs(b), np.angle(b)
        else:
            amps, phases = np.real(b).astype(float), None
    gates = []
    signed_last = phases is None
    for level in range(n):
        blocks = amps.reshape(2**level, 2, -1)
        if level == n - 1 and signed_last:
            lo, hi = blocks[:, 0, 0], blocks[:, 1, 0]
        else:
            lo = np.linalg.norm(np.abs(blocks[:, 0, :]), axis=1)
            hi = np.linalg.norm(np.abs(blocks[:, 1, :]), axis=1)
        # R_y(α)|0> = cos(α/2)|0> + sin(α/2)|1>; atan2 keeps signs on the last level and gives
        # angle 0 for an all-zero subtree.
        angles = 2.0 * np.arctan2(hi, lo)
        gates.append(ucr(q[:level], q[level], angles, axis="y", arg_label="prep b"))
    if phases is not None:
        # A diagonal diag(e^{iφ}) = global phase × Π_levels UCRZ (Bullock–Markov recursion): on each
        # level the pair (φ_v0, φ_v1) is R_z(φ_v1 − φ_v0) times a phase (φ_v0 + φ_v1)/2 left for the
        # shorter prefix.
        ph = phases.astype(float)
        for level in range(n - 1, -1, -1):
            pairs = ph.reshape(-1, 2)
            gates.append(
                ucr(q[:level], q[level], pairs[:, 1] - pairs[:, 0], axis="z", arg_label="phase b")
            )
            ph = pairs.mean(axis=1)
        gates.append(Gate("GLOBALPHASE", arg_value=float(ph[0]), arg_label="phase"))
    return gates


def decompose(gates: Iterable) -> list:
    """Expand uniformly controlled rotations into CNOTs and rotations; keep every other gate."""
    from hybridsim.quantum.gates import UniformlyControlledRotation

    out = []
    for g in gates:
        if isinstance(g, UniformlyControlledRotation):
            out.extend(g.decompose())
        else:
            out.append(g)
    return out


def count_gates(qc) -> dict:
    """Gate counts and depth of a circuit in its hardware form.

    Uniformly controlled rotations are counted as their decomposition (rotations + CNOTs); QFT
    ``CPHASE`` gates count as one two-qubit gate each; each :class:`ControlledUnitary` oracle call
    counts once under ``"CU"`` and in ``"n_oracle"``, *not* in ``"n_2q"`` (its cost depends on how
    the matrix is accessed and is modelled by query counts in ``hybridsim.costs``);
    ``"u_applications"`` is how many times ``U = e^{iAt}`` is applied in total (Σ powers).
    ``GLOBALPHASE`` is not a gate. ``"depth"`` is the ASAP layer count where every gate occupies all
    of its qubits and an oracle call is one layer.

    Two bases. ``"n_1q"``/``"n_2q"`` count the gates as the circuit has them (its native basis:
    ``CNOT`` and ``CPHASE`` one two-qubit gate each), the gates of the OpenQASM export.
    ``"n_1q_cx"``/``"n_2q_cx"`` count them in a CX basis (CNOT + single-qubit gates), where a
    controlled phase is two CNOTs and three phase gates (:data:`_CX_BASIS`): what hardware with one
    native entangling gate runs, and what the simulator charges (``hybridsim.execution``).

    Returns
    -------
    dict
        Gate name → count, plus ``"n_1q"``, ``"n_2q"`` (native basis), ``"n_1q_cx"``,
        ``"n_2q_cx"`` (CX basis), ``"n_oracle"``, ``"u_applications"``, ``"depth"``.

    Notes
    -----
    The counts depend on the circuit's structure alone (each gate's kind, name, qubits, and an
    oracle's power or a rotation's axis), never on angles or matrices, so they are remembered by
    that structure (:func:`_structure`, one pass over the gates): an HHL run of the same size
    and clock register as an earlier one skips expanding its uniformly controlled rotations
    (2^k gates each). A fresh dict is returned each time.
    """
    key = _structure(qc)
    hit = _COUNTS.get(key)
    if hit is None:
        if len(_COUNTS) >= _COUNTS_MAX:
            _COUNTS.clear()
        hit = _COUNTS[key] = _count_gates(qc)
    return dict(hit)


#: count_gates's results by circuit structure (bounded: cleared when full).
_COUNTS: dict[tuple, dict] = {}
_COUNTS_MAX = 256


def _structure(qc) -> tuple:
    """Everything :func:`_count_gates` reads of ``qc``: its width and, per gate, its name, its
    kind and qubits, and an oracle's power or a rotation's axis, controls and target."""
    from hybridsim.quantum.gates import ControlledUnitary, UniformlyControlledRotation

    key: list = [qc.N]
    for g in qc.gates:
        if isinstance(g, UniformlyControlledRotation):
            key.append((g.name, "ucr", g.axis, tuple(g.controls or ()), g.targets[0]))
        elif isinstance(g, ControlledUnitary):
            key.append((g.name, "cu", tuple(g.get_all_qubits()), g.power))
        else:
            key.append((g.name, tuple(g.get_all_qubits())))
    return tuple(key)


def _count_gates(qc) -> dict:
    from hybridsim.quantum.gates import ControlledUnitary, UniformlyControlledRotation

    names: Counter = Counter()
    n1 = n2 = n1_cx = n2_cx = n_or = u_apps = 0
    level = [0] * qc.N
    for g in qc.gates:
        if g.name == "GLOBALPHASE":
            continue
        if isinstance(g, UniformlyControlledRotation):
            ops = g.skeleton()  # counted as its decomposition, without building 2^k gate objects
        else:
            ops = [(g.name, tuple(g.get_all_qubits()))]
        for name, qubits in ops:
            names[name] += 1
            if isinstance(g, ControlledUnitary):
                n_or += 1
                u_apps += g.power
            elif len(qubits) == 1 and name in _ONE_QUBIT:
                n1 += 1
                n1_cx += 1
            elif len(qubits) == 2 and name in _TWO_QUBIT:
                n2 += 1
                cx, one = _CX_BASIS[name]
                n2_cx += cx
                n1_cx += one
            else:
                raise ValueError(f"count_gates: no counting rule for gate {name} on {qubits}")
            lay = max(level[q] for q in qubits) + 1
            for q in qubits:
                level[q] = lay
    depth = max(level, default=0)
    counts = dict(sorted(names.items()))
    counts.update(n_1q=n1, n_2q=n2, n_1q_cx=n1_cx, n_2q_cx=n2_cx)
    counts.update(n_oracle=n_or, u_applications=u_apps, depth=depth)
    return counts
