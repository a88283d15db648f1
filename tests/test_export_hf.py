"""``avsynth export --format hf``: read back with ``datasets.load_dataset`` (also streaming)
and checked pixel-, sample- and id-exact against the files the manifest points to."""

from __future__ import annotations

import hashlib
import json
import random

import numpy as np
import pytest
from export_fixtures import manifest_lines, pixels, samples, split_ids, tree_digests
from inspect_fixtures import make_build

from avsynth.exporters import export
from avsynth.manifest import ManifestWriter, read_manifest

datasets = pytest.importorskip("datasets")
HF = {"train": "train", "val": "validation", "test": "test"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    m = make_build(root / "build", seconds=3.0)
    export(m, root / "out", format="hf", shard_size=4, progress=False)
    return m, root / "out", root


def load(out, tmp, **kw):
    from datasets import Audio

    ds = datasets.load_dataset(str(out), cache_dir=str(tmp / "cache"), **kw)
    return ds.cast_column("audio", Audio(decode=False))  # decoding needs torchcodec


def check_row(row, line, base):
    """One row against its manifest line and the build's files."""
    assert row["id"] == line["id"] and row["split"] == line["split"]
    assert row["category"] == line["category"]
    assert row["audio_label"] == line["audio"]["label"]
    assert row["box"] == line["mask"]["bbox"]
    assert row["image_source"] == line["image"]["source"]
    assert row["audio_youtube_id"] == line["audio"]["youtube_id"]
    want = pixels(base / line["image"]["path"])
    assert np.array_equal(np.asarray(row["image"]), want)
    assert (row["width"], row["height"]) == (want.shape[1], want.shape[0])
    mask = np.asarray(row["mask"])
    assert np.array_equal(mask, pixels(base / line["mask"]["path"]))
    got, sr = samples(row["audio"]["bytes"])
    ref, ref_sr = samples(base / line["audio"]["path"])
    assert sr == ref_sr == 16000 and np.array_equal(got, ref)
    return mask


def test_load_dataset_gives_the_manifest_splits_ids_pixels_and_samples(built):
    manifest, out, tmp = built
    ds = load(out, tmp)
    assert list(ds) == ["train", "validation", "test"]
    ids = split_ids(manifest)
    lines = manifest_lines(manifest)
    for split, name in HF.items():
        assert ds[name].num_rows == len(ids[split]) > 0
        assert ds[name]["id"] == ids[split]  # id-exact, in id order
        for row in ds[name]:
            check_row(row, lines[row["id"]], manifest.parent)


def test_streaming_reads_the_same_rows(built):
    manifest, out, tmp = built
    ds = load(out, tmp, streaming=True)
    lines = manifest_lines(manifest)
    for split, name in HF.items():
        rows = list(ds[name])
        assert [r["id"] for r in rows] == split_ids(manifest)[split]
        for row in rows:
            check_row(row, lines[row["id"]], manifest.parent)


def test_shards_and_card(built):
    manifest, out, _ = built
    from huggingface_hub import DatasetCard

    names = sorted(p.name for p in (out / "data").iterdir())
    assert names == [
        "test-00000-of-00001.parquet",
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
        "validation-00000-of-00001.parquet",
    ]  # 6 train rows at 4 per shard
    card = DatasetCard.load(out / "README.md")
    info = card.data.to_dict()
    files = info["configs"][0]["data_files"]
    assert [f["split"] for f in files] == ["train", "validation", "test"]
    counts = {s["name"]: s["num_examples"] for s in info["dataset_info"]["splits"]}
    assert counts == {"train": 6, "validation": 3, "test": 3}
    feats = {f["name"] for f in info["dataset_info"]["features"]}
    assert {"image", "mask", "audio", "category", "audio_label", "box", "composition"} <= feats
    side = json.loads((manifest.parent / "build_info.json").read_text())
    side.pop("roots", None)
    canon = json.dumps(side, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = card.text
    assert hashlib.sha256(canon.encode()).hexdigest() in text
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() in text
    for source in ("**LVIS**", "**Open Images**", "**VGGSound**"):
        assert source in text


def test_same_input_same_bytes_and_line_order_does_not_matter(built, tmp_path):
    manifest, out, _ = built
    export(manifest, tmp_path / "again", format="hf", shard_size=4, progress=False)
    first = tree_digests(out)
    assert tree_digests(tmp_path / "again") == first and len(first) == 6
    shuffled = read_manifest(manifest)
    random.Random(5).shuffle(shuffled)
    other = manifest.parent / "shuffled.jsonl"
    with ManifestWriter(other) as w:
        w.write_all(shuffled)
    export(other, tmp_path / "shuffled", format="hf", shard_size=4, progress=False)
    again = tree_digests(tmp_path / "shuffled")
    data = {k: v for k, v in first.items() if k.startswith("data/")}
    assert {k: v for k, v in again.items() if k.startswith("data/")} == data
    assert again["README.md"] != first["README.md"]  # it names the other manifest's SHA-256


@pytest.mark.slow
def test_composed_manifest_round_trips(tmp_path):
    from compose_fixtures import EXPECTED, build_composed, compose_world

    w, cmap = compose_world(tmp_path / "w")
    build_composed(w, cmap, tmp_path / "b")
    manifest = tmp_path / "b" / "manifest.jsonl"
    export(manifest, tmp_path / "hf", format="hf", shard_size=50, progress=False)
    ds = load(tmp_path / "hf", tmp_path)
    lines = manifest_lines(manifest)
    for split, name in HF.items():
        got: dict[str, int] = {}
        for row in ds[name]:
            line = lines[row["id"]]
            mask = check_row(row, line, manifest.parent)
            assert row["composition"] == line["composition"]
            got[row["composition"]] = got.get(row["composition"], 0) + 1
            assert [i["source_id"] for i in row["instances"]] == [
                i["source_id"] for i in line["instances"]
            ]
            assert [(c["category"], c["visible"], c["gain_db"]) for c in row["components"]] == [
                (c["category"], c["visible"], c["gain_db"]) for c in line["components"]
            ]
            if row["composition"] == "offscreen":
                assert not mask.any()
        assert got == {c: n[split] for c, n in EXPECTED.items()}
