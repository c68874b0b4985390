"""Generate the published-anchor tables of docs/background/fault-tolerance.md (§10).

Usage::

    python docs/background/make_ft_tables.py           # print the tables
    python docs/background/make_ft_tables.py --write   # replace them in the page

Every hybridsim number in the tables is computed here by hybridsim.costs.logical and
hybridsim.costs.ft; the published numbers are the ones cited on the page
(docs/background/references.md#dalzell-2023, #litinski-2019). tests/test_ft_docs.py checks that
the page holds exactly what this script prints, so the numbers are checked, not typed.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from hybridsim.costs import ft, logical

PAGE = Path(__file__).resolve().parent / "fault-tolerance.md"
BEGIN, END = "<!-- ft-anchors:begin -->", "<!-- ft-anchors:end -->"

#: Dalzell et al. 2023, the QLSA inside their interior point method at N = 1024, κ = 100, ε = 0.01.
DALZELL = {"t_state": 8.67e16, "t_tomography": 2.72e26, "logical_qubits": 4.19e6}
#: Litinski 2019, 100 qubits, 10⁸ T gates, p = 10⁻⁴, 1 µs code cycles.
LITINSKI = {"compact": (55_432, 14_300.0), "fast": (122_694, 1_300.0)}
N, KAPPA, EPS = 1024, 100.0, 0.01
#: Error budget for rotation synthesis when T states are counted (one third of it).
BUDGET = 1e-3

#: Litinski's hardware in the reference's gate-based model: 4·t_2q + 2·t_meas = 1 µs per code
#: cycle (t_2q = 100 ns, t_meas = 300 ns), every error rate 10⁻⁴.
LITINSKI_QUBIT = ft.QubitModel(
    "litinski_p1e-4_1us",
    "gate_based",
    one_qubit_measurement_time="300 ns",
    one_qubit_gate_time="100 ns",
    one_qubit_measurement_error_rate=1e-4,
    one_qubit_gate_error_rate=1e-4,
    t_gate_error_rate=1e-4,
)


def _g(x: float) -> str:
    return f"{x:.3g}"


def dalzell_rows() -> list[tuple[str, float, float, int]]:
    """(model, T states for the state, T states with tomography, logical qubits)."""
    rows = []
    for oracle, alpha, label in (
        ("qrom", 1.0, "hybridsim Jennings + QROM, α = 1"),
        ("qrom", math.sqrt(N), "hybridsim Jennings + QROM, α = √N (Frobenius-like)"),
        ("select_swap", 1.0, "hybridsim Jennings + select-swap QROM, α = 1"),
    ):
        t = []
        for readout in ("none", "tomography"):
            c = logical.qlsa_logical_counts(
                "jennings", oracle, N, N, KAPPA, EPS, readout, alpha=alpha
            )
            t.append(ft.logical_layout(c.per_solve(), BUDGET).t_states)
        rows.append((label, float(t[0]), float(t[1]), c.num_qubits))
    return rows


def litinski_rows() -> list[tuple[str, int, float, int]]:
    """(budget label, physical qubits, runtime s, code distance) of hybridsim's estimate."""
    rows = []
    for budget in (1e-2, 1e-3):
        counts = {"numQubits": 100, "tCount": 10**8}
        e = ft.estimate(counts, qubit=LITINSKI_QUBIT, error_budget=budget)
        rows.append((f"{budget:g}", e.physical_qubits, e.runtime_s, e.code_distance))
    return rows


def render() -> str:
    lines = [
        f"QLSA at N = {N} (dense, d = N), κ = {KAPPA:g}, ε = {EPS:g}; T states per solve "
        f"(T gates + 4 per Toffoli + rotation synthesis at a {BUDGET:g} budget):",
        "",
        "| model | T, state only | T, with tomography | logical qubits | T ratio to Dalzell |",
        "|---|---|---|---|---|",
        f"| Dalzell et al. 2023 (published) | {_g(DALZELL['t_state'])} | "
        f"{_g(DALZELL['t_tomography'])} | {_g(DALZELL['logical_qubits'])} | 1 |",
    ]
    for label, t0, t1, q in dalzell_rows():
        lines.append(f"| {label} | {_g(t0)} | {_g(t1)} | {q} | {_g(t0 / DALZELL['t_state'])} |")
    lines += [
        "",
        "100 logical qubits, 10⁸ T gates, p = 10⁻⁴, 1 µs code cycles:",
        "",
        "| model | error budget | physical qubits | runtime (s) | code distance |",
        "|---|---|---|---|---|",
        f"| Litinski 2019, compact block (published) | - | {LITINSKI['compact'][0]} | "
        f"{LITINSKI['compact'][1]:g} | - |",
        f"| Litinski 2019, fast block (published) | - | {LITINSKI['fast'][0]} | "
        f"{LITINSKI['fast'][1]:g} | - |",
    ]
    for budget, q, t, d in litinski_rows():
        lines.append(f"| hybridsim (`{LITINSKI_QUBIT.name}`) | {budget} | {q} | {t:g} | {d} |")
    return "\n".join(lines) + "\n"


def page_block(text: str) -> str:
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the tables in the page")
    args = parser.parse_args(argv)
    table = render()
    if not args.write:
        sys.stdout.write(table)
        return 0
    text = PAGE.read_text()
    i, j = text.index(BEGIN) + len(BEGIN), text.index(END)
    PAGE.write_text(text[:i] + "\n" + table + text[j:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
