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
four hand-written forms (``time_from_logsnr`` without overflow of ``e^{−λ}``, ``vp_sde_from_time``
rationalised, ``flow_tau`` as ``√Δ_t/(√Δ_t + e^{−t})``, ``mp_stieltjes`` choosing between its two
equal roots the one that does not cancel, as ``MarchenkoPastur.stieltjes``: the plain form is 0/0
at ``z = 0`` for ``γ < 1``). For example ``collapse_time`` becomes
``½ log1p(σ²/expm1(2 ln(n)/d))``, accurate to ~1e-15 relative for ``n = 2``, ``d = 1e15``. Use
``lambdify(name, "mpmath", stable=False)`` with raised ``mpmath.mp.dps`` for reference values of
the plain expression.

:func:`lambdify` and :func:`python` accept and refuse the arguments the numeric library does
(``t >= 0``, ``0 <= τ <= 1``, ``n >= 2``, ...; ``info(name)["domain"]``) and return its value at
the special points (``mp_density`` is 0 outside its support, ``time_from_flow_tau(1)`` is +inf,
``speciation_time`` nan for ``Λ <= 1``); refused arguments raise a RegimesError (``ValueError`` in
the standalone ``python()`` source) naming the argument, its value and what is allowed.

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
import functools
import operator
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
    """A special value: where ``condition`` (sympy syntax over the argument names) holds, the
    formula's value is ``value`` — nan where the quantity does not exist (with a RegimesWarning, as
    the numeric library warns), or the library's limit where the expression is 0/0, 1/0 or ∞ − ∞."""

    condition: str
    value: float | complex
    reason: str


@dataclass(frozen=True)
class _Arg:
    """The values one argument may take, as the numeric library checks them (``as_real_array``):
    bounds, whether ±inf is allowed (NaN never is), or a finite complex number."""

    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    inf: bool = False
    complex: bool = False

    def bounds_text(self) -> str:
        """``">= 0 and <= 1"``, as the library's messages write it ("" if unbounded)."""
        parts = [f"{op} {b:g}" for op, b in ((">", self.gt), (">=", self.ge), ("<=", self.le))
                 if b is not None]
        return " and ".join(parts)

    def text(self, name: str) -> str:
        """The rule in words for ``info(name)["domain"]``, e.g. ``"0 <= tau <= 1"``."""
        if self.complex:
            return f"{name} finite complex"
        if self.le is not None and (self.ge is not None or self.gt is not None):
            low = f"{self.ge:g} <=" if self.ge is not None else f"{self.gt:g} <"
            out = f"{low} {name} <= {self.le:g}"
        else:
            out = f"{name} {self.bounds_text()}" if self.bounds_text() else f"{name} real"
        return out + (" (+inf allowed)" if self.inf and self.le is None else "")


@dataclass(frozen=True)
class _Check:
    """A condition between arguments that must hold (else a RegimesError): ``condition`` in sympy
    syntax, ``message`` a ``str.format`` template over the argument names and the ``extra`` names
    (each a sympy expression of the arguments), worded as the numeric library's error."""

    condition: str
    message: str
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Entry:
    name: str
    description: str
    args: tuple[str, ...]
    build: Callable[[], sp.Basic]
    kind: str = "exact"  # "exact", "asymptotic", "equation", "integrand"
    reference: str = "[DR]"
    domain: str = ""  # stated domain; "" to state the argument rules that differ from the symbols'
    guards: tuple[_Guard, ...] = ()
    bounds: tuple[tuple[str, _Arg], ...] = ()  # argument rules where they differ from the symbols'
    defaults: tuple[tuple[str, float], ...] = ()  # trailing arguments that may be omitted
    checks: tuple[_Check, ...] = ()


_ENTRIES: dict[str, _Entry] = {}


def _register(name, description, args, kind="exact", reference="[DR]", *, domain="", guards=(),
              bounds=None, defaults=(), checks=()):
    def deco(fn):
        _ENTRIES[name] = _Entry(name, description, tuple(args), fn, kind, reference, domain,
                                tuple(guards), tuple((bounds or {}).items()), tuple(defaults),
                                tuple(checks))
        return fn

    return deco


