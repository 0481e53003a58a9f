"""The empirical-mixture engine: f^e(t), φ_C(t) and φ(t) for a whole grid of times at once.

One streamed pass over the training set (two GEMMs per block, reused for every time) feeds an
online log-sum-exp (:mod:`regimes.engines._lse`); the result is a
:class:`~regimes.engines.curves.MixtureCurves`.

Precision
---------
D from ``|a^{μ0}|² + |a^μ|² − 2a^{μ0}·a^μ`` and G from ``ξ·a^μ − ξ·a^{μ0}`` lose
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
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024), §"Collapse" (excess entropy, collapse time).
"""

from __future__ import annotations

import math

import numpy as np

from .._buffers import large_empty
from .._errors import RegimesError, RegimesWarning
from .._validate import MAX_SAMPLES, check_bool, check_callback, check_choice, check_int, check_memory, check_rng
from ..data.source import as_source, encode_labels
from ..distributed import active, map_working
from ._lse import MIN_TIME, ClassCodes, LSEState, check_times, negligible_below, resolve_engine, time_factors
from .curves import MixtureCurves

__all__ = ["MixtureCurves", "empirical_mixture", "mixture_rng", "refined_grid", "DEFAULT_MEMORY_BUDGET",
           "MIN_TIME", "PRECISION_TOLERANCE", "PRECISIONS", "REFINE", "check_engine_options", "check_memory_budget",
           "check_mixture_times", "check_times", "min_time", "MAX_MEMORY_BUDGET"]

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

#: without stored statistics the pass also evaluates this many sub-intervals per grid interval,
#: so that the crossings' fine windows come from the same (single) pass over the data
REFINE = 8

#: the arithmetic of the engine's products (``precision=``)
PRECISIONS = ("auto", "float32", "float64")


#: the largest memory_budget (1 PiB): a cap, not an allocation — the engine allocates at most what the
#: data need; the bound only keeps the block arithmetic within integers (the same on every machine)
MAX_MEMORY_BUDGET = 1 << 50


def check_memory_budget(memory_budget, name: str = "memory_budget") -> int:
    """``memory_budget`` (bytes) as an int between 1 MiB and :data:`MAX_MEMORY_BUDGET` (1 PiB). It is
    a cap on the blocks of a pass, which take at most what the data need (a budget above the
    machine's memory is the caller's choice, as with any allocation)."""
    return check_int(name, memory_budget, ge=1 << 20, le=MAX_MEMORY_BUDGET)


def check_engine_options(precision, engine) -> tuple[str, str]:
    """``(precision, engine)`` checked (``engine`` resolved: ``"auto"`` → numba when installed)."""
    return check_choice("precision", precision, PRECISIONS, quoted=True), resolve_engine(engine)


def min_time(X) -> float:
    """The smallest OU time the engine takes for the training set ``X``: :data:`MIN_TIME`, or more
    when its squared distances D are so large that ``½v²D = D/(2 expm1(2t))`` would overflow
    float64 above it (D <= 4 max |x_i − x̄|², a factor 2 of margin: ``expm1(2t) >= D_max/1.8e308``)."""
    src = as_source(X)
    sq = np.asarray(src.centred_sq_norms)
    reach = 4.0 * (float(np.max(sq)) / np.finfo(np.float64).max) if sq.size else 0.0
    if not math.isfinite(reach):  # the rows' norms overflow: the engine refuses the data themselves
        return MIN_TIME
    return max(MIN_TIME, 0.5 * math.log1p(reach))


def check_mixture_times(src, name: str, times, **bounds) -> np.ndarray:
    """``times`` checked against :func:`min_time` of ``src`` (the message says why when the data set it)."""
    floor = min_time(src)
    why = None
    if floor > MIN_TIME:
        why = (f"the squared distances between the rows of {src.name} reach "
               f"{4.0 * float(np.max(src.centred_sq_norms)):.3g}")
    return check_times(name, times, floor=floor, why=why, **bounds)

