"""Solver in both course styles: learning real digits, checkpoint/resume equality, non-finite loss, bookkeeping."""
from __future__ import annotations

import os
import sys
import time

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import Array
from imperdl.nn import ModelBase, NDArrayIter, Solver
from imperdl.nn import checkpoint as ck
from imperdl.nn.checkpoint import CheckpointError, load_checkpoint
from imperdl.nn.solver import NonFiniteLossError

HIDDEN = 64


@pytest.fixture(scope="module")
def digits():
    from imperdl.nn.datasets import load_digits

    return load_digits()


@pytest.fixture
def numpy_policy():
    imperdl.set_global_policy("only_numpy")


# ------------------------------------------------------------------ models written with plain imperdl.numpy ops
def two_layer_params(seed: int) -> dict:
    rs = onp.random.RandomState(seed)
    return {"W1": Array((rs.randn(64, HIDDEN) * onp.sqrt(2 / 64)).astype(onp.float32)),
            "b1": Array(onp.zeros(HIDDEN, dtype=onp.float32)),
            "W2": Array((rs.randn(HIDDEN, 10) * onp.sqrt(1 / HIDDEN)).astype(onp.float32)),
            "b2": Array(onp.zeros(10, dtype=onp.float32))}


def softmax_xent(scores, y):
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(scores.shape[0]), y])


class AutogradNet:
    """CS231n-style model whose loss(X, y) returns only the loss: the Solver differentiates it."""

    def __init__(self, seed: int = 0, keep: float | None = None):
        self.params = two_layer_params(seed)
        self.keep = keep
        self.train_calls = 0

    def hidden(self, X, train: bool):
        p = self.params
        h = np.maximum(0, np.dot(X, p["W1"]) + p["b1"])
        if train and self.keep is not None:  # inverted dropout, masks from imperdl's global generator
            h = h * (np.random.rand(*h.shape) < self.keep) / self.keep
        return h

    def loss(self, X, y=None):
        if y is not None:
            self.train_calls += 1
        h = self.hidden(X, y is not None)
        scores = np.dot(h, self.params["W2"]) + self.params["b2"]
        return scores if y is None else softmax_xent(scores, y)


class GradsNet(AutogradNet):
    """CS231n-style model with a hand-written backward pass (in-place course idioms included)."""

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
        grads["W1"] = np.dot(X.T, dh)
        grads["b1"] = np.sum(dh, axis=0)
        return loss, grads


class DigitsModel(ModelBase):
    """MinPy-style model: declares parameters, writes forward and loss only."""

    def __init__(self, keep: float | None = None):
        super().__init__()
        self.keep = keep
        self.add_param("W1", (64, HIDDEN)).add_param("b1", (HIDDEN,), init_rule="constant")
        self.add_params({"W2": (HIDDEN, 10), "b2": {"shape": (10,), "init_rule": "constant",
                                                     "init_config": {"value": 0.0}}})
        self.forward_calls = 0

    def forward(self, X, mode):
        if mode == "train":
            self.forward_calls += 1
        p = self.params
        h = np.maximum(0, np.dot(X, p["W1"]) + p["b1"])
        if mode == "train" and self.keep is not None:
            h = h * (np.random.rand(*h.shape) < self.keep) / self.keep
        return np.dot(h, p["W2"]) + p["b2"]

    def loss(self, predict, y):
        return softmax_xent(predict, y)


def iters(digits, seed=0, handle="pad"):
    train = NDArrayIter(digits["X_train"], digits["y_train"], batch_size=100, shuffle=True, seed=seed,
                        last_batch_handle=handle)
    test = NDArrayIter({"data": digits["X_val"]}, digits["y_val"], batch_size=100)
    return train, test


