"""verify / stats / export-avsbench on real builds of the demo world (materialised and plan-only).

``avsynth.build`` runs on ``make_world`` sources in their real layouts (LVIS JSON + COCO images,
Open Images CSV + mask zips, VGGSound CSV + clips); the plan-only manifest points into them and
its masks are decoded from LVIS polygons and Open Images mask PNGs.
"""

from __future__ import annotations

import shutil
import sys

import pytest

import avsynth
from avsynth.cli import main as cli_main
from avsynth.inspection import export_avsbench, stats, verify
from avsynth.manifest import read_manifest
from avsynth.testing.world import make_world

SPLITS = (30, 8, 8)


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    w = make_world(
        root / "world",
        n_lvis_images=24,
        n_openimages_images=24,
        clips_per_label=8,
        image_size=96,
        clip_seconds=6.0,
    )
    cmap = w.write_category_map(root / "map.yaml")
    kw = dict(
        vggsound=w.vggsound_root,
        lvis=w.lvis_root,
        openimages=w.openimages_root,
        split_sizes=SPLITS,
        clip_seconds=6.0,
        progress=False,
    )
    mat = avsynth.build(cmap, out=root / "mat", **kw)
    plan = avsynth.build(cmap, out=root / "plan", plan_only=True, **kw)
    return w, mat.manifest, plan.manifest


def test_verify_clean_builds(builds):
    _, mat, plan = builds
    assert verify(mat, progress=False) == []
    assert verify(plan, progress=False) == []  # roots from build_info.json
    kinds = {t.mask.root for t in read_manifest(plan)}
    assert kinds == {"lvis", "openimages"}  # both decoders were exercised


def test_plan_only_export_equals_materialised(builds, tmp_path):
    """Masks decoded from the sources and audio decoded from the clips give the same files
    as the materialised build's PNGs and WAVs."""
    _, mat, plan = builds
    a = export_avsbench(mat, tmp_path / "a", progress=False)
    b = export_avsbench(plan, tmp_path / "b", progress=False)
    assert a.counts == b.counts == dict(zip(("train", "val", "test"), SPLITS, strict=True))
    fa = sorted(p.relative_to(a.root) for p in a.root.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b.root) for p in b.root.rglob("*") if p.is_file())
    assert fa == fb and len(fa) == 1 + sum(SPLITS) * 12
    for rel in fa:
        assert (a.root / rel).read_bytes() == (b.root / rel).read_bytes(), rel


def test_stats_match_the_build(builds, tmp_path):
    _, mat, plan = builds
    r = stats(mat, tmp_path / "s", progress=False)
    assert r.split_totals == dict(zip(("train", "val", "test"), SPLITS, strict=True))
    assert set(r.counts) == {"bus", "cat", "dog", "guitar", "horse", "piano"}
    triplets = read_manifest(mat)
    assert sum(v["lvis"] for v in r.sources.values()) == sum(
        t.mask.source == "lvis" for t in triplets
    )
    assert r.clips == len({(t.audio.youtube_id, t.audio.start_seconds) for t in triplets})
    p = stats(plan, tmp_path / "p", progress=False)
    assert (p.counts, p.sources, p.clip_uses) == (r.counts, r.sources, r.clip_uses)


def test_verify_plan_only_against_changed_sources(builds, tmp_path, monkeypatch, capsys):
    w, _, plan = builds
    lvis = tmp_path / "lvis"
    shutil.copytree(w.lvis_root, lvis)
    ann = lvis / "lvis_v1_train.json"
    ann.write_bytes(ann.read_bytes() + b" ")
    problems = verify(plan, roots={"lvis": lvis}, progress=False)
    assert len(problems) == 1 and problems[0].startswith(f"{ann}: source metadata changed")

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(
        sys, "argv", ["avsynth", "verify", str(plan), "--openimages", str(empty), "--quiet"]
    )
    with pytest.raises(SystemExit) as e:
        cli_main()
    out = capsys.readouterr().out.strip().splitlines()
    assert e.value.code == 1
    oi = [t for t in read_manifest(plan) if t.image.root == "openimages"]
    # Every Open Images image is named once (missing), plus the metadata files the build read.
    missing = [x for x in out if "image file missing" in x]
    assert len(missing) == len({t.image.path for t in oi})
    assert not any("mask" in x for x in out[:-1])  # no second line for a missing image's mask
    assert sum("source metadata file the build read is missing" in x for x in out) == 3
    assert out[-1].endswith("problem(s)")
