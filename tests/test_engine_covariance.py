"""Lanczos top eigenvalues of the implicit centred covariance vs numpy.linalg.eigvalsh."""

import numpy as np
import pytest

from regimes import RegimesError
from regimes.data import as_source, load_source
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
    src = load_source(str(p), center=False)  # memmap, streamed in blocks
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
    src = load_source(str(tmp_path / "x.npy"))
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


def _offset_data(offset, spread, n=3000, d=48, seed=7):
    g = np.random.default_rng(seed)
    return (g.standard_normal((n, d)) * np.linspace(0.3, 1.3, d) * spread + offset).astype(np.float32)


@pytest.mark.parametrize("offset,spread", [(1e3, 1.0), (1e4, 1.0), (1e3, 0.1)])
@pytest.mark.parametrize("center", [False, True])
def test_float32_offset_uncentred_source(offset, spread, center, tmp_path):
    # Λ is the top eigenvalue of the CENTRED covariance whatever the source's centring. Before the
    # fix, a non-centred source accumulated Σ BᵀB in float32 and subtracted n μμᵀ afterwards:
    # relative errors 0.30 / 74 / 71 (dense and covariance_spectrum) and 1.8e-6 / 3.3e-5 / 1.2e-5
    # (Lanczos) for these three cases; now <= 2.4e-7 (measured), float32 rounding of the data only.
    X = _offset_data(offset, spread)
    ref = np.linalg.eigvalsh(np.cov(X.astype(np.float64), rowvar=False))[::-1]
    np.save(tmp_path / "x.npy", X)
    for src in (as_source(X, center=center), load_source(str(tmp_path / "x.npy"), center=center)):
        for method in ("dense", "lanczos"):
            got = top_eigenvalues(src, 2, method=method, block_rows=1000).values
            np.testing.assert_allclose(got, ref[:2], rtol=2e-6)
        np.testing.assert_allclose(covariance_spectrum(src)[:2], ref[:2], rtol=2e-6)
        # the mean returned with the vectors is the mean of the processed rows
        _, _, mu = covariance_spectrum(src, return_vectors=True)
        want = X.astype(np.float64).mean(0) * (0.0 if center else 1.0)
        np.testing.assert_allclose(mu, want, atol=1e-6 * max(1.0, offset))


@pytest.mark.parametrize("factor,dtype", [(1e20, np.float32), (1e-30, np.float32), (1e10, np.float32),
                                          (1e150, np.float64), (1e-150, np.float64)])
def test_extreme_scales_are_rescaled_by_a_power_of_two(factor, dtype):
    # float32 ×1e20 used to overflow in the products (LinAlgError / ArpackError tracebacks) and
    # ×1e-30 to underflow (Λ = 3e-91 instead of 1.3e-60): the blocks (or the vector, for in-memory
    # views: the 1e10 case) are now scaled by a power of two first, which is exact in binary
    g = np.random.default_rng(3)
    Z = g.standard_normal((500, 16)) * np.linspace(0.5, 2.0, 16)
    X = (Z * factor + 2 * factor).astype(dtype)
    # oracle: float64 eigvalsh on the data divided back to O(1) (exact power-of-ten rounding aside)
    ref = np.linalg.eigvalsh(np.cov(X.astype(np.float64) / factor, rowvar=False))[::-1][:2] * factor**2
    for method in ("dense", "lanczos"):
        r = top_eigenvalues(X, 2, method=method, bootstrap=3)
        np.testing.assert_allclose(r.values, ref, rtol=1e-6)
        assert np.all(np.isfinite(r.se)) and np.all(r.se > 0)
    np.testing.assert_allclose(covariance_spectrum(X)[:2], ref, rtol=1e-6)


def test_values_too_large_raise_regimes_error():
    X = np.random.default_rng(0).standard_normal((50, 12)) * 1e200  # tr C overflows float64
    for method in ("dense", "lanczos"):
        with pytest.raises(RegimesError, match=r"values too large.*max \|x\| = .*e\+200.*rescale"):
            top_eigenvalues(X, 1, method=method)
    with pytest.raises(RegimesError, match="values too large"):
        covariance_spectrum(X)


