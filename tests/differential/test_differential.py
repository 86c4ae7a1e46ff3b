"""The differential runner: every CASES entry of every ``cases_*.py`` module, checked against real NumPy.

Contract for a family module ``tests/differential/cases_<family>.py`` (import helpers with
``from .strategies import ...``):

- ``CASES: dict[str, Callable[[DataObject], tuple[tuple, dict]]]`` (required): registry name -> a function that
  draws ``(args, kwargs)`` as plain NumPy values (numpy arrays, Python scalars, tuples, ...). Names are NumPy's,
  relative to ``numpy``: 'exp', 'linalg.inv', 'random.normal', 'add.reduce', 'ndarray.astype' (method called on
  args[0]), 'ndarray.__getitem__' (args ``(x, key)``), 'ndarray.__setitem__' (args ``(x, key, value)``; the
  result compared is ``x`` after the assignment). Draw both calls the MXNet predicate accepts and calls it
  declines (other dtypes, 0-d, empty, unsupported keywords).
- ``TOLERANCE: dict[str, dict]`` (optional): per-name ``{'rtol': ..., 'atol': ...}`` overriding the defaults
  (float16 1e-3/1e-3, float32 1e-5/1e-6, float64 1e-7/1e-12), or per-name and per-dtype
  ``{'float32': {'atol': 1e-4}}`` (dtype names of the result), e.g. for float32 reductions.
- ``SUPPORT: dict[str, Callable[[numpy.ndarray, tuple, dict], bool]]`` (optional): for random functions (names
  starting with 'random.' or listed in an optional ``RANDOM`` set), values are not compared with NumPy's;
  instead dtype and shape are, and ``SUPPORT[name](values, args, kwargs)`` must return True (default: all
  values finite). ``args``/``kwargs`` are the drawn NumPy values.
- ``MAX_EXAMPLES: dict[str, int]`` (optional): per-name number of hypothesis examples (default
  ``strategies.MAX_EXAMPLES``, 15, or the ``IMPERDL_DIFF_EXAMPLES`` environment variable).

For each drawn call the runner computes NumPy's result, then calls ``imperdl.numpy``'s version (numpy arrays
converted with ``imperdl.numpy.array``, also inside lists, tuples and dicts) under ``prefer_mxnet``,
``only_numpy`` and, where the MXNet predicate accepts the call, ``only_mxnet``, and asserts the same dtype,
shape and values (NaN positions included; exact for ints and bools), or the same exception type when NumPy
raises. Under ``prefer_mxnet`` it also asserts that the call ran on MXNet exactly when the predicate accepts it
(a cached decision that disagrees means the predicate read something outside the call signature) and never
fell back; every name with an MXNet implementation must run on MXNet at least once (statistics counts). A final
test asserts that every primitive with an MXNet implementation has CASES here, so coverage is by construction.
Policies are shared across examples, as in real use, so decision caching is exercised too.
"""
from __future__ import annotations

import copy
import importlib
import pathlib
import warnings

import numpy as onp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imperdl
import imperdl.numpy as inp
from imperdl.core import dispatch, registry
from imperdl.core.array import Array
from imperdl.core.backends import mxnet_backend
from imperdl.core.policy import OnlyMXNetPolicy, OnlyNumPyPolicy, Policy, PreferMXNetPolicy

from . import strategies as S

dispatch.CHECK_META = True  # every meta rule is checked against MXNet's own answer

_HERE = pathlib.Path(__file__).parent
MODULES = {}
for _path in sorted(_HERE.glob("cases_*.py")):
    # an import failure must fail the run, so no try/except here
    MODULES[_path.stem] = importlib.import_module(f"{__package__}.{_path.stem}")

ENTRIES: dict[str, tuple] = {}  # name -> (module, case)
DUPLICATES: list[str] = []
for _mod in MODULES.values():
    for _name, _case in _mod.CASES.items():
        if _name in ENTRIES:
            DUPLICATES.append(f"{_name} ({ENTRIES[_name][0].__name__} and {_mod.__name__})")
        if registry.in_numpy(_name):  # (a name the installed NumPy lacks, say round_ in NumPy 2, has nothing to test)
            ENTRIES[_name] = (_mod, _case)

PREFER = PreferMXNetPolicy()
ONLY_NUMPY = OnlyNumPyPolicy()
ONLY_MXNET = OnlyMXNetPolicy()

_DEFAULT_TOL = {2: (1e-3, 1e-3), 4: (1e-5, 1e-6), 8: (1e-7, 1e-12)}


# ------------------------------------------------------------------------------------------ calling both sides
def _setitem(x, key, value):
    x[key] = value


# indexing is spelled the same on both sides
_INDEXING = {"ndarray.__getitem__": lambda x, key: x[key], "ndarray.__setitem__": _setitem}


