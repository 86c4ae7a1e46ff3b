"""``minpy.numpy``: autograd's NumPy, plus MinPy's ``set_policy`` (a no-op in the reference)."""
from autograd.numpy import *  # noqa: F403

from . import random  # noqa: F401


def set_policy(policy):
    """One backend here: nothing to choose."""
