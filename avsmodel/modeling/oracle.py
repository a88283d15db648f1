"""SAM oracle: vanilla SAM's multimask output, the mask that best matches the ground truth.

SAM is run with no prompt at all (empty sparse prompt, dense = ``no_mask_embed``) and
``multimask_output=True``; of its 3 masks the one with the highest IoU to the ground truth
(AVSBench IoU, sigmoid > 0.5, at the ground truth's resolution) is returned. No audio is used:
it is an upper bound on what SAM alone can pick without knowing which object sounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from avsmodel.modeling.base import AvsModel

if TYPE_CHECKING:
    from avsmodel.modeling.config import ModelConfig


def _frame_iou(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """AVSBench IoU of binary ``...xHxW`` tensors (empty gt: fraction of correct background)."""
    inter = (pred & gt).sum((-2, -1)).float()
    union = (pred | gt).sum((-2, -1)).float()
    empty = gt.sum((-2, -1)) == 0
    bg = (~pred & ~gt).sum((-2, -1)).float()
    npix = gt.shape[-1] * gt.shape[-2]
    return torch.where(empty, bg / npix, inter / (union + 1e-7))


class SamOracle(AvsModel):
    """Vanilla SAM with ground-truth mask selection. Trains nothing for ViT configs (tiny
    configs, randomly initialised: image encoder, mask decoder and ``no_mask_embed``)."""

    def __init__(self, config: ModelConfig, **parts: Any) -> None:
        if parts.get("audio_encoder") is not None:
            raise ValueError("the SAM oracle uses no audio; build it without audio_encoder")
        super().__init__(config, **parts)

    def trainable_prefixes(self) -> tuple[str, ...]:
        if self.config.train_image_encoder:
            return ("image_encoder", "mask_decoder", "prompt_encoder.no_mask_embed")
        return ()

    def candidates(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM's 3 multimask logits ``Bx3x(S/4)x(S/4)`` and their IoU predictions ``Bx3``."""
        with self.autocast_context(images.device):
            with torch.set_grad_enabled(
                torch.is_grad_enabled() and self.config.train_image_encoder
            ):
                emb = self.encode_image(images)
            masks, iou = self.decode(emb, multimask=True)
        return masks.float(), iou.float()

    def forward(
        self,
        images: torch.Tensor,
        audio: torch.Tensor | None = None,
        gt: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Best-of-3 mask logits.

        Args:
            images: ``Bx3xSxS``.
            audio: ignored (accepted so every model is called alike).
            gt: ``BxHxW`` ground truth (any resolution; > 0.5 is foreground). Without it
                SAM's own highest predicted-IoU mask is returned.

        Returns:
            ``Bx1x(S/4)x(S/4)`` logits.
        """
        self._check_inputs(images, None)
        masks, iou_pred = self.candidates(images)
        if gt is None:
            idx = iou_pred.argmax(dim=1)
        else:
            if gt.dim() != 3 or gt.shape[0] != images.shape[0]:
                raise ValueError(f"gt must be [B,H,W] with B={images.shape[0]}, got {gt.shape}")
            with torch.no_grad():
                up = F.interpolate(masks, size=gt.shape[-2:], mode="bilinear", align_corners=False)
                ious = _frame_iou(up > 0, (gt > 0.5)[:, None])
                idx = ious.argmax(dim=1)
        return masks[torch.arange(masks.shape[0], device=masks.device), idx][:, None]
