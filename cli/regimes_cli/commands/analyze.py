"""`regimes analyze` — where speciation and collapse happen on a training set (the main job)."""

from __future__ import annotations

import math
import os
import sys
from typing import Optional

import typer

from .._options import (
    SCHEDULE_HELP,
    AlphasCumprodOption,
    BetasOption,
    SamplerStepsOption,
    SchedulerConfigOption,
    TimestepSpacingOption,
    as_cli_words,
    build_sampler,
    check_memory,
    check_time_range,
    color_option,
    flag_errors,
    grayscale_option,
    int_in_range,
    key_option,
    memory_budget_bytes,
    parse_scale,
    scale_flags,
    size_option,
)
from .._output import (
    FORMAT_HELP,
    REPORT_FILES,
    analysis_conventions,
    check_out_dir,
    current_table_format,
    emit_json,
    fmt,
    holds_earlier,
    in_words,
    not_empty_path,
    note,
    print_table,
    set_table_format,
    use_agg,
    write_report,
)


def _parse_times(text: Optional[str]):
    """``"lo:hi:num"`` (linspace) or ``"t1,t2,..."``, every time in the range of :func:`check_time_range`."""
    if text is None:
        return None
    from regimes import RegimesError

    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            lo, hi, num = float(parts[0]), float(parts[1]), int(parts[2])
            import numpy as np

            if not (2 <= num <= 100_000 and 0 < lo < hi < math.inf):
                raise ValueError
            vals = np.linspace(lo, hi, num)
        else:
            vals = [float(x) for x in text.split(",")]  # an empty item ("1,,2") is a ValueError
            if len(vals) < 2 or not all(math.isfinite(v) and v > 0 for v in vals):
                raise ValueError
    except ValueError:
        raise RegimesError(
            f"--times must be 'lo:hi:num' (0 < lo < hi finite, 2 <= num <= 100000) or a comma-separated "
            f"list of at least 2 finite times > 0, got {text!r}"
        ) from None
    check_time_range(vals, "--times", text)
    return vals


def _check_sizes(samples: int, bootstrap: int, subsample, parsed_times) -> None:
    """The size-like options, before the data pass (the library checks them again)."""
    int_in_range(samples, "--samples", 16, 2**26)
    int_in_range(bootstrap, "--bootstrap", 0, 100_000)
    if bootstrap == 1:  # one replicate has no spread: every interval would be empty ([—, —])
        from regimes import RegimesError

        raise RegimesError("--bootstrap must be 0 (no intervals) or >= 2 (a percentile interval needs at "
                           "least 2 replicates), got 1")
    if subsample is not None:
        int_in_range(subsample, "--subsample", 2, 2**40)
    check_memory("--samples", samples, 16.0 * samples * (256 if parsed_times is None else len(parsed_times)),
                 what="Monte Carlo statistics")