# ------------------------------------------------------------------ learning
@pytest.mark.parametrize("policy", ["only_numpy", "prefer_mxnet"])
@pytest.mark.parametrize("net", [AutogradNet, GradsNet])
def test_cs231n_style_learns_digits(digits, net, policy):
    imperdl.set_global_policy(policy)
    start = time.perf_counter()
    solver = Solver(net(seed=0), digits, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    batch_size=100, num_epochs=6, verbose=False, seed=0)
    solver.train()
    elapsed = time.perf_counter() - start
    assert solver.best_val_acc >= 0.95, solver.val_acc_history
    assert solver.check_accuracy(digits["X_val"], digits["y_val"]) == solver.best_val_acc
    iters_per_epoch = digits["X_train"].shape[0] // 100
    assert len(solver.loss_history) == 6 * iters_per_epoch
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 6 + 1  # first iteration + each epoch
    assert solver.loss_history[-1] < solver.loss_history[0] / 5
    assert elapsed < 60, f"training took {elapsed:.1f}s"


@pytest.mark.parametrize("policy", ["only_numpy", "prefer_mxnet"])
def test_minpy_style_learns_digits(digits, policy):
    imperdl.set_global_policy(policy)
    np.random.seed(0)
    model = DigitsModel()
    train, test = iters(digits)
    solver = Solver(model, train, test, init_rule="xavier", update_rule="adam", optim_config={"learning_rate": 1e-2},
                    num_epochs=6, verbose=False)
    solver.init()
    assert onp.all(model.params["b1"].asnumpy() == 0) and onp.any(model.params["W1"].asnumpy() != 0)
    solver.train()
    assert solver.best_val_acc >= 0.95, solver.val_acc_history
    assert len(solver.val_acc_history) == 6  # MinPy checks at epoch ends only
    assert len(solver.loss_history) == 6 * train.getnumiterations()


def test_modelbase_with_a_data_dict_and_train_calls_init(digits, numpy_policy):
    model = DigitsModel()
    solver = Solver(model, digits, update_rule="adam", optim_config={"learning_rate": 1e-2}, num_epochs=4,
                    verbose=False, seed=0)
    solver.train()  # params were never initialised: train() does it
    assert set(model.params) == {"W1", "b1", "W2", "b2"}
    assert solver.best_val_acc >= 0.93


def test_init_is_a_no_op_for_cs231n_models(digits):
    model = AutogradNet()
    before = {k: v.asnumpy() for k, v in model.params.items()}
    Solver(model, digits, verbose=False).init()
    for k, v in model.params.items():
        onp.testing.assert_array_equal(v.asnumpy(), before[k])


# ------------------------------------------------------------------ bookkeeping
def test_best_params_are_copies(digits, numpy_policy):
    model = AutogradNet()
    solver = Solver(model, digits, update_rule="adam", optim_config={"learning_rate": 1e-2}, num_epochs=2,
                    verbose=False, seed=0)
    solver.train()
    for k in model.params:
        assert model.params[k] is not solver.best_params[k]
        onp.testing.assert_array_equal(model.params[k].asnumpy(), solver.best_params[k].asnumpy())
    kept = solver.best_params["W1"].asnumpy()
    model.params["W1"][0, 0] = 1234.0  # gradient checks perturb params in place like this
    onp.testing.assert_array_equal(solver.best_params["W1"].asnumpy(), kept)


def test_lr_decay_per_epoch_and_per_parameter_configs(digits, numpy_policy):
    config = {"learning_rate": 0.1, "momentum": 0.5}
    solver = Solver(AutogradNet(), digits, update_rule="sgd_momentum", optim_config=config, lr_decay=0.5,
                    num_epochs=3, verbose=False)
    solver.train()
    assert config == {"learning_rate": 0.1, "momentum": 0.5}, "the caller's optim_config must not change"
    assert set(solver.optim_configs) == {"W1", "b1", "W2", "b2"}
    for k, c in solver.optim_configs.items():
        assert c["learning_rate"] == pytest.approx(0.1 * 0.5**3)
        assert c["velocity"].shape == solver.model.params[k].shape
    assert solver.optim_configs["W1"] is not solver.optim_configs["W2"]


