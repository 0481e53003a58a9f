"""The empirical-mixture engine: f^e(t), φ_C(t) and φ(t) for a whole grid of times at once.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024), §"Collapse" (excess entropy, collapse time).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from .._errors import RegimesError, RegimesWarning
from .._validate import as_real_array, check_int, check_rng
from .covariance import _pow2_scale, _shift, _working

__all__ = ["MixtureCurves", "empirical_mixture", "DEFAULT_MEMORY_BUDGET", "PRECISION_TOLERANCE"]

#: default memory budget of the engine in bytes (data blocks + GEMM outputs + stored statistics)
DEFAULT_MEMORY_BUDGET = 1 << 30

#: largest error (nats) of the log-weights E = vG − ½v²D that ``precision="auto"`` accepts from
#: float32 products (measured on a probe, see :func:`empirical_mixture`)
PRECISION_TOLERANCE = 0.01

#: log-weights more than this many nats below the μ = μ0 term (weight < e^-40 ≈ 4e-18 of it) do
#: not count in the probe: their errors cannot move any output
_PROBE_RELEVANCE = 40.0
_PROBE_SAMPLES = 32
_PROBE_ROWS = 1024

#: a block's one-hot class matrix is dense up to this many elements, sparse (CSR) beyond
_DENSE_ONEHOT_MAX = 1 << 22


_THREADS = max(1, min(4, os.cpu_count() or 1))
_POOL = None


def _pool():
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="regimes-lse")
    return _POOL


def _vs(t: np.ndarray) -> np.ndarray:
    """v = e^{-t}/√Δ_t = 1/√expm1(2t): the only combination of t the exponents need."""
    return 1.0 / np.sqrt(np.expm1(2.0 * t))


class _Classes:
    """Class code per row (0..C−1). The one-hot matrix of a block of rows is built on demand:
    dense while it has at most ``_DENSE_ONEHOT_MAX`` elements (the same bits as slicing a full
    n×C one-hot), sparse CSR otherwise — never the n×C float64 matrix (8 GB for n = 10⁶, C = 1000)."""

    def __init__(self, codes: np.ndarray):
        self.codes = np.asarray(codes, dtype=np.int64)
        self.C = int(self.codes.max()) + 1

    def block(self, s: int, e: int):
        c = self.codes[s:e]
        m = e - s
        if m * self.C <= _DENSE_ONEHOT_MAX:
            oh = np.zeros((m, self.C))
            oh[np.arange(m), c] = 1.0
            return oh
        from scipy.sparse import csr_matrix

        return csr_matrix((np.ones(m), c, np.arange(m + 1)), shape=(m, self.C))


class _State:
    """Online log-sum-exp state per (sample, time): running max m, Σe^{E−m}, Σe^{2(E−m)}, class sums."""

    def __init__(self, M, T, C, fast_exp: bool = False):
        # fast_exp: the weights e^{E−m} ≤ 1 are exponentiated in float32 (SIMD, about 3x faster,
        # relative error ~1e-7 per weight) and summed in float64; used with float32 products,
        # whose log-weights carry larger errors than that anyway
        self.fast_exp = fast_exp
        self.m = np.full((M, T), -np.inf)
        self.s1 = np.zeros((M, T))
        self.s2 = np.zeros((M, T))
        self.sc = np.zeros((M, T, C)) if C else None

    def update(self, G, D, vs, onehot):
        """Fold a block of columns in; rows (samples) are split across threads (numpy's
        elementwise kernels release the GIL), each thread owning its rows: deterministic."""
        M = G.shape[0]
        k = _THREADS if M >= 64 and G.size >= 200_000 else 1
        if k == 1:
            self._update(slice(0, M), G, D, vs, onehot)
            return
        cuts = np.linspace(0, M, k + 1).astype(int)
        sl = [slice(cuts[i], cuts[i + 1]) for i in range(k)]
        list(_pool().map(lambda s: self._update(s, G[s], D[s], vs, onehot), sl))

    def _update(self, rows, G, D, vs, onehot):
        # E_j = v_j G − ½ v_j² D for every time j; G, D are (m, c) float64
        m_, s1_, s2_ = self.m[rows], self.s1[rows], self.s2[rows]
        sc_ = None if self.sc is None else self.sc[rows]
        E, tmp = np.empty_like(G), np.empty_like(G)  # reused across times (no temporaries)
        W = np.empty(G.shape, dtype=np.float32) if self.fast_exp else E
        for j, v in enumerate(vs):
            np.multiply(G, v, out=E)
            np.multiply(D, 0.5 * v * v, out=tmp)
            E -= tmp
            mx = E.max(axis=1)
            m_new = np.maximum(m_[:, j], mx)
            r = np.exp(m_[:, j] - m_new)  # exp(-inf) = 0 on the first block
            with np.errstate(over="ignore"):  # log-weights below −3.4e38 become −inf: weight 0, as it should
                np.subtract(E, m_new[:, None], out=W, casting="same_kind")  # float32 W: cast in the same pass
            np.exp(W, out=W)
            s1_[:, j] = s1_[:, j] * r + W.sum(axis=1, dtype=np.float64)
            if sc_ is not None:
                sc_[:, j, :] = sc_[:, j, :] * r[:, None] + W @ onehot
            W *= W
            s2_[:, j] = s2_[:, j] * (r * r) + W.sum(axis=1, dtype=np.float64)
            m_[:, j] = m_new
        self.m[rows], self.s1[rows], self.s2[rows] = m_, s1_, s2_
        if sc_ is not None:
            self.sc[rows] = sc_

    def finish(self):
        L = self.m + np.log(self.s1)
        phiC = self.s2 / self.s1**2
        phi = None if self.sc is None else np.sum(self.sc**2, axis=2) / self.s1**2
        return L, phiC, phi


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
    """

    t: np.ndarray
    lse: np.ndarray
    phi_c: np.ndarray
    phi: np.ndarray | None
    n: int
    d: int
    samples: int
    _G: np.ndarray | None = field(default=None, repr=False)
    _D: np.ndarray | None = field(default=None, repr=False)
    precision: str = "float64"
    precision_error: float = math.nan
    _classes: _Classes | None = field(default=None, repr=False)
    _recompute: object = field(default=None, repr=False)
    _window_cache: dict = field(default_factory=dict, repr=False)

    @property
    def alpha(self) -> float:
        return math.log(self.n) / self.d

    @property
    def stored(self) -> bool:
        return self._G is not None

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
        tt = as_real_array("t", t, gt=0.0).ravel()
        if self._G is None:
            if self._recompute is None:  # pragma: no cover
                raise RegimesError("these curves cannot be re-evaluated")
            L, pc, ph = self._recompute(tt)
        else:
            L, pc, ph = _from_stored(self._G, self._D, _vs(tt), self._classes, self.precision == "float32")
        return {"t": tt, "lse": L, "phi_c": pc, "phi": ph}

    def statistic(self, name: str, t) -> np.ndarray:
        """Per-sample values (M, len(t)) of ``"excess_entropy"``, ``"commitment"`` or ``"class_commitment"``."""
        ev = self.evaluate(t)
        if name == "excess_entropy":
            return ev["lse"] / self.d
        if name == "commitment":
            return ev["phi_c"]
        if name == "class_commitment":
            if ev["phi"] is None:
                raise RegimesError("class_commitment needs labels")
            return ev["phi"]
        raise RegimesError(f"statistic must be excess_entropy, commitment or class_commitment, got {name!r}")

    _WINDOW_POINTS = 33

    def _bracket(self, name: str, level: float):
        """Indices (i, i + 1) of the first grid interval, scanning from large t down, where the
        grid curve of ``name`` changes side of ``level`` (None if it never does)."""
        base = {"excess_entropy": self.excess_entropy, "commitment": self.commitment,
                "class_commitment": self.class_commitment}[name]
        if base is None:
            return None
        g = base - level
        for i in range(len(self.t) - 1, 0, -1):  # from large t down
            if g[i] == 0:
                return (i, i)
            if np.sign(g[i]) != np.sign(g[i - 1]):
                return (i - 1, i)
        return None

    def _window(self, j) -> np.ndarray:
        """Fine grid over the bracket widened by one grid interval on each side."""
        i_lo, i_hi = max(j[0] - 1, 0), min(j[1] + 1, len(self.t) - 1)
        return np.linspace(float(self.t[i_lo]), float(self.t[i_hi]), self._WINDOW_POINTS)

    def prefetch(self, requests) -> None:
        """Evaluate in ONE streamed pass the fine windows that :meth:`crossing` will need for
        each ``(name, level)`` in ``requests`` (only useful when the statistics are not stored:
        every evaluation is then a pass over the data)."""
        if self.stored:
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
            part = {key: (None if ev[key] is None else ev[key][:, k * K:(k + 1) * K])
                    for key in ("lse", "phi_c", "phi")}
            self._window_cache[(float(g[0]), float(g[-1]))] = part

    def _window_statistic(self, name: str, grid: np.ndarray) -> np.ndarray:
        part = self._window_cache.get((float(grid[0]), float(grid[-1])))
        if part is None:
            return self.statistic(name, grid)
        if name == "excess_entropy":
            return part["lse"] / self.d
        if name == "commitment":
            return part["phi_c"]
        return part["phi"]

    def _crossing_on_window(self, name, level, j, bootstrap, rng, confidence):
        """Crossing, delta-method SE and bootstrap interval from ONE fine window of per-sample
        values (no further pass). None when bootstrap replicates leave the window (the caller
        then falls back to the wider local grid)."""
        grid = self._window(j)
        P = self._window_statistic(name, grid)  # (M, K)
        mean = P.mean(axis=0)
        t0 = _root_in(mean - level, grid)
        if t0 is None:
            return None
        k = int(np.clip(np.searchsorted(grid, t0), 1, grid.size - 1))
        h = grid[k] - grid[k - 1]
        slope = (mean[k] - mean[k - 1]) / h
        u = (t0 - grid[k - 1]) / h
        st0 = (1.0 - u) * P[:, k - 1] + u * P[:, k]
        se_curve = st0.std(ddof=1) / math.sqrt(P.shape[0])
        se_t = abs(se_curve / slope) if slope != 0 else math.inf
        out = {"value": float(t0), "se": float(se_t), "ci": [math.nan, math.nan],
               "bracket": [float(self.t[j[0]]), float(self.t[j[1]])]}
        B = check_int("bootstrap", bootstrap, ge=0)
        if B < 2 or not math.isfinite(se_t):
            return out
        gen = check_rng(rng)
        M = P.shape[0]
        reps = np.empty(B)
        for b in range(B):
            cnt = np.bincount(gen.integers(0, M, M), minlength=M)
            r = _root_in(cnt @ P / M - level, grid)
            reps[b] = math.nan if r is None else r
        if np.isnan(reps).mean() > 0.01:
            return None
        ok = np.isfinite(reps)
        q = (1 - confidence) / 2
        out["ci"] = [float(np.quantile(reps[ok], q)), float(np.quantile(reps[ok], 1 - q))]
        out["se"] = float(reps[ok].std(ddof=1))
        out["bootstrap_failures"] = int((~ok).sum())
        return out

    def crossing(self, name: str, level: float, *, bootstrap: int = 200, rng=0,
                 confidence: float = 0.95) -> dict:
        """Time where the mean curve ``name`` crosses ``level``, with a bootstrap interval.

        Returns ``{"value", "se", "ci", "bracket"}``; ``value`` is NaN (and ``ci`` NaNs) when the
        grid curve does not cross ``level``.

        Notes
        -----
        The bracket is the first pair of grid times between which the grid curve changes side of
        ``level``, scanning from large t down. The point estimate is then the root of the smooth
        common-random-numbers curve by Brent's method (exact re-evaluation from the stored
        statistics; without them, the root of the curve on a fine local grid). The interval is the
        percentile bootstrap over Monte Carlo samples: each replicate's curve is evaluated on a
        local grid of 25 times spanning ±6 delta-method standard errors around the estimate and
        its crossing located there by linear interpolation, an error far below the interval width.
        Without stored statistics (data too large for them), the estimate, its delta-method SE
        and the bootstrap all come from one fine window of 33 times over the bracket widened by a
        grid interval on each side — evaluated for all estimators in a single pass by
        :meth:`prefetch` — and the wider local grid (two more passes) is used only if more than
        1% of the replicates leave that window.
        """
        from scipy.optimize import brentq

        nan = {"value": math.nan, "se": math.nan, "ci": [math.nan, math.nan], "bracket": None}
        j = self._bracket(name, level)
        if j is None:
            return nan
        lo, hi = float(self.t[j[0]]), float(self.t[j[1]])
        if not self.stored and lo != hi:
            out = self._crossing_on_window(name, level, j, bootstrap, rng, confidence)
            if out is not None:
                return out
        if lo == hi:
            t0 = lo
        elif self.stored:
            def fun(x):
                return float(self.statistic(name, [x]).mean()) - level
            # tolerance relative to t (collapse times can be ~1e-5 for small d)
            t0 = brentq(fun, lo, hi, xtol=1e-10 * min(1.0, lo), rtol=1e-10)
        else:
            grid = np.linspace(lo, hi, 65)
            t0 = _first_root(self.statistic(name, grid).mean(axis=0) - level, grid)
        # delta-method scale for the local bootstrap grid
        h = max(1e-4, 1e-3 * t0)
        tl = np.array([max(t0 - h, 0.5 * t0), t0 + h])
        st = self.statistic(name, np.concatenate([[t0], tl]))
        slope = (st[:, 2].mean() - st[:, 1].mean()) / (tl[1] - tl[0])
        se_curve = st[:, 0].std(ddof=1) / math.sqrt(st.shape[0])
        se_t = abs(se_curve / slope) if slope != 0 else math.inf
        out = {"value": float(t0), "se": float(se_t), "ci": [math.nan, math.nan], "bracket": [lo, hi]}
        B = check_int("bootstrap", bootstrap, ge=0)
        if B < 2 or not math.isfinite(se_t):
            return out
        w = max(6.0 * se_t, 1e-6 * max(1.0, t0))
        grid = np.linspace(max(t0 - w, 0.25 * t0), t0 + w, 25)
        P = self.statistic(name, grid)  # (M, K)
        gen = check_rng(rng)
        M = P.shape[0]
        reps = np.empty(B)
        for b in range(B):
            cnt = np.bincount(gen.integers(0, M, M), minlength=M)
            curve = cnt @ P / M - level
            reps[b] = _first_root(curve, grid)
        q = (1 - confidence) / 2
        ok = np.isfinite(reps)
        if ok.sum() >= 2:
            out["ci"] = [float(np.quantile(reps[ok], q)), float(np.quantile(reps[ok], 1 - q))]
            out["se"] = float(reps[ok].std(ddof=1))
        out["bootstrap_failures"] = int((~ok).sum())
        return out


