"""Manifest records: one (image, mask, audio) triplet per JSONL line.

Every record carries ``schema_version``; readers reject versions they do not know.
Media references hold a ``path`` relative to a *root* and the name of that root:

* ``root == "manifest"``: the file lives below the manifest's own folder (a materialised build);
* ``root in {"lvis", "openimages", "vggsound"}``: the file lives below that source's root
  (a ``--plan-only`` build); the roots are recorded in the sidecar ``build_info.json``
  and can be overridden when reading;
* ``root == "release"``: the file lives in the AVS-Synthetic release folder an
  ``avsynth import-release`` manifest points into (also recorded in the sidecar).

Paths are POSIX, relative, and never contain ``..``: :func:`safe_relpath` enforces it.
Strings that tools use as file or folder names (the triplet ``id``, ``category``, the sound's
``label`` and ``youtube_id``, the ``subset`` names and the source ids) are single path
components: :func:`safe_component` rejects empty strings, ``.``, ``..``, ``/``, ``\\`` and
control characters. Reading a record checks both (:class:`UnsafePathError`).

Schema version 2 (composed builds, ``avsynth build --compose``) adds ``composition``,
``instances`` (every target instance's mask) and ``components`` (every clip heard, with its
category, visibility and gain); ``mask`` is then the target (the union of the instances, empty
for ``offscreen``) and ``audio`` the waveform heard (the mix). Version 1 records read as
``composition="single"`` with no instances/components listed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Annotated, Any, Literal

import msgspec

from avsynth.constants import MAX_SECONDS, SPLITS
from avsynth.errors import ManifestError, ManifestRecordError
from avsynth.paths import MAX_NAME_BYTES, UNSAFE_CHARS, safe_component, safe_relpath
from avsynth.paths import UnsafePathError as UnsafePathError  # re-exported: the record API

SCHEMA_VERSION = 1
SCHEMA_VERSIONS = (1, 2)  # versions this avsynth reads; 2 = composed records
ROOTS = ("manifest", "lvis", "openimages", "vggsound", "release")
#: Roots whose masks are PNG files (a materialised build; an imported AVS-Synthetic release).
FILE_MASK_ROOTS = ("manifest", "release")
#: Record fields that tools turn into file or folder names (checked by :func:`safe_component`).
NAME_FIELDS = (
    ("id",),
    ("category",),
    ("image", "source_id"),
    ("image", "subset"),
    ("mask", "source_id"),
    ("audio", "youtube_id"),
    ("audio", "label"),
    ("audio", "subset"),
)
#: Largest image side (pixels) a record may claim.
MAX_SIDE = 100_000

# Typed fields: msgspec checks them while decoding (see :func:`decode_record`).
Split = Literal["train", "val", "test"]
Root = Literal["manifest", "lvis", "openimages", "vggsound", "release"]
Composition = Literal["single", "multi", "offscreen", "partial"]
Side = Annotated[int, msgspec.Meta(ge=1, le=MAX_SIDE)]
Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
#: A mask's area over its image's; a composed union's is the sum of its instances' (each at
#: most 1), so more than 1 is possible there, never more than this.
MAX_AREA = 64.0
Area = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_AREA)]
Seconds = Annotated[float, msgspec.Meta(ge=0.0, le=MAX_SECONDS)]
Start = Annotated[int, msgspec.Meta(ge=0, le=10**9)]
Rate = Annotated[int, msgspec.Meta(ge=1, le=10**6)]
Gain = Annotated[float, msgspec.Meta(ge=-200.0, le=200.0)]


def _check_names(t: Triplet, where: str) -> None:
    """:func:`safe_component` on every :data:`NAME_FIELDS` value of ``t``."""
    im, au = t.image, t.audio
    values = (
        t.id,
        t.category,
        im.source_id,
        im.subset,
        t.mask.source_id,
        au.youtube_id,
        au.label,
        au.subset,
    )  # in NAME_FIELDS order
    try:  # fast path (~1 us instead of ~6): one regex over all, joined by a safe character
        if (
            UNSAFE_CHARS.search("|".join(values)) is None
            and _DOTS.isdisjoint(values)
            and max(map(len, values)) * 4 <= MAX_NAME_BYTES
        ):
            return
    except TypeError:  # a value that is not a string: the loop below names it
        pass
    for keys, value in zip(NAME_FIELDS, values, strict=True):
        safe_component(value, what=f"{where}: {'.'.join(keys)}")


_DOTS = frozenset(("", ".", ".."))


def check_split(
    split: str | None,
    present: Iterable[str] | None = None,
    *,
    source: str = "the manifest",
    items: str = "triplets",
) -> None:
    """Check a requested split name, and that ``present`` (the splits the data holds) has it.

    Args:
        split: The split asked for (``None``: no split asked for, nothing to check).
        present: The splits the data holds, to name in the message (and to check).
        source: How the message names the data, e.g. ``manifest.jsonl``.
        items: What the data holds, e.g. ``triplets`` or ``clips``.

    Raises:
        ManifestError: ``unknown split 'dev': use train, val or test (manifest.jsonl has
            train, val)``, or ``no triplets in split 'test' (... has train, val)``.
    """
    has = ""
    if present is not None:
        held = set(present)
        names = [s for s in SPLITS if s in held] + sorted(str(s) for s in held - set(SPLITS))
        has = f" ({source} has {', '.join(names) if names else 'no ' + items})"
    if split is not None and split not in SPLITS:
        raise ManifestError(
            f"unknown split {split!r}: use {', '.join(SPLITS[:-1])} or {SPLITS[-1]}{has}"
        )
    if split is not None and present is not None and split not in held:
        raise ManifestError(f"no {items} in split {split!r}{has}")


def _plain(ref: Any) -> dict[str, Any]:
    """Flat dict of a media reference, fields in declaration order."""
    names = _FIELDS.get(type(ref))
    if names is None:
        names = _FIELDS[type(ref)] = tuple(f.name for f in fields(ref))
    return {n: getattr(ref, n) for n in names}


_FIELDS: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True, slots=True)
class ImageRef:
    """The image of a triplet.

    ``source_id`` is the LVIS/COCO image id or the Open Images ImageID; ``width``/``height``
    are ``None`` only in a plan-only manifest of Open Images (its CSV has no sizes).
    """

    path: str
    root: Root
    source: str
    source_id: str
    subset: str
    width: Side | None
    height: Side | None
    license: str


@dataclass(frozen=True, slots=True)
class MaskRef:
    """The mask of a triplet: a binary PNG at the image's size once materialised.

    In a plan-only manifest ``path`` is ``None`` for LVIS (the mask is the polygon/RLE of
    annotation ``source_id``) and the Open Images mask PNG name for Open Images.
    """

    path: str | None
    root: Root
    source: str
    source_id: str
    source_label: str
    bbox: tuple[Fraction, Fraction, Fraction, Fraction]
    area_fraction: Area


@dataclass(frozen=True, slots=True)
class AudioRef:
    """The sound of a triplet: 16 kHz mono 16-bit WAV once materialised."""

    path: str | None
    root: Root
    source: str
    youtube_id: str
    start_seconds: Start
    label: str
    subset: str
    sample_rate: Rate | None
    duration: Seconds
    license: str


@dataclass(frozen=True, slots=True)
class ComponentRef:
    """One clip of a composed (schema 2) record: its category, whether the object is in the
    image (``visible``), the gain applied in the mix (dB, after loudness normalising; 0 for
    unmixed compositions) and the clip itself."""

    category: str
    visible: bool
    gain_db: Gain
    audio: AudioRef


@dataclass(frozen=True, slots=True)
class Triplet:
    """One manifest line."""

    id: str
    split: Split
    category: str
    image: ImageRef
    mask: MaskRef
    audio: AudioRef
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    composition: Composition = "single"
    instances: tuple[MaskRef, ...] = ()
    components: tuple[ComponentRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain dict in the on-disk key order (``schema_version`` first)."""
        # Explicit (not dataclasses.asdict, whose deep copies cost ~0.3 ms per record).
        out: dict[str, Any] = {
            "schema_version": self.schema_version,
            "id": self.id,
            "split": self.split,
            "category": self.category,
            "image": _plain(self.image),
            "mask": _plain(self.mask),
            "audio": _plain(self.audio),
        }
        out["mask"]["bbox"] = list(self.mask.bbox)
        if self.schema_version >= 2:
            out["composition"] = self.composition
            out["instances"] = [_plain(m) | {"bbox": list(m.bbox)} for m in self.instances]
            out["components"] = [
                {
                    "category": c.category,
                    "visible": c.visible,
                    "gain_db": c.gain_db,
                    "audio": _plain(c.audio),
                }  # fmt: skip
                for c in self.components
            ]
        if self.extra:
            out["extra"] = copy.deepcopy(self.extra)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, where: str = "record") -> Triplet:
        """Build from a parsed JSON object, checking every field's type, the version, the
        choices, the number ranges, the paths and the names (:func:`check_record`).

        Args:
            d: The parsed line.
            where: Prefix for error messages, e.g. ``manifest.jsonl:12``.

        Raises:
            ManifestRecordError: a wrong type, missing field, unknown choice or number out of
                range (names the field); UnsafePathError: an unsafe path or name;
            ManifestError: not an object, or an unknown ``schema_version``.
        """
        from avsynth.manifest.decode import record_error

        if not isinstance(d, dict):
            raise ManifestError(f"{where}: expected a JSON object")
        check_version(d.get("schema_version"), where)
        try:
            t = msgspec.convert(d, cls)
        except msgspec.ValidationError as e:
            raise record_error(e, where, d, choices=CHOICES) from None
        return check_record(t, where)


