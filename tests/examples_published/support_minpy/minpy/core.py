"""MinPy's ``minpy.core.grad`` / ``grad_and_loss`` on HIPS autograd (see the package docstring)."""
import autograd
import autograd.numpy as anp
import numpy

from .array import Array


def _scalar(fun):
    return lambda *args: anp.sum(fun(*args))


def _as_arrays(grads, many):
    if many:
        return [numpy.asarray(g).view(Array) for g in grads]
    return numpy.asarray(grads).view(Array)


def _argnum(argnum):
    return (tuple(argnum), True) if not isinstance(argnum, int) else (argnum, False)


def grad_and_loss(fun, argnum=0):
    argnum, many = _argnum(argnum)
    value_and_grad = autograd.value_and_grad(_scalar(fun), argnum)

    def wrapped(*args):
        loss, grads = value_and_grad(*args)
        return _as_arrays(grads, many), loss

    return wrapped


def grad(fun, argnum=0):
    with_loss = grad_and_loss(fun, argnum)
    return lambda *args: with_loss(*args)[0]
