"""Shared options of the CLI commands: help texts, presets, σ², where each number came from.

Command modules import their shared helpers from here and from :mod:`regimes_cli._output`, never
from each other. The checks here are of CLI inputs and name the CLI's flags (``--n``); the
library's own messages name its parameters (``n=``), and :func:`flag_errors` translates the
library's internal argument names into the flags that set them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import Optional

__all__ = [
    "PRESET_HELP",
    "SCHEDULE_HELP",
    "UNITS_HELP",
    "VARIANCE_HELP",
    "SCALE_HELP",
    "apply_units",
    "memory_budget_bytes",
    "parse_scale",
    "flag_errors",
    "int_in_range",
    "load_preset",
    "need",
    "num",
    "positive",
    "provenance",
    "quiet_no_speciation",
    "resolve_variance",
]

SCHEDULE_HELP = "Discrete schedule: linear (DDPM), cosine (Nichol & Dhariwal) or scaled-linear (Stable Diffusion)."
PRESET_HELP = "Take n, d (and the eigenvalue when known) from a dataset preset; see `regimes presets`."
UNITS_HELP = (
    "Pixel convention in which the preset's Λ and σ² are used: unit ([0, 1]) or symmetric "
    "([−1, 1], what DDPM and EDM train in; the default). Symmetric multiplies both by 4. "
    "Only with --preset."
)
SCALE_HELP = (
    "Units: none (as given), unit (8-bit → [0,1]), symmetric (8-bit → [-1,1]) or a positive factor "
    "multiplying the data (e.g. 0.18215 for Stable-Diffusion latents)."
)
VARIANCE_HELP = (
    "Per-coordinate variance σ² of the data (within-class for a mixture), in the same units as Λ; "
    "for real data use the mean per-feature variance Tr C/d. Default 1 (unit-variance data)."
)


def resolve_variance(variance: Optional[float], preset=None) -> tuple[float, list[str]]:
    """σ² for the Gaussian t_C formula, with a note saying where it came from when not given."""
    if variance is not None:
        if preset is not None and preset.variance is not None:
            return variance, [f"--variance {variance:g} overrides preset {preset.name}'s σ² = {preset.variance:g}"]
        return variance, []
    if preset is not None and preset.variance is not None:
        return preset.variance, [
            f"σ² = {preset.variance:g} from preset {preset.name} ({preset.units}"
            + ("" if preset.variance_scope is None else f"; {preset.variance_scope}")
            + f"): {preset.variance_source}"
        ]
    if preset is not None and preset.has_eigenvalue:
        return 1.0, [
            f"σ² = 1 assumed, but preset {preset.name}'s Λ is in {preset.units}: the units do not match, "
            "so t_C (and whether Regime II exists) is NOT meaningful; pass --variance with the mean "
            "per-feature variance Tr C/d of the data in those units"
        ]
    return 1.0, [
        "σ² = 1 assumed (unit-variance data): t_C depends strongly on σ², so for real data pass "
        "--variance with the mean per-feature variance Tr C/d in the units of Λ "
        "(about 0.06 for CIFAR-10 pixels in [0,1])"
    ]


def apply_units(p, units: Optional[str], notes: list[str]):
    """The preset ``p`` with its Λ and σ² in the pixel convention ``--units`` (default symmetric).

    Returns ``(preset, units)`` (:meth:`regimes.presets.Preset.in_units` converts):
    ``(None, None)`` without a preset; ``--units`` without ``--preset`` is an error.
    """
    from regimes import RegimesError
    from regimes.presets import PIXEL_UNITS

    if p is None:
        if units is not None:
            raise RegimesError("--units applies only with --preset (give Λ and σ² in your data's units otherwise)")
        return None, None
    units = "symmetric" if units is None else units.strip().lower()
    if units not in PIXEL_UNITS:
        raise RegimesError(f"--units must be unit or symmetric, got {units!r}")
    p = p.in_units(units)
    notes.append("units: pixels in [0, 1] (--units unit)" if units == "unit" else
                 "units: pixels in [−1, 1] (--units symmetric, the default): the preset's Λ and σ² "
                 "(stored for [0, 1]) × 4, so t_S is ln 2 later")
    return p, units


def load_preset(name: Optional[str]):
    """The preset of ``--preset NAME`` (None without one)."""
    if name is None:
        return None
    from regimes.presets import get_preset

    return get_preset(name)


def need(value, name: str, preset=None, attr: str | None = None, notes: list | None = None):
    """An option's value, else the preset's (recording where each number came from in ``notes``)."""
    from regimes import RegimesError

    field = attr or name
    from_preset = None if preset is None else getattr(preset, field, None)
    if value is not None:
        if from_preset is not None and notes is not None:
            notes.append(f"--{name.replace('_', '-')} {value:g} overrides preset {preset.name}'s "
                         f"{'Λ' if field == 'eigenvalue' else field} = {from_preset:g}")
        return value
    if from_preset is not None:
        if notes is not None:
            notes.append(provenance(preset, field))
        return from_preset
    where = f" (preset {preset.name!r} does not give it)" if preset is not None else ""
    raise RegimesError(f"--{name.replace('_', '-')} is required{where}")


def provenance(p, field: str) -> str:
    """One line saying what a preset's number is and where it comes from."""
    if field == "eigenvalue":
        scope = "" if p.eigenvalue_scope is None else f"; scope: {p.eigenvalue_scope}"
        checked = "; units and channel convention not verified" if p.convention_verified is False else ""
        return (f"Λ = {p.eigenvalue:g} from preset {p.name}: {p.eigenvalue_source}; units: {p.units}{scope}"
                f"{checked} (`regimes presets {p.name}` gives the reference)")
    if field == "n":
        return f"n = {p.n} from preset {p.name}: {p.n_note}"
    if field == "d":
        return f"d = {p.d} from preset {p.name}: C·H·W = {'×'.join(map(str, p.shape))}"
    return f"{field} from preset {p.name}"


