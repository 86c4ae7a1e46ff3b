# Source of FullyConnectedNets.ipynb and solutions/FullyConnectedNets.ipynb (see build_notebooks.py).
# Run it as a script to execute the reference solution: python sources/FullyConnectedNets.py

# %% [markdown]
# # Fully-connected networks, forward code only
#
# In this assignment you build a fully-connected classifier of any depth from small layers. You write each
# layer's **forward** computation with `imperdl.numpy` (NumPy's functions and methods) and nothing else: there
# is no backward pass to write. `imperdl.core.grad` records what your forward code did and differentiates it,
# and we check every gradient it gives against finite differences in float64.
#
# You will write:
# 1. `affine_forward` and `relu_forward`, and the `svm_loss` and `softmax_loss` functions;
# 2. `FullyConnectedNet`, whose `loss(X, y)` returns `(loss, grads)` with the gradients from *one* call to
#    `grad_and_loss` over the parameter dict;
# 3. the update rules SGD+momentum, RMSProp and Adam, compared on the same network;
# 4. a trained model on real handwritten digits.
#
# Everything runs on a CPU without internet: the digits ship with scikit-learn.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy  # plain NumPy, for reference values and data handling

import imperdl
import imperdl.numpy as np
from imperdl.core import grad, grad_and_loss
from imperdl.nn import datasets, layers, optim
from imperdl.nn.gradient_check import (
    check_gradients,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from imperdl.nn.solver import Solver

# IMPERDL_COURSE_SMALL=1 (set by the course's CI test) shrinks every experiment so the notebook runs in seconds.
SMALL = os.environ.get("IMPERDL_COURSE_SMALL", "") not in ("", "0")
# On a laptop CPU, NumPy is the fastest backend for these small dense layers (MXNet's CPU wheel is built without
# AVX and costs ~10 us per call). On a machine with a GPU and mxnet-cu112, try "prefer_mxnet".
imperdl.set_global_policy(os.environ.get("IMPERDL_COURSE_POLICY", "only_numpy"))
plt.rcParams["figure.figsize"] = (10.0, 4.0)
print(f"imperdl {imperdl.__version__}, policy {imperdl.get_global_policy().name}, small mode: {SMALL}")


def rand(*shape, seed=None):
    """A float64 NumPy array of standard normal values (gradient checks need float64)."""
    rng = numpy.random.RandomState(seed) if seed is not None else numpy.random
    return rng.randn(*shape)


# %% [markdown]
# ## The data
#
# `imperdl.nn.datasets.load_digits()` returns scikit-learn's 1797 handwritten digits (8x8 pixels, scaled to
# [0, 1]) split into train / validation / test sets, with the mean training image subtracted. Each image is a
# row of 64 numbers.

# %%
data = datasets.load_digits(num_val=200, num_test=200)
for k, v in data.items():
    print(f"{k:8s} {v.shape} {v.dtype}")

fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for digit, ax in enumerate(axes):
    i = int(numpy.flatnonzero(data["y_train"] == digit)[0])
    ax.imshow((data["X_train"][i] + data["mean"]).reshape(8, 8), cmap="gray_r")
    ax.set_title(str(digit))
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Affine layer
#
# `affine_forward(x, w, b)` takes a minibatch `x` of shape `(N, d_1, ..., d_k)`, treats each sample as one row
# of `D = d_1 * ... * d_k` numbers, and returns `x_rows @ w + b` of shape `(N, M)`, for `w` of shape `(D, M)`
# and `b` of shape `(M,)`. Write it with `imperdl.numpy` functions (`np.reshape`, `np.dot`, ...) or array
# methods: those are what imperdl records and differentiates. Plain `numpy` functions would hide your
# computation from the recorder.

# %%
def affine_forward(x, w, b):
    """Affine map of x (N, d_1, ..., d_k) with w (D, M) and b (M,): out (N, M)."""
    # TODO: flatten each sample of x to a row and apply the affine map.
    # BEGIN SOLUTION affine_forward
    n = x.shape[0]
    out = np.dot(np.reshape(x, (n, -1)), w) + b
    # END SOLUTION
    return out


# %% [markdown]
# Check the values against the library's layer, then the gradients. `grad(f, argnum=(0, 1, 2))` returns the
# gradients with respect to all three arguments in one call; `eval_numerical_gradient_array` perturbs one
# entry at a time and measures how `sum(out * dout)` changes. In float64 the two should agree to about 1e-9.

# %%
x, w, b = rand(4, 2, 3, seed=0), rand(6, 5, seed=1), rand(5, seed=2)
out = affine_forward(x, w, b)
print("output shape:", out.shape)
print("difference from imperdl.nn.layers.affine:", rel_error(out, layers.affine(x, w, b)))
assert out.shape == (4, 5) and rel_error(out, layers.affine(x, w, b)) < 1e-12

dout = rand(4, 5, seed=3)
dx, dw, db = grad(lambda x, w, b: np.sum(affine_forward(x, w, b) * dout), argnum=(0, 1, 2))(x, w, b)
dx_num = eval_numerical_gradient_array(lambda _: affine_forward(x, w, b), x, dout)
dw_num = eval_numerical_gradient_array(lambda _: affine_forward(x, w, b), w, dout)
db_num = eval_numerical_gradient_array(lambda _: affine_forward(x, w, b), b, dout)
for name, analytic, numeric in [("dx", dx, dx_num), ("dw", dw, dw_num), ("db", db, db_num)]:
    err = rel_error(analytic, numeric)
    print(f"{name} relative error: {err:.2e}")
    assert err < 1e-7

# %% [markdown]
# ## ReLU
#
# `relu_forward(x)` returns `max(x, 0)` elementwise. Its derivative is 0 or 1 except at exactly 0 (a "kink"),
# where finite differences are unreliable; random inputs almost never land there.

# %%
def relu_forward(x):
    """Elementwise max(x, 0)."""
    # TODO: one line with an imperdl.numpy function.
    # BEGIN SOLUTION relu_forward
    out = np.maximum(x, 0)
    # END SOLUTION
    return out


# %%
x = rand(5, 6, seed=4)
out = relu_forward(x)
assert rel_error(out, layers.relu(x)) < 1e-12
print("ReLU output matches imperdl.nn.layers.relu")
check_gradients(relu_forward, x, names=["x"])

# %% [markdown]
# ## Loss functions
#
# Both losses take class scores `x` of shape `(N, C)` and integer labels `y` of shape `(N,)`, and average over
# the `N` samples.
#
# * **Multiclass SVM (hinge) loss**: for each sample, the sum over wrong classes `j` of
#   `max(0, x[i, j] - x[i, y[i]] + 1)`.
# * **Softmax loss**: the mean of `-log softmax(x)[i, y[i]]`. Subtract each row's maximum before `exp` so large
#   scores cannot overflow (the maximum is a constant shift: it does not change the loss).
#
# Hint: `x[np.arange(N), y]` picks the score of the correct class in each row.

# %%
def svm_loss(x, y):
    """Mean multiclass hinge loss of scores x (N, C) for integer labels y (N,)."""
    # TODO: the margins max(0, x_ij - x_iy + 1) summed over j != y_i, averaged over i.
    # BEGIN SOLUTION svm_loss
    n = x.shape[0]
    correct = np.reshape(x[np.arange(n), y], (n, 1))
    margins = np.maximum(0, x - correct + 1)
    loss = (np.sum(margins) - n) / n  # each row's correct class contributed max(0, 1) = 1
    # END SOLUTION
    return loss


def softmax_loss(x, y):
    """Mean cross-entropy of softmax(x) (x: scores (N, C)) against integer labels y (N,)."""
    # TODO: shift each row by its maximum, take log-softmax, average -log p of the correct classes.
    # BEGIN SOLUTION softmax_loss
    n = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(n), y]) / n
    # END SOLUTION
    return loss


