"""Empirical-mixture engine against brute force and the Gaussian theory (SPEC §3)."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from regimes import RegimesError
from regimes.collapse import collapse_time
from regimes.engines import empirical_mixture
from regimes.models import GaussianData, GaussianMixture


def _brute(A, lab, ts, M, seed):
    """Independent float64 evaluation with scipy logsumexp of the explicit distances."""
    Ac = A - A.mean(0)
    g = np.random.default_rng(seed)
    mu0 = g.integers(0, A.shape[0], M)
    xi = g.standard_normal((M, A.shape[1]))
    L = np.empty((M, ts.size))
    pc = np.empty_like(L)
    ph = np.empty_like(L)
    for j, t in enumerate(ts):
        D = -np.expm1(-2 * t)
        for s in range(M):
            x = math.exp(-t) * Ac[mu0[s]] + math.sqrt(D) * xi[s]
            E = -((x - math.exp(-t) * Ac) ** 2).sum(1) / (2 * D)
            lse = logsumexp(E)
            w = np.exp(E - lse)
            L[s, j] = lse + 0.5 * (xi[s] ** 2).sum()  # engine's L drops the -|ξ|²/2 constant
            pc[s, j] = (w**2).sum()
            ph[s, j] = sum(w[lab == c].sum() ** 2 for c in np.unique(lab))
    return L, pc, ph


@pytest.mark.parametrize("store,block_rows", [(True, None), (False, 7), (True, 5)])
def test_engine_matches_brute_force_float64(store, block_rows):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((41, 6)) * 1.7 + 0.3
    lab = rng.integers(0, 3, 41)
    ts = np.array([0.003, 0.05, 0.4, 1.2, 4.0])
    res = empirical_mixture(A, ts, samples=9, rng=3, labels=lab, store=store, block_rows=block_rows)
    L, pc, ph = _brute(A, lab, ts, 9, 3)
    np.testing.assert_allclose(res.lse, L, rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.phi_c, pc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.phi, ph, rtol=0, atol=1e-12)
    # re-evaluation at new times (stored statistics or a second pass) is the same function
    ev = res.evaluate([0.4, 2.0])
    L2, pc2, _ = _brute(A, lab, np.array([0.4, 2.0]), 9, 3)
    np.testing.assert_allclose(ev["lse"], L2, atol=1e-10)
    np.testing.assert_allclose(ev["phi_c"], pc2, atol=1e-12)


def test_limits_of_excess_entropy():
    """f^e → α = ln(n)/d as t → ∞ and → 0 as t → 0; φ_C → 1/n-ish and 1."""
    X = np.random.default_rng(0).standard_normal((50, 8))
    res = empirical_mixture(X, [1e-3, 30.0], samples=64, rng=0)
    assert abs(res.excess_entropy[1] - math.log(50) / 8) < 1e-12
    assert res.excess_entropy[0] < 1e-12
    assert res.commitment[0] == pytest.approx(1.0, abs=1e-12)
    assert res.commitment[1] == pytest.approx(1 / 50, rel=1e-9)


def test_same_seed_same_bits_and_budget_independence():
    X = np.random.default_rng(2).standard_normal((300, 20)).astype(np.float32)
    a = empirical_mixture(X, [0.5, 1.0, 2.0], samples=40, rng=7)
    b = empirical_mixture(X, [0.5, 1.0, 2.0], samples=40, rng=7)
    assert np.array_equal(a.lse, b.lse) and np.array_equal(a.phi_c, b.phi_c)
    c = empirical_mixture(X, [0.5, 1.0, 2.0], samples=40, rng=7, block_rows=13)
    # float32 GEMMs over different blocks: rounding of the float32 products only (~1e-7 relative)
    np.testing.assert_allclose(c.lse, a.lse, rtol=1e-5, atol=1e-5)


def test_excess_entropy_matches_gaussian_theory_away_from_collapse():
    """N(0, I) data, d = 80, n = e^{8} (α = 0.1): the measured finite-d correction away from t_C
    is |f^e − f|/α <= 0.02 (docs/analyze.md); allow 0.03 + 4 SE."""
    d, n = 80, 2981
    X = np.random.default_rng(5).standard_normal((n, d))
    tc = collapse_time(n, d)
    ts = np.array([0.5 * tc, 1.6 * tc, 2.4 * tc, 3.5 * tc])
    c = empirical_mixture(X, ts, samples=512, rng=1)
    th = GaussianData(n, d).excess_entropy(ts)
    err = np.abs(c.excess_entropy - th) / c.alpha
    assert np.all(err <= 0.03 + 4 * c.excess_entropy_se / c.alpha), err


def test_commitment_estimate_approaches_closed_form_as_d_grows():
    """α = 0.1 fixed, n = e^{αd}: φ_C = ½ crossing − t_C shrinks (measured 0.30, 0.09, 0.04)."""
    errs = []
    for d in (20, 40, 80):
        n = int(round(math.exp(0.1 * d)))
        X = np.random.default_rng(d).standard_normal((n, d))
        c = empirical_mixture(X, np.linspace(0.2, 3.0, 30), samples=384, rng=1)
        est = c.crossing("commitment", 0.5, bootstrap=0)
        errs.append(est.value - collapse_time(n, d))
    assert errs[0] > errs[1] > errs[2] > 0
    assert errs[2] < 0.08


def test_class_curve_matches_two_class_theory():
    """φ(t) of the empirical mixture vs Gauss–Hermite φ of GaussianMixture(800, 64, 1, 1) near
    t_S = ½ ln 65, within 4 Monte Carlo SE (+0.005 for the finite-n class means)."""
    g = np.random.default_rng(2)
    nc, d = 400, 64
    lab = np.repeat([0, 1], nc)
    X = g.standard_normal((2 * nc, d)) + np.where(lab[:, None] == 0, 1.0, -1.0)
    ts = np.array([1.6, 1.9, 2.1, 2.4, 2.8])
    c = empirical_mixture(X, ts, samples=512, rng=1, labels=lab)
    th = GaussianMixture(2 * nc, d, 1, 1).cloning_probability(ts)
    assert np.all(np.abs(c.class_commitment - th) <= 4 * c.class_commitment_se + 0.005)


def test_crossing_root_is_on_the_smooth_curve_and_interval_covers_it():
    X = np.random.default_rng(3).standard_normal((400, 30))
    c = empirical_mixture(X, np.linspace(0.3, 3, 12), samples=256, rng=0)
    cr = c.crossing("commitment", 0.5, bootstrap=100, rng=1)
    assert c.statistic("commitment", [cr.value]).mean() == pytest.approx(0.5, abs=1e-8)
    lo, hi = cr.ci
    assert lo < cr.value < hi and hi - lo < 8 * cr.se + 1e-12


@pytest.mark.parametrize("kw,match", [
    ({"times": [0.0, 1.0]}, "times"),
    ({"times": [1.0, float("nan")]}, "times"),
    ({"samples": 1}, "samples"),
    ({"labels": [0, 1]}, "labels"),
])
def test_bad_arguments(kw, match):
    X = np.random.default_rng(0).standard_normal((10, 3))
    args = {"times": [1.0], "samples": 8, **kw}
    with pytest.raises(RegimesError, match=match):
        empirical_mixture(X, args.pop("times"), **args)


def test_unstored_crossings_match_stored_and_take_one_pass():
    # the window method used when the statistics are not stored (big data) against the exact
    # Brent root on stored statistics; and prefetch makes all crossings cost a single extra pass
    from regimes.engines import empirical_mixture

    rng = np.random.default_rng(11)
    X = rng.standard_normal((400, 60))
    t = np.linspace(0.2, 3.0, 30)
    st = empirical_mixture(X, t, samples=256, rng=3, store=True)
    un = empirical_mixture(X, t, samples=256, rng=3, store=False)
    calls = []
    real = un.recompute
    un.recompute = lambda tt: (calls.append(tt.size), real(tt))[1]
    un.prefetch([("commitment", 0.5), ("excess_entropy", 0.1 * un.alpha)])
    a = un.crossing("commitment", 0.5, bootstrap=200, rng=0)
    b = un.crossing("excess_entropy", 0.1 * un.alpha, bootstrap=200, rng=0)
    assert len(calls) == 0  # the windows come from the engine's own pass (refined grid), bootstraps included
    ref_a = st.crossing("commitment", 0.5, bootstrap=200, rng=0)
    ref_b = st.crossing("excess_entropy", 0.1 * st.alpha, bootstrap=200, rng=0)
    for got, ref in ((a, ref_a), (b, ref_b)):
        # linear interpolation on a 25-point window (33 points: < 0.002 SE; 17 points: 0.01 SE) vs
        # Brent on the exact curve: far below the SE
        assert abs(got.value - ref.value) < 0.05 * ref.se
        assert got.ci[0] == pytest.approx(ref.ci[0], abs=0.3 * ref.se)
        assert got.ci[1] == pytest.approx(ref.ci[1], abs=0.3 * ref.se)
