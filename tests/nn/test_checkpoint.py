"""Checkpoint files: round trip, atomic replacement, and clear errors for anything that is not a good checkpoint."""
from __future__ import annotations

import os
import zipfile

import numpy as onp
import pytest

from imperdl.core import Array
from imperdl.nn import checkpoint as ck
from imperdl.nn.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def sample_state():
    return {
        "params": {"W1": onp.arange(6, dtype=onp.float32).reshape(2, 3), "b": Array(onp.array([0.5, -1.0]))},
        "ints": onp.array([1, 2, 3], dtype=onp.int64),
        "flags": onp.array([True, False]),
        "epoch": 3, "lr": 1e-3, "name": "adam", "none": None, "ok": True,
        "history": [2.5, float("inf"), 0.1], "nested": [{"m": onp.zeros(2)}, (1, 2)],
        "scalar": onp.float64(0.25), "count": onp.int64(7),
    }


def test_round_trip(tmp_path):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, sample_state())
    got = load_checkpoint(path)
    onp.testing.assert_array_equal(got["params"]["W1"], onp.arange(6, dtype=onp.float32).reshape(2, 3))
    assert got["params"]["W1"].dtype == onp.float32
    assert type(got["params"]["b"]) is onp.ndarray and got["params"]["b"].tolist() == [0.5, -1.0]
    assert got["ints"].dtype == onp.int64 and got["flags"].dtype == bool
    assert (got["epoch"], got["lr"], got["name"], got["none"], got["ok"]) == (3, 1e-3, "adam", None, True)
    assert got["history"] == [2.5, float("inf"), 0.1]
    assert got["nested"][0]["m"].tolist() == [0.0, 0.0] and got["nested"][1] == [1, 2]
    assert got["scalar"] == 0.25 and type(got["scalar"]) is float and got["count"] == 7
    assert os.listdir(tmp_path) == ["ck.npz"], "no temporary file may stay behind"


def test_zero_d_arrays_keep_their_shape(tmp_path):
    """A 0-d array (Solver(jit=True) keeps Adam's step count as one) comes back 0-d: as a 1-element 1-d array it
    would promote float32 parameters to float64 in the next update."""
    save_checkpoint(tmp_path / "ck.npz", {"t": onp.asarray(3), "a": Array(onp.float32(0.5))})
    got = load_checkpoint(tmp_path / "ck.npz")
    assert got["t"].shape == () and got["t"].dtype == onp.int64 and int(got["t"]) == 3
    assert got["a"].shape == () and got["a"].dtype == onp.float32


def test_the_file_is_a_plain_npz_without_pickles(tmp_path):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, sample_state())
    with onp.load(path, allow_pickle=False) as z:
        assert "__imperdl_checkpoint__" in z.files
        for name in z.files:
            assert z[name].dtype != object


def test_random_state_round_trip(tmp_path):
    rs = onp.random.RandomState(5)
    rs.randn()  # leave a cached gaussian in the state
    save_checkpoint(tmp_path / "r.npz", {"rng": ck.random_state_to_tree(rs)})
    expected = rs.randn(5)
    other = onp.random.RandomState(0)
    other.set_state(ck.random_state_from_tree(load_checkpoint(tmp_path / "r.npz")["rng"]))
    onp.testing.assert_array_equal(other.randn(5), expected)


@pytest.mark.parametrize("bad, match", [
    ({"x": object()}, r"cannot store a object at state\['x'\]"),
    ({1: 2}, "keys must be strings"),
    ({"a": onp.array([None, 1], dtype=object)}, "object arrays"),
])
def test_unstorable_values_are_refused(tmp_path, bad, match):
    with pytest.raises(TypeError, match=match):
        save_checkpoint(tmp_path / "x.npz", bad)
    assert not os.listdir(tmp_path)


# ------------------------------------------------------------------ atomicity
def test_failure_while_writing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, {"epoch": 1, "w": onp.ones(3)})
    before = path.read_bytes()
    real_savez = onp.savez

    def half_then_fail(f, **arrays):
        real_savez(f, **arrays)
        f.truncate(f.tell() // 2)
        raise OSError("No space left on device")

    monkeypatch.setattr(ck.numpy, "savez", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, {"epoch": 2, "w": onp.zeros(3)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_checkpoint(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["ck.npz"]


def test_failure_at_rename_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, {"epoch": 1})

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(ck.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["ck.npz"]


# ------------------------------------------------------------------ bad files
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.npz")


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1, 10])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, {"w": onp.random.RandomState(0).randn(200, 50)})
    data = path.read_bytes()
    cut = int(len(data) * keep) if keep < 1 else keep
    path.write_bytes(data[:cut])
    with pytest.raises(CheckpointError, match=r"ck\.npz.*truncated or corrupt"):
        load_checkpoint(path)


def test_corrupted_bytes_inside_an_array(tmp_path):
    path = tmp_path / "ck.npz"
    save_checkpoint(path, {"w": onp.zeros((100, 100))})
    data = bytearray(path.read_bytes())
    middle = len(data) // 3  # inside the stored zeros
    data[middle:middle + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="ck.npz"):
        load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.txt"):
        load_checkpoint(text)
    plain = tmp_path / "plain.npz"
    onp.savez(plain, w=onp.ones(2))
    with pytest.raises(CheckpointError, match="not an imperdl checkpoint"):
        load_checkpoint(plain)
    single = tmp_path / "single.npy"
    onp.save(single, onp.ones(2))
    with pytest.raises(CheckpointError, match="single .npy array"):
        load_checkpoint(single)
    wrong = tmp_path / "wrong.npz"
    onp.savez(wrong, __imperdl_checkpoint__=onp.array("{not json"))
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(wrong)


def test_newer_version_is_refused(tmp_path):
    path = tmp_path / "new.npz"
    onp.savez(path, __imperdl_checkpoint__=onp.array('{"format": "imperdl-checkpoint", "version": 99, "state": {}}'))
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(path)


class _Marker:
    """Unpickling this would create a file: proof that loading never runs pickled code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickled_payload_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    evil = onp.empty(1, dtype=object)
    evil[0] = _Marker(str(marker))
    onp.savez(path, __imperdl_checkpoint__=onp.array('{"format": "imperdl-checkpoint", "version": 1, '
                                                     '"state": {"w": {"__array__": "a0"}}}'), a0=evil)
    with pytest.raises(CheckpointError, match="evil.npz"):
        load_checkpoint(path)
    assert not marker.exists()


def test_index_naming_a_missing_array(tmp_path):
    path = tmp_path / "ck.npz"
    onp.savez(path, __imperdl_checkpoint__=onp.array('{"format": "imperdl-checkpoint", "version": 1, '
                                                     '"state": {"w": {"__array__": "a7"}}}'))
    with pytest.raises(CheckpointError, match="'a7'.*missing"):
        load_checkpoint(path)


def test_zip_without_npy_members(tmp_path):
    path = tmp_path / "ck.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "x")
    with pytest.raises(CheckpointError, match="not an imperdl checkpoint"):
        load_checkpoint(path)
