# Source of BatchNormalizationDropout.ipynb and solutions/BatchNormalizationDropout.ipynb (see build_notebooks.py).
# Run it as a script to execute the reference solution: python sources/BatchNormalizationDropout.py

# %% [markdown]
# # Batch normalization, layer normalization and dropout
#
# Two ideas that changed how deep networks train:
#
# * **Normalization** keeps each layer's inputs at zero mean and unit variance, so a deep network stays
#   trainable whatever the scale of its initial weights. *Batch* normalization normalizes each feature over the
#   minibatch and keeps running averages of the statistics for test time; *layer* normalization normalizes each
#   sample over its features and behaves the same in training and at test time.
# * **Dropout** zeroes a random part of the units during training, a regularizer against overfitting.
#
# Both behave differently in training and test mode. You write their forward passes, including the running
# statistics; imperdl differentiates them (no backward pass to derive, which for batch normalization is the
# hard part), and finite differences in float64 check the gradients. Then you see their effect on training.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy  # plain NumPy, for reference values and data handling

import imperdl
import imperdl.numpy as np
from imperdl.core import grad_and_loss, stop_gradient
from imperdl.nn import datasets, layers
from imperdl.nn.gradient_check import (
    check_gradients,
    eval_numerical_gradient,
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


data = datasets.load_digits(num_val=200, num_test=200)
print({k: v.shape for k, v in data.items()})

# %% [markdown]
# ## Batch normalization: the forward pass
#
# For a minibatch `x` of shape `(N, D)`, in **train** mode:
#
# 1. `mu` and `var` are the mean and the (biased) variance of each feature over the `N` samples;
# 2. `x_hat = (x - mu) / sqrt(var + eps)`, and the output is `gamma * x_hat + beta` (`gamma`, `beta`: `(D,)`);
# 3. the running statistics are updated for test time:
#    `running_mean = momentum * running_mean + (1 - momentum) * mu`, the same for `running_var`.
#
# In **test** mode the running statistics replace `mu` and `var`, and nothing is updated.
#
# `bn_param` is a dict with `mode` ('train' or 'test'), `eps` (default `1e-5`), `momentum` (default 0.9) and
# the running statistics (missing on the first call: start from zeros and ones). Write the new running
# statistics back into `bn_param`: the network reads them there at test time.
#
# The running statistics are *bookkeeping*, not part of the function being differentiated. Compute them from
# `stop_gradient(mu)` and `stop_gradient(var)`: that cuts them from the recorded computation, so an old
# minibatch's graph is not kept alive through `bn_param`.

# %%
def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of x (N, D); updates bn_param's running statistics in train mode."""
    mode = bn_param.get("mode", "train")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))
    if mode == "train":
        # TODO: normalize with the batch statistics; update running_mean and running_var (from stop_gradient
        # copies of the batch statistics).
        # BEGIN SOLUTION batchnorm_forward (train mode)
        mu = np.mean(x, axis=0)
        var = np.mean((x - mu) ** 2, axis=0)
        x_hat = (x - mu) / np.sqrt(var + eps)
        running_mean = momentum * running_mean + (1 - momentum) * stop_gradient(mu)
        running_var = momentum * running_var + (1 - momentum) * stop_gradient(var)
        # END SOLUTION
    elif mode == "test":
        # TODO: normalize with the running statistics.
        # BEGIN SOLUTION batchnorm_forward (test mode)
        x_hat = (x - running_mean) / np.sqrt(running_var + eps)
        # END SOLUTION
    else:
        raise ValueError(f"batchnorm_forward: mode must be 'train' or 'test', got {mode!r}")
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return gamma * x_hat + beta


# %% [markdown]
# In train mode each output feature has mean `beta` and standard deviation `gamma`, and the result equals
# the library's `imperdl.nn.layers.batchnorm` (running statistics included):

