"""Materialised builds: media formats, determinism, resume, failures."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from collections import Counter

import numpy as np
import pytest
import soundfile as sf
from build_fixtures import build_tiny, write_sources
from PIL import Image

from avsynth.errors import MediaError
from avsynth.manifest import read_manifest, resolve_media_path
from avsynth.sources.images import decode_mask

SIZES = (30, 6, 6)


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("src"), clip_seconds=1.0)


def _build(roots, out, **kw):
    kw.setdefault("split_sizes", SIZES)
    kw.setdefault("clip_seconds", 1.0)
    return build_tiny(roots, out, **kw)


def _copy_sources(roots, dest):
    return {k: shutil.copytree(v, dest / k) for k, v in roots.items()}


def test_media_formats(src, tmp_path):
    r = _build(src, tmp_path / "o")
    ts = read_manifest(r.manifest)
    assert Counter(t.split for t in ts) == {"train": 30, "val": 6, "test": 6}
    for t in ts:
        assert (t.image.root, t.mask.root, t.audio.root) == ("manifest",) * 3
        ipath = resolve_media_path(r.manifest, t.image.path, t.image.root)
        srcimg = src[t.image.source] / (
            f"train2017/{int(t.image.source_id):012d}.jpg"
            if t.image.source == "lvis"
            else f"train/{t.image.source_id}.jpg"
        )
        assert ipath.read_bytes() == srcimg.read_bytes()
        with Image.open(resolve_media_path(r.manifest, t.mask.path, "manifest")) as m:
            assert m.mode == "L" and m.size == (t.image.width, t.image.height) == (64, 48)
            arr = np.asarray(m)
        assert set(np.unique(arr)) <= {0, 255} and arr.any()
        info = sf.info(str(resolve_media_path(r.manifest, t.audio.path, "manifest")))
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (
            16000,
            1,
            16000,
            "PCM_16",
        )
        assert t.audio.sample_rate == 16000 and t.audio.duration == 1.0


def test_lvis_mask_matches_decoder(src, tmp_path):
    r = _build(src, tmp_path / "o")
    t = next(t for t in read_manifest(r.manifest) if t.mask.source == "lvis")
    plan_t = next(x for x in r.plan.triplets if x.id == t.id)
    want = decode_mask(plan_t.mask, src["lvis"])
    with Image.open(resolve_media_path(r.manifest, t.mask.path, "manifest")) as m:
        assert np.array_equal(np.asarray(m) > 0, want)


def _shuffle_inputs(roots, seed=7):
    """Rewrite every metadata file with its records in another order."""
    rng = random.Random(seed)
    p = roots["lvis"] / "lvis_v1_train.json"
    d = json.loads(p.read_text())
    rng.shuffle(d["images"])
    rng.shuffle(d["annotations"])
    p.write_text(json.dumps(d, indent=1))
    for p, header in (
        (roots["openimages"] / "train-annotations-object-segmentation.csv", 1),
        (roots["vggsound"] / "vggsound.csv", 0),
    ):
        rows = list(csv.reader(io.StringIO(p.read_bytes().decode())))
        head, body = rows[:header], rows[header:]
        rng.shuffle(body)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(head + body)
        p.write_text(buf.getvalue())


def test_byte_identical_across_input_order_and_workers(src, tmp_path):
    a = _build(src, tmp_path / "a", workers=1)
    shuffled = _copy_sources(src, tmp_path / "shuf")
    _shuffle_inputs(shuffled)
    b = _build(shuffled, tmp_path / "b", workers=2)
    assert a.manifest.read_bytes() == b.manifest.read_bytes()
    for rel in ("needed_clips.csv", "needed_images_lvis.txt", "needed_images_openimages.txt"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    for t in read_manifest(a.manifest):
        for ref in (t.mask, t.audio):
            pa = resolve_media_path(a.manifest, ref.path, "manifest")
            pb = resolve_media_path(b.manifest, ref.path, "manifest")
            assert pa.read_bytes() == pb.read_bytes()
    c = _build(src, tmp_path / "c", seed=1)
    assert c.manifest.read_bytes() != a.manifest.read_bytes()


def _corrupt_one_clip(roots, manifest_of_plan):
    clip = next(t.clip for t in manifest_of_plan.plan.triplets if t.split == "test")
    path = roots["vggsound"] / clip.path
    good = path.read_bytes()
    path.write_bytes(b"RIFF\x00\x00garbage" * 10)
    return path, good


def test_failure_leaves_no_manifest_and_rerun_resumes(src, tmp_path):
    roots = _copy_sources(src, tmp_path / "src")
    out = tmp_path / "o"
    plan_report = _build(roots, tmp_path / "probe", plan_only=True, require_clips=True)
    bad, good = _corrupt_one_clip(roots, plan_report)
    _build(roots, out, split_sizes=(10, 2, 2))  # an earlier, smaller build in the same folder
    assert (out / "manifest.jsonl").exists()
    with pytest.raises(MediaError, match=bad.name):
        _build(roots, out)
    assert not (out / "manifest.jsonl").exists()  # stale manifest removed, none written
    images = sorted((out / "images").rglob("*.jpg"))
    masks = sorted((out / "masks").rglob("*.png"))
    assert images and masks  # image tasks ran before the failing clip
    assert not list(out.rglob("*.tmp"))
    stamp = {p: p.stat().st_mtime_ns for p in images + masks}
    bad.write_bytes(good)
    r = _build(roots, out)
    assert Counter(t.split for t in read_manifest(r.manifest)) == {"train": 30, "val": 6, "test": 6}
    assert all(p.stat().st_mtime_ns == m for p, m in stamp.items())  # finished files kept
    fresh = _build(roots, tmp_path / "fresh")
    assert r.manifest.read_bytes() == fresh.manifest.read_bytes()


def test_partial_output_is_redone(src, tmp_path):
    out = tmp_path / "o"
    r = _build(src, out)
    t = read_manifest(r.manifest)[0]
    wav = resolve_media_path(r.manifest, t.audio.path, "manifest")
    png = resolve_media_path(r.manifest, t.mask.path, "manifest")
    wav.write_bytes(wav.read_bytes()[:100])  # truncated: header says fewer frames
    png.write_bytes(b"not a png")
    (out / "audio" / "junk.wav.123.tmp").write_bytes(b"x")
    _build(src, out)
    assert not (out / "audio" / "junk.wav.123.tmp").exists()
    assert sf.info(str(wav)).frames == 16000
    with Image.open(png) as m:
        assert m.size == (64, 48)


def test_corrupt_image_names_file_or_is_skipped(src, tmp_path):
    roots = _copy_sources(src, tmp_path / "src")
    probe = _build(roots, tmp_path / "probe", plan_only=True, require_clips=True)
    im = next(t.mask.image for t in probe.plan.triplets if t.mask.source == "lvis")
    path = roots["lvis"] / im.path
    path.write_bytes(path.read_bytes()[:200])  # truncated JPEG
    with pytest.raises(MediaError, match=path.name):
        _build(roots, tmp_path / "o")
    assert not (tmp_path / "o" / "manifest.jsonl").exists()
    r = _build(roots, tmp_path / "o", on_error="skip", workers=2)
    info = json.loads(r.sidecar.read_text())
    assert list(info["media_skips"]) == [f"lvis:{im.image_id}"]
    assert path.name in info["media_skips"][f"lvis:{im.image_id}"]
    ts = read_manifest(r.manifest)
    assert all(t.image.source_id != im.image_id for t in ts)
    assert len(ts) == sum(info["written"].values()) < sum(SIZES)


def test_corrupt_mask_zip_names_the_file(src, tmp_path):
    roots = _copy_sources(src, tmp_path / "src")
    for z in roots["openimages"].glob("train-masks-*.zip"):
        z.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(MediaError, match=r"cannot open mask zip .*train-masks-[0-9a-f]\.zip"):
        _build(roots, tmp_path / "o")
    assert not (tmp_path / "o" / "manifest.jsonl").exists()
