"""MXNet implementations: ``numpy.random`` samplers, giving NumPy's float64 / int64 results.

MinPy sent ``np.random.normal(mu_array, sigma_array, size)`` to an MXNet operator that took scalars only and
crashed; here array parameters broadcast against ``size`` exactly as in NumPy. What the table guards (measured
on mxnet 1.9.1):
- MXNet samples float32 unless told otherwise, and several samplers (exponential, gumbel, logistic, weibull,
  pareto, power, rayleigh) have no ``dtype`` at all: those are built here from float64 uniform/gamma draws
  with NumPy's own transforms, so results are float64 like NumPy's;
- MXNet does not check what NumPy checks and returns silently wrong results instead (``size`` smaller than the
  parameters' broadcast shape, ``choice`` with ``p`` of the wrong length or not summing to 1, ``choice(-1)``),
  or kills the process (``randint(5, 5)`` and ``choice(0, ...)`` raise SIGFPE): every impl validates its
  arguments first with NumPy's rules and raises NumPy's exception type;
- a call with ``size=None`` and scalar parameters returns a Python scalar in NumPy: declined (one host draw is
  cheaper than an MXNet call anyway); ``randint``'s default dtype is int64 (NumPy's ``int``);
- MXNet's ``chisquare`` uses the wrong scale and its ``multinomial`` repeats one draw: neither is used;
  ``shuffle``/``permutation`` stay on NumPy (in-place, and absent from ``mx.np``).
Parameter constraints are checked on host copies of the parameters (small next to the samples).
"""
from __future__ import annotations

import math
import operator

import numpy

from ... import context as _context
from ..array import Array
from ..backends import mxnet_backend as B
from ..registry import register_mxnet

_ARRAYS = (Array, numpy.ndarray)
_PARAM_DTYPES = frozenset(numpy.dtype(t) for t in ("float32", "float64", "int32", "int64"))
_F64 = "float64"
_TINY = float(numpy.finfo(numpy.float64).tiny)
_REQUIRED = object()


# ------------------------------------------------------------------------------------------ predicates
def _is_int(v) -> bool:
    return type(v) is int or isinstance(v, numpy.integer)


def _param_ok(v) -> bool:
    """A Python int/float, or an array MXNet samples from exactly."""
    if type(v) in (int, float):
        return True
    return type(v) in _ARRAYS and v.dtype in _PARAM_DTYPES


def _size_ok(size) -> bool:
    return size is None or _is_int(size) or (type(size) is tuple and all(_is_int(e) for e in size))


def _bind(spec, args, kwargs):
    """NumPy's argument binding for a sampler ``f(*spec params, size=None)``: (param values, size)."""
    names = [n for n, _ in spec] + ["size"]
    if len(args) > len(names):
        raise TypeError("too many arguments")
    vals = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names or k in vals:
            raise TypeError(f"unexpected argument {k!r}")
        vals[k] = v
    params = [vals.get(n, d) for n, d in spec]
    if any(p is _REQUIRED for p in params):
        raise TypeError("missing argument")
    return params, vals.get("size")


def _sampler_pred(spec):
    def pred(*args, **kwargs):
        params, size = _bind(spec, args, kwargs)
        if not (all(_param_ok(p) for p in params) and _size_ok(size)):
            return False
        # size=None: NumPy returns a Python scalar unless some parameter is an array of rank >= 1
        return size is not None or any(type(p) in _ARRAYS and p.ndim >= 1 for p in params)

    return pred


# ------------------------------------------------------------------------------------------ validation
def _host(v):
    return v.asnumpy() if type(v) is B.ndarray else numpy.asarray(v, dtype=numpy.float64)


def _check_range(params) -> None:
    """uniform: NumPy refuses a range ``high - low`` that is not finite (inf or NaN bounds), even for no draws."""
    with numpy.errstate(invalid="ignore", over="ignore"):
        if not numpy.all(numpy.isfinite(_host(params[1]) - _host(params[0]))):
            raise OverflowError("Range exceeds valid bounds")


def _check(name, v, cons):
    """NumPy's constraint checks (``_common.pyx``): 'nonneg' rejects negative and -0.0, 'pos' rejects <= 0,
    'range' is uniform's (see ``_check_range``)."""
    if cons == "range":
        return _check_range(v)
    h = _host(v)
    with numpy.errstate(invalid="ignore"):
        if cons == "nonneg" and numpy.any(~numpy.isnan(h) & numpy.signbit(h)):
            raise ValueError(f"{name} < 0")
        if cons == "pos" and numpy.any(h <= 0):
            raise ValueError(f"{name} <= 0")


