"""MXNet carries scalar parameters as text with 15 significant digits: a float64 scalar that needs 17 must still
reach the result exactly (setitem, full, arithmetic and comparisons with scalars), as NumPy computes it."""
from __future__ import annotations

import numpy as onp
import pytest

import imperdl
import imperdl.numpy as np

V = 0.1 - 1e-5  # 0.09999000000000001: 17 significant digits


@pytest.mark.parametrize("policy", [imperdl.PreferMXNetPolicy, imperdl.OnlyNumPyPolicy])
def test_seventeen_digit_scalars_are_exact(policy):
    base = onp.array([0.1, 0.2, 0.3])
    with policy():
        a = np.array(base) + 0  # fresh on the policy's backend
        a[0] = V
        assert float(a[0]) == V
        assert float(np.full(2, V)[1]) == V
        onp.testing.assert_array_equal((a * 0 + V).asnumpy(), base * 0 + V)
        onp.testing.assert_array_equal((V - (np.array(base) + 0)).asnumpy(), V - base)
        onp.testing.assert_array_equal((np.array(base) > V).asnumpy(), base > V)
        onp.testing.assert_array_equal((np.array(base) % V).asnumpy(), base % V)
