"""One prepared GPU check: does avsmodel run on this device, is it right, and how fast.

Prints ONE JSON object (progress goes to stderr):

* ``device``: name, torch / CUDA / cuDNN versions, compute capability, the peak TFLOP/s
  used for model-FLOP utilisation (dense fp32 and bf16, from the vendor's data sheet; null
  for an unknown card and on the CPU).
* ``numerics``: the project's model (the paper recipe's run options: SDPA attention, fp32)
  against the straightforward segment-anything reference of ``bench/model_speed.py`` (SAM's
  modules as shipped, eager attention), forward and backward, ViT-B at 1024 px on the
  device; and the tiny model on the CPU vs on the device. ``max_rel_diff`` is the largest
  relative difference of a loss or of the whole trainable gradient; TF32 is off here.
* ``train``: one training step (forward, loss, backward, AdamW) of ViT-H at 1024 px, batch 2
  (the paper's per-GPU batch) in three variants: ``paper`` (the recipe: SDPA, fp32),
  ``fast`` (SDPA + bf16 autocast) and ``reference`` (SAM as shipped plus the adapters, fp32,
  eager attention: the authors' computation). Each: images/s (median step), peak memory of
  the step, achieved TFLOP/s and MFU (FLOPs of ``bench/step_flops.py``). Summary keys
  ``project_images_per_s`` / ``project_peak_mib`` (the fast variant),
  ``reference_images_per_s``, ``speedup`` (fast / reference), ``paper_speedup``,
  ``memory_ratio``.
* ``eval``: frames/s of the real evaluation loop (:func:`avsmodel.evaluation.loader
  .eval_loader` + :func:`avsmodel.evaluation.scoring.run_eval`, each frame scored at its own
  size) on generated frames at ViT-H 1024: batched fp32, batched bf16, and one frame at a
  time in fp32 (no loader workers) as the baseline.
* ``tiny_training``: the tiny model trained for a fixed number of steps on generated
  scenes (a sound picks one of two shapes) on the CPU and on the device, fp32; the device's
  validation J must equal the CPU's within 0.02.
* ``checks`` (each true/false), ``ok`` (all checks pass), ``goals`` (the speed targets of
  one H100, measured; null on the CPU), ``seconds``.

Inputs are generated in-process: no dataset, no weights, no PyAV, FiftyOne, soundfile or
pyarrow; only torch, torchvision, numpy, pillow, pyyaml, typer, segment-anything and
msgspec are needed, run from the source tree. ``--quick`` runs the same code at tiny sizes
(the tiny model at 64-96 px), for CI on a CPU.

Examples::

    PYTHONPATH=. python bench/gpu_check.py --device cuda > gpu_check.json
    PYTHONPATH=. python bench/gpu_check.py --device cpu --quick
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

# Dense peak TFLOP/s (fp32 without tensor cores, bf16 tensor cores), NVIDIA data sheets;
# matched against torch.cuda.get_device_name in this order.
PEAK_TFLOPS = (
    ("H100 PCIe", 51.2, 756.0),
    ("H100", 66.9, 989.4),
    ("H200", 66.9, 989.4),
    ("A100", 19.5, 312.0),
    ("L40S", 91.6, 362.1),
)
FAST = {"attention": "sdpa", "autocast": "bf16"}
NUMERICS_TOL = 1e-4
TINY_J_TOL = 0.02
EVAL_BATCH_TOL = 1e-4  # batched vs one-at-a-time J: kernels differ by batch size (rounding)


@dataclass(frozen=True)
class Sizes:
    """What each section runs at (full: the paper's sizes; quick: tiny, for CI)."""

    numerics_model: str = "sama_avs_vit_b"
    numerics_size: int = 1024
    train_model: str = "sama_avs_vit_h"
    train_size: int = 1024
    train_batch: int = 2
    warmup: int = 2
    steps: int = 5
    eval_model: str = "sama_avs_vit_h"
    eval_size: int = 1024
    eval_frames: int = 32
    eval_batch: int = 8
    eval_workers: int = 4
    tiny_size: int = 64
    tiny_steps: int = 300
    tiny_batch: int = 16
    tiny_val: int = 128


QUICK = Sizes(
    numerics_model="sama_avs_tiny",
    numerics_size=96,
    train_model="sama_avs_tiny",
    train_size=96,
    warmup=1,
    steps=2,
    eval_model="sama_avs_tiny",
    eval_size=96,
    eval_frames=8,
    eval_batch=4,
    eval_workers=1,
    tiny_steps=30,
    tiny_batch=8,
    tiny_val=16,
)


def log(msg: str) -> None:
    print(f"[gpu_check {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def device_info(device: str) -> dict[str, Any]:
    """Name, versions and the peak TFLOP/s of ``device``."""
    import platform

    import torch

    info: dict[str, Any] = {"device": device, "torch": torch.__version__}
    info["cuda"] = torch.version.cuda
    info["python"] = platform.python_version()
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(device)
        props = torch.cuda.get_device_properties(device)
        info.update(
            name=name,
            capability=".".join(map(str, torch.cuda.get_device_capability(device))),
            memory_gib=round(props.total_memory / 2**30, 1),
            cudnn=torch.backends.cudnn.version(),
            tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
            tf32_cudnn=torch.backends.cudnn.allow_tf32,
        )
        peak = next(((f, b) for k, f, b in PEAK_TFLOPS if k in name), None)
        info["peak_tflops"] = None if peak is None else {"fp32": peak[0], "bf16": peak[1]}
    else:
        info.update(name=platform.processor() or "cpu", threads=torch.get_num_threads())
        info["peak_tflops"] = None
    return info


def speed_args(model: str, size: int, batch: int, device: str, **overrides: Any) -> Any:
    """The namespace ``bench/model_speed.py``'s builders take."""
    return argparse.Namespace(
        model=model, image_size=size, batch_size=batch, device=device, seed=0, overrides=overrides
    )


# ----------------------------------------------------------------------------- numerics
def rel(a: Any, b: Any) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).norm() / b.norm().clamp_min(1e-30))


