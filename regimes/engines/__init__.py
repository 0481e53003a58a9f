"""Heavy numerical engines: the implicit covariance operator and the empirical-mixture pass.

* :mod:`regimes.engines.covariance` — top covariance eigenvalues by Lanczos (ARPACK) on the
  implicit centred operator, streamed over row blocks; the full spectrum when d is small; row
  projections on given directions.
* :mod:`regimes.engines.mixture` — f^e(t), φ_C(t) and the class curve φ(t) of the empirical
  mixture for all times at once from two GEMMs with common random numbers.
* :mod:`regimes.engines.curves` — :class:`MixtureCurves`: the mean curves, re-evaluation at new
  times, and crossings with bootstrap intervals.

All take a :class:`regimes.data.DataSource` or an in-memory (n, d) array, and read the data only
through the source's working blocks.
"""

from __future__ import annotations

from .covariance import EigenResult, ProjectionRider, covariance_spectrum, row_projections, top_eigenvalues
from .curves import MixtureCurves
from .mixture import empirical_mixture, mixture_rng

__all__ = ["EigenResult", "MixtureCurves", "ProjectionRider", "covariance_spectrum", "empirical_mixture",
           "mixture_rng", "row_projections", "top_eigenvalues"]
