"""Update rules: several steps of every rule against a NumPy reference written here, state kept in config."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
from imperdl.core import Array
from imperdl.nn import optim


@pytest.fixture(params=["prefer_mxnet", "only_numpy"], autouse=True)
def policy(request):
    imperdl.set_global_policy(request.param)
    return request.param


# ------------------------------------------------------------------ NumPy references (state in a plain dict)
def ref_sgd(w, dw, s):
    return w - s["learning_rate"] * dw


def ref_sgd_momentum(w, dw, s):
    s["velocity"] = s["momentum"] * s.get("velocity", 0 * w) - s["learning_rate"] * dw
    return w + s["velocity"]


def ref_nesterov(w, dw, s):
    old = s.get("velocity", 0 * w)
    s["velocity"] = s["momentum"] * old - s["learning_rate"] * dw
    # look-ahead form: the same as w_ahead = w + mu*v_new evaluated on the shifted variable
    return w + s["momentum"] * s["momentum"] * old - (1 + s["momentum"]) * s["learning_rate"] * dw


def ref_rmsprop(w, dw, s):
    s["cache"] = s["decay_rate"] * s.get("cache", 0 * w) + (1 - s["decay_rate"]) * dw**2
    return w - s["learning_rate"] * dw / (onp.sqrt(s["cache"]) + s["epsilon"])


def ref_adam(w, dw, s, decay=0.0):
    s["t"] = s.get("t", 0) + 1
    s["m"] = s["beta1"] * s.get("m", 0 * w) + (1 - s["beta1"]) * dw
    s["v"] = s["beta2"] * s.get("v", 0 * w) + (1 - s["beta2"]) * dw**2
    mhat = s["m"] / (1 - s["beta1"] ** s["t"])
    vhat = s["v"] / (1 - s["beta2"] ** s["t"])
    return w - s["learning_rate"] * (mhat / (onp.sqrt(vhat) + s["epsilon"]) + decay * w)


def ref_adamw(w, dw, s):
    return ref_adam(w, dw, s, decay=s["weight_decay"])


DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov": {"learning_rate": 1e-2, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0},
    "adamw": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0, "weight_decay": 1e-2},
}
REFS = {"sgd": ref_sgd, "sgd_momentum": ref_sgd_momentum, "nesterov": ref_nesterov, "rmsprop": ref_rmsprop,
        "adam": ref_adam, "adamw": ref_adamw}
STATE = {"sgd": [], "sgd_momentum": ["velocity"], "nesterov": ["velocity"], "rmsprop": ["cache"],
         "adam": ["m", "v"], "adamw": ["m", "v"]}
HYPER = {"learning_rate": 0.05, "momentum": 0.8, "decay_rate": 0.9, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6,
         "weight_decay": 0.1}


@pytest.mark.parametrize("name", sorted(REFS))
@pytest.mark.parametrize("as_numpy", [False, True])
def test_rule_matches_numpy_reference_over_several_steps(name, as_numpy):
    rule = optim.get(name)
    rs = onp.random.RandomState(0)
    w = rs.randn(4, 5)
    ref_w = w.copy()
    config = {k: v for k, v in HYPER.items() if k in DEFAULTS[name]}
    ref_state = dict(DEFAULTS[name], **config)
    cur = w if as_numpy else Array(w.copy())
    for step in range(6):
        dw = rs.randn(4, 5)
        cur, config = rule(cur, dw if as_numpy else Array(dw), config)
        ref_w = REFS[name](ref_w, dw, ref_state)
        assert type(cur) is Array, "rules return imperdl Arrays whatever they are given"
        onp.testing.assert_allclose(cur.asnumpy(), ref_w, rtol=1e-12, atol=1e-14, err_msg=f"{name} step {step}")
        for key in STATE[name]:
            onp.testing.assert_allclose(onp.asarray(config[key]), ref_state[key], rtol=1e-12, atol=1e-14)
        if "t" in DEFAULTS[name]:
            assert config["t"] == step + 1
        cur = cur.asnumpy() if as_numpy else cur


@pytest.mark.parametrize("name", sorted(REFS))
def test_defaults_filled_into_a_fresh_dict(name):
    w, dw = onp.ones((2, 3)), onp.full((2, 3), 0.5)
    next_w, config = optim.get(name)(w, dw)
    for key, value in DEFAULTS[name].items():
        if key != "t":
            assert config[key] == value, (name, key)
    for key in STATE[name]:
        assert type(config[key]) is Array and config[key].shape == w.shape
    _, other = optim.get(name)(w, dw)
    assert other is not config, "config=None must give each call its own dict"
    assert onp.array_equal(w, onp.ones((2, 3))), "w must not be written in place"


@pytest.mark.parametrize("name", sorted(REFS))
def test_float32_stays_float32(name):
    w = Array(onp.ones((3,), dtype=onp.float32))
    dw = Array(onp.full((3,), 0.25, dtype=onp.float32))
    next_w, config = optim.get(name)(w, dw, {})
    assert next_w.dtype == onp.float32
    for key in STATE[name]:
        assert config[key].dtype == onp.float32


def test_given_config_is_used_and_updated_in_place():
    config = {"learning_rate": 0.5}
    _, out = optim.sgd_momentum(onp.zeros(2), onp.ones(2), config)
    assert out is config and config["momentum"] == 0.9
    onp.testing.assert_allclose(onp.asarray(config["velocity"]), [-0.5, -0.5])


def test_first_adam_step_is_learning_rate_times_sign():
    # with bias correction, step 1 moves every coordinate by ~learning_rate in the direction of -sign(dw)
    w = onp.zeros(3)
    next_w, _ = optim.adam(w, onp.array([2.0, -3.0, 0.5]), {"learning_rate": 0.1})
    onp.testing.assert_allclose(next_w.asnumpy(), [-0.1, 0.1, -0.1], rtol=1e-6)


def test_adamw_decay_is_decoupled_from_the_gradient():
    # zero gradient: adam leaves w alone, adamw still shrinks it by lr * weight_decay * w
    w = onp.full(3, 2.0)
    a, _ = optim.adam(w, onp.zeros(3), {"learning_rate": 0.1})
    b, _ = optim.adamw(w, onp.zeros(3), {"learning_rate": 0.1, "weight_decay": 0.5})
    onp.testing.assert_allclose(a.asnumpy(), w)
    onp.testing.assert_allclose(b.asnumpy(), w - 0.1 * 0.5 * w)


def test_get():
    assert optim.get("adam") is optim.adam
    assert set(optim.RULES) == {"sgd", "sgd_momentum", "nesterov", "rmsprop", "adam", "adamw"}

    def mine(w, dw, config=None):
        return w, config

    assert optim.get(mine) is mine
    with pytest.raises(ValueError, match="unknown update rule 'adagrad'.*sgd"):
        optim.get("adagrad")


def test_bad_config_type():
    with pytest.raises(TypeError, match="config must be a dict"):
        optim.sgd(onp.zeros(2), onp.zeros(2), [0.1])
