"""The `make demo` pipeline on a smaller world: the tiny model must learn to listen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")


def test_demo_uses_the_packaged_category_map(tmp_path: Path, monkeypatch) -> None:
    # Outside the source tree (no category_maps/ folder here) the default map still resolves,
    # to the copy inside the avsynth package, byte-identical to category_maps/46.yaml.
    from avsmodel.demo import DEFAULT_MAP
    from avsynth.catmap import resolve_map_path

    monkeypatch.chdir(tmp_path)
    p = resolve_map_path(DEFAULT_MAP)
    repo = Path(__file__).resolve().parents[1]
    assert p.is_file() and "avsynth" in p.parts and "category_maps" in p.parts
    assert p.read_bytes() == (repo / "category_maps" / "46.yaml").read_bytes()


def test_demo_help_is_cheap() -> None:
    # `avsmodel demo --help` answers without importing the heavy stack: no torch, no
    # fiftyone, no PyAV, no pyarrow in the process that printed the help (checked from the
    # interpreter's own sys.modules, in a fresh process).
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from avsmodel.cli import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['demo', '--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert '--out' in r.output, r.output\n"
        "heavy = {'torch', 'fiftyone', 'av', 'pyarrow', 'segment_anything'}\n"
        "heavy = sorted(heavy & set(sys.modules))\n"
        "print(','.join(heavy))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "", f"--help imported {r.stdout.strip()}"


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, list[str]]:
    """One run of the demo with its defaults (what `python -m avsmodel.demo` runs)."""
    from avsmodel.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    return out, run_demo(out, progress=False, log=lines.append), lines


@pytest.mark.slow
def test_demo_trains_a_model_that_listens(demo) -> None:
    from avsmodel.demo import run_demo

    tmp_path, s, lines = demo
    matched, mismatched = s["test_matched"]["miou"], s["test_mismatched"]["miou"]
    assert matched >= 0.75, s
    assert matched - mismatched >= 0.5, s
    assert s["categories_left_out"] > 0  # 46.yaml names categories the world lacks
    assert set(s["categories_used"]) == {"bus", "cat", "dog", "guitar", "horse", "piano"}
    for key in ("curves", "checkpoint", "grid", "metrics"):
        assert Path(s["files"][key]).is_file(), key
    assert (tmp_path / "stats" / "counts.md").is_file()
    assert json.loads((tmp_path / "summary.json").read_text())["test_matched"]["miou"] == matched
    assert "mismatched audio" in lines[-1] or any("mismatched audio" in x for x in lines)
    # A rerun keeps world, build and the finished training.
    last = tmp_path / "run" / "last.pt"
    stamp = last.stat().st_mtime_ns
    again = run_demo(tmp_path, n_predictions=1, progress=False, log=lines.append)
    assert last.stat().st_mtime_ns == stamp
    assert again["test_matched"]["miou"] == matched


def test_demo_is_an_avsmodel_command_and_the_old_module_entry_says_so() -> None:
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "avsmodel.cli", "demo", "-h"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "Usage: avsmodel demo" in r.stdout and "--epochs" in r.stdout
    # `python -m avsmodel.demo` (the old entry point) names the command, in one line.
    r = subprocess.run(
        [sys.executable, "-m", "avsmodel.demo", "--out", "x"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "note: `python -m avsmodel.demo` became `avsmodel demo` "
        "(or `python -m avsmodel.cli demo`) with the same options"
    ]


@pytest.mark.slow
def test_docs_show_the_demos_numbers(demo) -> None:
    """README.md and docs/demo.md carry what a fresh demo's summary.json says."""
    out, _, _ = demo
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo_numbers.py"), str(out / "summary.json"),
         "--check"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout


@pytest.mark.slow
def test_grid_captions_are_readable(demo) -> None:
    """Each panel of predictions/grid.png has a caption band whose text is >= 14 px tall."""
    import numpy as np
    from PIL import Image

    _, s, _ = demo
    with Image.open(s["files"]["grid"]) as im:
        g = np.asarray(im.convert("RGB")).astype(int)
    white, black = (g >= 240).all(-1), (g <= 10).all(-1)
    top = int(np.flatnonzero(black.mean(1) > 0.3)[0])  # the first panels' caption bands
    cols = np.flatnonzero(black[top])
    first = cols[: int(np.argmax(np.diff(cols) > 1)) + 1]  # the first panel's columns
    band = np.flatnonzero(black[top : top + 80, first[0] : first[-1] + 1].mean(1) > 0.5)
    band = band[: int(np.argmax(np.diff(band) > 1)) + 1] if (np.diff(band) > 1).any() else band
    text = white[top : top + band[-1] + 1, first[0] + 1 : first[-1]]
    rows = np.flatnonzero(text.any(1))
    assert rows.size and int(rows[-1] - rows[0]) + 1 >= 14, rows
