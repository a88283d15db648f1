"""Evaluation frames and training scenes made up in memory, for ``bench/gpu_check.py``.

Items are what :class:`avsmodel.data.ManifestDataset` gives (image normalised and padded,
log-mel examples, low-resolution and full-size masks, sizes, index), so that the real
evaluation loop and training task run on them; nothing is read from disk and no audio or
video library is needed.
"""

from __future__ import annotations

from typing import Any


class GeneratedFrames:
    """Evaluation frames made up in memory, items as :class:`avsmodel.data.ManifestDataset`
    gives them (full-size masks included): ``n`` frames of ``hw`` pixels, a disc per frame.
    """

    def __init__(self, n: int, image_size: int, audio_examples: int, hw=(224, 224), seed=0):
        from avsmodel.transforms import SamTransform

        self.n, self.hw, self.seed = n, hw, seed
        self.audio_examples = audio_examples
        self.transform = SamTransform(image_size)
        self.mask_size = image_size // 4

    def __len__(self) -> int:
        return self.n

    def scene(self, index: int) -> tuple[Any, Any, Any]:
        """``(uint8 image, bool mask, log-mel examples)`` of frame ``index``."""
        import numpy as np
        import torch

        rng = np.random.default_rng([self.seed, index])
        h, w = self.hw
        img = rng.integers(60, 120, size=(h, w, 3), dtype=np.uint8)
        yy, xx = np.mgrid[:h, :w]
        cy, cx = rng.uniform(0.25, 0.75, 2) * (h, w)
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < (min(h, w) / 5) ** 2
        img[mask] = (200, 60, 60)
        g = torch.Generator().manual_seed(self.seed * 100_003 + index)
        audio = torch.randn(self.audio_examples, 1, 96, 64, generator=g)
        return img, mask, audio

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        from avsmodel.data.dataset import mask_to_lowres

        img, mask, audio = self.scene(index)
        image, resized = self.transform.image(img)
        return {
            "image": image,
            "audio": audio,
            "mask": mask_to_lowres(self.transform.mask(mask), self.mask_size),
            "mask_full": torch.from_numpy(mask),
            "index": index,
            "size": tuple(img.shape[:2]),
            "resized": tuple(int(v) for v in resized),
        }


class GeneratedScenes(GeneratedFrames):
    """Two shapes of two of three colours; the sound (a per-colour log-mel pattern plus
    noise) says which one is the target: a model must listen to score well."""

    COLOURS = ((220, 40, 40), (40, 60, 220), (40, 200, 60))

    def scene(self, index: int) -> tuple[Any, Any, Any]:
        import numpy as np
        import torch

        rng = np.random.default_rng([self.seed, index])
        h, w = self.hw
        img = np.full((h, w, 3), 110, np.uint8)
        yy, xx = np.mgrid[:h, :w]
        cats = rng.choice(3, size=2, replace=False)
        masks = []
        for k, (cy, cx) in enumerate(((h * 0.3, w * 0.3), (h * 0.7, w * 0.7))):
            cy, cx = cy + rng.uniform(-4, 4), cx + rng.uniform(-4, 4)
            m = (yy - cy) ** 2 + (xx - cx) ** 2 < (h * rng.uniform(0.12, 0.2)) ** 2
            img[m] = self.COLOURS[cats[k]]
            masks.append(m)
        target = int(rng.integers(2))
        pattern = torch.Generator().manual_seed(1000 + int(cats[target]))
        audio = torch.randn(self.audio_examples, 1, 96, 64, generator=pattern)
        noise = torch.Generator().manual_seed(self.seed * 100_003 + index)
        audio = audio + 0.3 * torch.randn(audio.shape, generator=noise)
        return img, masks[target], audio
