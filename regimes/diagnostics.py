"""Guidance between the collapse-time estimators: do they agree, and if not, why (measured on the data).

The four estimates of t_C answer different questions:

* ``commitment`` (φ_C = ½): where two clones of the backward dynamics, branched at t, start ending
  on different training points — a measurement of the exact-score dynamics itself (its expectation
  is what a simulation of that dynamics gives: :func:`regimes.uturn.simulated_collapse_time`);
* ``entropy`` (f^e/α = 0.1): a threshold convention on the excess entropy;
* ``spectral``: the zero of an annealed random-energy proxy built from the covariance spectrum;
* ``gaussian``: the isotropic formula ½ log1p(σ²/expm1(2α)) with σ² = tr C / d.

The last two are d → ∞ approximations that see the data only through second moments; they agree
with the first on isotropic Gaussian data and drift from it on anisotropic, clustered or
low-dimensional data. :func:`diagnose` says when the estimates disagree beyond their intervals and
which of these properties the data show, each judged against what Marchenko–Pastur spreading alone
gives isotropic data of the same size (so that sampling noise is not reported as structure). Two
estimates without an interval (e.g. ``bootstrap=0``) cannot be judged: their point values are
compared only as a spread, and the agreement is None when no disagreement is established but some
pair could not be judged.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._errors import RegimesError
from ._validate import as_real_array, check_bool, check_int, check_real
from .noise import MAX_SIZE, isotropic_rank_fraction, isotropic_top_to_mean

__all__ = ["ANISOTROPY_FRACTION", "DOMINANT_FACTOR", "SMALL_D", "Diagnostics", "agreement_text", "comparison_span",
           "diagnose", "intervals_comparable", "intervals_disagree", "recommendation"]

#: the spectrum counts as anisotropic below this multiple of the effective-rank fraction (participation
#: ratio / rank) that isotropic data of the same size show, 1/(1 + min(γ, 1/γ)) (Marchenko–Pastur)
ANISOTROPY_FRACTION = 0.5
#: below this dimension the finite-d smoothing of the curves matters
SMALL_D = 100
#: class structure counts when the within-class variance is below this fraction of the total
CLASS_FRACTION = 0.8
#: a dominant direction counts when Λ/(tr C/d) exceeds this multiple of its value for isotropic data
#: of the same size, (1 + √γ)² (the Marchenko–Pastur edge over the mean)
DOMINANT_FACTOR = 10.0

RECOMMENDATION = ("trust the commitment estimate (φ_C = ½): it is the collapse of the backward dynamics "
                  "with the exact empirical score; the others are conventions or d → ∞ approximations")
#: when the commitment estimate is missing (its curve did not cross ½ on the time grid)
RECOMMENDATION_MISSING = ("the commitment estimate (φ_C = ½), the collapse of the backward dynamics, is missing "
                          "(its curve did not cross ½ on the time grid): widen the time grid (times=) to measure "
                          "it; the other estimates are conventions or d → ∞ approximations, and the regimes use "
                          "the spectral proxy meanwhile")


def agreement_text(agree: bool | None, unjudged: int, spread: float) -> str:
    """Whether the t_C estimates agree, in words (the analysis' note and the report's "Which t_C?"
    section): within or beyond their intervals, or — ``agree`` None, ``unjudged`` pairs without any
    interval — that it cannot be judged; ``spread`` is the largest over the smallest estimate (NaN or
    None when it is not defined)."""
    if agree is not None:
        check_bool("agree", agree)
    unjudged = check_int("unjudged", unjudged, ge=0)
    spread = _spread(spread)
    if agree is None:
        return (f"whether the t_C estimates agree cannot be judged: {unjudged} pair(s) of estimates have no "
                f"interval (bootstrap = 0, or an estimator without one); their point values spread "
                f"{spread:.3g}× (largest / smallest)")
    return (f"the t_C estimates {'agree within' if agree else 'disagree beyond'} their intervals "
            f"(spread {spread:.3g}×, largest / smallest)")


def _spread(spread) -> float:
    """``spread`` as a float: NaN (or None, from JSON) when undefined, else a real number >= 0."""
    if spread is None or (isinstance(spread, float | np.floating) and math.isnan(spread)):
        return math.nan
    if isinstance(spread, float | np.floating) and spread == math.inf:  # max/min of estimates beyond float64
        return math.inf
    return check_real("spread", spread, ge=0.0)


def recommendation(commitment_measured: bool) -> str:
    """Which t_C to trust: the commitment estimate when it exists, else how to obtain it."""
    check_bool("commitment_measured", commitment_measured)
    return RECOMMENDATION if commitment_measured else RECOMMENDATION_MISSING


@dataclass(frozen=True)
class Diagnostics:
    """Agreement of the t_C estimators and the properties of the data that explain a disagreement."""

    agree: bool
    spread: float
    disagreeing: tuple
    participation_ratio: float
    effective_rank_fraction: float
    top_to_mean_eigenvalue: float
    within_to_total_variance: float | None
    d: int
    causes: tuple
    #: pairs of estimates that both lack an interval: their agreement cannot be judged
    unjudged: tuple = ()
    #: whether the commitment (φ_C = ½) estimate exists
    commitment_measured: bool = True
    #: Λ/(tr C/d) and the effective-rank fraction of isotropic data of the same (n, d) (Marchenko–Pastur)
    isotropic_top_to_mean: float = math.nan
    isotropic_rank_fraction: float = math.nan

    @property
    def judged(self) -> bool:
        """Whether every pair of estimates could be compared through an interval."""
        return not self.unjudged

    def to_dict(self) -> dict:
        return {"estimates_agree": self.agree, "agreement_judged": self.judged, "spread": self.spread,
                "disagreeing_pairs": [list(p) for p in self.disagreeing],
                "unjudged_pairs": [list(p) for p in self.unjudged],
                "participation_ratio": self.participation_ratio,
                "effective_rank_fraction": self.effective_rank_fraction,
                "top_to_mean_eigenvalue": self.top_to_mean_eigenvalue,
                "isotropic_top_to_mean_eigenvalue": self.isotropic_top_to_mean,
                "isotropic_effective_rank_fraction": self.isotropic_rank_fraction,
                "within_to_total_variance": self.within_to_total_variance, "d": self.d,
                "likely_causes": list(self.causes), "recommendation": recommendation(self.commitment_measured)}


def comparison_span(e) -> tuple[float, float]:
    """The range an estimate (``value``, ``ci``, optional ``details``) is compared through: its
    interval (its value without one), widened by a known one-sided bias of the statistic —
    ``details["sample_spectrum_bias"]``, how far Marchenko–Pastur spreading of the sample spectrum
    moves the spectral proxy from its population value — which the bootstrap does not see."""
    _check_estimate("e", e)
    lo, hi = e.ci
    lo, hi = (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else (e.value, e.value)
    bias = (getattr(e, "details", None) or {}).get("sample_spectrum_bias")
    if bias is not None and math.isfinite(bias):
        lo, hi = min(lo, lo + bias), max(hi, hi + bias)
    return lo, hi


def _check_estimate(name: str, e) -> None:
    """Refuse anything that is not an estimate: a ``value`` and a ``ci`` pair of real numbers."""
    ci = getattr(e, "ci", None)
    ok = isinstance(getattr(e, "value", None), numbers.Real) and isinstance(ci, tuple | list) and len(ci) == 2 \
        and all(isinstance(c, numbers.Real) for c in ci)
    if not ok:
        raise RegimesError(f"{name} must be an Estimate (a value and a (low, high) interval), got {type(e).__name__}")


def intervals_disagree(a, b) -> bool:
    """Whether two estimates (``value``, ``ci``) are incompatible: their comparison ranges
    (:func:`comparison_span`: the interval, or the value without one, widened by a known bias of the
    statistic) do not overlap."""
    _check_estimate("a", a)
    _check_estimate("b", b)
    span = comparison_span

    (a0, a1), (b0, b1) = span(a), span(b)
    return a1 < b0 or b1 < a0


def intervals_comparable(a, b) -> bool:
    """Whether :func:`intervals_disagree` can judge two estimates: at least one has a finite interval
    (two bare point values differ whatever their uncertainty, which is unknown)."""
    _check_estimate("a", a)
    _check_estimate("b", b)
    return any(math.isfinite(e.ci[0]) and math.isfinite(e.ci[1]) for e in (a, b))


def diagnose(t_C, eigenvalues, *, d: int, n: int, total_variance: float, within_variance=None) -> Diagnostics:
    """Compare the t_C estimates and measure anisotropy, dominant directions, class structure and d.

    Parameters
    ----------
    t_C : mapping of str to Estimate
        The estimates by name (NaN values are skipped).
    eigenvalues : array_like
        Covariance eigenvalues: all of them, or the top ones (the rest of the trace is then spread
        evenly over the remaining directions, as the spectral proxy does).
    d, n : int
        Dimension and sample size.
    total_variance : float
        ``tr C``.
    within_variance : float, optional
        Pooled within-class variance per feature (with labels).

    Notes
    -----
    Participation ratio PR = (Σλ)²/Σλ² (the effective number of directions). The effective-rank
    fraction is that of the bulk — the spectrum without the m dominant directions, reported
    separately — over its min(d, n − 1) − m directions; when no bulk is left (every non-zero
    eigenvalue dominant) it is that of the whole spectrum over min(d, n − 1).

    Both properties are judged against isotropic data of the same size, not against the population
    values: with γ = d/(n − 1), the sample spectrum of N(0, σ²I) has Λ/(tr C/d) ≈ (1 + √γ)² and an
    effective-rank fraction ≈ 1/(1 + min(γ, 1/γ)) (Marchenko–Pastur:
    :func:`regimes.noise.isotropic_top_to_mean`, :func:`regimes.noise.isotropic_rank_fraction`).
    A direction is dominant when λ > :data:`DOMINANT_FACTOR` (1 + √γ)² tr C/d; the spectrum is
    anisotropic when the fraction is below :data:`ANISOTROPY_FRACTION` × 1/(1 + min(γ, 1/γ)) (0.5 at
    n ≫ d: the variance sits in few directions and the isotropic formula, and less so the annealed
    proxy, misplaces t_C). Pure noise with d ≫ n (γ = 10: Λ = 26.7 tr C/d) or n = d (fraction 0.5)
    is therefore not reported as structure.
    """
    t_C = _check_diagnose_inputs(t_C, d, n)
    lam = np.clip(np.sort(as_real_array("eigenvalues", eigenvalues, ndim=1, min_size=1))[::-1], 0.0, None)
    total_variance = check_real("total_variance", total_variance, gt=0.0)
    if within_variance is not None:
        within_variance = check_real("within_variance", within_variance, ge=0.0)
    d, n = int(d), int(n)
    k = lam.size
    if k < d:  # the rest of the trace, spread evenly
        rest = max(total_variance - lam.sum(), 0.0) / (d - k)
        s1, s2 = total_variance, float(np.sum(lam**2) + (d - k) * rest**2)
    else:
        s1, s2 = float(lam.sum()), float(np.sum(lam**2))
    pr = s1 * s1 / s2 if s2 > 0 else math.nan
    mean = total_variance / d
    with np.errstate(over="ignore"):
        top_mean = float(lam[0] / mean) if total_variance > 0 else math.nan
    if not math.isfinite(top_mean):  # e.g. total_variance = 1e-320 with eigenvalues of order 1
        raise RegimesError(f"total_variance={total_variance:g} is too small for the eigenvalues given (the top one, "
                           f"{float(lam[0]):g}, over tr C/d overflows): tr C must be at least their sum")
    iso_top, iso_frac = isotropic_top_to_mean(n, d), isotropic_rank_fraction(n, d)
    # anisotropy of the bulk: the dominant directions (> DOMINANT_FACTOR × the isotropic top) left out
    rank = max(min(d, n - 1), 1)
    m = int(np.sum(lam > DOMINANT_FACTOR * iso_top * mean))
    b1, b2 = s1 - float(lam[:m].sum()), s2 - float(np.sum(lam[:m] ** 2))
    if m >= rank or not b2 > 1e-12 * s2:  # no bulk left: the whole spectrum
        m, b1, b2 = 0, s1, s2
    frac = (b1 * b1 / b2 if b2 > 0 else math.nan) / max(rank - m, 1)
    within = None if within_variance is None else float(within_variance / (total_variance / d))
    ests = {k_: e for k_, e in t_C.items() if math.isfinite(e.value)}
    pairs = list(itertools.combinations(ests, 2))
    unjudged = tuple(p for p in pairs if not intervals_comparable(ests[p[0]], ests[p[1]]))
    bad = tuple(p for p in pairs if p not in unjudged and intervals_disagree(ests[p[0]], ests[p[1]]))
    vals = [e.value for e in ests.values()]
    spread = max(vals) / min(vals) if vals and min(vals) > 0 else math.nan
    # False: a disagreement is established; None: none established, but some pair had no interval
    agree = False if bad else (None if unjudged else True)
    causes = _causes((frac, iso_frac), (top_mean, iso_top), within, d, bool(bad) or (bool(unjudged) and spread > 1.0),
                     within_variance is not None, judged=bool(bad))
    com = t_C.get("commitment")
    return Diagnostics(agree=agree, spread=spread, disagreeing=bad, participation_ratio=pr,
                       effective_rank_fraction=frac, top_to_mean_eigenvalue=top_mean, within_to_total_variance=within,
                       d=d, causes=tuple(causes), unjudged=unjudged,
                       commitment_measured=com is not None and math.isfinite(com.value),
                       isotropic_top_to_mean=iso_top, isotropic_rank_fraction=iso_frac)


def _check_diagnose_inputs(t_C, d, n) -> Mapping:
    """``t_C`` checked as a mapping of names to estimates, ``d`` and ``n`` as sizes."""
    if not isinstance(t_C, Mapping):
        raise RegimesError(f"t_C must be a mapping of estimator names to Estimates, got {type(t_C).__name__}")
    for key, e in t_C.items():
        _check_estimate(f"t_C[{key!r}]", e)
    check_int("d", d, ge=1, le=MAX_SIZE)
    check_int("n", n, ge=2, le=MAX_SIZE)
    return t_C


def _causes(fracs, top_means, within, d, apart, labelled, judged=True) -> list:
    """The measured properties of the data that move the estimators apart (when they are apart).

    ``fracs`` and ``top_means``: (measured, isotropic data of the same size) pairs."""
    (frac, iso_frac), (top_mean, iso_top) = fracs, top_means
    causes = []
    if apart:
        if frac < ANISOTROPY_FRACTION * iso_frac:
            var = ("the pooled within-class variance per feature" if labelled and within is not None
                   else "tr C/d")  # as the Gaussian estimator uses it (analysis._gaussian_stage)
            causes.append(f"anisotropic spectrum: the bulk's participation ratio is {frac:.2g} of its directions "
                          f"(isotropic data of this size: {iso_frac:.2g}); the isotropic formula (σ² = {var}) "
                          "assumes equal variance in every direction")
        if top_mean > DOMINANT_FACTOR * iso_top:
            if labelled and within is not None and within < CLASS_FRACTION:
                what = "one large eigenvalue, with class structure along it"
            else:
                what = ("one large eigenvalue; " + ("the labels show little class structure" if labelled else
                        "without labels, whether it comes from clusters is not measured"))
            causes.append(f"a dominant direction: Λ = {top_mean:.3g} × tr C/d (isotropic data of this size: "
                          f"{iso_top:.3g}; {what}); the Gaussian formula and the annealed proxy see it only "
                          "through second moments")
        if within is not None and within < CLASS_FRACTION:
            causes.append(f"class structure: within-class variance {within:.2g} of the total per feature")
        if d < SMALL_D:
            causes.append(f"small d = {d}: the measured curves are smooth at finite d, so the threshold conventions "
                          "(entropy) and the d → ∞ formulas (spectral, gaussian) shift against the φ_C = ½ crossing")
        if not causes:
            causes.append("none of anisotropy, dominant directions, class structure or small d stands out" + (
                ": the Monte Carlo intervals may be too narrow for the finite-d difference between the definitions"
                if judged else ""))
    return causes
