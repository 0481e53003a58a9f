"""The three regimes on the OU-time axis, with a secondary axis in a sampler's steps (or EDM σ)."""

from __future__ import annotations

import math

import numpy as np

from . import OKABE_ITO as C
from . import panels

__all__ = ["plot_timeline", "plot_timeline_compare"]

_COLORS = {"I": C["sky"], "II": C["orange"], "III": C["vermillion"]}
_NAMES = {"I": "I: noise", "II": "II: classes formed", "III": "III: collapse"}


def plot_timeline(t_S, t_C, schedule="linear", steps: int | None = None, *, t_max=None,
                  intervals=None, axis: str = "time", ax=None, title: str | None = None,
                  no_speciation_reason: str | None = None, t_C_estimator: str | None = None,
                  t_C_caveat: str | None = None):
    """Regime bands over OU time t (or over the sampler's steps), each transition labelled with
    its OU time and its step.

    Parameters
    ----------
    t_S, t_C : float
        Speciation and collapse times (t_S NaN: no speciation).
    schedule : {"linear", "cosine", "scaled-linear", "edm"}, DiscreteSchedule or EDMSampler
        A sampler, or its name (:func:`regimes.schedules.get_sampler`).
    steps : int, optional
        T for a discrete schedule (default 1000), N for EDM (default 18).
    t_max : float, optional
        Right end of the OU-time axis; default the schedule's last time (EDM: σ_max) or
        1.3·max(t_S, t_C).
    intervals : list of (low, high), optional
        Intervals of t_S and t_C (same order), drawn as grey bands and quoted in the labels.
    axis : {"time", "steps"}
        x axis in OU time t (the sampler's steps, or EDM σ, on the top axis) or in the sampler's
        own step index (OU time on the top axis).
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.
    title : str, optional
        Written before the notes (no Regime II, a transition before the first step) of the title.
    no_speciation_reason : {None, "lambda <= 1", "not detectable"} or str, optional
        Why t_S is missing, for the title: ``"lambda <= 1"`` (the default when None: no speciation),
        ``"not detectable"`` (Λ > 1 but not detectable above the finite-sample noise edge), or a
        text of your own. :meth:`regimes.analysis.AnalysisResult.timeline_labels` gives it.
    t_C_estimator : str, optional
        The estimator of the drawn t_C; its label names it unless it is ``"commitment"`` (the
        headline) or None (e.g. ``"spectral"`` → "$t_C$ (spectral proxy) = …").
    t_C_caveat : str, optional
        Why the drawn t_C is not meaningful (e.g. computed with an assumed σ²): written first in
        the title, and no Regime II verdict ("no Regime II", the "no II" mark) is drawn from it.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Backward sampling runs from right (noise) to left (data). Regime I: t > t_S; II: t_C < t < t_S;
    III: t < t_C [DR]; when t_C ≥ t_S (or there is no speciation) Regime II is absent and the
    figure says so. Each transition is labelled "t_X = …, step K" with K =
    ``sampler.step_at_time(t_X)``, the step during which t_X is crossed (discrete schedules: the
    first k with t_k ≥ t, k = 0 at the data end; EDM: the last i with σ_i ≥ σ(t), step i going
    from level σ_i to σ_{i+1}, i = 0 at σ_max [EDM]); every label of a figure
    has the same number of decimals, as many as its intervals need. On the OU-time axis, times
    beyond the schedule's last step (or above σ_max) are hatched along the bottom and have no step.
    t = ½ ln(1 + σ²).

    References
    ----------
    .. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, arXiv:2402.18491 (2024).
    .. [EDM] T. Karras, M. Aittala, T. Aila, S. Laine, arXiv:2206.00364 (2022).
    """
    from .._validate import check_choice
    from ..schedules import EDMSampler, get_sampler
    from ..timeline import locate_regimes

    check_choice("axis", axis, ("time", "steps"), quoted=True)
    sch = get_sampler(schedule, steps)
    edm = isinstance(sch, EDMSampler)
    marks = _marks(t_S, t_C, locate_regimes(t_S, t_C, sch), intervals, t_C_estimator)
    sch, zero_snr = _drawable(sch)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 2.9 if edm else 2.7), constrained_layout=True)
    if axis == "steps":
        x_of, t_of, xlim = _step_coordinates(sch, edm)
        visible = (float(t_of(min(xlim))), float(sch.t_max)) if not edm else (0.0, float(sch.t_max))
        bands = _draw_regimes(ax, t_S, t_C, x_of, visible, marks, verdict=t_C_caveat is None)
        ax.set_xlim(*xlim)
        _steps_x_axis(ax, sch, edm, x_of, t_of)
    else:
        t_end = sch.t_max
        hi = t_max if t_max is not None else _default_hi(sch, edm, marks)
        bands = _draw_regimes(ax, t_S, t_C, lambda t: t, (0.0, hi), marks, verdict=t_C_caveat is None)
        ax.set_xlim(0, hi)
        ax.set_xlabel("OU time $t$  (sampling runs right to left)")
        if hi > t_end:
            _beyond(ax, t_end, hi, [m["t"] for m in marks], note=not edm)
        if edm:
            _edm_axis(ax, sch, hi)
        else:
            _step_axis(ax, sch, zero_snr)
    notes = _absent_notes(t_S, t_C, no_speciation_reason, verdict=t_C_caveat is None)
    if zero_snr:
        notes.append(f"zero terminal SNR: the last step (k = {sch.steps - 1}) is at t = ∞, drawn one step "
                     f"spacing past the previous one (t = {sch.t_max:.3g})")
    notes += [f"{m['sym']} = {m['num']}: before the first sampler step" for m in marks
              if m["step"] is None and axis == "steps"]
    heads = [x for x in (t_C_caveat, title) if x]
    if heads or notes:
        ax.set_title("; ".join(heads + notes), fontsize=9, loc="left")
    ax.set_yticks([])
    _fit_band_labels(ax, bands)
    _place_labels(ax, [(m["x"], m["artist"]) for m in marks if "artist" in m],
                  [m["x"] for m in marks if "x" in m])
    _fit_axis_labels(ax)
    return ax.figure


