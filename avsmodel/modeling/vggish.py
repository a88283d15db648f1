"""VGGish (Hershey et al. 2017) in torchvggish's module layout, so ``vggish-10086976.pth``
loads key-for-key: ``features.{0,3,6,8,11,13}`` are the conv layers, ``embeddings.{0,2,4}``
the linear layers 12288 -> 4096 -> 4096 -> 128, with a ReLU after the last one (as in
torchvggish). PCA/quantisation post-processing is off.
"""

from __future__ import annotations

import torch
from torch import nn

#: Keys of the official torchvggish checkpoint (``vggish-10086976.pth``).
VGGISH_KEYS = tuple(
    f"{part}.{i}.{t}"
    for part, idx in (("features", (0, 3, 6, 8, 11, 13)), ("embeddings", (0, 2, 4)))
    for i in idx
    for t in ("weight", "bias")
)


def _features() -> nn.Sequential:
    layers: list[nn.Module] = []
    in_ch = 1
    for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M"):
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_ch = int(v)
    return nn.Sequential(*layers)


class VGGish(nn.Module):
    """VGGish embedding network: ``[M,1,96,64]`` log-mel examples -> ``[M,128]``."""

    output_dim = 128

    def __init__(self) -> None:
        super().__init__()
        self.features = _features()
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096),
            nn.ReLU(True),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Linear(4096, 128),
            nn.ReLU(True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed examples.

        Args:
            x: ``Mx1x96x64`` log-mel examples (:func:`avsmodel.audio.vggish_examples`).

        Returns:
            ``Mx128`` embeddings (non-negative).
        """
        x = self.features(x)
        # Channels-last flatten, as TensorFlow's VGGish (and torchvggish) do.
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return self.embeddings(x)