@pytest.mark.parametrize("method", ["dense", "lanczos"])
def test_overflowing_products_raise_regimes_error_not_linalg_error(method, monkeypatch):
    # the safety net behind the power-of-two scaling: non-finite products are a RegimesError
    from regimes.data import DataSource

    monkeypatch.setattr(DataSource, "working_scale", property(lambda src: 1.0))
    X = (np.random.default_rng(0).standard_normal((200, 12)) * 1e20).astype(np.float32)
    with pytest.raises(RegimesError, match=r"values too large for float32 products.*max \|x\|.*rescale"):
        top_eigenvalues(X, 1, method=method)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_block_krylov_matches_eigvalsh(dtype):
    # a few spikes over a Marchenko–Pastur bulk, d = 500: block Krylov at 1e-7 vs dense eigvalsh
    g = np.random.default_rng(5)
    X = g.standard_normal((1500, 500))
    X[:, :3] *= [5.0, 3.0, 2.2]
    X = X.astype(dtype)
    ref = np.linalg.eigvalsh(np.cov(X.astype(np.float64).T))[::-1]
    r = top_eigenvalues(X, k=6, method="block", tol=1e-7, rng=1)
    tol = 1e-7 if dtype == np.float64 else 1e-5  # float32 products
    assert np.max(np.abs(r.values - ref[:6])) <= tol * ref[0]
    assert r.matvecs < 60 * 12  # passes × block width
    again = top_eigenvalues(X, k=6, method="block", tol=1e-7, rng=1)
    np.testing.assert_array_equal(r.values, again.values)


def test_block_krylov_subsample_and_bootstrap():
    g = np.random.default_rng(6)
    X = g.standard_normal((800, 300))
    X[:, 0] *= 4.0
    r = top_eigenvalues(X, k=2, method="block", tol=1e-7, rng=0, subsample=400, bootstrap=30)
    assert r.n_used == 400 and r.se is not None and r.replicates.shape == (30, 2)


def _npy(tmp_path, X):
    p = tmp_path / "x.npy"
    np.save(p, X)
    return load_source(str(p))


def test_auto_on_a_streamed_file_above_the_dense_limit_uses_block_krylov(tmp_path, monkeypatch):
    """A file read from disk with d above the dense limit (lowered here to 16): block Krylov, a few
    passes; the values agree with numpy's eigvalsh of the covariance."""
    import regimes.engines.covariance as cov

    monkeypatch.setattr(cov, "DENSE_COVARIANCE_MAX_D", 16)
    g = np.random.default_rng(3)
    X = g.standard_normal((900, 40)) * np.linspace(1.0, 3.0, 40)
    calls = []
    real = cov._block_krylov
    monkeypatch.setattr(cov, "_block_krylov", lambda *a: calls.append(1) or real(*a))
    got = top_eigenvalues(_npy(tmp_path, X), k=3, rng=1)
    want = np.linalg.eigvalsh(np.cov(X, rowvar=False))[::-1][:3]
    assert calls == [1] and np.allclose(got.values, want, rtol=1e-10, atol=0)


def test_auto_continues_with_lanczos_when_block_krylov_does_not_converge(tmp_path, monkeypatch):
    """A spectrum without gaps can exhaust block Krylov's basis at tol = 1e-10 (seen at 30 000 × 4 200
    noise): ``auto`` then continues with Lanczos; ``method="block"`` itself still raises; with 4k >= d
    ``auto`` goes to Lanczos directly."""
    import regimes.engines.covariance as cov

    monkeypatch.setattr(cov, "DENSE_COVARIANCE_MAX_D", 16)
    X = np.random.default_rng(4).standard_normal((700, 40))
    src = _npy(tmp_path, X)
    calls = []

    def unconverged(*a):
        calls.append(1)
        raise cov.BlockNotConverged("block Krylov did not converge")

    monkeypatch.setattr(cov, "_block_krylov", unconverged)
    got = top_eigenvalues(src, k=3, rng=1, bootstrap=5, bootstrap_method="resample")
    want = top_eigenvalues(X, k=3, rng=1, bootstrap=5, bootstrap_method="resample", method="lanczos")
    assert calls == [1]  # tried once; the resampled solves go straight to Lanczos
    np.testing.assert_allclose(got.values, want.values, rtol=1e-12)
    np.testing.assert_allclose(got.replicates, want.replicates, rtol=1e-9)
    with pytest.raises(RegimesError, match="did not converge"):
        top_eigenvalues(src, k=3, rng=1, method="block")
    calls.clear()
    top_eigenvalues(src, k=10, rng=1)  # 4k = 40 >= d
    assert calls == []


@pytest.mark.parametrize("n,d,k", [(300, 20, 1), (300, 20, 5), (50, 9, 3), (400, 33, 2), (300, 17, 8)])
def test_block_krylov_small_d_reaches_the_whole_space(n, d, k):
    """A basis that cannot take one more full block (d not a multiple of it) takes a narrower last
    block up to d, where Rayleigh–Ritz is exact; it raised BlockNotConverged at d = 20 (basis 16).
    Oracle: numpy's eigenvalues of the sample covariance."""
    X = np.random.default_rng(d + k).standard_normal((n, d))
    got = top_eigenvalues(X, k, method="block").values
    ref = np.linalg.eigvalsh(np.cov(X, rowvar=False))[::-1][:k]
    assert np.allclose(got, ref, rtol=1e-12, atol=1e-12 * ref[0])
