"""Running the media work of a plan, in-process or on a pool of worker processes."""

from __future__ import annotations

import multiprocessing
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avsynth.errors import AvsynthError, MediaError
from avsynth.materialise.media import materialise_clip, materialise_image
from avsynth.planning.keys import image_key
from avsynth.planning.planner import Plan

ON_ERROR = ("raise", "skip")
_CHUNK = 8


@dataclass
class MediaResult:
    """What materialisation produced.

    Attributes:
        image_sizes: ``(width, height)`` per image key (``{source}:{image_id}``).
        failed_images: Image key -> error message (only with ``on_error="skip"``).
        failed_clips: Clip id -> error message (only with ``on_error="skip"``).
    """

    image_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    failed_images: dict[str, str] = field(default_factory=dict)
    failed_clips: dict[str, str] = field(default_factory=dict)


def _run_one(task: tuple) -> tuple[str, str, Any, str | None]:
    kind, key, args = task[:3]
    try:
        if len(task) > 3:  # (kind, key, args, function): composed builds' union masks / mixes
            return kind, key, task[3](*args), None
        if kind == "image":
            return kind, key, materialise_image(*args), None
        return kind, key, materialise_clip(*args), None
    except AvsynthError as e:
        return kind, key, None, str(e)
    except Exception as e:  # a decoder failing in an unforeseen way: still name the file
        what = getattr(args[0], "path", key)
        return kind, key, None, f"cannot materialise {kind} {what}: {type(e).__name__}: {e}"


def _run_chunk(tasks: list[tuple]) -> list[tuple[str, str, Any, str | None]]:
    return [_run_one(t) for t in tasks]


def _remove_stale_tmp(out: str) -> None:
    """Delete ``*.tmp`` files an interrupted run left in the media folders (never trusted)."""
    for sub in ("images", "masks", "audio"):
        base = Path(out) / sub
        if base.is_dir():
            for p in base.rglob("*.tmp"):
                p.unlink(missing_ok=True)


def media_tasks(plan: Plan, out: str, clip_seconds: float) -> list[tuple]:
    """One task per distinct image (with its masks) and per distinct clip, in stable order."""
    images: dict[str, tuple] = {}
    masks: dict[str, dict] = defaultdict(dict)
    clips: dict[str, Any] = {}
    for t in plan.triplets:
        g = image_key(t.mask)
        images[g] = t.mask.image
        masks[g][t.mask.mask_id] = t.mask
        clips[t.clip.clip_id] = t.clip
    tasks: list[tuple] = []
    for g in sorted(images):
        im = images[g]
        ms = [masks[g][k] for k in sorted(masks[g])]
        tasks.append(("image", g, (im, ms, plan.roots[im.source], out)))
    for cid in sorted(clips):
        tasks.append(("clip", cid, (clips[cid], plan.roots["vggsound"], out, clip_seconds)))
    return tasks


def run_media(
    plan: Plan,
    out: str,
    *,
    clip_seconds: float,
    workers: int = 1,
    on_error: str = "raise",
    progress: bool = True,
    hook: Callable[[int], None] | None = None,
    tasks: list[tuple] | None = None,
) -> MediaResult:
    """Materialise every image, mask and clip of ``plan`` below ``out``.

    Args:
        plan: The plan (its ``roots`` name the source folders).
        out: Output folder.
        clip_seconds: Audio length.
        workers: Worker processes (1 = in this process).
        on_error: ``raise`` (stop at the first failure) or ``skip`` (record and go on).
        progress: Show a tqdm bar.
        hook: Called with the number of finished tasks after each chunk (used by tests).
        tasks: Run these instead of :func:`media_tasks` (composed builds); a task is
            ``(kind, key, args)`` or ``(kind, key, args, function)``.

    Raises:
        MediaError: the first failing file, when ``on_error == "raise"``.
    """
    from tqdm import tqdm

    _remove_stale_tmp(out)
    if tasks is None:
        tasks = media_tasks(plan, out, clip_seconds)
    chunks = [tasks[i : i + _CHUNK] for i in range(0, len(tasks), _CHUNK)]
    result = MediaResult()
    bar = tqdm(total=len(tasks), desc="media", unit="file", disable=not progress, leave=False)
    done = 0

    def collect(rows: list[tuple]) -> None:
        nonlocal done
        for kind, key, value, err in rows:
            if err is not None:
                if on_error == "raise":
                    raise MediaError(err)
                (result.failed_images if kind == "image" else result.failed_clips)[key] = err
            elif kind == "image":
                result.image_sizes[key] = value
        done += len(rows)
        bar.update(len(rows))
        if hook is not None:
            hook(done)

    try:
        if workers <= 1:
            for chunk in chunks:
                collect(_run_chunk(chunk))
        else:
            ctx = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
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
    finally:
        bar.close()
    return result
