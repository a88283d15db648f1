"""One decode-and-resample path: a sound gives the same VGGish features in any container.

The same sound is written as a 44.1 kHz WAV, a 44.1 kHz FLAC, a 44.1 kHz mp4 (AAC, PyAV) and a
16 kHz WAV. The 16 kHz WAV is synthesised at 16 kHz directly (a sum of sines, so both rates
hold exactly the same signal), independently of any resampler. Features are computed the way
training computes them (``LogMelCache``: :mod:`avsynth.audio.decode` decode + resample, then
the VGGish front end) and, for the build path, from the WAV the build materialises.

Tolerances (natural-log mel units; features span about -4.6 .. +3), measured when written:

* lossless 44.1 kHz (wav, flac) vs 16 kHz wav: max |diff| 0.0019 -> asserted <= 0.01;
* AAC mp4 vs 16 kHz wav: mean |diff| 0.050, 99th percentile 0.28 (the codec's own loss)
  -> asserted mean <= 0.1 and 99th percentile <= 0.5;
* a different sound (the same sines 3 % higher) is far outside both: mean |diff| > 0.3.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avsmodel.data.dataset import LogMelCache
from avsynth.audio.decode import decode_audio
from avsynth.audio.logmel import vggish_examples
from avsynth.testing.media import write_audio

SECONDS = 3.0
LOSSLESS_MAX = 0.01
AAC_MEAN, AAC_P99 = 0.1, 0.5


def _sound(rate: int, *, pitch: float = 1.0) -> np.ndarray:
    """300 sines 100-7200 Hz (1/sqrt(f) amplitudes, fixed phases), slowly amplitude-modulated."""
    rng = np.random.default_rng(0)
    freqs = np.sort(rng.uniform(100.0, 7200.0, 300)) * pitch
    phases = rng.uniform(0.0, 2 * np.pi, 300)
    amps = 1.0 / np.sqrt(freqs / 100.0)
    amps *= 3.0 / amps.sum()
    t = np.arange(int(rate * SECONDS)) / rate
    x = np.zeros_like(t)
    for a, f, p in zip(amps, freqs, phases, strict=True):
        x += a * np.sin(2 * np.pi * f * t + p)
    return x * (0.6 + 0.4 * np.sin(2 * np.pi * 1.3 * t))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    x44, x16 = _sound(44100), _sound(16000)
    assert np.abs(x44).max() < 1.0  # no clipping in the 16-bit files
    return {
        "wav44": write_audio(d / "s44.wav", x44, 44100),
        "flac44": write_audio(d / "s44.flac", x44, 44100),
        "mp4": write_audio(d / "s44.mp4", x44, 44100),
        "wav16": write_audio(d / "s16.wav", x16, 16000),
        "other": write_audio(d / "other.wav", _sound(16000, pitch=1.03), 16000),
    }


def _features(path: Path) -> np.ndarray:
    return LogMelCache(0).get(path, SECONDS).numpy()


def test_reference_is_the_analytic_16k_signal(clips) -> None:
    # The 16 kHz file is the sound itself (16-bit quantised), not a resampler's output.
    got = _features(clips["wav16"])
    want = vggish_examples(_sound(16000), 16000)
    assert got.shape == want.shape == (3, 1, 96, 64)
    assert np.abs(got - want).max() < 0.005


@pytest.mark.parametrize("name", ["wav44", "flac44"])
def test_lossless_44k_gives_the_16k_features(clips, name: str) -> None:
    ref = _features(clips["wav16"])
    got = _features(clips[name])
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= LOSSLESS_MAX


def test_aac_mp4_gives_the_16k_features_up_to_codec_loss(clips) -> None:
    ref = _features(clips["wav16"])
    diff = np.abs(_features(clips["mp4"]) - ref)
    assert diff.shape == ref.shape
    assert diff.mean() <= AAC_MEAN and np.percentile(diff, 99) <= AAC_P99


def test_a_different_sound_is_outside_the_tolerances(clips) -> None:
    diff = np.abs(_features(clips["other"]) - _features(clips["wav16"]))
    assert diff.mean() > 0.3 > AAC_MEAN and diff.max() > 10 * LOSSLESS_MAX


def test_waveform_at_its_own_rate_equals_decoded_file(clips) -> None:
    # The front end resamples a raw waveform with the same resampler the decoder uses.
    import soundfile as sf

    wave, rate = sf.read(clips["wav44"], dtype="float32")
    direct = vggish_examples(wave, rate)
    decoded = vggish_examples(decode_audio(clips["wav44"]), 16000)
    np.testing.assert_allclose(direct, decoded, atol=1e-4)


@pytest.mark.parametrize("name", ["wav44", "flac44", "mp4"])
def test_build_wav_gives_the_training_features(clips, name: str, tmp_path: Path) -> None:
    # The build decodes a clip once into a 16 kHz WAV; training on it sees what training on
    # the source clip (plan-only) sees, up to the WAV's 16-bit quantisation.
    from avsynth.materialise.convert import materialise_clip
    from avsynth.sources.records import SourceClip

    src = clips[name]
    clip = SourceClip("yt", 0, "label", "train", src.name, 1)
    materialise_clip(clip, str(src.parent), str(tmp_path), SECONDS)
    wav = tmp_path / "audio" / "yt_000000.wav"
    np.testing.assert_allclose(_features(wav), _features(src), atol=0.01)
