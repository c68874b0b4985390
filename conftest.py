"""pytest configuration for the whole repository: the test suite (tests/) and the package's own
doctests (hybridsim/, collected with ``--doctest-modules``; see pyproject.toml). Test helpers live
in tests/conftest.py."""

from __future__ import annotations

import shutil
import tempfile

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

_HYPOTHESIS_HOME = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # Hypothesis keeps its example database and caches in ./.hypothesis, which is the
    # repository tree when the suite runs from the root; the suite writes nothing there. They
    # live in a directory of this session instead, removed at its end: a failing example is
    # printed in full, with the @reproduce_failure line that replays it.
    from hypothesis.configuration import set_hypothesis_home_dir

    home = tempfile.mkdtemp(prefix="hybridsim-hypothesis-")
    config.stash[_HYPOTHESIS_HOME] = home
    set_hypothesis_home_dir(home)


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_HYPOTHESIS_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


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
