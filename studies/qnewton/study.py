"""The Q-Newton study: does routing Hessian solves to a QPU pay off against the best classical
opponent, and what hardware would it take?

Plans (each writes results.json, img/*.png and index.md into --out):

  full           docs/study, the page: 5 seeds for the chaotic quantities, 256-step shape runs
  --small        runs/study-small/page: the same questions at reduced size (2 seeds, a few
                 steps), what the tests run
  --render-only  redraw the figures and index.md from OUT/results.json (runs nothing)

The page's footer shows OUT/timings.json, where a plan records the wall and CPU time of its last
fresh run (--timings FILE records it elsewhere, e.g. the small plan's in docs/study).

Runs go through hybridsim.run_sweep into --runs (default runs/study-<plan>): a local process
pool (--workers N), or --serial, --dask-local N, --cluster tcp://HOST:PORT; running again with the
same --runs resumes. Sections: 1 paper accounting against every classical method; 2 d·log N and
pruning; 3 time to target accuracy; 4 finite-shot readout; 5 κ over training; 6 κ estimators;
7 full accounting; 8 fault-tolerant resources; 9 what would change the conclusion.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the checkout's package
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from hybridsim.analysis import blocks as B  # noqa: E402
from hybridsim.analysis import decisions, faulttolerant, improvements, kappa, records  # noqa: E402
from hybridsim.analysis import runs as grid_runs  # noqa: E402
from hybridsim.analysis.runs import Grid, run_grids  # noqa: E402
from hybridsim.analysis.stats import json_ready, paired, ratio, spread  # noqa: E402
from hybridsim.costs.ft import QUBIT_MODELS  # noqa: E402
from hybridsim.costs.quantum import readout_runs  # noqa: E402
from hybridsim.report.data import load_run  # noqa: E402
from hybridsim.report.page import render_markdown  # noqa: E402
from hybridsim.results import package_versions  # noqa: E402
from hybridsim.scenario import load_scenario  # noqa: E402
from hybridsim.workload.datasets import load_dataset  # noqa: E402
from hybridsim.workload.shapes import paper_model  # noqa: E402

QUICKSTART = "scenarios/quickstart.toml"
SHAPES = {m: f"scenarios/paper-{m}.toml" for m in ("mlp", "bert-tiny", "mistral-tiny")}
METHODS = ("lu", "cholesky", "cg", "woodbury", "cg_matrix_free", "auto")
ESTIMATORS = ("norm_det", "floor", "hager_higham", "lanczos", "exact")
#: κ held at 10³ for every block and step: the end of the paper's claimed trajectory (10⁶
#: dropping 1000×), below its 10⁴ threshold, so the rule may route every block.
FLAT = {"workload.kappa.start": 1000.0, "workload.kappa.total_drop": 1.0,
        "workload.kappa.scatter_sigma": 0.0}  # fmt: skip
#: The paper's claims (arXiv:2405.00252; docs/background/references.md#qnewton-claims).
CLAIMS = {"reduction": 0.9, "kappa_threshold": 1e4, "kappa_drop": 1000.0, "gate_time_s": 1e-18}
ERROR_RATES = (1e-3, 1e-4, 1e-5, 1e-6, 1e-8)
GATE_S = {"1 as": 1e-18, "1 ps": 1e-12, "1 ns": 1e-9}


@dataclass(frozen=True)
class Plan:
    """Sizes of one study run."""

    name: str
    seeds: tuple[int, ...]  # digits MLP: time to target, estimators' own seeds below
    estimator_seeds: tuple[int, ...]
    digits_steps: int
    shape_steps: int
    full_steps: int
    kappa_steps: int
    kappa_seeds: tuple[int, ...]
    iris_steps: int
    iris_seeds: tuple[int, ...]
    window: int  # steps averaged at each end for κ's drop factor
    methods: tuple[str, ...] = METHODS
    prune: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)
    gates: tuple[str, ...] = ("1 as", "1 ps", "1 ns")


PLANS = {
    "full": Plan("full", (1, 2, 3, 4, 5), (1, 2, 3), 30, 256, 16, 100, (1, 2, 3), 30, (1, 2, 3),
                 10),
    "small": Plan("small", (1, 2), (1,), 3, 8, 2, 8, (1,), 3, (1,), 2,
                  ("lu", "woodbury", "auto"), (1.0, 0.1, 0.003), ("1 as", "1 ns")),
}


# -- the runs -----------------------------------------------------------------------------------


def grids(p: Plan) -> list[Grid]:
    """Every run of the study, as named grids (one sweep each)."""
    # Digits runs use modelled QPU outputs (executed circuits are section 4's subject).
    dig = {"workload.steps": p.digits_steps, "workload.baselines": [],
           "quantum.execute_max_n": 0}  # fmt: skip
    no_true = {**dig, "workload.kappa_true": False}  # classical runs need no exact κ
    g = [
        Grid("digits-newton", QUICKSTART, p.seeds, no_true | {"scheduler.policy": "classical_only"},
             {"costs.classical_method": p.methods}),
        Grid("digits-first-order", QUICKSTART, p.seeds, no_true,
             {"workload.optimizer": ["kfac", "adam", "sgd"]}),
        Grid("digits-qnewton", QUICKSTART, p.seeds, {**dig, "scheduler.policy": "qnewton"},
             {"scheduler.estimator": ["norm_det", "floor"]}),
        Grid("digits-free", QUICKSTART, p.seeds, dig,
             {"scheduler.policy": ["qnewton_free_kappa", "oracle"]}),
        Grid("digits-estimators", QUICKSTART, p.estimator_seeds,
             dig | {"scheduler.policy": "qnewton"},
             {"scheduler.estimator": ["hager_higham", "lanczos", "exact"]}),
        Grid("digits-methods", QUICKSTART, (1,), dig,
             {"scheduler.policy": ["qnewton", "qnewton_free_kappa"],
              "costs.classical_method": p.methods[:-1]}),
        Grid("digits-full", QUICKSTART, (1,), {**dig, "costs.accounting": "full",
             "workload.steps": p.full_steps},
             {"scheduler.policy": ["classical_only", "qnewton", "qnewton_free_kappa",
                                   "quantum_only"]}),
        # κ over a long run: the paper's MLP default ε_norm = 5e-3 (a small L2 term and a smaller
        # step keep it stable), and the quickstart's 0.1; every block's exact κ recorded.
        Grid("kappa", QUICKSTART, p.kappa_seeds,
             {**dig, "workload.steps": p.kappa_steps, "scheduler.policy": "classical_only"},
             {"workload.eps_norm": [0.005, 0.1], "workload.l2": [0.0001, 0.0],
              "workload.lr": [0.3, 1.0]}, mode="zip"),
        # Finite shots: an iris MLP whose every block is small enough to run as an HHL circuit.
        Grid("iris", QUICKSTART, p.iris_seeds, IRIS | {"workload.steps": p.iris_steps},
             {"scheduler.policy": ["classical_only", "qnewton_free_kappa"]}),
        Grid("iris-shots", QUICKSTART, p.iris_seeds,
             IRIS | {"workload.steps": p.iris_steps, "scheduler.policy": "qnewton_free_kappa"},
             {"quantum.shots": [SHOTS // 100, SHOTS // 10, SHOTS]}),
        Grid("pruning", SHAPES["bert-tiny"], (1,),
             {**FLAT, "workload.steps": p.full_steps, "scheduler.policy": "qnewton_free_kappa",
              "costs.classical_method": "lu"},
             {"cluster.qpu.atto.gate_time_2q": p.gates, "costs.accounting": ["paper", "paper_unit"],
              "workload.prune_ratio": p.prune}),
        Grid("pruning-classical", SHAPES["bert-tiny"], (1,),
             {"workload.steps": p.full_steps, "scheduler.policy": "classical_only"},
             {"costs.classical_method": ["lu", "auto"]}),
    ]  # fmt: skip
    for m, path in SHAPES.items():
        steps = {} if m == "mlp" else {"workload.steps": p.shape_steps}
        if p.name != "full" and m == "mlp":
            steps = {"workload.steps": p.shape_steps}
        g += [
            Grid(f"shapes-{m}", path, (1,), steps,
                 {"scheduler.policy": ["classical_only", "qnewton", "qnewton_free_kappa"],
                  "costs.classical_method": p.methods}),
            Grid(f"shapes-{m}-flat", path, (1,), {**steps, **FLAT,
                 "scheduler.policy": "qnewton_free_kappa"}, {"costs.classical_method": p.methods}),
            Grid(f"full-{m}", path, (1,), {"workload.steps": p.full_steps,
                 "costs.accounting": "full"}, {"scheduler.policy": ["classical_only", "qnewton",
                                                                   "quantum_only"]}),
        ]  # fmt: skip
    return g


#: The iris MLP 4→4→3: blocks W1 (16), W2 (12), b1 (4), b2 (3), all executed as HHL circuits.
IRIS = {"workload.dataset": "iris", "workload.hidden": [4], "workload.batch_size": 64,
        "workload.baselines": []}  # fmt: skip
#: Usable samples signed ℓ2 tomography needs for ε = 0.05 on the largest iris block (N = 16):
#: N·log₂N/ε² (costs.quantum.readout_runs), so every block meets the target.
SHOTS = 25_600


# -- reading runs -------------------------------------------------------------------------------


@cache
def run(path: Path) -> Any:  # a kept run's records
    return load_run(path)


def pick(grs, seed: int | None = None, **values) -> list[Any]:
    return [run(r.path) for r in grid_runs.pick(grs, seed, **values)]


def one(grs, **values) -> Any:
    return run(grid_runs.one(grs, **values).path)


@cache
def scenario(path: Path) -> Any:
    return load_scenario(path / "scenario.toml")


def time_s(r: Any) -> float:
    return float(r.summary["training_time_s"])


# -- 1. paper accounting against every classical method -----------------------------------------


def variants(p: Plan, runs, w: str) -> dict[str, dict[str, Any]]:
    """Classical Newton and the Q-Newton variants of workload ``w``, per classical method."""
    if w == "digits":
        cl = {m: one(runs["digits-newton"], costs__classical_method=m) for m in p.methods}
        out = {"classical": cl}
        for v, pol in (("qnewton", "qnewton"), ("free", "qnewton_free_kappa")):
            out[v] = {m: one(runs["digits-methods"], scheduler__policy=pol,
                             costs__classical_method=m) for m in p.methods[:-1]}  # fmt: skip
        out["qnewton"]["auto"] = one(runs["digits-qnewton"], scheduler__estimator="norm_det")
        out["free"]["auto"] = one(runs["digits-free"], scheduler__policy="qnewton_free_kappa")
        return out
    grid = f"shapes-{w}"
    out = {v: {m: one(runs[grid], scheduler__policy=pol, costs__classical_method=m)
               for m in p.methods}
           for v, pol in (("classical", "classical_only"), ("qnewton", "qnewton"),
                          ("free", "qnewton_free_kappa"))}  # fmt: skip
    out["flat"] = {m: one(runs[f"{grid}-flat"], costs__classical_method=m) for m in p.methods}
    return out


def section_methods(p: Plan, runs) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for w in ("digits", *SHAPES):
        v = variants(p, runs, w)
        cl = {m: time_s(r) for m, r in v["classical"].items()}
        best_m = min(cl, key=cl.get)
        rows = {}
        for name, per in v.items():
            rows[name] = {m: {"time_s": time_s(r), "ratio": ratio(time_s(r), cl[m]),
                              "ratio_vs_best": ratio(time_s(r), cl[best_m]),
                              "share": records.quantum_share(r.summary),
                              "blocks": records.quantum_blocks(r.jobs),
                              "breakdown": asdict(records.step_breakdown(r))}
                          for m, r in per.items()}  # fmt: skip
        out[w] = {"best_method": best_m, "rows": rows,
                  "steps": records.step_breakdown(v["classical"]["lu"]).steps}  # fmt: skip
    cells = [(w, name, m, c["ratio"], c["ratio_vs_best"]) for w, s in out.items()
             for name, row in s["rows"].items() if name != "classical" for m, c in row.items()]
    hits = [c for c in cells if c[3] is not None and c[3] <= 1 - CLAIMS["reduction"]]
    charged = [c for c in cells if c[1] == "qnewton"]
    free_auto = [c[3] for c in cells if c[1] == "free" and c[2] == "auto"]
    return {"workloads": out, "claim_hits": hits, "cells": len(cells),
            "best_cell": min(cells, key=lambda c: c[3]),
            "best_cell_vs_best": min(cells, key=lambda c: c[4]),
            "worst_charged": max(charged, key=lambda c: c[3]), "best_free_auto": min(free_auto),
            "hits_flat": all(c[1] == "flat" for c in hits),
            "hits_methods": sorted({c[2] for c in hits})}


def workload_blocks(runs) -> dict[str, tuple[list[B.Block], Any]]:
    """Each workload's blocks (closed-form inputs) and its scenario."""
    r = one(runs["digits-qnewton"], scheduler__estimator="norm_det")
    sc = scenario(r.source)
    out = {"digits": (B.run_blocks(r.jobs, rank=sc.workload.batch_size), sc)}
    for m in SHAPES:
        sc = scenario(one(runs[f"shapes-{m}"], scheduler__policy="qnewton",
                          costs__classical_method="auto").source)  # fmt: skip
        out[m] = (B.shape_blocks(sc), sc)
    return out


