"""``Estimate``: one measured or computed number with its standard error, interval and definition."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ._errors import RegimesError
from ._validate import replace_checked
from .tables import ESTIMATE_COLUMNS, TableMixin, estimate_row

__all__ = ["Estimate"]

_NAN2 = (math.nan, math.nan)


def _number(name: str, value) -> float:
    """``value`` as a float; NaN and ±inf allowed (an estimate may not exist), text, booleans,
    None and complex numbers refused."""
    if value is None or isinstance(value, str | bytes | bool | np.bool_ | complex | np.complexfloating):
        raise RegimesError(f"{name} must be a real number (NaN when there is none), got {value!r:.60}")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise RegimesError(f"{name} must be a real number (NaN when there is none), got {value!r:.60}") from None


@dataclass(frozen=True)
class Estimate(TableMixin):
    """A number with its uncertainty: ``value``, standard error ``se``, interval ``ci``.

    Parameters
    ----------
    value : float
        The estimate (NaN when it does not exist, e.g. no speciation time; the notes say why).
    se : float
        Standard error (NaN when none).
    ci : (float, float)
        Interval (NaN ends when none); its level is the analysis' ``confidence``.
    definition : str, optional
        What the number is (e.g. ``"φ_C(t) = 1/2"``).
    notes : tuple of str
        Caveats that belong to this number.
    details : mapping
        Further named quantities of the estimator (e.g. ``variance`` of the Gaussian formula,
        ``bracket`` of a crossing); written into :meth:`to_dict`.
    """

    value: float
    se: float = math.nan
    ci: tuple[float, float] = _NAN2
    definition: str | None = None
    notes: tuple[str, ...] = ()
    details: Mapping = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "value", _number("value", self.value))
        object.__setattr__(self, "se", _number("se", self.se))
        ci = self.ci
        if isinstance(ci, str | bytes | Mapping) or not hasattr(ci, "__len__") or len(ci) != 2:
            raise RegimesError(f"ci must be a (low, high) pair, got {ci!r:.60}")
        object.__setattr__(self, "ci", (_number("ci[0]", ci[0]), _number("ci[1]", ci[1])))
        notes = () if isinstance(self.notes, str | bytes) else tuple(self.notes)
        if isinstance(self.notes, str | bytes) or not all(isinstance(x, str) for x in notes):
            raise RegimesError(f"notes must be a tuple of strings, got {self.notes!r:.60}")
        object.__setattr__(self, "notes", notes)
        if self.definition is not None and not isinstance(self.definition, str):
            raise RegimesError(f"definition must be a string or None, got {self.definition!r:.60}")
        if not isinstance(self.details, Mapping):
            raise RegimesError(f"details must be a mapping, got {type(self.details).__name__}")
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def replace(self, **changes) -> Estimate:
        """A copy with ``changes`` applied (the object itself is immutable; an unknown field is a
        :class:`RegimesError` listing the allowed ones)."""
        return replace_checked(self, changes)

    def as_table(self):
        """``(title, columns, rows)``: one row (value, se, interval, definition), for notebooks and
        ``to_frame()``."""
        return None, ESTIMATE_COLUMNS, [estimate_row("estimate", self)]

    def to_dict(self) -> dict:
        """``{"value", "se", "ci", ["definition"], ["notes"], **details}`` (NaN kept as NaN)."""
        out = {"value": self.value, "ci": [self.ci[0], self.ci[1]], "se": self.se}
        if self.definition is not None:
            out["definition"] = self.definition
        if self.notes:
            out["notes"] = list(self.notes)
        out.update(self.details)
        return out
