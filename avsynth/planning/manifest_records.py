"""The manifest record of a planned triplet.

A plan of ``single=1`` writes schema 1 records (:func:`to_triplet`, or its field values,
:func:`record_values`, for the one-pass encoder); any other composition writes schema 2
records (:func:`composed_triplet`): ``mask`` is the target (the instance's own mask, or the
union PNG of ``multi`` / ``offscreen``), ``audio`` what is heard (the clip, or the mix of
``multi`` / ``partial``), with every instance and component listed. :func:`to_record` picks.
"""

from __future__ import annotations

from avsynth.constants import SAMPLE_RATE
from avsynth.errors import ManifestError
from avsynth.manifest.schema import AudioRef, ComponentRef, ImageRef, MaskRef, Triplet, safe_relpath
from avsynth.planning.plan import PlannedTriplet
from avsynth.sources.records import SourceClip, SourceImage, SourceMask
from avsynth.storage.layout import (
    audio_relpath,
    image_relpath,
    mask_relpath,
    mix_relpath,
    union_relpath,
)

__all__ = [
    "MIXED",
    "UNION",
    "VGGSOUND_LICENSE",
    "audio_values",
    "clip_source_path",
    "composed_triplet",
    "record_values",
    "to_record",
    "to_triplet",
]

VGGSOUND_LICENSE = (
    "CC BY 4.0 (VGGSound annotations); audio: YouTube video {ytid}, rights with uploader"
)
MIXED = ("multi", "partial")  # compositions whose audio is a mix of several clips
UNION = ("multi", "offscreen")  # compositions whose target is a union mask PNG


def clip_source_path(c: SourceClip) -> str:
    """Path of a clip below the VGGSound root (the usual download name when no file exists)."""
    return c.path if c.path is not None else f"{c.clip_id}.mp4"


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


def _image_values(im: SourceImage, image_size: tuple[int, int] | None, materialised: bool) -> tuple:
    w, h = image_size if image_size is not None else (im.width, im.height)
    if materialised:
        return (image_relpath(im), "manifest", im.source, im.image_id, im.subset, w, h, im.license)
    return (im.path, im.source, im.source, im.image_id, im.subset, w, h, im.license)


def _mask_values(m: SourceMask, materialised: bool) -> tuple:
    if materialised:
        path, root = mask_relpath(m), "manifest"
    else:
        path, root = (m.mask_file if m.source == "openimages" else None), m.source
    box, area = _round_box(m.bbox), round(float(m.area_fraction), 6)
    return (path, root, m.source, m.mask_id, m.label, box, area)


def _check_paths(im: SourceImage, c: SourceClip) -> None:
    """A plan-only record points into the sources: its image and clip paths must stay there.

    Raises:
        ManifestError: naming the image or clip whose path leaves its root.
    """
    try:  # the messages are built only for a bad path
        safe_relpath(im.path)
        safe_relpath(clip_source_path(c))
    except ManifestError:
        safe_relpath(im.path, what=f"{im.source} image {im.image_id} path")
        safe_relpath(clip_source_path(c), what=f"VGGSound clip {c.clip_id} path")


def record_values(
    t: PlannedTriplet,
    *,
    clip_seconds: float,
    image_size: tuple[int, int] | None = None,
    materialised: bool,
) -> tuple[tuple, tuple, tuple]:
    """The field values of a single triplet's image, mask and audio references, each in its
    class's field order (:func:`to_triplet` builds the references from them; the one-pass
    encoder of :mod:`avsynth.planning.encode` its structs).

    Raises:
        ManifestError: a source path from the metadata leaves its root (plan-only records).
    """
    im, c = t.image, t.clip
    if not materialised:
        _check_paths(im, c)
    return (
        _image_values(im, image_size, materialised),
        _mask_values(t.mask, materialised),
        audio_values(c, clip_seconds, materialised),
    )


def to_triplet(
    t: PlannedTriplet,
    *,
    clip_seconds: float,
    image_size: tuple[int, int] | None = None,
    materialised: bool,
) -> Triplet:
    """The schema 1 record of a single-source planned triplet.

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


def _union_mask(t: PlannedTriplet, materialised: bool) -> MaskRef:
    """The target of a multi / offscreen triplet: the union PNG (empty for offscreen);
    ``area_fraction`` is the sum of the instances'."""
    im = t.image
    box, area = (0.0, 0.0, 0.0, 0.0), 0.0
    if t.targets:
        x0 = min(m.bbox[0] for m in t.targets)
        y0 = min(m.bbox[1] for m in t.targets)
        x1 = max(m.bbox[0] + m.bbox[2] for m in t.targets)
        y1 = max(m.bbox[1] + m.bbox[3] for m in t.targets)
        box = _round_box((x0, y0, x1 - x0, y1 - y0))
        area = round(float(sum(m.area_fraction for m in t.targets)), 6)
    return MaskRef(
        union_relpath(t.id) if materialised else None,
        "manifest" if materialised else im.source,
        im.source,
        t.id,
        "+".join(m.label for m in t.targets),
        box,
        area,
    )


def _mix_audio(t: PlannedTriplet, heard: list[AudioRef], clip_seconds: float,
               materialised: bool) -> AudioRef:  # fmt: skip
    """What a multi / partial triplet hears: the mix of its components."""
    first = t.components[0].clip
    return AudioRef(
        mix_relpath(t.id) if materialised else None,  # type: ignore[arg-type]
        "manifest" if materialised else "vggsound",
        "mix",
        "+".join(c.clip.youtube_id for c in t.components),
        0,
        "+".join(c.clip.label for c in t.components),
        first.subset,
        SAMPLE_RATE if materialised else None,
        float(clip_seconds),
        "; ".join(a.license for a in heard),
    )


def composed_triplet(
    t: PlannedTriplet,
    *,
    clip_seconds: float,
    image_size: tuple[int, int] | None = None,
    materialised: bool,
) -> Triplet:
    """The schema 2 record of a planned triplet (a plan-only manifest has no union or mix
    files: their ``path`` is null)."""
    instances = tuple(MaskRef(*_mask_values(m, materialised)) for m in t.targets)
    if t.targets and not materialised:
        _check_paths(t.image, t.components[0].clip)  # as a single record of a target would
    heard = [AudioRef(*audio_values(c.clip, clip_seconds, materialised)) for c in t.components]
    image = ImageRef(*_image_values(t.image, image_size, materialised))
    mask = _union_mask(t, materialised) if t.composition in UNION else instances[0]
    if t.composition in MIXED:
        audio = _mix_audio(t, heard, clip_seconds, materialised)
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


def to_record(
    t: PlannedTriplet,
    schema_version: int,
    *,
    clip_seconds: float,
    image_size: tuple[int, int] | None = None,
    materialised: bool,
) -> Triplet:
    """The record of ``t`` in a manifest of ``schema_version`` (1: :func:`to_triplet`, 2:
    :func:`composed_triplet`)."""
    make = to_triplet if schema_version == 1 else composed_triplet
    return make(t, clip_seconds=clip_seconds, image_size=image_size, materialised=materialised)
