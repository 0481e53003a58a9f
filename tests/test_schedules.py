"""Schedules, time maps and the EDM sampler against mpmath at 50 digits and the reference numbers
of docs/conventions.md."""

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from regimes import RegimesError
from regimes import schedules as S


@mp.workdps(50)
def mp_times_from_betas(betas):
    """Independent oracle: t_k = -½ ln Π_{i≤k}(1 - β_i) with 50-digit products."""
    prod = mp.mpf(1)
    out = []
    for b in betas:
        prod *= 1 - b
        out.append(float(-mp.log(prod) / 2))
    return np.array(out)


def test_linear_reference_values_spec():
    # docs/conventions.md: DDPM linear, T = 1000: t_0 = 5.0003e-5, t_100 = 0.055387, t_500 = 1.276828, t_999 = 5.058857
    # (quoted rounded: compare at the quoted number of significant digits)
    sch = S.get_schedule("linear", 1000)
    for k, quoted in [(0, "5.0003e-5"), (100, "0.055387"), (500, "1.276828"), (999, "5.058857")]:
        digits = len(quoted.split("e")[0].replace(".", "").lstrip("0"))
        assert f"{sch.times[k]:.{digits - 1}e}" == f"{float(quoted):.{digits - 1}e}"


@pytest.mark.parametrize("T", [25, 250, 1000, 4000])
@mp.workdps(50)
def test_linear_against_mpmath(T):
    lo, hi = mp.mpf("1e-4") * 1000 / T, mp.mpf("2e-2") * 1000 / T
    betas = [lo + (hi - lo) * i / (T - 1) for i in range(T)]
    assert_allclose(S.get_schedule("linear", T).times, mp_times_from_betas(betas), rtol=1e-13)


@pytest.mark.parametrize("T", [10, 1000])
@mp.workdps(50)
def test_cosine_against_mpmath(T):
    f = lambda u: mp.cos((u + mp.mpf("0.008")) / mp.mpf("1.008") * mp.pi / 2) ** 2  # noqa: E731
    betas = [min(1 - f(mp.mpf(k) / T) / f(mp.mpf(k - 1) / T), mp.mpf("0.999")) for k in range(1, T + 1)]
    assert_allclose(S.get_schedule("cosine", T).times, mp_times_from_betas(betas), rtol=1e-11)
    if T == 1000:
        # docs/conventions.md: the cosine schedule ends near t ≈ 9.9 (clip at 0.999)
        assert 9.85 < S.get_schedule("cosine", T).t_max < 9.95


@mp.workdps(50)
def test_scaled_linear_against_mpmath():
    T = 1000
    a, b = mp.sqrt(mp.mpf("0.00085")), mp.sqrt(mp.mpf("0.012"))
    betas = [(a + (b - a) * i / (T - 1)) ** 2 for i in range(T)]
    sch = S.get_schedule("scaled-linear", T)
    assert_allclose(sch.times, mp_times_from_betas(betas), rtol=1e-13)
    # docs/conventions.md: scaled-linear ends at t ≈ 2.68
    assert abs(sch.t_max - 2.68) < 0.01


def test_custom_betas_and_names():
    betas = np.full(50, 0.02)
    sch = S.get_schedule(betas)
    assert sch.name == "custom" and sch.steps == 50
    assert_allclose(sch.times, -0.5 * np.arange(1, 51) * float(mp.log(1 - mp.mpf("0.02"))), rtol=1e-13)
    assert S.get_schedule("Scaled_Linear", 10).name == "scaled-linear"


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-12, max_value=300.0))
@mp.workdps(50)
def test_time_maps_against_mpmath(t):
    mt = mp.mpf(t)
    assert_allclose(S.delta(t), float(1 - mp.exp(-2 * mt)), rtol=1e-14)
    assert_allclose(S.alpha_bar(t), float(mp.exp(-2 * mt)), rtol=1e-13)
    assert_allclose(S.edm_sigma(t), float(mp.sqrt(mp.exp(2 * mt) - 1)), rtol=1e-13)
    assert_allclose(S.logsnr(t), float(-mp.log(mp.exp(2 * mt) - 1)), rtol=1e-13, atol=1e-13)
    sig = mp.sqrt(mp.exp(2 * mt) - 1)
    assert_allclose(S.flow_tau(t), float(sig / (1 + sig)), rtol=1e-14)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-10, max_value=200.0))
