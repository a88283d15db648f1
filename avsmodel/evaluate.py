"""Evaluation of a trained checkpoint: mIoU (J) and F-score on a manifest split or AVSBench.

Metrics follow the AVSBench convention (DESIGN section 5): per frame, IoU of
``sigmoid(logit) > 0.5`` with the ground truth (a frame with an empty ground truth scores the
fraction of pixels correctly predicted as background), averaged over frames; F with
``beta^2 = 0.3`` on 255 thresholds, frames with an empty ground truth skipped. The default F
is batch-independent: the maximum over thresholds of the dataset-mean F curve.
``fscore_batch=4`` gives the official code's number instead (max over thresholds per batch of
4 frames, averaged over batches). ``evaluate`` scores at each image's own resolution;
validation during training scores at the model's mask resolution (faster, same convention).

``audio="mismatched"`` pairs every image with a clip of another category (deterministic):
a model that listens should then fail, one that ignores the sound should not.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch

BETA2 = 0.3
N_THRESHOLDS = 255


class MetricAccumulator:
    """Per-frame IoU and F curves, summed; mergeable over ranks."""

    def __init__(self) -> None:
        self.thresholds = torch.linspace(0, 1 - 1e-10, N_THRESHOLDS, dtype=torch.float64)
        self.iou_sum = 0.0
        self.n = 0
        self.f_sum = torch.zeros(N_THRESHOLDS, dtype=torch.float64)
        self.f_n = 0
        self.curves: list[torch.Tensor | None] = []
        self.by_key: dict[str, list[float]] = {}

    def add(self, logits: torch.Tensor, gt: torch.Tensor, key: str | None = None) -> float:
        """Score one frame: ``logits`` and ``gt`` ``[H, W]``. Returns its IoU."""
        prob = torch.sigmoid(logits.detach().double()).flatten()
        g = gt.detach().flatten().bool()
        pred = prob > 0.5
        if g.any():
            inter = (pred & g).sum().item()
            union = (pred | g).sum().item()
            iou = inter / union
            # F curve via histograms: count(prob >= t_j) for all 255 thresholds at once.
            idx = torch.bucketize(prob, self.thresholds, right=True)
            hist_all = torch.bincount(idx, minlength=N_THRESHOLDS + 1).double()
            hist_pos = torch.bincount(idx[g], minlength=N_THRESHOLDS + 1).double()
            ge_all = hist_all.flip(0).cumsum(0).flip(0)[1:]
            tp = hist_pos.flip(0).cumsum(0).flip(0)[1:]
            prec = tp / (ge_all + 1e-20)
            rec = tp / (g.sum().double() + 1e-20)
            f = (1 + BETA2) * prec * rec / (BETA2 * prec + rec)
            f = torch.nan_to_num(f, nan=0.0)
            self.f_sum += f
            self.f_n += 1
            self.curves.append(f)
        else:
            iou = (~pred).double().mean().item()
            self.curves.append(None)
        self.iou_sum += iou
        self.n += 1
        if key is not None:
            self.by_key.setdefault(key, []).append(iou)
        return iou

    def reduce(self, info: Any) -> None:
        """Sum the totals over ranks (the per-frame lists stay local)."""
        from avsmodel.train.distributed import all_reduce_tensor

        if not getattr(info, "distributed", False):
            return
        vec = torch.cat([torch.tensor([self.iou_sum, self.n, self.f_n]), self.f_sum])
        vec = all_reduce_tensor(vec.double(), info)
        self.iou_sum, self.n, self.f_n = vec[0].item(), int(vec[1].item()), int(vec[2].item())
        self.f_sum = vec[3:]

    @property
    def miou(self) -> float:
        """Mean IoU over frames."""
        return self.iou_sum / self.n if self.n else float("nan")

    def fscore(self, batch: int | None = None) -> float:
        """F: max of the dataset-mean curve, or the official per-batch mean (``batch``)."""
        if batch is None:
            return float((self.f_sum / self.f_n).max()) if self.f_n else float("nan")
        scores = []
        for start in range(0, len(self.curves), batch):
            cs = [c for c in self.curves[start : start + batch] if c is not None]
            scores.append(float(torch.stack(cs).mean(0).max()) if cs else 0.0)
        return sum(scores) / len(scores) if scores else float("nan")


def valid_hw(resized: tuple[int, int], image_size: int, mask_size: int) -> tuple[int, int]:
    """Unpadded extent of a ``resized`` image on the ``mask_size`` grid."""
    r = mask_size / image_size
    return max(1, math.ceil(resized[0] * r)), max(1, math.ceil(resized[1] * r))


@torch.no_grad()
def run_eval(
    task: Any,
    loader: Any,
    *,
    info: Any = None,
    image_size: int,
    full_res: bool = False,
    transform: Any = None,
    keys: list[str] | None = None,
    progress: bool = False,
    desc: str = "eval",
) -> MetricAccumulator:
    """Score a model over a loader.

    Args:
        task: A :class:`SegmentationTask` (gives logits ``[B, s, s]``).
        loader: Batches from :func:`avsmodel.data.collate`.
        info: :class:`DistInfo` for device and reduction (None: CPU, one process).
        image_size: The model's input size S.
        full_res: Score at each image's size (needs ``mask_full`` in batches and
            ``transform``); else at mask resolution on the unpadded region.
        transform: The :class:`SamTransform` (``postprocess``) for ``full_res``.
        keys: Per-item key (e.g. category) by dataset index, for per-key mIoU.
        progress: Show a tqdm bar.
        desc: Bar label.
    """
    from tqdm import tqdm

    device = getattr(info, "device", "cpu")
    acc = MetricAccumulator()
    for batch in tqdm(loader, desc=desc, disable=not progress, leave=False, dynamic_ncols=True):
        b = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
        logits = task.logits(b).float().cpu()
        s = logits.shape[-1]
        for i in range(logits.shape[0]):
            key = keys[int(batch["index"][i])] if keys is not None else None
            if full_res:
                out = transform.postprocess(
                    logits[i : i + 1, None], tuple(batch["resized"][i]), tuple(batch["size"][i])
                )
                acc.add(out[0, 0], batch["mask_full"][i], key)
            else:
                vh, vw = valid_hw(tuple(batch["resized"][i]), image_size, s)
                acc.add(logits[i, :vh, :vw], batch["mask"][i, :vh, :vw].cpu(), key)
    acc.reduce(info)
    return acc


def evaluate(
    ckpt: str | os.PathLike[str],
    *,
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
) -> dict[str, Any]:
    """Evaluate a checkpoint on a manifest split or an AVSBench subset.

    Args:
        ckpt: ``best.pt``/``last.pt`` of ``avsmodel train``.
        manifest: An avsynth manifest (exclusive with ``avsbench``).
        avsbench: AVSBench root (with ``subset`` ``s4`` or ``ms3``).
        subset: AVSBench subset.
        split: ``train``, ``val`` or ``test``.
        audio: ``matched`` or ``mismatched`` (each image with another category's clip).
        batch_size: Frames per forward pass (default: the run's ``val_batch_size``).
        fscore_batch: Also report the official per-batch F (e.g. 4) as ``fscore_official``.
        sam_checkpoint: SAM weights for the frozen encoder (default: the path recorded).
        vggish_checkpoint: VGGish weights (default: the path recorded).
        roots: Source roots of a plan-only manifest.
        workers: DataLoader workers.
        progress: Show a progress bar.

    Returns:
        ``{"miou", "fscore", "n", "split", "audio", "model", ...}``; for manifests also
        ``per_category`` mIoU.

    Raises:
        DataError, CheckpointError, ConfigError: unusable inputs (one-line messages).
    """
    from torch.utils.data import DataLoader

    from avsmodel.data import AvsbenchDataset, ManifestDataset, collate
    from avsmodel.errors import ConfigError
    from avsmodel.train.checkpoint import build_from_checkpoint
    from avsmodel.train.task import SegmentationTask

    if audio not in ("matched", "mismatched"):
        raise ConfigError(f"audio={audio!r}: use matched or mismatched")
    if (manifest is None) == (avsbench is None):
        raise ConfigError("give exactly one of a manifest or an AVSBench root")
    model, meta = build_from_checkpoint(
        ckpt, sam_checkpoint=sam_checkpoint, vggish_checkpoint=vggish_checkpoint
    )
    S, N = model.image_size, model.audio_examples
    seed = int(meta["train_config"].get("seed", 0))
    mism = audio == "mismatched"
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
        )
        keys = [t.category for t in ds.records]
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
        )
        keys = None
    bs = batch_size or int(meta["train_config"].get("val_batch_size", 4))
    loader = DataLoader(ds, batch_size=bs, shuffle=False, num_workers=workers, collate_fn=collate)
    task = SegmentationTask(model, needs_gt=model.config.family == "sam_oracle")
    acc = run_eval(
        task,
        loader,
        image_size=S,
        full_res=True,
        transform=ds.transform,
        keys=keys,
        progress=progress,
        desc=f"eval {split} ({audio})",
    )
    result: dict[str, Any] = {
        "miou": acc.miou,
        "fscore": acc.fscore(),
        "n": acc.n,
        "split": split,
        "audio": audio,
        "model": meta["model"],
        "checkpoint": str(Path(ckpt)),
        "epoch": meta.get("epoch"),
    }
    if fscore_batch:
        result["fscore_official"] = acc.fscore(fscore_batch)
        result["fscore_batch"] = fscore_batch
    if acc.by_key:
        result["per_category"] = {k: sum(v) / len(v) for k, v in sorted(acc.by_key.items())}
    return result
