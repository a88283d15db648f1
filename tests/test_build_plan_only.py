"""``build(plan_only=True)`` on real-format metadata with no media files present."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter

import pytest
from build_fixtures import build_tiny, tiny_map, write_sources

import avsynth
from avsynth.errors import PlanError, SourceError
from avsynth.manifest import read_manifest, read_sidecar, resolve_media_path

SIZES = (40, 8, 8)


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """Metadata only: no images, no clip files."""
    root = tmp_path_factory.mktemp("bare")
    roots = write_sources(root, clip_files=False, image_files=False)
    for z in roots["openimages"].glob("*.zip"):  # no mask PNGs either
        z.unlink()
    return roots


def _build(roots, out, **kw):
    kw.setdefault("split_sizes", SIZES)
    return build_tiny(roots, out, **kw)


def test_plan_only_needs_no_media_and_writes_download_lists(bare, tmp_path):
    r = _build(bare, tmp_path / "p", plan_only=True)
    ts = read_manifest(r.manifest)
    assert Counter(t.split for t in ts) == {"train": 40, "val": 8, "test": 8}
    assert not (tmp_path / "p" / "images").exists() and not (tmp_path / "p" / "audio").exists()
    info = read_sidecar(r.manifest)
    assert info["plan_only"] is True and info["require_clips"] is False
    assert set(info["roots"]) == {"lvis", "openimages", "vggsound"}
    for t in ts:
        assert t.image.root == t.image.source and t.audio.root == "vggsound"
        assert t.audio.sample_rate is None
        p = resolve_media_path(r.manifest, t.image.path, t.image.root)
        assert p.parent.parent == (bare[t.image.source]).resolve()
        if t.mask.source == "lvis":
            assert t.mask.path is None
        else:
            assert t.mask.path.endswith(".png")
    lvis_list = (tmp_path / "p" / "needed_images_lvis.txt").read_text().split()
    oi_list = (tmp_path / "p" / "needed_images_openimages.txt").read_text().split()
    assert sorted(lvis_list) == lvis_list and all(x.startswith("train2017/") for x in lvis_list)
    assert set(oi_list) == {
        f"{t.image.subset}/{t.image.source_id}" for t in ts if t.image.source == "openimages"
    }
    with open(tmp_path / "p" / "needed_clips.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert {(r[0], int(r[1])) for r in rows} == {
        (t.audio.youtube_id, t.audio.start_seconds) for t in ts
    }
    assert all(len(r) == 4 and r[3] in ("train", "test") for r in rows)


def test_materialising_requires_clip_files(bare, tmp_path):
    with pytest.raises(PlanError, match="no train clip files"):
        _build(bare, tmp_path / "m")
    with pytest.raises(PlanError, match="--no-require-clips needs --plan-only"):
        _build(bare, tmp_path / "m", require_clips=False)
    assert not (tmp_path / "m" / "manifest.jsonl").exists()


def test_plan_only_with_require_clips_reports_left_out(bare, tmp_path):
    with pytest.raises(PlanError) as e:
        _build(bare, tmp_path / "q", plan_only=True, require_clips=True)
    assert "left out" in str(e.value) and "no train clip files" in str(e.value)


def test_sidecar_records_provenance(bare, tmp_path):
    r = _build(bare, tmp_path / "s", plan_only=True, seed=5)
    info = json.loads(r.sidecar.read_text())
    assert info["seed"] == 5 and info["split_sizes"] == {"train": 40, "val": 8, "test": 8}
    assert info["category_map"]["sha256"] == "0" * 64
    fp = info["inputs"]
    assert set(fp["lvis"]) == {"lvis_v1_train.json"}
    assert "vggsound.csv" in fp["vggsound"]
    assert "train-annotations-object-segmentation.csv" in fp["openimages"]
    data = (bare["lvis"] / "lvis_v1_train.json").read_bytes()
    assert fp["lvis"]["lvis_v1_train.json"] == {
        "bytes": len(data),
        "blake2b": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }
    assert sum(sum(n.values()) for n in info["counts"].values()) == 56
    assert info["written"] == {"train": 40, "val": 8, "test": 8}


def test_unsafe_source_path_is_rejected(tmp_path):
    roots = write_sources(tmp_path / "src", n_lvis=30, n_oi=0, clip_files=False, image_files=False)
    # every LVIS image's coco_url points outside the root
    p = roots["lvis"] / "lvis_v1_train.json"
    d = json.loads(p.read_text())
    for im in d["images"]:
        im["coco_url"] = "http://images.cocodataset.org/train2017/../../x.jpg"
    p.write_text(json.dumps(d))
    with pytest.raises(SourceError, match="escapes the source root"):
        avsynth.build(
            tiny_map(),
            out=tmp_path / "o",
            vggsound=roots["vggsound"],
            lvis=roots["lvis"],
            split_sizes=(5, 1, 1),
            plan_only=True,
            progress=False,
        )
    assert not (tmp_path / "o" / "manifest.jsonl").exists()
