"""``Estimate``: one measured or computed number with its standard error, interval and definition."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from .tables import ESTIMATE_COLUMNS, TableMixin, estimate_row

__all__ = ["Estimate"]

_NAN2 = (math.nan, math.nan)


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
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "se", float(self.se))
        object.__setattr__(self, "ci", (float(self.ci[0]), float(self.ci[1])))
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def replace(self, **changes) -> Estimate:
        """A copy with ``changes`` applied (the object itself is immutable)."""
        return replace(self, **changes)

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