# -- 2. the paper's d·log N accounting and pruning ----------------------------------------------


def section_pruning(p: Plan, runs, wb) -> dict[str, Any]:
    blocks, sc = wb["bert-tiny"]
    ratios = [round(10 ** (-k / 4), 6) for k in range(13)]  # 1 … 10⁻³
    curves = {}
    for acc in ("paper", "paper_unit"):
        for b in blocks:
            pts = [B.Block(b.name, b.n, max(1, math.floor(r * b.n)), 1e3, b.rank) for r in ratios]
            rows = B.break_even_table(pts, sc, acc, clamp=True)
            curves[f"{acc}/{b.n}"] = {"accounting": acc, "n": b.n, "name": b.name,
                                      "prune_ratio": ratios,
                                      "lu": [r["gate_time_s"]["lu"] for r in rows],
                                      "best": [r["gate_time_s"]["best"] for r in rows]}  # fmt: skip
    base = {m: time_s(one(runs["pruning-classical"], costs__classical_method=m))
            for m in ("lu", "auto")}  # fmt: skip
    sim = {}
    for gate in p.gates:
        t = {acc: [time_s(one(runs["pruning"], cluster__qpu__atto__gate_time_2q=gate,
                              costs__accounting=acc, workload__prune_ratio=r)) for r in p.prune]
             for acc in ("paper", "paper_unit")}  # fmt: skip
        shares = [records.quantum_share(one(runs["pruning"], costs__accounting="paper",
                  cluster__qpu__atto__gate_time_2q=gate, workload__prune_ratio=r).summary)
                  for r in p.prune]  # fmt: skip
        # The d·log N term's share of the training time: paper minus paper_unit (which charges
        # the pruning work but not d), over paper.
        gate_share = [(a - u) / a for a, u in zip(t["paper"], t["paper_unit"], strict=True)]
        sim[gate] = {"gate": gate, "prune_ratio": list(p.prune), "share": shares,
                     "gate_share": gate_share,
                     **{f"ratio_lu_{k}": [x / base["lu"] for x in v] for k, v in t.items()},
                     "ratio_auto_paper": [x / base["auto"] for x in t["paper"]]}  # fmt: skip
    # Closed form: the largest prune ratio at which each block breaks even against LU.
    needed = {g: {c["n"]: next((r for r, x in zip(c["prune_ratio"], c["lu"], strict=True)
                                if x is not None and x >= GATE_S[g]), None)
                  for c in curves.values() if c["accounting"] == "paper"} for g in p.gates}
    unit = [c["lu"][1:] for c in curves.values() if c["accounting"] == "paper_unit"]
    return {"curves": curves, "simulated": sim, "classical_s": base, "needed": needed,
            "max_gate_share": {g: max(x["gate_share"]) for g, x in sim.items()},
            "unit_flat": all(max(u) <= min(u) * (1 + 1e-9) for u in unit)}


