"""Real classification datasets bundled with scikit-learn, split and batched reproducibly.

Every dataset here ships inside the installed ``scikit-learn`` wheel (``sklearn/datasets/data``),
so nothing is downloaded. The train/test split and the batch order are drawn only from the numpy
``Generator`` the caller passes, never from global random state: the simulator gives the data its
own named stream, so changing the scheduler cannot change which samples a step sees.

Sources
-------
- digits: UCI optical recognition of handwritten digits, 8×8 images, 1797 samples, 10 classes.
- wine: UCI wine recognition, 178 samples, 13 features, 3 classes.
- breast_cancer: UCI Wisconsin diagnostic breast cancer, 569 samples, 30 features, 2 classes.
- iris: Fisher's iris, 150 samples, 4 features, 3 classes.

(scikit-learn user guide, "Toy datasets", ``sklearn.datasets.load_*``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["DATASETS", "DATASET_SHAPES", "Dataset", "load_dataset", "batches", "n_batches"]

#: Names accepted by :func:`load_dataset`.
DATASETS: tuple[str, ...] = ("digits", "wine", "breast_cancer", "iris")

#: (n_features, n_classes) of every dataset, known without loading it (used to validate model
#: sizes in scenario files; tests/test_datasets.py checks them against the real loaders).
DATASET_SHAPES: dict[str, tuple[int, int]] = {
    "digits": (64, 10),
    "wine": (13, 3),
    "breast_cancer": (30, 2),
    "iris": (4, 3),
}

_LOADERS = {
    "digits": "load_digits",
    "wine": "load_wine",
    "breast_cancer": "load_breast_cancer",
    "iris": "load_iris",
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split of a classification dataset (arrays are read-only).

    Attributes
    ----------
    name : str
        One of :data:`DATASETS`.
    X_train, X_test : numpy.ndarray
        Features, shape ``(n, n_features)``, float64. Standardized with the train split's mean and
        standard deviation when loaded with ``standardize=True``.
    y_train, y_test : numpy.ndarray
        Integer class labels in ``[0, n_classes)``, shape ``(n,)``.
    n_features, n_classes : int
        Input width and number of classes (the MLP's first and last layer sizes).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_features: int
    n_classes: int


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def load_dataset(
    name: str,
    *,
    test_fraction: float = 0.25,
    rng: np.random.Generator,
    standardize: bool = True,
) -> Dataset:
    """Load a bundled scikit-learn dataset and split it with the caller's Generator.

    The split is stratified: within each class a permutation drawn from ``rng`` puts
    ``round(test_fraction * n_class)`` samples in the test set, so small sets such as iris keep
    their class balance. Both splits are returned in ascending original order, so the split
    depends on ``rng`` only and not on any later shuffling.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    test_fraction : float
        Share of each class held out for testing, strictly between 0 and 1.
    rng : numpy.random.Generator
        The only source of randomness (keyword-only and required, so no hidden default seed).
    standardize : bool
        Scale features to zero mean and unit variance using statistics of the *train* split only
        (no test-set leakage). Constant features (digits has all-zero border pixels) keep a scale
        of 1 instead of dividing by zero.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> import numpy as np
    >>> ds = load_dataset("iris", rng=np.random.default_rng(0))
    >>> ds.X_train.shape, ds.X_test.shape, ds.n_classes
    ((114, 4), (36, 4), 3)
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator")

    # Imported here: sklearn takes ~0.5 s to import and `import hybridsim` must stay fast.
    from sklearn import datasets as skd

    X, y = getattr(skd, _LOADERS[name])(return_X_y=True)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)

    test_parts = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        k = int(round(test_fraction * members.size))  # round half to even: 12.5 -> 12
        # Keep at least one sample of every class on both sides when the class allows it.
        k = min(max(k, 1), members.size - 1) if members.size > 1 else 0
        test_parts.append(rng.permutation(members)[:k])
    test_idx = np.sort(np.concatenate(test_parts))
    train_mask = np.ones(y.size, dtype=bool)
    train_mask[test_idx] = False
    train_idx = np.flatnonzero(train_mask)

    X_train, X_test = X[train_idx], X[test_idx]
    if standardize:
        mean = X_train.mean(axis=0)
        std = X_train.std(axis=0)
        std = np.where(std > 0.0, std, 1.0)
        X_train = (X_train - mean) / std
        X_test = (X_test - mean) / std

    return Dataset(
        name=name,
        X_train=_readonly(X_train),
        y_train=_readonly(y[train_idx]),
        X_test=_readonly(X_test),
        y_test=_readonly(y[test_idx]),
        n_features=int(X.shape[1]),
        n_classes=int(np.unique(y).size),
    )


def n_batches(n: int, batch_size: int, *, drop_last: bool = False) -> int:
    """Batches per epoch from :func:`batches`: ``ceil(n/batch_size)``, or ``floor`` if drop_last."""
    _check_batch_args(n, batch_size)
    return n // batch_size if drop_last else -(-n // batch_size)


def batches(
    n: int, batch_size: int, rng: np.random.Generator, *, drop_last: bool = False
) -> Iterator[np.ndarray]:
    """Index arrays for one epoch over ``n`` samples in an order drawn from ``rng``.

    One permutation is drawn from ``rng`` at call time (not lazily at first iteration, so the
    Generator's state after the call does not depend on whether the batches are consumed), then
    cut into consecutive batches. By default the last, smaller batch is kept, as PyTorch's
    ``DataLoader(shuffle=True)`` does in the Q-Newton approx-hessian code; ``drop_last=True``
    skips it, as that paper's JAX (real-hessian) code does. Call once per epoch.

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
        Samples per batch (>= 1).
    rng : numpy.random.Generator
        Source of the epoch's permutation.
    drop_last : bool
        Skip a final incomplete batch.

    Returns
    -------
    Iterator[numpy.ndarray]
        int64 indices into the training arrays, one array per batch.

    Examples
    --------
    >>> import numpy as np
    >>> [b.size for b in batches(10, 4, np.random.default_rng(0))]
    [4, 4, 2]
    """
    _check_batch_args(n, batch_size)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator")
    order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    return iter([order[start : start + batch_size] for start in range(0, stop, batch_size)])


def _check_batch_args(n: int, batch_size: int) -> None:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
