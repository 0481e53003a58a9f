"""regimes.symbolic against independent oracles.

Oracles: the numeric library (written with expm1/log1p forms and quadrature rules, not from these
expressions), mpmath at high precision (the lambdified expression with ``modules="mpmath"``),
mpmath quadrature, sampled random matrices and published reference numbers. Tolerances are stated
next to each comparison.
"""

from __future__ import annotations

import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy as sp
from numpy.testing import assert_allclose

import regimes
from regimes import RegimesError
from regimes import collapse as C
from regimes import schedules as SCH
from regimes import speciation as SP

sym = pytest.importorskip("regimes.symbolic")

RNG = np.random.default_rng(20240228)


def mp_eval(name, *args, dps=50):
    """Evaluate a formula's plain (textbook) expression with mpmath at ``dps`` digits (an oracle).

    ``stable=False``: the expression as written, not the expm1/log1p rewrite that lambdify and
    python() evaluate by default, so the oracle is independent of that rewrite.
    """
    f = sym.lambdify(name, modules="mpmath", stable=False)
    with mpmath.workdps(dps):
        return f(*[mpmath.mpf(a) if not isinstance(a, complex) else mpmath.mpc(a) for a in args])


# ----------------------------------------------------------------------------------------------
# API


def test_catalogue_is_complete_and_described():
    names = sym.names()
    desc = sym.describe()
    assert names == list(desc)
    assert len(names) == len(set(names)) >= 40
    for required in ["delta", "alpha_bar", "time_from_alpha_bar", "edm_sigma",
                     "time_from_edm_sigma",
                     "logsnr", "time_from_logsnr", "flow_tau", "time_from_flow_tau",
                     "time_from_vp_sde", "vp_sde_from_time", "speciation_time", "collapse_time",
                     "excess_entropy", "collapse_time_small_alpha", "collapse_time_large_alpha",
                     "cloning_integrand", "mp_density", "mp_lower_edge", "mp_upper_edge",
                     "mp_stieltjes_equation", "rf_memorisation_lower_edge",
                     "rf_generalisation_upper_edge", "tau_gen", "tau_mem"]:
        assert required in names
    for n, line in desc.items():
        assert line and "\n" not in line, n


@pytest.mark.parametrize("name", sym.names() if hasattr(sym, "names") else [])
def test_every_formula_exports(name):
    expr = sym.formula(name)
    args = sym.symbols(name)
    # free symbols are exactly the documented arguments (no stray dummies)
    free = expr.free_symbols
    assert free <= set(args), (name, free, args)
    assert set(a.name for a in args) == set(sym.info(name)["arguments"])
    tex = sym.latex(name)
    assert isinstance(tex, str) and tex
    src = sym.python(name)
    ns: dict = {}
    exec(compile(src, f"<{name}>", "exec"), ns)  # noqa: S102 - our own generated source
    fn = ns[name]
    # python() and lambdify() agree at a generic point inside every domain
    point = {"t": 0.37, "alpha_bar": 0.4, "sigma": 1.3, "logsnr": -0.7, "tau": 0.3, "s": 0.4,
             "beta_min": 0.1, "beta_max": 20.0, "eigenvalue": 7.5, "n": 5000.0, "d": 64.0,
             "variance": 1.3, "alpha": 0.2, "separation": 0.8, "norm_m": 3.0, "r": 0.9, "z": 0.3,
             "x": 1.1, "ratio": 0.45, "zeta": 0.3 + 0.2j, "m": 0.1 + 0.7j, "psi_p": 2.0,
             "psi_n": 1.5, "s2": 0.013, "v2": 0.0138, "mu2": 0.02, "kappa1": 0.6, "lam": 0.8}
    vals = [point[a.name] for a in args]
    lam = sym.lambdify(name)
    assert_allclose(complex(fn(*vals)), complex(lam(*vals)), rtol=1e-12, atol=1e-300)


def test_unknown_name_lists_close_matches():
    with pytest.raises(RegimesError, match="collapse_time"):
        sym.formula("colapse_time")
    with pytest.raises(RegimesError, match="regimes formula --list"):
        sym.latex("no-such-thing")
    assert sym.formula("Collapse-Time") == sym.formula("collapse_time")


def test_symbols_order_is_stable():
    assert [s.name for s in sym.symbols("collapse_time")] == ["n", "d", "variance"]
    assert [s.name for s in sym.symbols("excess_entropy")] == ["t", "n", "d", "variance"]
    assert [s.name for s in sym.symbols("mp_stieltjes_equation")] == ["m", "zeta", "ratio",
                                                                       "variance"]
    assert [s.name for s in sym.symbols("cloning_integrand")] == ["z", "r"]


