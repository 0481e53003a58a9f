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
    UNITS_HELP,
    VARIANCE_HELP,
    apply_units,
    load_preset,
    need,
    num,
    positive,
    quiet_no_speciation,
    resolve_variance,
)
from .._output import emit_json, print_table, regimes_payload


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
) -> None:
    """Speciation time t_S = ½ ln Λ (arXiv 2402.18491), or of covariance-only classes (--class-variances)."""
    from regimes import GaussianMixture, RegimesError, speciation_time, speciation_time_linear

    if class_variances is not None:
        if eigenvalue is not None or separation is not None or variance is not None or preset is not None:
            raise RegimesError("--class-variances takes only --d (no --eigenvalue, --separation, --variance, --preset)")
        _covariance_classes(class_variances, d, json_out)
        return
    payload: dict = {}
    notes: list[str] = []
    p, units = apply_units(load_preset(preset), units, notes)
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
    if d is None:
        raise RegimesError("--class-variances needs --d")
    if a == b:
        raise RegimesError("--class-variances: A = B, the classes are identical (no speciation)")
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
) -> None:
    """Collapse time t_C = ½ log1p(σ²/expm1(2α)), α = ln(n)/d, of Gaussian data (arXiv 2402.18491)."""
    from regimes import alpha as alpha_fn
    from regimes import collapse_time

    src_notes: list[str] = []
    p, units = apply_units(load_preset(preset), units, src_notes)
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


