"""Small file helpers every part of the toolkit builds on: atomic writes and content hashes.

Public base of the package graph: avsynth's pipeline, inspection and export, and avsmodel's
checkpoints, plots and predictions all write through :func:`atomic_path`, so no reader ever
sees a half-written file under its final name.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    The temporary file is new and unique (:func:`unique_temp`), so two writers of one path
    never share it: each replaces ``path`` with its own complete file and the last one wins.
    Its name keeps the suffix (``x.png`` -> ``x.png.k3j9x_2a.tmp.png``) so writers that pick
    the format from the extension (PIL, matplotlib) work; on error it is removed and ``path``
    is left as it was. The parent folder is created.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = unique_temp(p)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, p)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@functools.cache
def _new_file_mode() -> int:
    """The mode ``open()`` gives a new file under this process's umask (0o644 for 022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def unique_temp(path: str | os.PathLike[str], suffix: str | None = None) -> tuple[int, Path]:
    """A new, empty temporary file beside ``path`` with a unique name; returns ``(fd, path)``.

    ``tempfile.mkstemp`` in ``path``'s folder (so ``os.replace`` onto ``path`` is atomic),
    named ``<name>.<random>`` + ``suffix`` (default ``.tmp`` + ``path``'s suffix), with the
    permissions of an ordinary new file rather than mkstemp's 0600. The caller closes ``fd``.
    """
    p = Path(path)
    tail = ".tmp" + p.suffix if suffix is None else suffix
    fd, name = tempfile.mkstemp(dir=p.parent, prefix=f"{p.name}.", suffix=tail)
    os.fchmod(fd, _new_file_mode())
    return fd, Path(name)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); returns the path.

    Raises:
        OutputError: the write failed (a full disk, no permission), naming ``path``.
    """
    from avsynth.errors import OutputError

    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as e:
        raise OutputError(f"{path}: cannot write ({e.strerror or e})") from None
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically, byte for byte (no newline translation)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
