"""`regimes mp ACTION`, `regimes spectrum`, `regimes timescales` — random matrices.

The Marchenko–Pastur law, and the spectrum and training timescales of the random-features score
model of arXiv 2505.17638.
"""

from __future__ import annotations

import math
from typing import Optional

import typer

from .._options import (
    MAX_SECONDS,
    UNITS_PER_SECOND,
    available_memory,
    check_memory,
    int_in_range,
    note_ignored,
    refuse_long,
)
from .._output import FORMAT_HELP, check_out, emit_json, print_table, save_figure, set_table_format, use_agg

MP_ACTIONS = ("pdf", "cdf", "ppf", "edges", "moments", "sample")
#: mp sample: seconds per draw (inversion of the cdf), measured 2.8e-6 (γ = 0.5), 0.9e-6 (γ = 1),
#: 2.2e-5 for γ outside [1e-2, 1e2] (quadrature cdf), +1.9e-6 with --json; rounded up.
MP_SECONDS_PER_DRAW = 4e-6
MP_SECONDS_PER_DRAW_EXTREME = 3e-5
MP_SECONDS_PER_JSON_DRAW = 3e-6
#: spectrum --points: seconds per density point (measured 0.98 s for 10⁴, 5.0 s for 5·10⁴)
SPECTRUM_MAX_POINTS = 200_000
#: spectrum: the bulk solver slows sharply for tiny ψ_p (ψ_p = 1e-9: 4 s, 1e-10: 13 s, 1e-12: 167 s)
MIN_PSI_P = 1e-9
#: timescales: largest --n, --d, --p (float64 counts are exact below 2^53 ≈ 9e15; d² stays finite)
MAX_COUNT = 1e15


#: the table rows of τ_1 in `spectrum` and `timescales`, with and without a distinct slow bulk
_TAU_1 = "slow-bulk τ_1 = ψ_p/(2Δ_t(s_t² + v_t²(1 + ψ_p/ψ_n)))"
_TAU_1_FLOOR = "τ_1 = ψ_p/(2Δ_t(s_t² + v_t²(1 + ψ_p/ψ_n))): no distinct slow bulk, the noise floor's relaxation"


def _largest(ok, lo: float, hi: float, integer: bool = False) -> float:
    """The largest x in [lo, hi] with ok(x) (ok decreasing in x; bisection in log x); lo if none."""
    if not ok(lo):
        return lo
    a, b = math.log(lo), math.log(hi)
    for _ in range(60):
        m = 0.5 * (a + b)
        x = math.exp(m)
        a, b = (m, b) if ok(math.floor(x) if integer else x) else (a, m)
    x = math.exp(a)
    return float(math.floor(x)) if integer else x


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e16 else f"{v:g}"

ACT_HELP = "Activation: tanh, relu or erf."


def _floats(text: Optional[str], name: str):
    from regimes import RegimesError

    if text is None:
        raise RegimesError(f"--{name} is required for this action (comma-separated numbers)")
    items = text.replace(" ", "").split(",")
    if any(v == "" for v in items):
        raise RegimesError(f"--{name} must be comma-separated numbers without empty items, "
                           f"got {text!r}")
    try:
        vals = [float(v) for v in items]
    except ValueError:
        raise RegimesError(f"--{name} must be comma-separated numbers, got {text!r}") from None
    bad = [v for v in vals if not math.isfinite(v)]
    if bad:
        raise RegimesError(f"--{name} must hold finite numbers, got {bad[0]!r} in {text!r}")
    return vals


