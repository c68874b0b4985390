"""A small numpy MLP with softmax cross-entropy, per-block curvature matrices and FLOP counts.

This is the *real* workload of hybridsim: each training step builds block-diagonal curvature
matrices from the batch, the simulator turns every block into a linear-solve job, and the
solutions that come back (from a GPU solve, an HHL circuit or a modelled QLSA) drive the Newton
update in :func:`hybridsim.workload.optimizers.newton_update`. Nothing here solves a system.

Conventions
-----------
- Parameters are a tuple ``(W1, b1, W2, b2, ...)``; ``W_l`` has shape ``(n_in, n_out)`` (so
  a layer is ``a @ W + b``) and ``b_l`` shape ``(n_out,)``. Parameter ``2l`` is layer ``l+1``'s
  weight, ``2l+1`` its bias. Every function returns new arrays; inputs are never modified.
- The batch loss is the *mean* per-sample cross-entropy plus an optional ``(l2/2)·‖θ‖²`` over all
  parameters (biases included, as PyTorch's ``weight_decay`` does in the Q-Newton code).
- A weight block's flat indices refer to ``W.ravel()`` (C order, index ``i*n_out + j``). PyTorch
  stores ``(n_out, n_in)``, so the Q-Newton code's layer block is a symmetric permutation of ours:
  same eigenvalues, same κ, same number of nonzeros.

Curvature (see docs/background/training.md for the derivations)
---------------------------------------------------------------
- Empirical Fisher, as the public Q-Newton code (approx-hessian/newton_optim/hessian.py):
  ``F = (1/B)·Σₙ gₙgₙᵀ`` with ``gₙ`` the gradient of sample n's loss.
- Gauss–Newton: ``G = (1/B)·Σₙ JₙᵀHₙJₙ``, ``Jₙ`` the Jacobian of the logits,
  ``Hₙ = diag(pₙ) − pₙpₙᵀ`` the Hessian of the cross-entropy in the logits (Schraudolph 2002;
  Martens 2020, "New insights and perspectives on the natural gradient method", JMLR 21).
  We use ``Hₙ = Σ_c s_c s_cᵀ`` with ``s_c = √p_c·(e_c − p)`` (exact because Σp = 1), so G is a
  Gram matrix of C back-propagated "seeds" per sample: exactly PSD, and equal to the Hessian
  for a linear-softmax model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

# Re-exported: the update lives with the other optimizers (it needs no model code), but the
# issue's API names it in mlp as well. optimizers.py imports nothing from here at run time.
from hybridsim.workload.optimizers import newton_update

__all__ = [
    "ACTIVATIONS",
    "KINDS",
    "PARTITIONS",
    "MLPSpec",
    "Params",
    "HessianBlock",
    "init_params",
    "forward",
    "predict_proba",
    "loss_and_grad",
    "loss_and_accuracy",
    "accuracy",
    "per_sample_grads",
    "hessian_blocks",
    "block_layout",
    "block_sizes",
    "forward_backward_flops",
    "hessian_flops",
    "block_assembly_flops",
    "factor_flops",
    "update_flops",
    "newton_update",
]

ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "sigmoid", "identity")
KINDS: tuple[str, ...] = ("fisher", "gauss_newton")
PARTITIONS: tuple[str, ...] = ("layer", "neuron", "chunk", "full")

Kind = Literal["fisher", "gauss_newton"]
Partition = Literal["layer", "neuron", "chunk", "full"]
#: Parameters ``(W1, b1, W2, b2, ...)``. Functions accept any sequence and return a tuple.
Params = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class MLPSpec:
    """Architecture of a fully connected classifier.

    Parameters
    ----------
    layer_sizes : tuple of int
        ``(n_features, hidden..., n_classes)``; at least two entries (two = linear softmax, i.e.
        multinomial logistic regression).
    activation : str
        Hidden-layer activation, one of :data:`ACTIVATIONS`. The output layer is always linear
        (logits) followed by softmax cross-entropy.
    """

    layer_sizes: tuple[int, ...]
    activation: str

    def __post_init__(self) -> None:
        sizes = tuple(int(s) for s in self.layer_sizes)
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise ValueError(f"layer_sizes needs >= 2 positive sizes, got {self.layer_sizes!r}")
        if sizes[-1] < 2:
            raise ValueError("the last layer size is the number of classes and must be >= 2")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; expected one of {', '.join(ACTIVATIONS)}"
            )
        object.__setattr__(self, "layer_sizes", sizes)

    @property
    def n_layers(self) -> int:
        """Number of dense layers (weight matrices)."""
        return len(self.layer_sizes) - 1

    @property
    def n_classes(self) -> int:
        return self.layer_sizes[-1]

    @property
    def param_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Shapes of ``(W1, b1, W2, b2, ...)``."""
        shapes: list[tuple[int, ...]] = []
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True):
            shapes += [(n_in, n_out), (n_out,)]
        return tuple(shapes)

    @property
    def n_params(self) -> int:
        return sum(int(np.prod(s)) for s in self.param_shapes)


