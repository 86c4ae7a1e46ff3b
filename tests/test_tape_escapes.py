"""A gradient is never silently dropped: every way a traced Array can leave the tape (NumPy's methods and
``__array__``, ``float()``/``int()``, ``.item()``/``.tolist()``, NumPy functions imperdl does not know) raises
``TracedConversionError`` naming the line and what to write instead, while printing, logging and plotting traced
values keep working. Gradients are compared with HIPS autograd."""
from __future__ import annotations

import logging

import autograd
import autograd.numpy as anp
import numpy
import pytest

try:  # NumPy 2 moved it (numpy.core warns there)
    from numpy._core.overrides import array_function_dispatch
except ImportError:
    from numpy.core.overrides import array_function_dispatch

import imperdl.numpy as np
from imperdl.core import TracedConversionError, grad, stop_gradient

RNG = numpy.random.default_rng(0)
X = RNG.standard_normal((4, 2, 3))  # a plain NumPy input, as CS231n's notebooks pass it
W = RNG.standard_normal((6, 5))
B = RNG.standard_normal(5)


def _affine_numpy_method(x, w, b):
    """CS231n's affine_forward: with x a numpy.ndarray, ``x.dot(w)`` is NumPy's method converting w."""
    return x.reshape(x.shape[0], -1).dot(w) + b


def test_numpy_method_on_traced_value_raises_naming_the_line():
    def loss(w):
        return np.sum(_affine_numpy_method(X, w, B) ** 2)

    with pytest.raises(TracedConversionError) as info:
        grad(loss)(np.array(W))
    msg = str(info.value)
    assert isinstance(info.value, TypeError)
    assert "x.reshape(x.shape[0], -1).dot(w) + b" in msg and "test_tape_escapes.py" in msg
    assert "np.dot(a, x)" in msg and "stop_gradient" in msg and "(6, 5)" in msg


def test_written_with_imperdl_numpy_the_gradient_matches_autograd():
    def loss(mod, w):
        return mod.sum((mod.dot(X.reshape(X.shape[0], -1), w) + B) ** 2)

    got = grad(lambda w: loss(np, w))(np.array(W))
    want = autograd.grad(lambda w: loss(anp, w))(W)
    numpy.testing.assert_allclose(numpy.asarray(got), want, rtol=1e-12)


@array_function_dispatch(lambda x: (x,))
def _third_party_sum(x):
    """A library function taking part in NumPy's ``__array_function__`` protocol, unknown to imperdl."""
    return numpy.add.reduce(numpy.asarray(x))


ESCAPES = {
    "numpy.asarray": lambda t: numpy.asarray(t),
    "numpy.array": lambda t: numpy.array(t),
    "numpy method dot": lambda t: numpy.ones((2, 3)).dot(t),
    "float": lambda t: float(np.sum(t)),
    "int": lambda t: int(np.sum(t)),
    "complex": lambda t: complex(np.sum(t)),
    "percent-f formatting": lambda t: "%f" % np.sum(t),  # noqa: UP031 (the spelling under test)
    "item": lambda t: t.item(0),
    "tolist": lambda t: t.tolist(),
    "tobytes": lambda t: t.tobytes(),
    "flat": lambda t: list(t.flat),
    "NumPy-protocol function imperdl does not know": lambda t: _third_party_sum(t),
    "numpy.copyto into an Array": lambda t: numpy.copyto(np.zeros(3), t),
    "numpy.copyto into an ndarray": lambda t: numpy.copyto(numpy.zeros(3), t),
    "numpy.put": lambda t: numpy.put(np.zeros(5), [0, 1, 2], t),
}


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_every_escape_of_a_traced_value_raises(case):
    escape = ESCAPES[case]

    def f(w):
        escape(w)
        return np.sum(w * w)

    with pytest.raises(TracedConversionError, match="being differentiated"):
        grad(f)(np.arange(3.0))


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_the_same_escapes_work_on_values_not_being_traced(case):
    escape = ESCAPES[case]
    a = np.arange(3.0)
    want = escape(numpy.arange(3.0)) if case not in ("item", "tobytes") else None
    got = escape(a)
    if want is not None:
        numpy.testing.assert_allclose(numpy.asarray(got, dtype=complex), numpy.asarray(want, dtype=complex))

    def f(w):  # a constant from stop_gradient may leave on purpose; the traced part keeps its gradient
        escape(stop_gradient(w))
        return np.sum(w * w)

    numpy.testing.assert_allclose(numpy.asarray(grad(f)(np.arange(3.0))), 2 * numpy.arange(3.0))
    _, loss = (lambda r: (r, np.sum(a * a)))(None)
    assert float(loss) == 5.0  # after grad returned, the loss is an ordinary value


