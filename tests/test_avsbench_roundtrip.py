"""`avsynth export-avsbench` output is read by avsmodel's AVSBench reader unchanged: the frames,
masks and log-mels it reads back equal what the manifest's own files give, and it trains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from _train_helpers import make_manifest
from PIL import Image

from avsmodel.audio import vggish_examples
from avsmodel.data.avsbench import AvsbenchDataset
from avsmodel.evaluation import evaluate
from avsmodel.training import train
from avsynth import read_manifest
from avsynth.inspection import export_avsbench


def _reference(root: Path, t) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """224x224 frame and mask and the [5,1,96,64] log-mel straight from the manifest's files."""
    with Image.open(root / t.image.path) as im:
        frame = np.asarray(im.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR))
    with Image.open(root / t.mask.path) as im:
        mask = np.asarray(im.resize((224, 224), Image.Resampling.NEAREST)) > 0
    y, rate = sf.read(root / t.audio.path, dtype="float32")
    assert rate == 16000
    ex = vggish_examples(y[: 5 * rate], rate)
    ex = torch.cat([ex, ex[-1:].repeat(5 - ex.shape[0], 1, 1, 1)])[:5]
    return frame, mask, ex


@pytest.mark.slow  # trains the tiny model for one epoch
def test_exported_s4_layout_reads_back_and_trains(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path / "m", n={"train": 4, "val": 2, "test": 3})
    export_avsbench(manifest, tmp_path / "s4")
    root = tmp_path / "s4"
    ds = AvsbenchDataset(root, "s4", "test", image_size=128, audio_examples=2, full_masks=True)
    triplets = {t.id: t for t in read_manifest(manifest) if t.split == "test"}
    assert sorted(c.name for c in ds.clips) == sorted(triplets)
    assert len(ds) == 3 * 5  # five frames per exported clip
    for index in range(len(ds)):
        ci, k = ds.items[index]
        frame, mask, log_mel = _reference(manifest.parent, triplets[ds.clips[ci].name])
        with Image.open(ds.frame_path(ds.clips[ci], k)) as im:
            assert np.array_equal(np.asarray(im.convert("RGB")), frame)
        item = ds[index]
        assert np.array_equal(item["mask_full"].numpy() > 0, mask) and mask.any()
        torch.testing.assert_close(ds.clip_log_mel(ci), log_mel.float(), rtol=0, atol=1e-5)

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
