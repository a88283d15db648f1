"""Atomic media writes that say plainly when the disk is full, and never leave ``.tmp`` files.

Every media file is encoded in memory first and written with one ``os.write`` loop to
``<name>.<pid>.tmp``, then renamed into place. Any failure removes the temporary file;
``ENOSPC``/``EDQUOT`` become :class:`DiskFullError`, which stops a build whatever
``on_error`` says (every later file would fail the same way).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from avsynth.errors import MediaError

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


def tmp_name(dest: Path) -> Path:
    """The temporary name a worker writes ``dest`` under (unique per process)."""
    return dest.with_name(f"{dest.name}.{os.getpid()}.tmp")


def write_media(dest: Path, data: bytes | memoryview) -> None:
    """Write ``data`` to ``dest`` atomically (parent folders created).

    Raises:
        DiskFullError: the device is full; nothing is left under a temporary name.
        MediaError: any other OS error, naming the file.
    """
    tmp = tmp_name(dest)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            fd = os.open(tmp, flags, 0o644)
        except FileNotFoundError:  # the folder is made on first use only
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, flags, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if is_disk_full(e):
            raise disk_full(dest, e) from None
        raise MediaError(f"cannot write {dest}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
