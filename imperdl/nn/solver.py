"""One Solver for both course styles.

CS231n form: ``Solver(model, data, **kwargs)`` with ``data`` a dict holding X_train, y_train, X_val, y_val;
minibatches are sampled with replacement, ``max(N // batch_size, 1)`` iterations make an epoch, accuracies are
checked after the first iteration and at every epoch end.

MinPy form: ``Solver(model, train_iter, test_iter, **kwargs)`` with data iterators (``NDArrayIter``); ``init()``
initialises a ``ModelBase``'s declared parameters with ``init_rule``/``init_config``; an epoch is one pass over
``train_iter``; accuracies are checked at every epoch end.

Gradients, chosen per model on the first step:

- a ``ModelBase``: the tape differentiates ``loss(forward(X, 'train'), y)`` over ``model.params``;
- a CS231n model whose ``loss(X, y)`` returns ``(loss, grads)``: those grads are used;
- one whose ``loss(X, y)`` returns only the loss: the tape differentiates it over ``model.params``.

The first step runs the model once, under the tape, and looks at what came back, so nothing is computed twice
and no random numbers (dropout masks) are drawn twice.

The loss is read lazily: a step keeps its loss Array and converts it to a float during the next step (or at
``print_every``, an epoch end, a checkpoint), so the device is never waited on just to log. A non-finite loss
stops training with ``NonFiniteLossError``, after putting back the last parameters (and optimiser state)
whose loss was finite.

Checkpoints (``checkpoint_name``; every epoch, or every ``checkpoint_every`` steps) hold the parameters, auxiliary
state (``ModelBase.aux_params``, CS231n ``bn_params`` running statistics), optimiser configs, best parameters,
histories, the epoch/step position, the Solver's sampling generator, the data iterator's state, and the seed of
imperdl's global generators. MXNet's generator state cannot be read back, so instead of saving it the Solver
*reseeds* imperdl's global generators (NumPy's and MXNet's: dropout masks come from them) at every checkpoint
from ``(seed, step)`` and stores that seed; ``resume=`` restores everything and reseeds the same way, so an
interrupted-and-resumed run ends with exactly the parameters of an uninterrupted run with the same settings.
An explicit ``seed=`` also reseeds them when training starts, so two runs with the same seed draw the same
minibatches and the same dropout masks.

Whole-step capture (``jit=True``, ``solver_jit.py``): after one or two eager steps, the step -- loss, gradients
and the update of every parameter and its optimiser state -- runs as one ``imperdl.jit`` function, traced once per
learning rate and batch shape and then replayed without per-op dispatch or tape work, with the same numbers. The
model's Python runs only when the step is traced; ``bn_params`` / ``aux_params`` go through the step. With several
``kvstore`` workers only the loss and gradients are jitted (they are summed across workers before the update).

Data parallel (``kvstore='dist_sync'``, run under ``python -m imperdl.launch -n N``; under plain ``python`` it is
one process and nothing changes): ``train()`` joins the run (``imperdl.distributed.init``), rank 0 resumes from
the checkpoint if asked and sends its whole training state (parameters, optimiser state, sampling generator, data
iterator order and position) to every worker, so all draw the same minibatches. Each worker computes on rows
``rank::N`` of every minibatch, so ``batch_size`` (or the iterator's batch) stays the *global* batch and each worker
sees about batch_size / N rows. Its gradients and loss, weighted by its share of the rows, are summed through the
KVStore with the loss riding along, so a step equals one process's step on the whole batch (float tolerance) and
every worker sees the same loss: a non-finite loss stops every worker at the same step. Rank 0 alone prints and
writes checkpoints; every worker computes the accuracy checks (they keep the sampling generators in step).
"""
from __future__ import annotations

import copy
import math
import os
import sys
from collections import deque
from typing import Any

import numpy

import imperdl.numpy as np
from imperdl.core import (
    Array,
    InPlaceGradientError,
    NoGradientError,
    TracedConversionError,
    grad_and_loss,
    make_vjp,
    stop_gradient,
)

from . import optim
from .checkpoint import dumps, load_checkpoint, loads, random_state_from_tree, random_state_to_tree, save_checkpoint
from .io import DataBatch
from .model import ModelBase

__all__ = ["Solver", "NonFiniteLossError"]

_COMMON = {"update_rule", "optim_config", "lr_decay", "num_epochs", "print_every", "verbose",
           "checkpoint_name", "checkpoint_every", "resume", "seed", "num_val_samples", "task_type", "kvstore",
           "jit"}
_KVSTORES = (None, "dist_sync", "dist_device_sync", "local", "device")
_LOSS_KEY = "\0loss"  # the loss travels with the gradients (a name no parameter has)
_DICT_ONLY = {"batch_size"}
_INIT = {"init_rule", "init_config"}
_TRAIN_SAMPLES = {"num_train_samples", "train_acc_num_samples"}
_KNOWN = _COMMON | _DICT_ONLY | _INIT | _TRAIN_SAMPLES
_DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")


