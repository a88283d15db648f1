"""A build killed mid-way (SIGKILL, no cleanup) leaves no manifest; re-running completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from avsynth.manifest import read_manifest
from avsynth.testing.world import make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    w = make_world(root, n_lvis_images=60, n_openimages_images=60, clips_per_label=15,
                   image_size=96, clip_seconds=4.0)  # fmt: skip
    return w, w.write_category_map(root / "map.yaml")


def _cmd(w, cmap, out, workers):
    args = [
        "build", "--categories", str(cmap), "--vggsound", str(w.vggsound_root),
        "--lvis", str(w.lvis_root), "--openimages", str(w.openimages_root), "--out", str(out),
        "--split-sizes", "60,10,10", "--clip-seconds", "4", "--workers", str(workers), "--quiet",
    ]  # fmt: skip
    return [sys.executable, "-c", "from avsynth.cli import main; main()", *args]


@pytest.mark.parametrize("workers", [pytest.param(1, marks=pytest.mark.slow), 2])
def test_killed_build_resumes(world, tmp_path, workers):
    w, cmap = world
    out = tmp_path / "o"
    proc = subprocess.Popen(_cmd(w, cmap, out, workers), start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while not (out / "images").exists() or not any((out / "images").rglob("*.jpg")):
            assert proc.poll() is None, "build ended before any media was written"
            assert time.monotonic() < deadline
            time.sleep(0.005)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: workers too
        proc.wait()
    assert not (out / "manifest.jsonl").exists()
    kept = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and p.suffix != ".tmp"}
    done = subprocess.run(_cmd(w, cmap, out, workers), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(read_manifest(out / "manifest.jsonl")) == 80
    media = [
        p for p in kept if p.parent.parent.name in ("images", "masks") or p.parent.name == "audio"
    ]
    assert all(p.stat().st_mtime_ns == kept[p] for p in media)  # finished files kept as they were
    fresh = subprocess.run(_cmd(w, cmap, tmp_path / "f", 1), capture_output=True, timeout=300)
    assert fresh.returncode == 0
    assert (out / "manifest.jsonl").read_bytes() == (tmp_path / "f" / "manifest.jsonl").read_bytes()
    for p in (tmp_path / "f").rglob("*"):
        if p.is_file() and p.suffix in (".png", ".wav", ".jpg"):
            assert (out / p.relative_to(tmp_path / "f")).read_bytes() == p.read_bytes()
