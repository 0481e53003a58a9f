"""Analytic data models that answer the questions regimes asks of a dataset.

Each model pairs closed forms with validated, immutable parameters, in the spirit of
``astropy.cosmology``'s parameter objects. ``regimes.Dataset`` answers the same questions by
estimation on real data.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from ._validate import check_real
from .collapse import collapse_time, excess_entropy
from .speciation import cloning_probability, speciation_time
from .timeline import classify, regime_intervals

__all__ = ["GaussianData", "GaussianMixture"]


class _RegimesMixin:
    """Shared by the Gaussian models: ``n``, ``d``, ``variance`` (σ², within-class for a mixture)
    and an ``eigenvalue`` property."""

    @property
    def alpha(self) -> float:
        """α = ln(n)/d."""
        return math.log(self.n) / self.d

    def speciation_time(self) -> float:
        """``t_S = ½ ln Λ``; NaN with a warning when Λ <= 1."""
        return speciation_time(self.eigenvalue)

    def collapse_time(self) -> float:
        """``t_C = ½ log1p(σ²/expm1(2α))`` (σ² the within-class variance for a mixture)."""
        return collapse_time(self.n, self.d, self.variance)

    def excess_entropy(self, t):
        """``f(t) = max(0, α - ½ log1p(σ²/expm1(2t)))``."""
        return excess_entropy(t, self.n, self.d, self.variance)

    def regime(self, t):
        """Regime label(s) ``"I"``/``"II"``/``"III"`` at OU time(s) ``t``."""
        return classify(t, self._t_S_or_nan(), self.collapse_time())

    def regimes(self) -> list[dict]:
        """The regimes as ``{"name", "t_min", "t_max"}`` (see :func:`regimes.timeline.regime_intervals`)."""
        return regime_intervals(self._t_S_or_nan(), self.collapse_time())

    def _t_S_or_nan(self) -> float:
        lam = self.eigenvalue
        return 0.5 * math.log(lam) if lam > 1.0 else math.nan

    @property
    def has_speciation(self) -> bool:
        """Whether Λ > 1, i.e. a speciation time t_S > 0 exists."""
        return self.eigenvalue > 1.0


@dataclass(frozen=True)
class GaussianData(_RegimesMixin):
    """``n`` points drawn from ``N(0, σ² I_d)``.

    Parameters
    ----------
    n : float
        Number of training points (>= 2).
    d : float
        Dimension (>= 1).
    variance : float
        σ² (> 0), in the model's data units.

    Notes
    -----
    Λ = σ², ``t_S = ½ ln σ²`` (no speciation if σ² <= 1: there are no classes),
    ``t_C = ½ log1p(σ²/expm1(2α))``, ``α = ln(n)/d`` [DR].
    """

    n: float
    d: float
    variance: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "n", check_real("n", self.n, ge=2.0))
        object.__setattr__(self, "d", check_real("d", self.d, ge=1.0))
        object.__setattr__(self, "variance", check_real("variance", self.variance, gt=0.0))

    @property
    def eigenvalue(self) -> float:
        """Largest covariance eigenvalue Λ = σ²."""
        return self.variance



@dataclass(frozen=True)
class GaussianMixture(_RegimesMixin):
    """Two-class mixture ``½N(m, σ²I_d) + ½N(-m, σ²I_d)`` with ``|m|² = d m̃²``.

    Parameters
    ----------
    n : float
        Total number of training points (>= 2).
    d : float
        Dimension (>= 1).
    separation : float
        m̃, the per-coordinate class mean (> 0).
    variance : float
        Within-class variance σ² (> 0).

    Notes
    -----
    Λ = d m̃² + σ², ``t_S = ½ ln(d m̃² + σ²) ≈ ½ ln d + ln m̃`` [DR]. Collapse uses the Gaussian
    formula with the within-class variance, ``t_C = ½ log1p(σ²/expm1(2α))``, ``α = ln(n)/d``;
    collapse comes after speciation (``t_C < t_S``) iff, asymptotically, ``σ² < 2 m̃² ln n``.
    The cloning probability ``φ(t)`` is exact for the population score; see
    :func:`regimes.speciation.cloning_probability`.
    """

    n: float
    d: float
    separation: float = 1.0
    variance: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "n", check_real("n", self.n, ge=2.0))
        object.__setattr__(self, "d", check_real("d", self.d, ge=1.0))
        object.__setattr__(self, "separation", check_real("separation", self.separation, gt=0.0))
        object.__setattr__(self, "variance", check_real("variance", self.variance, gt=0.0))

    @cached_property
    def norm_m(self) -> float:
        """Norm of the class mean, ``|m| = √d m̃``."""
        return math.sqrt(self.d) * self.separation

    @property
    def eigenvalue(self) -> float:
        """Largest covariance eigenvalue Λ = d m̃² + σ²."""
        return self.d * self.separation**2 + self.variance

    def excess_entropy(self, t):
        """Gaussian (REM) excess entropy with the within-class variance.

        Exact for one Gaussian class; for the mixture it neglects the O(ln 2 / d) entropy of the
        class label, which is what the collapse criterion assumes asymptotically.
        """
        return excess_entropy(t, self.n, self.d, self.variance)

    def cloning_probability(self, t):
        """``φ(t) = E_z[(1 + tanh²(r² + r z))/2]``, ``r = |m| e^{-t}/√Γ_t`` (Gauss–Hermite)."""
        return cloning_probability(t, self.norm_m, self.variance)

    def collapse_after_speciation(self) -> bool:
        """Whether Regime II exists (``t_C < t_S``) at these finite parameters."""
        t_S = self._t_S_or_nan()
        return (not math.isnan(t_S)) and self.collapse_time() < t_S