def empirical_mixture(X, times, *, samples: int = 1024, rng=0, labels=None,
                      memory_budget: int = DEFAULT_MEMORY_BUDGET, store: bool | None = None,
                      block_rows: int | None = None, progress=None, precision: str = "auto",
                      engine: str = "numpy", on_block=None) -> MixtureCurves:
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
    engine : {"numpy", "numba", "auto"}
        Implementation of the per-time log-sum-exp. ``"numpy"`` (default): numpy passes, the
        reference whose numbers are recorded bit for bit. ``"numba"``: the fused compiled kernel
        (:mod:`regimes.engines._fused`; needs ``pip install 'regimes[fast]'``), several times
        faster, equal to the numpy path up to summation order (~1e-15 relative) and itself
        reproducible run to run and for any thread count. ``"auto"``: numba when installed.
    on_block : callable, optional
        ``on_block(start, stop, block)`` with each working block (:meth:`regimes.data.DataSource.working`)
        of the first pass, so that another computation rides on it; it must neither change nor keep
        ``block``. Not called on a Dask cluster (the caller sees that no row came).

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

    .. math:: f^e(t) = \\frac{1}{2} + \\frac{1}{d} E[\\ln Σ_μ e^{-|x-e^{-t}a^μ|^2/(2Δ_t)}]
              = \\frac{1}{d} E[L] ,

    because ``E|ξ|² = d`` exactly (the ``½ − |ξ|²/2d`` term has mean zero and is dropped, which
    removes its variance ``1/(2d)``). The constant follows from ``s^sep = α + ½ ln(2πeΔ_t)`` and
    ``−ln P^e_t = ln n + (d/2) ln(2πΔ_t) − ln Σ_μ e^{…}``; checks: f^e → ln(n)/d = α as t → ∞
    (L → ln n) and f^e → 0 as t → 0 (L → 0). ``w_μ = e^{E_μ}/Σ e^{E}``, φ_C = E[Σ w_μ²],
    φ = E[Σ_c (Σ_{μ∈c} w_μ)²] ([DR]).

    The arithmetic of the products and the probe that chooses it are described in the module
    docstring (section *Precision*).

    References
    ----------
    .. [DR] arXiv:2402.18491.
    """
    src = as_source(X)
    n, d = src.n, src.d
    tt, M, budget, store, block_rows, precision, engine = _checked_arguments(
        src, times, samples, memory_budget, store, block_rows, (progress, on_block), precision, engine)
    gen = check_rng(rng)
    classes = _class_codes(src, labels)
    dt = src.dtype
    mu0 = gen.integers(0, n, size=M)
    Xi = gen.standard_normal((M, d)).astype(dt)
    A0 = src.working(src.take(mu0))  # (M, d), centred, spread O(1)
    vs = time_factors(tt)  # the probe's times
    precision, err = _choose_precision(_Probe(src, A0, Xi, mu0, vs), precision, dt)
    pdt = np.dtype(np.float32 if precision == "float32" else np.float64)
    C = 0 if classes is None else classes.C
    T = tt.size
    keep, rows, fine = _plan(n, d, M, T, C, dt, pdt, budget, store, block_rows)
    tf = refined_grid(tt, REFINE) if fine else tt
    floor = negligible_below(n)  # every sample's sum has its μ = μ0 term, E = 0
    state = LSEState(M, tf.size, C, precision == "float32", engine, floor)
    Gs = large_empty((M, n)) if keep else None  # never huge pages: see regimes._buffers
    Ds = large_empty((M, n)) if keep else None
    stream = _Stream(src, A0.astype(pdt, copy=False), Xi.astype(pdt, copy=False), mu0, pdt, rows, classes, progress)
    stream.run(time_factors(tf), state, Gs, Ds, on_block=on_block)
    (L, pc, ph), fine_values = _split_fine(state.finish(), tf if fine else None)
    if not np.all(np.isfinite(L)):  # pragma: no cover - only at float64's range limit
        raise RegimesError(f"{src.name}: values too large: squared distances overflow float64 "
                           f"(tr C = {src.total_variance:.3g}); rescale the data")

    def _recompute(new_t):
        st = LSEState(M, new_t.size, C, precision == "float32", engine, floor)
        stream.run(time_factors(new_t), st)
        return st.finish()

    return MixtureCurves(t=tt, lse=L, phi_c=pc, phi=ph, n=n, d=d, samples=M, G=Gs, D=Ds,
                         precision=precision, precision_error=float(err), classes=classes,
                         recompute=None if keep else _recompute, engine=engine, fine=fine_values,
                         t_min=min_time(src))


def _checked_arguments(src, times, samples, memory_budget, store, block_rows, callbacks, precision, engine):
    """:func:`empirical_mixture`'s arguments checked on entry (``callbacks``: progress and on_block):
    ``(times, samples, memory budget, store, block rows, precision, resolved engine)``."""
    tt = check_mixture_times(src, "times", times, ndim=1, min_size=1)
    M = check_int("samples", samples, ge=2, le=MAX_SAMPLES)
    budget = check_memory_budget(memory_budget)
    store = None if store is None else check_bool("store", store)
    block_rows = None if block_rows is None else check_int("block_rows", block_rows, ge=1)
    check_callback("progress", callbacks[0], "progress(done, total)")
    check_callback("on_block", callbacks[1], "on_block(start, stop, block)")
    precision, engine = check_engine_options(precision, engine)
    # the samples' noise ξ and start points a^{μ0}, (M, d) each, in the data's dtype and in float64
    check_memory("samples", M, 2.0 * M * src.d * (src.dtype.itemsize + 8),
                 what=f"two ({M}, {src.d}) arrays of Monte Carlo samples")
    return tt, M, budget, store, block_rows, precision, engine


class _Stream:
    """One streamed pass of the engine over the working blocks: (G, D) per block from two GEMMs,
    the μ = μ0 terms set to exactly zero, folded into an :class:`LSEState` (and optionally stored)."""

    def __init__(self, src, A0, Xi, mu0, pdt, rows, classes, progress):
        self.src, self.A0, self.Xi, self.mu0 = src, A0, Xi, mu0
        self.a0sq = np.einsum("ij,ij->i", A0.astype(np.float64), A0.astype(np.float64))
        self.xia0 = np.einsum("ij,ij->i", Xi.astype(np.float64), A0.astype(np.float64))
        self.scale, self.pdt, self.rows = src.working_scale, pdt, rows
        self.classes, self.progress = classes, progress
        self.order = np.argsort(mu0, kind="stable")
        self._buf = None  # the products' buffers of the fused path, reused across blocks and passes

    def run(self, vs, state, Gs=None, Ds=None, on_block=None):
        src, mu0, order, n = self.src, self.mu0, self.order, self.src.n
        if active() is not None:
            self._run_chunks(vs, state, Gs, Ds)
            return
        for s, e, B in src.working_blocks(self.rows, reuse=True):
            if on_block is not None:
                on_block(s, e, B)
            B = B.astype(self.pdt, copy=False)
            lo, hi = np.searchsorted(mu0[order], [s, e])
            rs = order[lo:hi]  # the samples whose μ = μ0 term is in this block: exactly zero
            if state.engine == "numba":  # (G, D) assembled inside the fused kernel
                zc = np.full(mu0.size, -1, dtype=np.int64)
                zc[rs] = mu0[rs] - s
                parts = (self.a0sq, np.einsum("ij,ij->i", B, B, dtype=np.float64), self.xia0, self.scale, zc)
                P, R, p0 = self._products(B, s, Gs, Ds)
                state.update_products(P, R, parts, vs, None if self.classes is None else self.classes.codes[s:e],
                                      Gs, Ds, s, span=(p0, e - s))
            else:
                Q, D = _gram(self.A0, self.a0sq, self.Xi, self.xia0, B, self.scale, (rs, mu0[rs] - s))
                if Gs is not None:
                    Gs[:, s:e] = Q
                    Ds[:, s:e] = D
                state.update(Q, D, vs, None if self.classes is None else self.classes.block(s, e))
            if self.progress is not None:
                self.progress(e, n)

    def _products(self, B, s, Gs, Ds):
        """``(P, R, first column)``: ``A0 Bᵀ`` and ``Ξ Bᵀ`` written where the fused kernel reads them —
        float64 into the stored statistics' own columns ``s:`` (``Ds``, ``Gs``: the kernel turns them
        into D and G in place), else into two buffers reused across blocks. Neither path allocates
        fresh (M, rows) arrays per block (each one a first touch of its pages); the products'
        bits are those of ``A0 @ B.T`` (BLAS does not depend on the output's row stride)."""
        c = B.shape[0]
        if Gs is not None and self.pdt == np.float64:
            P, R, p0 = Ds, Gs, s
        else:
            M = self.A0.shape[0]
            if self._buf is None or self._buf.shape[1] < M * c:
                self._buf = large_empty((2, M * c), self.pdt)
            P, R, p0 = self._buf[0, :M * c].reshape(M, c), self._buf[1, :M * c].reshape(M, c), 0
        np.matmul(self.A0, B.T, out=P[:, p0:p0 + c])
        np.matmul(self.Xi, B.T, out=R[:, p0:p0 + c])
        return P, R, p0

    def _run_chunks(self, vs, state, Gs, Ds):
        """The pass as Dask tasks (:mod:`regimes.distributed`): per chunk of rows a fresh state, the
        states merged exactly (pairwise on the cluster; in row order here when G, D are stored)."""
        args = (self.A0, self.a0sq, self.Xi, self.xia0, self.scale, self.pdt, self.mu0, np.asarray(vs),
                self.classes, state.fast_exp, state.engine, state.floor, Gs is not None)
        if Gs is None:
            state.merge(map_working(self.src, _chunk_lse, *args, rows=self.rows, merge=_merge_states))
        else:
            for s, e, (st, Q, D) in map_working(self.src, _chunk_lse, *args, rows=self.rows):
                Gs[:, s:e] = Q
                Ds[:, s:e] = D
                state.merge(st)
        if self.progress is not None:
            self.progress(self.src.n, self.src.n)


def _chunk_lse(B, s, e, A0, a0sq, Xi, xia0, scale, pdt, mu0, vs, classes, fast_exp, engine, floor, store):
    """One chunk of the engine's pass: (G, D) of rows ``s:e`` folded into a fresh :class:`LSEState`."""
    rs = np.nonzero((mu0 >= s) & (mu0 < e))[0]  # the samples whose μ = μ0 term is in this chunk
    Q, D = _gram(A0, a0sq, Xi, xia0, B.astype(pdt, copy=False), scale, (rs, mu0[rs] - s))
    st = LSEState(A0.shape[0], vs.size, 0 if classes is None else classes.C, fast_exp, engine, floor)
    st.update(Q, D, vs, None if classes is None else classes.block(s, e))
    return (st, Q, D) if store else st


def _merge_states(a, b):
    return a.merge(b)


def _class_codes(src, labels):
    """Class codes of the rows (the source's labels unless ``labels`` is given), or None; given
    labels pass the checks of a source's (:func:`regimes.data.source.encode_labels`: integers or
    strings, no NaN, None or fractional floats), and their codes are those of ``np.unique``."""
    if labels is None:
        return None if src.labels is None else ClassCodes(np.unique(src.labels, return_inverse=True)[1].reshape(-1))
    codes, _ = encode_labels(labels, "labels")
    if codes.shape != (src.n,):
        raise RegimesError(f"labels must have one entry per row ({src.n}), got shape {codes.shape}")
    return ClassCodes(codes)


def _choose_precision(probe, precision: str, dt):
    """``(precision, measured error)``: resolve ``"auto"`` with the probe; warn beyond the tolerance."""
    if precision == "auto":
        precision = "float64" if (dt == np.float64 or probe.error("float32") > PRECISION_TOLERANCE) else "float32"
    err = probe.error(precision)
    if err > PRECISION_TOLERANCE:
        import warnings

        warnings.warn(
            f"empirical_mixture: {precision} products give log-weight errors up to {err:.3g} nats "
            f"(probe; tolerance {PRECISION_TOLERANCE}) at the requested times; distances are small "
            "against the points' norms", RegimesWarning, stacklevel=3)
    return precision, err


def _split_fine(values, tf):
    """``((L, Σw², class sums²) on the grid, fine values or None)``: on a refined grid ``tf`` the
    grid's own columns are every ``REFINE``-th, bit for bit the same as evaluated alone."""
    if tf is None:
        return values, None
    L, pc, ph = values
    fine = {"t": tf, "lse": L, "phi_c": pc, "phi": ph, "step": REFINE}
    return tuple(None if a is None else a[:, ::REFINE].copy() for a in values), fine


def refined_grid(t: np.ndarray, k: int) -> np.ndarray:
    """``t`` with ``k − 1`` equally spaced times inserted in each interval; ``out[::k]`` is ``t`` exactly."""
    if t.size < 2 or k <= 1:
        return t.copy()
    u = np.arange(k) / k
    out = (t[:-1, None] + (t[1:] - t[:-1])[:, None] * u[None, :]).ravel()
    out = np.append(out, t[-1])
    out[::k] = t
    return out


def _plan(n, d, M, T, C, dt, pdt, budget, store, block_rows):
    """``(keep statistics?, rows per block, refine?)`` within the memory budget. Without stored
    statistics the state is kept on the grid refined ``REFINE`` times (one pass for the crossings)
    when that fits in half the budget; else the crossings cost one more pass."""
    keep = (16 * M * n <= budget // 2) if store is None else bool(store)
    Tf = (T - 1) * REFINE + 1
    fine = (not keep) and T >= 2 and M * Tf * (3 + C) * 8 * 2 <= budget // 2
    fixed = 2 * M * d * pdt.itemsize + M * (Tf if fine else T) * (3 + C) * 8 * 2
    if keep:
        fixed += 16 * M * n
    avail = max(budget - fixed, 16 * 2**20)
    # per block row: the data row (and its converted copy), and ~6 (M,)-columns of float64 temporaries
    rows = int(max(1, min(n, avail // (d * (dt.itemsize + pdt.itemsize) + 6 * 8 * M))))
    if block_rows is not None:  # checked on entry
        rows = int(block_rows)
    return keep, rows, fine


def _gram(A0, a0sq, Xi, xia0, B, scale, self_terms=None):
    """(G, D) of a block, float64 (M, rows): ``D = |a0|² + |b|² − 2 a0·b``, ``G = ξ·b − ξ·a0`` from
    two GEMMs in B's dtype, with the power-of-two ``scale`` of the working data undone exactly;
    ``self_terms = (samples, columns)``: the μ = μ0 entries, set to exactly zero."""
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
    if self_terms is not None:
        D[self_terms] = 0.0
        Q[self_terms] = 0.0
    return Q, D


class _Probe:
    """Log-weight errors (nats) of the engine's float32 and float64 arithmetic on a probe of
    ``min(32, M)`` samples × the first ``min(1024, n)`` rows (see Notes of
    :func:`empirical_mixture`). float32 is judged against the engine's float64 arithmetic (whose
    own error is ~2⁻²⁹ of float32's: a negligible reference error), float64 against explicit
    float64 differences (computed only when asked for: the float64 path)."""

    def __init__(self, src, A0, Xi, mu0, vs):
        self.m = m = min(_PROBE_SAMPLES, A0.shape[0])
        r = min(_PROBE_ROWS, src.n)
        self.B = src.working(src.block(0, r))
        self.a0, self.xi = A0[:m], Xi[:m]
        self.scale, self.vs = src.working_scale, vs
        self.self_ = np.nonzero(mu0[:m, None] == np.arange(r)[None, :])  # μ = μ0: exactly 0 in the engine
        self._cache = {}

    def _engine(self, pdt):
        """(G, D) as the engine computes them in ``pdt``."""
        if pdt not in self._cache:
            A, X_, Bp = self.a0.astype(pdt), self.xi.astype(pdt), self.B.astype(pdt)
            A64, X64 = A.astype(np.float64), X_.astype(np.float64)
            G, D = _gram(A, np.einsum("ij,ij->i", A64, A64), X_, np.einsum("ij,ij->i", X64, A64), Bp,
                         self.scale, self.self_)
            self._cache[pdt] = (G, D)
        return self._cache[pdt]

    def _explicit(self):
        """(G, D) from explicit float64 differences: no cancellation."""
        a0, xi = self.a0.astype(np.float64), self.xi.astype(np.float64)
        B64 = self.B.astype(np.float64)
        G = np.empty((self.m, B64.shape[0]))
        D = np.empty_like(G)
        step = max(1, 2**16 // B64.shape[1])  # rows whose differences stay in the L2 cache
        for s in range(0, B64.shape[0], step):
            Bc = B64[s:s + step]
            for i in range(self.m):
                diff = Bc - a0[i]
                D[i, s:s + step] = np.einsum("ij,ij->i", diff, diff)
                G[i, s:s + step] = diff @ xi[i]
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


def mixture_rng(seed: int) -> np.random.Generator:
    """Generator of the Monte Carlo samples of the mixture engine for an analysis seeded with ``seed``.

    One derivation shared by :func:`regimes.analysis.analyze` and :class:`regimes.Dataset`, so
    that curves evaluated through either use the same samples (``ds.commitment(ds.collapse_time())
    == ½``). A stream of its own (``SeedSequence([seed, 2])``), independent of every other use of
    ``seed`` — in particular of the built-in dataset, which draws the data from ``seed``: with the
    same stream the samples' noise ξ would be a copy of the data's own noise.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), 2]))
