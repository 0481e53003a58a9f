"""The Marchenko–Pastur law as a frozen distribution object (SPEC §4).

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
from functools import cached_property

import numpy as np

from .._errors import RegimesError
from .._validate import as_real_array, check_int, check_real, check_rng

__all__ = ["MarchenkoPastur"]


class MarchenkoPastur:
    r"""Marchenko–Pastur law with ratio γ = M/N and entry variance σ².

    Frozen (immutable) object with the scipy.stats method names. All methods are vectorised
    over their first argument and return float64 arrays (0-d for scalar input).

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
    >>> mp.support, mp.atom
    ((1.0, 9.0), 0.75)
    """

    def __init__(self, ratio: float, variance: float = 1.0) -> None:
        object.__setattr__(self, "_ratio", check_real("ratio", ratio, gt=0))
        object.__setattr__(self, "_variance", check_real("variance", variance, gt=0))

    def __setattr__(self, name, value):  # frozen
        if name in ("_ratio", "_variance", "ratio", "variance"):
            raise AttributeError("MarchenkoPastur is immutable")
        object.__setattr__(self, name, value)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_shape(cls, M: int, N: int, variance: float = 1.0) -> MarchenkoPastur:
        """Law of the spectrum of S = YYᵀ/N for Y of shape (M, N): ratio γ = M/N."""
        M = check_int("M", M, ge=1)
        N = check_int("N", N, ge=1)
        return cls(M / N, variance)

    @classmethod
    def fit(cls, eigenvalues) -> MarchenkoPastur:
        """Estimate (γ, σ²) from an observed spectrum by the method of moments.

        Parameters
        ----------
        eigenvalues : array_like
            All M eigenvalues of S = YYᵀ/N (zeros included), at least 2, non-negative.

        Notes
        -----
        E x = σ², E x² = σ⁴(1 + γ), so σ̂² = mean(x), γ̂ = mean(x²)/mean(x)² − 1. Linear
        spectral statistics of Wishart matrices fluctuate by O(1/M) (not O(1/√M)), so the
        estimates are accurate to O(1/M); the γ̂ estimate is clipped at a tiny positive value.
        """
        x = as_real_array("eigenvalues", eigenvalues, ge=0, min_size=2).ravel()
        m1 = float(np.mean(x))
        if m1 <= 0:
            raise RegimesError("eigenvalues must not all be 0")
        m2 = float(np.mean(x * x))
        gamma = max(m2 / (m1 * m1) - 1.0, 1e-12)
        return cls(gamma, m1)

    # ----------------------------------------------------------------- parameters
    @property
    def ratio(self) -> float:
        """γ = M/N."""
        return self._ratio

    @property
    def variance(self) -> float:
        """σ², the variance of the entries of Y."""
        return self._variance

    def __repr__(self) -> str:
        return f"MarchenkoPastur(ratio={self._ratio!r}, variance={self._variance!r})"

    def __eq__(self, other):
        return (isinstance(other, MarchenkoPastur) and self._ratio == other._ratio
                and self._variance == other._variance)

    def __hash__(self):
        return hash((MarchenkoPastur, self._ratio, self._variance))

    @cached_property
    def support(self) -> tuple[float, float]:
        """Edges (λ_−, λ_+) = σ²(1 ∓ √γ)² of the continuous part."""
        g, s2 = self._ratio, self._variance
        sg = math.sqrt(g)
        lo = s2 * (1.0 - sg) ** 2 if g != 1.0 else 0.0
        return (lo, s2 * (1.0 + sg) ** 2)

    @property
    def atom(self) -> float:
        """Mass of the atom at 0: max(0, 1 − 1/γ)."""
        g = self._ratio
        return -math.expm1(-math.log(g)) if g > 1 else 0.0  # 1 - 1/g

    @property
    def continuous_mass(self) -> float:
        """Mass of the continuous part: min(1, 1/γ)."""
        return 1.0 / self._ratio if self._ratio > 1 else 1.0

    @property
    def mean(self) -> float:
        """E x = σ²."""
        return self._variance

    @property
    def var(self) -> float:
        """Var x = σ⁴γ."""
        return self._variance**2 * self._ratio

    def moment(self, k) -> float:
        """E x^k (atom included) by the Narayana formula; k a non-negative integer."""
        k = check_int("k", k, ge=0)
        if k == 0:
            return 1.0
        g = self._ratio
        total = 0.0
        for r in range(k):
            total += g**r * math.comb(k, r) * math.comb(k - 1, r) / (r + 1)
        return self._variance**k * total

    # ----------------------------------------------------------------- density
    def pdf(self, x):
        """Density of the continuous part (the atom at 0 for γ > 1 is not included)."""
        x = np.asarray(x, dtype=np.float64)
        lo, hi = self.support
        inside = (x > lo) & (x < hi)
        xs = np.where(inside, x, 0.5 * (lo + hi))
        val = np.sqrt((hi - xs) * (xs - lo)) / (2.0 * np.pi * self._variance * self._ratio * xs)
        return np.where(inside, val, 0.0)[()]

    def logpdf(self, x):
        """log of :meth:`pdf` (−inf outside the support)."""
        x = np.asarray(x, dtype=np.float64)
        lo, hi = self.support
        inside = (x > lo) & (x < hi)
        xs = np.where(inside, x, 0.5 * (lo + hi))
        val = (0.5 * (np.log(hi - xs) + np.log(xs - lo)) - np.log(xs)
               - math.log(2.0 * np.pi * self._variance * self._ratio))
        return np.where(inside, val, -np.inf)[()]

    # ----------------------------------------------------------------- cdf machinery
    def _theta(self, x):
        """θ ∈ [0, π] with x/σ² = c − h cos θ (clipped outside the support)."""
        g = self._ratio
        u = np.asarray(x, dtype=np.float64) / self._variance
        c, h = 1.0 + g, 2.0 * math.sqrt(g)
        return np.arccos(np.clip((c - u) / h, -1.0, 1.0))

    def _cont_lower(self, theta):
        """∫ of the continuous density from λ_− to x(θ), unnormalised by 1/(2πγ)."""
        g = self._ratio
        c, h = 1.0 + g, 2.0 * math.sqrt(g)
        if g == 1.0:
            # a = 0: the arctan term is 2√(ab)·π/2 = 0
            return c * theta + h * np.sin(theta)
        ab = abs(1.0 - g)  # √(λ_+ λ_-)/σ²
        k = (1.0 + math.sqrt(g)) / abs(1.0 - math.sqrt(g))  # √(λ_+/λ_-)
        half = 0.5 * theta
        # arctan(k tan(θ/2)) written with atan2 so that θ = π gives π/2 exactly
        at = np.arctan2(k * np.sin(half), np.cos(half))
        return c * theta + h * np.sin(theta) - 2.0 * ab * at

    def _cont_upper(self, theta):
        """∫ of the continuous density from x(θ) to λ_+, unnormalised by 1/(2πγ)."""
        g = self._ratio
        c, h = 1.0 + g, 2.0 * math.sqrt(g)
        psi = np.pi - theta
        half = 0.5 * psi
        if g == 1.0:
            return c * psi - h * np.sin(psi)
        ab = abs(1.0 - g)
        k = abs(1.0 - math.sqrt(g)) / (1.0 + math.sqrt(g))  # √(λ_-/λ_+)
        at = np.arctan2(k * np.sin(half), np.cos(half))
        return c * psi - h * np.sin(psi) - 2.0 * ab * at

    def cdf(self, x):
        """P(X ≤ x), atom at 0 included (closed form, see Notes of the class)."""
        x = np.asarray(x, dtype=np.float64)
        theta = self._theta(x)
        norm = 2.0 * np.pi * self._ratio
        low = self._cont_lower(theta) / norm
        up = self._cont_upper(theta) / norm
        cm = self.continuous_mass
        cont = np.where(theta <= 0.5 * np.pi, low, cm - up)
        cont = np.clip(cont, 0.0, cm)
        out = np.where(x >= 0, self.atom, 0.0) + cont
        lo, hi = self.support
        out = np.where(x >= hi, 1.0, np.where(x < lo, np.where(x >= 0, self.atom, 0.0), out))
        return out[()]

    def sf(self, x):
        """P(X > x), computed without 1 − cdf cancellation in the upper tail."""
        x = np.asarray(x, dtype=np.float64)
        theta = self._theta(x)
        norm = 2.0 * np.pi * self._ratio
        low = self._cont_lower(theta) / norm
        up = self._cont_upper(theta) / norm
        cm = self.continuous_mass
        cont_above = np.clip(np.where(theta > 0.5 * np.pi, up, cm - low), 0.0, cm)
        lo, hi = self.support
        out = np.where(x < 0, 1.0, np.where(x < lo, cm, cont_above))
        out = np.where(x >= hi, 0.0, out)
        return out[()]

    def ppf(self, q):
        """Quantile inf{x : F(x) ≥ q}; q ≤ atom maps to 0. Bracketed Newton–bisection in θ."""
        q = np.asarray(q, dtype=np.float64)
        if np.any(np.isnan(q)) or np.any((q < 0) | (q > 1)):
            raise RegimesError("q must be probabilities in [0, 1]")
        atom = self.atom
        norm = 2.0 * np.pi * self._ratio
        target = (q - atom) * norm  # value of _cont_lower to reach
        flat = np.atleast_1d(target).astype(np.float64).ravel()
        lo_t = np.zeros_like(flat)
        hi_t = np.full_like(flat, np.pi)
        th = np.full_like(flat, 0.5 * np.pi)
        g = self._ratio
        c, h = 1.0 + g, 2.0 * math.sqrt(g)
        need = flat > 0
        for _ in range(200):
            f = self._cont_lower(th) - flat
            # maintain the bracket
            lo_t = np.where(f <= 0, th, lo_t)
            hi_t = np.where(f > 0, th, hi_t)
            # derivative dF/dθ = h² sin²θ/(c − h cos θ)
            with np.errstate(divide="ignore", invalid="ignore"):
                deriv = h * h * np.sin(th) ** 2 / (c - h * np.cos(th))
                step = th - f / deriv
            bad = ~np.isfinite(step) | (step <= lo_t) | (step >= hi_t)
            new = np.where(bad, 0.5 * (lo_t + hi_t), step)
            done = np.abs(new - th) <= 1e-15 * np.maximum(1.0, np.abs(th))
            th = new
            if np.all(done | ~need | (hi_t - lo_t <= 4e-16)):
                break
        u = c - h * np.cos(th)
        x = self._variance * u
        lo, hi = self.support
        x = np.clip(x, lo, hi)
        x = np.where(need, x, 0.0 if atom > 0 else lo)
        qf = np.atleast_1d(q).ravel()
        x = np.where(qf >= 1.0, hi, x)
        return x.reshape(np.shape(q))[()]

    def isf(self, q):
        """Inverse survival function, ppf(1 − q)."""
        q = np.asarray(q, dtype=np.float64)
        return self.ppf(1.0 - q)

    def rvs(self, size=None, rng=None):
        """Samples by inversion (ppf of uniforms); the atom at 0 is included. Seeded by ``rng``."""
        gen = check_rng(rng)
        u = gen.random(size)
        return self.ppf(u)

    def stieltjes(self, z):
        """m(z) = ∫ρ(dx)/(x − z) for complex z off the support (atom included)."""
        z = np.asarray(z, dtype=np.complex128)
        lo, hi = self.support
        s2, g = self._variance, self._ratio
        b = z - s2 * (1.0 - g)
        root = np.sqrt(z - hi) * np.sqrt(z - lo)
        plus, minus = b + root, root - b
        # two algebraically equal forms of the same root; take the one without cancellation
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where(np.abs(plus) >= np.abs(minus), -2.0 / plus,
                         minus / (2.0 * s2 * g * z))
        return m[()]
