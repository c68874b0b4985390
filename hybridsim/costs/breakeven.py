"""Break-even gate time: how fast must QPU gates be for a QPU solve to beat a GPU solve?

The QPU time of :func:`hybridsim.costs.quantum.qlsa_cost` is affine in the gate time t (the 2q
gate time; the 1q gate time is held in proportion, t_1q = ``gate_time_ratio_1q`` · t)::

    T_q(t) = G·t + F

with G (``gate_equivalents``) = runs × (queries × gates per query + state-prep queries ×
(g2 + ratio·g1)), a pure count, and F (``quantum_fixed_s``) = readout + per-job overhead +
(when the accounting charges them) the link latency there and back and the transfer of the
sparse matrix, the right-hand side and the solution. Setting T_q(t*) = T_c, the classical roofline
time (plus ``classical_overhead_s``), gives the closed form

    t* = (T_c − F) / G.

Below t* the QPU is faster. When F >= T_c no gate time, however small, suffices: the result is
then NaN (not 0.0, which would read as "exactly at zero gate time").
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from hybridsim.costs.classical import classical_solve_time, payload_bytes, result_bytes
from hybridsim.costs.quantum import Accounting, _accounting, qlsa_cost
from hybridsim.errors import ModelDomainError

__all__ = [
    "BreakEven",
    "break_even",
    "break_even_gate_time",
    "BreakEvenRow",
    "break_even_table",
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
    """

    classical_s: float | np.ndarray
    quantum_fixed_s: float | np.ndarray
    gate_equivalents: float | np.ndarray
    gate_time_s: float | np.ndarray


def break_even(
    n,
    d,
    kappa,
    eps,
    *,
    accounting: Accounting | str,
    classical_method: str = "lu",
    tflops: float,
    launch_latency_s: float,
    mem_bandwidth_Bps: float,
    measure_time_s: float,
    reset_time_s: float,
    max_shots_per_job: float,
    gate_time_ratio_1q: float = 1.0,
    algorithm: str = "jennings",
    alpha=None,
    job_overhead_s: float = 0.0,
    link_latency_s: float = 0.0,
    link_bandwidth_Bps: float = math.inf,
    classical_overhead_s: float = 0.0,
    jennings_success_constant: float = 0.204,
    jennings_alpha_power: int = 1,
    costa_constant: str | float = "measured",
    clamp: bool = False,
) -> BreakEven:
    """Break-even gate time with its parts; see :func:`break_even_gate_time` for parameters."""
    acc = _accounting(accounting)
    if not gate_time_ratio_1q >= 0:
        raise ModelDomainError("gate_time_ratio_1q must be >= 0")
    if not (link_latency_s >= 0 and link_bandwidth_Bps > 0 and classical_overhead_s >= 0):
        raise ModelDomainError(
            "need link_latency_s >= 0, link_bandwidth_Bps > 0, classical_overhead_s >= 0"
        )
    common = dict(
        accounting=acc,
        algorithm=algorithm,
        measure_time_s=measure_time_s,
        reset_time_s=reset_time_s,
        max_shots_per_job=max_shots_per_job,
        alpha=alpha,
        job_overhead_s=job_overhead_s,
        jennings_success_constant=jennings_success_constant,
        jennings_alpha_power=jennings_alpha_power,
        costa_constant=costa_constant,
        clamp=clamp,
    )
    # At t = 1 s the gate-proportional parts equal G exactly; the fixed parts do not depend on t.
    unit = qlsa_cost(
        n, d, kappa, eps, gate_time_2q_s=1.0, gate_time_1q_s=float(gate_time_ratio_1q), **common
    )
    slope = np.asarray(unit.compute_s) + np.asarray(unit.state_prep_s)
    fixed = np.asarray(unit.readout_s) + np.asarray(unit.overhead_s)
    if acc.charge_link_latency:
        fixed = fixed + 2.0 * link_latency_s  # to the QPU and back
    if acc.charge_transfer:
        moved = np.asarray(payload_bytes(n, d, sparse=True)) + 2.0 * np.asarray(
            result_bytes(n)
        )  # A (sparse) and b in, x out
        fixed = fixed + moved / link_bandwidth_Bps
    cl = classical_solve_time(
        classical_method,
        n,
        d,
        kappa,
        eps,
        tflops=tflops,
        launch_latency_s=launch_latency_s,
        mem_bandwidth_Bps=mem_bandwidth_Bps,
    )
    t_c = np.asarray(cl.total_s) + classical_overhead_s
    t_c, fixed, slope = np.broadcast_arrays(t_c, fixed, slope)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_star = np.where(t_c > fixed, (t_c - fixed) / slope, np.nan)
    return BreakEven(_out(t_c), _out(fixed), _out(slope), _out(t_star))