# Argument rules shared by several entries (the numeric library's, see each entry's reference):
#: an OU time of the schedule maps, t >= 0 with t = +inf the stationary end (regimes.schedules)
_T_MAP = _Arg(ge=0.0, inf=True)
#: an OU time of the collapse/cloning functions: t >= 0, finite (regimes.excess_entropy)
_T_FINITE = _Arg(ge=0.0)
#: n >= 2 training points and dimension d >= 1 (regimes.collapse_time, GaussianMixture)
_N, _D = _Arg(ge=2.0), _Arg(ge=1.0)
_ND = {"n": _N, "d": _D}
#: the continuous VP-SDE's β_min >= 0 (β_max > 0 is the symbol's own rule) and β_max >= β_min
_VP_BETAS = {"beta_min": _Arg(ge=0.0)}
_VP_ORDER = _Check("beta_max >= beta_min", "beta_max must be >= beta_min={beta_min:g}, got {beta_max:g}")
_VP_T_END = "beta_min/2 + (beta_max - beta_min)/4"  # the OU time at s = 1


# --- time and schedules -------------------------------------------------------------------------

_RF_REF = "[DR]; rectified flow, Liu et al., arXiv:2209.03003 (here τ = 0 is the data)"


@_register("delta", "Noise variance of the OU process, Δ_t = 1 − e^{−2t}", ["t"],
           reference="[DR]", bounds={"t": _T_MAP})
def _f_delta():
    return _delta(S["t"])


@_register("alpha_bar", "VP/DDPM signal fraction ᾱ = e^{−2t} at OU time t", ["t"],
           reference="[DR]; Ho et al., arXiv:2006.11239", bounds={"t": _T_MAP})
def _f_alpha_bar():
    return sp.exp(-2 * S["t"])


@_register("time_from_alpha_bar", "OU time of a VP/DDPM ᾱ: t = −½ ln ᾱ", ["alpha_bar"],
           reference="[DR]; Ho et al., arXiv:2006.11239",
           domain="0 <= alpha_bar <= 1; alpha_bar = 0 gives t = +inf (as regimes.schedules.time_from_alpha_bar)",
           bounds={"alpha_bar": _Arg(ge=0.0, le=1.0)},
           guards=[_Guard("Eq(alpha_bar, 0)", float("inf"), "ᾱ = 0 is pure noise, t = +inf")])
def _f_time_from_alpha_bar():
    return -sp.log(S["alpha_bar"]) / 2


@_register("edm_sigma", "EDM/VE noise level at OU time t: σ = √(e^{2t} − 1)", ["t"],
           reference="[DR]; Karras et al., arXiv:2206.00364", bounds={"t": _T_MAP})
def _f_edm_sigma():
    return sp.sqrt(sp.exp(2 * S["t"]) - 1)


@_register("time_from_edm_sigma", "OU time of an EDM/VE noise level: t = ½ ln(1 + σ²)", ["sigma"],
           reference="[DR]; Karras et al., arXiv:2206.00364", bounds={"sigma": _Arg(ge=0.0, inf=True)})
def _f_time_from_edm_sigma():
    return sp.log(1 + S["sigma"] ** 2) / 2


@_register("logsnr", "Log signal-to-noise ratio λ = ln(ᾱ/(1 − ᾱ)) at OU time t", ["t"],
           reference="[DR]; Kingma et al., arXiv:2107.00630",
           domain="t >= 0 (+inf allowed, λ = −inf); t = 0 gives λ = +inf (as regimes.schedules.logsnr)",
           bounds={"t": _T_MAP}, guards=[_Guard("Eq(t, 0)", float("inf"), "pure signal, λ = +inf")])
def _f_logsnr():
    ab = sp.exp(-2 * S["t"])
    return sp.log(ab / (1 - ab))


@_register("time_from_logsnr", "OU time of a log-SNR λ: t = ½ ln(1 + e^{−λ})", ["logsnr"],
           reference="[DR]; Kingma et al., arXiv:2107.00630",
           domain="any real logsnr, ±inf allowed (+inf gives t = 0, −inf gives +inf), not NaN",
           bounds={"logsnr": _Arg(inf=True)},
           guards=[_Guard("Eq(logsnr, oo)", 0.0, "λ = +inf is pure signal, t = 0")])
def _f_time_from_logsnr():
    return sp.log(1 + sp.exp(-S["logsnr"])) / 2


@_register("flow_tau", "Flow-matching time τ = σ/(1 + σ), σ = √(e^{2t} − 1), at OU time t", ["t"],
           reference=_RF_REF, bounds={"t": _T_MAP})
def _f_flow_tau():
    sig = _f_edm_sigma()
    return sig / (1 + sig)


@_register("time_from_flow_tau", "OU time of a flow-matching time τ: t = ½ ln(1 + τ²/(1 − τ)²)",
           ["tau"], reference=_RF_REF,
           domain="0 <= tau <= 1; tau = 1 gives t = +inf (as regimes.schedules.time_from_flow_tau)",
           bounds={"tau": _Arg(ge=0.0, le=1.0)},
           guards=[_Guard("Eq(tau, 1)", float("inf"), "τ = 1 is pure noise, t = +inf")])
