"""``Dataset``: a training set that answers the questions ``GaussianData``/``GaussianMixture`` answer.

The analytic models answer exactly; :class:`Dataset` answers by estimation — Lanczos for Λ, the
empirical-mixture engine for f^e(t), φ_C(t) and φ(t) — and every estimate can come with its
standard error.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from ._errors import RegimesError
from ._validate import as_real_array, check_int
from .engines.mixture import DEFAULT_MEMORY_BUDGET
from .models import _RegimesMixin

__all__ = ["Dataset"]


class Dataset(_RegimesMixin):
    """A training set, (n, d), with the estimators of regimes.

    Parameters
    ----------
    data : array_like or DataSource
        Rows are training points (trailing axes flattened). Use :func:`regimes.load_dataset`
        for files.
    labels : array_like, optional
        One class label per row.
    scale : {"none", "unit", "symmetric"}
        Units (see :mod:`regimes.data`).
    center : bool
        Subtract the per-feature mean (default).
    samples : int
        Monte Carlo samples of the mixture engine.
    seed : int
        Seed of every random choice (Lanczos start, Monte Carlo, bootstraps).
    memory_budget : int
        Bytes for the mixture engine.

    Notes
    -----
    ``eigenvalue`` is Λ (Lanczos on the implicit centred covariance), ``t_S = ½ ln Λ``;
    ``excess_entropy(t) = f^e(t)``, ``commitment(t) = φ_C(t) = E[Σ_μ w_μ²]``,
    ``cloning_probability(t) = φ(t) = E[Σ_c (Σ_{μ∈c} w_μ)²]`` (SPEC §3); ``collapse_time()`` is the
    φ_C = ½ crossing unless another estimator is asked for. Calls with the same seed use the same
    Monte Carlo samples (common random numbers) as each other and as :meth:`analyze`, so curves
    evaluated in separate calls are consistent: ``commitment(collapse_time())`` is ½ up to the
    root-finding tolerance.

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """

    def __init__(self, data, labels=None, *, scale: str = "none", center: bool = True,
                 samples: int = 1024, seed: int = 0, memory_budget: int = DEFAULT_MEMORY_BUDGET):
        from .data import as_source

        self.source = as_source(data, labels, scale=scale, center=center)
        self.samples = check_int("samples", samples, ge=2)
        self.seed = check_int("seed", seed, ge=0)
        self.memory_budget = check_int("memory_budget", memory_budget, ge=1 << 20)
        self._analysis = None

    def __repr__(self) -> str:
        lab = f", classes={self.source.n_classes}" if self.labels is not None else ""
        return f"Dataset(n={self.n}, d={self.d}{lab}, name={self.source.name!r})"

    # -- sizes ---------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.source.n

    @property
    def d(self) -> int:
        return self.source.d

    @property
    def labels(self):
        return self.source.labels

    @property
    def units(self) -> str:
        return self.source.units

    @property
    def alpha(self) -> float:
        """α = ln(n)/d."""
        return math.log(self.n) / self.d

    # -- covariance ----------------------------------------------------------------------------
    def top_eigenvalues(self, k: int = 1, *, bootstrap: int = 0, subsample=None):
        """:func:`regimes.engines.top_eigenvalues` on this dataset (seeded)."""
        from .engines.covariance import top_eigenvalues

        return top_eigenvalues(self.source, k, rng=self.seed, bootstrap=bootstrap, subsample=subsample)

    @cached_property
    def eigenvalue(self) -> float:
        """Λ, the largest eigenvalue of the centred covariance (normalisation n − 1)."""
        if self.d == 1:
            return self.source.total_variance
        return float(self.top_eigenvalues(1).values[0])

    def spectrum(self) -> np.ndarray:
        """All covariance eigenvalues, descending (d <= 4096)."""
        from .engines.covariance import covariance_spectrum

        return covariance_spectrum(self.source)

    def speciation_time(self) -> float:
        """``½ ln Λ``; NaN with a warning when Λ <= 1."""
        from .speciation import speciation_time

        return speciation_time(self.eigenvalue)

    # -- the mixture engine --------------------------------------------------------------------
    def curves(self, times):
        """:class:`regimes.engines.MixtureCurves` at ``times`` (seeded, common random numbers)."""
        from .analysis import mixture_seed
        from .engines.mixture import empirical_mixture

        return empirical_mixture(self.source, times, samples=self.samples, rng=mixture_seed(self.seed),
                                 memory_budget=self.memory_budget)

    def _curve(self, t, attr, return_se):
        tt = as_real_array("t", t, gt=0.0)
        c = self.curves(tt.ravel())
        val, se = getattr(c, attr), getattr(c, attr + "_se")
        if val is None:
            raise RegimesError("cloning_probability needs class labels (labels=...)")
        val, se = val.reshape(tt.shape), se.reshape(tt.shape)
        if tt.ndim == 0:
            val, se = float(val), float(se)
        return (val, se) if return_se else val

    def excess_entropy(self, t, return_se: bool = False):
        """f^e(t) (and its standard error) by Monte Carlo over the empirical mixture."""
        return self._curve(t, "excess_entropy", return_se)

    def commitment(self, t, return_se: bool = False):
        """φ_C(t) = E[Σ_μ w_μ²] (and its standard error)."""
        return self._curve(t, "commitment", return_se)

    def cloning_probability(self, t, return_se: bool = False):
        """Class curve φ(t) = E[Σ_c (Σ_{μ∈c} w_μ)²] (needs labels)."""
        if self.labels is None:
            raise RegimesError("cloning_probability needs class labels (labels=...)")
        return self._curve(t, "class_commitment", return_se)

    # -- the full analysis ---------------------------------------------------------------------
    def analyze(self, **options):
        """:func:`regimes.analysis.analyze` on this dataset (seed and samples from the dataset)."""
        from .analysis import analyze

        options.setdefault("seed", self.seed)
        options.setdefault("samples", self.samples)
        options.setdefault("memory_budget", self.memory_budget)
        res = analyze(self, **options)
        if options.get("times") is None:  # cache only a run on the default grid
            self._analysis = res
        return res

    def collapse_time(self, method: str = "commitment") -> float:
        """t_C by ``"commitment"`` (φ_C = ½, default), ``"entropy"``, ``"spectral"`` or ``"gaussian"``.

        The full analysis (with intervals) is run once and cached; see :meth:`analyze`.
        """
        from .analysis import ESTIMATORS

        if method not in ESTIMATORS:
            raise RegimesError(f"method must be one of {', '.join(ESTIMATORS)}, got {method!r}")
        if self._analysis is None:
            self._analysis = self.analyze(bootstrap=0, eigen_bootstrap=0)
        return float(self._analysis.t_C[method]["value"])