def break_even_gate_time(
    n,
    d,
    kappa,
    eps,
    *,
    accounting: Accounting | str,
    classical_method: str = "lu",
    tflops: float,
    launch_latency_s: float,
    mem_bandwidth_Bps: float,
    measure_time_s: float,
    reset_time_s: float,
    max_shots_per_job: float,
    gate_time_ratio_1q: float = 1.0,
    algorithm: str = "jennings",
    alpha=None,
    job_overhead_s: float = 0.0,
    link_latency_s: float = 0.0,
    link_bandwidth_Bps: float = math.inf,
    classical_overhead_s: float = 0.0,
    jennings_success_constant: float = 0.204,
    jennings_alpha_power: int = 1,
    costa_constant: str | float = "measured",
    clamp: bool = False,
):
    """The 2q gate time below which the QPU solve is faster than the classical one.

    Parameters
    ----------
    n, d, kappa, eps : float or array
        The system (broadcast together).
    accounting : Accounting or {"paper", "full"}
        What the QPU is charged (:data:`hybridsim.costs.quantum.ACCOUNTING`).
    classical_method : {"lu", "cholesky", "cg"}
        The GPU's solver (:func:`hybridsim.costs.classical.classical_solve_time`).
    tflops, launch_latency_s, mem_bandwidth_Bps : float
        The GPU spec.
    measure_time_s, reset_time_s, max_shots_per_job : float
        The QPU's readout spec.
    gate_time_ratio_1q : float
        t_1q / t_2q, held fixed while t_2q varies (default 1: one gate time for every gate, as
        in the paper; IBM Heron ≈ 0.3, IonQ Aria 135/600 ≈ 0.23). Only state preparation uses
        1q gates.
    algorithm, alpha, job_overhead_s, jennings_success_constant, jennings_alpha_power, \
costa_constant, clamp
        Passed to :func:`hybridsim.costs.quantum.qlsa_cost`.
    link_latency_s, link_bandwidth_Bps : float
        QPU link; charged (latency twice, there and back; bytes = sparse matrix + b + x) only
        when the accounting's ``charge_link_latency`` / ``charge_transfer`` say so.
    classical_overhead_s : float
        Added to the classical side (e.g. a host→device copy from
        :func:`hybridsim.costs.classical.host_device_transfer_s`).

    Returns
    -------
    float or numpy.ndarray
        t* in seconds; NaN where no gate time suffices (the fixed QPU costs alone exceed the
        classical time).

    Examples
    --------
    A dense 10⁴×10⁴ block with κ = 10⁴ on a 14 TFLOP/s GPU, paper accounting: the QPU wins only
    with gates faster than ~5 ns, so 84 ns gates lose (the paper's example).

    >>> t = break_even_gate_time(1e4, 1e4, 1e4, 1e-2, accounting="paper", tflops=14.0,
    ...     launch_latency_s=2e-5, mem_bandwidth_Bps=1.5e12, measure_time_s=1.56e-6,
    ...     reset_time_s=0.0, max_shots_per_job=1e5)
    >>> f"{t:.2e}"
    '5.53e-09'
    """
    return break_even(
        n,
        d,
        kappa,
        eps,
        accounting=accounting,
        classical_method=classical_method,
        tflops=tflops,
        launch_latency_s=launch_latency_s,
        mem_bandwidth_Bps=mem_bandwidth_Bps,
        measure_time_s=measure_time_s,
        reset_time_s=reset_time_s,
        max_shots_per_job=max_shots_per_job,
        gate_time_ratio_1q=gate_time_ratio_1q,
        algorithm=algorithm,
        alpha=alpha,
        job_overhead_s=job_overhead_s,
        link_latency_s=link_latency_s,
        link_bandwidth_Bps=link_bandwidth_Bps,
        classical_overhead_s=classical_overhead_s,
        jennings_success_constant=jennings_success_constant,
        jennings_alpha_power=jennings_alpha_power,
        costa_constant=costa_constant,
        clamp=clamp,
    ).gate_time_s


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


def break_even_table(ns, ds, kappas, eps, **kwargs) -> list[BreakEvenRow]:
    """Break-even gate times over the grid ns × ds × kappas (one ε), as frozen rows.

    Combinations with d > n are skipped. ``kwargs`` are those of :func:`break_even_gate_time`
    (``accounting``, the GPU and QPU specs...). Rows come in grid order (n outermost).

    Examples
    --------
    >>> rows = break_even_table([64, 1024], [8, 64], [10.0, 1e3], 1e-2, accounting="full",
    ...     tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=1.5e12,
    ...     measure_time_s=1.56e-6, reset_time_s=0.0, max_shots_per_job=1e5)
    >>> len(rows), all(math.isnan(r.gate_time_s) for r in rows)
    (8, True)
    """
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
        )
        for i in range(len(grid))
    ]
