"""The ``regimes analyze`` pipeline: where speciation and collapse happen on a training set.

:func:`analyze` runs five stages, each a short function returning small frozen result objects:

1. **load** — the data as a :class:`regimes.data.DataSource` (validation pass: finiteness, mean,
   trace);
2. **covariance** — Λ and the full covariance spectrum in one pass when d <= 4096 (block Krylov for
   the top 8 eigenvalues at 1e-7 relative above that): t_S and the spectral t_C;
3. **Gaussian** — the isotropic-formula t_C;
4. **mixture** — the curves f^e(t), φ_C(t), φ(t) of the empirical mixture on a time grid (one
   GEMM pass; the grid widened where a curve has not crossed its level);
5. **crossings and regimes** — the curve-based estimates with intervals, and the regimes mapped
   onto a sampler's steps.

Estimators of the collapse time [DR]
------------------------------------
``commitment`` (headline)
    φ_C(t) = ½, parameter-free, finite-d.
``entropy``
    f^e(t)/α = θ with θ = :data:`ENTROPY_THRESHOLD` (0.1). In the d → ∞ Gaussian theory this sits
    slightly above the zero of f (``½ log1p(σ²/expm1(2α(1-θ)))``); at finite d the smooth curve
    is lifted below t_C. Both offsets are measured on the docs page.
``spectral``
    zero of the annealed anisotropic proxy ``α − (1/2d) Σ_i log1p(λ_i/expm1(2t))`` on the full
    spectrum (d ≤ 4096; else the top eigenvalues plus a flat remainder with the same trace).
``gaussian``
    the isotropic closed form ``½ log1p(σ²/expm1(2α))`` with σ² = tr C / d, or, with labels, the
    pooled within-class variance per feature (the mixture formula of [DR]).

Intervals: Monte Carlo estimates — percentile bootstrap over the Monte Carlo samples; Λ and t_S —
linearised bootstrap over training rows (reweighted Rayleigh quotient at the top eigenvector, accurate
for an isolated top eigenvalue); spectral and gaussian — linearised bootstrap over training rows
(influence function of the statistic). 95% by default. These intervals are the spread of the
training set's own statistic over training sets of this size: they do not include the sampling
bias of Λ̂ against the population spike (see ``t_S_population``) or of the sample spectrum in the
spectral proxy; the estimates carry ``sampling_bias`` / ``sample_spectrum_bias`` and a note says
when the bias exceeds the interval's half-width.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from types import MappingProxyType

import numpy as np

from ._errors import RegimesError
from ._stats import linearised_replicates, percentile_interval
from ._validate import (
    MAX_BOOTSTRAP,
    MAX_SAMPLES,
    MAX_STEPS,
    check_bool,
    check_callback,
    check_choice,
    check_int,
    check_memory,
    check_real,
)
from .class_speciation import ClassSpeciation, class_speciation_from_data
from .collapse import collapse_time_from_alpha, collapse_time_spectral
from .data import DataSource, as_source, load_source
from .data.source import check_same_units, scale_map
from .diagnostics import Diagnostics, agreement_text, diagnose
from .distributed import active
from .distributed import cluster as on_cluster
from .engines.covariance import (
    DENSE_COVARIANCE_MAX_D,
    ClassGrams,
    ProjectionRider,
    class_grams,
    covariance_spectrum,
    top_eigenvalues,
)
from .engines.mixture import (
    DEFAULT_MEMORY_BUDGET,
    MIN_TIME,
    PRECISION_TOLERANCE,
    check_engine_options,
    check_memory_budget,
    check_times,
    empirical_mixture,
    min_time,
    mixture_rng,
)
from .estimate import Estimate
from .hierarchy import ClassHierarchy, ClassScatter, class_hierarchy, class_scatter
from .models import example_mixture
from .noise import TW1_Q99, NoiseFloor, debiased_spike, noise_floor, sample_spectrum_bias
from .schedule_forms import TIMESTEP_SPACINGS, SamplerSteps
from .schedules import EDMSampler, get_sampler
from .tables import ESTIMATE_COLUMNS, TableMixin, estimate_row
from .timeline import regime_steps, schedule_steps

__all__ = [
    "AnalysisCurves",
    "AnalysisResult",
    "CLASS_COMMITMENT_LEVEL",
    "COMMITMENT_LEVEL",
    "ENTROPY_THRESHOLD",
    "ESTIMATORS",
    "NORMALISED_CLASS_LEVEL",
    "class_level",
    "Reference",
    "analysis_rng",
    "analyze",
    "data_noise_floor",
    "default_times",
]

#: f^e/α level that defines the ``entropy`` estimate of t_C
ENTROPY_THRESHOLD = 0.1
#: φ at r = 1 for the two-class mixture (σ = m̃ = 1, d → ∞): the class-curve speciation level
CLASS_COMMITMENT_LEVEL = 0.7752
#: the same level on the normalised class curve (φ − 1/C)/(1 − 1/C): (0.7752 − ½)/½ = 0.5504
NORMALISED_CLASS_LEVEL = (CLASS_COMMITMENT_LEVEL - 0.5) / 0.5


def class_level(classes: int) -> float:
    """Speciation level of the class curve φ(t) for C equiprobable classes (a calibrated convention).

    φ runs from 1/C (t → ∞) to 1; the level is where the normalised curve (φ − 1/C)/(1 − 1/C)
    reaches the two-class value at r = 1, (0.7752 − ½)/½ = 0.5504: ``1/C + 0.5504 (1 − 1/C)``
    (exactly 0.7752 for C = 2). A convention calibrated on the two-class mixture, not a theorem.
    """
    C = check_int("classes", classes, ge=1, le=2**53)
    return 1.0 / C + NORMALISED_CLASS_LEVEL * (1.0 - 1.0 / C)
#: φ_C level of the headline collapse estimate
COMMITMENT_LEVEL = 0.5
ESTIMATORS = ("commitment", "entropy", "spectral", "gaussian")


def _ou_to_log_ratio(t: float) -> float:
    """``ln expm1(2t)`` (= −log-SNR of the OU process), stable for tiny and huge t."""
    return 2.0 * t + math.log(-math.expm1(-2.0 * t))


def default_times(t_refs, num: int | None = None, *, t_min: float = MIN_TIME) -> np.ndarray:
    """Default grid of OU times spanning the reference times (t_S and the t_C estimates).

    The grid is uniform in ``u = ln expm1(2t)`` (minus the log signal-to-noise ratio): linear in t
    for large t — rescaling the data by c shifts the times by ln c there — and logarithmic in t
    for small t (large α or small d put t_C far below 1). It runs from 3.5 units of u below the
    smallest reference (a factor e^3.5 ≈ 33 in noise variance; ≈ a quarter of t_C for the default
    mixture) to 3 units above the largest (≈ 1.5 past t_S when t_S is a few units), never below
    ``t_min`` (the smallest time the engine takes, :func:`regimes.engines.mixture.min_time`).
    ``num`` defaults to one point per 0.2 in u, at least 48 and at most 96.

    ``t_refs`` is a sequence of reference times; entries that are None, NaN, infinite or <= 0
    (estimates that do not exist) are skipped, and without any left the grid spans ``t = 1``.
    """
    refs = _reference_times(t_refs)
    num = None if num is None else check_int("num", num, ge=2, le=MAX_STEPS)
    t_min = check_real("t_min", t_min, ge=MIN_TIME)
    u_floor = _ou_to_log_ratio(t_min)
    u_lo = max(_ou_to_log_ratio(min(refs)) - 3.5, u_floor)
    u_hi = max(_ou_to_log_ratio(max(refs)) + 3.0, u_lo + 6.5)
    if not math.isfinite(u_hi):
        raise RegimesError(f"t_refs must be reference times < 8.9e307 (the grid is uniform in ln expm1(2t), and "
                           f"2t must be a float64), got {max(refs):g}")
    if num is None:
        num = int(min(96, max(48, math.ceil((u_hi - u_lo) / 0.2) + 1)))
    u = np.linspace(u_lo, u_hi, num)
    return np.maximum(0.5 * np.logaddexp(0.0, u), t_min)  # t = ½ ln(1 + e^u)


def _reference_times(t_refs) -> list[float]:
    """The usable reference times of :func:`default_times` (``[1.0]`` when there are none)."""
    if isinstance(t_refs, np.ndarray) and t_refs.ndim == 1:
        items = list(t_refs)
    elif isinstance(t_refs, list | tuple | set | frozenset) or (
            hasattr(t_refs, "__iter__") and not isinstance(t_refs, str | bytes | dict | np.ndarray)):
        items = list(t_refs)  # any iterable of times (a generator too)
    else:
        raise RegimesError(f"t_refs must be a sequence (list, tuple or 1-D array) of reference times, got {t_refs!r}")
    refs = []
    for x in items:
        if x is None or (isinstance(x, float | np.floating) and not math.isfinite(x)):
            continue  # an estimate that does not exist
        x = check_real("t_refs", x)
        if x > 0:
            refs.append(x)
    return refs or [1.0]


# ---------------------------------------------------------------------------------------------
# result objects
# ---------------------------------------------------------------------------------------------
def _frozen_array(a):
    if a is None:
        return None
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class AnalysisCurves(TableMixin):
    """The measured curves on the analysis' time grid (means and Monte Carlo standard errors)."""

    t: np.ndarray
    excess_entropy: np.ndarray
    excess_entropy_se: np.ndarray
    commitment: np.ndarray
    commitment_se: np.ndarray
    class_commitment: np.ndarray | None = None
    class_commitment_se: np.ndarray | None = None

    def __post_init__(self):
        for f in ("t", "excess_entropy", "excess_entropy_se", "commitment", "commitment_se",
                  "class_commitment", "class_commitment_se"):
            object.__setattr__(self, f, _frozen_array(getattr(self, f)))

    def as_table(self):
        """``(title, columns, rows)``: t and every curve with its standard error, one row per time."""
        d = {k: v for k, v in self.to_dict().items() if v is not None}
        return "curves (OU time t)", tuple(d), [tuple(float(x) for x in r) for r in zip(*d.values(), strict=True)]

    def to_dict(self) -> dict:
        out = {"t": self.t, "excess_entropy": self.excess_entropy, "excess_entropy_se": self.excess_entropy_se,
               "commitment": self.commitment, "commitment_se": self.commitment_se}
        if self.class_commitment is not None:
            out["class_commitment"] = self.class_commitment
            out["class_commitment_se"] = self.class_commitment_se
        return out


