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
    separate (Λ_ab <= 1) are drawn at t = 0 and left blank in the matrix.
    """
    from scipy.cluster.hierarchy import dendrogram

    h = hierarchy
    fig, (ax0, ax1) = panels(ax, 2, (10.5, 4.2), gridspec_kw={"width_ratios": [1.3, 1.0]})
    dn = dendrogram(h.linkage, labels=list(h.names), ax=ax0, color_threshold=0,
                    above_threshold_color=C["blue"], leaf_rotation=90)
    ax0.set_ylabel("speciation time $t_{ab}$ (OU time)")
    ax0.set_title(f"classes merged by speciation time ({h.method} linkage)")
    order = dn["leaves"]
    T = np.asarray(h.times, dtype=float)[np.ix_(order, order)]
    im = ax1.imshow(np.ma.masked_invalid(T), cmap="viridis")
    names = [h.names[i] for i in order]
    ax1.set_xticks(range(len(names)), names, rotation=90)
    ax1.set_yticks(range(len(names)), names)
    ax1.set_title(r"pairwise $t_{ab} = \frac{1}{2}\ln\Lambda_{ab}$")
    fig.colorbar(im, ax=ax1, label="$t_{ab}$")
    return fig
