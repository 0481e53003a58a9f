"""Writing the ``regimes analyze`` report: ``report.json``, ``report.md`` and the plots.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491 (2024).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ._errors import RegimesError
from .timeline import steps_text

__all__ = ["CONVENTIONS", "to_jsonable", "markdown_report", "write_report"]

CONVENTIONS = {
    "time": "Ornstein-Uhlenbeck time t: x_t = exp(-t) x_0 + sqrt(1 - exp(-2t)) xi",
    "log": "natural",
    "steps": "zero-based array index k, alpha_bar_k = prod_{i<=k}(1 - beta_i)",
    "regime steps": "step_min..step_max: the steps k with t_min <= t_k < t_max (null when none: see steps_note)",
    "intervals": "95% bootstrap percentile intervals; se = bootstrap standard deviation",
}


def to_jsonable(obj):
    """numpy → JSON types; NaN/inf → None."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
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
    row("t_S = ½ ln Λ", r["t_S"], ref.get("t_S"))
    if r.get("t_S_class"):
        row("t_S from φ(t) = 0.7752", r["t_S_class"], ref.get("t_S_class"))
    names = {"commitment": "t_C, φ_C = ½ (headline)", "entropy": "t_C, f^e/α = 0.1",
             "spectral": "t_C, spectral proxy", "gaussian": "t_C, Gaussian formula"}
    for k, lab in names.items():
        th = ref.get("t_C_entropy_threshold") if k == "entropy" else ref.get("t_C")
        row(lab, r["t_C"][k], th)
    lines += ["", f"## Regimes on the {sch['schedule']} schedule ({sch['steps']} steps)", "",
              "| regime | t from | t to | steps |", "|---|---|---|---|"]
    for g in r["regimes"]:
        lines.append(f"| {g['name']} | {_f(g['t_min'])} | {_f(g['t_max'])} | {steps_text(g)} |")
    notes = list(r.get("notes", []))
    if notes:
        lines += ["", "## Notes", ""] + [f"* {x}" for x in notes]
    lines += [
        "",
        "Regime I (t > t_S): noise; II (t_C < t < t_S): classes formed; III (t < t_C): collapse "
        "onto training points for an exactly learned empirical score [DR, arXiv:2402.18491]. "
        "A trained network memorises later, if at all.",
        "",
        "![curves](curves.png)",
        "",
        "![timeline](timeline.png)",
        "",
    ]
    return "\n".join(lines)


def write_report(result, out_dir, *, payload=None) -> dict:
    """Write ``report.json``, ``report.md``, ``curves.png`` and ``timeline.png`` into ``out_dir``.

    ``payload`` (optional) is the JSON object to write (default ``result.to_dict()`` plus
    conventions). Returns ``{name: path}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot.curves import plot_curves
    from .plot.timeline import plot_timeline

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RegimesError(f"--out {str(out)!r}: cannot create the directory ({exc.strerror})") from None
    d = result.to_dict()
    body = payload if payload is not None else {**d, "conventions": CONVENTIONS}
    paths = {"json": out / "report.json", "markdown": out / "report.md",
             "curves": out / "curves.png", "timeline": out / "timeline.png"}
    paths["json"].write_text(json.dumps(to_jsonable(body), indent=2, ensure_ascii=False) + "\n")
    paths["markdown"].write_text(markdown_report(d))
    fig = plot_curves(result)
    fig.savefig(paths["curves"], dpi=120)
    plt.close(fig)
    cis = [d["t_S"]["ci"], d["t_C"]["commitment"]["ci"]]
    fig = plot_timeline(d["t_S"]["value"], result.headline_t_C if not math.isnan(result.headline_t_C)
                        else d["t_C"]["spectral"]["value"],
                        d["schedule"]["schedule"], d["schedule"]["steps"], intervals=cis)
    fig.savefig(paths["timeline"], dpi=120)
    plt.close(fig)
    return {k: str(v) for k, v in paths.items()}