def _root_in(curve, grid):
    """Like :func:`_first_root` but None when the curve does not change sign on the grid."""
    s = np.sign(curve)
    for i in range(len(grid) - 1, 0, -1):
        if s[i] == 0:
            return float(grid[i])
        if s[i] != s[i - 1]:
            f0, f1 = curve[i - 1], curve[i]
            return float(grid[i - 1] + (grid[i] - grid[i - 1]) * f0 / (f0 - f1))
    return None


def _first_root(curve, grid):
    """Crossing of zero by ``curve`` on ``grid`` (scanning from large t), linear interpolation;
    a replicate that stays on one side is clamped to the grid end it approaches."""
    s = np.sign(curve)
    for i in range(len(grid) - 1, 0, -1):
        if s[i] == 0:
            return grid[i]
        if s[i] != s[i - 1]:
            f0, f1 = curve[i - 1], curve[i]
            return grid[i - 1] + (grid[i] - grid[i - 1]) * f0 / (f0 - f1)
    # no crossing in the window: clamp to the nearer end (the window spans ±6 SE)
    return grid[0] if abs(curve[0]) < abs(curve[-1]) else grid[-1]


def _from_stored(G, D, vs, classes, fast_exp=False, rows=None):
    M = G.shape[0]
    rows = rows or max(1, min(M, 4_000_000 // max(1, G.shape[1])))
    C = 0 if classes is None else classes.C
    onehot = None if classes is None else classes.block(0, G.shape[1])
    L = np.empty((M, vs.size))
    pc = np.empty((M, vs.size))
    ph = None if onehot is None else np.empty((M, vs.size))
    for s in range(0, M, rows):
        e = min(M, s + rows)
        st = _State(e - s, vs.size, C, fast_exp)
        st.update(G[s:e], D[s:e], vs, onehot)
        a, b, c = st.finish()
        L[s:e], pc[s:e] = a, b
        if ph is not None:
            ph[s:e] = c
    return L, pc, ph


def empirical_mixture(X, times, *, samples: int = 1024, rng=0, labels=None,
                      memory_budget: int = DEFAULT_MEMORY_BUDGET, store: bool | None = None,
                      block_rows: int | None = None, progress=None, precision: str = "auto") -> MixtureCurves:
    """Excess entropy, commitment and class curves of the empirical mixture on a grid of times.

    Parameters
    ----------
    X : DataSource or array_like, shape (n, d)
        Training points a^μ (processed: scaled and centred). Float32 data are multiplied in
        float32; everything else is accumulated in float64.
    times : array_like
        OU times t > 0.
    samples : int
        Monte Carlo samples M (the same samples serve every time).
    rng : int or Generator
        Seed; the result is bit-for-bit reproducible given the seed and the memory budget.
    labels : array_like of int, optional
        Class index per row (defaults to the source's labels); enables φ(t).
    memory_budget : int
        Approximate bytes the engine may use; sets the block size, and whether the per-sample
        sufficient statistics (16·M·n bytes) are kept for exact re-evaluation.
    store : bool, optional
        Force keeping (True) or not keeping (False) the statistics; default: if they fit in half
        the budget.
    block_rows : int, optional
        Rows of the dataset per block (default: from the budget).
    progress : callable, optional
        ``progress(done_rows, total_rows)`` after each block of the dataset.
    precision : {"auto", "float32", "float64"}
        Arithmetic of the two GEMMs. ``"float32"`` multiplies in float32 (float64 data are rounded
        to float32 for the products) and also exponentiates the weights e^{E−max} ≤ 1 in float32
        (relative error ~1e-7 per weight; every sum is accumulated in float64); ``"float64"``
        does both in float64 (float32 data converted, about twice the time). ``"auto"``
        (default): float64 for float64 data; for float32 data, float32 unless a probe measures
        a log-weight error above :data:`PRECISION_TOLERANCE` (0.01 nats)
        — see Notes. The choice and the probe's error are recorded on the result
        (``precision``, ``precision_error``); a :class:`regimes.RegimesWarning` is issued when the
        chosen arithmetic's measured error exceeds the tolerance.

    Returns
    -------
    MixtureCurves

    Notes
    -----
    Each sample draws μ0 uniformly and ξ ~ N(0, I_d) once; ``x = e^{-t} a^{μ0} + √Δ_t ξ`` for every
    t (common random numbers). With ``D_μ = |a^{μ0} − a^μ|²`` and ``G_μ = ξ·(a^μ − a^{μ0})``,

    .. math:: -\\frac{|x - e^{-t}a^μ|^2}{2Δ_t} = -\\frac{|ξ|^2}{2} + v G_μ - \\frac{v^2}{2} D_μ,
              \\qquad v = \\frac{e^{-t}}{\\sqrt{Δ_t}} = \\frac{1}{\\sqrt{\\mathrm{expm1}(2t)}},

    so two GEMMs, ``A_sel Aᵀ`` (giving D through ``|a^{μ0}|² − 2a^{μ0}·a^μ + |a^μ|²``) and ``Ξ Aᵀ``
    (giving G), serve all times. The μ = μ0 term is exactly 0 (set explicitly, not by
    cancellation), which keeps small t stable. Per (sample, time) an online log-sum-exp runs over
    row blocks of A. With ``L = ln Σ_μ exp(v G_μ − ½ v² D_μ)`` the excess entropy is

    .. math:: f^e(t) = \\tfrac12 + \\tfrac1d E[\\ln Σ_μ e^{-|x-e^{-t}a^μ|^2/(2Δ_t)}]
              = \\tfrac1d E[L] ,

    because ``E|ξ|² = d`` exactly (the ``½ − |ξ|²/2d`` term has mean zero and is dropped, which
    removes its variance ``1/(2d)``). The constant follows from ``s^sep = α + ½ ln(2πeΔ_t)`` and
    ``−ln P^e_t = ln n + (d/2) ln(2πΔ_t) − ln Σ_μ e^{…}``; checks: f^e → ln(n)/d = α as t → ∞
    (L → ln n) and f^e → 0 as t → 0 (L → 0). ``w_μ = e^{E_μ}/Σ e^{E}``, φ_C = E[Σ w_μ²],
    φ = E[Σ_c (Σ_{μ∈c} w_μ)²] (SPEC §3).

    Precision: D from ``|a^{μ0}|² + |a^μ|² − 2a^{μ0}·a^μ`` and G from ``ξ·a^μ − ξ·a^{μ0}`` lose
    digits when the distances are small against the points' norms (tight clusters far from the
    origin, near-duplicate rows), and the log-weight error is ``v δG − ½v² δD``, amplified by
    ``½v² ≈ 1/(4t)`` at small t. The data are centred (non-centred sources: by their mean, which
    changes neither D nor G) and multiplied by a power of two that makes their spread O(1) (no
    float32 overflow or underflow; undone exactly). The probe takes the first
    ``min(32, samples)`` samples against the first ``min(1024, n)`` rows, computes D and G exactly
    as the engine does in float32 and in float64, and judges float32 against the float64 result
    (whose own error is ~2⁻²⁹ times smaller) and float64 against explicit float64 differences
    ``|a^{μ0} − a^μ|²``, ``ξ·(a^μ − a^{μ0})`` (computed only on the float64 path); its error is the largest
    ``|E − E_ref|`` over all requested times and over the entries whose log-weight (in either
    arithmetic) is within 40 nats of the μ = μ0 term — entries further below weigh less than
    e^{-40} relative to it and cannot move any output. The error scale is set by the points'
    norms, so the probe sees it wherever it draws its pairs; it cannot see that some pair far from
    the probed rows is near-duplicate, so it is a measurement, not a bound.

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """
    from ..data import as_source

    src = as_source(X)
    n, d = src.n, src.d
    tt = as_real_array("times", times, gt=0.0, ndim=1, min_size=1)
    M = check_int("samples", samples, ge=2)
    budget = check_int("memory_budget", memory_budget, ge=1 << 20)
    if precision not in ("auto", "float32", "float64"):
        raise RegimesError(f"precision must be 'auto', 'float32' or 'float64', got {precision!r}")
    gen = check_rng(rng)
    lab = src.labels if labels is None else np.asarray(labels)
    classes = None
    if lab is not None:
        lab = np.asarray(lab)
        if lab.shape != (n,):
            raise RegimesError(f"labels must have one entry per row ({n}), got shape {lab.shape}")
        classes = _Classes(np.unique(lab, return_inverse=True)[1].reshape(-1))
    dt = src.dtype
    shift, scale = _shift(src), _pow2_scale(src)
    mu0 = gen.integers(0, n, size=M)
    Xi = gen.standard_normal((M, d)).astype(dt)
    A0 = _working(src.take(mu0), shift, scale)  # (M, d), centred, spread O(1)
    vs = _vs(tt)
    probe = _Probe(src, A0, Xi, mu0, shift, scale, vs)
    if precision == "auto":
        precision = "float64" if (dt == np.float64 or probe.error("float32") > PRECISION_TOLERANCE) else "float32"
    err = probe.error(precision)
    if err > PRECISION_TOLERANCE:
        import warnings

        warnings.warn(
            f"empirical_mixture: {precision} products give log-weight errors up to {err:.3g} nats "
            f"(probe; tolerance {PRECISION_TOLERANCE}) at the requested times; distances are small "
            "against the points' norms", RegimesWarning, stacklevel=2)
    pdt = np.dtype(np.float32 if precision == "float32" else np.float64)
    A0 = A0.astype(pdt, copy=False)
    Xi = Xi.astype(pdt, copy=False)
    a0sq = np.einsum("ij,ij->i", A0.astype(np.float64), A0.astype(np.float64))
    xia0 = np.einsum("ij,ij->i", Xi.astype(np.float64), A0.astype(np.float64))
    C = 0 if classes is None else classes.C
    T = tt.size
    fixed = 2 * M * d * pdt.itemsize + M * T * (3 + C) * 8 * 2
    keep = (16 * M * n <= budget // 2) if store is None else bool(store)
    if keep:
        fixed += 16 * M * n
    avail = max(budget - fixed, 16 * 2**20)
    # per block row: the data row (and its converted copy), and ~6 (M,)-columns of float64 temporaries
    rows = int(max(1, min(n, avail // (d * (dt.itemsize + pdt.itemsize) + 6 * 8 * M))))
    if block_rows is not None:
        rows = check_int("block_rows", block_rows, ge=1)
    state = _State(M, T, C, precision == "float32")
    Gs = np.empty((M, n)) if keep else None
    Ds = np.empty((M, n)) if keep else None
    order = np.argsort(mu0, kind="stable")

    def _pass(vs_, state_, keep_):
        done = 0
        for s, e, B in src.blocks(rows):
            B = _working(B, shift, scale).astype(pdt, copy=False)
            Q, D = _gram(A0, a0sq, Xi, xia0, B, scale)
            # the μ = μ0 terms: exactly zero
            lo, hi = np.searchsorted(mu0[order], [s, e])
            rs = order[lo:hi]
            D[rs, mu0[rs] - s] = 0.0
            Q[rs, mu0[rs] - s] = 0.0
            if keep_:
                Gs[:, s:e] = Q
                Ds[:, s:e] = D
            state_.update(Q, D, vs_, None if classes is None else classes.block(s, e))
            done = e
            if progress is not None:
                progress(done, n)

    _pass(vs, state, keep)
    L, pc, ph = state.finish()
    if not np.all(np.isfinite(L)):  # pragma: no cover - only at float64's range limit
        raise RegimesError(f"{src.name}: values too large: squared distances overflow float64 "
                           f"(tr C = {src.total_variance:.3g}); rescale the data")

    def _recompute(new_t):
        st = _State(M, new_t.size, C, precision == "float32")
        _pass(_vs(new_t), st, False)
        return st.finish()

    return MixtureCurves(t=tt, lse=L, phi_c=pc, phi=ph, n=n, d=d, samples=M, _G=Gs, _D=Ds,
                         precision=precision, precision_error=float(err), _classes=classes,
                         _recompute=None if keep else _recompute)


def _gram(A0, a0sq, Xi, xia0, B, scale):
    """(G, D) of a block, float64 (M, rows): ``D = |a0|² + |b|² − 2 a0·b``, ``G = ξ·b − ξ·a0`` from
    two GEMMs in B's dtype, with the power-of-two ``scale`` of the working data undone exactly."""
    bsq = np.einsum("ij,ij->i", B, B, dtype=np.float64)
    # assembled in float64 straight from the products (no float64 copies of them, no temporaries):
    # −2P is exact in P's dtype, the sums are float64
    D = np.empty((A0.shape[0], B.shape[0]))
    np.multiply(A0 @ B.T, -2.0, out=D)
    D += a0sq[:, None]
    D += bsq[None, :]
    np.maximum(D, 0.0, out=D)
    Q = np.subtract(Xi @ B.T, xia0[:, None])  # float64: the float32 product is upcast exactly
    if scale != 1.0:
        D *= 1.0 / (scale * scale)
        Q *= 1.0 / scale
    return Q, D


class _Probe:
    """Log-weight errors (nats) of the engine's float32 and float64 arithmetic on a probe of
    ``min(32, M)`` samples × the first ``min(1024, n)`` rows (see Notes of
    :func:`empirical_mixture`). float32 is judged against the engine's float64 arithmetic (whose
    own error is ~2⁻²⁹ of float32's: a negligible reference error), float64 against explicit
    float64 differences (computed only when asked for: the float64 path)."""

    def __init__(self, src, A0, Xi, mu0, shift, scale, vs):
        self.m = m = min(_PROBE_SAMPLES, A0.shape[0])
        r = min(_PROBE_ROWS, src.n)
        self.B = _working(src.block(0, r), shift, scale)
        self.a0, self.xi = A0[:m], Xi[:m]
        self.scale, self.vs = scale, vs
        self.self_ = np.nonzero(mu0[:m, None] == np.arange(r)[None, :])  # μ = μ0: exactly 0 in the engine
        self._cache = {}

    def _engine(self, pdt):
        """(G, D) as the engine computes them in ``pdt``."""
        if pdt not in self._cache:
            A, X_, Bp = self.a0.astype(pdt), self.xi.astype(pdt), self.B.astype(pdt)
            A64, X64 = A.astype(np.float64), X_.astype(np.float64)
            G, D = _gram(A, np.einsum("ij,ij->i", A64, A64), X_, np.einsum("ij,ij->i", X64, A64), Bp,
                         self.scale)
            G[self.self_] = 0.0
            D[self.self_] = 0.0
            self._cache[pdt] = (G, D)
        return self._cache[pdt]

    def _explicit(self):
        """(G, D) from explicit float64 differences: no cancellation."""
        a0, xi = self.a0.astype(np.float64), self.xi.astype(np.float64)
        B64 = self.B.astype(np.float64)
        G = np.empty((self.m, B64.shape[0]))
        D = np.empty_like(G)
        for i in range(self.m):
            diff = B64 - a0[i]
            D[i] = np.einsum("ij,ij->i", diff, diff)
            G[i] = diff @ xi[i]
        return G / self.scale, D / (self.scale * self.scale)

    def error(self, precision: str) -> float:
        G, D = self._engine(np.dtype(precision).type)
        Gr, Dr = self._engine(np.float64) if precision == "float32" else self._explicit()
        worst = 0.0
        for v in self.vs:
            E = v * G - (0.5 * v * v) * D
            Er = v * Gr - (0.5 * v * v) * Dr
            rel = np.maximum(E, Er) >= -_PROBE_RELEVANCE
            if rel.any():
                worst = max(worst, float(np.max(np.abs(E - Er)[rel])))
        return worst
