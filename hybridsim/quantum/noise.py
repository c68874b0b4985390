"""Optional noise for the HHL executor: depolarizing gates and readout bit flips.

Gate noise needs density matrices, which cost O(4^Q) memory and time per gate: it is limited to
``MAX_DENSITY_QUBITS`` (10) qubits and takes seconds to minutes per solve. Readout noise acts on the
measured distribution only and works at any size, but it needs ``shots`` (there is nothing to
misread in an exact, shot-free result).

References
----------
M. A. Nielsen, I. L. Chuang, *Quantum Computation and Quantum Information*, §8.3.4 (depolarizing
channel).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["NoiseModel", "apply_readout_error"]


@dataclass(frozen=True, slots=True)
class NoiseModel:
    """Per-gate depolarizing noise and symmetric readout error.

    Parameters
    ----------
    p_1q : float
        Depolarizing probability after every one-qubit gate (hardware form: rotations, Hadamards).
    p_2q : float
        Depolarizing probability (on all qubits the gate touches) after every gate on two or more
        qubits: CNOT, CPHASE and each oracle call ``controlled-U^(2^j)``, which is treated as a
        single gate, so the oracle's real noise is understated.
    p_readout : float
        Probability that each measured bit is flipped, independently.

    Examples
    --------
    >>> NoiseModel(p_1q=1e-4, p_2q=1e-3).has_gate_noise
    True
    """

    p_1q: float = 0.0
    p_2q: float = 0.0
    p_readout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("p_1q", "p_2q"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and 0.0 <= v <= 1.0):
                raise ValueError(f"NoiseModel.{name} must be in [0, 1], got {v!r}")
        v = self.p_readout
        if not (isinstance(v, int | float) and math.isfinite(v) and 0.0 <= v <= 0.5):
            raise ValueError(f"NoiseModel.p_readout must be in [0, 0.5], got {v!r}")

    @property
    def has_gate_noise(self) -> bool:
        return self.p_1q > 0.0 or self.p_2q > 0.0


def apply_readout_error(probs: np.ndarray, n_qubits: int, p: float) -> np.ndarray:
    """Distribution of read-out bit strings when each bit flips with probability ``p``.

    Parameters
    ----------
    probs : numpy.ndarray
        Probabilities of the ``2^n_qubits`` true outcomes (qutip order).
    n_qubits : int
    p : float

    Returns
    -------
    numpy.ndarray
        The distribution of what is read, same shape.
    """
    if p <= 0.0:
        return np.asarray(probs, dtype=float)
    t = np.asarray(probs, dtype=float).reshape((2,) * n_qubits)
    for q in range(n_qubits):
        # Each bit passes through the binary symmetric channel [[1−p, p], [p, 1−p]].
        t = (1.0 - p) * t + p * np.flip(t, axis=q)
    return t.reshape(-1)
