"""Both runs of a published program start from the same NumPy global random state (MinPy-style programs draw
from it without seeding)."""
import numpy

numpy.random.seed(0)