def _shape_of(v):
    return tuple(v.shape) if type(v) is B.ndarray else ()


def _out_shape(params, size):
    """NumPy's output shape: ``size`` when given (parameters must broadcast to it), else the broadcast shape."""
    pshape = numpy.broadcast_shapes(*[_shape_of(p) for p in params])
    if size is None:
        return pshape
    shape = (operator.index(size),) if _is_int(size) else tuple(operator.index(e) for e in size)
    if any(s < 0 for s in shape):
        raise ValueError("negative dimensions are not allowed")
    if numpy.broadcast_shapes(shape, pshape) != shape:
        raise ValueError(f"shape mismatch: parameters of shape {pshape} cannot be broadcast to size {shape}")
    return shape


def _ctx():
    return _context.current_context().as_mxnet()


def _f64(v):
    """A parameter MXNet takes exactly: a float64 array, or a Python float that float32 represents exactly
    (MXNet parses scalar sampler parameters as float32 and rejects nan/inf); anything else becomes a 0-d array."""
    if type(v) is B.ndarray:
        return v if v.dtype == numpy.float64 else v.astype(_F64)
    v = float(v)
    if math.isfinite(v) and float(numpy.float32(v)) == v:
        return v
    return B._mnp.array(v, dtype=_F64, ctx=_ctx())


# ------------------------------------------------------------------------------------------ base draws
def _uniform01(shape, open_low=False):
    """float64 uniform draws on [0, 1), or on (0, 1) for transforms that take a logarithm of them."""
    return B._mnp.random.uniform(_TINY if open_low else 0.0, 1.0, size=shape, dtype=_F64, ctx=_ctx())


def _std_exp(shape):
    """Standard exponential draws, -log(1 - U) as in NumPy."""
    return -B._mnp.log1p(-_uniform01(shape))


def _gamma1(shape_param, out):
    """Gamma(shape, 1) draws; NumPy allows shape 0 (draws 0), MXNet rejects shape <= 0."""
    m = B._mnp
    k = _f64(shape_param)
    if type(k) is float:
        if k == 0:
            return m.zeros(out, dtype=_F64, ctx=_ctx())
        return m.random.gamma(k, 1.0, size=out, dtype=_F64, ctx=_ctx())
    ok = k > 0
    g = m.random.gamma(m.where(ok, k, 1.0), 1.0, size=out, dtype=_F64, ctx=_ctx())
    return m.where(ok, g, k * 0.0)  # shape 0 -> 0, nan -> nan (k * 0 keeps NaN)


# ------------------------------------------------------------------------------------------ samplers
def _normal(p, out):
    return B._mnp.random.normal(_f64(p[0]), _f64(p[1]), size=out, dtype=_F64, ctx=_ctx())


def _uniform(p, out):
    return B._mnp.random.uniform(_f64(p[0]), _f64(p[1]), size=out, dtype=_F64, ctx=_ctx())


def _lognormal(p, out):
    return B._mnp.exp(_normal(p, out))


def _exponential(p, out):
    return _std_exp(out) * _f64(p[0])


def _standard_exponential(p, out):
    return _std_exp(out)


def _gamma(p, out):
    return _gamma1(p[0], out) * _f64(p[1])


def _standard_gamma(p, out):
    return _gamma1(p[0], out)


def _beta(p, out):
    x, y = _gamma1(p[0], out), _gamma1(p[1], out)
    return x / (x + y)


def _chisquare(p, out):
    return _gamma1(_f64(p[0]) / 2.0, out) * 2.0


def _gumbel(p, out):
    m = B._mnp
    return _f64(p[0]) - _f64(p[1]) * m.log(-m.log1p(-_uniform01(out, open_low=True)))


def _logistic(p, out):
    m = B._mnp
    u = _uniform01(out, open_low=True)
    return _f64(p[0]) + _f64(p[1]) * m.log(u / (1.0 - u))


