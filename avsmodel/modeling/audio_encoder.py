"""Audio encoders: examples ``[B,N,1,96,64]`` -> one 128-d embedding per clip ``[B,128]``.

Each of a clip's N log-mel examples (0.96 s each) is embedded (VGGish, or the tiny configs'
small conv encoder) and the N embeddings are averaged: ``[B*N,128] -> [B,N,128] -> mean``.
"""

from __future__ import annotations

import torch
from torch import nn

from avsmodel.modeling.vggish import VGGish


class ConvAudioEncoder(nn.Module):
    """Small trainable log-mel encoder used by the tiny configs in place of VGGish.

    A randomly initialised VGGish gives nearly constant embeddings (``docs/models.md``), so
    tiny models, which have no pretrained weights, learn their own: three stride-2 3x3 convs
    (16/32/64 channels, ReLU), mean over time, frequency pooled to 8 bands, then
    ``Linear(512 -> 128)``. ``[M,1,96,64] -> [M,128]``.
    """

    output_dim = 128

    def __init__(self, out_dim: int = 128) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d((1, 8))
        self.proj = nn.Linear(64 * 8, out_dim)
        self.output_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``Mx1x96x64`` (time x mel) -> ``Mx(out_dim)``."""
        x = self.pool(self.convs(x))
        return self.proj(x.flatten(1))


def build_audio_encoder(kind: str) -> nn.Module:
    """``"vggish"`` -> :class:`VGGish`; ``"conv"`` -> :class:`ConvAudioEncoder`."""
    return VGGish() if kind == "vggish" else ConvAudioEncoder()


def clip_embedding(encoder: nn.Module, audio: torch.Tensor) -> torch.Tensor:
    """Embed every example of every clip and average per clip.

    Args:
        encoder: maps ``Mx1x96x64`` to ``MxD``.
        audio: ``BxNx1x96x64`` (N >= 1 examples per clip).

    Returns:
        ``BxD`` clip embeddings.
    """
    if audio.dim() != 5 or tuple(audio.shape[2:]) != (1, 96, 64):
        raise ValueError(f"audio must be [B,N,1,96,64] log-mel examples, got {tuple(audio.shape)}")
    b, n = audio.shape[:2]
    emb = encoder(audio.reshape(b * n, 1, 96, 64))
    return emb.reshape(b, n, -1).mean(dim=1)
