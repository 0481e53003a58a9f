"""Generate docs/cli.md from the Typer app itself, so the reference never drifts from the code."""

from __future__ import annotations

from pathlib import Path

#: columns of the help text in the reference (the site's code blocks show about 88)
WIDTH = 78


def _walk(cmd, path):
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from _walk(sub, f"{path} {name}")


def cli_reference() -> str:
    import typer.main
    from regimes_cli.app import build_app

    root = typer.main.get_command(build_app())
    lines = ["# Command-line reference", "",
             "Generated from the application by `docs/gen_cli.py`; every command also answers `--help`.",
             "Exit status 0 on success, 2 on bad input (one line on stderr).", ""]
    for path, cmd in _walk(root, "regimes"):
        if path == "regimes":
            continue
        # help wrapped to WIDTH columns: the code blocks of the site show every line whole (no clipping)
        ctx = cmd.make_context(path, [], resilient_parsing=True, terminal_width=WIDTH, max_content_width=WIDTH)
        lines += [f"## `{path}`", "", "```text", cmd.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(lines)


def write_cli_reference(target: Path) -> None:
    Path(target).write_text(cli_reference(), encoding="utf-8")


if __name__ == "__main__":
    print(cli_reference())