def test_stop_gradient_constant_gives_autograd_gradient():
    def f(mod, w, const):
        return mod.sum(w * w) * const

    got = grad(lambda w: f(np, w, float(stop_gradient(np.sum(w)))))(np.arange(1.0, 4.0))
    want = autograd.grad(lambda w: f(anp, w, 6.0))(numpy.arange(1.0, 4.0))
    numpy.testing.assert_allclose(numpy.asarray(got), want)


def test_printing_logging_and_control_flow_of_traced_values_keep_working(capsys, caplog):
    log = logging.getLogger("test_tape_escapes")

    def f(mod, w, display):
        s = mod.sum(w * w)
        if display:  # the imperdl run displays its traced values every way
            print(w, repr(w), str(s), f"{s:.3f}", "{:.2f}".format(s), "%s" % s)  # noqa: UP031, UP032
            with caplog.at_level(logging.INFO, logger="test_tape_escapes"):
                log.info("loss %f, w %s", s, w)
        if s > 1.0 and bool(w[0] < 5):  # control flow reads values without leaving the tape
            s = s * 2.0
        return s

    got = grad(lambda w: f(np, w, True))(np.arange(1.0, 4.0))
    want = autograd.grad(lambda w: f(anp, w, False))(numpy.arange(1.0, 4.0))
    numpy.testing.assert_allclose(numpy.asarray(got), want)
    out = capsys.readouterr().out
    assert "[1. 2. 3.]" in out and "14.000" in out and "14.00" in out
    assert "loss 14.000000, w [1. 2. 3.]" in caplog.text


def test_plotting_a_traced_value_keeps_working():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    drawn = []

    def f(w):
        y = w * w
        drawn.extend(ax.plot(y))
        ax.imshow(np.reshape(y, (1, 3)))
        fig.canvas.draw()
        return np.sum(y)

    try:
        g = grad(f)(np.arange(1.0, 4.0))
        drawn[0] = numpy.asarray(drawn[0].get_ydata(), dtype=float)  # read once grad returned: not traced now
    finally:
        plt.close(fig)
    numpy.testing.assert_allclose(drawn[0], [1.0, 4.0, 9.0])
    numpy.testing.assert_allclose(numpy.asarray(g), [2.0, 4.0, 6.0])


class _HandWrittenNet:
    """A CS231n model whose loss(X, y) returns (loss, grads) computed by hand, reading float(loss) on the way: the
    Solver's first step runs it under a tape, where float() of the traced loss raises; the Solver must see a model
    with its own gradients and train with them."""

    def __init__(self):
        self.params = {"W": np.array(RNG.standard_normal((4, 3)) * 0.1)}
        self.seen = []

    def loss(self, X, y=None):
        scores = np.dot(X, self.params["W"])
        if y is None:
            return scores
        diff = scores - np.eye(3)[numpy.asarray(y)]
        loss = 0.5 * np.sum(diff * diff) / X.shape[0]
        self.seen.append((float(loss), self.params["W"].asnumpy(), X.asnumpy(), numpy.eye(3)[numpy.asarray(y)]))
        return loss, {"W": np.dot(np.transpose(X), diff) / X.shape[0]}


def test_solver_trains_a_model_whose_hand_written_loss_reads_float():
    from imperdl.nn import Solver

    data = {"X_train": RNG.standard_normal((8, 4)), "y_train": RNG.integers(0, 3, 8),
            "X_val": RNG.standard_normal((4, 4)), "y_val": RNG.integers(0, 3, 4)}
    model = _HandWrittenNet()
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 0.1}, num_epochs=2,
                    batch_size=8, verbose=False)
    solver.train()
    assert len(model.seen) == 2  # the probe under the tape raised at float(loss); then one call per step
    (l0, w_0, X0, Y0), (l1, w_1, X1, Y1) = model.seen
    want = [0.5 * numpy.sum((X @ w - Y) ** 2) / 8 for w, X, Y in ((w_0, X0, Y0), (w_1, X1, Y1))]
    numpy.testing.assert_allclose([l0, l1], want, rtol=1e-10)
    numpy.testing.assert_allclose(w_1, w_0 - 0.1 * X0.T @ (X0 @ w_0 - Y0) / 8, rtol=1e-10)  # the model's grads
    numpy.testing.assert_allclose(solver.loss_history, [l0, l1], rtol=1e-12)
