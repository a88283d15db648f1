"""Training-step speed and peak memory of SAMA-AVS: the project's model vs a plain reference.

One run measures, on the same inputs and the same weights, a full training step (forward,
BCE + soft-IoU loss, backward, AdamW step) of

* ``reference``: the straightforward implementation, written here on segment-anything's
  modules as shipped (built by ``avsmodel.modeling.sam_parts``): ``ImageEncoderViT`` blocks
  called one by one with the audio offset added before each block (as the paper's code does),
  eager attention, fp32, no activation checkpointing, ``PromptEncoder``/``MaskDecoder.forward``
  per image; and
* ``project``: ``avsmodel.build_model(NAME, image_size=S, **recipe_model_overrides)``, i.e. the
  model as the training recipe configures it (``model:`` of ``paper.yaml``/``tiny.yaml``),
  plus any ``--set key=value`` overrides.

Both are built from one seeded state dict (the reference loads the project's, key for key).
Timing: both models live in one process and their steps alternate (warm-up excluded), so load
from other processes hits both alike; the median of ``--steps`` steps is reported (wall and
process CPU time). Peak memory: each variant runs in its own subprocess; on CPU it is the rise
of the peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs``) over the
resident size just before the first step, with glibc told to return freed blocks
(``MALLOC_MMAP_THRESHOLD_``); on CUDA ``torch.cuda.max_memory_allocated`` over the allocated
memory before the first step.

Examples::

    .venv/bin/python bench/model_speed.py --model sama_avs_vit_b --image-size 512 --json
    .venv/bin/python bench/model_speed.py --model sama_avs_tiny --steps 20 \\
        --set attention=sdpa --set autocast=bf16
    .venv/bin/python bench/model_speed.py --model sama_avs_vit_b --image-size 1024 \\
        --batch-size 1 --steps 2 --warmup 1
    # what each option is worth: every config timed against the reference in one process
    .venv/bin/python bench/model_speed.py --model sama_avs_vit_b --image-size 512 --threads 1 \\
        --ablation attention=sdpa --ablation autocast=bf16 --ablation attention=sdpa,autocast=bf16

``step_cpu_s`` (process CPU time) is the steadier number on a shared machine, and with
``--threads 1`` it is the step's own compute time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# ----------------------------------------------------------------------------- models
def reference_class() -> type:
    import torch
    from torch import nn

    from avsmodel.modeling.sam_parts import (
        build_image_encoder,
        build_mask_decoder,
        build_prompt_encoder,
    )

    class ReferenceSamaAvs(nn.Module):
        """SAMA-AVS the straightforward way, on segment-anything's modules as shipped."""

        def __init__(self, project: nn.Module) -> None:
            super().__init__()
            import copy

            c = project.config
            self.audio_examples = c.audio_examples
            self.mask_size = c.mask_size
            self.image_encoder = build_image_encoder(c)
            self.prompt_encoder = build_prompt_encoder(c)
            self.mask_decoder = build_mask_decoder(c)
            # Audio side as in the paper: the (frozen) audio encoder and the adapters
            # (per block Linear(128->512)+GELU, then one shared Linear(512->C)).
            self.audio_encoder = copy.deepcopy(project.audio_encoder)
            self.adapters = copy.deepcopy(project.adapters)
            self.load_state_dict(project.state_dict())
            for n, p in self.named_parameters():
                p.requires_grad_(dict(project.named_parameters())[n].requires_grad)

        def forward(self, images: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
            b, n = audio.shape[:2]
            frozen_audio = not any(p.requires_grad for p in self.audio_encoder.parameters())
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen_audio):
                emb = self.audio_encoder(audio.reshape(b * n, 1, 96, 64))
            emb = emb.reshape(b, n, -1).mean(1)
            hidden = torch.stack([blk(emb) for blk in self.adapters.blocks])
            offsets = self.adapters.shared(hidden)  # depth x B x C
            enc = self.image_encoder
            x = enc.patch_embed(images) + enc.pos_embed
            for i, blk in enumerate(enc.blocks):
                x = x + offsets[i][:, None, None, :]
                x = blk(x)
            feats = enc.neck(x.permute(0, 3, 1, 2))
            masks = []
            for i in range(b):  # SAM's decoder takes one image with its prompts
                sparse, dense = self.prompt_encoder(points=None, boxes=None, masks=None)
                m, _ = self.mask_decoder(
                    image_embeddings=feats[i : i + 1],
                    image_pe=self.prompt_encoder.get_dense_pe(),
                    sparse_prompt_embeddings=sparse,
                    dense_prompt_embeddings=dense,
                    multimask_output=False,
                )
                masks.append(m)
            masks = torch.cat(masks)
            if masks.shape[-1] != self.mask_size:  # patch 8 (tiny): the model pools to S/4
                masks = torch.nn.functional.adaptive_avg_pool2d(masks, self.mask_size)
            return masks

    return ReferenceSamaAvs


