"""The ``avsmodel`` command line: thin Typer wrappers over the library.

Heavy imports (torch, segment-anything) happen inside commands so ``--help`` is instant.
User errors (:class:`AvsmodelError`, and avsynth's errors when reading manifests) print one
line and exit with status 2; set ``AVSMODEL_DEBUG=1`` for the traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from avsmodel.errors import AvsmodelError
from avsynth.cli._help import markdown_help
from avsynth.errors import AvsynthError

app = typer.Typer(
    name="avsmodel",
    help="Train, evaluate and run SAMA-AVS, AP-SAM and the SAM oracle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

# (command name, module under avsmodel.cli). Each module defines ``main``.
_COMMANDS = [
    ("params", "params"),
    ("train", "train"),
    ("eval", "eval_cmd"),
    ("predict", "predict"),
]

for _name, _mod in _COMMANDS:
    try:
        _m = importlib.import_module(f"avsmodel.cli.{_mod}")
    except ModuleNotFoundError as _e:  # command not written yet
        if _e.name != f"avsmodel.cli.{_mod}":
            raise
        continue
    app.command(_name, help=markdown_help(_m.__doc__))(_m.main)


def main() -> None:
    """Console-script entry point: run the app, turning user errors into one line."""
    try:
        app()  # standalone: Typer handles --help, usage errors and exit codes
    except (AvsmodelError, AvsynthError) as e:
        if os.environ.get("AVSMODEL_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
