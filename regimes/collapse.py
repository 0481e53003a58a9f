"""Collapse: the time below which backward trajectories fall onto single training points.

With ``n`` training points in dimension ``d`` and ``α = ln(n)/d``, the exactly learned (empirical)
score makes the backward process collapse onto the training set for ``t < t_C`` (Regime III).

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491, Nature Communications 15:9957 (2024), Sec. "Collapse".
"""

from __future__ import annotations

import math

import numpy as np

from ._errors import RegimesError
from ._validate import as_real_array, check_real

__all__ = [
    "alpha",
    "alpha_for_collapse_time",
    "collapse_time",
    "collapse_time_from_alpha",
    "collapse_time_large_alpha",
    "collapse_time_small_alpha",
    "collapse_time_spectral",
    "excess_entropy",
    "excess_entropy_spectral",
]


def _nd(n, d):
    n_arr = as_real_array("n", n, ge=2.0)
    d_arr = as_real_array("d", d, ge=1.0)
    return n_arr, d_arr


def alpha(n, d):
    """``α = ln(n)/d``, the log number of training points per dimension."""
    n_arr, d_arr = _nd(n, d)
    out = np.log(n_arr) / d_arr
    return float(out) if out.ndim == 0 else out


def collapse_time(n, d, variance=1.0):
    """Collapse time of Gaussian data ``N(0, σ² I_d)`` with ``n`` training points.

    Parameters
    ----------
    n : float or array_like
        Number of training points, ``n >= 2`` (real values allowed, e.g. ``1e15``).
    d : float or array_like
        Dimension, ``d >= 1``.
    variance : float or array_like
        σ², per-coordinate variance (for a mixture: the within-class variance), ``> 0``.

    Returns
    -------
    float or ndarray
        ``t_C`` (OU time).

    Notes
    -----
    ``t_C = ½ ln(1 + σ²/(n^{2/d} - 1)) = ½ log1p(σ² / expm1(2α))``, ``α = ln(n)/d`` [DR]. The
    second form is what is evaluated: ``n^{2/d} - 1`` is never formed, so the result keeps full
    relative precision for α → 0 (d ≫ ln n) and α → ∞.

    Few data (α small) make ``t_C`` *large*: collapse happens early in the backward process and
    the model memorises. Avoiding collapse requires ``n`` exponential in ``d``.

    Reference values (σ² = 1): α = 0.01 → 1.961003, α = 0.1 → 0.853886, α = 1 → 0.072707;
    n = 20000, d = 1024 → 1.977547.

    References
    ----------
    .. [DR] arXiv:2402.18491, collapse time of Gaussian data (REM/condensation argument).
    """
    n_arr, d_arr = _nd(n, d)
    var = as_real_array("variance", variance, gt=0.0)
    a = np.log(n_arr) / d_arr
    with np.errstate(over="ignore"):
        out = 0.5 * np.log1p(var / np.expm1(2.0 * a))
    return float(out) if out.ndim == 0 else out


def collapse_time_from_alpha(alpha, variance=1.0):
    """Collapse time ``½ log1p(σ²/expm1(2α))`` as a function of ``α = ln(n)/d > 0`` directly."""
    a = as_real_array("alpha", alpha, gt=0.0)
    var = as_real_array("variance", variance, gt=0.0)
    with np.errstate(over="ignore"):
        out = 0.5 * np.log1p(var / np.expm1(2.0 * a))
    return float(out) if out.ndim == 0 else out


def alpha_for_collapse_time(t_C, variance: float = 1.0) -> float:
    """``α = ln(n)/d`` at which ``N(0, σ²I)`` data collapse at ``t_C`` (exact inverse of :func:`collapse_time`).

    Notes
    -----
    ``t_C = ½ log1p(σ²/expm1(2α))`` gives ``expm1(2α) = σ²/expm1(2 t_C)``, hence
    ``α = ½ log1p(σ²/expm1(2 t_C))`` — the same map with α and t_C exchanged (an involution for
    σ² = 1), evaluated with expm1/log1p (full relative precision for small and large t_C).
    ``α → 0`` (underflow) for ``t_C ≳ 354``, where ``expm1(2 t_C)`` overflows.
    """
    t = check_real("t_C", t_C, gt=0.0)
    var = check_real("variance", variance, gt=0.0)
    em1 = math.expm1(2.0 * t) if t < 354.0 else math.inf
    return 0.5 * math.log1p(var / em1)


def collapse_time_small_alpha(n, d, variance=1.0):
    """Asymptotic form ``t_C ≈ ½ ln(σ²/(2α))`` valid as ``α = ln(n)/d → 0``.

    Notes
    -----
    Leading term of ``½ log1p(σ²/expm1(2α))`` for ``α → 0``; the relative correction is
    ``O(α/ln(1/α))``. An asymptotic form, not the finite-α answer: use :func:`collapse_time`.
    """
    n_arr, d_arr = _nd(n, d)
    var = as_real_array("variance", variance, gt=0.0)
    out = 0.5 * np.log(var / (2.0 * np.log(n_arr) / d_arr))
    return float(out) if out.ndim == 0 else out


def collapse_time_large_alpha(n, d, variance=1.0):
    """Asymptotic form ``t_C ≈ ½ σ² e^{-2α}`` valid as ``α = ln(n)/d → ∞``.

    Notes
    -----
    Leading term of ``½ log1p(σ²/expm1(2α))`` for ``α → ∞``; relative corrections
    ``O(e^{-2α}(1 + σ²))``. An asymptotic form, not the finite-α answer.
    """
    n_arr, d_arr = _nd(n, d)
    var = as_real_array("variance", variance, gt=0.0)
    out = 0.5 * var * np.exp(-2.0 * np.log(n_arr) / d_arr)
    return float(out) if out.ndim == 0 else out


