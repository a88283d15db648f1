"""The real label vocabularies a category map is checked against.

avsynth ships the lists it needs in ``avsynth/data/`` (see ``ATTRIBUTION.md`` there):
the 1203 LVIS v1 categories with their train counts, the 601 Open Images V7 boxable classes
and the 309 VGGSound labels. Users may instead pass the files they downloaded:

- an LVIS json (``lvis_v1_train.json``, 1.1 GB): only its ``categories`` are decoded, by
  :func:`avsynth.sources.lvis.read_lvis_categories` (the reader the build uses);
- an Open Images class-description CSV (``MID,DisplayName``, with or without the header
  ``LabelName,DisplayName``), by :func:`avsynth.sources.openimages.read_openimages_classes`;
- ``vggsound.csv`` (``ytid,start,label,split``, no header, quoted labels with commas; read by
  the build's parser, :func:`avsynth.sources.vggsound.vggsound_label_counts`),
  ``stat.csv`` (``label,clip_count,group``), ``test.csv`` (``ytid_start.mp4,label``) or a
  text file with one label per line.

The shipped ``.tsv`` lists and VGGSound's ``stat.csv``/``test.csv`` are not source files the
build reads: their readers live here.
"""

from __future__ import annotations

import csv
import functools
import types
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from avsynth.errors import SourceError
from avsynth.sources.lvis import LvisCategory
from avsynth.sources.lvis import read_lvis_categories as _read_lvis_json
from avsynth.sources.openimages import read_openimages_classes
from avsynth.sources.vggsound import vggsound_label_counts

__all__ = [
    "LvisCategory",
    "Vocabulary",
    "data_path",
    "read_lvis_categories",
    "read_openimages_classes",
    "read_vggsound_labels",
    "s4_labels",
    "s4_to_vggsound",
]

