"""Every closed form of regimes as a sympy expression: LaTeX, ``lambdify`` and Python source.

The numeric library (``regimes.schedules``, ``regimes.speciation``, ``regimes.collapse``,
``regimes.rmt``) is written for speed and floating-point accuracy (``expm1``/``log1p`` forms,
quadrature rules). This module states the same quantities as exact symbolic expressions over named
symbols, so that they can be printed, differentiated, embedded in a derivation or used as an
independent oracle for the numeric code.

Asymptotic forms (e.g. the collapse time as ``α → 0`` and ``α → ∞``) are *derived* here with
sympy's ``series``/``limit``/``as_leading_term`` from the exact expressions the first time they are
requested, and cached; they are not typed in.

Public API
----------
``names()``
    All formula names, in catalogue order.
``describe()``
    ``{name: one-line description}``.
``formula(name)``
    The sympy expression (a :class:`sympy.Eq` for implicit equations such as the Stieltjes
    equation of the Marchenko–Pastur law).
``symbols(name)``
    The arguments of the formula, in the documented, stable order used by :func:`lambdify`.
``latex(name)``, ``python(name)``
    LaTeX string (the plain textbook form); source of a plain-Python function (``math``/``cmath``
    module) evaluating the floating-point-safe form :func:`numeric_form`.
``lambdify(name, modules="numpy", stable=True)``
    A callable ``f(*symbols(name))`` of :func:`numeric_form` (``stable=False``: of the plain
    expression). For an equation it returns ``lhs - rhs`` (zero on solutions).
``numeric_form(name)``
    The same quantity rewritten for floating point with ``expm1``/``log1p``
    (:mod:`sympy.codegen.cfunctions`): what ``lambdify`` and ``python`` evaluate.

Importing this module imports sympy; ``import regimes`` does not (``regimes.symbolic`` is loaded
lazily on first attribute access).

Notes
-----
Conventions are those of [DR] (the *Conventions* page of the documentation lists them):
Ornstein–Uhlenbeck time ``t`` with ``Δ_t = 1 - e^{-2t}``, natural logarithms, ``α = ln(n)/d``. The
expressions returned by :func:`formula` (and printed by :func:`latex`) are the textbook forms, e.g.
``Δ_t = 1 - e^{-2t}`` and ``t_C = ½ ln(1 + σ²/(n^{2/d} − 1))``, meant for derivations. Evaluated as
written in floating point they cancel (``n^{2/d} − 1`` for ``d ≫ ln n``, ``1 − e^{−2t}`` for
``t → 0``), so :func:`lambdify` and :func:`python` evaluate :func:`numeric_form` instead: the same
expression with ``b^x − 1 → expm1(x ln b)``, ``e^x − 1 → expm1(x)``, ``ln(1 + x) → log1p(x)``,
``ln(P/Q) → log1p((P − Q)/Q)`` when ``P − Q`` is simpler than ``P``, ``ln(e^x R) → x + ln R``, and
two hand-written forms (``time_from_logsnr`` without overflow of ``e^{−λ}``, ``vp_sde_from_time``
rationalised). For example ``collapse_time`` becomes ``½ log1p(σ²/expm1(2 ln(n)/d))``, accurate to
~1e-15 relative for ``n = 2``, ``d = 1e15``. Use ``lambdify(name, "mpmath", stable=False)`` with
raised ``mpmath.mp.dps`` for reference values of the plain expression.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491, Nature Communications 15:9957 (2024).
.. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, "Why diffusion models don't memorize: the
   role of implicit dynamical regularization in training", arXiv:2505.17638 (2025).
.. [MP] V. A. Marchenko, L. A. Pastur, "Distribution of eigenvalues for some sets of random
   matrices", Math. USSR-Sbornik 1:457 (1967).

The time-reparametrisation formulas also cite the papers that define each time variable: J. Ho,
A. Jain, P. Abbeel, arXiv:2006.11239 (DDPM, ᾱ); T. Karras, M. Aittala, T. Aila, S. Laine,
arXiv:2206.00364 (EDM, σ); D. P. Kingma, T. Salimans, B. Poole, J. Ho, arXiv:2107.00630
(log-SNR); X. Liu, C. Gong, Q. Liu, arXiv:2209.03003 (rectified flow); Y. Song et al.,
arXiv:2011.13456 (VP-SDE).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1 as _expm1
from sympy.codegen.cfunctions import log1p as _log1p
from sympy.printing.str import StrPrinter

from ._errors import RegimesError

__all__ = [
    "describe",
    "formula",
    "info",
    "lambdify",
    "latex",
    "names",
    "numeric_form",
    "python",
    "symbols",
    "sympy_text",
    "to_latex",
    "ALIASES",
]

# ----------------------------------------------------------------------------------------------
# symbols


def _sym(name: str, latex_name: str, **assumptions) -> sp.Symbol:
    # sympy prints a Symbol with its own name in LaTeX; a Dummy-free trick is to give the symbol
    # the LaTeX name as its name and keep the Python name for argument lists (see _ARGNAME).
    s = sp.Symbol(name, **assumptions)
    _LATEX_NAMES[s] = latex_name
    return s


_LATEX_NAMES: dict[sp.Symbol, str] = {}

#: The named symbols. Keys are the Python argument names used by lambdify/python.
S: dict[str, sp.Symbol] = {}


def _init_symbols() -> None:
    pos = {"positive": True}
    table = [
        ("t", r"t", pos),
        ("alpha_bar", r"\bar{\alpha}", pos),
        ("sigma", r"\sigma", {"nonnegative": True}),
        ("logsnr", r"\lambda", {"real": True}),
        ("tau", r"\tau", {"nonnegative": True}),
        ("s", r"s", {"nonnegative": True}),
        ("beta_min", r"\beta_{\min}", pos),
        ("beta_max", r"\beta_{\max}", pos),
        ("eigenvalue", r"\Lambda", pos),
        ("n", r"n", pos),
        ("d", r"d", pos),
        ("variance", r"\sigma^{2}", pos),
        ("alpha", r"\alpha", pos),
        ("separation", r"\tilde{m}", pos),
        ("norm_m", r"|m|", pos),
        ("r", r"r", {"nonnegative": True}),
        ("z", r"z", {"real": True}),
        ("x", r"x", pos),
        ("ratio", r"\gamma", pos),
        ("zeta", r"z", {}),  # complex argument of the Stieltjes transform
        ("m", r"m", {}),  # value of the Stieltjes transform (complex unknown)
        ("psi_p", r"\psi_p", pos),
        ("psi_n", r"\psi_n", pos),
        ("s2", r"s_t^{2}", pos),
        ("v2", r"v_t^{2}", pos),
        ("mu2", r"\mu_*^{2}", pos),
        ("kappa1", r"\kappa_1", pos),
        ("lam", r"\lambda", pos),
    ]
    for key, tex, assumptions in table:
        S[key] = _sym(key, tex, **assumptions)


_init_symbols()


def _delta(t):
    return 1 - sp.exp(-2 * t)


# ----------------------------------------------------------------------------------------------
# the catalogue


@dataclass(frozen=True)
class _Guard:
    """Outside the domain: where ``condition`` (Python/sympy syntax over the argument names)
    holds, the formula's value is ``value`` (nan: undefined there, as in the numeric library)."""

    condition: str
    value: float
    reason: str


