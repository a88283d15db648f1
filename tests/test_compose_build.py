"""Composed builds (--compose): counts, leaks, verified absences, union masks, mixes,
determinism, resume, plan-only lists, and single=1 byte-identical to today's build."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter, defaultdict

import numpy as np
import pytest
import soundfile as sf
from compose_fixtures import COMPOSE, EXPECTED, SIZES, build_composed, compose_world
from PIL import Image

import avsynth
from avsynth.errors import PlanError
from avsynth.manifest import read_manifest
from avsynth.planning.compose import GAIN_DB, composition_sizes, parse_compose

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return compose_world(tmp_path_factory.mktemp("cworld"))


@pytest.fixture(scope="module")
def built(world, tmp_path_factory):
    w, cmap = world
    out = tmp_path_factory.mktemp("cbuild")
    build_composed(w, cmap, out)
    return out


def _img(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


def test_parse_compose_and_exact_sizes():
    assert parse_compose(None) == {"single": 1.0}
    assert parse_compose("multi=0.25, single=0.75") == {"single": 0.75, "multi": 0.25}
    for bad, msg in (("single=0.5", "sum to 0.5"), ("solo=1", "unknown composition 'solo'"),
                     ("single", "NAME=WEIGHT"), ("single=x", "not a number"),
                     ("single=1.5,multi=-0.5", "must be >= 0")):  # fmt: skip
        with pytest.raises(PlanError, match=msg):
            parse_compose(bad)
    sizes = composition_sizes((101, 7, 3), parse_compose("single=0.7,multi=0.2,offscreen=0.1"), 0)
    # columns sum exactly to the split sizes; each cell is floor or ceil of its share
    for k, n in enumerate((101, 7, 3)):
        assert sum(v[k] for v in sizes.values()) == n
    assert sizes["single"][0] in (70, 71) and sizes["multi"][0] in (20, 21)


def test_single_one_is_byte_identical_to_todays_build(world, tmp_path):
    w, cmap = world
    kw = {"vggsound": w.vggsound_root, "lvis": w.lvis_root, "openimages": w.openimages_root,
          "split_sizes": (40, 10, 10), "clip_seconds": 2.0, "progress": False}  # fmt: skip
    avsynth.build(cmap, out=tmp_path / "a", **kw)
    avsynth.build(cmap, out=tmp_path / "b", compose="single=1", **kw)
    files = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    assert files == sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file()
    )
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    assert '"schema_version":1' in (tmp_path / "a" / "manifest.jsonl").read_text()


def test_counts_per_split_and_composition_no_leaks(built):
    recs = read_manifest(built / "manifest.jsonl")
    got = defaultdict(Counter)
    for t in recs:
        got[t.composition][t.split] += 1
        assert t.schema_version == 2
    assert {c: dict(v) for c, v in got.items()} == EXPECTED
    info = json.loads((built / "build_info.json").read_text())
    assert info["composition_counts"] == EXPECTED and info["schema_version"] == 2
    image_split, clip_split, targets = {}, {}, Counter()
    for t in recs:
        assert image_split.setdefault((t.image.source, t.image.source_id), t.split) == t.split
        for c in t.components:
            key = (c.audio.youtube_id, c.audio.start_seconds)
            assert clip_split.setdefault(key, t.split) == t.split
        for m in t.instances:
            targets[(m.source, m.source_id)] += 1
    assert max(targets.values()) == 1  # a mask is the target of one triplet only
    n = {"single": 1, "offscreen": 1, "partial": 2}
    for t in recs:
        assert len(t.components) == n.get(t.composition, len(t.instances))
        assert [c.visible for c in t.components].count(True) == len(t.instances)
        if t.composition == "multi":
            assert len(t.instances) in (2, 3)
            cats = sorted(c.category for c in t.components)
            assert t.category == "+".join(cats) and len(set(cats)) == len(cats)


def _raw_absence(w):
    """Independent reading of the world's files: verified-absent and annotated labels."""
    neg, present = defaultdict(set), defaultdict(set)
    for sub in ("train", "val"):
        doc = json.loads((w.lvis_root / f"lvis_v1_{sub}.json").read_text())
        names = {c["id"]: c["name"] for c in doc["categories"]}
        for im in doc["images"]:
            neg[("lvis", str(im["id"]))] |= {names[i] for i in im.get("neg_category_ids", [])}
        for a in doc["annotations"]:
            present[("lvis", str(a["image_id"]))].add(names[a["category_id"]])
    for p in w.openimages_root.glob("*-annotations-human-imagelabels.csv"):
        for r in csv.DictReader(p.open()):
            if r["Confidence"] == "0":
                neg[("openimages", r["ImageID"])].add(r["LabelName"])
    for p in w.openimages_root.glob("*-annotations-object-segmentation.csv"):
        for r in csv.DictReader(p.open()):
            present[("openimages", r["ImageID"])].add(r["LabelName"])
    return neg, present


