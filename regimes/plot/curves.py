"""f^e(t)/α, φ_C(t) and φ(t) of a dataset against the theory, with the estimated times marked."""

from __future__ import annotations

import math

import numpy as np

from . import OKABE_ITO as C
from . import panels

__all__ = ["plot_curves"]


def _band(ax, t, y, se, color, label, z=2.0):
    ax.fill_between(t, y - z * se, y + z * se, color=color, alpha=0.25, linewidth=0)
    ax.plot(t, y, color=color, lw=1.8, label=label)


def _vline(ax, x, color, label, style="--"):
    if x is not None and math.isfinite(x):
        ax.axvline(x, color=color, ls=style, lw=1.2, label=label)


def plot_curves(result, *, ax=None):
    """Three stacked panels on a common OU-time axis.

    Parameters
    ----------
    result : AnalysisResult or dict
        From :func:`regimes.analysis.analyze` (or its ``to_dict()``).

    Returns
    -------
    matplotlib.figure.Figure
        (1) f^e(t)/α with a ±2 SE band and the Gaussian REM theory ``max(0, 1 − log1p(σ²/expm1(2t))/(2α))``
        (σ² from the ``gaussian`` estimator); (2) φ_C(t) with the level ½; (3) φ(t) with the level
        0.7752 when labels were given. Vertical lines mark the estimates of t_C and t_S.

    Notes
    -----
    The theory curve is the d → ∞ annealed result [DR]; the measured curve is smooth at finite d.

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """

    r = result.to_dict() if hasattr(result, "to_dict") else result
    cv = r["curves"]
    t = np.asarray(cv["t"], dtype=float)
    a = float(r["alpha"])
    has_phi = cv.get("class_commitment") is not None
    nrow = 3 if has_phi else 2
    fig, axes = panels(ax, nrow, (7.5, 2.6 * nrow + 0.6), rows=False, sharex=True)
    tC = r["t_C"]
    tS = r["t_S"]["value"] if isinstance(r["t_S"], dict) else r["t_S"]
    ref = r.get("reference") or {}

    ax = axes[0]
    fe = np.asarray(cv["excess_entropy"], float) / a
    se = np.asarray(cv["excess_entropy_se"], float) / a
    _band(ax, t, fe, se, C["blue"], "measured f$^e$/α (±2 SE)")
    var = tC["gaussian"].get("variance")
    if var:
        with np.errstate(divide="ignore"):
            th = np.maximum(0.0, 1.0 - 0.5 * np.log1p(var / np.expm1(2 * t)) / a)
        ax.plot(t, th, color=C["black"], ls=":", lw=1.5, label=f"Gaussian theory (σ² = {var:.3g})")
    ax.axhline(0.1, color="0.6", lw=0.8)
    _vline(ax, tC["entropy"]["value"], C["vermillion"], "t$_C$ (f$^e$/α = 0.1)")
    ax.set_ylabel("f$^e$(t) / α")
    ax.set_ylim(-0.05, 1.1)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(f"n = {r['n']}, d = {r['d']}, α = ln n / d = {a:.4g}", fontsize=10, loc="left")

    ax = axes[1]
    _band(ax, t, np.asarray(cv["commitment"], float), np.asarray(cv["commitment_se"], float),
          C["green"], "measured φ$_C$ (±2 SE)")
    ax.axhline(0.5, color="0.6", lw=0.8)
    _vline(ax, tC["commitment"]["value"], C["vermillion"], "t$_C$ (φ$_C$ = ½)")
    if ref.get("t_C") is not None:
        _vline(ax, ref["t_C"], C["black"], "t$_C$ theory", style=":")
    ax.set_ylabel("φ$_C$(t)  (same training point)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(loc="upper right", fontsize=8, frameon=False)

    if has_phi:
        ax = axes[2]
        _band(ax, t, np.asarray(cv["class_commitment"], float),
              np.asarray(cv["class_commitment_se"], float), C["orange"], "measured φ (±2 SE)")
        if ref.get("class_commitment") is not None:
            ax.plot(t, ref["class_commitment"], color=C["black"], ls=":", lw=1.5,
                    label="two-class theory (Gauss–Hermite)")
        cls = r.get("t_S_class") or {}
        level, n_cls = cls.get("level", 0.7752), max(int(cls.get("classes", 2)), 2)
        ax.axhline(level, color="0.6", lw=0.8, label=f"level {level:.4g} ({n_cls} classes)")
        _vline(ax, cls.get("value"), C["purple"], f"t$_S$ (φ = {level:.4g})")
        _vline(ax, tS, C["sky"], "t$_S$ = ½ ln Λ", style="-.")
        ax.set_ylabel("φ(t)  (same class)")
        lo = 1.0 / n_cls  # φ runs from 1/C (t → ∞) to 1
        ax.set_ylim(lo - 0.05 * (1 - lo), 1.0 + 0.05 * (1 - lo))
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    axes[-1].set_xlabel("OU time t  (x$_t$ = e$^{-t}$x$_0$ + √(1−e$^{-2t}$) ξ)")
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig
