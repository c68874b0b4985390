"""The documentation is executable: every ``bash`` and ``python`` block in README.md and docs/
runs (in document order, in a scratch directory that holds the repository's scenarios), and the
generated scenario reference is up to date. ``console``/``text`` blocks are illustrations."""

import contextlib
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
DOCS = sorted(
    p.relative_to(ROOT).as_posix()
    for p in [ROOT / "README.md", *ROOT.joinpath("docs").rglob("*.md")]
    if "study" not in p.parts  # the study page's numbers come from its own script, tested there
)


def blocks(path):
    for m in FENCE.finditer((ROOT / path).read_text()):
        lang, body = m.group(1), m.group(2)
        if lang in ("bash", "sh", "python"):
            yield lang, body


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


@pytest.mark.parametrize("doc", [d for d in DOCS if any(True for _ in blocks(d))])
def test_doc_examples_run(doc, tmp_path, monkeypatch):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    namespace: dict = {"__name__": "__doc_example__"}
    for lang, body in blocks(doc):
        with contextlib.redirect_stdout(io.StringIO()):
            if lang == "python":
                exec(compile(body, f"{doc}:python", "exec"), namespace)
            else:
                run_bash(body)


def test_scenario_reference_is_generated_from_the_schema():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import make_reference
    finally:
        sys.path.pop(0)
    assert (ROOT / "docs/reference/scenario.md").read_text() == make_reference.render(), (
        "docs/reference/scenario.md is stale: run python docs/make_reference.py"
    )


def test_every_output_column_and_summary_key_is_documented():
    from hybridsim.results import INTERVAL_COLUMNS, JOB_COLUMNS, QUEUE_COLUMNS, STEP_COLUMNS

    text = (ROOT / "docs/reference/outputs.md").read_text()
    for col in [*JOB_COLUMNS, *INTERVAL_COLUMNS, *QUEUE_COLUMNS, *STEP_COLUMNS]:
        assert f"`{col}`" in text, col
    from hybridsim import run

    r = run(
        "scenarios/quickstart.toml" if False else ROOT / "scenarios/mmc.toml",
        overrides=["workload.jobs=5"],
    )
    for key in r.summary:
        if key.startswith("utilization_") and key[len("utilization_") :] not in ("gpu", "qpu"):
            key = "utilization_<device>"
        if key.startswith("mean_queue_"):
            key = "mean_queue_<pool>"
        assert f"`{key}`" in text, key


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
        if p.is_file() and p.suffix in CITING_SUFFIXES and not skip & set(rel.parts):
            if not any(part.endswith(".egg-info") for part in rel.parts):
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
