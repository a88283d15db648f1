"""The built wheel works on its own: installed (without its dependencies) into a fresh venv
that borrows the dependencies of the current environment, it runs ``avsynth check-map 46``
and the demo from a folder outside the source tree (no ``category_maps/`` there)."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.mark.slow  # builds a wheel, makes a venv and runs a small demo (~1 min)
def test_wheel_runs_check_map_and_demo_outside_the_source_tree(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(FIFTYONE_DO_NOT_TRACK="true", OMP_NUM_THREADS="1")
    wheels = tmp_path / "wheels"
    # Build from a clean copy: setuptools leaves build/ and *.egg-info in the source folder,
    # and a stale build/ there could put deleted modules into the wheel.
    src = tmp_path / "src"
    junk = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "_data", "demo_out")
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(*junk, ".*_cache"))
    # --no-build-isolation: build with this environment's setuptools (no network needed).
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src)],
        tmp_path,
        env,
    )
    (wheel,) = wheels.glob("avsynth-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "avsynth/data/category_maps/46.yaml" in names
    assert "avsmodel/configs/paper.yaml" in names and "avsmodel/configs/tiny.yaml" in names
    assert "avsmodel/configs/recommended.yaml" in names

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    py = venv / "bin" / "python"
    _run(
        [*pip, "--python", str(py), "install", "--no-deps", "--no-index", str(wheel)], tmp_path, env
    )
    # The dependencies come from this environment's site-packages, appended after the venv's
    # own: a path listed in a .pth file is added as is (its own .pth files, such as an
    # editable install of this repository, are not run), so the wheel's copy is the one used.
    purelib = Path(
        _run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            tmp_path,
            env,
        ).stdout.strip()
    )
    (purelib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = _run(
        [
            str(py),
            "-c",
            "import avsynth, avsmodel; print(avsynth.__file__); print(avsmodel.__file__)",
        ],
        outside,
        env,
    ).stdout.split()
    assert all(Path(w).is_relative_to(venv) for w in where), where

    r = _run([str(venv / "bin" / "avsynth"), "check-map", "46"], outside, env)
    assert r.stdout.startswith("46: 46 categories, ") and r.stdout.strip().endswith(": OK")

    code = (
        "import json, sys; from avsmodel.demo import run_demo; "
        "s = run_demo('demo', n_images=40, clips_per_label=8, split_sizes=(24, 6, 6), "
        "epochs=1, n_predictions=1, progress=False, log=lambda m: None); "
        "print(json.dumps(s))"
    )
    summary = json.loads(_run([str(py), "-c", code], outside, env).stdout.splitlines()[-1])
    assert summary["triplets"] == {"train": 24, "val": 6, "test": 6}
    assert summary["categories_left_out"] > 0  # the 46-category map, on a 6-category world
    assert Path(outside / summary["files"]["checkpoint"]).is_file()
