"""The data-source type: an (n, d) training set read block by block, with its units and centring.

A :class:`DataSource` is an (n, d) view of the raw data with an explicit affine units map
(``scale``) and per-feature centring applied block by block, so that a memory-mapped file larger
than RAM is never read whole. It also hands out the *working blocks* every heavy engine reads:
centred rows multiplied by a power of two that brings their spread to O(1), so that products in
float32 neither overflow nor underflow and the scaling is undone exactly afterwards.

Units
-----
``scale="none"``
    the values as given (the units your diffusion model was trained in);
``scale="unit"``
    8-bit intensities mapped to [0, 1] (x / 255);
``scale="symmetric"``
    8-bit intensities mapped to [-1, 1] (x / 127.5 - 1);
``scale=c`` (a positive number)
    the values multiplied by c (e.g. 0.18215, the latent scale factor of Stable Diffusion,
    Rombach et al. 2022; or 2 for floats in [0, 1] meant for [-1, 1] training: 2x - 1 differs from
    2x only by a constant, which per-feature centring removes).

``unit`` and ``symmetric`` require 8-bit integer values in [0, 255] (floats with a fractional part
are an error that names the option that fits). Rescaling data by c multiplies Λ by c²
and shifts t_S by ln c (see the conventions page of the documentation), so the report always states
the convention used.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import weakref
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .._buffers import large_empty
from .._errors import RegimesError
from .._validate import check_bool, check_callback, check_real
from .rows import (
    RowView,
    check_numeric,
    is_batch_iterable,
    is_lazy_array,
    read_file_rows,
    remove_quietly,
    spool_batches,
    to_numpy,
)

__all__ = ["BLOCK_BYTES", "SCALES", "DataSource", "as_source", "check_numeric", "encode_labels", "flatten_rows",
           "processed_dtype", "query_rows", "row_place", "rows_source", "scale_map", "spooled_source"]

SCALES = ("none", "unit", "symmetric")
#: bytes of raw data per block when streaming (a memmap is read this much at a time)
BLOCK_BYTES = 32 * 2**20


def _is_factor(scale) -> bool:
    return isinstance(scale, int | float | np.integer | np.floating) and not isinstance(scale, bool | np.bool_)


def scale_map(scale: str | float) -> tuple[float, float]:
    """``(a, b)`` of the units map ``x ↦ a x + b``; a positive number ``c`` gives ``(c, 0)``."""
    refused = RegimesError(f"scale must be one of {', '.join(SCALES)} or a finite number > 0, got {scale!r}")
    if _is_factor(scale):
        try:
            c = float(scale)
        except OverflowError:  # e.g. 10**400
            check_real("scale", scale)  # raises: not representable as a float64
        if not (np.isfinite(c) and c > 0):
            raise refused
        return c, 0.0
    if not isinstance(scale, str):
        raise refused
    if scale == "none":
        return 1.0, 0.0
    if scale == "unit":
        return 1.0 / 255.0, 0.0
    if scale == "symmetric":
        return 1.0 / 127.5, -1.0
    raise refused


def units_text(scale: str | float, center: bool) -> str:
    """The units convention in words (for reports)."""
    if _is_factor(scale):
        c = float(scale)
        base = f"values multiplied by the factor {c:g} (Λ × {c * c:g} relative to the values as given)"
    else:
        base = {
            "none": "values as given",
            "unit": "8-bit intensities scaled to [0, 1] (x/255)",
            "symmetric": "8-bit intensities scaled to [-1, 1] (x/127.5 - 1)",
        }[scale]
    return base + ("; centred per feature" if center else "; not centred")


def processed_dtype(dtype) -> np.dtype:
    """The dtype rows of raw dtype ``dtype`` are processed in (native byte order).

    By kind and width, never by dtype equality, so the byte order does not matter: float64 in
    either byte order (``'<f8'``, ``'>f8'``: a ``.npy`` written on a big-endian machine, an HDF5
    dataset) and long double → float64; float32 and float16 → float32; integers of 8 and 16 bits
    (exact in float32) → float32; integers of 32 and 64 bits → float64 (float32 would round values
    above 2²⁴).
    """
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return np.dtype(np.float64 if dt.itemsize >= 8 else np.float32)
    if dt.kind in "iu" and dt.itemsize > 2:
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def row_place(origins, row: int) -> str:
    """Where global row ``row`` is, for a source read from several files (``origins``: the first
    row and the path of each file, in row order): ``" (row 49 of data/part-3.npy)"``; ``""``
    without ``origins``."""
    if not origins:
        return ""
    k = max(0, int(np.searchsorted([int(s) for s, _ in origins], row, side="right")) - 1)
    start, path = origins[k]
    return f" (row {row - int(start)} of {path})"


def to_working(block: np.ndarray, shift: np.ndarray, scale: float) -> np.ndarray:
    """``scale · (block − shift)`` in the block's dtype, in place (see :attr:`DataSource.working_scale`)."""
    if shift.any():
        block -= shift.astype(block.dtype)
    if scale != 1.0:
        block *= block.dtype.type(scale)
    return block


