"""The three regimes on the OU-time axis, with a secondary axis in a sampler's steps (or EDM σ)."""

from __future__ import annotations

import math

import numpy as np

from . import OKABE_ITO as C

__all__ = ["plot_timeline"]

_COLORS = {"I": C["sky"], "II": C["orange"], "III": C["vermillion"]}
_NAMES = {"I": "I: noise", "II": "II: classes formed", "III": "III: collapse"}


def plot_timeline(t_S, t_C, schedule="linear", steps: int | None = None, *, t_max=None,
                  intervals=None):
    """Regime bands over OU time t, with the sampler's steps (or EDM σ) on a secondary axis.

    Parameters
    ----------
    t_S, t_C : float
        Speciation and collapse times (t_S NaN: no speciation).
    schedule : {"linear", "cosine", "scaled-linear", "edm"}, DiscreteSchedule or EDMSampler
        A sampler, or its name (:func:`regimes.schedules.get_sampler`). A discrete schedule puts
        its step index on the top axis; the EDM sampler puts the noise level σ = √expm1(2t)
        there and marks its N noise levels (:class:`regimes.schedules.EDMSampler`).
    steps : int, optional
        T for a discrete schedule (default 1000), N for EDM (default 18).
    t_max : float, optional
        Right end of the axis; default the schedule's last time (EDM: σ_max) or 1.3·max(t_S, t_C).
    intervals : list of (low, high), optional
        Intervals of t_S and t_C (same order), drawn as grey bands and quoted in the labels.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Backward sampling runs from right (noise) to left (data). Regime I: t > t_S; II: t_C < t < t_S;
    III: t < t_C [DR]. The step axis maps t to the first step k with t_k >= t (docs/conventions.md);
    times beyond the schedule's last step (or above σ_max) are hatched and have no step.
    t = ½ ln(1 + σ²).

    References
    ----------
    .. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, arXiv:2402.18491 (2024).
    .. [EDM] T. Karras, M. Aittala, T. Aila, S. Laine, arXiv:2206.00364 (2022).
    """
    import matplotlib.pyplot as plt

    from ..schedules import EDMSampler, get_sampler

    sch = get_sampler(schedule, steps)
    edm = isinstance(sch, EDMSampler)
    t_end = sch.t_max
    finite = [x for x in (t_S, t_C) if x is not None and math.isfinite(x)]
    hi = t_max if t_max is not None else max(t_end * (1.05 if edm else 1.0), 1.3 * max(finite or [1.0]))
    fig, ax = plt.subplots(figsize=(8, 2.8 if edm else 2.6), constrained_layout=True)
    _draw_regimes(fig, ax, t_S, t_C, hi, intervals)
    ax.set_xlabel("OU time t  (sampling runs right to left)")
    if hi > t_end:
        ax.axvspan(t_end, hi, facecolor="none", hatch="//", edgecolor="0.4", lw=0)
        if not edm:  # the "beyond" note in the widest gap between the lines past the schedule
            cuts = sorted({t_end, hi, *(x for x in finite if t_end < x < hi)})
            a, b = max(zip(cuts[:-1], cuts[1:], strict=True), key=lambda ab: ab[1] - ab[0])
            ax.text(0.5 * (a + b), 0.2, "beyond the\nschedule", ha="center", va="center",
                    fontsize=7, transform=ax.get_xaxis_transform())
    if edm:
        _edm_axis(ax, sch.sigmas, sch.times, hi)
    else:
        _step_axis(ax, sch)
    return fig


def _draw_regimes(fig, ax, t_S, t_C, hi, intervals=None):
    """Regime bands, the t_S / t_C lines with their labels (and interval bands), x limits."""
    from ..timeline import regime_intervals

    for r in regime_intervals(t_S, t_C):
        lo_, hi_ = r["t_min"], min(r["t_max"], hi)
        ax.axvspan(lo_, hi_, color=_COLORS[r["name"]], alpha=0.55, lw=0)
        ax.text(0.5 * (lo_ + hi_), 0.5, _NAMES[r["name"]], ha="center", va="center", fontsize=9,
                transform=ax.get_xaxis_transform())
    # the two labels on different heights, so that they cannot overlap however close t_S and t_C
    # are; each is then written on the side of its line where it crosses no other line
    labels = []
    for x, lab, ci, y in zip((t_S, t_C), ("t$_S$", "t$_C$"), intervals or (None, None), (0.9, 0.76),
                             strict=False):
        if x is not None and math.isfinite(x):
            text = f" {lab} = {x:.3g}"
            if ci is not None and all(c is not None and math.isfinite(c) for c in ci):
                # the interval as a grey band the full height of the axis (a narrow interval merges
                # into the line) and in the label, rather than as a whisker that looks like a marker;
                # enough significant digits for the ends to differ
                w = abs(ci[1] - ci[0])
                sig = 3 if w <= 0 else int(min(8, max(3, math.ceil(math.log10(max(abs(x), w) / w)) + 1)))
                ax.axvspan(ci[0], ci[1], color="k", alpha=0.2, lw=0)
                text = f" {lab} = {x:.{sig}g} [{ci[0]:.{sig}g}, {ci[1]:.{sig}g}]"
            ax.axvline(x, color="k", lw=1.2)
            labels.append((x, ax.text(x, y, text, fontsize=8, va="center", ha="left",
                                      transform=ax.get_xaxis_transform())))
    if t_S is None or not math.isfinite(t_S):
        ax.text(0.99, 0.9, "no speciation (Λ ≤ 1)", ha="right", va="center", fontsize=8, transform=ax.transAxes)
    ax.set_xlim(0, hi)
    ax.set_yticks([])
    _fit_band_labels(ax)
    _place_labels(fig, ax, labels, [x for x in (t_S, t_C) if x is not None and math.isfinite(x)])


