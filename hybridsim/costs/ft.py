"""Fault-tolerant resource estimation: logical counts → code distance, factories, physical qubits.

The model is the one of the Azure Quantum Resource Estimator as publicly described by Beverland et
al., arXiv:2211.07629 (docs/background/references.md#beverland-2022), step by step in
docs/background/fault-tolerance.md:

1. *Layout* (PSSPC, Beverland et al. App. D): ``Q`` algorithm qubits need
   ``Q_alg = 2·Q + ⌈√(8·Q)⌉ + 1`` logical qubits (Litinski's fast block: the routing space).
2. *Rotation synthesis*: each arbitrary rotation costs ``⌈0.53·log₂(R/ε_syn) + 4.86⌉`` T states
   (Kliuchnikov et al. 2022, docs/background/references.md#kliuchnikov-2022).
3. *Logical depth*: one logical cycle per measurement, rotation and T gate, three per CCZ/CCiX,
   plus ``T_per_rotation`` cycles per rotation layer.
4. *Error budget split*: equal thirds (logical, T distillation, rotation synthesis), halves without
   rotations, all logical without non-Clifford gates.
5. *Code distance*: the smallest odd ``d`` with ``a·(p/p*)^((d+1)/2) <= ε_log / (Q_alg·C)``.
6. *T factories*: every design of up to three rounds of 15-to-1 distillation units at physical
   level or at any code distance up to the algorithm's (Beverland et al. App. C), the
   cheapest-by-volume design that meets the required T-state error and fits the run; as many
   copies as keep pace with the algorithm.
7. *Totals*: physical qubits (algorithm + factories), runtime (logical cycles × cycle time), rQOPS.

:func:`estimate` takes the reference estimator's ``LogicalCounts`` dictionary keys
(:data:`COUNT_KEYS`; missing ones are 0), one of the six named qubit models (:data:`QUBIT_MODELS`)
or a :class:`QubitModel`, ``"surface_code"``/``"floquet_code"`` or a :class:`QecScheme`, and a
total error budget, and returns a frozen :class:`FtEstimate`. ``backend="qdk"`` runs the reference
estimator itself (the optional extra ``hybridsim[ft]``) and returns the same record type.

Durations are exact integer ticks of :mod:`hybridsim.timebase` (the reference uses integer
nanoseconds, which cannot express the sub-nanosecond gates hybridsim studies); for the named models
every duration is a whole number of nanoseconds and the two agree exactly. The T-factory table of a
(qubit model, QEC scheme) pair does not depend on the counts or the budget: it is built once with
numpy and memoized, so an estimate is a few dozen integer operations and two masked minima.

Examples
--------
>>> e = estimate({"numQubits": 100, "tCount": 10**8}, qubit="qubit_gate_ns_e3",
...              qec="surface_code", error_budget=1e-3)
>>> e.code_distance, e.logical_qubits, e.t_factories, e.physical_qubits, e.runtime_s
(25, 230, 13, 720660, 1000.0)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from fractions import Fraction
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np

from hybridsim.errors import HybridSimError, ModelDomainError
from hybridsim.timebase import TICKS_PER_SECOND, to_ticks

__all__ = [
    "COUNT_KEYS",
    "QUBIT_MODELS",
    "QEC_SCHEMES",
    "BACKENDS",
    "QubitModel",
    "QecScheme",
    "DistillationRound",
    "TFactory",
    "FtEstimate",
    "check_counts",
    "check_model",
    "Layout",
    "logical_layout",
    "qubit_model",
    "qec_scheme",
    "estimate",
    "estimate_many",
]

#: The reference estimator's ``LogicalCounts`` keys, in its order; a missing key is 0.
COUNT_KEYS = (
    "numQubits",
    "tCount",
    "rotationCount",
    "rotationDepth",
    "cczCount",
    "ccixCount",
    "measurementCount",
)
#: ``backend=`` values of :func:`estimate`.
BACKENDS = ("builtin", "qdk")
#: Largest count the reference accepts (its counts are unsigned 64-bit integers).
U64_MAX = 2**64 - 1

# Layout and synthesis constants (Beverland et al. App. D; Kliuchnikov et al. 2022).
_MEASUREMENTS_PER_ROTATION = 1
_MEASUREMENTS_PER_TOFFOLI = 3
_T_PER_CCZ = 4
_ROTATION_A = 0.53
_ROTATION_B = 4.86
#: Failure probability a factory may have of delivering fewer T states than planned (App. C).
_FACTORY_FAILURE = 0.01
#: Rounds of distillation searched first, and the extra round tried when none suffices.
_MAX_ROUNDS = 3
_MAX_EXTRA_ROUNDS = 4
#: A distillation round needing this many units is refused (as the reference does).
_UNREASONABLE_UNITS = 10**15


def _duration(value: Any, name: str) -> int:
    """A duration given as ticks (int), seconds (float/Fraction) or a string ("50 ns")."""
    if isinstance(value, bool):
        raise ModelDomainError(f"{name} must be a duration, got {value!r}")
    try:
        ticks = value if isinstance(value, int) else to_ticks(value)
    except (ValueError, TypeError) as exc:
        raise ModelDomainError(f"{name}: {exc}") from None
    if ticks <= 0:
        raise ModelDomainError(f"{name} must be > 0, got {value!r}")
    return int(ticks)


def _rate(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ModelDomainError(f"{name} must be a number in (0, 1), got {value!r}") from None
    if not 0.0 < v < 1.0:
        raise ModelDomainError(f"{name} must be in (0, 1), got {value!r}")
    return v


@dataclass(frozen=True, slots=True)
class QubitModel:
    """A physical qubit model: instruction set, operation times and error rates.

    Durations accept integer ticks (1 tick = 1e-21 s), float seconds or strings such as
    ``"50 ns"`` and are stored as ticks. Missing values take the reference estimator's defaults:
    for gate-based qubits the two-qubit and T gate times default to the one-qubit gate time, the
    two-qubit gate error rate to the one-qubit one and the idle error rate to the measurement
    error rate; for Majorana qubits the joint-measurement and T gate times default to the
    measurement time and the joint-measurement and idle error rates to the measurement readout
    error rate (docs/background/fault-tolerance.md §1).

    Parameters
    ----------
    name : str
    instruction_set : {"gate_based", "majorana"}
    one_qubit_measurement_time : duration
        Required.
    one_qubit_gate_time, two_qubit_gate_time : duration
        Gate-based only (one-qubit gate time required).
    two_qubit_joint_measurement_time : duration
        Majorana only.
    t_gate_time : duration
        Time of a physical T gate (the first distillation round runs on physical T gates).
    one_qubit_measurement_error_rate : float
        Required; for Majorana qubits the *process* error rate of a measurement.
    one_qubit_measurement_readout_error_rate : float
        Majorana only: the readout error rate (defaults to the process rate).
    two_qubit_joint_measurement_error_rate, two_qubit_joint_measurement_readout_error_rate : float
        Majorana only: process and readout error rates of a joint measurement.
    one_qubit_gate_error_rate, two_qubit_gate_error_rate : float
        Gate-based only (one-qubit gate error rate required).
    t_gate_error_rate : float
        Required: the error rate of the physical T states fed to distillation.
    idle_error_rate : float

    Raises
    ------
    ModelDomainError
        A missing required value, a non-positive duration, an error rate outside (0, 1).
    """

    name: str
    instruction_set: str
    one_qubit_measurement_time: Any = None
    one_qubit_gate_time: Any = None
    two_qubit_gate_time: Any = None
    two_qubit_joint_measurement_time: Any = None
    t_gate_time: Any = None
    one_qubit_measurement_error_rate: Any = None
    one_qubit_measurement_readout_error_rate: Any = None
    two_qubit_joint_measurement_error_rate: Any = None
    two_qubit_joint_measurement_readout_error_rate: Any = None
    one_qubit_gate_error_rate: Any = None
    two_qubit_gate_error_rate: Any = None
    t_gate_error_rate: Any = None
    idle_error_rate: Any = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        where = f"qubit model {self.name!r}"
        if self.instruction_set not in ("gate_based", "majorana"):
            raise ModelDomainError(
                f"{where}: instruction_set must be 'gate_based' or 'majorana', "
                f"got {self.instruction_set!r}"
            )
        gate = self.instruction_set == "gate_based"
        required = ["one_qubit_measurement_time", "one_qubit_measurement_error_rate"]
        required += ["t_gate_error_rate"]
        only = (
            ("two_qubit_joint_measurement_time", "two_qubit_joint_measurement_error_rate")
            + ("two_qubit_joint_measurement_readout_error_rate",)
            + ("one_qubit_measurement_readout_error_rate",)
            if gate
            else ("one_qubit_gate_time", "two_qubit_gate_time", "one_qubit_gate_error_rate")
            + ("two_qubit_gate_error_rate",)
        )
        if gate:
            required += ["one_qubit_gate_time", "one_qubit_gate_error_rate"]
        for name in required:
            if getattr(self, name) is None:
                raise ModelDomainError(f"{where}: {name} is required for {self.instruction_set}")
        for name in only:
            if getattr(self, name) is not None:
                raise ModelDomainError(
                    f"{where}: {name} does not apply to a {self.instruction_set} qubit"
                )
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or f.name in ("name", "instruction_set"):
                continue
            put(f.name, _duration(v, f"{where}: {f.name}") if f.name.endswith("_time") else v)
            if f.name.endswith("_rate"):
                put(f.name, _rate(v, f"{where}: {f.name}"))
        if gate:
            if self.two_qubit_gate_time is None:
                put("two_qubit_gate_time", self.one_qubit_gate_time)
            if self.t_gate_time is None:
                put("t_gate_time", self.one_qubit_gate_time)
            if self.two_qubit_gate_error_rate is None:
                put("two_qubit_gate_error_rate", self.one_qubit_gate_error_rate)
            if self.idle_error_rate is None:
                put("idle_error_rate", self.one_qubit_measurement_error_rate)
        else:
            if self.one_qubit_measurement_readout_error_rate is None:
                put(
                    "one_qubit_measurement_readout_error_rate",
                    self.one_qubit_measurement_error_rate,
                )
            readout = self.one_qubit_measurement_readout_error_rate
            if self.two_qubit_joint_measurement_time is None:
                put("two_qubit_joint_measurement_time", self.one_qubit_measurement_time)
            if self.t_gate_time is None:
                put("t_gate_time", self.one_qubit_measurement_time)
            if self.two_qubit_joint_measurement_error_rate is None:
                put("two_qubit_joint_measurement_error_rate", readout)
            if self.two_qubit_joint_measurement_readout_error_rate is None:
                put("two_qubit_joint_measurement_readout_error_rate", readout)
            if self.idle_error_rate is None:
                put("idle_error_rate", readout)

    @property
    def clifford_error_rate(self) -> float:
        """The Clifford error rate the code sees: the worst of the Clifford operations' rates."""
        if self.instruction_set == "gate_based":
            return max(
                self.one_qubit_gate_error_rate, self.two_qubit_gate_error_rate, self.idle_error_rate
            )
        return max(
            self.idle_error_rate,
            self.one_qubit_measurement_error_rate,
            self.two_qubit_joint_measurement_error_rate,
        )

    @property
    def readout_error_rate(self) -> float:
        """The readout error rate (Majorana: the worse of one- and two-qubit readout)."""
        if self.instruction_set == "gate_based":
            return self.one_qubit_measurement_error_rate
        return max(
            self.one_qubit_measurement_readout_error_rate,
            self.two_qubit_joint_measurement_readout_error_rate,
        )


