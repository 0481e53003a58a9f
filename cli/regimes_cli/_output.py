"""Shared output helpers for the CLI: JSON on stdout, rich tables for people, errors on stderr."""

from __future__ import annotations

import contextlib
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


def note(message: str) -> None:
    """One line ``regimes: note: ...`` on stderr: something done on purpose that the user should know."""
    print(f"regimes: note: {' '.join(str(message).split())}", file=sys.stderr)


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


def analysis_conventions(payload: Mapping[str, Any]) -> dict:
    """The conventions of an analysis (``analyze --json`` and ``report.json`` alike): the package's
    analysis conventions, the "steps" of the payload's sampler and what se and ci are per estimate."""
    from regimes.report import ANALYSIS_CONVENTIONS

    return {**ANALYSIS_CONVENTIONS, "steps": conventions_for(payload)["steps"]}


#: at most this many paths are named by the non-finite warning of :func:`emit_json`
NONFINITE_SHOWN = 10


def nonfinite_text(paths: Sequence[str], shown: int = NONFINITE_SHOWN) -> str:
    """``"a, b, c … (N more)"``: the first ``shown`` paths, then how many were left out."""
    more = len(paths) - shown
    return ", ".join(paths[:shown]) + (f" … ({more} more)" if more > 0 else "")


def emit_json(payload: Mapping[str, Any], *, warn_nonfinite: bool = True, conventions: Mapping | None = None) -> None:
    """Print one JSON object on stdout (full-precision floats, NaN/inf as null + a warning).

    ``conventions`` (default: the payload's own, else those of :func:`conventions_for`) come last.
    """
    from regimes import __version__
    from regimes.report import to_jsonable

    nans: list[str] = []
    body = {"version": __version__, **to_jsonable(payload, nans)}
    if conventions is not None:
        body.pop("conventions", None)
        body["conventions"] = dict(conventions)
    body.setdefault("conventions", conventions_for(payload))
    if nans and warn_nonfinite:
        warn("non-finite values written as null: " + nonfinite_text(nans))
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

    value = "table" if value is None else value.strip().lower()  # None: the default; "" is refused
    if value not in TABLE_FORMATS:
        raise RegimesError(f"--format must be one of {', '.join(TABLE_FORMATS)}, got {value!r}")
    _table_format[0] = value


def current_table_format() -> str:
    """How the next :func:`print_table` prints: ``"table"`` or ``"csv"`` (:func:`set_table_format`), for a
    command whose CSV columns differ from its table's (``analyze`` splits its intervals into numbers)."""
    return _table_format[0]


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


def check_out(out: str | None, flag: str = "--out") -> Path | None:
    """Validate ``--out`` before any work: known suffix, existing parent folder in which a file can
    really be created (see :func:`check_out_file`)."""
    from regimes import RegimesError

    if out is None:
        return None
    not_empty_path(out, flag)
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise RegimesError(
            f"{flag}: unsupported figure format {path.suffix or '(no suffix)'!r} in "
            f"{out!r}; use one of {', '.join(FORMATS)}"
        )
    return check_out_file(out, flag, hint=f" ending in {', '.join(FORMATS)}")


def not_empty_path(value, flag: str) -> None:
    """Refuse an empty (or blank) path ``flag``: ``Path("")`` would silently mean the current folder."""
    from regimes import RegimesError

    if value is not None and not str(value).strip():
        raise RegimesError(f"{flag}: empty path {str(value)!r}; give a file or folder name")


