"""VGGish audio front end (pure numpy): waveform -> log-mel examples ``[N,1,96,64]``.

Same computation as torchvggish's ``vggish_input.waveform_to_examples`` (TensorFlow VGGish's
``mel_features.py``): mono (channels averaged), 16 kHz, frames of 25 ms (400 samples) every
10 ms (160 samples) with a periodic Hann window, |FFT| of 512 points, 64 HTK-mel bands
125-7500 Hz (triangles linear in mel, DC bin zeroed), ``log(mel + 0.01)``, then examples of
96 frames (0.96 s) with hop 96 (no overlap); incomplete trailing frames/examples dropped.

Resampling goes through :func:`avsynth.audio.decode.resample` (soxr ``HQ``), the resampler of every
other audio path (build, inspect, export, training), so a waveform gives the same examples
whether it is passed here at its own rate or decoded by :func:`avsynth.audio.decode.decode_audio`
first. torchvggish resamples with resampy (Kaiser windowed sinc) instead: at 16 kHz input no
resampling happens and the results agree to float precision (tested < 1e-3, in practice
~1e-6); from 44.1/48/22.05 kHz the examples differ only in the top two mel bands (7.1-7.5 kHz,
where the two resamplers' anti-aliasing filters roll off differently).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from avsynth.audio.decode import resample as _resample
from avsynth.constants import SAMPLE_RATE
from avsynth.errors import MediaError

WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
FFT = 512
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96
#: Shortest waveform that yields one example (0.975 s at 16 kHz).
MIN_SAMPLES = (EXAMPLE_FRAMES - 1) * HOP + WINDOW
#: The same in seconds (0.975): the shortest clip any avsynth/avsmodel command accepts.
MIN_SECONDS = MIN_SAMPLES / SAMPLE_RATE


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


@lru_cache(maxsize=1)
def mel_matrix() -> np.ndarray:
    """``257x64`` matrix mapping |STFT| bins to HTK mel bands (DC row zero)."""
    bins = FFT // 2 + 1
    bin_mel = _hz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2, bins))
    edges = np.linspace(_hz_to_mel(MEL_MIN_HZ), _hz_to_mel(MEL_MAX_HZ), MEL_BANDS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    up = (bin_mel[:, None] - lower) / (center - lower)
    down = (upper - bin_mel[:, None]) / (upper - center)
    m = np.maximum(0.0, np.minimum(up, down))
    m[0, :] = 0.0
    return m


def _frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    n = 1 + (x.shape[0] - length) // hop
    return np.lib.stride_tricks.as_strided(
        x, shape=(n, length) + x.shape[1:], strides=(x.strides[0] * hop,) + x.strides
    )


def to_mono(waveform: np.ndarray) -> np.ndarray:
    """1-D float64 mono signal; 2-D input is averaged over channels.

    2-D arrays are ``[samples, channels]`` (soundfile layout) unless the first dimension is
    the smaller one, in which case they are read as ``[channels, samples]`` (torchaudio).
    """
    x = np.asarray(waveform, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1) if x.shape[0] >= x.shape[1] else x.mean(axis=0)
    if x.ndim != 1:
        raise MediaError(f"waveform must be 1-D or 2-D, got shape {x.shape}")
    return x


def resample(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Resample mono ``x`` from ``sample_rate`` to 16 kHz
    (:func:`avsynth.audio.decode.resample`)."""
    return _resample(x, sample_rate, SAMPLE_RATE)


def log_mel(x: np.ndarray) -> np.ndarray:
    """16 kHz mono -> ``[frames, 64]`` log-mel spectrogram (float64)."""
    window = 0.5 - 0.5 * np.cos(2 * np.pi / WINDOW * np.arange(WINDOW))  # periodic Hann
    spec = np.abs(np.fft.rfft(_frames(x, WINDOW, HOP) * window, FFT))
    return np.log(spec @ mel_matrix() + LOG_OFFSET)


def vggish_examples(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """Log-mel examples for VGGish.

    Args:
        waveform: samples in [-1, 1]; 1-D mono or 2-D multi-channel (see :func:`to_mono`).
        sample_rate: sampling rate of ``waveform`` in Hz (resampled to 16 kHz if different).

    Returns:
        ``Nx1x96x64`` float32, N = number of complete 0.96 s examples.

    Raises:
        MediaError: the waveform is shorter than one example (0.975 s) or not finite.
    """
    x = resample(to_mono(waveform), int(sample_rate))
    if x.shape[0] < MIN_SAMPLES:
        raise MediaError(
            f"audio of {x.shape[0] / SAMPLE_RATE:.3f} s is shorter than one VGGish example "
            f"({MIN_SECONDS:.3f} s); pad or use a longer clip"
        )
    if not np.isfinite(x).all():
        raise MediaError("waveform contains NaN or infinite samples")
    mel = log_mel(np.ascontiguousarray(x))
    ex = _frames(mel, EXAMPLE_FRAMES, EXAMPLE_FRAMES)
    return np.ascontiguousarray(ex, dtype=np.float32)[:, None]
