"""ManifestDataset and AvsbenchDataset on tiny real-format inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from _train_helpers import make_manifest, write_avsbench
from PIL import Image

from avsmodel.data import AvsbenchDataset, ManifestDataset, collate
from avsmodel.data.dataset import fit_examples
from avsmodel.errors import DataError

S, N = 128, 2


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), n={"train": 6, "val": 3, "test": 4})


def test_items_have_model_shapes(manifest: Path) -> None:
    ds = ManifestDataset(manifest, "train", image_size=S, audio_examples=N)
    assert len(ds) == 6
    it = ds[0]
    assert it["image"].shape == (3, S, S)
    assert it["audio"].shape == (N, 1, 96, 64)
    assert it["mask"].shape == (S // 4, S // 4)
    assert set(it["mask"].unique().tolist()) <= {0.0, 1.0} and it["mask"].sum() > 0
    assert it["size"] == (48, 64) and it["resized"] == (96, 128)
    # The padding below the resized image is background.
    assert it["mask"][24:].sum() == 0
    b = collate([ds[0], ds[1]])
    assert b["image"].shape == (2, 3, S, S) and b["index"].tolist() == [0, 1]


def test_full_masks_at_image_size(manifest: Path) -> None:
    ds = ManifestDataset(manifest, "test", image_size=S, audio_examples=N, full_masks=True)
    it = ds[1]
    assert it["mask_full"].shape == (48, 64) and it["mask_full"].dtype == torch.bool
    # The full mask is the record's PNG, read here with PIL (the test's own reading).
    rec = ds.records[1]
    with Image.open(manifest.parent / rec.mask.path) as im:
        png = np.asarray(im.convert("L")) > 127
    assert png.any() and (~png).any()
    assert np.array_equal(it["mask_full"].numpy(), png)
    assert isinstance(collate([ds[0], ds[1]])["mask_full"], list)


def test_missing_split_is_one_line_error(tmp_path: Path) -> None:
    m = make_manifest(tmp_path, n={"train": 2, "test": 2})
    with pytest.raises(DataError, match=r"no triplets in split 'val' \(manifest.jsonl has train, "):
        ManifestDataset(m, "val", image_size=S, audio_examples=N)


def test_mismatched_pairs_other_category_deterministically(manifest: Path) -> None:
    ds = ManifestDataset(manifest, "test", image_size=S, audio_examples=N, mismatched=True)
    again = ManifestDataset(manifest, "test", image_size=S, audio_examples=N, mismatched=True)
    for i, t in enumerate(ds.records):
        j = ds.audio_index(i)
        assert ds.records[j].category != t.category
        assert again.audio_index(i) == j
    other = ManifestDataset(manifest, "test", image_size=S, audio_examples=N)
    assert not torch.equal(ds[0]["audio"], other[0]["audio"])


def test_resampling_keeps_category_and_depends_on_epoch(manifest: Path) -> None:
    ds = ManifestDataset(manifest, "train", image_size=S, audio_examples=N, resample_audio_p=1.0)
    picks = []
    for epoch in range(4):
        ds.set_epoch(epoch)
        row = [ds.audio_index(i) for i in range(len(ds))]
        for i, j in enumerate(row):
            assert ds.records[j].category == ds.records[i].category
        picks.append(row)
    ds.set_epoch(2)
    assert [ds.audio_index(i) for i in range(len(ds))] == picks[2]


def test_undecodable_image_and_audio_name_the_file(tmp_path: Path) -> None:
    m = make_manifest(tmp_path, n={"train": 2, "val": 1})
    (tmp_path / "images" / "t0000.png").write_bytes(b"not a png")
    (tmp_path / "audio" / "t0001.wav").write_bytes(b"RIFF....garbage")
    ds = ManifestDataset(m, "train", image_size=S, audio_examples=N)
    with pytest.raises(DataError, match=r"t0000\.png: image does not decode"):
        ds[0]
    with pytest.raises(DataError, match=r"t0001\.wav: audio does not decode"):
        ds[1]


def test_short_audio_is_data_error(tmp_path: Path) -> None:
    m = make_manifest(tmp_path, n={"train": 1, "val": 1})
    ds = ManifestDataset(m, "train", image_size=S, audio_examples=N)
    # The record says 2 s (checked when the dataset opens); the file holds 0.5 s.
    sf.write(tmp_path / "audio" / "t0000.wav", np.zeros(8000, np.float32), 16000)
    with pytest.raises(DataError, match=r"t0000\.wav: .*shorter than one"):
        ds[0]


def test_fit_examples_crops_centre_and_tiles() -> None:
    x = torch.arange(5.0).view(5, 1, 1, 1).expand(5, 1, 96, 64)
    assert fit_examples(x, 3)[:, 0, 0, 0].tolist() == [1.0, 2.0, 3.0]
    assert fit_examples(x, 1, centre=4)[:, 0, 0, 0].tolist() == [4.0]
    assert fit_examples(x[:2], 5)[:, 0, 0, 0].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]


@pytest.fixture(scope="module")
def avsbench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_avsbench(tmp_path_factory.mktemp("avsb"))


def test_avsbench_s4_layout(avsbench: Path) -> None:
    train = AvsbenchDataset(avsbench, "s4", "train", image_size=S, audio_examples=1)
    assert len(train) == 2  # S4 train: only the first frame is annotated
    test = AvsbenchDataset(avsbench, "s4", "test", image_size=S, audio_examples=1, full_masks=True)
    assert len(test) == 10
    it = test[3]
    assert it["image"].shape == (3, S, S) and it["audio"].shape == (1, 1, 96, 64)
    assert it["mask_full"].shape == (224, 224) and it["mask_full"].sum() == 2500
    # Frame k uses log-mel example k.
    mel = test.clip_log_mel(0)
    assert torch.equal(test[2]["audio"][0], mel[2])
    # The Single-source folder works as a root too.
    again = AvsbenchDataset(avsbench / "Single-source", "s4", "val", image_size=S, audio_examples=1)
    assert len(again) == 10


def test_avsbench_ms3_layout_and_mismatch(avsbench: Path) -> None:
    ds = AvsbenchDataset(
        avsbench, "ms3", "val", image_size=S, audio_examples=3, mismatched=True, full_masks=True
    )
    assert len(ds) == 10
    it = ds[4]
    assert it["audio"].shape == (3, 1, 96, 64) and it["mask_full"].sum() == 2500
    assert ds.audio_clip(0) == 1 and ds.audio_clip(1) == 0


def test_avsbench_missing_root_is_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no s4_meta_data.csv"):
        AvsbenchDataset(tmp_path, "s4", "test", image_size=S, audio_examples=1)
    with pytest.raises(DataError, match="unknown AVSBench subset"):
        AvsbenchDataset(tmp_path, "avss", "test", image_size=S, audio_examples=1)


def test_manifest_written_by_avsynth_writer_round_trips(manifest: Path) -> None:
    lines = manifest.read_text().splitlines()
    assert json.loads(lines[0])["schema_version"] == 1
