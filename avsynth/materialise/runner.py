"""Running the media work of a plan, in-process or on a pool of worker processes.

Workers are forked (they share the plan's records without pickling the whole plan), never
more than there are chunks of work, and on Linux ask the kernel to kill them when the build
process dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), so a ``kill -9`` of the build leaves no
worker behind. A full disk stops the build whatever ``on_error`` says, and every ``.tmp`` file
is removed on the way out.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from avsynth.constants import ON_ERROR, SILENT_AUDIO
from avsynth.errors import AvsynthError, MediaError
from avsynth.materialise import provenance as prov
from avsynth.materialise.tasks import (
    MediaTask,
    TaskResult,
    composite_tasks,
    media_tasks,
    plan_outputs,
)
from avsynth.materialise.writes import DiskFullError, disk_full, is_disk_full
from avsynth.planning.keys import key_of_image
from avsynth.planning.plan import Plan, PlannedTriplet
from avsynth.sources.processes import die_with_parent

_MAX_CHUNK = 8


@dataclass
class MediaResult:
    """What materialisation produced.

    Attributes:
        image_sizes: ``(width, height)`` per image key (``{source}:{image_id}``).
        clip_frames: 16 kHz samples written per clip id (its real length, at most the clip
            length asked for).
        silent_clips: Ids of clips whose every sample is zero (kept or skipped per
            ``silent_audio``).
        failed_images: Image key -> error message (only with ``on_error="skip"``).
        failed_clips: Clip id -> error message (``on_error="skip"``, or silent clips with
            ``silent_audio="skip"``).
        failed_unions: Triplet id -> error message of its union mask (``on_error="skip"``).
        failed_mixes: Triplet id -> error message of its mix (``on_error="skip"``).
        workers: Worker processes started (0 = in this process).
    """

    image_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    clip_frames: dict[str, int] = field(default_factory=dict)
    silent_clips: list[str] = field(default_factory=list)
    failed_images: dict[str, str] = field(default_factory=dict)
    failed_clips: dict[str, str] = field(default_factory=dict)
    failed_unions: dict[str, str] = field(default_factory=dict)
    failed_mixes: dict[str, str] = field(default_factory=dict)
    workers: int = 0

    def failed(self, kind: str) -> dict[str, str]:
        """The failures of one task kind (``image``, ``clip``, ``union`` or ``mix``)."""
        return {"image": self.failed_images, "clip": self.failed_clips,
                "union": self.failed_unions, "mix": self.failed_mixes}[kind]  # fmt: skip

    @property
    def skips(self) -> dict[str, str]:
        """Every failure, images, clips, union masks, then mixes (key -> message)."""
        return {**self.failed_images, **self.failed_clips, **self.failed_unions,
                **self.failed_mixes}  # fmt: skip

    def keeps(self, t: PlannedTriplet) -> bool:
        """Whether every file of triplet ``t`` was made."""
        return (
            key_of_image(t.image) not in self.failed_images
            and not any(c.clip.clip_id in self.failed_clips for c in t.components)
            and t.id not in self.failed_unions
            and t.id not in self.failed_mixes
        )


def run_task(task: MediaTask) -> TaskResult:
    """Run one task; its value, or its error as one line (disk full: ``fatal``)."""
    kind, key = task.kind, task.key
    try:
        return TaskResult(kind, key, task.run())
    except DiskFullError as e:
        return TaskResult(kind, key, error=str(e), fatal=True)
    except AvsynthError as e:
        return TaskResult(kind, key, error=str(e))
    except OSError as e:
        if is_disk_full(e):
            return TaskResult(kind, key, error=str(disk_full(Path(task.source()), e)), fatal=True)
        return TaskResult(kind, key, error=f"cannot materialise {kind} {task.source()}: {e}")
    except Exception as e:  # a decoder failing in an unforeseen way: still name the file
        msg = f"cannot materialise {kind} {task.source()}: {type(e).__name__}: {e}"
        return TaskResult(kind, key, error=msg)


def _run_chunk(tasks: list[MediaTask]) -> list[TaskResult]:
    return [run_task(t) for t in tasks]


def _remove_stale_tmp(out: str) -> None:
    """Delete ``*.tmp`` files an interrupted run left in the media folders (never trusted)."""
    for sub in ("images", "masks", "audio"):
        base = Path(out) / sub
        if base.is_dir():
            for p in base.rglob("*.tmp"):
                p.unlink(missing_ok=True)
    for p in Path(out).glob(f"{prov.LOG_NAME}.*.tmp"):
        p.unlink(missing_ok=True)


def run_media(
    plan: Plan,
    out: str,
    *,
    clip_seconds: float,
    workers: int = 1,
    on_error: str = ON_ERROR[0],
    silent_audio: str = SILENT_AUDIO[0],
    progress: bool = True,
    hook: Callable[[int], None] | None = None,
) -> MediaResult:
    """Materialise every image, mask and clip of ``plan`` below ``out``, then (composed plans)
    the union masks and mixes made from them (see :mod:`avsynth.materialise.tasks`).

    Args:
        plan: The plan (its ``roots`` name the source folders).
        out: Output folder.
        clip_seconds: Longest audio per WAV (shorter clips keep their real length).
        workers: Worker processes (1 = in this process); never more than chunks of work.
        on_error: ``raise`` (stop at the first failure) or ``skip`` (record and go on).
        silent_audio: ``keep`` silent clips (counted in ``silent_clips``) or ``skip`` them.
        progress: Show progress in triplets (see :func:`avsynth.progress.progress`).
        hook: Called with the number of finished tasks after each chunk (used by tests).

    Raises:
        MediaError: the first failing file, when ``on_error == "raise"``.
        DiskFullError: the output device is full (always; ``.tmp`` files are removed).
    """
    if silent_audio not in SILENT_AUDIO:
        raise MediaError(f"silent_audio {silent_audio!r} is not one of {', '.join(SILENT_AUDIO)}")
    if on_error not in ON_ERROR:
        raise MediaError(f"on_error {on_error!r} is not one of {', '.join(ON_ERROR)}")
    _remove_stale_tmp(out)
    Path(out).mkdir(parents=True, exist_ok=True)
    recorded = prov.load(out)
    keep = plan_outputs(plan)
    prov.compact(out, recorded, keep)
    tasks, waiting = media_tasks(plan, out, clip_seconds, recorded)
    result = MediaResult()
    run = _Pass(result, on_error=on_error, silent_audio=silent_audio, progress=progress,
                hook=hook)  # fmt: skip
    try:
        result.workers = run(tasks, workers, waiting=waiting, total=len(plan.triplets))
        bad = set(result.failed_images) | set(result.failed_clips)
        more = composite_tasks(plan, out, clip_seconds, result.image_sizes, bad, recorded)
        if more:
            run(more, workers, waiting=None, total=len(more))
    except BaseException:
        _remove_stale_tmp(out)
        raise
    result.silent_clips.sort()
    prov.compact(out, prov.load(out), keep)
    return result


class _Pass:
    """Runs one pass of tasks in chunks (in-process or on forked workers), recording each
    :class:`TaskResult` in the :class:`MediaResult` and advancing the progress bar."""

    def __init__(self, result: MediaResult, *, on_error: str, silent_audio: str, progress: bool,
                 hook: Callable[[int], None] | None) -> None:  # fmt: skip
        self.result, self.on_error, self.silent_audio = result, on_error, silent_audio
        self.progress, self.hook, self.done = progress, hook, 0

    def __call__(
        self,
        tasks: Sequence[MediaTask],
        workers: int,
        *,
        waiting: Mapping[tuple[str, str], list[int]] | None,
        total: int,
    ) -> int:
        """Run ``tasks``; progress in triplets (each done when every task in ``waiting``
        listing it is) or, without ``waiting``, in files. Returns the workers started."""
        from avsynth.progress import progress as progress_bar

        size = max(1, min(_MAX_CHUNK, len(tasks) // (4 * max(1, workers))))
        chunks = [list(tasks[i : i + size]) for i in range(0, len(tasks), size)]
        n_workers = min(workers, len(chunks))
        need = [0] * total
        for ids in (waiting or {}).values():
            for i in ids:
                need[i] += 1
        unit = "triplets" if waiting is not None else "files"
        bar = progress_bar(total=total, desc="media", unit=unit, enabled=self.progress, leave=True)
        results = _results(chunks, n_workers)
        try:
            for rows in results:
                finished = 0
                for r in rows:
                    self._record(r)
                    if waiting is None:
                        finished += 1
                        continue
                    for i in waiting.get((r.kind, r.key), ()):
                        need[i] -= 1
                        finished += need[i] == 0
                self.done += len(rows)
                bar.update(finished)
                if self.hook is not None:
                    self.hook(self.done)
        finally:
            results.close()  # on an error: cancel the pending chunks, wait for the running
            bar.close()
        return n_workers if n_workers > 1 else 0

    def _record(self, r: TaskResult) -> None:
        res = self.result
        if r.error is not None:
            if r.fatal or self.on_error == "raise":
                raise (DiskFullError if r.fatal else MediaError)(r.error)
            res.failed(r.kind)[r.key] = r.error
        elif r.kind == "image":
            res.image_sizes[r.key] = r.value
        elif r.kind == "clip":
            res.clip_frames[r.key], silent = r.value
            if silent:
                res.silent_clips.append(r.key)
                if self.silent_audio == "skip":
                    res.failed_clips[r.key] = "silent: every sample is zero"


def _results(chunks: list[list[MediaTask]], n_workers: int) -> Iterator[list[TaskResult]]:
    """The results of each chunk as it finishes (in-process for one worker or less)."""
    if n_workers <= 1:
        for chunk in chunks:
            yield _run_chunk(chunk)
        return
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=n_workers,
        mp_context=ctx,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        pending = {pool.submit(_run_chunk, c) for c in chunks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    yield f.result()
        except BaseException:
            for f in pending:
                f.cancel()
            raise
