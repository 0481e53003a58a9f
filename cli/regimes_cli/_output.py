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


#: the "steps" convention of a JSON output whose sampler is the EDM sampler (levels, no β)
EDM_STEPS_CONVENTION = (
    "EDM sampler step i = 0 ... N-1 counted from the noise end: level sigma_i = (sigma_max^(1/rho) + "
    "i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho at t_i = 1/2 ln(1 + sigma_i^2); step i goes from "
    "sigma_i to sigma_(i+1), the last (N-1) from sigma_min to sigma_N = 0 (no betas, no alpha_bar product)"
)


def conventions_for(payload: Mapping[str, Any]) -> dict:
    """The conventions block of a JSON output: the package's, with the "steps" entry of the sampler
    the payload names (its ``schedule``: the EDM sampler counts its own levels, not β steps)."""
    from regimes.report import CONVENTIONS

    sch = payload.get("schedule")
    name = sch.get("schedule") if isinstance(sch, Mapping) else sch
    if name == "edm":
        return {**CONVENTIONS, "steps": EDM_STEPS_CONVENTION}
    return dict(CONVENTIONS)


def emit_json(payload: Mapping[str, Any], *, warn_nonfinite: bool = True) -> None:
    """Print one JSON object on stdout (full-precision floats, NaN/inf as null + a warning).

    Unless the payload has its own ``conventions``, those of :func:`conventions_for` are added.
    """
    from regimes import __version__
    from regimes.report import to_jsonable

    nans: list[str] = []
    body = {"version": __version__, **to_jsonable(payload, nans)}
    body.setdefault("conventions", conventions_for(payload))
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


#: ``--format`` of the table-printing commands
TABLE_FORMATS = ("table", "csv")
FORMAT_HELP = ("How to print the table: 'table' (for people) or 'csv' (header row, full-precision numbers, "
               "empty cells for missing values; title and notes omitted).")
_table_format = ["table"]


def set_table_format(value: str | None) -> None:
    """Choose how the next :func:`print_table` prints (``--format``); checked here, one-line error."""
    from regimes import RegimesError

    value = (value or "table").strip().lower()
    if value not in TABLE_FORMATS:
        raise RegimesError(f"--format must be one of {', '.join(TABLE_FORMATS)}, got {value!r}")
    _table_format[0] = value


def _csv_cell(x: Any) -> str:
    if hasattr(x, "item") and not isinstance(x, str | bytes):  # numpy scalars (np.float64 is also a float)
        x = x.item()
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if isinstance(x, float):
        return repr(x)
    return str(x)


