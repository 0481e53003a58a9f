"""Lanczos top eigenvalues of the implicit centred covariance vs numpy.linalg.eigvalsh."""

import numpy as np
import pytest

from regimes import RegimesError
from regimes.data import _load_source
from regimes.engines import covariance_spectrum, top_eigenvalues


def _data(n=300, d=40, seed=0):
    g = np.random.default_rng(seed)
    return g.standard_normal((n, d)) @ np.diag(np.linspace(0.5, 3, d)) + 5.0  # non-zero mean


def test_top_eigenvalues_match_eigvalsh():
    X = _data()
    ref = np.linalg.eigvalsh(np.cov(X.T))[::-1]  # unbiased, centred
    got = top_eigenvalues(X, 3)
    np.testing.assert_allclose(got.values, ref[:3], rtol=1e-10)
    np.testing.assert_allclose(covariance_spectrum(X), ref, rtol=1e-10, atol=1e-12)


def test_uncentred_source_still_gives_centred_covariance(tmp_path):
    X = _data(seed=1)
    p = tmp_path / "x.npy"
    np.save(p, X)
    src = _load_source(str(p), center=False)  # memmap, streamed in blocks
    ref = np.linalg.eigvalsh(np.cov(X.T))[::-1]
    got = top_eigenvalues(src, 2, block_rows=17)
    np.testing.assert_allclose(got.values, ref[:2], rtol=1e-10)


def test_float32_memmap_streamed():
    X = _data(n=500, d=64, seed=2).astype(np.float32)
    ref = np.linalg.eigvalsh(np.cov(X.astype(np.float64).T))[::-1]
    got = top_eigenvalues(X, 1, block_rows=33)
    assert got.values[0] == pytest.approx(ref[0], rel=1e-5)  # float32 products


def test_bootstrap_se_and_determinism():
    X = _data(n=400, d=20, seed=3)
    a = top_eigenvalues(X, 1, rng=5, bootstrap=40, bootstrap_method="resample")
    b = top_eigenvalues(X, 1, rng=5, bootstrap=40, bootstrap_method="resample")
    assert np.array_equal(a.replicates, b.replicates)
    # each replicate is the eigenvalue of the reweighted covariance (independent check, first one)
    g = np.random.default_rng(5)
    g.standard_normal(20)  # start vector
    w = g.multinomial(400, np.full(400, 1 / 400)).astype(float)
    ref0 = covariance_spectrum(X, weights=w)[0]
    assert a.replicates[0, 0] == pytest.approx(ref0, rel=1e-9)
    # the bootstrap SE of the top eigenvalue of a Gaussian sample ≈ λ √(2/n) (asymptotic theory)
    lam = a.values[0]
    assert 0.5 * lam * np.sqrt(2 / 400) < a.se[0] < 1.8 * lam * np.sqrt(2 / 400)


def _gapped(n=2000, d=30, seed=0):
    g = np.random.default_rng(seed)
    scales = np.ones(d)
    scales[0] = 4.0  # an isolated top eigenvalue (16 against a bulk near 1), as in real data
    return g.standard_normal((n, d)) * scales + 1.0


def test_linearised_bootstrap():
    X = _gapped()
    n = X.shape[0]
    r = top_eigenvalues(X, 1, rng=2, bootstrap=300)
    r2 = top_eigenvalues(X, 1, rng=2, bootstrap=300)
    assert np.array_equal(r.replicates, r2.replicates)  # same seed, same bits
    # replicate 0 recomputed independently: reweighted Rayleigh quotient at numpy's top eigenvector
    Z = X - X.mean(axis=0)
    vals, vecs = np.linalg.eigh(np.cov(X, rowvar=False))
    z2 = (Z @ vecs[:, -1]) ** 2
    g = np.random.default_rng(2)
    g.standard_normal(X.shape[1])
    w = g.multinomial(n, np.full(n, 1 / n)).astype(float)
    assert r.replicates[0, 0] == pytest.approx(w @ z2 / (n - 1), rel=1e-9)
    # its SE matches the exact resampling bootstrap for an isolated eigenvalue, and theory λ√(2/n)
    exact = top_eigenvalues(X, 1, rng=2, bootstrap=100, bootstrap_method="resample")
    assert r.se[0] == pytest.approx(exact.se[0], rel=0.25)
    assert r.se[0] == pytest.approx(vals[-1] * np.sqrt(2 / n), rel=0.2)


@pytest.mark.parametrize("method", ["lanczos", "dense"])
def test_methods_agree(method, tmp_path):
    X = _gapped(n=500, d=40, seed=1).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    src = _load_source(str(tmp_path / "x.npy"))
    ref = np.linalg.eigvalsh(np.cov(X.astype(np.float64), rowvar=False))[::-1][:3]
    got = top_eigenvalues(src, 3, method=method).values
    # float32 data multiplied in float32 per block, accumulated in float64
    np.testing.assert_allclose(got, ref, rtol=2e-6)


def test_subsample():
    X = _data(n=600, d=10, seed=4)
    r = top_eigenvalues(X, 1, rng=0, subsample=200)
    idx = np.sort(np.random.default_rng(0).choice(600, 200, replace=False))
    assert r.n_used == 200
    assert r.values[0] == pytest.approx(np.linalg.eigvalsh(np.cov(X[idx].T))[-1], rel=1e-10)


def test_bad_k():
    with pytest.raises(RegimesError, match="k"):
        top_eigenvalues(_data(d=5), 0)


@pytest.mark.parametrize("offset", [0.0, 3.0, 1e3])
def test_in_memory_float32_views_and_offsets(offset):
    # in-memory float32 data are read as views with implicit centring when the offset is modest,
    # and copied/centred explicitly when it is not: both agree with float64 eigvalsh
    X = (_gapped(n=3000, d=64, seed=5) + offset).astype(np.float32)
    ref = np.linalg.eigvalsh(np.cov(X.astype(np.float64), rowvar=False))[::-1][:2]
    for method in ("lanczos", "dense"):
        got = top_eigenvalues(X, 2, method=method).values
        np.testing.assert_allclose(got, ref, rtol=3e-6)
