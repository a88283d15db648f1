"""The run folder of ``train``: what counts as an existing run, ``--overwrite``, ``--resume``.

A run folder holds :data:`RUN_FILES`. Training into a folder that already holds a run needs
``resume=True`` (continue it) or ``overwrite=True`` (replace those files and start over), so
that a typo in ``--out`` cannot silently replace a finished run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avsmodel.checkpoint import Checkpoint, read_checkpoint
from avsmodel.errors import CheckpointError, ConfigError

#: Files ``train`` writes into a run folder (``--overwrite`` replaces exactly these).
RUN_FILES = ("last.pt", "best.pt", "metrics.jsonl", "curves.png", "config.yaml")
#: Files whose presence means the folder holds a run (at least one finished epoch).
_RUN_MARKERS = ("last.pt", "best.pt")


def existing_run(out: Path) -> str | None:
    """Name of the first run file in ``out`` (None for a new or foreign folder)."""
    for name in _RUN_MARKERS:
        if (out / name).is_file():
            return name
    return None


def check_out(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Refuse an existing run unless ``resume`` or ``overwrite`` says what to do with it.

    Raises:
        ConfigError: both flags, or ``out`` holds a run and neither flag.
    """
    if resume and overwrite:
        raise ConfigError("use --resume (continue the run) or --overwrite (start over), not both")
    found = existing_run(out)
    if found and not (resume or overwrite):
        raise ConfigError(
            f"{out}: already holds a training run ({found}); use --resume to continue it or "
            "--overwrite to start over"
        )


def resume_state(out: Path, model_name: str, cfg_overrides: dict[str, Any]) -> Checkpoint | None:
    """The ``last.pt`` of a run to resume (None if there is none), checked against the call.

    Raises:
        CheckpointError: ``last.pt`` has no optimiser state.
        ConfigError: another model, or a recipe flag that differs from the run's.
    """
    last = out / "last.pt"
    if not last.is_file():
        return None
    ck = read_checkpoint(last)
    if ck.resume is None:
        raise CheckpointError(f"{last}: holds no optimiser state; cannot resume from it")
    if ck.model != model_name:
        raise ConfigError(f"{last}: run trained {ck.model}, not {model_name}; use another --out")
    for k, v in cfg_overrides.items():
        if v is not None and k != "workers" and ck.train_config.get(k) != v:
            raise ConfigError(
                f"--resume keeps the run's config; {k}={v!r} differs from the run's "
                f"{ck.train_config.get(k)!r} (drop the flag or use a new --out)"
            )
    return ck
