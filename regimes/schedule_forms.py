"""Every form a schedule comes in, and the inference steps of a sampler run on it.

A discrete schedule can be given by name (:func:`regimes.schedules.get_schedule`), by its β's, by
its ``ᾱ_k`` (diffusers' ``alphas_cumprod``, :meth:`DiscreteSchedule.from_alphas_cumprod`) or by a
diffusers ``scheduler_config.json`` (:func:`schedule_from_diffusers_config`); :func:`load_schedule`
takes exactly one of these forms (or ``"edm"``) and returns the sampler.

A sampler does not visit every training step: with ``N`` inference steps it visits the training
steps :func:`sampler_timesteps` returns, as diffusers' ``set_timesteps`` defines them for its
three ``timestep_spacing`` values. :class:`SamplerSteps` locates an OU time among those N steps.

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

import numpy as np

from ._errors import RegimesError
from ._validate import as_real_array, check_int, check_real
from .schedules import (
    DiscreteSchedule,
    EDMSampler,
    betas_from_alpha_bars,
    check_steps,
    crossing_step,
    get_sampler,
    get_schedule,
)

__all__ = [
    "DIFFUSERS_BETA_SCHEDULES",
    "DIFFUSERS_DEFAULT_SPACING",
    "TIMESTEP_SPACINGS",
    "SamplerSteps",
    "load_schedule",
    "rescale_zero_terminal_snr",
    "sampler_step_at_time",
    "sampler_timesteps",
    "schedule_from_diffusers_config",
]

#: diffusers ``beta_schedule`` values read by :func:`schedule_from_diffusers_config`
DIFFUSERS_BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid")
#: diffusers ``timestep_spacing`` values
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")
#: the default ``timestep_spacing`` of diffusers scheduler classes (the ``__init__`` default each
#: class gives when its config has no ``timestep_spacing`` key); classes not listed: "leading"
#: assumed, with a note
DIFFUSERS_DEFAULT_SPACING = {
    "DDPMScheduler": "leading", "DDIMScheduler": "leading", "PNDMScheduler": "leading",
    "EulerDiscreteScheduler": "linspace", "EulerAncestralDiscreteScheduler": "linspace",
    "HeunDiscreteScheduler": "linspace", "LMSDiscreteScheduler": "linspace",
    "KDPM2DiscreteScheduler": "linspace", "KDPM2AncestralDiscreteScheduler": "linspace",
    "DPMSolverMultistepScheduler": "linspace", "UniPCMultistepScheduler": "linspace",
    "DEISMultistepScheduler": "linspace",
}

SAMPLER_STEP_CONVENTION = (
    "sampler step i = 0 … N-1 in sampling order: 0 is the first (noisiest) step; step i starts at "
    "training step τ_i (diffusers' timesteps[i]); the sampler step of a time t is the last i with "
    "t_{τ_i} >= t (the step during which t is crossed)"
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
    s = (s - sT) * (s0 / (s0 - sT))
    return betas_from_alpha_bars(s**2)


def _diffusers_betas(cfg: dict, T: int, where: str) -> tuple[np.ndarray, str]:
    """β's of a diffusers config and the named schedule they equal ("" when none); ``where`` is
    the "scheduler config FILE" that errors name."""
    kind = str(cfg.get("beta_schedule", "linear"))
    if kind in ("linear", "scaled_linear", "sigmoid"):  # squaredcos_cap_v2 does not read them
        b0 = check_real(f"{where} beta_start", cfg.get("beta_start", 1e-4), gt=0.0, lt=1.0)
        b1 = check_real(f"{where} beta_end", cfg.get("beta_end", 0.02), gt=0.0, lt=1.0)
    if kind == "linear":
        betas = np.linspace(b0, b1, T)
    elif kind == "scaled_linear":
        betas = np.linspace(np.sqrt(b0), np.sqrt(b1), T) ** 2
    elif kind == "squaredcos_cap_v2":
        betas = get_schedule("cosine", T).betas.copy()
    elif kind == "sigmoid":
        betas = 1.0 / (1.0 + np.exp(-np.linspace(-6.0, 6.0, T))) * (b1 - b0) + b0
    else:
        raise RegimesError(
            f"{where} beta_schedule must be one of {', '.join(DIFFUSERS_BETA_SCHEDULES)} "
            f"(or give trained_betas), got {kind!r}"
        )
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
        config's ``timestep_spacing`` and ``steps_offset``.

    Notes
    -----
    Keys read (others, e.g. ``prediction_type``, are ignored), with diffusers' defaults:
    ``num_train_timesteps`` (1000), ``beta_schedule`` (``"linear"``): ``linear`` is
    ``linspace(beta_start, beta_end, T)``, ``scaled_linear`` ``linspace(√beta_start, √beta_end, T)²``,
    ``squaredcos_cap_v2`` the cosine schedule of Nichol & Dhariwal capped at 0.999 (our ``cosine``),
    ``sigmoid`` ``sigmoid(linspace(-6, 6, T))·(beta_end - beta_start) + beta_start``;
    ``beta_start`` (1e-4), ``beta_end`` (0.02); ``trained_betas`` (overrides the above);
    ``rescale_betas_zero_snr`` (False; :func:`rescale_zero_terminal_snr`); ``timestep_spacing``
    and ``steps_offset`` (for :func:`sampler_timesteps`). Without ``timestep_spacing`` the default
    of the config's ``_class_name`` is used (:data:`DIFFUSERS_DEFAULT_SPACING`: ``"leading"`` for
    DDPM, DDIM and PNDM, ``"linspace"`` for the Euler, Heun, LMS, KDPM2, DPM-Solver multistep, UniPC
    and DEIS schedulers), ``"leading"`` for another class or none; the schedule's
    ``timestep_spacing_note`` says which. The β's are computed in float64 (diffusers builds linear
    and scaled_linear in float32: β's differ by < 1e-9).

    A value that is not of its key's kind (``beta_start`` not a number in (0, 1), a
    ``num_train_timesteps`` that is not an integer, …) is a :class:`RegimesError` that names the
    key and the file ("scheduler config FILE: beta_start must be …").
    """
    cfg, where = _read_config(config)
    betas, named, rescale = _config_betas(cfg, where)
    kind = "trained" if cfg.get("trained_betas") is not None else cfg.get("beta_schedule", "linear")
    name = named or f"diffusers-{kind}"
    try:  # the β's built from the config: errors name the config, not a --betas file
        if rescale:
            betas = rescale_zero_terminal_snr(betas)
            name = (named or name) + "-zsnr"
        spacing, note = _config_spacing(cfg, where)
        offset = check_int(f"{where} steps_offset", cfg.get("steps_offset", 0) or 0, ge=0)
        return DiscreteSchedule(name, betas, timestep_spacing=spacing, steps_offset=offset,
                                timestep_spacing_note=note)
    except RegimesError as exc:
        msg = str(exc)
        raise RegimesError(msg if msg.startswith(where) else f"{where.rstrip(':')}: the β's it gives: {msg}") from None


