"""Mixing clips and drawing union masks for composed builds.

A mix (``multi``, ``partial``) is made from the 16 kHz WAVs the build already wrote for its
component clips: each component is loudness-normalised to :data:`TARGET_LUFS` (ITU-R BS.1770
integrated loudness with pyloudnorm; clips shorter than one 400 ms gating block, where BS.1770
is undefined, by RMS instead), scaled by its seeded gain (range
:data:`avsynth.planning.compose_spec.GAIN_DB`) and summed; the sum is then brought to the
mean loudness the components had as clips (so a mix is as loud as a single triplet's clip
and loudness does not tell mixed from unmixed triplets), and scaled down as a whole when its
peak exceeds :data:`PEAK_DBFS` (a peak limiter without distortion). Silent components stay
silent. The result is a 16 kHz mono 16-bit WAV of the build's clip length, written once per
triplet, atomically.

A union mask (``multi``, ``offscreen``) is the OR of the triplet's instance PNGs (none for
``offscreen``: an all-zero mask at the image's size), written as a 0/255 PNG.

Both have provenance lines like every other media file (:mod:`avsynth.materialise.provenance`):
a digest of the component WAVs' or instance PNGs' bytes and of the gains, length or size. A
resumed build keeps a mix or union only when its line names the same inputs and its bytes
still hash to the recorded digest, else it is made again.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avsynth.constants import SAMPLE_RATE
from avsynth.errors import MediaError
from avsynth.materialise import provenance as prov
from avsynth.materialise.convert import encode_mask_png, read_file_bytes
from avsynth.materialise.writes import write_media
from avsynth.planning.compose_spec import PEAK_DBFS, TARGET_LUFS

_MIN_LUFS_SECONDS = 0.4


def loudness_db(x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness (LUFS, BS.1770 via pyloudnorm), or RMS dBFS for clips shorter than
    400 ms; ``-inf`` for silence."""
    x = np.asarray(x, np.float64)
    if not np.any(x):
        return float("-inf")
    if x.size >= int(_MIN_LUFS_SECONDS * sample_rate):
        import pyloudnorm

        return float(pyloudnorm.Meter(sample_rate).integrated_loudness(x))
    return float(20 * np.log10(np.sqrt(np.mean(x * x))))


def mix(
    components: Sequence[np.ndarray], gains_db: Sequence[float], sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Loudness-normalise each component, apply its gain, sum, restore the level, peak-limit.

    The components' balance is set by normalising each to ``TARGET_LUFS`` and applying its
    gain; the sum is then scaled so that its loudness is the mean of the components' own
    loudness (the level they have as unmixed clips), then limited to ``PEAK_DBFS``.

    Args:
        components: Mono float waveforms of equal length.
        gains_db: One gain (dB) per component, applied after normalising to ``TARGET_LUFS``.
        sample_rate: Their sample rate.

    Returns:
        float64 mix whose peak is at most ``PEAK_DBFS``.
    """
    if len(components) != len(gains_db) or not components:
        raise ValueError("mix() needs one gain per component and at least one component")
    n = len(components[0])
    out = np.zeros(n, np.float64)
    levels = []
    for x, g in zip(components, gains_db, strict=True):
        x = np.asarray(x, np.float64)
        if x.shape != (n,):
            raise ValueError("mix(): components must be mono and of equal length")
        lv = loudness_db(x, sample_rate)
        if np.isfinite(lv):
            out += x * 10.0 ** ((TARGET_LUFS - lv + float(g)) / 20.0)
            levels.append(lv)
    summed = loudness_db(out, sample_rate)
    if levels and np.isfinite(summed):
        out *= 10.0 ** ((float(np.mean(levels)) - summed) / 20.0)
    peak = float(np.max(np.abs(out))) if n else 0.0
    limit = 10.0 ** (PEAK_DBFS / 20.0)
    if peak > limit:
        out *= limit / peak
    return out


def materialise_mix(
    sources: Sequence[str],
    gains_db: Sequence[float],
    frames: int,
    out: str,
    rel: str,
    recorded: dict[str, dict[str, Any]] | None = None,
) -> int:
    """Write the mix of the component WAVs ``sources`` to ``out/rel`` (kept when its
    provenance line in ``recorded`` names the same components and gains and it is whole).

    Returns:
        ``frames``.

    Raises:
        MediaError: a component WAV is missing or not 16 kHz mono of ``frames`` samples.
    """
    import soundfile as sf

    datas = [read_file_bytes(Path(s), "component clip") for s in sources]
    p = prov.digest("mix", prov.FORMAT, int(frames), [float(g) for g in gains_db], *datas)
    dest = Path(out) / rel
    if prov.matches((recorded or {}).get(rel), p, dest):
        return frames
    xs = []
    for s, data in zip(sources, datas, strict=True):
        try:
            x, sr = sf.read(io.BytesIO(data), dtype="float64", always_2d=False)
        except Exception as e:
            raise MediaError(f"cannot read component clip {s}: {e}") from None
        if sr != SAMPLE_RATE or x.ndim != 1 or x.size != frames:
            raise MediaError(f"component clip {s} is not {SAMPLE_RATE} Hz mono of {frames} samples")
        xs.append(x)
    buf = io.BytesIO()
    sf.write(buf, mix(xs, gains_db), SAMPLE_RATE, subtype="PCM_16", format="WAV")
    wav = buf.getvalue()
    prov.append(out, prov.entry(rel, p, wav, frames=int(frames)))
    write_media(dest, wav)
    return frames


def union_mask(paths: Sequence[str], width: int, height: int) -> np.ndarray:
    """OR of the 0/255 PNG masks ``paths`` (all ``width`` x ``height``); all-False if none."""
    return _union([(p, read_file_bytes(Path(p), "instance mask")) for p in paths], width, height)


def _union(masks: Sequence[tuple[str, bytes]], width: int, height: int) -> np.ndarray:
    from PIL import Image

    out = np.zeros((height, width), bool)
    for p, data in masks:
        try:
            with Image.open(io.BytesIO(data)) as im:
                a = np.asarray(im.convert("L")) > 127
        except Exception as e:
            raise MediaError(f"cannot read instance mask {p}: {e}") from None
        if a.shape != out.shape:
            raise MediaError(
                f"instance mask {p} is {a.shape[1]}x{a.shape[0]}, not {width}x{height}"
            )
        out |= a
    return out


def materialise_union(
    paths: Sequence[str],
    width: int,
    height: int,
    out: str,
    rel: str,
    recorded: dict[str, dict[str, Any]] | None = None,
) -> tuple[int, int]:
    """Write the union of the instance PNGs ``paths`` to ``out/rel`` (kept when its
    provenance line in ``recorded`` names the same instances and size and it is whole)."""
    masks = [(p, read_file_bytes(Path(p), "instance mask")) for p in paths]
    pr = prov.digest("union", prov.FORMAT, int(width), int(height), *(d for _, d in masks))
    dest = Path(out) / rel
    if not prov.matches((recorded or {}).get(rel), pr, dest):
        png = encode_mask_png(_union(masks, width, height))
        prov.append(out, prov.entry(rel, pr, png))
        write_media(dest, png)
    return width, height


__all__ = [
    "PEAK_DBFS",
    "TARGET_LUFS",
    "loudness_db",
    "materialise_mix",
    "materialise_union",
    "mix",
    "union_mask",
]
