"""What defines a model: its architecture (:class:`ModelConfig`) and how it runs
(:class:`RunOptions`).

The two are kept apart on purpose. The architecture decides which weights exist and what
they compute; it is what a checkpoint records. The run options (attention kernel, gradient
checkpointing, autocast, AP-SAM's embedding cache) change speed and memory only and may
differ between training, evaluation and machines, so checkpoints do not store them as
architecture (older checkpoints that did still load: the keys are split off).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from avsmodel.errors import ConfigError

FAMILIES = ("sama_avs", "ap_sam", "sam_oracle")
ATTENTION_CHOICES = ("eager", "sdpa")
AUTOCAST_CHOICES = ("none", "bf16", "auto")
AUDIO_ENCODERS = ("vggish", "conv")


@dataclass(frozen=True)
class RunOptions:
    """How a model runs; none of these change its weights.

    Attributes:
        attention: ``eager`` (segment-anything's code) or ``sdpa`` (fused kernels, same maths;
            see ``docs/performance.md``).
        grad_checkpointing: Recompute image-encoder blocks in backward (less memory).
        autocast: ``none``, ``bf16`` or ``auto`` (bf16 where the hardware has it natively).
        embedding_cache: AP-SAM with a frozen image encoder: keep the embeddings of this many
            images (0 = off).
    """

    attention: str = "eager"
    grad_checkpointing: bool = False
    autocast: str = "none"
    embedding_cache: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the options."""
        return dataclasses.asdict(self)

    def validate(self) -> None:
        """Raise :class:`ConfigError` for unknown choices or negative sizes."""
        if self.attention not in ATTENTION_CHOICES:
            raise ConfigError(
                f"attention={self.attention!r} unknown; use one of {ATTENTION_CHOICES}"
            )
        if self.autocast not in AUTOCAST_CHOICES:
            raise ConfigError(f"autocast={self.autocast!r} unknown; use one of {AUTOCAST_CHOICES}")
        if self.embedding_cache < 0:
            raise ConfigError(f"embedding_cache must be >= 0, got {self.embedding_cache}")


#: Names of the run-time options (keys that are not architecture).
RUN_FIELDS = frozenset(f.name for f in dataclasses.fields(RunOptions))


@dataclass(frozen=True)
class ModelConfig:
    """A model's architecture: which parts exist, their sizes, and which of them train.

    The SAM fields mirror ``segment_anything.build_sam._build_sam``; ``vit_*`` configs use
    exactly the official values so official checkpoints load key-for-key.
    """

    name: str
    family: str
    variant: str
    # Image encoder (segment_anything.modeling.ImageEncoderViT).
    image_size: int = 1024
    patch_size: int = 16
    encoder_embed_dim: int = 768
    encoder_depth: int = 12
    encoder_num_heads: int = 12
    encoder_global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11)
    window_size: int = 14
    # Prompt encoder / mask decoder (PromptEncoder, MaskDecoder, TwoWayTransformer).
    prompt_embed_dim: int = 256
    mask_in_chans: int = 16
    decoder_depth: int = 2
    decoder_mlp_dim: int = 2048
    decoder_num_heads: int = 8
    iou_head_hidden_dim: int = 256
    # Audio.
    audio_encoder: str = "vggish"
    audio_dim: int = 128
    audio_examples: int = 1  # one 0.96 s example per frame (the paper); N > 1: mean option
    adapter_hidden_dim: int = 512
    adapter_init: str = "trunc_normal"  # the authors' (std 0.02); "torch": nn.Linear default
    audio_prompt_tokens: int = 1
    # What trains besides the family's own trainable parts (adapters/decoder/prompt tokens).
    train_image_encoder: bool = False
    train_audio_encoder: bool = False

    @property
    def mask_size(self) -> int:
        """Side of the output mask logits (``image_size // 4``)."""
        return self.image_size // 4

    @property
    def embedding_size(self) -> int:
        """Side of the image embedding grid (``image_size // patch_size``)."""
        return self.image_size // self.patch_size

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dict of the config (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["encoder_global_attn_indexes"] = list(self.encoder_global_attn_indexes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ConfigError`.

        Run-option keys (``attention``, ``embedding_cache``, ...), which checkpoints of older
        versions stored here, are ignored.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names - RUN_FIELDS)
        if unknown:
            raise ConfigError(f"unknown model config field(s) {unknown}; known: {sorted(names)}")
        d = {k: v for k, v in d.items() if k in names}
        if "encoder_global_attn_indexes" in d:
            d["encoder_global_attn_indexes"] = tuple(d["encoder_global_attn_indexes"])
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values out of range."""
        if self.family not in FAMILIES:
            raise ConfigError(f"model family {self.family!r} unknown; use one of {FAMILIES}")
        if self.audio_encoder not in AUDIO_ENCODERS:
            raise ConfigError(
                f"audio_encoder={self.audio_encoder!r} unknown; use one of {AUDIO_ENCODERS}"
            )
        if self.image_size % self.patch_size or self.image_size % 4:
            raise ConfigError(
                f"image_size {self.image_size} must be a multiple of patch_size "
                f"{self.patch_size} and of 4"
            )
        bad = [i for i in self.encoder_global_attn_indexes if not 0 <= i < self.encoder_depth]
        if bad:
            raise ConfigError(
                f"encoder_global_attn_indexes {bad} out of range for depth {self.encoder_depth}"
            )
        if self.adapter_init not in ("trunc_normal", "torch"):
            raise ConfigError(
                f"adapter_init={self.adapter_init!r} unknown; use trunc_normal or torch"
            )
        if self.audio_examples < 1:
            raise ConfigError(f"audio_examples must be >= 1, got {self.audio_examples}")


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``build_model``-style keyword options into (architecture, run options)."""
    arch = {k: v for k, v in options.items() if k not in RUN_FIELDS}
    run = {k: v for k, v in options.items() if k in RUN_FIELDS}
    return arch, run