@dataclass(frozen=True, eq=False)
class HessianBlock:
    """One diagonal block of the curvature matrix, with the gradient restricted to it.

    A block covers one or more *segments*: ``(param_index, flat_indices)`` pairs. The first
    segment is stored in ``param_index``/``flat_indices`` (the common case: layer and chunk
    blocks have exactly one); ``extra`` holds the rest (the bias entry of a ``neuron`` block, or
    every further parameter of the ``full`` block). Row/column order of ``matrix`` and ``grad`` is
    the concatenation of the segments in order. Arrays are read-only.

    Attributes
    ----------
    name : str
        ``"W1"``, ``"b2"`` (layer), ``"L1.n7"`` (neuron 7 of layer 1), ``"W1[0:256]"`` (chunk),
        ``"full"``.
    param_index : int
        Index into the params tuple of the first segment.
    flat_indices : numpy.ndarray
        int64 indices into ``params[param_index].ravel()``.
    matrix : numpy.ndarray
        Symmetric PSD ``(N, N)`` curvature block, *unshaped* (no regularization or pruning: that
        is :mod:`hybridsim.linalg.shaping`'s job), plus ``l2·I`` if an L2 term was requested.
    grad : numpy.ndarray
        ``(N,)`` batch gradient of the loss (including the L2 term) on the block's entries.
    extra : tuple of (int, numpy.ndarray)
        Further segments after the first.
    factor_rows : numpy.ndarray or None
        ``(r, N)`` rows R whose Gram matrix is the curvature: ``matrix = RᵀR + l2·I`` (up to
        rounding and the symmetrization). Per-sample gradient rows scaled by 1/√B (Fisher; r = B)
        or back-propagated seeds (Gauss–Newton; r = B·C). Often a view shared by blocks.
    factor_weights : numpy.ndarray or None
        ``(r,)`` scales of the rows (neuron blocks share one row set ã per layer and weight it
        per neuron); None means 1.
    diag_shift : float
        The ``l2`` added to the diagonal of ``matrix``.
    """

    name: str
    param_index: int
    flat_indices: np.ndarray
    matrix: np.ndarray
    grad: np.ndarray
    extra: tuple[tuple[int, np.ndarray], ...] = ()
    factor_rows: np.ndarray | None = None
    factor_weights: np.ndarray | None = None
    diag_shift: float = 0.0

    @property
    def rank(self) -> int | None:
        """Width r of the factor (None when the block has none)."""
        return None if self.factor_rows is None else int(self.factor_rows.shape[0])

    @property
    def factor(self) -> np.ndarray | None:
        """The ``(N, r)`` factor U with ``matrix = U·Uᵀ + diag_shift·I``, built on demand (so
        neuron blocks do not each hold a copy); None when the block has none."""
        if self.factor_rows is None:
            return None
        rows = self.factor_rows
        if self.factor_weights is not None:
            rows = rows * self.factor_weights[:, None]
        return rows.T

    @property
    def n(self) -> int:
        """Block size N."""
        return int(self.grad.shape[0])

    @property
    def segments(self) -> tuple[tuple[int, np.ndarray], ...]:
        """All ``(param_index, flat_indices)`` segments, in row order."""
        return ((self.param_index, self.flat_indices), *self.extra)


# --------------------------------------------------------------------------------------------
# activations


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "sigmoid":
        # Split by sign so exp never overflows.
        out = np.empty_like(z)
        pos = z >= 0
        out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
        ez = np.exp(z[~pos])
        out[~pos] = ez / (1.0 + ez)
        return out
    return z.copy()  # identity


