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

Round trips are exact in floating point: the returned ``n`` and ``eigenvalue`` are moved by a few
units in the last place where needed (a bounded search over adjacent float64 values) until the
forward functions (:func:`regimes.collapse.collapse_time`,
:func:`regimes.speciation.speciation_time` and the schedules' step rule) agree with the stated
boundary bit for bit.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491, Nature Communications 15:9957 (2024).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

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


@dataclass(frozen=True)
class NSolution:
    """The number of training points n at which Gaussian data collapse at ``t_C``.

    Attributes
    ----------
    n : float or None
        ``e^{d α}``, moved down by the fewest ulps needed for ``collapse_time(n, d, σ²) <= t_C``
        to hold exactly in float64; ``None`` when beyond float64 (``ln n > 709.78``): use
        ``log10_n``.
    log10_n, ln_n : float
        Exact in log space (``ln n = d α``); finite unless ``d α`` overflows float64.
    alpha : float
        ``ln(n)/d``.
    d, variance, t_C : float
        The inputs (``t_C`` the target, or ``t_K`` for :func:`n_for_last_fraction`).
    step, schedule, steps, last_fraction : optional
        For :func:`n_for_last_fraction`: the step K = ⌊qT⌋ whose time is the target.
    notes : tuple of str
        E.g. that the target is not reachable with ``n >= 2`` (then ``n < 2``).
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

    def to_dict(self) -> dict:
        out = {"n": self.n, "log10_n": self.log10_n, "ln_n": self.ln_n, "alpha": self.alpha,
               "d": self.d, "variance": self.variance, "t_C": self.t_C, "formula": self.formula}
        if self.step is not None:
            out.update(step=self.step, schedule=self.schedule, steps=self.steps,
                       last_fraction=self.last_fraction, step_rule=STEP_RULE)
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def n_for_collapse_time(t_C, d, variance: float = 1.0) -> NSolution:
    """The n for which ``N(0, σ²I_d)`` data collapse exactly at ``t_C``.

    Any ``n' >= n`` collapses at a smaller or equal t_C (later in the backward process).

    Parameters
    ----------
    t_C : float
        Target collapse time (OU time, > 0).
    d : float
        Dimension (>= 1).
    variance : float
        σ² per coordinate, in the data's units.

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
    ``collapse_time(e^{dα}, d, σ²)`` an ulp above ``t_C``, ``n`` is moved down by the fewest ulps
    for which the forward function gives ``<= t_C``: a round trip through
    :func:`regimes.collapse.collapse_time` never lands beyond the target.

    The answer is a real number: round up for a count. Below 2 (a large target,
    ``t_C > t_C(n = 2, d)``) the target is not reachable with a training set (the forward
    functions take ``n >= 2``): every ``n >= 2`` collapses at a smaller t_C; a note says so. The
    closed form is the large-d result of [DR] for Gaussian data (docs page "Range of validity").
    """
    dd = check_real("d", d, ge=D_MIN)
    t = check_real("t_C", t_C, gt=0.0)
    var = check_real("variance", variance, gt=0.0)
    a = alpha_for_collapse_time(t, var)
    ln_n = dd * a
    if not math.isfinite(ln_n):
        raise RegimesError(f"d·α = {dd:.6g} × {a:.6g} overflows float64 (even ln n is infinite): "
                           f"use a smaller d or a larger t_C (got t_C={t!r})")
    n = math.exp(ln_n) if ln_n < LN_FLOAT_MAX else None
    notes: list[str] = []
    if n is not None and n >= N_MIN:
        n = _float_boundary(n, lambda x: x >= N_MIN and collapse_time(x, dd, var) <= t, -1,
                            tight=False)
    elif ln_n < math.log(N_MIN):
        t_max = collapse_time(N_MIN, dd, var)
        notes.append(f"target t_C = {t:.6g} is not reachable with n >= 2: n = {math.exp(ln_n):.6g} < 2, and "
                     f"the largest collapse time of any training set in d = {dd:g} is "
                     f"t_C(n = 2) = {t_max:.6g} (every n >= 2 collapses below the target)")
    return NSolution(n=n, log10_n=ln_n / _LN10, ln_n=ln_n, alpha=a, d=dd, variance=var, t_C=t,
                     notes=tuple(notes))


def last_fraction_step(last_fraction, steps: int) -> int:
    """``K = ⌊qT⌋`` (zero-based, counted from the data end), the step whose time bounds collapse.

    With the step rule "an event at t falls on the first k with t_k >= t", ``t_C <= t_K`` means that
    collapse (Regime III, t < t_C) covers at most the steps ``0 … K − 1``: ``K = ⌊qT⌋`` steps, the
    last fraction q of the ``T`` sampling steps (sampling runs from ``T − 1`` down to 0).
    """
    q = check_real("last_fraction", last_fraction, gt=0.0, lt=1.0)
    T = check_int("steps", steps, ge=2, le=MAX_STEPS)
    return int(math.floor(round(q * T, 9)))


def n_for_last_fraction(last_fraction, d, schedule="linear", steps: int = 1000,
                        variance: float = 1.0) -> NSolution:
    """The n for which collapse happens only in the last fraction ``q`` of a schedule's sampling steps.

    Parameters
    ----------
    last_fraction : float
        q in (0, 1): e.g. 0.05 for "only the last 5% of the steps".
    d, variance : float
        Dimension and σ², as in :func:`n_for_collapse_time`.
    schedule, steps
        A discrete schedule (see :func:`regimes.schedules.get_schedule`).

    Returns
    -------
    NSolution
        ``n_for_collapse_time(t_K, d, σ²)`` with ``K = ⌊qT⌋`` (:func:`last_fraction_step`); its
        ``step``, ``schedule``, ``steps`` and ``last_fraction`` are set. For ``K = 0`` (q < 1/T)
        the target is ``t_0``: collapse at no step at all.

    Notes
    -----
    The returned ``n`` (when finite and >= 2) satisfies the step rule exactly in float64:
    ``collapse_time(n, d, σ²) <= t_K``, so collapse falls on a step ``<= K``.
    """
    from .schedules import get_schedule

    sch = get_schedule(schedule, steps)
    K = last_fraction_step(last_fraction, sch.steps)
    tK = float(sch.times[K])
    sol = n_for_collapse_time(tK, d, variance)
    return NSolution(**{**sol.__dict__, "step": K, "schedule": sch.name, "steps": sch.steps,
                        "last_fraction": float(last_fraction),
                        "formula": FORMULA_ALPHA + "; target t_C = t_K, K = floor(q T)"})


@dataclass(frozen=True)
class DSolution:
    """The dimension d at which n points of ``N(0, σ²I_d)`` collapse at ``t_C`` (``d = ln n / α``).

    ``notes`` says when the target is not reachable with ``d >= 1`` (then ``d < 1``).
    """

    d: float
    alpha: float
    n: float
    variance: float
    t_C: float
    formula: str = FORMULA_D
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = {"d": self.d, "alpha": self.alpha, "n": self.n, "variance": self.variance,
               "t_C": self.t_C, "formula": self.formula}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def d_for_collapse_time(t_C, n, variance: float = 1.0) -> DSolution:
    """The d for which ``n`` points of ``N(0, σ²I_d)`` collapse at ``t_C``.

    A larger d gives a larger t_C (collapse earlier in the backward process).

    Raises
    ------
    RegimesError
        Bad input, or ``d`` beyond float64 (the message gives ``log10 d``).

    Notes
    -----
    ``d = ln(n)/α`` with ``α = ½ log1p(σ²/expm1(2 t_C))``; a real number (t_C increases with d).
    α comes from :func:`regimes.collapse.alpha_for_collapse_time`, valid over the whole float
    range; where α is subnormal or underflows (``½σ²e^{−2 t_C}`` below ~1e-300) d is formed as
    ``exp(ln ln n − ln α)`` with ``ln α`` in log space. Below 1 (a small target,
    ``t_C < t_C(n, d = 1)``) the target is not reachable with ``d >= 1`` (the forward functions
    take ``d >= 1``); a note says so.
    """
    nn = check_real("n", n, ge=N_MIN)
    t = check_real("t_C", t_C, gt=0.0)
    var = check_real("variance", variance, gt=0.0)
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
    if d < D_MIN:
        t_min = collapse_time(nn, D_MIN, var)
        notes.append(f"target t_C = {t:.6g} is not reachable with d >= 1: d = {d:.6g} < 1, and the "
                     f"smallest collapse time of n = {nn:g} points is t_C(d = 1) = {t_min:.6g} "
                     "(every d >= 1 collapses above the target)")
    return DSolution(d=d, alpha=a, n=nn, variance=var, t_C=t, notes=tuple(notes))


@dataclass(frozen=True)
class EigenvalueSolution:
    """The Λ whose speciation time ``t_S = ½ ln Λ`` falls on step K of a schedule.

    Attributes
    ----------
    eigenvalue : float
        ``e^{2 t_K}`` to the last bit: the largest float64 Λ whose ``speciation_time`` falls on
        step K (t_S equals t_K up to rounding).
    eigenvalue_min : float
        ``e^{2 t_{K−1}}`` likewise (1 for K = 0): every float64 Λ in
        ``(eigenvalue_min, eigenvalue]`` falls on K.
    """

    eigenvalue: float
    eigenvalue_min: float
    step: int
    t: float
    schedule: str
    steps: int
    formula: str = FORMULA_LAMBDA

    def to_dict(self) -> dict:
        return {"eigenvalue": self.eigenvalue, "eigenvalue_min": self.eigenvalue_min, "step": self.step,
                "t_S": self.t, "schedule": self.schedule, "steps": self.steps, "formula": self.formula,
                "step_rule": STEP_RULE}


def _largest_eigenvalue_at_or_below(t: float) -> float:
    """The largest float64 Λ with ``speciation_time(Λ) <= t`` (``e^{2t}`` to the last bit)."""
    from .speciation import speciation_time

    def ok(lam: float) -> bool:
        return lam > 1.0 and speciation_time(lam) <= t  # (speciation_time warns only for Λ <= 1)

    return _float_boundary(math.exp(2.0 * t) if t < 354.0 else math.inf, ok, +1)


def eigenvalue_for_step(step, schedule="linear", steps: int = 1000) -> EigenvalueSolution:
    """The largest covariance eigenvalue Λ for which speciation happens at step ``step``.

    Notes
    -----
    ``t_S = ½ ln Λ`` [DR] falls on the first zero-based k with ``t_k >= t_S``, so it falls on K for
    ``t_{K−1} < t_S <= t_K``, i.e. ``e^{2 t_{K−1}} < Λ <= e^{2 t_K} = 1/ᾱ_K``. Both ends are moved
    by a few ulps to the largest float64 whose :func:`regimes.speciation.speciation_time` is
    ``<= t_K`` (``<= t_{K−1}``), so feeding any float in ``(eigenvalue_min, eigenvalue]`` back
    through ``speciation_time`` and the schedule's step rule gives step K exactly. Λ is in the
    units the model was trained in (rescaling the data by c multiplies Λ by c²). ``inf`` when
    ``e^{2 t_K}`` overflows (t_K > 354, e.g. a zero-terminal-SNR last step).
    """
    from .schedules import get_schedule, time_at_step

    sch = get_schedule(schedule, steps)
    K = check_int("step", step, ge=0, le=sch.steps - 1)
    tK = time_at_step(sch, K)
    lo = 1.0 if K == 0 else _largest_eigenvalue_at_or_below(float(sch.times[K - 1]))
    return EigenvalueSolution(eigenvalue=_largest_eigenvalue_at_or_below(tK), eigenvalue_min=lo,
                              step=K, t=tK, schedule=sch.name, steps=sch.steps)
