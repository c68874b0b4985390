"""hybridsim.costs.ft: hand-checked cases, properties and bad input (no reference needed)."""

import doctest
import math
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridsim.costs import ft
from hybridsim.errors import HybridSimError, ModelDomainError

EXAMPLE = {"numQubits": 100, "tCount": 10**8}


def test_doctests():
    assert doctest.testmod(ft).failed == 0


def test_the_worked_example_by_hand():
    """100 logical qubits, 10⁸ T, qubit_gate_ns_e3, budget 10⁻³ (the page's §10 worked example).

    Layout Q = 2·100 + ⌈√800⌉ + 1 = 230; depth C = 10⁸; budget halves 5·10⁻⁴ each.
    Required logical rate 5·10⁻⁴/(230·10⁸) = 2.174·10⁻¹⁴; d = ⌈2·ln(0.03/2.174e-14)/ln(10) − 1⌉
    = ⌈23.28⌉ = 24, next odd 25. Cycle (4·50 + 2·100 ns)·25 = 10 µs; runtime 10⁸·10 µs = 1000 s.
    Footprint 2·25² = 1250, algorithm 230·1250 = 287 500 qubits.
    Factory: 17 space-efficient units at d = 7 (20·2·49 = 980 qubits each, 16 660 ... the round
    holds 17·20·98 = 33 320), then one RM unit at d = 21 (31·882 = 27 342); duration
    13·(400 ns·7) + 11·(400 ns·21) = 36.4 + 92.4 = 128.8 µs. Copies ⌈10⁸/⌊1000 s/128.8 µs⌋⌉ =
    ⌈10⁸/7 763 975⌉ = 13: 13·33 320 = 433 160; total 720 660.
    """
    e = ft.estimate(EXAMPLE, qubit="qubit_gate_ns_e3", qec="surface_code", error_budget=1e-3)
    assert e.logical_qubits == 230 and e.algorithmic_logical_depth == 10**8
    assert (e.budget_logical, e.budget_t_states, e.budget_rotations) == (5e-4, 5e-4, 0.0)
    assert e.required_logical_error_rate == pytest.approx(2.1739e-14, rel=1e-4)
    assert e.code_distance == 25
    assert e.logical_cycle_s == pytest.approx(10e-6) and e.logical_cycle_ticks == 10**16
    assert e.runtime_s == 1000.0 and e.logical_depth == 10**8
    assert e.physical_qubits_per_logical_qubit == 1250
    assert e.physical_qubits_for_algorithm == 287_500
    f = e.t_factory
    assert [(r.unit, r.units, r.code_distance) for r in f.rounds] == [
        ("15-to-1 space efficient", 17, 7),
        ("15-to-1 RM prep", 1, 21),
    ]
    assert [r.physical_qubits for r in f.rounds] == [33_320, 27_342]
    assert f.physical_qubits == 33_320 and f.duration_ticks == 128_800 * 10**12
    assert f.input_t_states == 255 and f.output_t_states == 1
    assert e.t_factories == 13 and e.physical_qubits_for_factories == 433_160
    assert e.physical_qubits == 720_660
    assert e.t_factory_runs == math.ceil(10**8 / 13)
    assert e.rqops == 230 * 100_000
    assert e.clock_frequency_hz == pytest.approx(1e5)


def test_rotation_synthesis_by_hand():
    """100 rotations, budget 10⁻³ in thirds: ⌈0.53·log₂(100/3.33e-4) + 4.86⌉ = ⌈14.5⌉ = 15 T each;
    depth = 10⁸ + 100 + 15·10 (ten rotation layers); T states 10⁸ + 15·100."""
    c = {**EXAMPLE, "rotationCount": 100, "rotationDepth": 10}
    lay = ft.logical_layout(c, 1e-3)
    assert lay.t_per_rotation == 15
    assert lay.budget_rotations == pytest.approx(1e-3 / 3)
    assert lay.depth == 10**8 + 100 + 150
    assert lay.t_states == 10**8 + 1500


def test_toffolis_cost_three_cycles_and_four_t_states():
    lay = ft.logical_layout({"numQubits": 8, "cczCount": 10, "ccixCount": 5, "tCount": 1}, 0.01)
    assert lay.depth == 3 * 15 + 1 and lay.t_states == 4 * 15 + 1


def test_without_t_states_the_budget_is_all_logical_and_there_is_no_factory():
    e = ft.estimate({"numQubits": 10, "measurementCount": 1000}, error_budget=1e-3)
    assert e.budget_logical == 1e-3 and e.t_factories == 0 and e.t_factory is None
    assert e.physical_qubits == e.physical_qubits_for_algorithm


