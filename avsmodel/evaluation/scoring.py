"""Scoring a model over a loader: per-frame mIoU (J) and F under every protocol.

:func:`run_eval` is shared by :func:`avsmodel.evaluate` (each image at its own resolution)
and by validation during training (the model's mask resolution); the metrics themselves are
in :mod:`avsmodel.evaluation.metrics` (conventions in ``docs/metrics.md``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class FrameScore:
    """One frame's scores, all the reduction needs (on the CPU, picklable).

    Attributes:
        index: Dataset index: frames are reduced in this order.
        iou: :func:`~avsmodel.evaluation.metrics.frame_ious` ``[1]`` (float64).
        curve: F curve with sigmoid ``[1, 255]``; ``raw_curve`` on the raw logits (the
            ``authors`` protocol) or None when that protocol is not tracked.
        nonempty: ``[1]`` bool: the ground truth has a foreground.
        key: Per-key group (category) or None.
        group: Composition or None; ``area`` its predicted area fraction.
    """

    index: int
    iou: torch.Tensor
    curve: torch.Tensor
    raw_curve: torch.Tensor | None
    nonempty: torch.Tensor
    key: str | None = None
    group: str | None = None
    area: float = 0.0


class EvalAccumulator:
    """Per-frame scores of frames of any size, on
    :class:`avsmodel.evaluation.metrics.MetricAccumulator`.

    Adds per-key (e.g. per-category) mIoU, the batch-dependent F protocols next to the
    batch-independent one, and the exact reduction over DDP ranks: every frame's
    :class:`FrameScore` is kept, and :meth:`reduce` gathers those of all ranks and replays
    them in dataset order, so every total (the per-batch F protocols included) is the one a
    single process computes, bit for bit.

    Args:
        fscore_batch: Also track a per-batch F with batches of this many frames.
        frames_per_clip: Also track the ``avsbench`` and ``authors`` F protocols, frames
            arriving in dataset order with this many frames per video.
    """

    def __init__(self, fscore_batch: int | None = None, frames_per_clip: int | None = None) -> None:
        self.fscore_batch, self.frames_per_clip = fscore_batch, frames_per_clip
        self.reset()

    def reset(self) -> None:
        """Forget all frames."""
        from avsmodel.evaluation.metrics import MetricAccumulator, protocol_accumulator

        fscore_batch, frames_per_clip = self.fscore_batch, self.frames_per_clip
        self.main = MetricAccumulator()
        self.official = MetricAccumulator(batch_size=fscore_batch) if fscore_batch else None
        self.protocols = (
            {p: protocol_accumulator(p, frames_per_clip) for p in ("avsbench", "authors")}
            if frames_per_clip
            else {}
        )
        self.by_key: dict[str, list[float]] = {}
        self.by_composition: Any = None  # CompositionScores when groups are given
        self.frames: list[FrameScore] = []

    def add(
        self,
        logits: torch.Tensor,
        gt: torch.Tensor,
        key: str | None = None,
        group: str | None = None,
        index: int | None = None,
    ) -> float:
        """Score one frame: ``logits`` and ``gt`` ``[H, W]`` (any device); ``group`` is its
        composition, ``index`` its dataset index (default: arrival order). Returns its IoU."""
        from avsmodel.evaluation.metrics import frame_f_curves, frame_ious

        lg, g = logits.detach()[None].float(), gt.detach()[None]
        curve, nonempty = frame_f_curves(lg, g)
        raw = any(a.raw for a in self.protocols.values())
        score = FrameScore(
            index=len(self.frames) if index is None else int(index),
            iou=frame_ious(lg, g).cpu(),
            curve=curve.cpu(),
            raw_curve=frame_f_curves(lg, g, raw=True)[0].cpu() if raw else None,
            nonempty=nonempty.cpu(),
            key=key,
            group=group,
            area=float((lg > 0).float().mean()) if group is not None else 0.0,
        )
        self.add_score(score)
        return float(score.iou[0])

    def add_score(self, s: FrameScore) -> None:
        """Add one scored frame to every total (in arrival order)."""
        self.frames.append(s)
        accs = [self.main] + ([self.official] if self.official is not None else [])
        for acc in accs + list(self.protocols.values()):
            curve = s.raw_curve if acc.raw else s.curve
            acc.add_scores(s.iou, curve, s.nonempty)
        if s.key is not None:
            self.by_key.setdefault(s.key, []).append(float(s.iou[0]))
        if s.group is not None:
            if self.by_composition is None:
                from avsmodel.evaluation.per_composition import CompositionScores

                self.by_composition = CompositionScores()
            self.by_composition.add_scores(s.group, s.iou, s.curve, s.nonempty, s.area)

    def reduce(self, info: Any) -> None:
        """Gather the frames of all ranks and recompute every total in dataset order (no-op
        in one process): each rank then holds exactly the single-process result."""
        from avsmodel.distributed import all_gather_objects

        if not getattr(info, "distributed", False):
            return
        gathered = all_gather_objects(self.frames, info)
        frames = sorted((f for part in gathered for f in part), key=lambda f: f.index)
        self.reset()
        for f in frames:
            self.add_score(f)

    @property
    def n(self) -> int:
        """Frames scored."""
        return self.main.frames

    @property
    def miou(self) -> float:
        """Mean IoU over frames."""
        return self.main.compute()["miou"]

    def fscore(self, official: bool = False) -> float | None:
        """Batch-independent F, or the per-batch F of ``fscore_batch`` (``official=True``).

        ``None`` when every target is empty (F undefined).
        """
        acc = self.official if official else self.main
        if acc is None:
            raise ValueError("official F was not tracked (pass fscore_batch)")
        return acc.compute()["f_score"]

    def fscores(self) -> dict[str, float | None]:
        """``{"avsbench", "authors", "dataset"}`` F (needs ``frames_per_clip``; ``None`` each
        when every target is empty)."""
        if not self.protocols:
            raise ValueError("F protocols were not tracked (pass frames_per_clip)")
        out = {p: acc.compute()["f_score"] for p, acc in self.protocols.items()}
        out["dataset"] = self.fscore()
        return dict(sorted(out.items()))


def valid_hw(resized: tuple[int, int], image_size: int, mask_size: int) -> tuple[int, int]:
    """Unpadded extent of a ``resized`` image on the ``mask_size`` grid."""
    r = mask_size / image_size
    return max(1, math.ceil(resized[0] * r)), max(1, math.ceil(resized[1] * r))


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
    autocast: str = "none",
    inference: bool = False,
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
        autocast: ``none`` (fp32), ``bf16`` or ``fp16``: the forward pass under
            ``torch.autocast`` of that dtype (scores are computed in fp32 either way).
        inference: Run under ``torch.inference_mode`` (evaluation) instead of
            ``torch.no_grad`` (validation during training, whose tensors may meet autograd).

    Under DDP (``info.distributed``) each rank scores the frames its loader gives it and
    :meth:`EvalAccumulator.reduce` combines them exactly (dataset order).
    """
    from avsynth.progress import progress as progress_bar

    device = torch.device(getattr(info, "device", "cpu"))
    acc = EvalAccumulator(fscore_batch, frames_per_clip)
    grad_mode = torch.inference_mode() if inference else torch.no_grad()
    with grad_mode:
        for batch in progress_bar(loader, desc=desc, unit="batches", enabled=progress, leave=False):
            _score_batch(
                acc,
                task,
                batch,
                device,
                autocast,
                image_size=image_size,
                full_res=full_res,
                transform=transform,
                keys=keys,
                score_size=score_size,
                groups=groups,
            )
    acc.reduce(info)
    return acc


