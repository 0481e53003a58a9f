"""Figures of the random-matrix layer: densities over histograms of sampled matrices.

matplotlib is imported inside the functions only.
"""

from __future__ import annotations

import math

import numpy as np

from . import log_ticks

__all__ = ["plot_mp_density", "plot_rf_density"]


def plot_mp_density(law, *, size: int | None = None, rng=None, ax=None):
    r"""Marchenko–Pastur continuous density, optionally over a histogram of a sampled spectrum.

    Parameters
    ----------
    law : MarchenkoPastur
        The law (ratio γ = M/N, entry variance σ²).
    size : int, optional
        M, the number of rows of the sampled Y (N = M/γ columns, rounded); without it, the
        density alone.
    rng : int or numpy.random.Generator, optional
        Seed or generator of the sample.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes (nothing already on it is changed); its figure is returned.

    Returns
    -------
    matplotlib.figure.Figure
        The density ρ(x) of the continuous part and, with ``size``, the histogram of the non-zero
        eigenvalues of one sampled S = YYᵀ/N as a density over all M eigenvalues (count / (M · bin
        width)), so that both have area min(1, 1/γ); for γ > 1 the legend gives the mass 1 − 1/γ of
        the atom at 0, which is left out of both.

    Notes
    -----
    ρ(x) = √((λ₊ − x)(x − λ₋)) / (2πσ²γx) on [λ₋, λ₊], λ_± = σ²(1 ± √γ)², total mass min(1, 1/γ).

    References
    ----------
    .. [MP] V. A. Marchenko, L. A. Pastur, Mat. Sb. 72 (1967).
    """
    from matplotlib.figure import Figure

    own = ax is None
    fig = Figure(figsize=(6.4, 4.8), layout="constrained") if own else ax.figure
    ax = fig.add_subplot() if own else ax
    lo, hi = law.support()
    x = np.linspace(lo, hi, 400)[1:-1]
    cont = min(1.0, 1.0 / law.ratio)
    ax.plot(x, law.pdf(x), color="C3", label=f"Marchenko–Pastur density, continuous part (mass {cont:.3g})")
    if size is not None:
        from .._validate import check_int, check_rng

        M = check_int("size", size, ge=1)
        gen = check_rng(rng)
        N = max(1, int(round(M / law.ratio)))
        Y = gen.standard_normal((M, N)) * np.sqrt(law.variance)
        ev = np.linalg.eigvalsh(Y @ Y.T / N)
        ev = ev[ev > 1e-9 * hi]
        # only the bars drawn here, already a density (the Axes autoscales to them: no clipping)
        counts, edges = np.histogram(ev, bins=int(np.clip(round(2 * math.sqrt(ev.size)), 10, 50)))
        ax.stairs(counts / (M * np.diff(edges)), edges, fill=True, alpha=0.4, color="C0",
                  label=f"sampled S = YYᵀ/N (M = {M}, N = {N}): {ev.size} non-zero eigenvalues")
        if law.atom > 0:  # the atom is no density: said, not drawn
            ax.plot([], [], " ", label=f"atom at 0 of mass 1 − 1/γ = {law.atom:.3g} ({M - ev.size} zero "
                                       "eigenvalues): left out of both")
    ax.set_xlabel("eigenvalue x of S = YYᵀ/N")
    ax.set_ylabel("density ρ(x) (per unit x)")
    ax.set_title(f"Marchenko–Pastur γ = {law.ratio:g}, σ² = {law.variance:g}")
    if own:  # below the axes: inside, it can cover bars
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    else:
        ax.legend(fontsize=8)
    return fig


def _num(v: float) -> str:
    """A tick or legend number: plain between 1e-3 and 1e4, else a×10^k in math text."""
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.3g}"
    k = math.floor(math.log10(abs(v)))
    a = float(f"{v / 10.0**k:.3g}")
    if abs(a) >= 10:  # (9.996 rounds up to 10)
        a, k = a / 10, k + 1
    mant = "" if a == 1 else f"{a:g}\\times"
    return f"${mant}10^{{{k}}}$"


def _pieces(rf):
    """(key, title, Bulk) for each piece of the spectrum found, from low λ to high."""
    b = rf.bulks
    names = {"slow": "slow bulk $\\rho_1$ (memorisation: $\\tau_{mem}$)",
             "fast": "fast bulk $\\rho_2$ (generalisation: $\\tau_{gen}$)",
             "satellite": "satellite of the slow bulk", "other": "further piece"}
    out = [(k, names[k], b[k]) for k in ("satellite", "slow", "fast") if b[k] is not None]
    out += [("other", names["other"], o) for o in b["other"]]
    out = [q for q in out if q[2].edges[1] > q[2].edges[0]]
    return sorted(out, key=lambda q: q[2].edges[0])


