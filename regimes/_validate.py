"""Input validation shared by the whole library.

Every check raises :class:`regimes.RegimesError` whose message names the parameter, the value
received and what is allowed, so that the CLI can print it as one line.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._errors import RegimesError

__all__ = [
    "MAX_BOOTSTRAP",
    "MAX_SAMPLES",
    "MAX_STEPS",
    "as_real_array",
    "available_memory_bytes",
    "check_bool",
    "check_callback",
    "check_choice",
    "check_memory",
    "check_int",
    "check_real",
    "check_rng",
    "replace_checked",
    "shown",
]


_FLOAT_MAX = float(np.finfo(np.float64).max)


def _fmt(value) -> str:
    if isinstance(value, numbers.Rational) and not isinstance(value, bool):
        try:  # a 400-digit integer (or Fraction) is not worth printing in full
            iv = int(value)
            if abs(iv) > 10**20:
                kind = f"an integer of {len(str(abs(iv)))} digits" if value == iv else type(value).__name__
                return f"{_sci(iv)} ({kind})"
        except (TypeError, ValueError, OverflowError):  # fall through to repr
            pass
    try:
        arr = np.asarray(value)
        if arr.ndim == 0:
            return repr(arr.item())
        if arr.size > 6:
            return f"array of shape {arr.shape}"
    except Exception:  # noqa: BLE001 - formatting must never fail
        pass
    return repr(value)


def _sci(iv: int) -> str:
    digits = str(abs(iv))
    return f"{'-' if iv < 0 else ''}{digits[0]}.{digits[1:4].ljust(3, '0')}e+{len(digits) - 1}"


def _too_large(name: str, value, plural: bool = False) -> RegimesError:
    what = "real numbers" if plural else "a real number"
    return RegimesError(
        f"{name} must be {what} representable as a float64 (|{name}| <= {_FLOAT_MAX:.4g}), "
        f"got {'an entry ' if plural else ''}{_fmt(value)}"
    )


def check_real(
    name: str,
    value,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> float:
    """Return ``value`` as a finite Python float, or raise RegimesError naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real | np.floating | np.integer):
        try:
            if isinstance(value, str | bytes | bool | np.bool_) or value is None:  # no silent coercion
                raise TypeError
            value_f = float(value)
        except OverflowError:
            raise _too_large(name, value) from None
        except (TypeError, ValueError):
            raise RegimesError(f"{name} must be a real number, got {_fmt(value)}") from None
    else:
        try:
            value_f = float(value)
        except OverflowError:  # e.g. 10**400 or Fraction(10**400): too large for a float
            raise _too_large(name, value) from None
    if not math.isfinite(value_f):
        raise RegimesError(f"{name} must be finite, got {value_f!r}")
    _check_bounds(name, value_f, gt, ge, lt, le)
    return value_f


def _bound(b) -> str:
    """A bound as the user would type it: integers in full (67108864, not 6.71089e+07)."""
    return str(int(b)) if isinstance(b, numbers.Integral) else f"{b:g}"


def _bounds_text(gt, ge, lt, le) -> str:
    parts = [f"{op} {_bound(b)}" for op, b in ((">", gt), (">=", ge), ("<", lt), ("<=", le)) if b is not None]
    return " and ".join(parts)


def _check_bounds(name, v, gt, ge, lt, le, shown=None):
    bad = (
        (gt is not None and not v > gt)
        or (ge is not None and not v >= ge)
        or (lt is not None and not v < lt)
        or (le is not None and not v <= le)
    )
    if bad:
        shown = _fmt(v) if shown is None else shown
        raise RegimesError(f"{name} must be {_bounds_text(gt, ge, lt, le)}, got {shown}")


def check_int(name: str, value, *, ge: int | None = None, le: int | None = None) -> int:
    """Return ``value`` as a Python int (integral floats accepted), or raise RegimesError."""
    if isinstance(value, bool | str | bytes | np.bool_):  # True, "5": not integers (no silent coercion)
        raise RegimesError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        iv = int(value)
    else:
        try:
            fv = float(value)
        except OverflowError:
            raise RegimesError(f"{name} must be an integer, got {_fmt(value)} (too large)") from None
        except (TypeError, ValueError):
            raise RegimesError(f"{name} must be an integer, got {_fmt(value)}") from None
        if not math.isfinite(fv) or fv != int(fv):
            raise RegimesError(f"{name} must be an integer, got {_fmt(value)}")
        iv = int(fv)
    _check_bounds(name, iv, None, ge, None, le)
    return iv


