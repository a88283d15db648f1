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

from avsmodel.checkpoint import Checkpoint
from avsmodel.errors import CheckpointError, ConfigError, DataError
from avsmodel.recipe import TrainConfig, load_config
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
    base: Checkpoint
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
    train_list: Any = None,
) -> Run:
    """Config, model, data, optimiser and schedule; the resumed state when resuming."""
    from avsmodel.modeling.config import split_options
    from avsmodel.task import SegmentationTask

    ck = resume_state(out, model, overrides) if resume else None
    cfg, sam_checkpoint, vggish_checkpoint, init = run_recipe(
        model, config, overrides, ck, sam_checkpoint, vggish_checkpoint, init, out=out
    )
    net, params, frozen = setup_model(
        model, cfg, ck, sam_checkpoint, vggish_checkpoint, init, out=out
    )
    train_ds, val_ds, data = setup_data(
        manifest, net, cfg, ck, avsbench=avsbench, subset=subset, roots=roots, train_list=train_list
    )
    net.to(info.device)
    wrapped = wrap_model(net, info)
    needs_gt = net.config.family == "sam_oracle"
    sampler, val_loader = setup_loaders(train_ds, val_ds, cfg, info)
    if sampler is None:  # streamed shards: each DataLoader worker batches its own stream
        steps_per_epoch = max(1, train_ds.steps_per_epoch(cfg.batch_size, cfg.workers))
    else:
        steps_per_epoch = max(1, -(-len(sampler) // cfg.batch_size))
    opt, sched = setup_optimiser(params, cfg, steps_per_epoch=steps_per_epoch)
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
            iou_eps=cfg.iou_eps,
        ),
        val_task=SegmentationTask(net, needs_gt=needs_gt),
        params=params,
        opt=opt,
        sched=sched,
        sampler=sampler,
        train_ds=train_ds,
        val_loader=val_loader,
        base=Checkpoint(
            model=model,
            model_overrides=arch,
            run_options=net.run.to_dict(),
            model_config=net.config.to_dict(),
            train_config=cfg.to_dict(),
            data=data,
            sam_checkpoint=_resolved(sam_checkpoint),
            vggish_checkpoint=_resolved(vggish_checkpoint),
            init=None if init is None else str(init),
            world_size=info.world_size,
            # carried on, so eval/predict/--resume rebuild the same frozen tensors
            frozen_state=frozen or None,
        ),
        show=progress and info.is_main,
    )
    if ck is not None:
        restore(run, ck)
    if info.is_main:
        write_run_files(run)
    return run


def run_recipe(
    model: str,
    config: Any,
    overrides: dict[str, Any],
    ck: Checkpoint | None,
    sam_checkpoint: Any,
    vggish_checkpoint: Any,
    init: Any,
    *,
    out: Path,
) -> tuple[TrainConfig, Any, Any, Any]:
    """The run's config, frozen weights (names resolved to cached files) and warm start.

    A resumed run keeps its own config (only ``workers`` may change) and, unless given
    again, its frozen weights and warm start.
    """
    from avsmodel.pretrained.download import resolve_weights

    if ck is not None:
        cfg = TrainConfig.from_dict(ck.train_config, where=str(out / "last.pt"))
        if overrides.get("workers") is not None:
            cfg = load_config(model, cfg, workers=overrides["workers"])
        sam_checkpoint = sam_checkpoint or ck.sam_checkpoint
        vggish_checkpoint = vggish_checkpoint or ck.vggish_checkpoint
        init = init or ck.init
    else:
        cfg = load_config(model, config, **overrides)
    sam_checkpoint = resolve_weights(sam_checkpoint, "sam")  # names -> cached files
    vggish_checkpoint = resolve_weights(vggish_checkpoint, "vggish")
    return cfg, sam_checkpoint, vggish_checkpoint, init


def setup_model(
    model: str,
    cfg: TrainConfig,
    ck: Checkpoint | None,
    sam_checkpoint: Any,
    vggish_checkpoint: Any,
    init: Any,
    *,
    out: Path,
) -> tuple[Any, list[torch.nn.Parameter], dict[str, Any]]:
    """Seed, build the model, draw the authors' prompt encoding (``prompt_init: authors``),
    warm-start it from ``init`` (new runs) and lay the frozen tensors a checkpoint carries
    over the rebuilt ones.

    Returns:
        ``(model, trainable parameters, frozen tensors to carry on)``.

    Raises:
        ConfigError: the model has nothing to train.
        CheckpointError: ``init`` does not fit the model.
    """
    from avsmodel.checkpoint import load_frozen_state
    from avsmodel.pretrained.build import build_model
    from avsmodel.pretrained.folder_format import read_any

    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    net = build_model(
        model, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint, **cfg.model
    )
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ConfigError(f"{model} has no trainable parameters; evaluate it instead")
    frozen: dict[str, Any] = {}
    # A warm start keeps its own encoding (the authors' loading of pretrained weights does).
    if cfg.prompt_init == "authors" and net.config.family != "sam_oracle" and init is None:
        from avsmodel.modeling.sam_parts import PE_KEY, authors_prompt_init

        authors_prompt_init(net.prompt_encoder, cfg.seed)  # the authors' random PE / no-mask
        frozen[PE_KEY] = net.state_dict()[PE_KEY].clone()  # carried on, eval rebuilds it
    frozen.update((ck.frozen_state if ck else None) or {})
    if init is not None and ck is None:
        src = read_any(  # a run checkpoint or a pretrained folder
            init, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint
        )
        try:
            net.load_trainable_state_dict(src.state_dict)
        except CheckpointError as e:
            raise CheckpointError(f"--init {init}: {e}") from None
        # e.g. an imported checkpoint's own PE; a full pretrained folder holds every frozen
        # tensor: carry on only those the rebuilt model does not already have.
        own = net.state_dict()
        frozen.update(
            (k, v)
            for k, v in (src.frozen_state or {}).items()
            if k not in own or v.shape != own[k].shape or not torch.equal(v, own[k])
        )
    load_frozen_state(net, frozen, where=str(out / "last.pt" if ck is not None else init))
    return net, params, frozen


