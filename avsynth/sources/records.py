"""Typed records yielded by the source readers (one module per source dataset).

These are the only types the planner sees: readers turn each real dataset layout into them,
and nothing downstream knows a file format. All ids are strings (stable across sources), all
paths are POSIX paths relative to the source root given on the command line.

They are frozen :class:`msgspec.Struct` types (copy with changes:
``msgspec.structs.replace``), not dataclasses: a full-scale plan makes ~500,000 of them, and
a struct is built several times faster than a frozen dataclass, pickles (to the planning
worker and back) faster, and is not tracked by the garbage collector (``gc=False``: records
hold no reference cycles).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec.structs import force_setattr


class SourceImage(msgspec.Struct, frozen=True, gc=False):
    """One image of LVIS or Open Images.

    Attributes:
        source: ``"lvis"`` or ``"openimages"``.
        image_id: LVIS/COCO image id as decimal string, or the Open Images ``ImageID``.
        path: Path relative to the source root, e.g. ``train2017/000000391895.jpg``
            or ``train/0001eeaf4aed83f9.jpg``.
        width: Width in pixels, ``None`` where the metadata does not say (Open Images).
        height: Height in pixels, ``None`` where the metadata does not say (Open Images).
        license: Licence of the image as the source states it (URL or name).
        subset: The source's own split the image belongs to (``train``/``val`` for LVIS,
            ``train``/``validation``/``test`` for Open Images).
    """

    source: str
    image_id: str
    path: str
    width: int | None
    height: int | None
    license: str
    subset: str


class SourceMask(msgspec.Struct, frozen=True, gc=False):
    """One instance mask of a category named in the category map.

    Attributes:
        source: ``"lvis"`` or ``"openimages"``.
        mask_id: LVIS annotation id (decimal string) or the Open Images ``MaskPath`` stem.
        image: The image the mask belongs to.
        label: Source label: LVIS category name (e.g. ``dog``) or Open Images MID (``/m/0bt9lr``).
        bbox: Normalised ``(x, y, w, h)`` box in ``[0, 1]`` image coordinates.
        area_fraction: Mask area / image area where known (LVIS), else the box's area
            fraction (Open Images, whose CSV carries no mask area).
        iscrowd: COCO/LVIS crowd flag (always ``False`` for Open Images).
        exhaustive: ``False`` when LVIS lists the category in the image's
            ``not_exhaustive_category_ids``.
        segmentation: LVIS polygons ``[[x, y, ...], ...]`` or an RLE dict, kept raw until
            needed; ``None`` for Open Images.
        mask_file: Open Images ``MaskPath`` (file name inside ``{subset}-masks-{h}.zip`` or the
            extracted ``{subset}-masks/`` folder); ``None`` for LVIS.
        predicted_iou: Open Images ``PredictedIoU`` (quality of the mask), ``None`` for LVIS.
    """

    source: str
    mask_id: str
    image: SourceImage
    label: str
    bbox: tuple[float, float, float, float]
    area_fraction: float
    iscrowd: bool
    exhaustive: bool
    segmentation: Any | None = None
    mask_file: str | None = None
    predicted_iou: float | None = None


class SourceClip(msgspec.Struct, frozen=True, gc=False):
    """One VGGSound row (``youtube_id,start_seconds,label,split``).

    Attributes:
        youtube_id: The YouTube id (may start with ``-``).
        start_seconds: Start of the 10 s clip in the video.
        label: Exact VGGSound label, e.g. ``dog barking``.
        subset: ``train`` or ``test`` (VGGSound's own split).
        path: Path of the clip file relative to the VGGSound root, ``None`` if not present.
        line: 1-based line number in ``vggsound.csv`` (for error messages).
        clip_id: File stem used by VGGSound downloads: ``{youtube_id}_{start:06d}`` (computed
            once, whatever is passed for it: planning reads it ~10 times per clip).
    """

    youtube_id: str
    start_seconds: int
    label: str
    subset: str
    path: str | None
    line: int = 0
    clip_id: str = ""

    def __post_init__(self) -> None:
        force_setattr(self, "clip_id", f"{self.youtube_id}_{self.start_seconds:06d}")
