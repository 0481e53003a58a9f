"""Row views: array-likes that are not numpy arrays (HDF5/zarr datasets, torch/JAX/cupy tensors) read
by row slices, and iterables of batches (a DataLoader) streamed once into a temporary memory map.

A :class:`RowView` presents any object with ``shape`` and row slicing as an (n, d) array whose
``view[s:e]`` is a numpy block: nothing is copied until the engines ask for a block, so an HDF5
dataset or a GPU tensor larger than RAM is read (or copied to the host) block by block.

An iterable of batches has no length or random access: :func:`spool_batches` writes it once, in
order, to a temporary file that is then read like a memory-mapped ``.npy`` (pread, page cache) and
removed when the :class:`regimes.data.DataSource` reading it is garbage collected.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence

import numpy as np

from .._errors import RegimesError

__all__ = ["RowView", "check_numeric", "is_batch_iterable", "is_lazy_array", "read_file_rows", "remove_quietly",
           "spool_batches", "to_numpy"]


def remove_quietly(path) -> None:
    """Remove a temporary file (nothing when it is already gone)."""
    try:
        os.unlink(path)
    except OSError:
        pass


def check_numeric(arr, where: str) -> None:
    """Refuse data that are not of an integer or real dtype (objects, bool, complex, strings, …)."""
    if arr.dtype == object:
        raise RegimesError(f"{where}: data must be a numeric array (ragged rows or objects found)")
    if arr.dtype.kind not in "iuf":
        raise RegimesError(f"{where}: data must have an integer or real dtype, got {arr.dtype}")


def read_file_rows(path, offset: int, dtype, d: int, s: int, e: int, where: str) -> np.ndarray:
    """Rows ``s:e`` of a C-ordered (n, d) array stored at byte ``offset`` of ``path``, read with
    ``pread`` (the pages go to the page cache, not to this process). One ``pread`` returns at most
    ~2 GiB on Linux: larger reads continue until the rows are complete or the file ends."""
    dtype = np.dtype(dtype)
    nbytes = (e - s) * d * dtype.itemsize
    start = offset + s * d * dtype.itemsize
    fd = os.open(path, os.O_RDONLY)
    parts, got = [], 0
    try:
        while got < nbytes:
            more = os.pread(fd, nbytes - got, start + got)
            if not more:  # the end of the file
                break
            parts.append(more)
            got += len(more)
    finally:
        os.close(fd)
    if got != nbytes:
        raise RegimesError(f"{where}: file is truncated (short read at row {s})")
    return np.frombuffer(parts[0] if len(parts) == 1 else b"".join(parts), dtype=dtype).reshape(e - s, d)


def to_numpy(block) -> np.ndarray:
    """A numpy array of ``block``: itself, a zero-copy DLPack view (CPU), or a host copy
    (``.cpu()`` of torch, ``.get()`` of cupy), else ``numpy.asarray``."""
    if isinstance(block, np.ndarray):
        return block
    if hasattr(block, "__dlpack__"):
        try:
            return np.from_dlpack(block)
        except (BufferError, RuntimeError, TypeError, ValueError):
            pass  # not on the CPU (or a dtype DLPack cannot carry): copy to the host below
    if callable(getattr(block, "cpu", None)):  # torch (and the like): a host copy
        block = block.cpu()
    elif hasattr(block, "__cuda_array_interface__") and callable(getattr(block, "get", None)):  # cupy
        block = block.get()
    if callable(getattr(block, "detach", None)):
        block = block.detach()
    if callable(getattr(block, "numpy", None)):
        return np.asarray(block.numpy())
    return np.asarray(block)


def is_lazy_array(obj) -> bool:
    """An array-like worth reading by row slices: a shape, row slicing, and not a numpy array
    (nor a pandas/polars object, which converts itself: ``to_numpy``)."""
    if isinstance(obj, np.ndarray | list | tuple) or callable(getattr(obj, "to_numpy", None)):
        return False
    shape = getattr(obj, "shape", None)
    return (isinstance(shape, tuple | list) or type(shape).__name__ in ("Size", "TensorShape")) and \
        hasattr(obj, "__getitem__") and (hasattr(obj, "__dlpack__") or hasattr(obj, "dtype"))


def is_batch_iterable(obj) -> bool:
    """An iterable that is neither an array nor a sequence of numbers (e.g. a DataLoader, a generator)."""
    if isinstance(obj, str | bytes | os.PathLike | np.ndarray | Sequence | Mapping):
        return False  # a range, an array.array, a deque of numbers: a sequence of values, not batches
    if hasattr(obj, "__array__") or hasattr(obj, "__dlpack__") or hasattr(obj, "shape"):
        return False
    return hasattr(obj, "__iter__")


def _dtype_of(obj):
    try:
        return np.dtype(obj.dtype)
    except (AttributeError, TypeError):  # no dtype, or torch.float32 and the like: read one row
        return to_numpy(obj[0:1]).dtype


class RowView:
    """An (n, d) view of ``base`` (shape (n, ...)): ``view[s:e]`` and ``view[index]`` are numpy blocks.

    Trailing axes are flattened per block; ``base`` is never read whole.
    """

    def __init__(self, base, where: str = "<array>"):
        if not all(hasattr(s, "__index__") for s in base.shape):  # nan or None: e.g. a Dask array after
            shown = "(" + ", ".join(str(s) for s in base.shape) + ")"  # boolean indexing, (nan, d)
            if type(base).__module__.startswith("dask."):
                raise RegimesError(f"{where}: a Dask array with unknown chunk sizes (shape {shown}); call "
                                   "x.compute_chunk_sizes() first")
            raise RegimesError(f"{where}: an array of unknown shape {shown}; give one whose shape is known")
        shape = tuple(int(s) for s in base.shape)
        if len(shape) == 0:
            raise RegimesError(f"{where}: data must be an array of rows, got a scalar")
        self.base = base
        self.where = where
        self.shape = (shape[0], int(math.prod(shape[1:])) if len(shape) > 1 else 1)
        self.ndim = 2
        self.dtype = _dtype_of(base)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index) -> np.ndarray:
        if isinstance(index, slice):
            block = to_numpy(self.base[index])
        else:
            idx = np.asarray(index)
            if idx.ndim == 0:
                return self[int(idx):int(idx) + 1][0]
            try:  # h5py and zarr take increasing index lists; tensors take any
                block = to_numpy(self.base[idx.tolist()])
            except (TypeError, ValueError, IndexError):
                block = np.stack([to_numpy(self.base[int(i):int(i) + 1])[0] for i in idx]) if idx.size else \
                    np.empty((0,) + self.shape[1:], dtype=self.dtype)
        return np.ascontiguousarray(block).reshape(block.shape[0], self.shape[1])


def _split_batch(batch, key, where):
    """``(x, y or None)`` of one batch: an array, an ``(x, y)`` pair, or a mapping (``key`` picks x)."""
    if isinstance(batch, dict) or (hasattr(batch, "keys") and hasattr(batch, "__getitem__")
                                   and not hasattr(batch, "shape")):
        keys = list(batch.keys())
        if key is None:
            raise RegimesError(f"{where}: batches are mappings with keys {', '.join(map(str, keys))}; "
                               "choose the data with key=")
        if key not in keys:
            raise RegimesError(f"{where}: no key {key!r} in a batch (found {', '.join(map(str, keys))})")
        return batch[key], None
    if isinstance(batch, tuple | list) and len(batch) == 2:
        return batch[0], batch[1]
    return batch, None


def spool_batches(batches, *, key=None, where: str = "<batches>", directory=None):
    """Write an iterable of batches once to a temporary file: ``(memmap, path, labels or None)``.

    Each batch is an array (rows first), a pair ``(x, y)`` (``y`` collected as labels, as a
    PyTorch DataLoader yields them) or a mapping (``key`` names the data). Batches must agree in
    their trailing shape; their dtype is that of the first batch (later batches must cast to it
    safely). The file lives in ``directory`` (default: the system temporary folder).
    """
    fd, path = tempfile.mkstemp(prefix="regimes-batches-", suffix=".bin", dir=directory)
    n, d, dtype, labels = 0, None, None, []
    try:
        with os.fdopen(fd, "wb") as fh:
            for i, batch in enumerate(batches):
                x, y = _split_batch(batch, key, where)
                a = to_numpy(x)
                if a.ndim == 0:
                    raise RegimesError(f"{where}: batch {i} is a scalar, not rows")
                a = a.reshape(a.shape[0], -1)
                if dtype is None:
                    dtype, d = a.dtype, a.shape[1]
                    if dtype.kind not in "iuf":
                        raise RegimesError(f"{where}: batches must hold integers or reals, got {dtype}")
                if a.shape[1] != d:
                    raise RegimesError(f"{where}: batch {i} has {a.shape[1]} features per row, the first had {d}")
                if not np.can_cast(a.dtype, dtype, "safe"):  # int64 into int8, float64 into float32: refused
                    raise RegimesError(f"{where}: batch {i} has dtype {a.dtype}, which does not fit the first "
                                       f"batch's {dtype} without loss; give all batches one dtype")
                fh.write(np.ascontiguousarray(a, dtype=dtype).tobytes())
                if y is not None:
                    labels.append(np.asarray(to_numpy(y) if not isinstance(y, list | tuple) else y).reshape(-1))
                elif labels:
                    raise RegimesError(f"{where}: batch {i} has no labels, earlier batches had")
                n += a.shape[0]
        if n == 0:
            raise RegimesError(f"{where}: the iterable yielded no rows")
        mm = np.memmap(path, dtype=dtype, mode="r", shape=(n, d))
    except BaseException:
        remove_quietly(path)
        raise
    lab = np.concatenate(labels) if labels else None
    return mm, path, lab