@dataclass(frozen=True)
class Reference:
    """What the analytic model the data were drawn from predicts (the built-in dataset)."""

    model: str
    eigenvalue: float
    t_S: float
    t_C: float
    t_S_class: float
    t_C_entropy_threshold: float
    excess_entropy: np.ndarray
    class_commitment: np.ndarray
    #: the spectral proxy evaluated on the model's population spectrum (Λ once, σ² d − 1 times): the
    #: value the spectral estimator targets (it differs from the Gaussian t_C, which is the other
    #: estimators' theory)
    t_C_spectral: float = math.nan

    def to_dict(self) -> dict:
        return {"model": self.model, "eigenvalue": self.eigenvalue, "t_S": self.t_S, "t_C": self.t_C,
                "t_S_class": self.t_S_class, "t_C_entropy_threshold": self.t_C_entropy_threshold,
                "t_C_spectral": self.t_C_spectral,
                "excess_entropy": self.excess_entropy, "class_commitment": self.class_commitment}


def _nul(x):
    return None if isinstance(x, float) and math.isnan(x) else x


def _by_design_nulls(e: dict) -> dict:
    """NaN → None in an estimate's value, se and interval (a quantity that does not exist)."""
    return {**e, "value": _nul(e["value"]), "se": _nul(e["se"]), "ci": [_nul(c) for c in e["ci"]]}


def _unrequested_nulls(e: dict, replicates: int | None) -> dict:
    """NaN → None in an estimate's se and interval when no bootstrap replicates were asked for
    (``replicates == 0``) or the interval is degenerate by construction (``"interval":
    "degenerate"``, e.g. n = 2, with a note): they do not exist, by design; otherwise NaN is kept
    for the writer to flag."""
    if replicates != 0 and e.get("interval") != "degenerate":
        return e
    return {**e, "se": _nul(e["se"]), "ci": [_nul(c) for c in e["ci"]]}


def _population_nulls(e: dict) -> dict:
    """The debiased population spike is None by design when Λ is not detectable."""
    if "population" not in e:
        return e
    p = e["population"]
    return {**e, "population": {"value": _nul(p["value"]), "ci": [_nul(c) for c in p["ci"]]}}


@dataclass(frozen=True)
class AnalysisResult(TableMixin):
    """Everything ``regimes analyze`` reports. :meth:`to_dict` gives the JSON payload.

    ``eigenvalue`` (Λ), ``t_S``, ``t_S_class`` and each entry of ``t_C`` (keyed by estimator,
    see the module docstring) are :class:`regimes.estimate.Estimate` objects.
    """

    n: int
    d: int
    alpha: float
    eigenvalue: Estimate
    t_S: Estimate
    t_C: Mapping[str, Estimate]
    curves: AnalysisCurves
    regimes: tuple
    schedule: Mapping
    units: str
    name: str
    samples: int
    seed: int
    t_S_class: Estimate | None = None
    t_S_population: Estimate | None = None
    diagnostics: Diagnostics | None = None
    class_speciation: ClassSpeciation | None = None
    class_hierarchy: ClassHierarchy | None = None
    reference: Reference | None = None
    notes: tuple[str, ...] = ()
    spectrum: np.ndarray | None = field(default=None, repr=False)
    #: the t_C estimator the regimes use: "commitment", or "spectral" when the commitment curve did not cross ½
    regimes_estimator: str = "commitment"
    #: bootstrap replicates of the intervals: ``bootstrap`` for the t_C estimates and t_S_class,
    #: ``eigen_bootstrap`` for Λ, t_S and t_S_population (None: not recorded). With 0 replicates the
    #: intervals and bootstrap standard errors do not exist, and :meth:`to_dict` writes them as null.
    bootstrap: int | None = None
    eigen_bootstrap: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "t_C", MappingProxyType(dict(self.t_C)))
        object.__setattr__(self, "regimes", tuple(self.regimes))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "spectrum", _frozen_array(self.spectrum))

    @property
    def headline_t_C(self) -> float:
        """The commitment (φ_C = ½) estimate of t_C."""
        return self.t_C["commitment"].value

    @property
    def regimes_t_C(self) -> Estimate:
        """The t_C the regimes use (:attr:`regimes_estimator`: the commitment one when it exists)."""
        return self.t_C[self.regimes_estimator]

    def timeline_labels(self) -> dict:
        """Keyword arguments of :func:`regimes.plot.timeline.plot_timeline` that say why there is no
        speciation time and which estimator the drawn t_C is: ``no_speciation_reason`` and ``t_C_estimator``."""
        detectable = self.eigenvalue.details.get("detectable")
        reason = None
        if math.isnan(self.t_S.value):
            reason = "not detectable" if detectable is False and self.eigenvalue.value > 1 else "lambda <= 1"
        return {"no_speciation_reason": reason, "t_C_estimator": self.regimes_estimator}

    def as_table(self):
        """``(title, columns, rows)``: one row per estimate (Λ, t_S, t_S_class, t_S_population, each
        t_C), for notebooks (``_repr_html_``) and ``to_frame()``; ``curves.to_frame()`` gives the curves."""
        rows = [estimate_row("eigenvalue", self.eigenvalue), estimate_row("t_S", self.t_S)]
        for name in ("t_S_class", "t_S_population"):
            e = getattr(self, name)
            if e is not None:
                caveat = e.details.get("invalid_reasons") if e.details.get("valid") is False else None
                rows.append(estimate_row(name, e, None if not caveat else
                                         f"{e.definition} — NOT a speciation time: {'; '.join(caveat)}"))
        rows += [estimate_row(f"t_C.{k}", e) for k, e in self.t_C.items()]
        title = f"regimes analyze: {self.name} (n = {self.n}, d = {self.d}; OU time, natural log)"
        return title, ESTIMATE_COLUMNS, rows

    def to_dict(self) -> dict:
        """The JSON payload (numpy arrays kept for the writer to convert).

        Quantities that do not exist by design are None: t_S when Λ <= 1 (no speciation), the lower
        end of t_S's interval when Λ's reaches 1, t_S_class without a second class — results that
        the notes explain. Any other NaN is kept, for the writer to flag.
        """
        out = {
            "data": self.name,
            "units": self.units,
            "n": self.n,
            "d": self.d,
            "alpha": self.alpha,
            "eigenvalue": _unrequested_nulls(_population_nulls(self.eigenvalue.to_dict()), self.eigen_bootstrap),
            "t_S": _by_design_nulls(self.t_S.to_dict()),
            "t_C": {k: _unrequested_nulls(e.to_dict(), self.bootstrap) for k, e in self.t_C.items()},
            "curves": self.curves.to_dict(),
            "regimes": [{**r, "t_max": None if math.isinf(r["t_max"]) else r["t_max"]} for r in self.regimes],
            "schedule": dict(self.schedule),
            "samples": self.samples,
            "seed": self.seed,
            "bootstrap": {"replicates": self.bootstrap, "eigen_replicates": self.eigen_bootstrap},
            "notes": list(self.notes),
            "regimes_t_C": {"estimator": self.regimes_estimator, "value": self.regimes_t_C.value},
        }
        if self.t_S_class is not None:
            out["t_S_class"] = _by_design_nulls(self.t_S_class.to_dict())
        if self.t_S_population is not None:
            out["t_S_population"] = _by_design_nulls(self.t_S_population.to_dict())
        if self.diagnostics is not None:
            out["diagnostics"] = self.diagnostics.to_dict()
        if self.class_speciation is not None:
            out["t_S_covariance"] = self.class_speciation.to_dict()
        if self.class_hierarchy is not None:
            out["class_hierarchy"] = self.class_hierarchy.to_dict()
        if self.reference is not None:
            out["reference"] = self.reference.to_dict()
        return out


