"""`regimes formula` — the closed forms as sympy expressions, LaTeX or Python source."""

from __future__ import annotations

from typing import Optional

import typer

from .._output import emit_json, print_table


def formula(
    name: Optional[str] = typer.Argument(None, help="Formula name (see --list)."),
    list_: bool = typer.Option(False, "--list", "-l",
                               help="List the formula names with one-line descriptions."),
    latex: bool = typer.Option(False, "--latex", help="Print the LaTeX only."),
    sympy_: bool = typer.Option(False, "--sympy",
                                help="Print the sympy expression (parseable by sympy.sympify)."),
    python: bool = typer.Option(False, "--python",
                                help="Print the source of a plain-Python function."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Closed forms of regimes (arXiv 2402.18491, 2505.17638) as exact expressions; asymptotic forms are derived."""
    from regimes import RegimesError
    from regimes import symbolic as S

    if list_:
        if name is not None or latex or sympy_ or python:
            raise RegimesError("--list takes no formula name and no --latex/--sympy/--python")
        rows = [{"name": k, **{f: v for f, v in S.info(k).items() if f != "name"}}
                for k in S.names()]
        if json_out:
            emit_json({"formulas": rows})
            return
        # plain aligned lines: a table would wrap the names on a narrow terminal
        width = max(len(r["name"]) for r in rows)
        typer.echo("Formulas: regimes formula NAME [--latex | --sympy | --python | --json]")
        typer.echo("(OU time t, Δ_t = 1 − e^(−2t), natural log, α = ln(n)/d; arguments in "
                   "lambdify order)")
        for r in rows:
            tag = "" if r["kind"] == "exact" else f" [{r['kind']}]"
            if "domain" in r:
                tag += f" [domain: {r['domain']}]"
            typer.echo(f"  {r['name']:<{width}}  ({', '.join(r['arguments'])}){tag}  "
                       f"{r['description']}")
        return
    if name is None:
        raise RegimesError("give a formula name, or --list to see them")
    flags = (("--latex", latex), ("--sympy", sympy_), ("--python", python))
    chosen = [flag for flag, on in flags if on]
    if len(chosen) > 1:
        raise RegimesError(
            f"give at most one of --latex, --sympy, --python, got {' '.join(chosen)}")
    meta = S.info(name)  # raises RegimesError with close matches
    expr = S.formula(name)
    if latex and not json_out:
        typer.echo(S.latex(name))
        return
    if sympy_ and not json_out:
        typer.echo(S.sympy_text(name))
        return
    if python and not json_out:
        typer.echo(S.python(name), nl=False)
        return
    if json_out:
        emit_json({**meta, "sympy": S.sympy_text(name), "latex": S.latex(name), "python": S.python(name)})
        return
    import sympy as sp

    rows = [("name", meta["name"]), ("description", meta["description"]),
            ("arguments (in order)", ", ".join(meta["arguments"])), ("kind", meta["kind"]),
            ("reference", meta["reference"]), ("sympy", S.sympy_text(name)), ("LaTeX", S.latex(name))]
    if "domain" in meta:  # where the numeric library restricts it (nan or a limit outside)
        rows.insert(4, ("domain", meta["domain"]))
    if "defaults" in meta:
        rows.insert(3, ("defaults", ", ".join(f"{k} = {v:g}" for k, v in meta["defaults"].items())))
    print_table(f"Formula {meta['name']}", rows, columns=("field", "value"))
    typer.echo(sp.pretty(expr, use_unicode=True))


def register(app: typer.Typer) -> None:
    app.command("formula")(formula)
