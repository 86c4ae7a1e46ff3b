"""Gradient rules: shape changes, joins and splits, rearrangements and gathers.

Every rule is an ``imperdl.numpy`` expression (so an outer tape records it). Rearrangements invert themselves
(``transpose`` by the inverse permutation, ``roll`` by the opposite shift); element pickers (``take``, ``sort``,
``diagonal``, non-constant ``pad`` ...) share one scatter-add, ``gather_grad``, fed with the op run on an index
map, so a rule can never disagree with NumPy about which element went where.
"""
from __future__ import annotations

import numpy as onp

from . import defvjp, defvjp_argnums
from .util import gather_grad, host, index_map, match_real, shape_of, unbroadcast


def _np():
    import imperdl.numpy as np

    return np


def _ndim(x) -> int:
    return len(shape_of(x))


def _axis(axis, ndim):
    return axis + ndim if axis < 0 else axis


def _back_to(g, x):
    """Reshape ``g`` to ``x``'s shape (for ops that keep the elements in order)."""
    return _np().reshape(g, shape_of(x))


def _slice(g, axis, start, stop):
    return g[(slice(None),) * axis + (slice(start, stop),)]


# ------------------------------------------------------------------ reshaping: the gradient is reshaped back
# (these rules read their input's shape only: ``reads=()``, the tape keeps no value for them)
defvjp("reshape", lambda g, ans, a, *args, order="C", **kw: _np().reshape(g, shape_of(a), order=order), reads=())
defvjp("ravel", lambda g, ans, a, order="C": _np().reshape(g, shape_of(a), order=order), reads=())
defvjp("ndarray.flatten", lambda g, ans, a, order="C": _np().reshape(g, shape_of(a), order=order), reads=())
defvjp("squeeze", lambda g, ans, a, *args, **kw: _back_to(g, a), reads=())
defvjp("expand_dims", lambda g, ans, a, *args, **kw: _back_to(g, a), reads=())
defvjp("broadcast_to", lambda g, ans, a, *args, **kw: unbroadcast(g, a), reads=())
# np.full(shape, value): a broadcast of value (autograd's define_gradient example builds its vjp with it)
defvjp("full", None, lambda g, ans, shape, fill_value, *args, **kw: unbroadcast(g, fill_value),
       kw={"fill_value": lambda g, ans, shape, fill_value, *args, **kw: unbroadcast(g, fill_value)}, reads=())
defvjp("ndarray.copy", lambda g, ans, a, *args, **kw: g, reads=())
defvjp("copy", lambda g, ans, a, *args, **kw: g, reads=())


def _astype(g, ans, a, *args, **kw):
    """The gradient goes back to the input's dtype (a float32 array cast to float64 gets a float32 gradient)."""
    return match_real(g, a)


defvjp("ndarray.astype", _astype, reads=())


def _atleast(pos, g, ans, args, kwargs):
    if type(pos) is not int:
        raise NotImplementedError("atleast_nd: no gradient for a keyword argument")
    gi = g if len(args) == 1 else g[pos]
    return _back_to(gi, args[pos])


for _name in ("atleast_1d", "atleast_2d", "atleast_3d"):
    defvjp_argnums(_name, _atleast, reads=())


def _broadcast_arrays(pos, g, ans, args, kwargs):
    if type(pos) is not int:
        raise NotImplementedError("broadcast_arrays: no gradient for a keyword argument")
    return unbroadcast(g[pos], args[pos])


defvjp_argnums("broadcast_arrays", _broadcast_arrays, reads=())


# ------------------------------------------------------------------ permutations of axes
def _transpose(g, ans, a, axes=None):
    np = _np()
    if axes is None:
        return np.transpose(g)
    n = _ndim(a)
    return np.transpose(g, tuple(int(i) for i in onp.argsort([_axis(int(x), n) for x in axes])))


def _rollaxis_perm(n, axis, start):
    axis = _axis(axis, n)
    start = start + n if start < 0 else start
    perm = list(range(n))
    if axis < start:
        start -= 1
    if axis != start:
        perm.remove(axis)
        perm.insert(start, axis)
    return perm


