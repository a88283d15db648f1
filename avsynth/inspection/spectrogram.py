"""Pictures of a triplet's sound: a log-mel spectrogram and an image | mask | sound preview.

The spectrogram is VGGish's own front end, :func:`avsynth.audio.logmel.log_mel` (16 kHz, 25 ms
periodic-Hann frames every 10 ms, 512-point |FFT|, 64 HTK-mel bands 125-7500 Hz,
``log(magnitude + 0.01)``), so what a person sees is what the model hears. It is drawn on a
matplotlib Agg canvas (no display needed), time in seconds across, the bands up the side on
their mel scale with ticks labelled in Hz. The preview puts the image, the image with the mask
highlighted (the rest dimmed, an orange outline) and the spectrogram side by side.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avsynth.constants import SAMPLE_RATE as SR
from avsynth.storage.atomic import atomic_path

OUTLINE = (255.0, 140.0, 0.0)
#: Frequencies labelled on the spectrogram's axis (Hz).
TICKS_HZ = (250, 500, 1000, 2000, 4000, 7000)


def log_mel(waveform: np.ndarray, sample_rate: int = SR) -> np.ndarray:
    """VGGish's log-mel spectrogram ``float32[64, T]``: ``log(HTK-mel magnitude + 0.01)``.

    The frames of :func:`avsynth.audio.logmel.log_mel` (which VGGish cuts into 0.96 s examples),
    bands first; a waveform shorter than one 25 ms window is zero-padded to one frame.
    """
    from avsynth.audio.logmel import WINDOW, resample, to_mono
    from avsynth.audio.logmel import log_mel as vggish_log_mel

    x = resample(to_mono(waveform), int(sample_rate))
    if x.shape[0] < WINDOW:
        x = np.pad(x, (0, WINDOW - x.shape[0]))
    return vggish_log_mel(x).T.astype(np.float32)


def htk_mel(hz: float) -> float:
    """The HTK mel scale VGGish's bands are spaced on: ``1127 ln(1 + hz / 700)``."""
    return 1127.0 * float(np.log1p(hz / 700.0))


def render_spectrogram(
    waveform: np.ndarray,
    sample_rate: int,
    out: str | os.PathLike[str],
    *,
    title: str | None = None,
    size: tuple[float, float] = (4.0, 3.0),
    dpi: int = 100,
) -> Path:
    """Draw the log-mel spectrogram of ``waveform`` to the PNG ``out`` (atomically).

    Args:
        waveform: Mono samples.
        sample_rate: Their rate (resampled to 16 kHz if different).
        out: PNG path; parent folders are created.
        title: Text above the plot (e.g. the VGGSound label).
        size: Figure size in inches.
        dpi: Resolution.

    Returns:
        ``out`` as a Path.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from avsynth.audio.logmel import HOP, MEL_MAX_HZ, MEL_MIN_HZ

    bands = log_mel(waveform, sample_rate)
    fig = Figure(figsize=size, dpi=dpi)
    ax = fig.add_subplot()
    lo, hi = htk_mel(MEL_MIN_HZ), htk_mel(MEL_MAX_HZ)
    ax.imshow(
        bands,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap="magma",
        extent=(0.0, bands.shape[1] * HOP / SR, lo, hi),
    )
    ax.set_yticks([htk_mel(f) for f in TICKS_HZ], [f"{f:g}" for f in TICKS_HZ])
    ax.set_xlabel("s")
    ax.set_ylabel("Hz")
    ax.tick_params(labelsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout(pad=0.3)
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
    return out


def render_preview(
    image: np.ndarray,
    mask: np.ndarray,
    spectrogram_png: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    height: int = 256,
) -> Path:
    """Write ``image | image with mask overlay | spectrogram`` side by side as one picture.

    Args:
        image: ``uint8[H, W, 3]``.
        mask: ``bool[H, W]``.
        spectrogram_png: A PNG from :func:`render_spectrogram`.
        out: ``.png`` or ``.jpg`` path (written atomically).
        height: Height of the strip in pixels.
    """
    from PIL import Image

    img = Image.fromarray(np.asarray(image, dtype=np.uint8))
    m = np.asarray(mask, dtype=bool)
    over = np.asarray(image, dtype=np.float32).copy()
    # Spotlight: the object keeps its colours, the rest is dimmed, an outline marks the edge
    # (readable whatever the object's colour).
    over[~m] *= 0.3
    edge = m & ~_erode(_erode(m))
    over[edge] = OUTLINE
    overlay = Image.fromarray(over.clip(0, 255).astype(np.uint8))
    with Image.open(spectrogram_png) as s:
        spec = s.convert("RGB")
    w = max(1, round(img.width * height / img.height))
    sw = max(1, round(spec.width * height / spec.height))
    gap = 6
    strip = Image.new("RGB", (2 * w + sw + 2 * gap, height), (255, 255, 255))
    strip.paste(img.resize((w, height), Image.Resampling.BILINEAR), (0, 0))
    strip.paste(overlay.resize((w, height), Image.Resampling.BILINEAR), (w + gap, 0))
    strip.paste(spec.resize((sw, height), Image.Resampling.BILINEAR), (2 * (w + gap), 0))
    out = Path(out)
    fmt = "PNG" if out.suffix.lower() == ".png" else "JPEG"
    with atomic_path(out) as tmp:
        strip.save(tmp, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out


def _erode(m: np.ndarray) -> np.ndarray:
    """One-pixel binary erosion (4-neighbourhood) without scipy."""
    p = np.pad(m, 1, constant_values=False)
    return p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
