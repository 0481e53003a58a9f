"""Speciation: the time at which the backward process commits to a class.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491, Nature Communications 15:9957 (2024), Sec. "Speciation".
"""

from __future__ import annotations

import warnings

import numpy as np

from ._errors import RegimesWarning
from ._quadrature import gauss_hermite_normal, gauss_legendre
from ._validate import as_real_array, check_int, check_real

__all__ = [
    "cloning_probability",
    "speciation_time",
    "speciation_time_linear",
    "speciation_times",
]


def _no_speciation(mask: np.ndarray, what: str) -> None:
    if np.any(mask):
        count = "" if mask.ndim == 0 else f" ({int(mask.sum())} of {mask.size} entries)"
        warnings.warn(
            f"no speciation for {what}{count} (t_S <= 0): returned NaN", RegimesWarning, stacklevel=3
        )


def speciation_time(eigenvalue):
    """Speciation time ``t_S = ½ ln Λ`` from the largest covariance eigenvalue Λ.

    Parameters
    ----------
    eigenvalue : float or array_like
        Λ, the largest eigenvalue of the data covariance, in the model's data units; ``Λ > 0``.

    Returns
    -------
    float or ndarray
        ``t_S``; NaN (with a :class:`RegimesWarning`) where ``Λ <= 1``: then the signal never
        exceeds the stationary noise and there is no speciation time.

    Notes
    -----
    ``t_S`` solves ``Λ e^{-2 t_S} = 1``: the variance of the noised data along the top principal
    direction, signal part, equals the stationary noise [DR]. Rescaling the data by ``c`` shifts
    ``t_S`` by ``ln c``.

    References
    ----------
    .. [DR] arXiv:2402.18491, Eq. for t_S = ½ log Λ.
    """
    lam = as_real_array("eigenvalue", eigenvalue, gt=0.0)
    none = lam <= 1.0
    _no_speciation(none, "eigenvalue <= 1")
    with np.errstate(divide="ignore"):
        t = np.where(none, np.nan, 0.5 * np.log(np.where(none, 2.0, lam)))
    return float(t) if lam.ndim == 0 else t


def speciation_time_linear(eigenvalue):
    """Linear-instability speciation time ``½ ln(Λ - 1)``.

    Notes
    -----
    In the Gaussian approximation the backward drift along an eigen-direction with variance λ is
    unstable for ``t < ½ ln(λ - 1)``; this differs from ``½ ln λ`` by ``O(1/λ)``. NaN (with a
    warning) where ``Λ <= 2`` (the threshold would be at ``t <= 0``).
    """
    lam = as_real_array("eigenvalue", eigenvalue, gt=0.0)
    none = lam <= 2.0
    _no_speciation(none, "eigenvalue <= 2 in the linear-instability variant")
    t = np.where(none, np.nan, 0.5 * np.log(np.where(none, 3.0, lam) - 1.0))
    return float(t) if lam.ndim == 0 else t


def speciation_times(eigenvalues) -> np.ndarray:
    """The hierarchy of commitment times ``t_k = ½ ln λ_k`` for every eigenvalue ``λ_k > 1``.

    Parameters
    ----------
    eigenvalues : array_like, 1-D
        Covariance eigenvalues ``>= 0`` (any order).

    Returns
    -------
    ndarray
        The times sorted from the earliest in the backward process (largest t, coarsest
        structure) to the latest; one per eigenvalue ``> 1``, so possibly fewer than given.

    Warns
    -----
    RegimesWarning
        When eigenvalues ``<= 1`` were given: they have no commitment time (``t <= 0``) and are
        dropped, not returned as NaN (the result is a ranked list); the message gives how many.
        Silence it with ``warnings.simplefilter("ignore", regimes.RegimesWarning)`` inside
        ``warnings.catch_warnings()`` when passing a whole spectrum on purpose.
    """
    lam = as_real_array("eigenvalues", eigenvalues, ge=0.0, ndim=1)
    keep = lam > 1.0
    dropped = int(lam.size - keep.sum())
    if dropped:
        warnings.warn(
            f"no speciation for {dropped} of {lam.size} eigenvalues (<= 1, t_S <= 0): dropped from "
            f"the hierarchy, {lam.size - dropped} commitment time(s) returned",
            RegimesWarning,
            stacklevel=2,
        )
    lam = np.sort(lam[keep])[::-1]
    return 0.5 * np.log(lam)