def test_trivial_factory_when_physical_t_states_are_good_enough():
    # qubit_gate_us_e3 has T error 1e-6; a handful of T gates with a loose budget need no
    # distillation: one logical patch per factory, one logical cycle.
    e = ft.estimate({"numQubits": 10, "tCount": 10}, qubit="qubit_gate_us_e3", error_budget=0.1)
    assert e.required_t_state_error_rate > 1e-6
    (r,) = e.t_factory.rounds
    assert r.unit == "trivial 1-to-1" and r.code_distance == e.code_distance


def test_min_units_by_hand():
    """One output needed, units fail with q = 0.1, allowed shortfall 1 %: P(all n fail) = 0.1ⁿ
    must be < 0.01, so n = 3 (0.1² = 0.01 is not below it)."""
    import numpy as np

    assert ft._min_units(np.array([1.0]), np.array([0.1]), 0.01)[0] == 3
    # 15 outputs needed with q = 0.5: the smallest n with P(Bin(n, 0.5) >= 15) > 0.99
    from scipy.stats import binom

    n = int(ft._min_units(np.array([15.0]), np.array([0.5]), 0.01)[0])
    assert binom.sf(14, n, 0.5) > 0.99 >= binom.sf(14, n - 1, 0.5)


def test_named_models_are_the_references():
    m = ft.QUBIT_MODELS["qubit_gate_ns_e3"]
    assert (m.one_qubit_gate_time, m.two_qubit_gate_time, m.one_qubit_measurement_time) == (
        50 * 10**12,
        50 * 10**12,
        100 * 10**12,
    )
    assert ft.QUBIT_MODELS["qubit_gate_us_e4"].t_gate_error_rate == 1e-6
    maj = ft.QUBIT_MODELS["qubit_maj_ns_e6"]
    assert maj.clifford_error_rate == 1e-6 and maj.t_gate_error_rate == 0.01
    assert ft.qec_scheme("surface_code", maj).crossing_prefactor == 0.08
    assert ft.qec_scheme("floquet_code", maj).physical_qubits(5) == 4 * 25 + 8 * 4


def test_custom_qubit_models_take_any_duration_form():
    a = ft.QubitModel(
        "a",
        "gate_based",
        one_qubit_measurement_time="100 ns",
        one_qubit_gate_time=50e-9,
        one_qubit_measurement_error_rate=1e-3,
        one_qubit_gate_error_rate=1e-3,
        t_gate_error_rate=1e-3,
    )
    e1 = ft.estimate(EXAMPLE, qubit=a)
    e2 = ft.estimate(EXAMPLE, qubit="qubit_gate_ns_e3")
    assert (e1.physical_qubits, e1.runtime_ticks) == (e2.physical_qubits, e2.runtime_ticks)


def test_attosecond_gates_are_exact():
    # the reference cannot express sub-nanosecond gates; the builtin estimator keeps exact ticks
    a = ft.QubitModel(
        "atto",
        "gate_based",
        one_qubit_measurement_time="2 as",
        one_qubit_gate_time="1 as",
        one_qubit_measurement_error_rate=1e-4,
        one_qubit_gate_error_rate=1e-4,
        t_gate_error_rate=1e-4,
    )
    e = ft.estimate(EXAMPLE, qubit=a, error_budget=1e-3)
    assert e.logical_cycle_ticks == (4 * 1000 + 2 * 2000) * e.code_distance
    assert e.runtime_ticks == e.logical_cycle_ticks * e.logical_depth
    with pytest.raises(ModelDomainError, match="whole nanoseconds"):
        ft.estimate(EXAMPLE, qubit=a, backend="qdk")


# -- properties ---------------------------------------------------------------------------------

MODELS = sorted(ft.QUBIT_MODELS)
counts = st.fixed_dictionaries(
    {
        "numQubits": st.integers(1, 10**4),
        "tCount": st.integers(1, 10**14),
    },
    optional={
        "cczCount": st.integers(0, 10**10),
        "measurementCount": st.integers(0, 10**8),
    },
)
budgets = st.floats(1e-6, 0.2)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _est(c, model, budget, qec="surface_code"):
    try:
        return ft.estimate(c, qubit=model, qec=qec, error_budget=budget)
    except ModelDomainError as exc:  # a distance above 50 is a refused input, not a result
        assert "exceeds the maximum" in str(exc)
        return None


