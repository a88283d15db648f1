"""The training task: runs the model on a batch and owns the loss.

Loss (the paper's recipe): BCE-with-logits plus soft IoU, each weighted, at the model's mask
resolution (``S/4``) against the pooled ground truth; ``loss_size="input"`` computes both on
logits upsampled (bilinear) to the SxS input grid against the nearest-resized ground truth
``mask_input``, as the authors' ``models/sam.py`` does at 1024 px. ``iou_eps`` smooths the
soft IoU (1 by default; 0 is the authors' ``1 - inter / union``, under which a frame with an
empty ground truth gets no gradient from the IoU term).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def soft_iou_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """``1 - sum(p*g) / sum(p + g - p*g)`` per sample, averaged; ``p = sigmoid(logits)``.

    Args:
        logits: ``[B, H, W]`` mask logits.
        target: ``[B, H, W]`` 0/1 ground truth.
        eps: Smoothing: with ``eps > 0`` an empty ground truth still pulls the prediction
            towards empty; 0 is the authors' unsmoothed ratio.
    """
    p = torch.sigmoid(logits).flatten(1)
    g = target.flatten(1)
    inter = (p * g).sum(1)
    union = (p + g - p * g).sum(1)
    return (1.0 - (inter + eps) / (union + eps)).mean()


class SegmentationTask(nn.Module):
    """Wraps a model; ``forward(batch) -> (loss, metrics)``.

    Args:
        model: An :class:`avsmodel.AvsModel` (or its DDP wrapper).
        bce_weight: Weight of the BCE term.
        iou_weight: Weight of the soft IoU term.
        needs_gt: The model takes the ground truth (SAM oracle).
        loss_size: ``mask`` or ``input`` (batches then need ``mask_input``).
        iou_eps: Smoothing of the soft IoU term (:func:`soft_iou_loss`).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        bce_weight: float = 1.0,
        iou_weight: float = 1.0,
        needs_gt: bool = False,
        loss_size: str = "mask",
        iou_eps: float = 1.0,
    ) -> None:
        super().__init__()
        self.loss_size = loss_size
        self.iou_eps = iou_eps
        self.model = model
        self.bce_weight, self.iou_weight = bce_weight, iou_weight
        self.needs_gt = needs_gt
        inner = getattr(model, "module", model)  # DDP wraps the model
        self.pass_keys = bool(getattr(inner, "accepts_image_keys", False))

    def logits(self, batch: dict[str, Any]) -> torch.Tensor:
        """``[B, s, s]`` mask logits of a batch."""
        if self.needs_gt:  # the oracle chooses at the finest grid the batch has
            gt = batch["mask_input"] if "mask_input" in batch else batch["mask"]
            out = self.model(batch["image"], batch["audio"], gt=gt)
        elif self.pass_keys and "image_key" in batch:
            out = self.model(batch["image"], batch["audio"], image_keys=batch["image_key"])
        else:
            out = self.model(batch["image"], batch["audio"])
        return out[:, 0]

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        logits = self.logits(batch).float()
        target = batch["mask"].to(logits.dtype)
        if self.loss_size == "input":
            target = batch["mask_input"].to(logits.dtype)
            logits = F.interpolate(
                logits[:, None], size=target.shape[-2:], mode="bilinear", align_corners=False
            )[:, 0]
        if target.shape[-2:] != logits.shape[-2:]:
            target = F.interpolate(target[:, None], size=logits.shape[-2:], mode="nearest")[:, 0]
        bce = F.binary_cross_entropy_with_logits(logits, target)
        iou = soft_iou_loss(logits, target, eps=self.iou_eps)
        loss = self.bce_weight * bce + self.iou_weight * iou
        return loss, {
            "loss": float(loss.detach()),
            "bce": float(bce.detach()),
            "soft_iou": float(iou.detach()),
        }
