"""A tiny AVS-Synthetic release in the authors' layout, for tests and demos.

``write_release`` writes ``annotations.csv`` (nine columns read by position, ``split`` among
them, or ten with ``split`` extra), ``images/*.jpg`` (one drawn object each, the looks of
:mod:`avsynth.testing.looks`), ``masks/*.png`` (0/255), ``audios/*.wav`` (category sounds,
VGGSound-style names ``<youtube id>_<start>``) and ``category_for_vggsound_audios.pkl``.
The column names are invented (the real file's header is not public); readers use positions.
"""

from __future__ import annotations

import csv
import io
import os
import pickle
from pathlib import Path

import numpy as np

from avsynth.storage.atomic import atomic_write_bytes
from avsynth.testing.looks import category_sound, render_image
from avsynth.testing.media import write_audio, write_image

CLASSES = (("dog", 7), ("cat", 3), ("piano", 12))


def write_release(
    root: str | os.PathLike[str],
    *,
    classes: tuple[tuple[str, int], ...] = CLASSES,
    per_class: tuple[int, int, int] = (4, 2, 2),
    clips_per_class: int = 3,
    size: int = 64,
    seconds: float = 2.0,
    seed: int = 0,
    split_extra: bool = False,
) -> Path:
    """Write a release with ``per_class`` (train, val, test) rows for every class.

    Args:
        root: Folder to write (created).
        classes: ``(class name, class id)`` pairs.
        per_class: Rows per class in train / validate / test.
        clips_per_class: Pool clips per class (val/test rows use clips from the pool too).
        size: Image side in pixels.
        seconds: Clip length.
        seed: Seed of images and sounds.
        split_extra: Write ``split`` as a tenth column instead of at position 7.

    Returns:
        ``root``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    pools: dict[int, list[str]] = {}
    for ci, (_, cid) in enumerate(classes):
        names = []
        for k in range(clips_per_class):
            name = f"{cid:03d}clip{k:04d}_{10 * k:06d}"  # 11-char "youtube id" + start
            write_audio(
                root / "audios" / f"{name}.wav",
                category_sound(ci, rng, seconds=seconds),
                16000,
            )
            names.append(name)
        pools[cid] = names
    rows = []
    n = 0
    for split, count in zip(("train", "validate", "test"), per_class, strict=True):
        for ci, (cname, cid) in enumerate(classes):
            for k in range(count):
                n += 1
                image_id, inst_id = f"img{n:05d}", f"inst{n:05d}"
                img, objs = render_image(rng, [ci], size, size)
                write_image(root / "images" / f"{image_id}.jpg", img)
                mask = objs[0][2]
                buf = io.BytesIO()
                from PIL import Image

                Image.fromarray(mask.astype(np.uint8) * 255).save(buf, format="PNG")
                atomic_write_bytes(root / "masks" / f"{inst_id}.png", buf.getvalue())
                audio = "" if split == "train" else pools[cid][k % len(pools[cid])]
                source = "LVIS" if n % 2 else "OpenImages"
                bbox = "[0, 0, 1, 1]"
                rows.append([inst_id, image_id, bbox, str(size * size), cname, str(cid), source,
                             split, audio])  # fmt: skip
    header = ["instance_id", "image_id", "bbox", "area", "category", "category_id", "dataset",
              "split", "audio"]  # fmt: skip
    if split_extra:
        header = [*header[:7], "unused", header[8], "split"]
        rows = [[*r[:7], "", r[8], r[7]] for r in rows]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    atomic_write_bytes(root / "annotations.csv", text.getvalue().encode())
    atomic_write_bytes(root / "category_for_vggsound_audios.pkl", pickle.dumps(pools, protocol=4))
    return root
