"""The bytes of one exported sample: image, mask PNG and 16 kHz WAV of a manifest triplet.

Files are kept as built whenever they already are what the formats promise:

* **image**: the file's bytes as stored (JPEG -> ``jpg``, PNG -> ``png``); any other format is
  re-encoded as an RGB PNG. The bytes are decoded once, so an unreadable image stops the export
  with one line naming the file.
* **mask**: a materialised mask PNG that is 8-bit grey with only 0 and 255 (what ``avsynth
  build`` writes), at the image's size, is kept; anything else (a plan-only mask drawn from its
  annotation, a 1-bit, palette or 0/1 PNG of an imported release) is encoded as a 0/255 grey
  PNG of :meth:`avsynth.manifest.media.ManifestMedia.mask` (binarised at grey level 128).
* **audio**: a 16 kHz mono 16-bit PCM WAV of the record's duration is kept; other clips (the
  sources of a plan-only manifest) are decoded as
  :meth:`~avsynth.manifest.media.ManifestMedia.audio` reads them and written as such a WAV
  with soundfile.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.constants import SAMPLE_RATE
from avsynth.errors import ManifestError, MediaError
from avsynth.manifest import Triplet
from avsynth.manifest.media import ManifestMedia, Roots, lvis_labels
from avsynth.manifest.schema import FILE_MASK_ROOTS

__all__ = ["Sample", "SampleReader", "encode_mask_png", "encode_wav"]

#: PIL format -> extension of the bytes kept as stored (PIL calls some camera JPEGs ``MPO``).
_IMAGE_EXT = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png"}


@dataclass(frozen=True)
class Sample:
    """One triplet's exported bytes.

    Attributes:
        triplet: The manifest record.
        key: Its sample key (:func:`avsynth.exporters.shards.sample_key`).
        image: Image file bytes; ``image_ext`` is ``jpg`` or ``png``.
        width: Image width in pixels.
        height: Image height in pixels.
        mask_png: The target mask, a PNG at the image's size.
        wav: 16 kHz mono PCM_16 WAV of the sound heard.
    """

    triplet: Triplet
    key: str
    image: bytes
    image_ext: str
    width: int
    height: int
    mask_png: bytes
    wav: bytes


def encode_mask_png(mask: np.ndarray) -> bytes:
    """A ``bool`` mask as an 8-bit grey PNG with values 0 and 255."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(mask, dtype=bool).astype(np.uint8) * 255).save(buf, format="PNG")
    return buf.getvalue()


def encode_wav(y: np.ndarray) -> bytes:
    """16 kHz mono ``float32`` samples as PCM_16 WAV bytes (soundfile)."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _read_bytes(path: Path, what: str, tid: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MediaError(f"{path}: {what} not found (triplet {tid})") from None
    except OSError as e:
        raise MediaError(f"{path}: cannot read the {what} (triplet {tid}): {e.strerror}") from None


def _open_image(data: bytes, path: Path, what: str, tid: str) -> Any:
    """The decoded PIL image of ``data`` (``MediaError`` naming ``path`` if it does not decode)."""
    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise MediaError(f"{path}: {what} does not decode (triplet {tid}): {e}") from None
    return im


class SampleReader:
    """Reads :class:`Sample` bytes for the triplets of one manifest.

    Args:
        manifest: The manifest file (relative media paths resolve against it).
        triplets: The triplets that will be read (their LVIS labels are loaded once for
            plan-only masks).
        roots: Source roots of a plan-only manifest.
    """

    def __init__(
        self, manifest: str | os.PathLike[str], triplets: list[Triplet], roots: Roots = None
    ) -> None:
        self.media = ManifestMedia(manifest, roots, lvis_labels(triplets))
        self._audio: tuple[Path, bytes] | None = None  # the last clip (reuse comes in runs)

    def read(self, t: Triplet, key: str) -> Sample:
        """The bytes of ``t`` (``MediaError`` naming the file when one is missing or bad)."""
        path = self.media.path(t.image)
        data = _read_bytes(path, "image", t.id)
        im = _open_image(data, path, "image", t.id)
        ext = _IMAGE_EXT.get(im.format or "")
        if ext is None:
            buf = io.BytesIO()
            im.convert("RGB").save(buf, format="PNG")
            data, ext = buf.getvalue(), "png"
        mask = self._mask(t, im.size)
        return Sample(t, key, data, ext, im.size[0], im.size[1], mask, self._wav(t))

    def _mask(self, t: Triplet, size: tuple[int, int]) -> bytes:
        ref = t.mask
        if ref.root in FILE_MASK_ROOTS and ref.path is not None:
            path = self.media.path(ref)
            data = _read_bytes(path, "mask", t.id)
            im = _open_image(data, path, "mask", t.id)
            if im.size != size:
                raise MediaError(
                    f"{path}: mask is {im.size[0]}x{im.size[1]}, its image is "
                    f"{size[0]}x{size[1]} (triplet {t.id}); run `avsynth verify`"
                )
            if im.format == "PNG" and im.mode == "L":
                values = np.unique(np.asarray(im))
                if np.isin(values, (0, 255)).all():
                    return data
        m = self.media.mask(t)
        if (m.shape[1], m.shape[0]) != size:
            raise MediaError(
                f"triplet {t.id}: mask is {m.shape[1]}x{m.shape[0]}, its image is "
                f"{size[0]}x{size[1]}; run `avsynth verify`"
            )
        return encode_mask_png(m)

    def _wav(self, t: Triplet) -> bytes:
        import soundfile as sf

        if t.audio.path is None:
            raise ManifestError(
                f"triplet {t.id} ({t.composition}) has no mix yet: a plan-only composed "
                "manifest gets its mixes when the build materialises; build without "
                "--plan-only, then export"
            )
        path = self.media.path(t.audio)
        if self._audio is not None and self._audio[0] == path:
            return self._audio[1]
        if not path.is_file():
            raise MediaError(f"{path}: audio not found (triplet {t.id})")
        want = round(float(t.audio.duration) * SAMPLE_RATE)
        try:
            info = sf.info(str(path))
            as_built = (info.format, info.subtype, info.samplerate, info.channels) == (
                "WAV",
                "PCM_16",
                SAMPLE_RATE,
                1,
            ) and info.frames == want
        except (sf.LibsndfileError, RuntimeError, OSError):
            as_built = False  # not a WAV soundfile knows: decode below (errors name the file)
        if as_built:
            data = _read_bytes(path, "audio", t.id)
        else:
            try:
                data = encode_wav(self.media.audio(t))
            except MediaError as e:
                raise MediaError(f"{e} (triplet {t.id})") from None
        self._audio = (path, data)
        return data