def test_unknown_and_misplaced_arguments(digits):
    with pytest.raises(ValueError, match=r"unrecognized argument\(s\) \['bogus', 'lr'\]"):
        Solver(AutogradNet(), digits, lr=0.1, bogus=1)
    train, test = iters(digits)
    with pytest.raises(ValueError, match="batch_size.*data dict"):
        Solver(DigitsModel(), train, test, batch_size=10)
    with pytest.raises(ValueError, match=r"lacks \['y_val'\]"):
        Solver(AutogradNet(), {k: v for k, v in digits.items() if k != "y_val"})
    with pytest.raises(TypeError, match="test_iter is NoneType"):
        Solver(DigitsModel(), train)
    with pytest.raises(TypeError, match="must be a ModelBase or have a 'params' dict"):
        Solver(object(), digits)
    with pytest.raises(ValueError, match="unknown update rule"):
        Solver(AutogradNet(), digits, update_rule="adagrad")
    with pytest.raises(ValueError, match="not both"):
        Solver(DigitsModel(), train, test, num_train_samples=10, train_acc_num_samples=10)


def test_verbose_prints_course_lines_and_quiet_prints_nothing(digits, numpy_policy, capsys):
    Solver(AutogradNet(), digits, num_epochs=1, verbose=False).train()
    assert capsys.readouterr().out == ""
    Solver(AutogradNet(), digits, num_epochs=1, print_every=5, verbose=True).train()
    out = capsys.readouterr().out
    assert "(Iteration 1 / 13) loss:" in out and "(Iteration 6 / 13)" in out
    assert "(Epoch 0 / 1) train acc:" in out and "(Epoch 1 / 1)" in out


