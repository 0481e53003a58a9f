"""The ``regimes analyze`` pipeline: where speciation and collapse happen on a training set.

:func:`analyze` measures Λ and the full covariance spectrum in one pass when d <= 4096 (Lanczos for
the top 64 eigenvalues above that), and the
curves f^e(t), φ_C(t), φ(t) of the empirical mixture (one GEMM pass), then derives every estimate
of t_S and t_C with an interval and maps the regimes onto a sampler's steps.

Estimators of the collapse time (SPEC §3)
-----------------------------------------
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
    pooled within-class variance per feature (the mixture formula of SPEC §3).

Intervals: Monte Carlo estimates — percentile bootstrap over the Monte Carlo samples; Λ and t_S —
linearised bootstrap over training rows (reweighted Rayleigh quotient at the top eigenvector, accurate
for an isolated top eigenvalue); spectral and gaussian — linearised bootstrap over training rows
(influence function of the statistic). 95% by default.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._errors import RegimesError, RegimesWarning
from ._validate import as_real_array, check_int, check_real, check_rng
from .collapse import collapse_time_from_alpha
from .engines.covariance import FULL_SPECTRUM_MAX_D, top_eigenvalues
from .engines.mixture import DEFAULT_MEMORY_BUDGET, empirical_mixture

__all__ = [
    "AnalysisResult",
    "CLASS_COMMITMENT_LEVEL",
    "ENTROPY_THRESHOLD",
    "analyze",
    "default_dataset",
    "default_times",
]

#: f^e/α level that defines the ``entropy`` estimate of t_C
ENTROPY_THRESHOLD = 0.1
#: φ at r = 1 for the two-class mixture (σ = m̃ = 1, d → ∞): the class-curve speciation level
CLASS_COMMITMENT_LEVEL = 0.7752
#: φ_C level of the headline collapse estimate
COMMITMENT_LEVEL = 0.5
ESTIMATORS = ("commitment", "entropy", "spectral", "gaussian")

DEFAULT = {"d": 1024, "per_class": 2000, "separation": 1.0, "variance": 1.0}


def default_dataset(seed=0, *, d: int = 1024, per_class: int = 2000, separation: float = 1.0,
                    variance: float = 1.0):
    """The built-in dataset: ½N(m, σ²I) + ½N(−m, σ²I) samples, m = m̃·(1, …, 1).

    Returns ``(X, labels, model)`` with X float32 of shape (2·per_class, d), labels 0/1 and the
    matching :class:`regimes.GaussianMixture` (the theory the report compares with).
    """
    from .models import GaussianMixture

    d = check_int("d", d, ge=1)
    per_class = check_int("per_class", per_class, ge=1)
    sep = check_real("separation", separation, gt=0.0)
    var = check_real("variance", variance, gt=0.0)
    gen = check_rng(seed)
    labels = np.repeat(np.array([0, 1]), per_class)
    X = gen.standard_normal((2 * per_class, d)) * math.sqrt(var)
    X += np.where(labels[:, None] == 0, sep, -sep)
    model = GaussianMixture(n=2 * per_class, d=d, separation=sep, variance=var)
    return X.astype(np.float32), labels, model


def _ou_to_log_ratio(t: float) -> float:
    """``ln expm1(2t)`` (= −log-SNR of the OU process), stable for tiny and huge t."""
    return 2.0 * t + math.log(-math.expm1(-2.0 * t))


def default_times(t_refs, num: int | None = None) -> np.ndarray:
    """Default grid of OU times spanning the reference times (t_S and the t_C estimates).

    The grid is uniform in ``u = ln expm1(2t)`` (minus the log signal-to-noise ratio): linear in t
    for large t — rescaling the data by c shifts the times by ln c there — and logarithmic in t
    for small t (large α or small d put t_C far below 1). It runs from 3.5 units of u below the
    smallest reference (a factor e^3.5 ≈ 33 in noise variance; ≈ a quarter of t_C for the default
    mixture) to 3 units above the largest (≈ 1.5 past t_S when t_S is a few units), with no fixed
    clamp. ``num`` defaults to one point per 0.2 in u, at least 48 and at most 96.
    """
    refs = [float(x) for x in t_refs if x is not None and math.isfinite(x) and x > 0]
    if not refs:
        refs = [1.0]
    u_lo = _ou_to_log_ratio(min(refs)) - 3.5
    u_hi = _ou_to_log_ratio(max(refs)) + 3.0
    if num is None:
        num = int(min(96, max(48, math.ceil((u_hi - u_lo) / 0.2) + 1)))
    u = np.linspace(u_lo, u_hi, num)
    return 0.5 * np.logaddexp(0.0, u)  # t = ½ ln(1 + e^u)


def mixture_seed(seed: int) -> np.random.Generator:
    """Generator of the Monte Carlo samples of the mixture engine for an analysis seeded with ``seed``.

    One derivation shared by :func:`analyze` and :class:`regimes.Dataset`, so that curves
    evaluated through either use the same samples (``ds.commitment(ds.collapse_time()) == ½``).
    A stream of its own (``SeedSequence([seed, 2])``), independent of every other use of
    ``seed`` — in particular of :func:`default_dataset`, which draws the data from ``seed``: with
    the same stream the samples' noise ξ would be a copy of the data's own noise.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), 2]))


