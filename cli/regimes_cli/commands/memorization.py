"""`regimes memorization` (is a model copying its training set?) and `regimes uturn` (U-turns)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from .._options import (
    SCALE_HELP,
    as_cli_words,
    check_memory,
    check_time_range,
    color_option,
    flag_errors,
    grayscale_option,
    int_in_range,
    key_option,
    memory_budget_bytes,
    note_ignored,
    parse_scale,
    positive,
    scale_flags,
    size_option,
)
from .._output import (
    check_out,
    check_out_dir,
    check_out_file,
    emit_json,
    fmt,
    not_empty_path,
    note,
    print_table,
    replace_folder,
    save_figure,
    table_text,
    use_agg,
    warn,
    write_text_atomic,
)

SHAPE_HELP = "Image shape of one row, H,W or H,W,C (or C,H,W), for the image figures."

def _reader_options(key, size, grayscale, color, paths) -> dict:
    """The reader options that apply to each input path (``--key`` to files holding several arrays,
    the image options to folders of images); an option that applies to none of them is an error."""
    from regimes import RegimesError
    from regimes.data import input_kind

    kinds = {p: input_kind(p) for p in paths if p is not None}
    image = {"size": size, "grayscale": grayscale, "color": color}
    if key is not None and "keyed" not in kinds.values():
        raise RegimesError(f"--key applies to .npz, HDF5, zarr, safetensors and Parquet/Arrow inputs; none of "
                           f"{', '.join(map(repr, kinds))} is one")
    given = [f"--{k}" for k, v in image.items() if v not in (None, False)]
    if given and "images" not in kinds.values():
        verb = "applies" if len(given) == 1 else "apply"
        raise RegimesError(f"{', '.join(given)} {verb} to folders of images; none of "
                           f"{', '.join(map(repr, kinds))} is one")
    return {p: ({"key": key} if kind == "keyed" else image if kind == "images" else {}) for p, kind in kinds.items()}


def _parse_shape(text: Optional[str], d: int):
    import math

    from regimes import RegimesError

    if text is None:
        return None
    try:
        shape = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise RegimesError(f"--shape must be integers H,W or H,W,C, got {text!r}") from None
    if len(shape) not in (2, 3) or min(shape) < 1 or math.prod(shape) != d:
        raise RegimesError(f"--shape must be H,W or H,W,C with H·W·C = d = {d}, got {text!r}")
    return shape


#: a run estimated to take longer than this many seconds gets a note on stderr first
NOTE_SECONDS = 30.0


def _npy_header_shape(path):
    """The full shape of a ``.npy`` (None for another format or an unreadable file)."""
    import numpy as np

    if path is None or not str(path).endswith(".npy"):
        return None
    try:
        return tuple(np.load(path, mmap_mode="r").shape)
    except Exception:  # noqa: BLE001 - the reader reports unreadable files itself
        return None


def _check_not_empty(path, name: str, need: int) -> None:
    """One-line refusal of a ``.npy`` with no rows (any trailing shape), before the reader sees it."""
    from regimes import RegimesError

    shp = _npy_header_shape(path)
    if shp is not None and len(shp) >= 1 and shp[0] == 0:
        raise RegimesError(f"{name} {path}: need at least {need} row{'s' if need > 1 else ''}, got an empty array "
                           f"of shape {shp}")


def _check_layouts(named_paths, d: int) -> None:
    """Refuse image arrays stored in different layouts (e.g. (H, W, C) against (C, H, W)) with the same
    d: row by row they would compare different pixels. Axes of length 1 are ignored."""
    from regimes import RegimesError

    shapes = [(name, p, _npy_shape(p, d)) for name, p in named_paths if p is not None]
    shapes = [(name, p, shp) for name, p, shp in shapes if shp is not None]
    for name, p, shp in shapes[1:]:
        name0, p0, shp0 = shapes[0]
        if tuple(x for x in shp if x != 1) != tuple(x for x in shp0 if x != 1):
            raise RegimesError(
                f"{name} {p} stores images of shape {shp} per row but {name0} {p0} stores {shp0}: the same "
                f"d = {d} in different layouts (HWC against CHW?) compares different pixels; save both in one "
                "layout (e.g. numpy.moveaxis) and run again")


def _check_fits(flag: str, value, nbytes: float, what: str) -> None:
    """Refuse (one line) when ``nbytes`` exceed the available memory or the address-space limit
    (``ulimit -v``) left to this process."""
    import resource

    from regimes import RegimesError

    check_memory(flag, value, nbytes, what=what)
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return
    try:
        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):  # pragma: no cover - non-Linux
        used = 0
    left = soft - used
    if nbytes > left:
        raise RegimesError(f"{flag} {value} needs about {nbytes / 2**30:.3g} GB ({what}), more than the "
                           f"address-space limit leaves (ulimit -v: {left / 2**30:.3g} GB); use a smaller {flag}")


def _time_note(seconds: float, what: str) -> None:
    """A note on stderr before a run estimated to take longer than :data:`NOTE_SECONDS`."""
    if seconds > NOTE_SECONDS:
        shown = f"{seconds / 60:.2g} min" if seconds >= 120 else f"{seconds:.2g} s"
        note(f"estimated run time about {shown} ({what}; a rough figure, machine dependent)")


def _npy_shape(path: str, d: int):
    """Image shape from a .npy of ndim 3 or 4 (None otherwise)."""
    full = _npy_header_shape(path)
    shp = None if full is None else full[1:]
    return shp if shp is not None and len(shp) in (2, 3) and math.prod(shp) == d else None


def _csv(path, audit, labels, names):
    """The per-sample CSV (the project's CSV writer: class names with commas quoted, floats in full),
    written whole or not at all (an earlier file survives a failed write)."""
    import numpy as np

    cols = audit.generated.per_sample()
    if labels is not None:  # the class names, as in the JSON's memorised_by_class
        cols["nearest_label"] = np.asarray(names, dtype=object)[np.asarray(labels)[cols["nearest"]]]
    write_text_atomic(path, table_text(list(cols), zip(*(cols[k].tolist() for k in cols), strict=True)))


#: the figures ``memorization --out`` may write: a new run replaces the folder's (no stale one)
FIGURE_FILES = ("ratio_histogram.png", "closest_pairs.png")


def _figures(out, audit, gen, train, shape):
    from regimes.plot.memorization import plot_closest_pairs, plot_ratio_histogram

    use_agg()

    def write(d):
        paths = {"ratio_histogram": d / "ratio_histogram.png"}
        save_figure(plot_ratio_histogram(audit), paths["ratio_histogram"])
        if shape is not None:
            paths["closest_pairs"] = d / "closest_pairs.png"
            save_figure(plot_closest_pairs(audit, gen, train, shape), paths["closest_pairs"])
        return paths

    return replace_folder(out, FIGURE_FILES, write)


def memorization(
    ctx: typer.Context,
    generated: str = typer.Argument(..., help="Generated samples: .npy, .npz or a folder of images."),
    train: str = typer.Argument(..., help="Training set: .npy (memory-mapped, streamed), .npz or a folder of images."),
    reference: Optional[str] = typer.Option(None, "--reference", help="Held-out real samples: the baseline."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Class labels of TRAIN (.npy, .txt or .csv)."),
    threshold: float = typer.Option(1 / 3, "--threshold", help="Ratio threshold k, 0 < k < 1: memorised if d1/d2 < k."),
    bootstrap: int = typer.Option(
        1000, "--bootstrap",
        help="Kept for old scripts (no bootstrap is done): 0 leaves the intervals out; any positive value (to "
             "100000) gives f_mem's exact Clopper–Pearson interval and Newcombe's interval of the excess."),
    carlini_alpha: float = typer.Option(0.5, "--carlini-alpha",
                                        help="α of the relative ℓ2 score (arXiv 2301.13188), 1e-12 to 1e12."),
    carlini_k: Optional[int] = typer.Option(None, "--carlini-k",
                                            help="k nearest of the relative ℓ2 score (1 to n; default min(50, n))."),
    shape: Optional[str] = typer.Option(None, "--shape", help=SHAPE_HELP),
    scale: str = typer.Option("none", "--scale", help=SCALE_HELP),
    key: Optional[str] = key_option("Applies to every input in such a format."),
    size: Optional[int] = size_option(),
    grayscale: bool = grayscale_option(),
    color: bool = color_option(),
    seed: int = typer.Option(0, "--seed", help="Unused since f_mem's interval is exact (kept for old scripts)."),
    memory: float = typer.Option(1024.0, "--memory-mb", help="Memory budget in MB."),
    csv: Optional[str] = typer.Option(None, "--csv",
                                      help="Per-sample CSV: index, nearest, second, d1, d2, ratio, carlini."),
    out: Optional[str] = typer.Option(None, "--out", help="Directory for ratio_histogram.png (and closest_pairs.png)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Audit generated samples for copies of training points: ratio test, baseline, Carlini score."""
    import math
    import warnings

    from regimes import RegimesError, RegimesWarning
    from regimes.data import load_source, query_rows
    from regimes.memorization import MAX_CARLINI_ALPHA, MIN_CARLINI_ALPHA, memorization_audit

    for flag, value in (("GENERATED", generated), ("TRAIN", train), ("--reference", reference),
                        ("--labels", labels), ("--csv", csv), ("--out", out)):
        not_empty_path(value, flag)
    if not (math.isfinite(threshold) and 0 < threshold < 1):
        raise RegimesError(f"--threshold must be > 0 and < 1, got {threshold!r}")
    int_in_range(bootstrap, "--bootstrap", 0, 100_000)
    if not (math.isfinite(carlini_alpha) and MIN_CARLINI_ALPHA <= carlini_alpha <= MAX_CARLINI_ALPHA):
        raise RegimesError(f"--carlini-alpha must be >= 1e-12 and <= 1e12, got {carlini_alpha!r}")
    if out is not None:
        check_out_dir(out)  # before any work
    # --csv inside the --out folder (`--out audit/ --csv audit/samples.csv`): that folder is created
    # with the figures, and the CSV written after them
    csv_in_out = csv is not None and out is not None and Path(csv).absolute().parent == Path(out).absolute()
    if csv is not None and not csv_in_out:
        check_out_file(csv, "--csv")
    budget = memory_budget_bytes(memory)
    typed, scale = scale, parse_scale(scale)
    opts = _reader_options(key, size, grayscale, color, (train, generated, reference))
    _check_not_empty(train, "TRAIN", 2)
    _check_not_empty(generated, "GENERATED", 1)
    _check_not_empty(reference, "--reference", 1)
    with flag_errors(scale_flags(typed, scale)):
        tsrc = load_source(train, labels=labels, scale=scale, center=False, **opts[train])
        if carlini_k is not None and not 1 <= carlini_k <= tsrc.n:
            raise RegimesError(f"--carlini-k must be >= 1 and <= n_train = {tsrc.n}, got {carlini_k}")
        with query_rows():  # generated / held-out rows: one row, or a collapsed set, is valid
            gsrc = load_source(generated, scale=scale, center=False, **opts[generated])
            with flag_errors({"data file": "--reference: data file"}):
                rsrc = (None if reference is None
                        else load_source(reference, scale=scale, center=False, **opts[reference]))
    for name, s in (("GENERATED", gsrc), ("--reference", rsrc)):
        if s is not None and s.d != tsrc.d:
            raise RegimesError(f"{name} ({s.name}) must have the training set's dimension d = {tsrc.d}, got d = {s.d}")
    _check_layouts((("TRAIN", train), ("GENERATED", generated), ("--reference", reference)), tsrc.d)
    shp = _parse_shape(shape, tsrc.d) if shape is not None else _npy_shape(train, tsrc.d)
    _audit_cost(gsrc.n + (0 if rsrc is None else rsrc.n), tsrc.n, tsrc.d, budget, memory)
    note_ignored(ctx, [("shape", "--shape", out is not None, "with --out (the closest-pairs figure)")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RegimesWarning)
        audit = memorization_audit(gsrc, tsrc, reference=rsrc, k=threshold, bootstrap=bootstrap,
                                   carlini_alpha=carlini_alpha, carlini_k=carlini_k, rng=seed,
                                   memory_budget=budget)
    for w in caught:
        warn(str(w.message))
    payload = {"generated": gsrc.name, "train": tsrc.name, "units": scale, **audit.to_dict()}
    names = None if tsrc.labels is None else (tsrc.class_names or [str(i) for i in range(tsrc.n_classes)])
    if tsrc.labels is not None:
        import numpy as np

        g = audit.generated
        mem = g.ratio < audit.threshold
        counts = np.bincount(tsrc.labels[g.nearest[mem]], minlength=len(names))
        payload["memorised_by_class"] = {names[i]: int(c) for i, c in enumerate(counts)}
    if out is not None:
        payload["figures"] = _figures(out, audit, gsrc, tsrc, shp)
    if csv is not None:
        _csv(csv, audit, tsrc.labels, names)
        payload["csv"] = csv
    if json_out:
        emit_json(payload)
        return
    _table(payload)


def _audit_cost(m: int, n: int, d: int, budget: int, memory) -> None:
    """Refuse an audit that cannot fit in memory and note a long one, before the work.

    Memory: the working set, at most the budget (less when everything fits in fewer bytes), plus
    about 120 bytes per audited sample (its distances, indices, ratio and scores). Time: about
    2·m·n·d float32 operations at 2·10¹⁰ per second plus 100 ns per sample–training pair (the
    selection of the candidates), measured on two cores."""
    work = min(float(budget), m * (44.0 * d + 1200.0) + n * (20.0 * d + 24.0 * m))
    _check_fits("--memory-mb", memory, work + 120.0 * m, f"the working set within the budget plus 120 bytes for each "
                f"of the {m} samples")
    _time_note(m * n * (2.0 * d / 2e10 + 1e-7), f"{m} samples × {n} training points × d = {d}")


def _table(p):
    def ci(e):
        if e.get("ci") is None or any(x is None or x != x for x in e["ci"]):
            return "no interval (--bootstrap 0)"
        return f"[{fmt(e['ci'][0], 4)}, {fmt(e['ci'][1], 4)}]"

    ref = p["reference"]
    def caveat(ok):
        return "" if ok else " — not meaningful (units mismatch, see notes)"

    rows = [("n (generated / reference / train)",
             f"{p['n_generated']} / {ref['n'] if ref else '—'} / {p['n_train']}", ""),
            (f"f_mem (d1/d2 < {p['threshold']:.4g})", p["f_mem"]["value"],
             ci(p["f_mem"]) + caveat(p["f_mem_meaningful"]))]
    if ref:
        rows.append(("f_mem of the held-out baseline", ref["f_mem"]["value"],
                     ci(ref["f_mem"]) + caveat(not ref["units_mismatch"])))
        rows.append(("f_mem excess (generated − baseline)", p["f_mem_excess"],
                     ci({"ci": p["f_mem_excess_ci"]}) + (" (Newcombe)" if p["f_mem_excess_ci"] else "")
                     + caveat(p["f_mem_excess_meaningful"])))
    for q in ("0.05", "0.25", "0.5", "0.75", "0.95"):
        rows.append((f"d1/d2 quantile {q}", p["ratio_quantiles"][q], fmt(ref["ratio_quantiles"][q]) if ref else ""))
    c = p["carlini"]
    rows.append((f"Carlini ℓ median (α = {c['alpha']:g}, k = {c['k']})", c["quantiles"]["0.5"],
                 fmt(ref["carlini_quantiles"]["0.5"]) if ref else ""))
    notes = [f"distances in the data's units ({p['units']}); the third column is the baseline when given",
             *p["notes"]]
    if "figures" in p:
        notes.append("figures: " + ", ".join(p["figures"].values()))
    print_table("regimes memorization", rows, ("quantity", "generated", "interval / baseline"), notes)


#: OU times above this are pure noise (ᾱ = e^{−2t} < 1e-17): more likely schedule steps typed as times
STEP_LIKE_TIME = 20.0


def _step_like_times(times) -> list:
    """A note when --times holds values that look like schedule steps rather than OU times."""
    big = [float(t) for t in times if t > STEP_LIKE_TIME]
    if not big:
        return []
    return [f"--times {big[0]:g}{' …' if len(big) > 1 else ''} is an OU time t (ᾱ = e^(−2t) ≈ 0: pure noise, every "
            "U-turn lands anywhere); if you meant a schedule's step, convert it first with `regimes schedule "
            "--step K` (the t it starts at)"]


def uturn(
    ctx: typer.Context,
    data: str = typer.Argument(..., help="Training set: .npy, .npz or a folder of images."),
    times: str = typer.Option(..., "--times", help="OU times t1,t2,... of the U-turns."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Class labels, one per row (.npy, .txt or .csv)."),
    samples: int = typer.Option(256, "--samples", help="U-turns per time (1 to 10⁷)."),
    method: str = typer.Option("sde", "--method", help="Backward dynamics: sde (default), posterior or ode."),
    steps: int = typer.Option(200, "--steps", help="Steps of the backward grid (sde, ode; 2 to 10⁶)."),
    seed: int = typer.Option(0, "--seed", help="Seed."),
    scale: str = typer.Option("none", "--scale", help=SCALE_HELP),
    key: Optional[str] = key_option("Applies to every input in such a format."),
    size: Optional[int] = size_option(),
    grayscale: bool = grayscale_option(),
    color: bool = color_option(),
    shape: Optional[str] = typer.Option(None, "--shape", help=SHAPE_HELP),
    t_s: Optional[float] = typer.Option(None, "--t-s", help="Speciation time (yours, e.g. from `regimes analyze`), "
                                        "to mark the regimes on the figure; drawn as given."),
    t_c: Optional[float] = typer.Option(None, "--t-c", help="Collapse time (yours, e.g. from `regimes analyze`), "
                                        "to mark the regimes on the figure; drawn as given."),
    out: Optional[str] = typer.Option(None, "--out", help="Figure file (.png, .pdf, .svg)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Noise training points to t, run the exact backward dynamics, count who comes back (→ φ_C, φ; not with ode).

    "Same image" counts training rows equal bit for bit as one image (duplicates are merged). The
    deterministic --method ode does not estimate φ_C, φ (its own return fractions are reported).
    """
    import warnings

    from regimes import RegimesError, RegimesWarning
    from regimes.data import load_source
    from regimes.uturn import METHODS, fraction_targets, uturn_cost
    from regimes.uturn import uturn as run

    for flag, value in (("DATA", data), ("--labels", labels), ("--out", out)):
        not_empty_path(value, flag)
    try:
        tt = [float(x) for x in times.split(",")]  # an empty item ("1,,2") is a ValueError
    except ValueError:
        raise RegimesError(f"--times must be a comma-separated list of times > 0, got {times!r}") from None
    if not tt or not all(t > 0 and t < float("inf") for t in tt):
        raise RegimesError(f"--times must be a comma-separated list of finite times > 0, got {times!r}")
    check_time_range(tt, "--times", times)
    int_in_range(samples, "--samples", 1, 10**7)
    int_in_range(steps, "--steps", 2, 10**6)
    for flag, val in (("--t-s", t_s), ("--t-c", t_c)):
        if val is not None:
            positive(val, flag)
            check_time_range(val, flag)  # a marker beyond the figure's float range overflows matplotlib
    if method not in METHODS:
        raise RegimesError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    path = check_out(out)
    parsed = parse_scale(scale)
    _check_not_empty(data, "DATA", 2)
    with flag_errors(scale_flags(scale, parsed)):
        src = load_source(data, labels=labels, scale=parsed, center=False,
                          **_reader_options(key, size, grayscale, color, (data,))[data])
    shp = _parse_shape(shape, src.d) if shape is not None else _npy_shape(data, src.d)
    for n in src.notes:  # what the reader decided, and values whose units look wrong
        note(as_cli_words(n))
    cost = uturn_cost(src.n, src.d, samples, len(tt), method=method, steps=steps)
    _check_fits("--samples", samples, cost.bytes, "the U-turn states and the cached training set")
    note_ignored(ctx, [(p, f, out is not None, "with --out (the figure)")
                       for p, f in (("shape", "--shape"), ("t_s", "--t-s"), ("t_c", "--t-c"))])
    # rough rates measured on two cores: 4·10⁹ float64 operations per second, 30 ns per exponential
    _time_note(cost.flops / 4e9 + cost.exps * 3e-8,
               f"{samples} U-turns × {len(tt)} times × {steps if method != 'posterior' else 1} passes over "
               f"{src.n} training points, d = {src.d}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RegimesWarning)
        res = run(src, tt, samples=samples, method=method, steps=steps, rng=seed)
    for w in caught:  # (in the table the notes already say what the result's notes say: once is enough)
        if json_out or str(w.message) not in res.notes:
            warn(as_cli_words(str(w.message)))
    payload = {"data": src.name, "seed": seed, **res.to_dict()}
    payload["notes"] = [as_cli_words(n) for n in res.notes] + _step_like_times(res.times)
    if path is not None:
        from regimes.plot.memorization import plot_uturn

        use_agg()
        save_figure(plot_uturn(res, src, shp, t_S=t_s, t_C=t_c), path)
        payload["figure"] = str(path)
    if json_out:
        emit_json(payload)
        return
    def cell(e):
        return f"{fmt(e.value, 4)} [{fmt(e.ci[0], 3)}, {fmt(e.ci[1], 3)}] ({e.details['count']}/{samples})"

    rows = []
    for j, t in enumerate(res.times):
        row = [t, cell(res.same_point[j])]
        if res.same_class is not None:
            row.append(cell(res.same_class[j]))
        rows.append(row)
    point, cls = fraction_targets(method)
    cols = ["t", f"same image ({point.label})"] + ([f"same class ({cls.label})"] if res.same_class is not None else [])
    units = payload["units"]
    notes = [f"{samples} U-turns per time, backward dynamics: {method}; fraction [exact 95% binomial "
             "(Clopper–Pearson) interval] (returns/runs)",
             f"data: n = {res.n}, d = {res.d}, --scale {units if isinstance(units, str) else f'{units:g}'} (the "
             "fractions depend on the units), taken as given, not centred (they do not depend on a shift)",
             "same image: training rows equal bit for bit count as one image"
             + (f" ({res.duplicate_rows} rows copy an earlier one)" if res.duplicate_rows else " (no duplicates)")]
    if method == "ode":
        notes.append("ode: the deterministic flow's return fractions, not φ_C(t), φ(t) (those come from "
                     "--method sde or posterior; the flow returns more often where the weights are split)")
    notes += payload["notes"]
    if path is not None:
        notes.append(f"figure: {path}" + ("; --t-s/--t-c are drawn as given, not estimated" if t_s or t_c else ""))
    print_table("regimes uturn", rows, cols, notes)


def register(app: typer.Typer) -> None:
    app.command("memorization")(memorization)
    app.command("uturn")(uturn)
