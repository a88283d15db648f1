"""Worker processes of a build die with it: a SIGKILL of the parent leaves none running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from avsynth.testing.world import make_world


def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # a zombie has exited


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")
def test_sigkill_of_the_parent_ends_its_workers(tmp_path_factory, tmp_path):
    root = tmp_path_factory.mktemp("world")
    w = make_world(root, n_lvis_images=60, n_openimages_images=60, clips_per_label=15,
                   image_size=96, clip_seconds=4.0)  # fmt: skip
    cmap = w.write_category_map(root / "map.yaml")
    out = tmp_path / "o"
    args = [
        "build", "--categories", str(cmap), "--vggsound", str(w.vggsound_root),
        "--lvis", str(w.lvis_root), "--openimages", str(w.openimages_root), "--out", str(out),
        "--split-sizes", "60,10,10", "--clip-seconds", "4", "--workers", "2", "--quiet",
    ]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", "from avsynth.cli import main; main()", *args],
        start_new_session=True,
    )
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2:
            assert proc.poll() is None, "build ended before its workers started"
            assert time.monotonic() < deadline
            workers = [k for k in _children(proc.pid) if _alive(k)]
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, as a user's `kill -9 PID`
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(k) for k in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [k for k in workers if _alive(k)]
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # clean up whatever is left of the group
        except ProcessLookupError:
            pass
