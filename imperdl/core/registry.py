"""The registry: every NumPy name as a Primitive, the tables that qualify them, and the generated Array surface.

A primitive is created on first use from the NumPy object it names ('add', 'linalg.inv', 'random.normal',
'ndarray.astype', 'add.reduce'); NumPy aliases (``max``/``amax``) share one primitive. What runs on MXNet
lives in ``mxnet_impls`` (a table), what is differentiable in the gradient-rule tables; the coverage table in
the docs is generated from here.
"""
from __future__ import annotations

import types

import numpy

from .array import Array, _to_host_tree
from .dispatch import Primitive
from .layout import ORDER_POSITION, LayoutOrdered, scratch_view

REGISTRY: dict[str, Primitive] = {}
_BY_ID: dict[int, Primitive] = {}
_NAME_BY_ID: dict[int, str] = {}

SUBMODULES = ("linalg", "fft", "random")

# ndarray methods that are exactly the NumPy function of the same name applied to the array
METHOD_IS_FUNCTION = frozenset(
    "all any argmax argmin argpartition argsort choose clip conj conjugate cumprod cumsum diagonal dot "
    "max mean min nonzero prod ptp ravel repeat round searchsorted squeeze std sum swapaxes take trace var".split()
)

# results that alias argument 0 (NumPy views); getitem only for basic indices
VIEW_NAMES = frozenset(
    "transpose swapaxes moveaxis rollaxis squeeze expand_dims diagonal real imag broadcast_to atleast_1d "
    "atleast_2d atleast_3d flip fliplr flipud rot90 split array_split hsplit vsplit dsplit ndarray.view".split()
)
# views only when the data they reshape is contiguous; otherwise NumPy copies
RESHAPES = frozenset(("reshape", "ravel"))

# NumPy functions that write their first argument in place
MUTATING = frozenset(
    "copyto place put put_along_axis putmask fill_diagonal random.shuffle ndarray.byteswap ndarray.setfield".split()
)

# host work by nature: building arrays from Python data, files, metadata and printing; never a "fallback"
HOST = frozenset(
    """array asarray asanyarray ascontiguousarray asfortranarray asarray_chkfinite fromiter frombuffer fromstring
    fromfile fromfunction fromregex loadtxt genfromtxt load save savez savez_compressed savetxt shape ndim size
    isscalar result_type can_cast min_scalar_type promote_types common_type iscomplexobj isrealobj iterable
    may_share_memory shares_memory broadcast_shapes set_printoptions get_printoptions printoptions array2string
    array_repr array_str format_float_positional format_float_scientific seterr geterr seterrcall geterrcall
    setbufsize getbufsize info source lookfor who typename mintypecode issubdtype issubclass_ issubsctype
    obj2sctype sctype2char find_common_type base_repr binary_repr isfortran deprecate deprecate_with_doc
    get_include show_config disp safe_eval add_newdoc add_docstring add_newdoc_ufunc byte_bounds
    random.seed random.get_state random.set_state random.default_rng ndarray.tofile ndarray.dump ndarray.dumps
    ndarray.tobytes ndarray.tostring ndarray.getfield ndarray.setflags ndarray.__array__""".split()
)

# NumPy returns 0-d *arrays* (mutable in place) from these; every other 0-d result is a NumPy scalar (immutable).
# Only consulted for MXNet results: a NumPy result says itself which it is (ndarray or numpy.generic)
ARRAY_RESULTS = frozenset(
    """array asarray asanyarray ascontiguousarray asfortranarray copy ndarray.copy ndarray.astype zeros ones empty
    full zeros_like ones_like empty_like full_like where broadcast_to reshape squeeze ndarray.view""".split()
)

# results that are locally constant in the inputs: zero gradient, nothing to record
NONDIFF = frozenset(
    """zeros_like ones_like empty_like full_like floor ceil rint trunc fix sign around round round_ floor_divide
    shape ndim size""".split()
)

# metadata queries answered from shape/dtype alone: Arrays are replaced by zero-stride stand-ins (no copy)
METADATA_ONLY = frozenset(
    "shape ndim size result_type can_cast iscomplexobj isrealobj common_type isfortran".split()
)


_NO_SEQUENCES = frozenset()


def _standin(x):
    if type(x) is Array:
        return numpy.broadcast_to(numpy.empty((), dtype=x.dtype), x.shape)
    if type(x) in (list, tuple):
        return type(x)(_standin(e) for e in x)
    return x


def _metadata_impl(fn):
    def impl(*args, **kwargs):
        return fn(*[_standin(a) for a in args], **{k: _standin(v) for k, v in kwargs.items()})

    impl.__doc__ = fn.__doc__
    return impl


def _seed(seed=None):
    """Seed NumPy's global generator and MXNet's (both backends sample). MXNet loads lazily: a seed given before
    it loads is applied when it does, so a script seeded at the top is reproducible on either backend."""
    numpy.random.seed(seed)
    from .backends import mxnet_backend

    if seed is not None:
        mxnet_backend.pending_seed = int(numpy.asarray(seed).ravel()[0]) if numpy.ndim(seed) else int(seed)
        if mxnet_backend._mx is not None:
            mxnet_backend._mx.random.seed(mxnet_backend.pending_seed)