def mp(
    ctx: typer.Context,
    action: str = typer.Argument(..., help="One of: pdf, cdf, ppf, edges, moments, sample."),
    ratio: float = typer.Option(..., "--ratio", "-g", help="γ = M/N > 0."),
    variance: float = typer.Option(1.0, "--variance", "-s", help="Entry variance σ² > 0."),
    x: Optional[str] = typer.Option(
        None, "--x", help="pdf/cdf: comma-separated points (use --x=-1,2 for negatives)."),
    q: Optional[str] = typer.Option(None, "--q", help="ppf: comma-separated probabilities."),
    k: int = typer.Option(6, "--k", help="moments: highest order (0 to 200)."),
    size: int = typer.Option(
        10, "--size", help="sample: number of draws (1 to 10⁷; refused beyond an estimated minute: about "
                           "4 µs per draw, 30 µs for γ outside [1e-2, 1e2], +3 µs with --json)."),
    seed: int = typer.Option(0, "--seed", help="sample: random seed."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    table_format: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Marchenko–Pastur law of S = YYᵀ/N, Y ∈ R^{M×N} with entry variance σ², γ = M/N."""
    set_table_format(table_format)
    import numpy as np

    from regimes import RegimesError
    from regimes.rmt import MarchenkoPastur

    act = action.strip().lower()
    if act not in MP_ACTIONS:
        raise RegimesError(f"action must be one of {', '.join(MP_ACTIONS)}, got {action!r}")
    law = MarchenkoPastur(ratio, variance)
    base = {"action": act, "ratio": law.ratio, "variance": law.variance,
            "support": list(law.support()), "atom": law.atom}
    note = ("pdf is the continuous part only; cdf/ppf/sample include the atom at 0 "
            "(mass max(0, 1 − 1/γ))")
    if act in ("pdf", "cdf"):
        xs = np.array(_floats(x, "x"))
        vals = law.pdf(xs) if act == "pdf" else law.cdf(xs)
        payload = {**base, "x": xs, act: np.atleast_1d(vals)}
        rows = list(zip(xs.tolist(), np.atleast_1d(vals).tolist(), strict=True))
        cols = ("x", act)
    elif act == "ppf":
        qs = np.array(_floats(q, "q"))
        if np.any((qs < 0) | (qs > 1)):
            raise RegimesError(f"--q must be probabilities in [0, 1], got {q!r}")
        vals = np.atleast_1d(law.ppf(qs))
        payload = {**base, "q": qs, "ppf": vals}
        rows = list(zip(qs.tolist(), vals.tolist(), strict=True))
        cols = ("q", "ppf")
    elif act == "edges":
        payload = {**base, "lower": law.support()[0], "upper": law.support()[1],
                   "mean": law.mean(), "var": law.var()}
        rows = [("λ_− = σ²(1 − √γ)²", law.support()[0]), ("λ_+ = σ²(1 + √γ)²", law.support()[1]),
                ("atom at 0", law.atom), ("mean", law.mean()), ("variance", law.var())]
        cols = ("quantity", "value")
    elif act == "moments":
        k = int_in_range(k, "--k", 0, 200)
        moms = np.atleast_1d(law.moment(np.arange(k + 1)))  # inf beyond the float64 range
        payload = {**base, "k": list(range(k + 1)), "moments": moms}
        rows = [(j, m) for j, m in enumerate(moms.tolist())]
        if not np.all(np.isfinite(moms)):
            note += "; moments beyond the float64 range are reported as inf (null in JSON)"
        cols = ("k", "E x^k")
    else:
        size = int_in_range(size, "--size", 1, 10**7)
        seed = int_in_range(seed, "--seed", 0)
        extreme = not 1e-2 <= law.ratio <= 1e2
        per = (MP_SECONDS_PER_DRAW_EXTREME if extreme else MP_SECONDS_PER_DRAW) + (
            MP_SECONDS_PER_JSON_DRAW if json_out else 0.0)
        refuse_long(f"--size {size}", size * per,
                     f"drawing {size} samples at γ = {law.ratio:g}" + (" (outside [1e-2, 1e2]: quadrature cdf)"
                                                                        if extreme else ""),
                     f"use --size <= {int(MAX_SECONDS / per)}")
        draws = np.atleast_1d(law.rvs(size, rng=seed))
        payload = {**base, "seed": seed, "size": size, "sample": draws}
        rows = [(i, v) for i, v in enumerate(draws.tolist()[:50])]
        cols = ("i", "draw")
    note_ignored(ctx, [("x", "--x", act in ("pdf", "cdf"), "to pdf and cdf"), ("q", "--q", act == "ppf", "to ppf"),
                       ("k", "--k", act == "moments", "to moments"), ("size", "--size", act == "sample", "to sample"),
                       ("seed", "--seed", act == "sample", "to sample")])  # (after the checks: an error is one line)
    if json_out:
        payload["notes"] = [note]
        emit_json(payload)
        return
    print_table(f"Marchenko–Pastur γ = {law.ratio:g}, σ² = {law.variance:g}: {act}", rows,
                columns=cols, notes=[note, f"support [{law.support()[0]:.6g}, {law.support()[1]:.6g}]"])


def _quietly(fn, *args, **kwargs):
    """``(fn(...), notes)``: the warnings ``fn`` emits become notes (no raw warning on stderr)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = fn(*args, **kwargs)
    notes = []
    for w in caught:
        msg = str(w.message).strip()
        if msg not in notes:
            notes.append(msg)
    return res, notes


def spectrum(
    ctx: typer.Context,
    psi_p: float = typer.Option(..., "--psi-p", help="ψ_p = p/d (features over dimension), >= 1e-9."),
    psi_n: float = typer.Option(..., "--psi-n", help="ψ_n = n/d (training points over dimension)."),
    t: float = typer.Option(..., "--t", help="Diffusion (OU) time t > 0."),
    activation: str = typer.Option("tanh", "--activation", help=ACT_HELP),
    points: Optional[int] = typer.Option(
        None, "--points",
        help="Also output the density on a grid of this many points (2 to 2·10⁵: about 0.1 ms a point, "
             "2·10⁵ ≈ 20–30 s)."),
    out: Optional[str] = typer.Option(
        None, "--out",
        help="Save a figure (density over a sampled U histogram); format from the suffix."),
    d: int = typer.Option(
        100, "--d", help="Dimension of the sampled Gaussian-equivalent U drawn for --out (2 to 4096, within memory; "
             "refused when sampling U, ψ_p·d square, is estimated beyond a minute: ψ_p·d = 2048 takes ~6 s)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampled U for --out."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    table_format: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """Spectrum of the random-features matrix U of [WM] (arXiv 2505.17638): bulks, atom, τ."""
    set_table_format(table_format)
    from regimes.rmt import RandomFeatures

    out_path = check_out(out)  # before any work: known suffix, existing folder
    if points is not None:
        int_in_range(points, "--points", 2, SPECTRUM_MAX_POINTS)
    int_in_range(d, "--d", 2, 4096)  # the sampled U is (ψ_p d)×(ψ_p d): d = 4096 is already GBs
    if math.isfinite(psi_p) and 0 < psi_p < MIN_PSI_P:
        from regimes import RegimesError

        raise RegimesError(f"--psi-p must be >= {MIN_PSI_P:g} (below, the bulk solver takes minutes: 13 s at "
                           f"1e-10, 167 s at 1e-12), got {psi_p:g}")
    if out is not None and math.isfinite(psi_p) and math.isfinite(psi_n) and psi_p > 0 and psi_n > 0:
        side = max(psi_p, 1.0) * d  # U is sampled only for the figure
        if side > 8192:  # its eigenvalues, O(side³), would take minutes (and ~90 side² bytes)
            from regimes import RegimesError

            raise RegimesError(f"--d {d}: the sampled U of the figure is p × p with p = ψ_p·d = {side:.6g} > 8192; "
                               f"use --d <= {max(2, int(8192 // max(psi_p, 1.0)))}")
        check_memory("--d", d, 88.0 * side**2, what="the sampled U and its eigenvalues")

        def secs(dd):  # U = GGᵀ/n + …: side²(n + d), its eigenvalues ~side³ (2048: 6 s measured, 4096: 72 s)
            sd = max(psi_p, 1.0) * dd
            return (sd * sd * (psi_n * dd + dd) + sd**3) / UNITS_PER_SECOND

        refuse_long(f"--d {d}", secs(d), f"sampling U ({side:.6g} × {side:.6g}) for --out",
                     f"use --d <= {_fmt(_largest(lambda x: secs(x) <= MAX_SECONDS, 2, d, integer=True))}")
    rf = RandomFeatures(psi_p, psi_n, t, activation)
    summ, warned = _quietly(rf.summary, points=points)
    note_ignored(ctx, [("d", "--d", out is not None, "with --out (the sampled U of the figure)"),
                       ("seed", "--seed", out is not None, "with --out (the sampled U of the figure)")])
    if out is not None:
        from regimes.plot.spectra import plot_rf_density

        use_agg()
        fig, more = _quietly(plot_rf_density, rf, d=d, rng=seed)
        warned += [w for w in more if w not in warned]
        save_figure(fig, out_path, dpi=120)
        summ["figure"] = out
    defect = summ.get("mass_defect")
    trusted = defect is not None and math.isfinite(defect) and abs(defect) <= 1e-4
    if not trusted:  # (only then: the JSON of a sound spectrum keeps its keys)
        summ["bulks_trustworthy"] = False
    if warned:
        summ["notes"] = [*summ.get("notes", []), *warned]
    if json_out:
        emit_json(summ)
        return
    c = summ["constants"]
    rows = [("κ_1", c["kappa1"]), ("b_t", c["b_t"]), ("v_t²", c["v_t2"]), ("s_t²", c["s_t2"]),
            ("μ*²", c["mu_star2"])]
    for key, label in (("slow_bulk", "slow bulk ρ_1"), ("satellite", "satellite"),
                       ("fast_bulk", "fast bulk ρ_2")):
        b = summ[key]
        if b is None:
            rows.append((label, "none"))
            continue
        lo = b["leading_order"]
        extra = ""
        if lo:
            parts = []
            if lo["edges"] is not None:
                parts.append(f"[{lo['edges'][0]:.4g}, {lo['edges'][1]:.4g}]")
            if lo["mass"] is not None:
                parts.append(f"mass {lo['mass']:.4g}")
            extra = f" (leading order {', '.join(parts)})" if parts else ""
        mark = "" if trusted else f"not trustworthy (mass defect {defect:.3g}): "
        rows.append((label, f"{mark}[{b['edges'][0]:.6g}, {b['edges'][1]:.6g}], mass {b['mass']:.6g},"
                            f" τ ∈ [{b['tau'][0]:.4g}, {b['tau'][1]:.4g}]{extra}"))
    a = summ["atom"]
    rows.append(("atom", "none" if a is None else f"at {a['location']:.6g}, mass {a['mass']:.6g}"))
    rows += [("τ_gen ≈ 1/(2Δ_tκ_1²)", summ["tau_gen"]),
             ("τ_mem ≈ ψ_n/(2Δ_t v_t²)", summ["tau_mem"] if summ["tau_mem_in_range"]
              else f"{summ['tau_mem']:.4g} (outside its range: see the notes)"),
             ("τ_mem/τ_gen", summ["tau_ratio"]),
             (_TAU_1 if summ["slow_bulk_distinct"] else _TAU_1_FLOOR, summ["tau_slow"])]
    notes = [summ["time_convention"], *summ.get("notes", [])]
    if out is not None:
        notes.append(f"figure written to {out}")
    print_table(f"Random-features spectrum (ψ_p = {psi_p:g}, ψ_n = {psi_n:g}, t = {t:g}, "
                f"{rf.activation.name})", rows, notes=notes)


def timescales(
    n: float = typer.Option(..., "--n", help="Number of training points, 2 to 1e15 (the loss-curve "
                            "window is refused when estimated beyond a minute or the memory)."),
    d: float = typer.Option(..., "--d", help="Data dimension, 1 to 1e15 (same estimate)."),
    p: float = typer.Option(..., "--p", help="Number of random features, 1 to 1e15."),
    t: float = typer.Option(..., "--t", help="Diffusion (OU) time t > 0."),
    activation: str = typer.Option("tanh", "--activation", help=ACT_HELP),
    gap_tolerance: float = typer.Option(
        0.1, "--gap-tolerance",
        help="ε of τ_gap: first τ with L_test − L_train ≥ ε (loss units, untrained loss 1), in (0, 1)."),
    seeds: int = typer.Option(
        4, "--seeds", help="Gaussian-equivalent instances averaged for the loss curves (1–1000; refused when "
             "seeds × the cost of one instance is estimated beyond a minute: at n = 200, d = 50, p = 400 "
             "about 0.2 s a seed, so ~280 seeds)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    table_format: str = typer.Option("table", "--format", help=FORMAT_HELP),
) -> None:
    """How long can I train before memorising? τ_best, τ_gap from the loss curves and the
    asymptotic τ_gen, τ_mem of the random-features model [WM]."""
    set_table_format(table_format)
    from regimes import RegimesError
    from regimes.rmt import RandomFeatures, training_window
    from regimes.rmt.windows import TrainingWindow, WindowTooSmall, asymptotic_validity_note

    for flag, val, lo in (("--n", n, 2.0), ("--d", d, 1.0), ("--p", p, 1.0)):
        if not (math.isfinite(val) and lo <= val <= MAX_COUNT):
            raise RegimesError(f"{flag} must be a finite number >= {lo:g} and <= {MAX_COUNT:g} (a count), "
                               f"got {_fmt(val)}")
    if not (math.isfinite(gap_tolerance) and 0 < gap_tolerance < 1):
        raise RegimesError(f"--gap-tolerance must be a number in (0, 1), got {gap_tolerance!r}")
    seeds = int_in_range(seeds, "--seeds", 1, 1000)
    rf = RandomFeatures(p / d, n / d, t, activation)
    _check_window_cost(rf, n, d, p, seeds)
    if not rf.constants.v_t2 > 0:
        raise RegimesError("v_t² = 0 for this activation: no memorisation timescale")
    tg, tm = rf.tau_gen, rf.tau_mem
    try:
        win, no_window = training_window(n, d, p, rf.t, rf.activation, gap_tolerance=gap_tolerance,
                                         seeds=seeds), None
    except WindowTooSmall as exc:  # the asymptotic timescales still stand
        win, no_window = None, f"no loss-curve window (τ_best, τ_gap): {exc}"
    answer = (_window_answer(win) + "; asymptotic references " if win else "asymptotic ") + (
        f"τ_gen ≈ {tg:.4g}, τ_mem ≈ {tm:.4g} ∝ n (leading order for ψ_p ≫ ψ_n ≫ 1)")
    if not rf.tau_mem_in_range and rf.slow_bulk_distinct:
        answer += (f"; τ_mem is outside its range here (s_t²/v_t² is not ≪ ψ_p/ψ_n): the slow "
                   f"bulk relaxes near τ ≈ {rf.tau_slow:.4g} (tau_mem_recommended)")
    elif not rf.tau_mem_in_range:
        answer += (f"; τ_mem is outside its range here and there is no distinct slow "
                   f"(memorisation) bulk (v_t² ≪ s_t²): no memorisation timescale, "
                   f"τ ≈ {rf.tau_slow:.4g} (tau_mem_recommended) is only the relaxation of the "
                   f"noise floor s_t²")
    if p <= n:
        answer += ("; here p <= n (below the interpolation line p ≈ n) the RF model does not "
                   "memorise even at long times" + (", τ_mem is then only the slow-bulk timescale"
                                                     if rf.slow_bulk_distinct else ""))
    payload = {"n": n, "d": d, "p": p, "t": rf.t, "activation": rf.activation.name,
               "psi_p": rf.psi_p, "psi_n": rf.psi_n, "delta_t": rf.delta_t,
               "tau_gen": tg, "tau_mem": tm, "tau_ratio": tm / tg,
               "tau_mem_in_range": rf.tau_mem_in_range, "tau_slow": rf.tau_slow,
               "slow_bulk_distinct": rf.slow_bulk_distinct, "tau_mem_recommended": rf.tau_mem_recommended,
               "steps_per_unit_tau_times_lr": d * d,
               "answer": answer, "time_convention": rf.time_convention,
               "notes": ["leading-order formulas of arXiv 2505.17638 (ψ_n, ψ_p large); the "
                         "memorisation crossover of the RF model is the interpolation line p ≈ n",
                         "gradient descent with learning rate η on L: steps = τ·d²/η"]}
    payload.update(win.to_dict() if win else TrainingWindow.absent_dict(gap_tolerance))
    validity = asymptotic_validity_note(rf.psi_n, rf.psi_p)
    payload["notes"] += [*([validity] if validity else []), *(win.notes if win else [no_window]),
                         *([rf.tau_mem_note] if rf.tau_mem_note else [])]
    if json_out:
        emit_json(payload)
        return
    rows = [("ψ_p = p/d", rf.psi_p), ("ψ_n = n/d", rf.psi_n), ("Δ_t", rf.delta_t),
            *(_window_rows(win) if win else [("τ_best, τ_gap (loss curves)", "not computed: see the notes")]),
            ("τ_gen ≈ 1/(2Δ_tκ_1²)", tg),
            ("τ_mem ≈ ψ_n/(2Δ_t v_t²)", tm if rf.tau_mem_in_range else f"{tm:.4g} (outside its range: see the notes)"),
            ("τ_mem/τ_gen", tm / tg),
            (_TAU_1 if rf.slow_bulk_distinct else _TAU_1_FLOOR, rf.tau_slow),
            ("GD steps per unit τ (learning rate η)", f"d²/η = {d * d:.4g}/η")]
    print_table("Training timescales of the random-features score model", rows,
                notes=[answer, rf.time_convention, payload["notes"][0], *payload["notes"][2:]])


def _window_cost(rf, n, d, p, seeds):
    """(seconds, bytes, sizes) of :func:`regimes.rmt.training_window` at (n, d, p) with ``seeds``
    instances (:func:`~regimes.rmt.windows.window_cost`); (0, 0) when it draws none."""
    from regimes.rmt.windows import window_cost

    cost = window_cost(rf, n, d, p, seeds=seeds)
    return cost.units / UNITS_PER_SECOND, cost.bytes, cost.sizes


def _check_window_cost(rf, n, d, p, seeds) -> None:
    """Refuse up front a loss-curve window beyond :data:`MAX_SECONDS` or the memory, naming --seeds
    when one instance fits, else the larger of --d / --n (with its largest allowed value)."""

    from regimes import RegimesError

    c = rf.constants
    if not (c.s_t2 > 0 and c.v_t2 > 0):
        return  # the library's own one-line error
    avail = available_memory() or float(4 << 30)

    def fits(nn, dd, pp, ss):
        secs, mem, _ = _window_cost(rf, nn, dd, pp, ss)
        return secs <= MAX_SECONDS and mem <= avail

    secs, mem, (dd, pp, nn) = _window_cost(rf, n, d, p, seeds)
    if secs <= MAX_SECONDS and mem <= avail:
        return
    what = (f"the loss-curve window ({seeds} instances of d = {dd:.6g}, p = {pp:.6g}, n = {nn:.6g}) would take "
            f"about {secs:.3g} s and {mem / 2**30:.3g} GB (limits {MAX_SECONDS:g} s on 2 cores, "
            f"{avail / 2**30:.3g} GB available)")
    if seeds > 1 and fits(n, d, p, 1):
        top = _largest(lambda s_: fits(n, d, p, int(s_)), 1, seeds, integer=True)
        raise RegimesError(f"--seeds {seeds}: {what}; use --seeds <= {int(top)}")
    flag = "--d" if dd >= nn else "--n"
    if flag == "--d":
        top = _largest(lambda x: fits(n, x, p, seeds), 1.0, d)
    else:
        top = _largest(lambda x: fits(x, d, p, seeds), 2.0, n)
    advice = (f"use {flag} <= {top:.4g} at these other values" if fits(*((n, top, p) if flag == "--d"
                                                                         else (top, d, p)), seeds)
              else "use smaller --n and --d")
    raise RegimesError(f"{flag} {_fmt(d if flag == '--d' else n)}: {what}; {advice}")


def _pm(value, spread, fmt=".4g"):
    return "none" if value is None else (
        f"{value:{fmt}}" + ("" if spread is None else f" ± {spread:.2g}"))


def _window_rows(win):
    lb, lg = win.loss_at_best, win.loss_at_gap
    rows = [("τ_best = argmin L_test", _pm(win.tau_best, win.tau_best_spread)),
            ("L_test, L_train at τ_best", f"{lb['test']:.4f}, {lb['train']:.4f}"),
            (f"τ_gap: L_test − L_train ≥ {win.gap_tolerance:g}",
             _pm(win.tau_gap, win.tau_gap_spread))]
    if lg is not None:
        rows.append(("L_test, L_train at τ_gap", f"{lg['test']:.4f}, {lg['train']:.4f}"))
    rows.append(("L_test − L_train at τ → ∞", f"{win.long_time_gap:.4g}"))
    rows.append(("L_test back above untrained (1) at τ",
                 _pm(win.tau_worse, win.tau_worse_spread) if win.tau_worse is not None
                 else f"never up to τ = {win.tau[-1]:.4g}"))
    return rows


def _window_answer(win):
    """The stopping advice from the loss-curve quantities."""
    out = (f"stop near τ_best ≈ {win.tau_best:.4g}, the minimum of the predicted test loss "
           f"(L_test = {win.loss_at_best['test']:.4f}); ")
    if win.tau_gap is None:
        out += (f"the generalisation gap L_test − L_train never reaches {win.gap_tolerance:g} "
                f"(long-time gap {win.long_time_gap:.3g})")
    else:
        out += (f"the generalisation gap reaches {win.gap_tolerance:g} at τ_gap ≈ "
                f"{win.tau_gap:.4g} ({win.tau_gap / win.tau_best:.3g}× τ_best)")
    if win.tau_worse is not None and (win.tau_gap is None or win.tau_gap >= win.tau_worse):
        out += (f"; but L_test is back above its untrained value 1 from τ ≈ {win.tau_worse:.4g}, so "
                f"train well short of that (τ_gap is no stopping time here: see the notes)")
    return out


def register(app: typer.Typer) -> None:
    app.command("mp")(mp)
    app.command("spectrum")(spectrum)
    app.command("timescales")(timescales)
