"""`regimes solve n | d | eigenvalue` — the inverse questions of arXiv 2402.18491's closed forms.

How many training points push collapse to a given time (or into the last fraction of a sampler's
steps), which dimension does, and which Λ puts speciation on a given step. n is exponential in d:
it is reported as ``log10_n`` always and ``n`` only within float64 (docs: "Solving for n").
"""

from __future__ import annotations

from typing import Optional

import typer

from .._options import (
    PRESET_HELP,
    SCHEDULE_HELP,
    UNITS_HELP,
    VARIANCE_HELP,
    AlphasCumprodOption,
    BetasOption,
    SchedulerConfigOption,
    apply_units,
    build_sampler,
    int_in_range,
    load_preset,
    need,
    num,
    positive,
    resolve_variance,
)
from .._output import emit_json, print_table

solve_app = typer.Typer(
    name="solve",
    help=(
        "Inverse questions (arXiv 2402.18491): the n or d that put collapse at a target time, "
        "or the Λ whose speciation falls on a given step."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

TC_HELP = "Target collapse time t_C (OU time > 0)."
NOTE_VALIDITY = "Gaussian-data closed form, exact for N(0, σ²I) as d → ∞ (docs/validity.md); OU time, natural log"


def _finish(title: str, payload: dict, rows, notes: list[str], json_out: bool) -> None:
    if json_out:
        payload["notes"] = notes
        emit_json(payload)
        return
    print_table(title, rows, notes=notes)


@solve_app.command("n")
def solve_n(
    t_c: Optional[float] = typer.Option(None, "--t-C", "--t-c", help=TC_HELP),
    last_fraction: Optional[float] = typer.Option(
        None, "--last-fraction", "-q",
        help="Collapse only in the last fraction q of the sampling steps (t_C <= t_K, K = floor(qT)).",
    ),
    schedule_name: Optional[str] = typer.Option(None, "--schedule", "-s", help=SCHEDULE_HELP + " Default linear."),
    steps: Optional[int] = typer.Option(None, "--steps", "-T", help="Number of schedule steps T (2 to 10⁷)."),
    betas: BetasOption = None,
    alphas_cumprod: AlphasCumprodOption = None,
    scheduler_config: SchedulerConfigOption = None,
    d: Optional[float] = typer.Option(None, "--d", help="Dimension (>= 1)."),
    variance: Optional[float] = typer.Option(None, "--variance", help=VARIANCE_HELP),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """n such that t_C equals a target, or such that collapse happens only in the last fraction q of the steps."""
    from regimes import RegimesError
    from regimes.inverse import n_for_collapse_time, n_for_last_fraction

    if (t_c is None) == (last_fraction is None):
        raise RegimesError("give exactly one of --t-C and --last-fraction")
    notes: list[str] = []
    p, units = apply_units(load_preset(preset), units, notes, given={"variance": variance}, uses=("variance",))
    d = need(d, "d", p, notes=notes)
    variance, var_notes = resolve_variance(variance, p)
    notes += var_notes
    if t_c is not None:
        given = [f for f, v in (("--schedule", schedule_name), ("--steps", steps), ("--betas", betas),
                                ("--alphas-cumprod", alphas_cumprod), ("--scheduler-config", scheduler_config))
                 if v is not None]
        if given:
            raise RegimesError(f"{given[0]} applies to --last-fraction only (--t-C is an OU time)")
        sol = n_for_collapse_time(positive(t_c, "--t-C"), d, variance)
    else:
        sch, _ = build_sampler(schedule_name, steps, betas, alphas_cumprod, scheduler_config,
                               discrete_only=True, default="linear")
        if sch.steps < 2:  # K = ⌊qT⌋ is 0 for every q < 1: a 1-step schedule has no "last fraction"
            flag, value = next(((f, v) for f, v in (("--betas", betas), ("--alphas-cumprod", alphas_cumprod),
                                                    ("--scheduler-config", scheduler_config)) if v is not None),
                               ("--steps", steps))
            raise RegimesError(f"{flag} {value}: --last-fraction needs a schedule of at least 2 steps "
                               f"(K = floor(q·T) is 0 for every q with T = 1), got {sch.steps} step")
        sol = n_for_last_fraction(last_fraction, d, sch, sch.steps, variance)
        notes.append(f"collapse (Regime III, t < t_C) covers at most steps 0 … {sol.step - 1} of "
                     f"{sol.steps} (sampling runs from step {sol.steps - 1} down to 0)" if sol.step
                     else "K = 0: collapse at no step at all (t_C <= t_0)")
    payload = sol.to_dict()
    payload["d"] = num(d)
    if p is not None:
        payload.update(preset=p.name, units=units)
    notes += list(sol.notes)
    if sol.n is None:
        notes.append(f"n = 10^{sol.log10_n:.6g} is beyond float64: n is null, use log10_n")
    notes += ["more data than n push collapse to a smaller t_C (later in the backward process): "
              "t_C decreases with n", NOTE_VALIDITY]
    rows = [("d", payload["d"]), ("σ²", variance), ("target t_C", sol.t_C), ("α = ln(n)/d", sol.alpha),
            ("log10 n", sol.log10_n), ("n", sol.n if sol.n is not None else "beyond float64")]
    if sol.step is not None:
        rows[2:2] = [(f"step K = ⌊qT⌋ ({sol.schedule}, T={sol.steps})", sol.step)]
    _finish("Training-set size for a collapse time", payload, rows, notes + [sol.formula], json_out)


@solve_app.command("d")
def solve_d(
    t_c: float = typer.Option(..., "--t-C", "--t-c", help=TC_HELP),
    n: Optional[float] = typer.Option(None, "--n", help="Number of training points (>= 2)."),
    variance: Optional[float] = typer.Option(None, "--variance", help=VARIANCE_HELP),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """d such that n training points collapse at t_C (d = ln n / α)."""
    from regimes.inverse import d_for_collapse_time

    notes: list[str] = []
    p, units = apply_units(load_preset(preset), units, notes, given={"variance": variance}, uses=("variance",))
    n = need(n, "n", p, notes=notes)
    variance, var_notes = resolve_variance(variance, p)
    sol = d_for_collapse_time(positive(t_c, "--t-C"), n, variance)
    payload = sol.to_dict()
    payload["n"] = num(n)
    if p is not None:
        payload.update(preset=p.name, units=units)
    notes += var_notes + list(sol.notes) + [
        "a larger d gives a larger t_C (collapse earlier in the backward process): t_C increases with d",
        NOTE_VALIDITY]
    rows = [("n", payload["n"]), ("σ²", variance), ("target t_C", sol.t_C), ("α", sol.alpha), ("d", sol.d)]
    _finish("Dimension for a collapse time", payload, rows, notes + [sol.formula], json_out)


@solve_app.command("eigenvalue")
def solve_eigenvalue(
    step: int = typer.Option(..., "--step", "-k", help="Zero-based step K (counted from the data end)."),
    schedule_name: Optional[str] = typer.Option(None, "--schedule", "-s", help=SCHEDULE_HELP + " Default linear."),
    steps: Optional[int] = typer.Option(None, "--steps", "-T", help="Number of schedule steps T (2 to 10⁷)."),
    betas: BetasOption = None,
    alphas_cumprod: AlphasCumprodOption = None,
    scheduler_config: SchedulerConfigOption = None,
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP + " Compares with its Λ."),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """The Λ whose speciation time t_S = ½ ln Λ falls on step K (Λ = e^(2 t_K) = 1/ᾱ_K)."""
    from regimes.inverse import eigenvalue_for_step

    notes: list[str] = []
    p, units = apply_units(load_preset(preset), units, notes, given={"eigenvalue": None}, uses=("eigenvalue",))
    sch, _ = build_sampler(schedule_name, steps, betas, alphas_cumprod, scheduler_config,
                           discrete_only=True, default="linear")
    sol = eigenvalue_for_step(int_in_range(step, "--step", 0), sch, sch.steps)
    payload = sol.to_dict()
    notes.append(f"every Λ in ({sol.eigenvalue_min:.6g}, {sol.eigenvalue:.6g}] has t_S on step {sol.step} "
                 "(first k with t_k >= t_S); Λ in the units the model was trained in")
    if p is not None and p.eigenvalue is not None:
        payload.update(preset=p.name, units=units, preset_eigenvalue=p.eigenvalue,
                       preset_above=p.eigenvalue > sol.eigenvalue)
        notes.append(f"preset {p.name}: Λ = {p.eigenvalue:g} ({units}) "
                     + ("speciates before (at a later step than) K" if p.eigenvalue > sol.eigenvalue
                        else "speciates at or after step K"))
    rows = [(f"step K ({sol.schedule}, T={sol.steps})", sol.step), ("t_K", sol.t), ("Λ = e^(2 t_K)", sol.eigenvalue),
            ("Λ lower end (exclusive)", sol.eigenvalue_min)]
    _finish("Eigenvalue for speciation at a step", payload, rows, notes + [sol.formula], json_out)


def register(app: typer.Typer) -> None:
    app.add_typer(solve_app, name="solve")
