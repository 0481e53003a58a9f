"""Phase-diagram figures. Each function returns a matplotlib Figure; nothing is saved.

The regime timeline is :func:`regimes.plot.timeline.plot_timeline`.

Figures are created through ``matplotlib.pyplot`` (so that notebooks and sphinx-gallery display
them); close them with ``plt.close(fig)`` when drawing many. Colour maps are cividis/viridis and
line colours Okabe–Ito (colour-blind safe).
"""

from __future__ import annotations

import numpy as np

from . import OKABE_ITO as C
from . import panels

__all__ = ["plot_phase_nd", "plot_phase_np", "plot_phase_ntau"]


def _figure(figsize):
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained")


def plot_phase_nd(diagram=None, *, mark=None, ax=None, **kwargs):
    """(n, d) phase diagram of collapse: t_C colour map, the n*(d) curve and the Regime-II window.

    Parameters
    ----------
    diagram : regimes.phase.NDPhaseDiagram, optional
        Precomputed data; otherwise ``kwargs`` go to :func:`regimes.phase.nd_phase_diagram`.
    mark : (d, n, label), optional
        A dataset to mark on every panel (e.g. a preset's shape).
    ax : Axes or sequence of Axes, optional
        Draw into these (one Axes, or two when the diagram has a Regime-II panel) instead of a new figure.

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
    from ..phase import nd_phase_diagram

    pdg = diagram if diagram is not None else nd_phase_diagram(**kwargs)
    two = pdg.t_S is not None
    fig, axes = panels(ax, 2 if two else 1, (11.5 if two else 6.2, 4.8))
    D, N = np.meshgrid(pdg.d, pdg.n)

    ax = axes[0]
    mesh = ax.pcolormesh(D, N, pdg.t_C, cmap="cividis", shading="auto")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("collapse time $t_C$ (OU time)")
    levels = [
        lv
        for lv in (0.1, 0.25, 0.5, 1.0, 2.0, 3.0)
        if pdg.t_C.min() < lv < pdg.t_C.max() and abs(lv - pdg.target) > 1e-9
    ]
    if levels:
        cs = ax.contour(D, N, pdg.t_C, levels=levels, colors="black", linewidths=0.7, alpha=0.8)
        for lab in ax.clabel(cs, fmt=lambda v: f"{v:g}", fontsize=8):
            lab.set_bbox(dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.85))
    with np.errstate(over="ignore"):
        n_star = 10.0**pdg.log10_n_star
    inside = (n_star >= pdg.n[0]) & (n_star <= pdg.n[-1])
    if inside.any():
        ax.plot(
            pdg.d[inside],
            n_star[inside],
            color=C["vermillion"],
            lw=2.2,
            ls="--",
            label=f"$n^*(d)$: $t_C$ = {pdg.target:g}",
        )
        # below the axes: inside, any corner can hide a contour label (e.g. "3" at lower right)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, frameon=False)
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
        cb.set_label("width of Regime II, $t_S - t_C$")
        diff = pdg.t_S[None, :] - pdg.t_C
        finite = diff[np.isfinite(diff)]  # all NaN where Λ <= 1 everywhere (no speciation)
        if finite.size and finite.min() < 0 < finite.max():
            ax.contour(
                D,
                N,
                np.nan_to_num(diff, nan=-1.0),
                levels=[0.0],
                colors=C["vermillion"],
                linewidths=2,
            )
            ax.plot([], [], color=C["vermillion"], lw=2, label="$t_C = t_S$: edge of Regime II")
            ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
        if pdg.separation is not None:
            with np.errstate(over="ignore"):  # a tiny m̃: the boundary is off the axes (inf)
                n_asym = np.exp(pdg.variance / (2.0 * pdg.separation**2))
            if pdg.n[0] < n_asym < pdg.n[-1]:
                ax.axhline(
                    n_asym, color="black", ls=":", lw=1.2, label="d → ∞ boundary: σ² = 2 m̃² ln n"
                )
                ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
        ax.set_facecolor("#dddddd")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("dimension d")
        ax.set_ylabel("training-set size n")
        what = (
            f"two-class mixture, m̃ = {pdg.separation:g}: Λ = d m̃² + σ²"
            if pdg.separation is not None
            else f"fixed Λ = {pdg.eigenvalue:g}"
        )
        ax.set_title(f"Regime II (grey: none, $t_C \\geq t_S$)\n{what}", fontsize=10)
    if mark is not None:
        md, mn, mlab = mark
        for ax in axes:
            if pdg.d[0] <= md <= pdg.d[-1] and pdg.n[0] <= mn <= pdg.n[-1]:
                _mark_model(ax, md, mn, mlab)
    return fig


def _mark_model(ax, x, y, label):
    """A model on a diagram: a purple star with black and white edges (visible on light and dark
    colour maps), its name on a white ground."""
    ax.plot([x], [y], marker="*", ms=17, color="white", ls="none", zorder=5, gid="model-marker")
    ax.plot([x], [y], marker="*", ms=13, color=C["purple"], mec="black", mew=1.0, ls="none",
            zorder=6, label=None if label is None else f"{label}", gid="model-marker")
    if label is not None:
        ax.annotate(str(label), (x, y), xytext=(8, -8), textcoords="offset points", fontsize=8, va="top",
                    zorder=7, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.3", alpha=0.95))


_REGION_COLOURS = (C["sky"], C["orange"], C["vermillion"])
_TGEN, _TMEM = "$\\tau_{\\rm gen}$", "$\\tau_{\\rm mem}$"
_RATIO = "$\\tau_{\\rm mem}/\\tau_{\\rm gen}$"
_GAMMA_NOTE = ("$\\Gamma_t^2 = e^{-2t}\\sigma_x^2 + \\Delta_t$ ($= 1$ for $\\sigma_x^2 = 1$), "
               "$\\Delta_t = 1 - e^{-2t}$; $\\kappa_1$, $v_t$: activation constants")
_NO_MEMORISATION_GREY = "#d9d9d9"


def _region_map(ax, X, Y, region, colours, alpha=0.85):
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap(colours)
    return ax.pcolormesh(
        X,
        Y,
        region,
        cmap=cmap,
        norm=BoundaryNorm([-0.5, 0.5, 1.5, 2.5], 3),
        shading="auto",
        alpha=alpha,
        linewidth=0,
        rasterized=True,
    )


def _label_regions(ax, X, Y, region, names):
    """Write each region's name at the geometric centre (log axes) of its cells."""
    for code, name in enumerate(names):
        mask = region == code
        if mask.sum() < 4:
            continue
        x = 10 ** np.median(np.log10(X[mask]))
        y = 10 ** np.median(np.log10(Y[mask]))
        ax.text(
            x,
            y,
            name,
            ha="center",
            va="center",
            fontsize=8.5,
            bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="0.5", alpha=0.9),
        )


