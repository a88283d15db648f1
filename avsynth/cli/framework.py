"""What the ``avsynth`` and ``avsmodel`` command lines share: the Typer app, command
registration from one module per command, the global options, deprecated spellings, and the
entry point that turns user errors into one line.

Every command registered through :func:`make_app` gets, without writing anything:

- ``-h`` / ``--help``, and shell completion (``--install-completion``);
- the app's ``--version`` (the installed distribution's version) and ``-v`` / ``--verbose``
  (DEBUG log messages), and log messages on stderr (:mod:`avsynth.log`);
- deprecated option spellings listed in the module's ``DEPRECATED`` (``{"--dir": "--out"}``):
  the old spelling still works, is rewritten to the new one and prints a note on stderr;
- exit codes: 0 success, 1 a runtime failure (bad input data, a failed download, problems
  found), 2 a usage error (unknown option, bad value), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from avsynth.cli.help_text import markdown_help

#: ``-h`` works wherever ``--help`` does (the habit of most command lines).
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}

#: Exit status of a runtime failure (click's convention: 2 is kept for usage errors).
EXIT_FAILURE = 1
#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130

#: Distribution whose version ``--version`` prints (both packages ship in it).
DISTRIBUTION = "avsynth"


def installed_version() -> str:
    """The installed distribution's version (the one written in ``pyproject.toml``)."""
    from importlib.metadata import version as dist_version

    return dist_version(DISTRIBUTION)


def deprecation_note(old: str, new: str) -> None:
    """Print ``note: OLD is deprecated; use NEW`` on stderr."""
    typer.echo(f"note: {old} is deprecated; use {new}", err=True)


def rewrite_deprecated(args: list[str], renames: Mapping[str, str]) -> list[str]:
    """``args`` with every deprecated spelling (``--dir`` or ``--dir=X``) replaced by its new
    one, printing a note for each (arguments after ``--`` are left alone)."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        name, eq, rest = arg.partition("=")
        if name in renames:
            deprecation_note(name, renames[name])
            arg = renames[name] + eq + rest
        out.append(arg)
    return out


class DeprecatingCommand(TyperCommand):
    """A Typer command that accepts the old spellings in :attr:`renames`."""

    renames: Mapping[str, str] = {}

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        """Rewrite deprecated spellings, then parse as usual."""
        return super().parse_args(ctx, rewrite_deprecated(list(args), self.renames))


def command_class(renames: Mapping[str, str]) -> type[TyperCommand]:
    """The command class of a module: :class:`DeprecatingCommand` bound to its renames."""
    if not renames:
        return TyperCommand
    return type("DeprecatingCommand", (DeprecatingCommand,), {"renames": dict(renames)})


def deprecated_epilog(renames: Mapping[str, str]) -> str | None:
    """The help text's line listing a command's deprecated spellings."""
    if not renames:
        return None
    pairs = ", ".join(f"{old} (use {new})" for old, new in sorted(renames.items()))
    return f"Deprecated spellings, still accepted: {pairs}."


def interruptible(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with Ctrl-C turned into ``interrupted`` on stderr and exit status 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def _print_version(value: bool) -> None:
    if value:
        typer.echo(installed_version())
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option("-v", "--verbose", count=True, help="Also print debug log messages."),
    ] = 0,
) -> None:
    from avsynth import log

    log.configure(log.level_for(verbose))


def make_app(name: str, help: str, package: str, commands: list[tuple[str, str]]) -> typer.Typer:
    """A Typer app with one command per ``(command name, module under package)``.

    Each module defines ``main``; its module docstring is the command's help (prose plus
    indented examples, see :func:`markdown_help`); an optional ``DEPRECATED`` dict maps old
    option spellings to new ones.
    """
    app = typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode="markdown",
        context_settings=CONTEXT_SETTINGS,
    )
    app.callback()(_root)
    for command, module in commands:
        mod = importlib.import_module(f"{package}.{module}")
        renames = getattr(mod, "DEPRECATED", {})
        app.command(
            command,
            help=markdown_help(mod.__doc__),
            cls=command_class(renames),
            epilog=deprecated_epilog(renames),
            context_settings=CONTEXT_SETTINGS,
        )(interruptible(mod.main))
    return app


def one_line(e: BaseException) -> str:
    """The message of ``e`` as one line.

    An exception raised in a worker process (torch's DataLoader) comes back as ``Caught
    DataError in DataLoader worker process 0.`` followed by the worker's traceback; its own
    message is the traceback's last line (``ClassName: message``), which is what is shown.
    """
    text = str(e)
    if "\n" not in text:
        return text
    last = text.rstrip().splitlines()[-1]
    own = re.match(rf"(?:[\w.]+\.)?{type(e).__name__}: (.+)$", last)
    if text.startswith("Caught ") and "Original Traceback" in text and own:
        return own.group(1)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def run(
    app: typer.Typer,
    *,
    errors: tuple[type[BaseException], ...],
    debug_env: str,
    args: list[str] | None = None,
) -> None:
    """Run ``app`` on ``args`` (default: the command line); an exception of ``errors`` prints
    ``error: MESSAGE`` and exits 1.

    So does an ``OSError`` the environment causes (a file where a folder must be, no
    permission, a full disk: :data:`avsynth.storage.out_paths.USER_ERRNOS`), naming the file.
    Set the environment variable ``debug_env`` to see the traceback instead. Usage errors
    exit 2 (Typer's handling) and Ctrl-C exits 130.
    """
    from avsynth.storage.out_paths import USER_ERRNOS, os_error_message

    try:
        # standalone: Typer handles --help, usage errors and their exit codes
        app(args=args, prog_name=app.info.name)
    except errors as e:
        if os.environ.get(debug_env):
            raise
        print(f"error: {one_line(e)}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except OSError as e:
        if os.environ.get(debug_env) or e.errno not in USER_ERRNOS:
            raise
        print(f"error: {os_error_message(e)}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
