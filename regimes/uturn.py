"""U-turns: noise a training point to time t, run the exact backward dynamics back, see what returns.

For each time t, training points a^{μ0} (μ0 uniform) are noised to ``x_t = e^{−t}a^{μ0} + √Δ_t ξ``
and carried back to t = 0 with the exact empirical score; the fraction that ends on the same
training point and (with labels) in the same class is reported with its exact (Clopper–Pearson)
95% binomial interval and its plug-in binomial standard error (0 when every or no run returns:
read the interval there).

**U-turn identity** ([DR]): with the exact empirical score, the stochastic backward dynamics from
x at time t ends on training point μ with probability w_μ(x, t), so

    P(same point) = E_{μ0} E_{x|μ0}[w_{μ0}(x, t)] = E_x[Σ_μ w_μ²] = φ_C(t),
    P(same class) = E_x[Σ_c (Σ_{μ∈c} w_μ)²] = φ(t),

the commitment and class curves of :func:`regimes.engines.empirical_mixture` (and of
``regimes analyze``). Three dynamics are offered:

* ``"sde"`` (default): the reverse SDE, discretised by DDPM ancestral steps with the exact
  x_0-prediction E[x_0 | x_t] on a fine log-spaced grid from t down to
  ``t_end = min(t·10⁻⁴, 10⁻⁴·σ²)`` (σ² = tr C/d, the data's mean per-feature variance), then a
  last step to 0, which returns the posterior mean at t_end. At t_end the noise variance
  Δ ≈ 2·10⁻⁴σ² is far below the squared distance between distinct training points (≈ 2σ²d for
  generic data), so the posterior is concentrated on one point and the endpoint is a training
  point, at any t (a grid ending at t·10⁻⁴ alone would end at a blend of training points for
  large t). Its expectations equal φ_C, φ up to the discretisation error of the grid, which
  makes the returns too frequent: measured near φ_C = ½ at up to about 0.8·d^0.3/steps (at the
  default 200 steps +0.003 to +0.013 for d = 2 to 50, +0.023 for d = 400), so a result carries a
  note (and a :class:`RegimesWarning`) when this exceeds the Monte Carlo 95% half-width (see
  :func:`sde_bias_bound`).
* ``"posterior"``: the endpoint drawn directly from the posterior weights w(x_t, t) (what the
  exact dynamics does in law): unbiased for φ_C, φ at any t, and cheapest.
* ``"ode"``: the deterministic probability-flow ODE (DDIM steps). Its endpoint end(x) is a
  deterministic function of x_t, so P(same point) is **not** φ_C: since μ0 given x_t has the law
  w(x_t, t), it is E_x[w_{end(x)}(x, t)] (measured larger than φ_C wherever the weights are split);
  it is the picture of a deterministic sampler. Its fractions are labelled accordingly
  (:func:`fraction_targets`).

The endpoint is the training point nearest to the final state.

**Same point = same image.** Training rows that are equal bit for bit (a duplicated image) count
as one point: a run that starts on one copy and ends on another has returned. The expectation is
then φ_C of the distinct images, E[Σ_images (Σ_{μ ∈ copies} w_μ)²] (with no duplicates, φ_C
itself); ``duplicate_rows`` says how many rows are copies of an earlier one. Near-duplicates
(re-encoded, resized) are distinct points.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024), Fig. 1 and §"Collapse".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._errors import RegimesError, RegimesWarning
from ._stats import exact_binomial_interval, linear_root, percentile_interval
from ._validate import MAX_BOOTSTRAP, as_real_array, check_choice, check_int, check_real, check_rng
from .data.source import DataSource, as_source, encode_labels
from .engines.score import EmpiricalScore, reverse_step
from .estimate import Estimate

__all__ = ["METHODS", "MIN_UTURN_TIME", "FractionTarget", "ImageIndex", "UTurnCost", "UTurnResult", "end_time",
           "fraction_targets", "image_index", "sde_bias_bound", "simulated_collapse_time", "uturn",
           "uturn_cost"]

#: dynamics of :func:`uturn`
METHODS = ("sde", "posterior", "ode")
#: confidence of the fractions' intervals
CONFIDENCE = 0.95
#: largest ``samples`` and ``steps`` of :func:`uturn`
MAX_UTURN_SAMPLES, MAX_UTURN_STEPS = 10**7, 10**6
_MAX_SIZE = 10**15  # n, d, times of uturn_cost (beyond any run; keeps the products finite)
#: what "same point" counts (the JSON says it)
SAME_POINT = ("the same training image: rows equal bit for bit count as one point (a run from one copy that ends "
              "on another has returned)")
#: the grid of sde/ode ends at min(t·END_FRACTION, END_FRACTION·σ²) before its jump to 0
END_FRACTION = 1e-4
#: smallest OU time :func:`uturn` accepts (the lower end of the CLI's ``--times``): below it the
#: grid's end (:func:`end_time`, floored at 1e-300) would lie above t and the "backward" grid run
#: upward. Large t needs no bound: e^{−t} underflows to 0, the exact t → ∞ limit.
MIN_UTURN_TIME = 1e-300
#: measured discretisation bias of the ``sde`` same-image fraction, at most about
#: ``SDE_BIAS_COEFFICIENT · d^SDE_BIAS_EXPONENT / steps`` on a grid of 4 decades (:func:`sde_bias_bound`)
SDE_BIAS_COEFFICIENT, SDE_BIAS_EXPONENT = 0.8, 0.3
#: the data frame of :func:`uturn` in words (the JSON says it)
DATA_FRAME = {False: "taken as given (not centred); the fractions do not change under a shift of the data, but do "
                     "under a change of units",
              True: "centred per feature (the fractions do not change under a shift of the data, but do under a "
                    "change of units); noised and final states are in this centred frame"}
#: what the ``se`` and ``ci`` of the fractions are (the JSON says it)
INTERVALS = ("ci: exact (Clopper–Pearson) 95% binomial interval of the fraction over the samples runs, coverage "
             ">= 95% for every true probability; se: plug-in binomial standard error sqrt(p (1 - p) / samples), "
             "0 when p = 0 or 1 although the probability is not known exactly there: use ci")


@dataclass(frozen=True)
class FractionTarget:
    """What one returning fraction of :func:`uturn` estimates (see :func:`fraction_targets`).

    Attributes
    ----------
    label : str
        Short form for table headers and figure legends (e.g. ``"→ φ_C"``).
    definition : str
        The ``definition`` of the fraction's :class:`~regimes.estimate.Estimate`.
    expectation : str
        The expectation of the fraction in plain text (the JSON's ``expectation``).
    """

    label: str
    definition: str
    expectation: str


_PHI = (FractionTarget("→ φ_C", "fraction ending on the starting training image (→ φ_C(t))",
                       "phi_C(t) = E[sum_mu w_mu^2] (weights of identical rows summed)"),
        FractionTarget("→ φ", "fraction ending in the starting class (→ φ(t))",
                       "phi(t) = E[sum_c (sum_{mu in c} w_mu)^2]"))
_FLOW = (FractionTarget("ODE flow, not φ_C",
                        "fraction of deterministic probability-flow (ODE) runs ending on the starting training image "
                        "(not φ_C(t): E_x[w_end(x)(x, t)])",
                        "not phi_C(t): the return fraction of the deterministic probability-flow ODE, E_x[w_end(x)(x, "
                        "t)] with end(x) the training image the flow carries x_t = x to (weights of identical rows "
                        "summed); measured above phi_C(t) where the weights are split"),
         FractionTarget("ODE flow, not φ",
                        "fraction of deterministic probability-flow (ODE) runs ending in the starting class "
                        "(not φ(t): E_x[W_c(x)(x, t)])",
                        "not phi(t): the class-return fraction of the deterministic probability-flow ODE, "
                        "E_x[W_c(x)(x, t)] with c(x) the class of the flow's endpoint from x_t = x and "
                        "W_c = sum_{mu in c} w_mu"))


def fraction_targets(method: str) -> tuple[FractionTarget, FractionTarget]:
    """What the same-point and same-class fractions of ``method`` estimate.

    Parameters
    ----------
    method : {"sde", "posterior", "ode"}

    Returns
    -------
    tuple of FractionTarget
        ``(same_point, same_class)``: φ_C(t) and φ(t) for ``"sde"`` and ``"posterior"``; for
        ``"ode"`` the deterministic flow's return fractions, which are not φ_C, φ.

    Notes
    -----
    With the posterior weights w_μ(x, t) and μ0 | x_t = x distributed as w(x, t), a run from x
    whose endpoint is μ returns with probability w_μ(x, t). Drawing μ from w (``sde``,
    ``posterior``) gives E_x[Σ_μ w_μ²] = φ_C(t); the deterministic flow's endpoint end(x) gives
    E_x[w_end(x)(x, t)] instead.

    References
    ----------
    .. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
       models", arXiv:2402.18491 (2024).
    """
    check_choice("method", method, METHODS)
    return _FLOW if method == "ode" else _PHI


def sde_bias_bound(steps: int, d: int, decades: float = 4.0) -> float:
    """Measured upper size of the discretisation bias of the ``sde`` same-image fraction.

    Parameters
    ----------
    steps : int
        Steps of the backward grid (>= 2).
    d : int
        Features of the training set.
    decades : float
        Decades the grid spans, log10(t / t_end) (4 unless t > σ², see :func:`end_time`).

    Returns
    -------
    float
        ``0.8 · d^0.3 · (decades / 4) / steps`` (:data:`SDE_BIAS_COEFFICIENT`,
        :data:`SDE_BIAS_EXPONENT`): about the largest bias measured, which is positive (the DDPM
        steps return too often) and largest near φ_C = ½. An envelope of measurements, not a
        theorem: it over-estimates coarse grids (below ~50 steps) and structured data.

    Notes
    -----
    bias(steps, d) ≲ 0.8 · d^0.3 · (decades / 4) / steps.

    Measured as the mean over runs of 1{return} − w_μ0(x_t, t), the run's exact return probability
    from its noised start (a control variate, posterior weights computed independently of the
    package), 3000–20000 runs, at the times where φ_C = ½ (and ¼, ¾), on grids of 4–4.7 decades:

    ============================================  ========  ========  =============  =============
    training set                                  20 steps  50 steps  100 steps      200 steps
    ============================================  ========  ========  =============  =============
    Gaussian n = 200, d = 2                       +0.026    +0.014    +0.006         +0.003
    two-class mixture n = 40, d = 8               +0.040    +0.017    +0.011         +0.008
    Gaussian n = 100 and n = 1000, d = 50         +0.064    +0.030    +0.020–0.023   +0.009–0.013
    toy images n = 300, d = 256 (two classes)     +0.072    +0.038    +0.018
    Gaussian n = 5, d = 400                       +0.086    +0.043    +0.021
    Gaussian n = 100, d = 400                     +0.087    +0.056    +0.040         +0.023
    ============================================  ========  ========  =============  =============

    (Monte Carlo errors ±0.002–0.007; n = 100, d = 400 gave +0.013 at 400 steps.) The bias falls
    about as 1/steps from 50–100 steps on and grows with d (about as d^0.3 at 100–200 steps),
    little with n. The factor decades/4 keeps the steps per decade of the measured grids; d above
    400 is an extrapolation.

    References
    ----------
    .. [DDPM] J. Ho, A. Jain, P. Abbeel, "Denoising diffusion probabilistic models",
       arXiv:2006.11239 (2020) (the ancestral steps).
    .. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
       models", arXiv:2402.18491 (2024) (the U-turn identity the bias is measured against).
    """
    steps = check_int("steps", steps, ge=2, le=MAX_UTURN_STEPS)
    d = check_int("d", d, ge=1, le=_MAX_SIZE)
    decades = check_real("decades", decades, gt=0.0)
    return SDE_BIAS_COEFFICIENT * d**SDE_BIAS_EXPONENT * (decades / 4.0) / steps


@dataclass(frozen=True)
class UTurnResult:
    """Result of :func:`uturn`.

    Attributes
    ----------
    times : ndarray
        OU times.
    same_point, same_class : tuple of Estimate
        Per time: fraction returning to the starting training point / class (``same_class`` is
        None without labels); ``se`` the plug-in binomial standard error (0 at p = 0 or 1),
        ``ci`` the exact (Clopper–Pearson) 95% interval, ``details["count"]`` the returns.
    start, end : ndarray of int, shape (T, samples)
        Starting and final training-point indices.
    noised, final : ndarray, shape (T, E, d)
        The first E noised states x_t and final states (for pictures).
    duplicate_rows : int
        Training rows that are bit-identical copies of an earlier row (they count as the same
        point as it, see the module docstring).
    t_end : ndarray
        Per time, the last time of the backward grid before the jump to 0 (``sde``, ``ode``).
    n, d : int
        Training rows and features.
    units : str or float
        The source's units (``scale``: ``"none"``, ``"unit"``, ``"symmetric"`` or a factor): the
        fractions depend on them (the distances between training points grow with the units).
    centred : bool
        Whether the source is centred per feature (``noised`` and ``final`` are then in the centred
        frame; add the source's mean to ``final``, e^{−t} times it to ``noised``). The fractions
        do not depend on it.
    notes : tuple of str
        Caveats (e.g. a discretisation bias of ``sde`` larger than the Monte Carlo interval).
    """

    times: np.ndarray
    same_point: tuple
    same_class: tuple | None
    method: str
    samples: int
    steps: int
    start: np.ndarray = field(repr=False)
    end: np.ndarray = field(repr=False)
    noised: np.ndarray = field(repr=False)
    final: np.ndarray = field(repr=False)
    duplicate_rows: int = 0
    t_end: np.ndarray | None = field(default=None, repr=False)
    n: int = 0
    d: int = 0
    units: str | float = "none"
    centred: bool = False
    notes: tuple = ()

    def to_dict(self) -> dict:
        """The JSON payload; ``grid_steps`` are the steps of the backward grid (not a schedule's index)."""
        def col(ests):
            return None if ests is None else {"value": [e.value for e in ests], "se": [e.se for e in ests],
                                              "ci": [list(e.ci) for e in ests]}

        point, cls = fraction_targets(self.method)
        return {"times": [float(t) for t in self.times], "same_point": col(self.same_point),
                "same_class": col(self.same_class), "method": self.method, "samples": self.samples,
                "grid_steps": self.steps, "intervals": INTERVALS,
                "grid_end": None if self.t_end is None else [float(x) for x in self.t_end],
                "same_point_means": SAME_POINT, "duplicate_rows": self.duplicate_rows,
                "expectation": {"same_point": point.expectation, "same_class": cls.expectation},
                "n": self.n, "d": self.d, "units": self.units, "centred": self.centred,
                "data_frame": DATA_FRAME[bool(self.centred)], "notes": list(self.notes)}


def end_time(t: float, variance: float) -> float:
    """Last time of the backward grid before its jump to 0: ``min(t·10⁻⁴, 10⁻⁴·σ²)``.

    Parameters
    ----------
    t : float
        Start time of the U-turn (finite, > 0).
    variance : float
        σ² = tr C/d, the data's mean per-feature variance (units of the data squared; >= 0, +inf
        for data whose variance overflows: then the grid ends at t·10⁻⁴).

    Returns
    -------
    float
        A time > 0 at which the noise variance Δ ≈ 2·10⁻⁴σ² is far below the squared distance
        between distinct training points, so that the jump to 0 (the posterior mean there)
        returns a training point (not a blend of several, as a grid ending at t·10⁻⁴ gives
        for t ≫ σ²).
    """
    t = check_real("t", t, gt=0.0)
    variance = float(as_real_array("variance", variance, ge=0.0, allow_inf=True, ndim=0))
    floor = END_FRACTION * variance if math.isfinite(variance) and variance > 0 else math.inf
    return max(min(t * END_FRACTION, floor), 1e-300)


def _backward(es, x, t, method, steps, gen, t_end):
    """Carry states x from time t back to 0: ``(final states, training index of each)``."""
    if method == "posterior":  # the endpoint drawn from the weights: its index is known
        idx = es.draw(x, t, rng=gen)
        return es.src.take(idx).astype(np.float64), idx
    if t_end == t * END_FRACTION:
        grid = t * np.logspace(0.0, -4.0, steps)
    else:
        grid = t * np.logspace(0.0, math.log10(t_end / t), steps)
        grid[-1] = t_end
    grid = np.concatenate([grid, [0.0]])
    for a, b in zip(grid[:-1], grid[1:], strict=True):
        x = reverse_step(es, x, a, b, stochastic=method == "sde", rng=gen)
    return x, es.nearest(x)


@dataclass(frozen=True)
class ImageIndex:
    """Result of :func:`image_index`.

    Attributes
    ----------
    index : ndarray of int64, shape (n,)
        Per training row, the index of its first bit-identical copy (itself when unique).
    duplicates : int
        Rows that copy an earlier one.
    """

    index: np.ndarray
    duplicates: int


def image_index(src) -> ImageIndex:
    """Per training row, the index of its first bit-identical copy (itself when unique).

    Parameters
    ----------
    src : DataSource
        The training set (processed rows are compared).

    Returns
    -------
    ImageIndex
        The index per row and the number of duplicate rows. Rows are hashed; a hash match is
        confirmed by comparing the rows.
    """
    if not isinstance(src, DataSource):
        raise RegimesError(f"src must be a regimes.data.DataSource (regimes.data.as_source(X) makes one from an "
                           f"array), got {type(src).__name__}")
    first: dict = {}
    index = np.arange(src.n, dtype=np.int64)
    for s, _, B in src.blocks():
        B = np.ascontiguousarray(B)
        for i in range(B.shape[0]):
            key = hash(B[i].tobytes())
            j = first.setdefault(key, s + i)
            if j != s + i and np.array_equal(src.take([j])[0], B[i]):
                index[s + i] = j
    return ImageIndex(index, int(np.count_nonzero(index != np.arange(src.n))))


@dataclass(frozen=True)
class UTurnCost:
    """Result of :func:`uturn_cost` (rough, for refusing or announcing large runs).

    Attributes
    ----------
    flops : float
        Floating-point operations of the streamed passes' GEMMs.
    exps : float
        Exponentials (or Gumbel draws).
    bytes : float
        Peak memory, bytes.
    """

    flops: float
    exps: float
    bytes: float


def uturn_cost(n: int, d: int, samples: int, times: int, *, method: str = "sde", steps: int = 200) -> UTurnCost:
    """Rough cost of :func:`uturn`: floating-point operations, exponentials and peak bytes.

    Parameters
    ----------
    n, d : int
        Training rows and features.
    samples, times : int
        U-turns per time and number of times.
    method : {"sde", "posterior", "ode"}
    steps : int
        Grid steps (``sde``, ``ode``).

    Returns
    -------
    UTurnCost
        ``flops`` (the GEMMs of the streamed passes: 2 per query × row × feature for the logits, 2
        more for the posterior mean), ``exps`` (query × row exponentials or Gumbel draws) and
        ``bytes`` (about 80 per sample and feature for the states and their temporaries, 16 per
        sample and time for the indices, the cached training set up to 256 MB and the logit blocks).

    All are validated as :func:`uturn` does (n, d, times integers >= 1; samples 1 to 10⁷; steps 2
    to 10⁶; method one of :data:`METHODS`).
    """
    n = check_int("n", n, ge=1, le=_MAX_SIZE)
    d = check_int("d", d, ge=1, le=_MAX_SIZE)
    samples = check_int("samples", samples, ge=1, le=MAX_UTURN_SAMPLES)
    times = check_int("times", times, ge=1, le=_MAX_SIZE)
    check_choice("method", method, METHODS)
    steps = check_int("steps", steps, ge=2, le=MAX_UTURN_STEPS)
    qn = float(samples) * n * times
    if method == "posterior":
        flops, exps = 2.0 * qn * d, qn
    else:
        flops, exps = qn * d * (4.0 * steps + 2.0), qn * steps
    nbytes = 80.0 * samples * d + 16.0 * samples * times + min(8.0 * n * d, 256 * 2**20) + 128 * 2**20
    return UTurnCost(flops, exps, nbytes)


def _fraction(hit, definition):
    """The returning fraction with its plug-in SE and exact binomial interval."""
    count = int(np.sum(hit))
    p = count / hit.size
    return Estimate(p, se=math.sqrt(p * (1 - p) / hit.size), ci=exact_binomial_interval(count, hit.size, CONFIDENCE),
                    definition=definition, details={"count": count})


def uturn(data, times, *, samples: int = 256, labels=None, method: str = "sde", steps: int = 200,
          rng=0, examples: int = 4) -> UTurnResult:
    """U-turn experiment with the exact empirical score (see the module docstring).

    Parameters
    ----------
    data : DataSource or array_like, shape (n, d)
        Training set (an array is taken as given).
    times : array_like
        OU times >= :data:`MIN_UTURN_TIME` (1e-300); a large t gives the t → ∞ limit.
    samples : int
        Starting points per time (μ0 uniform, independent across times).
    labels : array_like, optional
        Class per row (default: the source's labels); enables ``same_class``.
    method : {"sde", "posterior", "ode"}
        Backward dynamics (see the module docstring).
    steps : int
        Steps of the log-spaced grid from t to :func:`end_time` (``sde``, ``ode``).
    rng : int or Generator
        Seed.
    examples : int
        Noised and final states kept per time (for figures).

    Returns
    -------
    UTurnResult
        ``same_point`` counts a return to the same training image (bit-identical copies are one
        point, see the module docstring); what each fraction estimates is :func:`fraction_targets`
        of ``method``. With ``"sde"``, a note (and a :class:`RegimesWarning`) when the measured
        discretisation bias of ``steps`` (:func:`sde_bias_bound`) exceeds the half-width of the
        fractions' 95% interval at p = ½, 1.96·√(¼/samples).
    """
    check_choice("method", method, METHODS)
    tt = _check_times(times, min_size=1)
    M = check_int("samples", samples, ge=1, le=MAX_UTURN_SAMPLES)
    steps = check_int("steps", steps, ge=2, le=MAX_UTURN_STEPS)
    E = min(M, check_int("examples", examples, ge=0))
    gen = check_rng(rng)
    src = data if isinstance(data, DataSource) else as_source(data, center=False, name="data")
    lab = src.labels if labels is None else encode_labels(labels, "labels")[0]
    if lab is not None and np.asarray(lab).shape != (src.n,):
        raise RegimesError(f"labels must have one entry per row ({src.n}), got shape {np.asarray(lab).shape}")
    es = EmpiricalScore(src)
    images = image_index(src)
    image, dups = images.index, images.duplicates
    variance = float(src.total_variance) / src.d
    if not math.isfinite(variance):  # values too large for the variance: from the score's scale
        s2 = es.scale * es.scale
        if not (s2 > 0.0 and math.isfinite(1.0 / s2)):  # beyond even that (max |x| ≳ 1e154)
            raise src.too_large("float64 arithmetic (the covariance trace overflows)")
        variance = 1.0 / s2
    T = tt.size
    t_end = np.array([end_time(float(t), variance) for t in tt])
    start = np.empty((T, M), dtype=np.int64)
    end = np.empty((T, M), dtype=np.int64)
    noised = np.empty((T, E, src.d))
    final = np.empty((T, E, src.d))
    sp, sc = [], []
    point, cls = fraction_targets(method)
    notes = (_sde_bias_note(steps, M, src.d, float(np.max(np.log10(tt / t_end)))),) if method == "sde" else ()
    notes = tuple(x for x in notes if x)
    for j, t in enumerate(tt):
        mu0 = gen.integers(0, src.n, size=M)
        x = np.exp(-t) * src.take(mu0).astype(np.float64) + np.sqrt(-np.expm1(-2 * t)) * gen.standard_normal((M, src.d))
        noised[j] = x[:E]
        xf, end[j] = _backward(es, x, float(t), method, steps, gen, t_end[j])
        final[j] = xf[:E]
        start[j] = mu0
        sp.append(_fraction(image[end[j]] == image[mu0], point.definition))
        if lab is not None:
            sc.append(_fraction(lab[end[j]] == lab[mu0], cls.definition))
    for msg in notes:
        warnings.warn(msg, RegimesWarning, stacklevel=2)
    return UTurnResult(tt, tuple(sp), None if lab is None else tuple(sc), method, M, steps, start, end,
                       noised, final, dups, None if method == "posterior" else t_end, src.n, src.d, src.scale,
                       bool(src.center), notes)


def _check_times(times, *, min_size: int) -> np.ndarray:
    """``times`` as a 1-d float64 array of finite OU times >= MIN_UTURN_TIME (RegimesError otherwise)."""
    tt = as_real_array("times", times, gt=0.0, ndim=1, min_size=min_size)
    bad = tt[tt < MIN_UTURN_TIME]
    if bad.size:
        raise RegimesError(f"times must be >= {MIN_UTURN_TIME:g}, got an entry {float(bad[0])!r} (below it the "
                           f"backward grid, whose end is floored at {MIN_UTURN_TIME:g}, would run upward from t)")
    return tt


def _sde_bias_note(steps: int, samples: int, d: int, decades: float) -> str:
    """A note when the measured discretisation bias of ``steps`` exceeds the 95% half-width at p = ½ ('' otherwise)."""
    bias = sde_bias_bound(steps, d, max(decades, 1e-3))
    half = 1.959963984540054 * math.sqrt(0.25 / samples)
    if bias <= half:
        return ""
    need = math.ceil(steps * bias / half)
    said = f"about {bias:.2g}" if bias < 1.0 else "more than the fraction's whole range (the envelope exceeds 1)"
    return (f"steps={steps}: the reverse SDE's discretisation makes the same-image fraction too high by up to "
            f"{said} near φ_C = ½ (measured: about {SDE_BIAS_COEFFICIENT:g}·d^{SDE_BIAS_EXPONENT:g}/steps "
            f"on a grid of 4 decades; here d = {d}, {decades:.3g} decades at the time with the longest grid), "
            f"more than the Monte Carlo 95% half-width "
            f"{half:.2g} of {samples} runs, which the intervals do not include; use steps={need} or more (or "
            "method='posterior', which has no grid)")


def simulated_collapse_time(data, times, *, samples: int = 400, steps: int = 200, rng=0, bootstrap: int = 200,
                            confidence: float = 0.95) -> Estimate:
    """t_C as the ground truth of the dynamics: where simulated U-turns stop returning half the time.

    Runs :func:`uturn` with the reverse SDE (``method="sde"``) at ``times`` and locates the time
    where the fraction returning to the starting training point crosses ½, by linear interpolation
    between grid times (scanning from large t down). Its expectation is the φ_C = ½ crossing of
    the commitment curve (U-turn identity); the interval is a parametric bootstrap of the
    binomial fractions, so it carries the simulation's Monte Carlo error (the interpolation error
    of the grid comes on top: use a grid fine around the crossing).

    Parameters
    ----------
    data, samples, steps, rng
        As in :func:`uturn`.
    times : array_like
        At least two distinct OU times >= 1e-300 (as in :func:`uturn`).
    bootstrap : int
        Replicates of the parametric bootstrap (0 to 100000; 0: no interval).
    confidence : float
        Level of the interval, in (0, 1).

    Returns
    -------
    Estimate
        ``details``: ``times`` and ``same_point`` (the simulated fractions). When the fraction does
        not cross ½ inside ``times`` the value is NaN, with a note (and a :class:`RegimesWarning`)
        saying on which side the crossing lies and how to extend ``times``. When the interval would
        have zero width (the fractions next to the crossing are 0 or 1, e.g. ``samples=1``, so the
        binomial resampling cannot move the crossing) it is not an exact one: ``ci`` and ``se`` are
        NaN, ``details["interval"] = "degenerate"`` and a note says so. The notes of :func:`uturn`
        (a discretisation bias larger than the Monte Carlo error) are passed on.
    """
    given = _check_times(times, min_size=2)
    tt = np.unique(given)
    if tt.size < 2:
        raise RegimesError(f"times must hold at least two distinct times (a crossing is interpolated between "
                           f"them), got {given.size} entries all equal to {float(tt[0])!r}")
    B = check_int("bootstrap", bootstrap, ge=0, le=MAX_BOOTSTRAP)
    conf = check_real("confidence", confidence, gt=0.0, lt=1.0)
    gen = check_rng(rng)
    res = uturn(data, tt, samples=samples, method="sde", steps=steps, rng=gen)
    p = np.array([e.value for e in res.same_point])
    t0 = linear_root(p - 0.5, tt)
    details = {"times": tt.tolist(), "same_point": p.tolist()}
    definition = "simulated U-turns (reverse SDE, exact empirical score): same-point fraction = 1/2"
    if t0 is None:
        note = _no_crossing_note(tt, p)
        warnings.warn(note, RegimesWarning, stacklevel=2)
        return Estimate(math.nan, definition=definition, details=details, notes=(*res.notes, note))
    reps = [linear_root(gen.binomial(res.samples, p) / res.samples - 0.5, tt) for _ in range(B)]
    ci, se = percentile_interval([math.nan if r is None else r for r in reps], conf)
    notes = res.notes
    if math.isfinite(ci[0]) and ci[0] == ci[1]:  # all (or 95% of the) replicates the same number
        notes = (*notes, "t_C (simulated): the bootstrap replicates (nearly all) coincide (the simulated "
                 "fractions next to the crossing are 0 or 1, which a binomial resampling cannot move), so the "
                 "interval would have zero width without being exact: interval and SE not reported (null); use "
                 "more samples or times closer to the crossing")
        ci, se, details = (math.nan, math.nan), math.nan, {**details, "interval": "degenerate"}
    return Estimate(t0, se, ci, definition=definition, details=details, notes=(*notes, *_coarse_grid_note(tt, t0)))


#: grid times around the crossing further apart than this factor: the linear interpolation's error is
#: not in the interval (the fraction is not linear in t over such a span)
COARSE_GRID_FACTOR = 1.5


def _coarse_grid_note(tt, t0) -> tuple:
    """A note when the two grid times around the crossing ``t0`` are more than COARSE_GRID_FACTOR apart."""
    j = int(np.searchsorted(tt, t0))
    lo, hi = tt[max(j - 1, 0)], tt[min(j, tt.size - 1)]
    if hi <= COARSE_GRID_FACTOR * lo:
        return ()
    return (f"t_C (simulated): the crossing is interpolated linearly between the grid times {lo:.4g} and "
            f"{hi:.4g} ({hi / lo:.3g}× apart); the interpolation error is not in the interval — add times "
            "between them (a grid fine around the crossing)",)


def _no_crossing_note(tt, p) -> str:
    """Why :func:`simulated_collapse_time` has no value: on which side of ``times`` the ½ crossing lies."""
    span = f"times [{tt[0]:.4g}, {tt[-1]:.4g}]"
    if np.all(p > 0.5):
        side = (f"stays above ½ (min {p.min():.3g}) up to t = {tt[-1]:.4g}: the crossing is later; extend times "
                "to larger t")
    else:
        side = (f"stays below ½ (max {p.max():.3g}) down to t = {tt[0]:.4g}: the crossing is earlier; extend "
                "times to smaller t")
    return f"no t_C: the same-point fraction does not cross ½ inside {span}; it {side}"
