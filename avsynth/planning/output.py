"""What a build writes besides media and records: download lists and the ``build_info.json``
sidecar; and the check that the plan's source paths stay in their roots."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from avsynth.constants import SAMPLE_RATE, SPLITS
from avsynth.errors import ManifestError, SourceError
from avsynth.manifest.schema import safe_relpath
from avsynth.planning.plan import Plan
from avsynth.sources.records import SourceClip, SourceImage
from avsynth.storage.atomic import atomic_write_text


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
        im = t.image
        try:  # fast: no message is built unless a path is bad
            for path in (im.path, *(m.mask_file for m in t.targets),
                         *(c.clip.path for c in t.components)):  # fmt: skip
                if path is not None:
                    safe_relpath(path)
        except ManifestError:
            check_source_path(f"{im.source} image {im.image_id}", im.path)
            for m in t.targets:
                check_source_path(f"{m.source} mask {m.mask_id}", m.mask_file)
            for c in t.components:
                check_source_path(f"VGGSound clip {c.clip.clip_id}", c.clip.path)


def needed_lists(plan: Plan) -> dict[str, str]:
    """Download lists of a plan (every image, every clip heard): file name -> text.

    ``needed_images_lvis.txt`` holds COCO paths (``train2017/000000391895.jpg``);
    ``needed_images_openimages.txt`` holds ``{subset}/{ImageID}`` lines, the input format of
    Open Images' ``downloader.py``; ``needed_clips.csv`` has the format of ``vggsound.csv``
    (``youtube_id,start_seconds,label,split``, no header) so VGGSound download scripts take it.
    """
    return download_lists(
        (t.image for t in plan.triplets), (c.clip for t in plan.triplets for c in t.components)
    )


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
    """The sidecar's content (no timestamps: the same build gives the same sidecar); a
    composed plan adds its compositions, mixing and absences (:func:`composed_info`)."""
    clips_used = Counter(
        s for s, _ in {(t.split, c.clip.clip_id) for t in plan.triplets for c in t.components}
    )
    info = {
        "avsynth_version": version,
        "schema_version": plan.schema_version,
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
    if plan.schema_version >= 2:
        info.update(composed_info(plan))
    return info


def composed_info(plan: Plan) -> dict[str, Any]:
    """The sidecar fields only a composed plan has."""
    from avsynth.planning.compose_spec import MIX_INFO

    return {
        "compose": plan.compose,
        "composition_counts": plan.composition_counts,
        "mix": dict(MIX_INFO, gain_db_range=list(MIX_INFO["gain_db_range"])),
        "absent_images": plan.absent_images,
    }
