"""Parameter updates as pure functions: block Newton, SGD with momentum, Adam.

Every update takes parameters (a sequence of arrays) and returns a *new* tuple; optimizer state
lives in frozen records that are replaced, never mutated. Nothing here draws random numbers.

The Newton update lives here rather than in :mod:`hybridsim.workload.mlp` because it needs no
model code: it only scatters block solutions back into parameter arrays (``mlp`` re-exports it).
It never solves anything itself: the solutions come from a GPU solve, an HHL circuit or a
modelled QLSA, routed by the scheduler.

Sources
-------
- Newton step per block, ``θ ← θ − β·(H + ε·I)⁻¹g``: Q-Newton, arXiv:2405.00252, and its code
  UNITES-Lab/q-newton (approx-hessian/qnewton/newton_optim/hessian.py,
  real-hessian/qmi/train-mlp-on-mnist.py).
- Elementwise clipping of the Newton direction to ``[-100, 100]`` before the learning rate is
  applied: real-hessian/qmi/train-mlp-on-mnist.py, ``jnp.clip(x, -100, 100)``.
- Global norm clipping: Pascanu, Mikolov, Bengio, "On the difficulty of training recurrent neural
  networks", ICML 2013 (not in the Q-Newton code; offered as an option).
- SGD with momentum in PyTorch's form ``v ← μv + g; θ ← θ − lr·v`` (torch.optim.SGD, dampening 0;
  Sutskever et al., ICML 2013 for the Nesterov variant).
- Adam: Kingma & Ba, "Adam: a method for stochastic optimization", ICLR 2015, Algorithm 1, with
  PyTorch's ``weight_decay`` (an L2 term added to the gradient).
- Linear warm-up then linear decay: ``transformers.get_linear_schedule_with_warmup`` (used by the
  Q-Newton PyTorch code) and ``optax.linear_schedule`` joins (its JAX code).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hybridsim.errors import SolverError

if TYPE_CHECKING:  # only for annotations: mlp imports this module, not the other way round
    from hybridsim.workload.mlp import HessianBlock

__all__ = [
    "QNEWTON_CLIP",
    "newton_direction",
    "newton_update",
    "SGD",
    "SGDState",
    "Adam",
    "AdamState",
    "linear_warmup_decay",
]

#: Elementwise bound on the Newton direction in the public Q-Newton code (real-hessian).
QNEWTON_CLIP = 100.0


def newton_direction(
    params: Sequence[np.ndarray],
    blocks: Sequence[HessianBlock],
    solutions: Sequence[np.ndarray],
    *,
    clip: float | None = None,
    max_norm: float | None = None,
) -> tuple[np.ndarray, ...]:
    """Scatter block solutions Δ (of ``H̃Δ = g``) into arrays shaped like ``params``.

    Entries no block covers get 0. ``clip`` bounds every entry to ``[-clip, clip]`` (the Q-Newton
    code's ``jnp.clip(Δ, -100, 100)``, see :data:`QNEWTON_CLIP`); then ``max_norm`` rescales the
    whole direction so that its Euclidean norm over all blocks is at most ``max_norm``.

    The result can be handed to an optimizer in place of the gradient, as the Q-Newton PyTorch
    code does (it overwrites ``.grad`` with H̃⁻¹g and then steps SGD with momentum 0.9).

    Raises
    ------
    ValueError
        Mismatched counts or sizes, or two blocks covering the same parameter entry.
    SolverError
        A solution contains NaN or infinity (a failed solve must not silently corrupt training).
    """
    if len(blocks) != len(solutions):
        raise ValueError(f"{len(blocks)} blocks but {len(solutions)} solutions")
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be > 0, got {clip!r}")
    if max_norm is not None and not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm!r}")
    out = [np.zeros(np.size(p)) for p in params]
    covered = [np.zeros(np.size(p), dtype=np.int64) for p in params]
    for block, sol in zip(blocks, solutions, strict=True):
        sol = np.asarray(sol, dtype=np.float64).reshape(-1)
        if sol.size != block.n:
            raise ValueError(
                f"block {block.name}: solution has {sol.size} entries, expected {block.n}"
            )
        if not np.all(np.isfinite(sol)):
            raise SolverError(f"block {block.name}: solution is not finite")
        start = 0
        for pi, idx in block.segments:
            out[pi][idx] = sol[start : start + idx.size]
            np.add.at(covered[pi], idx, 1)
            start += idx.size
    for pi, c in enumerate(covered):
        if c.size and c.max() > 1:
            raise ValueError(f"blocks overlap on parameter {pi}")
    if clip is not None:
        out = [np.clip(d, -clip, clip) for d in out]
    if max_norm is not None:
        norm = math.sqrt(sum(float(np.vdot(d, d)) for d in out))
        if norm > max_norm:
            out = [d * (max_norm / norm) for d in out]
    return tuple(d.reshape(np.shape(p)) for d, p in zip(out, params, strict=True))


def newton_update(
    params: Sequence[np.ndarray],
    blocks: Sequence[HessianBlock],
    solutions: Sequence[np.ndarray],
    *,
    lr: float = 1.0,
    clip: float | None = None,
    max_norm: float | None = None,
) -> tuple[np.ndarray, ...]:
    """Block Newton step ``θ ← θ − lr·Δ`` with Δ the returned solution of each block's system.

    Parameters
    ----------
    params : sequence of numpy.ndarray
        Current parameters ``(W1, b1, ...)`` (not modified).
    blocks : sequence of HessianBlock
        The blocks the solutions belong to (only their segments and sizes are used).
    solutions : sequence of numpy.ndarray
        ``solutions[i]`` solves ``(shaped blocks[i].matrix) Δ = blocks[i].grad``; however it was
        obtained (exact solve, HHL output with its norm, modelled QLSA output with error).
    lr : float
        Step size β; 1 is the pure Newton step.
    clip, max_norm : float, optional
        See :func:`newton_direction`. Default: no clipping.

    Returns
    -------
    tuple of numpy.ndarray
        New parameters. Entries covered by no block are unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from hybridsim.workload.mlp import MLPSpec, hessian_blocks
    >>> spec = MLPSpec((2, 2), "identity")
    >>> params = (np.zeros((2, 2)), np.zeros(2))
    >>> X, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 1])
    >>> blocks = hessian_blocks(spec, params, X, y, kind="gauss_newton", l2=0.1)
    >>> sols = [np.linalg.solve(b.matrix, b.grad) for b in blocks]
    >>> new = newton_update(params, blocks, sols)
    >>> bool(new[0][0, 0] > 0 > new[0][0, 1])
    True
    """
    direction = newton_direction(params, blocks, solutions, clip=clip, max_norm=max_norm)
    return tuple(
        np.asarray(p, dtype=np.float64) - lr * d for p, d in zip(params, direction, strict=True)
    )


# --------------------------------------------------------------------------------------------
# first-order baselines


@dataclass(frozen=True, eq=False)
class SGDState:
    """Momentum buffers, one per parameter (read-only arrays)."""

    velocity: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with (optionally Nesterov) momentum, PyTorch's form.

    ``g ← g + weight_decay·θ``; ``v ← momentum·v + g``; ``θ ← θ − lr·v`` (Nesterov:
    ``θ ← θ − lr·(g + momentum·v)``). With ``momentum=0`` this is plain SGD.

    Examples
    --------
    >>> import numpy as np
    >>> opt = SGD(lr=0.1, momentum=0.9)
    >>> p, s = (np.array([1.0]),), opt.init((np.array([1.0]),))
    >>> p, s = opt.step(p, (np.array([1.0]),), s)
    >>> p, s = opt.step(p, (np.array([1.0]),), s)
    >>> round(float(p[0][0]), 6)  # 1 - 0.1*1 - 0.1*1.9
    0.71
    """

    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    nesterov: bool = False

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.weight_decay < 0:
            raise ValueError("weight_decay must be >= 0")

    def init(self, params: Sequence[np.ndarray]) -> SGDState:
        """Zero momentum buffers shaped like ``params``."""
        return SGDState(tuple(_ro(np.zeros(np.shape(p))) for p in params))

    def step(
        self,
        params: Sequence[np.ndarray],
        grads: Sequence[np.ndarray],
        state: SGDState,
        *,
        lr: float | None = None,
    ) -> tuple[tuple[np.ndarray, ...], SGDState]:
        """One update; ``lr`` overrides the configured rate (for schedules)."""
        rate = self.lr if lr is None else lr
        _check_same(params, grads, state.velocity)
        new_p, new_v = [], []
        for p, g, v in zip(params, grads, state.velocity, strict=True):
            g = np.asarray(g) + self.weight_decay * p if self.weight_decay else np.asarray(g)
            v = self.momentum * v + g
            d = g + self.momentum * v if self.nesterov else v
            new_p.append(np.asarray(p, dtype=np.float64) - rate * d)
            new_v.append(_ro(v))
        return tuple(new_p), SGDState(tuple(new_v))


