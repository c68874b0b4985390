"""The study script (scenarios/study.py) in its reduced form: it runs, writes every section's
numbers with their provenance, draws non-empty figures that re-render byte for byte, renders a
page with no unfilled placeholder, and its numbers pass consistency checks that a wrong model or
a wrong analysis would fail."""

import json
import math
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scenarios" / "study.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    # A subprocess keeps the study's registered policy out of this test session's registry.
    subprocess.run(
        [sys.executable, str(SCRIPT), "--small", "--out", str(out), "--quiet"],
        check=True,
        cwd=tmp_path_factory.getbasetemp(),  # the script must not depend on the working dir
        timeout=300,
    )
    return out, json.loads((out / "results.json").read_text())


def _get(d, path):
    for part in path:
        d = d[part]
    return d


# Paths into results.json (tuples: some keys contain dots or slashes).
SECTION_NUMBERS = [
    ("paper", "digits", "classical", "training_time_s", "mean"),
    ("paper", "digits", "classical", "final_accuracy", "mean"),
    ("paper", "digits", "qnewton-norm_det", "time_ratio", "mean"),
    ("paper", "digits", "free", "time_ratio", "mean"),
    ("paper", "digits", "free", "accuracy_delta", "mean"),
    ("paper", "digits", "free", "qpu_over_gpu_solve_max"),
    ("paper", "digits", "qnewton-norm_det", "breakdown", "estimate"),
    ("paper", "shapes", "mlp", "qnewton", "time_ratio"),
    ("paper", "shapes", "bert-tiny", "free", "time_ratio"),
    ("paper", "shapes", "mistral-tiny", "allrouted", "time_ratio"),
    ("kappa", "eps0.005", "drop"),
    ("kappa", "eps0.005", "largest_drop"),
    ("kappa", "eps0.1", "drop"),
    ("kappa", "eps0.1", "bound_ratio_max"),
    ("breakeven", "paper_lu_min_s"),
    ("breakeven", "paper_lu_max_s"),
    ("full", "simulated", "digits", "routed_quantum"),
    ("full", "simulated", "bert-tiny", "time_ratio"),
    ("full", "forced", "digits/forced-full", "training_time_s"),
    ("full", "forced", "digits/forced-full-cal", "calibration_time_s"),
    ("full", "ladder", "full", "training_time_s"),
    ("full", "sweep", "paper", "classical_s"),
    ("estimators", "qnewton-norm_det", "agreement"),
    ("estimators", "qnewton-lanczos", "log10_error_median"),
    ("estimators", "free", "time_ratio"),
]


def test_every_section_has_its_numbers(study):
    _, R = study
    for section in ("setup", "paper", "kappa", "breakeven", "full", "estimators", "runs"):
        assert R[section], section
    for path in SECTION_NUMBERS:
        value = _get(R, path)
        assert isinstance(value, int | float) and math.isfinite(value), (path, value)
    assert R["breakeven"]["table"] and R["breakeven"]["curves"]
    for wl in ("digits", "mlp", "bert-tiny", "mistral-tiny"):
        assert R["full"]["required"][wl]["rows"], wl


def test_every_number_names_the_runs_it_comes_from(study):
    _, R = study
    cited = set()

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "runs" and isinstance(v, list):
                    cited.update(v)
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk({k: v for k, v in R.items() if k != "runs"})
    assert cited, "no section cites its runs"
    assert cited <= set(R["runs"]), cited - set(R["runs"])
    for key, run in R["runs"].items():
        assert (ROOT / run["scenario"]).is_file(), key
        assert isinstance(run["seed"], int) and isinstance(run["overrides"], list), key


