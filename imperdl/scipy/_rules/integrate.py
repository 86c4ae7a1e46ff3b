"""``scipy.integrate.odeint`` and its gradient by the adjoint method.

The forward pass is SciPy's ``odeint`` with the user's ``func`` (written with ``imperdl.numpy``) called on host
values. The backward pass integrates the adjoint system backwards between consecutive output times, again with
``odeint``: the state is ``[y, a, a_t, a_args]`` with ``y' = f``, ``a' = -a df/dy``, ``a_t' = -a df/dt`` and
``a_args' = -a df/dargs``, the vector-Jacobian products of ``func`` coming from imperdl's own tape. At each output
time the cotangent of that output joins ``a``, and moving that time contributes ``g_i . f(y_i, t_i)``. This gives
first derivatives; the adjoint runs on the host, so a second derivative through it raises ``NoGradientError``.
"""
from __future__ import annotations

import numpy as onp
import scipy.integrate

from ...core.array import Array
from ...core.tape import NoGradientError, state
from .._registry import register
from . import TABLE


def _host_func(func):
    """``func`` as SciPy calls it: host values in, a host vector out."""

    def f(y, t, *args):
        return onp.asarray(func(y, t, *args), dtype=float)

    return f


def _odeint(func, y0, t, args=(), **kwargs):
    return scipy.integrate.odeint(_host_func(func), y0, t, args=tuple(args), **kwargs)


def _host(x):
    return x._get(0) if type(x) is Array else onp.asarray(x)


def _refuse_higher_order(*values) -> None:
    stack = list(values)
    while stack:
        x = stack.pop()
        if type(x) in (list, tuple):
            stack.extend(x)
        elif type(x) is Array and x._node is not None and any(t in x._node for t in state.stack):
            raise NoGradientError("imperdl.scipy.integrate.odeint: its gradient is integrated on the host by the "
                                  "adjoint method, so it cannot be differentiated again (higher order)")


def _adjoint(func, yt, g, t, args, kwargs):
    """Gradients for (y0, t, args) of ``sum(g * odeint(func, y0, t, args))``, all host values."""
    from ...core.autograd import make_vjp

    n_t, dim = yt.shape
    shapes = [onp.shape(a) for a in args]
    sizes = [int(onp.prod(s, dtype=int)) for s in shapes]

    def unflatten(flat):
        out, k = [], 0
        for shape, size in zip(shapes, sizes):
            out.append(flat[k:k + size].reshape(shape))
            k += size
        return out

    def jvps(y, s, a):
        """(f, a df/dy, a df/dt, a df/dargs) at y, time s."""
        vjp, fy = make_vjp(lambda y_, s_, p_: func(y_, s_, *p_), argnum=(0, 1, 2))(
            Array(onp.array(y, dtype=float)), Array(onp.asarray(s, dtype=float)),
            tuple(Array(onp.array(p, dtype=float)) for p in args))
        gy, gs, gp = vjp(Array(onp.asarray(a, dtype=float)))
        flat_p = onp.concatenate([onp.ravel(_host(x)) for x in gp]) if gp else onp.zeros(0)
        return _host(fy), _host(gy), float(_host(gs)), flat_p

    def augmented(state_, s):
        y, a = state_[:dim], state_[dim:2 * dim]
        fy, gy, gs, gp = jvps(y, s, a)
        return onp.concatenate([fy, -gy, [-gs], -gp])

    a = g[-1].copy()
    a_t0, a_p = 0.0, onp.zeros(sum(sizes))
    t_grads = onp.zeros(n_t)
    for i in range(n_t - 1, 0, -1):
        moved = float(onp.dot(_host(func(Array(yt[i]), Array(onp.asarray(t[i], dtype=float)),
                                         *[Array(onp.asarray(p, dtype=float)) for p in args])), g[i]))
        t_grads[i] = moved
        a_t0 -= moved
        start = onp.concatenate([yt[i], a, [a_t0], a_p])
        end = scipy.integrate.odeint(augmented, start, onp.array([t[i], t[i - 1]]), **kwargs)[1]
        a, a_t0, a_p = end[dim:2 * dim] + g[i - 1], end[2 * dim], end[2 * dim + 1:]
    t_grads[0] = a_t0
    return a, t_grads, unflatten(a_p)


def _vjp(pos, g, ans, args, kwargs):
    func, y0, t = args[:3]
    fargs = tuple(args[3]) if len(args) > 3 else ()
    if type(ans) is tuple:
        raise NoGradientError("imperdl.scipy.integrate.odeint: no gradient with full_output=True")
    _refuse_higher_order(g, ans, args)
    key = (id(g), id(ans))
    if _vjp.cache[0] != key:
        grads = _adjoint(func, _host(ans), _host(g), _host(t), [_host(p) for p in fargs], kwargs)
        _vjp.cache = (key, grads, (g, ans))  # holds g and ans so their ids stay theirs
    gy0, gt, gp = _vjp.cache[1]
    if pos == 1:
        return Array(gy0.reshape(onp.shape(_host(y0))))
    if pos == 2:
        return Array(gt)
    if type(pos) is tuple and pos[0] == 3:
        return Array(onp.asarray(gp[pos[1]], dtype=float))
    raise NoGradientError(f"imperdl.scipy.integrate.odeint: no gradient with respect to argument {pos!r}")


_vjp.cache = (None, None, None)
register("integrate.odeint", _odeint, _vjp)
TABLE["integrate.odeint"] = ("y0", "t", "args")
