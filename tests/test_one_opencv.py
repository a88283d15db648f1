"""One OpenCV in the environment: fiftyone's ``opencv-python-headless``, never ``opencv-python``.

Both distributions install the same ``cv2`` package, so with both installed one overwrites the
other's files. ``lvis`` (a test reference) declares ``opencv-python``; the Makefile installs it
with ``--no-deps`` so that only the headless build is there.
"""

from __future__ import annotations

import importlib
import re
from importlib.metadata import distribution, distributions
from pathlib import Path

OPENCV_BUILDS = {
    "opencv-python",
    "opencv-python-headless",
    "opencv-contrib-python",
    "opencv-contrib-python-headless",
}


def test_only_the_headless_opencv_is_installed():
    names = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower() for d in distributions()}
    assert names & OPENCV_BUILDS == {"opencv-python-headless"}
    # The cv2 that Python imports is the one of that distribution.
    import cv2

    dist = distribution("opencv-python-headless")
    files = {Path(dist.locate_file(f)).resolve() for f in dist.files or []}
    assert Path(cv2.__file__).resolve() in files
    assert cv2.__version__ == ".".join(dist.version.split(".")[:3])


def test_lvis_imports_without_its_declared_opencv():
    lvis = importlib.import_module("lvis")  # lvis.vis imports cv2 and matplotlib
    assert distribution("lvis").version == "0.5.3"
    assert callable(lvis.LVIS) and callable(lvis.LVISEval)
