"""``Dataset``: a training set that answers the questions ``GaussianData``/``GaussianMixture`` answer.

The analytic models answer exactly; :class:`Dataset` answers by estimation — Lanczos for Λ, the
empirical-mixture engine for f^e(t), φ_C(t) and φ(t) — and every estimate can come with its
standard error. :func:`load_dataset` reads one from a file, a folder of images or an array.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._errors import RegimesError
from ._validate import MAX_SAMPLES, check_bool, check_choice, check_int
from .analysis import ESTIMATORS, analyze
from .data import DataSource, as_source, load_source
from .engines.covariance import covariance_spectrum, top_eigenvalues
from .engines.mixture import (
    DEFAULT_MEMORY_BUDGET,
    check_memory_budget,
    check_mixture_times,
    empirical_mixture,
    mixture_rng,
)
from .models import GaussianMixture, RegimesModel, example_mixture
from .speciation import speciation_time

__all__ = ["Dataset", "load_dataset"]


@dataclass(frozen=True, eq=False)
class Dataset(RegimesModel):
    """A training set, (n, d), with the estimators of regimes.

    Parameters
    ----------
    data : array_like or DataSource
        Rows are training points (trailing axes flattened). Use :func:`load_dataset` for files.
    labels : array_like, optional
        One class label per row.
    scale : {"none", "unit", "symmetric"}
        Units (see :mod:`regimes.data.source`).
    center : bool
        Subtract the per-feature mean (default).
    samples : int
        Monte Carlo samples of the mixture engine.
    seed : int
        Seed of every random choice (Lanczos start, Monte Carlo, bootstraps).
    memory_budget : int
        Bytes for the mixture engine.
    model : GaussianMixture, optional
        The analytic model the data were drawn from, if any: :meth:`analyze` then reports its
        predictions beside the estimates.

    Notes
    -----
    ``eigenvalue`` is Λ (Lanczos on the implicit centred covariance), ``t_S = ½ ln Λ``;
    ``excess_entropy(t) = f^e(t)``, ``commitment(t) = φ_C(t) = E[Σ_μ w_μ²]``,
    ``cloning_probability(t) = φ(t) = E[Σ_c (Σ_{μ∈c} w_μ)²]`` [DR]; ``collapse_time()`` is the
    φ_C = ½ crossing unless another estimator is asked for (``method=``). Calls with the same seed
    use the same Monte Carlo samples (common random numbers) as each other and as :meth:`analyze`,
    so curves evaluated in separate calls are consistent: ``commitment(collapse_time())`` is ½ up
    to the root-finding tolerance.

    A Dataset is immutable: assigning an attribute raises; ``ds.replace(seed=1)`` gives a new one
    with fresh caches (the data are validated again unless ``data`` is a :class:`DataSource`).

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """

    data: object = field(repr=False)
    labels_in: object = field(default=None, repr=False)
    scale: str = "none"
    center: bool = True
    samples: int = 1024
    seed: int = 0
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    model: GaussianMixture | None = None
    source: DataSource = field(init=False, repr=False)
    _cache: dict = field(init=False, repr=False, default_factory=dict)

    def __init__(self, data, labels=None, *, scale: str = "none", center: bool = True, samples: int = 1024,
                 seed: int = 0, memory_budget: int = DEFAULT_MEMORY_BUDGET, model=None):
        setattr_ = object.__setattr__
        setattr_(self, "data", data)
        setattr_(self, "labels_in", labels)
        setattr_(self, "scale", scale)
        setattr_(self, "center", check_bool("center", center))
        setattr_(self, "samples", check_int("samples", samples, ge=2, le=MAX_SAMPLES))
        setattr_(self, "seed", check_int("seed", seed, ge=0))
        setattr_(self, "memory_budget", check_memory_budget(memory_budget))
        if model is not None and not isinstance(model, RegimesModel):
            raise RegimesError(f"model must be a regimes model (e.g. GaussianMixture), got {type(model).__name__}")
        setattr_(self, "model", model)
        if isinstance(data, str | os.PathLike):  # a file or folder, as analyze takes it
            src = load_source(data, labels=labels, scale=scale, center=center)
        else:
            src = as_source(data, labels, scale=scale, center=center)
        setattr_(self, "source", src)
        setattr_(self, "scale", src.scale)  # a DataSource keeps the units it was loaded with
        setattr_(self, "center", src.center)
        setattr_(self, "_cache", {})

    def replace(self, **changes) -> Dataset:
        """A new Dataset with ``changes`` applied (any constructor argument), with fresh caches."""
        kw = {"data": self.data, "labels": self.labels_in, "scale": self.scale, "center": self.center,
              "samples": self.samples, "seed": self.seed, "memory_budget": self.memory_budget, "model": self.model}
        unknown = sorted(set(changes) - set(kw))
        if unknown:
            raise RegimesError(f"Dataset.replace: unknown argument(s) {', '.join(unknown)}; allowed: {', '.join(kw)}")
        kw.update(changes)
        return Dataset(**kw)

    @classmethod
    def example(cls, seed: int = 0, *, d: int = 1024, per_class: int = 2000, separation: float = 1.0,
                variance: float = 1.0, **options) -> Dataset:
        """The built-in dataset of ``regimes analyze``, carrying its :class:`GaussianMixture`.

        ½N(m, σ²I) + ½N(−m, σ²I) with m = m̃·(1, …, 1), ``per_class`` rows per class, drawn from
        ``seed`` (float32); ``options`` go to the constructor (``samples``, ``memory_budget``).
        """
        unknown = sorted(set(options) - {"samples", "memory_budget"})
        if unknown:
            raise RegimesError(f"Dataset.example: unknown argument(s) {', '.join(unknown)}; allowed: seed, d, "
                               "per_class, separation, variance, samples, memory_budget")
        X, lab, model, name = example_mixture(seed, d=d, per_class=per_class, separation=separation,
                                              variance=variance)
        return cls(as_source(X, lab, name=name), seed=seed, model=model, **options)

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
        """Class index per row (None without labels)."""
        return self.source.labels

    @property
    def units(self) -> str:
        return self.source.units

    # -- covariance ----------------------------------------------------------------------------
    def top_eigenvalues(self, k: int = 1, *, bootstrap: int = 0, subsample=None):
        """:func:`regimes.engines.top_eigenvalues` on this dataset (seeded)."""
        return top_eigenvalues(self.source, k, rng=self.seed, bootstrap=bootstrap, subsample=subsample)

    @cached_property
    def eigenvalue(self) -> float:
        """Λ, the largest eigenvalue of the centred covariance (normalisation n − 1)."""
        if self.d == 1:
            return self.source.total_variance
        return float(self.top_eigenvalues(1).values[0])

    def spectrum(self) -> np.ndarray:
        """All covariance eigenvalues, descending (d <= 4096)."""
        return covariance_spectrum(self.source)

    def speciation_time(self) -> float:
        """``½ ln Λ``; NaN with a warning when Λ <= 1."""
        return speciation_time(self.eigenvalue)

    # -- the mixture engine --------------------------------------------------------------------
    def curves(self, times):
        """:class:`regimes.engines.MixtureCurves` at ``times`` (seeded, common random numbers)."""
        return empirical_mixture(self.source, times, samples=self.samples, rng=mixture_rng(self.seed),
                                 memory_budget=self.memory_budget)

    def _curve(self, t, attr, return_se):
        return_se = check_bool("return_se", return_se)
        tt = check_mixture_times(self.source, "t", t)
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
        """:func:`regimes.analysis.analyze` on this dataset (seed, samples, budget and model from it).

        A run on the default time grid is kept: :meth:`collapse_time` reuses it.
        """
        allowed = [k for k in inspect.signature(analyze).parameters if k not in ("data", "labels")]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            given = ("data and labels come from the Dataset" if set(unknown) <= {"data", "labels"}
                     else f"allowed: {', '.join(allowed)}")
            raise RegimesError(f"Dataset.analyze: unknown argument(s) {', '.join(unknown)}; {given}")
        options.setdefault("seed", self.seed)
        options.setdefault("samples", self.samples)
        options.setdefault("memory_budget", self.memory_budget)
        res = analyze(self, **options)
        if options.get("times") is None:  # cache only a run on the default grid
            self._cache["analysis"] = res
        return res

    @property
    def last_analysis(self):
        """The last :meth:`analyze` run on the default time grid (None before one)."""
        return self._cache.get("analysis")

    def collapse_time(self, method: str = "commitment") -> float:
        """t_C by ``"commitment"`` (φ_C = ½, default), ``"entropy"``, ``"spectral"`` or ``"gaussian"``.

        The full analysis (with intervals) is run once and cached; see :meth:`analyze`.
        """
        check_choice("method", method, ESTIMATORS)
        if self.last_analysis is None:
            self.analyze(bootstrap=0, eigen_bootstrap=0)
        return float(self.last_analysis.t_C[method].value)


def load_dataset(path, *, key: str | None = None, labels=None, scale: str | float = "none", center: bool = True,
                 size=None, grayscale: bool = False, color: bool = False, **dataset_options) -> Dataset:
    """Load a training set and return a :class:`Dataset`.

    ``path``, ``key``, ``labels``, ``scale``, ``center``, ``size``, ``grayscale`` and ``color`` are those of
    :func:`regimes.data.load_source` (``.npy`` memory-mapped and streamed, ``.npz``, image folders,
    arrays); ``dataset_options`` go to :class:`Dataset` (``samples``, ``seed``, ``memory_budget``).

    Raises
    ------
    RegimesError
        Unreadable/truncated file, NaN/inf, fewer than 2 rows, ragged or non-numeric data,
        label count mismatch, values outside [0, 255] (or not integers) with ``scale="unit"`` or
        ``"symmetric"`` (a numeric factor takes any values).
    """
    return Dataset(load_source(path, key=key, labels=labels, scale=scale, center=center,
                               size=size, grayscale=grayscale, color=color), **dataset_options)
