"""Array: one value stored on the host (NumPy), on an MXNet context, or both.

Storage is a short list indexed by backend number; a ``None`` slot is stale, a filled one is fresh. Data moves
lazily, the first time a backend needs it, and every move is counted and logged. Shape and dtype are metadata:
reading them never copies (for MXNet results they are filled from the primitive's meta rule or asked once).

Views follow NumPy: a basic-index, reshape or transpose result is tied to its root array by the chain of view
operations that made it. Reading a view whose root changed recomputes it; writing a view writes its root on
the host (the only place where views are real memory), so every alias sees every in-place update.

NumPy may also hold an array's memory (``numpy.asarray(a)``, ``numpy.nditer(a, op_flags=['readwrite'])``) and
write it at any time. Such an array is *exported* (``_export``): its host buffer becomes the memory of a hidden root
whose version is NaN, never equal to a version seen, so the array and its views re-read that memory at each use
and no MXNet copy of it is ever kept.
"""
from __future__ import annotations

import logging
import operator
from math import prod as _prod

import numpy

from .. import context as _context
from . import signature as _signature
from . import statistics as _stats
from .backends import BACKENDS, NAMES
from .backends.mxnet_inputs import is_mx, wrap
from .recording import state as _rec
from .recording import value_read as _value_read

_DEBUG = logging.DEBUG
_EXPORTED = float("nan")  # the version of memory NumPy may write behind our back: unequal to every version seen


