"""Decoding of source images, mask PNGs and instance masks (audio: :mod:`avsynth.audio.decode`).

* Masks: LVIS polygons / RLE through pycocotools (``frPyObjects`` -> ``merge`` -> ``decode``);
  Open Images PNGs read from ``{subset}-masks-{h}.zip`` (``h`` = first hex digit of the
  ``ImageID``) or from extracted ``{subset}-masks/`` / ``{subset}-masks-{h}/`` folders, resized
  (nearest neighbour) to the image size. Every mask PNG (a source's or a manifest's) is
  binarised by :func:`mask_from_image`: grey level >= :data:`avsynth.constants.MASK_THRESHOLD`.
* Images: PIL, RGB ``uint8``. EXIF orientation is deliberately NOT applied: COCO/LVIS polygons
  and Open Images masks/boxes are in the stored pixel grid, so transposing the pixels would
  misalign every annotation.

Every failure to find or decode a file raises :class:`avsynth.errors.MediaError` naming it.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.constants import MASK_THRESHOLD
from avsynth.errors import MediaError
from avsynth.sources.guards import regular_file
from avsynth.sources.records import SourceMask

__all__ = [
    "check_alpha",
    "decode_mask",
    "decode_segmentation",
    "find_openimages_mask",
    "mask_from_image",
    "read_image",
    "read_image_size",
    "read_mask",
]


# ----------------------------------------------------------------------------- images


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """Return ``(width, height)`` of an image, reading only its header.

    Raises:
        MediaError: The file is missing or not an image.
    """
    from PIL import Image, UnidentifiedImageError

    regular_file(path, "image")  # a FIFO would block Image.open
    try:
        with Image.open(path) as im:
            return int(im.size[0]), int(im.size[1])
    except FileNotFoundError:
        raise MediaError(f"{path}: image not found") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise MediaError(f"{path}: image does not decode ({e})") from None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Decode an image to ``uint8`` ``HxWx3`` RGB.

    EXIF orientation is not applied on purpose: COCO/LVIS and Open Images annotations refer to
    the pixels as stored in the file, so the image must stay in that grid to match its masks.

    Raises:
        MediaError: The file is missing or does not decode.
    """
    from PIL import Image, UnidentifiedImageError

    regular_file(path, "image")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except FileNotFoundError:
        raise MediaError(f"{path}: image not found") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise MediaError(f"{path}: image does not decode ({e})") from None


#: How a mask image becomes binary: ``threshold`` (grey >= 128) or ``pil`` (the authors').
BINARIZE_MODES = ("threshold", "pil")


def mask_from_image(im: Any, binarize: str = "threshold") -> np.ndarray:
    """Binarise a mask image.

    ``threshold`` (default): ``True`` where its grey level is >= ``MASK_THRESHOLD`` (128). Any
    mode is first converted to 8-bit grey (``L``): 0/255 masks (what avsynth writes,
    AVSBench's), 1-bit masks (Open Images) and palette masks whose foreground colour is light
    all read as expected. 0/1-valued grey PNGs read as empty.

    ``pil``: PIL's ``convert("1")`` of the image as stored, which is what the authors'
    loaders call; on grey levels other than 0 and 255 it dithers (Floyd-Steinberg), so the two
    agree on 0/255 masks only.

    Raises:
        ValueError: the image has transparency that disagrees with its grey levels (see
            :func:`check_alpha`), or ``binarize`` is not one of :data:`BINARIZE_MODES`.
    """
    check_alpha(im)
    if binarize == "pil":
        return np.asarray(im.convert("1"), dtype=bool)
    if binarize != "threshold":
        raise ValueError(f"binarize={binarize!r}: use one of {', '.join(BINARIZE_MODES)}")
    return np.asarray(im.convert("L")) >= MASK_THRESHOLD


