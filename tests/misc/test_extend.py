"""autograd's extension API on imperdl: user primitives with defvjp / defvjp_argnum(s) / defjvp, checked against
float64 finite differences (first and second order) and against the same primitives defined in autograd."""
from __future__ import annotations

import autograd
import autograd.extend as ag_extend
import autograd.numpy as anp
import numpy as onp
import pytest

import imperdl.numpy as np
from imperdl.core import (
    Array,
    check_grads,
    defjvp,
    defjvp_argnum,
    defvjp,
    defvjp_argnums,
    grad,
    make_jvp,
    primitive,
)

RNG = onp.random.RandomState(11)
X = RNG.randn(5)
Y = RNG.randn(5)


def _define(extend, lib):
    """The same user primitives, written once per library (autograd's code with only the imports changed)."""
    @extend.primitive
    def logsumexp(x):
        m = onp.max(x)
        return m + onp.log(onp.sum(onp.exp(x - m)))

    extend.defvjp(logsumexp, lambda ans, x: lambda g: g * lib.exp(x - ans))

    @extend.primitive
    def weighted(x, y, scale=2.0):
        return scale * onp.sin(x) * y

    extend.defvjp(weighted,
                  lambda ans, x, y, scale=2.0: lambda g: g * scale * lib.cos(x) * y,
                  lambda ans, x, y, scale=2.0: lambda g: g * scale * lib.sin(x))

    @extend.primitive
    def product(a, b):
        return a * b

    extend.defvjp_argnum(product, lambda argnum, ans, args, kwargs: lambda g: g * args[1 - argnum])

    @extend.primitive
    def cube(x):
        return x ** 3

    extend.defjvp(cube, lambda g, ans, x: 3.0 * x ** 2 * g)
    if lib is anp:  # autograd needs a vjp for reverse mode; imperdl transposes the jvp
        extend.defvjp(cube, lambda ans, x: lambda g: 3.0 * x ** 2 * g)
    return logsumexp, weighted, product, cube


OURS = _define(__import__("imperdl.extend", fromlist=["x"]), np)
THEIRS = _define(ag_extend, anp)


def _losses(lib, prims):
    logsumexp, weighted, product, cube = prims
    return {
        "logsumexp": lambda x, y: logsumexp(x * y) ** 2,
        "weighted": lambda x, y: lib.sum(weighted(x, y, scale=3.0) ** 2),
        "product": lambda x, y: lib.sum(lib.tanh(product(x, y))),
        "cube": lambda x, y: lib.sum(cube(x) * y),
    }


