"""Dendrogram of classes merged in order of their pairwise speciation times, with the time matrix."""

from __future__ import annotations

import numpy as np

from . import OKABE_ITO as C
from . import panels

__all__ = ["plot_hierarchy"]


def plot_hierarchy(hierarchy, *, ax=None):
    """Two panels: the dendrogram (heights = OU time t_ab) and the matrix of pairwise times.

    Parameters
    ----------
    hierarchy : ClassHierarchy
        From :func:`regimes.hierarchy.class_hierarchy` or :func:`regimes.hierarchy.class_hierarchy_gaussian`.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Pairs are merged in order of ``t_ab = ½ ln Λ_ab`` (arXiv 2402.18491's t_S for the pair): the
    higher a merge, the earlier the classes separate in the backward process. Pairs that never
    separate (Λ_ab <= 1) are drawn at t = 0, written "never separates", and hatched grey in the
    matrix with a legend entry below it (the diagonal, a class with itself, is left blank).
    A merge flagged "layout not tree-like" (:meth:`ClassHierarchy.merges`) gets a grey bar from its
    single- to its complete-linkage height (``t_bracket``): the backward dynamics split those groups
    somewhere in it, not necessarily at the drawn height. When every merge lies
    far from 0 (their spread below half the largest), the time axis starts just below the lowest
    merge so that close merges are resolved; the axis label then says where it starts. Merges of
    class pairs within sampling noise (:meth:`ClassHierarchy.pairs_within_noise`) are written
    "noise" next to their height.
    """
    from scipy.cluster.hierarchy import dendrogram

    h = hierarchy
    fig, (ax0, ax1) = panels(ax, 2, (10.5, 4.2), gridspec_kw={"width_ratios": [1.3, 1.0]})
    dn = dendrogram(h.linkage, labels=list(h.names), ax=ax0, color_threshold=0,
                    above_threshold_color=C["blue"], leaf_rotation=90)
    merges = h.merges()
    tops = [m["t_bracket"][1] for m in merges if m["tree_like"] is False]
    y0 = _resolve_merges(ax0, np.asarray(h.linkage, dtype=float)[:, 2], tops)
    ax0.set_ylabel("speciation time $t_{ab}$ (OU time)" + ("" if y0 == 0 else f"\naxis starts at {y0:.3g}, not 0"))
    _mark_merges(ax0, h, dn, merges)
    ax0.set_title(f"classes merged by speciation time ({h.method} linkage)")
    order = dn["leaves"]
    T = np.asarray(h.times, dtype=float)[np.ix_(order, order)]
    im = ax1.imshow(np.ma.masked_invalid(T), cmap="viridis")
    names = [h.names[i] for i in order]
    ax1.set_xticks(range(len(names)), names, rotation=90)
    ax1.set_yticks(range(len(names)), names)
    ax1.set_title(r"pairwise $t_{ab} = \frac{1}{2}\ln\Lambda_{ab}$")
    fig.colorbar(im, ax=ax1, label="$t_{ab}$")
    _mark_never(ax1, T)
    return fig


def _mark_never(ax, T):
    """Hatch the off-diagonal cells of pairs that never separate (no time: Λ_ab <= 1), with a legend entry."""
    from matplotlib.patches import Rectangle

    never = [(i, j) for i, j in zip(*np.nonzero(~np.isfinite(T)), strict=True) if i != j]
    for k, (i, j) in enumerate(never):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="0.88", edgecolor="0.45", hatch="xx", lw=0,
                               label="_nolegend_" if k else r"never separate ($\Lambda_{ab} \leq 1$)"))
    if never:
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.12), fontsize=7, frameon=False)


def _resolve_merges(ax, heights, tops=()) -> float:
    """Start the y axis just below the lowest merge when the merges sit far from 0 (else at 0), and end
    it above the highest merge or bracket top (``tops``); returns the start."""
    lo, hi = float(np.min(heights)), float(max([np.max(heights), *tops]))
    if tops:
        ax.set_ylim(top=hi * 1.05)
    if lo <= 0 or hi - lo >= 0.5 * hi:
        return 0.0
    pad = (hi - lo) if hi > lo else 0.05 * hi
    y0 = max(lo - 0.5 * pad, 0.0)
    ax.set_ylim(y0, hi + 0.25 * pad)
    return y0


def _mark_merges(ax, h, dn, merges):
    """"noise" at each merge whose two groups hold a class pair within sampling noise, "never separates"
    at merges of height 0 (Λ ≤ 1), and the [single, complete] bracket of merges not tree-like."""
    labelled = False
    for m, (x, y) in zip(merges, _merge_coords(dn, h), strict=True):
        words = [w for w, on in (("noise", m["pairs_within_noise"]), ("never separates", m["t"] is None)) if on]
        if words:
            ax.text(x, y, " " + ", ".join(words), fontsize=7.5, ha="center", va="bottom", style="italic",
                    color="0.3")
        if m["tree_like"] is False:
            lo, hi = m["t_bracket"]
            ax.plot([x, x], [lo, hi], color="0.55", lw=3, alpha=0.5, solid_capstyle="butt", zorder=0,
                    label="_nolegend_" if labelled else "layout not tree-like: the split lies between the\n"
                    "smallest and largest cross-pair time (single–complete)")
            labelled = True
    if labelled:
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.1), fontsize=7, frameon=False)  # below: no overlap


def _merge_coords(dn, h):
    """(x of the link's middle, height) of each merge, in the linkage's order: scipy draws leaf
    ``r`` of ``dn["leaves"]`` at x = 5 + 10r and each merge midway between its two children."""
    K = len(h.names)
    pos = {leaf: 5.0 + 10.0 * r for r, leaf in enumerate(dn["leaves"])}
    out = []
    for i, (a, b, hgt, _) in enumerate(np.asarray(h.linkage)):
        pos[K + i] = 0.5 * (pos[int(a)] + pos[int(b)])
        out.append((pos[K + i], float(hgt)))
    return out