def _config_betas(cfg: dict, where: str) -> tuple[np.ndarray, str, bool]:
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
        betas, named = _diffusers_betas(cfg, T, where)
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
    if rescale and betas[-1] >= 1.0:
        raise RegimesError(f"{where} rescale_betas_zero_snr is true but trained_betas already end in β = 1 "
                           "(zero terminal SNR); set rescale_betas_zero_snr to false")
    return betas, "", rescale


def _config_spacing(cfg: dict, where: str) -> tuple[str | None, str | None]:
    """The config's ``timestep_spacing``, else its scheduler class's default (with a note saying
    so), else "leading" (with a note saying it was assumed); "leading" not given by the config is
    returned as None (the default of :func:`sampler_timesteps`)."""
    spacing = cfg.get("timestep_spacing")
    if spacing is not None:
        if spacing not in TIMESTEP_SPACINGS:
            raise RegimesError(f"{where} timestep_spacing must be one of {', '.join(TIMESTEP_SPACINGS)}, "
                               f"got {spacing!r}")
        return spacing, None
    cls = cfg.get("_class_name")
    if isinstance(cls, str) and cls in DIFFUSERS_DEFAULT_SPACING:
        default = DIFFUSERS_DEFAULT_SPACING[cls]
        note = f"timestep_spacing not in the scheduler config: {cls}'s default {default!r} used"
        return (None if default == "leading" else default), note  # None: leading, the general default
    what = f"_class_name {cls!r} is not a class whose default is known here" if cls is not None else \
        "the config has no _class_name"
    return None, (f"timestep_spacing not in the scheduler config and {what}: 'leading' assumed "
                       "(DDPMScheduler's and DDIMScheduler's default); give the spacing to choose another")