def _numpy_function(name: str):
    if name in _INDEXING:
        return _INDEXING[name]
    if name.startswith("ndarray."):
        meth = name[len("ndarray."):]
        return lambda x, *a, **k: getattr(x, meth)(*a, **k)
    obj = onp
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _imperdl_function(name: str):
    if name in _INDEXING:
        return _INDEXING[name]
    if name.startswith("ndarray."):
        return registry.primitive(name)
    obj = inp
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _to_imperdl(x):
    t = type(x)
    if t is onp.ndarray:
        return inp.array(x, copy=True)
    if t is list or t is tuple:
        return t(_to_imperdl(e) for e in x)
    if t is dict:
        return {k: _to_imperdl(v) for k, v in x.items()}
    return x


def _quiet(fn, args, kwargs):
    """Call ``fn``; return (result, None) or (None, exception). Floating-point warnings are not failures."""
    with warnings.catch_warnings(), onp.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - NumPy's exceptions are part of the contract
            return None, exc


# ------------------------------------------------------------------------------------------ comparing results
def _tolerance(dtype: onp.dtype, override: dict | None):
    size = dtype.itemsize // (2 if dtype.kind == "c" else 1)
    rtol, atol = _DEFAULT_TOL.get(size, (1e-7, 1e-12))
    if override:
        override = override.get(dtype.name, override)  # a per-dtype table, or one setting for all dtypes
        rtol, atol = override.get("rtol", rtol), override.get("atol", atol)
    return rtol, atol


def assert_same(got, ref, where: str, tol: dict | None = None, support=None, call=None) -> None:
    """``got`` (imperdl) equals ``ref`` (NumPy): type family, dtype, shape and values."""
    if isinstance(ref, (onp.ndarray, onp.generic)):
        assert isinstance(got, Array), f"{where}: expected an imperdl Array, got {type(got).__name__}"
        g = got.asnumpy()
        r = onp.asarray(ref)
        assert g.dtype == r.dtype, f"{where}: dtype {g.dtype} != NumPy's {r.dtype}"
        assert g.shape == r.shape, f"{where}: shape {g.shape} != NumPy's {r.shape}"
        if support is not None:
            assert support(g, *call), f"{where}: values outside the distribution's support: {g!r}"
        elif r.dtype.kind in "fc":
            rtol, atol = _tolerance(r.dtype, tol)
            onp.testing.assert_allclose(g, r, rtol=rtol, atol=atol, equal_nan=True, err_msg=where)
        else:
            onp.testing.assert_array_equal(g, r, err_msg=where)
    elif isinstance(ref, (list, tuple)):
        assert isinstance(got, (list, tuple)), f"{where}: expected a sequence, got {type(got).__name__}"
        assert len(got) == len(ref), f"{where}: {len(got)} results, NumPy gave {len(ref)}"
        for i, (g, r) in enumerate(zip(got, ref)):
            assert_same(g, r, f"{where}[{i}]", tol, support, call)
    else:
        if isinstance(got, Array) and got.ndim == 0:
            got = got.item()
        assert type(got) is type(ref), f"{where}: result type {type(got).__name__} != NumPy's {type(ref).__name__}"
        if support is not None and isinstance(ref, (int, float)):
            assert support(onp.asarray(got), *call), f"{where}: value outside the distribution's support: {got!r}"
        elif isinstance(ref, float) and ref != ref:
            assert got != got, f"{where}: {got} != NaN"
        else:
            assert got == ref, f"{where}: {got!r} != NumPy's {ref!r}"


def _default_support(values, args, kwargs) -> bool:
    return values.dtype.kind not in "fc" or bool(onp.all(onp.isfinite(values)))


def _assert_unchanged(conv, orig, where: str) -> None:
    """A non-mutating call left its inputs alone (catches impls that alias and write their inputs)."""
    if type(conv) is Array and type(orig) is onp.ndarray:
        onp.testing.assert_array_equal(conv.asnumpy(), orig, err_msg=f"{where}: input was modified")
    elif type(conv) in (list, tuple) and type(orig) in (list, tuple):
        for c, o in zip(conv, orig):
            _assert_unchanged(c, o, where)


