"""Online log-sum-exp over row blocks: the inner loop of the empirical-mixture engine.

Private to :mod:`regimes.engines`; its public names are used by :mod:`~regimes.engines.mixture`
(the streamed pass) and :mod:`~regimes.engines.curves` (re-evaluation from stored statistics).
"""

from __future__ import annotations

import os
import threading

import numpy as np

from .._errors import RegimesError
from .._validate import as_real_array, check_choice

__all__ = ["DENSE_ONEHOT_MAX", "MIN_TIME", "THREADS", "ClassCodes", "LSEState", "check_times", "from_stored",
           "negligible_below", "resolve_engine", "thread_pool", "time_factors"]

#: a block's one-hot class matrix is dense up to this many elements, sparse (CSR) beyond
DENSE_ONEHOT_MAX = 1 << 22


THREADS = max(1, min(4, os.cpu_count() or 1))
_POOL = None
_POOL_LOCK = threading.Lock()  # Dask worker threads may ask for the pool at the same time


def thread_pool():
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            from concurrent.futures import ThreadPoolExecutor

            _POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="regimes-lse")
    return _POOL


#: the smallest OU time the engines take (the bound of ``regimes analyze --times`` too): the
#: exponents hold ``½v² = 1/(2 expm1(2t))``, the squared distances' divisor, which overflows float64
#: below t ≈ 1.4e-309 (the self term ``½v²·0`` then gives NaN); 1e-300 keeps ``½v²·D`` finite for
#: squared distances D up to ~3e8 (larger ones raise the floor: :func:`regimes.engines.mixture.min_time`)
MIN_TIME = 1e-300


def check_times(name: str, times, *, floor: float = MIN_TIME, why: str | None = None, **bounds) -> np.ndarray:
    """``times`` as a finite float64 array of OU times ``>= floor`` (at least :data:`MIN_TIME`), or
    RegimesError naming ``name``; ``bounds``: more :func:`regimes._validate.as_real_array` options
    (e.g. ``ndim``), ``why``: what sets a floor above MIN_TIME (for the message)."""
    tt = as_real_array(name, times, gt=0.0, **bounds)
    floor = max(float(floor), MIN_TIME)
    if tt.size and not np.all(tt >= floor):
        bad = float(tt[~(tt >= floor)].ravel()[0])
        raise RegimesError(
            f"{name} must be >= {floor:.3g}, got {'an entry ' if tt.ndim else ''}{bad!r}: below it the noise variance "
            f"Δ_t = 1 − e^(−2t) ≈ 2t is too small for float64 once squared distances are divided by it"
            + (f" ({why})" if why else ""))
    return tt


def time_factors(t: np.ndarray) -> np.ndarray:
    """v = e^{-t}/√Δ_t = 1/√expm1(2t): the only combination of t the exponents need (0 beyond
    t ≈ 354.9, where expm1(2t) overflows: the exact limit of the weights, without a warning)."""
    with np.errstate(over="ignore"):
        return 1.0 / np.sqrt(np.expm1(2.0 * t))


class ClassCodes:
    """Class code per row (0..C−1). The one-hot matrix of a block of rows is built on demand:
    dense while it has at most ``DENSE_ONEHOT_MAX`` elements (the same bits as slicing a full
    n×C one-hot), sparse CSR otherwise — never the n×C float64 matrix (8 GB for n = 10⁶, C = 1000)."""

    def __init__(self, codes: np.ndarray):
        self.codes = np.asarray(codes, dtype=np.int64)
        self.C = int(self.codes.max()) + 1

    def block(self, s: int, e: int):
        c = self.codes[s:e]
        m = e - s
        if m * self.C <= DENSE_ONEHOT_MAX:
            oh = np.zeros((m, self.C))
            oh[np.arange(m), c] = 1.0
            return oh
        from scipy.sparse import csr_matrix

        return csr_matrix((np.ones(m), c, np.arange(m + 1)), shape=(m, self.C))


