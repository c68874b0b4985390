"""Names that say one thing (issue 19, item 3): the sweep package and the function that runs a
sweep, the sweep's run backends, and one ``cli`` package that nothing else imports; with the old
names forwarding, with a DeprecationWarning, for one release."""

from __future__ import annotations

import ast
import configparser
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import hybridsim
from hybridsim.errors import HybridSimError

ROOT = Path(__file__).resolve().parent.parent

BASE = {
    "cluster": {"gpu": [{"name": "g"}]},
    "workload": {
        "kind": "synthetic",
        "jobs": 5,
        "pool": "gpu",
        "arrival": {"dist": "exponential", "rate_per_s": 1.0},
        "service": {"dist": "deterministic", "value_s": 0.5},
    },
}
SPEC = {"base": BASE, "seeds": [1, 2], "factors": {"cluster.gpu.g.count": [1, 2]}}


# -- the sweep package and run_sweep --------------------------------------------------------------


def test_the_sweep_package_is_a_plain_module_and_run_sweep_a_function():
    """``hybridsim.sweep`` was a package whose class was rewritten so that it could be called."""
    import hybridsim.sweep

    assert type(hybridsim.sweep) is types.ModuleType
    assert not callable(hybridsim.sweep)
    assert isinstance(hybridsim.run_sweep, types.FunctionType)
    assert hybridsim.run_sweep is hybridsim.sweep.run_sweep
    assert "sweep" not in hybridsim.__all__ and "run_sweep" in hybridsim.__all__


def test_reading_hybridsim_sweep_before_the_package_is_imported_names_run_sweep():
    code = (
        "import hybridsim\n"
        "try:\n"
        "    hybridsim.sweep\n"
        "except AttributeError as e:\n"
        "    print(e)\n"
        "from hybridsim import sweep\n"  # the package, as for any subpackage
        "print(type(sweep).__name__, sweep.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0].startswith("module 'hybridsim' has no attribute 'sweep': run a sweep with")
    assert "hybridsim.run_sweep(...)" in out[0]
    assert out[1] == "module hybridsim.sweep"


def test_the_old_function_name_forwards_for_one_release():
    with pytest.deprecated_call(match="hybridsim.run_sweep"):
        from hybridsim.sweep import sweep
    assert sweep is hybridsim.run_sweep
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        import hybridsim.sweep as package

        package.nope  # noqa: B018 - the attribute access is the test


def test_run_sweep_takes_a_file_a_mapping_or_a_loaded_spec_and_a_backend(tmp_path):
    from hybridsim.sweep import load_sweep
    from hybridsim.sweep.backends import SerialBackend

    by_choice = hybridsim.run_sweep(SPEC, tmp_path / "a", serial=True, progress=False)
    spec = load_sweep(SPEC)
    by_backend = hybridsim.run_sweep(spec, tmp_path / "b", SerialBackend(), progress=False)
    assert (by_choice.ok, by_backend.ok) == (4, 4)
    assert by_choice.backend == by_backend.backend == "serial"
    assert by_choice.results_csv.read_bytes() == by_backend.results_csv.read_bytes()


def test_a_backend_and_a_backend_choice_together_are_refused(tmp_path):
    from hybridsim.sweep.backends import SerialBackend

    with pytest.raises(HybridSimError, match="choose one executor: a backend and workers"):
        hybridsim.run_sweep(SPEC, tmp_path / "o", SerialBackend(), workers=2)
    with pytest.raises(HybridSimError, match="a backend and serial and dask_local"):
        hybridsim.run_sweep(SPEC, tmp_path / "o", SerialBackend(), serial=True, dask_local=2)
    assert not (tmp_path / "o").exists()


def test_sweep_result_executor_is_the_deprecated_name_of_backend(tmp_path):
    r = hybridsim.run_sweep(SPEC, tmp_path / "o", serial=True, progress=False)
    with pytest.deprecated_call(match="SweepResult.backend"):
        assert r.executor == r.backend == "serial"


# -- run backends (were executors) ---------------------------------------------------------------

OLD_TO_NEW = {
    "Executor": "RunBackend",
    "SerialExecutor": "SerialBackend",
    "PoolExecutor": "PoolBackend",
    "DaskExecutor": "DaskBackend",
    "ExecutorLost": "BackendLost",
    "make_executor": "make_backend",
    "usable_cores": "usable_cores",
}


@pytest.mark.parametrize("old", sorted(OLD_TO_NEW))
def test_the_executor_names_forward_to_the_backends(old):
    from hybridsim.sweep import backends, executors

    with pytest.deprecated_call(match=f"hybridsim.sweep.backends.{OLD_TO_NEW[old]}"):
        value = getattr(executors, old)
    assert value is getattr(backends, OLD_TO_NEW[old])


def test_the_executors_shim_knows_only_the_old_names():
    from hybridsim.sweep import executors

    with pytest.raises(AttributeError):
        executors.RunBackend  # noqa: B018 - new names live in hybridsim.sweep.backends


def test_make_backend_picks_one_backend():
    from hybridsim.sweep.backends import (
        BackendLost,
        DaskBackend,
        PoolBackend,
        SerialBackend,
        make_backend,
    )

    assert isinstance(make_backend(serial=True), SerialBackend)
    assert isinstance(make_backend(workers=3), PoolBackend) and make_backend(workers=3).workers == 3
    assert isinstance(make_backend(cluster="tcp://h:1"), DaskBackend)
    assert isinstance(make_backend(dask_local=2), DaskBackend)
    with pytest.raises(HybridSimError, match="choose one executor: --serial and --workers"):
        make_backend(serial=True, workers=2)
    assert issubclass(BackendLost, HybridSimError)


def test_no_sweep_module_names_an_executor_type():
    """In the code, "executor" is what runs a job on a device; the sweep has backends."""
    for path in (ROOT / "hybridsim" / "sweep").glob("*.py"):
        if path.name == "executors.py":  # the deprecated shim
            continue
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef)}
        assert not {n for n in names if "Executor" in n and n != "ProcessPoolExecutor"}, path


