"""Inputs a careless or malicious user gives ``train``, ``eval`` and ``predict``: each is one
line (exit 1 on the command line), never a traceback, and nothing already saved is lost.

* numeric options out of range (negative batch sizes and workers, ``--fscore-batch 0``,
  ``--stop-after 0``/``-1``, betas outside ``[0, 1)``, seeds beyond 64 bits);
* a full disk while a checkpoint, the metrics or the curves are written;
* a decompression-bomb image given to ``predict``;
* a photo with an EXIF orientation: the mask has the size the photo is displayed at.
"""

from __future__ import annotations

import errno
import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from _train_helpers import make_manifest
from PIL import Image

from avsmodel.errors import CheckpointError, ConfigError, DataError, TrainingError
from avsmodel.evaluation import evaluate
from avsmodel.inference import predict
from avsmodel.training import train

MODEL = "sama_avs_tiny"
FAST = dict(batch_size=4, val_batch_size=8, workers=0)


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    from avsmodel.cli import main

    old, sys.argv = sys.argv, ["avsmodel", *args]
    try:
        main()
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        sys.argv = old
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), n={"train": 8, "val": 3, "test": 3})


@pytest.fixture(scope="module")
def ckpt(manifest: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    return train(manifest, model=MODEL, out=out, epochs=1, progress=False, **FAST).best_path


# ----------------------------------------------------------------------------- options
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "-2"], "batch_size must be >= 1"),
        (["--batch-size", "0"], "batch_size must be >= 1"),
        (["--loader-workers", "-1"], "workers must be >= 0"),
        (["--stop-after", "0"], "--stop-after 0: must be an integer >= 1"),
        (["--stop-after", "-1"], "--stop-after -1: must be an integer >= 1"),
        (["--seed", str(2**64)], "seed must be in [0, 2**64)"),
        (["--seed", str(2**70 + 3)], "seed must be in [0, 2**64)"),
        (["--seed", "-1"], "seed must be in [0, 2**64)"),
    ],
)
def test_train_refuses_out_of_range_options(manifest, tmp_path, capsys, flags, message):
    out = tmp_path / "run"
    code, err = run_cli(["train", str(manifest), "--model", MODEL, "--out", str(out), *flags],
                        capsys)  # fmt: skip
    assert code == 1 and err.count("\n") == 1, err
    assert message in err
    assert not (out / "last.pt").exists() and not (out / "metrics.jsonl").exists()


@pytest.mark.parametrize("betas", [[1.0, 0.999], [0.9, 1.5], [-0.1, 0.9], [0.9, float("inf")]])
def test_train_refuses_betas_outside_0_1(manifest, tmp_path, betas):
    with pytest.raises(ConfigError, match=r"betas must both be in \[0, 1\)"):
        train(manifest, model=MODEL, out=tmp_path / "r", config={"betas": betas},
              progress=False, **FAST)  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch-size", "-1"], "--batch-size -1: must be an integer >= 1"),
        (["--batch-size", "0"], "--batch-size 0: must be an integer >= 1"),
        (["--fscore-batch", "0"], "--fscore-batch 0: must be an integer >= 1"),
        (["--fscore-batch", "-4"], "--fscore-batch -4: must be an integer >= 1"),
        (["--loader-workers", "-3"], "-3: must be an integer >= 0"),
    ],
)
def test_eval_refuses_out_of_range_options(ckpt, manifest, capsys, flags, message):
    code, err = run_cli(["eval", str(ckpt), "--manifest", str(manifest), *flags], capsys)
    assert code == 1 and err.count("\n") == 1, err
    assert message in err


def test_evaluate_refuses_a_seed_beyond_64_bits(manifest):
    with pytest.raises(ConfigError, match=r"--seed .*: must be an integer in \[0, 2\*\*64\)"):
        evaluate(model="sam_oracle_tiny", manifest=manifest, seed=2**64, progress=False)


