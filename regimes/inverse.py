"""Inverse questions: how many data (or which dimension, or which Λ) put a transition at a given time.

* :func:`n_for_collapse_time` — the n at which Gaussian data collapse at a target OU time;
* :func:`n_for_last_fraction` — the n for which collapse happens only in the last fraction q of a
  discrete schedule's sampling steps;
* :func:`d_for_collapse_time` — the d at which n points collapse at a target time;
* :func:`eigenvalue_for_step` — the Λ whose speciation time falls on a given step.

All of them invert the closed forms of [DR] exactly (no root finding). n is exponential in d, so it
is returned in log space too: ``log10_n`` is finite, ``n`` is ``None`` beyond float64.

Direction of time: t is the OU (forward-noising) time, so the backward (sampling) process runs from
large t to small t. "Collapse at a smaller t_C" therefore means *later in the backward process*
(closer to the data end); the docstrings below always say "smaller t_C" or "larger t_C" and add
the backward-process reading in parentheses.

Round trips are exact in floating point: the returned ``n`` and ``eigenvalue`` are moved to the
nearest float64 (a bounded search over adjacent float64 values) for which the forward functions
(:func:`regimes.collapse.collapse_time`, :func:`regimes.speciation.speciation_time` and the
schedules' step rule) agree with the stated boundary bit for bit. ``n`` only ever moves *up* from
``e^{dα}`` (t_C decreases with n, so ``collapse_time(n) <= t_C`` needs a larger n), by the fewest
ulps: measured at most 1330 ulps, a relative 1.7e-13, over 40 000 random (t_C, d, σ²) (many
adjacent floats n give the same float t_C). ``eigenvalue`` is the largest float whose ½ ln Λ is
``<= t_K``: measured within 12 ulps of ``exp(2 t_K)`` on every step of the T = 1000 linear, cosine
and scaled-linear schedules (a relative ~ε·t_K, so more ulps at larger t_K).

Validity: the closed forms are the d → ∞ results of [DR] for Gaussian data. Every result says
(``small_d``, ``validity``) when d is below :data:`regimes.diagnostics.SMALL_D` = 100, where the
finite-d collapse is a smooth crossover, and, when an ``eigenvalue`` Λ is given, whether its
speciation time ``t_S = ½ ln Λ`` lies above the collapse time (``regime_ii_absent``).

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491, Nature Communications 15:9957 (2024).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction

from ._errors import RegimesError
from ._validate import MAX_STEPS, check_int, check_real
from .collapse import alpha_for_collapse_time, collapse_time, log_half_log1p_ratio

__all__ = [
    "DSolution",
    "EigenvalueSolution",
    "NSolution",
    "d_for_collapse_time",
    "eigenvalue_for_step",
    "last_fraction_step",
    "n_for_collapse_time",
    "n_for_last_fraction",
]

#: ln of the largest float64 (n = e^{ln n} overflows beyond it).
LN_FLOAT_MAX = math.log(1.7976931348623157e308)
_FLOAT_MAX = 1.7976931348623157e308
_LN10 = math.log(10.0)

FORMULA_ALPHA = "alpha = ½ log1p(σ²/expm1(2 t_C)) (inverse of t_C = ½ log1p(σ²/expm1(2α))), ln n = d·alpha"
FORMULA_D = "d = ln(n)/alpha, alpha = ½ log1p(σ²/expm1(2 t_C))"
FORMULA_LAMBDA = "Λ = exp(2 t_K) = 1/ᾱ_K (t_S = ½ ln Λ = t_K)"
STEP_RULE = "zero-based k counting from the data end; an event at time t falls on the first k with t_k >= t"
#: Forward limits: the numeric collapse functions take n >= 2 and d >= 1.
N_MIN, D_MIN = 2.0, 1.0


def _bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


def _from_bits(i: int) -> float:
    return struct.unpack("<d", struct.pack("<q", i))[0]


_INF_BITS = _bits(math.inf)


def _float_boundary(x0: float, ok, outward: int, tight: bool = True) -> float:
    """The float64 ``x`` nearest ``x0`` with ``ok(x)`` true and ``ok`` false on the next float outward.

    ``ok`` must be monotone over the positive floats near ``x0`` (true inward, false outward;
    ``outward`` is +1 towards larger, −1 towards smaller values). Positive floats are ordered like
    their bit patterns, so this is a doubling search then a bisection over integers: at most about
    2 × 64 calls of ``ok``. With ``tight=False`` an ``x0`` that already satisfies ``ok`` is kept
    (only a violation is repaired, by the fewest ulps). ``x0`` is returned unchanged when it is
    not a positive finite float or no float within a factor 2 of it satisfies ``ok``.
    """
    if not (math.isfinite(x0) and x0 > 0.0):
        return x0
    i0, sign = _bits(x0), (1 if outward > 0 else -1)

    def ok_bits(i: int) -> bool:
        return 0 < i < _INF_BITS and ok(_from_bits(i))

    if ok_bits(i0):  # walk outward until ok fails
        if not tight:
            return x0
        good, step = i0, 1
        while ok_bits(i0 + sign * step):
            good = i0 + sign * step
            step *= 2
        bad = i0 + sign * step
    else:  # walk inward until ok holds
        bad, step = i0, 1
        while not ok_bits(i0 - sign * step):
            bad = i0 - sign * step
            step *= 2
            if step > 2**52:
                return x0
        good = i0 - sign * step
    while abs(bad - good) > 1:
        mid = (good + bad) // 2
        if ok_bits(mid):
            good = mid
        else:
            bad = mid
    return _from_bits(good)


def _small_d_note(d: float, what: str) -> str:
    from .diagnostics import SMALL_D

    return (f"{what} = {d:.6g} < {SMALL_D}: the closed form is the d → ∞ limit of [DR]; at small d collapse is a "
            "smooth crossover whose location shifts (docs/validity.md; measure it with `regimes analyze`)")


def _speciation(t: float, lam: float | None, threshold) -> tuple[float | None, bool | None, list[str]]:
    """``(t_S, regime_ii_absent, notes)`` for a target collapse time ``t`` and Λ (None: not given).

    Regime II (speciated, not collapsed) is the interval t_C < t < t_S: absent when ``t >= t_S`` or
    Λ <= 1 (no speciation). ``threshold(t_S)`` is the text saying which n or d restore it.
    """
    if lam is None:
        return None, None, []
    if lam <= 1.0:
        return None, True, [f"Λ = {lam:.6g} <= 1: no speciation (the signal never exceeds the noise), so no "
                            "Regime II at any n or d"]
    from .speciation import speciation_time

    t_S = speciation_time(lam)
    if t < t_S:
        return t_S, False, []
    return t_S, True, [f"t_C = {t:.6g} >= t_S = ½ ln Λ = {t_S:.6g} (Λ = {lam:.6g}): collapse precedes "
                       f"speciation, so there is no Regime II here (the regimes are I and III only); "
                       f"{threshold(t_S)}"]


def _below(x: float, limit: float) -> str:
    """``x`` with enough digits to show that it is below ``limit``."""
    s = f"{x:.6g}"
    return s if float(s) < limit else repr(x)


@dataclass(frozen=True)
class NSolution:
    """The number of training points n at which Gaussian data collapse at ``t_C``.

    Attributes
    ----------
    n : float or None
        ``e^{d α}``, moved *up* by the fewest ulps needed for ``collapse_time(n, d, σ²) <= t_C`` to
        hold exactly in float64 (measured: at most 1330 ulps, a relative 1.7e-13); 2 when the
        target is ``t_C(n = 2)`` itself; ``None`` when beyond float64 (``ln n > 709.78``): use
        ``log10_n``.
    log10_n, ln_n : float
        Exact in log space (``ln n = d α``); finite unless ``d α`` overflows float64.
    alpha : float
        ``ln(n)/d``.
    d, variance, t_C : float
        The inputs (``t_C`` the target, or ``t_K`` for :func:`n_for_last_fraction`, ``inf`` for a
        pure-noise step).
    step, schedule, steps, last_fraction : optional
        For :func:`n_for_last_fraction`: the step K = ⌊qT⌋ whose time is the target.
    every_n_qualifies : bool or None
        For :func:`n_for_last_fraction`: True when every training set (``n >= 2``) already collapses
        within the last fraction q (then ``n < 2``, or ``n = 1`` for a step at ``t = ∞``).
    notes : tuple of str
        Reachability: e.g. that the target is not reachable with ``n >= 2`` (then ``n < 2``).
    eigenvalue, t_S, regime_ii_absent : optional
        With a Λ: ``t_S = ½ ln Λ`` (None for Λ <= 1) and whether Regime II is absent at the target
        (``t_C >= t_S`` or Λ <= 1); None without a Λ.
    small_d : bool
        ``d < 100`` (:data:`regimes.diagnostics.SMALL_D`): the d → ∞ closed form is an approximation.
    validity : tuple of str
        The texts of these two checks (empty when neither applies).

    ``to_dict`` includes ``step`` … ``every_n_qualifies`` only for :func:`n_for_last_fraction`,
    ``eigenvalue``, ``t_S``, ``regime_ii_absent`` only with a Λ, ``small_d`` only when true and
    ``notes``/``validity`` only when not empty.
    """

    n: float | None
    log10_n: float
    ln_n: float
    alpha: float
    d: float
    variance: float
    t_C: float
    formula: str = FORMULA_ALPHA
    step: int | None = None
    schedule: str | None = None
    steps: int | None = None
    last_fraction: float | None = None
    notes: tuple[str, ...] = ()
    every_n_qualifies: bool | None = None
    eigenvalue: float | None = None
    t_S: float | None = None
    regime_ii_absent: bool | None = None
    small_d: bool = False
    validity: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = {"n": self.n, "log10_n": self.log10_n, "ln_n": self.ln_n, "alpha": self.alpha,
               "d": self.d, "variance": self.variance, "t_C": self.t_C, "formula": self.formula}
        if self.step is not None:
            out.update(step=self.step, schedule=self.schedule, steps=self.steps,
                       last_fraction=self.last_fraction, step_rule=STEP_RULE,
                       every_n_qualifies=self.every_n_qualifies)
        return _validity_dict(self, out)


def _validity_dict(sol, out: dict) -> dict:
    if sol.eigenvalue is not None:
        out.update(eigenvalue=sol.eigenvalue, t_S=sol.t_S, regime_ii_absent=sol.regime_ii_absent)
    if sol.small_d:
        out["small_d"] = True
    if sol.notes:
        out["notes"] = list(sol.notes)
    if sol.validity:
        out["validity"] = list(sol.validity)
    return out


def _n_at(t: float, dd: float, var: float) -> tuple[float | None, float, float, bool]:
    """``(n, ln n, α, below)`` for a validated target ``t``; ``below``: ``n < 2`` is out of reach.

    ``n`` is repaired upward until ``collapse_time(n) <= t`` in float64. A target equal to
    ``t_C(n = 2)`` gives 2 (rounding may put ``e^{dα}`` a few ulps below or above 2); ``below`` is true only when
    ``t_C(n = 2) < t`` strictly, i.e. every training set collapses below the target.
    """
    a = alpha_for_collapse_time(t, var)
    ln_n = dd * a
    if not math.isfinite(ln_n):
        raise RegimesError(f"d·α = {dd:.6g} × {a:.6g} overflows float64 (even ln n is infinite): "
                           f"use a smaller d or a larger t_C (got t_C={t!r})")
    n = math.exp(ln_n) if ln_n < LN_FLOAT_MAX else None
    if n is not None and n < N_MIN:
        if collapse_time(N_MIN, dd, var) < t:
            return n, ln_n, a, True
        n = N_MIN
    elif n is not None and n < N_MIN * (1.0 + 1e-9) and collapse_time(N_MIN, dd, var) == t:
        n = N_MIN  # the target is t_C(n = 2) itself: e^{dα} is a few ulps above 2 by rounding
    if n is not None:
        n = _float_boundary(n, lambda x: x >= N_MIN and collapse_time(x, dd, var) <= t, -1, tight=False)
    return n, ln_n, a, False


def _validity(t: float, d: float, lam: float | None, threshold, what: str) -> dict:
    """The validity fields of a solution at target ``t``: Regime II (with ``threshold(t_S)``, the
    text saying what would restore it) and whether ``d`` (``what``: which d) is small."""
    from .diagnostics import SMALL_D

    t_S, absent, texts = _speciation(t, lam, threshold)
    small = d < SMALL_D
    if small:
        texts.append(_small_d_note(d, what))
    return {"eigenvalue": lam, "t_S": t_S, "regime_ii_absent": absent, "small_d": small,
            "validity": tuple(texts)}


def _n_validity(t: float, dd: float, var: float, lam: float | None) -> dict:
    """The validity fields of an :class:`NSolution` at target ``t``."""

    def threshold(t_S: float) -> str:
        log10 = dd * alpha_for_collapse_time(t_S, var) / _LN10
        return f"Regime II needs t_C < t_S, i.e. n > 10^{log10:.6g} (more data: smaller t_C)"

    return _validity(t, dd, lam, threshold, "d")


def n_for_collapse_time(t_C, d, variance: float = 1.0, eigenvalue=None) -> NSolution:
    """The n for which ``N(0, σ²I_d)`` data collapse exactly at ``t_C``.

    Any ``n' >= n`` collapses at a smaller or equal t_C (later in the backward process).

    Parameters
    ----------
    t_C : float
        Target collapse time (OU time, > 0).
    d : float
        Dimension (>= 1).
    variance : float
        σ², the per-feature variance of the data (mean over features, Tr C/d) in the data's units
        (the units the model was trained in; docs/conventions.md, "Data units").
    eigenvalue : float, optional
        Λ, the largest covariance eigenvalue in the same units: the result then says whether
        Regime II exists at the target (``t_C < t_S = ½ ln Λ``).

    Returns
    -------
    NSolution
        ``ln n = d·α`` with ``α = ½ log1p(σ²/expm1(2 t_C))``; ``n`` is ``None`` beyond float64.

    Raises
    ------
    RegimesError
        Bad input, or ``d·α`` beyond float64 (then even ``log10_n`` is infinite).

    Notes
    -----
    ``α = ½ log1p(σ²/expm1(2 t_C))`` (:func:`regimes.collapse.alpha_for_collapse_time`, valid
    over the whole float range) and ``n = e^{dα}``. t_C decreases with n, so *more* data than
    ``n`` push collapse below ``t_C`` (later in the backward process). Where rounding puts
    ``collapse_time(e^{dα}, d, σ²)`` above ``t_C``, ``n`` is moved *up* by the fewest ulps for
    which the forward function gives ``<= t_C`` (measured: at most 1330 ulps, a relative
    1.7e-13, over 40 000 random cases; never down): a round trip through
    :func:`regimes.collapse.collapse_time` never lands beyond the target.

    The answer is a real number: round up for a count. A target equal to ``t_C(n = 2, d)`` gives
    ``n = 2``. Below 2 (a larger target, ``t_C > t_C(n = 2, d)``) the target is not reachable with
    a training set (the forward functions take ``n >= 2``): every ``n >= 2`` collapses at a
    smaller t_C; a note says so. The closed form is the large-d result of [DR] for Gaussian data:
    ``small_d`` and ``validity`` say when d < 100 (docs page "Range of validity").
    """
    dd = check_real("d", d, ge=D_MIN)
    t = check_real("t_C", t_C, gt=0.0)
    var = check_real("variance", variance, gt=0.0)
    lam = None if eigenvalue is None else check_real("eigenvalue", eigenvalue, gt=0.0)
    n, ln_n, a, below = _n_at(t, dd, var)
    notes: list[str] = []
    if below:
        t_max = collapse_time(N_MIN, dd, var)
        notes.append(f"target t_C = {t:.6g} is not reachable with n >= 2: n = {_below(n, N_MIN)} < 2, and "
                     f"the largest collapse time of any training set in d = {dd:g} is "
                     f"t_C(n = 2) = {t_max:.6g} (every n >= 2 collapses below the target)")
    return NSolution(n=n, log10_n=ln_n / _LN10, ln_n=ln_n, alpha=a, d=dd, variance=var, t_C=t,
                     notes=tuple(notes), **_n_validity(t, dd, var, lam))


def last_fraction_step(last_fraction, steps: int) -> int:
    """``K = ⌊qT⌋`` (zero-based, counted from the data end), the step whose time bounds collapse.

    With the step rule "an event at t falls on the first k with t_k >= t", ``t_C <= t_K`` means that
    collapse (Regime III, t < t_C) covers at most the steps ``0 … K − 1``: ``K = ⌊qT⌋`` steps, the
    last fraction q of the ``T`` sampling steps (sampling runs from ``T − 1`` down to 0).

    The floor is exact (rational arithmetic, no tolerance): q is read as the decimal it prints as
    (``repr(q)``, the shortest decimal that rounds to the float), so ``q = 0.29`` is 29/100 and
    ``⌊0.29 · 100⌋ = 29`` although the binary float is slightly below 0.29, while
    ``q = 0.000999999999999`` gives ``⌊0.999999999999⌋ = 0`` with T = 1000, and every q < 1 gives
    K <= T − 1.
    """
    q = check_real("last_fraction", last_fraction, gt=0.0, lt=1.0)
    T = check_int("steps", steps, ge=2, le=MAX_STEPS)
    return min(math.floor(Fraction(repr(q)) * T), T - 1)  # (the min never binds: repr(q) < 1)


def n_for_last_fraction(last_fraction, d, schedule="linear", steps: int = 1000,
                        variance: float = 1.0, eigenvalue=None) -> NSolution:
    """The n for which collapse happens only in the last fraction ``q`` of a schedule's sampling steps.

    Parameters
    ----------
    last_fraction : float
        q in (0, 1): e.g. 0.05 for "only the last 5% of the steps".
    d, variance, eigenvalue : float
        Dimension, σ² and (optional) Λ, as in :func:`n_for_collapse_time`.
    schedule, steps
        A discrete schedule of at least 2 steps (see :func:`regimes.schedules.get_schedule`).

    Returns
    -------
    NSolution
        ``n_for_collapse_time(t_K, d, σ²)`` with ``K = ⌊qT⌋`` (:func:`last_fraction_step`); its
        ``step``, ``schedule``, ``steps``, ``last_fraction`` and ``every_n_qualifies`` are set.
        For ``K = 0`` (q < 1/T) the target is ``t_0``: collapse is crossed during step 0, the last
        one, and no step starts in Regime III (docs/conventions.md).

    Notes
    -----
    The returned ``n`` (when finite and >= 2) satisfies the step rule exactly in float64:
    ``collapse_time(n, d, σ²) <= t_K``, so collapse falls on a step ``<= K``.

    When ``n < 2`` (a large q: ``t_K > t_C(n = 2, d)``) every training set already collapses
    within the last fraction q: ``every_n_qualifies`` is true and a note says so. A step at
    ``t_K = ∞`` (pure noise: ``flow``, an ``alphas_cumprod`` ending in 0, zero terminal SNR) is the
    same case in the limit: ``t_C <= ∞`` for every n, so ``n = 1`` (α = 0, ``t_C → ∞`` as n → 1),
    ``t_C = inf`` and ``every_n_qualifies`` true.
    """
    from .schedules import get_schedule

    sch = get_schedule(schedule, steps)
    if sch.steps < 2 and not isinstance(schedule, str):  # a named schedule: check_int names steps
        raise RegimesError(f"schedule must have at least 2 steps for last_fraction (K = floor(q·T) is 0 for "
                           f"every q < 1 with T = 1), got a {sch.steps}-step schedule")
    K = last_fraction_step(last_fraction, sch.steps)
    tK = float(sch.times[K])
    extra = {"step": K, "schedule": sch.name, "steps": sch.steps, "last_fraction": float(last_fraction),
             "formula": FORMULA_ALPHA + "; target t_C = t_K, K = floor(q T)"}
    if math.isinf(tK):  # (times are > 0 and non-decreasing; +inf only for a pure-noise step)
        dd = check_real("d", d, ge=D_MIN)
        var = check_real("variance", variance, gt=0.0)
        lam = None if eigenvalue is None else check_real("eigenvalue", eigenvalue, gt=0.0)
        note = (f"t_K = ∞: step K = {K} of {sch.name} is pure noise (zero terminal SNR), so t_C <= t_K holds for "
                "every n: every training set (n >= 2) collapses within the last fraction q (n = 1 is the formal "
                "threshold, α = 0)")
        return NSolution(n=1.0, log10_n=0.0, ln_n=0.0, alpha=0.0, d=dd, variance=var, t_C=math.inf,
                         notes=(note,), every_n_qualifies=True, **extra, **_n_validity(tK, dd, var, lam))
    sol = n_for_collapse_time(tK, d, variance, eigenvalue)
    every = sol.n is not None and sol.n < N_MIN
    notes = sol.notes
    if every:
        t_max = collapse_time(N_MIN, sol.d, sol.variance)
        notes = (f"every training set qualifies: any n >= 2 in d = {sol.d:g} collapses at t_C <= t_C(n = 2) = "
                 f"{t_max:.6g} < t_K = {tK:.6g}, so collapse falls within the last fraction q for every n "
                 f"(n = {_below(sol.n, N_MIN)} < 2 is the formal threshold t_C(n) = t_K)",)
    return NSolution(**{**sol.__dict__, **extra, "notes": notes, "every_n_qualifies": every})


@dataclass(frozen=True)
class DSolution:
    """The dimension d at which n points of ``N(0, σ²I_d)`` collapse at ``t_C`` (``d = ln n / α``).

    ``notes`` says when the target is not reachable with ``d >= 1`` (then ``d < 1``); ``eigenvalue``,
    ``t_S``, ``regime_ii_absent``, ``small_d`` and ``validity`` are as in :class:`NSolution` (here
    ``small_d`` is about the answer d); ``to_dict`` includes them on the same terms.
    """

    d: float
    alpha: float
    n: float
    variance: float
    t_C: float
    formula: str = FORMULA_D
    notes: tuple[str, ...] = ()
    eigenvalue: float | None = None
    t_S: float | None = None
    regime_ii_absent: bool | None = None
    small_d: bool = False
    validity: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = {"d": self.d, "alpha": self.alpha, "n": self.n, "variance": self.variance,
               "t_C": self.t_C, "formula": self.formula}
        return _validity_dict(self, out)


def d_for_collapse_time(t_C, n, variance: float = 1.0, eigenvalue=None) -> DSolution:
    """The d for which ``n`` points of ``N(0, σ²I_d)`` collapse at ``t_C``.

    A larger d gives a larger t_C (collapse earlier in the backward process). ``variance`` and the
    optional ``eigenvalue`` are as in :func:`n_for_collapse_time`.

    Raises
    ------
    RegimesError
        Bad input, or ``d`` beyond float64 (the message gives ``log10 d``).

    Notes
    -----
    ``d = ln(n)/α`` with ``α = ½ log1p(σ²/expm1(2 t_C))``; a real number (t_C increases with d).
    α comes from :func:`regimes.collapse.alpha_for_collapse_time`, valid over the whole float
    range; where α is subnormal or underflows (``½σ²e^{−2 t_C}`` below ~1e-300) d is formed as
    ``exp(ln ln n − ln α)`` with ``ln α`` in log space. A target equal to ``t_C(n, d = 1)`` gives
    ``d = 1``; below 1 (a smaller target, ``t_C < t_C(n, d = 1)``) the target is not reachable with
    ``d >= 1`` (the forward functions take ``d >= 1``); a note says so. The answer is a d → ∞
    result: ``small_d`` and ``validity`` say when it is below 100.
    """
    nn = check_real("n", n, ge=N_MIN)
    t = check_real("t_C", t_C, gt=0.0)
    var = check_real("variance", variance, gt=0.0)
    lam = None if eigenvalue is None else check_real("eigenvalue", eigenvalue, gt=0.0)
    a = alpha_for_collapse_time(t, var)
    if a > 1e-300:
        d = math.log(nn) / a
    else:
        ln_d = math.log(math.log(nn)) - log_half_log1p_ratio(var, t)
        if ln_d >= LN_FLOAT_MAX:
            raise RegimesError(
                f"t_C={t!r} is too large for n={nn:g}, variance={var:g}: d = 10^{ln_d / _LN10:.6g} is beyond "
                f"float64 (α = ½σ²e^(−2 t_C) ≈ 10^{(ln_d - math.log(math.log(nn))) / -_LN10:.6g})")
        d = math.exp(ln_d)
    notes: list[str] = []
    if D_MIN < d < D_MIN * (1.0 + 1e-9) and collapse_time(nn, D_MIN, var) == t:
        d = D_MIN  # the target is t_C(d = 1) itself, d a few ulps above 1 by rounding
    elif d < D_MIN:
        t_min = collapse_time(nn, D_MIN, var)
        if t_min <= t:  # the target is t_C(d = 1) itself, d an ulp below 1 by rounding
            d = D_MIN
        else:
            notes.append(f"target t_C = {t:.6g} is not reachable with d >= 1: d = {_below(d, D_MIN)} < 1, and "
                         f"the smallest collapse time of n = {nn:g} points is t_C(d = 1) = {t_min:.6g} "
                         "(every d >= 1 collapses above the target)")
    return DSolution(d=d, alpha=a, n=nn, variance=var, t_C=t, notes=tuple(notes),
                     **_d_validity(t, d, nn, var, lam))


def _d_validity(t: float, d: float, nn: float, var: float, lam: float | None) -> dict:
    """The validity fields of a :class:`DSolution` (``small_d`` is about the answer d)."""

    def threshold(t_S: float) -> str:
        return (f"Regime II needs t_C < t_S, i.e. d < {math.log(nn) / alpha_for_collapse_time(t_S, var):.6g} "
                "(a smaller d: smaller t_C)")

    return _validity(t, d, lam, threshold, "the answer d")


@dataclass(frozen=True)
class EigenvalueSolution:
    """The Λ whose speciation time ``t_S = ½ ln Λ`` falls on step K of a schedule.

    Attributes
    ----------
    eigenvalue : float
        ``e^{2 t_K}`` to the last bit: the largest float64 Λ whose ``speciation_time`` falls on
        step K (t_S equals t_K up to rounding); ``inf`` when ``e^{2 t_K}`` overflows float64
        (t_K > ½ ln(float64 max) = 354.891…): every finite Λ above ``eigenvalue_min`` falls on K.
    eigenvalue_min : float
        ``e^{2 t_{K−1}}`` likewise (1 for K = 0): every float64 Λ in
        ``(eigenvalue_min, eigenvalue]`` falls on K.
    notes : tuple of str
        Says when that interval holds no finite float64 (``e^{2 t_{K−1}}`` overflows, or the two
        ends coincide) or is unbounded.
    """

    eigenvalue: float
    eigenvalue_min: float
    step: int
    t: float
    schedule: str
    steps: int
    formula: str = FORMULA_LAMBDA
    notes: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when no finite float64 Λ has its speciation time on step K."""
        return not (self.eigenvalue_min < self.eigenvalue and self.eigenvalue_min < _FLOAT_MAX)

    def to_dict(self) -> dict:
        out = {"eigenvalue": self.eigenvalue, "eigenvalue_min": self.eigenvalue_min, "step": self.step,
               "t_S": self.t, "schedule": self.schedule, "steps": self.steps, "formula": self.formula,
               "step_rule": STEP_RULE}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _largest_eigenvalue_at_or_below(t: float) -> float:
    """The largest float64 Λ with ``speciation_time(Λ) <= t`` (``e^{2t}`` to the last bit).

    ``inf`` when ``e^{2t}`` overflows float64 (``2t > ln(float64 max)``, t > 354.891…) and every
    finite Λ qualifies.
    """
    from .speciation import speciation_time

    def ok(lam: float) -> bool:
        return lam > 1.0 and speciation_time(lam) <= t  # (speciation_time warns only for Λ <= 1)

    try:
        x0 = math.exp(2.0 * t)
    except OverflowError:
        x0 = math.inf
    if x0 == math.inf:
        if ok(_FLOAT_MAX):
            return math.inf
        x0 = _FLOAT_MAX  # (rounding at the edge: search down from the largest float)
    return _float_boundary(x0, ok, +1)


