"""The Marchenko–Pastur law as a frozen distribution object [MP].

Y ∈ R^{M×N} with i.i.d. entries of variance σ², S = YYᵀ/N, ratio γ = M/N. The empirical
spectral distribution of S converges to the Marchenko–Pastur law with edges
λ_± = σ²(1 ± √γ)² and, when γ > 1, an atom of mass 1 − 1/γ at 0.

References
----------
.. [MP] V. A. Marchenko, L. A. Pastur, "Distribution of eigenvalues for some sets of random
   matrices", Mat. Sb. 72 (1967).
.. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, "Why diffusion models don't memorize: the
   role of implicit dynamical regularization in training", arXiv:2505.17638 (2025).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .._errors import RegimesError
from .._validate import MAX_SAMPLES, as_real_array, check_int, check_memory, check_real, check_rng, replace_checked

__all__ = ["MarchenkoPastur"]


@dataclass(frozen=True, repr=False)
class MarchenkoPastur:
    r"""Marchenko–Pastur law with ratio γ = M/N and entry variance σ².

    Frozen (immutable) object with the scipy.stats method names. All methods are vectorised
    over their first argument and return float64 arrays (0-d for scalar input). The parameters
    are validated at construction and cannot be assigned afterwards
    (``dataclasses.FrozenInstanceError``); ``law.replace(ratio=2.0)`` (or ``dataclasses.replace``)
    returns a new law. Two laws with the same parameters are equal and hash alike.

    Parameters
    ----------
    ratio : float
        γ = M/N > 0 (rows over columns of Y, S = YYᵀ/N is M×M).
    variance : float, default 1
        σ² > 0, the variance of the entries of Y.

    Notes
    -----
    Edges λ_± = σ²(1 ± √γ)². The continuous part of the law has density

    .. math:: ρ(x) = \frac{\sqrt{(λ_+ - x)(x - λ_-)}}{2π σ² γ x},  \quad λ_- ≤ x ≤ λ_+,

    of total mass min(1, 1/γ); for γ > 1 an atom of mass 1 − 1/γ sits at 0. :meth:`pdf` is
    the density of the **continuous part only**; :meth:`cdf`, :meth:`sf`, :meth:`ppf`,
    :meth:`rvs`, :meth:`moment`, :meth:`stieltjes` describe the whole law including the atom.

    The cdf is closed-form. With σ² scaled out, x = c − h cos θ (c = 1 + γ, h = 2√γ, θ ∈ [0, π]),

    .. math:: F_{cont}(x) = \frac{cθ + h\sin θ - 2|1-γ| \arctan(\sqrt{λ_+/λ_-}\tan(θ/2))}{2πγ},

    (the arctan term is π/2 · 2|1−γ| · 𝟙[θ>0] when γ = 1), and the survival function uses the
    mirror formula in π − θ so that both tails are computed without cancellation of O(1) terms.
    For γ < 1e-2 or γ > 1e2 the closed form itself cancels O(1) terms down to O(γ); there the
    continuous mass between λ_− and x(θ) is computed as

    .. math:: F_{cont}(x) = \frac{2}{π}\int_0^θ \frac{\sin^2 φ\, dφ}{(1 - \sqrt{γ})^2 + 4\sqrt{γ}\sin^2(φ/2)}

    (and its mirror from λ_+) by 48-point Gauss–Legendre, all terms positive
    (:meth:`_quad_mass`).

    The Stieltjes transform m(z) = ∫ρ(dx)/(x − z) solves σ²γ z m² + (z − σ²(1 − γ)) m + 1 = 0;
    the root is taken as m = −2/(z − σ²(1−γ) + √(z − λ_+)√(z − λ_−)) with principal square
    roots, which is analytic on ℂ \ [λ_−, λ_+] (and the pole at 0 when γ > 1), has
    Im m > 0 for Im z > 0 and m ~ −1/z at infinity.

    Moments: E x^k = σ^{2k} Σ_{r=0}^{k-1} γ^r C(k, r) C(k−1, r)/(r + 1) (Narayana polynomials).

    References
    ----------
    .. [MP] V. A. Marchenko, L. A. Pastur, Mat. Sb. 72 (1967).
    .. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, arXiv:2505.17638 (2025), where the law
       appears as the spectrum of the random-features Gram matrix.

    Examples
    --------
    >>> mp = MarchenkoPastur(4.0)
    >>> mp.support(), mp.atom
    ((1.0, 9.0), 0.75)
    """

    ratio: float
    """γ = M/N."""
    variance: float = 1.0
    """σ², the variance of the entries of Y."""

    def __post_init__(self) -> None:
        ratio, variance = self.ratio, self.variance
        for name, v in (("ratio", ratio), ("variance", variance)):
            if isinstance(v, (bool, np.bool_)):
                raise RegimesError(f"{name} must be a positive number, got {v!r} (a bool)")
        ratio = check_real("ratio", ratio, gt=0)
        variance = check_real("variance", variance, gt=0)
        for name, v in (("ratio", ratio), ("variance", variance)):
            if not 1e-100 <= v <= 1e100:
                raise RegimesError(f"{name} must lie in [1e-100, 1e100] (edges, moments and "
                                   f"densities stay in the float64 range), got {v!r}")
        # frozen: the validated floats replace the arguments once, here
        object.__setattr__(self, "ratio", ratio)
        object.__setattr__(self, "variance", variance)

    def replace(self, **changes) -> MarchenkoPastur:
        """A new law with ``changes`` applied (validated); ``self`` is unchanged.

        Same as ``dataclasses.replace(self, **changes)``; an unknown field is a RegimesError
        listing the fields.
        """
        return replace_checked(self, changes)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_shape(cls, M: int, N: int, variance: float = 1.0) -> MarchenkoPastur:
        """Law of the spectrum of S = YYᵀ/N for Y of shape (M, N): ratio γ = M/N."""
        M = check_int("M", M, ge=1, le=2**53)  # (exact in float64: the ratio M/N is then finite)
        N = check_int("N", N, ge=1, le=2**53)
        return cls(M / N, variance)

    @classmethod
    def fit(cls, eigenvalues) -> MarchenkoPastur:
        """Estimate (γ, σ²) from an observed spectrum by the method of moments.

        Parameters
        ----------
        eigenvalues : array_like
            All M eigenvalues of S = YYᵀ/N (zeros included), at least 2, non-negative. Round-off
            negatives, ``|λ|`` ≤ 1e-9 × the largest (``eigvalsh`` returns the zero eigenvalues of a
            rank-deficient S, γ > 1, as ~−1e-14), are taken as 0; a more negative entry is a
            RegimesError.

        Notes
        -----
        E x = σ², E x² = σ⁴(1 + γ), so σ̂² = mean(x), γ̂ = mean(x²)/mean(x)² − 1. Linear
        spectral statistics of Wishart matrices fluctuate by O(1/M) (not O(1/√M)), so the
        estimates are accurate to O(1/M); the γ̂ estimate is clipped at a tiny positive value.
        """
        x = as_real_array("eigenvalues", eigenvalues, min_size=2).ravel()
        tol = 1e-9 * float(np.max(np.abs(x)))
        if np.any(x < -tol):
            raise RegimesError(
                f"eigenvalues must be >= 0 (round-off negatives down to −1e-9 × the largest |λ|, "
                f"here −{tol:.3g}, are taken as 0), got an entry {float(np.min(x)):.6g}")
        x = np.maximum(x, 0.0)
        m1 = float(np.mean(x))
        if m1 <= 0:
            raise RegimesError("eigenvalues must not all be 0")
        if not 1e-100 <= m1 <= 1e100:  # σ̂² = mean(x) (and mean(x)² below must not under/overflow)
            raise RegimesError(
                f"eigenvalues must have a mean in [1e-100, 1e100] (the fitted variance σ² is the mean; "
                f"rescale them), got mean {m1!r}")
        m2 = float(np.mean(x * x))
        gamma = max(m2 / (m1 * m1) - 1.0, 1e-12)
        return cls(gamma, m1)

    # ----------------------------------------------------------------- parameters
    def __repr__(self) -> str:
        return f"MarchenkoPastur(ratio={self.ratio!r}, variance={self.variance!r})"

    @cached_property
    def _support(self) -> tuple[float, float]:
        (lo, _), (hi, _) = self._edges_dd  # correctly rounded, also for γ within an ulp of 1
        return (lo, hi)

    def support(self) -> tuple[float, float]:
        """Edges (λ_−, λ_+) = σ²(1 ∓ √γ)² of the continuous part (a method, as in scipy.stats)."""
        return self._support

    @property
    def atom(self) -> float:
        """Mass of the atom at 0: max(0, 1 − 1/γ)."""
        g = self.ratio
        return -math.expm1(-math.log(g)) if g > 1 else 0.0  # 1 - 1/g

    @property
    def continuous_mass(self) -> float:
        """Mass of the continuous part: min(1, 1/γ)."""
        return 1.0 / self.ratio if self.ratio > 1 else 1.0

    def mean(self) -> float:
        """E x = σ² (a method, as in scipy.stats frozen distributions)."""
        return self.variance

    def var(self) -> float:
        """Var x = σ⁴γ (a method, as in scipy.stats frozen distributions)."""
        return self.variance**2 * self.ratio

    def std(self) -> float:
        """√Var x = σ²√γ."""
        return self.variance * math.sqrt(self.ratio)

    def moment(self, k):
        """E x^k (atom included) by the Narayana formula, vectorised over integer k ≥ 0.

        Exact integer Narayana coefficients, summed in floating point, for k ≤ 200; beyond,
        the coefficients in logs (``gammaln``, relative error ~1e-16·k log k, O(k) work); a
        moment beyond the float64 range is returned as inf (never an exception or NaN).
        """
        arr = np.asarray(k)
        if arr.dtype == bool or arr.dtype.kind not in "iuf" or arr.size == 0:
            raise RegimesError(f"k must be a non-negative integer or an array of them, got {k!r}")
        flat = arr.ravel()
        if not np.all(np.isfinite(flat)) or np.any(flat < 0) or np.any(flat != np.floor(flat)):
            raise RegimesError(f"k must be non-negative integers, got {k!r}")
        if np.any(flat > 100000):
            raise RegimesError(f"k must be at most 100000, got {int(np.max(flat))}")
        out = np.array([self._moment_one(int(kk)) for kk in flat], dtype=np.float64)
        return out.reshape(arr.shape)[()]

    def _moment_one(self, k: int) -> float:
        if k == 0:
            return 1.0
        g, s2 = self.ratio, self.variance
        if k > 200:  # O(k) in logs (the exact integers below cost O(k²): k = 20000 took 7 min)
            return _log_moment(k, g, s2)
        coefs = [math.comb(k, r) * math.comb(k - 1, r) // (r + 1) for r in range(k)]  # Narayana
        lg, ls = math.log(g), math.log(s2)
        logs = np.array([math.log(cf) + r * lg for r, cf in enumerate(coefs)]) + k * ls
        top = float(np.max(logs))
        if top < 700.0 and float(np.min(logs)) > -700.0:
            total = 0.0
            for r, cf in enumerate(coefs):
                total += float(cf) * g**r
            return s2**k * total if k * abs(ls) < 700.0 else math.exp(math.log(total) + k * ls)
        # log-sum-exp: inf when the moment exceeds the float64 range
        val = top + math.log(float(np.sum(np.exp(logs - top))))
        return math.exp(val) if val < 709.78 else math.inf

    # ----------------------------------------------------------------- density
    def pdf(self, x):
        """Density of the continuous part (the atom at 0 for γ > 1 is not included)."""
        x = as_real_array("x", x, allow_inf=True)
        lo, hi = self._support
        (l0, l1), (h0, h1) = self._edges_dd  # x − λ_∓ exact near an edge
        inside = (x > lo) & (x < hi)
        xs = np.where(inside, x, 0.5 * (lo + hi))
        below = np.maximum((xs - l0) - l1, 0.0)
        above = np.maximum((h0 - xs) + h1, 0.0)
        val = np.sqrt(above) * np.sqrt(below) / (2.0 * np.pi * self.variance * self.ratio * xs)
        return np.where(inside, val, 0.0)[()]

    def logpdf(self, x):
        """log of :meth:`pdf` (−inf outside the support)."""
        x = as_real_array("x", x, allow_inf=True)
        lo, hi = self._support
        (l0, l1), (h0, h1) = self._edges_dd
        inside = (x > lo) & (x < hi)
        xs = np.where(inside, x, 0.5 * (lo + hi))
        with np.errstate(divide="ignore"):
            val = (0.5 * (np.log((h0 - xs) + h1) + np.log((xs - l0) - l1)) - np.log(xs)
               - math.log(2.0 * np.pi * self.variance * self.ratio))
        return np.where(inside, val, -np.inf)[()]

    # ----------------------------------------------------------------- cdf machinery
    @cached_property
    def _edges_dd(self):
        """Edges λ_∓ as double-double pairs (hi, lo) with hi + lo = λ to ~1e-30 relative.

        x − λ_∓ is then formed as (x − hi) − lo, exact for x near the edge, so that the tails of
        the cdf/sf keep their relative accuracy down to within a few ulps of the edges.
        """
        import decimal

        with decimal.localcontext() as ctx:
            ctx.prec = 50
            g = decimal.Decimal(self.ratio)
            s2 = decimal.Decimal(self.variance)
            sg = g.sqrt()
            out = []
            for e in (s2 * (1 - sg) ** 2, s2 * (1 + sg) ** 2):
                hi = float(e)
                out.append((hi, float(e - decimal.Decimal(hi))))
        return tuple(out)

    def _tan_half(self, x):
        """t = tan(θ/2) = √((x − λ_−)/(λ_+ − x)) for x inside the support (clipped outside)."""
        (l0, l1), (h0, h1) = self._edges_dd
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            below = (x - l0) - l1
            above = (h0 - x) + h1
            below = np.maximum(below, 0.0)
            above = np.maximum(above, 0.0)
            return np.sqrt(below) / np.sqrt(above), np.sqrt(above) / np.sqrt(below)

    def _consts(self):
        g = self.ratio
        sg = math.sqrt(g)
        c, h = 1.0 + g, 2.0 * sg
        ab = abs(1.0 - g)  # √(λ_+ λ_-)/σ²
        k = (1.0 + sg) ** 2 / ab if ab > 0 else math.inf  # √(λ_+/λ_-) = (1+√γ)/|1−√γ|
        kp = ab / (1.0 + sg) ** 2  # √(λ_-/λ_+)
        return c, h, ab, k, kp

    @staticmethod
    def _series(t, c, h_signed, ab, k, terms: int = 60):
        """Σ_{j≥1} 2(−1)^j t^{2j+1}[c + (2j+1)h − ab k^{2j+1}]/(2j+1): the closed form below
        with its O(t) terms (which cancel exactly) removed; for t, kt ≤ 1/2."""
        t2 = t * t
        kt = k * t
        kt2 = kt * kt
        tp = t.copy()  # t^{2j+1}
        ktp = kt.copy()  # (kt)^{2j+1}, both ≤ 2^{-(2j+1)}: no overflow
        total = np.zeros_like(t)
        for j in range(1, terms):
            tp = tp * t2
            ktp = ktp * kt2
            n = 2 * j + 1
            term = ((c + n * h_signed) * tp - ab * ktp) / n
            total = total + (2.0 if j % 2 == 0 else -2.0) * term
        return total

    @property
    def _extreme(self) -> bool:
        """True for γ < 1e-2 or γ > 1e2, where the closed form cancels O(1) terms down to O(γ)
        (relative error ~1e-16/γ, resp. 1e-16·γ): the cdf is then the quadrature :meth:`_quad_mass`."""
        return not 1e-2 <= self.ratio <= 1e2

    def _quad_mass(self, angle, upper: bool):
        """2πγ × continuous mass between an edge and angle θ from it (Gauss–Legendre, 48 nodes).

        In θ the density is 2πγ ρ(x)dx = 4γ sin²φ/D(φ) dφ with D = (1 − √γ)² + 4√γ sin²(φ/2)
        = 1 + γ − 2√γ cos φ from λ_− (``upper`` False), and D = (1 − √γ)² + 4√γ cos²(φ/2)
        from λ_+ (φ = π − θ): positive terms only, no cancellation at any γ. The integrand is
        analytic with its nearest singularity at Im φ = arccosh((1 + γ)/(2√γ)) ≥ 2.3 when
        γ ∉ (1e-2, 1e2), so 48 nodes reach double precision on [0, π]."""
        g = self.ratio
        sg = math.sqrt(g)
        xl, wl = _GL48
        a = np.asarray(angle, dtype=np.float64)[..., None]
        phi = 0.5 * a * (1.0 + xl)
        trig = np.cos(0.5 * phi) if upper else np.sin(0.5 * phi)
        den = (1.0 - sg) ** 2 + 4.0 * sg * trig * trig
        return 0.5 * a[..., 0] * np.sum(wl * (4.0 * g) * np.sin(phi) ** 2 / den, axis=-1)

    def _cont_lower_t(self, t):
        """2πγ × ∫ of the continuous density from λ_− to x, with t = tan(θ/2) (see Notes)."""
        c, h, ab, k, _ = self._consts()
        t = np.asarray(t, dtype=np.float64)
        if self._extreme:
            return self._quad_mass(2.0 * np.arctan(t), upper=False)
        with np.errstate(all="ignore"):
            direct = 2.0 * c * np.arctan(t) + 2.0 * h * t / (1.0 + t * t)
            if ab > 0:
                direct = direct - 2.0 * ab * np.arctan(k * t)
            small = (t <= 0.5) & (k * t <= 0.5)
        if np.any(small) and ab > 0:
            ts = np.where(small, t, 0.0)
            direct = np.where(small, self._series(ts, c, h, ab, k), direct)
        return direct

    def _cont_upper_s(self, s):
        """2πγ × ∫ of the continuous density from x to λ_+, with s = tan((π − θ)/2)."""
        c, h, ab, _, kp = self._consts()
        s = np.asarray(s, dtype=np.float64)
        if self._extreme:
            return self._quad_mass(2.0 * np.arctan(s), upper=True)
        with np.errstate(all="ignore"):
            direct = 2.0 * c * np.arctan(s) - 2.0 * h * s / (1.0 + s * s) - 2.0 * ab * np.arctan(kp * s)
            small = s <= 0.5
        if np.any(small):
            ss = np.where(small, s, 0.0)
            direct = np.where(small, self._series(ss, c, -h, ab, kp), direct)
        return direct

    def _cont_lower(self, theta):
        """∫ of the continuous density from λ_− to x(θ), unnormalised by 1/(2πγ)."""
        if self._extreme:
            return self._quad_mass(theta, upper=False)
        return self._cont_lower_t(np.tan(0.5 * np.asarray(theta, dtype=np.float64)))

    def _pieces(self, x):
        """(continuous mass below x, continuous mass above x), each without cancellation."""
        t, s = self._tan_half(x)
        norm = 2.0 * np.pi * self.ratio
        cm = self.continuous_mass
        lower_side = t <= 1.0
        with np.errstate(all="ignore"):
            low = self._cont_lower_t(np.where(lower_side, t, 0.0)) / norm
            up = self._cont_upper_s(np.where(lower_side, 0.0, s)) / norm
        below = np.clip(np.where(lower_side, low, cm - up), 0.0, cm)
        above = np.clip(np.where(lower_side, cm - low, up), 0.0, cm)
        return below, above

    def _outside(self, x):
        """(x ≤ λ_−, x ≥ λ_+) against the exact (double-double) edges: a double next to a
        rounded edge can lie inside the true support (γ = 1e-30: the support is 18 ulps wide)."""
        (l0, l1), (h0, h1) = self._edges_dd
        with np.errstate(invalid="ignore"):
            return (x <= l0) & ((x - l0) - l1 <= 0), (x >= h0) & ((h0 - x) + h1 <= 0) | (x == np.inf)

    def cdf(self, x):
        """P(X ≤ x), atom at 0 included (closed form, see Notes of the class)."""
        x = as_real_array("x", x, allow_inf=True)
        below, _ = self._pieces(x)
        at_lo, at_hi = self._outside(x)
        atom = np.where(x >= 0, self.atom, 0.0)
        out = np.where(at_hi, 1.0, np.where(at_lo, atom, atom + below))
        return out[()]

    def sf(self, x):
        """P(X > x), computed without 1 − cdf cancellation in the upper tail."""
        x = as_real_array("x", x, allow_inf=True)
        _, above = self._pieces(x)
        at_lo, at_hi = self._outside(x)
        cm = self.continuous_mass
        out = np.where(x < 0, 1.0, np.where(at_lo, cm, above))
        out = np.where(at_hi, 0.0, out)
        return out[()]

    def ppf(self, q):
        """Quantile inf{x : F(x) ≥ q}; q ≤ atom maps to 0. Bracketed Newton–bisection in θ."""
        q = as_real_array("q", q, ge=0.0, le=1.0)  # probabilities
        atom = self.atom
        norm = 2.0 * np.pi * self.ratio
        target = (q - atom) * norm  # value of _cont_lower to reach
        flat = np.atleast_1d(target).astype(np.float64).ravel()
        g = self.ratio
        h = 2.0 * math.sqrt(g)
        edge = (1.0 - math.sqrt(g)) ** 2  # (1 + γ) − h = λ_−/σ²
        need = flat > 0
        def u_of(th):  # u = c − h cos θ = (1 − √γ)² + 2h sin²(θ/2): no cancellation near the lower edge (γ = 1)
            return np.where(th < 0.5, edge + 2.0 * h * np.sin(0.5 * th) ** 2, 1.0 + g - h * np.cos(th))

        # dF/dθ = h² sin²θ/(c − h cos θ), its denominator u(θ)
        th = _angle_root(self._cont_lower, flat, need, lambda th: h * h * np.sin(th) ** 2 / u_of(th),
                         grid=_PPF_GRID)
        x = self.variance * u_of(th)
        lo, hi = self._support
        x = np.clip(x, lo, hi)
        x = np.where(need, x, 0.0 if atom > 0 else lo)
        qf = np.atleast_1d(q).ravel()
        x = np.where(qf >= 1.0, hi, x)
        return x.reshape(np.shape(q))[()]

    def isf(self, q):
        """Inverse survival function: x with P(X > x) = q.

        ``ppf(1 − q)`` for q ≥ 1e-6; below, solved from the upper edge (x = λ_+ − 2hσ² sin²(φ/2),
        the mass above x in closed form), since 1 − q loses q's digits (isf(1e-20) was λ_+)."""
        q = as_real_array("q", q, ge=0.0, le=1.0)  # probabilities
        out = np.asarray(self.ppf(1.0 - q), dtype=np.float64)
        tail = (q > 0) & (q < 1e-6)
        if np.any(tail):
            out = np.where(tail, self._upper_quantile(np.where(tail, q, 1e-6)), out)
        return out[()]

    def _upper_quantile(self, q):
        """x with continuous mass q above it (0 < q ≤ 1e-6), by bisection-guarded Newton in φ = π − θ."""
        g = self.ratio
        h, top = 2.0 * math.sqrt(g), (1.0 + math.sqrt(g)) ** 2
        target = np.atleast_1d(q).astype(np.float64).ravel() * 2.0 * np.pi * g
        def u_of(p):  # x/σ² = λ_+/σ² − 2h sin²(φ/2)
            return top - 2.0 * h * np.sin(0.5 * p) ** 2

        ph = _angle_root(lambda p: self._cont_upper_s(np.tan(0.5 * p)), target, np.ones(target.shape, dtype=bool),
                         lambda p: h * h * np.sin(p) ** 2 / u_of(p))
        x = self.variance * u_of(ph)
        return x.reshape(np.shape(q))

    def rvs(self, size=None, rng=None):
        """Samples by inversion (ppf of uniforms); the atom at 0 is included. Seeded by ``rng``."""
        gen = check_rng(rng)
        size = _rvs_size(size)
        u = gen.random(size)
        if np.size(u) <= _RVS_CHUNK:
            return self.ppf(u)
        flat = u.ravel()  # in chunks: bounded temporaries (the quadrature of extreme γ is 48 × the chunk)
        out = np.concatenate([np.atleast_1d(self.ppf(flat[i:i + _RVS_CHUNK]))
                              for i in range(0, flat.size, _RVS_CHUNK)])
        return out.reshape(np.shape(u))

    def stieltjes(self, z):
        """m(z) = ∫ρ(dx)/(x − z) for complex z off the support (atom included).

        ``z``: finite real or complex numbers (a RegimesError otherwise: a string, None, NaN, inf).
        """
        z = _finite_complex("z", z)
        lo, hi = self._support
        s2, g = self.variance, self.ratio
        b = z - s2 * (1.0 - g)
        root = np.sqrt(z - hi) * np.sqrt(z - lo)
        plus, minus = b + root, root - b
        # two algebraically equal forms of the same root; take the one without cancellation
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where(np.abs(plus) >= np.abs(minus), -2.0 / plus,
                         minus / (2.0 * s2 * g * z))
        return m[()]


