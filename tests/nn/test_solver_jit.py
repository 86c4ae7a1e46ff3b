"""Solver(jit=True): the whole step (loss, gradients, update of every parameter and its optimiser state) is one
jitted function, and training gives bit for bit what eager training gives."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Array, grad_and_loss
from imperdl.core.capture import JitError
from imperdl.nn import ModelBase, NDArrayIter, Solver, layers, solver_jit
from imperdl.nn.checkpoint import load_checkpoint
from imperdl.nn.solver import NonFiniteLossError

D, H, C, N = 20, 16, 5, 64


@pytest.fixture
def data():
    rs = onp.random.RandomState(0)
    X = rs.randn(N, D).astype(onp.float32)
    y = rs.randint(0, C, N)
    return {"X_train": X, "y_train": y, "X_val": X[:16], "y_val": y[:16]}


@pytest.fixture
def numpy_policy():
    imperdl.set_global_policy("only_numpy")


def _params(seed: int, shapes: dict) -> dict:
    rs = onp.random.RandomState(seed)
    return {k: Array((rs.randn(*s) * 0.1).astype(onp.float32)) for k, s in shapes.items()}


class TwoLayerNet:
    """CS231n form, loss only (the Solver differentiates it); optional inverted dropout and batch normalization
    whose running statistics live in ``bn_params`` (stored into a dict by the forward pass)."""

    def __init__(self, seed=0, keep=None, bn=False):
        self.params = _params(seed, {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)})
        self.keep, self.bn = keep, bn
        if bn:
            self.params["gamma"] = Array(onp.ones(H, onp.float32))
            self.params["beta"] = Array(onp.zeros(H, onp.float32))
            self.bn_params = [{"mode": "train"}]

    def loss(self, X, y=None):
        p = self.params
        h = np.dot(X, p["W1"]) + p["b1"]
        if self.bn:
            self.bn_params[0]["mode"] = "test" if y is None else "train"
            h = layers.batchnorm(h, p["gamma"], p["beta"], self.bn_params[0])
        h = np.maximum(0, h)
        if y is not None and self.keep is not None:
            h = h * (np.random.rand(*h.shape) < self.keep) / self.keep
        scores = np.dot(h, p["W2"]) + p["b2"]
        return scores if y is None else layers.softmax_loss(scores, y)


class HandWrittenNet(TwoLayerNet):
    """CS231n form with the backward pass written by hand, in-place course idioms included."""

    def loss(self, X, y=None):
        p = self.params
        h = np.maximum(0, np.dot(X, p["W1"]) + p["b1"])
        scores = np.dot(h, p["W2"]) + p["b2"]
        if y is None:
            return scores
        n = X.shape[0]
        e = np.exp(scores - np.max(scores, axis=1, keepdims=True))
        probs = e / np.sum(e, axis=1, keepdims=True)
        loss = -np.mean(np.log(probs[np.arange(n), y]))
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1
        dscores /= n
        grads = {"W2": np.dot(h.T, dscores), "b2": np.sum(dscores, axis=0)}
        dh = np.dot(dscores, p["W2"].T)
        dh[h <= 0] = 0
        grads["W1"], grads["b1"] = np.dot(X.T, dh), np.sum(dh, axis=0)
        return loss, grads


class ConvNet:
    """The course's ThreeLayerConvNet (examples/cs231n ConvolutionalNetworks), tiny: conv - relu - 2x2 max pool -
    affine - relu - affine - softmax, with ``loss(X, y)`` returning ``(loss, grads)`` from ``grad_and_loss``."""

    def __init__(self, seed=0, reg=1e-3):
        self.params = _params(seed, {"W1": (3, 1, 3, 3), "b1": (3,), "W2": (3 * 3 * 3, 8), "b2": (8,),
                                     "W3": (8, C), "b3": (C,)})
        self.reg = reg

    def scores(self, params, X):
        h = layers.conv(X, params["W1"], params["b1"], {"stride": 1, "pad": 1})
        h = layers.max_pool(layers.relu(h), {"pool_height": 2, "pool_width": 2, "stride": 2})
        h = layers.relu(layers.affine(h, params["W2"], params["b2"]))
        return layers.affine(h, params["W3"], params["b3"])

    def loss(self, X, y=None):
        if y is None:
            return self.scores(self.params, X)

        def data_loss(params):
            reg = sum(np.sum(params[k] ** 2) for k in ("W1", "W2", "W3"))
            return layers.softmax_loss(self.scores(params, X), y) + 0.5 * self.reg * reg

        grads, loss = grad_and_loss(data_loss)(self.params)
        return loss, grads


class MinPyNet(ModelBase):
    def __init__(self):
        super().__init__()
        self.add_param("W1", (D, H)).add_param("b1", (H,), init_rule="constant")
        self.add_param("W2", (H, C)).add_param("b2", (C,), init_rule="constant")

    def forward(self, X, mode):
        p = self.params
        return np.dot(np.maximum(0, np.dot(X, p["W1"]) + p["b1"]), p["W2"]) + p["b2"]

    def loss(self, predict, y):
        return layers.softmax_loss(predict, y)


def assert_same(a: Solver, b: Solver) -> None:
    assert a.loss_history == b.loss_history and len(a.loss_history) > 3
    assert a.val_acc_history == b.val_acc_history
    for k in a.model.params:
        onp.testing.assert_array_equal(a.model.params[k].asnumpy(), b.model.params[k].asnumpy(), err_msg=k)
    for k, config in a.optim_configs.items():
        for key, v in config.items():
            onp.testing.assert_array_equal(onp.asarray(v), onp.asarray(b.optim_configs[k][key]), err_msg=(k, key))


def train_both(make, data, **kw) -> tuple[Solver, Solver]:
    out = []
    for jit in (False, True):
        s = Solver(make(), data, verbose=False, seed=3, jit=jit, **kw)
        s.train()
        out.append(s)
    return out[0], out[1]


# ------------------------------------------------------------------ the same numbers as eager
@pytest.mark.parametrize("rule", ["sgd_momentum", "adam"])
def test_two_layer_net_trains_as_eager(data, numpy_policy, rule):
    eager, jitted = train_both(lambda: TwoLayerNet(keep=0.8), data, update_rule=rule, lr_decay=0.5,
                               optim_config={"learning_rate": 1e-2}, batch_size=16, num_epochs=2)
    assert_same(eager, jitted)
    # one trace per learning rate (lr_decay changes it once); the first step(s) ran eagerly. (Under NumPy 2's
    # promotion Adam's update runs outside the jitted step, which then does not see the learning rate.)
    assert jitted.jit_traces == (1 if not jitted._jit.update else 2) and eager.jit_traces == 0
    assert jitted._jit.update is not (rule == "adam" and solver_jit.weak_scalars())


def test_hand_written_backward_trains_as_eager(data, numpy_policy):
    """The model's own gradients, in-place updates of computed arrays included, are captured and replayed with each
    batch's labels."""
    eager, jitted = train_both(HandWrittenNet, data, update_rule="sgd_momentum", batch_size=16, num_epochs=1)
    assert_same(eager, jitted)
    assert jitted._grad_mode == "model" and jitted.jit_traces == 1