class _Bar:
    """A rich progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, enabled: bool):
        self.p = None
        self.tasks = {}
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.p = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                              console=Console(stderr=True), transient=True)

    def __enter__(self):
        if self.p is not None:
            self.p.start()
        return self

    def __exit__(self, *exc):
        if self.p is not None:
            self.p.stop()

    def __call__(self, stage, done, total):
        if self.p is None:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.p.add_task(stage, total=total)
        self.p.update(self.tasks[stage], completed=done, total=total)


def analyze(
    data: Optional[str] = typer.Argument(
        None,
        help=(
            "Training set: .npy (memory-mapped), .npz, HDF5, zarr, safetensors, Parquet/Arrow, a Hugging Face "
            "dataset folder, a glob of .npy shards, or a folder of images. "
            "Default: the built-in two-class Gaussian mixture."
        ),
    ),
    labels: Optional[str] = typer.Option(None, "--labels", help="Class labels, one per row (.npy, .txt or .csv)."),
    key: Optional[str] = key_option(),
    scale: str = typer.Option(
        "none", "--scale",
        help="Units: none (as given), unit (8-bit → [0,1]), symmetric (8-bit → [-1,1]) or a positive "
        "factor multiplying the data (e.g. 0.18215 for Stable-Diffusion latents; 2 for [0,1] floats "
        "meant for [-1,1] training). Λ scales as the factor squared.",
    ),
    no_center: bool = typer.Option(False, "--no-center", help="Do not subtract the per-feature mean."),
    samples: int = typer.Option(
        1024, "--samples", "-M",
        help="Monte Carlo samples of the empirical-mixture engine (16 to 2²⁶, within memory)."),
    times: Optional[str] = typer.Option(
        None, "--times",
        help="OU times of the curves: 'lo:hi:num' or 't1,t2,...' (default: spans the predicted t_C and t_S).",
    ),
    schedule: Optional[str] = typer.Option(None, "--schedule", help=SCHEDULE_HELP + " Default linear."),
    steps: Optional[int] = typer.Option(
        None, "--steps",
        help="Steps T of a named schedule (2 to 10⁷, linear from 21; default 1000; edm: N, default 18)."),
    betas: BetasOption = None,
    alphas_cumprod: AlphasCumprodOption = None,
    scheduler_config: SchedulerConfigOption = None,
    sampler_steps: SamplerStepsOption = None,
    timestep_spacing: TimestepSpacingOption = None,
    seed: int = typer.Option(0, "--seed", help="Seed (default data, Monte Carlo, bootstrap)."),
    bootstrap: int = typer.Option(
        200, "--bootstrap",
        help="Bootstrap replicates for every interval (Λ and t_S included; 0 for none, or 2 to 100000)."
    ),
    memory: float = typer.Option(
        1024.0, "--memory-mb",
        help="Memory budget of the mixture engine in MB (>= 1). Changes the Monte Carlo t_C in its last "
        "digits (about 2e-5 relative: the sums run in another order); keep it fixed for bit-identical reruns. "
        "With labels, a quarter of it bounds the per-class sums the covariance and class stages share "
        "(beyond, each stage reads the data itself: the same numbers to ~1e-14)."),
    precision: str = typer.Option(
        "auto", "--precision",
        help="Mixture engine arithmetic: auto (float32 unless a probe finds it too inaccurate), float32 or float64.",
    ),
    engine: str = typer.Option(
        "numpy", "--engine",
        help="Mixture engine's log-sum-exp: numpy (reference), numba (fused kernel, pip install "
        "'regimes[fast]'; equal up to summation order) or auto (numba when installed).",
    ),
    subsample: Optional[int] = typer.Option(
        None, "--subsample",
        help="d > 4096: compute Λ and the top eigenvalues from N rows drawn without replacement (seeded).",
    ),
    cluster: Optional[str] = typer.Option(
        None, "--cluster",
        help="Run the passes over the data as Dask tasks: local[:N] (N local workers, default 2) or a "
        "scheduler address (tcp://host:8786; data on storage every worker reads). pip install 'regimes[dask]'.",
    ),
    size: Optional[int] = size_option(),
    grayscale: bool = grayscale_option(),
    color: bool = color_option(),
    out: Optional[str] = typer.Option(None, "--out", help="Directory for report.json, report.md and the plots."),
    json_out: bool = typer.Option(
        False, "--json", help="Print one JSON object on stdout (every key: docs/analyze.md, 'JSON keys')."),
    table_format: str = typer.Option(
        "table", "--format",
        help=FORMAT_HELP + " CSV columns: quantity, estimate, low, high, note (low, high: an estimate's 95% "
        "interval or a regime's t range; note: the row's caveat or steps)."),
) -> None:
    """Measure t_S and t_C (with intervals) on a training set and map the regimes onto a sampler's steps."""
    set_table_format(table_format)
    from regimes import RegimesError
    from regimes.analysis import analyze as run
    from regimes.data import load_source
    from regimes.distributed import cluster as on_cluster

    for flag, value in (("DATA", data), ("--labels", labels), ("--out", out)):
        not_empty_path(value, flag)
    if precision not in ("auto", "float32", "float64"):
        raise RegimesError(f"--precision must be auto, float32 or float64, got {precision!r}")
    budget = memory_budget_bytes(memory)
    sampler, inference = build_sampler(schedule, steps, betas, alphas_cumprod, scheduler_config,
                                       sampler_steps, timestep_spacing, default="linear")
    if data is None:
        for opt, val in (("--labels", labels), ("--key", key), ("--size", size),
                         ("--grayscale", grayscale or None), ("--color", color or None)):
            if val is not None:
                raise RegimesError(f"{opt} needs a DATA argument (the built-in dataset has its own labels)")
    parsed_times = _parse_times(times)
    _check_sizes(samples, bootstrap, subsample, parsed_times)
    scale_arg = parse_scale(scale)
    if out is not None:
        check_out_dir(out)  # before any work: an unwritable --out fails now, not after the analysis
    with _Bar(sys.stderr.isatty() and not json_out) as bar, on_cluster(cluster):
        src = None
        if data is not None:
            with flag_errors(scale_flags(scale, scale_arg)):
                src = load_source(data, key=key, labels=labels, scale=scale_arg, center=not no_center,
                                  size=size, grayscale=grayscale, color=color,
                                  progress=lambda done, total: bar("validating data", done, total))
        res = run(src, samples=samples, times=parsed_times, schedule=sampler,
                  sampler_steps=inference,
                  seed=seed, bootstrap=bootstrap, memory_budget=budget,
                  scale=scale_arg, center=not no_center, progress=bar, precision=precision, engine=engine,
                  eigen_subsample=subsample)
    payload = res.to_dict()
    written = None if out is None else _write(res, out, sampler)
    if json_out:
        emit_json(in_words(payload, as_cli_words), conventions=analysis_conventions(payload))
        return
    _print_table(payload, out, written)


