"""analyze with the fast paths: the numba engine, block Krylov for d > 4096 and --subsample."""

import math

import numpy as np
import pytest

from regimes.analysis import analyze


def test_numba_engine_matches_numpy_engine_in_analyze():
    pytest.importorskip("numba")
    # float64 products: the two log-sum-exps agree to summation order (with float32 products the
    # weights are exponentiated in float32, numpy's SIMD expf vs the C library's: ~1e-8)
    a = analyze(samples=64, bootstrap=20, engine="numpy", precision="float64")
    b = analyze(samples=64, bootstrap=20, engine="numba", precision="float64")
    # the curves agree to summation order; a crossing is Brent's root at xtol = rtol = 1e-10, and a
    # last-bit change of the curve can move Brent's final iterate within that tolerance
    for k in ("commitment", "entropy"):
        assert b.t_C[k].value == pytest.approx(a.t_C[k].value, rel=1e-9)
    np.testing.assert_allclose(b.curves.commitment, a.curves.commitment, rtol=1e-12)


def test_large_d_uses_block_krylov_and_subsample():
    g = np.random.default_rng(0)
    X = g.standard_normal((120, 4200))
    X[:, 0] *= 30.0
    full = analyze(X, samples=32, bootstrap=10, seed=1)
    sub = analyze(X, samples=32, bootstrap=10, seed=1, eigen_subsample=80)
    ref = np.linalg.eigvalsh(np.cov(X.T, ddof=1)[:1, :1])  # the spike's direction dominates
    assert math.isfinite(full.eigenvalue.value) and full.eigenvalue.value > 0.5 * ref[0]
    assert sub.eigenvalue.value != full.eigenvalue.value


def test_eigen_subsample_ignored_with_a_note_for_small_d():
    X = np.random.default_rng(1).standard_normal((200, 10))
    res = analyze(X, samples=32, bootstrap=10, eigen_subsample=50)
    assert any("eigen_subsample ignored" in n for n in res.notes)
