"""MinPy's ``ModelBase``: a model declares its parameters and writes only the forward pass and the loss.

A subclass calls ``add_param`` (or ``add_params`` with a ``Function``'s ``get_params()``) in ``__init__``, and
implements ``forward(X, mode)`` and ``loss(predict, y)``. The Solver initialises the declared parameters with its
init rule (a rule or config given to ``add_param`` wins for that parameter) and differentiates
``loss(forward(X, 'train'), y)`` with the tape: there is no backward code to write.

``params`` holds the trained arrays; ``aux_params`` holds state that is saved and restored but not trained
(batchnorm running statistics). ``save``/``load`` use one ``.npz`` file read with ``allow_pickle=False``.
"""
from __future__ import annotations

import inspect
import os
from typing import Any

import numpy

from imperdl.core import Array
from imperdl.core.array import host_view

from .checkpoint import atomic_write

__all__ = ["ModelBase"]

_PARAM = "param:"
_AUX = "aux:"
_TAKES_MODE: dict[type, bool] = {}  # model class -> whether its forward takes a mode


def _takes_mode(cls: type) -> bool:
    """Whether ``cls.forward`` takes ``(X, mode)``: some MinPy examples wrote ``forward(self, X)``."""
    params = list(inspect.signature(cls.forward).parameters.values())[1:]  # without self
    if any(p.kind is p.VAR_POSITIONAL or p.name == "mode" for p in params):
        return True
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= 2


def _shape(shape: Any, name: str) -> tuple[int, ...]:
    if isinstance(shape, (int, numpy.integer)):
        return (int(shape),)
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise TypeError(
            f"ModelBase.add_param({name!r}): shape must be an int or a tuple of ints, got {shape!r}"
        ) from None
    if any(s < 0 for s in out):
        raise ValueError(f"ModelBase.add_param({name!r}): negative dimension in shape {out}")
    return out


class ModelBase:
    """Base class of models trained by ``imperdl.nn.Solver`` in MinPy's style."""

    def __init__(self) -> None:
        self.params: dict[str, Array] = {}
        self.aux_params: dict[str, Any] = {}
        self.param_configs: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ declaration
    def add_param(self, name: str, shape: Any, **init_config: Any) -> ModelBase:
        """Declare a trained parameter; keyword ``init_rule``/``init_config`` override the Solver's for it.

        Returns ``self`` so declarations chain: ``self.add_param('w', (4, 3)).add_param('b', (3,))``.
        """
        if not isinstance(name, str):
            raise TypeError(f"ModelBase.add_param: the name must be a string, got {name!r}")
        if name in self.aux_params:
            raise ValueError(f"ModelBase.add_param: {name!r} is already an auxiliary parameter")
        self.param_configs[name] = {"shape": _shape(shape, name), **init_config}
        return self

    def add_params(self, param_dict: dict[str, Any]) -> ModelBase:
        """Declare several parameters: name -> shape, or name -> {'shape': ..., other add_param keywords}."""
        for name, spec in param_dict.items():
            if isinstance(spec, dict):
                if "shape" not in spec:
                    raise ValueError(f"ModelBase.add_params: the entry for {name!r} has no 'shape': {spec!r}")
                extra = {k: v for k, v in spec.items() if k != "shape"}
                self.add_param(name, spec["shape"], **extra)
            else:
                self.add_param(name, spec)
        return self

    def add_aux_param(self, name: str, value: Any) -> ModelBase:
        """Keep non-trained state (running statistics) that ``save``/``load`` and checkpoints carry."""
        if name in self.param_configs:
            raise ValueError(f"ModelBase.add_aux_param: {name!r} is already a trained parameter")
        self.aux_params[name] = value
        return self

    # ------------------------------------------------------------------ what subclasses write
    def forward(self, X: Any, mode: str) -> Any:
        """Predictions (class scores for classifiers) for input ``X``; ``mode`` is 'train' or 'test'."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(X, mode)")

    def loss(self, predict: Any, y: Any) -> Any:
        """A scalar loss of ``predict`` (what ``forward`` returned) against labels ``y``."""
        raise NotImplementedError(f"{type(self).__name__} must implement loss(predict, y)")

    def forward_batch(self, batch: Any, mode: str) -> Any:
        """``forward`` on a ``DataBatch`` (its first data array); override for models with several inputs."""
        return self._forward(batch.data[0], mode)

    def _forward(self, X: Any, mode: str) -> Any:
        """``forward(X, mode)``, or ``forward(X)`` for a model written for MinPy versions whose forward took no mode."""
        cls = type(self)
        takes = _TAKES_MODE.get(cls)
        if takes is None:
            takes = _TAKES_MODE[cls] = _takes_mode(cls)
        return self.forward(X, mode) if takes else self.forward(X)

    def loss_batch(self, batch: Any, forward_outputs: Any) -> Any:
        """``loss`` against a ``DataBatch``'s first label array; override for several labels."""
        return self.loss(forward_outputs, batch.label[0])

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> None:
        """Write ``params`` and array-valued ``aux_params`` to one ``.npz`` file (atomically)."""
        arrays = {}
        for name, value in self.params.items():
            arrays[_PARAM + name] = host_view(value)  # a read, not numpy.asarray: that would export value
        for name, value in self.aux_params.items():
            if hasattr(value, "shape") or isinstance(value, (int, float, numpy.generic)):
                arrays[_AUX + name] = host_view(value)
        atomic_write(path, lambda f: numpy.savez(f, **arrays))

    def load(self, path: str | os.PathLike) -> ModelBase:
        """Read what ``save`` wrote. Every declared parameter must be in the file with its declared shape."""
        path = os.fspath(path)
        try:
            with numpy.load(path, allow_pickle=False) as z:
                stored = {k: z[k] for k in z.files}
        except FileNotFoundError:
            raise
        except Exception as e:  # zip/npy format errors, truncation, CRC failures, pickles refused
            raise ValueError(f"ModelBase.load: cannot read {path!r} as a saved model ({e})") from e
        params = {k[len(_PARAM):]: v for k, v in stored.items() if k.startswith(_PARAM)}
        aux = {k[len(_AUX):]: v for k, v in stored.items() if k.startswith(_AUX)}
        missing = sorted(set(self.param_configs) - set(params))
        if missing:
            raise ValueError(f"ModelBase.load: {path!r} lacks the declared parameter(s) {missing}")
        for name, value in params.items():
            cfg = self.param_configs.get(name)
            if cfg is not None and tuple(value.shape) != tuple(cfg["shape"]):
                raise ValueError(
                    f"ModelBase.load: parameter {name!r} in {path!r} has shape {value.shape}, "
                    f"declared {tuple(cfg['shape'])}"
                )
        self.params.update({k: Array(v) for k, v in params.items()})
        self.aux_params.update({k: Array(v) for k, v in aux.items()})
        return self
