"""The media work of a plan as typed tasks: what each writes and what it returns.

A build materialises in two passes (:func:`avsynth.materialise.runner.run_media`):

1. :class:`ImageTask` (one per image: the image and its target masks) and :class:`ClipTask`
   (one per clip heard), in the order the plan's triplets first need them;
2. composed plans only, from the first pass's files: :class:`UnionTask` (the target mask of
   a ``multi`` / ``offscreen`` triplet) and :class:`MixTask` (the audio of a ``multi`` /
   ``partial`` triplet).

Each task names its outputs (relative paths, :meth:`outputs`) and carries the provenance
entries an earlier run recorded for them (``recorded``), so a resumed build keeps what is
still valid. :meth:`run` returns the task's typed value; the runner wraps it, or the error,
in a :class:`TaskResult`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from avsynth.constants import SAMPLE_RATE
from avsynth.materialise.convert import materialise_clip, materialise_image
from avsynth.planning.keys import key_of_image
from avsynth.planning.manifest_records import MIXED, UNION
from avsynth.planning.plan import Plan
from avsynth.sources.records import SourceClip, SourceImage, SourceMask
from avsynth.storage.layout import (
    audio_relpath,
    image_relpath,
    mask_relpath,
    mix_relpath,
    union_relpath,
)

__all__ = [
    "ClipTask",
    "ImageTask",
    "MediaTask",
    "MixTask",
    "TaskResult",
    "UnionTask",
    "composite_tasks",
    "media_tasks",
    "plan_outputs",
]

Recorded = Mapping[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ImageTask:
    """Copy one source image and write its target masks at the image's size; returns the
    image's ``(width, height)``."""

    kind: ClassVar[str] = "image"
    key: str  # image key, ``{source}:{image_id}``
    image: SourceImage
    masks: tuple[SourceMask, ...]
    root: str
    out: str
    recorded: Recorded = field(default_factory=dict)

    def outputs(self) -> list[str]:
        return [image_relpath(self.image), *(mask_relpath(m) for m in self.masks)]

    def source(self) -> str:
        return str(self.image.path)

    def run(self) -> tuple[int, int]:
        return materialise_image(
            self.image, list(self.masks), self.root, self.out, dict(self.recorded)
        )


@dataclass(frozen=True, slots=True)
class ClipTask:
    """Decode one clip to a 16 kHz WAV; returns ``(frames, silent)``."""

    kind: ClassVar[str] = "clip"
    key: str  # clip id
    clip: SourceClip
    root: str
    out: str
    seconds: float
    recorded: Recorded = field(default_factory=dict)

    def outputs(self) -> list[str]:
        return [audio_relpath(self.clip)]

    def source(self) -> str:
        return str(self.clip.path if self.clip.path is not None else self.key)

    def run(self) -> tuple[int, bool]:
        return materialise_clip(self.clip, self.root, self.out, self.seconds, dict(self.recorded))


@dataclass(frozen=True, slots=True)
class UnionTask:
    """Write the OR of a triplet's instance PNGs (none: all zero) at the image's size;
    returns ``(width, height)``."""

    kind: ClassVar[str] = "union"
    key: str  # triplet id
    masks: tuple[str, ...]  # absolute paths of the instance PNGs
    width: int
    height: int
    out: str
    recorded: Recorded = field(default_factory=dict)

    def outputs(self) -> list[str]:
        return [union_relpath(self.key)]

    def source(self) -> str:
        return self.key

    def run(self) -> tuple[int, int]:
        from avsynth.materialise.mix import materialise_union

        return materialise_union(list(self.masks), self.width, self.height, self.out,
                                 union_relpath(self.key), dict(self.recorded))  # fmt: skip


@dataclass(frozen=True, slots=True)
class MixTask:
    """Write the mix of a triplet's component WAVs with their gains; returns its frames."""

    kind: ClassVar[str] = "mix"
    key: str  # triplet id
    clips: tuple[str, ...]  # absolute paths of the component WAVs
    gains_db: tuple[float, ...]
    frames: int
    out: str
    recorded: Recorded = field(default_factory=dict)

    def outputs(self) -> list[str]:
        return [mix_relpath(self.key)]

    def source(self) -> str:
        return self.key

    def run(self) -> int:
        from avsynth.materialise.mix import materialise_mix

        return materialise_mix(list(self.clips), list(self.gains_db), self.frames, self.out,
                               mix_relpath(self.key), dict(self.recorded))  # fmt: skip


