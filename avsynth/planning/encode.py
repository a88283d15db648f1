"""The manifest lines of a single (schema 1) plan, encoded in one pass.

:func:`avsynth.planning.output.to_triplet` followed by
:func:`avsynth.manifest.io.dumps_record` is the reference: it builds four frozen dataclasses
per record, encodes them to a ``str`` and the text file encodes that back to UTF-8. At full
scale (62,609 records) that is ~2 s of a plan-only build. :func:`manifest_lines` writes the
same bytes from msgspec structs that mirror the record's layout field for field (msgspec
writes a struct's fields in declaration order, as it does a dataclass's), encoded a chunk of
records at a time straight to bytes. A record that the fast path cannot write as the
reference would (a float msgspec spells differently, a path the reference rejects) takes
the reference path, so its bytes, or its error, are the reference's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import msgspec

from avsynth.constants import SAMPLE_RATE
from avsynth.errors import ManifestError
from avsynth.manifest.io import dumps_record
from avsynth.manifest.schema import SCHEMA_VERSION
from avsynth.planning.keys import image_key
from avsynth.planning.output import record_values, to_triplet
from avsynth.planning.planner import PlannedTriplet

__all__ = ["manifest_lines"]

_CHUNK = 4096  # records per encoded chunk


class _Image(msgspec.Struct, gc=False):  # fields of avsynth.manifest.schema.ImageRef, in order
    path: str
    root: str
    source: str
    source_id: str
    subset: str
    width: int | None
    height: int | None
    license: str


class _Mask(msgspec.Struct, gc=False):  # MaskRef
    path: str | None
    root: str
    source: str
    source_id: str
    source_label: str
    bbox: tuple[float, float, float, float]
    area_fraction: float


class _Audio(msgspec.Struct, gc=False):  # AudioRef
    path: str
    root: str
    source: str
    youtube_id: str
    start_seconds: int
    label: str
    subset: str
    sample_rate: int | None
    duration: float
    license: str


class _Record(msgspec.Struct, gc=False):  # Triplet.to_dict() of a schema 1 record without extra
    schema_version: int
    id: str
    split: str
    category: str
    image: _Image
    mask: _Mask
    audio: _Audio


_ENCODER = msgspec.json.Encoder()


def _plain_float(v: float) -> bool:
    """Whether msgspec spells ``v`` as ``json.dumps`` does (see ``dumps_record``)."""
    return v == 0.0 or 1e-4 <= abs(v) < 1e16


def _record(
    t: PlannedTriplet,
    seconds: float,
    size: tuple[int, int] | None,
    materialised: bool,
) -> _Record | None:
    """The record's structs, or ``None`` where only the reference path writes it right."""
    try:
        image, mask, audio = record_values(
            t, clip_seconds=seconds, image_size=size, materialised=materialised
        )
    except ManifestError:
        return None  # the reference raises it again, naming the bad path
    box, area = mask[5], mask[6]
    if not (_plain_float(box[0]) and _plain_float(box[1]) and _plain_float(box[2])
            and _plain_float(box[3]) and _plain_float(area)
            and _plain_float(audio[8])):  # fmt: skip
        return None
    return _Record(
        SCHEMA_VERSION, t.id, t.split, t.category, _Image(*image), _Mask(*mask), _Audio(*audio)
    )


def manifest_lines(
    triplets: Sequence[PlannedTriplet],
    *,
    clip_seconds: float,
    frames: Mapping[str, int] | None = None,
    sizes: Mapping[str, tuple[int, int]] | None = None,
    materialised: bool,
) -> Iterator[tuple[bytes, int]]:
    """The manifest's lines a chunk of records at a time, as ``(UTF-8 bytes, records)``:
    byte for byte ``dumps_record(to_triplet(t, ...)) + "\\n"`` for each triplet in order.

    Args:
        triplets: Planned single triplets, in manifest order.
        clip_seconds: Audio length of a record whose clip is not in ``frames``.
        frames: Frames of each materialised clip (clip id -> 16 kHz frames).
        sizes: ``(width, height)`` of each materialised image (image key -> size).
        materialised: Paths below the manifest instead of into the sources.

    Raises:
        ManifestError, ValueError: as :func:`to_triplet` / :func:`dumps_record` (a path that
            leaves its root, a float that is not JSON).
    """
    frames = frames or {}
    sizes = sizes or {}
    default = float(clip_seconds)
    for start in range(0, len(triplets), _CHUNK):
        chunk: list[_Record] = []
        out: list[bytes] = []
        for t in triplets[start : start + _CHUNK]:
            n = frames.get(t.clip.clip_id)
            seconds = float(n / SAMPLE_RATE) if n is not None else default
            size = sizes.get(image_key(t.mask)) if sizes else None
            rec = _record(t, seconds, size, materialised)
            if rec is not None:
                chunk.append(rec)
                continue
            if chunk:
                out.append(_ENCODER.encode_lines(chunk))
                chunk = []
            ref = to_triplet(t, clip_seconds=seconds, image_size=size, materialised=materialised)
            out.append(dumps_record(ref).encode("utf-8") + b"\n")
        if chunk:
            out.append(_ENCODER.encode_lines(chunk))
        yield b"".join(out), min(_CHUNK, len(triplets) - start)
