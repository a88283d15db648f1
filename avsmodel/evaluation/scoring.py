"""Scoring a model over a loader: per-frame mIoU (J) and F under every protocol.

:func:`run_eval` is shared by :func:`avsmodel.evaluate` (each image at its own resolution)
and by validation during training (the model's mask resolution); the metrics themselves are
in :mod:`avsmodel.evaluation.metrics` (conventions in ``docs/metrics.md``).
"""

from __future__ import annotations

import math
from typing import Any

import torch


class EvalAccumulator:
    """Per-frame scores of frames of any size, on
    :class:`avsmodel.evaluation.metrics.MetricAccumulator`.

    Adds per-key (e.g. per-category) mIoU, the batch-dependent F protocols next to the
    batch-independent one, and the sum over DDP ranks.

    Args:
        fscore_batch: Also track a per-batch F with batches of this many frames.
        frames_per_clip: Also track the ``avsbench`` and ``authors`` F protocols, frames
            arriving in dataset order with this many frames per video.
    """

    def __init__(self, fscore_batch: int | None = None, frames_per_clip: int | None = None) -> None:
        from avsmodel.evaluation.metrics import MetricAccumulator, protocol_accumulator

        self.main = MetricAccumulator()
        self.official = MetricAccumulator(batch_size=fscore_batch) if fscore_batch else None
        self.protocols = (
            {p: protocol_accumulator(p, frames_per_clip) for p in ("avsbench", "authors")}
            if frames_per_clip
            else {}
        )
        self.by_key: dict[str, list[float]] = {}
        self.by_composition: Any = None  # CompositionScores when groups are given

    def add(
        self,
        logits: torch.Tensor,
        gt: torch.Tensor,
        key: str | None = None,
        group: str | None = None,
    ) -> float:
        """Score one frame: ``logits`` and ``gt`` ``[H, W]``; ``group`` is its composition.
        Returns its IoU."""
        from avsmodel.evaluation.metrics import frame_ious

        lg, g = logits.detach()[None].float(), gt.detach()[None]
        self.main.update(lg, g)
        for acc in ([self.official] if self.official is not None else []) + list(
            self.protocols.values()
        ):
            acc.update(lg, g)
        iou = float(frame_ious(lg, g)[0])
        if key is not None:
            self.by_key.setdefault(key, []).append(iou)
        if group is not None:
            if self.by_composition is None:
                from avsmodel.evaluation.per_composition import CompositionScores

                self.by_composition = CompositionScores()
            self.by_composition.add(group, logits.detach(), gt.detach())
        return iou

    def reduce(self, info: Any) -> None:
        """Sum the batch-independent totals over ranks (batch-dependent F stays local)."""
        from avsmodel.distributed import all_reduce_tensor

        if not getattr(info, "distributed", False):
            return
        m = self.main
        vec = torch.cat([torch.tensor([m.iou_sum, m.frames, m.f_frames]), m.f_sum.cpu()])
        vec = all_reduce_tensor(vec.double(), info)
        m.iou_sum, m.frames, m.f_frames = vec[0].item(), int(vec[1]), int(vec[2])
        m.f_sum = vec[3:].clone()

    @property
    def n(self) -> int:
        """Frames scored."""
        return self.main.frames

    @property
    def miou(self) -> float:
        """Mean IoU over frames."""
        return self.main.compute()["miou"]

    def fscore(self, official: bool = False) -> float:
        """Batch-independent F, or the per-batch F of ``fscore_batch`` (``official=True``)."""
        acc = self.official if official else self.main
        if acc is None:
            raise ValueError("official F was not tracked (pass fscore_batch)")
        return acc.compute()["f_score"]

    def fscores(self) -> dict[str, float]:
        """``{"avsbench", "authors", "dataset"}`` F (needs ``frames_per_clip``)."""
        if not self.protocols:
            raise ValueError("F protocols were not tracked (pass frames_per_clip)")
        out = {p: acc.compute()["f_score"] for p, acc in self.protocols.items()}
        out["dataset"] = self.fscore()
        return dict(sorted(out.items()))


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
    fscore_batch: int | None = None,
    frames_per_clip: int | None = None,
    score_size: str = "ground_truth",
    groups: list[str] | None = None,
) -> EvalAccumulator:
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
        progress: Show progress (:func:`avsynth.progress.progress`).
        desc: Bar label.
        fscore_batch: Also track a per-batch F of this many frames.
        frames_per_clip: Also track the ``avsbench`` and ``authors`` F protocols.
        score_size: With ``full_res``: ``ground_truth`` scores at each image's own size
            (AVSBench's convention); ``input`` on the model's SxS input grid against the
            resized mask ``mask_input`` (padding cropped), as the authors score at 1024 px.
        groups: Per-item composition by dataset index (per-composition scores).
    """
    from avsynth.progress import progress as progress_bar

    device = getattr(info, "device", "cpu")
    acc = EvalAccumulator(fscore_batch, frames_per_clip)
    for batch in progress_bar(loader, desc=desc, unit="batches", enabled=progress, leave=False):
        b = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
        logits = task.logits(b).float().cpu()
        for i in range(logits.shape[0]):
            key = keys[int(batch["index"][i])] if keys is not None else None
            group = groups[int(batch["index"][i])] if groups is not None else None
            if full_res and score_size == "input":
                h, w = (int(v) for v in batch["resized"][i])
                big = torch.nn.functional.interpolate(
                    logits[i : i + 1, None],
                    (image_size, image_size),
                    mode="bilinear",
                    align_corners=False,
                )
                acc.add(big[0, 0, :h, :w], batch["mask_input"][i, :h, :w].cpu(), key, group)
            elif full_res:
                out = transform.postprocess(
                    logits[i : i + 1, None], tuple(batch["resized"][i]), tuple(batch["size"][i])
                )
                acc.add(out[0, 0], batch["mask_full"][i], key, group)
            else:
                lg = logits[i]
                m = batch["mask"][i].cpu()
                if lg.shape[-1] != m.shape[-1]:  # e.g. the everything-oracle's SxS output
                    lg = torch.nn.functional.interpolate(
                        lg[None, None], tuple(m.shape[-2:]), mode="bilinear", align_corners=False
                    )[0, 0]
                vh, vw = valid_hw(tuple(batch["resized"][i]), image_size, m.shape[-1])
                acc.add(lg[:vh, :vw], m[:vh, :vw], key, group)
    acc.reduce(info)
    return acc
