"""Activations and the Gaussian expectations needed by the random-features constants.

Smooth activations use Gauss–Hermite quadrature; activations with kinks (ReLU) are integrated
panel by panel with Gauss–Legendre rules split at the kinks, so that the quadrature converges
exponentially for them as well (a plain Gauss–Hermite rule converges only algebraically across
a kink).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from .._errors import RegimesError
from .._quadrature import gauss_hermite_normal

ACTIVATIONS = ("tanh", "relu", "erf")
_TAIL = 13.0  # |z| beyond which the N(0, 1) weight is < 1e-36


@dataclass(frozen=True)
class Activation:
    """A vectorised activation with the abscissae of its kinks (non-smooth points)."""

    name: str
    func: object
    kinks: tuple[float, ...] = ()
    user: bool = False  # a user callable without declared kinks (smoothness is checked)

    def __call__(self, x):
        return self.func(x)


def _relu(x):
    return np.maximum(x, 0.0)


def get_activation(activation, kinks=None) -> Activation:
    """Turn "tanh" | "relu" | "erf" | a vectorised callable into an :class:`Activation`.

    ``kinks``: abscissae where a callable is not smooth (e.g. (0.0,) for a ReLU-like lambda), so
    that its Gaussian expectations are integrated panel-wise (only for callables)."""
    if kinks is not None:
        if isinstance(activation, str) or not callable(activation):
            raise RegimesError(f"kinks applies to a callable activation only, got activation="
                               f"{activation!r}")
        try:
            ks = tuple(sorted(float(k) for k in kinks))
        except (TypeError, ValueError):
            raise RegimesError(f"kinks must be a sequence of finite numbers, got {kinks!r}") from None
        if not all(np.isfinite(ks)):
            raise RegimesError(f"kinks must be a sequence of finite numbers, got {kinks!r}")
        base = get_activation(activation)
        return Activation(base.name, base.func, ks)
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = activation.strip().lower()
        if key == "tanh":
            return Activation("tanh", np.tanh)
        if key == "relu":
            return Activation("relu", _relu, (0.0,))
        if key == "erf":
            return Activation("erf", special.erf)
        raise RegimesError(
            f"activation must be one of {', '.join(ACTIVATIONS)} or a vectorised callable, "
            f"got {activation!r}")
    if callable(activation):
        probe = np.asarray(activation(np.linspace(-1.0, 1.0, 5)), dtype=np.float64)
        if probe.shape != (5,) or not np.all(np.isfinite(probe)):
            raise RegimesError("a callable activation must map a float array to a finite float "
                               "array of the same shape")
        return Activation(getattr(activation, "__name__", "callable"), activation, (), True)
    raise RegimesError(
        f"activation must be one of {', '.join(ACTIVATIONS)} or a vectorised callable, "
        f"got {activation!r}")


@lru_cache(maxsize=8)
def _legendre(order: int):
    x, w = np.polynomial.legendre.leggauss(order)
    return x, w


def gaussian_expect(f, shift, scale, kinks=(), order: int = 160):
    """E_z[f(shift + scale·z, z)] for z ~ N(0, 1), vectorised over the array ``shift``.

    ``f(x, z)`` receives the activation argument and the Gaussian variable (so that moments
    such as E[z σ(·)] are available). With ``kinks`` (points in x where f is not smooth) the
    real line is cut at the kinks and each panel uses a Gauss–Legendre rule.
    """
    shift = np.asarray(shift, dtype=np.float64)
    if not kinks or scale == 0.0:
        z, w = gauss_hermite_normal(order)
        zz = z.reshape((-1,) + (1,) * shift.ndim)
        return np.tensordot(w, f(shift + scale * zz, zz), axes=(0, 0))
    # panels in z: [-T, k_1, ..., k_m, T] with k_j = (kink_j - shift)/scale clipped to [-T, T]
    cuts = [np.clip((k - shift) / scale, -_TAIL, _TAIL) for k in sorted(kinks)]
    edges = [np.full(shift.shape, -_TAIL)] + cuts + [np.full(shift.shape, _TAIL)]
    xl, wl = _legendre(order)
    xl = xl.reshape((-1,) + (1,) * shift.ndim)
    wl = wl.reshape((-1,) + (1,) * shift.ndim)
    total = np.zeros(shift.shape)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        half = 0.5 * (hi - lo)
        zz = 0.5 * (hi + lo) + half * xl
        dens = np.exp(-0.5 * zz * zz) / np.sqrt(2.0 * np.pi)
        total = total + np.sum(wl * half * dens * f(shift + scale * zz, zz), axis=0)
    return total
