"""Schema 2 records, download lists and sidecar fields of a composed plan."""

from __future__ import annotations

from collections import Counter
from typing import Any

from avsynth.manifest.schema import AudioRef, ComponentRef, ImageRef, MaskRef, Triplet
from avsynth.planning.compose import ComposedPlan, ComposedTriplet
from avsynth.planning.output import (
    SAMPLE_RATE,
    download_lists,
    image_relpath,
    to_triplet,
)
from avsynth.planning.planner import PlannedTriplet

MIXED = ("multi", "partial")  # compositions whose audio is a mix of several clips
UNION = ("multi", "offscreen")  # compositions whose target is a union mask PNG


def union_relpath(t: ComposedTriplet) -> str:
    """Where the target (union) mask of a multi / offscreen triplet lives."""
    return f"masks/union/{t.id}.png"


def mix_relpath(t: ComposedTriplet) -> str:
    """Where the mixed WAV of a multi / partial triplet lives."""
    return f"audio/mix/{t.id}.wav"


def _union_box(t: ComposedTriplet) -> tuple[tuple[float, float, float, float], float]:
    if not t.targets:
        return (0.0, 0.0, 0.0, 0.0), 0.0
    x0 = min(m.bbox[0] for m in t.targets)
    y0 = min(m.bbox[1] for m in t.targets)
    x1 = max(m.bbox[0] + m.bbox[2] for m in t.targets)
    y1 = max(m.bbox[1] + m.bbox[3] for m in t.targets)
    box = tuple(round(float(v), 6) for v in (x0, y0, x1 - x0, y1 - y0))
    return box, round(float(sum(m.area_fraction for m in t.targets)), 6)  # type: ignore[return-value]


def composed_triplet(
    t: ComposedTriplet,
    *,
    clip_seconds: float,
    image_size: tuple[int, int] | None = None,
    materialised: bool,
) -> Triplet:
    """The schema 2 record of a composed triplet.

    ``mask`` is the target: the instance's own mask (``single``, ``partial``) or the union PNG
    (``multi``, ``offscreen``: empty); ``area_fraction`` of a union is the sum of its
    instances'. ``audio`` is what is heard: the clip (``single``, ``offscreen``) or the mix
    (``multi``, ``partial``); a plan-only manifest has no union or mix files (``path`` null).
    """
    parts = [
        to_triplet(
            PlannedTriplet(t.id, t.split, t.category, m, t.components[0].clip),
            clip_seconds=clip_seconds,
            image_size=image_size,
            materialised=materialised,
        )
        for m in t.targets
    ]
    heard = [_audio_ref(c.clip, clip_seconds, materialised) for c in t.components]
    im = t.image
    w, h = image_size if image_size is not None else (im.width, im.height)
    if materialised:
        image = ImageRef(image_relpath(im), "manifest", im.source, im.image_id, im.subset, w, h,
                         im.license)  # fmt: skip
    else:
        image = ImageRef(im.path, im.source, im.source, im.image_id, im.subset, w, h, im.license)
    instances = tuple(p.mask for p in parts)
    if t.composition in UNION:
        box, area = _union_box(t)
        label = "+".join(m.label for m in t.targets)
        mask = MaskRef(
            union_relpath(t) if materialised else None,
            "manifest" if materialised else im.source,
            im.source,
            t.id,
            label,
            box,
            area,
        )
    else:
        mask = instances[0]
    if t.composition in MIXED:
        labels = "+".join(c.clip.label for c in t.components)
        lic = "; ".join(a.license for a in heard)
        audio = AudioRef(
            mix_relpath(t) if materialised else None,  # type: ignore[arg-type]
            "manifest" if materialised else "vggsound",
            "mix",
            "+".join(c.clip.youtube_id for c in t.components),
            0,
            labels,
            t.components[0].clip.subset,
            SAMPLE_RATE if materialised else None,
            float(clip_seconds),
            lic,
        )
    else:
        audio = heard[0]
    comps = tuple(
        ComponentRef(c.category, c.visible, c.gain_db, a)
        for c, a in zip(t.components, heard, strict=True)
    )
    return Triplet(
        id=t.id,
        split=t.split,
        category=t.category,
        image=image,
        mask=mask,
        audio=audio,
        schema_version=2,
        composition=t.composition,
        instances=instances,
        components=comps,
    )


def _audio_ref(c: Any, clip_seconds: float, materialised: bool) -> AudioRef:
    from avsynth.planning.output import audio_values

    return AudioRef(*audio_values(c, clip_seconds, materialised))


def composed_needed_lists(plan: ComposedPlan) -> dict[str, str]:
    """Download lists (same files and formats as a single build) with every component clip and
    every image, including offscreen images."""
    return download_lists(
        (t.image for t in plan.triplets),  # type: ignore[attr-defined]
        (c.clip for t in plan.triplets for c in t.components),  # type: ignore[attr-defined]
    )


def composed_info(plan: ComposedPlan) -> dict[str, Any]:
    """Sidecar fields a composed build adds (or replaces) in ``build_info.json``."""
    clips_used: Counter[str] = Counter()
    seen = set()
    for t in plan.triplets:
        for c in t.components:  # type: ignore[attr-defined]
            if (t.split, c.clip.clip_id) not in seen:
                seen.add((t.split, c.clip.clip_id))
                clips_used[t.split] += 1
    from avsynth.planning.compose import GAIN_DB

    return {
        "schema_version": 2,
        "compose": plan.compose,
        "composition_counts": plan.composition_counts,
        "mix": {
            "loudness": "pyloudnorm BS.1770",
            "target_lufs": -26.0,
            "gain_db_range": list(GAIN_DB),
            "peak_dbfs": -1.0,
        },  # fmt: skip
        "absent_images": plan.absent_images,
        "clips_used": {s: clips_used.get(s, 0) for s in ("train", "val", "test")},
    }