class Array:
    """An n-dimensional array that behaves like ``numpy.ndarray`` and runs its operations through dispatch."""

    # ``_scalar`` (set only on results where NumPy returns a scalar; read with getattr): if 0-d, the value is a
    # NumPy scalar, immutable, so ``n += v`` rebinds ``n`` instead of writing every reference to it
    __slots__ = ("_data", "_shape", "_dtype", "_ctx", "_keyc", "_version", "_view", "_cow", "_node", "_scalar",
                 "__weakref__")
    __array_priority__ = 1000.0
    __hash__ = None

    def __init__(self, data, backend: int = 0, ctx=None, shape=None, dtype=None):
        d = [None, None]
        d[backend] = data
        self._data = d
        self._shape = shape
        self._dtype = dtype
        self._ctx = ctx
        self._keyc = None
        self._version = 0
        self._view = None  # (root Array, chain of (primitive, args, kwargs, output index), root version seen)
        self._cow = False  # host buffer borrowed from another array: copy before writing it
        self._node = None  # autograd bookkeeping (imperdl.core.tape)

    # ------------------------------------------------------------------ metadata (never copies)
    def _fill_meta(self):
        x = self._data[0]
        if x is None:
            x = self._data[1]
        self._shape = tuple(x.shape)
        self._dtype = numpy.dtype(x.dtype)

    @property
    def shape(self) -> tuple:
        if self._shape is None:
            self._fill_meta()
        return self._shape

    @shape.setter
    def shape(self, new):
        self._assign(self.reshape(new), reshape_ok=True)

    @property
    def dtype(self) -> numpy.dtype:
        if self._dtype is None:
            self._fill_meta()
        return self._dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def key(self) -> tuple:
        """The dispatch descriptor: ('A', dtype, ndim, size class), made once per array.

        The size class is ``size.bit_length()`` (log2 buckets; 0 = empty): cost-aware placement decides per
        size class, and a decision cached per signature must not be reused across sizes that differ by 2x.
        """
        k = self._keyc
        if k is None:
            shape = self.shape
            k = self._keyc = ("A", self.dtype, len(shape), _prod(shape).bit_length())
        return k

    @property
    def context(self):
        """Where the MXNet copy lives, or ``cpu()`` for a host-only array."""
        if self._data[1] is not None and self._ctx is not None:
            return self._ctx
        return _context.cpu()

    @property
    def backends(self) -> tuple:
        """Names of the backends holding a fresh copy (for inspection and tests)."""
        self._check_view()
        return tuple(NAMES[i] for i, x in enumerate(self._data) if x is not None)

    # ------------------------------------------------------------------ storage
    def _check_view(self):
        v = self._view
        if v is not None and v[0]._version != v[2]:
            self._refresh()

    def _get(self, b: int):
        """This array's data on backend ``b``, copied or shared there if needed.

        On MXNet the buffer returned is one the host cannot see: a caller may hand it to any MXNet operator, and
        some rewrite inputs in place (oneDNN convolution re-lays out its weight in inference mode). Dispatch
        uses ``_get_shared`` instead and protects just the operators that rewrite (``Primitive.mx_rewrites``).
        """
        x = self._get_shared(b)
        if b and getattr(x, "_imperdl_host", False):
            x = self._private_mx(x)
        return x

    def _private_mx(self, x):
        """A copy of MXNet buffer ``x`` (this array's, shared with the host) that stays MXNet's alone; it
        replaces the shared one in the storage list (same value), so later calls find it private."""
        with BACKENDS[1].section:  # (0-d arrays need NumPy shape semantics)
            priv = x.copy()
        _stats.count_copy(1, 1, self.size * self.dtype.itemsize)
        if self._data[1] is x:
            self._data[1] = priv
        return priv

    def _get_shared(self, b: int):
        """This array's data on backend ``b``, copied or shared there if needed (see ``_sync``)."""
        if self._view is not None:
            self._check_view()
        x = self._data[b]
        if x is None:
            return self._sync(b)
        if b and self._ctx is not _context._current:
            if self._ctx is None:  # storage shared with a tape snapshot that moved it
                self._ctx = BACKENDS[1].context_of(x)
            if self._ctx != _context.current_context():
                return self._sync(b)
        return x

    def _sync(self, b: int):
        """Bring the value to backend ``b``: shared without copying where the backend allows it (CPU), else
        copied. Both copies then stand for one value: every write replaces the list (``_set_data``), so a
        buffer both sides see is never written behind the other's back (``_cow`` covers shared lists)."""
        d = self._data
        ctx = _context.current_context()
        mxb = BACKENDS[1]
        out = None
        if b == 0:
            src = 1
            if mxb.ZERO_COPY:
                out = mxb.share_to_host(d[1], self.shape, self.dtype, self._ctx or mxb.context_of(d[1]))
            shared = out is not None
            if not shared:
                out = mxb.to_host(d[1])
            _stats.syncs[0] += 1
        elif d[1] is not None:  # MXNet data on another context
            src, shared = 1, False
            out = mxb.move(d[1], ctx)
            d[1] = None
        else:
            src = 0
            if mxb.ZERO_COPY:
                out = mxb.share_from_host(d[0], ctx)
            shared = out is not None
            if not shared:
                out = mxb.from_host(d[0], ctx)
        (_stats.count_shared if shared else _stats.count_copy)(src, b, self.size * self.dtype.itemsize)
        log = _stats.copy_log
        if log.isEnabledFor(_DEBUG):
            log.debug(  # MinPy's wording, so existing log filters still match; shared transfers say so
                "Copy from %s array to %s array for Array \"%d\" of shape %s%s.",
                BACKENDS[src].NAME, BACKENDS[b].NAME, id(self), self.shape,
                " (zero-copy: memory shared)" if shared else "",
            )
        if self._version == self._version:  # NaN: exported memory, a copy of it would go stale unseen
            d[b] = out
            if b:
                self._ctx = ctx
        return out

    def _set_data(self, x, b: int, ctx=None):
        """Replace the contents with ``x`` on backend ``b``; every other copy becomes stale."""
        d = [None, None]
        d[b] = x
        self._data = d
        if b:
            self._ctx = ctx or _context.current_context()
        self._version += 1

    # ------------------------------------------------------------------ views
    def _refresh(self):
        """Re-read the root (it changed): through dispatch, so under a tape the view takes the node of what it read."""
        root, chain, _ = self._view
        x = root
        for prim, args, kwargs, index in chain:
            x = prim(x, *args, **kwargs)
            if index is not None:
                x = x[index]
        self._data = list(x._data)
        self._ctx = x._ctx
        self._node = x._node
        self._view = (root, chain, root._version)

    def _write(self, mutate, b: int = 0):
        """Run ``mutate(buffer)`` in place on backend ``b``; views write their root on the host."""
        v = self._view
        if v is None:
            x = self._get_shared(b)  # a shared buffer is written in place: the host side sees it, as NumPy would
            if self._cow:  # the buffer is shared (with a tape snapshot or a NumPy base): write a copy
                if b:
                    with BACKENDS[1].section:
                        x = x.copy()
                else:
                    x = x.copy()
                self._cow = False
            mutate(x)
            self._set_data(x, b, self._ctx)
            return
        root, chain, _ = v
        base = root._get(0)
        if root._cow and root._version == root._version:  # never write into a list a tape snapshot shares
            # (exported memory, NaN version, is never shared: snapshots of it copy it, see tape._snapshot)
            base = base.copy()
            root._data = [base, None]
            root._cow = False
        x = replay_on_host(base, chain)
        if not numpy.shares_memory(x, base):  # NumPy made a copy here: this array is not a view after all
            self._view = None
            self._data = [x, None]
            mutate(x)
            self._version += 1
            return
        mutate(x)
        root._set_data(base, 0)
        self._data = [x, None]
        self._view = (root, chain, root._version)
        self._version += 1

    def _export(self) -> numpy.ndarray:
        """This array's memory as a writable NumPy array that stays its memory (see the module docstring)."""
        v = self._view
        if v is None:
            base = self._get(0)
            if self._cow or not base.flags.writeable:  # shared with a snapshot or read-only: make it ours
                base = base.copy()
            root = Array(base)
            root._version = _EXPORTED
            root._node = self._node  # (re-read at every use: the array keeps its place on a tape, see _refresh)
            self._data, self._cow, self._version = [base, None], False, _EXPORTED
            self._view = (root, (), _EXPORTED)
            return base
        root, chain, _ = v
        if root._version == root._version:  # the root is not exported yet
            root._export()
        base = root._get(0)
        x = replay_on_host(base, chain)
        if not numpy.shares_memory(x, base):  # NumPy copies here: this array is not a view of its root after all
            self._view, self._data, self._cow = None, [numpy.array(x), None], False
            return self._export()
        self._data = [x, None]
        return x

    def _assign(self, src: Array, reshape_ok: bool = False):
        """Give this array ``src``'s value in place (``a += b``, ``a.sort()``, ``out=``); aliases see it."""
        from .tape import on_assign

        if not reshape_ok and src.shape != self.shape:
            raise ValueError(
                f"non-broadcastable output operand with shape {self.shape} doesn't match the broadcast shape "
                f"{src.shape}"
            )
        if src.dtype != self.dtype:
            if not numpy.can_cast(src.dtype, self.dtype, "same_kind"):
                raise TypeError(
                    f"Cannot cast result of dtype {src.dtype} to the in-place output of dtype {self.dtype} "
                    "with casting rule 'same_kind'"
                )
            src = src.astype(self.dtype)
        if self._view is not None:
            if reshape_ok and src._view is not None and src._view[0] is self._view[0]:
                # ``view.shape = s`` (exported arrays are views too): the reshaped view of the same memory
                on_assign(self, src, through_view=False)
                self._view, self._data, self._shape, self._keyc = src._view, list(src._data), src._shape, None
                self._version += 1
                return
            on_assign(self, src)
            val = src._get(0)
            self._write(lambda x: x.__setitem__(Ellipsis, val))
            return
        on_assign(self, src)
        self._data = list(src._data)
        self._ctx = src._ctx
        self._cow = self._data[0] is not None
        src._cow = src._data[0] is not None
        if reshape_ok:
            self._shape = src._shape
            self._keyc = None
        self._version += 1

    # ------------------------------------------------------------------ conversions
    def asnumpy(self) -> numpy.ndarray:
        """A NumPy copy of the value (independent of this array)."""
        if _rec.stack:
            _value_read(self, ".asnumpy()")
        return numpy.array(self._get(0), copy=True)

    def wait_to_read(self) -> None:
        """Block until pending MXNet work producing this array is done."""
        x = self._data[1]
        if x is not None:
            x.wait_to_read()

    def __array__(self, dtype=None, copy=None):
        """NumPy's view of this array: like ``numpy.asarray(ndarray)``, it aliases the array's memory, and writes
        through it (``numpy.nditer(a, op_flags=['readwrite'])``) reach the array (see ``_export``). NumPy 2
        passes ``copy``: True -> a fresh array, False -> no copy or ValueError."""
        if _rec.stack:
            _value_read(self, "numpy.asarray()")
        if self._node is not None:
            _leaving(self, "numpy.asarray() (called by NumPy, e.g. numpy_array.dot(x))", "array")
        if copy:
            x = self._get(0)
            return x.astype(x.dtype if dtype is None else dtype, copy=True)
        if dtype is not None and numpy.dtype(dtype) != self.dtype:
            if copy is False:
                raise ValueError(f"imperdl Array of dtype {self.dtype}: converting to {numpy.dtype(dtype)} needs a "
                                 "copy (copy=False was asked for)")
            return self._get(0).astype(dtype)
        return self._export()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from .registry import lookup_ufunc

        out = kwargs.pop("out", None)
        prim = lookup_ufunc(ufunc, method)
        result = prim(*inputs, **kwargs)
        if out is None:
            return result
        results = result if isinstance(result, tuple) else (result,)
        for o, r in zip(out, results):
            _store_into(o, r)
        return out[0] if len(out) == 1 else out

    def __array_function__(self, func, types, args, kwargs):
        from .registry import lookup_function

        prim = lookup_function(func)
        if prim is None:  # a NumPy function imperdl does not know: it runs on host data, off the tape
            from .escapes import leaving_tree

            leaving_tree([args, kwargs], f"{getattr(func, '__module__', 'numpy')}.{func.__name__}()")
            return func(*_to_host_tree(args), **_to_host_tree(kwargs))
        return prim(*args, **kwargs)

    def __reduce__(self):
        return (_from_host, (self.asnumpy(),))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    # ------------------------------------------------------------------ Python protocols (host values)
    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of unsized object")
        return shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

    def __bool__(self) -> bool:
        if _rec.stack:
            _value_read(self, "bool()")
        return bool(self._get(0))

    def __float__(self) -> float:
        if _rec.stack:
            _value_read(self, "float()")
        if self._node is not None:
            _leaving(self, "float()", "number")
        return float(self._get(0))

    def __int__(self) -> int:
        if _rec.stack:
            _value_read(self, "int()")
        if self._node is not None:
            _leaving(self, "int()", "number")
        return int(self._get(0))

    def __complex__(self) -> complex:
        if _rec.stack:
            _value_read(self, "complex()")
        if self._node is not None:
            _leaving(self, "complex()", "number")
        return complex(self._get(0))

    def __index__(self) -> int:
        if _rec.stack:
            _value_read(self, "operator.index()")
        return operator.index(self._get(0))

    def __repr__(self) -> str:
        return repr(self._get(0))

    def __str__(self) -> str:
        return str(self._get(0))

    def __format__(self, spec: str) -> str:
        return format(self._get(0), spec)

    def __contains__(self, value) -> bool:
        return bool((self == value).any())

    def item(self, *args):
        if _rec.stack:
            _value_read(self, ".item()")
        if self._node is not None:
            _leaving(self, ".item()", "number")
        return self._get(0).item(*args)

    def tolist(self):
        if _rec.stack:
            _value_read(self, ".tolist()")
        if self._node is not None:
            _leaving(self, ".tolist()", "number")
        return self._get(0).tolist()

    def tobytes(self, order="C") -> bytes:
        if _rec.stack:
            _value_read(self, ".tobytes()")
        if self._node is not None:
            _leaving(self, ".tobytes()", "number")
        return self._get(0).tobytes(order)

    @property
    def flat(self):
        if _rec.stack:
            _value_read(self, ".flat")
        if self._node is not None:
            _leaving(self, ".flat", "array")
        v = self._get(0).view()
        v.flags.writeable = False
        return v.flat

    # ------------------------------------------------------------------ in-place methods
    def __setitem__(self, key, value) -> None:
        from .dispatch import setitem

        setitem(self, key, value)

    def fill(self, value) -> None:
        self[...] = value

    def sort(self, axis=-1, kind=None, order=None) -> None:
        from .registry import primitive

        self._assign(primitive("sort")(self, axis=axis, kind=kind, order=order))

    def partition(self, kth, axis=-1, kind="introselect", order=None) -> None:
        from .registry import primitive

        self._assign(primitive("partition")(self, kth, axis=axis, kind=kind, order=order))

    def put(self, indices, values, mode="raise") -> None:
        from .tape import check_mutation

        check_mutation(self, "ndarray.put")

        def mutate(x):
            x.put(_to_host_tree(indices), _to_host_tree(values), mode)

        self._write(mutate)

    def itemset(self, *args) -> None:
        if len(args) == 1:
            self[numpy.unravel_index(0, self.shape) if self.size == 1 else ()] = args[0]
        else:
            self[args[:-1] if len(args) > 2 else args[0]] = args[-1]

    def resize(self, *new_shape, refcheck=True) -> None:
        from .tape import check_mutation

        check_mutation(self, "ndarray.resize")
        shape = new_shape[0] if len(new_shape) == 1 and not isinstance(new_shape[0], int) else new_shape
        host = numpy.array(self._get(0))
        host.resize(shape, refcheck=False)
        self._assign(_from_host(host), reshape_ok=True)

    # ------------------------------------------------------------------ NumPy-method spellings with varargs
    def reshape(self, *shape, order="C"):
        from .registry import primitive

        if len(shape) == 1:
            shape = shape[0]
        return primitive("reshape")(self, shape, order=order)

    def transpose(self, *axes):
        from .registry import primitive

        if len(axes) == 1:
            axes = axes[0]
        elif not axes:
            axes = None  # a.transpose() reverses; a.transpose(()) is an empty permutation, checked as NumPy does
        return primitive("transpose")(self, axes)

    @property
    def T(self):
        from .registry import primitive

        return primitive("transpose")(self)


