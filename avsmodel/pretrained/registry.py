"""Model registry: configurations looked up by name (built by :mod:`avsmodel.pretrained.build`).

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
from typing import Any

from avsmodel.errors import ConfigError
from avsmodel.modeling.config import (
    ATTENTION_CHOICES,
    AUDIO_ENCODERS,
    AUTOCAST_CHOICES,
    FAMILIES,
    RUN_FIELDS,
    ModelConfig,
    RunOptions,
)

__all__ = [
    "ATTENTION_CHOICES",
    "AUDIO_ENCODERS",
    "AUTOCAST_CHOICES",
    "FAMILIES",
    "MODELS",
    "ModelConfig",
    "RunOptions",
    "get_config",
    "get_run_options",
    "list_models",
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
