"""The training entry point (one process or DDP under torchrun).

One run folder holds ``config.yaml`` (effective config), ``metrics.jsonl`` (one line per
epoch), ``curves.png``, ``best.pt`` (best val mIoU) and ``last.pt`` (with optimiser and
scheduler state for ``resume``). The data order of epoch e depends only on ``(seed, e)`` and
all RNGs are re-seeded from ``(seed, e)`` at each epoch start, so a resumed run ends with
exactly the weights of an uninterrupted one (no RNG state needs saving).

The work is split in :func:`~avsmodel.training.run_setup.setup_run` (config, model, data,
optimiser, resumed state), :func:`_train_epoch` (one pass over the training data),
:func:`_validate` and :func:`_save` (checkpoints, metrics, curves).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from avsmodel.checks import check_count, write_failure
from avsmodel.errors import TrainingError
from avsmodel.recipe import TrainConfig
from avsmodel.training.run_folder import check_out
from avsmodel.training.run_lock import ReplacedRun, RunLock, check_init_outside
from avsmodel.training.run_setup import Run, epoch_seed, seed_all, setup_run, worker_init

__all__ = ["TrainResult", "epoch_seed", "seed_all", "train"]


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
    overwrite: bool = False,
    roots: dict[str, str | os.PathLike[str]] | None = None,
    device: str | None = None,
    progress: bool = True,
    stop_after: int | None = None,
    train_list: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> TrainResult:
    """Train a model on a manifest's train split (or AVSBench), validating every epoch.

    Args:
        manifest: avsynth ``manifest.jsonl`` (needs ``train`` and ``val`` triplets), or a
            WebDataset export folder (``avsynth export --format webdataset``), streamed by
            :class:`avsmodel.data.shards.ShardDataset`.
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
        overwrite: ``out`` may hold a run: replace its run files once the new run has been
            set up (they are restored if the set-up fails; an ``init`` among them is
            refused). Without ``resume`` or ``overwrite`` a folder holding a run is refused.
            One training at a time may use ``out`` (:mod:`avsmodel.training.run_lock`).
        roots: Source roots of a plan-only manifest.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``; under
            torchrun each rank takes its ``LOCAL_RANK`` GPU
            (:func:`avsmodel.device.resolve_device`).
        progress: Show progress bars.
        stop_after: Stop after this many epochs (at least 1) in this call (time-boxed
            jobs); the schedule still spans ``epochs`` and ``resume=True`` continues the run.
        train_list: A file of train ids (triplet ids, or AVSBench clip names), one per line:
            the run trains on the first ``int(N * train_fraction)`` of them (the authors'
            few-shot slicing of their shuffled CSV). Recorded with its hash in the
            checkpoint's ``data``.
        **overrides: Config keys, e.g. ``epochs=3, batch_size=4, lr=1e-4, seed=1``.

    Returns:
        :class:`TrainResult` (on every rank; files are written by rank 0 only).

    Raises:
        ConfigError, DataError, CheckpointError: unusable inputs (one-line messages).
        TrainingError: the loss or the weights stopped being finite (nothing is saved for
            that epoch; ``last.pt`` keeps the previous one).
        avsynth.errors.OutputError: ``out`` is a file, lies below one, or is not writable.
    """
    from avsmodel.distributed import cleanup, init_distributed
    from avsynth.storage.out_paths import check_out_dir

    check_count("--stop-after", stop_after, 1)
    out = check_out_dir(out)  # a file, or no permission: say so before any work
    check_out(out, resume=resume, overwrite=overwrite)
    if overwrite:
        check_init_outside(out, init)
    info = init_distributed(device)
    threads = torch.get_num_threads()
    setup = dict(
        model=model,
        config=config,
        avsbench=avsbench,
        subset=subset,
        sam_checkpoint=sam_checkpoint,
        vggish_checkpoint=vggish_checkpoint,
        init=init,
        resume=resume,
        roots=roots,
        progress=progress,
        overrides=overrides,
        train_list=train_list,
    )
    try:
        with RunLock(out) if info.is_main else contextlib.nullcontext():
            return _train_locked(info, manifest, out, overwrite, stop_after, setup)
    finally:
        torch.set_num_threads(threads)  # ``threads`` in the recipe applies to this call only
        cleanup(info)


def _train_locked(
    info: Any,
    manifest: Any,
    out: Path,
    overwrite: bool,
    stop_after: int | None,
    setup: dict[str, Any],
) -> TrainResult:
    """``train`` in a locked run folder: set up (the old run set aside on ``overwrite``,
    restored if the set-up fails), then the epochs."""
    from avsmodel.distributed import barrier

    replaced = ReplacedRun(out) if overwrite and info.is_main else None
    barrier(info)
    t_start = time.monotonic()
    try:
        run = setup_run(info, manifest, out=out, **setup)
    except BaseException:
        if replaced is not None:
            replaced.restore()  # nothing was trained: the old run is back as it was
        raise
    if replaced is not None:
        replaced.discard()  # the new run has started: the old one is replaced
    cfg = run.cfg
    end = cfg.epochs if stop_after is None else min(cfg.epochs, run.start_epoch + stop_after)
    for epoch in range(run.start_epoch, end):
        t0 = time.monotonic()
        train_loss, steps = _train_epoch(run, epoch)
        acc = _validate(run)
        row = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_miou": acc.miou,
            "val_fscore": acc.fscore(),
            "lr": run.sched.get_last_lr()[0],
            "epoch_seconds": round(time.monotonic() - t0, 3),
            "steps": steps,
        }
        _save(run, row)
        barrier(info)
    return TrainResult(
        out=out,
        best_miou=run.best,
        best_epoch=run.best_epoch,
        epochs=cfg.epochs,
        history=run.history,
        seconds=time.monotonic() - t_start,
        completed_epochs=end,
        model=run.net,
    )


def _train_epoch(run: Run, epoch: int) -> tuple[float, int]:
    """One pass over this epoch's training order; ``(mean loss over all ranks, local steps)``.

    Raises:
        TrainingError: a step's loss is NaN/inf on any rank (all ranks stop together).
    """
    from torch.utils.data import DataLoader

    from avsmodel.data import collate
    from avsmodel.distributed import all_reduce_sum
    from avsynth.progress import progress as progress_bar

    cfg, info = run.cfg, run.info
    es = epoch_seed(cfg.seed, epoch)
    seed_all(es)
    if run.sampler is not None:  # None: streamed shards (the dataset splits itself)
        run.sampler.set_epoch(epoch)
    run.train_ds.set_epoch(epoch)
    loader = DataLoader(
        run.train_ds,
        batch_size=cfg.batch_size,
        sampler=run.sampler,
        num_workers=cfg.workers,
        collate_fn=collate,
        worker_init_fn=worker_init,
        generator=torch.Generator().manual_seed(es),
    )
    run.wrapped.train()
    loss_sum, n_steps = 0.0, 0
    desc = f"epoch {epoch + 1}/{cfg.epochs}"
    bar = progress_bar(loader, desc=desc, unit="batches", enabled=run.show, leave=False)
    for batch in bar:
        b = {k: (v.to(info.device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
        loss, m = run.task(b)
        bad = not math.isfinite(m["loss"])
        if info.distributed:  # stop every rank at the same step
            bad = all_reduce_sum([float(bad)], info)[0] > 0
        if bad:
            raise TrainingError(
                f"{run.out}: epoch {epoch + 1} step {n_steps + 1}: the loss is not finite "
                f"({m['loss']}); training stopped (lower --lr or set grad_clip)"
            )
        run.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(run.params, cfg.grad_clip)
        run.opt.step()
        if cfg.schedule_step == "step":
            run.sched.step()
        loss_sum += m["loss"]
        n_steps += 1
        bar.set_postfix(loss=f"{m['loss']:.4f}", lr=f"{run.sched.get_last_lr()[0]:.2e}")
    if cfg.schedule_step == "epoch":  # the authors': one cosine step per epoch
        run.sched.step()
    tot_loss, tot_steps = all_reduce_sum([loss_sum, float(n_steps)], info)
    return tot_loss / max(tot_steps, 1.0), n_steps


def _validate(run: Run) -> Any:
    """Validation metrics of the current weights (accumulated over all ranks)."""
    from avsmodel.evaluation.scoring import run_eval

    run.wrapped.eval()
    return run_eval(
        run.val_task,
        run.val_loader,
        info=run.info,
        image_size=run.net.image_size,
        progress=run.show,
        desc="val",
    )


def _save(run: Run, row: dict[str, Any]) -> None:
    """Record an epoch: ``best.pt`` if val mIoU improved, ``last.pt``, metrics, curves.

    Raises:
        TrainingError: a trainable weight is NaN/inf (nothing is written), or the metrics or
            curves cannot be written.
        CheckpointError: a checkpoint cannot be written (the previous one is unchanged).
    """
    from tqdm import tqdm

    from avsmodel.checkpoint import ResumeState, save_checkpoint
    from avsmodel.training.plots import append_metrics, plot_curves

    if not all(bool(torch.isfinite(p).all()) for p in run.params):
        raise TrainingError(
            f"{run.out}: epoch {row['epoch']}: weights are not finite; training stopped and "
            "this epoch was not saved (lower --lr or set grad_clip)"
        )
    epoch = row["epoch"]
    improved = row["val_miou"] > run.best  # False for a NaN mIoU
    if improved:
        run.best, run.best_epoch = row["val_miou"], epoch
    if not run.info.is_main:
        return
    common = run.base.replace(
        epoch=epoch,
        best_miou=run.best,
        best_epoch=run.best_epoch,
        metrics=row,
        state_dict=run.net.trainable_state_dict(),
    )
    if improved:
        save_checkpoint(run.out / "best.pt", common)
    resume = ResumeState(optimizer=run.opt.state_dict(), scheduler=run.sched.state_dict())
    save_checkpoint(run.out / "last.pt", common.replace(resume=resume))
    try:
        append_metrics(run.out / "metrics.jsonl", row)
        run.history.append(row)
        plot_curves(run.history, run.out / "curves.png")
    except OSError as e:
        raise TrainingError(
            f"{e.filename or run.out}: cannot write ({write_failure(e)}); the checkpoints of "
            f"epoch {epoch} are saved"
        ) from None
    if run.show:
        tqdm.write(
            f"epoch {epoch}/{run.cfg.epochs}: loss {row['train_loss']:.4f}  "
            f"val mIoU {row['val_miou']:.4f}  F {_f4(row['val_fscore'])}  "
            f"lr {row['lr']:.2e}  {row['epoch_seconds']:.1f}s" + ("  (best)" if improved else "")
        )


def _f4(f: float | None) -> str:
    return "-" if f is None else f"{f:.4f}"