def plot_timeline_compare(t_S, t_C, samplers=("linear", "cosine", "scaled-linear", "edm"),
                          steps: int | None = None, *, axis: str = "time", intervals=None,
                          t_max=None, ax=None, t_C_caveat: str | None = None):
    """One dataset's regimes on several samplers, stacked (one :func:`plot_timeline` each).

    On the OU-time axis (``axis="time"``) the panels share the x axis, so that each transition
    lies on one vertical line through all of them and every panel's top axis gives its step
    there. ``steps`` applies to the discrete schedules (EDM keeps its N unless a sampler object
    is passed). ``ax``: one Axes per sampler to draw into (default: a new figure). ``t_C_caveat``:
    as in :func:`plot_timeline`, for every panel. Returns the Figure.
    """

    from ..schedules import EDMSampler, get_sampler

    smps = [s if not isinstance(s, str) or s.strip().lower() == "edm" else get_sampler(s, steps)
            for s in samplers]
    smps = [get_sampler(s) for s in smps]
    if axis == "time" and t_max is None:
        # the transitions with room around them: the shortest of the samplers' default axes
        marks = _marks(t_S, t_C, None, intervals)
        t_max = min(_default_hi(s, isinstance(s, EDMSampler), marks) for s in smps)
    fig, axes = panels(ax, len(smps), (8.5, 2.55 * len(smps) + 0.3), rows=False, sharex=(axis == "time"))
    for i, (a, s) in enumerate(zip(axes, smps, strict=True)):
        plot_timeline(t_S, t_C, s, t_max=t_max, intervals=intervals, axis=axis, ax=a, t_C_caveat=t_C_caveat)
        if axis == "time" and i < len(smps) - 1:
            a.set_xlabel("")
    return fig


