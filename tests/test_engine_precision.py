"""Arithmetic of the mixture engine: float32/float64 products, the auto-precision probe, extreme
scales and class sums without an n×C one-hot — all against a brute-force float64 evaluation with
explicit differences and scipy.special.logsumexp (no norm expansion, so no cancellation)."""

import math
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from regimes import RegimesError, RegimesWarning
from regimes.data import as_source
from regimes.engines import _lse, empirical_mixture
from regimes.engines import mixture as mx


def _brute(A, ts, M, seed, xi_dtype, lab=None):
    """Per-sample L, φ_C (and φ) in float64 from explicit distances |x − e^{-t}a^μ|².

    ``A`` are the rows the engine sees (their mean subtracted: the statistics are translation
    invariant); μ0 and ξ are drawn as the engine draws them, ξ rounded to the data's dtype.
    """
    A = np.asarray(A, dtype=np.float64)
    g = np.random.default_rng(seed)
    mu0 = g.integers(0, A.shape[0], M)
    xi = g.standard_normal((M, A.shape[1])).astype(xi_dtype).astype(np.float64)
    L = np.empty((M, ts.size))
    pc = np.empty_like(L)
    ph = np.empty_like(L)
    for j, t in enumerate(ts):
        for s in range(M):
            # E_μ = −|x − e^{-t}a^μ|²/(2Δ_t) + |ξ|²/2 with x = e^{-t}a^{μ0} + √Δ_t ξ, written with
            # the difference a^μ − a^{μ0} so that nothing cancels: = v ξ·(a^μ − a^{μ0}) − ½v²|a^μ − a^{μ0}|²
            v = 1.0 / math.sqrt(math.expm1(2 * t))
            diff = A - A[mu0[s]]
            E = v * (diff @ xi[s]) - 0.5 * v * v * np.einsum("ij,ij->i", diff, diff)
            lse = logsumexp(E)
            w = np.exp(E - lse)
            L[s, j], pc[s, j] = lse, (w**2).sum()
            if lab is not None:
                ph[s, j] = sum(w[lab == c].sum() ** 2 for c in np.unique(lab))
    return L, pc, ph