# -- 3. time to target accuracy; 4. finite-shot readout -------------------------------------------


def section_accuracy(p: Plan, runs) -> dict[str, Any]:
    target = scenario(runs["digits-newton"][0].path).workload.target_accuracy
    best = pick(runs["digits-newton"], costs__classical_method="auto")
    rows = {f"newton-{m}": pick(runs["digits-newton"], costs__classical_method=m)
            for m in p.methods}  # fmt: skip
    rows |= {f"qnewton-{e}": pick(runs["digits-qnewton"], scheduler__estimator=e)
             for e in ("norm_det", "floor")}  # fmt: skip
    rows |= {k: pick(runs["digits-free"], scheduler__policy=k)
             for k in ("qnewton_free_kappa", "oracle")}  # fmt: skip
    rows |= {k: pick(runs["digits-first-order"], workload__optimizer=k)
             for k in ("kfac", "adam", "sgd")}  # fmt: skip
    out = {k: records.accuracy_summary(v, target, best) for k, v in rows.items()}
    med = {k: r["time_to_target_s"]["median"] for k, r in out.items()}
    ranking = sorted(((k, t) for k, t in med.items() if t is not None), key=lambda kt: kt[1])
    qn = [t for k, t in med.items() if k.startswith(("qnewton", "oracle")) and t is not None]
    return {"target": target, "seeds": list(p.seeds), "rows": out, "ranking": ranking,
            "sgd_before_qnewton": med["sgd"] is not None and all(med["sgd"] < t for t in qn)}


