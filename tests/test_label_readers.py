"""One reader per source label file: check-map (catmap.vocab) and the build (sources) agree.

Each test writes a real-format file and feeds it to both sides; a file one side accepts and
the other refuses, or reads differently, fails here.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from avsynth.catmap import Vocabulary, read_lvis_categories, read_vggsound_labels
from avsynth.errors import SourceError
from avsynth.sources import lvis, openimages, vggsound


def _vggsound_csv(path: Path, rows: list[tuple]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def test_lvis_categories_same_from_both(tmp_path: Path) -> None:
    # A build-style json: categories without synonyms or counts, not the last key.
    doc = {
        "categories": [{"id": 1, "name": "dog", "synset": "dog.n.01"}, {"id": 2, "name": "cat"}],
        "images": [],
        "annotations": [],
    }
    (tmp_path / "lvis_v1_val.json").write_text(json.dumps(doc))
    via_map = read_lvis_categories(tmp_path / "lvis_v1_val.json")
    via_build = lvis.lvis_categories(tmp_path)
    assert via_build == {"cat": "", "dog": "dog.n.01"}
    assert {n: c.synset for n, c in via_map.items()} == via_build
    assert Vocabulary.load(lvis_json=tmp_path / "lvis_v1_val.json").lvis == via_map


def test_lvis_bad_json_same_error_from_both(tmp_path: Path) -> None:
    (tmp_path / "lvis_v1_val.json").write_text('{"categories": [{"name": 1}]}')
    with pytest.raises(SourceError, match="not an LVIS json") as a:
        read_lvis_categories(tmp_path / "lvis_v1_val.json")
    with pytest.raises(SourceError, match="not an LVIS json") as b:
        lvis.lvis_categories(tmp_path)
    assert str(a.value) == str(b.value)


@pytest.mark.parametrize(
    "text",
    [
        "LabelName,DisplayName\r\n/m/0bt9lr,Dog\r\n/m/05r5c,Piano\r\n",  # V7, CRLF
        "/m/0bt9lr,Dog\n/m/05r5c,Piano\n",  # V4-V6, no header
    ],
)
def test_openimages_classes_same_from_both(tmp_path: Path, text: str) -> None:
    (tmp_path / "oidv7-class-descriptions-boxable.csv").write_text(text, newline="")
    path = tmp_path / "oidv7-class-descriptions-boxable.csv"
    want = {"/m/05r5c": "Piano", "/m/0bt9lr": "Dog"}
    assert openimages.openimages_classes(tmp_path) == want
    assert Vocabulary.load(openimages_classes=path).openimages == want


def test_openimages_bad_row_same_error_from_both(tmp_path: Path) -> None:
    path = tmp_path / "oidv7-class-descriptions-boxable.csv"
    path.write_text("LabelName,DisplayName\n/m/0bt9lr,Dog\nDog\n")
    with pytest.raises(SourceError, match=r"csv:3: expected 'MID,DisplayName'") as a:
        openimages.openimages_classes(tmp_path)
    with pytest.raises(SourceError) as b:
        Vocabulary.load(openimages_classes=path)
    assert str(a.value) == str(b.value)


def test_vggsound_labels_same_from_both(tmp_path: Path) -> None:
    path = _vggsound_csv(
        tmp_path / "vggsound.csv",
        [
            ("---g-f_I2yQ", 1, "dog barking", "test"),
            ("--0PQM4-hqg", 30, "dog barking", "train"),
            ("--9O4XZOge4", 30, "playing violin, fiddle", "train"),
        ],
    )
    index = vggsound.read_vggsound(tmp_path)
    from collections import Counter

    assert read_vggsound_labels(path) == dict(Counter(c.label for c in index.clips))
    assert read_vggsound_labels(path) == {"dog barking": 2, "playing violin, fiddle": 1}


def test_vggsound_bad_split_same_error_from_both(tmp_path: Path) -> None:
    path = _vggsound_csv(
        tmp_path / "vggsound.csv",
        [("---g-f_I2yQ", 1, "dog barking", "test"), ("--0PQM4-hqg", 30, "dog barking", "dev")],
    )
    with pytest.raises(SourceError, match=r"vggsound.csv:2: bad row") as a:
        vggsound.read_vggsound(tmp_path)
    with pytest.raises(SourceError) as b:
        read_vggsound_labels(path)
    assert str(a.value) == str(b.value)