@SETTINGS
@given(c=counts, model=st.sampled_from(MODELS), budget=budgets)
def test_estimate_invariants(c, model, budget):
    e = _est(c, model, budget)
    if e is None:
        return
    assert e.code_distance % 2 == 1
    assert e.physical_qubits == e.physical_qubits_for_algorithm + e.physical_qubits_for_factories
    # the surface code's footprint is 2·d² per logical qubit
    assert e.physical_qubits >= 2 * e.code_distance**2 * e.logical_qubits
    assert e.runtime_ticks == e.logical_cycle_ticks * e.logical_depth
    assert e.logical_depth >= e.algorithmic_logical_depth
    # the logical part of the budget holds, and so does the distillation part
    assert e.logical_error_rate * e.logical_qubits * e.logical_depth <= e.budget_logical * (
        1 + 1e-9
    )
    if e.t_factory is not None:
        f = e.t_factory
        assert f.output_error_rate <= e.required_t_state_error_rate
        assert e.physical_qubits_for_factories == e.t_factories * f.physical_qubits
        # the factories keep pace: copies × runs within the runtime deliver every T state
        per_copy = e.runtime_ticks // f.duration_ticks * f.output_t_states
        assert e.t_factories * per_copy >= e.t_states
        assert (e.t_factories - 1) * per_copy < e.t_states
        assert max(r.code_distance for r in f.rounds) <= e.code_distance


@SETTINGS
@given(c=counts, model=st.sampled_from(MODELS), budget=budgets, factor=st.integers(2, 1000))
def test_more_t_gates_never_need_a_smaller_code_or_less_time(c, model, budget, factor):
    a = _est(c, model, budget)
    b = _est({**c, "tCount": c["tCount"] * factor}, model, budget)
    if a is None or b is None:
        return
    assert b.code_distance >= a.code_distance
    assert b.physical_qubits_for_algorithm >= a.physical_qubits_for_algorithm
    if _algorithm_bound(a) and _algorithm_bound(b):
        assert b.runtime_ticks >= a.runtime_ticks


def _algorithm_bound(e) -> bool:
    """The run lasts the algorithm's depth (not stretched to one factory run, where the factory
    picked for its volume, not its speed, decides the runtime)."""
    return e.logical_depth == e.algorithmic_logical_depth


def _scaled(p: float) -> ft.QubitModel:
    return ft.QubitModel(
        f"p{p}",
        "gate_based",
        one_qubit_measurement_time="100 ns",
        one_qubit_gate_time="50 ns",
        one_qubit_measurement_error_rate=p,
        one_qubit_gate_error_rate=p,
        t_gate_error_rate=p,
    )


#: A few error rates, so the factory tables of the custom models are built once per run.
RATES = [1e-5, 1e-4, 3e-4, 1e-3, 3e-3]


@SETTINGS
@given(c=counts, budget=budgets, i=st.integers(0, len(RATES) - 2), step=st.integers(1, 3))
def test_a_worse_physical_error_rate_never_needs_a_smaller_code(c, budget, i, step):
    a = _est(c, _scaled(RATES[i]), budget)
    b = _est(c, _scaled(RATES[min(i + step, len(RATES) - 1)]), budget)
    if a is None or b is None:
        return
    assert b.code_distance >= a.code_distance
    assert b.physical_qubits_for_algorithm >= a.physical_qubits_for_algorithm
    if _algorithm_bound(a) and _algorithm_bound(b):
        assert b.runtime_ticks >= a.runtime_ticks


def test_estimate_many_equals_estimate():
    cs = [{"numQubits": n, "tCount": 10**t} for n in (10, 300) for t in (4, 9, 12)]
    many = ft.estimate_many(cs, qubit="qubit_maj_ns_e6", qec="floquet_code", error_budget=1e-4)
    one = [
        ft.estimate(c, qubit="qubit_maj_ns_e6", qec="floquet_code", error_budget=1e-4) for c in cs
    ]
    assert many == one


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"qubit": "qubit_gate_ps_e9"}, "unknown qubit model 'qubit_gate_ps_e9'"),
        ({"qec": "color_code"}, "unknown QEC scheme 'color_code'"),
        ({"error_budget": 0.0}, r"error_budget must be in \(0, 1\)"),
        ({"error_budget": 1.0}, r"error_budget must be in \(0, 1\)"),
        ({"error_budget": -1e-3}, r"error_budget must be in \(0, 1\)"),
        ({"error_budget": float("nan")}, r"error_budget must be in \(0, 1\)"),
        ({"error_budget": "lots"}, r"error_budget must be in \(0, 1\)"),
        ({"qec": "floquet_code"}, "needs a Majorana qubit model"),
        ({"backend": "azure"}, "unknown backend 'azure'"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs, match):
    with pytest.raises(HybridSimError, match=match) as info:
        ft.estimate(EXAMPLE, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        ({"numQubits": -1, "tCount": 5}, "numQubits must be >= 0"),
        ({"numQubits": 10, "tCount": -5}, "tCount must be >= 0"),
        ({"numQubits": 10, "tCount": 2.5}, "tCount must be an integer"),
        ({"numQubits": 10, "tCount": float("inf")}, "tCount must be an integer"),
        ({"numQubits": 10, "tCount": "many"}, "tCount must be an integer"),
        ({"numQubits": 10, "tcount": 5}, "unknown logical count 'tcount'"),
        ({"numQubits": 10, "rotationCount": 5}, "needs rotationDepth"),
        ({"numQubits": 10, "rotationCount": 5, "rotationDepth": 6}, "exceeds rotationCount"),
        ({"numQubits": 10}, "no operations"),
        ([("numQubits", 10)], "must be a mapping"),
    ],
)
def test_bad_counts_are_one_line_errors(counts, match):
    with pytest.raises(HybridSimError, match=match) as info:
        ft.estimate(counts)
    assert "\n" not in str(info.value)