def plot_phase_np(diagram=None, *, mark=None, ax=None, **kwargs):
    """(ψ_n, ψ_p) — or (n, p) — phase diagram of memorisation in the random-features model.

    Parameters
    ----------
    diagram : regimes.phase.NPPhaseDiagram, optional
        Precomputed data; otherwise ``kwargs`` go to :func:`regimes.phase.np_phase_diagram`.
        When the diagram carries ``d`` the axes are n and p; otherwise ψ_n = n/d and ψ_p = p/d.
    mark : (x, y, label), optional
        A model to mark, in the units of the axes (n and p, or ψ_n and ψ_p).
    ax : Axes or sequence of Axes, optional
        Draw into these (one Axes, or two when the gap panel is computed) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Left: the three regions at the chosen training time τ — no memorisation below the
    interpolation line p = n, dynamical regularisation where τ < τ_mem, memorisation where
    τ ≥ τ_mem — with contours of the convention-free ratio τ_mem/τ_gen = ψ_n Γ_t²κ_1²/v_t²
    (leading order; independent of ψ_p). Right (when computed): the long-time generalisation gap
    of sampled finite-d instances, which is large only above the interpolation line.

    References
    ----------
    .. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025).
    """
    from ..phase import NP_REGIONS, np_phase_diagram

    pdg = diagram if diagram is not None else np_phase_diagram(**kwargs)
    two = pdg.gap is not None
    fig, axes = panels(ax, 2 if two else 1, (11.8 if two else 6.6, 5.0))
    scale = pdg.d if pdg.d is not None else 1.0
    xs, ys = pdg.psi_n * scale, pdg.psi_p * scale
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    xl, yl = (
        ("training-set size n", "number of random features p")
        if pdg.d is not None
        else ("$\\psi_n = n/d$", "$\\psi_p = p/d$")
    )

    ax = axes[0]
    _region_map(ax, X, Y, pdg.region, _REGION_COLOURS, alpha=0.55)
    _tau_mem_out_of_range(ax, X, Y, pdg)
    k = float(pdg.tau_ratio[0, 0] / xs[0])  # τ_mem/τ_gen per unit of the x axis (∝ n)
    sec = ax.secondary_xaxis("top", functions=(lambda x: x * k, lambda r: r / k))
    sec.set_xlabel(f"{_RATIO}  (leading order, ∝ $n$, independent of $p$)", fontsize=9)
    lo, hi = max(xs[0], ys[0]), min(xs[-1], ys[-1])
    if lo < hi:
        ax.plot([lo, hi], [lo, hi], color=C["black"], lw=1.8, label="interpolation line p = n")
    nm = pdg.psi_n_mem * scale
    if xs[0] < nm < xs[-1]:
        ax.plot(
            [nm, nm],
            [max(nm, ys[0]), ys[-1]],
            color=C["blue"],
            lw=1.8,
            ls="--",
            label=f"{_TMEM} = $\\tau$  ($\\tau$ = {pdg.training_time:g} {_TGEN})",
        )
    _label_regions(
        ax,
        X,
        Y,
        pdg.region,
        ["no memorisation\n(p ≤ n)", "dynamical\nregularisation", "memorisation"],
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    if ax.get_legend_handles_labels()[0]:  # (none when no line crosses the ranges drawn)
        ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    d_txt = f", d = {pdg.d:g}" if pdg.d is not None else ""
    ax.set_title(
        f"Random-features score model ({pdg.activation}), OU time t = {pdg.t:g}{d_txt};\n"
        f"regions at training time $\\tau$ = {pdg.training_time:g} {_TGEN} (leading order)",
        fontsize=10,
        loc="left",
    )
    assert len(NP_REGIONS) == 3
    if mark is not None:
        _mark_model(ax, mark[0], mark[1], mark[2])

    if two:
        ax = axes[1]
        mesh = ax.pcolormesh(X, Y, pdg.gap, cmap="cividis", shading="auto")
        cb = fig.colorbar(mesh, ax=ax)
        cb.set_label("long-time gap $L_{\\rm test}(\\infty) - L_{\\rm train}(\\infty)$")
        if lo < hi:
            ax.plot([lo, hi], [lo, hi], color="white", lw=1.8, label="p = n")
            ax.legend(loc="lower right", fontsize=8, framealpha=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(
            f"generalisation gap after training to convergence\n(sampled instances, "
            f"d = {pdg.gap_d})",
            fontsize=10,
        )
    return fig


def plot_phase_ntau(diagram=None, *, mark=None, lr=None, window=None, ax=None, **kwargs):
    """(n, τ) plane of the random-features model: τ_gen flat, τ_mem ∝ n, the window between.

    Parameters
    ----------
    diagram : regimes.phase.NTauPhaseDiagram, optional
        Precomputed data; otherwise ``kwargs`` go to :func:`regimes.phase.ntau_phase_diagram`.
    mark : (n, label), optional
        A model's training-set size, marked by a vertical line with its τ_gen and τ_mem.
    lr : float, optional
        Learning rate η: a right axis gives the training time in optimiser steps k = τ d²/η
        (the convention τ = ηk/d² of full-batch gradient descent on the loss L).
    window : mapping, optional
        The loss-curve window (``window_n``, ``tau_best``, ``tau_gap``, ``gap_tolerance``, as the
        ``regimes phase-diagram ntau`` payload gives it): τ_best and τ_gap drawn over the plane, in
        the figure's legend below the axes (where it covers neither the curves nor the region names).
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; its figure is returned.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Regions of :func:`regimes.rmt.training_regimes`: τ < τ_gen (the score is still being learned),
    τ_gen ≤ τ < τ_mem (generalisation window, width τ_mem/τ_gen ∝ n) and τ ≥ τ_mem (memorisation).
    Hatched: n ≥ p, beyond the interpolation line, where the model cannot memorise; there the
    region above τ_mem is grey (no memorisation) and τ_mem is only a dotted guide.
    τ is the gradient-flow time dA/dτ = −d²∇_A L.

    References
    ----------
    .. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025).
    """
    from ..phase import ntau_phase_diagram

    pdg = diagram if diagram is not None else ntau_phase_diagram(**kwargs)
    if ax is None:
        fig = _figure((7.0, 5.6))
        ax = fig.subplots()
    else:
        fig = ax.figure
    X, Y = np.meshgrid(pdg.n, pdg.tau, indexing="ij")
    # n ≥ p (not interpolating) cannot memorise: no memorisation colour there, grey instead
    no_mem = ~np.asarray(pdg.interpolating)[:, None] & (pdg.region == 2)
    _region_map(ax, X, Y, np.ma.masked_where(no_mem, pdg.region), _REGION_COLOURS, alpha=0.55)
    if no_mem.any():
        from matplotlib.colors import ListedColormap

        ax.pcolormesh(X, Y, np.ma.masked_where(~no_mem, np.zeros(no_mem.shape)),
                      cmap=ListedColormap([_NO_MEMORISATION_GREY]), shading="auto", linewidth=0,
                      rasterized=True)
    ax.axhline(pdg.tau_gen, color=C["blue"], lw=2,
               label=f"{_TGEN} = $1/(2\\Delta_t\\Gamma_t^2\\kappa_1^2)$  (flat in $n$)")
    _tau_mem_lines(ax, pdg)
    if pdg.n[0] < pdg.p < pdg.n[-1]:
        ax.axvspan(pdg.p, pdg.n[-1], facecolor="none", hatch="//", edgecolor="0.35", lw=0)
        # its legend entry: an empty patch drawn as a grey hatched box (the span's own glyph, edgeless,
        # showed as a stray stroke)
        ax.fill_between([], [], [], facecolor=_NO_MEMORISATION_GREY, hatch="///", edgecolor="0.35", lw=0.6,
                        label="n ≥ p: cannot memorise (grey: no memorisation)")
        ax.axvline(
            pdg.p, color="0.35", lw=1.2, ls="--", label=f"interpolation line n = p = {pdg.p:g}"
        )
    _label_regions(
        ax,
        X,
        Y,
        np.where(pdg.interpolating[:, None] | (pdg.region != 2), pdg.region, -1),
        ["score not yet learned", "generalisation window", "memorisation"],
    )
    if mark is not None:
        mn = float(mark[0])
        ax.axvline(mn, color=C["purple"], lw=1.6, ls="-.", label=f"{mark[1]}: $n$ = {mn:g}")
        tm = float(np.interp(np.log(mn), np.log(pdg.n), pdg.tau_mem))
        _mark_model(ax, mn, tm, None)
        ax.plot([mn], [pdg.tau_gen], marker="o", ms=8, color=C["purple"], mec="black", ls="none")
    if window is not None:
        _window_curves(ax, window)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(pdg.n[0], pdg.n[-1])
    ax.set_ylim(pdg.tau[0], pdg.tau[-1])
    if lr is not None:
        k = pdg.d * pdg.d / float(lr)
        if not (np.isfinite(k) and k > 0 and np.isfinite(pdg.tau[-1] * k) and pdg.tau[0] * k > 0):
            raise ValueError(f"lr={float(lr)!r}: the step axis k = τ d²/η overflows or vanishes over "
                             f"τ {pdg.tau[0]:.3g} … {pdg.tau[-1]:.3g} at d = {pdg.d:g}")
        sec = ax.secondary_yaxis("right", functions=(lambda tau: tau * k, lambda s: s / k))
        sec.set_ylabel(f"optimiser steps $k = \\tau d^2/\\eta$  ($\\eta$ = {float(lr):g}, full batch)",
                       fontsize=9)
    ax.set_xlabel("training-set size n")
    ax.set_ylabel("training time τ  (gradient flow dA/dτ = −d²∇L)")
    fig.legend(loc="outside lower center", ncols=1, fontsize=8, frameon=False)
    ax.set_title(
        f"Random-features model ({pdg.activation}): d = {pdg.d:g}, p = {pdg.p:g}, "
        f"OU time t = {pdg.t:g}",
        fontsize=10,
    )
    return fig


def _tau_mem_out_of_range(ax, X, Y, pdg):
    """Dots over the (n, p) cells where τ_mem is outside its range (s_t²/v_t² not ≪ ψ_p/ψ_n, p > n):
    there the memorisation boundary drawn from τ_mem starts too late (only indicative)."""
    ok = getattr(pdg, "tau_mem_in_range", None)
    if ok is None:
        return
    out = ~np.asarray(ok, dtype=bool) & (Y > X)  # (beyond p ≤ n there is no memorisation anyway)
    if not out.any():
        return
    ax.contourf(X, Y, out.astype(float), levels=[0.5, 1.5], colors="none", hatches=[".."])
    ax.fill_between([], [], [], facecolor="none", hatch="..", edgecolor="0.3", lw=0,
                    label=f"{_TMEM} outside its range here: the memorisation\nboundary is too late (only indicative)")


def _tau_mem_lines(ax, pdg):
    """τ_mem: solid where it is a memorisation time in its range; dashed where it is out of range
    (s_t²/v_t² not ≪ ψ_p/ψ_n: too late), with the slow bulk's τ there; dotted beyond n = p."""
    mem_ok = np.asarray(pdg.interpolating)
    rng_ok = np.ones_like(mem_ok) if pdg.tau_mem_in_range is None else np.asarray(pdg.tau_mem_in_range, bool)
    good, loose = mem_ok & rng_ok, mem_ok & ~rng_ok
    # each piece reaches its neighbour's first point, so that the line stays continuous
    ax.plot(pdg.n, np.where(good | np.roll(good & ~np.r_[False, good[:-1]], -1) & loose, pdg.tau_mem, np.nan),
            color=C["black"], lw=2, label=f"{_TMEM} = $(n/d)/(2\\Delta_t v_t^2)$  (∝ $n$)")
    if loose.any():
        ax.plot(pdg.n, np.where(loose, pdg.tau_mem, np.nan), color=C["black"], lw=1.3, ls="--",
                label=f"{_TMEM} outside its range ($s_t^2/v_t^2$ not ≪ $\\psi_p/\\psi_n$): too late")
        if pdg.tau_slow is not None:
            ax.plot(pdg.n, np.where(loose, pdg.tau_slow, np.nan), color=C["black"], lw=1.3, ls="-.",
                    label=r"$\tau_{\rm slow}$: slow-bulk relaxation (use there)")
    ax.plot([], [], " ", label=_GAMMA_NOTE)
    if not mem_ok.all():  # continued faintly where it is no memorisation time (n ≥ p)
        ax.plot(pdg.n, np.where(mem_ok, np.nan, pdg.tau_mem), color=C["black"], lw=1, ls=":",
                label="_nolegend_")


def _window_curves(ax, win):
    """τ_best and τ_gap of the loss curves against n (labelled for the figure's legend)."""
    ax.plot(win["window_n"], win["tau_best"], "o-", color="tab:green", lw=1.5,
            label=r"$\tau_{\rm best} = \arg\min\, L_{\rm test}$ (loss curves)")
    ax.plot(win["window_n"], win["tau_gap"], "s--", color="tab:red", lw=1.5,
            label=rf"$\tau_{{\rm gap}}$: $L_{{\rm test}} - L_{{\rm train}} = {win['gap_tolerance']:g}$")
