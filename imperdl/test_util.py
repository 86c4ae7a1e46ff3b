"""``autograd.test_util``'s names: derivative checks against finite differences (see ``imperdl.core.gradcheck``)."""
from .core.gradcheck import check_grads, quick_grad_check

__all__ = ["check_grads", "quick_grad_check"]
