"""Media writers for test datasets: images, mask PNGs, COCO RLE, audio clips (wav/flac/mp4).

Used by :mod:`avsynth.testing.sources`; all writes are atomic (temporary file + ``os.replace``)
and byte-deterministic.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.storage.atomic import atomic_write_bytes

__all__ = ["atomic_write_bytes", "mask_to_rle", "png_mask_bytes", "write_audio", "write_image"]


def write_image(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write a ``uint8`` ``HxWx3`` (or ``HxW``) array as JPEG (``.jpg``, quality 92) or PNG."""
    from PIL import Image

    path = Path(path)
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8))
    if path.suffix.lower() in (".jpg", ".jpeg"):
        im.save(buf, format="JPEG", quality=92)
    else:
        im.save(buf, format="PNG")
    return atomic_write_bytes(path, buf.getvalue())


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE of a bool ``HxW`` mask, JSON-ready (``counts`` as str)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode()}


def png_mask_bytes(mask: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(mask, dtype=bool)).save(buf, format="PNG")
    return buf.getvalue()


def write_audio(
    path: str | os.PathLike,
    waveform: np.ndarray,
    sample_rate: int,
    *,
    video: bool = False,
) -> Path:
    """Write a clip; the format follows the suffix.

    Args:
        path: ``.wav`` / ``.flac`` (16-bit PCM via soundfile) or ``.mp4`` (AAC via PyAV).
        waveform: Float samples in ``[-1, 1]``, ``[N]`` mono or ``[N, C]``.
        sample_rate: Sampling rate in Hz.
        video: For mp4, also add a tiny 32x32 1 fps H.264 video stream (like a real download).
    """
    path = Path(path)
    x = np.clip(np.asarray(waveform, dtype=np.float32), -1.0, 1.0)
    x = x[:, None] if x.ndim == 1 else x
    suffix = path.suffix.lower()
    buf = io.BytesIO()
    if suffix in (".wav", ".flac"):
        import soundfile as sf

        sf.write(buf, x, sample_rate, format=suffix[1:].upper(), subtype="PCM_16")
    elif suffix == ".mp4":
        import av

        layout = "mono" if x.shape[1] == 1 else "stereo"
        with av.open(buf, "w", format="mp4") as c:
            if video:
                vs = c.add_stream("libx264", rate=1)
                vs.width = vs.height = 32
                vs.pix_fmt = "yuv420p"
            st = c.add_stream("aac", rate=sample_rate)
            st.layout = layout
            planar = np.ascontiguousarray(x.T)
            for i in range(0, planar.shape[1], 1024):
                fr = av.AudioFrame.from_ndarray(
                    planar[:, i : i + 1024].copy(), format="fltp", layout=layout
                )
                fr.sample_rate = sample_rate
                fr.pts = i
                for p in st.encode(fr):
                    c.mux(p)
            for p in st.encode(None):
                c.mux(p)
            if video:
                for k in range(max(1, int(round(x.shape[0] / sample_rate)))):
                    img = np.full((32, 32, 3), (k * 23) % 256, dtype=np.uint8)
                    vf = av.VideoFrame.from_ndarray(img, format="rgb24")
                    vf.pts = k
                    for p in vs.encode(vf):
                        c.mux(p)
                for p in vs.encode(None):
                    c.mux(p)
    else:
        raise ValueError(f"unsupported audio suffix {suffix!r} (use .wav, .flac or .mp4)")
    return atomic_write_bytes(path, buf.getvalue())
