"""Fault-tolerant resources of a workload's blocks, and the hardware at which a block breaks even.

For each :class:`~hybridsim.analysis.blocks.Block`, :func:`ft_rows` takes the logical counts of one
solve (:func:`hybridsim.costs.logical.qlsa_logical_counts`: the algorithm's queries per run under
an oracle model, times the runs the readout needs over the success probability) and estimates its
physical resources on each qubit model (:func:`hybridsim.costs.ft.estimate`, the Azure model of
Beverland et al.; docs/background/fault-tolerance.md): code distance, physical qubits (algorithm
and T factories) and runtime.

:func:`ft_break_even` asks the converse: at a physical error rate p, how fast must the hardware's
operations be for one fault-tolerant solve to take no longer than the best classical method?
It builds a gate-based qubit model with every error rate p and the operation times of a base
model scaled by a factor f. At fixed p the code distance, the layout and the factory plan do not
depend on f (the factories keep pace with the algorithm in units of its own cycle), so the
runtime is exactly proportional to f and the break-even factor is ``f* = classical_s /
runtime(p, f = 1)``; the table reports what f* means for the QEC cycle (one syndrome round, the
logical cycle over the code distance) and the two-qubit gate time.

Examples
--------
>>> from hybridsim.analysis.blocks import Block
>>> from hybridsim.analysis.faulttolerant import ft_rows
>>> rows = ft_rows([Block("b", 16, 16, 20.0)], eps=0.05, algorithm="jennings", oracle="qrom",
...                readout="signed_tomography", qubits=("qubit_gate_ns_e4",))
>>> r = rows[0]
>>> r.code_distance, r.physical_qubits > 10**5, r.runtime_s > 1.0
(17, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from hybridsim.analysis.blocks import Block
from hybridsim.errors import HybridSimError

__all__ = [
    "default_qec",
    "FtRow",
    "ft_rows",
    "FtBreakEven",
    "ft_break_even",
    "scaled_qubit",
    "block_table",
]


def default_qec(qubit: str) -> str:
    """The QEC scheme a named qubit model runs by default: Floquet codes on Majorana qubits
    (as the reference estimator's examples do), the surface code otherwise."""
    return "floquet_code" if "maj" in qubit else "surface_code"


@dataclass(frozen=True, slots=True)
class FtRow:
    """One block's fault-tolerant solve on one qubit model.

    Attributes
    ----------
    block : Block
    qubit, qec : str
    algorithm_qubits : int
        Logical qubits of the algorithm (system, ancillas, block encoding, oracle registers).
    logical_qubits : int or None
        After the layout's routing space (None when no estimate exists).
    queries : int
        U_A queries of one run.
    runs : float
        Runs of one solve (readout runs / success probability).
    t_states : int or None
        T states consumed by the solve (T gates, 4 per CCZ, synthesized rotations).
    code_distance, physical_qubits : int or None
    runtime_s, logical_cycle_s : float or None
    error : str
        Why there is no estimate ("" when there is one), e.g. no code distance up to the
        scheme's maximum meets the error budget.
    """

    block: Block
    qubit: str
    qec: str
    algorithm_qubits: int
    logical_qubits: int | None
    queries: int
    runs: float
    t_states: int | None
    code_distance: int | None
    physical_qubits: int | None
    runtime_s: float | None
    logical_cycle_s: float | None
    error: str = ""


def _counts(block: Block, eps: float, algorithm: str, oracle: str, readout: str, **kw: Any):
    from hybridsim.costs.logical import qlsa_logical_counts

    return qlsa_logical_counts(
        algorithm, oracle, int(block.n), int(block.d), float(block.kappa), float(eps), readout,
        **kw,
    )  # fmt: skip


def ft_rows(
    blocks: Iterable[Block],
    *,
    eps: float,
    algorithm: str = "jennings",
    oracle: str = "qrom",
    readout: str = "signed_tomography",
    qubits: Sequence[str] | None = None,
    error_budget: float = 1e-3,
    **counts_kwargs: Any,
) -> list[FtRow]:
    """Fault-tolerant resources of one solve of each block on each qubit model.

    Parameters
    ----------
    blocks : iterable of Block
    eps : float
        QLSA target error.
    algorithm, oracle, readout : str
        As :func:`hybridsim.costs.logical.qlsa_logical_counts` takes them (the ``full``
        accounting's are ``qrom`` and ``signed_tomography``).
    qubits : sequence of str, optional
        Named qubit models (default all six of :data:`hybridsim.costs.ft.QUBIT_MODELS`), each
        with :func:`default_qec`.
    error_budget : float
        Total error budget of one solve.
    **counts_kwargs
        More keywords of ``qlsa_logical_counts`` (``alpha``, ``clamp``...).

    Returns
    -------
    list of FtRow
        Blocks in the order given, each with the qubit models in the order given.
    """
    from hybridsim.costs import ft

    names = tuple(ft.QUBIT_MODELS) if qubits is None else tuple(qubits)
    out = []
    for b in blocks:
        c = _counts(b, eps, algorithm, oracle, readout, **counts_kwargs)
        solve = c.per_solve()
        for q in names:
            qec = default_qec(q)
            try:
                e = ft.estimate(solve, qubit=q, qec=qec, error_budget=error_budget)
            except HybridSimError as exc:
                out.append(
                    FtRow(b, q, qec, c.num_qubits, None, c.queries, c.runs, None, None, None,
                          None, None, str(exc))
                )  # fmt: skip
                continue
            out.append(
                FtRow(
                    b, q, qec, c.num_qubits, e.logical_qubits, c.queries, c.runs, e.t_states,
                    e.code_distance, e.physical_qubits, e.runtime_s, e.logical_cycle_s,
                )
            )  # fmt: skip
    return out


def scaled_qubit(error_rate: float, scale: float = 1.0, base: str = "qubit_gate_ns_e3") -> Any:
    """A gate-based qubit model with every error rate ``error_rate`` and the operation times of
    the named ``base`` model multiplied by ``scale``.

    Examples
    --------
    >>> q = scaled_qubit(1e-5, 0.5)
    >>> q.two_qubit_gate_error_rate, q.one_qubit_gate_time  # ticks: 25 ns
    (1e-05, 25000000000000)
    """
    from hybridsim.costs import ft

    ref = ft.qubit_model(base)
    if ref.instruction_set != "gate_based":
        raise ValueError(f"{base!r} is not a gate-based qubit model")

    def t(ticks: int) -> int:
        return max(1, round(ticks * scale))

    return ft.QubitModel(
        f"{base}@p={error_rate:g},x{scale:g}",
        "gate_based",
        one_qubit_measurement_time=t(ref.one_qubit_measurement_time),
        one_qubit_gate_time=t(ref.one_qubit_gate_time),
        two_qubit_gate_time=t(ref.two_qubit_gate_time),
        t_gate_time=t(ref.t_gate_time),
        one_qubit_measurement_error_rate=error_rate,
        one_qubit_gate_error_rate=error_rate,
        two_qubit_gate_error_rate=error_rate,
        t_gate_error_rate=error_rate,
        idle_error_rate=error_rate,
    )


@dataclass(frozen=True, slots=True)
class FtBreakEven:
    """What one block needs to break even at one physical error rate.

    Attributes
    ----------
    block : Block
    error_rate : float
        Every physical error rate of the qubit model.
    classical_s : float
        The time to beat (the best classical method's).
    runtime_s : float or None
        One solve at the base model's operation times (None: no estimate at this error rate).
    code_distance : int or None
    scale : float or None
        f* = classical_s / runtime_s: the factor every operation time must be multiplied by.
    cycle_needed_s : float or None
        The QEC cycle (one syndrome round) at f*.
    gate_time_needed_s : float or None
        The two-qubit gate time at f*.
    error : str
        Why there is no estimate ("" when there is one).
    """

    block: Block
    error_rate: float
    classical_s: float
    runtime_s: float | None
    code_distance: int | None
    scale: float | None
    cycle_needed_s: float | None
    gate_time_needed_s: float | None
    error: str = ""


def ft_break_even(
    block: Block,
    classical_s: float,
    *,
    eps: float,
    error_rates: Sequence[float] = (1e-3, 1e-4, 1e-5, 1e-6, 1e-8),
    base: str = "qubit_gate_ns_e3",
    algorithm: str = "jennings",
    oracle: str = "qrom",
    readout: str = "signed_tomography",
    error_budget: float = 1e-3,
    **counts_kwargs: Any,
) -> list[FtBreakEven]:
    """The QEC cycle and gate time at which one solve of ``block`` takes ``classical_s``.

    One row per physical error rate (see the module docstring for the model).

    Examples
    --------
    >>> from hybridsim.analysis.blocks import Block
    >>> rows = ft_break_even(Block("b", 10, 10, 15.0), 2e-5, eps=0.05, error_rates=(1e-4,))
    >>> r = rows[0]
    >>> r.scale < 1e-6, math.isclose(r.scale * r.runtime_s, 2e-5)
    (True, True)
    """
    from hybridsim.costs import ft
    from hybridsim.timebase import TICKS_PER_SECOND

    solve = _counts(block, eps, algorithm, oracle, readout, **counts_kwargs).per_solve()
    out = []
    for p in error_rates:
        q = scaled_qubit(p, 1.0, base)
        try:
            e = ft.estimate(solve, qubit=q, qec="surface_code", error_budget=error_budget)
        except HybridSimError as exc:
            out.append(FtBreakEven(block, p, classical_s, None, None, None, None, None, str(exc)))
            continue
        f = classical_s / e.runtime_s
        rounds = e.logical_cycle_s / e.code_distance
        gate = q.two_qubit_gate_time / TICKS_PER_SECOND
        out.append(
            FtBreakEven(
                block, p, classical_s, e.runtime_s, e.code_distance, f, f * rounds, f * gate
            )
        )
    return out


def _runtime(r: FtRow) -> float:
    """Sort key: a row's runtime (rows without an estimate last)."""
    return math.inf if r.runtime_s is None else r.runtime_s


def block_table(
    blocks: Sequence[Block],
    classical: dict[str, tuple[str, float]],
    *,
    eps: float,
    algorithm: str = "jennings",
    error_rates: Sequence[float] = (1e-3, 1e-4, 1e-5, 1e-6, 1e-8),
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """Per block: :func:`ft_rows` on every named qubit model and :func:`ft_break_even` against the
    best classical method, as one plain dict (a results file's row).

    Parameters
    ----------
    blocks : sequence of Block
    classical : dict
        Block name → (best classical method, its time in seconds).
    eps, algorithm, error_rates
        As :func:`ft_rows` and :func:`ft_break_even` take them.
    **kwargs
        More keywords of both (``clamp``...).

    Returns
    -------
    list of dict
        ``name``, ``n``, ``d``, ``kappa``, ``logical_qubits`` (the algorithm's), ``runs`` (per
        solve), ``t_states`` (the most over the models that have an estimate), ``models`` (qubit
        model → ``code_distance``, ``physical_qubits``, ``runtime_s``, ``error``),
        ``classical_method``, ``classical_s``, ``break_even`` (:class:`FtBreakEven` as dicts,
        without the block) and ``fastest`` (the qubit model with the shortest runtime, or None).

    Examples
    --------
    >>> t = block_table([Block("b", 10, 10, 15.0)], {"b": ("cholesky", 4e-5)}, eps=0.05,
    ...                 error_rates=(1e-4,))
    >>> row = t[0]
    >>> row["fastest"], row["models"]["qubit_maj_ns_e6"]["code_distance"] is not None
    ('qubit_maj_ns_e6', True)
    >>> math.isclose(row["break_even"][0]["scale"] * row["break_even"][0]["runtime_s"], 4e-5)
    True
    """
    rows = ft_rows(blocks, eps=eps, algorithm=algorithm, **kwargs)
    out = []
    for b in blocks:
        mine = [r for r in rows if r.block == b]
        method, cls = classical[b.name]
        be = ft_break_even(b, cls, eps=eps, algorithm=algorithm, error_rates=error_rates, **kwargs)
        ok = [r for r in mine if r.runtime_s is not None]
        models = {
            r.qubit: {
                "code_distance": r.code_distance,
                "physical_qubits": r.physical_qubits,
                "runtime_s": r.runtime_s,
                "error": r.error,
            }
            for r in mine
        }
        out.append(
            {
                "name": b.name, "n": b.n, "d": b.d, "kappa": b.kappa,
                "logical_qubits": mine[0].algorithm_qubits, "runs": mine[0].runs,
                "t_states": max((r.t_states for r in ok if r.t_states is not None), default=None),
                "models": models,
                "classical_method": method, "classical_s": cls,
                "break_even": [asdict(x) | {"block": None} for x in be],
                "fastest": min(ok, key=_runtime).qubit if ok else None,
            }
        )  # fmt: skip
    return out