def test_bad_models_and_schemes():
    with pytest.raises(ModelDomainError, match="one_qubit_gate_time is required"):
        ft.QubitModel(
            "x",
            "gate_based",
            one_qubit_measurement_time="1 us",
            one_qubit_measurement_error_rate=1e-3,
            t_gate_error_rate=1e-3,
        )
    with pytest.raises(ModelDomainError, match="instruction_set"):
        ft.QubitModel("x", "photonic")
    with pytest.raises(ModelDomainError, match=r"must be in \(0, 1\)"):
        ft._gate("x", "1 us", "1 us", 1.5, 1e-3)
    with pytest.raises(ModelDomainError, match="must be > 0"):
        ft._gate("x", "0 ns", "1 us", 1e-3, 1e-3)
    with pytest.raises(ModelDomainError, match="does not apply"):
        ft.QubitModel(
            "x",
            "majorana",
            one_qubit_measurement_time="1 us",
            one_qubit_gate_time="1 us",
            one_qubit_measurement_error_rate=1e-3,
            t_gate_error_rate=1e-3,
        )
    # at or above threshold nothing can be corrected
    with pytest.raises(ModelDomainError, match="not below the surface_code threshold"):
        ft.estimate(EXAMPLE, qubit=ft._gate("bad", "100 ns", "50 ns", 0.02, 0.02))
    with pytest.raises(ModelDomainError, match="crossing_prefactor"):
        ft.QecScheme("s", 0.01, 0.9, cycle_measurement=1)
    with pytest.raises(ModelDomainError, match="cycle coefficients"):
        ft.QecScheme("s", 0.01, 0.03)
    # a scheme that needs two-qubit gates on a Majorana qubit
    s = ft.QecScheme("gates", 0.01, 0.03, cycle_two_qubit_gate=4, cycle_measurement=2)
    with pytest.raises(ModelDomainError, match="needs two_qubit_gate_time"):
        ft.estimate(EXAMPLE, qubit="qubit_maj_ns_e4", qec=s)


def test_an_unreachable_code_distance_says_so():
    with pytest.raises(ModelDomainError, match="exceeds the maximum 50") as info:
        ft.estimate(
            {"numQubits": 10**4, "tCount": 10**18}, qubit="qubit_gate_ns_e3", error_budget=1e-9
        )
    assert "\n" not in str(info.value)


def test_the_qdk_backend_without_the_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "qdk", None)
    monkeypatch.setitem(sys.modules, "qdk.estimator", None)
    with pytest.raises(HybridSimError, match=r"pip install 'hybridsim\[ft\]'") as info:
        ft.estimate(EXAMPLE, backend="qdk")
    assert "\n" not in str(info.value)


def test_the_module_imports_no_simulation_or_reference():
    import subprocess

    code = (
        "import sys, hybridsim.costs.ft, hybridsim.costs.logical; "
        "print(sorted(m for m in ('simpy', 'qdk', 'qutip') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_records_pickle_and_hash():
    import pickle

    e = ft.estimate({**EXAMPLE, "rotationCount": 10, "rotationDepth": 2})
    assert pickle.loads(pickle.dumps(e)) == e and hash(e) == hash(pickle.loads(pickle.dumps(e)))
    assert e.counts_dict == {
        **dict.fromkeys(ft.COUNT_KEYS, 0),
        **EXAMPLE,
        "rotationCount": 10,
        "rotationDepth": 2,
    }
    c = __import__("hybridsim.costs.logical", fromlist=["x"]).qlsa_logical_counts(
        "jennings", "unit", 8, 2, 10.0, 0.1
    )
    assert pickle.loads(pickle.dumps(c)) == c