def test_offscreen_and_partial_sounds_are_verified_absent(world, built):
    w, _ = world
    neg, present = _raw_absence(w)
    label = {c.name: (c.lvis_name, c.oi_mid) for c in w.categories}
    seen = Counter()
    for t in read_manifest(built / "manifest.jsonl"):
        key = (t.image.source, t.image.source_id)
        for c in t.components:
            lab = label[c.category][0 if t.image.source == "lvis" else 1]
            if c.visible:
                assert lab in present[key]
            else:
                seen[t.composition] += 1
                assert lab in neg[key] and lab not in present[key], (t.id, c.category)
        if t.composition == "offscreen":
            assert not t.instances and t.mask.area_fraction == 0.0
    assert seen["offscreen"] == 12 and seen["partial"] == 12


def test_union_masks_and_mixes(built):
    recs = read_manifest(built / "manifest.jsonl")
    frames = 2 * 16000
    for t in recs:
        tm = _img(built / t.mask.path)
        assert tm.shape == (t.image.height, t.image.width)
        want = np.zeros_like(tm)
        for m in t.instances:
            want |= _img(built / m.path)
        assert np.array_equal(tm, want), t.id
        if t.composition == "offscreen":
            assert not tm.any()
        y, sr = sf.read(built / t.audio.path, dtype="float64")
        assert sr == 16000 and y.shape == (frames,)
        if t.composition in ("single", "offscreen"):
            assert t.audio.path == t.components[0].audio.path
            continue
        assert t.audio.path == f"audio/mix/{t.id}.wav"
        assert np.max(np.abs(y)) <= 10 ** (-1 / 20) + 1e-4
        # independent reconstruction: BS.1770 loudness of each component, gain, sum, back to
        # the components' mean loudness, peak
        import pyloudnorm

        meter = pyloudnorm.Meter(16000)
        ref, levels = np.zeros(frames), []
        for c in t.components:
            assert GAIN_DB[0] <= c.gain_db <= GAIN_DB[1]
            x, _ = sf.read(built / c.audio.path, dtype="float64")
            lufs = meter.integrated_loudness(x)
            levels.append(lufs)
            ref += x * 10 ** ((-26.0 - lufs + c.gain_db) / 20)
        ref *= 10 ** ((np.mean(levels) - meter.integrated_loudness(ref)) / 20)
        ref *= min(1.0, 10 ** (-1 / 20) / np.max(np.abs(ref)))
        assert np.max(np.abs(ref - y)) < 2 / 32768, t.id


def test_plan_only_lists_every_component_clip_and_image(world, built, tmp_path):
    w, cmap = world
    r = build_composed(w, cmap, tmp_path / "p", plan_only=True)
    lines = (tmp_path / "p" / "needed_clips.csv").read_text().splitlines()
    listed = {tuple(x.split(",")[:2]) for x in lines}
    want = set()
    for t in read_manifest(built / "manifest.jsonl"):
        for c in t.components:
            want.add((c.audio.youtube_id, str(c.audio.start_seconds)))
    assert listed == want and len(lines) == len(want)
    assert r.manifest.read_text().count('"composition":"multi"') == 36
    oi = (tmp_path / "p" / "needed_images_openimages.txt").read_text().split()
    recs = read_manifest(r.manifest)
    assert set(oi) == {
        f"{t.image.subset}/{t.image.source_id}" for t in recs if t.image.source == "openimages"
    }