COMPOSITIONS = ("single", "multi", "offscreen", "partial")


CHOICES = {"split": SPLITS, "root": ROOTS, "composition": COMPOSITIONS}


def check_version(version: Any, where: str) -> None:
    """Refuse a ``schema_version`` this avsynth does not read (one line naming ``where``)."""
    if version not in SCHEMA_VERSIONS or isinstance(version, bool):
        raise ManifestError(
            f"{where}: unknown schema_version {version!r} (this avsynth reads "
            f"{' and '.join(map(str, SCHEMA_VERSIONS))}); rebuild the manifest or "
            "upgrade avsynth"
        )


def _record_error(where: str, field_name: str, what: str) -> ManifestRecordError:
    return ManifestRecordError(f"{where}: {field_name}: {what}", field_name)


def check_record(t: Triplet, where: str) -> Triplet:
    """The rules of a decoded record that its types cannot say; returns the record.

    The version is one this avsynth reads; a schema 1 record has no schema 2 fields (they are
    dropped) and a schema 2 record lists the clips it is heard from; a ``null`` path only where
    the file is made later (a plan-only LVIS or union mask, a plan-only mix); paths stay in
    their roots and names are single path components.

    Raises:
        ManifestError: unknown version; ManifestRecordError: a field breaks a rule above;
        UnsafePathError: an unsafe path or name.
    """
    check_version(t.schema_version, where)
    if t.schema_version == 1 and (t.composition != "single" or t.instances or t.components):
        t = replace(t, composition="single", instances=(), components=())
    if t.schema_version >= 2 and not t.components:
        why = "missing or empty (a schema 2 record lists every clip it is heard from)"
        raise _record_error(where, "components", why)
    refs = [("image", t.image), ("mask", t.mask), ("audio", t.audio)]
    refs += [(f"instances[{i}]", m) for i, m in enumerate(t.instances)]
    refs += [(f"components[{i}].audio", c.audio) for i, c in enumerate(t.components)]
    for name, ref in refs:
        if ref.path is not None:
            safe_relpath(ref.path, what=f"{where}: {name}.path")
        elif not _may_be_null(t, name, ref):
            why = "null, but nothing makes the file (only a plan-only mask or mix may be null)"
            raise _record_error(where, f"{name}.path", why)
    _check_names(t, where)
    for i, m in enumerate(t.instances):  # schema 2: the same rule for listed refs
        safe_component(m.source_id, what=f"{where}: instances[{i}].source_id")
    for i, c in enumerate(t.components):
        for key in ("youtube_id", "label", "subset"):
            safe_component(getattr(c.audio, key), what=f"{where}: components[{i}].audio.{key}")
    return t


def _may_be_null(t: Triplet, name: str, ref: Any) -> bool:
    """Whether ``ref`` (named ``name`` in ``t``) may have a ``null`` path: a plan-only mask
    (drawn from its annotation) or a plan-only mix of listed clips (mixed when
    materialising); never a file a materialised build or a release holds."""
    if ref.root in FILE_MASK_ROOTS or name == "image" or name.startswith("components"):
        return False
    if name == "audio":
        return t.schema_version >= 2 and len(t.components) > 1
    return True