class RowMap:
    """Raw rows → processed rows ``a·raw + b`` (minus ``mean`` when given) in ``dtype`` → working
    rows (minus ``shift``, times ``scale``, when ``shift`` is given): the one place these
    operations are written, used in process and sent (pickled) to Dask workers."""

    def __init__(self, dtype, a: float, b: float, mean=None, shift=None, scale: float = 1.0):
        self.dtype = processed_dtype(dtype)
        self.a, self.b, self.mean, self.shift, self.scale = a, b, mean, shift, scale

    def __call__(self, raw, out=None) -> np.ndarray:
        """The mapped rows: a new array, or written into ``out`` (same shape, this map's dtype)."""
        x = np.asarray(raw)
        dt = self.dtype
        if x.dtype == dt and self.a == 1.0 and self.b == 0.0 and self.mean is not None:
            x = np.subtract(x, self.mean.astype(dt), out=out)  # the copy and the subtraction in one sweep
        else:
            if out is None:
                x = x.astype(dt, copy=True)
            else:
                out[...] = x  # the same conversion as astype
                x = out
            if self.a != 1.0 or self.b != 0.0:
                x *= dt.type(self.a)
                x += dt.type(self.b)
            if self.mean is not None:
                x -= self.mean.astype(dt)
        return x if self.shift is None else to_working(x, self.shift, self.scale)


