"""Small statistical helpers shared by the engines and the analysis: one of each.

* :func:`percentile_interval` — the percentile bootstrap interval and standard deviation of replicates;
* :func:`linearised_replicates` — bootstrap replicates of a statistic that is linear in row weights;
* :func:`bootstrap_weights` — the multinomial row counts those replicates use;
* :func:`linear_root` — the crossing of zero of a sampled curve, scanning from large t down;
* :func:`cubic_root` — the same crossing located on the cubic through the four nearest samples;
* :func:`exact_binomial_interval` — the Clopper–Pearson interval of a binomial proportion;
* :func:`check_binomial` — the validation of a count, its number of trials and a confidence level.
"""

from __future__ import annotations

import math

import numpy as np

from ._errors import RegimesError
from ._validate import check_int, check_real

__all__ = ["bootstrap_weights", "check_binomial", "contain", "cubic_root", "exact_binomial_interval", "linear_root",
           "linearised_replicates", "percentile_interval"]


def percentile_interval(replicates, confidence: float):
    """``((low, high), sd)``: percentile interval at ``confidence`` and standard deviation (ddof 1).

    Non-finite replicates are dropped; fewer than two finite ones give ``((nan, nan), nan)``.
    """
    q = (1 - confidence) / 2
    reps = np.asarray(replicates)
    reps = reps[np.isfinite(reps)]
    if reps.size < 2:
        return (math.nan, math.nan), math.nan
    return (float(np.quantile(reps, q)), float(np.quantile(reps, 1 - q))), float(reps.std(ddof=1))


def linearised_replicates(per_row, rng, replicates: int, denominator, *, draw: str = "indices"):
    """Bootstrap replicates ``w_b @ per_row / denominator`` of a statistic linear in row weights.

    ``w_b`` are multinomial row counts (n draws with replacement over the n rows of ``per_row``),
    drawn by :func:`bootstrap_weights`. ``per_row`` may be (n,) or (n, k).

    Notes
    -----
    For a statistic ``θ(w) = Σ_i w_i ψ_i / c`` this is the exact bootstrap; for a smooth statistic
    it is the first-order (influence-function) bootstrap, with ψ_i the influence of row i.
    """
    per_row = np.asarray(per_row)
    return np.array([w @ per_row / denominator
                     for w in bootstrap_weights(rng, int(replicates), per_row.shape[0], draw=draw)])


def bootstrap_weights(rng, replicates: int, n: int, *, draw: str = "indices"):
    """Yield ``replicates`` vectors of multinomial row counts (n draws with replacement over n rows).

    ``draw="indices"`` counts ``rng.integers(0, n, n)`` with ``bincount``, ``draw="multinomial"``
    draws them with ``rng.multinomial`` — two random streams, kept because each estimator's
    published intervals were drawn with one of them. Lazily: one vector in memory at a time.
    """
    if draw not in ("indices", "multinomial"):  # pragma: no cover - internal
        raise ValueError(f"draw must be 'indices' or 'multinomial', got {draw!r}")
    p_unif = np.full(n, 1.0 / n) if draw == "multinomial" else None
    for _ in range(replicates):
        yield np.bincount(rng.integers(0, n, n), minlength=n) if p_unif is None else rng.multinomial(n, p_unif)


def linear_root(curve, grid, *, clamp: bool = False):
    """Crossing of zero by ``curve`` sampled on ``grid``, scanning from the largest grid point down.

    Linear interpolation inside the first interval (from the top) where the sign changes; a grid
    point where the curve is exactly zero is returned as is. Without a sign change: None, or with
    ``clamp`` the grid end whose curve value is nearer to zero.
    """
    hit = _first_change(np.sign(curve))
    if hit is not None:
        i, exact = hit
        return float(grid[i]) if exact else _interpolated(grid, curve, i)
    if not clamp:
        return None
    return float(grid[0] if abs(curve[0]) < abs(curve[-1]) else grid[-1])


def _first_change(s):
    """Scanning the signs ``s`` of a sampled curve from the top: ``(i, True)`` where it is exactly
    zero at point i, ``(i, False)`` where it changes sign between points i − 1 and i, else None."""
    for i in range(len(s) - 1, 0, -1):
        if s[i] == 0:
            return i, True
        if s[i] != s[i - 1]:
            return i, False
    return None