def test_progress_bar_on_a_terminal(digits, numpy_policy, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    Solver(AutogradNet(), digits, num_epochs=1, verbose=True).train()
    captured = capsys.readouterr()
    assert "13/13" in captured.err and "loss=" in captured.err
    assert "(Epoch 1 / 1)" in captured.out + captured.err
    assert "(Iteration" not in captured.out, "iteration lines go to the bar, not between its redraws"


class LazyLoss:
    """A loss value that records when the Solver turns it into a float."""

    def __init__(self, model, step):
        self.model, self.step = model, step

    def __float__(self):
        self.model.read_at.append((self.step, self.model.calls))
        return 1.0


class CountingModel:
    def __init__(self):
        self.params = {"w": Array(onp.zeros(3))}
        self.calls = 0
        self.read_at = []

    def loss(self, X, y=None):
        if y is None:
            return Array(onp.zeros((len(X), 2)))
        step = self.calls
        self.calls += 1
        return LazyLoss(self, step), {"w": Array(onp.zeros(3))}


def test_the_loss_is_read_one_step_late_or_at_print_every():
    data = {"X_train": onp.zeros((10, 3)), "y_train": onp.zeros(10, dtype=int), "X_val": onp.zeros((4, 3)),
            "y_val": onp.zeros(4, dtype=int)}
    model = CountingModel()
    solver = Solver(model, data, batch_size=2, num_epochs=2, print_every=4, verbose=False)
    solver.train()
    assert [s for s, _ in model.read_at] == list(range(10))
    for step, calls in model.read_at:
        epoch_end = (step + 1) % 5 == 0
        if step % 4 == 0 or epoch_end or step == 0:
            assert calls == step + 1, (step, calls)  # read in its own step: print_every or an epoch end
        else:
            assert calls == step + 2, (step, calls)  # read while the next step runs


# matplotlib 3.8 calls pyparsing names that pyparsing 3.3 deprecates (environment noise, not ours)
@pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")
def test_plot_history_writes_a_png_and_leaves_the_backend_alone(digits, numpy_policy, tmp_path):
    import matplotlib

    backend = matplotlib.get_backend()
    solver = Solver(AutogradNet(), digits, num_epochs=2, verbose=False)
    solver.train()
    path = solver.plot_history(tmp_path / "curves.png")
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert matplotlib.get_backend() == backend


# ------------------------------------------------------------------ checkpoints and resume
class Interrupt(Exception):
    pass


def interrupt_after(obj, method: str, counter: str, n: int):
    """Make ``obj.method`` raise Interrupt once ``obj.counter`` passes ``n`` (a crash in the middle of training)."""
    real = getattr(obj, method)

    def wrapped(*args, **kwargs):
        out = real(*args, **kwargs)
        if getattr(obj, counter) > n:
            raise Interrupt
        return out

    setattr(obj, method, wrapped)


def final_state(path):
    state = load_checkpoint(path)
    return state["params"], state


def assert_same_run(a: Solver, b: Solver, path_a, path_b):
    assert a.loss_history == b.loss_history
    assert a.train_acc_history == b.train_acc_history and a.val_acc_history == b.val_acc_history
    assert a.best_val_acc == b.best_val_acc
    for k in a.model.params:  # best params, swapped in at the end
        assert onp.array_equal(a.model.params[k].asnumpy(), b.model.params[k].asnumpy()), k
    last_a, sa = final_state(path_a)
    last_b, sb = final_state(path_b)
    for k in last_a:  # the last parameters, bit for bit
        assert last_a[k].dtype == last_b[k].dtype and last_a[k].tobytes() == last_b[k].tobytes(), k
    for k in sa["optim_configs"]:
        for key, v in sa["optim_configs"][k].items():
            w = sb["optim_configs"][k][key]
            assert (onp.asarray(v).tobytes() == onp.asarray(w).tobytes()), (k, key)


@pytest.mark.parametrize("policy", ["only_numpy", "prefer_mxnet"])
@pytest.mark.parametrize("every", [None, 4])
def test_cs231n_interrupted_and_resumed_equals_uninterrupted(digits, tmp_path, policy, every):
    imperdl.set_global_policy(policy)
    kw = dict(update_rule="adam", optim_config={"learning_rate": 5e-3}, lr_decay=0.9, batch_size=100,
              num_epochs=3, verbose=False, seed=1, checkpoint_every=every, num_train_samples=300)
    full = Solver(AutogradNet(seed=0, keep=0.8), digits, checkpoint_name=tmp_path / "full", **kw)
    full.train()

    model = AutogradNet(seed=0, keep=0.8)
    interrupt_after(model, "loss", "train_calls", 23)  # mid-epoch 2, between checkpoints
    broken = Solver(model, digits, checkpoint_name=tmp_path / "run", **kw)
    with pytest.raises(Interrupt):
        broken.train()
    saved = load_checkpoint(tmp_path / "run.npz")
    assert saved["step"] == (20 if every else 13)
    np.random.seed(12345)  # whatever the global generators hold now must not matter
    resumed = Solver(AutogradNet(seed=99, keep=0.8), digits, checkpoint_name=tmp_path / "run", resume=True, **kw)
    resumed.train()
    assert_same_run(full, resumed, tmp_path / "full.npz", tmp_path / "run.npz")


@pytest.mark.parametrize("policy", ["only_numpy", "prefer_mxnet"])
@pytest.mark.parametrize("every, handle", [(None, "pad"), (5, "roll_over")])
def test_minpy_interrupted_and_resumed_equals_uninterrupted(digits, tmp_path, policy, every, handle):
    imperdl.set_global_policy(policy)
    kw = dict(update_rule="rmsprop", optim_config={"learning_rate": 1e-3}, num_epochs=3, verbose=False, seed=2,
              checkpoint_every=every, train_acc_num_samples=300)
    np.random.seed(0)
    full = Solver(DigitsModel(keep=0.9), *iters(digits, 0, handle), checkpoint_name=tmp_path / "full", **kw)
    full.init()
    full.train()

    np.random.seed(0)
    model = DigitsModel(keep=0.9)
    interrupt_after(model, "forward", "forward_calls", 22)
    broken = Solver(model, *iters(digits, 0, handle), checkpoint_name=tmp_path / "run", **kw)
    broken.init()
    with pytest.raises(Interrupt):
        broken.train()
    assert load_checkpoint(tmp_path / "run.npz")["step"] == (20 if every else 14)

    np.random.seed(777)
    resumed = Solver(DigitsModel(keep=0.9), *iters(digits, 5, handle), resume=tmp_path / "run.npz",
                     checkpoint_name=tmp_path / "run", **kw)
    resumed.init()  # fresh random parameters: the checkpoint must replace them
    resumed.train()
    assert_same_run(full, resumed, tmp_path / "full.npz", tmp_path / "run.npz")


class BatchNormNet(AutogradNet):
    """CS231n FullyConnectedNet-style running statistics in ``self.bn_params``, outside ``params``."""

    def __init__(self, seed: int = 0):
        super().__init__(seed)
        self.params["gamma"] = Array(onp.ones(HIDDEN, dtype=onp.float32))
        self.params["beta"] = Array(onp.zeros(HIDDEN, dtype=onp.float32))
        self.bn_params = [{"mode": "train"}]

    def loss(self, X, y=None):
        from imperdl.nn import layers

        p = self.params
        self.train_calls += y is not None
        self.bn_params[0]["mode"] = "test" if y is None else "train"
        h = layers.batchnorm(np.dot(X, p["W1"]) + p["b1"], p["gamma"], p["beta"], self.bn_params[0])
        scores = np.dot(np.maximum(0, h), p["W2"]) + p["b2"]
        return scores if y is None else softmax_xent(scores, y)


def test_resume_restores_cs231n_running_statistics(digits, tmp_path, numpy_policy):
    kw = dict(update_rule="adam", num_epochs=2, verbose=False, seed=0, checkpoint_every=5, num_train_samples=200)
    full = Solver(BatchNormNet(), digits, checkpoint_name=tmp_path / "full", **kw)
    full.train()
    model = BatchNormNet()
    interrupt_after(model, "loss", "train_calls", 17)
    with pytest.raises(Interrupt):
        Solver(model, digits, checkpoint_name=tmp_path / "run", **kw).train()
    resumed = Solver(BatchNormNet(seed=3), digits, checkpoint_name=tmp_path / "run", resume=True, **kw)
    resumed.train()
    assert_same_run(full, resumed, tmp_path / "full.npz", tmp_path / "run.npz")
    for key in ("running_mean", "running_var"):
        a, b = full.model.bn_params[0][key], resumed.model.bn_params[0][key]
        assert onp.asarray(a).tobytes() == onp.asarray(b).tobytes(), key


def test_checkpoint_contents(digits, tmp_path, numpy_policy):
    solver = Solver(AutogradNet(), digits, update_rule="adam", num_epochs=2, verbose=False,
                    checkpoint_name=str(tmp_path / "ck"))
    solver.train()
    assert solver.checkpoint_path == str(tmp_path / "ck.npz")
    state = load_checkpoint(tmp_path / "ck.npz")
    assert state["epoch"] == 2 and state["step"] == 26 and state["update_rule"] == "adam"
    assert set(state["params"]) == {"W1", "b1", "W2", "b2"}
    assert state["optim_configs"]["W1"]["t"] == 26 and state["optim_configs"]["W1"]["m"].shape == (64, HIDDEN)
    assert len(state["loss_history"]) == 26 and len(state["val_acc_history"]) == 3
    assert state["rng"]["key"].dtype == onp.uint32 and isinstance(state["global_seed"], int)
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]


