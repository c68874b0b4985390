"""A numpy state-vector / density-matrix applier for the gates of a qutip-qip ``QubitCircuit``.

``QubitCircuit.run`` asks every gate for its compact matrix and contracts it with ``einsum``. That
is exact but has two costs for HHL: the eigenvalue inversion, a uniformly controlled rotation on
``n_c + 1`` qubits, becomes a dense ``2^(n_c+1)``-square matrix (1 GB at ``n_c = 12``), and each
controlled oracle call multiplies the whole state although only its control = 1 half changes. This
module walks the *same gate objects* of the same circuit and applies each one by a tensor reshape:

* :class:`~hybridsim.quantum.gates.UniformlyControlledRotation`: one vectorized 2×2 rotation per
  control value, O(2^Q);
* :class:`~hybridsim.quantum.gates.ControlledUnitary`: the target matrix on the control = 1 slice;
* ``GLOBALPHASE``: a scalar;
* anything else: its compact matrix (``get_compact_qobj``) contracted on its qubits, as qutip-qip
  does.

Tests check that it agrees with ``QubitCircuit.run`` on small circuits. Measurements are refused:
qutip-qip draws their outcomes from the global ``np.random`` state, which hybridsim never uses.

The density-matrix path (:func:`run_density`) is for the optional noise model: it applies every gate
in hardware form (uniformly controlled rotations decomposed into CNOTs and rotations), each followed
by a depolarizing channel on the qubits it touched. It costs O(4^Q) per gate, so it is limited to
``MAX_DENSITY_QUBITS`` qubits and is slow (seconds to minutes).
"""

from __future__ import annotations

import numpy as np

__all__ = ["run_statevector", "run_density", "MAX_DENSITY_QUBITS"]

MAX_DENSITY_QUBITS = 10


def _standard_matrix(gate) -> np.ndarray:
    """Compact matrix of a gate, with the few standard gates HHL uses computed directly.

    qutip-qip builds a ``Qobj`` per call (about 1 ms for ``CPHASE``); the formulas below are the
    same matrices (tests compare them through ``QubitCircuit.run``).
    """
    name, arg = gate.name, gate.arg_value
    if name == "SNOT":
        return np.array([[1.0, 1.0], [1.0, -1.0]], dtype=complex) / np.sqrt(2.0)
    if name == "CPHASE":
        return np.diag([1.0, 1.0, 1.0, np.exp(1j * arg)])
    if name == "RY":
        c, s = np.cos(arg / 2.0), np.sin(arg / 2.0)
        return np.array([[c, -s], [s, c]], dtype=complex)
    if name == "RZ":
        return np.diag([np.exp(-0.5j * arg), np.exp(0.5j * arg)])
    if name == "CNOT":
        return np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=complex)
    return gate.get_compact_qobj().full()


def _apply_matrix(psi: np.ndarray, mat: np.ndarray, axes: list[int]) -> np.ndarray:
    """Contract a ``2^k``-square matrix with tensor axes ``axes`` (big-endian over ``axes``)."""
    k = len(axes)
    nd = psi.ndim
    shape = psi.shape
    if np.count_nonzero(mat - np.diag(np.diagonal(mat))) == 0:
        # Diagonal gate (CPHASE, RZ, …): an elementwise product broadcast over the other axes.
        d = np.diagonal(mat).reshape((2,) * k)
        order = np.argsort(axes)
        bshape = [1] * nd
        for ax in axes:
            bshape[ax] = 2
        return psi * np.transpose(d, order).reshape(bshape)
    lo = axes[0]
    if list(axes) == list(range(lo, lo + k)):
        # Contiguous ascending axes: a batched matmul on a reshaped view, no transposition.
        x = psi.reshape(2**lo, 2**k, -1)
        if x.shape[2] == 1:  # gate on the last axes: one GEMM with the transpose
            return (x[:, :, 0] @ mat.T).reshape(shape)
        if lo == 0:  # gate on the first axes: one GEMM
            return (mat @ x[0]).reshape(shape)
        return np.matmul(mat, x).reshape(shape)
    moved = np.moveaxis(psi, axes, list(range(k)))
    y = (mat @ moved.reshape(2**k, -1)).reshape(moved.shape)
    return np.moveaxis(y, list(range(k)), axes)