def _spread(candidates, to_t, xlim, min_frac=0.07):
    """Keep tick values whose OU-time positions are at least ``min_frac`` of the axis apart
    (preferring the larger values, which sit where the axis is not crowded)."""
    width = xlim[1] - xlim[0]
    kept, last = [], math.inf
    for v in sorted(candidates, reverse=True):
        x = to_t(v)
        if x <= xlim[1] and last - x >= min_frac * width:
            kept.append(v)
            last = x
    return sorted(kept)


def _step_axis(ax, sch):
    """Top axis in the schedule's step index k. The map stays finite beyond the last step (a
    linear continuation: matplotlib needs finite limits); ticks are spread evenly in OU time."""
    ts, T = sch.times, sch.steps
    slope = 1.0 / max(ts[-1] - ts[-2], 1e-12) if T > 1 else 1.0  # steps per unit t at the noisy end
    ks = np.arange(T)

    def t2k(t):
        t = np.asarray(t, dtype=float)
        return np.where(t <= ts[-1], np.interp(t, ts, ks), T - 1 + (t - ts[-1]) * slope)

    def k2t(k):
        k = np.asarray(k, dtype=float)
        return np.where(k <= T - 1, np.interp(k, ks, ts), ts[-1] + (k - (T - 1)) / slope)

    sec = ax.secondary_xaxis("top", functions=(t2k, k2t))
    cand = sorted({0, T - 1, *(int(round(T * f / 20)) for f in range(1, 20))})
    keep = _spread(cand, lambda k: float(ts[min(k, T - 1)]), ax.get_xlim())
    sec.set_xticks(keep)
    sec.set_xticklabels([str(k) for k in keep], fontsize=8)
    sec.set_xlabel(f"step k of the {sch.name} schedule ({sch.steps} steps; last step at t = {sch.t_max:.3g})",
                   fontsize=9)


def _edm_axis(ax, sig, t_levels, hi):
    """Top axis in the EDM noise level σ, with the sampler's N levels marked."""
    for tv in t_levels:
        ax.plot([tv, tv], [0.0, 0.08], color="k", lw=1, transform=ax.get_xaxis_transform())
    ax.text(float(t_levels[0]), 0.12, f"EDM sampler levels (N = {sig.size})", fontsize=7, ha="right",
            transform=ax.get_xaxis_transform())

    def t2s(t):
        with np.errstate(over="ignore", invalid="ignore"):
            return np.sqrt(np.expm1(2.0 * np.clip(t, 0.0, None)))

    def s2t(s):
        return 0.5 * np.log1p(np.clip(s, 0.0, None) ** 2)

    sec = ax.secondary_xaxis("top", functions=(t2s, s2t))
    cand = [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320, 640]
    ticks = _spread([v for v in cand if s2t(v) <= hi], lambda v: float(s2t(v)), ax.get_xlim())
    sec.set_xticks(ticks)
    sec.set_xticklabels([f"{v:g}" for v in ticks], fontsize=8)
    sec.set_xlabel(f"EDM noise level σ = √(e^(2t) − 1)  (σ_max = {sig[0]:g}, hatched: beyond it)", fontsize=9)


def _fit_band_labels(ax):
    """Shorten the names of regime bands too narrow for them (no text outside its band)."""
    x0, x1 = ax.get_xlim()
    spans = [p for p in ax.patches if p.get_hatch() is None]
    for txt in ax.texts:
        name = txt.get_text()
        if not name.startswith(("I:", "II:", "III:")):
            continue
        xc = txt.get_position()[0]
        width = None
        for p in spans:
            if hasattr(p, "get_width"):  # Rectangle (axvspan in matplotlib >= 3.9)
                xs = [p.get_x(), p.get_x() + p.get_width()]
            else:
                xs = [float(v[0]) for v in np.atleast_2d(p.get_xy())]
            if xs and min(xs) <= xc <= max(xs):
                width = (max(xs) - min(xs)) / (x1 - x0)
                break
        if width is not None and width < 0.018 * len(name):
            label, _, rest = name.partition(": ")
            txt.set_text(label if width < 0.06 else f"{label}:\n" + rest.replace(" ", "\n"))
            txt.set_fontsize(8)


def _place_labels(fig, ax, labels, lines):
    """Write each (x, text) label right of its line unless it would cross another line or the
    right edge there, in which case (and if it fits) left of it."""
    fig.canvas.draw()  # text extents need a renderer
    inv = ax.transData.inverted()
    x_lo, x_hi = ax.get_xlim()
    def sides(txt, x):
        bb = txt.get_window_extent()
        width = inv.transform((bb.x1, 0))[0] - inv.transform((bb.x0, 0))[0]
        free_right = x + width <= x_hi and not any(x < o < x + width for o in lines)
        free_left = x - width >= x_lo and not any(x - width < o < x for o in lines)
        return free_right, free_left

    for x, txt in labels:
        free_right, free_left = sides(txt, x)
        if not (free_right or free_left) and " [" in txt.get_text():
            # no room for the interval in the label: the grey band still shows it
            txt.set_text(txt.get_text().split(" [")[0])
            free_right, free_left = sides(txt, x)
        if not free_right and free_left:
            txt.set_text(txt.get_text().strip() + " ")
            txt.set_horizontalalignment("right")
