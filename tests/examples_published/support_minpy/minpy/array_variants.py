"""``minpy.array_variants``: MinPy's backend enumeration (only imported by the programs)."""
import enum


class ArrayType(enum.Enum):
    NUMPY = 0
    MXNET = 1
