"""What the ``avsynth`` and ``avsmodel`` command lines share: the Typer app, command
registration from one module per command, and the entry point that turns user errors into
one line."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from avsynth.cli.help_text import markdown_help


def make_app(name: str, help: str, package: str, commands: list[tuple[str, str]]) -> typer.Typer:
    """A Typer app with one command per ``(command name, module under package)``.

    Each module defines ``main``; its module docstring is the command's help (prose plus
    indented examples, see :func:`markdown_help`).
    """
    app = typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode="markdown",
    )
    for command, module in commands:
        mod = importlib.import_module(f"{package}.{module}")
        app.command(command, help=markdown_help(mod.__doc__))(mod.main)
    return app


def run(app: typer.Typer, *, errors: tuple[type[BaseException], ...], debug_env: str) -> None:
    """Run ``app``; an exception of ``errors`` prints ``error: MESSAGE`` and exits 2.

    So does an ``OSError`` the environment causes (a file where a folder must be, no
    permission, a full disk: :data:`avsynth.storage.out_paths.USER_ERRNOS`), naming the file.
    Set the environment variable ``debug_env`` to see the traceback instead.
    """
    from avsynth.storage.out_paths import USER_ERRNOS, os_error_message

    try:
        app()  # standalone: Typer handles --help, usage errors and exit codes
    except errors as e:
        if os.environ.get(debug_env):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        if os.environ.get(debug_env) or e.errno not in USER_ERRNOS:
            raise
        print(f"error: {os_error_message(e)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
