"""`avsynth export-avsbench` output is read by avsmodel's AVSBench reader unchanged."""

from __future__ import annotations

from pathlib import Path

from _train_helpers import make_manifest

from avsmodel.data.avsbench import AvsbenchDataset
from avsmodel.evaluation import evaluate
from avsmodel.training import train
from avsynth.inspection import export_avsbench


def test_exported_s4_layout_trains_and_evaluates(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path / "m", n={"train": 4, "val": 2, "test": 3})
    export_avsbench(manifest, tmp_path / "s4")
    root = tmp_path / "s4"
    ds = AvsbenchDataset(root, "s4", "test", image_size=128, audio_examples=2)
    assert len(ds) == 3 * 5  # five frames per exported clip
    item = ds[0]
    assert item["image"].shape == (3, 128, 128)
    assert float(item["mask"].sum()) > 0

    run = train(
        avsbench=root,
        subset="s4",
        model="sama_avs_tiny",
        out=tmp_path / "run",
        epochs=1,
        batch_size=2,
        val_batch_size=4,
        workers=0,
        progress=False,
    )
    metrics = evaluate(run.best_path, avsbench=root, subset="s4", split="test", progress=False)
    assert metrics["n"] == 15
    assert 0.0 <= metrics["miou"] <= 1.0
