"""The three named F protocols against straightforward loops written from the two codes."""

from __future__ import annotations

import pytest
import torch

from avsmodel.evaluation.metrics import PROTOCOLS, f_score


def _loop_f(pred: torch.Tensor, gt: torch.Tensor, *, sigmoid: bool) -> float:
    """One call of ``Eval_Fmeasure`` (AVSBench's with sigmoid, the authors' without)."""
    if sigmoid:
        pred = torch.sigmoid(pred)
    th = torch.linspace(0, 1 - 1e-10, 255)
    total, count = torch.zeros(255), 0
    for i in range(pred.shape[0]):
        g = (gt[i] > 0.5).float()
        if g.mean() == 0:
            continue
        f = torch.zeros(255)
        for k in range(255):
            y = (pred[i] >= th[k]).float()
            tp = (y * g).sum()
            p, r = tp / (y.sum() + 1e-20), tp / (g.sum() + 1e-20)
            v = 1.3 * p * r / (0.3 * p + r)
            f[k] = 0.0 if torch.isnan(v) else v
        total += f
        count += 1
    return float((total / count).max()) if count else 0.0


def _batched(pred, gt, batch: int, *, sigmoid: bool) -> float:
    scores = [
        _loop_f(pred[i : i + batch], gt[i : i + batch], sigmoid=sigmoid)
        for i in range(0, pred.shape[0], batch)
    ]
    return sum(scores) / len(scores)


def _random(n: int, seed: int, scale: float = 3.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 10, 10, generator=g) * scale
    gt = (torch.rand(n, 10, 10, generator=g) > 0.6).float()
    return logits, gt


@pytest.mark.parametrize("frames_per_clip", [5, 1])
def test_each_protocol_equals_its_loop(frames_per_clip: int) -> None:
    n = 3 * frames_per_clip + 2 if frames_per_clip > 1 else 9  # a trailing partial batch
    logits, gt = _random(n, seed=frames_per_clip)
    gt[1] = 0
    gt[4] = 0
    want = {
        "avsbench": _batched(logits, gt, 4 * frames_per_clip, sigmoid=True),
        "authors": _batched(logits, gt, frames_per_clip, sigmoid=False),
        "dataset": _loop_f(logits, gt, sigmoid=True),
    }
    for p in PROTOCOLS:
        got = f_score(logits, gt, protocol=p, frames_per_clip=frames_per_clip)
        assert got == pytest.approx(want[p], abs=1e-6), p


def test_all_three_differ_on_one_input() -> None:
    # 8 AVSBench-like videos of 5 frames, logits spread over [-6, 6]: the raw-logit
    # thresholds, the 20-frame batches and the dataset-wide curve all give other numbers.
    logits, gt = _random(40, seed=7, scale=3.0)
    gt[[2, 11, 23]] = 0
    got = {p: f_score(logits, gt, protocol=p, frames_per_clip=5) for p in PROTOCOLS}
    assert got["avsbench"] == pytest.approx(_batched(logits, gt, 20, sigmoid=True), abs=1e-6)
    assert got["authors"] == pytest.approx(_batched(logits, gt, 5, sigmoid=False), abs=1e-6)
    assert got["dataset"] == pytest.approx(_loop_f(logits, gt, sigmoid=True), abs=1e-6)
    vals = sorted(got.values())
    assert vals[1] - vals[0] > 1e-4 and vals[2] - vals[1] > 1e-4, got


def test_batch_of_empty_ground_truths_scores_zero_in_batched_protocols() -> None:
    logits, gt = _random(10, seed=3)
    gt[:5] = 0  # the first video has no sounding object in any frame
    authors = f_score(logits, gt, protocol="authors", frames_per_clip=5)
    assert authors == pytest.approx(_loop_f(logits[5:], gt[5:], sigmoid=False) / 2, abs=1e-6)


def test_unknown_protocol_is_an_error() -> None:
    logits, gt = _random(2, seed=0)
    with pytest.raises(ValueError, match="unknown F protocol 'paper'"):
        f_score(logits, gt, protocol="paper")
