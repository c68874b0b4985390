"""OpenQASM 2.0 export of HHL circuits through qutip-qip's ``qutip_qip.qasm`` writer.

qutip-qip's writer knows the ``qelib1.inc`` gates and a few definitions (``cry``, ``swap``…) but not
``CPHASE`` (which is ``cu1`` in ``qelib1.inc``), nor hybridsim's gates. :func:`to_qasm` therefore
exports the circuit in its hardware form:

* uniformly controlled rotations → their exact ``ry``/``rz`` + ``cx`` decomposition (Möttönen et al.
  2004), so eigenvalue inversion and state preparation are plain OpenQASM;
* ``CPHASE(θ)`` → ``cu1(θ)``; ``SNOT`` → ``h``;
* each oracle call ``controlled-U^(±2^j)`` → an ``opaque`` gate (``hhl_cu_p4``, ``hhl_cudg_p4``…),
  declared once. OpenQASM 2.0 has no way to give a gate by its matrix, and decomposing a generic
  ``2^(n+1)``-square unitary into CNOTs is a synthesis problem of its own (Shende–Bullock–Markov
  2006), so these stay black boxes: supply them on the target platform (e.g. Hamiltonian simulation
  of ``A`` for time ``±2^j·t``, or a unitary-synthesis pass). qutip-qip's own QASM reader refuses
  opaque gates, so such a file reads back only after the oracle lines are replaced;
* ``GLOBALPHASE`` (only for complex ``b``): OpenQASM 2.0 defines gates only up to a global phase
  and has no statement for one, so the phase θ is written as an explicit statement in the file's
  header, ``// Global phase ... theta = <θ>``: read with the standard rotations (``rz(φ)`` =
  exp(−iφZ/2), as qiskit and qutip-qip read ``qelib1.inc``), the program prepares hybridsim's
  state times exp(−iθ); OpenQASM 3 would write ``gphase(θ);``. The line is there, with θ = 0,
  for real ``b`` too. A global phase is unobservable on its own, but a complex solution's phase is
  part of the answer when the circuit is composed with others.

Limits: OpenQASM 2.0 only (qutip-qip does not write 3.0; OpenQASM 3 has no ``opaque``); angles
are written with full ``repr`` precision.
"""

from __future__ import annotations

__all__ = ["to_qasm"]


def _writer_class():
    from qutip_qip.qasm import QasmOutput

    class _HHLQasmOutput(QasmOutput):
        """qutip-qip's writer plus ``cu1`` for CPHASE and opaque declarations for oracle calls."""

        def _qasm_defns(self, gate):
            if gate.name == "CPHASE":
                self.gate_name_map["CPHASE"] = "cu1"  # defined in qelib1.inc
                return
            if getattr(gate, "opaque_arity", None):
                regs = ",".join(f"q{i}" for i in range(gate.opaque_arity))
                self.output(f"// oracle {gate.name}: controlled-U^(power), U = e^(iAt); supply it")
                self.output(f"opaque {gate.name} {regs};")
                self.gate_name_map[gate.name] = gate.name
                return
            super()._qasm_defns(gate)

    return _HHLQasmOutput


def _export_circuit(qc):
    """A copy of ``qc`` in hardware form, with names and arguments the QASM writer can print."""
    from qutip_qip.circuit import QubitCircuit
    from qutip_qip.operations import Gate

    from hybridsim.quantum.circuits import decompose
    from hybridsim.quantum.gates import ControlledUnitary

    out = QubitCircuit(qc.N)
    for g in decompose(qc.gates):
        if g.name == "GLOBALPHASE":
            continue
        if isinstance(g, ControlledUnitary):
            e = Gate(g.export_name, targets=list(g.targets), controls=list(g.controls))
            e.opaque_arity = 1 + len(g.targets)
            out.add_gate(e)
            continue
        e = Gate(
            g.name,
            targets=list(g.targets),
            controls=None if g.controls is None else list(g.controls),
            arg_value=g.arg_value,
        )
        if e.arg_value is not None:
            # qutip-qip prints the argument only when it is truthy, so a zero angle would come out
            # as "ry q[0];" (invalid); a one-element list prints as "ry(0.0) q[0];".
            e.arg_value = [float(e.arg_value)]
        out.add_gate(e)
    return out


def to_qasm(result_or_circuit) -> str:
    """OpenQASM 2.0 text of an HHL circuit (or of a :class:`QLSAResult`'s circuit).

    Parameters
    ----------
    result_or_circuit : QLSAResult or qutip_qip.circuit.QubitCircuit

    Returns
    -------
    str
        The program: a header with the global-phase statement (three comment lines), ``qreg
        q[Q];``, opaque oracle declarations, then one line per gate in hardware form (the same
        gates :func:`hybridsim.quantum.circuits.count_gates` counts).

    Examples
    --------
    >>> import numpy as np
    >>> from hybridsim.quantum import hhl_solve
    >>> text = to_qasm(hhl_solve(np.diag([1.0, 2.0]), np.ones(2), clock_qubits=2))
    >>> "qreg q[4];" in text, "opaque hhl_cu_p1 q0,q1;" in text
    (True, True)
    """
    qc = getattr(result_or_circuit, "circuit", result_or_circuit)
    writer = _writer_class()("2.0")
    lines = writer._qasm_output(_export_circuit(qc))
    theta = sum(float(g.arg_value) for g in qc.gates if g.name == "GLOBALPHASE")
    lines[1:1] = [  # after qutip-qip's first line, before the program: the file's header
        f"// Global phase (OpenQASM 2.0 cannot state it): theta = {theta!r}",
        "// This program prepares hybridsim's state times exp(-i*theta) when rz(phi) is read as",
        "// exp(-i*phi*Z/2), as qiskit and qutip-qip read qelib1.inc; OpenQASM 3: gphase(theta);",
    ]
    return "\n".join(lines) + "\n"
