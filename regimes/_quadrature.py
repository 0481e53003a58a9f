"""Gauss–Hermite rules for Gaussian expectations E[g(z)], z ~ N(0, 1)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=16)
def gauss_hermite_normal(order: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with ``sum(w * g(x)) ≈ E[g(z)]`` for z ~ N(0, 1).

    Probabilists' Hermite rule (weight exp(-x²/2)) normalised by √(2π); exact for polynomials of
    degree < 2·order. Returned arrays are read-only and cached.
    """
    x, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / np.sqrt(2.0 * np.pi)
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def gaussian_expectation(func, order: int = 160, axis_shape: tuple[int, ...] = ()) -> np.ndarray:
    """E[func(z)] for z ~ N(0, 1); ``func`` receives the nodes broadcast as shape (order, 1, ..., 1)."""
    x, w = gauss_hermite_normal(order)
    z = x.reshape((-1,) + (1,) * len(axis_shape))
    vals = func(z)
    return np.tensordot(w, vals, axes=(0, 0))
