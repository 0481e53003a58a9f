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
    "half_log1p_ratio",
    "log_expm1",
    "log_half_log1p_ratio",
]


def _nd(n, d):
    n_arr = as_real_array("n", n, ge=2.0)
    d_arr = as_real_array("d", d, ge=1.0)
    return n_arr, d_arr


def softplus(u):
    """``ln(1 + e^u)`` without overflow: ``max(u, 0) + log1p(e^{−|u|})`` (arrays or scalars)."""
    return np.maximum(u, 0.0) + np.log1p(np.exp(-np.abs(u)))


def log_expm1(x):
    """``ln(e^x − 1)`` for ``x >= 0`` without overflow: ``x + log1p(−e^{−x})`` above 40.

    Parameters
    ----------
    x : float or array_like
        ``x >= 0``; ``x = 0`` gives ``-inf``.

    Returns
    -------
    float or ndarray

    Notes
    -----
    ``ln expm1(x)`` is evaluated directly for ``x <= 40`` (``expm1`` keeps full relative precision
    down to subnormal x) and as ``x + log1p(−e^{−x})`` above, where ``expm1(x)`` would overflow
    beyond ``x ≈ 709.78``. Valid over the whole float range (``x = +inf`` gives ``+inf``).
    """
    return _log_expm1(as_real_array("x", x, ge=0.0, allow_inf=True))


def _log_expm1(x):
    """:func:`log_expm1` of validated ``x`` (no checks: the internal callers pass finite ``x >= 0``)."""
    xx = np.asarray(x, dtype=np.float64)
    big = xx > 40.0
    with np.errstate(divide="ignore", over="ignore"):
        out = np.where(big, xx + np.log1p(-np.exp(-np.where(big, xx, 41.0))),
                       np.log(np.expm1(np.where(big, 0.0, xx))))
    return float(out) if out.ndim == 0 else out


def half_log1p_ratio(variance, x):
    """``½ log1p(σ²/expm1(2x))`` for ``σ² > 0``, ``x >= 0``, over the whole float range.

    The map shared by :func:`collapse_time` (``x = α``) and :func:`alpha_for_collapse_time`
    (``x = t_C``). Broadcasts.

    Parameters
    ----------
    variance : float or array_like
        σ² > 0.
    x : float or array_like
        ``x >= 0`` (``x = 0`` gives ``+inf``).

    Returns
    -------
    float or ndarray

    Notes
    -----
    Direct form ``½ log1p(σ²/expm1(2x))`` (full relative precision) wherever ``expm1(2x)`` and
    the quotient are finite and non-zero. Elsewhere (``expm1(2x)`` overflows for
    ``x > 354.89``, or ``σ²/expm1(2x)`` over- or underflows although the result is representable)
    it is evaluated in logs: with ``L = ln σ² − ln expm1(2x)`` (:func:`log_expm1`),
    ``½ log1p(e^L) = ½ (max(L, 0) + log1p(e^{−|L|}))``. The result then carries the
    conditioning error of ``e^L``, about ``ε·(|ln σ²| + 2x)`` relative. It underflows to 0 only
    where ``½ e^L`` is below the smallest subnormal.
    """
    var = as_real_array("variance", variance, gt=0.0)
    xx = as_real_array("x", x, ge=0.0, allow_inf=True)
    try:
        np.broadcast_shapes(var.shape, xx.shape)
    except ValueError:
        raise RegimesError(f"variance and x must broadcast together, got shapes {var.shape} and {xx.shape}") from None
    return _half_log1p_ratio(var, xx)


def _half_log1p_ratio(variance, x):
    """:func:`half_log1p_ratio` of validated inputs (no checks: the internal callers validate)."""
    var = np.asarray(variance, dtype=np.float64)
    xx = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", divide="ignore", under="ignore", invalid="ignore"):
        em1 = np.expm1(2.0 * xx)
        ratio = var / em1
        out = 0.5 * np.log1p(ratio)
        logs = ~np.isfinite(em1) | ~np.isfinite(ratio) | (ratio == 0.0)
        if np.any(logs):
            big_l = np.log(var) - _log_expm1(2.0 * xx)
            soft = 0.5 * softplus(big_l)
            out = np.where(logs, soft, out)
    return float(out) if out.ndim == 0 else out


def log_half_log1p_ratio(variance, x):
    """``ln(½ log1p(σ²/expm1(2x)))``: the log of :func:`half_log1p_ratio`, finite where it underflows.

    Parameters
    ----------
    variance : float
        σ² > 0.
    x : float
        ``x >= 0``.

    Returns
    -------
    float

    Notes
    -----
    With ``L = ln σ² − ln expm1(2x)``: for ``L < −40``, ``ln(½ log1p(e^L)) = L − ln 2 + O(e^L)``
    (the correction is below 1e-17); otherwise the log of :func:`half_log1p_ratio`. Used for
    ``d = ln n / α`` when α is subnormal or underflows (scalar inputs).
    """
    var = check_real("variance", variance, gt=0.0)
    xx = check_real("x", x, ge=0.0)
    big_l = math.log(var) - _log_expm1(2.0 * xx)
    if big_l < -40.0:
        return big_l - math.log(2.0)
    return math.log(_half_log1p_ratio(var, xx))


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
    relative precision for α → 0 (d ≫ ln n) and α → ∞. Where ``expm1(2α)`` or the quotient
    over- or underflows (α > 354.89, or extreme σ²) it is evaluated in logs
    (:func:`half_log1p_ratio`): e.g. ``n = 10^300, d = 1, σ² = 10^300`` gives 5.0e-301, not 0.

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
    out = np.asarray(_half_log1p_ratio(var, a))
    return float(out) if out.ndim == 0 else out