def test_resume_true_without_a_file_starts_fresh_and_a_finished_run_resumes_as_done(digits, tmp_path, numpy_policy):
    kw = dict(num_epochs=1, verbose=False, checkpoint_name=tmp_path / "ck", seed=0)
    first = Solver(AutogradNet(), digits, resume=True, **kw)
    first.train()
    again = Solver(AutogradNet(seed=5), digits, resume=True, **kw)
    again.train()
    assert again.loss_history == first.loss_history
    for k in first.model.params:
        onp.testing.assert_array_equal(again.model.params[k].asnumpy(), first.model.params[k].asnumpy())
    with pytest.raises(FileNotFoundError):
        Solver(AutogradNet(), digits, resume=tmp_path / "missing.npz", verbose=False).train()


def test_resume_from_a_corrupt_checkpoint_is_a_clear_error(digits, tmp_path):
    path = tmp_path / "ck.npz"
    path.write_bytes(b"PK\x03\x04 this is not really a zip file")
    model = AutogradNet()
    before = model.params["W1"].asnumpy()
    with pytest.raises(CheckpointError, match="ck.npz.*truncated or corrupt"):
        Solver(model, digits, resume=path, verbose=False).train()
    onp.testing.assert_array_equal(model.params["W1"].asnumpy(), before)


