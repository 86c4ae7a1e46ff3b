"""What the data-parallel tests' workers and the single-process references share: the digits model, its batches."""
from __future__ import annotations

import numpy as onp

import imperdl.numpy as np
from imperdl.core import Array
from imperdl.nn import ModelBase, layers

HIDDEN = 32
BATCH = 64  # split as rows rank::2: 32 rows per worker
LR = 0.1
STEPS = 3


def digits():
    from imperdl.nn.datasets import load_digits

    return load_digits()


def init_params(dtype: str, seed: int) -> dict:
    rs = onp.random.RandomState(seed)
    return {"W1": Array((rs.randn(64, HIDDEN) * 0.1).astype(dtype)), "b1": Array(onp.zeros(HIDDEN, dtype)),
            "W2": Array((rs.randn(HIDDEN, 10) * 0.1).astype(dtype)), "b2": Array(onp.zeros(10, dtype))}


def loss_fn(params, X, y):
    h = layers.relu(layers.affine(X, params["W1"], params["b1"]))
    return layers.softmax_loss(layers.affine(h, params["W2"], params["b2"]), y)


def batch(data, step: int, dtype: str):
    rows = onp.random.RandomState(100 + step).choice(data["X_train"].shape[0], BATCH, replace=False)
    return data["X_train"][rows].astype(dtype), data["y_train"][rows]


def sgd_steps(data, params: dict, dtype: str, rank: int = 0, size: int = 1, reduce=None) -> list[dict]:
    """Parameters after each of STEPS plain SGD steps (on rows rank::size, gradients through ``reduce``)."""
    from imperdl.core import grad_and_loss

    seen = [{k: v.asnumpy() for k, v in params.items()}]
    for t in range(STEPS):
        X, y = batch(data, t, dtype)
        grads, _ = grad_and_loss(loss_fn)(params, Array(X[rank::size]), Array(y[rank::size]))
        if reduce is not None:
            grads = reduce(grads)
        params = {k: params[k] - LR * grads[k] for k in params}
        seen.append({k: v.asnumpy() for k, v in params.items()})
    return seen


class TwoLayer(ModelBase):
    def __init__(self):
        super().__init__()
        self.add_param("W1", (64, HIDDEN)).add_param("b1", (HIDDEN,)).add_param("W2", (HIDDEN, 10))
        self.add_param("b2", (10,))

    def forward(self, X, mode):
        return layers.affine(layers.relu(layers.affine(X, self.params["W1"], self.params["b1"])),
                             self.params["W2"], self.params["b2"])

    def loss(self, predict, y):
        return layers.softmax_loss(predict, y)


def solver(data, ckpt: str, epochs: int, kvstore, resume=None):
    from imperdl.nn import Solver

    return Solver(TwoLayer(), data, update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
                  batch_size=50, num_epochs=epochs, seed=3, verbose=False, num_train_samples=200,
                  checkpoint_name=ckpt, kvstore=kvstore, resume=resume)


def iter_solver(data, epochs: int, kvstore):
    from imperdl.nn import NDArrayIter, Solver

    train = NDArrayIter(data["X_train"], data["y_train"], batch_size=100, shuffle=True)
    test = NDArrayIter(data["X_val"], data["y_val"], batch_size=100)
    return Solver(TwoLayer(), train, test, update_rule="sgd", optim_config={"learning_rate": 0.1},
                  num_epochs=epochs, verbose=False, num_train_samples=200, kvstore=kvstore, seed=5)


class NaNAt:
    """A CS231n-style model (params dict, loss(X, y=None)) whose loss is NaN on its ``step``-th training call."""

    def __init__(self, step):
        self.params = init_params("float32", seed=0)
        self.step, self.calls = step, 0

    def loss(self, X, y=None):
        scores = layers.affine(layers.relu(layers.affine(X, self.params["W1"], self.params["b1"])),
                               self.params["W2"], self.params["b2"])
        if y is None:
            return scores
        self.calls += 1
        value = layers.softmax_loss(scores, y)
        return value * float("nan") if self.calls - 1 == self.step else value


_ = np  # (imported for the side effect of the NumPy face being ready in workers)
