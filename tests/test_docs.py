"""The documentation is executable: every ``bash`` and ``python`` block in README.md and docs/
runs (in document order, in a scratch directory that holds the repository's scenarios), and the
generated scenario reference is up to date. ``console``/``text`` blocks are illustrations.

A ``python`` block that starts a Dask local cluster (``dask_local``) or has an ``if __name__ ==
"__main__":`` guard is a script: it is saved to a file and run as one (``python FILE``), as a user
would, since the cluster's workers import the main module only then. A ``toml`` block with a
top-level ``base`` is a sweep file: every point is validated, and a reduced version runs."""

import contextlib
import io
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
    if "study" not in p.parts  # the study page's numbers come from its own script, tested there
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
    r = hybridsim.sweep(raw, tmp_path / "out", serial=True, progress=False)
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
