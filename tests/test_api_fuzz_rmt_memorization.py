"""Fuzz-review fixes (rmt, phase, memorisation, U-turns, symbolic): bad input is a RegimesError that
names the parameter; the numbers of valid input are checked against independent oracles."""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.spatial.distance import cdist

from regimes import RegimesError, RegimesWarning, symbolic
from regimes.data import as_source
from regimes.memorization import difference_interval, exact_binomial_interval, memorization_audit
from regimes.phase import log10_n_star, n_star, nd_phase_diagram, np_phase_diagram, ntau_phase_diagram
from regimes.rmt import (
    MarchenkoPastur,
    RandomFeatures,
    memorisation_phase_diagram,
    slow_bulk_tau,
    tau_mem_in_range,
    training_regimes,
    windows,
)
from regimes.uturn import end_time, image_index, simulated_collapse_time, uturn_cost


def _refused(match, f, *args, **kwargs):
    with pytest.raises(RegimesError, match=match):
        f(*args, **kwargs)


@pytest.fixture(scope="module")
def rf():
    return RandomFeatures(2.0, 1.0, 0.5, quadrature_order=40)


# ---------------------------------------------------------------------- Marchenko–Pastur (T3, T6, T18)
@pytest.mark.parametrize("method", ["ppf", "isf"])
@pytest.mark.parametrize("q, match", [("abc", r"^q must be real numbers, got 'abc'"), (None, r"^q must be real"),
                                      (float("nan"), r"^q must be finite, got nan"),
                                      ([0.5, 2.0], r"^q must be >= 0 and <= 1, got an entry 2\.0"),
                                      (-0.1, r"^q must be >= 0 and <= 1, got -0\.1"), (1 + 2j, r"^q must be real")])
def test_mp_quantiles_refuse_non_probabilities(method, q, match):
    _refused(match, getattr(MarchenkoPastur(0.5), method), q)


@pytest.mark.parametrize("z, match", [("abc", r"^z must be real or complex numbers, got 'abc'"),
                                      (None, r"^z must be real or complex"), (True, r"^z must be real or complex"),
                                      (float("nan"), r"^z must be finite, got \(nan"),
                                      (complex(1.0, math.inf), r"^z must be finite"),
                                      (np.array([1.0, np.inf]), r"^z must be finite")])
def test_mp_stieltjes_refuses_non_finite_or_non_numbers(z, match):
    _refused(match, MarchenkoPastur(0.5).stieltjes, z)


@pytest.mark.parametrize("z", [-1.0, 5.0, 1.0 + 0.5j])
def test_mp_stieltjes_of_real_and_complex_z_against_quadrature(z):
    law = MarchenkoPastur(0.5)
    lo, hi = law.support()
    re = integrate.quad(lambda x: (law.pdf(x) / (x - z)).real, lo, hi, epsabs=1e-13, limit=200)[0]
    im = integrate.quad(lambda x: (law.pdf(x) / (x - z)).imag, lo, hi, epsabs=1e-13, limit=200)[0]
    assert complex(law.stieltjes(z)) == pytest.approx(complex(re, im), abs=1e-9)


def test_mp_fit_refuses_a_mean_outside_the_variance_range():
    _refused(r"^eigenvalues must have a mean in \[1e-100, 1e100\].*got mean 1e-320", MarchenkoPastur.fit,
             [1e-320, 1e-320])
    _refused(r"^eigenvalues must have a mean.*got mean 1e\+200", MarchenkoPastur.fit, [1e200, 1e200])
    _refused(r"^eigenvalues must not all be 0", MarchenkoPastur.fit, [0.0, 0.0])


@pytest.mark.parametrize("size, match", [(1e308, r"^size must be >= 0 and <= 67108864"),
                                         (10**400, r"^size must be >= 0 and <= 67108864"),
                                         ((10**5, 10**5), r"^size must give at most 67108864 draws.*10000000000"),
                                         ("3", r"^size must be an integer or a tuple"),
                                         (1.5, r"^size must be an integer, got 1\.5"),
                                         ((2, -1), r"^size must be >= 0")])
def test_mp_rvs_size_is_bounded(size, match):
    _refused(match, MarchenkoPastur(0.5).rvs, size, rng=0)


def test_mp_rvs_valid_sizes_and_distribution():
    law = MarchenkoPastur(0.5)
    assert law.rvs((2, 3), rng=0).shape == (2, 3)
    draws = law.rvs(4000, rng=1)
    # oracle: the law's own cdf is checked elsewhere; here a KS test of the draws against it
    assert stats.kstest(draws, law.cdf).pvalue > 1e-3


