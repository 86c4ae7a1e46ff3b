"""Policies (MinPy's names): who runs a call, scoped exception-safely, learning MXNet failures per signature."""
from __future__ import annotations

import json
import os

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np
from imperdl.core import MXNetUnsupportedError, Policy

X1 = onp.array([0.25, 0.5, 1.0])
X2 = onp.array([[0.25, 0.5], [1.0, 2.0]])


def test_names_exported_at_root():
    for name in ("PreferMXNetPolicy", "OnlyNumPyPolicy", "OnlyMXNetPolicy", "BlacklistPolicy",
                 "AutoBlacklistPolicy", "set_global_policy", "get_global_policy", "wrap_policy"):
        assert hasattr(imperdl, name), name
    assert imperdl.PreferMXNetPolicy is imperdl.core.policy.PreferMXNetPolicy
    assert issubclass(imperdl.AutoBlacklistPolicy, imperdl.BlacklistPolicy)


def test_default_policy_prefers_mxnet():
    # the default follows the context: cost-aware on a CPU, PreferMXNet on a GPU (tests/test_placement.py)
    expected = imperdl.PreferMXNetPolicy if imperdl.current_context().device_type == "gpu" else imperdl.CostAwarePolicy
    assert isinstance(imperdl.get_global_policy(), expected)


@pytest.mark.parametrize("name, cls", [("prefer_mxnet", imperdl.PreferMXNetPolicy),
                                       ("only_numpy", imperdl.OnlyNumPyPolicy),
                                       ("only_mxnet", imperdl.OnlyMXNetPolicy)])
def test_set_global_policy_with_strings_and_objects(name, cls):
    imperdl.set_global_policy(name)
    assert type(imperdl.get_global_policy()) is cls
    p = cls()
    imperdl.set_global_policy(p)
    assert imperdl.get_global_policy() is p


def test_set_global_policy_rejects_unknown():
    before = imperdl.get_global_policy()
    with pytest.raises(ValueError):
        imperdl.set_global_policy("fastest")
    with pytest.raises(ValueError):
        imperdl.set_global_policy(42)
    assert imperdl.get_global_policy() is before


def test_with_block_restores_even_on_exceptions():
    outer = imperdl.get_global_policy()
    p, q = imperdl.OnlyNumPyPolicy(), imperdl.OnlyMXNetPolicy()
    with p:
        assert imperdl.get_global_policy() is p
        with q:
            assert imperdl.get_global_policy() is q
        assert imperdl.get_global_policy() is p
        with p:  # re-entering the same object nests too
            assert imperdl.get_global_policy() is p
        assert imperdl.get_global_policy() is p
    assert imperdl.get_global_policy() is outer
    with pytest.raises(ZeroDivisionError):
        with p:
            raise ZeroDivisionError
    assert imperdl.get_global_policy() is outer


def test_wrap_policy_restores_even_on_exceptions():
    outer = imperdl.get_global_policy()
    seen = []

    @imperdl.wrap_policy(imperdl.OnlyNumPyPolicy())
    def f(fail):
        seen.append(imperdl.get_global_policy())
        if fail:
            raise KeyError("boom")
        return 3

    @imperdl.wrap_policy("only_numpy")
    def g():
        return type(imperdl.get_global_policy())

    assert f(False) == 3
    assert isinstance(seen[-1], imperdl.OnlyNumPyPolicy)
    assert imperdl.get_global_policy() is outer
    with pytest.raises(KeyError):
        f(True)
    assert imperdl.get_global_policy() is outer
    assert g() is imperdl.OnlyNumPyPolicy
    assert f.__name__ == "f"


def test_policies_are_policies():
    for cls in (imperdl.PreferMXNetPolicy, imperdl.OnlyNumPyPolicy, imperdl.OnlyMXNetPolicy,
                imperdl.BlacklistPolicy, imperdl.AutoBlacklistPolicy):
        assert isinstance(cls(), Policy)


def test_prefer_mxnet_runs_accepted_calls_on_mxnet(mx_sinc, count):
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    y = np.sinc(np.array(X1))
    assert count("sinc", "mxnet") == 1
    assert y.backends == ("mxnet",)
    onp.testing.assert_allclose(y.asnumpy(), onp.sinc(X1))
    z = np.sinc(np.array(X1.astype(onp.int64)))  # the predicate declines ints: NumPy, counted as a fallback
    assert count("sinc", "fallback") == 1
    onp.testing.assert_allclose(z.asnumpy(), onp.sinc(X1.astype(onp.int64)))


