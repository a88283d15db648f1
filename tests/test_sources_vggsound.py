"""VGGSound reader: quoted labels, clips in nested folders in several formats, bad lines."""

from __future__ import annotations

import numpy as np
import pytest

from avsynth.errors import SourceError
from avsynth.sources.vggsound import read_vggsound
from avsynth.testing.sources import write_audio, write_vggsound

ROWS = [
    ("---g-f_I2yQ", 1, "people marching", "test"),
    ("--9O4XZOge4", 30, "female speech, woman speaking", "train"),
    ("--Lj4Y_96f0", 120, "bee, wasp, etc. buzzing", "train"),
    ("-AbCdEfGhIj", 0, "dog barking", "train"),
    ("zzwbG0dHLhI", 150, "dog barking", "test"),
    ("noFileHere1", 40, "dog barking", "train"),
]


def _tone(seconds=0.5, sr=16000):
    return (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * sr)) / sr)).astype(np.float32)


@pytest.fixture()
def root(tmp_path):
    clips = {"--9O4XZOge4_000030": _tone(), "--Lj4Y_96f0_000120": _tone(),
             "-AbCdEfGhIj_000000": _tone(), "zzwbG0dHLhI_000150": _tone()}  # fmt: skip
    fmt = {"--9O4XZOge4_000030": "mp4", "--Lj4Y_96f0_000120": "flac"}
    dirs = {"-AbCdEfGhIj_000000": "a/b/c", "zzwbG0dHLhI_000150": "video/test"}
    write_vggsound(tmp_path, ROWS, clips=clips, fmt=fmt, clip_dir=dirs)
    return tmp_path


def test_csv_is_real_format(root):
    lines = (root / "vggsound.csv").read_text().splitlines()
    assert lines[0] == "---g-f_I2yQ,1,people marching,test"
    assert lines[1] == '--9O4XZOge4,30,"female speech, woman speaking",train'


def test_select_labels_and_find_files(root):
    idx = read_vggsound(root, labels=["dog barking", "bee, wasp, etc. buzzing", "no such label"])
    assert idx.rows_total == 6 and idx.unknown_labels == ("no such label",)
    got = [(c.youtube_id, c.start_seconds, c.label, c.subset, c.path, c.line) for c in idx.clips]
    assert got == [
        (
            "--Lj4Y_96f0",
            120,
            "bee, wasp, etc. buzzing",
            "train",
            "video/--Lj4Y_96f0_000120.flac",
            3,
        ),
        ("-AbCdEfGhIj", 0, "dog barking", "train", "a/b/c/-AbCdEfGhIj_000000.wav", 4),
        ("noFileHere1", 40, "dog barking", "train", None, 6),
        ("zzwbG0dHLhI", 150, "dog barking", "test", "video/test/zzwbG0dHLhI_000150.wav", 5),
    ]
    assert idx.rows_without_file == 1 and len(idx.clips_with_file) == 3
    assert idx.files_found == 4
    assert "female speech, woman speaking" in idx.labels


def test_all_rows_and_mp4(root):
    idx = read_vggsound(root)
    assert len(idx.clips) == 6 and idx.rows_without_file == 2
    mp4 = next(c for c in idx.clips if c.youtube_id == "--9O4XZOge4")
    assert mp4.path == "video/--9O4XZOge4_000030.mp4"
    assert read_vggsound(root / "vggsound.csv").clips == idx.clips  # CSV path accepted too


def test_format_preference_and_partial_files(root):
    cid = "-AbCdEfGhIj_000000"
    write_audio(root / "zz" / f"{cid}.mp4", _tone(), 16000)
    write_audio(root / "aa" / f"{cid}.flac", _tone(), 16000)
    (root / "video" / "noFileHere1_000040.mp4.part").write_bytes(b"partial")
    (root / "video" / "noFileHere1_000040.tmp").write_bytes(b"partial")
    (root / "video" / "noFileHere1_000040.wav").write_bytes(b"")  # empty: a failed download
    idx = read_vggsound(root, labels=["dog barking"])
    paths = {c.youtube_id: c.path for c in idx.clips}
    assert paths["-AbCdEfGhIj"] == f"a/b/c/{cid}.wav"  # wav wins over flac and mp4
    assert paths["noFileHere1"] is None and idx.rows_without_file == 1
    (root / "a/b/c" / f"{cid}.wav").unlink()
    idx = read_vggsound(root, labels=["dog barking"])
    assert {c.youtube_id: c.path for c in idx.clips}["-AbCdEfGhIj"] == f"aa/{cid}.flac"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("abc,10,dog barking", "expected 4 columns"),
        ("abc,ten,dog barking,train", "start_seconds 'ten' is not an integer"),
        ("abc,10,dog barking,val", "bad row"),
        ("abc,10,bee, wasp, etc. buzzing,train", "expected 4 columns"),  # unquoted commas
    ],
)
def test_bad_line_names_the_line(tmp_path, line, message):
    good = "--0PQM4-hqg,30,waterfall burbling,train\n"
    (tmp_path / "vggsound.csv").write_text(good + good.replace("--0P", "--1P") + line + "\n")
    with pytest.raises(SourceError, match=rf"vggsound.csv:3: {message}"):
        read_vggsound(tmp_path)


def test_missing_csv(tmp_path):
    with pytest.raises(SourceError, match="no vggsound.csv in"):
        read_vggsound(tmp_path)
    with pytest.raises(SourceError, match="is not a folder"):
        read_vggsound(tmp_path / "nope")


def test_crlf_bom_and_duplicate_rows(tmp_path):
    """Windows line endings (the official test.csv has CRLF), a UTF-8 BOM, a repeated row."""
    text = "\ufeff-AbCdEfGhIj,0,dog barking,train\r\n" + '--9O4XZOge4,30,"cat, purring",test\r\n'
    (tmp_path / "vggsound.csv").write_text(text + "-AbCdEfGhIj,0,dog barking,train\r\n")
    idx = read_vggsound(tmp_path)
    assert [(c.youtube_id, c.label, c.line) for c in idx.clips] == [
        ("--9O4XZOge4", "cat, purring", 2),
        ("-AbCdEfGhIj", "dog barking", 1),
    ]
    assert idx.rows_total == 3 and idx.rows_without_file == 2
