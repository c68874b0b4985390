"""Bundled datasets: exact copies of scikit-learn's, shipped in the package, loaded without
scikit-learn; split, standardization and batch order depend only on the given Generator."""

from __future__ import annotations

import configparser
import fnmatch
import random
import shutil
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from hybridsim.workload.datasets import DATASETS, batches, load_arrays, load_dataset, n_batches

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "hybridsim" / "workload" / "data"

EXPECTED = {  # (samples, features, classes) of scikit-learn's bundled copies
    "digits": (1797, 64, 10),
    "wine": (178, 13, 3),
    "breast_cancer": (569, 30, 2),
    "iris": (150, 4, 3),
}


@pytest.mark.parametrize("name", DATASETS)
def test_shapes_labels_and_standardization(name):
    ds = load_dataset(name, rng=np.random.default_rng(0))
    n, f, c = EXPECTED[name]
    assert ds.name == name and ds.n_features == f and ds.n_classes == c
    assert ds.X_train.shape[0] + ds.X_test.shape[0] == n
    assert ds.X_train.shape[1] == ds.X_test.shape[1] == f
    assert set(np.unique(ds.y_train)) == set(range(c)) == set(np.unique(ds.y_test))
    # Train split is standardized with its own statistics (constant columns stay 0)...
    std = ds.X_train.std(axis=0)
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0.0, atol=1e-12)
    assert np.all((np.abs(std - 1.0) < 1e-12) | (std == 0.0))
    # ...and the test split with the *train* statistics, so it is not exactly centred.
    assert np.abs(ds.X_test.mean(axis=0)).max() > 1e-6
    for a in (ds.X_train, ds.y_train, ds.X_test, ds.y_test):
        assert not a.flags.writeable


def test_split_is_stratified():
    ds = load_dataset("wine", test_fraction=0.25, rng=np.random.default_rng(3))
    _, counts = np.unique(np.concatenate([ds.y_train, ds.y_test]), return_counts=True)
    _, test_counts = np.unique(ds.y_test, return_counts=True)
    np.testing.assert_array_equal(test_counts, np.round(0.25 * counts).astype(int))


@pytest.mark.parametrize("name", DATASETS)
def test_bundled_copy_is_exactly_scikit_learns(name):
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    ours_X, ours_y = load_arrays(name)
    assert ours_X.dtype == np.float64 and ours_y.dtype == np.int64
    np.testing.assert_array_equal(ours_X, X)  # bit for bit
    np.testing.assert_array_equal(ours_y, y)


def test_unstandardized_split_keeps_the_rows():
    X, _ = load_arrays("iris")
    ds = load_dataset("iris", rng=np.random.default_rng(1), standardize=False)
    rows = {tuple(r) for r in X}
    assert all(tuple(r) in rows for r in ds.X_train) and all(tuple(r) in rows for r in ds.X_test)
    assert len(ds.X_train) + len(ds.X_test) == len(X)