# ---------------------------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------------------------
def _load_stage(data, labels, *, scale, center, key, seed):
    """``(source, model)``: the training set, and the analytic model it was drawn from (or None)."""
    if data is None:
        if labels is not None:
            raise RegimesError("labels: the built-in dataset has its own labels; give data too")
        X, lab, model, name = example_mixture(seed)
        return as_source(X, labels=lab, scale=scale, center=center, name=name), model
    loaded = data if isinstance(data, DataSource) else getattr(data, "source", None)
    if isinstance(loaded, DataSource):  # a source, or a regimes.Dataset: loaded with its labels and units
        if labels is not None:
            raise RegimesError("labels: the data are already loaded (a DataSource or Dataset); give the labels "
                               "when loading them (load_source / as_source / Dataset)")
        check_same_units(loaded, scale, center)
        return loaded, (None if loaded is data else getattr(data, "model", None))
    return load_source(data, key=key, labels=labels, scale=scale, center=center), None


def _flat_tail_estimate(src, top_vals):
    """The spectral proxy for d > DENSE_COVARIANCE_MAX_D: the top eigenvalues plus a flat remainder
    carrying the rest of the trace (no interval)."""
    n, d = src.n, src.d
    top = np.asarray(top_vals, dtype=float)
    rest = max(src.total_variance - top.sum(), 0.0) / (d - top.size)
    lam = np.concatenate([top, np.full(d - top.size, rest)])
    return Estimate(collapse_time_spectral(lam, n, d), definition=f"annealed proxy: top {top.size} eigenvalues + "
                    f"flat remainder (d > {DENSE_COVARIANCE_MAX_D}); no interval")


class _RowInfluences:
    """Each row's influence on the annealed spectral proxy at its root, and its squared projection
    on the top eigenvector (Λ's linearised bootstrap), from the rows' projections on every
    eigenvector: filled block by block inside the mixture engine's pass (``rider`` is its
    ``on_block``), or by a pass of their own when no block came (the engine ran as Dask tasks).

    Influence of row i on g(t) = (1/2d) Σ_k log1p(λ_k x), x = 1/expm1(2t):
    (x/2d) Σ_k (z_i·v_k)²/(1 + x λ_k).
    """

    def __init__(self, src, lam, V, mu, t0):
        x = 1.0 / math.expm1(2.0 * t0)
        self.n = src.n
        reduce = functools.partial(_influences, wk=x / (1.0 + x * lam) / (2.0 * src.d))
        self.rider = ProjectionRider(src, V, mu, reduce, self._keep)  # keeps V in the data's dtype only
        self.psi, self.z1sq = np.empty(src.n), np.empty(src.n)

    def _keep(self, s, e, result):
        self.psi[s:e], self.z1sq[s:e] = result

    def values(self):
        """``(ψ, z1²)`` per row, reading the data only if the engine's pass did not bring every row;
        the projections' copy of the eigenvectors and their buffers are released afterwards."""
        if self.rider is not None:
            if self.rider.rows != self.n:
                for s, e, result in self.rider.project.passes():
                    self._keep(s, e, result)
            self.rider = None
        return self.psi, self.z1sq


def _spectral_interval(src, conf, gen, B, lam, t0, influences):
    """``(Estimate, z1²)``: the zero t0 of the annealed spectral proxy with its linearised bootstrap over rows."""
    n, d = src.n, src.d
    psi, z1sq = influences.values()
    x = 1.0 / math.expm1(2.0 * t0)
    # dg/dt at the root, then linearised bootstrap of the root
    dxdt = -2.0 * math.exp(2.0 * t0) * x * x
    dg = float(np.sum(lam / (1.0 + x * lam)) / (2.0 * d) * dxdt)
    base = psi.sum() / (n - 1)
    reps = t0 - (linearised_replicates(psi, gen, B, n - 1) - base) / dg
    ci, se = percentile_interval(reps, conf)
    return Estimate(t0, se, ci, definition="annealed proxy on the full covariance spectrum (an approximation "
                    "of the random-energy theory, not a measurement of the dynamics)"), z1sq


def _influences(Z, wk):
    """``(Σ_k Z_ik² wk_k, Z_i0²)`` per row of a block of projections (on the workers on a cluster)."""
    Z *= Z
    return Z @ wk, Z[:, 0].copy()


@dataclass(frozen=True, eq=False)
class _CovarianceValues:
    """What the covariance stage knows before the mixture engine's pass: Λ, the spectrum, the
    spectral proxy's root and the noise floor (with its notes) — enough for the time grid. For
    d <= DENSE_COVARIANCE_MAX_D the intervals wait for the rows' projections (``influences``),
    made in the engine's pass; above it ``spec`` and Λ's ``replicates`` are complete."""

    lam_top: float
    spectrum: np.ndarray
    t0: float
    floor: NoiseFloor | None
    floor_notes: tuple
    mp_bias: float | None = None  # the spectral proxy's sample-spectrum bias (:func:`_mp_bias`)
    influences: _RowInfluences | None = None
    spec: Estimate | None = None
    replicates: np.ndarray | None = None

    @property
    def t_S(self) -> float:
        """½ ln Λ, NaN when Λ <= 1 or not detectable above the noise edge (as the stage reports it)."""
        undetectable = self.floor is not None and not self.floor.detectable
        return math.nan if undetectable else _half_log(self.lam_top)


def _covariance_values(src, gen, eigen_bootstrap, subsample=None, grams=None) -> _CovarianceValues:
    """The covariance pass: Λ, the spectrum and the spectral proxy's root (no data pass for the
    intervals yet). For d <= DENSE_COVARIANCE_MAX_D one pass forms C (none with float64 ``grams``,
    whose sums give C); above it, block Krylov for the top 8 at 1e-7 relative (far below Λ's
    interval) with Λ's bootstrap, and the proxy's tail from the trace."""
    n, d = src.n, src.d
    if d <= DENSE_COVARIANCE_MAX_D:
        use = grams is not None and src.dtype == np.float64  # float32 data: C from float32 products, as without labels
        lam, V, mu = covariance_spectrum(src, return_vectors=True, grams=grams if use else None)
        lam = np.clip(lam, 0.0, None)
        t0 = collapse_time_spectral(lam, n, d)
        floor, said = data_noise_floor(src, float(lam[0]), lam)
        return _CovarianceValues(float(lam[0]), lam, t0, floor, tuple(said), _mp_bias(src, t0),
                                 influences=_RowInfluences(src, lam, V, mu, t0))
    _check_variance_range(src)  # (below the dense limit the proxy's caveat checks the same range: _mp_bias)
    eig = top_eigenvalues(src, k=min(8, d - 1), rng=gen, bootstrap=eigen_bootstrap, method="block", tol=1e-7,
                          subsample=subsample)
    spec = _flat_tail_estimate(src, eig.values)
    floor, said = data_noise_floor(src, float(eig.values[0]), eig.values)
    return _CovarianceValues(float(eig.values[0]), eig.values, spec.value, floor, tuple(said), spec=spec,
                             replicates=None if eig.replicates is None else eig.replicates[:, 0])


def _covariance_stage(src, conf, gen, bootstrap, eigen_bootstrap, notes, cv, subsample=None):
    """``(Λ, t_S, t_S_population, spectral t_C, spectrum)`` with the linearised bootstraps over rows.

    ``cv``: :func:`_covariance_values`. ``spectrum``: all covariance eigenvalues (d <=
    DENSE_COVARIANCE_MAX_D) or the top ones (Lanczos).

    Λ carries its noise floor (``details``: noise level, edge, detectability, debiased population
    spike); t_S is NaN with a note when Λ is not detectable above the edge.
    """
    n, d = src.n, src.d
    lam_top, spectrum, reps, spec = cv.lam_top, cv.spectrum, cv.replicates, cv.spec
    if cv.influences is not None:
        if subsample is not None:
            notes.append(f"eigen_subsample ignored: d = {d} <= {DENSE_COVARIANCE_MAX_D}, all rows used")
        spec, z1sq = _spectral_interval(src, conf, gen, bootstrap, spectrum, cv.t0, cv.influences)
        reps = (linearised_replicates(z1sq, gen, eigen_bootstrap, n - 1.0, draw="multinomial")
                if eigen_bootstrap else None)
    ci_l, se_l = percentile_interval(reps, conf) if reps is not None else ((math.nan, math.nan), math.nan)
    degenerate = reps is not None and _no_spread(se_l, lam_top)
    if degenerate:
        ci_l, se_l = (math.nan, math.nan), math.nan
        notes.append(_degenerate_note("Λ and t_S", n))
    spec = _spectral_caveats(src, _degenerate_interval(spec, "t_C (spectral)", n, notes), notes, cv.mp_bias)
    t_S_val, t_S_ci = _half_log(lam_top), [_half_log(x) for x in ci_l]
    t_S = Estimate(t_S_val, se_l / (2 * lam_top) if lam_top > 1 else math.nan, t_S_ci)  # no se without a value
    if math.isnan(t_S_val):
        notes.append(f"Λ = {lam_top:.4g} <= 1: no speciation time (t_S is not defined)")
    elif math.isfinite(ci_l[0]) and ci_l[0] <= 1:
        notes.append(f"t_S: the lower end of Λ's interval ({ci_l[0]:.4g}) is <= 1, where t_S = ½ ln Λ is "
                     "undefined (no speciation), so t_S's interval has no lower end (null)")
    floor = cv.floor
    notes.extend(cv.floor_notes)
    small = {"interval": "degenerate"} if degenerate else _small_n_caveat(n, ci_l, notes)
    lam = Estimate(lam_top, se_l, ci_l, details=small)
    if floor is None:  # no noise floor (tiny n or d): t_S still carries Λ's small-n caveats
        if not math.isnan(t_S.value):
            t_S = t_S.replace(details={**t_S.details, **small})
        return lam, t_S, None, spec, spectrum
    d_eff = d - src.constant_features  # as in the noise floor
    pop = ([debiased_spike(x, floor.sigma2, n, d_eff) for x in (lam_top, *ci_l)] if floor.detectable
           else [math.nan] * 3)
    bias = _sampling_bias_caveat(lam_top, pop[0], ci_l, notes) if floor.detectable else {}
    lam = lam.replace(details={**floor.to_dict(), "population": {"value": pop[0], "ci": pop[1:]}, **bias, **small})
    t_pop = Estimate(_half_log(pop[0]), ci=(_half_log(pop[1]), _half_log(pop[2])),
                     definition="½ ln ℓ̂, ℓ̂ the debiased population spike (spiked-covariance model)")
    if not math.isnan(t_S.value):  # the same caveats on t_S = ½ ln Λ (its bias: t_S − t_S_population)
        t_bias = {"sampling_bias": t_S.value - t_pop.value} if math.isfinite(t_pop.value) else {}
        t_S = t_S.replace(details={**t_bias, **{k: v for k, v in bias.items() if k == "bias_exceeds_interval"},
                                   **small})
    if not floor.detectable and not math.isnan(t_S_val):
        t_S = Estimate(math.nan, notes=(f"½ ln Λ = {t_S_val:.4g}, but Λ is not detectable above the noise "
                                        "edge: no speciation time is read from it",))
    return lam, t_S, t_pop, spec, spectrum


#: below this many rows the linearised bootstrap intervals of Λ and t_S under-cover (measured coverage
#: of a nominal 95% interval: 0.87 at n = 20, 0.88 at n = 30, 0.91–0.92 at n = 50, 0.93–0.94 at n = 100)
SMALL_N_BOOTSTRAP = 100


def _no_spread(se, value) -> bool:
    """Whether bootstrap replicates coincide (SE zero to rounding): a degenerate, not an exact, interval."""
    return math.isfinite(se) and math.isfinite(value) and se <= 1e-12 * max(abs(value), 1e-300)


def _degenerate_note(what, n) -> str:
    why = (" (with n = 2 the centred rows are x and −x: any resampling of them gives the same statistic)"
           if n == 2 else "")
    return (f"{what}: every bootstrap replicate is the same number{why}, so the interval would have zero "
            "width and SE 0 without being exact: interval and SE not reported (null)")


def _degenerate_interval(est, what, n, notes):
    """``est`` with its interval and SE set to NaN, and a note, when its bootstrap replicates all coincide."""
    if not _no_spread(est.se, est.value):
        return est
    notes.append(_degenerate_note(what, n))
    return est.replace(se=math.nan, ci=(math.nan, math.nan), details={**est.details, "interval": "degenerate"})


def _small_n_caveat(n, ci, notes) -> dict:
    """``{"small_n_undercoverage": bool}`` for an existing interval of Λ, with a note when True."""
    if not all(math.isfinite(x) for x in ci):
        return {}
    if n < SMALL_N_BOOTSTRAP:
        notes.append(f"Λ and t_S: with n = {n} < {SMALL_N_BOOTSTRAP} rows the linearised bootstrap interval "
                     "under-covers (measured coverage of a nominal 95% interval: 0.87 at n = 20, 0.88 at n = 30, "
                     "0.91–0.92 at n = 50): read it as narrower than its stated level")
    return {"small_n_undercoverage": n < SMALL_N_BOOTSTRAP}


def _sampling_bias_caveat(lam, ell, ci, notes) -> dict:
    """``{"sampling_bias": Λ̂ − ℓ̂, "bias_exceeds_interval": …}`` with a note when the upward bias of the
    sample eigenvalue over the debiased population spike exceeds the half-width of Λ's interval."""
    bias = lam - ell
    out = {"sampling_bias": bias}
    if not all(math.isfinite(x) for x in ci):
        return out
    half = 0.5 * (ci[1] - ci[0])
    out["bias_exceeds_interval"] = bool(bias > half)
    if bias > half:
        notes.append(f"Λ and t_S: their intervals are for this training set's sample statistic (they cover "
                     f"E[Λ̂] at this n), not for the population spike: Λ̂ = {lam:.4g} sits {bias:.3g} above the "
                     f"debiased population spike ℓ̂ = {ell:.4g} (the Marchenko–Pastur/BBP upward bias), more "
                     f"than the interval's half-width {half:.3g}. For the data distribution (a model that "
                     "generalises) use t_S_population = ½ ln ℓ̂; for the dynamics with the exact empirical "
                     "score of this training set, Λ̂ itself (t_S) is the relevant value")
    return out


def _check_variance_range(src, exact: bool = False) -> None:
    """Refuse a per-feature variance tr C/d outside [1e-100, 1e100], the range where the
    Marchenko–Pastur caveats stay within float64 — and beyond which the block Krylov's products
    lose their digits in subnormal numbers (data below ~1e-154). ``exact``: tr C from the row
    norms; else the load pass's value (no data pass)."""
    v = (src.total_variance if exact else src.spread_estimate()) / src.d
    if not 1e-100 <= v <= 1e100:
        raise RegimesError(f"{src.name}: per-feature variance tr C/d {'=' if exact else '≈'} {v:.3g} is outside "
                           "[1e-100, 1e100], where the analysis' random-matrix caveats and products stay within "
                           "float64; rescale the data (scale=c multiplies the variance by c²: Λ scales as c², "
                           "t_S shifts by ln c)")


def _mp_bias(src, t0):
    """How far Marchenko–Pastur spreading of the sample spectrum lowers the spectral proxy for
    isotropic data at the observed n, d, tr C/d (:func:`regimes.noise.sample_spectrum_bias`), or
    None where it is not assessed (d > DENSE_COVARIANCE_MAX_D, zero trace, no root t0). Computed
    before the engine's pass, so that data outside its range are refused before that work."""
    n, d = src.n, src.d
    if d > DENSE_COVARIANCE_MAX_D or not src.total_variance > 0 or not math.isfinite(t0):
        return None
    _check_variance_range(src, exact=True)  # the Marchenko–Pastur law's float64 range
    return sample_spectrum_bias(n, d, src.total_variance / d)


def _spectral_caveats(src, spec, notes, bias):
    """The spectral t_C with ``details["sample_spectrum_bias"]`` (``bias``: :func:`_mp_bias`) and,
    when that exceeds the interval's half-width, ``bias_exceeds_interval`` True and a note. The
    value is unchanged."""
    n, d = src.n, src.d
    if bias is None:
        return spec
    det = {"sample_spectrum_bias": bias}
    if all(math.isfinite(x) for x in spec.ci):
        half = 0.5 * (spec.ci[1] - spec.ci[0])
        det["bias_exceeds_interval"] = bool(bias > half)
        if bias > half:
            notes.append(f"t_C (spectral): the proxy is computed on the sample spectrum, whose Marchenko–Pastur "
                         f"spreading (γ = d/(n−1) = {d / (n - 1):.3g}) lowers it — for isotropic data of this size "
                         f"by {bias:.3g} (sample_spectrum_bias), more than its interval's half-width {half:.3g}: the "
                         "interval covers the sample statistic's spread, and the proxy of the population spectrum "
                         "lies about that much higher")
    return spec.replace(details={**spec.details, **det})


def _half_log(x: float) -> float:
    """½ ln x for x > 1, else NaN (no speciation time)."""
    return 0.5 * math.log(x) if x > 1 else math.nan


#: the noise floor is assessed only with at least this many non-zero eigenvalues (a bulk to read σ̂² from)
NOISE_MIN_BULK = 8


def analysis_rng(seed: int) -> np.random.Generator:
    """The analysis' stream for its bootstraps and the Lanczos/Krylov start: ``SeedSequence([seed, 1])``,
    independent of the data of a seeded example (``seed``) and of the mixture engine's samples
    (:func:`regimes.engines.mixture_rng`, ``[seed, 2]``); :class:`regimes.Dataset` draws from it too."""
    return np.random.default_rng(np.random.SeedSequence([seed, 1]))