def setup_data(
    manifest: Any,
    net: Any,
    cfg: TrainConfig,
    ck: Checkpoint | None,
    *,
    avsbench: Any,
    subset: Any,
    roots: Any,
    train_list: Any = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """The train and validation datasets and the data's provenance.

    A resumed run reads its own train list again unless another is given.

    Raises:
        DataError: a resumed run's data (or train list) differs from the data given now.
    """
    from avsmodel.data import train_val_datasets

    if train_list is None and ck is not None:
        train_list = ck.data.get("train_list")

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
        train_list=train_list,
    )
    if ck is not None and ck.data.get("sha256") != data["sha256"]:
        raise DataError(f"--resume: the data differs from the run's ({data.get('manifest', '')})")
    if ck is not None and ck.data.get("train_list_sha256") != data.get("train_list_sha256"):
        raise DataError(f"--resume: the train list differs from the run's ({train_list})")
    return train_ds, val_ds, data


def wrap_model(net: torch.nn.Module, info: Any) -> torch.nn.Module:
    """``net`` itself, or under DistributedDataParallel when the run is distributed."""
    if not info.distributed:
        return net
    from torch.nn.parallel import DistributedDataParallel as DDP

    # Every trainable parameter gets a gradient each step (SAM's IoU head, which would
    # not, is frozen), so DDP need not search the graph for unused ones.
    ids = [info.local_rank] if info.device.startswith("cuda") else None
    return DDP(net, device_ids=ids, find_unused_parameters=False)


def setup_loaders(train_ds: Any, val_ds: Any, cfg: TrainConfig, info: Any) -> tuple[Any, Any]:
    """The training sampler (this rank's shard, reshuffled per epoch) and the validation
    loader (this rank's shard, in order).

    Streamed shards (:class:`~avsmodel.data.shards.ShardDataset`) need no sampler (None):
    the datasets learn this process's rank and split the tar shards themselves.
    """
    from torch.utils.data import DataLoader, IterableDataset

    from avsmodel.data import collate
    from avsmodel.distributed import ShardSampler

    if isinstance(train_ds, IterableDataset):
        for ds in (train_ds, val_ds):
            ds.set_rank(info.rank, info.world_size)
        train_ds.check_readers(cfg.workers)
        val_loader = DataLoader(
            val_ds, batch_size=cfg.val_batch_size, num_workers=cfg.workers, collate_fn=collate
        )
        return None, val_loader
    sampler = ShardSampler(
        len(train_ds),
        rank=info.rank,
        world_size=info.world_size,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        drop_last=cfg.drop_last,
    )
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
    return sampler, val_loader


def setup_optimiser(
    params: list[torch.nn.Parameter], cfg: TrainConfig, *, steps_per_epoch: int
) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW and its cosine schedule: over all the run's steps (``schedule_step: step``), or
    over its epochs, stepped after each (``epoch``, the authors')."""
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    t_max = cfg.epochs if cfg.schedule_step == "epoch" else cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=t_max, eta_min=cfg.min_lr)
    return opt, sched


def restore(run: Run, ck: Checkpoint) -> None:
    """Continue from ``last.pt``: weights, optimiser and schedule states, epoch counters."""
    if ck.resume is None:  # resume_state refuses such a checkpoint first
        raise CheckpointError(f"{run.out / 'last.pt'}: holds no optimiser state")
    run.net.load_trainable_state_dict(ck.state_dict)
    run.opt.load_state_dict(ck.resume.optimizer)
    run.sched.load_state_dict(ck.resume.scheduler)
    run.start_epoch, run.best = int(ck.epoch or 0), float(ck.best_miou or 0.0)
    run.best_epoch = int(ck.best_epoch or 0)


def write_run_files(run: Run) -> None:
    """``config.yaml``, the few-shot subset, and ``metrics.jsonl`` cut to the start epoch."""
    import yaml

    from avsmodel.training.plots import read_metrics, write_metrics

    out, cfg = run.out, run.cfg
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    if cfg.train_fraction < 1.0 or run.base.data.get("train_list"):  # the kept ids, in order
        ids = run.train_ds.ids()
        atomic_write_text(out / "train_subset.txt", "".join(f"{i}\n" for i in ids))
    run.history = read_metrics(out / "metrics.jsonl", upto=run.start_epoch)
    write_metrics(out / "metrics.jsonl", run.history)


def _resolved(path: Any) -> str | None:
    return None if path is None else str(Path(path).resolve())
