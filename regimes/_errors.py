"""The single exception and warning family of regimes."""

from __future__ import annotations


class RegimesError(ValueError):
    """Bad input to a regimes function: the message names the parameter, the value and what is allowed."""


class RegimesWarning(UserWarning):
    """A result that is defined but needs attention (e.g. no speciation because Λ ≤ 1)."""
