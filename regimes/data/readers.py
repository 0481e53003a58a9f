"""Readers: ``.npy`` (memory-mapped), ``.npz``, image folders, label files → :class:`DataSource`.

Every problem with the input (NaN/inf, fewer than two rows, ragged or non-numeric data, an
unreadable or truncated file, a label count that does not match) raises
:class:`regimes.RegimesError` naming the file and the problem, before anything is computed.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .._errors import RegimesError
from .._validate import check_bool, check_callback, check_int, check_memory
from .formats import choose_key, format_of, read_format
from .rows import RowView, is_batch_iterable
from .source import DataSource, as_source, check_numeric, rows_source, scale_map, spooled_source

__all__ = ["IMAGE_SUFFIXES", "input_kind", "load_labels", "load_source"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


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


def _label_lines(p: Path, text: str) -> list[str]:
    """One label per line (blank lines and lines starting with '#' skipped); a ``.csv`` line is
    parsed as CSV, so a quoted label may hold commas (``"tench, Tinca tinca"``) — but one field
    per line. No NaN/inf (a missing value is not a class)."""
    import csv

    lines = [x.strip() for x in text.splitlines()]
    lines = [x for x in lines if x and not x.startswith("#")]
    if p.suffix.lower() == ".csv":
        fields = list(csv.reader(lines))
        for i, (x, row) in enumerate(zip(lines, fields, strict=True)):
            if len(row) != 1:
                raise RegimesError(f"labels file {str(p)!r}: line {i + 1} has {len(row)} columns "
                                   f"({x!r}); give one label per line (quote a label that holds commas)")
        lines = [row[0].strip() for row in fields]
    for i, x in enumerate(lines):
        if x.lower().lstrip("+-") in ("nan", "inf", "infinity", "none", "null", ""):
            raise RegimesError(f"labels file {str(p)!r}: line {i + 1} is {x!r}, not a class label")
    return lines


def load_labels(path) -> np.ndarray:
    """Read class labels from a ``.npy`` (or ``.txt``/``.csv``, one per line) file.

    Text labels that all parse as integers (or integral floats such as ``1.0``) are read as
    integers; otherwise as strings (``"1"`` and ``"1.0"`` are then different classes).
    """
    if not isinstance(path, str | os.PathLike):
        raise RegimesError(f"path must be a labels file (a str or os.PathLike: .npy, .txt or .csv), got {path!r}")
    if not str(path).strip():  # Path("") is the current folder
        raise RegimesError(f"labels: empty path {str(path)!r} (give a .npy, .txt or .csv file)")
    p = Path(path)
    if p.is_dir():
        raise RegimesError(f"labels file {str(p)!r} is a folder (give a .npy, .txt or .csv file)")
    if not p.is_file():
        raise RegimesError(f"labels file {str(p)!r} does not exist")
    try:
        if p.suffix.lower() == ".npy":
            lab = np.load(p, allow_pickle=False)
        elif p.suffix.lower() in (".txt", ".csv"):
            # one label per line; read directly rather than with numpy.loadtxt, which warns on an
            # empty file and splits on spaces; "utf-8-sig": a byte-order mark (Excel's "CSV UTF-8")
            # is not part of the first label
            lines = _label_lines(p, p.read_text(encoding="utf-8-sig"))
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


#: Pillow modes of more than 8 bits per channel (16-bit and 32-bit integers, 32-bit floats)
DEEP_IMAGE_MODES = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N", "I;16S", "I;32", "I;32L", "I;32B")


def input_kind(path) -> str:
    """What :func:`load_source` would read at ``path``: ``"images"`` (a folder of images: ``size``,
    ``grayscale``, ``color`` apply), ``"keyed"`` (a format that holds several arrays: ``.npz``,
    HDF5, zarr, safetensors, Parquet/Arrow, a Hugging Face folder — ``key`` applies) or ``"plain"``."""
    if not isinstance(path, str | os.PathLike):
        raise RegimesError(f"path must be a file or folder path (a str or os.PathLike), got {path!r}")
    p = Path(path)
    if format_of(p) is not None or (p.suffix.lower() == ".npz" and not p.is_dir()):
        return "keyed"
    return "images" if p.is_dir() else "plain"


def _read_image(Image, f: Path, grayscale: bool, size) -> np.ndarray:
    """One image as a uint8 array (L or RGB, resized to ``size`` when given); images of more than
    8 bits per channel are refused (converting them to 8 bits would clip or truncate the values)."""
    with Image.open(f) as im:
        if im.mode in DEEP_IMAGE_MODES:
            raise RegimesError(
                f"{f}: a {im.mode!r} image (more than 8 bits per channel); image folders are read as 8-bit "
                "images, which would clip or truncate its values — save the images as an array (.npy) in "
                "their own units and give scale= for them")
        im = im.convert("L" if grayscale else "RGB")
        if size is not None:
            im = im.resize(size, Image.Resampling.BILINEAR)
        return np.asarray(im, dtype=np.uint8)


def _load_images(folder: Path, size, grayscale: bool, color: bool = False):
    """``(X, labels, notes)`` of an image folder.

    Without ``grayscale`` or ``color``, a folder whose images are all grayscale (including
    grayscale stored as RGB, R = G = B) is read as one channel, with a note; a folder mixing
    grayscale and colour images is an error (choose ``grayscale`` or ``color``), so that d never
    silently triples for some images only.
    """
    if grayscale and color:
        raise RegimesError("grayscale and color: give at most one")
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - depends on the environment
        raise RegimesError(
            f"{folder}: reading image folders needs Pillow; install the extra `regimes[images]`"
        ) from None
    def images(d):
        found = [f for f in sorted(d.iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
        for f in found:
            if f.is_symlink() and not f.exists():
                raise RegimesError(f"{f}: a symlink to a missing file ({os.readlink(f)!r}); remove it or restore "
                                   "its target")
        return [f for f in found if f.is_file()]

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
        size = tuple(check_int("size", s, ge=1, le=2**15) for s in size)
        if len(size) != 2:
            raise RegimesError(f"size must be an int or (width, height), got {size!r}")
        # before reading: the pixels of every image (uint8) and the float64 rows made of them
        check_memory("size", size[0] if size[0] == size[1] else size, 9.0 * 3 * len(files) * size[0] * size[1],
                     what=f"{len(files)} images of {size[0]}×{size[1]}×3")
    rows, labs, shape0, gray = [], [], None, []
    for f, lab in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)  # refuse, never leak it
                a = _read_image(Image, f, grayscale, size)
        except Exception as exc:  # noqa: BLE001
            raise RegimesError(f"{f}: unreadable image ({exc})") from None
        if shape0 is None:
            shape0 = a.shape
        elif a.shape != shape0:
            raise RegimesError(
                f"{f}: image shape {a.shape} differs from the first image's {shape0}; "
                "pass size=(width, height) to resize all images"
            )
        gray.append(grayscale or bool(np.all(a[..., 0] == a[..., 1]) and np.all(a[..., 1] == a[..., 2])))
        rows.append(a)
        labs.append(lab)
    notes = []
    if not grayscale and not color:
        n_gray = sum(gray)
        if n_gray == len(rows):
            rows = [a[..., 0] for a in rows]
            notes.append(f"{folder}: all {n_gray} images are grayscale (R = G = B): read as one channel "
                         f"(d = {rows[0].size}); color=True (--color) forces three channels")
        elif n_gray:
            first = next(f for (f, _), g in zip(files, gray, strict=True) if g)
            raise RegimesError(
                f"{folder}: mixes {n_gray} grayscale (R = G = B, e.g. {first.name}) and "
                f"{len(rows) - n_gray} colour images; choose grayscale=True (--grayscale, one channel) "
                "or color=True (--color, three channels)")
    X = np.stack([a.reshape(-1) for a in rows])
    labels = None if subdirs == [] else np.array(labs)
    return X, labels, notes


def _read_npy(p: Path, name: str):
    """A ``.npy`` as a memory map; ``(array, file to pread or None, data offset)``."""
    fd_path, offset = None, 0
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
        check_numeric(arr, name)
        if arr.flags.c_contiguous and arr.ndim >= 1:
            fd_path, offset = str(p), int(arr.offset)
            expected = offset + arr.size * arr.dtype.itemsize
            if os.path.getsize(p) < expected:
                raise RegimesError(f"{name}: file is truncated")
        if not arr.dtype.isnative:
            fd_path = None  # non-native byte order: let numpy convert
    return arr, fd_path, offset


def _read_npz(p: Path, name: str, key):
    """The array ``key`` of a ``.npz`` archive (the only one when ``key`` is None)."""
    import zipfile

    if not zipfile.is_zipfile(p):  # np.load would take it for a pickle
        raise RegimesError(f"{name}: not a .npz archive (not a zip file: truncated, or another format renamed)")
    try:
        with np.load(p, allow_pickle=False) as z:
            key = choose_key(name, "array", z.keys(), key)
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
    return arr


def _is_npy(p) -> bool:
    return str(p).lower().endswith(".npy")


def _is_shards(path) -> bool:
    """A list of ``.npy`` paths, or a glob pattern of them (``"data/part-*.npy"``, a str or a
    :class:`pathlib.Path`); a list of paths that are not all ``.npy`` is refused (only ``.npy``
    files are read as shards)."""
    if isinstance(path, list | tuple):
        if not path or not all(isinstance(p, str | os.PathLike) for p in path):
            return False
        other = next((p for p in path if not _is_npy(p)), None)
        if other is not None:
            raise RegimesError(f"a list of data files must be .npy shards; got {str(other)!r}"
                               f"{'' if len(path) == 1 else f' (item {path.index(other)} of {len(path)})'}")
        return True
    return isinstance(path, str | os.PathLike) and _is_npy(path) and any(c in str(path) for c in "*?[") \
        and not os.path.exists(path)


def load_source(path, *, key=None, labels=None, scale: str | float = "none", center: bool = True, size=None,
                grayscale: bool = False, color: bool = False, progress=None) -> DataSource:
    """Read a training set (file, folder or array) as a :class:`DataSource`.

    Parameters
    ----------
    path : str, path, array_like or iterable of batches
        ``.npy`` file (opened as a memory map and streamed; never read whole), a list or glob
        pattern of ``.npy`` shards (a Dask array of their memory maps, ``regimes[dask]``), ``.npz`` archive
        (choose the array with ``key`` unless it holds exactly one), a folder of images (needs
        Pillow, the ``regimes[images]`` extra; subfolders are classes), HDF5 (``regimes[hdf5]``),
        a zarr store folder or ``.zip`` (``regimes[zarr]``), ``.safetensors`` (no extra),
        Parquet, Arrow/Feather or a Hugging Face ``save_to_disk`` folder (``regimes[arrow]``) —
        see :mod:`regimes.data.formats` — or in the library an in-memory array, any object with
        ``__array__`` or ``__dlpack__`` (torch, JAX, cupy: read and copied to the host block by
        block), or an iterable of batches (a PyTorch DataLoader, a generator: arrays, ``(x, y)``
        pairs whose ``y`` become the labels, or mappings whose ``key`` entry is the data), written
        once to a temporary memory map in the system temporary folder (removed with the source)
        and then read like a ``.npy``. Pickles (``.pt``, ``.pth``, ``.pkl``) are rejected, never
        opened. Rows are training points; trailing axes are flattened to (n, d).
    key : str, optional
        Array name inside a ``.npz``, dataset path in HDF5, array in a zarr group, tensor in a
        safetensors file, column of Arrow/Parquet data, or entry of mapping batches.
    labels : str, path or array_like, optional
        One class label per row: an array, or a ``.npy``/``.txt``/``.csv`` file.
    scale : {"none", "unit", "symmetric"} or float
        Units: as given, 8-bit to [0, 1], 8-bit to [-1, 1], or the values multiplied by a
        positive factor (e.g. 0.18215 for Stable-Diffusion latents). ``unit``/``symmetric`` reject
        values that are not 8-bit integers.
    center : bool
        Subtract the per-feature mean (default).
    size : int or (int, int), optional
        Images: resize to (width, height).
    grayscale : bool
        Images: convert to one channel.
    color : bool
        Images: keep three channels even when every image is grayscale (R = G = B); by default
        such a folder is read as one channel (with a note), and a folder mixing grayscale and
        colour images is an error.
    progress : callable, optional
        ``progress(done, total)`` during the validation pass (rows).

    Returns
    -------
    DataSource

    Raises
    ------
    RegimesError
        Unreadable/truncated file, NaN/inf, fewer than 2 rows, ragged or non-numeric data,
        label count mismatch, non-8-bit values with ``scale`` ``"unit"``/``"symmetric"``, an image
        folder mixing grayscale and colour images.
    """
    scale_map(scale)
    center = check_bool("center", center)
    grayscale, color = check_bool("grayscale", grayscale), check_bool("color", color)
    check_callback("progress", progress, "progress(done, total)")
    if path is None:
        raise RegimesError("path must be a data file or folder (str or os.PathLike), a list of .npy shards, an "
                           "array or an iterable of batches, got None")
    if isinstance(path, str | os.PathLike) and not str(path).strip():  # Path("") is the current folder
        raise RegimesError(f"path: empty path {str(path)!r} (give a data file or folder)")
    lab_where = None
    if isinstance(labels, str | os.PathLike):
        lab_where = str(labels)
        labels = load_labels(labels)
    image_options = [f"{k}={v!r}" for k, v in (("size", size), ("grayscale", grayscale), ("color", color))
                     if v is not None and v is not False]
    verb = "applies" if len(image_options) == 1 else "apply"
    shards = _is_shards(path)
    if shards or not isinstance(path, str | os.PathLike):
        what = "shards" if shards else ("batches" if is_batch_iterable(path) else "an in-memory array")
        if image_options:
            raise RegimesError(f"{', '.join(image_options)} {verb} only to a folder of images, not to {what}")
        if key is not None and what != "batches":
            raise RegimesError(f"key={key!r} applies to files holding several arrays and to mapping batches, "
                               f"not to {what}")
    if shards:  # .npy shards: a Dask array of their memory maps, read chunk by chunk
        from ..distributed import shard_rows

        name = str(path) if isinstance(path, str | os.PathLike) else f"{len(path)} .npy shards"
        arr, origins = shard_rows(path)
        return rows_source(RowView(arr, name), labels, name=name, scale=scale, center=center, progress=progress,
                           label_where=lab_where, origins=origins)
    if not isinstance(path, str | os.PathLike):
        if is_batch_iterable(path):  # batches (key names the data of mapping batches)
            return spooled_source(path, labels, scale=scale, center=center, name="<batches>", progress=progress,
                                  key=key)
        return as_source(path, labels, scale=scale, center=center, progress=progress)
    p = Path(path)
    name = str(p)
    if not p.exists():
        raise RegimesError(f"data file {name!r} does not exist")
    fd_path, offset = None, 0
    folder_labels, notes = None, []
    other = read_format(p, name, key)
    if image_options and (other is not None or not p.is_dir()):
        raise RegimesError(f"{', '.join(image_options)} {verb} only to a folder of images, not to {name!r}")
    if other is not None:
        arr, fd_path, offset = other
    elif p.is_dir():
        arr, folder_labels, notes = _load_images(p, size, grayscale, color)
    elif p.suffix.lower() == ".npy":
        arr, fd_path, offset = _read_npy(p, name)
    elif p.suffix.lower() == ".npz":
        arr = _read_npz(p, name, key)
    else:
        raise RegimesError(
            f"{name}: unsupported data file (use .npy, .npz, .h5, .safetensors, .parquet, .arrow, a zarr "
            "store, a Hugging Face dataset folder or a folder of images)"
        )
    if key is not None and other is None and p.suffix.lower() != ".npz":
        raise RegimesError(f"key={key!r} only applies to .npz, HDF5, zarr, safetensors and Arrow/Parquet "
                           f"data, not {name!r}")
    return rows_source(arr, folder_labels if labels is None else labels, name=name, scale=scale, center=center,
                       progress=progress, label_where=lab_where, file_path=fd_path, file_offset=offset, notes=notes)
