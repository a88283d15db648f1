"""Helpers for the shard-export tests: independent readers of what a manifest points to.

Everything here reads the build's own files with PIL / soundfile / json, never through
:mod:`avsynth.exporters`, so the exports are checked against the files themselves.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from avsynth.manifest import ManifestWriter, read_manifest

# No hub access from the tests (read by huggingface_hub / datasets when first imported).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def manifest_lines(manifest: Path) -> dict[str, dict]:
    """``{id: parsed JSON line}`` of a manifest, read with the json module."""
    out = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out[d["id"]] = d
    return out


def split_ids(manifest: Path) -> dict[str, list[str]]:
    """Sorted ids per split (``train``, ``val``, ``test``) from the manifest's JSON lines."""
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for tid, d in manifest_lines(manifest).items():
        out[d["split"]].append(tid)
    return {s: sorted(v) for s, v in out.items()}


def pixels(data: bytes | Path) -> np.ndarray:
    """The decoded pixels of image bytes or an image file, as stored (no mode conversion)."""
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    with Image.open(src) as im:
        return np.asarray(im).copy()


def samples(data: bytes | Path) -> tuple[np.ndarray, int]:
    """``(int16 samples, rate)`` of WAV bytes or a WAV file, read with soundfile."""
    src = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    y, sr = sf.read(src, dtype="int16")
    return y, sr


def tree_digests(root: Path) -> dict[str, str]:
    """``{relative path: SHA-256}`` of every file below ``root``."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def with_ids(manifest: Path, dest: Path, rename) -> Path:
    """A copy of ``manifest`` beside it (same media) whose ids are ``rename(id)``."""
    ts = [dataclasses.replace(t, id=rename(t.id)) for t in read_manifest(manifest)]
    with ManifestWriter(dest) as w:
        w.write_all(ts)
    return dest
