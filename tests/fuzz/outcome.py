"""What a call did, in a form comparable across NumPy and imperdl: a value (converted to NumPy) or an exception.

``assert_same_outcome`` is the contract of the fuzz tests: imperdl raises the exception type NumPy raises (or,
under ``only_mxnet``, ``MXNetUnsupportedError`` saying why in words), and otherwise returns NumPy's value with
its dtype and shape (NaN where NumPy has NaN; exact for integers and bools).
"""
from __future__ import annotations

import warnings

import numpy as onp

# text only MXNet's C++ layer produces: never in a user-facing message
MXNET_TEXT = ("MXNetError", "Check failed", "[bt]", ".cc:", "Stack trace")


def _host(v):
    """A result converted to NumPy types, recursively (imperdl Arrays through ``numpy.asarray``: NumPy's view of
    the value, uncopied, as NumPy's own result is: ``broadcast_to`` 2**40 rows is a zero-stride view in both)."""
    if hasattr(v, "asnumpy") and not isinstance(v, onp.ndarray):
        return onp.asarray(v)
    if isinstance(v, (list, tuple)):
        items = [_host(e) for e in v]
        return type(v)(*items) if hasattr(v, "_fields") else type(v)(items)  # (namedtuples: SlogdetResult)
    return v


def outcome(np, expr: str):
    """Evaluate ``expr`` (or execute it and read ``x``, for statements) with ``np`` bound to a module."""
    env = {"np": np, "onp": onp}
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            if ";" in expr:
                exec(expr, env)
                return ("value", _host(env["x"]))
            return ("value", _host(eval(expr, env)))
        except Exception as exc:  # noqa: BLE001 - the exception is the outcome being compared
            return ("raise", exc)


def call_outcome(fn):
    """``fn()``'s outcome: ("value", result converted to NumPy) or ("raise", exception)."""
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return ("value", _host(fn()))
        except Exception as exc:  # noqa: BLE001 - the exception is the outcome being compared
            return ("raise", exc)


def _tol(dtype):
    return {2: (1e-3, 1e-3), 4: (1e-5, 1e-6)}.get(dtype.itemsize // (2 if dtype.kind == "c" else 1),
                                                    (1e-7, 1e-12))


def assert_same_value(got, ref, where: str) -> None:
    if isinstance(ref, (onp.ndarray, onp.generic)):
        assert isinstance(got, (onp.ndarray, onp.generic)), f"{where}: got {type(got).__name__}, NumPy an array"
        g, r = onp.asarray(got), onp.asarray(ref)
        assert g.dtype == r.dtype, f"{where}: dtype {g.dtype} != NumPy's {r.dtype}"
        assert g.shape == r.shape, f"{where}: shape {g.shape} != NumPy's {r.shape}"
        if r.size > 2**24:  # a zero-stride view too big to compare whole: constant along its broadcast axes
            key = tuple(slice(0, 1) if st == 0 else slice(None) for st in r.strides)
            g, r = g[key], r[key]
        if r.dtype.kind in "fc":
            rtol, atol = _tol(r.dtype)
            onp.testing.assert_allclose(g, r, rtol=rtol, atol=atol, equal_nan=True, err_msg=where)
        elif r.dtype.kind == "O":  # (where(c, nan, None)): NaN equals NaN here too
            same = [a == b or (a != a and b != b) for a, b in zip(g.ravel().tolist(), r.ravel().tolist())]
            assert all(same), f"{where}: {g!r} != NumPy's {r!r}"
        else:
            onp.testing.assert_array_equal(g, r, err_msg=where)
    elif isinstance(ref, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(ref), f"{where}: {got!r} != NumPy's {ref!r}"
        for i, (g, r) in enumerate(zip(got, ref)):
            assert_same_value(g, r, f"{where}[{i}]")
    else:
        if isinstance(got, onp.ndarray) and got.ndim == 0:
            got = got.item()
        same = got == ref or (isinstance(ref, float) and ref != ref and got != got)
        assert type(got) is type(ref) and same, f"{where}: {got!r} != NumPy's {ref!r}"


def assert_same_outcome(got, ref, where: str, only_mxnet: bool = False) -> None:
    """imperdl's outcome ``got`` is NumPy's ``ref`` (see the module docstring)."""
    if got[0] == "raise":
        exc = got[1]
        msg = str(exc)
        assert not any(t in msg for t in MXNET_TEXT), f"{where}: MXNet's C++ text reached the user: {msg}"
        if only_mxnet and type(exc).__name__ == "MXNetUnsupportedError":
            assert "MXNet cannot" in msg or "no MXNet" in msg or "MXNet failed: " in msg, msg
            return
        if ref[0] == "value":
            raise AssertionError(f"{where}: NumPy returned, imperdl raised {type(exc).__name__}: {msg}") from exc
        assert isinstance(exc, type(ref[1])), (
            f"{where}: NumPy raised {type(ref[1]).__name__}: {ref[1]}; imperdl raised {type(exc).__name__}: {msg}")
        return
    assert ref[0] == "value", f"{where}: NumPy raised {type(ref[1]).__name__}: {ref[1]}; imperdl returned {got[1]!r}"
    assert_same_value(got[1], ref[1], where)


def numeric_grad(f, x, eps=1e-6):
    """Central differences of scalar ``f`` at ``x``, in float64."""
    x = onp.array(x, dtype=float)
    g = onp.zeros_like(x)
    for i in onp.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        g[i] = (f(up) - f(down)) / (2 * eps)
    return g
