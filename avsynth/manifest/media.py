"""Reading the media of manifest triplets, materialised or plan-only: one API for every reader.

Inspection (``stats``/``verify``/``inspect``/``export-avsbench``) and avsmodel's datasets read a
triplet's files only through :class:`ManifestMedia`:

* :meth:`ManifestMedia.image`: RGB ``uint8`` ``HxWx3``, as stored (no EXIF rotation);
* :meth:`ManifestMedia.mask`: ``bool`` ``HxW`` at the image's size. A materialised mask is a PNG
  binarised at :data:`avsynth.constants.MASK_THRESHOLD`; a plan-only mask is drawn from the
  sources exactly as the build draws it: LVIS polygons/RLE of annotation ``source_id`` from
  ``lvis_v1_{train,val}.json`` (rasterised with pycocotools), Open Images mask PNGs from the
  ``{subset}-masks-{h}.zip`` archives or the extracted folders (never ``ROOT/<MaskPath>``, where
  Open Images does not store them), resized to the image;
* :meth:`ManifestMedia.audio`: 16 kHz mono ``float32`` of the first ``duration`` seconds, padded
  with silence to exactly ``duration`` (the materialised WAV; a plan-only source clip is
  decoded and resampled by :mod:`avsynth.audio.decode`, the path the build takes).

So a plan-only triplet reads the same arrays as the materialised triplet of the same build,
up to the 16-bit quantisation of the written WAV. A materialised manifest keeps its files below
its own folder (``root == "manifest"``); a plan-only one points into the source datasets, whose
roots come from the sidecar ``build_info.json`` or from ``roots`` overrides
(``--lvis/--openimages/--vggsound``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.audio.decode import decode_audio
from avsynth.constants import SAMPLE_RATE
from avsynth.errors import MediaError
from avsynth.manifest import iter_manifest, resolve_media_path
from avsynth.manifest.schema import FILE_MASK_ROOTS, Triplet
from avsynth.sources.images import read_image, read_image_size, read_mask

__all__ = [
    "ManifestMedia",
    "Roots",
    "decode_audio",
    "lvis_labels",
    "mask_values",
    "media_path",
    "read_image",
    "read_mask",
]

Roots = dict[str, str | os.PathLike[str]] | None


def media_path(manifest: str | os.PathLike[str], ref: Any, roots: Roots = None) -> Path:
    """Absolute path of an image/mask/audio reference (raises ``ManifestError`` on escape)."""
    if ref.path is None:
        raise MediaError(
            f"{manifest}: {ref.source} mask {ref.source_id} has no file (a plan-only LVIS mask "
            "is drawn from its annotation: use ManifestMedia.mask)"
        )
    return resolve_media_path(manifest, ref.path, ref.root, roots=roots)


def mask_values(path: str | os.PathLike[str]) -> np.ndarray:
    """The grey levels of a mask PNG (``bool`` for mode ``1``), for binariness checks.

    Palette and colour images are converted to grey (``L``) as :func:`read_mask` does; 8- and
    16-bit grey images are returned as stored.

    Raises:
        MediaError: The file does not decode or has more than one channel.
    """
    from PIL import Image

    from avsynth.sources.images import check_alpha

    try:
        with Image.open(path) as im:
            check_alpha(im)
            if im.mode not in ("1", "L", "I", "I;16"):
                arr = np.asarray(im.convert("L"))
            else:
                arr = np.asarray(im)
    except FileNotFoundError:
        raise MediaError(f"{path}: mask not found") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise MediaError(f"{path}: mask does not decode ({e})") from None
    if arr.ndim != 2:
        raise MediaError(f"{path}: mask has shape {arr.shape}, expected a single channel")
    return arr


def lvis_labels(triplets: Iterable[Triplet]) -> set[str]:
    """LVIS category names of the plan-only LVIS masks among ``triplets`` (the instances of
    composed records)."""
    out = set()
    for t in triplets:
        refs = t.instances if t.schema_version >= 2 else (t.mask,)
        out.update(m.source_label for m in refs if m.root == "lvis")
    return out


class ManifestMedia:
    """The image, mask and audio of a manifest's triplets, materialised or plan-only.

    Args:
        manifest: The manifest the triplets come from (relative paths resolve against it).
        roots: Source roots of a plan-only manifest, overriding the sidecar's.
        lvis_labels: LVIS categories whose plan-only masks will be asked for. LVIS JSONs are
            read once, on the first plan-only LVIS mask, for these labels (default: every
            LVIS label of the manifest, found by reading it once).

    Errors: ``MediaError`` (missing or undecodable file, unknown annotation) and
    ``ManifestError`` (unknown root, path escaping its root), both naming the file or entry.
    """

    def __init__(
        self,
        manifest: str | os.PathLike[str],
        roots: Roots = None,
        lvis_labels: Iterable[str] | None = None,
    ) -> None:
        self.manifest = manifest
        self.roots = roots
        self.lvis_labels = None if lvis_labels is None else set(lvis_labels)
        self._lvis: dict[str, Any] | None = None
        self._lvis_loaded: set[str] = set()
        self._binarize: str | None = None

    def binarize(self) -> str:
        """How the manifest's mask files binarise: its sidecar's ``mask_binarize`` (an
        imported release may ask for the authors' ``pil``), else ``threshold``."""
        if self._binarize is None:
            from avsynth.manifest import read_sidecar

            self._binarize = str(read_sidecar(self.manifest).get("mask_binarize") or "threshold")
        return self._binarize

    def path(self, ref: Any) -> Path:
        """Absolute path of a media reference (see :func:`media_path`)."""
        return media_path(self.manifest, ref, self.roots)

    def source_root(self, name: str) -> Path:
        """The root folder of source ``name`` (``lvis``, ``openimages`` or ``vggsound``)."""
        return resolve_media_path(self.manifest, ".", name, roots=self.roots)

    def image(self, t: Triplet) -> np.ndarray:
        """RGB ``uint8`` ``HxWx3`` of ``t``'s image."""
        return read_image(self.path(t.image))

    def image_size(self, t: Triplet) -> tuple[int, int]:
        """``(height, width)`` of ``t``'s image (from the manifest, else the file's header)."""
        img = t.image
        if img.height is not None and img.width is not None:
            return img.height, img.width
        w, h = read_image_size(self.path(img))
        return h, w

    def mask(self, t: Triplet) -> np.ndarray:
        """``bool`` ``HxW`` mask of ``t`` (plan-only: drawn at the image's size).

        The target of a plan-only composed ``multi``/``offscreen`` record (not drawn until the
        build materialises) is the OR of its instances' masks (all False for ``offscreen``).
        """
        ref = t.mask
        if ref.root not in FILE_MASK_ROOTS and t.composition in ("multi", "offscreen"):
            import dataclasses

            out = np.zeros(self.image_size(t), bool)
            for m in t.instances:
                out |= self.mask(dataclasses.replace(t, mask=m, composition="single"))
            return out
        if ref.root in FILE_MASK_ROOTS:  # a materialised build, an imported release
            return read_mask(self.path(ref), self.binarize())
        from avsynth.sources.images import decode_mask

        height, width = self.image_size(t)
        sm = self._lvis_mask(ref.source_id, ref.source_label) if ref.source == "lvis" else None
        if sm is None:
            sm = _openimages_mask(t)
        return np.asarray(
            decode_mask(sm, self.source_root(ref.source), height=height, width=width), dtype=bool
        )

    def audio(self, t: Triplet) -> np.ndarray:
        """16 kHz mono ``float32``: the first ``t.audio.duration`` s, padded to exactly that."""
        return self.clip(self.path(t.audio), t.audio.duration)

    @staticmethod
    def clip(path: str | os.PathLike[str], duration: float) -> np.ndarray:
        """What :meth:`audio` returns for the clip at ``path`` lasting ``duration`` s."""
        return decode_audio(path, sample_rate=SAMPLE_RATE, duration=float(duration), pad=True)

    def _lvis_mask(self, mask_id: str, label: str) -> Any:
        if self._lvis is None or label not in self._lvis_loaded:
            # One pass over the LVIS JSONs for every label needed (a label not announced up
            # front triggers another pass).
            from avsynth.sources.lvis import iter_lvis_masks

            if self.lvis_labels is None:
                self.lvis_labels = lvis_labels(iter_manifest(self.manifest))
            labels = self.lvis_labels | self._lvis_loaded | {label}
            self._lvis = {m.mask_id: m for m in iter_lvis_masks(self.source_root("lvis"), labels)}
            self._lvis_loaded = labels
        m = self._lvis.get(mask_id)
        if m is None:
            raise MediaError(f"LVIS annotation {mask_id} ({label}) not found in the LVIS root")
        return m


def _openimages_mask(t: Triplet) -> Any:
    """The :class:`~avsynth.sources.records.SourceMask` of a plan-only Open Images triplet."""
    from avsynth.sources.records import SourceImage, SourceMask

    img, ref = t.image, t.mask
    image = SourceImage(
        source=img.source,
        image_id=img.source_id,
        path=img.path,
        width=img.width,
        height=img.height,
        license=img.license,
        subset=img.subset,
    )
    return SourceMask(
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