@dataclass(frozen=True)
class _Entry:
    name: str
    description: str
    args: tuple[str, ...]
    build: Callable[[], sp.Basic]
    kind: str = "exact"  # "exact", "asymptotic", "equation", "integrand"
    reference: str = "[DR]"
    domain: str = ""  # stated domain (shown by info() and `regimes formula`), "" if all of R+
    guards: tuple[_Guard, ...] = ()
    bounds: tuple[tuple[str, str], ...] = ()  # argument-check overrides, e.g. (("t", "ge"),)
    defaults: tuple[tuple[str, float], ...] = ()  # trailing arguments that may be omitted


_ENTRIES: dict[str, _Entry] = {}


def _register(name, description, args, kind="exact", reference="[DR]", *, domain="", guards=(),
              bounds=(), defaults=()):
    def deco(fn):
        _ENTRIES[name] = _Entry(name, description, tuple(args), fn, kind, reference, domain,
                                tuple(guards), tuple(bounds), tuple(defaults))
        return fn

    return deco


# --- time and schedules -------------------------------------------------------------------------

_RF_REF = "[DR]; rectified flow, Liu et al., arXiv:2209.03003 (here τ = 0 is the data)"


@_register("delta", "Noise variance of the OU process, Δ_t = 1 − e^{−2t}", ["t"],
           reference="[DR]")
def _f_delta():
    return _delta(S["t"])


@_register("alpha_bar", "VP/DDPM signal fraction ᾱ = e^{−2t} at OU time t", ["t"],
           reference="[DR]; Ho et al., arXiv:2006.11239")
def _f_alpha_bar():
    return sp.exp(-2 * S["t"])


@_register("time_from_alpha_bar", "OU time of a VP/DDPM ᾱ: t = −½ ln ᾱ", ["alpha_bar"],
           reference="[DR]; Ho et al., arXiv:2006.11239")
def _f_time_from_alpha_bar():
    return -sp.log(S["alpha_bar"]) / 2


@_register("edm_sigma", "EDM/VE noise level at OU time t: σ = √(e^{2t} − 1)", ["t"],
           reference="[DR]; Karras et al., arXiv:2206.00364")
def _f_edm_sigma():
    return sp.sqrt(sp.exp(2 * S["t"]) - 1)


@_register("time_from_edm_sigma", "OU time of an EDM/VE noise level: t = ½ ln(1 + σ²)", ["sigma"],
           reference="[DR]; Karras et al., arXiv:2206.00364")
def _f_time_from_edm_sigma():
    return sp.log(1 + S["sigma"] ** 2) / 2


@_register("logsnr", "Log signal-to-noise ratio λ = ln(ᾱ/(1 − ᾱ)) at OU time t", ["t"],
           reference="[DR]; Kingma et al., arXiv:2107.00630")
def _f_logsnr():
    ab = sp.exp(-2 * S["t"])
    return sp.log(ab / (1 - ab))


@_register("time_from_logsnr", "OU time of a log-SNR λ: t = ½ ln(1 + e^{−λ})", ["logsnr"],
           reference="[DR]; Kingma et al., arXiv:2107.00630")
def _f_time_from_logsnr():
    return sp.log(1 + sp.exp(-S["logsnr"])) / 2


@_register("flow_tau", "Flow-matching time τ = σ/(1 + σ), σ = √(e^{2t} − 1), at OU time t", ["t"],
           reference=_RF_REF)
def _f_flow_tau():
    sig = _f_edm_sigma()
    return sig / (1 + sig)


@_register("time_from_flow_tau", "OU time of a flow-matching time τ: t = ½ ln(1 + τ²/(1 − τ)²)",
           ["tau"], reference=_RF_REF)
def _f_time_from_flow_tau():
    tau = S["tau"]
    return sp.log(1 + tau**2 / (1 - tau) ** 2) / 2


@_register("time_from_vp_sde",
           "OU time of the continuous VP-SDE at s ∈ [0,1]: t = ½β_min s + ¼(β_max − β_min)s²",
           ["s", "beta_min", "beta_max"], reference="[DR]; Song et al., arXiv:2011.13456")
