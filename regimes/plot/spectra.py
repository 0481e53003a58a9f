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


def _annotate_masses(ax, rf, ymax):
    """The atom at s_t² as a spike (in the legend, with its mass) and the mass of each bulk."""
    b = rf.bulks
    top = max(ax.get_ylim()[1], 1e-12)
    atom = b.get("atom")
    if atom:
        ax.axvline(atom["location"], color="k", lw=2.2, ls="-", alpha=0.8,
                   label=f"atom at $s_t^2$ = {atom['location']:.3g}: mass {atom['mass']:.3g} "
                         "(not in the density)")
    for key, name in (("slow", "slow bulk"), ("satellite", "satellite"), ("fast", "fast bulk")):
        bulk = b.get(key)
        if bulk is None:
            continue
        x = (bulk.edges[0] * bulk.edges[1]) ** 0.5
        ax.annotate(f"{name}\nmass {bulk.mass:.3g}", (x, 0.93 * top), ha="center", va="top",
                    fontsize=7.5, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.5", alpha=0.9))


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
    bins = np.geomspace(lam[0], lam[-1], 70)
    hist, edges = np.histogram(cont, bins=bins)
    # density per unit log λ: λ ρ(λ)
    widths = np.log(edges[1:]) - np.log(edges[:-1])
    ax.bar(edges[:-1], hist / (p * widths), width=np.diff(edges), align="edge", alpha=0.35,
           color="C0", label=f"sampled Gaussian-equivalent U (d = {d}, p = {p})")
    ax.plot(lam, lam * rho, color="C3", label="self-consistent density λρ(λ)")
    _annotate_masses(ax, rf, hist.max() / (p * widths.min()) if hist.size else 1.0)
    ax.set_xscale("log")
    ax.set_xlabel("eigenvalue λ of U")
    ax.set_ylabel("λ ρ(λ)  (density per unit ln λ)")
    ax.set_title(f"RF spectrum, $\\psi_p$ = {rf.psi_p:g}, $\\psi_n$ = {rf.psi_n:g}, $t$ = {rf.t:g}")
    # below the axes: inside, it can cover the bulks' mass notes (top) or the histogram
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    return fig
