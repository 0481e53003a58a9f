"""Marchenko–Pastur regressions: tails near both edges, γ within an ulp of 1, large moments."""

from __future__ import annotations

import math

import mpmath as mpm
import numpy as np
import pytest

from regimes import RegimesError
from regimes.rmt import MarchenkoPastur

ULP = 2.0**-52


def _mass_mpmath(g, s2, a, b):
    """Oracle: ∫_a^b of the continuous density by 30-digit tanh-sinh quadrature, with the edges
    computed in mpmath from (γ, σ²) (not from the implementation)."""
    mpm.mp.dps = 40
    g, s2 = mpm.mpf(g), mpm.mpf(s2)
    lo = s2 * (1 - mpm.sqrt(g)) ** 2
    hi = s2 * (1 + mpm.sqrt(g)) ** 2
    a = lo if a is None else mpm.mpf(a)
    b = hi if b is None else mpm.mpf(b)
    f = lambda u: mpm.sqrt((hi - u) * (u - lo)) / (2 * mpm.pi * s2 * g * u)  # noqa: E731
    return mpm.quad(f, [a, b])


@pytest.mark.parametrize("g", [0.01, 0.25, 1 - 1e-3, 1.0, 4.0, 100.0])
@pytest.mark.parametrize("frac", [1e-12, 1e-9, 1e-6, 1e-3])
def test_sf_upper_tail_relative_accuracy(g, frac):
    law = MarchenkoPastur(g, 1.7)
    lo, hi = law.support()
    y = hi - frac * (hi - lo)
    ref = _mass_mpmath(g, 1.7, y, None)
    assert float(law.sf(y)) == pytest.approx(float(ref), rel=1e-10)


@pytest.mark.parametrize("g", [0.01, 0.25, 1 - 1e-3, 1.0])
@pytest.mark.parametrize("frac", [1e-12, 1e-9, 1e-6, 1e-3])
def test_cdf_lower_tail_relative_accuracy(g, frac):
    # γ ≤ 1: no atom, so cdf itself is the small lower-tail mass
    law = MarchenkoPastur(g, 0.6)
    lo, hi = law.support()
    x = lo + frac * (hi - lo)
    ref = _mass_mpmath(g, 0.6, None, x)
    assert float(law.cdf(x)) == pytest.approx(float(ref), rel=1e-10)


@pytest.mark.parametrize("g", [1 + ULP, 1 - ULP / 2, 1 + 1e-12, 1 - 1e-12])
def test_ratio_within_an_ulp_of_one(g):
    # was ZeroDivisionError (√γ == 1 in floating point)
    law = MarchenkoPastur(g)
    mpm.mp.dps = 40
    lo_ref = (1 - mpm.sqrt(mpm.mpf(g))) ** 2
    assert law.support()[0] == pytest.approx(float(lo_ref), rel=1e-12)
    atom = float(max(mpm.mpf(0), 1 - 1 / mpm.mpf(g)))
    for x in (1e-6, 0.01, 1.0, 3.9):
        ref = atom + float(_mass_mpmath(g, 1.0, None, x))
        assert float(law.cdf(x)) == pytest.approx(ref, rel=1e-12, abs=1e-15)
        assert float(law.sf(x)) == pytest.approx(1 - ref, rel=1e-12)
    q = np.array([0.1, 0.5, 0.9])
    assert np.all(np.isfinite(law.ppf(q)))
    assert np.allclose(law.cdf(law.ppf(q)), q, rtol=1e-12)


def test_moments_vectorised_and_overflow_to_inf():
    law = MarchenkoPastur(1e3)
    ks = np.arange(0, 201)
    m = law.moment(ks)
    assert m.shape == ks.shape
    # oracle: exact Narayana sum in mpmath
    mpm.mp.dps = 30
    for k in (0, 1, 5, 50, 102):
        ref = sum(mpm.mpf(1e3) ** r * mpm.binomial(k, r) * mpm.binomial(k - 1, r) / (r + 1)
                  for r in range(k)) if k else mpm.mpf(1)
        assert m[k] == pytest.approx(float(ref), rel=1e-13)
    assert math.isinf(m[200]) and not np.any(np.isnan(m))
    assert np.all(np.diff(m[1:][np.isfinite(m[1:])]) > 0)  # E x^0 = E x^1 = 1 here (σ² = 1)
    small = MarchenkoPastur(1e-3, 1e-3).moment(200)  # tiny but finite or 0, never NaN
    assert np.isfinite(small)
    assert MarchenkoPastur(4.0).moment([[1, 2], [3, 0]]).tolist() == [[1.0, 5.0], [29.0, 1.0]]  # 1 + 12 + 16
    for bad in (-1, 1.5, "2", True, float("nan")):
        with pytest.raises(RegimesError, match="k must"):
            MarchenkoPastur(2.0).moment(bad)


