"""Finding and decoding the media a manifest references (shared by inspect, verify, export).

A materialised manifest keeps its files below its own folder (``root == "manifest"``); a
plan-only manifest points into the source datasets, whose roots come from the sidecar
``build_info.json`` or from ``roots`` overrides (``--lvis/--openimages/--vggsound``). Masks of a
plan-only manifest are decoded from the sources: LVIS polygons/RLE (looked up by annotation id)
and Open Images mask PNGs (from the zips or the extracted folder).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.errors import MediaError
from avsynth.manifest import resolve_media_path
from avsynth.manifest.schema import FILE_MASK_ROOTS, Triplet

AUDIO_RATE = 16000

Roots = dict[str, str | os.PathLike[str]] | None


def media_path(manifest: str | os.PathLike[str], ref: Any, roots: Roots = None) -> Path:
    """Absolute path of an image/mask/audio reference (raises ``ManifestError`` on escape)."""
    return resolve_media_path(manifest, ref.path, ref.root, roots=roots)


def read_mask_png(path: Path) -> np.ndarray:
    """Decode a mask PNG to its raw 2-D array of values (bool for mode ``1``)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.mode not in ("1", "L", "P", "I", "I;16"):
                arr = np.asarray(im.convert("L"))
            else:
                arr = np.asarray(im)
    except (OSError, ValueError, SyntaxError) as e:
        raise MediaError(f"{path}: mask does not decode ({e})") from None
    if arr.ndim != 2:
        raise MediaError(f"{path}: mask has shape {arr.shape}, expected a single channel")
    return arr


class MaskLoader:
    """Loads the boolean mask of a triplet, materialised or plan-only.

    LVIS annotations of a plan-only manifest are read once, on first need, for all the LVIS
    categories the manifest uses (``labels``), and kept by annotation id.
    """

    def __init__(
        self, manifest: str | os.PathLike[str], roots: Roots = None, lvis_labels: set | None = None
    ) -> None:
        self.manifest = manifest
        self.roots = roots
        self.lvis_labels = set(lvis_labels or ())
        self._lvis: dict[str, Any] | None = None
        self._lvis_loaded: set[str] = set()

    def _source_root(self, name: str) -> Path:
        return resolve_media_path(self.manifest, ".", name, roots=self.roots)

    def _lvis_mask(self, mask_id: str, label: str) -> Any:
        if self._lvis is None or label not in self._lvis_loaded:
            # One pass over the LVIS JSON for every label known so far (a label first seen
            # later triggers another pass: give all labels up front to avoid it).
            from avsynth.sources.lvis import iter_lvis_masks

            labels = self.lvis_labels | self._lvis_loaded | {label}
            self._lvis = {m.mask_id: m for m in iter_lvis_masks(self._source_root("lvis"), labels)}
            self._lvis_loaded = labels
        m = self._lvis.get(mask_id)
        if m is None:
            raise MediaError(f"LVIS annotation {mask_id} ({label}) not found in the LVIS root")
        return m

    def load(self, t: Triplet) -> np.ndarray:
        """The mask of ``t`` as ``bool[H, W]`` (at the image's size for plan-only masks)."""
        ref = t.mask
        if ref.root in FILE_MASK_ROOTS:
            path = media_path(self.manifest, ref, self.roots)
            if not path.is_file():
                raise MediaError(f"{path}: mask file missing")
            return read_mask_png(path) > 0
        from avsynth.sources.media import decode_mask
        from avsynth.sources.records import SourceImage, SourceMask

        img = t.image
        if ref.source == "lvis":
            sm = self._lvis_mask(ref.source_id, ref.source_label)
        else:
            image = SourceImage(
                source=img.source,
                image_id=img.source_id,
                path=img.path,
                width=img.width,
                height=img.height,
                license=img.license,
                subset=img.subset,
            )
            sm = SourceMask(
                source=ref.source,
                mask_id=ref.source_id,
                image=image,
                label=ref.source_label,
                bbox=tuple(ref.bbox),
                area_fraction=ref.area_fraction,
                iscrowd=False,
                exhaustive=True,
                mask_file=ref.path,
            )
        height, width = img.height, img.width
        if height is None or width is None:
            from avsynth.sources.media import read_image_size

            width, height = read_image_size(media_path(self.manifest, img, self.roots))
        root = self._source_root(ref.source)
        return np.asarray(decode_mask(sm, root, height=height, width=width), dtype=bool)


def lvis_labels(triplets: Iterable[Triplet]) -> set[str]:
    """LVIS category names of the plan-only LVIS masks among ``triplets``."""
    return {t.mask.source_label for t in triplets if t.mask.root == "lvis"}


def safe_name(text: str) -> str:
    """A file-name-safe version of an id (letters, digits, ``-``, ``_`` and ``.`` kept)."""
    out = "".join(c if (c.isascii() and (c.isalnum() or c in "-_.")) else "_" for c in text)
    return out.strip(".") or "_"
