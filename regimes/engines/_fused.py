"""Fused online log-sum-exp kernel (numba): the compiled path of :class:`~regimes.engines._lse.LSEState`.

Private to :mod:`regimes.engines`. numba is imported only when the kernel is first asked for
(:func:`kernel` loads the compiled functions of :mod:`regimes.engines._fused_numba`), never by
``import regimes``; without numba :func:`available` is False and the
engine keeps its pure-numpy path.

What the kernel does, per sample (rows split across numba's threads with ``prange``; each sample
is computed start to end by one thread, so the result does not depend on the number of threads):

* the sample's row of (G, D) is copied once into a local buffer — assembled there from the two
  raw GEMM products with the same roundings as the numpy path (:func:`update_products`), or
  gathered from stored statistics (:func:`update`) — with the columns grouped by class;
* for each chunk of 512 columns (which stays in the L1 cache) and each time j, one sweep computes
  ``E = v_j G − ½v_j² D`` and the weights ``e^{E−m_j}`` (vectorised: the kernel's own float64
  exponential, Cody–Waite reduction and a degree-13 polynomial evaluated with fused multiply-adds,
  exact scaling by 2^k), then a second, reassociated sweep their sums Σw and Σw² (8-wide
  vectors). Per-class sums are the sums over each class's columns: no scattered adds.

**The reference m.** The numpy path rescales by the running maximum, which costs one more sweep
per time. The kernel uses a reference instead: 0 for an empty state — the μ = μ0 term is exactly
0, so the final maximum is ≥ 0 — and otherwise the state's current one. A block is accepted when
its weights are representable: Σw² ≤ 1e200 (no weight above 1e100) and, for an empty state,
Σw ≥ 1e-100 (the largest weight ≥ 1e-106, so the weights flushed to zero, below e^{-708},
and the squares that underflow, below 1e-154, are negligible against it). Otherwise (rare) that
(sample, time) is redone with the block's exact maximum as the reference, as the numpy path
does. After each block the reference is shifted by ln Σw whenever Σw leaves [1e-50, 1e50], so
the sums stay O(1). ``finish`` (``L = m + ln Σw`` …) and ``merge`` do not depend on which
reference was used.

**Negligible chunks.** With a ``floor`` (``LSEState(..., floor=negligible_below(n))``, set by the
engine's pass and by the re-evaluation from stored statistics, whose sums all hold the μ = μ0
term E = 0), a chunk whose largest possible log-weight at a time, ``v·max G − ½v²·min D``, lies
below ``−(60 + ln n)`` is skipped for that time — all such terms together weigh < e^{-60} of the
sum — and tiny blocks are not redone (they are negligible against the E = 0 term). Without a
floor nothing is skipped.

The sums run in another order than numpy's (pairwise) and the exponential is not numpy's, so the
two paths agree to a few units in the last place (tested to 1e-12 relative), not bit for bit. In
float64 the exponential does not depend on the C library. With ``fast_exp`` (float32 products)
the exponent and the weight are rounded to float32, as the numpy path does (~1e-7). For a given
machine and input, the result is identical run to run and for any thread count.
"""

from __future__ import annotations

import os
import threading

__all__ = ["available", "kernel", "segments"]

_KERNEL = None
_TRIED = False


def available() -> bool:
    """Whether numba can be imported (without compiling anything)."""
    if os.environ.get("REGIMES_DISABLE_NUMBA"):
        return False
    import importlib.util

    return importlib.util.find_spec("numba") is not None


def kernel():
    """The compiled kernels ``(update, update_products)`` (compiled on first use, cached on disk)."""
    global _KERNEL, _TRIED
    if _KERNEL is None:
        if _TRIED or not available():
            raise ImportError("the numba engine needs numba (pip install 'regimes[fast]')")
        _TRIED = True
        from ._fused_numba import update, update_products

        _KERNEL = (_serialised(update), _serialised(update_products))
    return _KERNEL


#: one fused-kernel call at a time in a process: the kernel already runs on every core (prange), and
#: numba's workqueue threading layer (the only one without TBB or OpenMP) aborts the process when
#: two threads — e.g. Dask's worker threads — call a parallel function at once
_CALLS = threading.Lock()


def _serialised(fn):
    def call(*args):
        with _CALLS:
            return fn(*args)
    return call


def segments(codes, C: int):
    """``(perm, bounds, class of each segment)`` grouping a block's columns by class.

    ``perm`` is empty when the codes are already sorted (no gather); ``bounds`` are the segments'
    limits in the grouped order. Without classes (``C == 0``) one segment covers the block.
    """
    import numpy as np

    c = codes.shape[0]  # without classes: one segment over the block's c columns
    if C == 0 or c == 0:
        return np.zeros(0, np.int64), np.array([0, c], np.int64), np.zeros(1, np.int64)
    if np.all(codes[1:] >= codes[:-1]):
        perm, grouped = np.zeros(0, np.int64), codes
    else:
        perm = np.argsort(codes, kind="stable").astype(np.int64)
        grouped = codes[perm]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    return perm, np.r_[starts, c].astype(np.int64), grouped[starts].astype(np.int64)