def _interpolated(grid, curve, i) -> float:
    """The zero of the straight line through the samples i − 1 and i."""
    f0, f1 = curve[i - 1], curve[i]
    return float(grid[i - 1] + (grid[i] - grid[i - 1]) * f0 / (f0 - f1))


def cubic_root(curve, grid):
    """Crossing of zero by ``curve`` sampled on ``grid`` (increasing), in the interval
    :func:`linear_root` picks (the first sign change scanning from the largest grid point down; a
    grid point where the curve is exactly zero returned as is; None without a sign change), located
    on the cubic through the four grid points around it.

    Notes
    -----
    The cubic interpolates the interval's two ends and one point on each side (the four nearest
    at an end of the grid). It takes the curve's values, of opposite signs, at the interval's ends,
    so it has a root inside; with several (a curve that turns within one grid step), the largest,
    as the scan from large t implies: the interval is cut at the cubic's turning points and the
    root is found in the highest piece that changes sign, where the cubic is monotone, by Newton
    steps kept inside the shrinking bracket (else bisection). The error is O(h⁴) in the grid step
    h for a smooth curve, against O(h²) for linear interpolation; a cubic curve is located exactly.
    The cubic is formed on the stencil scaled to unit width and unit largest value (the root is
    mapped back), so the rule holds at any scale of t and of the curve. Linear interpolation is
    used instead with fewer than four points, or when the four values are not all finite, the
    times not strictly increasing, the cubic's coefficients not finite, or rounding at a turning
    point hides the sign change.
    """
    y = np.asarray(curve, dtype=float)
    x = np.asarray(grid, dtype=float)
    hit = _first_change(np.sign(y))
    if hit is None:
        return None
    i, exact = hit
    if exact:
        return float(x[i])
    linear = _interpolated(x, y, i)  # (x[i − 1] itself when the curve is zero there)
    if y[i - 1] == 0 or len(x) < 4:
        return linear
    j = min(max(i - 2, 0), len(x) - 4)
    root = _cubic_crossing(x[j:j + 4], y[j:j + 4], i - 1 - j)
    return linear if root is None else root