@pytest.mark.filterwarnings("ignore:Output seems independent of input:UserWarning")
@pytest.mark.parametrize("argnum", [0, 1])
@pytest.mark.parametrize("name", ["logsumexp", "weighted", "product", "cube"])
def test_first_and_second_order_match_autograd(name, argnum):
    ours = _losses(np, OURS)[name]
    theirs = _losses(anp, THEIRS)[name]
    g = grad(ours, argnum)(X, Y)
    g_ag = autograd.grad(theirs, argnum)(X, Y)
    assert g.dtype == onp.float64
    onp.testing.assert_allclose(g.asnumpy(), g_ag, rtol=1e-12, atol=1e-14)
    h = grad(lambda x, y: np.sum(grad(ours, argnum)(x, y) * Y), argnum)(X, Y)
    h_ag = autograd.grad(lambda x, y: anp.sum(autograd.grad(theirs, argnum)(x, y) * Y), argnum)(X, Y)
    onp.testing.assert_allclose(h.asnumpy(), h_ag, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("name", ["logsumexp", "weighted", "product", "cube"])
def test_against_finite_differences_to_second_order(name):
    onp.random.seed(0)
    check_grads(_losses(np, OURS)[name], argnum=(0, 1), modes=["rev", "fwd"], order=2)(X, Y)


def _fd_grad(f, x, eps=1e-6):
    out = onp.zeros_like(x)
    for i in range(x.size):
        e = onp.zeros_like(x)
        e[i] = eps
        out[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
    return out


def test_user_primitive_by_hand_finite_differences():
    logsumexp = OURS[0]
    g = grad(logsumexp)(X)
    onp.testing.assert_allclose(g.asnumpy(), _fd_grad(lambda x: logsumexp(x), X), rtol=1e-7, atol=1e-9)
    hess_row = grad(lambda x: grad(logsumexp)(x)[0])(X)
    onp.testing.assert_allclose(hess_row.asnumpy(), _fd_grad(lambda x: grad(logsumexp)(x)[0], X),
                                rtol=1e-6, atol=1e-8)


def test_check_grads_catches_a_wrong_vjp():
    @primitive
    def sine(x):
        return onp.sin(x)

    defvjp(sine, lambda ans, x: lambda g: g * np.cos(x) * 1.001)
    onp.random.seed(1)
    with pytest.raises(AssertionError, match=r"vjp\) of sine at order 1 does not match.*analytic .*numeric"):
        check_grads(sine, modes=["rev"], order=1)(X)
    # first order right, second order wrong: caught at order 2
    @primitive
    def sine2(x):
        return onp.sin(x)

    defvjp(sine2, lambda ans, x: lambda g: g * np.cos(stop(x)))
    with pytest.raises(AssertionError, match="order 2"):
        check_grads(sine2, modes=["rev"], order=2)(X)


def stop(x):
    from imperdl.core import stop_gradient

    return stop_gradient(x)


def test_defvjp_argnums_and_none_and_argnums_keyword():
    @primitive
    def f(a, b, c):
        return a * b + c

    defvjp_argnums(f, lambda argnums, ans, args, kwargs: lambda g: [g * args[1] if n == 0 else g * args[0]
                                                                    for n in argnums])
    ga, gb = grad(lambda a, b: np.sum(f(a, b, 1.0)), (0, 1))(X, Y)
    onp.testing.assert_allclose(ga.asnumpy(), Y)
    onp.testing.assert_allclose(gb.asnumpy(), X)

    @primitive
    def h(a, b):
        return a * onp.exp(b)

    defvjp(h, None, lambda ans, a, b: lambda g: g * ans, argnums=(0, 1))  # None: a zero gradient for a
    ga, gb = grad(lambda a, b: np.sum(h(a, b)), (0, 1))(X, Y)
    onp.testing.assert_array_equal(ga.asnumpy(), onp.zeros(5))
    onp.testing.assert_allclose(gb.asnumpy(), X * onp.exp(Y))


def test_defjvp_argnum_and_same_give_reverse_mode_by_transposition():
    @primitive
    def scale(x, k):
        return k * x

    defjvp(scale, "same")  # linear in x: the jvp is the primitive itself, which cannot be transposed by itself
    with pytest.raises(NotImplementedError, match="jvp uses the primitive itself.*defvjp"):
        grad(lambda x: np.sum(scale(x, 3.0) ** 2))(X)
    defvjp(scale, "same" and (lambda ans, x, k: lambda g: k * g))
    onp.testing.assert_allclose(grad(lambda x: np.sum(scale(x, 3.0) ** 2))(X).asnumpy(), 18.0 * X)

    @primitive
    def mul(a, b):
        return a * b

    defjvp_argnum(mul, lambda argnum, g, ans, args, kwargs: g * args[1 - argnum])
    ga, gb = grad(lambda a, b: np.sum(mul(a, b) ** 2), (0, 1))(X, Y)
    onp.testing.assert_allclose(ga.asnumpy(), 2 * X * Y * Y)
    onp.testing.assert_allclose(gb.asnumpy(), 2 * X * Y * X)


def test_make_jvp_matches_autograd():
    from autograd.differential_operators import make_jvp_reversemode

    v = RNG.randn(5)
    # a plain function: against autograd's true forward mode
    val, tangent = make_jvp(lambda x, y: np.tanh(x * y) * np.sum(x ** 2), 0)(X, Y)(v)
    val_ag, tangent_ag = autograd.make_jvp(lambda x, y: anp.tanh(x * y) * anp.sum(x ** 2), 0)(X, Y)(v)
    onp.testing.assert_allclose(val.asnumpy(), val_ag, rtol=1e-13)
    onp.testing.assert_allclose(tangent.asnumpy(), tangent_ag, rtol=1e-12)
    # user primitives with vjps only (autograd's forward mode would need jvps): against autograd's reverse-mode jvp
    f, f_ag = _losses(np, OURS)["weighted"], _losses(anp, THEIRS)["weighted"]
    val, tangent = make_jvp(f, 0)(X, Y)(v)
    tangent_ag = make_jvp_reversemode(f_ag, 0)(X, Y)(v)  # autograd's returns the product alone
    onp.testing.assert_allclose(float(val), f_ag(X, Y), rtol=1e-13)
    onp.testing.assert_allclose(float(tangent), tangent_ag, rtol=1e-12)


def test_body_sees_numpy_values_and_records_nothing_inside():
    seen = []

    @primitive
    def f(x):
        seen.append(type(x))
        return np.sum(np.exp(x)) * 1.0  # imperdl.numpy inside the body: not recorded, the vjp is what counts

    defvjp(f, lambda ans, x: lambda g: g * 2.0 * np.exp(x))  # deliberately twice the true gradient
    g = grad(f)(X)
    assert seen == [onp.ndarray]
    onp.testing.assert_allclose(g.asnumpy(), 2.0 * onp.exp(X))


def test_identity_primitive_with_its_own_vjp_and_float_results():
    @primitive
    def clip_gradient(x):
        return x

    defvjp(clip_gradient, lambda ans, x: lambda g: np.clip(g, -0.5, 0.5))
    g = grad(lambda x: np.sum(3.0 * clip_gradient(x)))(X)
    onp.testing.assert_array_equal(g.asnumpy(), onp.full(5, 0.5))

    @primitive
    def total(x):
        return float(onp.sum(x ** 2))  # a Python float result is still differentiated

    defvjp(total, lambda ans, x: lambda g: 2 * g * x)
    onp.testing.assert_allclose(grad(total)(X).asnumpy(), 2 * X)


def test_clear_errors():
    @primitive
    def f(x, y):
        return x * y

    with pytest.raises(NotImplementedError, match=r"no gradient rule"):
        grad(lambda x: np.sum(f(x, 2.0)))(X)
    defvjp(f, lambda ans, x, y: lambda g: g * y)
    with pytest.raises(NotImplementedError, match=r"VJP of .*f with respect to argument 1 not defined"):
        grad(lambda y: np.sum(f(2.0, y)))(X)
    with pytest.raises(NotImplementedError, match=r"keyword argument 'y' is being differentiated"):
        grad(lambda y: np.sum(f(X, y=y)))(Y)
    with pytest.raises(TypeError, match="is not a primitive"):
        defvjp(lambda x: x, lambda ans, x: lambda g: g)

    def exp(x):  # named like a NumPy function: it must not borrow autograd's rule for numpy.exp
        return onp.exp(2 * x)

    exp.__qualname__ = "exp"  # as a module-level function is named
    exp = primitive(exp)
    with pytest.raises(NotImplementedError, match=r"exp has no gradient rule"):
        grad(lambda x: np.sum(exp(x)))(X)


def test_primitive_as_method_and_repr():
    class Model:
        @primitive
        def energy(self, x):
            return onp.sum(x ** 2)

    defvjp(Model.energy, None, lambda ans, self, x: lambda g: 2 * g * x)
    m = Model()
    onp.testing.assert_allclose(grad(lambda x: m.energy(x))(X).asnumpy(), 2 * X)
    assert "energy" in repr(Model.energy)
    assert type(m.energy(X)) is Array


def test_module_aliases():
    import imperdl.extend
    import imperdl.test_util
    from imperdl import core

    assert imperdl.extend.primitive is core.primitive and imperdl.extend.defvjp is core.defvjp
    assert imperdl.test_util.check_grads is core.check_grads
    assert imperdl.test_util.quick_grad_check is core.quick_grad_check


def test_vjp_built_with_np_full_checks_in_both_modes_to_second_order():
    """autograd's define_gradient example builds its vjp with np.full(shape, g): differentiable again here."""
    @primitive
    def lse(x):
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))  # imperdl.numpy on the raw values, as the example does

    def lse_vjp(ans, x):
        shape = x.shape
        return lambda g: np.full(shape, g) * np.exp(x - np.full(shape, ans))

    defvjp(lse, lse_vjp)
    onp.random.seed(3)
    check_grads(lambda y: np.sum(lse(y ** 2)))(RNG.randn(6))  # autograd's default modes: fwd and rev, order 2
    # np.full's own rule: the gradient of the fill value is the sum over the broadcast
    g = grad(lambda v: np.sum(np.sin(np.full((3, 2), v)) * onp.arange(6.0).reshape(3, 2)))(np.array([0.3, 0.7]))
    want = (onp.cos([0.3, 0.7]) * onp.arange(6.0).reshape(3, 2)).sum(0)
    onp.testing.assert_allclose(g.asnumpy(), want, rtol=1e-13)
