"""One process of tests/test_mxnet_user.py: the user's own Gluon training (legacy ``mx.nd`` or ``mx.np``
flavour, the latter with the user's own ``npx.set_np()``) around imperdl's work. Prints one JSON line.

argv[1]: 'nd' or 'np'; argv[2]: 'none' (no imperdl), 'between' (train, imperdl, train), 'first' (imperdl, train,
imperdl, train).
"""
import json
import sys

import numpy as onp

if "bool" not in vars(onp):  # MXNet 1.9.1 on NumPy >= 1.24 fails to import without it: its users add it
    onp.bool = bool

import mxnet as mx  # noqa: E402
from mxnet import autograd, gluon  # noqa: E402

flavour, order = sys.argv[1], sys.argv[2]
if flavour == "np":
    mx.npx.set_np()
make = mx.np.array if flavour == "np" else mx.nd.array


def train():
    mx.random.seed(1)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(8, activation="relu"), gluon.nn.Dense(3))  # deferred shapes: inferred at first call
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    x = make(onp.random.RandomState(0).randn(16, 5).astype("float32"))
    y = make(onp.arange(16) % 3)
    losses = []
    for _ in range(3):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(16)
        losses.append(loss.asnumpy().tolist())
    params = [p.data().asnumpy().tolist() for p in net.collect_params().values()]
    return {"losses": losses, "params": params, "type": type(net(x)).__name__}


def state():
    """What the user's process-wide MXNet settings are, and what legacy semantics give."""
    try:
        legacy = list(mx.nd.sum(mx.nd.ones((2, 2))).shape)
    except Exception as e:  # legacy ops under NumPy array semantics
        legacy = type(e).__name__
    return {"np_shape": mx.util.is_np_shape(), "np_array": mx.util.is_np_array(), "legacy_sum": legacy}


def imperdl_work():
    import imperdl
    import imperdl.numpy as np
    from imperdl.core import grad

    imperdl.set_global_policy("prefer_mxnet")
    h = onp.linspace(-1, 1, 12).reshape(3, 4)
    w0 = onp.full((4, 2), 0.3)
    g = grad(lambda w: np.sum(np.tanh(np.dot(np.array(h), w)) ** 2))(np.array(w0))
    t = onp.tanh(h @ w0)
    want = h.T @ (2 * t * (1 - t * t))
    z = np.zeros((0, 3)) + 1.0
    s = np.sum(np.array(h))[()]
    return {"grad_err": float(onp.abs(g.asnumpy() - want).max()), "zero_size": list(z.shape),
            "scalar": [list(s.shape), float(s)], "scalar_want": float(h.sum())}


out = {"state0": state()}
if order == "first":
    out["imperdl0"] = imperdl_work()
out["run1"] = train()
if order in ("between", "first"):
    out["imperdl1"] = imperdl_work()
out["run2"] = train()
out["state1"] = state()
print(json.dumps(out))
