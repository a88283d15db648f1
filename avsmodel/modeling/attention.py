"""Fast attention for SAM's image encoder, with the same weights and the same maths.

:func:`enable_sdpa_attention` rewires a ``segment_anything`` :class:`ImageEncoderViT` in place
(``forward`` of its ``Attention`` and ``Block`` instances is rebound; parameters and
``state_dict()`` are untouched) so that no layer materialises and keeps the
``(B*heads) x N x N`` attention matrix for backward.

SAM adds a decomposed relative-position bias to the attention logits
(``add_decomposed_rel_pos``)::

    logit[i, j] = scale * q_i . k_j + rel_h[i, h(j)] + rel_w[i, w(j)]
    rel_h = einsum(q, Rh)  (N x k_h),   rel_w = einsum(q, Rw)  (N x k_w)

The bias depends on ``q``, which needs a gradient whenever the encoder's input does (audio
adapters), so it must stay differentiable. It is folded into the logit matmul exactly: the
query gains the bias rows and the key one-hot columns selecting its row and column::

    qa = [scale * q, rel_h, rel_w]        ka = [k, onehot(h(j)), onehot(w(j))]
    qa_i . ka_j = logit[i, j]

* CPU: :class:`_RelPosAttention`, batched matmuls in chunks, probabilities recomputed in
  backward (saves ``q, k, v, rel_h, rel_w`` only); faster here than PyTorch's CPU flash kernel.
* CUDA: :func:`rel_pos_sdpa`, the same augmented ``q``/``k`` through
  :func:`torch.nn.functional.scaled_dot_product_attention` (an explicit float ``attn_mask``
  that requires grad would make SDPA fall back to its unfused maths kernel).

Also, windowed blocks skip the zero padding that ``window_partition`` adds (e.g. 32x32 tokens
padded to 42x42 for 14x14 windows at 512 px): ``qkv`` runs on the real tokens (padded keys and
values are the ``qkv`` bias, the projection of a zero token) and ``proj`` after the crop; and
linears whose weights are frozen keep no (autocast) weight copy for backward. Results equal
SAM's block (fp32: ~1e-7 relative; see ``tests/test_speed_numerics.py``).
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:  # pragma: no cover
    from segment_anything.modeling.image_encoder import Attention, Block, ImageEncoderViT

__all__ = ["enable_sdpa_attention", "rel_pos_sdpa", "sdpa_enabled"]


def rel_pos_sdpa(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    rel_pos_h: torch.Tensor | None,
    rel_pos_w: torch.Tensor | None,
    size: tuple[int, int],
    scale: float,
) -> torch.Tensor:
    """SAM attention (with optional decomposed rel-pos bias) through fused SDPA.

    Args:
        q: Queries ``B x heads x N x d`` with ``N = size[0] * size[1]`` (row-major tokens).
        k: Keys, same shape as ``q``.
        v: Values, same shape as ``q``.
        rel_pos_h: SAM's ``rel_pos_h`` (``L x d``) or ``None`` for no relative bias.
        rel_pos_w: SAM's ``rel_pos_w`` (``L x d``) or ``None``.
        size: Token grid ``(H, W)`` (queries and keys share it, as in SAM's encoder).
        scale: Logit scale (SAM: ``d ** -0.5``).

    Returns:
        ``B x heads x N x d`` attention output, equal to SAM's eager computation.
    """
    from segment_anything.modeling.image_encoder import get_rel_pos

    if rel_pos_h is None or rel_pos_w is None:
        return F.scaled_dot_product_attention(q, k, v, scale=scale)
    B, nh, N, d = q.shape
    H, W = size
    Rh = get_rel_pos(H, H, rel_pos_h)  # H x H x d
    Rw = get_rel_pos(W, W, rel_pos_w)  # W x W x d
    r_q = q.reshape(B * nh, H, W, d)
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, Rh.to(q.dtype)).reshape(B, nh, N, H)
    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, Rw.to(q.dtype)).reshape(B, nh, N, W)
    q_aug = torch.cat([q * scale, rel_h.to(q.dtype), rel_w.to(q.dtype)], dim=-1)
    eye_h = torch.eye(H, dtype=q.dtype, device=q.device)
    eye_w = torch.eye(W, dtype=q.dtype, device=q.device)
    onehot = torch.cat(
        [
            eye_h[:, None, :].expand(H, W, H).reshape(N, H),  # key j -> row h(j)
            eye_w[None, :, :].expand(H, W, W).reshape(N, W),  # key j -> column w(j)
        ],
        dim=-1,
    )
    k_aug = torch.cat([k, onehot.expand(B, nh, N, H + W)], dim=-1)
    extra = -(d + H + W) % 8  # fused CUDA kernels want head widths that are multiples of 8
    if extra:
        q_aug, k_aug = F.pad(q_aug, (0, extra)), F.pad(k_aug, (0, extra))
    v_aug = F.pad(v, (0, H + W + extra))
    out = F.scaled_dot_product_attention(q_aug, k_aug, v_aug, scale=1.0)
    return out[..., :d]


class _RelPosAttention(torch.autograd.Function):
    """``softmax(scale * q k^T + bias) v`` with SAM's decomposed bias, recomputed in backward.

    ``bias[i, (h, w)] = rel_h[i, h] + rel_w[i, w]`` is folded into the logit matmul: with
    ``qa = [scale * q, rel_h, rel_w]`` and ``ka = [k, onehot(h), onehot(w)]``,
    ``qa ka^T`` equals the biased logits, and in backward ``ds ka`` yields the gradients of
    ``q``, ``rel_h`` and ``rel_w`` at once. Saves only ``q, k, v, rel_h, rel_w`` (no ``N x N``
    matrix); the probabilities are recomputed in backward. Rows of the batch are processed in
    chunks of at most ``_CHUNK_ELEMS`` logits to bound the transient memory.
    """

    @staticmethod
    def _augment(q, k, rel_h, rel_w, scale):
        kh, kw = rel_h.shape[-1], rel_w.shape[-1]
        qs = q * scale
        qa = torch.cat([qs, rel_h, rel_w], dim=-1)
        eye_h = torch.eye(kh, dtype=k.dtype, device=k.device)
        eye_w = torch.eye(kw, dtype=k.dtype, device=k.device)
        onehot = torch.cat(
            [
                eye_h[:, None, :].expand(kh, kw, kh).reshape(kh * kw, kh),  # key -> its row
                eye_w[None, :, :].expand(kh, kw, kw).reshape(kh * kw, kw),  # key -> its column
            ],
            dim=-1,
        )
        ka = torch.cat([k, onehot.expand(k.shape[0], -1, -1)], dim=-1)
        return qs, qa, ka

    @staticmethod
    def forward(ctx, q, k, v, rel_h, rel_w, scale):  # noqa: D102
        out = torch.empty_like(q)
        _, qa, ka = _RelPosAttention._augment(q, k, rel_h, rel_w, scale)
        for sl in _chunks(q):
            p = torch.softmax(torch.bmm(qa[sl], ka[sl].transpose(1, 2)), -1)
            torch.bmm(p, v[sl], out=out[sl])
        ctx.save_for_backward(q, k, v, rel_h, rel_w)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, dout):  # noqa: D102
        q, k, v, rel_h, rel_w = ctx.saved_tensors
        scale = ctx.scale
        qs, qa, ka = _RelPosAttention._augment(q, k, rel_h, rel_w, scale)
        dout = dout.contiguous()
        dqa = torch.empty_like(qa)
        dk, dv = torch.empty_like(k), torch.empty_like(v)
        for sl in _chunks(q):
            p = torch.softmax(torch.bmm(qa[sl], ka[sl].transpose(1, 2)), -1)
            torch.bmm(p.transpose(1, 2), dout[sl], out=dv[sl])
            dp = torch.bmm(dout[sl], v[sl].transpose(1, 2))
            ds = torch._softmax_backward_data(dp, p, -1, p.dtype)
            del p, dp
            torch.bmm(ds, ka[sl], out=dqa[sl])
            torch.bmm(ds.transpose(1, 2), qs[sl], out=dk[sl])
        d, kh = q.shape[-1], rel_h.shape[-1]
        dq = dqa[..., :d].mul(scale)
        return dq, dk, dv, dqa[..., d : d + kh], dqa[..., d + kh :], None


#: Most attention logits held at once per chunk (4 Mi elements: 8 MiB in bf16).
_CHUNK_ELEMS = 1 << 22


def _chunks(q: torch.Tensor) -> list[slice]:
    bn, n = q.shape[:2]
    step = max(1, _CHUNK_ELEMS // (n * n))
    return [slice(i, min(bn, i + step)) for i in range(0, bn, step)]


def rel_pos_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    rel_pos_h: torch.Tensor | None,
    rel_pos_w: torch.Tensor | None,
    size: tuple[int, int],
    scale: float,
) -> torch.Tensor:
    """SAM attention without storing the attention matrix; picks the kernel by device.

    CUDA: fused SDPA (:func:`rel_pos_sdpa`). CPU: :class:`_RelPosAttention` (batched matmuls,
    probabilities recomputed in backward; faster than PyTorch's CPU flash kernel here).
    Arguments and result as :func:`rel_pos_sdpa`.
    """
    if q.device.type != "cpu" or rel_pos_h is None or rel_pos_w is None:
        return rel_pos_sdpa(q, k, v, rel_pos_h, rel_pos_w, size, scale)
    from segment_anything.modeling.image_encoder import get_rel_pos

    B, nh, N, d = q.shape
    H, W = size
    q3, k3, v3 = (t.reshape(B * nh, N, d) for t in (q, k, v))
    r_q = q3.view(B * nh, H, W, d)
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, get_rel_pos(H, H, rel_pos_h).to(q.dtype))
    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, get_rel_pos(W, W, rel_pos_w).to(q.dtype))
    rel_h = rel_h.reshape(B * nh, N, H).to(q.dtype)
    rel_w = rel_w.reshape(B * nh, N, W).to(q.dtype)
    with torch.autocast(q.device.type, enabled=False):
        out = _RelPosAttention.apply(q3, k3, v3, rel_h, rel_w, scale)
    return out.view(B, nh, N, d)


class _FrozenLinear(torch.autograd.Function):
    """``F.linear`` for a frozen weight that keeps no weight copy for backward.

    Under autocast, ``F.linear`` casts the fp32 weight to bf16 every call and saves that copy
    for backward (170 MB for ViT-B); here backward casts it again instead. Same values.
    """

    @staticmethod
    def forward(ctx, x, weight, bias):  # noqa: D102
        ctx.save_for_backward(weight)
        return torch.nn.functional.linear(
            x, weight.to(x.dtype), None if bias is None else bias.to(x.dtype)
        )

    @staticmethod
    def backward(ctx, dy):  # noqa: D102
        (weight,) = ctx.saved_tensors
        return dy @ weight.to(dy.dtype), None, None


def _linear(x: torch.Tensor, layer: torch.nn.Linear) -> torch.Tensor:
    w, b = layer.weight, layer.bias
    if w.requires_grad or (b is not None and b.requires_grad) or not torch.is_grad_enabled():
        return layer(x)
    dtype = x.dtype
    if torch.is_autocast_enabled(x.device.type):
        dtype = torch.get_autocast_dtype(x.device.type)
    with torch.autocast(x.device.type, enabled=False):
        return _FrozenLinear.apply(x.to(dtype), w, b)


def _mlp(block: Block, x: torch.Tensor) -> torch.Tensor:
    mlp = block.mlp
    return _linear(mlp.act(_linear(x, mlp.lin1)), mlp.lin2)


def _attention_forward(self: Attention, x: torch.Tensor) -> torch.Tensor:
    """Replacement for ``Attention.forward``: ``B x H x W x C`` -> ``B x H x W x C``."""
    B, H, W, C = x.shape
    qkv = _linear(x, self.qkv).reshape(B, H * W, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)  # B x heads x N x d
    out = _attend(self, q, k, v, (H, W))
    return _linear(out.transpose(1, 2).reshape(B, H, W, C), self.proj)


def _attend(
    attn: Attention, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    if attn.use_rel_pos:
        return rel_pos_attention(q, k, v, attn.rel_pos_h, attn.rel_pos_w, size, attn.scale)
    return rel_pos_attention(q, k, v, None, None, size, attn.scale)


def _block_forward(self: Block, x: torch.Tensor) -> torch.Tensor:
    """Replacement for ``Block.forward`` that skips the window padding (same result)."""

    ws = self.window_size
    if ws <= 0:
        x = x + self.attn(self.norm1(x))
        return x + _mlp(self, self.norm2(x))
    B, H, W, C = x.shape
    pad_h, pad_w = (ws - H % ws) % ws, (ws - W % ws) % ws
    if pad_h == 0 and pad_w == 0:
        from segment_anything.modeling.image_encoder import window_partition, window_unpartition

        windows, pad_hw = window_partition(self.norm1(x), ws)
        x = x + window_unpartition(self.attn(windows), ws, pad_hw, (H, W))
        return x + _mlp(self, self.norm2(x))
    attn = self.attn
    nh = attn.num_heads
    Hp, Wp = H + pad_h, W + pad_w
    qkv = _linear(self.norm1(x), attn.qkv)  # B x H x W x 3C, real tokens only
    # Padded tokens are zero after norm1, so their qkv is the bias.
    qkv = F.pad(qkv, (0, 0, 0, pad_w, 0, pad_h))
    if attn.qkv.bias is not None:
        fill = torch.ones(Hp, Wp, 1, dtype=qkv.dtype, device=qkv.device)
        fill[:H, :W] = 0
        qkv = qkv + fill * attn.qkv.bias.to(qkv.dtype)
    nw_h, nw_w = Hp // ws, Wp // ws
    qkv = (
        qkv.view(B, nw_h, ws, nw_w, ws, 3, nh, C // nh)
        .permute(5, 0, 1, 3, 6, 2, 4, 7)  # 3, B, nw_h, nw_w, heads, ws, ws, d
        .reshape(3, B * nw_h * nw_w, nh, ws * ws, C // nh)
    )
    q, k, v = qkv.unbind(0)
    out = _attend(attn, q, k, v, (ws, ws))  # B*nW x heads x ws*ws x d
    out = (
        out.view(B, nw_h, nw_w, nh, ws, ws, C // nh)
        .permute(0, 1, 4, 2, 5, 3, 6)  # B, nw_h, ws, nw_w, ws, heads, d
        .reshape(B, Hp, Wp, C)[:, :H, :W, :]
    )
    x = x + _linear(out, attn.proj)
    return x + _mlp(self, self.norm2(x))


def enable_sdpa_attention(
    image_encoder: ImageEncoderViT, *, skip_window_padding: bool = True
) -> None:
    """Route every attention layer of a SAM image encoder through fused SDPA, in place.

    Parameters, buffers and the state dict are unchanged (only ``forward`` methods are
    rebound on the module instances), so checkpoints load and save as before. Calling it twice
    is harmless.

    Args:
        image_encoder: A ``segment_anything`` ``ImageEncoderViT`` (any variant or image size).
        skip_window_padding: Also rebind each windowed ``Block.forward`` so that ``qkv`` and
            ``proj`` skip the zero padding added by window partitioning (same result; faster
            when the token grid is not a multiple of the window, e.g. 512 px).
    """
    from segment_anything.modeling.image_encoder import Attention, Block

    for module in image_encoder.modules():
        if isinstance(module, Attention):
            module.forward = types.MethodType(_attention_forward, module)
        elif isinstance(module, Block) and skip_window_padding:
            module.forward = types.MethodType(_block_forward, module)


def sdpa_enabled(image_encoder: ImageEncoderViT) -> bool:
    """Whether :func:`enable_sdpa_attention` has been applied to ``image_encoder``."""
    from segment_anything.modeling.image_encoder import Attention

    attns = [m for m in image_encoder.modules() if isinstance(m, Attention)]
    return bool(attns) and all(
        getattr(m.forward, "__func__", None) is _attention_forward for m in attns
    )