def _est(value, ci=(math.nan, math.nan), se=math.nan, **extra) -> dict:
    return {"value": float(value), "ci": [float(ci[0]), float(ci[1])], "se": float(se), **extra}


def _pct(reps, conf):
    q = (1 - conf) / 2
    reps = np.asarray(reps)[np.isfinite(reps)]
    if reps.size < 2:
        return (math.nan, math.nan), math.nan
    return (float(np.quantile(reps, q)), float(np.quantile(reps, 1 - q))), float(reps.std(ddof=1))


@dataclass
class AnalysisResult:
    """Everything ``regimes analyze`` reports. :meth:`to_dict` gives the JSON payload."""

    n: int
    d: int
    alpha: float
    eigenvalue: dict
    t_S: dict
    t_C: dict
    curves: dict
    regimes: list
    schedule: dict
    units: str
    name: str
    samples: int
    seed: int
    t_S_class: dict | None = None
    reference: dict | None = None
    notes: list = field(default_factory=list)
    spectrum: np.ndarray | None = field(default=None, repr=False)

    @property
    def headline_t_C(self) -> float:
        return self.t_C["commitment"]["value"]

    def to_dict(self) -> dict:
        out = {
            "data": self.name,
            "units": self.units,
            "n": self.n,
            "d": self.d,
            "alpha": self.alpha,
            "eigenvalue": self.eigenvalue,
            "t_S": self.t_S,
            "t_C": self.t_C,
            "curves": self.curves,
            "regimes": [{**r, "t_max": None if math.isinf(r["t_max"]) else r["t_max"]}
                        for r in self.regimes],
            "schedule": self.schedule,
            "samples": self.samples,
            "seed": self.seed,
            "notes": list(self.notes),
        }
        if self.t_S_class is not None:
            out["t_S_class"] = self.t_S_class
        if self.reference is not None:
            out["reference"] = self.reference
        return out


def _gaussian_estimate(src, n, d, conf, gen, B, notes=None):
    """t_C from the isotropic formula, σ² = tr C/d or the pooled within-class variance.

    With labels but no within-class degree of freedom (every class a single row, n − C = 0) the
    pooled variance is undefined: σ² = tr C/d is used instead and a note says so.
    """
    pooled = src.labels is not None and n - src.n_classes >= 1
    if src.labels is not None and not pooled and notes is not None:
        notes.append(f"t_C (gaussian): every one of the {src.n_classes} classes has a single row, so the "
                     "pooled within-class variance is undefined (n − classes = 0); σ² = tr C / d used instead")
    if not pooled:
        sq = src.centred_sq_norms
        dof = n - 1
        what = "σ² = tr C / d"
    else:
        C = src.n_classes
        sums = np.zeros((C, d))
        cnt = np.bincount(src.labels, minlength=C).astype(float)
        for s, e, blk in src.blocks():
            np.add.at(sums, src.labels[s:e], blk.astype(np.float64))
        means = sums / np.maximum(cnt, 1)[:, None]
        sq = np.empty(n)
        for s, e, blk in src.blocks():
            x = blk.astype(np.float64) - means[src.labels[s:e]]
            sq[s:e] = np.einsum("ij,ij->i", x, x)
        dof = n - C
        what = "σ² = pooled within-class variance per feature"
    a = math.log(n) / d
    var = float(sq.sum() / dof / d)
    val = collapse_time_from_alpha(a, var)
    reps = []
    for _ in range(B):
        w = np.bincount(gen.integers(0, n, n), minlength=n)
        reps.append(collapse_time_from_alpha(a, float(w @ sq / dof / d)))
    ci, se = _pct(reps, conf)
    return _est(val, ci, se, variance=var, definition=what)


