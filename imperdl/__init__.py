"""imperdl: NumPy code that runs on MXNet where MXNet has the operator and on NumPy where it has not,
with gradients. ``import imperdl.numpy as np``; ``from imperdl.core import grad``.
"""
from . import context
from .context import cpu, current_context, gpu, set_context
from .core import (
    AutoBlacklistPolicy,
    BlacklistPolicy,
    CostAwarePolicy,
    FallbackError,
    FallbackWarning,
    OnlyMXNetPolicy,
    OnlyNumPyPolicy,
    PreferMXNetPolicy,
    fallback_mode,
    get_fallback_mode,
    get_global_policy,
    print_statistics,
    reset_statistics,
    set_fallback_mode,
    set_global_policy,
    statistics,
    wrap_policy,
)

__version__ = "0.1.0"

__all__ = [
    "context", "cpu", "gpu", "current_context", "set_context", "PreferMXNetPolicy", "OnlyNumPyPolicy",
    "OnlyMXNetPolicy", "BlacklistPolicy", "AutoBlacklistPolicy", "set_global_policy", "get_global_policy",
    "wrap_policy", "fallback_mode", "set_fallback_mode", "get_fallback_mode", "FallbackWarning", "FallbackError",
    "statistics", "print_statistics", "reset_statistics", "CostAwarePolicy",
]
