"""Phase-diagram figures. Each function returns a matplotlib Figure; nothing is saved here."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_phase_nd"]


def plot_phase_nd(diagram=None, **kwargs):
    """(n, d) phase diagram of collapse: t_C colour map, the n*(d) curve and the Regime-II window.

    Parameters
    ----------
    diagram : regimes.phase.NDPhaseDiagram, optional
        Precomputed data; otherwise ``kwargs`` go to :func:`regimes.phase.nd_phase_diagram`.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Left panel: ``t_C = ½ log1p(σ²/expm1(2 ln n/d))`` with labelled contours and the curve
    ``n*(d) = e^{α* d}`` along which ``t_C`` equals the target (the curse of dimensionality: a
    straight line in ``log n`` against ``d``). Right panel (when Λ or a separation is given): the
    width ``t_S - t_C`` of Regime II where it exists, and its boundary ``t_C = t_S``.

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """
    from matplotlib.figure import Figure

    from ..phase import nd_phase_diagram

    pdg = diagram if diagram is not None else nd_phase_diagram(**kwargs)
    two = pdg.t_S is not None
    fig = Figure(figsize=(11.5 if two else 6.2, 4.8), layout="constrained")
    axes = fig.subplots(1, 2 if two else 1, squeeze=False)[0]
    D, N = np.meshgrid(pdg.d, pdg.n)

    ax = axes[0]
    mesh = ax.pcolormesh(D, N, pdg.t_C, cmap="cividis", shading="auto")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("collapse time t_C (OU time)")
    levels = [lv for lv in (0.1, 0.25, 0.5, 1.0, 2.0, 3.0)
              if pdg.t_C.min() < lv < pdg.t_C.max() and abs(lv - pdg.target) > 1e-9]
    if levels:
        cs = ax.contour(D, N, pdg.t_C, levels=levels, colors="white", linewidths=0.8)
        ax.clabel(cs, fmt=lambda v: f"{v:g}", fontsize=8)
    with np.errstate(over="ignore"):
        n_star = 10.0 ** pdg.log10_n_star
    inside = (n_star >= pdg.n[0]) & (n_star <= pdg.n[-1])
    if inside.any():
        ax.plot(pdg.d[inside], n_star[inside], color="#d55e00", lw=2.2, ls="--",
                label=f"n*(d): t_C = {pdg.target:g}")
        ax.legend(loc="lower right", fontsize=8, framealpha=0.85)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel("training-set size n")
    ax.set_title(f"Collapse of N(0, σ²I) data, σ² = {pdg.variance:g}", fontsize=10)

    if two:
        ax = axes[1]
        width = np.ma.masked_invalid(pdg.regime_II_width)
        mesh = ax.pcolormesh(D, N, width, cmap="viridis", shading="auto")
        cb = fig.colorbar(mesh, ax=ax)
        cb.set_label("width of Regime II, t_S − t_C")
        diff = pdg.t_S[None, :] - pdg.t_C
        if np.nanmin(diff) < 0 < np.nanmax(diff):
            ax.contour(D, N, np.nan_to_num(diff, nan=-1.0), levels=[0.0], colors="#d55e00", linewidths=2)
        if pdg.separation is not None:
            n_asym = np.exp(pdg.variance / (2.0 * pdg.separation**2))
            if pdg.n[0] < n_asym < pdg.n[-1]:
                ax.axhline(n_asym, color="black", ls=":", lw=1.2,
                           label="d → ∞ boundary: σ² = 2 m̃² ln n")
                ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
        ax.set_facecolor("#dddddd")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("dimension d")
        ax.set_ylabel("training-set size n")
        what = (f"two-class mixture, m̃ = {pdg.separation:g}: Λ = d m̃² + σ²" if pdg.separation is not None
                else f"fixed Λ = {pdg.eigenvalue:g}")
        ax.set_title(f"Regime II (grey: none, t_C ≥ t_S)\n{what}", fontsize=10)
    return fig
