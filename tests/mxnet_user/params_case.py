"""One process of tests/test_mxnet_user.py: a Gluon network's parameters (``p.data()``, legacy ``mx.nd`` or ``mx.np``
flavour) used by imperdl in the middle of the user's training, which must go on exactly as without imperdl.
Prints one JSON line.

argv[1]: 'nd' or 'np'. The process trains twice from the same seed: first with no imperdl in the process (the
baseline), then with imperdl imported and run on the parameters between two stretches of training.
"""
import json
import sys

import mxnet as mx
import numpy as onp
from mxnet import autograd, gluon

flavour = sys.argv[1]
if flavour == "np":
    mx.npx.set_np()
make = mx.np.array if flavour == "np" else mx.nd.array

x = make(onp.random.RandomState(0).randn(16, 5).astype("float32"))
y = make(onp.arange(16) % 3)
loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
net = trainer = None


def new_net():
    global net, trainer
    mx.random.seed(1)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(8, activation="relu"), gluon.nn.Dense(3))
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})


def train(steps):
    losses = []
    for _ in range(steps):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(16)
        losses.append(loss.asnumpy().tolist())
    return losses


def imperdl_work():
    """The network's forward pass and its parameter gradients, written in imperdl on the live parameters."""
    import autograd as hips
    import autograd.numpy as anp

    import imperdl.numpy as np
    from imperdl.core import grad

    params = [p.data() for p in net.collect_params().values()]  # w1, b1, w2, b2: the user's MXNet arrays

    def forward(npm, w1, b1, w2, b2, data):
        h = npm.maximum(npm.dot(data, w1.T) + b1, 0.0)
        return npm.dot(h, w2.T) + b2

    def loss(npm):
        return lambda w1, b1, w2, b2, data: npm.sum(forward(npm, w1, b1, w2, b2, data) ** 2)

    host = [p.asnumpy() for p in params]
    out = forward(np, *params, x)
    grads = grad(loss(np), (0, 1, 2, 3))(*params, x)
    want = hips.grad(loss(anp), (0, 1, 2, 3))(*host, x.asnumpy())
    w = np.asarray(params[0])
    w *= 0.0  # imperdl's own copy: the user's parameter must not change
    w[0] = 1.0
    return {"out_err": float(onp.abs(out.asnumpy() - net(x).asnumpy()).max()),
            "grad_err": max(float(onp.abs(g.asnumpy() - h).max() / (onp.abs(h).max() + 1e-30))
                            for g, h in zip(grads, want)),
            "grad_dtypes": [str(g.dtype) for g in grads],
            "w": [float(w.sum()), float(onp.abs(host[0][0]).sum())]}


def session(use_imperdl):
    new_net()
    out = {"run1": train(3)}
    if use_imperdl:
        out["imperdl"] = imperdl_work()
    out["run2"] = train(3)
    out["params"] = [p.data().asnumpy().tolist() for p in net.collect_params().values()]
    return out


print(json.dumps({"none": session(False), "imperdl": session(True)}))
