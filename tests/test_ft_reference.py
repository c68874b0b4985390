"""hybridsim.costs.ft against the reference estimator (the Azure Quantum Resource Estimator in the
``qdk`` package) on the same inputs: 64 count sets over 10–10⁴ logical qubits and 10³–10¹⁸ T
gates, with and without rotations, CCZ/CCiX and measurements, on all six named qubit models (and
the Floquet code on the Majorana ones) and error budgets 1e-2 … 1e-6.

The documented differences (docs/background/fault-tolerance.md §9) are asserted as bounds:

* *overflow*: the reference computes in unsigned 64-bit nanoseconds and logical volumes; where
  the logical volume Q·C or the runtime reaches 2^64 its products wrap, so its answer is not
  comparable (ours is exact integer arithmetic). Identified from our estimate, never from the
  reference's answer.
* *quantile*: distillation rounds of 1 000 or more units: the reference's binomial quantile is a
  normal asymptotic expansion, ours exact; physical qubits within 0.5 %, all else equal.
* *search*: the reference's factory search is a pruned bisection over code distances and misses
  designs that our exhaustive table has; then ours needs fewer qubits, and the reference's
  design is in our table with a volume no smaller than the one we chose.

Everywhere else: equal code distance, physical qubits and runtime (the brief asks for 5 %).
"""

import functools
import math
import os
import warnings

import numpy as np
import pytest

from hybridsim.costs import ft

if os.environ.get("CI"):
    import qdk  # noqa: F401  (CI installs the dev extra, which has it: never skip there)
qdk_estimator = pytest.importorskip("qdk.estimator")

TEMPLATES = [
    {"numQubits": 10, "tCount": 10**3},
    {"numQubits": 100, "tCount": 10**8},
    {"numQubits": 1000, "tCount": 10**10, "rotationCount": 10**5, "rotationDepth": 10**3},
    {"numQubits": 10**4, "tCount": 10**6, "cczCount": 10**5, "measurementCount": 10**4},
    {
        "numQubits": 50,
        "tCount": 10**12,
        "rotationCount": 10**6,
        "rotationDepth": 10**6,
        "cczCount": 10**9,
    },
    {
        "numQubits": 1200,
        "tCount": 5 * 10**12,
        "rotationCount": 10**6,
        "rotationDepth": 10**5,
        "cczCount": 10**9,
        "measurementCount": 10**7,
    },
    {"numQubits": 300, "tCount": 10**15, "ccixCount": 10**3},
    {"numQubits": 10**4, "tCount": 10**18, "rotationCount": 10**9, "rotationDepth": 10**7},
]
BUDGETS = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6]
CASES = [
    (i, name, qec, BUDGETS[(i + j + k) % len(BUDGETS)])
    for j, name in enumerate(ft.QUBIT_MODELS)
    for k, qec in enumerate(["surface_code", "floquet_code"] if "maj" in name else ["surface_code"])
    for i in range(len(TEMPLATES))
]
NS = 10**12  # ticks per nanosecond


@functools.cache
def reference(i: int, qubit: str, qec: str, budget: float) -> dict:
    """The reference's answer, cached for the run (never on disk)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = qdk_estimator.LogicalCounts(TEMPLATES[i]).estimate(
            {"qubitParams": {"name": qubit}, "qecScheme": {"name": qec}, "errorBudget": budget}
        )
    return result.data()


def overflows(e: ft.FtEstimate) -> bool:
    """Would the reference's unsigned 64-bit arithmetic wrap on this estimate?"""
    return e.logical_qubits * e.logical_depth >= 2**64 or e.runtime_ticks // NS >= 2**64


def category(e, r: dict, i: int, budget: float) -> str:
    if isinstance(e, ft.ModelDomainError):
        # ours needs a code distance above 50; the reference got a smaller one from a wrapped
        # logical volume
        lay = ft.logical_layout(TEMPLATES[i], budget)
        assert "exceeds the maximum" in str(e) and lay.logical_qubits * lay.depth >= 2**64
        return "overflow"
    if overflows(e):
        return "overflow"
    pq, rt = r["physicalCounts"]["physicalQubits"], r["physicalCounts"]["runtime"] * NS
    if (e.code_distance, e.physical_qubits, e.runtime_ticks) == (
        r["logicalQubit"]["codeDistance"],
        pq,
        rt,
    ):
        return "exact"
    if (
        e.t_factory
        and max(x.units for x in e.t_factory.rounds) >= 1000
        and abs(e.physical_qubits / pq - 1) <= 0.005
    ):
        return "quantile"
    if e.physical_qubits < pq:
        return "search"
    return "unexplained"


@pytest.fixture(scope="module")
def compared():
    out = []
    for i, qubit, qec, budget in CASES:
        try:
            e = ft.estimate(TEMPLATES[i], qubit=qubit, qec=qec, error_budget=budget)
        except ft.ModelDomainError as exc:
            e = exc
        r = reference(i, qubit, qec, budget)
        assert r["status"] == "success", (i, qubit, qec, budget, r.get("message"))
        out.append((i, qubit, qec, budget, e, r, category(e, r, i, budget)))
    return out


def test_the_grid_spans_what_the_brief_asks():
    counts = [TEMPLATES[i] for i, *_ in CASES]
    assert len(CASES) >= 30
    assert min(c["numQubits"] for c in counts) == 10 and max(c["numQubits"] for c in counts) == 1e4
    assert min(c["tCount"] for c in counts) == 1e3 and max(c["tCount"] for c in counts) == 1e18
    assert any("rotationCount" in c for c in counts) and any(
        "rotationCount" not in c for c in counts
    )
    assert any("cczCount" in c for c in counts) and any("cczCount" not in c for c in counts)
    assert {q for _, q, _, _ in CASES} == set(ft.QUBIT_MODELS)
    assert {b for *_, b in CASES} == set(BUDGETS)


