"""Setting up a training run: config, model, data, optimiser, schedule and resumed state.

Also the seeding that makes runs reproducible: every RNG is re-seeded from ``(seed, epoch)``
at each epoch start (:func:`epoch_seed`), so nothing but the weights, the optimiser and the
schedule needs saving for a bit-identical resume.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avsmodel.errors import CheckpointError, ConfigError, DataError
from avsmodel.training.config import TrainConfig, load_config
from avsmodel.training.run_folder import resume_state
from avsynth.storage.atomic import atomic_write_text


def seed_all(seed: int) -> None:
    """Seed python, numpy and torch RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of epoch ``epoch`` (data order, workers, model RNG)."""
    return (seed * 1_000_003 + epoch * 7919 + 17) % 2**62


def worker_init(worker_id: int) -> None:
    """DataLoader worker: seed python and numpy from the worker's torch seed."""
    s = torch.initial_seed() % 2**32
    random.seed(s)
    np.random.seed(s)


@dataclass
class Run:
    """What one training run holds between epochs (built by :func:`setup_run`)."""

    info: Any
    cfg: TrainConfig
    out: Path
    net: Any
    wrapped: torch.nn.Module
    task: Any
    val_task: Any
    params: list[torch.nn.Parameter]
    opt: torch.optim.Optimizer
    sched: Any
    sampler: Any
    train_ds: Any
    val_loader: Any
    base: dict[str, Any]
    show: bool
    start_epoch: int = 0
    best: float = -1.0
    best_epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def setup_run(
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
    overrides: dict[str, Any],
) -> Run:
    """Config, model, data, optimiser and schedule; the resumed state when resuming."""
    import yaml
    from torch.utils.data import DataLoader

    from avsmodel import build_model
    from avsmodel.data import collate, train_val_datasets
    from avsmodel.modeling.config import split_options
    from avsmodel.training.checkpoint import load_checkpoint, load_frozen_state
    from avsmodel.training.distributed import ShardSampler
    from avsmodel.training.plots import read_metrics, write_metrics
    from avsmodel.training.task import SegmentationTask

    ck = resume_state(out, model, overrides) if resume else None
    if ck is not None:
        cfg = TrainConfig.from_dict(ck["train_config"], where=str(out / "last.pt"))
        if overrides.get("workers") is not None:
            cfg = load_config(model, cfg, workers=overrides["workers"])
        # the run's frozen weights and warm start, unless given again
        sam_checkpoint = sam_checkpoint or ck.get("sam_checkpoint")
        vggish_checkpoint = vggish_checkpoint or ck.get("vggish_checkpoint")
        init = init or ck.get("init")
    else:
        cfg = load_config(model, config, **overrides)
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
        train_fraction=cfg.train_fraction,
        resize=cfg.resize,
        input_masks=cfg.loss_size == "input",
    )
    if ck is not None and ck.get("data", {}).get("sha256") != data["sha256"]:
        raise DataError(f"--resume: the data differs from the run's ({data.get('manifest', '')})")

    net.to(info.device)
    wrapped: torch.nn.Module = net
    if info.distributed:
        from torch.nn.parallel import DistributedDataParallel as DDP

        # Every trainable parameter gets a gradient each step (SAM's IoU head, which would
        # not, is frozen), so DDP need not search the graph for unused ones.
        ids = [info.local_rank] if info.device.startswith("cuda") else None
        wrapped = DDP(net, device_ids=ids, find_unused_parameters=False)
    needs_gt = net.config.family == "sam_oracle"
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
    val_sampler = ShardSampler(
        len(val_ds),
        rank=info.rank,
        world_size=info.world_size,
        batch_size=cfg.val_batch_size,
        shuffle=False,
        drop_last=False,
    )
    arch, _ = split_options(cfg.model)
    run = Run(
        info=info,
        cfg=cfg,
        out=out,
        net=net,
        wrapped=wrapped,
        task=SegmentationTask(
            wrapped,
            bce_weight=cfg.bce_weight,
            iou_weight=cfg.iou_weight,
            needs_gt=needs_gt,
            loss_size=cfg.loss_size,
        ),
        val_task=SegmentationTask(net, needs_gt=needs_gt),
        params=params,
        opt=opt,
        sched=sched,
        sampler=sampler,
        train_ds=train_ds,
        val_loader=DataLoader(
            val_ds,
            batch_size=cfg.val_batch_size,
            sampler=val_sampler,
            num_workers=cfg.workers,
            collate_fn=collate,
        ),
        base={
            "model": model,
            "model_overrides": arch,
            "run_options": net.run.to_dict(),
            "model_config": net.config.to_dict(),
            "train_config": cfg.to_dict(),
            "data": data,
            "sam_checkpoint": _resolved(sam_checkpoint),
            "vggish_checkpoint": _resolved(vggish_checkpoint),
            "init": None if init is None else str(init),
            "world_size": info.world_size,
            # carried on, so eval/predict/--resume rebuild the same frozen tensors
            **({"frozen_state": frozen} if frozen else {}),
        },
        show=progress and info.is_main,
    )
    if ck is not None:
        net.load_trainable_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["resume"]["optimizer"])
        sched.load_state_dict(ck["resume"]["scheduler"])
        run.start_epoch, run.best = int(ck["epoch"]), float(ck["best_miou"])
        run.best_epoch = int(ck.get("best_epoch", 0))
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        if cfg.train_fraction < 1.0:  # few-shot: the kept ids / clip names, one per line
            atomic_write_text(out / "train_subset.txt", "".join(f"{i}\n" for i in train_ds.ids()))
        run.history = read_metrics(out / "metrics.jsonl", upto=run.start_epoch)
        write_metrics(out / "metrics.jsonl", run.history)
    return run


def _resolved(path: Any) -> str | None:
    return None if path is None else str(Path(path).resolve())
