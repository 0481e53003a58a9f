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
            assert sol.step == math.floor(round(q * 1000, 9))
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
    assert "domain" not in json.loads(out)  # no restriction: the golden output keeps its keys


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