def _rollaxis(g, ans, a, axis, start=0):
    perm = _rollaxis_perm(_ndim(a), axis, start)
    return _np().transpose(g, tuple(int(i) for i in onp.argsort(perm)))


defvjp("transpose", _transpose, reads=())
defvjp("swapaxes", lambda g, ans, a, axis1, axis2: _np().swapaxes(g, axis1, axis2), reads=())
defvjp("moveaxis", lambda g, ans, a, source, destination: _np().moveaxis(g, destination, source), reads=())
defvjp("rollaxis", _rollaxis, reads=())


# ------------------------------------------------------------------ joins: each input gets its slice of g
def _concatenate(pos, g, ans, args, kwargs):
    if type(pos) is not tuple or pos[0] != 0:
        raise NotImplementedError("concatenate: gradient only for the arrays in the sequence")
    arrays = args[0]
    axis = args[1] if len(args) > 1 else kwargs.get("axis", 0)
    j = pos[1]
    if axis is None:
        start = sum(int(onp.prod(shape_of(a), dtype=onp.int64)) for a in arrays[:j])
        n = int(onp.prod(shape_of(arrays[j]), dtype=onp.int64))
        return _back_to(g[start:start + n], arrays[j])
    ax = _axis(axis, _ndim(arrays[j]))
    start = sum(shape_of(a)[ax] for a in arrays[:j])
    return _slice(g, ax, start, start + shape_of(arrays[j])[ax])


defvjp_argnums("concatenate", _concatenate, sequences=(0,), reads=())


def _stack(pos, g, ans, args, kwargs):
    if type(pos) is not tuple or pos[0] != 0:
        raise NotImplementedError("stack: gradient only for the arrays in the sequence")
    axis = args[1] if len(args) > 1 else kwargs.get("axis", 0)
    ax = _axis(axis, _ndim(ans))
    return g[(slice(None),) * ax + (pos[1],)]


defvjp_argnums("stack", _stack, sequences=(0,), reads=())


def _joined(lift, axis_of):
    """Gradient of vstack & co: each input was lifted to a rank (``lift`` gives its new shape) and concatenated."""
    def vjp(pos, g, ans, args, kwargs):
        if type(pos) is not tuple or pos[0] != 0:
            raise NotImplementedError("gradient only for the arrays in the sequence")
        arrays = args[0]
        shapes = [lift(shape_of(a)) for a in arrays]
        ax = axis_of(shapes)
        j = pos[1]
        start = sum(s[ax] for s in shapes[:j])
        return _back_to(_slice(g, ax, start, start + shapes[j][ax]), arrays[j])

    return vjp


def _lift_2d(s):
    return s if len(s) >= 2 else (1,) * (2 - len(s)) + s


def _lift_3d(s):
    if len(s) == 0:
        return (1, 1, 1)
    if len(s) == 1:
        return (1, s[0], 1)
    if len(s) == 2:
        return s + (1,)
    return s


def _lift_column(s):
    if len(s) == 0:
        return (1, 1)
    if len(s) == 1:
        return (s[0], 1)
    return s


defvjp_argnums("vstack", _joined(_lift_2d, lambda shapes: 0), sequences=(0,), reads=())  # (and row_stack)
defvjp_argnums("hstack", _joined(lambda s: s or (1,), lambda shapes: 0 if len(shapes[0]) == 1 else 1),
               sequences=(0,), reads=())
defvjp_argnums("dstack", _joined(_lift_3d, lambda shapes: 2), sequences=(0,), reads=())
defvjp_argnums("column_stack", _joined(_lift_column, lambda shapes: 1), sequences=(0,), reads=())


# ------------------------------------------------------------------ splits: g is a list; join it back
def _split_axis(default):
    def vjp(g, ans, ary, indices_or_sections, axis=default):
        ax = axis if axis is not None else (1 if _ndim(ary) > 1 else 0)
        return _np().concatenate(list(g), axis=ax)

    return vjp


