"""Closed forms, schedules, timeline, models, noise and diagnostics: inputs a fuzz review of the
Python API found misread or failing with raw tracebacks (T1, T2, T3, T4, T13, T14, T15, T16, T17,
T18, SN1, SN5, AW3, AW4, AW8, BM1).

Every refusal is a :class:`regimes.RegimesError` naming the parameter as typed (and the value).
Oracles for the numbers: mpmath (the collapse maps, the spectral collapse time as a root found in
50 digits, the β's of a ᾱ sequence) and the Marchenko–Pastur / Tracy–Widom formulas written out.
"""

from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest

import regimes
from regimes import RegimesError
from regimes import collapse as C
from regimes import diagnostics as D
from regimes import models as M
from regimes import noise as N
from regimes import schedule_forms as F
from regimes import schedules as S
from regimes import timeline as TL
from regimes.estimate import Estimate
from regimes.inverse import eigenvalue_for_step, last_fraction_step

EIG = np.array([5.0, 2.0, 1.0, 0.4, 0.3, 0.1])


def refused(call, *parts):
    """``call()`` raises a RegimesError whose message contains every one of ``parts``."""
    with pytest.raises(RegimesError) as info:
        call()
    msg = str(info.value)
    for p in parts:
        assert p in msg, msg
    return msg


# ---------------------------------------------------------------------------------------- T1


@pytest.mark.parametrize("bad, shown", [("abc", "'abc'"), ([1, 2], "[1, 2]"), ({}, "{}"), (1 + 2j, "(1+2j)"),
                                        (10**400, "401 digits"), (True, "True")])
def test_t_S_must_be_a_real_number(bad, shown):
    for call in (lambda: regimes.classify(0.3, bad, 0.1), lambda: regimes.regime_intervals(bad, 0.1),
                 lambda: TL.locate_regimes(bad, 0.1), lambda: TL.regime_steps(bad, 0.1)):
        refused(call, "t_S", shown, "None or NaN: no speciation")


def test_t_S_at_or_below_zero_none_nan_mean_no_speciation():
    # ½ ln Λ <= 0 exactly when Λ <= 1: no speciation, as documented (a caller passing ½ ln Λ itself)
    refused(lambda: regimes.regime_intervals(math.inf, 0.1), "t_S must be finite or NaN, got inf")
    for none in (None, math.nan, np.float32("nan"), 0, 0.0, -1.0, 0.5 * math.log(0.6)):
        assert [r["name"] for r in regimes.regime_intervals(none, 0.1)] == ["I", "III"]
    assert [r["name"] for r in regimes.regime_intervals(np.float64(2.0), 0.1)] == ["I", "II", "III"]


# ---------------------------------------------------------------------------------------- T2


def test_steps_beyond_float_range_is_a_message_not_an_overflow():
    for call in (lambda: regimes.get_schedule("linear", 10**400), lambda: regimes.time_at_step("linear", 3, 10**400),
                 lambda: S.EDMSampler(steps=10**400), lambda: S.edm_sampler_sigmas(10**400),
                 lambda: eigenvalue_for_step(3, "linear", 10**400)):
        refused(call, "steps must be <= 10000000", "an integer of 401 digits")
    refused(lambda: last_fraction_step(0.1, 10**400), "steps must be >= 2 and <= 10000000", "401 digits")


# ---------------------------------------------------------------------------------------- T4


def test_spectral_collapse_refuses_an_overflowing_sum_and_an_unbracketed_d():
    refused(lambda: regimes.collapse_time_spectral([1e308, 1e308], 1000), "eigenvalues", "overflows", "1e+308")
    refused(lambda: regimes.collapse_time_spectral([5.0, 2.0, 1.0], 1000, d=1e308), "d is out of the range",
            "d = 1e+308")


def _spectral_oracle(lam, n, d):
    """t_C of the spectral proxy: the root of (1/2d) Σ log1p(λ x) = ln(n)/d (eigenvalues beyond those
    given are 0), found by bisection on u = ln x in 50 digits; t = ½ log1p(1/x)."""
    with mp.workdps(50):
        lam = [mp.mpf(v) for v in lam]
        n, d = mp.mpf(n), mp.mpf(d)

        def g(u):
            return mp.fsum(mp.log1p(v * mp.e**u) for v in lam) / 2 - mp.log(n)  # × d: no 1e-307 terms

        lo, hi = mp.mpf(-2000), mp.mpf(2000)
        for _ in range(300):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
        return float(mp.log1p(mp.e**(-lo)) / 2)