def test_resume_with_other_parameters_is_refused(digits, tmp_path, numpy_policy):
    Solver(AutogradNet(), digits, num_epochs=1, verbose=False, checkpoint_name=tmp_path / "ck").train()
    other = AutogradNet()
    other.params["W3"] = Array(onp.zeros(2, dtype=onp.float32))
    with pytest.raises(ValueError, match="holds parameters"):
        Solver(other, digits, resume=tmp_path / "ck.npz", verbose=False).train()


def test_a_failed_checkpoint_write_keeps_the_previous_one(digits, tmp_path, numpy_policy, monkeypatch):
    real = ck.numpy.savez
    calls = []

    def flaky(f, **arrays):
        calls.append(1)
        if len(calls) == 2:
            f.write(b"partial")
            raise OSError("disk full")
        return real(f, **arrays)

    monkeypatch.setattr(ck.numpy, "savez", flaky)
    solver = Solver(AutogradNet(), digits, num_epochs=3, verbose=False, checkpoint_name=tmp_path / "ck")
    with pytest.raises(OSError, match="disk full"):
        solver.train()
    assert load_checkpoint(tmp_path / "ck.npz")["epoch"] == 1
    assert os.listdir(tmp_path) == ["ck.npz"]


# ------------------------------------------------------------------ non-finite loss
class Exploding:
    """loss = 1e300 * sum(b): the first sgd step with learning rate 1e10 sends 'b' to -inf (a stays finite)."""

    def __init__(self):
        self.params = {"a": Array(onp.ones(2)), "b": Array(onp.ones(1))}

    def loss(self, X, y=None):
        if y is None:
            return Array(onp.zeros((len(X), 2)))
        return np.sum(self.params["a"] * 0.0) + np.sum(self.params["b"]) * 1e300


def tiny_data(X=None):
    X = onp.zeros((20, 2)) if X is None else X
    return {"X_train": X, "y_train": onp.zeros(20, dtype=int), "X_val": onp.zeros((4, 2)),
            "y_val": onp.zeros(4, dtype=int)}


def test_a_parameter_that_went_non_finite_stops_training(numpy_policy):
    model = Exploding()
    solver = Solver(model, tiny_data(), update_rule="sgd", optim_config={"learning_rate": 1e10}, batch_size=4,
                    num_epochs=5, print_every=100, verbose=False)
    with pytest.raises(NonFiniteLossError) as info, onp.errstate(over="ignore"):
        solver.train()
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert (err.step, err.epoch, err.parameter) == (1, 0, "b") and err.loss == float("-inf")
    msg = str(err)
    assert "iteration 2 (step 1, epoch 1)" in msg and "parameter 'b'" in msg and "update of step 0" in msg
    assert solver.loss_history == [1e300]
    onp.testing.assert_array_equal(model.params["b"].asnumpy(), [1.0])  # the last finite parameters
    onp.testing.assert_array_equal(model.params["a"].asnumpy(), [1.0, 1.0])


def test_non_finite_gradient_is_named(numpy_policy):
    class NaNGrad(Exploding):
        def loss(self, X, y=None):
            if y is None:
                return Array(onp.zeros((len(X), 2)))
            return 1.0 + np.sum(self.params["a"]) * 0.0, {"a": Array(onp.full(2, onp.nan)),
                                                         "b": Array(onp.zeros(1))}

    model = NaNGrad()
    solver = Solver(model, tiny_data(), batch_size=4, num_epochs=1, verbose=False)
    # a finite loss with NaN gradients: the *next* loss is NaN, and the message blames 'a' and its gradient
    model.loss = _nan_loss_once_params_bad(model)
    with pytest.raises(NonFiniteLossError, match=r"parameter 'a'.*its gradient at step 0 was non-finite"):
        solver.train()
    onp.testing.assert_array_equal(model.params["a"].asnumpy(), [1.0, 1.0])


