"""Structure-aware classical cost models: Woodbury, matrix-free CG, assembly, factor reuse, `auto`,
one payload definition shared by the simulator and the break-even helpers."""

import math

import numpy as np
import pytest

from hybridsim.costs.breakeven import break_even, break_even_by_method, break_even_method_table
from hybridsim.costs.classical import (
    METHODS,
    ClassicalForm,
    applicable_methods,
    assembly_flops,
    best_method,
    cg_iterations,
    cg_matrix_free_flops,
    classical_solve_time,
    lu_flops,
    method_costs,
    solve_payload_bytes,
    solve_result_bytes,
    woodbury_flops,
)
from hybridsim.costs.model import CostModel
from hybridsim.costs.specs import GpuSpec, QpuSpec
from hybridsim.errors import ModelDomainError
from hybridsim.scenario import load_scenario
from hybridsim.workload.synthetic import payload_bytes as synthetic_payload
from hybridsim.workload.synthetic import result_bytes as synthetic_result

A100 = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=2e12)
SLOW = GpuSpec(tflops=1e-12, launch_latency_s=1.0)  # 1 flop/s, 1 s per call: counts readable


def test_woodbury_and_matrix_free_counts_by_hand():
    n, r = 10, 3
    assert woodbury_flops(n, r) == 2 * n * r * r + r + r**3 / 3 + 4 * n * r + 2 * r * r + 2 * n
    k = cg_iterations(100.0, 1e-6)
    assert cg_matrix_free_flops(n, r, 100.0, 1e-6) == k * (4 * n * r + 12 * n)
    w = classical_solve_time("woodbury", n, n, None, None, rank=r, gpu=SLOW)
    assert (w.flops, w.calls, w.total_s) == (350.0, 5.0, 355.0)
    m = classical_solve_time("cg_matrix_free", n, n, 100.0, 1e-6, rank=r, gpu=SLOW)
    assert m.calls == k and m.total_s == m.flops + k
    with pytest.raises(ModelDomainError, match="rank"):
        classical_solve_time("woodbury", n, n, None, None, gpu=SLOW)


def test_assembly_is_charged_only_when_the_block_does_not_exist():
    n, r = 100, 8
    have = classical_solve_time("lu", n, n, None, None, gpu=SLOW)
    build = classical_solve_time("lu", n, n, None, None, gpu=SLOW, rank=r, assembled=False)
    assert have.assembly_s == 0.0
    # Its own kernel: 2·r·N² flops and one launch, on top of the unchanged solve.
    assert build.assembly_s == assembly_flops(n, r) + 1.0 == 2 * r * n * n + 1.0
    assert build.total_s == have.total_s + build.assembly_s
    with pytest.raises(ModelDomainError, match="rank"):
        classical_solve_time("cholesky", n, n, None, None, gpu=SLOW, assembled=False)


def test_factor_reuse_charges_the_triangular_solves_only():
    n = 500
    fresh = classical_solve_time("lu", n, n, None, None, gpu=SLOW)
    reused = classical_solve_time("lu", n, n, None, None, gpu=SLOW, factored=True)
    assert fresh.flops == lu_flops(n)
    assert reused.flops == 2 * n * n  # forward and back substitution
    assert reused.bytes == 8 * (n * n + 2 * n)
    assert reused.calls == 1.0


def test_applicability():
    low_rank = ClassicalForm(1024, 1024, rank=64, spd=True, assembled=False)
    assert applicable_methods(low_rank) == METHODS
    full_rank = ClassicalForm(100, 100, rank=256, spd=True, assembled=False)
    assert "woodbury" not in applicable_methods(full_rank)
    assert "cg_matrix_free" in applicable_methods(full_rank)
    pruned = ClassicalForm(1024, 100, spd=True)  # a pruned block: no factor
    assert applicable_methods(pruned) == ("lu", "cholesky", "cg")
    indefinite = ClassicalForm(1024, 100)
    assert applicable_methods(indefinite) == ("lu",)


def test_auto_picks_woodbury_for_an_unpruned_low_rank_block():
    method, cost = best_method(4096, 4096, 1e3, 1e-2, gpu=A100, rank=128, spd=True, assembled=False)
    assert method == "woodbury"
    every = method_costs(4096, 4096, 1e3, 1e-2, gpu=A100, rank=128, spd=True, assembled=False)
    assert cost.total_s == min(float(c.total_s) for c in every.values())


def test_auto_picks_cholesky_or_cg_for_a_pruned_block():
    dense = best_method(2048, 2048, 1e2, 1e-2, gpu=A100, spd=True)
    assert dense[0] == "cholesky"
    sparse_easy = best_method(20_000, 20, 10.0, 1e-2, gpu=A100, spd=True)
    assert sparse_easy[0] == "cg"
    # Never a method that does not apply: an indefinite pruned block gets LU.
    assert best_method(2048, 20, 10.0, 1e-2, gpu=A100, spd=False)[0] == "lu"
    # Without κ the CG methods cannot be priced and are not chosen.
    assert best_method(20_000, 20, None, 1e-2, gpu=A100, spd=True)[0] == "cholesky"


