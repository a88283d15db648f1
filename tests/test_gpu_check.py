"""``bench/gpu_check.py`` runs from the source tree without the dataset-side libraries, and
``--device cpu --quick`` (the same code at tiny sizes) passes its own checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What a GPU box without avsynth's media stack lacks: PyAV, FiftyOne, soundfile, pyarrow and
# the rest of avsynth's dependencies beyond torch/torchvision/numpy/pillow/pyyaml/typer
# (segment-anything and msgspec are carried along).
BLOCKED = (
    "av",
    "fiftyone",
    "soundfile",
    "pyarrow",
    "librosa",
    "soxr",
    "pycocotools",
    "matplotlib",
    "pyloudnorm",
    "requests",
    "tqdm",
    "datasets",
    "webdataset",
    "cv2",
)


def run_blocked(code: str, timeout: int) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (cwd: the source tree) where importing any of
    :data:`BLOCKED` fails, as on a machine without them."""
    shim = f"import sys\nfor _n in {BLOCKED!r}:\n    sys.modules[_n] = None\n"
    return subprocess.run(
        [sys.executable, "-c", shim + code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(ROOT)},
        timeout=timeout,
    )


def test_the_shim_really_blocks() -> None:
    r = run_blocked("import soundfile", timeout=60)
    assert r.returncode != 0 and "soundfile" in r.stderr


def test_every_module_the_check_uses_imports_without_media_libraries() -> None:
    code = (
        "import runpy\n"
        "runpy.run_path('bench/gpu_check.py', run_name='gpu_check')\n"
        "import generated_inputs, model_speed, step_flops\n"
        "import avsmodel.data, avsmodel.evaluation.loader, avsmodel.evaluation.scoring\n"
        "import avsmodel.pretrained.build, avsmodel.recipe, avsmodel.task, avsmodel.device\n"
        "import segment_anything\n"
        "print('imported')\n"
    )
    r = run_blocked(code, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "imported"


@pytest.mark.slow  # the whole check at tiny sizes: a few minutes on a busy 2-core box
def test_quick_check_on_the_cpu() -> None:
    code = (
        "import runpy, sys\n"
        "sys.argv = ['bench/gpu_check.py', '--device', 'cpu', '--quick']\n"
        "runpy.run_path('bench/gpu_check.py', run_name='__main__')\n"
    )
    r = run_blocked(code, timeout=1200)
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1, r.stdout[-2000:] + r.stderr[-3000:]  # ONE JSON object
    out = json.loads(lines[0])
    assert r.returncode == 0, out.get("checks")
    assert out["quick"] is True and out["device"]["device"] == "cpu"
    assert {"torch", "cuda", "name", "peak_tflops"} <= set(out["device"])
    for key in (
        "project_images_per_s",
        "reference_images_per_s",
        "speedup",
        "project_peak_mib",
        "paper_speedup",
    ):
        assert key in out["train"], key
    for variant in ("paper", "fast", "reference"):
        v = out["train"][variant]
        assert v["images_per_s"] > 0 and v["tflops"] > 0 and v["step_s"] > 0, variant
    assert out["train"]["speedup"] == pytest.approx(
        out["train"]["project_images_per_s"] / out["train"]["reference_images_per_s"]
    )
    assert set(out["eval"]["frames_per_s"]) == {"fp32", "bf16", "fp32_one_at_a_time"}
    assert all(v > 0 for v in out["eval"]["frames_per_s"].values())
    # the numeric checks themselves (recomputed here from the reported numbers)
    num = out["numerics"]
    assert num["max_rel_diff"] < 1e-4 and num["tolerance"] == 1e-4
    assert num["max_rel_diff"] >= max(
        num["reference"]["loss_rel_diff"], num["reference"]["grad_rel_diff"]
    )
    tiny = out["tiny_training"]
    assert abs(tiny["device"]["miou"] - tiny["cpu"]["miou"]) <= 0.02
    assert tiny["cpu"]["last_loss"] < tiny["cpu"]["first_loss"]  # it trained
    assert out["eval"]["miou"]["fp32"] == pytest.approx(
        out["eval"]["miou"]["fp32_one_at_a_time"], abs=1e-5
    )
    assert out["checks"] and all(out["checks"].values()) and out["ok"] is True
    assert out["goals"] is None  # the speed targets are for a GPU
