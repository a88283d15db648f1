"""One minimum audio length (one VGGish example), stated and enforced the same everywhere.

Issue 13 item 21: ``predict --help`` said 0.96 s while 0.965 s clips were refused (one VGGish
example of 96 frames of 25 ms every 10 ms needs 95 * 160 + 400 = 15600 samples = 0.975 s at
16 kHz). Export and the training/evaluation reader check the recorded clip length up front.
"""

from __future__ import annotations

import numpy as np
import pytest
from _train_helpers import make_manifest
from inspect_fixtures import make_build
from typer.testing import CliRunner

from avsmodel.errors import DataError
from avsynth.audio.logmel import MIN_SAMPLES, SAMPLE_RATE, vggish_examples
from avsynth.errors import ManifestError, MediaError
from avsynth.inspection import export_avsbench

WANT = (96 - 1) * 160 + 400  # samples of one example: 95 hops of 10 ms plus one 25 ms window


def test_the_minimum_is_one_vggish_example():
    from avsynth.audio.logmel import MIN_SECONDS

    assert MIN_SAMPLES == WANT == 15600 and MIN_SECONDS == WANT / 16000 == 0.975
    assert SAMPLE_RATE == 16000
    assert vggish_examples(np.zeros(WANT, np.float32), 16000).shape[0] == 1
    with pytest.raises(MediaError, match=r"shorter than one VGGish example \(0\.975 s\)"):
        vggish_examples(np.zeros(WANT - 1, np.float32), 16000)


def test_predict_help_states_the_enforced_minimum():
    from avsmodel.cli import app

    res = CliRunner().invoke(app, ["predict", "--help"], terminal_width=200, env={"COLUMNS": "200"})
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    from avsynth.audio.logmel import MIN_SECONDS

    assert f">= {MIN_SECONDS:.3f} s" in text and "0.96 s" not in text, text


@pytest.mark.parametrize("seconds", [0.965, 0.5])
def test_export_checks_clip_length_before_writing(tmp_path, seconds):
    m = make_build(tmp_path / "b", seconds=seconds)
    with pytest.raises(ManifestError) as e:
        export_avsbench(m, tmp_path / "o", progress=False)
    msg = str(e.value)
    assert "triplet dog-00" in msg and f"{seconds} s" in msg and "0.975 s" in msg, msg
    assert not (tmp_path / "o" / "Single-source").exists()  # refused before any file


def test_export_accepts_exactly_the_minimum(tmp_path):
    m = make_build(tmp_path / "b", seconds=0.975)
    r = export_avsbench(m, tmp_path / "o", split="test", progress=False)
    assert r.counts == {"test": 3}


@pytest.mark.parametrize("seconds", [0.965, 0.96])
def test_dataset_rejects_short_clips_when_opened(tmp_path, seconds):
    from avsmodel.data.dataset import ManifestDataset

    m = make_manifest(tmp_path / "m", n={"train": 2, "val": 1}, seconds=seconds)
    with pytest.raises(DataError) as e:
        ManifestDataset(m, "train", image_size=64, audio_examples=1)
    msg = str(e.value)
    assert "triplet t0000" in msg and f"{seconds} s" in msg and "0.975 s" in msg, msg


def test_dataset_accepts_exactly_the_minimum(tmp_path):
    from avsmodel.data.dataset import ManifestDataset

    m = make_manifest(tmp_path / "m", n={"train": 2, "val": 1}, seconds=0.975)
    ds = ManifestDataset(m, "train", image_size=64, audio_examples=1)
    assert tuple(ds[0]["audio"].shape) == (1, 1, 96, 64)
