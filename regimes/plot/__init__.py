"""Plots. Each function returns a matplotlib ``Figure``; only the CLI saves files.

matplotlib is imported inside the plotting functions only: ``import regimes`` (and
``import regimes.plot``) never imports it. Submodules load on first use:
``regimes.plot.curves``, ``regimes.plot.timeline`` (and others such as ``phase``, ``spectra``).

Colours are from the Okabe–Ito colour-blind-safe palette.
"""

from __future__ import annotations

import importlib

__all__ = ["OKABE_ITO", "curves", "log_ticks", "panels", "tick_text", "timeline", "plot_curves", "plot_timeline"]

#: Okabe–Ito colour-blind-safe palette
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}

_FUNCS = {"plot_curves": "curves", "plot_timeline": "timeline"}


def panels(ax, n: int, figsize, *, rows: bool = True, **subplot_kw):
    """``(figure, axes)`` for a figure of ``n`` panels: new ones, or the caller's ``ax``.

    ``ax`` is None (a new constrained-layout figure of ``figsize`` with ``n`` panels in a row, or in a
    column with ``rows=False``), one Axes (``n`` must be 1) or a sequence of ``n`` Axes of one figure
    (e.g. from the caller's own ``plt.subplots``): the figure is then the caller's.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=figsize, layout="constrained")
        grid = fig.subplots(1, n, squeeze=False, **subplot_kw)[0] if rows else \
            fig.subplots(n, 1, squeeze=False, **subplot_kw)[:, 0]
        return fig, list(grid)
    axes = [ax] if hasattr(ax, "figure") and not isinstance(ax, list | tuple) else list(ax)
    if len(axes) != n:
        from .._errors import RegimesError

        raise RegimesError(f"ax must hold {n} Axes for this figure ({n} panel{'s' * (n != 1)}), got {len(axes)}")
    return axes[0].figure, axes


def tick_text(v: float) -> str:
    """A tick label on a log axis: plain between 1e-3 and 1e4 (0.05, 2, 300), else 10^k or a×10^k
    in math text."""
    import math

    if 1e-3 <= abs(v) < 1e4:
        return f"{v:g}"
    k = math.floor(math.log10(abs(v)))
    a = round(v / 10.0**k, 1)
    return f"$10^{{{k}}}$" if a == 1 else f"${a:g}\\times10^{{{k}}}$"


def log_ticks(axis, lo: float, hi: float):
    """Labels on a log axis over [lo, hi] that cannot crowd: majors at 1, 2, 3, 5, 7 × 10^k under 0.8
    decades, 1, 2, 5 up to two, 1, 3 up to four, powers of ten beyond (written by :func:`tick_text`);
    unlabelled minor ticks."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    dec = math.log10(hi / lo) if hi > lo > 0 else 0.0
    subs = ((1.0, 2.0, 3.0, 5.0, 7.0) if dec < 0.8 else (1.0, 2.0, 5.0) if dec <= 2.0
            else (1.0, 3.0) if dec <= 4.0 else (1.0,))
    axis.set_major_locator(LogLocator(subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: tick_text(v)))
    axis.set_minor_formatter(NullFormatter())


def __getattr__(name):
    if name in _FUNCS:
        return getattr(importlib.import_module(f"{__name__}.{_FUNCS[name]}"), name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'regimes.plot' has no attribute {name!r}") from None
