"""Review fixes in regimes.symbolic: the Marchenko–Pastur Stieltjes transform near z = 0, the
argument domains of ``lambdify``/``python()`` against the numeric library, the σ² default.

Oracles: mpmath at 30–50 digits — the Stieltjes transform as the integral of the MP density
(written here from its definition) plus the atom, and every other formula written here from its
definition, independently of the sympy expressions; the exact value m(0) = 1/(σ²(1 − γ)); the
numeric library's own accept/refuse decision for every domain rule. Tolerances are stated at each
comparison.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import mpmath
import numpy as np
import pytest

from regimes import RegimesError, RegimesWarning
from regimes import collapse as C
from regimes import schedules as SCH
from regimes import speciation as SP
from regimes.models import GaussianMixture
from regimes.rmt import MarchenkoPastur, RandomFeatures

sym = pytest.importorskip("regimes.symbolic")

NAN, INF = math.nan, math.inf


def _py(name):
    ns: dict = {}
    exec(compile(sym.python(name), f"<{name}>", "exec"), ns)  # noqa: S102 - our own generated source
    return ns[name]


# ----------------------------------------------------------------------------------------------
# 1. mp_stieltjes near z = 0 (γ < 1: the plain form is 0/0 there)


def mp_stieltjes_oracle(z, g, v, dps=30):
    """m(z) = ∫ρ(x)/(x − z) dx + (atom)·(−1/z), ρ the MP density written from its definition,
    integrated by mpmath (tanh-sinh handles the square-root endpoints)."""
    with mpmath.workdps(dps):
        z, g, v = mpmath.mpc(z), mpmath.mpf(g), mpmath.mpf(v)
        lo, hi = v * (1 - mpmath.sqrt(g)) ** 2, v * (1 + mpmath.sqrt(g)) ** 2

        def rho(x):
            return mpmath.sqrt((hi - x) * (x - lo)) / (2 * mpmath.pi * v * g * x)

        m = mpmath.quad(lambda x: rho(x) / (x - z), [lo, (lo + hi) / 2, hi])
        if g > 1:
            m += (1 - 1 / g) * (-1 / z)
        return complex(m)


SMALL_Z = [0.0, -1e-15, -1e-12, 1e-12, -1e-8, 1e-8, 1e-12 + 1e-12j, 1e-12 - 1e-12j,
           -1e-12 + 1e-15j, 1e-9j, -1e-9j, -2.0 + 0.5j]


def _away(g, v):
    """Points at a distance from the support [λ₋, λ₊] (where the quadrature is accurate)."""
    lo, hi = v * (1 - math.sqrt(g)) ** 2, v * (1 + math.sqrt(g)) ** 2
    return [lo / 2 + 1e-3j, 1.5 * hi + 1e-3j, 2.0 * hi, (lo + hi) / 2 + 0.5j * (hi - lo)]


@pytest.mark.parametrize("g, v", [(0.25, 1.0), (0.5, 2.5), (0.9, 0.3)])
def test_mp_stieltjes_small_z_vs_integral(g, v):
    lam, py = sym.lambdify("mp_stieltjes"), _py("mp_stieltjes")
    lib = MarchenkoPastur(g, v)
    for z in SMALL_Z + _away(g, v):
        ref = mp_stieltjes_oracle(z, g, v)
        for label, got in (("lambdify", complex(lam(z, g, v))), ("python", py(z, g, v)),
                           ("library", complex(lib.stieltjes(z)))):
            # the transform is well conditioned off the support: 1e-13 relative on the value and
            # on Im m alone (Im m is ~1e-12 at z = 1e-12(1 + i), where the plain form had Im m < 0)
            assert abs(got - ref) <= 1e-13 * abs(ref), (label, z, got, ref)
            assert abs(got.imag - ref.imag) <= 1e-10 * abs(ref.imag) + 1e-300, (label, z, got, ref)
            if complex(z).imag > 0:
                assert got.imag > 0, (label, z, got)
    # the exact value at z = 0: m(0) = ∫ρ(x)/x dx = 1/(σ²(1 − γ)) for γ < 1
    with mpmath.workdps(50):
        exact = float(1 / (mpmath.mpf(v) * (1 - mpmath.mpf(g))))
    assert complex(lam(0.0, g, v)) == pytest.approx(exact, rel=1e-15)
    assert py(0j, g, v) == pytest.approx(exact, rel=1e-15)


def test_mp_stieltjes_reported_points():
    # the review's numbers (γ = 0.25, σ² = 1): z = −1e-12 was off by 3e-5, z = 0 gave nan+nanj,
    # and z = 1e-12(1 + i) had Im m = −2.2e-5 instead of +2.37e-12
    lam = sym.lambdify("mp_stieltjes")
    with mpmath.workdps(50):  # Im m = Im z ∫ρ/x² + O(|z|²) with ∫ρ/x² = 1/(1 − γ)³ for σ² = 1
        im_ref = float(mpmath.mpf("1e-12") / (1 - mpmath.mpf("0.25")) ** 3)
    m = complex(lam(1e-12 + 1e-12j, 0.25, 1.0))
    assert m.imag == pytest.approx(im_ref, rel=1e-9)
    with mpmath.workdps(50):  # m(z) = 1/(1 − γ) + z/(1 − γ)³ + O(z²) for σ² = 1
        near = float(1 / (1 - mpf("0.25")) - mpf("1e-12") / (1 - mpf("0.25")) ** 3)
    assert complex(lam(-1e-12, 0.25, 1.0)) == pytest.approx(near, rel=1e-15)
    assert complex(lam(0.0, 0.25, 1.0)) == pytest.approx(4 / 3, rel=1e-15)


def test_mp_stieltjes_herglotz_near_the_axis_and_library():
    # Im m > 0 for Im z > 0 on a grid down to Im z = 1e-14, across the support, around z = 0 and
    # for γ <, =, > 1; and the same branch as MarchenkoPastur.stieltjes (1e-12 relative)
    rng = np.random.default_rng(5)
    lam = sym.lambdify("mp_stieltjes")
    for g, v in [(0.25, 1.0), (1.0, 0.7), (4.0, 1.0), (0.04, 3.0)]:
        x = np.concatenate([rng.uniform(-3, 12, 400), rng.uniform(-1e-6, 1e-6, 100)])
        for eps in (1e-14, 1e-12, 1e-8, 1e-3, 1.0):
            z = x + 1j * eps
            m = lam(z, g, v)
            assert np.all(m.imag > 0), (g, eps, z[m.imag <= 0][:3])
            np.testing.assert_allclose(m, MarchenkoPastur(g, v).stieltjes(z), rtol=1e-12)
            np.testing.assert_allclose(lam(np.conj(z), g, v), np.conj(m), rtol=1e-14)  # m(z̄) = m(z)̄


@pytest.mark.parametrize("g", [1.0, 4.0])
def test_mp_stieltjes_pole_at_zero_as_library(g):
    # γ >= 1: z = 0 is the atom's pole (λ₋ = 0 for γ = 1): −inf + nan·i, as the library
    lib = complex(MarchenkoPastur(g).stieltjes(0.0))
    for got in (complex(sym.lambdify("mp_stieltjes")(0.0, g, 1.0)), _py("mp_stieltjes")(0j, g, 1.0),
                complex(sym.lambdify("mp_stieltjes")(np.array([0.0, 1.0]), g, 1.0)[0])):
        assert got.real == lib.real == -INF and math.isnan(got.imag) and math.isnan(lib.imag)


@pytest.mark.parametrize("g, v, z", [(4.0, 1.0, 2.0 + 0.5j), (4.0, 1.0, -1e-9 + 1e-9j),
                                     (1.0, 0.7, 1e-6 + 1e-6j), (1.0, 0.7, -3.0 - 0.2j),
                                     (0.25, 2.5, 6.0 - 1e-4j), (0.25, 2.5, 0.5 + 1e-2j)])
def test_mp_stieltjes_unchanged_away_from_zero(g, v, z):
    # the override changes nothing where the plain form was right: integral oracle, 1e-12 relative
    ref = mp_stieltjes_oracle(z, g, v)
    assert complex(sym.lambdify("mp_stieltjes")(z, g, v)) == pytest.approx(ref, rel=1e-12)
    assert _py("mp_stieltjes")(z, g, v) == pytest.approx(ref, rel=1e-12)
    assert complex(sym.lambdify("mp_stieltjes", stable=False)(z, g, v)) == pytest.approx(ref, rel=1e-9)


def test_mp_stieltjes_real_and_bad_arguments():
    lam = sym.lambdify("mp_stieltjes")
    # a real z is a complex number on the real axis (numpy's sqrt of a negative real is nan)
    assert complex(lam(0.3, 0.25, 1.0)) == pytest.approx(complex(MarchenkoPastur(0.25).stieltjes(0.3)), rel=1e-14)
    assert complex(lam(-2.0, 0.25, 1.0)) == pytest.approx(mp_stieltjes_oracle(-2.0, 0.25, 1.0), rel=1e-13)
    for bad in (complex(NAN, 0.0), complex(INF, 1.0)):
        with pytest.raises(RegimesError, match=r"^zeta must be finite, got "):
            lam(bad, 0.25, 1.0)
        with pytest.raises(ValueError, match=r"^zeta must be finite"):
            _py("mp_stieltjes")(bad, 0.25, 1.0)
        with pytest.raises(RegimesError, match=r"^z must be finite"):
            MarchenkoPastur(0.25).stieltjes(bad)


# ----------------------------------------------------------------------------------------------
# 2. domains: lambdify and python() accept/refuse what the library does, with equal values


def _mixture(d, m, v):
    return GaussianMixture(n=100, d=d, separation=m, variance=v)


def _mp_halfedge(k):
    return lambda g, v: MarchenkoPastur(g, v).support()[k]


#: formula -> the library call with the same arguments. "decide:" entries only decide accept/refuse
#: (the library computes the quantity inside another function); their values are checked against
#: mpmath alone.
LIBRARY = {
    "delta": SCH.delta, "alpha_bar": SCH.alpha_bar, "time_from_alpha_bar": SCH.time_from_alpha_bar,
    "edm_sigma": SCH.edm_sigma, "time_from_edm_sigma": SCH.time_from_edm_sigma, "logsnr": SCH.logsnr,
    "time_from_logsnr": SCH.time_from_logsnr, "flow_tau": SCH.flow_tau,
    "time_from_flow_tau": SCH.time_from_flow_tau, "time_from_vp_sde": SCH.time_from_vp_sde,
    "vp_sde_from_time": SCH.vp_sde_from_time, "speciation_time": SP.speciation_time,
    "speciation_time_linear": SP.speciation_time_linear,
    "mixture_eigenvalue": lambda d, m, v: _mixture(d, m, v).eigenvalue,
    "mixture_speciation_time": lambda d, m, v: _mixture(d, m, v).speciation_time(),
    "alpha": C.alpha, "excess_entropy": C.excess_entropy, "collapse_time": C.collapse_time,
    "collapse_time_from_alpha": C.collapse_time_from_alpha,
    "collapse_time_small_alpha_nd": C.collapse_time_small_alpha,
    "collapse_time_large_alpha_nd": C.collapse_time_large_alpha,
    "mp_lower_edge": _mp_halfedge(0), "mp_upper_edge": _mp_halfedge(1),
    "mp_atom": lambda g: MarchenkoPastur(g).atom,
    "mp_density": lambda x, g, v: MarchenkoPastur(g, v).pdf(x),
    "tau_lambda": lambda t, pp, lam: RandomFeatures(pp, 1.0, t).tau(lam),
}
DECIDE = {
    "noised_variance": lambda t, v: SP.cloning_probability(t, 0.0, v, order=4),
    "cloning_snr": lambda t, m, v: SP.cloning_probability(t, m, v, order=4),
    "excess_entropy_large_t": C.alpha,
    "separated_entropy": lambda t, n, d: (SCH.delta(t), C.alpha(n, d)),
    "rf_optimal_loss": SCH.delta,
    "tau_gen": lambda t, k: RandomFeatures(2.0, 1.0, t),
    "tau_mem": lambda t, pn, v2: RandomFeatures(2.0, pn, t),
}

mpf, mexp, mlog, msqrt, mexpm1 = mpmath.mpf, mpmath.exp, mpmath.log, mpmath.sqrt, mpmath.expm1


def _mp_vp_s(t, b0, b1):
    db = b1 - b0  # positive root of ¼Δβ s² + ½β₀ s − t = 0 (at 50 digits: no cancellation to fear)
    return 2 * t / b0 if db == 0 else (-b0 / 2 + msqrt(b0**2 / 4 + db * t)) / (db / 2)


def _mp_density(x, g, v):
    lo, hi = v * (1 - msqrt(g)) ** 2, v * (1 + msqrt(g)) ** 2
    return msqrt((hi - x) * (x - lo)) / (2 * mpmath.pi * v * g * x) if lo < x < hi else mpf(0)


#: each formula from its definition, in mpmath (not from the sympy expressions); e^x − 1 as
#: mpmath.expm1 so that t, α down to 1e-300 keep their digits at 50-digit working precision
ORACLE = {
    "delta": lambda t: -mexpm1(-2 * t),
    "alpha_bar": lambda t: mexp(-2 * t),
    "time_from_alpha_bar": lambda a: -mlog(a) / 2,
    "edm_sigma": lambda t: msqrt(mexpm1(2 * t)),
    "time_from_edm_sigma": lambda s: mlog(1 + s**2) / 2,
    "logsnr": lambda t: -mlog(mexpm1(2 * t)),
    "time_from_logsnr": lambda lam: mlog(1 + mexp(-lam)) / 2,
    "flow_tau": lambda t: msqrt(mexpm1(2 * t)) / (1 + msqrt(mexpm1(2 * t))),
    "time_from_flow_tau": lambda tau: mlog(1 + tau**2 / (1 - tau) ** 2) / 2,
    "time_from_vp_sde": lambda s, b0, b1: b0 * s / 2 + (b1 - b0) * s**2 / 4,
    "vp_sde_from_time": _mp_vp_s,
    "speciation_time": lambda lam: mlog(lam) / 2,
    "speciation_time_linear": lambda lam: mlog(lam - 1) / 2,
    "mixture_eigenvalue": lambda d, m, v: d * m**2 + v,
    "mixture_speciation_time": lambda d, m, v: mlog(d * m**2 + v) / 2,
    "noised_variance": lambda t, v: -mexpm1(-2 * t) + v * mexp(-2 * t),
    "cloning_snr": lambda t, m, v: m * mexp(-t) / msqrt(-mexpm1(-2 * t) + v * mexp(-2 * t)),
    "alpha": lambda n, d: mlog(n) / d,
    "excess_entropy": lambda t, n, d, v: max(0, mlog(n) / d - mlog(1 + v * mexp(-2 * t) / -mexpm1(-2 * t)) / 2),
    "excess_entropy_large_t": lambda n, d: mlog(n) / d,
    "separated_entropy": lambda t, n, d: mlog(n) / d + mlog(2 * mpmath.pi * mpmath.e * -mexpm1(-2 * t)) / 2,
    "collapse_time": lambda n, d, v: mlog(1 + v / mexpm1(2 * mlog(n) / d)) / 2,
    "collapse_time_from_alpha": lambda a, v: mlog(1 + v / mexpm1(2 * a)) / 2,
    "collapse_time_small_alpha_nd": lambda n, d, v: mlog(v * d / (2 * mlog(n))) / 2,
    "collapse_time_large_alpha_nd": lambda n, d, v: v * n ** (-2 / d) / 2,
    "mp_lower_edge": lambda g, v: v * (1 - msqrt(g)) ** 2,
    "mp_upper_edge": lambda g, v: v * (1 + msqrt(g)) ** 2,
    "mp_atom": lambda g: max(0, 1 - 1 / g),
    "mp_density": _mp_density,
    "tau_lambda": lambda t, pp, lam: pp / (2 * -mexpm1(-2 * t) * lam),
    "tau_gen": lambda t, k: 1 / (2 * -mexpm1(-2 * t) * k**2),
    "tau_mem": lambda t, pn, v2: pn / (2 * -mexpm1(-2 * t) * v2),
    "rf_optimal_loss": lambda t: mexp(-2 * t),
}

UP = math.nextafter(1.0, 2.0)
T_END = 0.5 * 0.1 + 0.25 * (20.0 - 0.1)  # the OU time at s = 1 of Song et al.'s VP-SDE
POINTS = {
    "delta": [(0.0,), (1e-12,), (0.7,), (INF,), (-1.0,), (NAN,)],
    "alpha_bar": [(0.0,), (3.0,), (INF,), (-1e-300,)],
    "time_from_alpha_bar": [(0.0,), (1e-300,), (0.4,), (1.0,), (UP,), (2.0,), (-0.5,), (INF,)],
    "edm_sigma": [(0.0,), (1e-9,), (2.0,), (INF,), (-1.0,)],
    "time_from_edm_sigma": [(0.0,), (1.3,), (INF,), (-1.0,), (NAN,)],
    "logsnr": [(0.0,), (1e-300,), (0.3,), (40.0,), (INF,), (-1.0,)],
    "time_from_logsnr": [(INF,), (-INF,), (0.0,), (-700.0,), (35.0,), (NAN,)],
    "flow_tau": [(0.0,), (1e-10,), (3.0,), (400.0,), (INF,), (-1.0,)],
    "time_from_flow_tau": [(0.0,), (0.5,), (1 - 1e-9,), (1.0,), (UP,), (1.5,), (-0.1,), (NAN,)],
    "time_from_vp_sde": [(0.0, 0.1, 20.0), (0.6, 0.1, 20.0), (1.0, 0.1, 20.0), (UP, 0.1, 20.0),
                         (2.0, 0.1, 20.0), (-0.1, 0.1, 20.0), (0.5, 20.0, 0.1), (0.5, 0.0, 20.0),
                         (0.5, 1.0, 1.0), (0.5, -0.1, 20.0), (0.5, 0.1, 0.0), (0.5, 0.1, INF)],
    "vp_sde_from_time": [(0.0, 0.1, 20.0), (0.0, 0.0, 20.0), (1e-3, 0.0, 20.0), (2.0, 0.1, 20.0),
                         (T_END, 0.1, 20.0), (T_END * (1 + 1e-13), 0.1, 20.0), (5.03, 0.1, 20.0),
                         (50.0, 0.1, 20.0), (INF, 0.1, 20.0), (-1.0, 0.1, 20.0), (0.5, 20.0, 0.1),
                         (0.3, 2.0, 2.0), (0.5, -1.0, 20.0)],
    "speciation_time": [(0.5,), (1.0,), (2.0,), (1e300,), (INF,), (0.0,)],
    "speciation_time_linear": [(1.5,), (2.0,), (3.0,), (INF,), (-1.0,)],
    "mixture_eigenvalue": [(1.0, 0.5, 1.0), (0.5, 0.5, 1.0), (INF, 0.5, 1.0), (4.0, 0.0, 1.0),
                           (4.0, 0.5, 0.0)],
    "mixture_speciation_time": [(1.0, 0.1, 0.5), (16.0, 0.7, 1.0), (0.99, 1.0, 1.0), (4.0, 1.0, -1.0)],
    "noised_variance": [(0.0, 0.3), (0.8, 0.3), (INF, 1.0), (-1.0, 1.0), (0.5, 0.0)],
    "cloning_snr": [(0.0, 3.0, 0.3), (1.2, 0.0, 1.0), (2.0, 5.0, 1.0), (INF, 1.0, 1.0), (1.0, -1.0, 1.0),
                    (-0.1, 1.0, 1.0)],
    "alpha": [(2.0, 1.0), (1e300, 1e-300 + 1.0), (1.0, 1.0), (2.0, 0.5), (INF, 1.0), (2.0, INF)],
    "excess_entropy": [(0.0, 100.0, 10.0, 1.0), (1.3, 1e6, 10.0, 0.3), (INF, 100.0, 10.0, 1.0),
                       (0.5, 1.0, 10.0, 1.0), (0.5, 100.0, 0.5, 1.0), (0.5, 100.0, 10.0, 0.0),
                       (-0.1, 100.0, 10.0, 1.0)],
    "excess_entropy_large_t": [(2.0, 1.0), (1.5, 1.0), (10.0, 0.9)],
    "separated_entropy": [(0.0, 2.0, 1.0), (0.8, 1e5, 50.0), (INF, 2.0, 1.0), (0.8, 1.0, 50.0),
                          (0.8, 1e5, 0.9), (-1.0, 2.0, 1.0)],
    "collapse_time": [(2.0, 1e15, 1.0), (20000.0, 1024.0, 1.0), (2.0, 1.0, 1e-3), (1.0, 100.0, 1.0),
                      (0.5, 100.0, 1.0), (math.nextafter(2.0, 0.0), 100.0, 1.0), (2.0, 0.999, 1.0),
                      (20000.0, 1024.0, 0.0), (INF, 10.0, 1.0), (100.0, INF, 1.0)],
    "collapse_time_from_alpha": [(1e-300, 1.0), (0.2, 1.7), (0.0, 1.0), (INF, 1.0), (1.0, -1.0)],
    "collapse_time_small_alpha_nd": [(1e4, 1e3, 1.0), (1.0, 1e3, 1.0), (1e4, 0.5, 1.0)],
    "collapse_time_large_alpha_nd": [(1e4, 2.0, 0.5), (1.5, 2.0, 0.5), (1e4, 2.0, INF)],
    "mp_lower_edge": [(0.25, 1.0), (4.0, 2.5), (0.0, 1.0), (INF, 1.0), (0.25, -1.0)],
    "mp_upper_edge": [(0.25, 1.0), (NAN, 1.0)],
    "mp_atom": [(0.5,), (4.0,), (0.0,), (INF,)],
    "mp_density": [(1.0, 0.25, 1.0), (0.26, 0.25, 1.0), (2.2, 0.25, 1.0), (5.0, 4.0, 1.0), (0.25, 0.25, 1.0),
                   (2.25, 0.25, 1.0), (0.1, 0.25, 1.0), (5.0, 0.25, 1.0), (0.0, 4.0, 1.0), (-1.0, 0.25, 1.0),
                   (INF, 0.25, 1.0), (-INF, 0.25, 1.0), (NAN, 0.25, 1.0), (1.0, 0.0, 1.0), (1.0, 0.25, 0.0)],
    "tau_lambda": [(0.3, 2.0, 0.8), (0.3, 2.0, 0.0), (0.3, 2.0, INF), (0.3, 2.0, -1.0), (0.0, 2.0, 1.0),
                   (INF, 2.0, 1.0)],
    "tau_gen": [(0.3, 0.6), (0.0, 0.6), (-1.0, 0.6), (INF, 0.6)],
    "tau_mem": [(0.3, 1.5, 0.0138), (0.0, 1.5, 0.0138)],
    "rf_optimal_loss": [(0.0,), (2.0,), (INF,), (-1.0,)],
}


def _outcome(call, *args):
    """("refused", message) or ("value", v): warnings silenced (nan results warn, as they should)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegimesWarning)
        try:
            return "value", call(*args)
        except ValueError as exc:  # RegimesError (library, lambdify) or ValueError (python())
            return "refused", str(exc)


