"""Policies: which backend runs a call. MinPy's names; the decision is per call signature and cached here.

``decide`` returns a code: 0 = NumPy by choice, 1 = MXNet, 2 = NumPy as a fallback (the policy prefers
MXNet but MXNet cannot take this call). Each policy object owns its decision cache, so switching policies never
invalidates another's decisions; learning a failure updates only the failing signature.

The default (no ``set_global_policy``) follows the current context: ``CostAwarePolicy`` on a CPU context, where
MXNet's CPU wheel loses to NumPy on small and elementwise work, and ``PreferMXNetPolicy`` on a GPU context. It is
resolved at the first call (so importing imperdl does not load MXNet) and again whenever the context changes.

Scope: ``set_global_policy`` is process-wide (``current``); a ``with policy:`` block holds for its own thread only
(``blocks``, see ``scope``), so two threads can run under different policies at once. Dispatch reads
``blocks.inner.get() or current``.
"""
from __future__ import annotations

import functools
import json
import os
import weakref
from importlib import resources

from .backends import mxnet_backend as _mxb
from .scope import Blocks
from .signature import format_key, out_of_range


class MXNetUnsupportedError(NotImplementedError):
    """OnlyMXNetPolicy was asked to run a call MXNet cannot run exactly."""


class Policy:
    """Base policy: NumPy for everything. Subclasses override ``decide``."""

    name = "policy"
    prefers_mxnet = False
    located = False  # True: decisions depend on where the arguments live (dispatch adds that to the cache key)
    numpy_only = False  # every decision is NumPy (set per object in __init__, from the class's ``decide``)
    host_backward = False  # unobserved backward walks may run host values' rules on NumPy (``tape.unobserved``)

    def __init__(self):
        self.caches: dict = {}  # primitive -> {signature: code}
        # every call runs on NumPy whatever its arguments (``decide`` is the base one, which answers 0): dispatch
        # then skips the signature and the cache for plain calls (arrays and Python numbers)
        self.numpy_only = type(self).decide is Policy.decide

    # -- decision
    def decide(self, prim, key, args, kwargs) -> int:
        return 0

    @staticmethod
    def mxnet_accepts(prim, args, kwargs) -> bool:
        """MXNet has an implementation, is importable, and its predicate accepts this call."""
        if prim.impls[1] is None or not _mxb.available() or out_of_range(args, kwargs):
            return False
        pred = prim.preds[1]
        if pred is None:
            return True
        try:
            return bool(pred(*args, **kwargs))
        except Exception:  # a predicate that cannot read the call declines it
            return False

    def learn_failure(self, prim, key, reason: str) -> None:
        """MXNet raised on a call NumPy accepts: run this signature on NumPy from now on."""
        if key is not None:
            self.caches.setdefault(prim, {})[key] = 2

    def clear_cache(self) -> None:
        self.caches.clear()

    # -- scoping (this thread only; see the module docstring)
    def __enter__(self):
        blocks.push(self)
        return self

    def __exit__(self, *exc):
        blocks.pop()
        return False

    def __repr__(self):
        return f"{type(self).__name__}()"


class OnlyNumPyPolicy(Policy):
    """Run everything with NumPy on the host."""

    name = "only_numpy"


class PreferMXNetPolicy(Policy):
    """MXNet where it can give NumPy's exact result, NumPy (a counted, reportable fallback) elsewhere."""

    name = "prefer_mxnet"
    prefers_mxnet = True

    def decide(self, prim, key, args, kwargs) -> int:
        if prim.host:
            return 0
        if self.mxnet_accepts(prim, args, kwargs) and not self.blocked(prim, key):
            return 1
        return 2

    def blocked(self, prim, key) -> bool:
        return False


