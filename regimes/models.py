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
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ._errors import RegimesError
from ._validate import MAX_SAMPLES, as_real_array, check_int, check_memory, check_real, check_rng, replace_checked
from .collapse import collapse_time, excess_entropy
from .speciation import cloning_probability, speciation_time
from .timeline import classify, regime_intervals

#: the largest value a float32 sample holds
_F32_MAX = float(np.finfo(np.float32).max)
#: |ξ| of a standard normal draw stays below this for any sample that fits in memory (P < 1e-20 per draw)
_XI_MAX = 10.0

__all__ = ["GaussianData", "GaussianMixture", "RegimesModel", "example_mixture"]


class RegimesModel(ABC):
    """The questions regimes answers, asked of an analytic model or of a training set.

    Subclasses provide :attr:`n`, :attr:`d` and :attr:`eigenvalue` (Λ); the analytic models
    (:class:`GaussianData`, :class:`GaussianMixture`) answer with closed forms, the data model
    (:class:`regimes.Dataset`) by estimation. One signature per question, so that one loop can
    compare every analytic quantity with its empirical twin.

    Notes
    -----
    ``t_S = ½ ln Λ`` (no speciation time when Λ <= 1); ``t_C`` is the collapse time; regimes along
    the backward process: I for t > t_S, II for t_C < t < t_S, III for t < t_C [DR]. For a
    :class:`regimes.Dataset` this is the bare ½ ln Λ of the sample eigenvalue, without the
    finite-sample noise-edge test of :func:`regimes.analysis.analyze` (it warns when Λ fails it).

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """

    n: float
    d: float

    @property
    @abstractmethod
    def eigenvalue(self) -> float:
        """Λ, the largest eigenvalue of the data covariance."""

    @property
    def alpha(self) -> float:
        """α = ln(n)/d."""
        return math.log(self.n) / self.d

    @property
    def has_speciation(self) -> bool:
        """Whether Λ > 1, i.e. a speciation time t_S > 0 exists."""
        return self.eigenvalue > 1.0

    def speciation_time(self) -> float:
        """``t_S = ½ ln Λ``; NaN with a warning when Λ <= 1."""
        return speciation_time(self.eigenvalue)

    @abstractmethod
    def collapse_time(self) -> float:
        """t_C, the collapse time."""

    @abstractmethod
    def excess_entropy(self, t):
        """f^e(t) at OU time(s) t."""

    @abstractmethod
    def commitment(self, t):
        """φ_C(t) = E[Σ_μ w_μ²]: the probability that two clones branched at t end on the same training point."""

    @abstractmethod
    def cloning_probability(self, t):
        """φ(t) = E[Σ_c (Σ_{μ∈c} w_μ)²]: the probability that two clones branched at t end in the same class."""

    def regime(self, t):
        """Regime label(s) ``"I"``/``"II"``/``"III"`` at OU time(s) ``t``."""
        return classify(t, self._t_S_or_nan(), self.collapse_time())

    def regimes(self) -> list[dict]:
        """The regimes as ``{"name", "t_min", "t_max"}`` (see :func:`regimes.timeline.regime_intervals`)."""
        return regime_intervals(self._t_S_or_nan(), self.collapse_time())

    def _t_S_or_nan(self) -> float:
        lam = self.eigenvalue
        return 0.5 * math.log(lam) if lam > 1.0 else math.nan


class _GaussianModel(RegimesModel):
    """Closed forms shared by the Gaussian models: ``variance`` is σ² (within-class for a mixture)."""

    def collapse_time(self) -> float:
        """``t_C = ½ log1p(σ²/expm1(2α))`` (σ² the within-class variance for a mixture)."""
        return collapse_time(self.n, self.d, self.variance)

    def excess_entropy(self, t):
        """``f(t) = max(0, α - ½ log1p(σ²/expm1(2t)))``."""
        return excess_entropy(t, self.n, self.d, self.variance)

    def commitment(self, t):
        """Not available in closed form: raises :class:`regimes.RegimesError`.

        The d → ∞ theory of [DR] locates t_C but does not give φ_C(t) at finite d; estimate it on
        a sample (``regimes.Dataset(*model.sample(seed)).commitment(t)`` for the mixture:
        :meth:`GaussianMixture.sample` returns ``(X, labels)``).
        """
        raise RegimesError(
            f"{type(self).__name__}.commitment: φ_C(t) has no closed form for this model; estimate it "
            "on a sample with regimes.Dataset(...).commitment(t)"
        )


