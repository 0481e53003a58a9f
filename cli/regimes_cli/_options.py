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
from typing import Annotated, Optional

import typer

__all__ = [
    "AlphasCumprodOption",
    "BetasOption",
    "SamplerStepsOption",
    "SchedulerConfigOption",
    "StepsOption",
    "TimestepSpacingOption",
    "PRESET_HELP",
    "SCHEDULE_HELP",
    "UNITS_HELP",
    "VARIANCE_HELP",
    "SCALE_HELP",
    "BETAS_HELP",
    "ALPHAS_CUMPROD_HELP",
    "SCHEDULER_CONFIG_HELP",
    "SAMPLER_STEPS_HELP",
    "TIMESTEP_SPACING_HELP",
    "SCHEDULE_FORM_FLAGS",
    "STEPS_HELP",
    "build_sampler",
    "sampler_step_rows",
    "read_numbers",
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
    "variance_unmatched",
    "unmatched_row",
    "regime_ii_note",
    "UNMATCHED_VERDICT",
    "UNMATCHED_KEYS",
    "name_flags",
    "check_memory",
]

SCHEDULE_HELP = (
    "Schedule: linear (DDPM; at T ≠ 1000 its β ends scale by 1000/T, unlike diffusers' linspace(1e-4, 0.02, T): "
    "give such a model's --scheduler-config or --betas), cosine (Nichol & Dhariwal), scaled-linear "
    "(Stable Diffusion), vp-sde "
    "(continuous VP-SDE, β 0.1…20, at s = (k+1)/T), flow (rectified flow at τ = (k+1)/T; last step pure "
    "noise) or edm (the EDM σ sampler; --steps is then its N, default 18)."
)
BETAS_HELP = "Custom discrete schedule: a file of β_0 … β_{T-1} (.npy, or .txt/.csv with one number per line)."
ALPHAS_CUMPROD_HELP = (
    "Custom discrete schedule from its ᾱ_k (diffusers' alphas_cumprod; .npy, or .txt/.csv with one "
    "number per line); a last ᾱ = 0 (zero terminal SNR) puts the last step at t = ∞."
)
SCHEDULER_CONFIG_HELP = (
    "A diffusers scheduler_config.json (or a folder holding it), read as diffusers 0.42.1 reads it for its "
    "_class_name: beta_schedule, beta_start, beta_end (the class's defaults), num_train_timesteps, "
    "trained_betas, rescale_betas_zero_snr, timestep_spacing, steps_offset, use_karras_sigmas, "
    "lambda_min_clipped, skip_prk_steps; the sampler steps follow the class's own set_timesteps rules."
)
SAMPLER_STEPS_HELP = (
    "Number N of inference steps of your sampler (e.g. 50 DDIM steps): also say which of them crosses "
    "each transition (sampler step 0 = the first, noisiest step)."
)
TIMESTEP_SPACING_HELP = (
    "How the N sampler steps are spread over the training steps, as in diffusers: leading (the default, "
    "plus the config's steps_offset), trailing or linspace; default the --scheduler-config's own (its "
    "class's default; DPMSolverSinglestepScheduler has linspace only)."
)
STEPS_HELP = ("Steps T of a named schedule (2 to 10⁷, linear from 21; default 1000; edm: its N levels, "
              "default 18).")

# The schedule options shared by the commands that take a schedule, declared once (typer reads the
# Annotated metadata; a command writes ``betas: BetasOption = None``).
StepsOption = Annotated[Optional[int], typer.Option("--steps", "-T", help=STEPS_HELP)]
BetasOption = Annotated[Optional[str], typer.Option("--betas", help=BETAS_HELP)]
AlphasCumprodOption = Annotated[Optional[str], typer.Option("--alphas-cumprod", help=ALPHAS_CUMPROD_HELP)]
SchedulerConfigOption = Annotated[Optional[str], typer.Option("--scheduler-config", help=SCHEDULER_CONFIG_HELP)]
SamplerStepsOption = Annotated[Optional[int], typer.Option("--sampler-steps", help=SAMPLER_STEPS_HELP)]
TimestepSpacingOption = Annotated[Optional[str], typer.Option("--timestep-spacing", help=TIMESTEP_SPACING_HELP)]
#: the flags of the schedule forms, in the order errors name them
SCHEDULE_FORM_FLAGS = ("--schedule", "--betas", "--alphas-cumprod", "--scheduler-config")

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
KEY_HELP = ("Array, dataset, tensor or column inside a file that holds several (.npz, HDF5 path, zarr path, "
            "safetensors, Parquet/Arrow column).")


