"""Beyond one machine: the data passes of the analysis as Dask tasks on a cluster.

``with regimes.distributed.cluster("local:2"):`` (or ``analyze(..., cluster=...)``, ``regimes analyze
--cluster``) runs the passes over the rows as Dask tasks, one per chunk of rows, whose results merge
exactly:

* the validation statistics (finiteness, range, column sums; then the centred row norms);
* the covariance products: Gram sums ``Σ BᵀB`` (dense, d <= 4096), the block products ``Bᵀ(B V)``
  of the block Krylov method (d > 4096) and the row projections of the bootstraps;
* the mixture engine's pass: per chunk of training rows the (G, D) block is folded into a fresh
  online log-sum-exp state and the states merge exactly (``m = max(m1, m2)``,
  ``s = s1 e^{m1−m} + s2 e^{m2−m}``, the same for Σw² and the class sums).

The results equal the in-process path's for the same seed up to the order of floating-point
summation. The data reach the workers as a Dask array of row chunks: a Dask array as given, a
zarr array (re-opened on the workers), an HDF5 dataset or a ``.npy`` file (each read on the
workers by path: put it on storage every worker sees), or an in-memory array (scattered to the
workers once per :func:`cluster` context).

``cluster`` specs: ``"local"`` / ``"local:N"`` (a :class:`distributed.LocalCluster` of N worker
threads on this machine, loopback only; default 2), a scheduler address (``"tcp://host:8786"``), or
an existing :class:`distributed.Client`. Needs ``pip install 'regimes[dask]'``; ``import regimes``
never imports dask.
"""

from __future__ import annotations

import contextlib
import contextvars
import glob
import math
import os
import re

import numpy as np

from ._errors import RegimesError
from .data.rows import check_numeric, read_file_rows

__all__ = ["LOOPBACK", "active", "cluster", "dask_rows", "map_chunks", "map_raw", "map_working",
           "open_shards", "parse_cluster", "shard_rows"]

#: where a local cluster's HTTP servers listen: loopback only, a free port
LOOPBACK = "127.0.0.1:0"

_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("regimes_cluster", default=None)
#: in-memory arrays already sent to the open cluster: {(id, rows): (array, dask array)}
_SENT: contextvars.ContextVar = contextvars.ContextVar("regimes_sent", default=None)


def _need_distributed():
    try:
        import dask  # noqa: F401
        import distributed
    except ImportError:
        raise RegimesError("a Dask cluster needs dask and distributed: pip install 'regimes[dask]'") from None
    return distributed


