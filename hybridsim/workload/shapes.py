"""Paper-scale workloads as metadata: block sizes, steps per epoch, κ trajectories, sparsity d.

The Q-Newton paper's models (arXiv:2405.00252) have blocks of up to 49 152 rows: far too big to
build, shape and solve for real inside a simulation sweep. Here a model is only the list of its
block sizes N; each training step emits one solve job per block, whose κ comes from a trajectory
model and whose sparsity d from the pruning ratio. Runs built on these shapes report simulated
time, not accuracy.

Where the numbers come from (public code UNITES-Lab/q-newton, ``approx-hessian/``, which builds
one empirical-Fisher block per ``nn.Linear`` weight and one per bias, and skips every layer with
more than ``max_number_of_params`` weights + biases):

- ``mlp``: ``models/mlp.py`` with ``sweeps/mlp-scaling.yml`` (hidden 30, 2 hidden layers,
  batch 2048, ReLU): 784→30→30→10 on the 60 000 MNIST training images.
- ``bert-tiny``: ``train-bert-tiny.py`` + ``models/utils.py`` with ``sweeps/bert-scaling.yml``
  (hidden 64, 3 layers, 4 heads, FFN 256, batch 128, wikitext-103, bert-base-uncased embeddings
  frozen behind a trainable 768→64 projector without bias); layer limit 64·256·4 + 64·4 = 65 792.
- ``mistral-tiny``: ``train-mistral-tiny.py`` with ``sweeps/mistral-scaling.yml`` (hidden 64,
  3 layers, 4 heads so head_dim 16, 1 KV head, FFN 256, batch 128, wikitext-103-raw); Mistral's
  projections have no bias; the frozen 64→32 000 ``lm_head`` exceeds the layer limit.

Steps per epoch are ``ceil(n_train / batch_size)``: those scripts loop over a PyTorch
``DataLoader`` with the default ``drop_last=False``. For the two language models ``n_train`` (the
number of 512-token sequences) is not published; the default is inferred, see
:data:`WIKITEXT103_SEQUENCES`.

Forward + backward flops per example come from each model's parameter inventory
(:class:`ParameterCounts`, :func:`flops_per_token`): an MLP example is one token, a language-model
example a 512-token sequence (``group_texts(block_size=512)`` in both scripts).

κ trajectories are clipped at the relative regularizer's bound κ ≤ 1 + N/ε_norm
(:func:`kappa_bound`, :func:`clip_kappas`): a regularized block cannot be worse conditioned than
that, whatever the trajectory model says.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from hybridsim.errors import ScenarioError

__all__ = [
    "PAPER_MODELS",
    "WIKITEXT103_SEQUENCES",
    "LM_SEQUENCE_LENGTH",
    "BlockShape",
    "ParameterCounts",
    "flops_per_token",
    "ShapeModel",
    "paper_model",
    "job_count",
    "sparsity_d",
    "KappaTrajectory",
    "Trajectory",
    "kappa_at",
    "kappa_step",
    "kappa_grid",
    "kappa_steps",
    "kappa_bound",
    "clip_kappas",
    "load_kappa_replay",
]

PAPER_MODELS: tuple[str, ...] = ("mlp", "bert-tiny", "mistral-tiny")

#: (inferred) 512-token training sequences of wikitext-103 after subword tokenization:
#: 103 227 021 training words (Merity et al., "Pointer sentinel mixture models", ICLR 2017)
#: × an assumed 1.3 subword tokens per word, / 512 tokens per sequence (``group_texts`` in the
#: Q-Newton scripts) ≈ 262 100. The true count depends on the tokenizer; pass ``n_train`` to
#: :func:`paper_model` if you know it. With batch 128 this gives 2 048 steps per epoch, and
#: 2 048 × 39 ≈ 8·10⁴ BERT-tiny jobs per epoch, the "≈ 10⁵ jobs" of the issue.
WIKITEXT103_SEQUENCES = 262_100


#: Tokens per language-model training example: ``group_texts(examples, block_size=512)`` in the
#: public BERT-tiny and Mistral-tiny scripts (docs/background/references.md#qnewton-code).
LM_SEQUENCE_LENGTH = 512


@dataclass(frozen=True)
class ParameterCounts:
    """A model's parameters by what a training step does with them, for its flop count.

    Attributes
    ----------
    trainable : int
        Parameters that receive gradients and updates (weights, biases, norms).
    frozen_matmul : int
        Frozen weights of matrix products that gradients still flow back through (a frozen
        output head above trainable layers).
    frozen_lookup : int
        Frozen embedding tables (and their norms) below every trainable layer: a gather, no
        multiply-adds, and nothing to back-propagate into.
    layers : int
        Transformer layers (0 for an MLP).
    attention_width : int
        d_attn = heads × head dimension of the queries (0 for an MLP).
    tokens : int
        Tokens per example (1 for an MLP example, the sequence length for a language model).
    """

    trainable: int
    frozen_matmul: int = 0
    frozen_lookup: int = 0
    layers: int = 0
    attention_width: int = 0
    tokens: int = 1

    @property
    def flops_per_example(self) -> int:
        """``tokens × flops_per_token(self)``."""
        return self.tokens * flops_per_token(self)


def flops_per_token(counts: ParameterCounts) -> int:
    """Forward + backward flops per token of one training example.

    ::

        6·trainable + 4·frozen_matmul + 6·layers·tokens·attention_width

    - a trainable weight costs 2 flops per token forward, 2 for the gradient of its input and 2
      for its own gradient: C ≈ 6·N per token (Kaplan et al. 2020, §2.1 and Table 1, backward ≈
      twice the forward);
    - a frozen matrix product that gradients flow through costs its forward (2) and the
      gradient of its input (2), not its weight gradient: 4 per parameter (inferred from the same
      count; charging the frozen forward alone, 2, would leave out the backward pass into the
      trainable layers below);
    - a frozen lookup table costs nothing (a gather);
    - attention scores and their weighting add 2·layers·n_ctx·d_attn forward per token
      (Kaplan et al. 2020, Table 1, "Attention: Mask"), three times that with the backward.

    Examples
    --------
    >>> flops_per_token(ParameterCounts(trainable=1000))  # an MLP example
    6000
    >>> flops_per_token(ParameterCounts(10, frozen_matmul=5, layers=2, attention_width=4, tokens=8))
    464
    """
    return (
        6 * counts.trainable
        + 4 * counts.frozen_matmul
        + 6 * counts.layers * counts.tokens * counts.attention_width
    )


@dataclass(frozen=True)
class BlockShape:
    """One curvature block of a paper-scale model: a name and its size N (an N×N matrix)."""

    name: str
    n: int

    def __post_init__(self) -> None:
        if int(self.n) < 1:
            raise ValueError(f"block {self.name!r}: n must be >= 1, got {self.n}")


@dataclass(frozen=True)
class ShapeModel:
    """A paper-scale model as metadata only.

    Attributes
    ----------
    name : str
    blocks : tuple of BlockShape
        In the order the public code visits them (``model.named_modules()``, weight then bias).
    steps_per_epoch : int
    batch_size : int
    note : str
        Sources and what was inferred.
    n_train : int
        Training examples (images or 512-token sequences) per epoch.
    eps_norm : float
        The code's default ``normalization_epsilon`` for this model (5e-3 MLP, 1 BERT/Mistral).
    params : ParameterCounts, optional
        The parameter inventory behind :attr:`flops_per_example`; None means every block's
        parameter is trainable and an example is one token.
    """

    name: str
    blocks: tuple[BlockShape, ...]
    steps_per_epoch: int
    batch_size: int
    note: str
    n_train: int = 0
    eps_norm: float = 5e-3
    params: ParameterCounts | None = None

    @property
    def flops_per_example(self) -> int:
        """Forward + backward flops of one training example (see :func:`flops_per_token`)."""
        counts = self.params or ParameterCounts(trainable=sum(b.n for b in self.blocks))
        return counts.flops_per_example

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    @property
    def block_sizes(self) -> tuple[int, ...]:
        return tuple(b.n for b in self.blocks)


def _linear(prefix: str, n_in: int, n_out: int, bias: bool = True) -> list[BlockShape]:
    out = [BlockShape(f"{prefix}.weight", n_in * n_out)]
    if bias:
        out.append(BlockShape(f"{prefix}.bias", n_out))
    return out


def _mlp_blocks() -> list[BlockShape]:
    return (
        _linear("fc_layers.0", 784, 30) + _linear("fc_layers.1", 30, 30) + _linear("fc_out", 30, 10)
    )


def _bert_tiny_blocks(hidden: int = 64, layers: int = 3, ffn: int = 256) -> list[BlockShape]:
    blocks = _linear("bert.embeddings.projector", 768, hidden, bias=False)
    for i in range(layers):
        p = f"bert.encoder.layer.{i}"
        for name in ("query", "key", "value"):
            blocks += _linear(f"{p}.attention.self.{name}", hidden, hidden)
        blocks += _linear(f"{p}.attention.output.dense", hidden, hidden)
        blocks += _linear(f"{p}.intermediate.dense", hidden, ffn)
        blocks += _linear(f"{p}.output.dense", ffn, hidden)
    # (inferred) BertForMaskedLM's head transform is a hidden×hidden Linear with bias, under the
    # layer limit, so the code builds its blocks too (docs/background/references.md#qnewton-shapes
    # marks it inferred). The decoder (64 × 30 522) exceeds the limit and is skipped.
    blocks += _linear("cls.predictions.transform.dense", hidden, hidden)
    return blocks


def _mistral_tiny_blocks(
    hidden: int = 64, layers: int = 3, heads: int = 4, kv_heads: int = 1, ffn: int = 256
) -> list[BlockShape]:
    kv = hidden // heads * kv_heads
    blocks: list[BlockShape] = []
    for i in range(layers):
        p = f"model.layers.{i}"
        blocks += _linear(f"{p}.self_attn.q_proj", hidden, hidden, bias=False)
        blocks += _linear(f"{p}.self_attn.k_proj", hidden, kv, bias=False)
        blocks += _linear(f"{p}.self_attn.v_proj", hidden, kv, bias=False)
        blocks += _linear(f"{p}.self_attn.o_proj", hidden, hidden, bias=False)
        blocks += _linear(f"{p}.mlp.gate_proj", hidden, ffn, bias=False)
        blocks += _linear(f"{p}.mlp.up_proj", hidden, ffn, bias=False)
        blocks += _linear(f"{p}.mlp.down_proj", ffn, hidden, bias=False)
    return blocks


def _mlp_counts() -> ParameterCounts:
    # 784→30→30→10 with biases, all trainable: the blocks are every parameter.
    return ParameterCounts(trainable=sum(b.n for b in _mlp_blocks()))


#: bert-base-uncased's vocabulary and width (the scripts' ``pretrained_embedding_name_or_path``).
BERT_VOCAB, BERT_BASE_HIDDEN = 30_522, 768
#: mistralai/Mistral-7B-v0.1's vocabulary (the scripts' ``pretrained_model_name``).
MISTRAL_VOCAB = 32_000


def _bert_tiny_counts(hidden: int = 64, layers: int = 3, ffn: int = 256) -> ParameterCounts:
    norm = 2 * hidden  # LayerNorm weight and bias
    per_layer = (
        4 * (hidden * hidden + hidden)  # Q, K, V, attention output dense
        + norm  # attention output LayerNorm
        + hidden * ffn
        + ffn  # intermediate dense
        + ffn * hidden
        + hidden  # output dense
        + norm  # output LayerNorm
    )
    trainable = (
        BERT_BASE_HIDDEN * hidden  # embeddings.projector, no bias (the only trainable embedding)
        + layers * per_layer
        + hidden * hidden
        + hidden
        + norm  # MLM head transform dense + LayerNorm
        # (inferred) decoder 64 × vocab and its bias: BertForMaskedLM ties the decoder to the
        # 64-wide word embedding it is built with; the script then replaces the embeddings
        # module by the frozen pretrained 768-wide one, so the decoder keeps a trainable matrix
        # of its own.
        + hidden * BERT_VOCAB
        + BERT_VOCAB
    )
    frozen_lookup = BERT_BASE_HIDDEN * (BERT_VOCAB + LM_SEQUENCE_LENGTH + 2) + 2 * BERT_BASE_HIDDEN
    return ParameterCounts(
        trainable=trainable,
        frozen_lookup=frozen_lookup,  # word, position, token-type embeddings and their LayerNorm
        layers=layers,
        attention_width=hidden,  # 4 heads × 16
        tokens=LM_SEQUENCE_LENGTH,
    )


def _mistral_tiny_counts(
    hidden: int = 64, layers: int = 3, heads: int = 4, kv_heads: int = 1, ffn: int = 256
) -> ParameterCounts:
    kv = hidden // heads * kv_heads
    per_layer = (
        2 * hidden * hidden  # q_proj, o_proj (no biases)
        + 2 * hidden * kv  # k_proj, v_proj
        + 3 * hidden * ffn  # gate, up, down
        + 2 * hidden  # input and post-attention RMSNorm weights
    )
    return ParameterCounts(
        trainable=layers * per_layer + hidden,  # + the final RMSNorm
        frozen_matmul=hidden * MISTRAL_VOCAB,  # lm_head, frozen, above every trainable layer
        frozen_lookup=MISTRAL_VOCAB * hidden,  # embed_tokens, frozen
        layers=layers,
        attention_width=hidden,  # 4 query heads × 16
        tokens=LM_SEQUENCE_LENGTH,
    )


_COUNTS = {"mlp": _mlp_counts, "bert-tiny": _bert_tiny_counts, "mistral-tiny": _mistral_tiny_counts}

_PAPER = {
    # name: (blocks, default batch, default n_train, eps_norm, note)
    "mlp": (
        _mlp_blocks,
        2048,
        60_000,
        5e-3,
        "Q-Newton MLP-30 on MNIST (approx-hessian/qnewton/models/mlp.py, sweeps/mlp-scaling.yml):"
        " 784->30->30->10 ReLU, one block per weight and bias; 60000 training images; "
        "steps/epoch = ceil(n_train/batch) (DataLoader drop_last=False).",
    ),
    "bert-tiny": (
        _bert_tiny_blocks,
        128,
        WIKITEXT103_SEQUENCES,
        1.0,
        "Q-Newton BERT-tiny (train-bert-tiny.py, sweeps/bert-scaling.yml): hidden 64, 3 layers, "
        "FFN 256; blocks: projector 768x64 (no bias), per layer Q/K/V/O 4096 (+64 biases), FFN "
        "16384 x2 (+256, +64 biases), MLM head transform 4096 (+64) (inferred from "
        "BertForMaskedLM); decoder skipped by the code's size limit. n_train inferred "
        "(wikitext-103 words x 1.3 tokens/word / 512).",
    ),
    "mistral-tiny": (
        _mistral_tiny_blocks,
        128,
        WIKITEXT103_SEQUENCES,
        1.0,
        "Q-Newton Mistral-tiny (train-mistral-tiny.py, sweeps/mistral-scaling.yml): hidden 64, "
        "3 layers, 4 heads, 1 KV head, FFN 256, no biases; per layer q/o 4096, k/v 1024, "
        "gate/up/down 16384; lm_head skipped by the code's size limit. n_train inferred "
        "(wikitext-103 words x 1.3 tokens/word / 512).",
    ),
}


def paper_model(
    name: str, *, batch_size: int | None = None, n_train: int | None = None
) -> ShapeModel:
    """Block list and epoch length of one of the Q-Newton paper's models.

    Parameters
    ----------
    name : {"mlp", "bert-tiny", "mistral-tiny"}
    batch_size : int, optional
        Default: the public sweeps' value (2048 MLP, 128 BERT/Mistral).
    n_train : int, optional
        Training examples per epoch. Default: 60 000 (MNIST) or :data:`WIKITEXT103_SEQUENCES`
        (inferred) for the language models.

    Returns
    -------
    ShapeModel
        ``steps_per_epoch = ceil(n_train / batch_size)``.

    Examples
    --------
    >>> m = paper_model("mlp")
    >>> m.block_sizes, m.steps_per_epoch
    ((23520, 30, 900, 30, 300, 10), 30)
    >>> paper_model("bert-tiny").n_blocks, paper_model("mistral-tiny").n_blocks
    (39, 21)
    """
    if name not in _PAPER:
        raise ValueError(f"unknown paper model {name!r}; expected one of {', '.join(PAPER_MODELS)}")
    make, default_batch, default_n, eps_norm, note = _PAPER[name]
    batch = default_batch if batch_size is None else int(batch_size)
    n = default_n if n_train is None else int(n_train)
    if batch < 1 or n < 1:
        raise ValueError("batch_size and n_train must be >= 1")
    return ShapeModel(
        name=name,
        blocks=tuple(make()),
        steps_per_epoch=-(-n // batch),
        batch_size=batch,
        note=note,
        n_train=n,
        eps_norm=eps_norm,
        params=_COUNTS[name](),
    )


def job_count(model: ShapeModel, epochs: int = 1) -> int:
    """Solve jobs a run emits: steps per epoch × epochs × blocks per step.

    Examples
    --------
    >>> job_count(paper_model("mlp"), epochs=50)  # the mlp-scaling sweep's 50 epochs
    9000
    """
    if epochs < 0:
        raise ValueError("epochs must be >= 0")
    return model.steps_per_epoch * int(epochs) * len(model.blocks)


def sparsity_d(n: int, prune_ratio: float) -> int:
    """Row sparsity d after the code's pruning: ``max(1, floor(prune_ratio · n))``.

    The Q-Newton code keeps ``floor(quantum_sparsity_ratio · N)`` entries per row
    (approx-hessian ``hessian.py``); we floor at 1 (the code would keep none) and round the
    product to 9 decimals first so that e.g. 0.29·100 gives 29, not the 28 of a float artifact.
    ``prune_ratio = 1`` means dense, d = N. (The symmetrized mask of ``linalg.shaping`` can give
    a larger d than this row count; this is the model for metadata-only runs.)

    Examples
    --------
    >>> sparsity_d(23520, 0.025), sparsity_d(10, 0.01), sparsity_d(100, 0.29)
    (588, 1, 29)
    """
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0.0 < prune_ratio <= 1.0:
        raise ValueError(f"prune_ratio must be in (0, 1], got {prune_ratio!r}")
    return max(1, math.floor(round(int(n) * prune_ratio, 9)))


# --------------------------------------------------------------------------------------------
# κ trajectories


@dataclass(frozen=True)
class KappaTrajectory:
    """How the condition number of each block evolves over a metadata-only run.

    Attributes
    ----------
    kind : {"geometric", "replay"}
        ``"geometric"``: the median falls geometrically from ``kappa_start`` to
        ``kappa_start / total_drop`` over the run (the paper's claim: κ drops about 1000× during
        training). ``"replay"``: the median follows ``values`` (e.g. a real run's
        ``steps.csv`` column, see :func:`load_kappa_replay`), stretched onto the run's length by
        log-linear interpolation.
    kappa_start : float, optional
        Median κ at step 0 (geometric; required there, >= 1).
    total_drop : float
        Ratio of first to last median (geometric; >= 1).
    scatter_sigma : float
        Per-block, per-step lognormal scatter: κ = median·exp(σ·z), z ~ N(0, 1) drawn from the
        caller's Generator. The median is preserved (not the mean). 0 = no scatter.
    values : tuple
        Replay medians: a flat tuple (shared by all blocks) or a tuple of per-step tuples
        (one value per block).

    Notes
    -----
    Every κ is floored at 1 (κ₂ ≥ 1 for any matrix). The trajectory's shape is a modelling
    choice (inferred): the paper reports only the overall ~1000× drop.
    """

    kind: Literal["geometric", "replay"] = "geometric"
    kappa_start: float | None = None
    total_drop: float = 1000.0
    scatter_sigma: float = 0.0
    values: tuple = ()

    def __post_init__(self) -> None:
        if self.kind == "geometric":
            if self.kappa_start is None or not self.kappa_start >= 1.0:
                raise ValueError("a geometric trajectory needs kappa_start >= 1")
            if not self.total_drop >= 1.0:
                raise ValueError(f"total_drop must be >= 1, got {self.total_drop!r}")
        elif self.kind == "replay":
            arr = np.asarray(self.values, dtype=np.float64)
            if arr.size == 0 or arr.ndim not in (1, 2):
                raise ValueError("a replay trajectory needs a non-empty 1-D or 2-D values tuple")
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                raise ValueError("replay values must be finite and > 0")
            # Normalize to nested tuples of floats so the record is hashable and immutable.
            if arr.ndim == 1:
                vals: tuple = tuple(map(float, arr))
            else:
                vals = tuple(tuple(map(float, r)) for r in arr)
            object.__setattr__(self, "values", vals)
        else:
            raise ValueError(f"unknown trajectory kind {self.kind!r}; expected geometric or replay")
        if not self.scatter_sigma >= 0.0:
            raise ValueError(f"scatter_sigma must be >= 0, got {self.scatter_sigma!r}")


class Trajectory(Protocol):
    """What the κ functions read of a trajectory: a :class:`KappaTrajectory`, or a scenario's
    ``[workload.kappa]`` section (:class:`hybridsim.scenario.KappaModel`, validated when the
    scenario was loaded, so a run uses it as it is)."""

    @property
    def kind(self) -> str: ...

    @property
    def kappa_start(self) -> float | None: ...

    @property
    def total_drop(self) -> float: ...

    @property
    def scatter_sigma(self) -> float: ...

    @property
    def values(self) -> tuple | None: ...


def _median_row(traj: Trajectory, step: int, n_steps: int, n_blocks: int) -> np.ndarray:
    """Median κ of every block at one step, shape (n_blocks,)."""
    if n_steps < 1 or not 0 <= step < n_steps:
        raise ValueError(f"need 0 <= step < n_steps, got step={step}, n_steps={n_steps}")
    frac = step / (n_steps - 1) if n_steps > 1 else 0.0
    if traj.kind == "geometric":
        med = traj.kappa_start * traj.total_drop ** (-frac)
        return np.full(n_blocks, med)
    arr = np.asarray(traj.values, dtype=np.float64)
    pos = frac * (arr.shape[0] - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, arr.shape[0] - 1)
    w = pos - lo
    row = np.exp((1.0 - w) * np.log(arr[lo]) + w * np.log(arr[hi]))
    if arr.ndim == 1:
        return np.full(n_blocks, float(row))
    if n_blocks > arr.shape[1]:
        raise ValueError(f"replay values have {arr.shape[1]} blocks, {n_blocks} requested")
    return row[:n_blocks]


def _scatter(traj: Trajectory, med: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    if traj.scatter_sigma > 0.0:
        if rng is None:
            raise ValueError("scatter_sigma > 0 needs a numpy Generator")
        med = med * np.exp(traj.scatter_sigma * rng.standard_normal(med.shape))
    return np.maximum(med, 1.0)


def kappa_at(
    traj: Trajectory,
    step: int,
    n_steps: int,
    block_index: int,
    rng: np.random.Generator | None = None,
) -> float:
    """κ of one block at one step (0-based, ``step < n_steps``).

    Draws one standard normal from ``rng`` when ``scatter_sigma > 0`` (none otherwise), so
    calling this for every block of every step in step-major order gives exactly
    :func:`kappa_grid` with the same Generator. ``block_index`` selects the column of per-block
    replay values; geometric medians are the same for every block.

    Examples
    --------
    >>> t = KappaTrajectory("geometric", kappa_start=1e4, total_drop=1000.0)
    >>> kappa_at(t, 0, 11, 0), round(kappa_at(t, 10, 11, 0), 9)
    (10000.0, 10.0)
    """
    if block_index < 0:
        raise ValueError("block_index must be >= 0")
    med = _median_row(traj, step, n_steps, block_index + 1)[block_index : block_index + 1]
    return float(_scatter(traj, med, rng)[0])


def kappa_step(
    traj: Trajectory,
    step: int,
    n_steps: int,
    n_blocks: int,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """κ of blocks ``0 .. n_blocks-1`` at one step (vectorized :func:`kappa_at`)."""
    return _scatter(traj, _median_row(traj, step, n_steps, n_blocks), rng)


def kappa_steps(
    traj: Trajectory,
    first: int,
    count: int,
    n_steps: int,
    n_blocks: int,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """κ of every block at steps ``first … first + count - 1``, shape ``(count, n_blocks)``.

    Row i is :func:`kappa_step` at ``first + i``, bit for bit, and the Generator ends in the same
    state as after those ``count`` calls: the normals are drawn at once (a Generator's draws of
    shape (count, n_blocks) are its next count·n_blocks normals in order) and each row is then
    scattered with the same operations on the same shapes as :func:`kappa_step`. What a
    workload that needs many steps ahead (to price them in one vectorized call) uses.

    Examples
    --------
    >>> import numpy as np
    >>> t = KappaTrajectory("geometric", kappa_start=1e3, scatter_sigma=0.5)
    >>> a, b = np.random.default_rng(0), np.random.default_rng(0)
    >>> ahead = kappa_steps(t, 2, 3, 10, 4, a)
    >>> all((ahead[i] == kappa_step(t, 2 + i, 10, 4, b)).all() for i in range(3))
    True
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if n_blocks < 1:
        raise ValueError("n_blocks must be >= 1")
    meds = [_median_row(traj, first + i, n_steps, n_blocks) for i in range(count)]
    if traj.scatter_sigma > 0.0:
        if rng is None:
            raise ValueError("scatter_sigma > 0 needs a numpy Generator")
        z = rng.standard_normal((count, n_blocks))
        rows = [med * np.exp(traj.scatter_sigma * z[i]) for i, med in enumerate(meds)]
    else:
        rows = meds
    out = np.empty((count, n_blocks))
    for i, row in enumerate(rows):
        out[i] = np.maximum(row, 1.0)
    return out


