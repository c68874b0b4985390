"""The time-evolution oracle ``U = e^{iAt}`` of HHL's phase estimation, exact or Trotterized.

HHL needs ``controlled-U^(2^j)`` for ``j = 0 … n_c − 1``. On hardware this is Hamiltonian
simulation; here its matrix is computed classically and placed in the circuit as an oracle gate
(:class:`hybridsim.quantum.gates.ControlledUnitary`), so the circuit is exact where the hardware
would be approximate. Two ways to compute it:

* ``"exact"``: from the eigendecomposition, ``U^p = V diag(e^{iλtp}) V†``.
* ``"trotter"``: first-order Lie–Trotter product over the Pauli decomposition ``A = Σ_P c_P P``,
  ``U ≈ S(t/r)^r`` with ``S(τ) = Π_P e^{iτ c_P P}`` (ordered by Pauli index), and
  ``U^(2^j) ≈ S(t/r)^(r·2^j)``. This is the textbook circuit a gate-model machine would run, so its
  error is real. The default step count ``r`` comes from the commutator bound of Childs, Su, Tran,
  Wiebe, Zhu, "Theory of Trotter error with commutator scaling", PRX 11, 011020 (2021):
  ``‖e^{iAt} − S(t/r)^r‖ ≤ (t²/2r) Σ_{i<j} ‖[c_i P_i, c_j P_j]‖``, spread over the ``2(D−1)``
  applications of ``U`` in the forward and uncomputing phase estimation so the total stays within
  ``eps``. The bound is pessimistic; pass ``trotter_steps`` to study fewer steps.

Pauli strings act as signed permutations, so each exponential costs O(N²) and powers of the step use
repeated squaring; building the oracle matrices is cheap even for large ``r``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["pauli_decomposition", "evolution_powers", "default_trotter_steps"]


def _popcount(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64).copy()
    out = np.zeros_like(a)
    while np.any(a):
        out += a & 1
        a >>= 1
    return out


def _walsh_hadamard(v: np.ndarray) -> np.ndarray:
    """``w[z] = Σ_c (−1)^popcount(c & z) v[c]`` along the last axis (length a power of two)."""
    w = np.array(v, dtype=complex)
    n = w.shape[-1]
    h = 1
    while h < n:
        w = w.reshape(*w.shape[:-1], n // (2 * h), 2, h)
        a, b = w[..., 0, :].copy(), w[..., 1, :].copy()
        w[..., 0, :], w[..., 1, :] = a + b, a - b
        w = w.reshape(*w.shape[:-3], n)
        h *= 2
    return w


def pauli_decomposition(a: np.ndarray, tol: float = 1e-14):
    """Coefficients of ``A = Σ c_(x,z) P(x,z)`` with ``P(x,z) = i^popcount(x&z) X^x Z^z``.

    ``X^x Z^z`` is the tensor product of X on the set bits of ``x`` and Z on those of ``z`` (bits of
    the basis-state index), so ``P(x,z)`` is Hermitian (Y = iXZ on a qubit with both bits set).

    Returns
    -------
    xs, zs : numpy.ndarray of int
        The nonzero terms' bit masks.
    coeffs : numpy.ndarray
        Their coefficients (real for Hermitian ``A``).
    """
    a = np.asarray(a)
    n = a.shape[0]
    rows = np.arange(n)
    # Tr(P A) = i^|x&z| Σ_c (−1)^|c&z| A[c, c⊕x]: a Walsh–Hadamard transform of each "x-diagonal".
    diag_x = np.stack([a[rows, rows ^ x] for x in range(n)])  # (x, c)
    wht = _walsh_hadamard(diag_x)  # (x, z)
    xs, zs = np.meshgrid(rows, rows, indexing="ij")
    phase = (1j) ** (_popcount(xs & zs) % 4)
    # P is Hermitian and Tr(P Q) = n δ_PQ, so c_P = Tr(P A)/n.
    coeffs = (phase * wht) / n
    keep = np.abs(coeffs) > tol * max(1.0, np.abs(a).max())
    c = coeffs[keep]
    if np.all(np.abs(c.imag) <= 1e-12 * max(1.0, np.abs(c).max())):
        c = c.real
    return xs[keep], zs[keep], c


def _apply_pauli_rows(m: np.ndarray, x: int, z: int) -> np.ndarray:
    """``P(x,z) @ m``: ``(PM)[r] = i^|x&z| (−1)^|(r⊕x)&z| M[r⊕x]``."""
    n = m.shape[0]
    rows = np.arange(n)
    src = rows ^ x
    sign = 1.0 - 2.0 * (_popcount(src & z) & 1)
    phase = (1j) ** (bin(x & z).count("1") % 4)
    return phase * sign[:, None] * m[src]


def _trotter_step(xs, zs, coeffs, tau: float, n: int) -> np.ndarray:
    m = np.eye(n, dtype=complex)
    for x, z, c in zip(xs, zs, coeffs, strict=True):
        theta = float(np.real(c)) * tau
        if x == 0 and z == 0:
            m = np.exp(1j * theta) * m  # identity term: a phase, shifts every eigenvalue equally
            continue
        # e^{iθP} M = cos θ M + i sin θ P M (P² = I); the later factor multiplies from the left.
        m = np.cos(theta) * m + 1j * np.sin(theta) * _apply_pauli_rows(m, int(x), int(z))
    return m


def default_trotter_steps(a: np.ndarray, t: float, clock_qubits: int, eps: float) -> int:
    """Steps per ``U`` from the first-order commutator bound (see module docstring)."""
    xs, zs, c = pauli_decomposition(a)
    nonid = (xs != 0) | (zs != 0)
    xs, zs, c = xs[nonid], zs[nonid], np.abs(c[nonid])
    if c.size < 2:
        return 1
    anti = (_popcount(xs[:, None] & zs[None, :]) + _popcount(zs[:, None] & xs[None, :])) & 1
    # ‖[c_i P_i, c_j P_j]‖ = 2|c_i c_j| for anticommuting strings, 0 otherwise; pairs i < j.
    alpha_comm = float(np.sum(np.triu(anti, 1) * 2.0 * np.outer(c, c)))
    applications = 2 * (2**clock_qubits - 1)
    per_u = eps / applications
    return max(1, math.ceil(t * t * alpha_comm / (2.0 * per_u)))


def evolution_powers(
    a: np.ndarray,
    t: float,
    clock_qubits: int,
    *,
    method: str = "exact",
    trotter_steps: int | None = None,
) -> list[np.ndarray]:
    """``[U^(2^0), U^(2^1), …, U^(2^(n_c−1))]`` for ``U = e^{iAt}`` (exact or Trotterized).

    Parameters
    ----------
    a : numpy.ndarray
        Hermitian ``2^n``-square matrix.
    t : float
        Evolution time.
    clock_qubits : int
        Number of powers.
    method : {"exact", "trotter"}
    trotter_steps : int, optional
        Steps per ``U`` (required for ``"trotter"``; :func:`default_trotter_steps` gives a default).
    """
    n = a.shape[0]
    if method == "exact":
        w, v = np.linalg.eigh(a)
        return [(v * np.exp(1j * w * t * 2**j)) @ v.conj().T for j in range(clock_qubits)]
    if method != "trotter":
        raise ValueError(f"unknown evolution method {method!r}")
    if trotter_steps is None or trotter_steps < 1:
        raise ValueError("trotter evolution needs trotter_steps >= 1")
    xs, zs, c = pauli_decomposition(a)
    step = _trotter_step(xs, zs, c, t / trotter_steps, n)
    u = np.linalg.matrix_power(step, int(trotter_steps))
    out = [u]
    for _ in range(1, clock_qubits):
        out.append(out[-1] @ out[-1])
    return out
