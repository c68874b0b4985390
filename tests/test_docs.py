"""The documentation is executable: every ``bash`` and ``python`` block in README.md and docs/
runs (in document order, in a scratch directory that holds the repository's scenarios), and the
generated scenario reference is up to date. ``console``/``text`` blocks are illustrations.

A ``python`` block that starts a Dask local cluster (``dask_local``) or has an ``if __name__ ==
"__main__":`` guard is a script: it is saved to a file and run as one (``python FILE``), as a user
would, since the cluster's workers import the main module only then. A ``toml`` block with a
top-level ``base`` is a sweep file: every point is validated, and a reduced version runs."""

import contextlib
import io
import math
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
DOCS = sorted(
    p.relative_to(ROOT).as_posix()
    for p in [ROOT / "README.md", *ROOT.joinpath("docs").rglob("*.md")]
    # the study page's numbers come from its own script, tested there (relative parts: a
    # checkout may itself live in a directory named "study")
    if "study" not in p.relative_to(ROOT).parts
)


def blocks(path, langs=("bash", "sh", "python")):
    for m in FENCE.finditer((ROOT / path).read_text()):
        lang, body = m.group(1), m.group(2)
        if lang in langs:
            yield lang, body


def run_script(body, directory, name):
    script = directory / name
    script.write_text(body)
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


def run_bash(body):
    from hybridsim.cli import main

    for line in body.splitlines():
        line = line.split("#", 1)[0].strip() if not line.strip().startswith("hybridsim") else line
        for part in line.split("&&"):
            part = part.strip()
            if not part.startswith("hybridsim "):
                continue  # pip installs and shell plumbing are not run here
            args = shlex.split(part, comments=True)[1:]
            code = main(args)
            assert code == 0, f"`{part}` exited with {code}"


def check_tutorial_claims(out: Path) -> None:
    """What docs/tutorial/getting-started.md says about its quickstart run holds for that run."""
    import csv
    import json

    s = json.loads((out / "runs/quickstart/summary.json").read_text())
    for run in ("", "classical_newton_", "sgd_"):
        assert s[f"{run}time_to_target_s"] is not None, f"{run or 'main '}run reaches no target"
    assert s["speedup_vs_classical_newton"] < 1, "the text says the hybrid run is slower"
    assert s["speedup_vs_sgd"] < s["speedup_vs_classical_newton"], "'lower still' against SGD"
    target = 0.8
    first = {}
    with open(out / "runs/quickstart/steps.csv") as f:
        for row in csv.DictReader(f):
            if row["test_accuracy"] and float(row["test_accuracy"]) >= target:
                first.setdefault(row["run"], int(row["step"]))
    assert first["main"] == first["classical_newton"], "both Newton runs: same step to target"
    assert first["sgd"] > first["main"], "SGD needs more steps"
    full = json.loads((out / "runs/full/summary.json").read_text())
    assert full["routed_quantum"] == 0 < full["routed_classical"], "full: the QPU loses every block"


#: Claims a page makes about the results of its own examples, checked after they ran.
DOC_CHECKS = {"docs/tutorial/getting-started.md": check_tutorial_claims}


@pytest.mark.parametrize("doc", [d for d in DOCS if any(True for _ in blocks(d))])
def test_doc_examples_run(doc, tmp_path, monkeypatch):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    namespace: dict = {"__name__": "__doc_example__"}
    for i, (lang, body) in enumerate(blocks(doc)):
        with contextlib.redirect_stdout(io.StringIO()):
            if lang == "python" and ("dask_local" in body or '__name__ == "__main__"' in body):
                run_script(body, tmp_path, f"example_{i}.py")
            elif lang == "python":
                exec(compile(body, f"{doc}:python", "exec"), namespace)
            else:
                run_bash(body)
    if doc in DOC_CHECKS:
        DOC_CHECKS[doc](tmp_path)


SWEEP_EXAMPLES = [
    (doc, i)
    for doc in DOCS
    for i, (_, body) in enumerate(blocks(doc, ("toml",)))
    if "base" in tomllib.loads(body)
]


