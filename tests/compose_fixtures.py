"""A small generated world with verified absences (LVIS neg_category_ids, Open Images human
image labels) and helpers for composed-build tests."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from pathlib import Path

import avsynth
from avsynth.testing.world import make_world

COMPOSE = "single=0.5,multi=0.3,offscreen=0.1,partial=0.1"
SIZES = (80, 20, 20)
# Largest remainder of 80/20/20 over the weights above (all exact here).
EXPECTED = {
    "single": {"train": 40, "val": 10, "test": 10},
    "multi": {"train": 24, "val": 6, "test": 6},
    "offscreen": {"train": 8, "val": 2, "test": 2},
    "partial": {"train": 8, "val": 2, "test": 2},
}


def compose_world(root: Path):
    w = make_world(root, n_lvis_images=60, n_openimages_images=60, clips_per_label=10,
                   image_size=64, clip_seconds=2.0, full_vocabulary=False,
                   image_labels=True)  # fmt: skip
    return w, w.write_category_map(root / "map.yaml")


def build_composed(w, cmap, out: Path, **kw):
    args = {"split_sizes": SIZES, "clip_seconds": 2.0, "compose": COMPOSE, "progress": False}
    args.update(kw)
    return avsynth.build(cmap, out=out, vggsound=w.vggsound_root, lvis=w.lvis_root,
                         openimages=w.openimages_root, **args)  # fmt: skip


def shuffled_copy(w, dest: Path, seed: int = 3) -> dict[str, Path]:
    """Copy the world's sources with every list / CSV body in another order."""
    rng = random.Random(seed)
    for sub in ("lvis", "openimages", "vggsound"):
        shutil.copytree(w.root / sub, dest / sub)
    for p in (dest / "lvis").glob("lvis_v1_*.json"):
        doc = json.loads(p.read_text())
        for k in ("images", "annotations", "categories"):
            rng.shuffle(doc[k])
        p.write_text(json.dumps(doc))
    for p in [*(dest / "openimages").glob("*.csv"), dest / "vggsound" / "vggsound.csv"]:
        rows = list(csv.reader(io.StringIO(p.read_text())))
        head, body = (rows[:1], rows[1:]) if p.name != "vggsound.csv" else ([], rows)
        if "class-descriptions" in p.name:
            continue
        rng.shuffle(body)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(head + body)
        p.write_text(buf.getvalue())
    return {s: dest / s for s in ("lvis", "openimages", "vggsound")}
