"""Marchenko–Pastur law against independent oracles (mpmath, sympy, sampled Wishart matrices)."""

from __future__ import annotations

import mpmath as mpm
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from regimes import RegimesError
from regimes.rmt import MarchenkoPastur

RATIOS = [0.01, 0.25, 0.5, 1 - 1e-3, 1.0, 1 + 1e-3, 2.0, 4.0, 100.0]


def _mp_cdf_mpmath(g, s2, x):
    """Oracle: 30-digit quadrature of the continuous density, plus the atom."""
    mpm.mp.dps = 30
    g, s2, x = mpm.mpf(g), mpm.mpf(s2), mpm.mpf(x)
    lo = s2 * (1 - mpm.sqrt(g)) ** 2
    hi = s2 * (1 + mpm.sqrt(g)) ** 2
    atom = 1 - 1 / g if g > 1 else mpm.mpf(0)
    if x < lo:
        return atom if x >= 0 else mpm.mpf(0)
    x = min(x, hi)
    f = lambda u: mpm.sqrt((hi - u) * (u - lo)) / (2 * mpm.pi * s2 * g * u)  # noqa: E731
    # split at the midpoint so tanh-sinh handles both square-root edges
    mid = (lo + hi) / 2
    val = mpm.quad(f, [lo, min(x, mid)]) if x > lo else 0
    if x > mid:
        val += mpm.quad(f, [mid, x])
    return atom + val


def test_reference_supports_and_atoms():
    # γ = 4: edges (1 ± 2)² = (1, 9), atom 1 − 1/4 (closed forms of the MP law)
    mp4 = MarchenkoPastur(4.0)
    assert mp4.support() == pytest.approx((1.0, 9.0), rel=1e-15)
    assert mp4.atom == pytest.approx(0.75, rel=1e-15)
    mpq = MarchenkoPastur(0.25)
    assert mpq.support() == pytest.approx((0.25, 2.25), rel=1e-15)
    assert mpq.atom == 0.0
    assert MarchenkoPastur.from_shape(300, 100).ratio == 3.0