def key_option(extra: str = ""):
    """``--key``, as every command that reads data files declares it (``extra``: a sentence more)."""
    return typer.Option(None, "--key", help=KEY_HELP + (" " + extra if extra else ""))


def size_option():
    """``--size`` of image folders."""
    return typer.Option(None, "--size", help="Images: resize to size×size (1 to 32768, within memory: refused "
                        "before reading).")


def grayscale_option():
    """``--grayscale`` of image folders."""
    return typer.Option(False, "--grayscale", help="Images: convert to one channel.")


def color_option():
    """``--color`` of image folders."""
    return typer.Option(False, "--color", help="Images: keep three channels even when every image is grayscale "
                        "(R = G = B), which is otherwise read as one channel with a note; a folder mixing "
                        "grayscale and colour needs --grayscale or --color.")


def scale_flags(typed: str, parsed) -> dict:
    """The library's wording of the scale and image options → the flags as typed (for :func:`flag_errors`)."""
    return {f"scale={parsed!r}": f"--scale {typed}", "scale='none'": "--scale none", "scale=2": "--scale 2",
            "grayscale=True (--grayscale, one channel)": "--grayscale (one channel)",
            "color=True (--color, three channels)": "--color (three channels)",
            "grayscale=True": "--grayscale", "color=True": "--color", "grayscale and color": "--grayscale and --color"}


VARIANCE_HELP = (
    "Per-coordinate variance σ² of the data (within-class for a mixture), in the same units as Λ; "
    "for real data use the mean per-feature variance Tr C/d. Default 1 (unit-variance data)."
)


def resolve_variance(variance: Optional[float], preset=None, eigenvalue_given: bool = False) -> tuple[float, list[str]]:
    """σ² for the Gaussian t_C formula, with a note saying where it came from when not given
    (``eigenvalue_given``: Λ typed by the user, not the preset's — its units are the user's)."""
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
    if variance_unmatched(variance, preset, eigenvalue_given):
        return 1.0, [
            f"σ² = 1 assumed, but preset {preset.name}'s Λ is in {preset.units}: the units do not match, "
            "so t_C (and whether Regime II exists) is NOT meaningful; pass --variance with the mean "
            "per-feature variance Tr C/d of the data in those units"
        ]
    return 1.0, [
        "σ² = 1 assumed (unit-variance data): t_C depends strongly on σ², so for real data pass "
        "--variance with the mean per-feature variance Tr C/d of the data, in the units the model "
        "is trained on (the same units as any Λ given; about 0.06 for CIFAR-10 pixels in [0,1])"
    ]


def variance_unmatched(variance: Optional[float], preset=None, eigenvalue_given: bool = False) -> bool:
    """Whether :func:`resolve_variance` assumes σ² = 1 against a preset's Λ given in other units (then
    t_C, and whether Regime II exists, are not meaningful: outputs must say so next to the numbers).
    Not when the user typed Λ (``eigenvalue_given``): σ² = 1 is then the generic assumption."""
    return (variance is None and not eigenvalue_given and preset is not None and preset.variance is None
            and preset.has_eigenvalue)


def regime_ii_note(lam: float, t_S: float, t_C: float, unmatched: bool) -> list[str]:
    """The note on Regime II of `times` and `timeline` (a list of one, or none when it exists): no
    speciation, not assessed (σ² assumed against a preset's units), absent (t_C >= t_S)."""
    if math.isnan(t_S):
        return [f"Λ = {lam:g} <= 1: no speciation; Regime I goes straight to collapse"]
    if unmatched:
        return [UNMATCHED_VERDICT]
    if t_C >= t_S:
        return ["t_C >= t_S: collapse precedes speciation, Regime II does not exist"]
    return []


def unmatched_row(text: str, regime: dict, t_C: float, unmatched: bool) -> str:
    """A regime's table text, marked when one of its bounds is a t_C from an assumed σ²."""
    uses = t_C in (regime.get("t_min"), regime.get("t_max"))
    return text + (" (t_C from an assumed σ²)" if unmatched and uses else "")


