"""Per-frame audio, few-shot subsets and the training-free SAM oracle (the paper's protocol)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from _train_helpers import make_manifest, write_avsbench

from avsmodel import list_models
from avsmodel.data import AvsbenchDataset, ManifestDataset
from avsmodel.data.selection import few_shot_ids
from avsmodel.errors import ConfigError
from avsmodel.pretrained.registry import get_config
from avsynth.audio.logmel import log_mel

S = 128
EX, WIN = 15360, 15600  # VGGish example k: samples [k*15360, k*15360 + 15600) at 16 kHz


def _example(wave: np.ndarray, k: int) -> torch.Tensor:
    return torch.from_numpy(log_mel(wave[k * EX : k * EX + WIN])).float()


def test_every_registered_model_hears_one_example_per_frame() -> None:
    assert {get_config(n).audio_examples for n in list_models()} == {1}


@pytest.fixture(scope="module")
def avsbench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_avsbench(tmp_path_factory.mktemp("avsb"))
    # vid005 (S4 test, playing_piano) has a WAV and no pickle: give its seconds other sounds.
    wav = root / "Single-source/s4_data/audio_wav/test/playing_piano/vid005.wav"
    t = np.arange(5 * 16000) / 16000
    hz = np.repeat([300.0, 2500.0, 900.0, 5000.0, 1200.0], 16000)
    sf.write(wav, 0.3 * np.sin(2 * np.pi * hz * t), 16000, subtype="PCM_16")
    return root


def test_two_frames_of_one_clip_hear_their_own_second(avsbench: Path) -> None:
    ds = AvsbenchDataset(avsbench, "s4", "test", image_size=S, audio_examples=1)
    wave, sr = sf.read(
        avsbench / "Single-source/s4_data/audio_wav/test/playing_piano/vid005.wav",
        dtype="float32",
    )
    assert sr == 16000
    first = [i for i, (ci, _) in enumerate(ds.items) if ds.clips[ci].name == "vid005"]
    a, b = ds[first[0]]["audio"], ds[first[1]]["audio"]  # frames 1 and 2
    assert a.shape == b.shape == (1, 1, 96, 64)
    assert not torch.allclose(a, b, atol=1e-2)
    torch.testing.assert_close(a[0, 0], _example(wave, 0), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(b[0, 0], _example(wave, 1), atol=1e-4, rtol=1e-4)


def test_multi_example_mean_stays_an_option(avsbench: Path) -> None:
    ds = AvsbenchDataset(avsbench, "s4", "test", image_size=S, audio_examples=3)
    mel = ds.clip_log_mel(1)
    torch.testing.assert_close(ds[7]["audio"], mel[1:4])  # frame 3: examples 2..4 around it


def test_synthetic_image_hears_example_one(tmp_path: Path) -> None:
    m = make_manifest(tmp_path, n={"train": 2, "val": 1, "test": 1}, seconds=3.0)
    ds = ManifestDataset(m, "test", image_size=S, audio_examples=1, audio_cache=0)
    wave, _ = sf.read(tmp_path / "audio" / f"{ds.records[0].id}.wav", dtype="float32")
    torch.testing.assert_close(ds[0]["audio"][0, 0], _example(wave, 1), atol=1e-4, rtol=1e-4)


def test_few_shot_subsets_nest_and_ignore_input_order() -> None:
    ids = [f"clip{i:03d}" for i in range(200)]
    ten, thirty = few_shot_ids(ids, 0.1), few_shot_ids(ids, 0.3)
    full = few_shot_ids(ids, 1.0)
    assert len(ten) == 20 and len(thirty) == 60 and sorted(full) == sorted(ids)
    assert set(ten) < set(thirty) < set(full)
    assert few_shot_ids(list(reversed(ids)), 0.3) == thirty
    assert few_shot_ids(ids, 0.3, seed=1) != thirty
    assert ten != sorted(ten)  # a shuffled order, not the first ids
    with pytest.raises(ConfigError, match="must be in"):
        few_shot_ids(ids, 0.0)


def test_adapters_start_as_the_authors_trunc_normal() -> None:
    from avsmodel import build_model

    torch.manual_seed(0)
    net = build_model("sama_avs_tiny", adapter_init="trunc_normal")
    weights = [m.weight for m in net.adapters.modules() if isinstance(m, torch.nn.Linear)]
    biases = [m.bias for m in net.adapters.modules() if isinstance(m, torch.nn.Linear)]
    w = torch.cat([x.detach().flatten() for x in weights])
    assert abs(float(w.std()) - 0.02) < 0.002 and float(w.abs().max()) <= 2.0
    assert all(float(b.detach().abs().max()) == 0.0 for b in biases)
    assert get_config("sama_avs_vit_h").adapter_init == "trunc_normal"
    # Re-initialising (as build_model does for parts a checkpoint does not fill) keeps it.
    for m in net.adapters.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    assert all(float(b.detach().abs().max()) == 0.0 for b in biases)


def test_per_access_draw_uses_an_imported_release_pool(tmp_path: Path) -> None:
    from avsmodel.data import train_val_datasets
    from avsynth.release import import_release, read_audio_pools
    from avsynth.testing.release import write_release

    root = write_release(tmp_path / "AVS_Synthetic")
    import_release(root, tmp_path / "avss")
    manifest = tmp_path / "avss" / "manifest.jsonl"
    pools = read_audio_pools(manifest)
    train, _, _ = train_val_datasets(
        manifest, image_size=S, audio_examples=1, resample_audio_p=1.0, audio_cache=0
    )
    drawn = {}
    for epoch in range(4):
        train.set_epoch(epoch)
        for i, t in enumerate(train.records):
            p, _ = train.audio_source(i)
            assert p in pools[t.category]  # the category's release pool, not the split's clips
            drawn.setdefault(i, set()).add(p)
    assert any(len(v) > 1 for v in drawn.values())  # a fresh draw per epoch
    train.set_epoch(2)
    again = [train.audio_source(i)[0] for i in range(len(train))]
    train.set_epoch(2)
    assert again == [train.audio_source(i)[0] for i in range(len(train))]
    wave, sr = sf.read(again[0], dtype="float32")
    assert sr == 16000
    torch.testing.assert_close(train[0]["audio"][0, 0], _example(wave, 1), atol=1e-4, rtol=1e-4)
