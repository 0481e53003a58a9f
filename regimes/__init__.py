"""regimes — the dynamical regimes of diffusion models, computed with statistical physics.

Times are Ornstein–Uhlenbeck times (``Δ_t = 1 - e^{-2t}``), logarithms natural. See the
conventions page of the documentation.

``import regimes`` loads numpy only: no scipy (imported by the functions that need it), no
plotting, no sympy, no CLI stack.
"""

from __future__ import annotations

from ._errors import RegimesError, RegimesWarning
from ._version import __version__
from .collapse import (
    alpha,
    collapse_time,
    collapse_time_from_alpha,
    collapse_time_large_alpha,
    collapse_time_small_alpha,
    collapse_time_spectral,
    excess_entropy,
    excess_entropy_spectral,
)
from .models import GaussianData, GaussianMixture, RegimesModel
from .schedules import get_schedule, step_at_time, time_at_step
from .speciation import (
    cloning_probability,
    speciation_time,
    speciation_time_linear,
    speciation_times,
)
from .timeline import classify, regime_intervals, schedule_steps

__all__ = [
    "GaussianData",
    "GaussianMixture",
    "RegimesError",
    "RegimesModel",
    "RegimesWarning",
    "__version__",
    "alpha",
    "classify",
    "cloning_probability",
    "collapse_time",
    "collapse_time_from_alpha",
    "collapse_time_large_alpha",
    "collapse_time_small_alpha",
    "collapse_time_spectral",
    "excess_entropy",
    "excess_entropy_spectral",
    "get_schedule",
    "regime_intervals",
    "schedule_steps",
    "speciation_time",
    "speciation_time_linear",
    "speciation_times",
    "step_at_time",
    "time_at_step",
]

_LAZY = {
    "Dataset": "regimes.dataset",
    "load_dataset": "regimes.dataset",
    "analyze": "regimes.analysis",
    "rmt": "regimes.rmt",
    "symbolic": "regimes.symbolic",
    "phase": "regimes.phase",
    "plot": "regimes.plot",
    "presets": "regimes.presets",
    "schedules": "regimes.schedules",
    # every public submodule, so that the dotted paths of the docs work after a plain `import regimes`
    **{m: f"regimes.{m}" for m in (
        "analysis", "class_speciation", "collapse", "data", "dataset", "diagnostics", "distributed", "engines",
        "estimate", "hierarchy", "inverse", "memorization", "models", "noise", "progress", "report",
        "schedule_forms", "speciation", "tables", "timeline", "uturn")},
}


def __getattr__(name):  # PEP 562: heavy or optional parts load on first use
    if name in _LAZY:
        import importlib

        mod = importlib.import_module(_LAZY[name])
        value = mod if _LAZY[name].endswith(name) else getattr(mod, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'regimes' has no attribute {name!r}")
