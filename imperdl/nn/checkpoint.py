"""Training checkpoints as one ``.npz`` file that loading can never turn into code execution.

A state is a tree of dicts and lists whose leaves are arrays (NumPy or imperdl) or JSON values (numbers,
strings, booleans, None). Arrays go into the ``.npz`` as ``a0, a1, ...``; the tree, with each array replaced by
``{"__array__": "a<i>"}``, goes in as a JSON string under ``__imperdl_checkpoint__``. Loading uses
``numpy.load(..., allow_pickle=False)``: object arrays and pickles are refused, not executed. Tuples come back as
lists, numpy scalars as Python numbers, imperdl Arrays as NumPy arrays (the caller decides where they live).

Writing is atomic: the file is written under a temporary name in the target directory, flushed and fsync'd, then
``os.replace``d over the target, so a crash or error mid-write leaves the previous checkpoint untouched.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from typing import Any

import numpy

__all__ = [
    "CheckpointError", "save_checkpoint", "load_checkpoint", "atomic_write", "random_state_to_tree",
    "random_state_from_tree", "dumps", "loads", "FORMAT", "VERSION",
]

FORMAT = "imperdl-checkpoint"
VERSION = 1
_META = "__imperdl_checkpoint__"


class CheckpointError(ValueError):
    """A file is not a readable imperdl checkpoint (truncated, corrupt, foreign, or from a newer version)."""


# ------------------------------------------------------------------------------------ writing
def atomic_write(path: str | os.PathLike, write: Callable[[Any], None]) -> None:
    """Call ``write(fileobj)`` on a temporary file next to ``path``, fsync it, then move it over ``path``.

    If ``write`` raises, the temporary file is removed and ``path`` keeps its previous content.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not every platform lets us open a directory
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _to_host(x) -> numpy.ndarray | None:
    """``x`` as a NumPy array if it is an array (NumPy or imperdl), else None."""
    if isinstance(x, numpy.ndarray):
        return x
    asnumpy = getattr(x, "asnumpy", None)
    if asnumpy is not None and hasattr(x, "shape"):
        return asnumpy()
    return None


def _encode(x, arrays: dict, where: str):
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if not isinstance(k, str):
                raise TypeError(f"save_checkpoint: dict keys must be strings, got {k!r} at {where}")
            out[k] = _encode(v, arrays, f"{where}[{k!r}]")
        return out
    if isinstance(x, (list, tuple)):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(x)]
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, (int, float)):
        return x
    if isinstance(x, numpy.generic):
        if x.dtype.kind in "biuf":
            return x.item()
        raise TypeError(f"save_checkpoint: unsupported scalar of dtype {x.dtype} at {where}")
    a = _to_host(x)
    if a is None:
        raise TypeError(
            f"save_checkpoint: cannot store a {type(x).__name__} at {where}; expected arrays, numbers, strings, "
            "booleans, None, or dicts/lists of them"
        )
    if a.dtype.hasobject:
        raise TypeError(f"save_checkpoint: object arrays cannot be stored without pickle ({where})")
    key = f"a{len(arrays)}"
    # (NumPy 1's ascontiguousarray makes a 0-d array 1-d; a 0-d array is contiguous already)
    arrays[key] = a if a.flags.c_contiguous else numpy.ascontiguousarray(a)
    return {"__array__": key}


def _payload(state: dict) -> dict:
    if not isinstance(state, dict):
        raise TypeError(f"save_checkpoint: state must be a dict, got {type(state).__name__}")
    arrays: dict[str, numpy.ndarray] = {}
    tree = _encode(state, arrays, "state")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "state": tree}, allow_nan=True)
    return {**arrays, _META: numpy.array(meta)}


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` (arrays and JSON values in nested dicts/lists) to ``path`` atomically."""
    payload = _payload(state)
    atomic_write(path, lambda f: numpy.savez(f, **payload))


def dumps(state: dict) -> bytes:
    """``state`` in the checkpoint format, as bytes (what a distributed Solver sends from rank 0 to the others)."""
    buf = io.BytesIO()
    numpy.savez(buf, **_payload(state))
    return buf.getvalue()


def loads(data: bytes, where: str = "<bytes>") -> dict:
    """The state in ``data`` written by ``dumps`` (the same checks as ``load_checkpoint``)."""
    return _read(io.BytesIO(data), where)


# ------------------------------------------------------------------------------------ reading
def _decode(x, arrays, path: str):
    if isinstance(x, dict):
        if set(x) == {"__array__"}:
            key = x["__array__"]
            if key not in arrays:
                raise CheckpointError(f"checkpoint {path!r} is corrupt: array {key!r} named in its index is missing")
            return arrays[key]
        return {k: _decode(v, arrays, path) for k, v in x.items()}
    if isinstance(x, list):
        return [_decode(v, arrays, path) for v in x]
    return x


def load_checkpoint(path: str | os.PathLike) -> dict:
    """The state saved by ``save_checkpoint``, arrays as NumPy arrays.

    Raises FileNotFoundError if ``path`` does not exist and ``CheckpointError`` if it is not a complete,
    readable checkpoint of a version this code understands.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    return _read(path, path)


def _read(source, path: str) -> dict:
    try:
        z = numpy.load(source, allow_pickle=False)
        if not isinstance(z, numpy.lib.npyio.NpzFile):
            raise CheckpointError(f"{path!r} is a single .npy array, not an imperdl checkpoint (.npz)")
        with z:
            if _META not in z.files:
                raise CheckpointError(f"{path!r} is an .npz file but not an imperdl checkpoint (no {_META!r} entry)")
            arrays = {k: z[k] for k in z.files}  # reads every member: a CRC error in any of them surfaces here
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        raise CheckpointError(f"cannot read checkpoint {path!r}: the file is truncated or corrupt ({e})") from e
    try:
        meta = json.loads(str(arrays.pop(_META)[()]))
    except (ValueError, TypeError, IndexError) as e:
        raise CheckpointError(f"checkpoint {path!r} is corrupt: its index is not valid JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path!r} is not an imperdl checkpoint (format {meta.get('format')!r})"
                              if isinstance(meta, dict) else f"{path!r} is not an imperdl checkpoint")
    if not isinstance(meta.get("version"), int) or meta["version"] > VERSION:
        raise CheckpointError(
            f"checkpoint {path!r} has format version {meta.get('version')!r}; this imperdl reads up to {VERSION}"
        )
    state = _decode(meta.get("state"), arrays, path)
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path!r} is corrupt: its state is not a dict")
    return state


# ------------------------------------------------------------------------------------ RNG helpers
def random_state_to_tree(rs: numpy.random.RandomState | None = None) -> dict:
    """A ``RandomState``'s full state (NumPy's global one when ``rs`` is None) as a checkpoint tree."""
    st = (rs.get_state() if rs is not None else numpy.random.get_state())
    name, key, pos, has_gauss, gauss = st
    return {"name": str(name), "key": numpy.array(key, dtype=numpy.uint32), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(gauss)}


def random_state_from_tree(tree: dict) -> tuple:
    """The ``RandomState.set_state`` tuple for a tree made by ``random_state_to_tree``."""
    return (tree["name"], numpy.asarray(tree["key"], dtype=numpy.uint32), int(tree["pos"]),
            int(tree["has_gauss"]), float(tree["cached_gaussian"]))
