"""``avsynth verify``: every bad file is named, one line each; a clean build passes."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
from inspect_fixtures import RATE, make_build, run_cli
from PIL import Image

from avsynth.errors import ManifestError
from avsynth.inspection import verify, verify_report


def test_clean_build_passes(tmp_path, monkeypatch, capsys):
    m = make_build(tmp_path / "b")
    r = verify_report(m, progress=False)
    assert r.problems == []
    assert r.counts == {"triplets": 12, "images": 12, "masks": 12, "audio": 9}
    code, out, _ = run_cli(monkeypatch, capsys, "verify", m, "--quiet")
    assert code == 0
    assert out.strip().splitlines()[-1] == (
        "checked 12 triplets (12 images, 12 masks, 9 audio files): all good"
    )


def _corrupt(root):
    """Break one file per kind of problem; return {file name: expected message part}."""
    img, msk, aud = root / "images", root / "masks", root / "audio"
    data = (img / "dog-00.jpg").read_bytes()
    (img / "dog-00.jpg").write_bytes(data[: len(data) // 3])  # truncated JPEG
    (img / "dog-01.jpg").unlink()
    Image.open(img / "dog-02.jpg").resize((64, 48)).save(img / "dog-02.jpg")
    m = np.asarray(Image.open(msk / "guitar-00.png")).copy()
    m[m > 0] = 128
    m[0, 0] = 255
    Image.fromarray(m).save(msk / "guitar-00.png")  # three values: 0, 128, 255
    Image.new("L", (128, 96), 0).save(msk / "guitar-01.png")  # empty
    Image.new("L", (100, 96), 255).save(msk / "guitar-02.png")  # wrong size
    (msk / "guitar-03.png").write_bytes(b"not a png at all")
    outside = root.parent / "outside.png"
    Image.new("L", (128, 96), 255).save(outside)
    (msk / "bus-00.png").unlink()
    os.symlink(outside, msk / "bus-00.png")  # escapes the manifest's folder
    y = np.zeros((RATE * 10, 2), np.float32)
    sf.write(str(aud / "yt00dog_000000.wav"), y, RATE, subtype="PCM_16")  # stereo
    sf.write(str(aud / "yt12gui_000020.wav"), y[:, 0], 44100, subtype="PCM_16")  # 44.1 kHz
    sf.write(str(aud / "yt13gui_000030.wav"), y[: RATE * 9, 0], RATE, subtype="PCM_16")  # 9 s
    (aud / "yt22bus_000020.wav").write_bytes(b"RIFF....garbage")
    sf.write(str(aud / "yt23bus_000030.wav"), y[:, 0], RATE, subtype="FLOAT")  # float WAV
    return {
        "images/dog-00.jpg": "image does not decode",
        "images/dog-01.jpg": "image file missing",
        "images/dog-02.jpg": "image is 64x48, the manifest says 128x96",
        "masks/guitar-00.png": "mask is not binary (values 0, 128, 255)",
        "masks/guitar-01.png": "mask is empty",
        "masks/guitar-02.png": "mask is 100x96, its image is 128x96",
        "masks/guitar-03.png": "mask does not decode",
        "masks/bus-00.png": "escapes its root",
        "audio/yt00dog_000000.wav": "2 channels (want mono)",
        "audio/yt12gui_000020.wav": "sample rate 44100 Hz (want 16000)",
        "audio/yt13gui_000030.wav": "9.0000 s long, the manifest says 10.0 s",
        "audio/yt22bus_000020.wav": "audio does not decode",
        "audio/yt23bus_000030.wav": "subtype FLOAT (want PCM_16)",
    }


def test_names_every_bad_file_once(tmp_path, monkeypatch, capsys):
    m = make_build(tmp_path / "b")
    expected = _corrupt(tmp_path / "b")
    lines = m.read_text().splitlines()
    m.write_text("\n".join([*lines, lines[5]]) + "\n")  # duplicate id on line 13

    problems = verify(m, progress=False)
    assert len(problems) == len(expected) + 1, "\n".join(problems)
    for name, what in expected.items():
        hits = [p for p in problems if name in p]
        assert len(hits) == 1, (name, problems)
        assert what in hits[0], (what, hits[0])
        assert "[triplet " in hits[0] and "manifest.jsonl:" in hits[0]
    assert "manifest.jsonl:13: duplicate triplet id 'guitar-01' (first on line 6)" in problems

    code, out, _ = run_cli(monkeypatch, capsys, "verify", m, "--quiet")
    assert code == 1
    out_lines = out.strip().splitlines()
    assert out_lines[:-1] == problems
    assert out_lines[-1] == (
        f"checked 13 triplets (12 images, 12 masks, 9 audio files): {len(problems)} problem(s)"
    )


def test_bad_manifests(tmp_path, monkeypatch, capsys):
    with pytest.raises(ManifestError, match="manifest not found"):
        verify(tmp_path / "none.jsonl", progress=False)
    code, _, err = run_cli(monkeypatch, capsys, "verify", tmp_path / "none.jsonl")
    assert code == 1 and "manifest not found" in err and len(err.strip().splitlines()) == 1

    m = make_build(tmp_path / "b")
    m.write_text(m.read_text().replace('"schema_version":1', '"schema_version":3', 1))
    with pytest.raises(ManifestError, match=r"manifest.jsonl:1: unknown schema_version 3"):
        verify(m, progress=False)
    m.write_text(m.read_text().replace('"schema_version":3', '"schema_version":1', 1))
    m.write_text(m.read_text().replace('"path":"masks/dog-00.png"', '"path":"../x/dog.png"'))
    # An unsafe path makes that record unusable: a problem line naming it, not a stop.
    code, out, _ = run_cli(monkeypatch, capsys, "verify", m, "--quiet")
    assert code == 1
    assert out.splitlines()[0] == (
        "manifest.jsonl:1: unusable record (mask.path '../x/dog.png' escapes its root) "
        "[triplet dog-00]"
    )


def test_verify_json(tmp_path, monkeypatch, capsys):
    import json

    m = make_build(tmp_path / "b")
    code, out, _ = run_cli(monkeypatch, capsys, "verify", m, "--json")
    assert code == 0
    d = json.loads(out)
    # 12 records, 12 distinct image and mask files, 9 distinct clips (make_build's layout).
    assert d == {
        "manifest": str(m),
        "ok": True,
        "counts": {"triplets": 12, "images": 12, "masks": 12, "audio": 9},
        "problems": [],
    }
    (tmp_path / "b" / "images" / "dog-01.jpg").unlink()
    code, out, _ = run_cli(monkeypatch, capsys, "verify", m, "--json")
    assert code == 1
    d = json.loads(out)
    assert d["ok"] is False and len(d["problems"]) == 1 and "dog-01.jpg" in d["problems"][0]
