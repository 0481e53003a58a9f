"""Fixes from the review of the random-matrix layer, each against an independent oracle.

Oracles: mpmath quadrature of the Marchenko–Pastur density in x; exact rational Narayana sums;
mpmath Gaussian integrals (s_t² → Δ_t(E sech⁴ − κ_1²) as t → 0); scipy quad with breakpoints;
sampled Gaussian-equivalent U; the self-consistent solver's slow bulk.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from scipy import integrate

from regimes import RegimesError, RegimesWarning
from regimes.rmt import MarchenkoPastur, RandomFeatures, slow_bulk_tau, tau_mem_in_range, training_regimes


# ----------------------------------------------------------------- item 3: τ_mem validity
def test_tau_mem_flag_fires_at_large_t_and_recommends_the_slow_bulk():
    rf = RandomFeatures(100, 10, 1.0)
    assert not rf.tau_mem_in_range
    assert rf.tau_mem_note is not None and "outside its range" in rf.tau_mem_note
    lo, hi = rf.bulks["slow"].tau  # solver's slow bulk: τ ∈ [2044, 2095]
    assert lo <= rf.tau_mem_recommended <= hi
    assert rf.tau_mem > 10 * hi  # the formula itself stays what it is (1.06e5)
    assert rf.tau_mem_recommended == rf.tau_slow
    summ = rf.summary()
    assert summ["tau_mem_in_range"] is False and summ["tau_mem"] == rf.tau_mem
    assert any("outside its range" in n for n in summ["notes"])


def test_tau_mem_flag_silent_at_small_t():
    rf = RandomFeatures(100, 10, 0.01)
    assert rf.tau_mem_in_range and rf.tau_mem_note is None
    lo, hi = rf.bulks["slow"].tau
    assert lo <= rf.tau_mem <= hi
    assert lo <= rf.tau_slow <= hi
    assert rf.tau_mem_recommended == rf.tau_mem


def test_tau_mem_flag_on_grids():
    c = RandomFeatures(1.0, 1.0, 1.0).constants
    ok = tau_mem_in_range(np.array([1.0, 1.0]), np.array([10.0, 1e5]), c.s_t2, c.v_t2)
    assert ok.tolist() == [False, True]  # s_t²/v_t² ≈ 499: only ψ_p/ψ_n ≥ 4990 passes
    assert slow_bulk_tau(10.0, 100.0, -math.expm1(-2.0), c.s_t2, c.v_t2) == pytest.approx(
        RandomFeatures(100, 10, 1.0).tau_slow, rel=1e-12)
    reg = training_regimes([100.0, 200.0], [1.0, 1e6], 20.0, 2000.0, 1.0)
    assert not reg["tau_mem_in_range"].any() and "notes" in reg
    assert reg["tau_mem"].tolist() == [RandomFeatures(100, 5, 1.0).tau_mem,
                                       RandomFeatures(100, 10, 1.0).tau_mem]


def test_phase_diagrams_carry_the_flag():
    from regimes.phase import np_phase_diagram, ntau_phase_diagram

    d = np_phase_diagram(points=4, t=1.0).to_dict()
    assert d["tau_mem_in_range"].shape == (4, 4) and not d["tau_mem_in_range"].any()
    assert "notes" in d
    nt = ntau_phase_diagram(points=3, t=1.0, window_points=0).to_dict()
    assert not nt["tau_mem_in_range"].any() and "notes" in nt
    assert np.all(nt["tau_slow"] < nt["tau_mem"])
    nt = ntau_phase_diagram(n_range=(10.0, 100.0), points=3, t=0.01, p=20000.0, window_points=0).to_dict()
    assert nt["tau_mem_in_range"].all() and "notes" not in nt


# ----------------------------------------------------------------- items 1, 11, 13: MP at extreme γ
def _mp_masses(g, x):
    """(mass below x, mass above x) of the continuous part: mpmath quad of the pdf in x."""
    with mp.workdps(50):
        g = mp.mpf(g)
        sg = mp.sqrt(g)
        lo, hi = (1 - sg) ** 2, (1 + sg) ** 2
        f = lambda y: mp.sqrt((hi - y) * (y - lo)) / (2 * mp.pi * g * y)  # noqa: E731
        x = mp.mpf(float(x))
        return mp.quad(f, [lo, x]), mp.quad(f, [x, hi])


@pytest.mark.parametrize("g", [1e-16, 1e-20, 1e-30, 1e12, 1e16])
def test_mp_cdf_sf_extreme_ratio_against_mpmath(g):
    law = MarchenkoPastur(g)
    lo, hi = law.support()
    xs = np.unique(lo + (hi - lo) * np.array([1e-3, 0.1, 0.5, 0.9, 1 - 1e-3]))
    xs = xs[(xs > lo) & (xs < hi)]
    assert xs.size >= 3
    for x in xs:
        below, above = _mp_masses(g, x)
        assert float(abs(law.cdf(x) - (law.atom + below)) / (law.atom + below)) < 1e-13
        assert float(abs(law.sf(x) - above) / above) < 1e-13
    c = law.cdf(np.linspace(lo, hi, 1001))
    # (at γ = 1e-30 the support is 18 ulps wide: the double nearest λ_− lies inside it)
    assert np.all(np.diff(c) >= 0) and c[0] <= law.atom + 1e-3 and c[-1] >= 1 - 1e-3


def test_mp_small_ratio_cdf_one_is_half_and_samples_are_semicircle():
    law = MarchenkoPastur(1e-16)
    assert law.cdf(1.0) == pytest.approx(0.5, abs=1e-7)  # was 0.7068
    r = law.rvs(4000, rng=1)
    z = (r - 1.0) / 1e-8  # → semicircle on [−2, 2]: mean 0, sd 1 (was −0.56, 0.56)
    assert abs(z.mean()) < 0.07 and abs(z.std() - 1) < 0.05
    lo, _ = MarchenkoPastur(1e-30).support()
    assert MarchenkoPastur(1e-30).cdf(np.nextafter(lo, 2)) < 0.5 < MarchenkoPastur(1e-30).cdf(1.0 + 1e-15)


def test_mp_ppf_roundtrip_extreme():
    law = MarchenkoPastur(1e-6)
    q = np.array([0.01, 0.3, 0.7, 0.99])
    assert np.allclose(law.cdf(law.ppf(q)), q, rtol=1e-9)


def test_mp_pdf_near_edge_double_double():
    g = 1e-6
    law = MarchenkoPastur(g)
    lo, _ = law.support()
    x = lo + 1e-9 * 4e-3  # 1e-9 of the support width from the lower edge
    with mp.workdps(50):
        sg = mp.sqrt(mp.mpf(g))
        l, h = (1 - sg) ** 2, (1 + sg) ** 2
        X = mp.mpf(x)
        ref = mp.sqrt((h - X) * (X - l)) / (2 * mp.pi * g * X)
    assert float(abs(law.pdf(x) - ref) / ref) < 1e-12


# ----------------------------------------------------------------- item 6: moments
def test_mp_moment_large_k_returns():
    assert MarchenkoPastur(4.0).moment(100000) == math.inf
    assert MarchenkoPastur(4.0).moment(20000) == math.inf
    v = MarchenkoPastur(1e-3, 0.2).moment(300)
    assert 0 < v < math.inf


@pytest.mark.parametrize("g", [0.3, 4.0])
def test_mp_moment_against_exact_narayana(g):
    law = MarchenkoPastur(g, 1.5)
    for k in (1, 2, 5, 17, 60, 100, 201, 260):
        exact = Fraction(1.5) ** k * sum(
            Fraction(math.comb(k, r) * math.comb(k - 1, r) // (r + 1)) * Fraction(g) ** r for r in range(k))
        v = law.moment(k)
        assert abs(Fraction(v) - exact) / exact < 1e-12


# ----------------------------------------------------------------- item 7: fit
def test_mp_fit_accepts_round_off_negatives():
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((600, 200))
    ev = np.linalg.eigvalsh(Y @ Y.T / 200)
    assert ev.min() < 0  # the zero eigenvalues come out as ~−1e-14
    law = MarchenkoPastur.fit(ev)
    assert law.ratio == pytest.approx(3.0, rel=0.02)
    with pytest.raises(RegimesError, match="eigenvalues must be >= 0"):
        MarchenkoPastur.fit(np.r_[ev, -0.1])


# ----------------------------------------------------------------- item 2: s_t² at small t
@pytest.mark.parametrize("t", [1e-12, 1e-14, 1e-16, 1e-20])
def test_s_t2_small_t_against_mpmath(t):
    with mp.workdps(30):
        w = lambda f: mp.quad(lambda z: f(z) * mp.npdf(z), [-mp.inf, 0, mp.inf])  # noqa: E731
        k1 = w(lambda z: mp.sech(z) ** 2)
        e4 = w(lambda z: mp.sech(z) ** 4)
        ref = float(-mp.expm1(-2 * mp.mpf(t)) * (e4 - k1**2))  # s_t² = Δ_t(E sech⁴ − κ_1²)(1 + O(t))
    s2 = RandomFeatures(8, 2, t).constants.s_t2
    assert abs(s2 / ref - 1) < 1e-11


# ----------------------------------------------------------------- items 4, 14: user activations
def _quad_s2(f, t, kinks):
    """s_t² = E σ(z)² − E_u[(E_v σ(e^{−t}u + √Δv))²] − Δκ_1² by nested scipy quad with breakpoints."""
    e, D = math.exp(-t), -math.expm1(-2 * t)
    sd = math.sqrt(D)
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731

    def q(h, pts):
        return integrate.quad(h, -12, 12, points=[p for p in pts if abs(p) < 12] or None, limit=400,
                              epsabs=1e-15, epsrel=1e-13)[0]

    g = lambda u: q(lambda v: f(e * u + sd * v) * pdf(v), [(k - e * u) / sd for k in kinks])  # noqa: E731
    m2 = q(lambda z: f(z) ** 2 * pdf(z), kinks)
    k1 = q(lambda z: z * f(z) * pdf(z), kinks)
    return m2 - q(lambda u: g(u) ** 2 * pdf(u), [k / e for k in kinks]) - D * k1**2


@pytest.mark.parametrize("f, kinks", [(lambda x: np.clip(x, -1, 1), (-1.0, 1.0)),
                                      (lambda x: np.tanh(100 * x), (-0.05, 0.0, 0.05))])
def test_odd_kinked_activation_warns_or_is_accurate(f, kinks):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        ref = _quad_s2(lambda x: float(f(np.float64(x))), 0.1, kinks)
    with pytest.warns(RegimesWarning, match="does not look smooth"):
        assert RandomFeatures(8, 2, 0.1, activation=f).constants.s_t2 > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegimesWarning)
        rf = RandomFeatures(8, 2, 0.1, activation=f, kinks=kinks)
        assert abs(rf.constants.s_t2 / ref - 1) < 1e-8
    assert rf.activation.user  # declared kinks keep the `user` flag (exact-zero clean-up)


def test_smooth_user_activation_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegimesWarning)
        for f in (np.sin, lambda x: x**2, np.exp, lambda x: np.tanh(x)):
            assert math.isfinite(RandomFeatures(8, 2, 0.1, activation=f).constants.s_t2)


# ----------------------------------------------------------------- item 5: atom with v_t² = 0 / no linear part
@pytest.mark.parametrize("act, kinks", [(lambda x: x, None), (np.abs, (0.0,))])
def test_atom_mass_against_sampled_U(act, kinks):
    rf = RandomFeatures(8, 2, 0.1, activation=act, kinks=kinks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegimesWarning)  # (abs: the pieces are named by position)
        atom = rf.bulks["atom"]["mass"]
    ev = np.linalg.eigvalsh(rf.sample_U(40, rng=1))
    frac = np.mean(ev <= rf.constants.s_t2 + 1e-9)
    assert atom == pytest.approx(frac, abs=1e-12)  # 0.875 (σ = x), 0.75 (|x|)
    if kinks:
        assert rf.tau_gen == math.inf
    else:
        assert abs(rf.constants.s_t2) < 1e-20
