"""Fused online log-sum-exp kernel (numba): the compiled path of :class:`~regimes.engines._lse.LSEState`.

Private to :mod:`regimes.engines`. numba is imported only when the kernel is first asked for
(:func:`kernel`), never by ``import regimes``; without numba :func:`available` is False and the
engine keeps its pure-numpy path.

What the kernel does, per sample s (rows split across numba's threads with ``prange``; each
sample is computed start to end by one thread, so the result does not depend on the number of
threads) and per time j, on a block of columns (G, D):

* ``E_μ = v_j G_sμ − ½v_j² D_sμ`` — the same two roundings as the numpy path (no fused
  multiply-add: ``fastmath=False``);
* the block maximum, the rescaling factor ``r = exp(m_old − m_new)``, then
  ``Σ e^{E−m_new}``, ``Σ e^{2(E−m_new)}`` and the per-class sums, in one sweep over the row
  (which stays in cache across the times): no float64 temporaries in memory.

The sums run left to right in eight interleaved accumulators (then combined pairwise), not in
numpy's pairwise order, and the exponential is not numpy's, so
the two paths agree to a few units in the last place (tested to 1e-12 relative), not bit for
bit. In float64 the exponential is the kernel's own (Cody–Waite reduction, a degree-13
polynomial, exact scaling by 2^k; within ~2 ulp of the correctly rounded value, vectorised by
LLVM): the result does not depend on the C library. With ``fast_exp`` (float32 products) the
weights are exponentiated in float32 by the C library's ``expf``, as before to ~1e-7.
For a given machine and input, the kernel's result is identical run to run and for any
thread count.
"""

from __future__ import annotations

import os

__all__ = ["available", "kernel"]

_KERNEL = None
_TRIED = False


def available() -> bool:
    """Whether numba can be imported (without compiling anything)."""
    if os.environ.get("REGIMES_DISABLE_NUMBA"):
        return False
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def kernel():
    """The compiled ``update(G, D, vs, codes, C, fast_exp, m, s1, s2, sc)`` (compiled on first use)."""
    global _KERNEL, _TRIED
    if _KERNEL is None:
        if _TRIED or not available():
            raise ImportError("the numba engine needs numba (pip install 'regimes[fast]')")
        _TRIED = True
        _KERNEL = _build()
    return _KERNEL


def _build():
    import math

    import numba
    import numpy as np

    LOG2E = 1.4426950408889634
    LN2_HI = 6.93147180369123816490e-01  # Cody-Waite split of ln 2 (fdlibm): k*LN2_HI is exact
    LN2_LO = 1.90821492927058770002e-10
    CHUNK = 256

    @numba.njit(cache=True, fastmath=False, nogil=True)
    def _exp_chunk(x, out, kb):
        """out = e^x for x <= 0 (flushed to 0 below −708, where a weight is < 1e-307 of the
        largest one), branch-free so that LLVM vectorises it: Cody–Waite reduction, degree-13
        Taylor polynomial on |r| <= ln2/2 (truncation < 1e-17), 2^k from the exponent bits."""
        n = x.shape[0]
        for i in range(n):
            xi = max(x[i], -708.0)
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
            out[i] = p
            kb[i] = (np.int64(kf) + 1023) << 52
        sc = kb.view(np.float64)
        for i in range(n):
            out[i] = out[i] * sc[i] if x[i] >= -708.0 else 0.0

    @numba.njit(cache=True, fastmath=False, nogil=True)
    def _row(g, dd, vs, code, C, fast_exp, m, s1, s2, sc, buf):
        c = g.shape[0]
        xs = np.empty(CHUNK)
        ws = np.empty(CHUNK)
        kb = np.empty(CHUNK, dtype=np.int64)
        mx8 = np.empty(8)
        a1 = np.empty(8)
        a2 = np.empty(8)
        for j in range(vs.shape[0]):
            v = vs[j]
            h = 0.5 * v * v
            mx8[:] = -math.inf
            c8 = c - c % 8
            for k0 in range(0, c8, 8):
                for q in range(8):
                    e = g[k0 + q] * v - dd[k0 + q] * h
                    mx8[q] = max(mx8[q], e)
            mx = -math.inf
            for q in range(8):
                mx = max(mx, mx8[q])
            for k in range(c8, c):
                mx = max(mx, g[k] * v - dd[k] * h)
            m_old = m[j]
            m_new = m_old if m_old > mx else mx
            r = math.exp(m_old - m_new)
            a1[:] = 0.0
            a2[:] = 0.0
            if C > 0:
                buf[:] = 0.0
            for s0 in range(0, c, CHUNK):
                n = min(CHUNK, c - s0)
                for q in range(n):
                    xs[q] = (g[s0 + q] * v - dd[s0 + q] * h) - m_new
                if fast_exp:
                    for q in range(n):
                        w32 = np.float32(math.exp(np.float32(xs[q])))
                        ws[q] = np.float64(w32)
                        xs[q] = np.float64(w32 * w32)
                else:
                    _exp_chunk(xs[:n], ws[:n], kb[:n])
                    for q in range(n):
                        xs[q] = ws[q] * ws[q]
                n8 = n - n % 8
                for k0 in range(0, n8, 8):
                    for q in range(8):
                        a1[q] += ws[k0 + q]
                        a2[q] += xs[k0 + q]
                for q in range(n8, n):
                    a1[q % 8] += ws[q]
                    a2[q % 8] += xs[q]
                if C > 0:
                    for q in range(n):
                        buf[code[s0 + q]] += ws[q]
            t1 = ((a1[0] + a1[1]) + (a1[2] + a1[3])) + ((a1[4] + a1[5]) + (a1[6] + a1[7]))
            t2 = ((a2[0] + a2[1]) + (a2[2] + a2[3])) + ((a2[4] + a2[5]) + (a2[6] + a2[7]))
            s1[j] = s1[j] * r + t1
            s2[j] = s2[j] * (r * r) + t2
            for q in range(C):
                sc[j, q] = sc[j, q] * r + buf[q]
            m[j] = m_new

    @numba.njit(cache=True, fastmath=False, parallel=True, nogil=True)
    def update(G, D, vs, code, C, fast_exp, m, s1, s2, sc):
        M = G.shape[0]
        for i in numba.prange(M):
            buf = np.zeros(max(C, 1))
            _row(G[i], D[i], vs, code, C, fast_exp, m[i], s1[i], s2[i], sc[i], buf)

    return update