def loss_and_grad(model: Any, batch: dict[str, Any]) -> tuple[Any, Any]:
    """Loss and the flat trainable gradient of one training step (float64, CPU)."""
    import torch

    from avsmodel.task import SegmentationTask

    model.zero_grad(set_to_none=True)
    loss, _ = SegmentationTask(model)(batch)
    loss.backward()
    grads = [p.grad.flatten() for _, p in sorted(model.named_parameters()) if p.grad is not None]
    model.zero_grad(set_to_none=True)
    return loss.detach().double().cpu(), torch.cat(grads).double().cpu()


def numerics(device: str, sz: Sizes) -> dict[str, Any]:
    """Project vs segment-anything reference on the device; tiny model CPU vs device."""
    import copy

    import torch
    from model_speed import build_models, grads_diff, make_batch

    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        args = speed_args(sz.numerics_model, sz.numerics_size, 1, device)
        with torch.device(device):  # initialise on the device (fast for ViT-B/H)
            models = build_models(args, ["reference", "project"])
        batch = make_batch(args, models["project"].audio_examples, sz.numerics_size)
        ref = grads_diff(models, batch)
        del models, batch
        empty_cache(device)
        targs = speed_args("sama_avs_tiny", 96, 2, "cpu")
        cpu = build_models(targs, ["project"])["project"]
        moved = copy.deepcopy(cpu).to(device)
        tb = make_batch(targs, cpu.audio_examples, 96)
        lc, gc = loss_and_grad(cpu, tb)
        ld, gd = loss_and_grad(moved, {k: v.to(device) for k, v in tb.items()})
        tiny = {"loss_rel_diff": rel(ld, lc), "grad_rel_diff": rel(gd, gc)}
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
    worst = max(ref["loss_rel_diff"], ref["grad_rel_diff"], *tiny.values())
    return {
        "reference": {"model": sz.numerics_model, "image_size": sz.numerics_size, **ref},
        "tiny_cpu_vs_device": tiny,
        "max_rel_diff": worst,
        "tolerance": NUMERICS_TOL,
    }


def empty_cache(device: str) -> None:
    import gc

    import torch

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


