"""Whole-step capture: ``jit(f)`` records what ``f`` ran once per input signature and replays it as a compiled plan."""
from .errors import JitError
from .jitted import Jitted, jit

__all__ = ["jit", "Jitted", "JitError"]
