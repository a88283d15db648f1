"""Image/mask pipeline of SAM: resize longest side, normalise, pad; and the way back.

Images follow ``segment_anything.utils.transforms.ResizeLongestSide.apply_image`` (the
longest side becomes S, aspect kept, bilinear via PIL), then ``(x - pixel_mean) / pixel_std``
and zero padding at the bottom/right to SxS (as ``Sam.preprocess``). Masks are resized with
nearest neighbour to the same size and padded with 0. Predictions go back by upsampling to
SxS, cropping the padding and upsampling to the original size (as
``Sam.postprocess_masks``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from segment_anything.utils.transforms import ResizeLongestSide

from avsmodel.modeling.sam_parts import PIXEL_MEAN, PIXEL_STD

RESIZE_MODES = ("pad", "squash")


class SamTransform:
    """SAM input transform for images of side ``image_size`` (S).

    ``resize="pad"`` (default, SAM's own preprocessing) keeps the aspect ratio and zero-pads;
    ``"squash"`` resizes to SxS ignoring the aspect ratio (the paper authors' loaders:
    ``transforms.Resize((S, S))``, masks nearest), so nothing is padded.
    """

    def __init__(self, image_size: int, resize: str = "pad") -> None:
        if resize not in RESIZE_MODES:
            raise ValueError(f"resize={resize!r}: use one of {', '.join(RESIZE_MODES)}")
        self.resize = resize
        self.image_size = int(image_size)
        self.resizer = ResizeLongestSide(self.image_size)
        self.pixel_mean = torch.tensor(PIXEL_MEAN).view(3, 1, 1)
        self.pixel_std = torch.tensor(PIXEL_STD).view(3, 1, 1)

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """``(h, w)`` after resizing (the longest side to S; ``squash``: ``(S, S)``)."""
        if self.resize == "squash":
            return self.image_size, self.image_size
        return ResizeLongestSide.get_preprocess_shape(height, width, self.image_size)

    def image(self, image: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
        """``uint8 HxWx3`` RGB -> (normalised padded ``3xSxS`` float tensor, resized ``(h, w)``)."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image must be uint8 HxWx3, got {image.dtype} {image.shape}")
        if self.resize == "squash":
            s = self.image_size
            resized = np.array(Image.fromarray(image).resize((s, s), Image.BILINEAR))
        else:
            resized = self.resizer.apply_image(image)
        h, w = resized.shape[:2]
        x = torch.from_numpy(np.ascontiguousarray(resized)).permute(2, 0, 1).float()
        x = (x - self.pixel_mean) / self.pixel_std
        x = F.pad(x, (0, self.image_size - w, 0, self.image_size - h))
        return x, (h, w)

    def mask(self, mask: np.ndarray) -> torch.Tensor:
        """``bool HxW`` -> ``SxS`` float {0,1}: nearest resize to the resized size, 0-padded."""
        if mask.ndim != 2:
            raise ValueError(f"mask must be HxW, got shape {mask.shape}")
        h, w = self.resized_size(*mask.shape)
        m = Image.fromarray(np.asarray(mask, dtype=bool).astype(np.uint8) * 255)
        m = np.asarray(m.resize((w, h), Image.NEAREST)) > 127
        out = torch.zeros(self.image_size, self.image_size)
        out[:h, :w] = torch.from_numpy(m).float()
        return out

    def postprocess(
        self,
        logits: torch.Tensor,
        resized_hw: tuple[int, int],
        original_hw: tuple[int, int],
    ) -> torch.Tensor:
        """Mask logits ``Bx1xsxs`` (any s) -> ``Bx1xHxW`` logits at the original size."""
        x = F.interpolate(
            logits.float(),
            (self.image_size, self.image_size),
            mode="bilinear",
            align_corners=False,
        )
        x = x[..., : int(resized_hw[0]), : int(resized_hw[1])]
        return F.interpolate(
            x, tuple(int(v) for v in original_hw), mode="bilinear", align_corners=False
        )