PathLike = str | Path


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Real label sets: LVIS categories, Open Images classes and VGGSound labels.

    Attributes:
        lvis: LVIS category name -> :class:`LvisCategory`.
        openimages: Open Images MID -> display name.
        vggsound: exact VGGSound label -> number of clips (``None`` if the file has no counts).
        lvis_source, openimages_source, vggsound_source: where each list came from.
    """

    lvis: Mapping[str, LvisCategory]
    openimages: Mapping[str, str]
    vggsound: Mapping[str, int | None]
    lvis_source: str = "the shipped LVIS v1 list"
    openimages_source: str = "the shipped Open Images V7 boxable list"
    vggsound_source: str = "the shipped VGGSound list"

    @classmethod
    def shipped(cls) -> Vocabulary:
        """The vocabularies shipped in ``avsynth/data`` (cached)."""
        return _shipped()

    @classmethod
    def load(
        cls,
        *,
        lvis_json: PathLike | None = None,
        openimages_classes: PathLike | None = None,
        vggsound_csv: PathLike | None = None,
    ) -> Vocabulary:
        """The shipped vocabularies, with any of them replaced by a user's file.

        Args:
            lvis_json: An LVIS json (or a ``.tsv`` in the shipped format).
            openimages_classes: An Open Images class-description CSV.
            vggsound_csv: ``vggsound.csv``, ``stat.csv``, ``test.csv`` or a labels ``.txt``.

        Raises:
            SourceError: A file is missing or malformed (the message names file and line).
        """
        base = _shipped()
        return cls(
            lvis=_frozen(read_lvis_categories(lvis_json)) if lvis_json else base.lvis,
            openimages=(
                _frozen(read_openimages_classes(openimages_classes))
                if openimages_classes
                else base.openimages
            ),
            vggsound=_frozen(read_vggsound_labels(vggsound_csv)) if vggsound_csv else base.vggsound,
            lvis_source=str(lvis_json) if lvis_json else base.lvis_source,
            openimages_source=(
                str(openimages_classes) if openimages_classes else base.openimages_source
            ),
            vggsound_source=str(vggsound_csv) if vggsound_csv else base.vggsound_source,
        )

    def lvis_synonym_owner(self, word: str) -> LvisCategory | None:
        """The LVIS category that lists ``word`` as a synonym (e.g. ``trumpet`` -> cornet)."""
        return self._synonyms().get(word)

    def openimages_by_name(self, display_name: str) -> str | None:
        """The MID whose display name is ``display_name`` (case-insensitive), if any."""
        return self._names().get(display_name.casefold())

    @functools.cached_property
    def _synonym_index(self) -> dict[str, LvisCategory]:
        index: dict[str, LvisCategory] = {}
        for cat in self.lvis.values():
            for s in cat.synonyms:
                index.setdefault(s, cat)
        return index

    def _synonyms(self) -> dict[str, LvisCategory]:
        return self._synonym_index

    @functools.cached_property
    def _name_index(self) -> dict[str, str]:
        return {name.casefold(): mid for mid, name in sorted(self.openimages.items())}

    def _names(self) -> dict[str, str]:
        return self._name_index


def _frozen(d: dict) -> Mapping:
    return types.MappingProxyType(d)


def data_path(name: str) -> Path:
    """Path of a file shipped in ``avsynth/data``."""
    return Path(str(resources.files("avsynth") / "data" / name))


@functools.cache
def _shipped() -> Vocabulary:
    return Vocabulary(
        lvis=_frozen(read_lvis_categories(data_path("lvis_v1_categories.tsv"))),
        openimages=_frozen(read_openimages_classes(data_path("openimages_v7_boxable.csv"))),
        vggsound=_frozen(read_vggsound_labels(data_path("vggsound_labels.tsv"))),
        lvis_source="the shipped LVIS v1 list",
        openimages_source="the shipped Open Images V7 boxable list",
        vggsound_source="the shipped VGGSound list",
    )


@functools.cache
def s4_labels() -> tuple[str, ...]:
    """The 23 AVSBench-S4 category labels (VGGSound labels with underscores), sorted."""
    text = data_path("avsbench_s4_labels.txt").read_text("utf-8")
    return tuple(line for line in text.splitlines() if line)


def s4_to_vggsound(s4_label: str, vggsound: Mapping[str, object] | None = None) -> str | None:
    """The VGGSound label an S4 label stands for (``male_speech`` -> ``male speech, man
    speaking``): S4 writes the part before the first comma with underscores."""
    labels = vggsound if vggsound is not None else _shipped().vggsound
    want = s4_label.replace("_", " ")
    for label in sorted(labels):
        if label == want or label.split(",")[0] == want:
            return label
    return None


# --------------------------------------------------------------------------- readers


def _open_text(path: Path):
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise SourceError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise SourceError(f"{path}: is a directory; pass the file itself") from None


def read_lvis_categories(path: PathLike) -> dict[str, LvisCategory]:
    """LVIS categories from an LVIS json or a shipped-format ``.tsv``.

    A json goes to :func:`avsynth.sources.lvis.read_lvis_categories` (only ``categories`` is
    decoded; a top-level list of categories is accepted too).

    Raises:
        SourceError: The file is missing, not JSON, or has no valid ``categories`` list.
    """
    path = Path(path)
    if path.suffix == ".tsv":
        return text_errors(_read_lvis_tsv, path)
    return _read_lvis_json(path)


def _read_lvis_tsv(path: Path) -> dict[str, LvisCategory]:
    out: dict[str, LvisCategory] = {}
    with _open_text(path) as f:
        header = f.readline().rstrip("\r\n").split("\t")
        if header[:2] != ["name", "synset"]:
            raise SourceError(f"{path}:1: expected a header starting 'name<TAB>synset'")
        for lineno, line in enumerate(f, start=2):
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != 6:
                raise SourceError(f"{path}:{lineno}: expected 6 tab-separated fields")
            name, synset, syn, freq, images, instances = parts
            synonyms = tuple(syn.split("|")) if syn else ()
            out[name] = LvisCategory(name, synset, synonyms, freq, int(images), int(instances))
    return out


def read_vggsound_labels(path: PathLike) -> dict[str, int | None]:
    """VGGSound label -> clip count (:func:`read_vggsound_labels_unchecked`); a file that is
    not UTF-8 text or not CSV is one line naming it.

    Raises:
        SourceError: The file is missing, empty, not UTF-8, or of an unknown layout.
    """
    return text_errors(read_vggsound_labels_unchecked, Path(path))


def text_errors(read: Any, path: Path) -> Any:
    """``read(path)``, with a decoding or CSV error as one :class:`SourceError` line."""
    try:
        return read(path)
    except UnicodeDecodeError as e:
        raise SourceError(
            f"{path}: not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start}); "
            "save it as UTF-8"
        ) from None
    except csv.Error as e:
        raise SourceError(f"{path}: malformed CSV ({e})") from None


def read_vggsound_labels_unchecked(path: PathLike) -> dict[str, int | None]:
    """VGGSound label -> clip count from vggsound.csv, stat.csv, test.csv or a labels file.

    The layout is recognised from the first row: 4 columns with an integer second column is
    ``vggsound.csv`` (clips are counted); 3 columns with an integer second column is
    ``stat.csv``; 2 columns whose first ends in ``.mp4`` is ``test.csv``/``train.csv``; a
    ``.txt`` file holds one label per line (no counts); a ``.tsv`` is the shipped list.

    Raises:
        SourceError: The file is missing, empty or of an unknown layout (names the line).
    """
    path = Path(path)
    if path.suffix == ".txt":
        with _open_text(path) as f:
            labels = [line.strip() for line in f if line.strip()]
        if not labels:
            raise SourceError(f"{path}: no VGGSound labels found")
        return dict.fromkeys(labels)
    if path.suffix == ".tsv":
        with _open_text(path) as f:
            rows = list(csv.reader(f, delimiter="\t"))
        return {r[0]: int(r[1]) for r in rows[1:] if r}
    counts: Counter[str] = Counter()
    stat: dict[str, int | None] = {}
    layout = None
    with _open_text(path) as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            if not row:
                continue
            if layout is None:
                layout = _vggsound_layout(row)
                if layout == "header":
                    layout = None
                    continue
                if layout is None:
                    raise SourceError(
                        f"{path}:{lineno}: unknown VGGSound CSV layout; expected vggsound.csv "
                        "rows 'ytid,start,label,split', stat.csv rows 'label,count,group' or "
                        "test.csv rows 'ytid_start.mp4,label'"
                    )
                if layout == "vggsound":
                    break  # the build's own reader parses vggsound.csv (below)
            want = {"stat": 3, "split": 2}[layout]
            if len(row) != want:
                raise SourceError(
                    f"{path}:{lineno}: expected {want} columns like the first row, got {len(row)}"
                )
            if layout == "split":
                counts[row[1]] += 1
            else:
                stat[row[0]] = int(row[1])
    if layout == "vggsound":
        return dict(vggsound_label_counts(path))
    result = stat if layout == "stat" else dict(counts)
    if not result:
        raise SourceError(f"{path}: no VGGSound labels found")
    return result


def _vggsound_layout(row: list[str]) -> str | None:
    if len(row) == 4 and row[1].strip().isdigit():
        return "vggsound"
    if len(row) == 3 and row[1].strip().isdigit():
        return "stat"
    if len(row) == 2 and row[0].endswith((".mp4", ".wav", ".flac")):
        return "split"
    if any("label" in c.lower() for c in row):
        return "header"
    return None