def _drawable(sch):
    """``(schedule, zero_snr)``: a zero-terminal-SNR schedule (last step at t = ∞) with its last step
    moved to one step spacing past the previous one, so that it can be drawn; others as they are."""
    import dataclasses

    if math.isfinite(sch.t_max) or sch.steps < 3:
        return sch, False
    t = sch.times
    gap = float(t[-2] - t[-3])
    betas = np.array(sch.betas, dtype=float)
    betas[-1] = -math.expm1(-2.0 * gap)
    return dataclasses.replace(sch, betas=betas), True


def _default_hi(sch, edm, marks):
    return max(sch.t_max * (1.05 if edm else 1.0), 1.3 * max([m["t"] for m in marks] or [1.0]))


#: why t_S is missing, as written in the title
_NO_SPECIATION = {
    "lambda <= 1": "no speciation ($\\Lambda \\leq 1$)",
    "not detectable": "no detectable speciation ($\\Lambda$ not detectable above the noise edge)",
}
#: how a t_C label names an estimator other than the headline one
_ESTIMATOR_NAMES = {"spectral": "spectral proxy", "entropy": "$f^e/\\alpha$ = 0.1", "gaussian": "Gaussian formula"}


def _absent_notes(t_S, t_C, reason=None, verdict=True):
    """Why Regime II is absent, for the title (``verdict`` False: t_C not meaningful, no verdict from it)."""
    if t_S is None or not math.isfinite(t_S) or t_S <= 0:
        why = _NO_SPECIATION.get(reason or "lambda <= 1", reason)
        return [f"{why}: no Regime II, I goes straight to III"]
    if t_C >= t_S and verdict:
        return ["no Regime II ($t_C \\geq t_S$: collapse precedes speciation)"]
    return []


def _decimals(values, intervals, lo=2, hi=8):
    """One number of decimals for every label of a figure: at least two significant digits of
    each value, and as many as needed for the two ends of every interval to differ."""
    d = lo
    for x in values:
        if x != 0 and math.isfinite(x):
            d = max(d, 1 - math.floor(math.log10(abs(x))))
    while d < hi and any(round(a, d) == round(b, d) and a != b for a, b in intervals):
        d += 1
    return min(d, hi)


def _marks(t_S, t_C, loc, intervals, t_C_estimator=None):
    """One dict per finite transition: its symbol, OU time, interval, step and label text (t_C's
    symbol names its estimator when it is not the headline commitment one)."""
    ivs = list(intervals or ()) + [None, None]
    out = []
    sym_C = "$t_C$" if t_C_estimator in (None, "commitment") else \
        f"$t_C$ ({_ESTIMATOR_NAMES.get(t_C_estimator, t_C_estimator)})"
    for key, sym, t, ci in (("S", "$t_S$", t_S, ivs[0]), ("C", sym_C, t_C, ivs[1])):
        if t is None or not math.isfinite(t) or (key == "S" and t <= 0):
            continue
        ok = ci is not None and all(c is not None and math.isfinite(c) for c in ci)
        step = loc[f"step_{key}"] if loc is not None else None
        out.append({"key": key, "sym": sym, "t": float(t), "ci": tuple(map(float, ci)) if ok else None,
                    "step": step})
    dec = _decimals([m["t"] for m in out], [m["ci"] for m in out if m["ci"]])
    for m in out:
        m["num"] = f"{m['t']:.{dec}f}"
        iv = f" [{m['ci'][0]:.{dec}f}, {m['ci'][1]:.{dec}f}]" if m["ci"] else ""
        where = "before the first step" if m["step"] is None else f"step {m['step']}"
        m["text"] = f" {m['sym']} = {m['num']}{iv}, {where}"
    return out