def _spectral_estimate(src, n, d, conf, gen, B, top_vals=None):
    """Zero of the annealed spectral proxy, with a linearised bootstrap over rows."""
    from .collapse import collapse_time_spectral

    if d <= FULL_SPECTRUM_MAX_D:
        from .engines.covariance import _pow2_scale, _shift, _working, covariance_spectrum

        lam, V, mu = covariance_spectrum(src, return_vectors=True)  # one pass over the data
        lam = np.clip(lam, 0.0, None)
        t0 = collapse_time_spectral(lam, n, d)
        # influence of row i on g(t) = (1/2d) Σ log1p(λ_k x): (x/2d) Σ_k (z_i·v_k)²/(1 + x λ_k)
        x = 1.0 / math.expm1(2.0 * t0)
        psi = np.empty(n)
        z1sq = np.empty(n)  # squared projections on the top eigenvector: Λ's linearised bootstrap
        wk = x / (1.0 + x * lam) / (2.0 * d)
        Vb = V.astype(src.dtype)
        # the working blocks of the covariance engine: centred (a non-centred source by its mean,
        # before the float32 product, which would otherwise cancel against a large offset) and
        # scaled by a power of two; (x − μ)·v = W·v / s − (μ − shift)·v
        shift, scale = _shift(src), _pow2_scale(src)
        resid = (mu - shift) @ V
        for s, e, blk in src.blocks():
            Z = (_working(blk, shift, scale) @ Vb).astype(np.float64)
            Z /= scale
            Z -= resid
            Z *= Z
            psi[s:e] = Z @ wk
            z1sq[s:e] = Z[:, 0]
        # dg/dt at the root, then linearised bootstrap of the root
        dxdt = -2.0 * math.exp(2.0 * t0) * x * x
        dg = float(np.sum(lam / (1.0 + x * lam)) / (2.0 * d) * dxdt)
        base = psi.sum() / (n - 1)
        reps = []
        for _ in range(B):
            w = np.bincount(gen.integers(0, n, n), minlength=n)
            reps.append(t0 - (w @ psi / (n - 1) - base) / dg)
        ci, se = _pct(reps, conf)
        return _est(t0, ci, se, definition="full spectrum, annealed REM proxy"), lam, z1sq
    # large d: top eigenvalues plus a flat remainder carrying the rest of the trace
    top = np.asarray(top_vals, dtype=float)
    rest = max(src.total_variance - top.sum(), 0.0) / (d - top.size)
    lam = np.concatenate([top, np.full(d - top.size, rest)])
    t0 = collapse_time_spectral(lam, n, d)
    return _est(t0, definition=f"top {top.size} eigenvalues + flat remainder (d > {FULL_SPECTRUM_MAX_D}); "
                "no interval"), None, None


def _class_theory_crossing(model, level):
    from scipy.optimize import brentq

    f = lambda t: model.cloning_probability(t) - level  # noqa: E731
    hi = 0.5 * math.log(model.eigenvalue) + 10.0
    if f(1e-9) < 0 or f(hi) > 0:
        return math.nan
    return float(brentq(f, 1e-9, hi, xtol=1e-13))