def _f_time_from_vp_sde():
    s, b0, b1 = S["s"], S["beta_min"], S["beta_max"]
    # t = ½ ∫_0^s β(u) du with β(u) = β_min + u(β_max − β_min): integrate, don't type in.
    u = sp.Dummy("u")
    return sp.expand(sp.integrate(b0 + u * (b1 - b0), (u, 0, s)) / 2)


@_register("vp_sde_from_time",
           "Continuous VP-SDE s at OU time t: the non-negative root of the quadratic t(s)",
           ["t", "beta_min", "beta_max"], reference="[DR]; Song et al., arXiv:2011.13456")
def _f_vp_sde_from_time():
    s, t = sp.Symbol("s_", real=True), S["t"]
    quad = _f_time_from_vp_sde().subs(S["s"], s) - t
    roots = sp.solve(sp.Eq(quad, 0), s)
    # pick the branch that is non-negative for t > 0 (test at a generic point)
    probe = {t: sp.Rational(1, 3), S["beta_min"]: sp.Rational(1, 10), S["beta_max"]: 20}
    good = [rt for rt in roots if sp.N(rt.subs(probe)) >= 0]
    if len(good) != 1:  # pragma: no cover - sympy changed its output
        raise RegimesError("internal: could not select the VP-SDE root")
    return sp.simplify(good[0])


# --- speciation --------------------------------------------------------------------------------


_NO_SPECIATION = "no speciation (t_S <= 0), as in regimes.speciation_time"


@_register("speciation_time", "Speciation time t_S = ½ ln Λ (Λ: largest covariance eigenvalue)",
           ["eigenvalue"], domain="Λ > 1; nan for Λ <= 1 (no speciation, as regimes.speciation_time)",
           guards=[_Guard("eigenvalue <= 1", float("nan"), _NO_SPECIATION)])
def _f_speciation_time():
    # t_S solves Λ e^{−2t} = 1
    t = sp.Symbol("t_", positive=True)
    (sol,) = sp.solve(sp.Eq(S["eigenvalue"] * sp.exp(-2 * t), 1), t)
    return sol


@_register("speciation_time_linear",
           "Linear-instability variant of t_S: ½ ln(Λ − 1) (Gaussian-approximation drift)",
           ["eigenvalue"],
           domain="Λ > 2; nan for Λ <= 2 (threshold at t <= 0, as regimes.speciation_time_linear)",
           guards=[_Guard("eigenvalue <= 2", float("nan"),
                          "no speciation (threshold at t <= 0), as in regimes.speciation_time_linear")])
def _f_speciation_time_linear():
    return sp.log(S["eigenvalue"] - 1) / 2


@_register("mixture_eigenvalue", "Largest eigenvalue of ½N(m,σ²I) + ½N(−m,σ²I): Λ = d m̃² + σ²",
           ["d", "separation", "variance"])
def _f_mixture_eigenvalue():
    return S["d"] * S["separation"] ** 2 + S["variance"]


@_register("mixture_speciation_time", "Two-class mixture speciation time ½ ln(d m̃² + σ²)",
           ["d", "separation", "variance"],
           domain="Λ = d m̃² + σ² > 1; nan for Λ <= 1 (no speciation, as regimes.speciation_time)",
           guards=[_Guard("d*separation**2 + variance <= 1", float("nan"), _NO_SPECIATION)])
def _f_mixture_speciation_time():
    return sp.log(_f_mixture_eigenvalue()) / 2


@_register("mixture_speciation_time_large_d",
           "Derived: leading form of the mixture t_S as d → ∞, ½ ln d + ln m̃",
           ["d", "separation"], kind="asymptotic")
def _f_mixture_speciation_time_large_d():
    d = S["d"]
    lam = _f_mixture_eigenvalue()
    lead = sp.limit(lam / d, d, sp.oo) * d  # Λ ~ d m̃²
    return sp.expand_log(sp.log(lead) / 2, force=True)


@_register("noised_variance", "Mixture: noised within-class variance Γ_t = Δ_t + σ² e^{−2t}",
           ["t", "variance"])
def _f_noised_variance():
    t = S["t"]
    return _delta(t) + S["variance"] * sp.exp(-2 * t)


@_register("cloning_snr", "Mixture: signal-to-noise ratio r = |m| e^{−t}/√Γ_t entering φ",
           ["t", "norm_m", "variance"])
def _f_cloning_snr():
    return S["norm_m"] * sp.exp(-S["t"]) / sp.sqrt(_f_noised_variance())


@_register("cloning_integrand",
           "φ's integrand: (1 + tanh²(r² + r z))/2 × standard normal density of z; φ(r) = ∫ dz",
           ["z", "r"], kind="integrand")
def _f_cloning_integrand():
    z, r = S["z"], S["r"]
    return (1 + sp.tanh(r**2 + r * z) ** 2) / 2 * sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)


@_register("cloning_probability_small_r",
           "Derived: φ(r) = ½ + r²/2 − r⁴/2 + O(r⁶) as r → 0 (series of the integrand, termwise)",
           ["r"], kind="asymptotic")
def _f_cloning_probability_small_r():
    z, r = S["z"], S["r"]
    body = (1 + sp.tanh(r**2 + r * z) ** 2) / 2
    ser = sp.series(body, r, 0, 6).removeO()
    density = sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)
    poly = sp.Poly(sp.expand(ser), z)
    total = sp.Integer(0)
    for (k,), coeff in poly.terms():
        total += coeff * sp.integrate(z**k * density, (z, -sp.oo, sp.oo))
    return sp.expand(total)


# --- collapse ----------------------------------------------------------------------------------


@_register("alpha", "Log number of training points per dimension, α = ln(n)/d", ["n", "d"])
def _f_alpha():
    return sp.log(S["n"]) / S["d"]