def _same(a, b, rel):
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b) or a == 0 or b == 0:
        return (a == b) or (math.isnan(a) and math.isnan(b))
    return abs(a - b) <= rel * abs(b)


@pytest.mark.parametrize("name", list(POINTS))
def test_domains_match_the_library(name):
    lam, py = sym.lambdify(name), _py(name)
    lib = LIBRARY.get(name) or DECIDE[name]
    for args in POINTS[name]:
        kind, lib_out = _outcome(lib, *args)
        got_l, got_p = _outcome(lam, *args), _outcome(py, *args)
        assert got_l[0] == got_p[0] == kind, (name, args, lib_out, got_l, got_p)
        if kind == "refused":
            # the same argument named, its value shown, the allowed range stated
            param = lib_out.split(" must")[0].split(": ")[-1]
            param = {"z": "zeta"}.get(param, param)
            assert got_l[1].startswith(f"{param} must be") and "got" in got_l[1], (name, args, lib_out, got_l)
            assert got_p[1].startswith(f"{param} must be") and "got" in got_p[1], (name, args, lib_out, got_p)
            with pytest.raises(RegimesError):
                lam(*args)
            continue
        if name in LIBRARY:  # the library's value, special points included (1e-13 relative)
            assert _same(got_l[1], lib_out, 1e-13), (name, args, got_l[1], lib_out)
            assert _same(got_p[1], lib_out, 1e-13), (name, args, got_p[1], lib_out)
        vals = [float(got_l[1]), float(got_p[1])]
        if all(math.isfinite(a) for a in args) and all(math.isfinite(x) and x != 0 for x in vals):
            with mpmath.workdps(50):  # finite values inside the domain: mpmath, 1e-13 relative
                ref = float(ORACLE[name](*[mpf(a) for a in args]))
            assert _same(vals[0], ref, 1e-13) and _same(vals[1], ref, 1e-13), (name, args, vals, ref)