def analyze(data=None, labels=None, *, samples: int = 1024, times=None, schedule: str = "linear",
            steps: int = 1000, seed: int = 0, bootstrap: int = 200, eigen_bootstrap: int | None = None,
            confidence: float = 0.95, memory_budget: int = DEFAULT_MEMORY_BUDGET,
            scale: str = "none", center: bool = True, key: str | None = None,
            progress=None, precision: str = "auto") -> AnalysisResult:
    """Measure t_S and t_C on a training set, with intervals, and map the regimes onto steps.

    Parameters
    ----------
    data : path, array_like, DataSource or Dataset, optional
        The training set (see :func:`regimes.load_dataset`). None: the built-in two-class Gaussian
        mixture (d = 1024, 2×2000 points, m̃ = 1, σ² = 1, generated from ``seed``), where the
        theory is exact and the result carries a ``reference`` with the predicted values.
    labels : path or array_like, optional
        One class label per row; enables φ(t) and ``t_S_class``.
    samples : int
        Monte Carlo samples M of the empirical-mixture engine.
    times : array_like, optional
        OU times of the curves; default: 48 points spanning the theory's t_C and t_S.
    schedule, steps : str, int
        Sampler whose steps the regimes are mapped onto.
    seed : int
        Seeds the data of the default run (``seed`` itself), the bootstraps and the Lanczos start
        (``SeedSequence([seed, 1])``) and the Monte Carlo samples of the mixture engine
        (``SeedSequence([seed, 2])``, :func:`mixture_seed`, shared with
        :meth:`regimes.Dataset.curves` so that both see the same samples): three independent streams.
    bootstrap : int
        Bootstrap replicates for the intervals; ``eigen_bootstrap`` for Λ and t_S (linearised:
        the reweighted Rayleigh quotient at the top eigenvector, one extra pass in all; default:
        ``bootstrap``).
    confidence : float
        Interval level.
    memory_budget : int
        Bytes for the mixture engine.
    scale, center, key
        Loading options when ``data`` is a path or an array.
    precision : {"auto", "float32", "float64"}
        Arithmetic of the mixture engine's products (see :func:`regimes.engines.empirical_mixture`;
        ``"auto"`` measures float32's error on a probe and switches to float64 when needed).
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
    ``t_S = ½ ln Λ`` (SPEC §2); ``t_S_class`` is the time where φ(t) = 0.7752, the value of the
    two-class cloning probability at r = 1; t_C estimators and intervals as in the module
    docstring. Regimes use t_S and the headline (commitment) t_C.

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """
    from .data import DataSource, _load_source
    from .dataset import Dataset
    from .timeline import regime_steps, schedule_steps

    samples = check_int("samples", samples, ge=16)
    bootstrap = check_int("bootstrap", bootstrap, ge=0)
    eigen_bootstrap = bootstrap if eigen_bootstrap is None else check_int("eigen_bootstrap", eigen_bootstrap, ge=0)
    confidence = check_real("confidence", confidence, gt=0.0, lt=1.0)
    seed = check_int("seed", seed, ge=0)
    steps = check_int("steps", steps, ge=2)
    from .schedules import get_schedule

    get_schedule(schedule, steps)  # validate before any work
    model = None
    notes: list[str] = []
    if data is None:
        if labels is not None:
            raise RegimesError("labels: the built-in dataset has its own labels; give DATA too")
        X, lab, model = default_dataset(seed)
        src = _load_source(X, labels=lab, scale=scale, center=center)
        src.name = ("built-in two-class Gaussian mixture (d = 1024, 2×2000 points, m̃ = 1, σ² = 1, "
                    f"seed {seed})")
    elif isinstance(data, Dataset):
        src = data.source
    elif isinstance(data, DataSource):
        src = data
    else:
        src = _load_source(data, key=key, labels=labels, scale=scale, center=center)
    n, d = src.n, src.d
    a = math.log(n) / d
    gen = np.random.default_rng(np.random.SeedSequence([seed, 1]))  # bootstraps, Lanczos start

    def _p(stage, done, total):
        if progress is not None:
            progress(stage, done, total)

    # --- covariance: Λ and t_S -------------------------------------------------------------
    _p("eigenvalue", 0, 1)
    spec = spectrum = None
    if d <= FULL_SPECTRUM_MAX_D:
        # one pass forms C: Λ, the whole spectrum (spectral t_C) and, in a second pass, the
        # projections that give both bootstraps (linearised: no eigen-solve per replicate);
        # d = 1 included (C is the variance, the projections the centred values)
        spec, spectrum, z1sq = _spectral_estimate(src, n, d, confidence, gen, bootstrap)
        lam_top = float(spectrum[0])
        eig = None
        reps = None
        if eigen_bootstrap:
            p_unif = np.full(n, 1.0 / n)
            reps = np.array([gen.multinomial(n, p_unif) @ z1sq / (n - 1.0) for _ in range(eigen_bootstrap)])
    else:
        eig = top_eigenvalues(src, k=min(64, d - 1), rng=gen, bootstrap=eigen_bootstrap)
        lam_top = float(eig.values[0])
        reps = None if eig.replicates is None else eig.replicates[:, 0]
    ci_l, se_l = _pct(reps, confidence) if reps is not None else ((math.nan, math.nan), math.nan)
    eigenvalue = _est(lam_top, ci_l, se_l)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegimesWarning)
        t_S_val = 0.5 * math.log(lam_top) if lam_top > 1 else math.nan
        t_S_ci = [0.5 * math.log(x) if x > 1 else math.nan for x in ci_l]
    t_S = _est(t_S_val, t_S_ci, se_l / (2 * lam_top) if lam_top > 0 else math.nan)
    if math.isnan(t_S_val):
        notes.append(f"Λ = {lam_top:.4g} <= 1: no speciation time (t_S is not defined)")
    elif math.isfinite(ci_l[0]) and ci_l[0] <= 1:
        notes.append(f"t_S: the lower end of Λ's interval ({ci_l[0]:.4g}) is <= 1, where t_S = ½ ln Λ is "
                     "undefined (no speciation), so t_S's interval has no lower end (null)")
    _p("eigenvalue", 1, 1)

    # --- spectrum-based and Gaussian t_C ------------------------------------------------------
    _p("spectrum", 0, 1)
    if spec is None:
        spec, spectrum, _ = _spectral_estimate(src, n, d, confidence, gen, bootstrap,
                                               None if eig is None else eig.values)
    gauss = _gaussian_estimate(src, n, d, confidence, gen, bootstrap, notes)
    _p("spectrum", 1, 1)

    # --- the empirical mixture ---------------------------------------------------------------
    if times is None:
        refs = [t_S_val, spec["value"], gauss["value"]]
        tt = default_times(refs)
    else:
        tt = np.unique(as_real_array("times", times, gt=0.0, ndim=1, min_size=2))
        if tt.size < 2:
            raise RegimesError("times must contain at least 2 distinct values")
    # the engine reports every streamed pass through one callback: the first is the curves
    # themselves, later ones (re-evaluations when the statistics are not stored) the crossings
    stage = ["entropy"]
    curves = empirical_mixture(src, tt, samples=samples, rng=mixture_seed(seed), memory_budget=memory_budget,
                               progress=lambda i, m: _p(stage[0], i, m), precision=precision)
    if times is None:
        # the reference times are only estimates (the spectral proxy can be far off, e.g. for tight
        # clusters far apart): where a measured curve has not crossed its level at an end of the
        # grid, widen the grid past that end and measure again (at most twice)
        for _ in range(2):
            low = (curves.commitment[0] < COMMITMENT_LEVEL
                   or curves.excess_entropy[0] > ENTROPY_THRESHOLD * a)
            high = (curves.commitment[-1] > COMMITMENT_LEVEL
                    or curves.excess_entropy[-1] < ENTROPY_THRESHOLD * a)
            if not (low or high):
                break
            refs += [0.5 * float(np.logaddexp(0.0, _ou_to_log_ratio(tt[0]) - 4.0))] if low else []
            refs += [0.5 * float(np.logaddexp(0.0, _ou_to_log_ratio(tt[-1]) + 4.0))] if high else []
            old = (float(tt[0]), float(tt[-1]))
            tt = default_times(refs)
            notes.append(f"time grid widened from [{old[0]:.3g}, {old[1]:.3g}] to [{tt[0]:.3g}, {tt[-1]:.3g}]: "
                         "a measured curve had not crossed its level at the end of the default grid")
            curves = empirical_mixture(src, tt, samples=samples, rng=mixture_seed(seed),
                                       memory_budget=memory_budget, progress=lambda i, m: _p(stage[0], i, m),
                                       precision=precision)
    if precision == "auto" and curves.precision == "float64" and src.dtype == np.float32:
        from .engines.mixture import PRECISION_TOLERANCE

        notes.append(f"mixture engine: float64 products used — on a probe, float32 products erred by more "
                     f"than {PRECISION_TOLERANCE} nats in the log-weights (distances small against the "
                     "points' norms — tight clusters, near-duplicate rows — or very small times, where "
                     "the errors grow as 1/(4t)); slower, same results otherwise")
    stage[0] = "crossings pass"
    _p("crossings", 0, 3)
    # data not held in memory: evaluate every estimator's fine window in one more pass
    curves.prefetch([("commitment", COMMITMENT_LEVEL), ("excess_entropy", ENTROPY_THRESHOLD * a)]
                    + ([("class_commitment", CLASS_COMMITMENT_LEVEL)] if src.labels is not None else []))
    t_C = {
        "commitment": curves.crossing("commitment", COMMITMENT_LEVEL, bootstrap=bootstrap, rng=gen,
                                      confidence=confidence),
        "entropy": curves.crossing("excess_entropy", ENTROPY_THRESHOLD * a, bootstrap=bootstrap,
                                   rng=gen, confidence=confidence),
        "spectral": spec,
        "gaussian": gauss,
    }
    t_C["commitment"]["definition"] = "φ_C(t) = 1/2"
    t_C["entropy"]["definition"] = f"f^e(t)/α = {ENTROPY_THRESHOLD}"
    for k_ in ("commitment", "entropy"):
        if math.isnan(t_C[k_]["value"]):
            notes.append(f"t_C ({k_}): the curve does not cross its level on the time grid "
                         f"[{tt[0]:.3g}, {tt[-1]:.3g}]; widen --times")
    _p("crossings", 2, 3)
    t_S_class = None
    if src.labels is not None:
        t_S_class = curves.crossing("class_commitment", CLASS_COMMITMENT_LEVEL, bootstrap=bootstrap,
                                    rng=gen, confidence=confidence)
        t_S_class["definition"] = f"φ(t) = {CLASS_COMMITMENT_LEVEL}"
        if src.n_classes < 2:
            notes.append("t_S_class: the labels hold a single class, so φ(t) = 1 at every t and never "
                         f"crosses {CLASS_COMMITMENT_LEVEL} (give at least two classes)")
        elif math.isnan(t_S_class["value"]):
            notes.append(f"t_S_class: φ(t) does not cross {CLASS_COMMITMENT_LEVEL} on the time grid "
                         f"[{tt[0]:.3g}, {tt[-1]:.3g}]; widen --times")
    _p("crossings", 3, 3)
    curve_d = {
        "t": tt,
        "excess_entropy": curves.excess_entropy,
        "excess_entropy_se": curves.excess_entropy_se,
        "commitment": curves.commitment,
        "commitment_se": curves.commitment_se,
    }
    if curves.phi is not None:
        curve_d["class_commitment"] = curves.class_commitment
        curve_d["class_commitment_se"] = curves.class_commitment_se

    # --- regimes and steps -------------------------------------------------------------------
    tc_head = t_C["commitment"]["value"]
    if math.isnan(tc_head):
        tc_head = t_C["spectral"]["value"]
        notes.append("regimes use the spectral t_C (the commitment curve did not cross 1/2)")
    intervals = regime_steps(t_S_val, tc_head, schedule, steps)
    sched = schedule_steps(t_S_val, tc_head, schedule, steps)
    notes += sched.get("notes", [])

    reference = None
    if model is not None:
        reference = {
            "model": f"GaussianMixture(n={n}, d={d}, separation=1, variance=1)",
            "eigenvalue": model.eigenvalue,
            "t_S": model.speciation_time(),
            "t_C": model.collapse_time(),
            "t_S_class": _class_theory_crossing(model, CLASS_COMMITMENT_LEVEL),
            "t_C_entropy_threshold": collapse_time_from_alpha(a * (1 - ENTROPY_THRESHOLD), 1.0),
            "excess_entropy": model.excess_entropy(tt),
            "class_commitment": model.cloning_probability(tt),
        }
    return AnalysisResult(
        n=n, d=d, alpha=a, eigenvalue=eigenvalue, t_S=t_S, t_C=t_C, curves=curve_d,
        regimes=intervals, schedule=sched, units=src.units, name=src.name, samples=samples,
        seed=seed, t_S_class=t_S_class, reference=reference, notes=notes, spectrum=spectrum,
    )

