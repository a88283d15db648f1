"""The ``avsmodel`` command line: thin Typer wrappers over the library.

Heavy imports (torch, segment-anything) happen inside commands so ``--help`` is instant.
User errors (:class:`AvsmodelError`, and avsynth's errors when reading manifests) print one
line and exit with status 1 (usage errors: 2, Ctrl-C: 130); set ``AVSMODEL_DEBUG=1`` for the
traceback.
"""

from __future__ import annotations

from avsmodel.errors import AvsmodelError
from avsynth.cli.framework import make_app, run
from avsynth.errors import AvsynthError

app = make_app(
    "avsmodel",
    "Train, evaluate and run SAMA-AVS, AP-SAM and the SAM oracle.",
    "avsmodel.cli",
    [
        ("params", "params"),
        ("train", "train"),
        ("eval", "eval_cmd"),
        ("predict", "predict"),
        ("download", "download"),
        ("import-checkpoint", "import_checkpoint"),
        ("demo", "demo"),
        ("export-pretrained", "export_pretrained"),
    ],
)


def main(args: list[str] | None = None) -> None:
    """Console-script entry point (``args``: instead of the command line's)."""
    run(app, errors=(AvsmodelError, AvsynthError), debug_env="AVSMODEL_DEBUG", args=args)