# ----------------------------------------------------------------------------- full disk
def _full_disk_after(limit: int):
    """A ``torch.save`` stand-in that writes ``limit`` bytes, then fails like a full disk."""
    real = torch.save

    def save(obj, f, *a, **k):
        buf = io.BytesIO()
        real(obj, buf, *a, **k)
        _write(f, buf.getvalue()[:limit])
        raise OSError(errno.ENOSPC, "No space left on device")

    return save


def _write(f, data: bytes) -> None:
    """Write to what ``torch.save`` was given: a path or an open binary file."""
    if hasattr(f, "write"):
        f.write(data)
    else:
        Path(f).write_bytes(data)


def _zip_writer_failure(obj, f, *a, **k):
    _write(f, b"PK\x03\x04partial")
    raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")


@pytest.mark.parametrize("failure", ["enospc_at_start", "enospc_midway", "zip_writer"])
def test_full_disk_while_saving_keeps_the_old_checkpoint(manifest, tmp_path, monkeypatch,
                                                         failure):  # fmt: skip
    import avsmodel.checkpoint as checkpoint

    out = tmp_path / "run"
    train(manifest, model=MODEL, out=out, epochs=2, stop_after=1, progress=False, **FAST)
    before = {n: (out / n).read_bytes() for n in ("last.pt", "best.pt")}
    fake = {"enospc_at_start": _full_disk_after(0), "enospc_midway": _full_disk_after(500),
            "zip_writer": _zip_writer_failure}[failure]  # fmt: skip
    monkeypatch.setattr(checkpoint.torch, "save", fake)
    with pytest.raises(CheckpointError) as err:
        train(manifest, model=MODEL, out=out, resume=True, progress=False, **FAST)
    msg = str(err.value)
    assert "\n" not in msg and "cannot save the checkpoint" in msg and "unchanged" in msg
    assert (out / "last.pt").name in msg or (out / "best.pt").name in msg
    if failure != "zip_writer":
        assert "No space left on device" in msg
    monkeypatch.undo()
    assert {n: (out / n).read_bytes() for n in before} == before
    assert sorted(p.name for p in out.iterdir() if ".tmp" in p.name) == []
    # The run is still resumable from the intact last.pt.
    r = train(manifest, model=MODEL, out=out, resume=True, progress=False, **FAST)
    assert r.completed_epochs == 2


def test_full_disk_while_writing_metrics_is_one_line(manifest, tmp_path, monkeypatch):
    import avsmodel.training.plots as plots

    def full(path, row):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(plots, "append_metrics", full)
    with pytest.raises(TrainingError, match=r"metrics.jsonl: cannot write \(No space left"):
        train(manifest, model=MODEL, out=tmp_path / "r", epochs=1, progress=False, **FAST)