def _gate(name, meas, gate, err, t_err):
    return QubitModel(
        name,
        "gate_based",
        one_qubit_measurement_time=meas,
        one_qubit_gate_time=gate,
        one_qubit_measurement_error_rate=err,
        one_qubit_gate_error_rate=err,
        t_gate_error_rate=t_err,
    )


def _majorana(name, err, t_err):
    return QubitModel(
        name,
        "majorana",
        one_qubit_measurement_time="100 ns",
        one_qubit_measurement_error_rate=err,
        t_gate_error_rate=t_err,
    )


#: The six named qubit models of Beverland et al. Table II (docs/background/references.md#
#: beverland-2022), with the values the reference estimator uses.
QUBIT_MODELS: Mapping[str, QubitModel] = MappingProxyType(
    {
        "qubit_gate_ns_e3": _gate("qubit_gate_ns_e3", "100 ns", "50 ns", 1e-3, 1e-3),
        "qubit_gate_ns_e4": _gate("qubit_gate_ns_e4", "100 ns", "50 ns", 1e-4, 1e-4),
        "qubit_gate_us_e3": _gate("qubit_gate_us_e3", "100 us", "100 us", 1e-3, 1e-6),
        "qubit_gate_us_e4": _gate("qubit_gate_us_e4", "100 us", "100 us", 1e-4, 1e-6),
        "qubit_maj_ns_e4": _majorana("qubit_maj_ns_e4", 1e-4, 0.05),
        "qubit_maj_ns_e6": _majorana("qubit_maj_ns_e6", 1e-6, 0.01),
    }
)


@dataclass(frozen=True, slots=True)
class QecScheme:
    """A QEC code: logical error model, logical cycle time and footprint per logical qubit.

    Logical error rate per logical qubit and cycle ``a·d^k·(p/p*)^((d+1)/2)`` (integer division
    in the exponent), ``p`` the physical error rate (the worse of the Clifford and readout rates),
    ``p*`` the threshold, ``a`` the crossing prefactor, ``k`` the distance coefficient power.
    Logical cycle ``d·(c_2q·t_2q + c_m·t_meas + c_jm·t_joint + c_1q·t_1q)``; physical qubits per
    logical qubit ``q2·d² + q1·d + q0``.

    Parameters
    ----------
    name : str
    error_correction_threshold, crossing_prefactor : float
        ``p*`` in (0, 1); ``a`` in (0, 0.5] (the reference's bound).
    distance_coefficient_power : int
        ``k >= 0``.
    cycle_two_qubit_gate, cycle_measurement, cycle_joint_measurement, cycle_one_qubit_gate : int
        Operation counts per code distance in one logical cycle (>= 0, one of them > 0).
    qubits_d2, qubits_d1, qubits_d0 : int
        Coefficients of the footprint polynomial.
    max_code_distance : int
        Largest code distance allowed (the reference's default, 50).
    majorana_only : bool
        The scheme needs a Majorana instruction set (the Floquet code).
    """

    name: str
    error_correction_threshold: float
    crossing_prefactor: float
    distance_coefficient_power: int = 0
    cycle_two_qubit_gate: int = 0
    cycle_measurement: int = 0
    cycle_joint_measurement: int = 0
    cycle_one_qubit_gate: int = 0
    qubits_d2: int = 2
    qubits_d1: int = 0
    qubits_d0: int = 0
    max_code_distance: int = 50
    majorana_only: bool = False

    def __post_init__(self) -> None:
        where = f"QEC scheme {self.name!r}"
        _rate(self.error_correction_threshold, f"{where}: error_correction_threshold")
        if not 0.0 < self.crossing_prefactor <= 0.5:
            raise ModelDomainError(f"{where}: crossing_prefactor must be in (0, 0.5]")
        cyc = (
            self.cycle_two_qubit_gate,
            self.cycle_measurement,
            self.cycle_joint_measurement,
            self.cycle_one_qubit_gate,
        )
        if min(cyc) < 0 or max(cyc) <= 0 or self.distance_coefficient_power < 0:
            raise ModelDomainError(f"{where}: cycle coefficients must be >= 0, one of them > 0")
        if self.max_code_distance < 1:
            raise ModelDomainError(f"{where}: max_code_distance must be >= 1")
        if any(self.physical_qubits(d) <= 0 for d in range(1, self.max_code_distance + 1, 2)):
            raise ModelDomainError(f"{where}: the footprint must be > 0 at every distance")

    def physical_qubits(self, d: int) -> int:
        """Physical qubits of one logical qubit at code distance ``d``."""
        return self.qubits_d2 * d * d + self.qubits_d1 * d + self.qubits_d0

    def cycle_ticks(self, qubit: QubitModel, d: int) -> int:
        """Logical cycle time at code distance ``d``, in ticks."""
        per = self.cycle_measurement * qubit.one_qubit_measurement_time
        if self.cycle_two_qubit_gate:
            per += self.cycle_two_qubit_gate * _need(qubit, "two_qubit_gate_time", self)
        if self.cycle_one_qubit_gate:
            per += self.cycle_one_qubit_gate * _need(qubit, "one_qubit_gate_time", self)
        if self.cycle_joint_measurement:
            per += self.cycle_joint_measurement * _need(
                qubit, "two_qubit_joint_measurement_time", self
            )
        return per * d


