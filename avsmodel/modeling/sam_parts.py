"""SAM's own modules, built from a :class:`ModelConfig`, and a batched mask decoder call.

The parts are ``segment_anything.modeling`` classes constructed with the same arguments as
``segment_anything.build_sam._build_sam``, so their state-dict keys and shapes equal the
official checkpoints' (``image_encoder.*``, ``prompt_encoder.*``, ``mask_decoder.*``).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    TwoWayTransformer,
)
from torch import nn

if TYPE_CHECKING:
    from avsmodel.modeling.config import ModelConfig

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


def build_image_encoder(cfg: ModelConfig) -> ImageEncoderViT:
    """SAM's ViT image encoder for ``cfg`` (``[B,3,S,S] -> [B,prompt_dim,S/p,S/p]``)."""
    return ImageEncoderViT(
        depth=cfg.encoder_depth,
        embed_dim=cfg.encoder_embed_dim,
        img_size=cfg.image_size,
        mlp_ratio=4,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
        num_heads=cfg.encoder_num_heads,
        patch_size=cfg.patch_size,
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=list(cfg.encoder_global_attn_indexes),
        window_size=cfg.window_size,
        out_chans=cfg.prompt_embed_dim,
    )


def build_prompt_encoder(cfg: ModelConfig) -> PromptEncoder:
    """SAM's prompt encoder (we use its ``no_mask_embed`` and positional encoding)."""
    e = cfg.embedding_size
    return PromptEncoder(
        embed_dim=cfg.prompt_embed_dim,
        image_embedding_size=(e, e),
        input_image_size=(cfg.image_size, cfg.image_size),
        mask_in_chans=cfg.mask_in_chans,
    )


#: The prompt encoder's random-frequency positional encoding (a buffer: it never trains).
PE_KEY = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
#: SAM's ``PositionEmbeddingRandom`` scale (``scale=None`` there means 1.0).
PE_SCALE = 1.0


def authors_prompt_init(prompt_encoder: PromptEncoder, seed: int) -> None:
    """Give ``prompt_encoder`` the positional encoding and no-mask embedding the authors
    trained with.

    Their model keeps ``pe_layer`` and ``no_mask_embed`` at its top level while SAM's
    checkpoint names them ``prompt_encoder.*``, so ``load_state_dict(strict=False)`` never
    filled them: they trained with a fresh ``PositionEmbeddingRandom`` (``PE_SCALE *
    randn(2, C/2)``) and a fresh ``nn.Embedding(1, C)`` (``N(0, 1)``, trainable). Both are
    drawn here, in that order, from one generator seeded with ``seed``.
    """
    g = torch.Generator().manual_seed(int(seed))
    pe = prompt_encoder.pe_layer.positional_encoding_gaussian_matrix
    emb = prompt_encoder.no_mask_embed.weight
    with torch.no_grad():
        pe.copy_(PE_SCALE * torch.randn(tuple(pe.shape), generator=g))
        emb.copy_(torch.randn(tuple(emb.shape), generator=g))


def build_mask_decoder(cfg: ModelConfig) -> MaskDecoder:
    """SAM's mask decoder (3 multimask outputs + the single-mask token, as officially)."""
    return MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(
            depth=cfg.decoder_depth,
            embedding_dim=cfg.prompt_embed_dim,
            mlp_dim=cfg.decoder_mlp_dim,
            num_heads=cfg.decoder_num_heads,
        ),
        transformer_dim=cfg.prompt_embed_dim,
        iou_head_depth=3,
        iou_head_hidden_dim=cfg.iou_head_hidden_dim,
    )


def decode_masks(
    decoder: MaskDecoder,
    image_embeddings: torch.Tensor,
    image_pe: torch.Tensor,
    sparse_prompt_embeddings: torch.Tensor,
    dense_prompt_embeddings: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``MaskDecoder.predict_masks`` for B images with one prompt set each.

    SAM's ``predict_masks`` assumes one image and many prompts: it repeats the image
    embedding once per prompt, so a batch of B images would become B*B pairs. This runs the
    same computation with the decoder's own sub-modules, pairing image i with prompt i
    (equal to calling ``predict_masks`` on each image separately; tested).

    Args:
        decoder: SAM's mask decoder.
        image_embeddings: ``Bx(C)xhxw``.
        image_pe: ``1x(C)xhxw`` dense positional encoding.
        sparse_prompt_embeddings: ``BxTx(C)`` (T may be 0).
        dense_prompt_embeddings: ``Bx(C)xhxw`` or ``1x(C)xhxw``.

    Returns:
        All mask logits ``Bx(1+num_multimask)x4hx4w`` and IoU predictions ``Bx(1+num_multimask)``.
    """
    b = image_embeddings.shape[0]
    output_tokens = torch.cat([decoder.iou_token.weight, decoder.mask_tokens.weight], dim=0)
    output_tokens = output_tokens.unsqueeze(0).expand(b, -1, -1)
    tokens = torch.cat((output_tokens, sparse_prompt_embeddings.to(output_tokens.dtype)), dim=1)
    src = image_embeddings + dense_prompt_embeddings
    pos_src = image_pe.expand(b, -1, -1, -1)
    _, c, h, w = src.shape
    hs, src = decoder.transformer(src, pos_src, tokens)
    iou_token_out = hs[:, 0, :]
    mask_tokens_out = hs[:, 1 : (1 + decoder.num_mask_tokens), :]
    src = src.transpose(1, 2).reshape(b, c, h, w)
    upscaled = decoder.output_upscaling(src)
    hyper_in = torch.stack(
        [mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(decoder.output_hypernetworks_mlps)],
        dim=1,
    )
    _, c2, h2, w2 = upscaled.shape
    masks = (hyper_in @ upscaled.reshape(b, c2, h2 * w2)).reshape(b, -1, h2, w2)
    iou_pred = decoder.iou_prediction_head(iou_token_out)
    return masks, iou_pred


class SamParts(nn.Module):
    """Holder used by tests and the checkpoint helpers: the three SAM modules of a config."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.image_encoder = build_image_encoder(cfg)
        self.prompt_encoder = build_prompt_encoder(cfg)
        self.mask_decoder = build_mask_decoder(cfg)
