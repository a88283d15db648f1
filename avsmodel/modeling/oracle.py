"""SAM oracle: of the masks vanilla SAM proposes, the one that best matches the ground truth.

Two variants (``SamOracle.oracle_mode``):

- ``everything`` (the paper's: "the most similar predicted mask to the ground-truth mask"):
  segment-anything's own ``SamAutomaticMaskGenerator`` (its default 32x32 point grid, 8x8 for
  the 128 px tiny configs, and its default filters) proposes the masks of the whole image;
  per frame the proposal with the highest IoU to the ground truth is kept, chosen and
  returned at the input grid's full resolution (``SxS``: the proposal itself, as +/-12
  logits, not a 256 px logit map of it). When it proposes nothing (e.g. a randomly
  initialised tiny SAM) the prediction is empty.
- ``multimask``: SAM run with no prompt at all (empty sparse prompt, dense =
  ``no_mask_embed``) and ``multimask_output=True``; of its 3 masks the one with the highest
  IoU to the ground truth (AVSBench IoU, sigmoid > 0.5) is returned.

No audio is used: both are upper bounds on what SAM alone can pick without knowing which
object sounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
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


# Logit magnitude of the everything-oracle's binary choice (sigmoid(12) = 1 - 6e-6).
_LOGIT = 12.0


def best_proposal(proposals: torch.Tensor, gt: torch.Tensor) -> int | None:
    """Index of the proposal with the highest AVSBench IoU to ``gt`` (first on ties).

    Args:
        proposals: ``KxHxW`` bool masks (K may be 0).
        gt: ``HxW`` ground truth (> 0.5 is foreground).

    Returns:
        The index, or None when there is no proposal.
    """
    if proposals.shape[0] == 0:
        return None
    ious = _frame_iou(proposals.bool(), (gt > 0.5)[None].expand_as(proposals))
    return int(torch.argmax(ious))


def _valid_extent(image: torch.Tensor) -> tuple[int, int]:
    """``(h, w)`` of a normalised image before its zero padding.

    SAM's pixel mean is not an integer, so no real pixel normalises to exactly 0 in all
    three channels: the padding is the all-zero bottom rows / right columns.
    """
    nz = image.abs().sum(0) != 0
    rows, cols = nz.any(1).nonzero(), nz.any(0).nonzero()
    if rows.numel() == 0:
        return image.shape[-2], image.shape[-1]
    return int(rows.max()) + 1, int(cols.max()) + 1


class SamOracle(AvsModel):
    """Vanilla SAM with ground-truth mask selection. Trains nothing for ViT configs (tiny
    configs, randomly initialised: image encoder, mask decoder and ``no_mask_embed``)."""

    def __init__(self, config: ModelConfig, **parts: Any) -> None:
        if parts.get("audio_encoder") is not None:
            raise ValueError("the SAM oracle uses no audio; build it without audio_encoder")
        super().__init__(config, **parts)
        self.oracle_mode = "multimask"
        self._generator: Any = None
        # SAM's default 32x32 point grid; 8x8 on the 128 px tiny configs (tests: 16x faster).
        self.points_per_side = 8 if config.variant == "tiny" else 32

    def mask_generator(self, device: torch.device) -> Any:
        """segment-anything's ``SamAutomaticMaskGenerator`` over this model's SAM parts."""
        from segment_anything import SamAutomaticMaskGenerator
        from segment_anything.modeling import Sam

        from avsmodel.modeling.sam_parts import PIXEL_MEAN, PIXEL_STD

        gen = self._generator
        if gen is None or gen.predictor.model.device != device:
            # A plain list keeps the Sam view out of this module's children / state dict.
            sam = Sam(
                self.image_encoder,
                self.prompt_encoder,
                self.mask_decoder,
                list(PIXEL_MEAN),
                list(PIXEL_STD),
            )
            gen = SamAutomaticMaskGenerator(
                sam.to(device).eval(), points_per_side=self.points_per_side
            )
            object.__setattr__(self, "_generator", gen)
        return gen

    def everything(self, images: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """The everything-oracle's ``Bx1xSxS`` logits (see module docstring).

        Args:
            images: ``Bx3xSxS`` normalised, zero-padded images.
            gt: ``BxHxW`` ground truth on the padded square grid. At ``SxS`` the proposal is
                chosen on the image's unpadded region at full resolution; at a coarser grid
                the proposals are pooled to it first.
        """
        from avsmodel.modeling.sam_parts import PIXEL_MEAN, PIXEL_STD

        big = self.image_size
        gen = self.mask_generator(images.device)
        mean = torch.tensor(PIXEL_MEAN, device=images.device).view(3, 1, 1)
        std = torch.tensor(PIXEL_STD, device=images.device).view(3, 1, 1)
        out = torch.full((images.shape[0], 1, big, big), -_LOGIT, device=images.device)
        for i in range(images.shape[0]):
            h, w = _valid_extent(images[i])
            rgb = (images[i, :, :h, :w] * std + mean).round().clamp(0, 255)
            rgb_np = rgb.byte().permute(1, 2, 0).cpu().numpy()
            found = [r["segmentation"] for r in gen.generate(np.ascontiguousarray(rgb_np))]
            if not found:
                continue
            padded = torch.zeros((len(found), big, big), device=images.device)
            padded[:, :h, :w] = torch.from_numpy(np.stack(found)).to(images.device).float()
            g = gt[i].float()
            if tuple(g.shape[-2:]) == (big, big):  # full resolution: the unpadded region
                k = best_proposal(padded[:, :h, :w] > 0.5, g[:h, :w])
            else:
                on_gt = F.adaptive_avg_pool2d(padded[None], tuple(g.shape[-2:]))[0] >= 0.5
                k = best_proposal(on_gt, g)
            out[i, 0] = torch.where(padded[k] > 0.5, _LOGIT, -_LOGIT)
        return out

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
        """The oracle's mask logits (``oracle_mode``: ``everything`` or ``multimask``).

        Args:
            images: ``Bx3xSxS``.
            audio: ignored (accepted so every model is called alike).
            gt: ``BxHxW`` ground truth (any resolution; > 0.5 is foreground). Without it
                SAM's own highest predicted-IoU mask is returned.

        Returns:
            ``Bx1xSxS`` logits (``everything``: the chosen proposal at full resolution) or
            ``Bx1x(S/4)x(S/4)`` (``multimask``: SAM's own logit map).
        """
        self._check_inputs(images, None)
        if self.oracle_mode == "everything":
            if gt is None:
                raise ValueError("the everything-oracle needs the ground truth (gt)")
            if gt.dim() != 3 or gt.shape[0] != images.shape[0]:
                raise ValueError(f"gt must be [B,H,W] with B={images.shape[0]}, got {gt.shape}")
            with torch.no_grad():
                return self.everything(images, gt)
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
