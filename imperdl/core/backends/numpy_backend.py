"""The host backend: NumPy itself. Always available; the reference for every result."""
import numpy

NAME = "NumPy"
ndarray = numpy.ndarray


def available() -> bool:
    return True


def from_host(x: numpy.ndarray, ctx=None) -> numpy.ndarray:
    return x


def to_host(x: numpy.ndarray) -> numpy.ndarray:
    return x
