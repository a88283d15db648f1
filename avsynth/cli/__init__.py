"""The ``avsynth`` command line: thin Typer wrappers over the library.

Each command lives in its own module and calls one public function; heavy imports happen
inside the commands so ``avsynth --help`` is instant. User errors (:class:`AvsynthError`)
print one line and exit with status 2; set ``AVSYNTH_DEBUG=1`` for the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from avsynth.cli._help import markdown_help
from avsynth.errors import AvsynthError

app = typer.Typer(
    name="avsynth",
    help="Build, check and inspect synthetic audio-visual segmentation datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

# (command name, module under avsynth.cli). Each module defines ``main``.
_COMMANDS = [
    ("check-map", "check_map"),
    ("build", "build"),
    ("inspect", "inspect_cmd"),
    ("stats", "stats"),
    ("verify", "verify"),
    ("export-avsbench", "export_avsbench"),
]

for _name, _mod in _COMMANDS:
    try:
        _m = importlib.import_module(f"avsynth.cli.{_mod}")
    except ModuleNotFoundError as _e:  # command not written yet
        if _e.name != f"avsynth.cli.{_mod}":
            raise
        continue
    app.command(_name, help=markdown_help(_m.__doc__))(_m.main)


def main() -> None:
    """Console-script entry point: run the app, turning user errors into one line."""
    try:
        app()  # standalone: Typer handles --help, usage errors and exit codes
    except AvsynthError as e:
        if os.environ.get("AVSYNTH_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