# %% [markdown]
# With tiny random scores every class is about equally likely, so the softmax loss should be close to `log(C)`
# and the SVM loss close to `C - 1`.

# %%
num_classes, num_inputs = 10, 50
x = 0.001 * rand(num_inputs, num_classes, seed=5)
y = numpy.random.RandomState(6).randint(num_classes, size=num_inputs)
for name, mine, library, expected in [("svm", svm_loss, layers.svm_loss, num_classes - 1),
                                      ("softmax", softmax_loss, layers.softmax_loss, numpy.log(num_classes))]:
    value = float(mine(x, y))
    print(f"{name:8s} loss {value:.6f} (expected about {expected:.6f})")
    assert abs(value - expected) < 0.01
    assert rel_error(value, library(x, y)) < 1e-10, "differs from imperdl.nn.layers"
    check_gradients(lambda scores, f=mine: f(scores, y), x, tol=1e-7, names=["x"])

# %% [markdown]
# ## A fully-connected network of any depth
#
# `FullyConnectedNet(hidden_dims, ...)` has `L = len(hidden_dims) + 1` layers:
# `{affine - relu} x (L - 1) - affine - softmax`. Its parameters live in `self.params`: weights `W1 ... WL`
# drawn from a normal distribution with standard deviation `weight_scale`, biases `b1 ... bL` zero.
#
# Write `scores(params, X)` (the forward pass, reading the weights from the dict it is given) and
# `data_loss(params, X, y)` (softmax loss plus `0.5 * reg * sum(W**2)` over the weight matrices, not the
# biases). The provided `loss(X, y)` then gets every gradient in one line,
# `grads, loss = grad_and_loss(f)(self.params)`: `grads` is a dict with the same keys as `self.params`.
# That is the contract the `Solver` expects from a model: `loss(X)` returns scores, `loss(X, y)` returns
# `(loss, grads)`.