def _draw_regimes(ax, t_S, t_C, x_of, visible, marks, verdict=True):
    """Regime bands between the OU times ``visible`` (drawn at x = x_of(t)), the transition
    lines with their labels (and interval bands); returns the bands as (x_a, x_b, name text)."""
    from ..timeline import regime_intervals

    t_lo, t_hi = visible
    bands = []
    for r in regime_intervals(t_S, t_C):
        a, b = sorted((float(x_of(max(r["t_min"], t_lo))), float(x_of(min(r["t_max"], t_hi)))))
        if b <= a:
            continue
        ax.axvspan(a, b, color=_COLORS[r["name"]], alpha=0.55, lw=0)
        txt = ax.text(0.5 * (a + b), 0.5, _NAMES[r["name"]], ha="center", va="center", fontsize=9,
                      transform=ax.get_xaxis_transform())
        bands.append((a, b, txt))
    # the two labels on different heights, so that they cannot overlap however close t_S and t_C
    # are; each is then written on the side of its line where it crosses no other line
    for m, y in zip(marks, (0.9, 0.76) if marks and marks[0]["key"] == "S" else (0.76,), strict=False):
        if not t_lo <= m["t"] <= t_hi:
            continue
        m["x"] = float(x_of(m["t"]))
        if m["ci"] is not None:
            # the interval as a grey band the full height of the axis (a narrow interval merges
            # into the line) and in the label, rather than as a whisker that looks like a marker
            ax.axvspan(float(x_of(m["ci"][0])), float(x_of(m["ci"][1])), color="k", alpha=0.2, lw=0)
        ax.axvline(m["x"], color="k", lw=1.2)
        m["artist"] = ax.text(m["x"], y, m["text"], fontsize=8, va="center", ha="left",
                              transform=ax.get_xaxis_transform())
    absent = _absent_notes(t_S, t_C, verdict=verdict)
    if absent and t_lo <= t_C <= t_hi:  # Regime II absent: said where it would be
        ax.text(float(x_of(t_C)), 0.32, "no II", ha="center", va="center", fontsize=7.5,
                style="italic", transform=ax.get_xaxis_transform(),
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="0.5", alpha=0.9))
    return bands


def _beyond(ax, t_end, hi, lines, note=True):
    """Hatch the times beyond the schedule along the bottom of the axes only (no label covered)."""
    ax.axvspan(t_end, hi, ymin=0.0, ymax=0.22, facecolor="none", hatch="//", edgecolor="0.4", lw=0)
    if note:  # the note in the widest gap between the lines past the schedule
        cuts = sorted({t_end, hi, *(x for x in lines if t_end < x < hi)})
        a, b = max(zip(cuts[:-1], cuts[1:], strict=True), key=lambda ab: ab[1] - ab[0])
        ax.text(0.5 * (a + b), 0.11, "beyond the schedule (no step)", ha="center", va="center",
                fontsize=7, transform=ax.get_xaxis_transform(),
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))


def _step_coordinates(sch, edm):
    """x = the sampler's (continuous) step index as a function of OU time and back, and the x
    limits with the noise end on the right (EDM counts from the noise end: its axis is reversed;
    level i sits at x = i, so step i spans [i, i + 1], and its last step N − 1 ends at x = N, σ = 0)."""
    ts = np.asarray(sch.times, dtype=float)
    ks = np.arange(ts.size, dtype=float)
    if edm:
        ts, ks = np.append(ts, 0.0), np.append(ks, float(ts.size))
    o_t, o_k = np.argsort(ts), np.argsort(ks)

    def x_of(t):
        return np.interp(t, ts[o_t], ks[o_t])

    def t_of(k):
        return np.interp(k, ks[o_k], ts[o_k])

    return x_of, t_of, ((ks[-1], 0.0) if edm else (0.0, ks[-1]))


def _even_ticks(lo, hi, pos, width, integer, min_frac=0.035):
    """Round, evenly spaced values in [lo, hi] (MaxNLocator; 0 included when in range): the most
    of them whose positions pos(v) on the axis are all at least ``min_frac`` of its width apart."""
    from matplotlib.ticker import MaxNLocator

    for nb in (10, 8, 6, 5, 4, 3, 2, 1):
        vals = [float(v) for v in MaxNLocator(nbins=nb, integer=integer).tick_values(lo, hi)
                if lo - 1e-9 <= v <= hi + 1e-9]
        xs = sorted(pos(v) for v in vals)
        if len(xs) >= 2 and float(np.min(np.diff(xs))) >= min_frac * width:
            return vals
    return [lo, hi]


