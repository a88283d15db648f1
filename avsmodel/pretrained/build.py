"""One place that turns a name (or a run checkpoint) into a ready model.

As segment-anything's ``build_sam.py``: :func:`build_model` takes a registered name
(:mod:`avsmodel.pretrained.registry`), builds the parts (:mod:`avsmodel.modeling`) and loads
the official SAM / VGGish weights (:mod:`avsmodel.pretrained.weights`, names resolved through
the cache of :mod:`avsmodel.pretrained.download`); :func:`build_from_checkpoint` rebuilds the
trained model of an avsmodel checkpoint (a run's, or one converted from the authors'
checkpoints by :mod:`avsmodel.pretrained.authors_checkpoint`).

Example:
    >>> import avsmodel
    >>> model = avsmodel.build_model("sama_avs_tiny")
    >>> model = avsmodel.build_model(
    ...     "sama_avs_vit_b", sam_checkpoint="sam_vit_b_01ec64.pth",
    ...     vggish_checkpoint="vggish-10086976.pth", grad_checkpointing=True)
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from avsmodel.checkpoint import Checkpoint, load_frozen_state, read_checkpoint
from avsmodel.errors import CheckpointError, ConfigError
from avsmodel.modeling.config import ModelConfig, split_options
from avsmodel.pretrained.registry import get_config, get_run_options

if TYPE_CHECKING:
    from avsmodel.modeling.base import AvsModel

__all__ = ["ParameterCounts", "build_from_checkpoint", "build_model", "parameter_counts"]


def build_model(
    name: str | ModelConfig,
    *,
    sam_checkpoint: str | PathLike[str] | None = None,
    vggish_checkpoint: str | PathLike[str] | None = None,
    device: str | None = None,
    **overrides: Any,
) -> AvsModel:
    """Build a registered model, optionally loading official SAM / VGGish weights.

    Args:
        name: registry name (see :func:`list_models`) or a :class:`ModelConfig`.
        sam_checkpoint: official ``sam_vit_{b,l,h}_*.pth`` (segment-anything layout); every
            tensor is loaded (incl. ``no_mask_embed`` and the positional encoding). A name
            (``vit_h``, ``sam_vit_h``, ...) resolves through the cache
            (``avsmodel.pretrained.download``).
        vggish_checkpoint: ``vggish-10086976.pth`` (torchvggish layout), or ``"vggish"``.
        device: Where to put the model: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when
            available; :func:`avsmodel.device.resolve_device`). Default (None): the current
            default device (the CPU unless ``torch.set_default_device`` says otherwise).
            Weights are read on the CPU and moved.
        **overrides: architecture fields to change (e.g. ``audio_examples=5``) and run
            options (e.g. ``attention="sdpa"``, ``grad_checkpointing=True``,
            ``autocast="bf16"``); see :class:`ModelConfig` and :class:`RunOptions`.

    Returns:
        The model (an ``nn.Module``) with frozen parts frozen, in train mode.

    Raises:
        ConfigError: unknown name/option, or a checkpoint given to a part that has no
            official weights.
        CheckpointError: unreadable checkpoint, or missing/unexpected keys or shapes.
    """
    from avsmodel.modeling import build_from_config
    from avsmodel.pretrained.download import resolve_weights

    sam_checkpoint = resolve_weights(sam_checkpoint, "sam")
    vggish_checkpoint = resolve_weights(vggish_checkpoint, "vggish")
    arch, run_kw = split_options(overrides)
    cfg = get_config(name, **arch)
    run = get_run_options(**run_kw)
    if vggish_checkpoint is not None and cfg.family == "sam_oracle":
        raise ConfigError(f"{cfg.name} has no audio encoder; drop vggish_checkpoint")
    if vggish_checkpoint is not None and cfg.audio_encoder != "vggish":
        raise ConfigError(
            f"{cfg.name} has a {cfg.audio_encoder!r} audio encoder, not VGGish; drop "
            "vggish_checkpoint or pass audio_encoder='vggish'"
        )
    if sam_checkpoint is None:
        return _placed(build_from_config(cfg, run), device)
    # Parts that come from checkpoints are allocated without random init (meta device, then
    # uninitialised CPU memory) and filled by the loaders; the other parts are initialised.
    from avsmodel.pretrained.weights import SAM_PARTS, load_sam_weights, load_vggish_weights

    with torch.device("meta"):
        model = build_from_config(cfg, run)
    model.to_empty(device="cpu")
    loaded = set(SAM_PARTS) | ({"audio_encoder"} if vggish_checkpoint is not None else set())
    for child_name, child in model.named_children():
        if child_name not in loaded:
            for m in child.modules():
                if hasattr(m, "reset_parameters"):
                    m.reset_parameters()
    load_sam_weights(model, sam_checkpoint)
    if vggish_checkpoint is not None:
        load_vggish_weights(model.audio_encoder, vggish_checkpoint)
    return _placed(model, device)


def _placed(model: AvsModel, device: str | None) -> AvsModel:
    """``model`` moved to ``device`` (resolved; None: left where it is)."""
    if device is None:
        return model
    from avsmodel.device import resolve_device

    return model.to(resolve_device(device))


@dataclass(frozen=True)
class ParameterCounts:
    """Parameter counts of a model (buffers excluded)."""

    name: str
    total: int
    trainable: int
    adapter: int
    audio_encoder: int

    @property
    def adapter_share(self) -> float:
        """Adapter parameters / all other parameters (audio encoder included), in percent."""
        rest = self.total - self.adapter
        return 100.0 * self.adapter / rest if rest else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict incl. ``adapter_share_percent``."""
        d = dataclasses.asdict(self)
        d["adapter_share_percent"] = self.adapter_share
        return d


