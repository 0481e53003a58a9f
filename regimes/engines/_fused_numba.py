"""Compiled kernels of :mod:`regimes.engines._fused` (imports numba: loaded only when asked for).

Module-level functions, so that numba's on-disk cache serves every later process (first
compilation: about ten seconds; then well under one).
"""

import math

import numba
import numpy as np

#: columns per chunk: the chunk's G, D, exponents, weights and exponent bits (20 kB) stay in L1
CHUNK = 512

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # Cody-Waite split of ln 2 (fdlibm): k*LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10



@numba.njit(cache=True, fastmath={"contract"}, nogil=True)
def weights(gl, dl, L, v, h, ref, fast_exp, xs, ws, kb):
    """ws[:L] = e^{x}, x = v G − h D − ref over the first L columns (0 below −708: a weight
    < 1e-307 of the reference); branch-free, so that LLVM vectorises it (the callers pass
    slices of local buffers: LLVM then knows that nothing aliases)."""
    for k in range(L):
        x = (gl[k] * v - dl[k] * h) - ref
        if fast_exp:
            x = np.float64(np.float32(x))
        xs[k] = x
        xi = min(max(x, -708.0), 700.0)
        kf = math.floor(xi * LOG2E + 0.5)
        r = (xi - kf * LN2_HI) - kf * LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        ws[k] = p
        kb[k] = (np.int64(kf) + 1023) << 52
    scale = kb.view(np.float64)
    for k in range(L):
        w = ws[k] * scale[k] if xs[k] >= -708.0 else 0.0
        if fast_exp:
            w = np.float64(np.float32(w))
        ws[k] = w


@numba.njit(cache=True, fastmath={"reassoc", "nsz", "nnan", "ninf"}, nogil=True)
def sums(ws, L):
    """(Σw, Σw²) over ws[:L], in 8-wide vectors (the order is fixed by the compiled code)."""
    a1 = 0.0
    a2 = 0.0
    for k in range(L):
        w = ws[k]
        a1 += w
        a2 += w * w
    return a1, a2


@numba.njit(cache=True, fastmath=False, nogil=True)
def all_sums(gl, dl, bounds, vs, refs, fast_exp, floor, cs, b2, xs, ws, kb):
    """Per time j and class segment q, Σw into ``cs[j, q]`` and the total Σw² into ``b2[j]``, at the
    references ``refs``: chunk by chunk (the chunk stays in L1), every time on each chunk.

    A chunk whose largest possible log-weight at a time, ``v·max G − ½v²·min D``, is below
    ``floor`` (absolute, not relative to the reference) is skipped for that time: see ``update``."""
    cs[:, :] = 0.0
    b2[:] = 0.0
    for q in range(bounds.shape[0] - 1):
        for s0 in range(bounds[q], bounds[q + 1], CHUNK):
            L = min(CHUNK, bounds[q + 1] - s0)
            gmax = -math.inf
            dmin = math.inf
            if floor > -math.inf:
                for k in range(s0, s0 + L):
                    gmax = max(gmax, gl[k])
                    dmin = min(dmin, dl[k])
            for j in range(vs.shape[0]):
                v = vs[j]
                h = 0.5 * v * v
                if floor > -math.inf and v * gmax - h * dmin < floor:
                    continue  # every weight of the chunk is below e^floor: negligible
                weights(gl[s0:], dl[s0:], L, v, h, refs[j], fast_exp, xs, ws, kb)
                a1, a2 = sums(ws, L)
                cs[j, q] += a1
                b2[j] += a2


@numba.njit(cache=True, fastmath=False, nogil=True)
def rescale(f, j, s1, s2, sc, C):
    s1[j] *= f
    s2[j] *= f  # twice: f² could overflow
    s2[j] *= f
    for q in range(C):
        sc[j, q] *= f


@numba.njit(cache=True, fastmath=False, nogil=True)
def redo(gl, dl, bounds, vs, j, ref, fast_exp, cs, b2, xs, ws, kb, s1, s2, sc, C):
    """Time j again with the block's exact maximum as the reference (nothing skipped): the
    state's sums are rescaled to it, ``cs[j]`` and ``b2[j]`` recomputed; returns the reference."""
    v = vs[j]
    h = 0.5 * v * v
    mx = -math.inf
    for k in range(gl.shape[0]):
        mx = max(mx, gl[k] * v - dl[k] * h)
    new = mx if s1[j] == 0.0 else max(mx, ref)
    rescale(math.exp(ref - new) if s1[j] > 0.0 else 0.0, j, s1, s2, sc, C)
    all_sums(gl, dl, bounds, vs[j:j + 1], np.full(1, new), fast_exp, -math.inf, cs[j:j + 1], b2[j:j + 1],
             xs, ws, kb)
    return new