class OnlyMXNetPolicy(Policy):
    """MXNet only: a call MXNet cannot run exactly raises ``MXNetUnsupportedError``."""

    name = "only_mxnet"
    prefers_mxnet = True

    def decide(self, prim, key, args, kwargs) -> int:
        if prim.host:
            return 0
        if self.mxnet_accepts(prim, args, kwargs):
            return 1
        from .dispatch import describe_args

        why = "it has no MXNet implementation" if prim.impls[1] is None else _declined(args, kwargs)
        if prim.impls[1] is not None and out_of_range(args, kwargs):
            why = ("MXNet cannot run it exactly: a number in the arguments is beyond what MXNet carries exactly "
                   "(it passes scalars as doubles and sizes as 32-bit integers)")
        if prim.impls[1] is not None and not _mxb.available():
            why = f"MXNet is not importable ({_mxb.unavailable_reason()})"
        raise MXNetUnsupportedError(
            f"{prim.space}.{prim.name}({describe_args(args, kwargs)}) under OnlyMXNetPolicy: {why}"
        )

    def learn_failure(self, prim, key, reason: str) -> None:
        raise MXNetUnsupportedError(f"{prim.space}.{prim.name}({format_key(key)}) under OnlyMXNetPolicy: {reason}")


def _declined(args, kwargs) -> str:
    """Why an MXNet implementation's predicate declined, in the user's terms (dtypes are the usual reason)."""
    import numpy

    dts = []
    for a in (*args, *kwargs.values()):
        dt = getattr(a, "dtype", None)
        if isinstance(dt, numpy.dtype) and getattr(a, "ndim", 0) and dt not in dts:
            dts.append(dt)
    if len(dts) > 1:
        return (f"MXNet cannot run it exactly: its kernels take one dtype, not a mix of {', '.join(map(str, dts))}; "
                f"cast the arrays to {numpy.result_type(*dts)} (NumPy's result dtype) or use a policy that may "
                "run NumPy")
    return "MXNet cannot run it exactly (MXNet's kernel does not take these arguments or this dtype)"


def _load_rules(text: str) -> dict:
    data = json.loads(text) if text.strip() else {}
    return {name: set(sigs) for name, sigs in data.items()}


def shipped_rules() -> dict:
    """The blacklist shipped with the package (generated by ``python -m imperdl.tools.gen_blacklist``)."""
    return _load_rules(resources.files("imperdl.core").joinpath("blacklist.json").read_text())


class BlacklistPolicy(PreferMXNetPolicy):
    """PreferMXNet, except for calls listed in a rule table: ``{name: ["*"] or [signature, ...]}``."""

    name = "blacklist"

    def __init__(self, rules: dict | None = None):
        super().__init__()
        self.rules = shipped_rules() if rules is None else {k: set(v) for k, v in rules.items()}

    def blocked(self, prim, key) -> bool:
        sigs = self.rules.get(prim.name)
        return bool(sigs) and ("*" in sigs or format_key(key) in sigs)

    def add_rule(self, name: str, key) -> bool:
        sigs = self.rules.setdefault(name, set())
        sig = format_key(key)
        if sig in sigs or "*" in sigs:
            return False
        sigs.add(sig)
        return True

    def rules_json(self) -> str:
        return json.dumps({k: sorted(v) for k, v in sorted(self.rules.items()) if v}, indent=1, sort_keys=True)


class AutoBlacklistPolicy(BlacklistPolicy):
    """A blacklist that learns: a signature MXNet fails on (and NumPy accepts) becomes a rule.

    ``gen_rule``: learn new rules. ``append_rule``: start from the rules already at ``loc`` (else from the
    shipped table only) and write them back together. ``loc``: a JSON file to persist to; ``None`` keeps
    the rules in memory only — nothing is written anywhere unless asked.
    """

    name = "auto_blacklist"

    def __init__(self, gen_rule: bool = True, append_rule: bool = True, loc: str | os.PathLike | None = None):
        super().__init__()
        self.gen_rule = gen_rule
        self.append_rule = append_rule
        self.loc = os.fspath(loc) if loc is not None else None
        if self.loc and append_rule and os.path.exists(self.loc):
            with open(self.loc) as f:
                for name, sigs in _load_rules(f.read()).items():
                    self.rules.setdefault(name, set()).update(sigs)
        self.learned: dict = {}

    def learn_failure(self, prim, key, reason: str) -> None:
        super().learn_failure(prim, key, reason)
        if self.gen_rule and key is not None and self.add_rule(prim.name, key):
            self.learned.setdefault(prim.name, set()).add(format_key(key))
            if self.loc:
                self.save()

    def save(self, loc: str | os.PathLike | None = None) -> str:
        """Write the rules (atomically) to ``loc`` or the policy's own location; return the path."""
        path = os.fspath(loc) if loc is not None else self.loc
        if path is None:
            raise ValueError("AutoBlacklistPolicy.save: no location (give loc= here or to the policy)")
        rules = self.rules if self.append_rule else self.learned
        text = json.dumps({k: sorted(v) for k, v in sorted(rules.items()) if v}, indent=1, sort_keys=True)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        return path