def recipe_overrides(name: str) -> dict[str, Any]:
    """``build_model`` overrides of the training recipe for ``name`` (``model:`` key)."""
    from avsmodel.recipe import load_config

    return dict(load_config(name).model)


def build_models(args: argparse.Namespace, variants: list[str]) -> dict[str, Any]:
    """Seeded project model (+ reference with the same weights) for ``variants``."""
    import torch

    import avsmodel

    overrides = {**recipe_overrides(args.model), **args.overrides}
    if args.image_size:
        overrides["image_size"] = args.image_size
    torch.manual_seed(args.seed)
    project = avsmodel.build_model(args.model, **overrides)
    if project.config.family != "sama_avs":
        raise SystemExit(f"{args.model}: only sama_avs models have a reference here")
    with torch.no_grad():  # SAM zero-inits rel-pos tables: give them values (real ckpts do)
        for name, p in project.image_encoder.named_parameters():
            if "rel_pos" in name:
                p.normal_(0.0, 0.02)
    out: dict[str, Any] = {}
    if "reference" in variants:
        out["reference"] = reference_class()(project)
    if "project" in variants:
        out["project"] = project
    dev = torch.device(args.device)
    return {k: m.to(dev).train() for k, m in out.items()}


def make_batch(args: argparse.Namespace, audio_examples: int, image_size: int) -> dict[str, Any]:
    """Deterministic inputs: normal images, normal log-mel, blob masks at ``S/4``."""
    import torch

    g = torch.Generator().manual_seed(args.seed + 1)
    b, s = args.batch_size, image_size
    images = torch.randn(b, 3, s, s, generator=g)
    audio = torch.randn(b, audio_examples, 1, 96, 64, generator=g)
    yy, xx = torch.meshgrid(torch.arange(s // 4), torch.arange(s // 4), indexing="ij")
    cy, cx = torch.rand(b, 2, generator=g).mul(s // 4).unbind(1)
    r = s // 16
    mask = ((yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2) < r * r
    dev = torch.device(args.device)
    return {"image": images.to(dev), "audio": audio.to(dev), "mask": mask.float().to(dev)}


def make_step(model: Any, batch: dict[str, Any]):
    """A closure running one training step; returns the loss."""
    import torch

    from avsmodel.task import SegmentationTask

    task = SegmentationTask(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4, weight_decay=0.01)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss, _ = task(batch)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step, params


# ----------------------------------------------------------------------------- workers
def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def grads_diff(models: dict[str, Any], batch: dict[str, Any]) -> dict[str, float]:
    """Loss and trainable-gradient differences project vs reference (before any step)."""
    import torch

    from avsmodel.task import SegmentationTask

    res = {}
    for k, m in models.items():
        m.zero_grad(set_to_none=True)
        loss, _ = SegmentationTask(m)(batch)
        loss.backward()
        res[k] = (
            loss.detach().double(),
            {n: p.grad.double() for n, p in m.named_parameters() if p.grad is not None},
        )
        m.zero_grad(set_to_none=True)
    (lr, gr), (lp, gp) = res["reference"], res["project"]
    if gr.keys() != gp.keys():
        raise RuntimeError(f"different trainable parameters: {sorted(gr.keys() ^ gp.keys())}")
    total = torch.cat([g.flatten() for g in gr.values()]).norm()
    diff = torch.cat([(gp[n] - g).flatten() for n, g in gr.items()]).norm()
    # Per parameter, relative to its own gradient, but floored at 1e-4 of the whole gradient:
    # some gradients are exactly zero in exact arithmetic (key biases of softmax attention) and
    # hold only rounding noise.
    floor = 1e-4 * total
    worst = max(float((gp[n] - g).norm() / torch.maximum(g.norm(), floor)) for n, g in gr.items())
    return {
        "loss_rel_diff": float((lp - lr).abs() / lr.abs()),
        "grad_rel_diff": float(diff / total),
        "grad_rel_diff_max": worst,
    }


def _alternate(
    args: argparse.Namespace, steps: dict[str, Any], *, verbose: bool = False
) -> tuple[dict[str, list[float]], ...]:
    """Run ``steps`` in turn, ``--warmup`` + ``--steps`` rounds.

    Returns:
        Per variant: wall seconds and process CPU seconds of the post-warm-up steps, and the
        losses of all steps.
    """
    walls: dict[str, list[float]] = {k: [] for k in steps}
    cpus: dict[str, list[float]] = {k: [] for k in steps}
    losses: dict[str, list[float]] = {k: [] for k in steps}
    for i in range(args.warmup + args.steps):
        for k, step in steps.items():
            _sync(args.device)
            w0, c0 = time.perf_counter(), time.process_time()
            loss = step()
            _sync(args.device)
            w1, c1 = time.perf_counter(), time.process_time()
            losses[k].append(loss)
            if i >= args.warmup:
                walls[k].append(w1 - w0)
                cpus[k].append(c1 - c0)
            if verbose:
                print(f"{k:9s} step {i} {w1 - w0:.3f}s loss {loss:.5f}", file=sys.stderr)
    return walls, cpus, losses


def run_timing(args: argparse.Namespace) -> dict[str, Any]:
    """Alternate reference/project steps; median wall and CPU seconds per step."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    models = build_models(args, ["reference", "project"])
    batch = make_batch(args, models["project"].audio_examples, models["project"].image_size)
    out: dict[str, Any] = grads_diff(models, batch)
    steps = {k: make_step(m, batch)[0] for k, m in models.items()}
    walls, cpus, losses = _alternate(args, steps, verbose=args.verbose)
    for k in steps:
        out[k] = {
            "step_s": statistics.median(walls[k]),
            "step_cpu_s": statistics.median(cpus[k]),
            "step_s_all": walls[k],
            "losses": losses[k],
        }
    out["config"] = models["project"].config.to_dict()
    out["run_options"] = models["project"].run.to_dict()
    out["threads"] = torch.get_num_threads()
    return out


def _proc_status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def run_memory(args: argparse.Namespace, variant: str) -> dict[str, Any]:
    """Peak memory of ``args.memory_steps`` training steps of one variant (own process)."""
    import gc

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    models = build_models(args, ["reference", "project"])
    model = models.pop(variant)
    del models
    batch = make_batch(args, model.audio_examples, model.mask_size * 4)
    step, _ = make_step(model, batch)
    gc.collect()
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        base = _proc_status("VmRSS")
    for _ in range(args.memory_steps):
        step()
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = _proc_status("VmHWM")
    return {"peak_bytes": peak - base, "base_bytes": base}


# ----------------------------------------------------------------------------- driver
def _worker(args: argparse.Namespace, mode: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", mode]
    cmd += [a for a in sys.argv[1:] if a != "--json"] + list(extra)
    env = dict(os.environ)
    if mode.startswith("memory"):
        env["MALLOC_MMAP_THRESHOLD_"] = "65536"  # freed tensors go back to the OS
        env["MALLOC_TRIM_THRESHOLD_"] = "0"
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"{mode} worker failed:\n{r.stderr[-4000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _conf_overrides(conf: str) -> dict[str, Any]:
    return _parse_set([c for c in conf.split(",") if c and c != "recipe"])


def run_ablation_timing(args: argparse.Namespace) -> dict[str, Any]:
    """Reference and one project model per ``--ablation`` config, steps alternating."""
    import torch

    import avsmodel

    if args.threads:
        torch.set_num_threads(args.threads)
    models = build_models(args, ["reference", "project"])
    state = models["project"].state_dict()
    image_size = models["project"].image_size
    batch = make_batch(args, models["project"].audio_examples, image_size)
    variants = {"reference": models["reference"]}
    del models
    base = {**recipe_overrides(args.model), "image_size": image_size}
    for conf in args.ablation:
        m = avsmodel.build_model(args.model, **{**base, **_conf_overrides(conf)})
        m.load_state_dict(state)
        variants[conf] = m.to(args.device).train()
    steps = {k: make_step(m, batch)[0] for k, m in variants.items()}
    walls, cpus, _ = _alternate(args, steps)
    return {
        k: {"step_s": statistics.median(walls[k]), "step_cpu_s": statistics.median(cpus[k])}
        for k in steps
    }


def ablation(args: argparse.Namespace) -> dict[str, Any]:
    """Time (alternating, one process) and peak memory (own process) of each config."""
    res = _worker(args, "ablation")
    res["reference"].update(_worker(args, "memory:reference"))
    for i, conf in enumerate(args.ablation):
        res[conf].update(_worker(args, "memory:project", ("--_conf", str(i))))
    ref = res["reference"]
    for r in res.values():
        r["speedup"] = ref["step_s"] / r["step_s"]
        r["speedup_cpu"] = ref["step_cpu_s"] / r["step_cpu_s"]
        r["memory_ratio"] = r["peak_bytes"] / ref["peak_bytes"]
        r["peak_mib"] = r["peak_bytes"] / 2**20
    return {"variants": res, "load_average": list(os.getloadavg())}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the workers and assemble the result dict (see module docstring)."""
    res = _worker(args, "timing")
    for v in ("reference", "project"):
        res[v].update(_worker(args, f"memory:{v}"))
    ref, proj = res["reference"], res["project"]
    b = args.batch_size
    for r in (ref, proj):
        r["images_per_s"] = b / r["step_s"]
        r["peak_mib"] = r["peak_bytes"] / 2**20
    res.update(
        model=args.model,
        image_size=res["config"]["image_size"],
        batch_size=b,
        device=args.device,
        steps=args.steps,
        warmup=args.warmup,
        overrides={**recipe_overrides(args.model), **args.overrides},
        speedup=ref["step_s"] / proj["step_s"],
        speedup_cpu=ref["step_cpu_s"] / proj["step_cpu_s"],
        memory_ratio=proj["peak_bytes"] / ref["peak_bytes"],
        load_average=list(os.getloadavg()),
    )
    return res


def _parse_set(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        if "=" not in it:
            raise SystemExit(f"--set {it!r}: use KEY=VALUE, e.g. --set attention=sdpa")
        k, v = it.split("=", 1)
        low = v.lower()
        out[k] = True if low == "true" else False if low == "false" else v
        if v.lstrip("-").isdigit():
            out[k] = int(v)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="sama_avs_vit_b")
    p.add_argument("--image-size", type=int, default=None, help="default: the model's")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=5, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--memory-steps", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra build_model override for the project variant",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--verbose", action="store_true")
    p.add_argument(
        "--ablation",
        action="append",
        default=[],
        metavar="K=V,K=V",
        help="instead: time and measure each config (vs the reference), e.g. "
        "--ablation attention=sdpa --ablation attention=sdpa,autocast=bf16",
    )
    p.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_conf", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.overrides = _parse_set(args.sets)
    if args._conf is not None:
        args.overrides = _conf_overrides(args.ablation[args._conf])
    if args._worker:
        mode = args._worker
        if mode == "timing":
            res = run_timing(args)
        elif mode == "ablation":
            res = run_ablation_timing(args)
        else:
            res = run_memory(args, mode.split(":")[1])
        print(json.dumps(res))
        return
    if args.ablation:
        res = ablation(args)
        if args.json:
            print(json.dumps(res))
            return
        print(
            f"{args.model} S={args.image_size} B={args.batch_size} {args.device} "
            f"threads={args.threads or 'default'} steps={args.steps} "
            f"load={res['load_average'][0]:.1f}"
        )
        print(
            f"{'config':40s} {'step s':>7s} {'cpu s':>7s} {'speedup':>7s} {'cpu x':>6s} "
            f"{'MiB':>6s} {'mem x':>6s}"
        )
        for k, r in res["variants"].items():
            print(
                f"{k:40s} {r['step_s']:7.3f} {r['step_cpu_s']:7.3f} {r['speedup']:7.2f} "
                f"{r['speedup_cpu']:6.2f} {r['peak_mib']:6.0f} {r['memory_ratio']:6.2f}"
            )
        return
    res = measure(args)
    if args.json:
        print(json.dumps(res))
        return
    ref, proj = res["reference"], res["project"]
    print(
        f"{args.model} S={res['image_size']} B={args.batch_size} {args.device} "
        f"threads={res['threads']} steps={args.steps} overrides={res['overrides']}"
    )
    print(f"{'':10s} {'step s':>8s} {'cpu s':>8s} {'img/s':>7s} {'peak MiB':>9s}")
    for k, r in (("reference", ref), ("project", proj)):
        print(
            f"{k:10s} {r['step_s']:8.3f} {r['step_cpu_s']:8.3f} {r['images_per_s']:7.3f} "
            f"{r['peak_mib']:9.0f}"
        )
    print(
        f"speedup {res['speedup']:.2f}x (cpu {res['speedup_cpu']:.2f}x), memory ratio "
        f"{res['memory_ratio']:.2f}; loss rel diff {res['loss_rel_diff']:.1e}, grad rel diff "
        f"{res['grad_rel_diff_max']:.1e}; load {res['load_average'][0]:.1f}"
    )


if __name__ == "__main__":
    main()