def section_shots(p: Plan, runs) -> dict[str, Any]:
    r0 = pick(runs["iris"], scheduler__policy="classical_only")
    sc = scenario(runs["iris"][0].path)
    target, eps = sc.workload.target_accuracy, sc.costs.epsilon
    sets = {"classical": r0, "exact": pick(runs["iris"], scheduler__policy="qnewton_free_kappa")}
    sets |= {f"shots-{s}": pick(runs["iris-shots"], quantum__shots=s)
             for s in (SHOTS // 100, SHOTS // 10, SHOTS)}  # fmt: skip
    rows = {}
    for k, rs in sets.items():
        row = records.accuracy_summary(rs, target)
        q = [j for r in rs for j in r.jobs if j.route == "quantum"]
        row["solution_error"] = spread(j.solution_error for j in q).as_dict()
        row["executions"] = spread(j.shots for j in q).as_dict()
        rows[k] = row
    blocks = {b.name: b.n for b in B.run_blocks(r0[0].jobs)}
    need = {b: float(readout_runs("signed_tomography", n, eps)) for b, n in blocks.items()}
    return {"target": target, "eps": eps, "shots": [SHOTS // 100, SHOTS // 10, SHOTS],
            "blocks": blocks, "needed": need, "rows": rows, "seeds": list(p.iris_seeds),
            "test_examples": len(load_dataset(sc.workload.dataset, rng=np.random.default_rng(0),
                                 test_fraction=sc.workload.test_fraction).y_test)}  # fmt: skip


# -- 5. κ over training ---------------------------------------------------------------------------


def section_kappa(p: Plan, runs, wb) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for eps in (0.005, 0.1):
        rs = pick(runs["kappa"], workload__eps_norm=eps)
        per = [kappa.trajectory(r, eps, p.window) for r in rs]
        sc = scenario(runs["kappa"][0].path if eps == 0.005 else runs["kappa"][-1].path)
        hist = kappa.block_histories(rs[0].jobs)
        out[str(eps)] = {
            "eps_norm": eps, "l2": sc.workload.l2, "lr": sc.workload.lr, "steps": p.kappa_steps,
            "seeds": len(rs), "runs": per,
            **{k: spread(x[k] for x in per).as_dict()
               for k in ("drop", "largest_drop", "low", "high", "bound_ratio")},
            "diverged": sum(x["diverged_at"] is not None for x in per),
            "blocks": {b: {**h, "bound": kappa.kappa_bound(h["n"][0], eps)}
                       for b, h in hist.items()},
        }  # fmt: skip
    # The paper's claimed trajectory against the bound at the language models' ε_norm.
    blocks, sc = wb["bert-tiny"]
    r = one(runs["shapes-bert-tiny"], scheduler__policy="qnewton", costs__classical_method="auto")
    model = paper_model("bert-tiny")
    start = sc.workload.kappa.start
    eps_lm = model.eps_norm
    out["bert-tiny"] = {"eps_norm": eps_lm, "kappa_start": start, "blocks": len(model.blocks),
                        "below_start": sum(kappa.kappa_bound(b.n, eps_lm) < start
                                           for b in model.blocks),
                        "clipped_share": r.summary["kappa_clipped_block_steps"]
                        / len(r.jobs)}  # fmt: skip
    return out


# -- 6. κ estimators ------------------------------------------------------------------------------


def section_estimators(p: Plan, runs) -> dict[str, Any]:
    seeds = p.estimator_seeds
    sets = {e: ("digits-qnewton" if e in ("norm_det", "floor") else "digits-estimators",
                {"scheduler__estimator": e}) for e in ESTIMATORS}  # fmt: skip
    sets |= {k: ("digits-free", {"scheduler__policy": k}) for k in ("qnewton_free_kappa", "oracle")}
    out = {}
    for name, (grid, values) in sets.items():
        rs = [r for s in seeds for r in pick(runs[grid], seed=s, **values)]
        base = [r for s in seeds for r in pick(runs["digits-newton"], seed=s,
                                                 costs__classical_method="auto")]  # fmt: skip
        refs = [d for r in rs for d in decisions.reference_decisions(r.jobs, scenario(r.source))]
        errs, inf = kappa.estimate_errors(j for r in rs for j in r.jobs)
        q = decisions.routing_quality(refs)
        br = [records.step_breakdown(r) for r in rs]
        out[name] = {"jobs": sum(len(r.jobs) for r in rs), "agreement": q.agreement,
                     "missed": q.missed_quantum, "wrong": q.wrong_quantum,
                     "lost_per_step_s": q.lost_s / sum(b.steps for b in br),
                     "log10_error": spread(errs).as_dict(), "infinite": inf,
                     "estimate_s": spread(b.phases.get("estimate", 0.0) for b in br).as_dict(),
                     "estimate_share": spread(b.share("estimate") for b in br).as_dict(),
                     "share": spread(records.quantum_share(r.summary) for r in rs).as_dict(),
                     "ratio": paired([time_s(r) for r in rs],
                                     [time_s(b) for b in base]).as_dict()}  # fmt: skip
    return {"seeds": list(seeds), "rows": out}


# -- 7. full accounting ---------------------------------------------------------------------------


def section_full(runs, wb) -> dict[str, Any]:
    sim = {}
    for w in ("digits", *SHAPES):
        grid = "digits-full" if w == "digits" else f"full-{w}"
        c, q = (one(runs[grid], scheduler__policy=x) for x in ("classical_only", "qnewton"))
        forced = one(runs[grid], scheduler__policy="quantum_only")
        tot = records.route_totals(forced.jobs).get("quantum")
        sim[w] = {"classical_s": time_s(c), "qnewton_s": time_s(q),
                  "ratio": ratio(time_s(q), time_s(c)),
                  "routed_quantum": q.summary["routed_quantum"], "jobs": len(q.jobs),
                  "forced_s": time_s(forced), "forced_ratio": ratio(time_s(forced), time_s(c)),
                  "forced_parts": asdict(tot) if tot else None}  # fmt: skip
    free = one(runs["digits-full"], scheduler__policy="qnewton_free_kappa")
    sim["digits"]["free_routed_quantum"] = free.summary["routed_quantum"]
    # Where one forced QPU solve's time goes, per digits block (first step).
    forced = one(runs["digits-full"], scheduler__policy="quantum_only")
    blocks, sc = wb["digits"]
    best = {b["block"]["name"]: b["classical_s"]["best"]
            for b in B.break_even_table(blocks, sc, "full", clamp=True)}  # fmt: skip
    per = {}
    first = sorted((j for j in forced.jobs if j.step == 1), key=lambda j: -j.n)
    for row in records.job_rows(first):
        per[row["block"]] = {k: row[k] for k in ("n", "d", "kappa_true", "shots", "service_s",
                             "compute_s", "state_prep_s", "readout_s", "transfer_s")}
        per[row["block"]]["classical_s"] = best.get(row["block"])
    forced_r = [s["forced_ratio"] for s in sim.values()]
    return {"simulated": sim, "forced_blocks": per, "forced_min": min(forced_r),
            "forced_max": max(forced_r),
            "none_routed": all(s["routed_quantum"] == 0 for s in sim.values())}  # fmt: skip


# -- 8. fault-tolerant resources; 9. what would change the conclusion --------------------------


def section_ft(wb) -> dict[str, Any]:
    out, flat = {}, []
    for w, (blocks, sc) in wb.items():
        c = sc.costs
        cls = {r["block"]["name"]: (r["best_method"], r["classical_s"]["best"])
               for r in B.break_even_table(blocks, sc, "full", clamp=True)}  # fmt: skip
        per = faulttolerant.block_table(blocks, cls, eps=c.epsilon, algorithm=c.algorithm,
                                        error_rates=ERROR_RATES, clamp=True)  # fmt: skip
        for b, row in zip(blocks, per, strict=True):
            fast = row["fastest"] and {"qubit": row["fastest"], **row["models"][row["fastest"]]}
            flat += [(w, b, fast, x) for x in row["break_even"] if x["scale"] is not None]
        out[w] = {"eps": c.epsilon, "blocks": per}
    fastest = [(w, b, e) for w, b, e, _ in flat if e]
    small = min(fastest, key=lambda t: (t[1].n, t[2]["runtime_s"]))
    large = max(fastest, key=lambda t: (t[1].n, -t[2]["runtime_s"]))
    w, b, _, x = max(flat, key=lambda t: t[3]["scale"])

    small, large = ({"workload": t[0], "block": t[1].name, **t[2]} for t in (small, large))
    return {"workloads": out, "models": list(QUBIT_MODELS),
            "error_rates": list(ERROR_RATES), "smallest": small, "largest": large,
            "closest": {"workload": w, "block": b.name, "error_rate": x["error_rate"],
                        "gate_time_needed_s": x["gate_time_needed_s"],
                        "factor": 1 / x["scale"]}}  # fmt: skip


def section_change(wb) -> dict[str, Any]:
    found: dict[tuple, dict] = {}
    for w, (blocks, sc) in wb.items():
        gpu, qpu = B.device_specs(sc)
        base = improvements.Setting("full", qpu, sc.costs.epsilon)
        for o in improvements.search(blocks, base, improvements.STANDARD, gpu=gpu, clamp=True):
            f = found.setdefault(o.names, {"names": list(o.names), "blocks": [], "margin": 0.0})
            f["blocks"] += [f"{w}: {b}" for b in o.blocks]
            f["margin"] = max(f["margin"], o.margin)
    rows = sorted(found.values(), key=lambda f: (len(f["names"]), -f["margin"]))
    wins = [f for f in rows if f["blocks"]]
    k = min((len(f["names"]) for f in wins), default=None)
    n = len(improvements.STANDARD)
    cheap = [f for f in wins if len(f["names"]) == k]
    shown = [f for f in rows if len(f["names"]) <= 1 or f in cheap or len(f["names"]) >= n - 1]
    every_but = next(f for f in rows if len(f["names"]) == n - 1 and "no readout" not in f["names"])
    return {"improvements": [{"name": i.name, "description": i.description}
                             for i in improvements.STANDARD],
            "rows": rows, "cheapest": cheap, "shown": shown,
            "without_readout": len(every_but["blocks"])}  # fmt: skip


# -- results.json, figures, page ----------------------------------------------------------------


def section_setup(p: Plan, runs, wb) -> dict[str, Any]:
    sc = scenario(one(runs["digits-qnewton"], scheduler__estimator="norm_det").source)
    wl, shapes = sc.workload, {}
    for m, (blocks, ss) in list(wb.items())[1:]:
        model, k = paper_model(m), ss.workload.kappa
        g, q = (asdict(x) for x in B.device_specs(ss))
        r = one(runs[f"shapes-{m}"], scheduler__policy="classical_only",
                costs__classical_method="lu")
        shapes[m] = {"steps": len(records.main_steps(r.steps)), "blocks": len(model.blocks),
                     "steps_per_epoch": model.steps_per_epoch, "shapes": len(blocks),
                     "batch": model.batch_size, "eps_norm": model.eps_norm, "kappa_start": k.start,
                     "kappa_drop": k.total_drop, "kappa_sigma": k.scatter_sigma,
                     "prune": ss.workload.prune_ratio, "epsilon": ss.costs.epsilon,
                     "gpu": g, "qpu": q}  # fmt: skip
    gpu, qpu = (asdict(x) for x in B.device_specs(sc))
    return {"digits": {"dataset": wl.dataset, "hidden": list(wl.hidden), "lr": wl.lr,
                       "activation": wl.activation, "eps_norm": wl.eps_norm,
                       "blocks": {b.name: b.n for b in wb["digits"][0]}, "batch": wl.batch_size,
                       "target": wl.target_accuracy, "epsilon": sc.costs.epsilon, "gpu": gpu,
                       "steps": p.digits_steps, "qpu": qpu,
                       "gpus": next(g.count for g in sc.cluster.groups if g.kind == "gpu"),
                       "threshold": sc.scheduler.kappa_threshold},
            "shapes": shapes, "flat_kappa": FLAT["workload.kappa.start"]}  # fmt: skip


def build(p: Plan, gs: list[Grid], runs) -> dict[str, Any]:
    wb = workload_blocks(runs)
    R = {"plan": asdict(p), "claims": CLAIMS, "versions": package_versions(),
         "grids": {g.name: {**g.sweep_definition(ROOT), "base": str(g.base), "runs": g.runs}
                   for g in gs},
         "setup": section_setup(p, runs, wb),
         "methods": section_methods(p, runs),
         "break_even_paper": {w: B.break_even_table(b, sc, "paper", clamp=True)
                              for w, (b, sc) in wb.items()},
         "pruning": section_pruning(p, runs, wb),
         "accuracy": section_accuracy(p, runs), "shots": section_shots(p, runs),
         "kappa": section_kappa(p, runs, wb), "estimators": section_estimators(p, runs),
         "full": section_full(runs, wb), "ft": section_ft(wb),
         "change": section_change(wb)}  # fmt: skip
    return json_ready(R)


def render(out: Path) -> None:
    """Figures and index.md from OUT/results.json (and OUT/timings.json, the footer's)."""
    from figures import draw  # studies/qnewton/figures.py, beside this script

    R = json.loads((out / "results.json").read_text())
    tpath = out / "timings.json"
    timings = json.loads(tpath.read_text()) if tpath.is_file() else {}
    names = draw(R, out / "img")
    (out / "index.md").write_text(render_markdown(HERE / "page.md.j2", R=R, figures=names,
                                                  timings=timings))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="the reduced plan (what the tests run)")
    ap.add_argument("--render-only", action="store_true", help="redraw from OUT/results.json")
    ap.add_argument("--out", type=Path, help="page directory (default: see above)")
    ap.add_argument("--runs", type=Path, help="sweep directories (default runs/study-<plan>)")
    ap.add_argument("--timings", type=Path, help="where the run time goes (OUT/timings.json)")
    ex = ap.add_mutually_exclusive_group()
    ex.add_argument("--workers", type=int, help="local worker processes (default: usable cores)")
    ex.add_argument("--serial", action="store_true", help="run in this process")
    ex.add_argument("--dask-local", type=int, metavar="N", help="a local Dask cluster of N workers")
    ex.add_argument("--cluster", metavar="tcp://HOST:PORT", help="a running Dask scheduler")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    plan = PLANS["small" if a.small else "full"]
    a.out = a.out or (ROOT / "runs/study-small/page" if a.small else ROOT / "docs/study")
    if a.render_only:
        render(a.out)
        return 0
    runs_dir = a.runs or ROOT / "runs" / f"study-{plan.name}"
    fresh, load0, t0 = not runs_dir.exists(), os.getloadavg(), time.perf_counter()
    gs = grids(plan)
    runs = run_grids(gs, runs_dir, root=ROOT, workers=a.workers, serial=a.serial,
                     dask_local=a.dask_local, cluster=a.cluster, progress=not a.quiet)  # fmt: skip
    R = build(plan, gs, runs)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "results.json").write_text(json.dumps(R, indent=1) + "\n")
    wall = time.perf_counter() - t0
    tpath = a.timings or a.out / "timings.json"
    timings = json.loads(tpath.read_text()) if tpath.is_file() else {}
    if fresh or not timings.get(plan.name, {}).get("fresh"):  # a resume keeps a fresh timing
        use = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        timings[plan.name] = {"wall_s": round(wall, 1), "runs": sum(g.runs for g in gs),
                              "cpu_s": round(sum(u.ru_utime + u.ru_stime for u in use), 1),
                              "fresh": fresh, "cores": os.cpu_count(),
                              "load_before": [round(x, 2) for x in load0],
                              "load_after": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
        tpath.write_text(json.dumps(timings, indent=1, sort_keys=True) + "\n")
    render(a.out)
    if not a.quiet:
        print(f"study ({plan.name}): {sum(g.runs for g in gs)} runs, {wall:.0f} s -> {a.out}",
              file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