class LSEState:
    """Online log-sum-exp state per (sample, time): a reference m, Σe^{E−m}, Σe^{2(E−m)}, class sums.

    The numpy path keeps m at the running maximum; the fused kernel keeps a reference that makes
    the sums representable (see :mod:`regimes.engines._fused`). ``finish`` and ``merge`` do not
    depend on which one it is."""

    def __init__(self, M, T, C, fast_exp: bool = False, engine: str = "numpy", floor: float = -np.inf):
        # engine: "numpy" (the numpy passes below) or "numba" (the fused kernel of
        # :mod:`regimes.engines._fused`, resolved by :func:`resolve_engine`)
        self.engine = engine
        # fast_exp: the weights e^{E−m} ≤ 1 are exponentiated in float32 (SIMD, about 3x faster,
        # relative error ~1e-7 per weight) and summed in float64; used with float32 products,
        # whose log-weights carry larger errors than that anyway
        self.fast_exp = fast_exp
        # floor: the fused kernel may skip log-weights below it (absolute); valid only when every
        # sample's complete sum has a term E = 0 (its μ = μ0 term): see negligible_below
        self.floor = float(floor)
        self.m = np.full((M, T), -np.inf)
        self.s1 = np.zeros((M, T))
        self.s2 = np.zeros((M, T))
        self.sc = np.zeros((M, T, C)) if C else None

    def update(self, G, D, vs, onehot):
        """Fold a block of columns in; rows (samples) are split across threads (numpy's
        elementwise kernels release the GIL), each thread owning its rows: deterministic."""
        M = G.shape[0]
        if self.engine == "numba":
            self._update_fused(G, D, vs, onehot)
            return
        k = THREADS if M >= 64 and G.size >= 200_000 else 1
        if k == 1:
            self._update(slice(0, M), G, D, vs, onehot)
            return
        cuts = np.linspace(0, M, k + 1).astype(int)
        sl = [slice(cuts[i], cuts[i + 1]) for i in range(k)]
        list(thread_pool().map(lambda s: self._update(s, G[s], D[s], vs, onehot), sl))

    def _classes(self, codes, columns: int):
        """(C, class sums array, perm, bounds, segment classes) of a block of ``columns`` for the fused kernel."""
        from ._fused import segments

        if self.sc is None:
            return (0, np.empty(self.m.shape + (0,)), *segments(np.zeros(columns, dtype=np.int64), 0))
        return (self.sc.shape[2], self.sc, *segments(np.asarray(codes, dtype=np.int64), self.sc.shape[2]))

    def _update_fused(self, G, D, vs, onehot):
        from ._fused import kernel

        G = np.ascontiguousarray(G, dtype=np.float64)
        D = np.ascontiguousarray(D, dtype=np.float64)
        C, sc, perm, bounds, segc = self._classes(None if self.sc is None else _codes_of(onehot), G.shape[1])
        fold, _ = kernel()
        fold(G, D, np.ascontiguousarray(vs, dtype=np.float64), perm, bounds, segc, C, self.fast_exp, self.floor,
             self.m, self.s1, self.s2, sc)

    def update_products(self, P, R, parts, vs, codes, Gout=None, Dout=None, col0=0, span=None):
        """Fold in a block given by its raw products (fused engine only): ``P = A0 Bᵀ``, ``R = Ξ Bᵀ``
        (C-contiguous; the block is their columns ``span = (first, count)``, default all) and
        ``parts = (|a0|², |b|², ξ·a0, scale, μ = μ0 column per sample or −1)``; (G, D) are assembled
        as ``mixture._gram`` does and written to columns ``col0:`` of ``Gout``/``Dout`` when given
        (which may be ``P``, ``R`` themselves, with ``span = (col0, count)``: converted in place)."""
        from ._fused import kernel

        a0sq, bsq, xia0, scale, zc = parts
        p0, c = (0, P.shape[1]) if span is None else span
        C, sc, perm, bounds, segc = self._classes(codes, c)
        empty = np.empty((0, 0))
        _, fold_products = kernel()
        fold_products(np.ascontiguousarray(P), np.ascontiguousarray(R), int(p0), int(c), a0sq, bsq, xia0, 1.0 / scale,
                      1.0 / (scale * scale), zc, np.ascontiguousarray(vs, dtype=np.float64), perm, bounds, segc, C,
                      self.fast_exp, self.floor, self.m, self.s1, self.s2, sc, empty if Gout is None else Gout,
                      empty if Dout is None else Dout, int(col0))

    def _update(self, rows, G, D, vs, onehot):
        # E_j = v_j G − ½ v_j² D for every time j; G, D are (m, c) float64
        m_, s1_, s2_ = self.m[rows], self.s1[rows], self.s2[rows]
        sc_ = None if self.sc is None else self.sc[rows]
        E, tmp = np.empty_like(G), np.empty_like(G)  # reused across times (no temporaries)
        W = np.empty(G.shape, dtype=np.float32) if self.fast_exp else E
        # overflow: log-weights below −1.8e308 (½v²D at t near MIN_TIME), or below −3.4e38 when cast
        # to a float32 W, become −inf: weight 0, as it should (a +inf one makes L non-finite: refused)
        with np.errstate(over="ignore"):
            for j, v in enumerate(vs):
                np.multiply(G, v, out=E)
                np.multiply(D, 0.5 * v * v, out=tmp)
                E -= tmp
                mx = E.max(axis=1)
                m_new = np.maximum(m_[:, j], mx)
                r = np.exp(m_[:, j] - m_new)  # exp(-inf) = 0 on the first block
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

    def merge(self, other: LSEState) -> LSEState:
        """Fold in another state over other columns (rows of the training set), exactly: ``m = max(m1, m2)``,
        ``s = s1 e^{m1−m} + s2 e^{m2−m}`` (Σw² with the squares of the factors, class sums as Σw). In place."""
        m = np.maximum(self.m, other.m)
        with np.errstate(invalid="ignore"):  # −inf − (−inf): a state with no column yet, factor 0
            r1 = np.where(np.isneginf(self.m), 0.0, np.exp(self.m - m))
            r2 = np.where(np.isneginf(other.m), 0.0, np.exp(other.m - m))
        self.s1 = self.s1 * r1 + other.s1 * r2
        self.s2 = self.s2 * (r1 * r1) + other.s2 * (r2 * r2)
        if self.sc is not None:
            self.sc = self.sc * r1[:, :, None] + other.sc * r2[:, :, None]
        self.m = m
        return self

    def finish(self):
        L = self.m + np.log(self.s1)
        phiC = self.s2 / self.s1**2
        phi = None if self.sc is None else np.sum(self.sc**2, axis=2) / self.s1**2
        return L, phiC, phi