def cloning_probability(t, norm_m, variance: float = 1.0, order: int = 200):
    """Probability that two clones of the backward dynamics branched at ``t`` end in the same class.

    Two-class mixture ``½N(m, σ²I) + ½N(-m, σ²I)``.

    Parameters
    ----------
    t : float or array_like
        OU time(s) ``t >= 0``.
    norm_m : float
        ``|m|`` (for ``|m|² = d m̃²`` pass ``sqrt(d) * m̃``).
    variance : float
        Within-class variance σ².
    order : int
        Gauss–Hermite order.

    Notes
    -----
    ``φ(t) = E_{z~N(0,1)}[(1 + tanh²(r² + r z))/2]``, ``r = |m| e^{-t}/√Γ_t``,
    ``Γ_t = Δ_t + σ² e^{-2t}`` [DR]. Evaluated by quadrature (the ratio-of-Gaussians form
    underflows for large r; see :func:`cloning_probability_r`). ``φ = ½`` at r = 0, → 1 as r → ∞.
    Reference values φ(r): r = 0.5 → 0.602027, r = 1 → 0.775200, r = 2 → 0.965701.
    """
    tt = as_real_array("t", t, ge=0.0)
    norm_m = check_real("norm_m", norm_m, ge=0.0)
    variance = check_real("variance", variance, gt=0.0)
    order = check_int("order", order, ge=2, le=10_000)
    gamma = -np.expm1(-2.0 * tt) + variance * np.exp(-2.0 * tt)
    r = norm_m * np.exp(-tt) / np.sqrt(gamma)
    out = cloning_probability_r(r, order)
    return float(out) if tt.ndim == 0 else out


def cloning_probability_r(r, order: int = 200):
    """φ as a function of the signal-to-noise ratio ``r >= 0`` (see :func:`cloning_probability`).

    Notes
    -----
    ``φ = 1 - ½ E_z[sech²(r² + r z)]``. For ``r < 1`` the integrand is smooth on the scale of the
    Gaussian (its complex poles sit at distance π/(2r) > 1.5 from the real axis) and probabilists'
    Gauss–Hermite quadrature in ``z`` converges fast. For ``r >= 1`` the sech² bump has width
    ``1/r``, which Gauss–Hermite resolves poorly, so the expectation is rewritten in
    ``u = r² + r z``: ``E = ∫ sech²(u) N((u - r²)/r)/r du``, integrated by Gauss–Legendre on
    ``|u| <= 40`` (sech² < 1e-33 beyond). Both branches agree with mpmath to ~1e-13.
    """
    r = np.asarray(r, dtype=np.float64)
    small = r < 1.0
    out = np.empty(r.shape, dtype=np.float64)
    if np.any(small):
        x, w = gauss_hermite_normal(order)
        rr = r[small][..., None]
        out[small] = 1.0 - 0.5 * ((1.0 / np.cosh(rr * rr + rr * x)) ** 2 @ w)
    if np.any(~small):
        u, wu = gauss_legendre(640, 40.0)  # |u| <= 40
        rr = r[~small][..., None]
        z = (u - rr * rr) / rr
        dens = np.exp(-0.5 * z * z) / (np.sqrt(2.0 * np.pi) * rr)
        out[~small] = 1.0 - 0.5 * (((1.0 / np.cosh(u)) ** 2 * dens) @ wu)
    return out if out.ndim else float(out)