def test_special_values_are_the_limits():
    # the values at saturated ends are the limits of the formula (mpmath at t, τ, ᾱ, λ close to
    # them), not the 0/0, 1/0 or ∞ − ∞ of the expression, and no floating-point warning escapes
    tiny = "1e-300"  # the formula at a point this close to the special one (50 digits)
    cases = [("logsnr", (0.0,), INF, (tiny,)),
             ("time_from_logsnr", (INF,), 0.0, ("1e3",)),
             ("time_from_flow_tau", (1.0,), INF, ("0." + "9" * 45,)),  # 1 − τ = 1e-45
             ("time_from_alpha_bar", (0.0,), INF, (tiny,)),
             ("flow_tau", (INF,), 1.0, ("1e3",)),
             ("separated_entropy", (0.0, 2.0, 1.0), -INF, (tiny, 2, 1)),
             ("vp_sde_from_time", (0.0, 0.0, 20.0), 0.0, (tiny, 0, 20)),
             ("tau_lambda", (0.3, 2.0, 0.0), INF, ("0.3", 2, tiny))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name, args, want, near in cases:
            assert sym.lambdify(name)(*args) == want and _py(name)(*args) == want, name
            arr = sym.lambdify(name)(*[np.array([a, a]) for a in args])
            assert np.all(arr == want), name
            with mpmath.workdps(50):
                lim = ORACLE[name](*[mpf(a) for a in near])
            # approaching the special point: the mpmath value heads to the same limit
            assert (abs(lim) > 100 if math.isinf(want) else abs(lim - want) < 1e-100), (name, lim)


def test_mp_density_zero_outside_support_arrays():
    x = np.array([-INF, -1.0, 0.0, 0.1, 0.25, 0.3, 1.0, 2.2, 2.25, 3.0, INF])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no sqrt-of-negative warning either
        got = sym.lambdify("mp_density")(x, 0.25, 1.0)
    np.testing.assert_array_equal(got == 0, MarchenkoPastur(0.25).pdf(x) == 0)
    np.testing.assert_allclose(got, MarchenkoPastur(0.25).pdf(x), rtol=1e-13, atol=0)
    with mpmath.workdps(30):
        for xi, gi in zip(x[5:8], got[5:8], strict=True):
            assert gi == pytest.approx(float(_mp_density(mpf(xi), mpf("0.25"), mpf(1))), rel=1e-13)
    # mpmath evaluation: 0 outside too (the density integrates to 1 between the edges)
    f = sym.lambdify("mp_density", modules="mpmath")
    assert f(mpf(5), mpf("0.25"), mpf(1)) == 0 and f(mpf(-1), mpf("0.25"), mpf(1)) == 0


def test_array_with_one_refused_entry_names_it():
    with pytest.raises(RegimesError, match=r"^tau must be >= 0 and <= 1, got an entry 1.5$"):
        sym.lambdify("time_from_flow_tau")(np.array([0.1, 1.5, 0.2]))
    with pytest.raises(RegimesError, match=r"^t must be <= 5.025 .* got 50.0$"):
        sym.lambdify("vp_sde_from_time")(np.array([1.0, 50.0]), 0.1, 20.0)
    with pytest.raises(RegimesError, match=r"^n must be >= 2, got an entry 1.0$"):
        sym.lambdify("collapse_time")(np.array([100.0, 1.0]), 10.0)


def test_domain_is_stated_for_every_restricted_formula():
    restricted = {"time_from_alpha_bar": "alpha_bar <= 1", "time_from_flow_tau": "tau <= 1",
                  "time_from_vp_sde": "beta_max >= beta_min", "vp_sde_from_time": "beta_max >= beta_min",
                  "collapse_time": "n >= 2", "excess_entropy": "n >= 2", "alpha": "d >= 1",
                  "mp_density": "0 outside", "delta": "t >= 0", "logsnr": "t >= 0"}
    for name, text in restricted.items():
        assert text in sym.info(name)["domain"], name
    doc = (Path(__file__).resolve().parents[1] / "docs" / "symbolic.md").read_text()
    assert "t ≥ 0 where the library allows t = 0" in doc and "n ≥ 2 and d ≥ 1" in doc


# ----------------------------------------------------------------------------------------------
# 3. the σ² default of collapse_time (the library's), missing arguments, the α > 354.9 limit


def test_collapse_time_variance_defaults_to_one():
    lam, py = sym.lambdify("collapse_time"), _py("collapse_time")
    with mpmath.workdps(50):  # [DR] reference value t_C(n = 20000, d = 1024, σ² = 1) = 1.977547
        ref = float(mpmath.log(1 + 1 / (mpf(20000) ** (mpf(2) / 1024) - 1)) / 2)
    assert ref == pytest.approx(1.977547, abs=6e-7)
    for got in (lam(20000, 1024), lam(n=20000, d=1024), py(20000, 1024), C.collapse_time(20000, 1024)):
        assert got == pytest.approx(ref, rel=1e-14)
    assert sym.info("collapse_time")["defaults"] == {"variance": 1.0}
    assert sym.lambdify("excess_entropy")(1.0, 20000, 1024) == pytest.approx(C.excess_entropy(1.0, 20000, 1024),
                                                                          rel=1e-13)
    with pytest.raises(RegimesError, match=r"^d must be given: collapse_time takes \(n, d, variance=1.0\)"):
        lam(20000)
    with pytest.raises(RegimesError, match=r"^sigma is an unknown argument"):
        lam(20000, 1024, sigma=1.0)
    with pytest.raises(RegimesError, match=r"^collapse_time takes at most 3 arguments"):
        lam(1, 2, 3, 4)


def test_collapse_time_alpha_limit_is_documented():
    # α = ln(n)/d > 354.9: math.expm1(2α) overflows in python(); the library stays finite in logs
    with pytest.raises(OverflowError):
        _py("collapse_time")(1e300, 1.0, 1e300)
    assert C.collapse_time(1e300, 1, 1e300) == pytest.approx(5.000000000000119e-301, rel=1e-12)
    doc = (Path(__file__).resolve().parents[1] / "docs" / "symbolic.md").read_text()
    assert "α = ln(n)/d < 354.9" in doc


def test_flow_tau_rewrite_is_exact_and_stable():
    # √Δ_t/(√Δ_t + e^{−t}) equals σ/(1 + σ) (60 digits) and stays finite where e^{2t} overflows
    f, py = sym.lambdify("flow_tau"), _py("flow_tau")
    for t in (1e-300, 1e-12, 1e-3, 0.5, 5.0, 30.0, 300.0, 354.0):
        with mpmath.workdps(60):
            ref = float(ORACLE["flow_tau"](mpf(t)))
        assert f(t) == pytest.approx(ref, rel=2e-16) and py(t) == pytest.approx(ref, rel=2e-16), t
    assert f(400.0) == 1.0 == py(400.0) == SCH.flow_tau(400.0)
