"""``avsynth export --format webdataset``: read back with ``webdataset.WebDataset`` and checked
pixel-, sample- and id-exact against the files the manifest points to."""

from __future__ import annotations

import io
import json
import random
import tarfile

import numpy as np
import pytest
from export_fixtures import manifest_lines, pixels, samples, split_ids, tree_digests, with_ids
from inspect_fixtures import make_build

from avsynth.exporters import export
from avsynth.manifest import ManifestWriter, read_manifest

wds = pytest.importorskip("webdataset")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("wds")
    m = make_build(root / "build", seconds=3.0)
    export(m, root / "out", format="webdataset", shard_size=4, progress=False)
    return m, root / "out"


def read_split(out, split):
    """The samples of a split, in shard order, as the webdataset library yields them."""
    index = json.loads((out / "index.json").read_text())
    urls = [str(out / s["url"]) for s in index["splits"][split]["shards"]]
    return list(wds.WebDataset(urls, shardshuffle=False, empty_check=False))


def check_sample(s, line, base):
    """One sample against its manifest line and the build's files; returns the mask pixels."""
    assert json.loads(s["json"]) == line  # the record, true id included
    image = s.get("jpg", s.get("png"))
    assert image == (base / line["image"]["path"]).read_bytes()  # the built bytes as stored
    assert np.array_equal(pixels(image), pixels(base / line["image"]["path"]))
    mask = pixels(s["mask.png"])
    assert np.array_equal(mask, pixels(base / line["mask"]["path"]))
    got, sr = samples(s["wav"])
    ref, ref_sr = samples(base / line["audio"]["path"])
    assert sr == ref_sr == 16000 and np.array_equal(got, ref)
    return mask


def test_webdataset_reads_the_manifest_exactly(built):
    manifest, out = built
    lines = manifest_lines(manifest)
    for split, ids in split_ids(manifest).items():
        got = read_split(out, split)
        assert [s["__key__"] for s in got] == ids  # plain ids are their own keys
        for s in got:
            assert set(s) >= {"__key__", "jpg", "mask.png", "wav", "json"}
            check_sample(s, lines[s["__key__"]], manifest.parent)


def test_index_lists_every_shard_and_its_count(built):
    _, out = built
    index = json.loads((out / "index.json").read_text())
    assert index["format"] == "webdataset" and index["shard_size"] == 4
    listed = []
    for split, want in {"train": 6, "val": 3, "test": 3}.items():
        entry = index["splits"][split]
        assert entry["num_samples"] == want
        for shard in entry["shards"]:
            listed.append(shard["url"])
            n = len(list(wds.WebDataset(str(out / shard["url"]), shardshuffle=False)))
            assert n == shard["nsamples"] and shard["bytes"] == (out / shard["url"]).stat().st_size
        assert sum(s["nsamples"] for s in entry["shards"]) == want
    on_disk = sorted(p.name for p in out.glob("*.tar"))
    assert (
        sorted(listed)
        == on_disk
        == [
            "test-000000.tar",
            "train-000000.tar",
            "train-000001.tar",
            "val-000000.tar",
        ]
    )


def test_tars_are_reproducible_and_order_free(built, tmp_path):
    manifest, out = built
    for name in ("train-000000.tar", "val-000000.tar"):
        with tarfile.open(out / name) as tf:
            members = tf.getmembers()
        assert [m.name for m in members] == sorted(m.name for m in members)
        assert {(m.mtime, m.uid, m.gid, m.mode) for m in members} == {(0, 0, 0, 0o444)}
    export(manifest, tmp_path / "again", format="webdataset", shard_size=4, progress=False)
    assert tree_digests(tmp_path / "again") == tree_digests(out)
    shuffled = read_manifest(manifest)
    random.Random(2).shuffle(shuffled)
    other = manifest.parent / "shuffled.jsonl"
    with ManifestWriter(other) as w:
        w.write_all(shuffled)
    export(other, tmp_path / "shuffled", format="webdataset", shard_size=4, progress=False)
    a, b = tree_digests(out), tree_digests(tmp_path / "shuffled")
    tars = [k for k in a if k.endswith(".tar")]
    assert len(tars) == 4 and all(a[k] == b[k] for k in tars)


def test_ids_with_dots_get_dot_free_keys(built, tmp_path):
    manifest, _ = built
    dotted = with_ids(manifest, manifest.parent / "dotted.jsonl", lambda i: i.replace("-", ".v"))
    export(dotted, tmp_path / "d", format="webdataset", progress=False)
    lines = manifest_lines(dotted)
    seen = []
    for split in ("train", "val", "test"):
        for s in read_split(tmp_path / "d", split):
            assert "." not in s["__key__"]
            record = json.loads(s["json"])
            assert "." in record["id"] and s["__key__"].startswith(record["id"].replace(".", "_"))
            check_sample(s, lines[record["id"]], dotted.parent)
            seen.append(record["id"])
    assert sorted(seen) == sorted(lines)


