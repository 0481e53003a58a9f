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
import math
import numbers
import os
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._errors import RegimesError, RegimesWarning
from ._validate import MAX_SAMPLES, check_bool, check_choice, check_int, shown
from .analysis import ESTIMATORS, analysis_rng, analyze, data_noise_floor
from .data import DataSource, as_source, load_source
from .data.source import check_same_units
from .engines.covariance import DENSE_COVARIANCE_MAX_D, covariance_spectrum, top_eigenvalues
from .engines.mixture import (
    DEFAULT_MEMORY_BUDGET,
    check_memory_budget,
    check_mixture_times,
    empirical_mixture,
    mixture_rng,
)
from .models import GaussianMixture, RegimesModel, example_mixture
from .noise import TW1_Q99, NoiseFloor
from .speciation import speciation_time

__all__ = ["Dataset", "load_dataset"]

#: the fewest Monte Carlo samples :func:`regimes.analysis.analyze` takes (its ``samples >= 16``);
#: the curves themselves take 2
ANALYSIS_MIN_SAMPLES = 16
#: the options of :meth:`Dataset.analyze` that change its numbers, with the values the Dataset's own
#: analysis uses (besides its ``seed``, ``samples`` and ``memory_budget``): only such a run is cached
_OWN_RUN = {"times": None, "precision": "auto", "engine": "numpy", "eigen_subsample": None}
#: the keywords :func:`load_dataset` passes on to :class:`Dataset`
_DATASET_OPTIONS = ("samples", "seed", "memory_budget", "model")


def _wrap(data, labels, scale, center) -> DataSource:
    """``as_source(data, labels, ...)``, with a hint when ``data`` is an ``(X, labels)`` pair; a loaded
    source's units are checked in this API's words (Dataset, load_dataset)."""
    if isinstance(data, DataSource):
        check_same_units(data, scale, center, how="load_dataset(path, ...), or Dataset of the array")
    try:
        return as_source(data, labels, scale=scale, center=center)
    except RegimesError as exc:
        if isinstance(data, tuple) and len(data) == 2 and labels is None:
            raise RegimesError(f"{exc}; got a tuple of 2: for (X, labels), as GaussianMixture.sample returns, "
                               "pass Dataset(X, labels), e.g. Dataset(*model.sample(seed))") from None
        raise


def _check_model_sizes(model, src) -> None:
    """Refuse a model whose n or d is not the data's: its predictions would be for another size."""
    if model is None:
        return
    if model.d != src.d:
        raise RegimesError(f"model={model!r}: its d = {model.d:g} is not the data's d = {src.d}; the model must "
                           "describe the data (same dimension)")
    if model.n != src.n:
        raise RegimesError(f"model={model!r}: its n = {model.n:g} is not the data's n = {src.n} (its t_C and "
                           "f^e depend on n); for a subsample of the model's draw pass "
                           f"model.replace(n={src.n})")