def _activation_slope(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """f'(z), computed from the cached output a = f(z) where that is cheaper."""
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        # The subgradient 0 at z == 0, as PyTorch and JAX use.
        return (z > 0.0).astype(z.dtype)
    if name == "sigmoid":
        return a * (1.0 - a)
    return np.ones_like(z)


# --------------------------------------------------------------------------------------------
# forward / backward


def _check_params(spec: MLPSpec, params: Sequence[np.ndarray]) -> None:
    shapes = spec.param_shapes
    if len(params) != len(shapes):
        raise ValueError(f"expected {len(shapes)} parameter arrays, got {len(params)}")
    for i, (p, s) in enumerate(zip(params, shapes, strict=True)):
        if tuple(np.shape(p)) != s:
            raise ValueError(f"params[{i}] has shape {np.shape(p)}, expected {s}")


def _check_xy(spec: MLPSpec, X: np.ndarray, y: np.ndarray | None = None) -> None:
    if X.ndim != 2 or X.shape[1] != spec.layer_sizes[0]:
        raise ValueError(f"X must have shape (B, {spec.layer_sizes[0]}), got {X.shape}")
    if X.shape[0] < 1:
        raise ValueError("empty batch")
    if y is not None:
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= spec.n_classes):
            raise ValueError(f"labels must be in [0, {spec.n_classes})")


def init_params(spec: MLPSpec, rng: np.random.Generator) -> Params:
    """Random initial parameters drawn from ``rng`` only.

    Weights are normal with variance ``2/(n_in + n_out)`` (Glorot & Bengio 2010) for tanh,
    sigmoid and identity, and ``2/n_in`` (He et al. 2015) for relu; biases start at zero.

    Examples
    --------
    >>> import numpy as np
    >>> p = init_params(MLPSpec((4, 3), "identity"), np.random.default_rng(0))
    >>> [a.shape for a in p]
    [(4, 3), (3,)]
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator")
    out: list[np.ndarray] = []
    for n_in, n_out in zip(spec.layer_sizes[:-1], spec.layer_sizes[1:], strict=True):
        var = 2.0 / n_in if spec.activation == "relu" else 2.0 / (n_in + n_out)
        out.append(rng.standard_normal((n_in, n_out)) * np.sqrt(var))
        out.append(np.zeros(n_out))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class _Cache:
    inputs: tuple[np.ndarray, ...]  # input of each layer (X, a1, a2, ...)
    pre: tuple[np.ndarray, ...]  # pre-activations of the hidden layers
    logits: np.ndarray


def _forward_cache(spec: MLPSpec, params: Sequence[np.ndarray], X: np.ndarray) -> _Cache:
    inputs: list[np.ndarray] = []
    pre: list[np.ndarray] = []
    a = X
    for layer in range(spec.n_layers):
        inputs.append(a)
        z = a @ params[2 * layer] + params[2 * layer + 1]
        if layer == spec.n_layers - 1:
            return _Cache(tuple(inputs), tuple(pre), z)
        pre.append(z)
        a = _activate(spec.activation, z)
    raise AssertionError("unreachable")  # pragma: no cover


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _per_sample_ce(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return lse - logits[np.arange(y.size), y]


def _backprop(spec: MLPSpec, params: Sequence[np.ndarray], cache: _Cache, seed: np.ndarray):
    """Deltas (dL/dz) of every layer for output seeds of shape (B, K, C) -> list of (B, K, n_out).

    K seeds per sample are pushed through the same Jacobians at once: K = 1 gives the per-sample
    loss gradients, K = C the Gauss–Newton factors.
    """
    deltas = [seed]
    for layer in range(spec.n_layers - 1, 0, -1):
        d = deltas[0] @ params[2 * layer].T
        a = cache.inputs[layer]
        slope = _activation_slope(spec.activation, cache.pre[layer - 1], a)
        deltas.insert(0, d * slope[:, None, :])
    return deltas


def forward(spec: MLPSpec, params: Sequence[np.ndarray], X: np.ndarray) -> np.ndarray:
    """Logits ``(B, n_classes)`` for inputs ``X`` of shape ``(B, n_features)``."""
    X = np.asarray(X, dtype=np.float64)
    _check_params(spec, params)
    _check_xy(spec, X)
    return _forward_cache(spec, params, X).logits


def predict_proba(spec: MLPSpec, params: Sequence[np.ndarray], X: np.ndarray) -> np.ndarray:
    """Softmax class probabilities ``(B, n_classes)``."""
    return _softmax(forward(spec, params, X))


def loss_and_grad(
    spec: MLPSpec,
    params: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 0.0,
) -> tuple[float, Params]:
    """Mean softmax cross-entropy (+ ``(l2/2)·‖θ‖²``) and its gradient by back-propagation.

    Parameters
    ----------
    spec : MLPSpec
    params : sequence of numpy.ndarray
        ``(W1, b1, W2, b2, ...)``.
    X : numpy.ndarray
        ``(B, n_features)`` inputs.
    y : numpy.ndarray
        ``(B,)`` integer labels.
    l2 : float
        Coefficient of the L2 term over all parameters.

    Returns
    -------
    loss : float
    grads : tuple of numpy.ndarray
        Same shapes as ``params``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    _check_params(spec, params)
    _check_xy(spec, X, y)
    cache = _forward_cache(spec, params, X)
    B = X.shape[0]
    loss = _loss(params, cache.logits, y, l2)
    seed = _softmax(cache.logits)
    seed[np.arange(B), y] -= 1.0
    seed /= B
    grads: list[np.ndarray] = [np.empty(0)] * len(params)
    delta = seed
    for layer in range(spec.n_layers - 1, -1, -1):
        a_in = cache.inputs[layer]
        grads[2 * layer] = a_in.T @ delta
        grads[2 * layer + 1] = delta.sum(axis=0)
        if layer > 0:
            slope = _activation_slope(spec.activation, cache.pre[layer - 1], a_in)
            delta = (delta @ params[2 * layer].T) * slope
    if l2:
        grads = [g + l2 * p for g, p in zip(grads, params, strict=True)]
    return loss, tuple(grads)


