"""Workload "svi": the gradient of a black-box variational-inference objective, the kind of small-array program
written for HIPS autograd (its ``black_box_svi`` example's problem: a 2-D "funnel" density fitted by a diagonal
Gaussian through 2000 reparameterised samples). Some 25 operations on (2000,) and (2000, 2) float64 arrays and
their backward per step: what a framework adds per operation still dominates, as in autograd's EM, mixture-model
and inference examples. Parameters are fixed (forward + backward only), the noise is drawn once.
"""
from __future__ import annotations

import math

import numpy as onp
from _harness import Case, imperdl_grad_cases, load_hips, load_torch, unavailable

TITLE = "small-array program: black-box SVI gradient, 2000 samples in 2-D, float64 (forward+backward)"
UNIT, SCALE = "ms/step", 1e3
CONFIGS = {"full": {"samples": 2000}, "smoke": {"samples": 50}}
LOG_SCALE = math.log(1.35)  # the funnel's log-scale prior is N(0, 1.35)
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def per_call(cfg: dict) -> int:
    return 1


def data(cfg: dict):
    rng = onp.random.default_rng(4)
    eps = rng.standard_normal((cfg["samples"], 2))
    p = {"mean": onp.array([-1.0, -1.0]), "log_std": onp.array([-0.5, -1.0])}
    return eps, p


def objective(np, p, eps):
    """Minus the evidence lower bound (up to a constant) for any NumPy-like module ``np``."""
    z = eps * np.exp(p["log_std"]) + p["mean"]
    mu, log_sigma = z[:, 0], z[:, 1]
    log_density = (-0.5 * (log_sigma / 1.35) ** 2 - LOG_SCALE - HALF_LOG_2PI
                   - 0.5 * (mu / np.exp(log_sigma)) ** 2 - log_sigma - HALF_LOG_2PI)
    return -(np.sum(p["log_std"]) + np.mean(log_density))


def numpy_grads(p, eps):
    """Hand-written forward and backward: (value, grads)."""
    e = onp.exp(p["log_std"])
    z = eps * e + p["mean"]
    mu, ls = z[:, 0], z[:, 1]
    inv_var = onp.exp(-2 * ls)
    ld = -0.5 * (ls / 1.35) ** 2 - LOG_SCALE - 0.5 * mu * mu * inv_var - ls - 2 * HALF_LOG_2PI
    dz = onp.stack([-mu * inv_var, -ls / 1.35 ** 2 + mu * mu * inv_var - 1], axis=1)  # d log_density / d z
    value = -(p["log_std"].sum() + ld.mean())
    return value, {"mean": -dz.mean(axis=0), "log_std": -1 - (dz * eps).mean(axis=0) * e}


def build(cfg: dict, family: str) -> list[Case]:
    """This workload's implementations from one library family (each family runs in its own process)."""
    eps, p = data(cfg)
    if family == "numpy":
        return _numpy_cases(eps, p)
    if family == "imperdl":
        return _imperdl_cases(eps, p)
    if family == "torch":
        return [_torch_case(eps, p)]
    why = "not written for MXNet (a program written for autograd)"
    return [unavailable("MXNet imperative", "peer", why), unavailable("MXNet Gluon hybridized", "peer", why)]


def _numpy_cases(eps, p) -> list[Case]:
    cases = [Case("numpy (hand-written)", "numpy", step=lambda: numpy_grads(p, eps),
                  grads=lambda: numpy_grads(p, eps)[1])]
    hips = load_hips()
    if hips is None:
        return cases + [unavailable("HIPS autograd", "peer", "autograd is not installed")]
    autograd, anp = hips
    ag = autograd.grad(lambda q: objective(anp, q, eps))
    return cases + [Case("HIPS autograd", "peer", step=lambda: ag(p), grads=lambda: ag(p))]


def _imperdl_cases(eps, p) -> list[Case]:
    import imperdl.numpy as inp
    from imperdl.core import grad

    g_fn = grad(lambda q, e: objective(inp, q, e))
    return imperdl_grad_cases(g_fn, lambda: ({k: inp.array(v) for k, v in p.items()}, inp.array(eps)),
                              numpy_grads(p, eps)[1])


def _torch_case(eps, p) -> Case:
    torch = load_torch()
    if torch is None:
        return unavailable("PyTorch eager", "peer", "torch is not installed (`make bench` installs it)")
    te = torch.from_numpy(eps)
    tp = {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in p.items()}

    def step():
        objective(torch, tp, te).backward()
        g = {k: v.grad for k, v in tp.items()}
        for v in tp.values():
            v.grad = None
        return g

    return Case("PyTorch eager", "peer", step=step, grads=lambda: {k: v.numpy() for k, v in step().items()})


def jax_cases(cfg: dict) -> list[Case]:
    """JAX on the CPU in double precision (as the other rows), op by op and as one ``jax.jit`` gradient."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    eps, p = data(cfg)
    je, jp = jnp.asarray(eps), {k: jnp.asarray(v) for k, v in p.items()}
    eager = jax.grad(lambda q: objective(jnp, q, je))
    jitted = jax.jit(eager)
    return [Case(name, "peer", step=lambda fn=fn: jax.block_until_ready(fn(jp)), note=note,
                 grads=lambda fn=fn: {k: onp.asarray(v) for k, v in fn(jp).items()})
            for name, fn, note in (("JAX eager", eager, "jax.grad, op by op"),
                                   ("JAX jit", jitted, "jax.jit(jax.grad(f))"))]
