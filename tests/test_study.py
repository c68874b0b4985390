"""The Q-Newton study (studies/qnewton/study.py).

Fast: ``--help`` explains the plans; every grid of both plans is a valid sweep; the committed page
and figures are exactly what the template and figure code make of the committed results.json (no
number is typed by hand, and the page is current). Slow: the ``--small`` plan, run twice in fresh
processes with different OpenBLAS kernels (``OPENBLAS_CORETYPE``, as on another machine) and
thread settings, renders the same page, whose numbers pass consistency checks a wrong model or a
wrong analysis would fail."""

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STUDY = ROOT / "studies" / "qnewton"
SCRIPT = STUDY / "study.py"
PAGE = ROOT / "docs" / "study"
FOOTER = "<!-- footer:"


def study_module():
    sys.path.insert(0, str(STUDY))
    try:
        import study
    finally:
        sys.path.remove(str(STUDY))
    return study


def script(*args, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT.parent,  # the script must not depend on the working directory
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_help_explains_the_plans():
    out = script("--help")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for word in ("full", "--small", "--render-only", "--runs", "resumes", "--dask-local"):
        assert word in text, word


def test_the_script_is_short():
    lines = SCRIPT.read_text().count("\n")
    assert lines < 600, f"studies/qnewton/study.py has {lines} lines: move analysis to the library"


def test_every_grid_of_both_plans_is_a_valid_sweep():
    from hybridsim.sweep.spec import load_sweep

    study = study_module()
    for plan in study.PLANS.values():
        grids = study.grids(plan)
        assert len({g.name for g in grids}) == len(grids)
        for g in grids:
            spec = load_sweep(g.sweep_definition(ROOT))  # builds and validates every point
            assert spec.runs == g.runs, g.name


def test_the_committed_page_is_the_rendering_of_the_committed_results(tmp_path):
    for name in ("results.json", "timings.json"):
        shutil.copy(PAGE / name, tmp_path / name)
    out = script("--render-only", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "index.md").read_text()
    assert page == (PAGE / "index.md").read_text(), "regenerate: python studies/qnewton/study.py"
    names = sorted(p.name for p in (PAGE / "img").glob("*.png"))
    assert names == sorted(p.name for p in (tmp_path / "img").glob("*.png"))
    for name in names:
        assert (tmp_path / "img" / name).read_bytes() == (PAGE / "img" / name).read_bytes(), name
        assert f"img/{name}" in page, name
    body = page.split(FOOTER)[0]
    for bad in (r"\bNone\b", r"\bnan\b", r"\binf\b", r"\{\{", r"\{%", r"\de[+-]\d\d"):
        assert not re.search(bad, body), bad
    R = json.loads((PAGE / "results.json").read_text())
    assert R["plan"]["name"] == "full"


def page_sections(page):
    """Heading anchor (GitHub's slug rule) → that section's text, of a Markdown page."""
    out, anchor = {}, None
    for line in page.splitlines():
        if line.startswith("## "):
            title = line[3:].strip().lower()
            anchor = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            out[anchor] = ""
        elif anchor:
            out[anchor] += line + "\n"
    return out


NUMBER = re.compile(r"[−+-]?\d[\d  ,.]*(?:×10[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)?\s?(?:%|×|µs|ms|ns|as|s|d|h)?")
STUDY_LINK = re.compile(r"\[([^\]]+)\]\(docs/study/index\.md#([^)]+)\)")


def test_every_number_in_the_readme_findings_links_to_the_section_that_prints_it():
    readme = (ROOT / "README.md").read_text()
    found = readme.split("**What we found**", 1)[1].split("\n## ", 1)[0]
    sections = page_sections((PAGE / "index.md").read_text().split(FOOTER)[0])
    links = STUDY_LINK.findall(found)
    assert len(links) >= 8, "the findings should link their numbers to the study's sections"
    for text, anchor in links:
        assert anchor in sections, f"README links to a missing study section: #{anchor}"
        body = " ".join(sections[anchor].split())
        for num in NUMBER.findall(text):
            num = num.strip()
            if num:
                assert num in body, f"README's {num!r} ({text!r}) is not in section #{anchor}"
    # Numbers outside links are not allowed (other than section numbers and list markers).
    rest = STUDY_LINK.sub("", found)
    rest = re.sub(r"\]\([^)]*\)", "]", rest)  # other links' targets
    rest = re.sub(r"`[^`]*`", "", rest)  # code: names, commands and formulas
    stray = [n.strip() for n in NUMBER.findall(rest) if re.search(r"\d", n)]
    assert not stray, f"README findings: numbers not linked to a study section: {stray}"


def checks(R):
    """Consistency checks of a results.json that a wrong model or analysis would fail."""
    M = R["methods"]["workloads"]
    for w, s in M.items():
        for m, c in s["rows"]["classical"].items():
            assert c["ratio"] == 1.0 and c["share"] == 0.0, (w, m)
        best = min(c["time_s"] for c in s["rows"]["classical"].values())
        assert s["rows"]["classical"][s["best_method"]]["time_s"] == best, w
    hits = R["methods"]["claim_hits"]
    assert all(c[3] <= 1 - R["claims"]["reduction"] for c in hits)
    # The free-κ rule decides on the true κ: the reference decisions are its own.
    est = R["estimators"]["rows"]
    assert est["qnewton_free_kappa"]["agreement"] == 1.0
    assert est["qnewton_free_kappa"]["estimate_s"]["high"] == 0.0
    assert est["norm_det"]["wrong"] == 0  # an upper bound on κ can only keep blocks classical
    for key in ("0.005", "0.1"):
        assert 0 < R["kappa"][key]["bound_ratio"]["high"] <= 1.0, key
    assert R["full"]["none_routed"] and R["full"]["forced_min"] > 1.0
    for w in R["ft"]["workloads"].values():
        for b in w["blocks"]:
            for e in b["models"].values():
                if e["code_distance"] is not None:
                    assert e["physical_qubits"] > b["logical_qubits"]
            for x in b["break_even"]:
                if x["scale"] is not None:
                    assert math.isclose(x["scale"] * x["runtime_s"], b["classical_s"], rel_tol=1e-9)
    cheap = R["change"]["cheapest"]
    assert all(
        not r["blocks"] for r in R["change"]["rows"] if len(r["names"]) < len(cheap[0]["names"])
    )
    # Under paper_unit the QPU's gate count does not depend on d.
    assert R["pruning"]["unit_flat"]


@pytest.mark.slow
def test_the_small_plan_regenerates_the_same_page_on_other_blas_kernels(tmp_path):
    pages = []
    for i, env in enumerate(({}, {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "1"})):
        out, runs = tmp_path / f"out{i}", tmp_path / f"runs{i}"
        done = script("--small", "--out", str(out), "--runs", str(runs), "--quiet", env=env,
                      timeout=1800)  # fmt: skip
        assert done.returncode == 0, done.stderr
        R = json.loads((out / "results.json").read_text())
        assert R["plan"]["name"] == "small"
        checks(R)
        page = (out / "index.md").read_text()
        # The page is a pure function of results.json: rendering it again gives the same bytes.
        again = tmp_path / f"again{i}"
        again.mkdir()
        for name in ("results.json", "timings.json"):
            shutil.copy(out / name, again / name)
        assert script("--render-only", "--out", str(again)).returncode == 0
        assert (again / "index.md").read_text() == page
        pages.append(page.split(FOOTER)[0])
    assert pages[0] == pages[1], (
        "a printed number depends on the BLAS kernels: round it or spread it"
    )
