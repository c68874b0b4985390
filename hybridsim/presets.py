"""Named QPU hardware presets: ``preset = "ibm_heron"`` in a ``[[cluster.qpu]]`` group.

A preset fills in the group's keys *before* validation; keys written in the group override it.
Values are in the scenario-file representation, each with its source: the comments name an
entry of docs/background/references.md (``references.md#ibm-heron`` …) for every number; numbers
without a single source are marked (assumed), derived ones (inferred).
docs/howto/add-a-hardware-preset.md explains how to add one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["QPU_PRESETS", "PRESET_NOTES"]

# Willow's surface-code cycle and decoder latency (Google, Nature 638, 2025;
# references.md#google-2025). A logical gate takes about d cycles; d = 25 keeps logical error
# rates low enough for long algorithms (inferred, references.md#surface-code-preset):
# 25 × 1.1 µs = 27.5 µs per logical gate; a logical measurement adds the decoder's 63 µs to its
# d cycles.
_SURFACE_D = 25
_SURFACE_CYCLE_NS = 1100

# Fault-tolerant presets: the six qubit models of the Azure resource estimator (Beverland et al.
# Table II, references.md#beverland-2022; the values its implementation uses,
# references.md#qdk-estimator). The physical keys are the model's (hybridsim.costs.specs.
# model_group_keys; Majorana qubits have no gates: their T gate and joint measurement stand in
# for the one- and two-qubit gate, their measurement process error rates for the gate errors).
# A million physical qubits is (assumed, references.md#ft-presets): the models give no machine
# size; set `qubits` for your machine. The error budget is the estimator's default 1e-3.
_FT_QUBITS = 1_000_000


def _ft(model: str, qec: str, gate_1q: str, gate_2q: str, measure: str, err: float):
    return {
        "qubits": _FT_QUBITS,
        "gate_time_1q": gate_1q,
        "gate_time_2q": gate_2q,
        "measure_time": measure,
        "error_1q": err,
        "error_2q": err,
        "readout_error": err,
        "fault_tolerance": {"qubit_model": model, "qec": qec, "error_budget": 1e-3},
    }


QPU_PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        # Superconducting today: IBM Heron r2 (ibm_fez): CZ 84 ns, readout 1.56 µs, repetition
        # delay 250 µs (references.md#ibm-heron); 156 qubits (IBM). Single-qubit gate 32 ns and
        # median error rates 3e-3 (2q), 2e-4 (1q), 1.5e-2 (readout) are typical published Heron
        # values (assumed).
        "ibm_heron": {
            "qubits": 156,
            "gate_time_1q": "32 ns",
            "gate_time_2q": "84 ns",
            "measure_time": "1.56 us",
            "reset_time": "250 us",
            "error_1q": 2e-4,
            "error_2q": 3e-3,
            "readout_error": 1.5e-2,
        },
        # Trapped ions: IonQ Aria, 1q 135 µs, 2q 600 µs (references.md#ionq-aria); measurement
        # 100 µs as Azure's µs-class qubit (references.md#beverland-2022); 25 qubits (IonQ Aria).
        # Errors: 2q 6e-3, 1q 5e-4, readout 4e-3 (IonQ's published Aria fidelities, assumed).
        "ionq_aria": {
            "qubits": 25,
            "gate_time_1q": "135 us",
            "gate_time_2q": "600 us",
            "measure_time": "100 us",
            "reset_time": "100 us",
            "error_1q": 5e-4,
            "error_2q": 6e-3,
            "readout_error": 4e-3,
        },
        # Neutral atoms (assumed): CZ gates of about 250 ns at 99.5 % fidelity (Evered et al.,
        # Nature 622, 2023; references.md#evered-2023), single-qubit gates about 1 µs, fluorescence
        # readout about 1 ms with atom reloading as the reset; 256 atoms.
        "neutral_atom": {
            "qubits": 256,
            "gate_time_1q": "1 us",
            "gate_time_2q": "250 ns",
            "measure_time": "1 ms",
            "reset_time": "1 ms",
            "error_1q": 1e-3,
            "error_2q": 5e-3,
            "readout_error": 1e-2,
        },
        # Azure resource estimator qubit models (references.md#beverland-2022): "ns" qubits
        # (gates 50 ns, measurement 100 ns) and "µs" qubits (gates and measurement 100 µs).
        "azure_ns": {
            "gate_time_1q": "50 ns",
            "gate_time_2q": "50 ns",
            "measure_time": "100 ns",
            "reset_time": "100 ns",
        },
        "azure_us": {
            "gate_time_1q": "100 us",
            "gate_time_2q": "100 us",
            "measure_time": "100 us",
            "reset_time": "100 us",
        },
        # A fault-tolerant surface-code machine on Willow-like hardware (see above): logical
        # gates of d cycles, logical errors neglected, 1000 logical qubits (inferred,
        # references.md#surface-code-preset).
        "surface_code": {
            "qubits": 1000,
            "gate_time_1q": f"{_SURFACE_D * _SURFACE_CYCLE_NS} ns",
            "gate_time_2q": f"{_SURFACE_D * _SURFACE_CYCLE_NS} ns",
            "measure_time": f"{_SURFACE_D * _SURFACE_CYCLE_NS + 63_000} ns",
            "reset_time": "0 s",
        },
        # The Q-Newton paper's hypothetical machine: attosecond gates "possibly realized by
        # attosecond physics" (arXiv:2405.00252). The paper says nothing of readout, so only the
        # gates improve: readout and reset stay IBM Heron's (references.md#attosecond-preset).
        "attosecond": {
            "qubits": 1000,
            "gate_time_1q": "1 as",
            "gate_time_2q": "1 as",
            "measure_time": "1.56 us",
            "reset_time": "250 us",
        },
        # Gate-based "ns" qubits (superconducting-like): 50 ns gates, 100 ns measurement,
        # Clifford and readout errors 1e-3 / 1e-4, T errors equal; surface code
        # (references.md#beverland-2022, references.md#fowler-2012).
        "qubit_gate_ns_e3": _ft(
            "qubit_gate_ns_e3", "surface_code", "50 ns", "50 ns", "100 ns", 1e-3
        ),
        "qubit_gate_ns_e4": _ft(
            "qubit_gate_ns_e4", "surface_code", "50 ns", "50 ns", "100 ns", 1e-4
        ),
        # Gate-based "µs" qubits (ion-like): 100 µs gates and measurement, errors 1e-3 / 1e-4,
        # T errors 1e-6 (references.md#beverland-2022); surface code.
        "qubit_gate_us_e3": _ft(
            "qubit_gate_us_e3", "surface_code", "100 us", "100 us", "100 us", 1e-3
        ),
        "qubit_gate_us_e4": _ft(
            "qubit_gate_us_e4", "surface_code", "100 us", "100 us", "100 us", 1e-4
        ),
        # Majorana qubits: 100 ns measurements (and T gates, joint measurements), errors 1e-4 /
        # 1e-6, T errors 0.05 / 0.01 (references.md#beverland-2022); the Floquet code, which
        # the estimator offers for Majorana qubits only (references.md#paetznick-2023).
        "qubit_maj_ns_e4": _ft(
            "qubit_maj_ns_e4", "floquet_code", "100 ns", "100 ns", "100 ns", 1e-4
        ),
        "qubit_maj_ns_e6": _ft(
            "qubit_maj_ns_e6", "floquet_code", "100 ns", "100 ns", "100 ns", 1e-6
        ),
    }
)

PRESET_NOTES: Mapping[str, str] = MappingProxyType(
    {
        "ibm_heron": "superconducting today (IBM Heron r2)",
        "ionq_aria": "trapped ions (IonQ Aria)",
        "neutral_atom": "neutral atoms (assumed literature values)",
        "azure_ns": "Azure estimator ns-class qubits",
        "azure_us": "Azure estimator us-class qubits",
        "surface_code": "fault-tolerant surface code, d = 25 on Willow-like cycles",
        "attosecond": "the paper's attosecond gates; Heron readout",
        "qubit_gate_ns_e3": "fault-tolerant: Azure ns gate qubits, 1e-3 errors, surface code",
        "qubit_gate_ns_e4": "fault-tolerant: Azure ns gate qubits, 1e-4 errors, surface code",
        "qubit_gate_us_e3": "fault-tolerant: Azure us gate qubits, 1e-3 errors, surface code",
        "qubit_gate_us_e4": "fault-tolerant: Azure us gate qubits, 1e-4 errors, surface code",
        "qubit_maj_ns_e4": "fault-tolerant: Azure Majorana qubits, 1e-4 errors, Floquet code",
        "qubit_maj_ns_e6": "fault-tolerant: Azure Majorana qubits, 1e-6 errors, Floquet code",
    }
)
