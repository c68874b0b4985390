"""The study's figures, drawn from results.json only (on Agg canvases, PNG bytes with fixed
metadata through the report toolkit: the same results give the same bytes)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hybridsim.report.style import distinct_colors, log_ticks, new_figure, png_bytes

WORKLOADS = {"digits": "digits MLP", "mlp": "paper MLP-30", "bert-tiny": "BERT-tiny",
             "mistral-tiny": "Mistral-tiny"}  # fmt: skip
VARIANTS = {"qnewton": "qnewton, κ̂ (norm_det) charged", "free": "qnewton, exact κ free",
            "flat": "exact κ free, every block κ = 10³"}  # fmt: skip


def f(x: Any) -> float:
    """A results.json number as a float (null and strings: NaN / inf)."""
    if x is None:
        return math.nan
    return float(x)


def _save(fig, path: Path) -> str:
    path.write_bytes(png_bytes(fig))
    return path.name


def methods(R, img: Path) -> str:
    fig = new_figure(12, 7.0)
    axes = fig.subplots(2, 2).ravel()
    colors = distinct_colors(len(VARIANTS))
    claim = 1 - R["claims"]["reduction"]
    for ax, (w, label) in zip(axes, WORKLOADS.items(), strict=True):
        rows = R["methods"]["workloads"][w]["rows"]
        ms = [m for m in R["plan"]["methods"] if m in rows["classical"]]
        width = 0.8 / len(VARIANTS)
        for i, (v, vlabel) in enumerate(VARIANTS.items()):
            if v not in rows:
                continue
            xs = [k + (i - 1) * width for k in range(len(ms))]
            ax.bar(xs, [f(rows[v][m]["ratio"]) for m in ms], width, color=colors[i], label=vlabel)
        ax.axhline(1.0, color="k", lw=1)
        ax.axhline(claim, color="k", ls="--", lw=1, label="the paper: 90 % less")
        ax.set_yscale("log")
        log_ticks(ax.yaxis)
        ax.set_xticks(range(len(ms)), ms, fontsize=8)
        ax.set_title(f"{label}: training time / classical Newton with the same method", fontsize=9)
    axes[1].legend(fontsize=7, loc="upper center")
    return _save(fig, img / "methods.png")


def pruning(R, img: Path) -> str:
    P = R["pruning"]
    fig = new_figure(12, 4.6)
    left, right = fig.subplots(1, 2)
    curves = [c for c in P["curves"].values()]
    sizes = sorted({c["n"] for c in curves}, reverse=True)
    colors = dict(zip(sizes, distinct_colors(len(sizes)), strict=True))
    for c in curves:
        ls = "-" if c["accounting"] == "paper" else ":"
        label = f"N = {c['n']} ({c['accounting']})"
        ys = [f(x) for x in c["lu"]]
        left.loglog(c["prune_ratio"], ys, ls, color=colors[c["n"]], label=label)
    for g in R["plan"]["gates"]:
        s = {"1 as": 1e-18, "1 ps": 1e-12, "1 ns": 1e-9}[g]
        left.axhline(s, color="grey", lw=0.8)
        left.text(1.0, s, f" {g}", fontsize=7, color="grey", va="bottom", ha="right")
    left.invert_xaxis()
    left.set_xlabel("prune ratio (d = ⌊r·N⌋)")
    left.set_ylabel("break-even gate time against LU (s)")
    left.set_title("BERT-tiny blocks, κ = 10³: paper (d·log N) vs paper_unit (dotted)", fontsize=9)
    left.legend(fontsize=6, ncol=2)
    colors2 = distinct_colors(len(P["simulated"]))
    for c, s in zip(colors2, P["simulated"].values(), strict=True):
        for acc, ls in (("paper", "-"), ("paper_unit", ":")):
            right.semilogx(s["prune_ratio"], s[f"ratio_lu_{acc}"], ls, marker="o", ms=3, color=c,
                           label=f"{s['gate']} gates, {acc}")  # fmt: skip
    right.axhline(1.0, color="k", lw=1)
    right.invert_xaxis()
    right.set_yscale("log")
    for ax in (left, right):
        log_ticks(ax.xaxis)
        log_ticks(ax.yaxis)
    right.set_xlabel("prune ratio")
    right.set_ylabel("training time / classical Newton (LU)")
    right.set_title("BERT-tiny shapes, exact κ free, every block κ = 10³ (simulated)", fontsize=9)
    right.legend(fontsize=7)
    return _save(fig, img / "pruning.png")


def accuracy(R, img: Path) -> str:
    A = R["accuracy"]
    rows = A["rows"]
    fig = new_figure(12, 5.0)
    left, right = fig.subplots(1, 2)
    colors = distinct_colors(len(rows))
    for c, (name, row) in zip(colors, rows.items(), strict=True):
        cv = row["curve"]
        pts = [(t, a) for t, a in zip(cv["at_s"], cv["test_accuracy"], strict=True) if t > 0]
        left.semilogx([t for t, _ in pts], [a for _, a in pts], color=c, lw=1, label=name)
    left.axhline(A["target"], color="k", ls="--", lw=1)
    left.set_xlabel("simulated time (s)")
    left.set_ylabel("test accuracy")
    left.set_title(f"digits MLP, seed {A['seeds'][0]}: test accuracy against time", fontsize=9)
    left.legend(fontsize=6, ncol=2)
    names = list(rows)
    for i, (c, name) in enumerate(zip(colors, names, strict=True)):
        t = rows[name]["time_to_target_s"]
        if t["median"] is None:
            continue
        lo, hi = f(t["low"]), f(t["high"])
        right.plot([lo, hi], [i, i], color=c, lw=3)
        right.plot([f(t["median"])], [i], "o", color="k", ms=4)
    right.set_xscale("log")
    log_ticks(right.xaxis)
    right.set_yticks(range(len(names)), names, fontsize=7)
    right.invert_yaxis()
    right.set_xlabel(f"time to {A['target']:.0%} test accuracy (s): median and range over seeds")
    right.set_title("time to target (runs that never reach it are not drawn)", fontsize=9)
    log_ticks(left.xaxis)
    return _save(fig, img / "accuracy.png")


def shots(R, img: Path) -> str:
    S = R["shots"]
    rows = S["rows"]
    fig = new_figure(12, 3.8)
    left, right = fig.subplots(1, 2)
    names = list(rows)
    for i, name in enumerate(names):
        a, t = rows[name]["final"], rows[name]["training_time_s"]
        left.plot([f(a["low"]), f(a["high"])], [i, i], color="C0", lw=3)
        left.plot([f(a["median"])], [i], "ko", ms=4)
        right.plot([f(t["median"])], [i], "o", color="C3", ms=5)
    left.axvline(S["target"], color="k", ls="--", lw=1)
    left.set_xlabel("final test accuracy (median and range over seeds)")
    right.set_xscale("log")
    log_ticks(right.xaxis)
    right.set_xlabel("simulated training time (s), median over seeds")
    for ax in (left, right):
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.invert_yaxis()
    left.set_title("iris MLP, every block an executed HHL circuit", fontsize=9)
    return _save(fig, img / "shots.png")


def kappa(R, img: Path) -> str:
    K = R["kappa"]
    fig = new_figure(12, 4.6)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key in zip(axes, ("0.005", "0.1"), strict=True):
        k = K[key]
        blocks = k["blocks"]
        for c, (b, h) in zip(distinct_colors(len(blocks)), blocks.items(), strict=True):
            ax.semilogy(h["step"], [f(x) for x in h["kappa_true"]], color=c, lw=0.9,
                        label=f"{b} (N = {h['n'][0]})")  # fmt: skip
            ax.axhline(f(h["bound"]), color=c, ls="--", lw=0.8)
        ax.axhline(R["claims"]["kappa_threshold"], color="k", lw=0.8, ls=":")
        ax.set_title(f"ε_norm = {k['eps_norm']}: exact κ per block (seed 1); dashed: 1 + N/ε_norm",
                     fontsize=9)  # fmt: skip
        ax.set_xlabel("training step")
        log_ticks(ax.yaxis)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("κ₂ of the regularized block")
    return _save(fig, img / "kappa.png")


def estimators(R, img: Path) -> str:
    E = R["estimators"]["rows"]
    names = list(E)
    fig = new_figure(12, 3.8)
    left, right = fig.subplots(1, 2)
    left.barh(range(len(names)), [f(E[n]["agreement"]) for n in names], color="C0")
    left.set_xlabel("decisions agreeing with the rule at the exact κ")
    left.set_xlim(0, 1)
    for i, n in enumerate(names):
        r = E[n]["ratio"]
        right.plot([f(r["low"]), f(r["high"])], [i, i], color="C3", lw=3)
        right.plot([f(r["median"])], [i], "ko", ms=4)
    right.axvline(1.0, color="k", lw=1)
    right.set_xlabel("training time / classical Newton (auto), same seed")
    for ax in (left, right):
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.invert_yaxis()
    return _save(fig, img / "estimators.png")


def full(R, img: Path) -> str:
    blocks = R["full"]["forced_blocks"]
    parts = ("compute_s", "state_prep_s", "readout_s", "transfer_s", "classical_s")
    labels = ("gates incl. loading", "state preparation", "readout", "transfer", "GPU, best method")
    fig = new_figure(12, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    names = list(blocks)
    colors = distinct_colors(len(parts))
    h = 0.8 / len(parts)
    for i, (p, label, c) in enumerate(zip(parts, labels, colors, strict=True)):
        vals = [f(blocks[b].get(p)) for b in names]
        ax.barh([k + i * h for k in range(len(names))], [v if v > 0 else math.nan for v in vals],
                h, color=c, label=label)  # fmt: skip
    ax.set_xscale("log")
    log_ticks(ax.xaxis)
    ax.set_yticks([k + 2 * h for k in range(len(names))], names)
    ax.invert_yaxis()
    ax.set_xlabel("seconds for one solve (full accounting, forced onto the QPU)")
    ax.legend(fontsize=7)
    return _save(fig, img / "full.png")


def ft(R, img: Path) -> str:
    fig = new_figure(12, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    lines = [(w, b) for w, s in R["ft"]["workloads"].items() for b in s["blocks"]]
    colors = distinct_colors(len(lines))
    for c, (w, b) in zip(colors, lines, strict=True):
        pts = [(x["error_rate"], f(x["gate_time_needed_s"])) for x in b["break_even"]]
        ax.loglog([p for p, _ in pts], [t for _, t in pts], color=c, lw=1, marker=".",
                  label=f"{WORKLOADS[w]} N = {b['n']}")  # fmt: skip
    models = {"ns, 10⁻³": (1e-3, 50e-9), "ns, 10⁻⁴": (1e-4, 50e-9), "µs, 10⁻³": (1e-3, 100e-6),
              "µs, 10⁻⁴": (1e-4, 100e-6)}  # fmt: skip
    for name, (p, t) in models.items():
        ax.plot([p], [t], "k*", ms=9)
        ax.text(p, t, f"  qubit_gate_{name}", fontsize=7, va="center")
    ax.invert_xaxis()
    log_ticks(ax.xaxis)
    log_ticks(ax.yaxis)
    ax.set_xlabel("physical error rate (every operation)")
    ax.set_ylabel("two-qubit gate time at break-even (s)")
    ax.set_title("Fault-tolerant solve against the best classical method: break-even below each "
                 "line; stars: Azure gate-based models", fontsize=9)  # fmt: skip
    ax.legend(fontsize=6, ncol=3)
    return _save(fig, img / "ft.png")


def draw(R: dict[str, Any], img: Path) -> list[str]:
    """Every figure of the page into ``img``; returns the file names."""
    img.mkdir(parents=True, exist_ok=True)
    return [fn(R, img) for fn in (methods, pruning, accuracy, shots, kappa, estimators, full, ft)]