def _laplace(p, out):
    m = B._mnp
    loc, scale = _f64(p[0]), _f64(p[1])
    u = _uniform01(out, open_low=True)
    return m.where(u >= 0.5, loc - scale * m.log(2.0 - u - u), loc + scale * m.log(u + u))


def _rayleigh(p, out):
    return B._mnp.sqrt(2.0 * _std_exp(out)) * _f64(p[0])


def _weibull(p, out):
    m = B._mnp
    a = _f64(p[0])
    if type(a) is float:
        return m.zeros(out, dtype=_F64, ctx=_ctx()) if a == 0 else _std_exp(out) ** (1.0 / a)
    safe = m.where(a == 0, 1.0, a)
    return m.where(a == 0, 0.0, _std_exp(out) ** (1.0 / safe))


def _pareto(p, out):
    return B._mnp.expm1(_std_exp(out) / _f64(p[0]))


def _power(p, out):
    return (-B._mnp.expm1(-_std_exp(out))) ** (1.0 / _f64(p[0]))


def _sampler(spec, draw, constraints=()):
    """impl(*args, **kwargs) for ``draw``: bind like NumPy, check constraints, compute the output shape, draw."""

    def impl(*args, **kwargs):
        params, size = _bind(spec, args, kwargs)
        for i, cons in constraints:
            _check(None if i is None else spec[i][0], params if i is None else params[i], cons)
        out = _out_shape(params, size)
        if 0 in out:  # MXNet's gamma segfaults on an empty output with array parameters
            return B._mnp.zeros(out, dtype=_F64, ctx=_ctx())
        res = draw(params, out)
        if tuple(res.shape) != out:  # scalar parameters and size=() give a 0-d result
            res = B._mnp.broadcast_to(res, out).copy()
        return res

    impl.__name__ = getattr(draw, "__name__", "sampler").lstrip("_")
    return impl


# ------------------------------------------------------------------------------ rand, randn, randint, choice
def _dims_pred(*dims, **kwargs):
    return not kwargs and len(dims) > 0 and all(_is_int(d) for d in dims)


def _rand(*dims):
    return _sampler((), lambda p, out: _uniform01(out))(size=tuple(dims))


def _randn(*dims):
    return _sampler((), lambda p, out: _normal((0.0, 1.0), out))(size=tuple(dims))


_RANDINT_DTYPES = frozenset((numpy.dtype("int32"), numpy.dtype("int64")))


def _randint_pred(low, high=None, size=None, dtype=int, **kwargs):
    return (
        not kwargs and _is_int(low) and (high is None or _is_int(high)) and size is not None and _size_ok(size)
        and numpy.dtype(dtype) in _RANDINT_DTYPES
    )


def _randint(low, high=None, size=None, dtype=int):
    dt = numpy.dtype(dtype)
    out = _out_shape((), size)
    if 0 in out:  # NumPy checks nothing when no sample is drawn
        return B._mnp.zeros(out, dtype=dt.name, ctx=_ctx())
    low, high = (0, int(low)) if high is None else (int(low), int(high))
    info = numpy.iinfo(dt)
    if low < info.min:
        raise ValueError(f"low is out of bounds for {dt}")
    if high > info.max + 1:
        raise ValueError(f"high is out of bounds for {dt}")
    if low >= high:  # MXNet dies with SIGFPE here
        raise ValueError("low >= high")
    return B._mnp.random.randint(low, high, size=out, dtype=dt.name, ctx=_ctx())


_CHOICE_A = frozenset(numpy.dtype(t) for t in ("float32", "float64", "int32", "int64"))
_P_DTYPES = frozenset((numpy.dtype("float32"), numpy.dtype("float64")))


def _choice_pred(a, size=None, replace=True, p=None, **kwargs):
    a_ok = (_is_int(a) and type(a) is not bool) or (
        type(a) in _ARRAYS and a.dtype in _CHOICE_A and a.ndim == 1 and a.size != 0
    )
    p_ok = p is None or (type(p) in _ARRAYS and p.dtype in _P_DTYPES and p.ndim == 1)
    return not kwargs and a_ok and p_ok and size is not None and _size_ok(size) and type(replace) is bool