def check_out_file(out, flag: str, hint: str = "") -> Path:
    """Validate an output file ``flag`` before any work: not a folder, its parent an existing folder
    in which an entry can really be created (probed, then removed), its name within the file
    system's length limits. One-line errors naming ``flag``."""
    from regimes import RegimesError

    not_empty_path(out, flag)
    path = Path(out)
    parent = nearest_existing(path.absolute().parent)
    check_name_lengths(path, parent, flag)  # first: a too long name makes every stat of it fail
    if parent != path.absolute().parent:
        raise RegimesError(f"{flag}: folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise RegimesError(f"{flag} {str(out)!r} is a folder; give a file name{hint}")
    writable_folder(parent, flag)
    return path


def nearest_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (a name the system refuses to stat does not)."""
    import os

    path = path.absolute()
    while path != path.parent:
        try:
            os.lstat(path)
            return path
        except OSError:
            path = path.parent
    return path


def check_name_lengths(path: Path, base: Path, flag: str) -> None:
    """One-line error naming ``flag`` when a component of ``path`` below the existing folder ``base``
    is longer than the file system allows (NAME_MAX bytes), or the whole path is (PATH_MAX)."""
    import os

    from regimes import RegimesError

    def limit(name: str, default: int) -> int:
        try:
            return int(os.pathconf(base, name))
        except (OSError, ValueError):
            return default

    full = path.absolute()
    name_max, path_max = limit("PC_NAME_MAX", 255), limit("PC_PATH_MAX", 4096)
    parts = full.parts[len(base.absolute().parts):]
    for part in parts:
        size = len(os.fsencode(part))
        if size > name_max:
            shown = part if len(part) <= 40 else part[:40] + "…"
            raise RegimesError(f"{flag}: the name {shown!r} is {size} bytes long; this file system allows "
                               f"at most {name_max}")
    if len(os.fsencode(str(full))) >= path_max:
        raise RegimesError(f"{flag}: the path is {len(os.fsencode(str(full)))} bytes long; this file system "
                           f"allows less than {path_max}")


def writable_folder(folder: Path, flag: str) -> None:
    """One-line error naming ``flag`` unless ``folder`` is a folder in which this process can really
    create an entry: a temporary folder is created there and removed (``os.access`` alone says yes
    to root on a read-only file system, ``/sys`` or ``/proc``)."""
    import os
    import tempfile

    from regimes import RegimesError

    if not folder.is_dir():
        raise RegimesError(f"{flag}: {str(folder)!r} is not a folder")
    try:
        probe = tempfile.mkdtemp(prefix=".regimes-probe-", dir=folder)
    except OSError as exc:
        raise RegimesError(f"{flag}: cannot create files in folder {str(folder)!r} ({exc.strerror or exc})") from None
    try:
        os.rmdir(probe)
    except OSError:
        pass


def check_out_dir(out, flag: str = "--out") -> Path:
    """Validate a report directory ``--out`` before any work: an existing writable folder (not a
    symlink, not a file), or a new one whose nearest existing parent is a writable folder and whose
    names fit the file system (both probed by creating and removing a temporary entry)."""
    from regimes import RegimesError

    not_empty_path(out, flag)
    path = Path(out)
    base = nearest_existing(path)
    check_name_lengths(path, base, flag)  # first: a too long name makes every stat of it fail
    if path.is_symlink():
        raise RegimesError(f"{flag} {str(out)!r} is a symlink; give the directory itself")
    writable_folder(base, flag)  # the folder itself, or the nearest existing parent of a new one
    return path


def short_name(name: str) -> str:
    """``name`` cut for a temporary sibling's name (which must stay within NAME_MAX)."""
    return name[:40]


@contextlib.contextmanager
def atomic_target(path: Path):
    """Yield a temporary path beside ``path``; when the block succeeds it is renamed over ``path``
    with the mode a plain ``open(path, "w")`` would give (a reader never sees half a file, and an
    earlier file stays intact when the write fails); it is removed in any case."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{short_name(path.name)}.", suffix=".tmp", dir=path.absolute().parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's file is private (0600)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (:func:`atomic_target`)."""
    path = Path(path)
    try:
        with atomic_target(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    except OSError as exc:
        raise _not_written(exc, path) from None


def _not_written(exc: OSError, path) -> OSError:
    """A failed atomic write, named by the file the user asked for (not the temporary one) and saying
    that nothing was written."""
    return OSError(exc.errno, f"{exc.strerror or exc} (nothing written; any earlier file is kept)", str(path))


def steps_label(schedule: str, steps: int, sep: str = " = ") -> str:
    """``T = 1000`` for a discrete schedule, ``N = 18`` for the EDM sampler (its number of levels)."""
    return f"{'N' if schedule == 'edm' else 'T'}{sep}{steps}"


def time_range_text(t_min, t_max, digits: int = 4) -> str:
    """``"a < t < b"`` for a table, an unbounded end written ∞ (as every CLI table writes it)."""
    return f"{fmt(float(t_min), digits)} < t < {fmt(float('inf') if t_max is None else float(t_max), digits)}"


def use_agg() -> None:
    """Draw without a display (the Agg backend): the CLI only writes figures to files."""
    import matplotlib

    matplotlib.use("Agg")


def save_figure(fig, path: Path, dpi: int = 150) -> None:
    """Write ``fig`` to ``path`` (format from the suffix) and close it."""
    import matplotlib
    import matplotlib.pyplot as plt

    path = Path(path)
    fmt_ = path.suffix.lower().lstrip(".") or "png"
    # deterministic files: no date in SVG/PDF, fixed SVG ids; written whole to a temporary file
    # beside the target, then renamed over it (a reader never sees half a figure)
    meta = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}.get(fmt_)
    try:
        with atomic_target(path) as tmp, matplotlib.rc_context({"svg.hashsalt": "regimes"}):
            fig.savefig(tmp, dpi=dpi, format=fmt_, metadata=meta)
    except OSError as exc:  # e.g. a full disk: the figure's own name, as for the text outputs
        raise _not_written(exc, path) from None
    finally:
        plt.close(fig)


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


def in_words(payload: dict, words=None) -> dict:
    """``payload`` with its top-level ``notes`` put in the caller's words (``words``, e.g.
    ``as_cli_words``); as it is without ``words``. The command line's ``--json`` and its
    ``report.json`` go through it alike, so the two stay equal."""
    if words is None or not payload.get("notes"):
        return payload
    return {**payload, "notes": [words(n) for n in payload["notes"]]}


def write_report(result, out_dir, sampler=None, words=None) -> dict:
    """Write ``report.json``, ``report.md``, ``curves.png``, ``timeline.png`` (and ``hierarchy.png`` with
    three classes or more) of an analysis into ``out_dir``.

    Returns ``{name: path}``. The JSON carries the package version and the conventions.
    ``curves.csv`` holds t and every curve with its standard error (see :func:`curves_csv`).
    ``sampler``: the schedule object the analysis used (needed for ``--betas``,
    ``--alphas-cumprod`` or ``--scheduler-config``, which no name rebuilds); default: rebuilt from
    the schedule's name and steps. ``words``: a function putting the library's texts of ``report.md`` in
    the caller's words (the command line passes ``as_cli_words``: ``(times=)`` → ``(--times)``),
    and to the notes of ``report.json``.

    The matplotlib backend is left as it is (a notebook keeps its own): the figures are drawn with
    interactive mode off and closed once written.
    """
    import matplotlib.pyplot as plt

    with plt.ioff():
        return replace_folder(out_dir, REPORT_FILES, lambda tmp: _write_report(result, tmp, sampler, words))


#: Files a report may hold: a new report replaces all of them (no stale figure of an earlier run).
REPORT_FILES = ("report.json", "report.md", "curves.csv", "curves.png", "timeline.png", "hierarchy.png")


def holds_earlier(out_dir, names: Sequence[str]) -> bool:
    """Whether the folder ``out_dir`` already holds one of the files ``names`` (an earlier run's)."""
    path = Path(out_dir)
    return path.is_dir() and not path.is_symlink() and any((path / n).exists() for n in names)


def _swap_tmp(final: Path, others: list) -> tuple[Path, bool]:
    """``(temporary folder, whole-folder swap?)``: a sibling of ``final`` when only an earlier run's
    files are there and a folder can really be created beside it; otherwise a folder inside it."""
    import os
    import tempfile

    prefix = f".{short_name(final.name)}.new-"
    # os.access first (a parent it says no to is not tried), then a real attempt (it says yes to
    # root on a read-only file system)
    if not others and final != Path.cwd().absolute() and os.access(final.parent, os.W_OK | os.X_OK):
        try:
            return Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent)), True
        except OSError:
            pass
    final.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=final)), False


