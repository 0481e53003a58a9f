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
from ._validate import as_real_array, check_int, check_memory, check_real

__all__ = ["NOISE_RTOL", "TW1_Q99", "NoiseFloor", "bbp_threshold", "debiased_spike", "isotropic_rank_fraction",
           "isotropic_top_to_mean", "noise_edge", "noise_floor", "noise_level", "sample_spectrum_bias",
           "spiked_eigenvalue", "tracy_widom_scale"]

#: 99% quantile of the Tracy–Widom β = 1 law (Johnstone 2001, Table 1: 2.02)
TW1_Q99 = 2.02
#: a noise level σ̂² below this fraction of the top eigenvalue is numerically zero (a rank-deficient
#: spectrum, e.g. duplicated rows: the median eigenvalue is rounding error), not a noise level
NOISE_RTOL = 1e-10
#: the largest n and d: 2**53, beyond which n − 1 = n in float64 (and γ = d/(n − 1) over- or underflows)
MAX_SIZE = 2**53


def _nd(n, d) -> tuple[int, int]:
    return check_int("n", n, ge=2, le=MAX_SIZE), check_int("d", d, ge=1, le=MAX_SIZE)


def _ratio(n, d) -> float:
    n, d = _nd(n, d)
    return d / (n - 1)


def _sigma2(sigma2) -> float:
    return check_real("sigma2", sigma2, gt=0.0)


def _finite(value: float, what: str, **given) -> float:
    """``value``, or a RegimesError naming the inputs when it overflowed float64."""
    if not math.isfinite(value):
        args = ", ".join(f"{k}={v:g}" for k, v in given.items())
        raise RegimesError(f"{args}: {what} overflows float64; use smaller values (e.g. rescale the data)")
    return value


def noise_edge(sigma2, n, d) -> float:
    """Upper Marchenko–Pastur edge ``σ²(1 + √γ)²``, γ = d/(n − 1)."""
    sigma2 = _sigma2(sigma2)
    return _finite(sigma2 * (1.0 + math.sqrt(_ratio(n, d))) ** 2, "the noise edge σ²(1 + √γ)²", sigma2=sigma2)


def bbp_threshold(sigma2, n, d) -> float:
    """Smallest detectable population spike ``σ²(1 + √γ)`` (BBP transition)."""
    sigma2 = _sigma2(sigma2)
    return _finite(sigma2 * (1.0 + math.sqrt(_ratio(n, d))), "the BBP threshold σ²(1 + √γ)", sigma2=sigma2)


def spiked_eigenvalue(ell, sigma2, n, d) -> float:
    """Limit of the top sample eigenvalue for a population spike ℓ: ``ℓ(1 + γσ²/(ℓ − σ²))`` above
    the BBP threshold, the noise edge below it."""
    ell = check_real("ell", ell, gt=0.0)
    sigma2 = _sigma2(sigma2)
    g = _ratio(n, d)
    if ell <= bbp_threshold(sigma2, n, d):
        return noise_edge(sigma2, n, d)
    return _finite(ell * (1.0 + g * sigma2 / (ell - sigma2)), "the spiked eigenvalue ℓ(1 + γσ²/(ℓ − σ²))", ell=ell)


def debiased_spike(lam, sigma2, n, d) -> float:
    """Population spike ℓ̂ whose limiting top sample eigenvalue is ``lam`` (inverse of
    :func:`spiked_eigenvalue`); NaN at or below the noise edge, where no spike is identifiable.

    ``ℓ̂ = ½[(λ + σ²(1 − γ)) + √((λ + σ²(1 − γ))² − 4λσ²)]`` (the larger root). ``lam`` NaN (a
    missing value, e.g. the end of an interval that was not computed) gives NaN; a negative or
    infinite ``lam`` is a :class:`RegimesError`.
    """
    sigma2 = _sigma2(sigma2)
    g = _ratio(n, d)
    if isinstance(lam, float | np.floating) and math.isnan(lam):
        return math.nan
    lam = check_real("lam", lam)  # (a negative λ lies below the edge: NaN, as documented)
    if lam <= noise_edge(sigma2, n, d):
        return math.nan
    b = lam + sigma2 * (1.0 - g)
    disc = _finite(b * b - 4.0 * lam * sigma2, "the discriminant (λ + σ²(1 − γ))² − 4λσ²", lam=lam)
    return 0.5 * (b + math.sqrt(max(disc, 0.0)))