@dataclass(frozen=True, eq=False)
class AdamState:
    """Adam's step count and first/second moment estimates (read-only arrays)."""

    step: int
    m: tuple[np.ndarray, ...]
    v: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015, Algorithm 1) with PyTorch's L2-style ``weight_decay``.

    ``m ← β₁m + (1−β₁)g``; ``v ← β₂v + (1−β₂)g²``; ``θ ← θ − lr·m̂/(√v̂ + eps)`` with the bias
    corrections ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Adam(lr=0.1)
    >>> p = (np.array([1.0]),)
    >>> p, s = opt.step(p, (np.array([3.0]),), opt.init(p))
    >>> round(float(p[0][0]), 6)  # the first step moves by lr, whatever the gradient's scale
    0.9
    """

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0):
            raise ValueError("beta1 and beta2 must be in [0, 1)")
        if not self.eps > 0:
            raise ValueError("eps must be > 0")
        if self.weight_decay < 0:
            raise ValueError("weight_decay must be >= 0")

    def init(self, params: Sequence[np.ndarray]) -> AdamState:
        """Zero moments and step 0."""
        zeros = tuple(_ro(np.zeros(np.shape(p))) for p in params)
        return AdamState(0, zeros, zeros)

    def step(
        self,
        params: Sequence[np.ndarray],
        grads: Sequence[np.ndarray],
        state: AdamState,
        *,
        lr: float | None = None,
    ) -> tuple[tuple[np.ndarray, ...], AdamState]:
        """One update; ``lr`` overrides the configured rate (for schedules)."""
        rate = self.lr if lr is None else lr
        _check_same(params, grads, state.m)
        t = state.step + 1
        c1 = 1.0 - self.beta1**t
        c2 = 1.0 - self.beta2**t
        new_p, new_m, new_v = [], [], []
        for p, g, m, v in zip(params, grads, state.m, state.v, strict=True):
            g = np.asarray(g) + self.weight_decay * p if self.weight_decay else np.asarray(g)
            m = self.beta1 * m + (1.0 - self.beta1) * g
            v = self.beta2 * v + (1.0 - self.beta2) * g * g
            new_p.append(
                np.asarray(p, dtype=np.float64) - rate * (m / c1) / (np.sqrt(v / c2) + self.eps)
            )
            new_m.append(_ro(m))
            new_v.append(_ro(v))
        return tuple(new_p), AdamState(t, tuple(new_m), tuple(new_v))


def linear_warmup_decay(step: int, *, peak_lr: float, warmup_steps: int, total_steps: int) -> float:
    """Learning rate at ``step``: linear 0 → peak over the warm-up, then linear peak → 0.

    Matches ``transformers.get_linear_schedule_with_warmup`` (rate 0 at step 0, peak at
    ``warmup_steps``, 0 at ``total_steps`` and after).

    Examples
    --------
    >>> [linear_warmup_decay(s, peak_lr=1.0, warmup_steps=2, total_steps=6) for s in range(7)]
    [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if warmup_steps < 0 or total_steps < 1 or warmup_steps > total_steps:
        raise ValueError("need 0 <= warmup_steps <= total_steps and total_steps >= 1")
    if step < warmup_steps:
        return peak_lr * step / warmup_steps
    if total_steps == warmup_steps:
        return peak_lr if step == warmup_steps else 0.0
    return peak_lr * max(0.0, (total_steps - step) / (total_steps - warmup_steps))


def _check_same(params, grads, buffers) -> None:
    if not (len(params) == len(grads) == len(buffers)):
        raise ValueError("params, grads and optimizer state differ in length")
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if np.shape(p) != np.shape(g):
            raise ValueError(f"grads[{i}] has shape {np.shape(g)}, expected {np.shape(p)}")


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.setflags(write=False)
    return a