def test_builtin_matches_the_reference_up_to_the_documented_differences(compared):
    cats = [c[-1] for c in compared]
    assert "unexplained" not in cats, [c[:4] for c in compared if c[-1] == "unexplained"]
    comparable = [c for c in compared if c[-1] != "overflow"]
    assert len(comparable) >= 30
    # every named model takes part in the comparison proper
    assert {c[1] for c in comparable} == set(ft.QUBIT_MODELS)
    for i, qubit, qec, budget, e, r, cat in comparable:
        where = (i, qubit, qec, budget, cat)
        assert e.code_distance == r["logicalQubit"]["codeDistance"], where
        rt = r["physicalCounts"]["runtime"] * NS
        assert abs(e.runtime_ticks / rt - 1) <= 0.05, where
        pq = r["physicalCounts"]["physicalQubits"]
        if cat in ("exact", "quantile"):
            assert abs(e.physical_qubits / pq - 1) <= 0.05, where
    # the exact agreement is the rule, not the exception
    assert cats.count("exact") >= 0.6 * len(comparable)


def _volume_ns(f: dict) -> float:
    return f["physicalQubits"] * f["runtime"] / f["numTstates"]


def test_where_ours_is_smaller_the_reference_design_is_one_of_ours_and_no_better(compared):
    """The 'search' difference: the reference's factory is in our table, by its own numbers."""
    names = {u.name: k for k, u in enumerate(ft._UNITS)}
    misses = [c for c in compared if c[-1] == "search"]
    for i, qubit, qec, budget, e, r, _ in misses:
        tf = r["tfactory"]
        model = ft.QUBIT_MODELS[qubit]
        scheme = ft.qec_scheme(qec, model)
        table = ft._factory_table(model, scheme, tf["numRounds"])
        units = [names[n] for n in tf["unitNamePerRound"]]
        dist = [(d - 1) // 2 for d in tf["codeDistancePerRound"]]
        row = np.nonzero(np.all(table.units == units, axis=1) & np.all(table.dist == dist, axis=1))
        (row,) = row
        assert row.size == 1, (i, qubit, qec, budget)
        j = int(row[0])
        # the same design (its first round's unit count up to the quantile difference)
        assert abs(int(table.qubits[j]) / tf["physicalQubits"] - 1) <= 0.005
        assert int(table.duration[j]) * table.tick_unit == tf["runtime"] * NS
        ours = e.t_factory
        assert ours.physical_qubits * ours.duration_ticks / NS <= _volume_ns(tf)
        assert e.physical_qubits < r["physicalCounts"]["physicalQubits"]


def test_overflow_cases_are_beyond_the_references_integers(compared):
    over = [c for c in compared if c[-1] == "overflow"]
    assert over, "the grid reaches 10^18 T gates, past 2^64 ns of runtime"
    for *_, e, r, _ in over:
        assert isinstance(e, ft.ModelDomainError) or overflows(e)
        # the reference's runtime is a 64-bit integer of nanoseconds
        assert r["physicalCounts"]["runtime"] < 2**64


def test_the_qdk_backend_returns_the_same_record_type():
    c = {"numQubits": 100, "tCount": 10**8}
    a = ft.estimate(c, qubit="qubit_gate_ns_e3", error_budget=1e-3)
    b = ft.estimate(c, qubit="qubit_gate_ns_e3", error_budget=1e-3, backend="qdk")
    assert type(b) is ft.FtEstimate and b.backend == "qdk" and a.backend == "builtin"
    for name in (
        "physical_qubits",
        "runtime_ticks",
        "code_distance",
        "t_factories",
        "logical_qubits",
        "logical_cycle_ticks",
        "t_states",
        "t_factory_runs",
        "physical_qubits_for_algorithm",
        "physical_qubits_for_factories",
        "rqops",
    ):
        assert getattr(a, name) == getattr(b, name), name
    assert a.t_factory.rounds == b.t_factory.rounds
    assert (a.physical_qubits, a.runtime_s, a.code_distance) == (720660, 1000.0, 25)


def test_the_qdk_backend_takes_custom_models_and_schemes():
    m = ft.QubitModel(
        "mine",
        "gate_based",
        one_qubit_measurement_time="200 ns",
        one_qubit_gate_time="20 ns",
        two_qubit_gate_time="40 ns",
        one_qubit_measurement_error_rate=2e-4,
        one_qubit_gate_error_rate=1e-4,
        t_gate_error_rate=1e-4,
    )
    s = ft.QecScheme("mine", 0.01, 0.05, cycle_two_qubit_gate=6, cycle_measurement=1)
    c = {"numQubits": 64, "tCount": 10**9, "rotationCount": 10**4, "rotationDepth": 10**3}
    a = ft.estimate(c, qubit=m, qec=s, error_budget=1e-4)
    b = ft.estimate(c, qubit=m, qec=s, error_budget=1e-4, backend="qdk")
    assert (a.code_distance, a.physical_qubits, a.runtime_ticks) == (
        b.code_distance,
        b.physical_qubits,
        b.runtime_ticks,
    )
    maj = ft.QubitModel(
        "maj",
        "majorana",
        one_qubit_measurement_time="50 ns",
        one_qubit_measurement_error_rate=1e-5,
        t_gate_error_rate=0.02,
    )
    a = ft.estimate(c, qubit=maj, qec="floquet_code", error_budget=1e-3)
    b = ft.estimate(c, qubit=maj, qec="floquet_code", error_budget=1e-3, backend="qdk")
    assert (a.code_distance, a.runtime_ticks) == (b.code_distance, b.runtime_ticks)
    assert math.isclose(a.physical_qubits, b.physical_qubits, rel_tol=0.05)