# %%
N, D = 200, 3
x = 5 + 12 * rand(N, D, seed=0)
gamma, beta = numpy.array([1.0, 2.0, 3.0]), numpy.array([11.0, 12.0, 13.0])
mine, ref = {"mode": "train"}, {"mode": "train"}
out = batchnorm_forward(x, gamma, beta, mine)
print("means:", numpy.round(numpy.mean(out, axis=0), 6), " stds:", numpy.round(numpy.std(out, axis=0), 4))
assert numpy.allclose(numpy.mean(out, axis=0), beta) and numpy.allclose(numpy.std(out, axis=0), gamma, rtol=1e-4)
assert rel_error(out, layers.batchnorm(x, gamma, beta, ref)) < 1e-10
assert rel_error(mine["running_mean"], ref["running_mean"]) < 1e-10
assert rel_error(mine["running_var"], ref["running_var"]) < 1e-10
print("matches imperdl.nn.layers.batchnorm, running statistics included")

# %% [markdown]
# The running statistics, after many training minibatches from one distribution, should normalize a test
# batch from that distribution too: means near 0 and standard deviations near 1 (for `gamma = 1, beta = 0`).

# %%
rng = numpy.random.RandomState(1)
W1, W2 = rng.randn(D, 50), rng.randn(50, D)
bn_param = {"mode": "train"}
for step in range(50):
    h = numpy.maximum(rand(1000, D, seed=100 + step) @ W1, 0) @ W2
    batchnorm_forward(h, numpy.ones(D), numpy.zeros(D), bn_param)
bn_param["mode"] = "test"
h = numpy.maximum(rand(1000, D, seed=99) @ W1, 0) @ W2
out = numpy.asarray(batchnorm_forward(h, numpy.ones(D), numpy.zeros(D), bn_param))
print("test-mode means:", numpy.round(out.mean(axis=0), 3), " stds:", numpy.round(out.std(axis=0), 3))
assert numpy.all(numpy.abs(out.mean(axis=0)) < 0.15) and numpy.all(numpy.abs(out.std(axis=0) - 1) < 0.15)

# %% [markdown]
# And the gradients that imperdl derives from your forward pass, with respect to `x`, `gamma` and `beta`:

# %%
x, gamma, beta = 2 + 3 * rand(4, 5, seed=2), rand(5, seed=3), rand(5, seed=4)
bn_param = {"mode": "train"}
check_gradients(lambda x, g, b: batchnorm_forward(x, g, b, bn_param), x, gamma, beta, names=["x", "gamma", "beta"])

# %% [markdown]
# ## Layer normalization
#
# Layer normalization computes the mean and variance of each **sample** over its `D` features (axis 1)
# instead of each feature over the batch. There are no running statistics: train and test mode compute the
# same thing, and a batch of one sample works. `ln_param` may hold `eps` (default `1e-5`).

# %%
def layernorm_forward(x, gamma, beta, ln_param=None):
    """Layer normalization of x (N, D) over its features, then gamma * x_hat + beta."""
    eps = (ln_param or {}).get("eps", 1e-5)
    # TODO: normalize each row of x with its own mean and variance.
    # BEGIN SOLUTION layernorm_forward
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=1, keepdims=True)
    x_hat = (x - mu) / np.sqrt(var + eps)
    # END SOLUTION
    return gamma * x_hat + beta


# %%
x, gamma, beta = 5 + 12 * rand(4, 3, seed=5), numpy.ones(3), numpy.zeros(3)
out = numpy.asarray(layernorm_forward(x, gamma, beta))
print("per-sample means:", numpy.round(out.mean(axis=1), 6), " stds:", numpy.round(out.std(axis=1), 4))
assert numpy.allclose(out.mean(axis=1), 0) and numpy.allclose(out.std(axis=1), 1, rtol=1e-4)
gamma, beta = rand(3, seed=6), rand(3, seed=7)
assert rel_error(layernorm_forward(x, gamma, beta), layers.layernorm(x, gamma, beta)) < 1e-10
check_gradients(lambda x, g, b: layernorm_forward(x, g, b), x, gamma, beta, names=["x", "gamma", "beta"])

# %% [markdown]
# ## Dropout
#
# In train mode, *inverted* dropout keeps each unit with probability `p` and divides the kept ones by `p`, so
# the expected output equals the input and test mode is simply the identity. `dropout_param` has `p` (the
# probability of **keeping** a unit), `mode`, and an optional `seed`: with a seed, draw the mask from
# `numpy.random.RandomState(seed)` so every call uses the same mask (gradient checks need that); without one,
# use `np.random.rand`. The mask is a constant for the gradient.

