"""K-FAC: Kronecker-factored approximate curvature for the MLP, a practical second-order baseline.

Martens and Grosse, "Optimizing neural networks with Kronecker-factored approximate curvature",
ICML 2015, arXiv:1503.05671 (docs/background/references.md#martens-grosse-2015). For each dense
layer with inputs a (a 1 appended for the bias, so W̄ = [W; b]) and per-example output gradients
δ = ∂ℓₙ/∂s, the layer's block of the Fisher is approximated by a Kronecker product::

    F_l ≈ A ⊗ G,   A = E[ā āᵀ]  ((n_in+1)²),   G = E[δ δᵀ]  (n_out²)

so its inverse applied to the gradient is two small products, never an N×N solve. In our layout
(W of shape (n_in, n_out), flattened row-major) the update is::

    ΔW̄ = (A + π·√λ·I)⁻¹ · ∇W̄ · (G + (√λ/π)·I)⁻¹,   θ ← θ − lr·ΔW̄

with factored Tikhonov damping (§6.3 of the paper): λ split between the factors with
π = √((tr A / (n_in+1)) / (tr G / n_out)). δ uses the observed labels (ℓₙ's gradient p − e_y),
the *empirical* Fisher, the same curvature as the Newton blocks of :mod:`hybridsim.workload.mlp`,
so the comparison is between two ways of inverting the same matrix. The factors and their damped
inverses are recomputed every ``update_interval`` steps from the current batch and reused in
between, as the paper does to amortize them (it refreshes the inverses every T₃ = 20 iterations);
the paper's exponential averaging of factors, adaptive λ and step-size rescaling are not
modelled (a fixed ``lr`` and ``damping``).

Nothing here is charged by itself: :func:`kfac_step_flops` counts the work a GPU does for one
step, which the training process charges like every other step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hybridsim.workload.mlp import MLPSpec, _backprop, _fisher_seed, _forward_cache

__all__ = ["KFAC", "KFACState", "kfac_factors", "kfac_step_flops"]


def kfac_factors(
    spec: MLPSpec, params: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The Kronecker factors (A, G) of every layer on one batch.

    ``A = āᵀā / B`` with ā the layer's inputs and a column of ones, ``G = δᵀδ / B`` with δ the
    per-example gradients of each example's own loss in the layer's outputs.

    Examples
    --------
    >>> spec = MLPSpec((3, 2), "identity")
    >>> params = (np.zeros((3, 2)), np.zeros(2))
    >>> (A, G), = kfac_factors(spec, params, np.eye(3), np.array([0, 1, 0]))
    >>> A.shape, G.shape, float(A[-1, -1])
    ((4, 4), (2, 2), 1.0)
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    cache = _forward_cache(spec, params, X)
    deltas = _backprop(spec, params, cache, _fisher_seed(cache.logits, y))
    B = X.shape[0]
    out = []
    for layer, d in enumerate(deltas):
        a = np.hstack([cache.inputs[layer], np.ones((B, 1))])
        d = d[:, 0, :]
        out.append((a.T @ a / B, d.T @ d / B))
    return tuple(out)


def _damped_inverse(m: np.ndarray, shift: float) -> np.ndarray:
    from scipy.linalg import cho_factor, cho_solve

    s = m + shift * np.eye(m.shape[0])
    return cho_solve(cho_factor(s, lower=True), np.eye(m.shape[0]))


@dataclass(frozen=True, eq=False)
class KFACState:
    """Step count and the damped factor inverses of the last refresh (read-only arrays)."""

    step: int
    a_inv: tuple[np.ndarray, ...]
    g_inv: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class KFAC:
    """K-FAC for an :class:`~hybridsim.workload.mlp.MLPSpec` (Martens and Grosse 2015).

    Parameters
    ----------
    spec : MLPSpec
    lr : float
        Step size.
    damping : float
        λ of the factored Tikhonov damping (√λ added to the factors, split by π).
    update_interval : int
        Steps between refreshes of the factors and their inverses (1: every step).
    clip : float, optional
        Clip every entry of the update to [-clip, clip] before the step size (as the Newton
        update does).

    Examples
    --------
    >>> from hybridsim.workload.mlp import init_params, loss_and_grad
    >>> rng = np.random.default_rng(0)
    >>> spec = MLPSpec((4, 3), "identity")
    >>> X, y = rng.standard_normal((64, 4)), rng.integers(0, 3, 64)
    >>> p = init_params(spec, rng)
    >>> opt = KFAC(spec, lr=0.5)
    >>> before, g = loss_and_grad(spec, p, X, y)
    >>> p2, s = opt.step(p, g, opt.init(p), X=X, y=y)
    >>> bool(loss_and_grad(spec, p2, X, y)[0] < before), s.step
    (True, 1)
    """

    spec: MLPSpec
    lr: float = 1.0
    damping: float = 0.1
    update_interval: int = 10
    clip: float | None = None

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if not self.damping > 0:
            raise ValueError(f"damping must be > 0, got {self.damping!r}")
        if int(self.update_interval) < 1:
            raise ValueError(f"update_interval must be >= 1, got {self.update_interval!r}")
        if self.clip is not None and not self.clip > 0:
            raise ValueError(f"clip must be > 0, got {self.clip!r}")

    def init(self, params: Sequence[np.ndarray]) -> KFACState:  # noqa: ARG002 - optimizers' API
        """Step 0 and no factors yet (the first step refreshes them)."""
        return KFACState(0, (), ())

    def refreshes(self, state: KFACState) -> bool:
        """Whether the next step recomputes the factors and their inverses."""
        return state.step % int(self.update_interval) == 0 or not state.a_inv

    def step(
        self,
        params: Sequence[np.ndarray],
        grads: Sequence[np.ndarray],
        state: KFACState,
        *,
        X: np.ndarray,
        y: np.ndarray,
    ) -> tuple[tuple[np.ndarray, ...], KFACState]:
        """One update from the batch ``(X, y)`` whose gradient is ``grads``."""
        if len(params) != 2 * self.spec.n_layers or len(grads) != len(params):
            raise ValueError("params and grads must be (W1, b1, W2, b2, ...) of the spec")
        a_inv, g_inv = state.a_inv, state.g_inv
        if self.refreshes(state):
            root = math.sqrt(self.damping)
            a_l, g_l = [], []
            for A, G in kfac_factors(self.spec, params, X, y):
                ta, tg = np.trace(A) / A.shape[0], np.trace(G) / G.shape[0]
                pi = math.sqrt(ta / tg) if ta > 0 and tg > 0 else 1.0
                a_l.append(_ro(_damped_inverse(A, pi * root)))
                g_l.append(_ro(_damped_inverse(G, root / pi)))
            a_inv, g_inv = tuple(a_l), tuple(g_l)
        new: list[np.ndarray] = []
        for layer in range(self.spec.n_layers):
            gw, gb = np.asarray(grads[2 * layer]), np.asarray(grads[2 * layer + 1])
            step = a_inv[layer] @ np.vstack([gw, gb[None, :]]) @ g_inv[layer]
            if self.clip is not None:
                step = np.clip(step, -self.clip, self.clip)
            new.append(np.asarray(params[2 * layer], dtype=np.float64) - self.lr * step[:-1])
            new.append(np.asarray(params[2 * layer + 1], dtype=np.float64) - self.lr * step[-1])
        return tuple(new), KFACState(state.step + 1, a_inv, g_inv)


def kfac_step_flops(spec: MLPSpec, batch: int, *, refresh: bool) -> int:
    """Floating-point operations of one K-FAC step beyond forward/backward and the update.

    Per layer with m = n_in + 1 and k = n_out (a multiply-add is 2 flops):

    - on a refresh: the factors' Gram products ``2·B·m² + 2·B·k²`` (δ comes from the backward
      pass already charged) and two SPD inverses ``m³ + k³`` (Cholesky m³/3 plus the inverse
      from the factor 2m³/3, LAPACK ``potrf`` + ``potri``; Golub and Van Loan 2013);
    - every step: the preconditioned gradient ``2·m²·k + 2·m·k²``.

    Examples
    --------
    >>> kfac_step_flops(MLPSpec((2, 2), "identity"), 4, refresh=False)  # 2·9·2 + 2·3·4
    60
    >>> kfac_step_flops(MLPSpec((2, 2), "identity"), 4, refresh=True)  # + 72 + 32 + 27 + 8
    199
    """
    if int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    B = int(batch)
    total = 0
    for n_in, n_out in zip(spec.layer_sizes[:-1], spec.layer_sizes[1:], strict=True):
        m, k = n_in + 1, n_out
        total += 2 * m * m * k + 2 * m * k * k
        if refresh:
            total += 2 * B * m * m + 2 * B * k * k + m**3 + k**3
    return total


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.setflags(write=False)
    return a