def test_auto_prefers_a_reusable_lu():
    n = 4096
    method, cost = best_method(n, n, None, None, gpu=A100, rank=4000, spd=True, factored=True)
    assert method == "lu" and cost.flops == 2 * n * n


def test_best_method_vectorized_matches_scalar_calls():
    n = np.array([64.0, 4096.0, 20_000.0, 300.0])
    d = np.array([64.0, 4096.0, 20.0, 300.0])
    k = np.array([10.0, 1e3, 10.0, np.nan])
    r = np.array([128.0, 128.0, np.nan, 32.0])
    spd = np.array([True, True, True, True])
    names, cost = best_method(
        n, d, k, 1e-2, gpu=A100, rank=r, spd=spd, assembled=False | np.isnan(r)
    )
    for i in range(4):
        one, c1 = best_method(
            n[i],
            d[i],
            None if np.isnan(k[i]) else k[i],
            1e-2,
            gpu=A100,
            rank=None if np.isnan(r[i]) else r[i],
            spd=True,
            assembled=bool(np.isnan(r[i])),
        )
        assert names[i] == one and cost.total_s[i] == c1.total_s


def _scenario(**costs):
    return load_scenario(
        {
            "cluster": {"gpu": [{"name": "g"}]},
            "workload": {
                "kind": "synthetic",
                "jobs": 1,
                "pool": "gpu",
                "arrival": {"dist": "deterministic", "interval_s": 1},
                "service": {"dist": "deterministic", "value_s": 1},
            },
            "costs": costs,
        }
    )


def _costs(method):
    return CostModel(_scenario(classical_method=method).costs)


def _gpu():
    return _scenario().cluster.gpu[0]


def test_cost_model_default_is_auto_and_falls_back_to_lu():
    assert _scenario().costs.classical_method == "auto"
    g = _gpu()
    form = ClassicalForm(1000, 100, spd=False)  # woodbury cannot apply
    est = _costs("woodbury").classical(1000, 100, None, g, form=form)
    assert est.method == "lu"
    auto = _costs("auto").classical(
        4096, 4096, None, g, form=ClassicalForm(4096, 4096, rank=128, spd=True, assembled=False)
    )
    assert auto.method == "woodbury" and auto.assembly_s == 0.0
    lu = _costs("lu").classical(
        4096, 4096, None, g, form=ClassicalForm(4096, 4096, rank=128, spd=True, assembled=False)
    )
    assert lu.method == "lu" and lu.assembly_s > 0 and lu.total_s > 10 * auto.total_s
    # No structure: an arbitrary matrix, which only LU can be trusted with.
    assert _costs("auto").classical(100, 100, None, g).method == "lu"


def test_primed_and_scalar_predictions_agree():
    g = _gpu()
    forms = [
        ClassicalForm(64, 64, rank=128, spd=True, assembled=False),
        ClassicalForm(4096, 4096, rank=128, spd=True, assembled=False),
        ClassicalForm(300, 30, spd=True),
    ]
    kappas = [10.0, None, 50.0]
    primed = _costs("auto")
    primed.prime([f.n for f in forms], [f.d for f in forms], kappas, [g], forms=forms)
    fresh = _costs("auto")
    for f, k in zip(forms, kappas, strict=True):
        a = primed.classical(f.n, f.d, k, g, form=f)
        b = fresh.classical(f.n, f.d, k, g, form=f)
        assert a == b


# --- one payload definition ------------------------------------------------------------------


def test_payload_is_the_smaller_matrix_form_plus_b():
    # The example: n = d = 100. Dense 80 000 B beats CSR 120 000 B; b adds 800 B.
    assert solve_payload_bytes(100, 100) == 80_800.0
    assert solve_result_bytes(100) == 800.0
    assert solve_payload_bytes(1000, 10) == 12 * 1000 * 10 + 8000
    assert solve_payload_bytes(1000, 1000, factor_rank=32) == 8 * 1000 * 32 + 8000
    assert solve_payload_bytes(0, 0) == 0.0  # a synthetic job without a system


@pytest.mark.parametrize("n,d", [(100, 100), (1000, 10), (64, 7), (4096, 4096)])
def test_simulator_and_break_even_move_the_same_bytes(n, d):
    # The simulator's jobs (synthetic and training alike) use these two functions...
    moved = synthetic_payload(n, d) + synthetic_result(n)
    assert moved == solve_payload_bytes(n, d) + solve_result_bytes(n)
    # ...and break-even's link term is exactly their bytes over the QPU's link.
    qpu = QpuSpec(1e-9, 1e-9, 0.0, 0.0, 1e5, link_bandwidth_Bps=1e9)
    kw = dict(accounting="full", gpu=A100, qpu=qpu)
    with_link = break_even(n, d, 10.0, 1e-2, **kw)
    no_link = break_even(n, d, 10.0, 1e-2, **{**kw, "qpu": QpuSpec(1e-9, 1e-9, 0.0, 0.0, 1e5)})
    assert with_link.quantum_fixed_s - no_link.quantum_fixed_s == pytest.approx(moved / 1e9)