def _need(qubit: QubitModel, name: str, scheme: QecScheme) -> int:
    v = getattr(qubit, name)
    if v is None:
        raise ModelDomainError(
            f"QEC scheme {scheme.name!r} needs {name}, which qubit model {qubit.name!r} "
            f"({qubit.instruction_set}) does not have"
        )
    return v


#: Named QEC schemes (Beverland et al. §IV; docs/background/references.md#fowler-2012,
#: #chao-2020, #paetznick-2023): ``surface_code`` resolves to its gate-based or
#: measurement-based (Majorana) variant by the qubit's instruction set; ``floquet_code`` needs a
#: Majorana qubit.
QEC_SCHEMES: Mapping[str, Mapping[str, QecScheme]] = MappingProxyType(
    {
        "surface_code": MappingProxyType(
            {
                "gate_based": QecScheme(
                    "surface_code", 0.01, 0.03, cycle_two_qubit_gate=4, cycle_measurement=2
                ),
                "majorana": QecScheme("surface_code", 0.0015, 0.08, cycle_measurement=20),
            }
        ),
        "floquet_code": MappingProxyType(
            {
                "majorana": QecScheme(
                    "floquet_code",
                    0.01,
                    0.07,
                    cycle_measurement=3,
                    qubits_d2=4,
                    qubits_d1=8,
                    qubits_d0=-8,
                    majorana_only=True,
                )
            }
        ),
    }
)


def qubit_model(qubit: str | QubitModel) -> QubitModel:
    """The :class:`QubitModel` for a name of :data:`QUBIT_MODELS` (or the model itself)."""
    if isinstance(qubit, QubitModel):
        return qubit
    try:
        return QUBIT_MODELS[qubit]
    except (KeyError, TypeError):
        raise ModelDomainError(
            f"unknown qubit model {qubit!r} (expected one of {', '.join(QUBIT_MODELS)} "
            "or a QubitModel)"
        ) from None


def qec_scheme(qec: str | QecScheme, qubit: QubitModel) -> QecScheme:
    """The :class:`QecScheme` for a name of :data:`QEC_SCHEMES` on ``qubit`` (or the scheme)."""
    if isinstance(qec, QecScheme):
        scheme = qec
    else:
        variants = QEC_SCHEMES.get(qec) if isinstance(qec, str) else None
        if variants is None:
            raise ModelDomainError(
                f"unknown QEC scheme {qec!r} (expected one of {', '.join(QEC_SCHEMES)} "
                "or a QecScheme)"
            )
        variant = variants.get(qubit.instruction_set)
        if variant is None:
            raise ModelDomainError(
                f"QEC scheme {qec!r} needs a Majorana qubit model; {qubit.name!r} is "
                f"{qubit.instruction_set} (use 'surface_code')"
            )
        scheme = variant
    if scheme.majorana_only and qubit.instruction_set != "majorana":
        raise ModelDomainError(
            f"QEC scheme {scheme.name!r} needs a Majorana qubit model; {qubit.name!r} is "
            f"{qubit.instruction_set} (use 'surface_code')"
        )
    p = max(qubit.clifford_error_rate, qubit.readout_error_rate)
    if p >= scheme.error_correction_threshold:
        raise ModelDomainError(
            f"qubit model {qubit.name!r}: physical error rate {p:g} is not below the "
            f"{scheme.name} threshold {scheme.error_correction_threshold:g}"
        )
    return scheme