def _apply_ucr(psi: np.ndarray, gate, axes_of) -> np.ndarray:
    controls = [] if gate.controls is None else list(gate.controls)
    src = [axes_of(q) for q in controls] + [axes_of(gate.targets[0])]
    k = len(controls)
    blocks = gate.block_matrices()  # (2^k, 2, 2)
    lo = src[0]
    if src == list(range(lo, lo + k + 1)):
        # Controls then target on consecutive axes (HHL's clock → ancilla is not, state prep is).
        x = psi.reshape(2**lo, 2**k, 2, -1)
        return np.matmul(blocks[None, :, :, :], x).reshape(psi.shape)
    moved = np.moveaxis(psi, src, list(range(k + 1)))
    # y[v, r, :] = Σ_c blocks[v, r, c] x[v, c, :]: one batched 2×2 product per control value.
    y = np.matmul(blocks, moved.reshape(2**k, 2, -1))
    return np.moveaxis(y.reshape(moved.shape), list(range(k + 1)), src)


def _apply_cu(psi: np.ndarray, gate, axes_of, conj: bool) -> np.ndarray:
    if gate.matrix is None:
        raise ValueError("placeholder ControlledUnitary (matrix=None) cannot be simulated")
    c = axes_of(gate.controls[0])
    idx = (slice(None),) * c + (1,) + (slice(None),) * (psi.ndim - c - 1)
    # Axes of the control = 1 slice: every axis after the control shifts down by one.
    t_axes = [a - (a > c) for a in (axes_of(t) for t in gate.targets)]
    mat = gate.matrix.conj() if conj else gate.matrix
    out = psi.copy()
    out[idx] = _apply_matrix(np.ascontiguousarray(psi[idx]), mat, t_axes)
    return out


def _apply_gate(psi: np.ndarray, gate, offset: int = 0, conj: bool = False) -> np.ndarray:
    """Apply one gate to the axes ``offset + qubit`` of ``psi`` (``conj``: conjugate matrix)."""
    from hybridsim.quantum.gates import ControlledUnitary, UniformlyControlledRotation

    def axes_of(q: int) -> int:
        return offset + q

    if gate.name == "GLOBALPHASE":
        phase = np.exp(1j * gate.arg_value)
        return psi * (np.conj(phase) if conj else phase)
    if isinstance(gate, UniformlyControlledRotation):
        if conj:
            # conj(R_y) = R_y (real); conj(R_z(θ)) = R_z(−θ).
            gate = type(gate)(
                gate.controls or [],
                gate.targets[0],
                gate.angles if gate.axis == "y" else -gate.angles,
                axis=gate.axis,
            )
        return _apply_ucr(psi, gate, axes_of)
    if isinstance(gate, ControlledUnitary):
        return _apply_cu(psi, gate, axes_of, conj)
    mat = _standard_matrix(gate)
    if conj:
        mat = mat.conj()
    return _apply_matrix(psi, mat, [axes_of(q) for q in gate.get_all_qubits()])


def _check_gates(qc) -> None:
    from qutip_qip.operations import Measurement

    for g in qc.gates:
        if isinstance(g, Measurement):
            raise ValueError("circuits with measurements are not supported (they use global RNG)")
        if getattr(g, "classical_controls", None):
            raise ValueError("classically controlled gates are not supported")
        if qc.user_gates and g.name in qc.user_gates:
            raise ValueError(f"user gate {g.name!r}: use hybridsim gate classes instead")


