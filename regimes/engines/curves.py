"""``MixtureCurves``: the per-sample statistics of the empirical mixture, and their crossings.

The mean curves f^e(t), φ_C(t), φ(t) with standard errors, exact re-evaluation at new times with
the same Monte Carlo samples, and the time where a curve crosses a level, with a bootstrap interval.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from .._errors import RegimesError
from .._stats import bootstrap_weights, contain, cubic_root, linear_root, percentile_interval
from .._validate import MAX_BOOTSTRAP, check_choice, check_int, check_real, check_rng
from ..estimate import Estimate
from ._lse import MIN_TIME, ClassCodes, check_times, from_stored, time_factors

__all__ = ["MixtureCurves"]

#: the statistics whose crossings can be asked for
_STATISTICS = ("excess_entropy", "commitment", "class_commitment")


@dataclass(eq=False)
class MixtureCurves:
    """Per-sample Monte Carlo statistics of the empirical mixture on a grid of times.

    Attributes
    ----------
    t : ndarray, shape (T,)
        OU times.
    lse : ndarray, shape (M, T)
        ``L_s(t) = ln Σ_μ exp(v G_{sμ} − ½ v² D_{sμ})`` per sample (see Notes of
        :func:`empirical_mixture`).
    phi_c : ndarray, shape (M, T)
        ``Σ_μ w_μ²`` per sample.
    phi : ndarray, shape (M, T) or None
        ``Σ_c (Σ_{μ∈c} w_μ)²`` per sample (with labels).
    n, d, samples : int
    alpha : float
        ``ln(n)/d``.
    stored : bool
        Whether the per-sample sufficient statistics (G, D) are kept, so that the curves can be
        evaluated exactly at any t (:meth:`evaluate`) — used for root finding.
    precision : {"float32", "float64"}
        Arithmetic of the two GEMMs (see ``precision`` of :func:`empirical_mixture`).
    precision_error : float
        Largest error of the log-weights (nats) that the probe measured for that arithmetic.
    G, D : ndarray, shape (M, n) or None
        The stored sufficient statistics (see Notes of :func:`regimes.engines.empirical_mixture`).
    classes : ClassCodes or None
        Class code per training row (with labels).
    recompute : callable or None
        ``recompute(times) -> (lse, Σw², class sums²)``: one more streamed pass over the data, used
        when the statistics are not stored.
    engine : {"numpy", "numba"}
        Implementation of the log-sum-exp (see ``engine`` of :func:`empirical_mixture`).
    fine : dict or None
        Without stored statistics: the per-sample values on the grid refined ``step`` times
        (``{"t", "lse", "phi_c", "phi", "step"}``), computed in the same pass as the curves; the
        crossings' fine windows are read from it (no further pass).
    t_min : float
        The smallest time :meth:`evaluate` takes (:func:`regimes.engines.mixture.min_time` of the data).
    """

    t: np.ndarray
    lse: np.ndarray
    phi_c: np.ndarray
    phi: np.ndarray | None
    n: int
    d: int
    samples: int
    G: np.ndarray | None = field(default=None, repr=False)
    D: np.ndarray | None = field(default=None, repr=False)
    precision: str = "float64"
    precision_error: float = math.nan
    classes: ClassCodes | None = field(default=None, repr=False)
    recompute: object = field(default=None, repr=False)
    engine: str = "numpy"
    fine: dict | None = field(default=None, repr=False)
    t_min: float = field(default=MIN_TIME, repr=False)
    _window_cache: dict = field(default_factory=dict, repr=False, init=False)

    @property
    def alpha(self) -> float:
        return math.log(self.n) / self.d

    @property
    def stored(self) -> bool:
        return self.G is not None

    # -- means and standard errors -------------------------------------------------------------
    @staticmethod
    def _mean_se(a):
        return a.mean(axis=0), a.std(axis=0, ddof=1) / math.sqrt(a.shape[0])

    @property
    def excess_entropy(self) -> np.ndarray:
        """f^e(t) = E[L]/d."""
        return self.lse.mean(axis=0) / self.d

    @property
    def excess_entropy_se(self) -> np.ndarray:
        return self._mean_se(self.lse / self.d)[1]

    @property
    def commitment(self) -> np.ndarray:
        """φ_C(t) = E[Σ_μ w_μ²]."""
        return self.phi_c.mean(axis=0)

    @property
    def commitment_se(self) -> np.ndarray:
        return self._mean_se(self.phi_c)[1]

    @property
    def class_commitment(self) -> np.ndarray | None:
        """φ(t) = E[Σ_c (Σ_{μ∈c} w_μ)²] (None without labels)."""
        return None if self.phi is None else self.phi.mean(axis=0)

    @property
    def class_commitment_se(self) -> np.ndarray | None:
        return None if self.phi is None else self._mean_se(self.phi)[1]

    # -- evaluation at arbitrary times ----------------------------------------------------------
    def evaluate(self, t) -> dict:
        """Per-sample statistics at new times with the same samples (common random numbers).

        Returns ``{"t", "lse", "phi_c", "phi"}`` with (M, len(t)) arrays. Exact and cheap
        (no GEMM) when the sufficient statistics are stored; otherwise one more streamed pass.
        """
        tt = check_times("t", t, floor=self.t_min).ravel()
        if self.G is None:
            if self.recompute is None:  # pragma: no cover
                raise RegimesError("these curves cannot be re-evaluated")
            L, pc, ph = self.recompute(tt)
        else:
            L, pc, ph = from_stored(self.G, self.D, time_factors(tt), self.classes, self.precision == "float32",
                                    engine=self.engine)
        return {"t": tt, "lse": L, "phi_c": pc, "phi": ph}

    def statistic(self, name: str, t) -> np.ndarray:
        """Per-sample values (M, len(t)) of ``"excess_entropy"``, ``"commitment"`` or ``"class_commitment"``."""
        check_choice("statistic", name, _STATISTICS)  # before the evaluation's work
        return self._pick(name, self.evaluate(t))

    def _pick(self, name: str, ev: dict) -> np.ndarray:
        """The per-sample values of the statistic ``name`` (checked by the callers, before evaluating)
        in an :meth:`evaluate` result."""
        if name == "excess_entropy":
            return ev["lse"] / self.d
        if name == "commitment":
            return ev["phi_c"]
        if name == "class_commitment":
            if ev["phi"] is None:
                raise RegimesError("class_commitment needs labels")
            return ev["phi"]
        raise AssertionError(name)  # pragma: no cover - every statistic is handled above

    def _statistics(self, requests) -> list[np.ndarray]:
        """Per-sample values for each ``(name, times)`` of ``requests`` from ONE evaluation at all
        the times (one read of the stored statistics instead of one per request; each time's
        values do not depend on the other times evaluated with it, so the bits are the same)."""
        if not requests:
            return []
        sizes = [np.size(t) for _, t in requests]
        ev = self.evaluate(np.concatenate([np.ravel(t) for _, t in requests]))
        out, k = [], 0
        for (name, _), size in zip(requests, sizes, strict=True):
            out.append(self._pick(name, ev)[:, k:k + size])
            k += size
        return out

    _WINDOW_POINTS = 33

    def _bracket(self, name: str, level: float):
        """Indices (i, i + 1) of the first grid interval, scanning from large t down, where the
        grid curve of ``name`` changes side of ``level`` (None if it never does)."""
        base = self._grid_curve(name)
        if base is None:
            return None
        g = base - level
        for i in range(len(self.t) - 1, 0, -1):  # from large t down
            if g[i] == 0:
                return (i, i)
            if np.sign(g[i]) != np.sign(g[i - 1]):
                return (i - 1, i)
        return None

    def _window(self, j, widen: int = 1) -> np.ndarray:
        """Fine grid over the bracket widened by ``widen`` grid intervals on each side (the refined
        grid of the first pass when there is one)."""
        i_lo, i_hi = max(j[0] - widen, 0), min(j[1] + widen, len(self.t) - 1)
        if self.fine is not None:
            k = self.fine["step"]
            return self.fine["t"][k * i_lo:k * i_hi + 1]
        return np.linspace(float(self.t[i_lo]), float(self.t[i_hi]), self._WINDOW_POINTS)

    def _checked(self, requests) -> list[tuple[str, float]]:
        """``(name, level)`` requests with known statistic names (class_commitment only with
        labels) and finite levels; a clear error otherwise."""
        out = []
        for name, level in requests:
            check_choice("statistic", name, _STATISTICS)
            if name == "class_commitment" and self.phi is None:
                raise RegimesError("class_commitment needs labels")
            out.append((name, check_real(f"level of {name}", level)))
        return out

    def prefetch(self, requests) -> None:
        """Evaluate in ONE streamed pass the fine windows that :meth:`crossing` will need for
        each ``(name, level)`` in ``requests`` (only useful when the statistics are not stored:
        every evaluation is then a pass over the data)."""
        requests = self._checked(requests)
        if self.stored or self.fine is not None:
            return
        grids = []
        for name, level in requests:
            j = self._bracket(name, level)
            if j is not None and j[0] != j[1]:
                grids.append(self._window(j))
        if not grids:
            return
        ev = self.evaluate(np.concatenate(grids))
        K = self._WINDOW_POINTS
        for k, g in enumerate(grids):
            self._window_cache[(float(g[0]), float(g[-1]))] = _columns(ev, k * K, (k + 1) * K)

    def _window_statistic(self, name: str, grid: np.ndarray) -> np.ndarray:
        if self.fine is not None:
            i0 = int(np.searchsorted(self.fine["t"], grid[0]))
            part = _columns(self.fine, i0, i0 + grid.size)
        else:
            part = self._window_cache.get((float(grid[0]), float(grid[-1])))
        return self.statistic(name, grid) if part is None else self._pick(name, part)

    def _crossing_on_window(self, name, level, j, bootstrap, rng, confidence, widen=1):
        """Crossing, delta-method SE and bootstrap interval from ONE fine window of per-sample
        values (no further pass). None when more than 1% of the bootstrap replicates do not cross
        inside the window, or an end of the interval is one of them (the caller then tries a
        wider window of the refined grid, or falls back to the wider local grid); otherwise those
        are taken at the window's nearer end, which keeps their rank, and counted in
        ``bootstrap_failures``."""
        grid = self._window(j, widen)
        P = self._window_statistic(name, grid)  # (M, K)
        mean = P.mean(axis=0)
        t0 = linear_root(mean - level, grid)
        if t0 is None:
            return None
        k = int(np.clip(np.searchsorted(grid, t0), 1, grid.size - 1))
        h = grid[k] - grid[k - 1]
        slope = (mean[k] - mean[k - 1]) / h
        u = (t0 - grid[k - 1]) / h
        st0 = (1.0 - u) * P[:, k - 1] + u * P[:, k]
        se_curve = st0.std(ddof=1) / math.sqrt(P.shape[0])
        se_t = abs(se_curve / slope) if slope != 0 else math.inf
        bracket = [float(self.t[j[0]]), float(self.t[j[1]])]
        B = check_int("bootstrap", bootstrap, ge=0)
        if B < 2 or not math.isfinite(se_t):
            return Estimate(t0, se_t, details={"bracket": bracket})
        # no widening here (the caller tries wider windows): refused when more than 1% of the
        # replicates are outside or an interval end is one of them (the note says so)
        est = _bootstrap_crossing(P, grid, level, t0, se_t, B, rng, confidence, {"bracket": bracket})
        return None if est.details["bootstrap_failures"] > 0.01 * B or est.notes else est

    def crossing(self, name: str, level: float, *, bootstrap: int = 200, rng=0,
                 confidence: float = 0.95) -> Estimate:
        """Time where the mean curve ``name`` crosses ``level``, with a bootstrap interval
        (:meth:`crossings` for one request)."""
        return self.crossings([(name, level)], bootstrap=bootstrap, rng=rng, confidence=confidence)[0]

    def crossings(self, requests, *, bootstrap: int = 200, rng=0, confidence: float = 0.95) -> list[Estimate]:
        """Times where the mean curves cross their levels, with bootstrap intervals.

        ``requests`` is a sequence of ``(name, level)``; returns one
        :class:`regimes.estimate.Estimate` per request, whose ``details`` hold the ``bracket`` (and
        ``bootstrap_failures``: replicates whose crossing was not found in the bootstrap
        window); ``value`` is NaN (and ``ci`` NaNs) when the grid curve does not cross
        ``level``. ``rng`` serves the requests' bootstraps in order (an integer seeds each one
        afresh).

        Notes
        -----
        The bracket is the first pair of grid times between which the grid curve changes side of
        ``level``, scanning from large t down. The point estimate is then the root of the smooth
        common-random-numbers curve by Brent's method (exact re-evaluation from the stored
        statistics; without them, the root of the curve on a fine local grid). The interval is the
        percentile bootstrap over Monte Carlo samples: each replicate's curve is evaluated on a
        local grid spanning ±6 delta-method standard errors around the estimate and its crossing
        located there — with at least :data:`CUBIC_MIN_SAMPLES` samples on 13 times, on the cubic
        through the four nearest of them (:func:`regimes._stats.cubic_root`: at 1024 samples
        within ~1e-5 SE of a dense grid's), with fewer on 25 times by linear interpolation (the
        replicates' curves then turn within a step of the coarser grid). Replicates that do not
        cross inside it are located on that window
        extended to 3 and 9 times its half-width (see ``_bootstrap_crossing``);
        ``bootstrap_failures`` counts those still outside, taken at the window's end, and a note
        says when the interval reaches them.

        With stored statistics the requests are solved together: their Brent iterations run in
        lockstep, each round's times evaluated in one read of the statistics (the bracket's ends
        take the grid curve's values: no read), and so are the delta-method times and the
        bootstrap grids — the same numbers as one request at a time.
        Without stored statistics (data too large for them), the estimate, its delta-method SE
        and the bootstrap all come from one fine window over the bracket widened by a grid
        interval on each side: the grid refined 8 times (25 times), evaluated by the engine in the
        same pass as the curves (``fine``) — or, when the refined state does not fit in the
        memory budget, 33 times evaluated for all estimators in one more pass by
        :meth:`prefetch`. If more than 1% of the replicates leave that window, the refined grid's
        windows widened by 3 intervals and then the whole refined grid are tried (no pass); the
        wider local grid (more passes) is the last resort.
        """
        requests = self._checked(requests)
        B = check_int("bootstrap", bootstrap, ge=0, le=MAX_BOOTSTRAP)
        check_real("confidence", confidence, gt=0.0, lt=1.0)
        if not isinstance(rng, int | np.integer):
            rng = check_rng(rng)  # a Generator is shared by the requests, in order
        if not self.stored:
            return [self._crossing_streamed(name, level, B, rng, confidence) for name, level in requests]
        brackets = [self._bracket(name, level) for name, level in requests]
        live = [i for i, j in enumerate(brackets) if j is not None]
        spans = {i: (float(self.t[brackets[i][0]]), float(self.t[brackets[i][1]])) for i in live}
        roots = self._roots([(*requests[i], *spans[i], *self._end_values(*requests[i], brackets[i])) for i in live])
        deltas = self._statistics([(requests[i][0], _delta_times(t0)) for i, t0 in zip(live, roots, strict=True)])
        se = dict(zip(live, (_delta_se(st, t0) for st, t0 in zip(deltas, roots, strict=True)), strict=True))
        t0s = dict(zip(live, roots, strict=True))
        boot = [i for i in live if B >= 2 and math.isfinite(se[i])]
        grids = {i: _bootstrap_grid(t0s[i], se[i], self.samples) for i in boot}
        P = dict(zip(boot, self._statistics([(requests[i][0], grids[i]) for i in boot]), strict=True))
        out = []
        for i, (_, level) in enumerate(requests):
            if brackets[i] is None:
                out.append(Estimate(math.nan, details={"bracket": None}))
            elif i not in P:
                out.append(Estimate(t0s[i], se[i], details={"bracket": list(spans[i])}))
            else:
                out.append(_bootstrap_crossing(P[i], grids[i], level, t0s[i], se[i], B, rng, confidence,
                                               {"bracket": list(spans[i])},
                                               functools.partial(self.statistic, requests[i][0])))
        return out

    def _crossing_streamed(self, name, level, B, rng, confidence) -> Estimate:
        """One crossing without stored statistics (see :meth:`crossings`)."""
        j = self._bracket(name, level)
        if j is None:
            return Estimate(math.nan, details={"bracket": None})
        lo, hi = float(self.t[j[0]]), float(self.t[j[1]])
        if lo != hi:
            # the refined grid of the engine's pass covers every interval: wider windows cost no pass
            for widen in ((1, 3, len(self.t)) if self.fine is not None else (1,)):
                out = self._crossing_on_window(name, level, j, B, rng, confidence, widen)
                if out is not None:
                    return out
        t0 = self._root(name, level, lo, hi)
        se_t = _delta_se(self.statistic(name, _delta_times(t0)), t0)
        if B < 2 or not math.isfinite(se_t):
            return Estimate(t0, se_t, details={"bracket": [lo, hi]})
        grid = _bootstrap_grid(t0, se_t, self.samples)
        return _bootstrap_crossing(self.statistic(name, grid), grid, level, t0, se_t, B, rng, confidence,
                                   {"bracket": [lo, hi]}, functools.partial(self.statistic, name))

    def _grid_curve(self, name: str):
        """The mean curve ``name`` on the grid, from the engine's pass (None: not computed)."""
        return {"excess_entropy": self.excess_entropy, "commitment": self.commitment,
                "class_commitment": self.class_commitment}[name]

    def _end_values(self, name: str, level: float, j) -> tuple[float, float]:
        """The grid curve of ``name`` minus ``level`` at the bracket's two grid times ``j``."""
        base = self._grid_curve(name)
        return float(base[j[0]]) - level, float(base[j[1]]) - level

    def _roots(self, problems) -> list[float]:
        """Roots of the mean curves for ``(name, level, lo, hi, f(lo), f(hi))`` problems by Brent's
        method, run in lockstep (one thread per problem, each round's times evaluated together here).

        The bracket and its ends' values come from the curves of the engine's pass (the same
        samples: re-evaluated from the stored statistics they differ by ~1e-15, which moves the
        root by less than Brent's tolerance), so Brent's first two rounds read nothing; should the
        values given not bracket the level, the end nearer to it is the root."""
        if not problems:
            return []
        from scipy.optimize import brentq

        lock = _Lockstep(len(problems))
        roots, errors = [math.nan] * len(problems), {}

        def solve(i, lo, hi, f_lo, f_hi):
            seen = {lo: f_lo, hi: f_hi}

            def f(x):
                if x not in seen:
                    seen[x] = lock.ask(i, x)
                return seen[x]
            try:  # tolerance relative to t (collapse times can be ~1e-5 for small d)
                roots[i] = lo if lo == hi else brentq(f, lo, hi, xtol=1e-10 * min(1.0, lo), rtol=1e-10)
            except ValueError as e:
                if lo in seen and hi in seen and seen[lo] * seen[hi] > 0:  # no sign change after all
                    roots[i] = lo if abs(seen[lo]) <= abs(seen[hi]) else hi
                else:
                    errors[i] = e
            except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
                errors[i] = e
            finally:
                lock.finished()

        def evaluate(asked):
            keys = sorted(asked)
            values = self._statistics([(problems[i][0], [asked[i]]) for i in keys])
            return {i: float(v.mean()) - problems[i][1] for i, v in zip(keys, values, strict=True)}

        threads = [threading.Thread(target=solve, args=(i, *p[2:6]), daemon=True) for i, p in enumerate(problems)]
        try:
            for th in threads:
                th.start()
            lock.serve(evaluate)
        finally:
            lock.cancel()  # no finder waits forever when this thread leaves early (e.g. Ctrl-C)
            for th in threads:
                if th.is_alive():
                    th.join()
        if errors:
            raise errors[min(errors)]
        return roots

    def _root(self, name, level, lo, hi) -> float:
        """Root of the mean curve in the bracket [lo, hi] without stored statistics: on 65 times."""
        if lo == hi:
            return lo
        grid = np.linspace(lo, hi, 65)
        return linear_root(self.statistic(name, grid).mean(axis=0) - level, grid, clamp=True)


def _columns(ev: dict, start: int, stop: int) -> dict:
    """Times ``start:stop`` of the per-sample arrays of an :meth:`MixtureCurves.evaluate` result."""
    return {key: (None if ev[key] is None else ev[key][:, start:stop]) for key in ("lse", "phi_c", "phi")}


def _delta_times(t0: float) -> np.ndarray:
    """``[t0, t0 − h, t0 + h]``: the root and the two times of the curve's slope there."""
    h = max(1e-4, 1e-3 * t0) if t0 >= 1e-3 else 1e-3 * t0  # relative for tiny t_C (data in small units)
    return np.array([t0, max(t0 - h, 0.5 * t0), t0 + h])


def _delta_se(st: np.ndarray, t0: float) -> float:
    """Delta-method SE of the root from per-sample values at :func:`_delta_times`: SE of the
    curve at the root over the absolute slope (inf for a flat curve)."""
    tl = _delta_times(t0)[1:]
    slope = (st[:, 2].mean() - st[:, 1].mean()) / (tl[1] - tl[0])
    se_curve = st[:, 0].std(ddof=1) / math.sqrt(st.shape[0])
    return abs(se_curve / slope) if slope != 0 else math.inf


#: Monte Carlo samples from which the bootstrap replicates are located on cubics on a grid of
#: :data:`BOOTSTRAP_GRID_POINTS` times (one delta-method SE apart over ±6 SEs): at 1024 samples
#: within ~1e-5 SE of their crossings on 401 times, against ~6e-4 SE for 25 times and linear
#: interpolation, for half the exponentials. With fewer samples the replicates' curves turn within
#: a step of that grid (measured at 5–32 samples: single replicates up to 0.6 SE off and interval
#: ends up to 0.08 SE, against 0.06 and 0.02 SE on 25 times), so they keep
#: :data:`SMALL_SAMPLES_GRID_POINTS` times and linear interpolation
CUBIC_MIN_SAMPLES = 128
BOOTSTRAP_GRID_POINTS = 13
SMALL_SAMPLES_GRID_POINTS = 25


def _grid_points(samples: int) -> int:
    return BOOTSTRAP_GRID_POINTS if samples >= CUBIC_MIN_SAMPLES else SMALL_SAMPLES_GRID_POINTS


def _bootstrap_grid(t0: float, se_t: float, samples: int) -> np.ndarray:
    """Times spanning ±6 delta-method SEs around the root (at least a relative 1e-6, and never
    below a quarter of the root): :data:`BOOTSTRAP_GRID_POINTS` of them with at least
    :data:`CUBIC_MIN_SAMPLES` Monte Carlo samples, else :data:`SMALL_SAMPLES_GRID_POINTS`."""
    w = max(6.0 * se_t, 1e-6 * max(1.0, t0)) if t0 >= 1e-3 else max(6.0 * se_t, 1e-3 * t0)
    return np.linspace(max(t0 - w, 0.25 * t0), t0 + w, _grid_points(samples))


#: the bootstrap window's half-widths, in multiples of its first one (±6 delta-method SEs), tried
#: in turn while more than 1% of the replicates' curves do not cross the level inside it
WIDER = (3.0, 9.0)


def _bootstrap_crossing(P, grid, level, t0, se_t, B, rng, confidence, details, evaluate=None) -> Estimate:
    """The estimate with its percentile bootstrap interval over Monte Carlo samples: each
    replicate's mean curve (per-sample values ``P`` on ``grid``) crosses ``level`` on the cubic
    through the four nearest grid times (:func:`regimes._stats.cubic_root`), or by linear
    interpolation below :data:`CUBIC_MIN_SAMPLES` samples; the delta-method SE is kept when fewer
    than two replicates are finite.

    A replicate whose curve does not cross inside the window is taken at the window's nearer end
    and counted in ``bootstrap_failures``. When more than 1% of them do, or an end of the interval
    is one of them, and ``evaluate(times)`` (per-sample values at new times) is given, the window
    is first extended on the side(s) they fall on to 3 and then 9 times its first half-width —
    its own times kept, so the other replicates keep their crossings — and those replicates
    located again. A note says when the interval still ends at a clamped replicate (too narrow).
    Only the weights of the replicates outside are kept (not B × M of them)."""
    M = P.shape[0]
    root = cubic_root if M >= CUBIC_MIN_SAMPLES else linear_root
    roots, kept = [], {}
    for b, w in enumerate(bootstrap_weights(check_rng(rng), B, M)):
        roots.append(root(w @ P / M - level, grid))
        if roots[-1] is None:
            kept[b] = w
    w0 = grid[-1] - t0

    def at_ends():  # the outside replicates, each at the window's nearer end
        return {b: linear_root(w @ P / M - level, grid, clamp=True) for b, w in kept.items()}
    ends = at_ends()
    for factor in WIDER:
        if not ends or evaluate is None or not (len(ends) > 0.01 * B or _reaches(roots, ends, grid, confidence)):
            break
        lo, hi = _extension(grid, t0, factor * w0, grid[0] in ends.values(), grid[-1] in ends.values(), M)
        if lo.size + hi.size == 0:
            break  # below a quarter of t0 only: nothing to add
        Pe = evaluate(np.concatenate([lo, hi]))
        grid = np.concatenate([lo, grid, hi])
        P = np.concatenate([Pe[:, :lo.size], P, Pe[:, lo.size:]], axis=1)
        for b in list(kept):
            roots[b] = root(kept[b] @ P / M - level, grid)
            if roots[b] is not None:
                del kept[b]
        ends = at_ends()
    reached = _reaches(roots, ends, grid, confidence)
    ci, se = percentile_interval(np.array([ends.get(b, r) for b, r in enumerate(roots)], dtype=float), confidence)
    if not math.isfinite(se):
        se = se_t
    notes = () if not reached else (
        f"{len(ends)} of {B} bootstrap replicates did not cross the level between t = {grid[0]:.6g} and "
        f"{grid[-1]:.6g} and were taken at that window's nearer end, which the interval reaches: it is too narrow",)
    return Estimate(t0, se, contain(ci, t0), notes=notes, details={**details, "bootstrap_failures": len(ends)})


def _reaches(roots, ends, grid, confidence) -> bool:
    """Whether an end of the percentile interval of the replicates (``ends``: those outside the
    window, at its ends) depends on where the outside ones really are: moving them further out
    moves it."""
    if not ends or len(roots) < 2:
        return False
    at_ends = np.array([ends.get(b, r) for b, r in enumerate(roots)], dtype=float)
    further = at_ends.copy()
    span = grid[-1] - grid[0]
    for b, e in ends.items():
        further[b] = e - span if e == grid[0] else e + span
    # (a quantile position like 19.000000000000004 weighs a clamped neighbour by ~1e-15: not an end)
    moved = np.subtract(percentile_interval(further, confidence)[0], percentile_interval(at_ends, confidence)[0])
    return bool(np.max(np.abs(moved)) > 1e-9 * span)


def _extension(grid, t0, w, low: bool, high: bool, samples: int):
    """Half a bootstrap grid's times (6, or 12 below :data:`CUBIC_MIN_SAMPLES` samples) below
    ``grid`` down to ``t0 − w`` (when ``low``; never below a quarter of ``t0``, as for
    :func:`_bootstrap_grid`) and as many above it up to ``t0 + w`` (when ``high``)."""
    a = max(t0 - w, 0.25 * t0)
    k = _grid_points(samples) // 2 + 1
    lo = np.linspace(a, grid[0], k)[:-1] if low and a < grid[0] else np.empty(0)
    hi = np.linspace(grid[-1], t0 + w, k)[1:] if high and t0 + w > grid[-1] else np.empty(0)
    return lo, hi


class _Lockstep:
    """Rounds of function evaluations for root finders running in threads: each finder
    :meth:`ask` s for its next point and waits; when every finder still running has asked,
    :meth:`serve` (in the calling thread) evaluates the round's points together."""

    def __init__(self, finders: int):
        self.cv = threading.Condition()
        self.live = finders
        self.asked: dict = {}
        self.answers: dict = {}
        self.cancelled = False

    def ask(self, i, x):
        with self.cv:
            self.asked[i] = x
            self.cv.notify_all()
            self.cv.wait_for(lambda: i in self.answers or self.cancelled)
            if i not in self.answers:
                raise RuntimeError("root finding cancelled")
            a = self.answers.pop(i)
        if isinstance(a, BaseException):
            raise a
        return a

    def cancel(self):
        """Release every finder still waiting (they raise); no-op once all have finished."""
        with self.cv:
            self.cancelled = True
            self.cv.notify_all()

    def finished(self):
        with self.cv:
            self.live -= 1
            self.cv.notify_all()

    def serve(self, evaluate):
        """Evaluate rounds (``evaluate({finder: x}) -> {finder: f(x)}``) until every finder has finished."""
        while True:
            with self.cv:
                self.cv.wait_for(lambda: self.live == 0 or len(self.asked) == self.live)
                if self.live == 0:
                    return
                asked, self.asked = self.asked, {}
            try:
                answers = evaluate(asked)
            except BaseException as e:  # noqa: BLE001 - handed to the finders, which raise it
                answers = dict.fromkeys(asked, e)
            with self.cv:
                self.answers.update(answers)
                self.cv.notify_all()
