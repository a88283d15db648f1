"""The public ``avsynth`` namespace: light import, functions reachable in any import order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> None:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_import_is_light_and_names_resolve():
    _run(
        "import sys, avsynth\n"
        "heavy = {'numpy', 'torch', 'fiftyone', 'pandas', 'PIL'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert callable(avsynth.build) and callable(avsynth.plan)\n"
        "for n in ('read_manifest', 'iter_manifest', 'load_map', 'check_map', 'SelectionConfig'):\n"
        "    assert callable(getattr(avsynth, n)), n\n"
        "assert {'build', 'plan', 'stats', 'inspect'} <= set(avsynth.__all__)\n"
    )


def test_modules_and_functions_have_distinct_names():
    _run(
        "from avsynth.pipeline import BuildReport\n"
        "from avsynth.planning.manifest_records import to_triplet\n"
        "import avsynth\n"
        "from avsynth.planning.select import SelectionConfig\n"
        "assert avsynth.build.__name__ == 'build' and avsynth.plan.__name__ == 'plan'\n"
        "assert avsynth.SelectionConfig is SelectionConfig\n"
        "import avsynth.pipeline, avsynth.planning, avsynth.inspection\n"
        "assert avsynth.build is avsynth.pipeline.build and avsynth.plan is avsynth.pipeline.plan\n"
        "assert avsynth.inspect is avsynth.inspection.inspect\n"
    )


def test_inspect_names_are_lazy(tmp_path):
    """Reading the inspection names loads neither FiftyOne, torch nor matplotlib (checked in
    ``sys.modules`` of a fresh interpreter); the FiftyOne module loads when its name is read,
    torch when an export runs (the positive control: the check sees an import when it
    happens)."""
    code = (
        "import sys, avsynth\n"
        "from avsynth.errors import ManifestError\n"
        "heavy = ('fiftyone', 'torch', 'matplotlib')\n"
        "names = ('stats', 'verify', 'export_avsbench', 'inspect')\n"
        "fns = {n: getattr(avsynth, n) for n in names}\n"
        "assert all(callable(f) for f in fns.values()), fns\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "import avsynth.inspection as ins\n"
        "assert 'avsynth.inspection.fiftyone_app' not in sys.modules\n"
        "assert ins.load_fiftyone.__module__ == 'avsynth.inspection.fiftyone_app'\n"
        "assert 'avsynth.inspection.fiftyone_app' in sys.modules\n"
        "assert 'fiftyone' not in sys.modules  # only once a dataset is loaded\n"
        "try:\n"
        "    fns['export_avsbench']('missing.jsonl', 'export', progress=False)\n"
        "except ManifestError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('a missing manifest was exported')\n"
        "assert 'torch' in sys.modules  # used: loaded now\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "export").exists()
