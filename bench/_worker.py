"""A benchmark worker: one process per library family, driven by ``bench/run_all.py`` over stdin/stdout.

    python bench/_worker.py FAMILY      # FAMILY: numpy | imperdl | mxnet | torch | torch1 (one thread) | jax

(``jax`` runs under the Python of JAX's own virtual environment, ``bench/.venv-jax``.)

Commands arrive one JSON object per line; every reply is one line starting with ``@@`` followed by JSON (anything
else a library prints is ignored by the driver):

- ``{"cmd": "load"}``: import the family's libraries. Reply: this process's thread settings.
- ``{"cmd": "build", "workload": W, "config": {...}, "warmup": k, "target_s": s, "grads_dir": D}``: build this
  family's implementations of workload W, save each one's first-step gradients to ``D/<W>-<n>.npz``, warm each up
  and calibrate how many calls make one round. Reply: the cases (name, kind, note, calls per round, or why n/a /
  the error) and this process's thread settings.
- ``{"cmd": "round"}``: one timed round of every live case. Reply: name -> seconds per call (or errors).
- ``{"cmd": "profile", "name": N, "seconds": s}``: cProfile of case N. Reply: the profile.
- ``{"cmd": "drop"}``: forget the workload's cases. ``{"cmd": "quit"}``: exit.
"""
# ruff: noqa: E402
from __future__ import annotations

import os
import sys

os.environ.setdefault("MXNET_SUBGRAPH_VERBOSE", "0")

import gc
import json
import traceback
import warnings

import _harness as H
import numpy as onp


def _module(workload: str):
    return __import__(f"_wl_{workload}")


class Worker:
    def __init__(self, family: str):
        if family not in H.FAMILIES:
            raise SystemExit(f"_worker.py: unknown family {family!r}; expected one of {H.FAMILIES}")
        self.family = family
        self.live: dict = {}  # name -> (case, calls per round)

    def load(self) -> dict:
        """Import this family's libraries now (the driver starts every worker at once, so imports overlap)."""
        if self.family == "numpy":
            H.load_hips()
            from imperdl.core import conv_numpy  # noqa: F401  (plain NumPy kernels; loads no MXNet)
        elif self.family == "imperdl":
            import imperdl.numpy  # noqa: F401
            from imperdl.core.backends import mxnet_backend

            mxnet_backend.load()
        elif self.family == "mxnet":
            H.load_mxnet()
        elif self.family == "jax":
            import jax

            jax.config.update("jax_platforms", "cpu")
        else:
            torch = H.load_torch()
            if torch is not None and self.family == "torch1":
                torch.set_num_threads(1)
        return {"threads": H.thread_settings()}

    def build(self, workload: str, config: dict, warmup: int, target_s: float, grads_dir: str) -> dict:
        self.drop()
        if self.family == "torch1":
            cases = H.one_thread_variant(_module(workload).build(config, "torch"))
        elif self.family == "jax":
            make = getattr(_module(workload), "jax_cases", None)
            cases = make(config) if make is not None else [
                H.unavailable(n, "peer", "no JAX version of this workload yet") for n in H.JAX_ROWS]
        else:
            cases = _module(workload).build(config, self.family)
        out = []
        for i, case in enumerate(cases):
            row = {"name": case.name, "kind": case.kind, "note": case.note}
            if case.na is not None:
                row["na"] = case.na
                out.append(row)
                continue
            if case.grads is not None:
                try:
                    with H.policy_scope(case.policy) if case.policy is not None else _nothing():
                        g = case.grads()
                    path = os.path.join(grads_dir, f"{workload}-{self.family}-{i}.npz")
                    onp.savez(path, **{k: onp.asarray(v) for k, v in g.items()})
                    row["grads"] = path
                except Exception as exc:
                    row["grad_error"] = _err(exc)
            try:
                number = H.calibrate(case, warmup, target_s)
                self.live[case.name] = (case, number)
                row["number"] = number
            except Exception as exc:  # one broken contender must not hide the others
                row["error"] = _err(exc)
            out.append(row)
        return {"cases": out, "threads": H.thread_settings()}

    def default_policy(self) -> dict:
        """repr of imperdl's default policy here (imperdl worker only)."""
        import imperdl

        return {"policy": repr(imperdl.set_global_policy(None))}

    def round(self) -> dict:
        times, errors = {}, {}
        for name, (case, number) in list(self.live.items()):
            try:
                times[name] = H._round(case, number)
            except Exception as exc:
                errors[name] = _err(exc)
                del self.live[name]
        return {"times": times, "errors": errors}

    def profile(self, name: str, seconds: float) -> dict:
        case = self.live[name][0]
        return H.profile(case, seconds)

    def drop(self) -> dict:
        self.live.clear()
        gc.collect()
        return {}


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def main() -> int:
    warnings.simplefilter("ignore", DeprecationWarning)
    worker = Worker(sys.argv[1] if len(sys.argv) > 1 else "")
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        cmd = msg.pop("cmd")
        if cmd == "quit":
            break
        try:
            reply = getattr(worker, cmd)(**msg)
        except Exception as exc:
            reply = {"fatal": _err(exc), "traceback": traceback.format_exc()}
        out.write("@@" + json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