def test_only_numpy_runs_nothing_on_mxnet(mx_sinc, mxnet_array, count):
    imperdl.set_global_policy("only_numpy")
    x = mxnet_array(X1)
    y = np.sinc(x)
    z = np.exp(np.sinc(y)) + x * 2
    assert mx_sinc.calls == []
    assert count("sinc", "numpy") == 2 and count("sinc", "mxnet") == 0
    s = imperdl.statistics()
    assert s["total"]["mxnet"] == 0
    assert "numpy->mxnet" not in s["copies"]
    assert y.backends == ("numpy",) and z.backends == ("numpy",)
    onp.testing.assert_allclose(z.asnumpy(), onp.exp(onp.sinc(onp.sinc(X1))) + X1 * 2)


def test_only_mxnet_raises_for_numpy_only_functions():
    x, y = np.zeros((2, 3)), np.ones((2, 3))
    with imperdl.OnlyMXNetPolicy():
        with pytest.raises(MXNetUnsupportedError) as e:
            np.logaddexp(x, y)
    assert "logaddexp" in str(e.value)
    assert isinstance(e.value, NotImplementedError)
    assert imperdl.core.MXNetUnsupportedError is MXNetUnsupportedError


def test_only_mxnet_runs_on_mxnet(mx_sinc, count):
    x = np.array(X1)
    with imperdl.OnlyMXNetPolicy():
        y = np.sinc(x)
        with pytest.raises(MXNetUnsupportedError, match="sinc"):
            np.sinc(np.array([1, 2]))  # declined by the predicate
    assert count("sinc", "mxnet") == 1
    assert y.backends == ("mxnet",)


def test_only_mxnet_failure_on_valid_call_raises(mx_sinc):
    mx_sinc.fail_ndim = 2
    x = np.array(X2)
    with imperdl.OnlyMXNetPolicy():
        with pytest.raises(MXNetUnsupportedError, match="sinc"):
            np.sinc(x)


def test_blacklist_rule_sends_listed_op_to_numpy(mx_sinc, count):
    x1, x2 = np.array(X1), np.array(X2)
    with imperdl.BlacklistPolicy({"sinc": ["*"]}):
        np.sinc(x1)
        np.sinc(x2)
    assert mx_sinc.calls == []
    assert count("sinc", "fallback") == 2
    imperdl.reset_statistics()
    with imperdl.BlacklistPolicy({"sinc": ["float64[2d]"]}) as p:
        a, b = np.sinc(x1), np.sinc(x2)
    assert p.rules == {"sinc": {"float64[2d]"}}
    assert mx_sinc.calls == [1]
    assert a.backends == ("mxnet",) and b.backends == ("numpy",)
    onp.testing.assert_allclose(b.asnumpy(), onp.sinc(X2))


def test_blacklist_default_rules_are_the_shipped_table():
    from imperdl.core.policy import shipped_rules

    p = imperdl.BlacklistPolicy()
    assert p.rules == shipped_rules()
    assert isinstance(p.rules, dict)


def test_prefer_mxnet_remembers_failure_and_falls_back(mx_sinc, count):
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    mx_sinc.fail_ndim = 2
    x = np.array(X2)
    for _ in range(3):
        y = np.sinc(x)
        onp.testing.assert_allclose(y.asnumpy(), onp.sinc(X2))
    assert mx_sinc.calls == [2]  # tried once, remembered for this signature
    assert count("sinc", "fallback") == 3
    np.sinc(np.array(X1))  # another signature still goes to MXNet
    assert mx_sinc.calls == [2, 1]


