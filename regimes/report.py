"""The ``regimes analyze`` report as text: JSON-ready payloads, the conventions table, Markdown.

Nothing here writes files: the command line writes ``report.json``, ``report.md`` and the figures.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .diagnostics import agreement_text
from .timeline import sampler_steps_text, steps_text

__all__ = ["ANALYSIS_CONVENTIONS", "CONVENTIONS", "class_level_note", "detectability_text", "markdown_report",
           "missing", "no_speciation_reason", "theory_t_C", "to_jsonable"]

#: the conventions every JSON output states
CONVENTIONS = {
    "time": "Ornstein-Uhlenbeck time t: x_t = exp(-t) x_0 + sqrt(1 - exp(-2t)) xi",
    "log": "natural",
    "steps": "zero-based array index k, alpha_bar_k = prod_{i<=k}(1 - beta_i)",
}
#: and those of the analysis report
ANALYSIS_CONVENTIONS = {
    **CONVENTIONS,
    "regime steps": "step_min..step_max: the steps k with t_min <= t_k < t_max (null when none: see steps_note)",
    # what the "se" and "ci" of each estimate are (the crossings' se is not a bootstrap one)
    "intervals": (
        "ci: 95% percentile bootstrap intervals with --bootstrap B > 0 (null with --bootstrap 0, by design): "
        "eigenvalue, t_S, t_C.spectral and t_C.gaussian resample the training rows (linearised bootstrap); the "
        "curve crossings t_C.commitment, t_C.entropy and t_S_class resample the Monte Carlo samples; "
        "t_S_population's interval is the debiased spike of eigenvalue's. se: for eigenvalue, t_C.spectral and "
        "t_C.gaussian the bootstrap standard deviation (null with --bootstrap 0); for t_S the delta method on "
        "eigenvalue's, se(eigenvalue) / (2 eigenvalue); for the crossings the delta-method standard error of the "
        "Monte Carlo mean, se(curve at t) / |slope of the curve| (present with --bootstrap 0 too); t_S_population "
        "has none (null)"),
}



def theory_t_C(ref: dict, estimator: str):
    """The theory value beside a t_C estimator, from a result's ``reference``: the crossing of
    f^e/α = 0.1 for the entropy estimate, the proxy on the population spectrum for the spectral
    one, the Gaussian t_C for the others."""
    return {"entropy": ref.get("t_C_entropy_threshold"),
            "spectral": ref.get("t_C_spectral", ref.get("t_C"))}.get(estimator, ref.get("t_C"))

def to_jsonable(obj, nonfinite: list | None = None, _path: str = ""):
    """numpy → JSON types; NaN/inf → None. With a list ``nonfinite``, the path of every such value
    (``"t_C.entropy.ci[0]"``) is appended to it."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, nonfinite, f"{_path}.{k}" if _path else str(k)) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, nonfinite, f"{_path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        if nonfinite is not None:
            nonfinite.append(_path)
        return None
    return obj


def missing(x) -> bool:
    """Whether a payload number is absent: None (JSON null) or NaN (``to_dict`` keeps a curve that does
    not cross as NaN, for the JSON writer to flag)."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def _f(x, digits=6):
    """A number with ``digits`` significant digits, as the terminal table writes it (``0.00148816``,
    ``1.30214e-06``: a small time is never rounded to 0); None/NaN as an em dash."""
    if isinstance(x, np.generic):
        x = x.item()
    if missing(x):
        return "—"
    if isinstance(x, float):
        return "∞" if x == math.inf else f"{x:.{digits}g}"
    return str(x)


def _ci(e):
    lo, hi = e.get("ci", [None, None])
    return f"[{_f(lo, 5)}, {_f(hi, 5)}]"


def class_level_note(cls) -> str | None:
    """The sentence that says the class level of ``t_S_class`` (a payload's ``t_S_class``) is a convention,
    with more than two classes (None with two: 0.7752 is the two-class theory's φ(t_S)); the table's notes
    and report.md write the same words."""
    if not cls or int(cls.get("classes", 2)) <= 2 or not cls.get("definition"):
        return None
    return (f"t_S of the classes: {cls['definition']}; with {cls['classes']} classes a convention, not a theorem: "
            "the theory fixes φ(t_S) = 0.7752 for two classes only")


def no_speciation_reason(r) -> str | None:
    """Why a payload has no t_S (None when it has one): Λ <= 1, or Λ not detectable above the noise edge."""
    if not missing((r.get("t_S") or {}).get("value")):
        return None
    ev = r["eigenvalue"]
    if not missing(ev.get("value")) and ev["value"] <= 1:
        return "Λ ≤ 1: no speciation"
    if ev.get("detectable") is False:
        return "Λ not detectable above the noise edge: no speciation time"
    return None


def detectability_text(ev) -> str:
    """The noise-edge verdict on Λ (an ``eigenvalue`` payload with ``detectable``), in the table's and the
    report's words: above the edge but Λ <= 1 is said, as it gives no speciation either."""
    if not ev["detectable"]:
        return "Λ NOT detectable (noise)"
    if not missing(ev.get("value")) and ev["value"] <= 1:
        return "Λ detectable, but Λ ≤ 1: no speciation"
    return "Λ detectable"


def _intervals_text(boot) -> str:
    """The header's word on the intervals: their replicates, or that there are none (``--bootstrap 0``)."""
    b, e = (boot or {}).get("replicates"), (boot or {}).get("eigen_replicates")
    if b is None:
        return "intervals: 95% bootstrap"
    if b == 0 and not e:
        return "no intervals (0 bootstrap replicates): every interval below is [—, —]"
    if b == 0:
        return f"intervals: 95% bootstrap for Λ and t_S only ({e} replicates); none for the t_C estimates"
    extra = "" if e in (None, b) else (f" ({e} for Λ and t_S)" if e else "; none for Λ and t_S")
    return f"intervals: 95% bootstrap, {b} replicates{extra}"


def markdown_report(result, *, words=None) -> str:
    """A short Markdown report of an :class:`regimes.analysis.AnalysisResult` (or its ``to_dict()``).

    Numbers are written with 6 significant digits, interval ends with 5, as the command line's table
    writes them. ``words``: a function applied to the finished text, which puts the library's words in
    the caller's (the command line passes one that writes ``(times=)`` as ``(--times)``); default: as is.
    """
    r = result.to_dict() if hasattr(result, "to_dict") else result
    ref = r.get("reference") or {}
    sch = r["schedule"]
    lines = [
        "# regimes analyze report",
        "",
        f"* data: {r['data']}",
        f"* units: {r['units']}",
        f"* n = {r['n']}, d = {r['d']}, α = ln(n)/d = {r['alpha']:.6g}",
        f"* Monte Carlo samples: {r['samples']}, seed {r['seed']}; {_intervals_text(r.get('bootstrap'))}",
        "* times are Ornstein–Uhlenbeck times (Δ_t = 1 − e^{−2t}), logs natural",
        *([f"* theory: the d → ∞ predictions of the model the data were drawn from ({ref.get('model')}); "
           "the spectral proxy's is the proxy on that model's population spectrum, the entropy row's the "
           "crossing of f^e/α = 0.1; the measured values differ from them by finite-d offsets"] if ref else []),
        "",
        "## Estimates",
        "",
        "| quantity | estimate | 95% interval | theory |" if ref else "| quantity | estimate | 95% interval |",
        "|---|---|---|---|" if ref else "|---|---|---|",
    ]

    def row(name, e, th=None, value=None):
        cells = [name, _f(e["value"]) if value is None else value, _ci(e)]
        if ref:
            cells.append(_f(th))
        lines.append("| " + " | ".join(cells) + " |")

    row("Λ (top covariance eigenvalue)", r["eigenvalue"], ref.get("eigenvalue"))
    ev = r["eigenvalue"]
    if "noise_edge" in ev:
        lines.append(f"| noise edge σ̂²(1 + √γ)², σ̂² = {_f(ev['noise_level'])}, γ = {_f(ev['ratio'])} "
                     f"({detectability_text(ev)}) | {_f(ev['noise_edge'])} | (no interval) |" + (" |" if ref else ""))
    why = no_speciation_reason(r)
    row("t_S = ½ ln Λ", r["t_S"], ref.get("t_S"), value=None if why is None else f"— ({why})")
    cls = r.get("t_S_class")
    if cls:
        lines.append(f"| t_S from φ(t) = {cls.get('level', 0.7752):.4g} | {_class_value(cls)} | {_ci(cls)} |"
                     + (f" {_f(ref.get('t_S_class'))} |" if ref else ""))
    if r.get("t_S_population"):
        row("t_S of the debiased population spike ½ ln ℓ̂", r["t_S_population"])
    _t_C_rows(r, row)
    level = class_level_note(cls)
    lines += ["", f"* {level}"] if level else []
    lines += _which_tc(r.get("diagnostics"))
    lines += _classes(r.get("t_S_covariance"), r.get("class_hierarchy"), (r.get("t_S") or {}).get("value"))
    lines += _regime_lines(r, sch)
    names_ = [g["name"] for g in r["regimes"]]
    regime_text = ("Regime I (t > t_S): noise; II (t_C < t < t_S): classes formed; III (t < t_C): collapse "
                   "onto training points" if "II" in names_ else
                   "Regime I (t > t_C): noise; III (t < t_C): collapse onto training points; no Regime II "
                   "(collapse before speciation, or no speciation: see the notes)")
    lines += [
        "",
        regime_text + " — for an exactly learned empirical score [DR, arXiv:2402.18491]. "
        "A trained network memorises later, if at all.",
        "",
        "![curves](curves.png)",
        "",
        "![timeline](timeline.png)",
        "",
    ]
    hier = r.get("class_hierarchy")
    lines += ["![class hierarchy](hierarchy.png)", ""] if hier and len(hier["merges"]) >= 2 else []
    text = "\n".join(lines)
    return text if words is None else words(text)


def _t_C_rows(r, row) -> None:
    """The four t_C rows (written by ``row``), the one the regimes use marked, a missing crossing said."""
    ref = r.get("reference") or {}
    used = (r.get("regimes_t_C") or {}).get("estimator", "commitment")
    names = {"commitment": "t_C, φ_C = ½ (headline)", "entropy": "t_C, f^e/α = 0.1",
             "spectral": "t_C, spectral proxy", "gaussian": "t_C, Gaussian formula"}
    if used != "commitment":
        names["commitment"] = "t_C, φ_C = ½ (headline: not measured, see the notes)"
        names[used] += " (used by the regimes)"
    for k, lab in names.items():  # (a missing commitment crossing is said by its label)
        absent = k == "entropy" and missing(r["t_C"][k]["value"])
        row(lab, r["t_C"][k], theory_t_C(ref, k), value="— (f^e/α did not cross 0.1 on the time grid)"
            if absent else None)


def _regime_lines(r, sch) -> list:
    """The "Regimes" section: which t_C they use when it is not the headline, then their times and steps."""
    used = (r.get("regimes_t_C") or {}).get("estimator", "commitment")
    lines = ["", f"## Regimes on the {sch['schedule']} schedule ({sch['steps']} steps)", ""]
    if used != "commitment":
        lines += [f"t_C used by the regimes: the {used} estimate, {_f(r['t_C'][used]['value'])} (the commitment "
                  "estimate φ_C = ½ is missing: see the notes)", ""]
    inference = "sampler_steps" in sch
    if inference:
        lines += [f"Sampler: {sch['sampler_steps']} {sch['timestep_spacing']} inference steps; t_S at sampler step "
                  f"{sch['sampler_step_S']}, t_C at {sch['sampler_step_C']}. Numbering: "
                  f"{sch['sampler_step_convention']}.", ""]
    lines += (["| regime | t from | t to | steps | sampler steps |", "|---|---|---|---|---|"] if inference
              else ["| regime | t from | t to | steps |", "|---|---|---|---|"])
    for g in r["regimes"]:
        hi = "∞" if g["t_max"] is None else _f(g["t_max"])
        extra = f" {sampler_steps_text(g)} |" if inference else ""
        lines.append(f"| {g['name']} | {_f(g['t_min'])} | {hi} | {steps_text(g)} |{extra}")
    notes = list(r.get("notes", []))
    if notes:
        lines += ["", "## Notes", ""] + [f"* {x}" for x in notes]
    return lines


def _class_value(cls) -> str:
    """t_S_class's value, with its caveat next to it when φ's crossing is not a speciation time."""
    if cls.get("valid", True) or missing(cls.get("value")):
        return _f(cls["value"])
    return f"{_f(cls['value'])} — NOT a speciation time ({'; '.join(cls.get('invalid_reasons', []))}: see the notes)"


def _which_tc(dg) -> list:
    """The "Which t_C?" section: agreement (or that it cannot be judged), causes, recommendation."""
    if not dg:
        return []
    agree = dg["estimates_agree"]
    first = "* " + agreement_text(agree, len(dg.get("unjudged_pairs", [])), dg["spread"])
    lead = "property of the data that can move the estimators apart" if agree is None else "likely cause"
    return (["", "## Which t_C?", "", first] + [f"* {lead}: {c}" for c in dg["likely_causes"]]
            + [f"* {dg['recommendation']}"])


def _classes(cov, hier, t_S=None) -> list:
    """The "Classes" section: covariance-only speciation and the hierarchy's merges, each with its caveats
    (``t_S``: the dataset's ½ ln Λ, to flag merges later than it)."""
    if not (cov or hier):
        return []
    lines = ["", "## Classes", ""]
    for c in (cov or {}).get("comparisons", []):
        test = "‖C1 − C2‖_F and mean-separation tests" if "mean_detectable" in c else "‖C1 − C2‖_F test"
        verdict = ("t_S = " + _f(c["t_S"])) if c["detectable"] else f"not detectable by the {test} at these class sizes"
        norms = f"‖C1 − C2‖²_F = {_f(c['frobenius_sq'])}"
        if c.get("t_S_asymptotic") is not None:
            valid = c.get("t_S_asymptotic_valid", True)
            norms += f", debiased {_f(c.get('frobenius_sq_debiased'))}"
            verdict += (f"; large-t form ¼ ln(debiased ‖C1 − C2‖²_F/8) = {_f(c['t_S_asymptotic'])}"
                        + ("" if valid else f" — {_asymptotic_caveat(c)}"))
        lines.append(f"* covariance-only speciation, class {c['class']} against {c['against']}: {verdict} "
                     f"({norms}, noise alone {_f(c['noise_frobenius_sq'])})")
    if hier:
        lines += _hierarchy_lines(hier, t_S)
    return lines


def _asymptotic_caveat(c) -> str:
    """The caveat of a large-t form outside its range, saying which ‖C1 − C2‖²_F its check used: the analysis
    checks the form on the raw norm (the covariances the exact root is solved on), while the value written
    beside the formula uses the debiased one."""
    text = c.get("t_S_asymptotic_caveat", "outside its range")
    return text.replace("on the same covariances",
                        "on the raw ‖C1 − C2‖²_F (the covariances the exact root is solved on)")


def _hierarchy_lines(hier, t_S) -> list:
    """How the merge times were computed, then one line per merge with its bracket and flags."""
    tol = hier.get("tree_tolerance", 0.1)
    lines = [f"* class hierarchy ({hier['method']} linkage, equal class weights): each merge at t = ½ ln Λ_ab of "
             "class pairs across it, from the sample class means and variances (|δ̂|² includes the sampling bias "
             "tr C_a/n_a + tr C_b/n_b); in brackets the smallest and largest cross-pair time (single and complete "
             "linkage of the same two groups): exact at the single-linkage end for nested (tree-like) class means, "
             f"and the measured split lay inside the bracket for chains and lines; a bracket wider than {tol:g} "
             "is flagged \"layout not tree-like\""]
    for m in hier.get("merges", []):
        lo, hi = m.get("t_bracket", [m["t"], m["t"]])
        groups = f"classes {', '.join(m['left'])} | {', '.join(m['right'])}"
        if m["t"] is None:
            text = f"{groups} never separate (Λ_ab ≤ 1 for a class pair across the merge)"
        else:
            text = f"{groups} separate at t = {_f(m['t'])} [{_f(lo, 5)}, {_f(hi, 5)}]"
        lines.append("* " + text + "".join(_merge_caveats(m, hier, t_S)))
    return lines


def _merge_caveats(m, hier, t_S) -> list:
    out = []
    k = m["pairs_within_noise"]
    if k:
        which = "within sampling noise" if k == m["pairs"] else \
            f"{k} of the {m['pairs']} class pairs across it within sampling noise"
        out.append(f" — {which} (|δ̂|² not above the 99.5% quantile of its law under equal means): a time of the "
                   "noise, not of class structure")
    if m.get("tree_like") is False:
        out.append(" — layout not tree-like: the backward dynamics can split these groups anywhere in the bracket "
                   "(earlier than the single-linkage time for chains and lines)")
    if m.get("pairs_unbalanced"):
        out.append(f" — unbalanced classes ({m['pairs_unbalanced']} of the {m['pairs']} class pairs across it "
                   "differ in size by more than 3:1): equal-weight times overstate the split time of unbalanced "
                   "classes (measured 1.25–1.31 against 1.611 at 39:1)")
    if t_S is not None and m["t"] is not None and math.isfinite(t_S) and m["t"] > t_S:
        out.append(f" — above the dataset's t_S = {_f(t_S)} (½ ln Λ of all rows): these classes would separate in the "
                   "backward process before the dataset as a whole speciates; the equal-weight pair time overstates it")
    return out