def test_byte_identical_across_input_order_and_workers(world, built, tmp_path):
    from compose_fixtures import shuffled_copy

    w, cmap = world
    roots = shuffled_copy(w, tmp_path / "shuf")
    out = tmp_path / "b"
    avsynth.build(cmap, out=out, vggsound=roots["vggsound"], lvis=roots["lvis"],
                  openimages=roots["openimages"], split_sizes=SIZES, clip_seconds=2.0,
                  compose=COMPOSE, workers=2, progress=False)  # fmt: skip
    assert (built / "manifest.jsonl").read_bytes() == (out / "manifest.jsonl").read_bytes()
    for p in built.rglob("*"):
        if p.is_file() and p.suffix in (".png", ".wav", ".jpg", ".txt", ".csv"):
            assert (out / p.relative_to(built)).read_bytes() == p.read_bytes(), p


def test_rerun_keeps_finished_media_and_redoes_missing(world, tmp_path):
    w, cmap = world
    out = tmp_path / "o"
    build_composed(w, cmap, out)
    mixes = sorted((out / "audio" / "mix").glob("*.wav"))
    unions = sorted((out / "masks" / "union").glob("*.png"))
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in mixes + unions}
    mixes[0].unlink()
    unions[0].write_bytes(b"partial")  # a wrong file under a final name is redone
    (out / "audio" / "mix" / "x.wav.123.tmp").write_bytes(b"junk")
    build_composed(w, cmap, out)
    assert not list(out.rglob("*.tmp"))
    for p, (mt, data) in before.items():
        assert p.read_bytes() == data
        if p not in (mixes[0], unions[0]):
            assert p.stat().st_mtime_ns == mt


def test_offscreen_without_verified_absence_is_refused(world, tmp_path):
    import shutil

    w, cmap = world
    oi = tmp_path / "oi"  # Open Images without its human-verified image labels
    shutil.copytree(w.openimages_root, oi, ignore=shutil.ignore_patterns("*imagelabels*"))
    with pytest.raises(PlanError, match=r"composition offscreen: only 0 usable candidates.*"
                       r"imagelabels"):  # fmt: skip
        avsynth.plan(cmap, vggsound=w.vggsound_root, openimages=oi, split_sizes=(8, 2, 2),
                     compose="single=0.5,offscreen=0.5")  # fmt: skip


def test_verify_checks_unions_and_mixes(built, tmp_path):
    import shutil

    from avsynth.inspection.verify import verify

    assert verify(built / "manifest.jsonl", progress=False) == []
    b = tmp_path / "b"
    shutil.copytree(built, b)
    recs = read_manifest(b / "manifest.jsonl")
    multi = next(t for t in recs if t.composition == "multi")
    off = next(t for t in recs if t.composition == "offscreen")
    part = next(t for t in recs if t.composition == "partial")
    m = _img(b / multi.mask.path)
    m[0, 0] = ~m[0, 0]
    Image.fromarray(np.where(m, 255, 0).astype(np.uint8), mode="L").save(b / multi.mask.path)
    o = _img(b / off.mask.path)
    o[:3, :3] = True
    Image.fromarray(np.where(o, 255, 0).astype(np.uint8), mode="L").save(b / off.mask.path)
    shutil.copyfile(b / part.components[0].audio.path, b / part.audio.path)
    problems = verify(b / "manifest.jsonl", progress=False)
    assert len(problems) == 3, problems
    assert any(multi.mask.path in p and "in 1 pixel(s)" in p for p in problems)
    assert any(off.mask.path in p and "OR of its 0 instance" in p for p in problems)
    assert any(part.audio.path in p and "mix differs" in p for p in problems)


