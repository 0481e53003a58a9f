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
    provenance,
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
VARIANCE_HELP = (
    "σ²: the per-feature variance of the data (the mean over features, Tr C/d; within-class for a mixture), "
    "in the data's units, i.e. the units the model was trained in (pixels in [0, 1] or [−1, 1], latents × "
    "scale factor: docs/conventions.md, 'Data units'). Default 1 (unit-variance data), or the preset's."
)
EIGENVALUE_HELP = (
    "Largest covariance eigenvalue Λ of the data, in the units of σ² (default: the preset's, when σ² is the "
    "preset's too). The result then says whether Regime II exists at the answer (t_C < t_S = ½ ln Λ)."
)


def _finish(title: str, payload: dict, rows, notes: list[str], json_out: bool) -> None:
    if json_out:
        payload["notes"] = notes
        emit_json(payload)
        return
    print_table(title, rows, notes=notes)


def _uses_preset_eigenvalue(p, eigenvalue, variance) -> bool:
    """The preset's Λ is compared with t_C only when σ² is the preset's too (the same units)."""
    return (p is not None and eigenvalue is None and variance is None and p.eigenvalue is not None
            and p.variance is not None)


def _eigenvalue(eigenvalue, p, variance, notes: list[str]):
    """Λ for the Regime II check (None: not known), with a note saying where it came from."""
    if eigenvalue is not None:
        lam = positive(eigenvalue, "--eigenvalue")
        if p is not None and p.eigenvalue is not None:
            notes.append(f"--eigenvalue {lam:g} overrides preset {p.name}'s Λ = {p.eigenvalue:g}")
        return lam
    if _uses_preset_eigenvalue(p, eigenvalue, variance):
        notes.append(provenance(p, "eigenvalue"))
        return p.eigenvalue
    if p is not None and p.eigenvalue is not None:
        notes.append(f"preset {p.name}'s Λ is not compared with t_C (σ² is not the preset's, so the units may "
                     "differ): pass --eigenvalue in σ²'s units to check whether Regime II exists")
    return None


def _validity(sol, payload: dict, rows: list, notes: list[str]) -> None:
    """The result's validity flags: always in the JSON, as rows and notes in the table."""
    payload["small_d"] = sol.small_d
    payload["regime_ii_absent"] = sol.regime_ii_absent
    payload.pop("validity", None)  # (its texts are in notes)
    notes += list(sol.validity)
    if sol.regime_ii_absent is not None:
        rows += [("t_S = ½ ln Λ", sol.t_S if sol.t_S is not None else "none (Λ <= 1)"),
                 ("Regime II at the answer", "absent (t_C >= t_S)" if sol.regime_ii_absent else "present")]
    if sol.small_d:
        rows.append(("d < 100 (d → ∞ closed form)", "approximate"))


