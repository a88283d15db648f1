"""Turning a plan into manifest records, download lists and the ``build_info.json`` sidecar."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from avsynth.constants import SAMPLE_RATE, SPLITS
from avsynth.errors import ManifestError, SourceError
from avsynth.files import atomic_write_text
from avsynth.layout import audio_relpath, image_relpath, mask_relpath
from avsynth.manifest.schema import AudioRef, ImageRef, MaskRef, Triplet, safe_relpath
from avsynth.planning.planner import Plan, PlannedTriplet
from avsynth.sources.records import SourceClip, SourceImage

VGGSOUND_LICENSE = (
    "CC BY 4.0 (VGGSound annotations); audio: YouTube video {ytid}, rights with uploader"
)


def clip_source_path(c: SourceClip) -> str:
    """Path of a clip below the VGGSound root (the usual download name when no file exists)."""
    return c.path if c.path is not None else f"{c.clip_id}.mp4"


def check_source_path(what: str, path: str | None) -> None:
    """Reject one source path (from metadata) that would leave its source root.

    Raises:
        SourceError: naming ``what``, for absolute paths or ``..`` components.
    """
    if path is None:
        return
    try:
        safe_relpath(path)
    except ManifestError:
        raise SourceError(
            f"{what}: path {path!r} from the metadata escapes the source root; "
            "fix the metadata file"
        ) from None


def check_source_paths(plan: Plan) -> None:
    """Reject source paths (from metadata) that would leave their source root.

    Raises:
        SourceError: naming the entry, for absolute paths or ``..`` components.
    """
    for t in plan.triplets:
        im, m, c = t.mask.image, t.mask, t.clip
        try:  # fast: no message is built unless a path is bad
            for path in (im.path, m.mask_file, c.path):
                if path is not None:
                    safe_relpath(path)
        except ManifestError:
            check_source_path(f"{im.source} image {im.image_id}", im.path)
            check_source_path(f"{m.source} mask {m.mask_id}", m.mask_file)
            check_source_path(f"VGGSound clip {c.clip_id}", c.path)


def _round_box(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    x, y, w, h = b
    return (round(float(x), 6), round(float(y), 6), round(float(w), 6), round(float(h), 6))


def audio_values(c: SourceClip, clip_seconds: float, materialised: bool) -> tuple:
    """The field values of a clip's :class:`AudioRef`, in the fields' order."""
    return (
        audio_relpath(c) if materialised else clip_source_path(c),
        "manifest" if materialised else "vggsound",
        "vggsound",
        c.youtube_id,
        c.start_seconds,
        c.label,
        c.subset,
        SAMPLE_RATE if materialised else None,
        float(clip_seconds),
        VGGSOUND_LICENSE.format(ytid=c.youtube_id),
    )


def record_values(
    t: PlannedTriplet,
    *,
    clip_seconds: float,
    image_size: tuple[int, int] | None = None,
    materialised: bool,
) -> tuple[tuple, tuple, tuple]:
    """The field values of a planned triplet's image, mask and audio references, each in its
    class's field order (:func:`to_triplet` builds the references from them; the one-pass
    encoder of :mod:`avsynth.planning.encode` its structs).

    Raises:
        ManifestError: a source path from the metadata leaves its root (plan-only records).
    """
    im, m, c = t.mask.image, t.mask, t.clip
    w, h = image_size if image_size is not None else (im.width, im.height)
    if materialised:
        ipath, mpath = image_relpath(im), mask_relpath(m)
        iroot = mroot = "manifest"
    else:
        ipath = im.path
        try:  # the messages are built only for a bad path
            safe_relpath(ipath)
            safe_relpath(clip_source_path(c))
        except ManifestError:
            safe_relpath(ipath, what=f"{im.source} image {im.image_id} path")
            safe_relpath(clip_source_path(c), what=f"VGGSound clip {c.clip_id} path")
        mpath = m.mask_file if m.source == "openimages" else None
        iroot = mroot = im.source
    return (
        (ipath, iroot, im.source, im.image_id, im.subset, w, h, im.license),
        (
            mpath,
            mroot,
            m.source,
            m.mask_id,
            m.label,
            _round_box(m.bbox),
            round(float(m.area_fraction), 6),
        ),  # fmt: skip
        audio_values(c, clip_seconds, materialised),
    )


def to_triplet(
    t: PlannedTriplet,
    *,
    clip_seconds: float,
    image_size: tuple[int, int] | None = None,
    materialised: bool,
) -> Triplet:
    """The manifest record of a planned triplet.

    Args:
        t: The planned triplet.
        clip_seconds: Length of the audio (seconds).
        image_size: ``(width, height)`` read from the image file (materialised builds).
        materialised: Paths below the manifest (``root="manifest"``) instead of into sources.
    """
    image, mask, audio = record_values(
        t, clip_seconds=clip_seconds, image_size=image_size, materialised=materialised
    )
    return Triplet(
        id=t.id,
        split=t.split,
        category=t.category,
        image=ImageRef(*image),
        mask=MaskRef(*mask),
        audio=AudioRef(*audio),
    )


def needed_lists(plan: Plan) -> dict[str, str]:
    """Download lists of a plan: file name -> text.

    ``needed_images_lvis.txt`` holds COCO paths (``train2017/000000391895.jpg``);
    ``needed_images_openimages.txt`` holds ``{subset}/{ImageID}`` lines, the input format of
    Open Images' ``downloader.py``; ``needed_clips.csv`` has the format of ``vggsound.csv``
    (``youtube_id,start_seconds,label,split``, no header) so VGGSound download scripts take it.
    """
    return download_lists((t.mask.image for t in plan.triplets), (t.clip for t in plan.triplets))


def download_lists(images: Iterable[SourceImage], clips: Iterable[SourceClip]) -> dict[str, str]:
    """The download lists (see :func:`needed_lists`) of these images and clips, each once."""
    lines: dict[str, set[str]] = {"lvis": set(), "openimages": set()}
    for im in images:
        line = im.path if im.source == "lvis" else f"{im.subset}/{im.image_id}"
        lines.setdefault(im.source, set()).add(line)
    by_id = {c.clip_id: c for c in clips}
    out = {
        f"needed_images_{source}.txt": "".join(f"{x}\n" for x in sorted(paths))
        for source, paths in sorted(lines.items())
        if paths
    }
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for cid in sorted(by_id):
        c = by_id[cid]
        w.writerow([c.youtube_id, c.start_seconds, c.label, c.subset])
    out["needed_clips.csv"] = buf.getvalue()
    return out


def write_needed(plan: Plan, out: Path) -> list[Path]:
    """Write the download lists into ``out`` (atomically); returns their paths."""
    paths = []
    for name, text in needed_lists(plan).items():
        atomic_write_text(out / name, text)
        paths.append(out / name)
    return paths


def build_info(
    plan: Plan,
    *,
    plan_only: bool,
    clip_seconds: float,
    version: str,
    media_skips: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The sidecar's content (no timestamps: the same build gives the same sidecar)."""
    clips_used = Counter(
        t.split for t in {(t.split, t.clip.clip_id): t for t in plan.triplets}.values()
    )
    return {
        "avsynth_version": version,
        "schema_version": 1,
        "plan_only": plan_only,
        "seed": plan.seed,
        "split_sizes": dict(zip(SPLITS, plan.split_sizes, strict=True)),
        "category_map": {"name": plan.category_map.name, "sha256": plan.category_map.sha256},
        "selection": plan.selection.to_dict(),
        "require_clips": plan.require_clips,
        "clip_seconds": clip_seconds,
        "sample_rate": SAMPLE_RATE,
        "roots": plan.roots,
        "inputs": plan.fingerprints,
        "counts": plan.counts,
        "available": plan.available,
        "skips": plan.skips,
        "media_skips": dict(media_skips or {}),
        "clips_missing": plan.clips_missing,
        "clips_used": {s: clips_used.get(s, 0) for s in SPLITS},
        "max_clip_reuse": plan.clip_use,
        "left_out": plan.left_out,
    }