def _loss(params: Sequence[np.ndarray], logits: np.ndarray, y: np.ndarray, l2: float) -> float:
    """Mean cross-entropy of ``logits`` plus ``(l2/2)·‖θ‖²``: the loss of :func:`loss_and_grad`
    and :func:`loss_and_accuracy` (one definition, so both give the same bits)."""
    loss = float(_per_sample_ce(logits, y).mean())
    if l2:
        loss += 0.5 * l2 * sum(float(np.vdot(p, p)) for p in params)
    return loss


def loss_and_accuracy(
    spec: MLPSpec,
    params: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 0.0,
) -> tuple[float, float]:
    """The loss of :func:`loss_and_grad` and the :func:`accuracy` on the same data, from one
    forward pass and no backward pass (a training run's per-step evaluation).

    Both are the same numbers, bit for bit, as the two functions give: the same forward pass and
    the same reductions on its logits.

    Examples
    --------
    >>> spec = MLPSpec((4, 3), "tanh")
    >>> p = init_params(spec, np.random.default_rng(0))
    >>> X, y = np.eye(4), np.array([0, 1, 2, 0])
    >>> loss, acc = loss_and_accuracy(spec, p, X, y)
    >>> (loss, acc) == (loss_and_grad(spec, p, X, y)[0], accuracy(spec, p, X, y))
    True
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    _check_params(spec, params)
    _check_xy(spec, X, y)
    logits = _forward_cache(spec, params, X).logits
    return _loss(params, logits, y, l2), float(np.mean(logits.argmax(axis=1) == y))


def accuracy(spec: MLPSpec, params: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose arg-max logit equals the label."""
    return float(np.mean(forward(spec, params, X).argmax(axis=1) == np.asarray(y)))


def per_sample_grads(
    spec: MLPSpec, params: Sequence[np.ndarray], X: np.ndarray, y: np.ndarray
) -> Params:
    """Gradient of every sample's own loss, vectorized over the batch.

    Returns arrays of shape ``(B, *param.shape)``. The batch loss is the mean, so the mean over
    axis 0 is the batch gradient (of the loss without L2 term). Computed as the Q-Newton code
    does (autograd-hacks): outer products of each layer's input with the per-sample output delta.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    _check_params(spec, params)
    _check_xy(spec, X, y)
    cache = _forward_cache(spec, params, X)
    deltas = _backprop(spec, params, cache, _fisher_seed(cache.logits, y))
    out: list[np.ndarray] = []
    for layer, d in enumerate(deltas):
        d = d[:, 0, :]
        out.append(np.einsum("bi,bo->bio", cache.inputs[layer], d))
        out.append(d.copy())
    return tuple(out)


# --------------------------------------------------------------------------------------------
# curvature blocks


def _fisher_seed(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(B, 1, C): gradient of each sample's loss in its logits, p − e_y."""
    seed = _softmax(logits)
    seed[np.arange(y.size), y] -= 1.0
    return seed[:, None, :]


