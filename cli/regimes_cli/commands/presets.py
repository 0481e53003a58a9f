"""`regimes presets` — the dataset presets (n, d, reported Λ) with their references."""

from __future__ import annotations

from typing import Optional

import typer

from .._output import emit_json, print_table


def presets(
    name: Optional[str] = typer.Argument(None, help="Show one preset in full (name or alias)."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Dataset presets usable as --preset NAME in times, collapse and speciation."""
    from regimes.presets import get_preset, list_presets

    conv = ("d = C·H·W is the dimension used for α = ln(n)/d and t_C; Λ (where reported) is "
            "quoted from arXiv:2402.18491, not measured, and is the top eigenvalue of ONE colour channel's "
            "covariance, the FIRST (R) channel's (eigenvalue_dim = H·W), pixels in [0,1] centred, over the "
            "authors' two-class training subset (per their public code; the preset's n counts the full "
            "split); the commands that take --preset use Λ and σ² in [−1, 1] (both × 4) unless --units unit")
    if name is not None:
        p = get_preset(name)
        if json_out:
            emit_json({"preset": p.to_dict(), "convention": conv})
            return
        d = p.to_dict()
        rows = [(k, ", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in d.items()]
        print_table(f"Preset {p.name}", rows, columns=("field", "value"), notes=[conv])
        return
    items = list_presets()
    if json_out:
        emit_json({"presets": [p.to_dict() for p in items], "convention": conv})
        return
    rows = [(p.name, p.n, "×".join(map(str, p.shape)), p.d, p.eigenvalue, p.eigenvalue_dim, p.variance)
            for p in items]
    print_table("Dataset presets", rows,
                columns=("name", "n", "shape", "d", "Λ", "Λ's dim", "σ²"),
                notes=[conv, "σ² (where given): approximate per-pixel variance from published normalisation "
                             "constants, the default --variance with that preset; an upper bound on Tr C/d",
                             "— = not given (LSUN's n depends on the category; shape-only "
                             "presets carry no Λ). `regimes presets NAME` shows the full record with its references."])


def register(app: typer.Typer) -> None:
    app.command("presets")(presets)
