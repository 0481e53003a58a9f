"""The three regimes of the backward process and where they fall on a sampler's schedule.

Regime I (``t > t_S``): noise, trajectories contract to the origin. Regime II (``t_C < t < t_S``):
classes are formed, trajectories are not yet attached to training points. Regime III
(``t < t_C``): collapse onto single training points (memorisation of an exactly learned score).
If ``t_C >= t_S`` Regime II does not exist; if there is no speciation (Λ <= 1, ``t_S`` NaN) the
process goes from I to III directly at ``t_C``.

:func:`locate_regimes` places t_S and t_C on any sampler of :mod:`regimes.schedules` — a discrete
DDPM-type schedule or the EDM sampler — through their common interface (``times``, ``t_max``,
``step_at_time``); :func:`schedule_steps` and :func:`regime_steps` answer the same question for
discrete schedules in the shape the rest of the package uses.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._errors import RegimesError
from ._validate import as_real_array, check_int, check_real
from .schedule_forms import SamplerSteps
from .schedules import get_sampler

__all__ = [
    "classify",
    "locate_regimes",
    "locate_sampler_steps",
    "regime_intervals",
    "regime_steps",
    "sampler_steps_text",
    "schedule_steps",
    "steps_text",
]


def _clean(t_S, t_C):
    """``(t_S, t_C)`` validated: ``t_S`` None, NaN or <= 0 is "no speciation" (NaN) — ½ ln Λ is
    <= 0 exactly when Λ <= 1, the documented meaning."""
    t_C = check_real("t_C", t_C, ge=0.0)
    if t_S is None:
        return math.nan, t_C
    if isinstance(t_S, numbers.Real | np.floating | np.integer) and not isinstance(t_S, bool | np.bool_):
        try:
            v = float(t_S)
        except OverflowError:  # 10**400: check_real below says so
            v = 0.0
        if math.isnan(v):
            return math.nan, t_C
        if math.isinf(v):
            raise RegimesError(f"t_S must be finite or NaN, got {v!r}")
    try:
        v = check_real("t_S", t_S)
    except RegimesError as exc:
        raise RegimesError(f"{exc} (t_S None or NaN: no speciation)") from None
    return (math.nan if v <= 0 else v), t_C


def regime_intervals(t_S, t_C) -> list[dict]:
    """The regimes as a list of ``{"name", "t_min", "t_max"}`` from the noisiest to the cleanest.

    ``t_max`` of Regime I is ``inf``; Regime II is omitted when ``t_C >= t_S`` or there is no
    speciation (``t_S`` None, NaN or <= 0: ½ ln Λ with Λ <= 1).
    """
    t_S, t_C = _clean(t_S, t_C)
    out = []
    if math.isnan(t_S) or t_C >= t_S:
        out.append({"name": "I", "t_min": t_C, "t_max": math.inf})
    else:
        out.append({"name": "I", "t_min": t_S, "t_max": math.inf})
        out.append({"name": "II", "t_min": t_C, "t_max": t_S})
    out.append({"name": "III", "t_min": 0.0, "t_max": t_C})
    return out


def classify(t, t_S, t_C):
    """Regime label(s) ``"I"``, ``"II"`` or ``"III"`` at OU time(s) ``t``.

    ``t < t_C`` is III; otherwise ``t < t_S`` is II; otherwise I.
    """
    t_S, t_C = _clean(t_S, t_C)
    tt = as_real_array("t", t, ge=0.0)
    lab = np.where(tt < t_C, "III", np.where((not math.isnan(t_S)) & (tt < t_S), "II", "I"))
    return str(lab) if tt.ndim == 0 else lab


def locate_regimes(t_S, t_C, sampler="linear", steps: int | None = None, sampler_steps=None) -> dict:
    """Where speciation, collapse and the three regimes fall on a sampler.

    Parameters
    ----------
    t_S, t_C : float
        Speciation and collapse times (OU time; ``t_S`` NaN or ``None``: no speciation).
    sampler : {"linear", "cosine", "scaled-linear", "edm"}, DiscreteSchedule, EDMSampler or array_like
        A discrete schedule or the EDM sampler (see :func:`regimes.schedules.get_sampler`).
    steps : int, optional
        T of a discrete schedule (default 1000) or N of the EDM sampler (default 18), for a name.
    sampler_steps : int or SamplerSteps, optional
        The inference steps of a sampler run on the (discrete) schedule: N (diffusers' default
        leading spacing, or the schedule's own) or a :class:`regimes.schedule_forms.SamplerSteps`.
        Adds the keys of :func:`locate_sampler_steps`.

    Returns
    -------
    dict
        ``schedule`` (the sampler's name), ``steps``, ``t_max`` (OU time of the first sampling
        step), ``times`` (OU time of every step, in the sampler's own index order),
        ``step_convention``, ``step_S``, ``step_C``, ``regimes``
        (:func:`regime_intervals`) and ``notes`` (plus ``sampler_*`` keys with ``sampler_steps``).

    Notes
    -----
    ``step_X`` is ``sampler.step_at_time(t_X)``, the step during which ``t_X`` is crossed, in the
    sampler's own numbering: a discrete schedule counts k from the data end (step 0 is the
    cleanest; the first k with ``t_k >= t``); the EDM sampler counts i from the noise end, as it
    runs (the last i with ``σ_i >= σ(t)``). Either way the crossing step is the one that starts in
    the earlier (noisier) regime: its last step in sampling order in :func:`regime_steps`.
    ``None`` with a note when the time does not exist or lies beyond ``t_max`` (the transition
    happens before the sampler's first step). A time below the cleanest step's is crossed during
    the last step (from that step to the data, t = 0): a note says so, and that no step starts in
    the regime below it.
    Regimes: I for ``t > t_S``, II for ``t_C < t < t_S``, III for ``t < t_C`` [DR].

    References
    ----------
    .. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, arXiv:2402.18491 (2024).
    """
    smp = get_sampler(sampler, steps)
    t_S, t_C = _clean(t_S, t_C)
    times = smp.times
    k_low = int(np.argmin(times))  # the cleanest step: 0 for a discrete schedule, N−1 for EDM
    notes = []
    res = {"schedule": smp.name, "steps": smp.steps, "t_max": smp.t_max, "times": times,
           "step_convention": smp.step_convention}
    for key, label, tv in (("step_S", "speciation", t_S), ("step_C", "collapse", t_C)):
        if math.isnan(tv):
            res[key] = None
            notes.append(f"no {label} time: no {key} in the schedule")
            continue
        k = smp.step_at_time(tv)
        res[key] = k
        if k is None:
            notes.append(
                f"{label} (t = {tv:.4g}) happens before the first sampling step of the "
                f"{smp.name} schedule, whose noisiest step is at t = {smp.t_max:.4g}"
            )
        elif tv < times[k_low]:
            notes.append(
                f"{label} (t = {tv:.4g}) lies below the time of step {k_low} (t_{k_low} = "
                f"{times[k_low]:.4g}), the cleanest: it is crossed during that last step (from t_{k_low} "
                "to the data, t = 0), so no step starts after it"
            )
    res["regimes"] = regime_intervals(t_S, t_C)
    if sampler_steps is not None:
        extra = locate_sampler_steps(t_S, t_C, _sampler_steps_on(smp, sampler_steps))
        notes += extra.pop("notes")
        res.update(extra)
    res["notes"] = notes
    return res


def _sampler_steps_on(smp, sampler_steps) -> SamplerSteps:
    """The N inference steps on the schedule ``smp``: ``sampler_steps`` is N, or a
    :class:`SamplerSteps` that must have been built on the same schedule (never two mixed)."""
    if not isinstance(sampler_steps, SamplerSteps):
        return SamplerSteps(smp, check_int("sampler_steps", sampler_steps, ge=1, le=smp.steps))
    own = sampler_steps.schedule
    if not (own is smp or (getattr(smp, "betas", None) is not None and np.array_equal(own.betas, smp.betas))):
        raise RegimesError(f"sampler_steps were built on the {own.name} schedule ({own.steps} steps), not on "
                           f"the {smp.name} schedule ({smp.steps} steps) being located")
    return sampler_steps


def locate_sampler_steps(t_S, t_C, inference: SamplerSteps) -> dict:
    """Which of a sampler's N inference steps cross speciation and collapse.

    Returns ``sampler_steps`` (N), ``timestep_spacing``, ``steps_offset`` (the offset applied),
    ``sampler_timesteps`` (training step τ_i of each sampler step, noisiest first: diffusers' own
    value, fractional for the Euler family's linspace spacing and Karras σ's),
    ``sampler_step_convention``, ``sampler_step_S``, ``sampler_step_C`` and ``notes``. Sampler
    step 0 is the first (noisiest) step; the sampler step of a time t is the last i with
    ``t_{τ_i} >= t``, the step during which t is crossed (:meth:`SamplerSteps.step_at_time`);
    ``None`` when t comes before the first sampler step. ``notes`` also says how the timestep
    spacing was chosen when neither the caller nor the scheduler config gave it.
    """
    t_S, t_C = _clean(t_S, t_C)
    if not isinstance(inference, SamplerSteps):
        raise RegimesError(f"inference must be a SamplerSteps (regimes.schedule_forms.SamplerSteps(schedule, N)), "
                           f"got {type(inference).__name__}")
    N = inference.n_steps
    out = {"sampler_steps": N, "timestep_spacing": inference.spacing, "steps_offset": inference.effective_offset,
           "sampler_timesteps": inference.timesteps_list(),
           "sampler_step_convention": inference.step_convention}
    notes = []
    for key, label, tv in (("sampler_step_S", "speciation", t_S), ("sampler_step_C", "collapse", t_C)):
        i = None if math.isnan(tv) else inference.step_at_time(tv)
        out[key] = i
        if math.isnan(tv):
            continue
        if i is None:
            notes.append(f"{label} (t = {tv:.4g}) happens before the first of the {N} sampler steps "
                         f"(training step {int(inference.timesteps[0])}, t = {inference.t_max:.4g})")
        elif tv < inference.t_min:
            notes.append(f"{label} (t = {tv:.4g}) is crossed during the last sampler step {N - 1}, from "
                         f"training step {int(inference.timesteps[-1])} (t = {inference.t_min:.4g}) to the data")
    if inference.spacing_note is not None:  # the spacing was not given: say how it was chosen
        notes.append(inference.spacing_note)
    out["notes"] = notes
    return out


def schedule_steps(t_S, t_C, schedule="linear", steps: int | None = None, sampler_steps=None) -> dict:
    """Steps of a schedule (or the EDM sampler) at which speciation and collapse happen.

    Returns ``{"schedule", "steps", "t_max", "step_S", "step_C", "step_convention", "notes"}`` where ``step_X`` is
    ``sampler.step_at_time(t_X)``, the step during which ``t_X`` is crossed (discrete: the first step
    whose time is ``>= t_X``; EDM: the last level ``σ_i >= σ(t_X)``), or
    ``None`` with a note when the time lies beyond the schedule's last step (the transition
    happens before the sampler's first step) or does not exist; with ``sampler_steps`` also the
    ``sampler_*`` keys of :func:`locate_sampler_steps`. ``steps``: T of a named schedule (default
    1000; EDM: N, default 18). :func:`locate_regimes` gives more (every step's time).
    """
    loc = locate_regimes(t_S, t_C, get_sampler(schedule, steps), sampler_steps=sampler_steps)
    keys = ["schedule", "steps", "t_max", "step_S", "step_C", "step_convention"]
    keys += [k for k in loc if k.startswith(("sampler_", "timestep_spacing", "steps_offset"))]
    return {**{k: loc[k] for k in keys}, "notes": loc["notes"]}


def _steps_in(ts: np.ndarray, t_min: float, t_max: float):
    """``(first, last, note)``: the smallest and largest index whose time lies in ``[t_min, t_max)``."""
    inside = ts >= t_min
    if not math.isinf(t_max):
        inside &= ts < t_max
    idx = np.flatnonzero(inside)
    if idx.size:
        return int(idx[0]), int(idx[-1]), None
    if t_min > np.max(ts):
        return None, None, "before the first sampler step"
    if t_max <= np.min(ts):  # the whole regime lies below the cleanest step: entered during the last step
        return None, None, "entered during the last sampler step; none starts in it"
    return None, None, "between two sampler steps"


def regime_steps(t_S, t_C, schedule="linear", steps: int | None = None, sampler_steps=None) -> list[dict]:
    """:func:`regime_intervals` with the sampler steps that fall in each regime.

    Each regime gets ``step_min`` and ``step_max``: the smallest and largest step index whose time
    lies in the regime (``t_min <= t_k < t_max``, the rule of :func:`classify`: a step belongs to
    the regime it starts in), so the regimes partition the steps (``0 … T−1`` of a discrete
    schedule, counted from the data end; the EDM sampler's ``0 … N−1``, counted from the noise
    end). The step during which a transition is crossed (:func:`locate_regimes`) is thus the last
    step, in sampling order, of the earlier regime: the lowest k of a discrete schedule, the highest
    i of EDM. A regime that lies entirely beyond the schedule's last time (it happens before the
    sampler's first step) or between two consecutive steps holds no step: both are ``None`` and
    ``steps_note`` says why (a regime entirely below the time of the cleanest step is entered
    during the last step, from that step to the data, and no step starts in it). A regime that
    extends past the last time is clamped to the noisiest step. With ``sampler_steps`` (N or a
    :class:`regimes.schedule_forms.SamplerSteps`), ``sampler_step_min`` / ``sampler_step_max``
    (/ ``sampler_steps_note``) do the same among the N inference steps (0 = the noisiest).
    """
    smp = get_sampler(schedule, steps)
    inf = None if sampler_steps is None else _sampler_steps_on(smp, sampler_steps)
    out = []
    for r in regime_intervals(t_S, t_C):
        r = dict(r)
        lo, hi, note = _steps_in(smp.times, r["t_min"], r["t_max"])
        r["step_min"], r["step_max"] = lo, hi
        if note is not None:
            r["steps_note"] = note
        if inf is not None:
            lo, hi, note = _steps_in(inf.times, r["t_min"], r["t_max"])
            r["sampler_step_min"], r["sampler_step_max"] = lo, hi
            if note is not None:
                r["sampler_steps_note"] = note
        out.append(r)
    return out


def steps_text(regime: dict) -> str:
    """``"650–826"``, or ``"none (before the first sampler step)"`` for a regime without steps.

    ``regime`` is one entry of :func:`regime_steps`.
    """
    if not isinstance(regime, dict):
        raise RegimesError(f"regime must be one entry of regime_steps (a dict), got {type(regime).__name__}")
    if regime.get("step_min") is None:
        return f"none ({regime.get('steps_note', 'no sampler step')})"
    return f"{regime['step_min']}–{regime['step_max']}"


def sampler_steps_text(regime: dict) -> str | None:
    """``"8–16"``: a regime's inference (sampler) steps, in sampling order, when the regimes were
    mapped onto a sampler's N steps (``regime_steps(..., sampler_steps=...)``); ``"none"`` for a
    regime no sampler step starts in; None without sampler steps."""
    if not isinstance(regime, dict):
        raise RegimesError(f"regime must be one entry of regime_steps (a dict), got {type(regime).__name__}")
    if "sampler_step_min" not in regime:
        return None
    if regime["sampler_step_min"] is None:
        return "none"
    return f"{regime['sampler_step_min']}–{regime['sampler_step_max']}"
