"""Review fixes in the inverse solvers, the collapse time at extreme arguments and regimes.symbolic.

Oracles: mpmath at 60 digits (closed forms evaluated as written, root finding), the forward
functions of the library fed with the returned values (brute-force round trips through
``collapse_time``, ``speciation_time`` and the schedules' step rule), the numeric
``regimes.rmt.RandomFeatures`` (Gaussian-equivalence constants by quadrature, not from the
symbolic expressions) and sympy simplification. Tolerances are stated at each comparison.
"""

from __future__ import annotations

import json
import math
import warnings
from decimal import ROUND_FLOOR, Decimal

import mpmath
import numpy as np
import pytest
import sympy as sp

from regimes import RegimesError, RegimesWarning
from regimes import collapse as C
from regimes import inverse as INV
from regimes import speciation as SP
from regimes.schedules import get_schedule, step_at_time

sym = pytest.importorskip("regimes.symbolic")

EPS = np.finfo(float).eps
TINY = 5e-324


def mp_half_log1p_ratio(var, x, dps=60):
    """½ ln(1 + σ²/(e^{2x} − 1)) in mpmath (the exact floats as inputs; log1p so that tiny
    ratios are not lost to the working precision, mpmath's exponent range is unbounded)."""
    with mpmath.workdps(dps):
        return mpmath.log1p(mpmath.mpf(var) / mpmath.expm1(2 * mpmath.mpf(x))) / 2


def close(got, ref, rel):
    """|got − ref| <= rel·|ref|, or within a few subnormal steps where ref is subnormal."""
    ref = mpmath.mpf(ref)
    return abs(mpmath.mpf(got) - ref) <= rel * abs(ref) + 4 * TINY


# ----------------------------------------------------------------------------------------------
# 1. symbolic τ_gen has Γ_t² (and the other random-features entries match the numeric code)


