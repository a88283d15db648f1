"""Checkpoints of training runs: trainable weights plus the provenance needed to rebuild.

A checkpoint is a ``torch.save`` dict (loadable with ``weights_only=True``)::

    format: "avsmodel-checkpoint", version: 1
    model: model name, model_overrides: build_model architecture overrides,
    model_config: the architecture (ModelConfig dict), run_options: RunOptions dict
    train_config: TrainConfig dict, data: {kind, manifest/root, sha256, ...}
    sam_checkpoint / vggish_checkpoint: paths used for the frozen parts (or None)
    epoch: completed epochs, best_miou, metrics: last epoch's metrics
    state_dict: model.trainable_state_dict()
    frozen_state (optional): frozen tensors that replace the rebuilt ones (an imported
        checkpoint's own positional encoding, say; see ``avsmodel.convert``)
    resume (last.pt only): optimizer, scheduler states

Checkpoints of older versions mixed run options (``attention``, ``autocast``, ...) into
``model_overrides``/``model_config`` and stored an unused ``resume.rng``; they still load.

Frozen weights (SAM image encoder, VGGish) are not stored: they come from the official
checkpoints again (or, for random-init runs, from the same seeded initialisation).
Writes are atomic (temporary file, then ``os.replace``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from avsmodel.checkpoint_fields import check_fields
from avsmodel.checks import write_failure
from avsmodel.errors import CheckpointError
from avsynth.files import atomic_path

FORMAT = "avsmodel-checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike[str], ckpt: dict[str, Any]) -> None:
    """Write ``ckpt`` (adding format/version) atomically to ``path``.

    Raises:
        CheckpointError: the write failed (a full disk, no permission...); the file that was
            at ``path`` is unchanged and no temporary file is left.
    """
    try:
        with atomic_path(path) as tmp:
            torch.save({"format": FORMAT, "version": VERSION, **ckpt}, tmp)
    except (OSError, RuntimeError) as e:  # torch's zip writer reports write errors as Runtime
        raise CheckpointError(
            f"{path}: cannot save the checkpoint ({write_failure(e)}); the previous one is "
            "unchanged"
        ) from None


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and validate an avsmodel checkpoint (``weights_only=True``, on CPU).

    Raises:
        CheckpointError: missing, corrupt, foreign (e.g. a raw SAM file) or of a newer version.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - corrupt zip, pickle, truncated file, ...
        raise CheckpointError(
            f"{p}: not a loadable checkpoint ({type(e).__name__}); the file is corrupt or "
            "not written by torch.save"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"{p}: not an avsmodel checkpoint (no format={FORMAT!r}); pass official SAM/VGGish "
            "weights as --sam-checkpoint/--vggish-checkpoint instead"
        )
    if ckpt.get("version") != VERSION:
        raise CheckpointError(
            f"{p}: checkpoint version {ckpt.get('version')!r}, this avsmodel reads {VERSION}"
        )
    for key in ("model", "state_dict", "train_config"):
        if key not in ckpt:
            raise CheckpointError(f"{p}: checkpoint lacks {key!r}")
    check_fields(ckpt, str(p))
    return ckpt


def _pick_weights(given: str | None, recorded: str | None, what: str, p: str) -> str | None:
    if given is not None:
        return str(given)
    if recorded is None:
        return None
    if Path(recorded).is_file():
        return recorded
    flag = "--sam-checkpoint" if what == "SAM" else "--vggish-checkpoint"
    raise CheckpointError(
        f"{p}: trained with {what} weights {recorded}, which is not there now; pass {flag} PATH"
    )


def build_from_checkpoint(
    ckpt: dict[str, Any] | str | os.PathLike[str],
    *,
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the trained model of a checkpoint (on CPU, in eval mode).

    The frozen parts come from ``sam_checkpoint``/``vggish_checkpoint`` or the paths recorded
    at training time; random-init frozen parts are re-created with the run's seed.

    Returns:
        ``(model, checkpoint dict)``.

    Raises:
        CheckpointError: unreadable checkpoint, missing frozen weights, or key mismatch.
        ConfigError: the model name is unknown to this avsmodel.
    """
    from avsmodel import build_model

    where = str(ckpt) if not isinstance(ckpt, dict) else "checkpoint"
    if not isinstance(ckpt, dict):
        ckpt = load_checkpoint(ckpt)
    sam = _pick_weights(
        None if sam_checkpoint is None else str(sam_checkpoint),
        ckpt.get("sam_checkpoint"),
        "SAM",
        where,
    )
    vgg = _pick_weights(
        None if vggish_checkpoint is None else str(vggish_checkpoint),
        ckpt.get("vggish_checkpoint"),
        "VGGish",
        where,
    )
    from avsmodel.modeling.config import split_options

    seed = int(ckpt["train_config"].get("seed", 0))
    torch.manual_seed(seed)
    arch, run = split_options(dict(ckpt.get("model_overrides") or {}))  # older: both mixed
    run.update(ckpt.get("run_options") or {})
    model = build_model(ckpt["model"], sam_checkpoint=sam, vggish_checkpoint=vgg, **arch, **run)
    try:
        model.load_trainable_state_dict(ckpt["state_dict"])
    except CheckpointError as e:
        raise CheckpointError(f"{where}: {e}") from None
    except RuntimeError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{where}: weights do not fit {ckpt['model']} ({msg})") from None
    load_frozen_state(model, ckpt.get("frozen_state") or {}, where=where)
    model.eval()
    return model, ckpt


def load_frozen_state(model: torch.nn.Module, frozen: dict[str, Any], *, where: str) -> None:
    """Copy a checkpoint's ``frozen_state`` tensors over the model's (names, shapes checked).

    Raises:
        CheckpointError: a name that is not a tensor of the model, or another shape.
    """
    own = model.state_dict()
    for k, t in frozen.items():
        if k not in own or not isinstance(t, torch.Tensor):
            raise CheckpointError(f"{where}: frozen_state key {k!r} is not a tensor of the model")
        if tuple(t.shape) != tuple(own[k].shape):
            raise CheckpointError(
                f"{where}: frozen_state key {k!r} has shape {tuple(t.shape)}, the model expects "
                f"{tuple(own[k].shape)}"
            )
    with torch.no_grad():
        for k, t in frozen.items():
            own[k].copy_(t)