def _f_excess_entropy_inner(t, a, var):
    return a - sp.log(1 + var * sp.exp(-2 * t) / _delta(t)) / 2


@_register("excess_entropy",
           "Gaussian data: excess entropy f(t) = max(0, α − ½ ln(1 + σ² e^{−2t}/Δ_t)), α = ln(n)/d",
           ["t", "n", "d", "variance"],
           domain="t >= 0; f(0) = 0 (the limit t → 0+, as regimes.excess_entropy)",
           guards=[_Guard("Eq(t, 0)", 0.0, "f(0) = max(0, α − ∞) = 0")], bounds=[("t", "ge")])
def _f_excess_entropy():
    return sp.Max(0, _f_excess_entropy_inner(S["t"], _f_alpha(), S["variance"]))


@_register("excess_entropy_large_t", "Derived: lim_{t→∞} f(t) = α", ["n", "d"], kind="asymptotic")
def _f_excess_entropy_large_t():
    return sp.limit(_f_excess_entropy_inner(S["t"], _f_alpha(), S["variance"]), S["t"], sp.oo)


@_register("separated_entropy", "Entropy per dimension of separated Gaussians, α + ½ ln(2πeΔ_t)",
           ["t", "n", "d"])
def _f_separated_entropy():
    return _f_alpha() + sp.log(2 * sp.pi * sp.E * _delta(S["t"])) / 2


def _tc_of_alpha(a, var):
    """Solve f(t_C) = 0, i.e. α = ½ ln(1 + σ² e^{−2t}/Δ_t), for t: returns ``e^{2 t_C}``.

    With ``y = e^{2t} > 1`` the condition is ``e^{2α} = 1 + σ²/(y − 1)``, linear in ``1/(y − 1)``.
    """
    y = sp.Symbol("y_", positive=True)
    cond = sp.Eq(sp.exp(2 * a), 1 + var * (1 / y) / (1 - 1 / y))
    sols = [s_ for s_ in sp.solve(cond, y) if not s_.has(sp.I)]
    if len(sols) != 1:  # pragma: no cover - sympy changed its output
        raise RegimesError("internal: could not solve f(t_C) = 0")
    return sols[0]


@_register("collapse_time",
           "Gaussian data: collapse time t_C = ½ ln(1 + σ²/(n^{2/d} − 1)) (zero of f)",
           ["n", "d", "variance"])
def _f_collapse_time():
    return sp.log(sp.powsimp(_tc_of_alpha(_f_alpha(), S["variance"]), force=True)) / 2


@_register("collapse_time_from_alpha",
           "Gaussian data: t_C = ½ ln(1 + σ²/(e^{2α} − 1)) in terms of α",
           ["alpha", "variance"])
def _f_collapse_time_from_alpha():
    return sp.log(_tc_of_alpha(S["alpha"], S["variance"])) / 2


@_register("collapse_time_small_alpha",
           "Derived: leading form of t_C as α → 0, ½ ln(σ²/(2α))", ["alpha", "variance"],
           kind="asymptotic")
def _f_collapse_time_small_alpha():
    a = S["alpha"]
    e2tc = sp.exp(2 * _f_collapse_time_from_alpha())  # 1 + σ²/(e^{2α} − 1)
    lead = sp.simplify(e2tc).as_leading_term(a)
    return sp.log(lead) / 2


@_register("collapse_time_small_alpha_2",
           "Derived: t_C to next order as α → 0, ½ ln(σ²/(2α) + 1 − σ²/2)", ["alpha", "variance"],
           kind="asymptotic")
def _f_collapse_time_small_alpha_2():
    a = S["alpha"]
    e2tc = sp.exp(2 * _f_collapse_time_from_alpha())
    ser = sp.series(sp.simplify(e2tc), a, 0, 1).removeO()
    return sp.log(sp.together(ser)) / 2


@_register("collapse_time_large_alpha",
           "Derived: leading form of t_C as α → ∞, ½ σ² e^{−2α}", ["alpha", "variance"],
           kind="asymptotic")
def _f_collapse_time_large_alpha():
    a, u = S["alpha"], sp.Symbol("u_", positive=True)
    tc = _f_collapse_time_from_alpha().subs(a, -sp.log(u) / 2)  # u = e^{−2α} → 0
    lead = sp.series(sp.simplify(tc), u, 0, 2).removeO().as_leading_term(u)
    return lead.subs(u, sp.exp(-2 * a))


@_register("collapse_time_small_alpha_nd",
           "Derived: the α → 0 form of t_C in terms of n and d, ½ ln(σ² d/(2 ln n))",
           ["n", "d", "variance"], kind="asymptotic")
def _f_collapse_time_small_alpha_nd():
    return _f_collapse_time_small_alpha().subs(S["alpha"], _f_alpha())


@_register("collapse_time_large_alpha_nd",
           "Derived: the α → ∞ form of t_C in terms of n and d, ½ σ² n^{−2/d}",
           ["n", "d", "variance"], kind="asymptotic")
def _f_collapse_time_large_alpha_nd():
    return sp.simplify(_f_collapse_time_large_alpha().subs(S["alpha"], _f_alpha()))


# --- random matrices ---------------------------------------------------------------------------


def _mp_edges():
    g, v = S["ratio"], S["variance"]
    return v * (1 - sp.sqrt(g)) ** 2, v * (1 + sp.sqrt(g)) ** 2


@_register("mp_lower_edge", "Marchenko–Pastur lower edge λ₋ = σ²(1 − √γ)²", ["ratio", "variance"],
           reference="[MP]")
def _f_mp_lower_edge():
    return _mp_edges()[0]


@_register("mp_upper_edge", "Marchenko–Pastur upper edge λ₊ = σ²(1 + √γ)²", ["ratio", "variance"],
           reference="[MP]")
def _f_mp_upper_edge():
    return _mp_edges()[1]


