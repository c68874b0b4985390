"""The import rules of docs/design.md ("Import rules"), checked over every module's source.

Each rule names the modules it constrains and the imports they must not make, at any depth of
the module (a function-local import counts: it is still a dependency). ``python -m pytest
tests/test_import_rules.py`` is the command the design page gives for checking them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hybridsim"

#: The layers above the models: the simulator and everything that runs, stores or shows runs.
UPPER = (
    "hybridsim.sim",
    "hybridsim.api",
    "hybridsim.results",
    "hybridsim.outputs",
    "hybridsim.report",
    "hybridsim.sweep",
    "hybridsim.analysis",
    "hybridsim.cli",
)

#: (rule, modules it constrains (dotted prefixes), forbidden imports (dotted prefixes))
RULES = (
    (
        "timebase, rng and errors import nothing of ours",
        ("hybridsim.timebase", "hybridsim.rng", "hybridsim.errors"),
        ("hybridsim",),
    ),
    (
        "only the sim package imports simpy",
        ("hybridsim",),
        ("simpy",),
    ),
    (
        "the models (linalg, costs, quantum, workload) and scheduling never import the layers "
        "that run, store or show runs",
        (
            "hybridsim.linalg",
            "hybridsim.costs",
            "hybridsim.quantum",
            "hybridsim.workload",
            "hybridsim.scheduling",
        ),
        UPPER,
    ),
)

#: Modules exempt from "only sim imports simpy" (the package itself).
SIMPY_HOME = "hybridsim.sim"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute, relative imports resolved, at any depth."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def violations(rule: tuple[str, tuple[str, ...], tuple[str, ...]]) -> list[str]:
    text, constrained, forbidden = rule
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if not _within(name, constrained):
            continue
        if forbidden == ("simpy",) and _within(name, (SIMPY_HOME,)):
            continue
        bad = sorted(m for m in imports_of(path) if _within(m, forbidden) and m != name)
        if bad:
            found.append(f"{path.relative_to(ROOT)} imports {', '.join(bad)}")
    return found


@pytest.mark.parametrize("rule", RULES, ids=[r[0] for r in RULES])
def test_import_rule_holds(rule):
    assert violations(rule) == []


def test_the_checker_sees_function_local_and_relative_imports(tmp_path, monkeypatch):
    """The rules could pass vacuously if the parser missed an import form: a planted module with
    each form is caught."""
    pkg = tmp_path / "hybridsim" / "costs"
    pkg.mkdir(parents=True)
    (tmp_path / "hybridsim" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text(
        "from ..sim import engine\n"
        "def f():\n"
        "    import simpy\n"
        "    from hybridsim.report import page\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = imports_of(pkg / "bad.py")
    assert {"hybridsim.sim", "hybridsim.sim.engine", "simpy", "hybridsim.report.page"} <= found
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "hybridsim")
    assert violations(RULES[1]) == ["hybridsim/costs/bad.py imports simpy"]
    assert violations(RULES[2]) == [
        "hybridsim/costs/bad.py imports hybridsim.report, hybridsim.report.page, hybridsim.sim, "
        "hybridsim.sim.engine"
    ]


def test_the_design_page_states_the_rules_and_the_command():
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    assert "tests/test_import_rules.py" in text
