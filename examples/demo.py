"""imperdl in one page: NumPy code that runs on MXNet where MXNet gives NumPy's exact answer, on NumPy elsewhere.

Run with ``make demo``. Each section retells a part of MinPy's "transparent fallback" tutorial on real arrays and
checks its result against plain NumPy, so the demo fails loudly if a claim it prints stops being true.
"""
from __future__ import annotations

import logging
import sys
import warnings

import numpy as onp

import imperdl
import imperdl.numpy as np


def section(title: str) -> None:
    print(f"\n== {title} ==")


def ran_on(name: str) -> str:
    """Which backend(s) ran primitive ``name`` since the last reset, read from imperdl's statistics."""
    c = imperdl.statistics()["ops"].get(name, {})
    parts = [f"{k}={v}" for k, v in c.items() if v]
    return ", ".join(parts) or "not called"


def transparent_fallback() -> None:
    """MinPy's cosh/log story: one op MXNet lacks in the middle of MXNet work; the copies are logged."""
    section("1. transparent fallback: copies happen for you, and the 'imperdl.array' logger shows them")
    log = logging.getLogger("imperdl.array")
    log.setLevel(logging.DEBUG)
    imperdl.reset_statistics()
    x = np.zeros((10, 20))  # an MXNet array (float64, as NumPy makes it)
    # MinPy's example used cosh, which mxnet.numpy has since gained; sinc it still lacks. So x is copied to
    # NumPy, sinc runs there, and its result y is a NumPy array ...
    y = np.sinc(x)
    # ... which is copied back to MXNet for log, which MXNet has.
    z = np.log(y)
    log.setLevel(logging.WARNING)
    print(f"zeros ran on: {ran_on('zeros')}; sinc: {ran_on('sinc')}; log: {ran_on('log')}")
    print(f"x lives on {x.backends}, y on {y.backends}, z on {z.backends}")
    assert z.dtype == onp.float64 and z.shape == (10, 20)
    onp.testing.assert_array_equal(z.asnumpy(), onp.log(onp.sinc(onp.zeros((10, 20)))))


def gaussian_cluster_generator(num_samples=10000, num_features=500, num_classes=5):
    """The tutorial's generator, fixed for Python 3 (``//``). In MinPy it crashed: MXNet's normal took no arrays."""
    mu = np.random.rand(num_classes, num_features)
    sigma = np.ones((num_classes, num_features)) * 0.1
    num_cls_samples = num_samples // num_classes
    x = np.zeros((num_samples, num_features))
    y = np.zeros((num_samples, num_classes))
    for i in range(num_classes):
        cls_samples = np.random.normal(mu[i, :], sigma[i, :], (num_cls_samples, num_features))
        x[i * num_cls_samples:(i + 1) * num_cls_samples] = cls_samples
        y[i * num_cls_samples:(i + 1) * num_cls_samples, i] = 1
    return x, y, mu


def array_arguments() -> None:
    section("2. np.random.normal with array mu and sigma simply works")
    np.random.seed(0)
    x, y, mu = gaussian_cluster_generator(1000, 50, 5)
    print(f"x: {x.shape} {x.dtype}, y: {y.shape} {y.dtype}; random.normal ran on: {ran_on('random.normal')}")
    xs, ys, mus = x.asnumpy(), y.asnumpy(), mu.asnumpy()
    assert xs.dtype == onp.float64 and ys.sum() == 1000
    for i in range(5):
        rows = ys[:, i] == 1
        err = onp.abs(xs[rows].mean(axis=0) - mus[i]).max()  # 200 samples of sigma 0.1: mean error ~0.007
        assert rows.sum() == 200 and err < 0.05, (i, err)
    print("each class's sample mean matches its mu (max error < 0.05)")


def step(w, x):
    """Some ordinary NumPy code: a layer, a nonlinearity MXNet lacks, a reduction."""
    h = np.tanh(np.dot(x, w))
    return np.sum(np.sinc(h) * h, axis=0)


def policies() -> None:
    section("3. policies: the same code under prefer_mxnet, only_numpy and a `with` block")
    rng = onp.random.default_rng(1)
    w_host, x_host = rng.standard_normal((8, 4)), rng.standard_normal((16, 8))
    expected = onp.sum(onp.sinc(onp.tanh(x_host @ w_host)) * onp.tanh(x_host @ w_host), axis=0)
    w, x = np.array(w_host), np.array(x_host)
    for label, run in [
        ("prefer_mxnet (default)", lambda: step(w, x)),
        ("set_global_policy('only_numpy')", lambda: step(w, x)),
        ("with imperdl.OnlyNumPyPolicy():", lambda: _in_only_numpy(w, x)),
    ]:
        if label.startswith("set_global"):
            imperdl.set_global_policy("only_numpy")
        imperdl.reset_statistics()
        out = run()
        imperdl.set_global_policy("prefer_mxnet")
        onp.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-12)
        t = imperdl.statistics()["total"]
        print(f"{label:<34} mxnet={t['mxnet']} numpy={t['numpy']} fallback={t['fallback']}  result matches NumPy")
    try:
        with imperdl.OnlyMXNetPolicy():
            step(w, x)
    except NotImplementedError as e:
        print(f"with imperdl.OnlyMXNetPolicy(): refuses -> {type(e).__name__}: {str(e)[:90]}")
    else:
        print("with imperdl.OnlyMXNetPolicy(): every op ran on MXNet")


def _in_only_numpy(w, x):
    with imperdl.OnlyNumPyPolicy():
        return step(w, x)


def notification_modes() -> None:
    section("4. fallback notification: ignore (default) | log | warn | raise")
    x = np.ones((3, 3))
    with imperdl.fallback_mode("warn"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.sinc(x)
    for w in caught:
        print(f"warn:  {w.category.__name__}: {w.message}")
    with imperdl.fallback_mode("raise"):
        try:
            np.sinc(x)
        except imperdl.FallbackError as e:
            print(f"raise: {type(e).__name__}: {e}")
    with imperdl.fallback_mode("log"):
        np.sinc(x)  # INFO on the 'imperdl.dispatch' logger (configured to print below)
    print(f"mode now back to {imperdl.get_fallback_mode()!r}")


def main() -> int:
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="[%(name)s] %(message)s")
    logging.getLogger("imperdl.dispatch").setLevel(logging.INFO)
    print(f"imperdl {imperdl.__version__}; MXNet context: {imperdl.current_context()}")
    transparent_fallback()
    array_arguments()
    policies()
    notification_modes()
    section("5. statistics: where one more run of sections 2 and 3 went (imperdl.print_statistics())")
    imperdl.reset_statistics()
    gaussian_cluster_generator(100, 8, 5)
    step(np.ones((8, 4)), np.ones((16, 8)))
    imperdl.print_statistics()
    print("\ndemo finished OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
