"""``minpy.numpy.random``: NumPy's global generator, returning MinPy-style arrays."""
import numpy

from ..array import Array


def _wrap(name):
    draw = getattr(numpy.random, name)
    return lambda *args, **kwargs: numpy.asarray(draw(*args, **kwargs)).view(Array)


for _name in ("rand", "randn", "randint", "normal", "uniform", "random", "random_sample", "choice", "permutation"):
    globals()[_name] = _wrap(_name)
seed = numpy.random.seed
