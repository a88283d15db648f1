"""AVSBench metrics: mIoU (J) and F-score (F), plus a streaming accumulator.

Semantics follow AVSBench's ``utility.py`` (``mask_iou``, ``Eval_Fmeasure``):

- **IoU** per frame: prediction = ``sigmoid(logit) > 0.5``; ``|P & G| / (|P | G| + 1e-7)``;
  a frame whose ground truth is empty scores the fraction of pixels predicted background.
  mIoU is the mean over frames.
- **F** per frame: 255 thresholds ``linspace(0, 1 - 1e-10, 255)`` on ``sigmoid(logit)``
  (pixel positive when ``p >= t``); precision ``tp / (pred + 1e-20)``, recall
  ``tp / (gt + 1e-20)``, ``F = 1.3 P R / (0.3 P + R)`` (beta^2 = 0.3), NaN -> 0; frames with
  an empty ground truth are skipped. When every frame's ground truth is empty, F is
  undefined and is ``None`` in every protocol (never 0.0).
  ``batch_size=None`` (default, batch-independent): mean F curve over all non-empty frames,
  max over thresholds. ``batch_size=k`` (official, k=4 for AVSBench): frames in order are cut
  into batches of k; per batch the mean curve's max (0 when the batch holds no non-empty
  frame, as in the official code), then the mean over batches. ``raw=True`` applies the
  thresholds to the logits themselves (the paper authors' ``utility.py``, whose sigmoid is
  commented out).

Three named F protocols (:data:`PROTOCOLS`, see :func:`f_score` and docs/metrics.md):
``avsbench`` (sigmoid, batches of ``4 * frames_per_clip`` frames: AVSBench's test loader of 4
videos), ``authors`` (raw logits, batches of ``frames_per_clip`` frames: one video per batch,
one image on synthetic data) and ``dataset`` (batch-independent).

Ground truths are binarised with ``gt > 0.5`` (bool, {0,1} float, or {0,255} uint8 all work).
"""

from __future__ import annotations

from typing import Any

import torch

BETA2 = 0.3
NUM_THRESHOLDS = 255
PROTOCOLS = ("avsbench", "authors", "dataset")
AVSBENCH_TEST_VIDEOS = 4  # AVSBench test.sh: --test_batch_size 4 (videos of 5 frames)


