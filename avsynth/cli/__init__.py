"""The ``avsynth`` command line: thin Typer wrappers over the library.

Each command lives in its own module and calls one public function; heavy imports happen
inside the commands so ``avsynth --help`` is instant. User errors (:class:`AvsynthError`)
print one line and exit with status 1 (usage errors: 2, Ctrl-C: 130); set ``AVSYNTH_DEBUG=1``
for the traceback.
"""

from __future__ import annotations

from avsynth.cli.framework import make_app, run
from avsynth.errors import AvsynthError

app = make_app(
    "avsynth",
    "Build, check and inspect synthetic audio-visual segmentation datasets.",
    "avsynth.cli",
    [
        ("check-map", "check_map"),
        ("suggest-map", "suggest_map"),
        ("build", "build"),
        ("inspect", "inspect_cmd"),
        ("stats", "stats"),
        ("verify", "verify"),
        ("export", "export"),
        ("export-avsbench", "export_avsbench"),
        ("import-release", "import_release"),
    ],
)


def main(args: list[str] | None = None) -> None:
    """Console-script entry point (``args``: instead of the command line's)."""
    run(app, errors=(AvsynthError,), debug_env="AVSYNTH_DEBUG", args=args)
