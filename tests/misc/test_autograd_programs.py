"""Programs written for HIPS autograd run on imperdl with only their imports changed and print the same numbers.

Each program below is plain autograd code (written in the style of autograd's examples, with small synthetic data
in place of downloads). It runs once as written, on autograd, and once with ``autograd`` replaced by ``imperdl``
in its import lines; the two outputs must be the same text with the same numbers (to 1e-9 relative).
"""
from __future__ import annotations

import contextlib
import io
import re

import pytest

CUSTOM_GRADIENT = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.extend import primitive, defvjp
from autograd.test_util import check_grads

@primitive
def logsumexp(x):
    max_x = np.max(x)
    return max_x + np.log(np.sum(np.exp(x - max_x)))

def logsumexp_vjp(ans, x):
    x_shape = x.shape
    return lambda g: np.full(x_shape, g) * np.exp(x - np.full(x_shape, ans))

defvjp(logsumexp, logsumexp_vjp)

def example_func(y):
    return np.sum(logsumexp(y ** 2))

npr.seed(0)
print("Gradient:", grad(example_func)(npr.randn(6)))
check_grads(example_func, modes=["rev"])(npr.randn(6))
print("second derivative:", grad(grad(lambda t: logsumexp(t * np.array([1.0, 2.0, 0.5]))))(0.3))
'''

NEURAL_NET = '''
import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.misc.flatten import flatten
from autograd.misc.optimizers import adam

def init_random_params(scale, layer_sizes, rs=npr.RandomState(0)):
    return [(scale * rs.randn(m, n), scale * rs.randn(n)) for m, n in zip(layer_sizes[:-1], layer_sizes[1:])]

def predict(params, inputs):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    shifted = outputs - np.max(outputs, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))

def l2_norm(params):
    flattened, _ = flatten(params)
    return np.dot(flattened, flattened)

def log_posterior(params, inputs, targets, L2_reg):
    return -L2_reg * l2_norm(params) + np.sum(predict(params, inputs) * targets)

def accuracy(params, inputs, targets):
    return np.mean(np.argmax(targets, axis=1) == np.argmax(predict(params, inputs), axis=1))

rs = npr.RandomState(1)
train_images = rs.randn(120, 8)
train_labels = np.eye(3)[(train_images[:, 0] > 0).astype(int) + (train_images[:, 1] > 1).astype(int)]
batch_size, num_batches = 40, 3

def objective(params, iter):
    idx = slice((iter % num_batches) * batch_size, (iter % num_batches + 1) * batch_size)
    return -log_posterior(params, train_images[idx], train_labels[idx], 0.01)

def print_perf(params, iter, gradient):
    if iter % num_batches == 0:
        print(f"{iter // num_batches:5}|{accuracy(params, train_images, train_labels):20}|"
              f"{objective(params, iter):20.12f}")

params = adam(grad(objective), init_random_params(0.1, [8, 10, 3]), step_size=0.05, num_iters=5 * num_batches,
              callback=print_perf)
print("final l2:", l2_norm(params))
'''

LOGISTIC_REGRESSION = '''
import autograd.numpy as np
from autograd import grad, value_and_grad
import numpy

def sigmoid(x):
    return 0.5 * (np.tanh(x / 2.0) + 1)

def logistic_predictions(weights, inputs):
    return sigmoid(np.dot(inputs, weights))

rng = numpy.random.RandomState(2)
inputs = rng.randn(30, 3)
targets = (inputs @ numpy.array([1.0, -2.0, 0.5]) + 0.3 * rng.randn(30) > 0).astype(float)

def training_loss(weights):
    preds = logistic_predictions(weights, inputs)
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probabilities))

training_gradient_fun = grad(training_loss)
weights = np.array([0.0, 0.0, 0.0])
print("Initial loss:", training_loss(weights))
for i in range(50):
    weights -= training_gradient_fun(weights) * 0.01
print("Trained loss:", training_loss(weights))
value, gradient = value_and_grad(training_loss)(weights)
print("value", value, "gradient norm", np.sqrt(np.sum(gradient ** 2)))
'''

ROSENBROCK = '''
import autograd.numpy as np
from autograd import value_and_grad
from scipy.optimize import minimize

def rosenbrock(x):
    return 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2

result = minimize(value_and_grad(rosenbrock), x0=np.array([-1.0, 0.5]), jac=True, method="CG")
print("Found minimum at", result.x, "after", result.nit, "iterations")
'''

PROGRAMS = {"custom_gradient": CUSTOM_GRADIENT, "neural_net": NEURAL_NET,
            "logistic_regression": LOGISTIC_REGRESSION, "rosenbrock": ROSENBROCK}

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _ported(source: str) -> str:
    """The program with ``autograd`` replaced by ``imperdl`` in its import lines, and nothing else changed."""
    lines = []
    for line in source.splitlines():
        if line.startswith(("import ", "from ")):
            line = re.sub(r"\bautograd\b", "imperdl", line)
        lines.append(line)
    return "\n".join(lines)


def _run(source: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<program>", "exec"), {"__name__": "__main__"})
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_prints_the_same_numbers(name):
    source = PROGRAMS[name]
    ported = _ported(source)
    assert "autograd" not in "".join(ln for ln in ported.splitlines() if ln.startswith(("import", "from")))
    theirs = _run(source)
    ours = _run(ported)
    assert _NUMBER.sub("#", " ".join(ours.split())) == _NUMBER.sub("#", " ".join(theirs.split())), (ours, theirs)
    a, b = [float(v) for v in _NUMBER.findall(ours)], [float(v) for v in _NUMBER.findall(theirs)]
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        assert abs(x - y) <= 1e-9 * max(1.0, abs(y)), (ours, theirs)
