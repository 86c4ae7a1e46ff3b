"""What the tape keeps: only what each rule reads (``core.reads``), released as soon as the backward pass is past it."""
from __future__ import annotations

import gc
import weakref

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import defvjp, grad, make_vjp, primitive
from imperdl.core.array import Array
from imperdl.core.reads import Absent, UndeclaredReadError, compile_reads
from imperdl.core.registry import primitive as registry_primitive
from imperdl.core.tape import Tape, state


@pytest.fixture(autouse=True)
def _numpy_only():
    with imperdl.OnlyNumPyPolicy():  # host buffers: what a weakref sees is what the tape holds
        yield


def _record(f, x):
    """``f(watched x)`` under a fresh tape; returns (tape, result)."""
    tape = Tape()
    leaf = tape.watch(np.array(x))
    state.stack.append(tape)
    try:
        out = f(leaf)
    finally:
        state.stack.remove(tape)
    return tape, out


def _entry(tape, name):
    return next(e for e in tape.entries if e.prim is not None and e.prim.name.rsplit(".", 1)[-1] == name)


def test_entries_keep_only_what_their_rules_read():
    c = np.array(onp.full(4, 3.0))
    tape, _ = _record(lambda x: np.sum(np.exp(x) * c + x), onp.arange(4.0))
    exp, mul, add, total = (_entry(tape, n) for n in ("exp", "multiply", "add", "sum"))
    assert type(exp.ans) is Array and type(exp.args[0]) is Absent  # exp's rule reads its result only
    assert type(mul.args[0]) is Absent and type(mul.args[1]) is Array  # x * c, x traced: c only
    assert type(mul.ans) is Absent
    assert all(type(a) is Absent for a in add.args) and type(add.ans) is Absent
    assert type(total.args[0]) is Absent and total.args[0].shape == (4,)  # sum's rule needs the shape


def test_a_rule_without_a_declaration_keeps_everything():
    @primitive
    def cube(x):
        return x ** 3

    defvjp(cube, lambda ans, x: lambda g: 3 * g * x * x)
    tape, _ = _record(lambda x: np.sum(cube(x)), onp.arange(3.0))
    e = _entry(tape, "cube")
    assert type(e.args[0]) is Array and type(e.ans) is Array
    assert onp.allclose(grad(lambda x: np.sum(cube(x)))(np.arange(3.0)).asnumpy(), [0.0, 3.0, 12.0])


def test_a_user_primitive_may_declare_its_reads():
    @primitive
    def square(x):
        return x * x

    defvjp(square, lambda ans, x: lambda g: 2 * g * x, reads=(0,))
    tape, _ = _record(lambda x: np.sum(square(x)), onp.arange(3.0))
    e = _entry(tape, "square")
    assert type(e.args[0]) is Array and type(e.ans) is Absent
    f = lambda x: np.sum(square(x) * x)  # noqa: E731
    onp.testing.assert_allclose(grad(f)(np.arange(3.0)).asnumpy(), 3 * onp.arange(3.0) ** 2)
    onp.testing.assert_allclose(grad(lambda x: np.sum(grad(f)(x)))(np.arange(3.0)).asnumpy(), 6 * onp.arange(3.0))


def test_a_false_declaration_fails_loudly():
    """A rule reading what it said it does not read raises, naming the rule: never a gradient from a stand-in."""
    vjp = registry_primitive("multiply").vjp
    saved = vjp.reads
    vjp.reads = compile_reads(())
    try:
        with pytest.raises(UndeclaredReadError, match="multiply"):
            grad(lambda x: np.sum(x * x))(np.arange(3.0))
    finally:
        vjp.reads = saved


def test_absent_has_shape_and_dtype_only():
    a = Absent((2, 3), onp.dtype("float32"), registry_primitive("sum"), 0)
    assert (a.shape, a.dtype, a.ndim, a.size, len(a)) == ((2, 3), onp.float32, 2, 6, 2)
    assert (onp.shape(a), onp.ndim(a), onp.size(a), onp.size(a, 1)) == ((2, 3), 2, 6, 3)
    for read in (lambda: onp.asarray(a), lambda: a + 1, lambda: 1.0 * a, lambda: onp.exp(a), lambda: a[0],
                 lambda: float(a), lambda: a.sum(), lambda: onp.concatenate([a, a]), lambda: bool(a)):
        with pytest.raises(UndeclaredReadError, match="sum"):
            read()


def test_intermediates_are_released_when_grad_returns():
    """Even when the caller keeps a later result (whose node refers to the tape) alive."""
    held, kept = [], []

    def f(x):
        t = np.exp(x)  # kept by the tape for exp's and log's rules, by nobody after backward
        held.append(weakref.ref(t._data[0]))
        kept.append(np.log(t))  # recorded after the loss: never reached by the backward walk
        return np.sum(t)

    g = grad(f)(np.arange(1000.0) / 1000)
    onp.testing.assert_allclose(g.asnumpy(), onp.exp(onp.arange(1000.0) / 1000))
    gc.collect()
    assert kept and held[0]() is None