def kappa_grid(
    traj: Trajectory,
    n_steps: int,
    n_blocks: int,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """κ for a whole run, shape ``(n_steps, n_blocks)``; row t equals :func:`kappa_step` at t.

    Examples
    --------
    >>> import numpy as np
    >>> t = KappaTrajectory("geometric", kappa_start=1e3, scatter_sigma=0.5)
    >>> kappa_grid(t, 5, 3, np.random.default_rng(0)).shape
    (5, 3)
    """
    if n_blocks < 1:
        raise ValueError("n_blocks must be >= 1")
    med = np.stack([_median_row(traj, s, n_steps, n_blocks) for s in range(n_steps)])
    return _scatter(traj, med, rng)


def kappa_bound(n, eps_norm: float):
    """Largest κ of a regularized PSD block of size N: ``1 + N/ε_norm``.

    The relative regularizer H + ε_norm·(max|H| + damping)·I of a PSD block gives
    κ = 1 + λ_max/(ε_norm·max|H|) and λ_max ≤ N·max|H| (Gershgorin), so κ ≤ 1 + N/ε_norm
    (docs/background/references.md#singular-psd-kappa; the same formula as
    :func:`hybridsim.linalg.shaping.regularized_kappa_singular_psd` at its largest λ_max).

    Examples
    --------
    >>> kappa_bound(64, 1.0), kappa_bound(10, 5e-3)
    (65.0, 2001.0)
    """
    if not eps_norm > 0:
        raise ValueError(f"eps_norm must be > 0, got {eps_norm!r}")
    n = np.asarray(n, dtype=np.float64)
    if np.any(n < 1):
        raise ValueError("block sizes must be >= 1")
    out = 1.0 + n / float(eps_norm)
    return float(out) if out.ndim == 0 else out


def clip_kappas(kappas, bounds) -> tuple[np.ndarray, int]:
    """κ clipped to each block's bound (see :func:`kappa_bound`), and how many were clipped.

    Examples
    --------
    >>> k, n = clip_kappas([1e5, 10.0, 3e3], kappa_bound([64, 64, 4096], 1.0))
    >>> k.tolist(), n
    ([65.0, 10.0, 3000.0], 1)
    """
    k = np.asarray(kappas, dtype=np.float64)
    b = np.broadcast_to(np.asarray(bounds, dtype=np.float64), k.shape)
    over = k > b
    return np.where(over, b, k), int(np.count_nonzero(over))


def load_kappa_replay(path: str | Path, column: str = "kappa_true_median") -> tuple[float, ...]:
    """Read a κ column of a real run's ``steps.csv`` for a ``"replay"`` trajectory.

    Empty cells (steps where κ was not computed) are skipped; anything else must parse as a
    positive finite number.

    Examples
    --------
    ``KappaTrajectory("replay", values=load_kappa_replay("out/steps.csv", "kappa_est_median"))``

    Raises
    ------
    ScenarioError
        Missing file or column, bad value, or no values at all.
    """
    path = Path(path)
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            if column not in fields:
                raise ScenarioError(
                    str(path), column, "column not found", "one of " + ", ".join(fields)
                )
            values = []
            for line, row in enumerate(reader, start=2):
                cell = (row.get(column) or "").strip()
                if not cell:
                    continue
                try:
                    v = float(cell)
                except ValueError:
                    v = float("nan")
                if not (math.isfinite(v) and v > 0):
                    raise ScenarioError(
                        str(path), column, f"line {line}: bad value {cell!r}", "a number > 0"
                    )
                values.append(v)
    except OSError as exc:
        raise ScenarioError(str(path), "", f"cannot read file ({exc.strerror})") from exc
    if not values:
        raise ScenarioError(str(path), column, "no values", "at least one κ value")
    return tuple(values)