def _tight(n=400, d=64, seed=0):
    """Two clusters at ±100·(1, …, 1), spread 0.05: distances ≪ norms. Built as [Y; −Y] so that
    the per-feature mean is exactly 0 (the float64 sum of ±y cancels exactly) and centring does
    not round the float32 values: the brute force sees exactly the engine's rows."""
    g = np.random.default_rng(seed)
    Y = (g.standard_normal((n // 2, d)) * 0.05 + 100.0).astype(np.float32)
    X = np.concatenate([Y, -Y])
    return X, np.repeat([0, 1], n // 2)


TS_TIGHT = np.array([0.001, 0.01, 0.1, 1.0])


def test_tight_clusters_auto_switches_to_float64_and_matches_brute_force():
    X, lab = _tight()
    assert np.all(as_source(X).mean == 0.0)
    res = empirical_mixture(X, TS_TIGHT, samples=32, rng=4, labels=lab)
    assert res.precision == "float64"
    assert res.precision_error < 1e-6  # measured 1.6e-7 nats (float32: 105 nats)
    L, pc, ph = _brute(X, TS_TIGHT, 32, 4, np.float32, lab)
    np.testing.assert_allclose(res.lse, L, rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.phi_c, pc, rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.phi, ph, rtol=0, atol=1e-6)
    assert res.excess_entropy[0] < 1e-6 and res.commitment[0] == pytest.approx(1.0, abs=1e-6)


def test_tight_clusters_float32_is_wrong_and_warns():
    # the audit's repro: float32 norm expansion gives f^e(0.001) = 0.119 > α = 0.094 here
    # (unphysical; brute force: 6e-13) and φ_C = 0.85 instead of 1; the probe measures 105 nats
    X, _ = _tight()
    with pytest.warns(RegimesWarning, match=r"float32 products give log-weight errors up to"):
        res = empirical_mixture(X, TS_TIGHT, samples=32, rng=4, precision="float32")
    assert res.precision == "float32" and res.precision_error > 1.0
    assert res.excess_entropy[0] > 0.1 > 0.0  # the wrong answer the probe guards against


def test_uncentred_offset_source_is_centred_before_the_products():
    # D and G are translation invariant; the engine subtracts the source's mean before the
    # products, so a non-centred source with an offset of 1024 gives the same bits as the centred
    # data (the data are built so that X + 1024 and its mean are exact in float32). Without the
    # shift, float32 D = |a0|² + |b|² − 2a0·b with |b|² ≈ 1.7e7 would carry errors ~1, i.e.
    # hundreds of nats at t = 0.001.
    g = np.random.default_rng(2)
    Y = (np.float32(1032.0) + g.standard_normal((100, 16)).astype(np.float32) * np.float32(0.05)) - np.float32(1024)
    X = np.concatenate([Y, -Y])  # clusters at ±8, spread 0.05, mean exactly 0
    Xo = X + np.float32(1024.0)
    assert np.array_equal(Xo - np.float32(1024.0), X) and as_source(Xo).mean[0] == 1024.0
    ts = np.array([0.003, 0.03, 0.3, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = empirical_mixture(X, ts, samples=16, rng=1)
        b = empirical_mixture(as_source(Xo, center=False), ts, samples=16, rng=1)
    assert a.precision == b.precision and a.precision_error == b.precision_error
    np.testing.assert_array_equal(b.lse, a.lse)
    np.testing.assert_array_equal(b.phi_c, a.phi_c)
    L, pc, _ = _brute(X, ts, 16, 1, np.float32)
    np.testing.assert_allclose(a.lse, L, atol=max(1e-6, 2 * a.precision_error))
    np.testing.assert_allclose(a.phi_c, pc, atol=1e-5)


def test_float32_engine_on_well_conditioned_data_within_float32_tolerance():
    # centred N(0, I) data: auto stays float32 (probe error 7e-6 nats, tolerance 0.01). Float32
    # tolerance: the error of L = ln Σ e^E is at most the largest log-weight error of the
    # entries that carry weight, i.e. the probe's figure: here L within 2e-5 nats of float64 brute
    # force (measured 1.6e-6) and φ_C within 5e-6 (measured 5.5e-7), from t = 0.02 (analyze's
    # smallest default time) up; float64 products: 1e-9 (measured 5e-15)
    rng = np.random.default_rng(6)
    X = rng.standard_normal((300, 48)).astype(np.float32)
    ts = np.array([0.02, 0.3, 1.0, 2.0, 5.0])
    res = empirical_mixture(X, ts, samples=24, rng=2)
    assert res.precision == "float32"
    assert res.precision_error < 1e-4 < mx.PRECISION_TOLERANCE
    L, pc, _ = _brute(as_source(X).to_array(), ts, 24, 2, np.float32)
    assert np.max(np.abs(res.lse - L)) <= 2 * res.precision_error
    np.testing.assert_allclose(res.lse, L, rtol=0, atol=2e-5)
    np.testing.assert_allclose(res.phi_c, pc, rtol=0, atol=5e-6)
    f64 = empirical_mixture(X, ts, samples=24, rng=2, precision="float64")
    assert f64.precision == "float64"
    np.testing.assert_allclose(f64.lse, L, rtol=0, atol=1e-9)


def test_float64_data_stay_float64():
    X = np.random.default_rng(0).standard_normal((50, 6))
    assert empirical_mixture(X, [0.5], samples=4).precision == "float64"


def test_bad_precision():
    with pytest.raises(RegimesError, match=r"precision must be 'auto', 'float32' or 'float64', got 'half'"):
        empirical_mixture(np.zeros((5, 2)) + np.arange(5)[:, None], [1.0], samples=4, precision="half")


@pytest.mark.parametrize("factor", [1e20, 1e-30])
def test_extreme_scales(factor):
    # float32 ×1e20 overflowed in the products (NaN curves) and ×1e-30 underflowed (φ_C 0.991
    # instead of 0.825 at the first time); the engine now multiplies by a power of two first
    # (exact) and divides D, G back in float64. Measured errors 4e-7 (L), 2e-7 (φ_C).
    g = np.random.default_rng(8)
    X0 = g.standard_normal((120, 10))
    X = (X0 * factor).astype(np.float32)
    # times where the mixture is between collapse and the bulk for data of this scale
    ts = 0.5 * np.log1p(factor**2 * np.array([0.3, 3.0, 30.0]))
    res = empirical_mixture(X, ts, samples=8, rng=0)
    L, pc, _ = _brute(as_source(X).to_array(), ts, 8, 0, np.float32)
    np.testing.assert_allclose(res.lse, L, rtol=0, atol=2e-5)
    np.testing.assert_allclose(res.phi_c, pc, rtol=0, atol=5e-6)
    assert 0.0 < res.excess_entropy[1] < res.alpha


def test_too_large_float64_raises():
    X = np.random.default_rng(0).standard_normal((20, 4)) * 1e200
    with pytest.raises(RegimesError, match=r"values too large.*rescale"):
        empirical_mixture(X, [1.0], samples=4)


@pytest.mark.parametrize("store", [True, False])
def test_class_sums_from_codes_dense_and_sparse(store, monkeypatch):
    # class sums Σ_{μ∈c} w_μ come from per-block class codes (never an n×C one-hot); a sparse
    # one-hot per block beyond DENSE_ONEHOT_MAX elements gives the same φ to 1e-12
    rng = np.random.default_rng(9)
    A = rng.standard_normal((90, 5))
    lab = rng.integers(0, 40, 90)
    ts = np.array([0.05, 0.5, 2.0])
    dense = empirical_mixture(A, ts, samples=7, rng=1, labels=lab, store=store, block_rows=20)
    assert dense.classes.codes.shape == (90,)
    monkeypatch.setattr(_lse, "DENSE_ONEHOT_MAX", 0)
    sparse = empirical_mixture(A, ts, samples=7, rng=1, labels=lab, store=store, block_rows=20)
    _, _, ph = _brute(A - A.mean(0), ts, 7, 1, np.float64, lab)
    for r in (dense, sparse):
        np.testing.assert_allclose(r.phi, ph, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sparse.phi, dense.phi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sparse.evaluate([1.0])["phi"], dense.evaluate([1.0])["phi"], atol=1e-12)
