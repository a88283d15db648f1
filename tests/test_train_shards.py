"""Training from a WebDataset export: the streamed items equal the manifest's, shards are
split without overlap across ranks and workers, epochs have the split's length, a tiny model
learns as well as from the manifest, and 2 processes (gloo) train from shards."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from _train_helpers import free_port, make_manifest
from torch.utils.data import DataLoader

import avsynth
from avsmodel.data import ManifestDataset, collate
from avsmodel.data.shards import ShardDataset
from avsmodel.errors import ConfigError, DataError

SIZE = dict(image_size=128, audio_examples=1)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("shards")
    manifest = make_manifest(root / "m", n={"train": 20, "val": 6, "test": 4})
    out = root / "wds"
    avsynth.export(manifest, out, format="webdataset", shard_size=2, progress=False)
    return manifest, out


def _ids_by_position(manifest: Path, split: str) -> list[str]:
    """The export's order: a split's triplets sorted by id (docs/interop.md)."""
    return sorted(ManifestDataset(manifest, split, **SIZE).ids())


def test_items_equal_the_manifest_items(export) -> None:
    manifest, out = export
    ref = ManifestDataset(manifest, "val", full_masks=True, **SIZE)
    pos = {i: k for k, i in enumerate(ref.ids())}
    ids = _ids_by_position(manifest, "val")
    items = list(ShardDataset(out, "val", full_masks=True, **SIZE))
    assert sorted(it["index"] for it in items) == list(range(6))
    for it in items:
        want = ref[pos[ids[it["index"]]]]
        for key in ("image", "audio", "mask", "mask_full"):
            assert torch.equal(it[key], want[key]), key
        assert it["size"] == want["size"] and it["resized"] == want["resized"]


def _read_all(ds: ShardDataset, workers: int) -> list[int]:
    loader = DataLoader(ds, batch_size=3, num_workers=workers, collate_fn=collate)
    return [int(i) for b in loader for i in b["index"]]


@pytest.mark.parametrize("workers", [0, 2])
def test_ranks_and_workers_read_disjoint_shards(export, workers) -> None:
    _, out = export
    index = json.loads((out / "index.json").read_text())
    shards = [s["url"] for s in index["splits"]["train"]["shards"]]
    assert len(shards) == 10
    seen: dict[tuple[int, int], set[str]] = {}
    for rank in (0, 1):
        ds = ShardDataset(out, "train", shuffle_buffer=8, seed=3, **SIZE)
        ds.set_rank(rank, 2)
        ds.set_epoch(1)
        for w in range(max(workers, 1)):
            seen[rank, w] = {shards[i] for i in ds.reader_shards(w, max(workers, 1))}
        got = _read_all(ds, workers)
        assert len(got) == 10 == len(ds)  # the epoch: num_samples // world_size per rank
        # What a rank reads lies in its own shards (positions -> shard by the counts).
        mine = set().union(*(seen[rank, w] for w in range(max(workers, 1))))
        assert {shards[i // 2] for i in got} == mine
    readers = list(seen.values())
    assert sum(len(s) for s in readers) == len(shards) == len(set().union(*readers))


def test_epoch_order_is_seeded(export) -> None:
    _, out = export

    def order(epoch: int, seed: int = 0) -> list[int]:
        ds = ShardDataset(out, "train", shuffle_buffer=8, seed=seed, **SIZE)
        ds.set_epoch(epoch)
        return [it["index"] for it in ds]

    a = order(0)
    assert a == order(0) and sorted(a) == list(range(20))
    assert a != order(1) and a != order(0, seed=1)


def test_epoch_length_with_uneven_shards(tmp_path) -> None:
    """7 samples in shards of 3, 3, 1 over 2 ranks: 3 per rank, whatever the shard sizes."""
    manifest = make_manifest(tmp_path / "m", n={"train": 7, "val": 2})
    avsynth.export(manifest, tmp_path / "w", format="webdataset", shard_size=3, progress=False)
    for rank in (0, 1):
        ds = ShardDataset(tmp_path / "w", "train", shuffle_buffer=4, **SIZE)
        ds.set_rank(rank, 2)
        assert len(list(ds)) == 3 and ds.steps_per_epoch(2, 0) == 2


def test_errors_are_one_line(export, tmp_path) -> None:
    _, out = export
    with pytest.raises(DataError, match=r"no samples in split 'nope' \(has: test, train, val\)"):
        ShardDataset(out, "nope", **SIZE)
    ds = ShardDataset(out, "train", shuffle_buffer=4, **SIZE)
    ds.set_rank(0, 4)
    with pytest.raises(DataError, match="10 shard.* for 12 readers"):
        ds.check_readers(3)
    bad = tmp_path / "bad"
    bad.mkdir()
    index = json.loads((out / "index.json").read_text())
    index["splits"]["train"]["shards"][0]["url"] = "../escape.tar"
    (bad / "index.json").write_text(json.dumps(index))
    with pytest.raises(DataError, match="is not a file name"):
        ShardDataset(bad, "train", **SIZE)
    from avsmodel.training import train

    with pytest.raises(ConfigError, match="train_fraction"):
        train(out, model="sama_avs_tiny", out=tmp_path / "r", train_fraction=0.5, progress=False)


TRAIN = dict(epochs=8, batch_size=4, val_batch_size=8, workers=0, lr=2e-3, progress=False)
#: The J comparison: the tiny recipe (batch 16, lr 1e-3) for 12 epochs of 6 steps.
LEARN = dict(epochs=12, batch_size=16, val_batch_size=16, workers=0, lr=1e-3, progress=False)


@pytest.mark.slow  # two tiny trainings (~2-3 min each on 2 busy cores)
def test_shards_train_as_well_as_the_manifest(tmp_path) -> None:
    """Same world, recipe and seed; only the data path differs (streamed shards in another
    sample order). At this scale the outcome depends on the order by several hundredths
    (seed 0: 0.735 vs 0.706; seed 1: 0.641 vs 0.724, measured), so this is one seed's check
    that streaming trains as well, not a bound that holds for every seed."""
    from avsmodel.training import train

    manifest = make_manifest(tmp_path / "m", n={"train": 96, "val": 16, "test": 4})
    avsynth.export(manifest, tmp_path / "w", format="webdataset", shard_size=8, progress=False)
    ref = train(manifest, model="sama_avs_tiny", out=tmp_path / "man", **LEARN)
    got = train(tmp_path / "w", model="sama_avs_tiny", out=tmp_path / "wds", **LEARN)
    assert ref.best_miou > 0.5  # it learned: the comparison is not between two failures
    assert abs(got.best_miou - ref.best_miou) <= 0.05, (got.best_miou, ref.best_miou)
    assert [h["steps"] for h in got.history] == [6] * 12  # 96 samples / batch 16 per epoch
    ck = torch.load(got.best_path, weights_only=True)
    assert ck["data"]["kind"] == "webdataset"


def _ddp_worker(rank: int, export: str, out: str, port: int) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE="2",
    )
    from avsmodel.training import train

    read: list[tuple[int, str]] = []
    original = ShardDataset._read

    def recording(self, shard):  # what this process really opens, per epoch
        if self.training:
            read.append((self.epoch, self.shards[shard][0]))
        return original(self, shard)

    decoded: list[int] = []
    original_decode = ShardDataset.decode

    def counting(self, sample, pools=None):  # one call per training sample yielded
        if self.training:
            decoded.append(self.epoch)
        return original_decode(self, sample, pools)

    ShardDataset._read = recording
    ShardDataset.decode = counting
    res = train(
        export, model="sama_avs_tiny", out=out, device="cpu", threads=1, **TRAIN | {"epochs": 2}
    )
    torch.save(
        {
            "state": res.model.trainable_state_dict(),
            "read": read,
            "steps": [h["steps"] for h in res.history],  # rank 0 keeps the history
            "samples": [decoded.count(e) for e in (0, 1)],
        },
        Path(out).parent / f"rank{rank}.pt",
    )


@pytest.mark.slow  # two processes, two epochs
def test_two_processes_train_from_disjoint_shards(export, tmp_path) -> None:
    _, out = export
    mp.spawn(_ddp_worker, args=(str(out), str(tmp_path / "run"), free_port()), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for k in r0["state"]:
        assert torch.equal(r0["state"][k], r1["state"][k]), k  # gradients were synchronised
    assert r0["samples"] == r1["samples"] == [10, 10]  # 20 // 2 per rank and epoch
    assert r0["steps"] == [3, 3]  # 10 samples in batches of 4
    for epoch in (0, 1):
        a = {u for e, u in r0["read"] if e == epoch}
        b = {u for e, u in r1["read"] if e == epoch}
        assert a and b and not a & b and len(a | b) == 10, (epoch, a, b)


@pytest.mark.slow  # torchrun, two processes, one epoch
def test_torchrun_cli_trains_from_shards(export, tmp_path) -> None:
    """``torchrun --nproc_per_node 2 avsmodel train DIR`` as a user runs it: both ranks join
    (gloo on the CPU), each streams half the split (10 of 20 samples: 3 steps of 4), and only
    rank 0 writes the run."""
    import subprocess
    import sys

    _, out = export
    root = Path(__file__).resolve().parents[1]
    driver = tmp_path / "avsmodel_cli.py"
    driver.write_text(
        f"import sys\nsys.path.insert(0, {str(root)!r})\n"
        "from avsmodel.cli import main\nsys.argv[0] = 'avsmodel'\nmain()\n"
    )
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += [str(driver), "train", str(out), "--model", "sama_avs_tiny", "--out", str(run)]
    cmd += ["--epochs", "1", "--batch-size", "4", "--loader-workers", "0", "--device", "cpu"]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["steps"] for row in rows] == [3]  # 20 samples over 2 ranks, batches of 4
    ck = torch.load(run / "last.pt", weights_only=True)
    assert ck["data"]["kind"] == "webdataset" and ck["world_size"] == 2
