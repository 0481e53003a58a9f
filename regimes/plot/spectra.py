"""Figures of the random-matrix layer: densities over histograms of sampled matrices.

matplotlib is imported inside the functions only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_mp_density", "plot_rf_density"]


def plot_mp_density(law, *, size: int | None = None, rng=None, ax=None):
    """Marchenko–Pastur continuous density, optionally over a histogram of a sampled
    Wishart spectrum with M = size rows. Returns the matplotlib Figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4), layout="constrained") if ax is None else ax.figure
    ax = fig.add_subplot() if ax is None else ax
    lo, hi = law.support()
    x = np.linspace(lo, hi, 400)[1:-1]
    ax.plot(x, law.pdf(x), color="C3", label="Marchenko–Pastur (continuous part)")
    if size is not None:
        from .._validate import check_rng

        gen = check_rng(rng)
        M = int(size)
        N = max(1, int(round(M / law.ratio)))
        Y = gen.standard_normal((M, N)) * np.sqrt(law.variance)
        ev = np.linalg.eigvalsh(Y @ Y.T / N)
        ev = ev[ev > 1e-9 * hi]
        ax.hist(ev, bins=50, weights=np.full(ev.size, 1.0 / M), density=False, alpha=0.4,
                color="C0", label=f"sampled, M = {M}")
        # rescale the histogram to a density
        for patch in ax.patches:
            patch.set_height(patch.get_height() / patch.get_width())
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density")
    ax.set_title(f"Marchenko–Pastur γ = {law.ratio:g}, σ² = {law.variance:g}")
    ax.legend()
    return fig


def _annotate_masses(ax, rf, data_top):
    """The atom at s_t² as a spike (in the legend, with its mass) and the mass of each bulk, the
    notes in a band above the data (``data_top``: the highest bar or curve point) so that they
    cover neither."""
    b = rf.bulks
    atom = b.get("atom")
    if atom:
        ax.axvline(atom["location"], color="k", lw=2.2, ls="-", alpha=0.8,
                   label=f"atom at $s_t^2$ = {atom['location']:.3g}: mass {atom['mass']:.3g} "
                         "(not in the density)")
    top = max(data_top, 1e-12)
    ax.set_ylim(0.0, 1.32 * top)
    for key, name in (("slow", "slow bulk"), ("satellite", "satellite"), ("fast", "fast bulk")):
        bulk = b.get(key)
        if bulk is None:
            continue
        x = (bulk.edges[0] * bulk.edges[1]) ** 0.5
        ax.annotate(f"{name}\nmass {bulk.mass:.3g}", (x, 1.3 * top), ha="center", va="top",
                    fontsize=7.5, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.5", alpha=0.9))


def _histogram_bins(rf, lam, p):
    """Bin edges on the log λ axis: each bulk gets its own geometric bins between its edges
    (about 2√(its eigenvalue count), 8 to 40), so that a narrow bulk is resolved instead of
    falling into one bin of a grid spread over decades; wide bins fill the gaps and the margins."""
    cuts = [np.array([lam[0], lam[-1]])]
    b = rf.bulks
    for bulk in (b["slow"], b["satellite"], b["fast"], *b["other"]):
        if bulk is None or not bulk.edges[1] > bulk.edges[0] > 0:
            continue
        k = int(np.clip(round(2 * np.sqrt(bulk.mass * p)), 8, 40))
        cuts.append(np.geomspace(bulk.edges[0], bulk.edges[1], k + 1))
    bins = np.unique(np.concatenate(cuts))
    return bins[(bins >= lam[0]) & (bins <= lam[-1])]


def _zoom_narrow_slow_bulk(ax, rf, cont, p, log_span):
    """An inset on a linear λ axis for a slow bulk narrower than 3 % of the plotted ln λ range
    (at large t it is ~v_t² wide next to the atom, a sliver the atom's line would hide)."""
    bulk = rf.bulks["slow"]
    if bulk is None or not bulk.edges[1] > bulk.edges[0] > 0:
        return
    lo, hi = bulk.edges
    if np.log(hi / lo) > 0.03 * log_span:
        return
    pad = 0.08 * (hi - lo)
    x = np.linspace(lo, hi, 300)
    inset = ax.inset_axes([0.36, 0.3, 0.3, 0.42])
    inside = cont[(cont >= lo - pad) & (cont <= hi + pad)]
    bins = np.linspace(lo - pad, hi + pad, int(np.clip(round(2 * np.sqrt(inside.size)), 8, 40)) + 1)
    counts, edges = np.histogram(inside, bins=bins)
    inset.stairs(counts / (p * np.diff(edges)), edges, fill=True, alpha=0.35, color="C0")
    inset.plot(x, rf.density(x), color="C3")
    inset.set_xlim(lo - pad, hi + pad)
    inset.set_title("slow bulk, linear λ: ρ(λ)", fontsize=7.5)
    inset.tick_params(labelsize=6.5)
    inset.ticklabel_format(axis="x", style="sci", scilimits=(-2, 2))


def plot_rf_density(rf, *, d: int = 100, rng=None, points: int = 400, ax=None):
    """Density of the random-features U (self-consistent solution, log λ axis) over a histogram
    of the eigenvalues of one sampled Gaussian-equivalent U at dimension d. Returns the Figure."""
    from matplotlib.figure import Figure

    lam = rf.density_grid(points)
    rho = rf.density(lam)
    U = rf.sample_U(d, rng)
    ev = np.linalg.eigvalsh(U)
    s2 = rf.constants.s_t2
    p = ev.size
    cont = ev[ev > s2 + 1e-9 * abs(ev[-1])] if rf.bulks["atom"] else ev
    fig = Figure(figsize=(7, 4.8), layout="constrained") if ax is None else ax.figure
    ax = fig.add_subplot() if ax is None else ax
    hist, edges = np.histogram(cont, bins=_histogram_bins(rf, lam, p))
    # density per unit log λ: λ ρ(λ)
    widths = np.log(edges[1:]) - np.log(edges[:-1])
    heights = hist / (p * widths)
    ax.stairs(heights, edges, fill=True, alpha=0.35, color="C0",
              label=f"sampled Gaussian-equivalent U (d = {d}, p = {p})")  # one patch: no seams
    curve = lam * rho
    ax.plot(lam, curve, color="C3", label="self-consistent density λρ(λ)")
    finite = curve[np.isfinite(curve)]
    _annotate_masses(ax, rf, max(heights.max(initial=0.0), finite.max(initial=0.0)))
    _zoom_narrow_slow_bulk(ax, rf, cont, p, np.log(lam[-1] / lam[0]))
    ax.set_xscale("log")
    ax.set_xlabel("eigenvalue λ of U")
    ax.set_ylabel("λ ρ(λ)  (density per unit ln λ)")
    ax.set_title(f"RF spectrum, $\\psi_p$ = {rf.psi_p:g}, $\\psi_n$ = {rf.psi_n:g}, $t$ = {rf.t:g}")
    # below the axes: inside, it can cover the bulks' mass notes (top) or the histogram
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    return fig
