"""Finite-difference checks of gradient rules, first and second order, in float64.

API (shared by every ``tests/gradients/cases_*.py`` family):

``check_grads(fun, args, kwargs=None, argnums=(0,), order=2, rng=None, eps=1e-6, rtol=1e-5, atol=1e-7)``
    ``fun`` is called as ``fun(*args, **kwargs)``; ``args`` are plain NumPy values (arrays, Python scalars,
    tuples ...): NumPy arrays are handed to ``fun`` as ``imperdl.numpy.array`` copies. For each ``i`` in
    ``argnums`` (ints: positional arguments, which must be float or complex), the check is done on
    ``x -> fun(..., x, ...)`` at ``x = args[i]``:

    - first order: with random ``u`` (shaped like the output; for tuple/list outputs one per element, zeros for
      integer outputs) and a random direction ``v`` (shaped like ``x``), ``<vjp(u), v>`` must equal
      ``<u, (f(x + eps v) - f(x - eps v)) / (2 eps)>``, where ``vjp`` comes from
      ``imperdl.core.make_vjp(f, 0)(x)`` and ``<a, b> = real(sum(a * b))`` (bilinear, no conjugate: with HIPS
      autograd's complex convention, the vjp of a holomorphic ``f`` is ``g * f'(x)``);
    - second order (``order >= 2``): the same check on ``h(x) = <vjp_u(x), w>`` for a random ``w``, where
      ``vjp_u(x)`` is computed inside an outer ``make_vjp``: the tape then differentiates the rule's own
      recorded operations.

    It also asserts that a gradient has its argument's shape and dtype. Failures raise ``AssertionError``
    naming the argument, the order and both numbers.

``check_case(name, case, rng)``
    Runs one ``GRAD_CASES`` variant: ``case(rng)`` returns ``(args, kwargs, argnums)`` or
    ``(args, kwargs, argnums, opts)``; ``opts`` may hold ``fun`` (a callable used instead of the function
    ``name`` resolves to), ``order``, ``eps``, ``rtol``, ``atol``.

``function_for(name)``
    The ``imperdl.numpy`` callable for a registry name: 'exp', 'linalg.inv', 'fft.fft', 'ndarray.astype'
    (method of argument 0), 'ndarray.__getitem__' (``a[key]``), 'ndarray.__setitem__' (returns a copy of ``a``
    with ``key`` set to ``value``; the value being argument 2).

Contract for a family module ``tests/gradients/cases_<family>.py``: ``GRAD_CASES: dict[str, callable | list]``,
registry name -> one or several ``case(rng)`` callables (``rng`` is a ``numpy.random.Generator``) drawing
float64 inputs away from kinks and singularities. ``test_rules.py`` runs each case under the ``prefer_mxnet``
and ``only_numpy`` policies, and asserts that every primitive with a rule of ours has a case.
"""
from __future__ import annotations

import numpy as onp

import imperdl.numpy as inp
from imperdl.core import make_vjp
from imperdl.core.array import Array

__all__ = ["check_grads", "check_case", "function_for"]


# ------------------------------------------------------------------------------------------------ helpers
def _host(x):
    """An imperdl result (Array, tuple of Arrays, scalar) as NumPy values."""
    if type(x) is Array:
        return x.asnumpy()
    if isinstance(x, (tuple, list)):
        return type(x)(*[_host(e) for e in x]) if hasattr(x, "_fields") else type(x)(_host(e) for e in x)
    return onp.asarray(x)


def _device(x):
    """NumPy arrays (also inside lists/tuples) as imperdl Arrays; other values unchanged."""
    if isinstance(x, onp.ndarray):
        return inp.array(x)
    if isinstance(x, (tuple, list)):
        return type(x)(*[_device(e) for e in x]) if hasattr(x, "_fields") else type(x)(_device(e) for e in x)
    return x


def _outputs(y) -> list:
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _inner(a, b) -> float:
    """Bilinear real inner product of NumPy values (sums over tuple elements)."""
    return float(sum(onp.real(onp.sum(onp.asarray(p) * onp.asarray(q))) for p, q in zip(_outputs(a), _outputs(b))))


def _random_like(rng, x):
    x = onp.asarray(x)
    if x.dtype.kind == "c":
        return rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape)
    if x.dtype.kind == "f":
        return rng.standard_normal(x.shape).astype(x.dtype)
    return onp.zeros(x.shape)


