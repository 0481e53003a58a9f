"""Is a model memorising? Nearest-neighbour audit of generated samples against the training set.

For every generated sample x, the nearest and second-nearest training points a^(1), a^(2) are
found exactly (Euclidean, in the data's units) and two scores are reported:

* the **ratio test** ``r = |x − a^(1)| / |x − a^(2)|``; x counts as memorised when ``r < k``
  (k = 1/3 in arXiv 2505.17638 and arXiv 2310.02664); f_mem is the memorised fraction, with its
  exact (Clopper–Pearson) interval, and the whole distribution of r is reported. a^(2) is the
  nearest training point that is not a copy of a^(1) (a duplicated training image must not hide
  a copy of it);
* the **relative ℓ2 score** of Carlini et al. (arXiv 2301.13188),
  ``ℓ = |x − a^(1)| / (α · mean of |x − a^(j)| over the k nearest training points)``
  (α = 0.5, k = 50 as in public re-implementations), reported as a distribution: the paper's
  extraction threshold is not reproduced here, so there is no hard-coded cut.

A held-out set of real images measured against the same training set (``reference``) is the
baseline: a rate that unseen real data also show is not memorisation.

Algorithm
---------
Every computation is done in one frame: the rows relative to the training mean, subtracted in
float64, times s, a power of two that brings the training spread to O(1) (an exact scaling: it
changes no ratio, and no squared distance underflows for data around 1e-154 or overflows).
Distances come from blocked GEMMs in float32, ``|x|² + |a|² − 2x·a``, on these float64 rows
rounded once to float32 (queries and training rows alike, so both are in the same frame), TRAIN
streamed block by block from its :class:`~regimes.data.DataSource` (a ``.npy`` is memory-mapped and
read in blocks). Each sample keeps its K = max(carlini_k, 16) smallest float32 values and the
smallest value it discarded. The four best candidates are then re-computed exactly in float64 from
explicit differences; with ``δ = (2d + 8)·2⁻²⁴·(|x|² + max|a|²)``, a bound on the float32 error of
one squared distance (the rounding of the rows to float32 included), the result is certified when
every candidate not re-computed has a float32 value ≥ d2² + δ. Samples that fail it have all K
candidates re-computed exactly and are then certified against the smallest discarded value; the
few that still fail (ties between near-equal distances) are re-computed against the whole training
set in float64, and so is any sample whose distinct second neighbour turns out nearer than its
nearest (a failed certificate). The Carlini mean uses the exact values for the re-computed
candidates and the float32 ones for the rest of the k nearest.

Memory is bounded by ``memory_budget``: the generated set is processed in pieces and TRAIN is read
once per piece.

References
----------
.. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025).
.. [Gu] X. Gu et al., "On memorization in diffusion models", arXiv:2310.02664 (2023).
.. [Ca] N. Carlini et al., "Extracting training data from diffusion models", arXiv:2301.13188 (2023).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from ._errors import RegimesError, RegimesWarning
from ._stats import check_binomial, exact_binomial_interval
from ._validate import check_int, check_real, check_rng
from .data.source import DataSource, as_source, check_numeric, flatten_rows
from .estimate import Estimate
from .tables import ESTIMATE_COLUMNS, TableMixin, estimate_row

__all__ = ["DEFAULT_MEMORY_BUDGET", "QUANTILES", "MemorizationAudit", "NeighbourStats", "difference_interval",
           "fresh_sample_rate",
           "exact_binomial_interval", "memorization_audit", "nearest_training_points"]

#: default memory budget of the audit in bytes
DEFAULT_MEMORY_BUDGET = 1 << 30
#: quantile levels reported for the ratio and the Carlini score
QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
_U32 = 2.0**-24
_RECHECK = 4
_MIN_CANDIDATES = 16


# ----------------------------------------------------------------------------- inputs
class _Rows:
    """A set of query rows (generated or reference) in the training frame: ``s·(x − train mean)``,
    s the training set's working scale (a power of two: an exact scaling)."""

    def __init__(self, X, name, d, shift, scale=1.0):
        self.name = name
        self.scale = scale
        if isinstance(X, DataSource):
            self.src, self.arr = X, None
            self.n, self.d = X.n, X.d
            self.back = (np.asarray(X.mean, dtype=np.float64) if X.center else 0.0) - shift
        else:
            arr = np.asarray(X) if isinstance(X, np.ndarray) else _asarray(X, name)
            check_numeric(arr, name)
            if arr.ndim == 0 or arr.shape[0] == 0:
                raise RegimesError(f"{name} must have at least 1 row, got shape {arr.shape}")
            self.src, self.arr = None, flatten_rows(arr, name)
            self.n, self.d = self.arr.shape
            self.back = -shift
        if self.d != d:
            raise RegimesError(f"{name} must have the training set's dimension d = {d}, got d = {self.d}")

    def rows(self, s, e):
        """Rows ``s:e`` in the training frame (scaled), float64, checked finite."""
        if self.src is not None:
            x = self.src.block(s, e).astype(np.float64)
        else:
            x = np.asarray(self.arr[s:e], dtype=np.float64)
            if not np.all(np.isfinite(x)):
                i, j = np.argwhere(~np.isfinite(x))[0]
                raise RegimesError(f"{self.name} must be finite, got {x[i, j]!r} at row {s + i}, feature {j}")
        x = x + self.back
        if self.scale != 1.0:
            x *= self.scale
        return x