# -- one cli package --------------------------------------------------------------------------


def _imported_modules(path: Path) -> set[str]:
    """Modules ``path`` imports: import statements and ``import_module("...")`` calls."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


def test_nothing_imports_the_cli():
    """``cli`` is a leaf (docs/design.md): every command lives in hybridsim/cli/ and no library
    module imports it, except, for one release, the deprecated forwarders of
    ``hybridsim.report.report_command`` (issue 19 moved the command's logic there)."""
    shims = {"report/command.py", "report/__init__.py"}
    importers = set()
    for path in (ROOT / "hybridsim").rglob("*.py"):
        rel = path.relative_to(ROOT / "hybridsim").as_posix()
        if rel.startswith("cli/"):
            continue
        imported = _imported_modules(path)
        if any(m == "hybridsim.cli" or m.startswith("hybridsim.cli.") for m in imported):
            importers.add(rel)
    assert importers == shims
    for rel in shims:
        text = (ROOT / "hybridsim" / rel).read_text()
        assert "DeprecationWarning" in text and "def __getattr__" in text, rel


def test_every_command_is_a_module_of_the_cli_package():
    from hybridsim import cli

    assert not (ROOT / "hybridsim" / "cli.py").exists()
    assert not (ROOT / "hybridsim" / "sweep" / "command.py").exists()
    for name in cli.COMMANDS:
        module = importlib.import_module(f"hybridsim.cli.{name}")
        assert callable(module.add_parser) and callable(module.command), name
    parser = cli._parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    assert list(sub.choices) == list(cli.COMMANDS) == ["run", "report", "validate", "sweep"]


def test_only_main_handles_errors():
    """One error-handling path: commands raise, ``cli.main`` prints and picks the exit code.
    The one handler in a command is the sweep's Ctrl-C, whose saved runs are its result."""
    caught = {}
    for path in (ROOT / "hybridsim" / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler):
                caught.setdefault(path.name, []).append(ast.unparse(node.type))
    assert caught == {
        "__init__.py": ["HybridSimError", "KeyboardInterrupt", "Exception"],
        "sweep.py": ["SweepInterrupted"],
    }


def test_the_console_script_is_cli_main():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    (entry,) = cfg["options.entry_points"]["console_scripts"].strip().splitlines()
    name, target = (part.strip() for part in entry.split("="))
    module, func = target.split(":")
    assert (name, module, func) == ("hybridsim", "hybridsim.cli", "main")
    from hybridsim.cli import main

    assert getattr(importlib.import_module(module), func) is main


def test_python_m_hybridsim_cli_runs_the_command():
    proc = subprocess.run(
        [sys.executable, "-m", "hybridsim.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == f"hybridsim {hybridsim.__version__}"


def test_help_imports_no_command_code():
    """``hybridsim --help`` builds the parsers only: each command imports what it needs when it
    runs (benchmarks/bench_imports.py times it)."""
    code = (
        "import sys\n"
        "from hybridsim.cli import _parser\n"
        "_parser()\n"
        "print(sorted(m for m in sys.modules if m.startswith('hybridsim')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(out.stdout.strip()))
    cli = {"hybridsim.cli", *(f"hybridsim.cli.{c}" for c in ("options", "run", "report",
                                                               "validate", "sweep"))}  # fmt: skip
    assert loaded == {"hybridsim", "hybridsim._lazy", "hybridsim.errors", *cli}


def test_report_command_forwards_to_the_cli_for_one_release():
    import hybridsim.report
    from hybridsim.cli import report

    with pytest.deprecated_call(match="hybridsim.cli.report.report_dirs"):
        assert hybridsim.report.report_command is report.report_dirs
    import hybridsim.report.command as old

    with pytest.deprecated_call(match="hybridsim.cli.report.report_dirs"):
        assert old.report_command is report.report_dirs
    with pytest.deprecated_call(match="hybridsim.cli.report.COMPARISON_FILE"):
        assert old.COMPARISON_FILE == report.COMPARISON_FILE == "comparison.html"
    with pytest.raises(AttributeError):
        old.main  # noqa: B018
    assert "report_command" not in hybridsim.report.__all__
