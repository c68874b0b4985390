"""Quantum linear-solver execution: a QuTiP-simulated HHL circuit that really solves small systems.

``import hybridsim.quantum`` is cheap: qutip and qutip-qip load only when a circuit is built. The
public names are resolved lazily (PEP 562)::

    from hybridsim.quantum import HHLOptions, hhl_solve
    result = hhl_solve(A, b)              # exact postselected state
    result = hhl_solve(A, b, shots=10_000, rng=np.random.default_rng(7))
    opts = HHLOptions(eps=0.05, evolution="trotter")   # validated once, reusable
    result = hhl_solve(A, b, options=opts)

See :mod:`hybridsim.quantum.hhl` for the circuit, :mod:`hybridsim.quantum.readout` for finite shots,
:mod:`hybridsim.quantum.noise` for the optional noise model and docs/background/hhl.md for the
story.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybridsim._lazy import lazy_attributes

__all__ = [
    "hhl_solve",
    "HHLOptions",
    "QLSAResult",
    "hhl_resources",
    "closed_form_hhl",
    "fidelity",
    "default_clock_qubits",
    "to_qasm",
    "NoiseModel",
]

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.quantum.hhl import (
        HHLOptions,
        QLSAResult,
        closed_form_hhl,
        default_clock_qubits,
        fidelity,
        hhl_resources,
        hhl_solve,
    )
    from hybridsim.quantum.noise import NoiseModel
    from hybridsim.quantum.qasm import to_qasm

_LAZY = {
    "hhl_solve": "hybridsim.quantum.hhl",
    "HHLOptions": "hybridsim.quantum.hhl",
    "QLSAResult": "hybridsim.quantum.hhl",
    "hhl_resources": "hybridsim.quantum.hhl",
    "closed_form_hhl": "hybridsim.quantum.hhl",
    "fidelity": "hybridsim.quantum.hhl",
    "default_clock_qubits": "hybridsim.quantum.hhl",
    "to_qasm": "hybridsim.quantum.qasm",
    "NoiseModel": "hybridsim.quantum.noise",
}


# PEP 562: the submodules (and through them qutip) load on first use only.
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