@_register("mp_density",
           "Marchenko–Pastur density of the continuous part, √((λ₊ − x)(x − λ₋))/(2πσ²γx)",
           ["x", "ratio", "variance"], reference="[MP]")
def _f_mp_density():
    lo, hi = _mp_edges()
    x = S["x"]
    return sp.sqrt((hi - x) * (x - lo)) / (2 * sp.pi * S["variance"] * S["ratio"] * x)


@_register("mp_atom", "Marchenko–Pastur atom at 0: mass max(0, 1 − 1/γ)", ["ratio"],
           reference="[MP]")
def _f_mp_atom():
    return sp.Max(0, 1 - 1 / S["ratio"])


@_register("mp_stieltjes_equation",
           "Marchenko–Pastur Stieltjes equation σ²γ z m² + (z − σ²(1 − γ)) m + 1 = 0",
           ["m", "zeta", "ratio", "variance"], kind="equation", reference="[MP]")
def _f_mp_stieltjes_equation():
    m, z, g, v = S["m"], S["zeta"], S["ratio"], S["variance"]
    return sp.Eq(v * g * z * m**2 + (z - v * (1 - g)) * m + 1, 0)


@_register("mp_stieltjes",
           "Marchenko–Pastur Stieltjes transform m(z), branch Im m > 0 for Im z > 0, m ~ −1/z",
           ["zeta", "ratio", "variance"], reference="[MP]")
def _f_mp_stieltjes():
    # Root of the quadratic written with √(z − λ₊)·√(z − λ₋) (principal roots): that product is
    # analytic off [λ₋, λ₊] and ~ z at infinity, which selects the Stieltjes branch.
    z, g, v = S["zeta"], S["ratio"], S["variance"]
    lo, hi = _mp_edges()
    return (-(z - v * (1 - g)) + sp.sqrt(z - hi) * sp.sqrt(z - lo)) / (2 * v * g * z)


@_register("rf_memorisation_lower_edge",
           "Random features: leading-order lower edge of the slow bulk, "
           "s_t² + v_t²(1 − √(ψ_p/ψ_n))²",
           ["s2", "v2", "psi_p", "psi_n"], reference="[WM]")
def _f_rf_mem_lo():
    return S["s2"] + S["v2"] * (1 - sp.sqrt(S["psi_p"] / S["psi_n"])) ** 2


@_register("rf_memorisation_upper_edge",
           "Random features: leading-order upper edge of the slow bulk, "
           "s_t² + v_t²(1 + √(ψ_p/ψ_n))²",
           ["s2", "v2", "psi_p", "psi_n"], reference="[WM]")
def _f_rf_mem_hi():
    return S["s2"] + S["v2"] * (1 + sp.sqrt(S["psi_p"] / S["psi_n"])) ** 2


@_register("rf_generalisation_lower_edge",
           "Random features (Σ = I, ψ_n → ∞): lower edge of the fast bulk, μ*² + κ₁²(√ψ_p − 1)² "
           "(σ_x² ≠ 1: pass Γ_t κ₁ for kappa1)",
           ["mu2", "kappa1", "psi_p"], reference="[WM]")
def _f_rf_gen_lo():
    return S["mu2"] + S["kappa1"] ** 2 * (sp.sqrt(S["psi_p"]) - 1) ** 2


@_register("rf_generalisation_upper_edge",
           "Random features (Σ = I, ψ_n → ∞): upper edge of the fast bulk, μ*² + κ₁²(√ψ_p + 1)² "
           "(σ_x² ≠ 1: pass Γ_t κ₁ for kappa1)",
           ["mu2", "kappa1", "psi_p"], reference="[WM]")
def _f_rf_gen_hi():
    return S["mu2"] + S["kappa1"] ** 2 * (sp.sqrt(S["psi_p"]) + 1) ** 2


@_register("rf_atom_mass",
           "Random features: mass of the atom at s_t² for p > n + d, max(0, 1 − (ψ_n + 1)/ψ_p)",
           ["psi_p", "psi_n"], reference="[WM]")
def _f_rf_atom_mass():
    # U is p×p of rank at most n + d: the remaining p − n − d eigenvalues sit at s_t²
    return sp.Max(0, 1 - (S["psi_n"] + 1) / S["psi_p"])


@_register("tau_lambda",
           "Random features: relaxation time of an eigen-direction of U, τ_λ = ψ_p/(2Δ_t λ)",
           ["t", "psi_p", "lam"], reference="[WM]")
def _f_tau_lambda():
    return S["psi_p"] / (2 * _delta(S["t"]) * S["lam"])


@_register("tau_gen",
           "Random features: generalisation time τ_gen ≈ 1/(2Δ_t Γ_t² κ₁²), Γ_t² = e^{−2t}σ_x² + Δ_t "
           "(variance = σ_x² = TrΣ/d, default 1), independent of n",
           ["t", "kappa1", "variance"], reference="[WM]", defaults=[("variance", 1.0)])
def _f_tau_gen():
    # the rate of the fast bulk is 2Δ_t·Γ_t²κ₁² (its eigenvalues scale like ψ_p Γ_t²κ₁²), with
    # Γ_t² = e^{−2t}σ_x² + Δ_t the variance of the noised data: regimes.rmt.RandomFeatures.tau_gen
    return 1 / (2 * _delta(S["t"]) * _f_noised_variance() * S["kappa1"] ** 2)


@_register("tau_mem", "Random features: memorisation time τ_mem ≈ ψ_n/(2Δ_t v_t²) ∝ n",
           ["t", "psi_n", "v2"], reference="[WM]")
def _f_tau_mem():
    return S["psi_n"] / (2 * _delta(S["t"]) * S["v2"])


