"""Every form a schedule comes in, and the inference steps of a sampler run on it.

A discrete schedule can be given by name (:func:`regimes.schedules.get_schedule`), by its β's, by
its ``ᾱ_k`` (diffusers' ``alphas_cumprod``, :meth:`DiscreteSchedule.from_alphas_cumprod`) or by a
diffusers ``scheduler_config.json`` (:func:`schedule_from_diffusers_config`); :func:`load_schedule`
takes exactly one of these forms (or ``"edm"``) and returns the sampler.

A sampler does not visit every training step: with ``N`` inference steps it visits the N noise
levels :func:`sampler_levels` returns, as diffusers' ``set_timesteps`` defines them for the
config's scheduler class (:data:`DIFFUSERS_CLASSES`; DDIMScheduler's rules for a schedule without
one). :class:`SamplerSteps` locates an OU time among those N steps.

Step numbering
--------------
Training steps ``k = 0 … T-1`` count from the data end (``ᾱ_k = Π_{i≤k}(1 - β_i)``; diffusers'
``timesteps`` hold these ``k``). Sampler (inference) steps ``i = 0 … N-1`` count as the sampler
runs: **sampler step 0 is the first, noisiest, step** and ``N-1`` the last; sampler step ``i``
starts at training step ``τ_i`` and goes to ``τ_{i+1}`` (the last one to the clean data).

References
----------
.. [HO] J. Ho, A. Jain, P. Abbeel, arXiv:2006.11239 (DDPM; the linear schedule).
.. [ND] A. Nichol, P. Dhariwal, arXiv:2102.09672 (the cosine schedule, ``squaredcos_cap_v2``).
.. [LIN] S. Lin, B. Liu, J. Li, X. Yang, "Common diffusion noise schedules and sample steps are
   flawed", arXiv:2305.08891 (zero terminal SNR, trailing spacing).
.. [HF] diffusers documentation, ``DDPMScheduler`` / ``DDIMScheduler`` (``beta_schedule``,
   ``trained_betas``, ``rescale_betas_zero_snr``, ``set_timesteps``, ``timestep_spacing``,
   ``steps_offset``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np

from ._errors import RegimesError
from ._validate import MAX_STEPS, as_real_array, check_bool, check_choice, check_int, check_real, replace_checked
from .schedules import (
    DiscreteSchedule,
    EDMSampler,
    betas_from_alpha_bars,
    check_steps,
    crossing_step,
    get_sampler,
    get_schedule,
    logsnr,
    time_from_edm_sigma,
)

__all__ = [
    "DIFFUSERS_BETA_SCHEDULES",
    "DIFFUSERS_CLASSES",
    "DIFFUSERS_DEFAULT_SPACING",
    "DiffusersClass",
    "DiffusersSampler",
    "TIMESTEP_SPACINGS",
    "SamplerSteps",
    "load_schedule",
    "rescale_zero_terminal_snr",
    "sampler_levels",
    "sampler_step_at_time",
    "sampler_timesteps",
    "schedule_from_diffusers_config",
]

#: diffusers ``beta_schedule`` values read by :func:`schedule_from_diffusers_config` (each only for
#: the classes that implement it, see :data:`DIFFUSERS_CLASSES`)
DIFFUSERS_BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid", "laplace", "exp")
#: diffusers ``timestep_spacing`` values
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")
_BASIC_BETAS = ("linear", "scaled_linear", "squaredcos_cap_v2")
_SD_BETAS = {"beta_start": 0.00085, "beta_end": 0.012}
_SIGMA_KEYS = ("use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas")
_MULTISTEP_KEYS = (*_SIGMA_KEYS, "use_flow_sigmas", "final_sigmas_type")


@dataclass(frozen=True)
class DiffusersClass:
    """What a diffusers scheduler class (0.42.1) does with a config: its ``__init__`` defaults and
    the rule of its ``set_timesteps``.

    Parameters
    ----------
    family : {"ddim", "euler", "multistep", "singlestep", "lcm"}
        ``ddim``: N points (DDPM, DDIM, PNDM); ``euler``: N points, fractional with linspace, σ
        interpolated linearly (Euler, Heun, LMS, KDPM2); ``multistep``: N + 1 points with linspace
        and leading, the last dropped (DPM-Solver multistep, UniPC, DEIS, SA-Solver);
        ``singlestep``: DPM-Solver single-step (no ``timestep_spacing``); ``lcm``: LCM / TCD
        (``original_inference_steps``; not reproduced).
    spacing : str or None
        The default ``timestep_spacing`` (None: the class has no such parameter).
    defaults : dict
        The ``beta_schedule``, ``beta_start``, ``beta_end`` defaults that differ from
        ``linear``, 1e-4, 0.02.
    beta_schedules : tuple of str
        The ``beta_schedule`` values the class implements.
    zero_snr : bool
        Whether it has ``rescale_betas_zero_snr``.
    zero_snr_floor : bool
        Whether it then sets ``alphas_cumprod[-1] = 2**-24``.
    keys : tuple of str
        The parameters that change its noise levels (``use_karras_sigmas`` …).
    karras_round : {"none", "round", "round_unless_cosine"}
        How it rounds the timesteps of Karras σ's.
    """

    family: str
    spacing: str | None = "linspace"
    defaults: dict = field(default_factory=dict)
    beta_schedules: tuple = _BASIC_BETAS
    zero_snr: bool = False
    zero_snr_floor: bool = False
    keys: tuple = ()
    karras_round: str = "round"

    def __post_init__(self):  # read-only: the registry is shared by every config read
        for flag in ("zero_snr", "zero_snr_floor"):
            check_bool(flag, getattr(self, flag))
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        object.__setattr__(self, "beta_schedules", tuple(self.beta_schedules))
        object.__setattr__(self, "keys", tuple(self.keys))

    def replace(self, **changes) -> DiffusersClass:
        """A copy with ``changes`` applied (the object itself is immutable; an unknown field is a
        :class:`RegimesError` listing the allowed ones)."""
        return replace_checked(self, changes)


#: the diffusers scheduler classes (0.42.1) whose config and ``set_timesteps`` are read (read-only)
DIFFUSERS_CLASSES = MappingProxyType({
    "DDPMScheduler": DiffusersClass("ddim", "leading", zero_snr=True,
                                    beta_schedules=(*_BASIC_BETAS, "sigmoid", "laplace")),
    "DDIMScheduler": DiffusersClass("ddim", "leading", zero_snr=True),
    "PNDMScheduler": DiffusersClass("ddim", "leading", keys=("skip_prk_steps",)),
    "EulerDiscreteScheduler": DiffusersClass(
        "euler", zero_snr=True, zero_snr_floor=True, karras_round="none",
        keys=(*_SIGMA_KEYS, "sigma_min", "sigma_max", "interpolation_type", "timestep_type", "final_sigmas_type")),
    "EulerAncestralDiscreteScheduler": DiffusersClass("euler", zero_snr=True, zero_snr_floor=True),
    "HeunDiscreteScheduler": DiffusersClass("euler", defaults=dict(_SD_BETAS), karras_round="none",
                                            beta_schedules=(*_BASIC_BETAS, "exp"), keys=_SIGMA_KEYS),
    "LMSDiscreteScheduler": DiffusersClass("euler", karras_round="none", keys=_SIGMA_KEYS),
    "KDPM2DiscreteScheduler": DiffusersClass("euler", defaults=dict(_SD_BETAS), keys=_SIGMA_KEYS),
    "KDPM2AncestralDiscreteScheduler": DiffusersClass("euler", defaults=dict(_SD_BETAS), keys=_SIGMA_KEYS),
    "DPMSolverMultistepScheduler": DiffusersClass(
        "multistep", zero_snr=True, zero_snr_floor=True, karras_round="round_unless_cosine",
        keys=(*_MULTISTEP_KEYS, "use_lu_lambdas", "lambda_min_clipped", "use_dynamic_shifting")),
    "UniPCMultistepScheduler": DiffusersClass(
        "multistep", zero_snr=True, zero_snr_floor=True,
        keys=(*_MULTISTEP_KEYS, "sigma_min", "sigma_max", "use_dynamic_shifting")),
    "DEISMultistepScheduler": DiffusersClass("multistep", keys=(*_SIGMA_KEYS, "use_flow_sigmas",
                                                                "use_dynamic_shifting")),
    "SASolverScheduler": DiffusersClass("multistep", keys=(*_SIGMA_KEYS, "use_flow_sigmas", "lambda_min_clipped")),
    "DPMSolverSinglestepScheduler": DiffusersClass(
        "singlestep", None, keys=(*_MULTISTEP_KEYS, "lambda_min_clipped", "use_dynamic_shifting")),
    "LCMScheduler": DiffusersClass("lcm", "leading", {"beta_schedule": "scaled_linear", **_SD_BETAS}, zero_snr=True),
    "TCDScheduler": DiffusersClass("lcm", "leading", {"beta_schedule": "scaled_linear", **_SD_BETAS}, zero_snr=True),
})
#: the default ``timestep_spacing`` of diffusers scheduler classes (the ``__init__`` default each
#: class gives when its config has no ``timestep_spacing`` key); classes not listed: "leading"
#: assumed, with a note (DPMSolverSinglestepScheduler has no such parameter: its rule is linspace)
DIFFUSERS_DEFAULT_SPACING = {k: v.spacing or "linspace" for k, v in DIFFUSERS_CLASSES.items()}


@dataclass(frozen=True)
class DiffusersSampler:
    """The ``set_timesteps`` rule of one diffusers scheduler config (see :data:`DIFFUSERS_CLASSES`).

    Parameters
    ----------
    class_name : str or None
        The config's ``_class_name`` (None: not a known class; DDIMScheduler's rules are used).
    family : str
        :attr:`DiffusersClass.family` (``"ddim"`` for an unknown class).
    where : str
        "scheduler config FILE:", for the errors to name.
    karras : bool
        ``use_karras_sigmas``.
    sigma_range : tuple
        ``(sigma_min, sigma_max)`` of the config (None: the schedule's own).
    karras_round : str
        :attr:`DiffusersClass.karras_round`.
    lambda_min_clipped : float
        DPM-Solver's clipping of the log-SNR (``-inf``: none).
    prk : bool
        PNDM with ``skip_prk_steps`` false (Runge–Kutta warm-up).
    cosine : bool
        ``beta_schedule`` is ``squaredcos_cap_v2``.
    refusal : str or None
        Why the sampler steps of this config are not reproduced (raised when they are asked for).
    notes : tuple of str
        What the reading of the config did that a user should know.
    """

    class_name: str | None = None
    family: str = "ddim"
    where: str = "scheduler config"
    karras: bool = False
    sigma_range: tuple = (None, None)
    karras_round: str = "round"
    lambda_min_clipped: float = -np.inf
    prk: bool = False
    cosine: bool = False
    refusal: str | None = None
    notes: tuple = ()

    def __post_init__(self):
        for flag in ("karras", "prk", "cosine"):
            check_bool(flag, getattr(self, flag))

    def replace(self, **changes) -> DiffusersSampler:
        """A copy with ``changes`` applied (the object itself is immutable; an unknown field is a
        :class:`RegimesError` listing the allowed ones)."""
        return replace_checked(self, changes)


SAMPLER_STEP_CONVENTION = (
    "sampler step i = 0 … N-1 in sampling order: 0 is the first (noisiest) step; step i starts at "
    "noise level τ_i, the i-th distinct timestep of diffusers' set_timesteps(N); the sampler step of a time t "
    "is the last i with t_{τ_i} >= t (the step during which t is crossed)"
)


def rescale_zero_terminal_snr(betas) -> np.ndarray:
    """β's rescaled to zero terminal SNR (Lin et al., arXiv:2305.08891, Algorithm 1).

    ``√ᾱ`` is shifted and scaled linearly so that its last value becomes 0 and its first is
    unchanged: ``√ᾱ'_k = (√ᾱ_k - √ᾱ_{T-1}) · √ᾱ_0 / (√ᾱ_0 - √ᾱ_{T-1})``; the β's are then
    ``1 - ᾱ'_k/ᾱ'_{k-1}`` (``β'_0 = 1 - ᾱ'_0``), so the last is exactly 1 (t = +inf).
    diffusers' ``rescale_betas_zero_snr=True``.
    """
    b = as_real_array("betas", betas, gt=0.0, lt=1.0, ndim=1, min_size=2)
    s = np.sqrt(np.cumprod(1.0 - b))
    s0, sT = s[0], s[-1]
    if not s0 > sT:  # e.g. β = 1e-320: 1 − β rounds to 1, ᾱ never moves and there is nothing to rescale
        raise RegimesError(f"betas are too small to rescale to zero terminal SNR: √ᾱ_0 = √ᾱ_(T−1) = {s0:.17g} in "
                           f"float64 (betas from {float(b.min())!r} to {float(b.max())!r})")
    s = (s - sT) * (s0 / (s0 - sT))
    return betas_from_alpha_bars(s**2)


def _alpha_bar_betas(T: int, kind: str) -> np.ndarray:
    """diffusers' ``betas_for_alpha_bar`` (max β 0.999) for ``laplace`` (DDPM) and ``exp`` (Heun)."""
    u = np.arange(T + 1) / T
    if kind == "exp":
        log_ab = -12.0 * u
    else:  # laplace: λ = -½ sign(½ - u) ln(1 - 2|½ - u| + 1e-6), ᾱ_fn = √(snr/(1 + snr))
        sign = np.where(0.5 - u >= 0.0, 1.0, -1.0)  # math.copysign(1, 0.0) = +1
        lmb = -0.5 * sign * np.log(1.0 - 2.0 * np.abs(0.5 - u) + 1e-6)
        log_ab = 0.5 * (lmb - np.logaddexp(0.0, lmb))
    return np.minimum(-np.expm1(log_ab[1:] - log_ab[:-1]), 0.999)


def _diffusers_betas(cfg: dict, T: int, where: str, spec: DiffusersClass | None) -> tuple[np.ndarray, str]:
    """β's of a diffusers config and the named schedule they equal ("" when none); ``where`` is
    the "scheduler config FILE" that errors name; ``spec`` the config's class (None: unknown)."""
    defaults = {"beta_schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02, **(spec.defaults if spec else {})}
    kind = str(cfg.get("beta_schedule", defaults["beta_schedule"]))
    allowed = spec.beta_schedules if spec is not None else DIFFUSERS_BETA_SCHEDULES
    if kind not in allowed:
        cls = cfg.get("_class_name")
        which = f"{cls} implements" if spec is not None else "must be one of"
        raise RegimesError(f"{where} beta_schedule {kind!r} is not supported: {which} {', '.join(allowed)} "
                           "(or give trained_betas)")
    if kind in ("linear", "scaled_linear", "sigmoid"):  # the others do not read them
        b0 = check_real(f"{where} beta_start", cfg.get("beta_start", defaults["beta_start"]), gt=0.0, lt=1.0)
        b1 = check_real(f"{where} beta_end", cfg.get("beta_end", defaults["beta_end"]), gt=0.0, lt=1.0)
    if kind == "linear":
        betas = np.linspace(b0, b1, T)
    elif kind == "scaled_linear":
        betas = np.linspace(np.sqrt(b0), np.sqrt(b1), T) ** 2
    elif kind == "squaredcos_cap_v2":
        betas = get_schedule("cosine", T).betas.copy()
    elif kind == "sigmoid":
        betas = 1.0 / (1.0 + np.exp(-np.linspace(-6.0, 6.0, T))) * (b1 - b0) + b0
    else:
        betas = _alpha_bar_betas(T, kind)
    named = {"linear": "linear", "scaled_linear": "scaled-linear", "squaredcos_cap_v2": "cosine"}.get(kind)
    if named is not None and not (named == "linear" and T <= 20):
        if np.array_equal(betas, get_schedule(named, T).betas):
            return betas, named
    return betas, ""


def schedule_from_diffusers_config(config) -> DiscreteSchedule:
    """The schedule of a diffusers scheduler config, with the β's diffusers builds from it.

    Parameters
    ----------
    config : path or dict
        A ``scheduler_config.json``, a folder holding one (or a model folder holding
        ``scheduler/scheduler_config.json``), or the parsed dict.

    Returns
    -------
    DiscreteSchedule
        Named ``linear`` / ``scaled-linear`` / ``cosine`` when the β's equal that named schedule
        exactly (then every result is the named schedule's), else ``diffusers-<beta_schedule>``
        (``diffusers-trained`` for ``trained_betas``), with ``-zsnr`` when rescaled. Carries the
        config's ``timestep_spacing``, ``steps_offset`` and the ``set_timesteps`` rule of its
        ``_class_name`` (:class:`DiffusersSampler`, used by :func:`sampler_levels`).

    Notes
    -----
    Keys read, with the defaults of the config's ``_class_name`` in diffusers 0.42.1
    (:data:`DIFFUSERS_CLASSES`; ``linear``, 1e-4, 0.02 unless said): ``num_train_timesteps`` (1000);
    ``beta_schedule``: ``linear`` is ``linspace(beta_start, beta_end, T)``, ``scaled_linear``
    ``linspace(√beta_start, √beta_end, T)²``, ``squaredcos_cap_v2`` the cosine schedule of Nichol &
    Dhariwal capped at 0.999 (our ``cosine``), ``sigmoid`` (DDPM only)
    ``sigmoid(linspace(-6, 6, T))·(beta_end - beta_start) + beta_start``, ``laplace`` (DDPM only) and
    ``exp`` (Heun only) diffusers' ``betas_for_alpha_bar`` of those names; a value the class does not
    implement is an error, as in diffusers. ``beta_start`` / ``beta_end``: 0.00085 / 0.012 for Heun,
    KDPM2 and KDPM2Ancestral; ``scaled_linear`` 0.00085 / 0.012 for LCM and TCD.
    ``trained_betas`` (overrides the above; T is their number). ``rescale_betas_zero_snr``
    (:func:`rescale_zero_terminal_snr`) only for the classes that have it (DDPM, DDIM, Euler,
    EulerAncestral, DPM-Solver multistep, UniPC, LCM, TCD): diffusers drops the key for the others,
    and so does this (with a note); Euler, EulerAncestral, DPM-Solver multistep and UniPC then set
    ``ᾱ_{T-1} = 2**-24`` (σ = 4096, t = 8.318) instead of 0, as diffusers does, so their first
    sampler step is at a finite time. ``timestep_spacing``, ``steps_offset`` and the options that
    move the noise levels (``use_karras_sigmas``, ``lambda_min_clipped``, PNDM's
    ``skip_prk_steps`` …) are read for :func:`sampler_levels`; an option that is not reproduced
    (``use_exponential_sigmas``, ``use_beta_sigmas``, ``use_lu_lambdas``, ``use_flow_sigmas``,
    ``interpolation_type = "log_linear"``, ``timestep_type = "continuous"`` with
    ``v_prediction``, LCM/TCD's own rule) makes asking for sampler steps an error naming the key;
    the schedule itself (β, ᾱ) is still right. Keys that change neither ᾱ nor the visited noise
    levels (``prediction_type``, ``set_alpha_to_one``, ``final_sigmas_type``, solver orders …) are
    not read. The β's are computed in float64; diffusers builds them in float32 (|Δβ| ≈ 1.4e-9 for
    linear, 1.8e-9 for scaled_linear, 2e-8 for cosine; ᾱ to a relative 4e-7 … 4e-5, |Δt| < 1e-5).

    A value that is not of its key's kind (``beta_start`` not a number in (0, 1), a
    ``num_train_timesteps`` that is not an integer, …) is a :class:`RegimesError` that names the
    key and the file ("scheduler config FILE: beta_start must be …").
    """
    cfg, where = _read_config(config)
    cls = cfg.get("_class_name")
    spec = DIFFUSERS_CLASSES.get(cls) if isinstance(cls, str) else None
    betas, named, rescale = _config_betas(cfg, where, spec)
    kind = "trained" if cfg.get("trained_betas") is not None else \
        cfg.get("beta_schedule", (spec.defaults if spec else {}).get("beta_schedule", "linear"))
    name = named or f"diffusers-{kind}"
    notes = []
    if spec is None and cls is not None and cfg.get("timestep_spacing") is not None:  # (else the spacing note says it)
        notes.append(f"_class_name {cls!r} is not a class whose rules are known here: DDIMScheduler's "
                     "set_timesteps rules assumed (known: DIFFUSERS_CLASSES)")
    if rescale and spec is not None and not spec.zero_snr:
        rescale = False
        notes.append(f"rescale_betas_zero_snr is not a {cls} parameter: diffusers ignores it, and so is it here")
    try:  # the β's built from the config: errors name the config, not a --betas file
        if rescale:
            betas = rescale_zero_terminal_snr(betas)
            name = (named or name) + "-zsnr"
            if spec is not None and spec.zero_snr_floor:  # diffusers: alphas_cumprod[-1] = 2**-24
                ab = np.cumprod(1.0 - betas)
                ab[-1] = 2.0**-24
                betas = betas_from_alpha_bars(ab)
        spacing, note = _config_spacing(cfg, where, spec)
        offset = 0
        if spec is None or spec.spacing is not None:  # DPMSolverSinglestep has no steps_offset
            offset = check_int(f"{where} steps_offset", cfg.get("steps_offset", 0) or 0, ge=0, le=MAX_STEPS)
        rule = _config_sampler(cfg, where, spec, tuple(notes))
        return DiscreteSchedule(name, betas, timestep_spacing=spacing, steps_offset=offset,
                                timestep_spacing_note=note, diffusers_sampler=rule)
    except RegimesError as exc:
        msg = str(exc)
        raise RegimesError(msg if msg.startswith(where) else f"{where.rstrip(':')}: the β's it gives: {msg}") from None


def _config_betas(cfg: dict, where: str, spec: DiffusersClass | None) -> tuple[np.ndarray, str, bool]:
    """``(betas, named, rescale)`` of a config: its β's (trained or built), the named schedule
    they equal ("" when none) and whether they are to be rescaled to zero terminal SNR."""
    rescale = cfg.get("rescale_betas_zero_snr", False)
    if rescale is None:
        rescale = False
    if not isinstance(rescale, bool):
        raise RegimesError(f"{where} rescale_betas_zero_snr must be true or false, got {rescale!r}")
    trained = cfg.get("trained_betas")
    if trained is None:
        T = check_steps(cfg.get("num_train_timesteps", 1000), name=f"{where} num_train_timesteps")
        betas, named = _diffusers_betas(cfg, T, where, spec)
        return betas, named, rescale
    betas = as_real_array(f"{where} trained_betas", trained, gt=0.0, le=1.0, ndim=1, min_size=2)
    T = betas.size
    if "num_train_timesteps" in cfg:
        n = check_int(f"{where} num_train_timesteps", cfg["num_train_timesteps"], ge=2)
        if n != T:
            raise RegimesError(f"{where} num_train_timesteps = {n} but trained_betas has {T} entries")
    if np.any(betas[:-1] >= 1.0):
        k = int(np.argmax(betas[:-1] >= 1.0))
        raise RegimesError(f"{where} trained_betas must be < 1 except the last (β = 1 there is zero terminal "
                           f"SNR), got trained_betas[{k}] = {float(betas[k])!r}")
    if rescale and betas[-1] >= 1.0 and (spec is None or spec.zero_snr):
        raise RegimesError(f"{where} rescale_betas_zero_snr is true but trained_betas already end in β = 1 "
                           "(zero terminal SNR); set rescale_betas_zero_snr to false")
    return betas, "", rescale


def _config_spacing(cfg: dict, where: str, spec: DiffusersClass | None) -> tuple[str | None, str | None]:
    """The config's ``timestep_spacing``, else its scheduler class's default (with a note saying
    so), else "leading" (with a note saying it was assumed); "leading" not given by the config is
    returned as None (the default of :func:`sampler_timesteps`)."""
    spacing = cfg.get("timestep_spacing")
    cls = cfg.get("_class_name")
    if spec is not None and spec.spacing is None:  # DPMSolverSinglestep: its own linspace rule
        if spacing is None:
            return "linspace", None
        return "linspace", (f"timestep_spacing {spacing!r} is not a {cls} parameter: diffusers ignores it, "
                            "and so is it here (its steps are linspace(0, T-1, N+1) without the last)")
    if spacing is not None:
        if spacing not in TIMESTEP_SPACINGS:
            raise RegimesError(f"{where} timestep_spacing must be one of {', '.join(TIMESTEP_SPACINGS)}, "
                               f"got {spacing!r}")
        return spacing, None
    if spec is not None:
        default = spec.spacing
        note = f"timestep_spacing not in the scheduler config: {cls}'s default {default!r} used"
        return (None if default == "leading" else default), note  # None: leading, the general default
    what = f"_class_name {cls!r} is not a class whose rules are known here" if cls is not None else \
        "the config has no _class_name"
    return None, (f"timestep_spacing not in the scheduler config and {what}: DDIMScheduler's set_timesteps "
                  "rules with its default spacing 'leading' assumed; give the spacing to choose another")


_UNSUPPORTED = {  # key: (value(s) that are reproduced, what to say)
    "use_exponential_sigmas": ((False, None), "false"), "use_beta_sigmas": ((False, None), "false"),
    "use_lu_lambdas": ((False, None), "false"), "use_flow_sigmas": ((False, None), "false"),
    "use_dynamic_shifting": ((False, None), "false"), "interpolation_type": (("linear", None), "'linear'"),
    "final_sigmas_type": (("zero", "sigma_min", None), "'zero' or 'sigma_min'"),
}


def _config_sampler(cfg: dict, where: str, spec: DiffusersClass | None, notes: tuple) -> DiffusersSampler:
    """The :class:`DiffusersSampler` of a config: the options of its class that move the noise
    levels, each reproduced or recorded as the reason its sampler steps are refused."""
    cls = cfg.get("_class_name")
    keys = spec.keys if spec is not None else (*_UNSUPPORTED, *_SIGMA_KEYS, "lambda_min_clipped",
                                                 "timestep_type", "skip_prk_steps")
    refusal = None
    supported = "use_karras_sigmas, lambda_min_clipped, sigma_min/sigma_max with Karras σ's, skip_prk_steps"
    for key in keys:
        if key in _UNSUPPORTED and key in cfg and cfg[key] not in _UNSUPPORTED[key][0]:
            refusal = (f"{where} {key} = {cfg[key]!r} changes the sampler's noise levels and is not reproduced "
                       f"here (supported: {key} {_UNSUPPORTED[key][1]}; {supported})")
            break
    if refusal is None and "timestep_type" in keys and cfg.get("timestep_type", "discrete") != "discrete" \
            and cfg.get("prediction_type") == "v_prediction":
        refusal = (f"{where} timestep_type = {cfg['timestep_type']!r} with v_prediction gives timesteps "
                   "0.25·ln σ, not training steps, and is not reproduced here (supported: timestep_type 'discrete')")
    if spec is not None and spec.family == "lcm":
        refusal = (f"{where} _class_name = {cls!r}: its set_timesteps (original_inference_steps) is not "
                   "reproduced here (supported: " + ", ".join(k for k, v in DIFFUSERS_CLASSES.items()
                                                            if v.family != "lcm") + ")")
    karras = cfg.get("use_karras_sigmas", False) or False
    if not isinstance(karras, bool):
        raise RegimesError(f"{where} use_karras_sigmas must be true or false, got {karras!r}")
    if karras and spec is None and refusal is None:
        refusal = (f"{where} use_karras_sigmas = True with _class_name {cls!r}: its Karras rule is not known "
                   "here (supported: use_karras_sigmas for the classes of DIFFUSERS_CLASSES)")
    karras = karras and "use_karras_sigmas" in keys
    rng = tuple(None if cfg.get(k) is None or "sigma_min" not in keys else
                check_real(f"{where} {k}", cfg[k], gt=0.0) for k in ("sigma_min", "sigma_max"))
    lam = -np.inf
    if "lambda_min_clipped" in keys and cfg.get("lambda_min_clipped") is not None:
        lam = cfg["lambda_min_clipped"]
        if not (isinstance(lam, float) and lam == -np.inf):
            lam = check_real(f"{where} lambda_min_clipped", lam)
    prk = cls == "PNDMScheduler" and not cfg.get("skip_prk_steps", False)
    return DiffusersSampler(cls if spec is not None else None, spec.family if spec else "ddim", where,
                            karras, rng, spec.karras_round if spec else "round", lam, prk,
                            cfg.get("beta_schedule") == "squaredcos_cap_v2", refusal, notes)


def _check_config(name: str, config) -> None:
    """Refuse (naming ``name``) a config that is neither a dict nor a path."""
    if not isinstance(config, dict | str | bytes | os.PathLike):
        raise RegimesError(f"{name} must be a path to a scheduler_config.json (or its folder) or the parsed "
                           f"dict, got {type(config).__name__} {config!r:.60}")


def _read_config(config) -> tuple[dict, str]:
    """The config as a dict, and "scheduler config FILE:" (just "scheduler config" for a dict) for
    the errors to name, followed by the key ("scheduler config FILE: beta_start must be …")."""
    _check_config("config", config)
    if isinstance(config, dict):
        return config, "scheduler config"
    path = os.fspath(config)
    if os.path.isdir(path):
        for cand in ("scheduler_config.json", os.path.join("scheduler", "scheduler_config.json")):
            if os.path.isfile(os.path.join(path, cand)):
                path = os.path.join(path, cand)
                break
        else:
            raise RegimesError(f"scheduler config: no scheduler_config.json in {path}")
    if not os.path.isfile(path):
        raise RegimesError(f"scheduler config: no such file {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RegimesError(f"scheduler config: cannot read {path} as JSON ({exc})") from None
    if not isinstance(cfg, dict):
        raise RegimesError(f"scheduler config: {path} must hold a JSON object, got {type(cfg).__name__}")
    return cfg, f"scheduler config {path}:"


def _spacing_steps(T: int, N: int, spacing: str, offset: int, rule: DiffusersSampler, last: int) -> np.ndarray:
    """The timesteps of the spacing rule of ``rule``'s family, before any Karras σ's (float64,
    decreasing); ``last``: T minus DPM-Solver's clipped steps."""
    plus = rule.family in ("multistep", "singlestep")  # N + 1 points, the last dropped
    M = N + 1 if plus else N
    if spacing == "leading":
        ratio = last // M
        if ratio == 0:
            raise RegimesError(f"n_steps must be < {last} for leading spacing of {rule.class_name}, got {N}")
        ts = (np.arange(M) * ratio).round()[::-1][: N] + offset
    elif spacing == "trailing":  # np.arange can give N + 1 entries (ending at -1): the N intended ones
        ts = (np.round(np.arange(last, 0, -T / N)) - 1)[:N]
        if ts.size != N:
            raise RegimesError(f"{rule.where} lambda_min_clipped leaves {ts.size} trailing steps of the {N} asked "
                               "for (diffusers then runs fewer steps); use linspace or leading spacing")
    elif rule.family == "euler":  # fractional timesteps, in float32 as diffusers builds them
        ts = np.linspace(0, T - 1, N, dtype=np.float32)[::-1].astype(np.float64)
    else:
        ts = np.linspace(0, last - 1, M).round()[::-1][:N]
    return np.ascontiguousarray(ts, dtype=np.float64)


def _sigma_to_t(sigma: np.ndarray, log_sigmas: np.ndarray) -> np.ndarray:
    """diffusers' ``_sigma_to_t``: the fractional training step of each σ, by linear interpolation
    in ``ln σ`` between the two training steps around it (``log_sigmas`` increasing)."""
    ls = np.log(np.maximum(sigma, 1e-10))
    low = np.clip(np.searchsorted(log_sigmas, ls, side="right") - 1, 0, log_sigmas.size - 2)
    lo, hi = log_sigmas[low], log_sigmas[low + 1]
    w = np.clip((lo - ls) / (lo - hi), 0.0, 1.0)
    return (1.0 - w) * low + w * (low + 1)


def _train_sigmas(sch: DiscreteSchedule) -> np.ndarray:
    """σ_k = √(expm1(2 t_k)) of every training step (inf where it overflows: a zero-SNR last step)."""
    with np.errstate(over="ignore"):
        return np.sqrt(np.expm1(2.0 * sch.times))


def _karras_levels(sch: DiscreteSchedule, ts: np.ndarray, N: int, rule: DiffusersSampler, spacing: str):
    """``(timesteps, σ)`` of ``use_karras_sigmas`` (ρ = 7 between σ_max and σ_min, as diffusers
    builds them per class), the timesteps from ``ln σ`` interpolation, rounded as the class does."""
    sig_all = _train_sigmas(sch)
    if not np.all(np.isfinite(sig_all)):
        raise RegimesError(f"{rule.where} use_karras_sigmas needs a finite σ at every training step "
                           "(the schedule ends at ᾱ = 0)")
    if rule.family == "euler":  # from the σ's of the spaced steps, as diffusers spaces them: with
        # trailing spacing its np.arange can end in a step -1 (σ_0), which then is σ_min
        last = min(ts[-1], np.round(np.arange(sch.steps, 0, -sch.steps / N))[-1] - 1) if spacing == "trailing" \
            else ts[-1]
        lo, hi = np.interp([last, ts[0]], np.arange(sch.steps), sig_all)
    else:  # from the whole schedule
        lo, hi = sig_all[0], sig_all[-1]
    lo = lo if rule.sigma_range[0] is None else rule.sigma_range[0]
    hi = hi if rule.sigma_range[1] is None else rule.sigma_range[1]
    rho = 7.0
    sig = (hi ** (1 / rho) + np.linspace(0, 1, N) * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho
    t = _sigma_to_t(sig, np.log(sig_all))
    if rule.karras_round == "round" or (rule.karras_round == "round_unless_cosine" and not rule.cosine):
        t = np.round(t)
    elif rule.karras_round == "round_unless_cosine":  # kept fractional, then cast to int64
        t = np.floor(t)
    return t, sig


def sampler_levels(schedule, n_steps: int, spacing: str | None = None,
                   offset: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """diffusers' timestep and the OU time of each of the N inference steps (noisiest first).

    Parameters
    ----------
    schedule : DiscreteSchedule, name or array_like
        The training schedule (T steps); one read from a scheduler config carries its class's rules.
    n_steps : int
        Number N of inference steps, ``1 <= N <= T``.
    spacing : {"leading", "trailing", "linspace"}, optional
        diffusers' ``timestep_spacing``; default the schedule's own (from its scheduler config),
        else ``"leading"``. DPMSolverSinglestepScheduler has none (only ``"linspace"``, its rule).
    offset : int, optional
        diffusers' ``steps_offset``, added with ``"leading"`` only; default the schedule's own, else 0.

    Returns
    -------
    timesteps : ndarray of float64
        The timestep of each sampler step as diffusers' ``set_timesteps(N)`` computes it, one per
        step (fractional for the Euler family's linspace and Karras σ's).
    times : ndarray of float64
        The OU time of each step: ``t_τ`` of the schedule at an integer timestep (without Karras
        σ's), else ``½ ln(1 + σ²)`` of the σ diffusers uses there (σ interpolated linearly between
        training steps, or the Karras σ).

    Notes
    -----
    The rules of diffusers 0.42.1, by class (:data:`DIFFUSERS_CLASSES`): DDPM, DDIM, PNDM (and a
    config of another or no class): ``leading`` ``τ = arange(N)·(T // N)`` reversed plus
    ``offset``; ``trailing`` ``round(arange(T, 0, -T/N)) - 1``; ``linspace``
    ``round(linspace(0, T-1, N))`` reversed. Euler, EulerAncestral, Heun, LMS, KDPM2,
    KDPM2Ancestral: the same, but linspace keeps the fractional ``linspace(0, T-1, N)`` (float32)
    and σ is interpolated linearly in the training step. DPM-Solver multistep, UniPC, DEIS,
    SA-Solver: N + 1 points, the last dropped (``linspace(0, L-1, N+1)`` rounded, or
    ``arange(N+1)·(L // (N+1))`` plus ``offset``, reversed, without the last), ``L = T`` minus the
    steps whose log-SNR is below ``lambda_min_clipped``; trailing as above (from L).
    DPMSolverSinglestep: always ``linspace(0, L-1, N+1)`` rounded, without the last.
    ``use_karras_sigmas``: ``σ_i = (σ_max^{1/7} + i/(N-1)·(σ_min^{1/7} - σ_max^{1/7}))^7``, with
    σ_max, σ_min the first and last σ of the spaced steps (Euler family; σ interpolated as diffusers'
    ``np.interp`` does, so a step that ``offset`` moves beyond ``T-1`` has σ_{T-1}, accepted unless every
    step is there) or of the whole schedule (the others: the spaced timesteps, their ``offset`` and
    ``lambda_min_clipped`` are then discarded, as diffusers discards them, so ``N = T`` with leading
    spacing or an offset that would move a step beyond ``T-1`` is accepted), or the config's
    ``sigma_min`` / ``sigma_max`` (Euler, UniPC); the timesteps are
    diffusers' interpolation in ``ln σ``, rounded except for Euler, Heun, LMS (and DPM-Solver
    multistep with ``squaredcos_cap_v2``, truncated); diffusers interpolates in float32, so a rounded
    Karras timestep within ~1e-3 of a half-integer can differ from diffusers' by 1 (330 of 220 806
    compared, none with SD's scaled_linear β's; the times, from the σ's, are not affected). Step
    times agree with diffusers' σ's to |Δt| ≤ 8.4e-5 (float32). Trailing spacing: for some N (T = 1000: N =
    61, 103, 121, … 62 values) diffusers' ``np.arange`` gives N + 1 timesteps ending in -1; the N
    intended ones are returned.
    """
    sch = get_schedule(schedule) if not isinstance(schedule, DiscreteSchedule) else schedule
    rule = sch.diffusers_sampler if isinstance(sch.diffusers_sampler, DiffusersSampler) else DiffusersSampler()
    if rule.refusal is not None:
        raise RegimesError(rule.refusal)
    T = sch.steps
    N = check_int("n_steps", n_steps, ge=1)
    if N > T:
        raise RegimesError(f"n_steps must be <= the schedule's {T} training steps, got {N}")
    if rule.family == "singlestep":
        if spacing is not None and not (isinstance(spacing, str) and spacing == "linspace"):
            raise RegimesError(f"{rule.where} {rule.class_name} has no timestep_spacing (its steps are "
                               f"linspace(0, T-1, N+1) without the last): spacing {spacing!r} does not apply")
        spacing, offset = "linspace", 0
    spacing = (sch.timestep_spacing or "leading") if spacing is None else spacing
    check_choice("spacing", spacing, TIMESTEP_SPACINGS)
    # the schedule's own steps_offset (read from its scheduler config), as opposed to an offset asked for
    from_config = offset is None or (sch.steps_offset > 0 and offset == sch.steps_offset)
    if offset is None:
        offset = sch.steps_offset  # bounded when the config was read; too large: the message below names it
    else:  # an offset asked for (or the config's own, passed on by SamplerSteps)
        offset = check_int("offset", offset, ge=0, le=MAX_STEPS)  # (the exact bound, with its reason, below)
    if rule.prk and N < 4:
        raise RegimesError(f"n_steps must be >= 4 for PNDMScheduler with skip_prk_steps false (its Runge–Kutta "
                           f"warm-up; diffusers fails below 4), got {N}")
    last = T
    if rule.lambda_min_clipped > -np.inf:  # diffusers: searchsorted(flip(λ_t), lambda_min_clipped)
        last = T - int(np.sum(0.5 * logsnr(sch.times) < rule.lambda_min_clipped))
    ts = None  # Karras σ's outside the Euler family: diffusers discards the spaced timesteps unread
    if not (rule.karras and rule.family != "euler"):
        ts = _spacing_steps(T, N, spacing, offset if spacing == "leading" else 0, rule, last)
        _check_first_step(ts, T, N, spacing, offset, rule, from_config)
    sig = None
    if rule.karras:
        ts, sig = _karras_levels(sch, ts, N, rule, spacing)
    elif np.any(ts != np.round(ts)):  # Euler family, linspace: σ interpolated between training steps
        sig = np.interp(ts, np.arange(T), _train_sigmas(sch))
    times = sch.times[ts.astype(np.int64)] if sig is None else time_from_edm_sigma(sig)
    return ts, np.ascontiguousarray(times, dtype=np.float64)


def _check_first_step(ts: np.ndarray, T: int, N: int, spacing: str, offset: int, rule: DiffusersSampler,
                      from_config: bool) -> None:
    """Refuse spaced timesteps beyond the schedule's last step ``T - 1`` (an offset too large for
    leading spacing). With the Euler family's Karras σ's diffusers only reads the σ's there, clamped
    to σ_{T-1} by ``np.interp``, so steps beyond ``T - 1`` are accepted unless every one is at or
    beyond it (N >= 2 Karras σ's between σ_{T-1} and σ_{T-1}: one level N times)."""
    what = f"{rule.where.rstrip(':')}: steps_offset" if from_config else "offset"
    if rule.karras and rule.family == "euler":
        if N >= 2 and ts.min() >= T - 1 and rule.sigma_range == (None, None):
            raise RegimesError(f"{what} {offset} moves every one of the {N} {spacing} sampler steps to or beyond "
                               f"the schedule's last step {T - 1}: diffusers' σ's there all equal σ_{T - 1}, so its "
                               f"Karras σ's are one level repeated; allowed 0 <= {what.split(': ')[-1]} <= {T - 2}")
        return
    if ts.max() >= T or ts.min() < 0:
        top = max(0, T - 1 - int(ts.max()) + offset)  # the largest offset that keeps the first step inside
        raise RegimesError(f"{what} {offset} moves the first sampler step to training step {int(ts.max())}, "
                           f"beyond the schedule's last step {T - 1}; allowed 0 <= {what.split(': ')[-1]} <= "
                           f"{top} for {N} {spacing} steps")


def sampler_timesteps(schedule, n_steps: int, spacing: str | None = None, offset: int | None = None) -> np.ndarray:
    """Training step ``τ_i`` of each of the N inference steps, in sampling order (noisiest first).

    Parameters
    ----------
    schedule : DiscreteSchedule, name or array_like
        The training schedule (T steps); see :func:`regimes.schedules.get_schedule`.
    n_steps : int
        Number N of inference steps, ``1 <= N <= T``.
    spacing : {"leading", "trailing", "linspace"}, optional
        diffusers' ``timestep_spacing``; default the schedule's own (from its scheduler config),
        else ``"leading"``.
    offset : int, optional
        diffusers' ``steps_offset``, added with ``"leading"`` only (as diffusers does); default the
        schedule's own, else 0.

    Returns
    -------
    ndarray of int64
        ``τ_0 >= τ_1 >= … >= τ_{N-1}``: the timesteps of :func:`sampler_levels`, rounded to the
        nearest training step where diffusers keeps them fractional (Euler family with linspace
        spacing or Karras σ's). These are diffusers' distinct ``scheduler.timesteps`` after
        ``set_timesteps(N)`` (its own rules for each class of :data:`DIFFUSERS_CLASSES`), one per
        sampler step: PNDM's repeated second timestep, Heun's repeated timesteps, KDPM2's
        interleaved midpoints and PNDM's Runge–Kutta midpoints are not steps of their own.
    """
    ts, _ = sampler_levels(schedule, n_steps, spacing, offset)
    return np.ascontiguousarray(np.round(ts).astype(np.int64))


@dataclass(frozen=True, eq=False)
class SamplerSteps:
    """The N inference steps of a sampler run on a discrete schedule (diffusers' ``set_timesteps``).

    Parameters
    ----------
    schedule : DiscreteSchedule
    n_steps : int
        N.
    spacing : {"leading", "trailing", "linspace"}, optional
    offset : int, optional
        See :func:`sampler_levels` (defaults: the schedule's own, else ``"leading"`` and 0).

    Notes
    -----
    Sampler step 0 is the first, noisiest step (see the module docstring). It answers the questions
    of a sampler (``name``, ``steps`` = N, ``times``, ``t_max``, ``step_convention``,
    :meth:`step_at_time`) in sampler-step numbers. ``timesteps`` are the training steps (rounded
    where diffusers' are fractional), ``exact_timesteps`` diffusers' own values and ``times`` the
    OU times of the σ's diffusers uses (:func:`sampler_levels`). ``spacing_note`` says how the
    spacing was chosen when neither ``spacing`` nor the schedule's config gave it, and what the
    reading of the config dropped (None when there is nothing to say).
    """

    schedule: DiscreteSchedule
    n_steps: int
    spacing: str | None = None
    offset: int | None = None
    spacing_note: str | None = field(default=None, init=False)

    def __post_init__(self):
        sch = self.schedule
        if isinstance(sch, EDMSampler):
            raise RegimesError("sampler steps apply to a discrete schedule; the EDM sampler's own "
                               "levels are its steps (steps=N)")
        sch = get_schedule(sch)
        object.__setattr__(self, "schedule", sch)
        rule = sch.diffusers_sampler if isinstance(sch.diffusers_sampler, DiffusersSampler) else None
        notes = [sch.timestep_spacing_note] if self.spacing is None and sch.timestep_spacing_note else []
        if rule is not None:
            notes.extend(rule.notes)
            if rule.prk:
                notes.append("PNDM's Runge–Kutta warm-up (skip_prk_steps false) also evaluates the model at the "
                             "midpoints τ + T//N//2 of its first 3 steps: they are not sampler steps of their own")
        object.__setattr__(self, "spacing_note", "; ".join(notes) or None)
        if rule is not None and rule.family == "singlestep" and self.spacing in (None, "linspace"):
            object.__setattr__(self, "spacing", "linspace")
        object.__setattr__(self, "spacing", (sch.timestep_spacing or "leading") if self.spacing is None
                           else self.spacing)
        object.__setattr__(self, "offset", sch.steps_offset if self.offset is None else self.offset)
        object.__setattr__(self, "n_steps", check_int("n_steps", self.n_steps, ge=1))
        _ = self.timesteps  # validate now

    @cached_property
    def _levels(self) -> tuple[np.ndarray, np.ndarray]:
        ts, t = sampler_levels(self.schedule, self.n_steps, self.spacing, self.offset)
        ts.setflags(write=False)
        t.setflags(write=False)
        return ts, t

    @cached_property
    def timesteps(self) -> np.ndarray:
        """Training step ``τ_i`` of every sampler step (non-increasing; int64, rounded where
        diffusers' timestep is fractional)."""
        ts = np.round(self._levels[0]).astype(np.int64)
        ts.setflags(write=False)
        return ts

    @property
    def exact_timesteps(self) -> np.ndarray:
        """diffusers' timestep of every sampler step (float64; fractional for the Euler family's
        linspace spacing and Karras σ's)."""
        return self._levels[0]

    def timesteps_list(self) -> list:
        """:attr:`exact_timesteps` for output: int where whole, float where fractional."""
        return [int(k) if float(k).is_integer() else float(k) for k in self._levels[0]]

    @property
    def effective_offset(self) -> int:
        """The offset actually added (diffusers adds ``steps_offset`` with leading spacing only, and
        discards it with the spaced timesteps when Karras σ's replace them outside the Euler family)."""
        rule = self.schedule.diffusers_sampler
        if isinstance(rule, DiffusersSampler) and (rule.family == "singlestep"
                                                   or (rule.karras and rule.family != "euler")):
            return 0
        return int(self.offset) if self.spacing == "leading" else 0

    @property
    def name(self) -> str:
        return self.schedule.name

    @property
    def steps(self) -> int:
        return self.n_steps

    @property
    def times(self) -> np.ndarray:
        """OU time of every sampler step (non-increasing: step 0 is the noisiest): ``t_{τ_i}`` at an
        integer timestep, else ``½ ln(1 + σ_i²)`` of diffusers' interpolated or Karras σ."""
        return self._levels[1]

    @property
    def t_max(self) -> float:
        return float(self.times[0])

    @property
    def t_min(self) -> float:
        return float(self.times[-1])

    @property
    def step_convention(self) -> str:
        return SAMPLER_STEP_CONVENTION

    def step_at_time(self, t):
        """Sampler step during which time ``t`` is crossed: the last ``i`` with ``t_{τ_i} >= t``.

        ``None`` (``-1`` in an array) when ``t > t_max`` (before the first sampler step); a ``t``
        below the cleanest sampler step's time gives ``N-1``, the last step (to the clean data).
        ``t = +inf`` is accepted: ``None``, unless the first sampler step is itself at ``t = +inf``
        (zero terminal SNR with trailing spacing), which it then is.
        """
        return crossing_step(self.times, t)

    def __repr__(self) -> str:
        return (f"SamplerSteps(schedule={self.schedule.name!r}, n_steps={self.n_steps}, "
                f"spacing={self.spacing!r}, offset={self.offset})")


def sampler_step_at_time(schedule, t, n_steps: int, spacing: str | None = None, offset: int | None = None):
    """Which of the N sampler steps crosses OU time ``t`` (0 = the first, noisiest step).

    See :meth:`SamplerSteps.step_at_time`; ``None`` when ``t`` comes before the first step.
    """
    return SamplerSteps(schedule, n_steps, spacing, offset).step_at_time(t)  # its __post_init__ resolves it


def load_schedule(schedule=None, *, betas=None, alphas_cumprod=None, scheduler_config=None,
                  steps: int | None = None):
    """The sampler of exactly one schedule form.

    Parameters
    ----------
    schedule : str, DiscreteSchedule or EDMSampler, optional
        A name (``linear``, ``cosine``, ``scaled-linear``, ``edm``) or a sampler object.
    betas, alphas_cumprod : array_like, optional
        The β's, or the ``ᾱ_k`` (diffusers' ``alphas_cumprod``).
    scheduler_config : path or dict, optional
        A diffusers scheduler config (:func:`schedule_from_diffusers_config`).
    steps : int, optional
        T of a named discrete schedule (default 1000) or N of EDM (default 18); only with a name.

    Returns
    -------
    DiscreteSchedule or EDMSampler
        ``linear`` when no form is given.
    """
    given = [k for k, v in (("schedule", schedule), ("betas", betas), ("alphas_cumprod", alphas_cumprod),
                            ("scheduler_config", scheduler_config)) if v is not None]
    if len(given) > 1:
        raise RegimesError(f"give one schedule form, got {' and '.join(given)}")
    if given and given[0] != "schedule" and steps is not None:
        raise RegimesError(f"steps applies to a named schedule only ({given[0]} gives its own T)")
    if scheduler_config is not None:
        _check_config("scheduler_config", scheduler_config)
    if betas is not None:
        return DiscreteSchedule("custom", betas)
    if alphas_cumprod is not None:
        return DiscreteSchedule.from_alphas_cumprod(alphas_cumprod)
    if scheduler_config is not None:
        return schedule_from_diffusers_config(scheduler_config)
    return get_sampler("linear" if schedule is None else schedule, steps)
