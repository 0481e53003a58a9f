"""Command-line interface of regimes (a thin Typer layer over the library)."""