@_register("rf_optimal_loss", "Random features: optimal DSM loss for Σ = I, 1 − Δ_t", ["t"],
           reference="[WM]")
def _f_rf_optimal_loss():
    return 1 - _delta(S["t"])


# ----------------------------------------------------------------------------------------------
# public API


#: Conventional short names accepted by every function (after lower-casing).
ALIASES = {
    "t_s": "speciation_time", "ts": "speciation_time",
    "t_c": "collapse_time", "tc": "collapse_time",
    "delta_t": "delta", "f": "excess_entropy", "f_e": "excess_entropy",
    "phi_integrand": "cloning_integrand", "phi_small_r": "cloning_probability_small_r",
    "gamma_t": "noised_variance", "stieltjes": "mp_stieltjes",
    "stieltjes_equation": "mp_stieltjes_equation",
}


def _entry(name) -> _Entry:
    if not isinstance(name, str):
        raise RegimesError(f"formula name must be a string, got {name!r}")
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key in _ENTRIES:
        return _ENTRIES[key]
    close = difflib.get_close_matches(key, list(_ENTRIES) + list(ALIASES), n=4, cutoff=0.5)
    close = list(dict.fromkeys(ALIASES.get(c, c) for c in close))
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise RegimesError(
        f"formula name must be one of the names listed by regimes.symbolic.names() "
        f"(`regimes formula --list`), got {name!r}{hint}"
    )


def names() -> list[str]:
    """All formula names, in catalogue order (schedules, speciation, collapse, random matrices)."""
    return list(_ENTRIES)


def describe() -> dict[str, str]:
    """``{name: one-line description}`` for every formula."""
    return {k: e.description for k, e in _ENTRIES.items()}


@lru_cache(maxsize=None)
def _build(key: str) -> sp.Basic:
    return _ENTRIES[key].build()


def formula(name: str) -> sp.Basic:
    """The sympy expression of a formula (a :class:`sympy.Eq` for implicit equations).

    Parameters
    ----------
    name : str
        One of :func:`names` (case-insensitive, ``-`` and ``_`` interchangeable).

    Returns
    -------
    sympy.Expr or sympy.Eq

    Raises
    ------
    RegimesError
        Unknown name; the message lists close matches.

    Notes
    -----
    Asymptotic forms are derived from the exact expressions with sympy's ``series``, ``limit``
    and ``as_leading_term`` on first use and cached. For example ``collapse_time_small_alpha`` is
    ``½ ln`` of the leading term of ``e^{2t_C} = 1 + σ²/(e^{2α} − 1)`` as ``α → 0``, i.e.
    ``½ ln(σ²/(2α))``, and ``collapse_time_large_alpha`` the leading term of ``t_C`` in
    ``u = e^{−2α} → 0``, i.e. ``½σ² e^{−2α}``.

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """
    return _build(_entry(name).name)


def symbols(name: str) -> tuple[sp.Symbol, ...]:
    """The arguments of a formula, in the order :func:`lambdify` and :func:`python` take them.

    The order is part of the API (documented in ``docs/symbolic.md`` and by ``regimes formula``):
    it is the order of the catalogue entry, never sympy's sort order.
    """
    return tuple(S[a] for a in _entry(name).args)


def info(name: str) -> dict:
    """Name, description, argument names, kind (exact/asymptotic/equation/integrand), reference.

    Formulas with a restricted domain also have ``domain`` (e.g. ``speciation_time``: Λ > 1, nan
    for Λ <= 1, as the numeric library); formulas with optional trailing arguments have
    ``defaults`` (e.g. ``tau_gen``: ``{"variance": 1.0}``, Σ = I).
    """
    e = _entry(name)
    out = {"name": e.name, "description": e.description, "arguments": list(e.args),
           "kind": e.kind, "reference": e.reference}
    if e.domain:
        out["domain"] = e.domain
    if e.defaults:
        out["defaults"] = dict(e.defaults)
    return out


def _guard_condition(e: _Entry, g: _Guard) -> sp.Basic:
    """A guard's condition over fresh real symbols named like the arguments, so that the
    catalogue's assumptions (e.g. t > 0) cannot decide it away (``Eq(t, 0)`` stays a condition)."""
    plain = {a: sp.Symbol(a, real=True) for a in e.args}
    return sp.sympify(g.condition, locals=plain)


def _guard_tests(e: _Entry) -> list[tuple[Callable, _Guard]]:
    """Each guard's condition as a function of the arguments (plain comparison operators: works
    elementwise on arrays and on mpmath numbers)."""
    plain = [sp.Symbol(a, real=True) for a in e.args]
    return [(sp.lambdify(plain, _guard_condition(e, g), modules="math"), g) for g in e.guards]


def _apply_guards(e: _Entry, f: Callable, args: tuple, tests):
    """``f(*args)`` with the value of each guard where its condition holds (``tests``: from
    :func:`_guard_tests`, built once per lambdified function; a RegimesWarning where that value is
    nan, as the numeric library warns)."""
    import warnings

    import numpy as np

    from ._errors import RegimesWarning

    if all(np.ndim(a) == 0 for a in args):
        for test, g in tests:
            if bool(test(*args)):
                if g.value != g.value:
                    warnings.warn(f"{e.name}: nan where {g.condition}: {g.reason}", RegimesWarning,
                                  stacklevel=3)
                return g.value
        return f(*args)
    with np.errstate(all="ignore"):
        out = np.asarray(f(*args), dtype=float)
    for test, g in reversed(tests):
        mask = np.asarray(test(*args), dtype=bool)
        if np.any(mask) and g.value != g.value:
            warnings.warn(f"{e.name}: nan where {g.condition} ({int(mask.sum())} of {mask.size} "
                          f"entries): {g.reason}", RegimesWarning, stacklevel=3)
        out = np.where(mask, g.value, out)
    return out


