"""Regenerate the label lists shipped in ``avsynth/data/`` from copies of the upstream files.

``--reference DIR`` is a folder holding copies of the upstream label files (sources and
licences: ``avsynth/data/ATTRIBUTION.md``)::

    DIR/lvis/lvis_v1_train_cat_info.json
    DIR/openimages/oidv7-class-descriptions-boxable.csv
    DIR/vggsound/stat.csv, DIR/vggsound/test.csv
    DIR/avsbench/s4_meta_data.csv

The outputs are small, sorted, LF-terminated text files,
so the same inputs always give byte-identical outputs:

- ``lvis_v1_categories.tsv``: name, synset, synonyms (``|``-joined), frequency, train
  image_count, train instance_count, for the 1203 LVIS v1 categories.
- ``lvis_v1_definitions.tsv``: name, WordNet definition (LVIS's ``def`` field) of the 1203
  LVIS v1 categories, read by ``avsynth suggest-map`` as lexical evidence.
- ``openimages_v7_boxable.csv``: ``LabelName,DisplayName`` for the 601 V7 boxable classes.
- ``vggsound_labels.tsv``: label, clip_count, test_count, high_level_group for the 309
  VGGSound classes (counts from ``stat.csv`` and ``test.csv``).
- ``avsbench_s4_labels.txt``: the 23 AVSBench-S4 category labels (underscored VGGSound labels).

Usage::

    .venv/bin/python scripts/make_vocab.py --reference DIR               # -> avsynth/data
    .venv/bin/python scripts/make_vocab.py --reference DIR --out OUT
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, text: str) -> None:
    from avsynth.storage.atomic import atomic_write_text

    atomic_write_text(path, text)


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [row for row in csv.reader(f) if row]


def make_lvis(ref: Path) -> str:
    cats = json.loads((ref / "lvis" / "lvis_v1_train_cat_info.json").read_text("utf-8"))
    lines = ["name\tsynset\tsynonyms\tfrequency\timage_count\tinstance_count"]
    for c in sorted(cats, key=lambda c: c["name"]):
        for s in [c["name"], c["synset"], *c["synonyms"]]:
            if "\t" in s or "|" in s or "\n" in s:
                raise SystemExit(f"unexpected separator in LVIS field {s!r}")
        syn = "|".join(c["synonyms"])
        lines.append(
            f"{c['name']}\t{c['synset']}\t{syn}\t{c['frequency']}\t"
            f"{c['image_count']}\t{c['instance_count']}"
        )
    if len(lines) != 1204:
        raise SystemExit(f"expected 1203 LVIS categories, got {len(lines) - 1}")
    return "\n".join(lines) + "\n"


def make_lvis_definitions(ref: Path) -> str:
    cats = json.loads((ref / "lvis" / "lvis_v1_train_cat_info.json").read_text("utf-8"))
    lines = ["name\tdefinition"]
    for c in sorted(cats, key=lambda c: c["name"]):
        text = " ".join(c["def"].split())
        if "\t" in c["name"] or not text:
            raise SystemExit(f"unexpected LVIS definition for {c['name']!r}")
        lines.append(f"{c['name']}\t{text}")
    if len(lines) != 1204:
        raise SystemExit(f"expected 1203 LVIS definitions, got {len(lines) - 1}")
    return "\n".join(lines) + "\n"


def make_openimages(ref: Path) -> str:
    rows = _csv_rows(ref / "openimages" / "oidv7-class-descriptions-boxable.csv")
    if rows[0] != ["LabelName", "DisplayName"]:
        raise SystemExit(f"unexpected header {rows[0]}")
    rows = sorted(rows[1:])
    if len(rows) != 601:
        raise SystemExit(f"expected 601 Open Images boxable classes, got {len(rows)}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["LabelName", "DisplayName"])
    w.writerows(rows)
    return buf.getvalue()


def make_vggsound(ref: Path) -> str:
    stat = _csv_rows(ref / "vggsound" / "stat.csv")
    test = collections.Counter(r[1] for r in _csv_rows(ref / "vggsound" / "test.csv"))
    lines = ["label\tclip_count\ttest_count\thigh_level_group"]
    for label, count, group in sorted(stat):
        lines.append(f"{label}\t{int(count)}\t{test[label]}\t{group}")
    if len(lines) != 310 or set(test) - {r[0] for r in stat}:
        raise SystemExit("expected 309 VGGSound labels covering every test.csv label")
    return "\n".join(lines) + "\n"


def make_s4(ref: Path) -> str:
    rows = _csv_rows(ref / "avsbench" / "s4_meta_data.csv")
    labels = sorted({r[2] for r in rows[1:]})
    if len(labels) != 23:
        raise SystemExit(f"expected 23 S4 labels, got {len(labels)}")
    return "\n".join(labels) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reference", type=Path, required=True, help="copies of the upstream files")
    ap.add_argument("--out", type=Path, default=REPO / "avsynth" / "data")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    outputs = {
        "lvis_v1_categories.tsv": make_lvis(args.reference),
        "lvis_v1_definitions.tsv": make_lvis_definitions(args.reference),
        "openimages_v7_boxable.csv": make_openimages(args.reference),
        "vggsound_labels.tsv": make_vggsound(args.reference),
        "avsbench_s4_labels.txt": make_s4(args.reference),
    }
    for name, text in outputs.items():
        _write(args.out / name, text)
        print(f"wrote {args.out / name} ({text.count(chr(10))} lines)")


if __name__ == "__main__":
    main()
