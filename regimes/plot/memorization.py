"""Figures of the memorisation audit and of U-turns; each returns a matplotlib ``Figure``."""

from __future__ import annotations

import math

import numpy as np

from ..data.source import DataSource
from . import OKABE_ITO as C
from . import panels

__all__ = ["plot_closest_pairs", "plot_ratio_histogram", "plot_uturn"]


def _figure(**kw):
    from matplotlib.figure import Figure

    return Figure(**kw)


def plot_ratio_histogram(audit, bins: int = 50, *, ax=None):
    """Histogram of the ratio d1/d2 of the generated samples, with the reference baseline.

    Parameters
    ----------
    audit : MemorizationAudit
        From :func:`regimes.memorization.memorization_audit`.
    bins : int
        Bins on [0, 1].
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (e.g. a panel of your own figure); its figure is returned.

    Returns
    -------
    matplotlib.figure.Figure
        Density of d1/d2 (generated, and held-out reference when given) with the threshold k
        marked and f_mem in the legend (below the axes, where it hides no bar).
    """
    if ax is None:
        fig = _figure(figsize=(6.4, 4.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    edges = np.linspace(0.0, 1.0, bins + 1)
    g = audit.generated
    ax.hist(g.ratio, bins=edges, density=True, color=C["vermillion"], alpha=0.6,
            label=rf"generated (n = {g.n}): $f_{{\rm mem}}$ = {g.f_mem.value:.3g}{_interval(g.f_mem.ci)}"
                  + _caveat(audit.f_mem_meaningful))
    if audit.reference is not None:
        r = audit.reference
        ax.hist(r.ratio, bins=edges, density=True, histtype="step", lw=1.8, color=C["blue"],
                label=rf"held-out reference (n = {r.n}): $f_{{\rm mem}}$ = {r.f_mem.value:.3g}{_interval(r.f_mem.ci)}"
                      + _caveat(not r.units_mismatch))
        ex = audit.f_mem_excess
        ax.plot([], [], " ", label=f"excess (generated − reference) = {ex.value:.3g}{_interval(ex.ci)}"
                + (" (Newcombe)" if np.isfinite(ex.ci[0]) else "") + _caveat(audit.f_mem_excess_meaningful))
    ax.axvline(audit.threshold, color=C["black"], ls="--", lw=1.2, label=f"k = {audit.threshold:.3g}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("$d_1 / d_2$ (nearest / second-nearest training distance)")
    ax.set_ylabel("density")
    level = f"; intervals {100 * audit.confidence:.3g}%" if audit.bootstrap else ""
    ax.set_title("Ratio test: samples left of k are flagged as near-copies\n(evidence of memorisation: the "
                 f"excess over the held-out baseline{level})", fontsize=9)
    # below the axes: inside, any corner can hide a spike of the histogram (d1/d2 ≈ 0 for copies)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    return fig


def _caveat(ok: bool) -> str:
    return "" if ok else " — NOT MEANINGFUL (units mismatch)"


def _interval(ci) -> str:
    """`` [lo, hi]`` for a finite interval, nothing without one (``bootstrap=0``)."""
    lo, hi = ci
    return f" [{lo:.3g}, {hi:.3g}]" if np.isfinite(lo) and np.isfinite(hi) else ""


def _rows(X, idx):
    """Rows ``idx`` of an array or a source, in the data's own frame (a centred source un-centred)."""
    idx = np.asarray(idx, dtype=np.int64)
    if isinstance(X, DataSource):
        rows = X.take(idx).astype(np.float64)
        return rows + (X.mean if X.center else 0.0)
    arr = np.asarray(X)
    return arr.reshape(arr.shape[0], -1)[idx].astype(np.float64)


def _show(ax, row, shape, lo, hi):
    img = np.clip((row.reshape(shape) - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[2] not in (1, 3):  # channels first
        img = np.moveaxis(img, 0, 2)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_closest_pairs(audit, generated, train, shape, n_pairs: int = 8, *, ax=None):
    """The generated samples with the smallest ratio d1/d2 above their nearest training image.

    Parameters
    ----------
    audit : MemorizationAudit
    generated, train : array_like or DataSource
        The sets given to the audit.
    shape : tuple of int
        Image shape (H, W) or (H, W, C) of one row.
    n_pairs : int
        Number of pairs (columns).

    Returns
    -------
    matplotlib.figure.Figure
        Top row: generated; bottom row: nearest training image; ratio above each pair. One
        intensity range (the pairs' joint min and max) for all images.
    """
    g = audit.generated
    order = np.argsort(g.ratio, kind="stable")[: min(n_pairs, g.n)]
    G = _rows(generated, order)
    T = _rows(train, g.nearest[order])
    lo, hi = float(min(G.min(), T.min())), float(max(G.max(), T.max()))
    k = order.size
    if ax is None:
        fig = _figure(figsize=(1.3 * k + 0.6, 3.0), layout="constrained")
        axes = fig.subplots(2, k, squeeze=False)
    else:  # the caller's 2·k axes, row-major
        fig, flat = panels(ax, 2 * k, None)
        axes = np.array(flat, dtype=object).reshape(2, k)
    for j in range(k):
        _show(axes[0, j], G[j], shape, lo, hi)
        _show(axes[1, j], T[j], shape, lo, hi)
        axes[0, j].set_title(f"#{order[j]}\nr = {g.ratio[order[j]]:.2f}", fontsize=8)
        axes[1, j].set_xlabel(f"train #{g.nearest[order[j]]}", fontsize=7)
    axes[0, 0].set_ylabel("generated", fontsize=8)
    axes[1, 0].set_ylabel("nearest train", fontsize=8)
    return fig


def _regime(t, t_S, t_C):
    if t_C is not None and math.isfinite(t_C) and t < t_C:
        return "III (collapsed)"
    if t_S is not None and math.isfinite(t_S) and t < t_S:
        return "II (committed to a class)"
    if t_S is None and t_C is None:
        return ""
    return "I (noise)" if t_S is not None and math.isfinite(t_S) else "I or II"


def plot_uturn(result, data=None, shape=None, *, t_S=None, t_C=None, example: int = 0, labels=None, ax=None):
    """U-turn picture: one row per time (start, noised, result), or the curves without images.

    Parameters
    ----------
    result : UTurnResult
        From :func:`regimes.uturn.uturn`.
    data : array_like or DataSource, optional
        The training set (needed for the image grid).
    shape : tuple of int, optional
        Image shape of one row; without it (or without ``data``), the fractions against t.
    t_S, t_C : float, optional
        Speciation and collapse times given by the caller (not estimated here), to mark each row
        with its regime, or drawn as dotted lines labelled "(given)" on the curves.
    example : int
        Which kept example to show in the grid.
    labels : array_like, optional
        Class per training row (default: those of ``data`` when it is a labelled DataSource): each
        returned image is then captioned "same class" or with its class.

    Returns
    -------
    matplotlib.figure.Figure
        Images: one row per time (start, noised x_t on its own intensity range, result). Curves:
        the fractions with their exact 95% (Clopper–Pearson) intervals as asymmetric bars.
    """
    tt = np.asarray(result.times)
    if shape is None or data is None:
        return _uturn_curves(result, tt, t_S, t_C, ax)
    e = min(example, result.noised.shape[1] - 1)
    starts = _rows(data, result.start[:, e])
    imgs = [starts, result.noised[:, e], result.final[:, e]]
    lo = float(min(starts.min(), result.final[:, e].min()))
    hi = float(max(starts.max(), result.final[:, e].max()))
    T = tt.size
    lab = getattr(data, "labels", None) if labels is None else np.asarray(labels)
    names = getattr(data, "class_names", None) if labels is None else None
    if ax is None:
        fig = _figure(figsize=(4.6, 1.45 * T + 0.7), layout="constrained")
        axes = fig.subplots(T, 3, squeeze=False)
    else:  # the caller's 3·T axes, row-major
        fig, flat = panels(ax, 3 * T, None)
        axes = np.array(flat, dtype=object).reshape(T, 3)
    for i in range(T):
        for j in range(3):
            row = imgs[j][i]
            if j == 1:  # the noised state on its own range (its scale is e^{-t} smaller plus noise)
                _show(axes[i, j], row, shape, float(row.min()), float(row.max()))
            else:
                _show(axes[i, j], row, shape, lo, hi)
        axes[i, 0].set_ylabel(f"t = {tt[i]:.3g}\n{_regime(tt[i], t_S, t_C)}", fontsize=7)
        axes[i, 2].set_xlabel(_returned_caption(result.start[i, e], result.end[i, e], lab, names), fontsize=7)
    for j, name in enumerate(("start $a^{\\mu}$", "noised $x_t$\n(own intensity range)", "returned")):
        axes[0, j].set_title(name, fontsize=8)
    if t_S is not None or t_C is not None:
        given = ", ".join(f"{n} = {v:.3g}" for n, v in (("$t_S$", t_S), ("$t_C$", t_C)) if v is not None)
        fig.suptitle(f"one run per row; regimes from the given {given}", fontsize=7)
    return fig


def _returned_caption(start: int, end: int, labels, names) -> str:
    """"same image", or the returned training row with its class relative to the start's."""
    if end == start:
        return "same image"
    if labels is None:
        return f"train #{end}"
    a, b = labels[start], labels[end]
    if a == b:
        return f"train #{end}, same class"
    shown = names[int(b)] if names is not None else b
    return f"train #{end}, other class ({shown})"


def _tick_text(v: float) -> str:
    """A time tick: plain between 1e-3 and 1e4 (0.05, 2), else 10^k or a×10^k in math text."""
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:g}"
    k = math.floor(math.log10(abs(v)))
    a = round(v / 10.0**k, 1)
    return f"$10^{{{k}}}$" if a == 1 else f"${a:g}\\times10^{{{k}}}$"


def _time_ticks(axis, lo: float, hi: float):
    """Labels on the log t axis that cannot crowd: majors at 1, 2, 5 × 10^k over up to two decades
    (1, 2, 3, 5, 7 under one; 1, 3 up to four; powers of ten beyond), unlabelled minor ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    dec = math.log10(hi / lo) if hi > lo > 0 else 0.0
    subs = ((1.0, 2.0, 3.0, 5.0, 7.0) if dec < 0.8 else (1.0, 2.0, 5.0) if dec <= 2.0
            else (1.0, 3.0) if dec <= 4.0 else (1.0,))
    axis.set_major_locator(LogLocator(subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _tick_text(v)))
    axis.set_minor_formatter(NullFormatter())


def _uturn_curves(result, tt, t_S, t_C, ax):
    """The returning fractions against t with their exact (Clopper–Pearson) intervals as bars."""
    fig, (ax,) = panels(ax, 1, (6.0, 3.6))
    for ests, col, lab in ((result.same_point, C["vermillion"], "same training image (→ $\\varphi_C$)"),
                           (result.same_class, C["blue"], "same class (→ φ)")):
        if ests is None:
            continue
        v = np.array([e.value for e in ests])
        ci = np.array([e.ci for e in ests], dtype=float)
        yerr = np.vstack([np.maximum(v - ci[:, 0], 0.0), np.maximum(ci[:, 1] - v, 0.0)])
        ax.errorbar(tt, v, yerr=yerr, marker="o", ms=4, capsize=2, color=col,
                    label=f"{lab}; bars: 95% Clopper–Pearson interval")
    for x, name, ls in ((t_C, "$t_C$", ":"), (t_S, "$t_S$", "-.")):
        if x is not None and math.isfinite(x):
            ax.axvline(x, color="0.45", ls=ls, lw=1, label=f"{name} = {x:.3g} (given)")
    ax.set_xscale("log")
    _time_ticks(ax.xaxis, *ax.get_xlim())  # the range drawn (the times, and t_S, t_C when given)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("OU time t of the U-turn (log axis)")
    ax.set_ylabel("fraction returning")
    ax.set_title(f"{result.samples} U-turns per time, backward dynamics: {result.method}", fontsize=9)
    ax.legend(fontsize=7)
    return fig