#: the JSON keys of an output whose t_C comes from σ² assumed against a preset's units
UNMATCHED_KEYS = {"variance_assumed": True, "regime_II_assessed": False}
#: what the outputs say instead of a Regime II verdict when σ² was assumed against a preset's units
UNMATCHED_VERDICT = ("whether Regime II exists is not assessed: t_C uses σ² = 1, assumed, in units that do not "
                     "match Λ's (pass --variance)")


#: the preset numbers --units converts: (attribute, symbol, flag)
_UNIT_QUANTITIES = (("eigenvalue", "Λ", "--eigenvalue"), ("variance", "σ²", "--variance"))


def apply_units(p, units: Optional[str], notes: list[str], given: Optional[Mapping] = None,
                uses: tuple[str, ...] = ("eigenvalue", "variance")):
    """The preset ``p`` with its Λ and σ² in the pixel convention ``--units`` (default symmetric).

    Returns ``(preset, units)`` (:meth:`regimes.presets.Preset.in_units` converts):
    ``(None, None)`` without a preset; ``--units`` without ``--preset`` is an error.

    ``given`` maps ``"eigenvalue"`` / ``"variance"`` to the value the user passed (None: not given)
    and ``uses`` names the quantities the command uses: the note says which of them were converted
    (the preset's, not overridden) and which were not (the user's own, used as given, or absent
    from the preset), so that it never claims a conversion that did not happen.
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
    notes.append(_units_note(p, units, given or {}, uses))
    return p.in_units(units), units


def _units_note(p, units: str, given: Mapping, uses: tuple[str, ...]) -> str:
    """What ``--units`` did to the numbers a command uses (see :func:`apply_units`)."""
    quantities = [q for q in _UNIT_QUANTITIES if q[0] in uses]
    done = [sym for attr, sym, _ in quantities if given.get(attr) is None and getattr(p, attr, None) is not None]
    why = [f"{sym} is yours ({flag} {given[attr]:g}), used as given" if given.get(attr) is not None
           else f"preset {p.name} has no {sym}" for attr, sym, flag in quantities if sym not in done]
    if not done:
        return (f"--units {units} converts only a preset's Λ and σ² (stored for pixels in [0, 1]); here "
                f"{'; '.join(why) or 'the command uses neither'}: it changes no number")
    rest = f"; {'; '.join(why)}" if why else ""
    if units == "unit":
        return "units: pixels in [0, 1] (--units unit)" + (f": the preset's {' and '.join(done)} as stored{rest}"
                                                            if rest else "")
    later = ", so t_S is larger by ln 2 (earlier in sampling)" if "Λ" in done else ""
    return (f"units: pixels in [−1, 1] (--units symmetric, the default): the preset's {' and '.join(done)} "
            f"(stored for [0, 1]) × 4{later}{rest}")


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


def read_numbers(path: str, flag: str):
    """A 1-D float array from ``.npy`` or a text file with one number per line (``.txt``, ``.csv``)."""
    import os
    import warnings

    import numpy as np

    from regimes import RegimesError

    if not str(path).strip():
        raise RegimesError(f"{flag}: empty path {path!r}; give a .npy, .txt or .csv file")
    if os.path.isdir(path):
        raise RegimesError(f"{flag} {path!r} is a folder; give a .npy, .txt or .csv file")
    if not os.path.isfile(path):
        raise RegimesError(f"{flag}: no such file {path!r}")
    try:
        with warnings.catch_warnings():  # an empty file: numpy warns, we say it in the error below
            warnings.simplefilter("ignore", UserWarning)
            if path.lower().endswith(".npy"):
                arr = np.load(path, allow_pickle=False)
            else:
                arr = np.loadtxt(path, dtype=np.float64, ndmin=1, comments="#",
                                 delimiter="," if path.lower().endswith(".csv") else None)
    except (OSError, ValueError) as exc:
        msg = " ".join(str(exc).split())
        raise RegimesError(f"{flag} {path}: cannot read numbers (.npy, or .txt/.csv with one number per "
                           f"line): {msg}") from None
    arr = np.asarray(arr)
    if arr.size == 0:
        raise RegimesError(f"{flag} {path}: the file holds no numbers (expected one number per line)")
    arr = np.atleast_1d(np.squeeze(arr))  # one number (a 0-D .npy too) is a 1-entry array (T = 1)
    if arr.ndim != 1 or arr.dtype.kind not in "iuf":
        raise RegimesError(f"{flag} {path}: expected one number per line (a 1-D array, or a single number), got shape "
                           f"{np.shape(arr)} of {arr.dtype}")
    return arr.astype(np.float64)


def build_sampler(schedule: Optional[str] = None, steps: Optional[int] = None, betas: Optional[str] = None,
                  alphas_cumprod: Optional[str] = None, scheduler_config: Optional[str] = None,
                  sampler_steps: Optional[int] = None, timestep_spacing: Optional[str] = None,
                  *, discrete_only: bool = False, default: Optional[str] = None):
    """The sampler of the schedule options shared by every command that takes a schedule.

    Returns ``(sampler, inference)``: a :class:`regimes.schedules.DiscreteSchedule` or
    :class:`regimes.schedules.EDMSampler` (``None`` when no schedule option at all was given), and
    the :class:`regimes.schedule_forms.SamplerSteps` of ``--sampler-steps`` (``None`` without it;
    ``--sampler-steps`` alone uses the default linear schedule; ``default``: the schedule when none is
    given, instead of ``None``). Mutually exclusive forms, and
    options that do not apply, are one-line errors naming the flags.
    """
    from regimes import RegimesError
    from regimes.schedule_forms import TIMESTEP_SPACINGS, SamplerSteps, load_schedule
    from regimes.schedules import EDMSampler

    forms = dict(zip(SCHEDULE_FORM_FLAGS, (schedule, betas, alphas_cumprod, scheduler_config), strict=True))
    given = [f for f, v in forms.items() if v is not None]
    if len(given) > 1:
        raise RegimesError(f"give only one schedule form: {', '.join(given)} were all given")
    if steps is not None and given and given[0] != "--schedule":
        raise RegimesError(f"--steps applies to a named --schedule only ({given[0]} gives its own number of steps)")
    if timestep_spacing is not None:
        if sampler_steps is None:
            raise RegimesError("--timestep-spacing needs --sampler-steps N")
        timestep_spacing = timestep_spacing.strip().lower()
        if timestep_spacing not in TIMESTEP_SPACINGS:
            raise RegimesError(f"--timestep-spacing must be one of {', '.join(TIMESTEP_SPACINGS)}, "
                               f"got {timestep_spacing!r}")
    if sampler_steps is not None and sampler_steps < 1:
        raise RegimesError(f"--sampler-steps must be >= 1, got {sampler_steps}")
    if not given and steps is None and sampler_steps is None and default is None:
        return None, None
    if not given and default is not None:
        schedule = default
    if schedule is not None:
        from regimes.schedules import SCHEDULE_NAMES

        key = schedule.strip().lower().replace("_", "-")
        if key not in SCHEDULE_NAMES + ("edm",):
            raise RegimesError(f"--schedule must be one of {', '.join(SCHEDULE_NAMES)} or edm, got {schedule!r}")
    with flag_errors({"n_steps": "--sampler-steps", "scheduler config": "--scheduler-config"}):
        sampler = load_schedule(
            schedule, steps=steps,
            betas=None if betas is None else read_numbers(betas, "--betas"),
            alphas_cumprod=None if alphas_cumprod is None else read_numbers(alphas_cumprod, "--alphas-cumprod"),
            scheduler_config=scheduler_config)
        if isinstance(sampler, EDMSampler):
            if discrete_only:
                raise RegimesError("--schedule edm is not a discrete schedule: this command needs one")
            if sampler_steps is not None:
                raise RegimesError("--sampler-steps applies to a discrete schedule; EDM's --steps is its N")
            return sampler, None
        inference = None if sampler_steps is None else SamplerSteps(sampler, sampler_steps, timestep_spacing)
    return sampler, inference


def sampler_step_rows(inference, loc: dict, notes: list) -> list:
    """Table rows "sampler step of t_S / t_C" of ``--sampler-steps`` (none without it), with the convention note."""
    if inference is None:
        return []
    notes.append(inference.step_convention)  # the spacing note came with the located steps' notes
    # (sampler steps count from the noise end, training steps k from the data end: say which is which)
    what = f"{inference.n_steps} {inference.spacing}; 0: noise"
    return [(f"sampler step of t_S ({what})", loc["sampler_step_S"]),
            (f"sampler step of t_C ({what})", loc["sampler_step_C"])]


def name_flags(message: str, command, args: list[str]) -> str:
    """A library error message with its leading parameter name (``n must be …``, ``key='x' …``)
    replaced by the flag of the invoked command that sets it, as the user typed it (``-L/--eigenvalue``
    when the user typed ``-L``).

    ``command`` is the root click command and ``args`` the command line; the leaf command is found
    by walking the sub-command names in ``args``. Messages that already name a flag are unchanged.
    """
    import re

    leaf = command
    for a in args:
        sub = getattr(leaf, "commands", None)
        if sub is not None and a in sub:
            leaf = sub[a]
    message = keyword_hints(message, leaf)
    if message.startswith("-"):
        return message
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(\[\d+\])?(?=[ =:])", message)
    if m is None:
        return message
    typed = {a.split("=", 1)[0] for a in args if a.startswith("-")}
    word = {"eigen_subsample": "subsample", "rng": "seed", "memory_budget": "memory"}.get(m.group(1), m.group(1))
    for param in getattr(leaf, "params", []):
        opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
        longs = [o for o in opts if o.startswith("--")]
        names = {param.name, *(o.lstrip("-").replace("-", "_") for o in longs)}
        if not longs or word not in names:
            continue
        long = max(longs, key=lambda o: o.lstrip("-").replace("-", "_") == word)
        short = [o for o in opts if not o.startswith("--") and o in typed]
        flag = f"{short[0]}/{long}" if short and long not in typed else long
        rest = message[m.end():]
        if word == "seed":  # a CLI seed is an integer; the library's Generator alternative does not apply
            rest = rest.replace("integer seed or a numpy Generator", "integer")
        return _other_names(flag + (" " + rest[1:] if rest.startswith("=") else rest), leaf)
    return message


def keyword_hints(message: str, leaf) -> str:
    """The library's advice in Python keywords (``rescale the data (scale=, …)``, ``pass
    size=(width, height)``, ``choose one with key= (--key)``, ``widen the time grid (times=)``)
    in the flags of the command ``leaf`` (unchanged for a keyword the command has no flag for)."""
    import re

    for param in getattr(leaf, "params", []):
        longs = [o for o in getattr(param, "opts", []) if o.startswith("--")]
        if not longs or not param.name:
            continue
        name, flag = re.escape(param.name), longs[0]
        message = re.sub(rf"(?<![\w-]){name}= \({re.escape(flag)}\)", flag, message)  # "key= (--key)"
        message = re.sub(rf"(?<![\w-]){name}=\(width, height\)", f"{flag} N", message)  # "size=(width, height)"
        message = re.sub(rf"(?<![\w-]){name}=(?=[),;]|$)", flag, message)  # "(scale=, …)", "(times=)"
    return message


def _other_names(message: str, leaf) -> str:
    """``separation=1e+308`` later in a message shown as ``--separation 1e+308``."""
    import re

    for param in getattr(leaf, "params", []):
        longs = [o for o in getattr(param, "opts", []) if o.startswith("--")]
        if longs:
            message = re.sub(rf"(?<![\w-]){re.escape(param.name)}=(?=[\w.+-])", longs[0] + " ", message)
    return message


#: the OU times the engines and the root finders handle: above ~354.9 the noise scale
#: ``expm1(2t)`` overflows float64 (the curves turn into inf/NaN, the crossings' brackets cannot be
#: refined, figures overflow), below 1e-300 the noise variance ``1 − e^{−2t} ≈ 2t`` leaves the normal
#: float64 range (2.2e-308) once squared distances are divided by it
T_MIN, T_MAX = 1e-300, 354.0


def check_time_range(values, flag: str, text=None) -> None:
    """Refuse OU times outside ``[T_MIN, T_MAX]`` (one line naming ``flag`` and the value as typed)."""
    from regimes import RegimesError

    vals = [float(v) for v in (values if hasattr(values, "__iter__") else [values])]
    lo, hi = min(vals), max(vals)
    if lo < T_MIN or hi > T_MAX:
        typed = text if text is not None else ",".join(f"{v:g}" for v in vals)
        raise RegimesError(f"{flag} {typed}: OU times must lie in [{T_MIN:g}, {T_MAX:g}] (above {T_MAX:g} the "
                           f"noise scale e^(2t) overflows float64), got {lo:g} to {hi:g}"
                           if len(vals) > 1 else
                           f"{flag} {typed}: an OU time must lie in [{T_MIN:g}, {T_MAX:g}] (above {T_MAX:g} "
                           f"the noise scale e^(2t) overflows float64), got {lo:g}")


#: The longest run a command starts (seconds, estimated on a 2-core machine); longer is refused.
MAX_SECONDS = 60.0
#: Throughput the commands' time estimates assume: "work units" (multiply-adds of dense linear
#: algebra) per second, measured on a loaded 2-core machine (training_window: 1.2e9–4.7e9 units/s;
#: the phase diagrams' --gap and windows likewise), rounded down.
UNITS_PER_SECOND = 1.0e9


def available_memory() -> float | None:
    """Physical memory available now, in bytes (None when the system does not say)."""
    import os

    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def refuse_long(prefix: str, secs: float, what: str, advice: str) -> None:
    """One-line refusal (``prefix: what would take about … s``) of a run estimated to take more
    than :data:`MAX_SECONDS`."""
    from regimes import RegimesError

    if not secs <= MAX_SECONDS:
        shown = "more than 10⁶" if not secs < 1e6 else f"{secs:.3g}"
        raise RegimesError(f"{prefix}: {what} would take about {shown} s (limit {MAX_SECONDS:g} s on 2 cores); "
                           f"{advice}")


def refuse_memory(prefix: str, nbytes: float, what: str, advice: str) -> None:
    """One-line refusal (``prefix: what would need about … GB``) of more than the available memory."""
    from regimes import RegimesError

    avail = available_memory() or float(4 << 30)
    if not nbytes <= avail:
        raise RegimesError(f"{prefix}: {what} would need about {nbytes / 2**30:.3g} GB, more than the available "
                           f"memory ({avail / 2**30:.3g} GB); {advice}")


def check_memory(flag: str, value, nbytes: float, what: str = "", budget: int | None = None) -> None:
    """Refuse ``flag value`` (one line naming the flag, the estimate and the limit) when the run
    would allocate ``nbytes``, more than ``budget`` or the available memory."""
    from regimes import RegimesError

    if budget is None:
        avail = available_memory()
        limit, src = (avail, "available memory") if avail is not None else (4 << 30, "assumed memory")
    else:
        limit, src = budget, "memory budget"
    if not nbytes <= limit:
        extra = f" ({what})" if what else ""
        raise RegimesError(f"{flag} {value} needs about {nbytes / 2**30:.3g} GB{extra}, more than the {src} "
                           f"({limit / 2**30:.3g} GB); use a smaller {flag}")



def given_on_command_line(ctx: typer.Context, param: str) -> bool:
    """Whether the command's parameter ``param`` (its Python name) was typed by the user (or set
    from the environment) rather than left at its default; ``ctx`` is the command's context."""
    source = ctx.get_parameter_source(param)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def note_ignored(ctx: typer.Context, rules) -> None:
    """One note per option the user typed that does nothing in this run: ``rules`` holds
    ``(param, flag, applies, when)``, e.g. ``("d", "--d", out is not None, "with --out")``."""
    from ._output import note

    for param, flag, applies, when in rules:
        if not applies and given_on_command_line(ctx, param):
            note(f"{flag} applies only {when}; ignored here")


def as_cli_words(text: str) -> str:
    """A library note in the CLI's words: the keywords it names become the options (``scale='unit'``
    → ``--scale unit``, ``(times=)`` → ``(--times)``, ``steps=50`` → ``--steps 50``,
    ``method='posterior'`` → ``--method posterior``)."""
    import re

    text = text.replace("(times=)", "(--times)").replace("(scale=,", "(--scale,")
    text = re.sub(r"\bsteps=(\d+)", r"--steps \1", text)  # steps=50 → --steps 50 (uturn's notes)
    text = re.sub(r"\bmethod='([^']*)'", r"--method \1", text)  # method='posterior' → --method posterior
    return re.sub(r"\bscale='([^']*)'", r"--scale \1", text)  # scale='unit' → --scale unit