def _asarray(X, name):
    try:
        return np.asarray(X)
    except ValueError as exc:
        raise RegimesError(f"{name} must be a rectangular numeric array ({exc})") from None


# ----------------------------------------------------------------------------- neighbours
def _plan(m, n, d, K, budget):
    """(query rows per piece, training rows per block) within ``budget`` bytes. Per query row of a
    piece: its float64 and float32 copies and candidates (12d + 24K bytes) and the exact rows of
    its first candidates (8·_RECHECK·d); per training row of a block: its copies and distances."""
    per_query = (12 + 8 * _RECHECK) * d + 24 * K
    mp = max(1, min(m, budget // (4 * per_query)))
    while mp >= 1:
        r = (budget - mp * per_query) // (20 * d + 24 * mp)
        if r >= min(n, 64):
            return mp, int(min(n, r))
        if mp == 1:
            break
        mp //= 2
    need = per_query + min(n, 64) * (20 * d + 24)
    raise RegimesError(f"memory_budget of {budget} bytes ({budget / 2**20:.3g} MB) is too small for d = {d}; "
                       f"need at least {need} bytes ({need / 2**20:.3g} MB)")


class _Train:
    """The training set seen by the audit, in one frame for every computation: ``s·(a − mean)``,
    the rows relative to the training mean (subtracted in float64) times s = the source's
    working scale, a power of two (exact: it changes no ratio, and no square underflows or
    overflows). Float32 working blocks are these float64 rows rounded once to float32, so the
    queries (rounded the same way) and the training rows are in the same frame."""

    def __init__(self, src):
        self.src = src
        self.n, self.d = src.n, src.d
        self.scale = src.working_scale
        self.shift = np.asarray(src.mean, dtype=np.float64)  # processed units: rows relative to it
        self.wshift = np.asarray(src.working_shift, dtype=np.float64)
        self.bmax = math.inf  # max |a|² in the frame, set by the first pass over the float32 blocks
        self.sq_sum = math.nan  # Σ |a|² in the frame (float32 rows), from the same pass

    def exact(self, idx):
        """Rows ``idx`` in the frame, float64."""
        return self.rel(self.src.take(idx))

    def rel(self, B, out=None):
        """Processed rows ``B`` in the frame, float64 (a centred source's rows are already centred);
        ``out``: a float64 buffer of B's shape to write them into."""
        if out is None:
            A = B.astype(np.float64)
            A -= self.wshift
        else:
            A = np.subtract(B, self.wshift, out=out)  # the same bits: B as float64, minus the shift
        if self.scale != 1.0:
            A *= self.scale
        return A

    def blocks32(self, rows):
        """``(start, stop, float32 rows, their squared norms)``; a full pass sets ``bmax``, ``sq_sum``."""
        top, total = 0.0, 0.0
        A64 = B32buf = None  # the pass's buffers: the consumer drops each block before the next
        for s, e, B in self.src.blocks(rows, reuse=True):
            c = e - s
            if A64 is None:
                A64, B32buf = np.empty(B.shape, np.float64), np.empty(B.shape, np.float32)
            A = self.rel(B, out=A64[:c])
            B32 = B32buf[:c]
            B32[...] = A
            bsq = np.einsum("ij,ij->i", B32, B32, dtype=np.float64)
            top, total = max(top, float(bsq.max())), total + float(bsq.sum())
            yield s, e, B32, bsq
        # |fl32(a)|² ≥ |a|²(1 − 2⁻²⁴)² − rounding of the sum: a relative margin of 2⁻²⁰ covers both
        self.bmax, self.sq_sum = top * (1.0 + 2.0**-20), total

    def rms(self):
        """``√mean|a − mean|²`` in the data's units (from the exact norms unless they underflow)."""
        sq = self.src.centred_sq_norms
        m = float(np.mean(sq))
        if m > 1e-280 or not math.isfinite(self.sq_sum):
            return math.sqrt(m)
        return math.sqrt(self.sq_sum / self.n) / self.scale


def _candidates(P, train, K, rows):
    """K smallest float32 squared distances per row of P (frame units) and the smallest discarded."""
    P32 = P.astype(np.float32)
    psq = np.einsum("ij,ij->i", P32, P32, dtype=np.float64).astype(np.float32)
    m = P.shape[0]
    cd = np.full((m, 0), np.inf, dtype=np.float32)
    ci = np.zeros((m, 0), dtype=np.int64)
    excl = np.full(m, np.inf, dtype=np.float32)
    ar = np.arange(m)[:, None]
    for s, e, B32, bsq in train.blocks32(rows):
        D = P32 @ B32.T
        D *= -2.0
        D += psq[:, None]
        D += bsq.astype(np.float32)[None, :]
        if D.shape[1] > K:  # the block's own K best first: no (m, rows) index matrix
            part = np.argpartition(D, K, axis=1)
            excl = np.minimum(excl, D[ar[:, 0], part[:, K]])
            part = part[:, :K]
            D, J = D[ar, part], part + s
        else:
            J = np.broadcast_to(np.arange(s, e), D.shape)
        cd, ci, excl = _merge(cd, ci, D, J, K, excl)
    order = np.argsort(cd, axis=1, kind="stable")
    return cd[ar, order].astype(np.float64), ci[ar, order], excl.astype(np.float64)


def _merge(cd, ci, D, J, K, excl):
    """The K smallest of two candidate lists per row, and the smallest value dropped."""
    C = np.concatenate([cd, D], axis=1)
    I = np.concatenate([ci, J], axis=1)
    if C.shape[1] <= K:
        return C, I, excl
    ar = np.arange(C.shape[0])[:, None]
    part = np.argpartition(C, K, axis=1)
    excl = np.minimum(excl, C[ar[:, 0], part[:, K]])
    part = part[:, :K]
    return C[ar, part], I[ar, part], excl


def _exact_sq(P, A_rows, idx):
    """Exact float64 squared distances |P_i − A[idx_ij]|² from explicit differences."""
    out = np.empty(idx.shape)
    for j in range(idx.shape[1]):
        diff = P - A_rows[idx[:, j]]
        out[:, j] = np.einsum("ij,ij->i", diff, diff)
    return out


def _explicit_sq(P, A):
    """(m, rows) squared distances ``|p_i − a_j|²`` of the rows of P to the rows of A, float64 from
    explicit differences (no cancellation of |p|² + |a|² − 2p·a)."""
    D = np.empty((P.shape[0], A.shape[0]))
    for i, p in enumerate(P):
        diff = A - p
        D[i] = np.einsum("ij,ij->i", diff, diff)
    return D


def _full_exact(P, train, K, rows):
    """K nearest of each row of P against all training rows, float64 explicit differences."""
    m = P.shape[0]
    best_d = np.full((m, 0), np.inf)
    best_i = np.zeros((m, 0), dtype=np.int64)
    ar = np.arange(m)[:, None]
    for s, e, B in train.src.blocks(rows):
        D = _explicit_sq(P, train.rel(B))
        C = np.concatenate([best_d, D], axis=1)
        I = np.concatenate([best_i, np.broadcast_to(np.arange(s, e), (m, e - s))], axis=1)
        part = np.argsort(C, axis=1, kind="stable")[:, :K]
        best_d, best_i = C[ar, part], I[ar, part]
    return best_d, best_i


def _neighbours_piece(P, train, K, rows):
    """(sorted squared distances (m, K), indices (m, K), rows re-computed in full) for one piece."""
    cd, ci, excl = _candidates(P, train, K, rows)
    R = min(_RECHECK, K)
    uniq, inv = np.unique(ci[:, :R], return_inverse=True)
    ex = _exact_sq(P, train.exact(uniq), inv.reshape(-1, R))
    o = np.argsort(ex, axis=1, kind="stable")
    ar = np.arange(P.shape[0])[:, None]
    cd[:, :R], ci[:, :R] = ex[ar, o], ci[:, :R][ar, o]
    rest = np.minimum(excl, cd[:, R] if K > R else np.inf)
    delta = (2 * train.d + 8) * _U32 * (np.einsum("ij,ij->i", P, P) + train.bmax)
    bad = np.nonzero(rest < cd[:, min(1, K - 1)] + delta)[0]
    if bad.size and K > R:  # second tier: every candidate of those rows exactly
        uniq, inv = np.unique(ci[bad], return_inverse=True)
        ex = _exact_sq(P[bad], train.exact(uniq), inv.reshape(bad.size, K))
        o = np.argsort(ex, axis=1, kind="stable")
        arb = np.arange(bad.size)[:, None]
        cd[bad], ci[bad] = ex[arb, o], ci[bad][arb, o]
        bad = bad[excl[bad] < cd[bad, 1] + delta[bad]]
    if bad.size:
        fd, fi = _full_exact(P[bad], train, K, rows)
        cd[bad], ci[bad] = fd, fi
    order = np.argsort(cd, axis=1, kind="stable")
    return cd[ar, order], ci[ar, order], int(bad.size)


def nearest_training_points(X, train, *, k: int = 2, memory_budget: int = DEFAULT_MEMORY_BUDGET):
    """The ``k`` nearest training points of every row of ``X`` (exact, see the module docstring).

    Returns ``(distances, indices, recomputed)``: (m, k) Euclidean distances (the first
    ``min(k, 4)`` exact in float64) and training-row indices, sorted by distance, and the number of
    rows that needed a full float64 pass. ``X`` and ``train`` are arrays or sources.
    """
    tsrc = train if isinstance(train, DataSource) else as_source(train, center=False, name="train")
    tr = _Train(tsrc)
    q = _Rows(X, "X", tsrc.d, tr.shift, tr.scale)
    k = check_int("k", k, ge=1, le=tsrc.n)
    budget = check_int("memory_budget", memory_budget, ge=1 << 20)
    return _search(q, tr, k, budget)[:3]


def _search(q, tr, K, budget, keep=None, mean_of=None):
    """``(distances, indices, rows re-computed in full, |x − train mean|² (frame), distinct second,
    mean of the set (frame), mean distance)``: the ``keep`` (default K) nearest of every query row among K
    candidates; per row the distance and index of the nearest training point that is not a copy of
    the nearest one, with its number of copies (see :func:`_distinct_second`); and, with
    ``mean_of = k``, the mean distance to the k nearest (None otherwise). Only ``keep`` columns
    are kept across pieces, so the memory stays within the budget for any number of rows.

    Everything is computed in the frame of :class:`_Train`; the distances are returned in the
    data's units (divided by the power-of-two scale: exact), the squared norms and the mean in the
    frame. A distinct second neighbour found nearer than the nearest one means that the float32
    certificate failed: such rows are re-computed in float64 against the whole training set."""
    keep = K if keep is None else keep
    mp, rows = _plan(q.n, tr.n, tr.d, K, budget)
    D = np.empty((q.n, keep))
    I = np.empty((q.n, keep), dtype=np.int64)
    D2, I2, copies = np.empty(q.n), np.empty(q.n, dtype=np.int64), np.zeros(q.n, dtype=np.int64)
    mk = None if mean_of is None else np.empty(q.n)
    redo = 0
    sq = np.empty(q.n)
    mean = np.zeros(tr.d)
    for s in range(0, q.n, mp):
        e = min(q.n, s + mp)
        P = q.rows(s, e)
        sq[s:e] = np.einsum("ij,ij->i", P, P)
        mean += P.sum(axis=0)
        cd, ci, r = _neighbours_piece(P, tr, K, rows)
        d2, i2, cp = _distinct_second(P, tr, cd, ci, rows)
        bad = np.nonzero(d2 < cd[:, 0])[0]
        if bad.size:  # the second nearer than the first: the certificate failed, recompute exactly
            cd[bad], ci[bad] = _full_exact(P[bad], tr, K, rows)
            d2[bad], i2[bad], cp[bad] = _distinct_second(P[bad], tr, cd[bad], ci[bad], rows)
            r += int(bad.size)
        D2[s:e], I2[s:e], copies[s:e] = d2, i2, cp
        cd = np.sqrt(np.maximum(cd, 0.0))
        D[s:e], I[s:e] = cd[:, :keep], ci[:, :keep]
        if mk is not None:
            mk[s:e] = cd[:, :mean_of].mean(axis=1)
        redo += r
    inv = 1.0 / tr.scale  # a power of two: exact
    dist = (np.sqrt(np.maximum(D2, 0.0)) * inv, I2, copies)
    return D * inv, I, redo, sq, dist, mean / q.n, None if mk is None else mk * inv


def _distinct_second(P, train, cd, ci, rows_per_block):
    """Per row of P: the squared distance and index of the nearest candidate that is not a copy
    (the same row, bit for bit) of the nearest training point, and how many copies of it the
    candidates hold (0: none).

    Copies tie with the nearest one bit for bit (the exact float64 values come from the same
    explicit differences), so only tied rows are looked at. When every candidate is a copy, the
    nearest distinct point is found in one float64 pass over the training set for those rows."""
    copies = np.zeros(P.shape[0], dtype=np.int64)
    if cd.shape[1] < 2:  # (nearest_training_points with k = 1)
        return cd[:, 0].copy(), ci[:, 0].copy(), copies
    d2, i2 = cd[:, 1].copy(), ci[:, 1].copy()
    tied = np.nonzero(cd[:, 1] == cd[:, 0])[0]
    beyond = []  # (row, its nearest training row) where every candidate is a copy of the nearest
    for s in range(0, tied.size, 64):
        rows = tied[s:s + 64]
        uniq, inv = np.unique(ci[rows], return_inverse=True)
        A = train.exact(uniq)
        inv = inv.reshape(rows.size, -1)
        ex = _exact_sq(P[rows], A, inv)
        for r, row in enumerate(rows):
            same = np.all(A[inv[r]] == A[inv[r, 0]], axis=1)
            copies[row] = int(same.sum()) - 1
            if not same.all():
                j = np.flatnonzero(~same)[np.argmin(ex[r][~same])]
                d2[row], i2[row] = ex[r, j], ci[row, j]
            else:  # more copies than candidates: looked for beyond them, below (one pass for all such rows)
                beyond.append((row, A[inv[r, 0]]))
    if beyond:
        at = np.array([row for row, _ in beyond])
        d2[at], i2[at], copies[at] = _nearest_distinct(P[at], np.stack([a for _, a in beyond]), train,
                                                       rows_per_block)
    return d2, i2, copies


def _nearest_distinct(P, A0, train, rows):
    """Per row ``p`` of ``P``: (squared distance, index) of the training row nearest to ``p``
    among those that differ from the matching row ``a0`` of ``A0``, and the number of copies of
    ``a0`` besides itself — for every row in one float64 pass (explicit differences)."""
    m = P.shape[0]
    best, where, same = np.full(m, np.inf), np.full(m, -1, dtype=np.int64), np.zeros(m, dtype=np.int64)
    for s, _, B in train.src.blocks(rows):
        A = train.rel(B)
        D = _explicit_sq(P, A)
        for r in range(m):
            eq = np.all(A == A0[r], axis=1)
            same[r] += int(eq.sum())
            D[r, eq] = np.inf
            j = int(np.argmin(D[r]))
            if D[r, j] < best[r]:
                best[r], where[r] = float(D[r, j]), s + j
    # every training row a copy (the training set has two distinct rows: not reached): distance 0, index −1
    best[where < 0] = 0.0
    return best, where, same - 1


# ----------------------------------------------------------------------------- results
def _quantiles(x):
    return {f"{p:g}": float(np.quantile(x, p)) for p in QUANTILES}


@dataclass(frozen=True)
class NeighbourStats:
    """Nearest-neighbour statistics of one set (generated or reference) against TRAIN.

    Attributes
    ----------
    f_mem : Estimate
        Fraction with ``ratio < threshold``, exact (Clopper–Pearson) interval (``se`` binomial).
    nearest, second : ndarray of int
        Index of the nearest and second-nearest training point of each sample.
    d1, d2, ratio, carlini : ndarray of float
        Distances, ``d1/d2`` and the relative ℓ2 score of each sample.
    rms : float
        ``√mean|x − train mean|²`` of the set (its scale).
    recomputed : int
        Samples whose neighbours needed a full float64 pass.
    duplicated_nearest : int
        Samples whose nearest training point has copies in the training set (bit-identical rows):
        their second neighbour is the nearest training point that is not a copy.
    offset, spread : float
        ``|mean(x) − train mean|`` and ``√mean|x − mean(x)|²``: the set's location and scale.
    units_mismatch : bool
        The set's location or scale does not match the training set's (a units mismatch, see
        :func:`memorization_audit`): its f_mem is then not meaningful.
    """

    n: int
    f_mem: Estimate
    nearest: np.ndarray = field(repr=False)
    second: np.ndarray = field(repr=False)
    d1: np.ndarray = field(repr=False)
    d2: np.ndarray = field(repr=False)
    ratio: np.ndarray = field(repr=False)
    carlini: np.ndarray = field(repr=False)
    rms: float = math.nan
    recomputed: int = 0
    duplicated_nearest: int = 0
    offset: float = math.nan
    spread: float = math.nan
    units_mismatch: bool = False

    @property
    def ratio_quantiles(self) -> dict:
        return _quantiles(self.ratio)

    @property
    def carlini_quantiles(self) -> dict:
        return _quantiles(self.carlini)

    def per_sample(self) -> dict:
        """Columns ``index, nearest, second, d1, d2, ratio, carlini`` (one entry per sample)."""
        return {"index": np.arange(self.n), "nearest": self.nearest, "second": self.second, "d1": self.d1,
                "d2": self.d2, "ratio": self.ratio, "carlini": self.carlini}

    def to_dict(self) -> dict:
        return {"n": self.n, "f_mem": self.f_mem.to_dict(), "ratio_quantiles": self.ratio_quantiles,
                "carlini_quantiles": self.carlini_quantiles, "rms": self.rms, "offset": self.offset,
                "spread": self.spread, "exact_recomputed_rows": self.recomputed,
                "duplicated_nearest": self.duplicated_nearest, "units_mismatch": self.units_mismatch}


@dataclass(frozen=True)
class MemorizationAudit(TableMixin):
    """Result of :func:`memorization_audit`; ``to_dict()`` for JSON."""

    generated: NeighbourStats
    reference: NeighbourStats | None
    threshold: float
    n_train: int
    d: int
    carlini_alpha: float
    carlini_k: int
    bootstrap: int
    confidence: float
    train_rms: float
    notes: tuple = ()

    @property
    def f_mem(self) -> Estimate:
        return self.generated.f_mem

    @property
    def f_mem_meaningful(self) -> bool:
        """False when the generated set's units do not look like the training set's (its f_mem then
        compares distances in different units: not meaningful)."""
        return not self.generated.units_mismatch

    @property
    def f_mem_excess_meaningful(self) -> bool:
        """False when either set's units do not look like the training set's."""
        return not (self.generated.units_mismatch or (self.reference is not None and self.reference.units_mismatch))

    @property
    def f_mem_excess(self) -> Estimate | None:
        """``f_mem(generated) − f_mem(reference)`` with Newcombe's hybrid score interval
        (:func:`difference_interval`); None without a reference."""
        g, r = self.generated, self.reference
        if r is None:
            return None
        x1, x2 = g.f_mem.details["count"], r.f_mem.details["count"]
        value = g.f_mem.value - r.f_mem.value
        se = math.sqrt(g.f_mem.se**2 + r.f_mem.se**2)
        ci = difference_interval(x1, g.n, x2, r.n, self.confidence) if self.bootstrap else _NAN2
        return Estimate(value, se=se, ci=ci, definition=EXCESS_DEFINITION if self.bootstrap else
                        "f_mem(generated) − f_mem(reference); no interval (bootstrap=0)")

    def as_table(self):
        """``(title, columns, rows)``: f_mem (generated, reference, excess) and the sizes, for
        notebooks (``_repr_html_``) and ``to_frame()``."""
        g, r, nan = self.generated, self.reference, math.nan

        def caveat(ok):
            return "" if ok else f" — {NOT_MEANINGFUL}"

        rows = [estimate_row("f_mem", g.f_mem, g.f_mem.definition + caveat(self.f_mem_meaningful))]
        if r is not None:
            ex = self.f_mem_excess
            rows += [estimate_row("f_mem (held-out reference)", r.f_mem,
                                  r.f_mem.definition + caveat(not r.units_mismatch)),
                     estimate_row("f_mem excess", ex, ex.definition + caveat(self.f_mem_excess_meaningful))]
        rows += [("threshold k", self.threshold, nan, nan, nan, "ratio test d1/d2 < k"),
                 ("n_generated", g.n, nan, nan, nan, None), ("n_train", self.n_train, nan, nan, nan, None),
                 ("d", self.d, nan, nan, nan, None)]
        return "memorization audit", ESTIMATE_COLUMNS, rows

    def to_dict(self) -> dict:
        g = self.generated
        out = {
            "f_mem": g.f_mem.to_dict(), "threshold": self.threshold, "ratio_quantiles": g.ratio_quantiles,
            "f_mem_meaningful": self.f_mem_meaningful,
            "fresh_sample_rate": fresh_sample_rate(self.threshold, self.d),
            "carlini": {"alpha": self.carlini_alpha, "k": self.carlini_k, "quantiles": g.carlini_quantiles,
                        "mean": float(np.mean(g.carlini)),
                        "definition": "d1 / (alpha * mean distance to the k nearest training points)"},
            "n_generated": g.n, "n_train": self.n_train, "d": self.d,
            "bootstrap": self.bootstrap, "interval": INTERVAL_TEXT if self.bootstrap else "none (bootstrap = 0)",
            "confidence": self.confidence,
            "scale": {"train_rms": self.train_rms, "generated_rms": g.rms},
            "exact_recomputed_rows": g.recomputed, "duplicated_nearest": g.duplicated_nearest,
            "reference": None if self.reference is None else self.reference.to_dict(),
            "notes": list(self.notes),
        }
        if not self.bootstrap:  # no interval by request: null ends, not NaN (no "non-finite" warning)
            out["f_mem"]["ci"] = [None, None]
            if out["reference"] is not None:
                out["reference"]["f_mem"]["ci"] = [None, None]
        if not self.f_mem_meaningful:
            out["f_mem_caveat"] = NOT_MEANINGFUL
        if self.reference is not None:
            ex = self.f_mem_excess
            out["scale"]["reference_rms"] = self.reference.rms
            out["f_mem_excess"] = ex.value
            out["f_mem_excess_ci"] = None if not self.bootstrap else list(ex.ci)
            out["f_mem_excess_definition"] = ex.definition
            out["f_mem_excess_meaningful"] = self.f_mem_excess_meaningful
        return out


#: range of α of the relative ℓ2 score (the score is at most about 1/α: finite)
MIN_CARLINI_ALPHA, MAX_CARLINI_ALPHA = 1e-12, 1e12
#: what the ``bootstrap`` parameter switches on (no resampling is done)
INTERVAL_TEXT = ("exact Clopper–Pearson binomial interval of f_mem (no resampling: 'bootstrap' > 0 only "
                 "switches the interval on; the name is kept for old scripts)")
#: the interval of ``f_mem_excess``
EXCESS_DEFINITION = ("f_mem(generated) − f_mem(reference); Newcombe's hybrid score interval (Wilson intervals "
                     "of the two proportions combined, Newcombe 1998, method 10)")
#: the caveat attached to f_mem when the units do not match
NOT_MEANINGFUL = ("not meaningful: the sets' location or scale do not match the training set's (units "
                  "mismatch?); the distances compare different units")


def _stats(q, tr, K, budget, threshold, alpha, ck, B, conf):
    D, I, redo, sq, (d2, i2, copies), mean, mk = _search(q, tr, K, budget, keep=1, mean_of=ck)
    d1 = D[:, 0]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        ratio = np.where(d2 > 0, d1 / d2, 0.0)
        carl = np.where(mk > 0, d1 / (alpha * mk), 0.0)
    mem = ratio < threshold
    count = int(mem.sum())
    p = count / q.n
    interval = ("exact (Clopper–Pearson) interval" if B else "no interval (bootstrap=0)")
    f = Estimate(p, se=math.sqrt(p * (1 - p) / q.n), ci=exact_binomial_interval(count, q.n, conf) if B else _NAN2,
                 definition=f"fraction of samples with d1/d2 < {threshold:g}; {interval}",
                 details={"count": count})
    inv = 1.0 / tr.scale  # sq and mean are in the audit's frame (a power-of-two scale: exact)
    off = float(np.linalg.norm(mean))
    spread = math.sqrt(max(float(sq.mean()) - off * off, 0.0)) * inv
    return NeighbourStats(q.n, f, I[:, 0], i2, d1, d2, ratio, carl, math.sqrt(float(sq.mean())) * inv, redo,
                          int(np.count_nonzero(copies)), off * inv, spread)


_NAN2 = (math.nan, math.nan)


def difference_interval(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> tuple:
    """Newcombe's hybrid score interval of ``x1/n1 − x2/n2`` (two independent binomial proportions).

    Method 10 of R. G. Newcombe, *Statistics in Medicine* 17:873 (1998): with (l_i, u_i) the Wilson
    score intervals (no continuity correction) of p_i = x_i/n_i,
    ``[p1 − p2 − √((p1 − l1)² + (u2 − p2)²), p1 − p2 + √((u1 − p1)² + (p2 − l2)²)]``, clipped to
    [−1, 1]. Its coverage is close to nominal (unlike the Wald interval) down to counts of 0.
    ``n1``, ``n2`` are integers >= 1, ``x1``, ``x2`` integers in [0, n1], [0, n2], ``confidence``
    in (0, 1) (a RegimesError otherwise).

    Returns
    -------
    tuple of float
        ``(low, high)``.
    """
    from statistics import NormalDist

    x1, n1, confidence = check_binomial("x1", x1, "n1", n1, confidence)
    x2, n2, confidence = check_binomial("x2", x2, "n2", n2, confidence)
    z = NormalDist().inv_cdf(0.5 + 0.5 * confidence)

    def wilson(x, n):
        p = x / n
        den = 1.0 + z * z / n
        mid = (p + z * z / (2 * n)) / den
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
        return p, max(0.0, mid - half), min(1.0, mid + half)

    p1, l1, u1 = wilson(x1, n1)
    p2, l2, u2 = wilson(x2, n2)
    diff = p1 - p2
    return (max(-1.0, diff - math.hypot(p1 - l1, u2 - p2)), min(1.0, diff + math.hypot(u1 - p1, p2 - l2)))


def memorization_audit(generated, train, *, reference=None, k: float = 1 / 3, bootstrap: int = 1000,
                       confidence: float = 0.95, carlini_alpha: float = 0.5, carlini_k: int | None = None, rng=0,
                       memory_budget: int = DEFAULT_MEMORY_BUDGET) -> MemorizationAudit:
    """Nearest-neighbour memorisation audit of generated samples (see the module docstring).

    Parameters
    ----------
    generated : DataSource or array_like, shape (m, d)
        Generated samples, in the units the model was trained in (trailing axes flattened).
    train : DataSource or array_like, shape (n, d)
        Training set (n ≥ 2; an array is taken as given). A ``.npy`` source is streamed.
    reference : DataSource or array_like, optional
        Held-out real samples: the baseline, audited with the same statistics.
    k : float
        Ratio threshold, 0 < k < 1 (default 1/3 [WM], [Gu]).
    bootstrap : int
        Kept for old scripts; no bootstrap is done. 0: no interval for f_mem (nor for the excess);
        any positive value: the exact Clopper–Pearson interval of f_mem
        (:func:`exact_binomial_interval`) and Newcombe's interval of the excess over the reference
        (:func:`difference_interval`). A percentile bootstrap of the count (used before) under-covered
        at small rates (63% for a nominal 95% at f = 0.001, n = 1000) and collapsed to [0, 0]
        when no sample was flagged.
    confidence : float
        Level of the interval.
    carlini_alpha, carlini_k : float, int
        α and k of the relative ℓ2 score [Ca] (α in [1e-12, 1e12]; k ≤ n; default k = min(50, n),
        with a note when capped).
    rng : int or Generator
        Accepted for compatibility and validated; unused since the interval is exact (it seeded a
        percentile bootstrap before).
    memory_budget : int
        Approximate bytes the audit may use (pieces of the generated set and blocks of TRAIN).

    Returns
    -------
    MemorizationAudit

    Notes
    -----
    Distances are translation invariant; every set is expressed relative to the training mean
    (a :class:`DataSource` built with ``center=True`` is un-centred first). A
    :class:`RegimesWarning` is issued when a set's mean lies more than half the training RMS
    spread from the training mean, or its RMS spread differs by more than a factor 2 (a units
    mismatch, e.g. [0, 1] against [−1, 1]); that set's ``units_mismatch`` is then set and f_mem
    (and the excess over the baseline) is marked not meaningful (``f_mem_meaningful``, a note,
    ``f_mem_caveat`` in the JSON). Training rows that are copies of each other (identical
    rows) do not hide a memorised sample: the second neighbour is the nearest training point that
    is not a copy of the nearest one (rows equal bit for bit; near-duplicates are distinct points).
    """
    threshold = check_real("k", k, gt=0.0, lt=1.0)
    B = check_int("bootstrap", bootstrap, ge=0, le=100_000)
    conf = check_real("confidence", confidence, gt=0.0, lt=1.0)
    # bounded: ℓ = d1/(α·mean) <= 1/α must stay finite (α = 1e-320 gave inf), and α·mean must not overflow
    alpha = check_real("carlini_alpha", carlini_alpha, ge=MIN_CARLINI_ALPHA, le=MAX_CARLINI_ALPHA)
    budget = check_int("memory_budget", memory_budget, ge=1 << 20)
    check_rng(rng)
    tsrc = train if isinstance(train, DataSource) else as_source(_nonempty(train, "train"), center=False, name="train")
    ck = min(50, tsrc.n) if carlini_k is None else check_int("carlini_k", carlini_k, ge=1, le=tsrc.n)
    tr = _Train(tsrc)
    qg = _Rows(generated, "generated", tsrc.d, tr.shift, tr.scale)
    qr = None if reference is None else _Rows(reference, "reference", tsrc.d, tr.shift, tr.scale)
    K = min(tsrc.n, max(ck, _MIN_CANDIDATES))
    args = (tr, K, budget, threshold, alpha, ck, B, conf)
    g = _stats(qg, *args)
    r = None if qr is None else _stats(qr, *args)
    train_rms = tr.rms()
    notes = []
    if carlini_k is None and ck < 50:
        notes.append(f"Carlini k = {ck}: the default k = 50 is capped at the number of training points n = {tsrc.n}")
    for name, st in (("generated", g), ("reference", r)):
        msg = None if st is None else _units_mismatch(name, st, train_rms, tsrc.n)
        if msg:
            warnings.warn(msg, RegimesWarning, stacklevel=2)
            notes.append(msg + f"; f_mem is marked {NOT_MEANINGFUL}")
            if name == "generated":
                g = replace(g, units_mismatch=True)
            else:
                r = replace(r, units_mismatch=True)
    low_d = _low_dimension_note(threshold, tsrc.d, r is not None)
    if low_d:
        notes.append(low_d)
    for name, st in (("generated", g), ("reference", r)):
        if st is not None and st.duplicated_nearest:
            notes.append(f"{st.duplicated_nearest} of the {st.n} {name} samples have a nearest training point "
                         "that appears more than once in the training set (identical rows): their second "
                         "neighbour is the nearest training point that is not a copy of it")
    return MemorizationAudit(g, r, threshold, tsrc.n, tsrc.d, alpha, ck, B, conf, train_rms, tuple(notes))


#: above this fresh-sample rate k^d, the audit notes that the ratio test flags fresh samples too
FRESH_RATE_NOTE = 0.01


def fresh_sample_rate(threshold: float, d: int) -> float:
    """The fraction of *fresh* samples (new draws from the training distribution, no copying) that
    the ratio test ``d1/d2 < k`` flags, for a smooth density and many training points: ``k^d``.

    Notes
    -----
    Near a fresh sample the training points are locally a Poisson process of constant intensity,
    so the volumes of the balls to the first and second neighbours are those of the first two
    points of a homogeneous process on a line: ``(d1/d2)^d`` is uniform on [0, 1], and
    ``P(d1/d2 < k) = k^d`` (1/3, 1/9, 1/27 for k = 1/3 at d = 1, 2, 3). In the dimensions of images
    it is negligible; at small d the test is not evidence of copying without a held-out reference.
    """
    return float(threshold) ** int(d)


def _low_dimension_note(threshold, d, has_reference) -> str | None:
    """The note when the ratio test flags a noticeable share of fresh samples (``k^d`` above
    :data:`FRESH_RATE_NOTE`), or None."""
    rate = fresh_sample_rate(threshold, d)
    if rate <= FRESH_RATE_NOTE:
        return None
    return (f"d = {d}: in so few dimensions the ratio test flags fresh samples too — a new draw from the training "
            f"distribution has d1/d2 < {threshold:g} with probability about k^d = {rate:.3g} "
            "(fresh_sample_rate), so f_mem alone is not evidence of copying"
            + ("; compare with the held-out reference's f_mem (the excess)" if has_reference else
               "; compare with a held-out reference (reference=, --reference): f_mem_excess"))


def _nonempty(X, name):
    """``X`` as an array, refused (one line) when it has no rows — before any reshape of its trailing axes."""
    arr = _asarray(X, name)
    if arr.ndim >= 1 and arr.shape[0] == 0:
        raise RegimesError(f"{name} must have at least 2 rows (training points), got shape {arr.shape}")
    return arr


def _units_mismatch(name, st, train_rms, n_train):
    """A message when a set's location or scale does not look like the training set's (a units
    mismatch: [0, 1] or [0, 255] against [−1, 1]), else None. Location: the distance of its mean
    from the training mean beyond three times the sampling noise of the two means
    (√(spread²/m + rms²/n)), against the training set's RMS spread (> 0.5); scale: the ratio of
    the RMS spreads about each set's own mean (outside [0.5, 2]). Not when the median sample lies
    within a tenth of that spread of a training point (copies, mode collapse: the units match)."""
    if not train_rms > 0 or np.median(st.d1) < 0.1 * train_rms:  # samples sitting on training points
        return None  # are in the training units (a set collapsed onto a few images is not a units error)
    noise = 3.0 * math.sqrt(st.spread**2 / st.n + train_rms**2 / n_train)
    moved, ratio = st.offset / train_rms, st.spread / train_rms
    # the spread of m samples about their own mean is √((m − 1)/m) of theirs: corrected, and no
    # spread test for a single sample (its spread is 0 whatever its units)
    scale_ok = st.n == 1 or 0.5 <= ratio * math.sqrt(st.n / (st.n - 1)) <= 2.0
    if (st.offset - noise) / train_rms <= 0.5 and scale_ok:
        return None
    return (f"{name} and train differ in location or scale: the {name} mean lies {st.offset:.4g} from the "
            f"training mean ({moved:.3g} × the training RMS spread {train_rms:.4g}), spreads {st.spread:.4g} vs "
            f"{train_rms:.4g} (ratio {ratio:.3g}); are both in the same units?")
