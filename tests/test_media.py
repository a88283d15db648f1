"""Audio and image decoding: resampling, mono mix-down, mp4 (AAC) audio, errors naming files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from avsynth.audio.decode import decode_audio
from avsynth.errors import MediaError
from avsynth.sources.images import read_image, read_image_size
from avsynth.testing.sources import write_audio


def _peak_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


def test_wav_44k_stereo_to_16k_mono(tmp_path):
    sr = 44100
    t = np.arange(2 * sr) / sr
    left = 0.5 * np.sin(2 * np.pi * 1000 * t)
    right = 0.1 * np.sin(2 * np.pi * 1000 * t)
    sf.write(tmp_path / "x.wav", np.stack([left, right], 1), sr, subtype="FLOAT")
    y = decode_audio(tmp_path / "x.wav")
    assert y.dtype == np.float32 and y.ndim == 1 and len(y) == 32000
    assert _peak_hz(y, 16000) == pytest.approx(1000, abs=2)
    assert np.abs(y[1000:-1000]).max() == pytest.approx(0.3, abs=0.01)  # channel mean
    part = decode_audio(tmp_path / "x.wav", offset=0.5, duration=1.0)
    assert len(part) == 16000
    np.testing.assert_allclose(part[2000:14000], y[10000:22000], atol=1e-3)


@pytest.mark.parametrize("video", [False, True])
def test_mp4_aac_roundtrip(tmp_path, video):
    sr = 22050
    x = 0.3 * np.sin(2 * np.pi * 660 * np.arange(3 * sr) / sr)
    path = write_audio(tmp_path / "clip.mp4", x, sr, video=video)
    import av

    with av.open(str(path)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
        assert len(c.streams.video) == int(video)
    y = decode_audio(path)
    assert abs(len(y) - 48000) <= 16  # encoder padding cut to the stream duration
    assert _peak_hz(y, 16000) == pytest.approx(660, abs=2)
    assert np.abs(y[2000:-2000]).max() == pytest.approx(0.3, abs=0.05)
    assert len(decode_audio(path, offset=1.0, duration=1.5)) == 24000


def test_flac_and_sample_rate(tmp_path):
    x = 0.2 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000)
    path = write_audio(tmp_path / "a.flac", x, 16000)
    y = decode_audio(path, sample_rate=8000)
    assert len(y) == 8000 and _peak_hz(y, 8000) == pytest.approx(300, abs=2)
    np.testing.assert_allclose(decode_audio(path), x, atol=1e-4)  # no resampling: 16-bit exact


def test_audio_errors_name_the_file(tmp_path):
    with pytest.raises(MediaError, match=r"missing.wav: audio file not found"):
        decode_audio(tmp_path / "missing.wav")
    for name in ("junk.wav", "junk.mp4", "junk.flac"):
        (tmp_path / name).write_bytes(b"definitely not audio" * 10)
        with pytest.raises(MediaError, match=rf"{name}: audio does not decode"):
            decode_audio(tmp_path / name)


def test_read_image_keeps_stored_orientation(tmp_path):
    arr = np.zeros((20, 30, 3), np.uint8)
    arr[:, :10] = 255
    im = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": must NOT be applied
    im.save(tmp_path / "a.jpg", quality=95, exif=exif)
    out = read_image(tmp_path / "a.jpg")
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    assert out[:, :8].mean() > 240 and out[:, 12:].mean() < 15
    assert read_image_size(tmp_path / "a.jpg") == (30, 20)
    Image.fromarray(arr[..., 0]).save(tmp_path / "g.png")
    assert read_image(tmp_path / "g.png").shape == (20, 30, 3)


def test_image_errors_name_the_file(tmp_path):
    with pytest.raises(MediaError, match=r"nope.jpg: image not found"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(MediaError, match=r"nope.jpg: image not found"):
        read_image_size(tmp_path / "nope.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(MediaError, match=r"bad.jpg"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(MediaError, match=r"bad.jpg"):
        read_image_size(tmp_path / "bad.jpg")


def test_mp4_stereo_44k_mixed_to_mono(tmp_path):
    sr = 44100
    t = np.arange(sr) / sr
    x = np.stack([0.4 * np.sin(2 * np.pi * 500 * t), np.zeros_like(t)], 1)
    y = decode_audio(write_audio(tmp_path / "st.mp4", x, sr))
    assert abs(len(y) - 16000) <= 16
    assert np.abs(y[2000:-2000]).max() == pytest.approx(0.2, abs=0.03)