def test_training_jobs_move_what_their_method_needs():
    from hybridsim import run

    r = run(
        {
            "cluster": {"gpu": [{"name": "g", "count": 2}]},
            "workload": {"kind": "shapes", "model": "mlp", "steps": 1, "prune_ratio": 0.1},
            "scheduler": {"policy": "classical_only"},
            "costs": {"accounting": "full"},
        }
    )
    moved = {}
    for iv in r.intervals:
        if iv.kind == "transfer" and iv.resource == "link:g-0->switch":
            moved[iv.job_id] = int(iv.label.split()[0])
    # The home GPU g-0 keeps the five small blocks (they move nothing); the 23520-unknown block
    # goes to g-1 as Woodbury, which needs the factor U (N×B, B = 2048) and b, not the N×N block:
    # 8·23520·2048 + 8·23520 bytes.
    remote = [(j.job_id, j.device, j.n, j.method, j.matrix) for j in r.jobs if j.device != "g-0"]
    assert remote == [(0, "g-1", 23520, "woodbury", "unpruned")]
    assert moved == {0: 8 * 23520 * 2048 + 8 * 23520}
    assert moved[0] == solve_payload_bytes(23520, 23520, factor_rank=2048)


# --- break-even against every method ---------------------------------------------------------


def test_break_even_by_method_and_against_the_best():
    qpu = QpuSpec(1e-18, 1e-18, 0.0, 0.0, 1e5)
    kw = dict(accounting="paper", gpu=A100, qpu=qpu)
    be = break_even_by_method(16384, 1638, 1e3, 1e-2, rank=128, assembled=False, **kw)
    assert set(be) == {*METHODS, "best"}
    assert be["best"].method == "woodbury"
    # The best opponent is the cheapest classical time, so its break-even is the hardest.
    best_t = min(float(v.classical_s) for k, v in be.items() if k != "best")
    assert be["best"].classical_s == best_t
    for k, v in be.items():
        if not math.isnan(v.gate_time_s):
            assert k != "best"
    # The QPU must form and prune the block first (the factor is all that exists).
    have = break_even(16384, 1638, 1e3, 1e-2, classical_method="lu", **kw)
    assert be["lu"].quantum_fixed_s > have.quantum_fixed_s
    # Methods that do not apply are left out.
    no_factor = break_even_by_method(1000, 100, 10.0, 1e-2, spd=True, **kw)
    assert set(no_factor) == {"lu", "cholesky", "cg", "best"}


def test_break_even_method_table_rows():
    qpu = QpuSpec(1e-18, 1e-18, 0.0, 0.0, 1e5)
    rows = break_even_method_table(
        [1024, 16384],
        [1024],
        [10.0, 1e4],
        1e-2,
        accounting="paper",
        gpu=A100,
        qpu=qpu,
        rank=128,
        assembled=False,
    )
    assert len(rows) == 4 * (len(METHODS) + 1)
    best = [r for r in rows if r.classical_method == "best"]
    assert len(best) == 4 and all(r.best_method in METHODS for r in best)
    assert all(r.rank == 128.0 for r in rows)
    with pytest.raises(TypeError):
        break_even_method_table(
            [10], [10], [10.0], 1e-2, classical_method="lu", accounting="paper", gpu=A100, qpu=qpu
        )


def test_costs_page_per_method_break_even_table_is_what_the_code_computes():
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs/background/costs.md").read_text()
    marker = "<!-- per-method break-even table: recomputed by tests/test_classical_methods.py -->"
    table = page[page.index(marker) + len(marker) :].strip().split("\n\n")[0]
    lines = table.splitlines()[2:]
    gpu = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=1.555e12)
    qpu = QpuSpec(84e-9, 84e-9, 1.56e-6, 0.0, 1e5)
    rows = []
    for n in (4096, 49152):
        rows += break_even_method_table(
            [n], [n // 10], [10.0, 1e4], 1e-2, accounting="paper", gpu=gpu, qpu=qpu,
            rank=128, assembled=False, classical_d=n,
        )  # fmt: skip
    assert len(lines) == len(rows) == 24
    for line, row in zip(lines, rows, strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        method = row.classical_method
        if method == "best":
            method = f"best ({row.best_method})"
        assert cells[:4] == [f"{row.n:g}", f"{row.d:g}", f"{row.kappa:.0e}", method]
        for cell, value in zip(
            cells[4:7], (row.classical_s, row.quantum_fixed_s, row.gate_equivalents), strict=True
        ):
            assert cell == f"{value:.3g}"
        t = row.gate_time_s
        assert cells[7] == ("none (NaN)" if math.isnan(t) else f"{t:.3g} s")
