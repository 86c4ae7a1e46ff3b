"""Regenerate the blacklist shipped with imperdl (imperdl/core/blacklist.json) from the differential test cases.

Every call drawn by ``tests/differential/cases_*.py`` runs under an ``AutoBlacklistPolicy``; a signature on which
MXNet raises although NumPy accepts the call becomes a rule. ``--check`` exits 1 if the shipped file differs.
Usage: python tools/gen_blacklist.py [--examples N] [--check]
"""
from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import sys
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = ROOT / "imperdl" / "core" / "blacklist.json"


def _run_case(policy, name: str, case, examples: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    import imperdl.numpy as inp
    from imperdl.core.array import Array

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def run(data):
        args, kwargs = case(data)
        conv = [inp.array(a) if hasattr(a, "dtype") and hasattr(a, "shape") else a for a in args]
        with policy, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if name == "ndarray.__getitem__":
                    conv[0][conv[1]]
                elif name == "ndarray.__setitem__":
                    conv[0][conv[1]] = conv[2]
                elif name.startswith("ndarray."):
                    getattr(Array, name.split(".", 1)[1])(*conv, **kwargs)
                else:
                    obj = inp
                    for part in name.split("."):
                        obj = getattr(obj, part)
                    obj(*conv, **kwargs)
            except Exception:
                pass  # genuine errors are NumPy's business; only learned MXNet failures matter

    run()


def learn(examples: int) -> dict:
    import imperdl

    policy = imperdl.AutoBlacklistPolicy(gen_rule=True, append_rule=False, loc=None)
    policy.rules = {}
    for path in sorted((ROOT / "tests" / "differential").glob("cases_*.py")):
        mod = importlib.import_module(f"tests.differential.{path.stem}")
        for name, case in mod.CASES.items():
            _run_case(policy, name, case, examples)
    return {k: sorted(v) for k, v in sorted(policy.learned.items())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=10)
    ap.add_argument("--check", action="store_true")
    ns = ap.parse_args()
    text = json.dumps(learn(ns.examples), indent=1, sort_keys=True) + "\n"
    if ns.check:
        if TARGET.read_text() != text:
            print(f"{TARGET} is stale: run python tools/gen_blacklist.py")
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET} ({text.count(':')} rules)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
