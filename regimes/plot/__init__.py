"""Plots. Each function returns a matplotlib ``Figure``; only the CLI saves files.

matplotlib is imported inside the plotting functions only: ``import regimes`` (and
``import regimes.plot``) never imports it. Submodules load on first use:
``regimes.plot.curves``, ``regimes.plot.timeline`` (and others such as ``phase``, ``spectra``).

Colours are from the Okabe–Ito colour-blind-safe palette.
"""

from __future__ import annotations

import importlib

__all__ = ["OKABE_ITO", "curves", "panels", "timeline", "plot_curves", "plot_timeline"]

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


def __getattr__(name):
    if name in _FUNCS:
        return getattr(importlib.import_module(f"{__name__}.{_FUNCS[name]}"), name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'regimes.plot' has no attribute {name!r}") from None
