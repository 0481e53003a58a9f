"""Heavy numerical engines: the implicit covariance operator and the empirical-mixture pass.

* :mod:`regimes.engines.covariance` — top covariance eigenvalues by Lanczos (ARPACK) on the
  implicit centred operator, streamed over row blocks; the full spectrum when d is small.
* :mod:`regimes.engines.mixture` — f^e(t), φ_C(t) and the class curve φ(t) of the empirical
  mixture for all times at once from two GEMMs with common random numbers.

Both take a :class:`regimes.data.DataSource` or an in-memory (n, d) array.
"""

from __future__ import annotations

from .covariance import EigenResult, covariance_spectrum, top_eigenvalues
from .mixture import MixtureCurves, empirical_mixture

__all__ = ["EigenResult", "MixtureCurves", "covariance_spectrum", "empirical_mixture", "top_eigenvalues"]