def data_noise_floor(src, lam_top: float, spectrum=None) -> tuple[NoiseFloor | None, list[str]]:
    """``(floor, notes)``: the finite-sample noise floor of the top eigenvalue ``lam_top`` of a
    loaded training set ``src``, as :func:`analyze` assesses it (its rule, shared with
    :attr:`regimes.Dataset.noise_floor`), and the notes that say how.

    Constant features add exact zero eigenvalues, not noise: they are left out of d (γ = d/(n − 1))
    and, when ``spectrum`` holds all d eigenvalues, out of it (its smallest ones). ``floor`` is
    None when it cannot be assessed: fewer than :data:`NOISE_MIN_BULK` non-zero eigenvalues, or a
    degenerate spectrum (:func:`regimes.noise.noise_floor` refuses it). ``floor.detectable`` False:
    Λ is what sampling noise alone produces, and :func:`analyze` reports no speciation time.
    """
    n, c = src.n, src.constant_features
    d = src.d - c
    if c and spectrum is not None and np.size(spectrum) == src.d:
        spectrum = np.sort(np.asarray(spectrum, dtype=float))[c:]  # their (numerically) zero eigenvalues
    if min(d, n - 1) < NOISE_MIN_BULK:
        return None, [f"Λ: the noise floor is not assessed (fewer than {NOISE_MIN_BULK} non-zero eigenvalues "
                      "to estimate the noise level from)"]
    notes = [f"Λ: {c} of the {src.d} features are constant (zero variance); the noise floor uses the other "
             f"d = {d} (γ = d/(n−1) = {d / (n - 1):.4g})"] if c else []
    try:
        floor = noise_floor(lam_top, n, d, spectrum=spectrum, total_variance=src.total_variance)
    except RegimesError as exc:  # a degenerate spectrum: no noise level to read (not a reason to stop)
        return None, notes + [f"Λ: the noise floor is not assessed ({exc})"]
    if not floor.detectable:
        notes.append(f"Λ = {lam_top:.4g} is not distinguishable from the finite-sample noise edge "
                     f"σ̂²(1 + √γ)² = {floor.edge:.4g} (σ̂² = {floor.sigma2:.4g}, γ = d/(n−1) = {floor.ratio:.4g}; "
                     f"Tracy–Widom statistic {floor.tw_statistic:.3g} <= {TW1_Q99}): no detectable speciation — the "
                     "top eigenvalue is what sampling noise alone produces")
    return floor, notes


def _pooled_sq_norms(src, means=None):
    """Squared distances of the rows to their class means (for the pooled within-class variance);
    one pass with the class ``means`` given (in processed units), two without."""
    if means is None:
        C, d = src.n_classes, src.d
        sums = np.zeros((C, d))
        cnt = np.bincount(src.labels, minlength=C).astype(float)
        rows = list(sums)  # views: each class's sum, row after row in data order (np.add.at's order, ~8x faster)
        for s, e, blk in src.blocks(reuse=True):
            blk = blk.astype(np.float64, copy=False)
            for i, c in enumerate(src.labels[s:e].tolist()):
                rows[c] += blk[i]
        means = sums / np.maximum(cnt, 1)[:, None]
    sq = np.empty(src.n)
    rowmeans = None  # each row's class mean, one buffer for every block
    for s, e, blk in src.blocks(reuse=True):
        x = blk.astype(np.float64, copy=False)  # this pass's own buffer (or a copy): changed in place
        rowmeans = np.empty_like(x) if rowmeans is None else rowmeans
        x -= np.take(means, src.labels[s:e], axis=0, out=rowmeans[:e - s], mode="clip")
        sq[s:e] = np.einsum("ij,ij->i", x, x)
    return sq


def _pooled(src) -> bool:
    """Whether the Gaussian estimate uses the pooled within-class variance (labels, n > classes)."""
    return src.labels is not None and src.n - src.n_classes >= 1


@dataclass(frozen=True, eq=False)
class _GaussianInputs:
    """The isotropic formula's inputs: per-row squared deviations ``sq`` with ``dof`` degrees of
    freedom, σ² = Σ sq/(dof·d), and t_C from it (the value; its interval comes later)."""

    sq: np.ndarray
    dof: int
    what: str
    variance: float
    value: float
    single_rows: bool  # labels whose every class is a single row: tr C/d used instead of the pooled variance


def _gaussian_inputs(src, grams=None, scatter=None) -> _GaussianInputs:
    """σ² = tr C/d or the pooled within-class variance, and t_C from the isotropic formula."""
    n, d = src.n, src.d
    pooled = _pooled(src)
    if pooled:
        sq = scatter.row_sq if scatter is not None else _pooled_sq_norms(src, None if grams is None else grams.means())
        dof, what = n - src.n_classes, "isotropic Gaussian formula with σ² = pooled within-class variance per feature"
    else:
        sq, dof, what = src.centred_sq_norms, n - 1, "isotropic Gaussian formula with σ² = tr C / d"
    var = float(sq.sum() / dof / d)
    return _GaussianInputs(sq, dof, what, var, collapse_time_from_alpha(math.log(n) / d, var),
                           src.labels is not None and not pooled)


def _gaussian_stage(src, conf, gen, B, notes, g: _GaussianInputs):
    """t_C from the isotropic formula (``g``: :func:`_gaussian_inputs`) with its linearised bootstrap over rows.

    With labels but no within-class degree of freedom (every class a single row, n − C = 0) the
    pooled variance is undefined: σ² = tr C/d is used instead and a note says so.
    """
    n, d = src.n, src.d
    if g.single_rows:
        notes.append(f"t_C (gaussian): every one of the {src.n_classes} classes has a single row, so the "
                     "pooled within-class variance is undefined (n − classes = 0); σ² = tr C / d used instead")
    a = math.log(n) / d
    # a replicate that drew only rows at the mean (σ² = 0: tiny n) has the formula's limit t_C = 0
    reps = [collapse_time_from_alpha(a, float(r / d)) if r > 0 else 0.0
            for r in linearised_replicates(g.sq, gen, B, g.dof)]
    ci, se = percentile_interval(reps, conf)
    return _degenerate_interval(Estimate(g.value, se, ci, definition=g.what, details={"variance": g.variance}),
                                "t_C (gaussian)", n, notes)


def _needs_wider_grid(curves, a):
    """``(low, high)``: whether a curve has not crossed its level at the low / high end of the grid."""
    low = curves.commitment[0] < COMMITMENT_LEVEL or curves.excess_entropy[0] > ENTROPY_THRESHOLD * a
    high = curves.commitment[-1] > COMMITMENT_LEVEL or curves.excess_entropy[-1] < ENTROPY_THRESHOLD * a
    return low, high


def _mixture_stage(src, times, refs, run, notes):
    """``(curves, grid)``: the empirical-mixture curves; the default grid widened (at most twice)
    where a measured curve has not crossed its level at an end of it — the reference times are
    only estimates (the spectral proxy can be far off, e.g. for tight clusters far apart)."""
    if times is None:
        tt = default_times(refs, t_min=min_time(src))
    else:
        tt = np.unique(check_times("times", times, ndim=1, min_size=2))
        if tt.size < 2:
            raise RegimesError("times must contain at least 2 distinct values")
    curves = run(tt)
    if times is not None:
        return curves, tt
    a = math.log(src.n) / src.d
    for _ in range(2):
        low, high = _needs_wider_grid(curves, a)
        if not (low or high):
            break
        refs += [0.5 * float(np.logaddexp(0.0, _ou_to_log_ratio(tt[0]) - 4.0))] if low else []
        refs += [0.5 * float(np.logaddexp(0.0, _ou_to_log_ratio(tt[-1]) + 4.0))] if high else []
        old = (float(tt[0]), float(tt[-1]))
        tt = default_times(refs, t_min=min_time(src))
        notes.append(f"time grid widened from [{old[0]:.3g}, {old[1]:.3g}] to [{tt[0]:.3g}, {tt[-1]:.3g}]: "
                     "a measured curve had not crossed its level at the end of the default grid")
        curves = run(tt)
    return curves, tt


