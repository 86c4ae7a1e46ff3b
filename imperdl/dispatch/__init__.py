"""MinPy's module path ``minpy.dispatch.policy``: programs write ``from minpy.dispatch import policy`` or
``import minpy.dispatch.policy as policy``; with ``minpy`` read as ``imperdl`` both name ``imperdl.core.policy``."""
import sys

from ..core import policy

sys.modules[__name__ + ".policy"] = policy

__all__ = ["policy"]
