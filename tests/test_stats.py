"""``avsynth stats``: count tables and plots of a manifest built from real-format files."""

from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest
from inspect_fixtures import make_build, run_cli
from PIL import Image

from avsynth.errors import ManifestError
from avsynth.inspection import stats
from avsynth.manifest import ManifestWriter, read_manifest

PLOTS = ("counts.png", "mask_area.png", "source_mix.png", "clip_reuse.png")


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return make_build(tmp_path_factory.mktemp("build"))


def test_tables_and_plots(build, tmp_path):
    r = stats(build, tmp_path / "s", progress=False)
    assert r.triplets == 12
    assert r.counts == {c: {"train": 2, "val": 1, "test": 1} for c in ("bus", "dog", "guitar")}
    assert r.sources == {c: {"lvis": 2, "openimages": 2} for c in ("bus", "dog", "guitar")}
    # Per category the two train triplets share a clip; val and test have their own.
    assert r.clips == 9 and r.clip_uses == {1: 6, 2: 3}
    areas = sorted(t.mask.area_fraction for t in read_manifest(build))
    assert r.area_quantiles[0] == areas[0] and r.area_quantiles[-1] == areas[-1]

    rows = list(csv.reader((tmp_path / "s" / "counts.csv").open()))
    assert rows[0] == ["category", "train", "val", "test", "total"]
    assert rows[1:] == [
        ["bus", "2", "1", "1", "4"],
        ["dog", "2", "1", "1", "4"],
        ["guitar", "2", "1", "1", "4"],
        ["total", "6", "3", "3", "12"],
    ]
    md = (tmp_path / "s" / "counts.md").read_text().splitlines()
    assert md[0] == "| category | train | val | test | total |"
    assert "| dog | 2 | 1 | 1 | 4 |" in md and md[-1].startswith("| **total** | **6**")
    src = list(csv.DictReader((tmp_path / "s" / "sources.csv").open()))
    assert [(x["category"], x["lvis"], x["openimages"]) for x in src] == [
        ("bus", "2", "2"),
        ("dog", "2", "2"),
        ("guitar", "2", "2"),
    ]
    info = json.loads((tmp_path / "s" / "stats.json").read_text())
    assert info["split_totals"] == {"train": 6, "val": 3, "test": 3}
    for name in PLOTS:
        with Image.open(tmp_path / "s" / name) as im:
            assert im.format == "PNG" and im.width >= 400
            px = np.asarray(im.convert("RGB"), dtype=np.float32)
        assert px.std() > 10  # something is drawn
    assert set(r.files) == {*PLOTS, "counts.csv", "counts.md", "sources.csv", "stats.json"}
    assert "12 triplets, 3 categories; train 6, val 3, test 3" in r.summary()


def test_same_bytes_whatever_the_manifest_order(build, tmp_path):
    """Stats are a function of the set of triplets: shuffled input, identical files."""
    stats(build, tmp_path / "a", progress=False)
    shuffled = read_manifest(build)
    random.Random(3).shuffle(shuffled)
    # Same media folder: the shuffled manifest goes next to the original's files.
    other = build.parent / "shuffled.jsonl"
    with ManifestWriter(other) as w:
        w.write_all(shuffled)
    stats(other, tmp_path / "b", progress=False)
    for name in (*PLOTS, "counts.csv", "counts.md", "sources.csv", "stats.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_cli(build, tmp_path, monkeypatch, capsys):
    code, out, _ = run_cli(monkeypatch, capsys, "stats", build, "--out", tmp_path / "o", "--quiet")
    assert code == 0
    assert "12 triplets, 3 categories" in out and "9 distinct clips" in out
    assert (tmp_path / "o" / "counts.png").is_file()


def test_bad_manifests(tmp_path, monkeypatch, capsys):
    with pytest.raises(ManifestError, match="manifest not found"):
        stats(tmp_path / "nope.jsonl", tmp_path / "o", progress=False)
    code, _, err = run_cli(monkeypatch, capsys, "stats", tmp_path / "nope.jsonl", "--out", tmp_path)
    assert code == 1 and err.startswith("error: ") and "manifest not found" in err
    assert len(err.strip().splitlines()) == 1

    m = make_build(tmp_path / "b")
    lines = m.read_text().splitlines()
    lines[4] = lines[4].replace('"schema_version":1', '"schema_version":7')
    m.write_text("\n".join(lines) + "\n")
    code, _, err = run_cli(monkeypatch, capsys, "stats", m, "--out", tmp_path / "o2", "--quiet")
    assert code == 1 and "manifest.jsonl:5: unknown schema_version 7" in err