@pytest.mark.parametrize("lam, n, d", [([5.0, 2.0, 1.0], 1000, 1e307), ([1e307, 1e307], 1000, None),
                                       ([5.0, 2.0, 1.0], 1000, 1e5), ([3.0] * 4, 1e300, None)])
def test_spectral_collapse_near_the_limits_matches_mpmath(lam, n, d):
    got = regimes.collapse_time_spectral(lam, n, d)
    want = _spectral_oracle(lam, n, len(lam) if d is None else d)
    assert got == pytest.approx(want, rel=1e-9)


# ------------------------------------------------------------------------------- T16 / SN1


def test_half_log1p_ratio_and_log_expm1_validate():
    refused(lambda: C.half_log1p_ratio(None, 0.3), "variance must be real numbers", "None")
    refused(lambda: C.half_log1p_ratio(-1.0, 0.3), "variance must be > 0", "-1.0")
    refused(lambda: C.half_log1p_ratio(1.0, -0.1), "x must be >= 0", "-0.1")
    refused(lambda: C.half_log1p_ratio(1.0, "a"), "x must be real numbers", "'a'")
    refused(lambda: C.half_log1p_ratio([1.0, 2.0], [1.0, 2.0, 3.0]), "variance and x must broadcast")
    refused(lambda: C.log_expm1(-1.0), "x must be >= 0", "-1.0")
    refused(lambda: C.log_expm1("abc"), "x must be real numbers", "'abc'")
    refused(lambda: C.log_expm1(float("nan")), "x must be a number (not NaN)")


def test_half_log1p_ratio_and_log_expm1_values_match_mpmath():
    with mp.workdps(40):
        for var, x in ((2.0, 0.3), (1e-300, 1e-300), (1e300, 400.0)):
            want = float(mp.log1p(mp.mpf(var) / mp.expm1(2 * mp.mpf(x))) / 2)
            assert C.half_log1p_ratio(var, x) == pytest.approx(want, rel=1e-12)
        for x in (1e-300, 0.5, 50.0, 800.0):
            assert C.log_expm1(x) == pytest.approx(float(mp.log(mp.expm1(mp.mpf(x)))), rel=1e-14)
    assert C.half_log1p_ratio(1.0, 0) == math.inf and C.half_log1p_ratio(1.0, math.inf) == 0.0
    assert C.log_expm1(0) == -math.inf and C.log_expm1(math.inf) == math.inf


# ----------------------------------------------------------------------------------------- T13


@pytest.mark.parametrize("call, parts", [
    (lambda: N.noise_edge(1.0, 1000, 10**400), ("d must be >= 1 and <= 9007199254740992", "401 digits")),
    (lambda: N.noise_edge(1.0, 10**400, 10), ("n must be >= 2 and <= 9007199254740992",)),
    (lambda: N.isotropic_rank_fraction(10**400, 10), ("n must be",)),
    (lambda: N.isotropic_top_to_mean(1000, 0), ("d must be >= 1", "got 0")),
    (lambda: N.debiased_spike("abc", 1.0, 1000, 10), ("lam must be a real number", "'abc'")),
    (lambda: N.debiased_spike("1", 1.0, 1000, 10), ("lam must be a real number", "1")),
    (lambda: N.debiased_spike(math.inf, 1.0, 1000, 10), ("lam must be finite", "inf")),
    (lambda: N.debiased_spike(3.0, float("nan"), 1000, 10), ("sigma2 must be finite", "nan")),
    (lambda: N.tracy_widom_scale(-1, 1000, 10), ("sigma2 must be > 0", "-1")),
    (lambda: N.tracy_widom_scale(float("nan"), 1000, 10), ("sigma2 must be finite", "nan")),
    (lambda: N.spiked_eigenvalue(3.0, "x", 1000, 10), ("sigma2 must be a real number", "'x'")),
    (lambda: N.noise_level(None, 1000, 6), ("spectrum must be real numbers", "None")),
    (lambda: N.noise_level([], 1000, 6), ("spectrum must have at least 1 entries", "0")),
    (lambda: N.noise_level(EIG.reshape(2, 3), 1000, 6), ("spectrum must be a 1-D array", "(2, 3)")),
    (lambda: N.noise_floor(5.0, 1000, 6, spectrum="abc"), ("spectrum must be real numbers", "'abc'")),
    (lambda: N.noise_floor(float("nan"), 1000, 6, spectrum=EIG), ("top must be finite", "nan")),
    (lambda: N.noise_floor(-1.0, 1000, 6, spectrum=EIG), ("top must be >= 0", "-1.0")),
    (lambda: N.noise_floor(5.0, 1000, 6, total_variance=float("nan")), ("total_variance must be finite", "nan")),
    (lambda: N.sample_spectrum_bias(1000, 10, 1e308), ("sigma2=1e+308", "[1e-100, 1e100]")),
])
def test_noise_helpers_validate_on_entry(call, parts):
    refused(call, *parts)