def tracy_widom_scale(sigma2, n, d) -> tuple[float, float]:
    """``(centre μ, scale s)`` of the top eigenvalue of pure noise: (λ − μ)/s → TW₁ (Johnstone 2001).

    For the covariance (normalisation n − 1): μ = σ²(√(n−1) + √d)²/(n − 1),
    s = σ²(√(n−1) + √d)(1/√(n−1) + 1/√d)^{1/3}/(n − 1).
    """
    sigma2 = _sigma2(sigma2)
    n, d = _nd(n, d)
    a, b = math.sqrt(n - 1), math.sqrt(d)
    mu = _finite(sigma2 * (a + b) ** 2 / (n - 1), "the Tracy–Widom centre σ²(√(n−1) + √d)²/(n − 1)", sigma2=sigma2)
    return mu, sigma2 * (a + b) * (1 / a + 1 / b) ** (1 / 3) / (n - 1)


def noise_level(spectrum, n, d) -> float:
    """σ̂²: the median of the non-zero sample eigenvalues matched to the Marchenko–Pastur median.

    ``spectrum`` holds the covariance eigenvalues (any order; all d of them, or at least the
    min(d, n − 1) non-zero ones). Robust to a few spikes: they move the median by O(1/d).
    """
    from .rmt.marchenko_pastur import MarchenkoPastur

    lam = np.sort(as_real_array("spectrum", spectrum, ndim=1, min_size=1))[::-1]
    g = _ratio(n, d)
    n, d = _nd(n, d)
    k = min(d, n - 1)
    if k < 1 or lam.size < k:
        raise RegimesError(f"spectrum: {lam.size} eigenvalues, fewer than the min(d, n − 1) = {k} non-zero ones "
                           "whose median is the noise level (the top ones alone overstate it)")
    law = MarchenkoPastur(ratio=g)
    atom = max(0.0, 1.0 - 1.0 / g)
    med_mp = float(law.ppf(atom + 0.5 * (1.0 - atom)))  # median of the continuous (non-zero) part
    return float(np.median(lam[:k])) / med_mp


def isotropic_top_to_mean(n, d) -> float:
    """Top over mean eigenvalue of the sample covariance of isotropic data, ``(1 + √γ)²`` (γ = d/(n − 1)).

    The mean is tr C/d over all d eigenvalues (zeros included when d > n); the top one sits at the
    upper Marchenko–Pastur edge σ²(1 + √γ)², so pure noise has Λ/(tr C/d) ≈ (1 + √γ)²: 1 at
    n ≫ d, 4 at n = d, 26.7 at γ = 10 (plus Tracy–Widom fluctuations of relative size O(n^{−2/3})).
    """
    return (1.0 + math.sqrt(_ratio(n, d))) ** 2


def isotropic_rank_fraction(n, d) -> float:
    """Participation ratio over rank of the sample spectrum of isotropic data: ``1/(1 + min(γ, 1/γ))``.

    Notes
    -----
    From the first two Marchenko–Pastur moments (σ² scaled out): Σλ = d, Σλ² = d(1 + γ), so the
    participation ratio (Σλ)²/Σλ² is d/(1 + γ); over the rank min(d, n − 1) (d/γ when d > n − 1)
    this is 1/(1 + γ) for γ <= 1 and γ/(1 + γ) = 1/(1 + 1/γ) above. 0.5 at γ = 1: Marchenko–Pastur
    spreading alone halves the fraction of a flat population spectrum.
    """
    g = _ratio(n, d)
    return 1.0 / (1.0 + min(g, 1.0 / g))


