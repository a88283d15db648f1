"""Model modules: SAMA-AVS, AP-SAM and the SAM oracle on segment-anything's modules.

:class:`~avsmodel.modeling.config.ModelConfig` (architecture) and
:class:`~avsmodel.modeling.config.RunOptions` (how it runs) live here with the builders;
``avsmodel.pretrained.registry`` names configs and builds from them (this package never imports it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from avsmodel.modeling.base import AvsModel
    from avsmodel.modeling.config import ModelConfig, RunOptions


def model_class(family: str) -> type:
    """The :class:`AvsModel` subclass of a family name."""
    from avsmodel.modeling.ap_sam import ApSam
    from avsmodel.modeling.oracle import SamOracle
    from avsmodel.modeling.sama_avs import SamaAvs

    return {"sama_avs": SamaAvs, "ap_sam": ApSam, "sam_oracle": SamOracle}[family]


def build_parts(cfg: ModelConfig) -> dict[str, Any]:
    """The parts a model of ``cfg`` takes (random init), in the order the model registers them:
    SAM's image encoder, prompt encoder and mask decoder, then the audio encoder (audio
    families) and the family's own audio module (``adapters`` or ``audio_prompt``)."""
    from avsmodel.modeling.adapters import AudioAdapters, AudioPromptProjector
    from avsmodel.modeling.audio_encoder import build_audio_encoder
    from avsmodel.modeling.sam_parts import (
        build_image_encoder,
        build_mask_decoder,
        build_prompt_encoder,
    )

    parts: dict[str, Any] = {
        "image_encoder": build_image_encoder(cfg),
        "prompt_encoder": build_prompt_encoder(cfg),
        "mask_decoder": build_mask_decoder(cfg),
    }
    if cfg.family == "sam_oracle":
        return parts
    parts["audio_encoder"] = build_audio_encoder(cfg.audio_encoder)
    if cfg.family == "sama_avs":
        parts["adapters"] = AudioAdapters(
            depth=cfg.encoder_depth,
            width=cfg.encoder_embed_dim,
            audio_dim=cfg.audio_dim,
            hidden_dim=cfg.adapter_hidden_dim,
            init=cfg.adapter_init,
        )
    else:
        parts["audio_prompt"] = AudioPromptProjector(
            cfg.prompt_embed_dim, cfg.audio_prompt_tokens, cfg.audio_dim
        )
    return parts


def build_from_config(cfg: ModelConfig, run: RunOptions | None = None) -> AvsModel:
    """Build the parts of ``cfg``, assemble the model, freeze, and apply the run options
    (default: none). Random initialisation; weights are loaded by the caller."""
    from avsmodel.errors import ConfigError
    from avsmodel.modeling.config import RunOptions

    run = run or RunOptions()
    model = model_class(cfg.family)(cfg, run=run, **build_parts(cfg))
    model.apply_freeze()
    if run.attention == "sdpa":
        try:
            from avsmodel.modeling.attention import enable_sdpa_attention
        except ImportError as e:
            raise ConfigError(
                f"attention='sdpa' needs avsmodel.modeling.attention ({e}); use attention='eager'"
            ) from None
        enable_sdpa_attention(model.image_encoder)
    return model