def _steps_x_axis(ax, sch, edm, x_of, t_of):
    """x axis in the sampler's steps (evenly spaced integer ticks), OU time on the top axis."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, integer=True))
    if edm:  # two lines: one would be wider than the figure
        ax.set_xlabel(f"EDM sampler step $i$ ($N$ = {sch.steps}; sampling runs right to left)\n"
                      f"step $i$ runs from level $\\sigma_i$ at $i$ to $i$ + 1; $\\sigma_0$ = {sch.sigma_max:g}; "
                      "the last step ends at $\\sigma$ = 0", fontsize=9)
    else:
        ax.set_xlabel(f"step $k$ of the {sch.name} schedule ($T$ = {sch.steps}; $k$ = 0 at the "
                      "data end; sampling runs right to left)", fontsize=9)
    sec = ax.secondary_xaxis("top", functions=(t_of, x_of))
    lo, hi = sorted(ax.get_xlim())
    t_hi = float(t_of(hi if not edm else lo))
    # OU time is not linear in the steps: round values, kept where they do not crowd, the roundest
    # first (1-2-5 decades and a coarse grid, then finer grids in the room left)
    vals = []
    for nb in (5, 10, 20):
        cand = {*(float(v) for v in MaxNLocator(nbins=nb, steps=[1, 2, 5, 10]).tick_values(0.0, t_hi)
                  if 0.0 < v <= t_hi),
                *((v for v in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0) if v <= t_hi) if nb == 5 else ())}
        vals = _spread(cand, lambda v: float(x_of(v)), (lo, hi), min_frac=0.06, kept=vals)
    # room for the label 0 (at the left end; on EDM's reversed axis at x = N, also on the left)
    x0 = float(x_of(0.0))
    vals = sorted({0.0, *(v for v in vals if abs(float(x_of(v)) - x0) >= 0.05 * (hi - lo))})
    sec.set_xticks(vals)
    sec.set_xticklabels([f"{v:g}" for v in vals], fontsize=8)
    sec.set_xlabel("OU time $t$", fontsize=9)


def _spread(candidates, to_x, xlim, min_frac=0.07, kept=()):
    """Keep tick values whose positions ``to_x(v)`` lie in ``xlim`` and are at least ``min_frac`` of
    the axis apart from every kept one (``kept``: values already kept), trying the larger values
    first (they sit where the axis is not crowded). The positions may grow or fall with v (EDM's
    steps axis runs against OU time)."""
    lo, hi = sorted(xlim)
    width = hi - lo
    kept = list(kept)
    xs = [to_x(v) for v in kept]
    for v in sorted(set(candidates) - set(kept), reverse=True):
        x = to_x(v)
        if lo - 1e-9 * width <= x <= hi + 1e-9 * width and all(abs(x - y) >= min_frac * width for y in xs):
            kept.append(v)
            xs.append(x)
    return sorted(kept)


def _roundest(a, b, near, coarsest=1.0):
    """The roundest integer in [a, b] (a multiple of the largest 1-2-5 × 10^p that has one there),
    the one nearest ``near`` among them; None when [a, b] holds no multiple of a 1-2-5 × 10^p of at
    least ``coarsest``."""
    a, b = math.ceil(a), math.floor(b)
    p = 10 ** max(len(str(abs(int(b)))), 1)
    while a <= b and p >= 1:
        for s in (5 * p, 2 * p, p):
            m_lo, m_hi = -(-a // s), b // s
            if s < coarsest:
                return None
            if m_lo <= m_hi:
                return int(min(max(round(near / s), m_lo), m_hi) * s)
        p //= 10
    return None


def _fill_ticks(ticks, last, pos, inv, gap, x_max):
    """Round steps added where the evenly spaced ``ticks`` leave room (OU time crowds the steps
    towards the data end: on a cosine or flow schedule the last tenth of the steps spans most of the
    axis): into every gap between neighbouring ticks, and between the last tick and the last step
    ``last`` (or the axis end ``x_max``), the roundest step whose position ``pos(k)`` is at least
    ``gap`` from both neighbours, the widest gap first, until no gap takes one; a step that divides
    the steps between two ticks more finely than in five (e.g. 510 between 400 and 600) is not
    added. ``inv`` maps a position back to a (fractional) step; positions grow with the step."""
    ticks, added = sorted(set(ticks)), []
    while True:
        best = None
        for i, k in enumerate(ticks):
            left = pos(k) + gap
            right, k_cap = (pos(ticks[i + 1]) - gap, ticks[i + 1] - 1) if i + 1 < len(ticks) else \
                (min(pos(last), x_max), last)
            if right < left:
                continue
            a, b = max(float(inv(left)), k + 1), min(float(inv(right)), k_cap)
            # between two ticks: no finer than a fifth of their steps; past the last tick (where
            # the steps thin out fastest): no finer than half the steps that have room
            k_new = _roundest(a, b, float(inv(0.5 * (left + right))),
                              coarsest=(k_cap + 1 - k) / 5 if i + 1 < len(ticks) else (b - a) / 2)
            if k_new is not None and (best is None or right - left > best[0]):
                best = (right - left, k_new)
        if best is None:
            return added
        ticks = sorted({*ticks, best[1]})
        added.append(best[1])


def _step_axis(ax, sch, zero_snr=False):
    """Top axis in the schedule's step index k. The map stays finite beyond the last step (a
    linear continuation: matplotlib needs finite limits); labelled major ticks are evenly spaced
    round steps (0 included), labelled minor ones round steps where those leave room
    (:func:`_fill_ticks`), unlabelled ones every tenth of the schedule."""
    ts, T = sch.times, sch.steps
    slope = 1.0 / max(ts[-1] - ts[-2], 1e-12) if T > 1 else 1.0  # steps per unit t at the noisy end
    ks = np.arange(T, dtype=float)  # float: np.interp would convert it at every call

    def t2k(t):
        t = np.asarray(t, dtype=float)
        return np.where(t <= ts[-1], np.interp(t, ts, ks), T - 1 + (t - ts[-1]) * slope)

    def k2t(k):
        k = np.asarray(k, dtype=float)
        return np.where(k <= T - 1, np.interp(k, ks, ts), ts[-1] + (k - (T - 1)) / slope)

    from matplotlib.ticker import MaxNLocator

    lo, hi = ax.get_xlim()
    keep = [int(v) for v in _even_ticks(0, T - 1, lambda k: float(k2t(k)), hi - lo, integer=True)]
    # added labels two label widths (8 pt digits ≈ 4.8 pt wide) or 8% of the axis from their neighbours
    width_pt = ax.figure.get_figwidth() * 72.0 * ax.get_position().width
    gap = (hi - lo) * max(0.08, 2.0 * 4.8 * len(str(T - 1)) / max(width_pt, 1.0))
    fill = _fill_ticks(keep, T - 1, lambda k: float(k2t(k)), lambda t: float(t2k(t)), gap, hi)
    sec = ax.secondary_xaxis("top", functions=(t2k, k2t))
    sec.set_xticks(keep)
    sec.set_xticklabels([str(k) for k in keep], fontsize=8)
    # the tenths of the schedule unlabelled, the added round steps labelled (minor ticks: the
    # labelled major ones stay evenly spaced)
    tenths = [int(v) for v in MaxNLocator(nbins=10, integer=True).tick_values(0, T - 1) if 0 <= v <= T - 1]
    minor = sorted(set(tenths) - set(keep) | set(fill))
    sec.set_xticks(minor, [str(k) if k in fill else "" for k in minor], minor=True, fontsize=8)
    last = f"$t$ = ∞, drawn at {sch.t_max:.3g}" if zero_snr else f"$t$ = {sch.t_max:.3g}"  # (zero terminal SNR)
    sec.set_xlabel(f"step $k$ of the {sch.name} schedule ($T$ = {sch.steps}; last step at {last})", fontsize=9)


def _edm_axis(ax, sch, hi):
    """Top axis in the EDM noise level σ; the sampler's N levels marked and indexed at the bottom."""
    sig, t_levels = sch.sigmas, sch.times
    tr = ax.get_xaxis_transform()
    for tv in t_levels:
        ax.plot([tv, tv], [0.0, 0.07], color="k", lw=1, transform=tr)
    idx = _spread(range(sig.size), lambda i: -float(t_levels[i]), (-hi, 0.0), min_frac=0.018)
    for i in idx:
        ax.text(float(t_levels[i]), 0.09, str(i), fontsize=6.5, ha="center", va="bottom", transform=tr)

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
    sec.set_xlabel("EDM noise level $\\sigma = \\sqrt{e^{2t} - 1}$  ($\\sigma_{\\max}$ = "
                   f"{sig[0]:g}, hatched: beyond it; bottom ticks: its levels $i$ = 0 … "
                   f"{sig.size - 1})", fontsize=9)


