"""Audio adapters of SAMA-AVS and the audio prompt projector of AP-SAM."""

from __future__ import annotations

import torch
from torch import nn


class TruncNormalLinear(nn.Linear):
    """``nn.Linear`` initialised as the authors' adapters (``AudioPromptGenerator``):
    weights truncated-normal with std 0.02 (cut at +-2), biases 0. Its ``reset_parameters``
    does the same, so re-initialising a model keeps this init."""

    def reset_parameters(self) -> None:
        nn.init.trunc_normal_(self.weight, std=0.02)
        if self.bias is not None:
            nn.init.zeros_(self.bias)


class AudioAdapters(nn.Module):
    """SAMA-AVS adapters: per encoder block i ``Linear(128 -> 512) + GELU`` (``blocks.i``),
    then one ``Linear(512 -> C)`` shared by all blocks (``shared``).

    Output i is broadcast-added to every spatial token before encoder block i. For ViT-H
    (C=1280, 32 blocks) this is 32*(128*512+512) + 512*1280+1280 = 2,770,176 parameters.
    ``init``: ``trunc_normal`` (the authors') or ``torch`` (``nn.Linear``'s default).
    """

    def __init__(
        self,
        depth: int,
        width: int,
        audio_dim: int = 128,
        hidden_dim: int = 512,
        init: str = "trunc_normal",
    ):
        super().__init__()
        linear = TruncNormalLinear if init == "trunc_normal" else nn.Linear
        self.blocks = nn.ModuleList(
            nn.Sequential(linear(audio_dim, hidden_dim), nn.GELU()) for _ in range(depth)
        )
        self.shared = linear(hidden_dim, width)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """``Bx128`` clip embeddings -> ``DepthxBxC`` per-block token offsets."""
        hidden = torch.stack([blk(audio) for blk in self.blocks], dim=0)
        return self.shared(hidden)


class AudioPromptProjector(nn.Module):
    """AP-SAM: clip embedding -> T sparse prompt tokens for SAM's mask decoder.

    ``Linear(128 -> C) + GELU + Linear(C -> T*C)``, ``Bx128 -> BxTxC`` (C = prompt dim 256).
    """

    def __init__(self, prompt_dim: int, num_tokens: int = 1, audio_dim: int = 128) -> None:
        super().__init__()
        self.num_tokens = num_tokens
        self.prompt_dim = prompt_dim
        self.mlp = nn.Sequential(
            nn.Linear(audio_dim, prompt_dim),
            nn.GELU(),
            nn.Linear(prompt_dim, num_tokens * prompt_dim),
        )

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """``Bx128 -> BxTxC``."""
        return self.mlp(audio).reshape(audio.shape[0], self.num_tokens, self.prompt_dim)