# ----------------------------------------------------------------------------- predict images
def _bomb_png(path: Path, w: int, h: int) -> None:
    """A tiny PNG whose header claims ``w x h`` pixels (the data is a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))  # fmt: skip


@pytest.mark.parametrize("size", [(30000, 30000), (200000, 1000), (1000, 200000)])
def test_predict_refuses_a_decompression_bomb(ckpt, manifest, tmp_path, capsys, size):
    bomb = tmp_path / "bomb.png"
    _bomb_png(bomb, *size)
    audio = manifest.parent / "audio" / "t0001.wav"
    code, err = run_cli(["predict", str(ckpt), "--image", str(bomb), "--audio", str(audio),
                         "--output", str(tmp_path / "m.png")], capsys)  # fmt: skip
    assert code == 1 and err.count("\n") == 1, err
    assert str(bomb) in err and "too large to decode safely" in err
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize("loader_workers", ["0", "1"])
def test_train_meets_a_decompression_bomb_in_one_line(tmp_path, capsys, loader_workers):
    """A training image replaced by a PNG whose header claims 30000x30000 pixels: one line
    naming the file (also when a DataLoader worker process met it), no checkpoint."""
    import shutil

    from avsynth.manifest import read_manifest

    m = make_manifest(tmp_path / "m", n={"train": 4, "val": 2})
    first = read_manifest(m, split="train")[0]
    bomb = m.parent / first.image.path
    _bomb_png(bomb, 30000, 30000)
    out = tmp_path / "run"
    code, err = run_cli(["train", str(m), "--model", MODEL, "--out", str(out), "--epochs", "1",
                         "--batch-size", "4", "--loader-workers", loader_workers, "--quiet"],
                        capsys)  # fmt: skip
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert str(bomb) in lines[0] and "decompression bomb" in lines[0], err
    assert not (out / "last.pt").exists()
    shutil.rmtree(out, ignore_errors=True)


def test_predict_refuses_a_folder_as_image(ckpt, manifest, tmp_path):
    with pytest.raises(DataError, match="not a regular file"):
        predict(ckpt, tmp_path, manifest.parent / "audio" / "t0001.wav", tmp_path / "m.png")


@pytest.mark.parametrize(
    ("orientation", "displayed"),
    [(1, (64, 48)), (3, (64, 48)), (6, (48, 64)), (8, (48, 64)), (5, (48, 64))],
)
def test_predict_mask_has_the_displayed_size(ckpt, manifest, tmp_path, orientation, displayed):
    """A photo stored 64x48 (W x H) with EXIF orientation 6 or 8 is shown 48x64."""
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:, :32] = (200, 60, 60)
    exif = Image.Exif()
    exif[0x0112] = orientation
    photo = tmp_path / f"photo{orientation}.jpg"
    Image.fromarray(stored).save(photo, exif=exif.tobytes())
    with Image.open(photo) as im:  # the reference: how PIL displays it
        from PIL import ImageOps

        assert ImageOps.exif_transpose(im).size == displayed
    out = tmp_path / "mask.png"
    r = predict(ckpt, photo, manifest.parent / "audio" / "t0001.wav", out,
                tmp_path / "overlay.png")  # fmt: skip
    with Image.open(out) as m:
        assert m.size == displayed
    with Image.open(r["overlay"]) as ov:
        w, h = ov.size
        assert (w > h) == (displayed[0] > displayed[1])


# ----------------------------------------------------------------------------- checkpoints
def _tamper(ck: dict, field: str) -> dict:
    ck = dict(ck)
    if field == "model":
        ck["model"] = 5
    elif field == "state_dict_list":
        ck["state_dict"] = [1, 2]
    elif field == "state_dict_value":
        ck["state_dict"] = dict(ck["state_dict"], extra="not a tensor")
    elif field == "train_config":
        ck["train_config"] = "paper"
    elif field == "seed":
        ck["train_config"] = dict(ck["train_config"], seed="0")
    elif field == "epoch":
        ck["epoch"] = "3"
    elif field == "frozen_state":
        ck["frozen_state"] = {"image_encoder.pos_embed": 1.5}
    elif field == "sam_checkpoint":
        ck["sam_checkpoint"] = ["a", "b"]
    return ck


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ("model", "'model' is a int, expected str"),
        ("state_dict_list", "'state_dict' is a list, expected dict"),
        ("state_dict_value", "'state_dict' maps 'extra' to a str"),
        ("train_config", "'train_config' is a str, expected dict"),
        ("seed", "train_config 'seed' is a str, expected int"),
        ("epoch", "'epoch' is a str, expected int or null"),
        ("frozen_state", "'frozen_state' maps 'image_encoder.pos_embed' to a float"),
        ("sam_checkpoint", "'sam_checkpoint' is a list, expected str or null"),
    ],
)
def test_checkpoint_with_wrong_field_types_is_one_line(ckpt, manifest, tmp_path, capsys, field,
                                                       named):  # fmt: skip
    bad = tmp_path / "bad.pt"
    torch.save(_tamper(torch.load(ckpt, weights_only=True), field), bad)
    for cmd in (["eval", str(bad), "--manifest", str(manifest)],
                ["predict", str(bad), "--image", str(manifest.parent / "images" / "t0001.png"),
                 "--audio", str(manifest.parent / "audio" / "t0001.wav"),
                 "--output", str(tmp_path / "m.png")]):  # fmt: skip
        code, err = run_cli(cmd, capsys)
        assert code == 1 and err.count("\n") == 1, err
        assert str(bad) in err and named in err
