"""Finite-shot readout of an HHL output vector, with the caller's random generator.

A QLSA prepares the state ``|x>/‖x‖`` only after postselection, and only a measurement tells
anything about it. With ``shots`` circuit executions this module estimates the vector the way an
experiment would, drawing every outcome from the caller's :class:`numpy.random.Generator` (never
global state):

1. **Magnitudes** (``shots − shots//2`` executions, or all of them with ``signs="exact_state"``):
   measure every qubit in the computational basis; executions with ancilla = 1 and clock = 0 are the
   successes. ``|x̂_i| = √(n_i / n_success)`` and ``p̂_success = n_success / executions``.
2. **Signs by interference** (the other ``shots//2``): the sign-estimation step of Kerenidis and
   Prakash's vector-state tomography. A control qubit in ``|+>`` selects either the HHL output
   ``|x>`` or a reference state ``|r>`` with the (positive) magnitudes found in step 1; a Hadamard
   on the control and a measurement of both give ``P(a, i) = |x_i + (−1)^a r_i|² / 4``, so
   ``sign(x_i) = sign(n_{0,i} − n_{1,i})``. Complex outputs use a second round with reference
   ``i·|r>`` for the imaginary part. Only successful HHL runs yield a sample; the model assumes the
   reference branch is always available, as Kerenidis–Prakash assume a unitary preparing ``|x>``.
   With ``signs="exact_state"`` the signs (phases) are copied from the exact state instead: a
   documented shortcut that measures magnitudes only.

Errors shrink as ``1/√shots``: magnitudes by the central limit theorem, and a sign is wrong only
when ``|x_i| ≲ 1/√shots``, which costs ``O(|x_i|)``.

With ``postselected=True`` the ``shots`` count *successful* executions, as an experiment that
repeats until it has that many usable samples: both rounds use exactly their share of successes,
and the failed executions before them are drawn too (negative binomial, ``shots·(1−p)/p`` on
average), which gives ``p̂_success`` and the executions a device would have run.

References
----------
I. Kerenidis, A. Prakash, "A quantum interior point method for LPs and SDPs", ACM Trans. Quantum
Comput. 1, 5 (2020), Algorithm 4.1 (vector-state tomography with signs).
A. W. Harrow, A. Hassidim, S. Lloyd, "Quantum algorithm for linear systems of equations",
Phys. Rev. Lett. 103, 150502 (2009) (postselection on the ancilla).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hybridsim.errors import SolverError

__all__ = ["ShotEstimate", "estimate_from_shots", "SIGN_MODES", "PostselectionError"]

SIGN_MODES = ("interference", "exact_state")


class PostselectionError(SolverError):
    """No execution passed postselection, so the shots say nothing about the output.

    Not bad input: with a success probability p and n executions it happens with probability
    (1 − p)^n, and the simulator's executor records it as a failed attempt (reason
    ``postselection``) that the ``[faults]`` policy retries or sends to a GPU.

    Attributes
    ----------
    executions : int
        Executions in the round that found no success.
    success_probability : float
        The exact probability those executions had.
    """

    def __init__(self, message: str, *, executions: int = 0, success_probability: float = 0.0):
        super().__init__(message)
        self.executions = executions
        self.success_probability = success_probability


@dataclass(frozen=True, slots=True)
class ShotEstimate:
    """Result of a finite-shot readout.

    Attributes
    ----------
    state : numpy.ndarray
        Estimated normalized output vector.
    success_probability : float
        Estimated postselection probability (successes / executions in the magnitude round).
    shots : int
        Executions in total.
    magnitude_shots, sign_shots : int
        Executions spent on each round (successful ones with ``postselected``).
    successes : int
        Successful (postselected) executions in the magnitude round.
    executions : int
        Executions run in total, failed ones included (``shots`` unless ``postselected``).
    """

    state: np.ndarray
    success_probability: float
    shots: int
    magnitude_shots: int
    sign_shots: int
    successes: int
    executions: int = 0


def _check_generator(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise SolverError(
            "finite shots need the caller's numpy Generator: pass rng=np.random.default_rng(seed) "
            f"(got {type(rng).__name__}); hybridsim never draws from global random state"
        )
    return rng


def estimate_from_shots(
    success_probs: np.ndarray,
    coherent_state: np.ndarray,
    shots: int,
    rng: np.random.Generator,
    *,
    signs: str = "interference",
    real: bool = True,
    postselected: bool = False,
) -> ShotEstimate:
    """Estimate the postselected output vector from sampled measurement outcomes.

    Parameters
    ----------
    success_probs : numpy.ndarray
        ``P(ancilla = 1, clock = 0, system = i)`` for every system basis state ``i``, as the
        hardware would read them (after any readout error). Their sum is the success probability.
    coherent_state : numpy.ndarray
        The normalized postselected state ``|x>`` that interferes with the reference in the sign
        round (and supplies the signs for ``signs="exact_state"``).
    shots : int
        Circuit executions in total (>= 2 with ``"interference"``); successful executions with
        ``postselected``.
    rng : numpy.random.Generator
        The caller's generator; every draw comes from it.
    signs : {"interference", "exact_state"}
    real : bool
        Whether the output is real (one interference round) or complex (two rounds).
    postselected : bool
        ``shots`` are successful executions; the failed ones are drawn (see the module notes).

    Returns
    -------
    ShotEstimate

    Raises
    ------
    PostselectionError
        No execution of the magnitude round passed postselection.
    SolverError
        Refused input (shots, signs, probabilities summing above 1, no Generator).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.6, -0.8])
    >>> est = estimate_from_shots(0.5 * x**2, x, 20_000, np.random.default_rng(1))
    >>> bool(np.allclose(est.state, x, atol=0.02)), round(est.success_probability, 1)
    (True, 0.5)
    """
    rng = _check_generator(rng)
    if signs not in SIGN_MODES:
        raise SolverError(f"signs must be one of {SIGN_MODES}, got {signs!r}")
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise SolverError(f"shots must be a positive integer, got {shots!r}")
    shots = int(shots)
    probs = np.clip(np.asarray(success_probs, dtype=float), 0.0, None)
    p_total = float(probs.sum())
    if p_total > 1.0 + 1e-9:
        raise SolverError(f"success probabilities sum to {p_total} > 1")
    p_total = min(p_total, 1.0)
    if signs == "interference":
        if shots < 2:
            raise SolverError("signs='interference' needs shots >= 2 (half go to the sign round)")
        sign_shots = shots // 2
    else:
        sign_shots = 0
    mag_shots = shots - sign_shots

    executions = shots
    if postselected:
        if not p_total > 0.0:
            raise SolverError("postselection never succeeds (success probability 0)")
        # Round 1 with exactly mag_shots successes, and the failures an experiment sees first.
        hits = rng.multinomial(mag_shots, probs / probs.sum())
        failed = int(rng.negative_binomial(mag_shots, p_total))
        executions = mag_shots + failed
        p_hat = mag_shots / executions
    else:
        # Round 1: computational-basis measurement; the last category is "postselection failed".
        pvals = np.append(probs, max(0.0, 1.0 - p_total)) / max(1.0, p_total)
        counts = rng.multinomial(mag_shots, pvals)
        hits = counts[:-1]
    successes = int(hits.sum())
    if successes == 0:
        raise PostselectionError(
            f"none of the {mag_shots} executions passed postselection (success probability "
            f"≈ {p_total:.3g}); use more shots",
            executions=mag_shots,
            success_probability=p_total,
        )
    mags = np.sqrt(hits / successes)

    psi = np.asarray(coherent_state)
    psi = psi / np.linalg.norm(psi)
    if signs == "exact_state":
        phase = np.exp(1j * np.angle(psi)) if not real else np.where(np.real(psi) < 0, -1.0, 1.0)
    else:
        rounds = [1.0] if real else [1.0, 1j]
        diffs = []
        for k, c in enumerate(rounds):
            n_round = sign_shots // len(rounds) + (1 if k < sign_shots % len(rounds) else 0)
            if postselected:
                ok = n_round
                if n_round:
                    executions += n_round + int(rng.negative_binomial(n_round, p_total))
            else:
                ok = rng.binomial(n_round, p_total)
            ref = c * mags
            q = np.concatenate([np.abs(psi + ref) ** 2, np.abs(psi - ref) ** 2]) / 4.0
            q = q / q.sum()  # exact up to rounding: Σ|ψ ± r|² = 4 for unit ψ, r
            n = rng.multinomial(ok, q)
            half = n.size // 2
            diffs.append((n[:half] - n[half:]).astype(float))
        if real:
            phase = np.where(diffs[0] < 0, -1.0, 1.0)
        else:
            # n0 − n1 ∝ Re(conj(x_i)·c·r_i): c = 1 gives |x_i| cos φ_i, c = i gives |x_i| sin φ_i.
            phase = np.exp(1j * np.arctan2(diffs[1], diffs[0]))
    state = mags * phase
    if real:
        state = np.real(state).astype(float)
    return ShotEstimate(
        state=state / np.linalg.norm(state),
        success_probability=p_hat if postselected else successes / mag_shots,
        shots=shots,
        magnitude_shots=mag_shots,
        sign_shots=sign_shots,
        successes=successes,
        executions=executions,
    )
