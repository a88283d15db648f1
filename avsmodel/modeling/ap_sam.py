"""AP-SAM: audio embedding as prompt tokens for SAM's mask decoder (encoder free of audio)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from avsmodel.modeling.base import AvsModel
from avsmodel.modeling.embedding_cache import EmbeddingCache

if TYPE_CHECKING:
    from avsmodel.modeling.adapters import AudioPromptProjector
    from avsmodel.modeling.config import ModelConfig


class ApSam(AvsModel):
    """Audio-prompted SAM baseline.

    Clip embedding ``Bx128`` -> :class:`AudioPromptProjector` -> ``BxTx256`` sparse prompt
    tokens; the image encoder is frozen and sees no audio. Trains ``audio_prompt``,
    ``mask_decoder`` and ``prompt_encoder.no_mask_embed`` (tiny configs: also the encoders).

    With ``run.embedding_cache = K > 0`` (and a frozen image encoder) the embeddings of the
    last K images seen (by ``image_keys``) are kept and the encoder runs only on new images.
    """

    #: The training/evaluation loops pass ``image_keys`` to models that set this.
    accepts_image_keys = True

    def __init__(
        self, config: ModelConfig, *, audio_prompt: AudioPromptProjector, **parts: Any
    ) -> None:
        super().__init__(config, **parts)
        self.audio_prompt = audio_prompt
        self.embedding_cache = EmbeddingCache(
            0 if config.train_image_encoder else self.run.embedding_cache
        )

    def trainable_prefixes(self) -> tuple[str, ...]:
        return self._audio_model_prefixes("audio_prompt")

    def forward(
        self,
        images: torch.Tensor,
        audio: torch.Tensor,
        image_keys: Sequence[str] | None = None,
    ) -> torch.Tensor:
        """``Bx3xSxS`` images, ``BxNx1x96x64`` audio -> ``Bx1x(S/4)x(S/4)`` logits.

        ``image_keys`` (one stable key per image, e.g. its path) enable the embedding cache.
        """
        self._check_inputs(images, audio)
        with self.autocast_context(images.device):
            tokens = self.audio_prompt(self.encode_audio(audio))
            with torch.set_grad_enabled(
                torch.is_grad_enabled() and self.config.train_image_encoder
            ):
                if image_keys is not None and self.embedding_cache.capacity > 0:
                    emb = self.embedding_cache.get_or_compute(image_keys, images, self.encode_image)
                else:
                    emb = self.encode_image(images)
            masks, _ = self.decode(emb, tokens)
        return masks.float()
