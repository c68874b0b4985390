"""Two gate kinds qutip-qip lacks, as real :class:`qutip_qip.operations.Gate` subclasses.

This module imports qutip-qip at the top because a subclass needs its base class. Nothing imports it
at module level: :mod:`hybridsim.quantum.circuits` and :mod:`hybridsim.quantum.hhl` import it inside
the functions that build circuits, so ``import hybridsim.quantum`` stays free of qutip (DESIGN
rule).

* :class:`ControlledUnitary`: one control qubit and a block of target qubits carrying an arbitrary
  unitary (the QPE oracle ``controlled-U^(2^j)``). qutip-qip's user gates cannot take ``controls=``
  (docs/background/references.md#qutip-qip-traps), so the block matrix ``diag(I, U)`` is built
  here; the drawers still show the control.
* :class:`UniformlyControlledRotation`: ``R_y`` or ``R_z`` on one target whose angle depends on the
  value of ``k`` control qubits. It is HHL's eigenvalue inversion and the building block of state
  preparation. It stays *one* gate in the circuit, so :mod:`hybridsim.quantum.simulate` applies it
  block-diagonally in O(2^Q) instead of as a dense ``2^(k+1)`` matrix (the prototype's 12 s trap),
  and :meth:`UniformlyControlledRotation.decompose` gives its exact CNOT + rotation circuit for gate
  counts, noise and OpenQASM export.

Both work with ``QubitCircuit.run`` (they provide ``get_compact_qobj``), pickle and deepcopy.

References
----------
M. Möttönen, J. J. Vartiainen, V. Bergholm, M. M. Salomaa, "Quantum circuits for general multiqubit
gates", Phys. Rev. Lett. 93, 130502 (2004).
"""

from __future__ import annotations

import numpy as np
from qutip import Qobj
from qutip_qip.operations import Gate

__all__ = ["ControlledUnitary", "UniformlyControlledRotation"]


class ControlledUnitary(Gate):
    """``|0><0| ⊗ I + |1><1| ⊗ U`` with one control and ``k`` target qubits.

    Parameters
    ----------
    control : int
        The control qubit.
    targets : list of int
        The target qubits, in the order the rows of ``matrix`` use (big-endian).
    matrix : numpy.ndarray or None
        The ``2^k × 2^k`` unitary applied when the control is 1. ``None`` makes a placeholder for
        resource counting only (it cannot be simulated).
    power : int
        Number of applications of the base unitary this call stands for (``U^power``).
    dagger : bool
        Whether this is the inverse (uncomputation) call.
    """

    def __init__(self, control, targets, matrix=None, power=1, dagger=False, **kwargs):
        exponent = ("-" if dagger else "") + str(int(power))
        label = kwargs.pop("arg_label", "U" + _superscript(exponent))
        super().__init__(
            name="CU",
            targets=[int(t) for t in targets],
            controls=[int(control)],
            arg_label=label,
            **kwargs,
        )
        self.matrix = None if matrix is None else np.asarray(matrix, dtype=complex)
        self.power = int(power)
        self.dagger = bool(dagger)

    @property
    def export_name(self) -> str:
        """Name of the opaque OpenQASM gate for this call (one per distinct matrix)."""
        return f"hhl_cu{'dg' if self.dagger else ''}_p{self.power}"

    def get_compact_qobj(self):
        if self.matrix is None:
            raise ValueError("placeholder ControlledUnitary (matrix=None) cannot be simulated")
        k = len(self.targets)
        dim = 2**k
        full = np.zeros((2 * dim, 2 * dim), dtype=complex)
        full[:dim, :dim] = np.eye(dim)
        full[dim:, dim:] = self.matrix
        return Qobj(full, dims=[[2] * (k + 1), [2] * (k + 1)])


def _superscript(text: str) -> str:
    return text.translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


