"""Per-file provenance of materialised media, so a resumed build never keeps a stale file.

Each media file written below ``out`` gets one JSON line in ``out/.media_provenance.jsonl``:
its path, a digest of everything it was made from (the source file's bytes, or the mask's
polygon/RLE or PNG member, the options that shape it and :data:`FORMAT`), its byte count, a
digest of its own bytes and what the manifest needs from it (image size, audio frames,
silence). A worker appends the line (``O_APPEND``, one ``write`` per line) just before renaming
the file into place, so a file on disk always has its line; a file is kept on resume only when
its line names the same inputs and its bytes still hash to the recorded digest, else it is made
again (this also covers a kill between the line and the rename). A torn line is ignored.
The parent compacts the log (one sorted line per current file) before and after the media
stage, so a finished build's log is byte-identical to a fresh build's.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from avsynth.materialise.writes import disk_full, is_disk_full

LOG_NAME = ".media_provenance.jsonl"
#: Bumped whenever the bytes written for the same inputs and options change.
FORMAT = 4


def digest(*parts: Any) -> str:
    """128-bit BLAKE2b hex digest of ``parts`` (bytes taken as-is, the rest as ``repr``)."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        b = bytes(p) if isinstance(p, (bytes, bytearray, memoryview)) else repr(p).encode()
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def load(out: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Relative path -> its latest entry (lines that do not parse are skipped)."""
    p = Path(out) / LOG_NAME
    entries: dict[str, dict[str, Any]] = {}
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return entries
    for line in raw.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("p"), str):
            entries[e["path"]] = e
    return entries


def _line(entry: dict[str, Any]) -> bytes:
    return (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()


def compact(
    out: str | os.PathLike[str], entries: dict[str, dict[str, Any]], keep: Iterable[str]
) -> None:
    """Rewrite the log atomically with the entries of ``keep`` whose file still exists."""
    from avsynth.materialise.writes import write_media

    close_all()
    base = Path(out)
    lines = [
        _line(entries[k])
        for k in sorted(set(keep))
        if k in entries and (base / k).is_file() and (base / k).stat().st_size == entries[k]["n"]
    ]
    write_media(base / LOG_NAME, b"".join(lines))


_FDS: dict[tuple[int, str], int] = {}


def close_all() -> None:
    """Close this process's append handles (before the log is replaced by :func:`compact`)."""
    for key in [k for k in _FDS if k[0] == os.getpid()]:
        os.close(_FDS.pop(key))


def append(out: str, entry: dict[str, Any]) -> None:
    """Append one entry (called by workers right after the file is in place)."""
    key = (os.getpid(), out)
    path = Path(out) / LOG_NAME
    try:
        fd = _FDS.get(key)
        if fd is None:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            _FDS[key] = fd
        os.write(fd, _line(entry))
    except OSError as e:
        if is_disk_full(e):
            raise disk_full(path, e) from None
        raise


def entry(rel: str, p: str, data: bytes, **info: Any) -> dict[str, Any]:
    """The log line of the file ``rel`` holding ``data``, made from inputs digested as ``p``."""
    return {"path": rel, "p": p, "n": len(data), "o": digest(data), **info}


def matches(entry: dict[str, Any] | None, p: str, dest: Path) -> bool:
    """True when ``dest`` was made from the inputs digested as ``p`` and is still whole."""
    if entry is None or entry.get("p") != p:
        return False
    try:
        if dest.stat().st_size != entry["n"]:
            return False
        return digest(dest.read_bytes()) == entry["o"]
    except (OSError, KeyError):
        return False