# %%
class FullyConnectedNet:
    """{affine - relu} x (L - 1) - affine - softmax, with L2 regularization."""

    def __init__(self, hidden_dims, input_dim=64, num_classes=10, reg=0.0, weight_scale=1e-2,
                 dtype=numpy.float32, seed=None):
        self.num_layers = len(hidden_dims) + 1
        self.reg = reg
        self.params = {}
        rng = numpy.random.RandomState(seed)
        # TODO: create W1..WL (normal, std weight_scale) and b1..bL (zeros) of the right shapes, as imperdl
        # arrays of `dtype` (np.array(values, dtype=dtype)).
        # BEGIN SOLUTION FullyConnectedNet.__init__
        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = np.array(weight_scale * rng.randn(dims[i], dims[i + 1]), dtype=dtype)
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1], dtype=dtype)
        # END SOLUTION

    def scores(self, params, X):
        """Class scores (N, C) of the minibatch X, computed from the parameter dict ``params``."""
        # TODO: {affine - relu} for the hidden layers, then the last affine; use your layer functions.
        # BEGIN SOLUTION FullyConnectedNet.scores
        h = X
        for i in range(1, self.num_layers):
            h = relu_forward(affine_forward(h, params[f"W{i}"], params[f"b{i}"]))
        L = self.num_layers
        out = affine_forward(h, params[f"W{L}"], params[f"b{L}"])
        # END SOLUTION
        return out

    def data_loss(self, params, X, y):
        """Softmax loss of the scores plus the L2 penalty 0.5 * reg * sum(W**2) over all weight matrices."""
        # TODO: use self.scores, your softmax_loss and self.reg.
        # BEGIN SOLUTION FullyConnectedNet.data_loss
        loss = softmax_loss(self.scores(params, X), y)
        for i in range(1, self.num_layers + 1):
            loss = loss + 0.5 * self.reg * np.sum(params[f"W{i}"] ** 2)
        # END SOLUTION
        return loss

    def loss(self, X, y=None):
        """Scores (N, C) when y is None; otherwise (loss, grads) with grads keyed like self.params."""
        if y is None:
            return self.scores(self.params, X)
        grads, loss = grad_and_loss(lambda params: self.data_loss(params, X, y))(self.params)
        return loss, grads


# %% [markdown]
# ### Check the network
#
# The gradient check runs in float64, the way the course always does it: `eval_numerical_gradient` perturbs
# `model.params[name]` **in place** and calls `model.loss(X, y)` again, which reads the same array. A wrong
# layer gives relative errors near 1. Correct code gives small ones, but not all as small as for single layers:
# `rel_error` is the *worst* entry, and an entry whose gradient is almost zero keeps only a few correct digits
# in its finite difference. So we accept up to `1e-5` here.

# %%
def check_model_gradients(model, X, y, tol=1e-5):
    """model.loss's gradients against finite differences, one parameter array at a time."""
    loss, grads = model.loss(X, y)
    print(f"initial loss {float(loss):.4f}")
    assert set(grads) == set(model.params)
    for name in sorted(grads):
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False, h=1e-5)
        err = rel_error(numeric, grads[name])
        print(f"  {name} relative error: {err:.2e}")
        assert err < tol, (name, err)


