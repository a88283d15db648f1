"""``category_maps/xl.yaml``: the larger curated map. It checks clean, keeps the 46 categories
of 46.yaml as they are, gives no label or visual class to two categories (read straight from
the YAML), has a reason per category in docs/categories.md, and builds on a generated world
when named ``xl``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

import avsynth
from avsynth.catmap import check_map, load_map, resolve_map_path
from avsynth.manifest import read_manifest
from avsynth.testing.world import WorldCategory, make_world

REPO = Path(__file__).resolve().parents[1]
XL = REPO / "category_maps" / "xl.yaml"


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(XL.read_text("utf-8"))


def test_shipped_copy_is_byte_identical_and_resolves_by_name():
    shipped = resolve_map_path("xl")
    assert shipped != Path("xl") and shipped.parent.name == "category_maps"
    assert shipped.read_bytes() == XL.read_bytes()
    assert load_map("xl").name == "avs-synthetic-xl"


def test_check_map_reports_no_problem():
    assert check_map(XL) == []
    assert check_map("xl") == []


def test_at_least_90_categories_keeping_the_46_as_they_are(raw):
    cats = raw["categories"]
    assert len(cats) >= 90
    base = yaml.safe_load((REPO / "category_maps" / "46.yaml").read_text("utf-8"))["categories"]
    assert cats[: len(base)] == base  # the 46 first, unchanged, in their order
    assert len(cats) - len(base) >= 44


def test_no_label_lvis_name_or_mid_in_two_categories(raw):
    seen = {"vggsound": Counter(), "lvis": Counter(), "openimages": Counter(), "name": Counter()}
    for c in raw["categories"]:
        seen["name"][c["name"]] += 1
        seen["vggsound"].update(c["vggsound"])
        seen["lvis"].update(r["name"] for r in c.get("lvis", []))
        seen["openimages"].update(r["mid"] for r in c.get("openimages", []))
    for kind, counts in seen.items():
        assert [k for k, n in counts.items() if n > 1] == [], kind
    assert all(c.get("lvis") or c.get("openimages") for c in raw["categories"])


def test_every_category_has_a_reason_in_the_generated_doc(raw):
    doc = (REPO / "docs" / "categories.md").read_text("utf-8")
    section = doc.split("## Why each xl category", 1)[1]
    for c in raw["categories"]:
        line = next(
            (ln for ln in section.splitlines() if ln.startswith(f"- **{c['name']}**: ")), ""
        )
        assert len(line) > len(f"- **{c['name']}**: ") + 20, c["name"]


XL_WORLD = (
    WorldCategory("banjo", "banjo", "/m/018j2", "Banjo", "playing banjo", "banjo.n.01"),
    WorldCategory(
        "snowmobile",
        "snowmobile",
        "/m/01x3jk",
        "Snowmobile",
        "driving snowmobile",
        "snowmobile.n.01",
    ),  # fmt: skip
    WorldCategory("parrot", "parrot", "/m/0gv1x", "Parrot", "parrot talking", "parrot.n.01"),
    WorldCategory("hammer", "hammer", "/m/03l9g", "Hammer", "hammering nails", "hammer.n.02"),
)


def test_build_with_categories_xl_on_a_generated_world(tmp_path):
    w = make_world(tmp_path / "world", categories=XL_WORLD, n_lvis_images=40,
                   n_openimages_images=40, clips_per_label=15, image_size=64,
                   clip_seconds=1.0)  # fmt: skip
    report = avsynth.build(
        "xl", out=tmp_path / "out", vggsound=w.vggsound_root, lvis=w.lvis_root,
        openimages=w.openimages_root, split_sizes=(40, 8, 8), clip_seconds=1.0, progress=False,
    )  # fmt: skip
    ts = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert Counter(t.split for t in ts) == {"train": 40, "val": 8, "test": 8}
    assert {t.category for t in ts} == {c.name for c in XL_WORLD}
    labels = {c.name: c.vggsound_label for c in XL_WORLD}
    assert all(t.audio.label == labels[t.category] for t in ts)
    assert all(
        t.audio.root == "manifest" and (tmp_path / "out" / t.audio.path).is_file() for t in ts
    )
    # the world holds 4 of xl's categories: the others are left out for want of instances
    assert len(report.plan.left_out) == len(load_map("xl").categories) - 4