def _f_time_from_flow_tau():
    tau = S["tau"]
    return sp.log(1 + tau**2 / (1 - tau) ** 2) / 2


@_register("time_from_vp_sde",
           "OU time of the continuous VP-SDE at s ∈ [0,1]: t = ½β_min s + ¼(β_max − β_min)s²",
           ["s", "beta_min", "beta_max"], reference="[DR]; Song et al., arXiv:2011.13456",
           bounds={"s": _Arg(ge=0.0, le=1.0), **_VP_BETAS}, checks=[_VP_ORDER])
def _f_time_from_vp_sde():
    s, b0, b1 = S["s"], S["beta_min"], S["beta_max"]
    # t = ½ ∫_0^s β(u) du with β(u) = β_min + u(β_max − β_min): integrate, don't type in.
    u = sp.Dummy("u")
    return sp.expand(sp.integrate(b0 + u * (b1 - b0), (u, 0, s)) / 2)


@_register("vp_sde_from_time",
           "Continuous VP-SDE s at OU time t: the non-negative root of the quadratic t(s)",
           ["t", "beta_min", "beta_max"], reference="[DR]; Song et al., arXiv:2011.13456",
           domain="0 <= t <= ½β_min + ¼(β_max − β_min) (the OU time at s = 1; s = 1 there), "
                  "beta_min >= 0, beta_max >= beta_min (as regimes.schedules.vp_sde_from_time)",
           bounds={"t": _T_MAP, **_VP_BETAS},
           checks=[_VP_ORDER, _Check(f"t <= ({_VP_T_END})*(1 + 1e-12)",
                                     "t must be <= {t_end:.6g} (the OU time at s = 1 for beta_min="
                                     "{beta_min:g}, beta_max={beta_max:g}), got {t!r}",
                                     (("t_end", _VP_T_END),))],
           guards=[_Guard("Eq(t, 0)", 0.0, "t = 0 is s = 0"),
                   _Guard(f"t >= {_VP_T_END}", 1.0, "the end of the VP-SDE, s = 1")])
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
           ["d", "separation", "variance"], bounds={"d": _D})
def _f_mixture_eigenvalue():
    return S["d"] * S["separation"] ** 2 + S["variance"]


@_register("mixture_speciation_time", "Two-class mixture speciation time ½ ln(d m̃² + σ²)",
           ["d", "separation", "variance"],
           domain="d >= 1; Λ = d m̃² + σ² > 1, nan for Λ <= 1 (no speciation, as regimes.speciation_time)",
           bounds={"d": _D},
           guards=[_Guard("d*separation**2 + variance <= 1", float("nan"), _NO_SPECIATION)])
def _f_mixture_speciation_time():
    return sp.log(_f_mixture_eigenvalue()) / 2


@_register("mixture_speciation_time_large_d",
           "Derived: leading form of the mixture t_S as d → ∞, ½ ln d + ln m̃",
           ["d", "separation"], kind="asymptotic", bounds={"d": _D})
def _f_mixture_speciation_time_large_d():
    d = S["d"]
    lam = _f_mixture_eigenvalue()
    lead = sp.limit(lam / d, d, sp.oo) * d  # Λ ~ d m̃²
    return sp.expand_log(sp.log(lead) / 2, force=True)


@_register("noised_variance", "Mixture: noised within-class variance Γ_t = Δ_t + σ² e^{−2t}",
           ["t", "variance"], bounds={"t": _T_FINITE})
def _f_noised_variance():
    t = S["t"]
    return _delta(t) + S["variance"] * sp.exp(-2 * t)


@_register("cloning_snr", "Mixture: signal-to-noise ratio r = |m| e^{−t}/√Γ_t entering φ",
           ["t", "norm_m", "variance"], bounds={"t": _T_FINITE, "norm_m": _Arg(ge=0.0)})
def _f_cloning_snr():
    return S["norm_m"] * sp.exp(-S["t"]) / sp.sqrt(_f_noised_variance())


@_register("cloning_integrand",
           "φ's integrand: (1 + tanh²(r² + r z))/2 × standard normal density of z; φ(r) = ∫ dz",
           ["z", "r"], kind="integrand", bounds={"r": _Arg(ge=0.0, inf=True)})
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


#: σ² = 1 when omitted, as in regimes.collapse_time, regimes.excess_entropy, ...
_V1 = (("variance", 1.0),)


@_register("alpha", "Log number of training points per dimension, α = ln(n)/d", ["n", "d"],
           bounds=_ND)
