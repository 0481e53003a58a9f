"""Speciation time and the cloning probability against mpmath and sampled data."""

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from numpy.testing import assert_allclose

import regimes as R
from regimes import RegimesError, RegimesWarning
from regimes.speciation import cloning_probability_r


@mp.workdps(30)
def mp_phi(r):
    """Oracle: φ(r) = ∫ (1 + tanh²(r² + r z))/2 · N(z) dz, adaptive mpmath quadrature at 30 digits,
    split finely around the sech² dip at z = -r."""
    r = mp.mpf(r)
    g = lambda z: (1 + mp.tanh(r * r + r * z) ** 2) / 2 * mp.npdf(z)  # noqa: E731
    return float(mp.quad(g, [-mp.inf] + mp.linspace(-r - 12, -r + 12, 49) + [mp.inf]))


def test_phi_reference_values():
    # r = 0.5 → 0.602027, r = 1 → 0.775200, r = 2 → 0.965701
    assert_allclose(cloning_probability_r([0.5, 1.0, 2.0]), [0.602027, 0.775200, 0.965701], atol=5e-7)


@pytest.mark.parametrize("r", [0.0, 1e-3, 0.3, 0.9, 0.999999, 1.0, 1.7, 3.0, 5.0, 8.0, 20.0])
def test_phi_vs_mpmath(r):
    # both quadrature branches (Gauss–Hermite below r = 1, Gauss–Legendre in u above)
    assert_allclose(cloning_probability_r(r), mp_phi(r), rtol=1e-12)


def test_phi_limits_and_monotone():
    r = np.linspace(0, 10, 400)
    phi = cloning_probability_r(r)
    assert phi[0] == pytest.approx(0.5, abs=1e-15)
    assert np.all(np.diff(phi) >= 0) and np.all(np.diff(phi[r < 5]) > 0)
    assert phi[-1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.isfinite(cloning_probability_r(np.array([50.0, 1e3, 1e8]))))


def test_phi_at_t_S_for_unit_mixture():
    # φ(t_S) = 0.775200 when σ = m̃ = 1 — asymptotically in d: r(t_S) = √(d/(d+1)) exactly
    for d in (10, 1024, 1e8):
        m = R.GaussianMixture(n=1000, d=d)
        t_S = m.speciation_time()
        assert_allclose(m.cloning_probability(t_S), mp_phi(math.sqrt(d / (d + 1))), rtol=1e-10)
    assert_allclose(R.GaussianMixture(n=1000, d=1e8).cloning_probability(
        R.GaussianMixture(n=1000, d=1e8).speciation_time()), 0.775200, atol=5e-7)


def test_cloning_probability_general_variance():
    # r = |m| e^{-t} / sqrt(Δ_t + σ² e^{-2t}) computed independently with mpmath
    t, norm_m, var = 1.3, 7.0, 2.5
    mt = mp.mpf(t)
    with mp.workdps(30):
        r = norm_m * mp.exp(-mt) / mp.sqrt(1 - mp.exp(-2 * mt) + var * mp.exp(-2 * mt))
    assert_allclose(R.cloning_probability(t, norm_m, var), mp_phi(r), rtol=1e-10)


def test_speciation_time_values_and_no_speciation():
    with mp.workdps(30):
        assert_allclose(R.speciation_time(16.72), float(mp.log(mp.mpf("16.72")) / 2), rtol=1e-15)
    with pytest.warns(RegimesWarning, match="no speciation"):
        out = R.speciation_time([0.5, 4.0])
    assert math.isnan(out[0]) and out[1] == pytest.approx(math.log(2.0))
    with pytest.warns(RegimesWarning):
        assert math.isnan(R.speciation_time(1.0))
    with pytest.warns(RegimesWarning):
        assert math.isnan(R.speciation_time_linear(1.5))
    # linear-instability variant differs from ½ ln Λ by O(1/Λ)
    lam = np.array([10.0, 100.0, 1000.0])
    gap = R.speciation_time(lam) - R.speciation_time_linear(lam)
    assert_allclose(gap * lam, 0.5, rtol=0.06)


def test_hierarchy():
    # eigenvalues <= 1 are dropped, and that is said, with the count (never silent)
    with pytest.warns(RegimesWarning, match=r"no speciation for 2 of 5 eigenvalues .*3 commitment"):
        times = R.speciation_times([0.3, 9.0, 1.0, 100.0, 2.0])
    with mp.workdps(30):
        ref = [float(mp.log(mp.mpf(x)) / 2) for x in (100, 9, 2)]
    assert_allclose(times, ref, rtol=1e-15)
    # nothing dropped: no warning; nothing left: an empty array, with the warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_allclose(R.speciation_times([1.5, 4.0]), [math.log(2.0), 0.5 * math.log(1.5)], rtol=1e-15)
    with pytest.warns(RegimesWarning, match="2 of 2"):
        assert R.speciation_times([0.5, 1.0]).size == 0


def test_speciation_time_array_warns_with_count():
    with pytest.warns(RegimesWarning, match=r"no speciation .*\(2 of 3 entries\).*NaN") as rec:
        out = R.speciation_time(np.array([0.5, 1.0, 4.0]))
    assert rec[0].filename == __file__  # points at the caller
    assert np.isnan(out[:2]).all() and out[2] == pytest.approx(math.log(2.0), rel=1e-15)


def test_mixture_eigenvalue_against_sampled_covariance():
    # Λ = d m̃² + σ²: the top eigenvalue of the covariance of a sampled mixture (independent oracle)
    rng = np.random.default_rng(7)
    n, d, sep, var = 4000, 100, 0.5, 1.5
    m = R.GaussianMixture(n=n, d=d, separation=sep, variance=var)
    signs = rng.choice([-1.0, 1.0], size=n)
    X = signs[:, None] * sep + math.sqrt(var) * rng.standard_normal((n, d))
    lam_hat = np.linalg.eigvalsh(np.cov(X, rowvar=False))[-1]
    # sampling fluctuation of the top eigenvalue ~ Λ·sqrt(2/n) plus an O(d/n) bulk push
    assert abs(lam_hat - m.eigenvalue) < 4 * m.eigenvalue * math.sqrt(2 / n) + var * d / n * 3


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "x"])
def test_bad_eigenvalue(bad):
    with pytest.raises(RegimesError, match="eigenvalue"):
        R.speciation_time(bad)
