"""Phase-diagram data (numpy only; the pictures are in :mod:`regimes.plot.phase`).

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._errors import RegimesError
from ._validate import check_int, check_real
from .collapse import collapse_time

__all__ = ["NDPhaseDiagram", "alpha_for_collapse_time", "n_star", "nd_phase_diagram"]


def alpha_for_collapse_time(t_C, variance: float = 1.0) -> float:
    """The α = ln(n)/d at which Gaussian data collapse at ``t_C``.

    Notes
    -----
    Inverse of ``t_C = ½ log1p(σ²/expm1(2α))``: ``α* = ½ log1p(σ²/expm1(2 t_C))`` (the map is an
    involution for σ² = 1).
    """
    t = check_real("t_C", t_C, gt=0.0)
    var = check_real("variance", variance, gt=0.0)
    return 0.5 * math.log1p(var / math.expm1(2.0 * t))


def n_star(d, t_C, variance: float = 1.0):
    """Number of training points needed to push collapse down to ``t_C``: ``n*(d) = e^{α* d}``.

    ``ln n* = α* d`` is linear in d — the curse of dimensionality. The result overflows to ``inf``
    beyond the float range (``α* d > 709``); use ``alpha_for_collapse_time(t_C) * d`` for ``ln n*``.
    """
    a = alpha_for_collapse_time(t_C, variance)
    d_arr = np.asarray(d, dtype=float)
    with np.errstate(over="ignore"):
        out = np.exp(a * d_arr)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class NDPhaseDiagram:
    """Gridded (n, d) phase-diagram data for Gaussian / two-class-mixture data.

    Attributes
    ----------
    d, n : ndarray
        Grid axes (log-spaced).
    t_C : ndarray, shape (len(n), len(d))
        Collapse time of N(0, σ²I) data (within-class σ² for the mixture).
    t_S : ndarray, shape (len(d),) or None
        Speciation time ½ ln Λ along d (Λ = d m̃² + σ² for a separation m̃, or a fixed Λ).
    regime_II_width : ndarray or None
        ``t_S - t_C`` where positive (Regime II exists), NaN elsewhere.
    target : float
        The t_C level of the n*(d) curve; ``log10_n_star`` its log10 n along ``d``.
    """

    d: np.ndarray
    n: np.ndarray
    t_C: np.ndarray
    t_S: np.ndarray | None
    regime_II_width: np.ndarray | None
    target: float
    log10_n_star: np.ndarray
    variance: float
    separation: float | None
    eigenvalue: float | None

    def to_dict(self) -> dict:
        out = {"d": self.d, "n": self.n, "t_C": self.t_C, "target_t_C": self.target,
               "log10_n_star": self.log10_n_star, "variance": self.variance,
               "separation": self.separation, "eigenvalue": self.eigenvalue}
        if self.t_S is not None:
            out["t_S"] = self.t_S
            out["regime_II_width"] = self.regime_II_width
        return out


def nd_phase_diagram(
    d_range=(1.0, 1e4),
    n_range=(10.0, 1e12),
    points: int = 121,
    variance: float = 1.0,
    separation: float | None = None,
    eigenvalue: float | None = None,
    target: float = 0.5,
) -> NDPhaseDiagram:
    """t_C over the (n, d) plane, the n*(d) curve of a target t_C, and the Regime-II window.

    Parameters
    ----------
    d_range, n_range : (float, float)
        Ranges of the log-spaced axes (d >= 1, n >= 2).
    points : int
        Grid points per axis (>= 2).
    variance : float
        σ² (within-class variance for a mixture).
    separation : float, optional
        Two-class mixture m̃: then Λ = d m̃² + σ² grows with d.
    eigenvalue : float, optional
        A fixed Λ instead (e.g. a dataset's measured value). At most one of the two.
    target : float
        The t_C level whose n*(d) curve is returned.

    Notes
    -----
    ``t_C = ½ log1p(σ²/expm1(2 ln n/d))``; ``n*(d) = exp(α* d)`` with
    ``α* = ½ log1p(σ²/expm1(2 t*))``; Regime II exists where ``t_C < t_S = ½ ln Λ`` [DR].
    """
    pts = check_int("points", points, ge=2)
    d0, d1 = (check_real("d_range[0]", d_range[0], ge=1.0), check_real("d_range[1]", d_range[1], ge=1.0))
    n0, n1 = (check_real("n_range[0]", n_range[0], ge=2.0), check_real("n_range[1]", n_range[1], ge=2.0))
    if d1 <= d0:
        raise RegimesError(f"d_range must be increasing, got {tuple(d_range)!r}")
    if n1 <= n0:
        raise RegimesError(f"n_range must be increasing, got {tuple(n_range)!r}")
    var = check_real("variance", variance, gt=0.0)
    tgt = check_real("target", target, gt=0.0)
    if separation is not None and eigenvalue is not None:
        raise RegimesError("give at most one of separation and eigenvalue")
    d = np.geomspace(d0, d1, pts)
    n = np.geomspace(n0, n1, pts)
    tC = collapse_time(n[:, None], d[None, :], var)
    t_S = width = None
    sep = lam = None
    if separation is not None:
        sep = check_real("separation", separation, gt=0.0)
        lam_d = d * sep**2 + var
    elif eigenvalue is not None:
        lam = check_real("eigenvalue", eigenvalue, gt=0.0)
        lam_d = np.full_like(d, lam)
    else:
        lam_d = None
    if lam_d is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            t_S = np.where(lam_d > 1.0, 0.5 * np.log(np.where(lam_d > 1.0, lam_d, 1.0)), np.nan)
            w = t_S[None, :] - tC
        width = np.where(w > 0, w, np.nan)
    a_star = alpha_for_collapse_time(tgt, var)
    return NDPhaseDiagram(d=d, n=n, t_C=tC, t_S=t_S, regime_II_width=width, target=tgt,
                          log10_n_star=a_star * d / math.log(10.0), variance=var,
                          separation=sep, eigenvalue=lam)
