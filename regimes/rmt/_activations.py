"""Activations of the random-features model, with the abscissae of their kinks.

The Gaussian expectations of an activation are taken by :func:`regimes._quadrature.gaussian_expect`:
Gauss–Hermite for smooth activations, panel-wise Gauss–Legendre split at the kinks (ReLU) so that
the quadrature converges exponentially for them as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .._errors import RegimesError

ACTIVATIONS = ("tanh", "relu", "erf")


@dataclass(frozen=True)
class Activation:
    """A vectorised activation with the abscissae of its kinks (non-smooth points)."""

    name: str
    func: object
    kinks: tuple[float, ...] = ()
    user: bool = False  # a user callable (smoothness is checked when it declares no kinks)

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
        return Activation(base.name, base.func, ks, base.user)  # still a user callable
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