def mp_kappa1_tanh(t, sigma_x2):
    """κ₁ = E[tanh'(Γ_t z)], Γ_t² = e^{−2t}σ_x² + Δ_t, by mpmath quadrature (30 digits)."""
    with mpmath.workdps(30):
        g = mpmath.sqrt(mpmath.e ** (-2 * mpmath.mpf(t)) * sigma_x2 - mpmath.expm1(-2 * mpmath.mpf(t)))
        k1 = mpmath.quad(lambda z: mpmath.sech(g * z) ** 2 * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
        return float(k1), float(g**2)


@pytest.mark.parametrize("t", [0.1, 0.7])
@pytest.mark.parametrize("sigma_x2", [0.25, 4.0])
def test_tau_gen_symbolic_matches_random_features(t, sigma_x2):
    from regimes.rmt import RandomFeatures

    rf = RandomFeatures(1.0, 1.0, t, "tanh", sigma_x2)
    k1, g2 = mp_kappa1_tanh(t, sigma_x2)
    assert rf.constants.gamma_t2 == pytest.approx(g2, rel=1e-14)
    # numeric τ_gen uses a_t²e^{−2t}σ_x² + b_t² (= Γ_t²κ₁² by Stein): quadrature-level agreement
    assert sym.lambdify("tau_gen")(t, k1, sigma_x2) == pytest.approx(rf.tau_gen, rel=1e-8)
    ns: dict = {}
    exec(compile(sym.python("tau_gen"), "<tau_gen>", "exec"), ns)  # noqa: S102 - our own source
    assert ns["tau_gen"](t, k1, sigma_x2) == pytest.approx(rf.tau_gen, rel=1e-8)
    # the reviewer's case: the Σ = I form is off by exactly Γ_t²
    assert sym.lambdify("tau_gen")(t, k1) == pytest.approx(rf.tau_gen * g2, rel=1e-8)
    # the default variance = 1 is the Σ = I model
    assert sym.lambdify("tau_gen")(t, 0.6) == sym.lambdify("tau_gen")(t, 0.6, 1.0)


@pytest.mark.parametrize("sigma_x2", [0.25, 4.0])
def test_other_rf_entries_against_random_features_with_sigma_x2(sigma_x2):
    from regimes.rmt import RandomFeatures

    t, psi_p, psi_n = 0.3, 3.0, 1.5
    rf = RandomFeatures(psi_p, psi_n, t, "tanh", sigma_x2)
    c, lo = rf.constants, rf.leading_order
    assert rf.tau_mem == pytest.approx(sym.lambdify("tau_mem")(t, psi_n, c.v_t2), rel=1e-12)
    assert rf.tau(0.37) == pytest.approx(sym.lambdify("tau_lambda")(t, psi_p, 0.37), rel=1e-12)
    slow = (sym.lambdify("rf_memorisation_lower_edge")(c.s_t2, c.v_t2, psi_p, psi_n),
            sym.lambdify("rf_memorisation_upper_edge")(c.s_t2, c.v_t2, psi_p, psi_n))
    assert lo["slow"]["edges"] == pytest.approx(slow, rel=1e-12)
    # fast bulk: Σ = I form with Γ_t κ₁ passed for kappa1, as documented
    gk = math.sqrt(c.gamma_t2) * c.kappa1
    fast = (sym.lambdify("rf_generalisation_lower_edge")(c.mu_star2, gk, psi_p),
            sym.lambdify("rf_generalisation_upper_edge")(c.mu_star2, gk, psi_p))
    assert lo["fast"]["edges"] == pytest.approx(fast, rel=1e-8)
    assert lo["atom"]["mass"] == pytest.approx(float(sym.lambdify("rf_atom_mass")(psi_p, psi_n)), abs=1e-15)


def test_tau_gen_is_tau_lambda_at_the_fast_bulk_scale_psi_p_gamma2_kappa1_squared():
    t, pp, k, v = (sym.S[x] for x in ("t", "psi_p", "kappa1", "variance"))
    gamma2 = sp.exp(-2 * t) * v + 1 - sp.exp(-2 * t)
    tl = sym.formula("tau_lambda")
    assert sp.simplify(tl.subs(sym.S["lam"], pp * gamma2 * k**2) - sym.formula("tau_gen")) == 0
    assert sym.info("tau_gen")["arguments"] == ["t", "kappa1", "variance"]
    assert sym.info("tau_gen")["defaults"] == {"variance": 1.0}


# ----------------------------------------------------------------------------------------------
# 2. round trips through the forward functions, bit for bit


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_eigenvalue_for_every_step_round_trips(name):
    sch = get_schedule(name, 1000)
    prev = None
    for K in range(sch.steps):
        s = INV.eigenvalue_for_step(K, name, 1000)
        if not math.isfinite(s.eigenvalue):
            continue
        # the stated interval, fed back through speciation_time and the step rule
        assert step_at_time(sch, SP.speciation_time(s.eigenvalue)) == K
        above = step_at_time(sch, SP.speciation_time(np.nextafter(s.eigenvalue, np.inf)), beyond="none")
        assert above in (K + 1, None)
        if K:
            assert step_at_time(sch, SP.speciation_time(np.nextafter(s.eigenvalue_min, np.inf))) == K
            assert step_at_time(sch, SP.speciation_time(s.eigenvalue_min)) == K - 1
            assert s.eigenvalue_min == prev  # adjacent intervals tile
        prev = s.eigenvalue
        # oracle: e^{2 t_K} at 60 digits; the boundary float is within a few ulps of it
        with mpmath.workdps(60):
            ref = mpmath.exp(2 * mpmath.mpf(float(sch.times[K])))
        assert close(s.eigenvalue, ref, 16 * EPS)


def test_reviewer_eigenvalue_case_via_cli(run_cli):
    rc, out, err = run_cli("solve", "eigenvalue", "--step", "5", "-T", "1000", "--json")
    assert rc == 0, err
    lam = json.loads(out)["eigenvalue"]
    rc, out, err = run_cli("times", "--n", "1e9", "--d", "10", "-L", repr(lam), "--schedule", "linear",
                           "--steps", "1000", "--json")
    assert rc == 0, err
    assert json.loads(out)["step_S"] == 5


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_n_for_last_fraction_round_trips_on_many_q(name):
    sch = get_schedule(name, 1000)
    checked = 0
    for q in np.linspace(0.0005, 0.9995, 400):
        for d, var in ((1.0, 1.0), (10.0, 1.0), (64.0, 0.25), (10.0, 7.0)):
            sol = INV.n_for_last_fraction(q, d, name, 1000, var)
            assert sol.step == int((Decimal(repr(float(q))) * 1000).to_integral_value(rounding=ROUND_FLOOR))
            if sol.n is None or sol.n < 2:
                continue
            checked += 1
            tc = C.collapse_time(sol.n, d, var)
            assert tc <= float(sch.times[sol.step])
            assert step_at_time(sch, tc, beyond="none") <= sol.step
            # oracle: n = e^{d α} with α from mpmath at 60 digits; only a few ulps moved
            with mpmath.workdps(60):
                ref = mpmath.exp(mpmath.mpf(d) * mp_half_log1p_ratio(var, float(sch.times[sol.step])))
            assert close(sol.n, ref, 1e-13 * (1 + float(mpmath.log(ref))))
    assert checked > 500


def test_reviewer_last_fraction_case():
    sol = INV.n_for_last_fraction(0.0077, 10)
    sch = get_schedule("linear", 1000)
    assert sol.step == 7
    assert C.collapse_time(sol.n, 10) <= sch.times[7]
    assert step_at_time(sch, C.collapse_time(sol.n, 10)) == 7


def test_n_for_collapse_time_never_lands_beyond_the_target():
    rng = np.random.default_rng(17)
    for t, d, var in zip(np.exp(rng.uniform(-12, 2, 2000)), np.exp(rng.uniform(0, 6, 2000)),
                         np.exp(rng.uniform(-3, 3, 2000)), strict=True):
        sol = INV.n_for_collapse_time(t, d, var)
        if sol.n is not None and sol.n >= 2:
            assert C.collapse_time(sol.n, d, var) <= t


# ----------------------------------------------------------------------------------------------
# 3. collapse_time_spectral for huge n


def test_collapse_time_spectral_huge_n_against_mpmath():
    n = 1e300
    got = C.collapse_time_spectral([1.0, 1.0, 1.0], n)
    with mpmath.workdps(60):
        ref = mpmath.log1p(1 / (mpmath.mpf(n) ** (mpmath.mpf(2) / 3) - 1)) / 2
    # conditioning: e^{−2 ln(n)/3} has relative condition 2 ln(n)/3 ≈ 460
    assert close(got, ref, 2000 * EPS)
    lam = np.array([3.0, 2.0, 0.5, 0.0])
    got = C.collapse_time_spectral(lam, n)
    with mpmath.workdps(60):
        a = mpmath.log(mpmath.mpf(n)) / 4

        def g(u):  # u = ln x
            return sum(mpmath.log(1 + mpmath.mpf(v) * mpmath.exp(u)) for v in lam) / 8 - a

        u = mpmath.findroot(g, 2 * a)
        ref = mpmath.log1p(mpmath.exp(-u)) / 2
    assert close(got, ref, 4000 * EPS)
    for nn in (1e200, 1e308):
        assert C.collapse_time_spectral([2.0, 2.0], nn) == pytest.approx(C.collapse_time(nn, 2, 2.0), rel=1e-12)


# ----------------------------------------------------------------------------------------------
# 4. α and t_C in log space over the whole float range


T_GRID = [1e-300, 1e-100, 1e-10, 0.5, 5.0, 100.0, 354.0, 354.5, 360.0, 372.0, 380.0]
V_GRID = [1e-300, 1e-10, 1.0, 1e10, 1e300]


def test_alpha_for_collapse_time_against_mpmath_on_an_extreme_grid():
    for t in T_GRID:
        for var in V_GRID:
            got = C.alpha_for_collapse_time(t, var)
            ref = mp_half_log1p_ratio(var, t)
            rel = 8 * EPS * (2 + abs(math.log(var)) + 2 * t)  # conditioning of e^{−2t}σ² in logs
            assert math.isfinite(got) and got >= 0
            assert close(got, ref, rel), (t, var, got, ref)


def test_collapse_time_against_mpmath_on_an_extreme_grid():
    for n in (2.0, 1e15, 1e300, 1.7e308):
        for d in (1.0, 3.0, 1e6):
            for var in V_GRID:
                got = C.collapse_time(n, d, var)
                with mpmath.workdps(60):
                    a = mpmath.log(mpmath.mpf(n)) / mpmath.mpf(d)
                ref = mp_half_log1p_ratio(var, a)
                rel = 8 * EPS * (2 + abs(math.log(var)) + 2 * float(a))
                assert close(got, ref, rel), (n, d, var, got, ref)
    # the reviewer's cases
    assert C.collapse_time(1e300, 1, 1e300) == pytest.approx(5.0e-301, rel=1e-12)
    assert C.collapse_time_from_alpha(math.log(1e300), 1e300) == pytest.approx(5.0e-301, rel=1e-12)


def test_solvers_at_extreme_variance(run_cli):
    sol = INV.n_for_collapse_time(1e-300, 10, 1e10)
    ref = mp_half_log1p_ratio(1e10, 1e-300)
    assert sol.n is None and close(sol.alpha, ref, 1e-14)
    assert sol.log10_n == pytest.approx(float(10 * ref / mpmath.log(10)), rel=1e-14)
    rc, out, err = run_cli("solve", "n", "--t-C", "1e-300", "--d", "10", "--variance", "1e10", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert body["log10_n"] == pytest.approx(sol.log10_n, rel=1e-15) and body["alpha"] is not None
    # α ≈ ½σ²e^{−2t} = 6.08e-299: representable, so d = ln 2/α is finite
    s = INV.d_for_collapse_time(354.5, 2, 1e10)
    ref = mpmath.log(2) / mp_half_log1p_ratio(1e10, 354.5)
    assert close(s.d, ref, 8 * EPS * 800)
    rc, out, err = run_cli("solve", "d", "--t-C", "354.5", "--n", "2", "--variance", "1e10", "--json")
    assert rc == 0, err
    assert json.loads(out)["d"] == s.d
    # α subnormal: d still from logs
    s = INV.d_for_collapse_time(355.5, 2, 1e10)
    ref = mpmath.log(2) / mp_half_log1p_ratio(1e10, 355.5)
    assert close(s.d, ref, 8 * EPS * 800)
    # d beyond float64: one clear error, exit 2 with one line
    with pytest.raises(RegimesError, match="beyond float64"):
        INV.d_for_collapse_time(400.0, 2)
    rc, out, err = run_cli("solve", "d", "--t-C", "400", "--n", "2")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "beyond float64" in err
    # the silent 0.0 is gone: d = ln 2/356.55 with a note
    s = INV.d_for_collapse_time(1e-300, 2, 1e10)
    assert s.d == pytest.approx(float(mpmath.log(2) / mp_half_log1p_ratio(1e10, 1e-300)), rel=1e-14)
    assert s.notes


def test_half_log1p_ratio_broadcasts_and_log_form():
    t = np.array([1e-300, 0.5, 354.5, 400.0])
    got = C.half_log1p_ratio(1e10, t)
    for g, tt in zip(got, t, strict=True):
        assert close(g, mp_half_log1p_ratio(1e10, tt), 8 * EPS * (25 + 2 * tt))
    ref = mpmath.log(mp_half_log1p_ratio(1.0, 400.0))
    assert C.log_half_log1p_ratio(1.0, 400.0) == pytest.approx(float(ref), rel=1e-14)
    assert C.log_expm1(800.0) == 800.0 and C.log_expm1(2e-300) == pytest.approx(math.log(2e-300), rel=1e-15)


# ----------------------------------------------------------------------------------------------
# 5. targets out of reach are flagged


def test_unreachable_targets_have_a_note(run_cli):
    tc_max = float(mp_half_log1p_ratio(1.0, mpmath.log(2)))  # t_C(n = 2, d = 1) = ½ ln(4/3)
    sol = INV.n_for_collapse_time(2.0, 1)
    assert sol.n < 2 and len(sol.notes) == 1 and "not reachable with n >= 2" in sol.notes[0]
    assert f"{tc_max:.6g}" in sol.notes[0] and sol.to_dict()["notes"] == list(sol.notes)
    s = INV.d_for_collapse_time(0.01, 2)
    assert s.d < 1 and "not reachable with d >= 1" in s.notes[0] and f"{tc_max:.6g}" in s.notes[0]
    assert "notes" not in INV.n_for_collapse_time(0.5, 100).to_dict()  # reachable: no note
    rc, out, err = run_cli("solve", "d", "--t-C", "0.01", "--n", "2", "--json")
    assert rc == 0, err
    assert any("not reachable with d >= 1" in x for x in json.loads(out)["notes"])
    rc, out, err = run_cli("solve", "n", "--t-C", "2", "--d", "1", "--json")
    assert any("not reachable with n >= 2" in x for x in json.loads(out)["notes"])
    rc, out, err = run_cli("solve", "n", "--t-C", "2", "--d", "1")
    assert rc == 0 and "not reachable" in out.replace("\n", " ")


# ----------------------------------------------------------------------------------------------
# 6. symbolic domains agree with the numeric library at the boundaries


def _py(name):
    ns: dict = {}
    exec(compile(sym.python(name), f"<{name}>", "exec"), ns)  # noqa: S102 - our own source
    return ns[name]


@pytest.mark.parametrize("name, numeric, edge", [
    ("speciation_time", SP.speciation_time, 1.0),
    ("speciation_time_linear", SP.speciation_time_linear, 2.0),
])
def test_speciation_domains(name, numeric, edge):
    lam, py = sym.lambdify(name), _py(name)
    for x in (0.5, edge, np.nextafter(edge, np.inf), 1.5 * edge, 7.5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RegimesWarning)
            ref = numeric(x)
        if math.isnan(ref):
            with pytest.warns(RegimesWarning, match=name):
                assert math.isnan(lam(x))
            assert math.isnan(py(x))
        else:
            assert lam(x) == pytest.approx(ref, rel=1e-14, abs=1e-300)
            assert py(x) == pytest.approx(ref, rel=1e-14, abs=1e-300)
    with pytest.warns(RegimesWarning):
        arr = lam(np.array([0.5, edge, 7.5]))
    assert np.isnan(arr[:2]).all() and arr[2] == pytest.approx(numeric(7.5), rel=1e-14)
    assert "domain" in sym.info(name)


def test_mixture_speciation_domain():
    f = sym.lambdify("mixture_speciation_time")
    with pytest.warns(RegimesWarning):
        assert math.isnan(f(10.0, 0.1, 0.5))  # Λ = 0.6
    assert f(10.0, 1.0, 0.5) == pytest.approx(SP.speciation_time(10.5), rel=1e-14)


def test_excess_entropy_at_t_zero():
    f, py = sym.lambdify("excess_entropy"), _py("excess_entropy")
    for n, d, v in ((100.0, 10.0, 1.0), (1e15, 1.0, 0.3)):
        assert C.excess_entropy(0.0, n, d, v) == 0.0
        assert f(0.0, n, d, v) == 0.0 and py(0.0, n, d, v) == 0.0
        # the limit t → 0+ (mpmath at t = 1e-300): f = max(0, α − ½ ln(1 + σ²/(e^{2t} − 1))) = 0
        with mpmath.workdps(60):
            lim = max(0, mpmath.log(n) / d - mp_half_log1p_ratio(v, 1e-300))
        assert lim == 0
    out = f(np.array([0.0, 0.1, 60.0]), 100.0, 10.0, 1.0)
    assert_ref = C.excess_entropy(np.array([0.0, 0.1, 60.0]), 100.0, 10.0, 1.0)
    np.testing.assert_allclose(out, assert_ref, rtol=1e-13, atol=1e-300)
    with pytest.raises(RegimesError, match="t must be >= 0"):
        f(-1.0, 100.0, 10.0, 1.0)


def test_formula_cli_shows_domain(run_cli):
    rc, out, err = run_cli("formula", "speciation_time", "--json")
    assert rc == 0, err
    assert "Λ > 1" in json.loads(out)["domain"]
    rc, out, err = run_cli("formula", "collapse_time", "--json")
    assert json.loads(out)["domain"] == "n >= 2, d >= 1"  # the library's rule (α = ln(n)/d), as lambdify checks it


# ----------------------------------------------------------------------------------------------
# 7. docstrings


def test_docstring_examples_are_true():
    from regimes.phase import n_star

    assert math.isfinite(n_star(3072, 0.5)) and n_star(4096, 0.5) == math.inf
    assert "d = 4096" in n_star.__doc__
    doc = C.collapse_time_spectral.__doc__
    assert "x <= (n² − 1)/λ_max" in doc and "x >= expm1(2α)/λ̄" in doc
    for fn in (INV.n_for_collapse_time, INV.d_for_collapse_time):
        assert "backward process" in fn.__doc__ and ("smaller" in fn.__doc__ or "larger t_C" in fn.__doc__)


# ----------------------------------------------------------------------------------------------
# 8. second review of regimes/inverse.py and `regimes solve` (findings F1–F8)


def floor_qT(q, T):
    """Oracle for K = ⌊qT⌋: the largest k in 0 … T − 1 with k <= qT, q the decimal it prints as.

    A brute-force count over every k (exact decimal arithmetic, no float product)."""
    qT = Decimal(repr(float(q))) * T
    return sum(1 for k in range(1, T) if k <= qT)


def edge_qs(T):
    """q just below, at and just above every step boundary k/T (within 1e-9 and down to 1 ulp), and 1⁻."""
    out = [1 - 1e-13, 1 - 1e-15, math.nextafter(1.0, 0.0), 1e-9, 0.000999999999999, 0.29, 0.57]
    for k in range(1, T):
        b = k / T
        out += [b, b - 1e-9, b - 1e-10, b + 1e-10, math.nextafter(b, 0.0), math.nextafter(b, 1.0)]
    return [q for q in out if 0.0 < q < 1.0]


@pytest.mark.parametrize("T", [2, 3, 7, 100, 1000])
def test_last_fraction_step_is_the_exact_floor(T):
    for q in edge_qs(T):
        assert INV.last_fraction_step(q, T) == floor_qT(q, T), (q, T)
    assert INV.last_fraction_step(1 - 1e-13, T) == T - 1  # (was T: IndexError)


def test_last_fraction_step_large_T_and_reviewer_values():
    T = 10**7
    for q in (1 - 1e-10, 0.9999999999, 1e-7 - 1e-16, 0.123456789, 0.29):
        ref = int((Decimal(repr(q)) * T).to_integral_value(rounding=ROUND_FLOOR))
        assert INV.last_fraction_step(q, T) == ref
    assert INV.last_fraction_step(0.000999999999999, 1000) == 0  # ⌊0.999999999999⌋ (the 1e-9 tolerance gave 1)
    assert INV.last_fraction_step(0.29, 100) == 29 and INV.last_fraction_step(0.57, 100) == 57


def test_last_fraction_just_below_one_no_longer_crashes(run_cli):
    sch = get_schedule("linear", 1000)
    sol = INV.n_for_last_fraction(1 - 1e-13, 10)
    assert sol.step == 999 and sol.t_C == float(sch.times[999])
    assert INV.n_for_last_fraction(1 - 1e-15, 10, "cosine", 2).step == 1
    rc, out, err = run_cli("solve", "n", "-q", "0.9999999999999", "--d", "10", "--json")
    assert rc == 0, err
    assert json.loads(out)["step"] == 999


@pytest.mark.parametrize("schedule, steps", [("flow", 100), (np.array([1e-3] * 9 + [1.0]), 10)])
def test_pure_noise_last_step_every_n_qualifies(schedule, steps):
    sch = get_schedule(schedule, steps)
    assert math.isinf(sch.times[-1])
    sol = INV.n_for_last_fraction(0.995 if steps == 100 else 0.95, 10, schedule, steps)
    assert sol.step == steps - 1 and math.isinf(sol.t_C)
    assert sol.n == 1.0 and sol.alpha == 0.0 and sol.every_n_qualifies is True
    assert "every training set" in sol.notes[0] and "t_C must be finite" not in sol.notes[0]
    # oracle, by the definition: every n >= 2 collapses on a step <= K (Regime III starts below K)
    for n in (2.0, 10.0, 1e6, 1e300):
        tc = C.collapse_time(n, 10, 1.0)
        assert step_at_time(sch, tc) <= sol.step


def test_pure_noise_last_step_cli(run_cli, tmp_path):
    rc, out, err = run_cli("solve", "n", "-q", "0.995", "--d", "10", "--schedule", "flow", "--steps", "100", "--json")
    assert rc == 0, err
    assert "--t-C" not in err
    b = json.loads(out)
    assert b["every_n_qualifies"] is True and b["n"] == 1.0 and b["t_C"] is None
    assert any("pure noise" in x for x in b["notes"])
    ac = np.cumprod(1 - np.array([1e-3] * 9 + [1.0]))  # ᾱ ending in 0
    np.savetxt(tmp_path / "ac.txt", ac)
    rc, out, err = run_cli("solve", "n", "-q", "0.95", "--d", "10", "--alphas-cumprod", tmp_path / "ac.txt", "--json")
    assert rc == 0, err
    assert json.loads(out)["every_n_qualifies"] is True


def test_large_q_says_every_training_set_qualifies(run_cli):
    sol = INV.n_for_last_fraction(0.9, 3072, "linear", 1000, 0.25164)
    sch = get_schedule("linear", 1000)
    assert sol.n < 2 and sol.every_n_qualifies is True
    assert "every training set qualifies" in sol.notes[0] and "not reachable" not in sol.notes[0]
    # oracle: the largest collapse time of a training set (n = 2) already lies below t_K
    assert C.collapse_time(2.0, 3072, 0.25164) < float(sch.times[900])
    assert step_at_time(sch, C.collapse_time(2.0, 3072, 0.25164)) <= 900
    assert INV.n_for_last_fraction(0.05, 3072, "linear", 1000, 0.25164).every_n_qualifies is False
    rc, out, err = run_cli("solve", "n", "-q", "0.9", "--preset", "cifar10")
    assert rc == 0, err
    assert "every training set qualifies" in " ".join(out.split()) and "not reachable" not in out


def ev_edge_schedule():
    """The reviewer's schedule: 102 steps of β = 0.999, then t = 354.2, 354.5, 354.7, 354.95, 355.1, ∞."""
    b = [0.999] * 102
    cur = -0.5 * math.log1p(-0.999) * 102
    for target in (354.2, 354.5, 354.7, 354.95, 355.1, 400.0):
        b.append(-math.expm1(-2 * (target - cur)))
        cur = target
    return S_DiscreteSchedule().from_betas(np.array(b))


def S_DiscreteSchedule():
    from regimes.schedules import DiscreteSchedule

    return DiscreteSchedule


def test_eigenvalue_near_the_float64_limit():
    sch = ev_edge_schedule()
    t_edge = float(mpmath.log(mpmath.mpf(np.finfo(float).max)) / 2)  # 354.891…: e^{2t} overflows above
    for K in (102, 103, 104):
        tK = float(sch.times[K])
        assert tK < t_edge
        s = INV.eigenvalue_for_step(K, sch, sch.steps)
        with mpmath.workdps(60):
            ref = mpmath.exp(2 * mpmath.mpf(tK))
        assert math.isfinite(s.eigenvalue) and close(s.eigenvalue, ref, 1e-12)
        assert s.eigenvalue_min < s.eigenvalue and not s.notes
        # the interval, fed back through speciation_time and the step rule
        assert step_at_time(sch, SP.speciation_time(s.eigenvalue)) == K
        assert step_at_time(sch, SP.speciation_time(np.nextafter(s.eigenvalue, np.inf))) == K + 1
        assert step_at_time(sch, SP.speciation_time(np.nextafter(s.eigenvalue_min, np.inf))) == K
    lam = math.exp(709.2)  # t_S = 354.6: step 104
    s = INV.eigenvalue_for_step(104, sch, sch.steps)
    assert s.eigenvalue_min < lam <= s.eigenvalue and step_at_time(sch, SP.speciation_time(lam)) == 104
    # t_105 = 354.95 > 354.891: e^{2t} overflows, every finite Λ above the lower end falls on 105
    s = INV.eigenvalue_for_step(105, sch, sch.steps)
    assert s.eigenvalue == math.inf and math.isfinite(s.eigenvalue_min) and "overflows" in s.notes[0]
    assert step_at_time(sch, SP.speciation_time(np.finfo(float).max)) == 105
    # t_105 and t_106 both beyond: no finite Λ on step 106, and a note says so
    s = INV.eigenvalue_for_step(106, sch, sch.steps)
    assert s.empty and "no finite float64" in s.notes[0]


def test_eigenvalue_edge_cli_notes(run_cli, tmp_path):
    sch = ev_edge_schedule()
    np.savetxt(tmp_path / "b.txt", sch.betas)
    rc, out, err = run_cli("solve", "eigenvalue", "-k", "106", "--betas", tmp_path / "b.txt", "--json")
    assert rc == 0, err
    notes = json.loads(out)["notes"]
    assert any("no finite float64" in x for x in notes) and not any("every Λ in (inf" in x for x in notes)


def test_docstrings_say_up_and_give_measured_numbers():
    for doc in (INV.NSolution.__doc__, INV.n_for_collapse_time.__doc__, INV.__doc__):
        assert "moved down" not in doc and "a few" not in doc
    assert "*up*" in INV.NSolution.__doc__ and "1330 ulps" in INV.n_for_collapse_time.__doc__
    # F5: the α examples of alpha_for_collapse_time, against mpmath
    doc = C.alpha_for_collapse_time.__doc__
    for t, var, shown in ((1e-300, 1e10, "356.554"), (354.5, 1e10, "6.084e-299")):
        ref = mp_half_log1p_ratio(var, t)
        assert f"α = {shown}" in doc and float(f"{float(ref):.4g}") == float(f"{float(shown):.4g}")
        assert close(C.alpha_for_collapse_time(t, var), ref, 1e-13)


def test_n_only_moves_up_and_is_minimal():
    # the reviewer's worst case (1330 ulps) and random cases: n >= e^{dα}, n works, the float below does not
    cases = [(4.07508816853448e-05, 133.11300040030181, 1.6445422142866246)]
    rng = np.random.default_rng(4)
    cases += list(zip(10 ** rng.uniform(-6, 1.5, 400), rng.uniform(1, 3, 400) * rng.choice([1, 10, 100, 1e4], 400),
                      10 ** rng.uniform(-3, 3, 400), strict=True))
    worst = 0
    for t, d, var in cases:
        s = INV.n_for_collapse_time(t, d, var)
        if s.n is None or s.n < 2:
            continue
        e = math.exp(s.ln_n)
        assert s.n >= e
        assert C.collapse_time(s.n, d, var) <= t
        if s.n != e and s.n > 2:
            assert C.collapse_time(np.nextafter(s.n, 0), d, var) > t
        worst = max(worst, int(np.float64(s.n).view(np.int64)) - int(np.float64(e).view(np.int64)))
    assert 1000 < worst <= 1330  # the stated bound, reached by the reviewer's case


@pytest.mark.parametrize("d", [1, 2, 3, 7, 10, 100, 1000, 3072, 1e5, 1e6])
@pytest.mark.parametrize("var", [1.0, 0.25164, 1e-3, 1e3])
def test_target_exactly_at_n_2_gives_2(d, var):
    t = C.collapse_time(2.0, d, var)
    s = INV.n_for_collapse_time(t, d, var)
    assert s.n == 2.0 and not s.notes
    assert C.collapse_time(s.n, d, var) == t  # the forward function: n = 2 collapses exactly at the target
    # a few ulps above t_C(n = 2): the value and the note agree (a note exactly when n < 2, showing n < 2;
    # e^{dα} may also round to 2 itself, the correctly rounded answer, with no note)
    for k in (1, 2, 4, 1000):
        up = t + k * math.ulp(t)
        s = INV.n_for_collapse_time(up, d, var)
        assert bool(s.notes) == (s.n < 2)
        if s.notes:
            assert "not reachable" in s.notes[0] and C.collapse_time(2.0, d, var) < up
            assert float(s.notes[0].split("n = ", 1)[1].split(" < 2", 1)[0]) < 2


@pytest.mark.parametrize("n", [2.0, 3.0, 10.0, 1e10, 1e300])
@pytest.mark.parametrize("var", [1.0, 0.25164, 1e-3, 1e3])
def test_target_exactly_at_d_1_gives_1(n, var):
    t = C.collapse_time(n, 1.0, var)
    if t == 0.0:
        return
    s = INV.d_for_collapse_time(t, n, var)
    assert s.d == 1.0 and not s.notes and C.collapse_time(n, s.d, var) == t


def test_k0_note_and_one_step_schedule_error(run_cli):
    rc, out, err = run_cli("solve", "n", "-q", "0.0005", "--d", "10", "--json")
    assert rc == 0, err
    b = json.loads(out)
    assert b["step"] == 0
    note = next(x for x in b["notes"] if x.startswith("K = 0"))
    # docs/conventions.md: a time below t_0 is crossed during step 0; the regime below holds no step
    assert "crossed during step 0" in note and "no step starts in Regime III" in note and "no step at all" not in note
    with pytest.raises(RegimesError) as info:
        INV.n_for_last_fraction(0.5, 10, [0.1])
    assert "schedule must have at least 2 steps" in str(info.value) and "steps must" not in str(info.value)
    with pytest.raises(RegimesError, match="steps must be >= 2"):  # a named schedule: the steps the user gave
        INV.n_for_last_fraction(0.5, 10, "cosine", 1)


def test_regime_ii_absent_is_flagged(run_cli):
    lam, var, d = 66.88, 0.25164, 3072  # cifar10 in [−1, 1] units
    t_S = 0.5 * math.log(lam)
    rc, out, err = run_cli("solve", "n", "--t-C", "3", "--preset", "cifar10", "--json")
    assert rc == 0, err
    b = json.loads(out)
    assert b["regime_ii_absent"] is True and b["t_S"] == pytest.approx(t_S, rel=1e-15) and b["eigenvalue"] == lam
    note = next(x for x in b["notes"] if "no Regime II" in x)
    log10 = float(note.split("n > 10^", 1)[1].split(" ", 1)[0])
    # oracle for the stated crossover: just above it t_C < t_S, just below it t_C > t_S
    assert C.collapse_time(10 ** (log10 + 1e-4), d, var) < t_S < C.collapse_time(10 ** (log10 - 1e-4), d, var)
    assert any("own n = 50000" in x for x in b["notes"])
    b = json.loads(run_cli("solve", "n", "--t-C", "1", "--preset", "cifar10", "--json")[1])
    assert b["regime_ii_absent"] is False
    b = json.loads(run_cli("solve", "n", "-q", "0.9", "--preset", "cifar10", "--json")[1])
    assert b["regime_ii_absent"] is True  # t_K = 4.108 > t_S
    # your own σ²: the preset's Λ (other units) is not compared; --eigenvalue is
    b = json.loads(run_cli("solve", "n", "--t-C", "3", "--preset", "cifar10", "--variance", "0.5", "--json")[1])
    assert b["regime_ii_absent"] is None and any("--eigenvalue" in x for x in b["notes"])
    b = json.loads(run_cli("solve", "n", "--t-C", "3", "--d", "100", "--eigenvalue", "0.5", "--json")[1])
    assert b["regime_ii_absent"] is True and b["t_S"] is None
    b = json.loads(run_cli("solve", "d", "--t-C", "2", "--n", "1e4", "--eigenvalue", "10", "--json")[1])
    assert b["regime_ii_absent"] is True and b["t_S"] == pytest.approx(0.5 * math.log(10), rel=1e-15)  # 2 >= 1.151
    note = next(x for x in b["notes"] if "no Regime II" in x)
    d_cross = float(note.split("i.e. d < ", 1)[1].split(" ", 1)[0])
    assert C.collapse_time(1e4, d_cross * 0.999) < 0.5 * math.log(10) < C.collapse_time(1e4, d_cross * 1.001)
    b = json.loads(run_cli("solve", "d", "--t-C", "1", "--n", "1e4", "--eigenvalue", "10", "--json")[1])
    assert b["regime_ii_absent"] is False
    out = run_cli("solve", "n", "--t-C", "3", "--preset", "cifar10")[1]
    assert "Regime II at the answer" in out and "absent" in out


def test_small_d_is_flagged(run_cli):
    from regimes.diagnostics import SMALL_D

    assert INV.n_for_collapse_time(0.01, 1).small_d is True
    assert "small_d" not in INV.n_for_collapse_time(0.5, SMALL_D).to_dict()  # (the phase-diagram golden keys)
    s = INV.n_for_collapse_time(0.01, 10)
    assert s.small_d and "validity" in s.to_dict() and "d → ∞" in s.validity[0]
    assert INV.d_for_collapse_time(0.5, 100).small_d is (math.log(100) / C.alpha_for_collapse_time(0.5) < SMALL_D)
    b = json.loads(run_cli("solve", "n", "--t-C", "0.01", "--d", "1", "--json")[1])
    assert b["small_d"] is True and b["regime_ii_absent"] is None and any("< 100" in x for x in b["notes"])
    b = json.loads(run_cli("solve", "n", "--t-C", "0.5", "--d", "3072", "--json")[1])
    assert b["small_d"] is False
    out = run_cli("solve", "n", "--t-C", "0.01", "--d", "1")[1]
    assert "d < 100" in out and "approximate" in out


def test_variance_help_is_not_circular(run_cli):
    for cmd in ("n", "d"):
        rc, out, err = run_cli("solve", cmd, "--help")
        text = " ".join(out.split())
        assert "per-feature variance" in text and "units the model was trained in" in text
        assert "same units as Λ" not in text and "--eigenvalue" in text
