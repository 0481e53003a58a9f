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
    higher a merge, the earlier the classes separate in the backward process. The flags of
    :meth:`ClassHierarchy.merges` are marked at the merge, with a legend entry below the dendrogram:
    a hollow circle for a merge above the dataset's t_S (the equal-weight pair time overstates the
    split), a hollow triangle for unbalanced classes, a grey square ("noise") for a class pair within
    sampling noise (:meth:`ClassHierarchy.pairs_within_noise`) and a cross for groups that never
    separate (Λ_ab <= 1, drawn at t = 0; their cells of the matrix are hatched grey, the diagonal,
    a class with itself, is left blank). The dataset's own ``t_S = ½ ln Λ``
    (``ClassHierarchy.dataset_t_S``, when known) is a dashed line; when it lies off the axis the
    legend says so. A merge flagged "layout not tree-like" gets a grey bar from its single- to its
    complete-linkage height (``t_bracket``): the backward dynamics split those groups somewhere in
    it, not necessarily at the drawn height. When every merge lies far from 0 (their spread below
    half the largest), the time axis starts just below the lowest merge so that close merges are
    resolved; the axis label then says where it starts. The time axis never goes below 0; when no
    pair separates at all, both panels say so and the matrix has no colour bar.

    References
    ----------
    .. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, arXiv:2402.18491 (2024).
    """
    import warnings

    from scipy.cluster.hierarchy import dendrogram

    h = hierarchy
    fig, (ax0, ax1) = panels(ax, 2, (10.5, 4.2), gridspec_kw={"width_ratios": [1.3, 1.0]})
    heights = np.asarray(h.linkage, dtype=float)[:, 2]
    with warnings.catch_warnings():  # every merge at 0: scipy's y limits (0, 0), replaced below
        warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)
        dn = dendrogram(h.linkage, labels=list(h.names), ax=ax0, color_threshold=0,
                        above_threshold_color=C["blue"], leaf_rotation=90)
    merges = h.merges()
    tops = [m["t_bracket"][1] for m in merges if m["tree_like"] is False]
    t_S = h.dataset_t_S if h.dataset_t_S is not None and np.isfinite(h.dataset_t_S) and h.dataset_t_S > 0 \
        else None
    y0 = _resolve_merges(ax0, heights, tops, t_S)
    ax0.set_ylabel("speciation time $t_{ab}$ (OU time)" + ("" if y0 == 0 else f"\naxis starts at {y0:.3g}, not 0"))
    handles = _mark_merges(ax0, h, dn, merges) + _mark_t_S(ax0, t_S)
    ax0.set_title(f"classes merged by speciation time ({h.method} linkage)")
    order = dn["leaves"]
    T = np.asarray(h.times, dtype=float)[np.ix_(order, order)]
    im = ax1.imshow(np.ma.masked_invalid(T), cmap="viridis")
    names = [h.names[i] for i in order]
    ax1.set_xticks(range(len(names)), names, rotation=90)
    ax1.set_yticks(range(len(names)), names)
    ax1.set_title(r"pairwise $t_{ab} = \frac{1}{2}\ln\Lambda_{ab}$")
    if np.isfinite(T).any():
        fig.colorbar(im, ax=ax1, label="$t_{ab}$")
    else:  # nothing to colour: a colour bar would have a meaningless range
        note = dict(ha="center", va="center", fontsize=9, bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="0.5"))
        ax0.text(0.5, 0.5, "no pair of classes separates above noise:\n$\\Lambda_{ab} \\leq 1$ for every pair, "
                 "every merge at $t$ = 0", transform=ax0.transAxes, **note)
        ax1.text(0.5, 0.5, "no pair separates above noise\n($\\Lambda_{ab} \\leq 1$ for every pair)",
                 transform=ax1.transAxes, **note)
    _mark_never(ax1, T)
    if handles:
        _legend_below(ax0, handles)
    return fig


def _legend_below(ax, handles=None):
    """The axes' legend under its x tick labels (however long the class names), where it covers nothing."""
    from matplotlib.transforms import offset_copy

    fig = ax.figure
    fig.canvas.draw()  # the tick labels' extent needs a renderer
    depth = max(ax.bbox.y0 - ax.xaxis.get_tightbbox().y0, 0.0) * 72.0 / fig.dpi + 4.0
    kw = {} if handles is None else {"handles": handles}
    ax.legend(**kw, loc="upper left", bbox_to_anchor=(0.0, 0.0), borderaxespad=0.0, fontsize=7, frameon=False,
              bbox_transform=offset_copy(ax.transAxes, fig=fig, y=-depth, units="points"))


def _mark_never(ax, T):
    """Hatch the off-diagonal cells of pairs that never separate (no time: Λ_ab <= 1), with a legend entry."""
    from matplotlib.patches import Rectangle

    never = [(i, j) for i, j in zip(*np.nonzero(~np.isfinite(T)), strict=True) if i != j]
    for k, (i, j) in enumerate(never):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="0.88", edgecolor="0.45", hatch="xx", lw=0,
                               label="_nolegend_" if k else r"never separate ($\Lambda_{ab} \leq 1$)"))
    if never:
        _legend_below(ax)