MediaTask = ImageTask | ClipTask | UnionTask | MixTask


@dataclass(frozen=True, slots=True)
class TaskResult:
    """What one task gave: its value, or its error (``fatal``: the disk is full)."""

    kind: str
    key: str
    value: Any = None
    error: str | None = None
    fatal: bool = False


def _recorded(rels: list[str], recorded: Recorded) -> dict[str, dict[str, Any]]:
    return {r: recorded[r] for r in rels if r in recorded}


def media_tasks(
    plan: Plan, out: str, clip_seconds: float, recorded: Recorded | None = None
) -> tuple[list[ImageTask | ClipTask], dict[tuple[str, str], list[int]]]:
    """The first pass: one task per distinct image (with its target masks) and per distinct
    clip heard, in the order the plan's triplets first need them (so triplets complete
    steadily; progress counts triplets). Returns the tasks and, per ``(kind, key)``, the
    indices of the triplets waiting for it."""
    recorded = recorded or {}
    images: dict[str, SourceImage] = {}
    masks: dict[str, dict[str, SourceMask]] = defaultdict(dict)
    clips: dict[str, SourceClip] = {}
    order: list[tuple[str, str]] = []
    waiting: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, t in enumerate(plan.triplets):
        g = key_of_image(t.image)
        if g not in images:
            images[g] = t.image
            order.append(("image", g))
        for m in t.targets:
            masks[g][m.mask_id] = m
        waiting["image", g].append(i)
        for c in t.components:
            cid = c.clip.clip_id
            if cid not in clips:
                clips[cid] = c.clip
                order.append(("clip", cid))
            if not waiting["clip", cid] or waiting["clip", cid][-1] != i:
                waiting["clip", cid].append(i)
    tasks: list[ImageTask | ClipTask] = []
    for kind, key in order:
        if kind == "image":
            im = images[key]
            ms = tuple(masks[key][k] for k in sorted(masks[key]))
            task = ImageTask(key, im, ms, plan.roots[im.source], out)
        else:
            task = ClipTask(key, clips[key], plan.roots["vggsound"], out, clip_seconds)
        tasks.append(_with_recorded(task, recorded))
    return tasks, waiting


def _with_recorded(task: Any, recorded: Recorded) -> Any:
    from dataclasses import replace

    rec = _recorded(task.outputs(), recorded)
    return replace(task, recorded=rec) if rec else task


def composite_tasks(
    plan: Plan,
    out: str,
    clip_seconds: float,
    sizes: Mapping[str, tuple[int, int]],
    skip: set[str],
    recorded: Recorded | None = None,
) -> list[UnionTask | MixTask]:
    """The second pass: union masks and mixes, by triplet id (a triplet whose image or clip
    is in ``skip`` is left out). Empty for a single-source plan."""
    recorded = recorded or {}
    frames = int(round(clip_seconds * SAMPLE_RATE))
    base = Path(out)
    tasks: list[UnionTask | MixTask] = []
    for t in sorted(plan.triplets, key=lambda t: t.id):
        if t.composition not in UNION and t.composition not in MIXED:
            continue
        g = key_of_image(t.image)
        if g in skip or any(c.clip.clip_id in skip for c in t.components):
            continue
        if t.composition in UNION:
            w, h = sizes[g]
            paths = tuple(str(base / mask_relpath(m)) for m in t.targets)
            tasks.append(_with_recorded(UnionTask(t.id, paths, w, h, out), recorded))
        if t.composition in MIXED:
            srcs = tuple(str(base / audio_relpath(c.clip)) for c in t.components)
            gains = tuple(c.gain_db for c in t.components)
            tasks.append(_with_recorded(MixTask(t.id, srcs, gains, frames, out), recorded))
    return tasks


def plan_outputs(plan: Plan) -> set[str]:
    """Every media file a plan's build writes (relative paths), for compacting provenance."""
    out: set[str] = set()
    for t in plan.triplets:
        out.add(image_relpath(t.image))
        out.update(mask_relpath(m) for m in t.targets)
        out.update(audio_relpath(c.clip) for c in t.components)
        if t.composition in UNION:
            out.add(union_relpath(t.id))
        if t.composition in MIXED:
            out.add(mix_relpath(t.id))
    return out