def collapse_time_from_alpha(alpha, variance=1.0):
    """Collapse time ``½ log1p(σ²/expm1(2α))`` as a function of ``α = ln(n)/d > 0`` directly."""
    a = as_real_array("alpha", alpha, gt=0.0)
    var = as_real_array("variance", variance, gt=0.0)
    out = np.asarray(_half_log1p_ratio(var, a))
    return float(out) if out.ndim == 0 else out


def alpha_for_collapse_time(t_C, variance: float = 1.0) -> float:
    """``α = ln(n)/d`` at which ``N(0, σ²I)`` data collapse at ``t_C`` (exact inverse of :func:`collapse_time`).

    Notes
    -----
    ``t_C = ½ log1p(σ²/expm1(2α))`` gives ``expm1(2α) = σ²/expm1(2 t_C)``, hence
    ``α = ½ log1p(σ²/expm1(2 t_C))`` — the same map with α and t_C exchanged (an involution for
    σ² = 1), evaluated by :func:`half_log1p_ratio`: expm1/log1p where nothing over- or
    underflows (full relative precision for small and large t_C), in logs elsewhere, so it is
    valid over the whole float range of t_C and σ². Limits: ``α ≈ ½ ln(σ²/(2 t_C))`` as
    ``t_C → 0`` (e.g. t_C = 1e-300, σ² = 1e10: α = 356.554), ``α ≈ ½ σ² e^{−2 t_C}`` as
    ``t_C → ∞`` (t_C = 354.5, σ² = 1e10: α = 6.084e-299); α underflows to 0 only where
    ``½ σ² e^{−2 t_C}`` is below the smallest subnormal (about 4.9e-324).
    """
    t = check_real("t_C", t_C, gt=0.0)
    var = check_real("variance", variance, gt=0.0)
    if t < 354.0:  # math.expm1/log1p: the same bits as before the log-space fallback existed
        ratio = var / math.expm1(2.0 * t)  # inf or 0 (over/underflow): evaluated in logs below
        if 0.0 < ratio < math.inf:
            return 0.5 * math.log1p(ratio)
    return _half_log1p_ratio(var, t)


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
    tt = as_real_array("t", t, ge=0.0) + 0.0  # (−0.0 → +0.0: expm1(−0.0) = −0.0 would give NaN)
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
    The lower end of the bracket comes from Jensen's inequality with the mean eigenvalue
    ``λ̄ = Σλ_i/d`` (``(1/d) Σ log1p(λ_i x) <= log1p(λ̄ x)``, so ``x >= expm1(2α)/λ̄``), the upper
    end from keeping only the largest eigenvalue (``(1/d) Σ log1p(λ_i x) >= log1p(λ_max x)/d``, so
    ``x <= (n² − 1)/λ_max``): the root is always bracketed. Everything is evaluated in logs
    (``log1p(λ e^{ln x})`` as a softplus, ``ln(n² − 1) = 2 ln n + log1p(−n^{−2})``), so any
    float ``n`` works, e.g. ``n = 10^300``. For ``λ_i = σ²`` for all i it reduces to
    :func:`collapse_time`.
    """
    from scipy.optimize import brentq  # imported here: keeps `import regimes` free of scipy (~0.3 s)

    lam, dim = _spectrum(eigenvalues, d)
    n_v = check_real("n", n, ge=2.0)
    a = np.log(n_v) / dim
    lam_max = float(lam.max())
    with np.errstate(over="ignore"):
        total = float(lam.sum())
    if not math.isfinite(total):
        raise RegimesError(f"eigenvalues must sum to a finite float64 (their sum overflows: the largest is "
                           f"{lam_max:.4g}); rescale the spectrum")
    lam_mean = total / dim

    log_lam = np.log(lam[lam > 0])  # λ = 0 adds log1p(0) = 0

    def g(logx):
        u = log_lam + logx  # log1p(λ e^{ln x}) = softplus(u), no overflow of e^u
        return np.sum(softplus(u)) / (2.0 * dim) - a

    # Jensen: (1/d)Σ log1p(λ x) <= log1p(mean λ · x)  ⇒  root x >= expm1(2α)/mean λ
    lo = _log_expm1(2.0 * a) - math.log(lam_mean)
    # one eigenvalue only: (1/d)Σ log1p(λ x) >= log1p(λ_max x)/d  ⇒  root x <= (n² − 1)/λ_max
    ln_n = math.log(n_v)
    hi = 2.0 * ln_n + math.log1p(-math.exp(-2.0 * ln_n)) - math.log(lam_max)
    lo, hi = lo - 1e-9 * (1 + abs(lo)), hi + 1e-9 * (1 + abs(hi))
    with np.errstate(all="ignore"):
        bracketed = math.isfinite(lo) and math.isfinite(hi) and g(lo) < 0.0 < g(hi)
    if not bracketed:  # only where float64 runs out: 2d overflows, α = ln n/d or λ̄ = Σλ/d are subnormal
        who = "d" if d is not None else "eigenvalues"
        raise RegimesError(f"{who} is out of the range where the spectral collapse time is computable in float64: "
                           f"d = {dim:.4g}, α = ln(n)/d = {a:.4g}, mean eigenvalue Σλ/d = {lam_mean:.4g} "
                           "(the root of the excess entropy is not bracketed); use a smaller d or rescale the spectrum")
    logx = brentq(g, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    # t = ½ log1p(1/x)
    return float(0.5 * np.log1p(np.exp(-logx)))
