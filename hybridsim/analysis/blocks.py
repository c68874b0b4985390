"""The blocks of a workload as closed-form inputs, and break-even tables against every method.

A :class:`Block` is what the closed-form models need of a curvature block: its size N, the row
sparsity d the QPU's oracle sees (after pruning), a κ, and the width r of its low-rank factor
(block = U·Uᵀ + c·I with U of shape N×r; r is the batch size for a per-example empirical
Fisher). :func:`shape_blocks` lists a paper-scale model's distinct block shapes from its scenario;
:func:`run_blocks` summarizes a training run's blocks from its job records. :func:`break_even_rows`
then gives, per block, the break-even gate time of a QPU against each classical method and
against the best one (:func:`hybridsim.costs.breakeven.break_even_by_method`), compared as the
simulator compares the routes: the GPU solves the unpruned block from its structure, and the QPU
must first form (and prune) it on the GPU.

Examples
--------
>>> import hybridsim
>>> from hybridsim.analysis.blocks import shape_blocks
>>> sc = hybridsim.load_scenario("scenarios/paper-bert-tiny.toml")
>>> [(b.n, b.d, b.count) for b in shape_blocks(sc)][:2]
[(49152, 4915, 1), (16384, 1638, 6)]
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hybridsim.records import JobRecord

__all__ = [
    "break_even_table",
    "Block",
    "shape_blocks",
    "run_blocks",
    "device_specs",
    "BlockBreakEven",
    "break_even_rows",
]


@dataclass(frozen=True, slots=True)
class Block:
    """One curvature block shape of a workload.

    Attributes
    ----------
    name : str
        The (first) block of this shape.
    n, d : int
        Size and row sparsity of the QPU's matrix (pruned: d ≤ n).
    kappa : float
        Condition number used by the cost models.
    rank : int or None
        Width r of the block's factor (None: only the dense block exists).
    count : int
        Blocks of the workload with this shape (per training step).
    """

    name: str
    n: int
    d: int
    kappa: float
    rank: int | None = None
    count: int = 1


def shape_blocks(scenario: Any, kappa: float | None = None) -> list[Block]:
    """The distinct block shapes of a ``workload.kind = "shapes"`` scenario, largest first.

    Parameters
    ----------
    scenario : Scenario
    kappa : float, optional
        κ of every block; default the end of the scenario's κ trajectory (``start /
        total_drop``). Either way clipped at 1 + N/ε_norm, as the workload clips it.

    Returns
    -------
    list of Block
        d = max(1, ⌊prune_ratio·N⌋) (:func:`hybridsim.workload.shapes.sparsity_d`), rank = the
        batch size, ``count`` the blocks of that shape.
    """
    from hybridsim.workload.shapes import kappa_bound, paper_model, sparsity_d

    wl = scenario.workload
    model = paper_model(wl.model, batch_size=getattr(wl, "batch_size", None))
    eps_norm = wl.eps_norm if getattr(wl, "eps_norm", None) is not None else model.eps_norm
    k = kappa if kappa is not None else wl.kappa.start / wl.kappa.total_drop
    counts = Counter(b.n for b in model.blocks)
    first: dict[int, str] = {}
    for b in model.blocks:
        first.setdefault(b.n, b.name)
    return [
        Block(
            first[n],
            n,
            sparsity_d(n, wl.prune_ratio),
            float(min(k, kappa_bound(n, eps_norm))),
            model.batch_size,
            counts[n],
        )
        for n in sorted(counts, reverse=True)
    ]


def run_blocks(jobs: Iterable[JobRecord], rank: int | None = None) -> list[Block]:
    """The blocks of a training run from its job records, largest first.

    Each block's d and κ are the medians over the run's solves of it (κ: the true κ where the
    run computed it, else the estimate); ``rank`` is the factor width to attach (the batch size
    for empirical-Fisher blocks, capped at N), or None.
    """
    from hybridsim.analysis.records import by_block

    out = []
    for name, js in by_block(jobs).items():
        ks = [j.kappa_true for j in js if j.kappa_true is not None and math.isfinite(j.kappa_true)]
        if not ks:
            ks = [j.kappa_est for j in js if j.kappa_est is not None and math.isfinite(j.kappa_est)]
        n = js[0].n
        out.append(
            Block(
                name,
                n,
                int(statistics.median(j.d for j in js)),
                float(statistics.median(ks)) if ks else math.nan,
                None if rank is None else min(rank, n),
                1,
            )
        )
    return out


def device_specs(scenario: Any) -> tuple[Any, Any]:
    """The (GpuSpec, QpuSpec) of a scenario's first GPU and first QPU group."""
    from hybridsim.costs.specs import GpuSpec, QpuSpec

    gpu = next(g for g in scenario.cluster.groups if g.kind == "gpu")
    qpu = next(g for g in scenario.cluster.groups if g.kind == "qpu")
    return GpuSpec.from_group(gpu), QpuSpec.from_group(qpu)


