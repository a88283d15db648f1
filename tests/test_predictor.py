"""avsmodel.Predictor: the same masks as `avsmodel predict`, the AP-SAM embedding computed
once per image, batched prediction equal to one-by-one prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from _pretrained_helpers import run_cli, trained, world
from PIL import Image

from avsmodel import Predictor
from avsmodel.data.dataset import LogMelCache, read_rgb
from avsmodel.errors import ConfigError, DataError
from avsmodel.inference import predict_arrays
from avsmodel.pretrained.build import build_from_checkpoint

pytestmark = pytest.mark.slow  # trains two tiny models (~20 s each)

FAMILIES = ("sama_avs_tiny", "ap_sam_tiny")


def _media(factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = world(factory).parent
    images = sorted((root / "images").glob("*.png"))
    clips = sorted((root / "audio").glob("*.wav"))
    return images[-1], clips[-3:]


@pytest.mark.parametrize("name", FAMILIES)
def test_predict_equals_the_cli(name, tmp_path_factory, tmp_path, capsys) -> None:
    ckpt = trained(tmp_path_factory, name)
    image, clips = _media(tmp_path_factory)
    predictor = Predictor.from_checkpoint(ckpt)
    predictor.set_image(read_rgb(image))
    net, meta = build_from_checkpoint(ckpt)
    fractions = []
    for clip in clips:
        out = tmp_path / f"{clip.stem}.png"
        code, _, err = run_cli(
            ["predict", str(ckpt), "--image", str(image), "--audio", str(clip), "--out", str(out)],
            capsys,
        )
        assert code == 0, err
        cli_mask = np.asarray(Image.open(out)) > 0
        wave, rate = sf.read(clip, dtype="float32")
        mask = predictor.predict(wave, rate)
        assert mask.dtype == bool and mask.shape == cli_mask.shape
        assert np.array_equal(mask, cli_mask)
        # The logits too, against the function the CLI runs (same model, same examples).
        ref = predict_arrays(net, read_rgb(image), LogMelCache(0).get(clip))
        assert np.array_equal(predictor.predict_logits(wave, rate), ref)
        fractions.append(mask.mean())
    assert 0.0 < min(fractions) and max(fractions) < 1.0  # the comparison is not vacuous


@pytest.mark.parametrize("name", FAMILIES)
def test_resampled_audio_goes_through_the_same_front_end(name, tmp_path_factory) -> None:
    """A 44.1 kHz stereo waveform gives what predict gives for that file (decoded, resampled
    and averaged by avsynth.audio)."""
    from avsynth.audio.decode import decode_audio

    ckpt = trained(tmp_path_factory, name)
    image, clips = _media(tmp_path_factory)
    wave16, _ = sf.read(clips[0], dtype="float32")
    t = np.arange(int(1.5 * 44100)) / 44100.0
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 900 * t)], 1)
    path = tmp_path_factory.mktemp("sr") / "stereo.wav"
    sf.write(path, stereo, 44100, subtype="FLOAT")
    file_wave, file_rate = sf.read(path, dtype="float32")
    predictor = Predictor.from_checkpoint(ckpt)
    predictor.set_image(read_rgb(image))
    net, _ = build_from_checkpoint(ckpt)
    ref = predict_arrays(net, read_rgb(image), LogMelCache(0).get(path))
    assert np.array_equal(predictor.predict_logits(file_wave, file_rate), ref)
    assert decode_audio(path).size == int(1.5 * 16000)  # it really was resampled


def test_ap_sam_encodes_the_image_once(tmp_path_factory) -> None:
    ckpt = trained(tmp_path_factory, "ap_sam_tiny")
    image, clips = _media(tmp_path_factory)
    predictor = Predictor.from_checkpoint(ckpt)
    calls = []
    predictor.model.image_encoder.patch_embed.register_forward_hook(
        lambda m, i, o: calls.append(o.shape[0])
    )
    predictor.set_image(read_rgb(image))
    waves = [sf.read(c, dtype="float32")[0] for c in clips]
    for w in waves:
        predictor.predict(w, 16000)
    predictor.predict_many(waves, 16000)
    assert calls == [1]  # one image through the encoder, for four predictions
    predictor.set_image(read_rgb(image))
    assert calls == [1, 1]


def test_sama_avs_reencodes_per_sound(tmp_path_factory) -> None:
    ckpt = trained(tmp_path_factory, "sama_avs_tiny")
    image, clips = _media(tmp_path_factory)
    predictor = Predictor.from_checkpoint(ckpt)
    calls = []
    predictor.model.image_encoder.patch_embed.register_forward_hook(
        lambda m, i, o: calls.append(o.shape[0])
    )
    predictor.set_image(read_rgb(image))
    assert calls == []  # preprocessing only: the encoder needs the sound
    for c in clips:
        predictor.predict(sf.read(c, dtype="float32")[0], 16000)
    assert calls == [1, 1, 1]


@pytest.mark.parametrize("name", FAMILIES)
def test_predict_many_equals_single_predictions(name, tmp_path_factory) -> None:
    ckpt = trained(tmp_path_factory, name)
    image, clips = _media(tmp_path_factory)
    predictor = Predictor.from_checkpoint(ckpt)
    predictor.set_image(read_rgb(image))
    waves = [sf.read(c, dtype="float32")[0] for c in clips]
    single = np.stack([predictor.predict_logits(w, 16000) for w in waves])
    many = predictor.predict_many_logits(waves, 16000, batch_size=2)  # 2 + 1
    assert many.shape == (len(waves), *single.shape[1:])
    np.testing.assert_allclose(many, single, rtol=0, atol=1e-5)
    assert np.array_equal(predictor.predict_many(waves, 16000), single > 0)


def test_user_errors_are_one_line(tmp_path_factory) -> None:
    ckpt = trained(tmp_path_factory, "ap_sam_tiny")
    image, _ = _media(tmp_path_factory)
    predictor = Predictor.from_checkpoint(ckpt)
    with pytest.raises(ConfigError, match="set_image"):
        predictor.predict(np.zeros(16000, np.float32), 16000)
    with pytest.raises(DataError, match="uint8 HxWx3"):
        predictor.set_image(np.zeros((8, 8), np.uint8))
    predictor.set_image(read_rgb(image))
    with pytest.raises(DataError, match="shorter than one VGGish example"):
        predictor.predict(np.zeros(8000, np.float32), 16000)
    with pytest.raises(DataError, match=r"\[T\] or \[T, channels\]"):
        predictor.predict(torch.zeros(2, 2, 16000), 16000)