class _NoCache(dict):
    """A decision cache that keeps nothing (for the stand-in below, whose decisions belong to another policy)."""

    def __setitem__(self, key, value):
        pass


class _DefaultPending(Policy):
    """Stands for the default policy until the first call resolves it from the current context."""

    name = "default"

    def __init__(self):
        super().__init__()
        self.caches = _NoCache()

    def decide(self, prim, key, args, kwargs) -> int:
        return _default_now().decide(prim, key, args, kwargs)


_BY_NAME = {"prefer_mxnet": PreferMXNetPolicy, "only_numpy": OnlyNumPyPolicy, "only_mxnet": OnlyMXNetPolicy,
            "blacklist": BlacklistPolicy, "auto_blacklist": AutoBlacklistPolicy}

_PENDING = _DefaultPending()
_explicit: Policy | None = None  # what set_global_policy chose; None: the default of the current context
_defaults: dict = {}  # device type -> that type's default policy object (kept: its decisions stay cached)
current: Policy = _PENDING  # the process-wide policy (set_global_policy, else the default of the context)
blocks = Blocks("policy")  # this thread's with-policy blocks (none: the process-wide policy holds)
_by_context = weakref.WeakSet()  # policies whose decisions depend on the device type (cleared when it changes)


def default_policy(ctx=None) -> Policy:
    """The policy used when none was set: ``CostAwarePolicy`` on a CPU context, ``PreferMXNetPolicy`` on a GPU.

    One object per device type, so switching contexts back and forth keeps each one's cached decisions.
    """
    from .. import context as _context

    kind = (ctx or _context.current_context()).device_type
    pol = _defaults.get(kind)
    if pol is None:
        pol = _defaults[kind] = PreferMXNetPolicy() if kind == "gpu" else CostAwarePolicy()
    return pol


def _is_default(p) -> bool:
    return any(p is d for d in _defaults.values())


def _default_now() -> Policy:
    """Resolve the default for the current context and install it where the stand-in (or an old default) was."""
    global current
    pol = default_policy()
    if _explicit is None:
        current = pol
    return pol


def _context_changed(ctx) -> None:
    """Called by ``imperdl.context.set_context``: the default follows the device; device-aware caches reset."""
    global current
    for p in list(_by_context):
        p._context_changed(ctx)
    if _explicit is None and current is not _PENDING:
        current = default_policy(ctx)


def _resolve(p) -> Policy:
    if isinstance(p, Policy):
        return p
    if isinstance(p, str) and p in _BY_NAME:
        return _BY_NAME[p]()
    raise ValueError(f"imperdl: a policy is a Policy object or one of {sorted(_BY_NAME)}, got {p!r}")


def set_global_policy(p) -> Policy:
    """Make ``p`` (a Policy or 'cost_aware' | 'prefer_mxnet' | 'only_numpy' | 'only_mxnet' | ...) the process-wide
    policy. ``None`` (or a default policy object, as ``get_global_policy()`` returned it) goes back to the
    default, which follows the context."""
    global current, _explicit
    if p is None or p is _PENDING:
        _explicit = None
        current = _PENDING
        return _default_now()
    pol = _resolve(p)
    _explicit = None if _is_default(pol) else pol
    current = pol
    return pol


def get_global_policy() -> Policy:
    """The policy calls use now in this thread (its innermost ``with policy:`` block, else the global one, else
    the default)."""
    pol = blocks.inner.get() or current
    if pol is _PENDING:
        return _default_now()
    return pol


def wrap_policy(p):
    """Decorator: run the function under policy ``p``, restoring the previous one afterwards."""
    pol = _resolve(p)

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with pol:
                return fn(*args, **kwargs)

        return wrapper

    return deco


from .placement import CostAwarePolicy  # noqa: E402  (placement builds on the classes above)

_BY_NAME["cost_aware"] = CostAwarePolicy
