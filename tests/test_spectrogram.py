"""The inspect spectrogram is VGGish's own log-mel (HTK mel, log(magnitude + 0.01)): the
picture shows exactly the numbers the model's audio encoder gets, drawn without librosa."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from avsynth.inspection.spectrogram import log_mel


def _tone(seconds: float, rate: int, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_spectrogram_is_the_models_input() -> None:
    from avsynth.audio.logmel import vggish_examples

    wave = _tone(2.0, 16000)
    bands = log_mel(wave, 16000)
    examples = vggish_examples(wave, 16000)  # what VGGish is fed: [N, 1, 96, 64]
    assert bands.shape == (64, 198) and examples.shape == (2, 1, 96, 64)
    np.testing.assert_allclose(bands[:, :96].T, examples[0, 0], rtol=0, atol=1e-5)
    np.testing.assert_allclose(bands[:, 96:192].T, examples[1, 0], rtol=0, atol=1e-5)


def test_spectrogram_puts_a_tone_in_its_htk_band_and_silence_at_log_001() -> None:
    bands = log_mel(_tone(1.0, 16000, hz=1000.0), 16000)
    # HTK mel of 1000 Hz within 125-7500 Hz split into 65 equal steps: band ~ 21.
    lo, hi, f = (1127 * np.log1p(x / 700) for x in (125.0, 7500.0, 1000.0))
    expected = round((f - lo) / (hi - lo) * 65) - 1
    assert abs(int(np.argmax(bands.mean(axis=1))) - expected) <= 1
    silent = log_mel(np.zeros(16000, dtype=np.float32), 16000)
    np.testing.assert_allclose(silent, np.log(0.01), rtol=0, atol=1e-6)


def test_render_spectrogram_draws_a_png_without_librosa(tmp_path) -> None:
    code = (
        "import sys, numpy as np\n"
        "from avsynth.inspection.spectrogram import render_spectrogram\n"
        "x = np.sin(np.arange(44100) * 0.1).astype(np.float32)\n"
        f"render_spectrogram(x, 44100, {str(tmp_path / 's.png')!r}, title='tone')\n"
        "print('librosa' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
    from PIL import Image

    with Image.open(tmp_path / "s.png") as im:
        assert im.format == "PNG" and im.size == (400, 300)
