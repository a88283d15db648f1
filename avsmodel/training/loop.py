"""The training entry point (one process or DDP under torchrun).

One run folder holds ``config.yaml`` (effective config), ``metrics.jsonl`` (one line per
epoch), ``curves.png``, ``best.pt`` (best val mIoU) and ``last.pt`` (with optimiser, scheduler
and RNG state for ``resume``). The data order of epoch e depends only on ``(seed, e)`` and all
RNGs are re-seeded from ``(seed, e)`` at each epoch start, so a resumed run ends with exactly
the weights of an uninterrupted one.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avsmodel.errors import CheckpointError, ConfigError, DataError
from avsmodel.training.config import TrainConfig, load_config
from avsynth.files import atomic_write_text


@dataclass
class TrainResult:
    """What a finished run produced."""

    out: Path
    best_miou: float
    best_epoch: int
    epochs: int
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    completed_epochs: int = 0
    model: Any = field(default=None, repr=False)

    @property
    def best_path(self) -> Path:
        """``RUN/best.pt``."""
        return self.out / "best.pt"

    @property
    def last_path(self) -> Path:
        """``RUN/last.pt``."""
        return self.out / "last.pt"


def seed_all(seed: int) -> None:
    """Seed python, numpy and torch RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of epoch ``epoch`` (data order, workers, model RNG)."""
    return (seed * 1_000_003 + epoch * 7919 + 17) % 2**62


def _worker_init(worker_id: int) -> None:
    s = torch.initial_seed() % 2**32
    random.seed(s)
    np.random.seed(s)


def _resume_state(out: Path, model_name: str, cfg_overrides: dict[str, Any]) -> dict | None:
    from avsmodel.training.checkpoint import load_checkpoint

    last = out / "last.pt"
    if not last.is_file():
        return None
    ck = load_checkpoint(last)
    if "resume" not in ck:
        raise CheckpointError(f"{last}: holds no optimiser state; cannot resume from it")
    if ck["model"] != model_name:
        raise ConfigError(f"{last}: run trained {ck['model']}, not {model_name}; use another --out")
    for k, v in cfg_overrides.items():
        if v is not None and k != "workers" and ck["train_config"].get(k) != v:
            raise ConfigError(
                f"--resume keeps the run's config; {k}={v!r} differs from the run's "
                f"{ck['train_config'].get(k)!r} (drop the flag or use a new --out)"
            )
    return ck


def train(
    manifest: str | os.PathLike[str] | None = None,
    *,
    model: str,
    out: str | os.PathLike[str],
    config: str | os.PathLike[str] | dict[str, Any] | TrainConfig | None = None,
    avsbench: str | os.PathLike[str] | None = None,
    subset: str | None = None,
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
    init: str | os.PathLike[str] | None = None,
    resume: bool = False,
    roots: dict[str, str | os.PathLike[str]] | None = None,
    device: str | None = None,
    progress: bool = True,
    stop_after: int | None = None,
    **overrides: Any,
) -> TrainResult:
    """Train a model on a manifest's train split (or AVSBench), validating every epoch.

    Args:
        manifest: avsynth ``manifest.jsonl`` (needs ``train`` and ``val`` triplets).
        model: Registered model name (``avsmodel.list_models()``).
        out: Run folder (created).
        config: YAML path/dict/:class:`TrainConfig` over the bundled recipe (``paper`` or,
            for ``*_tiny``, ``tiny``).
        avsbench: AVSBench root instead of a manifest (with ``subset``).
        subset: ``s4`` or ``ms3``.
        sam_checkpoint: Official SAM weights (``sam_vit_*.pth``), or a name (``vit_h``).
        vggish_checkpoint: VGGish weights (``vggish-10086976.pth``), or ``"vggish"``.
        init: Warm-start from another run's checkpoint (trainable weights only).
        resume: Continue ``out/last.pt`` (to the same result as an uninterrupted run).
        roots: Source roots of a plan-only manifest.
        device: ``cpu``/``cuda`` (default: CUDA if available).
        progress: Show progress bars.
        stop_after: Stop after this many epochs in this call (time-boxed jobs); the
            schedule still spans ``epochs`` and ``resume=True`` continues the run.
        **overrides: Config keys, e.g. ``epochs=3, batch_size=4, lr=1e-4, seed=1``.

    Returns:
        :class:`TrainResult` (on every rank; files are written by rank 0 only).

    Raises:
        ConfigError, DataError, CheckpointError: unusable inputs (one-line messages).
        avsynth.errors.OutputError: ``out`` is a file, lies below one, or is not writable.
    """
    from avsmodel.training.distributed import cleanup, init_distributed
    from avsynth.outputs import check_out_dir

    check_out_dir(out)  # a file, or no permission: say so before any work
    info = init_distributed(device)
    threads = torch.get_num_threads()
    try:
        return _train(
            info,
            manifest,
            model=model,
            out=Path(out),
            config=config,
            avsbench=avsbench,
            subset=subset,
            sam_checkpoint=sam_checkpoint,
            vggish_checkpoint=vggish_checkpoint,
            init=init,
            resume=resume,
            roots=roots,
            progress=progress,
            stop_after=stop_after,
            overrides=overrides,
        )
    finally:
        torch.set_num_threads(threads)  # ``threads`` in the recipe applies to this call only
        cleanup(info)


def _train(
    info: Any,
    manifest: Any,
    *,
    model: str,
    out: Path,
    config: Any,
    avsbench: Any,
    subset: Any,
    sam_checkpoint: Any,
    vggish_checkpoint: Any,
    init: Any,
    resume: bool,
    roots: Any,
    progress: bool,
    stop_after: int | None,
    overrides: dict[str, Any],
) -> TrainResult:
    import yaml
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    from avsmodel import build_model
    from avsmodel.data import collate, train_val_datasets
    from avsmodel.evaluation import run_eval
    from avsmodel.training.checkpoint import (
        load_checkpoint,
        load_frozen_state,
        rng_state,
        save_checkpoint,
    )
    from avsmodel.training.distributed import ShardSampler, all_reduce_sum, barrier
    from avsmodel.training.plots import append_metrics, plot_curves, read_metrics, write_metrics
    from avsmodel.training.task import SegmentationTask
    from avsynth.progress import progress as progress_bar

    t_start = time.monotonic()
    ck = _resume_state(out, model, overrides) if resume else None
    if ck is not None:
        cfg = TrainConfig.from_dict(ck["train_config"], where=str(out / "last.pt"))
        if overrides.get("workers") is not None:
            cfg = load_config(model, cfg, workers=overrides["workers"])
    else:
        cfg = load_config(model, config, **overrides)

    if ck is not None:  # the run's frozen weights and warm start, unless given again
        sam_checkpoint = sam_checkpoint or ck.get("sam_checkpoint")
        vggish_checkpoint = vggish_checkpoint or ck.get("vggish_checkpoint")
        init = init or ck.get("init")
    from avsmodel.hub import resolve_weights

    sam_checkpoint = resolve_weights(sam_checkpoint, "sam")  # names -> cached files
    vggish_checkpoint = resolve_weights(vggish_checkpoint, "vggish")
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    net = build_model(
        model, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint, **cfg.model
    )
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ConfigError(f"{model} has no trainable parameters; evaluate it instead")
    frozen: dict[str, Any] = dict((ck or {}).get("frozen_state") or {})
    if init is not None and ck is None:
        src = load_checkpoint(init)
        try:
            net.load_trainable_state_dict(src["state_dict"])
        except CheckpointError as e:
            raise CheckpointError(f"--init {init}: {e}") from None
        frozen = dict(src.get("frozen_state") or {})  # e.g. an imported checkpoint's own PE
    load_frozen_state(net, frozen, where=str(out / "last.pt" if ck is not None else init))
    train_ds, val_ds, data = train_val_datasets(
        manifest,
        avsbench=avsbench,
        subset=subset,
        image_size=net.image_size,
        audio_examples=net.audio_examples,
        roots=roots,
        seed=cfg.seed,
        audio_cache=cfg.audio_cache,
        resample_audio_p=cfg.resample_audio_p,
    )
    if ck is not None and ck.get("data", {}).get("sha256") != data["sha256"]:
        raise DataError(f"--resume: the data differs from the run's ({data.get('manifest', '')})")

    net.to(info.device)
    if info.distributed:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [info.local_rank] if info.device.startswith("cuda") else None
        wrapped: torch.nn.Module = DDP(net, device_ids=ids, find_unused_parameters=True)
    else:
        wrapped = net
    needs_gt = net.config.family == "sam_oracle"
    task = SegmentationTask(
        wrapped, bce_weight=cfg.bce_weight, iou_weight=cfg.iou_weight, needs_gt=needs_gt
    )
    val_task = SegmentationTask(net, needs_gt=needs_gt)

    sampler = ShardSampler(
        len(train_ds),
        rank=info.rank,
        world_size=info.world_size,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
    )
    steps_per_epoch = max(1, -(-len(sampler) // cfg.batch_size))
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=cfg.epochs * steps_per_epoch, eta_min=cfg.min_lr
    )
    start_epoch, best, best_epoch = 0, -1.0, 0
    if ck is not None:
        net.load_trainable_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["resume"]["optimizer"])
        sched.load_state_dict(ck["resume"]["scheduler"])
        start_epoch, best = int(ck["epoch"]), float(ck["best_miou"])
        best_epoch = int(ck.get("best_epoch", 0))

    metrics_path = out / "metrics.jsonl"
    history: list[dict[str, Any]] = []
    base = {
        "model": model,
        "model_overrides": dict(cfg.model),
        "model_config": net.config.to_dict(),
        "train_config": cfg.to_dict(),
        "data": data,
        "sam_checkpoint": None if sam_checkpoint is None else str(Path(sam_checkpoint).resolve()),
        "vggish_checkpoint": (
            None if vggish_checkpoint is None else str(Path(vggish_checkpoint).resolve())
        ),
        "init": None if init is None else str(init),
        "world_size": info.world_size,
    }
    if frozen:  # carried on, so eval/predict/--resume rebuild the same frozen tensors
        base["frozen_state"] = frozen
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        history = read_metrics(metrics_path, upto=start_epoch)
        write_metrics(metrics_path, history)

    val_sampler = ShardSampler(
        len(val_ds),
        rank=info.rank,
        world_size=info.world_size,
        batch_size=cfg.val_batch_size,
        shuffle=False,
        drop_last=False,
    )
    val_loader = DataLoader(
        val_ds,
        batch_size=cfg.val_batch_size,
        sampler=val_sampler,
        num_workers=cfg.workers,
        collate_fn=collate,
    )
    show = progress and info.is_main
    end_epoch = cfg.epochs if stop_after is None else min(cfg.epochs, start_epoch + stop_after)
    for epoch in range(start_epoch, end_epoch):
        t0 = time.monotonic()
        es = epoch_seed(cfg.seed, epoch)
        seed_all(es)
        sampler.set_epoch(epoch)
        train_ds.set_epoch(epoch)
        loader = DataLoader(
            train_ds,
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.workers,
            collate_fn=collate,
            worker_init_fn=_worker_init,
            generator=torch.Generator().manual_seed(es),
        )
        wrapped.train()
        loss_sum, n_steps = 0.0, 0
        bar = progress_bar(
            loader,
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            unit="batches",
            enabled=show,
            leave=False,
        )
        for batch in bar:
            b = {
                k: (v.to(info.device) if isinstance(v, torch.Tensor) else v)
                for k, v in batch.items()
            }
            loss, m = task(b)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            sched.step()
            loss_sum += m["loss"]
            n_steps += 1
            bar.set_postfix(loss=f"{m['loss']:.4f}", lr=f"{sched.get_last_lr()[0]:.2e}")
        tot_loss, tot_steps = all_reduce_sum([loss_sum, float(n_steps)], info)
        wrapped.eval()
        acc = run_eval(
            val_task, val_loader, info=info, image_size=net.image_size, progress=show, desc="val"
        )
        row = {
            "epoch": epoch + 1,
            "train_loss": tot_loss / max(tot_steps, 1.0),
            "val_miou": acc.miou,
            "val_fscore": acc.fscore(),
            "lr": sched.get_last_lr()[0],
            "epoch_seconds": round(time.monotonic() - t0, 3),
            "steps": n_steps,
        }
        improved = acc.miou > best
        if improved:
            best, best_epoch = acc.miou, epoch + 1
        if info.is_main:
            common = dict(
                base,
                epoch=epoch + 1,
                best_miou=best,
                best_epoch=best_epoch,
                metrics=row,
                state_dict=net.trainable_state_dict(),
            )
            if improved:
                save_checkpoint(out / "best.pt", common)
            save_checkpoint(
                out / "last.pt",
                dict(
                    common,
                    resume={
                        "optimizer": opt.state_dict(),
                        "scheduler": sched.state_dict(),
                        "rng": rng_state(),
                    },
                ),
            )
            append_metrics(metrics_path, row)
            history.append(row)
            plot_curves(history, out / "curves.png")
            if show:
                tqdm.write(
                    f"epoch {epoch + 1}/{cfg.epochs}: loss {row['train_loss']:.4f}  "
                    f"val mIoU {row['val_miou']:.4f}  F {row['val_fscore']:.4f}  "
                    f"lr {row['lr']:.2e}  {row['epoch_seconds']:.1f}s"
                    + ("  (best)" if improved else "")
                )
        barrier(info)
    return TrainResult(
        out=out,
        best_miou=best,
        best_epoch=best_epoch,
        epochs=cfg.epochs,
        history=history,
        seconds=time.monotonic() - t_start,
        completed_epochs=end_epoch,
        model=net,
    )
