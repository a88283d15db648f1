"""The output folder of a shard export: written whole, or not at all.

An export is written into a fresh temporary folder beside ``--out``
(``.<name>.tmp-XXXXXXXX``) and renamed to ``--out`` only when every file is complete, so an
interrupted or failed export never leaves a folder that looks finished (and leaves no
temporary folder behind). ``--out`` must be new or empty; an earlier export (a folder holding
avsynth's ``export_info.json``) is replaced only with ``overwrite=True``, and a non-empty
folder that holds no export is never replaced. A write that fails (full disk, no permission)
is an :class:`~avsynth.errors.OutputError` naming the file under ``--out``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from avsynth.errors import OutputError
from avsynth.storage.out_paths import check_out_dir

__all__ = ["EXPORT_INFO", "Staging", "check_export_out", "is_export_folder", "staged_export"]

#: Written into every export folder: what was exported, from which build, by which avsynth.
EXPORT_INFO = "export_info.json"


def is_export_folder(path: Path) -> bool:
    """Whether ``path`` holds an ``export_info.json`` written by avsynth."""
    try:
        info = json.loads((path / EXPORT_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and "avsynth" in info


def check_export_out(out: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Check that an export may be written at ``out`` (nothing is written).

    Raises:
        OutputError: ``out`` is a file, not writable, non-empty without ``overwrite``, or
            non-empty and not an earlier export.
    """
    p = check_out_dir(out)
    if not p.is_dir() or not any(p.iterdir()):
        return p
    if not is_export_folder(p):
        raise OutputError(
            f"--out {p}: not empty and not an avsynth export (no {EXPORT_INFO}); "
            "choose a new or empty folder"
        )
    if not overwrite:
        raise OutputError(f"--out {p}: holds an earlier export; pass --overwrite to replace it")
    return p


class Staging:
    """The temporary folder an export writes into (``tmp``) and the folder it becomes (``out``)."""

    def __init__(self, out: Path, tmp: Path) -> None:
        self.out = out
        self.tmp = tmp

    def path(self, rel: str) -> Path:
        """Where the file ``rel`` (POSIX, relative to ``out``) is written now."""
        return self.tmp / rel

    @contextlib.contextmanager
    def writing(self, rel: str) -> Iterator[Path]:
        """Yield the temporary path of ``rel``; an ``OSError`` becomes one line naming it."""
        p = self.tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        try:
            yield p
        except OSError as e:
            raise OutputError(f"{self.out / rel}: cannot write ({e.strerror or e})") from None

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write ``data`` as the file ``rel``."""
        with self.writing(rel) as p:
            p.write_bytes(data)


@contextlib.contextmanager
def staged_export(out: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Staging]:
    """Write an export into a temporary folder that replaces ``out`` when the block succeeds.

    Raises:
        OutputError: see :func:`check_export_out`; also when the temporary folder cannot be
            made or renamed.
    """
    p = check_export_out(out, overwrite=overwrite)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{p.name}.tmp-", dir=p.parent))
        umask = os.umask(0o022)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's 0700 would stay on the published folder
    except OSError as e:
        raise OutputError(f"--out {p}: cannot make a folder beside it ({e.strerror})") from None
    try:
        yield Staging(p, tmp)
        _publish(tmp, p)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` (empty, or an earlier export) goes."""
    old = None
    if out.is_dir() and any(out.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
    elif out.is_dir():
        out.rmdir()
    try:
        os.replace(tmp, out)
    except OSError as e:
        if old is not None:
            os.replace(old / out.name, out)
        raise OutputError(f"--out {out}: cannot rename the finished export ({e.strerror})") from e
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
