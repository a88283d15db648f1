"""Media integrity: stale outputs rebuilt on resume, damaged audio, full disk, worker count."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from build_fixtures import CATS, build_tiny, write_sources
from PIL import Image

from avsynth.errors import MediaError
from avsynth.manifest import read_manifest

SIZES = (30, 6, 6)
SECONDS = 2.0  # source clips and WAVs


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return write_sources(tmp_path_factory.mktemp("src"), clip_seconds=SECONDS)


@pytest.fixture
def src(base, tmp_path):
    return {k: Path(shutil.copytree(v, tmp_path / "src" / k)) for k, v in base.items()}


def _build(roots, out, **kw):
    kw.setdefault("split_sizes", SIZES)
    kw.setdefault("clip_seconds", SECONDS)
    return build_tiny(roots, out, **kw)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _assert_same_as_fresh(src, out, tmp_path):
    _build(src, out)
    fresh = tmp_path / "fresh"
    _build(src, fresh)
    got, want = _files(out), _files(fresh)
    assert sorted(got) == sorted(want)
    differ = [k for k in want if got[k] != want[k]]
    assert differ == []


def _used(out: Path, source: str):
    return next(t for t in read_manifest(out / "manifest.jsonl") if t.mask.source == source)


def test_changed_lvis_polygon_rebuilds_its_mask(src, tmp_path):
    out = tmp_path / "o"
    _build(src, out)
    t = _used(out, "lvis")
    before = (out / t.mask.path).read_bytes()
    p = src["lvis"] / "lvis_v1_train.json"
    d = json.loads(p.read_text())
    ann = next(a for a in d["annotations"] if str(a["id"]) == t.mask.source_id)
    poly = ann["segmentation"][0]
    ann["segmentation"][0] = [v + 3.0 if i % 2 == 0 else v for i, v in enumerate(poly)]
    ann["segmentation"][0] = [min(v, 63.0) for v in ann["segmentation"][0]]
    p.write_text(json.dumps(d))
    _assert_same_as_fresh(src, out, tmp_path)
    assert (out / t.mask.path).read_bytes() != before  # the new polygon was drawn


def _truncate_wav(path: Path, keep_frames: int) -> int:
    data, sr = sf.read(str(path), dtype="int16")
    raw = path.read_bytes()
    header = len(raw) - data.size * 2
    path.write_bytes(raw[: header + 2 * keep_frames])  # header still claims the full length
    return keep_frames


def test_replaced_truncated_wav_rebuilds_its_audio(src, tmp_path):
    out = tmp_path / "o"
    c = read_manifest(_build(src, tmp_path / "probe").manifest)[0].audio
    clip = src["vggsound"] / "video" / f"{c.youtube_id}_{int(c.start_seconds):06d}.wav"
    good = clip.read_bytes()
    _truncate_wav(clip, 20000)
    _build(src, out)
    clip.write_bytes(good)  # the user re-downloads the clip
    _assert_same_as_fresh(src, out, tmp_path)
    rec = next(t.audio for t in read_manifest(out / "manifest.jsonl") if t.audio.path == c.path)
    assert rec.duration == SECONDS and sf.info(str(out / c.path)).frames == 32000


def test_fixed_openimages_zip_rebuilds_its_mask(src, tmp_path):
    out = tmp_path / "o"
    zpath = next(src["openimages"].glob("train-masks-*.zip"))
    with zipfile.ZipFile(zpath) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    good = zpath.read_bytes()
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            with Image.open(io.BytesIO(data)) as im:
                shifted = Image.fromarray(np.roll(np.asarray(im.convert("L")) > 0, 1, axis=1))
            buf = io.BytesIO()
            shifted.save(buf, format="PNG")
            zf.writestr(name, buf.getvalue())
    zpath.write_bytes(broken.getvalue())
    _build(src, out)
    zpath.write_bytes(good)  # the user fixes the zip
    _assert_same_as_fresh(src, out, tmp_path)


# ----------------------------------------------------------------------------- damaged audio


def _clip_of_first_triplet(src, tmp_path):
    r = _build(src, tmp_path / "probe")
    t = read_manifest(r.manifest)[0]
    name = f"{t.audio.youtube_id}_{int(t.audio.start_seconds):06d}.wav"
    return t.audio, src["vggsound"] / "video" / name


def test_truncated_wav_records_its_real_duration(src, tmp_path):
    a, clip = _clip_of_first_triplet(src, tmp_path)
    kept = _truncate_wav(clip, 21000)
    r = _build(src, tmp_path / "o")
    recs = [t.audio for t in read_manifest(r.manifest) if t.audio.path == a.path]
    assert recs and all(x.duration == kept / 16000 for x in recs)
    assert sf.info(str(tmp_path / "o" / a.path)).frames == kept  # not padded to 2 s


def test_nan_samples_are_rejected_naming_the_clip(src, tmp_path):
    a, clip = _clip_of_first_triplet(src, tmp_path)
    x = np.full(32000, 0.1, np.float32)
    x[100:200] = np.nan
    sf.write(str(clip), x, 16000, subtype="FLOAT", format="WAV")
    with pytest.raises(MediaError) as e:
        _build(src, tmp_path / "o")
    msg = str(e.value)
    assert "\n" not in msg and "non-finite" in msg
    assert f"{a.youtube_id}_{int(a.start_seconds):06d}" in msg


@pytest.mark.parametrize("policy", ["keep", "skip"])
def test_silent_clip_counted_and_policy_applied(src, tmp_path, policy):
    a, clip = _clip_of_first_triplet(src, tmp_path)
    cid = clip.stem
    sf.write(str(clip), np.zeros(32000, np.float32), 16000, subtype="PCM_16", format="WAV")
    r = _build(src, tmp_path / "o", silent_audio=policy, on_error="skip")
    info = json.loads(r.sidecar.read_text())
    assert info["silent_clips"] == {"count": 1, "policy": policy, "ids": [cid]}
    with_clip = [t for t in read_manifest(r.manifest) if t.audio.path == a.path]
    planned = [t for t in r.plan.triplets if t.clip.clip_id == cid]
    assert planned
    assert len(with_clip) == (len(planned) if policy == "keep" else 0)


# ----------------------------------------------------------------------------- disk full


def test_disk_full_is_named_and_leaves_no_tmp(src, tmp_path, monkeypatch):
    real_write = os.write
    calls = {"n": 0}

    def full_after_some(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            calls["n"] += 1
            if calls["n"] > 5:
                raise OSError(28, os.strerror(28))
        return real_write(fd, data)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc")
    monkeypatch.setattr(os, "write", full_after_some)
    out = tmp_path / "o"
    with pytest.raises(MediaError) as e:
        _build(src, out, on_error="skip")  # a full disk stops the build even under skip
    assert "disk full" in str(e.value) and "\n" not in str(e.value)
    assert not list(out.rglob("*.tmp"))
    assert not (out / "manifest.jsonl").exists()


def test_disk_full_on_a_real_tiny_filesystem(src, tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mnt)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        args = [
            "build", "--categories", str(tmp_path / "map.yaml"), "--vggsound", str(src["vggsound"]),
            "--lvis", str(src["lvis"]), "--openimages", str(src["openimages"]),
            "--out", str(mnt / "o"), "--split-sizes", "30,6,6", "--clip-seconds", "2", "--quiet",
        ]  # fmt: skip
        (tmp_path / "map.yaml").write_text(_MAP_YAML)
        r = subprocess.run(
            [sys.executable, "-c", "from avsynth.cli import main; main()", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode != 0
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "disk full" in lines[0], r.stderr
        assert not list((mnt / "o").rglob("*.tmp"))
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


_MAP_YAML = """schema_version: 1
name: tiny
categories:
""" + "".join(
    f"  - name: {n}\n    lvis: [{{name: {n}, synset: {n}.n.01}}]\n"
    f"    openimages: [{{mid: {mid}, name: {disp}}}]\n    vggsound: [{', '.join(labels)}]\n"
    for n, mid, disp, labels in CATS
)


# ----------------------------------------------------------------------------- worker count


def test_workers_capped_at_the_work(src, tmp_path):
    from avsynth.materialise.runner import run_media
    from avsynth.materialise.tasks import media_tasks

    r = _build(src, tmp_path / "probe", split_sizes=(1, 1, 1), plan_only=True)
    n_tasks = len(media_tasks(r.plan, str(tmp_path / "o"), 1.0)[0])
    assert n_tasks < 12
    seen: list[int] = []
    res = run_media(
        r.plan,
        str(tmp_path / "o"),
        clip_seconds=1.0,
        workers=12,
        progress=False,
        hook=lambda _: seen.append(len(multiprocessing.active_children())),
    )
    assert seen and max(seen) <= n_tasks
    assert res.workers <= n_tasks