def _nan_loss_once_params_bad(model):
    real = model.loss

    def loss(X, y=None):
        out = real(X, y)
        if y is not None and not onp.isfinite(model.params["a"].asnumpy()).all():
            return Array(onp.array(onp.nan)), out[1]
        return out

    return loss


def test_a_non_finite_loss_from_the_data_names_no_parameter(numpy_policy):
    X = onp.full((20, 2), onp.nan)
    model = AutogradNet()
    model.params = {"w": Array(onp.ones((2, 2)))}
    model.loss = lambda X, y=None: np.dot(X, model.params["w"]) if y is None else np.sum(np.dot(X, model.params["w"]))
    solver = Solver(model, tiny_data(X), batch_size=4, num_epochs=1, verbose=False)
    with pytest.raises(NonFiniteLossError, match="every parameter was finite") as info:
        solver.train()
    assert info.value.parameter is None and info.value.step == 0
    onp.testing.assert_array_equal(model.params["w"].asnumpy(), onp.ones((2, 2)))


RESUME_SCRIPT = '''
import sys
import numpy as onp
import imperdl
import imperdl.numpy as np
from imperdl.core import Array
from imperdl.nn import Solver

imperdl.set_global_policy("prefer_mxnet")  # dropout masks drawn by MXNet, whose generator state is unreadable
folder = sys.argv[2]
rs = onp.random.RandomState(0)
X = rs.randn(400, 64).astype(onp.float32)
y = (X[:, :10].argmax(axis=1)).astype(onp.int64)
data = {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:], "y_val": y[300:]}


class Net:
    def __init__(self, seed):
        r = onp.random.RandomState(seed)
        self.params = {"W1": Array((r.randn(64, 64) * 0.1).astype(onp.float32)),
                       "W2": Array((r.randn(64, 10) * 0.1).astype(onp.float32))}
        self.calls = 0

    def loss(self, X, y=None):
        h = np.maximum(0, np.dot(X, self.params["W1"]))
        if y is not None:
            self.calls += 1
            if mode == "broken" and self.calls > 7:
                raise KeyboardInterrupt
            h = h * (np.random.rand(*h.shape) < 0.5) / 0.5
        s = np.dot(h, self.params["W2"])
        if y is None:
            return s
        s = s - np.max(s, axis=1, keepdims=True)
        return -np.mean((s - np.log(np.sum(np.exp(s), axis=1, keepdims=True)))[np.arange(len(X)), y])


for mode in sys.argv[1].split(","):
    name = "full" if mode == "full" else "run"
    solver = Solver(Net(0 if mode != "resume" else 5), data, update_rule="adam", batch_size=100, num_epochs=4,
                    checkpoint_every=2, checkpoint_name=folder + "/" + name, seed=3, verbose=False,
                    resume=(mode == "resume") or None)
    try:
        solver.train()
    except KeyboardInterrupt:
        pass
'''


@pytest.mark.slow
def test_resume_in_a_fresh_process_equals_an_uninterrupted_run(tmp_path):
    """The real use: the run dies and a new interpreter, where MXNet is not loaded yet, resumes it."""
    import subprocess

    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for modes in ("full,broken", "resume"):
        subprocess.run([sys.executable, str(script), modes, str(tmp_path)], check=True, env=env, timeout=300,
                       capture_output=True)
        if modes == "full,broken":
            assert load_checkpoint(tmp_path / "run.npz")["step"] == 6
    full, run = load_checkpoint(tmp_path / "full.npz"), load_checkpoint(tmp_path / "run.npz")
    assert full["step"] == run["step"] == 12
    assert full["loss_history"] == run["loss_history"]
    for k in full["params"]:
        assert full["params"][k].tobytes() == run["params"][k].tobytes(), k