def _cotangent(rng, y):
    outs = [onp.asarray(o) for o in _outputs(_host(y))]
    us = [_random_like(rng, o) for o in outs]
    if not isinstance(y, (tuple, list)):
        return us[0], us
    return (type(y)(*us) if hasattr(y, "_fields") else type(y)(us)), us  # (NumPy 2's linalg: namedtuples)


def _close(analytic, numeric, rtol, atol, what):
    scale = max(abs(analytic), abs(numeric), 1.0)
    if not abs(analytic - numeric) <= atol * scale + rtol * max(abs(analytic), abs(numeric)):
        raise AssertionError(f"{what}: tape gives {analytic!r}, finite differences give {numeric!r} "
                             f"(difference {analytic - numeric:.3e})")


def _perturb(x, v, h):
    if isinstance(x, onp.ndarray):
        return x + h * v
    return type(x)(x + h * complex(v) if isinstance(x, complex) else x + h * float(v))


def _check_shape_dtype(grad, x, what):
    gx = _host(grad)
    xs = onp.asarray(x)
    assert gx.shape == xs.shape, f"{what}: gradient shape {gx.shape} for an argument of shape {xs.shape}"
    if isinstance(x, onp.ndarray):
        assert gx.dtype == xs.dtype, f"{what}: gradient dtype {gx.dtype} for an argument of dtype {xs.dtype}"


def _first_order(f, x, rng, eps, rtol, atol, what):
    """One directional check of ``f``'s vjp at ``x`` (``f`` takes and returns imperdl values)."""
    vjp, y = make_vjp(f, 0)(_device(x))
    u_dev, us = _cotangent(rng, y)
    g = vjp(_device(u_dev) if isinstance(u_dev, (tuple, list)) else inp.array(u_dev))
    _check_shape_dtype(g, x, what)
    v = _random_like(rng, x)
    analytic = _inner(_host(g), v)
    yp = _host(f(_device(_perturb(x, v, eps))))
    ym = _host(f(_device(_perturb(x, v, -eps))))
    diff = [(onp.asarray(p, dtype=complex if onp.iscomplexobj(p) else float) - m) / (2 * eps)
            for p, m in zip(_outputs(yp), _outputs(ym))]
    numeric = _inner(us, diff)
    _close(analytic, numeric, rtol, atol, what)


def check_grads(fun, args, kwargs=None, argnums=(0,), order=2, rng=None, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Check ``fun``'s gradients w.r.t. ``args[i]`` for ``i`` in ``argnums`` (see the module docstring)."""
    kwargs = dict(kwargs or {})
    rng = rng if rng is not None else onp.random.default_rng(0)
    if isinstance(argnums, int):
        argnums = (argnums,)
    for i in argnums:
        x0 = args[i]

        def f(x, i=i):
            full = [_device(a) for a in args]
            full[i] = x
            return fun(*full, **{k: _device(v) for k, v in kwargs.items()})

        _first_order(f, x0, rng, eps, rtol, atol, f"argument {i}, first order")
        if order >= 2:
            ref = f(_device(x0))
            u = _device(_cotangent(rng, ref)[0])
            w = _random_like(rng, x0)

            def h(x, f=f, u=u, w=w):
                vjp, _ = make_vjp(f, 0)(x)
                gx = vjp(u)
                return inp.sum(inp.real(gx * inp.array(w)))

            _first_order(h, x0, rng, eps, rtol, atol, f"argument {i}, second order")


def function_for(name: str):
    """The ``imperdl.numpy`` callable that registry name ``name`` denotes."""
    if name == "ndarray.__getitem__":
        return lambda a, key: a[key]
    if name == "ndarray.__setitem__":
        def setitem(a, key, value):
            b = a.copy()
            b[key] = value
            return b

        return setitem
    if name.startswith("ndarray."):
        method = name.split(".", 1)[1]
        return lambda a, *rest, **kw: getattr(a, method)(*rest, **kw)
    obj = inp
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def check_case(name: str, case, rng) -> None:
    """Draw one variant of ``GRAD_CASES[name]`` and check it to the order it asks (default 2)."""
    drawn = case(rng)
    args, kwargs, argnums = drawn[:3]
    opts = dict(drawn[3]) if len(drawn) > 3 else {}
    fun = opts.pop("fun", None) or function_for(name)
    check_grads(fun, tuple(args), kwargs, argnums, rng=rng, **opts)
