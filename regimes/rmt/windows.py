"""Training windows of the random-features score model read off its loss curves [WM].

The leading-order timescales τ_gen = 1/(2Δ_tΓ_t²κ_1²) and τ_mem = ψ_n/(2Δ_t v_t²)
(:class:`~regimes.rmt.RandomFeatures`) need ψ_p ≫ ψ_n ≫ 1. At finite ratios the window in which
early stopping generalises is read off the closed-form train and test loss curves of a
Gaussian-equivalent instance (A(0) = 0, gradient flow):

* **τ_best** = argmin_τ L_test(τ), the best stopping time;
* **τ_gap(ε)** = the first τ with L_test(τ) − L_train(τ) ≥ ε (default ε = 0.1, in loss units where the
  untrained loss is 1 and the learnable part is Δ_t); ``None`` when the gap never reaches ε;
* **τ_worse** = the first τ after τ_best at which L_test(τ) is back above its untrained value 1 (``None``
  when it stays below within the computed range): training that long is worse than not training.

ε is absolute while everything learnable is Δ_t, so at small t (Δ_t ≈ 2t) the default ε can exceed
what can be learnt at all: at n = 240, d = 30, p = 960, t = 0.01 the test loss is back above 1 from
τ ≈ 4900 while τ_gap(0.1) ≈ 9900. A note then says that τ_gap is no stopping time there and
suggests an ε relative to Δ_t.

**Reduced dimension.** The curves are evaluated on the (n + d)-dimensional span of the features
(exact: V and the population matrices have no component outside it), so an instance costs
O(p·min(p, n + d)²). When p·min(p, n + d) exceeds ``budget`` the instance is drawn at a reduced
dimension d' < d with the same ψ_p = p/d and ψ_n = n/d (τ is dimension-free in this convention), and
``seeds`` instances are averaged; the spread (standard deviation over the seeds) is reported as the
error bar. The curves converge as d' → ∞; the finite-d' error is instance-to-instance fluctuation
plus a finite-size bias of the slow (memorisation) modes — see the docs page of the random-matrix
layer for measured sizes.

Training-time convention: :data:`regimes.rmt.TIME_CONVENTION`.

References
----------
.. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._errors import RegimesError
from .._validate import MAX_SAMPLES, as_real_array, check_int, check_memory, check_real, check_rng
from .random_features import RandomFeatures

__all__ = [
    "DEFAULT_GAP_TOLERANCE",
    "DEFAULT_WINDOW_BUDGET",
    "MIN_WINDOW_D",
    "TrainingWindow",
    "WindowCost",
    "WindowTooSmall",
    "asymptotic_validity_note",
    "sample_window_curves",
    "training_window",
    "window_cost",
    "window_sizes",
]

#: Default ε of τ_gap (loss units: untrained loss 1, learnable part Δ_t).
DEFAULT_GAP_TOLERANCE = 0.1
#: Default bound on p·min(p, n + d) of one instance before the dimension is reduced.
DEFAULT_WINDOW_BUDGET = 300_000
_LARGE = 10.0  # ψ_n and ψ_p/ψ_n below this: the asymptotic τ_gen, τ_mem are rough


def asymptotic_validity_note(psi_n: float, psi_p: float) -> str | None:
    """A note when the leading-order τ_gen, τ_mem are used outside ψ_p ≫ ψ_n ≫ 1 (None if fine).

    ``psi_n``, ``psi_p``: reals > 0.
    """
    psi_n = check_real("psi_n", psi_n, gt=0.0)
    psi_p = check_real("psi_p", psi_p, gt=0.0)
    small = []
    if psi_n < _LARGE:
        small.append(f"ψ_n = {psi_n:.3g}")
    if psi_p / psi_n < _LARGE:
        small.append(f"ψ_p/ψ_n = {psi_p / psi_n:.3g}")
    if not small:
        return None
    return (f"τ_gen and τ_mem are leading-order asymptotics for ψ_p ≫ ψ_n ≫ 1; here "
            f"{' and '.join(small)} < {_LARGE:g}, so they are only rough references — use τ_best "
            f"and τ_gap from the loss curves")


#: the smallest reduced dimension d' whose loss curves are used: below, they are finite-size noise
#: (τ_best 1199 ± 843 against 6.35 with another seed at d' = 1)
MIN_WINDOW_D = 10


class WindowTooSmall(RegimesError):
    """The loss-curve window cannot be computed within the budget (reduced dimension < :data:`MIN_WINDOW_D`)."""


def window_sizes(n, d, p, budget=DEFAULT_WINDOW_BUDGET):
    """``(d', p', n', reduced)``: the sizes of the instances :func:`training_window` draws — the
    given ones when p·min(p, n + d) ≤ ``budget`` (and they are integers), else the largest d' ≤ d
    at the same ψ_p, ψ_n with p'·min(p', n' + d') ≤ ``budget`` (``reduced`` True). The CLI uses it
    to estimate the cost of a window before drawing it.

    ``n``, ``p``: reals > 0, ``d`` >= 1, whose ratios ψ_n = n/d, ψ_p = p/d are finite and > 0;
    ``budget``: an integer >= 100.
    """
    n, d, p, psi_p, psi_n = _check_sizes(n, d, p)
    budget = check_int("budget", budget, ge=100)

    def cost(dd):
        pp, nn = max(1, round(psi_p * dd)), max(1, round(psi_n * dd))
        return pp * min(pp, nn + dd)

    full = (int(round(d)), int(round(p)), int(round(n)))
    if cost(d) <= budget and float(full[0]) == d and float(full[1]) == p and float(full[2]) == n:
        return (*full, False)
    hi = max(1, int(math.floor(d)))
    lo = 1
    while lo < hi:  # largest d' with cost ≤ budget (cost is increasing in d')
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if cost(mid) <= budget else (lo, mid - 1)
    return lo, max(1, round(psi_p * lo)), max(1, round(psi_n * lo)), True


def _check_sizes(n, d, p):
    """``(n, d, p, ψ_p, ψ_n)``: n, p reals > 0, d >= 1 (a dimension: the instances have d' <= d),
    whose ratios are finite positive float64s."""
    n = check_real("n", n, gt=0.0)
    d = check_real("d", d, ge=1.0)
    p = check_real("p", p, gt=0.0)
    psi_p, psi_n = p / d, n / d
    for what, ratio in (("p/d (psi_p)", psi_p), ("n/d (psi_n)", psi_n)):
        if not (ratio > 0.0 and math.isfinite(ratio)):
            raise RegimesError(f"{what} must be a finite positive float64, got n={n!r}, d={d!r}, p={p!r} "
                               f"(ratio {ratio!r})")
    return n, d, p, psi_p, psi_n


def _check_instance(n, d, p, sizes, nbytes):
    """Refuse (naming the parameter as given) an instance (d', p', n') beyond
    :data:`~regimes._validate.MAX_SAMPLES` in a size, or ``nbytes`` beyond the available memory."""
    dd, pp, nn = sizes
    given = {"d": (d, dd), "p": (p, pp), "n": (n, nn)}
    for name, (value, used) in given.items():
        if used > MAX_SAMPLES:
            raise RegimesError(
                f"{name}={value:.6g} gives Gaussian-equivalent instances of d' = {dd:.4g}, p' = {pp:.4g}, "
                f"n' = {nn:.4g}; each size must be <= {MAX_SAMPLES}: use a smaller {name}")
    name = max(given, key=lambda k: given[k][1])
    check_memory(name, given[name][0], nbytes, what=f"one instance of d' = {dd}, p' = {pp}, n' = {nn}")


def _instance_bytes(dd, pp, nn, T) -> float:
    """Peak bytes of one instance of :func:`sample_window_curves` with T grid times (see
    :func:`window_cost`)."""
    dd_, pp_, nn_ = float(dd), float(pp), float(nn)
    m = min(pp_, nn_ + dd_)
    return 8.0 * (2.0 * pp_ * dd_ + dd_ * nn_ + 3.0 * pp_ * (nn_ + dd_) + 4.0 * T * m + 4.0 * m * m + dd_)


def _tau_grid(c, t: float, delta_t: float, dd, pp, nn, points_per_decade: int) -> tuple[float, float, int]:
    """``(lo, hi, points)`` of the log-τ grid of an instance (d', p', n'): from 1e-3 of the fastest
    relaxation time (the top of U's spectrum, bounded above) to 30× the slowest (1/s_t²)."""
    lam_hi = (1.0 + math.sqrt(pp / nn)) ** 2 * c.v_t2 + c.s_t2 + 2.0 * (
        c.a_t**2 * math.exp(-2 * t) * c.sigma_x2 + c.b_t**2) * (math.sqrt(pp / dd) + 1.0) ** 2
    rate = 2.0 * delta_t * dd / pp
    lo, hi = 1e-3 / (rate * lam_hi), 30.0 / (rate * c.s_t2)
    return lo, hi, max(8, int(math.ceil(points_per_decade * math.log10(hi / lo))))


@dataclass(frozen=True)
class WindowCost:
    """Result of :func:`window_cost`: the work of a :func:`training_window` before drawing it.

    Attributes
    ----------
    units : float
        Multiply-adds of dense linear algebra over all seeds (0 when no instance is drawn).
    bytes : float
        Peak memory of one instance, bytes.
    sizes : tuple of int
        ``(d', p', n')`` of the instances.
    computed : bool
        False when the window would be refused (:class:`WindowTooSmall`): nothing is drawn.
    """

    units: float
    bytes: float
    sizes: tuple
    computed: bool


def window_cost(rf: RandomFeatures, n, d, p, *, seeds: int = 4, budget: int = DEFAULT_WINDOW_BUDGET,
                points_per_decade: int = 60) -> WindowCost:
    """Estimated work and memory of :func:`training_window` at (n, d, p), without drawing anything.

    Parameters
    ----------
    rf : RandomFeatures
        The model at the window's time t and activation (its ψ's are not used).
    n, d, p : float
        As in :func:`training_window`.
    seeds, budget, points_per_decade : int
        As in :func:`training_window`.

    Returns
    -------
    WindowCost

    Notes
    -----
    Per instance of sizes (d', p', n') with m = min(p', n' + d') and T grid times: W X costs p'd'n',
    the Gram matrix of F p'·m·(n' + d'), its eigendecomposition (or QR + SVD) about 10 m³, the loss
    curves T·m²; memory 8·(2p'd' + d'n' + 3p'(n' + d') + 4Tm + 4m² + d') bytes. Measured against
    the real runs on a 2-core machine at 1.2·10⁹–4.7·10⁹ units per second.
    """
    _check_rf(rf)
    seeds = check_int("seeds", seeds, ge=1, le=1000)
    points_per_decade = check_int("points_per_decade", points_per_decade, ge=4, le=1000)
    dd, pp, nn, reduced = window_sizes(n, d, p, budget)
    if reduced and dd < min(MIN_WINDOW_D, d):
        return WindowCost(0.0, 0.0, (dd, pp, nn), False)
    c = rf.constants
    _, _, T = _tau_grid(c, rf.t, rf.delta_t, dd, pp, nn, points_per_decade)
    dd_, pp_, nn_ = float(dd), float(pp), float(nn)
    m = min(pp_, nn_ + dd_)
    units = seeds * (pp_ * m * (nn_ + dd_) + pp_ * dd_ * nn_ + 10.0 * m**3 + T * m * m)
    return WindowCost(units, _instance_bytes(dd, pp, nn, T), (dd, pp, nn), True)


def _check_rf(rf) -> None:
    if not isinstance(rf, RandomFeatures):
        raise RegimesError(f"rf must be a regimes.rmt.RandomFeatures, got {type(rf).__name__} {rf!r:.60}")


def sample_window_curves(rf: RandomFeatures, d: int, p: int, n: int, tau, rng=None) -> dict:
    r"""L_train(τ), L_test(τ) of one Gaussian-equivalent instance (d, p, n), in O(p·min(p, n+d)²).

    Same instance law as :meth:`RandomFeatures.sample_instance` (U = GGᵀ/n + b_t²WWᵀ/d + s_t²I,
    G = e^{−t}a_t WX/√d + v_tΩ, V = Ṽ = b_tW/√d, Ũ = e^{−2t}a_t²WΣWᵀ/d + (v_t² + s_t²)I + b_t²WWᵀ/d),
    evaluated in the span of F = [G/√n, b_tW/√d], where U = FFᵀ + s_t²I is diagonal after an SVD
    of F (eigh of FFᵀ when p ≤ n + d, of FᵀF otherwise); the closed forms are those of
    :meth:`GaussianEquivalentInstance.loss_curves`.

    ``rf`` a :class:`RandomFeatures`, ``d``, ``p``, ``n`` integers from 1 to
    :data:`~regimes._validate.MAX_SAMPLES`, ``tau`` finite reals >= 0 (at least one); the instance
    must fit in the available memory.
    """
    _check_rf(rf)
    d = check_int("d", d, ge=1, le=MAX_SAMPLES)
    p = check_int("p", p, ge=1, le=MAX_SAMPLES)
    n = check_int("n", n, ge=1, le=MAX_SAMPLES)
    tau = as_real_array("tau", tau, ge=0.0, min_size=1)
    _check_instance(n, d, p, (d, p, n), _instance_bytes(d, p, n, tau.size))
    gen = check_rng(rng)
    c = rf.constants
    A2 = c.a_t**2 * math.exp(-2.0 * rf.t)
    b, v2, s2 = c.b_t, c.v_t2, c.s_t2
    if not s2 > 0:
        raise RegimesError("U is not positive definite (s_t² = 0): no loss curves")
    sig = rf.sigma_eigenvalues(d)
    W = gen.standard_normal((p, d))
    X = np.sqrt(sig)[:, None] * gen.standard_normal((d, n))
    G = math.sqrt(A2) * (W @ X) / math.sqrt(d) + math.sqrt(v2) * gen.standard_normal((p, n))
    F = np.hstack([G / math.sqrt(n), (b / math.sqrt(d)) * W])
    if p <= F.shape[1]:  # U = Q diag(S² + s²) Qᵀ on the span of F
        S2, Q = np.linalg.eigh(F @ F.T)
        S2 = np.maximum(S2, 0.0)
    else:  # small Gram matrix FᵀF; QR then SVD if it is too ill-conditioned for Q = FR/S
        S2, R = np.linalg.eigh(F.T @ F)
        if S2[0] > 1e-8 * S2[-1]:
            Q = (F @ R) / np.sqrt(S2)[None, :]
        else:
            Qf, Rf = np.linalg.qr(F)
            Ur, S, _ = np.linalg.svd(Rf)
            Q, S2 = Qf @ Ur, S**2
    lam = S2 + s2
    QW = Q.T @ W / math.sqrt(d)  # m×d
    Vq = b * QW  # V = Ṽ in the eigenbasis
    Mq = A2 * (QW * sig[None, :]) @ QW.T + b**2 * QW @ QW.T + (v2 + s2) * np.eye(lam.size)
    K = Mq * (Vq @ Vq.T)  # Tr(YᵀMY) = fᵀKf for Y = diag(f)Vq
    g = np.sum(Vq * Vq, axis=1)  # row norms (Ṽ = V)
    rate = 2.0 * rf.delta_t * (d / p)  # 2Δ_t/ψ_p of this instance
    em1 = np.expm1(-rate * np.outer(tau, lam))  # E − I, shape (T, m)
    train = 1.0 + ((em1 + 2.0) * em1) @ (g / lam) / d  # E² − I = (E − I)(E + I)
    f = em1 / lam[None, :]
    test = 1.0 + (np.sum((f @ K) * f, axis=1) + 2.0 * f @ g) / d
    return {"tau": tau, "train": train, "test": test, "gen": test - train, "lam": lam}


def _tau_best(tau, test):
    """argmin on the log-τ grid, refined by a parabola through the three points around it."""
    i = int(np.argmin(test))
    if 0 < i < tau.size - 1:
        x = np.log(tau[i - 1:i + 2])
        y = test[i - 1:i + 2]
        den = (x[0] - x[1]) * (x[0] - x[2]) * (x[1] - x[2])
        a = (x[2] * (y[1] - y[0]) + x[1] * (y[0] - y[2]) + x[0] * (y[2] - y[1])) / den
        bb = (x[2] ** 2 * (y[0] - y[1]) + x[1] ** 2 * (y[2] - y[0]) + x[0] ** 2 * (y[1] - y[2])) / den
        if a > 0:
            return float(math.exp(min(max(-bb / (2 * a), x[0]), x[2])))
    return float(tau[i])


def _tau_gap(tau, gen, eps):
    """First τ with gen ≥ ε (linear in log τ between grid points), or None."""
    hit = np.nonzero(gen >= eps)[0]
    if hit.size == 0:
        return None
    j = int(hit[0])
    if j == 0:
        return float(tau[0])
    x0, x1 = math.log(tau[j - 1]), math.log(tau[j])
    y0, y1 = gen[j - 1], gen[j]
    return float(math.exp(x0 + (eps - y0) * (x1 - x0) / (y1 - y0)))


def _tau_worse(tau, test, i0):
    """First τ from grid index ``i0`` on with test ≥ 1, the untrained loss (as :func:`_tau_gap`), or None."""
    return _tau_gap(tau[i0:], test[i0:], 1.0)


def _gap_note(eps, delta_t, tau_gap, tau_worse):
    """The note when τ_gap is no useful stopping time (ε ≥ Δ_t, or τ_gap not before τ_worse), else None."""
    late = tau_worse is not None and (tau_gap is None or tau_gap >= tau_worse)
    if not (late or eps >= delta_t):
        return None
    where = (f"L_test is back above its untrained value 1 from τ ≈ {tau_worse:.4g}"
             + ("" if tau_gap is None else f", before τ_gap ≈ {tau_gap:.4g}")) if late else (
        f"ε = {eps:g} is not below the whole learnable part Δ_t = {delta_t:.3g} of the loss")
    return (f"τ_gap is not a useful stopping time here: {where}; the gap threshold ε = {eps:g} is absolute "
            f"while everything learnable at this t is Δ_t = {delta_t:.3g} — use an ε relative to Δ_t, "
            f"e.g. gap_tolerance (CLI --gap-tolerance) = Δ_t/4 = {delta_t / 4:.3g}")


@dataclass(frozen=True)
class TrainingWindow:
    """Predicted training window of the random-features model at (n, d, p, t).

    Attributes
    ----------
    tau, train, test : ndarray
        Log-spaced training times and the seed-averaged L_train, L_test there.
    tau_best, tau_gap : float, float or None
        argmin L_test and the first τ with L_test − L_train ≥ ``gap_tolerance`` (of the averaged
        curves; None when the gap never reaches it, e.g. for p ≤ n).
    tau_best_spread, tau_gap_spread : float or None
        Standard deviation of the per-seed values (None with one seed, or when a seed has no τ_gap).
    loss_at_best, loss_at_gap : dict or None
        {"train", "test", "gap"} of the averaged curves at τ_best / τ_gap, and "spread" (per-seed
        standard deviations of the same three).
    d_used, p_used, n_used : int
        Size of the instances; ``reduced`` when smaller than (d, p, n).
    tau_worse, tau_worse_spread : float or None
        First τ after τ_best at which the averaged L_test is back above its untrained value 1 (None
        when it stays below within the computed range, up to ``tau[-1]``), and the standard
        deviation of the per-seed values (None with one seed or when a seed has none).
    """

    n: float
    d: float
    p: float
    t: float
    activation: str
    gap_tolerance: float
    seeds: int
    d_used: int
    p_used: int
    n_used: int
    reduced: bool
    tau: np.ndarray
    train: np.ndarray
    test: np.ndarray
    tau_best: float
    tau_best_spread: float | None
    tau_gap: float | None
    tau_gap_spread: float | None
    loss_at_best: dict
    loss_at_gap: dict | None
    long_time_gap: float
    notes: list = field(default_factory=list)
    tau_worse: float | None = None
    tau_worse_spread: float | None = None

    def to_dict(self, curves: bool = False) -> dict:
        """JSON-ready summary (the curves only when ``curves``)."""
        out = {
            "tau_best": {"value": self.tau_best, "spread": self.tau_best_spread},
            "tau_gap": {"value": self.tau_gap, "spread": self.tau_gap_spread},
            "gap_tolerance": self.gap_tolerance,
            "loss_at_best": self.loss_at_best,
            "loss_at_gap": self.loss_at_gap,
            "long_time_gap": self.long_time_gap,
            "tau_test_above_untrained": {"value": self.tau_worse, "spread": self.tau_worse_spread,
                                         "tau_max": float(self.tau[-1])},
            "window_instances": {"d": self.d_used, "p": self.p_used, "n": self.n_used,
                                 "seeds": self.seeds, "reduced": self.reduced},
        }
        if curves:
            out["curves"] = {"tau": self.tau, "train": self.train, "test": self.test}
        return out

    @staticmethod
    def absent_dict(gap_tolerance: float) -> dict:
        """The keys of :meth:`to_dict`, null, for a window that was not computed."""
        return {"tau_best": None, "tau_gap": None, "gap_tolerance": gap_tolerance, "loss_at_best": None,
                "loss_at_gap": None, "long_time_gap": None, "tau_test_above_untrained": None,
                "window_instances": None}


def _std(vals):
    if len(vals) < 2 or any(v is None for v in vals):
        return None
    return float(np.std(np.asarray(vals, dtype=np.float64), ddof=1))


def _losses_at(tau0, tau, curves):
    """{"train", "test", "gap"} interpolated in log τ for the mean curves and the per-seed spread."""
    x = np.log(tau)

    def at(tr, te):
        a, b = (float(np.interp(math.log(tau0), x, tr)), float(np.interp(math.log(tau0), x, te)))
        return a, b, b - a

    mean = at(np.mean([c["train"] for c in curves], 0), np.mean([c["test"] for c in curves], 0))
    per = np.array([at(c["train"], c["test"]) for c in curves])
    spread = (np.std(per, axis=0, ddof=1).tolist() if len(curves) > 1 else [None] * 3)
    return {"train": mean[0], "test": mean[1], "gap": mean[2],
            "spread": dict(zip(("train", "test", "gap"), spread, strict=True))}


def training_window(n, d, p, t, activation="tanh", data_spectrum=None, *,
                    gap_tolerance: float = DEFAULT_GAP_TOLERANCE, seeds: int = 4,
                    budget: int = DEFAULT_WINDOW_BUDGET, points_per_decade: int = 60,
                    rng=0) -> TrainingWindow:
    """τ_best and τ_gap of the random-features model from its predicted loss curves.

    Parameters
    ----------
    n, d, p : float
        Training points, dimension, random features (ψ_n = n/d, ψ_p = p/d); n, p > 0, d >= 1.
        Refused (naming the parameter) when an instance would have a size beyond
        :data:`~regimes._validate.MAX_SAMPLES` or not fit in the available memory.
    t : float
        Diffusion (OU) time of the model.
    activation, data_spectrum
        As in :class:`RandomFeatures`.
    gap_tolerance : float, default 0.1
        ε of τ_gap, in (0, 1).
    seeds : int, default 4
        Gaussian-equivalent instances averaged (their spread is the error bar).
    budget : int
        Largest p·min(p, n + d) of one instance; beyond it the dimension is reduced at fixed
        ψ_p, ψ_n (see the module docstring).
    points_per_decade : int
        Resolution of the log-τ grid (from 1e-3 of the fastest relaxation time to 30× the slowest).
    rng : seed or Generator

    Returns
    -------
    TrainingWindow
    """
    n, d, p, _, _ = _check_sizes(n, d, p)
    eps = check_real("gap_tolerance", gap_tolerance, gt=0, lt=1)
    seeds = check_int("seeds", seeds, ge=1, le=1000)
    budget = check_int("budget", budget, ge=100)
    ppd = check_int("points_per_decade", points_per_decade, ge=4, le=1000)
    gen = check_rng(rng)
    rf = RandomFeatures(p / d, n / d, t, activation, data_spectrum)
    dd, pp, nn, reduced = window_sizes(n, d, p, budget)
    if reduced and dd < min(MIN_WINDOW_D, d):
        raise WindowTooSmall(
            f"the loss-curve window needs Gaussian-equivalent instances with p·min(p, n + d) <= budget = {budget}: "
            f"at ψ_p = {p / d:.4g}, ψ_n = {n / d:.4g} that allows only d = {dd} (< {MIN_WINDOW_D}), whose curves "
            "are finite-size noise; raise budget, or use the asymptotic τ_gen, τ_mem (valid for ψ_p ≫ ψ_n ≫ 1)")
    rfd = rf if (pp / dd, nn / dd) == (rf.psi_p, rf.psi_n) else rf.replace(psi_p=pp / dd,
                                                                           psi_n=nn / dd)
    tau = np.geomspace(*_tau_grid(rfd.constants, t, rfd.delta_t, dd, pp, nn, ppd))
    _check_instance(n, d, p, (dd, pp, nn), _instance_bytes(dd, pp, nn, tau.size))
    seq = np.random.SeedSequence(int(gen.integers(2**63)))
    curves = [sample_window_curves(rfd, dd, pp, nn, tau, np.random.default_rng(s))
              for s in seq.spawn(seeds)]
    train = np.mean([cv["train"] for cv in curves], axis=0)
    test = np.mean([cv["test"] for cv in curves], axis=0)
    tb = _tau_best(tau, test)
    tg = _tau_gap(tau, test - train, eps)
    tg_each = [_tau_gap(tau, cv["gen"], eps) for cv in curves]
    tw = _tau_worse(tau, test, int(np.argmin(test)))
    tw_each = [_tau_worse(tau, cv["test"], int(np.argmin(cv["test"]))) for cv in curves]
    notes = []
    if reduced:
        same = "same ψ_p, ψ_n" if (pp / dd, nn / dd) == (rf.psi_p, rf.psi_n) else (
            f"ψ_p = {pp / dd:.4g}, ψ_n = {nn / dd:.4g} after rounding, for {rf.psi_p:.4g}, {rf.psi_n:.4g}")
        notes.append(f"loss curves of Gaussian-equivalent instances at reduced size d = {dd}, "
                     f"p = {pp}, n = {nn} ({same}; {seeds} seeds; spread = standard "
                     f"deviation over the seeds); finite-size error grows as d shrinks")
    if tg is None:
        notes.append(f"L_test − L_train never reaches {eps:g} (long-time gap "
                     f"{float(test[-1] - train[-1]):.3g}): no τ_gap")
    gap_note = _gap_note(eps, rf.delta_t, tg, tw)
    if gap_note:
        notes.append(gap_note)
    return TrainingWindow(
        n=n, d=d, p=p, t=rf.t, activation=rf.activation.name, gap_tolerance=eps, seeds=seeds,
        d_used=dd, p_used=pp, n_used=nn, reduced=reduced, tau=tau, train=train, test=test,
        tau_best=tb, tau_best_spread=_std([_tau_best(tau, cv["test"]) for cv in curves]),
        tau_gap=tg, tau_gap_spread=_std(tg_each) if tg is not None else None,
        loss_at_best=_losses_at(tb, tau, curves),
        loss_at_gap=None if tg is None else _losses_at(tg, tau, curves),
        long_time_gap=float(test[-1] - train[-1]), notes=notes, tau_worse=tw,
        tau_worse_spread=_std(tw_each) if tw is not None else None)

