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

import numpy as np

from ._errors import RegimesError
from ._validate import as_real_array, check_real
from .schedules import get_sampler, get_schedule

__all__ = [
    "classify",
    "locate_regimes",
    "regime_intervals",
    "regime_steps",
    "schedule_steps",
    "steps_text",
]


def _clean(t_S, t_C):
    t_C = check_real("t_C", t_C, ge=0.0)
    t_S = float(t_S) if t_S is not None else math.nan
    if math.isinf(t_S):
        raise RegimesError(f"t_S must be finite or NaN, got {t_S!r}")
    if not math.isnan(t_S) and t_S <= 0:
        t_S = math.nan
    return t_S, t_C


def regime_intervals(t_S, t_C) -> list[dict]:
    """The regimes as a list of ``{"name", "t_min", "t_max"}`` from the noisiest to the cleanest.

    ``t_max`` of Regime I is ``inf``; Regime II is omitted when ``t_C >= t_S`` or there is no
    speciation (``t_S`` NaN or ``<= 0``).
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


def locate_regimes(t_S, t_C, sampler="linear", steps: int | None = None) -> dict:
    """Where speciation, collapse and the three regimes fall on a sampler.

    Parameters
    ----------
    t_S, t_C : float
        Speciation and collapse times (OU time; ``t_S`` NaN or ``None``: no speciation).
    sampler : {"linear", "cosine", "scaled-linear", "edm"}, DiscreteSchedule, EDMSampler or array_like
        A discrete schedule or the EDM sampler (see :func:`regimes.schedules.get_sampler`).
    steps : int, optional
        T of a discrete schedule (default 1000) or N of the EDM sampler (default 18), for a name.

    Returns
    -------
    dict
        ``schedule`` (the sampler's name), ``steps``, ``t_max`` (OU time of the first sampling
        step), ``times`` (OU time of every step, in the sampler's own index order),
        ``step_convention``, ``step_S``, ``step_C``, ``regimes``
        (:func:`regime_intervals`) and ``notes``.

    Notes
    -----
    ``step_X`` is ``sampler.step_at_time(t_X)``, whose numbering is the sampler's own: a discrete
    schedule counts k from the data end (step 0 is the cleanest; the first k with ``t_k >= t``);
    the EDM sampler counts i from the noise end, as it runs (the first i with ``σ_i <= σ(t)``).
    ``None`` with a note when the time does not exist or lies beyond ``t_max`` (the transition
    happens before the sampler's first step); a note also when it lies below the cleanest step.
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
                f"{label} (t = {tv:.4g}) lies below the time of step {k_low} "
                f"(t_{k_low} = {times[k_low]:.4g}): "
                "the sampler's last step comes before it, so it is not reached"
            )
    res["regimes"] = regime_intervals(t_S, t_C)
    res["notes"] = notes
    return res


def schedule_steps(t_S, t_C, schedule="linear", steps: int = 1000) -> dict:
    """Steps of a discrete schedule at which speciation and collapse happen.

    Returns ``{"schedule", "steps", "t_max", "step_S", "step_C", "notes"}`` where ``step_X`` is
    :func:`regimes.schedules.step_at_time` of ``t_X`` (first step whose time is ``>= t_X``), or
    ``None`` with a note when the time lies beyond the schedule's last step (the transition
    happens before the sampler's first step) or does not exist. :func:`locate_regimes` is the
    same for any sampler, the EDM sampler included.
    """
    loc = locate_regimes(t_S, t_C, get_schedule(schedule, steps))
    return {k: loc[k] for k in ("schedule", "steps", "t_max", "step_S", "step_C", "notes")}


def regime_steps(t_S, t_C, schedule="linear", steps: int = 1000) -> list[dict]:
    """:func:`regime_intervals` with the sampler steps that fall in each regime.

    Each regime gets ``step_min`` and ``step_max``: the first and last zero-based step ``k`` whose
    time ``t_k`` lies in the regime (``t_min <= t_k < t_max``, the rule of :func:`classify`), so the
    regimes partition the steps ``0 … T−1``. A regime that lies entirely beyond the schedule's last
    time (it happens before the sampler's first step) or between two consecutive steps holds no
    step: both are ``None`` and ``steps_note`` says why (a regime entirely below the time of step
    0 is "after the last sampler step": sampling stops before it). A regime that extends past the last time is
    clamped to the last step ``T − 1``.
    """
    sch = get_schedule(schedule, steps)
    ts = sch.times
    out = []
    for r in regime_intervals(t_S, t_C):
        k_lo = int(np.searchsorted(ts, r["t_min"], side="left"))  # first k with t_k >= t_min
        k_hi = sch.steps - 1 if math.isinf(r["t_max"]) else int(np.searchsorted(ts, r["t_max"], side="left")) - 1
        k_hi = min(k_hi, sch.steps - 1)
        r = dict(r)
        if k_lo > k_hi:
            r["step_min"] = r["step_max"] = None
            if k_lo >= sch.steps:
                r["steps_note"] = "before the first sampler step"
            elif k_lo == 0:  # the whole regime lies below t_0: the sampler stops before reaching it
                r["steps_note"] = "after the last sampler step"
            else:
                r["steps_note"] = "between two sampler steps"
        else:
            r["step_min"], r["step_max"] = k_lo, k_hi
        out.append(r)
    return out


def steps_text(regime: dict) -> str:
    """``"650–826"``, or ``"none (before the first sampler step)"`` for a regime without steps."""
    if regime.get("step_min") is None:
        return f"none ({regime.get('steps_note', 'no sampler step')})"
    return f"{regime['step_min']}–{regime['step_max']}"