def _check(logits: torch.Tensor, gt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if logits.dim() == 4 and logits.shape[1] == 1:
        logits = logits[:, 0]
    if gt.dim() == 4 and gt.shape[1] == 1:
        gt = gt[:, 0]
    if logits.dim() != 3 or logits.shape != gt.shape:
        raise ValueError(
            f"logits and gt must both be [N,H,W] of one shape, got {tuple(logits.shape)} "
            f"and {tuple(gt.shape)}"
        )
    return logits.detach().float(), gt.detach().float() > 0.5


def frame_ious(logits: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per-frame AVSBench IoU, ``[N]`` float64."""
    logits, g = _check(logits, gt)
    p = torch.sigmoid(logits) > 0.5
    inter = (p & g).sum((1, 2)).double()
    union = (p | g).sum((1, 2)).double()
    empty = g.sum((1, 2)) == 0
    bg = (~p & ~g).sum((1, 2)).double()
    npix = g.shape[1] * g.shape[2]
    inter = torch.where(empty, bg, inter)
    union = torch.where(empty, torch.full_like(union, float(npix)), union)
    return inter / (union + 1e-7)


def frame_f_curves(
    logits: torch.Tensor, gt: torch.Tensor, *, raw: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-frame F curves over the 255 thresholds.

    Args:
        logits: mask logits ``[N,H,W]``.
        gt: ground truths.
        raw: threshold the logits themselves instead of ``sigmoid(logits)``.

    Returns:
        ``([N,255] float64 curves, [N] bool "ground truth non-empty")``; curves of empty
        frames are zeros and must be skipped by callers.
    """
    logits, g = _check(logits, gt)
    n = logits.shape[0]
    probs = (logits if raw else torch.sigmoid(logits)).reshape(n, -1)
    gflat = g.reshape(n, -1)
    dev = logits.device
    th = torch.linspace(0, 1 - 1e-10, NUM_THRESHOLDS, device=dev)  # float32, as AVSBench
    # k = number of thresholds t with t <= p: the pixel is positive for threshold indices < k.
    k = torch.bucketize(probs, th, right=True)
    offs = (torch.arange(n, device=dev) * (NUM_THRESHOLDS + 1))[:, None]
    size = n * (NUM_THRESHOLDS + 1)
    hist_all = torch.bincount((k + offs).flatten(), minlength=size).reshape(n, -1)
    hist_tp = torch.bincount((k + offs)[gflat], minlength=size).reshape(n, -1)
    # positives at threshold i = pixels with k > i = reverse cumulative sum from i+1.
    pred = hist_all.flip(1).cumsum(1).flip(1)[:, 1:].double()
    tp = hist_tp.flip(1).cumsum(1).flip(1)[:, 1:].double()
    pos = gflat.sum(1, keepdim=True).double()
    prec = tp / (pred + 1e-20)
    rec = tp / (pos + 1e-20)
    f = (1 + BETA2) * prec * rec / (BETA2 * prec + rec)
    f = torch.nan_to_num(f, nan=0.0)
    nonempty = pos[:, 0] > 0
    f[~nonempty] = 0.0
    return f, nonempty


def mask_iou(logits: torch.Tensor, gt: torch.Tensor) -> float:
    """Mean AVSBench IoU over ``[N,H,W]`` frames (see module docstring)."""
    return float(frame_ious(logits, gt).mean())


def protocol_accumulator(protocol: str, frames_per_clip: int = 5) -> MetricAccumulator:
    """A :class:`MetricAccumulator` computing F under a named protocol.

    Args:
        protocol: ``avsbench``, ``authors`` or ``dataset`` (see :func:`f_score`).
        frames_per_clip: Frames of one video in dataset order (5 on AVSBench test/val, 1 on
            synthetic images and S4 train).

    Raises:
        ValueError: unknown protocol or ``frames_per_clip < 1``.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown F protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if frames_per_clip < 1:
        raise ValueError(f"frames_per_clip must be >= 1, got {frames_per_clip}")
    if protocol == "avsbench":
        return MetricAccumulator(batch_size=AVSBENCH_TEST_VIDEOS * frames_per_clip)
    if protocol == "authors":
        return MetricAccumulator(batch_size=frames_per_clip, raw=True)
    return MetricAccumulator()


def f_score(
    logits: torch.Tensor,
    gt: torch.Tensor,
    protocol: str = "dataset",
    frames_per_clip: int = 5,
    *,
    batch_size: int | None = None,
) -> float | None:
    """F-score over ``[N,H,W]`` frames in dataset order, under a named protocol.

    ``None`` when every frame's ground truth is empty (F is undefined there).

    Args:
        logits: mask logits.
        gt: ground truth masks.
        protocol: ``dataset`` (default): the dataset-mean F curve's max, independent of
            batching; ``avsbench``: AVSBench's test scripts (sigmoid, one batch per
            ``4 * frames_per_clip`` frames, per-batch max, mean over batches);
            ``authors``: the paper's ``utility.py`` (thresholds on the raw logits, one batch
            per video of ``frames_per_clip`` frames).
        frames_per_clip: Frames per video (5 on AVSBench, 1 for synthetic images).
        batch_size: Explicit batch of k frames with sigmoid (overrides ``protocol``).
    """
    if batch_size is not None:
        acc = MetricAccumulator(batch_size=batch_size)
    else:
        acc = protocol_accumulator(protocol, frames_per_clip)
    acc.update(logits, gt)
    return acc.compute()["f_score"]


class MetricAccumulator:
    """Streams frames through :meth:`update` and returns both metrics from :meth:`compute`.

    Results do not depend on how frames are split across ``update`` calls (with
    ``batch_size=k`` frames are grouped by arrival order into batches of k).

    Args:
        batch_size: None (batch-independent F) or k (per-batch F over k frames).
        raw: F thresholds on the raw logits (the paper authors' code) instead of sigmoid.
    """

    def __init__(self, batch_size: int | None = None, *, raw: bool = False) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 or None, got {batch_size}")
        self.batch_size = batch_size
        self.raw = raw
        self.reset()

    def reset(self) -> None:
        """Forget all frames."""
        self.iou_sum = 0.0
        self.frames = 0
        self.f_sum = torch.zeros(NUM_THRESHOLDS, dtype=torch.float64)
        self.f_frames = 0
        self._pending: list[tuple[torch.Tensor, bool]] = []
        self._batch_scores: list[float] = []

    def update(self, logits: torch.Tensor, gt: torch.Tensor) -> None:
        """Add ``[N,H,W]`` (or ``[N,1,H,W]``) frames."""
        ious = frame_ious(logits, gt).cpu()
        curves, nonempty = (t.cpu() for t in frame_f_curves(logits, gt, raw=self.raw))
        self.add_scores(ious, curves, nonempty)

    def add_scores(self, ious: torch.Tensor, curves: torch.Tensor, nonempty: torch.Tensor) -> None:
        """Add frames already scored: :func:`frame_ious` ``[N]`` and :func:`frame_f_curves`
        ``([N,255], [N])`` (with this accumulator's ``raw``), on the CPU.

        ``update(logits, gt)`` is exactly ``add_scores`` of those; frames scored elsewhere
        (another process) are added in the same order to the same totals, bit for bit.
        """
        self.iou_sum += float(ious.sum())
        self.frames += ious.numel()
        self.f_sum += curves[nonempty].sum(0)
        self.f_frames += int(nonempty.sum())
        if self.batch_size is not None:
            for c, ne in zip(curves, nonempty.tolist(), strict=True):
                self._pending.append((c, ne))
                if len(self._pending) == self.batch_size:
                    self._close_batch()

    def _close_batch(self) -> None:
        kept = [c for c, ne in self._pending if ne]
        self._batch_scores.append(float(torch.stack(kept).mean(0).max()) if kept else 0.0)
        self._pending = []

    def compute(self) -> dict[str, Any]:
        """``{"miou", "f_score", "frames", "f_frames"}`` (a trailing partial batch counts).

        ``f_score`` is ``None`` when no frame has a non-empty ground truth (F undefined).
        """
        miou = self.iou_sum / self.frames if self.frames else float("nan")
        if not self.f_frames:
            f = None
        elif self.batch_size is None:
            f = float((self.f_sum / self.f_frames).max()) if self.f_frames else 0.0
        else:
            scores = list(self._batch_scores)
            if self._pending:
                kept = [c for c, ne in self._pending if ne]
                scores.append(float(torch.stack(kept).mean(0).max()) if kept else 0.0)
            f = sum(scores) / len(scores) if scores else 0.0
        return {"miou": miou, "f_score": f, "frames": self.frames, "f_frames": self.f_frames}
