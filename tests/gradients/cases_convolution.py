"""Gradient cases for imperdl's own convolution and pooling primitives and the primitives of their gradients.

Second order under prefer_mxnet exercises the rules built from primitives (MXNet's backward serves only first
order), under only_numpy both orders use them.
"""
from __future__ import annotations

import numpy as onp

from imperdl.core import avg_pool2d, conv2d, max_pool2d, relu, sigmoid
from imperdl.core import convolution as C


def _conv(stride, pad, bias=True):
    def case(rng):
        x = rng.standard_normal((2, 3, 6, 5))
        w = rng.standard_normal((4, 3, 3, 2))
        b = rng.standard_normal(4)
        if bias:
            return (x, w, b), {}, (0, 1, 2), {"fun": lambda x, w, b: conv2d(x, w, b, stride=stride, pad=pad)}
        return (x, w), {}, (0, 1), {"fun": lambda x, w: conv2d(x, w, None, stride=stride, pad=pad)}

    return case


def _pool(fn, ph, pw, stride):
    def case(rng):
        x = rng.standard_normal((2, 2, 6, 7))
        return (x,), {}, (0,), {"fun": lambda x: fn(x, ph, pw, stride)}

    return case


def _conv_dx(rng):
    g = rng.standard_normal((2, 4, 3, 3))
    w = rng.standard_normal((4, 3, 3, 3))
    return (g, w), {}, (0, 1), {"fun": lambda g, w: C._conv_dx(g, w, (2, 3, 6, 6), (2, 2), (1, 1))}


def _conv_dw(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    g = rng.standard_normal((2, 4, 3, 3))
    return (x, g), {}, (0, 1), {"fun": lambda x, g: C._conv_dw(x, g, (4, 3, 3, 3), (2, 2), (1, 1))}


def _max_dx(rng):
    g = rng.standard_normal((2, 2, 2, 3))
    x = rng.standard_normal((2, 2, 5, 7))
    return (g, x), {}, (0,), {"fun": lambda g, x: C._max_dx(g, x, 3, 3, (2, 2))}


def _max_sel(rng):
    gx = rng.standard_normal((2, 2, 5, 7))
    x = rng.standard_normal((2, 2, 5, 7))
    return (gx, x), {}, (0,), {"fun": lambda gx, x: C._max_sel(gx, x, 3, 3, (2, 2))}


def _avg_dx(rng):
    g = rng.standard_normal((2, 2, 2, 3))
    return (g,), {}, (0,), {"fun": lambda g: C._avg_dx(g, (2, 2, 5, 7), 3, 3, (2, 2))}


GRAD_CASES = {
    "conv2d": [_conv(1, 1), _conv((2, 1), (0, 1)), _conv(2, 0, bias=False)],
    "max_pool2d": [_pool(max_pool2d, 2, 2, 2), _pool(max_pool2d, 3, 2, (2, 1))],
    "avg_pool2d": [_pool(avg_pool2d, 2, 2, 2), _pool(avg_pool2d, 3, 3, 1)],
    "conv2d_input_grad": _conv_dx,
    "conv2d_weight_grad": _conv_dw,
    "max_pool2d_grad": _max_dx,
    "max_pool2d_select": _max_sel,
    "avg_pool2d_grad": _avg_dx,
}


def _relu(rng):
    x = rng.standard_normal((3, 4))
    x = onp.where(onp.abs(x) < 0.05, 0.5, x)  # away from the kink
    return (x,), {}, (0,), {"fun": relu}


GRAD_CASES["relu"] = _relu


def _sigmoid(rng):
    return (3 * rng.standard_normal((3, 4)),), {}, (0,), {"fun": sigmoid}


GRAD_CASES["sigmoid"] = _sigmoid
