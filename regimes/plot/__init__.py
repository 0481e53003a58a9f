"""Plots. Each function returns a matplotlib ``Figure``; only the CLI saves files.

matplotlib is imported inside the plotting functions only: ``import regimes`` (and
``import regimes.plot``) never imports it. Submodules load on first use:
``regimes.plot.curves``, ``regimes.plot.timeline`` (and others such as ``phase``, ``spectra``).

Colours are from the Okabe–Ito colour-blind-safe palette.
"""

from __future__ import annotations

import importlib

__all__ = ["OKABE_ITO", "curves", "timeline", "plot_curves", "plot_timeline"]

#: Okabe–Ito colour-blind-safe palette
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}

_FUNCS = {"plot_curves": "curves", "plot_timeline": "timeline"}


def __getattr__(name):
    if name in _FUNCS:
        return getattr(importlib.import_module(f"{__name__}.{_FUNCS[name]}"), name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'regimes.plot' has no attribute {name!r}") from None
