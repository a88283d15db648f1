"""Writers of tiny source datasets in the REAL layouts (for tests and the demo world).

Like lhotse's testing dummies, these ship in the package: they produce files the readers in
:mod:`avsynth.sources` (and the official tools) read as the real thing.

* :func:`write_lvis` -- ``lvis_v1_{subset}.json`` (COCO-style, ``coco_url``, neg /
  not-exhaustive ids, categories with synset/frequency) + images in ``train2017``/``val2017``.
* :func:`write_openimages` -- ``{subset}-annotations-object-segmentation.csv``, the class CSV
  (V7 with header, or header-less V6), mask PNGs in ``{subset}-masks-{h}.zip`` (or extracted
  folders) and JPEG images in ``{subset}/``.
* :func:`write_vggsound` -- ``vggsound.csv`` (no header, labels with commas quoted) + clips.
* :func:`write_audio` -- one clip as wav / flac (soundfile) or mp4 with an AAC stream (PyAV).

All writes are atomic (temporary file + ``os.replace``) and byte-deterministic.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.sources.openimages import OI_COLUMNS
from avsynth.testing.media import (
    atomic_write_bytes,
    mask_to_rle,
    png_mask_bytes,
    write_audio,
    write_image,
)

__all__ = [
    "mask_to_rle",
    "write_audio",
    "write_image",
    "write_lvis",
    "write_openimages",
    "write_openimages_imagelabels",
    "write_vggsound",
]

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _seg_rle(seg: Any, h: int, w: int):
    from pycocotools import mask as mask_utils

    if isinstance(seg, list):
        return mask_utils.merge(mask_utils.frPyObjects([p for p in seg if len(p) >= 6], h, w))
    if isinstance(seg["counts"], list):
        return mask_utils.frPyObjects(seg, h, w)
    c = seg["counts"]
    return {"size": seg["size"], "counts": c.encode() if isinstance(c, str) else c}


def write_lvis(
    root: str | os.PathLike,
    subset: str,
    images: Sequence[Mapping[str, Any]],
    annotations: Sequence[Mapping[str, Any]],
    categories: Sequence[Mapping[str, Any]],
    *,
    image_arrays: Mapping[int, np.ndarray] | None = None,
) -> Path:
    """Write ``root/lvis_v1_{subset}.json`` (and images) in the LVIS v1 layout.

    Args:
        root: LVIS root folder (created).
        subset: ``train`` or ``val``.
        images: Dicts with ``id``, ``width``, ``height``; optional ``coco_url`` (default
            ``http://images.cocodataset.org/{train2017|val2017}/{id:012d}.jpg`` by subset; give
            it to place a val image in ``train2017`` as real LVIS does), ``license`` (1),
            ``neg_category_ids`` ([]), ``not_exhaustive_category_ids`` ([]).
        annotations: Dicts with ``id``, ``image_id``, ``category_id``, ``segmentation``
            (polygons ``[[x, y, ...]]`` or an RLE dict); ``bbox``/``area`` are computed with
            pycocotools when absent.
        categories: Dicts with ``id``, ``name``; optional ``synset`` (``{name}.n.01``),
            ``synonyms``, ``def``, ``frequency`` (``f``). Image/instance counts are computed.
        image_arrays: ``image id -> uint8 HxWx3``; each is written where its ``coco_url``
            points (``root/train2017/...jpg``), JPEG or PNG by extension.

    Returns:
        The JSON path.
    """
    from pycocotools import mask as mask_utils

    root = Path(root)
    default_folder = "train2017" if subset == "train" else "val2017"
    imgs = []
    sizes = {}
    for im in images:
        iid = int(im["id"])
        url = im.get("coco_url", f"http://images.cocodataset.org/{default_folder}/{iid:012d}.jpg")
        rec = {
            "id": iid,
            "width": int(im["width"]),
            "height": int(im["height"]),
            "coco_url": url,
            "flickr_url": im.get("flickr_url", f"http://farm1.staticflickr.com/1/{iid}_z.jpg"),
            "date_captured": im.get("date_captured", "2013-11-14 16:28:13"),
            "license": int(im.get("license", 1)),
            "neg_category_ids": [int(c) for c in im.get("neg_category_ids", [])],
            "not_exhaustive_category_ids": [
                int(c) for c in im.get("not_exhaustive_category_ids", [])
            ],
        }
        sizes[iid] = (rec["height"], rec["width"])
        imgs.append(rec)
    anns = []
    for a in annotations:
        h, w = sizes[int(a["image_id"])]
        seg = a["segmentation"]
        rec = {
            "id": int(a["id"]),
            "image_id": int(a["image_id"]),
            "category_id": int(a["category_id"]),
            "segmentation": seg,
        }
        if "bbox" not in a or "area" not in a:
            rle = _seg_rle(seg, h, w)
            box = [round(float(v), 2) for v in mask_utils.toBbox(rle)]
            area = float(mask_utils.area(rle))
        rec["bbox"] = [float(v) for v in a["bbox"]] if "bbox" in a else box
        rec["area"] = float(a["area"]) if "area" in a else area
        if a.get("iscrowd"):
            rec["iscrowd"] = int(a["iscrowd"])
        anns.append(rec)
    inst = Counter(a["category_id"] for a in anns)
    img_count = Counter(c for c, _ in {(a["category_id"], a["image_id"]) for a in anns})
    cats = []
    for c in categories:
        name = str(c["name"])
        cid = int(c["id"])
        cats.append(
            {
                "id": cid,
                "name": name,
                "synset": c.get("synset", f"{name}.n.01"),
                "synonyms": list(c.get("synonyms", [name])),
                "def": c.get("def", f"a {name}"),
                "frequency": c.get("frequency", "f"),
                "image_count": img_count.get(cid, 0),
                "instance_count": inst.get(cid, 0),
            }
        )
    doc = {
        "info": {"description": "avsynth test LVIS v1 subset", "version": "1.0", "year": 2020},
        "licenses": [
            {
                "id": 1,
                "name": "Attribution License",
                "url": "http://creativecommons.org/licenses/by/2.0/",
            },
            {
                "id": 2,
                "name": "Attribution-NonCommercial License",
                "url": "http://creativecommons.org/licenses/by-nc/2.0/",
            },
        ],
        "images": imgs,
        "annotations": anns,
        "categories": cats,
    }
    path = atomic_write_bytes(
        root / f"lvis_v1_{subset}.json", json.dumps(doc, separators=(",", ":")).encode()
    )
    urls = {im["id"]: im["coco_url"] for im in imgs}
    for iid, arr in sorted((image_arrays or {}).items()):
        url = urls[int(iid)]
        folder, name = url.rsplit("/", 2)[1:]
        write_image(root / folder / name, arr)
    return path


def _fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".") if x not in (0.0, 1.0) else str(int(x))


def write_openimages(
    root: str | os.PathLike,
    subset: str,
    rows: Sequence[Mapping[str, Any]],
    masks: Sequence[np.ndarray | None],
    classes: Mapping[str, str] | None,
    *,
    image_arrays: Mapping[str, np.ndarray] | None = None,
    zipped: bool = True,
    mask_folders: str = "one",
    class_format: str = "v7",
) -> Path:
    """Write an Open Images V7 segmentation subset.

    Args:
        root: Open Images root folder (created).
        subset: ``train``, ``validation`` or ``test``.
        rows: Dicts with ``ImageID`` (hex) and ``LabelName`` (MID); optional ``BoxID``
            (default ``{i:08x}``), ``MaskPath`` (default ``{ImageID}_{mid without /}_{BoxID}.png``),
            ``BoxXMin``/``BoxXMax``/``BoxYMin``/``BoxYMax`` (default: the mask's box, normalised),
            ``PredictedIoU`` (``0.9``), ``Clicks`` (empty).
        masks: One bool mask per row (any size: real masks often differ from the image's), or
            ``None`` to write the row without a PNG.
        classes: MID -> display name, written as ``oidv7-class-descriptions-boxable.csv``
            (``class_format="v7"``, with header, CRLF) or header-less
            ``class-descriptions-boxable.csv`` (``"v6"``); ``None`` writes no class file.
        image_arrays: ``ImageID -> uint8 HxWx3`` written to ``root/{subset}/{ImageID}.jpg``.
        zipped: Masks in ``{subset}-masks-{h}.zip`` by first hex digit of ImageID (True), or
            extracted PNGs (False).
        mask_folders: When not zipped: ``"one"`` -> ``{subset}-masks/``, ``"per_digit"`` ->
            ``{subset}-masks-{h}/``.
        class_format: ``"v7"`` or ``"v6"``.

    Returns:
        The CSV path.
    """
    root = Path(root)
    if len(masks) != len(rows):
        raise ValueError(f"{len(rows)} rows but {len(masks)} masks")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(OI_COLUMNS)
    pngs: dict[str, dict[str, bytes]] = {}
    for i, (row, m) in enumerate(zip(rows, masks, strict=True)):
        iid, mid = str(row["ImageID"]), str(row["LabelName"])
        box_id = str(row.get("BoxID", f"{i:08x}"))
        mpath = str(row.get("MaskPath", f"{iid}_{mid.replace('/', '')}_{box_id}.png"))
        if m is not None:
            ys, xs = np.nonzero(m)
            mh, mw = m.shape
            auto = (
                (xs.min() / mw, (xs.max() + 1) / mw, ys.min() / mh, (ys.max() + 1) / mh)
                if xs.size
                else (0.0, 0.0, 0.0, 0.0)
            )
            group = (
                f"{subset}-masks-{iid[0]}"
                if (zipped or mask_folders != "one")
                else f"{subset}-masks"
            )
            pngs.setdefault(group, {})[mpath] = png_mask_bytes(m)
        else:
            auto = (0.0, 1.0, 0.0, 1.0)
        box = [
            row.get(k, auto[j]) for j, k in enumerate(("BoxXMin", "BoxXMax", "BoxYMin", "BoxYMax"))
        ]
        w.writerow(
            [
                mpath,
                iid,
                mid,
                box_id,
                *(_fmt(float(b)) if not isinstance(b, str) else b for b in box),
                row.get("PredictedIoU", "0.9"),
                row.get("Clicks", ""),
            ]
        )
    path = atomic_write_bytes(
        root / f"{subset}-annotations-object-segmentation.csv", buf.getvalue().encode()
    )
    for group, files in sorted(pngs.items()):
        if zipped:
            zbuf = io.BytesIO()
            with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_STORED) as zf:
                for name, data in sorted(files.items()):
                    zf.writestr(zipfile.ZipInfo(name, date_time=_ZIP_DATE), data)
            atomic_write_bytes(root / f"{group}.zip", zbuf.getvalue())
        else:
            for name, data in sorted(files.items()):
                atomic_write_bytes(root / group / name, data)
    if classes is not None:
        cbuf = io.StringIO()
        if class_format == "v7":
            cw = csv.writer(cbuf, lineterminator="\r\n")
            cw.writerow(["LabelName", "DisplayName"])
            name = "oidv7-class-descriptions-boxable.csv"
        elif class_format == "v6":
            cw = csv.writer(cbuf, lineterminator="\n")
            name = "class-descriptions-boxable.csv"
        else:
            raise ValueError(f"class_format must be 'v7' or 'v6', not {class_format!r}")
        for mid, disp in sorted(classes.items(), key=lambda kv: (kv[1], kv[0])):
            cw.writerow([mid, disp])
        atomic_write_bytes(root / name, cbuf.getvalue().encode())
    for iid, arr in sorted((image_arrays or {}).items()):
        write_image(root / subset / f"{iid}.jpg", arr)
    return path


def write_openimages_imagelabels(
    root: str | os.PathLike, subset: str, rows: Sequence[tuple[str, str, str, int]]
) -> Path:
    """Write ``root/oidv7-{subset}-annotations-human-imagelabels.csv``.

    Args:
        root: Open Images root folder (created).
        subset: ``train``, ``validation`` or ``test``.
        rows: ``(ImageID, Source, LabelName, Confidence)``; Source e.g. ``verification``,
            Confidence 1 (present) or 0 (verified absent). Written sorted, header first.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["ImageID", "Source", "LabelName", "Confidence"])
    for r in sorted(rows):
        w.writerow([r[0], r[1], r[2], int(r[3])])
    path = Path(root) / f"oidv7-{subset}-annotations-human-imagelabels.csv"
    return atomic_write_bytes(path, buf.getvalue().encode())


def write_vggsound(
    root: str | os.PathLike,
    rows: Sequence[tuple[str, int, str, str]],
    *,
    clips: Mapping[str, np.ndarray | tuple[np.ndarray, int]] | None = None,
    fmt: str | Mapping[str, str] = "wav",
    clip_dir: str | Mapping[str, str] = "video",
    sample_rate: int = 16000,
    video: bool = False,
) -> Path:
    """Write ``root/vggsound.csv`` and clip files.

    Args:
        root: VGGSound root folder (created).
        rows: ``(youtube_id, start_seconds, label, split)`` in file order; labels with commas
            are quoted as in the real file.
        clips: Clip id (``{youtube_id}_{start:06d}``) -> waveform (at ``sample_rate``, ``[N]``
            or ``[N, C]``) or ``(waveform, rate)``. Rows without an entry get no file.
        fmt: ``wav``, ``flac`` or ``mp4``; or a clip id -> format mapping (default ``wav``).
        clip_dir: Folder under ``root`` for the clips; or clip id -> folder (nesting allowed).
        sample_rate: Rate of bare waveforms.
        video: Give mp4 clips a tiny H.264 video stream too (see :func:`write_audio`).

    Returns:
        The CSV path.
    """
    root = Path(root)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for ytid, start, label, split in rows:
        w.writerow([ytid, int(start), label, split])
    path = atomic_write_bytes(root / "vggsound.csv", buf.getvalue().encode())
    for cid, clip in sorted((clips or {}).items()):
        wave, sr = clip if isinstance(clip, tuple) else (clip, sample_rate)
        ext = fmt if isinstance(fmt, str) else fmt.get(cid, "wav")
        folder = clip_dir if isinstance(clip_dir, str) else clip_dir.get(cid, "video")
        write_audio(root / folder / f"{cid}.{ext}", wave, sr, video=video)
    return path
