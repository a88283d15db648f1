"""Materialising one image (with its masks) or one clip; run inside worker processes.

Every file is encoded in memory and written under a temporary name, then renamed into place
(:mod:`avsynth.materialise.writes`), so a final name always means a complete file. On resume
a final file is kept only when the provenance log says it was made from the same source
content and options (:mod:`avsynth.materialise.provenance`); anything else is made again.
Sources are checked before anything is written: an image's whole JPEG stream is decoded
(at 1/8 scale: the entropy-coded data is read in full, so truncation is caught, at a fifth of
the cost), a clip must decode to finite samples and at least one VGGish example's length.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.audio.logmel import MIN_SAMPLES
from avsynth.constants import SAMPLE_RATE
from avsynth.errors import MediaError
from avsynth.materialise import provenance as prov
from avsynth.materialise.writes import write_media
from avsynth.sources.records import SourceClip, SourceImage, SourceMask
from avsynth.storage.layout import audio_relpath, image_relpath, mask_relpath

#: zlib level of the mask PNGs (PIL's default). Measured on 1024x768 and 640x480 masks:
#: level 1 encodes in 3.0 ms instead of 3.85 ms but writes files twice as big (5.7 vs 2.9 KB).
PNG_COMPRESS_LEVEL = 6


def read_file_bytes(path: Path, what: str) -> bytes:
    """The bytes of ``path``.

    Raises:
        MediaError: ``what`` (e.g. ``image``) is missing or unreadable, naming the path.
    """
    from avsynth.sources.guards import refuse_special

    refuse_special(path, what)  # a FIFO would block the build
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MediaError(f"{what} not found: {path}") from None
    except OSError as e:
        raise MediaError(f"cannot read {what} {path}: {e.strerror or e}") from None


def check_image(data: bytes, src: Path) -> tuple[int, int]:
    """Decode an image's bytes completely (truncated/corrupt files fail); ``(width, height)``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            size = int(im.size[0]), int(im.size[1])
            if im.format == "JPEG":
                # DCT-domain downscaling: every coefficient is still entropy-decoded.
                im.draft(im.mode, (max(1, size[0] // 8), max(1, size[1] // 8)))
            im.load()
            return size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise MediaError(f"cannot decode image {src}: {e}") from None
    except Image.DecompressionBombError as e:
        raise MediaError(f"cannot decode image {src}: {e}") from None


def encode_mask_png(mask: np.ndarray) -> bytes:
    """A bool ``HxW`` mask as 8-bit PNG bytes with values 0/255 (mode ``L``)."""
    from PIL import Image

    buf = io.BytesIO()
    im = Image.fromarray(mask.view(np.uint8) * np.uint8(255), mode="L")
    im.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def _mask_source_identity(m: SourceMask, src_root: str) -> tuple[Any, ...]:
    """What a mask's pixels come from: its polygon/RLE, or its PNG's bytes (zip CRC)."""
    if m.source == "lvis":
        seg = m.segmentation
        return ("lvis", m.mask_id, seg if isinstance(seg, (bytes, str)) else repr(seg))
    if m.source == "openimages" and m.mask_file is not None:
        from avsynth.sources.images import find_openimages_mask, open_zip

        src, member = find_openimages_mask(src_root, m.image.subset, m.mask_file, m.image.image_id)
        if member is not None:
            info = open_zip(src).getinfo(member)
            return ("oi-zip", member, info.CRC, info.file_size)
        return ("oi-file", m.mask_file, prov.digest(read_file_bytes(src, "mask")))
    return (m.source, m.mask_id)


def materialise_image(
    image: SourceImage,
    masks: list[SourceMask],
    src_root: str,
    out: str,
    recorded: dict[str, dict[str, Any]] | None = None,
) -> tuple[int, int]:
    """Copy one image (bytes as-is) and write its masks as PNGs at the image's size.

    Args:
        image: The image.
        masks: Its masks used by the plan.
        src_root: The image source's root.
        out: Output folder.
        recorded: Provenance entries of this task's outputs from an earlier run.

    Returns:
        ``(width, height)`` of the image.

    Raises:
        MediaError: the image or a mask is missing or does not decode (message names it).
    """
    from avsynth.sources.images import decode_mask

    recorded = recorded or {}
    src = Path(src_root) / image.path
    rel = image_relpath(image)
    dest = Path(out) / rel
    data = read_file_bytes(src, "image")
    p = prov.digest("image", prov.FORMAT, data)
    entry = recorded.get(rel)
    if prov.matches(entry, p, dest):
        w, h = entry["size"]
    else:
        w, h = check_image(data, src)
        prov.append(out, prov.entry(rel, p, data, size=[w, h]))
        write_media(dest, data)
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
        mrel = mask_relpath(m)
        mdest = Path(out) / mrel
        try:
            mp = prov.digest("mask", prov.FORMAT, _mask_source_identity(m, src_root), w, h)
            if prov.matches(recorded.get(mrel), mp, mdest):
                continue
            arr = decode_mask(m, src_root, height=h, width=w)
        except MediaError as e:
            raise MediaError(f"{e} (mask {m.mask_id} of image {src})") from None
        png = encode_mask_png(arr)
        prov.append(out, prov.entry(mrel, mp, png))
        write_media(mdest, png)
    return int(w), int(h)


def encode_wav(samples: np.ndarray) -> tuple[bytes, bool]:
    """16 kHz mono 16-bit PCM WAV bytes of float samples in ``[-1, 1]`` (libsndfile's own
    float-to-PCM conversion, which other readers reproduce), and whether every written sample
    is zero."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    wav = buf.getvalue()
    pcm, _ = sf.read(io.BytesIO(wav), dtype="int16")
    return wav, not pcm.any()


def materialise_clip(
    clip: SourceClip,
    src_root: str,
    out: str,
    clip_seconds: float,
    recorded: dict[str, dict[str, Any]] | None = None,
) -> tuple[int, bool]:
    """Decode one VGGSound clip to a 16 kHz mono 16-bit WAV of at most ``clip_seconds``.

    A clip shorter than ``clip_seconds`` (e.g. a truncated download) is written at its real
    length, not padded: the manifest records that length as the audio's ``duration``.

    Returns:
        ``(frames, silent)``: samples written, and whether every one of them is zero.

    Raises:
        MediaError: the clip is missing, does not decode, holds non-finite samples (NaN or
            infinity in a float file) or is shorter than one VGGish example (0.975 s; or
            than ``clip_seconds`` when that is shorter).
    """
    recorded = recorded or {}
    rel = audio_relpath(clip)
    dest = Path(out) / rel
    if clip.path is None:
        raise MediaError(
            f"VGGSound clip {clip.clip_id} ({clip.label}) has no file below {src_root}; "
            "download it (see needed_clips.csv)"
        )
    src = Path(src_root) / clip.path
    p = prov.digest(
        "clip", prov.FORMAT, read_file_bytes(src, "audio file"), float(clip_seconds), SAMPLE_RATE
    )
    entry = recorded.get(rel)
    if prov.matches(entry, p, dest):
        return int(entry["frames"]), bool(entry["silent"])
    from avsynth.audio.decode import decode_audio

    data = decode_audio(src, sample_rate=SAMPLE_RATE, duration=clip_seconds)
    if not np.isfinite(data).all():
        raise MediaError(
            f"VGGSound clip {clip.clip_id}: {src} holds non-finite samples (NaN or infinity); "
            "the file is damaged, re-download it"
        )
    wanted = int(round(clip_seconds * SAMPLE_RATE))
    frames = min(data.size, wanted)
    if frames < min(MIN_SAMPLES, wanted):
        raise MediaError(
            f"VGGSound clip {clip.clip_id}: {src} decodes to {frames / SAMPLE_RATE:.3f} s of "
            f"audio, shorter than one VGGish example ({MIN_SAMPLES / SAMPLE_RATE} s)"
        )
    wav, silent = encode_wav(np.clip(data[:frames], -1.0, 1.0))
    prov.append(out, prov.entry(rel, p, wav, frames=int(frames), silent=silent))
    write_media(dest, wav)
    return int(frames), silent