# ----------------------------------------------------------------------------- training
def time_steps(step: Any, device: str, warmup: int, steps: int) -> dict[str, Any]:
    """Median wall seconds of ``steps`` calls after ``warmup``, and the step's peak memory
    above what was allocated before it (CUDA; None on the CPU)."""
    import torch

    cuda = device.startswith("cuda")
    for _ in range(warmup):
        step()
    sync(device)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    walls = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        sync(device)
        walls.append(time.perf_counter() - t0)
    peak = (torch.cuda.max_memory_allocated(device) - base) / 2**20 if cuda else None
    return {"step_s": statistics.median(walls), "step_s_all": walls, "peak_mib": peak}


def train_variant(name: str, device: str, sz: Sizes, state: dict[str, Any]) -> Any:
    """The model of one training variant, with the shared seeded weights, on ``device``."""
    import torch
    from model_speed import recipe_overrides, reference_class

    import avsmodel

    kw = {**recipe_overrides(sz.train_model), "image_size": sz.train_size}
    if name == "fast":
        kw.update(FAST)
    if name == "reference":
        kw.update(attention="eager", autocast="none", grad_checkpointing=False)
    with torch.device(device):  # initialise on the device (fast for ViT-H), then load
        model = avsmodel.build_model(sz.train_model, **kw)
        model.load_state_dict(state)
        if name == "reference":
            model = reference_class()(model)
    return model.to(device).train()


def train_timing(
    name: str,
    device: str,
    sz: Sizes,
    state: dict[str, Any],
    batch: dict[str, Any],
    tflop: float,
    peak: dict[str, float] | None,
) -> dict[str, Any]:
    """Time one variant's training step: images/s, peak memory, TFLOP/s, MFU."""
    from model_speed import make_step

    model = train_variant(name, device, sz, state)
    step, _ = make_step(model, {k: v.to(device) for k, v in batch.items()})
    r = time_steps(step, device, sz.warmup, sz.steps)
    r["images_per_s"] = sz.train_batch / r["step_s"]
    r["tflops"] = tflop / r["step_s"]
    dtype = "bf16" if name == "fast" else "fp32"
    r["mfu"] = None if peak is None else r["tflops"] / peak[dtype]
    r["mfu_against"] = dtype
    return r