defvjp("split", _split_axis(0), reads=())
defvjp("array_split", _split_axis(0), reads=())
defvjp("hsplit", lambda g, ans, ary, ios: _np().concatenate(list(g), axis=1 if _ndim(ary) > 1 else 0), reads=())
defvjp("vsplit", lambda g, ans, ary, ios: _np().concatenate(list(g), axis=0), reads=())
defvjp("dsplit", lambda g, ans, ary, ios: _np().concatenate(list(g), axis=2), reads=())


# ------------------------------------------------------------------ padding, tiling, repeating
def _pad(g, ans, array, pad_width, mode="constant", **kwargs):
    n = _ndim(array)
    if mode == "constant" and n:
        widths = onp.broadcast_to(onp.asarray(host(pad_width), dtype=onp.int64), (n, 2))
        return g[tuple(slice(int(b), int(b) + s) for (b, _), s in zip(widths, shape_of(array)))]
    if mode == "constant":
        return gather_grad(g, array, onp.pad(index_map(array), host(pad_width), constant_values=-1))
    return gather_grad(g, array, onp.pad(index_map(array), host(pad_width), mode=mode, **kwargs))


defvjp("pad", _pad, reads=(1,))


def _tile(g, ans, A, reps):
    np = _np()
    reps = tuple(int(r) for r in onp.atleast_1d(host(reps)))
    d = max(len(reps), _ndim(A))
    sa = (1,) * (d - _ndim(A)) + shape_of(A)
    r = (1,) * (d - len(reps)) + reps
    inter = tuple(v for pair in zip(r, sa) for v in pair)
    g = np.sum(np.reshape(g, inter), axis=tuple(range(0, 2 * d, 2)))
    return _back_to(g, A)


defvjp("tile", _tile, reads=(1,))


def _repeat(g, ans, a, repeats, axis=None):
    np = _np()
    reps = host(repeats)
    if onp.ndim(reps) == 0 or onp.size(reps) == 1:
        r = int(onp.asarray(reps).reshape(()))
        if axis is None:
            n = int(onp.prod(shape_of(a), dtype=onp.int64))
            return _back_to(np.sum(np.reshape(g, (n, r)), axis=1), a)
        s = shape_of(a)
        ax = _axis(axis, len(s))
        return np.sum(np.reshape(g, s[:ax] + (s[ax], r) + s[ax + 1:]), axis=ax + 1)
    return gather_grad(g, a, onp.repeat(index_map(a), reps, axis=axis))


defvjp("repeat", _repeat, reads=(1,))


# ------------------------------------------------------------------ reversals, rolls, rotations
def _negate(shift):
    shift = host(shift)
    if isinstance(shift, (tuple, list)):
        return tuple(-int(s) for s in shift)
    return -onp.asarray(shift) if onp.ndim(shift) else -int(shift)


defvjp("flip", lambda g, ans, m, axis=None: _np().flip(g, axis), reads=())
defvjp("fliplr", lambda g, ans, m: _np().fliplr(g), reads=())
defvjp("flipud", lambda g, ans, m: _np().flipud(g), reads=())
defvjp("roll", lambda g, ans, a, shift, axis=None: _np().roll(g, _negate(shift), axis), reads=(1,))
defvjp("rot90", lambda g, ans, m, k=1, axes=(0, 1): _np().rot90(g, -k, axes), reads=())


# ------------------------------------------------------------------ diagonals and triangles
def _diag(g, ans, v, k=0):
    if _ndim(v) == 1:
        return _np().diagonal(g, k)
    return gather_grad(g, v, onp.diag(index_map(v), k))


defvjp("diag", _diag, reads=())
defvjp("diagonal", lambda g, ans, a, offset=0, axis1=0, axis2=1: gather_grad(
    g, a, onp.diagonal(index_map(a), offset, axis1, axis2)), reads=())
def _tri_vjp(fn_name):
    """A 1-d ``m`` is broadcast to rows of a square matrix: its gradient sums the masked rows."""
    def vjp(g, ans, m, k=0):
        masked = getattr(_np(), fn_name)(g, k)
        return _np().sum(masked, axis=0) if len(shape_of(m)) == 1 else masked

    return vjp


defvjp("tril", _tri_vjp("tril"), reads=())
defvjp("triu", _tri_vjp("triu"), reads=())


