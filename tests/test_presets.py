"""Hardware presets: the numbers of docs/background/references.md, overrides, round trip, errors."""

import pytest
from conftest import synthetic

from hybridsim.errors import ScenarioError
from hybridsim.presets import QPU_PRESETS
from hybridsim.scenario import load_scenario
from hybridsim.timebase import to_ticks as T


def qpu(preset, **extra):
    sc = load_scenario(synthetic(gpu=[], qpu=[{"name": "q", "preset": preset, **extra}], pool="q"))
    return sc, sc.cluster.qpu[0]


@pytest.mark.parametrize("name", sorted(QPU_PRESETS))
def test_every_preset_validates_and_round_trips(name):
    sc, q = qpu(name)
    assert q.preset == name
    assert load_scenario(sc.to_dict()) == sc


def test_reference_numbers():
    _, heron = qpu("ibm_heron")
    assert (heron.gate_time_2q, heron.measure_time, heron.reset_time) == (
        T("84 ns"),
        T("1.56 us"),
        T("250 us"),
    )
    _, aria = qpu("ionq_aria")
    assert (aria.gate_time_1q, aria.gate_time_2q) == (T("135 us"), T("600 us"))
    _, ns = qpu("azure_ns")
    assert (ns.gate_time_2q, ns.measure_time) == (T("50 ns"), T("100 ns"))
    _, us = qpu("azure_us")
    assert us.gate_time_2q == us.measure_time == T("100 us")
    # surface code: d = 25 cycles of 1.1 us per logical gate; + 63 us decoder for measurement
    _, sc = qpu("surface_code")
    assert sc.gate_time_2q == 25 * T("1.1 us")
    assert sc.measure_time == 25 * T("1.1 us") + T("63 us")
    # the paper's machine: attosecond gates, Heron readout
    _, atto = qpu("attosecond")
    assert atto.gate_time_2q == T("1 as") and atto.measure_time == heron.measure_time


def test_keys_written_in_the_group_override_the_preset():
    _, q = qpu("ionq_aria", gate_time_2q="1 ms", count=3)
    assert q.gate_time_2q == T("1 ms") and q.gate_time_1q == T("135 us") and q.count == 3


def test_unknown_preset_suggests():
    with pytest.raises(
        ScenarioError,
        match="cluster.qpu.q.preset: unknown preset 'ionq_arai'; did you mean 'ionq_aria'",
    ):
        qpu("ionq_arai")