def _gauss_newton_seed(logits: np.ndarray) -> np.ndarray:
    """(B, C, C): rows s_c = √p_c (e_c − p), so Σ_c s_c s_cᵀ = diag(p) − ppᵀ exactly."""
    p = _softmax(logits)
    C = p.shape[1]
    sq = np.sqrt(p)
    seed = -sq[:, :, None] * p[:, None, :]
    seed[:, np.arange(C), np.arange(C)] += sq
    return seed


def block_layout(
    spec: MLPSpec, partition: Partition = "layer", chunk_size: int | None = None
) -> tuple[tuple[str, tuple[tuple[int, np.ndarray], ...]], ...]:
    """Names and segments of the blocks a partition produces, without building any matrix.

    Returns
    -------
    tuple of (name, segments)
        In the order :func:`hessian_blocks` returns blocks; ``segments`` as in
        :attr:`HessianBlock.segments`.
    """
    if partition not in PARTITIONS:
        raise ValueError(f"unknown partition {partition!r}; expected one of {PARTITIONS}")
    if partition == "chunk":
        if chunk_size is None or int(chunk_size) < 1:
            raise ValueError("partition='chunk' needs chunk_size >= 1")
    elif chunk_size is not None:
        raise ValueError("chunk_size is only used with partition='chunk'")
    shapes = spec.param_shapes
    layout: list[tuple[str, tuple[tuple[int, np.ndarray], ...]]] = []
    for pi, shape in enumerate(shapes):
        size = int(np.prod(shape))
        label = f"{'W' if pi % 2 == 0 else 'b'}{pi // 2 + 1}"
        if partition == "layer":
            layout.append((label, ((pi, np.arange(size)),)))
        elif partition == "chunk":
            cs = int(chunk_size)  # type: ignore[arg-type]
            for start in range(0, size, cs):
                stop = min(start + cs, size)
                layout.append((f"{label}[{start}:{stop}]", ((pi, np.arange(start, stop)),)))
        elif partition == "neuron" and pi % 2 == 0:
            n_in, n_out = shape
            for j in range(n_out):
                # Column j of W (entries i*n_out + j), then bias j: the neuron's incoming weights.
                segs = ((pi, np.arange(n_in) * n_out + j), (pi + 1, np.array([j])))
                layout.append((f"L{pi // 2 + 1}.n{j}", segs))
    if partition == "full":
        every = tuple((pi, np.arange(int(np.prod(s)))) for pi, s in enumerate(shapes))
        layout.append(("full", every))
    return tuple(
        (name, tuple((pi, _ro(idx.astype(np.int64))) for pi, idx in segs)) for name, segs in layout
    )


def block_sizes(
    spec: MLPSpec, partition: Partition = "layer", chunk_size: int | None = None
) -> tuple[int, ...]:
    """Size N of every block of a partition, in :func:`hessian_blocks` order.

    Examples
    --------
    >>> block_sizes(MLPSpec((784, 30, 30, 10), "relu"))  # the Q-Newton MNIST MLP
    (23520, 30, 900, 30, 300, 10)
    """
    return tuple(
        sum(idx.size for _, idx in segs) for _, segs in block_layout(spec, partition, chunk_size)
    )


