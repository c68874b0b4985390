"""pytest configuration for the whole repository: the test suite (tests/) and the package's own
doctests (hybridsim/, collected with ``--doctest-modules``; see pyproject.toml). Test helpers live
in tests/conftest.py."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis keeps its example database (failing examples, replayed first on the next run)
    # and caches in ./.hypothesis, which is the repository tree when the suite runs from the
    # root; the suite writes nothing there. They go to the user's cache directory instead, one
    # per checkout (HYPOTHESIS_STORAGE_DIRECTORY, when set, wins).
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    from hypothesis.configuration import set_hypothesis_home_dir

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    checkout = hashlib.sha256(str(config.rootpath).encode()).hexdigest()[:12]
    set_hypothesis_home_dir(cache / "hybridsim-hypothesis" / checkout)


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    # Tests and doctests solve many small systems: multithreaded BLAS only adds contention on a
    # 2-core machine (seen: an N=128 solve 370x slower with both cores busy), and one thread keeps
    # results bitwise reproducible across machines with different core counts.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def _stable_doctest_output(request):
    """Doctests print numpy values as numpy 1.x did (``0.5``, not ``np.float64(0.5)``) whatever
    numpy is installed (setup.cfg allows 1.26 and 2.x), with the default precision and width
    however an earlier test left the process-wide print options. Other tests keep numpy's own
    options, so that a numpy scalar repr leaking into an output file still shows."""
    from _pytest.doctest import DoctestItem

    if not isinstance(request.node, DoctestItem):
        yield
        return
    legacy = "1.25" if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else False
    with np.printoptions(precision=8, threshold=1000, linewidth=75, suppress=False, legacy=legacy):
        yield
