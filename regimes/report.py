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

from .timeline import steps_text

__all__ = ["ANALYSIS_CONVENTIONS", "CONVENTIONS", "markdown_report", "to_jsonable"]

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
    "intervals": "95% bootstrap percentile intervals; se = bootstrap standard deviation",
}


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


def _f(x, digits=4):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _ci(e):
    lo, hi = e.get("ci", [None, None])
    return f"[{_f(lo)}, {_f(hi)}]"


def markdown_report(result) -> str:
    """A short Markdown report of an :class:`regimes.analysis.AnalysisResult`."""
    r = result.to_dict() if hasattr(result, "to_dict") else result
    ref = r.get("reference") or {}
    sch = r["schedule"]
    lines = [
        "# regimes analyze report",
        "",
        f"* data: {r['data']}",
        f"* units: {r['units']}",
        f"* n = {r['n']}, d = {r['d']}, α = ln(n)/d = {r['alpha']:.6g}",
        f"* Monte Carlo samples: {r['samples']}, seed {r['seed']}; intervals: 95% bootstrap",
        "* times are Ornstein–Uhlenbeck times (Δ_t = 1 − e^{−2t}), logs natural",
        "",
        "## Estimates",
        "",
        "| quantity | estimate | 95% interval | theory |" if ref else "| quantity | estimate | 95% interval |",
        "|---|---|---|---|" if ref else "|---|---|---|",
    ]

    def row(name, e, th=None):
        cells = [name, _f(e["value"]), _ci(e)]
        if ref:
            cells.append(_f(th))
        lines.append("| " + " | ".join(cells) + " |")

    row("Λ (top covariance eigenvalue)", r["eigenvalue"], ref.get("eigenvalue"))
    ev = r["eigenvalue"]
    if "noise_edge" in ev:
        lines.append(f"| noise edge σ̂²(1 + √γ)² (Λ {'detectable' if ev['detectable'] else 'NOT detectable'}) | "
                     f"{_f(ev['noise_edge'])} | σ̂² = {_f(ev['noise_level'])}, γ = {_f(ev['ratio'])} |"
                     + (" |" if ref else ""))
    row("t_S = ½ ln Λ", r["t_S"], ref.get("t_S"))
    if r.get("t_S_class"):
        row(f"t_S from φ(t) = {r['t_S_class'].get('level', 0.7752):.4g}", r["t_S_class"], ref.get("t_S_class"))
    if r.get("t_S_population"):
        row("t_S of the debiased population spike ½ ln ℓ̂", r["t_S_population"])
    names = {"commitment": "t_C, φ_C = ½ (headline)", "entropy": "t_C, f^e/α = 0.1",
             "spectral": "t_C, spectral proxy", "gaussian": "t_C, Gaussian formula"}
    for k, lab in names.items():
        th = ref.get("t_C_entropy_threshold") if k == "entropy" else ref.get("t_C")
        row(lab, r["t_C"][k], th)
    dg = r.get("diagnostics")
    if dg:
        lines += ["", "## Which t_C?", "",
                  f"* the estimates {'agree within' if dg['estimates_agree'] else 'disagree beyond'} their intervals "
                  f"(largest / smallest = {_f(dg['spread'], 3)})"]
        lines += [f"* likely cause: {c}" for c in dg["likely_causes"]]
        lines += [f"* {dg['recommendation']}"]
    cov, hier = r.get("t_S_covariance"), r.get("class_hierarchy")
    if cov or hier:
        lines += ["", "## Classes", ""]
    for c in (cov or {}).get("comparisons", []):
        verdict = ("t_S = " + _f(c["t_S"])) if c["detectable"] else "not detectable above sampling noise"
        lines.append(f"* covariance-only speciation, class {c['class']} against {c['against']}: {verdict} "
                     f"(‖C1 − C2‖²_F = {_f(c['frobenius_sq'], 4)}, noise alone {_f(c['noise_frobenius_sq'], 4)})")
    for m in (hier or {}).get("merges", []):
        lines.append(f"* classes {', '.join(m['left'])} | {', '.join(m['right'])} separate at t = {_f(m['t'])}")
    lines += ["", f"## Regimes on the {sch['schedule']} schedule ({sch['steps']} steps)", "",
              "| regime | t from | t to | steps |", "|---|---|---|---|"]
    for g in r["regimes"]:
        lines.append(f"| {g['name']} | {_f(g['t_min'])} | {_f(g['t_max'])} | {steps_text(g)} |")
    notes = list(r.get("notes", []))
    if notes:
        lines += ["", "## Notes", ""] + [f"* {x}" for x in notes]
    names_ = [g["name"] for g in r["regimes"]]
    regime_text = ("Regime I (t > t_S): noise; II (t_C < t < t_S): classes formed; III (t < t_C): collapse "
                   "onto training points" if "II" in names_ else
                   "Regime I (t > t_C): noise; III (t < t_C): collapse onto training points; no Regime II "
                   "(collapse before speciation, or no detectable speciation: see the notes)")
    lines += [
        "",
        regime_text + " — for an exactly learned empirical score [DR, arXiv:2402.18491]. "
        "A trained network memorises later, if at all.",
        "",
        "![curves](curves.png)",
        "",
        "![timeline](timeline.png)",
        "",
    ] + (["![class hierarchy](hierarchy.png)", ""] if hier and len(hier["merges"]) >= 2 else [])
    return "\n".join(lines)
