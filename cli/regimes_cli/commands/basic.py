"""`regimes speciation | collapse | schedule | times` — the closed forms of arXiv 2402.18491.

Times are Ornstein–Uhlenbeck times and steps zero-based (docs/conventions.md); the range of
validity of each closed form is in docs/validity.md.
"""

from __future__ import annotations

import math
from typing import Optional

import typer

from .._options import (
    PRESET_HELP,
    SCHEDULE_HELP,
    STEPS_HELP,
    UNITS_HELP,
    UNMATCHED_KEYS,
    VARIANCE_HELP,
    AlphasCumprodOption,
    BetasOption,
    SamplerStepsOption,
    SchedulerConfigOption,
    StepsOption,
    TimestepSpacingOption,
    apply_units,
    build_sampler,
    int_in_range,
    load_preset,
    need,
    num,
    positive,
    quiet_no_speciation,
    regime_ii_note,
    resolve_variance,
    sampler_step_rows,
    unmatched_row,
    variance_unmatched,
)
from .._output import (
    FORMAT_HELP,
    emit_json,
    print_table,
    regimes_payload,
    set_table_format,
    steps_label,
    time_range_text,
)


def speciation(
    eigenvalue: Optional[float] = typer.Option(
        None, "--eigenvalue", "-L",
        help="Largest covariance eigenvalue Λ (data units).",
    ),
    d: Optional[float] = typer.Option(None, "--d", help="Two-class mixture: dimension d."),
    separation: Optional[float] = typer.Option(
        None, "--separation",
        help="Two-class mixture: per-coordinate mean m̃ (|m|² = d m̃²).",
    ),
    variance: Optional[float] = typer.Option(
        None, "--variance", help="Two-class mixture: within-class variance σ² (default 1)."
    ),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    class_variances: Optional[str] = typer.Option(
        None, "--class-variances",
        help="A,B: two zero-mean classes N(0, A·I), N(0, B·I) in dimension --d that differ only in "
             "their covariance (arXiv 2602.04404; criterion reconstructed, see docs/solve.md).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    table_format: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Speciation time t_S = ½ ln Λ (arXiv 2402.18491), or of covariance-only classes (--class-variances)."""
    set_table_format(table_format)
    from regimes import GaussianMixture, RegimesError, speciation_time, speciation_time_linear

    if class_variances is not None:
        if eigenvalue is not None or separation is not None or variance is not None or preset is not None:
            raise RegimesError("--class-variances takes only --d (no --eigenvalue, --separation, --variance, --preset)")
        _covariance_classes(class_variances, d, json_out)
        return
    payload: dict = {}
    notes: list[str] = []
    p, units = apply_units(load_preset(preset), units, notes, given={"eigenvalue": eigenvalue}, uses=("eigenvalue",))
    if d is not None or separation is not None:
        if eigenvalue is not None:
            raise RegimesError("give either --eigenvalue or the mixture (--d, --separation), not both")
        if p is not None:
            raise RegimesError("give either --preset or the mixture (--d, --separation), not both")
        if d is None or separation is None:
            raise RegimesError("the two-class mixture needs both --d and --separation")
        m = GaussianMixture(n=2, d=d, separation=separation, variance=1.0 if variance is None else variance)
        lam = m.eigenvalue
        t_S = quiet_no_speciation(m.speciation_time)
        payload.update(d=num(m.d), separation=m.separation, variance=m.variance)
        phi = m.cloning_probability(t_S) if not math.isnan(t_S) else None
        payload["phi_at_t_S"] = phi
        notes.append("mixture ½N(m, σ²I) + ½N(−m, σ²I): Λ = d m̃² + σ²")
    else:
        if variance is not None:
            raise RegimesError(f"--variance {variance:g} applies only to the two-class mixture (--d, --separation); "
                               "t_S = ½ ln Λ does not involve it")
        lam = need(eigenvalue, "eigenvalue", p, notes=notes)
        t_S = quiet_no_speciation(speciation_time, lam)
    t_lin = quiet_no_speciation(speciation_time_linear, lam)
    speciates = not math.isnan(t_S)
    if p is not None:
        payload.update(preset=p.name, units=units)
    payload = {"eigenvalue": lam, "t_S": t_S if speciates else None, "speciation": speciates,
               "t_S_linear": t_lin if not math.isnan(t_lin) else None, **payload}
    if not speciates:
        notes.append(f"Λ = {lam:g} <= 1: no speciation (the signal never exceeds the stationary noise)")
    if json_out:
        payload["notes"] = notes
        emit_json(payload)
        return
    rows = [("Λ (largest eigenvalue)", lam), ("t_S = ½ ln Λ", t_S if speciates else "none (Λ ≤ 1)"),
            ("linear-instability ½ ln(Λ−1)", t_lin)]
    if "phi_at_t_S" in payload:
        rows.append(("cloning probability φ(t_S)", payload["phi_at_t_S"]))
    if p is not None:
        rows[:0] = [("preset", p.name), ("units", units)]
    print_table("Speciation", rows, notes=notes + ["OU time, natural log (see docs/conventions.md)"])


#: the variances of ``speciation --class-variances`` (squares and ratios stay finite in float64)
VAR_MIN, VAR_MAX = 1e-100, 1e100


def _covariance_classes(text: str, d: Optional[float], json_out: bool) -> None:
    """`speciation --class-variances A,B --d D`: exact criterion and its large-t form."""
    from regimes import RegimesError
    from regimes.class_speciation import (
        CRITERION,
        covariance_speciation_time,
        covariance_speciation_time_asymptotic,
    )

    try:
        a, b = (float(x) for x in text.split(","))
    except ValueError:
        raise RegimesError(f"--class-variances must be two numbers A,B, got {text!r}") from None
    positive(a, "--class-variances A")
    positive(b, "--class-variances B")
    if not all(VAR_MIN <= v <= VAR_MAX for v in (a, b)):  # beyond: (A − B)² and the criterion overflow
        raise RegimesError(f"--class-variances {text}: each variance must lie in [{VAR_MIN:g}, {VAR_MAX:g}] "
                           f"(the criterion's squares stay in the float64 range), got {a:g}, {b:g}")
    if d is None:
        raise RegimesError("--class-variances needs --d")
    if a == b:
        raise RegimesError("--class-variances: A = B, the classes are identical (no speciation)")
    if not d * (a - b) ** 2 <= 1e300:  # Python floats: inf, never an OverflowError or a warning
        raise RegimesError(f"--d {d:g} with --class-variances {text}: d·(A − B)² must be <= 1e300 (float64 "
                           f"range), got {d * (a - b) ** 2:.3g}")
    t = quiet_no_speciation(covariance_speciation_time, a, b, d)
    t_as = quiet_no_speciation(covariance_speciation_time_asymptotic, a, b, d)
    F2 = d * (a - b) ** 2
    payload = {"class_variances": [a, b], "d": num(d), "t_S": None if math.isnan(t) else t,
               "t_S_asymptotic": None if math.isnan(t_as) else t_as, "frobenius_sq": F2,
               "speciation": not math.isnan(t), "criterion": CRITERION}
    notes = ["zero-mean classes N(0, A·I) (x drawn from it) and N(0, B·I); r = eigenvalues of Γ_B⁻¹Γ_A; "
             "exact: ½Σ(r − 1 − ln r) = √(½Σ(r − 1)²), asymptotic: ¼ ln(‖C1 − C2‖²_F/8)",
             "large-d result (arXiv 2602.04404; this project's reconstruction, docs/solve.md); OU time"]
    if math.isnan(t):
        notes.append("the criterion is never met for t > 0: no speciation")
    if json_out:
        payload["notes"] = notes
        emit_json(payload)
        return
    print_table("Speciation of covariance-only classes",
                [("variances A, B", f"{a:g}, {b:g}"), ("d", payload["d"]), ("‖C1 − C2‖²_F", F2),
                 ("t_S (exact criterion)", t), ("¼ ln(‖C1 − C2‖²_F / 8)", t_as)], notes=notes)


def collapse(
    n: Optional[float] = typer.Option(None, "--n", help="Number of training points (>= 2)."),
    d: Optional[float] = typer.Option(None, "--d", help="Dimension (>= 1)."),
    variance: Optional[float] = typer.Option(None, "--variance", help=VARIANCE_HELP),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    table_format: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Collapse time t_C = ½ log1p(σ²/expm1(2α)), α = ln(n)/d, of Gaussian data (arXiv 2402.18491)."""
    set_table_format(table_format)
    from regimes import alpha as alpha_fn
    from regimes import collapse_time

    src_notes: list[str] = []
    p, units = apply_units(load_preset(preset), units, src_notes, given={"variance": variance}, uses=("variance",))
    n = need(n, "n", p, notes=src_notes)
    d = need(d, "d", p, notes=src_notes)
    variance, var_note = resolve_variance(variance, p)
    t_C = collapse_time(n, d, variance)
    a = alpha_fn(n, d)
    payload = {"n": num(n), "d": num(d), "variance": variance, "alpha": a, "t_C": t_C}
    if p is not None:
        payload.update(preset=p.name, units=units)
    notes = src_notes + var_note + ["Gaussian-data closed form (exact for N(0, σ²I) as d → ∞; see docs/validity.md)",
                        "OU time, natural log"]
    if json_out:
        payload["notes"] = notes
        emit_json(payload)
        return
    rows = [("n", payload["n"]), ("d", payload["d"]), ("σ²", variance), ("α = ln(n)/d", a), ("t_C", t_C)]
    if p is not None:
        rows[:0] = [("preset", p.name), ("units", units)]
    print_table("Collapse", rows, notes=notes)


#: `regimes schedule` (its table for people) lists every step of a schedule of at most this many;
#: an evenly spaced sample of 11 otherwise (CSV always lists every step, JSON up to JSON_ALL_STEPS)
LIST_ALL_STEPS = 40
#: `regimes schedule --json` lists every step of a schedule of at most this many (a million rows:
#: ~20 s and ~2 GB for the JSON encoder; ten times more would need ~20 GB): the 11 of the table beyond,
#: with ``"all_steps": false`` and a note pointing to ``--format csv``, which lists them all
JSON_ALL_STEPS = 10**6


#: ``--schedule`` and ``--steps`` of `regimes schedule`: what the named linear schedule does with T
LINEAR_T_HELP = (
    "linear is linspace(1e-4, 0.02, T) with both ends × 1000/T (improved DDPM's rescaling; T >= 21): for "
    "T ≠ 1000 that is not diffusers' beta_schedule 'linear' (linspace(1e-4, 0.02, T), never rescaled), "
    "so for a diffusers model give its --scheduler-config instead."
)
#: ``--step`` of `regimes schedule`: which way the steps count
STEP_DIRECTION_HELP = (
    "Steps k = 0 … T−1 count from the data end: sampling runs from step T−1 (the noisiest) down to step 0; "
    "edm: i = 0 … N−1 in sampling order, from the noise end."
)


def schedule(
    name: Optional[str] = typer.Option(None, "--schedule", "-s",
                                       help=SCHEDULE_HELP + " Default linear. " + LINEAR_T_HELP),
    steps: Optional[int] = typer.Option(
        None, "--steps", "-T", help=STEPS_HELP + " With linear, T ≠ 1000 scales β's ends by 1000/T, unlike diffusers' "
                                                 "linear: for a diffusers model give its --scheduler-config."),
    betas: BetasOption = None,
    alphas_cumprod: AlphasCumprodOption = None,
    scheduler_config: SchedulerConfigOption = None,
    sampler_steps: SamplerStepsOption = None,
    timestep_spacing: TimestepSpacingOption = None,
    t: Optional[float] = typer.Option(
        None, "--t", help="An OU time: which step is it (the step during which sampling, from step T−1 down "
                          "to 0, crosses it)?"),
    step: Optional[int] = typer.Option(
        None, "--step", "-k", help="A zero-based step index: which OU time does it start at? " + STEP_DIRECTION_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    table_format: str = typer.Option("table", "--format", help=FORMAT_HELP + " The step listing's table shows "
                                     f"11 evenly spaced steps of a schedule of more than {LIST_ALL_STEPS}; csv lists "
                                     f"every step (--json: up to {JSON_ALL_STEPS:,} steps)."),
) -> None:
    """Map OU time ↔ step of a schedule or the EDM sampler (with ᾱ, EDM σ and log-SNR), and the N sampler steps.

    Steps k = 0 … T−1 of a discrete schedule count from the data end (step 0, t ≈ 0): sampling runs
    from step T−1, the noisiest, down to step 0. EDM's levels i = 0 … N−1 and the sampler steps of
    --sampler-steps count in sampling order instead (0 is the first, noisiest step).
    """
    set_table_format(table_format)

    from regimes import RegimesError
    from regimes.schedules import step_at_time, time_at_step

    sch, inference = build_sampler(name, steps, betas, alphas_cumprod, scheduler_config, sampler_steps,
                                   timestep_spacing, default="linear")
    if t is not None and step is not None:
        raise RegimesError("give either --t or --step, not both")
    edm = not hasattr(sch, "betas")
    base = {"schedule": sch.name, "steps": sch.steps}
    if step is not None or t is not None:
        if step is not None:
            if edm:
                int_in_range(step, "--step", 0, sch.steps - 1)
            else:
                time_at_step(sch, step)  # validates the range
            res = _schedule_row(sch, step)
        else:
            k = sch.step_at_time(t) if edm else step_at_time(sch, t)
            if k is None:
                raise RegimesError(f"--t {t:.6g} lies beyond the first level of the EDM sampler "
                                   f"(t_max = {sch.t_max:.6g}, σ_max = {sch.sigma_max:g}): the event happens "
                                   "before its first step")
            res = {**_schedule_row(sch, k), "t_query": t}
            if inference is not None:
                res.update(sampler_step=inference.step_at_time(t), sampler_steps=inference.n_steps,
                           timestep_spacing=inference.spacing)
        payload = {**base, **res, "step_convention": sch.step_convention}
        if inference is not None and t is not None:
            payload["sampler_step_convention"] = inference.step_convention
        if json_out:  # the direction of sampling in words, as in the table and the step listing
            said = _direction_note(sch) + _linear_note(sch)
            emit_json({**payload, "notes": said} if said else payload)
            return
        rows = [(k_, v) for k_, v in payload.items() if not k_.endswith("convention")]
        print_table(f"{sch.name} schedule, {steps_label(sch.name, sch.steps)}", rows,
                    notes=[sch.step_convention] + _direction_note(sch)
                    + ([inference.step_convention] if "sampler_step" in payload else [])
                    + ([] if t is not None or edm else ["t_k = −½ Σ_{i≤k} log1p(−β_i); σ = EDM noise level"])
                    + _linear_note(sch))
        return
    if inference is not None:
        _sampler_table(sch, inference, base, json_out)
        return
    # --format csv is ignored with --json (a note says so): the JSON keeps its own cap
    _step_listing(sch, base, edm, json_out, as_csv=not json_out and (table_format or "").strip().lower() == "csv")


def _direction_note(sch) -> list:
    """"sampling runs from step T−1 down to 0" for a discrete schedule (none for EDM, whose
    convention counts in sampling order and says so)."""
    if not hasattr(sch, "betas"):
        return []
    return [f"sampling runs from step {sch.steps - 1} (the noisiest) down to step 0 (at the data end)"]


def _linear_note(sch) -> list:
    """The named linear schedule at T ≠ 1000 is improved DDPM's rescaled one, not diffusers' linear."""
    if sch.name != "linear" or not hasattr(sch, "betas") or sch.steps == 1000:
        return []
    T = sch.steps
    return [f"linear with T = {T}: β = linspace(1e-4, 0.02, T)·1000/T (improved DDPM's rescaling, β from "
            f"{0.1 / T:.4g} to {20.0 / T:.4g}), not diffusers' beta_schedule 'linear', which is "
            f"linspace(1e-4, 0.02, T) at every T: for a diffusers model trained with num_train_timesteps = {T} "
            "give its --scheduler-config"]


def _step_listing(sch, base: dict, edm: bool, json_out: bool, as_csv: bool = False) -> None:
    """`regimes schedule` without --t/--step: every step in CSV, in JSON up to JSON_ALL_STEPS and in
    the table up to LIST_ALL_STEPS; else 11 evenly spaced, and the output says so."""
    import numpy as np

    T = sch.steps
    every = as_csv or T <= (JSON_ALL_STEPS if json_out else LIST_ALL_STEPS)
    ks = np.arange(T) if every else np.unique(np.linspace(0, T - 1, 11).round().astype(np.int64))
    cols = _time_columns(np.asarray(sch.times, dtype=np.float64)[ks])
    shown = (f"all {T} steps shown" if every else
             f"{ks.size} of the {T} steps shown, evenly spaced (--step K gives any other; --format csv lists "
             + ("every step)" if json_out else f"every step, --json every step up to {JSON_ALL_STEPS})"))
    notes = [shown, sch.step_convention] + _direction_note(sch) + _linear_note(sch)
    if json_out:
        table = [dict(zip(("step", "t", "alpha_bar", "sigma", "logsnr"), r, strict=True))
                 for r in zip(ks.tolist(), *cols, strict=True)]
        emit_json({**base, "t_max": sch.t_max, "step_convention": sch.step_convention, "all_steps": every,
                   "table": table, "notes": [shown] + notes[2:]})
        return
    print_table(f"{sch.name} {'sampler, N' if edm else 'schedule, T'} = {T} (OU time t_k, ᾱ_k = e^(−2 t_k))",
                zip(ks.tolist(), *cols, strict=True),
                columns=("EDM step i (from level σ_i)" if edm else "step k", "t", "ᾱ", "σ (EDM)", "log-SNR"),
                notes=notes)


def _time_columns(t) -> tuple:
    """The OU times ``t`` (an array) with their ᾱ, EDM σ and log-SNR, as lists of floats: the values of
    :func:`_time_row`, computed once for all steps."""
    from regimes.schedules import alpha_bar, edm_sigma, logsnr

    return t.tolist(), alpha_bar(t).tolist(), edm_sigma(t).tolist(), logsnr(t).tolist()


def _schedule_row(sch, k: int) -> dict:
    """One step of a schedule: the OU time, ᾱ, EDM σ and log-SNR at which it starts (EDM: level σ_k)."""
    return _time_row(k, float(sch.times[k]))


def _time_row(step, tk: float) -> dict:
    """``step`` with the OU time ``tk`` and its ᾱ, EDM σ and log-SNR."""
    from regimes.schedules import alpha_bar, edm_sigma, logsnr

    return {"step": step, "t": tk, "alpha_bar": alpha_bar(tk), "sigma": edm_sigma(tk), "logsnr": logsnr(tk)}


def _sampler_table(sch, inference, base: dict, json_out: bool) -> None:
    """`schedule --sampler-steps N`: the training step, time, ᾱ, σ and log-SNR of each sampler step —
    at the noise level the sampler uses (diffusers' own timestep, fractional for the Euler family's
    linspace spacing and Karras σ's, and the σ interpolated there)."""
    table = [{"sampler_step": i, **_time_row(k, float(t))}
             for i, (k, t) in enumerate(zip(inference.timesteps_list(), inference.times, strict=True))]
    payload = {**base, "t_max": sch.t_max, "step_convention": sch.step_convention,
               "sampler_steps": inference.n_steps, "timestep_spacing": inference.spacing,
               "steps_offset": inference.effective_offset, "sampler_step_convention": inference.step_convention,
               "sampler_table": table}
    notes = ([inference.step_convention] + ([inference.spacing_note] if inference.spacing_note else [])
             + [f"training steps τ count from the data end (step 0) to step {sch.steps - 1}: sampling runs from "
                "τ_0 down to τ_(N−1)"] + _linear_note(sch))
    if json_out:
        emit_json({**payload, "notes": notes})
        return
    print_table(f"{inference.n_steps} sampler steps ({inference.spacing} spacing) on the {sch.name} schedule, "
                f"T = {sch.steps}",
                [(r["sampler_step"], r["step"], r["t"], r["alpha_bar"], r["sigma"], r["logsnr"]) for r in table],
                columns=("sampler step i", "training step τ_i", "t", "ᾱ", "σ (EDM)", "log-SNR"),
                notes=notes)


def times(
    n: Optional[float] = typer.Option(None, "--n", help="Number of training points (>= 2)."),
    d: Optional[float] = typer.Option(None, "--d", help="Dimension (>= 1)."),
    eigenvalue: Optional[float] = typer.Option(None, "--eigenvalue", "-L", help="Largest covariance eigenvalue Λ."),
    variance: Optional[float] = typer.Option(None, "--variance", help=VARIANCE_HELP),
    schedule_name: Optional[str] = typer.Option(None, "--schedule", "-s", help=SCHEDULE_HELP),
    steps: StepsOption = None,
    betas: BetasOption = None,
    alphas_cumprod: AlphasCumprodOption = None,
    scheduler_config: SchedulerConfigOption = None,
    sampler_steps: SamplerStepsOption = None,
    timestep_spacing: TimestepSpacingOption = None,
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    table_format: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """t_S, t_C and the three regimes, optionally located on a sampler's schedule (and its N inference steps)."""
    set_table_format(table_format)
    from regimes import alpha as alpha_fn
    from regimes import collapse_time, regime_intervals, schedule_steps, speciation_time
    from regimes.timeline import regime_steps, steps_text

    notes: list[str] = []
    sampler, inference = build_sampler(schedule_name, steps, betas, alphas_cumprod, scheduler_config,
                                       sampler_steps, timestep_spacing)
    p, units = apply_units(load_preset(preset), units, notes, given={"eigenvalue": eigenvalue, "variance": variance})
    n = need(n, "n", p, notes=notes)
    d = need(d, "d", p, notes=notes)
    lam = need(eigenvalue, "eigenvalue", p, notes=notes)
    typed = eigenvalue is not None  # Λ in the user's own units: σ² = 1 is then the generic assumption
    unmatched = variance_unmatched(variance, p, typed)  # σ² = 1 assumed against the preset's units
    variance, var_notes = resolve_variance(variance, p, typed)
    notes += var_notes
    t_S = quiet_no_speciation(speciation_time, lam)
    t_C = collapse_time(n, d, variance)
    a = alpha_fn(n, d)
    regs = regime_intervals(t_S, t_C)
    notes += regime_ii_note(lam, t_S, t_C, unmatched)
    payload = {"n": num(n), "d": num(d), "eigenvalue": lam, "variance": variance, "alpha": a,
               "t_S": None if math.isnan(t_S) else t_S, "t_C": t_C, "regimes": regimes_payload(regs)}
    if unmatched:  # t_C and the regimes' bounds from it are not meaningful
        payload.update(UNMATCHED_KEYS)
    if p is not None:
        payload.update(preset=p.name, units=units)
    if sampler is not None:
        loc = schedule_steps(t_S, t_C, sampler, sampler_steps=inference)
        payload.update(schedule=loc["schedule"], steps=loc["steps"], step_S=loc["step_S"],
                       step_C=loc["step_C"], step_convention=sampler.step_convention,
                       **{k: v for k, v in loc.items() if k.startswith(("sampler_", "timestep_", "steps_o"))})
        notes += loc["notes"]
        # each regime's steps (shared with `regimes analyze`): clamped to the schedule, none when
        # the regime lies past its last step
        regs = regime_steps(t_S, t_C, sampler, sampler_steps=inference)
        payload["regimes"] = regimes_payload(regs)
    if json_out:
        payload["notes"] = notes
        emit_json(payload)
        return
    rows = [("n", payload["n"]), ("d", payload["d"]), ("α = ln(n)/d", a), ("Λ", lam),
            ("t_S = ½ ln Λ", t_S),
            ("t_C (Gaussian, σ² = %g%s)" % (variance, ", ASSUMED: not meaningful" if unmatched else ""), t_C)]
    if sampler is not None:
        size = steps_label(payload["schedule"], payload["steps"], sep="=")
        rows += [(f"step of t_S ({payload['schedule']}, {size})", payload["step_S"]),
                 (f"step of t_C ({payload['schedule']}, {size}){', ASSUMED σ²' if unmatched else ''}",
                  payload["step_C"])]
    rows += sampler_step_rows(inference, payload, notes)
    for r in regs:
        where = time_range_text(r["t_min"], r["t_max"])
        if sampler is not None:
            where += f", steps {steps_text(r)}"
        rows.append((f"Regime {r['name']}", unmatched_row(where, r, t_C, unmatched)))
    if p is not None:
        rows[:0] = [("preset", p.name), ("units", units)]
    print_table("Regimes of the backward process", rows,
                notes=notes + ["OU time, natural log; " + (sampler.step_convention if sampler is not None
                                                          else "steps are zero-based, first k with t_k ≥ t")
                               + ("; a regime's steps are those that start in it (their t_k lies in it)"
                                  if sampler is not None else ""),
                               "closed forms: exact score, d and n large (docs/validity.md)"])


def register(app: typer.Typer) -> None:
    app.command("speciation")(speciation)
    app.command("collapse")(collapse)
    app.command("schedule")(schedule)
    app.command("times")(times)
