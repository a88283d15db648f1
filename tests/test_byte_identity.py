"""Outputs stay byte-identical across refactors: the SHA-256 of every file of a single-source
build, a composed build (``compose=`` mix), a plan-only build and two AVSBench exports (S4 of
the single build, MS3 of the composed one) against digests recorded from the code before the
redesign of issue 21 (``tests/byte_identity_digests.json``).

``build_info.json`` records the absolute source ``roots`` (temporary folders that differ on
every run): it is hashed with that one field removed; ``export_info.json`` records the absolute
manifest path, hashed with that field removed too. Every other byte of every file counts.

To record new digests (only when an output is meant to change; say why in the commit):
``AVSYNTH_RECORD_DIGESTS=1 python -m pytest tests/test_byte_identity.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from build_fixtures import build_tiny, write_sources
from compose_fixtures import build_composed, compose_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DIGESTS = Path(__file__).with_name("byte_identity_digests.json")
# JSON files holding absolute temporary paths: the key removed before hashing.
VARYING = {"build_info.json": "roots", "export_info.json": "manifest"}


def _digest(path: Path) -> str:
    data = path.read_bytes()
    key = VARYING.get(path.name)
    if key is not None:
        doc = json.loads(data)
        assert key in doc, f"{path.name} lost its {key!r} field"
        doc.pop(key)
        data = json.dumps(doc, indent=2, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def _tree(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file below ``root`` (sorted)."""
    return {
        p.relative_to(root).as_posix(): _digest(p) for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, dict[str, str]]:
    from avsynth.inspection import export_avsbench

    base = tmp_path_factory.mktemp("bytes")
    roots = write_sources(base / "src", clip_seconds=1.0)
    build_tiny(roots, base / "single", split_sizes=(30, 6, 6), clip_seconds=1.0)
    build_tiny(roots, base / "plan", split_sizes=(30, 6, 6), plan_only=True)
    w, cmap = compose_world(base / "world")
    build_composed(w, cmap, base / "composed")
    export_avsbench(base / "single" / "manifest.jsonl", base / "s4", progress=False)
    export_avsbench(
        base / "composed" / "manifest.jsonl", base / "ms3", progress=False, subset="ms3"
    )
    return {name: _tree(base / name) for name in ("single", "plan", "composed", "s4", "ms3")}


def test_outputs_are_byte_identical_to_the_recorded_ones(outputs):
    if os.environ.get("AVSYNTH_RECORD_DIGESTS"):
        DIGESTS.write_text(json.dumps(outputs, indent=1, sort_keys=True) + "\n")
    want = json.loads(DIGESTS.read_text())
    for name in ("single", "plan", "composed"):  # every build wrote its manifest and sidecar
        assert {"manifest.jsonl", "build_info.json"} <= set(want[name]), name
    assert any(k.startswith("audio/mix/") for k in want["composed"])
    assert any(k.startswith("masks/union/") for k in want["composed"])
    for name in want:
        assert set(outputs[name]) == set(want[name]), f"{name}: files differ"
        bad = sorted(k for k in want[name] if outputs[name][k] != want[name][k])
        assert not bad, f"{name}: bytes differ in {bad[:10]}"
