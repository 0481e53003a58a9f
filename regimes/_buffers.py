"""Large write-once working buffers that do not stall on transparent huge pages.

numpy asks the kernel for transparent huge pages on every large array (``madvise(MADV_HUGEPAGE)``).
Where the kernel's ``transparent_hugepage/defrag`` setting is ``madvise`` (a common default), the
first touch of such an array compacts memory synchronously to find 2 MB pages; on a host whose
memory is fragmented that costs seconds of system time per analysis. Measured here (2 cores,
n = 20 000, d = 1 024, M = 1 024): one engine call spent 0.8–1.9 s of system time touching its
stored statistics (2 × 164 MB), 0.2–0.25 s with :func:`large_empty`; a whole ``analyze`` took
6.1–7.5 s (1.5–2.4 s of it system time) before and 5.5–6.1 s (0.55–0.7 s) after, in alternating
fresh processes (same bits: the buffers' contents are the same).

:func:`large_empty` maps private anonymous memory itself (copy-on-write across ``fork``, as
numpy's arrays are) and advises the kernel against huge pages for it
(Linux; elsewhere, or for small arrays, it is :func:`numpy.empty`). The rest of the process is
untouched: numpy's own setting is global and belongs to the user.
"""

from __future__ import annotations

import mmap

import numpy as np

__all__ = ["LARGE_BYTES", "large_empty", "selected_rows"]

#: Arrays at least this large are mapped by :func:`large_empty` (smaller ones gain nothing).
LARGE_BYTES = 16 * 2**20


def large_empty(shape, dtype=np.float64) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype``, like :func:`numpy.empty`.

    At least :data:`LARGE_BYTES` on Linux: backed by its own anonymous mapping advised
    ``MADV_NOHUGEPAGE`` (its pages are faulted in 4 KB at a time, never by synchronous
    compaction); freed when the array and its views are. Writable, picklable as any array.
    """
    dt = np.dtype(dtype)
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    count = int(np.prod(shape, dtype=np.int64))
    nbytes = count * dt.itemsize
    if nbytes < LARGE_BYTES or not hasattr(mmap, "MADV_NOHUGEPAGE"):
        return np.empty(shape, dt)
    # private: copy-on-write across fork and ordinary anonymous memory, as numpy's own arrays are
    # (mmap's default for -1 is a shared mapping: shmem, visible to forked children)
    region = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        region.madvise(mmap.MADV_NOHUGEPAGE)
    except OSError:  # pragma: no cover - a kernel without transparent huge pages: nothing to advise
        pass
    return np.frombuffer(region, dtype=dt, count=count).reshape(shape)


def selected_rows(B: np.ndarray, mask: np.ndarray, out=None) -> np.ndarray:
    """The rows of ``B`` where ``mask`` is True, in order, as a C-contiguous array: a view of ``B``
    when they form one contiguous run (classes stored one after the other: no copy), else gathered
    into ``out[:k]`` (a buffer of at least k rows, reused across blocks) or a new array.

    Same values, order and layout either way, so reductions and products over the result give the
    same bits as on a copy (``B`` must be C-contiguous).
    """
    idx = np.flatnonzero(mask)
    k = idx.size
    if k and int(idx[-1]) - int(idx[0]) + 1 == k and B.flags.c_contiguous:
        return B[int(idx[0]):int(idx[-1]) + 1]
    if out is None:
        return np.take(B, idx, axis=0)
    return np.take(B, idx, axis=0, out=out[:k], mode="clip")  # (valid indices; "raise" would buffer out)
