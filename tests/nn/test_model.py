"""ModelBase: declaring parameters, initialisation through the Solver, save/load without pickle."""
from __future__ import annotations

import math

import numpy as onp
import pytest

import imperdl.numpy as np
from imperdl.core import Array
from imperdl.nn import ModelBase, NDArrayIter, Solver


class Affine(ModelBase):
    def __init__(self):
        super().__init__()
        self.add_param("w", (3, 2)).add_param("b", 2, init_rule="constant", init_config={"value": 0.5})
        self.add_aux_param("running_mean", onp.zeros(2))

    def forward(self, X, mode):
        return np.dot(X, self.params["w"]) + self.params["b"]

    def loss(self, predict, y):
        return np.mean((predict - y) ** 2)


def test_declarations():
    m = Affine()
    assert m.params == {}
    assert m.param_configs == {"w": {"shape": (3, 2)},
                               "b": {"shape": (2,), "init_rule": "constant", "init_config": {"value": 0.5}}}
    m.add_params({"c": (4,), "d": {"shape": [2, 2], "init_rule": "gaussian"}})
    assert m.param_configs["c"] == {"shape": (4,)}
    assert m.param_configs["d"] == {"shape": (2, 2), "init_rule": "gaussian"}
    assert list(m.aux_params) == ["running_mean"]


def test_declaration_errors():
    m = Affine()
    with pytest.raises(ValueError, match="already an auxiliary parameter"):
        m.add_param("running_mean", (2,))
    with pytest.raises(ValueError, match="already a trained parameter"):
        m.add_aux_param("w", 0)
    with pytest.raises(ValueError, match="has no 'shape'"):
        m.add_params({"e": {"init_rule": "xavier"}})
    with pytest.raises(TypeError, match="shape must be an int or a tuple"):
        m.add_param("f", "big")
    with pytest.raises(ValueError, match="negative dimension"):
        m.add_param("g", (2, -1))


def test_forward_and_loss_are_abstract():
    m = ModelBase()
    with pytest.raises(NotImplementedError, match="ModelBase must implement forward"):
        m.forward(onp.zeros(1), "train")
    with pytest.raises(NotImplementedError, match="loss"):
        m.loss(onp.zeros(1), onp.zeros(1))


def test_solver_init_uses_its_rule_and_the_per_parameter_override():
    m = Affine()
    m.add_param("g", (500,), init_config={"stdvar": 0.5})  # config only: merged over the Solver's
    it = NDArrayIter(onp.zeros((4, 3)), onp.zeros((4, 2)), batch_size=2)
    solver = Solver(m, it, it, init_rule="gaussian", init_config={"stdvar": 1e-3, "mu": 2.0}, verbose=False)
    solver.init()
    assert type(m.params["w"]) is Array and m.params["w"].shape == (3, 2) and m.params["w"].dtype == onp.float32
    w = m.params["w"].asnumpy()
    assert onp.all(onp.abs(w - 2.0) < 0.01)  # gaussian around mu=2 with the Solver's tiny stdvar
    onp.testing.assert_array_equal(m.params["b"].asnumpy(), [0.5, 0.5])  # its own rule wins
    g = m.params["g"].asnumpy()
    assert abs(g.mean() - 2.0) < 0.1 and 0.4 < g.std() < 0.6


def test_save_and_load_round_trip(tmp_path):
    m = Affine()
    m.params = {"w": Array(onp.arange(6.0).reshape(3, 2)), "b": Array(onp.array([1.0, 2.0], dtype=onp.float32))}
    m.aux_params["running_mean"] = Array(onp.array([0.25, 0.75]))
    m.save(tmp_path / "m.npz")
    other = Affine()
    assert other.load(tmp_path / "m.npz") is other
    onp.testing.assert_array_equal(other.params["w"].asnumpy(), onp.arange(6.0).reshape(3, 2))
    assert other.params["b"].dtype == onp.float32
    onp.testing.assert_array_equal(other.aux_params["running_mean"].asnumpy(), [0.25, 0.75])
    other.params["w"][0, 0] = 9.0  # loaded arrays are the model's own, writable
    assert m.params["w"][0, 0] == 0.0


def test_load_checks_names_and_shapes(tmp_path):
    m = Affine()
    m.params = {"w": Array(onp.zeros((2, 2))), "b": Array(onp.zeros(2))}
    m.save(tmp_path / "bad_shape.npz")
    with pytest.raises(ValueError, match=r"'w'.*shape \(2, 2\), declared \(3, 2\)"):
        Affine().load(tmp_path / "bad_shape.npz")
    m.params = {"w": Array(onp.zeros((3, 2)))}
    m.save(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match=r"lacks the declared parameter\(s\) \['b'\]"):
        Affine().load(tmp_path / "missing.npz")


def test_load_refuses_pickles_and_junk(tmp_path):
    evil = onp.empty(1, dtype=object)
    evil[0] = {"x": 1}
    onp.savez(tmp_path / "evil.npz", **{"param:w": evil})
    with pytest.raises(ValueError, match="cannot read .*evil.npz"):
        Affine().load(tmp_path / "evil.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.npz"):
        Affine().load(tmp_path / "junk.npz")
    with pytest.raises(FileNotFoundError):
        Affine().load(tmp_path / "nothing.npz")


def test_a_modelbase_trains_through_forward_and_loss():
    rs = onp.random.RandomState(0)
    X = rs.randn(64, 3)
    y = X.dot(onp.array([[1.0, -1.0], [2.0, 0.0], [0.0, 3.0]])) + 0.5
    m = Affine()
    it = NDArrayIter(X, y, batch_size=16, shuffle=True, seed=0)
    solver = Solver(m, it, it, init_config={"dtype": "float64"}, update_rule="adam",
                    optim_config={"learning_rate": 0.1}, num_epochs=30, verbose=False)
    solver.init()
    solver.train()
    assert solver.loss_history[-1] < 1e-3
    assert all(math.isnan(a) for a in solver.val_acc_history), "no accuracy for a regression"
    onp.testing.assert_allclose(m.params["b"].asnumpy(), [0.5, 0.5], atol=0.05)