def test_noise_helpers_against_sampled_wishart_matrices():
    """Oracle: top eigenvalues of sample covariances of pure Gaussian noise (seeded draws). Their
    mean sits at the Tracy–Widom centre μ + s·E[TW₁] (E[TW₁] = −1.2065, sd 1.2680, published values
    of the GOE Tracy–Widom law), below the edge σ²(1 + √γ)² only by O(n^{-2/3}); the BBP map is
    checked on a planted spike."""
    rng = np.random.default_rng(12)
    n, d, s2, reps = 400, 100, 1.7, 300
    tops = np.empty(reps)
    for r in range(reps):
        X = rng.normal(scale=math.sqrt(s2), size=(n, d))
        tops[r] = np.linalg.eigvalsh(np.cov(X.T))[-1]
    mu, s = N.tracy_widom_scale(s2, n, d)
    se = tops.std(ddof=1) / math.sqrt(reps)
    assert abs(tops.mean() - (mu - 1.2065 * s)) < 4 * se + 0.15 * s  # (finite-n corrections of TW₁)
    assert tops.std(ddof=1) / s == pytest.approx(1.2680, rel=0.2)
    assert N.noise_edge(s2, n, d) == pytest.approx(mu, rel=1e-12)  # the same edge, two routes
    ell, n2, d2 = 12.0, 4000, 200  # planted spike ℓ (in σ² = 1 units): the debiased spike recovers it
    Z = rng.normal(size=(n2, d2))
    Z[:, 0] *= math.sqrt(ell)
    lam = np.linalg.eigvalsh(np.cov(Z.T))[-1]
    assert N.debiased_spike(lam, 1.0, n2, d2) == pytest.approx(ell, rel=0.08)  # sampling error ~ √(2/n)ℓ
    assert math.isnan(N.debiased_spike(math.nan, s2, n, d))  # a missing value stays missing (analysis' CI ends)
    assert math.isnan(N.debiased_spike(0.0, s2, n, d))  # below the edge: no spike, as documented


def test_diagnose_validates_on_entry():
    tc = {"commitment": Estimate(0.3, 0.01, (0.28, 0.32)), "entropy": Estimate(0.31, 0.01, (0.29, 0.33))}
    kw = dict(d=6, n=60, total_variance=8.8)
    refused(lambda: D.diagnose(tc, [], **kw), "eigenvalues must have at least 1 entries")
    refused(lambda: D.diagnose(tc, "abc", **kw), "eigenvalues must be real numbers", "'abc'")
    refused(lambda: D.diagnose(tc, EIG, d=0, n=60, total_variance=8.8), "d must be >= 1", "got 0")
    refused(lambda: D.diagnose(tc, EIG, d=6, n=1.5, total_variance=8.8), "n must be an integer", "1.5")
    refused(lambda: D.diagnose("bogus", EIG, **kw), "t_C must be a mapping", "str")
    refused(lambda: D.diagnose({"x": 0.3}, EIG, **kw), "t_C['x'] must be an Estimate", "float")
    refused(lambda: D.diagnose(tc, EIG, d=6, n=60, total_variance=float("nan")), "total_variance must be finite")
    refused(lambda: D.diagnose(tc, EIG, d=6, n=60, total_variance=0.0), "total_variance must be > 0")
    refused(lambda: D.diagnose(tc, EIG, **kw, within_variance=math.inf), "within_variance must be finite", "inf")
    diag = D.diagnose(tc, EIG, **kw)
    lam = np.sort(EIG)[::-1]  # PR = (Σλ)²/Σλ² with the remainder of the trace spread over d − k = 0 directions
    assert diag.participation_ratio == pytest.approx(lam.sum() ** 2 / (lam**2).sum(), rel=1e-14)
    assert diag.top_to_mean_eigenvalue == pytest.approx(5.0 / (8.8 / 6), rel=1e-14)