def _cubic_coefficients(x, y):
    """``(c0, c1, c2, c3)`` of the cubic through four points, in powers of ``u = t − x[0]``
    (from Newton's divided differences); None when they are not all finite."""
    x0, x1, x2, x3 = (float(v) for v in x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        d1 = (y[1] - y[0]) / (x1 - x0)
        e1 = (y[2] - y[1]) / (x2 - x1)
        d2 = (e1 - d1) / (x2 - x0)
        d3 = (((y[3] - y[2]) / (x3 - x2) - e1) / (x3 - x1) - d2) / (x3 - x0)
        h1, h2 = x1 - x0, x2 - x0
        c = (float(y[0]), float(d1 - h1 * d2 + h1 * h2 * d3), float(d2 - (h1 + h2) * d3), float(d3))
    return c if all(math.isfinite(v) for v in c) else None


def _cubic_crossing(x, y, k):
    """The largest root in ``[x[k], x[k + 1]]`` (``y`` of opposite signs there) of the cubic
    through the four points ``(x, y)``, or None where :func:`cubic_root` falls back to linear
    interpolation."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x)) and np.all(np.diff(x) > 0)):
        return None
    width, top = float(x[-1] - x[0]), float(np.max(np.abs(y)))
    if not (math.isfinite(width) and width > 0.0 and top > 0.0):
        return None
    u = _unit_crossing((x - x[0]) / width, y / top, k)  # on the stencil scaled to unit width and height
    if u is None:
        return None
    lo, hi = float(x[k]), float(x[k + 1])
    return min(max(float(x[0]) + width * u, lo), hi)


def _unit_crossing(x, y, k):
    """:func:`_cubic_crossing` on a stencil of unit width (``x[0] = 0``) and largest ``|y|`` 1."""
    coef = _cubic_coefficients(x, y)
    if coef is None:
        return None
    c0, c1, c2, c3 = coef
    a, b = float(x[k]), float(x[k + 1])

    def p(u):  # value and slope (x[0] = 0: u is the time itself)
        return c0 + u * (c1 + u * (c2 + u * c3)), c1 + u * (2.0 * c2 + u * 3.0 * c3)

    # the cubic's turning points inside (a, b) split it into monotone pieces, taken from the top
    cuts = sorted((u for u in _quadratic_roots(3.0 * c3, 2.0 * c2, c1) if a < u < b), reverse=True)
    hi, f_hi = b, float(y[k + 1])
    for lo in [*cuts, a]:
        f_lo = float(y[k]) if lo == a else p(lo)[0]
        if f_lo == 0.0:
            return lo
        if (f_lo > 0) != (f_hi > 0):
            return _newton_in(p, lo, hi, f_lo)
        hi, f_hi = lo, f_lo
    return None  # (rounding at a turning point: linear interpolation instead)


def _quadratic_roots(a, b, c) -> tuple[float, ...]:
    """Real roots of ``a u² + b u + c`` (the stable form; a linear or constant one as such)."""
    if a == 0.0:
        return () if b == 0.0 else (-c / b,)
    disc = b * b - 4.0 * a * c
    if not disc > 0.0:
        return ()
    q = -0.5 * (b + math.copysign(math.sqrt(disc), b))
    return (q / a,) if q == 0.0 else (q / a, c / q)


def _newton_in(p, a, b, fa) -> float:
    """Root of ``p`` (returning value and slope) in ``[a, b]``, where it is monotone and changes
    sign (``fa`` its value at a): Newton steps from the secant point (the midpoint when the
    rounded value at b does not change sign), kept inside the shrinking bracket; never outside
    ``[a, b]``."""
    a0, b0 = a, b
    fb = p(b)[0]
    ratio = fa / (fa - fb) if fa != fb else math.nan
    t = a + (b - a) * ratio if 0.0 < ratio < 1.0 else 0.5 * (a + b)
    for _ in range(100):
        f, df = p(t)
        if f == 0.0 or not math.isfinite(f):
            break
        if (f > 0) == (fa > 0):
            a, fa = t, f
        else:
            b = t
        step = t - f / df if df != 0.0 else math.nan
        nxt = step if a < step < b else 0.5 * (a + b)
        done = not a < nxt < b or abs(nxt - t) <= 4e-16 * max(abs(t), 1e-300)
        t = nxt
        if done:
            break
    return float(min(max(t, a0), b0))


def contain(ci, value):
    """The interval ``ci`` widened, if needed, to contain its estimate ``value`` (a percentile
    interval of a skewed or discretised bootstrap can miss it); NaN intervals are left as they are."""
    lo, hi = ci
    if not (math.isfinite(value) and math.isfinite(lo) and math.isfinite(hi)):
        return ci
    return (min(lo, value), max(hi, value))


def exact_binomial_interval(count: int, n: int, confidence: float) -> tuple[float, float]:
    """Clopper–Pearson interval of a binomial proportion ``count / n`` at ``confidence``.

    Notes
    -----
    ``[B(α/2; x, n − x + 1), B(1 − α/2; x + 1, n − x)]`` with B the beta quantile function and
    α = 1 − confidence; the lower end is 0 for x = 0 and the upper end 1 for x = n. Its coverage
    is at least ``confidence`` for every true proportion (it is conservative), unlike a percentile
    bootstrap of the count, which collapses to [0, 0] when no sample is flagged. ``n`` is an
    integer >= 1, ``count`` an integer in [0, n], ``confidence`` in (0, 1) (a RegimesError
    naming the parameter otherwise, :func:`check_binomial`).

    References
    ----------
    .. [CP] C. J. Clopper, E. S. Pearson, "The use of confidence or fiducial limits illustrated in
       the case of the binomial", Biometrika 26, 404 (1934).
    """
    from scipy.special import betaincinv

    count, n, confidence = check_binomial("count", count, "n", n, confidence)
    a = (1.0 - confidence) / 2.0
    lo = 0.0 if count == 0 else float(betaincinv(count, n - count + 1, a))
    hi = 1.0 if count == n else float(betaincinv(count + 1, n - count, 1.0 - a))
    return lo, hi


def check_binomial(count_name: str, count, n_name: str, n, confidence) -> tuple[int, int, float]:
    """``(count, n, confidence)`` of a binomial interval: n an integer in [1, 2⁵³], count an integer in
    [0, n], confidence a real in (0, 1); a RegimesError naming the parameter otherwise."""
    n = check_int(n_name, n, ge=1, le=2**53)  # (beyond, float arithmetic cannot hold the counts exactly)
    count = check_int(count_name, count, ge=0)
    if count > n:
        raise RegimesError(f"{count_name} must be <= {n_name} = {n} (a count out of {n_name} trials), got {count}")
    return count, n, check_real("confidence", confidence, gt=0.0, lt=1.0)
