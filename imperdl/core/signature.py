"""Call signatures: the hashable summary of a call that dispatch decisions are cached on.

A descriptor keeps exactly what a backend predicate may look at: for arrays (dtype, ndim, size class: the
bit length of the size, so 0 means empty, read by cost-aware placement); for Python
scalars their type; for strings, None, dtypes and types their value; containers element-wise. Slices and
Ellipsis contribute their kind only. An argument of any other type makes the call uncacheable (None).
"""
from __future__ import annotations

import numpy

SLICE = "slice"


class _Uncacheable(Exception):
    pass


def _np_array(x):
    return ("np", x.dtype, x.ndim, x.size.bit_length())


# MXNet carries scalar parameters as doubles and sizes/indices as 32-bit ints, and NumPy 1.23 widens a float32
# array for a Python float beyond float32's range: such values get a descriptor of their own, so a decision cached
# for ordinary values never sends them to MXNet (``Policy.mxnet_accepts`` declines them, see ``out_of_range``)
INT_LIMIT = 2 ** 31
FLOAT_LIMIT = 3.4028234663852886e38  # float32's largest finite value
BIG_INT = "int beyond 2**31"
BIG_FLOAT = "float beyond float32"


def _int(x):
    return int if -INT_LIMIT <= x < INT_LIMIT else BIG_INT


def _float(x):
    return BIG_FLOAT if FLOAT_LIMIT < abs(x) < float("inf") else float


def _scalar(x):
    big = _big_value(x)
    return ("s", x.dtype) if big is None else ("s", x.dtype, big)


def _big_value(x):
    """BIG_INT or BIG_FLOAT when the number ``x`` lies beyond what MXNet carries exactly, else None."""
    if isinstance(x, (bool, numpy.bool_)):
        return None
    if isinstance(x, (int, numpy.integer)):
        return None if -INT_LIMIT <= x < INT_LIMIT else BIG_INT
    if isinstance(x, (float, numpy.floating)):
        return BIG_FLOAT if FLOAT_LIMIT < abs(x) < float("inf") else None
    return None


def out_of_range(args, kwargs=None) -> bool:
    """Some number in the arguments (at any depth of lists and tuples) lies beyond what MXNet carries exactly.

    Read only when a decision is made (a cache miss): the descriptors above keep such calls in signatures of
    their own, so the answer is the same for every call that shares the signature.
    """
    for a in (args if not kwargs else (*args, *kwargs.values())):
        t = type(a)
        if t is list or t is tuple:
            if out_of_range(a):
                return True
        elif t is not str and _big_value(a) is not None:
            return True
    return False


def _same(x):
    return x


def _seq(x):
    return tuple([describe(e) for e in x])


def _list(x):
    return ("L",) + tuple([describe(e) for e in x])


_BY_TYPE = {
    bool: _same,  # two values: predicates may read flags such as compute_uv=False
    int: _int,
    float: _float,
    complex: lambda x: complex,
    str: _same,
    type(None): _same,
    type(Ellipsis): _same,
    slice: lambda x: SLICE,
    tuple: _seq,
    list: _list,
    numpy.ndarray: _np_array,
    numpy.dtype: _same,
    type: _same,
}


def describe(x):
    f = _BY_TYPE.get(type(x))
    if f is not None:
        return f(x)
    if isinstance(x, numpy.generic):
        return _scalar(x)
    if isinstance(x, numpy.dtype):
        return x
    if isinstance(x, type):
        return x
    raise _Uncacheable


def signature(args: tuple, kwargs: dict):
    """The cache key of a call, or None when some argument cannot be summarised."""
    try:
        if kwargs:  # None or {} when there are none
            return tuple([describe(a) for a in args]) + tuple(
                sorted([(k, describe(v)) for k, v in kwargs.items()])
            )
        return tuple([describe(a) for a in args])
    except _Uncacheable:
        return None


def format_key(key) -> str:
    """A stable human-readable form of a signature, used in messages and blacklist rules.

    A *located* key ``(signature, where)`` (see ``dispatch._where``) reads as its signature: no descriptor is
    a plain ``int`` (Python ints describe as the type ``int``), so the pair cannot be mistaken for a call.
    """
    if key is None:
        return "?"
    if len(key) == 2 and type(key[1]) is int and type(key[0]) is tuple:
        key = key[0]
    return ", ".join(_fmt(k) for k in key)


def _fmt(d) -> str:
    if isinstance(d, tuple):
        if len(d) == 4 and d[0] in ("A", "np") and isinstance(d[1], numpy.dtype):
            return f"{d[1]}[{d[2]}d{',empty' if d[3] == 0 else ''}]"  # rules hold for every nonzero size
        if len(d) == 2 and d[0] == "s":
            return f"{d[1]} scalar"
        if d and d[0] == "L":
            return "[" + ", ".join(_fmt(e) for e in d[1:]) + "]"
        if len(d) == 2 and isinstance(d[0], str) and d[0] not in ("A", "np", "s"):
            return f"{d[0]}={_fmt(d[1])}"
        return "(" + ", ".join(_fmt(e) for e in d) + ")"
    if isinstance(d, type):
        return d.__name__
    return repr(d)


def register(t: type, fn) -> None:
    """Teach ``describe`` a new argument type (``Array`` registers itself)."""
    _BY_TYPE[t] = fn
