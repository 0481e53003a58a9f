"""`regimes phase-diagram nd|np|ntau` and `regimes timeline` — figures (or their data as JSON).

Figures are written only here (format from the suffix of ``--out``: .png, .pdf or .svg, Agg
backend); ``--json`` prints the underlying grid and needs no matplotlib.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from .._options import (
    PRESET_HELP,
    SCHEDULE_HELP,
    UNITS_HELP,
    UNITS_PER_SECOND,
    UNMATCHED_KEYS,
    AlphasCumprodOption,
    BetasOption,
    SamplerStepsOption,
    SchedulerConfigOption,
    TimestepSpacingOption,
    apply_units,
    build_sampler,
    flag_errors,
    given_on_command_line,
    load_preset,
    need,
    num,
    positive,
    provenance,
    quiet_no_speciation,
    refuse_long,
    refuse_memory,
    regime_ii_note,
    resolve_variance,
    sampler_step_rows,
    unmatched_row,
    variance_unmatched,
)
from .._output import (
    check_out,
    emit_json,
    print_table,
    regimes_payload,
    save_figure,
    steps_label,
    time_range_text,
    use_agg,
)

#: the timeline figure's title when t_C comes from σ² = 1 assumed against a preset's Λ units
UNMATCHED_TITLE = "t_C from an ASSUMED σ² = 1 (units ≠ Λ's): t_C, Regime II not meaningful"

OUT_HELP = "Write the figure to FILE; the format follows the suffix (.png, .pdf or .svg)."
JSON_HELP = "Print the underlying data (grid, curves, times) as one JSON object on stdout."
ACT_HELP = "Activation of the random features: tanh, relu or erf."
T_HELP = "Diffusion (OU) time t > 0 at which the score is learned."

# the library names the axis ranges it takes (d_range[0], …); the CLI sets them with these flags
_ND_FLAGS = {"d_range[0]": "--d-min", "d_range[1]": "--d-max", "d_range": "--d-min/--d-max",
             "n_range[0]": "--n-min", "n_range[1]": "--n-max", "n_range": "--n-min/--n-max"}
_NP_FLAGS = {"psi_n_range[0]": "--psi-n-min", "psi_n_range[1]": "--psi-n-max",
             "psi_n_range": "--psi-n-min/--psi-n-max", "psi_p_range[0]": "--psi-p-min",
             "psi_p_range[1]": "--psi-p-max", "psi_p_range": "--psi-p-min/--psi-p-max"}
_NTAU_FLAGS = {"n_range[0]": "--n-min", "n_range[1]": "--n-max", "n_range": "--n-min/--n-max",
               "tau_range[0]": "--tau-min", "tau_range[1]": "--tau-max",
               "tau_range": "--tau-min/--tau-max", "window_points": "--window-points",
               "gap_tolerance": "--gap-tolerance"}


# ---------------------------------------------------------------------- input limits
#: Largest value of an axis or size: beyond, products and powers of it overflow float64.
MAX_VALUE = 1e300
#: Largest value on a figure's log axis (matplotlib's tick formatter overflows at 1e290, not at 1e200).
MAX_FIGURE_VALUE = 1e200


def _real(value: float, flag: str, lo: float, hi: float = MAX_VALUE, what: str = "") -> float:
    """A CLI number that must be finite and in ``[lo, hi]`` (one-line error naming the flag)."""
    from regimes import RegimesError

    if not (math.isfinite(value) and lo <= value <= hi):
        raise RegimesError(f"{flag} must be a finite number >= {lo:g} and <= {hi:g}{what}, got {value:g}")
    return value


def _typed(ctx: typer.Context, **values: float) -> list[str]:
    """``--flag value`` of the options (``n_max=…``) the user typed (not left at their default)."""
    return [f"--{name.replace('_', '-')} {v:g}" for name, v in values.items() if given_on_command_line(ctx, name)]


def _check_gap(ctx: typer.Context, points: int, gap_d: int, psi_n_range, psi_p_range) -> None:
    """Refuse ``np --gap`` runs estimated beyond a minute or the memory: one instance per grid cell,
    of p = ψ_p·gap_d features and n = ψ_n·gap_d points, costing p²n + p·gap_d·n + p³ units
    (measured: --points 2 at --gap-d 128 took 0.9 s, at 256 8.7 s, at 512 149 s; the estimate says
    7 s, 27 s and 216 s)."""
    import numpy as np

    lo_n, hi_n = psi_n_range
    lo_p, hi_p = psi_p_range
    if not all(math.isfinite(x) and x > 0 for x in (lo_n, hi_n, lo_p, hi_p)) or hi_n <= lo_n or hi_p <= lo_p:
        return  # the library's one-line errors
    units = mem = 0.0
    for a in np.geomspace(lo_n, hi_n, points):
        for b in np.geomspace(lo_p, hi_p, points):
            pp, nn = max(1, round(float(b) * gap_d)), max(1, round(float(a) * gap_d))
            units += float(pp) ** 2 * nn + float(pp) * gap_d * nn + float(pp) ** 3
            mem = max(mem, 8.0 * (pp * gap_d + gap_d * nn + 2.0 * pp * nn + 6.0 * pp * pp))
    flags = f"--gap-d {gap_d} with --points {points}"
    given = _typed(ctx, psi_n_max=hi_n, psi_p_max=hi_p)
    if given:
        flags += ", " + ", ".join(given)
    advice = "use a smaller --gap-d or --points (or smaller ψ ranges)"
    refuse_memory(flags, mem, f"the largest sampled instance of --gap ({points}² instances)", advice)
    refuse_long(flags, units / UNITS_PER_SECOND, f"--gap ({points * points} sampled instances)", advice)


def _ntau_base(t: float, activation: str):
    """The random-features model at ψ = 1 (its τ_gen, τ_mem per unit ψ_n, constants); None when
    ``t`` or ``activation`` is invalid (the library then says so, naming the flag)."""
    from regimes import RegimesError
    from regimes.rmt import RandomFeatures

    try:
        return RandomFeatures(1.0, 1.0, t, activation)
    except (RegimesError, ValueError, TypeError):
        return None


def _check_ntau(ctx: typer.Context, rf, n_min, n_max, d, p, tau_range, lr, window_points: int, points: int) -> None:
    """Refuse up front what ``ntau`` cannot draw or compute: an empty or overflowing default τ axis,
    an --lr whose step axis overflows, a loss-curve window beyond a minute or the memory."""
    import numpy as np

    from regimes import RegimesError
    from regimes.phase import NTAU_WINDOW_BUDGET, NTAU_WINDOW_SEEDS
    from regimes.rmt.windows import window_cost

    tg, tm1 = float(rf.tau_gen), float(rf.tau_mem)
    tau_mem_hi = n_max / d * tm1
    if tau_range is None:
        tau_lo, tau_hi = tg / 10.0, 10.0 * tau_mem_hi
        given = ", ".join(_typed(ctx, n_max=n_max, d=d)) or f"--n-max {n_max:g}, --d {d:g}"
        if not math.isfinite(tau_hi):
            raise RegimesError(f"{given}: the default τ axis ends at 10 τ_mem(n_max) = 10 (n_max/d) τ_mem(ψ_n = 1), "
                               f"which overflows; keep n_max/d <= {1e300 / tm1:.3g}, or give --tau-min and --tau-max")
        if not tau_hi > tau_lo:
            raise RegimesError(
                f"{given}: the default τ axis τ_gen/10 … 10 τ_mem(n_max) is empty (τ_mem at n_max = {tau_mem_hi:.3g} "
                f"<= τ_gen/100 = {tg / 100:.3g}); use --d < {100.0 * n_max * tm1 / tg:.4g} or --n-max > "
                f"{tg * d / (100.0 * tm1):.4g}, or give --tau-min and --tau-max")
    else:
        tau_lo, tau_hi = tau_range
    if lr is not None and all(math.isfinite(x) and x > 0 for x in (tau_lo, tau_hi)) and tau_hi > tau_lo:
        k = d * d / lr
        if not (tau_lo * k >= 1e-300 and tau_hi * k <= 1e300):
            raise RegimesError(
                f"--lr {lr:g}: the step axis k = τ d²/η would span {tau_lo * k:.3g} … {tau_hi * k:.3g} "
                f"(τ {tau_lo:.3g} … {tau_hi:.3g}, d = {d:g}), beyond 1e-300 … 1e300; allowed η from "
                f"{tau_hi * d * d / 1e300:.3g} to {tau_lo * d * d / 1e-300:.3g}")
    if not 1 <= window_points <= 200 or not 2 <= points <= 4001:
        return  # none, or the library's one-line error
    if not rf.constants.s_t2 > 0:
        return
    wn = np.geomspace(n_min, n_max, window_points) if window_points > 1 else [n_max]
    units = mem = 0.0
    biggest = None
    for k in wn:
        cost = window_cost(rf, float(k), d, p, seeds=NTAU_WINDOW_SEEDS, budget=NTAU_WINDOW_BUDGET)
        units += cost.units  # (0 for a window not computed: too small an instance)
        if cost.bytes > mem:
            mem, biggest = cost.bytes, cost.sizes
    given = _typed(ctx, n_min=n_min, n_max=n_max, d=d, p=p)
    flags = ", ".join([f"--window-points {window_points}", *given])
    advice = ("use --window-points 0 (no τ_best/τ_gap), fewer window points"
              + (f", or other values of {' / '.join(g.split()[0] for g in given)}" if given else ""))
    if biggest is not None:
        refuse_memory(flags, mem, f"the loss-curve window's largest instance (d' = {biggest[0]:.3g}, "
                       f"p' = {biggest[1]:.3g}, n' = {float(biggest[2]):.3g})", advice)
    refuse_long(flags, units / UNITS_PER_SECOND, f"the loss curves at {window_points} n values", advice)


phase_app = typer.Typer(
    name="phase-diagram",
    help=(
        "Phase diagrams: (n, d) collapse of Gaussian data [arXiv 2402.18491]; (n, p) and "
        "(n, τ) memorisation of the random-features score model [arXiv 2505.17638]."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _finish(
    payload: dict, json_out: bool, path: Optional[Path], make_fig, title: str, rows, notes
) -> None:
    if path is not None:
        use_agg()
        save_figure(make_fig(), path)
        notes = [*notes, f"figure written to {path}"]
    if json_out:
        if path is not None:
            payload["figure"] = str(path)
        payload["notes"] = list(notes)
        emit_json(payload)
        return
    if path is None:
        notes = [*notes, "use --out FILE.png|pdf|svg for the figure, --json for the grid"]
    print_table(title, rows, notes=notes)


@phase_app.command("nd")
def nd(
    d_min: float = typer.Option(1.0, "--d-min", help="Smallest dimension d (log axis; 1 to 1e300; 1e200 with --out)."),
    d_max: float = typer.Option(1e4, "--d-max", help="Largest dimension d (1 to 1e300; 1e200 with --out)."),
    n_min: float = typer.Option(10.0, "--n-min",
                                help="Smallest training-set size n (log axis; 2 to 1e300; 1e200 with --out)."),
    n_max: float = typer.Option(1e12, "--n-max", help="Largest training-set size n (2 to 1e300; 1e200 with --out)."),
    points: int = typer.Option(121, "--points", help="Grid points per axis (2 to 20001)."),
    variance: Optional[float] = typer.Option(
        None, "--variance", help="σ² (within-class variance for a mixture; default 1, or the preset's)."
    ),
    separation: Optional[float] = typer.Option(
        None,
        "--separation",
        help="Two-class mixture m̃ (Λ = d m̃² + σ² grows with d): draws Regime II. From 1e-150 "
        "(m̃² stays a normal float) to √(1e300/d_max), so that Λ stays finite.",
    ),
    eigenvalue: Optional[float] = typer.Option(
        None, "--eigenvalue", "-L", help="A fixed largest eigenvalue Λ instead: draws Regime II."
    ),
    target: float = typer.Option(0.5, "--target", help="The t_C level of the n*(d) curve."),
    preset: Optional[str] = typer.Option(
        None, "--preset", help=PRESET_HELP + " Marks the dataset."
    ),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    n_data: Optional[float] = typer.Option(None, "--n", help="Your dataset's n: marks (d, n) (with --d; 2 to 1e300)."),
    d_data: Optional[float] = typer.Option(None, "--d", help="Your dataset's d: marks (d, n) (with --n; 1 to 1e300)."),
    out: Optional[str] = typer.Option(None, "--out", help=OUT_HELP),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """(n, d) plane: t_C of Gaussian data, the n*(d) curve of a target t_C, the Regime-II window."""
    from regimes import RegimesError
    from regimes.inverse import n_for_collapse_time
    from regimes.phase import alpha_for_collapse_time, nd_phase_diagram

    path = check_out(out)
    if separation is not None and eigenvalue is not None:  # the library names its parameters; say the flags
        raise RegimesError(f"give at most one of --separation ({separation:g}) and -L/--eigenvalue "
                           f"({eigenvalue:g}): a mixture's Λ = d m̃² + σ² grows with d, a fixed Λ does not")
    # finite axes the float64 arithmetic handles (the lower bounds are the library's)
    top = MAX_VALUE if path is None else MAX_FIGURE_VALUE  # matplotlib's log ticks overflow near 1e300
    why = "" if path is None else " with --out (the figure's log axes)"
    _real(d_min, "--d-min", 1.0, top, why)
    _real(d_max, "--d-max", 1.0, top, why)
    _real(n_min, "--n-min", 2.0, top, why)
    _real(n_max, "--n-max", 2.0, top, why)
    if separation is not None:  # Λ = d m̃² + σ² finite on the grid, m̃² (and e^{σ²/2m̃²}) not an underflow
        _real(separation, "--separation", 1e-150, math.sqrt(MAX_VALUE / max(d_max, d_min)),
              what=f" (Λ = d m̃² + σ² finite up to --d-max {d_max:g})")
    if eigenvalue is not None:
        _real(eigenvalue, "-L/--eigenvalue", 1e-300)
    mark = None
    src_notes: list[str] = []
    # with --separation the mixture's Λ is not the preset's: only σ² can be converted
    p, units = apply_units(load_preset(preset), units, src_notes,
                           given={"eigenvalue": eigenvalue, "variance": variance},
                           uses=("variance",) if separation is not None else ("eigenvalue", "variance"))
    if (n_data is None) != (d_data is None):
        raise RegimesError("--n and --d mark a dataset together: give both")
    typed = eigenvalue is not None or separation is not None  # Λ not the preset's: the user's units
    if p is not None:
        if eigenvalue is None and separation is None and p.eigenvalue is not None:
            eigenvalue = p.eigenvalue
            src_notes.append(provenance(p, "eigenvalue"))
        if n_data is None and (p.n is None or p.d is None):  # the preset marks (d, n): it needs both
            miss = "--n" if p.n is None else "--d"
            raise RegimesError(f"{miss} is required (preset {p.name!r} does not give it): "
                               f"give --n and --d to mark the dataset")
        mark = (p.d, p.n, p.name)
    if n_data is not None:
        mark = (_real(d_data, "--d", 1.0), _real(n_data, "--n", 2.0), f"n = {n_data:g}, d = {d_data:g}")
    unmatched = variance_unmatched(variance, p, typed)  # σ² = 1 assumed against the preset's Λ units
    variance, var_notes = resolve_variance(variance, p, typed)
    src_notes += var_notes
    with flag_errors(_ND_FLAGS):
        pdg = nd_phase_diagram(
            (d_min, d_max), (n_min, n_max), points, variance, separation, eigenvalue, target
        )
    payload = {
        "plane": "nd",
        **pdg.to_dict(),
        "alpha_star": alpha_for_collapse_time(target, variance),
        # n* at one d: the marked dataset's d (preset or --d; else 100), n* null beyond float64, never inf
        "n_star_at": n_for_collapse_time(target, mark[0] if mark is not None else 100, variance).to_dict(),
    }
    if n_data is not None:
        payload.update(mark_n=n_data, mark_d=d_data)
    if p is not None:
        payload.update(preset=p.name, preset_n=num(p.n), preset_d=num(p.d), units=units)
    if unmatched:  # t_C, and so Regime II's extent, not meaningful on this grid
        payload.update(UNMATCHED_KEYS)
    notes = src_notes + [
        "t_C = ½ log1p(σ²/expm1(2 ln n/d)) of N(0, σ²I) data (d → ∞ closed form); "
        "n*(d) = exp(α* d)",
        "OU time, natural log",
    ]
    rows = [
        ("σ²", variance),
        ("target t_C", target),
        ("α* = ln n*/d", payload["alpha_star"]),
        (f"log10 n* at d = {num(payload['n_star_at']['d'])}", payload["n_star_at"]["log10_n"]),
        ("t_C range on the grid", f"{float(pdg.t_C.min()):.4g} … {float(pdg.t_C.max()):.4g}"),
    ]
    if pdg.t_S is not None:
        frac = float((pdg.regime_II_width == pdg.regime_II_width).mean())
        rows.append(("fraction of the grid with Regime II" + (" (σ² ASSUMED: not meaningful)" if unmatched else ""),
                     frac))
        t_S_grid = payload["t_S"]  # null where Λ <= 1 (pdg.to_dict: no warning, as `regimes speciation`)
        notes.append("regime_II_width = t_S − t_C, null where Regime II does not exist (t_C >= t_S)")
        if any(x is None for x in t_S_grid):
            notes.append("t_S = ½ ln Λ is null where Λ <= 1 (no speciation, so no Regime II)"
                         + (": everywhere, Λ is fixed" if all(x is None for x in t_S_grid) else ""))

    def fig():
        from regimes.plot.phase import plot_phase_nd

        return plot_phase_nd(pdg, mark=mark)

    _finish(payload, json_out, path, fig, "(n, d) phase diagram of collapse", rows, notes)


@phase_app.command("np")
def np_(
    ctx: typer.Context,
    psi_n_min: float = typer.Option(0.1, "--psi-n-min", help="Smallest ψ_n = n/d."),
    psi_n_max: float = typer.Option(10.0, "--psi-n-max", help="Largest ψ_n."),
    psi_p_min: float = typer.Option(0.1, "--psi-p-min", help="Smallest ψ_p = p/d."),
    psi_p_max: float = typer.Option(10.0, "--psi-p-max", help="Largest ψ_p."),
    points: int = typer.Option(121, "--points", help="Grid points per axis (2 to 20001; at most 24 with --gap)."),
    t: float = typer.Option(0.1, "--t", help=T_HELP),
    training_time: float = typer.Option(
        30.0, "--training-time", help="Training time τ of the regions, in units of τ_gen."
    ),
    d: Optional[float] = typer.Option(
        None, "--d", help="Dimension: axes in n and p instead of ψ_n, ψ_p."
    ),
    n_model: Optional[float] = typer.Option(
        None, "--n", help="Your model's training-set size n (with --p and --d; 2 to 1e300): marked on the figure."
    ),
    p_model: Optional[float] = typer.Option(
        None, "--p", help="Your model's number of random features p (with --n and --d; 1 to 1e300)."
    ),
    activation: str = typer.Option("tanh", "--activation", help=ACT_HELP),
    gap: bool = typer.Option(
        False,
        "--gap",
        help="Also estimate the long-time generalisation gap "
        "from sampled instances (slow: use --points ≤ 12).",
    ),
    gap_d: int = typer.Option(24, "--gap-d", help="Dimension of the sampled instances for --gap (4 to 512, and "
                              "--points × --gap-d within about a minute: estimated and refused before the run; "
                              "e.g. --gap-d 256 with --points 2 (about 10-40 s), not --gap-d 512)."),
    seed: int = typer.Option(0, "--seed", help="Seed for --gap."),
    out: Optional[str] = typer.Option(None, "--out", help=OUT_HELP),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """(ψ_n, ψ_p) or (n, p) plane: memorisation, dynamical regularisation, no memorisation."""
    from regimes.phase import np_phase_diagram

    path = check_out(out)
    if (n_model is None) != (p_model is None) or (n_model is not None and d is None):
        from regimes import RegimesError

        raise RegimesError("give --n, --p and --d together to mark your model")
    if d is not None:
        _real(d, "--d", 1.0)
    if n_model is not None:
        _real(n_model, "--n", 2.0)
        _real(p_model, "--p", 1.0)
    if gap and 4 <= gap_d <= 512 and 2 <= points <= 24:  # other values: the library's one-line errors
        _check_gap(ctx, points, gap_d, (psi_n_min, psi_n_max), (psi_p_min, psi_p_max))
    with flag_errors(_NP_FLAGS):
        pdg = np_phase_diagram(
            (psi_n_min, psi_n_max),
            (psi_p_min, psi_p_max),
            points,
            t,
            training_time,
            d,
            activation,
            gap=gap,
            gap_d=gap_d,
            rng=seed,
        )
    payload = {"plane": "np", **pdg.to_dict()}
    k = pdg.tau_ratio[0, 0] / pdg.psi_n[0]
    notes = [
        "leading order: τ_gen = 1/(2Δ_tΓ_t²κ_1²), τ_mem = ψ_n/(2Δ_t v_t²); memorisation only "
        "above the interpolation line p = n (a smooth crossover)",
        pdg.to_dict()["time_convention"],
        *payload.pop("notes", []),  # the library's caveats (τ_mem outside its range)
    ]
    rows = [
        ("OU time t", pdg.t),
        ("τ_gen", pdg.tau_gen),
        ("τ_mem/τ_gen per unit ψ_n", k),
        ("training time τ/τ_gen", pdg.training_time),
        ("memorisation for ψ_n <", pdg.psi_n_mem),
    ]
    if d is not None:
        rows.append(("memorisation for n <", pdg.psi_n_mem * d))

    def fig():
        from regimes.plot.phase import plot_phase_np

        mark = None
        if n_model is not None:
            mark = (n_model, p_model, f"your model (n = {n_model:g}, p = {p_model:g})")
        return plot_phase_np(pdg, mark=mark)

    _finish(
        payload,
        json_out,
        path,
        fig,
        "(ψ_n, ψ_p) phase diagram of the random-features model",
        rows,
        notes,
    )


@phase_app.command("ntau")
def ntau(
    ctx: typer.Context,
    n_min: float = typer.Option(10.0, "--n-min", help="Smallest training-set size n (1 to 1e300)."),
    n_max: float = typer.Option(1e4, "--n-max", help="Largest training-set size n (1 to 1e300; with "
                                "--window-points, the loss curves must fit in memory and about a minute: "
                                "estimated and refused before the run)."),
    tau_min: Optional[float] = typer.Option(
        None, "--tau-min", help="Smallest training time (default τ_gen/10)."
    ),
    tau_max: Optional[float] = typer.Option(
        None, "--tau-max", help="Largest training time (default 10 τ_mem(n_max))."
    ),
    points: int = typer.Option(121, "--points", help="Grid points per axis (2 to 4001)."),
    d: float = typer.Option(100.0, "--d", help="Dimension d (1 to 1e300; small enough that the default τ axis "
                            "τ_gen/10 … 10 τ_mem(n_max) is not empty, and for --window-points within the "
                            "run-time estimate)."),
    p: float = typer.Option(2000.0, "--p", help="Number of random features p (1 to 1e300)."),
    t: float = typer.Option(0.1, "--t", help=T_HELP),
    activation: str = typer.Option("tanh", "--activation", help=ACT_HELP),
    window_points: int = typer.Option(
        7, "--window-points", help="n values at which τ_best, τ_gap are read off the loss curves (0 to 200; "
        "0: none). Their cost (sampled instances, 2 seeds each) is estimated before the run: more than about a "
        "minute on 2 cores (about 100 points at the default n, d, p), or more than the available memory, is "
        "refused."),
    gap_tolerance: float = typer.Option(
        0.1, "--gap-tolerance", help="ε of τ_gap (first τ with L_test − L_train ≥ ε), in (0, 1)."),
    n_model: Optional[float] = typer.Option(
        None, "--n", help="Your model's training-set size n (2 to 1e300): marked on the figure."),
    lr: Optional[float] = typer.Option(
        None, "--lr", help="Learning rate η: the figure's right axis in optimiser steps k = τ d²/η "
        "(convention τ = ηk/d², full-batch gradient descent on L). Such that k stays within 1e-300 … 1e300 "
        "over the τ axis (else refused)."),
    out: Optional[str] = typer.Option(None, "--out", help=OUT_HELP),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """(n, τ) plane: τ_gen flat, τ_mem ∝ n, the generalisation window between, and τ_best, τ_gap
    from the predicted loss curves."""
    from regimes import RegimesError
    from regimes.phase import NTAU_WINDOW_BUDGET, NTAU_WINDOW_SEEDS, ntau_phase_diagram
    from regimes.rmt.windows import MIN_WINDOW_D

    path = check_out(out)
    if lr is not None:
        positive(lr, "--lr")
    _real(n_min, "--n-min", 1.0)
    _real(n_max, "--n-max", 1.0)
    _real(d, "--d", 1.0)
    _real(p, "--p", 1.0)
    if n_model is not None:
        _real(n_model, "--n", 2.0)
    tau_range = None
    if tau_min is not None or tau_max is not None:
        if tau_min is None or tau_max is None:
            raise RegimesError("give both --tau-min and --tau-max, or neither")
        tau_range = (tau_min, tau_max)
    base = _ntau_base(t, activation)
    if base is not None and n_min < n_max:
        _check_ntau(ctx, base, n_min, n_max, d, p, tau_range, lr, window_points, points)
    with flag_errors(_NTAU_FLAGS):
        pdg = ntau_phase_diagram((n_min, n_max), tau_range, points, d, p, t, activation,
                                 window_points=window_points, gap_tolerance=gap_tolerance)
    payload = {"plane": "ntau", **pdg.to_dict()}
    win = pdg.windows
    notes = [
        "leading order (arXiv 2505.17638); memorisation needs p > n",
        payload["time_convention"],
        *payload.pop("notes", []),  # the library's caveats (τ_mem outside its range)
    ]
    rows = [
        ("OU time t", pdg.t),
        ("d", d),
        ("p", p),
        ("τ_gen (flat in n)", pdg.tau_gen),
        ("τ_mem at n_min", float(pdg.tau_mem[0])),
        ("τ_mem at n_max", float(pdg.tau_mem[-1])),
        ("window τ_mem/τ_gen per training point", float(pdg.tau_mem[0] / pdg.n[0] / pdg.tau_gen)),
    ]
    if win is not None:
        rows += [(f"n = {k:.4g}: τ_best, τ_gap({win['gap_tolerance']:g})", _window_cell(b, g, wd))
                 for k, b, g, wd in zip(win["window_n"], win["tau_best"], win["tau_gap"], win["window_d"],
                                        strict=True)]
        notes.append("τ_best = argmin L_test and τ_gap = first τ with L_test − L_train ≥ ε, from "
                     f"predicted loss curves (Gaussian-equivalent instances, {NTAU_WINDOW_SEEDS} seeds); "
                     "τ_gap 'never': the gap never reaches ε")
        if any(int(wd) == 0 for wd in win["window_d"]):
            notes.append("'not computed': at that n the loss-curve instance allowed by the budget "
                         f"(p·min(p, n + d) <= {NTAU_WINDOW_BUDGET} at the same p/d, n/d) is smaller than "
                         f"d = {MIN_WINDOW_D}, whose curves "
                         "are finite-size noise (JSON: null); use the asymptotic τ_gen, τ_mem there")

    def fig():
        from regimes.plot.phase import plot_phase_ntau

        # the loss-curve window (τ_best, τ_gap) drawn over the leading-order picture, its legend below the axes
        return plot_phase_ntau(pdg, mark=None if n_model is None else (n_model, "your model"), lr=lr, window=win)

    _finish(payload, json_out, path, fig, "(n, τ) plane of the random-features model", rows, notes)


def _window_cell(tau_best: float, tau_gap: float, window_d) -> str:
    """τ_best, τ_gap of one window point, as words where there is no number (never a literal nan)."""
    if int(window_d) == 0:
        return "not computed (instance too small; see the notes)"
    best = "not computed" if math.isnan(tau_best) else f"{tau_best:.4g}"
    return f"{best}, {'never' if math.isnan(tau_gap) else f'{tau_gap:.4g}'}"


# built-in example of `regimes timeline` with no data: the two-class mixture of `regimes analyze`
_DEFAULT = {"n": 4000, "d": 1024, "separation": 1.0, "variance": 1.0}


def timeline(
    n: Optional[float] = typer.Option(None, "--n", help="Number of training points (>= 2)."),
    d: Optional[float] = typer.Option(None, "--d", help="Dimension (>= 1)."),
    eigenvalue: Optional[float] = typer.Option(
        None, "--eigenvalue", "-L", help="Largest covariance eigenvalue Λ."
    ),
    variance: Optional[float] = typer.Option(
        None, "--variance", help="σ² in the Gaussian t_C formula (data units of Λ; default 1, or the preset's)."
    ),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    schedule: Optional[str] = typer.Option(None, "--schedule", "-s", help=SCHEDULE_HELP + " Default linear."),
    betas: BetasOption = None,
    alphas_cumprod: AlphasCumprodOption = None,
    scheduler_config: SchedulerConfigOption = None,
    sampler_steps: SamplerStepsOption = None,
    timestep_spacing: TimestepSpacingOption = None,
    steps: Optional[int] = typer.Option(
        None, "--steps", "-T",
        help="Schedule steps T (2 to 10⁷, linear from 21; default 1000; EDM sampler levels, default 18)."),
    axis: str = typer.Option(
        "time", "--axis",
        help="Figure x axis: time (OU time, steps on the top axis) or steps (the sampler's steps, "
        "OU time on the top axis).",
    ),
    compare: Optional[str] = typer.Option(
        None, "--compare",
        help="Comma-separated samplers (e.g. linear,cosine,scaled-linear,edm): the figure stacks "
        "the regimes on each (default steps of each sampler); --json adds their steps under 'compare'.",
    ),
    out: Optional[str] = typer.Option(None, "--out", help=OUT_HELP),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Regime timeline of one dataset: t_S, t_C and the three regimes on OU time and sampler steps.

    Without --n/--d/--eigenvalue/--preset: the built-in two-class Gaussian mixture of
    `regimes analyze` (n = 4000, d = 1024, m̃ = 1, σ² = 1, so Λ = d m̃² + σ² = 1025).
    """
    from regimes import alpha, collapse_time, speciation_time
    from regimes.schedules import EDMSampler, edm_sigma, get_sampler
    from regimes.timeline import locate_regimes

    sampler, inference = build_sampler(schedule, steps, betas, alphas_cumprod, scheduler_config,
                                       sampler_steps, timestep_spacing, default="linear")
    path = check_out(out)
    axis = axis.strip().lower()
    if axis not in ("time", "steps"):
        from regimes import RegimesError

        raise RegimesError(f"--axis must be time or steps, got {axis!r}")
    with flag_errors({"--schedule": "--compare", "schedule must": "--compare must"}):
        others = [get_sampler(c) for c in _names(compare)] if compare is not None else None
    notes: list[str] = []
    p, units = apply_units(load_preset(preset), units, notes, given={"eigenvalue": eigenvalue, "variance": variance})
    builtin = p is None and n is None and d is None and eigenvalue is None
    typed = eigenvalue is not None  # Λ in the user's own units
    if builtin:
        n, d = _DEFAULT["n"], _DEFAULT["d"]
        eigenvalue = d * _DEFAULT["separation"] ** 2 + _DEFAULT["variance"]
        notes.append(
            "no data given: built-in two-class mixture n = 4000, d = 1024, m̃ = 1, σ² = 1 (Λ = 1025)"
        )
    n = need(n, "n", p, notes=notes)
    d = need(d, "d", p, notes=notes)
    lam = need(eigenvalue, "eigenvalue", p, notes=notes)
    variance, unmatched = _timeline_variance(variance, p, builtin, typed, notes)
    t_S = quiet_no_speciation(speciation_time, lam)
    t_C = float(collapse_time(n, d, variance))
    loc = locate_regimes(t_S, t_C, sampler, sampler_steps=inference)
    notes += regime_ii_note(lam, t_S, t_C, unmatched) + loc["notes"]
    # no speciation is a result, not a failure: null without a warning
    payload = {"n": num(n), "d": num(d), "eigenvalue": float(lam), "variance": float(variance),
               "alpha": float(alpha(n, d)), "t_S": None if math.isnan(t_S) else t_S, "t_C": t_C,
               **{k: v for k, v in loc.items() if k not in ("notes", "regimes")},
               "regimes": regimes_payload(loc["regimes"])}
    if isinstance(sampler, EDMSampler):  # the sampler's own variable: its noise levels σ
        payload.update(sigmas=sampler.sigmas, sigma_S=None if math.isnan(t_S) else edm_sigma(t_S),
                       sigma_C=edm_sigma(t_C))
    if p is not None:
        payload.update(preset=p.name, units=units)
    if unmatched:  # t_C and the regimes' bounds from it are not meaningful
        payload.update(UNMATCHED_KEYS)
    size = steps_label(loc["schedule"], loc["steps"])
    rows = [
        ("n", payload["n"]),
        ("d", payload["d"]),
        ("Λ", lam),
        ("σ² (ASSUMED: t_C not meaningful)" if unmatched else "σ²", variance),
        ("t_S = ½ ln Λ", t_S),
        ("t_C (from an assumed σ²)" if unmatched else "t_C", t_C),
        (f"step of t_S ({loc['schedule']}, {size})", loc["step_S"]),
        (f"step of t_C ({loc['schedule']}, {size}){', ASSUMED σ²' if unmatched else ''}", loc["step_C"]),
    ]
    rows += sampler_step_rows(inference, loc, notes)
    if "sigmas" in payload:
        rows += [("σ at t_S", payload["sigma_S"]), ("σ at t_C", payload["sigma_C"])]
    for r in loc["regimes"]:
        rows.append((f"Regime {r['name']}", unmatched_row(time_range_text(r["t_min"], r["t_max"]), r, t_C, unmatched)))
    notes.append(loc["step_convention"])
    if others is not None:
        _compare(t_S, t_C, others, payload, rows, notes)

    def fig():
        from regimes.plot.timeline import plot_timeline, plot_timeline_compare

        caveat = UNMATCHED_TITLE if unmatched else None  # and no Regime II verdict drawn from that t_C
        if others is not None:
            return plot_timeline_compare(t_S, t_C, others, axis=axis, t_C_caveat=caveat)
        return plot_timeline(t_S, t_C, sampler, axis=axis, t_C_caveat=caveat)

    _finish(payload, json_out, path, fig, "Regime timeline", rows, notes)


