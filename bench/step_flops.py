"""Floating-point operations of one training step / evaluation frame, for GPU-time estimates.

Counts with ``torch.utils.flop_counter.FlopCounterMode`` on the meta device (no memory, no
weights, a few seconds even for ViT-H): one SAMA-AVS / AP-SAM training step (forward, BCE
loss, backward through whatever needs gradients) and one evaluation forward per image, and
the SAM oracle's automatic-mask-generator decoder work (the image encoder plus the point
grid's prompts through the mask decoder, 64 prompts per batch as segment-anything does).
docs/reproduce.md turns these counts into estimated GPU hours.

Examples::

    .venv/bin/python bench/step_flops.py --model sama_avs_vit_h
    .venv/bin/python bench/step_flops.py --model sam_oracle_vit_h --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def count(model_name: str, image_size: int | None = None) -> dict[str, float]:
    """TFLOP of one training step, one eval forward and (oracle) the generator's decoder."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    import avsmodel

    with torch.device("meta"):
        kw = {} if image_size is None else {"image_size": image_size}
        m = avsmodel.build_model(model_name, attention="eager", **kw)
        s = m.image_size
        x = torch.randn(1, 3, s, s)
        a = torch.randn(1, m.audio_examples, 1, 96, 64)
        gt = torch.zeros(1, s // 4, s // 4)
    out: dict[str, float] = {"image_size": s}
    is_oracle = m.config.family == "sam_oracle"
    fc = FlopCounterMode(display=False)
    with fc, torch.no_grad():
        m(x, a, gt=gt) if is_oracle else m(x, a)
    out["eval_tflop"] = fc.get_total_flops() / 1e12
    if not is_oracle:
        fc = FlopCounterMode(display=False)
        with fc:
            F.binary_cross_entropy_with_logits(m(x, a)[:, 0], gt).backward()
        out["train_step_tflop"] = fc.get_total_flops() / 1e12
    else:
        e = m.config.embedding_size
        c = m.config.prompt_embed_dim
        with torch.device("meta"):
            emb, pe = torch.randn(1, c, e, e), torch.randn(1, c, e, e)
            sparse, dense = torch.randn(64, 2, c), torch.randn(64, c, e, e)
        fc = FlopCounterMode(display=False)
        with fc, torch.no_grad():
            m.mask_decoder(
                image_embeddings=emb,
                image_pe=pe,
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=True,
            )
        batches = (32 * 32) // 64
        out["everything_decoder_tflop"] = fc.get_total_flops() / 1e12 * batches
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--image-size", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = dict(model=args.model, **count(args.model, args.image_size))
    print(json.dumps(r) if args.json else "\n".join(f"{k:26} {v}" for k, v in r.items()))


if __name__ == "__main__":
    main()