@pytest.mark.parametrize(("doc", "index"), SWEEP_EXAMPLES)
def test_sweep_file_examples_validate_and_run(doc, index, tmp_path):
    """A sweep file shown in the docs validates in full (its base relative to scenarios/, as in
    the repository), and runs with one seed, two points and two training steps."""
    import hybridsim
    from hybridsim.sweep.spec import load_sweep

    _, body = list(blocks(doc, ("toml",)))[index]
    raw = tomllib.loads(body)
    load_sweep(raw, base_dir=ROOT / "scenarios")  # builds and validates every point
    factors = {
        key: [v for k, v in values.items() if k != "num"][0] if isinstance(values, dict) else values
        for key, values in raw.get("factors", {}).items()
    }  # a range: its two ends
    first = next(iter(factors), None)
    raw["factors"] = {k: (v[:2] if k == first else v[:1]) for k, v in factors.items()}
    raw["seeds"] = raw.get("seeds", [1])[:1]
    raw["base"] = str(ROOT / "scenarios" / raw["base"])
    if tomllib.loads(Path(raw["base"]).read_text())["workload"]["kind"] in ("mlp", "shapes"):
        raw.setdefault("set", {})["workload.steps"] = 2
    r = hybridsim.run_sweep(raw, tmp_path / "out", serial=True, progress=False)
    assert (r.ok, r.failed) == (min(2, r.runs), 0)


def test_scenario_reference_is_generated_from_the_schema():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import make_reference
    finally:
        sys.path.pop(0)
    assert (ROOT / "docs/reference/scenario.md").read_text() == make_reference.render(), (
        "docs/reference/scenario.md is stale: run python docs/make_reference.py"
    )


# Every output column and summary key being documented in docs/reference/outputs.md is checked
# by tests/test_report.py::test_outputs_reference_documents_every_column_and_summary_key (table
# rows only, over a synthetic and a training run with a baseline).


