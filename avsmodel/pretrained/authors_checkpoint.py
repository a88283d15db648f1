"""Import a checkpoint of the authors' code (jinxiang-liu/anno-free-AVS) as an avsmodel one.

Their ``models/sam.py`` saves ``SAM.state_dict()``::

    image_encoder.*                                         SAM's ViT, plus the adapters:
    image_encoder.prompt_generator.lightweight_mlp_{i}.0.*  -> adapters.blocks.{i}.0.*
    image_encoder.prompt_generator.shared_mlp.*             -> adapters.shared.*
    mask_decoder.*                                          -> mask_decoder.*
    pe_layer.positional_encoding_gaussian_matrix            -> prompt_encoder.pe_layer.(same)
    no_mask_embed.weight                                    -> prompt_encoder.no_mask_embed.weight
    audio_encoder.audio_backbone.*                          -> audio_encoder.* (VGGish)

possibly under ``module.`` or inside ``{"model": ...}`` / ``{"state_dict": ...}``. Every key
must map to a tensor of the model with the same shape, and every tensor the model's forward
uses must come from the file (SAM's point/mask prompt embeddings, which their model does not
have and SAMA-AVS does not use, come from ``sam_checkpoint`` or the seeded initialisation).
Their ``pe_layer`` and ``no_mask_embed`` are their own (their training never loaded SAM's), so
they are imported.

Its ``train_config`` records the authors' recipe choices (``paper.yaml``: images squashed to
SxS, scored at SxS), so ``avsmodel eval``/``predict`` treat the model as it was trained.

The output is an ordinary avsmodel checkpoint (``avsmodel.checkpoint``): the trainable
tensors in ``state_dict``, and the frozen tensors that differ from what ``sam_checkpoint`` /
``vggish_checkpoint`` (or, without them, the seeded random init) give in ``frozen_state``. With
the official SAM and VGGish files given, that is only their positional encoding; without them
the whole frozen encoder is stored (a large but self-contained file).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from avsmodel.errors import CheckpointError, ConfigError

_ADAPTER_BLOCK = re.compile(r"^image_encoder\.prompt_generator\.lightweight_mlp_(\d+)\.0\.(.+)$")
_RENAMES = (
    ("image_encoder.prompt_generator.shared_mlp.", "adapters.shared."),
    ("pe_layer.", "prompt_encoder.pe_layer."),
    ("no_mask_embed.", "prompt_encoder.no_mask_embed."),
    ("audio_encoder.audio_backbone.", "audio_encoder."),
    ("image_encoder.", "image_encoder."),
    ("mask_decoder.", "mask_decoder."),
)
#: Our keys their model has no counterpart of (SAM's point/mask prompts; unused by SAMA-AVS).
_NOT_THEIRS = (
    "prompt_encoder.point_embeddings.",
    "prompt_encoder.not_a_point_embed.",
    "prompt_encoder.mask_downscaling.",
)


def their_key_to_ours(key: str) -> str | None:
    """Our name for a key of their checkpoint (``None``: no place in SAMA-AVS)."""
    m = _ADAPTER_BLOCK.match(key)
    if m:
        return f"adapters.blocks.{m[1]}.0.{m[2]}"
    for theirs, ours in _RENAMES:
        if key.startswith(theirs):
            if ours == "image_encoder." and key.startswith(theirs + "prompt_generator."):
                return None  # a prompt-generator part SAMA-AVS does not have
            return ours + key[len(theirs) :]
    return None


def our_key_to_theirs(key: str) -> str:
    """Their name for one of our keys (inverse of :func:`their_key_to_ours`)."""
    m = re.match(r"^adapters\.blocks\.(\d+)\.0\.(.+)$", key)
    if m:
        return f"image_encoder.prompt_generator.lightweight_mlp_{m[1]}.0.{m[2]}"
    for theirs, ours in _RENAMES:
        if key.startswith(ours):
            return theirs + key[len(ours) :]
    return key


def read_their_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Their flat ``{key: tensor}``, unwrapped from ``{"model"|"state_dict": ...}`` and
    ``module.``, read with ``weights_only=True``.

    Raises:
        CheckpointError: missing/unreadable file, or not a state dict of tensors.
    """
    import torch

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - corrupt zip, foreign pickle, truncated file, ...
        msg = str(e).strip().splitlines()[0][:120] if str(e).strip() else ""
        raise CheckpointError(
            f"{p}: not loadable with weights_only=True ({type(e).__name__}: {msg})"
        ) from None
    for wrapper in ("model", "state_dict"):
        if isinstance(sd, dict) and isinstance(sd.get(wrapper), dict):
            sd = sd[wrapper]
    if not isinstance(sd, dict) or not sd:
        raise CheckpointError(f"{p}: holds {type(sd).__name__}, not a state dict of tensors")
    out = {}
    for k, v in sd.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise CheckpointError(f"{p}: entry {k!r} is a {type(v).__name__}, not a tensor")
        out[k.removeprefix("module.")] = v
    return out