# %%
def dropout_forward(x, dropout_param):
    """Inverted dropout: keep each unit with probability p (scaled by 1/p) in train mode; identity in test mode."""
    p, mode = dropout_param["p"], dropout_param.get("mode", "train")
    if mode == "test":
        return x
    seed = dropout_param.get("seed")
    # TODO: draw uniform numbers (seeded if a seed is given), build the scaled mask, apply it.
    # BEGIN SOLUTION dropout_forward
    u = numpy.random.RandomState(seed).rand(*x.shape) if seed is not None else np.random.rand(*x.shape)
    mask = (u < p) / p
    out = x * mask
    # END SOLUTION
    return out


# %%
np.random.seed(0)  # unseeded dropout draws from imperdl's global generator
x = 10 + rand(500, 500, seed=8)
for p in [0.25, 0.4, 0.7]:
    train_out = numpy.asarray(dropout_forward(x, {"mode": "train", "p": p}))
    test_out = numpy.asarray(dropout_forward(x, {"mode": "test", "p": p}))
    kept = numpy.mean(train_out != 0)
    print(f"p = {p}: input mean {x.mean():.3f}, train-mode mean {train_out.mean():.3f}, "
          f"test-mode mean {test_out.mean():.3f}, fraction kept {kept:.3f}")
    # 250 000 units: the kept fraction is within 0.005 of p and the mean within 0.2 of the input's (5 sigma)
    assert abs(train_out.mean() - x.mean()) < 0.2 and abs(kept - p) < 0.005 and numpy.array_equal(test_out, x)
same = numpy.array_equal(numpy.asarray(dropout_forward(x, {"p": 0.5, "seed": 3})),
                         numpy.asarray(dropout_forward(x, {"p": 0.5, "seed": 3})))
assert same, "the same seed must give the same mask"
x = rand(10, 10, seed=9) + 10
check_gradients(lambda x: dropout_forward(x, {"mode": "train", "p": 0.2, "seed": 123}), x, names=["x"])

# %% [markdown]
# ## A network with normalization and dropout
#
# `FullyConnectedNet` from the first assignment, extended: every hidden layer is
# `affine - [batch/layer norm] - relu - [dropout]`, with `gamma{i}` and `beta{i}` parameters (ones and zeros)
# for the normalized layers. `loss(X)` runs in test mode, `loss(X, y)` in train mode, and the gradients still
# come from one `grad_and_loss` call. Write the hidden layer; the rest is given.

# %%
class FullyConnectedNet:
    """{affine - [norm] - relu - [dropout]} x (L - 1) - affine - softmax, with L2 regularization."""

    def __init__(self, hidden_dims, input_dim=64, num_classes=10, dropout_keep_ratio=1.0, normalization=None,
                 reg=0.0, weight_scale=1e-2, dtype=numpy.float32, seed=None):
        assert normalization in (None, "batchnorm", "layernorm")
        self.normalization = normalization
        self.num_layers = len(hidden_dims) + 1
        self.reg = reg
        self.params = {}
        rng = numpy.random.RandomState(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(self.num_layers):
            self.params[f"W{i + 1}"] = np.array(weight_scale * rng.randn(dims[i], dims[i + 1]), dtype=dtype)
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1], dtype=dtype)
            if normalization and i < self.num_layers - 1:
                self.params[f"gamma{i + 1}"] = np.ones(dims[i + 1], dtype=dtype)
                self.params[f"beta{i + 1}"] = np.zeros(dims[i + 1], dtype=dtype)
        self.dropout_param = None
        if dropout_keep_ratio < 1:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed
        # one dict per batch-normalized layer: it holds that layer's running statistics
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)] if normalization == "batchnorm" else []

    def scores(self, params, X, mode):
        h = X
        for i in range(1, self.num_layers):
            # TODO: one hidden layer: affine, then your batchnorm_forward (with self.bn_params[i - 1], its mode
            # set to `mode`) or layernorm_forward if self.normalization says so, then relu, then your
            # dropout_forward with self.dropout_param (its mode set to `mode`) if it is not None.
            # BEGIN SOLUTION hidden layer
            h = layers.affine(h, params[f"W{i}"], params[f"b{i}"])
            if self.normalization == "batchnorm":
                self.bn_params[i - 1]["mode"] = mode
                h = batchnorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"], self.bn_params[i - 1])
            elif self.normalization == "layernorm":
                h = layernorm_forward(h, params[f"gamma{i}"], params[f"beta{i}"])
            h = layers.relu(h)
            if self.dropout_param is not None:
                self.dropout_param["mode"] = mode
                h = dropout_forward(h, self.dropout_param)
            # END SOLUTION
        L = self.num_layers
        return layers.affine(h, params[f"W{L}"], params[f"b{L}"])

    def data_loss(self, params, X, y):
        loss = layers.softmax_loss(self.scores(params, X, "train"), y)
        for i in range(1, self.num_layers + 1):
            loss = loss + 0.5 * self.reg * np.sum(params[f"W{i}"] ** 2)
        return loss

    def loss(self, X, y=None):
        if y is None:
            return self.scores(self.params, X, "test")
        grads, loss = grad_and_loss(lambda params: self.data_loss(params, X, y))(self.params)
        return loss, grads


