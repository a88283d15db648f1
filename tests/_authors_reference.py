"""A small port of the authors' training computation (jinxiang-liu/anno-free-AVS), the
reference of the paper-recipe tests.

Written from reading their ``models/sam.py``, ``train_avs.py`` and ``datasets/*`` (not
copied): each function does what the named part of their code does, with their libraries
(torchvision transforms, torch's ``DataLoader``/``DistributedSampler`` semantics, PIL), and
none of avsmodel's code.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def authors_loss(low_res: torch.Tensor, gt: torch.Tensor, inp_size: int) -> torch.Tensor:
    """Their ``SAM.forward`` + ``backward_G`` with ``loss: iou``.

    ``low_res`` ``Bx1xhxh`` decoder logits, ``gt`` ``Bx1xSxS`` 0/1 mask at ``inp_size``:
    the logits are upsampled to ``inp_size`` (``postprocess_masks``: bilinear to the encoder's
    size, crop, bilinear to the "original" size, here the same), then
    ``BCEWithLogitsLoss() + _iou_loss`` with ``1 - inter / union`` and no smoothing.
    """
    masks = F.interpolate(low_res, (inp_size, inp_size), mode="bilinear", align_corners=False)
    masks = masks[..., :inp_size, :inp_size]
    pred = F.interpolate(masks, (inp_size, inp_size), mode="bilinear", align_corners=False)
    bce = nn.BCEWithLogitsLoss()(pred, gt)
    p = torch.sigmoid(pred)
    inter = (p * gt).sum(dim=(2, 3))
    union = (p + gt).sum(dim=(2, 3)) - inter
    return bce + (1 - inter / union).mean()


def authors_lrs(lr: float, lr_min: float, epochs: int) -> list[float]:
    """The learning rate of each of their epochs: ``CosineAnnealingLR(opt, epoch_max,
    eta_min=lr_min)``, stepped once after each epoch's training."""
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs, eta_min=lr_min)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def authors_batch_sizes(n: int, batch_size: int) -> list[int]:
    """Batch sizes of one of their epochs on one process: a ``DataLoader`` over a
    ``DistributedSampler`` (``drop_last`` False: the last, partial batch is kept)."""
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    ds = torch.utils.data.TensorDataset(torch.arange(n))
    sampler = DistributedSampler(ds, num_replicas=1, rank=0)
    return [len(b[0]) for b in DataLoader(ds, batch_size=batch_size, sampler=sampler)]


class PositionEmbeddingRandom(nn.Module):
    """Their ``PositionEmbeddingRandom`` (a copy of SAM's): ``scale * randn(2, F)``, scale
    None -> 1.0."""

    def __init__(self, num_pos_feats: int, scale: float | None = None) -> None:
        super().__init__()
        scale = 1.0 if scale is None or scale <= 0.0 else scale
        self.register_buffer(
            "positional_encoding_gaussian_matrix", scale * torch.randn(2, num_pos_feats)
        )


def authors_prompt_tensors(prompt_dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What their ``SAM.__init__`` draws last, on a generator seeded with ``seed``:
    ``pe_layer = PositionEmbeddingRandom(C // 2)`` then ``no_mask_embed = nn.Embedding(1, C)``
    (N(0, 1)). SAM's checkpoint never fills either (its keys are ``prompt_encoder.*``)."""
    torch.manual_seed(seed)
    pe = PositionEmbeddingRandom(prompt_dim // 2)
    emb = nn.Embedding(1, prompt_dim)
    return pe.positional_encoding_gaussian_matrix.clone(), emb.weight.detach().clone()


def authors_image(path, inp_size: int) -> torch.Tensor:
    """Their image transform: ``Resize((S, S))``, ``ToTensor``, ImageNet ``Normalize``."""
    from torchvision import transforms

    tf = transforms.Compose([
        transforms.Resize((inp_size, inp_size)),
        transforms.ToTensor(),
        transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ])  # fmt: skip
    return tf(Image.open(path).convert("RGB"))


def authors_mask(path, inp_size: int) -> torch.Tensor:
    """Their mask transform: ``convert('1')``, ``Resize((S, S), NEAREST)``, ``ToTensor``."""
    from torchvision import transforms

    tf = transforms.Compose([
        transforms.Resize((inp_size, inp_size), interpolation=Image.NEAREST),
        transforms.ToTensor(),
    ])  # fmt: skip
    return tf(Image.open(path).convert("1"))[0]


def authors_binary(path) -> np.ndarray:
    """A mask as their loaders binarise it: ``Image.open(path).convert('1')``."""
    return np.asarray(Image.open(path).convert("1"), dtype=bool)


def authors_few_shot(ids: list[str], ratio: float) -> list[str]:
    """Their ``--trainset_ratio`` on the shuffled CSV: ``df[:int(len(df) * ratio)]``."""
    return ids[: int(len(ids) * ratio)]


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine similarity of two flattened tensors."""
    a, b = a.flatten().double(), b.flatten().double()
    return float(a @ b / (a.norm() * b.norm() + 1e-30))
