"""Test/demo helpers: random-init checkpoints in the official layouts.

No weights can be downloaded here, so tests save randomly initialised models exactly as the
official files are laid out and load them back through :mod:`avsmodel.pretrained.weights`.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import torch

from avsynth.storage.atomic import atomic_path

SAM_VARIANTS = ("vit_b", "vit_l", "vit_h")


def _atomic_save(obj: object, path: str | PathLike[str]) -> Path:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def official_sam(variant: str, *, seed: int = 0) -> torch.nn.Module:
    """segment-anything's own ``Sam`` for ``variant``, randomly initialised with ``seed``."""
    from segment_anything import sam_model_registry

    if variant not in SAM_VARIANTS:
        raise ValueError(f"variant must be one of {SAM_VARIANTS}, got {variant!r}")
    torch.manual_seed(seed)
    return sam_model_registry[variant](checkpoint=None)


def save_random_sam_checkpoint(path: str | PathLike[str], variant: str, *, seed: int = 0) -> Path:
    """Save a random SAM in the official ``sam_vit_*.pth`` layout (``Sam.state_dict()``).

    ViT-B is ~375 MB, ViT-L ~1.2 GB, ViT-H ~2.5 GB.
    """
    return _atomic_save(official_sam(variant, seed=seed).state_dict(), path)


def save_random_vggish_checkpoint(path: str | PathLike[str], *, seed: int = 0) -> Path:
    """Save a random VGGish in torchvggish's ``vggish-10086976.pth`` layout (~288 MB)."""
    from avsmodel.modeling.vggish import VGGish

    torch.manual_seed(seed)
    return _atomic_save(VGGish().state_dict(), path)
