"""Random-features spectrum, constants, timescales and losses against independent oracles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import solve_ivp

from regimes import RegimesError
from regimes.rmt import (
    MarchenkoPastur,
    RandomFeatures,
    memorisation_phase_diagram,
    training_regimes,
)
from regimes.rmt._sc_solver import SCParams
from regimes.rmt.random_features import _pointwise_reference_density


def test_constants_match_reference_values():
    # reference values to 8 digits (tanh, σ_x² = 1, t = 0.1); κ_1 = E[sech² z] is also checked
    # against mpmath in test_symbolic.py
    c = RandomFeatures(4.0, 2.0, 0.1).constants
    assert c.kappa1 == pytest.approx(0.60570551, abs=5e-9)
    assert c.b_t == pytest.approx(0.25788352, abs=5e-9)
    assert c.v_t2 == pytest.approx(0.01384145, abs=5e-9)
    assert c.s_t2 == pytest.approx(0.01357387, abs=5e-9)
    for t in (0.01, 0.5, 3.0):  # κ_1 does not depend on t when σ_x² = 1 (Γ_t = 1)
        assert RandomFeatures(4.0, 2.0, t).constants.kappa1 == pytest.approx(0.60570551, abs=5e-9)


def _check_identities(c, t):
    delta = -math.expm1(-2 * t)
    assert c.a_t == pytest.approx(c.kappa1, abs=1e-12)
    assert c.b_t == pytest.approx(math.sqrt(delta) * c.kappa1, abs=1e-12)
    assert c.s_t2 + c.v_t2 == pytest.approx(c.mu_star2, abs=1e-12)


@pytest.mark.parametrize("act", ["tanh", "relu", "erf", np.sin])
@pytest.mark.parametrize("t", [0.05, 0.4, 2.0])
def test_stein_identities(act, t):
    _check_identities(RandomFeatures(3.0, 1.0, t, act, data_spectrum=[0.5, 1.0, 2.5]).constants, t)


@pytest.mark.parametrize("t", [0.1, 1.0])
def test_relu_constants_against_arccosine_kernel(t):
    # oracle: Cho & Saul arc-cosine kernel, E[relu(X)relu(X')] for Var = Γ², Cov = c:
    #   Γ²/(2π)(sin θ + (π − θ) cos θ), cos θ = c/Γ²; E relu = Γ/√(2π); E relu² = Γ²/2; κ_1 = 1/2
    sx2 = 1.7
    c = RandomFeatures(2.0, 1.0, t, "relu", data_spectrum=[sx2]).constants
    delta = -math.expm1(-2 * t)
    cov = math.exp(-2 * t) * sx2
    G2 = cov + delta
    th = math.acos(cov / G2)
    mu0 = math.sqrt(G2 / (2 * math.pi))
    v2 = G2 / (2 * math.pi) * (math.sin(th) + (math.pi - th) * math.cos(th)) - mu0**2 - cov / 4
    s2 = G2 / 2 - mu0**2 - cov / 4 - v2 - delta / 4
    assert c.kappa1 == pytest.approx(0.5, abs=1e-13)
    assert c.mu0 == pytest.approx(mu0, abs=1e-13)
    assert c.v_t2 == pytest.approx(v2, abs=1e-12)
    assert c.s_t2 == pytest.approx(s2, abs=1e-12)


def test_erf_constants_against_arcsine_kernel():
    # oracle: E[erf(X)erf(X')] = (2/π) arcsin(2c/(1 + 2Γ²)) (Williams 1997), κ_1 = (2/√π)/√(1+2Γ²)
    t = 0.3
    c = RandomFeatures(2.0, 1.0, t, "erf").constants
    delta = -math.expm1(-2 * t)
    cov = math.exp(-2 * t)
    G2 = cov + delta
    k1 = 2 / math.sqrt(math.pi) / math.sqrt(1 + 2 * G2)
    v2 = 2 / math.pi * math.asin(2 * cov / (1 + 2 * G2)) - k1**2 * cov
    m2 = 2 / math.pi * math.asin(2 * G2 / (1 + 2 * G2))
    assert c.kappa1 == pytest.approx(k1, abs=1e-13)
    assert c.v_t2 == pytest.approx(v2, abs=1e-12)
    assert c.s_t2 == pytest.approx(m2 - k1**2 * cov - v2 - delta * k1**2, abs=1e-12)


@pytest.mark.parametrize("psi_p", [0.3, 1.0, 4.0])
def test_marchenko_pastur_reduction(psi_p):
    P = SCParams(psi_p=psi_p, psi_n=2.0, A2=0.0, v2=0.0, b2=1.0, s2=0.0,
                 lam=np.array([1.0]), w=np.array([1.0]))
    rf = RandomFeatures._from_params(P)
    mp = MarchenkoPastur(psi_p)
    lo, hi = mp.support()
    x = np.linspace(lo, hi, 60)[1:-1]
    assert_allclose(rf.density(x), mp.pdf(x), rtol=1e-6, atol=1e-8)
    (blo, bhi) = rf.bulks["fast"].edges
    assert blo == pytest.approx(lo, rel=1e-6, abs=1e-5)  # grid starts 1e-7·scale above s_t²
    assert bhi == pytest.approx(hi, rel=1e-6)
    assert rf.bulks["continuous_mass"] == pytest.approx(mp.continuous_mass, rel=1e-6)


def _clusters(ev, bulk):
    lo, hi = bulk.edges
    ev = ev[ev > lo / 1.15]
    return ev[ev < hi * 1.15]


def _independent_U(rf, d, seed):
    """U = GGᵀ/n + b_t²WWᵀ/d + s_t²I_p, G = e^{−t}a_t WX/√d + v_t Ω, x ~ N(0, Σ) — the
    Gaussian equivalent of [WM] written here, independently of ``rf.sample_U``."""
    c = rf.constants
    rng = np.random.default_rng(seed)
    p, n = round(rf.psi_p * d), round(rf.psi_n * d)
    vals, w = rf.spectrum_values, rf.spectrum_weights
    sig = np.repeat(vals, np.round(w * d).astype(int))[:d]
    assert sig.size == d
    W = rng.standard_normal((p, d))
    X = np.sqrt(sig)[:, None] * rng.standard_normal((d, n))
    G = math.exp(-rf.t) * c.a_t * (W @ X) / math.sqrt(d) + math.sqrt(c.v_t2) * rng.standard_normal((p, n))
    return G @ G.T / n + c.b_t**2 * (W @ W.T) / d + c.s_t2 * np.eye(p)


def test_edges_and_masses_against_sampled_U():
    rf = RandomFeatures(8.0, 2.0, 0.1)
    b = rf.bulks
    d = 200
    ev = np.linalg.eigvalsh(_independent_U(rf, d, 1))
    p = ev.size
    for key in ("slow", "fast"):
        emp = _clusters(ev[ev > b["atom"]["location"] + 1e-8], b[key])
        # extreme eigenvalues sit within O(d^{-2/3}) of the edges: a few per cent here
        assert emp.min() == pytest.approx(b[key].edges[0], rel=0.05)
        assert emp.max() == pytest.approx(b[key].edges[1], rel=0.05)
        assert emp.size / p == pytest.approx(b[key].mass, abs=2.0 / p)
    atom = np.sum(np.abs(ev - b["atom"]["location"]) < 1e-8)
    assert atom / p == pytest.approx(b["atom"]["mass"], abs=1.0 / p)


def test_satellite_found_and_counts():
    rf = RandomFeatures(30.0, 3.0, 0.1)
    b = rf.bulks
    assert b["satellite"] is not None
    d = 40
    ev = np.linalg.eigvalsh(_independent_U(rf, d, 2))
    p = ev.size
    for key in ("satellite", "slow", "fast"):
        lo, hi = b[key].edges
        frac = np.mean((ev > lo * 0.9) & (ev < hi * 1.1))
        assert frac == pytest.approx(b[key].mass, abs=3.0 / p)
    # satellite + slow hold the n eigenvalues, fast the d ones
    assert b["satellite"].mass + b["slow"].mass == pytest.approx(rf.psi_n / rf.psi_p, rel=1e-4)
    assert b["fast"].mass == pytest.approx(1 / rf.psi_p, rel=1e-4)


def test_stieltjes_against_sampled_U():
    rf = RandomFeatures(4.0, 2.0, 0.3, data_spectrum=([0.5, 2.0], [0.5, 0.5]))
    z = np.array([0.5 + 0.3j, 2.0 + 0.5j, 0.05 + 0.05j])
    ev = np.linalg.eigvalsh(_independent_U(rf, 150, 3))
    emp = np.mean(1.0 / (ev[:, None] - z[None, :]), axis=0)
    assert_allclose(rf.stieltjes(z), emp, rtol=0.03)


def test_leading_order_edges_approached():
    errs = []
    for scale in (1.0, 4.0, 16.0):
        rf = RandomFeatures(4.0 * scale, 2.0 * scale, 0.1)
        s = rf.bulks["slow"]
        lo_lead, hi_lead = s.leading_edges
        errs.append(abs(s.edges[1] - hi_lead) / hi_lead)
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.1


def test_vectorised_solver_matches_pointwise_lm():
    rf = RandomFeatures(8.0, 2.0, 0.1)
    lam = rf.density_grid(400)[::37]
    ref = _pointwise_reference_density(rf, lam)
    rho = rf.density(lam)
    m = ref > 1e-3
    assert m.sum() >= 5
    assert_allclose(rho[m], ref[m], rtol=1e-6)


def test_loss_curves_against_integrated_gradient_flow():
    rf = RandomFeatures(3.0, 1.5, 0.4)
    inst = rf.sample_instance(6, rng=4)
    U, V, Up, Vp = inst.U, inst.V, inst.U_pop, inst.V_pop
    p, d = V.shape
    delta = rf.delta_t
    psi = p / d

    def rhs(_, y):
        B = y.reshape(d, p)
        return (-(2 * delta / psi) * B @ U - (2 * math.sqrt(delta) / psi) * V.T).ravel()

    taus = np.array([0.0, 1.0, 5.0, 30.0, 200.0])
    sol = solve_ivp(rhs, (0, taus[-1]), np.zeros(d * p), t_eval=taus, rtol=1e-11, atol=1e-13,
                    method="DOP853")
    direct_train, direct_test = [], []
    for k in range(taus.size):
        B = sol.y[:, k].reshape(d, p)
        # the denoising loss of [WM], L = 1 + (Δ/d)Tr(BᵀBU) + (2√Δ/d)Tr(BV), population for the test loss
        sd = 2 * math.sqrt(delta) / d
        direct_train.append(1 + delta / d * np.trace(B.T @ B @ U) + sd * np.trace(B @ V))
        direct_test.append(1 + delta / d * np.trace(B.T @ B @ Up) + sd * np.trace(B @ Vp))
    curves = inst.loss_curves(taus)
    assert_allclose(curves["train"], direct_train, rtol=1e-8)
    assert_allclose(curves["test"], direct_test, rtol=1e-8)
    assert_allclose(curves["gen"], np.array(direct_test) - np.array(direct_train), atol=1e-8)


def test_timescales_leading_order():
    rf = RandomFeatures(8.0, 2.0, 0.1)
    c = rf.constants
    assert rf.tau_gen == pytest.approx(1 / (2 * c.delta_t * c.kappa1**2), rel=1e-12)
    assert rf.tau_mem == pytest.approx(2.0 / (2 * c.delta_t * c.v_t2), rel=1e-12)
    # bulk τ ranges bracket the leading-order timescales
    f, s = rf.bulks["fast"], rf.bulks["slow"]
    assert f.tau[0] < rf.tau_gen < f.tau[1]
    assert s.tau[0] < rf.tau_mem < s.tau[1]
    assert rf.tau(2.0) == pytest.approx(8.0 / (2 * c.delta_t * 2.0))


def test_phase_diagram_and_regimes():
    pd = memorisation_phase_diagram([1.0, 4.0], [2.0, 8.0], 0.1, d=8, rng=0)
    assert pd["tau_ratio"].shape == (2, 2)
    assert np.all(pd["tau_ratio"][1] > pd["tau_ratio"][0])  # τ_mem/τ_gen ∝ ψ_n
    # long-time gap: overparametrised p > n memorises (gap > 0)
    assert pd["gap"][0, 1] > 0
    reg = training_regimes([100, 1000], [1.0, 50.0, 1e5], d=50, p=400, t=0.1)
    assert reg["region"].tolist() == [[0, 1, 2], [0, 1, 2]]
    assert reg["tau_mem"][1] == pytest.approx(10 * reg["tau_mem"][0])


def test_bad_input():
    for kw, name in (({"psi_p": 0}, "psi_p"), ({"psi_n": -1}, "psi_n"), ({"t": 0}, "t")):
        args = {"psi_p": 2.0, "psi_n": 1.0, "t": 0.1, **kw}
        with pytest.raises(RegimesError, match=name):
            RandomFeatures(**args)
    with pytest.raises(RegimesError, match="activation"):
        RandomFeatures(2, 1, 0.1, "swish")
    with pytest.raises(RegimesError, match="data_spectrum"):
        RandomFeatures(2, 1, 0.1, data_spectrum=[1.0, -2.0])


def test_sample_U_matches_the_independent_sampler_in_law():
    rf = RandomFeatures(4.0, 2.0, 0.3, data_spectrum=([0.5, 2.0], [0.5, 0.5]))
    a = np.linalg.eigvalsh(rf.sample_U(120, rng=7))
    b = np.linalg.eigvalsh(_independent_U(rf, 120, 8))
    assert a.size == b.size
    assert_allclose(np.quantile(a, [0.1, 0.3, 0.5, 0.7, 0.9]),
                    np.quantile(b, [0.1, 0.3, 0.5, 0.7, 0.9]), rtol=0.05)


def test_same_seed_same_bits():
    rf = RandomFeatures(2.0, 1.0, 0.2)
    assert np.array_equal(rf.sample_U(20, rng=5), rf.sample_U(20, rng=5))


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, regimes.rmt; bad = [m for m in ('matplotlib', 'sympy', 'typer', 'rich') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_merged_satellite_is_said():
    # at (ψ_p, ψ_n, t) = (4, 2, 3) the satellite (mass d/p = 0.25) and ρ_1 ((n − d)/p = 0.25)
    # form one piece of mass 0.5: reported as slow_bulk, with a note saying so; where they are
    # separate (10, 1.5, 0.02) there is no such note
    from regimes.rmt import RandomFeatures

    s = RandomFeatures(4, 2, 3.0).summary()
    assert s["satellite"] is None and abs(s["slow_bulk"]["mass"] - 0.5) < 1e-4
    assert any("merged" in x for x in s.get("notes", []))
    s = RandomFeatures(10, 1.5, 0.02).summary()
    assert s["satellite"] is not None and not any("merged" in x for x in s.get("notes", []))


# ---------------------------------------------------------------------- immutability
def test_random_features_is_frozen_and_replace_gives_fresh_constants():
    import dataclasses

    rf = RandomFeatures(4.0, 2.0, 0.1)
    old = rf.constants.as_dict()
    old_tau = (rf.tau_gen, rf.tau_mem, rf.delta_t)
    for name, value in (("t", 2.0), ("psi_p", 8.0), ("activation", "relu"), ("new_attr", 1)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(rf, name, value)
    for new in (rf.replace(t=2.0), dataclasses.replace(rf, t=2.0)):
        fresh = RandomFeatures(4.0, 2.0, 2.0)
        assert new is not rf and new.t == 2.0
        assert new.delta_t == -math.expm1(-4.0) == fresh.delta_t
        assert new.constants.as_dict() == fresh.constants.as_dict()  # bit for bit
        assert (new.tau_gen, new.tau_mem) == (fresh.tau_gen, fresh.tau_mem)
        assert new.constants.delta_t != old["delta_t"]
    # the original object is unchanged, caches included
    assert rf.t == 0.1 and rf.constants.as_dict() == old
    assert (rf.tau_gen, rf.tau_mem, rf.delta_t) == old_tau


def test_random_features_replace_validates_and_keeps_the_other_parameters():
    kinked = RandomFeatures(4.0, 2.0, 0.2, lambda x: np.maximum(x, 0.0) + 0.1 * x, kinks=[0.0],
                            data_spectrum=([1.0, 2.0], [0.5, 0.5]), quadrature_order=120)
    new = kinked.replace(psi_n=3.0)
    fresh = RandomFeatures(4.0, 3.0, 0.2, kinked.activation, kinks=(0.0,),
                           data_spectrum=([1.0, 2.0], [0.5, 0.5]), quadrature_order=120)
    assert new.activation is kinked.activation and new.kinks == (0.0,)
    assert new.quadrature_order == 120
    assert_allclose(new.spectrum_values, [1.0, 2.0], rtol=0, atol=0)
    assert new.constants.as_dict() == fresh.constants.as_dict()
    with pytest.raises(RegimesError, match="t must be"):
        kinked.replace(t=-1.0)
    with pytest.raises(RegimesError, match="psi_p"):
        RandomFeatures(0.0, 1.0, 0.1)
    with pytest.raises(RegimesError, match="quadrature_order"):
        kinked.replace(quadrature_order=3)
    # the validated spectrum is a read-only copy: changing the caller's array changes nothing
    vals = np.array([1.0, 3.0])
    rf = RandomFeatures(2.0, 1.0, 0.1, data_spectrum=vals)
    vals[0] = 50.0
    assert_allclose(rf.spectrum_values, [1.0, 3.0], rtol=0, atol=0)
    with pytest.raises(ValueError):
        rf.spectrum_values[0] = 2.0


@pytest.mark.parametrize("t", [1e-6, 1e-5, 1e-3, 1e-2])
def test_relu_constants_at_small_t_against_the_arccosine_kernel_in_mpmath(t):
    """The kink of ReLU, smoothed over √Δ_t in the outer variable, is resolved at any t (a
    Gauss–Hermite outer rule gave s_t² 165× too large at t = 1e-5). Oracle: the arc-cosine kernel
    at 40 digits (s_t² is a difference of O(1) terms of size O(t))."""
    import mpmath as mp

    with mp.workdps(40):
        T, sx2 = mp.mpf(t), mp.mpf("1.7")
        delta = -mp.expm1(-2 * T)
        cov = mp.e ** (-2 * T) * sx2
        G2 = cov + delta
        th = mp.acos(cov / G2)
        mu0 = mp.sqrt(G2 / (2 * mp.pi))
        v2 = G2 / (2 * mp.pi) * (mp.sin(th) + (mp.pi - th) * mp.cos(th)) - mu0**2 - cov / 4
        s2 = G2 / 2 - mu0**2 - cov / 4 - v2 - delta / 4
    c = RandomFeatures(2.0, 1.0, t, "relu", data_spectrum=[1.7]).constants
    assert c.v_t2 == pytest.approx(float(v2), rel=1e-12)
    assert c.s_t2 == pytest.approx(float(s2), rel=1e-7)


def test_quadrature_orders_above_numpys_hermite_limit():
    """numpy's Hermite rule overflows above ~371 nodes (NaN timescales, an IndexError in bulks);
    the accepted orders up to 2000 give the same constants."""
    a = RandomFeatures(2.0, 1.0, 0.5, "tanh", quadrature_order=160)
    b = RandomFeatures(2.0, 1.0, 0.5, "tanh", quadrature_order=400)
    assert b.tau_gen == pytest.approx(a.tau_gen, rel=1e-10) and b.tau_mem == pytest.approx(a.tau_mem, rel=1e-10)
    assert len(b.bulks) == len(a.bulks)


@pytest.mark.parametrize("call, match", [
    (lambda rf: rf.stieltjes(complex(float("nan"), 1.0)), r"z must be finite, got \(nan\+1j\)"),
    (lambda rf: rf.stieltjes("x"), "z must be complex numbers"),
    (lambda rf: rf.density(float("nan")), "lam must be finite"),
    (lambda rf: rf.density(float("inf")), "lam must be finite"),
])
def test_stieltjes_and_density_refuse_non_finite_points(call, match):
    """They returned NaN silently."""
    with pytest.raises(RegimesError, match=match):
        call(RandomFeatures(4.0, 2.0, 0.3))


def test_exact_zeros_of_user_activations_are_zeros_not_quadrature_noise():
    """σ(x) = x has v_t² = 0 exactly (no memorisation: τ_mem = ∞, was 4e30) and τ_gen = 1/(2Δ_t);
    σ(x) = x² has κ_1 = 0 (τ_gen = ∞, was 1e33), v_t² = 2e^{−4t}σ_x⁴ and s_t² = 2Γ⁴ − v_t² (σ_x² = 1, Γ = 1)."""
    t = 0.3
    delta = -math.expm1(-2 * t)
    lin = RandomFeatures(4.0, 2.0, t, lambda x: x)
    assert lin.constants.v_t2 == 0.0 and lin.tau_mem == math.inf
    assert lin.tau_gen == pytest.approx(1 / (2 * delta), rel=1e-12)
    sq = RandomFeatures(4.0, 2.0, t, lambda x: x * x)
    assert sq.constants.kappa1 == 0.0 and sq.tau_gen == math.inf
    assert sq.constants.v_t2 == pytest.approx(2 * math.exp(-4 * t), rel=1e-12)
    assert sq.constants.s_t2 == pytest.approx(2 - 2 * math.exp(-4 * t), rel=1e-12)


def test_density_is_zero_below_s_t2():
    """U = (positive semi-definite terms) + s_t²I has no eigenvalue below s_t²: the density there is
    0, not the solver's O(ε) tail (5.7e-12 at λ = −5); the bulk is unchanged."""
    rf = RandomFeatures(4.0, 2.0, 0.3)
    s2 = rf.constants.s_t2
    assert np.all(rf.density([-5.0, 0.0, 0.5 * s2, s2 * (1 - 1e-9)]) == 0.0)
    lo, hi = rf.bulks["slow"].edges
    assert rf.density(0.5 * (lo + hi)) > 1.0
