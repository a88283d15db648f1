"""The everything-oracle chooses and returns its proposal at full resolution.

Reference: the proposals themselves and an IoU argmax written here in numpy; the oracle's
mask must equal the chosen proposal exactly, pixel for pixel (no 256 px logit map between).
"""

from __future__ import annotations

import numpy as np
import torch

from avsmodel.pretrained.build import build_model
from avsmodel.transforms import SamTransform


class _Proposals:
    """A stand-in for segment-anything's mask generator: fixed proposals."""

    def __init__(self, masks: list[np.ndarray]) -> None:
        self.masks = masks

    def generate(self, image: np.ndarray) -> list[dict]:
        assert image.shape[:2] == self.masks[0].shape
        return [{"segmentation": m} for m in self.masks]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / float((a | b).sum())


def test_oracle_mask_equals_the_chosen_proposal_exactly() -> None:
    torch.manual_seed(0)
    net = build_model("sam_oracle_tiny").eval()
    net.oracle_mode = "everything"
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (45, 96, 3), dtype=np.uint8)  # resized to 60 x 128, padded
    tf = SamTransform(net.image_size, "pad")
    x, (h, w) = tf.image(img)
    assert (h, w) == (60, 128)
    # Fine-grained proposals (1-px stripes, noise): a 32x32 logit map could not hold them.
    yy, xx = np.mgrid[:h, :w]
    props = [(xx % 2 == 0) & (yy < 40), rng.random((h, w)) > 0.5, (xx + yy) % 3 == 0]
    gt_np = props[1].copy()
    gt_np[:5] = ~gt_np[:5]  # the ground truth: proposal 1, a little off
    gt = torch.zeros(1, net.image_size, net.image_size)
    gt[0, :h, :w] = torch.from_numpy(gt_np).float()
    object.__setattr__(net, "mask_generator", lambda device: _Proposals(props))
    with torch.no_grad():
        out = net(x[None], None, gt=gt)
    assert out.shape == (1, 1, net.image_size, net.image_size)
    k = int(np.argmax([_iou(p, gt_np) for p in props]))
    assert k == 1
    mask = (out[0, 0] > 0).numpy()
    assert np.array_equal(mask[:h, :w], props[k]) and not mask[h:].any() and not mask[:, w:].any()
