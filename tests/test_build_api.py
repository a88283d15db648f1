"""The public ``avsynth`` namespace: light import, functions reachable in any import order."""

from __future__ import annotations

import subprocess
import sys


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


def test_inspect_names_are_lazy():
    _run(
        "import avsynth\n"
        "for n in ('stats', 'verify', 'export_avsbench', 'inspect'):\n"
        "    assert callable(getattr(avsynth, n)), n\n"
    )
