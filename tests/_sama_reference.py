"""A test-local reference SAMA-AVS: the paper's model written the plain way on
segment-anything's modules as shipped (eager attention, one decoder call per image), holding
the weights of an ``avsmodel`` model. The fast paths of ``avsmodel`` are checked against it.
"""

from __future__ import annotations

import copy
from functools import partial

import torch
import torch.nn.functional as F
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, TwoWayTransformer
from torch import nn

from avsmodel.task import SegmentationTask


class ReferenceSamaAvs(nn.Module):
    """SAMA-AVS with the weights and trainable set of ``project`` (an avsmodel SAMA-AVS)."""

    def __init__(self, project: nn.Module) -> None:
        super().__init__()
        c = project.config
        self.mask_size = c.image_size // 4
        self.image_encoder = ImageEncoderViT(
            depth=c.encoder_depth,
            embed_dim=c.encoder_embed_dim,
            img_size=c.image_size,
            mlp_ratio=4,
            norm_layer=partial(nn.LayerNorm, eps=1e-6),
            num_heads=c.encoder_num_heads,
            patch_size=c.patch_size,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=c.encoder_global_attn_indexes,
            window_size=c.window_size,
            out_chans=c.prompt_embed_dim,
        )
        grid = c.image_size // c.patch_size
        self.prompt_encoder = PromptEncoder(
            embed_dim=c.prompt_embed_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(c.image_size, c.image_size),
            mask_in_chans=c.mask_in_chans,
        )
        self.mask_decoder = MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=c.decoder_depth,
                embedding_dim=c.prompt_embed_dim,
                mlp_dim=c.decoder_mlp_dim,
                num_heads=c.decoder_num_heads,
            ),
            transformer_dim=c.prompt_embed_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=c.iou_head_hidden_dim,
        )
        self.audio_encoder = copy.deepcopy(project.audio_encoder)
        self.adapters = copy.deepcopy(project.adapters)
        self.load_state_dict(project.state_dict())
        trains = {n: p.requires_grad for n, p in project.named_parameters()}
        for n, p in self.named_parameters():
            p.requires_grad_(trains[n])

    def forward(self, images: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        b, n = audio.shape[:2]
        audio_trains = any(p.requires_grad for p in self.audio_encoder.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and audio_trains):
            clip = self.audio_encoder(audio.reshape(b * n, 1, 96, 64)).reshape(b, n, -1).mean(1)
        # Adapters: per block Linear+GELU, then the shared Linear; added before each block.
        offsets = [self.adapters.shared(block(clip)) for block in self.adapters.blocks]
        enc = self.image_encoder
        x = enc.patch_embed(images) + enc.pos_embed
        for offset, block in zip(offsets, enc.blocks, strict=True):
            x = block(x + offset[:, None, None, :])
        feats = enc.neck(x.permute(0, 3, 1, 2))
        masks = []
        for i in range(b):
            sparse, dense = self.prompt_encoder(points=None, boxes=None, masks=None)
            m, _ = self.mask_decoder(
                image_embeddings=feats[i : i + 1],
                image_pe=self.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=False,
            )
            masks.append(m)
        out = torch.cat(masks)
        if out.shape[-1] != self.mask_size:  # patch 8 (tiny): pooled to S/4 like the model
            out = F.adaptive_avg_pool2d(out, self.mask_size)
        return out


def make_pair(overrides: dict, *, image_size: int = 96, seed: int = 0) -> dict[str, nn.Module]:
    """``sama_avs_tiny`` with ``overrides`` (rel-pos tables filled) and its reference twin."""
    import avsmodel

    torch.manual_seed(seed)
    project = avsmodel.build_model("sama_avs_tiny", image_size=image_size, **overrides)
    with torch.no_grad():  # SAM zero-inits the rel-pos tables; real checkpoints are not zero
        for name, p in project.image_encoder.named_parameters():
            if "rel_pos" in name:
                p.normal_(0.0, 0.02)
    return {"reference": ReferenceSamaAvs(project).train(), "project": project.train()}


def make_batch(audio_examples: int, image_size: int, *, b: int = 2, seed: int = 1) -> dict:
    """Normal images and log-mels, disc masks at ``S/4``."""
    g = torch.Generator().manual_seed(seed)
    s = image_size
    images = torch.randn(b, 3, s, s, generator=g)
    audio = torch.randn(b, audio_examples, 1, 96, 64, generator=g)
    yy, xx = torch.meshgrid(torch.arange(s // 4), torch.arange(s // 4), indexing="ij")
    cy, cx = (torch.rand(b, 2, generator=g) * (s // 4)).unbind(1)
    r = s // 16
    mask = (yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2 < r * r
    return {"image": images, "audio": audio, "mask": mask.float()}


def loss_and_grads(model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict]:
    """Loss of one training step and the gradients of the trainable parameters (float64)."""
    model.zero_grad(set_to_none=True)
    loss, _ = SegmentationTask(model)(batch)
    loss.backward()
    grads = {n: p.grad.double() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return loss.detach().double(), grads


def grads_diff(models: dict[str, nn.Module], batch: dict) -> dict[str, float]:
    """Relative loss and gradient differences, project vs reference."""
    lr, gr = loss_and_grads(models["reference"], batch)
    lp, gp = loss_and_grads(models["project"], batch)
    assert gr.keys() == gp.keys(), sorted(gr.keys() ^ gp.keys())
    total = torch.cat([g.flatten() for g in gr.values()]).norm()
    diff = torch.cat([(gp[n] - g).flatten() for n, g in gr.items()]).norm()
    # Per parameter relative to its own gradient, floored at 1e-4 of the whole gradient
    # (some gradients are zero in exact arithmetic and hold only rounding noise).
    floor = 1e-4 * total
    worst = max(float((gp[n] - g).norm() / torch.maximum(g.norm(), floor)) for n, g in gr.items())
    return {
        "loss_rel_diff": float((lp - lr).abs() / lr.abs()),
        "grad_rel_diff": float(diff / total),
        "grad_rel_diff_max": worst,
    }


def grads_vs_float64(models: dict[str, nn.Module], batch: dict) -> dict[str, float]:
    """Worst per-parameter gradient error of each fp32 model against a float64 reference.

    The float64 reference is a copy of ``models["reference"]`` in double precision (SAM's
    positional encoding builds its grid in float32; its coordinates are cast to float64 in
    the copy). Returns ``{"reference": err, "project": err}``, each the largest
    ``||g - g64|| / max(||g64||, 1e-4 * ||all g64||)`` over the trainable parameters: the
    rounding error of SAM's eager code and of the project's fast path, on one scale.
    """
    ref64 = copy.deepcopy(models["reference"]).double()
    pe = ref64.prompt_encoder.pe_layer
    encode = pe._pe_encoding
    pe._pe_encoding = lambda coords: encode(coords.double())
    _, g64 = loss_and_grads(ref64, {k: v.double() for k, v in batch.items()})
    floor = 1e-4 * torch.cat([g.flatten() for g in g64.values()]).norm()
    out = {}
    for name in ("reference", "project"):
        _, g = loss_and_grads(models[name], batch)
        out[name] = max(
            float((g[n] - x).norm() / torch.maximum(x.norm(), floor)) for n, x in g64.items()
        )
    return out


def train_steps(model: nn.Module, batch: dict, steps: int = 10) -> list[float]:
    """Losses of ``steps`` AdamW steps on one batch."""
    task = SegmentationTask(model)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    losses = []
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss, _ = task(batch)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses
