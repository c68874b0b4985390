"""Break-even gate time: how fast must QPU gates be for a QPU solve to beat a GPU solve?

The QPU time of :func:`hybridsim.costs.quantum.qlsa_cost` is affine in the gate time t (the 2q
gate time; the 1q gate time is held in proportion, t_1q = ``gate_time_ratio_1q`` · t)::

    T_q(t) = G·t + F

with G (``gate_equivalents``) = runs × (queries × gates per query + state-prep queries ×
(g2 + ratio·g1)), a pure count, and F (``quantum_fixed_s``) = readout + per-job overhead +
(when the accounting charges them) the link latency there and back and the transfer of the
job's payload and result (:func:`hybridsim.costs.classical.solve_payload_bytes`, the definition
the simulator uses) + (when only the block's factor exists, ``assembled=False``) forming and
pruning the block on the GPU first. Setting T_q(t*) = T_c, the classical roofline time of the
chosen classical method (plus ``classical_overhead_s``), gives the closed form

    t* = (T_c − F) / G.

Below t* the QPU is faster. When F >= T_c no gate time, however small, suffices: the result is
then NaN (not 0.0, which would read as "exactly at zero gate time").

The classical opponent is any method of :data:`hybridsim.costs.classical.METHODS`, or ``"auto"``:
the cheapest one that applies to the block (:func:`hybridsim.costs.classical.best_method`).
:func:`break_even_by_method` and :func:`break_even_method_table` report t* against each method
and against the best one.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybridsim.costs.classical import (
    METHODS,
    best_method,
    classical_solve_time,
    kernel_s,
    preparation_work,
    solve_payload_bytes,
    solve_result_bytes,
)
from hybridsim.costs.quantum import Accounting, _accounting, qlsa_cost
from hybridsim.costs.specs import (
    GPU_KEYWORDS,
    GpuSpec,
    QpuSpec,
    _no_unknown_keywords,
    _spec_from_keywords,
    _warn_deprecated,
)
from hybridsim.errors import ModelDomainError

__all__ = [
    "BreakEven",
    "break_even",
    "break_even_gate_time",
    "BreakEvenRow",
    "break_even_table",
    "break_even_by_method",
    "break_even_method_table",
]


def _out(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


@dataclass(frozen=True, slots=True)
class BreakEven:
    """The pieces of a break-even computation (floats, or arrays for array inputs).

    Parameters
    ----------
    classical_s : float or numpy.ndarray
        T_c: classical solve time plus ``classical_overhead_s``.
    quantum_fixed_s : float or numpy.ndarray
        F: the part of the QPU time that does not scale with the gate time.
    gate_equivalents : float or numpy.ndarray
        G: QPU time per second of 2q gate time (a count of 2q-gate-times).
    gate_time_s : float or numpy.ndarray
        t* = (T_c − F)/G, NaN where F >= T_c.
    method : str or numpy.ndarray
        The classical method priced (``"auto"``'s choice per element).
    """

    classical_s: float | np.ndarray
    quantum_fixed_s: float | np.ndarray
    gate_equivalents: float | np.ndarray
    gate_time_s: float | np.ndarray
    method: str | np.ndarray = "lu"


def _new_form(func: str, kwargs: dict[str, Any], stacklevel: int) -> dict[str, Any]:
    """Deprecation shim (one release): turn the old device keywords into ``gpu=``/``qpu=`` specs.

    The old signature had no gate times (it solves for them) and held t_1q / t_2q at
    ``gate_time_ratio_1q``, default 1; the QPU spec built here carries that ratio as its gate
    times (t_2q = 1 s, t_1q = ratio), which is exactly how :func:`break_even` evaluates G.
    ``stacklevel`` counts from the caller of this function.
    """
    kw = dict(kwargs)
    used: list[str] = []
    if any(k in kw for k in GPU_KEYWORDS):
        kw["gpu"], u = _spec_from_keywords(
            func, GpuSpec, "gpu", kw.pop("gpu", None), kw, GPU_KEYWORDS
        )
        used += u
    if any(k in kw for k in _BREAK_EVEN_QPU_KEYWORDS):
        ratio = kw.get("gate_time_ratio_1q")
        ratio = 1.0 if ratio is None else ratio
        if not ratio >= 0:
            raise ModelDomainError("gate_time_ratio_1q must be >= 0")
        kw["qpu"], u = _spec_from_keywords(
            func,
            QpuSpec,
            "qpu",
            kw.pop("qpu", None),
            kw,
            _BREAK_EVEN_QPU_KEYWORDS,
            fill={"gate_time_1q_s": float(ratio), "gate_time_2q_s": 1.0},
        )
        kw["gate_time_ratio_1q"] = ratio
        used += u
    _warn_deprecated(func, used, "gpu=GpuSpec(...), qpu=QpuSpec(...)", stacklevel + 1)
    return kw


#: The QPU keywords the break-even helpers took before :class:`QpuSpec` (deprecated).
_BREAK_EVEN_QPU_KEYWORDS = (
    "measure_time_s",
    "reset_time_s",
    "max_shots_per_job",
    "job_overhead_s",
    "link_latency_s",
    "link_bandwidth_Bps",
)


def break_even(
    n,
    d,
    kappa,
    eps,
    *,
    accounting: Accounting | str,
    gpu: GpuSpec | None = None,
    qpu: QpuSpec | None = None,
    classical_method: str = "lu",
    gate_time_ratio_1q: float | None = None,
    algorithm: str = "jennings",
    alpha=None,
    classical_overhead_s: float = 0.0,
    jennings_success_constant: float = 0.204,
    jennings_alpha_power: int = 1,
    costa_constant: str | float = "measured",
    clamp: bool = False,
    rank=None,
    spd: bool = True,
    assembled=True,
    factored=False,
    classical_d=None,
    **legacy: Any,
) -> BreakEven:
    """Break-even gate time with its parts.

    Parameters
    ----------
    n, d, kappa, eps : float or array
        The system (broadcast together).
    accounting : Accounting or {"paper", "paper_unit", "full"}
        What the QPU is charged (:data:`hybridsim.costs.quantum.ACCOUNTING`).
    gpu : GpuSpec
        The classical device (:class:`hybridsim.costs.specs.GpuSpec`).
    qpu : QpuSpec
        The QPU (:class:`hybridsim.costs.specs.QpuSpec`): its readout, per-job overhead and link.
        Its gate times only set the ratio t_1q / t_2q held fixed (unless ``gate_time_ratio_1q``
        is given); t_2q itself is what is solved for.
    classical_method : str
        The GPU's solver: one of :data:`hybridsim.costs.classical.METHODS`
        (:func:`hybridsim.costs.classical.classical_solve_time`), or ``"auto"``, the cheapest
        that applies to the block (:func:`hybridsim.costs.classical.best_method`).
    gate_time_ratio_1q : float, optional
        t_1q / t_2q, held fixed while t_2q varies; default the QPU spec's own ratio (1 is the
        paper's one gate time for every gate; IBM Heron ≈ 0.38, IonQ Aria 135/600 ≈ 0.23). Only
        state preparation uses 1q gates.
    algorithm, alpha, jennings_success_constant, jennings_alpha_power, costa_constant, clamp
        Passed to :func:`hybridsim.costs.quantum.qlsa_cost`.
    classical_overhead_s : float
        Added to the classical side (e.g. a host→device copy from
        :func:`hybridsim.costs.classical.host_device_transfer_s`).
    rank, spd, assembled, factored
        The block's structure (:class:`hybridsim.costs.classical.ClassicalForm`): the width r of
        its factor U (block = U·Uᵀ + c·I; needed by ``woodbury``, ``cg_matrix_free`` and by
        ``assembled=False``), whether it is SPD (``auto`` then considers Cholesky and CG;
        regularized curvature blocks are), whether the dense block exists already (when not,
        the dense classical methods assemble it in their time and the QPU's F includes forming
        and pruning it, d < n meaning pruned: :func:`hybridsim.costs.classical.preparation_work`
        on ``gpu``) and whether an LU of it exists (``lu`` reuses it).
    classical_d : float or array, optional
        Sparsity of the matrix the GPU solves (default ``d``). In training runs the classical
        route solves the *unpruned* block: pass ``classical_d=n`` to compare as the simulator
        does (it matters for ``cg``, whose mat-vecs see d).
    **legacy
        Deprecated: the device keywords ``tflops``, ``launch_latency_s``, ``mem_bandwidth_Bps``
        (instead of ``gpu``) and ``measure_time_s``, ``reset_time_s``, ``max_shots_per_job``,
        ``job_overhead_s``, ``link_latency_s``, ``link_bandwidth_Bps`` (instead of ``qpu``;
        with them the ratio defaults to 1 as before). A DeprecationWarning; removed in the next
        release.

    Returns
    -------
    BreakEven
        The link terms are charged (latency twice, there and back; bytes = sparse matrix + b + x)
        only when the accounting's ``charge_link_latency`` / ``charge_transfer`` say so.
    """
    kw = _new_form(
        "break_even",
        {**legacy, "gpu": gpu, "qpu": qpu, "gate_time_ratio_1q": gate_time_ratio_1q},
        4,
    )
    gpu, qpu, gate_time_ratio_1q = kw.pop("gpu"), kw.pop("qpu"), kw.pop("gate_time_ratio_1q")
    _no_unknown_keywords("break_even", kw)
    for name, spec in (("gpu", gpu), ("qpu", qpu)):
        if spec is None:
            raise TypeError(f"break_even() missing required keyword argument {name!r}")
    acc = _accounting(accounting)
    ratio = qpu.gate_time_ratio_1q if gate_time_ratio_1q is None else gate_time_ratio_1q
    if not ratio >= 0:
        raise ModelDomainError("gate_time_ratio_1q must be >= 0")
    if not classical_overhead_s >= 0:
        raise ModelDomainError("classical_overhead_s must be >= 0")
    # At t = 1 s the gate-proportional parts equal G exactly; the fixed parts do not depend on t.
    unit = qlsa_cost(
        n,
        d,
        kappa,
        eps,
        accounting=acc,
        qpu=dataclasses.replace(qpu, gate_time_2q_s=1.0, gate_time_1q_s=float(ratio)),
        algorithm=algorithm,
        alpha=alpha,
        jennings_success_constant=jennings_success_constant,
        jennings_alpha_power=jennings_alpha_power,
        costa_constant=costa_constant,
        clamp=clamp,
    )
    slope = np.asarray(unit.compute_s) + np.asarray(unit.state_prep_s)
    fixed = np.asarray(unit.readout_s) + np.asarray(unit.overhead_s)
    if acc.charge_link_latency:
        fixed = fixed + 2.0 * qpu.link_latency_s  # to the QPU and back
    if acc.charge_transfer:
        # The simulator's one definition: the matrix (dense or CSR, the smaller) and b in, x out.
        moved = np.asarray(solve_payload_bytes(n, d)) + np.asarray(solve_result_bytes(n))
        fixed = fixed + moved / qpu.link_bandwidth_Bps
    need_prep = ~np.asarray(assembled, dtype=bool)
    if np.any(need_prep):
        if rank is None:
            raise ModelDomainError("assembled=False needs the rank r of the block's factor")
        p_flops, p_bytes = preparation_work(n, rank, np.asarray(d) < np.asarray(n))
        fixed = fixed + np.where(need_prep, kernel_s(p_flops, p_bytes, gpu=gpu), 0.0)
    structure = dict(rank=rank, assembled=assembled, factored=factored)
    d_c = d if classical_d is None else classical_d
    if classical_method == "auto":
        method, cl = best_method(n, d_c, kappa, eps, gpu=gpu, spd=spd, **structure)
    else:
        method = classical_method
        cl = classical_solve_time(classical_method, n, d_c, kappa, eps, gpu=gpu, **structure)
    t_c = np.asarray(cl.total_s) + classical_overhead_s
    t_c, fixed, slope = np.broadcast_arrays(t_c, fixed, slope)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_star = np.where(t_c > fixed, (t_c - fixed) / slope, np.nan)
    return BreakEven(_out(t_c), _out(fixed), _out(slope), _out(t_star), method)


def break_even_gate_time(n, d, kappa, eps, **kwargs: Any):
    """The 2q gate time below which the QPU solve is faster than the classical one.

    Takes the arguments of :func:`break_even` and returns its ``gate_time_s``.

    Returns
    -------
    float or numpy.ndarray
        t* in seconds; NaN where no gate time suffices (the fixed QPU costs alone exceed the
        classical time).

    Examples
    --------
    A dense 10⁴×10⁴ block with κ = 10⁴ on a 14 TFLOP/s GPU, one gate per query and α = 1
    (``paper_unit``): the QPU wins only with gates faster than ~5 ns, so 84 ns gates lose (the
    paper's example). The paper's sparse-access form (α = d, ⌈log₂N⌉ gates per query) needs
    gates 10⁵ times faster still.

    >>> gpu = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=1.5e12)
    >>> qpu = QpuSpec(gate_time_1q_s=84e-9, gate_time_2q_s=84e-9, measure_time_s=1.56e-6,
    ...               reset_time_s=0.0, max_shots_per_job=1e5)
    >>> t = break_even_gate_time(1e4, 1e4, 1e4, 1e-2, accounting="paper_unit", gpu=gpu, qpu=qpu)
    >>> f"{t:.2e}"
    '5.53e-09'
    >>> t = break_even_gate_time(1e4, 1e4, 1e4, 1e-2, accounting="paper", gpu=gpu, qpu=qpu)
    >>> f"{t:.2e}"
    '3.96e-14'
    """
    return break_even(n, d, kappa, eps, **_new_form("break_even_gate_time", kwargs, 2)).gate_time_s


@dataclass(frozen=True, slots=True)
class BreakEvenRow:
    """One row of :func:`break_even_table`.

    Parameters
    ----------
    n, d, kappa, eps : float
        The system.
    accounting, algorithm, classical_method : str
        The models compared.
    classical_s, quantum_fixed_s, gate_equivalents, gate_time_s : float
        As in :class:`BreakEven` (``gate_time_s`` NaN when no gate time suffices).
    rank : float or None
        Width r of the block's factor (None when the table had none).
    best_method : str
        For ``classical_method = "best"`` rows (:func:`break_even_method_table`): the method
        that is the cheapest for the block; for others the method itself.
    """

    n: float
    d: float
    kappa: float
    eps: float
    accounting: str
    algorithm: str
    classical_method: str
    classical_s: float
    quantum_fixed_s: float
    gate_equivalents: float
    gate_time_s: float
    rank: float | None = None
    best_method: str = ""


def break_even_table(ns, ds, kappas, eps, **kwargs: Any) -> list[BreakEvenRow]:
    """Break-even gate times over the grid ns × ds × kappas (one ε), as frozen rows.

    Combinations with d > n are skipped. ``kwargs`` are those of :func:`break_even`
    (``accounting``, ``gpu``, ``qpu``...). Rows come in grid order (n outermost).

    Examples
    --------
    >>> gpu = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=1.5e12)
    >>> qpu = QpuSpec(gate_time_1q_s=84e-9, gate_time_2q_s=84e-9, measure_time_s=1.56e-6,
    ...               reset_time_s=0.0, max_shots_per_job=1e5)
    >>> import math
    >>> rows = break_even_table([64, 1024], [8, 64], [10.0, 1e3], 1e-2, accounting="full",
    ...                         gpu=gpu, qpu=qpu)
    >>> len(rows), all(math.isnan(r.gate_time_s) for r in rows)
    (8, True)
    """
    kwargs = _new_form("break_even_table", kwargs, 2)
    grid = [
        (float(n), float(d), float(k)) for n, d, k in itertools.product(ns, ds, kappas) if d <= n
    ]
    if not grid:
        return []
    n_a, d_a, k_a = (np.array(col) for col in zip(*grid, strict=True))
    res = break_even(n_a, d_a, k_a, eps, **kwargs)
    acc = _accounting(kwargs["accounting"]).name
    algorithm = kwargs.get("algorithm", "jennings")
    method = kwargs.get("classical_method", "lu")
    cols = [
        np.broadcast_to(np.asarray(x, float), n_a.shape)
        for x in (res.classical_s, res.quantum_fixed_s, res.gate_equivalents, res.gate_time_s)
    ]
    chosen = np.broadcast_to(np.asarray(res.method), n_a.shape)
    rank = kwargs.get("rank")
    return [
        BreakEvenRow(
            n_a[i],
            d_a[i],
            k_a[i],
            float(eps),
            acc,
            algorithm,
            method,
            float(cols[0][i]),
            float(cols[1][i]),
            float(cols[2][i]),
            float(cols[3][i]),
            None if rank is None else float(rank),
            str(chosen[i]),
        )
        for i in range(len(grid))
    ]


def break_even_by_method(
    n, d, kappa, eps, *, methods: tuple[str, ...] = METHODS, **kwargs: Any
) -> dict[str, BreakEven]:
    """Break-even gate time against each classical method, and against the best one.

    Takes the arguments of :func:`break_even` (``classical_method`` excepted). Methods that do
    not apply to the block (Woodbury without a low-rank factor, Cholesky and CG on a block not
    known to be SPD) are left out. The ``"best"`` entry is :func:`break_even` with
    ``classical_method="auto"``: t* against the cheapest applicable method, per element (its
    ``method`` says which).

    Examples
    --------
    A BERT-tiny FFN block (N = 16 384, batch 128, d = 10 %), paper accounting (sparse access:
    gate-equivalents grow with d·⌈log₂N⌉), an A100: against LU a QPU with gates faster than
    14 ps wins; against Woodbury on the factor none does, as the QPU must first form the block
    it is to solve (2·B·N² flops).

    >>> gpu = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=2e12)
    >>> qpu = QpuSpec(gate_time_1q_s=1e-18, gate_time_2q_s=1e-18, measure_time_s=0.0,
    ...               reset_time_s=0.0, max_shots_per_job=1e5)
    >>> be = break_even_by_method(16384, 1638, 1e3, 1e-2, accounting="paper", gpu=gpu, qpu=qpu,
    ...                           rank=128, assembled=False)
    >>> f"{be['lu'].gate_time_s:.1e}", be["best"].method, bool(np.isnan(be["best"].gate_time_s))
    ('1.4e-11', 'woodbury', True)
    """
    if "classical_method" in kwargs:
        raise TypeError("break_even_by_method() compares every method: drop classical_method")
    from hybridsim.costs.classical import _applicable_mask

    out: dict[str, BreakEven] = {}
    for m in methods:
        ok = _applicable_mask(m, n, kwargs.get("rank"), kwargs.get("spd", True))
        if not np.all(ok):
            continue
        out[m] = break_even(n, d, kappa, eps, classical_method=m, **kwargs)
    out["best"] = break_even(n, d, kappa, eps, classical_method="auto", **kwargs)
    return out


def break_even_method_table(
    ns, ds, kappas, eps, *, methods: tuple[str, ...] = METHODS, **kwargs: Any
) -> list[BreakEvenRow]:
    """:func:`break_even_table` for every applicable method of ``methods`` and ``"best"``.

    Rows come in grid order (n outermost), each grid point's methods in ``methods`` order and
    then its ``"best"`` row (whose ``best_method`` names the winner). ``kwargs`` as in
    :func:`break_even` (``rank``, ``assembled``... describe the block).
    """
    if "classical_method" in kwargs:
        raise TypeError("break_even_method_table() compares every method: drop classical_method")
    from hybridsim.costs.classical import _applicable_mask

    sizes = np.asarray(list(ns), dtype=float)
    per_method = {}
    for m in (*methods, "auto"):
        ok = m == "auto" or np.all(
            _applicable_mask(m, sizes, kwargs.get("rank"), kwargs.get("spd", True))
        )
        if ok:
            per_method[m] = break_even_table(ns, ds, kappas, eps, classical_method=m, **kwargs)
    rows: list[BreakEvenRow] = []
    for i in range(len(per_method["auto"])):
        for m, table in per_method.items():
            row = table[i]
            if m == "auto":
                row = dataclasses.replace(row, classical_method="best")
            rows.append(row)
    return rows
