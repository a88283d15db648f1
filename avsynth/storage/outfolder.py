"""The output folder of ``avsynth build``: what may be written into, and by whom.

* A folder that holds an avsynth build carries the marker file ``.avsynth-build`` (written
  by the first build there). :func:`check_out_folder` refuses an existing, non-empty folder
  without the marker (and without a ``build_info.json`` of an earlier avsynth version) unless
  ``force`` is given, so a mistyped ``--out`` never cleans up or overwrites someone else's
  files. It also refuses what :func:`avsynth.storage.out_paths.check_out_dir` refuses (a file,
  a path below a file, no write permission), and media subfolders (``images/``,
  ``masks/``, ``audio/`` and their per-source folders) that are symbolic links: files written
  through them would lie outside the output root, and every reader rejects such paths.
* :class:`OutFolderLock` holds an exclusive ``fcntl.flock`` on ``.avsynth-build.lock`` for the
  whole build. A second build into the same folder fails at once with a one-line error that
  names the holder's process id. The lock dies with its process (also on ``kill -9``); the
  file is removed on a clean release, a leftover one is simply locked again.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from pathlib import Path

from avsynth.errors import PlanError
from avsynth.paths import BUILD_MARKER as MARKER
from avsynth.paths import is_build_folder
from avsynth.storage.atomic import atomic_write_text

__all__ = ["LOCK_FILE", "MARKER", "MEDIA_DIRS", "OutFolderLock", "check_out_folder"]

LOCK_FILE = ".avsynth-build.lock"
#: Subfolders a build writes media into (relative to ``--out``).
MEDIA_DIRS = (
    "images",
    "images/lvis",
    "images/openimages",
    "masks",
    "masks/lvis",
    "masks/openimages",
    "audio",
)
_MARKER_TEXT = json.dumps({"written_by": "avsynth build", "purpose": "marks a build folder"})


def check_out_folder(out: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Check that a build may write into ``out`` (nothing is written).

    Args:
        out: The output folder (may not exist yet).
        force: Accept an existing non-empty folder that is not an avsynth build folder.

    Returns:
        ``out`` as a :class:`Path`.

    Raises:
        OutputError: ``out`` is a file, lies below one, or cannot be written.
        PlanError: ``out`` is an unrelated non-empty folder (without ``force``), or one of
            its media subfolders is a symbolic link.
    """
    from avsynth.storage.out_paths import check_out_dir

    outp = check_out_dir(out)  # a file, below a file, no permission: one line, nothing made
    if outp.is_dir():
        for sub in MEDIA_DIRS:
            if (outp / sub).is_symlink():
                raise PlanError(
                    f"--out {outp}: {sub}/ is a symbolic link (to {os.readlink(outp / sub)}); "
                    "media written through it would lie outside the output folder: replace it "
                    "with a real folder or choose another --out"
                )
        if not force and not is_build_folder(outp):
            entries = sorted(p.name for p in outp.iterdir() if p.name != LOCK_FILE)
            if entries:
                shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
                raise PlanError(
                    f"--out {outp} is a non-empty folder ({shown}) that is not an avsynth build "
                    f"folder (no {MARKER} file); choose an empty or new folder, or pass --force "
                    "to build into it anyway"
                )
    return outp


class OutFolderLock:
    """Exclusive lock of an output folder for one build (context manager).

    On entry the folder is created, locked and marked as a build folder (:data:`MARKER`). On
    exit the lock file is removed; when the block raised and the folder was created by it and
    holds nothing but the marker, the folder is removed too.

    Raises:
        PlanError: another process holds the lock (the message names its pid), or the folder
            cannot be created.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.path = self.out / LOCK_FILE
        self._fd: int | None = None
        self._created = False

    def __enter__(self) -> OutFolderLock:
        self._created = not self.out.exists()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise PlanError(f"--out {self.out}: cannot create the folder: {e.strerror}") from None
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise PlanError(f"--out {self.out}: cannot write into it: {e.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise PlanError(f"--out {self.out}: cannot lock {self.path}: {e}") from None
                raise PlanError(
                    f"--out {self.out} is in use by another avsynth build (pid {holder}); wait "
                    "for it to finish or choose another --out"
                ) from None
            # The file may have been removed by a releasing holder between open and flock:
            # only a lock on the file that is still at the path counts.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        if not (self.out / MARKER).is_file():
            atomic_write_text(self.out / MARKER, _MARKER_TEXT + "\n")
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
            # A build that failed before writing anything leaves no folder it created.
            if exc_type is not None and self._created:
                if {p.name for p in self.out.iterdir()} <= {MARKER}:
                    (self.out / MARKER).unlink(missing_ok=True)
                    self.out.rmdir()
        except OSError:
            pass
        finally:
            os.close(self._fd)
            self._fd = None
