"""The reference for MinPy programs (MinPy itself does not install on current Python): the few MinPy names the
published programs use, implemented with HIPS autograd and NumPy, whose arithmetic MinPy's NumPy path also used.

Only the harness puts this folder on ``sys.path``, and only for the reference run. MinPy conventions kept: ``grad``
takes ``argnum`` as an int or a list (a list of gradients), ``grad_and_loss`` returns ``(gradients, loss)``, the
gradient of a non-scalar function is the gradient of its sum, arrays have ``asnumpy()``, and draws come from
NumPy's global generator.
"""