@solve_app.command("n")
def solve_n(
    t_c: Optional[float] = typer.Option(None, "--t-C", "--t-c", help=TC_HELP),
    last_fraction: Optional[float] = typer.Option(
        None, "--last-fraction", "-q",
        help="Collapse only in the last fraction q of the sampling steps (t_C <= t_K, K = floor(qT)).",
    ),
    schedule_name: Optional[str] = typer.Option(
        None, "--schedule", "-s",
        help=SCHEDULE_HELP + " Default linear; not edm here (a discrete schedule is needed)."
    ),
    steps: Optional[int] = typer.Option(
        None, "--steps", "-T", help="Number of schedule steps T (2 to 10⁷; linear from 21)."),
    betas: BetasOption = None,
    alphas_cumprod: AlphasCumprodOption = None,
    scheduler_config: SchedulerConfigOption = None,
    d: Optional[float] = typer.Option(None, "--d", help="Dimension (>= 1)."),
    variance: Optional[float] = typer.Option(None, "--variance", help=VARIANCE_HELP),
    eigenvalue: Optional[float] = typer.Option(None, "--eigenvalue", help=EIGENVALUE_HELP),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """n such that t_C equals a target, or such that collapse happens only in the last fraction q of the steps."""
    from regimes import RegimesError
    from regimes.collapse import collapse_time
    from regimes.inverse import n_for_collapse_time, n_for_last_fraction

    if (t_c is None) == (last_fraction is None):
        raise RegimesError("give exactly one of --t-C and --last-fraction")
    notes: list[str] = []
    p = load_preset(preset)
    uses = ("variance", "eigenvalue") if eigenvalue is not None or _uses_preset_eigenvalue(p, eigenvalue, variance) \
        else ("variance",)
    given_variance = variance
    p, units = apply_units(p, units, notes, given={"variance": variance, "eigenvalue": eigenvalue}, uses=uses)
    d = need(d, "d", p, notes=notes)
    variance, var_notes = resolve_variance(variance, p)
    notes += var_notes
    lam = _eigenvalue(eigenvalue, p, given_variance, notes)
    if p is not None and p.n is not None:
        notes.append(f"preset {p.name}'s own n = {p.n:g} is not used (solve n answers for n): it collapses at "
                     f"t_C = {collapse_time(p.n, d, variance):.6g}")
    if t_c is not None:
        given = [f for f, v in (("--schedule", schedule_name), ("--steps", steps), ("--betas", betas),
                                ("--alphas-cumprod", alphas_cumprod), ("--scheduler-config", scheduler_config))
                 if v is not None]
        if given:
            raise RegimesError(f"{given[0]} applies to --last-fraction only (--t-C is an OU time)")
        sol = n_for_collapse_time(positive(t_c, "--t-C"), d, variance, lam)
    else:
        sch, _ = build_sampler(schedule_name, steps, betas, alphas_cumprod, scheduler_config,
                               discrete_only=True, default="linear")
        if sch.steps < 2:  # K = ⌊qT⌋ is 0 for every q < 1: a 1-step schedule has no "last fraction"
            flag, value = next(((f, v) for f, v in (("--betas", betas), ("--alphas-cumprod", alphas_cumprod),
                                                    ("--scheduler-config", scheduler_config)) if v is not None),
                               ("--steps", steps))
            raise RegimesError(f"{flag} {value}: --last-fraction needs a schedule of at least 2 steps "
                               f"(K = floor(q·T) is 0 for every q with T = 1), got {sch.steps} step")
        sol = n_for_last_fraction(last_fraction, d, sch, sch.steps, variance, lam)
        notes.append(f"collapse (Regime III, t < t_C) covers at most steps 0 … {sol.step - 1} of "
                     f"{sol.steps} (sampling runs from step {sol.steps - 1} down to 0)" if sol.step
                     else "K = 0 (q < 1/T): t_C <= t_0, so collapse is crossed during step 0, the last one, "
                     "and no step starts in Regime III")
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
        if sol.every_n_qualifies:
            rows.append(("every n >= 2 qualifies", "yes"))
    _validity(sol, payload, rows, notes)
    _finish("Training-set size for a collapse time", payload, rows, notes + [sol.formula], json_out)


@solve_app.command("d")
def solve_d(
    t_c: float = typer.Option(..., "--t-C", "--t-c", help=TC_HELP),
    n: Optional[float] = typer.Option(None, "--n", help="Number of training points (>= 2)."),
    variance: Optional[float] = typer.Option(None, "--variance", help=VARIANCE_HELP),
    eigenvalue: Optional[float] = typer.Option(None, "--eigenvalue", help=EIGENVALUE_HELP),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """d such that n training points collapse at t_C (d = ln n / α)."""
    from regimes.collapse import collapse_time
    from regimes.inverse import d_for_collapse_time

    notes: list[str] = []
    p = load_preset(preset)
    uses = ("variance", "eigenvalue") if eigenvalue is not None or _uses_preset_eigenvalue(p, eigenvalue, variance) \
        else ("variance",)
    given_variance = variance
    p, units = apply_units(p, units, notes, given={"variance": variance, "eigenvalue": eigenvalue}, uses=uses)
    n = need(n, "n", p, notes=notes)
    variance, var_notes = resolve_variance(variance, p)
    lam = _eigenvalue(eigenvalue, p, given_variance, var_notes)
    if p is not None:
        var_notes.append(f"preset {p.name}'s own d = {p.d:g} is not used (solve d answers for d): with it "
                         f"t_C = {collapse_time(n, p.d, variance):.6g}")
    sol = d_for_collapse_time(positive(t_c, "--t-C"), n, variance, lam)
    payload = sol.to_dict()
    payload["n"] = num(n)
    if p is not None:
        payload.update(preset=p.name, units=units)
    notes += var_notes + list(sol.notes) + [
        "a larger d gives a larger t_C (collapse earlier in the backward process): t_C increases with d",
        NOTE_VALIDITY]
    rows = [("n", payload["n"]), ("σ²", variance), ("target t_C", sol.t_C), ("α", sol.alpha), ("d", sol.d)]
    _validity(sol, payload, rows, notes)
    _finish("Dimension for a collapse time", payload, rows, notes + [sol.formula], json_out)


@solve_app.command("eigenvalue")
def solve_eigenvalue(
    step: int = typer.Option(..., "--step", "-k", help="Zero-based step K (counted from the data end)."),
    schedule_name: Optional[str] = typer.Option(
        None, "--schedule", "-s",
        help=SCHEDULE_HELP + " Default linear; not edm here (a discrete schedule is needed)."
    ),
    steps: Optional[int] = typer.Option(
        None, "--steps", "-T", help="Number of schedule steps T (2 to 10⁷; linear from 21)."),
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
    payload.pop("notes", None)  # (its texts are in notes)
    if not sol.empty:
        notes.append(f"every Λ in ({sol.eigenvalue_min:.6g}, {sol.eigenvalue:.6g}] has t_S on step {sol.step} "
                     "(first k with t_k >= t_S); Λ in the units the model was trained in")
    notes += list(sol.notes)
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
