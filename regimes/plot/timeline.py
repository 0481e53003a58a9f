"""The three regimes on the OU-time axis, with a secondary axis in a sampler's steps."""

from __future__ import annotations

import math

import numpy as np

from . import OKABE_ITO as C

__all__ = ["plot_timeline"]

_COLORS = {"I": C["sky"], "II": C["orange"], "III": C["vermillion"]}
_NAMES = {"I": "I: noise", "II": "II: classes formed", "III": "III: collapse"}


def plot_timeline(t_S, t_C, schedule: str = "linear", steps: int = 1000, *, t_max=None,
                  intervals=None):
    """Regime bands over OU time t, with the schedule's step index on a secondary axis.

    Parameters
    ----------
    t_S, t_C : float
        Speciation and collapse times (t_S NaN: no speciation).
    schedule, steps
        Discrete schedule for the step axis (:func:`regimes.get_schedule`).
    t_max : float, optional
        Right end of the axis; default the schedule's last time or 1.3·max(t_S, t_C).
    intervals : list of (low, high), optional
        Intervals of t_S and t_C (same order), drawn as grey bands and quoted in the labels.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Backward sampling runs from right (noise) to left (data). Regime I: t > t_S; II: t_C < t < t_S;
    III: t < t_C [DR]. The step axis maps t to the first step k with t_k >= t (SPEC §1); times
    beyond the schedule's last step have no step.

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """
    import matplotlib.pyplot as plt

    from ..schedules import get_schedule
    from ..timeline import regime_intervals

    sch = get_schedule(schedule, steps)
    regs = regime_intervals(t_S, t_C)
    finite = [x for x in (t_S, t_C) if x is not None and math.isfinite(x)]
    hi = t_max if t_max is not None else max(sch.t_max, 1.3 * max(finite or [1.0]))
    fig, ax = plt.subplots(figsize=(8, 2.6), constrained_layout=True)
    for r in regs:
        lo_, hi_ = r["t_min"], min(r["t_max"], hi)
        ax.axvspan(lo_, hi_, color=_COLORS[r["name"]], alpha=0.55, lw=0)
        label = _NAMES[r["name"]] if hi_ - lo_ >= 0.18 * hi else r["name"]  # narrow band: numeral only
        ax.text(0.5 * (lo_ + hi_), 0.5, label, ha="center", va="center", fontsize=9,
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
    ax.set_xlim(0, hi)
    _place_labels(fig, ax, labels, [x for x in (t_S, t_C) if x is not None and math.isfinite(x)])
    ax.set_yticks([])
    ax.set_xlabel("OU time t  (sampling runs right to left)")
    ts = sch.times
    ks = np.arange(ts.size, dtype=float)
    slope = (ks[-1] - ks[-2]) / (ts[-1] - ts[-2]) if ts.size > 1 else 1.0

    def t2k(t):
        # finite everywhere (matplotlib needs finite limits): linear continuation past the last
        # step; the region beyond the schedule is hatched and carries no step ticks
        t = np.asarray(t, dtype=float)
        return np.where(t > ts[-1], ks[-1] + (t - ts[-1]) * slope, np.interp(t, ts, ks))

    def k2t(k):
        k = np.asarray(k, dtype=float)
        return np.where(k > ks[-1], ts[-1] + (k - ks[-1]) / slope, np.interp(k, ks, ts))

    sec = ax.secondary_xaxis("top", functions=(t2k, k2t))
    from matplotlib.ticker import MaxNLocator

    cand = [k for k in MaxNLocator(8, integer=True).tick_values(0, ks[-1]) if 0 <= k <= ks[-1]]
    if ks[-1] not in cand:
        cand.append(ks[-1])
    kept, last_t = [], -np.inf
    for k in sorted(cand):  # drop ticks that would crowd each other on the OU-time axis
        tk = float(k2t(k))
        if tk <= hi and tk - last_t >= 0.06 * hi:
            kept.append(k)
            last_t = tk
    if ks[-1] not in kept and float(ts[-1]) <= hi:
        if kept and ts[-1] - float(k2t(kept[-1])) < 0.06 * hi:
            kept.pop()
        kept.append(ks[-1])
    sec.set_xticks(kept)
    sec.set_xticklabels([str(int(k)) for k in kept])
    sec.set_xlabel(f"step k of the {sch.name} schedule ({sch.steps} steps; last step at t = {sch.t_max:.3g})",
                   fontsize=9)
    if hi > sch.t_max:
        ax.axvspan(sch.t_max, hi, facecolor="none", hatch="//", edgecolor="0.4", lw=0)
        ax.text(0.5 * (sch.t_max + hi), 0.25, "beyond the\nschedule", ha="center", va="center",
                fontsize=7, transform=ax.get_xaxis_transform())
    return fig


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