def negligible_below(n: int) -> float:
    """``−(60 + ln n)``: with a term E = 0 in every sample's sum of n terms, the terms below this
    log-weight weigh less than e^{-60} ≈ 1e-26 of the sum together (far below a float64 ulp);
    the fused kernel skips the chunks of columns that lie entirely below it."""
    return -(60.0 + float(np.log(max(int(n), 1))))


def _codes_of(onehot) -> np.ndarray:
    """Class code per column of a block's one-hot matrix (dense or CSR), or of the codes themselves (1-D)."""
    if isinstance(onehot, np.ndarray) and onehot.ndim == 1:
        return onehot.astype(np.int64, copy=False)
    if isinstance(onehot, np.ndarray):
        return np.argmax(onehot, axis=1).astype(np.int64)
    return np.asarray(onehot.indices, dtype=np.int64)


def resolve_engine(engine: str) -> str:
    """``"numpy"`` or ``"numba"`` for a requested ``engine`` (``"auto"``: numba when importable)."""
    check_choice("engine", engine, ("auto", "numpy", "numba"), quoted=True)
    from . import _fused

    if engine == "auto":
        return "numba" if _fused.available() else "numpy"
    if engine == "numba" and not _fused.available():
        raise RegimesError("engine='numba' needs numba: pip install 'regimes[fast]'")
    return engine


def from_stored(G, D, vs, classes, fast_exp=False, rows=None, engine="numpy"):
    """Per-sample (lse, Σw², class sums²) at the time factors ``vs`` from stored (G, D) statistics."""
    M = G.shape[0]
    # numpy's passes need (rows × n) temporaries: pieces of 4e6 elements; the fused kernel none
    rows = rows or (M if engine == "numba" else max(1, min(M, 4_000_000 // max(1, G.shape[1]))))
    C = 0 if classes is None else classes.C
    # the fused kernel takes class codes; numpy's passes the one-hot matrix
    onehot = None if classes is None else (classes.codes if engine == "numba" else classes.block(0, G.shape[1]))
    L = np.empty((M, vs.size))
    pc = np.empty((M, vs.size))
    ph = None if onehot is None else np.empty((M, vs.size))
    for s in range(0, M, rows):
        e = min(M, s + rows)
        st = LSEState(e - s, vs.size, C, fast_exp, engine, negligible_below(G.shape[1]))
        st.update(G[s:e], D[s:e], vs, onehot)
        a, b, c = st.finish()
        L[s:e], pc[s:e] = a, b
        if ph is not None:
            ph[s:e] = c
    return L, pc, ph