def _getitem(a, key):
    return a[key]


def _setitem(a, key, value):
    a[key] = value


_SPECIAL_IMPLS = {"random.seed": _seed, "ndarray.__getitem__": _getitem, "ndarray.__setitem__": _setitem}


def _resolve(qualname: str):
    obj = numpy
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _is_basic_index(a, key) -> bool:
    """NumPy returns a view: basic indices only, and not a full integer index (that is a scalar copy)."""
    items = key if type(key) is tuple else (key,)
    ints = 0
    for k in items:
        t = type(k)
        if t is int or isinstance(k, numpy.integer):
            ints += 1
        elif not (t is slice or k is None or k is Ellipsis):
            return False
    return ints < a.ndim or any(k is Ellipsis or k is None for k in items)


def primitive(qualname: str) -> Primitive:
    """The primitive for a NumPy name, created on first use."""
    p = REGISTRY.get(qualname)
    if p is not None:
        return p
    if qualname in _SPECIAL_IMPLS:
        target = _SPECIAL_IMPLS[qualname]
    else:
        target = _resolve(qualname)
    if isinstance(target, (type, types.ModuleType)) or not callable(target):
        raise TypeError(f"imperdl: numpy.{qualname} is not a function")
    p = _BY_ID.get(id(target))
    if p is None:
        impl = _metadata_impl(target) if qualname in METADATA_ONLY else target
        cls = LayoutOrdered if qualname in ORDER_POSITION else Primitive
        p = cls(qualname, impl, doc=getattr(target, "__doc__", None))
        p.host = qualname in HOST
        p.mutates = qualname in MUTATING or qualname.endswith(".at")
        p.nondiff = qualname in NONDIFF or qualname.startswith("random.")
        p.scalar0d = qualname not in ARRAY_RESULTS
        p.sequences = _NO_SEQUENCES  # NumPy's list arguments are array_likes unless a rule table says otherwise
        if qualname in VIEW_NAMES:
            p.view = _always
        elif qualname in RESHAPES:
            p.view = _view_if_numpy_aliases(qualname)
        elif qualname == "ndarray.__getitem__":
            p.view = _is_basic_index
        if qualname not in _SPECIAL_IMPLS:
            _BY_ID[id(target)] = p
    REGISTRY[qualname] = p
    return p


def _always(*args, **kwargs) -> bool:
    return True


def _view_if_numpy_aliases(name: str):
    """View predicate for reshapes: always for a fresh array; for a view, replay its chain on a scratch buffer
    (NumPy copies when the data it reshapes is not contiguous)."""

    def pred(a, *args, **kwargs) -> bool:
        if a._view is None:
            return True
        x, scratch = scratch_view(a)
        return numpy.shares_memory(primitive(name).impls[0](x, *args, **kwargs), scratch)

    return pred


def ufunc_attribute(prim: Primitive, attr: str):
    target = prim.impls[0]
    if isinstance(target, numpy.ufunc) and attr in ("reduce", "accumulate", "reduceat", "outer", "at"):
        return primitive(f"{prim.name}.{attr}")
    if attr.startswith("__") or attr in ("_fields",):
        raise AttributeError(attr)
    try:
        return getattr(target, attr)
    except AttributeError:
        raise AttributeError(f"imperdl.numpy.{prim.name} has no attribute {attr!r}") from None


def lookup_ufunc(ufunc, method: str) -> Primitive:
    name = ufunc.__name__
    return primitive(name if method == "__call__" else f"{name}.{method}")


def _index_numpy_names() -> None:
    for space, prefix in [(numpy, "")] + [(getattr(numpy, m), m + ".") for m in SUBMODULES]:
        for name in dir(space):
            if name.startswith("_"):
                continue
            obj = getattr(space, name)
            if callable(obj) and not isinstance(obj, type):
                _NAME_BY_ID.setdefault(id(obj), prefix + name)


def lookup_function(func):
    """The primitive for a NumPy function object (for ``__array_function__``), or None."""
    p = _BY_ID.get(id(func))
    if p is not None:
        return p
    if not _NAME_BY_ID:
        _index_numpy_names()
    name = _NAME_BY_ID.get(id(func))
    return primitive(name) if name is not None else None


def public_names(space=numpy) -> list[str]:
    return sorted(n for n in dir(space) if not n.startswith("_"))


def all_function_names() -> list[str]:
    """Every NumPy function the face exposes as a primitive (top level, linalg, fft, random, ndarray methods)."""
    out = []
    for prefix, space in [("", numpy)] + [(m + ".", getattr(numpy, m)) for m in SUBMODULES]:
        for n in public_names(space):
            obj = getattr(space, n)
            if callable(obj) and not isinstance(obj, (type, types.ModuleType)):
                out.append(prefix + n)
    out += [f"ndarray.{n}" for n in _plain_method_names()]
    return out


def coverage() -> list[tuple[str, bool, bool]]:
    """(name, runs on MXNet, has a gradient rule) for every primitive the face exposes."""
    rows = []
    for name in all_function_names():
        p = primitive(name)
        rows.append((name, p.impls[1] is not None, p.vjp is not None))
    return rows