def test_round_trips(t):
    assert_allclose(S.time_from_edm_sigma(S.edm_sigma(t)), t, rtol=1e-13)
    assert_allclose(S.time_from_logsnr(S.logsnr(t)), t, rtol=1e-12)
    # ᾱ ≈ 1 - 2t loses t's low digits: absolute error ~ eps/2
    assert_allclose(S.time_from_alpha_bar(S.alpha_bar(t)), t, rtol=1e-13, atol=2e-16)
    if t < 15:  # τ = σ/(1+σ) rounds to 1 in double precision beyond that
        assert_allclose(S.time_from_flow_tau(S.flow_tau(t)), t, rtol=1e-8)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0.0, max_value=1.0), st.floats(0.0, 1.0), st.floats(1.0, 40.0))
@mp.workdps(50)
def test_vp_sde_against_quadrature(s, bmin, bmax):
    # oracle: t(s) = ½ ∫_0^s β(u) du by mpmath quadrature
    beta = lambda u: bmin + u * (bmax - bmin)  # noqa: E731
    t_ref = float(mp.quad(beta, [0, s]) / 2)
    assert_allclose(S.time_from_vp_sde(s, bmin, bmax), t_ref, rtol=1e-13, atol=1e-300)
    assert_allclose(S.vp_sde_from_time(t_ref, bmin, bmax), s, rtol=1e-11, atol=1e-14)


def test_stable_extremes():
    # Δ_t ≈ 2t at tiny t with full relative precision, exactly 1 at large t
    assert_allclose(S.delta(1e-300), 2e-300, rtol=1e-15)
    assert S.delta(50.0) == 1.0
    assert_allclose(S.logsnr(500.0), -1000.0, rtol=1e-15)  # no overflow of e^{2t}
    assert_allclose(S.time_from_logsnr(-2000.0), 1000.0, rtol=1e-15)  # no overflow of e^{-λ}
    assert_allclose(S.time_from_edm_sigma(1e200), np.log(1e200), rtol=1e-15)


def test_saturated_endpoints_map_to_infinity_and_zero():
    # t = +inf <-> ᾱ = 0, σ = +inf, λ = -inf, τ = 1, Δ = 1; t = 0 <-> ᾱ = 1, σ = 0, λ = +inf, τ = 0
    inf = np.inf
    assert (S.delta(inf), S.alpha_bar(inf), S.edm_sigma(inf), S.logsnr(inf), S.flow_tau(inf)) == (
        1.0, 0.0, inf, -inf, 1.0)
    assert (S.delta(0.0), S.alpha_bar(0.0), S.edm_sigma(0.0), S.logsnr(0.0), S.flow_tau(0.0)) == (
        0.0, 1.0, 0.0, inf, 0.0)
    assert S.time_from_alpha_bar(0.0) == inf and S.time_from_flow_tau(1.0) == inf
    assert S.time_from_edm_sigma(inf) == inf and S.time_from_logsnr(-inf) == inf
    for t0 in (S.time_from_alpha_bar(1.0), S.time_from_flow_tau(0.0), S.time_from_edm_sigma(0.0),
               S.time_from_logsnr(inf)):
        assert t0 == 0.0 and np.copysign(1.0, t0) == 1.0  # +0, not -0
    # vectorised, mixed with ordinary values, and no RuntimeWarning (they are errors in this suite)
    assert_allclose(S.time_from_alpha_bar([0.0, np.exp(-2.0), 1.0]), [inf, 1.0, 0.0], rtol=1e-15)
    assert_allclose(S.logsnr([0.0, 0.5, inf]), [inf, -np.log(np.expm1(1.0)), -inf], rtol=1e-15)


@pytest.mark.parametrize("t", [0.0, 1e-300, 1e-12, 1.0, 20.0, 36.0, 40.0, 300.0, 400.0, 800.0, np.inf])
@mp.workdps(50)
def test_round_trips_at_extremes(t):
    # forward values against mpmath (50 digits); inverses either recover t or, where the forward
    # value saturated in float64 (ᾱ -> 0, τ -> 1, σ -> inf), return +inf instead of failing
    mt = mp.mpf(t) if np.isfinite(t) else mp.inf
    ab, sig, lam, tau = S.alpha_bar(t), S.edm_sigma(t), S.logsnr(t), S.flow_tau(t)
    if np.isfinite(t):
        assert_allclose(ab, float(mp.exp(-2 * mt)), rtol=1e-13, atol=0)
        if t > 0:
            assert_allclose(lam, float(-mp.log(mp.expm1(2 * mt))), rtol=1e-14)
    for back, fwd, lost in [(S.time_from_alpha_bar(ab), ab, ab == 0.0),
                            (S.time_from_edm_sigma(sig), sig, np.isinf(sig)),
                            (S.time_from_logsnr(lam), lam, False),
                            (S.time_from_flow_tau(tau), tau, tau == 1.0)]:
        if lost or np.isinf(t):
            assert back == np.inf, (t, fwd, back)
        elif fwd is tau and t > 15:
            # 1 − τ ≈ e^{−t} carries an absolute rounding error ~eps/2: t is known to ~1.1e-16 e^t
            # (5e-8 at t = 20; at t = 36, 1 − τ is a few ulps and only ~1 digit survives)
            assert_allclose(back, t, rtol=0, atol=1.2e-16 * np.exp(t))
        else:
            # ᾱ ≈ 1 − 2t near t = 0 loses t's low digits: absolute error ~ eps/2
            assert_allclose(back, t, rtol=2e-13, atol=2e-16 if fwd is ab else 0)
    assert S.flow_tau(40.0) == 1.0 and S.alpha_bar(400.0) == 0.0  # the saturations exercised