@pytest.mark.parametrize("g", RATIOS)
def test_cdf_against_mpmath_quadrature(g):
    s2 = 1.7
    mp = MarchenkoPastur(g, s2)
    lo, hi = mp.support()
    x = lo + (hi - lo) * np.array([1e-6, 1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999, 1 - 1e-6])
    x = np.concatenate([x, [0.5 * lo, hi * 1.01]])
    ref = np.array([float(_mp_cdf_mpmath(g, s2, xi)) for xi in x])
    # absolute accuracy of a closed form with O(1) terms; relative near the lower edge
    assert_allclose(mp.cdf(x), ref, rtol=1e-9, atol=1e-14)
    assert_allclose(mp.sf(x), 1.0 - ref, rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("g", RATIOS)
def test_ppf_inverts_cdf(g):
    mp = MarchenkoPastur(g, 0.6)
    lo, hi = mp.support()
    x = np.linspace(lo, hi, 41)[1:-1]
    assert_allclose(mp.ppf(mp.cdf(x)), x, rtol=1e-10, atol=1e-12 * hi)
    q = np.linspace(0.001, 0.999, 37)
    q = q[q > mp.atom]
    assert_allclose(mp.cdf(mp.ppf(q)), q, rtol=1e-11, atol=1e-13)
    if mp.atom:
        assert np.all(mp.ppf([0.0, 0.5 * mp.atom, mp.atom]) == 0.0)


@pytest.mark.parametrize("g", [0.3, 1.0, 3.0])
def test_pdf_integrates_to_continuous_mass_and_logpdf(g):
    mp = MarchenkoPastur(g, 2.0)
    lo, hi = mp.support()
    # oracle: mpmath quadrature of the density itself
    mpm.mp.dps = 20
    mass = mpm.quad(lambda u: float(mp.pdf(float(u))), [lo, (lo + hi) / 2, hi])
    assert float(mass) == pytest.approx(mp.continuous_mass, rel=1e-6)
    x = np.linspace(lo, hi, 9)[1:-1]
    assert_allclose(np.exp(mp.logpdf(x)), mp.pdf(x), rtol=1e-13)
    assert mp.pdf(hi + 1) == 0.0 and mp.logpdf(hi + 1) == -np.inf


def _narayana_moments_sympy(kmax):
    """Oracle: expand the root of σ²γ z m² + (z − σ²(1−γ)) m + 1 = 0 at z = ∞ in sympy;
    m(z) = −Σ_k μ_k z^{−k−1}."""
    import sympy as sp

    w, g, s2 = sp.symbols("w gamma sigma2", positive=True)  # w = 1/z
    # with m = −w·M(w): σ²γ M² w − (1 − σ²(1−γ) w) M + 1 = 0, M(0) = 1
    M = sp.Integer(1)
    for _ in range(kmax + 1):  # fixed-point iteration, one more correct order each time
        M = sp.expand(sp.series((1 + s2 * g * w * M**2) / (1 - s2 * (1 - g) * w), w, 0,
                                kmax + 1).removeO())
    return [sp.lambdify((g, s2), M.coeff(w, k)) for k in range(kmax + 1)]


def test_moments_against_sympy_series():
    fns = _narayana_moments_sympy(6)
    for g, s2 in [(0.25, 1.0), (1.0, 2.0), (4.0, 0.5), (37.0, 1.3)]:
        mp = MarchenkoPastur(g, s2)
        for k, f in enumerate(fns):
            assert mp.moment(k) == pytest.approx(float(f(g, s2)), rel=1e-13)
        assert mp.mean() == pytest.approx(mp.moment(1), rel=1e-15)
        assert mp.var() == pytest.approx(mp.moment(2) - mp.moment(1) ** 2, rel=1e-12)


def test_moments_against_quadrature_of_cdf():
    # second oracle: E x^k = atom·0 + ∫ x^k ρ(x) dx by mpmath
    mp = MarchenkoPastur(2.5, 0.8)
    lo, hi = mp.support()
    mpm.mp.dps = 25
    for k in (1, 3, 5):
        val = mpm.quad(lambda u, k=k: u**k * float(mp.pdf(float(u))), [lo, (lo + hi) / 2, hi])
        assert float(val) == pytest.approx(mp.moment(k), rel=1e-6)


@pytest.mark.parametrize("g", [0.5, 1.0, 2.0])
def test_stieltjes_against_sampled_wishart(g):
    rng = np.random.default_rng(7)
    N = 400
    M = int(g * N)
    s2 = 1.5
    Y = rng.standard_normal((M, N)) * np.sqrt(s2)
    ev = np.linalg.eigvalsh(Y @ Y.T / N)
    mp = MarchenkoPastur(M / N, s2)
    z = np.array([1.0 + 1.0j, 3.0 + 0.5j, -1.0 + 0.2j, 10.0 - 2.0j, 0.3 - 0.4j])
    emp = np.mean(1.0 / (ev[:, None] - z[None, :]), axis=0)
    # O(1/M) fluctuations of a linear statistic at distance ≥ 0.2 from the support
    assert_allclose(mp.stieltjes(z), emp, rtol=0.02, atol=0.01)


def test_stieltjes_branch_everywhere():
    for g in (0.3, 1.0, 3.0):
        mp = MarchenkoPastur(g, 1.2)
        lo, hi = mp.support()
        rng = np.random.default_rng(1)
        z = rng.uniform(-20, 20, 500) + 1j * rng.uniform(-20, 20, 500)
        m = mp.stieltjes(z)
        # root of the quadratic, Herglotz sign, −1/z at ∞
        res = 1.2 * g * z * m**2 + (z - 1.2 * (1 - g)) * m + 1
        assert np.max(np.abs(res) / (1 + np.abs(z * m * m) + np.abs(z * m))) < 1e-13
        assert np.all(np.sign(m.imag) == np.sign(z.imag))
        assert abs(mp.stieltjes(1e8 + 1e8j) * (1e8 + 1e8j) + 1) < 1e-7
        # real axis off the support: real and matching the quadrature of the density
        x = np.array([lo - 0.5, hi + 0.7]) if lo > 0.5 else np.array([-0.5, hi + 0.7])
        mpm.mp.dps = 20
        for xi in x:
            ref = mpm.quad(lambda u, mp=mp, xi=xi: float(mp.pdf(float(u))) / (float(u) - xi),
                           [lo, (lo + hi) / 2, hi])
            ref += -mp.atom / xi if mp.atom else 0
            assert mp.stieltjes(xi).real == pytest.approx(float(ref), rel=1e-6)


def test_rvs_ks_and_seed():
    mp = MarchenkoPastur(0.5, 2.0)
    a = mp.rvs(4000, rng=3)
    assert np.array_equal(a, mp.rvs(4000, rng=3))
    assert stats.kstest(a, mp.cdf).pvalue > 1e-3
    mp2 = MarchenkoPastur(3.0)
    b = mp2.rvs(6000, rng=np.random.default_rng(5))
    frac0 = np.mean(b == 0)
    assert abs(frac0 - mp2.atom) < 4 * np.sqrt(mp2.atom * (1 - mp2.atom) / b.size)
    assert stats.kstest(b[b > 0], lambda x: (mp2.cdf(x) - mp2.atom) / (1 - mp2.atom)).pvalue > 1e-3


def test_rvs_matches_sampled_wishart_two_sample():
    rng = np.random.default_rng(11)
    Y = rng.standard_normal((150, 300))
    ev = np.linalg.eigvalsh(Y @ Y.T / 300)
    # eigenvalues are not i.i.d. (they repel): KS at a loose level only
    assert stats.kstest(ev, MarchenkoPastur(0.5).cdf).statistic < 0.05


def test_fit_recovers_parameters():
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((200, 500)) * np.sqrt(2.0)
    ev = np.linalg.eigvalsh(Y @ Y.T / 500)
    fit = MarchenkoPastur.fit(ev)
    assert fit.ratio == pytest.approx(0.4, rel=0.03)
    assert fit.variance == pytest.approx(2.0, rel=0.01)


def test_vectorised_shapes_and_errors():
    mp = MarchenkoPastur(2.0)
    x = np.linspace(0, 7, 12).reshape(3, 4)
    for f in (mp.pdf, mp.logpdf, mp.cdf, mp.sf):
        assert f(x).shape == (3, 4)
    assert mp.ppf(np.full((2, 5), 0.7)).shape == (2, 5)
    assert np.ndim(mp.cdf(1.0)) == 0
    for bad in (0, -1, float("nan"), "a"):
        with pytest.raises(RegimesError, match="ratio"):
            MarchenkoPastur(bad)
    with pytest.raises(RegimesError, match="variance"):
        MarchenkoPastur(1.0, 0.0)
    with pytest.raises(RegimesError):
        mp.ppf(1.5)
    with pytest.raises(AttributeError):
        mp.ratio = 3


def test_frozen_dataclass_and_replace():
    import dataclasses

    mp = MarchenkoPastur(4.0, 2.0)
    for name in ("ratio", "variance", "other"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(mp, name, 3.0)
    new = mp.replace(ratio=0.5)
    assert new == MarchenkoPastur(0.5, 2.0) == dataclasses.replace(mp, ratio=0.5)
    assert new.support() == MarchenkoPastur(0.5, 2.0).support()
    assert new.atom == 0.0 and mp.atom == 0.75 and mp.support() == (2.0, 18.0)  # mp unchanged
    assert hash(new) == hash(MarchenkoPastur(0.5, 2.0)) and new != mp
    assert repr(mp) == "MarchenkoPastur(ratio=4.0, variance=2.0)"
    with pytest.raises(RegimesError, match="ratio"):
        mp.replace(ratio=-1.0)
    assert isinstance(MarchenkoPastur(2).ratio, float)  # validated value replaces the argument
