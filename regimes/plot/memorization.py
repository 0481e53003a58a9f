"""Figures of the memorisation audit and of U-turns; each returns a matplotlib ``Figure``."""

from __future__ import annotations

import math

import numpy as np

from ..data.source import DataSource
from . import OKABE_ITO as C
from . import log_ticks, panels

__all__ = ["plot_closest_pairs", "plot_ratio_histogram", "plot_uturn"]


def _figure(**kw):
    from matplotlib.figure import Figure

    return Figure(**kw)


def plot_ratio_histogram(audit, bins: int = 50, *, ax=None):
    """Histogram of the ratio d1/d2 of the generated samples, with the reference baseline.

    Parameters
    ----------
    audit : MemorizationAudit
        From :func:`regimes.memorization.memorization_audit`.
    bins : int
        Bins on [0, 1].
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (e.g. a panel of your own figure); its figure is returned.

    Returns
    -------
    matplotlib.figure.Figure
        Density of d1/d2 (generated, and held-out reference when given) with the threshold k
        marked and f_mem in the legend (below the axes, where it hides no bar).
    """
    if ax is None:
        fig = _figure(figsize=(6.4, 4.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    edges = np.linspace(0.0, 1.0, bins + 1)
    g = audit.generated
    ax.hist(g.ratio, bins=edges, density=True, color=C["vermillion"], alpha=0.6,
            label=rf"generated (n = {g.n}): $f_{{\rm mem}}$ = {g.f_mem.value:.3g}{_interval(g.f_mem.ci)}"
                  + _caveat(audit.f_mem_meaningful))
    if audit.reference is not None:
        r = audit.reference
        ax.hist(r.ratio, bins=edges, density=True, histtype="step", lw=1.8, color=C["blue"],
                label=rf"held-out reference (n = {r.n}): $f_{{\rm mem}}$ = {r.f_mem.value:.3g}{_interval(r.f_mem.ci)}"
                      + _caveat(not r.units_mismatch))
        ex = audit.f_mem_excess
        ax.plot([], [], " ", label=f"excess (generated − reference) = {ex.value:.3g}{_interval(ex.ci)}"
                + (" (Newcombe)" if np.isfinite(ex.ci[0]) else "") + _caveat(audit.f_mem_excess_meaningful))
    ax.axvline(audit.threshold, color=C["black"], ls="--", lw=1.2, label=f"k = {audit.threshold:.3g}")
    ax.set_xlim(0, 1)
    ax.set_xlabel("$d_1 / d_2$ (nearest / second-nearest training distance)")
    ax.set_ylabel("density")
    level = f"; intervals {100 * audit.confidence:.3g}%" if audit.bootstrap else ""
    ax.set_title("Ratio test: samples left of k are flagged as near-copies\n(evidence of memorisation: the "
                 f"excess over the held-out baseline{level})", fontsize=9)
    # below the axes: inside, any corner can hide a spike of the histogram (d1/d2 ≈ 0 for copies)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    return fig


def _caveat(ok: bool) -> str:
    return "" if ok else " — NOT MEANINGFUL (units mismatch)"


def _interval(ci) -> str:
    """`` [lo, hi]`` for a finite interval, nothing without one (``bootstrap=0``)."""
    lo, hi = ci
    return f" [{lo:.3g}, {hi:.3g}]" if np.isfinite(lo) and np.isfinite(hi) else ""


def _rows(X, idx):
    """Rows ``idx`` of an array or a source, in the data's own frame (a centred source un-centred)."""
    idx = np.asarray(idx, dtype=np.int64)
    if isinstance(X, DataSource):
        rows = X.take(idx).astype(np.float64)
        return rows + (X.mean if X.center else 0.0)
    arr = np.asarray(X)
    return arr.reshape(arr.shape[0], -1)[idx].astype(np.float64)


def _show(ax, row, shape, lo, hi):
    img = np.clip((row.reshape(shape) - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
    if img.ndim == 3 and img.shape[0] in (1, 3) and img.shape[2] not in (1, 3):  # channels first
        img = np.moveaxis(img, 0, 2)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_closest_pairs(audit, generated, train, shape, n_pairs: int = 8, *, ax=None):
    """The generated samples with the smallest ratio d1/d2 above their nearest training image.

    Parameters
    ----------
    audit : MemorizationAudit
    generated, train : array_like or DataSource
        The sets given to the audit.
    shape : tuple of int
        Image shape (H, W) or (H, W, C) of one row.
    n_pairs : int
        Number of pairs (columns).

    Returns
    -------
    matplotlib.figure.Figure
        Top row: generated; bottom row: nearest training image; ratio above each pair. One
        intensity range (the pairs' joint min and max) for all images.
    """
    g = audit.generated
    order = np.argsort(g.ratio, kind="stable")[: min(n_pairs, g.n)]
    G = _rows(generated, order)
    T = _rows(train, g.nearest[order])
    lo, hi = float(min(G.min(), T.min())), float(max(G.max(), T.max()))
    k = order.size
    if ax is None:
        fig = _figure(figsize=(1.3 * k + 0.6, 3.0), layout="constrained")
        axes = fig.subplots(2, k, squeeze=False)
    else:  # the caller's 2·k axes, row-major
        fig, flat = panels(ax, 2 * k, None)
        axes = np.array(flat, dtype=object).reshape(2, k)
    for j in range(k):
        _show(axes[0, j], G[j], shape, lo, hi)
        _show(axes[1, j], T[j], shape, lo, hi)
        axes[0, j].set_title(f"#{order[j]}\nr = {g.ratio[order[j]]:.2f}", fontsize=8)
        axes[1, j].set_xlabel(f"train #{g.nearest[order[j]]}", fontsize=7)
    axes[0, 0].set_ylabel("generated", fontsize=8)
    axes[1, 0].set_ylabel("nearest train", fontsize=8)
    return fig


def _regime(t, t_S, t_C):
    """The regime of a row at time t from the given (validated: None or finite > 0) t_S and t_C.

    With one of them missing the label says which regimes remain possible: below t_S without t_C,
    "II or III"; above t_C without t_S, "I or II".
    """
    if t_C is not None and t < t_C:
        return "III (collapsed)"
    if t_S is not None and t < t_S:
        return "II (committed to a class)" if t_C is not None else "II or III"
    if t_S is None and t_C is None:
        return ""
    return "I (noise)" if t_S is not None else "I or II"


def _given_time(name: str, value):
    """A caller's t_S or t_C: None, or a finite time > 0 (a marker on a log axis), else RegimesError."""
    if value is None:
        return None
    from .._errors import RegimesError
    from .._validate import check_real

    try:
        return check_real(name, value, gt=0.0)
    except RegimesError as exc:
        raise RegimesError(f"{exc} (a time on the log t axis; pass None when it is not known)") from None


def _check_shape(shape, d: int) -> tuple:
    """``shape`` as a tuple of 2 or 3 positive ints holding the d values of a row, else RegimesError."""
    import numbers

    from .._errors import RegimesError

    what = "shape must be (H, W), (H, W, C) or (C, H, W) of positive integers (C = 1, 3, or 4 last)"
    dims = () if isinstance(shape, str | bytes) or not np.iterable(shape) else tuple(shape)
    if len(dims) not in (2, 3) or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool | np.bool_)
                                          and s >= 1 for s in dims):
        raise RegimesError(f"{what}, got {shape!r}")
    dims = tuple(int(s) for s in dims)
    if math.prod(dims) != d:
        raise RegimesError(f"shape {dims} holds {math.prod(dims)} values, but a row of the training set has d = {d}")
    if len(dims) == 3 and dims[2] not in (1, 3, 4) and dims[0] not in (1, 3):
        raise RegimesError(f"{what}, got {dims}")
    return dims


def _uturn_frame(result, data):
    """``(rows, mean, n)``: rows(idx) the training rows in the data's own frame (units of the result, not
    centred), the per-feature mean of that frame when ``result.centred`` (else None) and the rows of ``data``.

    ``data`` must be the training set of ``result`` (same n and d; for a DataSource, the same units).
    """
    from .._errors import RegimesError
    from ..data.source import scale_map

    n, d = result.n, result.noised.shape[2]
    if isinstance(data, DataSource):
        got = (data.n, data.d)
        if scale_map(data.scale) != scale_map(result.units):
            raise RegimesError(f"data must be the training set of result, in its units (scale={result.units!r}), "
                               f"got a source with scale={data.scale!r}")
    else:
        arr = np.asarray(data)
        if arr.ndim < 2 or not (np.issubdtype(arr.dtype, np.number) and not np.iscomplexobj(arr)):
            raise RegimesError(f"data must be the training set of result: a real array of rows (n, d) or a "
                               f"DataSource, got {type(data).__name__} of shape {arr.shape} and dtype {arr.dtype}")
        arr = arr.reshape(arr.shape[0], -1)
        got = arr.shape
    top = int(max(result.start.max(initial=-1), result.end.max(initial=-1)))
    if got[1] != d or (n and got[0] != n) or top >= got[0]:
        want = f"n = {n} rows, " if n else f"more than {top} rows, "
        raise RegimesError(f"data must be the training set of result ({want}d = {d} features), "
                           f"got n = {got[0]}, d = {got[1]}")
    if isinstance(data, DataSource):
        mean = np.asarray(data.mean, dtype=np.float64)

        def rows(idx):
            return _rows(data, idx)  # the source's processed rows, un-centred
    else:
        a, b = scale_map(result.units)
        mean = a * arr.mean(axis=0, dtype=np.float64) + b if result.centred else None

        def rows(idx):
            return a * arr[np.asarray(idx, dtype=np.int64)].astype(np.float64) + b
    return rows, (mean if result.centred else None), got[0]


def plot_uturn(result, data=None, shape=None, *, t_S=None, t_C=None, example: int = 0, labels=None,
               theory=None, ax=None):
    """U-turn picture: one row per time (start, noised, result), or the curves without images.

    Parameters
    ----------
    result : UTurnResult
        From :func:`regimes.uturn.uturn`.
    data : array_like or DataSource, optional
        The training set of ``result`` (same rows n and features d; a DataSource in the same
        units), needed for the image grid. An array is read in the result's units.
    shape : tuple of int, optional
        Image shape (H, W), (H, W, C) or (C, H, W) of one row (product d); without it (or without
        ``data``), the fractions against t.
    t_S, t_C : float, optional
        Speciation and collapse times given by the caller (not estimated here), finite and > 0, to
        mark each row with its regime, or drawn as dotted lines labelled "(given)" on the curves.
        With only t_S, rows below it are "II or III"; with only t_C, rows above it "I or II".
    example : int
        Which kept example to show in the grid, 0 to (kept examples − 1) (``examples`` of
        :func:`~regimes.uturn.uturn`).
    labels : array_like, optional
        Class per training row (default: those of ``data`` when it is a labelled DataSource): each
        returned image is then captioned "same class" or with its class.
    theory : MixtureCurves, optional
        Curve figure only: :func:`regimes.engines.empirical_mixture` of the same training set in the
        same units (with ``labels`` for φ), e.g. on ``np.geomspace`` over the U-turn times; its
        φ_C(t) (and φ(t)) are drawn as lines with their 95% Monte Carlo band.
    ax : matplotlib.axes.Axes or sequence of Axes, optional
        Draw into these (one for the curves; 3 per time, row-major, for the grid).

    Returns
    -------
    matplotlib.figure.Figure
        Images: one row per time in increasing t (start, noised x_t on its own intensity range,
        result; start and result on one shared range), all in the data's own frame (see Notes).
        Curves: the fractions against increasing t with their exact 95% (Clopper–Pearson)
        intervals as asymmetric bars, labelled with what they estimate for the result's method
        (:func:`regimes.uturn.fraction_targets`: φ_C and φ, not for ``"ode"``).

    Notes
    -----
    The images are in the data's own frame: the training set in the result's units, not centred.
    A centred source (the default of ``load_source`` and ``as_source``) runs the U-turn on
    ``a − m`` (m the per-feature mean); its states are shifted back,

    .. math:: x_t = e^{-t} a + \\sqrt{Δ_t}\\,ξ = x_t^{\\rm centred} + e^{-t} m, \\qquad
              a_{\\rm returned} = x_0^{\\rm centred} + m,

    so that a run that returns shows the same image twice.

    References
    ----------
    .. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
       models", arXiv:2402.18491 (2024), Fig. 1 (the U-turn experiment).
    """
    from .._errors import RegimesError
    from .._validate import check_int
    from ..uturn import UTurnResult

    if not isinstance(result, UTurnResult):
        raise RegimesError(f"result must be a UTurnResult (from regimes.uturn.uturn), got {type(result).__name__}")
    t_S, t_C = _given_time("t_S", t_S), _given_time("t_C", t_C)
    example = check_int("example", example, ge=0)
    order = np.argsort(np.asarray(result.times), kind="stable")  # increasing t: no zigzag, rows downwards
    if shape is None or data is None:
        return _uturn_curves(result, order, t_S, t_C, theory, ax)
    if theory is not None:
        raise RegimesError("theory is drawn on the curve figure only (omit data or shape), got it with an image grid")
    kept = result.noised.shape[1]
    if kept == 0:
        raise RegimesError("example: the result keeps no example states (uturn(..., examples=0)); rerun uturn "
                           "with examples >= 1 for the image grid, or omit data and shape for the curves")
    if example >= kept:
        raise RegimesError(f"example must be >= 0 and < {kept} (the examples uturn kept), got {example}")
    shape = _check_shape(shape, result.noised.shape[2])
    rows, mean, n = _uturn_frame(result, data)
    tt = np.asarray(result.times, dtype=np.float64)[order]
    start, end = result.start[order, example], result.end[order, example]
    noised, final = result.noised[order, example], result.final[order, example]
    if mean is not None:  # the result's centred frame back to the data's own (Notes)
        noised, final = noised + np.exp(-tt)[:, None] * mean, final + mean
    lab, names = _grid_labels(data, labels, n)
    captions = [_returned_caption(s, e, lab, names) for s, e in zip(start, end, strict=True)]
    fig = _uturn_grid((rows(start), noised, final), shape, captions,
                      [f"t = {t:.3g}\n{_regime(t, t_S, t_C)}" for t in tt], ax)
    if t_S is not None or t_C is not None:
        given = ", ".join(f"{n} = {v:.3g}" for n, v in (("$t_S$", t_S), ("$t_C$", t_C)) if v is not None)
        fig.suptitle(f"one run per row; regimes from the given {given}", fontsize=7)
    return fig


def _grid_labels(data, labels, n: int):
    """``(labels, class names)`` of the captions: the caller's (one per training row) or the source's."""
    if labels is None:
        return getattr(data, "labels", None), getattr(data, "class_names", None)
    lab = np.asarray(labels)
    if lab.shape != (n,):
        from .._errors import RegimesError

        raise RegimesError(f"labels must hold one class per training row ({n}), got shape {lab.shape}")
    return lab, None


def _uturn_grid(imgs, shape, captions, ylabels, ax):
    """The T × 3 image grid: start and returned on their joint range, the noised state on its own."""
    starts, noised, final = imgs
    lo, hi = float(min(starts.min(), final.min())), float(max(starts.max(), final.max()))
    T = starts.shape[0]
    if ax is None:
        fig = _figure(figsize=(4.6, 1.45 * T + 0.7), layout="constrained")
        axes = fig.subplots(T, 3, squeeze=False)
    else:  # the caller's 3·T axes, row-major
        fig, flat = panels(ax, 3 * T, None)
        axes = np.array(flat, dtype=object).reshape(T, 3)
    for i in range(T):
        _show(axes[i, 0], starts[i], shape, lo, hi)
        # the noised state on its own range (its scale is e^{-t} smaller plus noise)
        _show(axes[i, 1], noised[i], shape, float(noised[i].min()), float(noised[i].max()))
        _show(axes[i, 2], final[i], shape, lo, hi)
        axes[i, 0].set_ylabel(ylabels[i], fontsize=7)
        axes[i, 2].set_xlabel(captions[i], fontsize=7)
    for j, name in enumerate(("start $a^{\\mu}$", "noised $x_t$\n(own intensity range)", "returned")):
        axes[0, j].set_title(name, fontsize=8)
    return fig


def _returned_caption(start: int, end: int, labels, names) -> str:
    """"same image", or the returned training row with its class relative to the start's."""
    if end == start:
        return "same image"
    if labels is None:
        return f"train #{end}"
    a, b = labels[start], labels[end]
    if a == b:
        return f"train #{end}, same class"
    shown = names[int(b)] if names is not None else b
    return f"train #{end}, other class ({shown})"


def _math_label(label: str) -> str:
    """A fraction target's label (:func:`regimes.uturn.fraction_targets`) with φ_C, φ in math text."""
    return label.replace("φ_C", "$\\varphi_C$").replace("φ", "$\\varphi$")


def _uturn_curves(result, order, t_S, t_C, theory, ax):
    """The returning fractions against increasing t with their exact (Clopper–Pearson) intervals as
    bars (each bar stays with its point), labelled with what they estimate for the result's method."""
    from ..uturn import fraction_targets

    fig, (ax,) = panels(ax, 1, (6.0, 4.6))
    tt = np.asarray(result.times, dtype=np.float64)[order]
    point, cls = fraction_targets(result.method)
    curves = ((result.same_point, C["vermillion"], f"same training image ({_math_label(point.label)})"),
              (result.same_class, C["blue"], f"same class ({_math_label(cls.label)})"))
    for ests, col, lab in curves:
        if ests is None:
            continue
        v = np.array([ests[k].value for k in order])
        ci = np.array([ests[k].ci for k in order], dtype=float)
        yerr = np.vstack([np.maximum(v - ci[:, 0], 0.0), np.maximum(ci[:, 1] - v, 0.0)])
        ax.errorbar(tt, v, yerr=yerr, marker="o", ms=4, capsize=2, color=col,
                    label=f"{lab}; bars: 95% Clopper–Pearson interval")
    if theory is not None:
        _theory_lines(ax, result, theory)
    for x, name, ls in ((t_C, "$t_C$", ":"), (t_S, "$t_S$", "-.")):
        if x is not None:
            ax.axvline(x, color="0.45", ls=ls, lw=1, label=f"{name} = {x:.3g} (given)")
    ax.set_xscale("log")
    log_ticks(ax.xaxis, *ax.get_xlim())  # the range drawn (the times, and t_S, t_C when given)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("OU time t of the U-turn (log axis)")
    ax.set_ylabel("fraction returning")
    ax.set_title(f"{result.samples} U-turns per time, backward dynamics: {result.method}", fontsize=9)
    # below the axes: the curves run from 1 (left) to 0 (right), and the lines of theory span the whole
    # width, so any corner inside can hide a point
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return fig


def _theory_lines(ax, result, theory):
    """φ_C(t) (and φ(t)) of a :class:`~regimes.engines.MixtureCurves` as lines with a 95% Monte Carlo band."""
    from .._errors import RegimesError
    from ..engines import MixtureCurves

    if not isinstance(theory, MixtureCurves):
        raise RegimesError(f"theory must be the MixtureCurves of regimes.engines.empirical_mixture on the training "
                           f"set of result, got {type(theory).__name__}")
    if result.n and (theory.n, theory.d) != (result.n, result.d):
        raise RegimesError(f"theory must be computed on the training set of result (n = {result.n}, d = "
                           f"{result.d}), got curves of n = {theory.n}, d = {theory.d}")
    o = np.argsort(theory.t, kind="stable")
    t = np.asarray(theory.t, dtype=np.float64)[o]
    merged = (f"; its {result.duplicate_rows} duplicate rows counted apart: the same-image target lies above"
              if result.duplicate_rows else "")
    lines = ((theory.commitment, theory.commitment_se, C["vermillion"], "$\\varphi_C(t)$", merged),
             (theory.class_commitment, theory.class_commitment_se, C["blue"], "$\\varphi(t)$", ""))
    for mean, se, col, name, extra in lines:
        if mean is None or (name == "$\\varphi(t)$" and result.same_class is None):
            continue
        mean, half = mean[o], 1.959963984540054 * se[o]
        ax.fill_between(t, mean - half, mean + half, color=col, alpha=0.18, lw=0)
        ax.plot(t, mean, color=col, lw=1.0, ls="--",
                label=f"{name} of the training set (exact weights, {theory.samples} noised points; band 95%{extra})")
