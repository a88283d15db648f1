"""Checks of a mask's content, and re-planning around masks that fail them.

The metadata rules (:mod:`avsynth.planning.select`) cannot see what a mask looks like. Three
content rules can:

* ``empty_mask``: the mask has no pixel. LVIS: the polygons (or RLE) rasterise to nothing at
  the image's size (degenerate polygons, polygons wholly outside the image); Open Images: the
  PNG is all zero.
* ``mask_aspect_mismatch`` (Open Images): the PNG's aspect ratio differs from the image's by
  more than 5 % (plus one pixel of rounding): it is not this image's mask (e.g. transposed, or a
  square placeholder); stretching it to the image would misalign it.
* ``mask_outside_box`` (Open Images): under 90 % of the mask's pixels lie inside its CSV box
  (widened by 5 % of the image and 2 pixels): the mask does not belong to the box (e.g. an
  all-white mask whose box covers 5 % of the image).

Checking every candidate would cost a read of every Open Images mask (hundreds of thousands of
PNGs in zips) at plan time, so only the masks a plan *chooses* are checked: a failing mask is
rejected (counted under its reason, like the metadata rules) and the plan is made again
without it, until every chosen mask passes. The split sizes therefore stay exact. The result
depends only on the inputs and the seed (checks are pure functions of the files, collected as
a set), not on worker count or order. LVIS masks are checked from the JSON already in memory
(~40 us each); Open Images masks need their PNG and their image's header, so they are checked
only when the build materialises (``--plan-only`` needs no media and skips them): one extra
PNG decode per chosen mask, spread over ``--workers``. A mask or image that cannot be read is
not judged here: materialising reports it (``--on-error``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import numpy as np

from avsynth.errors import MediaError
from avsynth.sources.records import SourceMask

if TYPE_CHECKING:
    from avsynth.planning.plan import Plan

__all__ = ["ASPECT_TOLERANCE", "INSIDE_BOX", "check_mask", "settle_plan"]

ASPECT_TOLERANCE = 0.05
INSIDE_BOX = 0.9
_BOX_MARGIN = 0.05


def _lvis_pixels(m: SourceMask) -> int:
    import warnings

    from pycocotools import mask as mask_utils

    h, w = m.image.height, m.image.width
    seg = msgspec.json.decode(m.segmentation) if m.segmentation is not None else []
    if isinstance(seg, list):
        polys = [[float(v) for v in p] for p in seg if len(p) >= 6]
        if not polys:
            return 0
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
    elif isinstance(seg, dict) and "counts" in seg:
        rle = mask_utils.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else seg
    else:
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return int(mask_utils.area(rle))


def _openimages_reason(m: SourceMask, root: str | os.PathLike[str]) -> str | None:
    from avsynth.errors import ManifestError
    from avsynth.manifest.schema import safe_relpath
    from avsynth.sources.images import find_openimages_mask, read_image_size, read_png_mask

    try:
        safe_relpath(m.mask_file)
        safe_relpath(m.image.path)
    except ManifestError:
        return None  # the build rejects such paths before materialising
    try:
        src, member = find_openimages_mask(root, m.image.subset, m.mask_file, m.image.image_id)
        arr = read_png_mask(src, member)
        w, h = read_image_size(Path(root) / m.image.path)
    except MediaError:
        return None  # unreadable: materialising names the file (or skips it)
    total = int(np.count_nonzero(arr))
    if total == 0:
        return "empty_mask"
    mh, mw = arr.shape
    slack = ASPECT_TOLERANCE + 1.0 / min(mh, mw) + 1.0 / min(h, w)
    if abs(math.log((mw / mh) / (w / h))) > math.log1p(slack):
        return "mask_aspect_mismatch"
    bx, by, bw, bh = m.bbox
    x0 = math.floor((bx - _BOX_MARGIN) * mw) - 2
    x1 = math.ceil((bx + bw + _BOX_MARGIN) * mw) + 2
    y0 = math.floor((by - _BOX_MARGIN) * mh) - 2
    y1 = math.ceil((by + bh + _BOX_MARGIN) * mh) + 2
    inside = int(np.count_nonzero(arr[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)]))
    if inside < INSIDE_BOX * total:
        return "mask_outside_box"
    return None


def check_mask(m: SourceMask, root: str | os.PathLike[str] | None) -> str | None:
    """The content rule a mask fails, or ``None`` (also when it cannot be judged).

    Args:
        m: A source mask.
        root: Its source root; ``None`` skips the Open Images checks (they need the files).
    """
    if m.source == "lvis":
        if m.image.height is None or m.image.width is None:
            return None
        try:
            return "empty_mask" if _lvis_pixels(m) == 0 else None
        except (ValueError, TypeError, KeyError, msgspec.DecodeError):
            return None  # undecodable: materialising names it
    if m.source == "openimages" and root is not None and m.mask_file:
        return _openimages_reason(m, root)
    return None


def _check_chunk(args) -> list[tuple[tuple[str, str], str | None]]:
    masks, roots = args
    return [((m.source, m.mask_id), check_mask(m, roots.get(m.source))) for m in masks]


def _check_all(
    masks: list[SourceMask], roots: dict[str, str], workers: int
) -> dict[tuple[str, str], str | None]:
    heavy = [m for m in masks if m.source == "openimages" and m.source in roots]
    light = [m for m in masks if not (m.source == "openimages" and m.source in roots)]
    out = dict(_check_chunk((light, roots)))
    n = min(workers, max(1, len(heavy) // 64))
    if n <= 1:
        out.update(_check_chunk((heavy, roots)))
        return out
    import multiprocessing as mp

    chunks = [(heavy[i :: n * 4], roots) for i in range(n * 4)]
    with mp.get_context("fork").Pool(n) as pool:
        for part in pool.imap_unordered(_check_chunk, chunks):
            out.update(part)
    return out


def settle_plan(
    make: Callable[[dict[tuple[str, str], str]], Plan],
    *,
    roots: dict[str, str],
    workers: int = 1,
) -> tuple[Plan, dict[tuple[str, str], str], int]:
    """Make a plan whose chosen masks all pass :func:`check_mask`.

    Args:
        make: ``rejected -> Plan`` (the planner with the rejections so far).
        roots: Source roots by name whose files may be read (``openimages`` to check those
            masks; LVIS needs none).
        workers: Processes for the Open Images checks.

    Returns:
        ``(plan, rejected, checked)``: the final plan, every rejection with its reason, and
        the number of masks checked.
    """
    rejected: dict[tuple[str, str], str] = {}
    verdict: dict[tuple[str, str], str | None] = {}
    while True:
        plan = make(dict(sorted(rejected.items())))
        todo: dict[tuple[str, str], SourceMask] = {}
        for t in plan.triplets:
            key = (t.mask.source, t.mask.mask_id)
            if key not in verdict:
                todo[key] = t.mask
        if not todo:
            return plan, rejected, len(verdict)
        found = _check_all([todo[k] for k in sorted(todo)], roots, workers)
        verdict.update(found)
        bad = {k: r for k, r in found.items() if r is not None}
        if not bad:
            return plan, rejected, len(verdict)
        rejected.update(bad)