@pytest.mark.parametrize("name", ["linear", "cosine", "scaled-linear"])
def test_step_at_time_definition(name):
    sch = S.get_schedule(name, 300)
    rng = np.random.default_rng(0)
    ts = np.concatenate([rng.uniform(0, sch.t_max, 200), sch.times[[0, 5, 299]]])
    ks = S.step_at_time(sch, ts)
    for t, k in zip(ts, ks, strict=True):
        # brute force: first index with t_k >= t, equivalently alpha_bar_k <= exp(-2t)
        assert k == next(i for i in range(sch.steps) if sch.times[i] >= t)
        assert sch.alpha_bars[k] <= np.exp(-2 * t) * (1 + 1e-12)
    # round trip step -> time -> step
    for k in [0, 1, 150, 299]:
        assert S.step_at_time(sch, S.time_at_step(sch, k)) == k


def test_step_beyond_schedule():
    with pytest.raises(RegimesError, match="before the sampler's first step"):
        S.step_at_time("scaled-linear", 2.7)
    assert S.step_at_time("scaled-linear", 2.7, beyond="none") is None
    assert S.step_at_time("scaled-linear", [0.1, 2.7], beyond="none")[1] == -1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: S.get_schedule("quadratic"), "schedule must be one of"),
        (lambda: S.get_schedule("linear", 1), "steps must be >= 2"),
        (lambda: S.get_schedule([0.1, 1.5]), "betas must be > 0 and <= 1"),  # β = 1 last: zero terminal SNR
        (lambda: S.get_schedule([1.0, 0.1, 0.2]), "betas must be < 1 except the last"),
        (lambda: S.get_schedule("linear", 20), "steps must be >= 21"),
        (lambda: S.get_schedule([0.1, np.nan]), "betas must be finite"),
        (lambda: S.time_at_step("linear", 1000), r"step must be an integer in \[0, 999\]"),
        (lambda: S.time_at_step("linear", 2.5), "step must be an integer"),
        (lambda: S.delta(-1.0), "t must be >= 0"),
        (lambda: S.time_from_alpha_bar(-1e-300), "alpha_bar must be >= 0 and <= 1"),
        (lambda: S.time_from_alpha_bar(1.0 + 1e-15), "alpha_bar must be >= 0 and <= 1"),
        (lambda: S.time_from_flow_tau(1.0 + 1e-15), "tau must be >= 0 and <= 1"),
        (lambda: S.time_from_flow_tau(np.inf), "tau must be finite"),
        (lambda: S.delta(np.nan), r"t must be a number \(not NaN\)"),
        (lambda: S.delta(-np.inf), "t must be >= 0"),
        (lambda: S.time_from_logsnr([0.0, np.nan]), "logsnr must be a number"),
        (lambda: S.time_from_edm_sigma(-np.inf), "sigma must be >= 0"),
        (lambda: S.logsnr(-1e-300), "t must be >= 0"),
        (lambda: S.vp_sde_from_time(20.0), "t must be <="),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(RegimesError, match=match):
        call()


# ---------------------------------------------------------------------- the EDM sampler
def test_edm_sampler_sigmas():
    s = S.edm_sampler_sigmas(18)
    assert_allclose([s[0], s[-1]], [80.0, 0.002], rtol=1e-13)
    assert_allclose(
        np.diff(s ** (1 / 7)), np.full(17, (0.002 ** (1 / 7) - 80 ** (1 / 7)) / 17), rtol=1e-12
    )