def test_diagnostics_helpers_refuse_non_estimates_and_odd_flags():
    refused(lambda: D.comparison_span("x"), "e must be an Estimate", "str")
    refused(lambda: D.intervals_disagree(Estimate(1.0), 3), "b must be an Estimate", "int")
    refused(lambda: D.agreement_text("no", 0, 1.0), "agree must be True or False", "'no'")
    refused(lambda: D.agreement_text(True, "x", 1.0), "unjudged must be an integer", "'x'")
    refused(lambda: D.agreement_text(True, 0, -2.0), "spread must be >= 0", "-2.0")
    refused(lambda: D.recommendation("yes"), "commitment_measured must be True or False", "'yes'")
    assert "spread nan×" in D.agreement_text(True, 0, math.nan)  # an undefined spread (min estimate <= 0)


def test_estimate_constructor_and_replace():
    refused(lambda: Estimate("abc"), "value must be a real number", "'abc'")
    refused(lambda: Estimate(None), "value must be a real number", "None")
    refused(lambda: Estimate(1.0, se=True), "se must be a real number", "True")
    refused(lambda: Estimate(1.0, ci=5), "ci must be a (low, high) pair", "5")
    refused(lambda: Estimate(1.0, ci=("a", 2)), "ci[0] must be a real number", "'a'")
    refused(lambda: Estimate(1.0, notes="one note"), "notes must be a tuple of strings", "'one note'")
    refused(lambda: Estimate(1.0, definition=3), "definition must be a string or None", "3")
    refused(lambda: Estimate(1.0, details=[1]), "details must be a mapping", "list")
    refused(lambda: Estimate(1.0).replace(bogus=1), "Estimate.replace", "'bogus'", "allowed: value, se, ci")
    e = Estimate(np.float32(0.5), ci=np.array([0.25, 0.75]), notes=(n for n in ["a"]))
    assert (e.value, e.ci, e.notes) == (0.5, (0.25, 0.75), ("a",))
    assert math.isnan(Estimate(math.nan).value)  # "no estimate" stays allowed


# ----------------------------------------------------------------------------------------- T14


@pytest.mark.parametrize("bad, parts", [
    (np.array([]), ("alpha_bars must have at least 1 entries",)),
    (None, ("alpha_bars must be real numbers", "None")),
    (np.array([0.9, np.nan, 0.1]), ("alpha_bars must be finite", "nan")),
    (np.array([0.1, 0.5, 0.9]), ("alpha_bars must be non-increasing", "alpha_bars[0] = 0.1")),
    (np.array([0.9, 0.0, 0.0]), ("alpha_bars must be > 0 except the last", "alpha_bars[1] = 0.0")),
    (np.array([1.5, 0.5]), ("alpha_bars must be >= 0 and <= 1", "1.5")),
    (np.ones((2, 2)), ("alpha_bars must be a 1-D array",)),
])
def test_betas_from_alpha_bars_validates(bad, parts):
    refused(lambda: S.betas_from_alpha_bars(bad), *parts)


def test_betas_from_alpha_bars_inverts_the_product():
    betas = [1e-4, 0.02, 0.3, 0.999]
    with mp.workdps(40):
        ab, acc = [], mp.mpf(1)
        for b in betas:
            acc *= 1 - mp.mpf(b)
            ab.append(float(acc))
    got = S.betas_from_alpha_bars(ab)
    np.testing.assert_allclose(got, betas, rtol=1e-11)
    assert S.betas_from_alpha_bars([0.5, 0.0]).tolist() == [0.5, 1.0]  # zero terminal SNR: β = 1


def test_rescale_zero_terminal_snr_refuses_degenerate_betas_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refused(lambda: F.rescale_zero_terminal_snr([1e-320, 1e-320]), "betas are too small to rescale",
                "1e-320")


# ----------------------------------------------------------------------------------------- T15


def test_sampler_offset_is_bounded_and_config_type_checked():
    lin = regimes.get_schedule("linear")
    refused(lambda: F.sampler_timesteps(lin, 50, offset=1e308), "offset must be >= 0 and <= 10000000", "1.000e+308")
    refused(lambda: F.sampler_levels(lin, 50, offset=-1), "offset must be >= 0", "-1")
    refused(lambda: F.schedule_from_diffusers_config(None), "config must be a path", "None")
    refused(lambda: F.load_schedule(scheduler_config=5), "scheduler_config must be a path", "5")
    refused(lambda: F.schedule_from_diffusers_config({"steps_offset": 10**30}),
            "steps_offset must be >= 0 and <= 10000000")


