"""Covariance eigenvalues without forming the d×d matrix.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024): t_S = ½ ln Λ with Λ the top covariance eigenvalue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._buffers import large_empty, selected_rows
from .._errors import RegimesError
from .._stats import linearised_replicates
from .._validate import MAX_BOOTSTRAP, as_real_array, check_bool, check_choice, check_int, check_real, check_rng
from ..data.source import as_source, to_working
from ..distributed import active, map_working

__all__ = ["ClassGrams", "EigenResult", "ProjectionRider", "RowProjector", "class_grams", "covariance_spectrum",
           "row_projections", "top_eigenvalues", "DENSE_COVARIANCE_MAX_D"]

#: largest d for which :func:`covariance_spectrum` forms C and calls ``eigvalsh``
DENSE_COVARIANCE_MAX_D = 4096


@dataclass(frozen=True)
class EigenResult:
    """Top eigenvalues of the centred covariance (descending) with bootstrap standard errors.

    ``se`` and ``replicates`` are None when no bootstrap was requested; ``n_used`` is the number
    of rows used (smaller than n with ``subsample``); ``matvecs`` counts operator applications.
    """

    values: np.ndarray
    se: np.ndarray | None
    replicates: np.ndarray | None
    n_used: int
    matvecs: int


@dataclass(frozen=True)
class ClassGrams:
    """Per-class row counts, column sums and Gram sums ``Σ x xᵀ`` of a labelled source (one pass).

    The rows are the source's processed rows minus its working shift ``shift`` (zero when the
    source centres them), in float64: for a centred source the sums of the processed rows
    themselves. ``classes`` lists the class indices held (in the source's label order), ``counts``,
    ``sums`` (K, d) and ``grams`` (K, d, d) their statistics in that order.
    """

    classes: tuple[int, ...]
    counts: np.ndarray
    sums: np.ndarray
    grams: np.ndarray
    shift: np.ndarray

    def group(self, c: int) -> tuple[int, np.ndarray, np.ndarray]:
        """``(n, Σx, Σxxᵀ)`` of class ``c`` (a source label index), or of all the classes held for -1."""
        if c == -1:
            return int(self.counts.sum()), self.sums.sum(axis=0), self.grams.sum(axis=0)
        i = self.classes.index(c)
        return int(self.counts[i]), self.sums[i], self.grams[i]

    def means(self) -> np.ndarray:
        """(K, d) class means in the source's processed units."""
        return self.sums / self.counts[:, None] + self.shift

    def covariance(self) -> tuple[np.ndarray, np.ndarray]:
        """``(C, mean)`` of all the rows held: the unbiased covariance (normalised by n − 1) and the
        per-feature mean in processed units, as :func:`covariance_spectrum` forms them."""
        W, s1, C = self.group(-1)
        C, mu = _unbiased(C, s1, W)
        return C, mu + self.shift

    def check_covers(self, src) -> None:
        """Refuse sums that are not those of every class of ``src`` (its classes, its row counts)."""
        K = src.n_classes
        if self.classes != tuple(range(K)) or not np.array_equal(self.counts, np.bincount(src.labels, minlength=K)):
            raise RegimesError("grams must be the class_grams of every class of the data")


def class_grams(X, classes=None) -> ClassGrams:
    """:class:`ClassGrams` of the labelled source ``X`` (a DataSource or an array with its labels)
    for ``classes`` (label indices; default all), in one pass over the rows.

    Each block's rows of a class (a view when they form one run, else gathered into one buffer)
    give ``Σ x`` and ``Σ x xᵀ`` (a d × d product per class and block), summed in float64 over the
    blocks. The rows are taken to float64 first (float32 data too), then shifted and scaled by
    the source's power of two in float64 (as the covariance pass does in the data's dtype), and
    the sums scaled back exactly. The unbiased class covariance is then
    ``(S − n m mᵀ)/(n − 1)`` and the pooled covariance of all the classes ``(ΣS − N μμᵀ)/(N − 1)``:
    the covariance pass, the class covariances, the class means of the hierarchy and of the pooled
    within-class variance all come from this one pass. Memory: K·d²·8 bytes.
    """
    src = as_source(X)
    if src.labels is None:
        raise RegimesError("class_grams needs labels")
    K, d = src.n_classes, src.d
    classes = tuple(range(K)) if classes is None else _checked_classes(classes, K)
    where = np.full(K, -1)
    where[list(classes)] = np.arange(len(classes))
    counts, sums, grams = np.zeros(len(classes), dtype=np.int64), np.zeros((len(classes), d)), \
        np.zeros((len(classes), d, d))
    sel = prod = None  # one buffer each for every block and class (fresh ones: a first touch per block)
    shift, scale = np.asarray(src.working_shift, dtype=np.float64), src.working_scale
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite sums are refused by their users
        for s, e, B in src.blocks(reuse=True):
            B = to_working(B.astype(np.float64, copy=False), shift, scale)  # (the pass's own buffer, or a copy)
            lab = src.labels[s:e]
            for c in np.unique(lab).tolist():
                if where[c] < 0:
                    continue
                sel = large_empty(B.shape) if sel is None or sel.shape[0] < B.shape[0] else sel
                Y = selected_rows(B, lab == c, sel)
                prod = np.empty((d, d)) if prod is None else prod
                i = where[c]
                counts[i] += Y.shape[0]
                sums[i] += Y.sum(axis=0)
                grams[i] += np.matmul(Y.T, Y, out=prod)
        sums /= scale  # a power of two: exact
        _unscale_squared(grams, scale)
    return ClassGrams(classes=classes, counts=counts, sums=sums, grams=grams, shift=shift)


def _unscale_squared(x: np.ndarray, scale: float) -> np.ndarray:
    """``x / scale²`` in place for products of working rows (``scale``: the source's power of two):
    divided twice, the same bits as by ``scale²``, which overflows for data below ~1e-154."""
    x /= scale
    x /= scale
    return x


def _checked_classes(classes, K: int) -> tuple[int, ...]:
    """``classes`` of :func:`class_grams`: distinct label indices 0 <= c < K."""
    if isinstance(classes, str | bytes) or not hasattr(classes, "__iter__") or np.ndim(classes) != 1:
        raise RegimesError(f"classes must be a list of class indices (0 to {K - 1}), got {classes!r}")
    out = tuple(check_int(f"classes[{i}]", c, ge=0, le=K - 1) for i, c in enumerate(classes))
    if not out:
        raise RegimesError(f"classes must list at least one class index (0 to {K - 1}), got none")
    if len(set(out)) != len(out):
        raise RegimesError(f"classes must be distinct, got {list(out)}")
    return out


class BlockNotConverged(RegimesError):
    """Block Krylov reached its largest basis without converging (a spectrum without gaps at a
    tight tolerance); ``method="auto"`` then continues with Lanczos."""


class _CenteredCovOperator:
    """v ↦ C v with C = Σ_i w_i (x_i − x̄_w)(x_i − x̄_w)ᵀ / (Σ_i w_i − 1), streamed over row blocks.

    The block products run in the data's dtype (float32 GEMV for float32 data) and are summed
    over blocks in float64.

    Working blocks ``W = s_b (x − c)``: the processed rows x minus a fixed shift c — the source's
    per-feature mean when the source is not centred, so that the float32 products see centred
    values (no cancellation against a large offset) — times a power of two ``s_b`` that brings
    the data's spread to O(1) (no overflow or underflow in float32). In-memory float data with a
    modest offset are instead read as views (c = 0, s_b = 1, no copy) and the power of two goes
    on the vector (``s_v``). Implicit centring subtracts the (weighted) mean μ_w of the working
    blocks, which is small in the first case. Cv = Σ_i y_i (W_i − μ_w) / (s_v s_b² (Σw − 1))
    with ``y_i = (W_i − μ_w)·(s_v v)``.
    """

    def __init__(self, src, rows_idx=None, block_rows=None):
        self.src = src
        self.idx = rows_idx  # None: all rows, else sorted row indices of a subsample
        self.block_rows = block_rows or src.block_rows()
        self.count = 0
        self._cache = None
        m = src.n if rows_idx is None else rows_idx.size
        self.m = m
        raw = src.raw
        scale = src.working_scale
        # In-memory float data in its own units: the operator centres implicitly (it subtracts
        # the weighted mean of whatever rows it is given), so it can read views of the raw array
        # — no per-matvec copy — in cache-sized blocks, so the two GEMVs of a block share one
        # read from memory.
        # (only when the data's offset is modest against its spread, |x̄|² <= 100 tr C, so that
        # the implicit centring loses no more than a digit in float32, and the spread is within
        # 2^±60 so that the unscaled block products neither overflow nor underflow)
        # on a Dask cluster (regimes.distributed) every pass runs as tasks over the working rows
        self._dist = active() is not None and rows_idx is None
        self._raw_view = (not self._dist and not src.is_streamed and rows_idx is None and src.scale_a == 1.0
                          and src.scale_b == 0.0 and raw.dtype in (np.float32, np.float64)
                          and raw.flags.c_contiguous
                          and float(src.mean @ src.mean) <= 100.0 * src.total_variance
                          and 2.0**-60 <= scale <= 2.0**60)
        if self._raw_view:
            self.shift = np.zeros(src.d)
            self.s_b, self.s_v = 1.0, scale
            if block_rows is None:
                self.block_rows = int(max(1, (2 * 2**20) // (src.d * raw.dtype.itemsize)))
        else:
            # processed rows of a non-centred source carry the mean: subtract it before the products
            self.shift = src.working_shift
            self.s_b, self.s_v = scale, 1.0
            if not self._dist and m * src.d * src.dtype.itemsize <= 256 * 2**20:  # small: keep the processed rows
                self._cache = self._work(src.to_array() if rows_idx is None else src.take(rows_idx))

    def _work(self, B):
        return self.src.working(B)

    def _blocks(self, rows=None):
        if self._raw_view:
            raw = self.src.raw
            rows = rows or self.block_rows
            for s in range(0, self.m, rows):
                e = min(self.m, s + rows)
                yield s, e, raw[s:e]
            return
        if self._cache is not None:
            yield 0, self.m, self._cache
            return
        if self.idx is None:
            for s, e, B in self.src.blocks(self.block_rows, reuse=True):
                yield s, e, self._work(B)
        else:
            for s in range(0, self.m, self.block_rows):
                e = min(self.m, s + self.block_rows)
                yield s, e, self._work(self.src.take(self.idx[s:e]))

    def set_weights(self, w):
        self.w = None if w is None else np.asarray(w, dtype=np.float64)
        d = self.src.d
        tot = np.zeros(d)
        if self._dist:
            tot = map_working(self.src, _chunk_colsum, self.w, rows=self.block_rows, merge=_add)
        for s, e, B in ([] if self._dist else self._blocks()):
            if self.w is None:
                tot += B.sum(axis=0, dtype=np.float64)
            else:
                tot += self.w[s:e].astype(B.dtype) @ B
        self.wsum = float(self.m if self.w is None else self.w.sum())
        self.mu = tot / self.wsum  # weighted mean of the working blocks

    @property
    def mean(self) -> np.ndarray:
        """Weighted mean of the processed rows."""
        return self.mu / self.s_b + self.shift

    def matvec(self, v):
        v = np.asarray(v, dtype=np.float64).ravel()
        if self._dist:
            return self.matmat(v[:, None])[:, 0]
        self.count += 1
        out = np.zeros_like(v)
        sv = self.s_v * v
        vv = sv.astype(self.src.dtype)
        mu_v = float(self.mu @ sv)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results checked below
            for s, e, B in self._blocks():
                y = (B @ vv).astype(np.float64, copy=False) - mu_v  # s_v s_b (x_i − μ)·v
                if self.w is not None:
                    y *= self.w[s:e]
                out += (y.astype(B.dtype) @ B).astype(np.float64)
                out -= y.sum() * self.mu
        out /= self.s_v * (self.wsum - 1.0)
        _unscale_squared(out, self.s_b)
        if not np.all(np.isfinite(out)):
            raise self.src.too_large(f"{self.src.dtype} products (a matrix-vector product overflowed)")
        return out

    def matmat(self, V):
        """C V for a block of vectors (columns of V): one pass, two GEMMs per block of rows."""
        V = np.asarray(V, dtype=np.float64)
        self.count += V.shape[1]
        out = np.zeros_like(V)
        sv = self.s_v * V
        vv = sv.astype(self.src.dtype)
        mu_v = self.mu @ sv
        # GEMMs want larger blocks than the GEMVs' cache-sized ones (views: no copy)
        rows = max(self.block_rows, (32 * 2**20) // (self.src.d * self.src.raw.dtype.itemsize))
        if self._dist:  # Σ Bᵀ Y and Σ Y per chunk of rows, as Dask tasks
            BtY, ysum = map_working(self.src, _chunk_matmat, vv, mu_v, self.w, rows=rows, merge=_add)
            out += BtY
            out -= np.outer(self.mu, ysum)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results checked below
            for s, e, B in ([] if self._dist else self._blocks(rows)):
                Y = (B @ vv).astype(np.float64, copy=False) - mu_v
                if self.w is not None:
                    Y *= self.w[s:e, None]
                out += (B.T @ Y.astype(B.dtype)).astype(np.float64)
                out -= np.outer(self.mu, Y.sum(axis=0))
        out /= self.s_v * (self.wsum - 1.0)
        _unscale_squared(out, self.s_b)
        if not np.all(np.isfinite(out)):
            raise self.src.too_large(f"{self.src.dtype} products (a matrix-vector product overflowed)")
        return out

    def project(self, V):
        """Yield ``(s, e, Z)`` with ``Z = (x_i − μ_w) @ V`` in the data's units, block by block."""
        Vw = (self.s_v * V).astype(self.src.dtype)
        shift = self.mu @ (self.s_v * V)
        if self._dist:
            yield from map_working(self.src, _chunk_project, Vw, shift, self.s_v * self.s_b, rows=self.block_rows)
            return
        for s, e, B in self._blocks():
            Z = (B @ Vw).astype(np.float64, copy=False) - shift
            Z /= self.s_v * self.s_b
            yield s, e, Z


def _lanczos(op, d, k, v0, tol):
    """Top-k eigenpairs of the operator (values descending, vectors as columns)."""
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigsh

    if d <= max(2 * k + 1, 8):  # tiny d: form C column by column (d matvecs) and use eigh
        C = np.column_stack([op.matvec(e) for e in np.eye(d)])
        vals, vecs = _eigh(0.5 * (C + C.T), op.src)
        return vals[::-1][:k], vecs[:, ::-1][:, :k]
    lin = LinearOperator((d, d), matvec=op.matvec, dtype=np.float64)
    try:
        vals, vecs = eigsh(lin, k=k, which="LA", v0=v0, tol=tol, maxiter=max(1000, 20 * d))
    except ArpackNoConvergence as exc:  # pragma: no cover - rare
        raise RegimesError(f"Lanczos did not converge for k={k} eigenvalues (try a smaller k)") from exc
    except ArpackError as exc:  # pragma: no cover - not seen once the products are finite
        raise RegimesError(f"{op.src.name}: Lanczos (ARPACK) failed for k={k} eigenvalues: {exc}; "
                           "try method='dense' or a smaller k") from exc
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:, order]


def _block_krylov(op, d, k, v0, tol, block=None):
    """Top-k eigenpairs by a block Krylov method: one streamed pass (two GEMMs per row block) per
    block of ``b = max(2k, 8)`` vectors, full reorthogonalisation, Rayleigh–Ritz on the whole
    Krylov basis (its products with C are kept, so no pass is spent on them). Stops when every
    wanted Ritz pair has residual ``|C u − θ u| <= tol · θ_1``, which bounds each eigenvalue's
    error by ``tol · θ_1`` (symmetric C), or when no wanted Ritz value moved by more than
    ``tol · θ_1`` over the last pass (Ritz values increase monotonically towards the eigenvalues;
    with float32 products the residuals stall near float32's precision, ~1e-7 of θ_1)."""
    b = min(d, block or max(2 * k, 8))
    gen = np.random.default_rng(np.ascontiguousarray(v0[:4]).view(np.uint32))  # seeded by the start vector
    X = gen.standard_normal((d, b))
    X[:, 0] = v0
    Q = np.linalg.qr(X)[0]
    K, CK = np.empty((d, 0)), np.empty((d, 0))
    max_dim = min(d, max(40 * b, 4 * k))
    prev = None
    while True:
        Y = op.matmat(Q)
        K, CK = np.hstack([K, Q]), np.hstack([CK, Y])
        H = K.T @ CK
        theta, S = np.linalg.eigh(0.5 * (H + H.T))
        theta, S = theta[::-1][:k], S[:, ::-1][:, :k]
        U = K @ S
        # residuals relative to θ_1, formed scale-free (|C u − θ u|² over- or underflows beyond ~1e±154)
        top = abs(float(theta[0])) or 1.0
        res = np.linalg.norm(CK @ (S / top) - U * (theta / top), axis=0)
        done = np.all(res <= tol) or (
            prev is not None and np.max(np.abs(theta - prev)) <= tol * abs(theta[0]))
        prev = theta
        if done or K.shape[1] >= max_dim:
            if not done and K.shape[1] < d:  # a spectrum without gaps at a tight tolerance
                raise BlockNotConverged(f"block Krylov did not converge for k={k} eigenvalues "
                                        f"(Krylov dimension {K.shape[1]}; try method='lanczos')")
            return theta, U  # converged, or the basis spans all d directions: Rayleigh–Ritz is exact
        W = Y - K @ (K.T @ Y)
        W -= K @ (K.T @ W)  # twice is enough
        Q, R = np.linalg.qr(W)
        # new directions: those above rounding relative to the products (C of low rank, n < d: once the
        # basis holds its range, what is left of Y is rounding, and its normalised noise must not enter)
        ym = float(np.abs(Y).max(initial=0.0)) or 1.0  # the norms scale-free: |Y|² overflows beyond ~1e154
        keep = np.abs(np.diag(R)) / ym > 1e-10 * float(np.linalg.norm(Y / ym, axis=0).max(initial=0.0))
        if not keep.any():  # the Krylov space is invariant: the Ritz values are exact
            return theta, U
        Q = Q[:, keep]
        Q = np.linalg.qr(Q - K @ (K.T @ Q))[0]  # kept directions orthogonal to the basis to working precision
        Q = Q[:, :max_dim - K.shape[1]]  # the last block may be narrower: up to max_dim (<= d)


def _eigh(C, src, vectors=True):
    """numpy eigh/eigvalsh with a non-finite matrix and LAPACK failure turned into RegimesError."""
    if not np.all(np.isfinite(C)):
        raise src.too_large(f"{src.dtype} products (the accumulated covariance is not finite)")
    try:
        return np.linalg.eigh(C) if vectors else np.linalg.eigvalsh(C)
    except np.linalg.LinAlgError as exc:  # pragma: no cover - finite symmetric input converges
        raise RegimesError(f"{src.name}: covariance eigen-decomposition failed ({exc})") from exc


def _dense(op, k):
    """Top-k eigenpairs from the explicitly accumulated covariance (one pass over the data)."""
    if op._dist:
        C, _ = cluster_gram(op.src, op.w)
        _unscale_squared(C, op.s_b)
        vals, vecs = _eigh(C, op.src)
        return vals[::-1][:k], vecs[:, ::-1][:, :k]
    blocks = op._blocks()
    if op._raw_view:  # centre explicitly before the float32 products (exact shift, better digits)
        mean = op.src.mean
        s_v = op.s_v
        if s_v == 1.0:
            blocks = ((s, e, B - mean.astype(B.dtype)) for s, e, B in blocks)
        else:
            blocks = ((s, e, (B - mean.astype(B.dtype)) * B.dtype.type(s_v)) for s, e, B in blocks)
        scale = s_v
    else:
        scale = op.s_b
    C, _ = _accumulate(blocks, op.src.d, op.w)
    _unscale_squared(C, scale)
    vals, vecs = _eigh(C, op.src)
    return vals[::-1][:k], vecs[:, ::-1][:, :k]


def _accumulate(blocks, d, w=None):
    """(C, mean) of row blocks: ``Σ BᵀB`` per block in the data's dtype (float32 GEMM for float32
    data), summed over blocks in float64; unbiased normalisation ``Σw − 1``. The blocks should be
    (nearly) centred: the residual mean is removed as ``W μμᵀ`` afterwards, which cancels digits
    when μ is large against the spread."""
    C = np.zeros((d, d))
    s1 = np.zeros(d)
    W = 0.0
    prod = None  # BᵀB of every block into one buffer (a fresh d × d array per block: a first touch each)
    with np.errstate(over="ignore", invalid="ignore"):  # the caller checks C is finite
        for s, e, B in blocks:
            if w is None:
                prod = np.empty((d, d), B.dtype) if prod is None or prod.dtype != B.dtype else prod
                C += np.matmul(B.T, B, out=prod)
                s1 += B.sum(axis=0, dtype=np.float64)
                W += e - s
            else:
                ws = w[s:e]
                C += ((B * ws[:, None].astype(B.dtype)).T @ B).astype(np.float64)
                s1 += ws.astype(B.dtype) @ B
                W += float(ws.sum())
    return _unbiased(C, s1, W)


def _unbiased(C, s1, W):
    """``(C, mean)`` from the Gram sums ``C = Σ xxᵀ`` (changed in place), column sums ``s1`` and
    total weight ``W`` of (nearly) centred rows: ``(C − W μμᵀ)/(W − 1)``, symmetrised."""
    with np.errstate(over="ignore", invalid="ignore"):  # the caller checks C is finite
        mu = s1 / W
        C -= W * np.outer(mu, mu)
    C /= W - 1.0
    return 0.5 * (C + C.T), mu


# -- the passes as Dask tasks (regimes.distributed): per-chunk partial results, merged exactly ---------
def _add(x, y):
    """Sum of two partial results (arrays, or tuples of arrays and numbers)."""
    if isinstance(x, tuple):
        return tuple(a + b for a, b in zip(x, y, strict=True))
    return x + y


def _chunk_colsum(B, s, e, w):
    return B.sum(axis=0, dtype=np.float64) if w is None else (w[s:e].astype(B.dtype) @ B).astype(np.float64)


def _chunk_matmat(B, s, e, vv, mu_v, w):
    with np.errstate(over="ignore", invalid="ignore"):  # the caller checks the result is finite
        Y = (B @ vv).astype(np.float64, copy=False) - mu_v
        if w is not None:
            Y *= w[s:e, None]
        return (B.T @ Y.astype(B.dtype)).astype(np.float64), Y.sum(axis=0)


def _chunk_project(B, s, e, Vb, shift, scale, reduce=None):
    """``(B Vb − shift) / scale`` in float64: the rows' projections in the data's units (``reduce``
    applied to them here, on the worker, when given)."""
    Z = (B @ Vb).astype(np.float64, copy=False) - shift
    Z /= scale
    return Z if reduce is None else reduce(Z)


def _chunk_gram(B, s, e, w):
    with np.errstate(over="ignore", invalid="ignore"):  # the caller checks C is finite
        if w is None:
            return (B.T @ B).astype(np.float64, copy=False), B.sum(axis=0, dtype=np.float64), float(e - s)
        ws = w[s:e]
        return (((B * ws[:, None].astype(B.dtype)).T @ B).astype(np.float64), (ws.astype(B.dtype) @ B).astype(
            np.float64), float(ws.sum()))


def cluster_gram(src, w=None):
    """``(C, mean)`` of the source's working rows as :func:`_accumulate` computes them, with the Gram
    sums ``Σ BᵀB`` (and the column sums) computed per chunk of rows as Dask tasks on the active
    cluster (:mod:`regimes.distributed`) and summed: equal up to the order of summation."""
    C, s1, W = map_working(src, _chunk_gram, w, merge=_add)
    return _unbiased(C, s1, W)


def top_eigenvalues(X, k: int = 1, *, rng=0, subsample: int | None = None, bootstrap: int = 0,
                    tol: float = 1e-10, block_rows: int | None = None, method: str = "auto",
                    bootstrap_method: str = "linearised") -> EigenResult:
    """The ``k`` largest eigenvalues of the centred covariance, never forming the d×d matrix.

    Parameters
    ----------
    X : DataSource or array_like, shape (n, d)
        The data (a memory-mapped source is streamed block by block).
    k : int
        Number of eigenvalues (``1 <= k < d``; for ``k >= d - 1`` use :func:`covariance_spectrum`).
    rng : int or Generator
        Seeds the Lanczos start vector, the subsample and the bootstrap.
    subsample : int, optional
        Use this many rows drawn without replacement (``2 <= subsample <= n``).
    bootstrap : int
        Number of bootstrap replicates over rows (0: none); gives ``se``.
    tol : float
        Relative tolerance (ARPACK's; for ``"block"``, residuals relative to λ_1).
    block_rows : int, optional
        Rows per streamed block.
    method : {"auto", "lanczos", "dense", "block"}
        ``"lanczos"``: implicitly restarted Lanczos on the implicit operator (one streamed pass
        per matrix-vector product, typically tens to hundreds of them). ``"dense"``: accumulate
        the d×d covariance in one pass and diagonalise it (``d <= DENSE_COVARIANCE_MAX_D``).
        ``"block"``: block Krylov on the implicit operator — each pass over the data applies C
        to a block of ``max(2k, 8)`` vectors (GEMMs instead of GEMVs), full reorthogonalisation and
        Rayleigh–Ritz on the whole basis; stops when every wanted Ritz pair's residual is below
        ``tol · λ_1``, which bounds each eigenvalue's error by ``tol · λ_1``: a few passes for a
        few eigenvalues at ``tol = 1e-7``, the method of the analysis for d > 4096.
        ``"auto"``: when every pass is expensive — a file streamed from disk, or a Dask cluster
        (:func:`regimes.distributed.cluster`), where each pass is a round of tasks — dense for
        ``d <= DENSE_COVARIANCE_MAX_D`` (one pass) and above it block Krylov (a few passes
        instead of one per Lanczos product) when ``4k < d``, continued by Lanczos if the block
        basis reaches its limit (40 blocks) unconverged — a spectrum without gaps at a tight
        ``tol``; Lanczos otherwise, and for an in-memory array in this process.
    bootstrap_method : {"linearised", "resample"}
        ``"linearised"`` (default): replicate ``b`` is the reweighted Rayleigh quotient
        ``Σ_i w_i z_ik² / (Σw − 1)`` with ``z_ik = (x_i − x̄)·v_k``, the first-order change of
        ``λ_k`` under row weights ``w`` (one extra pass whatever the number of replicates).
        ``"resample"``: a full eigen-solve per replicate (exact, ``bootstrap`` times the cost).

    Returns
    -------
    EigenResult

    Notes
    -----
    The operator is ``C v = Σ_i (x_i − x̄)[(x_i − x̄)·v] / (n − 1)`` (unbiased normalisation, all d
    coordinates, as in [DR]), applied as two passes of block GEMVs. The eigenvalues come from
    ARPACK's implicitly restarted Lanczos method (``scipy.sparse.linalg.eigsh``) with a seeded
    start vector, so the result is deterministic given ``rng``. A bootstrap replicate reweights the
    rows with multinomial counts (weighted mean and normalisation ``Σw − 1``).

    References
    ----------
    .. [DR] arXiv:2402.18491, speciation time t_S = ½ ln Λ.
    """
    src = as_source(X)
    d = src.d
    k = check_int("k", k, ge=1, le=max(1, d))
    bootstrap = check_int("bootstrap", bootstrap, ge=0, le=MAX_BOOTSTRAP)
    tol = check_real("tol", tol, ge=0.0, lt=1.0)
    block_rows = None if block_rows is None else check_int("block_rows", block_rows, ge=1)
    gen = check_rng(rng)
    idx = None
    if subsample is not None:
        subsample = check_int("subsample", subsample, ge=2, le=src.n)
        if subsample < src.n:
            idx = np.sort(gen.choice(src.n, size=subsample, replace=False))
    check_choice("method", method, ("auto", "lanczos", "block", "dense"), quoted=True)
    check_choice("bootstrap_method", bootstrap_method, ("linearised", "resample"), quoted=True)
    if method == "auto":
        few_passes = src.is_streamed or active() is not None
        if few_passes and d <= DENSE_COVARIANCE_MAX_D:
            method = "dense"
        else:  # block Krylov where passes are expensive, Lanczos if it has not converged in 40 passes
            method = "block-then-lanczos" if few_passes and 4 * k < d else "lanczos"
    if method == "dense" and d > DENSE_COVARIANCE_MAX_D:
        raise RegimesError(f"method='dense' needs d <= {DENSE_COVARIANCE_MAX_D}, got d = {d}")
    op = _CenteredCovOperator(src, idx, block_rows)
    v0 = gen.standard_normal(d)
    op.set_weights(None)

    chosen = [method]

    def solve():
        if chosen[0] == "dense":
            return _dense(op, k)
        if chosen[0] in ("block", "block-then-lanczos") and d > max(2 * k + 1, 8):
            try:
                return _block_krylov(op, d, k, v0, tol)
            except BlockNotConverged:
                if chosen[0] == "block":
                    raise
                chosen[0] = "lanczos"  # and for every later solve (resampling bootstrap)
        return _lanczos(op, d, k, v0, tol)

    vals, vecs = solve()
    reps = None
    se = None
    if bootstrap:
        reps = np.empty((bootstrap, k))
        if bootstrap_method == "resample":
            for b in range(bootstrap):
                w = gen.multinomial(op.m, np.full(op.m, 1.0 / op.m)).astype(np.float64)
                op.set_weights(w)
                reps[b] = solve()[0]
            op.set_weights(None)
        else:
            z2 = np.empty((op.m, k))
            for s_, e_, z in op.project(vecs):
                z2[s_:e_] = z * z
            reps[:] = linearised_replicates(z2, gen, bootstrap, op.m - 1.0, draw="multinomial")
        # (relative spread times the value: no overflow/underflow of squares at extreme scales)
        se = np.abs(vals) * (reps / vals).std(axis=0, ddof=1) if bootstrap > 1 else np.full(k, np.nan)
    return EigenResult(values=vals, se=se, replicates=reps, n_used=op.m, matvecs=op.count)


def covariance_spectrum(X, *, max_d: int = DENSE_COVARIANCE_MAX_D, weights=None,
                        return_vectors: bool = False, grams: ClassGrams | None = None):
    """All d eigenvalues of the centred covariance (descending), for ``d <= max_d``.

    C is accumulated over row blocks (``Σ_blocks BᵀB`` in the data's dtype, summed in float64) in
    one pass and diagonalised with :func:`numpy.linalg.eigh`. ``weights`` (one per row) reweights
    rows as in a bootstrap. With ``return_vectors`` the result is ``(values, vectors, mean)``:
    eigenvectors as columns in the same order, and the per-feature mean of the processed rows.
    ``grams``: the :func:`class_grams` of every class of ``X`` (float64 sums), whose pooled sums
    give C without reading the data again (equal up to the order of summation).
    """
    src = as_source(X)
    max_d = check_int("max_d", max_d, ge=1)
    return_vectors = check_bool("return_vectors", return_vectors)
    w = None if weights is None else _row_weights(weights, src.n)
    if src.d > max_d:
        raise RegimesError(
            f"covariance_spectrum: d = {src.d} exceeds max_d = {max_d}; use top_eigenvalues"
        )
    if grams is not None:
        if w is not None:
            raise RegimesError("covariance_spectrum: weights cannot be combined with grams (the sums of every "
                               "class of the data, unweighted)")
        grams.check_covers(src)
        C, mu = grams.covariance()
    else:
        # centre (non-centred sources) and rescale by a power of two before the products in the
        # data's dtype, as the operator does; undone exactly afterwards
        shift, scale = src.working_shift, src.working_scale
        C, mu = (cluster_gram(src, w) if active() is not None
                 else _accumulate(src.working_blocks(reuse=True), src.d, w))
        _unscale_squared(C, scale)
        mu = mu / scale + shift
    if not return_vectors:
        return _eigh(C, src, vectors=False)[::-1]
    vals, vecs = _eigh(C, src)
    return vals[::-1], vecs[:, ::-1], mu


def _row_weights(weights, n: int) -> np.ndarray:
    """Row weights of :func:`covariance_spectrum`: n finite numbers >= 0 whose sum exceeds 1 (the
    covariance is normalised by ``Σw − 1``, as the unbiased one by n − 1)."""
    w = as_real_array("weights", weights, ge=0.0, ndim=1)
    if w.shape != (n,):
        raise RegimesError(f"weights must have one entry per row ({n}), got shape {w.shape}")
    with np.errstate(over="ignore"):  # an overflowing sum is refused below
        total = float(w.sum())
    if not total > 1.0:
        raise RegimesError(f"weights must sum to more than 1 (the covariance is normalised by Σw − 1), got a sum "
                           f"of {total:g}" + (" (all zero)" if total == 0 else ""))
    if not np.isfinite(total):
        raise RegimesError("weights: their sum overflows float64; use smaller weights (e.g. row counts)")
    return w


def row_projections(X, V, mean, reduce=None):
    """Yield ``(start, stop, Z)`` with ``Z = (x_i − mean) @ V`` (float64, data units), block by block.

    The products run on the source's working blocks in the data's dtype (centred and scaled by a
    power of two, see :class:`regimes.data.DataSource`): ``(x − μ)·v = W·v / s − (μ − c)·v`` with
    ``W = s(x − c)``. ``V`` holds directions as columns (e.g. eigenvectors from
    :func:`covariance_spectrum`), ``mean`` the per-feature mean of the processed rows.

    ``reduce``: a function of one block's ``Z`` (e.g. per-row sums); the blocks then yield
    ``reduce(Z)`` instead of ``Z``. On a Dask cluster it runs on the workers, so only its result
    travels to the client (n × d float64 projections would not fit there); it must be picklable
    (a module-level function, or a ``functools.partial`` of one). It may change ``Z`` in place but
    must return new arrays, not ``Z`` or views of it: in process ``Z`` is a buffer that the next
    block overwrites. :class:`RowProjector` is the same computation for one working block at a
    time (e.g. inside another pass over the data).
    """
    return RowProjector(X, V, mean, reduce).passes()


class RowProjector:
    """``(x_i − mean) @ V`` (float64, data units) of one working block of ``X`` at a time, or
    ``reduce`` of it: :func:`row_projections`' arithmetic, for :class:`ProjectionRider`. The
    products' last bits depend on the block's number of rows (BLAS picks its kernels by shape).
    Holds a copy of ``V`` in the data's dtype (d²·itemsize bytes) and the d-vector ``(mean − c)·V``;
    with ``reduce``, buffers for one block's products (float32 data: also their float64 copy)."""

    def __init__(self, X, V, mean, reduce=None):
        self.src = src = as_source(X)
        V = np.asarray(V, dtype=np.float64)
        self.Vb, self.scale, self.reduce = V.astype(src.dtype), src.working_scale, reduce  # a contiguous copy
        self.resid = (np.asarray(mean, dtype=np.float64) - src.working_shift) @ V
        self._bufs = None  # with ``reduce`` the projections do not leave the call: buffers for every block

    def passes(self):
        """Yield ``(start, stop, result)`` over every row in a pass of its own: the source's
        working blocks in process, Dask tasks over its chunks of rows on a cluster (the same
        blocks: ``X.block_rows()`` rows)."""
        if active() is not None:
            yield from map_working(self.src, _chunk_project, self.Vb, self.resid * self.scale, self.scale,
                                   self.reduce)
            return
        for s, e, blk in self.src.working_blocks(reuse=True):
            yield s, e, self(blk)

    def __call__(self, blk: np.ndarray):
        """The projections of the working rows ``blk`` (not changed), or ``reduce`` of them."""
        r = blk.shape[0]
        if self.reduce is None:
            Z = (blk @ self.Vb).astype(np.float64, copy=False)
        else:  # the products into buffers reused across blocks (the same bits as fresh arrays)
            if self._bufs is None or self._bufs[0].shape[0] < r:
                k = self.Vb.shape[1]
                self._bufs = (np.empty((r, k), blk.dtype), None if blk.dtype == np.float64 else np.empty((r, k)))
            Z = np.matmul(blk, self.Vb, out=self._bufs[0][:r])
            if self._bufs[1] is not None:  # float32 products, converted as astype does
                wide = self._bufs[1][:r]
                wide[...] = Z
                Z = wide
        Z /= self.scale
        Z -= self.resid
        return Z if self.reduce is None else self.reduce(Z)


class ProjectionRider:
    """:func:`row_projections` riding on another pass over the working blocks of ``X`` (e.g. the
    mixture engine's, as its ``on_block``): the rows, in order and in blocks of any size, are
    regrouped into :func:`row_projections`' own blocks (``X.block_rows()`` rows; copied only where
    a block of the other pass straddles two of them), so the projections are bit for bit those of
    their own pass; ``sink(start, stop, result)`` receives each block's result (``reduce(Z)``).
    ``rows``: how many rows came so far."""

    def __init__(self, X, V, mean, reduce, sink):
        src = as_source(X)
        self.project, self.sink = RowProjector(src, V, mean, reduce), sink
        self.n, self.size = src.n, src.block_rows()
        self.rows, self.start, self._buf = 0, 0, None  # rows seen; first row of the block being filled

    def __call__(self, s: int, e: int, blk: np.ndarray) -> None:
        if s != self.rows:
            raise RegimesError(f"ProjectionRider: rows must come in order, got rows {s}:{e} after {self.rows}")
        pos = s
        while pos < e:
            stop = min(self.start + self.size, self.n)  # the end of row_projections' block
            take = min(e, stop) - pos
            if pos == self.start and take == stop - self.start:  # a whole block inside this one: no copy
                self.sink(self.start, stop, self.project(blk[pos - s:pos - s + take]))
            else:
                if self._buf is None:
                    self._buf = np.empty((min(self.size, self.n), blk.shape[1]), blk.dtype)
                self._buf[pos - self.start:pos - self.start + take] = blk[pos - s:pos - s + take]
                if pos + take == stop:
                    self.sink(self.start, stop, self.project(self._buf[:stop - self.start]))
            pos += take
            if pos == stop:
                self.start = stop
        self.rows = e