def _choice(a, size=None, replace=True, p=None):
    m = B._mnp
    out = _out_shape((), size)
    n_out = math.prod(out)
    pop = int(a) if _is_int(a) else a.shape[0]
    if p is not None:
        hp = p.asnumpy()
        atol = max(numpy.sqrt(numpy.finfo(numpy.float64).eps), numpy.sqrt(numpy.finfo(hp.dtype).eps))
        hp = hp.astype(numpy.float64)
        if hp.shape[0] != pop:
            raise ValueError("a and p must have same size")
        if numpy.isnan(hp).any():
            raise ValueError("probabilities contain NaN")
        if (hp < 0).any():
            raise ValueError("probabilities are not non-negative")
        if abs(math.fsum(hp) - 1.0) > atol:
            raise ValueError("probabilities do not sum to 1")
        if not replace and numpy.count_nonzero(hp > 0) < n_out:
            raise ValueError("Fewer non-zero entries in p than size")
        if p.dtype != numpy.float64:
            p = p.astype(_F64)
    if pop <= 0 and n_out:  # (after p's checks, which NumPy makes first)
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_out > pop:  # (also for no samples from a negative population, as NumPy checks)
        raise ValueError("Cannot take a larger sample than population when 'replace=False'")
    if pop <= 0:
        return m.zeros(out, dtype="int64", ctx=_ctx())  # MXNet dies with SIGFPE on an empty population
    flat = (n_out,) if not replace and len(out) != 1 else out  # MXNet's without-replacement takes 1-D sizes
    if p is None:
        idx = m.random.choice(pop, size=flat, replace=replace, ctx=_ctx())
    else:
        idx = m.random.choice(pop, size=flat, replace=replace, p=p, ctx=_ctx())
    if flat != out:
        idx = idx.reshape(out)
    return idx if _is_int(a) else m.take(a, idx)


# ------------------------------------------------------------------------------------------ the table
_LOC_SCALE = (("loc", 0.0), ("scale", 1.0))
_SCALE = (("scale", 1.0),)
_A = (("a", _REQUIRED),)
_NONE = ()

# name, parameter spec (NumPy's names and defaults), draw, constraints [(param index, 'nonneg' | 'pos'), or
# (None, 'range') on all the parameters]
_SAMPLERS = [
    ("normal", _LOC_SCALE, _normal, [(1, "nonneg")]),
    ("uniform", (("low", 0.0), ("high", 1.0)), _uniform, [(None, "range")]),
    ("standard_normal", _NONE, lambda p, out: _normal((0.0, 1.0), out), []),
    ("random_sample", _NONE, lambda p, out: _uniform01(out), []),
    ("random", _NONE, lambda p, out: _uniform01(out), []),
    ("ranf", _NONE, lambda p, out: _uniform01(out), []),
    ("sample", _NONE, lambda p, out: _uniform01(out), []),
    ("lognormal", (("mean", 0.0), ("sigma", 1.0)), _lognormal, [(1, "nonneg")]),
    ("exponential", _SCALE, _exponential, [(0, "nonneg")]),
    ("standard_exponential", _NONE, _standard_exponential, []),
    ("gamma", (("shape", _REQUIRED), ("scale", 1.0)), _gamma, [(0, "nonneg"), (1, "nonneg")]),
    ("standard_gamma", (("shape", _REQUIRED),), _standard_gamma, [(0, "nonneg")]),
    ("beta", (("a", _REQUIRED), ("b", _REQUIRED)), _beta, [(0, "pos"), (1, "pos")]),
    ("chisquare", (("df", _REQUIRED),), _chisquare, [(0, "pos")]),
    ("gumbel", _LOC_SCALE, _gumbel, [(1, "nonneg")]),
    ("logistic", _LOC_SCALE, _logistic, [(1, "nonneg")]),
    ("laplace", _LOC_SCALE, _laplace, [(1, "nonneg")]),
    ("rayleigh", _SCALE, _rayleigh, [(0, "nonneg")]),
    ("weibull", _A, _weibull, [(0, "nonneg")]),
    ("pareto", _A, _pareto, [(0, "pos")]),
    ("power", _A, _power, [(0, "pos")]),
]

for _name, _spec, _draw, _cons in _SAMPLERS:
    register_mxnet("random." + _name, _sampler(_spec, _draw, _cons), _sampler_pred(_spec))

register_mxnet("random.rand", _rand, _dims_pred)
register_mxnet("random.randn", _randn, _dims_pred)
register_mxnet("random.randint", _randint, _randint_pred)
register_mxnet("random.choice", _choice, _choice_pred)
