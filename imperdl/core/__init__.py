"""The engine: Array, primitives and their registry, dispatch and policies, the tape and differential operators."""
from . import allocator as _allocator  # noqa: F401  (glibc keeps a step's freed buffers for the next: tunes on import)
from . import mxnet_impls as _mxnet_impls  # noqa: F401  (fills the MXNet column of the registry)
from . import registry as _registry  # noqa: F401  (builds the Array surface)
from .activations import relu, sigmoid
from .array import Array
from .autograd import (
    checkpoint,
    convert_args,
    elementwise_grad,
    grad,
    grad_and_loss,
    hessian,
    hessian_vector_product,
    imperdl_to_numpy,
    jacobian,
    make_vjp,
    numpy_to_imperdl,
    return_numpy,
    stop_gradient,
    value_and_grad,
)
from .backends.mxnet_compat import GPUUnusableWarning, MXNetUnavailableError
from .capture import JitError, jit
from .convolution import avg_pool2d, conv2d, max_pool2d
from .customop import CustomOp, customop
from .dispatch import Primitive
from .escapes import TracedConversionError
from .extend import defjvp, defjvp_argnum, defvjp, defvjp_argnum, defvjp_argnums, primitive
from .fallback import FallbackError, FallbackWarning, fallback_mode, get_fallback_mode, set_fallback_mode
from .function import Function
from .gradcheck import check_grads, quick_grad_check
from .jvp import make_jvp
from .operators import (
    deriv,
    grad_and_aux,
    grad_named,
    hessian_tensor_product,
    make_hvp,
    tensor_jacobian_product,
    vector_jacobian_product,
)
from .policy import (
    AutoBlacklistPolicy,
    BlacklistPolicy,
    CostAwarePolicy,
    MXNetUnsupportedError,
    OnlyMXNetPolicy,
    OnlyNumPyPolicy,
    Policy,
    PreferMXNetPolicy,
    get_global_policy,
    set_global_policy,
    wrap_policy,
)
from .rules import load_all as _load_rules
from .statistics import print_statistics, reset_statistics, statistics
from .tape import InPlaceGradientError, NoGradientError

_load_rules()

__all__ = [
    "Array", "Primitive", "Policy", "PreferMXNetPolicy", "OnlyNumPyPolicy", "OnlyMXNetPolicy", "BlacklistPolicy",
    "AutoBlacklistPolicy", "MXNetUnsupportedError", "set_global_policy", "get_global_policy", "wrap_policy",
    "FallbackError", "FallbackWarning", "fallback_mode", "get_fallback_mode", "set_fallback_mode", "CostAwarePolicy",
    "statistics", "print_statistics", "reset_statistics", "grad", "grad_and_loss", "value_and_grad",
    "elementwise_grad", "jacobian", "hessian", "hessian_vector_product", "make_vjp", "checkpoint", "customop",
    "CustomOp", "numpy_to_imperdl", "imperdl_to_numpy", "convert_args", "return_numpy", "stop_gradient",
    "NoGradientError", "TracedConversionError", "MXNetUnavailableError", "GPUUnusableWarning",
    "InPlaceGradientError", "Function", "conv2d", "max_pool2d", "avg_pool2d", "relu", "sigmoid",
    "primitive", "defvjp", "defvjp_argnum", "defvjp_argnums", "defjvp", "defjvp_argnum", "make_jvp", "check_grads",
    "quick_grad_check", "grad_and_aux", "grad_named", "deriv", "make_hvp", "tensor_jacobian_product",
    "vector_jacobian_product", "hessian_tensor_product", "jit", "JitError",
]