# ------------------------------------------------------------------------------------------ one drawn call
def check_call(name: str, module, args: tuple, kwargs: dict, tally: dict) -> None:
    """Compare imperdl with NumPy on one call, under every policy that applies."""
    prim = registry.primitive(name)
    is_random = name.startswith("random.") or name in getattr(module, "RANDOM", ())
    support = getattr(module, "SUPPORT", {}).get(name, _default_support) if is_random else None
    tol = getattr(module, "TOLERANCE", {}).get(name)
    np_fn, im_fn = _numpy_function(name), _imperdl_function(name)
    mutating = name == "ndarray.__setitem__" or prim.mutates

    ref_args, ref_kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    ref, ref_exc = _quiet(np_fn, ref_args, ref_kwargs)
    if ref_exc is None and ref is None and ref_args and type(ref_args[0]) is onp.ndarray:
        ref = ref_args[0]  # a mutating call: compare the array it wrote
    call = (args, kwargs)

    def run(policy, label):
        conv_args, conv_kwargs = _to_imperdl(copy.deepcopy(args)), _to_imperdl(copy.deepcopy(kwargs))
        where = f"{name} under {label} with {dispatch.describe_args(args, kwargs)}"
        if (name == "ndarray.__setitem__" and policy is not ONLY_NUMPY and type(conv_args[0]) is Array
                and mxnet_backend.available()):
            if conv_args[0].dtype in mxnet_backend.SUPPORTED:
                conv_args[0]._get(1)  # setitem runs on MXNet only for arrays that live there
        before = list(prim.counts)
        with policy:
            got, exc = _quiet(im_fn, conv_args, conv_kwargs)
        if ref_exc is not None:
            assert exc is not None, f"{where}: NumPy raised {type(ref_exc).__name__}: {ref_exc}; imperdl returned"
            assert isinstance(exc, type(ref_exc)), (
                f"{where}: NumPy raised {type(ref_exc).__name__}: {ref_exc}; imperdl raised "
                f"{type(exc).__name__}: {exc}"
            )
            return before, None
        if exc is not None:
            raise AssertionError(f"{where}: NumPy succeeded, imperdl raised {type(exc).__name__}: {exc}") from exc
        if got is None and conv_args and type(conv_args[0]) is Array:
            got = conv_args[0]
        assert_same(got, ref, where, tol, support, call)
        if not mutating:
            _assert_unchanged(conv_args, args, where)
        return before, list(prim.counts)

    accepted = Policy.mxnet_accepts(prim, _to_imperdl(copy.deepcopy(args)), _to_imperdl(copy.deepcopy(kwargs)))
    before, after = run(PREFER, "prefer_mxnet")
    if after is not None and not prim.host:
        ran, fell = after[1] > before[1], after[2] > before[2]
        where = f"{name} under prefer_mxnet with {dispatch.describe_args(args, kwargs)}"
        assert not (accepted and fell), f"{where}: the predicate accepted the call but MXNet failed (fallback)"
        assert ran == accepted, (
            f"{where}: ran on MXNet={ran} but the predicate says {accepted} "
            "(does it read something outside the call signature?)"
        )
        if ran:
            tally["mxnet"] += 1
    if accepted:
        tally["accepted"] += 1
        run(ONLY_MXNET, "only_mxnet")
    run(ONLY_NUMPY, "only_numpy")


# ------------------------------------------------------------------------------------------ the tests
def test_cases_modules_found():
    assert MODULES, "no cases_*.py modules found"
    assert not DUPLICATES, f"names with CASES in two modules: {DUPLICATES}"


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_matches_numpy(name):
    module, case = ENTRIES[name]
    prim = registry.primitive(name)
    tally = {"accepted": 0, "mxnet": 0}
    n = getattr(module, "MAX_EXAMPLES", {}).get(name, S.MAX_EXAMPLES)
    imperdl.reset_statistics()

    @settings(S.SETTINGS, max_examples=n)
    @given(st.data())
    def examples(data):
        args, kwargs = case(data)
        check_call(name, module, tuple(args), dict(kwargs), tally)

    examples()
    if prim.impls[1] is not None and mxnet_backend.available():  # (without MXNet: NumPy's results only)
        assert tally["accepted"] > 0, f"{name}: no drawn call was accepted by the MXNet predicate"
        ops = imperdl.statistics()["ops"].get(prim.name, {})  # (aliases are reported under the primitive's name)
        assert ops.get("mxnet", 0) > 0 and tally["mxnet"] > 0, f"{name}: never ran on MXNet ({ops})"


def test_every_mxnet_primitive_has_cases():
    """Coverage by construction: a primitive with an MXNet implementation must be exercised here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry.coverage()  # create every public primitive, so aliases are in the registry too
    covered = {id(registry.primitive(n)) for n in ENTRIES}
    # imperdl's own primitives (conv2d, pooling, relu) have no NumPy function to compare with: tests/
    # test_convolution.py checks both of their backends against references instead
    missing = sorted(n for n, p in registry.REGISTRY.items()
                     if p.impls[1] is not None and p.space == "imperdl.numpy" and id(p) not in covered)
    assert not missing, f"primitives with an MXNet implementation but no CASES: {missing}"
