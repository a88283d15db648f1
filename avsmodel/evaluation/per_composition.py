"""Scores per composition of a composed manifest (``avsynth build --compose``).

Each record of a schema 2 manifest names its ``composition`` (``single``, ``multi``,
``offscreen``, ``partial``; version 1 records are ``single``). :func:`avsmodel.evaluate` then
reports, per composition, mIoU (J), F and the mean predicted area: the fraction of pixels
with ``sigmoid(logit) > 0.5``. For ``offscreen`` (the sound's object is not in the image,
the target is empty) the predicted area is the number to watch: a model that hears an absent
object should predict nothing. J of an empty target follows the AVSBench convention (the
fraction of pixels correctly predicted as background); F skips frames with an empty target,
so it is ``None`` for ``offscreen``.
"""

from __future__ import annotations

from typing import Any

import torch


class CompositionScores:
    """Per-composition J, F and mean predicted area, fed one frame at a time."""

    def __init__(self) -> None:
        self.acc: dict[str, Any] = {}
        self.area: dict[str, list[float]] = {}

    def add(self, group: str, logits: torch.Tensor, gt: torch.Tensor) -> None:
        """Add one frame (``logits`` and ``gt`` ``[H, W]``) of composition ``group``."""
        from avsmodel.evaluation.metrics import frame_f_curves, frame_ious

        lg, g = logits[None].float(), gt[None]
        curves, nonempty = frame_f_curves(lg, g)
        area = float((logits > 0).float().mean())
        self.add_scores(group, frame_ious(lg, g).cpu(), curves.cpu(), nonempty.cpu(), area)

    def add_scores(
        self,
        group: str,
        ious: torch.Tensor,
        curves: torch.Tensor,
        nonempty: torch.Tensor,
        area: float,
    ) -> None:
        """Add one frame already scored (IoU ``[1]``, F curve ``([1,255], [1])`` with sigmoid,
        predicted area fraction) of composition ``group``."""
        from avsmodel.evaluation.metrics import MetricAccumulator

        acc = self.acc.get(group)
        if acc is None:
            acc = self.acc[group] = MetricAccumulator()
        acc.add_scores(ious, curves, nonempty)
        self.area.setdefault(group, []).append(area)

    def summary(self) -> dict[str, dict[str, Any]]:
        """``{composition: {"miou", "fscore", "n", "pred_area"}}`` (sorted by name)."""
        out = {}
        for g in sorted(self.acc):
            r = self.acc[g].compute()
            areas = self.area[g]
            out[g] = {
                "miou": r["miou"],
                "fscore": r["f_score"] if r["f_frames"] else None,
                "n": r["frames"],
                "pred_area": sum(areas) / len(areas),
            }
        return out