def _ro(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def hessian_blocks(
    spec: MLPSpec,
    params: Sequence[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    kind: Kind = "fisher",
    partition: Partition = "layer",
    chunk_size: int | None = None,
    l2: float = 0.0,
) -> list[HessianBlock]:
    """Block-diagonal curvature of the batch loss, one :class:`HessianBlock` per block.

    Parameters
    ----------
    spec, params, X, y
        Model and batch, as in :func:`loss_and_grad`.
    kind : {"fisher", "gauss_newton"}
        ``"fisher"``: empirical Fisher ``(1/B)·Σₙ gₙgₙᵀ`` of the per-sample loss gradients, as the
        public Q-Newton code computes it (rank ≤ B: singular whenever B < N).
        ``"gauss_newton"``: ``(1/B)·Σₙ JₙᵀHₙJₙ`` with the exact softmax-CE Hessian of the logits;
        equals the Hessian of the loss for a linear-softmax model.
    partition : {"layer", "neuron", "chunk", "full"}
        ``"layer"``: one block per weight tensor and one per bias (the paper's).
        ``"neuron"``: one block per output neuron of each layer: its incoming weights and its
        bias (size n_in + 1). ``"chunk"``: consecutive ``chunk_size`` entries of each flattened
        parameter (the last chunk may be smaller). ``"full"``: one block over all parameters
        (the non-layer-wise variant of the Q-Newton JAX code; small models only).
    chunk_size : int, optional
        Required for ``"chunk"``.
    l2 : float
        L2 coefficient: adds ``l2·I`` to every block and ``l2·θ`` to its gradient (the exact
        curvature of the ``(l2/2)·‖θ‖²`` term).

    Returns
    -------
    list of HessianBlock
        In parameter order; blocks never overlap and together cover every parameter entry.

    Notes
    -----
    Cost: the per-sample factors are built once per parameter (``B·K`` rows, K = 1 for Fisher,
    K = C for Gauss–Newton); a block is then a Gram matrix of its columns. ``neuron`` blocks use
    the Kronecker structure instead: with ã = [a_in, 1], block j is ``ãᵀ·diag(wⱼ)·ã / B`` with
    ``wⱼ[n] = Σ_k δ[n,k,j]²``, all neurons of a layer in one GEMM. :func:`hessian_flops` counts
    exactly these operations.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    layout = block_layout(spec, partition, chunk_size)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    _check_params(spec, params)
    _check_xy(spec, X, y)
    B = X.shape[0]
    cache = _forward_cache(spec, params, X)
    seed = _fisher_seed(cache.logits, y) if kind == "fisher" else _gauss_newton_seed(cache.logits)
    deltas = _backprop(spec, params, cache, seed)
    _, grads = loss_and_grad(spec, params, X, y, l2=l2)
    flat_grads = [g.ravel() for g in grads]

    blocks: list[HessianBlock] = []
    if partition == "neuron":
        mats, rows, weights = [], [], []
        for a, d in zip(cache.inputs, deltas, strict=True):
            mats.append(_neuron_blocks(a, d))
            # Neuron j's block is Σₙ wⱼ[n]·ã[n]ã[n]ᵀ/B: rows ã[n] weighted by √(wⱼ[n]/B).
            rows.append(_ro(np.hstack([a, np.ones((B, 1))])))
            weights.append(np.sqrt(np.einsum("bkj,bkj->bj", d, d) / B))
        for name, segs in layout:
            (w_idx, w_flat), _ = segs
            layer = w_idx // 2
            j = int(w_flat[0]) % spec.layer_sizes[layer + 1]
            blocks.append(
                _make_block(
                    name,
                    segs,
                    mats[layer][j],
                    flat_grads,
                    l2,
                    rows[layer],
                    _ro(np.ascontiguousarray(weights[layer][:, j])),
                )
            )
        return blocks

    # Per-sample factor rows U_p of shape (B*K, size_p) for every parameter, scaled so that a
    # block is U_bᵀU_b (the 1/B folded in as 1/√B on both sides).
    K = seed.shape[1]
    scale = 1.0 / np.sqrt(B)
    factors: list[np.ndarray] = []
    for layer, d in enumerate(deltas):
        a_in = cache.inputs[layer] * scale
        w_rows = np.einsum("bi,bko->bkio", a_in, d).reshape(B * K, -1)
        factors += [w_rows, d.reshape(B * K, -1) * scale]
    for name, segs in layout:
        # Outside the neuron partition every segment is a contiguous range: slice, don't copy.
        cols = [factors[pi][:, idx[0] : idx[-1] + 1] for pi, idx in segs]
        U = cols[0] if len(cols) == 1 else np.hstack(cols)
        blocks.append(_make_block(name, segs, U.T @ U, flat_grads, l2, _ro(U)))
    return blocks


# Cap on the per-sample outer-product buffer of _neuron_blocks (float64 entries, 32 MiB).
_OUTER_BUFFER = 1 << 22


def _neuron_blocks(a_in: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """All neuron blocks of one layer, shape (n_out, n_in+1, n_in+1), as one GEMM per chunk.

    Neuron j's per-sample factor rows are δ[n,k,j]·ã[n] with ã = [a_in, 1], so its block is
    Σₙ wⱼ[n]·ã[n]ã[n]ᵀ / B with wⱼ[n] = Σ_k δ[n,k,j]²: the weights (B, n_out) times the
    per-sample outer products (B, (n_in+1)²). Batches are processed in chunks to bound memory.
    """
    B = a_in.shape[0]
    a_t = np.hstack([a_in, np.ones((B, 1))])
    m = a_t.shape[1]
    w = np.einsum("bkj,bkj->bj", delta, delta)
    out = np.zeros((w.shape[1], m * m))
    step = max(1, _OUTER_BUFFER // (m * m))
    for s in range(0, B, step):
        outer = (a_t[s : s + step, :, None] * a_t[s : s + step, None, :]).reshape(-1, m * m)
        out += w[s : s + step].T @ outer
    return out.reshape(-1, m, m) / B


def _make_block(name, segs, mat, flat_grads, l2, rows=None, weights=None) -> HessianBlock:
    # Symmetrize: the Gram product is symmetric in exact arithmetic, but BLAS may differ in the
    # last bit between (i, j) and (j, i), and downstream code (eigh, Cholesky, κ) expects exact.
    mat = 0.5 * (mat + mat.T)
    if l2:
        mat[np.diag_indices_from(mat)] += l2
    g = np.concatenate([flat_grads[pi][idx] for pi, idx in segs])
    return HessianBlock(
        name=name,
        param_index=int(segs[0][0]),
        flat_indices=segs[0][1],
        matrix=_ro(mat),
        grad=_ro(g),
        extra=tuple(segs[1:]),
        factor_rows=rows,
        factor_weights=weights,
        diag_shift=float(l2),
    )


# --------------------------------------------------------------------------------------------
# FLOP counts (charged as simulated GPU time by sim/training.py)


def forward_backward_flops(spec: MLPSpec, batch: int) -> int:
    """Floating-point operations of one forward + backward pass over a batch.

    Counted per dense layer (n_in → n_out), with a multiply-add as 2 flops:

    - forward: ``2·B·n_in·n_out`` (matmul) + ``B·n_out`` (bias) + ``B·n_out`` (activation, hidden
      layers only, one flop per element, an undercount for tanh/sigmoid (inferred));
    - softmax cross-entropy: ``5·B·C`` (max, subtract, exp, sum, divide) + ``B·C`` for p − y;
    - backward: ``2·B·n_in·n_out`` (weight gradient) + ``B·n_out`` (bias gradient) and, for every
      layer but the first, ``2·B·n_in·n_out`` (delta to the previous layer) + ``2·B·n_in``
      (activation slope and product).

    Examples
    --------
    >>> forward_backward_flops(MLPSpec((2, 2), "identity"), 1)  # 8 + 2 + 10 + 2 + 8 + 2
    32
    """
    _check_batch(batch)
    B = int(batch)
    sizes = spec.layer_sizes
    total = 6 * B * sizes[-1]
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        hidden = layer < spec.n_layers - 1
        total += 2 * B * n_in * n_out + B * n_out + (B * n_out if hidden else 0)
        total += 2 * B * n_in * n_out + B * n_out
        if layer > 0:
            total += 2 * B * n_in * n_out + 2 * B * n_in
    return total


def hessian_flops(
    spec: MLPSpec,
    batch: int,
    kind: Kind = "fisher",
    partition: Partition = "layer",
    chunk_size: int | None = None,
) -> int:
    """Floating-point operations to build all curvature blocks, after forward/backward.

    Counts the operations :func:`hessian_blocks` performs (a GPU implementation would do the
    same GEMMs; the Q-Newton code's ``einsum('ni,nj->ij')`` is the Gram product below):

    - seeds: Fisher reuses the backward pass's ``p − y`` (0); Gauss–Newton builds C seeds per
      sample (``3·B·C²``) and back-propagates them: for every layer but the first
      ``2·B·C·n_in·n_out + 2·B·C·n_in``;
    - per-sample factors (K = 1 Fisher, K = C Gauss–Newton): ``B·K·n_in·n_out`` per weight tensor
      (one multiply per outer-product entry);
    - Gram matrices: ``2·B·K·N_b²`` per block of size N_b (layer, chunk, full);
      ``neuron`` blocks instead cost, per layer, ``2·B·K·n_out`` (weights wⱼ) +
      ``B·(n_in+1)²`` (per-sample outer products) + ``2·B·n_out·(n_in+1)²`` (one GEMM),
      independent of K beyond the weights.

    Symmetrization and ``l2·I`` (O(N²)) are not counted.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    _check_batch(batch)
    B = int(batch)
    C = spec.n_classes
    K = 1 if kind == "fisher" else C
    total = 0
    pairs = list(zip(spec.layer_sizes[:-1], spec.layer_sizes[1:], strict=True))
    if kind == "gauss_newton":
        total += 3 * B * C * C
        total += sum(2 * B * C * n_in * n_out + 2 * B * C * n_in for n_in, n_out in pairs[1:])
    if partition == "neuron":
        block_layout(spec, partition, chunk_size)  # validates the arguments
        for n_in, n_out in pairs:
            m2 = (n_in + 1) ** 2
            total += 2 * B * K * n_out + B * m2 + 2 * B * n_out * m2
        return total
    total += sum(B * K * n_in * n_out for n_in, n_out in pairs)
    total += sum(2 * B * K * n * n for n in block_sizes(spec, partition, chunk_size))
    return total


def block_assembly_flops(
    spec: MLPSpec,
    batch: int,
    kind: Kind = "fisher",
    partition: Partition = "layer",
    chunk_size: int | None = None,
) -> tuple[float, ...]:
    """The part of :func:`hessian_flops` that forms each dense block from its factor, per block.

    ``2·B·K·N_b²`` (the Gram product) for layer, chunk and full blocks; for neuron blocks the
    layer's outer products and GEMM, ``B·(n_in+1)² + 2·B·n_out·(n_in+1)²``, shared evenly by its
    ``n_out`` blocks. A route that never needs the dense block (Woodbury, matrix-free CG) is
    not charged it; :func:`factor_flops` is the rest, paid every step.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    _check_batch(batch)
    B = int(batch)
    K = 1 if kind == "fisher" else spec.n_classes
    if partition == "neuron":
        block_layout(spec, partition, chunk_size)  # validates the arguments
        out: list[float] = []
        for n_in, n_out in zip(spec.layer_sizes[:-1], spec.layer_sizes[1:], strict=True):
            m2 = (n_in + 1) ** 2
            out += [(B * m2 + 2 * B * n_out * m2) / n_out] * n_out
        return tuple(out)
    return tuple(float(2 * B * K * n * n) for n in block_sizes(spec, partition, chunk_size))


def factor_flops(
    spec: MLPSpec,
    batch: int,
    kind: Kind = "fisher",
    partition: Partition = "layer",
    chunk_size: int | None = None,
) -> float:
    """Flops of the curvature *factors* every Newton step pays (seeds, per-sample rows, neuron
    weights): :func:`hessian_flops` minus the sum of :func:`block_assembly_flops`.

    Examples
    --------
    >>> s = MLPSpec((4, 3), "identity")
    >>> factor_flops(s, 2) + sum(block_assembly_flops(s, 2)) == hessian_flops(s, 2)
    True
    """
    total = hessian_flops(spec, batch, kind, partition, chunk_size)
    return float(total - sum(block_assembly_flops(spec, batch, kind, partition, chunk_size)))


def update_flops(spec: MLPSpec, *, clip: bool = False, max_norm: bool = False) -> int:
    """Floating-point operations of applying an update ``θ ← θ − lr·Δ`` to every parameter.

    ``2`` per parameter (scale, subtract), ``+1`` with an elementwise clip, ``+3`` with the
    global max-norm clip (square-accumulate, then rescale). The solves that produce Δ are jobs
    of their own and are not counted here.

    Examples
    --------
    >>> update_flops(MLPSpec((2, 2), "identity"), clip=True)  # 6 parameters × 3
    18
    """
    per = 2 + (1 if clip else 0) + (3 if max_norm else 0)
    return per * spec.n_params


def _check_batch(batch: int) -> None:
    if int(batch) < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