N, D, H1, H2, C = 2, 15, 20, 30, 10
X = rand(N, D, seed=7)
y = numpy.random.RandomState(8).randint(C, size=N)
for reg in [0.0, 3.14]:
    print(f"reg = {reg}:")
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=reg, weight_scale=2e-1,
                              dtype=numpy.float64, seed=0)
    check_model_gradients(model, X, y)

# with tiny weights every class is equally likely at first: the loss starts near log(10)
small_model = FullyConnectedNet([50], weight_scale=1e-3, seed=0)
initial = float(small_model.loss(data["X_train"][:100], data["y_train"][:100])[0])
print(f"initial loss with tiny weights: {initial:.4f} (log 10 = {numpy.log(10):.4f})")
assert abs(initial - numpy.log(10)) < 0.05

# %% [markdown]
# ### Sanity check: overfit a small training set
#
# A network that cannot reach 100% training accuracy on 50 images has a bug (or a bad learning rate). The
# `Solver` samples minibatches, calls `model.loss(X, y)` and applies an update rule to every parameter.

# %%
small_data = {"X_train": data["X_train"][:50], "y_train": data["y_train"][:50],
              "X_val": data["X_val"], "y_val": data["y_val"]}
model = FullyConnectedNet([100, 100], weight_scale=2e-1, seed=1)
solver = Solver(model, small_data, update_rule="sgd", optim_config={"learning_rate": 2e-1},
                batch_size=25, num_epochs=20, print_every=100, verbose=False, seed=0)
solver.train()
print(f"training accuracy on 50 images: {solver.train_acc_history[-1]:.2f}")
assert solver.train_acc_history[-1] >= 0.95

plt.plot(solver.loss_history, "o-", ms=3)
plt.xlabel("iteration")
plt.ylabel("training loss")
plt.title("Overfitting 50 images")
plt.show()

# %% [markdown]
# ## Update rules
#
# Plain SGD steps along `-learning_rate * dw`. Write three improvements with the signature the Solver uses,
# `next_w, config = rule(w, dw, config)`, where `config` holds the hyper-parameters and the rule's state
# (created with `np.zeros_like(w)` on the first step):
#
# * **SGD with momentum**: `v = momentum * v - learning_rate * dw`, `next_w = w + v`.
# * **RMSProp**: `cache = decay_rate * cache + (1 - decay_rate) * dw**2`,
#   `next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)`.
# * **Adam**: first and second moment averages `m` and `v` with rates `beta1` and `beta2`, the step count `t`
#   incremented *before* use, bias-corrected `m / (1 - beta1**t)` and `v / (1 - beta2**t)`, and
#   `next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)`.

# %%
def sgd_momentum(w, dw, config=None):
    """SGD with momentum; config: learning_rate (1e-2), momentum (0.9), velocity."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    # TODO: update the velocity v and compute next_w.
    # BEGIN SOLUTION sgd_momentum
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    # END SOLUTION
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp; config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    # TODO: update config["cache"] and compute next_w.
    # BEGIN SOLUTION rmsprop
    config["cache"] = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw * dw
    next_w = w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"])
    # END SOLUTION
    return next_w, config


def adam(w, dw, config=None):
    """Adam; config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v, t."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    # TODO: increment t, update m and v, bias-correct them and compute next_w.
    # BEGIN SOLUTION adam
    config["t"] += 1
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw * dw
    m_hat = config["m"] / (1 - b1**t)
    v_hat = config["v"] / (1 - b2**t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    # END SOLUTION
    return next_w, config


# %% [markdown]
# Five steps of each rule from the same start, compared with `imperdl.nn.optim`:

# %%
my_rules = {"sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
for name, rule in my_rules.items():
    w_mine = w_ref = rand(4, 5, seed=9)
    config_mine, config_ref = {"learning_rate": 1e-2}, {"learning_rate": 1e-2}
    for step in range(5):
        dw = rand(4, 5, seed=10 + step)
        w_mine, config_mine = rule(w_mine, dw, config_mine)
        w_ref, config_ref = optim.get(name)(w_ref, dw, config_ref)
    err = rel_error(w_mine, w_ref)
    print(f"{name:12s} relative error after 5 steps: {err:.2e}")
    assert err < 1e-10

# %% [markdown]
# Now train the same 5-layer network with each rule (your functions go straight into the Solver) and compare
# the training loss and the accuracies.

# %%
num_train = 500 if SMALL else 1000
num_epochs = 4 if SMALL else 6
compare_data = {"X_train": data["X_train"][:num_train], "y_train": data["y_train"][:num_train],
                "X_val": data["X_val"], "y_val": data["y_val"]}
rules = {"sgd": ("sgd", 1e-2), "sgd_momentum": (sgd_momentum, 1e-2), "rmsprop": (rmsprop, 1e-3),
         "adam": (adam, 1e-3)}
solvers = {}
for name, (rule, lr) in rules.items():
    start = time.perf_counter()
    model = FullyConnectedNet([100] * 4, weight_scale=0.15, seed=2)
    solver = Solver(model, compare_data, update_rule=rule, optim_config={"learning_rate": lr},
                    batch_size=50, num_epochs=num_epochs, verbose=False, seed=0)
    solver.train()
    solvers[name] = solver
    print(f"{name:12s} final loss {numpy.mean(solver.loss_history[-5:]):.3f}  "
          f"train acc {solver.train_acc_history[-1]:.3f}  val acc {solver.val_acc_history[-1]:.3f}  "
          f"({time.perf_counter() - start:.1f} s)")

fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4))
for name, solver in solvers.items():
    ax1.plot(solver.loss_history, label=name, lw=0.8)
    ax2.plot(solver.train_acc_history, "-o", label=name)
    ax3.plot(solver.val_acc_history, "-o", label=name)
