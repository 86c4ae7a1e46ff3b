"""Gradient cases for ``numpy.fft`` rules (``imperdl/core/rules/fft.py``); contract in ``checker.py``.

Complex and real inputs, ``n``/``s`` that crop and that zero-pad, every ``norm``, odd and even lengths for the
real transforms (the Hermitian doubling differs), and axes other than the last.
"""
from __future__ import annotations


def _draw(rng, shape, cplx):
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if cplx else x


def tr(shape, cplx=True, fixed=(), **kwargs):
    return lambda rng: ((_draw(rng, shape, cplx),) + tuple(fixed), kwargs, (0,))


GRAD_CASES = {
    "fft.fft": [tr((5,)), tr((2, 4), False, axis=0), tr((6,), fixed=(8,)), tr((2, 6), fixed=(4,), norm="ortho")],
    "fft.ifft": [tr((5,)), tr((3, 4), False, n=3, axis=0, norm="forward")],
    "fft.fft2": [tr((3, 4)), tr((2, 3, 4), False, s=(4, 2), axes=(0, 2))],
    "fft.ifft2": [tr((3, 4), norm="ortho"), tr((3, 4), False, s=(2, 5))],
    "fft.fftn": [tr((2, 3, 4)), tr((3, 4), s=(5,), axes=(-1,), norm="ortho"), tr((2, 3, 4), False, axes=(2, 0))],
    "fft.ifftn": [tr((2, 3, 2)), tr((3, 4), False, s=(2, 6), axes=(1, 0))],
    "fft.rfft": [tr((6,), False), tr((7,), False), tr((5, 3), False, axis=0, norm="ortho"),
                 tr((6,), False, fixed=(9,)), tr((8,), False, fixed=(5,), norm="forward")],
    "fft.irfft": [tr((4,)), tr((4,), fixed=(7,)), tr((3, 4), axis=0, norm="ortho"), tr((5,), fixed=(4,)),
                  tr((4,), False, fixed=(8,), norm="forward")],
    "fft.rfft2": [tr((3, 4), False), tr((4, 3), False, s=(3, 5), norm="ortho")],
    "fft.irfft2": [tr((3, 3)), tr((2, 3), s=(3, 5))],
    "fft.rfftn": [tr((2, 3, 4), False), tr((3, 5), False, axes=(1, 0))],
    "fft.irfftn": [tr((2, 3, 3)), tr((3, 4), axes=(1, 0), norm="ortho")],
    "fft.fftshift": [tr((5,), False), tr((3, 4), axes=0)],
    "fft.ifftshift": [tr((4,)), tr((3, 4), False, axes=(0, 1))],
}