def test_stats_break_counts_down_by_composition(built, tmp_path):
    from avsynth.inspection.stats import stats

    r = stats(built / "manifest.jsonl", tmp_path / "s", progress=False)
    assert r.compositions == EXPECTED
    rows = list(csv.reader((tmp_path / "s" / "compositions.csv").open()))
    assert rows[0] == ["composition", "train", "val", "test", "total"]
    assert rows[2] == ["multi", "24", "6", "6", "36"] and rows[-1] == ["total", "80", "20", "20",
                                                                       "120"]  # fmt: skip
    assert (tmp_path / "s" / "compositions.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "s" / "stats.json").read_text())["compositions"] == EXPECTED
    # every component clip counts as a use of that clip
    uses = Counter()
    for t in read_manifest(built / "manifest.jsonl"):
        for c in t.components:
            uses[(c.audio.youtube_id, c.audio.start_seconds)] += 1
    assert r.clips == len(uses) and r.clip_uses == dict(sorted(Counter(uses.values()).items()))


def test_export_ms3_layout_reads_back(built, tmp_path):
    from avsmodel.data import AvsbenchDataset
    from avsynth.inspection.export_avsbench import export_avsbench

    r = export_avsbench(built / "manifest.jsonl", tmp_path / "x", split="test", subset="ms3",
                        progress=False)  # fmt: skip
    assert r.root == tmp_path / "x" / "Multi-sources" and r.counts == {"test": 20}
    rows = list(csv.reader((r.root / "ms3_meta_data.csv").open()))
    assert rows[0] == ["video_id", "split"] and len(rows) == 21
    ds = AvsbenchDataset(r.root, "ms3", "test", image_size=64, audio_examples=5, full_masks=True)
    assert len(ds) == 20 * 5  # all five frames of every video
    by_id = {t.id: t for t in read_manifest(built / "manifest.jsonl", split="test")}
    for clip in ds.clips:
        t = by_id[clip.name]
        m = _img(ds.mask_path(clip, 3))
        assert m.shape == (224, 224) and ds.frame_path(clip, 3).is_file()
        src = Image.fromarray(_img(built / t.mask.path).astype(np.uint8) * 255)
        want = np.asarray(src.resize((224, 224), Image.Resampling.NEAREST)) > 127
        assert np.array_equal(m, want), t.id
        assert m.any() == (t.composition != "offscreen")
    with pytest.raises(Exception, match="unknown AVSBench subset 'ms4'"):
        export_avsbench(built / "manifest.jsonl", tmp_path / "y", subset="ms4", progress=False)


def test_plan_only_composed_manifest_verifies_and_unions_from_instances(world, built, tmp_path):
    from avsynth.errors import ManifestError
    from avsynth.inspection.export_avsbench import export_avsbench
    from avsynth.inspection.verify import verify
    from avsynth.manifest.media import ManifestMedia, lvis_labels

    w, cmap = world
    r = build_composed(w, cmap, tmp_path / "p", plan_only=True)
    assert verify(r.manifest, progress=False) == []
    plan = {t.id: t for t in read_manifest(r.manifest)}
    assert all(t.audio.path is None for t in plan.values() if t.composition == "multi")
    recs = read_manifest(built / "manifest.jsonl")
    media = ManifestMedia(r.manifest, None, lvis_labels(plan.values()))
    for t in [x for x in recs if x.composition in ("multi", "offscreen")][:8]:
        assert np.array_equal(media.mask(plan[t.id]), _img(built / t.mask.path)), t.id
    with pytest.raises(ManifestError, match="has no mix yet: a plan-only composed manifest"):
        export_avsbench(r.manifest, tmp_path / "x", subset="ms3", progress=False)


def test_imagelabels_reader_rules(tmp_path):
    from avsynth.errors import SourceError
    from avsynth.sources.absence import openimages_absent
    from avsynth.testing.sources import write_openimages_imagelabels

    write_openimages_imagelabels(tmp_path, "train", [
        ("aa", "verification", "/m/dog", 0), ("aa", "verification", "/m/cat", 0),
        ("aa", "crowdsource-verification", "/m/cat", 1),  # contradicted: not absent
        ("bb", "verification", "/m/dog", 1), ("bb", "verification", "/m/bus", 0),
    ])  # fmt: skip
    write_openimages_imagelabels(tmp_path, "validation", [("cc", "verification", "/m/dog", 0)])
    got = openimages_absent(tmp_path, ["/m/dog", "/m/cat"])
    assert got == {"openimages:aa": {"/m/dog"}, "openimages:cc": {"/m/dog"}}
    assert openimages_absent(tmp_path / "none", ["/m/dog"]) == {}
    bad = tmp_path / "oidv7-test-annotations-human-imagelabels.csv"
    bad.write_text("ImageID,Source,LabelName,Confidence\ndd,verification,/m/dog,0.5\n")
    with pytest.raises(SourceError, match=r"oidv7-test-annotations-human-imagelabels.csv: image "
                       r"dd label /m/dog: Confidence '0.5'"):  # fmt: skip
        openimages_absent(tmp_path, ["/m/dog"])


def test_undecodable_component_clip_is_skipped_with_its_triplets(world, built, tmp_path):
    import shutil

    from compose_fixtures import shuffled_copy

    w, cmap = world
    roots = shuffled_copy(w, tmp_path / "src")  # a copy we may break
    victim = next(t for t in read_manifest(built / "manifest.jsonl") if t.composition == "multi")
    clip = victim.components[1].audio
    src = next((roots["vggsound"]).rglob(f"{clip.youtube_id}_{clip.start_seconds:06d}.*"))
    src.write_bytes(b"RIFF\x00\x00garbage" * 10)
    out = tmp_path / "o"
    r = avsynth.build(cmap, out=out, vggsound=roots["vggsound"], lvis=roots["lvis"],
                      openimages=roots["openimages"], split_sizes=SIZES, clip_seconds=2.0,
                      compose=COMPOSE, on_error="skip", progress=False)  # fmt: skip
    bad = f"{clip.youtube_id}_{clip.start_seconds:06d}"
    assert list(r.media_skips) == [bad]
    kept = read_manifest(r.manifest)
    users = [t for t in read_manifest(built / "manifest.jsonl")
             if any(f"{c.audio.youtube_id}_{c.audio.start_seconds:06d}" == bad
                    for c in t.components)]  # fmt: skip
    assert victim.id in {t.id for t in users}
    assert {t.id for t in kept} == {t.id for t in read_manifest(built / "manifest.jsonl")} - {
        t.id for t in users
    }
    info = json.loads((out / "build_info.json").read_text())
    assert sum(info["written"].values()) == 120 - len(users)
    shutil.rmtree(tmp_path / "src")


def _cli(w, cmap, out):
    args = ["build", "--categories", str(cmap), "--vggsound", str(w.vggsound_root),
            "--lvis", str(w.lvis_root), "--openimages", str(w.openimages_root), "--out", str(out),
            "--split-sizes", ",".join(map(str, SIZES)), "--clip-seconds", "2", "--workers", "2",
            "--compose", COMPOSE, "--quiet"]  # fmt: skip
    return [sys.executable, "-c", "from avsynth.cli import main; main()", *args]


def test_resumed_composed_build_remakes_damaged_mixes_and_unions(world, built, tmp_path):
    """A mix or union mask changed after it was written, at the same size (so a size
    check would keep it), is made again on resume: their provenance lines hold digests of
    their inputs and bytes, like every other media file's."""
    import shutil

    w, cmap = world
    out = tmp_path / "o"
    shutil.copytree(built, out)
    recs = [r for r in read_manifest(out / "manifest.jsonl") if r.composition == "multi"]
    mix = out / recs[0].audio.path
    union = out / recs[0].mask.path
    assert "mix" in mix.parts and union.suffix == ".png"
    data = bytearray(mix.read_bytes())
    data[-200:] = bytes(200)  # silence the end: same size, same header
    mix.write_bytes(bytes(data))
    h, wd = _img(union).shape
    Image.fromarray(np.zeros((h, wd), np.uint8), mode="L").save(union)  # an empty union
    assert mix.read_bytes() != (built / mix.relative_to(out)).read_bytes()
    build_composed(w, cmap, out)
    assert mix.read_bytes() == (built / mix.relative_to(out)).read_bytes()
    assert union.read_bytes() == (built / union.relative_to(out)).read_bytes()
    assert (out / "manifest.jsonl").read_bytes() == (built / "manifest.jsonl").read_bytes()


def test_killed_composed_build_resumes_to_the_same_bytes(world, built, tmp_path):
    import os
    import signal
    import subprocess
    import time

    w, cmap = world
    out = tmp_path / "o"
    proc = subprocess.Popen(_cli(w, cmap, out), start_new_session=True)
    deadline = time.monotonic() + 240
    try:  # kill while the mixes (second pass) are being written
        while not (out / "audio" / "mix").is_dir() or not any((out / "audio" / "mix").iterdir()):
            assert proc.poll() is None, "build ended before any mix was written"
            assert time.monotonic() < deadline
            time.sleep(0.002)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "manifest.jsonl").exists()
    done = subprocess.run(_cli(w, cmap, out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (out / "manifest.jsonl").read_bytes() == (built / "manifest.jsonl").read_bytes()
    for p in built.rglob("*"):
        if p.is_file() and p.suffix in (".png", ".wav", ".jpg"):
            assert (out / p.relative_to(built)).read_bytes() == p.read_bytes(), p
    assert not list(out.rglob("*.tmp"))