def in_numpy(qualname: str) -> bool:
    """Whether the installed NumPy has ``qualname``: tables name functions some NumPy versions lack
    (``round_`` and ``product`` left in 2.0, ``matrix_transpose`` came in 2.0); those rows are skipped."""
    if qualname in _SPECIAL_IMPLS or qualname in REGISTRY:
        return True
    try:
        _resolve(qualname)
    except AttributeError:
        return False
    return True


def register_mxnet(name: str, impl, pred=None, meta=None) -> Primitive | None:
    """Give NumPy function ``name`` an MXNet implementation that takes the calls ``pred`` accepts
    (nothing where the installed NumPy has no such function)."""
    if not in_numpy(name):
        return None
    p = primitive(name)
    p.impls[1] = impl
    p.preds[1] = pred
    if meta is not None:
        p.meta = meta
    return p


# ---------------------------------------------------------------------------------------- the Array surface
_BINARY = {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide", "floordiv": "floor_divide",
    "mod": "remainder", "pow": "power", "matmul": "matmul", "and": "bitwise_and", "or": "bitwise_or",
    "xor": "bitwise_xor", "lshift": "left_shift", "rshift": "right_shift",
}
_COMPARE = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal", "eq": "equal", "ne": "not_equal"}
_UNARY = {"neg": "negative", "pos": "positive", "abs": "absolute", "invert": "invert"}
_EXPLICIT = set(vars(Array))


def _plain_method_names() -> list[str]:
    """ndarray methods with no NumPy function of the same meaning and no explicit Array definition."""
    return sorted(
        n for n in dir(numpy.ndarray)
        if not n.startswith("_") and callable(getattr(numpy.ndarray, n))
        and n not in METHOD_IS_FUNCTION and n not in _EXPLICIT
    )


def _binary(p):
    def op(self, other):
        return p(self, other)

    return op


def _reflected(p):
    def op(self, other):
        return p(other, self)

    return op


def _inplace(p, dunder: str):
    numpy_inplace = getattr(numpy.ndarray, dunder)

    def op(self, other):
        r = p(self, other)
        if getattr(self, "_scalar", False) and not self.shape:
            return r  # NumPy scalars are immutable: ``n += v`` rebinds n, other references keep their value
        if r.dtype != self.dtype and not numpy.can_cast(r.dtype, self.dtype, "same_kind"):
            numpy_inplace(self._get(0).copy(), _to_host_tree(other))  # raises NumPy's own UFuncTypeError
        self._assign(r)
        return self

    return op


def _unary(p):
    def op(self):
        return p(self)

    return op


def _method(p):
    def method(self, *args, **kwargs):
        return p(self, *args, **kwargs)

    method.__name__ = p.__name__
    method.__doc__ = p.__doc__
    return method


def _install_array_surface() -> None:
    for short, name in _BINARY.items():
        p = primitive(name)
        setattr(Array, f"__{short}__", _binary(p))
        setattr(Array, f"__r{short}__", _reflected(p))
        setattr(Array, f"__i{short}__", _inplace(p, f"__i{short}__"))
    for short, name in _COMPARE.items():
        setattr(Array, f"__{short}__", _binary(primitive(name)))
    for short, name in _UNARY.items():
        setattr(Array, f"__{short}__", _unary(primitive(name)))
    dm = primitive("divmod")
    Array.__divmod__ = _binary(dm)
    Array.__rdivmod__ = _reflected(dm)
    Array.__getitem__ = _binary(primitive("ndarray.__getitem__"))
    primitive("ndarray.__setitem__")
    for name in METHOD_IS_FUNCTION:
        setattr(Array, name, _method(primitive(name)))
    for name in _plain_method_names():
        setattr(Array, name, _method(primitive(f"ndarray.{name}")))
    Array.real = property(_unary(primitive("real")))
    Array.imag = property(_unary(primitive("imag")))


_install_array_surface()


# ------------------------------------------------------------------ meta rules for MXNet results (see Primitive.meta)
_PY_NUMBERS = (int, float, bool)


def meta_unary(x, *args, **kwargs):
    """Result has argument 0's shape and dtype (elementwise ops the predicate keeps dtype-preserving)."""
    if type(x) is Array:
        return x.shape, x.dtype
    return None


def meta_binary(x, y, *args, **kwargs):
    """Result has the common shape and dtype of two same-dtype operands (or an array and a Python number)."""
    tx, ty = type(x), type(y)
    if tx is Array:
        if ty is Array:
            if x.dtype == y.dtype and x.shape == y.shape:
                return x.shape, x.dtype
            return None
        if ty in _PY_NUMBERS:
            return x.shape, x.dtype
    elif ty is Array and tx in _PY_NUMBERS:
        return y.shape, y.dtype
    return None


_BOOL = numpy.dtype(bool)


def meta_compare(x, y, *args, **kwargs):
    """Like meta_binary, with a bool result."""
    m = meta_binary(x, y)
    return (m[0], _BOOL) if m is not None else None