for ax, title in [(ax1, "training loss"), (ax2, "training accuracy"), (ax3, "validation accuracy")]:
    ax.set_title(title)
    ax.legend()
plt.show()

for solver in solvers.values():  # every rule made progress ...
    assert numpy.mean(solver.loss_history[-5:]) < solver.loss_history[0]
# ... and momentum and the adaptive rules beat plain SGD clearly at these learning rates
for name in ["sgd_momentum", "rmsprop", "adam"]:
    assert solvers[name].val_acc_history[-1] > solvers["sgd"].val_acc_history[-1] + 0.2, name

# %% [markdown]
# ## Train a good model
#
# Train your best fully-connected network on the digits: choose the depth, the widths, the update rule, the
# learning rate, its decay and the regularization. Aim for at least 95% validation accuracy (small mode, with
# a few epochs, only checks that training works).

# %%
start = time.perf_counter()
# TODO: build best_model and train it with a Solver called best_solver.
# BEGIN SOLUTION best model
best_model = FullyConnectedNet([100, 100], weight_scale=5e-2, reg=1e-4, seed=3)
best_solver = Solver(best_model, data, update_rule=adam, optim_config={"learning_rate": 2e-3}, lr_decay=0.9,
                     batch_size=50, num_epochs=4 if SMALL else 20, verbose=False, seed=0)
best_solver.train()
# END SOLUTION
val_acc = best_solver.check_accuracy(data["X_val"], data["y_val"])
test_acc = best_solver.check_accuracy(data["X_test"], data["y_test"])
print(f"validation accuracy {val_acc:.3f}, test accuracy {test_acc:.3f} ({time.perf_counter() - start:.1f} s)")
assert val_acc >= (0.85 if SMALL else 0.95)

# %% [markdown]
# ## The other contract: a loss without gradients
#
# A model may also return only the loss from `loss(X, y)`; the Solver then differentiates it over
# `model.params` itself. Here is softmax regression in that style, trained by the same Solver:

# %%
class SoftmaxRegression:
    def __init__(self, input_dim=64, num_classes=10):
        self.params = {"W": np.zeros((input_dim, num_classes), dtype=numpy.float32),
                       "b": np.zeros(num_classes, dtype=numpy.float32)}

    def loss(self, X, y=None):
        scores = affine_forward(X, self.params["W"], self.params["b"])
        return scores if y is None else softmax_loss(scores, y)


solver = Solver(SoftmaxRegression(), data, update_rule="adam", optim_config={"learning_rate": 5e-2},
                batch_size=100, num_epochs=3 if SMALL else 10, verbose=False, seed=0)
solver.train()
print(f"softmax regression: validation accuracy {solver.best_val_acc:.3f}")
assert solver.best_val_acc >= 0.85
