"""The manifest encoder: one JSON line per record, the same bytes whoever writes them.

The canonical line of a record is ``json.dumps(t.to_dict(), ensure_ascii=False,
separators=(",", ":"), allow_nan=False)``: stable key order (``schema_version`` first), no
spaces, non-ASCII characters as themselves. msgspec writes those bytes several times faster,
and this module is the only place that writes them:

* :func:`encode_record` encodes one :class:`~avsynth.manifest.schema.Triplet`;
* :func:`record_struct` makes the msgspec struct of a schema 1 record straight from its
  references' field values, so a planner can encode records without building the
  :class:`Triplet` objects (:func:`avsynth.planning.encode.manifest_lines`);
  :func:`encode_structs` encodes a run of them at once.

msgspec spells floats below 1e-4 or from 1e16 up differently from ``json.dumps``
(``0.00001`` for ``1e-05``): a record holding such a float, or an ``extra`` dict, is written
by the json module (:func:`spells_like_json` tells them apart).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from avsynth.manifest.schema import SCHEMA_VERSION, AudioRef, ImageRef, MaskRef, Triplet

__all__ = ["encode_record", "encode_structs", "record_struct", "spells_like_json"]


def _mirror(ref: type, name: str) -> type:
    """A msgspec struct with the fields of the record class ``ref``, in its order (only
    encoded, so untyped)."""
    return msgspec.defstruct(name, [f.name for f in dataclasses.fields(ref)], gc=False)


ImageStruct, MaskStruct, AudioStruct = (
    _mirror(r, f"{r.__name__}Struct") for r in (ImageRef, MaskRef, AudioRef)
)
#: ``Triplet.to_dict()`` of a schema 1 record without ``extra``: its first fields, version first.
RecordStruct = msgspec.defstruct(
    "RecordStruct",
    ["schema_version", *(f.name for f in dataclasses.fields(Triplet)[:6])],
    gc=False,
)
_ENCODER = msgspec.json.Encoder()


def spells_like_json(v: float) -> bool:
    """Whether msgspec writes the float ``v`` exactly as ``json.dumps`` does (it spells
    values below 1e-4 or from 1e16 up differently; NaN and infinities are not JSON)."""
    return v == 0.0 or 1e-4 <= abs(v) < 1e16


def record_struct(
    id: str, split: str, category: str, image: Sequence, mask: Sequence, audio: Sequence
) -> Any:
    """The struct of a schema 1 record from its references' field values (each in its class's
    field order), or ``None`` when msgspec would not spell one of its floats as json does
    (the caller then encodes the :class:`Triplet` with :func:`encode_record`)."""
    if not all(map(spells_like_json, (*mask[5], mask[6], audio[8]))):
        return None  # box, area fraction, duration
    return RecordStruct(
        SCHEMA_VERSION, id, split, category, ImageStruct(*image), MaskStruct(*mask),
        AudioStruct(*audio),
    )  # fmt: skip


def encode_structs(structs: Sequence[Any]) -> bytes:
    """Records made by :func:`record_struct`, one line each (UTF-8, newline-terminated)."""
    return _ENCODER.encode_lines(structs)


def _floats(t: Triplet) -> Iterable[float]:
    yield from t.mask.bbox
    yield t.mask.area_fraction
    yield t.audio.duration
    for m in t.instances:
        yield from m.bbox
        yield m.area_fraction
    for c in t.components:
        yield c.gain_db
        yield c.audio.duration


def encode_record(t: Triplet) -> bytes:
    """The canonical line of a record, without its newline (see the module docstring).

    Raises:
        ValueError: a float is NaN or infinite (not JSON).
    """
    if t.extra or not all(map(spells_like_json, _floats(t))):
        line = json.dumps(t.to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return line.encode("utf-8")
    if t.schema_version == 1:
        # the (slotted) dataclass refs encode fields in declaration order, as the structs do
        return _ENCODER.encode(
            RecordStruct(SCHEMA_VERSION, t.id, t.split, t.category, t.image, t.mask, t.audio)
        )
    return _ENCODER.encode(t.to_dict())
