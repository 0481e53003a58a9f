"""Time conventions and the noise schedules diffusion models are trained with.

All times are Ornstein–Uhlenbeck (OU) times ``t`` of the forward process
``dx = -x dt + √2 dW``, so that ``x_t = e^{-t} x_0 + √Δ_t ξ`` with ``Δ_t = 1 - e^{-2t}``.
The whole dictionary to other parametrisations is ``ᾱ = e^{-2t}``:

* VP / DDPM ``ᾱ``: ``t = -½ ln ᾱ``, ``ᾱ = e^{-2t}``
* VE / EDM ``σ``: ``t = ½ ln(1 + σ²)``, ``σ = √(e^{2t} - 1)``
* log-SNR ``λ``: ``t = ½ ln(1 + e^{-λ})``, ``λ = -ln(e^{2t} - 1)``
* flow matching ``τ``: ``t = ½ ln(1 + τ²/(1-τ)²)``, ``τ = σ/(1 + σ)``
* continuous VP-SDE ``s ∈ [0, 1]``: ``t = ½β_min s + ¼(β_max-β_min)s²`` (inverse: positive root)

Saturated endpoints are accepted both ways: ``t = +inf`` ↔ ``ᾱ = 0``, ``σ = +inf``, ``λ = -inf``,
``τ = 1`` (and ``Δ = 1``), and ``t = 0`` ↔ ``ᾱ = 1``, ``σ = 0``, ``λ = +inf``, ``τ = 0``. In
floating point ``τ`` rounds to 1 for ``t ≳ 36.7`` and ``ᾱ`` to 0 for ``t ≳ 373``, so the inverse
maps return ``+inf`` for those values rather than rejecting them. NaN is always rejected.

Discrete schedules use zero-based array indices ``k = 0 … T-1`` with ``ᾱ_k = Π_{i≤k}(1 - β_i)``,
so ``t_k = -½ Σ_{i≤k} log1p(-β_i)``.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
.. [HO] J. Ho, A. Jain, P. Abbeel, "Denoising diffusion probabilistic models", arXiv:2006.11239.
.. [ND] A. Nichol, P. Dhariwal, "Improved denoising diffusion probabilistic models",
   arXiv:2102.09672.
.. [EDM] T. Karras et al., "Elucidating the design space of diffusion-based generative models",
   arXiv:2206.00364.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._errors import RegimesError
from ._validate import as_real_array, check_int, check_real

__all__ = [
    "SCHEDULE_NAMES",
    "DiscreteSchedule",
    "alpha_bar",
    "delta",
    "edm_sigma",
    "flow_tau",
    "get_schedule",
    "logsnr",
    "step_at_time",
    "time_at_step",
    "time_from_alpha_bar",
    "time_from_edm_sigma",
    "time_from_flow_tau",
    "time_from_logsnr",
    "time_from_vp_sde",
    "vp_sde_from_time",
]

SCHEDULE_NAMES = ("linear", "cosine", "scaled-linear")


def _out(x: np.ndarray, scalar: bool):
    return float(x) if scalar else x


def _times(t, name: str = "t"):
    # t = +inf is the stationary end of the forward process: every map has a limit there
    arr = as_real_array(name, t, ge=0.0, allow_inf=True)
    return arr, arr.ndim == 0


# ----------------------------------------------------------------------------------------------
# continuous maps


def delta(t):
    """Noise variance of the OU process, ``Δ_t = 1 - e^{-2t}``.

    Parameters
    ----------
    t : float or array_like
        OU time(s), ``t >= 0``.

    Returns
    -------
    float or ndarray

    Notes
    -----
    Evaluated as ``-expm1(-2t)``, accurate to full relative precision as ``t → 0``
    (``Δ_t ≈ 2t``) and exactly 1 in floating point for ``t ≳ 18.7``.
    """
    arr, scalar = _times(t)
    return _out(-np.expm1(-2.0 * arr), scalar)


def alpha_bar(t):
    """Signal fraction ``ᾱ = e^{-2t}`` of the VP/DDPM parametrisation at OU time ``t``."""
    arr, scalar = _times(t)
    return _out(np.exp(-2.0 * arr), scalar)


def time_from_alpha_bar(ab):
    """OU time ``t = -½ ln ᾱ`` for ``0 <= ᾱ <= 1`` (``ᾱ = 0`` → ``t = +inf``, ``ᾱ = 1`` → 0)."""
    arr = as_real_array("alpha_bar", ab, ge=0.0, le=1.0)
    with np.errstate(divide="ignore"):
        return _out(-0.5 * np.log(arr) + 0.0, arr.ndim == 0)  # + 0.0: t = 0, not -0, at ᾱ = 1


def edm_sigma(t):
    """EDM / VE noise level ``σ = √(e^{2t} - 1)`` at OU time ``t``.

    Notes
    -----
    Evaluated as ``e^t √Δ_t``, which keeps full relative accuracy at ``t → 0`` (σ ≈ √(2t)) and
    overflows only where ``e^t`` does (t > 709).
    """
    arr, scalar = _times(t)
    with np.errstate(over="ignore"):
        out = np.exp(arr) * np.sqrt(-np.expm1(-2.0 * arr))
    return _out(out, scalar)


def _half_log1p_sq(s: np.ndarray) -> np.ndarray:
    """½ ln(1 + s²) without overflow of s² (s >= 0)."""
    s = np.asarray(s, dtype=np.float64)
    big = s > 1.0
    safe = np.where(big, s, 1.0)
    with np.errstate(divide="ignore"):
        large = np.log(safe) + 0.5 * np.log1p((1.0 / safe) ** 2)
        return np.where(big, large, 0.5 * np.log1p(np.where(big, 0.0, s) ** 2))


def time_from_edm_sigma(sigma):
    """OU time ``t = ½ ln(1 + σ²)`` of an EDM / VE noise level ``σ >= 0`` (``σ = +inf`` → +inf)."""
    arr = as_real_array("sigma", sigma, ge=0.0, allow_inf=True)
    return _out(_half_log1p_sq(arr), arr.ndim == 0)


def logsnr(t):
    """Log signal-to-noise ratio ``λ = ln(ᾱ/(1 - ᾱ)) = -ln(e^{2t} - 1)`` for ``t > 0``.

    Notes
    -----
    Evaluated as ``-2t - ln Δ_t`` with ``Δ_t = -expm1(-2t)``: no overflow at large ``t`` and full
    accuracy at small ``t``. ``t = 0`` gives ``+inf`` (pure signal), ``t = +inf`` gives ``-inf``.
    """
    arr, scalar = _times(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(arr == 0.0, np.inf, -2.0 * arr - np.log(-np.expm1(-2.0 * arr)))
        out = np.where(np.isposinf(arr), -np.inf, out)
    return _out(out, scalar)


def time_from_logsnr(lam):
    """OU time ``t = ½ ln(1 + e^{-λ})`` of a log-SNR ``λ`` (any real; ``+inf`` → 0, ``-inf`` → +inf)."""
    arr = as_real_array("logsnr", lam, allow_inf=True)
    return _out(0.5 * np.logaddexp(0.0, -arr), arr.ndim == 0)


def flow_tau(t):
    """Flow-matching / rectified-flow time ``τ = σ/(1 + σ)`` (``x_τ = (1-τ)x_0 + τ n``)."""
    arr, scalar = _times(t)
    with np.errstate(over="ignore"):
        sig = np.exp(arr) * np.sqrt(-np.expm1(-2.0 * arr))
        out = np.where(np.isinf(sig), 1.0, sig / (1.0 + np.where(np.isinf(sig), 0.0, sig)))
    return _out(out, scalar)


def time_from_flow_tau(tau):
    """OU time of a flow-matching time ``0 <= τ <= 1``: ``t = ½ ln(1 + τ²/(1-τ)²)``.

    ``τ = 1`` (pure noise) gives ``t = +inf``; :func:`flow_tau` rounds to exactly 1 for
    ``t ≳ 36.7``, and information about ``t`` is lost well before (``1 - τ ≈ e^{-t}``: a round trip
    at ``t = 20`` keeps ~8 digits).
    """
    arr = as_real_array("tau", tau, ge=0.0, le=1.0)
    with np.errstate(divide="ignore"):
        return _out(_half_log1p_sq(arr / (1.0 - arr)), arr.ndim == 0)


def time_from_vp_sde(s, beta_min: float = 0.1, beta_max: float = 20.0):
    """OU time of the continuous VP-SDE at ``s ∈ [0, 1]``: ``t = ½β_min s + ¼(β_max - β_min)s²``.

    Notes
    -----
    With ``β(s) = β_min + s(β_max - β_min)``, ``ᾱ(s) = exp(-∫_0^s β)`` and ``t = -½ ln ᾱ``.
    Defaults are Song et al.'s (β_min = 0.1, β_max = 20).
    """
    bmin, bmax = _vp_params(beta_min, beta_max)
    arr = as_real_array("s", s, ge=0.0, le=1.0)
    return _out(0.5 * bmin * arr + 0.25 * (bmax - bmin) * arr**2, arr.ndim == 0)


def vp_sde_from_time(t, beta_min: float = 0.1, beta_max: float = 20.0):
    """Inverse of :func:`time_from_vp_sde`: the ``s ∈ [0, 1]`` at which the OU time is ``t``.

    Notes
    -----
    Positive root of ``¼Δβ s² + ½β_min s - t = 0`` in the cancellation-free form
    ``s = 2t / (½β_min + √(¼β_min² + Δβ t))``.
    """
    bmin, bmax = _vp_params(beta_min, beta_max)
    arr, scalar = _times(t)
    t_end = 0.5 * bmin + 0.25 * (bmax - bmin)
    if np.any(arr > t_end * (1 + 1e-12)):
        raise RegimesError(
            f"t must be <= {t_end:.6g} (the OU time at s = 1 for beta_min={bmin:g}, "
            f"beta_max={bmax:g}), got {float(np.max(arr))!r}"
        )
    den = 0.5 * bmin + np.sqrt(0.25 * bmin**2 + (bmax - bmin) * arr)
    s = np.where(arr > 0, 2.0 * arr / np.where(arr > 0, den, 1.0), 0.0)
    return _out(np.minimum(s, 1.0), scalar)


def _vp_params(beta_min, beta_max):
    bmin = check_real("beta_min", beta_min, ge=0.0)
    bmax = check_real("beta_max", beta_max, gt=0.0)
    if bmax < bmin:
        raise RegimesError(f"beta_max must be >= beta_min={bmin:g}, got {bmax:g}")
    return bmin, bmax


# ----------------------------------------------------------------------------------------------
# discrete schedules


@dataclass(frozen=True, eq=False)
class DiscreteSchedule:
    """A discrete variance-preserving schedule ``β_0 … β_{T-1}``.

    Parameters
    ----------
    name : str
        A label (``"linear"``, ``"cosine"``, ``"scaled-linear"`` or ``"custom"``).
    betas : array_like
        The β_k, each in (0, 1).

    Notes
    -----
    Step ``k`` (zero-based array index) has ``ᾱ_k = Π_{i≤k}(1 - β_i)`` and OU time
    ``t_k = -½ Σ_{i≤k} log1p(-β_i)``, computed as a cumulative sum of ``log1p`` (no underflow of
    ``ᾱ`` at the noisy end). Times increase with ``k``: step 0 is the cleanest, step ``T - 1``
    the noisiest, where the sampler starts.
    """

    name: str
    betas: np.ndarray = field(repr=False)

    def __post_init__(self):
        b = as_real_array("betas", self.betas, gt=0.0, lt=1.0, ndim=1, min_size=1)
        b = b.copy()
        b.setflags(write=False)
        object.__setattr__(self, "betas", b)

    @property
    def steps(self) -> int:
        """Number of steps T."""
        return int(self.betas.size)

    @cached_property
    def times(self) -> np.ndarray:
        """OU time ``t_k`` of every step (increasing)."""
        t = -0.5 * np.cumsum(np.log1p(-self.betas))
        t.setflags(write=False)
        return t

    @cached_property
    def alpha_bars(self) -> np.ndarray:
        """``ᾱ_k`` of every step."""
        a = np.exp(-2.0 * self.times)
        a.setflags(write=False)
        return a

    @property
    def t_min(self) -> float:
        return float(self.times[0])

    @property
    def t_max(self) -> float:
        return float(self.times[-1])

    def __repr__(self) -> str:
        return f"DiscreteSchedule(name={self.name!r}, steps={self.steps}, t_range=[{self.t_min:.6g}, {self.t_max:.6g}])"


def _linear_betas(T: int) -> np.ndarray:
    scale = 1000.0 / T
    return np.linspace(1e-4 * scale, 2e-2 * scale, T)


def _cosine_betas(T: int, s: float = 0.008) -> np.ndarray:
    k = np.arange(T + 1, dtype=np.float64)
    # ratio f(k/T)/f((k-1)/T) with f(u) = cos²(((u + s)/(1 + s))·π/2)
    ang = (k / T + s) / (1.0 + s) * (np.pi / 2.0)
    logf = 2.0 * np.log(np.cos(np.minimum(ang, np.pi / 2 - 1e-300)))
    betas = -np.expm1(logf[1:] - logf[:-1])
    return np.minimum(betas, 0.999)


def _scaled_linear_betas(T: int) -> np.ndarray:
    return np.linspace(np.sqrt(0.00085), np.sqrt(0.012), T) ** 2


_BUILDERS = {"linear": _linear_betas, "cosine": _cosine_betas, "scaled-linear": _scaled_linear_betas}


def get_schedule(schedule="linear", steps: int = 1000) -> DiscreteSchedule:
    """Build a discrete schedule by name, or wrap a user-supplied β array.

    Parameters
    ----------
    schedule : {"linear", "cosine", "scaled-linear"}, DiscreteSchedule or array_like
        ``"linear"``: DDPM (Ho et al.), ``β = linspace(1e-4, 2e-2, T)`` with both ends scaled by
        ``1000/T``. ``"cosine"``: Nichol & Dhariwal, ``f(u) = cos²(((u + 0.008)/1.008)·π/2)``,
        ``β_k = min(1 - f((k+1)/T)/f(k/T), 0.999)``. ``"scaled-linear"``: Stable Diffusion,
        ``β = linspace(√0.00085, √0.012, T)²`` (not rescaled with T). An array is taken as the β's.
    steps : int
        Number of steps T (ignored for an array or a DiscreteSchedule).

    Notes
    -----
    Reference values (linear, T = 1000): t_0 = 5.0003e-5, t_100 = 0.055387, t_500 = 1.276828,
    t_999 = 5.058857 (SPEC §1). Cosine ends near t ≈ 9.9, scaled-linear at t ≈ 2.68.
    """
    if isinstance(schedule, DiscreteSchedule):
        return schedule
    if isinstance(schedule, str):
        key = schedule.strip().lower().replace("_", "-")
        if key not in _BUILDERS:
            raise RegimesError(
                f"schedule must be one of {', '.join(SCHEDULE_NAMES)} (or an array of betas), got {schedule!r}"
            )
        T = check_int("steps", steps, ge=2)
        if key == "linear" and T <= 20:
            raise RegimesError(
                f"steps must be >= 21 for the linear schedule (its β_max = 2e-2·1000/T must stay "
                f"< 1), got {T}"
            )
        return DiscreteSchedule(key, _BUILDERS[key](T))
    return DiscreteSchedule("custom", schedule)


def time_at_step(schedule, k, steps: int = 1000):
    """OU time ``t_k`` of step(s) ``k`` (zero-based) of a discrete schedule."""
    sch = get_schedule(schedule, steps)
    karr = np.asarray(k)
    if karr.dtype.kind not in "iu":
        kf = as_real_array("step", karr)
        if np.any(kf != np.round(kf)):
            raise RegimesError(f"step must be an integer, got {kf.ravel()[np.argmax(kf != np.round(kf))]!r}")
        karr = kf.astype(np.int64)
    if np.any(karr < 0) or np.any(karr >= sch.steps):
        bad = karr[(karr < 0) | (karr >= sch.steps)].ravel()[0]
        raise RegimesError(
            f"step must be an integer in [0, {sch.steps - 1}] for the {sch.name} schedule "
            f"with {sch.steps} steps, got {int(bad)}"
        )
    out = sch.times[karr]
    return float(out) if karr.ndim == 0 else out


def step_at_time(schedule, t, steps: int = 1000, beyond: str = "raise"):
    """First step ``k`` whose time is ``>= t`` (equivalently ``ᾱ_k <= e^{-2t}``).

    Parameters
    ----------
    schedule : str, DiscreteSchedule or array_like
        See :func:`get_schedule`.
    t : float or array_like
        OU time(s), ``t >= 0``.
    steps : int
        T, for a named schedule.
    beyond : {"raise", "none"}
        What to do when ``t`` exceeds the schedule's last time ``t_{T-1}``, i.e. the event happens
        before the sampler's first step: raise :class:`RegimesError` (default) or return ``None``
        (scalar) / ``-1`` (array entries).

    Returns
    -------
    int, None or ndarray of int
    """
    sch = get_schedule(schedule, steps)
    if beyond not in ("raise", "none"):
        raise RegimesError(f"beyond must be 'raise' or 'none', got {beyond!r}")
    arr = as_real_array("t", t, ge=0.0)
    k = np.searchsorted(sch.times, arr, side="left")
    over = k >= sch.steps
    if np.any(over):
        if beyond == "raise":
            tv = float(arr[over].ravel()[0]) if arr.ndim else float(arr)
            raise RegimesError(
                f"t={tv:.6g} lies beyond the last step of the {sch.name} schedule with {sch.steps} "
                f"steps (t_max = {sch.t_max:.6g}): the event happens before the sampler's first step"
            )
        k = np.where(over, -1, k)
    if arr.ndim == 0:
        return None if int(k) < 0 else int(k)
    return k.astype(np.int64)