def latex(name: str) -> str:
    """LaTeX of the formula (``lhs = rhs`` for equations), with the conventional symbol names."""
    e = _entry(name)
    expr = formula(e.name)
    return sp.latex(expr, symbol_names=_LATEX_NAMES)


class _SympifiablePrinter(StrPrinter):
    """``str(expr)`` except that a symbol whose name ``sympy.sympify`` reads as something else
    (``zeta`` is sympy's zeta function) is printed as ``Symbol('zeta')``."""

    def _print_Symbol(self, expr):
        name = expr.name
        try:
            same = sp.sympify(name) == sp.Symbol(name)
        except (sp.SympifyError, SyntaxError, TypeError, ValueError):
            same = False
        return name if same else f"Symbol({name!r})"


def sympy_text(name: str) -> str:
    """The sympy expression of a formula as text that ``sympy.sympify`` reads back to the same
    expression (up to the symbols' assumptions): ``str(formula(name))`` with any symbol whose
    name is also a sympy function (``zeta``) written ``Symbol('zeta')``."""
    return _SympifiablePrinter().doprint(formula(name))


def to_latex(expr) -> str:
    """LaTeX of any sympy expression built from these symbols, with their conventional names.

    Use it for expressions derived from :func:`formula` (derivatives, solutions, series).
    """
    return sp.latex(expr, symbol_names=_LATEX_NAMES)


def _residual(expr):
    return expr.lhs - expr.rhs if isinstance(expr, sp.Equality) else expr


# ----------------------------------------------------------------------------------------------
# floating-point-safe forms (for lambdify and python; formula/latex keep the textbook forms)


def _add_rule(expr: sp.Add) -> sp.Basic:
    """``k e^x − k → k expm1(x)`` and ``k b^y − k → k expm1(y ln b)`` (``y`` symbolic, ``b > 0``)."""
    c, rest = expr.as_coeff_Add()
    if c == 0:
        return expr
    terms = list(sp.Add.make_args(rest))
    for i, term in enumerate(terms):
        k, core = term.as_coeff_Mul()
        if k != -c:
            continue
        if isinstance(core, sp.exp) and core.args[0].is_real:
            arg = core.args[0]
        elif (isinstance(core, sp.Pow) and not core.exp.is_Number and core.base.is_positive
              and core.exp.is_real):
            arg = core.exp * sp.log(core.base)
        else:
            continue
        return sp.Add(*terms[:i], *terms[i + 1:]) + k * _expm1(arg)
    return expr


def _log_rule(expr: sp.log) -> sp.Basic:
    """``ln(e^x R) → x + ln R``, ``ln(1 + x) → log1p(x)``, ``ln(P/Q) → log1p((P − Q)/Q)``."""
    arg = expr.args[0]
    if isinstance(arg, sp.exp) and arg.args[0].is_real:
        return arg.args[0]
    if isinstance(arg, sp.Mul):
        exps = [f for f in arg.args if isinstance(f, sp.exp) and f.args[0].is_real]
        if exps:  # e^x > 0 for real x: the principal log splits exactly
            rest = sp.Mul(*[f for f in arg.args if f not in exps])
            return sp.Add(*[f.args[0] for f in exps]) + _log_rule(sp.log(rest))
    c, rest = arg.as_coeff_Add()
    if c == 1:
        return _log1p(rest)
    num, den = sp.fraction(sp.together(arg))
    if den != 1:
        diff = sp.expand(num - den)
        if diff != 0 and sp.count_ops(diff) < sp.count_ops(num):
            return _log1p(diff / den)
    return expr


def _stabilise(expr: sp.Basic) -> sp.Basic:
    """Apply :func:`_add_rule` and :func:`_log_rule` bottom-up."""
    if expr.is_Atom or not expr.args:
        return expr
    args = [_stabilise(a) for a in expr.args]
    new = expr.func(*args) if any(a is not b for a, b in zip(args, expr.args, strict=True)) else expr
    if isinstance(new, sp.Add):
        new = _add_rule(new)
    if isinstance(new, sp.log):
        new = _log_rule(new)
    return new


def _num_time_from_logsnr():
    # ln(1 + e^{−λ}) = max(0, −λ) + ln(1 + e^{−|λ|}): e^{−λ} overflows for λ < −709
    lam = S["logsnr"]
    return _log1p(sp.exp(-sp.Abs(lam))) / 2 + (sp.Abs(lam) - lam) / 4


def _num_vp_sde_from_time():
    # (−β₀ + √(β₀² + 4Δβ t))/Δβ = 4t/(β₀ + √(β₀² + 4Δβ t)): no cancellation as t → 0 or Δβ → 0
    t, b0, b1 = S["t"], S["beta_min"], S["beta_max"]
    return 4 * t / (b0 + sp.sqrt(b0**2 + 4 * (b1 - b0) * t))


#: Hand-written floating-point forms where the generic rules are not enough (tests check each
#: against the plain expression at 50 digits).
_NUMERIC_OVERRIDES: dict[str, Callable[[], sp.Basic]] = {
    "time_from_logsnr": _num_time_from_logsnr,
    "vp_sde_from_time": _num_vp_sde_from_time,
}


@lru_cache(maxsize=None)
def _build_numeric(key: str) -> sp.Basic:
    if key in _NUMERIC_OVERRIDES:
        return _NUMERIC_OVERRIDES[key]()
    return _stabilise(_residual(_build(key)))


