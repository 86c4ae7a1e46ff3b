"""First-order update rules with CS231n's signature: ``next_w, config = rule(w, dw, config)``.

``config`` carries the hyper-parameters *and* the rule's state (velocity, moments, step count), exactly where
CS231n course code looks for them, so a notebook may inspect ``config['m']`` after a step. A rule fills missing
hyper-parameters with its defaults in the dict it is given (``config=None`` makes a fresh dict, never a shared
default); the Solver gives every parameter its own deep copy of ``optim_config``.

``w`` and ``dw`` may be imperdl Arrays or NumPy arrays; ``next_w`` and the state arrays are imperdl Arrays (state
starts as ``np.zeros_like(w)``). ``w`` itself is never written in place: callers that hold the old value (the
Solver's last-good parameters) keep it.
"""
from __future__ import annotations

from collections.abc import Callable

import imperdl.numpy as np
from imperdl.core import Array

__all__ = ["sgd", "sgd_momentum", "nesterov", "rmsprop", "adam", "adamw", "get", "RULES"]

Rule = Callable[..., tuple]


def _config(config: dict | None, **defaults) -> dict:
    if config is None:
        config = {}
    elif not isinstance(config, dict):
        raise TypeError(f"optim: config must be a dict or None, got {type(config).__name__}")
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


def _arr(x):
    """NumPy inputs become Arrays (no copy), so every rule returns Arrays whatever it was given."""
    return x if type(x) is Array else np.asarray(x)


def _state(config: dict, key: str, w):
    """The state array ``config[key]``, created as zeros like ``w`` on the first step."""
    s = config.get(key)
    if s is None:
        s = config[key] = np.zeros_like(w)
    return s


def sgd(w, dw, config: dict | None = None) -> tuple:
    """Vanilla stochastic gradient descent: ``w - learning_rate * dw``.

    config: learning_rate (1e-2).
    """
    config = _config(config, learning_rate=1e-2)
    w, dw = _arr(w), _arr(dw)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config: dict | None = None) -> tuple:
    """SGD with momentum: ``v = momentum * v - learning_rate * dw; w + v``.

    config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w).
    """
    config = _config(config, learning_rate=1e-2, momentum=0.9)
    w, dw = _arr(w), _arr(dw)
    v = config["momentum"] * _state(config, "velocity", w) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def nesterov(w, dw, config: dict | None = None) -> tuple:
    """Nesterov momentum in the "look-ahead" form that needs only the gradient at ``w``.

    ``v_new = momentum * v - learning_rate * dw; w - momentum * v + (1 + momentum) * v_new``.
    config: learning_rate (1e-2), momentum (0.9), velocity (zeros like w).
    """
    config = _config(config, learning_rate=1e-2, momentum=0.9)
    w, dw = _arr(w), _arr(dw)
    mu = config["momentum"]
    v_prev = _state(config, "velocity", w)
    v = mu * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return w - mu * v_prev + (1 + mu) * v, config


def rmsprop(w, dw, config: dict | None = None) -> tuple:
    """RMSProp: a running average of squared gradients scales each coordinate's step.

    config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache (zeros like w).
    """
    config = _config(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
    w, dw = _arr(w), _arr(dw)
    rho = config["decay_rate"]
    cache = rho * _state(config, "cache", w) + (1 - rho) * (dw * dw)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def _adam_direction(w, dw, config: dict):
    """Advance Adam's moments in ``config`` and return the bias-corrected step direction."""
    b1, b2 = config["beta1"], config["beta2"]
    t = config["t"] = config["t"] + 1
    m = config["m"] = b1 * _state(config, "m", w) + (1 - b1) * dw
    v = config["v"] = b2 * _state(config, "v", w) + (1 - b2) * (dw * dw)
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return m_hat / (np.sqrt(v_hat) + config["epsilon"])


def adam(w, dw, config: dict | None = None) -> tuple:
    """Adam with bias correction (the step count ``t`` is incremented before use, so the first step has t=1).

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v (zeros like w), t (0).
    """
    config = _config(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)
    w, dw = _arr(w), _arr(dw)
    return w - config["learning_rate"] * _adam_direction(w, dw, config), config


def adamw(w, dw, config: dict | None = None) -> tuple:
    """AdamW: Adam plus weight decay applied to ``w`` directly, not through the gradient (decoupled).

    ``w - learning_rate * (adam_direction + weight_decay * w)``.
    config: as ``adam``, plus weight_decay (1e-2).
    """
    config = _config(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0, weight_decay=1e-2)
    w, dw = _arr(w), _arr(dw)
    direction = _adam_direction(w, dw, config)
    return w - config["learning_rate"] * (direction + config["weight_decay"] * w), config


RULES: dict[str, Rule] = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "nesterov": nesterov,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
}


def get(name: str | Rule) -> Rule:
    """The update rule called ``name`` (a callable is returned unchanged, so users can pass their own rule)."""
    if callable(name):
        return name
    try:
        return RULES[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"optim: unknown update rule {name!r}; expected one of {sorted(RULES)} or a callable"
        ) from None