def _write(res, out: str, sampler) -> dict:
    """The report folder ``--out`` (with the sampler the analysis used), with a note on stderr when
    it replaced an earlier report."""
    use_agg()  # the command line only writes files; write_report itself leaves the backend alone
    earlier = holds_earlier(out, REPORT_FILES)
    written = write_report(res, out, sampler=sampler, words=as_cli_words)
    if earlier:
        note(f"the earlier report in {out} was replaced")
    return written


def _estimate_rows(payload: dict) -> list:
    """The estimates as ``(quantity, value, (low, high) or None, note, theory)``: the note says what the
    number is not (a crossing that is no speciation time, a t_C the regimes do not use, a missing one)."""
    from regimes.report import detectability_text, missing, no_speciation_reason, theory_t_C

    ref = payload.get("reference") or {}
    ev = payload["eigenvalue"]
    rows = [("n", payload["n"], None, "", ""), ("d", payload["d"], None, "", ""),
            ("α = ln n / d", payload["alpha"], None, "", ""), ("Λ", ev["value"], ev["ci"], "", ref.get("eigenvalue"))]
    if "noise_edge" in ev:
        rows.append(("noise edge σ̂²(1+√γ)²", ev["noise_edge"], None, detectability_text(ev), ""))
    rows.append(("t_S = ½ ln Λ", payload["t_S"]["value"], payload["t_S"]["ci"], no_speciation_reason(payload) or "",
                 ref.get("t_S")))
    if payload.get("t_S_population"):
        pop = payload["t_S_population"]
        rows.append(("t_S population (½ ln ℓ̂)", pop["value"], pop["ci"], "", ""))
    cls = payload.get("t_S_class")
    if cls:
        rows.append((f"t_S (φ = {cls.get('level', 0.7752):.4g})", cls["value"], cls["ci"], _class_note(cls),
                     ref.get("t_S_class")))
    used = (payload.get("regimes_t_C") or {}).get("estimator", "commitment")
    for k, lab in (("commitment", "t_C (φ_C = ½, headline)"), ("entropy", "t_C (f^e/α = 0.1)"),
                   ("spectral", "t_C (spectral proxy)"), ("gaussian", "t_C (Gaussian formula)")):
        e = payload["t_C"][k]
        note = ("not measured: φ_C did not cross ½ on the time grid" if k == "commitment" and missing(e["value"])
                else "did not cross its level on the time grid" if missing(e["value"])
                else "used by the regimes (φ_C = ½ missing)" if k == used != "commitment" else "")
        rows.append((lab, e["value"], e["ci"], note, theory_t_C(ref, k)))
    dg = payload.get("diagnostics")
    if dg:
        verdict = {True: "agree", False: f"disagree ({fmt(dg['spread'], 3)}×)",
                   None: f"cannot be judged (spread {fmt(dg['spread'], 3)}×)"}[dg["estimates_agree"]]
        trust = "trust φ_C = ½ (see notes)" if used == "commitment" else \
            f"φ_C = ½ not measured: the regimes use the {used} t_C; widen --times (see notes)"
        rows.append(("t_C estimates", verdict, None, trust, ""))
    return rows


def _class_note(cls) -> str:
    """The caveat of the t_S_class row: not a speciation time (and why), or a class level that is a convention."""
    from regimes.report import missing

    if cls.get("valid", True) is False and not missing(cls.get("value")):
        return f"NOT a speciation time ({'; '.join(cls.get('invalid_reasons', []))})"
    if int(cls.get("classes", 2)) > 2:
        return f"level for {cls['classes']} classes: a convention (see notes)"
    return ""


def _regime_rows(payload: dict) -> list:
    """The regimes as ``(quantity, None, ("t", t_min, t_max), note, "")``; the note names the t_C estimate
    bounding a regime when it is not the headline φ_C = ½."""
    from regimes.timeline import sampler_steps_text, steps_text

    reg = payload.get("regimes_t_C") or {}
    used, t_C = reg.get("estimator", "commitment"), reg.get("value")
    rows = []
    for g in payload["regimes"]:
        note = f"steps {steps_text(g)}"
        inference = sampler_steps_text(g)
        note += "" if inference is None else f"; sampler steps {inference}"
        if used != "commitment" and t_C is not None and t_C in (g["t_min"], g["t_max"]):
            note += f"; t_C: the {used} estimate"
        rows.append((f"regime {g['name']}", None, ("t", g["t_min"], g["t_max"]), note, ""))
    return rows


