"""``avsynth export-avsbench``: the AVSBench S4 layout, read back the way AVSBench's loader does.

OpenNLPLab/AVSBench ``avs_scripts/avs_s4``: ``config.py`` roots the data at
``avsbench_data/Single-source/{s4_meta_data.csv, s4_data/...}``; ``dataloader.py`` reads frame k
of video ``name`` from ``visual_frames/<split>/<category>/<name>/<name>_<k>.png`` (k = 1..5), the
masks from ``gt_masks/...`` the same way (opened in PIL mode ``1``), and the log-mel pickle from
``audio_log_mel/<split>/<category>/<name>.pkl`` (a tensor ``[5, 1, 96, 64]``, ``.detach()``-ed).
"""

from __future__ import annotations

import csv
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from inspect_fixtures import RATE, make_build, run_cli
from PIL import Image

import avsynth
from avsmodel.audio import vggish_examples
from avsynth.errors import ManifestError
from avsynth.inspection import export_avsbench
from avsynth.inspection.export_avsbench import s4_category
from avsynth.manifest import ManifestWriter, read_manifest


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exp")
    m = make_build(root / "build")
    export_avsbench(m, root / "out", progress=False)
    return m, root / "out"


def read_like_avsbench(base: Path, split: str):
    """Yield (row, frames, masks, log_mel) as AVSBench's S4 loader reads them."""
    data = base / "Single-source" / "s4_data"
    with open(base / "Single-source" / "s4_meta_data.csv", newline="") as f:
        rows = [r for r in csv.reader(f)][1:]
    for row in rows:
        name, category = row[0], row[2]
        if row[3] != split:
            continue
        img_dir = data / "visual_frames" / split / category / name
        mask_dir = data / "gt_masks" / split / category / name
        frames = [
            np.asarray(Image.open(img_dir / f"{name}_{k}.png").convert("RGB")) for k in range(1, 6)
        ]
        masks = [
            np.asarray(Image.open(mask_dir / f"{name}_{k}.png").convert("1")) for k in range(1, 6)
        ]
        with open(data / "audio_log_mel" / split / category / f"{name}.pkl", "rb") as f:
            log_mel = pickle.load(f).detach()
        yield row, frames, masks, log_mel