def import_checkpoint(
    theirs: str | os.PathLike[str],
    *,
    model: str = "sama_avs_vit_h",
    out: str | os.PathLike[str],
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> Path:
    """Convert a checkpoint of the authors' code into an avsmodel checkpoint.

    Args:
        theirs: Their ``.pth`` (``SAM.state_dict()`` of ``models/sam.py``).
        model: A ``sama_avs_*`` model whose dimensions match theirs (the paper: vit_h).
        out: The avsmodel checkpoint to write (atomically); ``avsmodel eval``/``predict``
            take it.
        sam_checkpoint: Official SAM weights (path or name, e.g. ``vit_h``): the frozen
            encoder is then stored by reference where it equals them.
        vggish_checkpoint: VGGish weights (path or ``vggish``), likewise.
        **overrides: Model options (architecture fields such as ``audio_examples=1``, run
            options such as ``attention="sdpa"``); recorded apart, as training does.

    Returns:
        ``out``.

    Raises:
        CheckpointError: unreadable file, a key with no place in the model, a missing key,
            or a shape mismatch (each names the key as written in their file).
        ConfigError: not a SAMA-AVS model, or an unknown option.
        avsynth.errors.OutputError: ``out`` is a folder, not ``.pt``/``.pth``, or unwritable.
    """
    import torch

    from avsmodel.checkpoint import Checkpoint, save_checkpoint
    from avsmodel.pretrained.build import build_model
    from avsmodel.pretrained.download import resolve_weights
    from avsmodel.pretrained.registry import get_config
    from avsmodel.recipe import authors_choices, load_config
    from avsynth.storage.atomic import file_sha256
    from avsynth.storage.out_paths import check_out_file

    check_out_file(out, option="--output", suffixes={".pt", ".pth"})  # before any work
    from avsmodel.modeling.config import split_options

    arch, _ = split_options(overrides)  # run options (attention, ...) are not architecture
    cfg = get_config(model, **arch)
    if cfg.family != "sama_avs":
        raise ConfigError(f"{model}: the authors' checkpoints are SAMA-AVS; use a sama_avs_* model")
    src = Path(theirs)
    sd = read_their_checkpoint(src)
    mapped: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for k in sorted(sd):
        ours = their_key_to_ours(k)
        if ours is None:
            raise CheckpointError(f"{src}: key {k!r} has no place in {model} (not SAMA-AVS?)")
        mapped[ours], origin[ours] = sd[k], k
    sam = resolve_weights(sam_checkpoint, "sam")
    vgg = resolve_weights(vggish_checkpoint, "vggish")
    # Their geometry (squash to SxS, scored at SxS) and the rest of their recipe's choices,
    # so eval and predict treat the model as it was trained.
    train_config = load_config(model, **authors_choices()).to_dict()
    # Built exactly as build_from_checkpoint will rebuild it (same seed, weights, options).
    torch.manual_seed(int(train_config.get("seed", 0)))
    net = build_model(model, sam_checkpoint=sam, vggish_checkpoint=vgg, **overrides)
    own = net.state_dict()
    for k, t in mapped.items():
        if k not in own:
            raise CheckpointError(
                f"{src}: key {origin[k]!r} has no place in {model} (as {k!r}); wrong model or "
                "audio encoder?"
            )
        if tuple(t.shape) != tuple(own[k].shape):
            raise CheckpointError(
                f"{src}: key {origin[k]!r} has shape {tuple(t.shape)}, {model} expects "
                f"{tuple(own[k].shape)}; wrong model size?"
            )
    missing = [k for k in own if k not in mapped and not k.startswith(_NOT_THEIRS)]
    if missing:
        more = f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""
        raise CheckpointError(
            f"{src}: lacks key {our_key_to_theirs(missing[0])!r}{more}; not a {model} model?"
        )
    trainable = set(dict(net.trainable_parameters()))
    state = {k: mapped[k].to(own[k].dtype).clone() for k in sorted(trainable)}
    frozen = {
        k: mapped[k].to(own[k].dtype).clone()
        for k in sorted(mapped)
        if k not in trainable and not torch.equal(mapped[k].to(own[k].dtype), own[k])
    }
    save_checkpoint(
        out,
        Checkpoint(
            model=model,
            model_overrides=arch,
            run_options=net.run.to_dict(),
            model_config=net.config.to_dict(),
            train_config=train_config,
            data={"kind": "imported", "source": str(src.resolve()), "sha256": file_sha256(src)},
            sam_checkpoint=None if sam is None else str(Path(sam).resolve()),
            vggish_checkpoint=None if vgg is None else str(Path(vgg).resolve()),
            init=None,
            epoch=0,
            best_miou=None,
            metrics={},
            state_dict=state,
            frozen_state=frozen,
        ),
    )
    return Path(out)