@numba.njit(cache=True, fastmath=False, nogil=True)
def accumulate(gl, dl, bounds, segc, vs, fast_exp, floor, m, s1, s2, sc, C):
    """Fold one sample's row (local buffers, columns grouped by class) into its state, every time."""
    nseg = bounds.shape[0] - 1
    T = vs.shape[0]
    xs = np.empty(CHUNK)
    ws = np.empty(CHUNK)
    kb = np.empty(CHUNK, dtype=np.int64)
    refs = np.empty(T)
    for j in range(T):
        refs[j] = m[j] if m[j] > -math.inf else 0.0
    cs = np.empty((T, max(nseg, 1)))
    b2 = np.empty(T)
    all_sums(gl, dl, bounds, vs, refs, fast_exp, floor, cs, b2, xs, ws, kb)
    for j in range(T):
        ref = refs[j]
        t1 = 0.0
        for q in range(nseg):
            t1 += cs[j, q]
        # weights too large, or (unanchored sums) too small for this reference: with a floor the
        # complete sum holds a term E = 0, against which weights below 1e-100 are negligible
        if not (b2[j] <= 1e200) or (floor == -math.inf and s1[j] == 0.0 and t1 < 1e-100):
            ref = redo(gl, dl, bounds, vs, j, ref, fast_exp, cs, b2, xs, ws, kb, s1, s2, sc, C)
            t1 = 0.0
            for q in range(nseg):
                t1 += cs[j, q]
        s1[j] += t1
        s2[j] += b2[j]
        if C > 0:
            for q in range(nseg):
                sc[j, segc[q]] += cs[j, q]
        if s1[j] > 1e50 or (floor == -math.inf and 0.0 < s1[j] < 1e-50):  # keep the sums O(1)
            sh = math.log(s1[j])
            rescale(math.exp(-sh), j, s1, s2, sc, C)
            ref += sh
        m[j] = ref


@numba.njit(cache=True, fastmath=False, nogil=True)
def gather(g, d, perm, gl, dl):
    for k in range(g.shape[0]):
        gl[k] = g[perm[k]]
        dl[k] = d[perm[k]]


#: the samples are processed in this many groups (threads take groups): the row buffers are
#: allocated once per group, not once per sample
GROUPS = 64


@numba.njit(cache=True, fastmath=False, parallel=True, nogil=True)
def update(G, D, vs, perm, bounds, segc, C, fast_exp, floor, m, s1, s2, sc):
    """Fold stored (G, D) (float64, samples × columns) into the state (m, s1, s2, sc).

    ``floor``: log-weights below it may be skipped (−inf: none). Valid only when every sample's
    complete sum has a term E = 0 (its μ = μ0 term): with ``floor = −(60 + ln n)`` the skipped
    terms then weigh less than e^{-60} of the sum together."""
    M, c = G.shape
    ng = min(M, GROUPS)
    for gi in numba.prange(ng):
        gl = np.empty(c)  # local copies: several times faster than sweeping the views
        dl = np.empty(c)
        for i in range(gi * M // ng, (gi + 1) * M // ng):
            if perm.shape[0] == c:
                gather(G[i], D[i], perm, gl, dl)
            else:
                gl[:] = G[i]
                dl[:] = D[i]
            accumulate(gl, dl, bounds, segc, vs, fast_exp, floor, m[i], s1[i], s2[i], sc[i], C)


@numba.njit(cache=True, fastmath=False, parallel=True, nogil=True)
def update_products(P, R, p0, c, a0sq, bsq, xia0, inv1, inv2, zc, vs, perm, bounds, segc, C, fast_exp, floor,
                    m, s1, s2, sc, Gout, Dout, col0):
    """As ``update``, with (G, D) assembled from the products P = A0 Bᵀ, R = Ξ Bᵀ (columns
    ``p0:p0 + c`` of ``P``, ``R``) exactly as ``mixture._gram`` does (``D = max(−2P + |a0|² + |b|², 0)/s²``,
    ``G = (R − ξ·a0)/s``, the μ = μ0 column ``zc[i]`` set to 0); stored into columns ``col0:col0 + c``
    of ``Gout``/``Dout`` when they have rows (whole arrays, so that one compiled version serves every
    block). ``P``, ``R`` may be ``Dout``, ``Gout`` themselves (``p0 = col0``): each row is read
    whole before it is written."""
    M = P.shape[0]
    store = Gout.shape[0] == M
    ng = min(M, GROUPS)
    for gi in numba.prange(ng):
        g = np.empty(c)
        d = np.empty(c)
        gl = np.empty(c if perm.shape[0] == c else 0)
        dl = np.empty(c if perm.shape[0] == c else 0)
        for i in range(gi * M // ng, (gi + 1) * M // ng):
            for k in range(c):
                dk = (np.float64(P[i, p0 + k]) * -2.0 + a0sq[i]) + bsq[k]
                dk = max(dk, 0.0)
                gk = np.float64(R[i, p0 + k]) - xia0[i]
                if inv1 != 1.0:
                    dk *= inv2
                    gk *= inv1
                d[k] = dk
                g[k] = gk
            if zc[i] >= 0:
                d[zc[i]] = 0.0
                g[zc[i]] = 0.0
            if store:
                Gout[i, col0:col0 + c] = g
                Dout[i, col0:col0 + c] = d
            if perm.shape[0] == c:
                gather(g, d, perm, gl, dl)
                accumulate(gl, dl, bounds, segc, vs, fast_exp, floor, m[i], s1[i], s2[i], sc[i], C)
            else:
                accumulate(g, d, bounds, segc, vs, fast_exp, floor, m[i], s1[i], s2[i], sc[i], C)