def test_every_doc_link_resolves():
    link = re.compile(r"\]\(([^)#]+)(#[^)]*)?\)")
    for doc in DOCS:
        for target, _ in link.findall((ROOT / doc).read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (ROOT / doc).parent.joinpath(target).exists(), f"{doc}: broken link {target}"


# -- citations: every source lives on docs/background/references.md ------------------------------

REFERENCES = ROOT / "docs/background/references.md"
#: Text files that may carry citations: the package, tests, benchmarks, scenarios, docs, config.
CITING_SUFFIXES = {".py", ".md", ".toml", ".cfg", ".txt", ".yml", ".yaml", ".rst", ".ini"}
#: Citations of the project brief, which is not part of the repository: its name in capitals with
#: a section sign or with ".md", and the presets' old parenthesized "REF" marker. (Spelled in
#: pieces so that this file does not match itself.)
BRIEF_CITATION = re.compile("REFERENCE" + r"(?:\.md)?\s*§|" + "REFERENCE" + r"\.md|\(" + r"REF\)")
ANCHOR_CITATION = re.compile(r"references\.md#([A-Za-z0-9_-]+)")


def citing_files():
    skip = {".git", "__pycache__", "runs", "build", "dist", ".hypothesis", ".pytest_cache"}
    for p in sorted(ROOT.rglob("*")):
        rel = p.relative_to(ROOT)
        if (
            p.is_file()
            and p.suffix in CITING_SUFFIXES
            and not skip & set(rel.parts)
            and not any(part.endswith(".egg-info") for part in rel.parts)
        ):
            yield rel.as_posix(), p.read_text(errors="replace")


def reference_anchors():
    ids = re.findall(r'<a id="([^"]+)"></a>', REFERENCES.read_text())
    assert len(ids) == len(set(ids)), "duplicate anchors on the references page"
    return set(ids)


def test_nothing_cites_the_project_brief():
    offenders = [
        f"{path}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}"
        for path, text in citing_files()
        for m in BRIEF_CITATION.finditer(text)
    ]
    assert not offenders, "cite docs/background/references.md#<anchor> instead:\n" + "\n".join(
        offenders
    )


def test_every_cited_reference_anchor_exists():
    anchors = reference_anchors()
    cited = {}
    for path, text in citing_files():
        for m in ANCHOR_CITATION.finditer(text):
            cited.setdefault(m.group(1), []).append(path)
    missing = {a: paths for a, paths in cited.items() if a not in anchors}
    assert not missing, f"references.md has no anchor for: {missing}"
    # The check has teeth: the package and the docs do cite the page.
    assert len(cited) >= 20


def test_the_checks_catch_bad_citations():
    assert BRIEF_CITATION.search("see " + "REFERENCE" + " §3")
    assert BRIEF_CITATION.search("REFERENCE" + ".md §1")
    assert not BRIEF_CITATION.search("JENNINGS_REFERENCE = {}")
    assert ANCHOR_CITATION.findall("docs/background/references.md#jennings-2023)") == [
        "jennings-2023"
    ]
    assert "no-such-anchor" not in reference_anchors()


# -- numeric claims in scenario headers: `# checked: name = value`, recomputed here ----------------

CLAIM = re.compile(r"^#\s*checked:\s*([\w.]+)\s*=\s*(.+?)\s*$", re.M)
SCENARIO_FILES = sorted(p.name for p in (ROOT / "scenarios").glob("*.toml"))
#: Wall-clock promises cannot be tested on a shared machine: scenario headers, the study script
#: and the docs' scripts state work (runs, jobs, steps) instead.
WALL_TIME = re.compile(
    r"(?i)\b(?:takes|took|runs?\s+in|about|around|roughly|in|within)\s+(?:about\s+|~)?"
    r"(?:a\s+few|a|an|one|\d[\d.,]*(?:\s*[-–]\s*\d[\d.,]*)?)\s*"
    r"(?:s|secs?|seconds?|mins?|minutes?|h|hours?)\b|\bin\s+seconds\b"
    r"|\(\s*~\s*\d[\d.,]*\s*(?:s|secs?|seconds?|mins?|minutes?)\s*\)"
)


def header(path: Path) -> str:
    """The leading comment block of a scenario or sweep file."""
    lines = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return "\n".join(lines)


def claims(path: Path) -> list[tuple[str, str]]:
    return CLAIM.findall(header(path))


def erlang_c_wait(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of an M/M/c queue (docs/background/references.md#erlang-c)."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def _block_sizes(sc) -> list[int]:
    wl = sc.workload
    if wl.kind == "shapes":
        from hybridsim.workload.shapes import paper_model

        return [b.n for b in paper_model(wl.model, batch_size=wl.batch_size).blocks]
    if wl.kind == "mlp":
        from hybridsim.workload.datasets import DATASET_SHAPES
        from hybridsim.workload.mlp import MLPSpec, block_sizes

        n_features, n_classes = DATASET_SHAPES[wl.dataset]
        spec = MLPSpec((n_features, *wl.hidden, n_classes), wl.activation)
        return list(block_sizes(spec, wl.partition))
    raise AssertionError(f"block claims need a training workload, not {wl.kind!r}")


def _steps_per_epoch(sc) -> int:
    from hybridsim.workload.shapes import paper_model

    return paper_model(sc.workload.model, batch_size=sc.workload.batch_size).steps_per_epoch


def _shape_steps(sc) -> int:
    # as sim/training.py counts the steps of a shape run
    wl = sc.workload
    return wl.steps if wl.steps is not None else max(1, round(_steps_per_epoch(sc) * wl.epochs))


def _erlang_c_of(sc) -> float:
    wl = sc.workload
    assert wl.kind == "synthetic" and wl.arrival.dist == wl.service.dist == "exponential"
    (group,) = sc.cluster.qpu if wl.pool == "qpu" else sc.cluster.gpu
    lam = wl.arrival.rate_per_s if wl.arrival.rate_per_s else 1e21 / wl.arrival.mean_s
    mu = 1e21 / wl.service.mean_s if wl.service.mean_s else wl.service.rate_per_s
    return erlang_c_wait(group.count * group.capacity, lam, mu)


DERIVED = {
    "erlang_c_mean_wait_s": _erlang_c_of,
    "block_sizes": _block_sizes,
    "blocks": lambda sc: len(_block_sizes(sc)),  # per step and tenant
    "block_size_min": lambda sc: min(_block_sizes(sc)),
    "block_size_max": lambda sc: max(_block_sizes(sc)),
    "steps_per_epoch": _steps_per_epoch,
    "steps": _shape_steps,
    "jobs": lambda sc: _shape_steps(sc) * len(_block_sizes(sc)) * sc.workload.tenants,
}


def _resolve(sc, dotted: str):
    """A scenario value by key path; a path part names a group inside a list of groups."""
    node = sc
    for part in dotted.split("."):
        if isinstance(node, (tuple, list)):
            (node,) = [g for g in node if getattr(g, "name", None) == part]
        else:
            node = getattr(node, part)
    return node


def _agrees(claimed_text: str, computed) -> bool:
    import tomllib

    from hybridsim.timebase import to_ticks

    claimed = tomllib.loads(f"v = {claimed_text}")["v"]
    if isinstance(claimed, str):  # a duration, compared in exact ticks
        return to_ticks(claimed) == computed
    if isinstance(claimed, (bool, int, list)):
        return claimed == (list(computed) if isinstance(computed, tuple) else computed)
    mantissa = claimed_text.lower().split("e")[0].replace("-", "").replace(".", "").lstrip("0")
    digits = max(1, len(mantissa))  # the claim holds to the significant digits it is written with
    return float(f"{float(computed):.{digits}g}") == claimed


@pytest.mark.parametrize("name", SCENARIO_FILES)
def test_scenario_header_claims_hold(name):
    from hybridsim.scenario import load_scenario

    path = ROOT / "scenarios" / name
    found = claims(path)
    if is_sweep_file(path):
        from hybridsim.sweep.spec import load_sweep

        assert [k for k, _ in found] == ["runs"], f"{name}: a sweep header claims its run count"
        ((_, value),) = found
        assert _agrees(value, load_sweep(path).runs), f"{name}: runs = {load_sweep(path).runs}"
        return
    sc = load_scenario(path)
    result = None
    for key, value in found:
        if key in DERIVED:
            computed = DERIVED[key](sc)
        elif key.startswith("summary."):
            from hybridsim import run

            result = result or run(path)  # only cheap scenarios make run-result claims
            computed = result.summary[key.removeprefix("summary.")]
        else:
            computed = _resolve(sc, key)
        assert _agrees(value, computed), f"{name}: claims {key} = {value}, computed {computed!r}"


def is_sweep_file(path: Path) -> bool:
    import tomllib

    return "base" in tomllib.loads(path.read_text())


def test_numeric_scenario_headers_carry_claims():
    # Headers that state counts say them in checked lines, so a changed file cannot drift from
    # its comment unnoticed: every sweep claims its runs, and the validation scenario its formula.
    for name in SCENARIO_FILES:
        keys = [k for k, _ in claims(ROOT / "scenarios" / name)]
        assert keys, f"{name}: state the header's numbers as `# checked: name = value` lines"
    assert "erlang_c_mean_wait_s" in dict(claims(ROOT / "scenarios/mmc.toml"))


def test_claim_checks_have_teeth():
    assert _agrees("1.079", 1.078651685393258)
    assert not _agrees("0.50", 1.078651685393258)  # the old header's Erlang-C claim
    assert not _agrees("10", 8)  # the estimators sweep once promised 10 runs
    assert _agrees('"27.5 us"', 27_500 * 10**12)
    assert _agrees("[1, 2]", (1, 2))
    assert CLAIM.findall("# checked: runs = 8\n") == [("runs", "8")]


def wall_time_texts():
    for name in SCENARIO_FILES:
        yield f"scenarios/{name}", header(ROOT / "scenarios" / name)
    import ast

    scripts = sorted((ROOT / "studies").rglob("*.py"))
    for p in [*scripts, *sorted((ROOT / "docs").rglob("*.py"))]:
        doc = ast.get_docstring(ast.parse(p.read_text())) or ""
        yield p.relative_to(ROOT).as_posix(), doc
    for p in sorted((ROOT / "docs/tutorial").glob("*.md")):
        yield p.relative_to(ROOT).as_posix(), p.read_text()


def test_no_wall_time_promises():
    found = [
        f"{where}: {m.group(0)!r}"
        for where, text in wall_time_texts()
        for m in WALL_TIME.finditer(text)
    ]
    assert not found, "wall times cannot be tested here; state the work instead:\n" + "\n".join(
        found
    )


def test_wall_time_pattern_catches_the_old_promises():
    for old in (
        "Runs in about a second.",
        "10 runs, about a minute:",
        "Takes about 10 s (use",
        "54 runs, about 3 minutes on 2 workers",
        "Takes a few seconds.",
        "Takes about 10-20 s.",
        "full study, about 5 minutes on 2 cores",
        "(~25 s)",
        "to try the sweep machinery in seconds",
    ):
        assert WALL_TIME.search(old), old
    assert not WALL_TIME.search("an outage every ~20 minutes each")
    assert not WALL_TIME.search("hourly 5-minute calibrations")


# -- computed tables and figures on the background pages ----------------------------------------


def _cells_agree(text: str, value: float) -> bool:
    text = text.strip().removesuffix(" s")
    if text == "none (NaN)":
        return math.isnan(value)
    # the tables print N and d exactly, everything else to 3 significant digits
    return float(text) == value or float(f"{value:.3g}") == float(text)


def test_costs_break_even_tables_are_what_the_code_computes():
    from hybridsim.costs.breakeven import break_even_table

    page = (ROOT / "docs/background/costs.md").read_text()
    setup = page[page.index("Generated with:") :]
    namespace: dict = {}
    exec(FENCE.search(setup).group(2), namespace)  # the page's own GPU and QPU parameters
    tables = re.findall(
        r'`accounting="(\w+)"`, `classical_method="(\w+)"`:\n\n((?:\|.*\n)+)', setup
    )
    assert len(tables) == 3
    for accounting, method, table in tables:
        rows = break_even_table(
            [32, 1024, 10**4],
            [4, 10**4],
            [10.0, 1e4],
            1e-2,
            accounting=accounting,
            classical_method=method,
            gpu=namespace["gpu"],
            qpu=namespace["qpu"],
        )
        lines = table.strip().splitlines()[2:]
        assert len(lines) == len(rows), (accounting, method)
        for line, row in zip(lines, rows, strict=True):
            cells = [c.strip() for c in line.strip("|").split("|")]
            values = (row.n, row.d, row.kappa, row.classical_s, row.quantum_fixed_s)
            values += (row.gate_equivalents, row.gate_time_s)
            for cell, value in zip(cells, values, strict=True):
                assert _cells_agree(cell, value), (accounting, method, line, cell, value)


def test_jennings_success_constant_figures_are_computed():
    from hybridsim.costs.quantum import jennings_queries

    def change(eps):  # relative change of E[Q] when c goes 0.204 -> 0.201, in percent
        a = jennings_queries(100.0, eps)
        return 100 * (a - jennings_queries(100.0, eps, success_constant=0.201)) / a

    page = (ROOT / "docs/background/references.md").read_text()
    section = page[page.index('<a id="jennings-success-constant">') :]
    row = re.search(r"\| relative change of E\[Q\] \|(.*)\n", section)[1]
    epsilons = [1e-3, 1e-2, 0.1, 0.24]  # the table's header: 10⁻³, 10⁻², 0.1, 0.24
    figures = [c.strip().removesuffix(" %") for c in row.strip(" |").split("|")]
    assert len(figures) == len(epsilons)
    for eps, fig in zip(epsilons, figures, strict=True):
        assert _agrees(fig, change(eps)), (eps, fig, change(eps))
    # the closed form printed on the page
    for eps in epsilons:
        assert change(eps) == pytest.approx(100 * 0.003 * eps / (0.39 - 0.201 * eps), rel=1e-9)
    # and costs.md states the same figures, not "< 0.01 %"
    costs = (ROOT / "docs/background/costs.md").read_text()
    assert "< 0.01 %" not in costs and "0.21 %" in costs