def _panel_scale(key, bulk, s2):
    """(offset, log): the panel plots x = λ − offset, the fast bulk against λ itself, the pieces
    near the floor s_t² of the spectrum against λ − s_t² (they are ~v_t² wide, at large t a
    sliver next to s_t² that a λ axis cannot resolve); on a log axis when x spans over a decade."""
    off = 0.0 if key == "fast" else s2
    lo, hi = bulk.edges[0] - off, bulk.edges[1] - off
    return off, bool(lo > 0 and hi / lo > 10.0)


def _draw_piece(ax, rf, piece, ev, p, points):
    """One bulk on its own axes: histogram of the sampled eigenvalues in its range, the
    self-consistent density, its edges (dashed), its mass; returns the Bulk drawn."""
    key, title, bulk = piece
    off, log = _panel_scale(key, bulk, rf.constants.s_t2)
    lo, hi = bulk.edges[0] - off, bulk.edges[1] - off
    # the curve's points cluster at the edges (cosine spacing), where the density rises as a
    # square root (or diverges, at a hard edge: the edges themselves are left out)
    c = 0.5 * (1.0 - np.cos(np.linspace(0.0, np.pi, points + 2)[1:-1]))
    if log:
        pad = (hi / lo) ** 0.05
        a, b = lo / pad, hi * pad
        grid = lo * (hi / lo) ** c
    else:
        pad = 0.06 * (hi - lo)
        a, b = (max(lo - pad, 0.0) if off else lo - pad), hi + pad
        grid = lo + (hi - lo) * c
    x = ev - off  # this piece's eigenvalues (its share of the gaps included): all counted, drawn in [a, b]
    inside = x[(x >= a) & (x <= b)]
    nb = int(np.clip(round(2 * math.sqrt(max(inside.size, 1))), 8, 40))
    bins = np.geomspace(a, b, nb + 1) if log else np.linspace(a, b, nb + 1)
    counts, edges = np.histogram(inside, bins=bins)
    width = np.diff(np.log(edges)) if log else np.diff(edges)
    heights = counts / (p * width)
    ax.stairs(heights, edges, fill=True, alpha=0.35, color="C0",
              label=f"sampled U: {x.size} of {p} eigenvalues ({x.size / p:.3g})")
    rho = rf.density(grid + off)
    curve = grid * rho if log else rho
    ax.plot(grid, curve, color="C3", label=f"self-consistent density: mass {bulk.mass:.3g}")
    var = "\\lambda_\\pm" if not off else "\\lambda_\\pm - s_t^2"
    for j, e in enumerate((lo, hi)):
        ax.axvline(e, color="0.25", ls="--", lw=0.9,
                   label=f"edges ${var}$ = {_num(lo)}, {_num(hi)}" if j == 0 else None)
    keep = (grid > lo + 0.01 * (hi - lo)) & (grid < hi - 0.01 * (hi - lo))
    finite = curve[keep & np.isfinite(curve)]
    top = max(heights.max(initial=0.0), finite.max(initial=0.0), 1e-300)
    ax.set_xlim(a, b)
    ax.set_ylim(0.0, 1.12 * top)
    if log:
        ax.set_xscale("log")
        log_ticks(ax.xaxis, a, b)
    else:
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4), useOffset=False, useMathText=True)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4), useOffset=False, useMathText=True)
    what = "λ" if not off else "λ − $s_t^2$"
    ax.set_xlabel(f"{what}  (λ: eigenvalue of U){', log axis' if log else ''}", fontsize=9)
    if not log:
        ylab = "ρ(λ): per unit λ"
    else:
        ylab = "(λ − $s_t^2$)ρ(λ): per unit ln(λ − $s_t^2$)" if off else "λρ(λ): per unit ln λ"
    ax.set_ylabel(ylab, fontsize=9)
    ax.set_title(title, fontsize=9)
    return bulk


