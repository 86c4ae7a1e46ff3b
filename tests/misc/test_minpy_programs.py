"""Programs written for MinPy run on imperdl with only ``minpy`` replaced by ``imperdl`` in their imports.

MinPy itself cannot be installed next to imperdl (it needs Python 2-era MXNet), so these programs are checked for
running as written and learning; the numbers of each MinPy habit they use are checked against MinPy's arithmetic
in ``test_minpy_habits.py``. They follow MinPy's examples (examples/nn): a ``ModelBase`` whose ``forward(X)``
takes no mode, a symbol network called with every parameter of the model, MinPy's ``batchnorm``/``dropout``
calls, and MinPy's ``Solver`` over ``NDArrayIter``s, on small synthetic data instead of CIFAR-10.
"""
from __future__ import annotations

import contextlib
import io
import re

import numpy as onp
import pytest

MLP = '''
import minpy
import minpy.numpy as np
from minpy.nn import layers
from minpy.nn.model import ModelBase
from minpy.nn.solver import Solver
from minpy.nn.io import NDArrayIter

batch_size, input_size, hidden_size, num_classes = 16, (2, 4, 4), 32, 3

class TwoLayerNet(ModelBase):
    def __init__(self):
        super(TwoLayerNet, self).__init__()
        self.add_param(name='w1', shape=(32, hidden_size)) \\
            .add_param(name='b1', shape=(hidden_size,)) \\
            .add_param(name='w2', shape=(hidden_size, num_classes)) \\
            .add_param(name='b2', shape=(num_classes,))

    def forward(self, X):
        X = np.reshape(X, (batch_size, 32))
        y1 = layers.affine(X, self.params['w1'], self.params['b1'])
        y2 = layers.relu(y1)
        return layers.affine(y2, self.params['w2'], self.params['b2'])

    def loss(self, predict, y):
        return layers.softmax_loss(predict, y)

train_dataiter = NDArrayIter(data=DATA['X_train'], label=DATA['y_train'], batch_size=batch_size, shuffle=True)
test_dataiter = NDArrayIter(data=DATA['X_test'], label=DATA['y_test'], batch_size=batch_size, shuffle=False)
solver = Solver(TwoLayerNet(), train_dataiter, test_dataiter, num_epochs=4, init_rule='gaussian',
                init_config={'stdvar': 0.1}, update_rule='sgd_momentum',
                optim_config={'learning_rate': 0.05, 'momentum': 0.9}, verbose=True, print_every=20)
solver.init()
solver.train()
'''

SYMBOL_NET = '''
import mxnet as mx
import minpy.numpy as np
from minpy.core import Function
from minpy.nn import layers
from minpy.nn.model import ModelBase
from minpy.nn.solver import Solver
from minpy.nn.io import NDArrayIter

batch_size, hidden_size, num_classes = 16, 24, 3

class SymbolNet(ModelBase):
    def __init__(self):
        super(SymbolNet, self).__init__()
        net = mx.sym.Variable(name='X')
        net = mx.sym.Flatten(data=net)
        net = mx.sym.FullyConnected(data=net, name='fc1', num_hidden=hidden_size)
        self.fc1 = Function(net, input_shapes={'X': (batch_size, 2, 4, 4)}, name='fc1')
        net = mx.sym.FullyConnected(data=mx.sym.Variable(name='h'), name='fc2', num_hidden=num_classes,
                                    no_bias=True)
        self.fc2 = Function(net, input_shapes={'h': (batch_size, hidden_size)}, name='fc2')
        self.add_params(self.fc1.get_params())
        self.add_params(self.fc2.get_params())
        self.add_param(name='gamma', shape=(hidden_size,)).add_param(name='beta', shape=(hidden_size,))
        self.running_mean, self.running_var = None, None

    def forward(self, X, mode):
        h = self.fc1(X=X, **self.params)             # every parameter of the model, as MinPy's examples pass them
        h, self.running_mean, self.running_var = layers.batchnorm(
            h, self.params['gamma'], self.params['beta'], mode=mode,
            running_mean=self.running_mean, running_var=self.running_var)
        h = layers.dropout(layers.relu(h), 0.1, mode=mode)
        return self.fc2(h=h, fc2_bias=None, **self.params)

    def loss(self, predict, y):
        return layers.softmax_loss(predict, y)

train_dataiter = NDArrayIter(data=DATA['X_train'], label=DATA['y_train'], batch_size=batch_size, shuffle=True)
test_dataiter = NDArrayIter(data=DATA['X_test'], label=DATA['y_test'], batch_size=batch_size, shuffle=False)
solver = Solver(SymbolNet(), train_dataiter, test_dataiter, num_epochs=4, init_rule='gaussian',
                init_config={'stdvar': 0.1}, update_rule='adam', optim_config={'learning_rate': 0.01},
                verbose=True, print_every=20, task_type='classification')
solver.init()
solver.train()
'''


def _data():
    rng = onp.random.RandomState(0)
    centers = rng.randn(3, 2, 4, 4) * 1.5
    y = rng.randint(0, 3, 160)
    X = (centers[y] + rng.randn(160, 2, 4, 4)).astype(onp.float32)  # float32 like the parameters MinPy initialises
    return {"X_train": X[:128], "y_train": y[:128], "X_test": X[128:], "y_test": y[128:]}


def _ported(source: str) -> str:
    return "\n".join(re.sub(r"\bminpy\b", "imperdl", ln) if ln.startswith(("import ", "from ")) else ln
                     for ln in source.splitlines())


def _run(source: str) -> tuple[str, dict]:
    import imperdl.numpy as inp

    inp.random.seed(0)
    onp.random.seed(0)
    namespace = {"__name__": "__main__", "DATA": _data()}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_ported(source), "<minpy program>", "exec"), namespace)
    return out.getvalue(), namespace


def _check(source: str) -> None:
    text, ns = _run(source)
    solver = ns["solver"]
    assert "minpy" not in "".join(ln for ln in _ported(source).splitlines() if ln.startswith(("import", "from")))
    assert len(solver.val_acc_history) == 4 and len(solver.loss_history) == 4 * 8
    assert re.search(r"\(Epoch 4 / 4\) train acc: [\d.]+; val_acc: [\d.]+", text)
    assert onp.mean(solver.loss_history[-8:]) < 0.5 * onp.mean(solver.loss_history[:8])  # it learns
    assert solver.val_acc_history[-1] >= 0.8  # well above chance (1/3) on separable clusters


def test_minpy_mlp_with_a_forward_that_takes_no_mode():
    _check(MLP)


@pytest.mark.mxnet
def test_minpy_symbol_network_with_every_parameter_batchnorm_and_dropout():
    _check(SYMBOL_NET)