def excess_entropy(t, n, d, variance=1.0):
    """Excess entropy per dimension ``f(t)`` of Gaussian data (annealed/REM result).

    Notes
    -----
    ``f(t) = max(0, α - ½ ln(1 + σ² e^{-2t}/Δ_t))`` with ``Δ_t = 1 - e^{-2t}``, evaluated as
    ``α - ½ log1p(σ²/expm1(2t))``. ``f → α`` as ``t → ∞``, vanishes for ``t <= t_C`` [DR].
    Broadcasts over ``t``, ``n``, ``d`` and ``variance``.
    """
    tt = as_real_array("t", t, ge=0.0)
    n_arr, d_arr = _nd(n, d)
    var = as_real_array("variance", variance, gt=0.0)
    a = np.log(n_arr) / d_arr
    with np.errstate(divide="ignore"):
        out = np.maximum(0.0, a - 0.5 * np.log1p(var / np.expm1(2.0 * tt)))
    return float(out) if out.ndim == 0 else out


def _spectrum(eigenvalues, d):
    lam = as_real_array("eigenvalues", eigenvalues, ndim=1, min_size=1)
    scale = float(np.max(np.abs(lam)))
    if np.any(lam < -1e-10 * max(scale, 1.0)):
        raise RegimesError(
            f"eigenvalues must be >= 0 (a covariance spectrum), got an entry {float(lam.min())!r}"
        )
    lam = np.clip(lam, 0.0, None)
    if not np.any(lam > 0):
        raise RegimesError("eigenvalues must contain at least one positive value")
    if d is None:
        dim = float(lam.size)
    else:
        dim = check_real("d", d, ge=1.0)
        if dim < lam.size:
            raise RegimesError(
                f"d must be >= the number of eigenvalues given ({lam.size}), got {dim:g}"
            )
    return lam, dim


def excess_entropy_spectral(t, eigenvalues, n, d=None):
    """Anisotropic (annealed REM) excess entropy from a covariance spectrum.

    Notes
    -----
    ``f(t) = max(0, α - (1/2d) Σ_i ln(1 + λ_i e^{-2t}/Δ_t))`` with ``α = ln(n)/d``. When ``d`` is
    larger than the number of eigenvalues given, the missing eigenvalues are taken as 0 (e.g. only
    the top of the spectrum of a low-rank dataset is known).
    """
    lam, dim = _spectrum(eigenvalues, d)
    n_v = check_real("n", n, ge=2.0)
    tt = as_real_array("t", t, ge=0.0)
    a = np.log(n_v) / dim
    with np.errstate(divide="ignore", invalid="ignore"):
        x = 1.0 / np.expm1(2.0 * tt.ravel())
        s = np.array([np.sum(np.log1p(lam * xi)) if np.isfinite(xi) else np.inf for xi in x])
    out = np.maximum(0.0, a - s / (2.0 * dim)).reshape(tt.shape)
    return float(out) if out.ndim == 0 else out


def collapse_time_spectral(eigenvalues, n, d=None):
    """Collapse time of the anisotropic spectral proxy: the zero of :func:`excess_entropy_spectral`.

    Parameters
    ----------
    eigenvalues : array_like
        Covariance eigenvalues λ_i >= 0 (all d of them, or the top ones with ``d`` given).
    n : float
        Number of training points, ``>= 2``.
    d : float, optional
        Dimension; defaults to ``len(eigenvalues)``.

    Notes
    -----
    Solves ``α = (1/2d) Σ_i log1p(λ_i x)``, ``x = 1/expm1(2t)``, by Brent's method in ``ln x``.
    The left side of the bracket comes from keeping only the largest eigenvalue
    (``x ≥ (n² - 1)/λ_max``), the right one from Jensen's inequality with the mean eigenvalue
    (``x ≤ expm1(2α)^{-1}·…``), so the root is always bracketed. For ``λ_i = σ²`` for all i it
    reduces to :func:`collapse_time`.
    """
    from scipy.optimize import brentq  # imported here: keeps `import regimes` free of scipy (~0.3 s)

    lam, dim = _spectrum(eigenvalues, d)
    n_v = check_real("n", n, ge=2.0)
    a = np.log(n_v) / dim
    lam_max = float(lam.max())
    lam_mean = float(lam.sum() / dim)

    def g(logx):
        return np.sum(np.log1p(lam * np.exp(logx))) / (2.0 * dim) - a

    # Jensen: (1/d)Σ log1p(λ x) <= log1p(mean λ · x)  ⇒  root x >= expm1(2α)/mean λ
    lo = np.log(np.expm1(2.0 * a)) - np.log(lam_mean)
    # one eigenvalue only: (1/d)Σ log1p(λ x) >= log1p(λ_max x)/d  ⇒  root x <= expm1(2αd)/λ_max
    hi = 2.0 * np.log(n_v) + np.log1p(-1.0 / n_v**2) - np.log(lam_max)
    lo, hi = lo - 1e-9 * (1 + abs(lo)), hi + 1e-9 * (1 + abs(hi))
    logx = brentq(g, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    # t = ½ log1p(1/x)
    return float(0.5 * np.log1p(np.exp(-logx)))