def sample_spectrum_bias(n, d, sigma2=1.0) -> float:
    """How far Marchenko–Pastur spreading moves the spectral t_C proxy of isotropic data (≥ 0).

    ``collapse_time_spectral`` on the flat population spectrum σ²·1 (which equals the Gaussian
    formula ½ log1p(σ²/expm1(2α))) minus the same proxy on the sample spectrum the data would show:
    the d quantiles (k + ½)/d, k = 0 … d − 1, of the Marchenko–Pastur law with ratio γ = d/(n − 1)
    and variance σ² (zeros for the atom when d > n − 1).

    Notes
    -----
    The proxy is concave in the eigenvalues (log1p), so spreading them at fixed trace lowers it:
    computed on a sample spectrum it sits *below* its population value. For N(0, I) this matches
    the mean shift over simulated datasets to 1–2% (n = 200–500, d = 24–200; e.g. 0.0124 at
    n = d = 200, 0.0047 at n = 500, d = 64). For anisotropic spectra it is a size, not a correction:
    the spreading of each eigenvalue depends on the whole population spectrum.
    """
    from .collapse import collapse_time_from_alpha, collapse_time_spectral
    from .rmt.marchenko_pastur import MarchenkoPastur

    n, d = _nd(n, d)
    sigma2 = _sigma2(sigma2)
    check_memory("d", d, 8.0 * 4 * d, what="the d quantiles of the Marchenko–Pastur law, a few float64 each")
    try:
        law = MarchenkoPastur(ratio=_ratio(n, d), variance=sigma2)
    except RegimesError as exc:  # its "variance" / "ratio" are sigma2 and d/(n − 1) here
        raise RegimesError(f"sigma2={sigma2:g}, n={n}, d={d}: {exc}") from None
    lam = np.asarray(law.ppf((np.arange(d) + 0.5) / d), dtype=float)
    return collapse_time_from_alpha(math.log(n) / d, sigma2) - collapse_time_spectral(lam, n, d)


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
    A σ̂² at or below :data:`NOISE_RTOL` × Λ is numerically zero (a rank-deficient spectrum, e.g.
    duplicated rows, whose median eigenvalue is rounding error): a :class:`RegimesError` says the
    noise floor is not assessable, as for σ̂² <= 0.

    ``detectable`` is ``(Λ − μ)/s > 2.02`` with (μ, s) the Tracy–Widom centring and scale of pure
    noise at level σ̂² (a 1% false-alarm rate under the flat-noise model); ``population`` the
    debiased spike ℓ̂ (NaN when not detectable).
    """
    top = check_real("top", top, ge=0.0)
    g = _ratio(n, d)
    n, d = _nd(n, d)
    if total_variance is not None:
        total_variance = check_real("total_variance", total_variance, ge=0.0)
    if spectrum is not None:
        spectrum = as_real_array("spectrum", spectrum, ndim=1, min_size=1)
    lam = np.sort(spectrum)[::-1] if spectrum is not None else np.array([top])
    if spectrum is not None and (lam.size >= min(d, n - 1) or total_variance is None):  # (too few: an error)
        sigma2, method = noise_level(lam, n, d), "median of the non-zero eigenvalues matched to the MP median"
    elif total_variance is not None:
        sigma2, m = _bulk_mean(lam, float(total_variance), n, d)
        method = f"mean of the bulk: (tr C − the {m} eigenvalues above the edge)/(d − {m})"
    else:
        raise RegimesError("noise_floor needs spectrum= or total_variance=")
    if not sigma2 > 0:
        raise RegimesError(f"noise level σ̂² = {sigma2:.3g} is not positive (degenerate spectrum)")
    if float(top) > 0 and sigma2 <= NOISE_RTOL * float(top):
        raise RegimesError(f"noise level σ̂² = {sigma2:.3g} is numerically zero (<= {NOISE_RTOL:g} × Λ = "
                           f"{NOISE_RTOL * float(top):.3g}): the spectrum is rank-deficient beyond its median "
                           "(e.g. duplicated rows), so the noise floor is not assessable")
    mu, s = tracy_widom_scale(sigma2, n, d)
    edge = noise_edge(sigma2, n, d)
    tw = (float(top) - mu) / s
    det = bool(tw > TW1_Q99)
    return NoiseFloor(sigma2=sigma2, ratio=g, edge=edge, threshold=bbp_threshold(sigma2, n, d), tw_statistic=tw,
                      detectable=det, population=debiased_spike(top, sigma2, n, d) if det else math.nan,
                      n_above_edge=int(np.sum(lam > mu + TW1_Q99 * s)), method=method)
