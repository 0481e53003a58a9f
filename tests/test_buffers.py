"""regimes._buffers.large_empty: the kernel really maps the buffer without huge pages (read back
from /proc/self/smaps, the kernel's own account of the process's mappings), the buffer behaves as
a numpy array, it is unmapped when dropped, and the engines' results do not depend on it."""

import gc
import mmap
import pickle
import sys

import numpy as np
import pytest

from regimes._buffers import LARGE_BYTES, large_empty

linux_only = pytest.mark.skipif(not (sys.platform.startswith("linux") and hasattr(mmap, "MADV_NOHUGEPAGE")),
                                reason="MADV_NOHUGEPAGE and /proc/self/smaps are Linux's")


def _mapping_flags(address: int):
    """VmFlags of the mapping of this process that contains ``address`` (None if none does)."""
    with open("/proc/self/smaps") as f:
        inside = False
        for line in f:
            head = line.split()[0]
            if "-" in head and all(c in "0123456789abcdef-" for c in head):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= address < hi
            elif inside and line.startswith("VmFlags:"):
                return line.split()[1:]
    return None


@linux_only
def test_large_buffer_is_advised_against_huge_pages():
    a = large_empty((LARGE_BYTES // 8 + 5,))
    flags = _mapping_flags(a.ctypes.data)
    assert flags is not None and "nh" in flags  # MADV_NOHUGEPAGE, as the kernel records it
    b = np.empty(LARGE_BYTES // 8 + 5)  # numpy's own large arrays are not so advised
    assert "nh" not in (_mapping_flags(b.ctypes.data) or [])


@linux_only
def test_buffer_is_private_memory_like_numpy_arrays():
    """Copy-on-write across fork (a child's writes do not reach the parent) and not shared memory
    (no ``sh`` flag): Python's ``mmap(-1, n)`` alone would map shared memory."""
    import os

    a = large_empty((LARGE_BYTES // 8,))
    a[:] = 1.0
    assert "sh" not in _mapping_flags(a.ctypes.data)
    pid = os.fork()
    if pid == 0:  # the child writes and leaves at once
        a[:] = 42.0
        os._exit(0)
    os.waitpid(pid, 0)
    assert a[0] == 1.0 and a[-1] == 1.0


@linux_only
def test_buffer_is_unmapped_when_dropped():
    a = large_empty((3, LARGE_BYTES // 8))
    view = a[1]
    address = a.ctypes.data
    del a
    gc.collect()
    assert _mapping_flags(address) is not None  # a view keeps the mapping alive
    view[:] = 1.0
    del view
    gc.collect()
    assert _mapping_flags(address) is None


@pytest.mark.parametrize("shape,dtype", [((4, 5), np.float32), ((LARGE_BYTES // 8,), np.float64),
                                         ((2, LARGE_BYTES // 16 + 3), np.float64), ((1, LARGE_BYTES), np.uint8)])
def test_behaves_as_numpy_empty(shape, dtype):
    a = large_empty(shape, dtype)
    assert a.shape == shape and a.dtype == np.dtype(dtype)
    assert a.flags.c_contiguous and a.flags.writeable and a.flags.aligned
    a[...] = 7
    b = pickle.loads(pickle.dumps(a))
    assert np.array_equal(a, b) and b.flags.writeable


def test_accumulated_moments_equal_those_of_fresh_arrays():
    """The per-class sums (selection into a reused buffer) give the bits of the fresh-array
    computation written out here."""
    from regimes.data import as_source
    from regimes.engines.covariance import class_grams

    g = np.random.default_rng(3)
    X = g.standard_normal((60001, 300))  # several blocks of the default size
    lab = g.integers(0, 3, X.shape[0])
    src = as_source(X, labels=lab)
    got = class_grams(src)
    for grp in (0, 1, 2):
        n, s, S = 0, np.zeros(300), np.zeros((300, 300))
        for a, b, B in src.blocks():
            R = B[lab[a:b] == grp]
            n, s, S = n + R.shape[0], s + R.sum(axis=0), S + R.T @ R
        n1, s1, S1 = got.group(grp)
        assert n1 == n and np.array_equal(s1, s) and np.array_equal(S1, S)


@pytest.mark.parametrize("kind", ["run", "scattered", "empty", "all", "single"])
def test_selected_rows_equal_boolean_indexing_bit_for_bit(kind):
    """The class passes' row selection: a view for one run of rows, a gather otherwise — the same
    rows as ``B[mask]`` and the same bits for the reductions and products taken on them."""
    from regimes._buffers import selected_rows

    g = np.random.default_rng(3)
    B = g.standard_normal((301, 37)) * 1e3 + 7.0
    mask = {"run": np.arange(301) // 100 == 1, "scattered": g.random(301) < 0.4, "empty": np.zeros(301, bool),
            "all": np.ones(301, bool), "single": np.arange(301) == 150}[kind]
    ref = B[mask]
    for out in (None, np.empty_like(B)):
        Y = selected_rows(B, mask, out)
        assert Y.flags.c_contiguous and Y.shape == ref.shape and np.array_equal(Y, ref)
        if kind in ("run", "all", "single"):
            assert np.shares_memory(Y, B)  # no copy
        elif kind == "scattered" and out is not None:
            assert np.shares_memory(Y, out)  # gathered into the caller's buffer
        if ref.shape[0]:
            assert np.array_equal(Y.sum(axis=0), ref.sum(axis=0))
            assert np.array_equal(Y.T @ Y, ref.T @ ref)
    # a non-contiguous block is gathered, never returned as a strided view
    Bf = np.asfortranarray(B)
    assert selected_rows(Bf, mask).flags.c_contiguous or not mask.any()
