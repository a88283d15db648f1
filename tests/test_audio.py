"""VGGish front end: equal to torchvggish's waveform_to_examples, and hand-checked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avsmodel.audio import LOG_OFFSET, vggish_examples
from avsmodel.errors import DataError

SR = 16000


def _signal(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    x = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 2500 * t + 1.0)
    return x + 0.05 * rng.standard_normal(t.shape)


def _reference(x: np.ndarray) -> np.ndarray:
    """Independent transcription of TF VGGish's mel_features.py semantics (loops, scipy)."""
    from scipy.signal import get_window

    win, hop, nfft = 400, 160, 512
    window = get_window("hann", win, fftbins=True)  # periodic Hann
    starts = range(0, len(x) - win + 1, hop)
    spec = np.stack([np.abs(np.fft.rfft(x[s : s + win] * window, nfft)) for s in starts])

    def mel(f):
        return 1127.0 * np.log(1.0 + f / 700.0)

    nbins = nfft // 2 + 1
    edges = np.linspace(mel(125.0), mel(7500.0), 64 + 2)
    weights = np.zeros((nbins, 64))
    for b in range(1, nbins):  # DC bin excluded (HTK)
        m = mel(b * (SR / 2) / (nbins - 1))
        for i in range(64):
            lo, c, hi = edges[i], edges[i + 1], edges[i + 2]
            weights[b, i] = max(0.0, min((m - lo) / (c - lo), (hi - m) / (hi - c)))
    logmel = np.log(spec @ weights + 0.01)
    n = (logmel.shape[0] - 96) // 96 + 1
    return np.stack([logmel[k * 96 : k * 96 + 96] for k in range(n)])[:, None]


def test_matches_independent_reference():
    x = _signal(3.5)
    ex = vggish_examples(x, SR)
    assert ex.shape == (3, 1, 96, 64) and ex.dtype == torch.float32
    np.testing.assert_allclose(ex.numpy(), _reference(x), atol=1e-5)


def test_matches_torchvggish():
    vi = pytest.importorskip("torchvggish.vggish_input", reason="torchvggish not installed")
    x = _signal(4.2, seed=1)
    ref = vi.waveform_to_examples(x, SR, return_tensor=True).detach()
    ours = vggish_examples(x, SR)
    assert ours.shape == ref.shape == (4, 1, 96, 64)
    assert (ours - ref).abs().max() < 1e-3
    stereo = np.stack([x, _signal(4.2, seed=2)], axis=1)  # soundfile layout [samples, ch]
    ref = vi.waveform_to_examples(stereo, SR, return_tensor=True).detach()
    assert (vggish_examples(stereo, SR) - ref).abs().max() < 1e-3
    # Other rates: torchvggish resamples with resampy, we with soxr (documented difference).
    x44 = _signal(4.0, 44100, seed=6)
    diff = vggish_examples(x44, 44100) - vi.waveform_to_examples(x44, 44100).detach()
    assert diff.abs().mean() < 0.02


def test_example_count_and_short_audio():
    assert vggish_examples(_signal(10.0), SR).shape[0] == 10
    assert vggish_examples(np.zeros(15600), SR).shape[0] == 1  # 0.975 s: exactly one example
    with pytest.raises(DataError, match="shorter than one VGGish example"):
        vggish_examples(np.zeros(15599), SR)
    with pytest.raises(DataError, match="NaN"):
        vggish_examples(np.full(16000, np.nan), SR)


def test_silence_and_tone_properties():
    silent = vggish_examples(np.zeros(SR), SR)
    assert torch.allclose(silent, torch.full_like(silent, float(np.log(LOG_OFFSET))))
    t = np.arange(2 * SR) / SR
    tone = vggish_examples(0.5 * np.sin(2 * np.pi * 1000 * t), SR)
    band = int(tone[0, 0].mean(0).argmax())

    def mel(f):
        return 1127.0 * np.log(1.0 + f / 700.0)

    centers = np.linspace(mel(125.0), mel(7500.0), 66)[1:-1]
    assert abs(band - int(np.abs(centers - mel(1000.0)).argmin())) <= 1


def test_channel_layouts_and_tensor_input():
    a, b = _signal(2.0, seed=3), _signal(2.0, seed=4)
    mono = vggish_examples((a + b) / 2, SR)
    torch.testing.assert_close(vggish_examples(np.stack([a, b], axis=1), SR), mono)
    torch.testing.assert_close(vggish_examples(np.stack([a, b], axis=0), SR), mono)
    torch.testing.assert_close(vggish_examples(torch.from_numpy(np.stack([a, b])), SR), mono)


def test_resampling_close_to_native_rate():
    t = np.arange(3 * 44100) / 44100
    x44 = 0.4 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 2500 * t + 1.0)
    t16 = np.arange(3 * SR) / SR
    clean16 = 0.4 * np.sin(2 * np.pi * 440 * t16) + 0.2 * np.sin(2 * np.pi * 2500 * t16 + 1.0)
    a = vggish_examples(x44, 44100)
    b = vggish_examples(clean16, SR)
    assert a.shape == b.shape == (3, 1, 96, 64)
    # Strong bands agree closely; quiet bands differ by the resampler's tiny leakage only.
    strong = b > -1.0
    assert strong.any() and (a - b)[strong].abs().max() < 0.05
