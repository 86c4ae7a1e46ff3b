"""``minpy.array``: MinPy's ``Array`` (a NumPy array here, with MinPy's ``asnumpy``) and ``Number``."""
import numbers

import numpy


class Array(numpy.ndarray):
    def asnumpy(self):
        return numpy.asarray(self)


Number = numbers.Number


def _differentiable():
    """autograd boxes arrays by exact type: let it treat ``Array`` as the ndarray it is."""
    from autograd.numpy.numpy_boxes import ArrayBox
    from autograd.numpy.numpy_vspaces import ArrayVSpace

    ArrayBox.register(Array)
    ArrayVSpace.register(Array)


_differentiable()