def test_replace_refuses_unknown_fields(rf):
    _refused(r"^MarchenkoPastur\.replace: unknown field 'bogus'; allowed: ratio, variance$",
             MarchenkoPastur(0.5).replace, bogus=1)
    assert MarchenkoPastur(0.5).replace(ratio=2.0) == MarchenkoPastur(2.0)
    _refused(r"^RandomFeatures\.replace: unknown field 'bogus'; allowed: psi_p, psi_n, t, activation",
             rf.replace, bogus=1)
    assert rf.replace(t=0.3).t == 0.3


# ---------------------------------------------------------------------- random features (T3, T11, SN1, AW5)
@pytest.mark.parametrize("d, match", [(-1, r"^d must be >= 1 .*got -1"), (0, r"^d must be >= 1"),
                                      (1.5, r"^d must be an integer, got 1\.5"), (10**400, r"^d must be >= 1"),
                                      ("x", r"^d must be an integer")])
def test_sigma_eigenvalues_validates_d(rf, d, match):
    _refused(match, rf.sigma_eigenvalues, d)


def test_sigma_eigenvalues_counts():
    rfs = RandomFeatures(2.0, 1.0, 0.5, data_spectrum=([1.0, 3.0], [0.25, 0.75]), quadrature_order=40)
    ev = rfs.sigma_eigenvalues(8)
    assert sorted(ev.tolist()) == [1.0, 1.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]


def test_stieltjes_validates_eps_min(rf):
    _refused(r"^eps_min must be a real number, got 'abc'", rf.stieltjes, 1 + 0.5j, eps_min="abc")
    _refused(r"^eps_min must be finite, got nan", rf.stieltjes, 1 + 0.5j, eps_min=float("nan"))


def test_instances_beyond_the_size_limit_name_d():
    big = RandomFeatures(1e300, 1.0, 0.5, quadrature_order=40)
    _refused(r"^d=16 gives an instance of p = psi_p·d = 1\.6e\+301 features", big.sample_instance, 16)
    _refused(r"^d must be >= 1 and <= 67108864", memorisation_phase_diagram, [0.5], [1.0], 0.5, d=1e308)
    _refused(r"^d=16 gives instances of up to p = max\(psi_p\)·d = inf", memorisation_phase_diagram,
             [0.5], [1e308], 0.5, d=16)


@pytest.mark.parametrize("args, match", [((float("nan"), 2.0, 0.6, 0.3, 0.2), r"^psi_n must be finite"),
                                         ((None, 2.0, 0.6, 0.3, 0.2), r"^psi_n must be real numbers, got None"),
                                         ((-1.0, 2.0, 0.6, 0.3, 0.2), r"^psi_n must be > 0"),
                                         ((1.0, "2", 0.6, 0.3, 0.2), r"^psi_p must be real numbers"),
                                         ((1.0, 2.0, 0.0, 0.3, 0.2), r"^delta_t must be > 0 and <= 1, got 0\.0"),
                                         ((1.0, 2.0, 0.6, "a", 0.2), r"^s_t2 must be a real number, got 'a'"),
                                         ((1.0, 2.0, 0.6, 0.3, -0.2), r"^v_t2 must be >= 0, got -0\.2"),
                                         (([1.0, 2.0], [1.0, 2.0, 3.0], 0.6, 0.3, 0.2),
                                          r"^psi_n and psi_p must broadcast")])
def test_slow_bulk_helpers_validate(args, match):
    _refused(match, slow_bulk_tau, *args)
    if "delta_t" not in match:
        psi_n, psi_p, _, s2, v2 = args
        _refused(match, tau_mem_in_range, psi_n, psi_p, s2, v2)


def test_slow_bulk_tau_value():
    # oracle: ψ_p/(2Δ(s² + v²(1 + ψ_p/ψ_n))) in exact rational arithmetic
    from fractions import Fraction as F

    want = F(100) / (2 * F(0.6) * (F(0.3) + F(0.2) * (1 + F(100) / F(10))))
    assert slow_bulk_tau(10.0, 100.0, 0.6, 0.3, 0.2) == pytest.approx(float(want), rel=1e-15)


def test_training_regimes_names_the_ratio():
    _refused(r"^p/d \(psi_p\) must be a finite positive float64, got p=100\.0, d=1e-320", training_regimes,
             [10.0], [1.0], 1e-320, 100.0, 0.5)
    _refused(r"^n/d \(psi_n\) must be finite positive float64s, got n=1e\+308", training_regimes,
             [1e308], [1.0], 1e-10, 1.0, 0.5)