def training(device: str, sz: Sizes, peak: dict[str, float] | None) -> dict[str, Any]:
    """One training step in the three variants: images/s, peak memory, TFLOP/s, MFU."""
    import torch
    from model_speed import build_models, make_batch
    from step_flops import count

    args = speed_args(sz.train_model, sz.train_size, sz.train_batch, device)
    with torch.device(device):
        base = build_models(args, ["project"])["project"]
    state = base.state_dict()
    batch = make_batch(args, base.audio_examples, sz.train_size)
    del base
    tflop = count(sz.train_model, sz.train_size)["train_step_tflop"] * sz.train_batch
    out: dict[str, Any] = {"model": sz.train_model, "image_size": sz.train_size}
    out.update(batch_size=sz.train_batch, step_tflop=tflop, fast_options=FAST)
    for name in ("paper", "fast", "reference"):
        log(f"train: {name}")
        try:
            out[name] = train_timing(name, device, sz, state, batch, tflop, peak)
        except Exception as e:  # noqa: BLE001 - e.g. the reference out of memory: say so
            out[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
        empty_cache(device)
    fast, paper, ref = (out[k].get("images_per_s") for k in ("fast", "paper", "reference"))
    out["project_images_per_s"] = fast
    out["project_peak_mib"] = out["fast"].get("peak_mib")
    out["reference_images_per_s"] = ref
    out["speedup"] = fast / ref if fast and ref else None
    out["paper_speedup"] = paper / ref if paper and ref else None
    mem = out["project_peak_mib"], out["reference"].get("peak_mib")
    out["memory_ratio"] = mem[0] / mem[1] if mem[0] is not None and mem[1] else None
    return out


# ----------------------------------------------------------------------------- evaluation
def score(model: Any, ds: Any, device: str, *, batch: int, workers: int, autocast: str) -> Any:
    """The real evaluation loop over ``ds`` on ``device``; the :class:`EvalAccumulator`."""
    from avsmodel.distributed import DistInfo
    from avsmodel.evaluation.loader import eval_loader
    from avsmodel.evaluation.scoring import run_eval
    from avsmodel.task import SegmentationTask

    loader = eval_loader(ds, batch_size=batch, workers=workers, device=device)
    return run_eval(
        SegmentationTask(model.eval()),
        loader,
        info=DistInfo(device=device),
        image_size=model.image_size,
        full_res=True,
        transform=ds.transform,
        frames_per_clip=1,
        autocast=autocast,
        inference=True,
    )


def evaluation(device: str, sz: Sizes) -> dict[str, Any]:
    """Frames/s of the evaluation loop: batched fp32 and bf16, and one frame at a time."""
    import torch
    from generated_inputs import GeneratedFrames
    from model_speed import recipe_overrides

    import avsmodel

    torch.manual_seed(0)
    kw = {**recipe_overrides(sz.eval_model), "image_size": sz.eval_size}
    with torch.device(device):
        model = avsmodel.build_model(sz.eval_model, device=device, **kw).eval()
    ds = GeneratedFrames(sz.eval_frames, sz.eval_size, model.audio_examples)
    warm = GeneratedFrames(min(sz.eval_batch, sz.eval_frames), sz.eval_size, model.audio_examples)
    runs = {
        "fp32": dict(batch=sz.eval_batch, workers=sz.eval_workers, autocast="none"),
        "bf16": dict(batch=sz.eval_batch, workers=sz.eval_workers, autocast="bf16"),
        "fp32_one_at_a_time": dict(batch=1, workers=0, autocast="none"),
    }
    out: dict[str, Any] = {"model": sz.eval_model, "image_size": sz.eval_size}
    out.update(frames=sz.eval_frames, frame_hw=list(ds.hw), batch_size=sz.eval_batch)
    fps, miou = {}, {}
    for name, kw in runs.items():
        log(f"eval: {name}")
        score(model, warm, device, **kw)
        sync(device)
        t0 = time.perf_counter()
        acc = score(model, ds, device, **kw)
        sync(device)
        fps[name] = sz.eval_frames / (time.perf_counter() - t0)
        miou[name] = acc.miou
    out["frames_per_s"] = fps
    out["miou"] = miou
    out["speedup_vs_one_at_a_time"] = {
        k: fps[k] / fps["fp32_one_at_a_time"] for k in ("fp32", "bf16")
    }
    out["batched_minus_one_at_a_time_miou"] = miou["fp32"] - miou["fp32_one_at_a_time"]
    return out


# ----------------------------------------------------------------------------- tiny training
def train_tiny(device: str, sz: Sizes) -> dict[str, Any]:
    """The tiny model trained on generated scenes on ``device`` (fp32, fixed batches);
    validation J and the seconds it took."""
    import torch
    from generated_inputs import GeneratedScenes

    import avsmodel
    from avsmodel.data import collate
    from avsmodel.recipe import load_config
    from avsmodel.task import SegmentationTask

    cfg = load_config("sama_avs_tiny")
    torch.manual_seed(0)
    kw = {**dict(cfg.model), "image_size": sz.tiny_size}
    model = avsmodel.build_model("sama_avs_tiny", device=device, **kw).train()
    n = model.audio_examples
    train_ds = GeneratedScenes(sz.tiny_steps * sz.tiny_batch, sz.tiny_size, n, (96, 96), seed=1)
    val_ds = GeneratedScenes(sz.tiny_val, sz.tiny_size, n, (96, 96), seed=2)
    task = SegmentationTask(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    t0 = time.perf_counter()
    losses = []
    for step in range(sz.tiny_steps):
        items = [train_ds[step * sz.tiny_batch + i] for i in range(sz.tiny_batch)]
        batch = {
            k: (v.to(device) if isinstance(v, torch.Tensor) else v)
            for k, v in collate(items).items()
        }
        opt.zero_grad(set_to_none=True)
        loss, _ = task(batch)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        losses.append(float(loss.detach()))
    sync(device)
    seconds = time.perf_counter() - t0
    acc = score(model, val_ds, device, batch=16, workers=0, autocast="none")
    return {"miou": acc.miou, "seconds": seconds, "first_loss": losses[0], "last_loss": losses[-1]}


def tiny_training(device: str, sz: Sizes) -> dict[str, Any]:
    """:func:`train_tiny` on the CPU and on the device; J must agree within 0.02."""
    import torch

    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        log("tiny training: cpu")
        cpu = train_tiny("cpu", sz)
        log(f"tiny training: {device}")
        dev = train_tiny(device, sz)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
    return {
        "steps": sz.tiny_steps,
        "batch_size": sz.tiny_batch,
        "image_size": sz.tiny_size,
        "cpu": cpu,
        "device": dev,
        "miou_abs_diff": abs(dev["miou"] - cpu["miou"]),
        "tolerance": TINY_J_TOL,
    }


# ----------------------------------------------------------------------------- driver
def section(result: dict[str, Any], name: str, fn: Any, *args: Any) -> None:
    """Run one section into ``result[name]``; an exception is recorded, not raised."""
    t0 = time.perf_counter()
    try:
        result[name] = fn(*args)
    except Exception as e:  # noqa: BLE001 - the report must come out whatever fails
        log(traceback.format_exc())
        result[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
    result[name]["seconds"] = round(time.perf_counter() - t0, 2)
    log(f"{name}: {time.perf_counter() - t0:.1f} s")


def verdict(r: dict[str, Any], cuda: bool) -> None:
    """Fill ``checks``, ``ok`` and ``goals`` (the H100 targets; null on the CPU)."""
    num, tr, ev, tiny = r["numerics"], r["train"], r["eval"], r["tiny_training"]
    checks = {
        f"{k}_ran": "error" not in r[k] for k in ("numerics", "train", "eval", "tiny_training")
    }
    checks["train_variants_ran"] = all(
        "error" not in tr.get(k, {"error": 1}) for k in ("paper", "fast", "reference")
    )
    checks["numerics_within_tolerance"] = num.get("max_rel_diff", 1.0) <= NUMERICS_TOL
    checks["tiny_training_miou_matches_cpu"] = tiny.get("miou_abs_diff", 1.0) <= TINY_J_TOL
    checks["eval_batched_equals_one_at_a_time"] = (
        abs(ev.get("batched_minus_one_at_a_time_miou", 1.0)) <= EVAL_BATCH_TOL
    )
    r["checks"] = checks
    r["ok"] = all(checks.values())
    if not cuda or not checks["train_variants_ran"] or not checks["eval_ran"]:
        r["goals"] = None
        return
    fast = tr["fast"]
    goals = {
        "fast_speedup_at_least_2x": (tr["speedup"], 2.0),
        "fast_memory_at_most_half": (tr["memory_ratio"], 0.5),
        "paper_no_slower_than_reference": (tr["paper_speedup"], 1.0),
        "fast_mfu_at_least_35_percent": (fast["mfu"], 0.35),
        "eval_at_least_3x_one_at_a_time": (max(ev["speedup_vs_one_at_a_time"].values()), 3.0),
    }
    r["goals"] = {
        k: {
            "value": v,
            "target": t,
            "met": None if v is None else (v <= t if "at_most" in k else v >= t),
        }
        for k, (v, t) in goals.items()
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--quick", action="store_true", help="tiny sizes (CI on a CPU)")
    args = p.parse_args(argv)
    import torch

    from avsmodel.device import resolve_device, set_device

    device = resolve_device(args.device)
    set_device(device)
    if args.quick and device == "cpu":
        torch.set_num_threads(1)  # tiny sizes: more threads only contend (shared CI boxes)
    sz = QUICK if args.quick else Sizes()
    t0 = time.perf_counter()
    r: dict[str, Any] = {"device": device_info(device), "quick": args.quick, "sizes": asdict(sz)}
    section(r, "numerics", numerics, device, sz)
    section(r, "train", training, device, sz, r["device"]["peak_tflops"])
    section(r, "eval", evaluation, device, sz)
    section(r, "tiny_training", tiny_training, device, sz)
    verdict(r, device.startswith("cuda"))
    r["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(r))
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
