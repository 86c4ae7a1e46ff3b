"""``autograd.extend``'s names, so ``from autograd.extend import primitive, defvjp`` ports by its import alone
(the same objects as in ``imperdl.core``; see ``imperdl.core.extend``)."""
from .core.extend import defjvp, defjvp_argnum, defvjp, defvjp_argnum, defvjp_argnums, primitive

__all__ = ["primitive", "defvjp", "defvjp_argnum", "defvjp_argnums", "defjvp", "defjvp_argnum"]