def _logical_error_rate(qubit: QubitModel, scheme: QecScheme, d: int) -> float:
    p = max(qubit.clifford_error_rate, qubit.readout_error_rate)
    return (
        scheme.crossing_prefactor
        * float(d**scheme.distance_coefficient_power)
        * (p / scheme.error_correction_threshold) ** ((d + 1) // 2)
    )


def _code_distance(qubit: QubitModel, scheme: QecScheme, required: float) -> int:
    """Smallest odd code distance whose logical error rate is <= ``required`` (Beverland E2)."""
    if scheme.distance_coefficient_power == 0:
        p = max(qubit.clifford_error_rate, qubit.readout_error_rate)
        x = 2.0 * math.log(scheme.crossing_prefactor / required)
        x /= math.log(scheme.error_correction_threshold / p)
        # ceil(x − 1), then the next odd number (the reference's `| 1`); below 1 is distance 1
        d = max(0, math.ceil(x - 1.0)) | 1
    else:
        d = 1
        while _logical_error_rate(qubit, scheme, d) > required:
            d += 2
            if d > scheme.max_code_distance:
                break
    if d > scheme.max_code_distance:
        raise ModelDomainError(
            f"the required code distance {d} exceeds the maximum {scheme.max_code_distance} "
            f"of {scheme.name} (logical error rate {required:.3g} per qubit and cycle): "
            "raise the error budget or use a better qubit model"
        )
    return d


# -- T factories ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unit:
    """A 15-to-1 distillation unit (Beverland et al. App. C, Table VII)."""

    name: str
    physical_qubits: int  # qubits when run on physical qubits
    physical_cycles: int  # in T-gate times
    logical_qubits: int  # logical patches when run on encoded qubits
    logical_cycles: int  # in logical cycles


#: The two units of the reference: index 0 and 1 in every design.
_UNITS = (
    _Unit("15-to-1 RM prep", 31, 24, 31, 11),
    _Unit("15-to-1 space efficient", 12, 45, 20, 13),
)


def _unit_failure(p_in, c):
    """Probability that a 15-to-1 unit rejects its output (input error p_in, Clifford error c)."""
    return 15.0 * p_in + 356.0 * c


def _unit_output_error(p_in, c):
    """Error rate of an accepted output T state."""
    return 35.0 * p_in**3 + 7.1 * c


@dataclass(frozen=True, slots=True)
class DistillationRound:
    """One round of a T factory: ``units`` copies of one distillation unit at one code distance.

    ``code_distance`` 1 means the unit runs on physical qubits.
    """

    unit: str
    units: int
    code_distance: int
    physical_qubits: int
    duration_ticks: int

    @property
    def duration_s(self) -> float:
        return self.duration_ticks / TICKS_PER_SECOND


@dataclass(frozen=True, slots=True)
class TFactory:
    """A T factory design: its rounds, footprint, duration and output.

    Attributes
    ----------
    rounds : tuple of DistillationRound
    physical_qubits : int
        The largest round (rounds run one after the other and reuse the qubits).
    duration_ticks : int
        Sum of the rounds' durations.
    output_t_states : int
        T states one run delivers (with probability >= 99 %).
    input_t_states : int
        Physical T states one run consumes.
    output_error_rate : float
        Error rate of a delivered T state.
    """

    rounds: tuple[DistillationRound, ...]
    physical_qubits: int
    duration_ticks: int
    output_t_states: int
    input_t_states: int
    output_error_rate: float

    @property
    def duration_s(self) -> float:
        return self.duration_ticks / TICKS_PER_SECOND


@dataclass(frozen=True, slots=True, eq=False)
class _FactoryTable:
    """Every buildable design of one (qubit model, QEC scheme, round count) family, as arrays."""

    units: np.ndarray  # (n, L) unit index per round
    dist: np.ndarray  # (n, L) code distance index per round (distance = 2·i + 1)
    counts: np.ndarray  # (n, L) units per round
    error: np.ndarray  # output T error rate
    max_d: np.ndarray  # code distance of the last round
    qubits: np.ndarray  # physical qubits (int64)
    duration: np.ndarray  # in units of `tick_unit` ticks (int64)
    volume: np.ndarray  # qubits·duration / outputs (float)
    tick_unit: int = 1  # the gcd of the qubit model's durations, so that int64 suffices

    @property
    def size(self) -> int:
        return int(self.error.shape[0])


def _min_units(need: np.ndarray, q: np.ndarray, r: float) -> np.ndarray:
    """Smallest n with P(at least ``need`` of n units succeed) >= 1 − r, each failing with ``q``.

    "At least ``need`` succeed with probability >= 1 − r" is the reference's "the r-quantile of
    the binomial number of successes is >= need", i.e. P(failures >= n − need + 1) < r.
    """

    # Designs share few distinct (need, q) pairs (q depends on one or two rounds' distances):
    # solve each pair once.
    keys, inverse = np.unique(need.astype(float) + 1j * q, return_inverse=True)
    return _min_units_unique(keys.real.copy(), keys.imag.copy(), r)[inverse.reshape(-1)]


def _min_units_unique(need: np.ndarray, q: np.ndarray, r: float) -> np.ndarray:
    from scipy.special import bdtrc

    need = need.astype(np.int64)
    hi = need.copy()
    lo = need - 1  # fewer units than outputs needed always fail
    # doubling until every entry succeeds (only the failing entries are recomputed)
    act = np.nonzero(~(bdtrc(hi - need, hi, q) < r))[0]
    while act.size:
        lo[act] = hi[act]
        hi[act] *= 2
        done = (bdtrc(hi[act] - need[act], hi[act], q[act]) < r) | (hi[act] >= _UNREASONABLE_UNITS)
        act = act[~done]
    # bisection on the entries with a gap: lo fails, hi succeeds
    act = np.nonzero(hi - lo > 1)[0]
    while act.size:
        mid = (lo[act] + hi[act]) // 2
        good = bdtrc(mid - need[act], mid, q[act]) < r
        hi[act[good]] = mid[good]
        lo[act[~good]] = mid[~good]
        act = act[hi[act] - lo[act] > 1]
    return hi


def _build_family(qubit: QubitModel, scheme: QecScheme, rounds: int) -> _FactoryTable:
    """All designs with ``rounds`` rounds: unit choices × non-decreasing code distances."""
    n_dist = (scheme.max_code_distance + 1) // 2  # distances 1, 3, ..., max (odd)
    ds = np.arange(n_dist) * 2 + 1
    unit = _tick_unit(qubit)
    patch_q = np.array([scheme.physical_qubits(int(d)) for d in ds], dtype=np.int64)
    cycles = [scheme.cycle_ticks(qubit, int(d)) // unit for d in ds]
    _check_span(qubit, scheme)
    cycle = np.array(cycles, dtype=np.int64)
    lerr = np.array([_logical_error_rate(qubit, scheme, int(d)) for d in ds])
    t_err = qubit.t_gate_error_rate
    c_phys = qubit.clifford_error_rate
    phys_valid = c_phys <= 0.1 * t_err
    valid_log = np.nonzero(lerr <= 0.1 * t_err)[0]
    if valid_log.size == 0 and not (phys_valid and rounds == 1):
        return _empty_table(rounds, unit)
    min_log = int(valid_log[0]) if valid_log.size else n_dist
    first_lb = 0 if phys_valid else max(1, min_log)
    combos = [
        c
        for c in itertools.combinations_with_replacement(range(n_dist), rounds)
        if c[0] >= first_lb and all(i >= min_log for i in c[1:])
    ]
    if not combos:
        return _empty_table(rounds, unit)
    dist = np.array(combos, dtype=np.int64)
    rows = [
        _evaluate(dist, units, patch_q, cycle, lerr, qubit, rounds, unit)
        for units in itertools.product(range(len(_UNITS)), repeat=rounds)
    ]
    cat = [np.concatenate(a) for a in zip(*rows, strict=True)]
    return _table(cat, unit)


def _check_span(qubit: QubitModel, scheme: QecScheme) -> None:
    """Refuse a model whose factory table would not fit in 64-bit integers."""
    unit = _tick_unit(qubit)
    largest = 2 * ((scheme.max_code_distance + 1) // 2) - 1  # the table's largest odd distance
    slowest = scheme.cycle_ticks(qubit, largest) // unit
    if slowest * 100 * max(u.logical_cycles for u in _UNITS) >= 2**62:
        raise ModelDomainError(
            f"qubit model {qubit.name!r}: its durations span too many orders of magnitude "
            "for the factory table (the slowest logical cycle over the greatest common "
            "divisor of its operation times exceeds 2^55)"
        )


def check_model(qubit: str | QubitModel, qec: str | QecScheme) -> tuple[QubitModel, QecScheme]:
    """The resolved (qubit model, QEC scheme) pair, refused as :func:`estimate` would refuse it.

    For validation before any estimate: an unknown name, a Floquet code on a gate-based model,
    a physical error rate not below the threshold, durations no factory table can hold.

    Raises
    ------
    ModelDomainError
    """
    model = qubit_model(qubit)
    scheme = qec_scheme(qec, model)
    _check_span(model, scheme)
    return model, scheme


def _tick_unit(qubit: QubitModel) -> int:
    """Greatest common divisor of a model's durations (50 ns for ``qubit_gate_ns_e3``)."""
    times = [getattr(qubit, f.name) for f in fields(qubit) if f.name.endswith("_time")]
    return math.gcd(*[t for t in times if t is not None])


def _table(columns: Sequence[np.ndarray], tick_unit: int) -> _FactoryTable:
    """A table from its array columns in field order."""
    units, dist, counts, error, max_d, qubits, duration, volume = columns
    return _FactoryTable(
        units, dist, counts, error, max_d, qubits, duration, volume, tick_unit=tick_unit
    )


def _empty_table(rounds: int, unit: int) -> _FactoryTable:
    z = np.zeros((0, rounds), dtype=np.int64)
    e = np.zeros(0)
    i = e.astype(np.int64)
    return _FactoryTable(z, z, z, e, i, i, i, e, tick_unit=unit)


def _evaluate(dist, units, patch_q, cycle, lerr, qubit, rounds, unit):
    """Build the designs ``units`` × every distance row of ``dist``; keep the buildable ones."""
    n = dist.shape[0]
    q_round = np.zeros((n, rounds), dtype=np.int64)
    t_round = np.zeros((n, rounds), dtype=np.int64)
    c_round = np.zeros((n, rounds))
    for p, u in enumerate(units):
        spec = _UNITS[u]
        i = dist[:, p]
        physical = (i == 0) & (p == 0)
        q_round[:, p] = np.where(physical, spec.physical_qubits, spec.logical_qubits * patch_q[i])
        t_round[:, p] = np.where(
            physical,
            spec.physical_cycles * (qubit.t_gate_time // unit),
            spec.logical_cycles * cycle[i],
        )
        c_round[:, p] = np.where(physical, qubit.clifford_error_rate, lerr[i])
    err_in = np.empty((n, rounds + 1))
    err_in[:, 0] = qubit.t_gate_error_rate
    ok = np.ones(n, dtype=bool)
    for p in range(rounds):
        out = _unit_output_error(err_in[:, p], c_round[:, p])
        ok &= out <= err_in[:, p]
        err_in[:, p + 1] = out
    fail = _unit_failure(err_in[:, :rounds], c_round)
    ok &= np.all((fail > 0.0) & (fail < 1.0), axis=1)
    r = _FACTORY_FAILURE / rounds
    counts = np.zeros((n, rounds))
    need = np.ones(n)
    fsafe = np.where(ok[:, None], fail, 0.5)
    for p in range(rounds - 1, -1, -1):
        counts[:, p] = _min_units(need, fsafe[:, p], r)
        need = 15.0 * counts[:, p]
    ok &= np.all(counts < _UNREASONABLE_UNITS, axis=1)
    counts = counts.astype(np.int64)
    qubits = np.max(counts * q_round, axis=1)
    duration = np.sum(t_round, axis=1)
    # The last round needs one output and its unit count is the smallest that delivers it, so a
    # run delivers exactly one T state (the r-quantile grows by at most one per added unit).
    volume = qubits.astype(float) * duration.astype(float)
    keep = np.nonzero(ok)[0]
    u_arr = np.broadcast_to(np.array(units, dtype=np.int64), (n, rounds))
    return (
        u_arr[keep],
        dist[keep],
        counts[keep],
        err_in[keep, rounds],
        dist[keep, rounds - 1],
        qubits[keep],
        duration[keep],
        volume[keep],
    )


@lru_cache(maxsize=64)
def _factory_table(qubit: QubitModel, scheme: QecScheme, rounds: int) -> _FactoryTable:
    """Memoized design family; depends on the qubit model and scheme only (pure)."""
    return _build_family(qubit, scheme, rounds)


@lru_cache(maxsize=64)
def _main_table(qubit: QubitModel, scheme: QecScheme) -> _FactoryTable:
    """Designs of 1 to 3 rounds, pruned of designs no query can pick, sorted by volume."""
    parts = [_factory_table(qubit, scheme, r) for r in range(1, _MAX_ROUNDS + 1)]
    return _prune(_concat(parts))


@lru_cache(maxsize=64)
def _extra_table(qubit: QubitModel, scheme: QecScheme) -> _FactoryTable:
    return _prune(_concat([_factory_table(qubit, scheme, _MAX_EXTRA_ROUNDS)]))


def _concat(parts: list[_FactoryTable]) -> _FactoryTable:
    width = max(p.units.shape[1] for p in parts)

    def pad(a):
        return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=-1)

    return _FactoryTable(
        np.concatenate([pad(p.units) for p in parts]),
        np.concatenate([pad(p.dist) for p in parts]),
        np.concatenate([pad(p.counts) for p in parts]),
        np.concatenate([p.error for p in parts]),
        np.concatenate([p.max_d for p in parts]),
        np.concatenate([p.qubits for p in parts]),
        np.concatenate([p.duration for p in parts]),
        np.concatenate([p.volume for p in parts]),
        tick_unit=parts[0].tick_unit,
    )


def _prune(t: _FactoryTable) -> _FactoryTable:
    """Drop designs that another design beats on every axis a selection looks at.

    A query picks the smallest volume among designs with error <= τ, last distance <= d and
    duration <= T; a design with no larger volume, error, distance and duration than another is
    at least as good for every query. Sorting by (volume, error, distance, duration) puts every
    dominating design before the ones it dominates; one sweep with a staircase of (error,
    duration) per distance finds them.
    """
    if t.size == 0:
        return t
    order = np.lexsort((t.duration, t.max_d, t.error, t.volume))
    n_d = int(t.max_d.max()) + 1
    # stairs[k]: designs kept so far with max_d <= k, as parallel lists sorted by error with
    # strictly decreasing duration (a Pareto staircase).
    stairs_e: list[list[float]] = [[] for _ in range(n_d)]
    stairs_t: list[list[int]] = [[] for _ in range(n_d)]
    import bisect

    keep = []
    errs, durs, dmax = t.error.tolist(), t.duration.tolist(), t.max_d.tolist()
    for i in order.tolist():
        e, du, k = errs[i], durs[i], dmax[i]
        se, st = stairs_e[k], stairs_t[k]
        j = bisect.bisect_right(se, e)
        if j and st[j - 1] <= du:
            continue  # an earlier design with error <= e has duration <= du
        keep.append(i)
        for kk in range(k, n_d):
            se, st = stairs_e[kk], stairs_t[kk]
            j = bisect.bisect_right(se, e)
            if j and st[j - 1] <= du:
                continue
            # remove the points this one dominates (error >= e and duration >= du)
            end = j
            while end < len(se) and st[end] >= du:
                end += 1
            se[j:end] = [e]
            st[j:end] = [du]
    idx = np.array(keep, dtype=np.int64)
    arrays = [getattr(t, f.name)[idx] for f in fields(_FactoryTable) if f.name != "tick_unit"]
    return _table(arrays, t.tick_unit)


def _pick_factory(
    table: _FactoryTable,
    cand: np.ndarray,
    min_cycles: int,
    max_cycles: int,
    cycle: int,
) -> tuple[int, int] | None:
    """Row of the chosen design and the cycle count it implies (Beverland App. C selection).

    ``cand`` marks the designs good enough (error and last distance); the table is sorted by
    volume. First the smallest-volume design that finishes within the algorithm's
    ``min_cycles``; else the smallest-volume design (then fewest cycles) whose own duration fits
    ``max_cycles``.
    """
    cycle //= table.tick_unit  # a logical cycle is a whole number of the table's time units
    limit = min_cycles * cycle
    inside = cand & (table.duration <= limit) if limit < 2**62 else cand
    if inside.any():
        return int(np.argmax(inside)), min_cycles  # sorted by volume: the first is the smallest
    own = -(-table.duration // cycle)
    fits = cand & (own <= max_cycles)
    if not fits.any():
        return None
    rows = np.nonzero(fits)[0]
    best = rows[table.volume[rows] == table.volume[rows[0]]]
    i = int(best[np.argmin(own[best])])
    return i, int(own[i])


def _design(table: _FactoryTable, i: int, qubit: QubitModel, scheme: QecScheme) -> TFactory:
    """The :class:`TFactory` record of row ``i``."""
    rounds = []
    for p in range(table.units.shape[1]):
        u = int(table.units[i, p])
        if u < 0:
            break
        spec = _UNITS[u]
        k = int(table.dist[i, p])
        n = int(table.counts[i, p])
        d = 2 * k + 1
        if k == 0 and p == 0 and qubit.clifford_error_rate <= 0.1 * qubit.t_gate_error_rate:
            q, t, dd = spec.physical_qubits, spec.physical_cycles * qubit.t_gate_time, 1
        else:
            q, t, dd = (
                spec.logical_qubits * scheme.physical_qubits(d),
                spec.logical_cycles * scheme.cycle_ticks(qubit, d),
                d,
            )
        rounds.append(DistillationRound(spec.name, n, dd, n * q, t))
    return TFactory(
        tuple(rounds),
        int(table.qubits[i]),
        int(table.duration[i]) * table.tick_unit,
        1,
        15 * rounds[0].units,
        float(table.error[i]),
    )


def _trivial_factory(qubit: QubitModel, scheme: QecScheme, d: int) -> TFactory:
    """No distillation: physical T states are good enough; one logical patch, one cycle."""
    q = scheme.physical_qubits(d)
    t = scheme.cycle_ticks(qubit, d)
    return TFactory(
        (DistillationRound("trivial 1-to-1", 1, d, q, t),), q, t, 1, 1, qubit.t_gate_error_rate
    )


# -- the estimate -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FtEstimate:
    """Physical resources of one fault-tolerant computation.

    Attributes
    ----------
    backend : str
        ``"builtin"`` or ``"qdk"`` (the reference estimator).
    qubit, qec : str
        Names of the qubit model and the QEC scheme.
    error_budget : float
        Total error budget.
    counts : tuple of int
        The logical counts estimated, in the order of :data:`COUNT_KEYS` (a tuple, so the record
        pickles and hashes; :attr:`counts_dict` gives the dictionary).
    logical_qubits : int
        Logical qubits after layout, ``2·Q + ⌈√(8Q)⌉ + 1``.
    algorithmic_logical_depth : int
        Logical cycles the algorithm needs.
    logical_depth : int
        Logical cycles run (longer when a factory is slower than the algorithm).
    t_states : int
        T states consumed (T gates, 4 per CCZ/CCiX, ``t_per_rotation`` per rotation).
    t_per_rotation : int
        T states per arbitrary rotation (0 without rotations).
    code_distance : int
    physical_qubits_per_logical_qubit : int
    logical_cycle_ticks : int
        Logical cycle time in exact ticks (``logical_cycle_s`` in seconds).
    logical_error_rate : float
        Per logical qubit and cycle at the chosen distance.
    required_logical_error_rate, required_t_state_error_rate : float
    budget_logical, budget_t_states, budget_rotations : float
        The error budget split.
    t_factories : int
        Factory copies running in parallel (0 without T states).
    t_factory_runs : int
        Runs of all copies together.
    t_factory : TFactory or None
        The factory design.
    physical_qubits_for_algorithm, physical_qubits_for_factories, physical_qubits : int
    runtime_ticks : int
        Wall time in exact ticks (``runtime_s`` in seconds).
    rqops : int
        Reliable quantum operations per second: logical qubits × logical cycles per second.
    """

    backend: str
    qubit: str
    qec: str
    error_budget: float
    counts: tuple[int, ...]
    logical_qubits: int
    algorithmic_logical_depth: int
    logical_depth: int
    t_states: int
    t_per_rotation: int
    code_distance: int
    physical_qubits_per_logical_qubit: int
    logical_cycle_ticks: int
    logical_error_rate: float
    required_logical_error_rate: float
    required_t_state_error_rate: float
    budget_logical: float
    budget_t_states: float
    budget_rotations: float
    t_factories: int
    t_factory_runs: int
    t_factory: TFactory | None
    physical_qubits_for_algorithm: int
    physical_qubits_for_factories: int
    physical_qubits: int
    runtime_ticks: int
    rqops: int

    @property
    def counts_dict(self) -> dict[str, int]:
        """The counts as the reference's ``LogicalCounts`` dictionary."""
        return dict(zip(COUNT_KEYS, self.counts, strict=True))

    @property
    def logical_cycle_s(self) -> float:
        """Logical cycle time in seconds."""
        return self.logical_cycle_ticks / TICKS_PER_SECOND

    @property
    def runtime_s(self) -> float:
        """Runtime in seconds."""
        return self.runtime_ticks / TICKS_PER_SECOND

    @property
    def clock_frequency_hz(self) -> float:
        """Logical cycles per second."""
        return TICKS_PER_SECOND / self.logical_cycle_ticks

    @property
    def failure_probability(self) -> float:
        """Union bound on the probability that the computation fails, at most the budget.

        Logical errors of the Q_alg qubits over the cycles run (Q_alg · cycles · P_L(d)), faulty
        T states (T states × the factory's output error) and rotation synthesis (its share of
        the budget, which the synthesis meets by construction): the three parts of the budget
        split, each at the value the chosen design reaches (docs/background/fault-tolerance.md
        §5). A union bound, so it overstates a little; capped at the budget, which the estimate
        guarantees.

        Examples
        --------
        >>> e = estimate({"numQubits": 100, "tCount": 10**8}, qubit="qubit_gate_ns_e3",
        ...              error_budget=1e-3)
        >>> 0 < e.failure_probability <= 1e-3
        True
        """
        p = self.logical_qubits * self.logical_depth * self.logical_error_rate
        if self.t_factory is not None:
            p += self.t_states * self.t_factory.output_error_rate
        p += self.budget_rotations
        return min(p, self.error_budget)


def check_counts(counts: Mapping[str, Any]) -> dict[str, int]:
    """Validated logical counts: every key of :data:`COUNT_KEYS` as a non-negative int.

    Raises
    ------
    ModelDomainError
        An unknown key, a negative, non-integral or non-finite value, rotations without a
        rotation depth (or a depth above the count).
    """
    if not isinstance(counts, Mapping):
        raise ModelDomainError(f"logical counts must be a mapping of {COUNT_KEYS}, got {counts!r}")
    unknown = [k for k in counts if k not in COUNT_KEYS]
    if unknown:
        raise ModelDomainError(
            f"unknown logical count {unknown[0]!r} (expected keys {', '.join(COUNT_KEYS)})"
        )
    out = {}
    for k in COUNT_KEYS:
        v = counts.get(k, 0)
        if type(v) is not int:  # the common case, a plain int, skips the checks below
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                raise ModelDomainError(f"logical count {k} must be an integer, got {v!r}")
            if isinstance(v, float | np.floating) and (not math.isfinite(v) or v != math.floor(v)):
                raise ModelDomainError(f"logical count {k} must be an integer, got {v!r}")
            v = int(v)
        if v < 0:
            raise ModelDomainError(f"logical count {k} must be >= 0, got {counts.get(k)!r}")
        out[k] = v
    if out["rotationDepth"] > out["rotationCount"]:
        raise ModelDomainError(
            f"rotationDepth {out['rotationDepth']} exceeds rotationCount {out['rotationCount']}"
        )
    if out["rotationCount"] and not out["rotationDepth"]:
        raise ModelDomainError("rotationCount > 0 needs rotationDepth >= 1")
    return out


def _check_budget(error_budget: Any) -> float:
    try:
        b = float(error_budget)
    except (TypeError, ValueError):
        b = math.nan
    if not 0.0 < b < 1.0:
        raise ModelDomainError(f"error_budget must be in (0, 1), got {error_budget!r}")
    return b


def estimate(
    counts: Mapping[str, Any],
    *,
    qubit: str | QubitModel = "qubit_gate_ns_e3",
    qec: str | QecScheme = "surface_code",
    error_budget: float = 1e-3,
    backend: str = "builtin",
) -> FtEstimate:
    """Physical resources for logical counts on a qubit model and QEC scheme.

    Parameters
    ----------
    counts : mapping
        ``LogicalCounts`` keys of the reference estimator (:data:`COUNT_KEYS`); missing keys are 0.
    qubit : str or QubitModel
        A name of :data:`QUBIT_MODELS` or a custom model.
    qec : str or QecScheme
        ``"surface_code"``, ``"floquet_code"`` (Majorana qubits only) or a custom scheme.
    error_budget : float
        Total probability of failure allowed, in (0, 1).
    backend : {"builtin", "qdk"}
        ``"qdk"`` runs the reference estimator (needs ``pip install hybridsim[ft]``).

    Returns
    -------
    FtEstimate

    Raises
    ------
    HybridSimError
        Bad input (one line saying what is wrong), an unreachable code distance, or the ``qdk``
        backend without its extra.
    """
    c = check_counts(counts)
    budget = _check_budget(error_budget)
    model = qubit_model(qubit)
    scheme = qec_scheme(qec, model)
    if backend == "builtin":
        return _estimate(tuple(c[k] for k in COUNT_KEYS), model, scheme, budget)
    if backend == "qdk":
        return _estimate_qdk(c, model, scheme, budget)
    raise ModelDomainError(f"unknown backend {backend!r} (expected one of {BACKENDS})")


def estimate_many(
    counts: list[Mapping[str, Any]],
    *,
    qubit: str | QubitModel = "qubit_gate_ns_e3",
    qec: str | QecScheme = "surface_code",
    error_budget: float = 1e-3,
) -> list[FtEstimate]:
    """:func:`estimate` (builtin backend) for many count sets on one qubit model and scheme.

    The model, scheme and budget are checked once; equal count sets are estimated once.
    """
    budget = _check_budget(error_budget)
    model = qubit_model(qubit)
    scheme = qec_scheme(qec, model)
    out = []
    for c in counts:
        cc = check_counts(c)
        out.append(_estimate(tuple(cc[k] for k in COUNT_KEYS), model, scheme, budget))
    return out


def _t_per_rotation(rotations: int, budget_rotations: float) -> int:
    if rotations == 0:
        return 0
    return math.ceil(_ROTATION_A * math.log2(rotations / budget_rotations) + _ROTATION_B)


@dataclass(frozen=True, slots=True)
class Layout:
    """What the counts and the budget fix before any code distance is chosen (§3–§5).

    Attributes
    ----------
    logical_qubits : int
        ``2·Q + ⌈√(8·Q)⌉ + 1``.
    depth : int
        Algorithmic logical depth in logical cycles.
    t_states : int
        T states consumed.
    t_per_rotation : int
    budget_logical, budget_t_states, budget_rotations : float
    """

    logical_qubits: int
    depth: int
    t_states: int
    t_per_rotation: int
    budget_logical: float
    budget_t_states: float
    budget_rotations: float


def logical_layout(counts: Mapping[str, Any], error_budget: float) -> Layout:
    """The :class:`Layout` of validated counts under a total error budget.

    Examples
    --------
    >>> lay = logical_layout({"numQubits": 100, "tCount": 10**8}, 1e-3)
    >>> lay.logical_qubits, lay.depth, lay.budget_logical   # 200 + ⌈√800⌉ + 1 = 230
    (230, 100000000, 0.0005)
    """
    c = check_counts(counts)
    return _layout(tuple(c[k] for k in COUNT_KEYS), _check_budget(error_budget))


def _layout(key: tuple[int, ...], budget: float) -> Layout:
    n_q, t, rot, rot_depth, ccz, ccix, meas = key
    if rot:
        b_log = b_t = b_rot = budget / 3.0
    elif t or ccz or ccix:
        b_log, b_t, b_rot = budget / 2.0, budget / 2.0, 0.0
    else:
        b_log, b_t, b_rot = budget, 0.0, 0.0
    t_rot = _t_per_rotation(rot, b_rot)
    q_alg = 2 * n_q + math.ceil(math.sqrt(8 * n_q)) + 1
    depth = (
        (meas + rot + t) * _MEASUREMENTS_PER_ROTATION
        + (ccz + ccix) * _MEASUREMENTS_PER_TOFFOLI
        + t_rot * rot_depth * _MEASUREMENTS_PER_ROTATION
    )
    m_states = _T_PER_CCZ * (ccz + ccix) + t + t_rot * rot
    return Layout(q_alg, depth, m_states, t_rot, b_log, b_t, b_rot)


@lru_cache(maxsize=65536)
def _estimate(
    key: tuple[int, ...], qubit: QubitModel, scheme: QecScheme, budget: float
) -> FtEstimate:
    lay = _layout(key, budget)
    q_alg, depth, m_states, t_rot = lay.logical_qubits, lay.depth, lay.t_states, lay.t_per_rotation
    b_log, b_t, b_rot = lay.budget_logical, lay.budget_t_states, lay.budget_rotations
    if depth == 0:
        raise ModelDomainError(
            "the logical counts have no operations (all of tCount, rotationCount, cczCount, "
            "ccixCount, measurementCount are 0): nothing to estimate"
        )
    required_t = b_t / m_states if m_states else math.inf
    cycles = depth
    while True:
        required = b_log / (q_alg * cycles)
        d = _code_distance(qubit, scheme, required)
        lerr = _logical_error_rate(qubit, scheme, d)
        max_cycles = math.floor(b_log / (q_alg * lerr))
        cycle = scheme.cycle_ticks(qubit, d)
        if m_states == 0:
            factory, copies, runs = None, 0, 0
            break
        picked = _choose_factory(qubit, scheme, required_t, d, cycles, max_cycles, cycle)
        if picked is not None:
            factory, cycles = picked
            per_copy = (cycles * cycle // factory.duration_ticks) * factory.output_t_states
            copies = -(-m_states // per_copy)
            runs = -(-m_states // (copies * factory.output_t_states))
            break
        cycles = max(max_cycles + 1, cycles + 1)
    per_logical = scheme.physical_qubits(d)
    alg_q = q_alg * per_logical
    fac_q = copies * factory.physical_qubits if factory else 0
    return FtEstimate(
        backend="builtin",
        qubit=qubit.name,
        qec=scheme.name,
        error_budget=budget,
        counts=key,
        logical_qubits=q_alg,
        algorithmic_logical_depth=depth,
        logical_depth=cycles,
        t_states=m_states,
        t_per_rotation=t_rot,
        code_distance=d,
        physical_qubits_per_logical_qubit=per_logical,
        logical_cycle_ticks=cycle,
        logical_error_rate=lerr,
        required_logical_error_rate=required,
        required_t_state_error_rate=required_t,
        budget_logical=b_log,
        budget_t_states=b_t,
        budget_rotations=b_rot,
        t_factories=copies,
        t_factory_runs=runs,
        t_factory=factory,
        physical_qubits_for_algorithm=alg_q,
        physical_qubits_for_factories=fac_q,
        physical_qubits=alg_q + fac_q,
        runtime_ticks=cycle * cycles,
        rqops=math.ceil(q_alg * (TICKS_PER_SECOND / cycle)),
    )


def _choose_factory(qubit, scheme, target, d, min_cycles, max_cycles, cycle):
    """(factory, cycles) or None when no design fits (Beverland App. C)."""
    if target > qubit.t_gate_error_rate:
        f = _trivial_factory(qubit, scheme, d)
        if f.duration_ticks <= min_cycles * cycle:
            return f, min_cycles
        own = -(-f.duration_ticks // cycle)
        return (f, own) if own <= max_cycles else None
    k = (d - 1) // 2
    extra = False
    table = _main_table(qubit, scheme)
    cand = (table.error <= target) & (table.max_d <= k)
    if not cand.any():
        extra = True  # no design of <= 3 rounds is good enough: try a fourth round
        table = _extra_table(qubit, scheme)
        cand = (table.error <= target) & (table.max_d <= k)
        if not cand.any():
            return None
    picked = _pick_factory(table, cand, min_cycles, max_cycles, cycle)
    if picked is None:
        return None
    i, cycles = picked
    return _design_of(qubit, scheme, extra, i), cycles


@lru_cache(maxsize=4096)
def _design_of(qubit: QubitModel, scheme: QecScheme, extra: bool, i: int) -> TFactory:
    table = _extra_table(qubit, scheme) if extra else _main_table(qubit, scheme)
    return _design(table, i, qubit, scheme)


# -- the reference estimator as a backend ------------------------------------------------------


def _ns(ticks: int) -> str:
    ns = Fraction(ticks, TICKS_PER_SECOND // 10**9)
    if ns.denominator != 1:
        raise ModelDomainError(
            f"the qdk backend takes whole nanoseconds; {float(ns)} ns is not "
            "(use backend='builtin')"
        )
    return f"{ns.numerator} ns"


def _qdk_params(model: QubitModel, scheme: QecScheme, budget: float) -> dict:
    if model.name in QUBIT_MODELS and QUBIT_MODELS[model.name] == model:
        qp: dict[str, Any] = {"name": model.name}
    else:
        qp = {
            "instructionSet": "GateBased" if model.instruction_set == "gate_based" else "Majorana"
        }
        qp["oneQubitMeasurementTime"] = _ns(model.one_qubit_measurement_time)
        qp["tGateTime"] = _ns(model.t_gate_time)
        qp["tGateErrorRate"] = model.t_gate_error_rate
        qp["idleErrorRate"] = model.idle_error_rate
        if model.instruction_set == "gate_based":
            qp["oneQubitGateTime"] = _ns(model.one_qubit_gate_time)
            qp["twoQubitGateTime"] = _ns(model.two_qubit_gate_time)
            qp["oneQubitMeasurementErrorRate"] = model.one_qubit_measurement_error_rate
            qp["oneQubitGateErrorRate"] = model.one_qubit_gate_error_rate
            qp["twoQubitGateErrorRate"] = model.two_qubit_gate_error_rate
        else:
            qp["twoQubitJointMeasurementTime"] = _ns(model.two_qubit_joint_measurement_time)
            qp["oneQubitMeasurementErrorRate"] = {
                "process": model.one_qubit_measurement_error_rate,
                "readout": model.one_qubit_measurement_readout_error_rate,
            }
            qp["twoQubitJointMeasurementErrorRate"] = {
                "process": model.two_qubit_joint_measurement_error_rate,
                "readout": model.two_qubit_joint_measurement_readout_error_rate,
            }
    named = QEC_SCHEMES.get(scheme.name, {}).get(model.instruction_set)
    if named == scheme:
        qec: dict[str, Any] = {"name": scheme.name}
    else:
        terms = [
            (scheme.cycle_two_qubit_gate, "twoQubitGateTime"),
            (scheme.cycle_measurement, "oneQubitMeasurementTime"),
            (scheme.cycle_joint_measurement, "twoQubitJointMeasurementTime"),
            (scheme.cycle_one_qubit_gate, "oneQubitGateTime"),
        ]
        cyc = " + ".join(f"{a} * {v}" for a, v in terms if a)
        qec = {
            "name": scheme.name,
            "errorCorrectionThreshold": scheme.error_correction_threshold,
            "crossingPrefactor": scheme.crossing_prefactor,
            "distanceCoefficientPower": scheme.distance_coefficient_power,
            "logicalCycleTime": f"({cyc}) * codeDistance",
            "physicalQubitsPerLogicalQubit": (
                f"{scheme.qubits_d2} * codeDistance * codeDistance + "
                f"{scheme.qubits_d1} * codeDistance + {scheme.qubits_d0}"
            ),
            "maxCodeDistance": scheme.max_code_distance,
        }
    return {"qubitParams": qp, "qecScheme": qec, "errorBudget": budget}


def _estimate_qdk(c: dict[str, int], model: QubitModel, scheme: QecScheme, budget: float):
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecation notice of the older QRE API
            from qdk.estimator import LogicalCounts
    except ImportError:
        raise HybridSimError(
            "backend 'qdk' needs the reference estimator: pip install 'hybridsim[ft]' (package qdk)"
        ) from None
    if max(c.values()) > U64_MAX:
        raise ModelDomainError("the qdk backend takes counts below 2^64 (use backend='builtin')")
    result = LogicalCounts(c).estimate(_qdk_params(model, scheme, budget))
    data = result.data() if hasattr(result, "data") else result
    if isinstance(data, list):
        data = data[0]
    if data.get("status") != "success":
        message = " ".join(str(data.get("message", data)).split())
        raise ModelDomainError(f"the qdk estimator refused the input: {message}")
    return _from_qdk(data, c, model, scheme, budget)


def _from_qdk(data: dict, c, model: QubitModel, scheme: QecScheme, budget: float) -> FtEstimate:
    """An :class:`FtEstimate` from the reference's result dictionary (times in ns)."""
    ns = TICKS_PER_SECOND // 10**9
    pc, br = data["physicalCounts"], data["physicalCounts"]["breakdown"]
    lq, eb = data["logicalQubit"], data["errorBudget"]
    tf = data.get("tfactory")
    factory = None
    if tf:
        rounds = tuple(
            DistillationRound(
                name,
                int(units),
                int(d),
                int(q),
                int(t) * ns,
            )
            for name, units, d, q, t in zip(
                tf["unitNamePerRound"],
                tf["numUnitsPerRound"],
                tf["codeDistancePerRound"],
                tf["physicalQubitsPerRound"],
                tf["runtimePerRound"],
                strict=True,
            )
        )
        factory = TFactory(
            rounds,
            int(tf["physicalQubits"]),
            int(tf["runtime"]) * ns,
            int(tf["numTstates"]),
            int(tf["numInputTstates"]),
            float(tf["logicalErrorRate"]),
        )
    return FtEstimate(
        backend="qdk",
        qubit=model.name,
        qec=scheme.name,
        error_budget=budget,
        counts=tuple(c[k] for k in COUNT_KEYS),
        logical_qubits=int(br["algorithmicLogicalQubits"]),
        algorithmic_logical_depth=int(br["algorithmicLogicalDepth"]),
        logical_depth=int(br["logicalDepth"]),
        t_states=int(br["numTstates"]),
        t_per_rotation=int(br.get("numTsPerRotation") or 0),
        code_distance=int(lq["codeDistance"]),
        physical_qubits_per_logical_qubit=int(lq["physicalQubits"]),
        logical_cycle_ticks=int(lq["logicalCycleTime"]) * ns,
        logical_error_rate=float(lq["logicalErrorRate"]),
        required_logical_error_rate=float(br["requiredLogicalQubitErrorRate"]),
        required_t_state_error_rate=float(br.get("requiredLogicalTstateErrorRate") or math.inf),
        budget_logical=float(eb["logical"]),
        budget_t_states=float(eb["tstates"]),
        budget_rotations=float(eb["rotations"]),
        t_factories=int(br["numTfactories"]),
        t_factory_runs=int(br["numTfactoryRuns"]),
        t_factory=factory,
        physical_qubits_for_algorithm=int(br["physicalQubitsForAlgorithm"]),
        physical_qubits_for_factories=int(br["physicalQubitsForTfactories"]),
        physical_qubits=int(pc["physicalQubits"]),
        runtime_ticks=int(pc["runtime"]) * ns,
        rqops=int(pc["rqops"]),
    )