def _f_alpha():
    return sp.log(S["n"]) / S["d"]


def _f_excess_entropy_inner(t, a, var):
    return a - sp.log(1 + var * sp.exp(-2 * t) / _delta(t)) / 2


@_register("excess_entropy",
           "Gaussian data: excess entropy f(t) = max(0, α − ½ ln(1 + σ² e^{−2t}/Δ_t)), α = ln(n)/d",
           ["t", "n", "d", "variance"],
           domain="t >= 0, n >= 2, d >= 1; f(0) = 0 (the limit t → 0+, as regimes.excess_entropy)",
           guards=[_Guard("Eq(t, 0)", 0.0, "f(0) = max(0, α − ∞) = 0")],
           bounds={"t": _T_FINITE, **_ND}, defaults=_V1)
def _f_excess_entropy():
    return sp.Max(0, _f_excess_entropy_inner(S["t"], _f_alpha(), S["variance"]))


@_register("excess_entropy_large_t", "Derived: lim_{t→∞} f(t) = α", ["n", "d"], kind="asymptotic",
           bounds=_ND)
def _f_excess_entropy_large_t():
    return sp.limit(_f_excess_entropy_inner(S["t"], _f_alpha(), S["variance"]), S["t"], sp.oo)


@_register("separated_entropy", "Entropy per dimension of separated Gaussians, α + ½ ln(2πeΔ_t)",
           ["t", "n", "d"],
           domain="t >= 0 (+inf allowed; t = 0 gives −inf), n >= 2, d >= 1",
           bounds={"t": _T_MAP, **_ND},
           guards=[_Guard("Eq(t, 0)", float("-inf"), "point masses at t = 0, ln Δ_0 = −inf")])
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
           ["n", "d", "variance"], bounds=_ND, defaults=_V1)
def _f_collapse_time():
    return sp.log(sp.powsimp(_tc_of_alpha(_f_alpha(), S["variance"]), force=True)) / 2


@_register("collapse_time_from_alpha",
           "Gaussian data: t_C = ½ ln(1 + σ²/(e^{2α} − 1)) in terms of α",
           ["alpha", "variance"], defaults=_V1)
def _f_collapse_time_from_alpha():
    return sp.log(_tc_of_alpha(S["alpha"], S["variance"])) / 2


@_register("collapse_time_small_alpha",
           "Derived: leading form of t_C as α → 0, ½ ln(σ²/(2α))", ["alpha", "variance"],
           kind="asymptotic", defaults=_V1)
def _f_collapse_time_small_alpha():
    a = S["alpha"]
    e2tc = sp.exp(2 * _f_collapse_time_from_alpha())  # 1 + σ²/(e^{2α} − 1)
    lead = sp.simplify(e2tc).as_leading_term(a)
    return sp.log(lead) / 2


@_register("collapse_time_small_alpha_2",
           "Derived: t_C to next order as α → 0, ½ ln(σ²/(2α) + 1 − σ²/2)", ["alpha", "variance"],
           kind="asymptotic", defaults=_V1)
def _f_collapse_time_small_alpha_2():
    a = S["alpha"]
    e2tc = sp.exp(2 * _f_collapse_time_from_alpha())
    ser = sp.series(sp.simplify(e2tc), a, 0, 1).removeO()
    return sp.log(sp.together(ser)) / 2


@_register("collapse_time_large_alpha",
           "Derived: leading form of t_C as α → ∞, ½ σ² e^{−2α}", ["alpha", "variance"],
           kind="asymptotic", defaults=_V1)
def _f_collapse_time_large_alpha():
    a, u = S["alpha"], sp.Symbol("u_", positive=True)
    tc = _f_collapse_time_from_alpha().subs(a, -sp.log(u) / 2)  # u = e^{−2α} → 0
    lead = sp.series(sp.simplify(tc), u, 0, 2).removeO().as_leading_term(u)
    return lead.subs(u, sp.exp(-2 * a))


@_register("collapse_time_small_alpha_nd",
           "Derived: the α → 0 form of t_C in terms of n and d, ½ ln(σ² d/(2 ln n))",
           ["n", "d", "variance"], kind="asymptotic", bounds=_ND, defaults=_V1)
def _f_collapse_time_small_alpha_nd():
    return _f_collapse_time_small_alpha().subs(S["alpha"], _f_alpha())


