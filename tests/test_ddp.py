"""DistributedDataParallel really synchronises gradients (2 CPU processes on gloo)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from _train_helpers import free_port, make_manifest

pytestmark = pytest.mark.slow  # trains the tiny model in 2 processes and in 1

MODEL = "sama_avs_tiny"
COMMON = dict(epochs=2, val_batch_size=4, workers=0, threads=1, lr=1e-3, progress=False)


def _worker(rank: int, manifest: str, out: str, port: int) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE="2",
    )
    from avsmodel.training import train

    res = train(manifest, model=MODEL, out=out, batch_size=2, device="cpu", **COMMON)
    torch.save(
        {"state": res.model.trainable_state_dict(), "best": res.best_miou},
        Path(out).parent / f"rank{rank}.pt",
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory):
    from avsmodel.training import train

    root = tmp_path_factory.mktemp("ddp")
    manifest = make_manifest(root / "m", n={"train": 8, "val": 4})
    mp.spawn(_worker, args=(str(manifest), str(root / "ddp"), free_port()), nprocs=2, join=True)
    ranks = [torch.load(root / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        assert k not in os.environ
    single = train(manifest, model=MODEL, out=root / "single", batch_size=4, **COMMON)
    return root, ranks, single


def test_ranks_hold_identical_weights(runs) -> None:
    _, (r0, r1), _ = runs
    assert set(r0["state"]) == set(r1["state"])
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k
    assert r0["best"] == r1["best"]  # validation metrics are all-reduced


def test_matches_one_process_with_the_same_global_batch(runs) -> None:
    _, (r0, _), single = runs
    ref = single.model.trainable_state_dict()
    for k, v in r0["state"].items():
        assert torch.allclose(v, ref[k], atol=2e-4, rtol=1e-3), k
    # The weights moved far more than the tolerance (the comparison is not vacuous).
    from avsmodel import build_model

    torch.manual_seed(0)
    fresh = build_model(MODEL).trainable_state_dict()
    moved = max(float((r0["state"][k] - fresh[k]).abs().max()) for k in fresh)
    diff = max(float((r0["state"][k] - ref[k]).abs().max()) for k in ref)
    assert moved > 1e-3 and moved > 10 * diff, (moved, diff)


def test_only_rank_zero_writes_and_metrics_agree(runs) -> None:
    root, _, _ = runs
    ddp_rows = [json.loads(x) for x in (root / "ddp" / "metrics.jsonl").read_text().splitlines()]
    one_rows = [json.loads(x) for x in (root / "single" / "metrics.jsonl").read_text().splitlines()]
    assert len(ddp_rows) == len(one_rows) == 2
    for a, b in zip(ddp_rows, one_rows, strict=True):
        assert a["steps"] == b["steps"] == 2
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-3)
        assert a["val_miou"] == pytest.approx(b["val_miou"], abs=1e-3)
    assert not list((root / "ddp").glob("*.tmp*"))
    from avsmodel.training import load_checkpoint

    assert load_checkpoint(root / "ddp" / "last.pt")["world_size"] == 2


def _diverging_worker(rank: int, manifest: str, out: str, port: int) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE="2",
    )
    from avsmodel.errors import TrainingError
    from avsmodel.training import train

    try:
        train(manifest, model=MODEL, out=out, batch_size=2, device="cpu", **{**COMMON, "lr": 1e3})
        message = "finished"
    except TrainingError as e:
        message = str(e)
    (Path(out).parent / f"rank{rank}.txt").write_text(message)


def test_non_finite_loss_stops_every_rank_at_the_same_step(tmp_path: Path) -> None:
    # Under DDP a diverging run ends on every rank with the one-line error, at the same step
    # (no rank is left waiting in a collective), and nothing is saved.
    manifest = make_manifest(tmp_path / "m", n={"train": 8, "val": 4})
    out = tmp_path / "ddp"
    mp.spawn(_diverging_worker, args=(str(manifest), str(out), free_port()), nprocs=2, join=True)
    messages = [(tmp_path / f"rank{r}.txt").read_text() for r in (0, 1)]
    for m in messages:
        assert "the loss is not finite" in m, messages
    assert messages[0].split(": the loss")[0] == messages[1].split(": the loss")[0]
    assert not (out / "best.pt").exists() and not (out / "last.pt").exists()
