"""A mix is as loud as the clips it is made of (so loudness does not tell a mixed triplet from
an unmixed one) and keeps the components' balance (normalised loudness plus seeded gain)."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from avsynth.materialise.mix import mix

SR = 16000


def _tone(freq: float, dbfs: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return 10 ** (dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * freq * t)


def test_mix_loudness_is_the_mean_of_its_components_loudness():
    meter = pyloudnorm.Meter(SR)
    a, b = _tone(440.0, -14.0), _tone(1000.0, -30.0)
    la, lb = meter.integrated_loudness(a), meter.integrated_loudness(b)
    y = mix([a, b], [2.0, -3.0])
    assert meter.integrated_loudness(y) == pytest.approx((la + lb) / 2, abs=0.05)
    # the balance: after normalising, a is 5 dB above b (its gain 2 vs -3); project y on each
    # tone (they are orthogonal over whole periods) to read each one's amplitude back
    amp_a = 2 * np.dot(y, a / np.max(np.abs(a))) / len(y)
    amp_b = 2 * np.dot(y, b / np.max(np.abs(b))) / len(y)
    # each normalised tone's amplitude is 10**((-26 - L + g)/20) * its own peak, times the
    # common scale: their ratio does not depend on the scale
    want = (10 ** ((-26 - la + 2) / 20) * np.max(np.abs(a))) / (
        10 ** ((-26 - lb - 3) / 20) * np.max(np.abs(b))
    )
    assert amp_a / amp_b == pytest.approx(want, rel=1e-3)


def test_mix_of_loud_clips_is_peak_limited_and_silence_stays_silent():
    y = mix([_tone(300.0, -2.0), _tone(500.0, -2.0)], [4.0, 4.0])
    assert np.max(np.abs(y)) == pytest.approx(10 ** (-1 / 20), rel=1e-9)
    z = np.zeros(2 * SR)
    assert not mix([z, z], [0.0, 0.0]).any()
    # a silent component does not change the level of the other
    meter = pyloudnorm.Meter(SR)
    a = _tone(440.0, -20.0)
    assert meter.integrated_loudness(mix([a, z], [3.0, -4.0])) == pytest.approx(
        meter.integrated_loudness(a), abs=0.05
    )
