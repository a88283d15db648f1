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
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avsynth.constants import ON_ERROR as ON_ERROR  # re-exported (avsynth.materialise)
from avsynth.constants import SILENT_AUDIO
from avsynth.errors import AvsynthError, MediaError
from avsynth.layout import audio_relpath, image_relpath, mask_relpath
from avsynth.materialise import provenance as prov
from avsynth.materialise.media import materialise_clip, materialise_image
from avsynth.materialise.writes import DiskFullError, disk_full, is_disk_full
from avsynth.planning.keys import image_key
from avsynth.planning.planner import Plan
from avsynth.sources._util import die_with_parent

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
        workers: Worker processes started (0 = in this process).
    """

    image_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    clip_frames: dict[str, int] = field(default_factory=dict)
    silent_clips: list[str] = field(default_factory=list)
    failed_images: dict[str, str] = field(default_factory=dict)
    failed_clips: dict[str, str] = field(default_factory=dict)
    workers: int = 0


def _run_one(task: tuple) -> tuple[str, str, Any, str | None, bool]:
    kind, key, args = task[:3]
    try:
        if len(task) > 3:  # (kind, key, args, function): composed builds' union masks / mixes
            return kind, key, task[3](*args), None, False
        if kind == "image":
            return kind, key, materialise_image(*args), None, False
        return kind, key, materialise_clip(*args), None, False
    except DiskFullError as e:
        return kind, key, None, str(e), True
    except AvsynthError as e:
        return kind, key, None, str(e), False
    except OSError as e:
        what = getattr(args[0], "path", key)
        if is_disk_full(e):
            return kind, key, None, str(disk_full(Path(str(what)), e)), True
        return kind, key, None, f"cannot materialise {kind} {what}: {e}", False
    except Exception as e:  # a decoder failing in an unforeseen way: still name the file
        what = getattr(args[0], "path", key)
        return kind, key, None, f"cannot materialise {kind} {what}: {type(e).__name__}: {e}", False


def _run_chunk(tasks: list[tuple]) -> list[tuple[str, str, Any, str | None, bool]]:
    return [_run_one(t) for t in tasks]


def _task_outputs(task: tuple) -> list[str]:
    """Relative paths a task writes: plain ``image``/``clip`` tasks, and composed builds'
    ``union``/``mix`` tasks (whose last argument is the output's relative path)."""
    kind, _, args = task[:3]
    if len(task) > 3:
        return [args[-1]] if kind in ("union", "mix") else []
    if kind == "image":
        return [image_relpath(args[0]), *(mask_relpath(m) for m in args[1])]
    if kind == "clip":
        return [audio_relpath(args[0])]
    return []


def _with_recorded(task: tuple, recorded: dict[str, dict[str, Any]]) -> tuple:
    """A task with the provenance entries of its outputs added as its last argument."""
    kind, key, args = task[:3]
    rels = _task_outputs(task)
    if not rels:
        return task
    return (kind, key, (*args, {r: recorded[r] for r in rels if r in recorded}), *task[3:])


def _remove_stale_tmp(out: str) -> None:
    """Delete ``*.tmp`` files an interrupted run left in the media folders (never trusted)."""
    for sub in ("images", "masks", "audio"):
        base = Path(out) / sub
        if base.is_dir():
            for p in base.rglob("*.tmp"):
                p.unlink(missing_ok=True)
    for p in Path(out).glob(f"{prov.LOG_NAME}.*.tmp"):
        p.unlink(missing_ok=True)


def media_tasks(
    plan: Plan,
    out: str,
    clip_seconds: float,
    recorded: dict[str, dict[str, Any]] | None = None,
) -> tuple[list[tuple], dict[tuple[str, str], list[int]]]:
    """One task per distinct image (with its masks) and per distinct clip.

    Tasks come in the order the plan's triplets first need them, so triplets complete steadily
    (progress counts triplets). Returns the tasks and, per ``(kind, key)``, the indices of the
    triplets waiting for it.
    """
    recorded = recorded or {}
    images: dict[str, Any] = {}
    masks: dict[str, dict] = defaultdict(dict)
    clips: dict[str, Any] = {}
    order: list[tuple[str, str]] = []
    waiting: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, t in enumerate(plan.triplets):
        g, cid = image_key(t.mask), t.clip.clip_id
        if g not in images:
            images[g] = t.mask.image
            order.append(("image", g))
        masks[g][t.mask.mask_id] = t.mask
        if cid not in clips:
            clips[cid] = t.clip
            order.append(("clip", cid))
        waiting["image", g].append(i)
        waiting["clip", cid].append(i)
    tasks: list[tuple] = []
    for kind, key in order:
        if kind == "image":
            im = images[key]
            ms = [masks[key][k] for k in sorted(masks[key])]
            rels = [image_relpath(im), *(mask_relpath(m) for m in ms)]
            rec = {r: recorded[r] for r in rels if r in recorded}
            tasks.append(("image", key, (im, ms, plan.roots[im.source], out, rec)))
        else:
            c = clips[key]
            rel = audio_relpath(c)
            rec = {rel: recorded[rel]} if rel in recorded else {}
            tasks.append(("clip", key, (c, plan.roots["vggsound"], out, clip_seconds, rec)))
    return tasks, waiting


def _outputs(plan: Plan) -> set[str]:
    out = set()
    for t in plan.triplets:
        out.update((image_relpath(t.mask.image), mask_relpath(t.mask), audio_relpath(t.clip)))
    return out


def run_media(
    plan: Plan,
    out: str,
    *,
    clip_seconds: float,
    workers: int = 1,
    on_error: str = "raise",
    silent_audio: str = "keep",
    progress: bool = True,
    hook: Callable[[int], None] | None = None,
    tasks: list[tuple] | None = None,
) -> MediaResult:
    """Materialise every image, mask and clip of ``plan`` below ``out``.

    Args:
        plan: The plan (its ``roots`` name the source folders).
        out: Output folder.
        clip_seconds: Longest audio per WAV (shorter clips keep their real length).
        workers: Worker processes (1 = in this process); never more than chunks of work.
        on_error: ``raise`` (stop at the first failure) or ``skip`` (record and go on).
        silent_audio: ``keep`` silent clips (counted in ``silent_clips``) or ``skip`` them.
        progress: Show progress in triplets (see :func:`avsynth.progress.progress`).
        hook: Called with the number of finished tasks after each chunk (used by tests).
        tasks: Run these instead of :func:`media_tasks` (composed builds); a task is
            ``(kind, key, args)`` or ``(kind, key, args, function)``.

    Raises:
        MediaError: the first failing file, when ``on_error == "raise"``.
        DiskFullError: the output device is full (always; ``.tmp`` files are removed).
    """
    from avsynth.progress import progress as progress_bar

    if silent_audio not in SILENT_AUDIO:
        raise MediaError(f"silent_audio {silent_audio!r} is not one of {', '.join(SILENT_AUDIO)}")
    _remove_stale_tmp(out)
    Path(out).mkdir(parents=True, exist_ok=True)
    recorded = prov.load(out)
    waiting: dict[tuple[str, str], list[int]] | None = None
    if tasks is None:
        keep = _outputs(plan)
        prov.compact(out, recorded, keep)
        tasks, waiting = media_tasks(plan, out, clip_seconds, recorded)
        need = [2] * len(plan.triplets)
        total, unit = len(plan.triplets), "triplets"
    else:  # composed builds' own tasks: each gets its outputs' records too
        keep = set(recorded).union(*(_task_outputs(t) for t in tasks))
        tasks = [_with_recorded(t, recorded) for t in tasks]
        total, unit = len(tasks), "files"
    size = max(1, min(_MAX_CHUNK, len(tasks) // (4 * max(1, workers))))
    chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
    n_workers = min(workers, len(chunks))
    result = MediaResult(workers=n_workers if n_workers > 1 else 0)
    bar = progress_bar(total=total, desc="media", unit=unit, enabled=progress, leave=True)
    done = 0

    def collect(rows: list[tuple]) -> None:
        nonlocal done
        finished = 0
        for kind, key, value, err, fatal in rows:
            if err is not None:
                if fatal or on_error == "raise":
                    raise (DiskFullError if fatal else MediaError)(err)
                (result.failed_images if kind == "image" else result.failed_clips)[key] = err
            elif kind == "image":
                result.image_sizes[key] = value
            elif kind == "clip":
                result.clip_frames[key], silent = value
                if silent:
                    result.silent_clips.append(key)
                    if silent_audio == "skip":
                        result.failed_clips[key] = "silent: every sample is zero"
            if waiting is None:
                finished += 1
                continue
            for i in waiting.get((kind, key), ()):
                need[i] -= 1
                finished += need[i] == 0
        done += len(rows)
        bar.update(finished)
        if hook is not None:
            hook(done)

    try:
        if n_workers <= 1:
            for chunk in chunks:
                collect(_run_chunk(chunk))
        else:
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
                            collect(f.result())
                except BaseException:
                    for f in pending:
                        f.cancel()
                    raise
    except BaseException:
        _remove_stale_tmp(out)
        raise
    finally:
        bar.close()
    result.silent_clips.sort()
    prov.compact(out, prov.load(out), keep)
    return result
