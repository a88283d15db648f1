"""Pretrained folders: share a trained model as the Hugging Face ecosystem does.

:func:`export_pretrained` turns a run checkpoint into a folder of ``model.safetensors``,
``config.json`` and a model card ``README.md`` (the layout is described in
:mod:`avsmodel.pretrained.folder_format`); :func:`from_pretrained` builds the model back.
Every command and function that takes a checkpoint also takes such a folder
(:func:`avsmodel.pretrained.build.build_from_checkpoint` reads both), with the same results.

Two forms:

* full (default): every tensor; loads without the official weight files.
* ``adapters_only=True``: only what the official SAM / VGGish files cannot give back, plus
  the names and SHA-256 of those files; loading needs them (by path, or by the cache names
  of ``avsmodel download``). For SAMA-AVS ViT-H that is ~27 MB instead of ~2.9 GB.

The bytes are a function of the checkpoint alone (no time stamps, no absolute paths, sorted
JSON), so exporting the same checkpoint twice gives identical folders. The folder is ready
for the Hub's upload tools as it is; nothing here uploads.

Example:
    >>> import avsmodel
    >>> avsmodel.export_pretrained("runs/s4/best.pt", "s4_model")          # doctest: +SKIP
    >>> model = avsmodel.from_pretrained("s4_model")                        # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from avsmodel.checkpoint import Checkpoint
from avsmodel.errors import CheckpointError
from avsmodel.pretrained.folder_format import (
    CARD,
    CONFIG,
    FORMAT,
    VERSION,
    WEIGHTS,
    geometry_of,
    read_any,
    require_safetensors,
)
from avsmodel.pretrained.model_card import model_card

__all__ = ["export_pretrained", "from_pretrained", "official_entry", "pretrained_tensors"]


def official_entry(path: str | None, kind: str) -> dict[str, Any] | None:
    """``{"name", "file", "sha256"}`` of an official weight file a run used (None: none).

    The name is the download asset whose SHA-256 (or, when the file is gone, file name)
    matches; None for a file that is not one of the official ones.
    """
    from avsmodel.pretrained.download import ASSETS
    from avsynth.storage.atomic import file_sha256

    if path is None:
        return None
    p = Path(path)
    sha = file_sha256(p) if p.is_file() else None
    for asset in ASSETS.values():
        same = asset.sha256 == sha or (sha is None and asset.filename == p.name)
        if asset.kind == kind and same:
            return {"name": asset.name, "file": asset.filename, "sha256": asset.sha256}
    return {"name": None, "file": p.name, "sha256": sha}


def pretrained_tensors(model: Any, ckpt: Checkpoint, *, adapters_only: bool) -> dict[str, Any]:
    """The tensors a folder stores: all of ``model.state_dict()``, or without those that the
    official files the run used give back (trained and carried frozen tensors always stay).
    """
    from avsmodel.pretrained.weights import SAM_PARTS

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if not adapters_only:
        return state
    keep = set(ckpt.state_dict) | set(ckpt.frozen_state or {})
    official: tuple[str, ...] = ()
    if ckpt.sam_checkpoint is not None:
        official += SAM_PARTS
    if ckpt.vggish_checkpoint is not None:
        official += ("audio_encoder",)
    return {k: v for k, v in state.items() if k in keep or k.split(".", 1)[0] not in official}


def _config(
    ckpt: Checkpoint, model: Any, *, adapters_only: bool, used: dict[str, str | None]
) -> dict[str, Any]:
    data = {k: v for k, v in ckpt.data.items() if k in ("kind", "sha256", "subset")}
    for k in ("manifest", "root"):
        if k in ckpt.data:
            data[k] = Path(str(ckpt.data[k])).name  # no absolute paths in a shared folder
    official = {}
    if adapters_only:
        official = {
            "sam": official_entry(used["sam"], "sam"),
            "vggish": official_entry(used["vggish"], "vggish"),
        }
    return {
        "format": FORMAT,
        "version": VERSION,
        "weights": "adapters-only" if adapters_only else "full",
        "model": ckpt.model,
        "model_config": model.config.to_dict(),
        "model_overrides": dict(ckpt.model_overrides),
        "run_options": dict(ckpt.run_options),
        "train_config": dict(ckpt.train_config),
        "geometry": geometry_of(model.config.to_dict(), ckpt.train_config),
        "trainable": sorted(ckpt.state_dict),
        "official_weights": official,
        "data": data,
        "epoch": ckpt.epoch,
        "best_miou": ckpt.best_miou,
        "best_epoch": ckpt.best_epoch,
        "world_size": ckpt.world_size,
        "metrics": dict(ckpt.metrics),
    }


def _used(given: Any, recorded: str | None, kind: str) -> str | None:
    from avsmodel.pretrained.download import resolve_weights

    path = resolve_weights(given, kind)
    return recorded if path is None else str(path)


def export_pretrained(
    ckpt: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    adapters_only: bool = False,
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the pretrained folder of a run checkpoint (or re-export a folder).

    Args:
        ckpt: A run's ``best.pt``/``last.pt`` (or a pretrained folder).
        out: The folder to write; must be new or empty. Written beside it first and renamed
            into place when complete.
        adapters_only: Store only what the official weight files cannot give back.
        sam_checkpoint: SAM weights to rebuild the model with (default: the run's).
        vggish_checkpoint: VGGish weights (default: the run's).

    Returns:
        ``out``.

    Raises:
        CheckpointError: unusable checkpoint, or official weights that are not there.
        OutputError: ``out`` is a file or a non-empty folder, or cannot be written.
    """
    require_safetensors()
    from safetensors.torch import save_file

    from avsmodel.pretrained.build import build_from_checkpoint
    from avsynth.errors import OutputError

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{out}: exists and is not an empty folder; pick a new --out")
    meta = read_any(ckpt, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint)
    model, meta = build_from_checkpoint(
        meta, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint
    )
    used = {  # the files the model was just built with
        "sam": _used(sam_checkpoint, meta.sam_checkpoint, "sam"),
        "vggish": _used(vggish_checkpoint, meta.vggish_checkpoint, "vggish"),
    }
    meta = meta.replace(sam_checkpoint=used["sam"], vggish_checkpoint=used["vggish"])
    tensors = pretrained_tensors(model, meta, adapters_only=adapters_only)
    config = _config(meta, model, adapters_only=adapters_only, used=used)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": "pt"})
        text = json.dumps(config, indent=2, sort_keys=True, allow_nan=False) + "\n"
        (tmp / CONFIG).write_text(text, encoding="utf-8")
        (tmp / CARD).write_text(model_card(config, tensors), encoding="utf-8")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except OSError as e:
        raise OutputError(f"{out}: cannot write the folder ({e.strerror or e})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def from_pretrained(
    folder: str | os.PathLike[str],
    *,
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
    device: str | None = None,
) -> Any:
    """Build the model of a pretrained folder (either form), in eval mode.

    Args:
        folder: A folder written by :func:`export_pretrained`.
        sam_checkpoint: Adapters-only folders: the SAM file (path or name such as ``vit_h``;
            default: the recorded name through the cache). Ignored information for full ones.
        vggish_checkpoint: Same for VGGish.
        device: Where to put the model (default CPU).

    Returns:
        The :class:`avsmodel.modeling.base.AvsModel`.

    Raises:
        CheckpointError: not a pretrained folder, an edited ``config.json`` (one line naming
            the key), tensors that do not fit, or official weights that are missing/wrong.
    """
    from avsmodel.pretrained.build import build_from_checkpoint

    if not Path(folder).is_dir():
        raise CheckpointError(f"{folder}: not a folder; from_pretrained reads export-pretrained")
    model, _ = build_from_checkpoint(
        folder, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint
    )
    return model if device is None else model.to(device)