# ------------------------------------------------------------------ gathers by index
def _sort(g, ans, a, axis=-1, kind=None, order=None):
    perm = onp.argsort(host(a), axis=axis, kind="stable")
    m = index_map(a)
    src = onp.take_along_axis(m if axis is not None else m.ravel(), perm, axis=-1 if axis is None else axis)
    return gather_grad(g, a, src)


defvjp("sort", _sort, reads=(0,))
defvjp("msort", lambda g, ans, a: _sort(g, ans, a, axis=0), reads=(0,))
defvjp("take", lambda g, ans, a, indices, axis=None, out=None, mode="raise": gather_grad(
    g, a, onp.take(index_map(a), host(indices), axis=axis, mode=mode)), reads=(1,))
defvjp("take_along_axis", lambda g, ans, arr, indices, axis: gather_grad(
    g, arr, onp.take_along_axis(index_map(arr), host(indices), axis)), reads=(1,))
defvjp("compress", None, lambda g, ans, condition, a, axis=None, out=None: gather_grad(
    g, a, onp.compress(host(condition), index_map(a), axis=axis)), reads=(0,))
defvjp("extract", None, lambda g, ans, condition, arr: gather_grad(
    g, arr, onp.extract(host(condition), index_map(arr))), reads=(0,))


def _bincount_weights(g, ans, x, weights=None, minlength=0):
    """``bincount`` with weights is the scatter-add behind ``gather_grad``; its vjp is the matching gather."""
    return match_real(_np().take(g, host(x)), weights)


defvjp("bincount", None, _bincount_weights, kw={"weights": _bincount_weights}, reads=(0,))


# ------------------------------------------------------------------ more pickers and joins
def _append(which):
    def vjp(g, ans, arr, values, axis=None):
        x = arr if which == 0 else values
        if axis is None:
            n = int(onp.prod(shape_of(arr), dtype=onp.int64))
            part = g[:n] if which == 0 else g[n:]
            return _back_to(part, x)
        ax = _axis(axis, _ndim(arr))
        n = shape_of(arr)[ax]
        return _slice(g, ax, 0, n) if which == 0 else _slice(g, ax, n, None)

    return vjp


defvjp("append", _append(0), _append(1), reads=())
defvjp("delete", lambda g, ans, arr, obj, axis=None: gather_grad(
    g, arr, onp.delete(index_map(arr), host(obj), axis)), reads=(1,))


def _insert(which):
    def vjp(g, ans, arr, obj, values, axis=None):
        if which == 0:
            return gather_grad(g, arr, onp.insert(index_map(arr), host(obj), -1, axis))
        holes = onp.full(shape_of(arr), -1, dtype=onp.int64)
        return gather_grad(g, values, onp.insert(holes, host(obj), index_map(values), axis))

    return vjp


defvjp("insert", _insert(0), None, _insert(1), reads=(1,))
defvjp("resize", lambda g, ans, a, new_shape: gather_grad(g, a, onp.resize(index_map(a), host(new_shape))),
       reads=(1,))


def _partition(g, ans, a, kth, axis=-1, kind="introselect", order=None):
    perm = onp.argpartition(host(a), host(kth), axis=axis, kind=kind)
    m = index_map(a)
    src = onp.take_along_axis(m if axis is not None else m.ravel(), perm, axis=-1 if axis is None else axis)
    return gather_grad(g, a, src)


defvjp("partition", _partition, reads=(0, 1))
defvjp("diagflat", lambda g, ans, v, k=0: _back_to(_np().diagonal(g, k), v), reads=())


def _choose(pos, g, ans, args, kwargs):
    """Each choice gets ``g`` where the index array picked it (summed over the axes it was broadcast on)."""
    a = onp.asarray(host(args[0]))
    choices = args[1]
    if type(pos) is tuple and pos[0] == 1:
        mask = onp.broadcast_to(a, shape_of(ans)) == pos[1]
        return unbroadcast(g * mask.astype(g.dtype), choices[pos[1]])
    if pos == 1:
        n = shape_of(choices)[0]
        picks = onp.arange(n).reshape((n,) + (1,) * len(shape_of(ans)))
        mask = onp.broadcast_to(a, shape_of(ans))[None] == picks
        return unbroadcast(_np().expand_dims(g, 0) * mask.astype(g.dtype), choices)
    raise NotImplementedError(f"choose: no gradient with respect to argument {pos!r}")