@dataclass(eq=False)
class DataSource:
    """An (n, d) training set read block by block, with units and centring applied on the fly.

    Build it with :func:`regimes.data.load_source` (files) or :func:`as_source` (arrays). Processed rows are
    ``scale_a * raw + scale_b - mean`` (mean subtracted only when ``center``), in ``dtype``
    (:func:`processed_dtype`: float32 for float32/float16 and 8- or 16-bit integer input, float64
    for float64 input in either byte order, long double, and 32- or 64-bit integers — these wider
    integers were processed in float32 before, which rounded values above 2²⁴); statistics are
    accumulated in float64.

    Attributes
    ----------
    n, d : int
        Number of rows and of features (images flattened).
    name : str
        The file, folder, or ``"<array>"``.
    scale : str
        Units convention (see the module docstring); ``units`` is a sentence for reports.
    center : bool
        Whether the per-feature mean is subtracted.
    mean : ndarray of float64
        Per-feature mean of the scaled data (subtracted when ``center``).
    total_variance : float
        ``tr C`` of the (unbiased, centred) covariance (see *Passes* below).
    centred_sq_norms : ndarray of float64
        ``|x_i − x̄|²`` per row (see *Passes* below).
    labels : ndarray of int or None
        Class index per row; ``class_names`` the matching names.
    file_path, file_offset : str or None, int
        For a C-ordered ``.npy`` in native byte order: the file and the byte offset of its data,
        read with ``pread`` block by block (the pages go to the page cache, not to this process).
    origins : tuple of (int, str) or None
        For rows read from several files (``.npy`` shards): the first row and the path of each
        file, in row order, so that messages name the file holding a row.

    Notes
    -----
    The *working blocks* (:meth:`working_blocks`) are what the engines multiply:
    ``s · (x − c)`` with x the processed rows, c = :attr:`working_shift` (the per-feature mean when
    the source is not centred, so that float32 products see centred values and do not cancel
    against a large offset; zero otherwise) and s = :attr:`working_scale`, a power of two with
    ``s·√(tr C / d) ≈ 1`` (binary scaling: dividing results by s or s² undoes it exactly).

    *Passes.* Loading reads the rows once: finiteness, range, the mean, the constant features,
    and ``Σ_i |x_i − x_0|²`` about the first row, which gives tr C closely
    (``(Σ_i |x_i − x_0|² − n|x̄ − x_0|²)/(n − 1)``, :meth:`spread_estimate`) and so the working
    scale before any other pass. The exact centred row norms and tr C come from the first full pass any consumer makes
    over :meth:`blocks` or :meth:`working_blocks` (each raw block read once serves both), or
    from a pass of their own when they are asked for first; on a Dask cluster they are computed
    at load. The errors of zero or underflowing variance are raised at load when pass one sees
    them, otherwise when the row norms are first computed.
    """

    raw: np.ndarray
    name: str
    scale: str | float = "none"
    center: bool = True
    labels: np.ndarray | None = None
    class_names: list[str] | None = None
    file_path: str | None = None
    file_offset: int = 0
    progress: object = field(default=None, repr=False)  # progress(done, total) of the validation pass
    notes: list = field(default_factory=list)  # what the reader decided (e.g. grayscale stored as RGB)
    origins: tuple | None = None  # (first row, path) of each file the rows come from (shards)
    mean: np.ndarray = field(init=False, repr=False)
    #: features whose value is the same in every row (zero variance: no direction of the spectrum)
    constant_features: int = field(init=False, default=0)

    def __post_init__(self):
        self.scale_a, self.scale_b = scale_map(self.scale)
        self.n, self.d = int(self.raw.shape[0]), int(self.raw.shape[1])
        self.dtype = processed_dtype(self.raw.dtype)
        self._validate_and_summarise()

    # -- reading ---------------------------------------------------------------------------
    @property
    def units(self) -> str:
        return units_text(self.scale, self.center)

    @property
    def is_memmap(self) -> bool:
        return self.file_path is not None

    @property
    def is_streamed(self) -> bool:
        """Read from outside this process's arrays (a pread file, an HDF5/zarr/Arrow dataset, a tensor
        copied block by block): engines then prefer fewer passes over the data."""
        return self.file_path is not None or not isinstance(self.raw, np.ndarray)

    # -- working blocks (what the engines multiply) ------------------------------------------------
    @cached_property
    def working_scale(self) -> float:
        """A power of two s with s·√(tr C / d) ≈ 1 (1.0 for zero variance).

        Data multiplied by s before products in the data's dtype cannot overflow or underflow
        there; dividing the results by s or s² undoes it exactly. tr C is the load pass's value
        (:meth:`spread_estimate`, see *Passes*), so the scale is known before the first data pass;
        the exact trace is read only where that value cannot be trusted (see there).
        """
        tv = self.spread_estimate()
        if not np.isfinite(tv):
            raise self.too_large(f"{self.dtype} arithmetic (the covariance trace overflows)")
        if tv <= 0.0:
            return 1.0
        lim = 120 if self.dtype == np.float32 else 1000
        e = int(np.clip(-round(0.5 * (np.log2(tv) - np.log2(self.d))), -lim, lim))  # tv/d may be subnormal
        return float(2.0**e)

    @cached_property
    def working_shift(self) -> np.ndarray:
        """Per-feature shift that centres the processed rows (zero when the source centres them)."""
        return np.zeros(self.d) if self.center else np.asarray(self.mean, dtype=np.float64)

    def working(self, block: np.ndarray) -> np.ndarray:
        """``working_scale · (block − working_shift)`` in the block's dtype, in place.

        ``block`` must be a fresh array of processed rows (from :meth:`block`, :meth:`take`,
        :meth:`blocks`); it is returned.
        """
        return to_working(block, self.working_shift, self.working_scale)

    def row_map(self, *, centred: bool | None = None, working: bool = False) -> RowMap:
        """The map from raw rows to processed rows (``centred``: subtract the mean; default: as the
        source does) or, with ``working``, to working rows — picklable, for Dask workers."""
        centred = self.center if centred is None else centred
        return RowMap(self.dtype, self.scale_a, self.scale_b, self.mean if centred else None,
                      self.working_shift if working else None, self.working_scale if working else 1.0)

    def working_blocks(self, rows: int | None = None, *, reuse: bool = False):
        """Yield ``(start, stop, working block)`` over all rows (see :meth:`working`, and
        :meth:`blocks` for ``reuse``)."""
        for s, e, B in self.blocks(rows, reuse=reuse):
            yield s, e, self.working(B)

    def max_abs(self) -> float:
        """Largest absolute processed value (one pass over the data)."""
        m = 0.0
        for _, _, B in self.blocks():
            m = max(m, float(np.max(np.abs(B))))
        return m

    def too_large(self, what: str) -> RegimesError:
        """The error for values whose products overflow ``what`` (to be raised by the caller)."""
        return RegimesError(
            f"{self.name}: values too large for {what}: max |x| = {self.max_abs():.3g} "
            f"(total variance tr C = {self.total_variance:.3g}); rescale the data (scale=, or divide "
            "by a constant: Λ scales as c², t_S shifts by ln c)"
        )

    def block_rows(self, max_bytes: int = BLOCK_BYTES) -> int:
        """Rows per block so that one processed block takes about ``max_bytes``."""
        return int(max(1, min(self.n, max_bytes // max(1, self.d * 8))))

    def _raw_rows(self, start: int, stop: int) -> np.ndarray:
        if self.file_path is None:
            return np.asarray(self.raw[start:stop])
        # read with pread: file pages go to the page cache, not to this process's resident set
        return read_file_rows(self.file_path, self.file_offset, self.raw.dtype, self.d, start, stop, self.name)

    def _process(self, raw: np.ndarray, *, centred: bool | None = None) -> np.ndarray:
        return self.row_map(centred=centred)(raw)

    def block(self, start: int, stop: int) -> np.ndarray:
        """Processed rows ``start:stop`` as a new (stop - start, d) array."""
        return self._process(self._raw_rows(start, stop))

    def blocks(self, rows: int | None = None, *, reuse: bool = False):
        """Yield ``(start, stop, block)`` over all rows, ``rows`` at a time.

        ``reuse``: every block is written into one buffer allocated for the pass, and the block
        yielded is a view of it, valid until the next step — for consumers that use each block
        and drop it. A fresh (rows, d) array per block costs a first touch of its pages (a
        32 MB block: ~0.1 s a pass here, against ~0.03 s into a warm buffer); the values are
        the same bits either way.
        """
        rows = self.block_rows() if rows is None else int(rows)
        rmap, buf = (self.row_map() if reuse else None), None
        norms = None if self._sq_norms is not None else _RowNorms(self)  # the second pass, on the way
        for s in range(0, self.n, rows):
            e = min(self.n, s + rows)
            raw = self._raw_rows(s, e)
            if norms is not None:
                norms.add(raw, s, e)
            if not reuse:
                yield s, e, self._process(raw)
                continue
            if buf is None:
                buf = large_empty((min(rows, self.n), self.d), rmap.dtype)
            yield s, e, rmap(raw, out=buf[:e - s])
        if norms is not None and self._sq_norms is None:
            self._set_norms(norms.sq)

    def take(self, index) -> np.ndarray:
        """Processed rows at ``index`` (any order, repeats allowed)."""
        idx = np.asarray(index, dtype=np.int64)
        uniq, inv = np.unique(idx, return_inverse=True)
        if self.file_path is None:
            got = np.asarray(self.raw[uniq])
        else:
            got = np.empty((uniq.size, self.d), dtype=self.raw.dtype)
            for j, r in enumerate(uniq):
                got[j] = self._raw_rows(int(r), int(r) + 1)[0]
        return self._process(got)[inv]

    def to_array(self) -> np.ndarray:
        """All processed rows in memory (small data only)."""
        return self.block(0, self.n)

    # -- validation pass ---------------------------------------------------------------------
    def _validate_and_summarise(self) -> None:
        query = _QUERY_ROWS.get()
        if self.n < (1 if query else 2):
            raise RegimesError(f"{self.name}: need at least {1 if query else 2} rows"
                               f"{'' if query else ' (training points)'}, got {self.n}")
        if self.d < 1:
            raise RegimesError(f"{self.name}: need at least 1 feature per row, got shape {self.raw.shape}")
        a, b = self.scale_a, self.scale_b
        self._sq_norms = None
        if self.progress is not None:
            self.progress(0, self.n)
        eight_bit = isinstance(self.scale, str) and self.scale in ("unit", "symmetric")
        lo, hi, fractional, s1, same, spread = self._first_pass(eight_bit)
        top = max(abs(a * float(lo) + b), abs(a * float(hi) + b))  # Python floats: inf, never a warning
        if not top <= float(np.finfo(self.dtype).max):  # the processed rows would overflow their dtype
            raise RegimesError(
                f"{self.name}: values too large for {self.dtype}: scale={self.scale!r} maps the values in "
                f"[{lo:.3g}, {hi:.3g}] beyond the largest {self.dtype} ({np.finfo(self.dtype).max:.3g}); "
                "use a smaller scale factor"
            )
        self._all_same, self._range = bool(np.all(same)), (float(lo), float(hi))
        self.constant_features = int(np.count_nonzero(same))
        if eight_bit and (lo < 0 or hi > 255 or fractional):
            raise RegimesError(self._not_8bit(lo, hi, fractional))
        self._units_notes(eight_bit, lo, hi)
        self.mean = a * (s1 / self.n) + b
        self._spread = spread  # (Σ_i |x_i − x_0|², x_0): tr C before the second pass
        if self._all_same and not query:
            raise RegimesError(
                f"{self.name}: zero variance: all {self.n} rows are identical (nothing to analyse; "
                "the data need at least two distinct rows)"
            )
        if not self._all_same and not spread[0] > 0:  # rows differ, but their squared deviations underflow
            raise self._underflow()
        sq_norms = _cluster_pass2(self)  # on a cluster the second pass runs now, as tasks (None in process)
        if sq_norms is not None:
            self._set_norms(sq_norms)
        elif not self._all_same and not spread[0] > _NEAR_UNDERFLOW * self.n:
            self._second_pass()  # squared deviations near float64's smallest: the exact check now, at load
        if self.labels is not None:
            lab = np.asarray(self.labels)
            if lab.ndim != 1 or lab.shape[0] != self.n:
                raise RegimesError(
                    f"{self.name}: labels must have one entry per row ({self.n}), got shape {lab.shape}"
                )

    def _first_pass(self, eight_bit: bool):
        """Pass one: ``(lo, hi, fractional, column sums, per feature whether every row equals the
        first, (Σ_i |x_i − x_0|², x_0))`` — per block of rows (in process) or per chunk (Dask
        tasks), the same statistics merged in row order."""
        first = self._raw_rows(0, 1)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite: refused by the chunks below
            x0 = self.scale_a * first[0].astype(np.float64) + self.scale_b
        args = (self.name, eight_bit, self.origins, (self.scale_a, self.scale_b, x0))
        stats = _cluster_pass1(self, *args)  # None in process
        if stats is None:
            rows = self.block_rows()
            for s in range(0, self.n, rows):
                e = min(self.n, s + rows)
                part = _chunk_pass1(self._raw_rows(s, e), s, e, *args)
                if stats is None:  # the column sums start from +0.0, as a sum from zeros does
                    part = part[:3] + (part[3] + 0.0,) + part[4:]
                stats = part if stats is None else _merge_pass1(stats, part)
                if self.progress is not None:
                    self.progress(e, self.n)
        lo, hi, fractional, s1, _, same, spread = stats
        return lo, hi, fractional, s1, same, (spread, x0)

    def _units_notes(self, eight_bit, lo, hi) -> None:
        """Notes on values that look like binary pixels read as intensities, or 8-bit pixels taken as given."""
        if eight_bit and hi <= 1:  # integers 0/1 taken as 8-bit intensities: 255² times too small a variance
            self.notes.append(f"{self.name}: scale={self.scale!r} reads the values as 8-bit intensities, but they are "
                              f"only {lo:g} and {hi:g} (binary pixels?): as intensities they are {hi:g}/255 of white, "
                              "and Λ, tr C are 255² times what 0/1 pixels give; for binary images meaning black/white "
                              "multiply by 255 first, or use scale='none' for the 0/1 values as they are")
        if self.scale == "none" and np.dtype(self.raw.dtype).kind in "ui" and lo >= 0 and 1 < hi <= 255:
            self.notes.append(f"{self.name}: integers in [{lo:g}, {hi:g}] taken as given (scale='none'): if they are "
                              "8-bit pixels, Λ, σ² and every time are in 0–255 units — t_S is larger by "
                              "ln 127.5 ≈ 4.85 than for the [−1, 1] pixels models train on, and collapse comes far "
                              "earlier in sampling; scale='symmetric' (or scale='unit' for [0, 1]) gives those units")

    def _underflow(self) -> RegimesError:
        lo, hi = self._range
        return RegimesError(
            f"{self.name}: values too small for float64 arithmetic: the rows differ but the variance "
            f"underflows (values in [{lo:.3g}, {hi:.3g}]); rescale the data (multiply by a constant: "
            "Λ scales as c², t_S shifts by ln c)"
        )

    def spread_estimate(self) -> float:
        """tr C from the load pass: ``(Σ_i |x_i − x_0|² − n|x̄ − x_0|²)/(n − 1)``, x_0 the first row
        — close to the exact value (x_0 is a row, so ``n|x̄ − x_0|² <= n(n − 1) tr C``; the difference
        loses about ``log10(n) + log10(|x̄|/σ)`` digits, the second term from the mean's own rounding
        with a large offset: 5e-8 relative at an offset of 1e8 σ), which is all the power-of-two
        working scale needs — or the exact :attr:`total_variance` (one more pass, unless done)
        when the sum overflows, the difference keeps fewer than six digits or is not a normal
        positive float."""
        if self._all_same or self.n < 2:
            return 0.0
        s0, x0 = self._spread
        with np.errstate(over="ignore", invalid="ignore"):
            dev = self.mean - x0
            est = (s0 - self.n * float(dev @ dev)) / (self.n - 1)
        if np.isfinite(s0) and est * (self.n - 1) > 1e-10 * s0 and est >= np.finfo(np.float64).tiny:
            return float(est)
        return self.total_variance

    @property
    def total_variance(self) -> float:
        """``tr C`` of the (unbiased, centred) covariance: ``Σ_i |x_i − x̄|² / (n − 1)`` (see *Passes*)."""
        if self._sq_norms is None:
            self._second_pass()
        return self._tv

    @property
    def centred_sq_norms(self) -> np.ndarray:
        """``|x_i − x̄|²`` per row, float64 (see *Passes*)."""
        if self._sq_norms is None:
            self._second_pass()
        return self._sq_norms

    def _second_pass(self) -> None:
        """The centred squared row norms in a pass of their own (nothing else needed the rows first)."""
        sq = _cluster_pass2(self)
        if sq is None:
            norms = _RowNorms(self)
            for s in range(0, self.n, norms.rows):
                e = min(self.n, s + norms.rows)
                norms.add(self._raw_rows(s, e), s, e)
            sq = norms.sq
        self._set_norms(sq)

    def _set_norms(self, sq: np.ndarray) -> None:
        """Keep the centred squared row norms and tr C; refuse a variance that underflows."""
        tv = float(sq.sum() / (self.n - 1)) if self.n > 1 else 0.0
        if self._all_same:  # exactly: the mean's own rounding must not pass for a variance
            tv = 0.0
        elif not tv > 0:  # rows differ, but their squared deviations underflow
            raise self._underflow()
        self._tv, self._sq_norms = tv, sq

    def _not_8bit(self, lo: float, hi: float, fractional: bool) -> str:
        looks = f"values in [{lo:g}, {hi:g}]" + (", not integers" if fractional else "")
        fits = "use scale='none' if the data are already in the units the model was trained in"
        if lo >= 0 and hi <= 1:
            fits += ("; for [0, 1] floats meant for [-1, 1] training use scale=2 (2x - 1: per-feature "
                     "centring removes the -1)")
        return (f"{self.name}: scale={self.scale!r} expects 8-bit integer intensities in [0, 255], "
                f"got {looks} (already scaled?); {fits}")

    @property
    def n_classes(self) -> int:
        return 0 if self.labels is None else int(self.labels.max()) + 1


# -- the validation pass as Dask tasks (regimes.distributed) ------------------------------------------
def _chunk_pass1(raw, s, e, name, eight_bit, origins=None, spread=None):
    """Pass-1 statistics of raw rows ``s:e``: ``(lo, hi, fractional, column sums, first row, per
    feature whether every row equals it there, Σ |x − x_0|²)``; a non-finite value raises the
    in-process pass's error (naming the file of the row when ``origins`` lists the files, see
    :func:`row_place`). ``spread``: ``(a, b, x_0)``, the units map and the processed first row of
    the data, for ``Σ_i |a·raw_i + b − x_0|²`` in float64 (0.0 without it)."""
    if raw.dtype.kind == "f":
        finite = np.isfinite(raw)
        if not finite.all():
            i, j = np.argwhere(~finite)[0]
            raise RegimesError(f"{name}: data must be finite, got {float(raw[i, j])!r} at row {s + i}, feature {j}"
                               f"{row_place(origins, s + int(i))}")
    if raw.dtype.kind == "f" and (not raw.dtype.isnative or raw.dtype.itemsize > 8):
        # the values the rows are processed as (exact for another byte order, rounded for long
        # double): the statistics are then those of the same data in native float64 or float32
        with np.errstate(over="ignore"):  # a long double beyond float64: inf, refused as too large below
            raw = raw.astype(processed_dtype(raw.dtype))
    frac = bool(eight_bit and raw.dtype.kind == "f" and np.any(raw != np.round(raw)))
    first = np.array(raw[0])
    return (float(raw.min()), float(raw.max()), frac, raw.sum(axis=0, dtype=np.float64), first,
            np.all(raw == first, axis=0), 0.0 if spread is None else _spread_about(raw, *spread))


def _spread_about(raw, a, b, x0) -> float:
    """``Σ_i |a·raw_i + b − x_0|²`` in float64 (inf when it overflows: the caller then reads tr C exactly)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if a == 1.0 and b == 0.0:
            y = np.subtract(raw, x0, dtype=np.float64)  # the conversion and the shift in one sweep
        else:
            y = raw.astype(np.float64)
            y *= a
            y += b
            y -= x0
        y = y.reshape(-1)
        return float(np.dot(y, y))


def _merge_pass1(x, y):
    return (min(x[0], y[0]), max(x[1], y[1]), x[2] or y[2], x[3] + y[3], x[4], x[5] & y[5] & (x[4] == y[4]),
            x[6] + y[6])


def _cluster_pass1(src, *args):
    """Pass 1 of the validation as Dask tasks on the active cluster (``args``: those of
    :func:`_chunk_pass1` after the rows); None without one."""
    from ..distributed import active, map_raw

    if active() is None:
        return None
    return map_raw(src, _chunk_pass1, *args, merge=_merge_pass1)


class _RowNorms:
    """The second pass's centred squared row norms, filled from raw blocks of any size (in process),
    a source's own block size at a time (a row's norm does not depend on the rows beside it)."""

    def __init__(self, src):
        self.rows, self.map, self.mean = src.block_rows(), src.row_map(centred=False), src.mean
        self.sq, self.buf = np.empty(src.n), None

    def add(self, raw, s: int, e: int) -> None:
        if self.buf is None:  # one buffer for every block
            self.buf = large_empty((min(self.rows, self.sq.size), self.mean.size), self.map.dtype)
        for a in range(s, e, self.rows):
            b = min(e, a + self.rows)
            self.sq[a:b] = _chunk_sq_norms(raw[a - s:b - s], a, b, self.map, self.mean, self.buf)


def _chunk_sq_norms(raw, s, e, rowmap, mean, out=None):
    """``|x − mean|²`` per row of a chunk, x the uncentred processed rows, in float64 (pass 2);
    ``out``: a buffer of at least the chunk's rows for them (in process, reused across chunks)."""
    x = rowmap(raw, out=None if out is None else out[:e - s]).astype(np.float64, copy=False)  # not raw's memory
    x -= mean
    return np.einsum("ij,ij->i", x, x)


def _cluster_pass2(src):
    """Centred squared row norms (pass 2 of the validation) as Dask tasks; None without a cluster."""
    from ..distributed import active, map_raw

    if active() is None:
        return None
    parts = map_raw(src, _chunk_sq_norms, src.row_map(centred=False), src.mean)
    return np.concatenate([p for _, _, p in parts])


# ----------------------------------------------------------------------------------------------
def _label_array(labels, where: str) -> np.ndarray:
    """Labels from any sequence or array: numpy, lists, pandas Series (object, string or categorical
    dtype), Arrow arrays and chunked arrays, tensors. Strings stay strings; missing values are an error."""
    if hasattr(labels, "to_numpy") and not isinstance(labels, np.ndarray):  # pandas, Arrow
        try:
            labels = labels.to_numpy(zero_copy_only=False)
        except TypeError:
            labels = labels.to_numpy()
    lab = np.asarray(labels) if isinstance(labels, np.ndarray | list | tuple) else np.asarray(to_numpy(labels))
    if lab.dtype == object:
        items = lab.ravel().tolist()
        if any(x is None or (isinstance(x, float) and x != x) for x in items):
            raise RegimesError(f"{where}: labels have missing values (None/NaN)")
        if all(isinstance(x, str) for x in items):
            lab = np.array(items, dtype=str).reshape(lab.shape)
        elif all(isinstance(x, int | np.integer) and not isinstance(x, bool) for x in items):
            lab = np.array(items, dtype=np.int64).reshape(lab.shape)
        elif all(isinstance(x, bytes) for x in items):
            lab = np.array([x.decode() for x in items], dtype=str).reshape(lab.shape)
    return lab


def encode_labels(labels, where: str) -> tuple[np.ndarray, list[str]]:
    lab = _label_array(labels, where)
    if lab.ndim != 1:
        raise RegimesError(f"{where}: labels must be a 1-D array, got shape {lab.shape}")
    if lab.dtype.kind == "S":  # bytes (e.g. an HDF5 or .npy array of b'cat'): the names are their text
        try:
            lab = np.char.decode(lab, "utf-8")
        except UnicodeDecodeError as exc:
            raise RegimesError(f"{where}: byte-string labels must be UTF-8 text ({exc})") from None
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise RegimesError(f"{where}: float labels must be finite integers")
    elif lab.dtype.kind not in "iubUS":
        raise RegimesError(f"{where}: labels must be integers or strings, got dtype {lab.dtype}")
    names, codes = np.unique(lab, return_inverse=True)
    return codes.astype(np.int64), [str(x.item() if hasattr(x, "item") else x) for x in names]


def check_same_units(src: DataSource, scale, center, how: str = "load_source, or as_source of the array") -> None:
    """Refuse ``scale``/``center`` for an already loaded source when they differ from its own (they
    would be silently ignored: a source's units are fixed when it is loaded). The defaults
    (``"none"``, True) pass, so that code passing a source through keeps working. ``how``: the
    calls that load the data, as the message names them (the caller's own API)."""
    center = check_bool("center", center)
    scale_map(scale)
    same = isinstance(scale, str) == isinstance(src.scale, str) and scale == src.scale  # 2 == 2.0; 'unit' != 2
    if not (isinstance(scale, str) and scale == "none") and not same:
        raise RegimesError(f"scale={scale!r}: {src.name} is already loaded with scale={src.scale!r}; give scale "
                           f"when loading the data ({how}), not again")
    if center is not True and center != src.center:
        raise RegimesError(f"center={center!r}: {src.name} is already loaded with center={src.center!r}; give "
                           f"center when loading the data ({how}), not again")


def flatten_rows(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.ndim == 0:
        raise RegimesError(f"{where}: data must be an array of rows, got a scalar")
    if arr.ndim == 1:
        return arr.reshape(-1, 1)
    if arr.ndim > 2:
        if isinstance(arr, np.memmap) and not arr.flags.c_contiguous:
            raise RegimesError(f"{where}: a Fortran-ordered .npy with ndim > 2 is not supported")
        return arr.reshape(arr.shape[0], -1)
    return arr


def spooled_source(batches, labels, *, scale, center, name, progress, key=None) -> DataSource:
    """A :class:`DataSource` over an iterable of batches, written once to a temporary memory map
    (removed when the source is garbage collected); ``(x, y)`` batches give the labels."""
    where = name if name != "<array>" else "<batches>"
    mm, path, lab = spool_batches(batches, key=key, where=where)
    try:
        src = rows_source(mm, lab if labels is None else labels, name=where, scale=scale, center=center,
                          progress=progress, file_path=path if mm.dtype.isnative else None,
                          notes=[f"{where}: {mm.shape[0]} rows streamed once into a temporary memory map"])
    except BaseException:
        remove_quietly(path)
        raise
    weakref.finalize(src, remove_quietly, path)
    return src


def as_source(X, labels=None, *, scale: str | float = "none", center: bool = True, name: str = "<array>",
              progress=None) -> DataSource:
    """Wrap an in-memory array (or an existing :class:`DataSource`) as a :class:`DataSource`."""
    if isinstance(X, DataSource):
        if labels is not None:
            raise RegimesError("labels: give them when loading the data, not again")
        check_same_units(X, scale, center)
        return X
    scale_map(scale)
    center = check_bool("center", center)
    if not isinstance(name, str):
        raise RegimesError(f"name must be a string (shown in messages and reports), got {name!r}")
    check_callback("progress", progress, "progress(done, total)")
    if X is None:
        raise RegimesError("data must be an array of rows (n, d), a DataSource or an iterable of batches, got None")
    if isinstance(X, str | os.PathLike):
        raise RegimesError(f"data: {str(X)!r} is a path; read it with regimes.data.load_source (or give it to "
                           "analyze / Dataset, which load paths)")
    if is_batch_iterable(X):
        return spooled_source(X, labels, scale=scale, center=center, name=name, progress=progress)
    if isinstance(X, np.ndarray):
        arr = X
    elif is_lazy_array(X):  # HDF5/zarr datasets, torch/JAX/cupy tensors: read (copied) block by block
        arr = RowView(X, name)
    else:
        try:
            arr = np.asarray(X)
        except ValueError as exc:
            raise RegimesError(f"{name}: data must be a rectangular numeric array ({exc})") from None
    return rows_source(arr, labels, name=name, scale=scale, center=center, progress=progress)


_QUERY_ROWS = contextvars.ContextVar("regimes_query_rows", default=False)

#: below this many times n, the load pass's Σ_i |x_i − x_0|² is near enough float64's smallest
#: normal numbers that the exact row norms are computed at load (their underflow is refused there)
_NEAR_UNDERFLOW = float(np.finfo(np.float64).tiny) * 2.0**100


@contextlib.contextmanager
def query_rows():
    """Sources built inside this context are sets of *query* rows — generated samples or a
    held-out set compared with a training set — not training sets: a single row, or rows that
    are all equal (a model's mode collapse), are then valid instead of errors. Every other check
    (finiteness, range, units, labels) is the same."""
    token = _QUERY_ROWS.set(True)
    try:
        yield
    finally:
        _QUERY_ROWS.reset(token)


def rows_source(arr, labels, *, name: str, scale, center, progress, label_where: str | None = None,
                file_path=None, file_offset: int = 0, notes=(), origins=None) -> DataSource:
    """A :class:`DataSource` over the numeric rows ``arr`` (n, ...) with ``labels`` (one per row,
    or None): the one place where arrays, files and spooled batches become a source (``origins``:
    see :class:`DataSource`)."""
    check_numeric(arr, name)
    arr = flatten_rows(arr, name)
    lab, names = (None, None)
    if labels is not None:
        lab, names = encode_labels(labels, label_where or name)
        if lab.shape[0] != arr.shape[0]:
            raise RegimesError(f"labels{' ' + label_where if label_where else ''}: {lab.shape[0]} labels for "
                               f"{arr.shape[0]} rows of {name}")
    return DataSource(raw=arr, name=name, scale=scale, center=check_bool("center", center), labels=lab,
                      class_names=names,
                      file_path=file_path, file_offset=file_offset, progress=progress, notes=list(notes),
                      origins=None if origins is None else tuple(origins))