def _crossings_stage(curves, src, tt, bootstrap, gen, conf, notes, progress):
    """``(t_C commitment, t_C entropy, t_S_class)`` from the curves, with bootstrap intervals."""
    a = math.log(src.n) / src.d
    progress("crossings", 0, 3)
    requests = [("commitment", COMMITMENT_LEVEL), ("excess_entropy", ENTROPY_THRESHOLD * a)]
    if src.labels is not None:
        requests.append(("class_commitment", class_level(max(src.n_classes, 2))))
    # data not held in memory: evaluate every estimator's fine window in one more pass
    curves.prefetch(requests)
    # solved together: with stored statistics, one read of them per round of the root finders
    com, ent, *rest = curves.crossings(requests, bootstrap=bootstrap, rng=gen, confidence=conf)
    com = com.replace(
        definition="φ_C(t) = 1/2 (headline: the probability that two clones branched at t end on the same "
                   "training point; matches the backward dynamics simulated with the exact empirical score)")
    ent = ent.replace(
        definition=f"f^e(t)/α = {ENTROPY_THRESHOLD} (a threshold convention on the excess entropy, not a crossing "
                   "of the dynamics)")
    for k_, e in (("commitment", com), ("entropy", ent)):
        if math.isnan(e.value):
            notes.append(f"t_C ({k_}): the curve does not cross its level on the time grid "
                         f"[{tt[0]:.3g}, {tt[-1]:.3g}]; widen the time grid (times=)")
    progress("crossings", 2, 3)
    cls = None
    if rest:
        C = src.n_classes
        level = requests[2][1]
        what = (f"φ(t) = {level:.6g}" if C == 2 else
                f"φ(t) = {level:.6g}: the normalised curve (φ − 1/C)/(1 − 1/C) at 0.5504, C = {C} (a convention "
                "calibrated on the two-class value 0.7752)")
        cls = rest[0].replace(definition=what, details={**rest[0].details, "level": level, "classes": C})
        if C < 2:
            notes.append("t_S_class: the labels hold a single class, so φ(t) = 1 at every t and never "
                         f"crosses {level:.6g} (give at least two classes)")
        elif math.isnan(cls.value):
            notes.append(f"t_S_class: φ(t) does not cross {level:.6g} on the time grid "
                         f"[{tt[0]:.3g}, {tt[-1]:.3g}]; widen the time grid (times=), unless the classes do not "
                         "separate at all (Λ <= 1 or not detectable: see the notes on Λ)")
    for k_, e in (("t_C (commitment)", com), ("t_C (entropy)", ent), ("t_S_class", cls)):
        notes.extend(f"{k_}: {x} (more Monte Carlo samples narrow the replicates' spread)"
                     for x in (() if e is None else e.notes))
    progress("crossings", 3, 3)
    return com, ent, cls


def _class_theory_crossing(model, level):
    from scipy.optimize import brentq

    f = lambda t: model.cloning_probability(t) - level  # noqa: E731
    hi = 0.5 * math.log(model.eigenvalue) + 10.0
    if f(1e-9) < 0 or f(hi) > 0:
        return math.nan
    return float(brentq(f, 1e-9, hi, xtol=1e-13))


def _reference(model, src, tt) -> Reference:
    """The model's predictions at the analysis' sizes and times."""
    a = math.log(src.n) / src.d
    return Reference(
        model=f"GaussianMixture(n={src.n}, d={src.d}, separation={model.separation:g}, variance={model.variance:g})",
        eigenvalue=model.eigenvalue,
        t_S=model.speciation_time(),
        t_C=model.collapse_time(),
        t_S_class=_class_theory_crossing(model, CLASS_COMMITMENT_LEVEL),
        t_C_entropy_threshold=collapse_time_from_alpha(a * (1 - ENTROPY_THRESHOLD), model.variance),
        excess_entropy=model.excess_entropy(tt),
        class_commitment=model.cloning_probability(tt),
        t_C_spectral=collapse_time_spectral(np.r_[model.eigenvalue, np.full(src.d - 1, model.variance)], src.n),
    )


def _curves_of(curves) -> AnalysisCurves:
    return AnalysisCurves(t=curves.t, excess_entropy=curves.excess_entropy,
                          excess_entropy_se=curves.excess_entropy_se, commitment=curves.commitment,
                          commitment_se=curves.commitment_se, class_commitment=curves.class_commitment,
                          class_commitment_se=curves.class_commitment_se)


def _check_sizes(samples, bootstrap, eigen_bootstrap, times, eigen_subsample):
    """The size-like arguments of :func:`analyze`, bounded, before any work."""
    samples = check_int("samples", samples, ge=16, le=MAX_SAMPLES)
    bootstrap = check_int("bootstrap", bootstrap, ge=0, le=MAX_BOOTSTRAP)
    eigen_bootstrap = (bootstrap if eigen_bootstrap is None
                       else check_int("eigen_bootstrap", eigen_bootstrap, ge=0, le=MAX_BOOTSTRAP))
    # the per-sample statistics of the mixture engine (two float64 per sample and time; the
    # default grid has at most a few hundred times)
    ntimes = 256 if times is None else max(1, int(np.size(times)))
    check_memory("samples", samples, 16.0 * samples * ntimes, what="Monte Carlo statistics")
    if eigen_subsample is not None:
        eigen_subsample = check_int("eigen_subsample", eigen_subsample, ge=2, le=2**40)
    return samples, bootstrap, eigen_bootstrap, eigen_subsample


def analyze(data=None, labels=None, *, samples: int = 1024, times=None, schedule="linear",
            steps: int | None = None, sampler_steps=None, timestep_spacing: str | None = None, seed: int = 0,
            bootstrap: int = 200, eigen_bootstrap: int | None = None,
            confidence: float = 0.95, memory_budget: int = DEFAULT_MEMORY_BUDGET,
            scale: str | float = "none", center: bool = True, key: str | None = None,
            progress=None, precision: str = "auto", engine: str = "numpy",
            eigen_subsample: int | None = None, cluster=None) -> AnalysisResult:
    """Measure t_S and t_C on a training set, with intervals, and map the regimes onto steps.

    Parameters
    ----------
    data : path, array_like, DataSource or Dataset, optional
        The training set (see :func:`regimes.data.load_source`). None: the built-in two-class
        Gaussian mixture (d = 1024, 2×2000 points, m̃ = 1, σ² = 1, generated from ``seed``), where
        the theory is exact and the result carries a ``reference`` with the predicted values (as
        does a :class:`regimes.Dataset` that carries its model).
    labels : path or array_like, optional
        One class label per row; enables φ(t) and ``t_S_class``.
    samples : int
        Monte Carlo samples M of the empirical-mixture engine.
    times : array_like, optional
        OU times of the curves; default: a grid spanning the estimates of t_C and t_S.
    schedule, steps, sampler_steps, timestep_spacing
        Sampler the regimes are mapped onto (name, DiscreteSchedule, EDMSampler; ``steps``: T of a name),
        and optionally its N inference steps (``sampler_*`` keys; :class:`regimes.schedule_forms.SamplerSteps`).
    seed : int
        Seeds the data of the default run (``seed`` itself), the bootstraps and the Lanczos start
        (``SeedSequence([seed, 1])``) and the Monte Carlo samples of the mixture engine
        (``SeedSequence([seed, 2])``, :func:`regimes.engines.mixture_rng`, shared with
        :meth:`regimes.Dataset.curves` so that both see the same samples): three independent streams.
    bootstrap : int
        Bootstrap replicates for the intervals; ``eigen_bootstrap`` for Λ and t_S (linearised:
        the reweighted Rayleigh quotient at the top eigenvector, one extra pass in all; default:
        ``bootstrap``).
    confidence : float
        Interval level.
    memory_budget : int
        Bytes for the mixture engine; a quarter of it bounds the per-class d×d sums of labelled data.
    scale, center, key
        Loading options when ``data`` is a path or an array.
    precision : {"auto", "float32", "float64"}
        Arithmetic of the mixture engine's products (see :func:`regimes.engines.empirical_mixture`;
        ``"auto"`` measures float32's error on a probe and switches to float64 when needed).
    engine : {"numpy", "numba", "auto"}
        Log-sum-exp implementation of the mixture engine (see :func:`regimes.engines.empirical_mixture`).
    eigen_subsample : int, optional
        For d > 4096: Λ and the top eigenvalues from this many rows drawn without replacement
        (seeded); ignored, with a note, for d <= 4096 (one pass over all rows is cheap there).
    cluster : str or distributed.Client, optional
        The data passes as Dask tasks (``"local:N"``, ``"tcp://host:8786"``): :mod:`regimes.distributed`.
        The options (sizes, schedule, confidence, precision, engine, budget, units) are checked before
        the cluster is started or joined; the data and labels are loaded on it (their checks run there).
    progress : callable, optional
        ``progress(stage, done, total)``. Stages: ``"eigenvalue"``, ``"spectrum"``, ``"entropy"``
        (the mixture engine's pass, in rows), ``"crossings pass"`` (the streamed pass that
        evaluates the crossing windows when the per-sample statistics are not stored, in rows) and
        ``"crossings"``.

    Returns
    -------
    AnalysisResult

    Notes
    -----
    ``t_S = ½ ln Λ`` [DR]; ``t_S_class`` is the time where φ(t) = 0.7752, the value of the
    two-class cloning probability at r = 1; t_C estimators and intervals as in the module
    docstring. Regimes use t_S and the headline (commitment) t_C.

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """
    samples, bootstrap, eigen_bootstrap, eigen_subsample = _check_sizes(samples, bootstrap, eigen_bootstrap,
                                                                       times, eigen_subsample)
    confidence, seed = check_real("confidence", confidence, gt=0.0, lt=1.0), check_int("seed", seed, ge=0)
    _check_options(times, memory_budget, scale, center, precision, engine, progress)
    sampler, sampler_steps = _sampler_stage(schedule, steps, sampler_steps, timestep_spacing)  # before any work
    run = _RunOptions(samples=samples, times=times, seed=seed, bootstrap=bootstrap, eigen_bootstrap=eigen_bootstrap,
                      confidence=confidence, memory_budget=memory_budget, precision=precision, engine=engine,
                      eigen_subsample=eigen_subsample, progress=progress, sampler=sampler, sampler_steps=sampler_steps)
    # the options are checked before a cluster is started or joined; the data are loaded on it (as tasks)
    with contextlib.nullcontext() if cluster is None else on_cluster(cluster):
        src, model = _load_stage(data, labels, scale=scale, center=center, key=key, seed=seed)
        return _run_analysis(src, model, run)


