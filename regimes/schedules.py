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
so ``t_k = -½ Σ_{i≤k} log1p(-β_i)``: step 0 is the cleanest (t ≈ 0) and sampling starts at
step ``T-1``. The EDM sampler counts the other way, as it runs: level ``i = 0`` is the noisiest
(``σ_max``, the first sampling step) and ``i = N-1`` the cleanest (``σ_min``); step ``i`` goes
from ``σ_i`` to ``σ_{i+1}``, the last one (``N-1``) from ``σ_min`` to ``σ_N = 0``.

Either way ``step_at_time(t)`` is the step during which ``t`` is crossed: discrete step ``k`` goes
from ``t_k`` to ``t_{k-1}`` (step 0 to the data), so it is the first ``k`` with ``t_k >= t``; EDM
step ``i`` is the last ``i`` with ``σ_i >= σ(t)`` (equivalently ``t_i >= t``). ``t = +inf`` (pure
noise) is accepted by every sampler: it comes before the first step (``None``) unless that step
itself is at ``t = +inf`` (a zero-terminal-SNR schedule). :class:`DiscreteSchedule` and
:class:`EDMSampler` answer the same questions (``name``, ``steps``, ``times``, ``t_max``,
``step_at_time(t)``, ``step_convention``), so code that locates events on a sampler
(:func:`regimes.timeline.locate_regimes`) treats both alike.

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

import math
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._errors import RegimesError
from ._validate import MAX_STEPS, as_real_array, check_choice, check_int, check_real, replace_checked, shown

#: set while :meth:`DiscreteSchedule.from_alphas_cumprod` builds its schedule: its β are derived
#: from ᾱ, so the guess "these β look like ᾱ" does not apply to them
_FROM_ALPHA_BARS: ContextVar[bool] = ContextVar("regimes_from_alpha_bars", default=False)