def test_nan_input_to_cdf_sf_is_an_error():
    law = MarchenkoPastur(2.0)
    for f in (law.cdf, law.sf):
        with pytest.raises(RegimesError, match="NaN"):
            f([1.0, float("nan")])


def test_scipy_style_methods():
    law = MarchenkoPastur(4.0, 2.0)
    assert law.support() == (2.0, 18.0)  # σ²(1 ∓ √γ)²
    assert law.mean() == 2.0 and law.var() == 16.0 and law.std() == 4.0  # σ², σ⁴γ, σ²√γ


@pytest.mark.parametrize("kw", [{"ratio": True}, {"ratio": 2.0, "variance": 1e-320},
                                {"ratio": 1e200}, {"ratio": np.bool_(True)}])
def test_bool_and_out_of_range_parameters_rejected(kw):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RegimesError, match="ratio|variance"):
            MarchenkoPastur(**kw)


@pytest.mark.parametrize("ratio, q", [(1.0, 1e-6), (1.0, 1e-8), (1.0, 1e-10), (0.5, 1e-9), (4.0, 0.75 + 1e-9)])
def test_ppf_near_the_lower_edge_against_the_exact_cdf_in_mpmath(ratio, q):
    """x = σ²(c − h cos θ) cancelled near the lower edge (γ = 1: ppf(1e-8) was 10% off and
    ppf(1e-10) = 0); the quantile is now exact to the resolution of x."""
    import mpmath as mp

    from regimes.rmt import MarchenkoPastur

    x = MarchenkoPastur(ratio).ppf(q)
    with mp.workdps(40):
        g = mp.mpf(ratio)
        lm, lp = (1 - mp.sqrt(g)) ** 2, (1 + mp.sqrt(g)) ** 2
        f = lambda y: mp.sqrt((lp - y) * (y - lm)) / (2 * mp.pi * g * y)  # noqa: E731
        F = max(0, 1 - 1 / g) + mp.quad(f, [lm, (lm + mp.mpf(x)) / 2, mp.mpf(x)])
    assert x > 0 and float(F / q - 1) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("method", ["pdf", "logpdf", "cdf", "sf"])
@pytest.mark.parametrize("bad, match", [(float("nan"), "not NaN"), ("abc", "real numbers")])
def test_every_density_function_refuses_bad_x_alike(method, bad, match):
    """logpdf(nan) returned −inf and logpdf('abc') / sf('abc') raised numpy's ValueError."""
    from regimes import RegimesError
    from regimes.rmt import MarchenkoPastur

    with pytest.raises(RegimesError, match=match):
        getattr(MarchenkoPastur(0.5), method)(bad)


@pytest.mark.parametrize("ratio, q", [(1e4, 1e-12), (0.5, 1e-9), (0.5, 1e-5), (2.0, 1e-15)])
def test_isf_in_the_upper_tail_against_the_exact_mass_in_mpmath(ratio, q):
    """isf = ppf(1 − q) lost q's digits (isf(1e-20) was λ_+ exactly at γ = 1e4); solved from the
    upper edge below q = 1e-6. Oracle: the mass above x integrated at 50 digits."""
    import mpmath as mp

    from regimes.rmt import MarchenkoPastur

    x = MarchenkoPastur(ratio).isf(q)
    with mp.workdps(50):
        g = mp.mpf(ratio)
        lm, lp = (1 - mp.sqrt(g)) ** 2, (1 + mp.sqrt(g)) ** 2
        f = lambda y: mp.sqrt((lp - y) * (y - lm)) / (2 * mp.pi * g * y)  # noqa: E731
        tail = mp.quad(f, [mp.mpf(x), (lp + mp.mpf(x)) / 2, lp])
    assert float(tail / q - 1) == pytest.approx(0.0, abs=1e-6)  # x's own resolution at 1e-15
    assert MarchenkoPastur(1e4).isf(1e-20) < MarchenkoPastur(1e4).support()[1]
