"""Every ``--out`` of both command lines: a bad output path is one line and exit 1, no traceback.

Issue 13 item 16: an ``--out`` that is an existing file, lies below a file, or is a folder
without write permission used to end in ``FileExistsError``/``NotADirectoryError``
tracebacks; ``predict --out DIR`` (or a name without an image extension) in
``ValueError: unknown file extension: .tmp``. The cases below a file fail for root too; the
permission case uses a chmod 555 folder, or for root /proc/sys (skipped where root may write).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from inspect_fixtures import make_build
from PIL import Image

from avsynth.testing.world import make_world


def _run(main, prog: str, args: list, capsys) -> tuple[int, str]:
    """Run a console entry point in-process; return (exit code, stderr)."""
    old = sys.argv
    sys.argv = [prog, *map(str, args)]
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = old
    return code, capsys.readouterr().err


def avsynth(args: list, capsys) -> tuple[int, str]:
    from avsynth.cli import main

    return _run(main, "avsynth", args, capsys)


def avsmodel(args: list, capsys) -> tuple[int, str]:
    from avsmodel.cli import main

    return _run(main, "avsmodel", args, capsys)


def one_line(code: int, err: str, *parts: str) -> str:
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for p in parts:
        assert p in lines[0], (p, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A manifest, a tiny source world and its map, an image and a clip, and a plain file."""
    root = tmp_path_factory.mktemp("outs")
    manifest = make_build(root / "b")
    w = make_world(
        root / "world",
        n_lvis_images=6,
        n_openimages_images=6,
        clips_per_label=3,
        image_size=32,
        clip_seconds=1.0,
        full_vocabulary=False,
    )
    cmap = w.write_category_map(root / "map.yaml")
    image = root / "img.png"
    Image.fromarray(np.full((24, 32, 3), 120, np.uint8)).save(image)
    wav = root / "a.wav"
    sf.write(str(wav), np.zeros(16000 * 2, np.float32), 16000, subtype="PCM_16")
    afile = root / "a_file.txt"
    afile.write_text("not a folder\n")
    return {"manifest": manifest, "world": w, "map": cmap, "image": image, "wav": wav,
            "file": afile}  # fmt: skip


def _avsynth_cmd(name: str, inputs: dict, out: Path) -> list:
    if name == "build":
        w = inputs["world"]
        return ["build", "--categories", inputs["map"], "--vggsound", w.vggsound_root,
                "--lvis", w.lvis_root, "--openimages", w.openimages_root, "--split-sizes",
                "2,1,1", "--clip-seconds", "1.0", "--quiet", "--out", out]  # fmt: skip
    if name == "stats":
        return ["stats", inputs["manifest"], "--quiet", "--out", out]
    if name == "export":
        return ["export", inputs["manifest"], "--format", "webdataset", "--quiet", "--out", out]
    return ["export-avsbench", inputs["manifest"], "--quiet", "--out", out]


AVSYNTH_OUT = ["build", "stats", "export-avsbench", "export"]


@pytest.mark.parametrize("cmd", AVSYNTH_OUT)
def test_avsynth_out_is_a_file(inputs, cmd, capsys):
    f = inputs["file"]
    code, err = avsynth(_avsynth_cmd(cmd, inputs, f), capsys)
    one_line(code, err, str(f), "is a file, not a folder")
    assert f.read_text() == "not a folder\n"


@pytest.mark.parametrize("cmd", AVSYNTH_OUT)
def test_avsynth_out_below_a_file(inputs, cmd, capsys):
    f = inputs["file"]
    code, err = avsynth(_avsynth_cmd(cmd, inputs, f / "sub"), capsys)
    one_line(code, err, str(f / "sub"), "is a file, not a folder")


def _read_only_dir(tmp_path: Path) -> Path:
    """A folder this user may not write in: a chmod 555 one, or for root Linux's /proc/sys."""
    if os.geteuid() == 0:
        ro = Path("/proc/sys")  # read-only even for root (where the kernel says so)
        if ro.is_dir() and not os.access(ro, os.W_OK):
            return ro
        pytest.skip("root may write anywhere here; the below-a-file cases cover root")
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    return d


@pytest.mark.parametrize("cmd", AVSYNTH_OUT)
def test_avsynth_out_in_a_read_only_folder(inputs, cmd, tmp_path, capsys):
    d = _read_only_dir(tmp_path)
    code, err = avsynth(_avsynth_cmd(cmd, inputs, d / "out"), capsys)
    one_line(code, err, str(d / "out"), "no permission to write")


def test_train_out_is_a_file_or_below_one(inputs, tmp_path, capsys):
    f = inputs["file"]
    for out in (f, f / "run"):
        code, err = avsmodel(
            ["train", inputs["manifest"], "--model", "sama_avs_tiny", "--out", out], capsys
        )
        one_line(code, err, str(out), "is a file, not a folder")


def test_train_out_in_a_read_only_folder(inputs, tmp_path, capsys):
    d = _read_only_dir(tmp_path)
    code, err = avsmodel(
        ["train", inputs["manifest"], "--model", "sama_avs_tiny", "--out", d / "run"], capsys
    )
    one_line(code, err, str(d / "run"), "no permission to write")


def _predict(inputs: dict, out: Path, overlay: Path | None = None) -> list:
    args = ["predict", inputs["file"].parent / "no_such.pt", "--image", inputs["image"],
            "--audio", inputs["wav"], "--output", out]  # fmt: skip
    return args + (["--overlay", overlay] if overlay is not None else [])


def test_predict_out_is_a_folder(inputs, tmp_path, capsys):
    code, err = avsmodel(_predict(inputs, tmp_path), capsys)
    one_line(code, err, f"--output {tmp_path}", "is a folder")


@pytest.mark.parametrize("name", ["mask.tmp", "mask", "mask.jpg"])
def test_predict_out_needs_a_png_name(inputs, tmp_path, name, capsys):
    code, err = avsmodel(_predict(inputs, tmp_path / name), capsys)
    one_line(code, err, f"--output {tmp_path / name}", ".png")
    assert not any(tmp_path.iterdir())


def test_predict_out_below_a_file(inputs, capsys):
    out = inputs["file"] / "mask.png"
    code, err = avsmodel(_predict(inputs, out), capsys)
    one_line(code, err, str(out), "is a file, not a folder")


@pytest.mark.parametrize("name", [None, "overlay.tmp"])
def test_predict_overlay_is_checked_too(inputs, tmp_path, name, capsys):
    overlay = tmp_path if name is None else tmp_path / name
    code, err = avsmodel(_predict(inputs, tmp_path / "m.png", overlay), capsys)
    one_line(code, err, f"--overlay {overlay}")
    assert not (tmp_path / "m.png").exists()


def test_predict_out_in_a_read_only_folder(inputs, tmp_path, capsys):
    d = _read_only_dir(tmp_path)
    code, err = avsmodel(_predict(inputs, d / "m.png"), capsys)
    one_line(code, err, str(d / "m.png"), "no permission to write")
