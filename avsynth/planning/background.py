"""Jobs run one after another in a forked worker process, their results read in order.

Planning reads LVIS with msgspec, which holds the GIL for seconds at a time: a thread cannot
run alongside it, a process can. :class:`BackgroundJobs` forks a worker that runs its jobs
in order (parse the Open Images CSVs, then hash the metadata files) and hands over each result
as soon as it is ready, so the caller can use the first while the worker computes the next.

A result goes through an unnamed temporary file (the *spool*), not the pipe: a pipe holds
64 KiB, so the worker would keep a large result (and the memory its computation left
cached) until the caller reads it, which is after the caller's own peak. Written to the
spool, the result is freed at once; the pipe carries only where it lies. The spool has no
name (it disappears with the last process holding it, even after a ``kill -9``).

The worker exits with its parent (``PR_SET_PDEATHSIG``) and :meth:`BackgroundJobs.cancel`
stops it. On a one-core machine, or where processes cannot be forked, the jobs run in this
process, each when its result is asked for.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from avsynth.errors import AvsynthError

__all__ = ["BackgroundJobs"]


class BackgroundJobs:
    """Run ``jobs`` (functions of no argument) in a worker process, in order.

    Fork it while the process is small and runs no thread of its own (the child gets a
    copy of everything, including the jobs' arguments). Without ``fork``, a second CPU or a
    writable temporary folder (``$TMPDIR``) the jobs run in this process instead.

    Args:
        jobs: The jobs; their results must pickle (Arrow tables, dicts...).
        name: Worker process name (shows in ``ps``).
    """

    def __init__(self, jobs: Sequence[Callable[[], Any]], *, name: str = "avsynth-worker"):
        self._jobs = list(jobs)
        self._next = 0
        self._proc = None
        if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
            return
        ctx = multiprocessing.get_context("fork")
        try:
            self._spool = tempfile.TemporaryFile(prefix="avsynth-worker-")  # noqa: SIM115
        except OSError:  # no writable temporary folder: run the jobs here
            return
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_worker,
            args=(child, self._spool.fileno(), self._jobs, os.getpid()),
            name=name,
            daemon=True,
        )
        self._proc.start()
        child.close()

    @property
    def in_process(self) -> bool:
        """Whether a worker process runs the jobs (False: they run here)."""
        return self._proc is not None

    def next(self) -> Any:
        """The result of the next job (waiting for it).

        Raises:
            AvsynthError: The job raised one (re-raised here), or failed otherwise, or the
                worker died (one line naming what happened).
        """
        if self._next >= len(self._jobs):
            raise IndexError("no job left")
        self._next += 1
        if self._proc is None:
            return self._jobs[self._next - 1]()
        try:
            offset, size = self._conn.recv()
            status, payload = pickle.loads(_pread(self._spool.fileno(), size, offset))
        except EOFError:
            self._proc.join()
            code = self._proc.exitcode
            self._close()
            raise AvsynthError(f"the background worker process died (exit code {code})") from None
        if self._next == len(self._jobs) or status != "ok":
            self._close()
        if status != "ok":
            raise payload
        return payload

    def cancel(self) -> None:
        """Stop the worker if it still runs (its unread results are dropped)."""
        if self._proc is not None:
            self._proc.terminate()
            self._close()

    def _close(self) -> None:
        if self._proc is not None:
            self._proc.join()
            self._conn.close()
            self._spool.close()
            self._proc = None


def _pread(fd: int, size: int, offset: int) -> bytes:
    parts = []
    while size > 0:
        b = os.pread(fd, size, offset)
        if not b:
            raise EOFError
        parts.append(b)
        size -= len(b)
        offset += len(b)
    return b"".join(parts)


def _worker(conn, spool: int, jobs: list[Callable[[], Any]], parent: int) -> None:
    from avsynth.sources.processes import die_with_parent

    die_with_parent(parent)
    offset = 0
    for job in jobs:
        try:
            msg = ("ok", job())
        except AvsynthError as e:
            msg = ("error", e)
        except Exception as e:  # noqa: BLE001 - re-raised in the parent as one line
            msg = ("error", AvsynthError(f"{type(e).__name__}: {e}"))
        try:
            data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # noqa: BLE001 - e.g. an exception that does not pickle
            msg = ("error", AvsynthError(f"background job result: {type(e).__name__}: {e}"))
            data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        failed = msg[0] != "ok"
        msg = None  # free the result (and what its computation left cached) before the send
        _release_arrow_memory()
        view, pos = memoryview(data), offset
        while view:  # a write may be partial
            n = os.pwrite(spool, view, pos)
            view, pos = view[n:], pos + n
        conn.send((offset, len(data)))
        offset, data = pos, None
        if failed:
            break
    conn.close()


def _release_arrow_memory() -> None:
    """Hand back to the system what Arrow's allocator keeps cached (a CSV parse leaves
    ~100 MB there), if Arrow is loaded."""
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
