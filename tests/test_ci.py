"""CI runs the README's test command, and that command carries the coverage gate."""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_test_command() -> str:
    """The pytest part of the README's `pip install -e '.[dev]' && python -m pytest ...` line."""
    lines = [
        line
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if "pip install -e '.[dev]'" in line and "pytest" in line
    ]
    assert len(lines) == 1, lines
    return lines[0].split("&&", 1)[1].strip()


def test_ci_runs_exactly_the_readme_test_command():
    command = readme_test_command()
    script = (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
    runs = [line.strip() for line in script if re.match(r"\s*python -m pytest\b", line)]
    assert runs == [command]
    # and CONTRIBUTING.md shows the same command
    assert f"pip install -e '.[dev]' && {command}" in (ROOT / "CONTRIBUTING.md").read_text()


def test_the_test_command_measures_coverage_against_a_floor():
    args = shlex.split(readme_test_command())
    assert "--cov" in args
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    coverage = config["tool"]["coverage"]
    assert coverage["run"]["source"] == ["hybridsim"] and coverage["run"]["branch"] is True
    assert 90 <= coverage["report"]["fail_under"] < 100
    # the plain `python -m pytest` of a contributor running one file measures nothing
    assert "--cov" not in config["tool"]["pytest"]["ini_options"]["addopts"]
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    dev = setup["options.extras_require"]["dev"].split()
    assert any(req.startswith("pytest-cov") for req in dev)
