"""Check a category map against the real LVIS, Open Images and VGGSound vocabularies.

Every label must exist: LVIS names (with the synset LVIS gives them), Open Images MIDs (with
the display name the class list gives them) and exact VGGSound labels. Each problem is one
line that names the category and suggests the closest real label, e.g.::

    category_maps/46.yaml:30: category 'dog': 'dog barkng' is not a VGGSound label;
    did you mean 'dog barking'?
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from avsynth.catmap.load import ParsedMap, parse_map_file
from avsynth.catmap.schema import CategoryMap
from avsynth.catmap.vocab import PathLike, Vocabulary, s4_labels, s4_to_vggsound
from avsynth.errors import did_you_mean


def is_path_component(text: str) -> bool:
    """Whether ``text`` may be one file or folder name (the manifest's rule)."""
    from avsynth.manifest.schema import UnsafePathError, safe_component

    try:
        safe_component(text)
    except UnsafePathError:
        return False
    return True


def _label_hint(label: str, following: tuple[str, ...], vocab: Vocabulary) -> str:
    """Suggestion for an unknown VGGSound label, aware of labels that contain commas."""
    if following and f"{label}, {following[0]}" in vocab.vggsound:
        joined = f"{label}, {following[0]}"
        return f"; did you mean {joined!r}? (quote labels that contain commas in YAML)"
    for real in sorted(vocab.vggsound):
        parts = [part.strip() for part in real.split(",")]
        if "," in real and label in parts:
            return f"; did you mean {real!r}? (quote labels that contain commas in YAML)"
    return did_you_mean(label, vocab.vggsound)


def check_map(
    path_or_map: PathLike | CategoryMap,
    *,
    lvis_json: PathLike | None = None,
    openimages_classes: PathLike | None = None,
    vggsound_csv: PathLike | None = None,
    vocabulary: Vocabulary | None = None,
) -> list[str]:
    """All problems of a category map, one line each (empty list: the map is valid).

    Checks structure (see :func:`avsynth.catmap.load_map`) and then every label against the
    vocabularies: the shipped lists, or the user's files where given.

    Args:
        path_or_map: A YAML map file or an already loaded :class:`CategoryMap`.
        lvis_json: An LVIS json (e.g. ``lvis_v1_train.json``); only ``categories`` is read.
        openimages_classes: An Open Images class-description CSV (header optional).
        vggsound_csv: ``vggsound.csv`` (no header), ``stat.csv`` or ``test.csv``.
        vocabulary: A ready :class:`Vocabulary` (overrides the three file arguments).

    Returns:
        Problems such as ``46.yaml:30: category 'dog': 'dog barkng' is not a VGGSound label;
        did you mean 'dog barking'?``.

    Raises:
        MapError: The map file cannot be read.
        SourceError: A vocabulary file is missing or malformed.
    """
    if isinstance(path_or_map, CategoryMap):
        parsed = ParsedMap("<map>", map=path_or_map)
        parsed.index = list(range(len(path_or_map.categories)))
        prefix = ""
    else:
        parsed = parse_map_file(path_or_map)
        prefix = str(path_or_map)
    vocab = vocabulary or Vocabulary.load(
        lvis_json=lvis_json, openimages_classes=openimages_classes, vggsound_csv=vggsound_csv
    )
    problems = list(parsed.problems)
    if parsed.map is not None:
        problems += _vocabulary_problems(parsed, vocab, prefix)
    return problems


def _vocabulary_problems(parsed: ParsedMap, vocab: Vocabulary, prefix: str) -> list[str]:
    found: list[tuple[int, str]] = []

    def add(key: tuple, text: str) -> None:
        line = parsed.lines.get(key)
        where = f"{prefix}:{line}: " if prefix and line else (f"{prefix}: " if prefix else "")
        found.append((line or 0, where + text))

    for i, cat in zip(parsed.index, parsed.map.categories, strict=True):
        who = f"category {cat.name!r}"
        for j, ref in enumerate(cat.lvis):
            key = (i, "lvis", j)
            info = vocab.lvis.get(ref.name)
            if info is None:
                owner = vocab.lvis_synonym_owner(ref.name)
                if owner is not None:
                    add(
                        key,
                        f"{who}: {ref.name!r} is not an LVIS category name but a synonym of "
                        f"{owner.name!r} ({owner.synset}); use name: {owner.name}",
                    )
                else:
                    add(
                        key,
                        f"{who}: {ref.name!r} is not an LVIS category in {vocab.lvis_source}"
                        + did_you_mean(ref.name, vocab.lvis),
                    )
            elif info.synset != ref.synset:
                add(
                    key,
                    f"{who}: LVIS {ref.name!r} has synset {info.synset!r}, not {ref.synset!r}",
                )
        for j, ref in enumerate(cat.openimages):
            key = (i, "openimages", j)
            name = vocab.openimages.get(ref.mid)
            if name is None:
                mid = vocab.openimages_by_name(ref.name)
                hint = (
                    f"; {ref.name!r} is {mid!r}" if mid else did_you_mean(ref.mid, vocab.openimages)
                )
                add(key, f"{who}: {ref.mid!r} is not an Open Images class MID" + hint)
            elif name != ref.name:
                add(
                    key,
                    f"{who}: Open Images {ref.mid} is named {name!r} in "
                    f"{vocab.openimages_source}, not {ref.name!r}; write name: {name}",
                )
        for j, label in enumerate(cat.vggsound):
            if not is_path_component(label):  # it names folders (export's S4 category)
                add(
                    (i, "vggsound", j),
                    f"{who}: VGGSound label {label!r} cannot be a file or folder name (empty, "
                    "'.', '..', '/', '\\' or a control character)",
                )
            elif label not in vocab.vggsound:
                add(
                    (i, "vggsound", j),
                    f"{who}: {label!r} is not a VGGSound label"
                    + _label_hint(label, cat.vggsound[j + 1 : j + 2], vocab),
                )
    found.sort(key=lambda t: t[0])
    return [text for _, text in found]


@dataclass(frozen=True, slots=True)
class MapSummary:
    """Counts of a map's references, and which AVSBench-S4 labels it covers."""

    categories: int
    lvis: int
    openimages: int
    vggsound: int
    s4_covered: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """The counts as plain JSON types (``check-map --json``)."""
        return {
            "categories": self.categories,
            "lvis": self.lvis,
            "openimages": self.openimages,
            "vggsound": self.vggsound,
            "s4_covered": list(self.s4_covered),
        }

    def line(self, source: str) -> str:
        """One-line summary, e.g. ``46.yaml: 46 categories, 60 LVIS, ...: OK``."""
        return (
            f"{source}: {self.categories} categories, {self.lvis} LVIS, "
            f"{self.openimages} Open Images, {self.vggsound} VGGSound labels "
            f"({len(self.s4_covered)}/{len(s4_labels())} AVSBench-S4 labels): OK"
        )


def summarize(cmap: CategoryMap) -> MapSummary:
    """Counts for :meth:`MapSummary.line` and the S4 labels the map's VGGSound labels cover."""
    labels = set(cmap.vggsound_to_category())
    covered = tuple(s for s in s4_labels() if s4_to_vggsound(s) in labels)
    return MapSummary(
        categories=len(cmap.categories),
        lvis=sum(len(c.lvis) for c in cmap.categories),
        openimages=sum(len(c.openimages) for c in cmap.categories),
        vggsound=len(labels),
        s4_covered=covered,
    )


def check_map_file(path: PathLike, **kwargs) -> tuple[list[str], MapSummary | None]:
    """:func:`check_map` on a file, plus the summary when it is valid (used by the CLI)."""
    problems = check_map(Path(path), **kwargs)
    if problems:
        return problems, None
    from avsynth.catmap.load import load_map

    return [], summarize(load_map(path))
