"""Spectrum, timescales and loss curves of the random-features score model of [WM].

Score model s_A(x) = (A/√p) σ(Wx/√d) with W ∈ R^{p×d} frozen N(0, 1) and A ∈ R^{d×p} trained from
0 by gradient flow on the noise-averaged denoising score-matching loss at one diffusion time t.
ψ_p = p/d, ψ_n = n/d, data x ~ N(0, Σ).

**Loss.** With x_t^ν = e^{−t}x^ν + √Δ_t ξ (ξ ~ N(0, I_d)) the loss trained on is

    L(A) = (1/n) Σ_ν E_ξ [ (1/d) ‖√Δ_t s_A(x_t^ν) + ξ‖² ],

the mean over the n training points and over the d coordinates of the √Δ_t-weighted denoising
score-matching error, averaged over the noise; equivalently the noise-prediction (ε-prediction) MSE
with ε̂ = −√Δ_t s_A. Its untrained value (A = 0) is 1 and its learnable part is at most Δ_t. The test
loss is the same expression with x^ν replaced by a fresh draw from the data law.

**Training-time convention.** τ is the time of the gradient flow dA/dτ = −d² ∇_A L, i.e.
dB/dτ = −(2Δ_t/ψ_p) B U − (2√Δ_t/ψ_p) Vᵀ with B = A/√p. An eigen-direction of U with eigenvalue
λ relaxes on τ_λ = ψ_p/(2Δ_t λ) (the loss at twice that rate). Plain gradient descent
A ← A − η ∇_A L for k steps reaches τ = η k/d² (checked against plain GD and against SGD with fresh
noise every step). **Other normalisations of the loss** rescale the gradient and so τ: a loss
summed over the d coordinates (d·L) gives τ = η k/d; the unweighted score loss
(1/d)‖s_A + ξ/√Δ_t‖² = L/Δ_t gives τ = η k/(Δ_t d²); a sum over the n points (n·L) gives
τ = η n k/d². Ratios such as τ_mem/τ_gen do not depend on the convention.

References
----------
.. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, "Why diffusion models don't memorize: the
   role of implicit dynamical regularization in training", arXiv:2505.17638 (2025).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .._errors import RegimesError, RegimesWarning
from .._quadrature import gauss_hermite_normal, gauss_legendre, gaussian_expect, gaussian_panels
from .._validate import (
    MAX_SAMPLES,
    as_real_array,
    check_int,
    check_memory,
    check_real,
    check_rng,
    replace_checked,
    shown,
)
from ._activations import Activation, get_activation
from ._sc_solver import SCParams, solve, solve_pointwise_lm

__all__ = [
    "TIME_CONVENTION",
    "Bulk",
    "GaussianEquivalentInstance",
    "RFConstants",
    "RandomFeatures",
    "TAU_MEM_MARGIN",
    "memorisation_phase_diagram",
    "slow_bulk_tau",
    "tau_mem_in_range",
    "training_regimes",
]

TIME_CONVENTION = ("training time τ of the gradient flow dA/dτ = −d²∇_A L (B = A/√p) on the loss "
                   "L(A) = (1/n)Σ_ν E_ξ[(1/d)‖√Δ_t s_A(e^{−t}x_ν + √Δ_t ξ) + ξ‖²] (mean over the n "
                   "training points and the d coordinates, noise averaged, untrained value 1: the "
                   "noise-prediction MSE with ε̂ = −√Δ_t s_A); eigenvalue λ of U relaxes on "
                   "τ_λ = ψ_p/(2Δ_t λ); gradient descent with learning rate η on L reaches "
                   "τ = η·steps/d² (on a loss summed over the d coordinates τ = η·steps/d; on the "
                   "unweighted score loss (1/d)‖s_A + ξ/√Δ_t‖² = L/Δ_t, τ = η·steps/(Δ_t d²)); "
                   "ratios are convention-free")

#: Margin of the validity test of τ_mem = ψ_n/(2Δ_t v_t²): it needs v_t²ψ_p/ψ_n ≥ this × s_t².
TAU_MEM_MARGIN = 10.0


def tau_mem_in_range(psi_n, psi_p, s_t2, v_t2):
    r"""Whether the leading-order τ_mem = ψ_n/(2Δ_t v_t²) is inside its range of validity.

    Parameters
    ----------
    psi_n, psi_p : float or array_like
        ψ_n = n/d and ψ_p = p/d (broadcast together).
    s_t2, v_t2 : float
        The Gaussian-equivalence constants s_t² and v_t² (:class:`RFConstants`).

    Returns
    -------
    bool or ndarray of bool
        True where v_t²ψ_p/ψ_n ≥ :data:`TAU_MEM_MARGIN` · s_t² (or v_t² = 0: no slow bulk, τ_mem = ∞).

    Notes
    -----
    The slow bulk sits at s_t² + v_t²(1 ± √(ψ_p/ψ_n))², mean eigenvalue
    λ̄_1 = s_t² + v_t²(1 + ψ_p/ψ_n). τ_mem = ψ_n/(2Δ_t v_t²) is τ_λ = ψ_p/(2Δ_t λ) at
    λ = v_t²ψ_p/ψ_n, i.e. it drops s_t² (and v_t²) against v_t²ψ_p/ψ_n: it needs
    s_t²/v_t² ≪ ψ_p/ψ_n, tested with the margin 10. For tanh with σ_x² = 1, s_t²/v_t² is
    0.07 at t = 0.01, 1 at t = 0.1, 23 at t = 0.5 and 500 at t = 1, so at t ≳ 0.5 τ_mem is
    far above the slow bulk's relaxation times (1.06e5 against 2044–2095 at ψ_p = 100,
    ψ_n = 10, t = 1); use :func:`slow_bulk_tau` there.
    """
    psi_n, psi_p, s_t2, v_t2 = _check_bulk_args(psi_n, psi_p, s_t2, v_t2)
    ok = (v_t2 * psi_p >= TAU_MEM_MARGIN * s_t2 * psi_n) | (v_t2 <= 0)
    return np.asarray(ok)[()] if np.ndim(ok) else bool(ok)


def _check_bulk_args(psi_n, psi_p, s_t2, v_t2):
    """ψ_n, ψ_p (arrays > 0), s_t² (real) and v_t² (real >= 0) of :func:`tau_mem_in_range` and
    :func:`slow_bulk_tau`, validated (RegimesError naming the argument)."""
    psi_n = as_real_array("psi_n", psi_n, gt=0.0)
    psi_p = as_real_array("psi_p", psi_p, gt=0.0)
    try:
        np.broadcast_shapes(psi_n.shape, psi_p.shape)
    except ValueError:
        raise RegimesError(f"psi_n and psi_p must broadcast together, got shapes {psi_n.shape} "
                           f"and {psi_p.shape}") from None
    return psi_n, psi_p, check_real("s_t2", s_t2), check_real("v_t2", v_t2, ge=0.0)


def slow_bulk_tau(psi_n, psi_p, delta_t, s_t2, v_t2):
    r"""Relaxation time of the slow (memorisation) bulk at its mean eigenvalue.

    Parameters
    ----------
    psi_n, psi_p : float or array_like
        ψ_n = n/d and ψ_p = p/d (broadcast together).
    delta_t, s_t2, v_t2 : float
        Δ_t = 1 − e^{−2t} and the constants s_t², v_t².

    Returns
    -------
    float or ndarray
        τ_1 = ψ_p/(2Δ_t λ̄_1).

    Notes
    -----
    λ̄_1 = s_t² + v_t²(1 + ψ_p/ψ_n) is the mean of the leading-order slow bulk on
    s_t² + v_t²(1 ± √(ψ_p/ψ_n))², so τ_1 lies inside the bulk's range of relaxation times
    [ψ_p/(2Δ_tλ_+), ψ_p/(2Δ_tλ_−)] and tends to τ_mem = ψ_n/(2Δ_t v_t²) when
    v_t²ψ_p/ψ_n ≫ s_t² + v_t² (checked against the solver's slow bulk: ψ_p = 100, ψ_n = 10,
    t = 0.01/0.1/0.5/1 give τ_1 = 8928/1663/2046/2068 inside [5869, 20154], [1121, 3413],
    [1746, 2599], [2044, 2095]).
    """
    psi_n, psi_p, s_t2, v_t2 = _check_bulk_args(psi_n, psi_p, s_t2, v_t2)
    delta_t = check_real("delta_t", delta_t, gt=0.0, le=1.0)
    lam = s_t2 + v_t2 * (1.0 + psi_p / psi_n)
    with np.errstate(divide="ignore"):
        out = psi_p / (2.0 * delta_t * lam)
    return out[()] if np.ndim(out) else float(out)


@dataclass(frozen=True)
class RFConstants:
    """Gaussian-equivalence constants of the activation at diffusion time t [WM].

    Attributes
    ----------
    a_t, b_t, v_t2, s_t2 : float
        a_t = E[σ(Y)u]/(e^{−t}σ_x), b_t = E[vσ(Y)], v_t² and s_t² as in the Notes of
        :class:`RandomFeatures`, with Y = e^{−t}σ_x u + √Δ_t v.
    kappa1 : float
        κ_1 = E[σ'(Γ_t z)], computed independently as E[zσ(Γ_t z)]/Γ_t (Stein).
    mu_star2 : float
        μ*² = E[σ(Γ_t z)²] − Γ_t²κ_1² − μ_0².
    mu0 : float
        μ_0 = E[σ(Γ_t z)] (0 for odd σ); see the Notes of :class:`RandomFeatures`.
    sigma_x2, gamma_t2, delta_t : float
        σ_x² = TrΣ/d, Γ_t² = e^{−2t}σ_x² + Δ_t, Δ_t = 1 − e^{−2t}.
    """

    a_t: float
    b_t: float
    v_t2: float
    s_t2: float
    kappa1: float
    mu_star2: float
    mu0: float
    sigma_x2: float
    gamma_t2: float
    delta_t: float

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Bulk:
    """One connected piece of the continuous spectrum of U.

    Attributes
    ----------
    name : str
        "slow" (ρ_1, memorisation), "fast" (ρ_2, generalisation), "satellite" or "other".
    edges : tuple of float
        (lower, upper) edge found by the self-consistent solver.
    mass : float
        Fraction of the p eigenvalues in the bulk.
    tau : tuple of float
        (τ_lo, τ_hi) = (ψ_p/(2Δ_t λ_+), ψ_p/(2Δ_t λ_−)): its range of relaxation times.
    leading_edges, leading_mass : tuple or None, float or None
        The leading-order formulas (:attr:`RandomFeatures.leading_order`) for comparison (None
        where there is none).
    """

    name: str
    edges: tuple[float, float]
    mass: float
    tau: tuple[float, float]
    leading_edges: tuple[float, float] | None = None
    leading_mass: float | None = None

    def as_dict(self) -> dict:
        return {"edges": list(self.edges), "mass": self.mass, "tau": list(self.tau),
                "leading_order": None if self.leading_edges is None and self.leading_mass is None
                else {"edges": None if self.leading_edges is None else list(self.leading_edges),
                      "mass": self.leading_mass}}


def _hermite_coefficients(act, mu0, gamma, kinks, order, m_max):
    """c_m = E[(σ(Γz) − μ_0) He_m(z)]/√(m!), m = 0..m_max−1 (normalised Hermite recurrence)."""
    def he(z, m):
        h0, h1 = np.ones_like(z), z
        if m == 0:
            return h0
        for j in range(1, m):
            h0, h1 = h1, (z * h1 - math.sqrt(j) * h0) / math.sqrt(j + 1)
        return h1

    out = np.empty(m_max)
    for m in range(m_max):
        out[m] = float(gaussian_expect(lambda x, z, m=m: (act(x) - mu0) * he(z, m), 0.0, gamma,
                                       kinks, order))
    return out


def _check_stein(act, a_t, kappa1, m2):
    """Warn when the iterated quadrature (inner Gauss–Hermite rule in v) misses a steep user
    activation: a_t = E[σ(Y)u]/(e^{−t}σ_x) must equal κ_1 = E[σ'(Γ_t z)] (Stein's identity) to
    1e-9 of the activation's scale, whatever the 1-D rules say (tanh(5x) at σ_x² > 1: 1.2% apart)."""
    if abs(a_t - kappa1) > 1e-9 * max(abs(kappa1), math.sqrt(max(m2, 0.0)), 1e-300):
        warnings.warn(
            f"activation {act.name!r} is too steep for the constants' quadrature (a_t = {a_t:.6g} and "
            f"κ_1 = {kappa1:.6g} differ, though equal by Stein's identity); pass kinks=(x1, ...) with "
            "its steep points for accurate constants", RegimesWarning, stacklevel=3)


def _check_smooth(act, gamma, order) -> bool:
    """Warn (and return True) when a user activation does not look smooth: quadrature orders order/2 + 1 and
    ``order`` disagree on E[σ(Γz)], E[σ(Γz)²], E[zσ(Γz)] or E[(z² − 1)σ(Γz)] by more than
    1e-9 × E|σ|, E σ², E|zσ|, E|(z² − 1)σ|.

    A kink makes the rule converge only algebraically. E[σ] alone is 0 for every odd σ
    (np.clip(x, −1, 1) passed silently with s_t² 9 % off), E[σ²] and E[(z² − 1)σ] see even
    and odd kinks alike, E[zσ] is κ_1. The rules are those of the constants: Gauss–Hermite for
    Γ_t ≤ 1, the panels of :func:`_scaled_rule` above."""
    lo = order // 2 + 1
    tests = {"E[σ]": lambda x, z: act(x), "E[σ²]": lambda x, z: act(x) ** 2,
             "E[zσ]": lambda x, z: z * act(x), "E[(z²−1)σ]": lambda x, z: (z * z - 1.0) * act(x)}
    rules = {o: _moment_rule(gamma, (), o) for o in (lo, order)}
    for label, f in tests.items():
        a, b = (rules[o](f) for o in (lo, order))
        scale = rules[order](lambda x, z, f=f: np.abs(f(x, z)))
        if abs(b - a) > 1e-9 * max(scale, 1e-300):
            warnings.warn(
                f"activation {act.name!r} does not look smooth (quadrature orders {lo} and "
                f"{order} disagree by {abs(b - a):.1e} on {label}); pass kinks=(x1, ...) with its "
                f"non-smooth points for accurate constants (a steep but smooth σ such as "
                f"tanh(100x) needs them too: declare its steep points)", RegimesWarning, stacklevel=3)
            return True
    return False


#: Γ_t² above which the constants of an activation without kinks use Gauss–Legendre panels scaled to
#: its transition (:func:`_scaled_rule`) instead of one Gauss–Hermite rule; Γ_t ≤ 1 exactly when
#: σ_x² ≤ 1, where the Gauss–Hermite values are kept as they are.
_STEEP_GAMMA2 = 1.0 + 1e-12


def _scaled_rule(scale, order):
    """Nodes and weights in z ~ N(0, 1) for E[f(scale·z, z)] with f smooth on the scale |x| ~ 1:
    Gauss–Legendre panels of ``order`` nodes cut at z = 0, ±1/scale, ±3/scale (clipped to
    |z| ≤ 13), so that the transition of σ(scale·z) is resolved however steep it is.

    One Gauss–Hermite rule has node spacing ≈ 0.18 near 0: tanh(Γz) with Γ ≳ 3 is steeper and the
    constants came out 11–70 % off at σ_x² = 100 (see :meth:`RandomFeatures.constants`)."""
    return gaussian_panels([0.0, *(c / scale for c in (-3.0, -1.0, 1.0, 3.0))], order)


def _moment_rule(gamma, kinks, order):
    """``expect(f)`` = E_z[f(Γz, z)], z ~ N(0, 1), by the rule of the constants: panels scaled to the
    transition (:func:`_scaled_rule`) for Γ_t² > :data:`_STEEP_GAMMA2` without kinks, else
    :func:`gaussian_expect` (Gauss–Hermite, or panels cut at the kinks)."""
    if gamma * gamma > _STEEP_GAMMA2 and not kinks:
        z, w = _scaled_rule(gamma, order)
        return lambda f: float(np.dot(w, f(gamma * z, z)))
    return lambda f: float(gaussian_expect(f, 0.0, gamma, kinks, order))


def _iterated(act, mu0, u, et_sx, sd, kinks, order):
    """(g, h) of the iterated quadrature at the outer nodes u: g(u) = E_v σ_c(cu + sd v) and
    h(u) = E_v[vσ(cu + sd v)] (c = e^{−t}σ_x, sd = √Δ_t ≤ 1; the inner rule is Gauss–Hermite, or
    panels cut at the kinks)."""
    shift = et_sx * u
    g = gaussian_expect(lambda x, z: act(x) - mu0, shift, sd, kinks, order)
    h = gaussian_expect(lambda x, z: z * act(x), shift, sd, kinks, order)
    return g, h


def _residual_s2(act, mu0, u, wu, et_sx, sd, kinks, order, g, h, b_t):
    """s_t² = E_u E_v[(σ_c − g(u) − h(u)v)²] + Var_u h(u) (same rules as :func:`_iterated`): a sum of
    non-negative terms equal to E σ_c² − a_t²c² − v_t² − b_t² (b_t = E_u h), so no cancellation at
    any t."""
    r = gaussian_expect(lambda x, z: (act(x) - mu0 - g - h * z) ** 2, et_sx * u, sd, kinks, order)
    return float(np.dot(wu, r) + np.dot(wu, (h - b_t) ** 2))


def _s2_mehler(act, mu0, gamma, one_minus_rho, m_max=160, order=320):
    """s_t² = Σ_{m≥2} (1 − ρ^m) c_m² for a smooth σ (no cancellation as t → 0).

    E[σ_c(Γz)²] − E[σ_c(Y)σ_c(Y')] = Σ_m (1 − ρ^m) c_m² (Mehler) and the m = 1 term
    (1 − ρ)c_1² = Δ_tκ_1² is b_t², so s_t² is the sum from m = 2 of positive terms;
    1 − ρ^m = −expm1(m log1p(−(1 − ρ))) with 1 − ρ = Δ_t/Γ_t² exact. For tanh (Γ_t = 1) the
    terms beyond m = 160 hold ~3e-12 of the sum, and m_max = 160 needs order ≥ 2 m_max."""
    cm = _hermite_coefficients(act, mu0, gamma, (), order, m_max)
    m = np.arange(2, m_max)
    return float(np.sum(-np.expm1(m * math.log1p(-one_minus_rho)) * cm[2:] ** 2))


def _check_spectrum(data_spectrum):
    """Validated copy of ``data_spectrum``: None, a read-only 1-D array of eigenvalues, or a pair
    (values, weights) of read-only 1-D arrays (weights not yet normalised)."""
    if data_spectrum is None:
        return None
    if isinstance(data_spectrum, tuple) and len(data_spectrum) == 2:
        vals = as_real_array("data_spectrum values", data_spectrum[0], gt=0, min_size=1).ravel()
        wts = as_real_array("data_spectrum weights", data_spectrum[1], ge=0, min_size=1).ravel()
        if vals.shape != wts.shape:
            raise RegimesError(f"data_spectrum values and weights must have the same length, "
                               f"got {vals.size} and {wts.size}")
        if not wts.sum() > 0:
            raise RegimesError("data_spectrum weights must not all be 0")
        out = (vals.copy(), wts.copy())
    else:
        out = (as_real_array("data_spectrum", data_spectrum, gt=0, min_size=1).ravel().copy(),)
    for a in out:
        a.setflags(write=False)
    return out if len(out) == 2 else out[0]


def _parse_spectrum(spectrum):
    """(eigenvalues, weights) of ρ_Σ from a validated spectrum (:func:`_check_spectrum`)."""
    if spectrum is None:
        return np.array([1.0]), np.array([1.0])
    if isinstance(spectrum, tuple):
        vals, wts = spectrum
        wts = wts / wts.sum()
    else:
        vals = spectrum
        wts = np.full(vals.size, 1.0 / vals.size)
    # merge equal eigenvalues (cheaper solver, same law)
    uniq, inv = np.unique(vals, return_inverse=True)
    w = np.bincount(inv, weights=wts)
    uniq.setflags(write=False)
    w.setflags(write=False)
    return uniq, w


def _kinks_tuple(kinks):
    """``kinks`` as a sorted tuple of floats (as :func:`get_activation` stores them), or None."""
    try:
        return tuple(sorted(float(k) for k in kinks))
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, eq=False, repr=False)
class RandomFeatures:
    r"""Random-features score model of [WM]: Gaussian-equivalence constants, spectrum of U,
    timescales and loss curves.

    Immutable: the parameters are validated at construction and cannot be assigned afterwards
    (``dataclasses.FrozenInstanceError``); the derived quantities (constants, bulks, timescales)
    are computed once and cached. ``rf.replace(t=2.0)`` (or ``dataclasses.replace``) returns a new
    object with the changed parameters and fresh caches.

    Parameters
    ----------
    psi_p : float
        ψ_p = p/d > 0 (number of features over dimension).
    psi_n : float
        ψ_n = n/d > 0 (number of training points over dimension).
    t : float
        Diffusion (Ornstein–Uhlenbeck) time t > 0; Δ_t = 1 − e^{−2t}.
    activation : {"tanh", "relu", "erf"} or callable, default "tanh"
        A vectorised callable is integrated by Gauss–Hermite quadrature; one that does not look
        smooth (two quadrature orders disagree) emits a RegimesWarning — declare its
        non-smooth points with ``kinks``.
    data_spectrum : array_like or (values, weights), optional
        Eigenvalues of the data covariance Σ (equal weights), or a (values, weights) pair for
        the spectral law ρ_Σ. Default: identity.
    quadrature_order : int, default 160
        Order of the Gauss–Hermite / Gauss–Legendre rules for the constants (per panel for the
        panel rules: kinks, and σ_x² = TrΣ/d > 1, where the panels are cut at 0, ±1/Γ_t, ±3/Γ_t
        so that the constants stay accurate however steep σ(Γ_t z) is).
    kinks : sequence of float, optional
        Abscissae where a callable activation is not smooth (e.g. ``(0.0,)`` for a ReLU
        lambda): its expectations are then integrated panel-wise between them.

    Attributes
    ----------
    activation : Activation
        The activation as resolved at construction (name, vectorised function, kinks).
    data_spectrum : None, ndarray or (ndarray, ndarray)
        Validated read-only copy of the ``data_spectrum`` argument.
    kinks : tuple of float or None
        The ``kinks`` argument, sorted (None when not given).
    spectrum_values, spectrum_weights : ndarray
        The spectral law ρ_Σ: distinct eigenvalues and their weights (summing to 1).

    Notes
    -----
    **Constants** (u, v, w, z i.i.d. N(0, 1), Y = e^{−t}σ_x u + √Δ_t v):
    a_t = E[σ(Y)u]/(e^{−t}σ_x), b_t = E[vσ(Y)],
    v_t² = E[σ(e^{−t}σ_x u + √Δ_t v)σ(e^{−t}σ_x u + √Δ_t w)] − a_t²e^{−2t}σ_x²,
    s_t² = E[σ(Γ_t z)²] − a_t²e^{−2t}σ_x² − v_t² − b_t², evaluated as iterated quadratures
    (inner over v at the outer Gauss–Hermite nodes in u). For an activation with non-zero mean
    μ_0 = E[σ(Γ_t z)] (ReLU) the constants are those of the centred activation σ − μ_0: the mean
    only adds a rank-one outlier ≈ p μ_0² to U, which does not touch the bulks; for odd σ these
    are the constants of [WM] unchanged. Identities a_t = κ_1, b_t = √Δ_t κ_1, s_t² + v_t² = μ*² follow by
    Stein's lemma and are tested.

    **Self-consistent equations** for q(z) = (1/p)Tr(U − z)⁻¹, with A_t² = a_t²e^{−2t},
    ŝ = b_t²ψ_p + 1/q, D = 1 + (ψ_p/ψ_n)(A_t² r + v_t² q), r̂ = ψ_p A_t²/D:

    .. math::
        s = ∫\frac{dρ_Σ(λ)}{ŝ + λ r̂},\quad r = ∫\frac{λ\, dρ_Σ(λ)}{ŝ + λ r̂},\quad
        ψ_p(s_t^2 - z) + \frac{ψ_p v_t^2}{D} + \frac{1 - ψ_p}{q} - \frac{s}{q^2} = 0,

    and ρ(λ) = lim_{ε↓0} Im q(λ + iε)/π. They are solved for all spectral points at once by
    continuation in ε with a complex Newton iteration (see :mod:`regimes.rmt._sc_solver`).

    **Leading-order structure** (ψ_n, ψ_p large): atom 1 − (n + d)/p at s_t² when p > n + d;
    slow bulk ρ_1 on s_t² + v_t²(1 ± √(ψ_p/ψ_n))², mass ψ_n/ψ_p; fast bulk ρ_2 (Σ = σ_x² I,
    ψ_n → ∞) Marchenko–Pastur on μ*² + Γ_t²κ_1²(√ψ_p ∓ 1)², mass 1/ψ_p (Γ_t = 1 when
    σ_x² = 1). τ_gen ≈ 1/(2Δ_tΓ_t²κ_1²), τ_mem ≈ ψ_n/(2Δ_t v_t²).

    References
    ----------
    .. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025).
    """

    time_convention = TIME_CONVENTION

    psi_p: float
    psi_n: float
    t: float
    activation: object = "tanh"
    data_spectrum: object = None
    quadrature_order: int = 160
    kinks: tuple[float, ...] | None = None

    def __post_init__(self):
        put = object.__setattr__  # frozen: the validated values replace the arguments once, here
        put(self, "psi_p", check_real("psi_p", self.psi_p, gt=0))
        put(self, "psi_n", check_real("psi_n", self.psi_n, gt=0))
        put(self, "t", check_real("t", self.t, gt=0))
        if self.t < 1e-100:  # the constants (s_t² ∝ t, …) underflow below: no timescale is defined
            raise RegimesError(f"t must be >= 1e-100 (the constants underflow below), got {self.t!r}")
        act, kinks = self.activation, self.kinks
        if not (isinstance(act, Activation) and (kinks is None or _kinks_tuple(kinks) == act.kinks)):
            act = get_activation(act, kinks)  # (an Activation already resolved is kept as it is)
        put(self, "activation", act)
        put(self, "kinks", None if kinks is None else act.kinks)
        put(self, "data_spectrum", _check_spectrum(self.data_spectrum))
        put(self, "quadrature_order",
            check_int("quadrature_order", self.quadrature_order, ge=8, le=2000))

    def replace(self, **changes) -> RandomFeatures:
        """A new object with ``changes`` applied (validated, fresh caches); ``self`` is unchanged.

        Same as ``dataclasses.replace(self, **changes)``; an unknown field is a RegimesError
        listing the fields.
        """
        return replace_checked(self, changes)

    @cached_property
    def _spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        return _parse_spectrum(self.data_spectrum)

    @property
    def spectrum_values(self) -> np.ndarray:
        """Distinct eigenvalues of the data covariance Σ (the support of ρ_Σ), read-only."""
        return self._spectrum[0]

    @property
    def spectrum_weights(self) -> np.ndarray:
        """Weights of :attr:`spectrum_values` in ρ_Σ (summing to 1), read-only."""
        return self._spectrum[1]

    def __repr__(self):
        return (f"RandomFeatures(psi_p={self.psi_p!r}, psi_n={self.psi_n!r}, t={self.t!r}, "
                f"activation={self.activation.name!r})")

    # ------------------------------------------------------------------ constants
    @cached_property
    def constants(self) -> RFConstants:
        """Gaussian-equivalence constants by quadrature (see Notes)."""
        t = self.t
        act = self.activation
        order = self.quadrature_order
        sigma_x2 = float(np.dot(self.spectrum_weights, self.spectrum_values))
        delta = -math.expm1(-2.0 * t)
        et_sx = math.exp(-t) * math.sqrt(sigma_x2)
        if not et_sx > 1e-150:
            raise RegimesError(f"t = {t!r} is too large: e^{{−t}}σ_x = {et_sx:.3g} underflows the "
                               f"constants; allowed: 0 < t ≲ 100 (v_t² ∝ e^{{−6t}} for odd σ underflows near t ≈ 115)")
        gamma2 = et_sx**2 + delta
        gamma = math.sqrt(gamma2)
        kinks = act.kinks
        # σ_x² > 1: σ(Γ_t z) is steeper than for Σ = I (Γ_t > 1). Without kinks the rules are panels
        # scaled to its transition (one Gauss–Hermite rule misses it for Γ_t ≳ 3: b_t was 27 % and
        # s_t² 70 % off at σ_x² = 100); with or without, s_t² is the cancellation-free residual form
        steep = gamma2 > _STEEP_GAMMA2
        expect1 = _moment_rule(gamma, kinks, order)
        # 1-D Gaussian moments of σ(Γ z)
        mu0 = expect1(lambda x, z: act(x))
        warned = act.user and not kinks and _check_smooth(act, gamma, order)
        m2 = expect1(lambda x, z: (act(x) - mu0) ** 2)
        kappa1 = expect1(lambda x, z: z * act(x)) / gamma
        # iterated quadrature: outer rule in u, inner in v at each u node. A kink of σ at x = κ is
        # smoothed in E_v σ(e^{−t}σ_x u + √Δ v) over a width √Δ/(e^{−t}σ_x) in u around κ/(e^{−t}σ_x):
        # tiny at small t, where a Gauss–Hermite rule in u misses it (ReLU's s_t² was 165× off at
        # t = 1e-5) — Gauss–Legendre panels cut around it resolve it at any t
        sd = math.sqrt(delta)
        if kinks:
            w_s = sd / et_sx
            u, wu = gaussian_panels([k / et_sx + c * w_s for k in kinks for c in (-12, -2, 0, 2, 12)], order)
        elif steep:
            u, wu = _scaled_rule(et_sx, order)
        else:
            u, wu = gauss_hermite_normal(order)
        g, h = _iterated(act, mu0, u, et_sx, sd, kinks, order)  # E_v σ_c, E_v vσ
        a_t = float(np.dot(wu, u * g)) / et_sx
        b_t = float(np.dot(wu, h))
        if act.user and not kinks and not warned:  # (one warning for one activation)
            _check_stein(act, a_t, kappa1, m2)
        lin = a_t**2 * et_sx**2
        rho = et_sx**2 / gamma2  # correlation of Y and Y' (same u, independent v, w)
        if rho > 0.25:
            # v_t² = E_u[(g(u) − a_t e^{−t}σ_x u)²]: linear part removed before squaring
            v2 = float(np.dot(wu, (g - a_t * et_sx * u) ** 2))
            if act.user and abs(v2) <= 1e-12 * m2:  # this cancelling form leaves quadrature noise for an
                v2 = 0.0  # exact zero (σ(x) = x: v_t² ~ 1e-31, τ_mem ~ 1e30); the Mehler branch has its own
        else:
            # Mehler expansion in normalised Hermite coefficients c_m = E[σ(Γz)He_m(z)]/√m!:
            # E[σ(Y)σ(Y')] = Σ_m ρ^m c_m², the m = 1 term is the linear part a_t²e^{−2t}σ_x²,
            # so v_t² = Σ_{m≥2} ρ^m c_m², no cancellation for any t (terms ≤ 4^{−m}).
            cm = _hermite_coefficients(act, mu0, gamma, kinks, order, 64)
            # quadrature noise (~1e-17, e.g. even coefficients of an odd σ) would dominate
            # ρ^m c_m² at large t: coefficients below it are zero
            cm = np.where(np.abs(cm) > 1e-13 * np.max(np.abs(cm)), cm, 0.0)
            v2 = float(np.sum(rho ** np.arange(2, cm.size) * cm[2:] ** 2))
            if v2 < 1e-300 and np.max(np.abs(cm[2:])) > 1e-12 * max(abs(cm[1]), 1e-300):
                m0 = 2 + int(np.argmax(np.abs(cm[2:]) > 1e-12 * max(abs(cm[1]), 1e-300)))
                rho_max = (1e-300 / cm[m0] ** 2) ** (1.0 / m0)
                t_max = -0.5 * math.log(rho_max * gamma2 / sigma_x2)
                raise RegimesError(
                    f"t = {t!r} is too large: v_t² ≈ e^{{−{2 * m0}t}} underflows double precision "
                    f"here; allowed: 0 < t ≲ {t_max:.4g} for this activation and data scale")
        if act.user and lin + b_t**2 <= 1e-12 * m2:  # no linear part at all (an even σ; quadrature noise:
            a_t = b_t = kappa1 = lin = 0.0  # σ(x) = x²: κ_1 ~ 1e-17, τ_gen ~ 1e33)
        s2 = (_residual_s2(act, mu0, u, wu, et_sx, sd, kinks, order, g, h, b_t) if steep
              else m2 - lin - v2 - b_t**2)
        if not (kinks or steep) and s2 < 1e-3 * m2 and rho > 0.25:
            # small t: the difference above keeps ~1e-16·m2 absolute (2e5× off at t = 1e-20);
            # the Mehler sum of positive terms has no cancellation
            s2 = _s2_mehler(act, mu0, gamma, delta / gamma2)
        elif kinks and not steep and s2 < 1e-3 * m2:
            # the same cancellation with kinks (ReLU: 8e-3 off at t = 1e-12, 86× at 1e-16): the
            # residual form, a sum of non-negative terms (one more inner quadrature, small t only)
            s2 = _residual_s2(act, mu0, u, wu, et_sx, sd, kinks, order, g, h, b_t)
        mu_star2 = m2 - gamma2 * kappa1**2
        return RFConstants(a_t=a_t, b_t=b_t, v_t2=v2, s_t2=s2, kappa1=kappa1,
                           mu_star2=mu_star2, mu0=mu0, sigma_x2=sigma_x2, gamma_t2=gamma2,
                           delta_t=delta)

    @cached_property
    def _params(self) -> SCParams:
        c = self.constants
        return SCParams(psi_p=self.psi_p, psi_n=self.psi_n, A2=c.a_t**2 * math.exp(-2 * self.t),
                        v2=c.v_t2, b2=c.b_t**2, s2=c.s_t2, lam=self.spectrum_values,
                        w=self.spectrum_weights)

    @classmethod
    def _from_params(cls, P: SCParams, t: float = 1.0) -> RandomFeatures:
        """Object with the constants replaced (used for the Marchenko–Pastur reduction)."""
        obj = cls(P.psi_p, P.psi_n, t, data_spectrum=(P.lam, P.w))
        obj.__dict__["_params"] = P
        return obj

    # ------------------------------------------------------------------ leading order
    @cached_property
    def delta_t(self) -> float:
        """Δ_t = 1 − e^{−2t}."""
        return -math.expm1(-2.0 * self.t)

    @cached_property
    def leading_order(self) -> dict:
        """Leading-order edges and masses of the atom and bulks (ψ_n, ψ_p large; see the Notes)."""
        P = self._params
        c = self.constants
        k = math.sqrt(self.psi_p / self.psi_n)
        slow = (P.s2 + P.v2 * (1 - k) ** 2, P.s2 + P.v2 * (1 + k) ** 2)
        fk2 = P.A2 * c.sigma_x2 + P.b2  # Γ_t²κ_1² in the Gaussian-equivalent model
        sp = math.sqrt(self.psi_p)
        mu_star2 = P.s2 + P.v2
        fast = (mu_star2 + fk2 * (sp - 1) ** 2, mu_star2 + fk2 * (sp + 1) ** 2)
        pp, pn = self.psi_p, self.psi_n
        atom = max(0.0, 1.0 - self._rank_over_d() / pp)
        # eigenvalue counts (p = ψ_p d): d in the fast bulk (all p if p ≤ d), the atom
        # p − n − d when p > n + d, and below the fast bulk min(n, p − d): ρ_1 with n − d and
        # the satellite with d when p ≥ n + d and n > d; otherwise the pieces below the fast bulk
        # are not separated at leading order and ρ_1 is given all min(n, p − d) of them
        # (None where there is no slow bulk, p ≤ d)
        if pp <= 1.0:
            slow_mass, sat_mass = None, None
        elif pp >= pn + 1.0 and pn > 1.0:
            slow_mass, sat_mass = (pn - 1.0) / pp, 1.0 / pp
        else:
            slow_mass, sat_mass = min(pn, pp - 1.0) / pp, None
        return {"slow": {"edges": slow, "mass": slow_mass},
                "satellite": {"mass": sat_mass},
                "fast": {"edges": fast, "mass": min(1.0, 1.0 / pp)},
                "atom": {"location": P.s2, "mass": atom}}

    def _rank_over_d(self) -> float:
        """rank(U − s_t²I)/d for U − s_t²I = GGᵀ/n + b_t²WWᵀ/d, G = e^{−t}a_t WX/√d + v_tΩ.

        range(G) + range(W): n + d when v_t² > 0 and b_t ≠ 0; d when v_t² = 0 (G then lies in
        range(W): σ(x) = x); n when b_t = 0 and v_t² > 0 (no W term: even σ); min(n, d) when
        only the WX part is left; 0 when nothing is (the cap at p is applied by the caller)."""
        P = self._params
        if P.b2 > 0:
            return 1.0 + (self.psi_n if P.v2 > 0 else 0.0)
        if P.v2 > 0:
            return self.psi_n
        return min(self.psi_n, 1.0) if P.A2 > 0 else 0.0

    @cached_property
    def tau_gen(self) -> float:
        """Leading-order generalisation time τ_gen = 1/(2Δ_tΓ_t²κ_1²) (see time convention)."""
        P = self._params
        rate = 2.0 * self.delta_t * (P.A2 * self.constants.sigma_x2 + P.b2)
        return 1.0 / rate if rate > 0 else math.inf  # no linear part (even σ): never learnt

    @cached_property
    def tau_mem(self) -> float:
        """Leading-order memorisation time τ_mem = ψ_n/(2Δ_t v_t²) (see time convention)."""
        rate = 2.0 * self.delta_t * self._params.v2
        return self.psi_n / rate if rate > 0 else math.inf  # v_t² = 0 (linear σ): no memorisation

    @cached_property
    def tau_mem_in_range(self) -> bool:
        """Whether τ_mem is inside its range, v_t²ψ_p/ψ_n ≥ 10 s_t² (see :func:`tau_mem_in_range`)."""
        c = self.constants
        return tau_mem_in_range(self.psi_n, self.psi_p, c.s_t2, c.v_t2)

    @cached_property
    def tau_slow(self) -> float:
        """Relaxation time at the mean eigenvalue of the slow bulk (:func:`slow_bulk_tau`)."""
        c = self.constants
        return slow_bulk_tau(self.psi_n, self.psi_p, self.delta_t, c.s_t2, c.v_t2)

    @cached_property
    def tau_mem_recommended(self) -> float:
        """τ_mem when :attr:`tau_mem_in_range`, else the slow-bulk time :attr:`tau_slow`."""
        return self.tau_mem if self.tau_mem_in_range else self.tau_slow

    @cached_property
    def slow_bulk_distinct(self) -> bool:
        """Whether the slow (memorisation) bulk stands apart from the noise floor s_t².

        True when v_t²(1 + ψ_p/ψ_n) ≥ 1e-3 s_t², i.e. when its mean relaxation time
        :attr:`tau_slow` differs from the noise floor's ψ_p/(2Δ_t s_t²) by more than 0.1 %.
        Below (t ≳ 2 for tanh with σ_x² = 1, where v_t² ∝ e^{−6t}) the slow modes relax with the
        noise floor and there is no separate memorisation timescale: τ_1 is then the relaxation of
        the noise floor.
        """
        c = self.constants
        return bool(c.v_t2 * (1.0 + self.psi_p / self.psi_n) >= 1e-3 * c.s_t2)

    @cached_property
    def tau_mem_note(self) -> str | None:
        """A note when τ_mem is outside its range (None when it is inside)."""
        if self.tau_mem_in_range:
            return None
        c = self.constants
        head = (f"τ_mem = ψ_n/(2Δ_t v_t²) = {self.tau_mem:.4g} is outside its range: it needs "
                f"s_t²/v_t² ≪ ψ_p/ψ_n, here s_t²/v_t² = {c.s_t2 / c.v_t2:.3g} against ψ_p/ψ_n = "
                f"{self.psi_p / self.psi_n:.3g} (margin {TAU_MEM_MARGIN:g}); ")
        if not self.slow_bulk_distinct:
            return head + (f"there is no distinct slow (memorisation) bulk here (v_t²(1 + ψ_p/ψ_n) = "
                           f"{c.v_t2 * (1.0 + self.psi_p / self.psi_n):.3g} < 1e-3 s_t²), so no "
                           f"memorisation timescale: τ_1 = ψ_p/(2Δ_t(s_t² + v_t²(1 + ψ_p/ψ_n))) = "
                           f"{self.tau_slow:.4g} (tau_mem_recommended) is the relaxation of the "
                           f"noise floor s_t²")
        return head + (f"the slow bulk relaxes near τ_1 = ψ_p/(2Δ_t(s_t² + v_t²(1 + ψ_p/ψ_n))) = "
                       f"{self.tau_slow:.4g} (tau_mem_recommended)")

    @cached_property
    def tau_ratio(self) -> float:
        """τ_mem/τ_gen (convention-free)."""
        return self.tau_mem / self.tau_gen

    def tau(self, lam):
        """Relaxation time τ_λ = ψ_p/(2Δ_t λ) of an eigen-direction of U with eigenvalue λ (λ >= 0;
        λ = 0 gives +inf)."""
        lam = as_real_array("lam", lam, ge=0.0, allow_inf=True) + 0.0  # (−0.0 → +0.0: +inf, not −inf)
        with np.errstate(divide="ignore"):
            return (self.psi_p / (2.0 * self.delta_t * lam))[()]

    # ------------------------------------------------------------------ density
    def _scale(self) -> float:
        lo = self.leading_order
        fast_hi = lo["fast"]["edges"][1]
        slow_hi = lo["slow"]["edges"][1]
        extra = (1.0 + 1.0 / math.sqrt(self.psi_n)) ** 2
        return max(fast_hi * extra, slow_hi, 1e-300) * 1.5

    def stieltjes(self, z, *, eps_min: float | None = None):
        """q(z) = (1/p)Tr(U − z)⁻¹ for Im z > 0 (reached by continuation from large Im z).

        ``eps_min`` is accepted for compatibility (None or a real > 0) and unused: every point is
        continued down to its own Im z.
        """
        if eps_min is not None:
            check_real("eps_min", eps_min, gt=0.0)
        try:
            z = np.asarray(z, dtype=np.complex128)
        except (TypeError, ValueError, OverflowError):  # (OverflowError: an integer beyond float64)
            raise RegimesError(f"z must be complex numbers within the float64 range, got {shown(z)}") from None
        if not np.all(np.isfinite(z)):
            raise RegimesError(f"z must be finite, got {complex(z[~np.isfinite(z)].ravel()[0])!r}")
        if np.any(z.imag <= 0):
            raise RegimesError("z must have a positive imaginary part")
        out = np.empty(z.size, dtype=complex)
        flat = z.ravel()
        # every point continues down to its own Im z
        for e in np.unique(flat.imag):
            sel = flat.imag == e
            q, *_ = solve(flat.real[sel], [e], self._params,
                          eps_start=max(10.0 * self._scale(), 10 * e))
            out[sel] = q[0]
        return out.reshape(z.shape)[()]

    def density(self, lam, *, eps: float | None = None):
        """Density of the continuous part of the spectrum of U, Im q(λ + iε)/π.

        ``eps`` defaults to 1e-10 × (spectral scale). The atom (if any) is not included.
        """
        lam = as_real_array("lam", lam)
        S = self._scale()
        if eps is None:
            q, *_ = solve(lam.ravel(), [1e-10], self._params, eps_start=10.0 * S,
                          eps_scale=self._local_scale(lam.ravel()))
        else:
            e = check_real("eps", eps, gt=0)
            q, *_ = solve(lam.ravel(), [e], self._params, eps_start=10.0 * S)
        # U = (positive semi-definite terms) + s_t²I: no eigenvalue below s_t², exactly (the solver's
        # ε-smoothing leaves an O(ε) tail there, e.g. 5.7e-12 at λ = −5)
        rho = np.maximum(q[0].imag / np.pi, 0.0).reshape(lam.shape)
        return np.where(lam < self._params.s2, 0.0, rho)[()]

    def _local_scale(self, lam):
        """Spectral scale at λ: its distance from s_t² (every bulk sits at an offset from s_t² at
        least comparable to its width), floored far below every scale of the problem."""
        s2 = self._params.s2
        floor = 1e-12 * max(abs(s2), self._params.v2, 1e-300)
        return np.maximum(np.abs(np.asarray(lam, dtype=np.float64) - s2), floor)

    def _inside(self, lam):
        """True where λ is inside the support (Im q stays O(1) as ε → 0; outside it is ∝ ε).

        ε is local (1e-8 and 1e-10 × the distance from s_t²), so that bulks of width ~v_t²
        (e^{−6t} for tanh) are resolved as well as O(1) ones."""
        S = self._scale()
        q, _, _, reached = solve(lam, [1e-8, 1e-10], self._params, eps_start=10.0 * S,
                                 eps_scale=self._local_scale(lam))
        i1, i2 = q[0].imag, q[1].imag
        with np.errstate(all="ignore"):
            # outside, Im q ∝ ε: compare with the ε actually reached (a stalled continuation
            # reaches less than the factor 100 asked for)
            thr = np.maximum(0.5, np.sqrt(reached[1] / reached[0]))
            return (i2 > thr * i1) & (i2 > 1e-13 * np.abs(q[1]))

    def _find_intervals(self, grid_points: int = 400):
        S = self._scale()
        P = self._params
        s2 = P.s2
        lead = self.leading_order
        # global log grid in the offset from s_t², plus grids local to the leading-order bulks:
        # the slow bulk and satellite live at offsets ~v_t² (tiny at large t), the fast bulk can
        # be far narrower than its distance from s_t² (small ψ_p)
        offs = [np.geomspace(1e-7 * S, S, grid_points)]
        if P.v2 > 0:
            k2 = (1.0 + math.sqrt(self.psi_p / self.psi_n)) ** 2
            offs.append(P.v2 * np.geomspace(1e-4, 4.0 * k2, grid_points // 2))
        f_lo, f_hi = lead["fast"]["edges"]
        w = f_hi - f_lo
        if w > 0:
            offs.append(np.linspace(f_lo - w, f_hi + w, grid_points // 2) - s2)
        off = np.unique(np.concatenate(offs))
        off = off[off > 0]
        x = s2 + off
        x = np.unique(x[x > s2])
        ins = self._inside(x)
        # boundaries: refine by repeated sub-gridding (9 points per bracket per round)
        change = np.flatnonzero(ins[1:] != ins[:-1])
        lo_b, hi_b = x[change], x[change + 1]
        rising = ins[change + 1]  # True: a lower edge between lo_b and hi_b
        for _ in range(7):
            if lo_b.size == 0:
                break
            frac = np.linspace(0, 1, 11)[1:-1]
            pts = lo_b[:, None] + (hi_b - lo_b)[:, None] * frac[None, :]
            inn = self._inside(pts.ravel()).reshape(pts.shape)
            # first point whose state equals the inner side
            want = rising[:, None]
            match = inn == want
            first = np.where(match.any(axis=1), match.argmax(axis=1), frac.size)
            all_pts = np.concatenate([lo_b[:, None], pts, hi_b[:, None]], axis=1)
            rows = np.arange(lo_b.size)
            new_hi = all_pts[rows, first + 1]
            new_lo = all_pts[rows, first]
            lo_b, hi_b = new_lo, new_hi
        edges = 0.5 * (lo_b + hi_b)
        intervals = []
        start = None
        if ins[0]:
            start = s2  # support reaches down to s_t² (hard edge, e.g. γ = 1)
        for e, up in zip(edges, rising, strict=True):
            if up:
                start = e
            elif start is not None:
                intervals.append((float(start), float(e)))
                start = None
        if start is not None:
            intervals.append((float(start), float(x[-1])))
        return intervals

    def _mass(self, intervals, tol: float = 1e-9, rounds: int = 14):
        """Mass of each interval by adaptive panels: on each panel Gauss–Legendre in θ with
        x = lo + (hi − lo)(1 − cos θ)/2 (exact-rate for the square-root edges), 16 and 32 nodes;
        panels whose two estimates differ by more than ``tol`` are halved (kinks where two
        bulks merge, interior dips). All panels of a round share one vectorised solve."""
        if not intervals:
            return []
        rules = []
        for n in (16, 32):
            xl, wl = gauss_legendre(n)
            rules.append((0.5 * np.pi * (xl + 1.0), 0.5 * np.pi * wl))
        masses = [0.0] * len(intervals)
        panels = [(k, lo, hi) for k, (lo, hi) in enumerate(intervals)]
        # no halving below this (offsets from s_t² below ~1e-9 of it are not resolved)
        min_w = [max(1e-6 * (hi - lo), 1e-9 * abs(hi)) for lo, hi in intervals]
        for rnd in range(rounds):
            if not panels:
                break
            lo = np.array([p_[1] for p_ in panels])[:, None]
            hi = np.array([p_[2] for p_ in panels])[:, None]
            pts, wts = [], []
            for th, wt in rules:
                pts.append(lo + 0.5 * (hi - lo) * (1 - np.cos(th))[None, :])
                wts.append(0.5 * (hi - lo) * (np.sin(th) * wt)[None, :])
            rho = self.density(np.concatenate(pts, axis=1).ravel()).reshape(len(panels), -1)
            i16 = np.sum(rho[:, :16] * wts[0], axis=1)
            i32 = np.sum(rho[:, 16:] * wts[1], axis=1)
            nxt = []
            for (k, a, b), e16, e32 in zip(panels, i16, i32, strict=True):
                if abs(e32 - e16) <= tol or rnd == rounds - 1 or b - a <= min_w[k]:
                    masses[k] += float(e32)
                else:
                    m = 0.5 * (a + b)
                    nxt += [(k, a, m), (k, m, b)]
            panels = nxt
        return masses

    @cached_property
    def bulks(self) -> dict:
        """The pieces of the spectrum of U found by the solver.

        Returns a dict with keys "slow", "fast", "satellite" (each a :class:`Bulk` or None),
        "other" (list of further bulks) and "atom" ({"location", "mass"} or None). The pieces are
        named by position, as at leading order for ψ_p ≫ ψ_n ≫ 1: the top piece is the fast bulk
        ρ_2, the highest piece below it the slow bulk ρ_1, the next one down the satellite. Away
        from that regime (ψ_n < 1, a strongly anisotropic Σ) the pieces can be ordered otherwise:
        for ψ_p > ψ_n a :class:`RegimesWarning` says so when a named piece's mass differs from its
        leading-order mass by more than a quarter of it (plus 0.01).
        """
        P = self._params
        if P.v2 > 0 and P.v2 < 1e-10 * abs(P.s2):
            raise RegimesError(
                f"t = {self.t!r}, σ_x² = {self.constants.sigma_x2:.3g}: the slow bulk (width "
                f"~v_t² = {P.v2:.3g}) sits within "
                f"{P.v2 / abs(P.s2):.1e} of s_t² = {P.s2:.6g}, below what double precision "
                f"resolves; the bulk decomposition needs v_t²/s_t² ≥ 1e-10. v_t²/s_t² falls "
                f"with e^{{−2t}}σ_x² = {math.exp(-2 * self.t) * self.constants.sigma_x2:.3g} (the "
                f"data signal left at time t; here σ_x² = {self.constants.sigma_x2:.3g}): a larger "
                f"t or a smaller data scale σ_x² both cause it (tanh with σ_x² = 1: t ≲ 3.8); "
                f"constants and timescales remain available")
        intervals = self._find_intervals()
        masses = self._mass(intervals)
        lead = self.leading_order
        tau = lambda e: (float(self.tau(e[1])), float(self.tau(e[0])))  # noqa: E731
        out = {"slow": None, "fast": None, "satellite": None, "other": []}
        if intervals:
            # classify by position: fast = the top piece, ρ_1 = the highest piece below it,
            # satellite = the piece right below ρ_1 (it can be heavier than ρ_1: d eigenvalues
            # against n − d when ψ_n ≤ 2), anything else "other"
            order = list(range(len(intervals)))
            top = order.pop()
            out["fast"] = Bulk("fast", intervals[top], masses[top], tau(intervals[top]),
                               lead["fast"]["edges"], lead["fast"]["mass"])
            if order:
                slow = order.pop()
                out["slow"] = Bulk("slow", intervals[slow], masses[slow], tau(intervals[slow]),
                                   lead["slow"]["edges"], lead["slow"]["mass"])
                if order:
                    sat = order.pop()
                    out["satellite"] = Bulk("satellite", intervals[sat], masses[sat],
                                            tau(intervals[sat]), None, lead["satellite"]["mass"])
                out["other"] = [Bulk("other", intervals[i], masses[i], tau(intervals[i]))
                                for i in order]
        sat = lead["satellite"]["mass"] if out["satellite"] is None else 0.0  # merged into ρ_1 when not found
        want = {"fast": lead["fast"]["mass"], "slow": None if lead["slow"]["mass"] is None
                else lead["slow"]["mass"] + (sat or 0.0)}
        off = [f"{b.name} {b.mass:.3g} (leading order {want[b.name]:.3g})" for b in (out["fast"], out["slow"])
               if self.psi_p > self.psi_n and b is not None and want[b.name] is not None
               and abs(b.mass - want[b.name]) > 0.25 * want[b.name] + 0.01]
        if off:
            warnings.warn(
                f"RandomFeatures(psi_p={self.psi_p:g}, psi_n={self.psi_n:g}, t={self.t:g}): the pieces are named by "
                f"position, and the masses of {', '.join(off)} do not match their leading-order bulks — the names "
                "may not be the physical slow (memorisation, ~n eigenvalues) and fast (~d) bulks here",
                RegimesWarning, stacklevel=2)
        am = lead["atom"]["mass"]
        out["atom"] = {"location": lead["atom"]["location"], "mass": am} if am > 0 else None
        out["continuous_mass"] = float(sum(masses))
        total = am + out["continuous_mass"]
        out["mass_defect"] = total - 1.0
        if not abs(total - 1.0) <= 1e-4:
            warnings.warn(
                f"RandomFeatures(psi_p={self.psi_p:g}, psi_n={self.psi_n:g}, t={self.t:g}): atom + "
                f"continuous mass = {total:.6g}, not 1 — the bulk decomposition is incomplete "
                f"(a bulk was missed or mis-resolved); do not trust the bulks", RegimesWarning,
                stacklevel=2)
        return out

    def summary(self, points: int | None = None) -> dict:
        """JSON-ready description (constants, bulks, atom, τ_gen, τ_mem, optional density grid)."""
        c = self.constants
        b = self.bulks
        res = {
            "psi_p": self.psi_p, "psi_n": self.psi_n, "t": self.t,
            "activation": self.activation.name,
            "constants": {"kappa1": c.kappa1, "a_t": c.a_t, "b_t": c.b_t, "v_t2": c.v_t2,
                          "s_t2": c.s_t2, "mu_star2": c.mu_star2, "mu0": c.mu0,
                          "sigma_x2": c.sigma_x2, "delta_t": c.delta_t},
            "slow_bulk": b["slow"].as_dict() if b["slow"] else None,
            "fast_bulk": b["fast"].as_dict() if b["fast"] else None,
            "satellite": b["satellite"].as_dict() if b["satellite"] else None,
            "other_bulks": [o.as_dict() for o in b["other"]],
            "atom": b["atom"],
            "continuous_mass": b["continuous_mass"],
            "mass_defect": b["mass_defect"],
            "tau_gen": self.tau_gen, "tau_mem": self.tau_mem, "tau_ratio": self.tau_ratio,
            "tau_mem_in_range": self.tau_mem_in_range, "tau_slow": self.tau_slow,
            "slow_bulk_distinct": self.slow_bulk_distinct, "tau_mem_recommended": self.tau_mem_recommended,
            "time_convention": TIME_CONVENTION,
        }
        notes = [] if self.tau_mem_note is None else [self.tau_mem_note]
        lead_sat = self.leading_order["satellite"]["mass"]
        if b["satellite"] is None and b["slow"] is not None and lead_sat is not None:
            lead_slow = self.leading_order["slow"]["mass"]
            if abs(b["slow"].mass - (lead_slow + lead_sat)) < 0.25 * lead_sat:
                notes.append(f"no separate satellite: the piece below the fast bulk holds mass {b['slow'].mass:.4g} "
                             f"≈ ρ_1 ({lead_slow:.4g}) + satellite ({lead_sat:.4g}) at leading order — the two "
                             "have merged at these parameters and are reported together as slow_bulk")
        if abs(c.mu0) > 1e-12:
            notes.append(f"activation {self.activation.name!r} has mean μ_0 = {c.mu0:.6g}: the "
                            f"constants (a_t, b_t, v_t2, s_t2, mu_star2) are those of the centred "
                            f"activation σ − μ_0; the mean only adds a rank-one outlier ≈ pμ_0² "
                            f"to U, which does not touch the bulks")
        if notes:
            res["notes"] = notes
        if points is not None:
            lam = self.density_grid(points)
            res["lambda"] = lam
            res["density"] = self.density(lam)
        return res

    def density_grid(self, points: int = 400):
        """A log-spaced grid covering all bulks (15 % margins), for plots and output."""
        points = check_int("points", points, ge=2, le=10**6)
        b = self.bulks
        lows = [bk.edges[0] for bk in (b["slow"], b["fast"], b["satellite"], *b["other"]) if bk]
        highs = [bk.edges[1] for bk in (b["slow"], b["fast"], b["satellite"], *b["other"]) if bk]
        s2 = self._params.s2
        if not lows:
            return np.geomspace(max(s2, 1e-12), self._scale(), points)
        lo_off = max(min(lows) - s2, 1e-12) / 1.15
        hi_off = (max(highs) - s2) * 1.15
        return s2 + np.geomspace(lo_off, hi_off, points)

    # ------------------------------------------------------------------ sampling
    def _sizes(self, d):
        """``(d, p, n)`` of an instance at dimension d, refused (naming d) when p = ψ_p d or
        n = ψ_n d exceeds :data:`~regimes._validate.MAX_SAMPLES`."""
        d = check_int("d", d, ge=1, le=MAX_SAMPLES)
        pf, nf = self.psi_p * d, self.psi_n * d
        if not (pf <= MAX_SAMPLES and nf <= MAX_SAMPLES):
            raise RegimesError(
                f"d={d} gives an instance of p = psi_p·d = {pf:.4g} features and n = psi_n·d = {nf:.4g} "
                f"points (psi_p = {self.psi_p:.4g}, psi_n = {self.psi_n:.4g}); both must be <= {MAX_SAMPLES}: "
                "use a smaller d")
        p = max(1, int(round(pf)))
        n = max(1, int(round(nf)))
        return d, p, n

    def sigma_eigenvalues(self, d: int) -> np.ndarray:
        """d eigenvalues of the data covariance Σ realising ρ_Σ (largest-remainder rounding of the weights).

        ``d``: an integer from 1 to :data:`~regimes._validate.MAX_SAMPLES`.
        """
        d = check_int("d", d, ge=1, le=MAX_SAMPLES)
        vals, w = self.spectrum_values, self.spectrum_weights
        raw = w * d
        cnt = np.floor(raw).astype(int)
        rem = d - cnt.sum()
        if rem > 0:
            cnt[np.argsort(-(raw - cnt), kind="stable")[:rem]] += 1
        return np.repeat(vals, cnt)

    def sample_instance(self, d: int, rng=None) -> GaussianEquivalentInstance:
        """Sample the Gaussian-equivalent (U, V, Ũ, Ṽ) at dimension d (p = ψ_p d, n = ψ_n d).

        U = GGᵀ/n + b_t²WWᵀ/d + s_t²I_p with G = e^{−t}a_t W X/√d + v_t Ω, V = b_t W/√d,
        Ũ = e^{−2t}a_t² WΣWᵀ/d + (v_t² + s_t²)I + b_t²WWᵀ/d, Ṽ = V. The rank-one mean term of a
        non-odd activation is left out (it does not affect the bulks).
        """
        gen = check_rng(rng)
        d, p, n = self._sizes(d)
        # U, Ũ, G·Gᵀ, W·Wᵀ and temporaries: ~8 p×p float64 arrays, plus G, Ω (p×n); the caller's
        # eigendecomposition needs ~3 more: refuse what cannot fit rather than crash
        check_memory("d", d, 8.0 * (11 * p * p + 3 * p * n + p * d + d * n), what=f"a sampled {p} × {p} instance")
        P = self._params
        sig = self.sigma_eigenvalues(d)
        W = gen.standard_normal((p, d))
        X = np.sqrt(sig)[:, None] * gen.standard_normal((d, n))
        Om = gen.standard_normal((p, n))
        G = math.sqrt(P.A2) * (W @ X) / math.sqrt(d) + math.sqrt(P.v2) * Om
        WWt = W @ W.T / d
        U = G @ G.T / n + P.b2 * WWt + P.s2 * np.eye(p)
        U = 0.5 * (U + U.T)
        V = math.sqrt(P.b2) * W / math.sqrt(d)
        Upop = P.A2 * (W * sig[None, :]) @ W.T / d + (P.v2 + P.s2) * np.eye(p) + P.b2 * WWt
        return GaussianEquivalentInstance(U=U, V=V, U_pop=0.5 * (Upop + Upop.T), V_pop=V,
                                          delta_t=self.delta_t, psi_p=p / d, d=d)

    def sample_U(self, d: int, rng=None) -> np.ndarray:
        """A p×p Gaussian-equivalent sample of U at dimension d (for validation)."""
        return self.sample_instance(d, rng).U

    def loss_curves(self, tau, d: int = 64, rng=None) -> dict:
        """L_train(τ), L_test(τ), L_gen = L_test − L_train on one sampled Gaussian-equivalent
        instance at dimension d (closed form of :meth:`GaussianEquivalentInstance.loss_curves`; see
        the time convention)."""
        return self.sample_instance(d, rng).loss_curves(tau)


@dataclass(frozen=True)
class GaussianEquivalentInstance:
    """One sampled Gaussian-equivalent instance: U, V (training) and Ũ, Ṽ (population)."""

    U: np.ndarray
    V: np.ndarray
    U_pop: np.ndarray
    V_pop: np.ndarray
    delta_t: float
    psi_p: float
    d: int
    _eig: dict = field(default_factory=dict, repr=False, compare=False)

    def _decomp(self):
        if "lam" not in self._eig:
            lam, Q = np.linalg.eigh(self.U)
            self._eig.update(lam=lam, Q=Q, Vq=Q.T @ self.V, Vpq=Q.T @ self.V_pop,
                             Mq=Q.T @ self.U_pop @ Q)
        return self._eig

    def loss_curves(self, tau) -> dict:
        r"""Closed-form L_train, L_test, L_gen at training times τ (A(0) = 0).

        Notes
        -----
        With E(τ) = exp(−(2Δ_t/ψ_p)Uτ):
        L_train = 1 − (1/d)Tr(VᵀU⁻¹V) + (1/d)Tr(VᵀU⁻¹E²V),
        L_test = 1 + (1/d)[Tr(VᵀU⁻¹(E−I)Ũ(E−I)U⁻¹V) + 2Tr(VᵀU⁻¹(E−I)Ṽ)],
        evaluated in the eigenbasis of U with expm1 for E − I.
        """
        tau = as_real_array("tau", tau, ge=0)
        e = self._decomp()
        lam, Vq, Vpq, Mq = e["lam"], e["Vq"], e["Vpq"], e["Mq"]
        if lam[0] <= 0:
            raise RegimesError("U is not positive definite; loss curves need s_t² > 0")
        c = np.sum(Vq * Vq, axis=1)
        rate = 2.0 * self.delta_t / self.psi_p
        d = self.d
        train = np.empty(tau.size)
        test = np.empty(tau.size)
        for i, tt in enumerate(tau.ravel()):
            em1 = np.expm1(-rate * lam * tt)  # E − I
            E2 = (1.0 + em1) ** 2
            train[i] = 1.0 + np.sum(c * (E2 - 1.0) / lam) / d
            Y = (em1 / lam)[:, None] * Vq
            test[i] = 1.0 + (np.sum(Y * (Mq @ Y)) + 2.0 * np.sum(Y * Vpq)) / d
        train = train.reshape(tau.shape)
        test = test.reshape(tau.shape)
        return {"tau": tau, "train": train, "test": test, "gen": test - train}


# ---------------------------------------------------------------------- phase diagrams
def memorisation_phase_diagram(psi_n, psi_p, t, activation="tanh", data_spectrum=None, *,
                               d: int = 24, rng=0) -> dict:
    """τ_mem/τ_gen and the long-time generalisation gap over a (ψ_n, ψ_p) grid.

    Parameters
    ----------
    psi_n, psi_p : array_like
        Grid axes (positive).
    t : float
        Diffusion time.
    d : int, default 24
        Dimension of the sampled Gaussian-equivalent instances used for the long-time gap
        L_test(∞) − L_train(∞) (one instance per grid point, common random numbers through
        ``rng``; a finite-d estimate).

    Returns
    -------
    dict with "psi_n", "psi_p", "tau_ratio" (leading order, shape (len(psi_n), len(psi_p))),
    "tau_mem_in_range" (same shape: False where τ_mem is outside its range, see
    :func:`tau_mem_in_range`), "gap" (same shape) and "interpolation_line" (ψ_p = ψ_n, the
    memorisation crossover).
    """
    pn = as_real_array("psi_n", psi_n, gt=0, ndim=1, min_size=1)
    pp = as_real_array("psi_p", psi_p, gt=0, ndim=1, min_size=1)
    d = check_int("d", d, ge=1, le=MAX_SAMPLES)
    p_max, n_max = float(pp.max()) * d, float(pn.max()) * d
    if not (p_max <= MAX_SAMPLES and n_max <= MAX_SAMPLES):
        raise RegimesError(
            f"d={d} gives instances of up to p = max(psi_p)·d = {p_max:.4g} features and n = max(psi_n)·d = "
            f"{n_max:.4g} points; both must be <= {MAX_SAMPLES}: use a smaller d (or smaller psi_p, psi_n)")
    p_, n_ = max(1, round(p_max)), max(1, round(n_max))
    check_memory("d", d, 8.0 * (11 * p_ * p_ + 3 * p_ * n_ + p_ * d + d * n_),
                 what=f"a sampled {p_} × {p_} instance at the largest psi_p")
    seed = check_rng(rng).integers(2**63)
    ratio = np.empty((pn.size, pp.size))
    gap = np.empty((pn.size, pp.size))
    valid = np.empty((pn.size, pp.size), dtype=bool)
    for i, a in enumerate(pn):
        for j, b in enumerate(pp):
            rf = RandomFeatures(b, a, t, activation, data_spectrum)
            ratio[i, j] = rf.tau_ratio
            valid[i, j] = rf.tau_mem_in_range
            inst = rf.sample_instance(d, np.random.default_rng(seed))
            gap[i, j] = float(inst.loss_curves([1e12 * rf.tau_mem])["gen"][0])
    out = {"psi_n": pn, "psi_p": pp, "tau_ratio": ratio, "tau_mem_in_range": valid, "gap": gap,
           "interpolation_line": "psi_p = psi_n", "time_convention": TIME_CONVENTION}
    if not valid.all():
        out["notes"] = [_TAU_MEM_GRID_NOTE]
    return out


_TAU_MEM_GRID_NOTE = ("τ_mem = ψ_n/(2Δ_t v_t²) is outside its range (s_t²/v_t² not ≪ ψ_p/ψ_n) "
                      "where tau_mem_in_range is False: there the slow bulk relaxes near "
                      "ψ_p/(2Δ_t(s_t² + v_t²(1 + ψ_p/ψ_n))), below τ_mem, and the memorisation "
                      "boundary drawn from τ_mem is too late")


def training_regimes(n, tau, d, p, t, activation="tanh", data_spectrum=None) -> dict:
    """Regions over (n, τ): 0 = generation (τ < τ_gen: still learning to generate),
    1 = generalisation (τ_gen ≤ τ < τ_mem(n)), 2 = memorisation (τ ≥ τ_mem(n)).

    Uses the leading-order τ_gen = 1/(2Δ_tΓ_t²κ_1²) and τ_mem = (n/d)/(2Δ_t v_t²). The result
    also holds "tau_mem_in_range" (per n, :func:`tau_mem_in_range`), "tau_slow" (per n,
    :func:`slow_bulk_tau`, the slow bulk's relaxation time to use where τ_mem is out of its
    range) and, when some τ_mem is out of range, "notes".
    """
    n = as_real_array("n", n, gt=0, ndim=1, min_size=1)
    tau = as_real_array("tau", tau, ge=0, ndim=1, min_size=1)
    d = check_real("d", d, gt=0)
    p = check_real("p", p, gt=0)
    if not (math.isfinite(p / d) and p / d > 0):
        raise RegimesError(f"p/d (psi_p) must be a finite positive float64, got p={p!r}, d={d!r}")
    with np.errstate(over="ignore", under="ignore"):
        bad = ~(np.isfinite(n / d) & (n / d > 0))
    if np.any(bad):
        raise RegimesError(f"n/d (psi_n) must be finite positive float64s, got n={float(n[bad][0])!r}, d={d!r}")
    tg = np.empty(n.size)
    tm = np.empty(n.size)
    ts = np.empty(n.size)
    valid = np.empty(n.size, dtype=bool)
    for i, ni in enumerate(n):
        rf = RandomFeatures(p / d, ni / d, t, activation, data_spectrum)
        tg[i], tm[i], ts[i], valid[i] = rf.tau_gen, rf.tau_mem, rf.tau_slow, rf.tau_mem_in_range
    T = tau[None, :]
    region = np.where(T < tg[:, None], 0, np.where(T < tm[:, None], 1, 2))
    out = {"n": n, "tau": tau, "tau_gen": tg, "tau_mem": tm, "region": region,
           "tau_mem_in_range": valid, "tau_slow": ts,
           "labels": ["generation", "generalisation", "memorisation"],
           "time_convention": TIME_CONVENTION}
    if not valid.all():
        out["notes"] = [_TAU_MEM_GRID_NOTE]
    return out


def _pointwise_reference_density(rf: RandomFeatures, lam, eps=None):
    """Density from the per-point Levenberg–Marquardt solver (benchmarks and tests only)."""
    S = rf._scale()
    lam = np.asarray(lam, dtype=np.float64).ravel()
    e = 1e-10 * rf._local_scale(lam) if eps is None else eps  # same ε as RandomFeatures.density
    q = solve_pointwise_lm(lam, e, rf._params, eps_start=10.0 * S)
    return np.maximum(q.imag / np.pi, 0.0)