__all__ = [
    "EDM_DEFAULTS",
    "SCHEDULE_NAMES",
    "DiscreteSchedule",
    "EDMSampler",
    "alpha_bar",
    "betas_from_alpha_bars",
    "delta",
    "edm_sampler_sigmas",
    "edm_sigma",
    "flow_tau",
    "get_sampler",
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

SCHEDULE_NAMES = ("linear", "cosine", "scaled-linear", "vp-sde", "flow")
_TINY = float(np.finfo(np.float64).tiny)


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


def _named(param: str, what: str, value, **bounds) -> np.ndarray:
    """``as_real_array(what, value, **bounds)`` whose error also names the parameter as typed
    (``"ab: alpha_bar must be …"``)."""
    try:
        return as_real_array(what, value, **bounds)
    except RegimesError as exc:
        raise RegimesError(f"{param}: {exc}") from None


def time_from_alpha_bar(ab):
    """OU time ``t = -½ ln ᾱ`` for ``0 <= ᾱ <= 1`` (``ᾱ = 0`` → ``t = +inf``, ``ᾱ = 1`` → 0)."""
    arr = _named("ab", "alpha_bar", ab, ge=0.0, le=1.0)
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
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # -2t: -inf beyond 9e307, the limit
        out = np.where(arr == 0.0, np.inf, -2.0 * arr - np.log(-np.expm1(-2.0 * arr)))
        out = np.where(np.isposinf(arr), -np.inf, out)
    return _out(out, scalar)


def time_from_logsnr(lam):
    """OU time ``t = ½ ln(1 + e^{-λ})`` of a log-SNR ``λ`` (any real; ``+inf`` → 0, ``-inf`` → +inf)."""
    arr = _named("lam", "logsnr", lam, allow_inf=True)
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
    ``ᾱ`` at the noisy end). Times increase with ``k``: step 0 is the cleanest (t ≈ 0, the
    sampler's last step), step ``T - 1`` the noisiest, where the sampler starts. It shares with
    :class:`EDMSampler` the attributes ``name``, ``steps``, ``times``, ``t_max``,
    ``step_convention`` and the method :meth:`step_at_time`.

    A last ``β_{T-1} = 1`` is allowed: a zero-terminal-SNR schedule (Lin et al., arXiv:2305.08891;
    diffusers' ``rescale_betas_zero_snr``) has ``ᾱ_{T-1} = 0``, so its last step sits at
    ``t = +inf`` and ``t_max`` is ``inf``; every finite ``t`` then has a step. An array that looks
    like ``alphas_cumprod`` (β's non-increasing from above 0.5) is rejected: use
    :meth:`from_alphas_cumprod`, or :meth:`from_betas` when they really are β's.
    """

    name: str
    betas: np.ndarray = field(repr=False)
    #: diffusers' ``timestep_spacing`` and ``steps_offset`` of the scheduler config this schedule
    #: was read from (None / 0 otherwise): the defaults of :func:`regimes.schedule_forms.sampler_timesteps`
    timestep_spacing: str | None = None
    steps_offset: int = 0
    #: how ``timestep_spacing`` was chosen when the config did not give it (None otherwise)
    timestep_spacing_note: str | None = None
    #: the sampler rules of the diffusers scheduler class the config names
    #: (a :class:`regimes.schedule_forms.DiffusersSampler`; None: DDIMScheduler's rules)
    diffusers_sampler: object = field(default=None, repr=False)

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise RegimesError(f"name must be a string, got {self.name!r}")
        b = as_real_array("betas", self.betas, gt=0.0, le=1.0, ndim=1, min_size=1)
        if np.any(b < _TINY):  # subnormal β: t_k = -½ log1p(-β) keeps no digits (a schedule with t ≈ 0)
            k = int(np.argmax(b < _TINY))
            raise RegimesError(f"betas must be >= {_TINY:.4g} (the smallest normal float64; smaller β's give "
                               f"OU times with no precision left), got betas[{k}] = {float(b[k])!r}")
        if not _FROM_ALPHA_BARS.get() and b.size >= 2 and b[0] > 0.5 and np.all(np.diff(b) <= 0) and b[-1] < b[0]:
            raise RegimesError(
                f"betas decrease from {b[0]:.6g} to {b[-1]:.6g}: these look like alphas_cumprod "
                "(ᾱ_k, decreasing from ≈ 1), not betas; pass them as alphas_cumprod "
                "(DiscreteSchedule.from_alphas_cumprod, or --alphas-cumprod FILE on the CLI); if they "
                "really are β's, use DiscreteSchedule.from_betas (on the CLI: their ᾱ_k = Π_{i≤k}(1 − β_i) "
                "with --alphas-cumprod FILE)"
            )
        if np.any(b[:-1] >= 1.0):
            k = int(np.argmax(b[:-1] >= 1.0))
            raise RegimesError(
                f"betas must be < 1 except the last (β = 1 there is a zero-terminal-SNR schedule), "
                f"got betas[{k}] = {float(b[k])!r}"
            )
        b = b.copy()
        b.setflags(write=False)
        object.__setattr__(self, "betas", b)

    @classmethod
    def from_betas(cls, betas, name: str = "custom") -> "DiscreteSchedule":
        """The schedule of these β's, taken as β's even when they look like ``alphas_cumprod``.

        ``DiscreteSchedule(name, betas)`` refuses β's that are non-increasing from above 0.5 (the
        usual sign of ``alphas_cumprod`` passed as β's); this constructor says that they are β's.
        Every other check applies.
        """
        token = _FROM_ALPHA_BARS.set(True)
        try:
            return cls(name, betas)
        finally:
            _FROM_ALPHA_BARS.reset(token)

    @classmethod
    def from_alphas_cumprod(cls, alphas_cumprod, name: str = "custom") -> "DiscreteSchedule":
        """The schedule whose ``ᾱ_k`` (diffusers' ``alphas_cumprod``) are given.

        ``ᾱ`` must decrease strictly from ``ᾱ_0 < 1``; only the last may be 0 (zero terminal
        SNR: ``t_{T-1} = +inf``). ``β_0 = 1 - ᾱ_0`` and ``β_k = 1 - ᾱ_k/ᾱ_{k-1}``.
        """
        a = as_real_array("alphas_cumprod", alphas_cumprod, ge=0.0, le=1.0, ndim=1, min_size=1)
        if a.size >= 2 and a[0] < 0.5 and np.all(np.diff(a) > 0):
            raise RegimesError(
                f"alphas_cumprod increase from {a[0]:.6g} to {a[-1]:.6g}: these look like betas; "
                "pass them as betas (get_schedule(array), or --betas FILE on the CLI)"
            )
        if a.size >= 2 and np.any(np.diff(a) >= 0):
            k = int(np.argmax(np.diff(a) >= 0))
            raise RegimesError(
                f"alphas_cumprod must decrease strictly, got ᾱ[{k}] = {float(a[k])!r} <= ᾱ[{k + 1}] = "
                f"{float(a[k + 1])!r}"
            )
        if a[0] >= 1.0 or np.any(a[:-1] <= 0.0):
            raise RegimesError(
                "alphas_cumprod must lie in (0, 1) (only the last may be 0, a zero-terminal-SNR "
                f"schedule), got ᾱ[0] = {float(a[0])!r}, min = {float(a.min())!r}"
            )
        return cls.from_betas(betas_from_alpha_bars(a), name)  # these β came from ᾱ: not the user's ᾱ passed as β

    @property
    def steps(self) -> int:
        """Number of steps T."""
        return int(self.betas.size)

    @cached_property
    def times(self) -> np.ndarray:
        """OU time ``t_k`` of every step (increasing)."""
        with np.errstate(divide="ignore"):  # β = 1 (zero terminal SNR): t = +inf at the last step
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
        """OU time of the noisiest step ``T - 1``, where sampling starts (``inf`` at zero terminal SNR)."""
        return float(self.times[-1])

    @property
    def step_convention(self) -> str:
        """The step numbering and the rule of :meth:`step_at_time`, in words."""
        return "zero-based k, first k with t_k >= t (k counts from the data end)"

    def step_at_time(self, t):
        """First step ``k`` whose time is ``>= t`` (``ᾱ_k <= e^{-2t}``); ``k`` counts from the data end.

        Parameters
        ----------
        t : float or array_like
            OU time(s), ``t >= 0``.

        Returns
        -------
        int, None or ndarray of int
            ``None`` (``-1`` in an array) when ``t > t_max``: the event happens before the
            sampler's first step. A ``t`` below ``t_0`` gives 0, the sampler's last step (from
            ``t_0`` to the data). ``t = +inf`` is accepted: ``None``, unless the last step is at
            ``t = +inf`` (zero terminal SNR), which it then is.
        """
        arr = as_real_array("t", t, ge=0.0, allow_inf=True)
        k = np.searchsorted(self.times, arr, side="left")
        k = np.where(k >= self.steps, -1, k)
        if arr.ndim == 0:
            return None if int(k) < 0 else int(k)
        return k.astype(np.int64)

    def __repr__(self) -> str:
        return f"DiscreteSchedule(name={self.name!r}, steps={self.steps}, t_range=[{self.t_min:.6g}, {self.t_max:.6g}])"


def _linear_betas(T: int) -> np.ndarray:
    """The named ``linear`` schedule: ``linspace(1e-4, 2e-2, T)`` with both ends scaled by ``1000/T``.

    This is the rule of improved DDPM (Nichol & Dhariwal's ``get_named_beta_schedule``), which keeps
    the product of the β's, and so the last time ``t_{T-1}``, about the same for every T. It is **not**
    diffusers' ``beta_schedule="linear"``, which is ``linspace(beta_start, beta_end, T)`` un-rescaled
    for every T (the two agree only at T = 1000): for a diffusers model trained with
    ``num_train_timesteps = T != 1000`` read its config
    (:func:`regimes.schedule_forms.schedule_from_diffusers_config`; ``--scheduler-config`` on the CLI)
    or pass its β's. β_max = 2e-2·1000/T reaches 1 at T = 20, so T >= 21 is required.
    """
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


def _betas_from_times(t: np.ndarray) -> np.ndarray:
    """β_k = 1 − ᾱ_k/ᾱ_{k−1} = −expm1(−2(t_k − t_{k−1})) of increasing OU times (t_{−1} = 0)."""
    with np.errstate(invalid="ignore"):
        gaps = np.diff(np.concatenate([[0.0], t]))
    gaps[np.isinf(t)] = np.inf  # a last step at t = ∞ (zero terminal SNR): β = 1
    return -np.expm1(-2.0 * gaps)


def _vp_sde_betas(T: int) -> np.ndarray:
    """The continuous VP-SDE (β_min = 0.1, β_max = 20, Song et al.) at s_k = (k + 1)/T."""
    return _betas_from_times(time_from_vp_sde(np.arange(1, T + 1) / T))


def _flow_betas(T: int) -> np.ndarray:
    """Rectified flow / flow matching x_τ = (1 − τ)x_0 + τn at τ_k = (k + 1)/T; the last step (τ = 1)
    is pure noise, t = ∞ (zero terminal SNR)."""
    return _betas_from_times(time_from_flow_tau(np.arange(1, T + 1) / T))


_BUILDERS = {"linear": _linear_betas, "cosine": _cosine_betas, "scaled-linear": _scaled_linear_betas,
             "vp-sde": _vp_sde_betas, "flow": _flow_betas}


def get_schedule(schedule="linear", steps: int = 1000) -> DiscreteSchedule:
    """Build a discrete schedule by name, or wrap a user-supplied β array.

    Parameters
    ----------
    schedule : {"linear", "cosine", "scaled-linear"}, DiscreteSchedule or array_like
        ``"linear"``: DDPM (Ho et al.), ``β = linspace(1e-4, 2e-2, T)`` with both ends scaled by
        ``1000/T`` (improved DDPM's rule; T >= 21). For T != 1000 this is not diffusers'
        ``beta_schedule="linear"`` (``linspace(1e-4, 0.02, T)`` at every T): read such a model's
        config with :func:`regimes.schedule_forms.schedule_from_diffusers_config` (CLI:
        ``--scheduler-config``) or pass its β's.
        ``"cosine"``: Nichol & Dhariwal, ``f(u) = cos²(((u + 0.008)/1.008)·π/2)``,
        ``β_k = min(1 - f((k+1)/T)/f(k/T), 0.999)``. ``"scaled-linear"``: Stable Diffusion,
        ``β = linspace(√0.00085, √0.012, T)²`` (not rescaled with T). An array is taken as the β's.
    steps : int
        Number of steps T (ignored for an array or a DiscreteSchedule).

    Notes
    -----
    Reference values (linear, T = 1000): t_0 = 5.0003e-5, t_100 = 0.055387, t_500 = 1.276828,
    t_999 = 5.058857 (docs/conventions.md). Cosine ends near t ≈ 9.9, scaled-linear at t ≈ 2.68.
    """
    if isinstance(schedule, DiscreteSchedule):
        return schedule
    if isinstance(schedule, str):
        key = schedule.strip().lower().replace("_", "-")
        if key not in _BUILDERS:
            raise RegimesError(
                f"schedule must be one of {', '.join(SCHEDULE_NAMES)} (or an array of betas), got {schedule!r}"
            )
        T = check_steps(steps)
        if key == "linear" and T <= 20:
            raise RegimesError(
                f"steps must be >= 21 for the linear schedule, got {T}: its β's are linspace(1e-4, 2e-2, T) "
                f"scaled by 1000/T (improved DDPM's rule), so β_max = 2e-2·1000/{T} = {20.0 / T:.3g} would "
                "not be < 1. That is not diffusers' beta_schedule 'linear' (linspace(1e-4, 0.02, T), never "
                "rescaled): for a diffusers model give its diffusers config or its β's instead "
                "(scheduler_config=, betas=)"
            )
        return DiscreteSchedule(key, _BUILDERS[key](T))
    _refuse_scalar_schedule(schedule)
    try:
        return DiscreteSchedule("custom", schedule)
    except RegimesError as exc:  # the β's checks, said of the parameter the array was given as
        raise RegimesError(f"schedule (an array of betas): {exc}") from None


def _refuse_scalar_schedule(schedule, edm: bool = False) -> None:
    """A number, None or any non-array given as a schedule: refused naming ``schedule`` (not the
    ``betas`` an array would be taken as)."""
    try:
        scalar = np.ndim(schedule) == 0
    except Exception:  # noqa: BLE001 - ragged input: left to the β check, which names it
        scalar = False
    if scalar:
        names = ", ".join(SCHEDULE_NAMES) + (", edm" if edm else "")
        objs = "a DiscreteSchedule, an EDMSampler" if edm else "a DiscreteSchedule"
        raise RegimesError(f"schedule must be a name ({names}), {objs} or an array of betas, got {schedule!r}")


def betas_from_alpha_bars(alpha_bars) -> np.ndarray:
    """``β_0 = 1 − ᾱ_0``, ``β_k = 1 − ᾱ_k/ᾱ_{k−1}``: the β's of a sequence of ᾱ_k.

    Parameters
    ----------
    alpha_bars : array_like
        ``ᾱ_k``, 1-D, non-empty, in ``(0, 1]`` and non-increasing; only the last may be 0 (zero
        terminal SNR: ``β_{T-1} = 1``).

    Returns
    -------
    ndarray
        The β's, each in ``[0, 1]``.
    """
    alpha_bars = as_real_array("alpha_bars", alpha_bars, ge=0.0, le=1.0, ndim=1, min_size=1)
    if np.any(alpha_bars[:-1] <= 0.0):
        k = int(np.argmax(alpha_bars[:-1] <= 0.0))
        raise RegimesError(f"alpha_bars must be > 0 except the last (ᾱ = 0 there is zero terminal SNR), "
                           f"got alpha_bars[{k}] = {float(alpha_bars[k])!r}")
    if np.any(alpha_bars[1:] > alpha_bars[:-1]):
        k = int(np.argmax(alpha_bars[1:] > alpha_bars[:-1]))
        raise RegimesError(f"alpha_bars must be non-increasing (β = 1 − ᾱ_k/ᾱ_(k−1) >= 0), got alpha_bars[{k}] = "
                           f"{float(alpha_bars[k])!r} < alpha_bars[{k + 1}] = {float(alpha_bars[k + 1])!r}")
    out = np.empty_like(alpha_bars)
    out[0] = 1.0 - alpha_bars[0]
    out[1:] = 1.0 - alpha_bars[1:] / alpha_bars[:-1]
    return out


def check_steps(steps, name: str = "steps") -> int:
    """``steps`` as an int in [2, MAX_STEPS] (its arrays are a few float64 per step)."""
    T = check_int(name, steps, ge=2)
    if T > MAX_STEPS:
        digits = len(str(T))  # integer arithmetic only: 10**400 is no float
        size = f"{T * 40 / 2**30:.3g} GB" if digits < 300 else f"about 10^{digits - 9} GB"
        count = str(T) if digits <= 20 else f"about 10^{digits - 1}"
        raise RegimesError(f"{name} must be <= {MAX_STEPS} (a schedule of {count} steps would need "
                           f"{size}), got {shown(T)}")
    return T


def time_at_step(schedule, k, steps: int = 1000):
    """OU time ``t_k`` of step(s) ``k`` (zero-based) of a discrete schedule."""
    sch = get_schedule(schedule, steps)
    if isinstance(k, int | np.integer) and not isinstance(k, bool) and not 0 <= int(k) < sch.steps:
        raise RegimesError(  # a Python int beyond int64 is echoed as given (or its size), not as a float
            f"step must be an integer in [0, {sch.steps - 1}] for the {sch.name} schedule "
            f"with {sch.steps} steps, got {shown(int(k))} (step index k)"
        )
    karr = np.asarray(k)
    if karr.dtype.kind not in "iu":
        try:  # k itself: np.asarray(None) would read as NaN
            kf = as_real_array("step", k)
        except RegimesError as exc:  # "step must be …" (the CLI's --step/-k), then the parameter's name
            raise RegimesError(f"{exc} (step index k)") from None
        if np.any(kf != np.round(kf)):
            bad = float(kf.ravel()[np.argmax(kf != np.round(kf))])
            raise RegimesError(f"step must be an integer, got {bad!r} (step index k)")
        karr = np.clip(kf, -1, sch.steps).astype(np.int64)  # no int64 overflow for k = 1e30
    else:
        kf = karr
    if np.any(karr < 0) or np.any(karr >= sch.steps):
        bad = kf[(karr < 0) | (karr >= sch.steps)].ravel()[0]
        raise RegimesError(
            f"step must be an integer in [0, {sch.steps - 1}] for the {sch.name} schedule "
            f"with {sch.steps} steps, got {bad:.6g} (step index k)"
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
        OU time(s), ``t >= 0``; ``+inf`` (pure noise) lies beyond every finite last step.
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
    check_choice("beyond", beyond, ("raise", "none"), quoted=True)
    arr = as_real_array("t", t, ge=0.0, allow_inf=True)
    k = sch.step_at_time(np.atleast_1d(arr)).reshape(arr.shape)  # -1: beyond the last step
    over = k < 0
    if beyond == "raise" and np.any(over):
        tv = float(arr[over].ravel()[0]) if arr.ndim else float(arr)
        raise RegimesError(
            f"t={tv:.6g} lies beyond the last step of the {sch.name} schedule with {sch.steps} "
            f"steps (t_max = {sch.t_max:.6g}): the event happens before the sampler's first step"
        )
    if arr.ndim == 0:
        return None if int(k) < 0 else int(k)
    return k


# ----------------------------------------------------------------------------------------------
# the EDM sampler

#: Defaults of the EDM sampler discretisation [EDM].
EDM_DEFAULTS = {"sigma_min": 0.002, "sigma_max": 80.0, "rho": 7.0, "steps": 18}


def crossing_step(times: np.ndarray, t):
    """The step during which OU time ``t`` is crossed, for steps numbered in sampling order
    (``times`` decreasing): the last ``i`` with ``times[i] >= t``; ``None`` (``-1`` in an array)
    when ``t`` lies beyond the first step. Shared by the EDM sampler and the sampler steps of a
    discrete schedule (:class:`regimes.schedule_forms.SamplerSteps`)."""
    arr = as_real_array("t", t, ge=0.0, allow_inf=True)
    # last i with t_i >= t: -t_i increases with i, so a right search of -t, minus one
    k = np.searchsorted(-times, -arr, side="right") - 1
    if k.ndim == 0:
        return None if int(k) < 0 else int(k)
    return k.astype(np.int64)


def edm_sampler_sigmas(
    steps: int = 18, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0
) -> np.ndarray:
    """Noise levels σ_0 > … > σ_{N−1} of the EDM sampler (then a last step to σ_N = 0).

    Notes
    -----
    ``σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ`` [EDM]; the OU time of a
    level is ``t = ½ ln(1 + σ²)``. Index i counts from the noisy end, as the sampler runs.
    When that form would lose its digits (``σ^{1/ρ}`` overflows or underflows, e.g. ρ = 10⁻³;
    ``σ_min^{1/ρ}`` is lost next to ``σ_max^{1/ρ}``, e.g. σ_max = 10²⁰⁰; or the two ends nearly
    coincide for very large ρ: whenever ρ·(σ_max/σ_min)^{1/ρ} > 10³), the same levels are computed as
    ``σ_i = σ_max·exp(ρ·log1p(f·expm1(ln(σ_min/σ_max)/ρ)))`` with ``f = i/(N−1)``, the ends set to
    ``σ_max`` and ``σ_min`` exactly.

    References
    ----------
    .. [EDM] T. Karras, M. Aittala, T. Aila, S. Laine, arXiv:2206.00364 (2022).
    """
    N = check_steps(steps)
    lo, hi = _sigma_range(sigma_min, sigma_max)
    r = check_real("rho", rho, gt=0.0)
    i = np.arange(N)
    try:
        a, b = hi ** (1 / r), lo ** (1 / r)
    except OverflowError:
        a = b = math.inf
    # the published form, as written, while it keeps its digits: a + f(b − a) carries an absolute
    # error ~ε·a, i.e. ε·a/b relative at σ_min, raised to the power ρ (ρ·a/b ≤ 10³: ≲ 2e-13)
    if math.isfinite(a) and b > 0.0 and a > b and r * (a / b) <= 1e3:
        return (a + i / (N - 1) * (b - a)) ** r
    f = i / (N - 1)
    with np.errstate(under="ignore", divide="ignore"):  # f = 1 with ρ → 0: log1p(−1); set below
        out = hi * np.exp(r * np.log1p(f * math.expm1(math.log(lo / hi) / r)))
    out[0], out[-1] = hi, lo
    return out


def _sigma_range(sigma_min, sigma_max) -> tuple[float, float]:
    """``(σ_min, σ_max)`` validated, ``0 < σ_min < σ_max``; the order is blamed on the one that was
    changed from its default (``sigma_min=1e308`` with the default σ_max: σ_min, not σ_max)."""
    lo = check_real("sigma_min", sigma_min, gt=0.0)
    hi = check_real("sigma_max", sigma_max, gt=0.0)
    if not hi > lo:
        if hi == EDM_DEFAULTS["sigma_max"] and lo != EDM_DEFAULTS["sigma_min"]:
            raise RegimesError(f"sigma_min must be < sigma_max = {hi:g}, got {lo:g}")
        raise RegimesError(f"sigma_max must be > {lo:g}, got {hi!r}")
    return lo, hi


@dataclass(frozen=True)
class EDMSampler:
    """The noise levels of the EDM sampler, located in OU time.

    Parameters
    ----------
    steps : int
        Number N of noise levels (>= 2); the sampler then takes a last step to σ_N = 0.
    sigma_min, sigma_max : float
        Smallest and largest noise level (0 < σ_min < σ_max).
    rho : float
        Exponent ρ > 0 of the level spacing.

    Notes
    -----
    ``σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ`` for ``i = 0 … N−1``
    [EDM] (:func:`edm_sampler_sigmas`); level i sits at OU time ``t_i = ½ ln(1 + σ_i²)``.
    The index counts as the sampler runs: step ``i`` goes from level ``σ_i`` to ``σ_{i+1}``;
    ``i = 0`` starts at the noisiest level σ_max, and the last step ``i = N−1`` goes from the
    cleanest level σ_min to ``σ_N = 0`` (t = 0). ``times`` therefore decrease with the index —
    the opposite order of :class:`DiscreteSchedule`, whose step 0 is the cleanest. Both share
    ``name``, ``steps``, ``times``, ``t_max``, ``step_convention`` and :meth:`step_at_time`, whose
    answer is in both the step during which a time is crossed.

    References
    ----------
    .. [EDM] T. Karras, M. Aittala, T. Aila, S. Laine, arXiv:2206.00364 (2022).
    """

    steps: int = EDM_DEFAULTS["steps"]
    sigma_min: float = EDM_DEFAULTS["sigma_min"]
    sigma_max: float = EDM_DEFAULTS["sigma_max"]
    rho: float = EDM_DEFAULTS["rho"]

    def __post_init__(self):
        object.__setattr__(self, "steps", check_steps(self.steps))
        lo, hi = _sigma_range(self.sigma_min, self.sigma_max)
        object.__setattr__(self, "sigma_min", lo)
        object.__setattr__(self, "sigma_max", hi)
        object.__setattr__(self, "rho", check_real("rho", self.rho, gt=0.0))

    def replace(self, **changes) -> EDMSampler:
        """A copy with ``changes`` applied (validated; the object itself is immutable; an unknown
        field is a :class:`RegimesError` listing the allowed ones)."""
        return replace_checked(self, changes)

    @property
    def name(self) -> str:
        return "edm"

    @cached_property
    def sigmas(self) -> np.ndarray:
        """Noise levels σ_0 > … > σ_{N−1} in sampling order."""
        s = edm_sampler_sigmas(self.steps, self.sigma_min, self.sigma_max, self.rho)
        s.setflags(write=False)
        return s

    @cached_property
    def times(self) -> np.ndarray:
        """OU time ``t_i = ½ ln(1 + σ_i²)`` of every level (decreasing: index 0 is the noisiest).

        Evaluated as :func:`time_from_edm_sigma` does (``ln σ + ½ log1p(σ⁻²)`` for σ > 1), so that
        no σ of float64 overflows.
        """
        t = _half_log1p_sq(self.sigmas)
        t.setflags(write=False)
        return t

    @property
    def t_min(self) -> float:
        """OU time of the cleanest level σ_min (index N−1)."""
        return float(self.times[-1])

    @property
    def t_max(self) -> float:
        """OU time of the noisiest level σ_max (index 0), where sampling starts."""
        return float(self.times[0])

    @property
    def step_convention(self) -> str:
        """The step numbering and the rule of :meth:`step_at_time`, in words."""
        return (
            "EDM sampler index i = 0 … N−1 from the noise end "
            f"(σ_max = {self.sigma_max:g}, σ_min = {self.sigma_min:g}, ρ = {self.rho:g}): step i goes "
            "from σ_i to σ_{i+1}, the last (N−1) from σ_min to σ_N = 0; the step of t is the last i "
            "with σ_i ≥ σ(t) (the step during which t is crossed)"
        )

    def step_at_time(self, t):
        """The step during which ``t`` is crossed: the last ``i`` with ``σ_i >= σ(t) = √expm1(2t)``.

        Step ``i`` goes from ``σ_i`` to ``σ_{i+1}`` (``σ_N = 0``); ``i`` counts from the noise end.
        The comparison is made in OU time (``t_i >= t``, the same order), on the :attr:`times` that
        :func:`regimes.timeline.regime_steps` uses, so the two always agree.

        Parameters
        ----------
        t : float or array_like
            OU time(s), ``t >= 0``; ``+inf`` (pure noise) lies beyond σ_max.

        Returns
        -------
        int, None or ndarray of int
            ``None`` (``-1`` in an array) when ``σ(t) > σ_max``: the event happens before the
            sampler's first step. ``N − 1`` (the last step, from σ_min to σ = 0) when
            ``σ(t) < σ_min``.
        """
        return crossing_step(self.times, t)

    def __repr__(self) -> str:
        return (
            f"EDMSampler(steps={self.steps}, sigma_min={self.sigma_min:g}, "
            f"sigma_max={self.sigma_max:g}, rho={self.rho:g})"
        )


def get_sampler(sampler="linear", steps: int | None = None):
    """A discrete schedule or the EDM sampler, by name.

    Parameters
    ----------
    sampler : {"linear", "cosine", "scaled-linear", "edm"}, DiscreteSchedule, EDMSampler or array_like
        ``"edm"`` gives :class:`EDMSampler`; the other names, a :class:`DiscreteSchedule` or an
        array of β's go to :func:`get_schedule`. A sampler object is returned as is.
    steps : int, optional
        T of a discrete schedule (default 1000) or N of the EDM sampler (default 18).

    Returns
    -------
    DiscreteSchedule or EDMSampler
    """
    if isinstance(sampler, (DiscreteSchedule, EDMSampler)):
        return sampler
    if isinstance(sampler, str):
        key = sampler.strip().lower().replace("_", "-")
        if key == "edm":
            return EDMSampler(EDM_DEFAULTS["steps"] if steps is None else steps)
        if key not in SCHEDULE_NAMES:
            raise RegimesError(
                f"schedule must be one of {', '.join(SCHEDULE_NAMES)} or edm, got {sampler!r}"
            )
        sampler = key
    else:
        _refuse_scalar_schedule(sampler, edm=True)
    return get_schedule(sampler, 1000 if steps is None else steps)
