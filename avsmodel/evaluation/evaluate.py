"""Evaluation of a trained checkpoint (or the training-free SAM oracle): mIoU (J) and F.

Metrics follow the AVSBench convention (``docs/metrics.md``): per frame, IoU of
``sigmoid(logit) > 0.5`` with the ground truth (a frame with an empty ground truth scores the
fraction of pixels correctly predicted as background), averaged over frames; F with
``beta^2 = 0.3`` on 255 thresholds, frames with an empty ground truth skipped, under three
named protocols reported side by side (``avsbench``, ``authors``, ``dataset``: see
:func:`avsmodel.evaluation.metrics.f_score`). ``evaluate`` scores at each image's own resolution;
validation during training scores at the model's mask resolution (faster, same convention).

``audio="mismatched"`` pairs every image with a clip of another category (deterministic):
a model that listens should then fail, one that ignores the sound should not.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from avsmodel.checkpoint import Checkpoint
from avsmodel.evaluation.scoring import run_eval


def _check_split(manifest: Any, avsbench: Any, subset: str | None, split: str) -> None:
    """Refuse an unknown split, or one the data lacks, naming the splits it has."""
    from avsmodel.data.avsbench import check_meta_split, locate, read_meta
    from avsmodel.errors import ConfigError, DataError
    from avsynth.errors import ManifestError
    from avsynth.manifest import check_split, iter_manifest

    if manifest is not None:
        present = {t.split for t in iter_manifest(manifest)}
        try:
            check_split(split, present, source=Path(manifest).name)
        except ManifestError as e:
            raise DataError(f"{manifest}: {e}") from None
        return
    if subset is None:
        raise ConfigError("--avsbench needs --subset s4 or ms3")
    meta, _ = locate(avsbench, subset)
    check_meta_split(meta, {c.split for c in read_meta(meta, subset)}, split)


def evaluate(
    ckpt: str | os.PathLike[str] | None = None,
    *,
    model: str | None = None,
    oracle: str = "everything",
    manifest: str | os.PathLike[str] | None = None,
    avsbench: str | os.PathLike[str] | None = None,
    subset: str | None = None,
    split: str = "test",
    audio: str = "matched",
    batch_size: int | None = None,
    fscore_batch: int | None = None,
    sam_checkpoint: str | os.PathLike[str] | None = None,
    vggish_checkpoint: str | os.PathLike[str] | None = None,
    roots: dict[str, str | os.PathLike[str]] | None = None,
    workers: int = 0,
    progress: bool = True,
    seed: int = 0,
    score_size: str | None = None,
    resize: str | None = None,
    device: str | None = "auto",
    autocast: str = "none",
) -> dict[str, Any]:
    """Evaluate a checkpoint (or the training-free SAM oracle) on a manifest split or AVSBench.

    Args:
        ckpt: ``best.pt``/``last.pt`` of ``avsmodel train`` (exclusive with ``model``).
        model: A ``sam_oracle_*`` model to score without a run checkpoint (its SAM weights
            from ``sam_checkpoint``; ``sam_oracle_tiny`` is randomly initialised from
            ``seed``).
        oracle: SAM oracle variant: ``everything`` (segment-anything's automatic mask
            generator proposes the image's masks; the one with the highest IoU to the
            ground truth is kept, as in the paper) or ``multimask`` (the best of SAM's 3
            no-prompt masks).
        manifest: An avsynth manifest (exclusive with ``avsbench``).
        avsbench: AVSBench root (with ``subset`` ``s4`` or ``ms3``).
        subset: AVSBench subset.
        split: ``train``, ``val`` or ``test``.
        audio: ``matched`` or ``mismatched`` (each image with another category's clip).
        batch_size: Frames per forward pass (default: the run's ``val_batch_size``).
        fscore_batch: Also report a per-batch F of this many frames as ``fscore_official``.
        sam_checkpoint: SAM weights (default for a checkpoint: the path recorded).
        vggish_checkpoint: VGGish weights (default: the path recorded).
        roots: Source roots of a plan-only manifest.
        workers: DataLoader workers.
        progress: Show a progress bar.
        seed: Seed of the mismatched pairing and of a random-init oracle (``model`` only).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``
            (:func:`avsmodel.device.resolve_device`). Under ``torchrun`` each rank takes its
            ``LOCAL_RANK`` GPU and scores a disjoint share of the batches; the results are
            combined in dataset order, so every rank returns exactly one process's numbers.
        autocast: ``none`` (fp32, as the paper; default), ``bf16`` or ``fp16``: the forward
            passes under ``torch.autocast`` (faster on GPUs; scores move slightly).
        score_size: ``ground_truth`` (each frame at its own size, AVSBench's convention) or
            ``input`` (on the model's input grid, e.g. 1024 px, as the authors; with a run
            trained with ``resize: squash`` this is exactly their scoring). Default: the
            run's recipe (``score_size`` of its ``train_config``; ``ground_truth`` for runs
            that predate the key).
        resize: ``pad`` or ``squash``: how frames are brought to the model's input size.
            Default: the run's recipe (``resize``; ``pad`` for runs that predate it).

    Returns:
        ``{"miou", "fscore": {"avsbench", "authors", "dataset"}, "n", "split", "audio",
        "model", "device", "autocast", "world_size", ...}``; for manifests also
        ``per_category`` mIoU, and for composed manifests
        ``per_composition``: ``{name: {"miou", "fscore", "n", "pred_area"}}`` (F of the
        ``dataset`` protocol; :mod:`avsmodel.evaluation.per_composition`).

    Raises:
        DataError, CheckpointError, ConfigError: unusable inputs (one-line messages); an
            unknown split, or one the data lacks, is refused before the model is loaded,
            naming the splits the manifest (or AVSBench meta CSV) has.
    """
    from avsmodel.checks import check_count, check_seed
    from avsmodel.errors import ConfigError

    check_count("--batch-size", batch_size, 1)
    check_count("--fscore-batch", fscore_batch, 1)
    check_count("--loader-workers", workers, 0)
    check_seed("--seed", seed)
    if audio not in ("matched", "mismatched"):
        raise ConfigError(f"audio={audio!r}: use matched or mismatched")
    if score_size not in (None, "ground_truth", "input"):
        raise ConfigError(f"score_size={score_size!r}: use ground_truth or input")
    if autocast not in AUTOCAST_CHOICES:
        raise ConfigError(f"autocast={autocast!r}: use one of {', '.join(AUTOCAST_CHOICES)}")
    if resize not in (None, "pad", "squash"):
        raise ConfigError(f"resize={resize!r}: use pad or squash")
    if oracle not in ORACLE_VARIANTS:
        raise ConfigError(f"oracle={oracle!r}: use one of {', '.join(ORACLE_VARIANTS)}")
    if (manifest is None) == (avsbench is None):
        raise ConfigError("give exactly one of a manifest or an AVSBench root")
    if (ckpt is None) == (model is None):
        raise ConfigError("give a run checkpoint or --model sam_oracle_* (not both)")
    from avsmodel.device import resolve_device

    resolve_device(device)  # a bad request fails before any work, in every process
    _check_split(manifest, avsbench, subset, split)  # before loading the (large) model
    from avsmodel.distributed import process_group

    with process_group(device) as info:
        if ckpt is not None:
            from avsmodel.pretrained.build import build_from_checkpoint

            net, meta = build_from_checkpoint(
                ckpt,
                sam_checkpoint=sam_checkpoint,
                vggish_checkpoint=vggish_checkpoint,
                device=info.device,
            )
        else:
            net, meta = _oracle_without_run(model, sam_checkpoint, vggish_checkpoint, seed)
            net.to(info.device)
        return _run(
            net,
            meta,
            info,
            oracle=oracle,
            ds_args=(manifest, avsbench, subset, split, audio, roots),
            batch_size=batch_size,
            fscore_batch=fscore_batch,
            workers=workers,
            progress=progress,
            ckpt=ckpt,
            score_size=score_size or str(meta.train_config.get("score_size", "ground_truth")),
            resize=resize or str(meta.train_config.get("resize", "pad")),
            autocast=autocast,
        )


ORACLE_VARIANTS = ("everything", "multimask")
#: ``autocast`` of :func:`evaluate` (``--autocast`` of ``avsmodel eval``).
AUTOCAST_CHOICES = ("none", "bf16", "fp16")


def _run(net: Any, meta: Checkpoint, info: Any, *, oracle: str, **kw: Any) -> dict[str, Any]:
    """:func:`_evaluate` with the oracle variant and the recipe's thread count applied."""
    if getattr(net.config, "family", None) == "sam_oracle":
        net.oracle_mode = oracle
    threads = torch.get_num_threads()
    if int(meta.train_config.get("threads", 0)) > 0:
        torch.set_num_threads(int(meta.train_config["threads"]))
    try:
        return _evaluate(net, meta, info=info, **kw)
    finally:
        torch.set_num_threads(threads)


def _oracle_without_run(
    model: str | None, sam_checkpoint: Any, vggish_checkpoint: Any, seed: int
) -> tuple[Any, Checkpoint]:
    """A SAM oracle built from the registry, and the metadata a checkpoint would carry."""
    from avsmodel.errors import ConfigError
    from avsmodel.pretrained.build import build_model
    from avsmodel.pretrained.registry import get_config
    from avsmodel.recipe import load_config

    cfg = get_config(str(model))
    if cfg.family != "sam_oracle":
        raise ConfigError(
            f"--model {model}: only sam_oracle_* models evaluate without a run checkpoint; "
            "train the others first (avsmodel train)"
        )
    if vggish_checkpoint is not None:
        raise ConfigError(f"{model} has no audio encoder; drop --vggish-checkpoint")
    if cfg.variant != "tiny" and sam_checkpoint is None:
        raise ConfigError(f"{model} needs --sam-checkpoint (official sam_{cfg.variant}_*.pth)")
    recipe = load_config(cfg.name)
    torch.manual_seed(seed)
    net = build_model(cfg.name, sam_checkpoint=sam_checkpoint, **recipe.model)
    meta = Checkpoint(model=cfg.name, train_config=dict(recipe.to_dict(), seed=seed))
    return net, meta


def _evaluate(
    model: Any,
    meta: Checkpoint,
    *,
    ds_args: tuple,
    batch_size: int | None,
    fscore_batch: int | None,
    workers: int,
    progress: bool,
    ckpt: Any,
    info: Any,
    score_size: str = "ground_truth",
    resize: str = "pad",
    autocast: str = "none",
) -> dict[str, Any]:
    from avsmodel.evaluation.loader import eval_loader
    from avsmodel.task import SegmentationTask

    split, audio = ds_args[3], ds_args[4]
    ds, keys, groups, resize = _eval_dataset(model, meta, ds_args, score_size, resize)
    S = model.image_size
    bs = batch_size or int(meta.train_config.get("val_batch_size", 4))
    loader = eval_loader(
        ds,
        batch_size=bs,
        workers=workers,
        device=info.device,
        rank=info.rank,
        world_size=info.world_size,
    )
    model.eval()
    task = SegmentationTask(model, needs_gt=model.config.family == "sam_oracle")
    frames_per_clip = int(getattr(ds, "frames_per_clip", 1))
    acc = run_eval(
        task,
        loader,
        info=info,
        image_size=S,
        full_res=True,
        transform=ds.transform,
        keys=keys,
        progress=progress and info.is_main,
        desc=f"eval {split} ({audio})",
        fscore_batch=fscore_batch,
        frames_per_clip=frames_per_clip,
        score_size=score_size,
        groups=groups,
        autocast=autocast,
        inference=True,
    )
    result: dict[str, Any] = {
        "miou": acc.miou,
        "fscore": acc.fscores(),
        "frames_per_clip": frames_per_clip,
        "score_size": score_size,
        "resize": resize,
        "n": acc.n,
        "split": split,
        "audio": audio,
        "model": meta.model,
        "checkpoint": None if ckpt is None else str(Path(ckpt)),
        "epoch": meta.epoch,
        "device": info.device,
        "autocast": autocast,
        "world_size": info.world_size,
    }
    if model.config.family == "sam_oracle":
        result["oracle"] = getattr(model, "oracle_mode", "multimask")
    if fscore_batch:
        result["fscore_official"] = acc.fscore(official=True)
        result["fscore_batch"] = fscore_batch
    if acc.by_key:
        result["per_category"] = {k: sum(v) / len(v) for k, v in sorted(acc.by_key.items())}
    if acc.by_composition is not None:  # composed manifests (docs/metrics.md)
        result["per_composition"] = acc.by_composition.summary()
    return result


def _eval_dataset(
    model: Any, meta: Checkpoint, ds_args: tuple, score_size: str, resize: str
) -> tuple[Any, list[str] | None, list[str] | None, str]:
    """The dataset to score (frames resized by ``resize``), its per-category keys and
    composition groups, and the resize.

    Raises:
        ConfigError: an AVSBench root without a subset.
    """
    from avsmodel.data import AvsbenchDataset, ManifestDataset
    from avsmodel.errors import ConfigError

    manifest, avsbench, subset, split, audio, roots = ds_args
    S, N = model.image_size, model.audio_examples
    seed = int(meta.train_config.get("seed", 0))
    mism = audio == "mismatched"
    oracle = model.config.family == "sam_oracle"  # chooses at the input grid's resolution
    extra = dict(resize=resize, input_masks=score_size == "input" or oracle)
    if manifest is not None:
        ds = ManifestDataset(
            manifest,
            split,
            image_size=S,
            audio_examples=N,
            roots=roots,
            mismatched=mism,
            seed=seed,
            full_masks=True,
            **extra,
        )
        keys = [t.category for t in ds.records]
        comps = [t.composition for t in ds.records]
        groups = comps if any(c != "single" for c in comps) else None
    else:
        if subset is None:
            raise ConfigError("--avsbench needs --subset s4 or ms3")
        ds = AvsbenchDataset(
            avsbench,
            subset,
            split,
            image_size=S,
            audio_examples=N,
            mismatched=mism,
            seed=seed,
            full_masks=True,
            **extra,
        )
        keys = groups = None
    return ds, keys, groups, resize