class NonFiniteLossError(FloatingPointError):
    """Training produced a non-finite loss. ``step`` indexes ``loss_history`` (0-based); ``parameter`` names the
    first parameter that had gone non-finite (None when all were finite and the loss itself overflowed)."""

    def __init__(self, message: str, step: int, epoch: int, loss: float, parameter: str | None):
        super().__init__(message)
        self.step, self.epoch, self.loss, self.parameter = step, epoch, loss, parameter


def _host(x) -> numpy.ndarray:
    return x.asnumpy() if type(x) is Array else numpy.asarray(x)


def _first_nonfinite(arrays: dict | None) -> str | None:
    if not arrays:
        return None
    for name, a in arrays.items():
        h = _host(a)
        if h.dtype.kind in "fc" and not numpy.isfinite(h).all():
            return name
    return None


def _to_array(x):
    """Checkpoint values back into the forms the Solver uses: NumPy arrays become Arrays, containers recurse."""
    if isinstance(x, numpy.ndarray):
        return Array(x)
    if isinstance(x, dict):
        return {k: _to_array(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_to_array(v) for v in x]
    return x


def _correct(scores, labels) -> tuple[float, int] | None:
    """(argmax predictions that match, samples); None when these are not class scores (N, C) and labels (N,)."""
    scores, labels = _host(scores), _host(labels)
    if scores.ndim != 2 or labels.ndim != 1 or labels.shape[0] != scores.shape[0]:
        return None
    return int((numpy.argmax(scores, axis=1) == labels).sum()), labels.shape[0]


def _neg_squared_error(predictions, targets) -> tuple[float, int] | None:
    """(minus the summed squared error, number of values): the check's score is minus the mean squared error, so
    higher is better, as for an accuracy. Targets (N,) against predictions (N, 1) are compared elementwise."""
    predictions, targets = _host(predictions), _host(targets)
    if predictions.size != targets.size:
        return None
    diff = predictions.reshape(-1).astype(numpy.float64) - targets.reshape(-1)
    return -float(numpy.dot(diff, diff)), diff.size


# MinPy's Solver(task_type=...): what check_accuracy measures
_TASKS = {"classification": _correct, "regression": _neg_squared_error}


def _storable(value) -> bool:
    return hasattr(value, "shape") or isinstance(value, (bool, int, float, str, numpy.generic)) or value is None


def _seed_global(seed: int) -> None:
    """``np.random.seed(seed)``, with MXNet loaded first when the policy may sample on it.

    ``imperdl.numpy.random.seed`` seeds MXNet's generator only if MXNet is already imported; in a fresh process
    (a resumed run) it usually is not yet, and the first dropout mask would then come from MXNet's default seed.
    """
    import imperdl

    if not isinstance(imperdl.get_global_policy(), imperdl.OnlyNumPyPolicy):
        from imperdl.core.backends import mxnet_backend

        mxnet_backend.load()
    np.random.seed(seed)


class Solver:
    """Train a model with minibatch gradient descent; see the module docstring for the two forms.

    Keyword arguments, both forms: update_rule ('sgd' or any name in ``optim.RULES``, or a rule function),
    optim_config (deep-copied for every parameter), lr_decay (per epoch), num_epochs, print_every, verbose,
    num_val_samples (subsample the validation data for accuracy checks), and
    num_train_samples / train_acc_num_samples (the same setting: training samples used for the train accuracy),
    task_type (MinPy's: 'classification', the default, or 'regression', whose accuracy checks report minus the
    mean squared error). CS231n form only: batch_size. ModelBase models: init_rule, init_config. Any other
    keyword is a ValueError.

    Extras: checkpoint_name (one file, ``<name>.npz``, replaced atomically at every checkpoint; CS231n wrote a
    pickle per epoch), checkpoint_every (steps; default: every epoch), resume (a checkpoint path, or True for
    checkpoint_name when that file exists), seed (minibatch sampling, and imperdl's global generators at the
    start of training and at each checkpoint), kvstore ('dist_sync': data-parallel training when started with
    ``python -m imperdl.launch -n N``, one process otherwise; see the module docstring), jit (True: the whole step
    under ``imperdl.jit``; see docs/jit.md).
    """

    def __init__(self, model, data=None, test_iter=None, **kwargs: Any):
        unknown = sorted(set(kwargs) - _KNOWN)
        if unknown:
            raise ValueError(f"Solver: unrecognized argument(s) {unknown}; known: {sorted(_KNOWN)}")
        self.model = model
        self._modelbase = isinstance(model, ModelBase)
        if not self._modelbase:
            if not isinstance(getattr(model, "params", None), dict) or not callable(getattr(model, "loss", None)):
                raise TypeError(
                    "Solver: the model must be a ModelBase or have a 'params' dict and a loss(X, y=None) method, "
                    f"got {type(model).__name__}"
                )
        if isinstance(data, dict):
            if test_iter is not None:
                raise ValueError("Solver: with a data dict, pass no third argument (X_val/y_val are in the dict)")
            self._init_dict(data, kwargs)
        else:
            self._init_iters(data, test_iter, kwargs)

        rule = kwargs.pop("update_rule", "sgd")
        self.update_rule = optim.get(rule)
        self._rule_name = rule if isinstance(rule, str) else getattr(rule, "__name__", None)
        self.optim_config = kwargs.pop("optim_config", None) or {}
        self.lr_decay = float(kwargs.pop("lr_decay", 1.0))
        self.num_epochs = int(kwargs.pop("num_epochs", 10))
        self.print_every = max(int(kwargs.pop("print_every", 10)), 1)
        self.verbose = bool(kwargs.pop("verbose", True))
        self.init_rule = kwargs.pop("init_rule", "xavier")
        self.init_config = kwargs.pop("init_config", None) or {}
        self.num_val_samples = kwargs.pop("num_val_samples", None)
        self.task_type = kwargs.pop("task_type", "classification")
        if self.task_type not in _TASKS:
            raise ValueError(f"Solver: task_type must be one of {sorted(_TASKS)}, got {self.task_type!r}")

        name = kwargs.pop("checkpoint_name", None)
        if name is not None:
            name = os.fspath(name)
            if not name.endswith(".npz"):
                name += ".npz"
        self.checkpoint_name = name
        self.checkpoint_path = name
        every = kwargs.pop("checkpoint_every", None)
        if every is not None and (int(every) != every or every <= 0):
            raise ValueError(f"Solver: checkpoint_every must be a positive number of steps, got {every!r}")
        self.checkpoint_every = None if every is None else int(every)
        resume = kwargs.pop("resume", None)
        if resume is True and name is None:
            raise ValueError("Solver: resume=True resumes from checkpoint_name, but no checkpoint_name was given")
        self.resume = resume

        self.kvstore = kwargs.pop("kvstore", None)
        if self.kvstore not in _KVSTORES:
            hint = (" ('dist_async' trains only with the update on the servers: see imperdl.distributed."
                    "set_optimizer and update_on_server)" if self.kvstore == "dist_async" else "")
            raise ValueError(f"Solver: kvstore must be one of {_KVSTORES}, got {self.kvstore!r}{hint}")
        self._world = None  # (rank, size) once a distributed run has started
        jit = kwargs.pop("jit", False)
        if not isinstance(jit, bool):
            raise TypeError(f"Solver: jit must be True or False, got {jit!r}")
        self.jit = jit
        self._jit = None  # the JitStep (solver_jit.py), made on the first step with jit=True

        seed = kwargs.pop("seed", None)
        self._seed_given = seed is not None
        # no seed: take one from NumPy's global generator, so np.random.seed(...) upstream makes runs repeatable
        self.seed = int(numpy.random.randint(0, 2**31 - 1)) if seed is None else int(seed)
        self._rng = numpy.random.RandomState(self.seed)
        assert not kwargs, kwargs
        self._grad_mode: str | None = None  # 'model' (loss returns grads) | 'autograd'; fixed on the first step
        self._reset()

    # ------------------------------------------------------------------ construction helpers
    def _init_dict(self, data: dict, kwargs: dict) -> None:
        missing = [k for k in _DATA_KEYS if k not in data]
        if missing:
            raise ValueError(f"Solver: the data dict lacks {missing}; it needs {list(_DATA_KEYS)}")
        self._style = "cs231n"
        self.X_train, self.y_train = _host(data["X_train"]), _host(data["y_train"])
        self.X_val, self.y_val = _host(data["X_val"]), _host(data["y_val"])
        for part in ("train", "val"):
            X, y = getattr(self, f"X_{part}"), getattr(self, f"y_{part}")
            if X.shape[0] != y.shape[0]:
                raise ValueError(f"Solver: X_{part} has {X.shape[0]} samples but y_{part} has {y.shape[0]}")
        if self.X_train.shape[0] == 0:
            raise ValueError("Solver: X_train is empty")
        self.batch_size = int(kwargs.pop("batch_size", 100))
        if self.batch_size <= 0:
            raise ValueError(f"Solver: batch_size must be positive, got {self.batch_size}")
        self.num_train_samples = self._train_samples(kwargs)
        self.train_dataiter = self.test_dataiter = None

    def _init_iters(self, train_iter, test_iter, kwargs: dict) -> None:
        for name, it in (("train_iter", train_iter), ("test_iter", test_iter)):
            if it is None or not callable(getattr(it, "reset", None)) or not hasattr(it, "__iter__"):
                raise TypeError(
                    f"Solver: expected Solver(model, data_dict, ...) or Solver(model, train_iter, test_iter, ...); "
                    f"{name} is {type(it).__name__}, not a data iterator with reset()"
                )
        wrong = sorted(set(kwargs) & _DICT_ONLY)
        if wrong:
            raise ValueError(f"Solver: {wrong} apply to a data dict; with iterators the batch size is the iterator's")
        self._style = "minpy"
        self.train_dataiter, self.test_dataiter = train_iter, test_iter
        self.num_train_samples = self._train_samples(kwargs)

    @staticmethod
    def _train_samples(kwargs: dict) -> int | None:
        given = [k for k in _TRAIN_SAMPLES if k in kwargs]
        if len(given) > 1:
            raise ValueError("Solver: give num_train_samples or train_acc_num_samples (the same setting), not both")
        return kwargs.pop(given[0]) if given else 1000

    @property
    def train_acc_num_samples(self) -> int | None:
        return self.num_train_samples

    def _reset(self) -> None:
        """Fresh bookkeeping: epoch counters, histories, best parameters, per-parameter optimiser configs."""
        self.epoch = 0
        self._epoch_step = 0
        self._step_count = 0
        self.best_val_acc = 0.0
        self.best_params: dict[str, Array] = {}
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.optim_configs: dict[str, dict] = {}
        self._pending: tuple | None = None  # (step, epoch, loss) of the last step, not yet read
        self._ring: deque = deque(maxlen=3)  # (step, params, optim configs, grads) of recent steps
        self._bar = None
        self._last_saved = None
        self._global_seed = None
        self._total_steps = None

    # ------------------------------------------------------------------ initialisation
    def init(self) -> None:
        """Initialise a ``ModelBase``'s declared parameters (no-op for CS231n models, which come initialised).

        ``add_param(..., init_rule=..., init_config=...)`` wins over the Solver's rule for that parameter; an
        ``init_config`` alone is merged over the Solver's ``init_config``.
        """
        if not self._modelbase:
            return
        from . import init as _init

        for name, cfg in self.model.param_configs.items():
            if "init_rule" in cfg:
                rule, config = cfg["init_rule"], dict(cfg.get("init_config") or {})
            else:
                rule, config = self.init_rule, {**self.init_config, **(cfg.get("init_config") or {})}
            value = _init.get(rule)(cfg["shape"], config)
            if type(value) is not Array:
                value = np.asarray(value)
            if tuple(value.shape) != tuple(cfg["shape"]):
                raise ValueError(f"Solver.init: init rule {rule!r} gave {name!r} shape {tuple(value.shape)}, "
                                 f"declared {tuple(cfg['shape'])}")
            self.model.params[name] = value

    def _ensure_ready(self) -> None:
        if self._modelbase and any(k not in self.model.params for k in self.model.param_configs):
            self.init()
        for k in self.model.params:
            if k not in self.optim_configs:
                self.optim_configs[k] = copy.deepcopy(self.optim_config)

    # ------------------------------------------------------------------ one step
    def _swapped(self, fn):
        """``fn`` run with ``model.params`` entries replaced by the (traced) arrays it is given."""
        params = self.model.params

        def run(traced: dict, *args):
            saved = {k: params[k] for k in traced}
            params.update(traced)
            try:
                return fn(*args)
            finally:
                params.update(saved)

        return run

    def _model_loss(self, batch: DataBatch):
        if self._modelbase:
            return self.model.loss_batch(batch, self.model.forward_batch(batch, "train"))
        return self.model.loss(batch.data[0], batch.label[0])

    def _check_grads(self, grads) -> dict:
        if not isinstance(grads, dict):
            raise TypeError(f"Solver: model.loss(X, y) returned grads of type {type(grads).__name__}, expected a dict")
        missing = sorted(set(self.model.params) - set(grads))
        if missing:
            raise ValueError(f"Solver: model.loss(X, y) returned no gradient for parameter(s) {missing}")
        return grads

    def _grads_and_loss(self, batch: DataBatch):
        params = dict(self.model.params)
        run = self._swapped(self._model_loss)
        if self._grad_mode == "autograd" or (self._grad_mode is None and self._modelbase):
            self._grad_mode = "autograd"
            return grad_and_loss(run)(params, batch)
        if self._grad_mode == "model":
            loss, grads = self._model_loss(batch)
            return self._check_grads(grads), loss
        # first step of a CS231n model: run it once under the tape and see whether it returned its own grads
        try:
            vjp, out = make_vjp(run)(params, batch)
        # backward code written by hand trips the tape
        except (InPlaceGradientError, NoGradientError, TracedConversionError) as e:
            out = self._model_loss(batch)
            if not isinstance(out, (tuple, list)):
                raise e
            self._grad_mode = "model"
            return self._check_grads(out[1]), out[0]
        if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], dict):
            self._grad_mode = "model"
            loss, grads = stop_gradient(tuple(out))
            return self._check_grads(grads), loss
        self._grad_mode = "autograd"
        return vjp(None), stop_gradient(out)

    # ------------------------------------------------------------------ data parallel (kvstore=...)
    @property
    def _parallel(self) -> bool:
        return self._world is not None and self._world[1] > 1

    @property
    def rank(self) -> int:
        """This worker's rank in a ``kvstore`` run (0 otherwise): only rank 0 prints and writes checkpoints."""
        return 0 if self._world is None else self._world[0]

    def _join(self) -> None:
        """Join the run (``imperdl.distributed.init``) and start every worker from rank 0's training state."""
        from imperdl import distributed

        distributed.init(self.kvstore)
        self._world = distributed.rank(), distributed.world_size()
        if self._parallel:
            self.verbose = self.verbose and self.rank == 0

    def _sync_state(self) -> None:
        """Rank 0's whole training state (parameters, optimiser state, sampling generator, data order, position)
        on every worker: after this, the workers draw the same minibatches and hold the same parameters."""
        from imperdl import distributed

        data = distributed.broadcast_bytes(dumps(self._state()) if self.rank == 0 else None)
        if self.rank != 0:
            self._apply_state(loads(data, "rank 0's training state"), "rank 0's training state")

    def _shard(self, batch: DataBatch) -> tuple[DataBatch, float]:
        """Rows ``rank::world_size`` of the batch, and this shard's share of the batch (its gradient weight)."""
        rank, size = self._world
        n = int(batch.data[0].shape[0])
        rows = numpy.arange(rank, n, size)
        if len(rows) == 0:
            raise ValueError(f"Solver: a batch of {n} samples cannot be shared by {size} workers (each needs >= 1)")

        def take(xs):
            return None if xs is None else [Array(numpy.ascontiguousarray(_host(x)[rows])) for x in xs]

        index = None if batch.index is None else numpy.asarray(batch.index)[rows]
        return DataBatch(take(batch.data), take(batch.label), pad=0, index=index), len(rows) / n

    def _combine(self, grads: dict, loss, weight: float) -> tuple[dict, Any]:
        """The gradients and loss of the whole batch: each worker's, weighted by its share, summed over workers
        (so a step equals one process's step on the concatenated batch, the regularisation term included)."""
        from imperdl import distributed

        local = {k: g * weight for k, g in grads.items()}
        value = numpy.asarray(float(loss) * weight, dtype=numpy.float32)  # (the servers keep float32 precision)
        local[_LOSS_KEY] = Array(value)
        total = distributed.allreduce_gradients(local, op="sum")
        loss = total.pop(_LOSS_KEY)
        return total, loss

    @property
    def jit_traces(self) -> int:
        """How many times ``jit=True`` traced the training step (0 for eager training): once, plus once per new
        learning rate (``lr_decay``) or batch shape."""
        return 0 if self._jit is None else self._jit.traces

    def _step(self, batch: DataBatch) -> None:
        t = self._step_count
        jitted = self._jit_ready()
        whole = jitted and self._jit.update  # the update inside the jitted step too
        if self._parallel:
            shard, weight = self._shard(batch)
            if jitted:
                grads, loss, aux = self._jit(shard)
                self._jit.apply_aux(aux)
            else:
                grads, loss = self._grads_and_loss(shard)
            grads, loss = self._combine(dict(grads), loss, weight)
        elif whole:
            new_params, new_configs, aux, grads, loss = self._jit(batch)
        elif jitted:
            grads, loss, aux = self._jit(batch)
            self._jit.apply_aux(aux)
        else:
            grads, loss = self._grads_and_loss(batch)
        before = {k: dict(c) for k, c in self.optim_configs.items()}
        self._ring.append((t, dict(self.model.params), before, grads))
        self._settle()  # the previous step's loss: its computation is long finished
        self._pending = (t, self.epoch, loss)
        if t % self.print_every == 0:
            self._settle()
            self._log(f"(Iteration {t + 1} / {self._total_steps or '?'}) loss: {self.loss_history[-1]:f}")
        if whole:  # the update ran inside the jitted step: rebind its results
            self.model.params.update(new_params)
            self.optim_configs.update(new_configs)
            self._jit.apply_aux(aux)
        else:
            for k, w in self.model.params.items():
                next_w, config = self.update_rule(w, grads[k], self.optim_configs[k])
                self.model.params[k] = next_w
                self.optim_configs[k] = config
            if self.jit and not jitted:
                self._jit.observe(before, self.optim_configs)
        self._step_count = t + 1
        self._epoch_step += 1
        if self._bar is not None:
            self._bar.update(1)

    def _jit_ready(self) -> bool:
        """With jit=True: whether this step runs jitted. The first step of a run is eager (it decides how the
        model's gradients are computed); so is the next if the update rule was still adding state to its config
        (see solver_jit.py: the eager steps show which config scalars change every step)."""
        if not self.jit:
            return False
        if self._jit is None:
            from .solver_jit import JitStep

            self._jit = JitStep(self, update=not self._parallel)
        return self._jit.ready and self._grad_mode is not None

    # ------------------------------------------------------------------ lazy loss and non-finite handling
    def _settle(self) -> None:
        """Read the pending loss into ``loss_history``; raise NonFiniteLossError if it is not finite."""
        if self._pending is None:
            return
        t, epoch, loss = self._pending
        self._pending = None
        value = float(loss)
        if not math.isfinite(value):
            self._non_finite(t, epoch, value)
        self.loss_history.append(value)
        if self._bar is not None:
            self._bar.set_postfix(self._postfix(), refresh=False)

    def _non_finite(self, t: int, epoch: int, value: float) -> None:
        """Stop on step ``t``'s non-finite loss: diagnose, put back the last finite parameters, raise."""
        entries = {e[0]: e for e in self._ring}
        bad, prev = entries.get(t), entries.get(t - 1)  # (step, params, optim configs, grads) before steps t, t-1
        name = _first_nonfinite(bad[1]) if bad else None
        parts = [f"non-finite loss ({value}) at iteration {t + 1} (step {t}, epoch {epoch + 1})"]
        if name is not None:
            detail = f"parameter {name!r} had become non-finite"
            if prev is not None:
                gname = _first_nonfinite(prev[3])
                if gname == name:
                    detail += f" (its gradient at step {t - 1} was non-finite)"
                elif gname is not None:
                    detail += f" (the gradient of {gname!r} at step {t - 1} was non-finite)"
                else:
                    detail += f" in the update of step {t - 1}, from finite gradients (the step overflowed)"
            parts.append(detail)
            restore = prev
        else:
            parts.append("every parameter was finite, so the loss itself overflowed (check the inputs, the "
                         "learning rate and any log/exp of extreme values)")
            restore = bad
        if restore is not None:
            self.model.params.update(restore[1])
            self.optim_configs = {k: dict(c) for k, c in restore[2].items()}
            parts.append(f"parameters and optimiser state are those before step {restore[0]}, the last finite ones")
        else:
            parts.append("no finite parameters were kept to restore")
        self._pending = None
        raise NonFiniteLossError("Solver: " + "; ".join(parts), step=t, epoch=epoch, loss=value, parameter=name)

    # ------------------------------------------------------------------ accuracy
    def _scores(self, X):
        if self._modelbase:
            return self.model._forward(X, "test")
        return self.model.loss(X)

    def _batch_scores(self, batch: DataBatch):
        if self._modelbase:
            return self.model.forward_batch(batch, "test")
        return self.model.loss(batch.data[0])

    def check_accuracy(self, X, y=None, num_samples: int | None = None, batch_size: int = 100) -> float:
        """Fraction of correct argmax predictions on ``(X, y)`` or on a data iterator ``X``.

        NaN when the model's outputs are not class scores (N, C) against integer labels (N,) (a regression).
        With ``task_type='regression'``: minus the mean squared error of the predictions (higher is better, so
        the best parameters are kept as for a classifier); NaN when predictions and targets differ in size.

        ``num_samples`` subsamples arrays (with replacement, drawn from the Solver's generator, as the course
        does) or stops an iterator after that many samples. An iterator's position is left as it was.
        """
        if y is None and callable(getattr(X, "reset", None)):
            return self._iter_accuracy(X, num_samples)
        X, y = _host(X), _host(y)
        n = X.shape[0]
        if num_samples is not None and n > num_samples:
            idx = self._rng.choice(n, num_samples)
            X, y, n = X[idx], y[idx], num_samples
        score = _TASKS[self.task_type]
        total = count = 0
        for start in range(0, n, batch_size):
            scores = self._scores(Array(numpy.ascontiguousarray(X[start:start + batch_size])))
            c = score(scores, y[start:start + batch_size])
            if c is None:
                return math.nan
            total += c[0]
            count += c[1]
        return total / max(count, 1)

    def _iter_accuracy(self, it, num_samples: int | None) -> float:
        state = it.get_state() if callable(getattr(it, "get_state", None)) else None
        it.reset()
        score = _TASKS[self.task_type]
        correct = count = total = 0
        try:
            for batch in it:
                scores = _host(self._batch_scores(batch))
                labels = _host(batch.label[0])
                keep = len(labels) - int(getattr(batch, "pad", 0) or 0)
                if num_samples is not None:
                    keep = min(keep, num_samples - total)
                c = score(scores[:keep], labels[:keep])
                if c is None:
                    return math.nan
                correct += c[0]
                count += c[1]
                total += keep
                if num_samples is not None and total >= num_samples:
                    break
        finally:
            if state is not None:
                it.set_state(state)
        return correct / max(count, 1)

    def _record_accuracy(self) -> None:
        if self._style == "cs231n":
            train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
            val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        else:
            train_acc = self._iter_accuracy(self.train_dataiter, self.num_train_samples)
            val_acc = self._iter_accuracy(self.test_dataiter, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._log(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; val_acc: {val_acc:f}",
                  above_bar=True)
        # no accuracy (not a classifier: val_acc is nan): the latest parameters count as the best
        if val_acc > self.best_val_acc or not self.best_params or math.isnan(val_acc):
            if not math.isnan(val_acc):
                self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        if self._bar is not None:
            self._bar.set_postfix(self._postfix(), refresh=False)

    # ------------------------------------------------------------------ output
    def _postfix(self) -> dict:
        out = {}
        if self.loss_history:
            out["loss"] = f"{self.loss_history[-1]:.4g}"
        if self.train_acc_history:
            out["train_acc"] = f"{self.train_acc_history[-1]:.3f}"
            out["val_acc"] = f"{self.val_acc_history[-1]:.3f}"
        return out

    def _log(self, msg: str, above_bar: bool = False) -> None:
        """Print a progress line; with a progress bar, iteration lines go to its postfix instead."""
        if not self.verbose:
            return
        if self._bar is None:
            print(msg)
        elif above_bar:
            self._bar.write(msg)
        else:
            self._bar.set_postfix(self._postfix(), refresh=False)

    def plot_history(self, path: str | os.PathLike) -> str:
        """Save the loss curve and the train/val accuracy curves to a PNG at ``path``; returns the path.

        Draws on a Figure with the Agg canvas directly, so it needs no display and leaves the user's pyplot
        backend (a notebook's inline one, say) untouched.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 4))
        FigureCanvasAgg(fig)
        ax1, ax2 = fig.subplots(1, 2)
        ax1.plot(self.loss_history, lw=0.8)
        ax1.set_xlabel("iteration")
        ax1.set_ylabel("training loss")
        ax1.set_title("Loss")
        ax2.plot(self.train_acc_history, "-o", label="train")
        ax2.plot(self.val_acc_history, "-o", label="val")
        ax2.set_xlabel("accuracy check (epoch)")
        ax2.set_ylabel("accuracy")
        ax2.set_title("Accuracy")
        ax2.legend()
        fig.tight_layout()
        path = os.fspath(path)
        fig.savefig(path, format="png")
        return path

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> dict:
        model = self.model
        aux = {k: v for k, v in getattr(model, "aux_params", {}).items() if _storable(v)} if self._modelbase else {}
        bn = None
        if isinstance(getattr(model, "bn_params", None), list):
            bn = [{k: v for k, v in p.items() if _storable(v)} for p in model.bn_params]
        it_state = None
        if self._style == "minpy" and callable(getattr(self.train_dataiter, "get_state", None)):
            it_state = self.train_dataiter.get_state()
        return {
            "kind": "imperdl.nn.Solver", "style": self._style, "update_rule": self._rule_name,
            "epoch": self.epoch, "epoch_step": self._epoch_step, "step": self._step_count,
            "num_epochs": self.num_epochs, "params": dict(model.params), "aux_params": aux, "bn_params": bn,
            "optim_configs": self.optim_configs, "best_params": self.best_params, "best_val_acc": self.best_val_acc,
            "loss_history": self.loss_history, "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history, "rng": random_state_to_tree(self._rng), "seed": self.seed,
            "global_seed": self._global_seed, "data_iter": it_state, "grad_mode": self._grad_mode,
        }

    def _reseed_global(self) -> None:
        """Seed imperdl's global generators from (seed, step): a resumed run can do the same."""
        entropy = [self.seed, self._step_count] + ([self.rank] if self._parallel else [])  # own dropout masks
        self._global_seed = int(numpy.random.SeedSequence(entropy).generate_state(1)[0])
        _seed_global(self._global_seed)

    def save_checkpoint(self, path: str | os.PathLike | None = None) -> str:
        """Write the training state to ``path`` (default: the checkpoint path) atomically; returns the path.

        Like every checkpoint, this reseeds imperdl's global generators (see the module docstring).
        """
        path = os.fspath(path or self.checkpoint_path or "")
        if not path:
            raise ValueError("Solver.save_checkpoint: no path given and no checkpoint_name set")
        self._settle()
        self._reseed_global()
        if self.rank == 0:  # (a data-parallel run: every worker holds the same state; one writes it)
            save_checkpoint(path, self._state())
        self._last_saved = self._step_count, self.epoch
        return path

    def _maybe_checkpoint(self, epoch_end: bool) -> None:
        if self.checkpoint_path is None:
            return
        if (self.checkpoint_every is None) == epoch_end:
            self.save_checkpoint()

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restore the training state written by ``save_checkpoint`` (parameter names and shapes must match)."""
        path = os.fspath(path)
        self._apply_state(load_checkpoint(path), path)

    def _apply_state(self, state: dict, path: str) -> None:
        if state.get("kind") != "imperdl.nn.Solver":
            raise ValueError(f"Solver: {path!r} is a checkpoint but not of a Solver (kind {state.get('kind')!r})")
        if state["style"] != self._style:
            raise ValueError(f"Solver: {path!r} was written by a {state['style']}-style run, this one is {self._style}")
        params = state["params"]
        expected = {k: tuple(numpy.shape(v)) for k, v in self.model.params.items()}
        if self._modelbase:
            expected.update({k: tuple(c["shape"]) for k, c in self.model.param_configs.items()})
        found = {k: tuple(v.shape) for k, v in params.items()}
        if expected and found != expected:
            raise ValueError(f"Solver: {path!r} holds parameters {found}, the model has {expected}")
        self.model.params.update(_to_array(params))
        if self._modelbase:
            self.model.aux_params.update(_to_array(state.get("aux_params") or {}))
        if state.get("bn_params") is not None and isinstance(getattr(self.model, "bn_params", None), list):
            for mine, saved in zip(self.model.bn_params, state["bn_params"]):
                mine.update(_to_array(saved))
        self.optim_configs = _to_array(state["optim_configs"])
        self.best_params = _to_array(state["best_params"]) or {}
        self.best_val_acc = float(state["best_val_acc"])
        self.loss_history = [float(v) for v in state["loss_history"]]
        self.train_acc_history = [float(v) for v in state["train_acc_history"]]
        self.val_acc_history = [float(v) for v in state["val_acc_history"]]
        self.epoch, self._epoch_step = int(state["epoch"]), int(state["epoch_step"])
        self._step_count = int(state["step"])
        self.seed = int(state["seed"])
        self._rng.set_state(random_state_from_tree(state["rng"]))
        self._grad_mode = state.get("grad_mode")
        self._global_seed = state.get("global_seed")
        if self._global_seed is not None:
            _seed_global(int(self._global_seed))
        it_state = state.get("data_iter")
        if self._style == "minpy":
            if it_state is not None and callable(getattr(self.train_dataiter, "set_state", None)):
                self.train_dataiter.set_state(it_state)
            elif self._epoch_step > 0:  # an iterator without state: replay its epoch up to the checkpoint
                self.train_dataiter.reset()
                for _ in range(self._epoch_step):
                    next(self.train_dataiter)
        self._pending = None
        self._ring.clear()
        self._last_saved = self._step_count, self.epoch

    # ------------------------------------------------------------------ training
    def _steps_per_epoch(self) -> int | None:
        if self._style == "cs231n":
            return max(self.X_train.shape[0] // self.batch_size, 1)
        n = getattr(self.train_dataiter, "getnumiterations", None)
        return int(n()) if callable(n) else None

    def _epoch_batches(self):
        """The rest of the current epoch's batches (resuming at ``_epoch_step``)."""
        if self._style == "cs231n":
            n = self.X_train.shape[0]
            for _ in range(self._epoch_step, self._steps_per_epoch()):
                idx = self._rng.choice(n, self.batch_size)
                yield DataBatch([Array(self.X_train[idx])], [Array(self.y_train[idx])], index=idx)
            return
        if self._epoch_step == 0:
            self.train_dataiter.reset()
        yield from self.train_dataiter

    def train(self) -> None:
        """Run (or, with ``resume``, continue) the optimisation; afterwards ``model.params`` are the best ones."""
        self._ensure_ready()
        if self.kvstore is not None and self._world is None:
            self._join()
        if self.resume is not None:
            path = self.checkpoint_path if self.resume is True else os.fspath(self.resume)
            # a data-parallel run: rank 0 reads the checkpoint and sends it to the others (_sync_state)
            if (self.resume is not True or os.path.exists(path)) and self.rank == 0:
                self.load_checkpoint(path)
            self.resume = None  # a second train() continues from memory
        if self._parallel:
            self._sync_state()
        if self._step_count == 0 and self._seed_given:
            self._reseed_global()  # seed= covers dropout masks too: they come from imperdl's global generators
        per_epoch = self._steps_per_epoch()
        self._total_steps = per_epoch * self.num_epochs if per_epoch is not None else None
        self._bar = self._make_bar()
        try:
            while self.epoch < self.num_epochs:
                for batch in self._epoch_batches():
                    first = self._step_count == 0
                    self._step(batch)
                    if first and self._style == "cs231n":
                        self._settle()
                        self._record_accuracy()
                    if self.checkpoint_every and self._step_count % self.checkpoint_every == 0:
                        self._maybe_checkpoint(epoch_end=False)
                self._settle()
                self.epoch += 1
                self._epoch_step = 0
                for config in self.optim_configs.values():
                    if "learning_rate" in config:
                        config["learning_rate"] *= self.lr_decay
                self._record_accuracy()
                self._maybe_checkpoint(epoch_end=True)
            self._settle()
            if self.checkpoint_path is not None and self._last_saved != (self._step_count, self.epoch):
                self.save_checkpoint()
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
        if self.best_params:
            self.model.params.update({k: v.copy() for k, v in self.best_params.items()})

    def _make_bar(self):
        if not self.verbose or not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        return tqdm(total=self._total_steps, initial=self._step_count, unit="step", dynamic_ncols=True)