def test_course_conv_net_trains_as_eager(numpy_policy):
    rs = onp.random.RandomState(1)
    X = rs.randn(24, 1, 6, 6).astype(onp.float32)
    y = rs.randint(0, C, 24)
    data = {"X_train": X, "y_train": y, "X_val": X[:8], "y_val": y[:8]}
    eager, jitted = train_both(ConvNet, data, update_rule="adam", batch_size=4, num_epochs=1)
    assert_same(eager, jitted)
    assert jitted.jit_traces == 1


def test_batchnorm_running_statistics_come_back_from_the_step(data, numpy_policy):
    """layers.batchnorm stores the running statistics into bn_param (a dict): the Solver passes bn_params through
    the jitted step and writes what it returns back, so they equal eager training's."""
    eager, jitted = train_both(lambda: TwoLayerNet(bn=True), data, update_rule="adam", batch_size=16, num_epochs=1)
    assert_same(eager, jitted)
    for key in ("running_mean", "running_var"):
        a, b = eager.model.bn_params[0][key], jitted.model.bn_params[0][key]
        onp.testing.assert_array_equal(onp.asarray(a), onp.asarray(b), err_msg=key)
        assert onp.abs(onp.asarray(b)).sum() > 0  # trained, not the zeros/ones they start from


def test_minpy_style_trains_as_eager(data, numpy_policy):
    solvers = []
    for jit in (False, True):
        np.random.seed(0)
        train = NDArrayIter(data["X_train"], data["y_train"], batch_size=16, shuffle=True, seed=0)
        val = NDArrayIter(data["X_val"], data["y_val"], batch_size=16)
        s = Solver(MinPyNet(), train, val, update_rule="rmsprop", num_epochs=2, verbose=False, seed=1, jit=jit)
        s.init()
        s.train()
        solvers.append(s)
    assert_same(*solvers)
    assert solvers[1].jit_traces == 1