def table_text(columns: Sequence[str], rows: Iterable[Sequence[Any]], format: str = "csv") -> str:
    """CSV text of a table: a header row, then one line per row (full-precision floats, empty cells
    for None/NaN); the one writer of ``--format csv`` and of ``curves.csv``."""
    import csv
    import io

    if format != "csv":
        raise ValueError(f"unknown table format {format!r}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(columns))
    for row in rows:
        w.writerow([_csv_cell(v) for v in row])
    return buf.getvalue()


def print_table(
    title: str,
    rows: Iterable[Sequence[Any]],
    columns: Sequence[str] = ("quantity", "value"),
    notes: Iterable[str] = (),
) -> None:
    """Render a rich table on stdout, followed by notes (conventions, caveats); with ``--format csv``
    (:func:`set_table_format`) the rows as CSV instead.

    Every text (title, column names, cells, notes) is printed literally: rich markup in it is
    escaped, so that ``[i]`` or ``[0, 1]`` stays as written."""
    if _table_format[0] == "csv":
        sys.stdout.write(table_text(columns, rows))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table()
    for c in columns:
        table.add_column(escape(str(c)))
    for row in rows:
        table.add_row(*(escape(fmt(v)) for v in row))
    console = Console(soft_wrap=False)
    # not a table title: those wrap to the table width
    console.print(f"[bold]{escape(title)}[/bold]", highlight=False)
    console.print(table)
    for note in notes:
        console.print(f"[dim]{escape(note)}[/dim]", highlight=False)


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
    writable_folder(path.parent, "--out")
    if path.is_dir():
        raise RegimesError(f"--out {out!r} is a folder; give a file name ending in {', '.join(FORMATS)}")
    return path


def writable_folder(folder: Path, flag: str) -> None:
    """One-line error naming ``flag`` unless ``folder`` is a folder this process can write into."""
    import os

    from regimes import RegimesError

    if not folder.is_dir():
        raise RegimesError(f"{flag}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RegimesError(f"{flag}: folder {str(folder)!r} is not writable")


def check_out_dir(out) -> Path:
    """Validate a report directory ``--out`` before any work: an existing writable folder (not a
    symlink, not a file), or a new one whose nearest existing parent is a writable folder."""
    from regimes import RegimesError

    path = Path(out)
    if path.is_symlink():
        raise RegimesError(f"--out {str(out)!r} is a symlink; give the directory itself")
    if path.exists():
        writable_folder(path, "--out")
        return path
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    writable_folder(parent, "--out")
    return path


def use_agg() -> None:
    """Draw without a display (the Agg backend): the CLI only writes figures to files."""
    import matplotlib

    matplotlib.use("Agg")


def save_figure(fig, path: Path, dpi: int = 150) -> None:
    """Write ``fig`` to ``path`` (format from the suffix) and close it."""
    import os
    import tempfile

    import matplotlib
    import matplotlib.pyplot as plt

    path = Path(path)
    fmt_ = path.suffix.lower().lstrip(".") or "png"
    # deterministic files: no date in SVG/PDF, fixed SVG ids; written whole to a temporary file
    # beside the target, then renamed over it (a reader never sees half a figure)
    meta = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}.get(fmt_)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with matplotlib.rc_context({"svg.hashsalt": "regimes"}):
            fig.savefig(tmp, dpi=dpi, format=fmt_, metadata=meta)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's file is private (0600); a figure is not
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def current_umask() -> int:
    """The process's file-creation mask (read by setting it and setting it back)."""
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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
    ``curves.csv`` holds t and every curve with its standard error (see :func:`curves_csv`).

    The matplotlib backend is left as it is (a notebook keeps its own): the figures are drawn with
    interactive mode off and closed once written.
    """
    import matplotlib.pyplot as plt

    with plt.ioff():
        return _atomic_report(result, out_dir)


#: Files a report may hold: a new report replaces all of them (no stale figure of an earlier run).
REPORT_FILES = ("report.json", "report.md", "curves.csv", "curves.png", "timeline.png", "hierarchy.png")


def _atomic_report(result, out_dir) -> dict:
    """Write the report into a temporary sibling of ``out_dir``, then move it into place: the
    directory holds either the whole new report or the old one (never a mix), and no symlink is
    followed (``out_dir`` itself must not be one; files are renamed over, never written through)."""
    import os
    import shutil
    import tempfile

    final = check_out_dir(out_dir).absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    others = [p for p in final.iterdir() if p.name not in REPORT_FILES] if final.exists() else []
    # only an earlier report (or nothing), in a folder whose parent we may write: swap the whole
    # directory; otherwise the new files are written inside it and renamed over the old ones
    swap = not others and final != Path.cwd().absolute() and os.access(final.parent, os.W_OK | os.X_OK)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.new-", dir=final.parent if swap else final))
    try:
        written = _write_report(result, tmp)
        names = {k: Path(v).name for k, v in written.items()}
        if swap:
            os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp's folder is private (0700)
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            if final.exists():
                os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:  # replace the report's files one by one, drop stale ones
            for name in REPORT_FILES:
                if name not in names.values() and (final / name).is_file():
                    (final / name).unlink()
            for name in names.values():
                os.replace(tmp / name, final / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {k: str(Path(out_dir) / v) for k, v in names.items()}


def curves_csv(curves) -> str:
    """CSV text of an :class:`regimes.analysis.AnalysisCurves` (or its ``to_dict()``): a header
    ``t,excess_entropy,excess_entropy_se,commitment,commitment_se[,class_commitment,class_commitment_se]``,
    one row per time, full precision (``repr`` of the floats), NaN written as an empty cell
    (``numpy.genfromtxt(..., delimiter=',', names=True)`` reads it back as NaN)."""
    d = curves.to_dict() if hasattr(curves, "to_dict") else dict(curves)
    cols = [k for k, v in d.items() if v is not None]
    return table_text(cols, zip(*(list(map(float, d[k])) for k in cols), strict=True), "csv")


def _write_report(result, out_dir) -> dict:
    from regimes import __version__
    from regimes.plot.curves import plot_curves
    from regimes.plot.timeline import plot_timeline
    from regimes.report import ANALYSIS_CONVENTIONS, markdown_report, to_jsonable

    out = make_out_dir(out_dir)
    d = result.to_dict()
    conv = {**ANALYSIS_CONVENTIONS, "steps": conventions_for(d)["steps"]}  # the EDM sampler's own
    body = {"version": __version__, **to_jsonable(d), "conventions": conv}
    paths = {"json": out / "report.json", "markdown": out / "report.md",
             "curves": out / "curves.png", "timeline": out / "timeline.png"}
    paths["json"].write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    paths["markdown"].write_text(markdown_report(d))
    paths["csv"] = out / "curves.csv"
    paths["csv"].write_text(curves_csv(result.curves))
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