def test_unknown_diffusers_class_is_noted_known_classes_unchanged():
    unknown = F.schedule_from_diffusers_config({"_class_name": "Bogus", "timestep_spacing": "trailing"})
    note = F.SamplerSteps(unknown, 10).spacing_note
    assert "_class_name 'Bogus' is not a class whose rules are known here" in note
    known = F.schedule_from_diffusers_config({"_class_name": "DDIMScheduler", "timestep_spacing": "trailing"})
    assert F.SamplerSteps(known, 10).spacing_note is None


# ------------------------------------------------------------------------------ BM1 / AW8


@pytest.mark.parametrize("bad", [5, None, float("nan"), {}])
def test_a_number_as_schedule_names_schedule_not_betas(bad):
    for call in (lambda: regimes.get_schedule(bad), lambda: regimes.step_at_time(bad, 0.3),
                 lambda: regimes.time_at_step(bad, 3), lambda: F.SamplerSteps(bad, 10),
                 lambda: F.sampler_timesteps(bad, 10), lambda: eigenvalue_for_step(3, bad)):
        msg = refused(call, "schedule must be a name (linear, cosine", "a DiscreteSchedule or an array of betas")
        assert "betas must" not in msg
    for call in (lambda: S.get_sampler(bad), lambda: TL.locate_regimes(1.0, 0.1, bad),
                 lambda: regimes.schedule_steps(1.0, 0.1, bad)):
        refused(call, "schedule must be a name (", "edm)", "an EDMSampler or an array of betas")
    if bad is not None:  # load_schedule(None) is the default schedule (linear)
        refused(lambda: F.load_schedule(bad), "schedule must be a name (", "edm)")


def test_inner_names_do_not_leak():
    refused(lambda: TL.locate_regimes(1.0, 0.1, sampler_steps=float("nan")), "sampler_steps must be an integer", "nan")
    refused(lambda: TL.regime_steps(1.0, 0.1, sampler_steps=5000), "sampler_steps must be >= 1 and <= 1000", "5000")
    # "step must be" is what the CLI turns into -k/--step; the library's parameter is k
    refused(lambda: regimes.time_at_step("linear", float("nan")), "step must be finite, got nan (step index k)")
    refused(lambda: regimes.time_at_step("linear", 1000), "step must be an integer in [0, 999]",
            "got 1000 (step index k)")
    refused(lambda: regimes.time_at_step("linear", 2.5), "step must be an integer, got 2.5 (step index k)")
    refused(lambda: regimes.time_at_step("linear", None), "step must be real numbers, got None (step index k)")
    refused(lambda: eigenvalue_for_step(1000), "step must be >= 0 and <= 999", "1000")
    refused(lambda: S.time_from_alpha_bar(None), "ab: alpha_bar must be real numbers", "None")
    refused(lambda: S.time_from_alpha_bar(2.0), "ab: alpha_bar must be >= 0 and <= 1", "2.0")
    refused(lambda: S.time_from_logsnr(float("nan")), "lam: logsnr must be a number (not NaN)", "nan")
    refused(lambda: M.example_mixture(per_class=1e308), "per_class must be >= 1 and <= 33554432", "1.000e+308")
    refused(lambda: S.EDMSampler(sigma_min=1e308), "sigma_min must be < sigma_max = 80", "1e+308")
    refused(lambda: S.edm_sampler_sigmas(sigma_min=1e308), "sigma_min must be < sigma_max = 80", "1e+308")
    refused(lambda: S.EDMSampler(sigma_max=0.001), "sigma_max must be > 0.002, got 0.001")


def test_schedule_names_and_degenerate_betas():
    refused(lambda: S.DiscreteSchedule(None, [0.1, 0.2]), "name must be a string", "None")
    refused(lambda: S.DiscreteSchedule(float("nan"), [0.1, 0.2]), "name must be a string", "nan")
    refused(lambda: regimes.get_schedule(np.array([1e-320, 1e-320])), "betas must be >= 2.225e-308",
            "betas[0] = 1e-320")


def test_logsnr_at_huge_t_is_minus_inf_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert S.logsnr(1e308) == -math.inf


# ----------------------------------------------------------------------------------------- T17


def test_internal_object_helpers_say_what_they_need():
    refused(lambda: TL.steps_text("x"), "regime must be one entry of regime_steps", "str")
    refused(lambda: TL.locate_sampler_steps(1.0, 0.1, "x"), "inference must be a SamplerSteps", "str")


# -------------------------------------------------------------------------- T3 / SN5 / AW3


