"""Inverse questions: how many data (or which dimension, or which Λ) put a transition at a given time.

* :func:`n_for_collapse_time` — the n at which Gaussian data collapse at a target OU time;
* :func:`n_for_last_fraction` — the n for which collapse happens only in the last fraction q of a
  discrete schedule's sampling steps;
* :func:`d_for_collapse_time` — the d at which n points collapse at a target time;
* :func:`eigenvalue_for_step` — the Λ whose speciation time falls on a given step.

All of them invert the closed forms of [DR] exactly (no root finding). n is exponential in d, so it
is returned in log space too: ``log10_n`` is always finite, ``n`` is ``None`` beyond float64.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491, Nature Communications 15:9957 (2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._errors import RegimesError
from ._validate import check_int, check_real
from .collapse import alpha_for_collapse_time

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


@dataclass(frozen=True)
class NSolution:
    """The number of training points n at which Gaussian data collapse at ``t_C``.

    Attributes
    ----------
    n : float or None
        ``e^{d α}``; ``None`` when beyond float64 (``ln n > 709.78``): use ``log10_n``.
    log10_n, ln_n : float
        Always finite (exact in log space).
    alpha : float
        ``ln(n)/d``.
    d, variance, t_C : float
        The inputs (``t_C`` the target, or ``t_K`` for :func:`n_for_last_fraction`).
    step, schedule, steps, last_fraction : optional
        For :func:`n_for_last_fraction`: the step K = ⌊qT⌋ whose time is the target.
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

    def to_dict(self) -> dict:
        out = {"n": self.n, "log10_n": self.log10_n, "ln_n": self.ln_n, "alpha": self.alpha,
               "d": self.d, "variance": self.variance, "t_C": self.t_C, "formula": self.formula}
        if self.step is not None:
            out.update(step=self.step, schedule=self.schedule, steps=self.steps,
                       last_fraction=self.last_fraction, step_rule=STEP_RULE)
        return out


def n_for_collapse_time(t_C, d, variance: float = 1.0) -> NSolution:
    """The n for which ``N(0, σ²I_d)`` data collapse exactly at ``t_C`` (any n ≥ it collapses later).

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

    Notes
    -----
    t_C decreases with n, so *more* data than ``n`` push collapse below ``t_C``. The answer is a
    real number: round up for a count. It may be below 2 for a large target (then any training
    set collapses before ``t_C`` in the backward process). Large-d closed form of [DR] for Gaussian
    data (docs page "Range of validity").
    """
    dd = check_real("d", d, ge=1.0)
    a = alpha_for_collapse_time(t_C, variance)
    ln_n = dd * a
    return NSolution(n=math.exp(ln_n) if ln_n < LN_FLOAT_MAX else None, log10_n=ln_n / _LN10,
                     ln_n=ln_n, alpha=a, d=dd, variance=float(variance), t_C=float(t_C))


def last_fraction_step(last_fraction, steps: int) -> int:
    """``K = ⌊qT⌋`` (zero-based, counted from the data end), the step whose time bounds collapse.

    With the step rule "an event at t falls on the first k with t_k >= t", ``t_C <= t_K`` means that
    collapse (Regime III, t < t_C) covers at most the steps ``0 … K − 1``: ``K = ⌊qT⌋`` steps, the
    last fraction q of the ``T`` sampling steps (sampling runs from ``T − 1`` down to 0).
    """
    q = check_real("last_fraction", last_fraction, gt=0.0, lt=1.0)
    T = check_int("steps", steps, ge=2)
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
    """The dimension d at which n points of ``N(0, σ²I_d)`` collapse at ``t_C`` (``d = ln n / α``)."""

    d: float
    alpha: float
    n: float
    variance: float
    t_C: float
    formula: str = FORMULA_D

    def to_dict(self) -> dict:
        return {"d": self.d, "alpha": self.alpha, "n": self.n, "variance": self.variance,
                "t_C": self.t_C, "formula": self.formula}


def d_for_collapse_time(t_C, n, variance: float = 1.0) -> DSolution:
    """The d for which ``n`` points of ``N(0, σ²I_d)`` collapse at ``t_C`` (larger d: later collapse).

    Notes
    -----
    ``d = ln(n)/α`` with ``α = ½ log1p(σ²/expm1(2 t_C))``; a real number (t_C increases with d).
    """
    nn = check_real("n", n, ge=2.0)
    a = alpha_for_collapse_time(t_C, variance)
    if a <= 0.0:
        raise RegimesError(f"t_C={float(t_C)!r} is too large: α underflows to 0 (d would be infinite)")
    return DSolution(d=math.log(nn) / a, alpha=a, n=nn, variance=float(variance), t_C=float(t_C))


@dataclass(frozen=True)
class EigenvalueSolution:
    """The Λ whose speciation time ``t_S = ½ ln Λ`` falls on step K of a schedule.

    Attributes
    ----------
    eigenvalue : float
        ``e^{2 t_K}`` — t_S equals t_K exactly; the largest Λ whose t_S falls on step K.
    eigenvalue_min : float
        ``e^{2 t_{K−1}}`` (1 for K = 0): every Λ in ``(eigenvalue_min, eigenvalue]`` falls on K.
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


def eigenvalue_for_step(step, schedule="linear", steps: int = 1000) -> EigenvalueSolution:
    """The largest covariance eigenvalue Λ for which speciation happens at step ``step``.

    Notes
    -----
    ``t_S = ½ ln Λ`` [DR] falls on the first zero-based k with ``t_k >= t_S``, so it falls on K for
    ``t_{K−1} < t_S <= t_K``, i.e. ``e^{2 t_{K−1}} < Λ <= e^{2 t_K} = 1/ᾱ_K``. Λ is in the units the
    model was trained in (rescaling the data by c multiplies Λ by c²).
    """
    from .schedules import get_schedule, time_at_step

    sch = get_schedule(schedule, steps)
    K = check_int("step", step, ge=0)
    tK = time_at_step(sch, K)
    lo = 1.0 if K == 0 else math.exp(2.0 * float(sch.times[K - 1]))
    return EigenvalueSolution(eigenvalue=math.exp(2.0 * tK), eigenvalue_min=lo, step=K, t=tK,
                              schedule=sch.name, steps=sch.steps)