def test_import_regimes_does_not_import_sympy():
    code = ("import sys, regimes; assert 'sympy' not in sys.modules; "
            "regimes.symbolic; assert 'sympy' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_latex_uses_conventional_symbols():
    assert sym.to_latex(sp.diff(sym.formula("speciation_time"), sym.S["eigenvalue"])) == (
        r"\frac{1}{2 \Lambda}")
    assert r"\Lambda" in sym.latex("speciation_time")
    assert r"\sigma^{2}" in sym.latex("collapse_time")
    assert "=" in sym.latex("mp_stieltjes_equation")


# ----------------------------------------------------------------------------------------------
# floating-point-safe evaluation: lambdify() and python() vs the plain expression at 50 digits

T_EXT = [1e-12, 1e-9, 1e-6, 1e-3, 0.1, 1.0, 5.0, 30.0]
ND_EXT = [(n, d, v) for n in (2.0, 3.0, 1e3, 1e15) for d in (1.0, 10.0, 1e6, 1e12, 1e15)
          for v in (0.01, 1.0, 100.0)]
EXTREME = {
    "delta": [(t,) for t in T_EXT],
    "edm_sigma": [(t,) for t in T_EXT],
    "logsnr": [(t,) for t in T_EXT],
    "flow_tau": [(t,) for t in T_EXT],
    "time_from_edm_sigma": [(x,) for x in (1e-12, 1e-6, 1e-3, 1.0, 1e3, 1e100)],
    "time_from_flow_tau": [(x,) for x in (1e-12, 1e-6, 0.5, 1 - 1e-6, 1 - 2.0**-40)],
    "time_from_logsnr": [(x,) for x in (-700.0, -60.0, -1.0, -1e-9, 0.0, 1e-9, 1.0, 60.0, 700.0)],
    "vp_sde_from_time": [(t, 0.1, 20.0) for t in (*T_EXT[:6], 5.025)] + [(1e-3, 1.0, 1.0 + 1e-9)],
    "noised_variance": [(t, v) for t in T_EXT for v in (0.01, 1.0, 7.0)],
    "cloning_snr": [(t, 3.0, v) for t in T_EXT for v in (0.01, 1.0, 7.0)],
    # f(t) well away from t_C (near t_C it is ill-conditioned: α minus a nearly equal term)
    "excess_entropy": [(t, 1e6, 10.0, v) for t in (0.2, 1.0, 5.0, 30.0) for v in (0.3, 1.0)]
    + [(t, 2.0, 1e15, 1.0) for t in (1e-12, 0.1, 60.0)]
    + [(t, 1e15, 1.0, 1.0) for t in (1e-12, 1e-9, 1e-6)],  # α = 34.5: f > 0 even at t = 1e-12
    "separated_entropy": [(t, 2.0, d) for t in T_EXT for d in (1.0, 1e15)],
    "collapse_time": ND_EXT,
    "collapse_time_from_alpha": [(a, v) for a in (1e-15, 1e-9, 1e-3, 0.5, 5.0, 30.0)
                                 for v in (0.01, 1.0, 100.0)],
    "tau_lambda": [(t, 2.0, 0.8) for t in T_EXT],
    "tau_gen": [(t, 0.6) for t in T_EXT],
    "tau_mem": [(t, 1.5, 0.0138) for t in T_EXT],
}
# ln(1 + e^{-700}) needs ~310 digits to be resolved by the plain expression
EXTREME_DPS = {"time_from_logsnr": 400}


@pytest.mark.parametrize("name", list(EXTREME))
def test_lambdify_and_python_are_accurate_at_extremes(name):
    # oracle: the plain textbook expression (stable=False) with mpmath at 50 digits (400 where
    # noted); budget 1e-13 relative for both the numpy lambdify and the exec'd python() source
    lam_np = sym.lambdify(name)
    ns: dict = {}
    exec(compile(sym.python(name), f"<{name}>", "exec"), ns)  # noqa: S102 - our own source
    fn_py = ns[name]
    for args in EXTREME[name]:
        ref = float(mp_eval(name, *args, dps=EXTREME_DPS.get(name, 50)))
        tol = 1e-13 * abs(ref) + 1e-300
        got_np = float(lam_np(*np.asarray(args, dtype=np.float64)))
        got_py = fn_py(*args)
        assert abs(got_np - ref) <= tol, (name, args, got_np, ref)
        assert abs(got_py - ref) <= tol, (name, args, got_py, ref)


def test_plain_expression_really_cancels_where_the_rewrite_does_not():
    # the audit case: n = 2, d = 1e15. The plain form loses ~3 digits (1.2e-3 relative); the
    # default (expm1/log1p) form keeps full precision: this is what the test above guards.
    ref = float(mp_eval("collapse_time", 2.0, 1e15, 1.0))
    plain = sym.lambdify("collapse_time", stable=False)(2.0, 1e15, 1.0)
    assert abs(plain / ref - 1) > 1e-4
    assert sym.lambdify("collapse_time")(2.0, 1e15, 1.0) == pytest.approx(ref, rel=1e-14)
    assert sym.lambdify("delta", modules="math")(1e-12) == pytest.approx(2e-12 - 2e-24, rel=1e-15)


def test_exported_python_uses_expm1_log1p_and_latex_stays_plain():
    src = sym.python("collapse_time")
    assert "math.log1p(" in src and "math.expm1(" in src and "**(2/d)" not in src
    assert "math.expm1(-2*t)" in sym.python("delta") and "math.exp(" not in sym.python("delta")
    assert "math.expm1(2*t)" in sym.python("edm_sigma")
    assert "math.expm1(2*alpha)" in sym.python("collapse_time_from_alpha")
    # the formula and its LaTeX are the textbook forms, for derivations and papers
    assert "expm1" not in sym.latex("collapse_time") and "n^{\\frac{2}{d}}" in sym.latex("collapse_time")
    assert sym.formula("delta") == 1 - sp.exp(-2 * sym.S["t"])
    assert "expm1" not in str(sym.formula("collapse_time"))
    # the rewrite is an identity: numeric_form − formula simplifies to 0 once expm1/log1p are
    # expanded back (for the forms sympy can simplify)
    for name in ("delta", "edm_sigma", "collapse_time", "collapse_time_from_alpha", "tau_gen",
                 "noised_variance", "time_from_flow_tau", "vp_sde_from_time"):
        back = sym.numeric_form(name).rewrite(sp.exp).rewrite(sp.log)
        assert sp.simplify(back - sym.formula(name)) == 0, name


def test_cli_formula_python_is_stable(run_cli):
    rc, out, err = run_cli("formula", "collapse_time", "--python")
    assert rc == 0, err
    ns: dict = {}
    exec(out, ns)  # noqa: S102 - our own generated source
    for n, d in [(2, 1e12), (2, 1e15), (1e15, 1.0)]:
        ref = float(mp_eval("collapse_time", n, d, 1.0))
        assert ns["collapse_time"](n, d, 1.0) == pytest.approx(ref, rel=1e-14)
    rc, out, err = run_cli("formula", "collapse_time", "--latex")
    assert rc == 0 and "expm1" not in out and "log1p" not in out


# ----------------------------------------------------------------------------------------------
# §1 schedules: numeric library vs lambdified expressions

T_MOD = RNG.uniform(0.01, 8.0, 200)


@pytest.mark.parametrize(
    "name, fn, xs",
    [
        ("delta", SCH.delta, T_MOD),
        ("alpha_bar", SCH.alpha_bar, T_MOD),
        ("time_from_alpha_bar", SCH.time_from_alpha_bar, RNG.uniform(1e-6, 1.0, 200)),
        ("edm_sigma", SCH.edm_sigma, T_MOD),
        ("time_from_edm_sigma", SCH.time_from_edm_sigma, RNG.uniform(0.0, 80.0, 200)),
        ("logsnr", SCH.logsnr, T_MOD),
        ("time_from_logsnr", SCH.time_from_logsnr, RNG.uniform(-15.0, 15.0, 200)),
        ("flow_tau", SCH.flow_tau, T_MOD),
        ("time_from_flow_tau", SCH.time_from_flow_tau, RNG.uniform(0.0, 0.999, 200)),
    ],
)
def test_schedule_maps_numpy(name, fn, xs):
    # moderate arguments: the textbook expressions lose nothing here -> 1e-12 relative
    got = sym.lambdify(name)(xs)
    assert_allclose(fn(xs), got, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "name, fn, xs",
    [
        ("delta", SCH.delta, [1e-12, 1e-7, 1e-3, 0.5, 10.0]),
        ("edm_sigma", SCH.edm_sigma, [1e-12, 1e-7, 1e-3, 0.5, 10.0, 300.0]),
        ("logsnr", SCH.logsnr, [1e-12, 1e-7, 1e-3, 0.5, 10.0, 300.0]),
        ("flow_tau", SCH.flow_tau, [1e-12, 1e-7, 1e-3, 0.5, 10.0]),
        ("time_from_edm_sigma", SCH.time_from_edm_sigma, [1e-9, 1e-3, 1.0, 1e3, 1e150]),
        ("time_from_logsnr", SCH.time_from_logsnr, [-600.0, -30.0, 0.0, 30.0, 600.0]),
        ("time_from_flow_tau", SCH.time_from_flow_tau, [1e-9, 0.1, 0.9, 1 - 1e-9]),
    ],
)
def test_schedule_maps_full_precision_vs_mpmath(name, fn, xs):
    # the library keeps full relative precision at the extremes: check it against the symbolic
    # expression evaluated with 400 digits (ln(1 + e^{-600}) needs them; budget rtol 1e-14)
    for x in xs:
        ref = float(mp_eval(name, x, dps=400))
        assert fn(x) == pytest.approx(ref, rel=1e-14, abs=0), (name, x)


def test_vp_sde_maps():
    s = RNG.uniform(0, 1, 100)
    bmin, bmax = 0.1, 20.0
    t_sym = sym.lambdify("time_from_vp_sde")(s, bmin, bmax)
    assert_allclose(SCH.time_from_vp_sde(s, bmin, bmax), t_sym, rtol=1e-13)
    t = RNG.uniform(0, 0.5 * bmin + 0.25 * (bmax - bmin), 100)
    s_sym = sym.lambdify("vp_sde_from_time")(t, bmin, bmax)
    assert_allclose(SCH.vp_sde_from_time(t, bmin, bmax), s_sym, rtol=1e-11, atol=1e-14)
    # the derived root really inverts the map (symbolically)
    expr = sym.formula("time_from_vp_sde").subs(sym.S["s"], sym.formula("vp_sde_from_time"))
    assert sp.simplify(expr - sym.S["t"]) == 0


def test_maps_are_inverse_pairs_symbolically():
    t = sym.S["t"]
    for fwd, inv, var in [("alpha_bar", "time_from_alpha_bar", "alpha_bar"),
                          ("edm_sigma", "time_from_edm_sigma", "sigma"),
                          ("logsnr", "time_from_logsnr", "logsnr")]:
        comp = sym.formula(inv).subs(sym.S[var], sym.formula(fwd))
        assert sp.simplify(comp - t) == 0, (fwd, inv)
    # flow matching: check numerically with 40 digits (sympy does not simplify the nested root)
    for tv in [0.01, 0.7, 3.0]:
        tau = mp_eval("flow_tau", tv)
        assert float(mp_eval("time_from_flow_tau", tau)) == pytest.approx(tv, rel=1e-30 + 1e-14)


# ----------------------------------------------------------------------------------------------
# §2 speciation


def test_speciation_times():
    lam = RNG.uniform(2.5, 500.0, 100)
    assert_allclose(SP.speciation_time(lam), sym.lambdify("speciation_time")(lam), rtol=1e-14)
    assert_allclose(SP.speciation_time_linear(lam), sym.lambdify("speciation_time_linear")(lam),
                    rtol=1e-14)
    # t_S is the root of Λ e^{-2t} = 1 (derived with solve)
    assert sp.simplify(sym.S["eigenvalue"] * sp.exp(-2 * sym.formula("speciation_time")) - 1) == 0


def test_mixture_speciation_and_large_d():
    for d, m, v in [(16.0, 0.7, 1.0), (1024.0, 1.0, 0.5), (4096.0, 0.3, 2.0)]:
        model = regimes.GaussianMixture(n=1000, d=d, separation=m, variance=v)
        assert sym.lambdify("mixture_eigenvalue")(d, m, v) == pytest.approx(model.eigenvalue,
                                                                            rel=1e-14)
        assert sym.lambdify("mixture_speciation_time")(d, m, v) == pytest.approx(
            model.speciation_time(), rel=1e-14)
    # derived large-d form: error = ½ ln(1 + σ²/(d m̃²)) -> 0 like 1/d
    f_ex, f_as = sym.lambdify("mixture_speciation_time"), sym.lambdify(
        "mixture_speciation_time_large_d")
    errs = [abs(f_ex(d, 0.8, 1.0) - f_as(d, 0.8)) for d in (1e2, 1e4, 1e6)]
    assert errs[0] > errs[1] > errs[2]
    for d, e in zip((1e2, 1e4, 1e6), errs, strict=True):
        assert e == pytest.approx(0.5 * math.log1p(1.0 / (d * 0.64)), rel=1e-8)


@pytest.mark.parametrize("r, ref", [(0.5, 0.602027), (1.0, 0.775200), (2.0, 0.965701)])
def test_cloning_integrand_reference_values(r, ref):
    f = sym.lambdify("cloning_integrand", modules="mpmath")
    with mpmath.workdps(30):
        phi = mpmath.quad(lambda z: f(z, r), [-mpmath.inf, -r, 0, mpmath.inf])
    assert float(phi) == pytest.approx(ref, abs=6e-7)  # reference quoted to 6 decimals


@pytest.mark.parametrize("r", [0.0, 0.05, 0.3, 0.9, 1.0, 1.7, 3.0, 6.0])
def test_cloning_integrand_vs_library(r):
    # mpmath quadrature of φ's integrand (20 digits) vs the library's Gauss-Hermite/Legendre rule
    f = sym.lambdify("cloning_integrand", modules="mpmath")
    with mpmath.workdps(20):
        pts = [-mpmath.inf, -r - 8.0 / max(r, 0.1), -r, 0, mpmath.inf] if r else [-mpmath.inf, 0,
                                                                                  mpmath.inf]
        phi = float(mpmath.quad(lambda z: f(z, r), sorted(set(pts))))
    assert SP.cloning_probability_r(r) == pytest.approx(phi, rel=1e-11)


def test_cloning_probability_through_snr():
    t = RNG.uniform(0.0, 6.0, 20)
    for norm_m, var in [(32.0, 1.0), (5.0, 0.3)]:
        r = sym.lambdify("cloning_snr")(t, norm_m, var)
        assert_allclose(SP.cloning_probability(t, norm_m, var), SP.cloning_probability_r(r),
                        rtol=1e-12)
    # With σ = m̃ = 1, Γ_t = 1 and r = √d e^{-t} = e^{-(t - ½ ln d)} exactly. NB: this holds for
    # the large-d form t_S = ½ ln(d m̃²), not for ½ ln(d m̃² + σ²) = ½ ln(d + 1), where
    # r(t_S) = √(d/(d+1)) (not exactly: off by O(1/d)).
    d = 256.0
    tS = 0.5 * math.log(d)
    for tv in (0.3, tS, 4.0):
        assert sym.lambdify("cloning_snr")(tv, math.sqrt(d), 1.0) == pytest.approx(
            math.exp(-(tv - tS)), rel=1e-13)


def test_cloning_small_r_series_is_derived_and_correct():
    # the derived series ½ + r²/2 − r⁴/2 matches φ to O(r⁶): error/r⁶ stays bounded and small
    series = sym.lambdify("cloning_probability_small_r")
    f = sym.lambdify("cloning_integrand", modules="mpmath")
    ratios = []
    for r in (0.2, 0.1, 0.05):
        with mpmath.workdps(40):
            phi = mpmath.quad(lambda z, r=r: f(z, r), [-mpmath.inf, 0, mpmath.inf])
        err = float(phi) - series(r)
        ratios.append(err / r**6)
        assert abs(float(phi) - 0.5 - r * r / 2) > 0.4 * r**4  # the r⁴ term is really there
    assert max(abs(x) for x in ratios) < 3.0
    # O(r⁶) scaling: err/r⁶ converges (consecutive ratios agree to 15 %)
    assert ratios[2] == pytest.approx(ratios[1], rel=0.15)


# ----------------------------------------------------------------------------------------------
# §3 collapse


def _random_nd(k):
    n = np.exp(RNG.uniform(math.log(2.0), math.log(1e12), k))
    d = np.exp(RNG.uniform(0.0, math.log(5000.0), k))
    v = np.exp(RNG.uniform(math.log(0.05), math.log(20.0), k))
    return n, d, v


def test_collapse_time_numpy_and_mpmath():
    n, d, v = _random_nd(200)
    a = np.log(n) / d
    # float64 evaluation of the textbook form cancels (n^{2/d} − 1 for tiny α, a log of
    # 1 + tiny for large α): the numpy comparison is for 1e-3 < α < 3 only
    ok = (a > 1e-3) & (a < 3.0)
    assert_allclose(C.collapse_time(n[ok], d[ok], v[ok]),
                    sym.lambdify("collapse_time")(n[ok], d[ok], v[ok]), rtol=1e-10)
    # everywhere (α down to 1e-12) against 50-digit evaluation of the symbolic form: rtol 1e-13
    cases = list(zip(n, d, v, strict=True))[:40] + [(20000.0, 1024.0, 1.0), (10.0, 1e10, 1.0)]
    for ni, di, vi in cases:
        ref = float(mp_eval("collapse_time", ni, di, vi))
        assert C.collapse_time(ni, di, vi) == pytest.approx(ref, rel=1e-13)
    for ai in [1e-9, 1e-3, 0.01, 0.1, 1.0, 5.0, 50.0]:
        ref = float(mp_eval("collapse_time_from_alpha", ai, 1.7))
        assert C.collapse_time_from_alpha(ai, 1.7) == pytest.approx(ref, rel=1e-13)


@pytest.mark.parametrize("a, ref", [(0.01, 1.961003), (0.1, 0.853886), (1.0, 0.072707)])
def test_collapse_time_reference_values(a, ref):
    assert float(mp_eval("collapse_time_from_alpha", a, 1.0)) == pytest.approx(ref, abs=6e-7)


def test_collapse_time_reference_value_nd():
    assert float(mp_eval("collapse_time", 20000, 1024, 1)) == pytest.approx(1.977547, abs=6e-7)


def test_excess_entropy():
    t = RNG.uniform(0.05, 6.0, 200)
    n, d, v = _random_nd(200)
    assert_allclose(C.excess_entropy(t, n, d, v), sym.lambdify("excess_entropy")(t, n, d, v),
                    rtol=1e-10, atol=1e-13)
    # t_C is the zero of f: f(t_C) = 0 and f > 0 just above it
    f = sym.lambdify("excess_entropy")
    for ni, di, vi in zip(n[:10], d[:10], v[:10], strict=True):
        tc = C.collapse_time(ni, di, vi)
        assert f(tc * (1 - 1e-9), ni, di, vi) == 0.0
        assert f(tc * (1 + 1e-6) + 1e-12, ni, di, vi) > 0.0
    # derived large-t limit f(∞) = α, vs the library at t = 40
    assert sym.formula("excess_entropy_large_t") == sym.formula("alpha")
    for ni, di in [(1e4, 100.0), (50.0, 3.0)]:
        assert C.excess_entropy(40.0, ni, di) == pytest.approx(math.log(ni) / di, rel=1e-14)


def test_separated_entropy_vs_mpmath_gaussian_entropy():
    # s_sep = α + ½ ln(2πeΔ_t): entropy per dim of n separated N(·, Δ_t I) lumps = ln(n)/d + h(N)
    t, n, d = 0.8, 1e5, 50.0
    h = 0.5 * math.log(2 * math.pi * math.e * SCH.delta(t))
    assert sym.lambdify("separated_entropy")(t, n, d) == pytest.approx(math.log(n) / d + h,
                                                                      rel=1e-14)


def test_collapse_asymptotics_match_library_forms():
    n, d, v = _random_nd(50)
    a = np.log(n) / d
    assert_allclose(C.collapse_time_small_alpha(n, d, v),
                    sym.lambdify("collapse_time_small_alpha")(a, v), rtol=1e-12, atol=1e-14)
    assert_allclose(C.collapse_time_small_alpha(n, d, v),
                    sym.lambdify("collapse_time_small_alpha_nd")(n, d, v), rtol=1e-12, atol=1e-14)
    assert_allclose(C.collapse_time_large_alpha(n, d, v),
                    sym.lambdify("collapse_time_large_alpha")(a, v), rtol=1e-12)
    assert_allclose(C.collapse_time_large_alpha(n, d, v),
                    sym.lambdify("collapse_time_large_alpha_nd")(n, d, v), rtol=1e-12)
    # they were derived, not typed: the expressions are the textbook asymptotic forms
    al, var = sym.S["alpha"], sym.S["variance"]
    assert sp.simplify(sym.formula("collapse_time_small_alpha") - sp.log(var / (2 * al)) / 2) == 0
    assert sp.simplify(sym.formula("collapse_time_large_alpha") - var * sp.exp(-2 * al) / 2) == 0


@pytest.mark.parametrize("var", [0.3, 1.0, 4.0])
def test_numeric_collapse_time_approaches_asymptotics(var):
    small = sym.lambdify("collapse_time_small_alpha")
    small2 = sym.lambdify("collapse_time_small_alpha_2")
    large = sym.lambdify("collapse_time_large_alpha")
    # α → 0: leading error O(α), next-order error O(α²)
    e1, e2 = [], []
    for a in (1e-2, 1e-4, 1e-6):
        tc = C.collapse_time_from_alpha(a, var)
        e1.append(abs(tc - small(a, var)))
        e2.append(abs(tc - small2(a, var)))
        assert abs(tc - small(a, var)) <= 2.0 * a * (1 + 1 / var)
        assert abs(tc - small2(a, var)) <= 2.0 * a * a * (1 + var + var**2)
    assert e1[2] < e1[1] < e1[0] and e2[2] < e2[1] < e2[0]
    # α → ∞: relative error O(e^{−2α}(1 + σ²))
    for a in (3.0, 6.0, 12.0):
        tc = C.collapse_time_from_alpha(a, var)
        assert abs(tc / large(a, var) - 1) <= 2.0 * math.exp(-2 * a) * (1 + var)


# ----------------------------------------------------------------------------------------------
# §4 Marchenko–Pastur: independent oracles (mpmath quadrature, the quadratic, sampled Wishart)


@pytest.mark.parametrize("g, v", [(0.25, 1.0), (4.0, 1.0), (1.7, 0.6), (0.5, 2.5)])
def test_mp_density_integrates_to_continuous_mass(g, v):
    f = sym.lambdify("mp_density", modules="mpmath")
    with mpmath.workdps(30):
        lo, hi = mp_eval("mp_lower_edge", g, v, dps=30), mp_eval("mp_upper_edge", g, v, dps=30)
        mass = mpmath.re(mpmath.quad(lambda x: f(x, g, v), [lo, (lo + hi) / 2, hi]))
        mean = mpmath.re(mpmath.quad(lambda x: x * f(x, g, v), [lo, (lo + hi) / 2, hi]))
    atom = float(sym.lambdify("mp_atom")(g))
    assert float(mass) == pytest.approx(1.0 - atom, abs=1e-12)
    assert float(mean) == pytest.approx(v, rel=1e-12)  # E x = σ² (the atom sits at 0)


def test_mp_reference_examples():
    lo, hi, atom = (sym.lambdify(k) for k in ("mp_lower_edge", "mp_upper_edge", "mp_atom"))
    assert (lo(4.0, 1.0), hi(4.0, 1.0), atom(4.0)) == pytest.approx((1.0, 9.0, 0.75), abs=1e-15)
    assert (lo(0.25, 1.0), hi(0.25, 1.0), atom(0.25)) == pytest.approx((0.25, 2.25, 0.0), abs=1e-15)


def test_mp_vs_sampled_wishart():
    rng = np.random.default_rng(7)
    M, N, v = 300, 1200, 2.0  # γ = 0.25
    g = M / N
    Y = rng.normal(scale=math.sqrt(v), size=(M, N))
    ev = np.linalg.eigvalsh(Y @ Y.T / N)
    lo, hi = sym.lambdify("mp_lower_edge")(g, v), sym.lambdify("mp_upper_edge")(g, v)
    # extreme eigenvalues fluctuate on the scale M^{-2/3} ≈ 0.02 (relative): allow 5 %
    assert ev.min() == pytest.approx(lo, rel=0.05)
    assert ev.max() == pytest.approx(hi, rel=0.05)
    # distribution: empirical cdf vs quadrature of the density at three points (± 0.03)
    f = sym.lambdify("mp_density", modules="mpmath")
    for q in (0.25, 0.5, 0.75):
        x = lo + q * (hi - lo)
        cdf = float(mpmath.re(mpmath.quad(lambda s: f(s, g, v), [lo, x])))
        assert np.mean(ev <= x) == pytest.approx(cdf, abs=0.03)


def test_mp_stieltjes_branch_and_equation():
    m = sym.lambdify("mp_stieltjes")
    resid = sym.lambdify("mp_stieltjes_equation")
    for g, v in [(0.25, 1.0), (4.0, 1.0), (1.0, 0.7), (2.5, 3.0)]:
        z = RNG.uniform(-2, 12, 50) + 1j * np.exp(RNG.uniform(-6, 2, 50))
        mz = m(z, g, v)
        assert np.all(mz.imag > 0)  # Herglotz: Im m > 0 for Im z > 0
        assert_allclose(resid(mz, z, g, v), 0, atol=1e-9 * (1 + np.abs(z)).max())
        # independent: the root of the quadratic with Im m > 0, found by numpy.roots
        for zi, mi in zip(z[:10], mz[:10], strict=True):
            roots = np.roots([v * g * zi, zi - v * (1 - g), 1.0])
            good = roots[np.argmax(roots.imag)]
            assert mi == pytest.approx(good, rel=1e-9)
        # m ~ −1/z at infinity
        big = 1e7 * (1 + 1j)
        assert m(big, g, v) == pytest.approx(-1 / big, rel=1e-5)


@pytest.mark.parametrize("g, v, z", [(4.0, 1.0, 2.0 + 0.5j), (0.25, 1.0, 1.0 + 0.1j),
                                     (1.7, 0.6, -0.5 + 0.3j)])
def test_mp_stieltjes_vs_quadrature(g, v, z):
    f = sym.lambdify("mp_density", modules="mpmath")
    with mpmath.workdps(30):
        lo, hi = mp_eval("mp_lower_edge", g, v, dps=30), mp_eval("mp_upper_edge", g, v, dps=30)
        cont = mpmath.quad(lambda x: f(x, g, v) / (x - z), [lo, (lo + hi) / 2, hi])
    atom = float(sym.lambdify("mp_atom")(g))
    ref = complex(cont) + atom * (-1.0 / z)
    assert complex(sym.lambdify("mp_stieltjes")(z, g, v)) == pytest.approx(ref, rel=1e-10)


def test_mp_against_regimes_rmt():
    rmt = pytest.importorskip("regimes.rmt")
    if not hasattr(rmt, "MarchenkoPastur"):
        pytest.skip("regimes.rmt.MarchenkoPastur not available")
    for g, v in [(0.25, 1.0), (4.0, 1.0), (1.7, 0.6)]:
        mp = rmt.MarchenkoPastur(g, v)
        lo, hi = sym.lambdify("mp_lower_edge")(g, v), sym.lambdify("mp_upper_edge")(g, v)
        assert mp.support() == pytest.approx((lo, hi), rel=1e-14)
        assert mp.atom == pytest.approx(float(sym.lambdify("mp_atom")(g)), rel=1e-14, abs=0)
        x = np.linspace(lo, hi, 53)[1:-1]
        assert_allclose(mp.pdf(x), sym.lambdify("mp_density")(x, g, v), rtol=1e-11)
        z = np.array([0.5 + 0.2j, 3.0 + 1e-3j, -1.0 + 2j, 20.0 + 0.0j])
        assert_allclose(mp.stieltjes(z), sym.lambdify("mp_stieltjes")(z, g, v), rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# §4 random features: leading-order edges vs sampled Gaussian-equivalent matrices; timescales


def test_rf_memorisation_edges_vs_sampled():
    # slow bulk at leading order: U = v² ΩΩᵀ/n + s² I (Ω p×n N(0,1)), i.e. the G-part of the
    # Gaussian equivalent with a_t = b_t = 0: MP with ratio ψ_p/ψ_n = p/n, shifted by s².
    rng = np.random.default_rng(11)
    p, n, d = 300, 900, 150
    s2, v2 = 0.0136, 0.0138  # tanh, t = 0.1 (rounded reference constants)
    Om = rng.normal(size=(p, n))
    ev = np.linalg.eigvalsh(v2 * Om @ Om.T / n + s2 * np.eye(p))
    lo = sym.lambdify("rf_memorisation_lower_edge")(s2, v2, p / d, n / d)
    hi = sym.lambdify("rf_memorisation_upper_edge")(s2, v2, p / d, n / d)
    width = hi - lo
    assert abs(ev.min() - lo) < 0.05 * width
    assert abs(ev.max() - hi) < 0.05 * width


def test_rf_generalisation_edges_vs_sampled():
    # fast bulk (Σ = I, ψ_n → ∞): U ≈ κ₁² WWᵀ/d + μ*² I, W p×d N(0,1); for p > d an atom at μ*²
    rng = np.random.default_rng(12)
    p, d = 400, 200
    kappa1, mu2 = 0.6057, 0.03
    W = rng.normal(size=(p, d))
    ev = np.linalg.eigvalsh(kappa1**2 * W @ W.T / d + mu2 * np.eye(p))
    bulk = ev[p - d:]
    assert_allclose(ev[: p - d], mu2, atol=1e-10)
    lo = sym.lambdify("rf_generalisation_lower_edge")(mu2, kappa1, p / d)
    hi = sym.lambdify("rf_generalisation_upper_edge")(mu2, kappa1, p / d)
    width = hi - lo
    assert abs(bulk.min() - lo) < 0.05 * width
    assert abs(bulk.max() - hi) < 0.05 * width


def test_tau_lambda_is_the_relaxation_time_of_the_gradient_flow():
    # scalar mode of dB/dτ = −(2Δ_t/ψ_p) B λ − c: b(τ) − b* ∝ exp(−τ/τ_λ). Integrate with an
    # explicit RK4 (independent of the closed form) and read the e-folding time.
    t, psi_p, lam, c = 0.3, 2.0, 0.8, 0.5
    rate = 2 * SCH.delta(t) * lam / psi_p
    b, h, tau_end = 0.0, 1e-3, 2.0
    steps = int(tau_end / h)
    bstar = -c / rate

    def rhs(x):
        return -rate * x - c

    for _ in range(steps):
        k1 = rhs(b)
        k2 = rhs(b + h * k1 / 2)
        k3 = rhs(b + h * k2 / 2)
        k4 = rhs(b + h * k3)
        b += h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
    tau_fit = tau_end / math.log((0 - bstar) / (b - bstar))
    assert sym.lambdify("tau_lambda")(t, psi_p, lam) == pytest.approx(tau_fit, rel=1e-9)


def test_tau_gen_and_tau_mem_are_tau_lambda_at_the_bulk_scales():
    t, pp, pn, k, v2 = (sym.S[x] for x in ("t", "psi_p", "psi_n", "kappa1", "v2"))
    tl = sym.formula("tau_lambda")
    # fast bulk eigenvalues scale like ψ_p Γ_t² κ₁² (Γ_t² = e^{-2t}σ_x² + Δ_t), slow bulk like ψ_p v²/ψ_n  ([WM])
    gamma2 = sp.exp(-2 * t) * sym.S["variance"] + 1 - sp.exp(-2 * t)
    assert sp.simplify(tl.subs(sym.S["lam"], pp * gamma2 * k**2) - sym.formula("tau_gen")) == 0
    assert sp.simplify(tl.subs(sym.S["lam"], pp * v2 / pn) - sym.formula("tau_mem")) == 0
    # numbers: tanh, t = 0.1: κ₁ from mpmath (E[sech²(z)], Γ_t = 1) vs the reference 0.60570551
    with mpmath.workdps(30):
        k1 = mpmath.quad(lambda z: mpmath.sech(z) ** 2 * mpmath.npdf(z), [-mpmath.inf, 0,
                                                                         mpmath.inf])
    assert float(k1) == pytest.approx(0.60570551, abs=5e-9)
    tg = sym.lambdify("tau_gen")(0.1, float(k1))
    assert tg == pytest.approx(1 / (2 * SCH.delta(0.1) * float(k1) ** 2), rel=1e-12)
    assert sym.lambdify("tau_mem")(0.1, 10.0, 0.01384145) == pytest.approx(
        10.0 / (2 * SCH.delta(0.1) * 0.01384145), rel=1e-12)


@pytest.mark.parametrize("t, psi_p, psi_n", [(0.1, 3.0, 1.5), (0.5, 0.8, 4.0), (1.2, 6.0, 2.0)])
def test_rf_against_regimes_rmt(t, psi_p, psi_n):
    rmt = pytest.importorskip("regimes.rmt")
    if not hasattr(rmt, "RandomFeatures"):
        pytest.skip("regimes.rmt.RandomFeatures not available")
    rf = rmt.RandomFeatures(psi_p, psi_n, t)  # tanh, Σ = I
    c = rf.constants
    lo = rf.leading_order
    slow = (sym.lambdify("rf_memorisation_lower_edge")(c.s_t2, c.v_t2, psi_p, psi_n),
            sym.lambdify("rf_memorisation_upper_edge")(c.s_t2, c.v_t2, psi_p, psi_n))
    assert lo["slow"]["edges"] == pytest.approx(slow, rel=1e-12)
    # fast bulk: our form uses μ*² = E[σ(Γz)²] − Γ²κ₁² and κ₁ (Σ = I, Γ_t = 1); regimes.rmt uses
    # the Gaussian-equivalent s² + v² and a_t²e^{-2t} + b_t²: equal by the Stein identities,
    # up to quadrature error (1e-9)
    fast = (sym.lambdify("rf_generalisation_lower_edge")(c.mu_star2, c.kappa1, psi_p),
            sym.lambdify("rf_generalisation_upper_edge")(c.mu_star2, c.kappa1, psi_p))
    assert lo["fast"]["edges"] == pytest.approx(fast, rel=1e-9)
    assert lo["atom"]["mass"] == pytest.approx(float(sym.lambdify("rf_atom_mass")(psi_p, psi_n)),
                                               abs=1e-15)
    assert rf.tau_gen == pytest.approx(sym.lambdify("tau_gen")(t, c.kappa1), rel=1e-9)
    assert rf.tau_mem == pytest.approx(sym.lambdify("tau_mem")(t, psi_n, c.v_t2), rel=1e-12)
    assert rf.tau(0.37) == pytest.approx(sym.lambdify("tau_lambda")(t, psi_p, 0.37), rel=1e-12)


def test_rf_optimal_loss():
    t = RNG.uniform(0.01, 5, 20)
    assert_allclose(sym.lambdify("rf_optimal_loss")(t), 1 - SCH.delta(t), rtol=1e-12)