def _fit_band_labels(ax, bands):
    """Shorten the names of regime bands too narrow for them (no text outside its band)."""
    x0, x1 = ax.get_xlim()
    for a, b, txt in bands:
        name = txt.get_text()
        width = abs(b - a) / abs(x1 - x0)
        if width < 0.018 * len(name):
            label, _, rest = name.partition(": ")
            txt.set_text(label if width < 0.06 else f"{label}:\n" + rest.replace(" ", "\n"))
            txt.set_fontsize(8)


def _place_labels(ax, labels, lines):
    """Write each (x, text) label right of its line unless it would cross another line or the
    edge of the axes there, in which case (and if it fits) left of it (display coordinates, so
    that a reversed axis works too)."""
    import re

    ax.figure.canvas.draw()  # text extents need a renderer
    box = ax.get_window_extent()

    def px(x):
        return float(ax.transData.transform((x, 0.0))[0])

    others = [px(o) for o in lines]

    def sides(txt, x, inside_only=False):
        w, X = txt.get_window_extent().width, px(x)
        free_right = X + w <= box.x1 and (inside_only or not any(X < o < X + w for o in others))
        free_left = X - w >= box.x0 and (inside_only or not any(X - w < o < X for o in others))
        return free_right, free_left

    for x, txt in labels:
        free_right, free_left = sides(txt, x)
        if not (free_right or free_left) and ", step" in txt.get_text():
            # narrower on two lines: the time (and interval) above, the step below
            txt.set_text(txt.get_text().replace(", step", "\n step", 1))
            free_right, free_left = sides(txt, x)
        if not (free_right or free_left) and " [" in txt.get_text():
            # no room for the interval in the label: the grey band still shows it
            txt.set_text(re.sub(r" \[[^]]*\]", "", txt.get_text()))
            free_right, free_left = sides(txt, x)
        if not (free_right or free_left):  # across a line (not a label), on a white ground
            free_right, free_left = sides(txt, x, inside_only=True)
            txt.set_bbox(dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.85))
        if not free_right and free_left:
            txt.set_text(txt.get_text().strip() + " ")
            txt.set_horizontalalignment("right")


def _fit_axis_labels(ax):
    """Break an x-axis label (bottom or top) that is wider than the figure onto two lines, at the
    "; " or " (" outside $…$ nearest its middle (a long schedule name, a narrow caller's figure)."""
    import re

    fig_box = ax.figure.bbox
    for axis in (ax.xaxis, *(c.xaxis for c in ax.child_axes)):
        label = axis.label
        text = label.get_text()
        box = label.get_window_extent()
        if not text or "\n" in text or (box.x0 >= fig_box.x0 and box.x1 <= fig_box.x1):
            continue
        cuts = [m.start() for m in re.finditer(r"; | \(", text) if text[:m.start()].count("$") % 2 == 0]
        if cuts:
            i = min(cuts, key=lambda c: abs(c - len(text) / 2))
            label.set_text(text[:i] + (";\n" if text[i] == ";" else "\n") + text[i + 1:].lstrip())

