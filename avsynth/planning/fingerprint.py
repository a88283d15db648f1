"""Content fingerprints of the metadata files a plan read (recorded in ``build_info.json``).

Whole-file BLAKE2b-256 (not size + mtime, which change on copy): streaming in 8 MiB blocks it
runs at about 1 GB/s per core. Planning hashes in its worker process
(:mod:`avsynth.planning.background`), after that worker parsed the Open Images CSVs and while
this process decodes LVIS and plans, so on a machine with two cores the hashes cost no wall
time (see ``docs/performance.md``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

# Metadata files per source (globs relative to the source root).
METADATA_GLOBS = {
    "lvis": ("lvis_v1_*.json",),
    "openimages": ("*.csv",),
    "vggsound": ("vggsound.csv",),
}

_BLOCK = 8 << 20


def file_fingerprint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"bytes": size, "blake2b": hex}`` of one file (BLAKE2b, 32-byte digest)."""
    h = hashlib.blake2b(digest_size=32)
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(_BLOCK)
        view = memoryview(buf)
        size = 0
        while n := f.readinto(buf):
            h.update(view[:n])
            size += n
    return {"bytes": size, "blake2b": h.hexdigest()}


def metadata_files(roots: dict[str, str]) -> dict[str, list[Path]]:
    """The metadata files present under each source root, sorted by name."""
    out: dict[str, list[Path]] = {}
    for source, root in sorted(roots.items()):
        files: set[Path] = set()
        for pattern in METADATA_GLOBS.get(source, ()):
            files.update(p for p in Path(root).glob(pattern) if p.is_file())
        out[source] = sorted(files)
    return out


def fingerprint_files(roots: dict[str, str]) -> dict[str, Any]:
    """``{source: {file name: {"bytes", "blake2b"}}}`` of the metadata files of ``roots``."""
    return {
        source: {p.name: file_fingerprint(p) for p in files}
        for source, files in metadata_files(roots).items()
    }