def test_model_sample_sizes_are_bounded_and_memory_checked():
    refused(lambda: regimes.GaussianMixture(10**12, 10**9).sample(0), "n must be >= 2 and <= 67108864",
            "1000000000000")
    refused(lambda: regimes.GaussianMixture(2, 10**15).sample(0), "d=1000000000000000 needs about",
            "use a smaller d")
    refused(lambda: M.example_mixture(d=1e308, per_class=5), "d=1.000e+308", "more than the available memory")
    refused(lambda: M.example_mixture(seed=-1, d=4, per_class=5), "seed must be a non-negative integer", "-1")


def test_sample_values_that_overflow_float32_are_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refused(lambda: M.example_mixture(d=4, per_class=5, variance=1e308), "variance must be <=", "1e+308")
        refused(lambda: regimes.GaussianMixture(4, 2, separation=1e39).sample(0), "separation must be <=", "1e+39")
    # the largest accepted ones stay finite in float32
    X, _ = regimes.GaussianMixture(200, 4, separation=1.7e38, variance=1.0).sample(0)
    assert np.all(np.isfinite(X))
    X, _ = regimes.GaussianMixture(200, 4, variance=2.8e74).sample(0)
    assert np.all(np.isfinite(X))


def test_gaussian_data_cloning_probability_validates_t():
    g = regimes.GaussianData(1000, 10)
    refused(lambda: g.cloning_probability("abc"), "t must be real numbers", "'abc'")
    refused(lambda: g.cloning_probability(float("nan")), "t must be finite", "nan")
    refused(lambda: g.cloning_probability(-1), "t must be >= 0", "-1")
    assert g.cloning_probability(0.3) == 1.0 and g.cloning_probability([0.1, 2.0]).tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------------- T18 / AW4


@pytest.mark.parametrize("obj, allowed", [
    (regimes.GaussianData(1000, 10), "allowed: n, d, variance"),
    (regimes.GaussianMixture(1000, 10), "allowed: n, d, separation, variance"),
    (S.EDMSampler(), "allowed: steps, sigma_min, sigma_max, rho"),
    (F.DiffusersClass("ddim"), "allowed: family, spacing"),
    (F.DiffusersSampler(), "allowed: class_name, family"),
])
def test_replace_with_an_unknown_field_lists_the_allowed_ones(obj, allowed):
    refused(lambda: obj.replace(bogus=1), f"{type(obj).__name__}.replace", "'bogus'", allowed)
    assert obj.replace() == obj


def test_flags_of_the_diffusers_rules_are_booleans():
    refused(lambda: F.DiffusersClass("ddim", zero_snr="no"), "zero_snr must be True or False", "'no'")
    refused(lambda: F.DiffusersSampler(karras=1), "karras must be True or False", "1")


def test_overflowing_results_are_refused_not_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refused(lambda: N.tracy_widom_scale(1e308, 1000, 10), "sigma2=1e+308", "overflows float64")
        refused(lambda: N.noise_edge(1e308, 1000, 1000), "sigma2=1e+308", "overflows float64")
        refused(lambda: N.debiased_spike(1e200, 1.0, 1000, 10), "lam=1e+200", "overflows float64")
        refused(lambda: D.diagnose({"a": Estimate(1.0)}, [5.0, 2.0], d=6, n=60, total_variance=1e-320),
                "total_variance=", "too small for the eigenvalues")
        refused(lambda: D.agreement_text(True, 0, 10**400), "spread must be a real number", "401 digits")


def test_an_array_schedule_names_schedule():
    refused(lambda: regimes.get_schedule([0.1, 1.5]), "schedule (an array of betas): betas must be > 0 and <= 1", "1.5")
    refused(lambda: S.get_sampler(["x"]), "schedule (an array of betas): betas must be real numbers", "['x']")


def test_sampler_offset_beyond_the_last_step_keeps_its_exact_bound():
    # the up-front check only keeps the integer sane; the bound that depends on N and the spacing
    # comes with its reason (50 leading steps: offset <= 19)
    lin = regimes.get_schedule("linear")
    refused(lambda: F.sampler_levels(lin, 50, "leading", offset=1000), "offset 1000", "allowed 0 <= offset <= 19")


def test_debiased_spike_below_the_edge_is_nan_as_documented():
    # a negative λ lies below the noise edge σ²(1 + √γ)²: NaN (no spike), not an error
    assert math.isnan(N.debiased_spike(-1.0, 1.0, 1000, 10))
    assert math.isnan(N.debiased_spike(0.5, 1.0, 1000, 10))  # below the edge (1 + √0.01)² = 1.21