def _leaving(a: Array, what: str, kind: str) -> None:
    """A traced ``a`` must not leave the tape through ``what`` (see ``escapes``); called only for arrays with a node."""
    from .escapes import leaving

    leaving(a, what, kind)


def host_view(x) -> numpy.ndarray:
    """``x``'s host value, read-only, for the engine's own constants (indices, masks, signs in gradient rules):
    unlike ``numpy.asarray`` it is allowed on traced arrays, as those uses never need a gradient."""
    if type(x) is not Array:
        return numpy.asarray(x)
    if _rec.stack:
        _value_read(x, "a host value taken by a gradient rule or index (imperdl.core.array.host_view)")
    v = x._get(0).view()
    v.flags.writeable = False
    return v


def _from_host(x) -> Array:
    return Array(numpy.asarray(x))


def _store_into(out, value) -> None:
    if isinstance(out, Array):
        out._assign(value if isinstance(value, Array) else _from_host(value))
    else:
        if _rec.stack:
            from .recording import refuse

            refuse("writes a result into a NumPy array (out= or an in-place operator on a numpy.ndarray)")
        numpy.copyto(out, numpy.asarray(value), casting="same_kind")


def replay_on_host(base: numpy.ndarray, chain) -> numpy.ndarray:
    """A view's chain of operations replayed by NumPy on host buffer ``base``. The other arguments (``b`` of
    ``atleast_1d(a, b)``) are read on the host: an Array among them would make NumPy hand the call back to
    imperdl (``__array_function__``), which returns Arrays, not the NumPy view wanted."""
    x = base
    for prim, args, kwargs, index in chain:
        x = prim.impls[0](x, *_to_host_tree(args), **_to_host_tree(kwargs))
        if index is not None:
            x = x[index]
    return x


def _to_host_tree(x):
    """Arrays inside ``x`` (a value, list, tuple or dict) replaced by their host data (MXNet arrays too)."""
    t = type(x)
    if t is Array:
        if _rec.stack:
            _value_read(x, "a NumPy function imperdl does not record")
        return x._get(0)
    if t is list or t is tuple:
        return t(_to_host_tree(e) for e in x)
    if t is dict:
        return {k: _to_host_tree(v) for k, v in x.items()}
    if is_mx(x):
        return wrap(x)._get(0)
    return x


_signature.register(Array, Array.key)