def test_entries_are_released_while_backward_runs():
    """Once the walk is past an entry, what it kept is gone, before the earlier entries' rules run."""
    seen = []

    @primitive
    def probe(x):
        return x + 0.0

    def probe_vjp(ans, x):
        def vjp(g):
            gc.collect()
            seen.append(big[0]() is None)
            return g

        return vjp

    defvjp(probe, probe_vjp)
    big = []
    c = np.array(onp.full(1000, 2.0))

    def f(x):
        t = np.exp(probe(x))  # exp keeps its result; the multiply below keeps only c
        big.append(weakref.ref(t._data[0]))
        return np.sum(t * c)

    g = grad(f)(np.zeros(1000))
    onp.testing.assert_allclose(g.asnumpy(), 2.0)
    assert seen == [True]


def test_make_vjp_keeps_its_tape_for_repeated_calls():
    vjp, _ = make_vjp(lambda x: np.exp(x) * 2.0)(np.arange(3.0))
    first = vjp(np.ones(3)).asnumpy()
    onp.testing.assert_allclose(vjp(np.ones(3)).asnumpy(), first)
    onp.testing.assert_allclose(first, 2 * onp.exp(onp.arange(3.0)))


def test_second_order_through_rules_that_keep_little():
    """d2/dx2 of sum(exp(x) * sin(x) + x**2 / 2) = 2 exp(x) cos(x) + 1, through exp (result only), add (nothing),
    multiply (the other factor) and the rules' own recorded operations."""
    x = onp.linspace(-1, 1, 5)
    f = lambda x: np.sum(np.exp(x) * np.sin(x) + np.square(x) / 2)  # noqa: E731
    h = grad(lambda x: np.sum(grad(f)(x)))(np.array(x)).asnumpy()
    onp.testing.assert_allclose(h, 2 * onp.exp(x) * onp.cos(x) + 1, rtol=1e-12)


def test_an_in_place_write_keeps_no_snapshot_of_the_old_value():
    """setitem's rule reads the key (the old and new values: their shapes), so the write needs no copy-on-write."""
    def f(x):
        b = x * 1.0
        b[1:3] = np.sin(x[:2])
        return b

    tape, b = _record(f, onp.arange(4.0))
    e = _entry(tape, "__setitem__")
    assert type(e.args[0]) is Absent and type(e.args[2]) is Absent and e.args[1] == slice(1, 3)
    assert not b._cow  # written in place: nothing on the tape shares its old buffer
    x = onp.arange(4.0)
    onp.testing.assert_allclose(grad(lambda v: np.sum(f(v) ** 2))(np.array(x)).asnumpy(),
                                [2 * x[0] + 2 * onp.sin(x[0]) * onp.cos(x[0]),
                                 2 * onp.sin(x[1]) * onp.cos(x[1]), 0.0, 2 * x[3]])


def test_a_host_view_copied_to_mxnet_is_kept_as_the_mxnet_copy():
    """A slice of a big host array, read by an MXNet-run rule that keeps it, must not hold the whole array."""
    from imperdl.core import sigmoid
    from imperdl.core.backends import mxnet_backend

    if mxnet_backend.load() is None:
        pytest.skip("MXNet is not installed")
    held = []

    def f(x):
        a = x * 2.0  # on the host (only_numpy), read by no rule (multiply's keeps the 2.0) but through the slice
        held.append(weakref.ref(a._data[0]))
        v = a[:, :2]  # a host view
        with imperdl.PreferMXNetPolicy():
            s = sigmoid(v)  # its rule reads its input: the slice's MXNet copy is what the tape keeps
        assert v._data[0].base is not None and v._data[1] is not None  # (the case: both copies fresh)
        return np.sum(s)

    x = onp.linspace(-1, 1, 400).reshape(100, 4)
    vjp, _ = make_vjp(f)(np.array(x))
    gc.collect()
    assert held[0]() is None
    s = 1 / (1 + onp.exp(-2 * x[:, :2]))
    expected = onp.zeros_like(x)
    expected[:, :2] = s * (1 - s) * 2
    onp.testing.assert_allclose(vjp(None).asnumpy(), expected, rtol=1e-10)


@pytest.mark.mxnet
@pytest.mark.parametrize("jitted", [False, True])
def test_mxnet_recorded_results_are_freed_without_the_cycle_collector(jitted):
    """An MXNet-recorded forward (convolution, pooling) and its MXNet graph are freed by reference counting:
    a cycle left them to Python's cyclic GC, so each step's buffers outlived it and the next step faulted in
    fresh pages (a jitted CNN step ran 2x slower for its first ~20 steps)."""
    from imperdl.core import conv2d, max_pool2d, relu
    from imperdl.core.capture import jit

    x = np.array(onp.ones((2, 3, 8, 8), onp.float32))

    def loss(w):
        return np.sum(max_pool2d(relu(conv2d(x, w, None, stride=1, pad=1)), 2, 2, 2))

    step = jit(grad(loss)) if jitted else grad(loss)
    with imperdl.PreferMXNetPolicy():
        w = np.array(onp.full((4, 3, 3, 3), 0.1, onp.float32))
        ref = step(w).asnumpy()
        gc.collect()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            got = step(w).asnumpy()
            gc.collect()
            kinds = {type(o).__name__ for o in gc.garbage}
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            gc.enable()
    onp.testing.assert_array_equal(got, ref)
    assert not kinds & {"Graph", "Array", "ndarray", "NDArray"}, kinds