@dataclass(frozen=True, eq=False)
class Dataset(RegimesModel):
    """A training set, (n, d), with the estimators of regimes.

    Parameters
    ----------
    data : array_like or DataSource
        Rows are training points (trailing axes flattened). Use :func:`load_dataset` for files.
        An array is not copied: editing it in place after construction changes later results
        and leaves the cached statistics (mean, total variance, Λ, the last analysis) stale.
    labels : array_like, optional
        One class label per row.
    scale : {"none", "unit", "symmetric"}
        Units (see :mod:`regimes.data.source`).
    center : bool
        Subtract the per-feature mean (default).
    samples : int
        Monte Carlo samples of the mixture engine (>= 2 for the curves; :meth:`analyze`,
        :meth:`collapse_time`, :meth:`regimes` and :meth:`regime` run the analysis, which needs
        >= 16).
    seed : int
        Seed of every random choice (Lanczos start, Monte Carlo, bootstraps).
    memory_budget : int
        Bytes for the mixture engine.
    model : GaussianMixture, optional
        The analytic model the data were drawn from, if any: :meth:`analyze` then reports its
        predictions beside the estimates. Its ``n`` and ``d`` must be the data's (for a
        subsample of a model's draw, pass ``model.replace(n=len(X))``).

    Notes
    -----
    ``eigenvalue`` is Λ (Lanczos on the implicit centred covariance), ``t_S = ½ ln Λ``;
    ``excess_entropy(t) = f^e(t)``, ``commitment(t) = φ_C(t) = E[Σ_μ w_μ²]``,
    ``cloning_probability(t) = φ(t) = E[Σ_c (Σ_{μ∈c} w_μ)²]`` [DR]; ``collapse_time()`` is the
    φ_C = ½ crossing unless another estimator is asked for (``method=``). Calls with the same seed
    use the same Monte Carlo samples (common random numbers) as each other and as :meth:`analyze`,
    so curves evaluated in separate calls are consistent: ``commitment(collapse_time())`` is ½ up
    to the root-finding tolerance.

    The model interface (``speciation_time()``, ``has_speciation``, ``regimes()``, ``regime(t)``)
    is that of the analytic models: the bare ``t_S = ½ ln Λ`` whenever Λ > 1, **without** the
    finite-sample noise-edge test of :meth:`analyze`. When Λ is not detectable above the noise edge
    (:attr:`noise_floor`; e.g. structureless, isotropic data) they still return ½ ln Λ and a Regime
    II, with a :class:`regimes.RegimesWarning`, whereas :meth:`analyze` reports t_S = NaN and no
    Regime II.

    :meth:`analyze` runs with this Dataset's ``seed``, ``samples`` and ``memory_budget``.
    ``regimes.analyze(ds)`` takes the Dataset's data, labels, units and ``model`` but not those
    settings: it runs with its own defaults (``seed=0``, ``samples=1024``) unless given them.

    A Dataset is immutable: assigning an attribute raises; ``ds.replace(seed=1)`` gives a new one
    with fresh caches (the data are validated again unless ``data`` is a :class:`DataSource`).
    "Immutable" is about the attributes: the data array is shared, not copied (see ``data``).

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
        if model is not None and not isinstance(model, GaussianMixture):
            raise RegimesError(f"model must be a GaussianMixture (the analytic model the data were drawn from) "
                               f"or None, got {type(model).__name__}")
        setattr_(self, "model", model)
        if isinstance(data, str | os.PathLike):  # a file or folder, as analyze takes it
            src = load_source(data, labels=labels, scale=scale, center=center)
        else:
            src = _wrap(data, labels, scale, center)
        _check_model_sizes(model, src)
        setattr_(self, "source", src)
        setattr_(self, "scale", src.scale)  # a DataSource keeps the units it was loaded with
        setattr_(self, "center", src.center)
        setattr_(self, "_cache", {})

    def replace(self, **changes) -> Dataset:
        """A new Dataset with ``changes`` applied, with fresh caches.

        Any constructor argument (``data``, ``labels``, ``scale``, ``center``, ``samples``,
        ``seed``, ``memory_budget``, ``model``), except that a Dataset built on a loaded
        :class:`DataSource` — :func:`load_dataset`, :meth:`example`, ``Dataset(source)`` — has its
        ``scale``, ``center`` and ``labels`` fixed at loading: changing them is a
        :class:`RegimesError` (load the data again with the new values). ``labels=None`` drops the
        labels of array data; a loaded source keeps its own.
        """
        kw = {"data": self.data, "labels": self.labels_in, "scale": self.scale, "center": self.center,
              "samples": self.samples, "seed": self.seed, "memory_budget": self.memory_budget, "model": self.model}
        unknown = sorted(set(changes) - set(kw))
        if unknown:
            raise RegimesError(f"Dataset.replace: unknown argument(s) {', '.join(unknown)}; allowed: {', '.join(kw)}")
        if isinstance(changes.get("data", self.data), DataSource):
            self._check_fixed_at_loading(changes)
        kw.update(changes)
        return Dataset(**kw)

    def _check_fixed_at_loading(self, changes) -> None:
        """Refuse new ``scale``/``center``/``labels`` for a Dataset built on a loaded source."""
        src = changes.get("data", self.data)
        fixed = {"scale": src.scale, "center": src.center}
        for name, now in fixed.items():
            if name not in changes:
                continue
            new = check_bool("center", changes[name]) if name == "center" else changes[name]
            if not isinstance(new, str | numbers.Real):
                continue  # not a scale: the constructor says what is allowed
            if not (isinstance(new, str) == isinstance(now, str) and new == now):  # 2 == 2.0; 'unit' != 2
                raise RegimesError(
                    f"Dataset.replace({name}={shown(new)}): {src.name} was loaded with {name}={now!r} "
                    f"(load_dataset, Dataset.example or a DataSource), and a loaded source's scale, center and "
                    f"labels are fixed; load the data again with the new value: load_dataset(path, "
                    f"{name}=...) or Dataset(array, {name}=...)")
        if changes.get("labels") is not None:
            raise RegimesError(f"Dataset.replace(labels=...): {src.name} was loaded with its labels (load_dataset, "
                               "Dataset.example or a DataSource), which are fixed; load the data again with the "
                               "labels: load_dataset(path, labels=...) or Dataset(array, labels)")

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
        """:func:`regimes.engines.top_eigenvalues` on this dataset.

        The Lanczos start and the bootstrap draw from ``SeedSequence([seed, 1])``, the stream
        :meth:`analyze` uses for them (not ``seed`` itself, which :meth:`example` draws the data from).
        """
        rng = analysis_rng(self.seed)
        return top_eigenvalues(self.source, k, rng=rng, bootstrap=bootstrap, subsample=subsample)

    @cached_property
    def eigenvalue(self) -> float:
        """Λ, the largest eigenvalue of the centred covariance (normalisation n − 1)."""
        if self.d == 1:
            return self.source.total_variance
        return float(self.top_eigenvalues(1).values[0])

    def spectrum(self) -> np.ndarray:
        """All covariance eigenvalues, descending (d <= 4096)."""
        return covariance_spectrum(self.source)

    @cached_property
    def noise_floor(self) -> NoiseFloor | None:
        """The finite-sample noise floor of Λ, as :meth:`analyze` assesses it (:func:`regimes.noise.noise_floor`).

        ``noise_floor.detectable`` is False when Λ is what sampling noise alone produces (then
        :meth:`analyze` reports no speciation time). None when it cannot be assessed: fewer than
        8 varying features or rows, or a degenerate spectrum. Constant features are left out of d
        and of the spectrum; the noise level is read from the whole spectrum (d <= 4096) or from
        the trace and the top 8 eigenvalues.
        """
        src = self.source
        if src.d <= DENSE_COVARIANCE_MAX_D:
            spectrum = self.spectrum()
        else:
            k = min(8, src.d - src.constant_features - 1)
            if k < 1:
                return None
            rng = analysis_rng(self.seed)
            spectrum = top_eigenvalues(src, k=k, rng=rng, method="block", tol=1e-7).values
        return data_noise_floor(src, self.eigenvalue, spectrum)[0]

    def _warn_if_noise(self, what: str) -> None:
        """A RegimesWarning when ½ ln Λ exists (Λ > 1) but Λ is not detectable above the noise edge."""
        floor = self.noise_floor
        lam = self.eigenvalue
        if floor is None or floor.detectable or not lam > 1.0:
            return
        warnings.warn(f"Dataset.{what}: Λ = {lam:.4g} is not detectable above the finite-sample noise edge "
                      f"σ̂²(1 + √γ)² = {floor.edge:.4g} (Tracy–Widom statistic {floor.tw_statistic:.3g} <= {TW1_Q99}): "
                      f"sampling noise alone produces such a Λ. The model interface uses t_S = ½ ln Λ = "
                      f"{0.5 * math.log(lam):.4g} without this test; Dataset.analyze() reports no speciation "
                      "time (t_S = NaN) and no Regime II here", RegimesWarning, stacklevel=3)

    def speciation_time(self) -> float:
        """``½ ln Λ``; NaN with a warning when Λ <= 1.

        The bare ½ ln Λ of the model interface, without :meth:`analyze`'s noise-edge test: when Λ
        is not detectable above the finite-sample noise edge (:attr:`noise_floor`) the value is
        returned with a :class:`regimes.RegimesWarning` (:meth:`analyze` reports NaN there).
        """
        self._warn_if_noise("speciation_time")
        return speciation_time(self.eigenvalue)

    @property
    def has_speciation(self) -> bool:
        """Whether Λ > 1 (the bare test of the model interface; a :class:`regimes.RegimesWarning` when Λ
        is not detectable above the noise edge, where :meth:`analyze` reports no speciation)."""
        self._warn_if_noise("has_speciation")
        return self.eigenvalue > 1.0

    def regime(self, t):
        """Regime label(s) ``"I"``/``"II"``/``"III"`` at OU time(s) ``t``.

        From t_S = ½ ln Λ (see :meth:`speciation_time`: a :class:`regimes.RegimesWarning` when Λ is
        not detectable above the noise edge) and :meth:`collapse_time`.
        """
        self._check_analysis_samples("regime")
        if self._t_S_or_nan() > self.collapse_time():  # a Regime II, bounded by t_S
            self._warn_if_noise("regime")
        return super().regime(t)

    def regimes(self) -> list[dict]:
        """The regimes as ``{"name", "t_min", "t_max"}`` (see :func:`regimes.timeline.regime_intervals`).

        From t_S = ½ ln Λ and :meth:`collapse_time`: a Regime II whenever t_S > t_C, with a
        :class:`regimes.RegimesWarning` when Λ is not detectable above the noise edge (where
        :meth:`analyze`'s regimes have no Regime II).
        """
        self._check_analysis_samples("regimes")
        out = super().regimes()
        if any(r["name"] == "II" for r in out):
            self._warn_if_noise("regimes")
        return out

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
    def _check_analysis_samples(self, what: str) -> None:
        """Refuse, saying why, a ``samples`` below what the analysis behind ``what`` takes."""
        if self.samples < ANALYSIS_MIN_SAMPLES:
            via = "" if what == "analyze" else " runs the analysis, which"
            raise RegimesError(f"Dataset(samples={self.samples}): {what}{via} needs samples >= "
                               f"{ANALYSIS_MIN_SAMPLES} (the curves take >= 2); use ds.replace(samples=...) "
                               f"with {ANALYSIS_MIN_SAMPLES} or more")

    def analyze(self, **options):
        """:func:`regimes.analysis.analyze` on this dataset (seed, samples, budget and model from it).

        Options override the Dataset's settings for this run. The run is kept as
        :attr:`last_analysis` (which :meth:`collapse_time` reuses) only when it is the Dataset's own:
        its ``seed``, ``samples`` and ``memory_budget``, the default time grid, ``precision="auto"``,
        ``engine="numpy"`` and no ``eigen_subsample``.
        """
        allowed = [k for k in inspect.signature(analyze).parameters if k not in ("data", "labels")]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            given = ("data and labels come from the Dataset" if set(unknown) <= {"data", "labels"}
                     else f"allowed: {', '.join(allowed)}")
            raise RegimesError(f"Dataset.analyze: unknown argument(s) {', '.join(unknown)}; {given}")
        if options.get("key") is not None:
            raise RegimesError(f"Dataset.analyze: key={shown(options['key'])}: the data are already loaded; "
                               "choose the array of an .npz when loading it (load_dataset(path, key=...))")
        if "samples" not in options:
            self._check_analysis_samples("analyze")
        options.setdefault("seed", self.seed)
        options.setdefault("samples", self.samples)
        options.setdefault("memory_budget", self.memory_budget)
        res = analyze(self, **options)
        if self._is_own_run(options):
            self._cache["analysis"] = res
        return res

    def _is_own_run(self, options) -> bool:
        """Whether an :meth:`analyze` run with ``options`` (valid: it ran) gives the Dataset's own numbers."""
        own = {"seed": self.seed, "samples": self.samples, "memory_budget": self.memory_budget, **_OWN_RUN}
        for k, v in own.items():
            got = options.get(k, v)
            if (got is not None) if v is None else (got is None or not _same(got, v)):
                return False
        return True

    @property
    def last_analysis(self):
        """The last :meth:`analyze` run with the Dataset's own settings on the default time grid
        (None before one); a run with other options is returned but not kept."""
        return self._cache.get("analysis")

    def collapse_time(self, method: str = "commitment") -> float:
        """t_C by ``"commitment"`` (φ_C = ½, default), ``"entropy"``, ``"spectral"`` or ``"gaussian"``.

        Read from :attr:`last_analysis`; without one, the analysis is run once without bootstrap
        intervals (``analyze(bootstrap=0, eigen_bootstrap=0)``) and kept. Either way it is a run
        with this Dataset's seed and samples, so ``commitment(collapse_time())`` is ½.
        """
        check_choice("method", method, ESTIMATORS)
        if self.last_analysis is None:
            self._check_analysis_samples("collapse_time")
            self.analyze(bootstrap=0, eigen_bootstrap=0)
        return float(self.last_analysis.t_C[method].value)


def _same(a, b) -> bool:
    """``a == b`` for the validated scalar options of :func:`analyze` (strings and integers)."""
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. an array: not the Dataset's value
        return False


def load_dataset(path, *, key: str | None = None, labels=None, scale: str | float = "none", center: bool = True,
                 size=None, grayscale: bool = False, color: bool = False, **dataset_options) -> Dataset:
    """Load a training set and return a :class:`Dataset`.

    ``path``, ``key``, ``labels``, ``scale``, ``center``, ``size``, ``grayscale`` and ``color`` are those of
    :func:`regimes.data.load_source` (``.npy`` memory-mapped and streamed, ``.npz``, image folders,
    arrays); ``dataset_options`` go to :class:`Dataset` (``samples``, ``seed``, ``memory_budget``,
    ``model``). The result's ``scale``, ``center`` and ``labels`` are fixed: to change them, load again.

    Raises
    ------
    RegimesError
        Unreadable/truncated file, NaN/inf, fewer than 2 rows, ragged or non-numeric data,
        label count mismatch, values outside [0, 255] (or not integers) with ``scale="unit"`` or
        ``"symmetric"`` (a numeric factor takes any values); an unknown keyword (the message lists
        the allowed ones).
    """
    unknown = sorted(set(dataset_options) - set(_DATASET_OPTIONS))
    if unknown:
        raise RegimesError(f"load_dataset: unknown argument(s) {', '.join(unknown)}; allowed: path, key, labels, "
                           f"scale, center, size, grayscale, color, {', '.join(_DATASET_OPTIONS)}")
    return Dataset(load_source(path, key=key, labels=labels, scale=scale, center=center,
                               size=size, grayscale=grayscale, color=color), **dataset_options)
