"""Verified absence: which categories an image is *known* not to show.

Composed builds (``--compose ... offscreen/partial``) pair an image with the sound of a
category that is not in it. Absence must be known, not assumed:

* LVIS annotations are federated: a category missing from an image's annotations may still be
  in it. Only the image's ``neg_category_ids`` (annotators checked: the category is not there)
  count as absent.
* Open Images' human-verified image-level labels
  (``oidv7-{train,validation,test}-annotations-human-imagelabels.csv``, header
  ``ImageID,Source,LabelName,Confidence``): ``Confidence`` 0 means a person verified that the
  class is absent; 1 means present. A class with both a 0 and a 1 row is not taken as absent.
  The files are read when present (older names such as
  ``oidv6-train-annotations-human-imagelabels.csv`` are recognised too).

Both readers return ``{"{source}:{image_id}": frozenset(source labels verified absent)}``
restricted to the labels asked for.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Collection
from pathlib import Path

import msgspec

from avsynth.errors import SourceError
from avsynth.sources.processes import gc_paused

__all__ = ["IMAGELABEL_COLUMNS", "imagelabel_files", "lvis_absent", "openimages_absent"]

IMAGELABEL_COLUMNS = ("ImageID", "Source", "LabelName", "Confidence")
_IMAGELABELS = re.compile(
    r"^(?:oidv\d+-)?(train|validation|test)-annotations-human-imagelabels.*\.csv$"
)


class _Image(msgspec.Struct):
    id: int
    neg_category_ids: list[int] = []


class _Category(msgspec.Struct):
    id: int
    name: str


class _NegOnly(msgspec.Struct):
    images: list[_Image]
    categories: list[_Category]


def lvis_absent(root: str | os.PathLike, labels: Collection[str]) -> dict[str, frozenset[str]]:
    """LVIS category names (of ``labels``) listed in each image's ``neg_category_ids``.

    Reads every ``lvis_v1_{train,val}.json`` present under ``root``.

    Raises:
        SourceError: a file is malformed (names it).
    """
    wanted = set(labels)
    out: dict[str, frozenset[str]] = {}
    for subset in ("train", "val"):
        path = Path(root) / f"lvis_v1_{subset}.json"
        if not path.is_file():
            continue
        try:
            with gc_paused():
                doc = msgspec.json.decode(path.read_bytes(), type=_NegOnly)
        except (msgspec.DecodeError, OSError) as e:
            raise SourceError(f"{path}: cannot read neg_category_ids: {e}") from None
        names = {c.id: c.name for c in doc.categories if c.name in wanted}
        for im in doc.images:
            neg = frozenset(names[c] for c in im.neg_category_ids if c in names)
            if neg:
                out[f"lvis:{im.id}"] = neg
    return out


def imagelabel_files(root: str | os.PathLike) -> list[tuple[str, Path]]:
    """``(subset, path)`` of the human-verified image-label CSVs under ``root`` (sorted)."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for p in sorted(root.iterdir()):
        m = _IMAGELABELS.match(p.name)
        if m and p.is_file():
            found.append((m.group(1), p))
    return found


def openimages_absent(root: str | os.PathLike, mids: Collection[str]) -> dict[str, frozenset[str]]:
    """Open Images MIDs (of ``mids``) verified absent (``Confidence`` 0) per image.

    Returns an empty dict when no ``*-annotations-human-imagelabels*.csv`` file exists.

    Raises:
        SourceError: a file lacks the expected columns or has a bad ``Confidence`` (names the
            file and line).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    wanted = pa.array(sorted(set(mids)), pa.string())
    absent: dict[str, set[str]] = defaultdict(set)
    present: set[tuple[str, str]] = set()
    for _subset, path in imagelabel_files(root):
        try:
            reader = pacsv.open_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    include_columns=["ImageID", "LabelName", "Confidence"],
                    column_types={
                        "ImageID": pa.string(),
                        "LabelName": pa.string(),
                        "Confidence": pa.string(),
                    },  # fmt: skip
                ),
            )
            for batch in reader:
                keep = pc.is_in(batch.column("LabelName"), value_set=wanted)
                sub = batch.filter(keep)
                for iid, mid, conf in zip(
                    sub.column("ImageID").to_pylist(),
                    sub.column("LabelName").to_pylist(),
                    sub.column("Confidence").to_pylist(),
                    strict=True,
                ):
                    if conf in ("0", "0.0"):
                        absent[iid].add(mid)
                    elif conf in ("1", "1.0"):
                        present.add((iid, mid))
                    else:
                        raise SourceError(
                            f"{path}: image {iid} label {mid}: Confidence {conf!r} is not 0 or 1"
                        )
        except (pa.ArrowInvalid, KeyError) as e:
            raise SourceError(
                f"{path}: not an Open Images image-label CSV (need columns "
                f"{','.join(IMAGELABEL_COLUMNS)}): {e}"
            ) from None
    out = {}
    for iid, ms in absent.items():
        keep = frozenset(m for m in ms if (iid, m) not in present)
        if keep:
            out[f"openimages:{iid}"] = keep
    return out