defvjp_argnums("choose", _choose, sequences=(1,))


def _meshgrid(pos, g, ans, args, kwargs):
    if type(pos) is not int:
        raise NotImplementedError("meshgrid: gradient only for the coordinate arrays")
    opts = {k: kwargs[k] for k in ("indexing", "sparse") if k in kwargs}
    maps = onp.meshgrid(*[index_map(x) for x in args], **opts)
    return gather_grad(g[pos], args[pos], maps[pos])


defvjp_argnums("meshgrid", _meshgrid, reads=())


def _diff(g, ans, a, n=1, axis=-1, prepend=None, append=None):
    """diff is linear: its transpose is a backward difference with zero ends, once per order."""
    np = _np()
    nd = _ndim(a)
    ax = _axis(axis, nd)
    for _ in range(n):
        before = [(0, 0)] * nd
        after = [(0, 0)] * nd
        before[ax], after[ax] = (1, 0), (0, 1)
        g = np.pad(g, before) - np.pad(g, after)
    if prepend is not None or append is not None:
        k = 0 if prepend is None else (shape_of(prepend)[ax] if _ndim(prepend) else 1)
        g = _slice(g, ax, k, k + shape_of(a)[ax])
    return g


defvjp("diff", _diff, reads=())


def _gradient_bands(n, spacing, edge_order):
    """``numpy.gradient`` along one axis is a banded matrix ``D`` (offsets -2..2): ``bands[i, r]`` is
    ``D[i, j]`` for the one ``j`` within reach of ``i`` with ``j % 5 == r``, found by differentiating 5 probes."""
    probes = (onp.arange(n)[:, None] % 5 == onp.arange(5)).astype(float)
    return onp.gradient(probes, *spacing, axis=0, edge_order=edge_order)


def _gradient_transpose(g, n, ax, spacing, edge_order):
    """``D^T g`` along axis ``ax``: ``out[j] = sum_d D[j - d, j] g[j - d]``, as shifted slices of a padded g."""
    np = _np()
    bands = _gradient_bands(n, spacing, edge_order)
    nd = _ndim(g)
    widths = [(0, 0)] * nd
    widths[ax] = (2, 2)
    gp = np.pad(g, widths)
    j = onp.arange(n)
    out = None
    for d in range(-2, 3):
        i = j - d
        valid = (i >= 0) & (i < n)
        coef = onp.where(valid, bands[onp.clip(i, 0, n - 1), j % 5], 0.0)
        if not coef.any():
            continue
        term = _slice(gp, ax, 2 - d, 2 - d + n) * coef.reshape((n,) + (1,) * (nd - 1 - ax))
        out = term if out is None else out + term
    return out if out is not None else g * 0.0


def _gradient(pos, g, ans, args, kwargs):
    """``gradient`` is linear in ``f``: the sum over the differentiated axes of each axis' transposed stencil."""
    if pos != 0:
        raise NotImplementedError(f"gradient: no gradient with respect to argument {pos!r} (only for f)")
    f = args[0]
    shape = shape_of(f)
    axis = kwargs.get("axis")
    axes = list(range(len(shape))) if axis is None else [axis] if onp.ndim(axis) == 0 else list(axis)
    axes = [_axis(int(a), len(shape)) for a in axes]
    varargs = [host(v) for v in args[1:]]
    if len(varargs) == 0:
        spacings = [()] * len(axes)
    elif len(varargs) == 1 and onp.ndim(varargs[0]) == 0:
        spacings = [(varargs[0],)] * len(axes)
    else:
        spacings = [(v,) for v in varargs]
    gs = [g] if len(axes) == 1 else list(g)
    edge_order = kwargs.get("edge_order", 1)
    out = None
    for gi, ax, sp in zip(gs, axes, spacings):
        term = _gradient_transpose(gi, shape[ax], ax, sp, edge_order)
        out = term if out is None else out + term
    return out


defvjp_argnums("gradient", _gradient)