# ---------------------------------------------------------------------- rmt.windows (T3, T11, T17)
@pytest.mark.parametrize("args, match", [((100, 0, 200), r"^d must be >= 1, got 0\.0"),
                                         ((100, float("inf"), 200), r"^d must be finite, got inf"),
                                         ((-1, 50, 200), r"^n must be > 0, got -1\.0"),
                                         ((1, 50, "p"), r"^p must be a real number, got 'p'"),
                                         ((1, 50, 200, float("nan")), r"^budget must be an integer, got nan"),
                                         ((1, 50, 200, 50), r"^budget must be >= 100, got 50"),
                                         ((1e-320, 1e10, 1.0), r"^n/d \(psi_n\) must be a finite positive")])
def test_window_sizes_validates(args, match):
    _refused(match, windows.window_sizes, *args)


def test_window_sizes_of_valid_input():
    assert windows.window_sizes(40, 20, 80) == (20, 80, 40, False)
    dd, pp, nn, reduced = windows.window_sizes(160, 40, 640, 60_000)
    assert reduced and pp * min(pp, nn + dd) <= 60_000 < (pp + 16) * min(pp + 16, nn + 4 + dd + 1)


@pytest.mark.parametrize("args, match", [((0, 2.0), r"^psi_n must be > 0, got 0\.0"),
                                         (("x", 2.0), r"^psi_n must be a real number"),
                                         ((2.0, float("nan")), r"^psi_p must be finite")])
def test_asymptotic_validity_note_validates(args, match):
    _refused(match, windows.asymptotic_validity_note, *args)


def test_sample_window_curves_validates(rf, monkeypatch):
    monkeypatch.setattr("regimes._validate.available_memory_bytes", lambda: 1 << 30)  # 1 GiB free
    f = windows.sample_window_curves
    _refused(r"^rf must be a regimes\.rmt\.RandomFeatures, got str", f, "x", 16, 32, 16, [1.0])
    _refused(r"^tau must be finite, got an entry nan", f, rf, 16, 32, 16, [np.nan])
    _refused(r"^tau must be >= 0", f, rf, 16, 32, 16, [-1.0])
    _refused(r"^tau must have at least 1 entries", f, rf, 16, 32, 16, [])
    _refused(r"^d must be an integer, got 1\.5", f, rf, 1.5, 32, 16, [1.0])
    _refused(r"^p must be >= 1", f, rf, 16, 0, 16, [1.0])
    _refused(r"^n must be >= 1 and <= 67108864", f, rf, 16, 32, 10**12, [1.0])
    _refused(r"^n=4000000 needs about .*than the available memory \(1 GB\); use a smaller n$", f, rf, 16, 32,
             4 * 10**6, [1.0])


def test_training_window_refuses_instances_that_cannot_exist():
    kw = dict(seeds=1, budget=20000, points_per_decade=10)
    _refused(r"^n=1e\+308 gives Gaussian-equivalent instances of d' = 20, p' = 40, n' = 1e\+308; .*use a "
             r"smaller n$", windows.training_window, 1e308, 20, 40, 0.5, **kw)
    _refused(r"^d=1e\+308 gives Gaussian-equivalent instances of d' = 1e\+308", windows.training_window,
             40, 1e308, 40, 0.5, **kw)
    _refused(r"^d must be >= 1, got 1e-300", windows.training_window, 1.0, 1e-300, 1.0, 0.5)
    _refused(r"^rng must be", windows.training_window, 80, 20, 40, 0.5, rng=-1)


def test_window_cost_validates(rf):
    _refused(r"^rf must be a regimes\.rmt\.RandomFeatures", windows.window_cost, "x", 40, 20, 80)
    _refused(r"^seeds must be >= 1", windows.window_cost, rf, 40, 20, 80, seeds=0)
    _refused(r"^points_per_decade must be >= 4", windows.window_cost, rf, 40, 20, 80, points_per_decade=1)


