"""The Solver's training step as one ``imperdl.jit`` function (``Solver(..., jit=True)``).

A jitted function must be functional: jit replays the raw backend calls its trace recorded and sees only what
goes in through the arguments and comes out as results (arrays a function stores into a dict or an attribute are
refused). So the step takes everything it reads or changes as arguments: the parameters, every parameter's
optimiser config, the model's auxiliary arrays (CS231n ``bn_params`` running statistics, ``ModelBase.aux_params``)
and the batch; it returns the new parameters, configs and auxiliary arrays, the gradients and the loss, and the
Solver rebinds its state from them outside the jit.

What is in the trace's signature (a new value retraces): shapes and dtypes of every array, the value of every
Python scalar in the configs. Hyper-parameters such as ``learning_rate`` are scalars on purpose: a change (the
Solver's per-epoch ``lr_decay``) retraces once per new value, and every replay uses exactly the eager arithmetic
with a Python float. A scalar the update rule itself changes every step (Adam's step count ``t``) would retrace
every step, so the step before the first jitted one runs eagerly and tells them apart: a scalar the rule changed
becomes a 0-d array from then on (the same numbers: the rule computes ``beta1 ** t`` in float64 either way, and
NumPy 1 promotes a 0-d array as it does a Python number). Under NumPy 2's promotion (NEP 50) a 0-d float64 array
would promote float32 parameters to float64, so there such a rule's update stays eager and only the loss and
gradients are jitted.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy

import imperdl.numpy as np

from .io import DataBatch

__all__ = ["JitStep"]


def _is_number(v) -> bool:
    return isinstance(v, (numbers.Number, numpy.generic)) and not isinstance(v, bool)


def weak_scalars() -> bool:
    """Whether NumPy promotes with NEP 50's rules (NumPy 2; NumPy 1.24-1.26 with ``NPY_PROMOTION_STATE=weak``),
    under which a 0-d array takes part in promotion as an array where a Python number would not."""
    state = getattr(numpy, "_get_promotion_state", None)
    if state is not None:
        return state() != "legacy"
    return int(numpy.__version__.split(".")[0]) >= 2


def _arrays(d: dict) -> dict:
    """The array-valued entries of ``d`` (the state jit must carry; strings and Python numbers stay put)."""
    return {k: v for k, v in d.items() if hasattr(v, "shape")}


class JitStep:
    """Owns the jitted step of one Solver; ``update=False`` jits only the loss and gradients (data-parallel runs,
    where the gradients are summed across workers between the two)."""

    def __init__(self, solver, update: bool = True):
        from imperdl.core.capture import jit

        self.solver = solver
        self.update = update
        self.ready = False  # set once an eager step showed which config scalars the rule changes
        self._fn = jit(self._step)

    @property
    def traces(self) -> int:
        return self._fn.traces

    # ------------------------------------------------------------------ before the first jitted step
    def observe(self, before: dict, after: dict) -> None:
        """Learn from one eager step (configs ``before`` and ``after`` it) which Python scalars the update rule
        changes per step, and make those 0-d arrays. Not ready while the rule still adds keys (its first step)."""
        if any(set(before[k]) != set(after[k]) for k in after):
            return
        counters = [(config, key) for k, config in after.items() for key, value in config.items()
                    if _is_number(value) and before[k][key] != value]
        if counters and weak_scalars():
            # under NumPy 2's promotion a 0-d float64 array is not a Python float: Adam's m / (1 - beta1 ** t)
            # would turn float32 parameters float64. Jit the loss and gradients; the update runs eagerly.
            self.update = False
        else:
            for config, key in counters:
                # "+ 0": a computed 0-d value, exactly like the one the rule's arithmetic will return (NumPy makes
                # those scalars), so the second jitted step has the first one's signature
                config[key] = np.asarray(config[key]) + 0
        self.ready = True

    # ------------------------------------------------------------------ the traced function
    def _aux_in(self) -> dict:
        model, s = self.solver.model, self.solver
        out = {}
        if isinstance(getattr(model, "bn_params", None), list):
            out["bn_params"] = [_arrays(p) for p in model.bn_params]
        if s._modelbase:
            out["aux_params"] = _arrays(model.aux_params)
        return out

    def _swap_in(self, params: dict, aux: dict) -> tuple:
        """Put the step's arguments where the model reads them; returns what ``_swap_out`` puts back."""
        model = self.solver.model
        bn = getattr(model, "bn_params", None) if "bn_params" in aux else None
        saved = (dict(model.params), [dict(p) for p in bn or []],
                 dict(model.aux_params) if "aux_params" in aux else None)
        model.params.update(params)
        for p, given in zip(bn or [], aux.get("bn_params", [])):
            p.update(given)
        if saved[2] is not None:
            model.aux_params.update(aux["aux_params"])
        return saved

    def _swap_out(self, saved: tuple) -> None:
        model = self.solver.model
        params, bn, aux = saved
        for d, old in ((model.params, params), *zip(getattr(model, "bn_params", None) or [], bn)):
            d.clear()
            d.update(old)
        if aux is not None:
            model.aux_params.clear()
            model.aux_params.update(aux)

    def _step(self, params: dict, configs: dict, aux: dict, data: list, label: list):
        solver = self.solver
        saved = self._swap_in(params, aux)
        try:
            grads, loss = solver._grads_and_loss(DataBatch(list(data), list(label)))
            grads = {k: grads[k] for k in params}
            aux_out = self._aux_in()
        finally:
            self._swap_out(saved)
        if not self.update:
            return grads, loss, aux_out
        new_params, new_configs = {}, {}
        for k, w in params.items():
            new_params[k], new_configs[k] = solver.update_rule(w, grads[k], configs[k])
        return new_params, new_configs, aux_out, grads, loss

    # ------------------------------------------------------------------ one call
    def __call__(self, batch: DataBatch) -> tuple[Any, ...]:
        """Run the jitted step on ``batch`` with the Solver's current state (which it does not change):
        ``(params, configs, aux, grads, loss)``, or ``(grads, loss, aux)`` with ``update=False``."""
        from imperdl.core.capture import JitError

        s = self.solver
        # the rule writes into these while tracing; without the update they stay out (a step count in them would
        # be a new signature every step)
        configs = {k: dict(c) for k, c in s.optim_configs.items()} if self.update else {}
        label = batch.label if batch.label is not None else []
        try:
            return self._fn(dict(s.model.params), configs, self._aux_in(), list(batch.data), list(label))
        except JitError as e:
            raise JitError(
                f"Solver(jit=True): the training step could not be captured: {e} -- the Solver passes "
                "model.params, the optimiser configs, bn_params / aux_params and the batch through the step; a "
                "model that keeps other state (arrays stored on itself, Python decisions on array values) needs "
                "Solver(..., jit=False)") from e

    def apply_aux(self, aux: dict) -> None:
        """Write the auxiliary arrays the step returned back into the model (outside the jit)."""
        model = self.solver.model
        for p, new in zip(getattr(model, "bn_params", None) or [], aux.get("bn_params", [])):
            p.update(new)
        if "aux_params" in aux:
            model.aux_params.update(aux["aux_params"])