@dataclass(frozen=True)
class GaussianData(_GaussianModel):
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

    def replace(self, **changes) -> GaussianData:
        """A copy with ``changes`` applied (validated; the object itself is immutable; an unknown
        field is a :class:`RegimesError` listing the allowed ones)."""
        return replace_checked(self, changes)

    @property
    def eigenvalue(self) -> float:
        """Largest covariance eigenvalue Λ = σ²."""
        return self.variance

    def cloning_probability(self, t):
        """φ(t) = 1 at every t >= 0: one Gaussian is one class, so two clones always end in the same class."""
        tt = as_real_array("t", t, ge=0.0)  # as GaussianMixture.cloning_probability checks it
        return np.ones_like(tt) if tt.ndim else 1.0


@dataclass(frozen=True)
class GaussianMixture(_GaussianModel):
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
        try:
            lam = self.d * self.separation**2 + self.variance
        except OverflowError:
            lam = math.inf
        if not math.isfinite(lam):
            raise RegimesError(
                f"d={self.d:g} and separation={self.separation:g} give Λ = d·separation² + variance "
                "beyond the float64 range (about 1.8e308); use smaller values")

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

    def sample(self, rng=0):
        """Draw the training set: ``(X, labels)``, X float32 of shape (n, d), n/2 rows per class.

        Rows ``m̃·(±1, …, ±1) + σ ξ`` with ξ ~ N(0, I_d), class 0 at +m, class 1 at −m (needs n even
        and n, d integers, ``n <= MAX_SAMPLES``, the n × d draw within the available memory, and
        σ·10 and m̃ each within half the float32 range, so that no sample overflows to inf).
        The data are drawn from ``rng`` alone (seed or Generator).
        """
        n = check_int("n", self.n, ge=2, le=MAX_SAMPLES)
        d = check_int("d", self.d, ge=1)
        if n % 2:
            raise RegimesError(f"n must be even to draw two equal classes, got {n}")
        gen = check_rng(rng)
        _check_float32_range(self.separation, self.variance)
        # float64 draw (8 B) then its float32 copy (4 B) per entry
        check_memory("d", d, float(min(12 * n * d, 2**1000)),
                     what=f"a sample of {n} rows × {d if d < 10**12 else float(d):.6g} features")
        labels = np.repeat(np.array([0, 1]), n // 2)
        X = gen.standard_normal((n, d)) * math.sqrt(self.variance)
        X += np.where(labels[:, None] == 0, self.separation, -self.separation)
        return X.astype(np.float32), labels

    def replace(self, **changes) -> GaussianMixture:
        """A copy with ``changes`` applied (validated; the object itself is immutable; an unknown
        field is a :class:`RegimesError` listing the allowed ones)."""
        return replace_checked(self, changes)

    def collapse_after_speciation(self) -> bool:
        """Whether Regime II exists (``t_C < t_S``) at these finite parameters."""
        t_S = self._t_S_or_nan()
        return (not math.isnan(t_S)) and self.collapse_time() < t_S


def _check_float32_range(separation: float, variance: float) -> None:
    """Refuse a separation or variance whose samples ``m̃ ± σ ξ`` overflow the float32 output."""
    half = 0.5 * _F32_MAX
    if separation > half:
        raise RegimesError(f"separation must be <= {half:.4g} (half the float32 range of the samples), "
                           f"got {separation:g}")
    if math.sqrt(variance) * _XI_MAX > half:
        raise RegimesError(f"variance must be <= {(half / _XI_MAX) ** 2:.4g} (σ·{_XI_MAX:g} within half the float32 "
                           f"range of the samples), got {variance:g}")


def example_mixture(seed=0, *, d: int = 1024, per_class: int = 2000, separation: float = 1.0,
                    variance: float = 1.0):
    """The built-in dataset of ``regimes analyze``: ``(X, labels, model, name)``.

    ½N(m, σ²I) + ½N(−m, σ²I) samples with m = m̃·(1, …, 1), drawn from ``seed`` by
    :meth:`GaussianMixture.sample`; ``model`` is the :class:`GaussianMixture` it was drawn from
    (the theory the report compares with), ``name`` the description reports print.
    """
    d = check_int("d", d, ge=1)
    per_class = check_int("per_class", per_class, ge=1, le=MAX_SAMPLES // 2)
    try:
        gen = check_rng(seed)
    except RegimesError:
        raise RegimesError(f"seed must be a non-negative integer or a numpy Generator, got {seed!r:.60}") from None
    model = GaussianMixture(n=2 * per_class, d=d, separation=separation, variance=variance)
    X, labels = model.sample(gen)
    name = (f"built-in two-class Gaussian mixture (d = {d}, 2×{per_class} points, m̃ = {model.separation:g}, "
            f"σ² = {model.variance:g}, seed {seed})")
    return X, labels, model, name