# ---------------------------------------------------------------------- phase diagrams (T12, SN6, AW5, SN1)
@pytest.mark.parametrize("f, kw, match", [
    (nd_phase_diagram, dict(d_range=None), r"^d_range must be a pair \(low, high\) of positive real numbers, got None"),
    (nd_phase_diagram, dict(d_range=(1.0, 2.0, 3.0)), r"^d_range must be a pair .*got \(1\.0, 2\.0, 3\.0\)"),
    (nd_phase_diagram, dict(d_range="ab"), r"^d_range must be a pair"),
    (nd_phase_diagram, dict(n_range=5.0), r"^n_range must be a pair"),
    (nd_phase_diagram, dict(n_range=(1, 5)), r"^n_range\[0\] must be >= 2, got 1"),
    (nd_phase_diagram, dict(d_range=(1.0, float("nan"))), r"^d_range\[1\] must be finite"),
    (nd_phase_diagram, dict(separation=1e308), r"^separation must be <= 1e\+148 .*got 1e\+308"),
    (nd_phase_diagram, dict(eigenvalue=True), r"^eigenvalue must be a real number, got True"),
    (np_phase_diagram, dict(psi_n_range=(1.0,)), r"^psi_n_range must be a pair .*got \(1\.0,\)"),
    (np_phase_diagram, dict(psi_p_range={}), r"^psi_p_range must be a pair"),
    (np_phase_diagram, dict(psi_p_range=(0.0, 1.0)), r"^psi_p_range\[0\] must be > 0"),
    (np_phase_diagram, dict(gap="no"), r"^gap must be True or False, got 'no'"),
    (np_phase_diagram, dict(gap_d="abc"), r"^gap_d must be an integer, got 'abc'"),
    (np_phase_diagram, dict(rng=-1), r"^rng must be"),
    (ntau_phase_diagram, dict(n_range=None), r"^n_range must be a pair"),
    (ntau_phase_diagram, dict(tau_range=(1.0,)), r"^tau_range must be a pair"),
    (ntau_phase_diagram, dict(window_points=0, gap_tolerance=float("nan")), r"^gap_tolerance must be finite"),
    (ntau_phase_diagram, dict(window_points=0, gap_tolerance="abc"), r"^gap_tolerance must be a real number"),
])
def test_phase_diagrams_validate_on_entry(f, kw, match):
    _refused(match, f, points=5, **kw)


def test_nd_diagram_without_speciation_has_a_note():
    pdg = nd_phase_diagram(points=5, eigenvalue=0.5)
    assert np.all(np.isnan(pdg.t_S))  # Λ = 0.5 <= 1: ½ ln Λ < 0, no speciation
    assert len(pdg.notes) == 1 and "no speciation" in pdg.notes[0] and "eigenvalue = 0.5" in pdg.notes[0]
    assert pdg.to_dict()["notes"] == list(pdg.notes)
    sep = nd_phase_diagram(points=5, separation=1e-4, variance=0.5)  # Λ <= 1e4·1e-8 + 0.5 everywhere
    assert np.all(np.isnan(sep.t_S)) and "separation" in sep.notes[0]
    ok = nd_phase_diagram(points=5, eigenvalue=4.0)
    assert ok.notes == () and "notes" not in ok.to_dict()
    assert ok.t_S == pytest.approx(np.full(5, 0.5 * math.log(4.0)), rel=1e-15)


@pytest.mark.parametrize("f", [n_star, log10_n_star])
@pytest.mark.parametrize("d, match", [(float("nan"), r"^d must be finite, got nan"), (None, r"^d must be real numbers"),
                                      (-5, r"^d must be >= 1, got -5"), (0.5, r"^d must be >= 1"),
                                      ("abc", r"^d must be real numbers"), (1 + 2j, r"^d must be real numbers"),
                                      (10**400, r"^d must be a real number representable")])
def test_n_star_validates_d(f, d, match):
    _refused(match, f, d, 0.3)


def test_n_star_against_mpmath():
    mpmath.mp.dps = 40
    for d, tc in ((10.0, 0.5), (300.0, 0.1)):
        alpha = mpmath.log1p(1 / mpmath.expm1(2 * mpmath.mpf(tc))) / 2
        assert n_star(d, tc) == pytest.approx(float(mpmath.exp(alpha * d)), rel=1e-12)
        assert log10_n_star(d, tc) == pytest.approx(float(alpha * d / mpmath.log(10)), rel=1e-13)


# ---------------------------------------------------------------------- U-turns (T10, SN2, T16, T17, AW6)
def test_end_time_validates():
    _refused(r"^t must be finite, got nan", end_time, float("nan"), 1.0)
    _refused(r"^t must be > 0, got -1\.0", end_time, -1, 1.0)
    _refused(r"^variance must be >= 0, got -1\.0", end_time, 0.3, -1.0)
    _refused(r"^variance must be real numbers, got None", end_time, 0.3, None)
    _refused(r"^variance must be a number \(not NaN\)", end_time, 0.3, float("nan"))
    assert end_time(1e5, math.inf) == pytest.approx(10.0) and end_time(0.5, 0.0) == 0.5e-4