@mp.workdps(50)
def mp_karras(N, smin, smax, rho):
    """Independent oracle (Karras et al., arXiv 2206.00364): σ_i = (σ_max^{1/ρ} + i/(N−1)
    (σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ and the OU time t_i = ½ ln(1 + σ_i²), at 50 digits."""
    smin, smax, rho = mp.mpf(smin), mp.mpf(smax), mp.mpf(rho)
    sig = [(smax ** (1 / rho) + mp.mpf(i) / (N - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
           for i in range(N)]
    return sig, [mp.log1p(x**2) / 2 for x in sig]


@pytest.mark.parametrize("N, smin, smax, rho", [(18, 0.002, 80.0, 7.0), (5, 0.01, 50.0, 3.0),
                                                (2, 0.1, 1.0, 1.0), (64, 0.002, 160.0, 7.0)])
def test_edm_sampler_step_at_time_against_hand_computed_grid(N, smin, smax, rho):
    e = S.EDMSampler(steps=N, sigma_min=smin, sigma_max=smax, rho=rho)
    sig, t = mp_karras(N, smin, smax, rho)
    assert_allclose(e.sigmas, [float(x) for x in sig], rtol=1e-13)
    assert_allclose(e.times, [float(x) for x in t], rtol=1e-13)
    assert e.t_max == pytest.approx(float(t[0]), rel=1e-14) and e.steps == N and e.name == "edm"
    # index 0 is the noisiest level (the first sampling step), N−1 the cleanest; between two
    # levels t_{i+1} < t < t_i the answer is i: step i (from σ_i to σ_{i+1}) crosses t; below
    # σ_min the last step N−1 (from σ_min to σ = 0) does
    queries, expect = [], []
    for i in range(N - 1):
        queries.append(float((t[i] + t[i + 1]) / 2))
        expect.append(i)
    queries += [float(t[0]) * 1.01, 50.0, float(t[-1]) / 2, 0.0]  # beyond σ_max; below σ_min
    expect += [None, None, N - 1, N - 1]
    assert [e.step_at_time(q) for q in queries] == expect
    arr = e.step_at_time(np.array(queries))
    assert arr.dtype == np.int64 and list(arr) == [-1 if x is None else x for x in expect]


def test_samplers_share_one_interface():
    for smp, first, last in ((S.get_schedule("cosine", 200), 199, 0), (S.EDMSampler(), 0, 17)):
        assert isinstance(smp.name, str) and isinstance(smp.steps, int)
        assert smp.times.shape == (smp.steps,) and not smp.times.flags.writeable
        assert smp.t_max == smp.times.max() == smp.times[first]  # the first sampling step
        assert smp.times.min() == smp.times[last]  # the cleanest step (t ≈ 0)
        assert isinstance(smp.step_convention, str)
        ts = np.sort(smp.times)
        mid = (ts[:-1] + ts[1:]) / 2
        for q, lo, hi in zip(mid, ts[:-1], ts[1:], strict=True):
            k = smp.step_at_time(float(q))
            assert smp.times[k] in (lo, hi)  # one of the two steps around t
        assert smp.step_at_time(smp.t_max + 1.0) is None  # before the first sampling step
        assert list(smp.step_at_time(np.array([smp.t_max + 1.0]))) == [-1]
        assert S.get_sampler(smp) is smp
    # the two count in opposite directions (docs/conventions.md)
    assert np.all(np.diff(S.get_schedule("cosine", 200).times) > 0)
    assert np.all(np.diff(S.EDMSampler().times) < 0)


def test_discrete_step_at_time_method_is_the_module_function():
    sch = S.get_schedule("linear")
    ts = np.array([0.0, 1e-6, 0.5, 1.276828, 5.0, 5.06, 7.0])
    assert list(sch.step_at_time(ts)) == list(S.step_at_time(sch, ts, beyond="none"))
    assert sch.step_at_time(1.0) == S.step_at_time("linear", 1.0) and sch.step_at_time(6.0) is None


def test_get_sampler():
    assert S.get_sampler("edm") == S.EDMSampler(18)
    assert S.get_sampler(" EDM ", 30).steps == 30
    assert S.get_sampler("scaled_linear").name == "scaled-linear"
    assert S.get_sampler("cosine").steps == 1000
    assert S.get_sampler([0.1, 0.2]).name == "custom"


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(steps=1), "steps must be >= 2, got 1"),
        (dict(steps=2.5), "steps must be an integer, got 2.5"),
        (dict(sigma_min=0.0), "sigma_min must be > 0, got 0"),
        (dict(sigma_max=0.001), "sigma_max must be > 0.002, got 0.001"),
        (dict(rho=-1), "rho must be > 0, got -1"),
        (dict(sigma_max=np.inf), "sigma_max must be finite"),
    ],
)
def test_edm_sampler_bad_input(kw, match):
    with pytest.raises(RegimesError, match=match):
        S.EDMSampler(**kw)


def test_edm_sampler_is_frozen():
    import dataclasses

    e = S.EDMSampler()
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.steps = 3
    with pytest.raises(ValueError):
        e.sigmas[0] = 1.0
    with pytest.raises(RegimesError, match="schedule must be one of .* or edm, got 'karras'"):
        S.get_sampler("karras")
