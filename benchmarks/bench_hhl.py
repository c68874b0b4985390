"""Speed of the simulated HHL executor (issue 4 item 2), with same-run baselines.

Subjects are ``hybridsim.quantum.hhl_solve`` calls on random SPD systems with κ = 10. Baselines,
measured in the same process: ``numpy.linalg.solve`` of the same system (what the simulator would
otherwise do), the closed-form HHL oracle (the same answer without a circuit) and qutip-qip's own
``QubitCircuit.run`` on the same circuit object (what the numpy applier replaces). Circuit build and
simulation are reported separately (``QLSAResult.build_wall_s`` / ``simulate_wall_s``). Everything
runs with BLAS held to one thread, as ``hhl_solve`` itself does: on this shared 2-core machine
multithreaded BLAS makes small baselines erratic (numpy's 32×32 solve 10 µs or 70 µs at random).

Targets (issue 4): N = 16 and N = 32 at fidelity ≥ 0.999 under 0.3 s median; a 16-qubit circuit
under 1 s; an 18-qubit circuit under 4 s.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from benchmarks.harness import Row, interleaved_medians, median_time

BENCH = "hhl"


def _spd(rng: np.random.Generator, n: int, kappa: float) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    ev = np.concatenate([[1.0, kappa], np.exp(rng.uniform(0.0, np.log(kappa), n - 2))])
    return (q * ev) @ q.T


def _solve_rows(label: str, a, b, repeats: int, target_s: float, clock_qubits=None) -> list[Row]:
    from hybridsim.quantum import closed_form_hhl, hhl_solve

    hhl_solve(a, b, clock_qubits=clock_qubits)  # warm-up: imports, caches
    results = []

    def subject():
        results.append(hhl_solve(a, b, clock_qubits=clock_qubits))

    times = interleaved_medians({"hhl": subject, "numpy": lambda: np.linalg.solve(a, b)}, repeats)
    r = results[-1]
    fid = r.fidelity(np.linalg.solve(a, b))
    norm_err = abs(np.linalg.norm(r.x) / np.linalg.norm(np.linalg.solve(a, b)) - 1)
    build = statistics.median(x.build_wall_s for x in results)
    sim = statistics.median(x.simulate_wall_s for x in results)
    cf = median_time(lambda: closed_form_hhl(a, b, r.clock_qubits, r.evolution_time, r.C), repeats)
    shape = f"N={a.shape[0]}, {r.n_qubits} qubits (n_c={r.clock_qubits})"
    return [
        Row(
            BENCH,
            f"{label}: hhl_solve median s",
            times["hhl"],
            times["numpy"],
            f"< {target_s} s",
            times["hhl"] < target_s,
            f"{shape}; baseline numpy.linalg.solve; fidelity {fid:.6f}, |norm err| {norm_err:.4f}",
        ),
        Row(BENCH, f"{label}: circuit build median s", build, None, "", None, shape),
        Row(
            BENCH,
            f"{label}: simulate + readout median s",
            sim,
            cf,
            "",
            None,
            "baseline: closed-form oracle (same answer, no circuit)",
        ),
        Row(
            BENCH,
            f"{label}: fidelity vs numpy",
            fid,
            None,
            ">= 0.999",
            fid >= 0.999,
            f"{shape}; norm within 2 %: {norm_err < 0.02}",
        ),
    ]


def _qutip_run_row(repeats: int) -> Row:
    """The same circuit object simulated by qutip-qip's ``QubitCircuit.run`` and by our applier."""
    from qutip import Qobj

    from hybridsim.quantum import hhl_solve
    from hybridsim.quantum.simulate import run_statevector

    rng = np.random.default_rng(3)
    a, b = _spd(rng, 16, 10.0), rng.standard_normal(16)
    qc = hhl_solve(a, b, clock_qubits=6).circuit
    psi0 = np.zeros(2**qc.N, dtype=complex)
    psi0[0] = 1.0
    ket = Qobj(psi0.reshape(-1, 1), dims=[[2] * qc.N, [1] * qc.N])
    out = {}
    times = interleaved_medians(
        {
            "ours": lambda: out.__setitem__("ours", run_statevector(qc, psi0)),
            "qutip": lambda: out.__setitem__("qutip", qc.run(ket).full().ravel()),
        },
        repeats,
    )
    diff = float(np.max(np.abs(out["ours"] - out["qutip"])))
    return Row(
        BENCH,
        f"{qc.N}-qubit circuit: numpy applier s",
        times["ours"],
        times["qutip"],
        "ratio < 1",
        times["ours"] < times["qutip"],
        f"baseline QubitCircuit.run on the same circuit; max |Δψ| = {diff:.1e}",
    )


def _noise_row() -> Row:
    from hybridsim.quantum import NoiseModel, hhl_solve

    a = np.array(
        [[2.0, 0.5, 0.0, 0.1], [0.5, 1.0, 0.2, 0.0], [0.0, 0.2, 1.5, 0.3], [0.1, 0.0, 0.3, 3.0]]
    )
    b = np.array([1.0, -0.5, 0.25, 0.75])
    t0 = time.perf_counter()
    r = hhl_solve(a, b, clock_qubits=7, noise=NoiseModel(p_1q=1e-4, p_2q=1e-3))
    dt = time.perf_counter() - t0
    exact = time.perf_counter()
    hhl_solve(a, b, clock_qubits=7)
    exact = time.perf_counter() - exact
    return Row(
        BENCH,
        "10-qubit depolarizing density-matrix solve s",
        dt,
        exact,
        "",
        None,
        f"slow by design; baseline noiseless state vector; fidelity "
        f"{r.fidelity(np.linalg.solve(a, b)):.5f}",
    )


def run(quick: bool) -> list[Row]:
    """Benchmark rows (``quick``: fewer repeats, no noise run)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run(quick)


def _run(quick: bool) -> list[Row]:
    from hybridsim.quantum import hhl_solve

    repeats = 3 if quick else 9
    rng = np.random.default_rng(2024)
    rows: list[Row] = []
    for n in (16, 32):
        a, b = _spd(rng, n, 10.0), rng.standard_normal(n)
        rows += _solve_rows(f"N={n}, κ=10, default clock", a, b, repeats, 0.3)
    a64, b64 = _spd(rng, 64, 10.0), rng.standard_normal(64)
    rows += _solve_rows("16 qubits", a64, b64, repeats, 1.0, clock_qubits=9)
    rows += _solve_rows("18 qubits", a64, b64, max(3, repeats // 3), 4.0, clock_qubits=11)
    rows.append(_qutip_run_row(max(3, repeats // 3)))
    # Finite shots cost one multinomial draw per round on top of the exact run.
    a, b = _spd(rng, 32, 10.0), rng.standard_normal(32)
    g = np.random.default_rng(0)
    t = interleaved_medians(
        {"shots": lambda: hhl_solve(a, b, shots=10**6, rng=g), "exact": lambda: hhl_solve(a, b)},
        repeats,
    )
    rows.append(
        Row(
            BENCH,
            "N=32: hhl_solve with 1e6 shots s",
            t["shots"],
            t["exact"],
            "",
            None,
            "baseline: the same solve without shots",
        )
    )
    if not quick:
        rows.append(_noise_row())
    return rows
