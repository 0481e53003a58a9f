"""Readers of the formats researchers keep training sets and latents in, each an optional extra
imported only when such a file is read.

=================================  ==============================  =======================================
format                             extra                           read
=================================  ==============================  =======================================
HDF5 ``.h5``/``.hdf5``/``.hdf``    ``regimes[hdf5]`` (h5py)        ``key`` = dataset path; block by block
zarr store folder or ``.zip``      ``regimes[zarr]`` (zarr)        ``key`` = array path; block by block
safetensors ``.safetensors``       none (the header is parsed)     ``key`` = tensor; memory map + pread
Parquet ``.parquet``               ``regimes[arrow]`` (pyarrow)    ``key`` = column; row group by row group
Arrow/Feather ``.arrow``           ``regimes[arrow]`` (pyarrow)    ``key`` = column; memory-mapped
Hugging Face ``save_to_disk``      ``regimes[arrow]`` (pyarrow)    ``key`` = column; memory-mapped
=================================  ==============================  =======================================

A zarr ``key`` may name an array in a sub-group (``train/images``); without one the store must
hold a single array at any depth. An Arrow/Feather file written compressed (pyarrow's default for
Feather is lz4) cannot be memory-mapped: it is decompressed whole into memory, and refused when
that would not fit — write it with ``compression='uncompressed'``.

An Arrow column is a fixed-size list (nested for images, e.g. ``[3][32][32]``), a list whose
rows all have the same length, a fixed-shape tensor, or a plain numeric column (d = 1).
Pickled files (``.pt``, ``.pth``, ``.pkl``, ``.ckpt``) are never opened: unpickling runs code.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

from .._errors import RegimesError
from .._validate import available_memory_bytes
from .rows import RowView

__all__ = ["choose_key", "PICKLE_SUFFIXES", "SUFFIXES", "is_hf_dataset", "is_zarr_store", "read_format"]

PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib")
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5")
ARROW_SUFFIXES = (".arrow", ".feather", ".ipc")
SUFFIXES = (*HDF5_SUFFIXES, ".zarr", ".zip", ".safetensors", ".parquet", ".pq", *ARROW_SUFFIXES)


def _need(module: str, extra: str, name: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise RegimesError(f"{name}: reading this format needs {module.split('.')[0]}; "
                           f"install the extra `regimes[{extra}]`") from None


def choose_key(name, what, keys, key):
    """``key`` among ``keys`` (the only one when ``key`` is None), or a clear error naming them."""
    keys = list(keys)
    if not keys:
        raise RegimesError(f"{name}: holds no {what} (nothing to read)")
    if key is None:
        if len(keys) != 1:
            raise RegimesError(f"{name}: holds {len(keys)} {what}s ({', '.join(keys[:10])}"
                               f"{', …' if len(keys) > 10 else ''}); choose one with key= (--key)")
        return keys[0]
    if key not in keys:
        raise RegimesError(f"{name}: no {what} {key!r} (found {', '.join(keys[:10]) or 'none'})")
    return key


def reject_pickle(p: Path) -> None:
    """The one-line error for a pickled file (never unpickled)."""
    raise RegimesError(
        f"{p}: {p.suffix} files are pickles and are never opened (unpickling runs arbitrary code); "
        "convert the tensor once, e.g. `np.save('x.npy', torch.load('x.pt').numpy())` or "
        "`safetensors.torch.save_file({'x': t}, 'x.safetensors')`, and read that"
    )


# -- HDF5 ------------------------------------------------------------------------------------
def _read_hdf5(p: Path, name: str, key):
    h5py = _need("h5py", "hdf5", name)
    try:
        f = h5py.File(p, "r")
    except OSError as exc:
        raise RegimesError(f"{name}: unreadable HDF5 file ({exc})") from None
    found: list[str] = []
    f.visititems(lambda k, v: found.append(k) if isinstance(v, h5py.Dataset) else None)
    key = choose_key(name, "dataset", found, key.lstrip("/") if key else key)
    ds = f[key]
    # read by row slices, never copied whole (and on a cluster, by path on the workers)
    return RowView(ds, name)


# -- zarr ------------------------------------------------------------------------------------
def is_zarr_store(p: Path) -> bool:
    return p.is_dir() and any((p / m).exists() for m in ("zarr.json", ".zarray", ".zgroup"))


def _read_zarr(p: Path, name: str, key):
    zarr = _need("zarr", "zarr", name)
    try:
        if p.suffix.lower() == ".zip":
            store = zarr.storage.ZipStore(str(p), mode="r")
            node = zarr.open(store=store, mode="r")
        else:
            node = zarr.open(str(p), mode="r")
    except Exception as exc:  # noqa: BLE001 - any failure is an unreadable store
        raise RegimesError(f"{name}: unreadable zarr store ({exc})") from None
    if hasattr(node, "array_keys"):  # a group: its arrays at any depth, by path ("train/images")
        key = choose_key(name, "array", _zarr_arrays(node), key)
        node = node[key]
    elif key is not None:
        raise RegimesError(f"{name}: the store is a single array; key={key!r} does not apply")
    return RowView(node, name)


def _zarr_arrays(group) -> list[str]:
    """Paths of the arrays in a zarr group and its sub-groups (sorted)."""
    if hasattr(group, "members"):  # zarr 3
        return sorted(k for k, v in group.members(max_depth=None) if not hasattr(v, "array_keys"))
    found: list[str] = []  # zarr 2
    group.visitvalues(lambda v: found.append(v.path[len(group.path):].lstrip("/"))
                      if not hasattr(v, "array_keys") else None)
    return sorted(found)


# -- safetensors -----------------------------------------------------------------------------
_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
              "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1"}


def _read_safetensors(p: Path, name: str, key):
    """``(memmap, data offset)`` of one tensor: the documented layout (8-byte little-endian header
    length, JSON header, raw little-endian C-ordered data), so no torch and no copy."""
    try:
        with open(p, "rb") as fh:
            (hlen,) = struct.unpack("<Q", fh.read(8))
            if hlen > os.path.getsize(p) - 8:
                raise ValueError("header length past the end of the file")
            header = json.loads(fh.read(hlen))
    except (OSError, ValueError, struct.error) as exc:
        raise RegimesError(f"{name}: unreadable safetensors file ({exc})") from None
    header.pop("__metadata__", None)
    key = choose_key(name, "tensor", sorted(header), key)
    info = header[key]
    if info["dtype"] not in _ST_DTYPES:
        raise RegimesError(f"{name}: tensor {key!r} has dtype {info['dtype']}, which numpy cannot read; "
                           "save it as float32 (e.g. `t.float()`)")
    dt = np.dtype(_ST_DTYPES[info["dtype"]])
    shape = tuple(int(s) for s in info["shape"])
    begin, end = (int(x) for x in info["data_offsets"])
    offset = 8 + hlen + begin
    if end - begin != dt.itemsize * int(np.prod(shape)) or offset + (end - begin) > os.path.getsize(p):
        raise RegimesError(f"{name}: tensor {key!r}: file is truncated or corrupt")
    arr = np.memmap(p, dtype=dt, mode="r", offset=offset, shape=shape) if shape and 0 not in shape else \
        np.zeros(shape, dtype=dt)
    return arr, offset


# -- Arrow / Parquet -------------------------------------------------------------------------
def is_hf_dataset(p: Path) -> bool:
    """A Hugging Face ``Dataset.save_to_disk`` folder: ``state.json`` and ``.arrow`` files."""
    return p.is_dir() and (p / "state.json").is_file() and any(p.glob("*.arrow"))


def _column_numpy(chunk, name, key) -> np.ndarray:
    """An Arrow array of one row-shaped column as an (rows, d) numpy array (zero-copy when possible)."""
    import pyarrow as pa

    t = chunk.type
    if isinstance(t, pa.BaseExtensionType):
        chunk, t = chunk.storage, t.storage_type
    if chunk.null_count:
        raise RegimesError(f"{name}: column {key!r} has missing rows (nulls)")
    rows, values = len(chunk), chunk
    while pa.types.is_fixed_size_list(values.type) or pa.types.is_list(values.type) \
            or pa.types.is_large_list(values.type):
        if not pa.types.is_fixed_size_list(values.type):
            lengths = values.value_lengths().to_numpy(zero_copy_only=False)
            if lengths.size and np.any(lengths != lengths[0]):
                raise RegimesError(f"{name}: column {key!r} has rows of different lengths")
        values = values.flatten()
    if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        raise RegimesError(f"{name}: column {key!r} holds {t}, not numbers (use a fixed-size list, "
                           "a tensor or a numeric column)")
    if values.null_count:
        raise RegimesError(f"{name}: column {key!r} has missing values (nulls)")
    return values.to_numpy(zero_copy_only=False).reshape(rows, -1)  # rows > 0: callers skip empty chunks


class _ArrowRows:
    """Row slices of one column of an Arrow table (memory-mapped) or of a Parquet file (by row groups)."""

    def __init__(self, name, key, n, *, table=None, parquet=None):
        self.name, self.key, self.table, self.pq = name, key, table, parquet
        self._group = (None, None)  # (index, numpy rows) of the last Parquet row group read
        if parquet is not None:
            meta = parquet.metadata
            sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
            self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        if int(n) == 0:
            raise RegimesError(f"{name}: column {key!r} has no rows")
        self.shape = None
        first = self._slice(0, 1)
        self.shape = (int(n), int(first.shape[1]))
        self.dtype = first.dtype
        self.ndim = 2

    def __len__(self):
        return self.shape[0]

    def _group_rows(self, g):
        if self._group[0] != g:
            col = self.pq.read_row_group(g, columns=[self.key]).column(0)
            self._group = (g, self._join([_column_numpy(c, self.name, self.key) for c in col.chunks if len(c)]))
        return self._group[1]

    def _join(self, parts):
        """One (rows, d) block of non-empty parts, every one as wide as the first row of the column."""
        d = parts[0].shape[1] if self.shape is None else self.shape[1]
        if any(p.shape[1] != d for p in parts):
            raise RegimesError(f"{self.name}: column {self.key!r} has rows of different lengths")
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _slice(self, s, e):
        if e <= s:
            return np.empty((0, self.shape[1]), dtype=self.dtype)
        if self.table is not None:
            col = self.table.column(self.key).slice(s, e - s)
            return self._join([_column_numpy(c, self.name, self.key) for c in col.chunks if len(c)])
        g0 = int(np.searchsorted(self.starts, s, side="right")) - 1
        g1 = int(np.searchsorted(self.starts, e - 1, side="right")) - 1
        parts = []
        for g in range(g0, g1 + 1):
            lo, hi = int(self.starts[g]), int(self.starts[g + 1])
            if hi > lo:  # an empty row group holds nothing to read
                parts.append(self._group_rows(g)[max(s, lo) - lo:min(e, hi) - lo])
        return self._join(parts)

    def __getitem__(self, index):
        """Row slices only: the :class:`RowView` around it reads other indices slice by slice."""
        if not isinstance(index, slice):
            raise TypeError("row slices only")
        s, e, _ = index.indices(self.shape[0])
        return self._slice(s, max(s, e))


def _arrow_table(p: Path, name: str):
    pa = _need("pyarrow", "arrow", name)
    files = sorted(p.glob("*.arrow")) if p.is_dir() else [p]
    tables = []
    for f in files:
        try:
            src = pa.memory_map(str(f), "r")
            try:
                reader = pa.ipc.open_file(src)
                _check_decompressed(pa, reader, f)
                tables.append(reader.read_all())
            except pa.ArrowInvalid:  # the stream format (as Hugging Face datasets writes it)
                src.seek(0)
                tables.append(pa.ipc.open_stream(src).read_all())
        except RegimesError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise RegimesError(f"{f}: unreadable Arrow file ({exc})") from None
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _check_decompressed(pa, reader, f) -> None:
    """An Arrow IPC file (Feather v2) written compressed (pyarrow's default for Feather: lz4) is
    decompressed whole into memory when read, whereas an uncompressed one is memory-mapped: refuse
    it when the decompressed data would not fit (estimated from its first record batch)."""
    k = reader.num_record_batches
    if k == 0:
        return
    before = pa.total_allocated_bytes()
    first = reader.get_batch(0)
    grown = pa.total_allocated_bytes() - before  # 0 for memory-mapped (uncompressed) buffers
    need, avail = grown * k, available_memory_bytes()
    if grown > 0 and need > avail:
        raise RegimesError(
            f"{f}: a compressed Arrow/Feather file is decompressed whole into memory when read: about "
            f"{need / 1e9:.3g} GB, more than the available memory ({avail / 1e9:.3g} GB); rewrite it uncompressed "
            "(pyarrow.feather.write_feather(table, path, compression='uncompressed')) to have it memory-mapped")
    del first


def _read_arrow(p: Path, name: str, key):
    if p.suffix.lower() in (".parquet", ".pq"):
        pq = _need("pyarrow.parquet", "arrow", name)
        try:
            f = pq.ParquetFile(str(p), memory_map=True)
        except Exception as exc:  # noqa: BLE001
            raise RegimesError(f"{name}: unreadable Parquet file ({exc})") from None
        key = choose_key(name, "column", f.schema_arrow.names, key)
        return RowView(_ArrowRows(name, key, f.metadata.num_rows, parquet=f), name)
    table = _arrow_table(p, name)
    key = choose_key(name, "column", table.column_names, key)
    return RowView(_ArrowRows(name, key, table.num_rows, table=table), name)


def format_of(p: Path) -> str | None:
    """The reader :func:`read_format` uses for ``p``: ``"hdf5"``, ``"safetensors"``, ``"arrow"``
    (Parquet, Arrow/Feather, a Hugging Face dataset folder), ``"zarr"`` — each a format whose
    ``key`` names one of the arrays it may hold — or None."""
    suffix = p.suffix.lower()
    if suffix in HDF5_SUFFIXES:
        return "hdf5"
    if suffix == ".safetensors":
        return "safetensors"
    if suffix in (".parquet", ".pq", *ARROW_SUFFIXES) or is_hf_dataset(p):
        return "arrow"
    if suffix == ".zip" or is_zarr_store(p) or (suffix == ".zarr" and p.is_dir()):
        return "zarr"
    return None


def read_format(p: Path, name: str, key):
    """``(array-like, file to pread or None, offset)`` of a file in one of :data:`SUFFIXES`, a zarr
    store folder or a Hugging Face dataset folder; None when ``p`` is none of these."""
    if p.suffix.lower() in PICKLE_SUFFIXES and p.is_file():
        reject_pickle(p)
    kind = format_of(p)
    if kind == "hdf5":
        return _read_hdf5(p, name, key), None, 0
    if kind == "safetensors":
        arr, offset = _read_safetensors(p, name, key)
        return arr, (str(p) if isinstance(arr, np.memmap) and arr.dtype.isnative else None), offset
    if kind == "arrow":
        return _read_arrow(p, name, key), None, 0
    if kind == "zarr":
        return _read_zarr(p, name, key), None, 0
    return None
