"""Entry point of the ``regimes`` command.

``regimes --version`` is answered before anything heavy (typer, rich, numpy) is imported. Every
other call builds the Typer app and runs it with click's standalone mode off, so that errors are
turned into one line on stderr and exit status 2 (bad input) instead of a usage box or a traceback.
"""

from __future__ import annotations

import sys


def _version() -> str:
    """The version, read from ``regimes/_version.py`` without executing ``regimes/__init__``
    (which imports numpy and scipy)."""
    import importlib.util

    spec = importlib.util.find_spec("regimes")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        vspec = importlib.util.spec_from_file_location("_regimes_version", f"{loc}/_version.py")
        if vspec is not None and vspec.loader is not None:
            mod = importlib.util.module_from_spec(vspec)
            try:
                vspec.loader.exec_module(mod)
            except OSError:
                continue
            return mod.__version__
    from regimes import __version__  # fallback: imports the package

    return __version__


def _click_exceptions():
    """(UsageError, ClickException, Exit, Abort) for the click typer runs on.

    typer >= 0.2x vendors click as ``typer._click``; older typer depends on click itself.
    """
    try:
        from typer import _click as click_mod  # vendored click
        from typer import exceptions as typer_exc

        exit_types = tuple({typer_exc.Exit, getattr(click_mod.exceptions, "Exit", typer_exc.Exit)})
        abort_types = tuple({typer_exc.Abort, getattr(click_mod.exceptions, "Abort", typer_exc.Abort)})
    except ImportError:  # pragma: no cover - older typer
        import click as click_mod

        exit_types = (click_mod.exceptions.Exit,)
        abort_types = (click_mod.exceptions.Abort,)
    exc = click_mod.exceptions
    return exc.UsageError, exc.ClickException, exit_types, abort_types


def _note_format_with_json(args: list[str]) -> None:
    """``--format csv --json``: --json wins (one JSON object); say so instead of dropping --format silently."""
    if "--json" not in args:
        return
    for i, a in enumerate(args):
        value = a.split("=", 1)[1] if a.startswith("--format=") else (
            args[i + 1] if a == "--format" and i + 1 < len(args) else None)
        if value is not None and value.strip().lower() not in ("", "table"):
            from ._output import note

            note(f"--format {value} is ignored with --json (one JSON object is printed)")
            return


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["-V"]):
        print(f"regimes {_version()}")
        return 0

    import typer.main

    from regimes import RegimesError

    from ._output import fail, set_table_format
    from .app import build_app

    set_table_format(None)  # each command starts from the default table format (--format sets it)
    _note_format_with_json(args)
    usage_error, click_exception, exit_types, abort_types = _click_exceptions()
    command = typer.main.get_command(build_app())
    try:
        rv = command.main(args=args, prog_name="regimes", standalone_mode=False)
    except RegimesError as exc:
        from ._options import name_flags

        return fail(name_flags(str(exc), command, args))
    except usage_error as exc:
        if type(exc).__name__ == "NoArgsIsHelpError" or (not args and exc.ctx is not None):
            ctx = exc.ctx
            print(ctx.get_help() if ctx is not None else exc.format_message())
            return 0
        msg = exc.format_message()
        ctx = getattr(exc, "ctx", None)
        if ctx is not None and ctx.command_path:
            msg = f"{ctx.command_path}: {msg}"
        return fail(msg)
    except exit_types as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except abort_types:
        return fail("aborted", status=1)
    except click_exception as exc:
        return fail(exc.format_message(), status=getattr(exc, "exit_code", 1) or 1)
    except BrokenPipeError:  # pragma: no cover - e.g. `regimes ... | head`
        return 0
    except MemoryError:
        return fail("out of memory: reduce the problem size", status=1)
    except OSError as exc:
        return fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc), status=1)
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
