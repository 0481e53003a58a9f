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


def _vline(ax, x, color, label, style="--", ci=None):
    """A vertical line at x, and its interval ``ci`` as a shaded band of the same colour (when finite)."""
    if x is not None and math.isfinite(x):
        ax.axvline(x, color=color, ls=style, lw=1.2, label=label)
        lo, hi = ci if ci is not None else (None, None)
        if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi) and hi > lo:
            ax.axvspan(lo, hi, color=color, alpha=0.15, lw=0, label="_nolegend_")


def _ci(e):
    return tuple(e.get("ci") or (None, None)) if isinstance(e, dict) else None


def _missing(x) -> bool:
    return x is None or not math.isfinite(x)


def _legend(ax):
    """The panel's legend, framed, outside the axes on the right: it covers no curve and no line,
    whatever the t axis (a log axis puts the curves and the t_C lines anywhere)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=8, frameon=True,
              framealpha=1.0, edgecolor="0.7")


def _say(ax, text):
    """A legend entry without a line: what is not drawn, and why."""
    ax.plot([], [], " ", label=text)


#: above this ratio of the grid's largest to smallest time the t axis is logarithmic (a grid widened
#: down to t ~ 1e-6 would otherwise squeeze every small time into one stroke at t = 0)
LOG_AXIS_SPAN = 100.0


def _t_S_line(ax, r, tS):
    """t_S = ½ ln Λ with its interval, or a legend entry saying why there is none."""
    _vline(ax, tS, C["sky"], "t$_S$ = ½ ln Λ", style="-.", ci=_ci(r["t_S"]))
    if _missing(tS):
        ev = r.get("eigenvalue") or {}
        lam = ev.get("value") if isinstance(ev, dict) else ev
        why = ("Λ ≤ 1" if not _missing(lam) and lam <= 1 else
               "Λ not detectable" if isinstance(ev, dict) and ev.get("detectable") is False else None)
        _say(ax, "t$_S$ = ½ ln Λ: none" + (f" ({why})" if why else ""))


def plot_curves(result, *, ax=None):
    """Three stacked panels on a common OU-time axis.

    Parameters
    ----------
    result : AnalysisResult or dict
        From :func:`regimes.analysis.analyze` (or its ``to_dict()``).
    ax : sequence of matplotlib Axes, optional
        One Axes per panel (three when labels were given, else two) to draw into; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        (1) f^e(t)/α with a ±2 SE band and the Gaussian REM theory ``max(0, 1 − log1p(σ²/expm1(2t))/(2α))``
        (σ² from the ``gaussian`` estimator); (2) φ_C(t) with the level ½; (3) φ(t) with the level
        0.7752 when labels were given. Vertical lines mark the estimates of t_C (their 95% intervals
        as shaded bands of the same colour) and t_S = ½ ln Λ (on the last panel, when it exists); the
        crossing of φ is drawn as t_S only when it is one — when the analysis flags it (``t_S_class``
        ``valid`` false: Λ not detectable, crossing at or below t_C, ...) it is a grey dotted line
        whose legend says why it is not a speciation time. A time that is missing is said in the
        legend of its panel (a curve that does not cross its level on the grid; no t_S when Λ <= 1 or
        Λ is not detectable); when φ_C = ½ is missing, the t_C the regimes use instead (``regimes_t_C``)
        is drawn on the φ_C panel. The t axis is logarithmic when the grid spans more than a factor
        :data:`LOG_AXIS_SPAN` (e.g. a grid widened down to t ~ 1e-6), linear otherwise. Each panel's
        legend is framed, to the right of the panel, where it covers no data (with your own ``ax``,
        leave room on their right).

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
    fig, axes = panels(ax, nrow, (10.0, 2.6 * nrow + 0.6), rows=False, sharex=True)
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
    _vline(ax, tC["entropy"]["value"], C["vermillion"], "t$_C$ (f$^e$/α = 0.1)", ci=_ci(tC["entropy"]))
    if _missing(tC["entropy"]["value"]):
        _say(ax, "t$_C$ (f$^e$/α = 0.1): not crossed on this time grid")
    ax.set_ylabel("f$^e$(t) / α")
    ax.set_ylim(-0.05, 1.1)
    _legend(ax)
    ax.set_title(f"n = {r['n']}, d = {r['d']}, α = ln n / d = {a:.4g}", fontsize=10, loc="left")

    ax = axes[1]
    _band(ax, t, np.asarray(cv["commitment"], float), np.asarray(cv["commitment_se"], float),
          C["green"], "measured φ$_C$ (±2 SE)")
    ax.axhline(0.5, color="0.6", lw=0.8)
    _vline(ax, tC["commitment"]["value"], C["vermillion"], "t$_C$ (φ$_C$ = ½)", ci=_ci(tC["commitment"]))
    used = (r.get("regimes_t_C") or {}).get("estimator", "commitment")
    if _missing(tC["commitment"]["value"]):
        _say(ax, "t$_C$ (φ$_C$ = ½): not crossed on this time grid")
        if used != "commitment":
            _vline(ax, tC[used]["value"], C["vermillion"], f"t$_C$ used by the regimes ({used})", style="-.",
                   ci=_ci(tC[used]))
    if not has_phi:
        _t_S_line(ax, r, tS)
    if ref.get("t_C") is not None:
        _vline(ax, ref["t_C"], C["black"], "t$_C$ theory", style=":")
    ax.set_ylabel("φ$_C$(t)  (same training point)")
    ax.set_ylim(-0.05, 1.05)
    _legend(ax)

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
        if _missing(cls.get("value")):
            _say(ax, f"φ = {level:.4g}: not crossed on this time grid")
        elif cls.get("valid", True):
            _vline(ax, cls.get("value"), C["purple"], f"t$_S$ (φ = {level:.4g})", ci=_ci(cls))
        else:  # a crossing that is not a speciation time: drawn, with the reason in the legend
            _vline(ax, cls.get("value"), "0.45", f"φ = {level:.4g} crossing: NOT t$_S$ —\n"
                   + "\n".join(x.replace("t_C", "t$_C$") for x in cls.get("invalid_reasons", [])), style=":")
        _t_S_line(ax, r, tS)
        ax.set_ylabel("φ(t)  (same class)")
        lo = 1.0 / n_cls  # φ runs from 1/C (t → ∞) to 1
        ax.set_ylim(lo - 0.05 * (1 - lo), 1.0 + 0.05 * (1 - lo))
        _legend(ax)
    log = t.size and t.min() > 0 and t.max() / t.min() > LOG_AXIS_SPAN
    if log:
        axes[-1].set_xscale("log")  # shared by every panel
    axes[-1].set_xlabel("OU time t  (x$_t$ = e$^{-t}$x$_0$ + √(1−e$^{-2t}$) ξ)" + ("; log scale" if log else ""))
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig
