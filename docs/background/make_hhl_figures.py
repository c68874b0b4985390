"""Regenerate the figures of docs/background/hhl.md.

Run from the project root::

    python docs/background/make_hhl_figures.py

Writes, under docs/background/img/:

* ``hhl_circuit.png``: qutip-qip's matplotlib drawing of the HHL circuit for a 4 × 4 system with a
  3-qubit clock (the same ``QubitCircuit`` object ``hhl_solve`` simulates);
* ``hhl_clock_tradeoff.png``: accuracy and success probability against clock size for several κ,
  every point a real circuit simulation, with the default clock rule marked;
* ``hhl_clock_tradeoff.csv``: the numbers behind that plot;
* ``hhl_speed.png``: wall time of circuit build and simulation against total qubit count.

Everything is seeded, so the accuracy numbers are reproducible; the timings are this machine's.
"""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from hybridsim.quantum import default_clock_qubits, hhl_solve

IMG = Path(__file__).resolve().parent / "img"
KAPPAS = (2.0, 5.0, 10.0, 20.0, 50.0)
CLOCKS = tuple(range(3, 13))
N = 16
SYSTEMS_PER_KAPPA = 6


def random_spd(rng: np.random.Generator, n: int, kappa: float) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    ev = np.concatenate([[1.0, kappa], np.exp(rng.uniform(0.0, np.log(kappa), n - 2))])
    return (q * ev) @ q.T


def draw_circuit() -> Path:
    rng = np.random.default_rng(1)
    a = random_spd(rng, 4, 4.0)
    r = hhl_solve(a, rng.standard_normal(4), clock_qubits=3)
    labels = ["anc", "c0", "c1", "c2", "s0", "s1"]
    path = IMG / "hhl_circuit"
    r.circuit.draw("matplotlib", file_path=str(path), save=True, wire_label=labels, dpi=150)
    plt.close("all")
    return path.with_suffix(".png")


def tradeoff() -> list[dict]:
    rng = np.random.default_rng(2024)
    rows = []
    for kappa in KAPPAS:
        systems = [(random_spd(rng, N, kappa), rng.standard_normal(N))
                   for _ in range(SYSTEMS_PER_KAPPA)]
        for m in CLOCKS:
            errs, infids, probs = [], [], []
            for a, b in systems:
                x_ref = np.linalg.solve(a, b)
                r = hhl_solve(a, b, clock_qubits=m)
                errs.append(np.linalg.norm(r.x - x_ref) / np.linalg.norm(x_ref))
                infids.append(1.0 - r.fidelity(x_ref))
                probs.append(r.success_probability)
            rows.append({"kappa": kappa, "clock_qubits": m, "worst_rel_error": max(errs),
                         "worst_infidelity": max(infids),
                         "median_success_probability": statistics.median(probs)})
    return rows


def plot_tradeoff(rows: list[dict]) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for kappa in KAPPAS:
        sel = [r for r in rows if r["kappa"] == kappa]
        m = [r["clock_qubits"] for r in sel]
        line, = axes[0].semilogy(m, [r["worst_rel_error"] for r in sel], "o-",
                                 label=f"κ = {kappa:g}")
        axes[1].semilogy(m, [max(r["worst_infidelity"], 1e-12) for r in sel], "o-",
                         color=line.get_color())
        axes[2].semilogy(m, [r["median_success_probability"] for r in sel], "o-",
                         color=line.get_color())
        d = default_clock_qubits(kappa, 0.01)
        if d in m:
            i = m.index(d)
            axes[0].plot([d], [sel[i]["worst_rel_error"]], "*", ms=16, color=line.get_color(),
                         mec="k")
    axes[0].axhline(0.01, color="k", ls="--", lw=1)
    axes[0].text(3.1, 0.0115, "ε = 0.01 (default)", fontsize=8)
    axes[1].axhline(1e-3, color="k", ls="--", lw=1)
    axes[1].text(3.1, 1.2e-3, "fidelity 0.999", fontsize=8)
    axes[0].set_title(f"worst ‖x − x*‖/‖x*‖ over {SYSTEMS_PER_KAPPA} SPD systems, N = {N}")
    axes[1].set_title("worst 1 − fidelity")
    axes[2].set_title("median success probability")
    for ax in axes:
        ax.set_xlabel("clock qubits n_c")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, title="★ = default n_c(κ, ε=0.01)", title_fontsize=8)
    fig.tight_layout()
    path = IMG / "hhl_clock_tradeoff.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def plot_speed() -> Path:
    rng = np.random.default_rng(7)
    a, b = random_spd(rng, N, 10.0), rng.standard_normal(N)
    qubits, build, sim = [], [], []
    for m in range(4, 14):
        runs = [hhl_solve(a, b, clock_qubits=m) for _ in range(5)]
        qubits.append(runs[0].n_qubits)
        build.append(statistics.median(r.build_wall_s for r in runs))
        sim.append(statistics.median(r.simulate_wall_s for r in runs))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(qubits, build, "o-", label="circuit build")
    ax.semilogy(qubits, sim, "s-", label="state-vector simulation")
    ax.set_xlabel(f"total qubits (N = {N}, clock 4 … 13)")
    ax.set_ylabel("median wall time per solve [s]")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = IMG / "hhl_speed.png"
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    draw_circuit()
    rows = tradeoff()
    with (IMG / "hhl_clock_tradeoff.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot_tradeoff(rows)
    plot_speed()
    print(f"figures written to {IMG} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