@dataclass(frozen=True)
class _RunOptions:
    """:func:`analyze`'s checked options, for :func:`_run_analysis`."""

    samples: int
    times: object
    seed: int
    bootstrap: int
    eigen_bootstrap: int
    confidence: float
    memory_budget: int
    precision: str
    engine: str
    eigen_subsample: int | None
    progress: object
    sampler: object
    sampler_steps: object


def _run_analysis(src, model, o: _RunOptions) -> AnalysisResult:
    """:func:`analyze`'s stages on the loaded training set ``src`` (``model``: the analytic model it
    was drawn from, or None)."""
    notes: list[str] = list(getattr(src, "notes", []))
    gen = analysis_rng(o.seed)  # bootstraps, Lanczos start

    def report(stage, done, total):
        if o.progress is not None:
            o.progress(stage, done, total)

    report("eigenvalue", 0, 1)
    grams, scatter = _class_passes(src, o.memory_budget)
    cv = _covariance_values(src, gen, o.eigen_bootstrap, o.eigen_subsample, grams)
    report("eigenvalue", 1, 1)
    report("spectrum", 0, 1)
    gv = _gaussian_inputs(src, grams, scatter)
    report("spectrum", 1, 1)
    # the engine reports every streamed pass through one callback (the curves, then the crossings
    # when the statistics are not stored); its first pass brings the rows' projections (intervals)
    stage, riders = ["entropy"], [] if cv.influences is None else [cv.influences.rider]

    def run(tt):
        return empirical_mixture(src, tt, samples=o.samples, rng=mixture_rng(o.seed), memory_budget=o.memory_budget,
                                 progress=lambda i, m: report(stage[0], i, m), precision=o.precision,
                                 engine=o.engine, on_block=riders.pop() if riders else None)

    at = len(notes)  # where the covariance and Gaussian stages' notes go: before the engine's
    curves, tt = _mixture_stage(src, o.times, [cv.t_S, cv.t0, gv.value], run, notes)
    lam, t_S, t_S_pop, spec, spectrum, gauss = _interval_stages(src, o.confidence, gen,
                                                                (o.bootstrap, o.eigen_bootstrap), cv, gv,
                                                                o.eigen_subsample, (notes, at))
    _precision_note(o.precision, curves, src, notes)
    stage[0] = "crossings pass"
    com, ent, t_S_class = _crossings_stage(curves, src, tt, o.bootstrap, gen, o.confidence, notes, report)
    t_C = {"commitment": com, "entropy": ent, "spectral": spec, "gaussian": gauss}
    diag = _diagnostics_stage(t_C, spectrum, src, notes)
    intervals, sched = _regimes_stage(t_S.value, t_C, o.sampler, o.sampler_steps, notes)
    cls_cov, hier = _classes_stage(src, notes, grams, scatter)
    if hier is not None and math.isfinite(t_S.value):  # merges above it are flagged in every output
        hier = dataclass_replace(hier, dataset_t_S=float(t_S.value))
    used = _regimes_estimator(t_C)
    return AnalysisResult(
        n=src.n, d=src.d, alpha=math.log(src.n) / src.d, eigenvalue=lam, t_S=t_S, t_C=t_C,
        curves=_curves_of(curves), regimes=intervals, schedule=sched, units=src.units, name=src.name,
        samples=o.samples, seed=o.seed, t_S_class=_class_time_caveats(t_S_class, lam, t_S, t_C[used], hier, notes),
        notes=notes, spectrum=spectrum, t_S_population=t_S_pop, diagnostics=diag, class_speciation=cls_cov,
        class_hierarchy=hier, reference=None if model is None else _reference(model, src, tt), regimes_estimator=used,
        bootstrap=o.bootstrap, eigen_bootstrap=o.eigen_bootstrap,
    )


def _interval_stages(src, conf, gen, boots, cv, gv, subsample, where):
    """``(Λ, t_S, t_S_population, spectral t_C, spectrum, Gaussian t_C)`` with their intervals, after
    the engine's pass (which brought the rows' projections): drawn from ``gen`` in the order these
    stages drew before the engine, their notes put in ``where = (notes, index)``, before the engine's."""
    said: list[str] = []
    lam, t_S, t_S_pop, spec, spectrum = _covariance_stage(src, conf, gen, *boots, said, cv, subsample)
    gauss = _gaussian_stage(src, conf, gen, boots[0], said, gv)
    notes, at = where
    notes[at:at] = said
    return lam, t_S, t_S_pop, spec, spectrum, gauss


def _precision_note(precision, curves, src, notes) -> None:
    """A note when ``precision="auto"`` chose float64 products for float32 data."""
    if precision == "auto" and curves.precision == "float64" and src.dtype == np.float32:
        notes.append(f"mixture engine: float64 products used — on a probe, float32 products erred by more "
                     f"than {PRECISION_TOLERANCE} nats in the log-weights (distances small against the "
                     "points' norms — tight clusters, near-duplicate rows — or very small times, where "
                     "the errors grow as 1/(4t)); slower, same results otherwise")


def _regimes_estimator(t_C) -> str:
    """The t_C estimator the regimes use: the commitment one, or the spectral proxy when it is missing."""
    return "commitment" if not math.isnan(t_C["commitment"].value) else "spectral"


def _class_time_caveats(cls, lam, t_S, t_C, hier, notes):
    """t_S_class with its caveats (``notes``; ``details``: ``valid`` False and the short
    ``invalid_reasons``) when φ's crossing is not evidence of class formation, and a note saying so.

    The class curve φ(t) also reaches 1 when the trajectories collapse onto training points (each
    point is in one class), so a crossing is a speciation time only where speciation is detected
    and before (at larger t than) the collapse.
    """
    if cls is None or math.isnan(cls.value):
        return cls
    why, short = [], []
    if lam.details.get("detectable") is False:
        why.append("Λ is not detectable above the noise edge: no speciation is detected, so φ's crossing is "
                   "not evidence of class formation")
        short.append("Λ not detectable")
    elif math.isnan(t_S.value):
        why.append("Λ <= 1: no speciation, so φ's crossing is not evidence of class formation")
        short.append("Λ ≤ 1")
    if math.isfinite(t_C.value) and cls.value <= t_C.value:
        why.append(f"t_S_class = {cls.value:.4g} <= t_C = {t_C.value:.4g}: φ's crossing comes with collapse "
                   "(each training point is in one class), not class formation")
        short.append("crossing with collapse (≤ t_C)")
    noisy = [] if hier is None else hier.pairs_within_noise()
    if noisy and len(noisy) == len(hier.names) * (len(hier.names) - 1) // 2:
        why.append("every pair of class means is within sampling noise (class_hierarchy.pairs_within_noise)")
        short.append("class means within noise")
    if not why:
        return cls
    notes.append(f"t_S_class = {cls.value:.4g} is not a speciation time: " + "; ".join(why))
    return cls.replace(notes=(*cls.notes, *why), details={**cls.details, "valid": False, "invalid_reasons": short})


def _diagnostics_stage(t_C, spectrum, src, notes) -> Diagnostics:
    """Agreement of the t_C estimators and the measured causes of a disagreement, with a note."""
    within = t_C["gaussian"].details["variance"] if _pooled(src) else None
    diag = diagnose(t_C, spectrum, d=src.d, n=src.n, total_variance=src.total_variance, within_variance=within)
    trust = (". The commitment estimate (φ_C = ½) is the collapse of the dynamics" if diag.commitment_measured else
             ". The commitment estimate (φ_C = ½), the collapse of the dynamics, is missing: widen the time grid")
    if diag.agree is False:
        notes.append(agreement_text(False, 0, diag.spread) + ": " + "; ".join(diag.causes) + trust)
    elif diag.agree is None:
        notes.append(agreement_text(None, len(diag.unjudged), diag.spread) + trust)
    return diag


#: class structure beyond the means (covariance-only speciation, O(d³) per class) up to this d
CLASS_COVARIANCE_MAX_D = 1024
#: the class hierarchy (pairwise times, dendrogram) up to this many classes
HIERARCHY_MAX_CLASSES = 200