@pytest.mark.mxnet
def test_prefer_mxnet_trains_as_eager(data):
    imperdl.set_global_policy("prefer_mxnet")
    eager, jitted = train_both(TwoLayerNet, data, update_rule="adam", batch_size=16, num_epochs=1)
    assert_same(eager, jitted)
    # (the first trace leaves Adam's MXNet-held moments with a host copy as well: where an array lives is not
    # part of the signature, so that traces no second time)
    assert jitted.jit_traces == 1


# ------------------------------------------------------------------ checkpoints
def test_interrupted_and_resumed_jit_run_equals_uninterrupted(data, numpy_policy, tmp_path):
    kw = dict(update_rule="adam", lr_decay=0.8, batch_size=16, num_epochs=3, verbose=False, seed=1, jit=True,
              checkpoint_every=3, num_train_samples=32)
    full = Solver(TwoLayerNet(keep=0.8), data, checkpoint_name=tmp_path / "full", **kw)
    full.train()

    broken = Solver(TwoLayerNet(keep=0.8), data, checkpoint_name=tmp_path / "run", **kw)
    real = broken._step

    def step(batch):
        if broken._step_count == 7:
            raise KeyboardInterrupt
        real(batch)

    broken._step = step
    with pytest.raises(KeyboardInterrupt):
        broken.train()
    assert load_checkpoint(tmp_path / "run.npz")["step"] == 6
    resumed = Solver(TwoLayerNet(seed=5, keep=0.8), data, checkpoint_name=tmp_path / "run", resume=True, **kw)
    resumed.train()
    assert_same(full, resumed)
    assert resumed.jit_traces >= 1
    # (the same checkpoints: each reseeds the generators the dropout masks come from)
    eager = Solver(TwoLayerNet(keep=0.8), data, checkpoint_name=tmp_path / "eager", **dict(kw, jit=False))
    eager.train()
    assert_same(full, eager)


# ------------------------------------------------------------------ what cannot be captured
class StoresScores(TwoLayerNet):
    def loss(self, X, y=None):
        out = super().loss(X, y)
        if y is not None:
            self.doubled = out * 2  # a computed array kept on the model: jit cannot replay this store
        return out


def test_a_model_that_stores_arrays_is_refused_with_a_hint(data, numpy_policy):
    s = Solver(StoresScores(), data, batch_size=16, num_epochs=1, verbose=False, jit=True)
    with pytest.raises(JitError, match=r"Solver\(jit=True\).*jit=False"):
        s.train()


def test_jit_must_be_a_bool(data):
    with pytest.raises(TypeError, match="jit must be True or False"):
        Solver(TwoLayerNet(), data, jit="yes")


# ------------------------------------------------------------------ data parallel: only the gradients are jitted
def test_data_parallel_jits_the_gradients_and_updates_eagerly(data, numpy_policy, monkeypatch):
    """With several workers the gradients are summed between the gradient and the update: the jitted step stops
    at the gradients. Two workers are played by one process (rows 0::2; the 'sum' doubles this worker's share)."""
    monkeypatch.setattr(Solver, "_sync_state", lambda self: None)
    monkeypatch.setattr(Solver, "_combine", lambda self, g, loss, w: ({k: v * (2 * w) for k, v in g.items()}, loss))
    solvers = []
    for jit in (False, True):
        s = Solver(TwoLayerNet(), data, update_rule="adam", batch_size=16, num_epochs=1, verbose=False, seed=3,
                   jit=jit)
        s._world = (0, 2)
        s.train()
        solvers.append(s)
    assert_same(*solvers)
    assert solvers[1]._jit.update is False and solvers[1].jit_traces == 1


