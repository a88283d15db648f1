"""The CUDA paths against independent references (marked ``cuda``; skipped without a GPU).

Run them on a machine with a GPU: ``python -m pytest -m cuda tests/test_cuda.py``.

* SDPA attention (:func:`~avsmodel.modeling.attention.rel_pos_sdpa`: the rel-pos terms
  folded into queries and keys make the head width ``d + H + W``, zero-padded to a multiple
  of 8 for the fused kernels: 64 + 28 -> 96 and 80 + 28 -> 112 in a 14x14 window, 80 + 128
  in ViT-H's global blocks) equals segment-anything's eager attention to 1e-4 (relative
  norm) in fp32, outputs and gradients; and the whole tiny model with SDPA equals the plain
  eager reference (``tests/_sama_reference.py``) to 1e-4.
* bf16 autocast stays within the tolerance documented in ``tests/test_speed_numerics.py``
  (bf16 keeps 8 mantissa bits): kernel outputs within 3e-2 of fp32 eager; the model's loss
  within 1e-3 and its trainable gradient within 1e-1 of the fp32 reference.
* A few AdamW steps of the tiny model on CUDA give the CPU's losses to 1e-4 (fp32).
* ``avsmodel.evaluate`` on CUDA (batched, pinned memory, a loader worker) gives the CPU's
  J and F (all protocols) to 1e-5.

TF32 is switched off for these comparisons (fp32 means fp32); every check takes a second or
a few on a GPU.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from _sama_reference import grads_diff, make_batch, make_pair, train_steps
from _train_helpers import make_manifest, seeded_checkpoint

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="needs a CUDA GPU (torch.cuda.is_available() is False)",
    ),
]

DEVICE = "cuda"


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


@pytest.fixture(autouse=True)
def strict_fp32():
    """fp32 without TF32 (matmuls and convolutions), restored afterwards."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def eager_attention(q, k, v, rh, rw, size, scale):
    """segment-anything's attention: the full matrix, decomposed rel-pos, softmax."""
    from segment_anything.modeling.image_encoder import add_decomposed_rel_pos

    B, nh, N, d = q.shape
    q3, k3, v3 = (t.reshape(B * nh, N, d) for t in (q, k, v))
    attn = add_decomposed_rel_pos((q3 * scale) @ k3.transpose(-2, -1), q3, rh, rw, size, size)
    return (attn.softmax(-1) @ v3).view(B, nh, N, d)


def attention_case(device: str, size: tuple[int, int], d: int, bf16: bool = False) -> dict:
    """Output and gradient differences of ``rel_pos_sdpa`` vs eager (fp32) on ``device``."""
    from avsmodel.modeling.attention import rel_pos_sdpa

    g = torch.Generator().manual_seed(0)
    n = size[0] * size[1]
    shapes = [(2, 3, n, d)] * 3 + [(2 * size[0] - 1, d), (2 * size[1] - 1, d)]
    ins = [torch.randn(s, generator=g).to(device).requires_grad_(True) for s in shapes]
    dout = torch.randn(2, 3, n, d, generator=g).to(device)
    ref = eager_attention(*ins, size, d**-0.5)
    g_ref = torch.autograd.grad(ref, ins, dout)
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
        out = rel_pos_sdpa(*ins, size, d**-0.5)
    g_out = torch.autograd.grad(out, ins, dout)
    return {
        "out": rel(out.float(), ref),
        "grads": [rel(a, b) for a, b in zip(g_out, g_ref, strict=True)],
    }


# (token grid, head width): a 14x14 window (ViT-B/L/H) and a 64x64 global block at 1024 px;
# head width 64 (ViT-B/L) and 80 (ViT-H, padded for the fused kernels).
ATTENTION = [((14, 14), 64), ((14, 14), 80), ((64, 64), 80)]


@pytest.mark.parametrize(("size", "d"), ATTENTION, ids=["win-d64", "win-d80", "global-d80"])
def test_sdpa_attention_equals_eager_fp32(size, d) -> None:
    r = attention_case(DEVICE, size, d)
    assert r["out"] < 1e-4, r
    assert max(r["grads"]) < 1e-4, r


