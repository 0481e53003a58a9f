"""Quadrature rules shared by the library: Gauss–Hermite for Gaussian expectations, Gauss–Legendre
on finite intervals, and Gaussian expectations of functions with kinks (panel-wise Legendre).

The rules are cached and returned read-only, so every caller integrates with the same nodes and
weights.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["gauss_hermite_normal", "gauss_legendre", "gaussian_expect"]

_TAIL = 13.0  # |z| beyond which the N(0, 1) weight is < 1e-36


@lru_cache(maxsize=16)
def gauss_hermite_normal(order: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with ``sum(w * g(x)) ≈ E[g(z)]`` for z ~ N(0, 1).

    Probabilists' Hermite rule (weight exp(-x²/2)) normalised by √(2π); exact for polynomials of
    degree < 2·order. Returned arrays are read-only and cached.
    """
    if order <= 360:
        x, w = np.polynomial.hermite_e.hermegauss(order)
        w = w / np.sqrt(2.0 * np.pi)
    else:  # numpy's recursion overflows above ~371 nodes (NaN); scipy's rule is asymptotic there
        from scipy.special import roots_hermitenorm

        x, w = roots_hermitenorm(order)
        w = w / np.sqrt(2.0 * np.pi)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


@lru_cache(maxsize=16)
def gauss_legendre(order: int, half_width: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on ``[-half_width, half_width]``.

    ``sum(w * g(x)) ≈ ∫ g(x) dx`` over the interval; exact for polynomials of degree < 2·order.
    With the default ``half_width = 1`` the rule is ``numpy.polynomial.legendre.leggauss(order)``
    unchanged. Returned arrays are read-only and cached.
    """
    x, w = np.polynomial.legendre.leggauss(order)
    if half_width != 1.0:
        x, w = x * half_width, w * half_width
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def gaussian_panels(breaks, order: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with ``sum(w * g(z)) ≈ E[g(z)]`` for z ~ N(0, 1), from Gauss–Legendre
    panels of ``order`` nodes on ``|z| <= 13`` cut at ``breaks``: for a g that is smooth but
    varies quickly near those points (a smoothed kink), where a Gauss–Hermite rule cannot resolve it."""
    pts = sorted({float(np.clip(b, -_TAIL, _TAIL)) for b in breaks} | {-_TAIL, _TAIL})
    xl, wl = gauss_legendre(order)
    z, w = zip(*(_panel(lo, hi, xl, wl) for lo, hi in zip(pts[:-1], pts[1:], strict=True)), strict=True)
    return np.concatenate(z), np.concatenate(w)


def _panel(lo, hi, xl, wl):
    """Gauss–Legendre nodes on [lo, hi] (arrays: one panel per element) and their weights times
    the N(0, 1) density."""
    half = 0.5 * (hi - lo)
    zz = 0.5 * (hi + lo) + half * xl
    return zz, wl * half * (np.exp(-0.5 * zz * zz) / np.sqrt(2.0 * np.pi))


def gaussian_expect(f, shift, scale, kinks=(), order: int = 160):
    """E_z[f(shift + scale·z, z)] for z ~ N(0, 1), vectorised over the array ``shift``.

    ``f(x, z)`` receives the argument ``x = shift + scale·z`` and the Gaussian variable ``z`` (so
    that moments such as E[z σ(·)] are available). Without ``kinks`` a Gauss–Hermite rule of
    ``order`` nodes is used. With ``kinks`` (points in x where f is not smooth) the line
    ``|z| <= 13`` is cut at the kinks and each panel uses a Gauss–Legendre rule of ``order`` nodes,
    so that the quadrature converges exponentially across a kink as well (a plain Gauss–Hermite
    rule converges only algebraically there).
    """
    shift = np.asarray(shift, dtype=np.float64)
    if not kinks or scale == 0.0:
        z, w = gauss_hermite_normal(order)
        zz = z.reshape((-1,) + (1,) * shift.ndim)
        return np.tensordot(w, f(shift + scale * zz, zz), axes=(0, 0))
    # panels in z: [-T, k_1, ..., k_m, T] with k_j = (kink_j - shift)/scale clipped to [-T, T]
    cuts = [np.clip((k - shift) / scale, -_TAIL, _TAIL) for k in sorted(kinks)]
    edges = [np.full(shift.shape, -_TAIL)] + cuts + [np.full(shift.shape, _TAIL)]
    xl, wl = gauss_legendre(order)
    xl = xl.reshape((-1,) + (1,) * shift.ndim)
    wl = wl.reshape((-1,) + (1,) * shift.ndim)
    total = np.zeros(shift.shape)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        zz, ww = _panel(lo, hi, xl, wl)
        total = total + np.sum(ww * f(shift + scale * zz, zz), axis=0)
    return total
