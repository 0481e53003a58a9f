"""Loading training sets: ``.npy`` (memory-mapped), ``.npz``, image folders and numpy arrays.

A loaded dataset is a :class:`DataSource`: an (n, d) view of the raw data with an explicit affine
units map (``--scale``) and per-feature centring applied block by block, so that a memory-mapped
file larger than RAM is never read whole. Every problem with the input (NaN/inf, fewer than two
rows, ragged or non-numeric data, an unreadable or truncated file, a label count that does not
match) raises :class:`regimes.RegimesError` naming the file and the problem, before anything is
computed.

Units
-----
``scale="none"``
    the values as given (the units your diffusion model was trained in);
``scale="unit"``
    8-bit intensities mapped to [0, 1] (x / 255);
``scale="symmetric"``
    8-bit intensities mapped to [-1, 1] (x / 127.5 - 1).

``unit`` and ``symmetric`` require raw values in [0, 255]. Rescaling data by c multiplies Λ by c²
and shifts t_S by ln c (SPEC §1), so the report always states the convention used.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._errors import RegimesError
from ._validate import check_int

__all__ = ["SCALES", "DataSource", "as_source", "load_dataset", "load_labels"]

SCALES = ("none", "unit", "symmetric")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: bytes of raw data per block when streaming (a memmap is read this much at a time)
BLOCK_BYTES = 32 * 2**20


def _scale_map(scale: str) -> tuple[float, float]:
    if scale == "none":
        return 1.0, 0.0
    if scale == "unit":
        return 1.0 / 255.0, 0.0
    if scale == "symmetric":
        return 1.0 / 127.5, -1.0
    raise RegimesError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")


def _units_text(scale: str, center: bool) -> str:
    base = {
        "none": "values as given",
        "unit": "8-bit intensities scaled to [0, 1] (x/255)",
        "symmetric": "8-bit intensities scaled to [-1, 1] (x/127.5 - 1)",
    }[scale]
    return base + ("; centred per feature" if center else "; not centred")


@dataclass(eq=False)
class DataSource:
    """An (n, d) training set read block by block, with units and centring applied on the fly.

    Build it with :func:`load_dataset` (files) or :func:`as_source` (arrays). Processed rows are
    ``scale_a * raw + scale_b - mean`` (mean subtracted only when ``center``), in ``dtype``
    (float32 for 8-bit/float32 input, float64 for float64 input); statistics are accumulated in
    float64.

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
        ``tr C`` of the (unbiased, centred) covariance, from the validation pass.
    centred_sq_norms : ndarray of float64
        ``|x_i − x̄|²`` per row.
    labels : ndarray of int or None
        Class index per row; ``class_names`` the matching names.
    """

    raw: np.ndarray
    name: str
    scale: str = "none"
    center: bool = True
    labels: np.ndarray | None = None
    class_names: list[str] | None = None
    _fd_path: str | None = None  # .npy file to read blocks from with pread (memmaps only)
    _offset: int = 0
    progress: object = field(default=None, repr=False)  # progress(done, total) of the validation pass
    mean: np.ndarray = field(init=False, repr=False)
    total_variance: float = field(init=False)
    centred_sq_norms: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.scale_a, self.scale_b = _scale_map(self.scale)
        self.n, self.d = int(self.raw.shape[0]), int(self.raw.shape[1])
        self.dtype = np.dtype(np.float64) if self.raw.dtype == np.float64 else np.dtype(np.float32)
        self._validate_and_summarise()

    # -- reading ---------------------------------------------------------------------------
    @property
    def units(self) -> str:
        return _units_text(self.scale, self.center)

    @property
    def is_memmap(self) -> bool:
        return self._fd_path is not None

    def block_rows(self, max_bytes: int = BLOCK_BYTES) -> int:
        """Rows per block so that one processed block takes about ``max_bytes``."""
        return int(max(1, min(self.n, max_bytes // max(1, self.d * 8))))

    def _raw_rows(self, start: int, stop: int) -> np.ndarray:
        if self._fd_path is None:
            return np.asarray(self.raw[start:stop])
        # read with pread: file pages go to the page cache, not to this process's resident set
        item = self.raw.dtype.itemsize
        nbytes = (stop - start) * self.d * item
        fd = os.open(self._fd_path, os.O_RDONLY)
        try:
            buf = os.pread(fd, nbytes, self._offset + start * self.d * item)
        finally:
            os.close(fd)
        if len(buf) != nbytes:
            raise RegimesError(f"{self.name}: file is truncated (short read at row {start})")
        return np.frombuffer(buf, dtype=self.raw.dtype).reshape(stop - start, self.d)

    def _process(self, raw: np.ndarray, *, centred: bool | None = None) -> np.ndarray:
        x = raw.astype(np.float64 if self.dtype == np.float64 else np.float32, copy=True)
        if self.scale_a != 1.0 or self.scale_b != 0.0:
            x *= x.dtype.type(self.scale_a)
            x += x.dtype.type(self.scale_b)
        if self.center if centred is None else centred:
            x -= self.mean.astype(x.dtype)
        return x

    def block(self, start: int, stop: int) -> np.ndarray:
        """Processed rows ``start:stop`` as a new (stop - start, d) array."""
        return self._process(self._raw_rows(start, stop))

    def blocks(self, rows: int | None = None):
        """Yield ``(start, stop, block)`` over all rows, ``rows`` at a time."""
        rows = self.block_rows() if rows is None else int(rows)
        for s in range(0, self.n, rows):
            e = min(self.n, s + rows)
            yield s, e, self.block(s, e)

    def take(self, index) -> np.ndarray:
        """Processed rows at ``index`` (any order, repeats allowed)."""
        idx = np.asarray(index, dtype=np.int64)
        uniq, inv = np.unique(idx, return_inverse=True)
        if self._fd_path is None:
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
        if self.n < 2:
            raise RegimesError(f"{self.name}: need at least 2 rows (training points), got {self.n}")
        if self.d < 1:
            raise RegimesError(f"{self.name}: need at least 1 feature per row, got shape {self.raw.shape}")
        a, b = self.scale_a, self.scale_b
        s1 = np.zeros(self.d)
        lo, hi = np.inf, -np.inf
        sq_norms = np.empty(self.n)
        rows = self.block_rows()

        def report(done):  # two passes over the rows: 2n in all
            if self.progress is not None:
                self.progress(done, 2 * self.n)

        report(0)
        # pass 1: finiteness, range, mean, whether every row equals the first
        first, all_same = None, True
        for s in range(0, self.n, rows):
            e = min(self.n, s + rows)
            raw = self._raw_rows(s, e)
            if raw.dtype.kind == "f":
                finite = np.isfinite(raw)
                if not finite.all():
                    i, j = np.argwhere(~finite)[0]
                    raise RegimesError(
                        f"{self.name}: data must be finite, got {float(raw[i, j])!r} at row {s + i}, "
                        f"feature {j}"
                    )
            lo, hi = min(lo, float(raw.min())), max(hi, float(raw.max()))
            s1 += raw.sum(axis=0, dtype=np.float64)
            if first is None:
                first = np.array(raw[0])
            if all_same:
                all_same = bool(np.all(raw == first))
            report(e)
        if self.scale != "none" and (lo < 0 or hi > 255):
            raise RegimesError(
                f"{self.name}: scale={self.scale!r} expects 8-bit intensities in [0, 255], got values "
                f"in [{lo:g}, {hi:g}]; use scale='none' for data already in model units"
            )
        self.mean = a * (s1 / self.n) + b
        # pass 2: centred squared norms (trace of the covariance, row norms for the engines)
        for s in range(0, self.n, rows):
            e = min(self.n, s + rows)
            x = self._process(self._raw_rows(s, e), centred=False).astype(np.float64)
            x -= self.mean
            sq_norms[s:e] = np.einsum("ij,ij->i", x, x)
            report(self.n + e)
        self.total_variance = float(sq_norms.sum() / (self.n - 1))
        self.centred_sq_norms = sq_norms
        if all_same:  # exactly: the mean's own rounding must not pass for a variance
            self.total_variance = 0.0
        elif not self.total_variance > 0:  # rows differ, but their squared deviations underflow
            raise RegimesError(
                f"{self.name}: values too small for float64 arithmetic: the rows differ but the variance "
                f"underflows (values in [{lo:.3g}, {hi:.3g}]); rescale the data (multiply by a constant: "
                "Λ scales as c², t_S shifts by ln c)"
            )
        if not self.total_variance > 0:
            raise RegimesError(
                f"{self.name}: zero variance: all {self.n} rows are identical (nothing to analyse; "
                "the data need at least two distinct rows)"
            )
        if self.labels is not None:
            lab = np.asarray(self.labels)
            if lab.ndim != 1 or lab.shape[0] != self.n:
                raise RegimesError(
                    f"{self.name}: labels must have one entry per row ({self.n}), got shape {lab.shape}"
                )

    @property
    def n_classes(self) -> int:
        return 0 if self.labels is None else int(self.labels.max()) + 1


# ----------------------------------------------------------------------------------------------
def _encode_labels(labels, where: str) -> tuple[np.ndarray, list[str]]:
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise RegimesError(f"{where}: labels must be a 1-D array, got shape {lab.shape}")
    if lab.dtype.kind == "f":
        if not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise RegimesError(f"{where}: float labels must be finite integers")
    elif lab.dtype.kind not in "iubUS":
        raise RegimesError(f"{where}: labels must be integers or strings, got dtype {lab.dtype}")
    names, codes = np.unique(lab, return_inverse=True)
    return codes.astype(np.int64), [str(x.item() if hasattr(x, "item") else x) for x in names]


def _parse_text_labels(lab: np.ndarray) -> np.ndarray:
    """Text labels as numbers when every one parses as an integer or an integral float ("1" and
    "1.0" are then the same class), else the strings as given."""
    try:
        num = np.array([float(x) for x in lab], dtype=np.float64)
    except ValueError:
        return lab
    if num.size and np.all(np.isfinite(num)) and np.all(num == np.round(num)) and np.all(np.abs(num) < 2**53):
        return num.astype(np.int64)
    return lab


def load_labels(path) -> np.ndarray:
    """Read class labels from a ``.npy`` (or ``.txt``/``.csv``, one per line) file.

    Text labels that all parse as integers (or integral floats such as ``1.0``) are read as
    integers; otherwise as strings (``"1"`` and ``"1.0"`` are then different classes).
    """
    p = Path(path)
    if not p.is_file():
        raise RegimesError(f"labels file {str(p)!r} does not exist")
    try:
        if p.suffix == ".npy":
            lab = np.load(p, allow_pickle=False)
        elif p.suffix in (".txt", ".csv"):
            # one label per line (blank lines and lines starting with '#' skipped); read directly
            # rather than with numpy.loadtxt, which warns on an empty file and splits on spaces
            text = p.read_text(encoding="utf-8")
            lines = [x.strip() for x in text.splitlines()]
            lines = [x.strip('"') if p.suffix == ".csv" else x for x in lines if x and not x.startswith("#")]
            if not lines:
                raise RegimesError(f"labels file {str(p)!r} is empty (expected one label per line)")
            lab = _parse_text_labels(np.array(lines))
        else:
            raise RegimesError(f"labels file {str(p)!r}: unsupported suffix {p.suffix!r} (use .npy, .txt or .csv)")
    except RegimesError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise RegimesError(f"labels file {str(p)!r} is unreadable: {exc}") from None
    return lab


def _check_numeric(arr: np.ndarray, where: str) -> None:
    if arr.dtype == object:
        raise RegimesError(f"{where}: data must be a numeric array (ragged rows or objects found)")
    if arr.dtype.kind not in "iuf":
        raise RegimesError(f"{where}: data must have an integer or real dtype, got {arr.dtype}")


def _flatten(arr: np.ndarray, where: str) -> np.ndarray:
    if arr.ndim == 0:
        raise RegimesError(f"{where}: data must be an array of rows, got a scalar")
    if arr.ndim == 1:
        return arr.reshape(-1, 1)
    if arr.ndim > 2:
        if isinstance(arr, np.memmap) and not arr.flags.c_contiguous:
            raise RegimesError(f"{where}: a Fortran-ordered .npy with ndim > 2 is not supported")
        return arr.reshape(arr.shape[0], -1)
    return arr


def as_source(X, labels=None, *, scale: str = "none", center: bool = True, name: str = "<array>",
              progress=None) -> DataSource:
    """Wrap an in-memory array (or an existing :class:`DataSource`) as a :class:`DataSource`."""
    if isinstance(X, DataSource):
        if labels is not None:
            raise RegimesError("labels: give them when loading the data, not again")
        return X
    _scale_map(scale)
    if isinstance(X, np.ndarray):
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except ValueError as exc:
            raise RegimesError(f"{name}: data must be a rectangular numeric array ({exc})") from None
    _check_numeric(arr, name)
    arr = _flatten(arr, name)
    lab, names = (None, None) if labels is None else _encode_labels(labels, name)
    return DataSource(raw=arr, name=name, scale=scale, center=bool(center), labels=lab, class_names=names,
                      progress=progress)


def _load_images(folder: Path, size, grayscale: bool):
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - depends on the environment
        raise RegimesError(
            f"{folder}: reading image folders needs Pillow; install the extra `regimes[images]`"
        ) from None
    def images(d):
        return [f for f in sorted(d.iterdir()) if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]

    top = images(folder)
    # class subfolders: those holding images (others, e.g. hidden or checkpoint folders, are ignored)
    subdirs = [sd for sd in sorted(p for p in folder.iterdir() if p.is_dir()) if images(sd)]
    files: list[tuple[Path, str | None]] = []
    if subdirs and top:
        raise RegimesError(
            f"{folder}: holds both {len(top)} image(s) at the top level (e.g. {top[0].name}) and class "
            f"subfolders with images ({', '.join(sd.name for sd in subdirs[:5])}"
            f"{', …' if len(subdirs) > 5 else ''}); put every image in a class subfolder, or use a "
            "folder without subfolders for unlabelled data"
        )
    if subdirs:
        for sd in subdirs:
            files += [(f, sd.name) for f in images(sd)]
    else:
        files = [(f, None) for f in top]
    if not files:
        raise RegimesError(f"{folder}: no image files found (suffixes {', '.join(IMAGE_SUFFIXES)})")
    if size is not None:
        if isinstance(size, int | np.integer):
            size = (int(size), int(size))
        size = tuple(check_int("size", s, ge=1) for s in size)
        if len(size) != 2:
            raise RegimesError(f"size must be an int or (width, height), got {size!r}")
    rows, labs, shape0 = [], [], None
    for f, lab in files:
        try:
            with Image.open(f) as im:
                im = im.convert("L" if grayscale else "RGB")
                if size is not None:
                    im = im.resize(size, Image.Resampling.BILINEAR)
                a = np.asarray(im, dtype=np.uint8)
        except Exception as exc:  # noqa: BLE001
            raise RegimesError(f"{f}: unreadable image ({exc})") from None
        if shape0 is None:
            shape0 = a.shape
        elif a.shape != shape0:
            raise RegimesError(
                f"{f}: image shape {a.shape} differs from the first image's {shape0}; "
                "pass size=(width, height) (--size) to resize all images"
            )
        rows.append(a.reshape(-1))
        labs.append(lab)
    X = np.stack(rows)
    labels = None if subdirs == [] else np.array(labs)
    return X, labels


def load_dataset(
    path,
    *,
    key: str | None = None,
    labels=None,
    scale: str = "none",
    center: bool = True,
    size=None,
    grayscale: bool = False,
    **dataset_options,
):
    """Load a training set and return a :class:`regimes.Dataset`.

    Parameters
    ----------
    path : str, path or array_like
        ``.npy`` file (opened as a memory map and streamed; never read whole), ``.npz`` archive
        (choose the array with ``key`` unless it holds exactly one), a folder of images (needs
        Pillow, the ``regimes[images]`` extra; subfolders are classes) or an in-memory array.
        Rows are training points; trailing axes are flattened to (n, d).
    key : str, optional
        Array name inside a ``.npz``.
    labels : str, path or array_like, optional
        One class label per row: an array, or a ``.npy``/``.txt``/``.csv`` file.
    scale : {"none", "unit", "symmetric"}
        Units: as given, 8-bit to [0, 1], or 8-bit to [-1, 1].
    center : bool
        Subtract the per-feature mean (default, SPEC §1).
    size : int or (int, int), optional
        Images: resize to (width, height).
    grayscale : bool
        Images: convert to one channel.
    **dataset_options
        Passed to :class:`regimes.Dataset` (``samples``, ``seed``, ...).

    Returns
    -------
    regimes.Dataset

    Raises
    ------
    RegimesError
        Unreadable/truncated file, NaN/inf, fewer than 2 rows, ragged or non-numeric data,
        label count mismatch, values outside [0, 255] with ``scale`` other than ``"none"``.
    """
    from .dataset import Dataset

    return Dataset(_load_source(path, key=key, labels=labels, scale=scale, center=center,
                                size=size, grayscale=grayscale), **dataset_options)


def _load_source(path, *, key=None, labels=None, scale="none", center=True, size=None, grayscale=False,
                 progress=None):
    _scale_map(scale)
    lab_where = None
    if isinstance(labels, str | os.PathLike):
        lab_where = str(labels)
        labels = load_labels(labels)
    if not isinstance(path, str | os.PathLike):
        src = as_source(path, labels, scale=scale, center=center, progress=progress)
        return src
    p = Path(path)
    name = str(p)
    if not p.exists():
        raise RegimesError(f"data file {name!r} does not exist")
    fd_path, offset = None, 0
    folder_labels = None
    if p.is_dir():
        arr, folder_labels = _load_images(p, size, grayscale)
    elif p.suffix == ".npy":
        try:
            with open(p, "rb") as fh:
                magic = fh.read(6)
        except OSError as exc:
            raise RegimesError(f"{name}: unreadable .npy file ({exc.strerror})") from None
        if magic != b"\x93NUMPY":
            raise RegimesError(f"{name}: not a numeric array: the file does not start with the .npy header")
        try:
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            msg = str(exc)
            if "Python objects" in msg or "pickle" in msg:
                raise RegimesError(
                    f"{name}: not a numeric array: it holds Python objects (ragged rows or mixed types); "
                    "save a rectangular integer or float array"
                ) from None
            if "mmap length" in msg or "cannot reshape" in msg or "size" in msg:
                raise RegimesError(f"{name}: file is truncated or corrupt ({msg})") from None
            raise RegimesError(f"{name}: unreadable .npy file ({msg})") from None
        except Exception as exc:  # noqa: BLE001
            raise RegimesError(f"{name}: unreadable .npy file ({exc})") from None
        if isinstance(arr, np.memmap):
            _check_numeric(arr, name)
            if arr.flags.c_contiguous and arr.ndim >= 1:
                fd_path, offset = str(p), int(arr.offset)
                expected = offset + arr.size * arr.dtype.itemsize
                if os.path.getsize(p) < expected:
                    raise RegimesError(f"{name}: file is truncated")
            if arr.dtype.byteorder not in ("=", "|", "<" if np.little_endian else ">"):
                fd_path = None  # non-native byte order: let numpy convert
    elif p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                keys = list(z.keys())
                if key is None:
                    if len(keys) != 1:
                        raise RegimesError(
                            f"{name}: the archive holds {len(keys)} arrays ({', '.join(keys) or 'none'}); "
                            "choose one with key= (--key)"
                        )
                    key = keys[0]
                if key not in keys:
                    raise RegimesError(f"{name}: no array {key!r} in the archive (found {', '.join(keys)})")
                arr = z[key]
        except RegimesError:
            raise
        except ValueError as exc:
            if "Object arrays" in str(exc) or "pickle" in str(exc):
                raise RegimesError(
                    f"{name}: array {key!r} is not a numeric array: its rows are ragged or not numbers "
                    "(an object array); save a rectangular integer or float array"
                ) from None
            raise RegimesError(f"{name}: unreadable .npz file ({exc})") from None
        except Exception as exc:  # noqa: BLE001
            raise RegimesError(f"{name}: unreadable .npz file ({exc})") from None
    else:
        raise RegimesError(
            f"{name}: unsupported data file (use .npy, .npz or a folder of images)"
        )
    if key is not None and p.suffix != ".npz":
        raise RegimesError(f"key={key!r} only applies to .npz archives, not {name!r}")
    _check_numeric(arr, name)
    if arr.ndim == 0:
        raise RegimesError(f"{name}: data must be an array of rows, got a scalar")
    arr = _flatten(arr, name)
    if labels is None and folder_labels is not None:
        labels = folder_labels
    lab, names = (None, None)
    if labels is not None:
        lab, names = _encode_labels(labels, lab_where or name)
        if lab.shape[0] != arr.shape[0]:
            raise RegimesError(
                f"{lab_where or 'labels'}: {lab.shape[0]} labels for {arr.shape[0]} rows of {name}"
            )
    return DataSource(raw=arr, name=name, scale=scale, center=bool(center), labels=lab,
                      class_names=names, _fd_path=fd_path, _offset=offset, progress=progress)