def _read_config(config) -> tuple[dict, str]:
    """The config as a dict, and "scheduler config FILE:" (just "scheduler config" for a dict) for
    the errors to name, followed by the key ("scheduler config FILE: beta_start must be …")."""
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
        ``τ_0 > τ_1 > … > τ_{N-1}``, diffusers' ``scheduler.timesteps`` after ``set_timesteps(N)``.

    Notes
    -----
    As in diffusers' ``set_timesteps`` [HF]: ``leading``: ``τ = round(arange(N)·(T // N))`` reversed,
    plus ``offset``; ``trailing``: ``τ = round(arange(T, 0, -T/N)) - 1`` (ends on ``T-1``, the
    noisiest step, as Lin et al. recommend); ``linspace``: ``τ = round(linspace(0, T-1, N))`` reversed.
    These are DDPMScheduler's and DDIMScheduler's rules; other diffusers classes may place their
    steps slightly differently (e.g. DPMSolverMultistepScheduler's linspace spreads N + 1 points and
    drops the last; the Euler schedulers keep fractional training steps).
    """
    sch = get_schedule(schedule) if not isinstance(schedule, DiscreteSchedule) else schedule
    T = sch.steps
    N = check_int("n_steps", n_steps, ge=1)
    if N > T:
        raise RegimesError(f"n_steps must be <= the schedule's {T} training steps, got {N}")
    spacing = (sch.timestep_spacing or "leading") if spacing is None else spacing
    if spacing not in TIMESTEP_SPACINGS:
        raise RegimesError(f"spacing must be one of {', '.join(TIMESTEP_SPACINGS)}, got {spacing!r}")
    offset = sch.steps_offset if offset is None else check_int("offset", offset, ge=0)
    if spacing == "leading":
        ts = (np.arange(N) * (T // N)).round()[::-1].astype(np.int64) + offset
    elif spacing == "trailing":
        ts = (np.round(np.arange(T, 0, -T / N)).astype(np.int64) - 1)[:N]
    else:
        ts = np.linspace(0, T - 1, N).round()[::-1].astype(np.int64)
    if ts.max() >= T or ts.min() < 0:
        raise RegimesError(f"offset {offset} moves the first sampler step to training step {int(ts.max())}, "
                           f"beyond the schedule's last step {T - 1}")
    return np.ascontiguousarray(ts)


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
        See :func:`sampler_timesteps` (defaults: the schedule's own, else ``"leading"`` and 0).

    Notes
    -----
    Sampler step 0 is the first, noisiest step (see the module docstring). It answers the questions
    of a sampler (``name``, ``steps`` = N, ``times``, ``t_max``, ``step_convention``,
    :meth:`step_at_time`) in sampler-step numbers. ``spacing_note`` says how the spacing was chosen
    when neither ``spacing`` nor the schedule's config gave it (None otherwise).
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
        if self.spacing is None:
            object.__setattr__(self, "spacing_note", sch.timestep_spacing_note)
        object.__setattr__(self, "spacing", (sch.timestep_spacing or "leading") if self.spacing is None
                           else self.spacing)
        object.__setattr__(self, "offset", sch.steps_offset if self.offset is None else self.offset)
        object.__setattr__(self, "n_steps", check_int("n_steps", self.n_steps, ge=1))
        _ = self.timesteps  # validate now

    @cached_property
    def timesteps(self) -> np.ndarray:
        """Training step ``τ_i`` of every sampler step (decreasing)."""
        ts = sampler_timesteps(self.schedule, self.n_steps, self.spacing, self.offset)
        ts.setflags(write=False)
        return ts

    @property
    def effective_offset(self) -> int:
        """The offset actually added (diffusers adds ``steps_offset`` with leading spacing only)."""
        return int(self.offset) if self.spacing == "leading" else 0

    @property
    def name(self) -> str:
        return self.schedule.name

    @property
    def steps(self) -> int:
        return self.n_steps

    @cached_property
    def times(self) -> np.ndarray:
        """OU time of every sampler step (non-increasing: step 0 is the noisiest)."""
        t = self.schedule.times[self.timesteps]
        t.setflags(write=False)
        return t

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
    if betas is not None:
        return DiscreteSchedule("custom", betas)
    if alphas_cumprod is not None:
        return DiscreteSchedule.from_alphas_cumprod(alphas_cumprod)
    if scheduler_config is not None:
        return schedule_from_diffusers_config(scheduler_config)
    return get_sampler("linear" if schedule is None else schedule, steps)
