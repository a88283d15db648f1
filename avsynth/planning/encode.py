"""The manifest lines of a plan, encoded a chunk of records at a time.

Each line is :func:`avsynth.manifest.encode.encode_record` of the triplet's record
(:func:`avsynth.planning.manifest_records.to_record`). Schema 1 records (62,609 at full
scale) skip the record objects: their msgspec structs are made straight from the field values
(:func:`~avsynth.planning.manifest_records.record_values`,
:func:`~avsynth.manifest.encode.record_struct`) and encoded a chunk at a time, ~2 s less of a
plan-only build. A record the structs cannot write as the record would be (a float msgspec
spells differently, a path that leaves its root) is encoded from its record, so its bytes,
or its error, are the record's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from avsynth.constants import SAMPLE_RATE
from avsynth.errors import ManifestError
from avsynth.manifest.encode import encode_record, encode_structs, record_struct
from avsynth.planning.keys import key_of_image
from avsynth.planning.manifest_records import record_values, to_record
from avsynth.planning.plan import PlannedTriplet

__all__ = ["manifest_lines"]

_CHUNK = 4096  # records per encoded chunk


def _struct(t: PlannedTriplet, seconds: float, size: tuple[int, int] | None, materialised: bool):
    """The record's struct, or ``None`` where only its record writes it right."""
    try:
        image, mask, audio = record_values(
            t, clip_seconds=seconds, image_size=size, materialised=materialised
        )
    except ManifestError:
        return None  # the record raises it again, naming the bad path
    return record_struct(t.id, t.split, t.category, image, mask, audio)


def manifest_lines(
    triplets: Sequence[PlannedTriplet],
    *,
    clip_seconds: float,
    frames: Mapping[str, int] | None = None,
    sizes: Mapping[str, tuple[int, int]] | None = None,
    materialised: bool,
    schema_version: int = 1,
) -> Iterator[tuple[bytes, int]]:
    """The manifest's lines a chunk of records at a time, as ``(UTF-8 bytes, records)``:
    byte for byte ``encode_record(to_record(t, ...)) + b"\\n"`` for each triplet in order.

    Args:
        triplets: Planned triplets, in manifest order.
        clip_seconds: Audio length of a record whose clip is not in ``frames``.
        frames: Frames of each materialised clip (clip id -> 16 kHz frames; schema 1 only:
            a composed record gives every clip ``clip_seconds``).
        sizes: ``(width, height)`` of each materialised image (image key -> size).
        materialised: Paths below the manifest instead of into the sources.
        schema_version: 1 (``single=1`` plans) or 2 (composed plans).

    Raises:
        ManifestError, ValueError: as :func:`to_record` / :func:`encode_record` (a path that
            leaves its root, a float that is not JSON).
    """
    frames = frames or {}
    sizes = sizes or {}
    default = float(clip_seconds)
    for start in range(0, len(triplets), _CHUNK):
        chunk: list = []
        out: list[bytes] = []
        for t in triplets[start : start + _CHUNK]:
            size = sizes.get(key_of_image(t.image)) if sizes else None
            seconds = default
            if schema_version == 1:
                n = frames.get(t.clip.clip_id)
                seconds = float(n / SAMPLE_RATE) if n is not None else default
                rec = _struct(t, seconds, size, materialised)
                if rec is not None:
                    chunk.append(rec)
                    continue
            if chunk:
                out.append(encode_structs(chunk))
                chunk = []
            ref = to_record(t, schema_version, clip_seconds=seconds, image_size=size,
                            materialised=materialised)  # fmt: skip
            out.append(encode_record(ref) + b"\n")
        if chunk:
            out.append(encode_structs(chunk))
        yield b"".join(out), min(_CHUNK, len(triplets) - start)
