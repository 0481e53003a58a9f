"""The exact empirical score: posterior weights, optimal denoiser, and a sampler built on them.

With n training points a^μ the exactly learned (empirical) score is that of the mixture
``P^e_t(x) = (1/n) Σ_μ N(x; e^{-t} a^μ, Δ_t I)``, ``Δ_t = 1 − e^{−2t}`` (OU time). Everything here
is one streamed log-sum-exp over the training set's row blocks, batched over query points:

* posterior weights ``w_μ(x, t) ∝ exp(−|x − e^{−t}a^μ|²/(2Δ_t))``;
* posterior mean (optimal denoiser) ``E[x_0 | x_t = x] = Σ_μ w_μ a^μ``;
* score ``∇ log P^e_t(x) = −(x − e^{−t} Σ_μ w_μ a^μ)/Δ_t``;
* EDM's denoiser ``D(x; σ) = Σ_μ softmax_μ(−|x − a^μ|²/(2σ²)) a^μ`` (variance-exploding form,
  ``σ² = e^{2t} − 1``);
* a draw of μ from the weights (Gumbel-max, streamed) and the nearest training point;
* :func:`sample_exact_score`: DDIM (probability-flow ODE), DDPM ancestral or EDM Heun sampling
  with the exact denoiser. With fine steps every sample lands on a training point: the exact
  score memorises by construction.

Numerics
--------
The logits are formed as ``(c x'·a' − ½c²|a'|²)/v`` (c = e^{−t}, v = Δ_t; c = 1, v = σ² for EDM)
with the row-constant ``−|x'|²/(2v)`` dropped (it cancels in the normalisation), in float64, with
``a' = a − o``, ``x' = x − c·o`` and o the data's mean when the source does not centre its rows (no
cancellation against a large offset). Each block's weights are ``exp(logit − running max)``
(online log-sum-exp), so no exponent overflows at small t, where ``1/Δ_t ≈ 1/(2t)`` is large.
Data of extreme magnitude (squared norms beyond 1e±250, e.g. values ~1e154) are first multiplied
by a power of two s that brings them to O(1) (exact; results are divided by s again), and when the
logits themselves could overflow (tiny t, or such data) only their differences to the running
maximum are divided by Δ_t·s² (they round to −inf, a weight of 0, never to NaN). A time so small
that s·√Δ_t underflows is refused with a :class:`~regimes.RegimesError` naming the parameter.
For data of ordinary magnitude the results are bit for bit those of the plain formula.

Data are used as the source presents its rows: an array is taken as given (not centred);
a :class:`~regimes.data.DataSource` built with ``center=True`` hands out centred rows, and the
score is then that of the centred training set.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
.. [EDM] T. Karras, M. Aittala, T. Aila, S. Laine, "Elucidating the design space of
   diffusion-based generative models", arXiv:2206.00364 (2022).
.. [DDIM] J. Song, C. Meng, S. Ermon, "Denoising diffusion implicit models", arXiv:2010.02502.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .._errors import RegimesError
from .._validate import (
    MAX_SAMPLES,
    MAX_STEPS,
    as_real_array,
    check_bool,
    check_choice,
    check_int,
    check_memory,
    check_real,
    check_rng,
)
from ..data.source import DataSource, as_source

__all__ = ["SAMPLERS", "EmpiricalScore", "edm_denoiser", "empirical_score", "posterior_mean",
           "posterior_weights", "reverse_step", "sample_exact_score"]

#: samplers of :func:`sample_exact_score`
SAMPLERS = ("ddim", "ddpm", "heun-edm")

#: training data up to this many bytes (float64) are kept in memory between calls
_CACHE_BYTES = 256 * 2**20
#: query rows × block rows of one logit matrix
_LOGIT_ELEMS = 4_000_000


def _frame_scale(src) -> float:
    """1.0 for data of ordinary magnitude (results bit for bit as without scaling); otherwise a
    power of two s that brings the centred rows to O(1) (an exact scaling), so that no squared norm
    overflows (values ~1e154) or underflows (values ~1e-154)."""
    sq = np.asarray(src.centred_sq_norms)
    top = float(np.max(sq)) if sq.size else 0.0
    if 1e-250 < top < 1e250:
        return 1.0
    tv = float(src.total_variance)
    if np.isfinite(tv) and tv > 0:
        return float(src.working_scale)
    big = 0.0
    for _, _, B in src.blocks():  # the centred rows' largest magnitude (the variance overflows)
        C = B.astype(np.float64) - src.working_shift
        big = max(big, float(np.max(np.abs(C))))
    if not (np.isfinite(big) and big > 0):
        raise src.too_large("the exact empirical score")
    return float(2.0 ** -(int(np.frexp(big)[1]) + int(np.ceil(0.5 * np.log2(src.d)))))


def _logits(xq, A, asq, c, v):
    """``(c x'·a' − ½c²|a'|²)/v`` for a block of queries × a block of training rows (float64)."""
    L = xq @ A.T
    L *= c / v
    L -= (0.5 * c * c / v) * asq[None, :]
    return L


class EmpiricalScore:
    """The exact empirical score of a training set, evaluated block by block.

    Parameters
    ----------
    data : DataSource or array_like, shape (n, d)
        Training points a^μ (an array is taken as given: no centring, no rescaling).
    block_rows : int, optional
        Training rows per block (default: about 32 MB of float64 per block).

    Notes
    -----
    Building it reads the data once (validation); the blocks are kept in memory when they take
    at most 256 MB in float64, else every evaluation streams them again from the source.
    All methods take ``x`` of shape (d,) or (m, d) and return float64.
    """

    def __init__(self, data, *, block_rows: int | None = None):
        src = data if isinstance(data, DataSource) else as_source(data, center=False, name="data")
        self.src = src
        self.n, self.d = src.n, src.d
        self.offset = np.asarray(src.working_shift, dtype=np.float64)
        if not np.all(np.isfinite(self.offset)):
            raise src.too_large("the exact empirical score (the data's mean overflows)")
        self.scale = _frame_scale(src)
        self.rows = (src.block_rows() if block_rows is None else check_int("block_rows", block_rows, ge=1))
        self._cache = None
        if src.n * src.d * 8 <= _CACHE_BYTES:
            self._cache = list(self._read())
        self.amax = max(float(asq.max()) for _, _, _, asq in self.blocks())  # max |s(a − o)|²
        self.labels = src.labels

    def _read(self):
        for s, e, B in self.src.blocks(self.rows):
            A = B.astype(np.float64)
            A -= self.offset
            if self.scale != 1.0:
                A *= self.scale
            yield s, e, A, np.einsum("ij,ij->i", A, A)

    def blocks(self):
        """``(start, stop, s(a − o), |s(a − o)|²)`` over the training rows (float64; o the offset, s
        the power-of-two :attr:`scale`, 1 for data of ordinary magnitude)."""
        return iter(self._cache) if self._cache is not None else self._read()

    # -- input checks ---------------------------------------------------------------------
    def _x(self, x, name="x"):
        arr = as_real_array(name, x)
        one = arr.ndim == 1
        arr2 = arr.reshape(1, -1) if one else arr
        if arr2.ndim != 2 or arr2.shape[1] != self.d:
            raise RegimesError(f"{name} must have shape (d,) or (m, d) with d = {self.d}, got {arr.shape}")
        return arr2, one

    def _frame(self, x, c, v, what):
        """Queries in the frame (``s(x − c·o)``) and ``(tau, f)``: the logits are
        ``_logits(xq, A, asq, c, tau)``, and their differences to the running maximum are multiplied
        twice by ``f`` before the exponential. Ordinary magnitudes: tau = v·s², f = 1 (the logits
        themselves, as without scaling). When those logits could overflow (tiny t, huge values):
        tau = 1 and f = 1/(s√v), so that the differences (≤ 0) become ``(L − max)/(v s²)`` or −inf
        (a weight of 0), never NaN."""
        xq = x - c * self.offset
        if self.scale != 1.0:
            xq *= self.scale
        with np.errstate(over="ignore", under="ignore"):
            s2v = v * self.scale * self.scale
            xmax = float(np.max(np.einsum("ij,ij->i", xq, xq))) if xq.size else 0.0
            if not np.isfinite(xmax):
                raise RegimesError("x: values too large for the exact score of these data (|x| overflows in "
                                   "float64 after centring on the data's mean); rescale x and the data together")
            top = c * np.sqrt(xmax * self.amax) + 0.5 * c * c * self.amax + 1.0
            if s2v > 0 and top / s2v < 1e300:
                return xq, s2v, 1.0
            f = 1.0 / (self.scale * np.sqrt(v))
        if not np.isfinite(f):
            raise RegimesError(f"{what}: too small for data of this magnitude (Δ = {v:.3g} with the data's "
                               f"power-of-two scale s = {self.scale:.3g}: s·√Δ underflows); use a larger {what} "
                               "or rescale the data")
        return xq, 1.0, float(f)

    # -- the streamed pass ----------------------------------------------------------------
    def _pass(self, x, c, v, *, mean=False, gumbel=None, argmax=False, what="t"):
        """One pass: per query row the log-normaliser (as ``(reference, log-sum, f)``: see
        :meth:`_frame`), and optionally Σ w a (``mean``), a draw of μ ~ w (``gumbel``: a Generator)
        or the argmax of the logits (``argmax``). A draw or an argmax alone skips the exponentials
        (the log-sum is then NaN)."""
        need_lse = mean or (gumbel is None and not argmax)
        m = x.shape[0]
        xq, tau, f = self._frame(x, c, v, what)
        q = max(1, min(m, _LOGIT_ELEMS // max(1, min(self.rows, self.n))))
        ref, lsum = np.empty(m), np.empty(m)
        S = np.empty((m, self.d)) if mean else None
        idx = np.empty(m, dtype=np.int64) if (gumbel is not None or argmax) else None
        with np.errstate(over="ignore") if f != 1.0 else contextlib.nullcontext():  # (L − max)·f² → −inf: w = 0
            for a in range(0, m, q):
                self._rows_pass(xq, a, min(m, a + q), c, tau, f, S, idx, ref, lsum, need_lse, gumbel)
        return (ref, lsum, f), S, idx

    def _rows_pass(self, xq, a, b, c, tau, f, S, idx, ref, lsum, need_lse, gumbel):
        """The streamed pass of :meth:`_pass` for query rows ``a:b`` (writes into its arrays)."""
        mean = S is not None
        mx = np.full(b - a, -np.inf)
        s1 = np.zeros(b - a)
        acc = np.zeros((b - a, self.d)) if mean else None
        best = np.full(b - a, -np.inf)
        for s, _e, A, asq in self.blocks():
            L = _logits(xq[a:b], A, asq, c, tau)
            m_new = np.maximum(mx, L.max(axis=1))
            if idx is not None:
                if f == 1.0:  # keys are the logits themselves
                    key = L if gumbel is None else L + gumbel.gumbel(size=L.shape)
                else:  # keys relative to the running maximum, the kept best shifted with it
                    best += (mx - m_new) * f * f
                    key = (L - m_new[:, None]) * f * f
                    if gumbel is not None:
                        key += gumbel.gumbel(size=L.shape)
                j = np.argmax(key, axis=1)
                kj = key[np.arange(b - a), j]
                better = kj > best
                best[better] = kj[better]
                idx[a:b][better] = s + j[better]
            if need_lse:
                r = np.exp(mx - m_new) if f == 1.0 else np.exp((mx - m_new) * f * f)
                np.subtract(L, m_new[:, None], out=L)
                if f != 1.0:
                    L *= f
                    L *= f
                np.exp(L, out=L)
                s1 = s1 * r + L.sum(axis=1)
                if mean:
                    acc *= r[:, None]
                    acc += L @ A
            mx = m_new
        ref[a:b], lsum[a:b] = mx, (np.log(s1) if need_lse else np.nan)
        if mean:
            Sa = acc / s1[:, None]
            if self.scale != 1.0:
                Sa /= self.scale
            S[a:b] = Sa + self.offset

    @staticmethod
    def _cv(t):
        t = check_real("t", t, gt=0.0)
        return float(np.exp(-t)), float(-np.expm1(-2.0 * t))

    # -- public evaluations ---------------------------------------------------------------
    def weights(self, x, t):
        """Posterior weights ``w_μ(x, t)``, shape (m, n) (or (n,)); dense: m·n·8 bytes."""
        X, one = self._x(x)
        c, v = self._cv(t)
        (ref, lsum, f), _, _ = self._pass(X, c, v)
        xq, tau, _ = self._frame(X, c, v, "t")
        W = np.empty((X.shape[0], self.n))
        for s, e, A, asq in self.blocks():
            L = _logits(xq, A, asq, c, tau)
            if f == 1.0:
                W[:, s:e] = np.exp(L - (ref + lsum)[:, None])
            else:
                with np.errstate(over="ignore"):
                    W[:, s:e] = np.exp((L - ref[:, None]) * f * f - lsum[:, None])
        return W[0] if one else W

    def mean(self, x, t):
        """Posterior mean (optimal denoiser) ``E[x_0 | x_t = x] = Σ_μ w_μ(x, t) a^μ``."""
        X, one = self._x(x)
        c, v = self._cv(t)
        S = self._pass(X, c, v, mean=True)[1]
        return S[0] if one else S

    def score(self, x, t):
        """Score ``∇ log P^e_t(x) = −(x − e^{−t} E[x_0 | x])/Δ_t``."""
        X, one = self._x(x)
        c, v = self._cv(t)
        S = self._pass(X, c, v, mean=True)[1]
        with np.errstate(over="ignore"):
            G = -(X - c * S) / v
        if not np.all(np.isfinite(G)):
            raise RegimesError(f"t = {t!r} is too small for the score: (x − e^(−t)x̂)/Δ_t overflows float64 "
                               f"(Δ_t = {v:.3g}); use a larger t")
        return G[0] if one else G

    def denoise(self, x, sigma):
        """EDM's optimal denoiser ``D(x; σ) = Σ_μ softmax_μ(−|x − a^μ|²/(2σ²)) a^μ`` ([EDM])."""
        X, one = self._x(x)
        sigma = check_real("sigma", sigma, gt=0.0)
        S = self._pass(X, 1.0, sigma * sigma, mean=True, what="sigma")[1]
        return S[0] if one else S

    def draw(self, x, t, rng=None):
        """Training index μ drawn from ``w_μ(x, t)`` for every row (Gumbel-max, streamed)."""
        X, one = self._x(x)
        c, v = self._cv(t)
        idx = self._pass(X, c, v, gumbel=check_rng(rng))[2]
        return int(idx[0]) if one else idx

    def nearest(self, x):
        """Index of the nearest training point (Euclidean) of every row."""
        X, one = self._x(x)
        idx = self._pass(X, 1.0, 1.0, argmax=True, what="scale")[2]
        return int(idx[0]) if one else idx


def posterior_weights(data, x, t):
    """Posterior weights ``w_μ(x, t) ∝ exp(−|x − e^{−t}a^μ|²/(2Δ_t))`` (see :class:`EmpiricalScore`)."""
    return EmpiricalScore(data).weights(x, t)


def posterior_mean(data, x, t):
    """``E[x_0 | x_t = x] = Σ_μ w_μ(x, t) a^μ``: the optimal denoiser in OU time ([DR])."""
    return EmpiricalScore(data).mean(x, t)


def empirical_score(data, x, t):
    """The exact empirical score ``−(x − e^{−t} Σ_μ w_μ a^μ)/Δ_t`` ([DR])."""
    return EmpiricalScore(data).score(x, t)


def edm_denoiser(data, x, sigma):
    """EDM's optimal denoiser ``D(x; σ)`` of the training set ([EDM])."""
    return EmpiricalScore(data).denoise(x, sigma)


# ---------------------------------------------------------------------------------- sampler
def _grid(sampler, steps, schedule):
    """Times (decreasing, ending at 0) for ddim/ddpm; EDM σ's (decreasing, ending at 0) for heun-edm."""
    from ..schedules import get_sampler

    if sampler == "heun-edm":
        sch = get_sampler("edm", 18 if steps is None else steps)
        return np.concatenate([sch.sigmas, [0.0]])
    sch = get_sampler(schedule, 1000 if steps is None else steps)
    return np.concatenate([np.asarray(sch.times)[::-1], [0.0]])


def reverse_step(es, x, t: float, s: float, *, stochastic: bool, rng=None):
    """One step of the backward dynamics with the exact denoiser, from OU time t down to s < t.

    The x_0-prediction is x̂ = E[x_0|x_t = x]. Deterministic (DDIM, the discretised probability-flow
    ODE): ``ε̂ = (x − e^{−t}x̂)/√Δ_t``, ``x_s = e^{−s}x̂ + √Δ_s ε̂``. Stochastic (DDPM ancestral): a
    draw from ``q(x_s | x_t, x̂)``, the Gaussian with mean ``(e^{−s}Δ_{t|s}/Δ_t) x̂ + (e^{−(t−s)}Δ_s/Δ_t) x``
    and variance ``Δ_s Δ_{t|s}/Δ_t``, ``Δ_{t|s} = 1 − e^{−2(t−s)}``. A step to s = 0 returns x̂.
    """
    stochastic = check_bool("stochastic", stochastic)
    xh = es.mean(x, t)
    if s == 0.0:
        return xh
    dt_, ds_ = -np.expm1(-2 * t), -np.expm1(-2 * s)
    if not stochastic:
        eps = (x - np.exp(-t) * xh) / np.sqrt(dt_)
        return np.exp(-s) * xh + np.sqrt(ds_) * eps
    dts = -np.expm1(-2 * (t - s))
    mu = (np.exp(-s) * dts / dt_) * xh + (np.exp(-(t - s)) * ds_ / dt_) * x
    return mu + np.sqrt(ds_ * dts / dt_) * rng.standard_normal(x.shape)


def sample_exact_score(data, n_samples: int, *, sampler: str = "ddim", steps: int | None = None,
                       schedule: str = "linear", rng=0, return_trajectory: bool = False):
    """Generate samples from the exact empirical score of ``data``.

    Parameters
    ----------
    data : DataSource, EmpiricalScore or array_like, shape (n, d)
        Training set (an array is taken as given).
    n_samples : int
        Number of samples.
    sampler : {"ddim", "ddpm", "heun-edm"}
        ``"ddim"``: deterministic DDIM (η = 0), the discretised probability-flow ODE;
        ``"ddpm"``: ancestral sampling; both on the steps of ``schedule`` from its noisiest step
        to t = 0, starting from N(0, I). ``"heun-edm"``: EDM's deterministic Heun sampler on
        its σ levels (σ_max = 80 … σ_min = 0.002, ρ = 7), starting from N(0, σ_max² I), in the
        variance-exploding frame (the returned samples are in data units either way).
    steps : int, optional
        Steps of the schedule (default 1000) or EDM levels (default 18).
    schedule : str
        Discrete schedule for ddim/ddpm (``linear``, ``cosine``, ``scaled-linear``).
    rng : int or Generator
        Seed.
    return_trajectory : bool
        Also return the list of states after every step.

    Returns
    -------
    ndarray, shape (n_samples, d) (and the trajectory when asked)

    Notes
    -----
    The x_0-prediction is the exact posterior mean x̂ = E[x_0|x_t]; DDIM and DDPM steps are
    :func:`reverse_step` (deterministic and stochastic), both ending with a step to s = 0, which
    returns x̂.
    EDM Heun: ``d_i = (x − D(x; σ_i))/σ_i``, Euler step and trapezoidal correction, the last step
    (to σ = 0) Euler, which returns ``D(x; σ_{N−1})`` ([EDM] Algorithm 1). With fine steps the
    final weights concentrate on one training point: every sample is a copy ([DR], Regime III).
    """
    check_choice("sampler", sampler, SAMPLERS)
    m = check_int("n_samples", n_samples, ge=1, le=MAX_SAMPLES)
    if steps is not None:
        steps = check_int("steps", steps, ge=2, le=MAX_STEPS)
    return_trajectory = check_bool("return_trajectory", return_trajectory)
    gen = check_rng(rng)
    es = data if isinstance(data, EmpiricalScore) else EmpiricalScore(data)
    # the states x, x̂ and a step's temporaries: a few (n_samples, d) float64 arrays
    check_memory("n_samples", m, 4 * 8.0 * m * es.d, what=f"({m}, {es.d}) float64 states")
    grid = _grid(sampler, steps, schedule)
    traj = []
    if sampler == "heun-edm":
        x = grid[0] * gen.standard_normal((m, es.d))
        for s_i, s_j in zip(grid[:-1], grid[1:], strict=True):
            di = (x - es.denoise(x, s_i)) / s_i
            xn = x + (s_j - s_i) * di
            if s_j > 0:
                dj = (xn - es.denoise(xn, s_j)) / s_j
                xn = x + (s_j - s_i) * 0.5 * (di + dj)
            x = xn
            if return_trajectory:
                traj.append(x.copy())
        return (x, traj) if return_trajectory else x
    x = gen.standard_normal((m, es.d))
    for t, s in zip(grid[:-1], grid[1:], strict=True):
        x = reverse_step(es, x, t, s, stochastic=sampler == "ddpm", rng=gen)
        if return_trajectory:
            traj.append(x.copy())
    return (x, traj) if return_trajectory else x
