"""The manifest lines of a single (schema 1) plan, encoded in one pass.

:func:`avsynth.planning.output.to_triplet` followed by
:func:`avsynth.manifest.io.dumps_record` is the reference: it builds four frozen dataclasses
per record, encodes them to a ``str`` and the text file encodes that back to UTF-8. At full
scale (62,609 records) that is ~2 s of a plan-only build. :func:`manifest_lines` writes the
same bytes from msgspec structs made from the record classes' fields, in order (msgspec
writes a struct's fields in declaration order, as it does a dataclass's), encoded a chunk of
records at a time straight to bytes. A record that the fast path cannot write as the
reference would (a float msgspec spells differently, a path the reference rejects) takes
the reference path, so its bytes, or its error, are the reference's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence

import msgspec

from avsynth.constants import SAMPLE_RATE
from avsynth.errors import ManifestError
from avsynth.manifest.io import dumps_record, msgspec_spells_like_json
from avsynth.manifest.schema import SCHEMA_VERSION, AudioRef, ImageRef, MaskRef, Triplet
from avsynth.planning.keys import image_key
from avsynth.planning.output import record_values, to_triplet
from avsynth.planning.planner import PlannedTriplet

__all__ = ["manifest_lines"]

_CHUNK = 4096  # records per encoded chunk


def _mirror(ref: type, name: str) -> type:
    """A msgspec struct with the fields of the record class ``ref``, in its order (only
    encoded, so untyped)."""
    return msgspec.defstruct(name, [f.name for f in dataclasses.fields(ref)], gc=False)


_Image, _Mask, _Audio = (_mirror(r, f"_{r.__name__}") for r in (ImageRef, MaskRef, AudioRef))
# Triplet.to_dict() of a schema 1 record without extra: its first fields, version first
_Record = msgspec.defstruct(
    "_Record",
    ["schema_version", *(f.name for f in dataclasses.fields(Triplet)[:6])],
    gc=False,
)
_ENCODER = msgspec.json.Encoder()


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
    if not all(map(msgspec_spells_like_json, (*mask[5], mask[6], audio[8]))):
        return None  # box, area fraction, duration
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
