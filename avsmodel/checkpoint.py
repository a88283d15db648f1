"""Checkpoints of training runs: trainable weights plus the provenance needed to rebuild.

:class:`Checkpoint` is what ``torch.save`` writes, typed; on disk it is a plain dict (loadable
with ``weights_only=True``), in this key order::

    format: "avsmodel-checkpoint", version: 1
    model: model name, model_overrides: build_model architecture overrides,
    run_options: RunOptions dict, model_config: the architecture (ModelConfig dict),
    train_config: TrainConfig dict, data: {kind, manifest/root, sha256, ...}
    sam_checkpoint / vggish_checkpoint: paths used for the frozen parts (or None)
    init: the checkpoint a run started from (or None)
    world_size (runs only): processes that trained it
    frozen_state (optional): frozen tensors that replace the rebuilt ones (an imported
        checkpoint's own positional encoding, say; see
        ``avsmodel.pretrained.authors_checkpoint``)
    epoch: completed epochs, best_miou, best_epoch (runs only), metrics: last epoch's metrics
    state_dict: model.trainable_state_dict()
    resume (last.pt only): optimizer, scheduler states

Checkpoints of older versions mixed run options (``attention``, ``autocast``, ...) into
``model_overrides``/``model_config`` and stored an unused ``resume.rng``; they still load.

Frozen weights (SAM image encoder, VGGish) are not stored: they come from the official
checkpoints again (or, for random-init runs, from the same seeded initialisation).
Writes are atomic (temporary file, then ``os.replace``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from avsmodel.checkpoint_fields import check_fields
from avsmodel.checks import write_failure
from avsmodel.errors import CheckpointError
from avsynth.storage.atomic import atomic_path

FORMAT = "avsmodel-checkpoint"
VERSION = 1


#: Keys written only when set (None: absent from the file).
_OPTIONAL = frozenset({"world_size", "frozen_state", "best_epoch", "resume"})


@dataclass(frozen=True)
class ResumeState:
    """What ``last.pt`` adds so that a run can continue: optimiser and schedule states.

    Every RNG is re-seeded from ``(seed, epoch)`` at each epoch start, so no RNG state is
    kept (an older ``rng`` entry is dropped on reading).
    """

    optimizer: dict[str, Any]
    scheduler: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The on-disk ``resume`` entry."""
        return {"optimizer": self.optimizer, "scheduler": self.scheduler}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResumeState:
        """From the on-disk ``resume`` entry."""
        return cls(optimizer=d["optimizer"], scheduler=d["scheduler"])


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """An avsmodel checkpoint; fields in the order of the keys on disk (see the module)."""

    model: str
    model_overrides: dict[str, Any] = field(default_factory=dict)
    run_options: dict[str, Any] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)
    train_config: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    sam_checkpoint: str | None = None
    vggish_checkpoint: str | None = None
    init: str | None = None
    world_size: int | None = None
    frozen_state: dict[str, torch.Tensor] | None = None
    epoch: int | None = None
    best_miou: float | None = None
    best_epoch: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)
    resume: ResumeState | None = None

    def to_dict(self) -> dict[str, Any]:
        """The dict ``torch.save`` writes (without format/version); unset optional keys are
        left out."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.name in _OPTIONAL:
                continue
            out[f.name] = value.to_dict() if isinstance(value, ResumeState) else value
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Checkpoint:
        """From a loaded dict (format/version and unknown keys of older versions ignored)."""
        kw = {f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d}
        if kw.get("resume") is not None:
            kw["resume"] = ResumeState.from_dict(kw["resume"])
        for key in ("model_overrides", "run_options", "model_config", "data", "metrics"):
            if kw.get(key) is None:
                kw.pop(key, None)
        return cls(**kw)

    def replace(self, **changes: Any) -> Checkpoint:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


def save_checkpoint(path: str | os.PathLike[str], ckpt: Checkpoint | dict[str, Any]) -> None:
    """Write ``ckpt`` (adding format/version) atomically to ``path``.

    A plain dict is written as given (tests write older layouts that way). Saved through a
    file object: given a path, ``torch.save`` names the archive inside after the file, so the
    (unique, random) temporary name would make the bytes differ run to run.

    Raises:
        CheckpointError: the write failed (a full disk, no permission...); the file that was
            at ``path`` is unchanged and no temporary file is left.
    """
    body = ckpt.to_dict() if isinstance(ckpt, Checkpoint) else ckpt
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            torch.save({"format": FORMAT, "version": VERSION, **body}, f)
    except (OSError, RuntimeError) as e:  # torch's zip writer reports write errors as Runtime
        raise CheckpointError(
            f"{path}: cannot save the checkpoint ({write_failure(e)}); the previous one is "
            "unchanged"
        ) from None


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and validate an avsmodel checkpoint (``weights_only=True``, on CPU), as the dict
    on disk (:func:`read_checkpoint` gives it typed).

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


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """:func:`load_checkpoint`, typed.

    Raises:
        CheckpointError: as :func:`load_checkpoint`.
    """
    return Checkpoint.from_dict(load_checkpoint(path))


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