def parameter_counts(name: str | ModelConfig, **overrides: Any) -> ParameterCounts:
    """Count parameters of a registered model without allocating them (meta device).

    ``adapter`` counts the audio-specific layers added to SAM: SAMA-AVS's ``adapters``,
    AP-SAM's ``audio_prompt`` (0 for the oracle).
    """
    with torch.device("meta"):
        model = build_model(name, **overrides)
    total = trainable = adapter = audio = 0
    for n, p in model.named_parameters():
        k = p.numel()
        total += k
        trainable += k if p.requires_grad else 0
        adapter += k if n.split(".", 1)[0] in ("adapters", "audio_prompt") else 0
        audio += k if n.startswith("audio_encoder.") else 0
    return ParameterCounts(model.name, total, trainable, adapter, audio)


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
    ckpt: Checkpoint | str | os.PathLike[str],
    *,
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
    device: str | None = "cpu",
) -> tuple[torch.nn.Module, Checkpoint]:
    """Rebuild the trained model of a checkpoint or pretrained folder (in eval mode) on
    ``device``.

    ``ckpt`` may be a pretrained folder (``avsmodel export-pretrained``): it is read with
    :func:`avsmodel.pretrained.folder_format.read_pretrained` and built the same way. A
    checkpoint file is read with ``map_location="cpu"`` and ``weights_only=True``: one saved
    on any device (a GPU run's) loads on any other; the model is then moved to ``device``
    (``cpu`` by default; ``auto``, ``cuda``, ``cuda:N``: see
    :func:`avsmodel.device.resolve_device`).

    The frozen parts come from ``sam_checkpoint``/``vggish_checkpoint`` or the paths recorded
    at training time; random-init frozen parts are re-created with the run's seed.

    Returns:
        ``(model, checkpoint)``.

    Raises:
        CheckpointError: unreadable checkpoint, missing frozen weights, or key mismatch.
        ConfigError: the model name is unknown to this avsmodel.
    """
    where = str(ckpt) if not isinstance(ckpt, Checkpoint) else "checkpoint"
    if not isinstance(ckpt, Checkpoint) and Path(ckpt).is_dir():
        from avsmodel.pretrained.folder_format import read_pretrained

        ckpt = read_pretrained(
            ckpt, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint
        )
    elif not isinstance(ckpt, Checkpoint):
        ckpt = read_checkpoint(ckpt)
    sam = _pick_weights(
        None if sam_checkpoint is None else str(sam_checkpoint),
        ckpt.sam_checkpoint,
        "SAM",
        where,
    )
    vgg = _pick_weights(
        None if vggish_checkpoint is None else str(vggish_checkpoint),
        ckpt.vggish_checkpoint,
        "VGGish",
        where,
    )
    seed = int(ckpt.train_config.get("seed", 0))
    torch.manual_seed(seed)
    arch, run = split_options(dict(ckpt.model_overrides))  # older: both mixed
    run.update(ckpt.run_options)
    model = build_model(ckpt.model, sam_checkpoint=sam, vggish_checkpoint=vgg, **arch, **run)
    try:
        model.load_trainable_state_dict(ckpt.state_dict)
    except CheckpointError as e:
        raise CheckpointError(f"{where}: {e}") from None
    except RuntimeError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{where}: weights do not fit {ckpt.model} ({msg})") from None
    load_frozen_state(model, ckpt.frozen_state or {}, where=where)
    model.eval()
    return _placed(model, device), ckpt
