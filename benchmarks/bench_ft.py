"""Speed of the fault-tolerant estimator (hybridsim.costs.ft) against the reference estimator.

* ``ft_estimates``: estimates per second for 10⁵ distinct count sets (10⁴ with ``--quick``) on
  one qubit model, memo cleared first so every set is computed (the factory table, built once
  per model, is warm), against the reference estimator (``qdk``) timed per call on a sample of the
  same count sets in the same run; skipped with a note when ``qdk`` is not installed.
* ``ft_factory_table``: building the T-factory table of one (qubit model, scheme) pair (the
  vectorized part: every design of up to three distillation rounds), against one reference call.
"""

from __future__ import annotations

import statistics
import time
import warnings

import numpy as np

from benchmarks.harness import Row
from hybridsim.costs import ft

QUBIT = "qubit_gate_ns_e4"


def _count_sets(count: int, seed: int = 0) -> list[dict[str, int]]:
    rng = np.random.default_rng(seed)
    q = np.floor(10 ** rng.uniform(1, 4, count)).astype(np.int64)
    t = np.floor(10 ** rng.uniform(3, 14, count)).astype(np.int64)
    ccz = np.floor(10 ** rng.uniform(0, 8, count)).astype(np.int64)
    rot = np.floor(10 ** rng.uniform(0, 6, count)).astype(np.int64)
    depth = np.maximum(1, rot // 10)
    return [
        {
            "numQubits": int(a),
            "tCount": int(b),
            "cczCount": int(c),
            "rotationCount": int(r),
            "rotationDepth": int(dd),
        }
        for a, b, c, r, dd in zip(q, t, ccz, rot, depth, strict=True)
    ]


def _reference_per_call(sets: list[dict[str, int]]) -> float | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from qdk.estimator import LogicalCounts
    except ImportError:
        return None
    params = {"qubitParams": {"name": QUBIT}, "qecScheme": {"name": "surface_code"}}
    params["errorBudget"] = 1e-3
    samples = []
    for c in sets:
        t0 = time.perf_counter()
        LogicalCounts(c).estimate(params)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def run(quick: bool) -> list[Row]:
    n = 10_000 if quick else 100_000
    sets = _count_sets(n)
    model = ft.QUBIT_MODELS[QUBIT]
    scheme = ft.qec_scheme("surface_code", model)

    ft._factory_table.cache_clear()
    ft._main_table.cache_clear()
    t0 = time.perf_counter()
    ft._main_table(model, scheme)
    build_s = time.perf_counter() - t0

    ft._estimate.cache_clear()
    t0 = time.perf_counter()
    out = ft.estimate_many(sets, qubit=QUBIT, error_budget=1e-3)
    wall = time.perf_counter() - t0
    assert len(out) == n
    rate = n / wall

    per_call = _reference_per_call(sets[: 50 if quick else 300])
    rows = []
    if per_call is None:
        rows.append(
            Row(
                "ft_estimates",
                "estimates/s",
                rate,
                None,
                "",
                None,
                f"{n} count sets on {QUBIT}; reference baseline skipped: qdk not installed "
                "(pip install 'hybridsim[ft]')",
            )
        )
        rows.append(Row("ft_factory_table", "s", build_s, None, "", None, f"{QUBIT}, surface code"))
        return rows
    ref_rate = 1.0 / per_call
    rows.append(
        Row(
            "ft_estimates",
            "estimates/s",
            rate,
            ref_rate,
            "ratio >= 10",
            rate / ref_rate >= 10,
            f"{n} distinct count sets on {QUBIT}, memo cleared; baseline: qdk LogicalCounts"
            f".estimate, median of {50 if quick else 300} calls on the same sets "
            f"({per_call * 1e3:.2f} ms per call)",
        )
    )
    rows.append(
        Row(
            "ft_factory_table",
            "s",
            build_s,
            per_call,
            "",
            None,
            f"{QUBIT}, surface code: every design of <= 3 rounds, built once per model; "
            "baseline: one qdk call",
        )
    )
    return rows