def test_datasets_load_without_scikit_learn():
    """Issue 17: scikit-learn (51 MB, ~3 s to import) only served these arrays."""
    code = (
        "import sys\n"
        "sys.modules['sklearn'] = None  # any import of scikit-learn now fails\n"
        "import numpy as np\n"
        "from hybridsim.workload.datasets import DATASETS, load_dataset\n"
        "for name in DATASETS:\n"
        "    load_dataset(name, rng=np.random.default_rng(0))\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    requires = setup["options"]["install_requires"].lower()
    assert "scikit-learn" not in requires and "sklearn" not in requires


def _package_data_patterns() -> list[str]:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    return setup["options.package_data"]["hybridsim.workload"].split()


def test_every_bundled_file_is_declared_package_data_and_has_its_licence():
    files = sorted(p.name for p in DATA.iterdir() if p.is_file())
    assert files == ["README.md", *sorted(f"{n}.npz" for n in DATASETS)]
    patterns = _package_data_patterns()
    for name in files:
        assert any(fnmatch.fnmatch(f"data/{name}", p) for p in patterns), name
    readme = (DATA / "README.md").read_text()
    assert "CC BY 4.0" in readme and all(f"`{n}.npz`" in readme for n in DATASETS)
    # found through importlib.resources, as an installed package finds them
    here = resources.files("hybridsim.workload").joinpath("data")
    assert all(here.joinpath(f"{n}.npz").is_file() for n in DATASETS)


@pytest.mark.slow
def test_the_wheel_contains_the_datasets(tmp_path):
    """Build a wheel from a copy of the sources (so the worktree gets no build/ or egg-info)."""
    pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "hybridsim", src / "hybridsim", ignore=shutil.ignore_patterns("__pycache__")
    )
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
           "-w", str(tmp_path / "dist"), str(src)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("hybridsim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for n in DATASETS:
        assert f"hybridsim/workload/data/{n}.npz" in names
    assert "hybridsim/workload/data/README.md" in names


def test_split_depends_only_on_the_generator():
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    a = load_dataset("digits", rng=np.random.default_rng(42))
    np.random.seed(999)  # noqa: NPY002 (global state must not matter)
    random.seed(999)
    b = load_dataset("digits", rng=np.random.default_rng(42))
    c = load_dataset("digits", rng=np.random.default_rng(43))
    np.random.set_state(np_state)  # noqa: NPY002
    random.setstate(py_state)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)


def test_loading_leaves_global_rng_untouched():
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    py_before = random.getstate()
    load_dataset("iris", rng=np.random.default_rng(0))
    list(batches(100, 7, np.random.default_rng(0)))
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002
    assert random.getstate() == py_before


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "mnist"},
        {"name": "iris", "test_fraction": 0.0},
        {"name": "iris", "test_fraction": 1.0},
    ],
)
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        load_dataset(**bad, rng=np.random.default_rng(0))


def test_rng_is_required():
    with pytest.raises(TypeError):
        load_dataset("iris", rng=0)  # type: ignore[arg-type]


def test_batches_cover_each_index_once_and_are_reproducible():
    idx = list(batches(103, 10, np.random.default_rng(5)))
    assert [b.size for b in idx] == [10] * 10 + [3]
    np.testing.assert_array_equal(np.sort(np.concatenate(idx)), np.arange(103))
    again = list(batches(103, 10, np.random.default_rng(5)))
    assert all(np.array_equal(x, y) for x, y in zip(idx, again, strict=True))
    other = list(batches(103, 10, np.random.default_rng(6)))
    assert not np.array_equal(np.concatenate(idx), np.concatenate(other))
    assert n_batches(103, 10) == 11 and n_batches(103, 10, drop_last=True) == 10


def test_drop_last_and_epoch_stream():
    rng = np.random.default_rng(0)
    e1 = list(batches(25, 10, rng, drop_last=True))
    e2 = list(batches(25, 10, rng, drop_last=True))
    assert [b.size for b in e1] == [10, 10]
    # Consecutive epochs draw fresh permutations from the same stream.
    assert not np.array_equal(np.concatenate(e1), np.concatenate(e2))


def test_batches_draws_eagerly():
    # The Generator advances at call time, whether or not the batches are consumed, so the data
    # stream's state never depends on how far a consumer iterated.
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    batches(50, 8, r1)
    list(batches(50, 8, r2))
    assert r1.integers(1 << 30) == r2.integers(1 << 30)


@pytest.mark.parametrize("n,bs", [(0, 1), (5, 0)])
def test_batches_bad_arguments(n, bs):
    with pytest.raises(ValueError):
        batches(n, bs, np.random.default_rng(0))


def test_dataset_shapes_table_matches_the_loaders():
    from hybridsim.workload.datasets import DATASET_SHAPES

    for name, (n_features, n_classes) in DATASET_SHAPES.items():
        ds = load_dataset(name, rng=np.random.default_rng(0))
        assert (ds.n_features, ds.n_classes) == (n_features, n_classes)
