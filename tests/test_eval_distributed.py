"""Evaluation built for GPUs, checked on the CPU: batched frames with loader workers give the
one-frame-at-a-time numbers, and ``torchrun`` evaluation (each rank a disjoint share of the
frames) gives exactly one process's J and F under every protocol."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from _train_helpers import make_manifest, seeded_checkpoint, torchrun_eval

from avsmodel.evaluation.loader import ShardedBatches
from avsmodel.evaluation.metrics import f_score, mask_iou
from avsmodel.evaluation.scoring import EvalAccumulator

ROOT = Path(__file__).resolve().parents[1]
MODEL = "sama_avs_tiny"


@pytest.mark.parametrize(("n", "batch", "world"), [(7, 2, 2), (10, 3, 3), (4, 4, 2), (1, 2, 2)])
def test_sharded_batches_partition_the_single_process_batches(n, batch, world) -> None:
    one = ShardedBatches(n, batch).batches()
    assert one == [list(range(s, min(s + batch, n))) for s in range(0, n, batch)]
    shards = [ShardedBatches(n, batch, rank=r, world_size=world).batches() for r in range(world)]
    # every single-process batch is on exactly one rank, unchanged; batch k on rank k % world
    assert sorted(b for s in shards for b in s) == one
    for k, b in enumerate(one):
        assert b in shards[k % world]


def _frames(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 12, 16, generator=g) * 3
    gt = torch.rand(n, 12, 16, generator=g) > 0.6
    gt[2] = False  # an empty ground truth (skipped by F, background fraction for J)
    return logits, gt


def test_reduce_replays_every_rank_in_dataset_order(monkeypatch) -> None:
    import avsmodel.distributed as distributed

    logits, gt = _frames(9)
    ranks = [EvalAccumulator(fscore_batch=2, frames_per_clip=1) for _ in range(2)]
    for k, b in enumerate(ShardedBatches(9, 2).batches()):  # batches alternate over 2 ranks
        for i in b:
            ranks[k % 2].add(logits[i], gt[i], key=f"c{i % 3}", index=i)
    shares = [list(r.frames) for r in ranks]  # what each rank contributes to the gather
    monkeypatch.setattr(distributed, "all_gather_objects", lambda obj, info: shares)
    info = SimpleNamespace(distributed=True)
    for r in ranks:
        r.reduce(info)
    # The independent reference: the metrics of all frames at once, in dataset order.
    for acc in ranks:
        assert acc.n == 9
        assert acc.miou == pytest.approx(mask_iou(logits, gt), abs=1e-12)
        assert acc.fscore() == pytest.approx(f_score(logits, gt, "dataset"), abs=1e-12)
        assert acc.fscore(official=True) == pytest.approx(
            f_score(logits, gt, batch_size=2), abs=1e-12
        )
        for p in ("avsbench", "authors"):
            assert acc.fscores()[p] == pytest.approx(f_score(logits, gt, p, 1), abs=1e-12)
        for c in ("c0", "c1", "c2"):
            idx = [i for i in range(9) if f"c{i % 3}" == c]
            assert sum(acc.by_key[c]) / 3 == pytest.approx(mask_iou(logits[idx], gt[idx]))
    # and both ranks hold the same numbers, bit for bit, as one process adding in order
    one = EvalAccumulator(fscore_batch=2, frames_per_clip=1)
    for i in range(9):
        one.add(logits[i], gt[i], key=f"c{i % 3}", index=i)
    for acc in ranks:
        assert (acc.miou, acc.fscores(), acc.fscore(official=True), acc.by_key) == (
            one.miou,
            one.fscores(),
            one.fscore(official=True),
            one.by_key,
        )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A 7-frame test split and an (untrained, seeded) tiny model's checkpoint."""
    root = tmp_path_factory.mktemp("evald")
    manifest = make_manifest(root / "m", n={"train": 2, "val": 2, "test": 7})
    return manifest, seeded_checkpoint(root / "model.pt", MODEL)


KEYS = ("miou", "fscore", "fscore_official", "per_category", "n")


@pytest.mark.slow  # four evaluations of the tiny model
def test_batched_eval_with_workers_equals_one_frame_at_a_time(data) -> None:
    from avsmodel.evaluation import evaluate

    manifest, ckpt = data
    kw = dict(manifest=manifest, split="test", progress=False, device="cpu", fscore_batch=3)
    one = evaluate(ckpt, batch_size=1, workers=0, **kw)
    batched = evaluate(ckpt, batch_size=4, workers=1, **kw)
    assert one["n"] == batched["n"] == 7
    assert 0.0 < one["miou"] < 1.0 and one["fscore"]["dataset"] > 0.0  # not a vacuous model
    assert batched["miou"] == pytest.approx(one["miou"], abs=1e-6)
    for p, f in one["fscore"].items():
        assert batched["fscore"][p] == pytest.approx(f, abs=1e-6), p
    assert batched["fscore_official"] == pytest.approx(one["fscore_official"], abs=1e-6)
    # under bf16 autocast the scores move, but only a little
    bf16 = evaluate(ckpt, batch_size=4, autocast="bf16", **kw)
    assert bf16["autocast"] == "bf16" and bf16["miou"] == pytest.approx(one["miou"], abs=0.05)


@pytest.mark.slow  # torchrun: two processes on gloo
def test_torchrun_eval_equals_one_process_exactly(data, tmp_path: Path) -> None:
    from avsmodel.evaluation import evaluate

    manifest, ckpt = data
    args = ["--manifest", str(manifest), "--split", "test", "--batch-size", "2"]
    ddp = torchrun_eval(
        ckpt, [*args, "--fscore-batch", "3", "--device", "cpu"], nproc=2, cwd=tmp_path
    )
    assert ddp["world_size"] == 2 and ddp["device"] == "cpu"
    one = evaluate(
        ckpt,
        manifest=manifest,
        split="test",
        batch_size=2,
        fscore_batch=3,
        progress=False,
        device="cpu",
    )
    assert one["world_size"] == 1 and one["n"] == 7
    # 7 frames in batches of 2: rank 0 scored frames 0,1,4,5 and rank 1 frames 2,3,6; the
    # per-batch F protocols (3 and 4 frames) straddle the ranks' shares.
    for k in KEYS:
        assert ddp[k] == one[k], k  # exact: JSON round-trips floats bit for bit
