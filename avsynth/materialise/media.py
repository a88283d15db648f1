"""Materialising one image (with its masks) or one clip; run inside worker processes.

Every file is written to a temporary name and renamed into place, so a final name always
means a complete file; on resume a final file is kept when its size matches what would be
written (image: same byte count as the source; mask PNG: the image's size; WAV: 16 kHz mono
16-bit with the expected number of frames). Sources are checked (image fully decoded, clip
decoded) before anything is written, so a corrupt source never leaves a trusted output.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from avsynth.constants import SAMPLE_RATE
from avsynth.errors import MediaError
from avsynth.layout import audio_relpath, image_relpath, mask_relpath
from avsynth.sources.records import SourceClip, SourceImage, SourceMask


def _tmp(dest: Path) -> Path:
    return dest.with_name(f"{dest.name}.{os.getpid()}.tmp")


def _decode_image_size(path: Path) -> tuple[int, int]:
    """Fully decode an image (catches truncated/corrupt files) and return ``(width, height)``."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise MediaError(f"image not found: {path} (download it, see needed_images_*.txt)")
    try:
        with Image.open(path) as im:
            im.load()
            return int(im.size[0]), int(im.size[1])
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise MediaError(f"cannot decode image {path}: {e}") from None


def _png_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return (int(im.size[0]), int(im.size[1])) if im.mode == "L" else None
    except Exception:  # an unreadable leftover is simply rewritten
        return None


def write_mask_png(mask: np.ndarray, dest: Path) -> None:
    """Write a bool ``HxW`` mask as an 8-bit PNG with values 0/255 (mode ``L``), atomically."""
    from PIL import Image

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(dest)
    Image.fromarray(np.where(mask, 255, 0).astype(np.uint8), mode="L").save(tmp, format="PNG")
    os.replace(tmp, dest)


def materialise_image(
    image: SourceImage, masks: list[SourceMask], src_root: str, out: str
) -> tuple[int, int]:
    """Copy one image (bytes as-is) and write its masks as PNGs at the image's size.

    Returns:
        ``(width, height)`` of the image.

    Raises:
        MediaError: the image or a mask is missing or does not decode (message names it).
    """
    from avsynth.sources.media import decode_mask, read_image_size

    src = Path(src_root) / image.path
    dest = Path(out) / image_relpath(image)
    done = dest.is_file() and src.is_file() and dest.stat().st_size == src.stat().st_size
    if done:
        w, h = read_image_size(dest)
    else:
        w, h = _decode_image_size(src)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp(dest)
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    if (
        image.width is not None
        and image.height is not None
        and (w, h) != (image.width, image.height)
    ):
        raise MediaError(
            f"image {src} is {w}x{h} but its {image.source} metadata says "
            f"{image.width}x{image.height}; re-download it"
        )
    for m in masks:
        mdest = Path(out) / mask_relpath(m)
        if mdest.is_file() and _png_size(mdest) == (w, h):
            continue
        try:
            arr = decode_mask(m, src_root, height=h, width=w)
        except MediaError as e:
            raise MediaError(f"{e} (mask {m.mask_id} of image {src})") from None
        write_mask_png(arr, mdest)
    return w, h


def _wav_ok(path: Path, frames: int) -> bool:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:
        return False
    return (
        info.samplerate == SAMPLE_RATE
        and info.channels == 1
        and info.frames == frames
        and info.subtype == "PCM_16"
    )


def materialise_clip(clip: SourceClip, src_root: str, out: str, clip_seconds: float) -> int:
    """Decode one VGGSound clip to a 16 kHz mono 16-bit WAV of exactly ``clip_seconds``.

    Shorter clips are padded with silence; longer ones cut.

    Returns:
        Samples of real audio before padding.

    Raises:
        MediaError: the clip is missing or does not decode.
    """
    import soundfile as sf

    from avsynth.sources.media import decode_audio

    frames = int(round(clip_seconds * SAMPLE_RATE))
    dest = Path(out) / audio_relpath(clip)
    if dest.is_file() and _wav_ok(dest, frames):
        return frames
    if clip.path is None:
        raise MediaError(
            f"VGGSound clip {clip.clip_id} ({clip.label}) has no file below {src_root}; "
            "download it (see needed_clips.csv)"
        )
    src = Path(src_root) / clip.path
    data = decode_audio(src, sample_rate=SAMPLE_RATE, duration=clip_seconds)
    if data.size == 0:
        raise MediaError(f"audio {src} decodes to no samples")
    real = int(min(data.size, frames))
    out_data = np.zeros(frames, np.float32)
    out_data[:real] = data[:real]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(dest)
    sf.write(str(tmp), np.clip(out_data, -1.0, 1.0), SAMPLE_RATE, subtype="PCM_16", format="WAV")
    os.replace(tmp, dest)
    return real