def forward_context(device: torch.device, autocast: str) -> contextlib.AbstractContextManager:
    """``torch.autocast`` for ``autocast`` ``bf16``/``fp16`` on ``device``; ``none``: fp32."""
    if autocast == "none":
        return contextlib.nullcontext()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(autocast)
    if dtype is None:
        raise ValueError(f"autocast={autocast!r}: use none, bf16 or fp16")
    return torch.autocast(device_type=device.type, dtype=dtype)


def _score_batch(
    acc: EvalAccumulator,
    task: Any,
    batch: dict[str, Any],
    device: torch.device,
    autocast: str,
    *,
    image_size: int,
    full_res: bool,
    transform: Any,
    keys: list[str] | None,
    score_size: str,
    groups: list[str] | None,
) -> None:
    """Forward one batch on ``device`` and score its frames there (see :func:`run_eval`)."""
    nb = device.type == "cuda"  # from pinned host memory the copies overlap the compute
    b = {
        k: (v.to(device, non_blocking=nb) if isinstance(v, torch.Tensor) else v)
        for k, v in batch.items()
    }
    with forward_context(device, autocast):
        logits = task.logits(b)
    logits = logits.float()
    for i in range(logits.shape[0]):
        index = int(batch["index"][i])
        key = keys[index] if keys is not None else None
        group = groups[index] if groups is not None else None
        if full_res and score_size == "input":
            h, w = (int(v) for v in batch["resized"][i])
            big = torch.nn.functional.interpolate(
                logits[i : i + 1, None],
                (image_size, image_size),
                mode="bilinear",
                align_corners=False,
            )
            acc.add(big[0, 0, :h, :w], b["mask_input"][i, :h, :w], key, group, index)
        elif full_res:
            out = transform.postprocess(
                logits[i : i + 1, None], tuple(batch["resized"][i]), tuple(batch["size"][i])
            )
            gt = batch["mask_full"][i].to(device, non_blocking=nb)
            acc.add(out[0, 0], gt, key, group, index)
        else:
            lg, m = logits[i], b["mask"][i]
            if lg.shape[-1] != m.shape[-1]:  # e.g. the everything-oracle's SxS output
                lg = torch.nn.functional.interpolate(
                    lg[None, None], tuple(m.shape[-2:]), mode="bilinear", align_corners=False
                )[0, 0]
            vh, vw = valid_hw(tuple(batch["resized"][i]), image_size, m.shape[-1])
            acc.add(lg[:vh, :vw], m[:vh, :vw], key, group, index)