@_register("collapse_time_large_alpha_nd",
           "Derived: the α → ∞ form of t_C in terms of n and d, ½ σ² n^{−2/d}",
           ["n", "d", "variance"], kind="asymptotic", bounds=_ND, defaults=_V1)
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
           ["x", "ratio", "variance"], reference="[MP]",
           domain="any real x (±inf allowed); 0 outside the support (λ₋, λ₊), edges included, "
                  "as MarchenkoPastur.pdf",
           bounds={"x": _Arg(inf=True)},
           guards=[_Guard("x <= variance*(1 - sqrt(ratio))**2", 0.0, "at or below λ₋: no density"),
                   _Guard("x >= variance*(1 + sqrt(ratio))**2", 0.0, "at or above λ₊: no density")])
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
           ["zeta", "ratio", "variance"], reference="[MP]",
           domain="finite complex zeta (a real zeta is taken as complex); zeta = 0 with ratio >= 1 "
                  "(the pole of the atom, or λ₋ = 0) gives −inf + nan·i, as MarchenkoPastur.stieltjes",
           guards=[_Guard("Eq(zeta, 0) & (ratio >= 1)", complex(float("-inf"), float("nan")),
                          "m has a pole (or λ₋ = 0) at z = 0")])
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
           ["t", "psi_p", "lam"], reference="[WM]",
           domain="t > 0, lam >= 0 (+inf allowed); lam = 0 gives +inf (as RandomFeatures.tau)",
           bounds={"lam": _Arg(ge=0.0, inf=True)},
           guards=[_Guard("Eq(lam, 0)", float("inf"), "no relaxation along a zero eigenvalue")])
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
           reference="[WM]", bounds={"t": _T_MAP})
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

    Formulas whose arguments the numeric library restricts beyond the symbols' positivity have
    ``domain``, the allowed values and special values in words (e.g. ``speciation_time``: Λ > 1,
    nan for Λ <= 1; ``collapse_time``: n >= 2, d >= 1; ``time_from_flow_tau``: 0 <= τ <= 1);
    :func:`lambdify` and :func:`python` enforce it. Formulas with optional trailing arguments have
    ``defaults`` (e.g. ``tau_gen``: ``{"variance": 1.0}``, Σ = I; ``collapse_time``: σ² = 1).
    """
    e = _entry(name)
    out = {"name": e.name, "description": e.description, "arguments": list(e.args),
           "kind": e.kind, "reference": e.reference}
    domain = e.domain or _domain_text(e)
    if domain:
        out["domain"] = domain
    if e.defaults:
        out["defaults"] = dict(e.defaults)
    return out


def _default_rule(sym: sp.Symbol) -> _Arg:
    """The argument rule a symbol's assumptions imply: > 0, >= 0, real (±inf allowed) or complex."""
    if sym.is_positive:
        return _Arg(gt=0.0)
    if sym.is_nonnegative:
        return _Arg(ge=0.0)
    if sym.is_real:
        return _Arg(inf=True)
    return _Arg(complex=True)


def _rules(e: _Entry) -> dict[str, _Arg]:
    """Every argument's rule, in argument order: the entry's ``bounds``, else the symbol's."""
    override = dict(e.bounds)
    return {a: override.get(a, _default_rule(S[a])) for a in e.args}


def _domain_text(e: _Entry) -> str:
    """The rules that differ from the symbols' own, and the checks between arguments, in words."""
    parts = [r.text(a) for a, r in _rules(e).items() if r != _default_rule(S[a])]
    return ", ".join(parts + [c.condition for c in e.checks])


def _condition(e: _Entry, text: str) -> sp.Basic:
    """A guard's or check's condition over fresh extended-real symbols named like the arguments, so
    that the catalogue's assumptions (e.g. t > 0) cannot decide it away (``Eq(t, 0)`` stays a
    condition, ``Eq(logsnr, oo)`` too)."""
    plain = {a: sp.Symbol(a, extended_real=True) for a in e.args}
    return sp.sympify(text, locals=plain)


def _compile_conditions(e: _Entry, modules):
    """The entry's checks and guards as functions of the arguments, built once per lambdified
    function with the same ``modules`` (numpy: elementwise on arrays; mpmath: at full precision).

    Returns ``(checks, guards)``: ``[(test, {extra name: function}, _Check)]`` and
    ``[(test, _Guard)]``.
    """
    plain = [sp.Symbol(a, extended_real=True) for a in e.args]

    def fn(text):
        cond = _condition(e, text)
        if not isinstance(cond, sp.And):
            return sp.lambdify(plain, cond, modules=modules)
        # numpy's printer writes And as logical_and.reduce((a, b)), which cannot broadcast an
        # array with a scalar: combine the parts with & instead
        parts = [sp.lambdify(plain, c, modules=modules) for c in cond.args]
        return lambda *args: functools.reduce(operator.and_, (p(*args) for p in parts))

    checks = [(fn(c.condition), {k: fn(x) for k, x in c.extra}, c) for c in e.checks]
    return checks, [(fn(g.condition), g) for g in e.guards]


