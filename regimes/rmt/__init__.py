"""Random-matrix layer: the Marchenko–Pastur law and the random-features spectrum.

``import regimes.rmt`` loads numpy and scipy only.

References
----------
.. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, "Why diffusion models don't memorize: the
   role of implicit dynamical regularization in training", arXiv:2505.17638 (2025).
"""

from __future__ import annotations

from .marchenko_pastur import MarchenkoPastur
from .random_features import (
    TAU_MEM_MARGIN,
    TIME_CONVENTION,
    Bulk,
    GaussianEquivalentInstance,
    RandomFeatures,
    RFConstants,
    memorisation_phase_diagram,
    slow_bulk_tau,
    tau_mem_in_range,
    training_regimes,
)
from .windows import TrainingWindow, training_window

__all__ = [
    "TIME_CONVENTION",
    "Bulk",
    "GaussianEquivalentInstance",
    "MarchenkoPastur",
    "RFConstants",
    "RandomFeatures",
    "TAU_MEM_MARGIN",
    "TrainingWindow",
    "memorisation_phase_diagram",
    "slow_bulk_tau",
    "tau_mem_in_range",
    "training_regimes",
    "training_window",
]
