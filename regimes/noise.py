"""The finite-sample noise floor of a covariance spectrum: is the top eigenvalue structure or noise?

The sample covariance of n points in d dimensions whose population covariance is σ²I plus a few
spikes has a Marchenko–Pastur bulk with ratio γ = d/(n − 1) (n − 1: the centred data have n − 1
degrees of freedom) and upper edge σ²(1 + √γ)². A population spike ℓ separates from the bulk only
above the Baik–Ben Arous–Péché threshold ℓ > σ²(1 + √γ); the top sample eigenvalue then sits at
λ̂ = ℓ(1 + γσ²/(ℓ − σ²)), otherwise it sticks to the edge with Tracy–Widom (β = 1) fluctuations.

This is a model (flat noise plus spikes). Real image spectra are not flat; what is robust is the
verdict "indistinguishable from the noise edge" for structureless data.

References
----------
.. [BBP] J. Baik, G. Ben Arous, S. Péché, "Phase transition of the largest eigenvalue for nonnull
   complex sample covariance matrices", Ann. Probab. 33:1643 (2005).
.. [P] D. Paul, "Asymptotics of sample eigenstructure for a large dimensional spiked covariance
   model", Statistica Sinica 17:1617 (2007).
.. [J] I. M. Johnstone, "On the distribution of the largest eigenvalue in principal components
   analysis", Ann. Statist. 29:295 (2001).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._errors import RegimesError
from ._validate import check_int, check_real

__all__ = ["TW1_Q99", "NoiseFloor", "bbp_threshold", "debiased_spike", "noise_edge", "noise_floor",
           "noise_level", "spiked_eigenvalue", "tracy_widom_scale"]

#: 99% quantile of the Tracy–Widom β = 1 law (Johnstone 2001, Table 1: 2.02)
TW1_Q99 = 2.02


def _ratio(n, d) -> float:
    n = check_int("n", n, ge=2)
    d = check_int("d", d, ge=1)
    return d / (n - 1)


def noise_edge(sigma2, n, d) -> float:
    """Upper Marchenko–Pastur edge ``σ²(1 + √γ)²``, γ = d/(n − 1)."""
    return check_real("sigma2", sigma2, gt=0.0) * (1.0 + math.sqrt(_ratio(n, d))) ** 2


def bbp_threshold(sigma2, n, d) -> float:
    """Smallest detectable population spike ``σ²(1 + √γ)`` (BBP transition)."""
    return check_real("sigma2", sigma2, gt=0.0) * (1.0 + math.sqrt(_ratio(n, d)))


def spiked_eigenvalue(ell, sigma2, n, d) -> float:
    """Limit of the top sample eigenvalue for a population spike ℓ: ``ℓ(1 + γσ²/(ℓ − σ²))`` above
    the BBP threshold, the noise edge below it."""
    ell = check_real("ell", ell, gt=0.0)
    g = _ratio(n, d)
    if ell <= bbp_threshold(sigma2, n, d):
        return noise_edge(sigma2, n, d)
    return ell * (1.0 + g * sigma2 / (ell - sigma2))


def debiased_spike(lam, sigma2, n, d) -> float:
    """Population spike ℓ̂ whose limiting top sample eigenvalue is ``lam`` (inverse of
    :func:`spiked_eigenvalue`); NaN at or below the noise edge, where no spike is identifiable.

    ``ℓ̂ = ½[(λ + σ²(1 − γ)) + √((λ + σ²(1 − γ))² − 4λσ²)]`` (the larger root).
    """
    lam = float(lam)
    g = _ratio(n, d)
    if not math.isfinite(lam) or lam <= noise_edge(sigma2, n, d):
        return math.nan
    b = lam + sigma2 * (1.0 - g)
    disc = b * b - 4.0 * lam * sigma2
    return 0.5 * (b + math.sqrt(max(disc, 0.0)))


def tracy_widom_scale(sigma2, n, d) -> tuple[float, float]:
    """``(centre μ, scale s)`` of the top eigenvalue of pure noise: (λ − μ)/s → TW₁ (Johnstone 2001).

    For the covariance (normalisation n − 1): μ = σ²(√(n−1) + √d)²/(n − 1),
    s = σ²(√(n−1) + √d)(1/√(n−1) + 1/√d)^{1/3}/(n − 1).
    """
    n = check_int("n", n, ge=2)
    d = check_int("d", d, ge=1)
    a, b = math.sqrt(n - 1), math.sqrt(d)
    return sigma2 * (a + b) ** 2 / (n - 1), sigma2 * (a + b) * (1 / a + 1 / b) ** (1 / 3) / (n - 1)


def noise_level(spectrum, n, d) -> float:
    """σ̂²: the median of the non-zero sample eigenvalues matched to the Marchenko–Pastur median.

    ``spectrum`` holds the covariance eigenvalues (any order; all d of them, or at least the
    min(d, n − 1) non-zero ones). Robust to a few spikes: they move the median by O(1/d).
    """
    from .rmt.marchenko_pastur import MarchenkoPastur

    lam = np.sort(np.asarray(spectrum, dtype=float))[::-1]
    g = _ratio(n, d)
    k = min(d, n - 1)
    if k < 1 or lam.size < k:
        raise RegimesError(f"spectrum: {lam.size} eigenvalues, fewer than the min(d, n − 1) = {k} non-zero ones "
                           "whose median is the noise level (the top ones alone overstate it)")
    law = MarchenkoPastur(ratio=g)
    atom = max(0.0, 1.0 - 1.0 / g)
    med_mp = float(law.ppf(atom + 0.5 * (1.0 - atom)))  # median of the continuous (non-zero) part
    return float(np.median(lam[:k])) / med_mp


def _bulk_mean(top, trace, n, d):
    """σ̂² = (tr C − Σ outliers)/(d − m), the m outliers being the given top eigenvalues above the
    Tracy–Widom margin of the edge at that σ̂² (fixed point from σ̂² = tr C / d)."""
    sigma2, m = trace / d, 0
    for _ in range(50):
        mu, s = tracy_widom_scale(sigma2, n, d)
        m_new = int(np.sum(top > mu + TW1_Q99 * s))
        sigma2 = (trace - float(top[:m_new].sum())) / max(d - m_new, 1)
        if m_new == m:
            break
        m = m_new
    return sigma2, m


@dataclass(frozen=True)
class NoiseFloor:
    """The noise-floor verdict for a top eigenvalue (see :func:`noise_floor`)."""

    sigma2: float
    ratio: float
    edge: float
    threshold: float
    tw_statistic: float
    detectable: bool
    population: float
    n_above_edge: int
    method: str

    def to_dict(self) -> dict:
        return {"noise_level": self.sigma2, "ratio": self.ratio, "noise_edge": self.edge,
                "bbp_threshold": self.threshold, "tw_statistic": self.tw_statistic,
                "detectable": self.detectable, "n_above_edge": self.n_above_edge, "noise_method": self.method}


def noise_floor(top, n, d, *, spectrum=None, total_variance=None) -> NoiseFloor:
    """Noise level, noise edge and detectability of the top covariance eigenvalue ``top``.

    Parameters
    ----------
    top : float
        The top sample eigenvalue Λ.
    n, d : int
        Sample size and dimension: the number of features that vary. Constant features add exact
        zero eigenvalues that are not noise; :func:`regimes.analysis.analyze` leaves them out of d
        and of the spectrum (:attr:`regimes.data.DataSource.constant_features`).
    spectrum : array_like, optional
        All covariance eigenvalues: σ̂² from the median (:func:`noise_level`).
    total_variance : float, optional
        Without the full spectrum: ``tr C``; with ``spectrum`` holding only the top k eigenvalues,
        σ̂² = (tr C − Σ_{i<k} λ_i)/(d − k) — the mean of the bulk with the top k removed.

    Notes
    -----
    ``detectable`` is ``(Λ − μ)/s > 2.02`` with (μ, s) the Tracy–Widom centring and scale of pure
    noise at level σ̂² (a 1% false-alarm rate under the flat-noise model); ``population`` the
    debiased spike ℓ̂ (NaN when not detectable).
    """
    g = _ratio(n, d)
    lam = np.sort(np.asarray(spectrum, dtype=float))[::-1] if spectrum is not None else np.array([top])
    if spectrum is not None and (lam.size >= min(d, n - 1) or total_variance is None):  # (too few: an error)
        sigma2, method = noise_level(lam, n, d), "median of the non-zero eigenvalues matched to the MP median"
    elif total_variance is not None:
        sigma2, m = _bulk_mean(lam, float(total_variance), n, d)
        method = f"mean of the bulk: (tr C − the {m} eigenvalues above the edge)/(d − {m})"
    else:
        raise RegimesError("noise_floor needs spectrum= or total_variance=")
    if not sigma2 > 0:
        raise RegimesError(f"noise level σ̂² = {sigma2:.3g} is not positive (degenerate spectrum)")
    mu, s = tracy_widom_scale(sigma2, n, d)
    edge = noise_edge(sigma2, n, d)
    tw = (float(top) - mu) / s
    det = bool(tw > TW1_Q99)
    return NoiseFloor(sigma2=sigma2, ratio=g, edge=edge, threshold=bbp_threshold(sigma2, n, d), tw_statistic=tw,
                      detectable=det, population=debiased_spike(top, sigma2, n, d) if det else math.nan,
                      n_above_edge=int(np.sum(lam > mu + TW1_Q99 * s)), method=method)