def eigenvalue_for_step(step, schedule="linear", steps: int = 1000) -> EigenvalueSolution:
    """The largest covariance eigenvalue Λ for which speciation happens at step ``step``.

    Notes
    -----
    ``t_S = ½ ln Λ`` [DR] falls on the first zero-based k with ``t_k >= t_S``, so it falls on K for
    ``t_{K−1} < t_S <= t_K``, i.e. ``e^{2 t_{K−1}} < Λ <= e^{2 t_K} = 1/ᾱ_K``. Both ends are moved
    (measured: within 12 ulps of ``exp(2 t)`` on the T = 1000 linear, cosine and scaled-linear
    schedules, since many adjacent Λ share one rounded ½ ln Λ) to the largest float64 whose
    :func:`regimes.speciation.speciation_time` is ``<= t_K`` (``<= t_{K−1}``), so feeding any float
    in ``(eigenvalue_min, eigenvalue]`` back through ``speciation_time`` and the schedule's step
    rule gives step K exactly. Λ is in the units the model was trained in (rescaling the data by c
    multiplies Λ by c²). ``inf`` exactly when ``e^{2 t_K}`` overflows float64 (t_K > 354.891…,
    e.g. a zero-terminal-SNR last step at t = ∞); when ``e^{2 t_{K−1}}`` overflows too, no finite
    Λ falls on K and a note says so.
    """
    from .schedules import get_schedule, time_at_step

    sch = get_schedule(schedule, steps)
    K = check_int("step", step, ge=0, le=sch.steps - 1)
    tK = time_at_step(sch, K)
    lo = 1.0 if K == 0 else _largest_eigenvalue_at_or_below(float(sch.times[K - 1]))
    hi = _largest_eigenvalue_at_or_below(tK)
    notes: list[str] = []
    if not (lo < hi and lo < _FLOAT_MAX):
        notes.append(f"no finite float64 Λ has t_S on step {K}: the interval ({lo:.6g}, {hi:.6g}] holds none"
                     + (" (e^(2 t_(K−1)) overflows float64)" if lo == math.inf else ""))
    elif hi == math.inf:
        notes.append(f"e^(2 t_K) overflows float64 (t_K = {tK:.6g} > 354.891): every finite Λ above "
                     f"{lo:.6g} has t_S on step {K}")
    return EigenvalueSolution(eigenvalue=hi, eigenvalue_min=lo, step=K, t=tK, schedule=sch.name,
                              steps=sch.steps, notes=tuple(notes))