@pytest.mark.slow
def test_composed_manifest_round_trips(tmp_path):
    from compose_fixtures import EXPECTED, build_composed, compose_world

    w, cmap = compose_world(tmp_path / "w")
    build_composed(w, cmap, tmp_path / "b")
    manifest = tmp_path / "b" / "manifest.jsonl"
    export(manifest, tmp_path / "wds", format="webdataset", shard_size=50, progress=False)
    lines = manifest_lines(manifest)
    for split, ids in split_ids(manifest).items():
        got = read_split(tmp_path / "wds", split)
        assert [s["__key__"] for s in got] == ids
        comps: dict[str, int] = {}
        for s in got:
            line = lines[s["__key__"]]
            mask = check_sample(s, line, manifest.parent)
            comps[line["composition"]] = comps.get(line["composition"], 0) + 1
            if line["composition"] == "offscreen":
                assert not mask.any()
        assert comps == {c: n[split] for c, n in EXPECTED.items()}


@pytest.mark.slow
def test_plan_only_manifest_exports_what_the_materialised_build_holds(tmp_path):
    """A plan-only manifest reads the sources (LVIS polygons drawn, source clips decoded):
    its samples equal those of the materialised build of the same plan."""
    from compose_fixtures import compose_world

    import avsynth

    w, cmap = compose_world(tmp_path / "w")
    args = dict(vggsound=w.vggsound_root, lvis=w.lvis_root, openimages=w.openimages_root,
                split_sizes=(12, 4, 4), clip_seconds=2.0, progress=False)  # fmt: skip
    avsynth.build(cmap, out=tmp_path / "plan", plan_only=True, **args)
    avsynth.build(cmap, out=tmp_path / "full", **args)
    for name in ("plan", "full"):
        m = tmp_path / name / "manifest.jsonl"
        export(m, tmp_path / f"{name}-wds", format="webdataset", progress=False)
    assert {t.mask.root for t in read_manifest(tmp_path / "plan" / "manifest.jsonl")} == {
        "lvis",
        "openimages",
    }
    for split in ("train", "val", "test"):
        plan = read_split(tmp_path / "plan-wds", split)
        full = read_split(tmp_path / "full-wds", split)
        assert [s["__key__"] for s in plan] == [s["__key__"] for s in full] != []
        for a, b in zip(plan, full, strict=True):
            ia, ib = a.get("jpg", a.get("png")), b.get("jpg", b.get("png"))
            assert np.array_equal(pixels(ia), pixels(ib))
            assert np.array_equal(pixels(a["mask.png"]) > 0, pixels(b["mask.png"]) > 0)
            assert np.array_equal(samples(a["wav"])[0], samples(b["wav"])[0])


def test_masks_not_0_255_are_written_as_0_255_png(built, tmp_path):
    import shutil

    from PIL import Image

    manifest, _ = built
    build = tmp_path / "build"
    shutil.copytree(manifest.parent, build)
    one_bit = build / "masks" / "bus-02.png"  # a val mask, saved again as a 1-bit PNG
    with Image.open(one_bit) as im:
        im.convert("1").save(one_bit)
    export(build / "manifest.jsonl", tmp_path / "o", format="webdataset", progress=False)
    (s,) = [s for s in read_split(tmp_path / "o", "val") if s["__key__"] == "bus-02"]
    with Image.open(one_bit) as im:
        assert im.mode == "1"
        want = (np.asarray(im.convert("L")) >= 128).astype(np.uint8) * 255
    with Image.open(io.BytesIO(s["mask.png"])) as got:
        assert got.mode == "L" and np.array_equal(np.asarray(got), want) and want.any()


def test_images_neither_jpeg_nor_png_become_png(built, tmp_path):
    import shutil

    from PIL import Image

    manifest, _ = built
    build = tmp_path / "build"
    shutil.copytree(manifest.parent, build)
    bmp = build / "images" / "dog-02.jpg"  # a val image, stored again as BMP under its name
    with Image.open(bmp) as im:
        im.save(bmp, format="BMP")
    export(build / "manifest.jsonl", tmp_path / "o", format="webdataset", progress=False)
    (s,) = [s for s in read_split(tmp_path / "o", "val") if s["__key__"] == "dog-02"]
    assert "jpg" not in s and s["png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(pixels(s["png"]), pixels(bmp))