def _class_grams_stage(src, memory_budget) -> ClassGrams | None:
    """The per-class sums of labelled data in one pass (:func:`regimes.engines.covariance.class_grams`),
    shared by the covariance (float64 data), the class covariances, the class hierarchy's means and
    the pooled within-class variance; None where they would not all fit or serve: no labels or one
    class, d > DENSE_COVARIANCE_MAX_D, K·d²·8 bytes above a quarter of ``memory_budget`` (they stay
    in memory through the engine's pass, which may use the whole budget), on a Dask cluster (its
    passes run as tasks), or float32 data beyond CLASS_COVARIANCE_MAX_D (only the means would use them)."""
    if src.labels is None or src.n_classes < 2 or src.d > DENSE_COVARIANCE_MAX_D or active() is not None:
        return None
    if src.n_classes * src.d * src.d * 8 > memory_budget // 4:
        return None
    if src.dtype != np.float64 and src.d > CLASS_COVARIANCE_MAX_D:
        return None
    return class_grams(src)


def _class_passes(src, memory_budget) -> tuple[ClassGrams | None, ClassScatter | None]:
    """``(grams, scatter)``: the labelled passes shared between stages — the per-class sums
    (:func:`_class_grams_stage`) and, when the class hierarchy will be computed, the rows about the
    class means (:func:`regimes.hierarchy.class_scatter`), whose distances also give the pooled
    within-class variance (None where a stage reads the data itself)."""
    grams = _class_grams_stage(src, memory_budget)
    if grams is None or not _hierarchy_applies(src):
        return grams, None
    return grams, class_scatter(src, grams)


def _hierarchy_applies(src) -> bool:
    """Whether :func:`_classes_stage` computes the class hierarchy: at least two classes, at most
    :data:`HIERARCHY_MAX_CLASSES`, each with two rows or more."""
    return (src.labels is not None and 2 <= src.n_classes <= HIERARCHY_MAX_CLASSES
            and int(np.bincount(src.labels).min()) >= 2)


def _classes_stage(src, notes, grams=None, scatter=None):
    """``(covariance-only speciation, class hierarchy)`` of labelled data with two classes or more
    (None where not computed, with a note saying why)."""
    if src.labels is None or src.n_classes < 2:
        return None, None
    if np.bincount(src.labels).min() < 2:
        notes.append("t_S_covariance and class_hierarchy not computed: a class has a single row")
        return None, None
    cs = h = None
    if src.d <= CLASS_COVARIANCE_MAX_D:
        try:
            cs = _asymptotic_validity(class_speciation_from_data(src, grams=grams), notes)
        except RegimesError as exc:  # e.g. covariances whose squares overflow: not a reason to stop the analysis
            notes.append(f"t_S_covariance not computed ({exc})")
        if cs is not None and src.n_classes > 2:
            notes.append("t_S_covariance compares each class with the rest of the rows; the rest is a mixture whose "
                         "covariance includes the spread of the other classes' means, so a class-vs-rest time can "
                         "come from the means as well as from the covariances")
    else:
        notes.append(f"t_S_covariance not computed (d = {src.d} > {CLASS_COVARIANCE_MAX_D}): "
                     "regimes.class_speciation.class_speciation_from_data computes it (O(d³) per class)")
    if _hierarchy_applies(src):
        try:
            h = class_hierarchy(src, grams=grams, scatter=scatter)
        except RegimesError as exc:  # e.g. two classes with the same mean: not a reason to stop the analysis
            notes.append(f"class_hierarchy not computed ({exc})")
        noisy = [] if h is None else h.pairs_within_noise()
        if noisy:
            shown = ", ".join(f"{a}–{b}" for a, b in noisy[:5]) + (", …" if len(noisy) > 5 else "")
            notes.append(f"class_hierarchy: {len(noisy)} of the {len(h.names) * (len(h.names) - 1) // 2} class pairs "
                         f"({shown}) have |δ̂|² not above the 99.5% quantile of its law under equal means "
                         "(class_hierarchy.noise_rule): their speciation times reflect sampling noise, not class "
                         "structure")
    else:
        notes.append(f"class_hierarchy not computed ({src.n_classes} classes > {HIERARCHY_MAX_CLASSES})")
    return cs, h


#: the large-t form of t_S_covariance counts as in its range when, on the same covariances, it lands
#: within this many OU time units of the exact root
ASYMPTOTIC_TOLERANCE = 0.05


def _asymptotic_validity(cs, notes):
    """The comparisons of t_S_covariance with ``t_S_asymptotic_valid`` (and a caveat when False).

    The large-t form ¼ ln(‖C1 − C2‖²_F/8) expands the criterion in r_i − 1 = e^{−2t}E_i/(Δ_t + e^{−2t}D_i)
    (E_i the eigenvalues of C1 − C2): it holds when every |r_i − 1| ≪ 1 at the root — t large and the
    difference spread over many directions (at the root e^{−2t} = √(8/‖C1 − C2‖²_F), so |r − 1| ≈
    √8 ‖C1 − C2‖_op/‖C1 − C2‖_F). Checked on the rows themselves: the form on the same (not debiased)
    ‖Ĉ1 − Ĉ2‖²_F must land within :data:`ASYMPTOTIC_TOLERANCE` of the exact root.
    """
    rows, bad = [], []
    for r in cs.rows:
        r = dict(r)
        if r.get("t_S_asymptotic") is not None:
            t, F2 = r.get("t_S"), r["frobenius_sq"]
            same = 0.25 * math.log(F2 / 8.0) if F2 > 8.0 else math.nan
            ok = t is not None and abs(same - t) <= ASYMPTOTIC_TOLERANCE
            r["t_S_asymptotic_valid"] = bool(ok)
            if not ok:
                r["t_S_asymptotic_caveat"] = (
                    "outside its range: the exact criterion has no root" if t is None else
                    f"outside its range: on the same covariances the large-t form gives {same:.4g} against the exact "
                    f"root {t:.4g} (|r_i − 1| is not small at the root: t not large, or C1 − C2 concentrated in "
                    "few directions)")
                bad.append(f"{r['class']} against {r['against']}")
        rows.append(r)
    biased = [f"{r['class']} against {r['against']}" for r in rows
              if r.get("t_S_asymptotic_valid") is False and r.get("t_S_biased")]
    fine = [b for b in bad if b not in biased]
    if fine:
        notes.append(f"t_S_covariance: the large-t form ¼ ln(‖C1 − C2‖²_F/8) is outside its range for "
                     f"{', '.join(fine)} (t_S_asymptotic_valid false): use the exact t_S")
    if biased:
        notes.append(f"t_S_covariance: for {', '.join(biased)} neither time is reliable — the large-t form is outside "
                     "its range (t_S_asymptotic_valid false) and the exact t_S is biased upward by sampling noise "
                     "(t_S_biased; by about t_S_noise_shift): t_S_corrected removes most of that bias when the "
                     "difference is spread over many directions; more rows per class reduce it")
    return dataclass_replace(cs, rows=rows)


def _check_options(times, memory_budget, scale, center, precision, engine, progress) -> None:
    """:func:`analyze`'s other arguments, checked before any work (whether or not this run uses them)."""
    if times is not None:
        check_times("times", times, ndim=1, min_size=2)
    check_memory_budget(memory_budget)
    scale_map(scale)
    check_bool("center", center)
    check_engine_options(precision, engine)
    check_callback("progress", progress, "progress(stage, done, total)")


def _sampler_stage(schedule, steps, sampler_steps, timestep_spacing):
    """``(sampler, SamplerSteps or None)`` of analyze's schedule arguments (``timestep_spacing`` and
    ``sampler_steps`` checked under their own names, even when the other is not given)."""
    if timestep_spacing is not None:
        check_choice("timestep_spacing", timestep_spacing, TIMESTEP_SPACINGS,
                     suffix=" (or None: the schedule's own)")
    sampler = get_sampler(schedule, None if steps is None else check_int("steps", steps, ge=2, le=MAX_STEPS))
    if sampler_steps is not None and not isinstance(sampler_steps, SamplerSteps):
        n = check_int("sampler_steps", sampler_steps, ge=1)
        if not isinstance(sampler, EDMSampler) and n > sampler.steps:
            raise RegimesError(f"sampler_steps must be <= the schedule's {sampler.steps} training steps, got {n}")
        sampler_steps = SamplerSteps(sampler, n, timestep_spacing)
    return sampler, sampler_steps


def _regimes_stage(t_S, t_C, sampler, sampler_steps, notes):
    """``(regime intervals with steps, schedule summary)`` from t_S and the headline t_C."""
    tc_head = t_C["commitment"].value
    if math.isnan(tc_head):
        tc_head = t_C["spectral"].value
        notes.append("regimes use the spectral t_C (the commitment curve did not cross 1/2)")
    if math.isnan(t_S):
        notes.append("no speciation time (Λ <= 1, or Λ not detectable above the noise edge: see the notes on Λ): "
                     "no Regime II (the regimes are I and III only)")
    elif tc_head >= t_S:
        notes.append(f"collapse before speciation (t_C = {tc_head:.4g} >= t_S = {t_S:.4g}): no Regime II — "
                     "trajectories fall onto training points before classes form")
    intervals = regime_steps(t_S, tc_head, sampler, sampler_steps=sampler_steps)
    sched = schedule_steps(t_S, tc_head, sampler, sampler_steps=sampler_steps)
    notes += sched.get("notes", [])
    return intervals, sched