# ------------------------------------------------------------------ a non-finite loss under jit
class Exploding:
    """loss = 1e300 * sum(b): the first sgd step with learning rate 1e10 sends 'b' to -inf."""

    def __init__(self):
        self.params = {"a": Array(onp.ones(2)), "b": Array(onp.ones(1))}

    def loss(self, X, y=None):
        if y is None:
            return Array(onp.zeros((len(X), 2)))
        return np.sum(self.params["a"] * X[0, 0]) + np.sum(self.params["b"]) * 1e300


def test_a_non_finite_loss_stops_a_jitted_run_and_restores_the_last_finite_parameters(numpy_policy):
    """sgd with a given learning rate adds no state, so step 1 is already traced and step 2 replayed: the loss of
    step 1, read during step 2, stops training exactly as in eager training."""
    data = {"X_train": onp.zeros((20, 2)), "y_train": onp.zeros(20, dtype=int), "X_val": onp.zeros((4, 2)),
            "y_val": onp.zeros(4, dtype=int)}
    errors = []
    for jit in (False, True):
        model = Exploding()
        solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1e10}, batch_size=4,
                        num_epochs=5, print_every=100, verbose=False, jit=jit)
        with pytest.raises(NonFiniteLossError) as info, onp.errstate(over="ignore", invalid="ignore"):
            solver.train()
        errors.append(info.value)
        assert solver.loss_history == [1e300]
        onp.testing.assert_array_equal(model.params["b"].asnumpy(), [1.0])  # the last finite parameters
    assert solver.jit_traces == 1
    eager, jitted = errors
    assert (jitted.step, jitted.parameter, str(jitted)) == (eager.step, eager.parameter, str(eager)) == (
        1, "b", str(eager))


class SymbolNet(TwoLayerNet):
    """The hidden layer's activation as an MXNet symbol (``imperdl.core.Function``): its own MXNet executor."""

    def __init__(self):
        super().__init__()
        from imperdl.core import Function
        from imperdl.core.backends import mxnet_backend

        mx = mxnet_backend.load()
        self.act = Function(mx.sym.Activation(mx.sym.Variable("x"), act_type="relu"), name="act")

    def loss(self, X, y=None):
        p = self.params
        scores = np.dot(self.act(x=np.dot(X, p["W1"]) + p["b1"]), p["W2"]) + p["b2"]
        return scores if y is None else layers.softmax_loss(scores, y)


@pytest.mark.mxnet
def test_a_model_with_an_mxnet_symbol_is_refused_by_name(data, numpy_policy):
    s = Solver(SymbolNet(), data, update_rule="sgd", optim_config={"learning_rate": 0.1}, batch_size=16,
               num_epochs=1, verbose=False, jit=True)
    with pytest.raises(JitError, match=r"act runs outside imperdl's dispatch.*Solver\(\.\.\., jit=False\)"):
        s.train()
    assert len(s.loss_history) == 1  # the eager first step trained; the traced second refused


def test_under_nep50_promotion_a_counting_rule_updates_eagerly(data, numpy_policy, monkeypatch):
    """Under NumPy 2's promotion Adam's step count as a 0-d array would make float32 parameters float64: there the
    loss and gradients are jitted and the update runs eagerly, with the same numbers as eager training. (NumPy 2
    takes this path by itself; NumPy 1 is made to here.)"""
    monkeypatch.setattr(solver_jit, "weak_scalars", lambda: True)
    eager, jitted = train_both(TwoLayerNet, data, update_rule="adam", batch_size=16, num_epochs=1)
    assert_same(eager, jitted)
    assert jitted._jit.update is False and jitted.jit_traces == 1
    assert type(jitted.optim_configs["W1"]["t"]) is int and jitted.model.params["W1"].dtype == onp.float32
    # a rule without counters keeps its update inside the jitted step
    eager, jitted = train_both(TwoLayerNet, data, update_rule="sgd_momentum", batch_size=16, num_epochs=1)
    assert_same(eager, jitted)
    assert jitted._jit.update is True