def numeric_form(name: str) -> sp.Basic:
    """The formula rewritten for floating-point evaluation (``expm1``/``log1p``).

    Mathematically equal to :func:`formula` (its residual ``lhs − rhs`` for equations), with the
    cancelling sub-expressions replaced: ``b^x − 1 → expm1(x ln b)``, ``e^x − 1 → expm1(x)``,
    ``1 − e^x → −expm1(x)``, ``ln(1 + x) → log1p(x)``, ``ln(P/Q) → log1p((P − Q)/Q)`` when
    ``P − Q`` is simpler than ``P``, ``ln(e^x R) → x + ln R``; ``time_from_logsnr`` and
    ``vp_sde_from_time`` have hand-written forms. ``expm1``/``log1p`` are
    :mod:`sympy.codegen.cfunctions`, printed as ``math.expm1``/``numpy.expm1`` etc.

    This is what :func:`lambdify` and :func:`python` evaluate; for derivations and LaTeX use
    :func:`formula`.

    Examples
    --------
    ``numeric_form("collapse_time")`` is ``log1p(variance/expm1(2*log(n)/d))/2``.
    """
    return _build_numeric(_entry(name).name)


def lambdify(name: str, modules="numpy", stable: bool = True) -> Callable:
    """A numerical function of the formula with positional arguments ``symbols(name)``.

    Parameters
    ----------
    name : str
        Formula name.
    modules : str or list
        Passed to :func:`sympy.lambdify` (``"numpy"``, ``"mpmath"``, ``"math"``, ...).
    stable : bool
        True (default): evaluate :func:`numeric_form` (``expm1``/``log1p``; full relative precision
        e.g. for ``collapse_time`` at ``n = 2, d = 1e15`` or ``delta`` at ``t = 1e-12``). False: the
        plain expression of :func:`formula`, e.g. as a high-precision mpmath oracle.

    Returns
    -------
    callable
        ``f(*args)``; for an equation, ``f`` returns ``lhs − rhs`` (zero on its solutions).

    Notes
    -----
    Formulas with a stated domain (``info(name)["domain"]``) agree with the numeric library at
    and beyond its boundary: ``speciation_time`` returns nan (with a :class:`RegimesWarning`)
    for ``Λ <= 1``, ``speciation_time_linear`` for ``Λ <= 2``, ``mixture_speciation_time`` for
    ``d m̃² + σ² <= 1``; ``excess_entropy`` accepts ``t = 0`` and returns 0 there. Trailing
    arguments with a default (``info(name)["defaults"]``, e.g. ``tau_gen``'s ``variance = 1``)
    may be omitted.
    """
    e = _entry(name)
    expr = numeric_form(e.name) if stable else _residual(formula(e.name))
    syms = symbols(e.name)
    f = sp.lambdify(syms, expr, modules=modules)
    # arguments outside the symbols' domains (a positive n = −5) are errors, not a silent nan
    override = dict(e.bounds)
    bounds = [(str(s_), override.get(str(s_), "gt" if s_.is_positive else "ge" if s_.is_nonnegative
                                      else None)) for s_ in syms]
    defaults = dict(e.defaults)
    tests = _guard_tests(e) if e.guards else ()  # once, not at every call

    def checked(*args, **kwargs):
        from ._validate import as_real_array

        if len(args) < len(syms) and all(str(s_) in defaults for s_ in syms[len(args):]):
            args = (*args, *(defaults[str(s_)] for s_ in syms[len(args):]))
        # lists and tuples as arrays (the generated code compares and broadcasts them elementwise)
        args = tuple(_np_asarray(a) if isinstance(a, list | tuple) else a for a in args)
        for (arg_name, kind), a in zip(bounds, args, strict=False):
            kind_of = getattr(getattr(a, "dtype", None), "kind", "f")  # an object array: ufuncs cannot take it
            if kind_of not in "biufc":
                raise RegimesError(f"{arg_name} must be a numeric array, got an array of dtype {a.dtype} "
                                   "(convert it with np.asarray(..., dtype=float))")
            if kind is None:
                continue
            try:
                as_real_array(arg_name, a, allow_inf=True, **{kind: 0.0})
            except RegimesError:
                raise
            except Exception:  # noqa: BLE001 - an mpmath/sympy number: left to the function
                pass
        if e.guards and not kwargs:
            return _apply_guards(e, f, args, tests)
        return f(*args, **kwargs)

    checked.__doc__ = f.__doc__
    return checked


def _np_asarray(a):
    import numpy as np

    return np.asarray(a)


def python(name: str) -> str:
    """Source of a plain-Python function computing the formula (standard-library ``math``).

    The body is :func:`numeric_form` (``math.expm1``/``math.log1p``: no ``n**(2/d) - 1``).
    Equations are returned as their residual ``lhs − rhs``; complex-valued formulas
    (``mp_stieltjes``) use ``cmath``. A formula with a stated domain starts with one ``if`` per
    boundary (e.g. ``if eigenvalue <= 1: return math.nan``), so it agrees with the numeric
    library there; trailing arguments with a default get it (``variance=1.0``).
    """
    e = _entry(name)
    expr = numeric_form(e.name)
    code = sp.pycode(expr, fully_qualified_modules=True)
    mod = "math"
    if e.name in ("mp_stieltjes", "mp_stieltjes_equation"):
        code = code.replace("math.", "cmath.")
        mod = "cmath"
    defaults = dict(e.defaults)
    args = ", ".join(f"{a}={defaults[a]!r}" if a in defaults else a for a in e.args)
    doc = e.description.replace('"', "'")
    guards = "".join(
        f"    if {sp.pycode(_guard_condition(e, g))}:  # outside the domain: {g.reason}\n"
        f"        return {'math.nan' if g.value != g.value else repr(g.value)}\n"
        for g in e.guards)
    if e.guards and mod != "math":  # pragma: no cover - no complex formula has a guard
        raise RegimesError("internal: a guarded formula must use math")
    return (f"import {mod}\n\n\ndef {e.name}({args}):\n    \"\"\"{doc}.\"\"\"\n"
            f"{guards}    return {code}\n")