def test_figures_exist_and_rerender_byte_for_byte(study, tmp_path):
    out, R = study
    names = sorted(p.name for p in (out / "img").glob("*.png"))
    assert len(names) == 8, names
    for name in names:
        data = (out / "img" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000, name
    # Figures and page are a pure function of results.json: re-rendering gives the same bytes.
    (tmp_path / "results.json").write_text((out / "results.json").read_text())
    subprocess.run(
        [sys.executable, str(SCRIPT), "--render-only", "--out", str(tmp_path)],
        check=True,
        timeout=120,
    )
    for name in names:
        assert (tmp_path / "img" / name).read_bytes() == (out / "img" / name).read_bytes(), name
    assert (tmp_path / "index.md").read_text() == (out / "index.md").read_text()


def test_page_is_fully_rendered(study):
    out, _ = study
    page = (out / "index.md").read_text()
    assert "$" not in page
    for bad in (r"\bNone\b", r"\bnan\b", r"\binf\b", r"[{}]"):
        assert not re.search(bad, page), bad
    for name in [p.name for p in (out / "img").glob("*.png")]:
        assert f"img/{name}" in page, name


def test_paper_accounting_qpu_solves_are_faster_than_gpu_solves(study):
    """At 1 as gates under queries × gate time, every block the QPU got ran faster there than
    its GPU solve would have (the premise of the paper's routing)."""
    _, R = study
    routed = [
        v
        for v in R["paper"]["digits"].values()
        if isinstance(v, dict) and v.get("qpu_over_gpu_solve_max") is not None
    ]
    assert routed
    for v in routed:
        assert v["qpu_over_gpu_solve_max"] < 1.0
    # ... so with κ known for free, routing saves time against classical Newton.
    assert R["paper"]["digits"]["free"]["time_ratio"]["max"] < 1.0
    # Attosecond gates clear every paper-accounting break-even gate time.
    assert R["breakeven"]["paper_lu_min_s"] > R["paper_claims"]["gate_time_s"]


def test_full_accounting_routes_nothing_to_the_qpu(study):
    _, R = study
    for wl, sim in R["full"]["simulated"].items():
        assert sim["routed_quantum"] == 0, wl
    assert R["breakeven"]["full_none_suffices"]
    # A forced QPU solve is readout-bound: readout exceeds gates + state preparation per block.
    for b, blk in R["full"]["forced"]["digits/forced-full"]["blocks"].items():
        assert blk["readout_s"] > blk["compute_s"] + blk["state_prep_s"], b
        assert blk["service_s"] > blk["classical_s"], b
    # The ladder ends at the paper's accounting, where every block goes to the QPU.
    ladder = R["full"]["ladder"]
    assert ladder["full"]["quantum_share"] == 0.0
    assert ladder["no-link-readout-prep-loading"]["quantum_share"] == 1.0
    # Calibration windows only add time.
    forced = R["full"]["forced"]
    assert (
        forced["digits/forced-full-cal"]["training_time_s"]
        >= forced["digits/forced-full"]["training_time_s"]
    )


def test_kappa_statistics_are_consistent(study):
    _, R = study
    for key, k in R["kappa"].items():
        # κ(H + ε·max|H|·I) <= 1 + N/ε for PSD H (docs/background/conditioning.md).
        assert 0 < k["bound_ratio_max"] <= 1.0, key
        assert k["drop"] > 0, key
        # With disjoint first/last windows the largest pairwise drop bounds the window drop.
        if 2 * k["window"] <= k["analysed_steps"]:
            assert k["largest_drop"] >= k["drop"] * (1 - 1e-10), key
        # The per-step medians (steps.csv) agree with the per-block κ (jobs.csv).
        blocks = k["blocks"].values()
        for i in range(len(k["step"])):
            values = [float(b["kappa_true"][i]) for b in blocks]
            assert math.isclose(
                statistics.median(values), k["kappa_true_median"][i], rel_tol=1e-10
            ), (key, i)


def test_better_estimators_route_at_least_as_well_as_the_papers_bound(study):
    _, R = study
    est = R["estimators"]
    assert est["qnewton-exact"]["agreement"] >= 0.99
    assert est["qnewton-norm_det"]["agreement"] <= est["qnewton-lanczos"]["agreement"]
    assert (
        est["qnewton-norm_det"]["log10_error_median"] > est["qnewton-lanczos"]["log10_error_median"]
    )
    # Policies that skip estimation spend no time on it.
    assert est["free"]["estimate_s_per_step"] == 0.0
