"""Model registry: configurations looked up by name, and :func:`build_model`.

Names are ``{family}_{variant}`` with family ``sama_avs`` | ``ap_sam`` | ``sam_oracle`` and
variant ``vit_b`` | ``vit_l`` | ``vit_h`` (SAM's official encoders, 1024 px) or ``tiny``
(a small randomly initialised SAM-style model for CPU tests and the demo; see
``docs/models.md``).

Example:
    >>> import avsmodel
    >>> model = avsmodel.build_model("sama_avs_tiny")
    >>> model = avsmodel.build_model(
    ...     "sama_avs_vit_b", sam_checkpoint="sam_vit_b_01ec64.pth",
    ...     vggish_checkpoint="vggish-10086976.pth", grad_checkpointing=True)
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from os import PathLike
from typing import TYPE_CHECKING, Any

from avsmodel.errors import ConfigError
from avsmodel.modeling.config import (
    ATTENTION_CHOICES,
    AUDIO_ENCODERS,
    AUTOCAST_CHOICES,
    FAMILIES,
    RUN_FIELDS,
    ModelConfig,
    RunOptions,
    split_options,
)

if TYPE_CHECKING:
    from avsmodel.modeling.base import AvsModel

__all__ = [
    "ATTENTION_CHOICES",
    "AUDIO_ENCODERS",
    "AUTOCAST_CHOICES",
    "FAMILIES",
    "MODELS",
    "ModelConfig",
    "ParameterCounts",
    "RunOptions",
    "build_model",
    "get_config",
    "get_run_options",
    "list_models",
    "parameter_counts",
]

# Official SAM encoders (segment_anything/build_sam.py).
_VIT = {
    "vit_b": dict(
        encoder_embed_dim=768,
        encoder_depth=12,
        encoder_num_heads=12,
        encoder_global_attn_indexes=(2, 5, 8, 11),
    ),
    "vit_l": dict(
        encoder_embed_dim=1024,
        encoder_depth=24,
        encoder_num_heads=16,
        encoder_global_attn_indexes=(5, 11, 17, 23),
    ),
    "vit_h": dict(
        encoder_embed_dim=1280,
        encoder_depth=32,
        encoder_num_heads=16,
        encoder_global_attn_indexes=(7, 15, 23, 31),
    ),
}

# Tiny SAM-style model (docs/models.md, "The tiny models"): random init, all parts train,
# small trainable conv audio encoder instead of VGGish (a random VGGish gives nearly
# constant embeddings, so a tiny model with one could not learn to listen).
_TINY = dict(
    image_size=128,
    patch_size=8,
    encoder_embed_dim=96,
    encoder_depth=3,
    encoder_num_heads=3,
    encoder_global_attn_indexes=(2,),
    window_size=4,
    prompt_embed_dim=64,
    mask_in_chans=16,
    decoder_depth=2,
    decoder_mlp_dim=256,
    decoder_num_heads=4,
    iou_head_hidden_dim=64,
    audio_encoder="conv",
    adapter_hidden_dim=128,
    adapter_init="torch",  # the demo's recipe was tuned with it
    train_image_encoder=True,
    train_audio_encoder=True,
)


def _make_registry() -> dict[str, ModelConfig]:
    reg: dict[str, ModelConfig] = {}
    for family in FAMILIES:
        for variant, enc in _VIT.items():
            name = f"{family}_{variant}"
            reg[name] = ModelConfig(name=name, family=family, variant=variant, **enc)
        name = f"{family}_tiny"
        reg[name] = ModelConfig(name=name, family=family, variant="tiny", **_TINY)
    for cfg in reg.values():
        cfg.validate()
    return reg


MODELS: dict[str, ModelConfig] = _make_registry()


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(MODELS)


def _unknown_option(key: str, known: set[str]) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"unknown model option {key!r}{hint}")


def get_config(name: str | ModelConfig, **overrides: Any) -> ModelConfig:
    """Architecture of a registered model (or a given config) with field overrides applied.

    Run options (``attention``, ``autocast``, ...) are not architecture: see
    :func:`get_run_options`.

    Raises:
        ConfigError: unknown name (with a did-you-mean) or unknown/invalid override.
    """
    if isinstance(name, ModelConfig):
        name.validate()
    elif name not in MODELS:
        close = difflib.get_close_matches(name, MODELS, n=3, cutoff=0.4)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ConfigError(f"unknown model {name!r}{hint} (known: {', '.join(list_models())})")
    cfg = name if isinstance(name, ModelConfig) else MODELS[name]
    if overrides:
        fields = {f.name for f in dataclasses.fields(ModelConfig)} - {"name", "family"}
        run = sorted(set(overrides) & RUN_FIELDS)
        if run:
            raise ConfigError(
                f"{run[0]!r} is a run option, not architecture: pass it to build_model or "
                "get_run_options"
            )
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise _unknown_option(unknown[0], fields | RUN_FIELDS)
        if "encoder_global_attn_indexes" in overrides:
            overrides["encoder_global_attn_indexes"] = tuple(
                overrides["encoder_global_attn_indexes"]
            )
        cfg = dataclasses.replace(cfg, **overrides)
        cfg.validate()
    return cfg


def get_run_options(**options: Any) -> RunOptions:
    """:class:`RunOptions` from keyword options (defaults for the others).

    Raises:
        ConfigError: unknown option (with a did-you-mean) or invalid value.
    """
    unknown = sorted(set(options) - RUN_FIELDS)
    if unknown:
        fields = {f.name for f in dataclasses.fields(ModelConfig)} - {"name", "family"}
        raise _unknown_option(unknown[0], fields | RUN_FIELDS)
    run = RunOptions(**options)
    run.validate()
    return run


def build_model(
    name: str | ModelConfig,
    *,
    sam_checkpoint: str | PathLike[str] | None = None,
    vggish_checkpoint: str | PathLike[str] | None = None,
    **overrides: Any,
) -> AvsModel:
    """Build a registered model, optionally loading official SAM / VGGish weights.

    Args:
        name: registry name (see :func:`list_models`) or a :class:`ModelConfig`.
        sam_checkpoint: official ``sam_vit_{b,l,h}_*.pth`` (segment-anything layout); every
            tensor is loaded (incl. ``no_mask_embed`` and the positional encoding). A name
            (``vit_h``, ``sam_vit_h``, ...) resolves through the cache (``avsmodel.hub``).
        vggish_checkpoint: ``vggish-10086976.pth`` (torchvggish layout), or ``"vggish"``.
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
    from avsmodel.hub import resolve_weights
    from avsmodel.modeling import build_from_config

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
        return build_from_config(cfg, run)
    # Parts that come from checkpoints are allocated without random init (meta device, then
    # uninitialised CPU memory) and filled by the loaders; the other parts are initialised.
    import torch

    from avsmodel.weights import SAM_PARTS, load_sam_weights, load_vggish_weights

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
    return model


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
    import torch

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
