"""What would change the conclusion: the smallest sets of improvements under which a block wins.

An :class:`Improvement` changes one thing of the closed-form comparison (a :class:`Setting`: the
QPU's accounting, the QPU's device spec, the target error ε): co-locate the QPU with the GPU,
read the answer out more cheaply, load the matrix with fewer gates, measure and reset faster...
:func:`search` applies every subset of a list of improvements, smallest subsets first, and
reports which blocks then break even against the best classical method at the QPU's own gate
time (:func:`hybridsim.analysis.blocks.break_even_rows`). The *cheapest* sets are the subsets of
the smallest size under which some block breaks even (:func:`cheapest`).

Examples
--------
>>> import dataclasses
>>> from hybridsim.analysis.blocks import Block
>>> from hybridsim.costs.specs import GpuSpec, QpuSpec
>>> gpu = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=2e12)
>>> qpu = QpuSpec(gate_time_1q_s=1e-18, gate_time_2q_s=1e-18, measure_time_s=1.56e-6,
...               reset_time_s=2.5e-4, max_shots_per_job=10**5, link_latency_s=1e-3)
>>> base = Setting("full", qpu, 0.01)
>>> quiet = Improvement("no readout", "the output stays a quantum state",
...                     lambda s: s.with_accounting(readout="none"))
>>> near = Improvement("co-located", "no link", lambda s: s.with_accounting(
...     charge_transfer=False, charge_link_latency=False))
>>> found = search([Block("b", 10, 10, 20.0)], base, [quiet, near], gpu=gpu)
>>> [(o.names, o.blocks) for o in cheapest(found)]
[(('no readout', 'co-located'), ('b',))]
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hybridsim.analysis.blocks import Block, break_even_rows

__all__ = ["Setting", "Improvement", "Outcome", "search", "cheapest", "STANDARD"]


@dataclass(frozen=True, slots=True)
class Setting:
    """What the closed-form comparison charges a QPU solve.

    Attributes
    ----------
    accounting : str or Accounting
        :data:`hybridsim.costs.quantum.ACCOUNTING` name or a custom record.
    qpu : QpuSpec
    eps : float
        QLSA target error.
    """

    accounting: Any
    qpu: Any
    eps: float

    def with_accounting(self, **changes: Any) -> Setting:
        """This setting with fields of its accounting replaced (a named preset is resolved)."""
        from hybridsim.costs.quantum import _accounting

        acc = _accounting(self.accounting)
        name = acc.name if acc.name.endswith("+") else acc.name + "+"
        return dataclasses.replace(self, accounting=dataclasses.replace(acc, name=name, **changes))

    def with_qpu(self, **changes: Any) -> Setting:
        """This setting with fields of its QPU spec replaced."""
        return dataclasses.replace(self, qpu=dataclasses.replace(self.qpu, **changes))


@dataclass(frozen=True)
class Improvement:
    """One change to a :class:`Setting`.

    Attributes
    ----------
    name : str
        Short name (table cells).
    description : str
        What it means in hardware or algorithm terms.
    apply : callable
        ``Setting -> Setting``.
    """

    name: str
    description: str
    apply: Callable[[Setting], Setting]


#: The improvements the Q-Newton study searches over: hardware (co-location, faster measurement
#: and reset), algorithm (a looser target, an ideal QRAM) and the one that needs an algorithm
#: that does not exist (an answer used without reading it out).
STANDARD = (
    Improvement(
        "co-located",
        "the QPU next to the GPU: no transfers, no link latency",
        lambda s: s.with_accounting(charge_transfer=False, charge_link_latency=False),
    ),
    Improvement(
        "fast readout",
        "measurement and reset 1000× faster",
        lambda s: s.with_qpu(
            measure_time_s=s.qpu.measure_time_s / 1e3, reset_time_s=s.qpu.reset_time_s / 1e3
        ),
    ),
    Improvement(
        "looser ε",
        "a 10× looser target error ε (fewer readout runs and queries)",
        lambda s: dataclasses.replace(s, eps=min(0.24, 10 * s.eps)),
    ),
    Improvement(
        "cheap loading",
        "one gate per matrix query instead of a QROM (an ideal QRAM)",
        lambda s: s.with_accounting(oracle="unit"),
    ),
    Improvement(
        "no readout",
        "the answer used as a quantum state, never read out (the Newton update needs the whole "
        "vector: an algorithm that does not exist yet)",
        lambda s: s.with_accounting(readout="none"),
    ),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One subset of improvements and what it buys.

    Attributes
    ----------
    names : tuple of str
        The improvements applied, in the order given to :func:`search`.
    blocks : tuple of str
        Names of the blocks that then break even against the best classical method.
    margin : float
        The largest ratio, over blocks, of the break-even gate time to the QPU's gate time
        (≥ 1 for a block that breaks even; 0 when no gate time suffices for any block).
    """

    names: tuple[str, ...]
    blocks: tuple[str, ...]
    margin: float


def search(
    blocks: Sequence[Block],
    base: Setting,
    improvements: Sequence[Improvement],
    *,
    gpu: Any,
    max_size: int | None = None,
    **kwargs: Any,
) -> list[Outcome]:
    """Every subset of ``improvements`` (up to ``max_size``), smallest first, and its outcome.

    A block breaks even when its break-even gate time against the best classical method is at
    least the QPU's two-qubit gate time in the improved setting. ``kwargs`` go to
    :func:`~hybridsim.analysis.blocks.break_even_rows` (``clamp``, ``algorithm``...).
    """
    import math

    top = len(improvements) if max_size is None else max_size
    out = []
    for k in range(top + 1):
        for subset in itertools.combinations(improvements, k):
            s = base
            for imp in subset:
                s = imp.apply(s)
            rows = break_even_rows(
                blocks, s.eps, accounting=s.accounting, gpu=gpu, qpu=s.qpu, **kwargs
            )
            gate = s.qpu.gate_time_2q_s
            ratios = [r.gate_time_s["best"] / gate for r in rows]
            wins = tuple(r.block.name for r, x in zip(rows, ratios, strict=True) if x >= 1.0)
            finite = [x for x in ratios if math.isfinite(x)]
            out.append(Outcome(tuple(i.name for i in subset), wins, max(finite, default=0.0)))
    return out


def cheapest(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The outcomes of the smallest size under which some block breaks even (empty if none)."""
    winning = [o for o in outcomes if o.blocks]
    if not winning:
        return []
    k = min(len(o.names) for o in winning)
    return [o for o in winning if len(o.names) == k]