def as_real_array(
    name: str,
    value,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    ndim: int | None = None,
    min_size: int = 0,
    allow_inf: bool = False,
) -> np.ndarray:
    """Return ``value`` as a finite float64 array satisfying the bounds, or raise RegimesError.

    ``allow_inf=True`` also accepts ±inf (still subject to the bounds; NaN is always rejected),
    for maps whose saturated endpoints are meaningful (e.g. ``ᾱ = 0`` at ``t = +inf``).
    """
    if _not_numbers(value):  # "4", True: not numbers (no silent coercion)
        raise RegimesError(f"{name} must be real numbers, got {_fmt(value)}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except OverflowError:  # a Python int (or Fraction) beyond the float64 range
        flat = np.asarray(value, dtype=object).ravel() if np.ndim(value) else [value]
        big = next((v for v in flat if _overflows(v)), value)
        raise _too_large(name, big, plural=bool(np.ndim(value))) from None
    except (TypeError, ValueError):
        raise RegimesError(f"{name} must be real numbers, got {_fmt(value)}") from None
    if ndim is not None and arr.ndim != ndim:
        raise RegimesError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if arr.size < min_size:
        raise RegimesError(f"{name} must have at least {min_size} entries, got {arr.size}")
    bad_mask = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if np.any(bad_mask):
        bad = float(arr[bad_mask].ravel()[0])
        what = f"got {bad!r}" if arr.ndim == 0 else f"got an entry {bad!r}"
        raise RegimesError(f"{name} must be {'a number (not NaN)' if allow_inf else 'finite'}, {what}")
    if arr.size:
        for bound, test in ((gt, arr > gt if gt is not None else None),
                            (ge, arr >= ge if ge is not None else None),
                            (lt, arr < lt if lt is not None else None),
                            (le, arr <= le if le is not None else None)):
            if bound is not None and not np.all(test):
                worst = arr[~test].ravel()[0]
                _check_bounds(name, float(worst), gt, ge, lt, le,
                              shown=_fmt(worst) if arr.ndim == 0 else f"an entry {float(worst)!r}")
    return arr


def _not_numbers(value) -> bool:
    """Strings, bytes, booleans, complex numbers and None (or arrays of them): refused where real
    numbers are expected (numpy would coerce them silently: True to 1, 1+2j to 1, None to NaN)."""
    if value is None or isinstance(value, str | bytes | bool | np.bool_ | complex | np.complexfloating):
        return True
    try:
        return np.asarray(value).dtype.kind in "USbc"
    except Exception:  # noqa: BLE001 - ragged or odd input: left to the conversion below
        return False


def _overflows(v) -> bool:
    try:
        float(v)
    except OverflowError:
        return True
    except (TypeError, ValueError):
        return False
    return False


def check_bool(name: str, value) -> bool:
    """Return ``value`` as a Python bool; only True/False (or numpy's) are flags — ``"no"`` or 0
    would otherwise be read by truthiness."""
    if not isinstance(value, bool | np.bool_):
        raise RegimesError(f"{name} must be True or False, got {_fmt(value)}")
    return bool(value)


def check_callback(name: str, value, signature: str):
    """``value`` when it is None or callable, else a RegimesError naming ``name`` and the expected
    ``signature`` (e.g. ``"progress(done, total)"``)."""
    if value is not None and not callable(value):
        raise RegimesError(f"{name} must be a callable {signature} or None, got {_fmt(value)}")
    return value


def check_choice(name: str, value, choices, *, quoted: bool = False, suffix: str = "") -> str:
    """``value`` when it is one of the strings ``choices``, else a RegimesError naming ``name``,
    the value and the choices: ``"name must be one of a, b, c{suffix}, got 'x'"``, or with
    ``quoted`` ``"name must be 'a', 'b' or 'c'{suffix}, got 'x'"``. Only strings are choices: an
    array or a number is refused here, not compared element by element."""
    if isinstance(value, str) and value in choices:
        return value
    if quoted:
        names = [repr(c) for c in choices]
        allowed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    else:
        allowed = f"one of {', '.join(choices)}"
    raise RegimesError(f"{name} must be {allowed}{suffix}, got {_fmt(value)}")


def check_rng(rng) -> np.random.Generator:
    """Turn ``rng`` (None, an int seed or a Generator) into a Generator; never the global state."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and int(rng) >= 0:
        return np.random.default_rng(int(rng))
    raise RegimesError(f"rng must be a non-negative integer seed or a numpy Generator, got {_fmt(rng)}")


#: Upper bounds of the count-like parameters (beyond them no run finishes in useful time).
MAX_STEPS = 10**7
MAX_BOOTSTRAP = 100_000
MAX_SAMPLES = 2**26


def available_memory_bytes() -> int:
    """Physical memory available now (``SC_AVPHYS_PAGES × SC_PAGE_SIZE``; 4 GiB when unknown)."""
    import os

    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 4 << 30


def _bytes_text(b: float) -> str:
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b:.0f} B"


def check_memory(name: str, value, nbytes: float, limit: int | None = None, what: str = "") -> None:
    """Refuse (RegimesError naming ``name``) when ``nbytes`` — the memory a run with
    ``name=value`` would allocate — exceeds ``limit`` (default: the available memory)."""
    lim = available_memory_bytes() if limit is None else int(limit)
    if not nbytes <= lim:  # also catches nan
        src = "available memory" if limit is None else "memory budget"
        extra = f" ({what})" if what else ""
        raise RegimesError(
            f"{name}={_fmt(value)} needs about {_bytes_text(nbytes)}{extra}, more than the "
            f"{src} ({_bytes_text(lim)}); use a smaller {name}"
        )


def replace_checked(obj, changes: dict):
    """``dataclasses.replace(obj, **changes)`` (validated by the class), refusing an unknown field
    with a :class:`RegimesError` that lists the allowed ones (Python's TypeError names none)."""
    from dataclasses import fields, replace

    allowed = [f.name for f in fields(obj) if f.init]
    unknown = [k for k in changes if k not in allowed]
    if unknown:
        raise RegimesError(f"{type(obj).__name__}.replace: unknown field {', '.join(map(repr, unknown))}; "
                           f"allowed: {', '.join(allowed)}")
    return replace(obj, **changes)


def shown(value) -> str:
    """``value`` as the messages show it: in full, or a 400-digit integer by its size (no float
    conversion, so never an OverflowError while writing an error)."""
    return _fmt(value)