def parse_cluster(spec) -> tuple[str, int | str]:
    """``("local", workers)`` for ``"local"``/``"local:N"``, ``("address", spec)`` otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise RegimesError(f"cluster must be 'local', 'local:N' or a scheduler address, got {spec!r}")
    s = spec.strip()
    if s == "local" or s.startswith("local:"):
        n = s[6:] if s.startswith("local:") else "2"
        top = max_local_workers()
        if not n.isdigit() or not 1 <= int(n) <= top:
            raise RegimesError(f"cluster: 'local:N' needs a worker count 1 <= N <= {top} "
                               f"(4 per CPU core, at most {_MAX_LOCAL}), got {spec!r}")
        return "local", int(n)
    _check_address(spec, s)
    return "address", s


#: the most worker threads a local cluster may start, whatever the core count (each one is a
#: worker with its own scratch directory and event-loop callbacks: thousands of them never start)
_MAX_LOCAL = 256
_ADDRESS = re.compile(r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+)"
                      r":(?P<port>\d{1,5})/?$")


def max_local_workers() -> int:
    """The largest N of ``"local:N"``: 4 workers per CPU core, at most 256."""
    return max(1, min(_MAX_LOCAL, 4 * (os.cpu_count() or 1)))


def _check_address(spec, s: str) -> None:
    """A scheduler address must read ``[scheme://]host:port`` before any connection is tried: a
    malformed one would leave a half-built ``distributed.Client`` whose finaliser waits 60 s."""
    if s.startswith("inproc://") and len(s) > len("inproc://"):  # in-process: host/pid/n, no port
        return
    m = _ADDRESS.match(s)
    if m is None or not 1 <= int(m["port"]) <= 65535:
        raise RegimesError(f"cluster {spec!r}: cannot connect (not a scheduler address; allowed: 'local', "
                           f"'local:N' or [scheme://]host:port such as tcp://host:8786)")


@contextlib.contextmanager
def cluster(spec="local:2"):
    """Run the data passes of the analysis on a Dask cluster while the context is open.

    ``spec``: ``"local"``/``"local:N"`` (N worker threads, one thread each, in this process: no
    network beyond loopback), a scheduler address, an existing :class:`distributed.Client`, or
    None (nothing: the in-process path). Yields the client (None for ``spec=None``).
    """
    if spec is None:
        yield None
        return
    distributed = _need_distributed()
    import dask

    owned = []
    if isinstance(spec, distributed.Client):
        client = spec
    else:
        kind, arg = parse_cluster(spec)
        if kind == "address":
            _check_scheme(spec, arg)
        try:
            if kind == "local":
                # the scheduler's and the workers' HTTP servers on loopback, random ports (with
                # dashboard_address=None they would still serve on 0.0.0.0:8787)
                lc = distributed.LocalCluster(n_workers=arg, threads_per_worker=1, processes=False,
                                              dashboard_address=LOOPBACK, worker_dashboard_address=LOOPBACK)
                owned.append(lc)
                client = distributed.Client(lc, set_as_default=False)
            else:
                client = distributed.Client(arg, set_as_default=False, timeout="30s")
        except Exception as exc:  # noqa: BLE001 - OSError, a bad address scheme (ValueError), a timeout, …
            _close_all(owned)
            raise RegimesError(f"cluster {spec!r}: cannot connect ({exc})") from None
        owned.insert(0, client)
    token, sent = _ACTIVE.set(client), _SENT.set({})
    try:
        with dask.config.set(scheduler=client):
            yield client
    finally:
        _SENT.reset(sent)
        _ACTIVE.reset(token)
        _close_all(owned)


def _check_scheme(spec, address: str) -> None:
    """An unknown scheme (``foo://``) is refused before ``distributed.Client`` is built: its
    constructor would fail half-way and the half-built client's finaliser wait 60 s."""
    from distributed.comm import registry

    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    try:
        registry.get_backend(scheme)
    except ValueError:
        raise RegimesError(f"cluster {spec!r}: cannot connect (unknown scheme {scheme!r}; allowed: "
                           f"{', '.join(sorted(registry.backends))})") from None


def _close_all(things) -> None:
    """Close every client/cluster, even when one of them fails to close (the first error is raised after)."""
    first = None
    for c in things:
        try:
            c.close()
        except Exception as exc:  # noqa: BLE001
            first = first or exc
    if first is not None:
        raise first


def active():
    """The client of the open :func:`cluster` context, or None (in-process)."""
    return _ACTIVE.get()


# -- the data as a Dask array of row chunks ---------------------------------------------------------
def _read_file_rows(path, offset, dtype, d, s, e):
    """Rows ``s:e`` of a C-ordered array stored at ``offset`` in ``path`` (pread: the page cache)."""
    return read_file_rows(path, offset, dtype, d, s, e, str(path))


def _read_hdf5_rows(path, name, d, s, e):
    import h5py

    with h5py.File(path, "r") as f:
        return np.asarray(f[name][s:e]).reshape(e - s, d)


def _from_reader(read, args, n, d, dtype, rows):
    import dask
    import dask.array as da

    if n == 0:  # no rows: no reader task (da.concatenate of no parts fails)
        return da.empty((0, d), dtype=dtype, chunks=(1, d))
    parts = []
    for s in range(0, n, rows):
        e = min(n, s + rows)
        parts.append(da.from_delayed(dask.delayed(read, pure=True)(*args, d, s, e), shape=(e - s, d), dtype=dtype))
    return da.concatenate(parts, axis=0)


def _is_dask(x) -> bool:
    return type(x).__module__.startswith("dask.")


def dask_rows(src, rows: int):
    """The raw rows of a :class:`regimes.data.DataSource` as an (n, d) Dask array chunked ``rows`` at a time."""
    import dask.array as da

    raw, n, d = src.raw, src.n, src.d
    base = getattr(raw, "base", None) if not isinstance(raw, np.ndarray) else None
    if src.file_path is not None:
        arr = _from_reader(_read_file_rows, (src.file_path, src.file_offset, raw.dtype.str), n, d, raw.dtype, rows)
    elif base is not None and _is_dask(base):
        arr = base.reshape(n, d) if base.ndim != 2 else base
    elif base is not None and type(base).__module__.startswith("h5py") and getattr(base, "file", None) is not None:
        arr = _from_reader(_read_hdf5_rows, (base.file.filename, base.name), n, d, raw.dtype, rows)
    elif base is not None and type(base).__module__.startswith("zarr"):
        arr = da.from_zarr(base).reshape(n, d)
    elif isinstance(raw, np.ndarray) and active() is not None:
        arr = _scattered_rows(raw, n, d, rows)
    else:
        arr = da.from_array(raw if isinstance(raw, np.ndarray) else raw[0:n], chunks=(rows, d))
    return arr.rechunk({0: rows, 1: -1})


def _scattered_rows(raw, n, d, rows):
    """An in-memory array sent to the cluster's workers once per :func:`cluster` context, chunk by
    chunk (not embedded in every task graph), as a Dask array over the chunks' futures."""
    import dask.array as da

    cache = _SENT.get()
    if cache is not None and id(raw) in cache and cache[id(raw)][0] is raw:
        arr = cache[id(raw)][1]  # already on the workers: other passes' chunks are cut there
        return arr if arr.chunks[0][0] == min(n, rows) else arr.rechunk({0: rows})
    x = raw.reshape(n, d)
    starts = list(range(0, n, rows))
    futures = active().scatter([x[s:min(n, s + rows)] for s in starts], hash=False)
    arr = da.concatenate([da.from_delayed(f, shape=(min(n, s + rows) - s, d), dtype=x.dtype)
                          for s, f in zip(starts, futures, strict=True)], axis=0)
    if cache is not None:
        cache[id(raw)] = (raw, arr)
    return arr


def shard_order(name: str) -> list:
    """Sort key of shard paths in natural order: the digit runs compare as numbers, so
    ``part-2.npy`` comes before ``part-10.npy`` (zero-padded names sort as they read either way)."""
    parts = [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(name))]
    return [*parts, (2, 0, str(name))]  # equal numbers written differently (2, 002): by the name


def open_shards(paths):
    """A Dask array over ``.npy`` shards (a list of paths, in the order given, or a glob pattern,
    whose matches are taken in natural order: ``part-2`` before ``part-10``, see
    :func:`shard_order`): the memory maps of the shards, concatenated along the rows (trailing
    axes must agree; each shard read by path). Labels must follow the same row order.

    Each shard must hold at least one row of an integer or real dtype (the rule of a single
    ``.npy``: bool, complex, … are refused, naming the shard); shards of different numeric dtypes
    are promoted to a common one as :func:`numpy.concatenate` does."""
    return shard_rows(paths)[0]


def shard_rows(paths):
    """``(Dask array, origins)`` of :func:`open_shards`, with ``origins`` the first row and the
    path of each shard in row order (see :class:`regimes.data.DataSource`: messages then name the
    shard holding a row)."""
    import dask.array as da

    if isinstance(paths, str | os.PathLike):
        found = sorted(glob.glob(str(paths)), key=shard_order)
        if not found:
            raise RegimesError(f"{paths}: no .npy shard matches")
        paths = found
    if not paths:
        raise RegimesError("paths: no .npy shards given (an empty list)")
    parts, origins, start = [], [], 0
    for p in paths:
        try:
            mm = np.load(p, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise RegimesError(f"{p}: unreadable .npy shard ({exc})") from None
        if mm.ndim == 0:
            raise RegimesError(f"{p}: a shard must be an array of rows, got a scalar")
        check_numeric(mm, str(p))
        if mm.shape[0] == 0:
            raise RegimesError(f"{p}: empty shard (0 rows, shape {mm.shape}); remove it from the shards")
        d = int(math.prod(mm.shape[1:])) if mm.ndim > 1 else 1
        if not mm.flags.c_contiguous or not mm.dtype.isnative:
            raise RegimesError(f"{p}: shards must be C-ordered .npy files in native byte order")
        rows = max(1, min(mm.shape[0], (32 * 2**20) // max(1, d * mm.dtype.itemsize)))
        parts.append(_from_reader(_read_file_rows, (str(p), int(mm.offset), mm.dtype.str), mm.shape[0], d,
                                  mm.dtype, rows))
        origins.append((start, str(p)))
        start += int(mm.shape[0])
    widths = {p.shape[1] for p in parts}
    if len(widths) != 1:
        raise RegimesError(f"shards differ in their number of features per row: {sorted(widths)}")
    return da.concatenate(parts, axis=0), tuple(origins)


# -- tasks over row chunks --------------------------------------------------------------------------
def _apply(raw, s, e, rowmap, fn, *args):
    return fn(rowmap(raw) if rowmap is not None else np.asarray(raw), s, e, *args)


def _tree(parts, merge):
    import dask

    while len(parts) > 1:
        nxt = [dask.delayed(merge, pure=True)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


def map_chunks(arr, fn, *args, rowmap=None, merge=None):
    """``fn(rows, start, stop, *args)`` on every row chunk of the Dask array ``arr`` as tasks on the
    active cluster: ``[(start, stop, result), ...]`` in row order, or with ``merge`` the results
    merged pairwise in a fixed tree (on the cluster; deterministic). ``rowmap`` turns raw rows
    into processed rows first. Array arguments are scattered to the cluster once per call."""
    import dask

    client = active()
    if client is None:
        raise RegimesError("map_chunks needs an open regimes.distributed.cluster(...) context")
    # large array arguments go to the workers once (scattered), not inside every task
    shared = [client.scatter(a, hash=False) if isinstance(a, np.ndarray) and a.size > 1024 else a
              for a in args]
    bounds = np.concatenate([[0], np.cumsum(arr.chunks[0])]).astype(int)
    blocks = arr.to_delayed().reshape(-1)
    tasks = [dask.delayed(_apply, pure=True)(blk, int(bounds[i]), int(bounds[i + 1]), rowmap, fn, *shared)
             for i, blk in enumerate(blocks)]
    if merge is not None:
        return client.compute(_tree(tasks, merge)).result()
    out = client.gather(client.compute(tasks))
    return [(int(bounds[i]), int(bounds[i + 1]), r) for i, r in enumerate(out)]


def map_raw(src, fn, *args, rows=None, merge=None):
    """:func:`map_chunks` over a source's raw rows (``rows`` per chunk; default its block size)."""
    return map_chunks(dask_rows(src, rows or src.block_rows()), fn, *args, merge=merge)


def map_working(src, fn, *args, rows=None, merge=None):
    """:func:`map_chunks` over a source's working rows (see :meth:`regimes.data.DataSource.working`)."""
    return map_chunks(dask_rows(src, rows or src.block_rows()), fn, *args, rowmap=src.row_map(working=True),
                      merge=merge)