def test_layout_read_like_avsbench(exported):
    manifest, out = exported
    with open(out / "Single-source" / "s4_meta_data.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["name", "start", "category", "split"]
    assert len(rows) == 13
    by_id = {t.id: t for t in read_manifest(manifest)}
    seen = set()
    for split in ("train", "val", "test"):
        for row, frames, masks, log_mel in read_like_avsbench(out, split):
            t = by_id[row[0]]
            seen.add(t.id)
            assert row[1] == "0" and row[2] == s4_category(t.audio.label) and row[3] == t.split
            assert all(f.shape == (224, 224, 3) for f in frames)
            assert all((f == frames[0]).all() for f in frames)  # the still image, 5 times
            src = Image.open(manifest.parent / t.image.path).convert("RGB")
            want = np.asarray(src.resize((224, 224), Image.Resampling.BILINEAR))
            assert np.abs(frames[0].astype(int) - want).max() <= 1
            gt = Image.open(manifest.parent / t.mask.path)
            want_m = np.asarray(gt.resize((224, 224), Image.Resampling.NEAREST)) > 0
            assert all((mk == want_m).all() for mk in masks) and want_m.any()
            assert isinstance(log_mel, torch.Tensor) and tuple(log_mel.shape) == (5, 1, 96, 64)
            y, sr = sf.read(manifest.parent / t.audio.path, dtype="float32")
            assert sr == RATE
            ref = vggish_examples(y[: 5 * RATE], RATE)
            assert torch.allclose(log_mel, ref[:5], atol=1e-3)
    assert seen == set(by_id)


def test_audio_wav_and_categories(exported):
    manifest, out = exported
    data = out / "Single-source" / "s4_data"
    for t in read_manifest(manifest):
        wav = data / "audio_wav" / t.split / s4_category(t.audio.label) / f"{t.id}.wav"
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (
            16000,
            1,
            80000,
            "PCM_16",
        )
        a, _ = sf.read(str(wav), dtype="int16")
        b, _ = sf.read(str(manifest.parent / t.audio.path), dtype="int16", frames=80000)
        assert (a == b).all()
    cats = sorted(p.name for p in (data / "visual_frames" / "train").iterdir())
    assert cats == ["dog_barking", "driving_buses", "playing_acoustic_guitar"]


def test_s4_category_names_match_avsbench():
    """Every one of S4's 23 categories is some VGGSound label under our spelling rule."""
    data = Path(avsynth.__file__).parent / "data"
    s4 = (data / "avsbench_s4_labels.txt").read_text().split()
    with open(data / "vggsound_labels.tsv", newline="") as f:
        labels = [r["label"] for r in csv.DictReader(f, delimiter="\t")]
    spelled = {s4_category(x) for x in labels}
    assert len(s4) == 23 and set(s4) <= spelled
    assert s4_category("playing violin, fiddle") == "playing_violin"
    assert s4_category("race car, auto racing") == "race_car"
    assert s4_category("male speech, man speaking") == "male_speech"
    assert s4_category("horse clip-clop") == "horse_clip-clop"


def test_deterministic_and_order_free(exported, tmp_path):
    manifest, out = exported
    shuffled = read_manifest(manifest)
    random.Random(1).shuffle(shuffled)
    other = manifest.parent / "shuffled.jsonl"
    with ManifestWriter(other) as w:
        w.write_all(shuffled)
    export_avsbench(other, tmp_path / "again", progress=False)
    a = sorted(p.relative_to(out) for p in (out / "Single-source").rglob("*") if p.is_file())
    b_root = tmp_path / "again"
    b = sorted(p.relative_to(b_root) for p in (b_root / "Single-source").rglob("*") if p.is_file())
    assert a == b and len(a) == 1 + 12 * 12  # csv + per video 5 frames, 5 masks, wav, pkl
    for rel in a:
        assert (out / rel).read_bytes() == (b_root / rel).read_bytes(), rel


def test_split_and_cli(exported, tmp_path, monkeypatch, capsys):
    manifest, _ = exported
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "export-avsbench",
        manifest,
        "--out",
        tmp_path / "t",
        "--split",
        "test",
        "--quiet",
    )
    assert code == 0 and "3 videos (train 0, val 0, test 3), 3 categories" in out
    with open(tmp_path / "t" / "Single-source" / "s4_meta_data.csv", newline="") as f:
        assert {r["split"] for r in csv.DictReader(f)} == {"test"}
    assert not (tmp_path / "t" / "Single-source" / "s4_data" / "visual_frames" / "train").exists()

    with pytest.raises(ManifestError, match="unknown split 'dev'"):
        export_avsbench(manifest, tmp_path / "x", split="dev", progress=False)
    code, _, err = run_cli(
        monkeypatch, capsys, "export-avsbench", tmp_path / "no.jsonl", "--out", tmp_path / "y"
    )
    assert code == 1 and "manifest not found" in err


def test_log_mel_pickle_contract(tmp_path):
    # The .pkl contract: plain pickle.load gives the tensor back through the public
    # torch.load; the only globals are torch.serialization.load and _io.BytesIO; and the bytes
    # depend on the values only (not on memory addresses: another process writes the same).
    import subprocess
    import sys

    from avsynth.inspection.export_avsbench import dumps_tensor

    t = torch.linspace(-3, 3, 5 * 96 * 64, dtype=torch.float32).reshape(5, 1, 96, 64)
    data = dumps_tensor(t)
    used: list[tuple[str, str]] = []

    class Recording(pickle.Unpickler):
        def find_class(self, module, name):
            used.append((module, name))
            return super().find_class(module, name)

    import io

    back = Recording(io.BytesIO(data)).load()
    assert type(back) is torch.Tensor and torch.equal(back.detach(), t)
    assert set(used) == {("torch.serialization", "load"), ("_io", "BytesIO")}
    assert dumps_tensor(t.clone()) == data
    code = (
        "import sys, torch; from avsynth.inspection.export_avsbench import dumps_tensor; "
        "t = torch.linspace(-3, 3, 5 * 96 * 64, dtype=torch.float32).reshape(5, 1, 96, 64); "
        "sys.stdout.buffer.write(dumps_tensor(t))"
    )
    other = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True).stdout
    assert other == data
