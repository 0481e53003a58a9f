"""Phase-diagram data (numpy only; the pictures are in :mod:`regimes.plot.phase`).

* :func:`nd_phase_diagram` — collapse of Gaussian data over the (n, d) plane [DR];
* :func:`np_phase_diagram` — memorisation of the random-features score model over the
  (ψ_n, ψ_p) = (n/d, p/d) plane at a given training time [WM];
* :func:`ntau_phase_diagram` — the (n, τ) plane: τ_gen flat, τ_mem ∝ n, the generalisation
  window between [WM].

The regimes of one dataset located on a sampler's steps are in :func:`regimes.timeline.locate_regimes`
(samplers: :mod:`regimes.schedules`).

Every function returns plain numbers and arrays, so that ``regimes phase-diagram ... --json``
prints them without importing matplotlib.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, arXiv:2402.18491 (2024).
.. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._errors import RegimesError
from ._validate import as_real_array, check_bool, check_int, check_memory, check_real, check_rng
from .collapse import alpha_for_collapse_time, collapse_time

__all__ = [
    "NTAU_WINDOW_BUDGET",
    "NTAU_WINDOW_SEEDS",
    "NDPhaseDiagram",
    "NPPhaseDiagram",
    "NTauPhaseDiagram",
    "alpha_for_collapse_time",
    "log10_n_star",
    "n_star",
    "nd_phase_diagram",
    "np_phase_diagram",
    "ntau_phase_diagram",
]


def n_star(d, t_C, variance: float = 1.0):
    """Number of training points needed to push collapse down to ``t_C``: ``n*(d) = e^{α* d}``.

    ``ln n* = α* d`` is linear in d — the curse of dimensionality. The result is ``inf`` beyond the
    float range (``α* d > 709.78``: at t_C = 0.5, α* = 0.22934, so for d > 3094.9, e.g.
    d = 4096 with ``α* d = 939.37``; d = 3072 still gives the finite 9.36e305):
    :func:`log10_n_star` gives the finite ``log10 n*`` (and
    :func:`regimes.inverse.n_for_collapse_time` both at once).

    Notes
    -----
    ``n* = e^{α* d}`` with ``α* = ½ log1p(σ²/expm1(2 t_C))``
    (:func:`regimes.collapse.alpha_for_collapse_time`, valid over the whole float range).
    ``d`` must be finite reals >= 1 (a dimension).
    """
    a = alpha_for_collapse_time(t_C, variance)
    d_arr = as_real_array("d", d, ge=1.0)
    with np.errstate(over="ignore"):
        out = np.exp(a * d_arr)
    return float(out) if out.ndim == 0 else out


def log10_n_star(d, t_C, variance: float = 1.0):
    """``log10 n*(d) = α* d / ln 10``: the companion of :func:`n_star`, finite where n* overflows.

    ``d``: finite reals >= 1 (as for :func:`n_star`).
    """
    a = alpha_for_collapse_time(t_C, variance)
    out = a * as_real_array("d", d, ge=1.0) / math.log(10.0)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class NDPhaseDiagram:
    """Gridded (n, d) phase-diagram data for Gaussian / two-class-mixture data.

    Attributes
    ----------
    d, n : ndarray
        Grid axes (log-spaced).
    t_C : ndarray, shape (len(n), len(d))
        Collapse time of N(0, σ²I) data (within-class σ² for the mixture).
    t_S : ndarray, shape (len(d),) or None
        Speciation time ½ ln Λ along d (Λ = d m̃² + σ² for a separation m̃, or a fixed Λ).
    regime_II_width : ndarray or None
        ``t_S - t_C`` where positive (Regime II exists), NaN elsewhere.
    target : float
        The t_C level of the n*(d) curve; ``log10_n_star`` its log10 n along ``d``.
    notes : tuple of str
        E.g. that Λ <= 1 over the whole d axis (no speciation: ``t_S`` all NaN).
    """

    d: np.ndarray
    n: np.ndarray
    t_C: np.ndarray
    t_S: np.ndarray | None
    regime_II_width: np.ndarray | None
    target: float
    log10_n_star: np.ndarray
    variance: float
    separation: float | None
    eigenvalue: float | None
    notes: tuple = ()

    def to_dict(self) -> dict:
        out = {
            "d": self.d,
            "n": self.n,
            "t_C": self.t_C,
            "target_t_C": self.target,
            "log10_n_star": self.log10_n_star,
            "variance": self.variance,
            "separation": self.separation,
            "eigenvalue": self.eigenvalue,
        }
        if self.t_S is not None:  # null (not NaN) where there is no speciation (Λ <= 1) or no Regime II:
            out["t_S"] = _nulls(self.t_S)  # results, not failures
            out["regime_II_width"] = _nulls(self.regime_II_width)
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def _nulls(a: np.ndarray) -> list:
    """The array as nested lists with None where it is NaN (a quantity that does not exist)."""
    return np.where(np.isnan(a), None, a).tolist()


def nd_phase_diagram(
    d_range=(1.0, 1e4),
    n_range=(10.0, 1e12),
    points: int = 121,
    variance: float = 1.0,
    separation: float | None = None,
    eigenvalue: float | None = None,
    target: float = 0.5,
) -> NDPhaseDiagram:
    """t_C over the (n, d) plane, the n*(d) curve of a target t_C, and the Regime-II window.

    Parameters
    ----------
    d_range, n_range : (float, float)
        Ranges of the log-spaced axes (d >= 1, n >= 2).
    points : int
        Grid points per axis (>= 2).
    variance : float
        σ² (within-class variance for a mixture).
    separation : float, optional
        Two-class mixture m̃: then Λ = d m̃² + σ² grows with d.
    eigenvalue : float, optional
        A fixed Λ instead (e.g. a dataset's measured value). At most one of the two.
    target : float
        The t_C level whose n*(d) curve is returned.

    Notes
    -----
    ``t_C = ½ log1p(σ²/expm1(2 ln n/d))``; ``n*(d) = exp(α* d)`` with
    ``α* = ½ log1p(σ²/expm1(2 t*))``; Regime II exists where ``t_C < t_S = ½ ln Λ`` [DR].
    """
    pts = _grid_points(points)
    d0, d1 = _range("d_range", d_range, ge=1.0)
    n0, n1 = _range("n_range", n_range, ge=2.0)
    var = check_real("variance", variance, gt=0.0)
    tgt = check_real("target", target, gt=0.0)
    if separation is not None and eigenvalue is not None:
        raise RegimesError("give at most one of separation and eigenvalue")
    sep = None if separation is None else _separation(separation, d1, var)
    lam = None if eigenvalue is None else check_real("eigenvalue", eigenvalue, gt=0.0)
    d = np.geomspace(d0, d1, pts)
    n = np.geomspace(n0, n1, pts)
    tC = collapse_time(n[:, None], d[None, :], var)
    t_S = width = None
    notes = ()
    lam_d = d * sep**2 + var if sep is not None else None if lam is None else np.full_like(d, lam)
    if lam_d is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            t_S = np.where(lam_d > 1.0, 0.5 * np.log(np.where(lam_d > 1.0, lam_d, 1.0)), np.nan)
            w = t_S[None, :] - tC
        width = np.where(w > 0, w, np.nan)
        if not np.any(lam_d > 1.0):
            notes = (_no_speciation_note(sep, lam, var, d1),)  # a result (as in to_dict), not a warning
    a_star = alpha_for_collapse_time(tgt, var)
    return NDPhaseDiagram(
        d=d,
        n=n,
        t_C=tC,
        t_S=t_S,
        regime_II_width=width,
        target=tgt,
        log10_n_star=a_star * d / math.log(10.0),
        variance=var,
        separation=sep,
        eigenvalue=lam,
        notes=notes,
    )


def _separation(separation, d_max: float, variance: float) -> float:
    """``separation`` > 0, bounded so that Λ = d·separation² + σ² stays finite up to ``d_max``."""
    sep = check_real("separation", separation, gt=0.0)
    top = math.sqrt(1e300 / d_max)
    if sep > top:
        raise RegimesError(f"separation must be <= {top:.4g} (Λ = d·separation² + variance must stay within the "
                           f"float range up to d = {d_max:.6g}), got {sep!r}")
    return sep


def _no_speciation_note(sep, lam, var, d_max) -> str:
    """The note of an (n, d) diagram whose Λ is <= 1 along the whole d axis."""
    what = (f"Λ = eigenvalue = {lam:.6g}" if lam is not None else
            f"Λ = d·separation² + variance <= {d_max * sep**2 + var:.6g} up to d = {d_max:.6g}")
    return (f"no speciation on this diagram: {what} <= 1, so t_S = ½ ln Λ does not exist (t_S and "
            "regime_II_width are all NaN / null); speciation needs Λ > 1")


# ---------------------------------------------------------------------- random features
#: Largest ``points`` of an (n, p) diagram with ``gap=True`` (points² sampled instances).
MAX_GAP_POINTS = 24


def _grid_points(points, le: int = 20001) -> int:
    """``points`` of a square grid: 2 to ``le``, and its arrays (about ten float64 per point)
    within the available memory."""
    pts = check_int("points", points, ge=2, le=le)
    check_memory("points", pts, 80.0 * pts * pts, what=f"a {pts}×{pts} grid")
    return pts


def _range(name: str, value, ge: float | None = None) -> tuple[float, float]:
    """``(low, high)`` of an axis range: exactly two finite reals, > 0 (or >= ``ge``), increasing;
    a RegimesError naming ``name`` (``name[0]``, ``name[1]`` for one end) otherwise."""
    try:
        items = None if isinstance(value, str | bytes | dict) else tuple(value)
    except TypeError:
        items = None
    if items is None or len(items) != 2:
        raise RegimesError(f"{name} must be a pair (low, high) of positive real numbers, got {value!r}")
    bound = {"gt": 0.0} if ge is None else {"ge": ge}
    lo = check_real(f"{name}[0]", items[0], **bound)
    hi = check_real(f"{name}[1]", items[1], **bound)
    if hi <= lo:
        raise RegimesError(f"{name} must be increasing, got {items!r}")
    return lo, hi


def _log_axis(name, rng_, points):
    return np.geomspace(*_range(name, rng_), points)


def _rf_base(t, activation, data_spectrum):
    """One random-features object at ψ_p = ψ_n = 1: τ_gen and τ_mem per unit ψ_n."""
    from .rmt import RandomFeatures

    t = check_real("t", t, gt=0.0)
    rf = RandomFeatures(1.0, 1.0, t, activation, data_spectrum)
    return rf, rf.tau_gen, rf.tau_mem  # τ_mem(ψ_n) = ψ_n · rf.tau_mem (leading order, exact in ψ_n)


#: Note attached to a phase diagram where some τ_mem = ψ_n/(2Δ_t v_t²) is outside its range.
TAU_MEM_RANGE_NOTE = (
    "τ_mem = ψ_n/(2Δ_t v_t²) needs s_t²/v_t² ≪ ψ_p/ψ_n; where tau_mem_in_range is false it is "
    "too late (the slow bulk relaxes near ψ_p/(2Δ_t(s_t² + v_t²(1 + ψ_p/ψ_n))), tau_slow), so the "
    "memorisation region drawn from τ_mem starts too late there")


def _in_range(rf, psi_n, psi_p) -> np.ndarray:
    """Where τ_mem is inside its range of validity, over broadcast ψ_n, ψ_p (constants of ``rf``)."""
    from .rmt import tau_mem_in_range

    c = rf.constants
    return np.asarray(tau_mem_in_range(psi_n, psi_p, c.s_t2, c.v_t2), dtype=bool)


def _tau_mem_range(rf, psi_n, psi_p):
    """(in range, slow-bulk τ) of τ_mem over broadcast ψ_n, ψ_p, from the constants of ``rf``."""
    from .rmt import slow_bulk_tau

    c = rf.constants
    return _in_range(rf, psi_n, psi_p), np.asarray(slow_bulk_tau(psi_n, psi_p, rf.delta_t, c.s_t2, c.v_t2),
                                                    dtype=float)


#: Region codes of :func:`np_phase_diagram`.
NP_REGIONS = ("no memorisation (p ≤ n)", "dynamical regularisation", "memorisation")
#: Region codes of :func:`ntau_phase_diagram` (those of :func:`regimes.rmt.training_regimes`).
NTAU_REGIONS = ("generation not yet learned", "generalisation", "memorisation")
#: the loss-curve windows of :func:`ntau_phase_diagram`: seeds averaged, and the instance budget
#: p·min(p, n + d) (:func:`regimes.rmt.windows.window_sizes` gives the sizes it implies)
NTAU_WINDOW_SEEDS, NTAU_WINDOW_BUDGET = 2, 150_000


@dataclass(frozen=True)
class NPPhaseDiagram:
    """Gridded (ψ_n, ψ_p) phase-diagram data of the random-features score model.

    Attributes
    ----------
    psi_n, psi_p : ndarray
        Log-spaced axes ψ_n = n/d and ψ_p = p/d.
    d : float or None
        When given, the axes are also reported as ``n = ψ_n d`` and ``p = ψ_p d``.
    t : float
        Diffusion (OU) time of the model.
    tau_gen : float
        Leading-order generalisation time (independent of n and p).
    tau_mem : ndarray, shape (len(psi_n),)
        Leading-order memorisation time along ψ_n.
    tau_ratio : ndarray, shape (len(psi_n), len(psi_p))
        τ_mem/τ_gen (convention-free).
    training_time : float
        The training time τ at which the regions are drawn, in units of τ_gen.
    psi_n_mem : float
        ψ_n at which τ_mem = τ (the memorisation boundary in the over-parameterised part).
    region : ndarray of int, shape (len(psi_n), len(psi_p))
        0 no memorisation (ψ_p ≤ ψ_n), 1 dynamical regularisation (ψ_p > ψ_n, τ < τ_mem),
        2 memorisation (ψ_p > ψ_n, τ ≥ τ_mem); see :data:`NP_REGIONS`.
    gap : ndarray or None
        Long-time generalisation gap L_test(∞) − L_train(∞) of sampled Gaussian-equivalent
        instances (finite-d estimate), when requested.
    tau_mem_in_range : ndarray of bool or None, shape (len(psi_n), len(psi_p))
        False where τ_mem is outside its range (s_t²/v_t² not ≪ ψ_p/ψ_n,
        :func:`regimes.rmt.tau_mem_in_range`): there the memorisation boundary drawn from τ_mem is
        too late, and the slow bulk relaxes near :func:`regimes.rmt.slow_bulk_tau`.
    """

    psi_n: np.ndarray
    psi_p: np.ndarray
    d: float | None
    t: float
    activation: str
    tau_gen: float
    tau_mem: np.ndarray
    tau_ratio: np.ndarray
    training_time: float
    psi_n_mem: float
    region: np.ndarray
    gap: np.ndarray | None = None
    gap_d: int | None = None
    tau_mem_in_range: np.ndarray | None = None

    def to_dict(self) -> dict:
        from .rmt import TIME_CONVENTION

        out = {
            "psi_n": self.psi_n,
            "psi_p": self.psi_p,
            "t": self.t,
            "activation": self.activation,
            "tau_gen": self.tau_gen,
            "tau_mem": self.tau_mem,
            "tau_ratio": self.tau_ratio,
            "training_time_over_tau_gen": self.training_time,
            "psi_n_mem": self.psi_n_mem,
            "region": self.region,
            "region_labels": list(NP_REGIONS),
            "interpolation_line": "psi_p = psi_n (p = n)",
            "time_convention": TIME_CONVENTION,
            "order": "leading order in psi_n, psi_p (arXiv:2505.17638)",
        }
        if self.d is not None:
            out.update(
                d=self.d,
                n=self.psi_n * self.d,
                p=self.psi_p * self.d,
                n_mem=self.psi_n_mem * self.d,
            )
        if self.gap is not None:
            out.update(gap=self.gap, gap_d=self.gap_d)
        if self.tau_mem_in_range is not None:
            out["tau_mem_in_range"] = self.tau_mem_in_range
            if not self.tau_mem_in_range.all():
                out["notes"] = [TAU_MEM_RANGE_NOTE]
        return out


def np_phase_diagram(
    psi_n_range=(0.1, 10.0),
    psi_p_range=(0.1, 10.0),
    points: int = 121,
    t: float = 0.1,
    training_time: float = 30.0,
    d: float | None = None,
    activation: str = "tanh",
    data_spectrum=None,
    gap: bool = False,
    gap_d: int = 24,
    rng=0,
) -> NPPhaseDiagram:
    """Memorisation of the random-features score model over the (ψ_n, ψ_p) = (n/d, p/d) plane.

    Parameters
    ----------
    psi_n_range, psi_p_range : (float, float)
        Ranges of the log-spaced axes (positive, increasing).
    points : int
        Grid points per axis (>= 2).
    t : float
        Diffusion (OU) time at which the score is learned.
    training_time : float
        Training time τ at which the regions are drawn, in units of τ_gen (> 0).
    d : float, optional
        Dimension; when given, :meth:`NPPhaseDiagram.to_dict` also reports n and p.
    activation, data_spectrum
        As in :class:`regimes.rmt.RandomFeatures`.
    gap : bool
        Also estimate the long-time generalisation gap on the grid with
        :func:`regimes.rmt.memorisation_phase_diagram` (sampled instances of dimension
        ``gap_d``; slow: keep ``points`` small).
    rng : seed or Generator
        For the gap.

    Returns
    -------
    NPPhaseDiagram

    Notes
    -----
    Leading order in ψ_n, ψ_p [WM]: ``τ_gen = 1/(2Δ_t Γ_t² κ_1²)`` (κ_1 = E[σ'(Γ_t z)],
    independent of n), ``τ_mem = ψ_n/(2Δ_t v_t²)`` (∝ n), so
    ``τ_mem/τ_gen = ψ_n Γ_t² κ_1²/v_t²`` does not depend on ψ_p. The model can interpolate
    (memorise) only above the interpolation line p = n (a smooth crossover at finite size):

    * ψ_p ≤ ψ_n — no memorisation, at any training time (architectural regularisation);
    * ψ_p > ψ_n and τ < τ_mem — dynamical regularisation (generalises because training stops
      before the slow, memorising modes are learned);
    * ψ_p > ψ_n and τ ≥ τ_mem — memorisation. The boundary is ψ_n = ψ_n,mem with
      τ_mem(ψ_n,mem) = τ.

    References
    ----------
    .. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025).
    """
    pts = _grid_points(points)
    gap = check_bool("gap", gap)
    gd = check_int("gap_d", gap_d, ge=4, le=512)  # validated even when gap is False
    check_rng(rng)
    if gap:  # one sampled random-features instance per grid point, each O(gap_d³)
        if pts > MAX_GAP_POINTS:
            raise RegimesError(
                f"points must be <= {MAX_GAP_POINTS} with gap=True: points={pts} would sample "
                f"{pts * pts} random-features instances (limit {MAX_GAP_POINTS ** 2})")
    pn = _log_axis("psi_n_range", psi_n_range, pts)
    pp = _log_axis("psi_p_range", psi_p_range, pts)
    tt = check_real("training_time", training_time, gt=0.0)
    dd = None if d is None else check_real("d", d, gt=0.0)
    rf, tg, tm1 = _rf_base(t, activation, data_spectrum)
    tau_mem = pn * tm1
    ratio = np.broadcast_to((tau_mem / tg)[:, None], (pn.size, pp.size)).copy()
    over = pp[None, :] > pn[:, None]
    mem = (tt * tg >= tau_mem)[:, None]
    region = np.where(~over, 0, np.where(mem, 2, 1))
    g = None
    if gap:
        from .rmt import memorisation_phase_diagram

        g = memorisation_phase_diagram(pn, pp, rf.t, activation, data_spectrum, d=gd, rng=rng)[
            "gap"
        ]
    return NPPhaseDiagram(
        psi_n=pn,
        psi_p=pp,
        d=dd,
        t=rf.t,
        activation=rf.activation.name,
        tau_gen=tg,
        tau_mem=tau_mem,
        tau_ratio=ratio,
        training_time=tt,
        psi_n_mem=tt * tg / tm1,
        region=region,
        gap=g,
        gap_d=gd if gap else None,
        tau_mem_in_range=_in_range(rf, pn[:, None], pp[None, :]),
    )


@dataclass(frozen=True)
class NTauPhaseDiagram:
    """Gridded (n, τ) data of the random-features model: τ_gen, τ_mem(n) and the regions.

    Attributes
    ----------
    n, tau : ndarray
        Log-spaced axes (training-set size; training time in the convention of
        :data:`regimes.rmt.TIME_CONVENTION`).
    tau_gen : float
        Generalisation time (flat in n).
    tau_mem : ndarray, shape (len(n),)
        Memorisation time, ∝ n.
    region : ndarray of int, shape (len(n), len(tau))
        0 generation not yet learned (τ < τ_gen), 1 generalisation (τ_gen ≤ τ < τ_mem),
        2 memorisation (τ ≥ τ_mem); the codes of :func:`regimes.rmt.training_regimes`.
    interpolating : ndarray of bool, shape (len(n),)
        ``p > n``: only there can the model memorise; for ``n ≥ p`` region 2 is the
        leading-order formula extrapolated past the interpolation line.
    windows : dict or None
        τ_best and τ_gap read off the predicted loss curves at a few n
        (:func:`regimes.rmt.training_window`): "window_n", "tau_best", "tau_best_spread",
        "tau_gap", "tau_gap_spread" (arrays; NaN where the gap never reaches the tolerance),
        "gap_tolerance", "window_d" (instance dimension used at each n).
    tau_mem_in_range : ndarray of bool or None, shape (len(n),)
        False where τ_mem is outside its range (:func:`regimes.rmt.tau_mem_in_range`).
    tau_slow : ndarray or None, shape (len(n),)
        Relaxation time of the slow bulk at its mean eigenvalue
        (:func:`regimes.rmt.slow_bulk_tau`), the timescale to use where τ_mem is out of range.
    """

    n: np.ndarray
    tau: np.ndarray
    d: float
    p: float
    t: float
    activation: str
    tau_gen: float
    tau_mem: np.ndarray
    region: np.ndarray
    interpolating: np.ndarray
    windows: dict | None = None
    tau_mem_in_range: np.ndarray | None = None
    tau_slow: np.ndarray | None = None

    def to_dict(self) -> dict:
        from .rmt import TIME_CONVENTION

        extra = {} if self.windows is None else {  # "never" as null, without a warning
            k: [None if np.isnan(x) else x for x in v.tolist()] if k.startswith("tau_gap") else v
            for k, v in self.windows.items()}
        if self.tau_mem_in_range is not None:
            extra.update(tau_mem_in_range=self.tau_mem_in_range, tau_slow=self.tau_slow)
            if not self.tau_mem_in_range.all():
                extra["notes"] = [TAU_MEM_RANGE_NOTE]
        return {
            **extra,
            "n": self.n,
            "tau": self.tau,
            "d": self.d,
            "p": self.p,
            "t": self.t,
            "activation": self.activation,
            "tau_gen": self.tau_gen,
            "tau_mem": self.tau_mem,
            "window_width": self.tau_mem / self.tau_gen,
            "region": self.region,
            "region_labels": list(NTAU_REGIONS),
            "interpolating_p_gt_n": self.interpolating,
            "time_convention": TIME_CONVENTION,
            "order": "leading order in n/d, p/d (arXiv:2505.17638)",
        }


def ntau_phase_diagram(
    n_range=(10.0, 1e4),
    tau_range=None,
    points: int = 121,
    d: float = 100.0,
    p: float = 2000.0,
    t: float = 0.1,
    activation: str = "tanh",
    data_spectrum=None,
    window_points: int = 7,
    gap_tolerance: float = 0.1,
) -> NTauPhaseDiagram:
    """The (n, τ) plane of the random-features model: τ_gen flat, τ_mem ∝ n, the window between.

    Parameters
    ----------
    n_range : (float, float)
        Training-set sizes (log-spaced, positive, increasing).
    tau_range : (float, float), optional
        Training times; default from τ_gen/10 to 10 τ_mem(n_max).
    points : int
        Grid points per axis (>= 2).
    d, p : float
        Dimension and number of random features.
    t : float
        Diffusion (OU) time.
    activation, data_spectrum
        As in :class:`regimes.rmt.RandomFeatures`.
    window_points : int, default 7
        Number of log-spaced n (over ``n_range``) at which τ_best and τ_gap are read off the
        predicted loss curves (:func:`regimes.rmt.training_window`, 2 seeds, reduced dimension
        when large); 0 skips them.
    gap_tolerance : float, default 0.1
        ε of τ_gap.

    Returns
    -------
    NTauPhaseDiagram

    Notes
    -----
    ``τ_gen = 1/(2Δ_t Γ_t² κ_1²)`` and ``τ_mem = (n/d)/(2Δ_t v_t²)`` at leading order [WM]; the
    generalisation window ``τ_gen ≤ τ < τ_mem`` widens linearly with n, so early stopping anywhere
    in it generalises. Training time τ: gradient flow ``dA/dτ = −d²∇_A L`` (ratios are
    convention-free). Memorisation needs p > n (interpolation line).

    References
    ----------
    .. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025).
    """
    pts = _grid_points(points, le=4001)
    n = _log_axis("n_range", n_range, pts)
    dd = check_real("d", d, gt=0.0)
    pp = check_real("p", p, gt=0.0)
    wp = check_int("window_points", window_points, ge=0, le=200)
    eps = check_real("gap_tolerance", gap_tolerance, gt=0.0, lt=1.0)  # validated even when wp = 0
    if tau_range is not None:
        _range("tau_range", tau_range)
    rf, tg, tm1 = _rf_base(t, activation, data_spectrum)
    tau_mem = (n / dd) * tm1
    if tau_range is None:
        tau_range = (tg / 10.0, 10.0 * float(tau_mem[-1]))
    tau = _log_axis("tau_range", tau_range, pts)
    T = tau[None, :]
    region = np.where(T < tg, 0, np.where(T < tau_mem[:, None], 1, 2))
    valid, tau_slow = _tau_mem_range(rf, n / dd, pp / dd)
    windows = _ntau_windows(n, dd, pp, rf, data_spectrum, wp, eps) if wp else None
    return NTauPhaseDiagram(
        n=n,
        tau=tau,
        d=dd,
        p=pp,
        t=rf.t,
        activation=rf.activation.name,
        tau_gen=tg,
        tau_mem=tau_mem,
        region=region,
        interpolating=pp > n,
        windows=windows,
        tau_mem_in_range=valid,
        tau_slow=tau_slow,
    )


def _ntau_windows(n, d, p, rf, data_spectrum, points, gap_tolerance) -> dict:
    """τ_best and τ_gap of the predicted loss curves at ``points`` log-spaced n."""
    from .rmt import training_window
    from .rmt.windows import WindowTooSmall

    eps = check_real("gap_tolerance", gap_tolerance, gt=0.0, lt=1.0)
    wn = np.geomspace(n[0], n[-1], points) if points > 1 else n[-1:].copy()

    def window(k):  # None where the budget leaves an instance too small to mean anything: NaN there
        try:
            return training_window(k, d, p, rf.t, rf.activation, data_spectrum, gap_tolerance=eps,
                                   seeds=NTAU_WINDOW_SEEDS, budget=NTAU_WINDOW_BUDGET)
        except WindowTooSmall:
            return None

    wins = [window(k) for k in wn]
    nan = float("nan")

    def col(f):
        return np.array([nan if w is None or f(w) is None else f(w) for w in wins], dtype=float)
    return {
        "window_n": wn,
        "tau_best": col(lambda w: w.tau_best),
        "tau_best_spread": col(lambda w: w.tau_best_spread),
        "tau_gap": col(lambda w: w.tau_gap),
        "tau_gap_spread": col(lambda w: w.tau_gap_spread),
        "gap_tolerance": eps,
        "window_d": np.array([0 if w is None else w.d_used for w in wins]),
    }