def test_auto_blacklist_learns_in_memory(mx_sinc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    mx_sinc.fail_ndim = 2
    p = imperdl.AutoBlacklistPolicy(gen_rule=True, append_rule=True)
    assert p.loc is None
    x2, x1 = np.array(X2), np.array(X1)
    with p:
        y = np.sinc(x2)
        np.sinc(x2)
        np.sinc(x1)
    onp.testing.assert_allclose(y.asnumpy(), onp.sinc(X2))
    assert mx_sinc.calls == [2, 1]
    assert p.learned == {"sinc": {"float64[2d]"}}
    assert "float64[2d]" in p.rules["sinc"]
    assert list(tmp_path.iterdir()) == []  # nothing written without loc=


def test_auto_blacklist_gen_rule_false_learns_no_rule(mx_sinc):
    mx_sinc.fail_ndim = 2
    p = imperdl.AutoBlacklistPolicy(gen_rule=False)
    x = np.array(X2)
    with p:
        np.sinc(x)
        np.sinc(x)
    assert p.learned == {}
    assert "sinc" not in p.rules
    assert mx_sinc.calls == [2]  # still not retried within this policy


def test_auto_blacklist_persists_atomically_with_loc(mx_sinc, tmp_path):
    mx_sinc.fail_ndim = 2
    loc = tmp_path / "rules.json"
    p = imperdl.AutoBlacklistPolicy(loc=loc)
    with p:
        np.sinc(np.array(X2))
    assert sorted(os.listdir(tmp_path)) == ["rules.json"]  # no temporary file left behind
    data = json.loads(loc.read_text())
    assert data["sinc"] == ["float64[2d]"]
    # a new policy reading the same file starts with the rule: MXNet is not even tried
    calls = len(mx_sinc.calls)
    with imperdl.AutoBlacklistPolicy(loc=loc) as q:
        np.sinc(np.array(X2))
    assert len(mx_sinc.calls) == calls
    assert "float64[2d]" in q.rules["sinc"]


def test_auto_blacklist_append_rule_semantics(mx_sinc, tmp_path):
    mx_sinc.fail_ndim = 2
    loc = tmp_path / "rules.json"
    loc.write_text(json.dumps({"cosh": ["float32[1d]"]}))
    with imperdl.AutoBlacklistPolicy(append_rule=True, loc=loc) as p:
        assert p.rules["cosh"] == {"float32[1d]"}
        np.sinc(np.array(X2))
    assert json.loads(loc.read_text()) == {"cosh": ["float32[1d]"], "sinc": ["float64[2d]"]}

    loc.write_text(json.dumps({"cosh": ["float32[1d]"]}))
    with imperdl.AutoBlacklistPolicy(append_rule=False, loc=loc) as p:
        assert "cosh" not in p.rules
        np.sinc(np.array(X2))
    assert json.loads(loc.read_text()) == {"sinc": ["float64[2d]"]}


def test_auto_blacklist_as_global_policy(mx_sinc):
    mx_sinc.fail_ndim = 2
    p = imperdl.AutoBlacklistPolicy()
    imperdl.set_global_policy(p)
    np.sinc(np.array(X2))
    np.sinc(np.array(X2))
    assert mx_sinc.calls == [2]
    assert p.learned == {"sinc": {"float64[2d]"}}


def test_genuine_user_error_is_not_learned(fake_mxnet, no_mxnet_text):
    calls = []

    def bad_add(x, y):
        calls.append(1)
        raise RuntimeError("[bt] (0) libmxnet.so\nsrc/operator/tensor/elemwise.cc:42: Check failed: Stack trace")

    fake_mxnet("add", bad_add)
    x, y = np.ones((2, 3)), np.ones((4,))
    with imperdl.AutoBlacklistPolicy() as p:
        for _ in range(2):
            with pytest.raises(ValueError) as e:
                np.add(x, y)
            msg = str(e.value)
            assert "add" in msg and "(2,3)" in msg.replace(" ", "") and "(4,)" in msg
            no_mxnet_text(msg)
        assert p.learned == {}
    assert len(calls) == 2  # a user error is not a reason to stop asking MXNet


def test_genuine_user_error_with_real_mxnet(fake_mxnet, mx, no_mxnet_text):
    imperdl.set_global_policy("prefer_mxnet")  # written for PreferMXNet (the default before cost-aware placement)
    fake_mxnet("add", lambda x, y: mx.add(x, y))
    x, y = np.ones((2, 3)), np.ones((4,))
    with pytest.raises(ValueError) as e:
        x + y
    assert "add" in str(e.value)
    no_mxnet_text(str(e.value))
    r = x + np.ones((3,))  # a valid call of the same signature still runs on MXNet
    assert r.backends == ("mxnet",)
    onp.testing.assert_array_equal(r.asnumpy(), onp.full((2, 3), 2.0))


def test_each_policy_keeps_its_own_decisions(mx_sinc, count):
    mx_sinc.fail_ndim = 2
    x = np.array(X2)
    with imperdl.PreferMXNetPolicy():
        np.sinc(x)
    with imperdl.PreferMXNetPolicy():  # a fresh policy has learned nothing yet
        np.sinc(x)
    assert mx_sinc.calls == [2, 2]
