"""The one audio path of avsynth and avsmodel: decode a clip, mix to mono, resample to 16 kHz.

Every sound that reaches a file or a model goes through here: the build's WAVs, verify,
inspect's spectrograms, the AVSBench export's log-mel pickles and avsmodel's datasets, so a
clip gives the same samples (and the same VGGish features) whatever container it arrived in.

* Decoding: ``soundfile`` (libsndfile) for wav/flac/ogg; PyAV (FFmpeg) for the audio stream of
  mp4/m4a/mkv/webm/mov/aac and anything libsndfile cannot open. Channels are averaged.
* Resampling: :func:`resample`, libsoxr at its ``HQ`` setting (the quality librosa uses by
  default). Chosen over ``VHQ`` because the builds have always written their WAVs with it (so
  materialised outputs stay byte-identical) and the two differ only in stop-band precision
  (20 vs 28 bits), far below the 16-bit PCM and AAC noise the clips carry; on the VGGish
  log-mel features of a 44.1 kHz clip the two differ by a mean of about 1e-4 (measured on the
  test tone of ``tests/test_audio_paths.py``). torchvggish used resampy instead; the resulting
  difference is confined to the top mel bands (see ``docs/training.md``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from avsynth.constants import SAMPLE_RATE
from avsynth.errors import MediaError

__all__ = ["SAMPLE_RATE", "decode_audio", "resample"]

#: Suffixes decoded with PyAV first (libsndfile cannot read these containers).
PYAV_SUFFIXES = (".mp4", ".m4a", ".mkv", ".webm", ".mov", ".aac")


def resample(x: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample mono ``x`` from ``rate`` to ``target`` Hz with soxr ``HQ`` (dtype kept).

    Returns ``x`` itself when the rates are equal or ``x`` is empty.
    """
    if int(rate) == int(target) or x.size == 0:
        return x
    import soxr

    return soxr.resample(x, int(rate), int(target), quality="HQ")


def _read_soundfile(path: Path, offset: float, duration: float | None):
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        sr = f.samplerate
        start = int(round(offset * sr))
        if start:
            f.seek(min(start, f.frames))
        frames = -1 if duration is None else int(round(duration * sr))
        data = f.read(frames=frames, dtype="float32", always_2d=True)
    return data.mean(axis=1, dtype=np.float32), sr


def _read_pyav(path: Path, offset: float, duration: float | None):
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        sr = int(stream.codec_context.sample_rate or stream.rate)
        start = int(round(offset * sr))
        stop = None if duration is None else start + int(round(duration * sr))
        # Frames are kept as the decoder gives them when already planar float (AAC's native
        # output) and converted otherwise; channels are mixed once at the end (per-frame
        # conversion and mixing of ~470 frames per 10 s clip cost more than the decoding).
        resampler = None
        chunks: list[np.ndarray] = []
        total = 0
        for frame in container.decode(stream):
            if frame.format.name == "fltp" and frame.sample_rate == sr:
                outs = (frame,)
            else:
                if resampler is None:
                    resampler = av.AudioResampler(format="fltp", rate=sr)
                outs = resampler.resample(frame)
            for out in outs:
                a = out.to_ndarray()
                chunks.append(a)
                total += a.shape[1]
            if stop is not None and total >= stop:
                break
        else:
            if resampler is not None:
                chunks.extend(out.to_ndarray() for out in resampler.resample(None))
        # Encoders pad the last frame: cut to the stream's declared duration when known.
        n_max = None
        if stream.duration is not None and stream.time_base is not None:
            n_max = int(round(float(stream.duration * stream.time_base) * sr))
    if not chunks:
        raise ValueError("no decodable audio frames")
    if len({c.shape[0] for c in chunks}) == 1:
        data = np.concatenate(chunks, axis=1).mean(axis=0, dtype=np.float32)
    else:  # the channel layout changed mid-stream: mix each part on its own
        data = np.concatenate([c.mean(axis=0, dtype=np.float32) for c in chunks])
    data = data[:n_max]
    return data[start:stop].astype(np.float32), sr


def decode_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int = SAMPLE_RATE,
    duration: float | None = None,
    offset: float = 0.0,
    pad: bool = False,
) -> np.ndarray:
    """Decode an audio file (wav/flac/mp4/...) to mono float32 at ``sample_rate``.

    Channels are averaged; the signal goes through :func:`resample` when the file's rate
    differs. ``offset``/``duration`` are in seconds of the file.

    Args:
        path: The clip.
        sample_rate: Output rate (default 16 kHz).
        duration: Seconds to read (default: to the end).
        offset: Seconds to skip first.
        pad: With ``duration``, pad a shorter file with silence to exactly
            ``round(duration * sample_rate)`` samples (as the build writes its WAVs); without
            it, a short file yields fewer samples.

    Raises:
        MediaError: The file is missing or has no decodable audio (message names it).
    """
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"{p}: audio file not found")
    data = sr = None
    errors = []
    if p.suffix.lower() not in PYAV_SUFFIXES:
        try:
            data, sr = _read_soundfile(p, offset, duration)
        except Exception as e:  # soundfile raises RuntimeError/LibsndfileError/TypeError
            errors.append(str(e))
    if data is None:
        try:
            data, sr = _read_pyav(p, offset, duration)
        except Exception as e:  # av.error.* and ValueError
            errors.append(str(e))
            raise MediaError(f"{p}: audio does not decode ({'; '.join(errors)})") from None
    data = np.ascontiguousarray(resample(data, sr, sample_rate), dtype=np.float32)
    if pad and duration is not None:
        want = int(round(duration * sample_rate))
        data = np.pad(data[:want], (0, max(0, want - data.size)))
    return data