@pytest.mark.parametrize("args, kw, match", [((-5, 6, 32, 4), {}, r"^n must be >= 1"),
                                             ((60, 1.5, 32, 4), {}, r"^d must be an integer, got 1\.5"),
                                             ((60, 6, "32", 4), {}, r"^samples must be an integer, got '32'"),
                                             ((60, 6, 10**8, 4), {}, r"^samples must be >= 1 and <= 10000000"),
                                             ((60, 6, 32, 0), {}, r"^times must be >= 1"),
                                             ((60, 6, 32, 4), dict(method="bogus"), r"^method must be one of sde"),
                                             ((60, 6, 32, 4), dict(method=["sde"]), r"^method must be one of"),
                                             ((60, 6, 32, 4), dict(steps=1), r"^steps must be >= 2"),
                                             ((10**400, 6, 32, 4), {}, r"^n must be >= 1 and <= ")])
def test_uturn_cost_validates(args, kw, match):
    _refused(match, uturn_cost, *args, **kw)


def test_uturn_cost_bounds_a_real_run():
    """The memory estimate bounds the traced peak of an actual uturn run (tracemalloc), and the work
    grows in proportion to each size it is a product of."""
    import tracemalloc

    from regimes.uturn import uturn

    A = np.random.default_rng(0).normal(size=(300, 16))
    tracemalloc.start()
    uturn(A, [0.1, 1.0], samples=64, steps=20, rng=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak <= uturn_cost(300, 16, 64, 2, steps=20).bytes
    base = uturn_cost(100, 8, 10, 3, method="posterior")
    for args in ((200, 8, 10, 3), (100, 16, 10, 3), (100, 8, 20, 3), (100, 8, 10, 6)):
        c = uturn_cost(*args, method="posterior")
        assert c.flops == pytest.approx(2 * base.flops) and c.exps in (base.exps, 2 * base.exps)


def test_image_index_refuses_other_objects():
    _refused(r"^src must be a regimes\.data\.DataSource .*got str", image_index, "x")
    _refused(r"^src must be a regimes\.data\.DataSource .*got ndarray", image_index, np.zeros((3, 2)))
    A = np.array([[0.0, 1.0], [2.0, 3.0], [0.0, 1.0]])
    assert image_index(as_source(A, center=False)).index.tolist() == [0, 1, 0]


_X = np.random.default_rng(0).standard_normal((60, 6))


@pytest.mark.parametrize("confidence, match", [(float("nan"), r"^confidence must be finite, got nan"),
                                               (-1, r"^confidence must be > 0 and < 1, got -1"),
                                               (1.0, r"^confidence must be > 0 and < 1"),
                                               ("x", r"^confidence must be a real number")])
def test_simulated_collapse_time_validates_confidence(confidence, match):
    _refused(match, simulated_collapse_time, _X, [0.1, 1.0], samples=8, steps=4, bootstrap=4,
             confidence=confidence)


@pytest.mark.parametrize("times, side", [([1.0, 2.0, 3.0], "below"), ([1e-4, 2e-4], "above")])
def test_simulated_collapse_time_says_where_the_crossing_is(times, side):
    with pytest.warns(RegimesWarning, match="does not cross ½ inside times"):
        est = simulated_collapse_time(_X, times, samples=32, steps=10, bootstrap=10)
    assert math.isnan(est.value) and len(est.notes) == 1
    p = np.array(est.details["same_point"])  # the simulation itself is the oracle of the side
    if side == "below":
        assert np.all(p < 0.5) and "extend times to smaller t" in est.notes[0]
    else:
        assert np.all(p > 0.5) and "extend times to larger t" in est.notes[0]
    assert est.to_dict()["notes"] == list(est.notes)


# ---------------------------------------------------------------------- binomial intervals (T9)
@pytest.mark.parametrize("args, match", [((3, -1, 0.95), r"^n must be >= 1 and <= 9007199254740992, got -1"),
                                         ((-1, 10, 0.95), r"^count must be >= 0, got -1"),
                                         ((11, 10, 0.95), r"^count must be <= n = 10 .*got 11"),
                                         ((3, 10, 0), r"^confidence must be > 0 and < 1, got 0"),
                                         ((3, 10, 1.5), r"^confidence must be > 0 and < 1"),
                                         ((3, 10.5, 0.95), r"^n must be an integer, got 10\.5"),
                                         ((True, 10, 0.95), r"^count must be an integer, got True")])
def test_exact_binomial_interval_validates(args, match):
    _refused(match, exact_binomial_interval, *args)


def test_exact_binomial_interval_against_scipy():
    for x, n in ((0, 10), (3, 10), (10, 10), (17, 250)):
        ci = stats.binomtest(x, n).proportion_ci(confidence_level=0.9, method="exact")
        assert exact_binomial_interval(x, n, 0.9) == pytest.approx((ci.low, ci.high), rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("args, match", [((3, 0, 5, 12), r"^n1 must be >= 1 and <= 9007199254740992, got 0"),
                                         ((30, 10, 5, 12), r"^x1 must be <= n1 = 10 .*got 30"),
                                         ((3, 10, -1, 12), r"^x2 must be >= 0"),
                                         ((3, 10, 5, 0), r"^n2 must be >= 1"),
                                         ((3, 10, 5, 12, 2), r"^confidence must be > 0 and < 1, got 2"),
                                         ((3, 10, 5, 12, float("nan")), r"^confidence must be finite")])
def test_difference_interval_validates(args, match):
    _refused(match, difference_interval, *args)


def test_difference_interval_against_newcombe():
    # Newcombe (1998), Table II, example (a): 56/70 − 48/80, method 10: 0.0524 to 0.3339
    lo, hi = difference_interval(56, 70, 48, 80)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


# ---------------------------------------------------------------------- memorisation audit (SN4)
def test_carlini_alpha_is_bounded():
    rng = np.random.default_rng(0)
    train, gen = rng.standard_normal((80, 6)), rng.standard_normal((40, 6))
    for alpha in (1e-320, 0.0, 1e300):
        _refused(r"^carlini_alpha must be >= 1e-12 and <= 1e\+12", memorization_audit, gen, train,
                 carlini_alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        audit = memorization_audit(gen, train, carlini_alpha=1e-12, carlini_k=5, bootstrap=0)
    C = np.sort(cdist(gen, train), axis=1)  # oracle: brute-force distances
    want = C[:, 0] / (1e-12 * C[:, :5].mean(axis=1))
    assert np.all(np.isfinite(audit.generated.carlini))
    assert audit.generated.carlini == pytest.approx(want, rel=1e-5)


# ---------------------------------------------------------------------- symbolic (T19)
def test_lambdify_refuses_object_arrays():
    f = symbolic.lambdify("collapse_time")
    _refused(r"^n must be a numeric array, got an array of dtype object", f, np.array([1.0], object), 10, 1)
    _refused(r"^d must be a numeric array, got an array of dtype <U1", f, 1000, np.array(["a"]), 1)
    n, d = 1000, 10
    want = float(mpmath.log1p(1 / mpmath.expm1(2 * mpmath.log(n) / d)) / 2)
    assert float(f(np.array([float(n)]), d, 1)[0]) == pytest.approx(want, rel=1e-14)


@pytest.mark.parametrize("call, name", [
    (lambda: __import__("regimes.memorization", fromlist=["x"]).difference_interval(3, 10, 5, 10**400), "n2"),
    (lambda: __import__("regimes.memorization", fromlist=["x"]).exact_binomial_interval(3, 10**400, 0.95), "n"),
    (lambda: __import__("regimes.rmt", fromlist=["x"]).MarchenkoPastur.from_shape(10**400, 5), "M"),
])
def test_integers_beyond_float64_named(call, name):
    # a re-run of the fuzz harness after the fixes: these still overflowed inside the arithmetic
    from regimes import RegimesError

    with pytest.raises(RegimesError, match=rf"^{name} must be >= 1 and <= 9007199254740992"):
        call()


def test_stieltjes_and_lambdify_residual_cases():
    # the fuzz re-run's last tracebacks: an integer beyond float64 as z, a list given to a lambdified formula
    from regimes import RegimesError
    from regimes.rmt import RandomFeatures
    from regimes.symbolic import lambdify

    with pytest.raises(RegimesError, match=r"^z must be complex numbers within the float64 range"):
        RandomFeatures(2.0, 1.0, 0.5).stieltjes(10**400)
    np.testing.assert_allclose(lambdify("speciation_time")([2.0, 3.0]), 0.5 * np.log([2.0, 3.0]), rtol=1e-15)
