"""Collapse time and excess entropy against mpmath at 50 digits and published reference values."""

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import regimes as R
from regimes import RegimesError


@mp.workdps(50)
def mp_tc(n, d, var=1.0):
    """Oracle: the textbook form ½ ln(1 + σ²/(n^{2/d} − 1)) evaluated with 50 digits."""
    n, d, var = mp.mpf(n), mp.mpf(d), mp.mpf(var)
    return float(mp.log(1 + var / (mp.power(n, 2 / d) - 1)) / 2)


def test_reference_values():
    # σ² = 1: α = 0.01 → 1.961003, α = 0.1 → 0.853886, α = 1 → 0.072707; n=20000, d=1024 → 1.977547
    assert_allclose(R.collapse_time_from_alpha([0.01, 0.1, 1.0]), [1.961003, 0.853886, 0.072707], atol=5e-7)
    assert_allclose(R.collapse_time(20000, 1024), 1.977547, atol=5e-7)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(min_value=math.log(2.0), max_value=math.log(1e15)).map(math.exp),
    st.floats(min_value=0.0, max_value=12.0).map(lambda x: 10.0**x),
    st.floats(min_value=1e-3, max_value=1e3),
)
def test_collapse_time_vs_mpmath_wide_sweep(n, d, var):
    # ~1e-14 relative for d in [1, 1e12], n in [2, 1e15]
    assert_allclose(R.collapse_time(n, d, var), mp_tc(n, d, var), rtol=1e-14)


def test_collapse_time_extremes():
    # α → 0 (d ≫ ln n): the direct n**(2/d) - 1 would lose every digit here
    n, d = 2.0, 1e12
    assert_allclose(R.collapse_time(n, d), mp_tc(n, d), rtol=1e-14)
    naive = 0.5 * math.log1p(1.0 / (n ** (2 / d) - 1))
    assert abs(naive / mp_tc(n, d) - 1) > 1e-6  # the naive form really is wrong there
    # α → ∞
    assert_allclose(R.collapse_time(1e15, 1), mp_tc(1e15, 1), rtol=1e-14)


def test_direction_of_effect():
    # [DR]: few data make t_C large (early collapse, memorisation); many data make it small
    d = 1024
    tcs = R.collapse_time(np.array([10, 1e3, 1e6, 1e12, 1e100]), d)
    assert np.all(np.diff(tcs) < 0)
    assert R.collapse_time(1e3, d) > 2.0 > R.collapse_time(1e300, 3)


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-6, 30.0), st.floats(2.0, 1e9), st.floats(1.0, 1e5), st.floats(0.01, 100.0))
def test_excess_entropy_vs_mpmath(t, n, d, var):
    with mp.workdps(50):
        mt = mp.mpf(t)
        ref = max(mp.mpf(0), mp.log(n) / d - mp.log(1 + var * mp.exp(-2 * mt) / (1 - mp.exp(-2 * mt))) / 2)
    assert_allclose(R.excess_entropy(t, n, d, var), float(ref), rtol=1e-12, atol=1e-15)


def test_excess_entropy_zero_at_collapse():
    n, d = 5000, 300
    tc = R.collapse_time(n, d)
    assert R.excess_entropy(tc * 0.999, n, d) == 0.0
    assert R.excess_entropy(tc * 1.001, n, d) > 0.0
    assert_allclose(R.excess_entropy(60.0, n, d), math.log(n) / d, rtol=1e-14)


def test_asymptotic_forms_approach_exact():
    # small α: relative error of ½ ln(σ²/(2α)) → 0 as α → 0
    errs = [abs(R.collapse_time_small_alpha(1e3, d) / R.collapse_time(1e3, d) - 1) for d in (1e3, 1e6, 1e9)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-8
    # large α: relative error of ½σ²e^{-2α} → 0 as α → ∞
    errs = [abs(R.collapse_time_large_alpha(n, 1) / R.collapse_time(n, 1) - 1) for n in (1e2, 1e5, 1e10)]
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-9


def test_spectral_isotropic_reduces_to_closed_form():
    # second algorithm (bracketed root find) against the closed form
    for n, d, var in [(20000, 1024, 1.0), (50, 10, 3.0), (1e9, 3072, 0.06)]:
        assert_allclose(R.collapse_time_spectral(np.full(d, var), n), R.collapse_time(n, d, var), rtol=1e-13)


def test_spectral_anisotropic_vs_mpmath_findroot():
    rng = np.random.default_rng(3)
    lam = np.sort(rng.gamma(0.5, 2.0, size=200))[::-1]
    lam[0] = 80.0
    n = 3000
    d = lam.size

    @mp.workdps(40)
    def f(t):
        x = 1 / mp.expm1(2 * t)
        return mp.log(n) / d - mp.fsum(mp.log1p(mp.mpf(float(li)) * x) for li in lam) / (2 * d)

    with mp.workdps(40):
        ref = mp.findroot(f, mp.mpf(R.collapse_time(n, d, lam.mean())))
    assert_allclose(R.collapse_time_spectral(lam, n), float(ref), rtol=1e-12)
    assert_allclose(R.excess_entropy_spectral(float(ref) * 1.1, lam, n), float(f(ref * mp.mpf("1.1"))), rtol=1e-11)
    # only the top eigenvalues given, the rest taken as zero when d is larger
    assert_allclose(R.collapse_time_spectral(lam[:50], n, d=400),
                    R.collapse_time_spectral(np.r_[lam[:50], np.zeros(350)], n), rtol=1e-13)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: R.collapse_time(1, 10), "n must be >= 2"),
        (lambda: R.collapse_time(10, 0.5), "d must be >= 1"),
        (lambda: R.collapse_time(10, 10, 0.0), "variance must be > 0"),
        (lambda: R.collapse_time(float("nan"), 10), "n must be finite"),
        (lambda: R.collapse_time("ten", 10), "n must be real numbers"),
        (lambda: R.collapse_time_spectral([1.0, -2.0], 10), "eigenvalues must be >= 0"),
        (lambda: R.collapse_time_spectral([1.0, 2.0], 10, d=1), "d must be >= the number of eigenvalues"),
        (lambda: R.collapse_time_spectral([0.0, 0.0], 10), "at least one positive"),
        (lambda: R.excess_entropy(-1.0, 10, 10), "t must be >= 0"),
        # Python ints beyond the float64 range: RegimesError naming the parameter, not OverflowError
        (lambda: R.collapse_time(10**400, 1e6), r"n must be a real number representable as a float64 .*1\.000e\+400"),
        (lambda: R.collapse_time(2, -(10**400)), r"d must be .*float64.*-1\.000e\+400"),
        (lambda: R.collapse_time([2, 10**400], 10), r"n must be real numbers .*float64.*got an entry 1\.000e\+400"),
        (lambda: R.collapse_time_spectral([1.0, 2.0], 10**400), "n must be a real number representable as a float64"),
        (lambda: R.GaussianData(10**400, 3), "n must be .*float64"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(RegimesError, match=match):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            call()
