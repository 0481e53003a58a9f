"""Results as tables: notebook display (``_repr_html_``, ``_repr_markdown_``) and ``to_frame()``.

A result class inherits :class:`TableMixin` and defines :meth:`TableMixin.as_table`, returning
``(title, columns, rows)``; the mixin renders it as HTML or Markdown (numbers to 6 significant
digits, missing values as an em dash) and as a pandas DataFrame (full precision, NaN kept).
pandas is optional (``pip install pandas``) and imported only by ``to_frame``.
"""

from __future__ import annotations

import abc
import html
import math

from ._errors import RegimesError

__all__ = ["ESTIMATE_COLUMNS", "TableMixin", "estimate_row", "html_table", "markdown_table", "to_frame"]

#: the columns of a table of estimates
ESTIMATE_COLUMNS = ("quantity", "value", "se", "ci_low", "ci_high", "definition")


def _cell(x) -> str:
    if x is None:
        return "—"
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if isinstance(x, float):
        if math.isnan(x):
            return "—"
        return f"{x:.6g}"
    return str(x)


def markdown_table(title, columns, rows) -> str:
    """A Markdown table (``|`` in cells escaped), under a bold title when one is given."""
    esc = [[_cell(v).replace("|", "\\|") for v in row] for row in rows]
    lines = [f"**{title}**", ""] if title else []
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(r) + " |" for r in esc]
    return "\n".join(lines) + "\n"


def html_table(title, columns, rows) -> str:
    """An HTML table with a caption (escaped)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    cap = f"<caption style='text-align:left'><b>{html.escape(title)}</b></caption>" if title else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_frame(columns, rows):
    """A pandas DataFrame of the rows (pandas needed)."""
    try:
        import pandas as pd
    except ImportError:
        raise RegimesError("to_frame() needs pandas: `pip install pandas` (or use to_dict())") from None
    return pd.DataFrame([list(r) for r in rows], columns=list(columns))


def estimate_row(name, est, definition=None) -> tuple:
    """``(quantity, value, se, ci_low, ci_high, definition)`` of an Estimate."""
    if est is None:
        return (name, math.nan, math.nan, math.nan, math.nan, definition)
    return (name, est.value, est.se, est.ci[0], est.ci[1], est.definition if definition is None else definition)


class TableMixin(abc.ABC):
    """Notebook display and ``to_frame()`` from :meth:`as_table` (abstract: a result class
    that forgets it cannot be instantiated)."""

    @abc.abstractmethod
    def as_table(self):
        """``(title, columns, rows)``."""

    def _repr_html_(self) -> str:
        return html_table(*self.as_table())

    def _repr_markdown_(self) -> str:
        return markdown_table(*self.as_table())

    def to_frame(self):
        """The table as a pandas DataFrame (full precision; needs pandas)."""
        _, columns, rows = self.as_table()
        return to_frame(columns, rows)
