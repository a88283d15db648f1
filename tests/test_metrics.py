"""AVSBench mIoU and F-score: hand-computed cases and the official code's semantics."""

from __future__ import annotations

import pytest
import torch

from avsmodel.evaluation.metrics import MetricAccumulator, f_score, mask_iou

BIG = 10.0


def _gt4() -> torch.Tensor:
    g = torch.zeros(1, 4, 4)
    g[0, :2, :2] = 1  # 4 of 16 pixels
    return g


def _perfect(g):
    return torch.where(g > 0.5, BIG, -BIG)


def _inverted(g):
    return torch.where(g > 0.5, -BIG, BIG)


# F at threshold 0 (everything positive): precision |G|/HW, recall 1.
F_ALL_POSITIVE_QUARTER = 1.3 * 0.25 / (0.3 * 0.25 + 1)


def test_perfect_and_inverted():
    g = _gt4()
    assert mask_iou(_perfect(g), g) == pytest.approx(1.0)
    assert f_score(_perfect(g), g) == pytest.approx(1.0)
    assert mask_iou(_inverted(g), g) == pytest.approx(0.0)
    assert f_score(_inverted(g), g) == pytest.approx(F_ALL_POSITIVE_QUARTER, abs=1e-6)


def test_empty_ground_truth():
    g = torch.zeros(1, 4, 4)
    assert mask_iou(torch.full((1, 4, 4), -BIG), g) == pytest.approx(1.0)
    half = torch.full((1, 4, 4), -BIG)
    half[0, :2] = BIG
    assert mask_iou(half, g) == pytest.approx(0.5)
    assert f_score(half, g) is None  # empty frames are skipped: F is undefined
    # An empty frame does not change F, but counts in mIoU.
    both_gt = torch.cat([_gt4(), g])
    both = torch.cat([_perfect(_gt4()), half])
    assert f_score(both, both_gt) == pytest.approx(1.0)
    assert mask_iou(both, both_gt) == pytest.approx(0.75)


def test_all_positive_ground_truth():
    g = torch.ones(2, 3, 5)
    assert mask_iou(torch.full_like(g, BIG), g) == pytest.approx(1.0)
    assert mask_iou(torch.full_like(g, -BIG), g) == pytest.approx(0.0)
    assert f_score(torch.full_like(g, BIG), g) == pytest.approx(1.0)


def test_f_batch_dependence_hand_computed():
    g = torch.cat([_gt4(), _gt4()])
    logits = torch.cat([_perfect(_gt4()), _inverted(_gt4())])
    # Per frame maxima are 1 and F0; the mean curve peaks at (1 + 0) / 2 = 0.5 in between.
    assert f_score(logits, g, batch_size=1) == pytest.approx((1 + F_ALL_POSITIVE_QUARTER) / 2)
    assert f_score(logits, g, batch_size=2) == pytest.approx(0.5)
    assert f_score(logits, g) == pytest.approx(0.5)
    # A batch with only empty ground truths scores 0 in the official batch mode.
    empty = torch.zeros(4, 4, 4)
    g2 = torch.cat([empty, _gt4()])
    l2 = torch.cat([torch.full((4, 4, 4), -BIG), _perfect(_gt4())])
    assert f_score(l2, g2, batch_size=4) == pytest.approx(0.5)
    assert f_score(l2, g2) == pytest.approx(1.0)


def _official_f(pred, gt, pr_num=255):
    """AVSBench utility.py Eval_Fmeasure, transcribed (CPU)."""
    pred = torch.sigmoid(pred)
    beta2 = 0.3
    avg_f, img_num = 0.0, 0
    score = torch.zeros(pr_num)
    thlist = torch.linspace(0, 1 - 1e-10, pr_num)
    for i in range(pred.size(0)):
        if torch.mean(gt[i]) == 0.0:
            continue
        prec, recall = torch.zeros(pr_num), torch.zeros(pr_num)
        for k in range(pr_num):
            y_temp = (pred[i] >= thlist[k]).float()
            tp = (y_temp * gt[i]).sum()
            prec[k], recall[k] = tp / (y_temp.sum() + 1e-20), tp / (gt[i].sum() + 1e-20)
        f = (1 + beta2) * prec * recall / (beta2 * prec + recall)
        f[f != f] = 0
        avg_f += f
        img_num += 1
        score = avg_f / img_num
    return score.max().item()


def _official_iou(pred, target, eps=1e-7):
    n = pred.size(0)
    num_pixels = pred.size(-1) * pred.size(-2)
    no_obj = target.sum(2).sum(1) == 0
    pred = (torch.sigmoid(pred) > 0.5).int()
    inter = (pred * target).sum(2).sum(1)
    union = torch.max(pred, target).sum(2).sum(1)
    inter_no_obj = ((1 - target) * (1 - pred)).sum(2).sum(1)
    inter[no_obj] = inter_no_obj[no_obj]
    union[no_obj] = num_pixels
    return (torch.sum(inter / (union + eps)) / n).item()


def test_matches_official_code_on_random_frames():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(10, 12, 12, generator=g) * 3
    gt = (torch.rand(10, 12, 12, generator=g) > 0.6).float()
    gt[3] = 0
    gt[8] = 0
    batches = [(logits[i : i + 4], gt[i : i + 4]) for i in range(0, 10, 4)]
    official_batched = sum(_official_f(a, b) for a, b in batches) / len(batches)
    assert f_score(logits, gt, batch_size=4) == pytest.approx(official_batched, abs=1e-6)
    assert f_score(logits, gt) == pytest.approx(_official_f(logits, gt), abs=1e-6)
    assert mask_iou(logits, gt) == pytest.approx(_official_iou(logits, gt.int()), abs=1e-6)


@pytest.mark.parametrize("batch_size", [None, 4])
def test_accumulator_independent_of_update_split(batch_size):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(11, 1, 8, 8, generator=g) * 2
    gt = (torch.rand(11, 1, 8, 8, generator=g) > 0.5).to(torch.uint8) * 255
    gt[2] = 0
    whole = MetricAccumulator(batch_size)
    whole.update(logits, gt)
    split = MetricAccumulator(batch_size)
    for a, b in ((0, 3), (3, 4), (4, 11)):
        split.update(logits[a:b], gt[a:b])
    assert whole.compute() == pytest.approx(split.compute())
    r = whole.compute()
    assert r["frames"] == 11 and r["f_frames"] == 10
    assert r["miou"] == pytest.approx(mask_iou(logits[:, 0], gt[:, 0]))
    assert r["f_score"] == pytest.approx(f_score(logits[:, 0], gt[:, 0], batch_size=batch_size))


def test_shape_errors():
    with pytest.raises(ValueError, match="same shape|one shape"):
        mask_iou(torch.zeros(2, 4, 4), torch.zeros(2, 4, 5))
    with pytest.raises(ValueError, match="batch_size"):
        MetricAccumulator(batch_size=0)