def check_alpha(im: Any) -> None:
    """Refuse a mask image whose shape may be in its alpha channel.

    Converting to grey drops transparency, so an RGBA (or LA, or transparent palette) PNG that
    draws its shape only in the alpha channel would read as a full-image (or empty) mask. A
    mask whose alpha is opaque, or agrees with its grey levels, is fine.

    Raises:
        ValueError: ``mask has an alpha channel that differs from its grey levels ...``.
    """
    if im.mode not in ("RGBA", "LA", "PA", "La", "RGBa") and "transparency" not in im.info:
        return
    alpha = np.asarray(im.convert("RGBA").getchannel("A"))
    if alpha.min() == 255:
        return
    grey = np.asarray(im.convert("L")) >= MASK_THRESHOLD
    if not np.array_equal(grey, alpha >= MASK_THRESHOLD):
        raise ValueError(
            "mask has an alpha channel that differs from its grey levels (the shape may be in "
            "the transparency, which mask readers ignore); save the mask as a grey PNG"
        )


def read_mask(path: str | os.PathLike, binarize: str = "threshold") -> np.ndarray:
    """Decode a mask PNG to ``bool`` ``HxW`` with :func:`mask_from_image`.

    Raises:
        MediaError: The file is missing or does not decode.
    """
    from PIL import Image, UnidentifiedImageError

    regular_file(path, "mask")
    try:
        with Image.open(path) as im:
            return mask_from_image(im, binarize)
    except FileNotFoundError:
        raise MediaError(f"{path}: mask not found") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise MediaError(f"{path}: mask does not decode ({e})") from None
    except Image.DecompressionBombError as e:
        raise MediaError(f"{path}: mask does not decode ({e})") from None


# ----------------------------------------------------------------------------- masks


def decode_segmentation(segmentation: Any, height: int, width: int) -> np.ndarray:
    """Rasterise an LVIS/COCO segmentation (polygons, or RLE dict) to a bool ``HxW`` mask.

    Polygons with fewer than three points are dropped (pycocotools would read a 4-number
    polygon as a box). An uncompressed RLE (``counts`` list) and a compressed one (string) are
    both accepted, as Python objects or as the raw JSON text/bytes the LVIS reader keeps.

    Raises:
        ValueError: The segmentation is neither polygons nor RLE, or its size disagrees.
    """
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, (bytes, bytearray, memoryview, str)):
        import msgspec

        try:
            segmentation = msgspec.json.decode(segmentation)
        except msgspec.DecodeError as e:
            raise ValueError(f"segmentation is not valid JSON: {e}") from None
    if isinstance(segmentation, list):
        polys = [[float(v) for v in p] for p in segmentation if len(p) >= 6]
        if not polys:
            return np.zeros((height, width), dtype=bool)
        rle = mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
    elif isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        if [int(s) for s in segmentation["size"]] != [height, width]:
            raise ValueError(f"RLE size {segmentation['size']} != image size [{height}, {width}]")
        if isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = {"size": [height, width], "counts": segmentation["counts"]}
    else:
        raise ValueError("segmentation is neither polygons [[x, y, ...]] nor an RLE dict")
    with warnings.catch_warnings():
        # pycocotools 2.0.x trips a harmless NumPy 2 DeprecationWarning on every decode.
        warnings.simplefilter("ignore", DeprecationWarning)
        return mask_utils.decode(rle).astype(bool)