class UniformlyControlledRotation(Gate):
    """``R_axis(angles[v])`` on ``target`` when the controls hold the value ``v``.

    ``v`` is read big-endian over ``controls`` (``controls[0]`` is the high bit). With no controls
    it is a plain rotation. ``R_y(θ) = exp(-iθY/2)`` and ``R_z(θ) = exp(-iθZ/2)``, as in qutip-qip.

    Parameters
    ----------
    controls : list of int
        Control qubits (may be empty).
    target : int
        Target qubit.
    angles : array_like
        ``2^len(controls)`` rotation angles.
    axis : {"y", "z"}
        Rotation axis.
    """

    def __init__(self, controls, target, angles, axis="y", **kwargs):
        axis = str(axis).lower()
        if axis not in ("y", "z"):
            raise ValueError(f"axis must be 'y' or 'z', got {axis!r}")
        controls = [int(c) for c in controls]
        angles = np.asarray(angles, dtype=float).reshape(-1)
        if angles.size != 2 ** len(controls):
            raise ValueError(f"need 2^{len(controls)} angles, got {angles.size}")
        super().__init__(
            name=f"UCR{axis.upper()}",
            targets=[int(target)],
            controls=controls or None,
            arg_label=kwargs.pop("arg_label", f"R_{axis}(k)" if controls else f"R_{axis}"),
            **kwargs,
        )
        self.axis = axis
        self.angles = angles

    @property
    def num_controls(self) -> int:
        return 0 if self.controls is None else len(self.controls)

    def block_matrices(self) -> np.ndarray:
        """The ``2^k`` rotation blocks, shape ``(2^k, 2, 2)``."""
        h = self.angles / 2.0
        blocks = np.zeros((h.size, 2, 2), dtype=complex)
        if self.axis == "y":
            c, s = np.cos(h), np.sin(h)
            blocks[:, 0, 0], blocks[:, 0, 1] = c, -s
            blocks[:, 1, 0], blocks[:, 1, 1] = s, c
        else:
            blocks[:, 0, 0] = np.exp(-1j * h)
            blocks[:, 1, 1] = np.exp(1j * h)
        return blocks

    def get_compact_qobj(self):
        from scipy.linalg import block_diag

        k = self.num_controls
        return Qobj(block_diag(*self.block_matrices()), dims=[[2] * (k + 1), [2] * (k + 1)])

    def skeleton(self) -> list[tuple[str, tuple[int, ...]]]:
        """``(name, qubits)`` of the decomposed gates, without building gate objects (for counting).

        Möttönen et al. 2004, Gray-code construction: ``2^k`` rotations and ``2^k`` CNOTs for
        ``k >= 1`` controls, one rotation for ``k = 0``. Zero angles are kept so the structure, and
        hence the gate count, never depends on the data.
        """
        name = "RY" if self.axis == "y" else "RZ"
        t = self.targets[0]
        k = self.num_controls
        if k == 0:
            return [(name, (t,))]
        n = 2**k
        ops: list[tuple[str, tuple[int, ...]]] = []
        for i in range(n):
            ops.append((name, (t,)))
            # The control bit that flips between gray(i) and gray(i+1) (cyclically). Bit position p
            # counts from the low end of the control value, i.e. it is controls[k-1-p].
            p = (k - 1) if i == n - 1 else ((i + 1) & -(i + 1)).bit_length() - 1
            ops.append(("CNOT", (self.controls[k - 1 - p], t)))
        return ops

    def decompose(self) -> list:
        """The exact CNOT + rotation circuit of :meth:`skeleton`, as qutip-qip gates."""
        thetas = self.angles if self.num_controls == 0 else gray_code_angles(self.angles)
        gates = []
        i = 0
        for name, qubits in self.skeleton():
            if name == "CNOT":
                gates.append(Gate("CNOT", targets=[qubits[1]], controls=[qubits[0]]))
            else:
                gates.append(Gate(name, targets=[qubits[0]], arg_value=float(thetas[i])))
                i += 1
        return gates


def gray_code_angles(alpha: np.ndarray) -> np.ndarray:
    """Rotation angles of the Gray-code circuit realizing uniformly controlled angles ``alpha``.

    Before rotation ``i`` the target has been conjugated by X once per set bit of ``v & gray(i)``
    (``v`` the control value), which flips that rotation's sign (X R(θ) X = R(−θ) for R_y and R_z);
    so ``alpha_v = Σ_i (−1)^popcount(v & gray(i)) θ_i``, i.e. ``alpha = M θ`` with ``MᵀM = 2^k I``,
    and ``θ_i = (Mᵀ alpha)_i / 2^k = WHT(alpha)[gray(i)] / 2^k`` (a fast Walsh–Hadamard transform).
    """
    w = np.array(alpha, dtype=float)
    n = w.size
    h = 1
    while h < n:
        w = w.reshape(-1, 2, h)
        w = np.stack([w[:, 0, :] + w[:, 1, :], w[:, 0, :] - w[:, 1, :]], axis=1).reshape(n)
        h *= 2
    idx = np.arange(n)
    return w[idx ^ (idx >> 1)] / n