# %% [markdown]
# Gradient checks of whole networks, in float64, with each option. The finite differences perturb
# `model.params` in place (`eval_numerical_gradient`), as in the first assignment; the dropout network has a
# fixed seed so every evaluation drops the same units. As there, entries whose gradient is almost zero limit
# the agreement, so `1e-5` is the bar. One more case: a bias *before* batch normalization has a gradient of
# exactly zero (the normalization subtracts the batch mean, bias included). Its finite difference is pure
# rounding noise, around `1e-11`, and `rel_error` divides that by its floor of `1e-8`. So a parameter also
# passes when the largest *absolute* difference is below `1e-8`.

# %%
def check_model_gradients(model, X, y):
    """model.loss's gradients against finite differences, one parameter array at a time."""
    loss, grads = model.loss(X, y)
    print(f"  loss {float(loss):.4f}")
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False)
        err, diff = rel_error(numeric, grads[name]), numpy.max(numpy.abs(numeric - numpy.asarray(grads[name])))
        print(f"  {name:7s} relative error {err:.2e}, largest absolute difference {diff:.1e}")
        assert err < 1e-5 or diff < 1e-8, name


N, D, H1, H2, C = 3, 8, 10, 12, 5
X = rand(N, D, seed=10)
y = numpy.array([0, 3, 4])
for options in [{"normalization": "batchnorm"}, {"normalization": "layernorm"}, {"dropout_keep_ratio": 0.6},
                {"normalization": "batchnorm", "dropout_keep_ratio": 0.6, "reg": 0.5}]:
    print(options)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=0.3, dtype=numpy.float64,
                              seed=11, **options)
    check_model_gradients(model, X, y)

# %% [markdown]
# ## Batch normalization and deep networks
#
# A 6-layer network whose weights start small: without normalization the signal shrinks layer after layer and
# training barely moves. With batch or layer normalization every layer sees unit-scale inputs again.
#
# Watch the first epoch of the batch-normalized network: its *validation* accuracy (measured in test mode) lags
# behind its training loss. The running variances start at 1 while the real variances here are near 0.003, and
# with `momentum = 0.9` the initial value still weighs `0.9**k` after `k` steps; test mode is only right once
# that has decayed.

# %%
num_train = 1000 if SMALL else len(data["X_train"])
num_epochs = 4 if SMALL else 10
deep_data = {"X_train": data["X_train"][:num_train], "y_train": data["y_train"][:num_train],
             "X_val": data["X_val"], "y_val": data["y_val"]}
deep_solvers = {}
for norm in [None, "batchnorm", "layernorm"]:
    start = time.perf_counter()
    model = FullyConnectedNet([100] * 5, normalization=norm, weight_scale=2e-2, seed=0)
    solver = Solver(model, deep_data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    batch_size=50, num_epochs=num_epochs, verbose=False, seed=0)
    solver.train()
    deep_solvers[str(norm)] = solver
    print(f"{str(norm):9s}: final training loss {numpy.mean(solver.loss_history[-5:]):.3f}, "
          f"best val acc {solver.best_val_acc:.3f} ({time.perf_counter() - start:.1f} s)")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for name, solver in deep_solvers.items():
    ax1.plot(solver.loss_history, lw=0.8, label=name)
    ax2.plot(solver.val_acc_history, "-o", label=name)
