"""Shared output helpers for the CLI: JSON on stdout, rich tables for people, errors on stderr."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CONVENTIONS = {
    "time": "Ornstein-Uhlenbeck time t: x_t = exp(-t) x_0 + sqrt(1 - exp(-2t)) xi",
    "log": "natural",
    "steps": "zero-based array index k, alpha_bar_k = prod_{i<=k}(1 - beta_i)",
}


def fail(message: str, status: int = 2) -> int:
    """Print one line ``regimes: error: ...`` on stderr and return the exit status."""
    line = " ".join(str(message).split())
    print(f"regimes: error: {line}", file=sys.stderr)
    return status


def warn(message: str) -> None:
    print(f"regimes: warning: {' '.join(str(message).split())}", file=sys.stderr)


def jsonable(obj: Any, _path: str = "", _nans: list | None = None) -> Any:
    """Convert numpy scalars/arrays to JSON types; NaN/inf become null and are recorded."""
    import numpy as np

    if _nans is None:
        _nans = []
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, f"{_path}.{k}" if _path else str(k), _nans) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, f"{_path}[{i}]", _nans) for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if not math.isfinite(obj):
            _nans.append(_path)
            return None
        return obj
    return obj


def emit_json(payload: Mapping[str, Any], *, warn_nonfinite: bool = True) -> None:
    """Print one JSON object on stdout (full-precision floats, NaN/inf as null + a warning)."""
    from regimes._version import __version__

    nans: list[str] = []
    body = {"version": __version__, **jsonable(payload, _nans=nans)}
    body.setdefault("conventions", CONVENTIONS)
    if nans and warn_nonfinite:
        warn("non-finite values written as null: " + ", ".join(nans[:10]))
    sys.stdout.write(json.dumps(body, indent=2, allow_nan=False, ensure_ascii=False) + "\n")


def regimes_payload(intervals) -> list[dict]:
    """Regime intervals for JSON: the unbounded end of Regime I is null by design (no warning)."""
    return [{**r, "t_max": None if math.isinf(r["t_max"]) else r["t_max"]} for r in intervals]


def fmt(x: Any, digits: int = 6) -> str:
    """Format a number for a table (None/NaN as an em dash)."""
    if x is None:
        return "—"
    if isinstance(x, float):
        if math.isnan(x):
            return "—"
        if math.isinf(x):
            return "∞" if x > 0 else "-∞"
        return f"{x:.{digits}g}"
    return str(x)


def print_table(
    title: str,
    rows: Iterable[Sequence[Any]],
    columns: Sequence[str] = ("quantity", "value"),
    notes: Iterable[str] = (),
) -> None:
    """Render a rich table on stdout, followed by notes (conventions, caveats)."""
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*(fmt(v) for v in row))
    console = Console(soft_wrap=False)
    console.print(f"[bold]{title}[/bold]", highlight=False)  # not a table title: those wrap to the table width
    console.print(table)
    for note in notes:
        console.print(f"[dim]{note}[/dim]", highlight=False)