def run_statevector(qc, psi0: np.ndarray) -> np.ndarray:
    """Final state vector of ``qc`` applied to ``psi0`` (length ``2^qc.N``, qutip ordering).

    Parameters
    ----------
    qc : qutip_qip.circuit.QubitCircuit
        Circuit of unitary gates.
    psi0 : numpy.ndarray
        Initial state vector.

    Returns
    -------
    numpy.ndarray
        The final state, same shape as ``psi0`` (complex).
    """
    _check_gates(qc)
    q = qc.N
    psi = np.asarray(psi0, dtype=complex).reshape((2,) * q)
    for g in qc.gates:
        psi = _apply_gate(psi, g)
    return psi.reshape(-1)


def _depolarize(rho: np.ndarray, qubits: list[int], p: float, n: int) -> np.ndarray:
    """``ρ → (1−p) ρ + p · Tr_S(ρ) ⊗ I_S / 2^|S|`` on the qubit set ``S`` (tensor form, 2n axes)."""
    if p <= 0.0:
        return rho
    traced = rho
    # Partial trace over S: contract row axis q with column axis n+q, highest first so the remaining
    # axis numbers stay valid.
    for q in sorted(qubits, reverse=True):
        traced = np.trace(traced, axis1=q, axis2=traced.ndim // 2 + q)
    dim = 2 ** len(qubits)
    eye = np.eye(dim).reshape((2,) * (2 * len(qubits)))
    # Rebuild Tr_S(ρ) ⊗ I_S / dim with the identity's axes put back at positions S (rows, columns).
    full = np.multiply.outer(traced, eye) / dim
    m = n - len(qubits)
    rest = [q for q in range(n) if q not in qubits]
    src_rows = list(range(m))
    src_cols = list(range(m, 2 * m))
    src_eye_r = list(range(2 * m, 2 * m + len(qubits)))
    src_eye_c = list(range(2 * m + len(qubits), 2 * m + 2 * len(qubits)))
    dest = rest + [n + q for q in rest] + list(qubits) + [n + q for q in qubits]
    full = np.moveaxis(full, src_rows + src_cols + src_eye_r + src_eye_c, dest)
    return (1.0 - p) * rho + p * full


def run_density(qc, rho0: np.ndarray, *, p1: float = 0.0, p2: float = 0.0) -> np.ndarray:
    """Final density matrix of ``qc`` with a depolarizing channel after every gate.

    Gates are applied in hardware form (uniformly controlled rotations decomposed into rotations and
    CNOTs, :func:`hybridsim.quantum.circuits.decompose`). After a one-qubit gate the channel with
    probability ``p1`` acts on its qubit; after any gate on two or more qubits (CNOT, CPHASE and the
    oracle calls, which are treated as a single gate; real oracle circuits are far longer, so this
    understates their noise) the ``|S|``-qubit depolarizing channel with probability ``p2`` acts on
    all of its qubits.

    Parameters
    ----------
    qc : qutip_qip.circuit.QubitCircuit
        Circuit of unitary gates, at most ``MAX_DENSITY_QUBITS`` qubits.
    rho0 : numpy.ndarray
        Initial density matrix, ``2^N × 2^N``.
    p1, p2 : float
        Depolarizing probabilities.

    Returns
    -------
    numpy.ndarray
        The final ``2^N × 2^N`` density matrix.
    """
    from hybridsim.quantum.circuits import decompose

    _check_gates(qc)
    n = qc.N
    if n > MAX_DENSITY_QUBITS:
        raise ValueError(f"density-matrix mode is limited to {MAX_DENSITY_QUBITS} qubits, got {n}")
    rho = np.asarray(rho0, dtype=complex).reshape((2,) * (2 * n))
    for g in decompose(qc.gates):
        # ρ → U ρ U†: U on the row axes, conj(U) on the column axes.
        rho = _apply_gate(rho, g, offset=0)
        rho = _apply_gate(rho, g, offset=n, conj=True)
        if g.name == "GLOBALPHASE":
            continue
        qubits = list(g.get_all_qubits())
        rho = _depolarize(rho, qubits, p1 if len(qubits) == 1 else p2, n)
    return rho.reshape(2**n, 2**n)