@dataclass(frozen=True, slots=True)
class BlockBreakEven:
    """Break-even gate times of one block against each classical method.

    Attributes
    ----------
    block : Block
    accounting : str
    gate_time_s : dict
        Method name (and ``"best"``) → t* in seconds (NaN: no gate time suffices).
    classical_s : dict
        Method name (and ``"best"``) → the GPU's time for the block.
    best_method : str
        The cheapest applicable method.
    quantum_fixed_s : float
        The QPU's time that does not scale with the gate time (readout, link, forming the block).
    gate_equivalents : float
        QPU time per second of gate time.
    """

    block: Block
    accounting: str
    gate_time_s: Mapping[str, float] = field(default_factory=dict)
    classical_s: Mapping[str, float] = field(default_factory=dict)
    best_method: str = ""
    quantum_fixed_s: float = math.nan
    gate_equivalents: float = math.nan

    def breaks_even_at(self, gate_time_s: float, method: str = "best") -> bool:
        """Whether a QPU with this gate time is at least as fast as ``method``."""
        t = self.gate_time_s.get(method, math.nan)
        return math.isfinite(t) and t >= gate_time_s


def break_even_rows(
    blocks: Sequence[Block],
    eps: float,
    *,
    accounting: Any,
    gpu: Any,
    qpu: Any,
    assembled: bool = False,
    **kwargs: Any,
) -> list[BlockBreakEven]:
    """:class:`BlockBreakEven` for every block (closed form).

    Parameters
    ----------
    blocks : sequence of Block
    eps : float
        QLSA target error (and CG tolerance).
    accounting : str or Accounting
        What the QPU is charged (:data:`hybridsim.costs.quantum.ACCOUNTING`).
    gpu, qpu : GpuSpec, QpuSpec
        The devices (:func:`device_specs`).
    assembled : bool
        Whether the dense block exists before the decision (a κ estimator formed it). Default
        False: the dense methods and the QPU must form it; Woodbury and matrix-free CG never do.
    **kwargs
        Passed to :func:`hybridsim.costs.breakeven.break_even_by_method` (``algorithm``,
        ``gate_time_ratio_1q``, ``clamp``...).
    """
    from hybridsim.costs.breakeven import break_even_by_method
    from hybridsim.costs.quantum import _accounting

    acc_name = _accounting(accounting).name
    rows = []
    for b in blocks:
        has_factor = b.rank is not None
        res = break_even_by_method(
            float(b.n),
            float(b.d),
            float(b.kappa),
            eps,
            accounting=accounting,
            gpu=gpu,
            qpu=qpu,
            rank=b.rank,
            assembled=assembled or not has_factor,
            classical_d=float(b.n),
            **kwargs,
        )
        best = res["best"]
        rows.append(
            BlockBreakEven(
                b,
                acc_name,
                {m: float(r.gate_time_s) for m, r in res.items()},
                {m: float(r.classical_s) for m, r in res.items()},
                str(best.method),
                float(best.quantum_fixed_s),
                float(best.gate_equivalents),
            )
        )
    return rows


def break_even_table(
    blocks: Sequence[Block], scenario: Any, accounting: Any, **kwargs: Any
) -> list[dict[str, Any]]:
    """:func:`break_even_rows` on a scenario's devices and ε, as plain dicts (a results file's
    rows: ``block``, ``gate_time_s``, ``classical_s``, ``best_method``, ``quantum_fixed_s``).

    ``kwargs`` go to :func:`break_even_rows` (``clamp``, ``assembled``...).
    """
    from dataclasses import asdict

    gpu, qpu = device_specs(scenario)
    rows = break_even_rows(
        blocks, scenario.costs.epsilon, accounting=accounting, gpu=gpu, qpu=qpu, **kwargs
    )
    return [
        {
            "block": asdict(r.block),
            "gate_time_s": dict(r.gate_time_s),
            "classical_s": dict(r.classical_s),
            "best_method": r.best_method,
            "quantum_fixed_s": r.quantum_fixed_s,
        }
        for r in rows
    ]
