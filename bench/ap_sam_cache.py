"""AP-SAM training step with and without the image-embedding cache.

AP-SAM's image encoder is frozen and never sees audio, so from the second epoch on every
image's embedding can come from the cache (``embedding_cache`` in the model config). This
times a full training step (forward, BCE + soft-IoU loss, backward, AdamW step) when the
image is new (encoder runs: the first epoch) and when it is cached (every later epoch).

    .venv/bin/python bench/ap_sam_cache.py --model ap_sam_vit_b --image-size 512 --steps 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="ap_sam_vit_b")
    ap.add_argument("--image-size", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F

    from avsmodel import build_model
    from avsmodel.recipe import load_config
    from avsmodel.task import soft_iou_loss

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    overrides = dict(load_config(args.model).model)
    overrides.update(image_size=args.image_size, embedding_cache=1024)
    if args.model.endswith("_tiny"):
        overrides["train_image_encoder"] = False
    model = build_model(args.model, **overrides).train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    b, s = args.batch_size, model.image_size
    images = torch.randn(b, 3, s, s)
    audio = torch.randn(b, model.audio_examples, 1, 96, 64)
    gt = (torch.rand(b, model.mask_size, model.mask_size) > 0.5).float()

    def step(keys: list[str]) -> float:
        t0 = time.perf_counter()
        logits = model(images, audio, image_keys=keys)[:, 0].float()
        loss = F.binary_cross_entropy_with_logits(logits, gt) + soft_iou_loss(logits, gt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return time.perf_counter() - t0

    step([f"warm{i}" for i in range(b)])
    miss = [step([f"new{n}-{i}" for i in range(b)]) for n in range(args.steps)]
    hit = [step([f"new0-{i}" for i in range(b)]) for _ in range(args.steps)]
    res = {
        "model": args.model,
        "image_size": s,
        "batch_size": b,
        "threads": args.threads,
        "steps": args.steps,
        "step_s_new_image": statistics.median(miss),
        "step_s_cached": statistics.median(hit),
    }
    res["speedup"] = res["step_s_new_image"] / res["step_s_cached"]
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:18s} {v:.4f}" if isinstance(v, float) else f"{k:18s} {v}")


if __name__ == "__main__":
    main()