def num(x):
    """n and d are echoed as integers when integral."""
    return int(x) if float(x).is_integer() and abs(x) < 2**63 else x


def quiet_no_speciation(fn, *args):
    """``fn(*args)`` without the warning that Λ <= 1 has no speciation (the CLI says it in a note)."""
    import warnings

    from regimes import RegimesWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RegimesWarning)
        return fn(*args)


def positive(value: float, flag: str) -> float:
    """A CLI number that must be finite and > 0 (one-line error naming the flag otherwise)."""
    from regimes import RegimesError

    if not (math.isfinite(value) and value > 0):
        raise RegimesError(f"{flag} must be a finite number > 0, got {value!r}")
    return value


def int_in_range(value: int, flag: str, lo: int, hi: int | None = None) -> int:
    """A CLI integer that must lie in ``[lo, hi]`` (one-line error naming the flag otherwise)."""
    from regimes import RegimesError

    if value < lo or (hi is not None and value > hi):
        allowed = f">= {lo}" + ("" if hi is None else f" and <= {hi}")
        raise RegimesError(f"{flag} must be {allowed}, got {value}")
    return value


@contextlib.contextmanager
def flag_errors(flags: Mapping[str, str]) -> Iterator[None]:
    """Re-raise a library error with its internal argument names replaced by the CLI's flags.

    ``flags`` maps a library name as it appears in messages (``"d_range[0]"``) to the flag that
    sets it (``"--d-min"``); longer names are replaced first, so ``"d_range[0]"`` wins over
    ``"d_range"``.
    """
    from regimes import RegimesError

    try:
        yield
    except RegimesError as exc:
        msg = str(exc)
        for name in sorted(flags, key=len, reverse=True):
            msg = msg.replace(name, flags[name])
        if msg == str(exc):
            raise
        raise RegimesError(msg) from None


def parse_scale(text: str):
    """``--scale``: none, unit, symmetric, or a positive finite factor (one-line error otherwise)."""
    from regimes import RegimesError

    key = text.strip().lower()
    if key in ("none", "unit", "symmetric"):
        return key
    try:
        value = float(key)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise RegimesError(f"--scale must be none, unit, symmetric or a finite number > 0, got {text!r}")
    return value


def memory_budget_bytes(megabytes: float) -> int:
    """``--memory-mb`` in bytes (one-line error below 1 MB)."""
    from regimes import RegimesError

    if not math.isfinite(megabytes) or megabytes < 1:
        raise RegimesError(f"--memory-mb must be >= 1 (MB), got {megabytes:g}")
    return int(megabytes * 2**20)