ax1.set_title("training loss")
ax2.set_title("validation accuracy")
ax1.legend()
ax2.legend()
plt.show()

assert deep_solvers["batchnorm"].best_val_acc > deep_solvers["None"].best_val_acc + 0.2
assert deep_solvers["layernorm"].best_val_acc > deep_solvers["None"].best_val_acc + 0.2

# %% [markdown]
# ### Sensitivity to the initial weight scale
#
# Train the same deep network from a range of weight scales, with and without batch normalization. Without it,
# only a narrow band of scales trains in this budget; with it, most do.

# %%
scales = numpy.logspace(-3, 0, 4 if SMALL else 8)
results = {None: [], "batchnorm": []}
for scale in scales:
    for norm in results:
        model = FullyConnectedNet([50] * 5, normalization=norm, weight_scale=scale, seed=1)
        solver = Solver(model, deep_data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                        batch_size=50, num_epochs=3 if SMALL else 5, verbose=False, seed=0)
        solver.train()
        results[norm].append((solver.best_val_acc, numpy.mean(solver.loss_history[-10:])))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for norm, runs in results.items():
    ax1.semilogx(scales, [r[0] for r in runs], "-o", label=str(norm))
    ax2.loglog(scales, [r[1] for r in runs], "-o", label=str(norm))
ax1.set_xlabel("weight scale")
ax1.set_ylabel("best validation accuracy")
ax2.set_xlabel("weight scale")
ax2.set_ylabel("final training loss")
ax1.legend()
ax2.legend()
plt.show()
for norm, runs in results.items():
    print(f"{str(norm):9s} validation accuracy by scale:", numpy.round([r[0] for r in runs], 2))
assert numpy.mean([r[0] for r in results["batchnorm"]]) > numpy.mean([r[0] for r in results[None]]) + 0.2

# %% [markdown]
# ## Dropout against memorization
#
# Dropout makes it hard for a network to rely on any single unit, and so hard to memorize individual training
# examples. To see it clearly, we give 500 training images where 30% of the labels are replaced by random
# ones. Without dropout the network learns those wrong labels by heart (its training accuracy climbs far above
# 70%) and its validation accuracy drops as it does; with dropout it fits them much less and validates better.

# %%
rng = numpy.random.RandomState(0)
noisy_y = data["y_train"][:500].copy()
flip = rng.rand(500) < 0.3
noisy_y[flip] = rng.randint(10, size=int(flip.sum()))
noisy = {"X_train": data["X_train"][:500], "y_train": noisy_y, "X_val": data["X_val"], "y_val": data["y_val"]}
dropout_solvers = {}
for keep in [1.0, 0.5, 0.25]:
    model = FullyConnectedNet([256, 256], dropout_keep_ratio=keep, weight_scale=0.1, seed=2)
    solver = Solver(model, noisy, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    batch_size=50, num_epochs=40, verbose=False, seed=0)
    solver.train()
    dropout_solvers[keep] = solver
    print(f"keep {keep:4}: final train acc {solver.train_acc_history[-1]:.3f}, "
          f"final val acc {numpy.mean(solver.val_acc_history[-3:]):.3f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
for keep, solver in dropout_solvers.items():
    ax1.plot(solver.train_acc_history, "-", label=f"keep {keep}")
    ax2.plot(solver.val_acc_history, "-", label=f"keep {keep}")
ax1.set_title("training accuracy (30% wrong labels)")
ax2.set_title("validation accuracy")
ax1.set_xlabel("epoch")
ax2.set_xlabel("epoch")
ax1.legend()
ax2.legend()
plt.show()

final_val = {keep: numpy.mean(s.val_acc_history[-3:]) for keep, s in dropout_solvers.items()}
assert dropout_solvers[1.0].train_acc_history[-1] > dropout_solvers[0.5].train_acc_history[-1] + 0.1
assert final_val[0.5] > final_val[1.0] + 0.05 and final_val[0.25] > final_val[1.0] + 0.05