def plot_rf_density(rf, *, d: int = 100, rng=None, points: int = 400, ax=None):
    r"""Spectrum of the random-features matrix U: one panel per bulk, each on its own scales.

    Parameters
    ----------
    rf : RandomFeatures
        The model (ψ_p, ψ_n, t, activation).
    d : int
        Dimension of the sampled Gaussian-equivalent U (p = ψ_p d, n = ψ_n d).
    rng : int or numpy.random.Generator, optional
        Seed or generator of the sample.
    points : int
        Points (2 to 10⁶) of the self-consistent density curve in each panel.
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        One Axes per piece of the spectrum (``rf.bulks``: satellite, slow, fast and any further
        piece, from low λ to high); their figure is returned.

    Returns
    -------
    matplotlib.figure.Figure
        Per bulk: the self-consistent density (curve) over a histogram of the eigenvalues of one
        sampled U in the same measure, the bulk's edges (dashed), its mass and the sampled fraction
        in the legend. The fast bulk is drawn against λ, the pieces near the floor s_t² of the
        spectrum against λ − s_t² (at large t the slow bulk is ~v_t² ≪ s_t² wide); a panel whose x
        spans more than a decade uses a log axis and the density per unit ln x. The atom at s_t²
        (not a density) is given with its mass in the first panel's legend.

    Notes
    -----
    U = GGᵀ/n + b_t²WWᵀ/d + s_t²I_p, G = e^{−t}a_t WX/√d + v_tΩ, is the p×p Gaussian-equivalent
    matrix of the gradient flow of the random-features score model; λ is in units of the
    activation squared. ρ(λ) = lim_{ε↓0} Im q(λ + iε)/π from the self-consistent equations of
    :class:`~regimes.rmt.RandomFeatures`. At leading order the slow bulk lies on
    s_t² + v_t²(1 ± √(ψ_p/ψ_n))² with mass ψ_n/ψ_p (learned on τ_mem ≈ ψ_n/(2Δ_t v_t²)), the fast
    bulk on μ*² + Γ_t²κ_1²(√ψ_p ∓ 1)² with mass 1/ψ_p (learned on τ_gen ≈ 1/(2Δ_tΓ_t²κ_1²)), and
    an atom of mass 1 − (n + d)/p sits at s_t² when p > n + d.

    References
    ----------
    .. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025).
    """
    from matplotlib.figure import Figure

    from .._validate import check_int
    from . import panels

    points = check_int("points", points, ge=2, le=10**6)
    pieces = _pieces(rf)
    U = rf.sample_U(d, rng)
    ev = np.linalg.eigvalsh(U)
    p = ev.size
    # the zero modes of U − s_t²I (rank ≤ n + d) are the atom, not a bulk: drop them exactly
    n_atom = max(0, p - max(1, int(round(rf.psi_n * d))) - d)
    ev = ev[n_atom:]
    k = max(1, len(pieces))
    if ax is None:
        fig = Figure(figsize=(max(7.6, 3.9 * k), 5.2), layout="constrained")
        axes = list(fig.subplots(1, k, squeeze=False)[0])
    else:
        fig, axes = panels(ax, k, None)
    # each eigenvalue counted in one panel only: the gaps between pieces are split at their middles
    cuts = [0.5 * (lo[2].edges[1] + hi[2].edges[0]) for lo, hi in zip(pieces, pieces[1:], strict=False)]
    owner = np.searchsorted(np.asarray(cuts, dtype=float), ev, side="right")
    for i, (a, piece) in enumerate(zip(axes, pieces, strict=False)):
        _draw_piece(a, rf, piece, ev[owner == i], p, points)
    atom = rf.bulks["atom"]
    if atom:
        axes[0].plot([], [], " ", label=f"atom at $s_t^2$ = {_num(atom['location'])}: mass "
                     f"{atom['mass']:.3g} ({n_atom} sampled; not drawn)")
    for a in axes:  # below the axes: inside, a legend would cover a bulk
        a.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    if not pieces:
        axes[0].text(0.5, 0.5, "no bulk found", ha="center", va="center", transform=axes[0].transAxes)
    fig.suptitle(f"Spectrum of U, random features ({rf.activation.name}): $\\psi_p$ = {rf.psi_p:g}, "
                 f"$\\psi_n$ = {rf.psi_n:g}, $t$ = {rf.t:g}; sampled at d = {d}, p = {p}", fontsize=10)
    if ax is None:
        fig.supxlabel("λ: eigenvalue of U = GGᵀ/n + $b_t^2$WWᵀ/d + $s_t^2$I, the p × p Gaussian-equivalent "
                      "feature matrix\nof the score model's gradient flow (arXiv:2505.17638); dimensionless "
                      "(units of the activation squared).\n"
                      f"$s_t^2$ = {_num(rf.constants.s_t2)}: the floor of the spectrum. Each panel has its "
                      "own scales.", fontsize=8)
    return fig
