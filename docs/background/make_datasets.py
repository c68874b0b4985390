"""Regenerate the datasets bundled in ``hybridsim/workload/data/`` from scikit-learn's copies.

Usage (from the project root, with scikit-learn installed, e.g. ``pip install -e .[dev]``)::

    python docs/background/make_datasets.py

hybridsim trains on four small public datasets. scikit-learn ships them inside its wheel; so
that a run does not need scikit-learn (51 MB installed, slow to import), hybridsim ships the
same arrays, exactly, as ``<name>.npz`` files of two arrays each: ``X`` (features, as ``uint8`` for
digits, whose pixels are counts 0–16, else ``float64``) and ``y`` (class labels, ``uint8``).
The ``.npz`` files are written deterministically (fixed zip timestamps, sorted members), so
rerunning this script with the same scikit-learn gives byte-identical files.
``tests/test_datasets.py`` checks the bundled arrays against scikit-learn's whenever
scikit-learn is installed. Sources and licences: ``hybridsim/workload/data/README.md`` and
``docs/background/training.md``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "hybridsim" / "workload" / "data"

#: name -> (scikit-learn loader, dtype the features are stored in)
LOADERS = {
    "digits": ("load_digits", np.uint8),
    "wine": ("load_wine", np.float64),
    "breast_cancer": ("load_breast_cancer", np.float64),
    "iris": ("load_iris", np.float64),
}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``numpy.savez_compressed`` with fixed metadata: the same arrays give the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(
                member, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue(), zipfile.ZIP_DEFLATED, 9)
    path.write_bytes(buf.getvalue())


def main() -> None:
    from sklearn import datasets

    OUT.mkdir(parents=True, exist_ok=True)
    for name, (loader, dtype) in LOADERS.items():
        X, y = getattr(datasets, loader)(return_X_y=True)
        stored = X.astype(dtype)
        # The stored copy must give back exactly what scikit-learn returns.
        assert np.array_equal(stored.astype(np.float64), X) and y.min() >= 0 and y.max() < 256
        write_npz(OUT / f"{name}.npz", {"X": stored, "y": y.astype(np.uint8)})
        size = (OUT / f"{name}.npz").stat().st_size
        print(f"{(OUT / f'{name}.npz').relative_to(ROOT)}: {X.shape} {dtype.__name__}, {size} B")


if __name__ == "__main__":
    main()
