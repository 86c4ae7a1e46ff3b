"""imperdl: NumPy code that runs on MXNet where MXNet has the operator and on NumPy where it has not,
with gradients. ``import imperdl.numpy as np``; ``from imperdl.core import grad``.
"""
from . import context
from .context import cpu, current_context, gpu, set_context
from .core import (  # the policies and statistics; autograd's differential operators (``from autograd import grad``)
    AutoBlacklistPolicy,
    BlacklistPolicy,
    CostAwarePolicy,
    FallbackError,
    FallbackWarning,
    OnlyMXNetPolicy,
    OnlyNumPyPolicy,
    PreferMXNetPolicy,
    checkpoint,
    deriv,
    elementwise_grad,
    fallback_mode,
    get_fallback_mode,
    get_global_policy,
    grad,
    grad_and_aux,
    grad_named,
    hessian,
    hessian_tensor_product,
    hessian_vector_product,
    jacobian,
    jit,
    make_hvp,
    make_jvp,
    make_vjp,
    print_statistics,
    reset_statistics,
    set_fallback_mode,
    set_global_policy,
    statistics,
    tensor_jacobian_product,
    value_and_grad,
    vector_jacobian_product,
    wrap_policy,
)

__version__ = "0.1.0"

__all__ = [
    "context", "cpu", "gpu", "current_context", "set_context", "PreferMXNetPolicy", "OnlyNumPyPolicy",
    "OnlyMXNetPolicy", "BlacklistPolicy", "AutoBlacklistPolicy", "set_global_policy", "get_global_policy",
    "wrap_policy", "fallback_mode", "set_fallback_mode", "get_fallback_mode", "FallbackWarning", "FallbackError",
    "statistics", "print_statistics", "reset_statistics", "CostAwarePolicy",
    "grad", "value_and_grad", "elementwise_grad", "jacobian", "hessian", "hessian_vector_product",
    "hessian_tensor_product", "make_vjp", "make_jvp", "make_hvp", "grad_and_aux", "grad_named", "deriv",
    "tensor_jacobian_product", "vector_jacobian_product", "checkpoint", "jit",
]
