"""Category map: the shipped 46-category map, the loader's structural checks, the validator's
vocabulary checks and the readers of users' vocabulary files (real formats, tiny copies)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avsynth.catmap import (
    CategoryMap,
    Vocabulary,
    check_map,
    load_map,
    parse_map,
    read_lvis_categories,
    read_openimages_classes,
    read_vggsound_labels,
    s4_labels,
    s4_to_vggsound,
    shipped_map_path,
    summarize,
)
from avsynth.errors import MapError, SourceError

REPO = Path(__file__).resolve().parents[1]
MAP46 = REPO / "category_maps" / "46.yaml"
PAPER = ["ambulance", "cat", "dog", "bus", "horse", "lion", "bird", "guitar", "piano"]
PAPER += ["computer_keyboard"]

GOOD = """\
schema_version: 1
name: tiny
categories:
  - name: dog
    lvis: [{name: dog, synset: dog.n.01}]
    openimages: [{mid: /m/0bt9lr, name: Dog}]
    vggsound: [dog barking, dog howling]
  - name: cat
    lvis: [{name: cat, synset: cat.n.01}]
    vggsound: [cat meowing]
"""


def write(tmp_path: Path, text: str, name: str = "map.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ the shipped map


def test_shipped_map_loads_and_validates():
    cmap = load_map(MAP46)
    assert isinstance(cmap, CategoryMap)
    assert cmap.schema_version == 1 and cmap.name == "avs-synthetic-46"
    assert len(cmap.categories) == 46
    assert len(set(cmap.names)) == 46
    assert len(cmap.sha256) == 64
    assert check_map(MAP46) == []


def test_shipped_map_has_paper_categories_and_s4_coverage():
    cmap = load_map(MAP46)
    assert set(PAPER) <= set(cmap.names)
    summary = summarize(cmap)
    assert len(summary.s4_covered) >= 15
    assert len(s4_labels()) == 23
    # every S4 label maps to a real VGGSound label
    assert all(s4_to_vggsound(s) for s in s4_labels())


def test_shipped_map_no_label_reuse_and_visual_sources():
    cmap = load_map(MAP46)
    labels = [label for c in cmap.categories for label in c.vggsound]
    assert len(labels) == len(set(labels)) == len(cmap.vggsound_to_category())
    lvis = [r.name for c in cmap.categories for r in c.lvis]
    mids = [r.mid for c in cmap.categories for r in c.openimages]
    assert len(lvis) == len(set(lvis)) and len(mids) == len(set(mids))
    for c in cmap.categories:
        assert c.vggsound and (c.lvis or c.openimages), c.name
    assert "person" not in cmap.lvis_to_category()


def test_shipped_map_contract_entries():
    """The six entries other areas (demo world) rely on, exactly."""
    cmap = load_map(MAP46)
    want = {
        "dog": ("dog", "dog.n.01", "/m/0bt9lr", "Dog", "dog barking"),
        "cat": ("cat", "cat.n.01", "/m/01yrx", "Cat", "cat meowing"),
        "horse": ("horse", "horse.n.01", "/m/03k3r", "Horse", "horse clip-clop"),
        "guitar": ("guitar", "guitar.n.01", "/m/0342h", "Guitar", "playing acoustic guitar"),
        "piano": ("piano", "piano.n.01", "/m/05r5c", "Piano", "playing piano"),
        "bus": ("bus_(vehicle)", "bus.n.01", "/m/01bjv", "Bus", "driving buses"),
    }
    for name, (lvis, synset, mid, oi_name, label) in want.items():
        c = cmap[name]
        assert (c.lvis[0].name, c.lvis[0].synset) == (lvis, synset)
        assert (c.openimages[0].mid, c.openimages[0].name) == (mid, oi_name)
        assert label in c.vggsound


def test_shipped_map_lvis_total_exceeds_target():
    cmap = load_map(MAP46)
    lvis = Vocabulary.shipped().lvis
    total = sum(lvis[r.name].instance_count for c in cmap.categories for r in c.lvis)
    assert total > 1.5 * 62_609  # before any Open Images masks


def test_packaged_copy_is_identical():
    assert shipped_map_path().read_bytes() == MAP46.read_bytes()


def test_shipped_vocabularies():
    v = Vocabulary.shipped()
    assert (len(v.lvis), len(v.openimages), len(v.vggsound)) == (1203, 601, 309)
    assert sum(c.instance_count for c in v.lvis.values()) == 1_270_141
    assert sum(v.vggsound.values()) == 199_176
    assert v.lvis["car_(automobile)"].synset == "car.n.01"
    assert v.openimages["/m/0cmf2"] == "Fixed-wing aircraft"
    assert v.lvis_synonym_owner("trumpet").name == "cornet"
    assert v.lvis_synonym_owner("pig").name == "hog"


# ------------------------------------------------------------------ structural problems


def test_good_tiny_map(tmp_path):
    path = write(tmp_path, GOOD)
    cmap = load_map(path)
    assert cmap.names == ("dog", "cat")
    assert cmap["dog"].vggsound == ("dog barking", "dog howling")
    assert cmap.vggsound_to_category()["cat meowing"] == "cat"
    assert check_map(path) == []
    assert check_map(cmap) == []


def test_invalid_yaml_reports_line(tmp_path):
    path = write(tmp_path, GOOD.replace("vggsound: [cat meowing]", "vggsound: [cat meowing"))
    problems = check_map(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:")
    assert "invalid YAML" in problems[0]
    line = int(problems[0].split(":")[1])
    assert line >= 10
    with pytest.raises(MapError, match="invalid YAML"):
        load_map(path)


def test_unknown_schema_version(tmp_path):
    path = write(tmp_path, GOOD.replace("schema_version: 1", "schema_version: 2"))
    with pytest.raises(MapError, match=r":1: unknown schema_version 2; this avsynth reads"):
        load_map(path)
    assert len(check_map(path)) == 1


def test_missing_field(tmp_path):
    path = write(tmp_path, GOOD.replace("    vggsound: [cat meowing]\n", ""))
    problems = check_map(path)
    assert problems == [f"{path}:8: category 'cat': missing 'vggsound'"]
    with pytest.raises(MapError, match="category 'cat': missing 'vggsound'"):
        load_map(path)


def test_missing_top_level_key(tmp_path):
    path = write(tmp_path, GOOD.replace("name: tiny\n", ""))
    assert "map: missing 'name'" in check_map(path)[0]


def test_unknown_key_suggests(tmp_path):
    path = write(tmp_path, GOOD.replace("    lvis: [{name: cat", "    lvsi: [{name: cat"))
    problems = check_map(path)
    assert any("unknown key 'lvsi'" in p and "did you mean 'lvis'?" in p for p in problems)


def test_label_in_two_categories(tmp_path):
    path = write(tmp_path, GOOD.replace("[cat meowing]", "[cat meowing, dog barking]"))
    problems = check_map(path)
    assert problems == [
        f"{path}:10: category 'cat': VGGSound label 'dog barking' is also in category 'dog'; "
        "each may serve only one category"
    ]


def test_lvis_name_and_mid_in_two_categories(tmp_path):
    text = GOOD.replace(
        "    lvis: [{name: cat, synset: cat.n.01}]",
        "    lvis: [{name: dog, synset: dog.n.01}]\n    openimages: [{mid: /m/0bt9lr, name: Dog}]",
    )
    problems = check_map(write(tmp_path, text))
    assert any("LVIS category 'dog' is also in category 'dog'" in p for p in problems)
    assert any("Open Images MID '/m/0bt9lr' is also in category 'dog'" in p for p in problems)


def test_duplicate_category_name_and_empty_list(tmp_path):
    text = GOOD.replace("name: cat\n", "name: dog\n").replace("[cat meowing]", "[]")
    problems = check_map(write(tmp_path, text))
    assert any("duplicate category name 'dog'" in p for p in problems)
    assert any("'vggsound' is an empty list" in p for p in problems)


def test_no_visual_source_and_bad_types(tmp_path):
    text = GOOD.replace("    lvis: [{name: cat, synset: cat.n.01}]\n", "").replace(
        "[cat meowing]", "[cat meowing, yes]"
    )
    problems = check_map(write(tmp_path, text))
    assert any("needs at least one visual source" in p for p in problems)
    assert any("must be a non-empty string, got 'yes' (quote it)" in p for p in problems)


def test_duplicate_yaml_key(tmp_path):
    text = GOOD.replace("    vggsound: [cat meowing]", "    vggsound: [cat meowing]\n    name: x")
    assert any("duplicate key 'name'" in p for p in check_map(write(tmp_path, text)))


def test_parse_map_from_text():
    parsed = parse_map(GOOD, "inline")
    assert parsed.problems == [] and parsed.map.names == ("dog", "cat")


# ------------------------------------------------------------------ vocabulary problems


def test_unknown_label_suggests_closest(tmp_path):
    path = write(tmp_path, GOOD.replace("dog barking", "dog barkng"))
    assert check_map(path) == [
        f"{path}:7: category 'dog': 'dog barkng' is not a VGGSound label; "
        "did you mean 'dog barking'?"
    ]
    load_map(path)  # structure is fine; only the vocabulary check fails


def test_comma_label_split_by_yaml(tmp_path):
    path = write(tmp_path, GOOD.replace("[cat meowing]", "[male speech, man speaking]"))
    problems = check_map(path)
    assert len(problems) == 2
    assert "did you mean 'male speech, man speaking'? (quote labels" in problems[0]


def test_lvis_synonym_synset_and_oi_name(tmp_path):
    text = (
        GOOD.replace("{name: cat, synset: cat.n.01}", "{name: trumpet, synset: cornet.n.01}")
        .replace("dog.n.01", "dog.n.02")
        .replace("name: Dog}", "name: Doggo}")
    )
    problems = check_map(write(tmp_path, text))
    assert any("LVIS 'dog' has synset 'dog.n.01', not 'dog.n.02'" in p for p in problems)
    assert any("/m/0bt9lr is named 'Dog'" in p and "not 'Doggo'" in p for p in problems)
    assert any(
        "'trumpet' is not an LVIS category name but a synonym of 'cornet'" in p for p in problems
    )


def test_unknown_mid_suggests_by_display_name(tmp_path):
    path = write(tmp_path, GOOD.replace("/m/0bt9lr", "/m/0bt9lx"))
    (problem,) = check_map(path)
    assert "'/m/0bt9lx' is not an Open Images class MID; 'Dog' is '/m/0bt9lr'" in problem


def test_misspelt_label_in_copy_of_shipped_map(tmp_path):
    path = write(tmp_path, MAP46.read_text("utf-8").replace("playing piano", "playing pianno"))
    problems = check_map(path)
    assert len(problems) == 1
    assert "'playing pianno' is not a VGGSound label; did you mean 'playing piano'?" in problems[0]


# ------------------------------------------------------------------ users' vocabulary files


def _write_lvis(path: Path, categories_last: bool) -> None:
    cats = [
        {
            "id": 1,
            "name": "dog",
            "synset": "dog.n.01",
            "synonyms": ["dog"],
            "frequency": "f",
            "image_count": 3,
            "instance_count": 4,
            "def": "a dog",
        },
        {
            "id": 2,
            "name": "cat",
            "synset": "cat.n.01",
            "synonyms": ["cat"],
            "frequency": "f",
            "image_count": 1,
            "instance_count": 1,
            "def": "a cat",
        },
    ]
    ann = [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "segmentation": [[1, 1, 5, 1, 5, 5]],
            "area": 8.0,
            "bbox": [1, 1, 4, 4],
        }
    ]
    images = [
        {
            "id": 1,
            "height": 8,
            "width": 8,
            "neg_category_ids": [],
            "coco_url": "http://images.cocodataset.org/train2017/000000000001.jpg",
            "not_exhaustive_category_ids": [],
        }
    ]
    doc = {"info": {}, "annotations": ann, "images": images, "licenses": []}
    doc = {**doc, "categories": cats} if categories_last else {"categories": cats, **doc}
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")


@pytest.mark.parametrize("categories_last", [True, False])
def test_read_lvis_json_only_categories(tmp_path, categories_last):
    path = tmp_path / "lvis_v1_train.json"
    _write_lvis(path, categories_last)
    cats = read_lvis_categories(path)
    assert sorted(cats) == ["cat", "dog"]
    assert cats["dog"].synset == "dog.n.01" and cats["dog"].instance_count == 4


def test_read_lvis_bad_file(tmp_path):
    bad = write(tmp_path, '{"categories": [{"name": 1}]}', "bad.json")
    with pytest.raises(SourceError, match="bad.json: not an LVIS json"):
        read_lvis_categories(bad)
    with pytest.raises(SourceError, match="file not found"):
        read_lvis_categories(tmp_path / "missing.json")


def test_check_map_with_user_files(tmp_path):
    lvis = tmp_path / "lvis_v1_val.json"
    _write_lvis(lvis, True)
    oi = write(tmp_path, "LabelName,DisplayName\n/m/0bt9lr,Dog\n", "classes.csv")
    vgg = tmp_path / "vggsound.csv"
    with open(vgg, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["---g-f_I2yQ", "1", "dog barking", "test"])
        w.writerow(["--0PQM4-hqg", "30", "dog howling", "train"])
        w.writerow(["--9O4XZOge4", "30", "female speech, woman speaking", "train"])
    path = write(tmp_path, GOOD)
    problems = check_map(path, lvis_json=lvis, openimages_classes=oi, vggsound_csv=vgg)
    assert problems == [f"{path}:10: category 'cat': 'cat meowing' is not a VGGSound label"]
    labels = read_vggsound_labels(vgg)
    assert labels == {"dog barking": 1, "dog howling": 1, "female speech, woman speaking": 1}


def test_read_vggsound_layouts(tmp_path):
    stat = write(
        tmp_path, '"bird chirping, tweeting",1050,animals\r\ndog barking,767,animals', "stat.csv"
    )
    assert read_vggsound_labels(stat) == {"bird chirping, tweeting": 1050, "dog barking": 767}
    split = write(tmp_path, "glLQrEijrKg_000300.mp4,playing hammond organ\r\n", "test.csv")
    assert read_vggsound_labels(split) == {"playing hammond organ": 1}
    bad = write(tmp_path, "a;b;c\n", "weird.csv")
    with pytest.raises(SourceError, match=r"weird.csv:1: unknown VGGSound CSV layout"):
        read_vggsound_labels(bad)
    ragged = write(tmp_path, "x,1,dog barking,train\ny,2,cat\n", "ragged.csv")
    with pytest.raises(SourceError, match=r"ragged.csv:2: expected 4 columns"):
        read_vggsound_labels(ragged)


def test_read_openimages_with_and_without_header(tmp_path):
    a = write(tmp_path, "/m/0bt9lr,Dog\n/m/01yrx,Cat\n", "a.csv")
    b = write(tmp_path, "LabelName,DisplayName\r\n/m/0bt9lr,Dog\r\n/m/01yrx,Cat\r\n", "b.csv")
    assert (
        read_openimages_classes(a)
        == read_openimages_classes(b)
        == {"/m/0bt9lr": "Dog", "/m/01yrx": "Cat"}
    )
    c = write(tmp_path, "/m/0bt9lr,Dog\nDog\n", "c.csv")
    with pytest.raises(SourceError, match=r"c.csv:2: expected 'MID,DisplayName'"):
        read_openimages_classes(c)


# ------------------------------------------------------------------ generated files


def test_categories_doc_is_up_to_date():
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_categories_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout


# Copies of the upstream label files (layout: scripts/make_vocab.py), when available.
REFERENCE = Path(os.environ.get("AVSYNTH_REFERENCE", "/nonexistent"))


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="set AVSYNTH_REFERENCE to the upstream files")
def test_make_vocab_reproduces_shipped_data(tmp_path):
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_vocab.py"), "--reference", str(REFERENCE)]
        + ["--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(
        [
            "avsbench_s4_labels.txt",
            "lvis_v1_categories.tsv",
            "lvis_v1_definitions.tsv",
            "openimages_v7_boxable.csv",
            "vggsound_labels.tsv",
        ]
    )
    for name in made:
        assert (tmp_path / name).read_bytes() == (REPO / "avsynth" / "data" / name).read_bytes()