_GL48 = np.polynomial.legendre.leggauss(48)


def _rvs_size(size):
    """``size`` of :meth:`MarchenkoPastur.rvs`: None, an int or a tuple of ints >= 0, at most
    :data:`~regimes._validate.MAX_SAMPLES` draws in all and within the available memory."""
    if size is None:
        return None
    if isinstance(size, str | bytes) or np.ndim(size) > 1:
        raise RegimesError(f"size must be an integer or a tuple of integers, got {size!r}")
    out = (check_int("size", size, ge=0, le=MAX_SAMPLES) if np.ndim(size) == 0
           else tuple(check_int("size", s_, ge=0, le=MAX_SAMPLES) for s_ in size))
    total = math.prod(out) if isinstance(out, tuple) else out
    if total > MAX_SAMPLES:
        raise RegimesError(f"size must give at most {MAX_SAMPLES} draws in all, got {size!r} ({total} draws)")
    # the uniforms and the draws (float64), plus the ppf temporaries of one chunk
    check_memory("size", size, 16.0 * total + 8.0 * 8 * 48 * min(total, _RVS_CHUNK), what=f"{total} draws")
    return out


def _finite_complex(name, z):
    """``z`` as a complex128 array of finite values, or a RegimesError naming ``name``."""
    if z is None or isinstance(z, str | bytes | bool | np.bool_):
        raise RegimesError(f"{name} must be real or complex numbers, got {z!r}")
    try:
        arr = np.asarray(z)
        if arr.dtype.kind not in "iufc":
            raise TypeError
        arr = arr.astype(np.complex128)
    except (TypeError, ValueError, OverflowError):
        raise RegimesError(f"{name} must be real or complex numbers, got {z!r}") from None
    bad = ~np.isfinite(arr)
    if np.any(bad):
        raise RegimesError(f"{name} must be finite, got {complex(arr[bad].ravel()[0])!r}")
    return arr