def _render(rows: list, ref: bool) -> tuple[tuple, list]:
    """``(columns, rows)`` in the format ``--format`` chose. The table: ``quantity, estimate, 95% interval /
    steps[, theory]``, the interval and the note in one cell. CSV: ``quantity, estimate, low, high,
    note[, theory]`` with the interval ends (a regime's t_min, t_max) as full-precision numbers."""
    csv = current_table_format() == "csv"
    out = []
    for name, value, span, say, theory in rows:
        kind, lo, hi = ("ci", None, None) if span is None else (span if span[0] == "t" else ("ci", *span))
        if csv:
            hi = math.inf if kind == "t" and hi is None else hi
            cells = [name, value, lo, hi, say]
        else:
            if kind == "t":
                value = f"t ∈ [{fmt(lo, 5)}, {'∞' if hi is None else fmt(hi, 5)}]"
                text = say
            else:
                text = "; ".join(x for x in ((f"[{fmt(lo, 5)}, {fmt(hi, 5)}]" if span else ""), say) if x)
            cells = [name, value, text]
        out.append((*cells, theory) if ref else tuple(cells))
    cols = ("quantity", "estimate", "low", "high", "note") if csv else ("quantity", "estimate", "95% interval / steps")
    return (cols + ("theory",) if ref else cols), out


def _print_table(payload: dict, out, written=None) -> None:
    """The human-readable table of an analysis payload, with its notes (``--format csv``: the rows only,
    their intervals as numbers)."""
    from regimes.report import class_level_note

    ref = payload.get("reference") or {}
    rows = _estimate_rows(payload)
    rows += [(name, value, None, text, theory) for name, value, text, theory in _class_rows(payload)]
    rows += _regime_rows(payload)
    cols, rows = _render(rows, bool(ref))
    sch = payload["schedule"]
    notes = [f"data: {payload['data']}", f"units: {payload['units']}",
             *(["theory: the d → ∞ predictions of the model the data were drawn from; the spectral proxy's is "
                "the proxy on its population spectrum, the entropy row's the crossing of f^e/α = 0.1"] if ref else []),
             f"schedule: {sch['schedule']}, {sch['steps']} steps (zero-based k; a regime's steps are the k "
             "with t_k in its interval); OU time t, natural logs",
             f"Monte Carlo samples: {payload['samples']}, seed {payload['seed']}"]
    level = class_level_note(payload.get("t_S_class"))
    notes += [level] if level else []  # more than two classes: say that the level is a convention
    if "sampler_steps" in sch:
        notes.append(f"sampler: {sch['sampler_steps']} {sch['timestep_spacing']} steps; t_S at sampler step "
                     f"{sch['sampler_step_S']}, t_C at {sch['sampler_step_C']} ({sch['sampler_step_convention']})")
    notes += [as_cli_words(n) for n in payload["notes"]]
    if out is not None:
        names = ", ".join(os.path.basename(p) for p in written.values())
        notes.append(f"report written to {str(out).rstrip('/') or '/'}/ ({names})")
    print_table("regimes analyze", rows, cols, notes)


#: at most this many covariance-only rows and hierarchy merges (the top of the tree) in the table
CLASS_ROWS = 12


def _class_rows(payload: dict) -> list:
    """The covariance-only times and the class hierarchy's merges (time, [single, complete] bracket,
    flags) as table rows: the terminal and --format csv show what report.md shows."""
    rows = []
    comps = (payload.get("t_S_covariance") or {}).get("comparisons", [])
    for c in comps[:CLASS_ROWS]:
        rows.append((f"t_S cov.-only {c['class']} vs {c['against']}",
                     c["t_S"] if c["detectable"] else "not detectable", "" if c["detectable"] else
                     "by the ‖C1 − C2‖_F test at these class sizes", ""))
    hier = payload.get("class_hierarchy") or {}
    merges = hier.get("merges", [])
    if len(comps) > CLASS_ROWS or len(merges) > CLASS_ROWS:
        rows.append(("classes (more)", "see report.json", f"{len(comps)} comparisons, {len(merges)} merges", ""))
    for m in merges[-CLASS_ROWS:]:
        lo, hi = m.get("t_bracket") or [m["t"], m["t"]]
        flags = [f for f in m.get("flags", []) if not f.startswith("never separate")]
        flags += ["within sampling noise"] if m["pairs_within_noise"] else []
        how = ("Λ_ab ≤ 1" if m["t"] is None else f"{hier['method']} linkage" if lo == hi
               else f"pairs span {fmt(lo, 5)}–{fmt(hi, 5)}")
        rows.append((f"merge {', '.join(m['left'])} | {', '.join(m['right'])}",
                     "never separate" if m["t"] is None else m["t"],
                     how + (f"; {'; '.join(flags)}" if flags else ""), ""))
    return rows


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)