def _resize_nearest(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    if mask.shape == (height, width):
        return mask
    from PIL import Image

    im = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(im.resize((width, height), Image.Resampling.NEAREST)) > 127


_ZIPS: dict[tuple[int, str], tuple[tuple[int, int, int], zipfile.ZipFile]] = {}


def open_zip(path: Path) -> zipfile.ZipFile:
    """The open :class:`zipfile.ZipFile` of ``path``, cached per process and file identity.

    Raises:
        MediaError: the zip cannot be opened.
    """
    # One handle per (process, zip): a handle inherited through fork shares its file offset.
    # The file's identity is part of the key: a zip replaced on disk is opened afresh.
    try:
        st = os.stat(path)
    except OSError as e:
        raise MediaError(f"cannot open mask zip {path}: {e}") from None
    key = (os.getpid(), str(path))
    ident = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _ZIPS.get(key)
    if cached is not None and cached[0] == ident:
        return cached[1]
    if cached is not None:
        cached[1].close()
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise MediaError(f"cannot open mask zip {path}: {e}") from None
    _ZIPS[key] = (ident, zf)
    return zf


def find_openimages_mask(root: str | os.PathLike, subset: str, mask_file: str, image_id: str):
    """Locate an Open Images mask PNG; return ``(zip_path, member)`` or ``(file_path, None)``.

    Looks in ``root/{subset}-masks-{h}.zip``, then ``root/{subset}-masks/``,
    ``root/{subset}-masks-{h}/`` and ``root/{subset}-masks/{subset}-masks-{h}/``.

    Raises:
        MediaError: The mask is in none of these places.
    """
    root = Path(root)
    h = image_id[:1].lower()
    zpath = root / f"{subset}-masks-{h}.zip"
    if zpath.is_file():
        zf = open_zip(zpath)
        try:
            zf.getinfo(mask_file)
            return zpath, mask_file
        except KeyError:
            pass
    for folder in (f"{subset}-masks", f"{subset}-masks-{h}", f"{subset}-masks/{subset}-masks-{h}"):
        p = root / folder / mask_file
        if p.is_file():
            return p, None
    raise MediaError(
        f"Open Images mask {mask_file} not found: expected it in {zpath} or in an extracted "
        f"{root / (subset + '-masks')}/ folder"
    )


def read_png_mask(src: Path, member: str | None) -> np.ndarray:
    """The binary mask of a PNG file ``src``, or of its zip member ``member``.

    Raises:
        MediaError: naming the file (and member) that is missing or does not decode.
    """
    from PIL import Image, UnidentifiedImageError

    name = f"{src}:{member}" if member else str(src)
    try:
        if member is not None:
            with open_zip(src).open(member) as f, Image.open(f) as im:
                return mask_from_image(im)
        with Image.open(src) as im:
            return mask_from_image(im)
    except (UnidentifiedImageError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise MediaError(f"cannot decode mask {name}: {e}") from None


def decode_mask(
    mask: SourceMask,
    root: str | os.PathLike,
    *,
    height: int | None = None,
    width: int | None = None,
) -> np.ndarray:
    """Decode one source mask to a bool ``HxW`` array at its image's size.

    Args:
        mask: A mask from :func:`avsynth.sources.lvis.iter_lvis_masks` or
            :func:`avsynth.sources.openimages.iter_openimages_masks`.
        root: The source root the mask's reader was given.
        height: Output height; default the image's (LVIS: from the JSON; Open Images: read
            from the image file's header, since the CSV has no sizes).
        width: Output width; same default.

    Returns:
        ``np.ndarray[bool]`` of shape ``(height, width)``.

    Raises:
        MediaError: Mask (or, for Open Images without a size, image) missing or undecodable.
    """
    img = mask.image
    if mask.source == "lvis":
        if img.height is None or img.width is None:
            raise MediaError(f"LVIS image {img.image_id} has no size in its JSON")
        try:
            m = decode_segmentation(mask.segmentation, img.height, img.width)
        except (ValueError, TypeError, KeyError) as e:
            raise MediaError(f"LVIS annotation {mask.mask_id} ({img.path}): {e}") from None
    elif mask.source == "openimages":
        if mask.mask_file is None:
            raise MediaError(f"Open Images mask {mask.mask_id} has no MaskPath")
        src, member = find_openimages_mask(root, img.subset, mask.mask_file, img.image_id)
        m = read_png_mask(src, member)
    else:
        raise MediaError(f"unknown mask source {mask.source!r} for mask {mask.mask_id}")
    if height is None or width is None:
        if img.height is not None and img.width is not None:
            h, w = img.height, img.width
        else:
            w, h = read_image_size(Path(root) / img.path)
        height = h if height is None else height
        width = w if width is None else width
    return _resize_nearest(m, int(height), int(width))
