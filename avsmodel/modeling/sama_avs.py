"""SAMA-AVS: SAM with per-block audio adapters in the image encoder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from avsmodel.modeling.base import AvsModel

if TYPE_CHECKING:
    from avsmodel.modeling.adapters import AudioAdapters
    from avsmodel.modeling.config import ModelConfig


class SamaAvs(AvsModel):
    """Segment Anything with audio adapters (the paper's model).

    Audio: clip embedding ``Bx128`` (VGGish, frozen; mean over the clip's examples) ->
    :class:`AudioAdapters` -> one ``BxC`` offset per encoder block, added to every token before
    the block. Mask decoder: SAM's, single mask, no sparse prompt, dense = ``no_mask_embed``.

    Trains: ``adapters``, ``mask_decoder``, ``prompt_encoder.no_mask_embed`` (tiny configs:
    also the image and audio encoders).
    """

    def __init__(self, config: ModelConfig, *, adapters: AudioAdapters, **parts: Any) -> None:
        super().__init__(config, **parts)
        self.adapters = adapters

    def trainable_prefixes(self) -> tuple[str, ...]:
        return self._audio_model_prefixes("adapters")

    def forward(self, images: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Mask logits.

        Args:
            images: ``Bx3xSxS`` normalised, padded (:class:`avsmodel.transforms.SamTransform`).
            audio: ``BxNx1x96x64`` log-mel examples (:func:`avsmodel.audio.vggish_examples`).

        Returns:
            ``Bx1x(S/4)x(S/4)`` float32 logits.
        """
        self._check_inputs(images, audio)
        with self.autocast_context(images.device):
            offsets = self.adapters(self.encode_audio(audio))
            emb = self.encode_image(images, offsets)
            masks, _ = self.decode(emb)
        return masks.float()