def _run_checks(e: _Entry, checks, args: tuple) -> None:
    """Raise the RegimesError of the first check that fails, at its first failing entry."""
    import numpy as np

    for test, extras, c in checks:
        with np.errstate(all="ignore"):
            ok = np.asarray(test(*args), dtype=bool)
        if ok.all():
            continue
        shape = np.broadcast_shapes(*(np.shape(a) for a in args), ok.shape)
        where = np.unravel_index(int(np.argmin(np.broadcast_to(ok, shape))), shape)
        vals = {a: float(np.broadcast_to(np.asarray(v, dtype=float), shape)[where])
                for a, v in zip(e.args, args, strict=True)}
        more = {k: float(f(*vals.values())) for k, f in extras.items()}
        raise RegimesError(c.message.format(**vals, **more))


def _apply_guards(e: _Entry, f: Callable, args: tuple, tests):
    """``f(*args)`` with the value of each guard where its condition holds (``tests``: from
    :func:`_compile_conditions`, the first guard wins; a RegimesWarning where that value is nan,
    as the numeric library warns)."""
    import warnings

    import numpy as np

    from ._errors import RegimesWarning

    if all(np.ndim(a) == 0 for a in args):
        for test, g in tests:
            if bool(test(*args)):
                if _is_nan(g.value):
                    warnings.warn(f"{e.name}: nan where {g.condition}: {g.reason}", RegimesWarning,
                                  stacklevel=3)
                return g.value
        return f(*args)
    with np.errstate(all="ignore"):
        out = np.asarray(f(*args))
    cplx = np.iscomplexobj(out) or any(isinstance(g.value, complex) for _, g in tests)
    out = out.astype(complex if cplx else float)
    for test, g in reversed(tests):
        with np.errstate(all="ignore"):
            mask = np.asarray(test(*args), dtype=bool)
        if np.any(mask) and _is_nan(g.value):
            warnings.warn(f"{e.name}: nan where {g.condition} ({int(mask.sum())} of {mask.size} "
                          f"entries): {g.reason}", RegimesWarning, stacklevel=3)
        out = np.where(mask, g.value, out)
    return out


def _is_nan(value) -> bool:
    return isinstance(value, float) and value != value


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


def _num_flow_tau():
    # σ/(1 + σ) with numerator and denominator times e^{−t}: √Δ_t/(√Δ_t + e^{−t}). No overflow of
    # e^{2t} (σ/(1 + σ) is inf/inf beyond t ≈ 354.9), 0 at t = 0 and 1 at t = +inf
    t = S["t"]
    root = sp.sqrt(-_expm1(-2 * t))
    return root / (root + sp.exp(-t))


def _num_mp_stieltjes():
    # With b = z − σ²(1 − γ) and R = √(z − λ₊)√(z − λ₋): m = (R − b)/(2σ²γz) = −2/(b + R), since
    # R² − b² = −4σ²γz. Each form cancels where the other does not (the first is 0/0 at z = 0 for
    # γ < 1): take the one whose denominator-side sum is larger, as MarchenkoPastur.stieltjes
    z, g, v = S["zeta"], S["ratio"], S["variance"]
    lo, hi = _mp_edges()
    b = z - v * (1 - g)
    root = sp.sqrt(z - hi) * sp.sqrt(z - lo)
    plus, minus = b + root, root - b
    return sp.Piecewise((-2 / plus, sp.Abs(plus) >= sp.Abs(minus)), (minus / (2 * v * g * z), True))


#: Hand-written floating-point forms where the generic rules are not enough (tests check each
#: against the plain expression at 50 digits).
_NUMERIC_OVERRIDES: dict[str, Callable[[], sp.Basic]] = {
    "time_from_logsnr": _num_time_from_logsnr,
    "vp_sde_from_time": _num_vp_sde_from_time,
    "flow_tau": _num_flow_tau,
    "mp_stieltjes": _num_mp_stieltjes,
}

#: numeric forms whose numpy evaluation computes both branches of a Piecewise (numpy.select): the
#: branch not taken may divide by zero, so lambdify evaluates them without floating-point warnings
_BOTH_BRANCHES = frozenset({"mp_stieltjes"})

