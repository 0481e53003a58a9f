"""Shared output helpers for the CLI: JSON on stdout, rich tables for people, errors on stderr."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


def fail(message: str, status: int = 2) -> int:
    """Print one line ``regimes: error: ...`` on stderr and return the exit status."""
    line = " ".join(str(message).split())
    print(f"regimes: error: {line}", file=sys.stderr)
    return status


def warn(message: str) -> None:
    print(f"regimes: warning: {' '.join(str(message).split())}", file=sys.stderr)


def emit_json(payload: Mapping[str, Any], *, warn_nonfinite: bool = True) -> None:
    """Print one JSON object on stdout (full-precision floats, NaN/inf as null + a warning)."""
    from regimes import __version__
    from regimes.report import CONVENTIONS, to_jsonable

    nans: list[str] = []
    body = {"version": __version__, **to_jsonable(payload, nans)}
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


# ---------------------------------------------------------------------- figures
#: Figure formats of ``--out``, by suffix.
FORMATS = (".png", ".pdf", ".svg")


def check_out(out: str | None) -> Path | None:
    """Validate ``--out`` before any work: known suffix, existing parent folder."""
    from regimes import RegimesError

    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise RegimesError(
            f"--out: unsupported figure format {path.suffix or '(no suffix)'!r} in "
            f"{out!r}; use one of {', '.join(FORMATS)}"
        )
    if not path.parent.exists():
        raise RegimesError(f"--out: folder {str(path.parent)!r} does not exist")
    return path


def use_agg() -> None:
    """Draw without a display (the Agg backend): the CLI only writes figures to files."""
    import matplotlib

    matplotlib.use("Agg")


def save_figure(fig, path: Path, dpi: int = 150) -> None:
    """Write ``fig`` to ``path`` (format from the suffix) and close it."""
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)


def make_out_dir(out) -> Path:
    """The ``--out`` directory, created if needed (one-line error when it cannot be)."""
    from regimes import RegimesError

    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RegimesError(f"--out {str(path)!r}: cannot create the directory ({exc.strerror})") from None
    return path


def write_report(result, out_dir) -> dict:
    """Write ``report.json``, ``report.md``, ``curves.png``, ``timeline.png`` (and ``hierarchy.png`` with
    three classes or more) of an analysis into ``out_dir``.

    Returns ``{name: path}``. The JSON carries the package version and the conventions.
    """
    from regimes import __version__
    from regimes.plot.curves import plot_curves
    from regimes.plot.timeline import plot_timeline
    from regimes.report import ANALYSIS_CONVENTIONS, markdown_report, to_jsonable

    use_agg()
    out = make_out_dir(out_dir)
    d = result.to_dict()
    body = {"version": __version__, **to_jsonable(d), "conventions": ANALYSIS_CONVENTIONS}
    paths = {"json": out / "report.json", "markdown": out / "report.md",
             "curves": out / "curves.png", "timeline": out / "timeline.png"}
    paths["json"].write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    paths["markdown"].write_text(markdown_report(d))
    save_figure(plot_curves(result), paths["curves"], dpi=120)
    t_C = result.headline_t_C if not math.isnan(result.headline_t_C) else result.t_C["spectral"].value
    cis = [d["t_S"]["ci"], d["t_C"]["commitment"]["ci"]]
    fig = plot_timeline(result.t_S.value, t_C, d["schedule"]["schedule"], d["schedule"]["steps"], intervals=cis)
    save_figure(fig, paths["timeline"], dpi=120)
    if result.class_hierarchy is not None and len(result.class_hierarchy.names) >= 3:  # a tree to draw
        from regimes.plot.hierarchy import plot_hierarchy

        paths["hierarchy"] = out / "hierarchy.png"
        save_figure(plot_hierarchy(result.class_hierarchy), paths["hierarchy"], dpi=120)
    return {k: str(v) for k, v in paths.items()}