def replace_folder(out_dir, names: Sequence[str], write) -> dict:
    """Write an output folder whole: ``write(tmp) -> {key: path}`` fills a temporary folder, which
    then replaces ``out_dir``, so that the folder holds either the whole new output or the old one
    (never a mix, never a stale file of an earlier run). ``names`` are the files such an output may
    hold: a folder holding anything else is kept, the new files renamed over the old ones in it and
    the old ones of ``names`` not written again removed. No symlink is followed (``out_dir`` itself
    must not be one; files are renamed over, never written through). An existing folder keeps its
    permission bits. Returns ``{key: path under out_dir}``."""
    import os
    import shutil
    import stat

    final = check_out_dir(out_dir).absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    existed = final.exists()
    mode = stat.S_IMODE(final.stat().st_mode) if existed else 0o777 & ~current_umask()
    others = [p for p in final.iterdir() if p.name not in names] if existed else []
    tmp, swap = _swap_tmp(final, others)
    try:
        written = write(tmp)
        files = {k: Path(v).name for k, v in written.items()}
        if swap:
            os.chmod(tmp, mode)  # mkdtemp's folder is private (0700); an existing one keeps its bits
            old = final.parent / f".{short_name(final.name)}.old-{os.getpid()}"
            if existed:
                os.rename(final, old)
            os.rename(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:  # replace the output's files one by one, drop stale ones
            for name in names:
                if name not in files.values() and (final / name).is_file():
                    (final / name).unlink()
            for name in files.values():
                os.replace(tmp / name, final / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {k: str(Path(out_dir) / v) for k, v in files.items()}


def curves_csv(curves) -> str:
    """CSV text of an :class:`regimes.analysis.AnalysisCurves` (or its ``to_dict()``): a header
    ``t,excess_entropy,excess_entropy_se,commitment,commitment_se[,class_commitment,class_commitment_se]``,
    one row per time, full precision (``repr`` of the floats), NaN written as an empty cell
    (``numpy.genfromtxt(..., delimiter=',', names=True)`` reads it back as NaN)."""
    d = curves.to_dict() if hasattr(curves, "to_dict") else dict(curves)
    cols = [k for k, v in d.items() if v is not None]
    return table_text(cols, zip(*(list(map(float, d[k])) for k in cols), strict=True), "csv")


def _write_report(result, out_dir, sampler=None, words=None) -> dict:
    from regimes import __version__
    from regimes.plot.curves import plot_curves
    from regimes.plot.timeline import plot_timeline
    from regimes.report import markdown_report, to_jsonable
    from regimes.schedules import get_sampler

    out = make_out_dir(out_dir)
    d = result.to_dict()
    body = {"version": __version__, **to_jsonable(in_words(d, words)), "conventions": analysis_conventions(d)}
    paths = {"json": out / "report.json", "markdown": out / "report.md",
             "curves": out / "curves.png", "timeline": out / "timeline.png"}
    paths["json"].write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    paths["markdown"].write_text(markdown_report(d, words=words))
    paths["csv"] = out / "curves.csv"
    paths["csv"].write_text(curves_csv(result.curves))
    save_figure(plot_curves(result), paths["curves"], dpi=120)
    cis = [d["t_S"]["ci"], d["t_C"][result.regimes_estimator]["ci"]]  # the regimes' t_C, with its own interval
    if sampler is None:
        sampler = get_sampler(d["schedule"]["schedule"], d["schedule"]["steps"])
    fig = plot_timeline(result.t_S.value, result.regimes_t_C.value, sampler, intervals=cis, **result.timeline_labels())
    save_figure(fig, paths["timeline"], dpi=120)
    if result.class_hierarchy is not None and len(result.class_hierarchy.names) >= 3:  # a tree to draw
        from regimes.plot.hierarchy import plot_hierarchy

        paths["hierarchy"] = out / "hierarchy.png"
        save_figure(plot_hierarchy(result.class_hierarchy), paths["hierarchy"], dpi=120)
    return {k: str(v) for k, v in paths.items()}