#: complex-valued formulas: python() writes them with cmath
_COMPLEX_VALUED = ("mp_stieltjes", "mp_stieltjes_equation")


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
    ``P − Q`` is simpler than ``P``, ``ln(e^x R) → x + ln R``; ``time_from_logsnr``,
    ``vp_sde_from_time``, ``flow_tau`` and ``mp_stieltjes`` have hand-written forms. ``expm1``/``log1p`` are
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
        ``f(*args)`` (arguments also by name); for an equation, ``f`` returns ``lhs − rhs`` (zero
        on its solutions).

    Raises
    ------
    RegimesError
        From ``f``: an argument outside the values the numeric library allows (``info(name)``'s
        ``domain``; NaN always, ±inf where the library refuses it), naming the argument, its value
        and what is allowed, e.g. ``tau must be >= 0 and <= 1, got 1.5`` or ``n must be >= 2``.

    Notes
    -----
    ``f`` accepts and refuses what the numeric library does, and agrees with it at and beyond the
    boundaries: ``speciation_time`` returns nan (with a :class:`RegimesWarning`) for ``Λ <= 1``,
    ``speciation_time_linear`` for ``Λ <= 2``, ``mixture_speciation_time`` for
    ``d m̃² + σ² <= 1``; ``mp_density`` is 0 outside ``(λ₋, λ₊)``; the limits at saturated ends are
    the library's (``excess_entropy`` and ``vp_sde_from_time`` are 0 at ``t = 0``, ``logsnr`` is
    +inf, ``time_from_flow_tau(1)`` and ``time_from_alpha_bar(0)`` are +inf). Trailing arguments
    with a default (``info(name)["defaults"]``, e.g. ``collapse_time``'s ``variance = 1``) may be
    omitted.
    """
    import contextlib

    import numpy as np

    e = _entry(name)
    expr = numeric_form(e.name) if stable else _residual(formula(e.name))
    f = sp.lambdify(symbols(e.name), expr, modules=modules)
    rules = _rules(e)
    checks, guards = _compile_conditions(e, modules)  # once, not at every call
    quiet = stable and e.name in _BOTH_BRANCHES

    def checked(*args, **kwargs):
        args = _bind(e, args, kwargs)
        args = tuple(_checked_arg(a, rules[a], v) for a, v in zip(e.args, args, strict=True))
        _run_checks(e, checks, args)
        with np.errstate(divide="ignore", invalid="ignore") if quiet else contextlib.nullcontext():
            out = _apply_guards(e, f, args, guards) if guards else f(*args)
        return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out

    checked.__doc__ = f.__doc__
    return checked


def _signature(e: _Entry) -> str:
    defaults = dict(e.defaults)
    return ", ".join(f"{a}={defaults[a]!r}" if a in defaults else a for a in e.args)


def _bind(e: _Entry, args: tuple, kwargs: dict) -> tuple:
    """The arguments in catalogue order, from positions, names and defaults (a RegimesError for a
    missing, unknown or repeated one, not a TypeError of the generated function)."""
    if len(args) > len(e.args):
        raise RegimesError(f"{e.name} takes at most {len(e.args)} arguments ({_signature(e)}), "
                           f"got {len(args)}")
    values = dict(zip(e.args, args, strict=False))
    for key, v in kwargs.items():
        if key not in e.args or key in values:
            what = "an unknown argument" if key not in e.args else "given twice"
            raise RegimesError(f"{key} is {what}: {e.name} takes ({_signature(e)})")
        values[key] = v
    defaults = dict(e.defaults)
    missing = [a for a in e.args if a not in values and a not in defaults]
    if missing:
        raise RegimesError(f"{missing[0]} must be given: {e.name} takes ({_signature(e)}), "
                           f"got {len(values)} argument(s)")
    return tuple(values[a] if a in values else defaults[a] for a in e.args)


def _checked_arg(name: str, rule: _Arg, a):
    """``a`` after the numeric library's check of ``rule`` (lists and tuples as arrays; a complex
    argument as complex, so that numpy's square root of a negative real is not nan)."""
    import numpy as np

    from ._validate import as_real_array

    if isinstance(a, list | tuple):  # as arrays: the generated code compares and broadcasts them
        a = np.asarray(a)
    kind_of = getattr(getattr(a, "dtype", None), "kind", "f")  # an object array: ufuncs cannot take it
    if kind_of not in "biufc":
        raise RegimesError(f"{name} must be a numeric array, got an array of dtype {a.dtype} "
                           "(convert it with np.asarray(..., dtype=float))")
    if rule.complex:
        return _complex_arg(name, a)
    try:
        as_real_array(name, a, gt=rule.gt, ge=rule.ge, le=rule.le, allow_inf=rule.inf)
    except RegimesError:
        raise
    except Exception:  # noqa: BLE001 - an mpmath/sympy number: left to the function
        pass
    return a


def _complex_arg(name: str, a):
    """A finite complex number or array (a real one converted), or a RegimesError; mpmath and sympy
    numbers are checked and passed on unchanged."""
    import cmath

    import numpy as np

    if isinstance(a, bool | np.bool_) or getattr(getattr(a, "dtype", None), "kind", "") == "b":
        raise RegimesError(f"{name} must be complex numbers, got {a!r}")
    if isinstance(a, int | float | complex | np.number | np.ndarray):
        try:
            arr = np.asarray(a, dtype=complex)
        except OverflowError:
            raise RegimesError(f"{name} must be complex numbers within the float64 range, got {a!r}") from None
        if not np.all(np.isfinite(arr)):
            bad = complex(arr[~np.isfinite(arr)].ravel()[0]) if arr.ndim else complex(arr)
            raise RegimesError(f"{name} must be finite, got {bad!r}")
        return complex(arr) if arr.ndim == 0 else arr
    try:
        finite = cmath.isfinite(complex(a))
    except (TypeError, ValueError, OverflowError):  # a symbol, say: left to the function
        return a
    if not finite:
        raise RegimesError(f"{name} must be finite, got {a!r}")
    return a


def python(name: str) -> str:
    """Source of a plain-Python function computing the formula (standard-library ``math``).

    The body is :func:`numeric_form` (``math.expm1``/``math.log1p``: no ``n**(2/d) - 1``).
    Equations are returned as their residual ``lhs − rhs``; complex-valued formulas
    (``mp_stieltjes``) use ``cmath``. The function first checks its arguments as the numeric
    library does (one ``if ...: raise ValueError(...)`` per restricted argument, e.g.
    ``n must be finite and >= 2``; :class:`RegimesError` is a ``ValueError`` too), then returns the
    library's value at each special point (e.g. ``if eigenvalue <= 1: return math.nan``, no
    speciation; ``if tau == 1: return math.inf``); trailing arguments with a default get it
    (``variance=1.0``). Scalars only: for arrays use :func:`lambdify`.
    """
    e = _entry(name)
    cplx = e.name in _COMPLEX_VALUED
    code = sp.pycode(numeric_form(e.name), fully_qualified_modules=True)
    if cplx:
        code = code.replace("math.", "cmath.")
    doc = e.description.replace('"', "'")
    body = _py_arg_checks(e) + _py_checks(e) + "".join(
        f"    if {sp.pycode(_condition(e, g.condition))}:  # {g.reason}\n"
        f"        return {_py_value(g.value)}\n" for g in e.guards)
    imports = "import cmath\nimport math\n" if cplx else "import math\n"
    return (f"{imports}\n\ndef {e.name}({_signature(e)}):\n    \"\"\"{doc}.\"\"\"\n"
            f"{body}    return {code}\n")


def _py_arg_checks(e: _Entry) -> str:
    """One ``if ...: raise ValueError(...)`` per argument (NaN always refused), worded as the
    numeric library's checks."""
    out = []
    for a, r in _rules(e).items():
        if r.complex:
            bad, what = f"not cmath.isfinite({a})", "finite"
        else:
            tests = [] if r.inf else [f"math.isfinite({a})"]
            tests += [f"{a} {op} {b!r}" for op, b in ((">", r.gt), (">=", r.ge), ("<=", r.le))
                      if b is not None]
            bad = f"not ({' and '.join(tests)})" if tests else f"math.isnan({a})"
            words = ([] if r.inf else ["finite"]) + ([r.bounds_text()] if r.bounds_text() else [])
            what = " and ".join(words) or "a number (not NaN)"
        out.append(f"    if {bad}:\n        raise ValueError(f\"{a} must be {what}, got {{{a}!r}}\")\n")
    return "".join(out)


def _py_checks(e: _Entry) -> str:
    """The checks between arguments, with the library's messages (f-strings)."""
    out = []
    for c in e.checks:
        msg = c.message
        for k, x in c.extra:
            msg = msg.replace("{" + k, "{(" + sp.pycode(_condition(e, x)) + ")")
        out.append(f"    if not {sp.pycode(_condition(e, c.condition))}:\n"
                   f"        raise ValueError(f\"{msg}\")\n")
    return "".join(out)


def _py_value(v) -> str:
    """A guard's value as Python source (``math.inf``, ``complex(-math.inf, math.nan)``, ``0.0``)."""
    if isinstance(v, complex):
        return f"complex({_py_value(v.real)}, {_py_value(v.imag)})"
    if v != v:
        return "math.nan"
    if v in (float("inf"), float("-inf")):
        return "math.inf" if v > 0 else "-math.inf"
    return repr(float(v))
