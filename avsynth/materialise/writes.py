"""Atomic media writes that say plainly when the disk is full, and never leave ``.tmp`` files.

Every media file is encoded in memory first and written with one ``os.write`` loop to
a new temporary file ``<name>.<random>.tmp`` beside it (unique per writer, process or
thread), then renamed into place. Any failure removes the temporary file;
``ENOSPC``/``EDQUOT`` become :class:`DiskFullError`, which stops a build whatever
``on_error`` says (every later file would fail the same way).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from avsynth.errors import MediaError
from avsynth.storage.atomic import unique_temp

_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(MediaError):
    """No space left on the output device (or the user's quota is exhausted)."""


def _free_mb(path: Path) -> str:
    try:
        st = os.statvfs(path)
        return f"{st.f_bavail * st.f_frsize / 1e6:.1f} MB free"
    except OSError:
        return "free space unknown"


def disk_full(dest: Path, err: OSError) -> DiskFullError:
    """The one-line error for ``err`` (an ``ENOSPC``/``EDQUOT``) while writing ``dest``."""
    base = dest.parent if dest.parent.exists() else Path(".")
    return DiskFullError(
        f"disk full: no space left on the device of {base} writing {dest.name} "
        f"({_free_mb(base)}; {os.strerror(err.errno or errno.ENOSPC)}); free space and re-run "
        "the same command: finished files are kept, partial ones were removed"
    )


def is_disk_full(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno in _FULL


def write_media(dest: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``dest`` atomically (parent folders created).

    Raises:
        DiskFullError: the device is full; nothing is left under a temporary name.
        MediaError: any other OS error, naming the file.
    """
    tmp: Path | None = None
    try:
        try:
            fd, tmp = unique_temp(dest, suffix=".tmp")
        except FileNotFoundError:  # the folder is made on first use only
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = unique_temp(dest, suffix=".tmp")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except OSError as e:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if is_disk_full(e):
            raise disk_full(dest, e) from None
        raise MediaError(f"cannot write {dest}: {e.strerror or e}") from None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
