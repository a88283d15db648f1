"""One training at a time per run folder, and ``--overwrite`` that cannot lose a run for nothing.

* :class:`RunLock` holds an exclusive ``fcntl.flock`` on ``RUN/.avsmodel-train.lock`` for the
  whole ``train`` call (on the main process). A second training or ``--resume`` into the same
  folder fails at once with one line naming the holder's process id. The lock dies with its
  process (also on ``kill -9``); a leftover lock file is simply locked again.
* :class:`ReplacedRun` carries out ``--overwrite``: the old run's files are moved into a
  hidden folder beside them (``RUN/.replaced-<pid>/``, a rename: nothing is copied) while the
  new run is set up. If the set-up fails (unknown model, a manifest without a ``val`` split,
  a bad ``--config`` or ``--init``...), the old files are moved back; once the new run has
  started, they are deleted. A process killed in between leaves them in that folder.
* :func:`check_init_outside` refuses ``--overwrite --init RUN/best.pt`` (the init would be
  one of the files being replaced).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from pathlib import Path

from avsmodel.errors import ConfigError
from avsmodel.training.run_folder import RUN_FILES

LOCK_FILE = ".avsmodel-train.lock"
ASIDE_PREFIX = ".replaced-"


class RunLock:
    """Exclusive lock of a run folder for one ``train`` call (context manager).

    On entry the folder is created and locked; on exit the lock file is removed, and a folder
    the block created is removed again when the block raised and left it empty.

    Raises:
        ConfigError: another process holds the lock (the message names its pid), or the
            folder cannot be created or written.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.path = self.out / LOCK_FILE
        self._fd: int | None = None
        self._created = False

    def __enter__(self) -> RunLock:
        self._created = not self.out.exists()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConfigError(f"--out {self.out}: cannot create the folder: {e.strerror}") from None
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise ConfigError(f"--out {self.out}: cannot write into it: {e.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise ConfigError(f"--out {self.out}: cannot lock {self.path}: {e}") from None
                raise ConfigError(
                    f"--out {self.out} is in use by another training (pid {holder}); wait for "
                    "it to finish or choose another --out"
                ) from None
            try:  # a releasing holder may have removed the file between open and flock
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
            if exc_type is not None and self._created and not any(self.out.iterdir()):
                self.out.rmdir()
        except OSError:
            pass
        finally:
            os.close(self._fd)
            self._fd = None


def check_init_outside(out: Path, init: str | os.PathLike[str] | None) -> None:
    """Refuse an ``--init`` that is one of the run files ``--overwrite`` replaces in ``out``.

    Raises:
        ConfigError: naming the file and what to do instead.
    """
    if init is None:
        return
    p = Path(init)
    if not p.exists():
        return  # the checkpoint loader names a missing file
    replaced = {(out / name).resolve() for name in RUN_FILES}
    if p.resolve() in replaced:
        raise ConfigError(
            f"--init {init} is a file of the run --overwrite replaces in {out}; copy it out of "
            "the run folder first, or train into another --out"
        )


class ReplacedRun:
    """Moves a run's files aside for ``--overwrite``; :meth:`restore` or :meth:`discard`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.aside = out / f"{ASIDE_PREFIX}{os.getpid()}"
        self.moved: list[str] = []
        if self.aside.exists():
            shutil.rmtree(self.aside)  # a leftover of this pid's earlier, killed process
        for name in RUN_FILES:
            if (out / name).exists():
                self.aside.mkdir(exist_ok=True)
                os.replace(out / name, self.aside / name)
                self.moved.append(name)

    def restore(self) -> None:
        """Put the old run's files back (over anything the failed set-up wrote)."""
        for name in self.moved:
            os.replace(self.aside / name, self.out / name)
        self.moved = []
        self._drop_aside()

    def discard(self) -> None:
        """Delete the old run's files (the new run has started)."""
        self.moved = []
        self._drop_aside()

    def _drop_aside(self) -> None:
        if self.aside.exists():
            shutil.rmtree(self.aside)