def _resolve_merges(ax, heights, tops=(), t_S=None) -> float:
    """Start the y axis just below the lowest merge when the merges sit far from 0 (else at 0), and end
    it above the highest merge or bracket top (``tops``); widen it to the dataset's ``t_S`` when that
    takes at most half as much again (close merges stay resolved). Every merge at 0 (no pair
    separates): the axis runs from 0 to 1.3 t_S (or 1). Returns the start, never below 0."""
    lo, hi = float(np.min(heights)), float(max([np.max(heights), *tops]))
    if hi <= 0:
        ax.set_ylim(0.0, 1.3 * t_S if t_S else 1.0)
        return 0.0
    if tops:
        ax.set_ylim(top=hi * 1.05)
    if lo <= 0 or hi - lo >= 0.5 * hi:
        y0, y1 = 0.0, ax.get_ylim()[1]
    else:
        pad = (hi - lo) if hi > lo else 0.05 * hi
        y0, y1 = max(lo - 0.5 * pad, 0.0), hi + 0.25 * pad
    if t_S is not None and not y0 <= t_S <= y1:
        a, b = min(y0, t_S), max(y1, t_S)
        a, b = (max(a - 0.05 * (b - a), 0.0) if a < y0 else a), (b + 0.05 * (b - a) if b > y1 else b)
        if b - a <= 1.5 * (y1 - y0):
            y0, y1 = a, b
    ax.set_ylim(y0, y1)
    return y0


def _flag_styles():
    """How each flag of a merge is marked on the dendrogram: (test on the merge, marker style, legend text)."""
    from ..hierarchy import ABOVE_T_S, UNBALANCED, UNBALANCED_RATIO

    return [
        (lambda m: ABOVE_T_S in m["flags"],
         dict(marker="o", ms=9, mfc="none", mec=C["vermillion"], mew=1.6),
         "merge above the dataset's $t_S$: these classes would split before the\n"
         "dataset does (the equal-weight pair time overstates the split)"),
        (lambda m: UNBALANCED in m["flags"],
         dict(marker="^", ms=8, mfc="none", mec=C["purple"], mew=1.4),
         f"unbalanced classes (sizes over {UNBALANCED_RATIO:g}:1): the pair time overstates the split"),
        (lambda m: m["pairs_within_noise"] > 0,
         dict(marker="s", ms=5.5, mfc="0.55", mec="0.3", mew=0.8),
         "noise: a class pair across the merge within sampling noise"),
        (lambda m: m["t"] is None,
         dict(marker="x", ms=7, mec="0.25", mew=1.6),
         r"never separates ($\Lambda_{ab} \leq 1$): drawn at $t$ = 0"),
    ]


def _mark_merges(ax, h, dn, merges):
    """A marker at each flagged merge (side by side when it has several flags: above the dataset's
    t_S, unbalanced classes, a pair within sampling noise, never separates) and the [single,
    complete] bracket of merges not tree-like; returns the legend handles of what was drawn."""
    from matplotlib.lines import Line2D
    from matplotlib.transforms import offset_copy

    styles, used, handles = _flag_styles(), set(), []
    bracket = ("layout not tree-like: the split lies between the\n"
               "smallest and largest cross-pair time (single–complete)")
    for m, (x, y) in zip(merges, _merge_coords(dn, h), strict=True):
        on = [k for k, (test, _, _) in enumerate(styles) if test(m)]
        for j, k in enumerate(on):
            shift = offset_copy(ax.transData, fig=ax.figure, x=11.0 * (j - 0.5 * (len(on) - 1)), units="points")
            ax.plot([x], [y], ls="none", transform=shift, clip_on=False, zorder=4, **styles[k][1])
            used.add(k)
        if m["tree_like"] is False:
            lo, hi = m["t_bracket"]
            ax.plot([x, x], [lo, hi], color="0.55", lw=3, alpha=0.5, solid_capstyle="butt", zorder=0)
            used.add("bracket")
    if "bracket" in used:
        handles.append(Line2D([], [], color="0.55", lw=3, alpha=0.5, label=bracket))
    handles += [Line2D([], [], ls="none", label=label, **style)
                for k, (_, style, label) in enumerate(styles) if k in used]
    return handles


def _mark_t_S(ax, t_S):
    """The dataset's speciation time as a dashed line (written "$t_S$" at its right end), or, when it
    lies off the axis, a legend entry saying where; returns the legend handles."""
    from matplotlib.lines import Line2D

    if t_S is None:
        return []
    style = dict(color=C["vermillion"], ls="--", lw=1.3)
    label = f"dataset's $t_S = \\frac{{1}}{{2}}\\ln\\Lambda$ = {t_S:.4g} (all classes together)"
    y0, y1 = ax.get_ylim()
    if y0 <= t_S <= y1:
        ax.axhline(t_S, zorder=1, **style)
        ax.text(1.005, t_S, "$t_S$", transform=ax.get_yaxis_transform(), color=C["vermillion"], fontsize=8,
                ha="left", va="center")
    else:
        label += f": {'below' if t_S < y0 else 'above'} the axis"
    return [Line2D([], [], label=label, **style)]


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
