"""The one lazy-import helper behind hybridsim, hybridsim.quantum, hybridsim.report and
hybridsim.sweep: names load on first use, dir() and __all__ list them, importing the packages
stays cheap."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import hybridsim
import hybridsim.quantum
import hybridsim.report
import hybridsim.sweep
from hybridsim._lazy import lazy_attributes

PACKAGES = [hybridsim, hybridsim.quantum, hybridsim.report, hybridsim.sweep]


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.__name__)
def test_every_exported_name_resolves_to_its_defining_module(pkg):
    lazy = pkg._LAZY
    assert set(lazy) <= set(pkg.__all__)
    for name in pkg.__all__:
        value = getattr(pkg, name)
        # No public name is also a subpackage (hybridsim.sweep was, until issue 19).
        assert not isinstance(value, types.ModuleType), name
        if name in lazy:
            assert value is getattr(importlib.import_module(lazy[name]), name)
    namespace: dict = {}
    exec(f"from {pkg.__name__} import *", namespace)
    assert set(pkg.__all__) <= set(namespace)


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.__name__)
def test_dir_lists_the_lazy_names_and_the_package_own(pkg):
    listed = dir(pkg)
    assert listed == sorted(listed)
    assert set(pkg.__all__) <= set(listed)
    assert {"__name__", "__doc__", "_LAZY"} <= set(listed)


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.__name__)
def test_unknown_names_are_attribute_errors(pkg):
    with pytest.raises(AttributeError, match=rf"module '{pkg.__name__}' has no attribute 'nope'"):
        pkg.nope  # noqa: B018
    assert not hasattr(pkg, "nope")


def test_lazy_names_must_be_exported():
    with pytest.raises(ImportError, match=r"pkg: lazy names missing from __all__: \['sqrt'\]"):
        lazy_attributes("pkg", {"sqrt": "math"}, {"__all__": []})


def test_a_name_loads_its_module_only_when_read():
    code = (
        "import sys\n"
        "import hybridsim, hybridsim.quantum, hybridsim.report\n"
        "heavy = ('numpy', 'simpy', 'scipy', 'qutip', 'matplotlib')\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in heavy], 'eager import'\n"
        "assert 'hybridsim.quantum.hhl' not in sys.modules\n"
        "from hybridsim.quantum import HHLOptions\n"
        "assert 'hybridsim.quantum.hhl' in sys.modules and 'qutip' not in sys.modules\n"
        "hybridsim.load_scenario\n"
        "assert 'hybridsim.scenario' in sys.modules and 'simpy' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_run_api_leaves_scipy_sklearn_and_matplotlib_out():
    """Reaching ``hybridsim.run`` loads the simulator, not scipy (imported by the solves and the
    estimators that need it), scikit-learn or matplotlib (benchmarks/bench_imports.py times it)."""
    code = (
        "import sys\n"
        "import hybridsim\n"
        "hybridsim.run\n"
        "assert 'simpy' in sys.modules\n"
        "heavy = ('scipy', 'sklearn', 'matplotlib', 'qutip')\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(heavy))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_every_module_imports_without_the_optional_dependencies():
    """The default suite collects the doctests of every module of the package
    (``--doctest-modules``), so no module may need an optional dependency at import: the dask
    extra, the dev tools, a fault-tolerance backend such as qdk. They are imported inside the
    functions that use them (a docstring example that needs one starts with
    ``pytest.importorskip``)."""
    code = (
        "import importlib, pkgutil, sys\n"
        "for name in ('dask', 'distributed', 'qdk', 'psutil', 'sklearn', 'hypothesis'):\n"
        "    sys.modules[name] = None  # any import of it now fails\n"
        "import hybridsim\n"
        "names = [m.name for m in pkgutil.walk_packages(hybridsim.__path__, 'hybridsim.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    # every module was reached: one per .py file, but the package's own __init__.py
    files = list(Path(hybridsim.__file__).parent.rglob("*.py"))
    assert int(out.stdout) == len(files) - 1