@pytest.mark.parametrize(("size", "d"), ATTENTION, ids=["win-d64", "win-d80", "global-d80"])
def test_sdpa_attention_bf16_within_tolerance(size, d) -> None:
    r = attention_case(DEVICE, size, d, bf16=True)
    assert r["out"] < 3e-2, r
    assert max(r["grads"]) < 1e-1, r


def model_case(device: str, overrides: dict) -> dict:
    """:func:`grads_diff` of the tiny project model vs the eager fp32 reference on ``device``."""
    models = make_pair({"window_size": 5, "audio_examples": 2, **overrides})
    models = {k: m.to(device) for k, m in models.items()}
    batch = make_batch(2, 96)
    batch = {k: v.to(device) for k, v in batch.items()}
    return grads_diff(models, batch)


def test_model_sdpa_equals_eager_reference_fp32() -> None:
    diff = model_case(DEVICE, {"attention": "sdpa"})
    assert diff["loss_rel_diff"] < 1e-4, diff
    assert diff["grad_rel_diff_max"] < 1e-4, diff


def test_model_bf16_within_documented_tolerance() -> None:
    diff = model_case(DEVICE, {"attention": "sdpa", "autocast": "bf16"})
    assert diff["loss_rel_diff"] < 1e-3, diff
    assert diff["grad_rel_diff"] < 1e-1, diff


def training_case(device: str, steps: int = 5) -> dict:
    """Losses of ``steps`` AdamW steps of the tiny recipe model on the CPU and on ``device``
    from the same weights and batch."""
    cpu = make_pair({"attention": "sdpa", "window_size": 5})["project"]
    other = copy.deepcopy(cpu).to(device)
    batch = make_batch(cpu.audio_examples, 96)
    losses_cpu = train_steps(cpu, batch, steps)
    losses_dev = train_steps(other, {k: v.to(device) for k, v in batch.items()}, steps)
    return {"cpu": losses_cpu, "device": losses_dev}


def test_training_steps_on_cuda_equal_the_cpu_fp32() -> None:
    r = training_case(DEVICE)
    assert r["cpu"][-1] < r["cpu"][0]  # it trains
    for a, b in zip(r["device"], r["cpu"], strict=True):
        assert abs(a - b) <= 1e-4 * abs(b), r


def eval_case(device: str, root: Path) -> tuple[dict, dict]:
    """``evaluate`` of one checkpoint on the CPU and on ``device`` (batched, one worker)."""
    from avsmodel.evaluation import evaluate

    manifest = make_manifest(root / "m", n={"train": 2, "val": 2, "test": 9})
    ckpt = seeded_checkpoint(root / "model.pt")
    kw = dict(manifest=manifest, split="test", progress=False, batch_size=4, fscore_batch=4)
    return evaluate(ckpt, device="cpu", **kw), evaluate(ckpt, device=device, workers=1, **kw)


def test_eval_on_cuda_equals_the_cpu(tmp_path: Path) -> None:
    cpu, dev = eval_case(DEVICE, tmp_path)
    assert dev["device"].startswith("cuda") and cpu["device"] == "cpu"
    assert dev["n"] == cpu["n"] == 9 and 0 < cpu["miou"] < 1
    assert dev["miou"] == pytest.approx(cpu["miou"], abs=1e-5)
    for p, f in cpu["fscore"].items():
        assert dev["fscore"][p] == pytest.approx(f, abs=1e-5), p
    assert dev["fscore_official"] == pytest.approx(cpu["fscore_official"], abs=1e-5)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two GPUs (NCCL)")
def test_torchrun_eval_on_two_gpus_equals_one_gpu(tmp_path: Path) -> None:
    from _train_helpers import torchrun_eval

    from avsmodel.evaluation import evaluate

    manifest = make_manifest(tmp_path / "m", n={"train": 2, "val": 2, "test": 7})
    ckpt = seeded_checkpoint(tmp_path / "model.pt")
    args = ["--manifest", str(manifest), "--split", "test", "--batch-size", "2"]
    ddp = torchrun_eval(ckpt, [*args, "--device", "cuda"], nproc=2, cwd=tmp_path)
    one = evaluate(ckpt, manifest=manifest, split="test", batch_size=2, device="cuda:0")
    assert ddp["world_size"] == 2
    for k in ("miou", "fscore", "per_category", "n"):
        assert ddp[k] == one[k], k
