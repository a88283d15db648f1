"""Common base of the three model families: SAM parts, audio, freezing, checkpoint-able state.

Training never goes through ``segment_anything.modeling.Sam.forward`` (it runs under
``torch.no_grad``): the image encoder, prompt encoder and mask decoder are called directly.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from avsmodel.errors import CheckpointError
from avsmodel.modeling.audio_encoder import clip_embedding
from avsmodel.modeling.sam_parts import decode_masks

if TYPE_CHECKING:
    from avsmodel.modeling.config import ModelConfig, RunOptions

#: SAM's IoU-prediction head. No loss here uses the predicted IoU (the oracle picks masks by
#: the ground truth), so the head would get no gradient: it stays frozen in every family.
NO_GRAD_PREFIX = "mask_decoder.iou_prediction_head"


class AvsModel(nn.Module):
    """Base class: ``image_encoder``, ``prompt_encoder``, ``mask_decoder`` (SAM's modules,
    official key layout) and, for audio families, ``audio_encoder`` (VGGish layout for ViT
    configs). Subclasses define :meth:`forward` and :meth:`trainable_prefixes`.

    Like segment-anything's ``Sam``, a model takes its parts ready-made
    (:func:`avsmodel.modeling.build_from_config` builds them from the config); ``config`` is
    the architecture they were built for, ``run`` how the model runs (attention kernel,
    checkpointing, autocast, embedding cache).
    """

    def __init__(
        self,
        config: ModelConfig,
        *,
        image_encoder: nn.Module,
        prompt_encoder: nn.Module,
        mask_decoder: nn.Module,
        audio_encoder: nn.Module | None = None,
        run: RunOptions | None = None,
    ) -> None:
        from avsmodel.modeling.config import RunOptions

        super().__init__()
        self.config = config
        self.run = run or RunOptions()
        self.name = config.name
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        self.audio_encoder = audio_encoder

    # ------------------------------------------------------------------ properties
    @property
    def image_size(self) -> int:
        """Side S of the (padded, normalised) input images."""
        return self.config.image_size

    @property
    def mask_size(self) -> int:
        """Side of the output mask logits, ``S // 4``."""
        return self.config.mask_size

    @property
    def audio_examples(self) -> int:
        """Number N of 0.96 s log-mel examples per clip the data pipeline should provide."""
        return self.config.audio_examples

    # ------------------------------------------------------------------ freezing
    def trainable_prefixes(self) -> tuple[str, ...]:
        """Parameter-name prefixes that train (exact names count as prefixes too)."""
        raise NotImplementedError

    def _audio_model_prefixes(self, head: str) -> tuple[str, ...]:
        """Prefixes of an audio-prompted family whose own audio module is ``head``.

        ``head``, the mask decoder and ``no_mask_embed`` always train; the image and audio
        encoders train when the config says so.
        """
        out = [head, "mask_decoder", "prompt_encoder.no_mask_embed"]
        if self.config.train_image_encoder:
            out.append("image_encoder")
        if self.config.train_audio_encoder:
            out.append("audio_encoder")
        return tuple(out)

    def apply_freeze(self) -> None:
        """Set ``requires_grad`` from :meth:`trainable_prefixes` (called by the builder).

        SAM's IoU head (:data:`NO_GRAD_PREFIX`) never trains: nothing uses its output.
        """
        prefixes = self.trainable_prefixes()
        for name, p in self.named_parameters():
            train = any(name == q or name.startswith(q + ".") for q in prefixes)
            p.requires_grad_(train and not name.startswith(NO_GRAD_PREFIX + "."))

    def trainable_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """``(name, parameter)`` pairs that train."""
        return ((n, p) for n, p in self.named_parameters() if p.requires_grad)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """Detached copies of the trainable parameters (what a training checkpoint stores)."""
        return {n: p.detach().clone() for n, p in self.trainable_parameters()}

    def load_trainable_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load exactly the trainable parameters (strict: names and shapes must match).

        Checkpoints of older versions also hold the IoU head (:data:`NO_GRAD_PREFIX`), which
        they listed as trainable (weight decay changed it); its tensors are loaded too.

        Raises:
            CheckpointError: naming the first missing, unexpected or mis-shaped key.
        """
        own = dict(self.trainable_parameters())
        missing = sorted(set(own) - set(state_dict))
        params = dict(self.named_parameters())
        for n in state_dict:  # an older checkpoint's IoU head: load it as well
            if n.startswith(NO_GRAD_PREFIX + ".") and n in params:
                own.setdefault(n, params[n])
        unexpected = sorted(set(state_dict) - set(own))
        if missing:
            raise CheckpointError(
                f"trainable state of {self.name} lacks {len(missing)} key(s), first "
                f"{missing[0]!r}: the checkpoint was saved from another model"
            )
        if unexpected:
            raise CheckpointError(
                f"trainable state for {self.name} has {len(unexpected)} unexpected key(s), "
                f"first {unexpected[0]!r}: the checkpoint was saved from another model"
            )
        for n, p in own.items():
            t = state_dict[n]
            if tuple(t.shape) != tuple(p.shape):
                raise CheckpointError(
                    f"trainable key {n!r} has shape {tuple(t.shape)}, {self.name} expects "
                    f"{tuple(p.shape)}"
                )
        with torch.no_grad():
            for n, p in own.items():
                p.copy_(state_dict[n])

    # ------------------------------------------------------------------ pieces
    def autocast_context(self, device: torch.device) -> contextlib.AbstractContextManager:
        """bf16 autocast for ``autocast="bf16"`` (or ``"auto"`` on hardware with native
        bf16: see :func:`native_bf16`), else a no-op."""
        mode = self.run.autocast
        if mode == "bf16" or (mode == "auto" and native_bf16(device)):
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def encode_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """``BxNx1x96x64`` examples -> ``Bx128`` (mean of the N example embeddings).

        Runs without autograd when the audio encoder is frozen.
        """
        assert self.audio_encoder is not None
        frozen = not any(p.requires_grad for p in self.audio_encoder.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            return clip_embedding(self.audio_encoder, audio)

    def encode_image(
        self, images: torch.Tensor, block_offsets: torch.Tensor | None = None
    ) -> torch.Tensor:
        """SAM's image encoder, optionally adding ``block_offsets[i]`` before block i.

        Args:
            images: ``Bx3xSxS`` normalised, padded images.
            block_offsets: ``DepthxBxC`` audio offsets (SAMA-AVS) or None.

        Returns:
            ``Bx(prompt_dim)x(S/p)x(S/p)`` image embeddings.
        """
        enc = self.image_encoder
        use_ckpt = self.run.grad_checkpointing and torch.is_grad_enabled() and self.training
        x = enc.patch_embed(images)
        if enc.pos_embed is not None:
            x = x + enc.pos_embed
        for i, blk in enumerate(enc.blocks):
            if block_offsets is not None:
                x = x + block_offsets[i][:, None, None, :].to(x.dtype)
            x = checkpoint(blk, x, use_reentrant=False) if use_ckpt else blk(x)
        return enc.neck(x.permute(0, 3, 1, 2))

    def decode(
        self,
        image_embeddings: torch.Tensor,
        sparse: torch.Tensor | None = None,
        *,
        multimask: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """SAM's mask decoder per image; dense prompt = ``no_mask_embed``.

        Args:
            image_embeddings: ``BxCxhxw``.
            sparse: ``BxTxC`` prompt tokens, or None for no sparse prompt.
            multimask: return SAM's 3 multimask outputs instead of the single mask.

        Returns:
            Mask logits ``BxKx(S/4)x(S/4)`` (K = 1 or 3) and IoU predictions ``BxK``.
        """
        b = image_embeddings.shape[0]
        pe = self.prompt_encoder
        c = pe.embed_dim
        if sparse is None:
            sparse = image_embeddings.new_zeros((b, 0, c))
        dense = pe.no_mask_embed.weight.reshape(1, -1, 1, 1)
        masks, iou = decode_masks(
            self.mask_decoder, image_embeddings, pe.get_dense_pe(), sparse, dense
        )
        sl = slice(1, None) if multimask else slice(0, 1)
        masks, iou = masks[:, sl], iou[:, sl]
        if masks.shape[-1] != self.mask_size:
            masks = F.adaptive_avg_pool2d(masks, self.mask_size)
        return masks, iou

    def _check_inputs(self, images: torch.Tensor, audio: torch.Tensor | None) -> None:
        s = self.image_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, s, s):
            raise ValueError(f"{self.name} expects images [B,3,{s},{s}], got {tuple(images.shape)}")
        if audio is not None and audio.shape[0] != images.shape[0]:
            raise ValueError(
                f"audio batch {audio.shape[0]} differs from image batch {images.shape[0]}"
            )


@functools.cache
def _cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively (fast), i.e. ``autocast="auto"`` uses it.

    CUDA: ``torch.cuda.is_bf16_supported()`` (Ampere and newer). CPU: the AVX512-BF16 or AMX
    instructions (elsewhere bf16 matmuls are emulated and slower than fp32).
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _cpu_has_native_bf16()
    return False
