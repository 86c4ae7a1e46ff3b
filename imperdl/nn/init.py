"""Parameter initialization rules, under MinPy's ``init_rule`` names.

A rule is ``rule(shape, config) -> Array``: ``shape`` an int or a tuple, ``config`` a dict of the rule's options
(plus 'dtype', default float32). Random rules draw from ``imperdl.numpy.random``, so ``np.random.seed`` makes them
repeatable. A config key the rule does not know raises ValueError: a misspelt 'stdvar' must not silently fall back
to the default scale.

Fans (for ``xavier`` and ``kaiming``): a 1-D shape (n,) has fan_in = fan_out = n; a 2-D shape is (in, out) like the
course's affine weights; a shape of 3 or more dimensions is (out, in, *kernel) like convolution filters, with the
kernel size multiplying both fans.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as onp

import imperdl.numpy as np

__all__ = ["xavier", "kaiming", "he", "gaussian", "uniform", "constant", "custom", "get", "fans"]


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, onp.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _config(name: str, config: dict | None, allowed: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the defaults in ``allowed`` filled in; unknown keys are an error."""
    config = {} if config is None else config
    known = {**allowed, "dtype": "float32"}
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise ValueError(f"init rule {name!r}: unknown config key(s) {unknown}; it accepts {sorted(known)}")
    return {**known, **config}


def fans(shape: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a parameter of this shape (see the module docstring for the layouts)."""
    shape = _shape(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(onp.prod(shape[2:], dtype=onp.int64))
    return shape[1] * receptive, shape[0] * receptive


def xavier(shape: Any, config: dict | None = None):
    """Glorot uniform: U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out))."""
    cfg = _config("xavier", config, {})
    fan_in, fan_out = fans(shape)
    limit = float(onp.sqrt(6.0 / (fan_in + fan_out)))
    return np.random.uniform(-limit, limit, size=_shape(shape)).astype(cfg["dtype"])


def kaiming(shape: Any, config: dict | None = None):
    """He normal: N(0, 2 / fan_in), for layers followed by a ReLU."""
    cfg = _config("kaiming", config, {})
    fan_in, _ = fans(shape)
    std = float(onp.sqrt(2.0 / fan_in))
    return np.random.normal(0.0, std, size=_shape(shape)).astype(cfg["dtype"])


he = kaiming


def gaussian(shape: Any, config: dict | None = None):
    """N(mu, stdvar**2); config 'stdvar' (the standard deviation, default 0.001; MinPy's name) and 'mu' (0)."""
    cfg = _config("gaussian", config, {"stdvar": 0.001, "mu": 0.0})
    return np.random.normal(float(cfg["mu"]), float(cfg["stdvar"]), size=_shape(shape)).astype(cfg["dtype"])


def uniform(shape: Any, config: dict | None = None):
    """U(low, high) with config 'range' = (low, high), default (-0.1, 0.1)."""
    cfg = _config("uniform", config, {"range": (-0.1, 0.1)})
    try:
        low, high = (float(v) for v in cfg["range"])
    except (TypeError, ValueError):
        raise ValueError(f"init rule 'uniform': 'range' must be a (low, high) pair, got {cfg['range']!r}") from None
    return np.random.uniform(low, high, size=_shape(shape)).astype(cfg["dtype"])


def constant(shape: Any, config: dict | None = None):
    """Every entry equal to config 'value' (default 0): biases, batchnorm scales."""
    cfg = _config("constant", config, {"value": 0.0})
    return np.full(_shape(shape), cfg["value"], dtype=cfg["dtype"])


def custom(shape: Any, config: dict | None = None):
    """config 'function': a callable shape -> array-like of that shape (converted to an Array of 'dtype')."""
    cfg = _config("custom", config, {"function": None})
    fn = cfg["function"]
    if not callable(fn):
        raise ValueError(f"init rule 'custom': config 'function' must be a callable shape -> array, got {fn!r}")
    shape = _shape(shape)
    out = np.asarray(fn(shape)).astype(cfg["dtype"])
    if tuple(out.shape) != shape:
        raise ValueError(f"init rule 'custom': the function returned shape {tuple(out.shape)}, expected {shape}")
    return out


_RULES: dict[str, Callable] = {
    "xavier": xavier, "kaiming": kaiming, "he": kaiming, "gaussian": gaussian, "uniform": uniform,
    "constant": constant, "custom": custom,
}


def get(name: str) -> Callable:
    """The rule called ``name`` (a callable passes through, so a Solver can take either)."""
    if callable(name):
        return name
    try:
        return _RULES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown init rule {name!r}; known rules: {sorted(_RULES)}") from None