def _timeline_variance(variance, p, builtin: bool, typed: bool, notes: list) -> tuple[float, bool]:
    """``(σ², unmatched)`` for `timeline`: the built-in mixture's own σ², else as `times` resolves it
    (``unmatched``: σ² = 1 assumed against a preset's Λ units), its note appended to ``notes``."""
    if builtin and variance is None:  # the built-in mixture's own σ², no "assumed" note
        return _DEFAULT["variance"], False
    unmatched = variance_unmatched(variance, p, typed)
    variance, var_notes = resolve_variance(variance, p, typed)
    notes += var_notes
    return variance, unmatched


def _compare(t_S: float, t_C: float, others: list, payload: dict, rows: list, notes: list) -> None:
    """`timeline --compare`: each sampler's steps of t_S and t_C, with its own step convention and
    notes (JSON: under 'compare'; table: a row each, and its notes prefixed with its name)."""
    from regimes.timeline import locate_regimes

    cmp = [locate_regimes(t_S, t_C, o) for o in others]
    payload["compare"] = [{**{k: c[k] for k in ("schedule", "steps", "t_max", "step_S", "step_C",
                                                 "step_convention")}, "notes": c["notes"]} for c in cmp]
    for c in cmp:
        size = steps_label(c["schedule"], c["steps"])
        rows.append((f"steps of t_S, t_C ({c['schedule']}, {size})", f"{c['step_S']}, {c['step_C']}"))
        own = [f"{c['schedule']}: {x}" for x in [*c["notes"], c["step_convention"]]]
        notes += [x for x in own if x not in notes]


def _names(text: str) -> list[str]:
    """The samplers of --compare (comma-separated, at least one)."""
    from regimes import RegimesError

    names = [c.strip() for c in text.split(",")]
    if not any(names):
        raise RegimesError(f"--compare needs comma-separated sampler names, got {text!r}")
    if not all(names):  # "linear,,cosine": a typo, not a list of two
        raise RegimesError(f"--compare {text!r}: empty sampler name at position {names.index('') + 1}; "
                           "give comma-separated names such as linear,cosine,edm")
    return names


def register(app: typer.Typer) -> None:
    app.add_typer(phase_app, name="phase-diagram")
    app.command("timeline")(timeline)