#: ppf of more points than this starts its Newton steps from a table of the cdf at as many angles
_PPF_GRID = 4096
#: rvs draws its uniforms at once and inverts them in chunks of this many
_RVS_CHUNK = 1 << 16


def _log_moment(k: int, g: float, s2: float) -> float:
    """E x^k = σ^{2k} Σ_r N(k, r) γ^r by log-sum-exp, log N(k, r) = log C(k, r) + log C(k−1, r)
    − log(r + 1) from ``gammaln``; inf when it exceeds the float64 range."""
    from scipy.special import gammaln

    r = np.arange(k, dtype=np.float64)
    logs = (2.0 * gammaln(k + 1.0) - math.log(k) - 2.0 * gammaln(r + 1.0) - gammaln(k - r + 1.0)
            - gammaln(k - r) - np.log(r + 1.0) + r * math.log(g) + k * math.log(s2))
    top = float(np.max(logs))
    val = top + math.log(float(np.sum(np.exp(logs - top))))
    return math.exp(val) if val < 709.78 else math.inf


def _angle_root(F, target, need, slope, grid: int = 0):
    """θ in (0, π) with ``F(θ) = target`` (F increasing), elementwise: Newton steps on ``slope``
    (dF/dθ), bisection when a step leaves the bracket; an element stops when its θ has converged to
    1e-15 or its bracket to 4e-16. Only the elements still moving are evaluated at each step (most
    converge in a few Newton steps), so the cost is ~linear in the number of points. With ``grid``
    > 0 and more points than that, F is first tabulated at ``grid`` + 1 equispaced angles: each
    point starts from the linear interpolant inside a 3-cell bracket of the table (its own root is
    still found by the same Newton–bisection steps, to the same tolerance), which saves the first
    ~5 steps (:meth:`MarchenkoPastur.rvs`)."""
    target = np.asarray(target, dtype=np.float64)
    th = np.full_like(target, 0.5 * np.pi)
    act = np.flatnonzero(np.asarray(need, dtype=bool) & np.ones(target.shape, dtype=bool))
    lo_t = np.zeros(act.size)
    hi_t = np.full(act.size, np.pi)
    cur = th[act]
    tg = target[act]
    if grid and act.size > grid:
        ang = np.linspace(0.0, np.pi, grid + 1)
        tab = np.maximum.accumulate(F(ang))
        j = np.clip(np.searchsorted(tab, tg), 1, grid)
        lo_t, hi_t = ang[np.maximum(j - 2, 0)], ang[np.minimum(j + 1, grid)]
        with np.errstate(divide="ignore", invalid="ignore"):
            w = (tg - tab[j - 1]) / (tab[j] - tab[j - 1])
        w = np.where(np.isfinite(w), np.clip(w, 0.0, 1.0), 0.5)
        cur = ang[j - 1] + w * (ang[j] - ang[j - 1])
    for _ in range(200):
        if act.size == 0:
            break
        f = F(cur) - tg
        lo_t = np.where(f <= 0, cur, lo_t)  # maintain the bracket
        hi_t = np.where(f > 0, cur, hi_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = cur - f / slope(cur)
        bad = ~np.isfinite(step) | (step <= lo_t) | (step >= hi_t)
        new = np.where(bad, 0.5 * (lo_t + hi_t), step)
        done = (np.abs(new - cur) <= 1e-15 * np.maximum(1.0, np.abs(cur))) | (hi_t - lo_t <= 4e-16)
        th[act] = new
        keep = ~done
        act, cur, tg, lo_t, hi_t = act[keep], new[keep], tg[keep], lo_t[keep], hi_t[keep]
    return th
