"""evaluate / predict / the train-eval-predict CLI, and one-line user errors (exit 1)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from _train_helpers import make_manifest, write_avsbench
from PIL import Image

from avsmodel.errors import CheckpointError
from avsmodel.evaluation import evaluate
from avsmodel.inference import predict
from avsmodel.training import load_checkpoint, save_checkpoint, train
from avsynth import read_manifest

MODEL = "sama_avs_tiny"
FAST = dict(batch_size=4, val_batch_size=8, workers=0)


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``avsmodel ARGS`` in-process through the real entry point."""
    from avsmodel.cli import main

    old = sys.argv
    sys.argv = ["avsmodel", *args]
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), n={"train": 8, "val": 3, "test": 5})


@pytest.fixture(scope="module")
def ckpt(manifest: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    return train(manifest, model=MODEL, out=out, epochs=1, progress=False, **FAST).best_path


@pytest.mark.slow  # uses the trained checkpoint
def test_evaluate_matched_and_mismatched(ckpt: Path, manifest: Path, tmp_path: Path) -> None:
    m = evaluate(ckpt, manifest=manifest, split="test", progress=False, fscore_batch=4)
    assert m["n"] == 5 and m["model"] == MODEL and m["audio"] == "matched"
    assert set(m["fscore"]) == {"avsbench", "authors", "dataset"}
    # On synthetic images (one frame per "video") AVSBench's batches are 4 frames: the
    # per-batch F of --fscore-batch 4 is the avsbench protocol.
    assert m["frames_per_clip"] == 1 and m["fscore"]["avsbench"] == m["fscore_official"]
    # Per-category mIoU covers exactly the test split's categories, and the overall mIoU is
    # their frame-weighted mean (the counts come from the manifest, not from evaluate).
    counts = Counter(t.category for t in read_manifest(manifest) if t.split == "test")
    assert set(m["per_category"]) == set(counts)
    weighted = sum(m["per_category"][c] * k for c, k in counts.items()) / sum(counts.values())
    assert m["miou"] == pytest.approx(weighted, abs=1e-9)
    mm = evaluate(ckpt, manifest=manifest, split="test", audio="mismatched", progress=False)
    assert mm["n"] == 5 and mm["audio"] == "mismatched"
    # The model listens: other audio gives other mask probabilities, hence another F (after
    # one epoch no pixel passes 0.5 yet, so both mIoUs are still 0) ...
    assert mm["fscore"] != m["fscore"]
    again = evaluate(ckpt, manifest=manifest, split="test", audio="mismatched", progress=False)
    assert again["miou"] == mm["miou"]
    # ... and with the audio path cut (SAMA-AVS adapters' shared output layer zeroed) the
    # two agree exactly: the difference above is the audio's doing.
    ck = load_checkpoint(ckpt)
    for k in ("adapters.shared.weight", "adapters.shared.bias"):
        ck["state_dict"][k] = torch.zeros_like(ck["state_dict"][k])
    deaf = tmp_path / "deaf.pt"
    save_checkpoint(deaf, ck)
    dm = evaluate(deaf, manifest=manifest, split="test", progress=False)
    dmm = evaluate(deaf, manifest=manifest, split="test", audio="mismatched", progress=False)
    assert dm["miou"] == dmm["miou"] and dm["fscore"] == dmm["fscore"]


@pytest.mark.slow  # uses the trained checkpoint
def test_eval_cli_json(ckpt: Path, manifest: Path, capsys) -> None:
    code, out, _ = run_cli(["eval", str(ckpt), "--manifest", str(manifest), "--json"], capsys)
    assert code == 0
    d = json.loads(out)
    assert {"miou", "fscore", "n"} <= set(d) and d["n"] == 5
    code, out, _ = run_cli(
        ["eval", str(ckpt), "--manifest", str(manifest), "--split", "val"], capsys
    )
    assert code == 0 and "mIoU" in out and "F " in out


@pytest.mark.slow  # uses the trained checkpoint
def test_predict_writes_mask_at_image_size_and_overlay(
    ckpt: Path, manifest: Path, tmp_path: Path
) -> None:
    root = manifest.parent
    r = predict(
        ckpt,
        root / "images" / "t0001.png",
        root / "audio" / "t0001.wav",
        tmp_path / "mask.png",
        tmp_path / "overlay.png",
    )
    with Image.open(tmp_path / "mask.png") as im:
        assert im.size == (64, 48)
        assert set(np.unique(np.asarray(im)).tolist()) <= {0, 255}
    with Image.open(tmp_path / "overlay.png") as im:
        assert im.mode == "RGB" and im.size[0] >= 64
    assert 0.0 <= r["area_fraction"] <= 1.0


@pytest.mark.slow  # uses the trained checkpoint
def test_predict_cli(ckpt: Path, manifest: Path, tmp_path: Path, capsys) -> None:
    root = manifest.parent
    code, out, _ = run_cli(
        [
            "predict",
            str(ckpt),
            "--image",
            str(root / "images" / "t0002.png"),
            "--audio",
            str(root / "audio" / "t0002.wav"),
            "--output",
            str(tmp_path / "m.png"),
            "--overlay",
            str(tmp_path / "o.png"),
        ],
        capsys,
    )
    assert code == 0 and (tmp_path / "m.png").is_file() and (tmp_path / "o.png").is_file()


@pytest.mark.slow  # uses the trained checkpoint
def test_avsbench_eval_and_finetune(ckpt: Path, tmp_path: Path) -> None:
    root = write_avsbench(tmp_path)
    r = evaluate(ckpt, avsbench=root, subset="s4", split="test", progress=False)
    assert r["n"] == 10 and 0.0 <= r["miou"] <= 1.0
    r3 = evaluate(
        ckpt, avsbench=root, subset="ms3", split="test", audio="mismatched", progress=False
    )
    assert r3["n"] == 10
    res = train(
        avsbench=root,
        subset="s4",
        model=MODEL,
        out=tmp_path / "s4",
        init=ckpt,
        epochs=1,
        progress=False,
        **FAST,
    )
    ck = load_checkpoint(res.last_path)
    assert ck["data"]["kind"] == "avsbench" and ck["data"]["subset"] == "s4"
    assert ck["init"] == str(ckpt)


def _one_line_error(code: int, err: str, pattern: str, *, after_progress: bool = False) -> None:
    assert code == 1, err
    if after_progress:  # progress bars (redrawn with \r) came first; the error ends stderr
        err = err.split("\r")[-1].lstrip()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    import re

    assert re.search(pattern, lines[0]), lines[0]


def test_corrupt_checkpoint(manifest: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage" * 10)
    code, _, err = run_cli(["eval", str(bad), "--manifest", str(manifest)], capsys)
    _one_line_error(code, err, r"bad\.pt: not a loadable checkpoint")


def test_foreign_checkpoint(manifest: Path, tmp_path: Path, capsys) -> None:
    foreign = tmp_path / "sam_vit_b.pth"
    torch.save({"image_encoder.patch_embed.proj.weight": torch.zeros(2)}, foreign)
    code, _, err = run_cli(["eval", str(foreign), "--manifest", str(manifest)], capsys)
    _one_line_error(code, err, r"sam_vit_b\.pth: not an avsmodel checkpoint")
    with pytest.raises(CheckpointError):
        load_checkpoint(foreign)


def _lose_all_keys(sd: dict) -> dict:
    return {"nonsense.weight": torch.zeros(1)}


def _add_a_key(sd: dict) -> dict:
    return {**sd, "nonsense.weight": torch.zeros(1)}


def _reshape_first_key(sd: dict) -> dict:
    first = sorted(sd)[0]
    return {**sd, first: torch.zeros(*sd[first].shape, 2)}


@pytest.mark.slow  # uses the trained checkpoint
@pytest.mark.parametrize(
    ("corrupt", "problem"),
    [
        (_lose_all_keys, r"trainable state of \S+ lacks \d+ key\(s\), first '"),
        (
            _add_a_key,
            r"trainable state for \S+ has 1 unexpected key\(s\), first 'nonsense\.weight'",
        ),
        (_reshape_first_key, r"trainable key '[^']+' has shape \("),
    ],
    ids=["missing", "unexpected", "shape"],
)
def test_checkpoint_with_wrong_keys(
    ckpt: Path, manifest: Path, tmp_path: Path, capsys, corrupt, problem
) -> None:
    ck = load_checkpoint(ckpt)
    ck["state_dict"] = corrupt(dict(ck["state_dict"]))
    wrong = tmp_path / "wrong.pt"
    torch.save(ck, wrong)
    code, _, err = run_cli(["eval", str(wrong), "--manifest", str(manifest)], capsys)
    # The one line names the file and what is wrong with its keys.
    _one_line_error(code, err, r"wrong\.pt: " + problem)


def test_unknown_model_name(manifest: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(
        ["train", str(manifest), "--model", "sama_avs_vit_x", "--out", str(tmp_path / "r")], capsys
    )
    _one_line_error(code, err, r"sama_avs_vit_x")


def test_manifest_without_val_split(tmp_path: Path, capsys) -> None:
    m = make_manifest(tmp_path / "m", n={"train": 2, "test": 2})
    code, _, err = run_cli(
        ["train", str(m), "--model", MODEL, "--out", str(tmp_path / "r"), "--loader-workers", "0"],
        capsys,
    )
    _one_line_error(code, err, r"no triplets in split 'val'")


@pytest.mark.slow  # uses the trained checkpoint
def test_undecodable_image_and_audio(ckpt: Path, manifest: Path, tmp_path: Path, capsys) -> None:
    bad_img = tmp_path / "bad.jpg"
    bad_img.write_bytes(b"\xff\xd8 not really a jpeg")
    wav = manifest.parent / "audio" / "t0000.wav"
    code, _, err = run_cli(
        [
            "predict",
            str(ckpt),
            "--image",
            str(bad_img),
            "--audio",
            str(wav),
            "--output",
            str(tmp_path / "m.png"),
        ],
        capsys,
    )
    _one_line_error(code, err, r"bad\.jpg: image does not decode")
    bad_wav = tmp_path / "bad.wav"
    bad_wav.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    img = manifest.parent / "images" / "t0000.png"
    code, _, err = run_cli(
        [
            "predict",
            str(ckpt),
            "--image",
            str(img),
            "--audio",
            str(bad_wav),
            "--output",
            str(tmp_path / "m.png"),
        ],
        capsys,
    )
    _one_line_error(code, err, r"bad\.wav: audio does not decode")
    # Training on a manifest whose image does not decode names the file too.
    m = make_manifest(tmp_path / "m2", n={"train": 4, "val": 2})
    (tmp_path / "m2" / "images" / "t0004.png").write_bytes(b"broken")
    code, _, err = run_cli(
        [
            "train",
            str(m),
            "--model",
            MODEL,
            "--out",
            str(tmp_path / "r"),
            "--loader-workers",
            "0",
            "--epochs",
            "1",
        ],
        capsys,
    )
    _one_line_error(code, err, r"t0004\.png: image does not decode", after_progress=True)


def test_bad_config_yaml(manifest: Path, tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("epochs: 2\nlearning_rate: 0.1\n")
    code, _, err = run_cli(
        [
            "train",
            str(manifest),
            "--model",
            MODEL,
            "--out",
            str(tmp_path / "r"),
            "--config",
            str(cfg),
        ],
        capsys,
    )
    _one_line_error(code, err, r"c\.yaml: unknown key 'learning_rate'")