def schedule(
    name: str = typer.Option("linear", "--schedule", "-s", help=SCHEDULE_HELP),
    steps: int = typer.Option(1000, "--steps", "-T", help="Number of steps T."),
    t: Optional[float] = typer.Option(None, "--t", help="An OU time: which step is it?"),
    step: Optional[int] = typer.Option(None, "--step", "-k", help="A zero-based step index: which time is it?"),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Map OU time ↔ step of a discrete schedule (with ᾱ, EDM σ and log-SNR)."""
    import numpy as np

    from regimes import RegimesError
    from regimes.schedules import edm_sigma, get_schedule, logsnr, step_at_time

    sch = get_schedule(name, steps)
    if t is not None and step is not None:
        raise RegimesError("give either --t or --step, not both")

    def row(k: int) -> dict:
        tk = float(sch.times[k])
        return {"step": k, "t": tk, "alpha_bar": float(sch.alpha_bars[k]),
                "sigma": edm_sigma(tk), "logsnr": logsnr(tk)}

    base = {"schedule": sch.name, "steps": sch.steps}
    if step is not None or t is not None:
        if step is not None:
            from regimes.schedules import time_at_step

            time_at_step(sch, step)  # validates the range
            res = row(step)
        else:
            k = step_at_time(sch, t)
            res = {**row(k), "t_query": t}
        payload = {**base, **res}
        if json_out:
            emit_json(payload)
            return
        rows = [(k_, v) for k_, v in payload.items()]
        print_table(f"{sch.name} schedule, T = {sch.steps}", rows,
                    notes=["step = first zero-based index k with t_k ≥ t" if t is not None else
                           "t_k = −½ Σ_{i≤k} log1p(−β_i); σ = EDM noise level"])
        return
    ks = sorted(set(int(k) for k in np.linspace(0, sch.steps - 1, 11).round()))
    table = [row(k) for k in ks]
    if json_out:
        emit_json({**base, "t_max": sch.t_max, "table": table})
        return
    print_table(f"{sch.name} schedule, T = {sch.steps} (OU time t_k, ᾱ_k = e^(−2 t_k))",
                [(r["step"], r["t"], r["alpha_bar"], r["sigma"], r["logsnr"]) for r in table],
                columns=("step k", "t", "ᾱ", "σ (EDM)", "log-SNR"))


def times(
    n: Optional[float] = typer.Option(None, "--n", help="Number of training points (>= 2)."),
    d: Optional[float] = typer.Option(None, "--d", help="Dimension (>= 1)."),
    eigenvalue: Optional[float] = typer.Option(None, "--eigenvalue", "-L", help="Largest covariance eigenvalue Λ."),
    variance: Optional[float] = typer.Option(None, "--variance", help=VARIANCE_HELP),
    schedule_name: Optional[str] = typer.Option(None, "--schedule", "-s", help=SCHEDULE_HELP),
    steps: int = typer.Option(1000, "--steps", "-T", help="Number of schedule steps T."),
    preset: Optional[str] = typer.Option(None, "--preset", help=PRESET_HELP),
    units: Optional[str] = typer.Option(None, "--units", help=UNITS_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """t_S, t_C and the three regimes, optionally located on a sampler's schedule."""
    from regimes import alpha as alpha_fn
    from regimes import collapse_time, regime_intervals, schedule_steps, speciation_time
    from regimes.timeline import regime_steps, steps_text

    notes: list[str] = []
    p, units = apply_units(load_preset(preset), units, notes)
    n = need(n, "n", p, notes=notes)
    d = need(d, "d", p, notes=notes)
    lam = need(eigenvalue, "eigenvalue", p, notes=notes)
    variance, var_notes = resolve_variance(variance, p)
    notes += var_notes
    t_S = quiet_no_speciation(speciation_time, lam)
    t_C = collapse_time(n, d, variance)
    a = alpha_fn(n, d)
    regs = regime_intervals(t_S, t_C)
    if math.isnan(t_S):
        notes.append(f"Λ = {lam:g} <= 1: no speciation; Regime I goes straight to collapse")
    elif t_C >= t_S:
        notes.append("t_C >= t_S: collapse precedes speciation, Regime II does not exist")
    payload = {"n": num(n), "d": num(d), "eigenvalue": lam, "variance": variance, "alpha": a,
               "t_S": None if math.isnan(t_S) else t_S, "t_C": t_C, "regimes": regimes_payload(regs)}
    if p is not None:
        payload.update(preset=p.name, units=units)
    if schedule_name is not None:
        loc = schedule_steps(t_S, t_C, schedule_name, steps)
        payload.update(schedule=loc["schedule"], steps=loc["steps"], step_S=loc["step_S"],
                       step_C=loc["step_C"])
        notes += loc["notes"]
        # each regime's steps (shared with `regimes analyze`): clamped to the schedule, none when
        # the regime lies past its last step
        regs = regime_steps(t_S, t_C, schedule_name, steps)
        payload["regimes"] = regimes_payload(regs)
    if json_out:
        payload["notes"] = notes
        emit_json(payload)
        return
    rows = [("n", payload["n"]), ("d", payload["d"]), ("α = ln(n)/d", a), ("Λ", lam),
            ("t_S = ½ ln Λ", t_S), ("t_C (Gaussian, σ² = %g)" % variance, t_C)]
    if schedule_name is not None:
        rows += [(f"step of t_S ({payload['schedule']}, T={payload['steps']})", payload["step_S"]),
                 (f"step of t_C ({payload['schedule']}, T={payload['steps']})", payload["step_C"])]
    for r in regs:
        where = f"{r['t_min']:.4g} < t < {r['t_max']:.4g}"
        if schedule_name is not None:
            where += f", steps {steps_text(r)}"
        rows.append((f"Regime {r['name']}", where))
    if p is not None:
        rows[:0] = [("preset", p.name), ("units", units)]
    print_table("Regimes of the backward process", rows,
                notes=notes + ["OU time, natural log; steps are zero-based, first k with t_k ≥ t"
                               + ("; a regime's steps are the k with t_k in it" if schedule_name else ""),
                               "closed forms: exact score, d and n large (docs/validity.md)"])


def register(app: typer.Typer) -> None:
    app.command("speciation")(speciation)
    app.command("collapse")(collapse)
    app.command("schedule")(schedule)
    app.command("times")(times)
