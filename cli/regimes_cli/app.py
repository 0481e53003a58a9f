"""Assemble the Typer app from the command modules in :mod:`regimes_cli.commands`.

Each command module defines ``register(app: typer.Typer) -> None``. Command modules import the
library lazily (inside the command functions) so that building the app stays cheap.
"""

from __future__ import annotations

import importlib

import typer

# One line per command module; add yours here.
COMMAND_MODULES = [
    "basic",  # speciation, collapse, schedule, times
    "analyze",  # analyze [DATA] — t_S, t_C with intervals, regimes on a schedule, report
    "rmt",  # mp pdf|cdf|ppf|edges|moments|sample, spectrum, timescales
    "plots",  # phase-diagram nd|np|ntau, timeline — figures (--out) or their data (--json)
    "formula",  # formula --list, formula NAME [--latex | --sympy | --python]
    "presets",  # presets [NAME] [--json]
    "memorization",  # memorization GENERATED TRAIN [--reference], uturn DATA --times
    "solve",  # solve n|d|eigenvalue — the inverse questions (n for a target t_C, …)
]


def _version_callback(value: bool) -> None:
    if value:
        from regimes import __version__

        typer.echo(f"regimes {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="regimes",
        help=(
            "Dynamical regimes of diffusion models: speciation (t_S), collapse (t_C), "
            "random-matrix timescales. Times are Ornstein-Uhlenbeck times, logs are natural."
        ),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", "-V", help="Print the version and exit.",
            callback=_version_callback, is_eager=True,
        ),
    ) -> None:
        """regimes command-line interface."""

    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.commands.{name}").register(app)
    return app
